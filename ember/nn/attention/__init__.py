"""torch.nn.attention: SDPBackend and the sdpa_kernel context manager.

ember has one scaled_dot_product_attention kernel (fused softmax on the GPU), which stands in
for every backend: sdpa_kernel sets and restores torch.backends.cuda's *_sdp_enabled flags as
torch does, and attention raises torch's error only when all four are off."""
import contextlib
import enum

from ...backends import cuda as _cuda_flags

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.Enum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block only `backends` (one SDPBackend or a list) are enabled."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    chosen = {backends} if isinstance(backends, SDPBackend) else set(backends)
    flags = _cuda_flags.SDP_ENABLED
    previous = dict(flags)
    try:
        for backend, name in _FLAG.items():
            flags[name] = backend in chosen
        yield {}
    finally:
        flags.update(previous)
