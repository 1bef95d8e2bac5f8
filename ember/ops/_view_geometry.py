"""The sizes, strides and storage offset torch gives a basic-indexing view, where NumPy's differ:
torch applies an index's items left to right (None unsqueezes with the stride of the dim then
next, later selected away or not), and an empty slice starts where its clamped start points,
which NumPy leaves at the first element."""
import numpy as np

from .._tensor import dense_strides


def geometry(shape, strides, idx, unit=1):
    """(sizes, strides, offset) of torch's view x[idx], for x of `shape` and `strides` (in
    elements, or in bytes with `unit` the itemsize); idx: a tuple of non-negative in-range
    ints, slices with positive steps, None and Ellipsis."""
    sizes, st = list(shape), list(strides)
    off = d = 0
    last = len(idx) - 1
    for k, i in enumerate(idx):
        t = type(i)
        if t is int:
            off += i * st[d]
            del sizes[d], st[d]
        elif t is slice:
            start, stop, step = i.indices(sizes[d])
            off += start * st[d]
            sizes[d] = len(range(start, stop, step))
            st[d] *= step
            d += 1
        elif i is None:     # at::unsqueeze: size * stride of the dim it goes before, 1 at the end
            st.insert(d, sizes[d] * st[d] if d < len(sizes) else unit)
            sizes.insert(d, 1)
            d += 1
        elif k == last:     # a trailing Ellipsis
            break
        else:
            d = len(sizes) - sum(1 for j in idx[k + 1:] if j is not None and j is not Ellipsis)
    return sizes, st, off


def view_strides(shape, strides, newshape, unit):
    """torch's strides (its computeStride) of the view as `newshape` of a non-empty array of
    `shape` and `strides`, both in bytes (`unit`: the itemsize); None where there is no view.
    NumPy's reshape differs at size-1 dims: torch gives one the stride of the chunk it falls in."""
    if not shape:
        return (unit,) * len(newshape)
    st = [0] * len(newshape)
    vd = len(newshape) - 1
    base = strides[-1]
    tn = vn = 1
    for td in range(len(shape) - 1, -1, -1):
        tn *= shape[td]
        if td == 0 or (shape[td - 1] != 1 and strides[td - 1] != tn * base):
            while vd >= 0 and (vn < tn or newshape[vd] == 1):
                st[vd] = vn * base
                vn *= newshape[vd]
                vd -= 1
            if vn != tn:
                return None
            if td:
                base = strides[td - 1]
                tn = vn = 1
    return tuple(st) if vd == -1 else None


def torch_reshaped(xp, a, r):
    """`r`, a no-copy reshape of the non-empty array `a`, restrided as torch's view would be.
    Only the strides of `r`'s size-1 dims can differ, and only where `a` has a size-1 dim or is
    not C-contiguous (else NumPy's and torch's strides are both the contiguous ones)."""
    st = view_strides(a.shape, a.strides, r.shape, a.itemsize)
    return r if st is None or st == r.strides else as_strided_arr(xp, r, r.shape, st)


def as_strided_arr(xp, a, shape, strides_bytes):
    """A writable strided view over `a`'s memory, starting at `a`'s first element."""
    if xp is np:
        if type(a) is np.ndarray and a.size and a.flags.c_contiguous:
            try:    # over a's buffer: a tenth of as_strided's time (which is Python code)
                return np.ndarray(shape, a.dtype, a, 0, strides_bytes)
            except (TypeError, ValueError):     # (a view reaching past a's buffer)
                pass
        try:
            return np.lib.stride_tricks.as_strided(a, shape, strides_bytes, writeable=True)
        except TypeError:   # float8_e5m2: NumPy's round trip through its typestr "<f1" fails
            return np.lib.stride_tricks.as_strided(a.view(np.uint8), shape, strides_bytes,
                                                   writeable=True).view(a.dtype)
    return xp.lib.stride_tricks.as_strided(a, shape, strides_bytes)


def torch_strided(a):
    """An empty NumPy array `a` whose strides NumPy zeroed, viewed with torch's strides (so the
    views made of it are strided and placed as torch's); any other array as it is."""
    if a.size or not a.ndim or type(a) is not np.ndarray or any(a.strides):
        return a
    return as_strided_arr(np, a, a.shape, tuple([v * a.itemsize for v in dense_strides(a)]))


def _ptr(a):
    return a.__array_interface__["data"][0]


class _Moved:
    """An array interface at another address (an empty view's), keeping `base` alive."""
    __slots__ = ("__array_interface__", "base")

    def __init__(self, face, base):
        self.__array_interface__ = face
        self.base = base


def torch_view(x, idx):
    """torch's view x[idx] of the NumPy array x (idx as geometry's), or None where x is empty
    or not C-contiguous (no buffer to lay it over)."""
    if not (x.flags.c_contiguous and x.size):
        return None
    sizes, st, off = geometry(x.shape, x.strides, idx, x.itemsize)
    return np.ndarray(tuple(sizes), x.dtype, buffer=x, offset=off, strides=tuple(st))


def as_torch_view(x, idx, out):
    """`out` (NumPy's x[idx], a view of the NumPy array x) restrided and moved where torch's
    view would be; `out` itself when they agree."""
    item = x.itemsize
    sizes, st, off = geometry(x.shape, dense_strides(x), idx)
    want = tuple([s * item for s in st])
    shift = off * item - (_ptr(out) - _ptr(x))
    if not shift:
        return out if out.strides == want else as_strided_arr(np, out, tuple(sizes), want)
    raw = out.view(np.uint8) if out.dtype.kind == "V" or item == 1 else out   # (float8's
    face = dict(raw.__array_interface__, strides=want, shape=tuple(sizes))   # typestr fails)
    face["data"] = (face["data"][0] + shift, False)     # (moves only an empty result)
    return np.asarray(_Moved(face, raw)).view(out.dtype)
