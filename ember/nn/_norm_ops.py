"""Normalisation: one fused primitive normalises over some axes and applies a broadcast affine;
batch_norm, layer_norm, group_norm and instance_norm are that primitive with different axes.
rms_norm and local_response_norm are torch's composites."""
import math
import os

import numpy as np

from .._tensor import Tensor, bump_version
from .._typenames import tp_name
from .._memory_format import _suggests_cl, channels_last, channels_last_3d, contiguous_out, \
    is_contiguous_as, suggested_layout
from ..ops import elementwise as _E
from ..ops._apply import apply, tensor_ndim, ureduce
from ..ops._registry import op
from .. import _kernel_dtypes as _D
from .._warnings import warn_once
from ..ops._fma import fma, fma64
from ..ops._torch_sum import einsum as _c_einsum       # (np.einsum without its wrapper)
from .._threads import intra_op_threads
from ._norm_exact import (batch_norm_bwd, batch_stats, group_norm_rows, group_norm_rows_bwd,
                          layer_norm_rows, layer_norm_rows_bwd)
from ..ops._torch_sum import torch_sum

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm"]


def _mean(x, axes):
    """x.mean(axes, keepdims=True) through ureduce (see its docstring), divided by the count
    as ndarray.mean divides (an integer, not rounded to x's dtype)."""
    s = ureduce("add", x, axes, True)
    n = math.prod(x.shape[a] for a in axes)
    if type(s) is np.ndarray and s.dtype in _FLOATS and 0 < n <= _EXACT_COUNT:
        # by the count in s's dtype, exact there: the intp divide computes in double and
        # rounds, which for float32 gives the same correctly rounded quotient (double has
        # more than 2 * 24 + 2 bits), without the mixed-type loop's casts (3x slower)
        s /= s.dtype.type(n)
    else:
        s /= np.intp(n)
    return s


def _moments(x, axes):
    mean = _mean(x, axes)
    xc = x - mean
    var = _mean(xc * xc, axes)
    return mean, var, xc


_F32 = np.dtype(np.float32)
_FLOATS = (_F32, np.dtype(np.float64))
_EXACT_COUNT = 1 << 24          # counts a float32 holds exactly
_FMA_BLOCK = 1 << 16
_ROWS_EXACT = 32        # _rows_var_sum's Python loop: about 1.5 us a row


