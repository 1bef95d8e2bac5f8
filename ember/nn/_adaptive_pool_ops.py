"""Adaptive average/max pooling and max-unpooling.

Adaptive average pooling sums each window in row-major order and divides the sum by the window's
extent in each dim, as torch's CPU kernels do (its backward is the separable taps of
_resample_ops); adaptive max pooling gathers each output's window (padded by repeating its last
index) and takes a NaN-aware argmax."""
import itertools
import math

import numpy as np

from .._memory_format import lay_out
from ..ops._apply import apply
from ..ops._registry import op
from .._kernel_dtypes import float_only, tname
from ._conv_ops import ntuple
from ._pool_ops import _unbatched
from ._resample_ops import _resample_bwd, adaptive_taps

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d"]


# ---- adaptive pooling -------------------------------------------------------------------------
def _adaptive_sizes(input, nsp, output_size, name):
    if nsp > 1 and isinstance(output_size, (tuple, list)) and input.ndim <= len(output_size):
        # torch.nn.functional's _list_with_default, before the kernel's checks
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    if nsp == 1:        # (the 2-d and 3-d kernels check the rank after the sizes)
        _adaptive_rank(input, nsp, name)
    if nsp == 1 and (output_size is None or isinstance(output_size, (tuple, list))
                     and None in output_size):
        head = f"{name}(): argument 'output_size' (position 2) must be tuple of ints, "
        raise TypeError(head + ("not NoneType" if output_size is None else
                                "but found element of type NoneType at pos 0"))
    if output_size is None:                 # torch's _list_with_default takes its len()
        raise TypeError("object of type 'NoneType' has no len()")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nsp
    if len(sizes) != nsp:               # torch's words differ by the function
        if nsp == 1:
            raise RuntimeError(f"{name}() argument 'output_size' should contain one int (got "
                               f"{len(sizes)})")
        if len(sizes) >= input.ndim:    # its _list_with_default
            raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
        if "max" in name:
            raise RuntimeError(f"{name}(): internal error: output_size.size() must be {nsp}")
        raise RuntimeError(f"{name}: output_size must be {nsp}")
    spatial = (0,) * (nsp - input.ndim) + input.shape[-nsp:]    # (a low-rank input fails later)
    return tuple(int(n if o is None else o) for o, n in zip(sizes, spatial))


def _adaptive_rank(input, nsp, name):
    if input.ndim not in (nsp + 1, nsp + 2):
        if nsp == 1:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{name})")
        sep = ": " if "max" in name else " "
        raise RuntimeError(f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got"
                           f"{sep}{list(input.shape)}")


def _adaptive_nonempty(shape, dims, name):
    for i in dims:
        if not shape[i]:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(shape)} with dimension "
                               f"{i % len(shape)} being empty")


def _adaptive_avg(input, nsp, output_size):
    name = f"adaptive_avg_pool{nsp}d"
    sizes = _adaptive_sizes(input, nsp, output_size, name)
    # torch's 1-d pool is its 2-d one of input.unsqueeze(-2), to size (1, output_size)
    kernel, ksizes = (name, sizes) if nsp > 1 else ("adaptive_avg_pool2d", (1,) + sizes)
    if any(s < 0 for s in sizes):
        shown = ", ".join(map(str, ksizes[:2])) + "".join(f",{v}" for v in ksizes[2:])
        raise RuntimeError(f"{kernel}: elements of output_size must be greater than or equal to "
                           f"0 but received {{{shown}}}")
    if all(o == 1 for o in sizes):
        # torch's adaptive_avg_pool2d/3d to size 1: input.mean(spatial dims, keepdim=True)
        dims = tuple(range(-1, -max(nsp, 2) - 1, -1))
        if nsp == 1:
            return input.unsqueeze(-2).mean(dims, keepdim=True).squeeze(-2)
        return lay_out(input.mean(dims, keepdim=True), input)
    shape = input.shape if nsp > 1 else input.shape[:-1] + (1,) + input.shape[-1:]
    if nsp == 3:                        # the 3-d kernel checks the sizes before the rank
        _adaptive_nonempty(shape, range(1, len(shape)), kernel)
    _adaptive_rank(input, nsp, name)
    _adaptive_nonempty(shape, (-2, -1), kernel)
    if input.is_quantized:
        from ..ops._quantized_nn import adaptive_avg_pool
        return adaptive_avg_pool(input, sizes)
    float_only(input, "adaptive_avg_pool3d_cpu" if nsp == 3 else "adaptive_avg_pool2d")
    taps = [adaptive_taps(n, o) for n, o in zip(input.shape[-nsp:], sizes)]
    node = f"AdaptiveAvgPool{max(nsp, 2)}DBackward0"
    o = _AVG.get(node)
    if o is None:
        o = _AVG[node] = op("adaptive_avg_" + node, saves=None, node=node)(
            _window_mean).vjp(_resample_bwd)
    if nsp == 1:
        return apply(o, (input.unsqueeze(-2),), ((None,) + tuple(taps), True)).squeeze(-2)
    if nsp == 3:        # (torch's 3-d kernel returns a contiguous result)
        return apply(o, (input,), (tuple(taps), False))
    return lay_out(apply(o, (input,), (tuple(taps), True)), input)


