"""CTC loss: the alpha/beta recursions in log space, vectorised over batch and label positions
(one Python step per time frame). The gradient is torch's: exp(lp) - exp(log_alpha + log_beta
+ nll - lp) summed per class, which assumes `log_probs` came from log_softmax. float32 is
computed in float32 in the order of torch's CPU kernel, with its (correctly rounded) exp and
log."""
import numpy as np

from .._tensor import _new
from ..ops._apply import apply
from ..ops._registry import op

_NEG_INF = -np.inf


def _exp(x):
    return np.exp(x, dtype=np.float64).astype(x.dtype, copy=False)


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(x, dtype=np.float64).astype(x.dtype, copy=False)


def _lse(*xs):
    """log(exp(x0 - m) + exp(x1 - m) + ...) + m as torch's kernel: m the maximum, 0 where all
    are -inf (the log of 0 then gives -inf)."""
    m = np.maximum.reduce(xs)
    m = np.where(m == _NEG_INF, m.dtype.type(0), m)
    total = _exp(xs[0] - m)
    for x in xs[1:]:
        total += _exp(x - m)
    return _log(total) + m


def _extended(targets, target_lengths, blank, max_len):
    """(N, 2*max_len+1) labels with blanks interleaved, and where the skip transition is allowed:
    torch's, from any label but the one two before (a blank inside the targets too)."""
    n = len(target_lengths)
    ext = np.full((n, 2 * max_len + 1), blank, np.int64)
    ext[:, 1::2] = targets[:, :max_len]
    ext[np.arange(ext.shape[1])[None, :] >= 2 * np.asarray(target_lengths)[:, None] + 1] = blank
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return ext, skip


def _alpha(lp, ext, skip, in_len, n_ext):
    t_max, n = lp.shape[0], lp.shape[1]
    s_len = ext.shape[1]
    emit = np.take_along_axis(lp, np.broadcast_to(ext[None], (t_max,) + ext.shape), axis=2)
    alpha = np.full((t_max, n, s_len), _NEG_INF, lp.dtype)
    alpha[0, :, 0] = emit[0, :, 0]
    if s_len > 1:                   # (all targets empty: the blank alone)
        alpha[0, :, 1] = np.where(n_ext > 1, emit[0, :, 1], _NEG_INF)
    for t in range(1, t_max):
        prev = alpha[t - 1]
        a1 = np.concatenate([np.full((n, 1), _NEG_INF, lp.dtype), prev[:, :-1]], 1)
        a2 = np.concatenate([np.full((n, 2), _NEG_INF, lp.dtype), prev[:, :-2]], 1)[:, :s_len]
        alpha[t] = _lse(prev, a1, np.where(skip, a2, _NEG_INF)) + emit[t]
    return alpha, emit


def _beta(emit, ext, skip, in_len, n_ext):
    t_max, n, s_len = emit.shape
    beta = np.full((t_max, n, s_len), _NEG_INF, emit.dtype)
    rows = np.arange(n)
    skip_next = np.zeros_like(skip)
    skip_next[:, :-2] = skip[:, 2:]
    for t in range(t_max - 1, -1, -1):
        last = in_len - 1 == t
        cur = np.full((n, s_len), _NEG_INF, emit.dtype)
        if t + 1 < t_max:
            nxt = beta[t + 1]
            b1 = np.concatenate([nxt[:, 1:], np.full((n, 1), _NEG_INF, emit.dtype)], 1)
            b2 = np.concatenate([nxt[:, 2:], np.full((n, 2), _NEG_INF, emit.dtype)], 1)[:, :s_len]
            cur = _lse(nxt, b1, np.where(skip_next, b2, _NEG_INF)) + emit[t]
        init = np.full((n, s_len), _NEG_INF, emit.dtype)
        init[rows, n_ext - 1] = emit[t, rows, n_ext - 1]
        init[rows, np.maximum(n_ext - 2, 0)] = np.where(
            n_ext > 1, emit[t, rows, np.maximum(n_ext - 2, 0)], init[rows, 0])
        beta[t] = np.where(last[:, None], init, np.where((t < in_len)[:, None], cur, _NEG_INF))
    return beta


