"""Separable resampling: interpolate (nearest, linear, bicubic), adaptive average pooling and the
non-constant paddings are all "per spatial dim, output i = sum_t w[i, t] * input[idx[i, t]]".
One primitive applies such taps dim by dim; its vjp applies the transposed taps (built once on
the host), so forward and backward are gathers (xp.take) plus a few multiply-adds, or one matmul
when the taps are wide (global pooling). Also F.pad, pixel_shuffle, pixel_unshuffle and
channel_shuffle."""
import itertools
import math

import numpy as np

from ._warn import warn_caller
from .._memory_format import channels_last, channels_last_3d, lay_out
from .._tensor import Tensor
from ..ops import shape as _S
from ..ops._apply import apply, tensor_ndim
from ..ops.creation import _fill_value as fill_value
from ..ops._fma import fma_exact
from ..ops._registry import op
from .._dtype import FEW_KERNELS
from .._torch_function import dispatched
from .._kernel_dtypes import is_float, not_implemented
from ..amp.autocast import fp32_arg

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pad",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]

_DENSE = 4          # wider taps than this run as one matmul with a dense (out, in) matrix


class Taps:
    """Output i of a dim reads inputs idx[i, :] with weights wts[i, :] (None: all ones).
    `from_zero`: its sums start from +0.0, as torch's backward kernels accumulate (a zero
    weight times a negative g gives no -0.0)."""
    __slots__ = ("idx", "wts", "n_in", "_t", "_dense", "from_zero", "fused", "in_order", "count",
                 "joint")

    def __init__(self, idx, wts, n_in):
        self.idx, self.wts, self.n_in = np.asarray(idx, np.int64), wts, n_in
        self._t = self._dense = None
        self.from_zero = False
        # torch's generic interpolation kernel: fma(t0, w0, t1 * w1), then each further tap
        # fused into the sum (fma(t2, w2, ...))
        self.fused = False
        # torch's antialiased kernels: each output sums its first `count` taps in order (see
        # _apply_in_order)
        self.in_order, self.count = False, None
        # the other dims' taps of torch's channels-last linear kernel, which this (last) dim's
        # forward applies together with its own (see _linear_joint)
        self.joint = None

    def dense(self):
        if self._dense is None:
            o, width = self.idx.shape
            m = np.zeros((o, self.n_in))
            rows = np.repeat(np.arange(o), width)
            w = np.ones(o * width) if self.wts is None else self.wts.ravel()
            np.add.at(m, (rows, self.idx.ravel()), w)
            self._dense = m
        return self._dense

    def transposed(self):
        """The adjoint map (input i collects from the outputs that read it)."""
        if self._t is None:
            self._t = _transpose(self)
        return self._t

    def apply(self, xp, x, axis):
        y = self._apply(xp, x, axis)
        return xp.add(y, 0, out=y) if self.from_zero else y

    def _apply(self, xp, x, axis):
        o, width = self.idx.shape
        if self.in_order and xp is np and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            return self._apply_in_order(x, axis)
        if self._dense is not None or width > _DENSE:
            m = xp.asarray(self.dense().astype(x.dtype))
            y = xp.matmul(xp.moveaxis(x, axis, -1), m.T)
            return xp.moveaxis(y, -1, axis)
        if width == 0:
            shape = list(x.shape)
            shape[axis] = o
            return xp.zeros(shape, x.dtype)
        idx = xp.asarray(self.idx)
        wshape = [1] * x.ndim
        wshape[axis] = o
        if self.fused and width >= 2 and xp is np and self.wts is not None and \
                x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            return self._apply_fused(xp, x, axis, idx, wshape)
        y = None
        for t in range(width):
            v = xp.take(x, idx[:, t], axis=axis)
            if self.wts is not None:
                v *= xp.asarray(self.wts[:, t].astype(x.dtype)).reshape(wshape)
            y = v if y is None else xp.add(y, v, out=y)
        return y

    def _apply_fused(self, xp, x, axis, idx, wshape):
        dt = x.dtype

        def tap(t):
            return xp.take(x, idx[:, t], axis=axis), self.wts[:, t].astype(dt).reshape(wshape)
        (v0, w0), (v1, w1) = tap(0), tap(1)
        y = fma_exact(xp, v0, w0, v1 * w1, dt)
        for t in range(2, idx.shape[1]):
            v, w = tap(t)
            y = fma_exact(xp, v, w, y, dt)
        return y

    def _apply_in_order(self, x, axis):
        """torch's `out = x0 * w0; for j in 1..count-1: out += xj * wj`, as its AVX2 build
        compiles it: the first (count - 1) // L * L additions (L: the taps one 16-byte vector
        holds, 4 float32 or 2 float64) round the product and the sum apart, the rest are fused
        (fma). Bit-exact in float32 and float64 (checked against its outputs)."""
        dt = x.dtype
        o, width = self.idx.shape
        wshape = [1] * x.ndim
        wshape[axis] = o
        count = self.count
        lanes = 16 // dt.itemsize
        first_fused = 1 + (count - 1) // lanes * lanes
        wts = self.wts.astype(dt)
        y = np.take(x, self.idx[:, 0], axis=axis)
        y *= wts[:, 0].reshape(wshape)
        for j in range(1, width):
            plain, fused = j < first_fused, (j >= first_fused) & (j < count)
            if not (plain.any() or fused.any()):
                continue
            v, w = np.take(x, self.idx[:, j], axis=axis), wts[:, j].reshape(wshape)
            f = fma_exact(np, v, w, y, dt) if fused.any() else None
            v *= w
            if plain.all():
                y += v
            elif f is None:
                y = np.where(plain.reshape(wshape), y + v, y)
            else:
                y = np.where(plain.reshape(wshape), y + v,
                             np.where(fused.reshape(wshape), f, y)).astype(dt, copy=False)
        return y


