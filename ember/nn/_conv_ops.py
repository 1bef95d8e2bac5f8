"""Convolutions, transposed convolutions and unfold/fold: im2col through one strided view, then
one matmul (BLAS) per group; backward = matmuls + col2im, a loop over the kernel offsets only.

Convolution columns are channel-major, (G, C/G * prod(K), N * prod(out)): one large GEMM per
group for the forward and for both gradients (no per-sample loop, no batch reduction), and the
(O, N*L) result becomes NCHW in a single copy that also adds the bias."""
import itertools
import math
import threading

import numpy as np

from .._cpu import ONEDNN_BF16
from .._memory_format import _suggests_cl, as_format, channels_last, lay_out
from ..ops._apply import apply, raise_not_tensor, tensor_ndim
from ..ops._dims import wrap_dim
from ..ops._registry import holomorphic, op
from .._kernel_dtypes import cname, float_only, not_implemented
from .._warnings import warn_once

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


# ---- raw-array helpers (shared with pooling) --------------------------------------------------
def ntuple(v, n, name="kernel_size"):
    """int or sequence -> tuple of n ints (torch's _ntuple with its error)."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1 and n > 1:
            v = tuple(v) * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


def pad_const(xp, x, pads, value=0):
    """Pad the trailing len(pads) dims by (lo, hi) pairs (non-negative) with `value`."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[lead:], pads))
    out = xp.full(shape, value, x.dtype) if value else xp.zeros(shape, x.dtype)
    copy_rows(xp, out[inner(x.shape[lead:], pads, lead)], x)
    return out


def inner(spatial, pads, lead=2):
    """Index of the unpadded region inside a padded array."""
    return (slice(None),) * lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, pads))


def out_sizes(padded, ksize, stride, dilation):
    return tuple((p - d * (k - 1) - 1) // s + 1
                 for p, k, s, d in zip(padded, ksize, stride, dilation))


def windows(xp, x, ksize, stride, dilation, out):
    """Strided view of x (N, C, *S) as (N, C, *K, *out): no copy."""
    sp = x.strides[2:]
    shape = tuple(ksize) + tuple(out)
    strides = tuple(s * d for s, d in zip(sp, dilation)) + tuple(s * t for s, t in zip(sp, stride))
    return xp.lib.stride_tricks.as_strided(x, x.shape[:2] + shape, x.strides[:2] + strides)


def offsets(ksize, stride, dilation, out):
    """(k, slices) for every kernel offset k: the input positions it meets, one per output."""
    for k in itertools.product(*(range(i) for i in ksize)):
        yield k, (slice(None), slice(None)) + tuple(
            slice(ki * d, ki * d + s * (o - 1) + 1, s)
            for ki, d, s, o in zip(k, dilation, stride, out))


class _Scratch(threading.local):
    bufs = None


_SCRATCH = _Scratch()
_SCRATCH_MAX = 1 << 26            # 64 MiB per slot; larger temporaries are not kept


