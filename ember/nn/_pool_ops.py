"""Pooling: max/avg over strided windows (a loop over the kernel offsets, each step one
vectorised op over all outputs), fractional max pooling and LP pooling; adaptive pooling and
max-unpooling live in _adaptive_pool_ops.py.

1-d pooling runs as 2-d on an unsqueezed input, as torch does (its grad_fn is SqueezeBackward1)."""
import itertools
import math
import sys

import numpy as np

from .._memory_format import contiguous_out, lay_out
from ..amp.autocast import fp32_arg
from ..ops._apply import apply, raise_not_tensor
from ..ops._blend import fast_where
from ..ops._dims import wrap_dim
from ..ops._registry import op
from .._kernel_dtypes import float_only, is_float, not_implemented
from ._conv_ops import ntuple, offsets, pad_const, scratch, windows

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "fractional_max_pool2d",
           "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" or dtype.name == "bfloat16" else np.iinfo(dtype).min


def _disjoint(ksize, stride, dilation):
    """True when no input element lies in two windows (backward may assign instead of add)."""
    return all(k == 1 or s >= d * (k - 1) + 1 for k, s, d in zip(ksize, stride, dilation))


def _grad_windows(xp, g, shape, ksize, stride, dilation, pads, pick=None):
    """Route g (N, C, *out) back to the input: pick(i) masks the outputs whose offset i
    gets their gradient (the others leave +0.0, as torch's scatter; g * mask gave -0.0)."""
    out = g.shape[2:]
    gx = xp.zeros(shape, g.dtype)
    disjoint = _disjoint(ksize, stride, dilation)
    zero = g.dtype.type(0)
    for i, (_, sl) in enumerate(offsets(ksize, stride, dilation, out)):
        gi = g if pick is None else fast_where(xp, pick(i), g, zero)
        if disjoint:
            gx[sl] = gi
        else:
            gx[sl] += gi
    if not any(lo or hi for lo, hi in pads):
        return gx
    return gx[(slice(None), slice(None)) + tuple(slice(lo, n - hi) for n, (lo, hi) in
                                                 zip(shape[2:], pads))]


# ---- max pooling ------------------------------------------------------------------------------
# 2-d windows that tile the input (kernel = stride, no padding or dilation, the common
# MaxPool2d(2)) on a C-contiguous NumPy array take a faster path: NumPy's passes over the
# windows' strided views run row by short row, at a tenth of their speed on contiguous arrays,
# so each tile offset (a, b) is first gathered into a contiguous array: the image rows of
# offset a as one copy of whole rows (each row one void element), then every kw-th element of
# those as one 1-d strided copy. The backward writes the gradient the same way round.
def _tiled(xp, x, ksize, stride, pads, dilation):
    return xp is np and x.ndim == 4 and ksize == stride and x.flags.c_contiguous and x.size and \
        not any(lo or hi for lo, hi in pads) and all(d == 1 for d in dilation)


def _tile_rows(x, ksize, out):
    """x (N, C, H, W) as (N, C, Ho, kh) void elements: the first kw * Wo columns of each row."""
    (kh, kw), (ho, wo) = ksize, out
    n, c = x.shape[:2]
    rows = x[:, :, :kh * ho, :kw * wo].view(np.dtype((np.void, kw * wo * x.itemsize)))
    return rows.reshape(n, c, ho, kh)


