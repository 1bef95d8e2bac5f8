"""torch.utils.deterministic: whether torch.empty and resize_ fill their new memory (NaN, the
largest integer, True) while torch.use_deterministic_algorithms(True) is on."""
import sys
import types

from .._toplevel import _FLAGS


class _Deterministic(types.ModuleType):
    @property
    def fill_uninitialized_memory(self):
        """Whether to fill uninitialized memory with a known value when
        ember.use_deterministic_algorithms() is set to True."""
        return _FLAGS["fill_uninitialized_memory"]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode):
        if type(mode) is not bool:
            raise RuntimeError(f"expected a bool, but got {type(mode).__name__}")
        _FLAGS["fill_uninitialized_memory"] = mode


sys.modules[__name__].__class__ = _Deterministic
