"""The Optimizer base class: param groups, per-parameter state, hooks and torch's state_dict layout.

Every optimizer's `step` walks its param groups and, for each parameter with a gradient, runs one
per-parameter update on the backing arrays (`p.arr`, `p.grad.arr`, NumPy or CuPy) in place. The
state dict has torch's layout, `{"state": {index: {...}}, "param_groups": [{..., "params":
[indices]}]}`, with ember tensors as state values, so torch's state dicts load into ember and back
once their tensors are converted."""
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from copy import deepcopy
from itertools import chain

import numpy as np

from .. import _dtype
from .._parallel import for_chunks as _for_chunks  # noqa: F401  (the update rules import it here)
from .._tensor import Tensor, _new, bump_version
from .._typenames import qualified
from ..ops.elementwise import _addcdiv_low, _addcmul_fused, _axpy, _lerp_fused, _low_float
from ..autograd.grad_mode import _enabled, set_grad

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


class _RequiredParameter:
    """Singleton marking a hyper-parameter with no default."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _handle(hooks):
    from .._hooks import RemovableHandle
    return RemovableHandle(hooks)


def register_optimizer_step_pre_hook(hook):
    """A pre hook run by every optimizer's step: `hook(optimizer, args, kwargs)`."""
    handle = _handle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """A post hook run by every optimizer's step: `hook(optimizer, args, kwargs)`."""
    handle = _handle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _hooked(step):
    """Wrap a subclass's `step` with the global and per-instance pre/post hooks; as torch's,
    the hooks' `args` hold the optimizer itself (a pre-hook's new args replace it too)."""
    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
        out = step(*args, **kwargs)
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out
    wrapper.hooked = True
    return wrapper