def _tiles(x, ksize, out):
    """(kh * kw, N, C, Ho, Wo) contiguous (scratch): the input under each window offset."""
    (kh, kw), (ho, wo) = ksize, out
    n, c = x.shape[:2]
    rows = _tile_rows(x, ksize, out)
    buf = scratch(np, "pool_rows", (n, c, ho), rows.dtype)
    flat = buf.view(x.dtype).reshape(-1)
    tiles = scratch(np, "pool_tiles", (kh * kw, n * c * ho * wo), x.dtype)
    pairs = kw == 2 and x.itemsize == 4 and sys.byteorder == "little"
    for a in range(kh):
        buf[...] = rows[..., a]
        if pairs:
            # float32 column pairs read as uint64 and cast to uint32 give the even columns (the
            # low halves); read from one element on, the odd ones: half the strided copies' time
            lo, hi = tiles[2 * a].view(np.uint32), tiles[2 * a + 1].view(np.uint32)
            np.copyto(lo, flat.view(np.uint64), casting="unsafe")
            np.copyto(hi[:-1], flat[1:-1].view(np.uint64), casting="unsafe")
            hi[-1:] = flat[-1:].view(np.uint32)
            continue
        for b in range(kw):
            tiles[a * kw + b] = flat[b::kw]
    return tiles.reshape((kh * kw, n, c) + tuple(out))


def _max_fwd(xp, x, ksize, stride, pads, dilation, out, want_indices):
    if _tiled(xp, x, ksize, stride, pads, dilation):
        xpad, views = x, _tiles(x, ksize, out)
    else:
        xpad = pad_const(xp, x, pads, _lowest(x.dtype))
        v = windows(xp, xpad, ksize, stride, dilation, out)
        views = [v[(slice(None), slice(None)) + k] for k, _ in
                 offsets(ksize, stride, dilation, out)]
    idx_type = np.uint8 if len(views) < 256 else np.int64
    best, idx = views[0].copy(), xp.zeros(x.shape[:2] + out, idx_type)
    # The positions of the running maximum's strict increases grow with i, so the window's
    # first maximum is max_i(i * [v_i > max(v_0..v_i-1)]): no masked writes needed.
    for i in range(1, len(views)):
        m = xp.greater(views[i], best).view(np.uint8) * idx_type(i)
        xp.maximum(idx, m, out=idx)
        xp.maximum(views[i], best, out=best)    # (a tie gives the second: -0.0 first stays)
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
    if g.dtype.kind not in "biu":       # torch adds g into zeros: -0.0 arrives as +0.0
        g = g + g.dtype.type(0)
    if _tiled(xp, g, ksize, stride, pads, dilation) and g.dtype.kind in "biuf":
        return (_tiled_grad(g, idx, shape, ksize),)
    return (_grad_windows(xp, g, shape, ksize, stride, dilation, pads, lambda i: idx == i),)


def _tiled_grad(g, idx, shape, ksize):
    """The tiled path's input gradient: g where the window's maximum was, +0.0 elsewhere (a
    select of g's bits, as fast_where), gathered back as _tiles spread the input."""
    (kh, kw), out = ksize, g.shape[2:]
    full = shape[2] == kh * out[0] and shape[3] == kw * out[1]
    gx = np.empty(shape, g.dtype) if full else np.zeros(shape, g.dtype)
    bits = np.dtype(f"i{g.itemsize}")
    gb = g.view(bits).reshape(-1)
    rows = _tile_rows(gx, ksize, out)
    buf = scratch(np, "pool_rows", rows.shape[:3], rows.dtype)
    flat = buf.view(bits).reshape(-1)
    sel = scratch(np, "pool_sel", gb.shape, bits)
    for a in range(kh):
        for b in range(kw):
            np.negative(np.equal(idx, a * kw + b).view(np.int8).reshape(-1), out=sel,
                        dtype=bits)
            np.bitwise_and(sel, gb, out=sel)
            flat[b::kw] = sel
        rows[..., a] = buf
    return gx


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


