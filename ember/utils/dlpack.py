"""torch.utils.dlpack: zero-copy exchange with other array libraries through DLPack capsules
or objects with __dlpack__ (NumPy, CuPy, torch, JAX, ...)."""
from ..ops.creation import from_dlpack

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor):
    """A DLPack capsule viewing `tensor`'s memory (consumed once by from_dlpack). It is DLPack
    1.0's versioned capsule where the array library makes one (NumPy 2 does), so that the
    array made from it is writable; torch.from_dlpack takes both kinds."""
    arr = tensor.arr       # (torch's C function: no __dlpack__ and its refusals)
    try:
        return arr.__dlpack__(max_version=(1, 0))
    except TypeError:
        return arr.__dlpack__()