def scratch(xp, slot, shape, dtype):
    """An uninitialised array for a temporary that never leaves the op, reused across calls
    (per thread and slot). Fresh multi-MB NumPy arrays cost page faults on every step, since
    malloc hands big freed blocks back to the OS; CuPy has its own memory pool."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if xp is not np or nbytes > _SCRATCH_MAX:
        return xp.empty(shape, dtype)
    bufs = _SCRATCH.bufs
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    buf = bufs.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[slot] = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


_ROW_BYTES = 512       # void copies win for rows up to about this long (measured: 2.2x at 44 bytes)


def copy_rows(xp, dst, src):
    """dst[...] = src for arrays of one shape and dtype whose last axes are contiguous: each
    short row moves as one void element. NumPy copies a strided array inner row by inner row
    with a per-row cost that dominates short rows (an im2col of 11-element rows: 1.05 ms
    against 0.53 ms; 2-element rows 12x), where a void element is one memcpy."""
    it = src.itemsize
    nbytes = src.shape[-1] * it if src.ndim else 0
    if xp is not np or not 0 < nbytes <= _ROW_BYTES or src.strides[-1] != it or \
            dst.strides[-1] != it or src.dtype != dst.dtype or src.dtype.hasobject or \
            src.shape != dst.shape:
        dst[...] = src
        return
    row = np.dtype((np.void, nbytes))
    dst.view(row)[...] = src.view(row)


def col2im(xp, cols, shape, ksize, stride, dilation, out, slot=None):
    """Sum columns (N, C, *K, *out) back into a zero array of `shape` (N, C, *padded)."""
    if slot is None:
        gx = xp.zeros(shape, cols.dtype)
    else:
        gx = scratch(xp, slot, shape, cols.dtype)
        gx.fill(0)
    if 0 in out:
        return gx
    lead = (slice(None), slice(None))
    for k, sl in offsets(ksize, stride, dilation, out):
        gx[sl] += cols[lead + k]
    return gx


def _im2col(xp, x, ksize, stride, dilation, out, groups, slot=None):
    """(N, C, *S) -> contiguous channel-major columns (G, C/G * prod(K), N * prod(out))."""
    n, c = x.shape[:2]
    st, sp = x.strides, x.strides[2:]
    shape = (c,) + tuple(ksize) + (n,) + tuple(out)
    strides = ((st[1],) + tuple(s * d for s, d in zip(sp, dilation)) + (st[0],)
               + tuple(s * t for s, t in zip(sp, stride)))
    view = xp.lib.stride_tricks.as_strided(x, shape, strides)
    cols = xp.empty(shape, x.dtype) if slot is None else scratch(xp, slot, shape, x.dtype)
    copy_rows(xp, cols, view)
    return cols.reshape(groups, c // groups * math.prod(ksize), n * math.prod(out))


def _col2im_nchw(xp, gcols, padded, ksize, stride, dilation, out, pads):
    """Channel-major column gradients (C, *K, N, *out) -> input gradient (N, C, *unpadded)."""
    c, n = padded[1], padded[0]
    nk = len(ksize)
    cols = gcols.reshape((c,) + tuple(ksize) + (n,) + tuple(out))
    cols = cols.transpose((0, nk + 1) + tuple(range(1, nk + 1)) + tuple(range(nk + 2, cols.ndim)))
    gx = _crop(col2im(xp, cols, (c, n) + tuple(padded[2:]), ksize, stride, dilation, out,
                      "col2im"), pads).swapaxes(0, 1)
    res = xp.empty(gx.shape, gx.dtype)
    res[...] = gx
    return res


def _full_width(xp, w, padded, ksize, stride, dilation, out):
    """Whether the input gradient can run on full-width rows (see _grad_input_full_width): a
    unit stride along the last dim of an image (2-d or more), kernel columns past the output
    rows of at most a quarter of the padded width, and a finite weight (0 * inf is NaN)."""
    return len(out) > 1 and stride[-1] == 1 and \
        4 * dilation[-1] * (ksize[-1] - 1) <= padded[-1] and bool(xp.isfinite(w).all())


def _grad_input_full_width(xp, g, wr, padded, ksize, stride, dilation, pads):
    """Input gradient (N, C, *unpadded) of a channel-major convolution at "full width", as the
    depthwise path runs: the output gradient's rows are laid out as wide as the padded input's
    (zeros past the output's width), so the column gradients W^T g of kernel offset k fall on
    the padded input gradient, flattened, as one shifted add over (C, N) blocks of whole rows
    (whole planes at unit strides) instead of one add per output row (for 11-element rows,
    1.6 ms against 2.9 ms). The zero columns give zero column gradients, which add nothing
    where they spill into the next row or block; the GEMM grows by the same fraction."""
    n, o, out = g.shape[0], g.shape[1], g.shape[2:]
    c, spatial = padded[1], padded[2:]
    full = tuple(out[:-1]) + (spatial[-1],)
    groups = wr.shape[0]
    g3 = scratch(xp, "rows_full", (o, n) + full, g.dtype)
    g3.fill(0)
    copy_rows(xp, g3[..., :out[-1]], g.swapaxes(0, 1))
    gcols = _matmul(xp, wr.swapaxes(-1, -2), g3.reshape(groups, o // groups, -1), "cols")
    kl, dl = ksize[-1], dilation[-1]
    gcols = gcols.reshape(c, math.prod(ksize[:-1]), kl, -1)
    length = gcols.shape[-1]                        # n * prod(full)
    plane = math.prod(spatial)
    steps = [math.prod(spatial[i + 1:]) for i in range(len(spatial))]
    tail = dl * (kl - 1)                            # the zero columns' reach past the last row
    flat = xp.zeros(n * c * plane + tail, g.dtype)
    it = flat.itemsize
    strides = (plane * it, c * plane * it) + tuple(s * t * it for s, t in
                                                   zip(stride[:-1], steps[:-1])) + (it,)
    # The taps along the last dim first sum into one row block per leading tap (shifted adds
    # over whole (C, N * prod(full)) rows, at memory speed), which then goes onto the image
    # in one add of plane-strided blocks: kh adds of those instead of kh * kw.
    acc = scratch(xp, "taps_row", (c, length + tail), g.dtype) if kl > 1 else None
    for i, k in enumerate(itertools.product(*(range(kk) for kk in ksize[:-1]))):
        src = gcols[:, i, 0]
        if kl > 1:
            acc[:, :length] = src
            acc[:, length:] = 0
            for j in range(1, kl):
                acc[:, j * dl:j * dl + length] += gcols[:, i, j]
            src = acc[:, :length]
        shift = sum(kk * d * s for kk, d, s in zip(k, dilation, steps))
        dst = xp.lib.stride_tricks.as_strided(flat[shift:], (c, n) + full, strides)
        dst += src.reshape((c, n) + full)
    gx = flat[:n * c * plane].reshape((n, c) + tuple(spatial))
    cropped = _crop(gx, pads)
    return gx if cropped is gx else cropped.copy()


def _to_nchw(xp, y, n, out, b):
    """(O, N * L) rows -> (N, O, *out) in one copy, adding the bias on the way."""
    o = y.shape[0]
    src = y.reshape(o, n, math.prod(out)).swapaxes(0, 1)
    dst = xp.empty((n, o, src.shape[2]), y.dtype)
    if b is None:
        copy_rows(xp, dst, src)
    else:
        xp.add(src, b.reshape(1, o, 1), out=dst)
    return dst.reshape((n, o) + tuple(out))


def _rows(xp, g, groups, slot=None):
    """(N, O, *out) -> (G, O/G, N * L): the output gradient in column order."""
    n, o = g.shape[:2]
    length = math.prod(g.shape[2:])
    src = g.reshape(n, o, length).swapaxes(0, 1)
    dst = xp.empty(src.shape, g.dtype) if slot is None else scratch(xp, slot, src.shape, g.dtype)
    copy_rows(xp, dst, src)
    return dst.reshape(groups, o // groups, n * length)


def _matmul(xp, a, b, slot):
    """a @ b into a scratch array (a temporary of the op)."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return xp.matmul(a, b, out=scratch(xp, slot, shape, np.result_type(a.dtype, b.dtype)))


def _crop(a, pads):
    if not any(lo or hi for lo, hi in pads):
        return a
    return a[(slice(None), slice(None)) + tuple(slice(lo, s - hi) for s, (lo, hi) in
                                                zip(a.shape[2:], pads))]


def _grouped(w, groups):
    """Weight (O, C/G, *K) -> (G, O/G, C/G * prod(K))."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def _bias_shape(nsp):
    return (-1,) + (1,) * nsp


def in_float(kinds):
    """Convolutions of these 2-byte float kinds ("f" float16, "V" bfloat16) run in float32 and
    round once, as torch's CPU kernels accumulate (the bias too) in float; they save float32,
    so backward is float32 as well. (torch's float16 transposed convolution rounds its columns
    to float16 on the way, as the generic path does.)"""
    return lambda fwd: _in_float(fwd, kinds)


def _in_float(fwd, kinds):
    def run(xp, x, w, b, *static):
        if x.dtype.itemsize != 2 or x.dtype.kind not in kinds:
            return fwd(xp, x, w, b, *static)
        f32 = np.float32
        y, saved = fwd(xp, x.astype(f32), w.astype(f32), None if b is None else b.astype(f32),
                       *static)
        return y.astype(x.dtype), saved
    run.__name__ = fwd.__name__
    return run


# ---- convolution ------------------------------------------------------------------------------
def _sample_major(cols_per_group, length):
    """Whether to lay the columns out per sample, (N, G, C/G * prod(K), L), and run one small GEMM
    per sample: that wins where the columns are short and the output long (a first layer of few
    input channels over a large image: no transposes of the long output and its gradient, which
    cost more than the GEMMs there); elsewhere the channel-major layout's one large GEMM wins
    (crossover near L = 16 C/G prod(K), measured on the CPU)."""
    return 16 * cols_per_group <= length


# Depthwise convolution (one input channel per group and output channel) at stride 1 runs on
# the padded image flattened per sample, channels one after another, at "full width": output
# row r of the padded width holds valid outputs in its first columns and garbage (wrapped
# around) in the rest, so every kernel tap is one shift of the flat image and one multiply-add
# pass over rows of C * (padded size) elements. (NumPy's passes over 2-D windows, or over
# channel rows, run row by short row: 3-5x slower.)
def _depthwise(channels, w, stride, groups):
    return groups > 1 and groups == channels == w.shape[0] and w.shape[1] == 1 and \
        all(s == 1 for s in stride)


def _taps(padded, ksize, dilation, out):
    """Flat offsets of the kernel taps, the length of the full-width output rows and the
    per-channel length of the flat image (the padded image and room for the last tap)."""
    steps = [math.prod(padded[i + 1:]) for i in range(len(padded))]
    shifts = [sum(k * d * s for k, d, s in zip(ks, dilation, steps))
              for ks in itertools.product(*(range(k) for k in ksize))]
    span = out[0] * steps[0]
    return shifts, span, shifts[-1] + span


def _tap_rows(xp, w, per_channel, length):
    """(K, length): tap k's weight of every channel repeated over that channel's block."""
    c = w.shape[0]
    wk = xp.empty((w[0].size, c, per_channel), w.dtype)
    wk[...] = w.reshape(c, -1).T[:, :, None]
    return wk.reshape(w[0].size, -1)[:, :length]


def _valid(rows, n, c, per_channel, out, padded):
    """The valid outputs (N, C, *out) in full-width rows (N, >= C * per_channel)."""
    full = rows[:, :c * per_channel].reshape(n, c, per_channel)[:, :, :out[0] * math.prod(
        padded[1:])].reshape((n, c, out[0]) + tuple(padded[1:]))
    return full[(slice(None),) * 3 + tuple(slice(0, o) for o in out[1:])]


def _depthwise_fwd(xp, xpad, w, b, dilation, out):
    n, c, padded = xpad.shape[0], xpad.shape[1], xpad.shape[2:]
    shifts, span, per = _taps(padded, w.shape[2:], dilation, out)
    flat = xp.zeros((n, c, per), xpad.dtype)
    flat[:, :, :math.prod(padded)] = xpad.reshape(n, c, math.prod(padded))    # (n may be 0)
    flat = flat.reshape(n, c * per)
    length = (c - 1) * per + span                   # through the last channel's outputs
    wk = _tap_rows(xp, w, per, length)
    acc = xp.empty((n, c * per), xpad.dtype)        # (the tail past `length` is never read)
    acc[:, :length] = flat[:, :length] * wk[0]
    tmp = scratch(xp, "taps", (n, length), xpad.dtype)
    for k, s in enumerate(shifts[1:], 1):
        xp.multiply(flat[:, s:s + length], wk[k], out=tmp)
        acc[:, :length] += tmp
    y = xp.empty((n, c) + tuple(out), xpad.dtype)
    y[...] = _valid(acc, n, c, per, out, padded)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y, flat


def _depthwise_weight_grad(xp, gfull, flat, w, shifts, span, per):
    """dL/dw[c, k]: for each tap, the product of the gradient rows and the shifted image rows
    (zeros in the garbage columns), summed over the batch, then over each channel's block."""
    n, c = gfull.shape[0], w.shape[0]
    length = (c - 1) * per + span
    tmp = scratch(xp, "taps", (n, length), gfull.dtype)
    pad = xp.zeros(c * per - length, gfull.dtype)
    taps = []
    for s in shifts:
        xp.multiply(gfull[:, :length], flat[:, s:s + length], out=tmp)
        taps.append(xp.concatenate([tmp.sum(axis=0), pad]).reshape(c, per).sum(axis=1))
    return xp.stack(taps, axis=1).reshape(w.shape)


def _depthwise_bwd(xp, g, flat, w, padded, has_b, pads, dilation, needs):
    n, c, out = g.shape[0], g.shape[1], g.shape[2:]
    spatial = padded[2:]
    shifts, span, per = _taps(spatial, w.shape[2:], dilation, out)
    gfull = xp.zeros((n, c * per), g.dtype)         # zeros in the garbage columns
    _valid(gfull, n, c, per, out, spatial)[...] = g
    length = (c - 1) * per + span
    gx = gw = gb = None
    if needs[1]:
        gw = _depthwise_weight_grad(xp, gfull, flat, w, shifts, span, per)
    if needs[0]:
        wk = _tap_rows(xp, w, per, length)
        gflat = xp.zeros(flat.shape, g.dtype)
        tmp = scratch(xp, "taps", (n, length), g.dtype)
        for k, s in enumerate(shifts):
            xp.multiply(gfull[:, :length], wk[k], out=tmp)
            gflat[:, s:s + length] += tmp
        gxpad = gflat.reshape(n, c, per)[:, :, :math.prod(spatial)].reshape(padded)
        gx = _crop(gxpad, pads)
        gx = gx.copy() if gx is not gxpad else gx
    if has_b and needs[2]:
        gb = xp.einsum("ncm->c", g.reshape(n, c, math.prod(out)))
    return gx, gw, gb


@op("convolution", amp="lower", node="ConvolutionBackward0", needs_mask=True)
@in_float("fV")
def _conv(xp, x, w, b, stride, pads, dilation, groups):
    xpad = pad_const(xp, x, pads)
    ksize = w.shape[2:]
    out = out_sizes(xpad.shape[2:], ksize, stride, dilation)
    n, length = x.shape[0], math.prod(out)
    cl = w.ndim == 4 and (_suggests_cl(w) or _suggests_cl(x) and
                          _mkldnn(x, w, stride, dilation, groups))    # (see the vjp)
    if _depthwise(x.shape[1], w, stride, groups):
        y, flat = _depthwise_fwd(xp, xpad, w, b, dilation, out)
        return y, (flat, w, xpad.shape, b is not None, stride, pads, dilation, groups, cl)
    if _sample_major(w[0].size, length):
        cols = xp.empty(x.shape[:2] + tuple(ksize) + tuple(out), x.dtype)
        copy_rows(xp, cols, windows(xp, xpad, ksize, stride, dilation, out))
        cols = cols.reshape(n, groups, w[0].size, length)
        y = xp.matmul(_grouped(w, groups), cols).reshape(n, w.shape[0], length)
        if b is not None:
            y += b.reshape(1, -1, 1)
        y = y.reshape((n, w.shape[0]) + tuple(out))
    else:
        cols = _im2col(xp, xpad, ksize, stride, dilation, out, groups)
        y = _matmul(xp, _grouped(w, groups), cols, "y")
        y = _to_nchw(xp, y.reshape(w.shape[0], cols.shape[2]), n, out, b)
    return y, (cols, w, xpad.shape, b is not None, stride, pads, dilation, groups, cl)


@_conv.vjp
@holomorphic
def _(xp, g, cols, w, padded, has_b, stride, pads, dilation, groups, cl, needs):
    gx, gw, gb = _conv_bwd(xp, g, cols, w, padded, has_b, stride, pads, dilation, groups, needs)
    if cl and gw is not None:
        # torch's oneDNN path allocates grad_weight channels last when the input or the weight
        # suggests it, its native path (a small batch's 1x1 convolution on one thread) as the
        # weight: strides that differ from contiguous ones at size-1 dims (depthwise, 1x1)
        gw = as_format(gw, channels_last, True)
    return gx, gw, gb


def _conv_bwd(xp, g, cols, w, padded, has_b, stride, pads, dilation, groups, needs):
    if g.dtype != w.dtype:          # float16/bfloat16: in float32 as saved (see in_float)
        if g.dtype.kind == "V" and not ONEDNN_BF16 and xp is np and g.size:
            return _bf16_slow_bwd(g, cols, w, padded, has_b, stride, pads, dilation, groups,
                                  needs)
        g = g.astype(w.dtype)
    if _depthwise(padded[1], w, stride, groups):         # `cols` is the flat padded image
        return _depthwise_bwd(xp, g, cols, w, padded, has_b, pads, dilation, needs)
    if cols.ndim == 4:
        return _conv_bwd_sample_major(xp, g, cols, w, padded, has_b, stride, pads, dilation,
                                      groups, needs)
    g3 = _rows(xp, g, groups, "rows")
    gx = gw = gb = None
    if needs[1]:
        gw = xp.matmul(g3, cols.swapaxes(-1, -2)).reshape(w.shape)
    if needs[0]:
        wr = _grouped(w, groups)
        if _full_width(xp, w, padded, w.shape[2:], stride, dilation, g.shape[2:]):
            gx = _grad_input_full_width(xp, g, wr, padded, w.shape[2:], stride, dilation, pads)
        else:
            gcols = _matmul(xp, wr.swapaxes(-1, -2), g3, "cols")
            gx = _col2im_nchw(xp, gcols, padded, w.shape[2:], stride, dilation, g.shape[2:],
                              pads)
    if has_b and needs[2]:
        gb = g3.sum(-1).reshape(-1)
    return gx, gw, gb


def _sample_columns(cols, w, padded, stride, dilation, groups, out):
    """The saved columns of any of the three layouts as (N, G, C/G * prod(K), L)."""
    n = padded[0]
    if cols.ndim == 4:                                  # sample-major
        return cols
    if cols.ndim == 3:                                  # channel-major (G, C/G prod(K), N L)
        return cols.reshape(groups, cols.shape[1], n, -1).transpose(2, 0, 1, 3)
    xpad = cols.reshape(n, padded[1], -1)[:, :, :math.prod(padded[2:])].reshape(padded)
    win = windows(np, xpad, w.shape[2:], stride, dilation, out)     # depthwise: the flat image
    return win.reshape(n, groups, -1, math.prod(out))


def _bf16_slow_bwd(g, cols, w, padded, has_b, stride, pads, dilation, groups, needs):
    """bfloat16 gradients as torch's fallback convolution (slow_conv2d/3d: CPUs where oneDNN
    has no bfloat16) computes them, sample by sample: the column gradients W^T g rounded to
    bfloat16 and summed into the input gradient in bfloat16, kernel offset after offset (its
    col2im); the weight gradient accumulated over the samples in bfloat16, one rounding a
    sample. The products themselves are float sums, as torch's GEMM; the bias gradient is one
    float sum over (N, *out) (torch's sum kernel, in another order: a few ulp apart)."""
    bf, f32 = g.dtype, np.float32
    rnd = lambda a: a.astype(bf).astype(f32)       # noqa: E731
    n, o, out = g.shape[0], g.shape[1], g.shape[2:]
    ksize = w.shape[2:]
    g4 = g.astype(f32).reshape(n, groups, o // groups, math.prod(out))
    gx = gw = gb = None
    if needs[0]:
        gcols = rnd(np.matmul(_grouped(w, groups).swapaxes(-1, -2), g4))
        gcols = gcols.reshape((n, padded[1]) + tuple(ksize) + tuple(out))
        gxpad = np.zeros(padded, f32)
        lead = (slice(None), slice(None))
        for k, sl in offsets(ksize, stride, dilation, out):
            gxpad[sl] = rnd(gxpad[sl] + gcols[lead + k])
        gx = _crop(gxpad, pads).astype(bf)
    if needs[1]:
        c4 = _sample_columns(cols, w, padded, stride, dilation, groups, out)
        acc = np.zeros((groups, o // groups, c4.shape[2]), f32)
        for i in range(n):
            acc = rnd(acc + np.matmul(g4[i], c4[i].swapaxes(-1, -2)))
        gw = acc.reshape(w.shape).astype(bf)
    if has_b and needs[2]:
        gb = np.einsum("nol->o", g4.reshape(n, o, -1))
    return gx, gw, gb


def _conv_bwd_sample_major(xp, g, cols, w, padded, has_b, stride, pads, dilation, groups, needs):
    """Backward for columns (N, G, C/G * prod(K), L): per-sample GEMMs summed over the batch for
    the weight, a per-sample GEMM and col2im straight into (N, C, ...) for the input."""
    n, o, out = g.shape[0], g.shape[1], g.shape[2:]
    g4 = g.reshape(n, groups, o // groups, math.prod(out))
    gx = gw = gb = None
    if needs[1]:
        gw = xp.matmul(g4, cols.swapaxes(-1, -2)).sum(0).reshape(w.shape)
    if needs[0]:
        gcols = xp.matmul(_grouped(w, groups).swapaxes(-1, -2), g4)
        gcols = gcols.reshape((n, padded[1]) + tuple(w.shape[2:]) + tuple(out))
        gxpad = col2im(xp, gcols, padded, w.shape[2:], stride, dilation, out)
        gx = _crop(gxpad, pads)
        if gx is not gxpad:
            gx = gx.copy()
    if has_b and needs[2]:
        gb = xp.einsum("nol->o", g4.reshape(n, o, -1))
    return gx, gw, gb


def _tname(t):
    from .._kernel_dtypes import type_string
    return type_string(t.arr.dtype, t.be.name)


def _check_weight_dtype(input, weight, stride, dilation, groups):
    """torch checks a real input's dtype against the weight's after the shapes (a complex
    input's, in _check_common), in words that depend on the kernel it picks."""
    if input.dtype == weight.dtype:
        return
    if _mkldnn(input, weight, stride, dilation, groups):
        raise RuntimeError(f"Input type ({_tname(input)}) and weight type ({_tname(weight)}) "
                           "should be the same or input should be a MKLDNN tensor and weight is a "
                           "dense tensor")
    from ..ops._apply import _tname as scalar_type
    raise RuntimeError(f"expected scalar type {scalar_type(input.arr.dtype)} but found "
                       f"{scalar_type(weight.arr.dtype)}")


def _check_int_kernel(x, nsp, dilation, transposed, columns=False):
    """torch's CPU kernels for integer and bool convolutions: the plain ones (slow_conv2d/3d)
    take every integer dtype, the transposed and dilated ones int64 only; none takes bool
    (`columns`: slow_conv3d's im2col step runs, and refuses, first)."""
    dt = x.arr.dtype
    if dt.kind not in "biu" or x.be.name != "cpu" or (dt == np.int64 and dt.kind == "i"):
        return
    dilated = any(d > 1 for d in dilation)
    if dt.kind != "b" and not (transposed or dilated):
        return
    n = 3 if nsp == 3 else 2
    kernel = f"slow_conv_transpose{n}d_out_cpu" if transposed else \
        "slow_conv_dilated<>" if dilated else "compute_columns3d" if columns else \
        f"slow_conv{n}d_cpu"
    raise not_implemented(kernel, dt)


def _mkldnn(input, weight, stride, dilation, groups):
    """torch's use_mkldnn (aten/src/ATen/native/Convolution.cpp): whether its CPU convolution
    goes to oneDNN, for a batched input (1-d convolutions run as 2-d ones of height 1)."""
    if input.dtype.name == "bfloat16":      # where oneDNN computes bfloat16 (see _cpu)
        return ONEDNN_BF16
    if input.dtype.name != "float32":
        return False
    from .._threads import get_num_threads
    n = input.shape[0]
    kh, kw = (1, weight.shape[-1]) if weight.ndim == 3 else weight.shape[-2:]
    return ((any(v > 1 for v in stride) or any(v > 1 for v in dilation) or n >= 16
             or kh != 1 or kw != 1 or get_num_threads() > 1)
            and (groups > 1 or (kh > 3 and kw > 3) or n > 1 or math.prod(input.shape[:4]) > 20480))


def _check_rank(input, nsp, name):
    nd = tensor_ndim(name, input)
    if nd not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")


def _check_params(input, weight, nsp, groups, params):
    """torch's _convolution, on the batched input: the weight's rank, groups, then each of
    stride, padding, dilation and output_padding (an int is one per dim of the function, a
    1-element list stands for every dim) against the weight's spatial rank."""
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    dim = weight.ndim - 2
    if ("padding", "same") in params and weight.ndim != input.ndim:   # torch's _convolution_mode
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional "
                           f"weight{list(weight.shape)}, but got {input.ndim}-dimensional input of "
                           f"size {list(input.shape)} instead")
    for name, v in params:
        if isinstance(v, str):
            continue
        raw = [int(i) for i in v] if isinstance(v, (tuple, list)) else [int(v)] * nsp
        if len(raw) not in (1, dim):
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {dim} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={raw}")


def _check_common(input, weight, bias, nsp, groups, transposed):
    if weight.ndim != input.ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional "
                           f"weight {list(weight.shape)}, but got {input.ndim}-dimensional input "
                           f"of size {list(input.shape)} instead")
    if bias is not None and not transposed and input.dtype != bias.dtype:
        raise RuntimeError(f"Input type ({cname(input.arr.dtype)}) and bias type "
                           f"({cname(bias.arr.dtype)}) should be the same")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if input.dtype != weight.dtype and input.dtype.is_complex:
        raise RuntimeError(f"Input type ({_tname(input)}) and weight type ({_tname(weight)}) "
                           "should be the same")
    if weight.shape[0] < max(groups, 1):
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least "
                           f"{max(groups, 1)} at dimension 0, but got weight of size "
                           f"{list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")
    cin = weight.shape[0] if transposed else weight.shape[1] * groups
    if input.shape[1] != cin:
        what = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(f"Given {what}, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {cin} channels, but got "
                           f"{input.shape[1]} channels instead")
    cout = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}weight of size "
                           f"{list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {cout} elements, but got bias of size "
                           f"{list(bias.shape)} instead")