def _use_grad_for_differentiable(step):
    """Run `step` with grad mode = the `differentiable` default (False: no graph is recorded);
    torch sets it with set_grad_enabled, which refuses anything but a bool."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        prev = set_grad(_enabled(self.defaults.get("differentiable", False)))
        try:
            return step(self, *args, **kwargs)
        finally:
            set_grad(prev)
    return wrapper


def _eval_closure(closure):
    """Evaluate the closure (if any) with grad enabled, as every torch optimizer does."""
    if closure is None:
        return None
    prev = set_grad(True)
    try:
        return closure()
    finally:
        set_grad(prev)


def _typename(obj):
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None)
    if qualname is None:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualified(module, qualname)


def _check_moment_args(lr, betas, eps, weight_decay):
    """The argument checks torch's Adam, Adamax, NAdam and RAdam make, in their order."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Optimizer:
    """Base class for all optimizers (torch.optim.Optimizer).

    `params` is an iterable of tensors, of (name, tensor) pairs, or of dicts defining parameter
    groups; `defaults` holds the options used by groups that do not set them."""
    _sparse_grads = False       # whether _step_each hands sparse gradients to the update
    # how torch's capturable device check names the tensors, and whether it lists "xla", in
    # the optimizer's single-tensor and foreach implementations
    _capturable_check = (("params and state_steps", True), ("params and state_steps", False))
    # the options whose tensors a differentiable step records (they may require grad)
    _recorded_hyperparameters = ("lr", "weight_decay")
    # the error torch's differentiable step raises for an lr tensor that requires grad, where
    # its rule passes lr to a Number argument (RMSprop's addcdiv_(value=-lr), ...); None: the
    # rule records lr
    _lr_number_error = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _hooked(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ---- param groups ---------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters (with its own options) to `param_groups`."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and \
                    not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see github.com/pytorch/pytorch/"
                          "issues/40967 for more information", stacklevel=3)
        param_set = set()
        for group in self.param_groups:
            param_set.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if not param_set.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _step_each(self, closure, init_state, update, batch=None):
        """The loop every per-parameter optimizer shares: skip parameters without a gradient,
        create their states first (_init_group), then `update(p, state, group)` in place.
        `batch(pairs, group)`, where given, steps some of a plain group's (parameter, state)
        pairs together (elementwise: the same values) and returns the others."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            plain = not group.get("differentiable")
            if group.get("differentiable"):
                run = self._differentiable_rule(update, group)
            else:
                run = foreach_step(self, group, update)
            if group.get("capturable"):
                plain = False
                run = _on_capturable_device(run, group, self._capturable_check)
            if group.get("fused"):
                plain = False
                run = _fused_versions(run)
            pairs = self._init_group(group, init_state)
            if batch is not None and plain:
                pairs = batch(pairs, group)
            for p, state in pairs:
                run(p, state, group)
        return loss

    def _differentiable_rule(self, update, group):
        """What a differentiable=True group runs: `update` on recording arrays."""
        return _recorded(update, group, self._recorded_hyperparameters, self._lr_number_error)

    def _init_group(self, group, init_state):
        """The (parameter, state) pairs of the group's parameters with a gradient, checked and
        their states made before any is updated, as torch's _init_group (a refused gradient
        then leaves the whole group unchanged)."""
        name = type(self).__name__
        stepped = []
        for p in group["params"]:
            if p.grad is None:
                continue
            if not self._sparse_grads:
                _dense_only(p, name)
            state = self.state.get(p)
            if not state:       # in self.state first, as torch's: an init that raises
                state = self.state[p] = {}      # part-way leaves what it made (Rprop's lr)
                try:
                    init_state(state, p, group)
                except BaseException:
                    if not state:               # (one that raised first made nothing)
                        del self.state[p]
                    raise
            stepped.append((p, state))
        return stepped

    def _upgrade_state(self, defaults, scalar_keys=("step",)):
        """__setstate__ for pickles of older versions: fill missing group options and turn
        plain-number step counters into tensors, as torch's optimizers do."""
        for group in self.param_groups:
            for key, value in defaults.items():
                group.setdefault(key, value)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) == 0:
                    continue
                for key in scalar_keys:
                    if key in p_state and not isinstance(p_state[key], Tensor):
                        p_state[key] = _scalar_state(p_state[key], p,
                                                     group.get("capturable", False))

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad = False
                g.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    # ---- hooks ----------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        handle = _handle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        handle = _handle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def _register(self, hooks, hook, prepend):
        handle = _handle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- state dict -----------------------------------------------------------------------
    def state_dict(self):
        """`{"state": {index: per-param state}, "param_groups": [options + param indices]}`.

        The state tensors are returned as they are (not copied), as torch does."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        mapping = {}
        start = 0
        param_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start)
                            if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            param_groups.append(packed)
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param, value, param_id, param_groups,
                                                 key=None):
        fused = capturable = False
        for pg in param_groups:
            if param_id in pg["params"]:
                fused, capturable = pg.get("fused", False), pg.get("capturable", False)
                break
        if key == "step":
            if capturable or fused:
                return value.to(dtype=_dtype.float32, device=param.device)
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict):
        """Load a state dict made by `state_dict()` (ember's or torch's, tensors converted)."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, state_dict["param_groups"], key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, k) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)


# ---- differentiable=True: the update rules run on autograd-recording arrays ----------------------
class _Recording:
    """A tensor as an update rule sees it (`.arr`, `.be`, `.grad`, ...), with `.arr` an
    autograd.higher_order.DArray: the rule's array code then records a graph, as torch's
    differentiable step does, and `write_back` copies the result into the tensor in place."""
    __slots__ = ("t", "arr", "be", "grad")

    def __init__(self, t, be, grad=None):
        from ..autograd.higher_order import DArray
        # the rule reads a copy, so the ops that save it for backward never see write_back's
        # in-place write (torch's differentiable Adam clones max_exp_avg_sq for this reason)
        self.t, self.arr, self.be = t, DArray(t.clone()), be
        self.grad = None if grad is None else _Recording(grad, be)

    def __getattr__(self, name):
        return getattr(self.t, name)

    # the version counter is the tensor's (the rules' _finish bumps it)
    _vc = property(lambda self: self.t._vc, lambda self, vc: setattr(self.t, "_vc", vc))

    def write_back(self):
        self.t.copy_(self.arr.t)


