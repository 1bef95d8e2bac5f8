"""torch's refusal of a write whose input shares memory with the tensor written in part
(MemoryOverlap.cpp: TensorIterator's assert_no_partial_overlap; the scatters' assert_no_overlap
refuses the same memory too): `y[1:].add_(y[:-1])`, `y[1:] = y[:-1]`, `x.mul_(x[0])` raise
where NumPy would compute as if the input were copied first."""
from .._tensor import Tensor

PARTIAL_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to "
                   "tensor refer to a single memory location. Please clone() the tensor before "
                   "performing the operation.")


INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor "
                    "refers to a single memory location. Please clone() the tensor before "
                    "performing the operation.")


def check_internal(t):
    """torch's assert_no_internal_overlap: refuses a tensor some of whose elements share memory
    (an expanded one)."""
    a = t.arr
    st = getattr(a, "strides", ())
    if 0 in st and a.size and any(s == 0 and n > 1 for n, s in zip(a.shape, st)):
        raise RuntimeError(INTERNAL_OVERLAP)


def _dense(a):
    """torch's is_non_overlapping_and_dense: the elements fill one block of memory, once each
    (a negative stride, which no torch tensor has, counts as too hard to tell, as overlap does)."""
    expected = a.itemsize
    for st, n in sorted((st, n) for n, st in zip(a.shape, a.strides) if n != 1):
        if st != expected:
            return False
        expected *= n
    return True


def _ptr(a):
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else \
        a.data.ptr


def overlap(a, b):
    """torch's get_overlap_status of arrays a and b, views of one array (see `owner`): 0 no
    overlap (or too hard to tell: either not dense), 1 the same elements, 2 some shared."""
    if a is b:
        return 1
    if not a.size or not b.size or not (_dense(a) and _dense(b)):
        return 0
    pa, pb = _ptr(a), _ptr(b)
    ea, eb = pa + a.size * a.itemsize, pb + b.size * b.itemsize
    if pa == pb and ea == eb:       # (torch compares strides counted in elements)
        same = a.ndim == b.ndim and all(
            sa // a.itemsize == sb // b.itemsize for sa, sb in zip(a.strides, b.strides))
        return 1 if same else 2
    return 2 if pa < eb and pb < ea else 0


def owner(a):
    """The array whose memory `a` views (NumPy's and CuPy's `base` name the owner, not the
    view made from), or None for arrays torch has no check for (nested, sparse, quantized).
    Views reached otherwise (as_strided's, a buffer's) count as unrelated: no error, as torch
    gives none where it cannot tell."""
    try:
        base = a.base
    except (AttributeError, NotImplementedError):     # (a sparse array refuses `base`)
        return None
    return a if base is None else base


def check_args(dst, args, kwargs, full=False):
    """Raises torch's error if a tensor among args/kwargs shares memory with `dst` in part (or at
    all, `full`: the scatters' source)."""
    mine = owner(dst.arr)
    if mine is None:
        return
    for a in args:
        if isinstance(a, Tensor) and owner(a.arr) is mine:
            check_arrays(dst.arr, a.arr, full)
    for a in kwargs.values():
        if isinstance(a, Tensor) and owner(a.arr) is mine:
            check_arrays(dst.arr, a.arr, full)


def check(dst, src, full=False):
    """check_args of one tensor."""
    if owner(src.arr) is owner(dst.arr) is not None:
        check_arrays(dst.arr, src.arr, full)


def check_arrays(dst, src, full=False):
    if overlap(dst, src) >= (1 if full else 2):
        raise RuntimeError(PARTIAL_OVERLAP)


def check_out(out, args, kwargs, full=False):
    """check_args for an `out=` tensor (anything else given as out is refused later)."""
    if isinstance(out, Tensor):
        check_args(out, args, kwargs, full)
