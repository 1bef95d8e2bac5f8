"""torch.distributed.checkpoint.state_dict: model and optimizer state dicts keyed by
canonical FQNs (the names `named_parameters()` gives the unwrapped model), whatever wraps the
model (DDP's `module.`, torch.compile's `_orig_mod.`); optimizer state is keyed by parameter
FQN instead of parameter index. (ember has no FSDP, DTensor or ShardedTensor: every tensor is
already full.)"""
import contextlib
import gc
import warnings
from dataclasses import asdict, dataclass, field
from itertools import chain

from ... import _tensor
from ...autograd.grad_mode import no_grad
from ...nn import Module
from ...nn.modules.module import _EXTRA_STATE_KEY_SUFFIX, _IncompatibleKeys
from ...ops.creation import zeros_like
from ...optim import Optimizer
from .. import _collectives as dist
from .. import distributed_c10d as c10d
from ._traverse import set_element

__all__ = ["FQNS_T", "PrimitiveType", "ValueType", "DictValueType", "ListDictValueType",
           "OptimizerStateType", "StateDictOptions", "get_model_state_dict",
           "get_optimizer_state_dict", "get_state_dict", "set_model_state_dict",
           "set_optimizer_state_dict", "set_state_dict"]

_CHECKPOINT_PREFIX = "_checkpoint_wrapped_module."
_PG = "param_groups"
_PARAMS = "params"
_STATE = "state"

FQNS_T = set[str]
PrimitiveType = _tensor.Tensor | int | float | str
ValueType = PrimitiveType | list | tuple | dict
DictValueType = dict[str, ValueType]
ListDictValueType = list[DictValueType]
OptimizerStateType = dict[str, DictValueType | ListDictValueType]


@contextlib.contextmanager
def _gc_context():
    is_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if is_enabled:
            gc.enable()


@dataclass
class StateDictOptions:
    """How get_state_dict / set_state_dict work.

    - ``full_state_dict``: gather every tensor (ember's are already whole).
    - ``cpu_offload``: move the tensors to the CPU; with ``full_state_dict`` under a process
      group, only rank 0 gets the state dict, the others an empty one.
    - ``ignore_frozen_params``: leave out parameters that do not require grad.
    - ``keep_submodule_prefixes`` (deprecated): with ``submodules``, keep their prefixes.
    - ``strict``: the ``strict`` of ``model.load_state_dict()``.
    - ``broadcast_from_rank0``: rank 0 holds the full state dict to load and broadcasts it
      (needs ``full_state_dict``).
    - ``flatten_optimizer_state_dict``: flatten the optimizer state dict to
      ``state.<fqn>.<name>`` / ``param_groups.<fqn>.<key>`` keys.
    """
    full_state_dict: bool = False
    cpu_offload: bool = False
    ignore_frozen_params: bool = False
    keep_submodule_prefixes: bool = True
    strict: bool = True
    broadcast_from_rank0: bool = False
    flatten_optimizer_state_dict: bool = False
    dsd_fqn_modifiers: str = "_fqn_modifiers"


@dataclass
class _StateDictInfo(StateDictOptions):
    fqn_param_mapping: dict = field(default_factory=dict)
    shared_params_mapping: dict = field(default_factory=dict)
    submodule_prefixes: set = field(default_factory=set)
    handle_model: bool = True
    handle_optim: bool = True


def _wrapper_kinds():
    from ...compiler import _optimized_module
    from ...nn.parallel import DistributedDataParallel
    return DistributedDataParallel, _optimized_module()