def _transpose(taps):
    o, width = taps.idx.shape
    if width > _DENSE:
        t = Taps(np.zeros((taps.n_in, 0), np.int64), None, o)
        t._dense = taps.dense().T
        t.from_zero = True
        return t
    rows = np.repeat(np.arange(o), width)
    cols = taps.idx.ravel()
    w = np.ones(o * width) if taps.wts is None else taps.wts.ravel()
    order = np.argsort(cols, kind="stable")
    rows, cols, w = rows[order], cols[order], w[order]
    counts = np.bincount(cols, minlength=taps.n_in)
    r = int(counts.max()) if counts.size else 0
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    pos = np.arange(cols.size) - start[cols]
    tidx = np.zeros((taps.n_in, r), np.int64)
    twts = np.zeros((taps.n_in, r), w.dtype)
    tidx[cols, pos], twts[cols, pos] = rows, w
    uniform = taps.wts is None and (counts == r).all()
    t = Taps(tidx, None if uniform else twts, o)
    t.from_zero = not uniform
    return t


def _resample_fwd(xp, x, taps, opmath=False):
    lead = x.ndim - len(taps)
    low = x.dtype if opmath and x.dtype.itemsize == 2 and x.dtype.kind in "fV" else None
    if low is not None:     # float16/bfloat16 interpolation in float32, rounded once (torch's)
        x = x.astype(np.float32)
    d = len(taps) - 1
    while d >= 0:       # the last dim first, as torch's kernels nest
        t = taps[d]
        if t is not None and t.joint is not None and xp is np and x.dtype.itemsize >= 4:
            x = _linear_joint(x, t.joint + (t,), 32 // (low or x.dtype).itemsize)
            d -= len(t.joint)
        elif t is not None:
            x = t.apply(xp, x, lead + d)
        d -= 1
    return (x if low is None else x.astype(low)), (taps,)


def _two_taps(t):
    """(indices (o, 2), weights (o, 2)) of linear taps; a copied dim reads (i, i) at (1, 0)."""
    if t.wts is not None:
        return t.idx, t.wts
    o = t.idx.shape[0]
    return np.concatenate([t.idx, t.idx], 1), np.stack([np.ones(o), np.zeros(o)], 1)


# outputs per block of _linear_joint: a block's float64 temporaries stay in the cache
_JOINT_BLOCK = 1 << 16


def _linear_joint(x, taps, lanes):
    """torch's cpu_upsample_linear_channels_last (its bilinear kernel for channels-last inputs
    of more than 3 channels and for outputs of height + width <= 128, its trilinear one for
    channels-last inputs of more than 3 channels): each output sums x_k w_k over the 2**d
    corners k (w_k: the product of the corner's per-dim weights, rounded left to right), its
    vector loop as fma(x_0, w_0, fma(x_1, w_1, ... fma(x_last, w_last, x_prev w_prev))) over the
    channels that fill whole 32-byte vectors of the input's dtype (`lanes` of them), its scalar
    tail as fma(x_last, w_last, ... fma(x_2, w_2, fma(x_0, w_0, x_1 w_1))) over the rest
    (checked bit for bit against its outputs)."""
    dt = x.dtype
    nsp = len(taps)
    idx, wts = [], []
    for d, t in enumerate(taps):
        i, w = _two_taps(t)
        shape = [1] * nsp
        shape[d] = -1
        idx.append([i[:, p].reshape(shape) for p in (0, 1)])
        wts.append([w[:, p].astype(dt).reshape(shape) for p in (0, 1)])
    corners = list(itertools.product((0, 1), repeat=nsp))
    strides = [math.prod(x.shape[3 + d:]) for d in range(nsp)]
    flat, ws = [], []
    for k in corners:
        i, w = idx[0][k[0]] * strides[0], wts[0][k[0]]
        for d in range(1, nsp):
            i, w = i + idx[d][k[d]] * strides[d], w * wts[d][k[d]]
        flat.append(i.ravel())
        ws.append(w.ravel())
    n, c = x.shape[:2]
    osz = tuple(len(t.idx) for t in taps)
    rows = x.reshape(n * c, math.prod(x.shape[2:]))
    out = np.empty((n * c, math.prod(osz)), dt)
    vec = c - c % lanes
    if vec in (0, c):
        segments = [(0, n * c, vec == c)]
    else:
        segments = [(b * c + lo, b * c + hi, v) for b in range(n)
                    for lo, hi, v in ((0, vec, True), (vec, c, False))]
    per = max(1, _JOINT_BLOCK // math.prod(osz))
    for lo, hi, vector in segments:
        for a in range(lo, hi, per):
            b = min(a + per, hi)
            xs = [np.take(rows[a:b], k, axis=1) for k in flat]
            order = range(len(xs) - 1, -1, -1) if vector else range(len(xs))
            first, second, *rest = order
            r = fma_exact(np, xs[first], ws[first], xs[second] * ws[second], dt)
            for k in rest:
                r = fma_exact(np, xs[k], ws[k], r, dt)
            out[a:b] = r
    return out.reshape((n, c) + osz)


def _resample_bwd(xp, g, taps):
    lead = g.ndim - len(taps)
    for d in reversed(range(len(taps))):
        if taps[d] is not None:
            g = taps[d].transposed().apply(xp, g, lead + d)
    return (g,)


_RESAMPLE = {}


def resample(input, taps, node, opmath=False):
    """Apply per-dim taps to the trailing len(taps) dims (None: dim unchanged); `opmath`:
    float16/bfloat16 inputs are weighted and summed in float32 and rounded once."""
    o = _RESAMPLE.get(node)
    if o is None:
        o = _RESAMPLE[node] = op("resample_" + node, saves=None, node=node)(
            _resample_fwd).vjp(_resample_bwd)
    return lay_out(apply(o, (input,), (tuple(taps), opmath)), input)


# ---- taps for each mode -----------------------------------------------------------------------
def adaptive_taps(n, o):
    """torch's adaptive windows [floor(i*n/o), ceil((i+1)*n/o)), each averaged."""
    i = np.arange(o)
    start, end = (i * n) // o, -((-(i + 1) * n) // o)
    width = int((end - start).max()) if o else 0
    idx = start[:, None] + np.arange(width)[None, :]
    valid = idx < end[:, None]
    wts = np.where(valid, 1.0 / (end - start)[:, None], 0.0)
    return Taps(np.where(valid, idx, start[:, None]), wts, n)


def _scale(n, o, align_corners, scale, ft):
    """torch's area_pixel_compute_scale, in the op's math type."""
    if align_corners:
        return ft(n - 1) / ft(o - 1) if o > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n) / ft(o)


def _nearest_taps(n, o, scale, exact):
    i = np.arange(o)
    if not exact and o == n:
        src = i
    elif not exact and o == 2 * n:
        src = i >> 1
    else:
        s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
            np.float32(n) / np.float32(o)
        pos = ((i + 0.5) * np.float64(s)).astype(np.float32) if exact else \
            i.astype(np.float32) * s
        src = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    return Taps(src[:, None], None, n)


def _source_index(s, i, ft):
    """torch's area_pixel_compute_source_index, s * (i + 0.5) - 0.5, which its AVX2/AVX512
    builds contract into one fused multiply-add (float32: exact through float64)."""
    return fma_exact(np, ft(s), i.astype(ft) + ft(0.5), ft(-0.5), np.dtype(ft)).astype(ft)


def _floorf_index(src, n):
    """torch's guard_index_and_lambda: min(floorf(src), n - 1), floorf in float32 also for a
    float64 src (30.999999999999996 reads input 31 at weight 1)."""
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n - 1)


