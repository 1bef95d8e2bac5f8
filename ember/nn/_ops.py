"""Fused nn primitives: softmax, log_softmax, cross_entropy, nll_loss, binary_cross_entropy,
embedding, dropout, vector norm and cdist (forward on raw arrays, vjp beside it).

softmax/log_softmax/cross_entropy subtract the row max (stable) and reuse the exponentials
they computed: cross_entropy is max, subtract, exp, sum, divide forward and one multiply plus
a scatter backward."""
import numpy as np

from .._cpu import VEC_BYTES
from .._dtype import OF_NP, can_cast, result_type
from .._kernel_dtypes import tname
from .._tensor import _new
from ..backends import cuda_blas
from ..amp.state import AMP as _amp
from ..autograd.forward_ad import FW as _fw
from ..autograd.grad_mode import STATE as _grad
from ..autograd.node import node_class as _node_class
from ..ops._apply import _node, apply, quiet
from ..ops.creation import dense_order
from ..ops.index import index_add_rows
from ..ops._fma import fma64 as _fma64
from ..ops._norm2 import vector_norm as ordered_norm
from ..ops.reduce import _mean_fwd, _sum_fwd
from ..ops._torch_sum import einsum as _einsum
from ..ops._special import expit
from ..ops._registry import contiguous_outputs, no_complex_grad, op
from ._act_ops import _check_float, _half


def _arr(xp, r, like):
    return r if type(r) is type(like) else xp.asarray(r, dtype=like.dtype)


# ---- softmax / log_softmax -------------------------------------------------------------------
def _softmax_kernel(name, x, dim):
    """torch's kernel for the dispatch error: the last-dim one unless dim is an inner dim."""
    last = x.ndim <= 1 or dim is None or dim == x.ndim - 1
    return f"{name}_lastdim_kernel_impl" if last else f"{name}_kernel_impl"


@op("softmax", saves="out", node="SoftmaxBackward0")
def _softmax(xp, x, dim, masked=False):
    if x.size and x.dtype.char not in "fd":   # (an empty tensor reaches no kernel in torch)
        _check_float(x, _softmax_kernel("softmax", x, dim))
    if x.ndim == 0:                 # exp(x - max) / sum: 1, or NaN for a non-finite x
        y = xp.asarray(x - x + 1)
        return y, (y, None)
    if _half(x):                    # torch's kernel: in float32, rounded once
        e = _softmax_arrays(xp, x.astype(np.float32), dim, masked).astype(x.dtype)
    else:
        e = _softmax_arrays(xp, x, dim, masked)
    return e, (e, dim)


def _rowsum(xp, a, dim):
    """a.sum(dim, keepdims=True); over the last dim of a C-contiguous float32/64 NumPy array
    by einsum, 3x faster than sum() on short rows."""
    if xp is np and a.dtype.kind == "f" and a.dtype.itemsize >= 4 and a.flags.c_contiguous \
            and dim in (-1, a.ndim - 1):
        return _einsum("...i->...", a)[..., None]
    return a.sum(axis=dim, keepdims=True)


_ROW_STARTS = {}        # shape -> (the row starts _rowmax's reduceat takes, its result's shape)


def _rowmax(xp, a):
    """a.max(-1, keepdims=True). Short rows of a C-contiguous NumPy array are reduced in one
    reduceat call over the flat array: 2x faster than NumPy's reduction row by row (a
    maximum is exact, so the order is free)."""
    n = a.shape[-1]
    if xp is np and 1 < n <= 2048 and a.flags.c_contiguous and a.size:
        plan = _ROW_STARTS.get(a.shape)
        if plan is None:
            if len(_ROW_STARTS) >= 64:
                _ROW_STARTS.clear()
            plan = _ROW_STARTS[a.shape] = (np.arange(0, a.size, n), a.shape[:-1] + (1,))
        return np.maximum.reduceat(a.reshape(-1), plan[0]).reshape(plan[1])
    return a.max(axis=-1, keepdims=True)


def _lane_sum(e):
    """The sum over axis 0 of e (n, rows), rows > 1, as torch's vectorised reduce_all adds a
    row of n floats: rows shorter than one vector (of VEC_BYTES, see _cpu) left to right;
    longer rows in vector lanes, block after block, the tail added into the first lanes, then
    the lanes folded (_fold_lanes). Laid out with the row index last, every step is one long
    vectorised pass, and a reduction over axis 0 adds its rows in order (NumPy's loop runs
    the contiguous axis innermost): one call for the whole blocks. (Begun at -0.0, which adds
    exactly: NumPy's reductions begin at add's identity, +0.0, which turns a sum of -0.0s
    into +0.0.)"""
    n = e.shape[0]
    lanes = VEC_BYTES // e.dtype.itemsize
    if n < lanes:
        return np.add.reduce(e, 0, None, None, False, -0.0)
    nb = n // lanes
    acc = np.add.reduce(e[:nb * lanes].reshape(nb, lanes, -1), 0, None, None, False, -0.0)
    if n > nb * lanes:
        acc[:n - nb * lanes] += e[nb * lanes:]
    return _fold_lanes(acc)[0]


def _fold_lanes(acc):
    """The lanes (axis 0) of reduce_all's accumulator added up as torch's vec_reduce_all:
    float32 in halves (its shuffling VecReduceAllSIMD), other dtypes lane after lane."""
    if acc.dtype.itemsize != 4:
        if acc[0].size <= 64:       # (one accumulate, in order, for a few rows: it loops over
            return np.add.accumulate(acc, axis=0)[-1:]      # the columns)
        out = acc[0].copy()
        for j in range(1, acc.shape[0]):
            out += acc[j]
        return out[None]
    while acc.shape[0] > 1:
        h = acc.shape[0] // 2
        acc = acc[:h] + acc[h:]
    return acc


# _lane_rowsum's order of float32 lanes for NumPy's pairwise sum to fold them
_FOLD_ORDER = {8: np.array([0, 4, 2, 6, 1, 5, 3, 7])}
_FOLD_ORDER[16] = np.concatenate((_FOLD_ORDER[8], _FOLD_ORDER[8] + 8))
_LANES32 = VEC_BYTES // 4
_FOLD32 = _FOLD_ORDER[_LANES32]


