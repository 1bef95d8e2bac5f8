"""functional_call: run a module with some parameters/buffers replaced for one call
(torch.nn.utils.stateless / torch.func.functional_call)."""
import contextlib

from ..._tensor import Tensor

__all__ = ["functional_call"]


_MISSING = object()


def _named_tensors(module):
    """Every parameter and buffer of module by name, tied ones under each of their names."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(named, values):
    """values with every tied name (of `named`, _named_tensors') given a value (torch's
    _untie_named_tensors_map): a ValueError where the names of one tied tensor are given
    different values."""
    by_id = {}
    for name, t in named.items():
        by_id.setdefault(id(t), set()).add(name)
    tied = {n: names for names in by_id.values() if len(names) > 1 for n in names}
    given = [n for n in values if n in tied]
    for name in given:
        names = tied[name]
        if len(names.intersection(given)) > 1 and \
                len({id(values[n]) for n in names if n in values}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    untied = dict(values)
    for name in given:
        for other in tied[name]:
            untied[other] = values[name]
    return untied


def _swap(module, name, value):
    """torch's NamedMemberAccessor.swap_tensor (allow_missing): put value (a Tensor, None or
    _MISSING to remove) at the dotted name; returns what was there (_MISSING if nothing)."""
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    prefix, _, attr = name.rpartition(".")
    owner = module
    for part in prefix.split(".") if prefix else ():
        try:
            owner = getattr(owner, part)
        except AttributeError:
            raise AttributeError(f"{owner._get_name()} has no attribute `{part}`") from None
    for registry in (owner._parameters, owner._buffers):
        if attr in registry:
            old = registry[attr]
            if value is _MISSING:
                del registry[attr]
            else:
                registry[attr] = value   # the registry also updates the attribute mirror
            return old
    old = getattr(owner, attr, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"attribute `{attr}`: {old} is not an instance of torch.Tensor")
    if value is not _MISSING:
        setattr(owner, attr, value)
    elif hasattr(owner, attr):
        delattr(owner, attr)
    return old


@contextlib.contextmanager
def _reparametrize(module, values, tie_weights, strict):
    """torch's _reparametrize_module: tied names filled in, strict keys checked, the tensors
    swapped in (names the module lacks become plain attributes) and swapped back after; the
    caller's dict then holds what the module left at each of its names."""
    named = _named_tensors(module) if tie_weights or strict else None
    untied = _untie(named, values) if tie_weights else values
    if strict:
        missing, unexpected = sorted(set(named) - set(untied)), sorted(set(untied) - set(named))
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                               + "\n\t".join(msgs))
    saved = {}
    try:
        for name, value in untied.items():
            saved[name] = _swap(module, name, value)
        yield
    finally:
        now = {name: _swap(module, name, old) for name, old in reversed(saved.items())}
        values.update({k: now[k] for k in values if k in now})


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """torch.nn.utils.stateless.functional_call: torch.func's, with torch's deprecation."""
    import warnings
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return func_functional_call(module, parameter_and_buffer_dicts, args, kwargs,
                                tie_weights=tie_weights, strict=strict)


def func_functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                         tie_weights=True, strict=False):
    """torch.func.functional_call: run `module` with the given tensors standing in for its
    parameters and buffers."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    else:
        dicts = list(parameter_and_buffer_dicts)
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts = {}
        for k in (k for d in dicts for k in d):
            counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        values = {k: v for d in dicts for k, v in d.items()}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))


func_functional_call.__name__ = func_functional_call.__qualname__ = "functional_call"