@op("ctc_loss", saves=None, node="CtcLossBackward0")
def _ctc(xp, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    lp = _host(xp, log_probs)
    if lp.dtype not in (np.float32, np.float64):
        lp = lp.astype(np.float64)
    tgt, in_len = _host(xp, targets), _host(xp, input_lengths).astype(np.int64)
    tg_len = _host(xp, target_lengths).astype(np.int64)
    max_len = int(tg_len.max()) if tg_len.size else 0
    ext, skip = _extended(tgt, tg_len, blank, max_len)
    n_ext = 2 * tg_len + 1
    alpha, emit = _alpha(lp, ext, skip, in_len, n_ext)
    rows = np.arange(lp.shape[1])
    end = alpha[in_len - 1, rows]
    last = end[rows, n_ext - 1]
    prev = np.where(n_ext > 1, end[rows, np.maximum(n_ext - 2, 0)], _NEG_INF)
    nll = -_lse(last, prev)
    out = np.where(zero_infinity & np.isinf(nll), 0.0, nll)
    saved = (lp, ext, skip, in_len, n_ext, alpha, emit, nll, zero_infinity, log_probs.dtype)
    return xp.asarray(out.astype(log_probs.dtype)), saved


@_ctc.vjp
def _(xp, g, lp, ext, skip, in_len, n_ext, alpha, emit, nll, zero_infinity, dtype):
    beta = _beta(emit, ext, skip, in_len, n_ext)
    t_max, n, c = lp.shape
    ab = alpha + beta
    lcab = np.full(lp.shape, _NEG_INF, lp.dtype)
    # logsumexp of alpha+beta over the positions with label c, the last first as torch's
    for s in range(ext.shape[1] - 1, -1, -1):
        cols = ext[:, s]
        cur = lcab[:, np.arange(n), cols]
        lcab[:, np.arange(n), cols] = _lse(cur, ab[:, :, s])
    # torch's last frame assigns the last label's term (not a log-sum: it takes the last label
    # for a non-blank), overwriting the blank's where the targets end in the blank
    r = np.flatnonzero((n_ext > 1) & (in_len > 0))
    lcab[in_len[r] - 1, r, ext[r, n_ext[r] - 2]] = ab[in_len[r] - 1, r, n_ext[r] - 2]
    with np.errstate(over="ignore", invalid="ignore"):
        grad = _exp(lp) - _exp(lcab + nll[None, :, None] - lp)
    valid = np.arange(t_max)[:, None] < in_len[None, :]
    grad = np.where(valid[:, :, None], grad, lp.dtype.type(0))
    if zero_infinity:
        grad = np.where(np.isinf(nll)[None, :, None], lp.dtype.type(0), grad)
    grad = grad * _host(xp, g).astype(lp.dtype, copy=False)[None, :, None]
    return (xp.asarray(grad.astype(dtype)), None, None, None)


def _host(xp, a):
    return np.asarray(a if xp is np else a.get())


def _as_lengths(x, n, be):
    if isinstance(x, (list, tuple)):
        return _new(be.xp.asarray(np.asarray(x, np.int64)), be)
    return x.reshape(-1) if x.ndim else x.reshape(1)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity):
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 and not isinstance(
            target_lengths, (list, tuple)) and target_lengths.ndim == 0 else targets
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be 2-D or 3-D, got {log_probs.ndim}-D")
    n = log_probs.shape[1]
    be = log_probs.be
    input_lengths = _as_lengths(input_lengths, n, be)
    target_lengths = _as_lengths(target_lengths, n, be)
    # torch's checks in ctc_loss_allocate_outputs, in its order
    where = " (while checking arguments for ctc_loss_allocate_outputs)"
    if not 0 <= blank < log_probs.shape[2]:
        raise RuntimeError("blank must be in label range")
    if input_lengths.shape[0] != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if target_lengths.shape[0] != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    tl = _host(be.xp, target_lengths.arr).astype(np.int64)
    il = _host(be.xp, input_lengths.arr).astype(np.int64)
    if (tl < 0).any():
        raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value "
                           f"{int(tl[tl < 0][0])}{where}")
    tg = _host(be.xp, targets.arr).astype(np.int64)
    if tg.ndim == 1:                          # concatenated targets
        if tg.shape[0] != tl.sum():
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, "
                               f"but got size {tg.shape[0]} for argument #2 'targets'{where}")
        padded = np.zeros((n, int(tl.max()) if tl.size else 0), np.int64)
        start = np.concatenate([[0], np.cumsum(tl)[:-1]])
        for i in range(n):
            padded[i, :tl[i]] = tg[start[i]:start[i] + tl[i]]
        tg = padded
    else:
        if tg.shape[0] != n:
            raise RuntimeError(f"Expected tensor to have size {n} at dimension 0, but got size "
                               f"{tg.shape[0]} for argument #2 'targets'{where}")
        if tl.size and tg.shape[1] < tl.max():
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.max())} at "
                               f"dimension 1, but got size {tg.shape[1]} for argument #2 "
                               f"'targets'{where}")
    for length in il:
        if not 0 <= length <= log_probs.shape[0]:
            raise RuntimeError(f"Expected input_lengths to have value "
                               f"{'at least 0' if length < 0 else f'at most {log_probs.shape[0]}'}"
                               f", but got value {int(length)}{where}")
    tg_t = _new(be.xp.asarray(tg), be)
    loss = apply(_ctc, (log_probs, tg_t, input_lengths, target_lengths),
                 (blank, bool(zero_infinity)))
    if zero_infinity:       # torch: where(res == inf, 0, res) over the kernel (WhereBackward0);
        # the kernel has zeroed those losses and their gradients already
        from ..ops.elementwise import where
        loss = where(loss == float("inf"), _new(be.xp.zeros((), loss.arr.dtype), be), loss)
    if reduction == "mean":
        lengths = _new(be.xp.asarray(np.maximum(tl, 1).astype(log_probs.arr.dtype)), be)
        return (loss / lengths).mean()
    if reduction == "sum":
        return loss.sum()
    if reduction != "none":
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return loss.reshape(()) if unbatched else loss