def _get_fqns(model, name: str, dsd_fqn_modifiers: str = "_fqn_modifiers",
              skip_ddp_prefix: bool = True, skip_compiler_prefix: bool = True) -> FQNS_T:
    """The canonical FQNs of the state dict key ``name`` of ``model``: DDP's ``module.`` and
    torch.compile's ``_orig_mod.`` left out (unless told to keep them)."""
    ddp, compiled = _wrapper_kinds()
    name = name.replace(_CHECKPOINT_PREFIX, "")
    if "." not in name:
        return {name}
    obj_names = name.split(".")
    fqn_obj_names = []
    curr_obj = model
    for i, curr_obj_name in enumerate(obj_names):
        if isinstance(curr_obj, ddp):
            if curr_obj_name != "module":
                raise AssertionError(f"Expected 'module', got '{curr_obj_name}'")
            curr_obj = curr_obj.module
            if not skip_ddp_prefix:
                fqn_obj_names.append(curr_obj_name)
        elif isinstance(curr_obj, compiled):
            if curr_obj_name != "_orig_mod":
                raise AssertionError(f"Expected '_orig_mod', got '{curr_obj_name}'")
            curr_obj = curr_obj._orig_mod
            if not skip_compiler_prefix:
                fqn_obj_names.append(curr_obj_name)
        else:
            if hasattr(curr_obj, dsd_fqn_modifiers):
                removed_fqn = getattr(curr_obj, dsd_fqn_modifiers)().get(curr_obj_name)
                if removed_fqn and hasattr(curr_obj, removed_fqn):
                    curr_obj = getattr(curr_obj, removed_fqn)
            fqn_obj_names.append(curr_obj_name)
            if curr_obj_name == _EXTRA_STATE_KEY_SUFFIX:
                if i != len(obj_names) - 1:
                    raise RuntimeError("Expect `_extra_state` to be the last obj name")
            else:
                curr_obj = getattr(curr_obj, curr_obj_name)
    return {".".join(fqn_obj_names).replace(_CHECKPOINT_PREFIX, "")}


class _EXTRA_STATE:
    pass


def _iterate_valid_model_state(model, dsd_fqn_modifiers="_fqn_modifiers"):
    """(state dict key, parameter / persistent buffer / _EXTRA_STATE) of every module, each
    module visited once."""
    visited_modules = set()

    def recurse(module, curr_fqn):
        visited_modules.add(module)
        curr_fqn = f"{curr_fqn}." if curr_fqn else ""
        for name, submodule in module.named_children():
            if submodule in visited_modules:
                continue
            if hasattr(module, dsd_fqn_modifiers) and \
                    name in getattr(module, dsd_fqn_modifiers)().values():
                new_fqn = curr_fqn[:-1]
            else:
                new_fqn = f"{curr_fqn}{name}"
            yield from recurse(submodule, new_fqn)
        for name, obj in chain(module.named_buffers(recurse=False),
                               module.named_parameters(recurse=False)):
            if name in module._non_persistent_buffers_set:
                continue
            yield f"{curr_fqn}{name}", obj
        if getattr(type(module), "get_extra_state", Module.get_extra_state) \
                is not Module.get_extra_state:
            yield f"{curr_fqn}{_EXTRA_STATE_KEY_SUFFIX}", _EXTRA_STATE()

    yield from recurse(model, "")


def _verify_options(model, optims, optim_only: bool, *, submodules=None,
                    options=None) -> _StateDictInfo:
    if submodules:
        warnings.warn("Getting submodules only model/optim state_dict is deprecated and will "
                      "be removed in 2.5. This feature can be achieved by manually filtering "
                      "out the state_dict returned from get_state_dict.", FutureWarning,
                      stacklevel=3)
    if optim_only and not optims:
        raise RuntimeError("Optimizers are not passed in but optim_only is set to True.")
    options = options or StateDictOptions()
    fqn_param_mapping, shared_params_mapping = {}, {}
    for name, param in _iterate_valid_model_state(model):
        if isinstance(param, _EXTRA_STATE):
            continue
        fqns = _get_fqns(model, name)
        fqn = fqn_param_mapping.get(param)
        if fqn is not None:
            fqn_param_mapping[param].update(fqns)
            shared_params_mapping[param] = fqn_param_mapping[param]
        else:
            fqn_param_mapping[param] = fqns.copy()
        for fqn in fqns:
            fqn_param_mapping[fqn] = param
    for param_, fqns_ in list(shared_params_mapping.items()):
        for fqn in fqns_:
            shared_params_mapping[fqn] = param_
    submodule_prefixes = set()
    if submodules:
        submodules = set(submodules)
        for name, module in model.named_modules():
            if module not in submodules:
                continue
            fqns = _get_fqns(model, name)
            if len(fqns) != 1:
                raise AssertionError("Submodule FQN should only have 1 instance")
            submodule_prefixes.update(f"{fqn}." for fqn in fqns)
    if options.broadcast_from_rank0 and not options.full_state_dict:
        raise ValueError("full_state_dict must be True when broadcast_from_rank0 is True.")
    return _StateDictInfo(**asdict(options), fqn_param_mapping=fqn_param_mapping,
                          shared_params_mapping=shared_params_mapping,
                          submodule_prefixes=submodule_prefixes, handle_model=not optim_only,
                          handle_optim=len(optims) > 0)