def _lane_rowsum(e, nonneg=False):
    """_lane_sum over the last dim: many short rows through a transposed copy (NumPy's per-row
    overhead dominates rows of fewer than 256 floats: 3x faster), else in e's own layout.
    `nonneg`: e holds no -0.0 (exponentials), so float32 rows of whole vectors are summed in
    their own layout up to 128 rows or from 128 floats on (measured faster than the copies);
    that sum begins at +0.0, which a row of -0.0s (a gradient's) would tell apart."""
    n = e.shape[-1]
    if e.dtype.itemsize == 4 and n and not n % _LANES32 and (
            n >= 256 or e.size < 64 * n or not e.flags.c_contiguous or
            nonneg and (n >= 128 or e.size <= 128 * n)):
        # (the common case, float32 rows of whole vectors, first: see its steps below)
        acc = _einsum("rbl->rl", e.reshape(-1, n // _LANES32, _LANES32)).take(_FOLD32, 1)
        if e.ndim == 2:
            return np.add.reduce(acc, 1, None, None, True, 0.0)
        return np.add.reduce(acc, 1, None, None, False, 0.0).reshape(e.shape[:-1] + (1,))
    if 1 < n < 256 and e.size >= 64 * n and e.flags.c_contiguous:
        return _lane_sum(_transposed(e.reshape(-1, n), True)).reshape(e.shape[:-1] + (1,))
    lanes = VEC_BYTES // e.dtype.itemsize
    if not n:                       # rows of nothing sum to zero
        return np.zeros(e.shape[:-1] + (1,), e.dtype)
    if n < lanes:
        if e.size <= 64 * n:        # (few rows: one accumulate, in order, not a call a column;
            return np.add.accumulate(e, axis=-1)[..., -1:]      # it loops over the rows)
        acc = e[..., 0].copy()
        for j in range(1, n):
            acc += e[..., j]
        return acc[..., None]
    nb = n // lanes
    if e.dtype.itemsize == 4 and n == nb * lanes:
        # float32 lanes folded in halves: 8 add ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 +
        # l7)), the tree NumPy's pairwise sum makes of a contiguous row of 8 summed onto 0
        # (neighbours first); 16 first add lane i + 8 to lane i, as that sum's 8 accumulators
        # do over a row of 16. The blocks summed by an einsum, its rows of lanes put in that
        # order (the bits below the top lane bit reversed: lane 4i + 2j + k at 4k + 2j + i),
        # one reduction does all the folds (a third off a short row's sum)
        acc = _einsum("rbl->rl", e.reshape(-1, nb, lanes)).take(_FOLD_ORDER[lanes], 1)
        return np.add.reduce(acc, axis=1, initial=0.0).reshape(e.shape[:-1] + (1,))
    # blocks added in order into the lanes (einsum's loop over the blocks: 3x faster than sum),
    # laid out lanes first: the folds are passes over contiguous rows (on short rows the
    # strided halves of the rows' own layout cost more than the adds)
    e2 = e.reshape(-1, n)
    acc = _einsum("rjk->kr", e2[:, :nb * lanes].reshape(-1, nb, lanes))
    if n > nb * lanes:
        acc[:n - nb * lanes] += e2[:, nb * lanes:].T
    return _fold_lanes(acc).reshape(e.shape[:-1] + (1,))


def _transposed(a, out_rows_major):
    """A C-contiguous transposed copy of the 2-D array a, copied in blocks past 16K elements:
    NumPy's plain transposing copy runs at a fraction of memory speed there, and costs a call
    (not the several of the blocks) below (which blocking suits which direction was measured:
    rows of a short and many, or the reverse)."""
    r, c = a.shape
    if r * c <= 16384:
        return np.ascontiguousarray(a.T)
    out = np.empty((c, r), a.dtype)
    if out_rows_major:              # a (rows, n) -> (n, rows): slabs of 128 rows of a
        for i in range(0, r, 128):
            out[:, i:i + 128] = a[i:i + 128].T
    else:                           # a (n, rows) -> (rows, n): 8 rows of a at a time
        for j in range(0, r, 8):
            out[:, j:j + 8] = a[j:j + 8].T
    return out


def _exp32(a, in_place=False):
    """exp of the float32 array a computed in double and rounded once to float32 (torch's
    float32 exp is nearly correctly rounded, NumPy's float32 one is not), written into a itself
    where in_place (a temporary), else into a new array laid out as a: NumPy casts the double
    results buffer by buffer (no whole double copy)."""
    return np.exp(a, dtype=np.float64, out=a if in_place else np.empty_like(a))


def _softmax_lastdim_f32(x):
    """float32 softmax over the last dim as torch's CPU kernel computes it: row max, exp of the
    difference (nearly correctly rounded there: here in float64, then rounded), the lane-wise
    row sum, a multiply by its reciprocal. More than 64 short rows are computed on the
    transposed (n, rows) layout, where NumPy's reductions over short rows turn into passes over
    long contiguous ones: faster from 128 rows on, the two transposing copies included (2x
    past a thousand)."""
    n = x.shape[-1]
    if n >= 256 or x.size <= 64 * n:    # long rows, or few: NumPy's row reductions do well
        e = _exp32(x - _rowmax(np, x), True)
        e *= np.reciprocal(_lane_rowsum(e, True))   # (1 / z: correctly rounded either way)
        return e
    xt = _transposed(x.reshape(-1, n), True)
    xt -= np.maximum.reduce(xt, axis=0)
    e = _exp32(xt, True)
    e *= np.float32(1) / _lane_sum(e)
    return _transposed(e, False).reshape(x.shape)


def _softmax_arrays(xp, x, dim, masked=False):
    if x.size == 0:                 # NumPy's max has no identity for an empty reduction
        return xp.empty_like(x)
    if xp is np and x.dtype == np.float32 and not masked:
        # torch's CPU kernels, whose float32 exp is nearly correctly rounded (NumPy's is not):
        # along the last dim see _softmax_lastdim_f32; along an inner dim, exp, a sum in
        # order and a divide
        if dim in (-1, x.ndim - 1):
            return _softmax_lastdim_f32(x)
        e = _exp32(x - x.max(axis=dim, keepdims=True), True)
        e /= np.add.reduce(e, axis=dim, keepdims=True)
        return e
    if xp is np and x.dtype == np.float64 and not masked and dim in (-1, x.ndim - 1):
        # torch's last-dim kernel: the lane-order sum, a multiply by its reciprocal
        e = np.exp(x - _rowmax(np, x))
        e *= 1 / _lane_rowsum(e)
        return e
    m = x.max(axis=dim, keepdims=True)
    if masked:      # attention: a row masked everywhere gives zeros, not nan (torch's kernel)
        m = xp.where(xp.isneginf(m), 0, m)
    e = x - m
    xp.exp(e, out=e)
    z = _rowsum(xp, e, dim)
    if masked:
        z = xp.where(z == 0, 1, z)
    e /= z
    return e


def _softmax_grad_arrays(xp, g, y, dim):
    """torch's softmax backward, (g - sum(g * y)) * y; over the last dim of float32/float64
    NumPy arrays the sum in its kernel's lane order (_lane_rowsum)."""
    gy = g * y
    if xp is np and dim in (-1, y.ndim - 1) and y.dtype.char in "fd" and gy.flags.c_contiguous:
        s = _lane_rowsum(gy)
    else:
        s = _rowsum(xp, gy, dim)
    r = g - s
    r *= y
    return r


@_softmax.vjp
def _(xp, g, y, dim):
    if dim is None:                 # a 0-d input: torch's formula, 1 * (g - g * 1) = +0.0
        return (y * (g - g * y),)
    if _half(y):
        f32 = np.float32
        return (_softmax_grad_arrays(xp, g.astype(f32), y.astype(f32), dim).astype(y.dtype),)
    return (_softmax_grad_arrays(xp, g, y, dim),)


@op("log_softmax", saves="out", node="LogSoftmaxBackward0")
def _log_softmax(xp, x, dim):
    if x.size and x.dtype.char not in "fd":
        _check_float(x, _softmax_kernel("log_softmax", x, dim))
    if x.ndim == 0:                 # x - max - log(sum): 0, or NaN for a non-finite x
        y = xp.asarray(x - x)
        return y, (y, None)
    if x.size == 0:
        return xp.empty_like(x), (xp.empty_like(x), dim)
    if _lastdim_f32(xp, x, dim):    # torch's last-dim kernel
        s = _log_softmax_lastdim_f32(x)
        return s, (s, dim)
    a = x.astype(np.float32) if _half(x) else x     # torch's kernel: in float32, rounded once
    s = a - (_rowmax(xp, a) if dim in (-1, a.ndim - 1) else a.max(axis=dim, keepdims=True))
    if _lastdim_f32(xp, a, dim):
        # float16/bfloat16: torch's last-dim kernel keeps the sum and its log in x's dtype
        z = _lane_rowsum(_exp32(s))
        lz = np.log(z.astype(x.dtype).astype(np.float32), dtype=np.float64)
        s -= lz.astype(np.float32).astype(x.dtype).astype(np.float32)
    elif xp is np and a.dtype == np.float64 and dim in (-1, a.ndim - 1):
        s -= np.log(_lane_rowsum(np.exp(s)))        # (the kernel's lane-order sum)
    else:
        s -= xp.log(_rowsum(xp, xp.exp(s), dim))
    s = s.astype(x.dtype, copy=False)
    return s, (s, dim)


def _log_softmax_lastdim_f32(x):
    """float32 log_softmax over the last dim of a non-empty NumPy x as torch's kernel (see
    _softmax_lastdim_f32): x - max - log(the lane-order sum of exp(x - max)), exp and log
    nearly correctly rounded there (here in float64, then rounded: the log into the sum's own
    array)."""
    s = x - _rowmax(np, x)
    z = _lane_rowsum(_exp32(s), True)
    s -= np.log(z, dtype=np.float64, out=z)
    return s


def _lastdim_f32(xp, a, dim):
    return xp is np and a.dtype == np.float32 and dim in (-1, a.ndim - 1)


@_log_softmax.vjp
def _(xp, g, y, dim, hand=None):
    if hand is not None and hand.dx is g:       # (cross_entropy's: see _Handoff)
        t, g_t = hand.t, hand.g_t
        hand.dx = hand.t = hand.g_t = None
        return (_ce_logp_grad(y, t, g_t),)
    if dim is None:                 # a 0-d input: torch's formula, g - exp(0) * g = +0.0
        return (g - xp.exp(y) * g,)
    if _half(y):
        g32, y32 = g.astype(np.float32), y.astype(np.float32)
        return ((g32 - xp.exp(y32) * _rowsum(xp, g32, dim)).astype(y.dtype),)
    if _lastdim_f32(xp, y, dim) and g.dtype == np.float32:
        # torch: g - exp(y) * sum(g), the lane-order sum, one fused multiply-subtract: the
        # product of two floats exact in double, the difference in double rounded once (in
        # same-dtype passes: mixed-dtype ufunc calls cost more on small arrays)
        ey = _exp32(y).astype(np.float64)
        ey *= _lane_rowsum(g).astype(np.float64)
        d = g.astype(np.float64)
        d -= ey
        return (d.astype(np.float32),)
    return (g - xp.exp(y) * _rowsum(xp, g, dim),)


def _unrecorded(o, x, static):
    """apply(o, (x,), static) where nothing is recorded (x does not require grad, no autocast,
    no forward AD) and x is a plain Tensor: the forward and a new tensor, without apply's
    general argument handling (a third of a small softmax's time); None otherwise."""
    try:
        if x._rg or _amp.enabled or _fw.level is not None:
            return None
    except AttributeError:          # (not a Tensor: apply's TypeError)
        return None
    be = x.be
    fwd = o.impl[be.idx][0]
    try:
        out = fwd(be.xp, x.arr, *static)[0]
    except RuntimeWarning:
        out = quiet(fwd, be.xp, x.arr, *static)[0]
    return _new(out, be)


_F32 = np.dtype(np.float32)


def _lastdim_quick(o, plain, kernel, more, x, dim):
    """op o (its static arguments the last dim and `more`: softmax's (False,)) of a non-empty
    float32 NumPy Tensor x over its last dim (dim: an int, that dim or -1), the common case,
    straight to `kernel` (a third of a small softmax's time goes to the op's dispatch, checks
    and apply's general recording); None otherwise: another dim or input, autocast, forward
    AD, and while the profiler wraps the op's CPU forward (`plain` otherwise; another
    backend's is never `plain`)."""
    try:
        a, be = x.arr, x.be
        nd = a.ndim
        if type(a) is not np.ndarray or a.dtype is not _F32 or dim != nd - 1 and dim != -1 or \
                not nd or not a.size or _amp.enabled or _fw.level is not None or \
                o.impl[be.idx][0] is not plain:
            return None
        rg = x._rg
    except AttributeError:          # (not a Tensor: the general path's TypeError)
        return None
    try:
        out = kernel(a)
    except RuntimeWarning:
        out = quiet(kernel, a)
    if not out.flags.c_contiguous:
        out = out.copy(order="C")
    t = _new(out, be)
    if rg and _grad.enabled:        # (apply's recording of a one-output op saving its output)
        t._rg = True
        d = nd - 1
        node = t.grad_fn = _node(o, o.impl[0][1], be, (out, d), (x,), (d,) + more, (a,), out)
        if t._vc is None:
            t._vc = [0, 0]
        node.out_vc = t._vc
    return t


def softmax_quick(x, dim):
    """_lastdim_quick's softmax."""
    return _lastdim_quick(_softmax, _SOFTMAX_FWD, _softmax_lastdim_f32, (False,), x, dim) \
        if dim.__class__ is int else None


def log_softmax_quick(x, dim):
    """_lastdim_quick's log_softmax."""
    return _lastdim_quick(_log_softmax, _LOG_SOFTMAX_FWD, _log_softmax_lastdim_f32, (), x,
                          dim) if dim.__class__ is int else None


def softmax_raw(x, dim, masked=False):
    if not masked:
        t = softmax_quick(x, dim)
        if t is not None:
            return t
    t = _unrecorded(_softmax, x, (dim, masked))
    if t is not None:
        return t
    return no_complex_grad(apply(_softmax, (x,), (dim, masked)), "_softmax")


@op("scaled_causal_softmax", saves="out", node="SoftmaxBackward0")
def _scaled_causal_softmax(xp, x, scale):
    """Causal attention weights in one op: softmax(x * scale) over the last dim with the keys
    after each query masked out (key j <= query i, aligned top-left as torch's is_causal).
    bfloat16 computes in float32. On CUDA one fused kernel each way (cuda_kernels.py)."""
    a = x.astype(np.float32) if x.dtype.kind == "V" else x
    s = xp.where(xp.tri(x.shape[-2], x.shape[-1], dtype=bool), a * scale, -np.inf)
    y = _softmax_arrays(xp, s, -1).astype(x.dtype, copy=False)
    return y, (y, scale)


@_scaled_causal_softmax.vjp
def _(xp, g, y, scale):
    dt = y.dtype
    if dt.kind == "V":
        g, y = g.astype(np.float32), y.astype(np.float32)
    gy = _softmax_grad_arrays(xp, g, y, -1)
    gy *= scale
    return (gy.astype(dt, copy=False),)


def scaled_causal_softmax_raw(x, scale):
    return apply(_scaled_causal_softmax, (x,), (scale,))


def log_softmax_raw(x, dim):
    t = log_softmax_quick(x, dim)
    if t is not None:
        return t
    t = _unrecorded(_log_softmax, x, (dim,))
    if t is not None:
        return t
    return no_complex_grad(apply(_log_softmax, (x,), (dim,)), "_log_softmax")


# ---- nll_loss / cross_entropy (class indices) ------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _targets(xp, target, ignore_index, n_classes):
    """(mask of counted samples, targets with ignored entries replaced by 0); bounds check."""
    mask = target != ignore_index
    t = xp.where(mask, target, 0)
    bad = (t < 0) | (t >= n_classes)
    if bad.any():
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    return mask, t


def _reduce(xp, loss, denom, reduction):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return _arr(xp, total, loss)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _arr(xp, total / denom, loss)


def _nll_sums(xp, loss, w, mask, weighted):
    """(the loss sum, the weight sum) as torch's nll_loss_out_frame adds a batch: in order into
    8 cascade levels of 2^p samples (p = max(4, ceil(log2 n) / 8)); after a kept sample whose
    index is a multiple of 2^(p (j + 1)), level j is carried into level j + 1; the levels are
    then added in order, in the loss's dtype (float16/bfloat16 sums round every addition, as
    torch's Half/BFloat16 kernels add). NumPy float arrays only, else None (also where ignored
    samples make a group too long to lay out)."""
    if xp is not np or loss.dtype.kind not in "fV":
        return None
    # (N, d1, ...) samples in torch's order: nll_loss2d's linear index b * map_size + elem
    loss, w, mask = loss.reshape(-1), w.reshape(-1), mask.reshape(-1)
    n = loss.shape[0]
    power = max(4, (int(n - 1).bit_length() if n > 1 else 0) // 8)
    keep = np.flatnonzero(mask)
    if keep.size == n > 8:      # every sample kept: groups of 2^p, laid out by a reshape
        sums = [_cascade8_every(v, power) for v in ((loss, w) if weighted else (loss,))]
    elif keep.size <= 100:      # few samples: torch's loop itself, on NumPy scalars
        return _cascade8_loop(loss[keep], w[keep] if weighted else None, keep.tolist(), power)
    else:
        sums = [_cascade8(v[keep], keep, power) for v in ((loss, w) if weighted else (loss,))]
    if sums[0] is None or weighted and sums[1] is None:
        return None
    return sums[0], (sums[1] if weighted else loss.dtype.type(keep.size))


def _cascade8_loop(loss, w, pos, power):
    """_nll_sums for few samples as torch's loop adds them: each kept sample into level 0
    (the loss and the weight), then level j carried into j + 1 while the sample's index is a
    multiple of 2^(power (j + 1)); the levels added in order (NumPy scalars round each addition
    in the dtype)."""
    t = loss.dtype.type
    zero = t(0)
    sums = [[zero] * 8, [zero] * 8]
    for k, b in enumerate(pos):
        for levels, v in zip(sums, (loss[k], None if w is None else w[k])):
            if v is None:
                break
            levels[0] = levels[0] + v
            j = 0
            while j < 7 and not b % (1 << (power * (j + 1))):
                levels[j + 1] = levels[j + 1] + levels[j]
                levels[j] = zero
                j += 1
    totals = []
    for levels in sums:
        total = zero
        for part in levels:
            total = total + part
        totals.append(total)
    return totals[0], (totals[1] if w is not None else t(len(pos)))


def _cascade8(vals, pos, power):
    """The 8-level cascade of _nll_sums over kept values `vals` at sample indices `pos`."""
    t = vals.dtype.type
    levels = []
    for lvl in range(7):
        if vals.size == 1 and pos[0] == 0:      # sample 0 alone: carried to the top level
            levels += [t(0)] * (7 - lvl)
            break
        ends = pos % (1 << (power * (lvl + 1))) == 0       # a carry after these
        if not ends.any():
            levels.append(_in_order(vals[None])[0] if vals.size else t(0))
            vals, pos = vals[:0], pos[:0]
            continue
        last = int(np.flatnonzero(ends)[-1]) + 1
        levels.append(_in_order(vals[last:][None])[0] if last < vals.size else t(0))
        vals = _group_sums(vals[:last], ends[:last])
        if vals is None:
            return None
        pos = pos[:last][ends[:last]]
    levels.append(_in_order(vals[None])[0] if vals.size else t(0))
    total = t(0)
    for part in levels:
        total = total + part
    return total


def _cascade8_every(vals, power):
    """_cascade8 of every sample (at 0, 1, ..., n - 1: each level's positions are multiples of
    a power of 2^power, so its groups are the first value alone, then runs of s = 2^power):
    _group_sums' rows (the first one zero-padded: + 0) by a reshape."""
    t = vals.dtype.type
    s = 1 << power
    levels = []
    for lvl in range(7):
        m = vals.size
        if m == 1:                  # sample 0 alone: carried to the top level
            levels += [t(0)] * (7 - lvl)
            break
        last = (m - 1) // s * s + 1         # after the last group's end
        levels.append(_in_order(vals[last:][None])[0] if last < m else t(0))
        if last == 1:
            vals = vals[:1]
        else:
            vals = np.concatenate((vals[:1] + t(0), _in_order(vals[1:last].reshape(-1, s))))
    levels.append(_in_order(vals[None])[0])
    total = t(0)
    for part in levels:
        total = total + part
    return total


def _group_sums(vals, ends):
    """The in-order sums of the groups of `vals` that end where `ends` is True (the last
    element ends one): the groups laid out as zero-padded rows; None past 4096 a row."""
    gid = np.cumsum(ends) - ends
    first = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    rank = np.arange(vals.size) - first[gid]
    width = int(rank.max()) + 1
    if width > 4096:
        return None
    rows = np.zeros((len(first), width), vals.dtype)
    rows[gid, rank] = vals
    return _in_order(rows)


def _in_order(a):
    """Sums of the rows of a (K, m) array, each added left to right (ndarray.cumsum: no
    np.cumsum Python wrapper)."""
    return a.cumsum(axis=1)[:, -1] if a.shape[1] else np.zeros(len(a), a.dtype)


def _nll_reduce(xp, loss, w, mask, weighted, reduction):
    """The reduced loss and the total weight (the mean's divisor) as torch's kernel."""
    sums = _nll_sums(xp, loss, w, mask, weighted) if reduction != "none" else None
    if sums is None:
        denom = w.sum()
        return _reduce(xp, loss, denom, reduction), denom
    total, denom = sums
    if reduction == "sum":
        return _arr(xp, total, loss), denom
    with np.errstate(invalid="ignore", divide="ignore"):
        return _arr(xp, total / denom, loss), denom


def _per_sample_grad(xp, g, reduction, denom, shape, dtype):
    if reduction == "none":
        return g
    if reduction == "mean":
        g = g / denom
    return xp.broadcast_to(xp.asarray(g, dtype=dtype), shape)


def _unbatched(xp, out, unbatched, reduction):
    """An unbatched input's per-sample loss is 0-d (torch's kernels take the 1-D input)."""
    return out.reshape(()) if unbatched and reduction == "none" else out


@op("nll_loss", saves=None, node="NllLossBackward0")
def _nll(xp, x, target, weight, reduction, ignore_index, unbatched=False):
    mask, t = _targets(xp, target, ignore_index, x.shape[1])
    picked = x[np.arange(len(t)), t] if x.ndim == 2 and xp is np else \
        xp.take_along_axis(x, xp.expand_dims(t, 1), axis=1)[:, 0]
    wm = mask.astype(x.dtype) if weight is None else weight[t] * mask
    loss = xp.where(mask, -picked * wm, wm.dtype.type(0))      # ignored: +0, as torch's
    out, denom = _nll_reduce(xp, loss, wm, mask, weight is not None, reduction)
    return _unbatched(xp, out, unbatched, reduction), (
        t, wm, mask, denom, reduction, x.shape)


@_nll.vjp
def _(xp, g, t, wm, mask, denom, reduction, shape, hand=None):
    gi = _per_sample_grad(xp, g.reshape(wm.shape) if reduction == "none" else g, reduction,
                          denom, wm.shape, wm.dtype)
    dx = xp.zeros(shape, wm.dtype)
    # torch writes -weight * grad at the targets, and nothing (+0) where ignore_index is
    g_t = xp.where(mask, -gi * wm, wm.dtype.type(0))
    if len(shape) == 2 and xp is np:
        dx[np.arange(len(t)), t] = g_t
    else:
        xp.put_along_axis(dx, xp.expand_dims(t, 1), xp.expand_dims(g_t, 1), axis=1)
    if hand is not None and hand.on and xp is np:
        hand.dx, hand.t, hand.g_t = dx, t, g_t
    return dx, None, None


@op("cross_entropy", saves=None, node="NllLossBackward0")
def _cross_entropy(xp, x, target, weight, reduction, ignore_index, smoothing, unbatched=False):
    n_classes = x.shape[1]
    mask, t = _targets(xp, target, ignore_index, n_classes)
    flat = x.ndim == 2 and xp is np     # (a batch of rows: reduceat's max, direct indexing)
    s = x - (_rowmax(xp, x) if flat else x.max(axis=1, keepdims=True))
    if _lastdim_f32(xp, x, 1):      # torch's log_softmax kernel (see _log_softmax)
        p = _exp32(s)
        z = _lane_rowsum(p)
        lz = np.log(z, dtype=np.float64).astype(np.float32)[:, 0]
    elif flat and x.dtype == np.float64:
        p = np.exp(s)
        z = _lane_rowsum(p)
        lz = np.log(z)[:, 0]
    else:
        p = xp.exp(s)
        z = p.sum(axis=1, keepdims=True)
        lz = xp.log(z)[:, 0]
    # rows of float32/float64 classes without smoothing: the backward takes torch's
    # log_softmax backward of its log-probabilities (see _ce_logp_grad), else softmax's values
    logp = x.ndim == 2 and smoothing == 0 and x.dtype.char in "fd" and _on_cpu(xp, x)
    if logp:
        p = s - lz[:, None]
    else:
        p /= z
    t1 = t[:, None]
    log_pt = (s[np.arange(len(t)), t] if flat else xp.take_along_axis(s, t1, axis=1)[:, 0]) - lz
    w_t = mask.astype(x.dtype) if weight is None else weight[t] * mask
    loss = -log_pt * w_t
    if smoothing > 0:
        if weight is None:
            smooth = lz * n_classes - s.sum(axis=1)
        else:
            wb = weight.reshape((1, -1) + (1,) * (x.ndim - 2))
            smooth = lz * weight.sum() - (s * wb).sum(axis=1)
        loss = (1 - smoothing) * loss + (smoothing / n_classes) * smooth * mask
        denom = w_t.sum()
        out = _reduce(xp, loss, denom, reduction)
    else:                           # torch's nll_loss sums
        out, denom = _nll_reduce(xp, loss, w_t, mask, weight is not None, reduction)
    saved = (p, t1, w_t, mask, weight, smoothing, denom, reduction) + ((True,) if logp else ())
    return _unbatched(xp, out, unbatched, reduction), saved


def _on_cpu(xp, x):
    """NumPy arrays, or (a double backward's rerun of the forward) a DArray of one: CUDA's
    fused cross_entropy kernel saves the probabilities."""
    if xp is np:
        return True
    t = getattr(x, "t", None)
    return t is not None and getattr(t, "be", None) is not None and t.be.xp is np


def _ce_logp_grad(y, t, g_t):
    """torch's log_softmax backward of nll_loss's gradient (g_t at each row's target, +0
    elsewhere): g - exp(y) * sum(g), the sum g_t (+0 for -0), the multiply-subtract fused
    (only the targets' g is nonzero: 0 - e * s elsewhere rounds once anyway)."""
    e = _exp32(y) if y.dtype == np.float32 else np.exp(y)
    s = (g_t + y.dtype.type(0))[:, None]
    dx = np.subtract(y.dtype.type(0), e * s)
    rows = np.arange(len(dx))
    e_t = e[rows, t]
    if y.dtype == np.float32:       # (a product of two floats is exact in double)
        dx[rows, t] = (g_t.astype(np.float64) - e_t.astype(np.float64) * s[:, 0]) \
            .astype(np.float32)
    else:
        dx[rows, t] = _fma64(np, -e_t, s[:, 0], g_t)
    return dx


@_cross_entropy.vjp
def _(xp, g, p, t1, w_t, mask, weight, smoothing, denom, reduction, logp=False):
    gi = _per_sample_grad(xp, g.reshape(w_t.shape) if reduction == "none" else g, reduction,
                          denom, w_t.shape, p.dtype)
    # ignored samples get +0 (not 0 * g / 0 = nan when every sample is ignored), as torch's
    gi = xp.where(mask, gi, p.dtype.type(0))
    if logp:
        g_t = xp.where(mask, -gi * w_t, p.dtype.type(0))
        if xp is np:
            return _ce_logp_grad(p, t1[:, 0], g_t), None, None
        dx = xp.exp(p) * -xp.expand_dims(g_t, 1)        # (CuPy, double backward)
        cur = xp.take_along_axis(dx, t1, axis=1)
        xp.put_along_axis(dx, t1, cur + xp.expand_dims(g_t, 1), axis=1)
        return dx, None, None
    n_classes = p.shape[1]
    on_target = gi * w_t
    if smoothing > 0:
        total_w = n_classes if weight is None else weight.sum()
        on_target = on_target * (1 - smoothing)
        coef = on_target + gi * ((smoothing / n_classes) * total_w)
    else:
        coef = on_target
    dx = p * coef[:, None]
    if dx.ndim == 2 and xp is np:       # (the target column of each row, indexed directly)
        at = (np.arange(len(dx)), t1[:, 0])
        dx[at] = dx[at] - on_target
    else:
        cur = xp.take_along_axis(dx, t1, axis=1)
        xp.put_along_axis(dx, t1, cur - xp.expand_dims(on_target, 1), axis=1)
    if smoothing > 0:
        w = xp.ones(n_classes, p.dtype) if weight is None else weight
        dx -= xp.expand_dims(gi * (smoothing / n_classes), 1) * \
            w.reshape((1, -1) + (1,) * (p.ndim - 2))
    return dx, None, None


# torch's nll_loss_nd takes nll_loss2d for inputs of 3 or more dims (NllLoss2DBackward0), the
# per-sample losses of 3-D and 5-D+ inputs coming back through a view
_nll2d = op("nll_loss2d", saves=None, node="NllLoss2DBackward0")(_nll.impl[0][0]).vjp(
    _nll.impl[0][1])
_cross_entropy2d = op("cross_entropy2d", saves=None, node="NllLoss2DBackward0")(
    _cross_entropy.impl[0][0]).vjp(_cross_entropy.impl[0][1])


def _nd(o2d, x, args, statics, reduction):
    out = apply(o2d, args, statics)
    if reduction == "none" and x.ndim != 4:
        from ..ops.shape import view
        out = view(out, tuple(out.shape))
    return out


def _nll_nd(x, target, weight, reduction, ignore_index):
    """torch's nll_loss_nd for 3 or more dims: nll_loss2d, of the input and target made
    contiguous and viewed to (N, C, 1, -1) and (N, 1, -1) unless 4-D (the input's
    ViewBackward0), its per-sample losses viewed back to the target's shape."""
    if x.ndim == 4:
        return apply(_nll2d, (x, target, weight), (reduction, ignore_index))
    from ..ops.shape import view
    n, c = x.shape[:2]
    x4 = view(x.contiguous(), (n, c, 1, -1) if x.numel() else (n, c, 0, 0))
    ta = target.arr         # (integers: no graph to record)
    t3 = _new(ta.reshape((n, 1, -1) if ta.size else (n, 0, 0)), target.be)
    out = apply(_nll2d, (x4, t3, weight), (reduction, ignore_index))
    return view(out, (n,) + tuple(x.shape[2:])) if reduction == "none" else out


def nll_loss_raw(x, target, weight, reduction, ignore_index, unbatched=False):
    if x.ndim >= 3:
        return _nll_nd(x, target, weight, reduction, ignore_index)
    return apply(_nll, (x, target, weight), (reduction, ignore_index, unbatched))


class _Handoff:
    """What cross_entropy's two nodes (torch's LogSoftmaxBackward0 -> NllLossBackward0)
    share: NllLoss's backward leaves here its gradient (zeros but at the targets) with the
    targets and their values, and LogSoftmax's backward of that very array takes the fused
    rule (_ce_logp_grad: one pass, no sum over the dense gradient) with the same result. A
    hook on either node, which could change the gradient in place, turns it off (`on`)."""
    __slots__ = ("on", "dx", "t", "g_t")

    def __init__(self):
        self.on, self.dx = True, None


def _hand_off_on_hook(name):
    """node_class(name) whose hooks turn off its _Handoff (the last of its saved values)."""
    base = _node_class(name)

    def off(self):
        saved = self.saved                  # (freed: no backward will read it)
        if isinstance(saved, tuple) and saved and type(saved[-1]) is _Handoff:
            saved[-1].on = False

    def register_hook(self, fn):
        off(self)
        return base.register_hook(self, fn)

    def add_tensor_hook(self, fn):
        off(self)
        return base.add_tensor_hook(self, fn)
    return type(base.__name__, (base,), {"__slots__": (), "register_hook": register_hook,
                                         "add_tensor_hook": add_tensor_hook})


_CE_LOG_SOFTMAX = _hand_off_on_hook("LogSoftmaxBackward0")
_CE_NLL = _hand_off_on_hook("NllLossBackward0")


def _cross_entropy_graph(x, target, weight, reduction, ignore_index):
    """cross_entropy of a 2-D float32/float64 NumPy x that requires grad, recorded as torch's
    graph: nll_loss(log_softmax(x, 1)), the two ops' kernels (their values are torch's) and
    nodes, made here directly; their backward is the fused one (see _Handoff)."""
    be, xa = x.be, x.arr
    try:
        y, (_, dim) = _log_softmax.impl[0][0](np, xa, 1)
        out, saved = _nll.impl[0][0](np, y, target.arr, None if weight is None else weight.arr,
                                     reduction, ignore_index)
    except RuntimeWarning:
        y, (_, dim) = quiet(_log_softmax.impl[0][0], np, xa, 1)
        out, saved = quiet(_nll.impl[0][0], np, y, target.arr,
                           None if weight is None else weight.arr, reduction, ignore_index)
    hand = _Handoff()
    lp = _new(y, be)
    lp._rg = True
    lp._vc = [0, 0]
    node = lp.grad_fn = _CE_LOG_SOFTMAX(_log_softmax, _log_softmax.impl[0][1], np,
                                        (y, dim, hand), (x.grad_fn or x._leaf_node(),), (x,),
                                        (dim,))
    node.out_vc = lp._vc
    t = _new(out, be)
    t._rg = True
    t.grad_fn = _CE_NLL(_nll, _nll.impl[0][1], np, saved + (hand,), (node, None, None),
                        (lp, target, weight), (reduction, ignore_index, False))
    return t


def cross_entropy_raw(x, target, weight, reduction, ignore_index, smoothing, unbatched=False):
    if x.ndim == 2 and not unbatched and _grad.enabled and x._rg and \
            type(x.arr) is np.ndarray and x.arr.dtype.char in "fd" and not _amp.enabled and \
            _fw.level is None and _cross_entropy.impl[0][0] is _CE_FWD:
        return _cross_entropy_graph(x, target, weight, reduction, ignore_index)
    if x.ndim >= 3:
        return _nd(_cross_entropy2d, x, (x, target, weight),
                   (reduction, ignore_index, smoothing), reduction)
    return apply(_cross_entropy, (x, target, weight),
                 (reduction, ignore_index, smoothing, unbatched))


# ---- binary cross entropy ----------------------------------------------------------------
_BCE_EPS = 1e-12


def _check_bce_ranges(xp, x, y):
    """torch's kernel checks each element's input, then its target, in [0, 1] (nan fails): the
    first element out of range names which."""
    if not x.size or (x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 1):
        return                                  # (min and max carry a nan: it fails)
    bad_x = ~((x >= 0) & (x <= 1))
    bad = bad_x | ~((y >= 0) & (y <= 1))
    if bad.any():
        first = int(xp.argmax(bad.ravel()))
        what = "input" if bad_x.ravel()[first] else "target"
        raise RuntimeError(f"all elements of {what} should be between 0 and 1")


@op("binary_cross_entropy", node="BinaryCrossEntropyBackward0")
def _bce(xp, x, y, weight, reduction):
    _check_bce_ranges(xp, x, y)
    if xp is np and x.dtype == np.float32:     # torch's logs are nearly correctly rounded
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x, dtype=np.float64).astype(np.float32), np.float32(-100))
            log_1mx = np.maximum(np.log1p(-x, dtype=np.float64).astype(np.float32),
                                 np.float32(-100))
    else:
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
    loss = (y - 1) * log_1mx - y * log_x
    if weight is not None:
        loss = loss * weight
    return _loss_reduced(xp, loss, reduction, (x, y)), (x, y, weight, reduction)


@_bce.vjp
def _(xp, g, x, y, weight, reduction):
    # torch's kernel: grad * (x - y) / max((1 - x) * x, eps), times weight, then / numel for
    # a mean (a float division, the 2-byte floats rounded once)
    gi = _per_sample_grad(xp, g, "sum" if reduction == "mean" else reduction, x.size, x.shape,
                          x.dtype)
    dx = gi * (x - y) / xp.maximum((1 - x) * x, _BCE_EPS)
    # the target's: torch's logit(x).neg_() * grad (logit as its kernel: log(x / (1 - x)),
    # bfloat16 in float32 rounded once, float16 op by op)
    with np.errstate(divide="ignore"):
        if x.dtype.kind == "V":
            x32 = x.astype(np.float32)
            lg = xp.log(x32 / (1 - x32)).astype(x.dtype)
        else:
            lg = xp.log(x / (1 - x))
    dy = -lg * gi
    # (the eps maximum promotes 2-byte floats: torch's kernel result is in x's dtype)
    dx, dy = dx.astype(x.dtype, copy=False), dy.astype(x.dtype, copy=False)
    if weight is not None:
        dx, dy = dx * weight, dy * weight
    if reduction == "mean":
        dx, dy = (_div_numel(a, x.size) for a in (dx, dy))
    return dx, dy, None


def _div_numel(a, n):
    """Tensor.div_(numel): float16/bfloat16 divided in float32 and rounded once."""
    dtype = a.dtype
    if dtype.itemsize == 2 and dtype.kind in "fV":
        return (a.astype(np.float32) / np.float32(n)).astype(dtype)
    return a / n


def binary_cross_entropy_raw(x, y, weight, reduction):
    return apply(_bce, (x, y, weight), (reduction,))


# ---- binary cross entropy with logits -------------------------------------------------------
@op("binary_cross_entropy_with_logits", node="BinaryCrossEntropyWithLogitsBackward0")
def _bce_logits(xp, x, y, weight, pos_weight, reduction):
    """torch's composite in one node: (1 - y) * x - log_sigmoid(x) (times the pos_weight
    factor), times weight, reduced."""
    from ._act_ops import _logsigmoid
    # (torch's log_sigmoid kernel computes float16/bfloat16 in float32, rounding once)
    log_sig = _logsigmoid(xp, x.astype(np.float32)).astype(x.dtype) if _half(x) else \
        _logsigmoid(xp, x)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * y + 1)
    loss = (1 - y) * x - log_sig
    if weight is not None:
        loss = loss * weight
    loss = loss.astype(y.dtype, copy=False)      # torch works in place on (1 - target)
    return _loss_reduced(xp, loss, reduction), (x, y, weight, pos_weight, reduction)