def _pool_args(x, nsp, kernel_size, stride, padding, dilation, ceil_mode, name,
               empty_check=None):
    """(kernel, stride, (lo, hi) pads, dilation, output size), with torch's checks in torch's
    order: max_pool1d's own, then per dim the output-shape ones, then pool{2,3}d_shape_check."""
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        ntuple(stride, nsp, "stride")
    p, d = ntuple(padding, nsp, "padding"), ntuple(dilation, nsp, "dilation")
    spatial = x.shape[2:]
    if name == "max_pool1d":
        _check_max_pool1d(spatial[-1], k[-1], s[-1], p[-1], d[-1], ceil_mode)
    out = tuple(_checked_out_size(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    _pool_shape_check(x, k, s, p, d, out, name, empty_check)
    pads = tuple((pp, max(0, (o - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, o, kk, ss, pp, dd in zip(spatial, out, k, s, p, d))
    return k, s, pads, d, out


def _check_max_pool1d(n, k, s, p, d, ceil_mode):
    """torch's check_max_pool1d (max_pool1d's own kernel)."""
    for ok, what in ((k > 0, f"kernel_size must be greater than zero, but got {k}"),
                     (s > 0, f"stride must be greater than zero, but got {s}"),
                     (p >= 0, f"padding must be non-negative, but got {p}"),
                     (p <= k // 2, "padding should be at most half of kernel size, but got "
                                   f"padding={p} and kernel_size={k}"),
                     (d > 0, f"dilation must be greater than zero, but got {d}")):
        if not ok:
            raise RuntimeError("max_pool1d() " + what)
    out = pool_out_size(n, k, s, p, d, ceil_mode)
    if out <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")


def _checked_out_size(n, k, s, p, d, ceil_mode):
    """torch's pooling_output_shape, with its checks."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    if p < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if p > int(((k - 1) * d + 1) / 2):             # C++ division truncates
        raise RuntimeError("pad should be at most half of effective kernel size, but got "
                           f"pad={p}, kernel_size={k} and dilation={d}")
    return pool_out_size(n, k, s, p, d, ceil_mode)


def _pool_shape_check(x, k, s, p, d, out, name, empty_check=None):
    """torch's pool2d_shape_check / pool3d_shape_check (sizes listed in torch's orders)."""
    axes = "HW" if len(k) == 2 else "THW"

    def listed(label, vals):
        return " ".join(f"{label}{a}: {v}" for a, v in zip(axes, vals))
    for vals, what, label in ((k, "kernel size", "k"), (s, "stride", "d"),
                              (d, "dilation", "dilation")):
        if any(v <= 0 for v in vals):
            raise RuntimeError(f"{what} should be greater than zero, but got "
                               f"{listed(label, vals)}")
    if empty_check is not None:
        empty_check()
    spatial = x.shape[2:]
    if name == "avg_pool3d" and any(n < kk for n, kk in zip(spatial, k)):
        raise RuntimeError(f"input image ({listed('', spatial)}) smaller than kernel size "
                           f"({listed('k', k)})")
    if any(kk // 2 < pp for kk, pp in zip(k, p)):
        if len(k) == 2:
            raise RuntimeError("pad should be smaller than or equal to half of kernel size, but "
                               f"got padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
        raise RuntimeError("pad should be smaller than or equal to half of kernel size, but got "
                           f"kT: {k[0]} kW: {k[2]} kH: {k[1]} padT: {p[0]} padW: {p[2]} "
                           f"padH: {p[1]}")
    if any(o < 1 for o in out):
        c = x.shape[1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + spatial))}). "
                           f"Calculated output size: ({'x'.join(map(str, (c,) + out))}). "
                           "Output size is too small")


def _check_pool_rank(input, nsp, name, defer_empty=False):
    """torch's rank and empty-input checks of each pooling kernel (an unbatched input's dims are
    all non-batch dims). `defer_empty`: a right-rank input with an empty dim is checked later
    (the 2-d and 3-d kernels check it after the padding): this returns that check."""
    nd = input.ndim
    rank_ok = nd in (nsp + 1, nsp + 2)
    if rank_ok and all(input.shape[nd - nsp - 1:]):
        return None
    if defer_empty and rank_ok:
        return lambda: _check_pool_rank(input, nsp, name)
    shape = list(input.shape)
    if name == "max_pool1d":
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{shape}")
    if name == "avg_pool2d" and nd < 3:      # torch's kernel reads input.size(-3) first
        if not nd:
            raise IndexError("Dimension specified as -3 but tensor has no dimensions")
        wrap_dim(-3, nd)
    if nsp == 3 and rank_ok:
        fn = "avg_pool3d" if name.startswith("avg") else "max_pool3d_with_indices_out_cpu_template"
        raise RuntimeError(f"{fn}(): Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {shape} and non-batch dimension 0 "
                           "has length zero!")         # (torch prints the zero length)
    if name == "avg_pool2d" or nsp == 2 and rank_ok:
        raise RuntimeError(f"Expected {nsp + 1}D or {nsp + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got:{shape}")
    if name.startswith("avg_pool") and nsp == 1 and rank_ok:     # avg_pool2d of it unsqueezed
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got:{shape[:-1] + [1] + shape[-1:]}")
    if name.startswith("avg_pool") and nsp == 1:
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {nd}-dimensional "
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
    try:
        late = _check_pool_rank(input, nsp, f"max_pool{nsp}d", defer_empty=nsp > 1)
    except AttributeError:          # a non-Tensor input: the TypeError of torch's entry point
        if nsp == 3 and return_indices and not hasattr(input, "arr"):   # (its Python code)
            raise AttributeError(f"'{type(input).__name__}' object has no attribute 'is_cuda'")
        raise_not_tensor(f"max_pool{nsp}d" + "_with_indices" * return_indices,
                         ("input", 1, input))
    if nsp == 1:                            # max_pool1d's kernel is floating-point only
        if input.is_quantized and not return_indices:
            from ..ops._quantized_nn import quantized_max_pool1d
            return quantized_max_pool1d(input, kernel_size, () if stride is None else stride,
                                        padding, dilation, ceil_mode)
        float_only(input, "max_pool1d_impl")
    elif input.arr.dtype.kind == "b":
        raise not_implemented(f"max_pool{nsp}d", input.arr.dtype)
    if nsp == 3 and not return_indices:     # (torch's max_pool3d_with_indices is not autocast)
        input = fp32_arg("max_pool3d", input)

    # (max_pool1d_with_indices lacks max_pool1d's own checks)
    name = "max_pool1d_with_indices" if nsp == 1 and return_indices else f"max_pool{nsp}d"

    def run(x):
        n = max(nsp, 2)
        k, s, pads, d, out = _pool_args(x, n, _lift(kernel_size, nsp), _lift(stride, nsp, 1),
                                        _lift(padding, nsp, 0), _lift(dilation, nsp, 1),
                                        ceil_mode, name, late)
        return lay_out(apply(_MAX[n, bool(return_indices)], (x,), (k, s, pads, d, out,
                                                                  bool(return_indices))), x)
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
    out = _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    if return_indices or out.requires_grad:
        return out
    # torch's max_pool1d without indices or grad (max_pool1d_impl) allocates a contiguous
    # output; the other paths pool a 2-d view, whose layout follows the input's
    return contiguous_out(out)


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
    dt = x.dtype
    if dt.itemsize == 2 and is_float(dt):     # float16/bfloat16 sum in float32, as torch's
        x = x.astype(np.float32)
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
        y = xp.abs(total) // abs(div) * (xp.sign(total) * np.sign(div))     # (div < 0 too)
    else:
        y = total / div
    return y.astype(dt, copy=False), (xpad.shape, ksize, stride, pads, div)


def _avg_bwd(xp, g, shape, ksize, stride, pads, div):
    gd = g / div
    return (_grad_windows(xp, gd, shape, ksize, stride, (1,) * len(ksize), pads),)


_AVG = {}
for _n in (2, 3):
    _AVG[_n] = op(f"avg_pool{_n}d", saves=None, node=f"AvgPool{_n}DBackward0")(_avg_fwd) \
        .vjp(_avg_bwd)


def _avg_pool(input, nsp, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    try:
        late = _check_pool_rank(input, nsp, f"avg_pool{nsp}d", defer_empty=nsp > 1)
    except AttributeError:          # a non-Tensor input: the TypeError of torch's entry point
        raise_not_tensor(f"avg_pool{nsp}d", ("input", 1, input))
    dt = input.arr.dtype          # torch's kernels: floats, int64 (3-d: no half), quantized
    if dt != np.int64 and not (dt in (np.float32, np.float64) if nsp == 3 else is_float(dt)) \
            and not input.is_quantized:
        raise not_implemented("avg_pool3d_out_frame" if nsp == 3 else "avg_pool2d", dt)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")

    def run(x):
        n = max(nsp, 2)
        k, s, pads, _, out = _pool_args(x, n, _lift(kernel_size, nsp), _lift(stride, nsp, 1),
                                        _lift(padding, nsp, 0), 1, ceil_mode,
                                        f"avg_pool{nsp}d", late)
        return lay_out(apply(_AVG[n], (x,), (k, s, pads, out, count_include_pad,
                                             divisor_override)), x)
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


# ---- fractional max pooling ------------------------------------------------------------------
def _intervals(xp, u, n, o, k):
    """ATen's generate_intervals: window starts (N, C, o) from each plane's sample u (N, C),
    computed in u's dtype: int((i + u) * alpha) - int(u * alpha), the last one at n - k."""
    seq = xp.full(u.shape + (o,), n - k, np.int64)
    if o > 1:
        alpha = u.dtype.type(n - k) / u.dtype.type(o - 1)
        i = xp.arange(o - 1, dtype=u.dtype)
        seq[..., :-1] = (((i + u[..., None]) * alpha).astype(np.int64)
                         - (u * alpha).astype(np.int64)[..., None])
    return seq


def _fractional_fwd(xp, x, samples, ksize, out):
    shape, nsp = x.shape, len(ksize)
    if x.ndim == nsp + 1:                   # unbatched: a batch of one, as ATen pools it
        x = x[None]
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    # a plane's samples are (w, h) for 2-d pooling and (t, h, w) for 3-d, as in ATen
    which = (1, 0) if nsp == 2 else (0, 1, 2)
    starts = []
    for d in range(nsp):
        seq = _intervals(xp, samples[:n, :, which[d]], spatial[d], out[d], ksize[d])
        starts.append(seq.reshape((n, c) + tuple(out[d] if e == d else 1 for e in range(nsp))))
    planes = (xp.arange(n).reshape((n,) + (1,) * (nsp + 1)),
              xp.arange(c).reshape((1, c) + (1,) * nsp))
    strides = [math.prod(spatial[d + 1:]) for d in range(nsp)]
    flat = sum(s * st for s, st in zip(starts, strides))
    idx = xp.broadcast_to(flat, (n, c) + tuple(out)).copy()
    best = xp.full((n, c) + tuple(out), -np.inf, x.dtype)
    # ATen's scan: a larger value or a NaN replaces the window's running maximum
    for offset in itertools.product(*(range(k) for k in ksize)):
        pos = [s + o for s, o in zip(starts, offset)]
        v = x[planes + tuple(pos)]
        take = (v > best) | (v != v)
        best = xp.where(take, v, best)
        idx = xp.where(take, flat + sum(o * st for o, st in zip(offset, strides)), idx)
    size = shape[:-nsp] + tuple(out)
    return (best.reshape(size), idx.reshape(size)), (idx, x.shape, shape)


def _fractional_bwd(xp, g, idx, batched, shape):
    from ._adaptive_pool_ops import _scatter_planes     # that module imports this one
    return _scatter_planes(xp, g[0].reshape(idx.shape), idx, batched).reshape(shape), None


_FRACTIONAL = {n: op(f"fractional_max_pool{n}d", saves=None, n_out=2,
                     node=f"FractionalMaxPool{n}DBackward0")(_fractional_fwd).vjp(_fractional_bwd)
               for n in (2, 3)}


def _fractional_checks(input, nsp, k, out, samples):
    """ATen's argument checks, in its order and with its messages."""
    name = "fractional_max_pool2d" if nsp == 2 else "fractional_max_pool3d_out"
    many = "Ints" if nsp == 2 else "three Ints"
    if len(k) != nsp:
        raise RuntimeError(f"fractional_max_pool{nsp}d: kernel_size must either be a single Int "
                           f"or tuple of {many}")
    if len(out) != nsp:
        raise RuntimeError(f"fractional_max_pool{nsp}d: output_size must either be a single Int "
                           f"or tuple of {many}")
    if input.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    for i in range(1, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(input.shape)} with dimension {i} "
                               "being empty.")
    names = ("height", "width") if nsp == 2 else ("time", "height", "width")
    for o, kk, size, dim in zip(out, k, input.shape[-nsp:], names):
        # torch allows the 2-d windows to reach the last element, but not the 3-d ones
        if o + kk - 1 > size - (nsp == 3):
            raise RuntimeError(f"{name}(): pool {dim} {kk} too large relative to input {dim} "
                               f"{size}")
    batch = input.shape[0] if input.ndim == nsp + 2 else 1
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[-nsp - 1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != nsp:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nsp}; got "
                           f"{samples.shape[2]}.")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if not input.is_floating_point():
        from ..ops._apply import _tname
        raise NotImplementedError(f'"fractional_max_pool{nsp}d_out_frame" not implemented for '
                                  f"'{_tname(input.arr.dtype)}'")


def _fractional_max_pool(input, nsp, kernel_size, output_size, output_ratio, _random_samples):
    """torch.nn.functional's fractional_max_pool{2,3}d_with_indices: (output, indices)."""
    from ..ops.creation import rand
    if output_size is None and output_ratio is None:
        raise ValueError(f"fractional_max_pool{nsp}d requires specifying either an output_size "
                         "or an output_ratio")
    if output_size is None:
        if nsp == 2 and len(output_ratio) > 2:
            raise ValueError("fractional_max_pool2d requires output_ratio to either be a single "
                             "Int or tuple of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else \
            (output_ratio,) * nsp
        output_size = [int(input.size(d - nsp) * ratio[d]) for d in range(nsp)]
    if _random_samples is None:
        n_batch = 1 if input.dim() == nsp + 1 else input.size(0)
        _random_samples = rand(n_batch, input.size(-nsp - 1), nsp, dtype=input.dtype,
                               device=input.device)
    k = (kernel_size,) * nsp if isinstance(kernel_size, int) else tuple(kernel_size)
    out = (output_size,) * nsp if isinstance(output_size, int) else tuple(output_size)
    _fractional_checks(input, nsp, k, out, _random_samples)
    return apply(_FRACTIONAL[nsp], (input, _random_samples), (k, out))


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool(input, 2, kernel_size, output_size, output_ratio,
                                _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional_max_pool(input, 3, kernel_size, output_size, output_ratio,
                                _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    out = _fractional_max_pool(input, 2, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    out = _fractional_max_pool(input, 3, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]


# ---- LP pooling (torch's composite) -----------------------------------------------------------
def _lp_pool(input, nsp, norm_type, kernel_size, stride, ceil_mode):
    from ..ops.elementwise import abs as _abs, relu, sign
    if isinstance(norm_type, (int, float)) and abs(norm_type) == math.inf:
        # torch's composite takes the max (or min) of |x| for an infinite norm (the power
        # formula would give 0 ** 0 = 1 everywhere)
        mp = (max_pool1d, max_pool2d, max_pool3d)[nsp - 1]
        if norm_type > 0:
            return mp(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -mp(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
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
