"""torch.overrides: helpers for the __torch_function__ protocol (see ember/_torch_function.py).

Tensor subclasses take part from the moment one is defined, TorchFunctionModes while entered.
Objects that are not Tensors but define __torch_function__ take part once dispatch is on (a
Tensor subclass with __torch_function__ exists, a mode was entered, or handle_torch_function
was called)."""
from ._torch_function import (TorchFunctionMode, handle_torch_function, has_torch_function,
                              resolve_name)

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like", "is_tensor_method_or_property",
           "get_default_nowrap_functions", "TorchFunctionMode", "resolve_name"]


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