class _RecordingBackend:
    """The backend an update rule sees: the differentiable namespace, and no fused kernels."""
    kernels = {}

    def __init__(self, xp):
        self.xp = xp


def _recorded(update, group, hyperparameters, lr_number_error=None):
    """`update` run on recording views of the parameter and its state; the state is written
    back first and the parameter last (a leaf that requires grad then raises torch's error).
    lr_number_error: raised (before the update, where torch's rule is part-way) for an lr
    tensor that requires grad."""
    if group.get("foreach"):
        raise AssertionError("_foreach ops don't support autograd")

    def run(p, state, group):
        if p.grad.is_sparse:            # sparse gradients step unrecorded
            return update(p, state, group)
        if lr_number_error is not None and getattr(group["lr"], "requires_grad", False):
            raise TypeError(lr_number_error)
        from ..autograd.higher_order import context
        with context(p.be) as xp:
            be = _RecordingBackend(xp)
            views = {k: _Recording(v, be) if isinstance(v, Tensor) else v
                     for k, v in state.items()}
            param = _Recording(p, be, p.grad)
            update(param, views, _recording_group(group, hyperparameters))
        for view in views.values():
            if isinstance(view, _Recording):
                view.write_back()
        param.write_back()
    return run


def _recording_group(group, hyperparameters):
    """The group with its `hyperparameters` tensors that require grad as DArrays: the rule's
    arithmetic on them is recorded too (torch's differentiable lr and weight_decay)."""
    from ..autograd.higher_order import DArray
    return {k: DArray(v) if k in hyperparameters and isinstance(v, Tensor) and v.requires_grad
            else v for k, v in group.items()}


def _on_capturable_device(update, group, check):
    """`update` for capturable=True: the parameter must be on a GPU, as torch asserts."""
    what, xla = check[bool(group.get("foreach"))]
    devices = ["cuda", "xpu", "hpu", "privateuseone"] + ["xla"] * xla

    def run(p, state, group):
        if p.device.type != "cuda":
            raise AssertionError(f"If capturable=True, {what} must be on supported devices: "
                                 f"{devices}.")
        update(p, state, group)
    return run


# ---- helpers shared by the update rules ---------------------------------------------------------
class _PerParameter(Optimizer):
    """An optimizer that updates each parameter on its own: `_init_state(state, p, group)`
    makes a parameter's state on first use and `_update(p, state, group)` applies the rule;
    unpickled optimizers of older versions get the `_UPGRADE` group options."""
    _UPGRADE = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state(self._UPGRADE)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        return self._step_each(closure, type(self)._init_state, type(self)._update)


def _get_scalar_dtype(is_fused=None):
    """dtype of scalar state (`step`, `mu_product`): float32 unless the default is float64."""
    if is_fused:
        return _dtype.float32
    return _dtype.float64 if _dtype.get_default_dtype() is _dtype.float64 else _dtype.float32


def _scalar_state(value, p=None, on_param_device=False, is_fused=None):
    """A 0-d state tensor (torch keeps `step` on the CPU unless capturable or fused)."""
    from ..ops.creation import tensor
    dev = p.device if on_param_device else "cpu"
    return tensor(float(value), dtype=_get_scalar_dtype(is_fused), device=dev)


def _zeros_like(p):
    return _new(p.be.xp.zeros_like(p.arr), p.be)


def _full_like(p, value):
    return _new(p.be.xp.full_like(p.arr, value), p.be)


def _incr(step_t):
    """`step_t += 1` on a 0-d state tensor (a version, as torch's); returns the new value as a
    Python float."""
    a = step_t.arr
    a += 1
    bump_version(step_t)
    return float(a)


def _to_scalar(x):
    """torch's _to_scalar: a 1-element tensor hyper-parameter becomes 0-d."""
    return x.squeeze() if isinstance(x, Tensor) and x.dim() != 0 else x


def _value(x):
    """A hyper-parameter as a Python number (torch allows 1-element tensors for lr, betas)."""
    return x.item() if isinstance(x, Tensor) else x


