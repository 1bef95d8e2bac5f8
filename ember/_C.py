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