def _linear_taps(n, o, align_corners, scale, ft):
    i = np.arange(o)
    if o == n:
        return Taps(i[:, None], None, n)
    s = _scale(n, o, align_corners, scale, ft)
    if align_corners:
        src = s * i.astype(ft)
    else:
        src = np.maximum(_source_index(s, i, ft), ft(0))
    i0 = _floorf_index(src, n)
    lam1 = np.clip(src - i0.astype(ft), ft(0), ft(1)).astype(ft)
    i1 = i0 + (i0 < n - 1)
    return Taps(np.stack([i0, i1], 1), np.stack([ft(1) - lam1, lam1], 1), n)


def _cubic_taps(n, o, align_corners, scale, ft):
    i = np.arange(o)
    s = _scale(n, o, align_corners, scale, ft)
    src = s * i.astype(ft) if align_corners else _source_index(s, i, ft)
    i0 = _floorf_index(src, n)
    t = np.clip(src - i0.astype(ft), ft(0), ft(1)).astype(ft)
    a = -0.75
    x2 = ft(1) - t
    wts = np.stack([_keys2(t + ft(1), a, ft, False), _keys1(t, a, ft, False),
                    _keys1(x2, a, ft, False), _keys2(x2 + ft(1), a, ft, False)], 1)
    idx = np.clip(i0[:, None] - 1 + np.arange(4)[None, :], 0, n - 1)
    return Taps(idx, wts, n)


