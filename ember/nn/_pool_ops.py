"""Pooling: max/avg over strided windows (a loop over the kernel offsets, each step one
vectorised op over all outputs), adaptive pooling, LP pooling and max-unpooling.

1-d pooling runs as 2-d on an unsqueezed input, as torch does (its grad_fn is SqueezeBackward1)."""
import math

import numpy as np

from ..ops._apply import apply
from ..ops._registry import op
from ._conv_ops import ntuple, offsets, pad_const, windows
from ._resample_ops import adaptive_taps, resample

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" or dtype.name == "bfloat16" else np.iinfo(dtype).min


def _disjoint(ksize, stride, dilation):
    """True when no input element lies in two windows (backward may assign instead of add)."""
    return all(k == 1 or s >= d * (k - 1) + 1 for k, s, d in zip(ksize, stride, dilation))


def _grad_windows(xp, g, shape, ksize, stride, dilation, pads, pick):
    """Route g (N, C, *out) back to the input: pick(i) is the per-output weight of offset i."""
    out = g.shape[2:]
    gx = xp.zeros(shape, g.dtype)
    disjoint = _disjoint(ksize, stride, dilation)
    for i, (_, sl) in enumerate(offsets(ksize, stride, dilation, out)):
        if disjoint:
            xp.multiply(g, pick(i), out=gx[sl])
        else:
            gx[sl] += g * pick(i)
    if not any(lo or hi for lo, hi in pads):
        return gx
    return gx[(slice(None), slice(None)) + tuple(slice(lo, n - hi) for n, (lo, hi) in
                                                 zip(shape[2:], pads))]


# ---- max pooling ------------------------------------------------------------------------------
def _max_fwd(xp, x, ksize, stride, pads, dilation, out, want_indices):
    xpad = pad_const(xp, x, pads, _lowest(x.dtype))
    v = windows(xp, xpad, ksize, stride, dilation, out)
    views = [v[(slice(None), slice(None)) + k] for k, _ in offsets(ksize, stride, dilation, out)]
    idx_type = np.uint8 if len(views) < 256 else np.int64
    best, idx = views[0].copy(), xp.zeros(x.shape[:2] + out, idx_type)
    # The positions of the running maximum's strict increases grow with i, so the window's
    # first maximum is max_i(i * [v_i > max(v_0..v_i-1)]): no masked writes needed.
    for i in range(1, len(views)):
        m = xp.greater(views[i], best).astype(idx_type)
        m *= idx_type(i)
        xp.maximum(idx, m, out=idx)
        xp.maximum(best, views[i], out=best)
    if x.dtype.kind == "f":
        nan = best != best
        if nan.any():                          # torch: the window's last NaN wins
            last = xp.zeros_like(idx)
            for i in range(1, len(views)):
                xp.maximum(last, (views[i] != views[i]).astype(idx_type) * idx_type(i),
                           out=last)
            idx = xp.where(nan, last, idx)
    saved = (idx, xpad.shape, ksize, stride, pads, dilation)
    if not want_indices:
        return best, saved
    return (best, _flat_indices(xp, idx, x.shape[2:], ksize, stride, pads, dilation)), saved


def _flat_indices(xp, idx, spatial, ksize, stride, pads, dilation):
    """Local window offsets -> flat indices into the (unpadded) input's spatial dims."""
    nsp = len(ksize)
    rest = idx.astype(np.int64)
    flat = 0
    scale = 1
    for d in reversed(range(nsp)):
        kd = rest % ksize[d]
        rest = rest // ksize[d]
        shape = [1] * (nsp + 2)
        shape[2 + d] = idx.shape[2 + d]
        base = (xp.arange(idx.shape[2 + d]) * stride[d] - pads[d][0]).reshape(shape)
        flat = flat + (base + kd * dilation[d]) * scale
        scale *= spatial[d]
    return flat


def _max_bwd(xp, g, idx, shape, ksize, stride, pads, dilation):
    if isinstance(g, tuple):
        g = g[0]
    return (_grad_windows(xp, g, shape, ksize, stride, dilation, pads, lambda i: idx == i),)


_MAX = {}
for _n in (2, 3):
    for _want in (False, True):
        _MAX[_n, _want] = op(f"max_pool{_n}d" + "_with_indices" * _want, saves=None,
                             n_out=1 + _want, node=f"MaxPool{_n}DWithIndicesBackward0")(
            _max_fwd).vjp(_max_bwd)


