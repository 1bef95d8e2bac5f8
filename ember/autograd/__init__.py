"""ember.autograd: tape-based reverse-mode automatic differentiation (torch.autograd's API)."""
from . import anomaly_mode, forward_ad, functional, grad_mode, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .function import Function, once_differentiable
from .functions import backward, grad
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled, is_multithreading_enabled, set_multithreading_enabled,
                        enforce_grad_layout_policy)
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["backward", "grad", "Function", "once_differentiable", "gradcheck", "gradgradcheck",
           "functional", "forward_ad", "graph", "detect_anomaly", "set_detect_anomaly", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "Variable",
           "set_multithreading_enabled", "enforce_grad_layout_policy",
           "profiler"]


def __getattr__(name):
    if name == "profiler":       # imported on first use (torch.autograd.profiler)
        import importlib
        return importlib.import_module(f"{__name__}.profiler")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"profiler"})


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        from .._tensor import Tensor
        return isinstance(other, Tensor)


class _ExecutionEngine:
    """Variable._execution_engine: the autograd engine's queue_callback."""

    @staticmethod
    def queue_callback(callback):
        from .engine import queue_callback
        queue_callback(callback)


class Variable(metaclass=_VariableMeta):
    """Legacy torch.autograd.Variable: Variable(t) is t.detach() (with requires_grad applied)."""
    _execution_engine = _ExecutionEngine()

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        from .._tensor import Tensor
        if volatile:
            import warnings
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                          "instead.", UserWarning, stacklevel=2)
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()         # a new leaf sharing data's storage, as torch's Variable(t)
        if requires_grad:
            out.requires_grad_(True)
        return out
from . import variable  # noqa: E402,F401  (torch.autograd.variable, the legacy module)
