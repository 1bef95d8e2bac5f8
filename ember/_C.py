"""The few torch._C names that Python code reaches for: the __torch_function__ switches, and the
hooks libraries call directly (torchvision's and torchaudio's usage logging in every model and
transform constructor, the tracing state older transformers and fairseq code checks)."""
from ._tensor import TensorBase
from ._torch_function import (DisableTorchFunction, DisableTorchFunctionSubclass,
                              _disabled_torch_function_impl, STATE as _STATE)
from .ops.linalg import LinAlgError as _LinAlgError
from .ops.random import Generator

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "Generator", "TensorBase",
           "_LinAlgError", "_disabled_torch_function_impl", "_is_torch_function_enabled",
           "_current_graph_task_id", "_get_tracing_state", "_log_api_usage_once"]


def _is_torch_function_enabled():
    return not _STATE.disabled


def _current_graph_task_id():
    from .autograd.engine import current_task_id
    return current_task_id()


def _get_tracing_state():
    """None: ember never traces (torch.jit.trace runs the function eagerly)."""
    return None


def _log_api_usage_once(*args):
    """torch's one-time API usage logging (a no-op without a logger): one str argument."""
    if len(args) != 1:
        raise TypeError(f"torch._C._log_api_usage_once() takes exactly one argument "
                        f"({len(args)} given)")
    if not isinstance(args[0], str):
        raise TypeError("bad argument type for built-in operation")


def __getattr__(name):
    if name == "_nn":       # (built on first use: nn.functional imports this module)
        global _nn
        _nn = _make_nn()
        return _nn
    if name in _NAMESPACES:
        module = globals()[name] = _builtins_of(name)
        return module
    raise AttributeError(f"module 'ember._C' has no attribute '{name}'")


_NAMESPACES = {"_linalg": "linalg", "_fft": "fft", "_special": "special"}


def _builtins_of(name):
    """torch._C._linalg, _fft and _special: the builtins torch.linalg, torch.fft and
    torch.special hand out (linalg_norm is torch.linalg.norm), which fx-generated code calls
    by those names; each looked up in ember's namespace when called for."""
    import importlib
    import types
    prefix = _NAMESPACES[name] + "_"
    module = types.ModuleType("ember._C." + name)

    def builtin(attr):
        if attr.startswith(prefix):
            ns = importlib.import_module("ember." + _NAMESPACES[name])
            fn = getattr(ns, attr[len(prefix):], None)
            if callable(fn) and not isinstance(fn, type):
                return fn
        raise AttributeError(f"module 'torch._C.{name}' has no attribute '{attr}'")
    module.__getattr__ = builtin
    return module


# torch.nn.functional's functions that are builtins of torch._C._nn (F.linear is
# torch._C._nn.linear): F's name -> the builtin's
NN_BUILTINS = {**{n: n for n in ("avg_pool2d", "avg_pool3d", "elu_", "gelu", "hardtanh_",
                                 "leaky_relu_", "linear", "one_hot",
                                 "scaled_dot_product_attention", "softplus", "softshrink")},
               "logsigmoid": "log_sigmoid"}


def _make_nn():
    """torch._C._nn: the builtins torch.nn.functional hands out as they are, which
    fx-generated code calls by their names there."""
    import types
    from .nn import functional as F
    nn = types.ModuleType("ember._C._nn")
    for f_name, name in NN_BUILTINS.items():
        setattr(nn, name, getattr(F, f_name))
    return nn