def pool_out_size(size, k, s, p, d, ceil_mode):
    """torch's pooling_output_shape."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(x, nsp, kernel_size, stride, padding, dilation, ceil_mode):
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        ntuple(stride, nsp, "stride")
    p, d = ntuple(padding, nsp, "padding"), ntuple(dilation, nsp, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError("kernel size should be greater than zero, but got "
                           f"kernel_size={k if nsp > 1 else k[0]}")
    if any(v <= 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation={d}")
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError("pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    spatial = x.shape[2:]
    out = tuple(pool_out_size(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    if any(o < 1 for o in out):
        c = x.shape[1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + spatial))}). "
                           f"Calculated output size: ({'x'.join(map(str, (c,) + out))}). "
                           "Output size is too small")
    pads = tuple((pp, max(0, (o - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, o, kk, ss, pp, dd in zip(spatial, out, k, s, p, d))
    return k, s, pads, d, out


def _check_pool_rank(input, nsp, name):
    if input.ndim not in (nsp + 1, nsp + 2) or any(v == 0 for v in input.shape[1:]):
        if name == "max_pool1d":
            raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                               f"dim batch size for input, but got:{list(input.shape)}")
        if name.startswith("avg_pool") and nsp > 1:
            raise RuntimeError(f"Expected {nsp + 1}D or {nsp + 2}D (batch mode) tensor with "
                               f"optional 0 dim batch size for input, but got:"
                               f"{list(input.shape)}")
        if name.startswith("avg_pool"):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{name})")
        raise RuntimeError(f"non-empty {nsp + 1}D or {nsp + 2}D (batch mode) tensor expected for "
                           "input")


def _unbatched(input, nsp, fn):
    """fn on (N, C, *S); 1-d runs as 2-d; unbatched inputs get (and lose) a batch dim."""
    x = input.unsqueeze(0) if input.ndim == nsp + 1 else input
    if nsp == 1:
        x = x.unsqueeze(2)
    out = fn(x)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    if nsp == 1:
        outs = tuple(o.squeeze(2) for o in outs)
    if input.ndim == nsp + 1:
        outs = tuple(o.squeeze(0) for o in outs)
    return outs[0] if single else outs


def _max_pool(input, nsp, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_pool_rank(input, nsp, f"max_pool{nsp}d")

    def run(x):
        n = max(nsp, 2)
        k, s, pads, d, out = _pool_args(x, n, _lift(kernel_size, nsp), _lift(stride, nsp, 1),
                                        _lift(padding, nsp, 0), _lift(dilation, nsp, 1),
                                        ceil_mode)
        return apply(_MAX[n, bool(return_indices)], (x,), (k, s, pads, d, out,
                                                          bool(return_indices)))
    return _unbatched(input, nsp, run)


def _lift(v, nsp, one=None):
    """1-d pooling arguments gain a leading size-1 dim (kernel 1, stride 1, padding 0)."""
    if nsp != 1 or v is None:
        return v
    v = v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v
    if isinstance(v, (tuple, list)):
        raise RuntimeError(f"max_pool1d() argument must be a single int, got {list(v)}")
    return (1 if one is None else one, v)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return _max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---- average pooling --------------------------------------------------------------------------
def _divisor(xp, spatial, out, ksize, stride, pads, count_include_pad, dtype):
    """Per-output divisor (torch: window clipped to the padded input, or to the input)."""
    div = None
    for d, (n, o, k, s, (p, _)) in enumerate(zip(spatial, out, ksize, stride, pads)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, n) - np.maximum(start, 0)
        shape = [1] * len(out)
        shape[d] = o
        size = size.reshape(shape)
        div = size if div is None else div * size
    return xp.asarray(div.astype(dtype))


def _avg_fwd(xp, x, ksize, stride, pads, out, count_include_pad, divisor_override):
    xpad = pad_const(xp, x, pads)
    v = windows(xp, xpad, ksize, stride, (1,) * len(ksize), out)
    total = None
    for k, _ in offsets(ksize, stride, (1,) * len(ksize), out):
        vk = v[(slice(None), slice(None)) + k]
        total = vk.copy() if total is None else xp.add(total, vk, out=total)
    if divisor_override:
        div = divisor_override
    else:
        div = _divisor(xp, x.shape[2:], out, ksize, stride, pads, count_include_pad,
                       x.dtype if x.dtype.kind == "f" else np.int64)
    if x.dtype.kind in "iu":                 # torch divides integers with truncation
        y = xp.abs(total) // div * xp.sign(total)
    else:
        y = total / div
    return y, (xpad.shape, ksize, stride, pads, div)


def _avg_bwd(xp, g, shape, ksize, stride, pads, div):
    gd = g / div
    return (_grad_windows(xp, gd, shape, ksize, stride, (1,) * len(ksize), pads, lambda i: 1),)


_AVG = {}
for _n in (2, 3):
    _AVG[_n] = op(f"avg_pool{_n}d", saves=None, node=f"AvgPool{_n}DBackward0")(_avg_fwd) \
        .vjp(_avg_bwd)


def _avg_pool(input, nsp, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _check_pool_rank(input, nsp, f"avg_pool{nsp}d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")

    def run(x):
        n = max(nsp, 2)
        k, s, pads, _, out = _pool_args(x, n, _lift(kernel_size, nsp), _lift(stride, nsp, 1),
                                        _lift(padding, nsp, 0), 1, ceil_mode)
        return apply(_AVG[n], (x,), (k, s, pads, out, count_include_pad, divisor_override))
    return _unbatched(input, nsp, run)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---- LP pooling (torch's composite) -----------------------------------------------------------
def _lp_pool(input, nsp, norm_type, kernel_size, stride, ceil_mode):
    from ..ops.elementwise import abs as _abs, relu, sign
    k = ntuple(kernel_size, nsp, "kernel_size")
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nsp - 1]
    if stride is not None:
        out = pool(input.pow(norm_type), k if nsp > 1 else k[0], stride, 0, ceil_mode)
    else:
        out = pool(input.pow(norm_type), k if nsp > 1 else k[0], padding=0, ceil_mode=ceil_mode)
    return (sign(out) * relu(_abs(out))).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, 1, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, 2, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, 3, norm_type, kernel_size, stride, ceil_mode)


# ---- adaptive pooling -------------------------------------------------------------------------
def _adaptive_sizes(input, nsp, output_size, name):
    if input.ndim not in (nsp + 1, nsp + 2):
        if nsp == 1:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{name})")
        sep = ": " if "max" in name else " "
        raise RuntimeError(f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got"
                           f"{sep}{list(input.shape)}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nsp
    if len(sizes) != nsp:
        raise RuntimeError(f"{name}: output_size must be {nsp}")
    spatial = input.shape[-nsp:]
    return tuple(int(n if o is None else o) for o, n in zip(sizes, spatial))


def _adaptive_avg(input, nsp, output_size):
    name = f"adaptive_avg_pool{nsp}d"
    sizes = _adaptive_sizes(input, nsp, output_size, name)
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(sizes)}")
    taps = [adaptive_taps(n, o) for n, o in zip(input.shape[-nsp:], sizes)]
    node = f"AdaptiveAvgPool{max(nsp, 2)}DBackward0"
    if nsp == 1:
        return resample(input.unsqueeze(-2), [None] + taps, node).squeeze(-2)
    return resample(input, taps, node)


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
    idx = [_window_index(s, o) for s, o in zip(spatial, sizes)]
    # gather (N, C, o1, w1, o2, w2, ...) with broadcast index arrays, then put windows last
    index = []
    for d, a in enumerate(idx):
        shape = [1] * (2 * nsp)
        shape[2 * d], shape[2 * d + 1] = a.shape
        index.append(xp.asarray(a.reshape(shape)))
    g = x[(slice(None), slice(None)) + tuple(index)]
    perm = (0, 1) + tuple(range(2, 2 + 2 * nsp, 2)) + tuple(range(3, 3 + 2 * nsp, 2))
    g = g.transpose(perm).reshape((n, c) + tuple(sizes) + (-1,))
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
    where = (flat.reshape(n, c, -1) + (xp.arange(n * c) * plane).reshape(n, c, 1)).ravel()
    out = xp.bincount(where, weights=vals.reshape(-1).astype(np.float64),
                      minlength=n * c * plane)
    return out.astype(vals.dtype).reshape(shape)


def _adaptive_max_pool(input, nsp, output_size, return_indices):
    name = f"adaptive_max_pool{nsp}d"
    sizes = _adaptive_sizes(input, nsp, output_size, name)
    if any(s <= 0 for s in sizes) and any(v == 0 for v in input.shape[-nsp:]):
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)}")

    def run(x):
        y, idx = apply(_ADAPTIVE_MAX[max(nsp, 2)], (x,), ((1,) * (nsp == 1) + sizes,))
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
    flat = indices.reshape(n, c, -1)
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= plane):
        bad = int(flat.max()) if int(flat.max()) >= plane else int(flat.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, size))})")
    out = xp.zeros((n, c, plane), x.dtype)
    rows = xp.arange(n).reshape(n, 1, 1), xp.arange(c).reshape(1, c, 1)
    out[rows[0], rows[1], flat] = x.reshape(n, c, -1)
    return out.reshape((n, c) + tuple(size)), (flat, rows, x.shape)


def _unpool_bwd(xp, g, flat, rows, shape):
    n, c = shape[:2]
    return g.reshape(n, c, -1)[rows[0], rows[1], flat].reshape(shape), None


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
    size = list(output_size)
    if len(size) == nsp + 2:
        size = size[2:]
    elif len(size) == nsp + 1:
        size = size[1:]
    if len(size) != nsp:
        raise ValueError(f"output_size should be a sequence containing {nsp} or {nsp + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d, (v, dv, ss) in enumerate(zip(size, default, s)):
        if not dv - ss < v < dv + ss:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {dv - ss} and {dv + ss})")
    return tuple(size)


def _max_unpool(input, indices, nsp, kernel_size, stride, padding, output_size):
    size = _unpool_size(input, nsp, kernel_size, stride, padding, output_size)
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
