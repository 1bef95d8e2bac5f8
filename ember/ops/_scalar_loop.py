"""Which elements torch's CPU pointwise loop leaves to its scalar code.

cpu_kernel_vec runs the inner dimension of TensorIterator's loop (its operands' dimensions
ordered by memory, those that follow each other in memory coalesced into one) two vectors at a
time where that dimension is contiguous or broadcast (stride 0), and the elements after the
last pair through the scalar lambda; a strided inner dimension runs wholly scalar. Where the
two lambdas differ (the sign of a zero, say), an element's result depends on which ran it."""
import numpy as np

from .. import _cpu

GRAIN = 32768   # at::internal::GRAIN_SIZE: longer tensors split across threads (not followed)


def scalar_mask(x, vec_bytes=_cpu.BASE_VEC_BYTES):
    """A boolean array of x's shape, True where torch's scalar loop computes the element, for a
    NumPy array x of fewer than GRAIN elements; None where it does not apply (longer arrays,
    whose chunks follow torch's thread count: left to the vectorised loop). vec_bytes: the
    kernel's vector width (BASE_VEC_BYTES, or _cpu.VEC_BYTES for kernels with an AVX512
    build)."""
    if type(x) is not np.ndarray or x.size >= GRAIN:
        return None
    shape, strides = x.shape, x.strides
    dims = [d for d in range(x.ndim) if shape[d] != 1]
    if not dims:
        return np.ones(shape, bool)
    if any(strides[d] <= 0 for d in dims):      # broadcast or flipped: the logical order
        perm = dims
    else:                                       # memory order, innermost last
        perm = sorted(dims, key=lambda d: -strides[d])
    inner = perm[-1]
    if strides[inner] not in (0, x.itemsize):
        return np.ones(shape, bool)
    run, k = shape[inner], len(perm) - 1
    while k and strides[perm[k]] and strides[perm[k - 1]] == strides[perm[k]] * shape[perm[k]]:
        k -= 1
        run *= shape[perm[k]]
    step = 2 * vec_bytes // x.itemsize
    full = [d for d in range(x.ndim) if d not in perm] + perm
    at = np.arange(x.size).reshape([shape[d] for d in full]) % run
    return (at >= run - run % step).transpose(np.argsort(full))