def _number(x, what):
    """A hyper-parameter that torch's single-tensor step passes as a Number argument (`what`,
    e.g. "add(): argument 'alpha'"): its argument parser takes a 0-d tensor, not a 1-element
    one with dimensions."""
    if isinstance(x, Tensor):
        if x.dim() != 0:
            raise TypeError(f"{what} must be Number, not Tensor")
        return x.item()
    return x


def _weight_decay(group):
    """The group's weight decay as a number; added to the gradient (not decoupled), it is
    torch's `grad.add(param, alpha=weight_decay)` when not 0, which needs a number or 0-d tensor."""
    wd = group["weight_decay"]
    if isinstance(wd, Tensor) and not group.get("decoupled_weight_decay") and wd.item() != 0:
        return _number(wd, "add(): argument 'alpha'")
    return _value(wd)


def _in_scalar_state(x):
    """A hyper-parameter that torch's step multiplies or copies into a 0-d state tensor in place
    (NAdam's mu_product, ASGD's eta): one with dimensions does not fit there."""
    if isinstance(x, Tensor) and x.dim() != 0:
        raise RuntimeError(f"output with shape [] doesn't match the broadcast shape "
                           f"{list(x.shape)}")
    return _value(x)


def _real(a):
    """View a complex array as real pairs, a last dim of 2 (torch.view_as_real: any layout,
    a transposed gradient too); real arrays pass through."""
    if a.dtype.kind == "c":
        return a[..., None].view(a.real.dtype)
    return a


def _grad_array(p):
    """The gradient's array (read only by the update rules, which negate or decay copies; SGD's
    foreach nesterov step writes into it, as torch's)."""
    g = p.grad.arr
    if g.shape != p.arr.shape:
        raise RuntimeError(f"gradient shape {tuple(g.shape)} does not match parameter shape "
                           f"{tuple(p.arr.shape)}")
    return g


def _effective_grad(xp, grad, param, maximize, weight_decay):
    """torch's `grad = -grad if maximize`, then `grad = grad.add(param, alpha=weight_decay)`."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        _real_alpha(weight_decay)
        grad = _add(xp, grad, param, weight_decay)
    return grad


def _with_number(ufunc, a, number):
    """ufunc(a, number) as torch's kernels take a Python number: for a float16/bfloat16 `a` in
    float32, rounded once; the number itself in float32 (mul, div), or rounded to a's dtype
    first where torch's kernel reads it cast (add: eps = 1e-6 is 9.98e-7 in bfloat16)."""
    if _low_float(a.dtype):
        if ufunc.__name__ == "add":
            number = a.dtype.type(number)
        return ufunc(a.astype(np.float32), np.float32(number)).astype(a.dtype)
    return ufunc(a, number)


def _add_number_(a, number):
    """a.add_(number) as torch computes it (see _with_number)."""
    if _low_float(a.dtype):
        a[...] = _with_number(np.add, a, number)
    else:
        a += number
    return a


def _scale_(a, number):
    """a.mul_(number) as torch computes it (see _with_number)."""
    if _low_float(a.dtype):
        a[...] = _with_number(np.multiply, a, number)
    else:
        a *= number
    return a


def _add(xp, base, x, alpha, out=None):
    """base.add(x, alpha=alpha), or base.add_(...) with `out` base: float16/bfloat16 in one
    rounding, as torch's fused kernel (ops/_fma.py); float32/float64 rounded twice (see
    _lerp_: the fused form made an SGD step 3x slower)."""
    dt = base.dtype
    if _low_float(dt):
        return _axpy(xp, dt, base, x, dt.type(alpha), out)
    r = xp.multiply(x, alpha)
    if out is None:
        r += base
        return r
    out += r
    return out


def _real_alpha(alpha):
    """torch's add(..., alpha=True) into a floating-point tensor is an error."""
    if alpha is True:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")


