"""functional_call: run a module with some parameters/buffers replaced for one call
(torch.nn.utils.stateless / torch.func.functional_call)."""
import contextlib

from ..._tensor import Tensor

__all__ = ["functional_call"]


def _tied_names(module):
    """name -> every name that refers to the same tensor (tied weights)."""
    by_id = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + \
            list(module.named_buffers(remove_duplicate=False)):
        by_id.setdefault(id(t), []).append(name)
    return {n: names for names in by_id.values() for n in names}


def _slot(module, name):
    prefix, _, attr = name.rpartition(".")
    owner = module.get_submodule(prefix)
    if attr in owner._parameters:
        return owner._parameters, attr
    if attr in owner._buffers:
        return owner._buffers, attr
    raise AttributeError(f"{owner._get_name()} has no parameter or buffer `{attr}`")


@contextlib.contextmanager
def _reparametrize(module, values, tie_weights, strict):
    known = _tied_names(module)
    if strict:
        missing = [k for k in known if k not in values]
        unexpected = [k for k in values if k not in known]
        if missing or unexpected:
            msgs = []
            if unexpected:
                msgs.append(f"Unexpected key(s): {', '.join(map(repr, sorted(unexpected)))}.")
            if missing:
                msgs.append(f"Missing key(s): {', '.join(map(repr, sorted(missing)))}.")
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                               + "\n\t".join(msgs))
    todo = dict(values)
    if tie_weights:
        for name, value in values.items():
            for other in known.get(name, ()):
                todo.setdefault(other, value)
    saved = []
    try:
        for name, value in todo.items():
            registry, attr = _slot(module, name)
            saved.append((registry, attr, registry[attr]))
            registry[attr] = value       # the registry also updates the attribute mirror
        yield
    finally:
        for registry, attr, old in reversed(saved):
            registry[attr] = old


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
    for k, v in values.items():
        if not isinstance(v, Tensor):
            raise TypeError(f"expected a Tensor for '{k}', got {type(v).__name__}")
    with _reparametrize(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))


func_functional_call.__name__ = func_functional_call.__qualname__ = "functional_call"
