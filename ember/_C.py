"""The few torch._C names that Python code using __torch_function__ reaches for."""
from ._torch_function import (DisableTorchFunction, DisableTorchFunctionSubclass,
                              _disabled_torch_function_impl, STATE as _STATE)

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass",
           "_disabled_torch_function_impl", "_is_torch_function_enabled",
           "_current_graph_task_id"]


def _is_torch_function_enabled():
    return not _STATE.disabled


def _current_graph_task_id():
    from .autograd.engine import current_task_id
    return current_task_id()