_AVG = {}


def _window_mean(xp, x, taps, opmath):
    """Each window's sum, its taps added in row-major order, then divided by its extent in each
    dim in turn (torch's sum / kh / kw); float16/bfloat16 with `opmath` (torch's 1-d and 2-d
    kernels) in float32, rounded once, else (the 3-d kernel's) rounded at each step."""
    low = x.dtype if opmath and x.dtype.itemsize == 2 and x.dtype.kind in "fV" else None
    if low is not None:
        x = x.astype(np.float32)
    lead = x.ndim - len(taps)
    dims = [(lead + d, t) for d, t in enumerate(taps) if t is not None]
    counts = [(t.wts > 0).sum(axis=1) for _, t in dims]
    shape = list(x.shape)
    for axis, t in dims:
        shape[axis] = t.idx.shape[0]
    y = _taps_sum(xp, x, dims, counts, shape)
    for (axis, _), c in zip(dims, counts):
        cshape = [1] * x.ndim
        cshape[axis] = c.size
        y /= xp.asarray(c.astype(x.dtype).reshape(cshape))
    return (y if low is None else y.astype(low)), (taps,)


def _taps_sum(xp, x, dims, counts, shape):
    """Each window's sum, tap by tap in row-major order, over all windows at once."""
    y = xp.zeros(shape, x.dtype)
    for offs in itertools.product(*(range(t.idx.shape[1]) for _, t in dims)):
        v, valid = x, None
        for (axis, t), k, c in zip(dims, offs, counts):
            o, width = t.idx.shape
            if t.n_in == o * width:         # equal windows side by side: a strided view
                v = v[(slice(None),) * axis + (slice(k, None, width),)]
                continue
            v = xp.take(v, xp.asarray(t.idx[:, k]), axis=axis)
            if (c <= k).any():              # some windows are narrower: mask their taps
                vshape = [1] * x.ndim
                vshape[axis] = o
                ok = (k < c).reshape(vshape)
                valid = ok if valid is None else valid & ok
        y += v if valid is None else xp.where(xp.asarray(valid), v, 0)
    return y


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(input, 1, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(input, 2, output_size)


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg(input, 3, output_size)


def _window_index(n, o):
    """Per output i: indices start..end-1 of its window, padded by repeating the last one."""
    start = (np.arange(o) * n) // o
    end = -((-(np.arange(o) + 1) * n) // o)
    width = int((end - start).max()) if o else 0
    idx = start[:, None] + np.arange(width)[None, :]
    return np.minimum(idx, end[:, None] - 1)


def _adaptive_max(xp, x, sizes):
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    nsp = len(spatial)
    if not all(sizes):                  # an empty output: no windows to take a max of
        flat = xp.zeros((n, c) + tuple(sizes), np.int64)
        return (xp.zeros((n, c) + tuple(sizes), x.dtype), flat), (flat, x.shape)
    idx = [_window_index(s, o) for s, o in zip(spatial, sizes)]
    # gather (N, C, o1, w1, o2, w2, ...) with broadcast index arrays, then put windows last
    index = []
    for d, a in enumerate(idx):
        shape = [1] * (2 * nsp)
        shape[2 * d], shape[2 * d + 1] = a.shape
        index.append(xp.asarray(a.reshape(shape)))
    g = x[(slice(None), slice(None)) + tuple(index)]
    perm = (0, 1) + tuple(range(2, 2 + 2 * nsp, 2)) + tuple(range(3, 3 + 2 * nsp, 2))
    g = g.transpose(perm).reshape((n, c) + tuple(sizes) + (math.prod(a.shape[1] for a in idx),))
    local = _nan_argmax(xp, g)
    y = xp.take_along_axis(g, local[..., None], -1)[..., 0]
    flat = _window_flat(xp, local, idx, spatial)
    return (y, flat), (flat, x.shape)


def _nan_argmax(xp, g):
    """argmax of the last axis; a NaN wins (its last occurrence), as in torch."""
    if g.dtype.kind != "f":
        return xp.argmax(g, axis=-1)
    nan = xp.isnan(g)
    last_nan = g.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
    return xp.where(nan.any(-1), last_nan, xp.argmax(g, axis=-1))


def _window_flat(xp, local, idx, spatial):
    """Window-local argmax -> flat index into the input's spatial dims."""
    widths = [a.shape[1] for a in idx]
    nsp = len(spatial)
    rest = local
    flat = 0
    scale = 1
    for d in reversed(range(nsp)):
        kd = rest % widths[d]
        rest = rest // widths[d]
        shape = [1] * (nsp + 2)
        shape[2 + d] = idx[d].shape[0]
        table = xp.asarray(idx[d])                       # (o, width)
        rows = xp.arange(idx[d].shape[0]).reshape(shape)
        flat = flat + table[rows, kd] * scale
        scale *= spatial[d]
    return flat


def _adaptive_max_bwd(xp, g, flat, shape):
    return (_scatter_planes(xp, g[0], flat, shape),)


_ADAPTIVE_MAX = {n: op(f"adaptive_max_pool{n}d", saves=None, n_out=2,
                       node=f"AdaptiveMaxPool{n}DBackward0")(_adaptive_max).vjp(_adaptive_max_bwd)
                 for n in (2, 3)}


def _scatter_planes(xp, vals, flat, shape):
    """Accumulate vals (N, C, *) into zeros(shape) at per-plane flat spatial indices."""
    n, c = shape[:2]
    plane = math.prod(shape[2:])
    where = (flat.reshape(n, c, flat.size // max(n * c, 1)) + (xp.arange(n * c) * plane).reshape(
        n, c, 1)).ravel()
    out = xp.bincount(where, weights=vals.reshape(-1).astype(np.float64),
                      minlength=n * c * plane)
    return out.astype(vals.dtype).reshape(shape)


def _adaptive_max_pool(input, nsp, output_size, return_indices):
    name = f"adaptive_max_pool{nsp}d"
    sizes = _adaptive_sizes(input, nsp, output_size, name)
    _adaptive_rank(input, nsp, name)
    _adaptive_nonempty(input.shape, range(1, input.ndim), name)
    if any(s < 0 for s in sizes):
        out = list(input.shape[:-nsp]) + [1] * (nsp == 1) + list(sizes)
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{next(v for v in out if v < 0)}: {out}")
    float_only(input, "adaptive_max_pool3d_cpu" if nsp == 3 else "adaptive_max_pool2d")

    def run(x):
        y, idx = lay_out(apply(_ADAPTIVE_MAX[max(nsp, 2)], (x,), ((1,) * (nsp == 1) + sizes,)),
                         x)
        return (y, idx) if return_indices else y
    return _unbatched(input, nsp, run)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max_pool(input, 1, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max_pool(input, 2, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive_max_pool(input, 3, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool(input, 1, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool(input, 2, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_pool(input, 3, output_size, True)


# ---- max unpooling ----------------------------------------------------------------------------
def _unpool_fwd(xp, x, indices, size):
    n, c = x.shape[:2]
    plane = math.prod(size)
    flat = indices.reshape(n, c, math.prod(indices.shape[2:]))
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= plane):
        bad = int(flat.max()) if int(flat.max()) >= plane else int(flat.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, size))})")
    out = xp.zeros((n, c, plane), x.dtype)
    rows = xp.arange(n).reshape(n, 1, 1), xp.arange(c).reshape(1, c, 1)
    out[rows[0], rows[1], flat] = x.reshape(flat.shape)
    return out.reshape((n, c) + tuple(size)), (flat, rows, x.shape)


def _unpool_bwd(xp, g, flat, rows, shape):
    n, c = shape[:2]
    return g.reshape(n, c, math.prod(g.shape[2:]))[rows[0], rows[1], flat].reshape(shape), None


_UNPOOL = {}
for _n in (2, 3):
    _UNPOOL[_n] = op(f"max_unpool{_n}d", saves=None, node=f"MaxUnpool{_n}DBackward0")(
        _unpool_fwd).vjp(_unpool_bwd)


def _unpool_size(input, nsp, kernel_size, stride, padding, output_size):
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None else ntuple(stride, nsp, "stride")
    p = ntuple(padding, nsp, "padding")
    default = [(n - 1) * ss - 2 * pp + kk
               for n, kk, ss, pp in zip(input.shape[-nsp:], k, s, p)]
    if output_size is None:
        return tuple(default)
    if len(output_size) == nsp + 2:
        output_size = output_size[2:]      # (torch's message shows the slice, of its type)
    size = list(output_size)
    if len(size) != nsp:
        raise ValueError(f"output_size should be a sequence containing {nsp} or {nsp + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d, (v, dv, ss) in enumerate(zip(size, default, s)):
        if not dv - ss < v < dv + ss:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be '
                             f"between {dv - ss} and {dv + ss})")
    return tuple(size)


def _max_unpool(input, indices, nsp, kernel_size, stride, padding, output_size):
    size = _unpool_size(input, nsp, kernel_size, stride, padding, output_size)
    float_only(input, "max_unpool3d" if nsp == 3 else "max_unpool2d")
    if indices.arr.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{tname(indices.arr.dtype)}")
    if input.shape != indices.shape:     # (max_unpool1d runs as a 2-d one of width 1)
        extra = [1] if nsp == 1 else []
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape) + extra}) but got indices tensor with shape: "
                           f"{list(indices.shape) + extra}")
    batched = input.ndim == nsp + 2
    x = input if batched else input.unsqueeze(0)
    i = indices if batched else indices.unsqueeze(0)
    if nsp == 1:
        x, i, size = x.unsqueeze(2), i.unsqueeze(2), (1,) + size
    y = apply(_UNPOOL[max(nsp, 2)], (x, i), (size,))
    if nsp == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, 1, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size)