@_bce_logits.vjp
def _(xp, g, x, y, weight, pos_weight, reduction):
    from ._act_ops import _logsigmoid
    # torch's order: the formula times grad, times weight, then / numel for a mean
    shape = xp.broadcast_shapes(*(a.shape for a in (x, y, weight, pos_weight) if a is not None))
    gi = g if reduction == "none" else xp.broadcast_to(xp.asarray(g, dtype=x.dtype), shape)
    # torch's input.sigmoid(): its kernel (float32 for float16/bfloat16, rounded once)
    sig = expit(xp, x.astype(np.float32)).astype(x.dtype) if _half(x) else expit(xp, x)
    if pos_weight is not None:
        t = pos_weight * y
        dx = ((t + 1 - y) * sig - t) * gi
        dy = (_logsigmoid(xp, -x) - _logsigmoid(xp, x) * pos_weight) * gi
    else:
        dx = (sig - y) * gi
        dy = -x * gi
    if weight is not None:
        dx, dy = dx * weight, dy * weight
    if reduction == "mean":
        n = int(np.prod(shape))
        dx, dy = dx / n, dy / n
    return dx.astype(x.dtype, copy=False), dy.astype(y.dtype, copy=False), None, None


def binary_cross_entropy_with_logits_raw(x, y, weight, pos_weight, reduction):
    return apply(_bce_logits, (x, y, weight, pos_weight), (reduction,))


