"""torch.overrides: helpers for the __torch_function__ protocol (see ember/_torch_function.py).

Tensor subclasses take part from the moment one is defined, TorchFunctionModes while entered,
and objects of other classes that define __torch_function__ from the class statement on (a
class made by calling type(), or defined before `import ember`, once dispatch is on: a Tensor
subclass or another such class exists, a mode was entered, or handle_torch_function was
called)."""
import functools

from ._torch_function import (TorchFunctionMode, handle_torch_function, has_torch_function,
                              resolve_name)

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like", "is_tensor_method_or_property",
           "get_default_nowrap_functions", "TorchFunctionMode", "resolve_name",
           "BaseTorchFunctionMode", "wrap_torch_function"]


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every function as called: the base to override only some of them."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **({} if kwargs is None else kwargs))


def wrap_torch_function(dispatcher):
    """Make a function dispatchable by __torch_function__: `dispatcher(*args, **kwargs)` (same
    signature) returns the arguments whose types take part."""
    def inner(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


def has_torch_function_unary(obj):
    return has_torch_function((obj,))


def has_torch_function_variadic(*args):
    return has_torch_function(args)


def is_tensor_like(inp):
    from ._tensor import Tensor
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func):
    return getattr(func, "torch_name", "").startswith("torch.Tensor.")


def get_default_nowrap_functions():
    """The functions whose results Tensor.__torch_function__ leaves unconverted (the grad and
    _base getters) — by name, as ember's getters are made when dispatch is switched on."""
    from ._tensor import _NOWRAP
    return set(_NOWRAP)