def _fma(p, q, r, ft):
    return fma_exact(np, ft(p), q, ft(r), np.dtype(ft)).astype(ft)


def _keys1(x, a, ft, last):
    """Keys' cubic filter on |x| < 1, ((a + 2) x - (a + 3)) x x + 1, with the multiply-adds
    fused as torch's AVX2 build compiles cubic_convolution1: the last one only in the
    antialiased kernels' filter (`last`), not where bicubic's coefficients inline it."""
    p = _fma(a + 2, x, -(a + 3), ft) * x
    return _fma(p, x, 1, ft) if last else p * x + ft(1)


def _keys2(x, a, ft, last):
    """... and on 1 <= |x| < 2, ((a x - 5 a) x + 8 a) x - 4 a (cubic_convolution2)."""
    p = _fma(_fma(a, x, -5 * a, ft), x, 8 * a, ft)
    return _fma(p, x, -4 * a, ft) if last else p * x - ft(4 * a)


def _aa_weights(n, o, align_corners, scale, cubic, ft):
    """torch's antialiased weights for one dim (_compute_indices_min_size_weights_aa), in its
    mixed float/double arithmetic: a triangle (bilinear) or Keys a=-0.5 cubic filter, widened by
    the downsampling factor, centred at scale * (i + 0.5) and normalised per output. align_corners
    only changes the scale. Returns (first input index (o,), weights (o, k), taps used (o,))."""
    s = _scale(n, o, align_corners, scale, ft)
    support = ft((2.0 if cubic else 1.0) * (float(s) if s >= 1 else 1.0))
    k = math.ceil(support) * 2 + 1
    invscale = ft(1.0 / float(s)) if s >= 1 else ft(1)
    f64 = np.float64
    center = (f64(s) * (np.arange(o) + 0.5)).astype(ft)
    xmin = np.maximum(np.trunc(f64(center - support) + 0.5), 0).astype(np.int64)
    xsize = np.clip(np.minimum(np.trunc(f64(center + support) + 0.5), n) - xmin, 0, k)
    j = np.arange(k)
    x = ((xmin[:, None] + j).astype(ft) - center[:, None]).astype(f64)
    x = np.abs((x + 0.5) * f64(invscale)).astype(ft)
    if cubic:
        w = np.where(x < 1, _keys1(x, -0.5, ft, True),
                     np.where(x < 2, _keys2(x, -0.5, ft, True), 0))
    else:
        w = np.where(x < 1, ft(1) - x, 0)
    w = np.where(j < xsize[:, None], w, 0).astype(ft)
    total = np.cumsum(w, axis=1, dtype=ft)[:, -1:]
    return xmin, np.where(total != 0, w / np.where(total != 0, total, 1), w).astype(ft), xsize


def _aa_taps(n, o, align_corners, scale, cubic, ft):
    if n == o and (align_corners or scale is None or scale == 1):
        return None     # torch copies a dim whose size does not change
    xmin, w, count = _aa_weights(n, o, align_corners, scale, cubic, ft)
    taps = Taps(np.minimum(xmin[:, None] + np.arange(w.shape[1]), n - 1), w, n)
    taps.in_order, taps.count = True, count.astype(np.int64)
    if n == o:          # ... but its backward still applies the (scale_factor) weights
        return _with_backward(Taps(np.arange(n)[:, None], None, n), taps)
    return taps


def _with_backward(fwd, real):
    """Taps that apply `fwd` but whose backward is that of `real` (torch's aa forward and
    backward kernels disagree in two corner cases)."""
    fwd._t = real.transposed()
    return fwd


