"""torch.memory_format: contiguous_format, preserve_format, channels_last (NHWC strides for a
4-d tensor) and channels_last_3d (NDHWC for 5-d), with torch's stride rules.

ember's arrays are NumPy arrays, so a channels-last tensor is an array whose strides put the
channel dimension innermost: the NHWC-contiguous array transposed back to NCHW. Elementwise
ops (NumPy's order 'K') keep that layout; convolutions, pools, batch norm and interpolation
lay their outputs out like torch (`follow`)."""
import functools

import numpy as np

from ._tensor import dense_strides
from .ops._view_geometry import as_strided_arr

__all__ = ["memory_format", "contiguous_format", "preserve_format", "channels_last",
           "channels_last_3d"]


class memory_format:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return self.name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

# channels-last dim order (outermost first) for 4-d and 5-d tensors
_ORDER = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}
_INV = {4: (0, 3, 1, 2), 5: (0, 4, 1, 2, 3)}


def _check(fmt, ndim, what="required rank 4 tensor to use channels_last format"):
    if fmt is channels_last and ndim != 4:
        raise RuntimeError(what)
    if fmt is channels_last_3d and ndim != 5:
        raise RuntimeError("required rank 5 tensor to use channels_last_3d format")


def is_channels_last(fmt):
    return fmt is channels_last or fmt is channels_last_3d


def is_contiguous_as(a, fmt):
    """torch's is_contiguous(memory_format): dims visited innermost first, size-1 dims free."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(a.flags.c_contiguous)
    if (fmt is channels_last and a.ndim != 4) or (fmt is channels_last_3d and a.ndim != 5):
        return False
    expected = 1
    st = a.strides if a.size else [v * a.itemsize for v in dense_strides(a)]
    for d in reversed(_ORDER[a.ndim]):
        n = a.shape[d]
        if n != 1:
            if st[d] // a.itemsize != expected:
                return False
            expected *= n
    return True


def strides_like_channels_last(a):
    """torch's is_channels_last_strides_2d/3d (suggest_memory_format's test)."""
    if a.ndim not in _ORDER:
        return False
    st = [s // a.itemsize for s in a.strides]
    if st[1] == 0:
        return False
    low = 0
    for d in (1,) + tuple(reversed(_ORDER[a.ndim][1:-1])) + (0,):
        if a.shape[d] == 0 or st[d] < low:
            return False
        if d == 0 and low == st[1]:
            return False
        low = st[d] * (a.shape[d] if a.shape[d] > 1 else 1)
    return True


def as_format(a, fmt, force=False):
    """a laid out in memory format fmt: itself when it already is (unless force), else a copy
    with torch's strides for that format (size-1 dims included)."""
    if not force and is_contiguous_as(a, fmt):
        return a
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return a.copy(order="C")
    out = a.transpose(_ORDER[a.ndim]).copy(order="C").transpose(_INV[a.ndim])
    if not out.size and type(out) is np.ndarray:    # NumPy zeroes an empty copy's strides
        out = _strided(out, channels_last_strides(out.shape))
    return out


def channels_last_strides(shape):
    """torch's channels-last strides (in elements) of a 4-d or 5-d shape: the sizes as they
    are, a size-0 dim zeroing the strides of the dims outside it (unlike contiguous strides)."""
    st, step = [0] * len(shape), 1
    for d in reversed(_ORDER[len(shape)]):
        st[d] = step
        step *= shape[d]
    return tuple(st)


def channels_last_like(a, ref):
    """fmt of `ref` when it reads as channels last, for an output `a` of the same rank."""
    return a.ndim == ref.ndim and strides_like_channels_last(ref)


def follow(out, *refs):
    """The output array `out` of a conv / pool / norm / resampling of `refs`: channels last when
    any of them reads as channels last (torch's suggest_memory_format), else as is."""
    if out.ndim in _ORDER and any(r is not None and r.ndim == out.ndim and
                                  strides_like_channels_last(r) for r in refs):
        if strides_like_channels_last(out):
            return out
        return as_format(out, channels_last if out.ndim == 4 else channels_last_3d, True)
    return out


def _suggests_cl(a):
    if a.ndim not in _ORDER:
        return False
    if a.flags.c_contiguous and 1 not in a.shape:     # the common case, decided at once
        return False
    return strides_like_channels_last(a)


def contiguous_out(out):
    """A fresh output tensor made C-contiguous in place (torch's ops that allocate a contiguous
    result whatever the input's layout: layer_norm, masked_fill, ...)."""
    if not out.arr.flags.c_contiguous and out.arr.strides is not None:   # (None: nested, whose
        out.arr = out.be.xp.ascontiguousarray(out.arr)                  # kernels lay it out)
    return out