def _batch_moments(xp, a, axes):
    """Batch norm's per-channel (mean, sum of squared deviations), kept, as torch's CPU
    kernel for contiguous float32 (N, C, ...) input computes them: the sum accumulated in
    double and mean = float(sum / N); the float32 squares (x - mean)^2 summed in double and
    rounded to float32. (N, C) input: the mean as torch's (_rows_mean); the squares' sums as
    torch's (_rows_var_sum) for up to _ROWS_EXACT rows a thread, else as above, where torch's
    differ in the last bit for about a third of the channels. Contiguous float32/float64
    (N, C, HxW > 1) input: _norm_exact.batch_stats, torch's own order. Other dtypes: in the
    compute dtype (float32 for float16/bfloat16)."""
    x3 = _channel_rows(xp, a)
    if x3 is not None:
        keep = (1, -1) + (1,) * len(axes[1:])
        mean, var_sum = batch_stats(x3)
        return mean.reshape(keep), var_sum.reshape(keep)
    if a.dtype != _F32:
        a = _compute(a)
        mean = _mean(a, axes)
        xc = a - mean
        return mean, ureduce("add", xc * xc, axes, True)
    n = a.size // a.shape[1]
    if xp is np and a.size == a.shape[0] * a.shape[1] and a.flags.c_contiguous:
        keep = (1, -1) + (1,) * len(axes[1:])
        a2 = a.reshape(a.shape[0], -1)
        mean = _rows_mean(a2, n)
        if 1 < -(-n // intra_op_threads()) <= _ROWS_EXACT:
            return mean.reshape(keep), _rows_var_sum(a2, mean).reshape(keep)
        mean = mean.reshape(keep)
    else:
        mean = (_sum64(a, axes) / n).astype(_F32)
    xc = a - mean
    xc *= xc
    return mean, _sum64(xc, axes).astype(_F32)


# torch's own kernel orders (_norm_exact: layer, group, batch and instance norm bit for bit in
# float32/float64) replay its sequential loops and cost 3-20x the vectorised forms (LayerNorm
# (256, 256) forward and backward: 6.8 against 0.33 ms): on with EMBER_EXACT_NORMS=1
EXACT = os.environ.get("EMBER_EXACT_NORMS", "0").lower() in ("1", "true", "on", "yes")


def _channel_rows(xp, a):
    """A contiguous float32/float64 NumPy (N, C, ...) array as (N, C, HxW), where torch's CPU
    batch norm takes its contiguous kernel (HxW > 1: an (N, C) or (N, C, 1, ...) input takes
    its channels-last one), with EXACT on; else None."""
    if not EXACT or xp is not np or a.dtype not in _FLOATS or a.ndim < 3 or \
            not a.flags.c_contiguous or a.size <= a.shape[0] * a.shape[1]:
        return None
    return a.reshape(a.shape[0], a.shape[1], -1)


def _sum64(a, axes):
    """a's sums over axes (kept) accumulated in double; a NumPy array through the ufunc's
    reduce (see ureduce)."""
    if type(a) is np.ndarray:
        return np.add.reduce(a, axis=axes, dtype=np.float64, keepdims=True)
    return a.sum(axis=axes, dtype=np.float64, keepdims=True)


def _rows_mean(a2, n):
    """The mean of a float32 (N, C) array's columns as torch's channels-last kernel computes it
    (an (N, C) or (N, C, 1, ...) input takes it): float32 sums of each thread's chunk of rows,
    in row order, added in double."""
    threads = intra_op_threads()
    if n <= threads:
        return (a2.sum(0, dtype=np.float64) / n).astype(_F32)
    chunk = -(-n // threads)
    total = np.zeros(a2.shape[1])
    for i in range(0, n, chunk):
        part = a2[i:i + chunk]
        # a column's sum is row by row, but for one column: NumPy's reduce sums pairwise there
        total += np.add.reduce(part, axis=0) if a2.shape[1] > 1 else \
            np.add.accumulate(part, axis=0)[-1]
    return (total / n).astype(_F32)


def _rows_var_sum(a2, mean):
    """The columns' sums of squared deviations as torch's channels-last kernel computes them
    for more rows than threads: each thread adds (x - mean)^2 to its float32 sums with a fused
    multiply-add, a row at a time, over its chunk of rows; the chunks' sums are added in
    double. The row loop runs in Python (vectorised over the threads' chunks): batch_norm
    takes it for up to _ROWS_EXACT rows a thread."""
    n, c = a2.shape
    threads = intra_op_threads()
    chunk = -(-n // threads)
    d = np.zeros((threads * chunk, c), np.float32)     # padding rows add 0
    np.subtract(a2, mean, out=d[:n])
    sq = d.reshape(threads, chunk, c).transpose(1, 0, 2).astype(np.float64)
    sq *= sq                                            # exact: float32 squares fit float64
    acc = np.zeros((threads, c), _F32)
    for row in sq:
        np.add(acc, row, out=acc, casting="unsafe")     # in float64, rounded once
    return acc.sum(0, dtype=np.float64).astype(_F32)


def _batch_invstd(xp, var_sum, n, eps, exact):
    """1 / sqrt(var_sum / n + eps); `exact` (float32 input): var_sum / n in float32, the rest in
    double (torch's InvStd<acc_type>) rounded to float32."""
    if not exact:
        return 1 / xp.sqrt(var_sum / n + eps)
    var = var_sum / _F32.type(n)
    return (1 / xp.sqrt(var.astype(np.float64) + eps)).astype(_F32)


def batch_norm_stats(input, eps):
    """torch.native_batch_norm's training statistics of `input` (N, C, ...): (save_mean,
    save_invstd) arrays of shape (C,)."""
    xp = input.be.xp
    axes = (0,) + tuple(range(2, input.ndim))
    mean, var_sum = _batch_moments(xp, input.arr, axes)
    invstd = _batch_invstd(xp, var_sum, input.numel() // input.shape[1], eps,
                           input.arr.dtype == _F32)
    return mean.reshape(-1), invstd.reshape(-1)


def _rows(xp, a, axes, affine, wshape):
    """a as (rows, n) when `axes` are its trailing dims and the affine (if any) is per column
    of that view (layer norm), for a C-contiguous float32/64 NumPy array: there, einsum's row
    sums are 3x faster than mean() over the last axis."""
    lead = a.ndim - len(axes)
    if xp is not np or a.dtype.kind != "f" or a.dtype.itemsize < 4 or \
            not a.flags.c_contiguous or axes != tuple(range(lead, a.ndim)) or \
            (affine and tuple(wshape) != (1,) * lead + a.shape[lead:]):
        return None
    n = math.prod(a.shape[a.ndim - len(axes):])
    return a.reshape(-1, n) if n else None


_CONSTS = {}        # (dtype, Python number) -> that number as a 0-d array of the dtype


def _const(dt, v):
    c = _CONSTS.get((dt, v))
    if c is None:
        if len(_CONSTS) >= 256:
            _CONSTS.clear()
        c = _CONSTS[dt, v] = np.array(v, dt)
    return c


def _rows_fwd(x, x2, w, b, axes, wshape, eps):
    # np.einsum's own ufuncs in place (the same dtypes, so the same bits): small inputs spend
    # their time in the calls, not the arithmetic
    n = x2.shape[1]
    dt = x2.dtype
    # the Python numbers as 0-d arrays of x2's dtype, which they convert to exactly (n up to
    # 2**24) or by the same one rounding (eps): a ufunc converts a Python number per call
    cn = _const(dt, n) if n <= _EXACT_COUNT else n
    mean = _c_einsum("ij->i", x2)
    np.divide(mean, cn, out=mean)
    xhat = x2 - mean[:, None]
    invstd = _c_einsum("ij,ij->i", xhat, xhat)
    np.divide(invstd, cn, out=invstd)
    if type(eps) is float:      # (a NumPy float64 eps promotes: out of place as it did; a
        # huge eps, whose cast overflows with a warning, stays a Python float: each call warns)
        np.add(invstd, _const(dt, eps) if 0 <= eps < 1 else eps, out=invstd)
        np.sqrt(invstd, out=invstd)
        np.divide(_const(dt, 1), invstd, out=invstd)
    else:
        invstd = 1 / np.sqrt(invstd + eps)
    xhat *= invstd[:, None]
    y = xhat
    if w is not None:
        y = y * w.reshape(-1)
    if b is not None:
        y = y + b.reshape(-1) if y is xhat else np.add(y, b.reshape(-1), out=y)
    keep = x.shape[:x.ndim - len(axes)] + (1,) * len(axes)
    return y, xhat.reshape(x.shape), invstd.reshape(keep).astype(x.dtype, copy=False)


def _norm_fwd(xp, x, w, b, view, axes, wshape, eps, stats, frozen):
    """y = (x - mean) * invstd * w + b; stats (mean, invstd) given or computed over axes.

    `frozen` stats (eval-mode batch_norm) are constants: no gradient flows through them.
    float16/bfloat16 input is computed in float32 (torch's CPU kernels do) and rounded once."""
    shape, dt = x.shape, x.dtype
    if dt.itemsize == 2:
        x = x.astype(np.float32)
        if stats is not None:
            stats = tuple(t.astype(np.float32) for t in stats)
    if view is not None:
        x = x.reshape(view)
    # torch's kernels for float16/bfloat16 input and parameters (not float32 ones) save the
    # mean and rstd in that dtype: backward reads the rounded statistics
    half_stats = dt.itemsize == 2 and stats is None and (w is None or w.dtype == dt)
    x2 = _rows(xp, x, axes, w is not None or b is not None, wshape) \
        if stats is None and not half_stats else None
    if EXACT and stats is None and view is not None and xp is np and dt in _FLOATS and \
            x.flags.c_contiguous and all(p is None or p.dtype == dt for p in (w, b)):
        # group norm in torch's order (see _norm_exact): the saved "xhat" is (groups, mean)
        x3 = x.reshape(view[0] * view[1], view[2], view[3])
        y, mean, rstd = group_norm_rows(x3, view[1], w, b, eps)
        saved = ((x3, mean), rstd.reshape(view[:2] + (1, 1)), w,
                 None if b is None else b.shape, shape, axes, wshape, frozen)
        return y.reshape(shape), saved
    if EXACT and x2 is not None and view is None and dt in _FLOATS and \
            all(p is None or p.dtype == dt for p in (w, b)):
        # layer norm in torch's order (see _norm_exact): the saved "xhat" is (rows, mean)
        y, mean, rstd = layer_norm_rows(x2, None if w is None else w.reshape(-1),
                                        None if b is None else b.reshape(-1), eps)
        keep = shape[:len(shape) - len(axes)] + (1,) * len(axes)
        saved = ((x2, mean), rstd.reshape(keep), w, None if b is None else b.shape, shape, axes,
                 wshape, frozen)
        return y.reshape(shape), saved
    if x2 is not None:
        y, xhat, invstd = _rows_fwd(x, x2, w, b, axes, wshape, eps)
        saved = (xhat, invstd, w, None if b is None else b.shape, shape, axes, wshape, frozen)
        return _output(y, shape, dt, w, b), saved
    if stats is None:
        mean, var, xc = _moments(x, axes)
        invstd = 1 / xp.sqrt(var + eps)
    elif len(stats) == 3:       # training statistics from batch_stats: torch's kernel throughout
        return _exact_batch_fwd(x, w, b, stats, shape, axes, wshape)
    else:
        mean, invstd = stats
        if dt == _F32:
            return _affine_fwd(xp, x, w, b, mean, invstd, wshape, shape, frozen, axes)
        xc = x - mean
    xhat = xc * invstd
    y = xhat
    if w is not None:
        y = y * w.reshape(wshape)
    if b is not None:
        y = y + b.reshape(wshape)
    if half_stats:
        invstd = invstd.astype(dt).astype(np.float32)
        xhat = (x - mean.astype(dt).astype(np.float32)) * invstd
    saved = (xhat, invstd, w, None if b is None else b.shape, shape, axes, wshape, frozen)
    return _output(y, shape, dt, w, b), saved


def _exact_batch_fwd(x, w, b, stats, shape, axes, wshape):
    """Batch norm (reps 1) or instance norm (reps N: batch norm over the (1, N * C, HxW) view,
    the affine repeated N times) of a contiguous float32/float64 x with the statistics of
    _norm_exact.batch_stats, as torch's contiguous kernel: alpha = invstd * w, beta =
    fma(-mean, alpha, b), y = fma(x, alpha, beta). The saved "xhat" is (x3, mean, reps), which
    _norm_bwd hands to _norm_exact.batch_norm_bwd."""
    mean, invstd, reps = stats
    x3 = x.reshape(x.shape[0] // reps, x.shape[1] * reps, -1)
    mean, invstd = mean.reshape(-1), invstd.reshape(-1)
    alpha = invstd if w is None else invstd * np.tile(w.reshape(-1), reps)
    beta = np.tile(b.reshape(-1), reps) if b is not None else np.zeros_like(alpha)
    beta = fma(np, -mean, alpha, beta, x.dtype) if x.dtype == _F32 else fma64(np, -mean, alpha,
                                                                               beta)
    if x.dtype == _F32 and x.size > _FMA_BLOCK:
        y = _fma_channels(x3, alpha, beta)
    else:
        y = (fma(np, x3, alpha[:, None], beta[:, None], _F32) if x.dtype == _F32 else
             fma64(np, x3, alpha[:, None], beta[:, None]))
    saved = ((x3, mean, reps), invstd.reshape(wshape if reps == 1 else (shape[0],) + wshape[1:]),
             w, None if b is None else b.shape, shape, axes, wshape, False)
    return y.reshape(shape), saved


def _affine_fwd(xp, x, w, b, mean, invstd, wshape, shape, frozen, axes):
    """float32 batch norm with given statistics as torch's CPU kernel computes it: per channel
    alpha = invstd * w and beta = fma(-mean, alpha, b), then y = fma(x, alpha, beta)."""
    alpha = invstd if w is None else invstd * w.reshape(wshape)
    beta = -mean * alpha if b is None else fma(xp, -mean, alpha, b.reshape(wshape), _F32)
    y = _fma_channels(x, alpha, beta) if xp is np and x.size > _FMA_BLOCK and \
        x.flags.c_contiguous else fma(xp, x, alpha, beta, _F32)
    xhat = x - mean
    xhat *= invstd
    saved = (xhat, invstd, w, None if b is None else b.shape, shape, axes, wshape, frozen)
    return y.reshape(shape), saved


def _fma_channels(x, alpha, beta):
    """fma(x, alpha, beta) for a C-contiguous float32 (N, C, ...) array and alpha and beta per
    channel (batch norm) or per sample and channel (instance norm), through float64 a few
    samples at a time (whole float64 temporaries are 3x slower: they go out to memory)."""
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    out = np.empty(x3.shape, _F32)
    a3, b3 = alpha.reshape(-1, c, 1), beta.reshape(-1, c, 1)       # of one shape
    whole = a3.shape[0] == 1
    k = max(1, _FMA_BLOCK // max(x3[0].size, 1))
    buf = np.empty((min(k, n),) + x3.shape[1:])
    for i in range(0, n, k):
        part = buf[:min(k, n - i)]
        np.multiply(x3[i:i + k], a3 if whole else a3[i:i + k], out=part, dtype=np.float64)
        part += b3 if whole else b3[i:i + k]
        out[i:i + k] = part
    return out.reshape(x.shape)


def _output(y, shape, dt, w, b):
    """The output in the input's dtype; without weight and bias y is the saved xhat itself,
    so it is copied: an in-place op on the output (a ReLU(inplace=True) after an InstanceNorm)
    must not change what backward reads."""
    if w is None and b is None:
        return y.reshape(shape).astype(dt, copy=True)
    return y.reshape(shape).astype(dt, copy=False)


def _rows_bwd(g2, xhat2, invstd, w, b_shape, shape, needs):
    n = xhat2.shape[1]
    gx = gw = gb = None
    if needs[0]:
        gxhat = g2 * w.reshape(-1) if w is not None else g2.copy()
        m1 = _c_einsum("ij->i", gxhat)
        np.divide(m1, n, out=m1)
        m2 = _c_einsum("ij,ij->i", gxhat, xhat2)
        np.divide(m2, n, out=m2)
        t = xhat2 * m2[:, None]
        t += m1[:, None]
        gxhat -= t
        gxhat *= invstd.reshape(-1, 1)
        gx = gxhat.reshape(shape)
    if w is not None and needs[1]:
        gw = _c_einsum("ij,ij->j", g2, xhat2).reshape(w.shape)
    if b_shape and needs[2]:
        gb = _c_einsum("ij->j", g2).reshape(b_shape)
    return gx, gw, gb


def _norm_bwd(xp, g, xhat, invstd, w, b_shape, shape, axes, wshape, frozen, needs):
    """(b_shape: the bias's shape, None without a bias.)"""
    if type(xhat) is tuple and len(xhat) == 3:          # _exact_batch_fwd's
        x3, mean, reps = xhat
        g3 = np.ascontiguousarray(g, dtype=x3.dtype).reshape(x3.shape)
        wr = None if w is None else np.tile(w.reshape(-1), reps)
        gx, gw, gb = batch_norm_bwd(g3, x3, mean, invstd.reshape(-1), wr,
                                    (needs[0], w is not None and needs[1], b_shape and needs[2]))
        if reps > 1:        # (instance norm: the repeated affine's gradients summed, as torch)
            gw, gb = (None if t is None else torch_sum(t.reshape(reps, -1), (0,), False)
                      for t in (gw, gb))
        return (None if gx is None else gx.reshape(shape),
                None if gw is None else gw.reshape(w.shape),
                None if gb is None else gb.reshape(b_shape))
    if type(xhat) is tuple and xhat[0].ndim == 3:       # group norm's exact forward
        x3, mean = xhat
        g3 = np.ascontiguousarray(g, dtype=x3.dtype).reshape(x3.shape)
        gx, gw, gb = group_norm_rows_bwd(g3, x3, mean, invstd.reshape(-1),
                                         None if w is None else w.reshape(-1), invstd.shape[1],
                                         (needs[0], w is not None and needs[1],
                                          b_shape and needs[2]))
        return (None if gx is None else gx.reshape(shape),
                None if gw is None else gw.reshape(w.shape),
                None if gb is None else gb.reshape(b_shape))
    if type(xhat) is tuple:                 # layer norm's exact forward: (rows, mean)
        x2, mean = xhat
        g2 = np.ascontiguousarray(g, dtype=x2.dtype).reshape(x2.shape)
        gx, gw, gb = layer_norm_rows_bwd(g2, x2, mean, invstd.reshape(-1),
                                         None if w is None else w.reshape(-1),
                                         (needs[0], needs[1], b_shape and needs[2]),
                                         intra_op_threads())
        return (None if gx is None else gx.reshape(shape),
                None if gw is None else gw.reshape(w.shape),
                None if gb is None else gb.reshape(b_shape))
    g = g.reshape(xhat.shape)
    if g.dtype != xhat.dtype:               # float16/bfloat16: computed in float32 (xhat's)
        g = g.astype(xhat.dtype)
    affine = w is not None or b_shape
    # (g first: a broadcast gradient, sum()'s, is not C-contiguous: xhat is not looked at)
    g2 = _rows(xp, g, axes, affine, wshape) if not frozen else None
    xhat2 = _rows(xp, xhat, axes, affine, wshape) if g2 is not None else None
    if xhat2 is not None:
        return _rows_bwd(g2, xhat2, invstd, w, b_shape, shape, needs)
    red = tuple(i for i, s in enumerate(wshape) if s == 1)
    gx = gw = gb = None
    if needs[0]:
        gxhat = g if w is None else g * w.reshape(wshape)
        if frozen:
            gx = gxhat * invstd
        else:
            if type(gxhat) is np.ndarray and gxhat.size:    # ndarray.mean without its wrapper
                m1 = _mean(gxhat, axes)
                m2 = _mean(gxhat * xhat, axes)
            else:
                m1 = gxhat.mean(axis=axes, keepdims=True)
                m2 = (gxhat * xhat).mean(axis=axes, keepdims=True)
            gx = invstd * (gxhat - m1 - xhat * m2)
        gx = gx.reshape(shape)
    nd = type(g) is np.ndarray          # (ndarray.sum without its wrapper)
    if w is not None and needs[1]:
        gw = (ureduce("add", g * xhat, red) if nd else (g * xhat).sum(axis=red)).reshape(w.shape)
    if b_shape and needs[2]:
        gb = (ureduce("add", g, red) if nd else g.sum(axis=red)).reshape(b_shape)
    return gx, gw, gb


_NORM = {name: op(name, needs_mask=True, node=node)(_norm_fwd).vjp(_norm_bwd)
         for name, node in (("native_batch_norm", "NativeBatchNormBackward0"),
                            ("native_layer_norm", "NativeLayerNormBackward0"),
                            ("native_group_norm", "NativeGroupNormBackward0"))}


def _group_norm_stats_fwd(xp, x, w, b, view, axes, wshape, eps):
    """torch.native_group_norm: the output and each group's mean and rstd, as (N, group)."""
    y, saved = _norm_fwd(xp, x, w, b, view, axes, wshape, eps, None, False)
    if type(saved[0]) is tuple:         # (the exact kernel's statistics)
        mean = saved[0][1].reshape(view[:2])
    else:
        mean = _compute(x).reshape(view).mean(axis=axes)
    rstd = saved[1].reshape(mean.shape)
    return (y, mean.astype(x.dtype, copy=False), rstd.astype(x.dtype, copy=False)), saved


def _group_norm_stats_bwd(xp, gs, xhat, invstd, w, b_shape, shape, axes, wshape, frozen, needs):
    """torch's infinitely_differentiable_native_group_norm_backward: the output's gradient as
    group_norm's, plus the statistics' own (d mean / dx = 1/n, d rstd / dx = -rstd^2 xhat / n)
    only when both mean and rstd received one; no gradient at all when none reached any."""
    g, gmean, grstd = gs
    gx = gw = gb = None
    if g is not None:
        gx, gw, gb = _norm_bwd(xp, g, xhat, invstd, w, b_shape, shape, axes, wshape, frozen,
                               needs)
    if needs[0] and gmean is not None and grstd is not None:
        if type(xhat) is tuple:         # (the exact kernel's saved groups and means)
            x3, mean = xhat
            xhat = ((x3 - mean[:, None, None]) * invstd.reshape(-1, 1, 1)).reshape(
                invstd.shape[:2] + x3.shape[1:])
        keep = invstd.shape
        term = (gmean.reshape(keep) - grstd.reshape(keep) * (invstd * invstd) * xhat) / \
            (xhat.size // max(invstd.size, 1))
        term = term.reshape(shape)
        gx = term if gx is None else gx + term
    return gx, gw, gb


_GROUP_NORM_STATS = op("native_group_norm_stats", needs_mask=True, n_out=3,
                       node="NativeGroupNormBackward0")(_group_norm_stats_fwd).vjp(
                           _group_norm_stats_bwd)
# the statistics' gradients count only where given (see _group_norm_stats_bwd): the engine hands
# None, not zeros, for an output that received none (the class is group_norm's node's too,
# whose single output is never filled in)
_GROUP_NORM_STATS.node_cls.materialize_grads = False


def _compute(a):
    """The array in its compute dtype: float32 for float16/bfloat16 (torch's opmath)."""
    return a.astype(np.float32) if a.dtype.itemsize == 2 else a


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def _check_len(t, name, c):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _update(t, new, bump=True):
    """In-place running-stat update of buffer t (torch does this under no_grad). `bump`: record
    it in t's version counter, as torch's instance norm (running_mean.copy_) does; its batch
    norm kernels write the running statistics without (their versions stay as they were)."""
    xp = t.be.xp
    xp.copyto(t.arr, new.reshape(t.arr.shape), casting="unsafe")
    if bump:
        bump_version(t)


def _update_running(running_mean, running_var, mean, var_sum, n, momentum, exact):
    """running = momentum * batch + (1 - momentum) * running, with the unbiased variance
    var_sum / (n - 1) (NaN from one value per channel). `exact` (float32 input) as torch
    computes it: in float32 with momentum rounded to float32, but for running_var's sum
    (in double, of momentum * unbiased in double and the float32 (1 - momentum) *
    running_var)."""
    new_mean, new_var = _running_values(None if running_mean is None else running_mean.arr,
                                        None if running_var is None else running_var.arr,
                                        mean, var_sum, n, momentum, exact)
    if running_mean is not None:
        _update(running_mean, new_mean, False)
    if running_var is not None:
        _update(running_var, new_var, False)


def _running_values(rm, rv, mean, var_sum, n, momentum, exact):
    """_update_running's new running mean and variance (None for an rm or rv of None); float64
    as torch's: unbiased = var_sum / (n - 1)."""
    if exact:
        m = _F32.type(momentum)
    new_mean = new_var = None
    if rm is not None and exact:
        new_mean = m * mean + (1 - m) * rm
    elif rm is not None:
        new_mean = (1 - momentum) * rm + momentum * mean
    if rv is None:
        return new_mean, new_var
    with np.errstate(divide="ignore", invalid="ignore"):
        if exact:
            unbiased = (var_sum / _F32.type(n - 1)).astype(np.float64)
            new_var = m.astype(np.float64) * unbiased + ((1 - m) * rv).astype(np.float64)
        else:
            unbiased = var_sum / (n - 1) if var_sum.dtype == np.float64 else \
                var_sum / n * (n / (n - 1) if n > 1 else math.nan)
            new_var = (1 - momentum) * rv + momentum * unbiased
    return new_mean, new_var


def _verify_batch_size(size):
    """torch.nn.functional's check for training statistics: a channel of one value normalises
    to 0."""
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{size!r}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """torch.nn.functional.batch_norm: its Python checks, then torch.batch_norm's kernel."""
    if training:
        _verify_batch_size(input.shape)
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    return batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum,
                             eps)


def _check_flag_and_momentum(fn, flag_name, flag, momentum):
    """torch's argument parser on batch_norm and instance_norm's bool flag (position 6: a bool
    only, not an int or a NumPy bool) and momentum (position 7: a number; no None, which only
    the modules take, for a cumulative average)."""
    if type(flag) is not bool:
        raise TypeError(f"{fn}(): argument '{flag_name}' (position 6) must be bool, not "
                        f"{tp_name(flag)}")
    if not isinstance(momentum, (int, float, np.number, Tensor)):
        raise TypeError(f"{fn}(): argument 'momentum' (position 7) must be float, not "
                        f"{tp_name(momentum)}")


def batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """torch.batch_norm: running_var is updated with the unbiased variance (NaN from one value
    per channel, which only torch.nn.functional refuses)."""
    _check_flag_and_momentum("batch_norm", "training", training, momentum)
    if training and (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be "
                         "None")
    if input.ndim < 2:      # torch: no features; reading size(1) of a nonempty input fails
        for t, name in ((running_mean, "running_mean"), (running_var, "running_var")):
            _check_len(t, name, 0)
        if input.numel() and not training and running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if input.numel():
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but "
                             "got 1)")
        return input.clone()
    c = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_len(t, name, c)
    _D.norm_params(input, "batch_norm", weight, bias, running_mean, running_var,
                   dispatch_first=True)
    axes = (0,) + tuple(range(2, input.ndim))
    wshape = _channel_shape(input.ndim)
    xp = input.be.xp
    dt = _compute(input.arr[:0]).dtype
    if not training or not input.numel():      # (an empty batch leaves the statistics alone)
        if running_mean is None and training:
            mean, invstd = xp.zeros(c, dt).reshape(wshape), xp.ones(c, dt).reshape(wshape)
        elif running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        elif running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
        else:
            mean = running_mean.arr.astype(dt).reshape(wshape)
            invstd = (1 / xp.sqrt(running_var.arr.astype(dt) + eps)).reshape(wshape)
        return suggested_layout(apply(_NORM["native_batch_norm"], (input, weight, bias),
                             (None, axes, wshape, eps, (mean, invstd), True)), input)
    n = input.numel() // c
    exact = input.arr.dtype == _F32
    mean, var_sum = _batch_moments(xp, input.arr, axes)
    if xp is np and input.arr.dtype.kind == "V" and input.arr.dtype.itemsize == 2 and all(
            p is None or p.arr.dtype == input.arr.dtype for p in (weight, running_mean)):
        mean, invstd = _bfloat16_stats(input.arr, mean, var_sum, n, eps, running_mean,
                                       running_var, momentum)
        return suggested_layout(apply(_NORM["native_batch_norm"], (input, weight, bias),
                             (None, axes, wshape, eps, (mean, invstd), False)), input)
    invstd = _batch_invstd(xp, var_sum, n, eps, exact)
    _update_running(running_mean, running_var, mean.ravel(), var_sum.ravel(), n, momentum,
                    exact)
    if xp is np and input.arr.dtype == np.float16 and all(
            p is None or p.arr.dtype == np.float16 for p in (weight, running_mean)):
        # float16 parameters: torch's CPU kernel saves (and normalizes with) mean and invstd
        # in float16, invstd from the float variance (bfloat16's rounding is not this one)
        mean, invstd = (v.astype(np.float16).astype(_F32) for v in (mean, invstd))
    stats = (mean, invstd) if _channel_rows(xp, input.arr) is None else (mean, invstd, 1)
    return suggested_layout(apply(_NORM["native_batch_norm"], (input, weight, bias),
                         (None, axes, wshape, eps, stats, False)), input)


def _update_running_half(running_mean, running_var, mean, var_sum, n, momentum, rnd):
    """torch's running-statistics update with float16/bfloat16 parameters, in their dtype
    (each operation rounded by `rnd`): m = dtype(momentum), running_mean = m * mean + (1 - m)
    * running_mean; running_var = m * unbiased (in float) + (1 - m) * running_var, with
    unbiased = var_sum / dtype(n - 1)."""
    m = rnd(momentum)
    keep = rnd(1 - m)
    if running_mean is not None:
        _update(running_mean, rnd(m * mean) + rnd(keep * running_mean.arr.astype(_F32)),
                False)
    if running_var is not None:
        unbiased = rnd(var_sum / rnd(n - 1))
        _update(running_var, m * unbiased + rnd(keep * running_var.arr.astype(_F32)), False)


def _bfloat16_stats(a, mean, var_sum, n, eps, running_mean, running_var, momentum):
    """Training statistics of bfloat16 input with bfloat16 parameters as torch's CPU kernel
    keeps them, in bfloat16: mean and the sum of squared deviations rounded (the deviations
    from the rounded mean where each sample is one value a channel, torch's channels-last
    kernel), var = sum / bfloat16(n) rounded, invstd = 1 / sqrt(var + eps) rounded; the running
    statistics as _update_running_half. Returns the (mean, invstd) to normalize with, in
    float32."""
    dt = a.dtype

    def rnd(v):
        return np.asarray(v, _F32).astype(dt).astype(_F32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = rnd(mean)
        if a.size == a.shape[0] * a.shape[1] and a.flags.c_contiguous:
            xc = _compute(a).reshape(a.shape[0], -1) - mean.reshape(1, -1)
            var_sum = ureduce("add", xc * xc, 0).reshape(mean.shape)
        var_sum = rnd(var_sum)
        var = rnd(var_sum / rnd(n))
        invstd = rnd((1 / np.sqrt(var.astype(np.float64) + eps)).astype(_F32))
        _update_running_half(running_mean, running_var, mean.ravel(), var_sum.ravel(), n,
                             momentum, rnd)
    return mean, invstd


_NORMALIZED_SHAPE_EMPTY = ("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(map(int, normalized_shape))
    k = len(shape)
    nd = tensor_ndim("layer_norm", input)
    if k == 0:
        raise RuntimeError(_NORMALIZED_SHAPE_EMPTY)
    if tuple(input.arr.shape[nd - k:]) != shape or nd < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and weight.arr.shape != shape:
        _affine_shape_error("weight", weight, shape)
    if bias is not None and bias.arr.shape != shape:
        _affine_shape_error("bias", bias, shape)
    _D.norm_params(input, "LayerNormKernelImpl", weight, bias)
    lead = nd - k
    axes = _TRAILING.get((lead, nd)) or _TRAILING.setdefault((lead, nd), tuple(range(lead, nd)))
    wshape = (1,) * lead + shape
    return contiguous_out(apply(_NORM["native_layer_norm"], (input, weight, bias),
                                (None, axes, wshape, eps, None, False)))


_TRAILING = {}      # (lead, ndim): the axes tuple (lead, ..., ndim - 1), made once


def _affine_shape_error(name, t, shape):
    raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                       f"{name} of shape {list(t.shape)} and normalized_shape = {list(shape)}")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim >= 2:
        n, c = input.shape[:2]
        _verify_batch_size([n * c // num_groups, num_groups] + list(input.shape[2:]))
    view = _group_norm_view(input, num_groups, weight, bias)
    return suggested_layout(apply(_NORM["native_group_norm"], (input, weight, bias),
                                  (view, (2, 3), (1, num_groups, view[2], 1), eps, None, False)),
                            input)


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """torch.native_group_norm: (output, mean, rstd), the statistics outputs of the same node."""
    _group_norm_view(input, group, weight, bias)
    a = input.arr
    fmt = None      # torch's check of X.is_contiguous(X.suggest_memory_format()) (CPU's)
    if type(a) is np.ndarray and _suggests_cl(a):
        fmt = channels_last if a.ndim == 4 else channels_last_3d
    if not is_contiguous_as(a, fmt):
        raise RuntimeError("Expected X.is_contiguous(memory_format) to be true, but got false.  "
                           "(Could this error message be improved?  If so, please report an "
                           "enhancement request to PyTorch.)")
    view = (N, group, C // group, HxW)
    return apply(_GROUP_NORM_STATS, (input, weight, bias),
                 (view, (2, 3), (1, group, C // group, 1), eps))


def _group_norm_view(input, num_groups, weight, bias):
    """group_norm's checks; the (N, group, C // group, HxW) view its statistics reduce."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups="
                           f"{num_groups}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.ndim != 1 or t.shape[0] != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(input.shape)}")
    _D.norm_params(input, "GroupNormKernelImpl", weight, bias)
    return (n, num_groups, c // num_groups, math.prod(input.shape[2:]))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Per-sample, per-channel normalisation; running stats average the per-instance ones."""
    spatial = math.prod(input.shape[2:])
    if use_input_stats and spatial <= 1:      # (torch's _verify_spatial_size, any ndim)
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"torch.Size({list(input.shape)})")
    _check_flag_and_momentum("instance_norm", "use_input_stats", use_input_stats, momentum)
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{input.ndim or 1}"
                         f", {(input.ndim or 1) - 1}], but got 1)")
    c = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_len(t, name, c)
    _D.norm_params(input, "batch_norm", weight, bias, dispatch_first=True)
    axes = tuple(range(2, input.ndim))
    wshape = _channel_shape(input.ndim)
    xp = input.be.xp
    if not use_input_stats:
        dt = _compute(input.arr[:0]).dtype
        mean = running_mean.arr.astype(dt).reshape(wshape)
        invstd = (1 / xp.sqrt(running_var.arr.astype(dt) + eps)).reshape(wshape)
        return _instance_view(apply(_NORM["native_batch_norm"], (input, weight, bias),
                                    (None, axes, wshape, eps, (mean, invstd), True)))
    n, keep = input.shape[0], (input.shape[0], c) + (1,) * len(axes)
    x3 = _channel_rows(xp, input.arr.reshape((1, -1) + input.arr.shape[2:]))
    if x3 is not None:      # torch's: batch norm over the (1, N * C, HxW) view
        mean, var_sum = batch_stats(x3)
        exact = x3.dtype == _F32
        invstd = _batch_invstd(xp, var_sum, spatial, eps, exact)
        new_mean, new_var = _running_values(
            None if running_mean is None else np.tile(running_mean.arr, n),
            None if running_var is None else np.tile(running_var.arr, n),
            mean, var_sum, spatial, momentum, exact)
        # (the instances' running statistics averaged, in the running statistics' dtype: as
        # torch's mean(0), a sum in its order divided by n)
        for t, new in ((running_mean, new_mean), (running_var, new_var)):
            if t is not None:
                new = new.reshape(n, c).astype(t.arr.dtype, copy=False)
                total = torch_sum(new, (0,), False)
                _update(t, (ureduce("add", new, 0) if total is None else total) /
                        t.arr.dtype.type(n))
        return _instance_view(apply(_NORM["native_batch_norm"], (input, weight, bias),
                                    (None, axes, wshape, eps,
                                     (mean.reshape(keep), invstd.reshape(keep), n), False)))
    mean, var, _ = _moments(_compute(input.arr), axes)
    invstd = 1 / xp.sqrt(var + eps)
    if running_mean is not None:
        new = mean.reshape(input.shape[0], c).mean(0)
        _update(running_mean, (1 - momentum) * running_mean.arr + momentum * new)
    if running_var is not None:
        new = var.reshape(input.shape[0], c).mean(0) * (spatial / (spatial - 1))
        _update(running_var, (1 - momentum) * running_var.arr + momentum * new)
    return _instance_view(apply(_NORM["native_batch_norm"], (input, weight, bias),
                                (None, axes, wshape, eps, (mean, invstd), False)))


def _instance_view(out):
    """torch runs instance norm as batch norm over a (1, N*C, ...) view and views the result
    back: the output's grad_fn is ViewBackward0 over NativeBatchNormBackward0."""
    out = contiguous_out(out)       # (torch's result is a view of a contiguous batch norm's)
    return out.view(out.shape) if out.requires_grad else out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch.nn.functional.rms_norm: x * rsqrt(mean(x^2) + eps) * weight, computed in float32
    for float16/bfloat16 input (eps=None: that compute type's epsilon); the result has the
    input's dtype whatever the weight's, rounded once. torch warns (once) for a weight of
    another dtype than the input's: it cannot run its fused implementation."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if not k:
        raise RuntimeError(_NORMALIZED_SHAPE_EMPTY)
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape)}")
    if tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    dt = input.arr.dtype
    _D.float_only(input, "rms_norm", complex_ok=True)
    fused = weight is None or weight.arr.dtype == dt
    if not fused:
        warn_once(f"Mismatch dtype between input and weight: input dtype = {_D.cname(dt)}, "
                  f"weight dtype = {_D.cname(weight.arr.dtype)}, Cannot dispatch to fused "
                  "implementation.", key="rms_norm fused", stacklevel=1)
    reduced = _D.is_reduced(dt)
    x = input.float() if reduced else input
    if eps is None:
        eps = float(np.finfo(x.arr.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    out = x * _E._add_scalar(x.pow(2).mean(dims, keepdim=True), eps).rsqrt()   # torch's graph
    if reduced and weight is not None:
        return contiguous_out((out * weight).to(input.dtype))
    if reduced:
        out = out.to(input.dtype)
    if weight is None:
        return contiguous_out(out)
    out = out * weight
    return contiguous_out(out if out.arr.dtype == dt else out.to(input.dtype))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """torch's composite: average of squares over `size` neighbouring channels."""
    from ._pool_ops import avg_pool2d, avg_pool3d
    from ._resample_ops import pad
    dim = input.ndim
    if dim < 3:
        raise ValueError("Expected 3D or higher dimensionality                          "
                         f"input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:
        div = div.unsqueeze(1)
        div = pad(div, (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.view(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div