# ---- mse / smooth_l1 / huber / soft_margin: one node each, torch's kernels ----------------------
def _loss_reduced(xp, loss, reduction, operands=None):
    """torch's apply_loss_reduction: loss.mean() or loss.sum() (in torch's order). Unreduced,
    the loss of a non-C-contiguous input (`operands`: input, target) laid out as torch's
    TensorIterator lays it out (NumPy's 'K' let C order win)."""
    if reduction == "none":
        if operands is not None and not operands[0].flags.c_contiguous and \
                type(loss) is np.ndarray and loss.ndim > 1:
            from .._memory_format import iterator_layout
            return iterator_layout(loss, *operands)
        return loss
    return (_mean_fwd if reduction == "mean" else _sum_fwd)(xp, loss, None, False, None)[0]


def _norm(x, reduction, factor=1.0):
    """The `norm` scalar of torch's loss backward kernels, in the input's dtype."""
    return x.dtype.type(factor / x.size if reduction == "mean" else factor)


@op("mse_loss", node="MseLossBackward0")
def _mse(xp, x, y, reduction):
    d = x - y
    return _loss_reduced(xp, d * d, reduction, (x, y)), (x, y, reduction)


@_mse.vjp
def _(xp, g, x, y, reduction):
    gi = _norm(x, reduction, 2.0) * (x - y) * g
    return gi, -gi