# ---- interpolate ------------------------------------------------------------------------------
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _interp_sizes(input, size, scale_factor, recompute_scale_factor):
    nsp = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        if isinstance(size, (list, tuple)):
            if len(size) != nsp:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size "
                    f"of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    "and output size in (o1, o2, ...,oK) format.")
            return tuple(int(s) for s in size), (None,) * nsp
        return (int(size),) * nsp, (None,) * nsp
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != nsp:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of "
                f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                "format and scale_factor in (s1, s2, ...,sK) format.")
        scales = tuple(float(s) for s in scale_factor)
    else:
        scales = (float(scale_factor),) * nsp
    sizes = tuple(int(math.floor(float(n) * s)) for n, s in zip(input.shape[2:], scales))
    return sizes, ((None,) * nsp if recompute_scale_factor else scales)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate (nearest, nearest-exact, (bi/tri)linear, bicubic, area;
    antialiased bilinear and bicubic)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _interp_sizes(input, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode not in _MODES or input.ndim not in (3, 4, 5) or mode == "bicubic" and input.ndim != 4:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if mode in _RANK and input.ndim != _RANK[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_RANK[mode]}D input")
    if mode == "area":                  # torch's adaptive_avg_pool, with its own checks
        from ._adaptive_pool_ops import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                                         adaptive_avg_pool3d)
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[len(sizes) - 1](
            input, sizes)
    spatial = input.shape[2:]
    if any(o <= 0 for o in sizes) or any(n <= 0 for n in spatial):
        dims = "DHW"[-len(spatial):] if len(spatial) > 1 else "W"
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{d}: {n}" for d, n in zip(dims, spatial))
            + (") and output (" if len(spatial) == 1 else ") output (")    # (torch's wording)
            + ", ".join(f"{d}: {o}" for d, o in zip(dims, sizes)) + ")")
    if not input.shape[1]:      # (an empty batch of non-empty samples is fine)
        raise RuntimeError(f"Non-empty {input.ndim}D data tensor expected but got a tensor "
                           f"with sizes {list(input.shape)}")
    if antialias:
        return _interpolate_aa(input, sizes, scales, align_corners, mode == "bicubic")
    if input.is_quantized:
        from ..ops._quantized_nn import interpolate as quantized_interpolate
        return quantized_interpolate(input, mode, sizes, scales, align_corners)
    if mode != "area":
        _check_interp_dtype(input, mode, sizes)
        if input.arr.dtype == np.uint8 and mode in ("bilinear", "bicubic"):
            return _resize_uint8(input, sizes, scales, align_corners, mode == "bicubic")
    ft = np.float64 if input.dtype.itemsize == 8 else np.float32
    taps = []
    for n, o, s in zip(spatial, sizes, scales):
        if mode in ("nearest", "nearest-exact"):
            taps.append(_nearest_taps(n, o, s, mode == "nearest-exact"))
        else:
            taps.append((_cubic_taps if mode == "bicubic" else _linear_taps)(
                n, o, align_corners, s, ft))
            taps[-1].fused = True       # each dim's taps summed as torch's generic kernel does
    if mode == "bilinear" and (sum(sizes) <= 128 or input.shape[1] > 3 and
                               input.is_contiguous(memory_format=channels_last)) or \
            mode == "trilinear" and input.shape[1] > 3 and \
            input.is_contiguous(memory_format=channels_last_3d):
        taps[-1].joint = tuple(taps[:-1])
    elif input.dtype.itemsize == 2 and mode not in ("nearest", "nearest-exact"):
        for t in taps:
            _weights_in(t, input.arr.dtype, mode == "bicubic")
    return resample(input, taps, _node_name(mode, len(sizes)),
                    mode not in ("nearest", "nearest-exact"))


def _weights_in(taps, dt, cubic):
    """The weights of torch's generic kernel for a float16/bfloat16 input, held in that dtype:
    each cubic coefficient rounded to it, linear's lambda1 rounded and lambda0 = 1 - lambda1
    rounded (its sums run in float32). Its channels-last kernel keeps float32 weights."""
    if taps.wts is None:
        return
    if cubic:
        taps.wts = taps.wts.astype(dt).astype(np.float32)
        return
    w1 = taps.wts[:, 1].astype(dt).astype(np.float32)
    taps.wts = np.stack([(np.float32(1) - w1).astype(dt).astype(np.float32), w1], 1)


def _interpolate_aa(input, sizes, scales, align_corners, cubic):
    """torch's _upsample_bilinear2d_aa / _upsample_bicubic2d_aa (float32, float64 and uint8)."""
    dt = input.arr.dtype
    if dt == np.uint8:
        return _resize_uint8(input, sizes, scales, align_corners, cubic, antialias=True)
    if dt not in (np.float32, np.float64):
        raise not_implemented("compute_index_ranges_weights", dt)
    ft = dt.type
    taps = [_aa_taps(n, o, align_corners, s, cubic, ft)
            for n, o, s in zip(input.shape[2:], sizes, scales)]
    if sizes[1] == 1 and taps[0] is not None and input.is_contiguous():
        # torch's vertical pass, when the width is 1, applies the taps of the first output row
        # to every row; its backward uses the real ones
        t = taps[0]
        first = Taps(np.repeat(t.idx[:1], sizes[0], 0), np.repeat(t.wts[:1], sizes[0], 0), t.n_in)
        first.in_order, first.count = True, np.repeat(t.count[:1], sizes[0])
        taps[0] = _with_backward(first, t)
    return resample(input, taps, f"Upsample{'Bicubic' if cubic else 'Bilinear'}2DAaBackward0")