def _lerp_(xp, start, end, weight, tmp=None):
    """start.lerp_(end, weight) with torch's two-branch formula (exact at weight 0 and 1).
    float16/bfloat16: one rounding, as torch's fused multiply-add. float32/float64: rounded
    twice, where torch rounds once (an ulp apart in about one element in ten): the fused
    form through float64 (ops/_fma.py) made an Adam step 1.7x slower and an SGD step 3x
    (a 784-1024-1024-10 MLP's SGD training step 10% slower), while whole training runs differ
    from torch's in the last bits anyway (BLAS, NumPy's exp and torch's float32 sqrt)."""
    if _low_float(start.dtype):
        return _lerp_fused(xp, start, end, weight, start)
    tmp = xp.subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        xp.subtract(end, tmp, out=start)
    return start


def _update_moments(xp, grad, exp_avg, exp_avg_sq, beta1, beta2, tmp):
    """Adam-family moments in place: exp_avg.lerp_(grad, 1 - beta1) and
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2), as torch writes them."""
    _lerp_(xp, exp_avg, grad, 1 - beta1, tmp)
    _scale_(exp_avg_sq, beta2)
    _addcmul_(xp, exp_avg_sq, grad, grad, 1 - beta2, tmp)


def _addcmul_(xp, dst, t1, t2, value, tmp=None):
    """dst.addcmul_(t1, t2, value=value): dst + value * t1 * t2 (rounded as _lerp_)."""
    if _low_float(dst.dtype):
        return _addcmul_fused(xp, dst, t1, t2, value, dst)
    tmp = xp.multiply(t1, value, out=tmp)
    tmp *= t2
    dst += tmp
    return dst


def _addcdiv_(xp, dst, t1, t2, value, tmp=None):
    """dst.addcdiv_(t1, t2, value=value): dst + (value * t1) / t2, torch's order."""
    if _low_float(dst.dtype):
        dst[...] = _addcdiv_low(xp, dst, t1, t2, value)
        return dst
    tmp = xp.multiply(t1, value, out=tmp)
    tmp /= t2
    dst += tmp
    return dst


def _finish(p, state=None, bumps=()):
    """Record the in-place update of a parameter (its version counter), as torch does; `bumps`
    are (state key or None for the parameter, count) pairs: the further in-place ops torch's
    step does on them, each one a version (torch's Adam: exp_avg.lerp_, exp_avg_sq.mul_ then
    .addcmul_, step_t += 1)."""
    bump_version(p)
    for key, n in bumps:
        bump_version(p if key is None else state[key], n)


BATCH_MAX = 4096        # parameters of at most this many values are stepped together
_F32_F64 = (np.dtype(np.float32), np.dtype(np.float64))


def _step_small_together(pairs, keys, step_together, by_step=False):
    """The batch hook of an optimizer whose update is elementwise (see _step_each): the
    float32/float64 CPU parameters of at most BATCH_MAX values whose states `keys` (arrays
    written by the update, in its kernel's order) match them, grouped by dtype (and step
    count, `by_step`), are stepped together: their arrays and gradients concatenated,
    `step_together(items, param, grad, *states)` once (which counts the steps, runs the
    kernel on the concatenations and records the versions), the results copied back: each
    value is the per-parameter update's. Returns the pairs left to the update.

    Only where every parameter of the group, and the states stepped together, own their
    C-contiguous NumPy memory (no two alias, so the order of the updates does not matter)
    and every gradient has its parameter's shape and dtype (the update's shape error keeps
    its order), on a CPU backend without kernels of its own. A small parameter costs the
    update's per-call work, a dozen ufunc calls and more, over its copies here (53
    parameters of 8 values: an Adam step 0.70 -> 0.33 ms, RMSprop 0.48 -> 0.27 ms; the GPT
    bench model's AdamW step 7% less; the copies of larger ones cost more than their calls)."""
    if len(pairs) < 2:
        return pairs
    be = pairs[0][0].be
    if be.name != "cpu" or be.kernels:
        return pairs
    batches = {}
    rest = []
    for pair in pairs:
        p, state = pair
        a, g = p.arr, p.grad.arr
        if p.be is not be or type(a) is not np.ndarray or a.base is not None or \
                type(g) is not np.ndarray or g.shape != a.shape or g.dtype != a.dtype or \
                a.dtype not in _F32_F64:
            return pairs
        flags = a.flags
        if not flags.c_contiguous or not flags.writeable:
            return pairs
        if a.size > BATCH_MAX:
            rest.append(pair)
            continue
        step_t = state.get("step")
        if isinstance(step_t, Tensor) and type(step_t.arr) is np.ndarray and \
                step_t.arr.size == 1:
            for k in keys:
                if not _same_layout(state.get(k), a):
                    rest.append(pair)
                    break
            else:
                batches.setdefault((a.dtype, float(step_t.arr) if by_step else None),
                                   []).append(pair)
        else:
            rest.append(pair)
    for items in batches.values():
        columns = [[p.arr for p, _ in items]] + [[s[k].arr for _, s in items] for k in keys]
        written = [id(a) for column in columns for a in column]
        if len(items) < 2 or len({id(s["step"]) for _, s in items}) < len(items) or \
                len(set(written)) < len(written):   # (distinct step counters and arrays)
            rest += items
            continue
        columns = [[a.reshape(-1) for a in column] for column in columns]
        joined = [np.concatenate(column) for column in columns]
        grad = np.concatenate([p.grad.arr.reshape(-1) for p, _ in items])
        step_together(items, joined[0], grad, *joined[1:])
        bounds = []
        start = 0
        for a in columns[0]:
            bounds.append((start, start + a.size))
            start += a.size
        for column, src in zip(columns, joined):
            for dst, (b, e) in zip(column, bounds):
                dst[...] = src[b:e]
    return rest