def _wide(*arrays, half=True, bfloat=True):
    """bfloat16/float16 arrays in float32, where torch's kernel for them computes in float and
    rounds once (the others round after each operation); other dtypes as they are."""
    dt = arrays[0].dtype
    if not (half and dt == np.float16 or bfloat and dt.kind == "V"):
        return arrays
    return tuple(a.astype(np.float32) for a in arrays)


@op("smooth_l1_loss", node="SmoothL1LossBackward0")
def _smooth_l1(xp, x, y, reduction, beta):
    dt = x.dtype
    a, b = _wide(x, y, half=False)
    z = xp.abs(a - b)
    bt = a.dtype.type(beta)
    loss = xp.where(z < bt, a.dtype.type(0.5) * z * z / bt, z - a.dtype.type(0.5) * bt)
    return _loss_reduced(xp, loss.astype(dt, copy=False), reduction, (x, y)), \
        (x, y, reduction, beta)


@_smooth_l1.vjp
def _(xp, g, x, y, reduction, beta):
    # torch's vectorised kernel: norm * (sign(x) where |x| >= beta, else x / beta) * grad (its
    # scalar loop over the last few elements multiplies in another order)
    a, c, gw = _wide(x, y, g)
    d, n, b = a - c, _norm(a, reduction), a.dtype.type(beta)
    one = a.dtype.type(1)
    gi = (n * xp.where(xp.abs(d) >= b, xp.where(d > 0, one, -one), d / b) * gw).astype(x.dtype,
                                                                                     copy=False)
    return gi, -gi