def _positive(values, what):
    if any(v <= 0 for v in values):
        raise RuntimeError(f"non-positive {what} is not supported")


def _check_conv_args(input, padding, stride, dilation, transposed):
    """torch's order: negative padding, non-positive stride, then dilation. A negative dilation
    fails the generic check; a zero one the chosen kernel's: oneDNN's (bfloat16 where it
    computes bfloat16, float32 with a batch over 1) or the native one's (where 1-d runs as 2-d)."""
    if not isinstance(padding, str) and any(v < 0 for v in padding):
        raise RuntimeError("negative padding is not supported")
    _positive(stride, "stride")
    if any(d < 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if 0 not in dilation:
        return
    dt = input.arr.dtype
    batch = input.shape[0] if input.ndim == len(dilation) + 2 else 1
    if dt.name == "bfloat16" and ONEDNN_BF16 or dt == np.float32 and batch > 1:
        if not transposed:
            raise RuntimeError("non-positive dilation is not supported")
        raise RuntimeError("dimensions are invalid" if len(dilation) == 3 else _ONEDNN_DECONV)
    full = (1,) * (len(dilation) == 1) + tuple(dilation)
    got = list(full) if not transposed else ", ".join(
        f"dilation_{n}: {v}" for n, v in zip(("depth", "height", "width")[-len(full):], full))
    raise RuntimeError(f"dilation should be greater than zero, but got {got}")


_ONEDNN_DECONV = ("could not create a primitive descriptor for the deconvolution forward "
                  "propagation primitive. Run workload with environment variable "
                  "ONEDNN_VERBOSE=all to get additional diagnostic information.")


def _conv_pads(padding, ksize, stride, dilation, nsp):
    """padding (int, tuple, 'same', 'valid') -> ((lo, hi), ...) per spatial dim."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nsp
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for k, d in zip(ksize, dilation)]
        if any(t % 2 for t in total):
            warn_once("Using padding='same' with even kernel lengths and odd dilation may "
                      "require a zero-padded copy of the input be created")
        return tuple((t // 2, t - t // 2) for t in total)
    p = ntuple(padding, nsp, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return tuple((v, v) for v in p)


def _batched(input, nsp, fn):
    """Run fn on a batched input; an unbatched one gets a batch dim added, then removed."""
    if input.ndim == nsp + 1:
        return fn(input.unsqueeze(0)).squeeze(0)
    return fn(input)


def _convnd(input, weight, bias, stride, padding, dilation, groups, nsp):
    name = f"conv{nsp}d"
    try:
        mismatch = bias is not None and input.dtype != bias.dtype   # torch's conv{n}d checks it
    except AttributeError:                                          # first
        tensor_ndim(name, input)    # (a non-Tensor input: TypeError before anything)
        raise
    if mismatch:
        if not isinstance(padding, str):
            raise RuntimeError(f"Input type ({cname(input.arr.dtype)}) and bias type "
                               f"({cname(bias.arr.dtype)}) should be the same")
        bias = bias.to(input.dtype)     # (its string-padding path casts the bias instead)
    _check_rank(input, nsp, name)
    _check_params(input if input.ndim == nsp + 2 else input.unsqueeze(0), weight, nsp, groups,
                  (("stride", stride), ("padding", padding), ("dilation", dilation),
                   ("output_padding", 0)))
    stride, dilation = ntuple(stride, nsp, "stride"), ntuple(dilation, nsp, "dilation")
    _check_conv_args(input, padding if isinstance(padding, str) else
                     ntuple(padding, nsp, "padding"), stride, dilation, False)
    try:
        pads = _conv_pads(padding, weight.shape[2:], stride, dilation, nsp)
    except AttributeError:
        raise_not_tensor(name, ("weight", 2, weight))

    def run(x):
        _check_common(x, weight, bias, nsp, groups, False)
        padded = [s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads)]
        kext = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
        if any(k > p for k, p in zip(kext, padded)):
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                f"Kernel size: ({' x '.join(map(str, kext))}). Kernel size can't be greater "
                "than actual input size")
        _check_weight_dtype(x, weight, stride, dilation, groups)
        _check_int_kernel(x, nsp, dilation, False, nsp == 3 and (
            any(v != 1 for v in (*weight.shape[2:], *stride)) or any(p != (0, 0) for p in pads)))
        return lay_out(apply(_conv, (x, weight, bias), (stride, pads, dilation, groups)), x,
                       weight)
    return _batched(input, nsp, run)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3)


# ---- transposed convolution (the adjoint of convolution) --------------------------------------
@op("convolution_transpose", amp="lower", node="ConvolutionBackward0", needs_mask=True)
@in_float("V")
def _conv_t(xp, x, w, b, stride, pads, dilation, groups, full):
    n = x.shape[0]
    ksize, spatial = w.shape[2:], x.shape[2:]
    x3 = _rows(xp, x, groups)                                    # (G, Cin/G, N * L)
    wr = _grouped(w, groups)                                     # (G, Cin/G, Cout/G * K)
    cols = _matmul(xp, wr.swapaxes(-1, -2), x3, "cols")
    cout = groups * w.shape[1]
    padded = (n, cout) + tuple(full)
    y = _col2im_nchw(xp, cols, padded, ksize, stride, dilation, spatial, pads)
    if b is not None:
        y += b.reshape(_bias_shape(len(full)))
    return y, (x3, wr, x.shape, w.shape, b is not None, stride, pads, dilation, groups)


@_conv_t.vjp
@holomorphic
def _(xp, g, x3, wr, xshape, wshape, has_b, stride, pads, dilation, groups, needs):
    gx = gw = gb = None
    if needs[0] or needs[1]:
        gpad = pad_const(xp, g, pads)
        gcols = _im2col(xp, gpad, wshape[2:], stride, dilation, xshape[2:], groups, "cols")
        if needs[0]:
            gx = _matmul(xp, wr, gcols, "y").reshape(xshape[1], xshape[0],
                                                     math.prod(xshape[2:])).swapaxes(0, 1)
            gx = gx.copy().reshape(xshape)
        if needs[1]:
            gw = xp.matmul(x3, gcols.swapaxes(-1, -2)).reshape(wshape)
    if has_b and needs[2]:
        gb = g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    return gx, gw, gb


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      nsp):
    name = f"conv_transpose{nsp}d"
    _check_rank(input, nsp, name)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    _check_params(input if input.ndim == nsp + 2 else input.unsqueeze(0), weight, nsp, groups,
                  (("stride", stride), ("padding", padding), ("dilation", dilation),
                   ("output_padding", output_padding)))
    stride, dilation = ntuple(stride, nsp, "stride"), ntuple(dilation, nsp, "dilation")
    padding = ntuple(padding, nsp, "padding")
    output_padding = ntuple(output_padding, nsp, "output_padding")
    _check_conv_args(input, padding, stride, dilation, True)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(_output_padding_message(output_padding, stride, dilation))

    def run(x):
        _check_common(x, weight, bias, nsp, groups, True)
        ksize = weight.shape[2:]
        full = tuple((s - 1) * st + d * (k - 1) + 1 + op for s, st, d, k, op in
                     zip(x.shape[2:], stride, dilation, ksize, output_padding))
        outs = [f - 2 * p for f, p in zip(full, padding)]
        if any(o < 0 for o in outs):
            raise RuntimeError(
                f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). "
                f"Calculated output size per channel: ({' x '.join(map(str, outs))}). "
                "Output size is too small")
        _check_weight_dtype(x, weight, stride, dilation, groups)
        _check_int_kernel(x, nsp, dilation, True)
        pads = tuple((p, p) for p in padding)
        return lay_out(apply(_conv_t, (x, weight, bias), (stride, pads, dilation, groups, full)),
                       x, weight)
    return _batched(input, nsp, run)


def _output_padding_message(output_padding, stride, dilation):
    names = ("depth", "height", "width")[-len(stride):] if len(stride) > 1 else ("width",)
    parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
    parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
    parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
    return ("output padding must be smaller than either stride or dilation, but got "
            + " ".join(parts))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 3)


# ---- unfold / fold ----------------------------------------------------------------------------
@op("im2col", saves=None, node="Im2ColBackward0")
def _unfold(xp, x, ksize, dilation, pads, stride):
    xpad = pad_const(xp, x, pads)
    out = out_sizes(xpad.shape[2:], ksize, stride, dilation)
    cols = windows(xp, xpad, ksize, stride, dilation, out)
    return cols.reshape(x.shape[0], x.shape[1] * math.prod(ksize), math.prod(out)), (
        xpad.shape, out, ksize, dilation,
                                                           pads, stride)


@_unfold.vjp
def _(xp, g, padded, out, ksize, dilation, pads, stride):
    cols = g.reshape(padded[:2] + ksize + out)
    return (_crop(col2im(xp, cols, padded, ksize, stride, dilation, out), pads),)


@op("col2im", saves=None, node="Col2ImBackward0")
def _fold(xp, x, shape, ksize, dilation, pads, stride, out):
    padded = shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(shape[2:], pads))
    cols = x.reshape(shape[:2] + ksize + out)
    y = _crop(col2im(xp, cols, padded, ksize, stride, dilation, out), pads)
    return xp.ascontiguousarray(y), (shape, ksize, dilation, pads, stride, out)


@_fold.vjp
def _(xp, g, shape, ksize, dilation, pads, stride, out):
    gpad = pad_const(xp, g, pads)
    cols = windows(xp, gpad, ksize, stride, dilation, out)
    return (cols.reshape(shape[0], shape[1] * math.prod(ksize), math.prod(out)),)


def _fold_args(kernel_size, dilation, padding, stride):
    k, d = ntuple(kernel_size, 2), ntuple(dilation, 2, "dilation")
    p, s = ntuple(padding, 2, "padding"), ntuple(stride, 2, "stride")
    return k, d, tuple((v, v) for v in p), s


_FOLD_CHECKS = {
    "kernel": lambda k, d, p, s: (k, 0, "kernel size should be greater than zero", "kernel"),
    "stride": lambda k, d, p, s: (s, 0, "stride should be greater than zero", "stride"),
    "dilation": lambda k, d, p, s: (d, 0, "dilation should be greater than zero", "dilation"),
    "padding": lambda k, d, p, s: (p, -1, "padding should be non-negative", "pad")}


def _check_fold_args(order, k, d, pads, s):
    """im2col's and col2im's shape checks on their arguments (in each one's order)."""
    p = tuple(v for v, _ in pads)
    for name in order:
        vals, floor, msg, short = _FOLD_CHECKS[name](k, d, p, s)
        if min(vals) <= floor:
            raise RuntimeError(f"{msg}, but got {short}_height: {vals[0]} {short}_width: "
                               f"{vals[1]}")


def _block_sizes(spatial, k, d, pads, s):
    return tuple((n + lo + hi - dd * (kk - 1) - 1) // ss + 1
                 for n, kk, dd, (lo, hi), ss in zip(spatial, k, d, pads, s))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.unfold: sliding local blocks (N, C*prod(K), L)."""
    nd, size = tensor_ndim("im2col", input), input.shape
    k, d, pads, s = _fold_args(kernel_size, dilation, padding, stride)
    _check_fold_args(("kernel", "dilation", "padding", "stride"), k, d, pads, s)
    # torch's im2col_shape_check reads sizes 1 and 2 first (IndexError below 3-D)
    valid = size[wrap_dim(1, nd)] != 0 and size[wrap_dim(2, nd)] != 0
    if not (nd == 3 and size[0] and valid or nd == 4 and valid and size[3]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")

    def run(x):
        blocks = _block_sizes(x.shape[2:], k, d, pads, s)
        if any(b < 1 for b in blocks):
            raise RuntimeError(
                f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={k}, "
                f"dilation={d}, padding={tuple(p for p, _ in pads)}, calculated shape of the "
                f"array of sliding blocks as {blocks}, but its components must be at least one.")
        if input.arr.dtype != np.bool_:     # (after the shape checks; bool runs too)
            float_only(input, "im2col_out_cpu", complex_ok=True)
        return apply(_unfold, (x,), (k, d, pads, s))
    return _batched(input, 2, run)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.fold: sum sliding blocks (N, C*prod(K), L) into (N, C, *output)."""
    nd, shape = tensor_ndim("col2im", input), input.shape
    k, d, pads, s = _fold_args(kernel_size, dilation, padding, stride)
    _check_fold_args(("kernel", "stride", "dilation", "padding"), k, d, pads, s)
    if not (nd == 2 and shape[0] and shape[1] or nd == 3 and shape[1] and shape[2]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                           f"size and non-zero dimensions for input, but got: {list(input.shape)}")
    size = ntuple(output_size, 2, "output_size")

    def run(x):
        kk = math.prod(k)
        if x.shape[1] % kk:
            raise RuntimeError(
                "Expected size of input's dimension 1 to be divisible by the product of "
                f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={k}.")
        blocks = _block_sizes(size, k, d, pads, s)
        if math.prod(blocks) != x.shape[2]:
            raise RuntimeError(
                f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                f"padding={tuple(p for p, _ in pads)}, stride={s}, expected size of input's "
                f"dimension 2 to match the calculated number of sliding blocks "
                f"{blocks[0]} * {blocks[1]} = {math.prod(blocks)}, but got "
                f"input.size(2)={x.shape[2]}.")
        if input.arr.dtype != np.bool_:     # (after the shape checks; bool runs too)
            float_only(input, "col2im_out_cpu", complex_ok=True)
        shape = (x.shape[0], x.shape[1] // kk) + size
        return apply(_fold, (x,), (shape, k, d, pads, s, blocks))
    if input.ndim == 2:
        return run(input.unsqueeze(0)).squeeze(0)
    return run(input)