def _verify_state_dict(model_state_dict, optim_state_dict, info: _StateDictInfo) -> None:
    if (info.handle_model and not model_state_dict and not info.submodule_prefixes
            and not info.ignore_frozen_params and not (info.cpu_offload and info.full_state_dict)
            and info.strict and not info.broadcast_from_rank0):
        raise RuntimeError("The option indicates that model state_dict is required to save or "
                           "load, but model state_dict is empty."
                           f"rank = dist.get_rank()={c10d.get_rank()!r}.")
    if info.handle_optim and not optim_state_dict and \
            not (info.cpu_offload and info.full_state_dict) and not info.broadcast_from_rank0:
        raise RuntimeError("The option indicates that model state_dict is required to save, "
                           f"or load but optim state_dict is empty. {optim_state_dict}")
    for key in model_state_dict:
        if "_flat_param" in key:
            raise RuntimeError(f"{key} contains _flat_param. This can happen if the model is "
                               "not the root module.")


def _rank():
    return c10d.get_rank() if c10d.is_initialized() else 0


def _iterate(obj, cpu_offload: bool, rank0_only: bool):
    """torch's _gather_state_dict / _offload_state_dict_to_cpu for whole tensors: the state
    dict rebuilt, tensors moved to the CPU with ``cpu_offload``, and emptied on ranks other
    than 0 with ``rank0_only``; values of other types than tensors, numbers, strings, bytes,
    None and containers are refused."""
    if isinstance(obj, _tensor.Tensor):
        ret = obj
    elif isinstance(obj, (int, float, str, bytes)) or obj is None:
        ret = obj
    elif isinstance(obj, dict):
        ret = {k: _iterate(v, cpu_offload, rank0_only) for k, v in obj.items()}
    elif isinstance(obj, (list, tuple)):
        ret = [_iterate(v, cpu_offload, rank0_only) for v in obj]
        if isinstance(obj, tuple):
            ret = tuple(ret)
    else:
        raise ValueError(f"Unexpected value type {type(obj)}")
    if rank0_only and c10d.get_rank() != 0:
        return {} if isinstance(ret, dict) else None
    if cpu_offload and isinstance(ret, _tensor.Tensor):
        ret = ret.to("cpu")
    return ret


def _maybe_full_or_cpu_state_dict(state_dict, info: _StateDictInfo):
    if info.full_state_dict:
        return _iterate(state_dict, info.cpu_offload,
                        info.cpu_offload and c10d.is_initialized())
    if info.cpu_offload:
        return _iterate(state_dict, True, False)
    return state_dict


def _verify_key(key: str, fqn: str) -> bool:
    """Whether ``fqn`` is ``key`` without wrapper prefixes (``module``, ``_orig_mod``)."""
    if len(fqn) >= len(key):
        return False
    fqn_split, key_split = fqn.split("."), key.split(".")
    fqn_idx = 0
    for key_idx, key_name in enumerate(key_split):
        if key_name == fqn_split[fqn_idx]:
            fqn_idx += 1
            if fqn_idx == len(fqn_split):
                return key_idx == len(key_split) - 1
        elif key_name not in ("module", "_orig_mod"):
            return False
    return True


def _get_model_state_dict(model, info: _StateDictInfo):
    if not info.handle_model:
        return {}
    with no_grad():
        state_dict = model.state_dict()
    for key in list(state_dict.keys()):
        fqns = _get_fqns(model, key)
        if len(fqns) != 1:
            raise AssertionError(f"Expected 1 FQN for key '{key}', got {len(fqns)}: {fqns}")
        fqn = next(iter(fqns))
        if fqn != key:
            if not _verify_key(key, fqn):
                raise RuntimeError(f"An unexpected key, {key}, exists. FQN is {fqn}")
            state_dict[fqn] = state_dict.pop(key)
    if info.submodule_prefixes:
        new_state_dict = {}
        for fqn in state_dict:
            for prefix in info.submodule_prefixes:
                if not fqn.startswith(prefix):
                    continue
                new_fqn = fqn if info.keep_submodule_prefixes else fqn[len(prefix):]
                new_state_dict[new_fqn] = state_dict[fqn]
        state_dict = new_state_dict
    if info.ignore_frozen_params:
        for key, param in model.named_parameters():
            if param.requires_grad:
                continue
            for fqn in _get_fqns(model, key):
                state_dict.pop(fqn)
    return _maybe_full_or_cpu_state_dict(state_dict, info)