@op("huber_loss", node="HuberLossBackward0")
def _huber(xp, x, y, reduction, delta, target_dtype):
    a, b = _wide(x, y, bfloat=False)
    z = xp.abs(a - b)
    dl = a.dtype.type(delta)
    loss = xp.where(z < dl, a.dtype.type(0.5) * z * z, dl * (z - a.dtype.type(0.5) * dl))
    return (_loss_reduced(xp, loss.astype(x.dtype, copy=False), reduction, (x, y)),
            (x, y, reduction, delta, target_dtype))


@_huber.vjp
def _(xp, g, x, y, reduction, delta, target_dtype):
    if target_dtype != x.dtype:     # torch's backward takes a target of the input's dtype only
        raise RuntimeError(f"Found dtype {tname(target_dtype)} but expected {tname(x.dtype)}")
    # torch's vectorised kernel: norm * (sign(x) * delta where |x| >= delta, else x) * grad (its
    # scalar loop over the last few elements multiplies in another order)
    d, n, dl = x - y, _norm(x, reduction), x.dtype.type(delta)
    one = x.dtype.type(1)
    gi = n * xp.where(xp.abs(d) >= dl, xp.where(d > 0, one, -one) * dl, d) * g
    return gi, -gi


@op("soft_margin_loss", node="SoftMarginLossBackward0")
def _soft_margin(xp, x, y, reduction):
    """torch's neg(input).mul_(target).exp_().log1p_() (in the input's dtype), reduced."""
    with np.errstate(over="ignore"):
        loss = _exact(xp, np.log1p, _exact(xp, np.exp, (-x * y).astype(x.dtype, copy=False)))
    return _loss_reduced(xp, loss.astype(x.dtype, copy=False), reduction, (x, y)), \
        (x, y, reduction)


def _exact(xp, f, a):
    """f(a) rounded once from float64 for float32 on the CPU (torch's exp and log1p are
    nearly correctly rounded, NumPy's float32 ones not)."""
    if xp is np and a.dtype == np.float32:
        return f(a, dtype=np.float64).astype(np.float32)
    return getattr(xp, f.__name__)(a)


@_soft_margin.vjp
def _(xp, g, x, y, reduction):
    with np.errstate(over="ignore", invalid="ignore"):
        z = _exact(xp, np.exp, -y * x)
        gi = ((y * z * -_norm(x, reduction)).astype(x.dtype, copy=False) /
              (z + 1).astype(x.dtype, copy=False) * g).astype(x.dtype, copy=False)
    return gi, None


