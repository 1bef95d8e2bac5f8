"""torch.utils.dlpack: zero-copy exchange with other array libraries through DLPack capsules
or objects with __dlpack__ (NumPy, CuPy, torch, JAX, ...)."""
import enum

from ..ops.creation import from_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device kinds (Tensor.__dlpack_device__'s first element, as torch's)."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def to_dlpack(tensor):
    """A DLPack capsule viewing `tensor`'s memory (consumed once by from_dlpack). It is DLPack
    1.0's versioned capsule where the array library makes one (NumPy 2 does), so that the
    array made from it is writable; torch.from_dlpack takes both kinds."""
    arr = tensor.arr       # (torch's C function: no __dlpack__ and its refusals)
    try:
        return arr.__dlpack__(max_version=(1, 0))
    except TypeError:
        return arr.__dlpack__()