def lay_out(out, *refs):
    """Tensor-level follow: the output tensor(s) of a conv / pool / norm / resampling / cat of
    the tensors `refs` get channels-last strides when a ref reads as channels last."""
    if not any(r is not None and _suggests_cl(r.arr) for r in refs):
        return out
    outs = out if isinstance(out, tuple) else (out,)
    for t in outs:
        if t.arr.ndim in _ORDER and not strides_like_channels_last(t.arr):
            t.arr = as_format(t.arr, channels_last if t.arr.ndim == 4 else channels_last_3d,
                              True)
    return out


def suggested_layout(out, ref):
    """The output tensor of a kernel that allocates it as empty_like(ref,
    ref.suggest_memory_format()) (batch_norm, group_norm): channels last when `ref` reads as
    channels last, else C-contiguous whatever ref's strides."""
    return lay_out(out, ref) if _suggests_cl(ref.arr) else contiguous_out(out)


def iterator_layout(r, *operands):
    """The result `r` (a NumPy array) of an elementwise op of the arrays `operands`, laid out as
    torch's TensorIterator lays out a new output: dims ordered by the operands' strides, where
    they disagree the earlier operand's order wins (NumPy's order 'K' lets C order win), and
    ties (equal strides) go to the smaller dim. Returns `r` or a copy in that layout."""
    nd, shape = r.ndim, r.shape
    ops = []
    for a in operands:       # strides in r's dims; broadcast dims 0, as torch sets them
        off, st = nd - a.ndim, [0] * nd
        for i, n in enumerate(a.shape):
            if n == shape[off + i]:
                st[off + i] = a.strides[i]
        ops.append(st)

    def should_swap(d0, d1):
        for st in ops:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(nd - 1, -1, -1))      # innermost first
    for i in range(1, nd):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    want, step = [0] * nd, r.itemsize
    for d in perm:
        want[d] = step
        step *= shape[d]
    if all(n == 1 or s == w for n, s, w in zip(shape, r.strides, want)):
        return r
    out = np.empty([shape[d] for d in reversed(perm)], r.dtype).transpose(
        [nd - 1 - perm.index(d) for d in range(nd)])
    out[...] = r
    return out


def grad_layout(r, first, second):
    """The gradient `r` computed by a pointwise backward kernel of the same-shaped arrays
    (`first`, `second`): grad_output and the input or result, in the order torch's kernel hands
    them to TensorIterator, whose layout the gradient takes (iterator_layout: where they
    disagree, the first's order wins). `r` itself where their strides agree (NumPy's result
    then has their layout too) or for arrays other than NumPy's."""
    if type(r) is np.ndarray and type(first) is np.ndarray and type(second) is np.ndarray and \
            r.ndim > 1 and first.strides != second.strides:
        return iterator_layout(r, first, second)
    return r


def preserve_strides(a):
    """torch's strides (in elements) for a preserve_format copy of `a` (clone, to, *_like):
    a's own where they are non-overlapping and dense, else dense strides in the order of a's
    (torch's infer_dense_strides); size-1 dims placed as torch places them."""
    st = dense_strides(a)
    if not a.size:          # (torch keeps an empty tensor's strides, whatever they are)
        return st
    shape = a.shape
    big = sorted([d for d in range(a.ndim) if shape[d] > 1], key=st.__getitem__)
    need = 1
    for d in big:
        if st[d] != need:
            break
        need *= shape[d]
    else:
        return st
    perm = list(range(a.ndim - 1, -1, -1))      # innermost first, ties kept (insertion sort)
    for i in range(1, len(perm)):
        j = i
        for k in range(i - 1, -1, -1):
            s0, s1 = st[perm[k]], st[perm[j]]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                break
            if s0 > s1 or shape[perm[k]] > shape[perm[j]]:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
    out, step = [0] * a.ndim, 1
    for d in perm:
        out[d] = step
        step *= max(shape[d], 1)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def c_strides(shape, itemsize):
    """The C-order strides (in bytes) NumPy gives a new array, size-1 dims included."""
    st, step = [], itemsize
    for n in reversed(shape):
        st.append(step)
        step *= max(n, 1)
    return tuple(reversed(st))


def odd_units(a):
    """Whether NumPy's copy of the NumPy array `a` may place its size-0 or size-1 dims otherwise
    than torch's preserve_format copy (a C-ordered `a` with size-1 dims: never)."""
    return not a.size or 1 in a.shape and a.strides != c_strides(a.shape, a.itemsize)


def relaid(src, y):
    """y, a new NumPy copy of `src`'s values (in NumPy's layout), with torch's strides of a
    preserve_format copy of src where NumPy placed size-0 or size-1 dims otherwise."""
    st = preserve_strides(src)
    if dense_strides(y) == st:
        return y
    out = _strided(np.empty(y.size, y.dtype), st, y.shape)
    if y.size:
        out[...] = y
    return out


def _strided(a, st, shape=None):
    """A view of the NumPy array `a`'s memory with shape `shape` (a's) and strides `st` (in
    elements)."""
    return as_strided_arr(np, a, a.shape if shape is None else shape,
                          tuple([v * a.itemsize for v in st]))