def pointwise_loss_raw(name, x, y, reduction, *param):
    """mse and smooth_l1 compute in the inputs' promoted dtype; huber takes a target of the
    input's dtype or one that promotes to it; soft_margin writes the input's dtype (torch's
    neg(input).mul_(target)...)."""
    o = {"mse": _mse, "smooth_l1": _smooth_l1, "huber": _huber, "soft_margin": _soft_margin}[name]
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        from ..ops._apply import _infer_size_error
        raise _infer_size_error(x.shape, y.shape) from None
    common = result_type(x, y)
    if name == "huber":
        check_huber_dtypes(x, y)
        param += (y.arr.dtype,)
    if x.dtype != common and name in ("mse", "smooth_l1"):
        x = x.to(common)
    if y.dtype != common and (name != "soft_margin" or not y.dtype.is_floating_point):
        y = y.to(common)
    return apply(o, (x, y), (reduction, *param))


def check_huber_dtypes(x, y):
    """torch's huber_loss writes the input's dtype (its backward then refuses a target of
    another dtype)."""
    common = result_type(x, y)
    if not can_cast(common, x.dtype):
        raise RuntimeError(f"result type {tname(common.np)} can't be cast to the desired "
                           f"output type {tname(x.dtype.np)}")


# ---- embedding ---------------------------------------------------------------------------
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
_UNSIGNED = {np.dtype(np.int64): np.uint64, np.dtype(np.int32): np.uint32}


@op("embedding", saves=None, node="EmbeddingBackward0")
def _embedding(xp, weight, indices, padding_idx, scale_grad_by_freq):
    if indices.dtype not in _INDEX_DTYPES:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{_type_name(indices)} instead (while checking arguments for "
                           "embedding)")
    n = weight.shape[0]
    # the check reads back from the GPU, which a CUDA-graph capture cannot (as torch, whose
    # CUDA kernel checks with a device-side assert)
    # (one reduction: a negative index read as unsigned is past any n)
    if indices.size and not cuda_blas.CAPTURING and \
            int(indices.view(_UNSIGNED[indices.dtype]).max()) >= n:
        raise IndexError("index out of range in self")
    # (np.take's wrapper calls the method: a micro-second of a small lookup's seven)
    out = weight.take(indices, axis=0) if type(weight) is np.ndarray else \
        xp.take(weight, indices, axis=0)
    return out, (indices, weight.shape, padding_idx, scale_grad_by_freq)


@_embedding.vjp
def _(xp, g, indices, shape, padding_idx, scale_grad_by_freq):
    idx = indices.reshape(-1)
    vals = g.reshape((-1,) + shape[1:])
    if scale_grad_by_freq:
        counts = xp.bincount(idx, minlength=shape[0])
        vals = vals / counts[idx].reshape((-1,) + (1,) * (len(shape) - 1))
    gw = index_add_rows(xp, shape[0], idx, vals)
    if padding_idx is not None:
        gw[padding_idx] = 0
    return gw, None


def embedding_raw(weight, indices, padding_idx, scale_grad_by_freq, sparse=False):
    return apply(_embedding_sparse if sparse else _embedding, (weight, indices),
                 (padding_idx, scale_grad_by_freq))


# sparse=True: the same forward, the weight's gradient a sparse COO tensor with one entry per
# looked-up index (padding_idx left out), uncoalesced, in lookup order, as torch's
@op("embedding_sparse", saves=None, node="EmbeddingBackward0")
def _embedding_sparse(xp, weight, indices, padding_idx, scale_grad_by_freq):
    from ..sparse import _stamp
    out, saved = _embedding.impl[0][0](xp, weight, indices, padding_idx, scale_grad_by_freq)
    return out, saved + (_stamp(),)


@_embedding_sparse.vjp
def _(xp, g, indices, shape, padding_idx, scale_grad_by_freq, seq):
    from ..sparse import _grad
    if scale_grad_by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                           "gradients")
    idx = indices.reshape(-1).astype(np.int64)
    vals = g.reshape((-1,) + shape[1:])
    if padding_idx is not None:
        keep = idx != padding_idx
        idx, vals = idx[keep], vals[keep]
    return _grad(idx.reshape(1, -1), vals, shape, xp, seq), None


def _type_name(a):
    """The name torch's argument checks give a CPU tensor's type (`a` an array or a NumPy
    dtype): the legacy class name where the dtype has one, else CPU<Scalar>Type."""
    from .._tensor import _TYPE_NAMES
    d = OF_NP[np.dtype(getattr(a, "dtype", a)).num]
    if d.name in _LEGACY:
        return _TYPE_NAMES[d.name]
    return f"CPU{tname(d.np)}Type"


_LEGACY = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8")


# ---- dropout -----------------------------------------------------------------------------
@op("dropout", saves=None, node="NativeDropoutBackward0")
def _dropout(xp, x, p, mask_shape, rng):
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    keep = rng.uniform(mask_shape, dtype) >= p          # the fused kernel's draw and test
    scale = 1.0 / (1.0 - p)
    return xp.where(keep, x * scale, 0).astype(x.dtype, copy=False), (keep, scale)


@_dropout.vjp
def _(xp, g, keep, scale):
    return (xp.where(keep, g * scale, 0),)


def dropout_raw(x, p, mask_shape, rng):
    """The fused op on CUDA (torch's native_dropout); on the CPU torch's own composition,
    x * (bernoulli_(1 - p) / (1 - p)), recorded as a MulBackward0 as torch records it."""
    if p == 1:                  # torch's at::dropout: input * 0, no draws
        return x * _new(x.be.xp.zeros((), x.arr.dtype), x.be)
    if x.be.xp is not np or type(mask_shape) is not tuple:   # (a nested tensor's NestedShape)
        return apply(_dropout, (x,), (p, mask_shape, rng))
    dt = x.arr.dtype
    acc = np.float64 if dt == np.float64 else np.float32
    order = dense_order(x.arr) if tuple(mask_shape) == x.arr.shape else None
    if order is None:
        keep = rng.bernoulli(mask_shape, 1 - p)
    else:               # torch's noise is empty_like(x): drawn in x's memory order
        keep = rng.bernoulli(tuple(mask_shape[d] for d in order), 1 - p).transpose(
            np.argsort(order))
    noise = keep.astype(acc)            # keep / (1 - p): 1 / (1 - p) once, times 1 or 0
    noise *= acc(1) / acc(1 - p)
    return x * _new(noise.astype(dt, copy=False), x.be)