def _same_layout(t, a):
    """Whether state `t` is a tensor owning C-contiguous NumPy memory of a's dtype and shape."""
    if not isinstance(t, Tensor):
        return False
    b = t.arr
    return type(b) is np.ndarray and b.dtype == a.dtype and b.shape == a.shape and \
        b.base is None and b.flags.c_contiguous


def _fused_versions(update):
    """`update` as torch's fused CPU kernels leave the version counters: they write the
    parameter and its states through raw pointers (no version); only the step counts (its
    _foreach_add_)."""
    def run(p, state, group):
        kept = [(t, t._vc) for t in (p, *(v for k, v in (state or {}).items()
                                           if k != "step" and isinstance(v, Tensor)))]
        counts = [None if vc is None else vc[:] for _, vc in kept]
        update(p, state, group)
        for (t, vc), old in zip(kept, counts):
            if vc is None:
                t._vc = None
            else:
                vc[:] = old
    return run


_FUSED_DEVICES = ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", "privateuseone"]


def _device_dtype_check_for_fused(p):
    """fused=True updates floating-point parameters only, as torch checks."""
    if not (p.device.type in _FUSED_DEVICES and p.is_floating_point()):
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of "
                           f"supported devices: {_FUSED_DEVICES} but {p.dtype} and "
                           f"{p.device.type}")


def _check_fused_once(optimizer, group):
    """SGD's and Adagrad's fused check: the first parameter with a gradient, on the first step."""
    if group["fused"] and getattr(optimizer, "_need_device_dtype_check_for_fused", True):
        p = next((p for p in group["params"] if p.grad is not None), None)
        if p is not None:
            _device_dtype_check_for_fused(p)
            optimizer._need_device_dtype_check_for_fused = False


def _dense_only(p, name):
    if getattr(p.grad, "is_sparse", False):
        if name in ("Adam", "AdamW"):       # torch's AdamW is an Adam
            raise RuntimeError("Adam does not support sparse gradients, please consider "
                               "SparseAdam instead")
        raise RuntimeError(f"{name} does not support sparse gradients")


def _sparse_add_(param, sparse, alpha=1):
    """param.add_(sparse, alpha=alpha) on raw arrays: as torch, the entries are coalesced
    (repeated indices summed) before alpha scales them and they are added."""
    from .._sparse_coo import _index_add
    sparse = sparse.coalesce()
    if sparse.nnz:
        _index_add(sparse.xp, param, tuple(sparse.indices),
                   sparse.values if alpha == 1 else sparse.values * alpha)



from ._op_steps import foreach_step  # noqa: E402  (it imports the helpers above)