def _check_interp_dtype(input, mode, sizes):
    """torch's upsample kernels take floats, and uint8 for nearest, bilinear and bicubic (no
    complex); the dispatch error names the kernel torch picks (a channels-last one for small
    2-d outputs)."""
    dt = input.arr.dtype
    if is_float(dt) or (dt == np.uint8 and mode not in ("linear", "trilinear")):
        return
    small = len(sizes) == 2 and sum(sizes) <= 128
    if mode in ("nearest", "nearest-exact"):
        kernel = "upsample_nearest2d_channels_last" if small else "compute_indices_weights_nearest"
    elif mode == "bicubic":
        kernel = "compute_indices_weights_cubic"
    elif mode == "bilinear" and (small or (_num_threads() == 1 and input.shape[1] == 3)):
        kernel = "upsample_bilinear2d_channels_last"
    else:
        kernel = "compute_indices_weights_linear"
    raise not_implemented(kernel, dt)


def _num_threads():
    from .._threads import get_num_threads
    return get_num_threads()


def _uint8_taps(n, o, align_corners, scale, cubic, antialias=False):
    """One dim of torch's uint8 bilinear/bicubic path: float64 weights (taps falling outside the
    input folded onto the edge ones; or the antialiased ones) rounded to int16 at the largest
    precision that keeps the biggest weight below 2**15. Returns (gather indices (o, k), int
    weights (o, k), precision)."""
    if antialias:
        imin, w, _ = _aa_weights(n, o, align_corners, scale, cubic, np.float64)
        return _int16_weights(np.minimum(imin[:, None] + np.arange(w.shape[1]), n - 1), w)
    if align_corners:
        s = (n - 1) / (o - 1) if o > 1 else 0.0
    elif scale is not None and scale > 0:
        s = 1.0 / scale
    else:
        s = n / o
    size = 4 if cubic else 2
    support = size // 2
    i = np.arange(o, dtype=np.float64)
    real = s * i if align_corners else s * (i + 0.5) - 0.5
    if not cubic and not align_corners:
        real = np.maximum(real, 0.0)
    idx = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n - 1)
    lam = np.clip(real - idx, 0.0, 1.0)
    umin = idx - support + 1
    imin = np.maximum(umin, 0)
    isize = np.clip(np.minimum(idx + support + 1, n) - imin, 0, size)
    if cubic:
        a = -0.75

        def filt(x):
            x = np.abs(x)
            return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                            np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    else:
        def filt(x):
            return np.maximum(0.0, 1.0 - np.abs(x))
    w = np.zeros((o, size))
    rows = np.arange(o)
    widx = np.zeros(o, np.int64)
    for j in range(size):
        widx = np.where(umin + j <= 0, 0, np.where(umin + j >= n - 1, isize - 1, widx))
        np.add.at(w, (rows, widx), filt(j + 1 - support - lam))
        widx = widx + 1
    k = np.arange(size)
    return _int16_weights(np.minimum(imin[:, None] + k, n - 1), w, k < isize[:, None])