# ---- norms and distances -----------------------------------------------------------------
@op("vector_norm", saves="both", node="LinalgVectorNormBackward0")
def _vector_norm(xp, x, ord, dims, keepdim):
    y = ordered_norm(x, ord, dims, keepdim) if xp is np else None      # torch's order
    if y is not None:
        return y, (x, y, ord, dims, keepdim)
    a = xp.abs(x)
    if a.dtype.itemsize == 2:           # half and bfloat16 accumulate in float, as torch
        a = a.astype(np.float32)
    if ord == float("inf"):
        y = a.max(axis=dims, keepdims=keepdim)
    elif ord == float("-inf"):
        y = a.min(axis=dims, keepdims=keepdim)
    elif ord == 0:
        y = (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
    elif ord == 1:
        y = a.sum(axis=dims, keepdims=keepdim)
    elif ord == 2:
        y = xp.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
    else:
        y = (a ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
    like = x.real if x.dtype.kind == "c" else x                 # a complex x's norm is real
    y = _arr(xp, y, like)
    if y.dtype != like.dtype:       # NumPy takes bfloat16 ** a float to float32
        y = y.astype(like.dtype)
    return y, (x, y, ord, dims, keepdim)


@_vector_norm.vjp
def _(xp, g, x, y, ord, dims, keepdim):
    if not keepdim and dims is not None:
        g, y = xp.expand_dims(g, dims), xp.expand_dims(y, dims)
    elif not keepdim:
        g, y = g.reshape((1,) * x.ndim), y.reshape((1,) * x.ndim)
    if ord == 0:
        return (xp.zeros_like(x),)
    if ord == 1:
        return (g * xp.sign(x),)
    if ord in (float("inf"), float("-inf")):
        hit = xp.abs(x) == y
        count = hit.sum(axis=dims, keepdims=True)
        return (g * xp.sign(x) * hit / count,)
    with np.errstate(invalid="ignore", divide="ignore"):
        if ord == 2:        # torch's norm_backward: grad * (self / norm), 0 where norm is 0
            r = x / y
            return (g * xp.where(y == 0, r.dtype.type(0), r),)
        a = xp.abs(x)
        scale = xp.where(y == 0, 0, g / y ** (ord - 1))
        return (xp.sign(x) * a ** (ord - 1) * scale,)


@op("pdist", saves="in", node="PdistBackward0")
def _pdist(xp, x, p):
    """The distances of the rows' pairs i < j (torch's _pdist_forward: each pair's p-norm)."""
    rows, cols = (xp.asarray(i) for i in np.triu_indices(x.shape[0], 1))
    d = x[rows] - x[cols]
    y, _ = _vector_norm.impl[0][0](xp, d, p, (1,), False)
    return y, (x, d, y, p, rows, cols)


@_pdist.vjp
def _(xp, g, x, d, y, p, rows, cols):
    # torch's _pdist_backward kernels (pdist_calc), per pair and coordinate
    g, y = g[:, None], y[:, None]
    zero = xp.zeros((), d.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 0:
            gd = xp.zeros(d.shape, d.dtype)
        elif p == 1:
            gd = g * xp.sign(d)
        elif p == float("inf"):         # no sharing among ties
            gd = g * xp.sign(d) * (xp.abs(d) == y)
        elif p < 2:
            gd = xp.where((y == 0) | ((d == 0) & (p < 1)), zero,
                          xp.sign(d) * xp.abs(d) ** (p - 1) * g / y ** (p - 1))
        elif p == 2:
            gd = xp.where(y == 0, zero, g * d / y)
        else:
            gd = xp.where(y == 0, zero, d * xp.abs(d) ** (p - 2) * g / y ** (p - 1))
    gd = gd.astype(x.dtype, copy=False)
    gx = xp.zeros(x.shape, gd.dtype)
    xp.add.at(gx, rows, gd)
    xp.subtract.at(gx, cols, gd)
    return (gx,)


def vector_norm_raw(x, ord, dims, keepdim):
    return apply(_vector_norm, (x,), (ord, dims, keepdim))


def _use_mm(p, compute_mode, P, R):
    if p != 2:
        return False
    if compute_mode == "use_mm_for_euclid_dist":
        return True
    if compute_mode == "donot_use_mm_for_euclid_dist":
        return False
    return P > 25 or R > 25


@op("cdist", saves="both", node="CdistBackward0")
def _cdist(xp, x1, x2, p, use_mm):
    if use_mm:
        sq1 = (x1 * x1).sum(-1)[..., :, None]
        sq2 = (x2 * x2).sum(-1)[..., None, :]
        d2 = sq1 + sq2 - 2 * xp.matmul(x1, xp.swapaxes(x2, -1, -2))
        y = xp.sqrt(xp.maximum(d2, 0))
    else:
        diff = xp.abs(x1[..., :, None, :] - x2[..., None, :, :])
        if p == 0:
            y = (diff != 0).sum(-1).astype(x1.dtype)
        elif p == float("inf"):
            y = diff.max(-1) if diff.shape[-1] else diff.sum(-1)
        elif p == 1:
            y = diff.sum(-1)
        elif p == 2:
            y = xp.sqrt((diff * diff).sum(-1))
        else:
            y = (diff ** p).sum(-1) ** (1.0 / p)
    return _arr(xp, y, x1), (x1, x2, y, p)


@_cdist.vjp
def _(xp, g, x1, x2, y, p):
    diff = x1[..., :, None, :] - x2[..., None, :, :]
    yy, gg = y[..., None], g[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if p == 0:
            d = xp.zeros_like(diff)
        elif p == 1:
            d = gg * xp.sign(diff)
        elif p == 2:
            d = xp.where(yy == 0, 0, gg * diff / yy)
        elif p == float("inf"):
            hit = xp.abs(diff) == yy
            d = gg * xp.sign(diff) * hit
        else:
            a = xp.abs(diff)
            d = xp.where(yy == 0, 0, gg * xp.sign(diff) * a ** (p - 1) / yy ** (p - 1))
    return d.sum(-2), -d.sum(-3)


def cdist_raw(x1, x2, p, compute_mode):
    use_mm = _use_mm(p, compute_mode, x1.shape[-2], x2.shape[-2])
    return apply(_cdist, (x1, x2), (p, use_mm))


# ---- margin losses over classes: one node each, torch's CPU kernels' formulas ---------------
def _rows_of(x):
    """torch's margin kernels: a 0-d or 1-D input is one sample."""
    return x.reshape(1, -1) if x.ndim <= 1 else x


def _margin_out(xp, per_row, x, reduction, scalar):
    if reduction == "none":
        return per_row.reshape(()) if scalar else per_row
    s = xp.sum(per_row)         # (an empty batch's mean is 0, as torch's)
    return (s / x.dtype.type(max(per_row.shape[0], 1)) if reduction == "mean" else s
            ).astype(x.dtype)


def _margin_grad(xp, gi, g, x, reduction):
    """gi per element (already scaled by torch's `g` norm) times grad_output."""
    if reduction == "none" and g.ndim:
        gi = gi * g[:, None]
    else:
        gi = gi * g.reshape(())
    return gi.astype(x.dtype, copy=False).reshape(x.shape)


def _mm_z(xp, x2, t, p, margin, w):
    n, c = x2.shape
    x_t = x2[xp.arange(n), t][:, None]
    z = x2.dtype.type(margin) - x_t + x2
    pos = z > 0
    pos[xp.arange(n), t] = False
    return z, pos


@op("multi_margin_loss", node="MultiMarginLossBackward0", saves="in")
def _multi_margin(xp, x, target, p, margin, w, reduction):
    x2, t = _rows_of(x), target.reshape(-1)
    n, c = x2.shape
    z, pos = _mm_z(xp, x2, t, p, margin, w)
    h = xp.where(pos, z if p == 1 else z * z, x2.dtype.type(0))
    if w is not None:
        h = h * w[t][:, None]
    per_row = xp.sum(h, axis=1) / x2.dtype.type(c)
    # (torch: one loss per sample unless the target is 0-d)
    return (_margin_out(xp, per_row, x, reduction, target.ndim == 0),
            (x, t, p, margin, w, reduction))


@_multi_margin.vjp
def _(xp, g, x, t, p, margin, w, reduction):
    x2 = _rows_of(x)
    n, c = x2.shape
    gn = x2.dtype.type(1 / (n * c) if reduction == "mean" else 1 / c)
    z, pos = _mm_z(xp, x2, t, p, margin, w)
    h = xp.where(pos, gn if p == 1 else 2 * gn * z, x2.dtype.type(0))
    if w is not None:
        h = h * w[t][:, None]
    h[xp.arange(n), t] = 0 - xp.sum(h, axis=1)         # torch subtracts from 0: no -0.0
    return _margin_grad(xp, h, g, x, reduction), None


def _mlm_mask(xp, x2, t2):
    """(valid targets (n, T), is_target (n, C), active pairs (n, T, C), z (n, T, C))."""
    n, c = x2.shape
    valid = xp.cumprod(t2 >= 0, axis=1).astype(bool)
    rows, cols = xp.nonzero(valid)
    is_target = xp.zeros(x2.shape, bool)
    is_target[rows, t2[rows, cols]] = True
    x_t = xp.take_along_axis(x2, xp.where(valid, t2, 0), axis=1)        # (n, T)
    z = x2.dtype.type(1) - x_t[:, :, None] + x2[:, None, :]
    act = valid[:, :, None] & ~is_target[:, None, :] & (z > 0)
    return valid, is_target, act, z


@op("multilabel_margin_loss", node="MultilabelMarginLossBackward0", saves="in")
def _multilabel_margin(xp, x, t, reduction):
    x2, t2 = _rows_of(x), _rows_of(t)
    c = x2.shape[1]
    _, _, act, z = _mlm_mask(xp, x2, t2)
    per_row = xp.sum(xp.where(act, z, x2.dtype.type(0)), axis=(1, 2)) / x2.dtype.type(c)
    return _margin_out(xp, per_row, x, reduction, x.ndim <= 1), (x, t, reduction)


@_multilabel_margin.vjp
def _(xp, g, x, t, reduction):
    x2, t2 = _rows_of(x), _rows_of(t)
    n, c = x2.shape
    gn = x2.dtype.type(1 / (n * c) if reduction == "mean" else 1 / c)
    valid, _, act, _ = _mlm_mask(xp, x2, t2)
    gi = xp.sum(act, axis=1).astype(x2.dtype) * gn              # += g for each active (T, d)
    minus = xp.sum(act, axis=2).astype(x2.dtype) * gn           # -= g at each target
    rows = xp.broadcast_to(xp.arange(n)[:, None], t2.shape)
    xp.subtract.at(gi, (rows[valid], t2[valid]), minus[valid])
    return _margin_grad(xp, gi, g, x, reduction), None


contiguous_outputs("softmax", "log_softmax", "vector_norm", "cdist")
# (until the profiler wraps them: _lastdim_quick)
_SOFTMAX_FWD, _LOG_SOFTMAX_FWD = _softmax.impl[0][0], _log_softmax.impl[0][0]
_CE_FWD = _cross_entropy.impl[0][0]