def _broadcast_from_rank0(state_dict, local_state_dict, strict: bool) -> None:
    """Rank 0's full ``state_dict`` broadcast: its values replace those of this rank's
    ``local_state_dict`` (the model's own), whose keys rank 0 lacks are dropped if
    ``strict``."""
    box = [state_dict if c10d.get_rank() == 0 else None]
    dist.broadcast_object_list(box, src=0)
    full = box[0]
    for key, value in full.items():
        if key in local_state_dict:
            local_state_dict[key] = value
    if strict:
        for key in local_state_dict.keys() - full.keys():
            local_state_dict.pop(key)


def _load_model_state_dict(model, state_dict, info: _StateDictInfo):
    if not info.handle_model or (not state_dict and not info.broadcast_from_rank0):
        return _IncompatibleKeys({}, {})
    local_state_dict = {}
    for key, value in _iterate_valid_model_state(model, info.dsd_fqn_modifiers):
        fqns = _get_fqns(model, key, info.dsd_fqn_modifiers)
        fqns_with_prefix = _get_fqns(model, key, info.dsd_fqn_modifiers,
                                     skip_ddp_prefix=False, skip_compiler_prefix=False)
        for fqn, fqn_with_prefix in zip(fqns, fqns_with_prefix):
            if (not info.broadcast_from_rank0 or _rank() == 0) and fqn != fqn_with_prefix:
                load_value = state_dict.pop(fqn, None)
                if load_value is None:
                    if info.strict:
                        raise RuntimeError(f"Missing key: {fqn}.")
                else:
                    state_dict[fqn_with_prefix] = load_value
            local_state_dict[fqn_with_prefix] = value
    if info.broadcast_from_rank0:
        local_state_dict = {k: v for k, v in local_state_dict.items()
                            if not isinstance(v, _EXTRA_STATE)}
        _broadcast_from_rank0(state_dict, local_state_dict, info.strict)
        state_dict.update(local_state_dict)
    elif info.full_state_dict:
        for key, value in local_state_dict.items():
            if key not in state_dict and not isinstance(value, _EXTRA_STATE):
                state_dict[key] = value
    with no_grad():
        return model.load_state_dict(state_dict=state_dict, strict=info.strict)


def _init_optim_state(optim) -> None:
    """Initialize the optimizer's state by a step() with zero gradients (and zero lr)."""
    if optim.state:
        return
    for param_group in optim.param_groups:
        for param in param_group[_PARAMS]:
            if param.grad is not None:
                return
    for param_group in optim.param_groups:
        for param in param_group[_PARAMS]:
            if param.requires_grad:
                param.grad = zeros_like(param)
    lrs = []
    for param_group in optim.param_groups:
        if "lr" in param_group:
            lrs.append(param_group["lr"])
            param_group["lr"] = (_tensor_scalar(0.0) if isinstance(param_group["lr"],
                                                                   _tensor.Tensor) else 0.0)
    optim.step(closure=None)
    for param_group in optim.param_groups:
        if "lr" in param_group:
            param_group["lr"] = lrs.pop(0)
    optim.zero_grad(set_to_none=True)


def _tensor_scalar(value):
    from ...ops.creation import tensor
    return tensor(value)


def _flatten_optim_state_dict(state_dict):
    """{"state.<fqn>.<name>": value, "param_groups.<fqn>.<key>": value}: the optimizer state
    dict flattened (nested state dicts too), for resharding across pipeline stages."""

    def flatten_nested(nested, prefix):
        flattened = {}
        for key, value in nested.items():
            full_key = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flattened.update(flatten_nested(value, full_key))
            else:
                if not isinstance(value, (_tensor.Tensor, int, float, dict)):
                    raise NotImplementedError("Flattening optimizer state_dict only supports "
                                              "tensor, int, float, dict states now. "
                                              f"Type is {type(value)}.")
                flattened[full_key] = value
        return flattened

    ret = {}
    for fqn, state in state_dict[_STATE].items():
        ret.update(flatten_nested(state, f"{_STATE}.{fqn}"))
    for param_group in state_dict[_PG]:
        fqns = param_group.pop(_PARAMS)
        for fqn in fqns:
            for k, v in param_group.items():
                ret[f"{_PG}.{fqn}.{k}"] = v
    return ret