def _int16_weights(idx, w, valid=True):
    wmax = w.max() if w.size else 0.0
    prec = 0
    while prec < 22 and int(0.5 + wmax * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    v = w * (1 << prec)
    wi = np.where(valid, np.trunc(v + np.where(v < 0, -0.5, 0.5)), 0)
    return idx, wi.astype(np.int64), prec


def _resize_uint8(input, sizes, scales, align_corners, cubic, antialias=False):
    """torch's uint8 bilinear/bicubic resize: separable integer passes, width first, each one
    sum(x * w) + 2**(p-1) shifted down by p and clamped to [0, 255] (uint8 cannot require
    grad, so there is no backward)."""
    from .._tensor import _new
    x = orig = input.be.to_host(input.arr)
    nd = len(sizes)
    channels = x.shape[1]
    for d in [nd - 1] + list(range(nd - 2, -1, -1)):
        axis = x.ndim - nd + d
        n, o = x.shape[axis], sizes[d]
        if n == o:
            continue
        g, w, prec = _uint8_taps(n, o, align_corners, scales[d], cubic, antialias)
        if d != nd - 1 and x.shape[-1] == 1 and channels > 4:
            # torch's generic (more than 4 channels) vertical pass, when the width is 1, reads
            # the indices and weights of the first output row for every row
            g, w = np.repeat(g[:1], o, 0), np.repeat(w[:1], o, 0)
        acc = np.full(x.shape[:axis] + (o,) + x.shape[axis + 1:], 1 << (prec - 1), np.int64)
        wshape = [1] * x.ndim
        wshape[axis] = o
        for t in range(g.shape[1]):
            acc += np.take(x, g[:, t], axis=axis).astype(np.int64) * w[:, t].reshape(wshape)
        x = np.clip(acc >> prec, 0, 255).astype(np.uint8)
    return _new(input.be.xp.asarray(x.copy() if x is orig else x), input.be)


def _node_name(mode, nsp):
    name = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
            "bilinear": "Bilinear", "bicubic": "Bicubic", "trilinear": "Trilinear"}[mode]
    return f"Upsample{name}{nsp}DBackward0"


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warn_caller("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                "instead.")
    return dispatched(interpolate)(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warn_caller("`nn.functional.upsample_nearest` is deprecated. Use "
                "`nn.functional.interpolate` instead.")
    return dispatched(interpolate)(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warn_caller("`nn.functional.upsample_bilinear` is deprecated. Use "
                "`nn.functional.interpolate` instead.")
    return dispatched(interpolate)(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- padding ----------------------------------------------------------------------------------
@op("constant_pad_nd", saves=None, node="ConstantPadNdBackward0")
def _constant_pad(xp, x, pads, value):
    lead = x.ndim - len(pads)
    src, dst, shape = [slice(None)] * lead, [slice(None)] * lead, list(x.shape[:lead])
    for n, (lo, hi) in zip(x.shape[lead:], pads):
        a, b = max(-lo, 0), n - max(-hi, 0)
        m = max(b - a, 0)
        src.append(slice(a, a + m))
        dst.append(slice(max(lo, 0), max(lo, 0) + m))
        shape.append(n + lo + hi)
    out = xp.full(shape, value, x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out, (x.shape, tuple(src), tuple(dst))


@_constant_pad.vjp
def _(xp, g, shape, src, dst):
    gx = xp.zeros(shape, g.dtype)
    gx[src] = g[dst]
    return (gx,)


def _pad_taps(n, lo, hi, mode):
    """Index map of one dim. Reflect and replicate index the uncropped input, as torch's
    kernels do (a crop on one side and a pad on the other reflect the cropped elements back
    in); circular crops the negative pads first, then wraps."""
    if mode != "circular":
        r = np.arange(n + lo + hi) - lo
        r = np.clip(r, 0, n - 1) if mode == "replicate" else np.abs(r)
        return Taps(np.where(r >= n, 2 * (n - 1) - r, r)[:, None], None, n)
    a, b = max(-lo, 0), n - max(-hi, 0)
    m = b - a
    plo, phi = max(lo, 0), max(hi, 0)
    if not m and plo + phi:     # (torch reads uninitialised memory here)
        raise RuntimeError("Padding value causes wrapping around more than once.")
    r = (np.arange(m + plo + phi) - plo) % m if m else np.arange(0)
    return Taps((a + r)[:, None], None, n)


_PAD_NODE = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0",
             "circular": "torch::autograd::CopySlices"}


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad; pad = (last_lo, last_hi, prev_lo, prev_hi, ...), negative crops."""
    if isinstance(value, (complex, str, bytes)):    # (torch's argument parser: a float)
        raise TypeError(f"pad(): argument 'value' (position 4) must be float, not "
                        f"{type(value).__name__}")
    if value.__class__ is int or value.__class__ is bool:
        value = float(value)
    return pad_nd(input, pad, mode, value)


def pad_nd(input, pad, mode, value):
    """pad with any number as `value` (torch.constant_pad_nd's Scalar)."""
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    nd = tensor_ndim("pad", input)
    if k > nd:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k)))
    spatial = input.shape[input.ndim - k:]
    if mode == "constant":
        _check_constant_pad(spatial, pairs)
        if value is None or not any(v > 0 for pair in pairs for v in pair):
            value = 0       # (nothing to fill: torch converts no value)
        elif not isinstance(value, Tensor):     # torch's fill_ of the padding: its checks
            value = fill_value(value, input.arr.dtype)
        return lay_out(apply(_constant_pad, (input,), (pairs, value)), input)
    if mode not in _PAD_NODE:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k > 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    _check_pad(input, spatial, pairs, mode)
    dt = input.arr.dtype
    if (dt.kind == "b" or dt.num in FEW_KERNELS) and mode != "circular":    # (no such kernels)
        raise not_implemented(f"{'reflection' if mode == 'reflect' else 'replication'}_pad{k}d",
                              dt)
    if mode != "circular":
        kind = "reflection" if mode == "reflect" else "replication"
        input = fp32_arg(f"{kind}_pad{k}d", input)
    taps = [_pad_taps(n, lo, hi, mode) for n, (lo, hi) in zip(spatial, pairs)]
    return resample(input, taps, _PAD_NODE[mode].format(k))


def _check_constant_pad(spatial, pairs):
    """torch's constant_pad_nd: the output size check (skipped when no pad is positive), then
    the narrow() of the input by each negative pad, low side first."""
    if any(v > 0 for pair in pairs for v in pair):
        for n, (lo, hi) in zip(spatial, pairs):
            if n + lo + hi < 0:
                raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} "
                                   "resulted in a negative output size, which is invalid. Check "
                                   "dimension of your input.")
    for n, (lo, hi) in zip(spatial, pairs):
        if n + min(lo, 0) < 0 or n + min(lo, 0) + min(hi, 0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")


def _check_pad(input, spatial, pairs, mode):
    """The checks of torch's kernel for the mode (circular: _pad_circular's, outer dim first;
    reflect: the pads against the sizes, width first; then the output-size checks, which the
    2-d kernels make only when both sizes are too small)."""
    k, nd = len(spatial), input.ndim
    if mode == "circular":
        for n, (lo, hi) in zip(spatial, pairs):
            if lo > n or hi > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if n + lo + hi < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        return
    if any(v == 0 for v in input.shape[nd - k - 1:]):
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with "
            "possibly 0 batch size and other non-zero dimensions for input, but got: "
            f"{list(input.shape)}")
    if mode == "reflect":
        for j, d in enumerate(reversed(range(k))):
            n, (lo, hi) = spatial[d], pairs[d]
            if not (lo < n and hi < n):
                raise RuntimeError(
                    f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({lo}, {hi}) at dimension {nd - k + d} "
                    f"of input {list(input.shape)}")
    outs = [n + lo + hi for n, (lo, hi) in zip(spatial, pairs)]
    if k < 3 and all(o < 1 for o in outs):
        if k == 1:
            raise RuntimeError(f"input (W: {spatial[0]}) is too small. Calculated output W: "
                               f"{outs[0]}")
        raise RuntimeError(f"input (H: {spatial[0]}, W: {spatial[1]}"
                           f"{' ' if mode == 'replicate' else ''}) is too small. Calculated "
                           f"output H: {outs[0]} W: {outs[1]}")
    if any(o < 0 for o in outs):
        if mode == "reflect" and k == 2:
            raise RuntimeError("numel: integer multiplication overflow")
        shape = list(input.shape[:nd - k]) + outs
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{next(o for o in outs if o < 0)}: {shape}")


# ---- pixel shuffle ----------------------------------------------------------------------------
def _shuffle(x, r):
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    n = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.transpose(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return y.reshape(lead + (c // (r * r), h * r, w * r))


def _unshuffle(x, r):
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    n = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.transpose(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return y.reshape(lead + (c * r * r, h // r, w // r))


@op("pixel_shuffle", saves=None, node="PixelShuffleBackward0")
def _pixel_shuffle(xp, x, r):
    return _shuffle(x, r), (r,)


@_pixel_shuffle.vjp
def _(xp, g, r):
    return (_unshuffle(g, r),)


@op("pixel_unshuffle", saves=None, node="PixelUnshuffleBackward0")
def _pixel_unshuffle(xp, x, r):
    if not x.size:                  # torch returns an empty input as it is (its backward
        return x.copy(), (r,)       # then pixel-shuffles that shape)
    return _unshuffle(x, r), (r,)


@_pixel_unshuffle.vjp
def _(xp, g, r):
    _check_channels(g.shape[-3], r)
    return (_shuffle(g, r),)


def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if tensor_ndim("pixel_shuffle", input) < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    _check_channels(input.shape[-3], r)
    return apply(_pixel_shuffle, (input,), (r,))


def _check_channels(c, r):
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           "divisible by the square of upscale_factor, but input.size(-3)="
                           f"{c} is not divisible by {r * r}")


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, d in (("height", -2), ("width", -1)):
        if input.shape[d] % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({d})={input.shape[d]} is not "
                               f"divisible by {r}")
    return apply(_pixel_unshuffle, (input,), (r,))


def channel_shuffle(input, groups):
    """(N, g*k, *) -> (N, k*g, *): the channels of each of `groups` groups interleaved (a
    reshape, transpose and reshape, differentiable as views)."""
    g = int(groups)
    if tensor_ndim("channel_shuffle", input) <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c = input.shape[0], input.shape[1]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    rest = tuple(input.shape[2:])
    x = _S.reshape(input, (n, g, c // g) + rest)
    return _S.reshape(_S.transpose(x, 1, 2), (n, c) + rest)


native_channel_shuffle = channel_shuffle