def _unflatten_optim_state_dict(optim, state_dict, info: _StateDictInfo):
    """The optimizer state dict of ``optim`` from a flattened one
    (see _flatten_optim_state_dict)."""

    def reconstruct(flattened_key, flattened):
        prefix = f"{flattened_key}."
        nested = {}
        for key, value in flattened.items():
            if not key.startswith(prefix):
                continue
            parts = key[len(prefix):].split(".")
            current = nested
            for part in parts[:-1]:
                current = current.setdefault(part, {})
                if not isinstance(current, dict):
                    raise AssertionError
            current[parts[-1]] = value
        return nested

    state, pg_state = {}, []
    for param_group in optim.param_groups:
        pg_state.append({_PARAMS: []})
        for param in param_group[_PARAMS]:
            for fqn in info.fqn_param_mapping[param]:
                if fqn in info.shared_params_mapping:
                    # a shared parameter: the FQN the checkpoint used
                    in_params = False
                    for k in param_group:
                        if k == _PARAMS:
                            continue
                        in_params = f"{_PG}.{fqn}.{k}" in state_dict
                        break
                    if not in_params:
                        continue
                pg_state[-1][_PARAMS].append(fqn)
                if not param.requires_grad:
                    continue
                state[fqn] = {}
                for state_name in optim.state[param]:
                    key = f"{_STATE}.{fqn}.{state_name}"
                    state[fqn][state_name] = (state_dict[key] if key in state_dict
                                              else reconstruct(key, state_dict))
        first_param_fqn = pg_state[-1][_PARAMS][0]
        for k in param_group:
            if k == _PARAMS:
                continue
            value = state_dict[f"{_PG}.{first_param_fqn}.{k}"]
            if k not in pg_state[-1]:
                pg_state[-1][k] = value
            elif pg_state[-1][k] != value:
                raise RuntimeError("All the parameters in the same parameter group should have "
                                   "the same saved param_group value. But "
                                   f"{first_param_fqn}.{k} is {value} while other(s) is "
                                   f"{pg_state[-1][k]}.")
    return {_STATE: state, _PG: pg_state}


def _get_optim_state_dict(model, optimizers, info: _StateDictInfo):
    if not info.handle_optim:
        return {}
    optim_state_dict = {_STATE: {}, _PG: []}
    with no_grad():
        for optim in optimizers:
            _init_optim_state(optim)
            osd = optim.state_dict()
            params = list(chain.from_iterable(g[_PARAMS] for g in optim.param_groups))
            param_pid_mapping = {id(p): i for i, p in enumerate(params)}
            fqn_pid_mapping = {}
            for key, param in model.named_parameters():
                fqns = _get_fqns(model, key)
                if len(fqns) != 1:
                    raise AssertionError(f"Expected 1 FQN for key '{key}', got {len(fqns)}")
                fqn = next(iter(fqns))
                if id(param) not in param_pid_mapping:
                    continue
                pid = param_pid_mapping[id(param)]
                fqn_pid_mapping[fqn] = pid
                fqn_pid_mapping[pid] = fqn
            for key in list(osd[_STATE].keys()):
                osd[_STATE][fqn_pid_mapping[key]] = osd[_STATE].pop(key)
            for group in osd[_PG]:
                group[_PARAMS] = [fqn_pid_mapping[pid] for pid in group[_PARAMS]]
            if not osd:
                continue
            optim_state_dict[_STATE].update(osd[_STATE])
            optim_state_dict[_PG].extend(osd[_PG])
    if info.flatten_optimizer_state_dict:
        optim_state_dict = _flatten_optim_state_dict(optim_state_dict)
    return _maybe_full_or_cpu_state_dict(optim_state_dict, info)


def _split_optim_state_dict(model, optim, optim_state_dict, info: _StateDictInfo):
    """The part of the FQN-keyed ``optim_state_dict`` that belongs to ``optim``."""
    state, pg_state = {}, []
    return_osd = {_STATE: state, _PG: pg_state}
    pg_mapping = {}
    if all(isinstance(k, int) for k in optim_state_dict[_STATE]):
        return optim_state_dict
    for param_group in optim.param_groups:
        pg_state.append({_PARAMS: []})
        for param in param_group[_PARAMS]:
            for fqn in info.fqn_param_mapping[param]:
                if fqn in info.shared_params_mapping and not any(
                        fqn in g[_PARAMS] for g in optim_state_dict[_PG]):
                    continue
                pg_state[-1][_PARAMS].append(fqn)
                if param.requires_grad:
                    if fqn in optim_state_dict[_STATE]:
                        state[fqn] = optim_state_dict[_STATE][fqn]
                    elif info.strict:
                        raise RuntimeError(
                            f"Missing optimizer state for parameter '{fqn}' in checkpoint. "
                            "The parameter requires gradients but has no saved optimizer "
                            "state. To load anyway, use StateDictOptions(strict=False).")
                for loaded_param_group in optim_state_dict[_PG]:
                    if fqn in loaded_param_group[_PARAMS]:
                        pg_mapping[id(loaded_param_group)] = len(return_osd[_PG]) - 1
        if len(param_group[_PARAMS]) == 0:
            ret = [g for g in optim_state_dict[_PG] if len(g[_PARAMS]) == 0]
            if len(ret) != 1:
                raise ValueError(
                    "There are param groups that have zero parameters. In such a case, DSD "
                    "only support exactly one param group with zero parameters.But the loaded "
                    "state_dict has zero or more than one param groups that have zero "
                    "parameters.")
            if len(optim_state_dict[_PG]) != len(optim.param_groups):
                raise ValueError("When there is a parameter group that has zero parameters, "
                                 "multiple optimizers are not supported.")
            pg_mapping[id(ret[0])] = len(return_osd[_PG]) - 1
    for param_group in optim_state_dict[_PG]:
        pg_idx = pg_mapping.get(id(param_group), -1)
        if pg_idx == -1:
            continue
        for key, value in param_group.items():
            if key != _PARAMS:
                pg_state[pg_idx][key] = value
    return return_osd


def _flatten_containers(state_dict):
    """(flat dict, mapping): every dict, list and tuple flattened to dotted keys (tuples come
    back as lists), as torch's _state_dict_utils flattens."""
    flat, mapping = {}, {}

    def visit(path, value):
        if isinstance(value, dict):
            for k, v in value.items():
                visit(path + (str(k),), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(path + (i,), v)
        else:
            key = ".".join(map(str, path))
            if key in flat:
                raise ValueError(f"duplicated flatten key {key}")
            flat[key], mapping[key] = value, path

    for key, value in state_dict.items():
        visit((str(key),), value)
    return flat, mapping


def _full_optim_state_dict(model, optim, optim_state_dict, info: _StateDictInfo):
    """torch's full_state_dict loading of an optimizer: the given (or, with
    broadcast_from_rank0, rank 0's) values laid over this rank's own FQN-keyed state, both
    flattened and rebuilt (so tuples such as Adam's betas come back as lists)."""
    info.full_state_dict = False
    local_state_dict = _get_optim_state_dict(model, (optim,), info)
    info.full_state_dict = True
    flat_osd, osd_mapping = _flatten_containers(optim_state_dict)
    flat_local, local_mapping = _flatten_containers(local_state_dict)
    if info.broadcast_from_rank0:
        box = [flat_osd if c10d.get_rank() == 0 else None]
        dist.broadcast_object_list(box, src=0)
        for key, value in box[0].items():
            if key in flat_local:
                flat_local[key] = value
    else:
        for key, value in flat_osd.items():
            if key in flat_local or not isinstance(value, _tensor.Tensor) or value.dim() == 0:
                flat_local[key] = value
    for key in flat_osd:
        if key not in flat_local:
            flat_local[key], local_mapping[key] = flat_osd[key], osd_mapping[key]
    rebuilt = {}
    for key, value in flat_local.items():
        set_element(rebuilt, local_mapping[key], value)
    for group in rebuilt[_PG]:
        group.setdefault(_PARAMS, [])
    return rebuilt


def _load_optim_state_dict(model, optimizers, state_dict, info: _StateDictInfo) -> None:
    if not info.handle_optim:
        return
    with no_grad():
        for optim in optimizers:
            _init_optim_state(optim)
            if state_dict:
                if _STATE in state_dict:
                    optim_state_dict = _split_optim_state_dict(model, optim, state_dict, info)
                else:
                    optim_state_dict = _unflatten_optim_state_dict(optim, state_dict, info)
            else:
                optim_state_dict = {}
            if info.full_state_dict:
                optim_state_dict = _full_optim_state_dict(model, optim, optim_state_dict, info)
            # the FQNs stand for parameter ids: their order in param_groups is the optimizer's
            optim.load_state_dict(state_dict=optim_state_dict)


def _as_tuple(optimizers):
    return (optimizers,) if isinstance(optimizers, Optimizer) else tuple(optimizers)


def get_model_state_dict(model, *, submodules=None, options=None):
    """The state_dict of ``model``, keyed by canonical FQNs. See ``get_state_dict``."""
    with _gc_context():
        info = _verify_options(model, (), optim_only=False, submodules=submodules,
                               options=options)
        model_state_dict = _get_model_state_dict(model, info)
        _verify_state_dict(model_state_dict, {}, info)
        return model_state_dict


def get_optimizer_state_dict(model, optimizers, *, submodules=None, options=None):
    """The combined state_dict of ``optimizers``, parameters named by canonical FQNs. See
    ``get_state_dict``."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=True, submodules=submodules,
                               options=options)
        optim_state_dict = _get_optim_state_dict(model, optimizers, info)
        _verify_state_dict({}, optim_state_dict, info)
        return optim_state_dict


def get_state_dict(model, optimizers, *, submodules=None, options=None):
    """(model state_dict, optimizers state_dict), keyed by canonical FQNs: the names of the
    unwrapped model's parameters and buffers, in the optimizer state too (instead of
    parameter ids). Optimizer state is initialized (a step with zero gradients and lr) if
    it is empty."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=False, submodules=submodules,
                               options=options)
        model_state_dict = _get_model_state_dict(model, info)
        optim_state_dict = _get_optim_state_dict(model, optimizers, info)
        _verify_state_dict(model_state_dict, optim_state_dict, info)
        return model_state_dict, optim_state_dict


def _unflatten_model_state_dict(model, state_dict):
    if not state_dict:
        return {}
    if isinstance(next(iter(state_dict.keys())), Module):
        warnings.warn("Passing model_state_dict as a ``Dict[nn.Module, Dict[str, Any]]``is "
                      "deprecated and will be removed in 2.5. If you need this feature, please "
                      "preprocess the model_state_dict to achieve the same functionality.",
                      FutureWarning, stacklevel=3)
        new_state_dict = {}
        for submodule, sub_state_dict in state_dict.items():
            for name, m in model.named_modules():
                if m != submodule:
                    continue
                fqns = _get_fqns(model, name)
                if len(fqns) != 1:
                    raise AssertionError("FQNs for a submodule should only have 1 element")
                prefix = f"{next(iter(fqns))}."
                new_state_dict.update({prefix + subfqn: value
                                       for subfqn, value in sub_state_dict.items()})
        return new_state_dict
    return state_dict


def set_model_state_dict(model, model_state_dict, *, options=None):
    """Load ``model_state_dict`` (canonical FQN keys) into ``model``; returns the missing and
    unexpected keys."""
    model_state_dict = _unflatten_model_state_dict(model, model_state_dict)
    with _gc_context():
        info = _verify_options(model, (), optim_only=False, options=options)
        _verify_state_dict(model_state_dict, {}, info)
        return _load_model_state_dict(model, model_state_dict, info)


def set_optimizer_state_dict(model, optimizers, optim_state_dict, *, options=None) -> None:
    """Load ``optim_state_dict`` (parameters named by canonical FQNs) into ``optimizers``."""
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=True, options=options)
        _verify_state_dict({}, optim_state_dict, info)
        _load_optim_state_dict(model, optimizers, optim_state_dict, info)


def set_state_dict(model, optimizers, *, model_state_dict, optim_state_dict, options=None):
    """Load the model and optimizers state dicts (as ``get_state_dict`` returns them);
    returns the model's missing and unexpected keys."""
    model_state_dict = _unflatten_model_state_dict(model, model_state_dict)
    with _gc_context():
        optimizers = _as_tuple(optimizers)
        info = _verify_options(model, optimizers, optim_only=not model_state_dict,
                               options=options)
        _verify_state_dict(model_state_dict, optim_state_dict, info)
        _load_optim_state_dict(model, optimizers, optim_state_dict, info)
        return _load_model_state_dict(model, model_state_dict, info)

