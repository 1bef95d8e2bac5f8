"""Fused recurrent layers: one primitive runs a whole layer's time loop in the forward and
backpropagates through time in its vjp, so autograd records one node per layer and direction,
not a dozen per time step. The input-to-hidden projection for all steps is a single matmul,
so each step costs one matmul plus fused elementwise updates.

Shapes: x (T, B, I); xw (T, B, G*H) = x @ W_ih.T + b_ih; h0 (B, H_out); c0 (B, H) for LSTM;
w_hh (G*H, H_out); b_hh (G*H) or None; w_hr (H_out, H) (LSTM projections) or None.
`batch_sizes` (packed input): at step t only the first batch_sizes[t] rows advance; the others
keep their state, so after the loop each row holds the state of its own last step.

float16/bfloat16 layers compute in float32 (as torch's CPU kernels accumulate) and round their
outputs. Inputs of mixed dtypes (autocast) give each output the dtype torch's composite gates
give it: see `rnn_layer` and `lstm_layer`.

The layer ops have several outputs, so their tensors' grad_fn is an edge (OutSlot) into the
node; `as_node` shows a visible output as torch's grad_fn class for it (StackBackward0,
MkldnnRnnLayerBackward0, the cells' TanhBackward0 / AddBackward0 / ...)."""
import numpy as np

from .._dtype import OF_NP, PROMOTE
from ..ops._apply import apply, make_view
from ..ops._registry import op
from ..ops.shape import _swap_bwd, _swap_fwd


def _opmath(*arrays):
    """The arrays (None kept) in the dtype the op computes in: float64 if any is, else float32."""
    wide = any(a is not None and a.dtype == np.float64 for a in arrays)
    ct = np.float64 if wide else np.float32
    return tuple(None if a is None else a.astype(ct, copy=False) for a in arrays)


def _promote(a, b):
    return PROMOTE[OF_NP[a.num], OF_NP[b.num]].np


def _sig(xp, x):
    y = xp.exp(-x)
    y += 1
    return xp.reciprocal(y, out=y)


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _active(batch_sizes, t, B):
    return B if batch_sizes is None else int(batch_sizes[t])


@op("rnn_layer", saves="in", n_out=2, node="RnnBackward0", needs_mask=True)
def rnn_layer(xp, xw, h0, w_hh, b_hh, mode, batch_sizes, reverse):
    """Elman RNN (tanh or relu) and GRU layers. The new state has the dtype of torch's last gate
    op: tanh/relu(x W_ih^T + h W_hh^T) that of the input projection `xw`; the GRU's
    (h - n) * z + n that of `xw` and `h0` promoted (float32 for a float32 state under bfloat16
    autocast)."""
    od = xw.dtype if mode != "GRU" else _promote(xw.dtype, h0.dtype)
    xw, h0, w_hh, b_hh = _opmath(xw, h0, w_hh, b_hh)
    T, B = xw.shape[0], xw.shape[1]
    h = h0.copy()
    out = xp.zeros((T, B, h0.shape[1]), xw.dtype)
    saved_steps = [None] * T
    w_hh_t = xp.ascontiguousarray(w_hh.T)     # reused every step: BLAS is faster on C order
    has_b = b_hh is not None
    if mode != "GRU" and has_b:               # GRU needs W_hn h + b_hn apart (r scales it)
        xw, b_hh = xw + b_hh, None
    for t in _steps(T, reverse):
        b = _active(batch_sizes, t, B)
        hp = h[:b].copy()        # h is updated in place below; backward needs the old rows
        gh = hp @ w_hh_t
        if b_hh is not None:
            gh += b_hh
        gx = xw[t, :b]
        if mode == "GRU":
            H = h.shape[1]
            r = _sig(xp, gx[:, :H] + gh[:, :H])
            z = _sig(xp, gx[:, H:2 * H] + gh[:, H:2 * H])
            ghn = gh[:, 2 * H:]
            n = xp.tanh(gx[:, 2 * H:] + r * ghn)
            h[:b] = (1 - z) * n + z * hp
            saved_steps[t] = (hp, r, z, n, ghn)
        else:
            pre = gx + gh
            h[:b] = xp.tanh(pre) if mode == "RNN_TANH" else xp.maximum(pre, 0)
            saved_steps[t] = (hp, h[:b].copy())
        out[t, :b] = h[:b]
    return (out.astype(od, copy=False), h.astype(od, copy=False)), \
        (saved_steps, w_hh, has_b, mode, batch_sizes, reverse, xw.shape)


@rnn_layer.vjp
def _(xp, grads, saved_steps, w_hh, has_b, mode, batch_sizes, reverse, xw_shape, needs):
    g_out, g_h = (g.astype(w_hh.dtype, copy=False) for g in grads)
    T, B = xw_shape[0], xw_shape[1]
    dxw = xp.zeros(xw_shape, g_out.dtype)
    dghs = xp.zeros(xw_shape, g_out.dtype)            # d(h_prev @ W_hh.T + b_hh) per step
    hps = xp.zeros(xw_shape[:2] + (w_hh.shape[1],), g_out.dtype)
    dh = g_h.copy()
    first = T - 1 if reverse else 0     # the step that reads the initial state (the last here)
    for t in _steps(T, not reverse):
        b = _active(batch_sizes, t, B)
        dht = dh[:b] + g_out[t, :b]
        if mode == "GRU":
            hp, r, z, n, ghn = saved_steps[t]
            dn = dht * (1 - z) * (1 - n * n)
            dr = dn * ghn * r * (1 - r)
            dz = dht * (hp - n) * z * (1 - z)
            dgates = xp.concatenate([dr, dz, dn], axis=1)
            dgh = xp.concatenate([dr, dz, dn * r], axis=1)
            dh_direct = dht * z
        else:
            hp, ht = saved_steps[t]
            dgates = dht * (1 - ht * ht) if mode == "RNN_TANH" else dht * (ht > 0)
            dgh = dgates
            dh_direct = 0
        dxw[t, :b] = dgates
        dghs[t, :b] = dgh
        hps[t, :b] = hp
        if t != first or needs[1]:      # (torch's product for the initial state's gradient)
            dh[:b] = dh_direct + dgh @ w_hh
    flat = dghs.reshape(-1, dghs.shape[-1])
    dw_hh = flat.T @ hps.reshape(-1, hps.shape[-1]) if needs[2] else None
    db_hh = flat.sum(0) if has_b and needs[3] else None
    return dxw, dh if needs[1] else None, dw_hh, db_hh


# ---- LSTM --------------------------------------------------------------------------------------
# Inside the LSTM op the per-step arrays are feature-major, (features, batch): the gate matmul is
# W_hh @ h, and every gate is then a contiguous block of rows, which NumPy's elementwise loops
# run several times faster on than on column slices. The gates are computed in the order
# (o, i, f, g) rather than torch's (i, f, g, o): the three sigmoids are one block in the forward,
# and the three gates the cell gradient scales are one block in the backward. That order is
# torch's rolled by one gate (`_roll(xp, w, H)`). The sigmoid rows of the weights are negated, so
# that the three sigmoids are 1 / (1 + exp(-z)) in three passes over their block: NumPy's float32
# exp costs less than its tanh (on an AVX2 CPU 26 against 44 us for a (512, 32) block; the
# earlier tanh over all four gates, sigmoid(z) = (1 + tanh(z / 2)) / 2, took 48 us a step
# against 36), and a sigmoid that saturates towards 0 keeps its small value (1 + tanh(z / 2)
# rounds it to 0 below about z = -17).

@op("lstm_layer", saves="both", n_out=3, node="RnnBackward0", needs_mask=True)
def lstm_layer(xp, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    """The cell state keeps the dtype of `c0` (torch's f * c + i * g promotes the gates with
    it); the hidden state and output that of `w_hr` (the projection) or else of c0 (o * tanh(c)).
    Under autocast's oneDNN path every input comes in the autocast dtype."""
    hd, cd = (c0.dtype if w_hr is None else w_hr.dtype), c0.dtype
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = _opmath(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    T, B, _ = x.shape
    H = c0.shape[1]
    w_ih_p, w_hh_p = _roll(xp, w_ih, H), _roll(xp, w_hh, H)
    scale = xp.ones((4 * H, 1), x.dtype)
    scale[:3 * H] = -1
    if b_ih is not None:        # a column of ones on x folds the bias into the matmul
        x1 = xp.empty(x.shape[:2] + (x.shape[2] + 1,), x.dtype)
        x1[..., :-1], x1[..., -1] = x, 1
        w1 = xp.concatenate([w_ih_p, _roll(xp, b_ih + b_hh, H)[:, None]], axis=1)
    else:
        x1, w1 = x, w_ih_p
    xw = xp.matmul(w1 * scale, x1.transpose(0, 2, 1))           # (T, 4H, B)
    stacks = _lstm_forward(xp, xw, h0.T, c0.T, w_hh_p * scale, w_hr, batch_sizes, reverse)
    hs, cs = stacks[0], stacks[1]
    out = xp.ascontiguousarray(hs.transpose(0, 2, 1))                # (T, B, P)
    if batch_sizes is None or reverse:
        last = 0 if reverse else T - 1
        hn, cn = out[last].copy(), cs[last].T.copy()
    else:                                               # each row's own last step
        bs = np.asarray(batch_sizes)
        last = xp.asarray((bs[:, None] > np.arange(B)).sum(0) - 1)
        rows = xp.arange(B)
        hn, cn = out[last, rows], cs[last, :, rows]
    out, hn, cn = (a.astype(d, copy=False) for a, d in ((out, hd), (hn, hd), (cn, cd)))
    return (out, hn, cn), (x1, h0, c0, w_ih_p, w_hh_p, w_hr, out, stacks[1:],
                           b_ih is not None, batch_sizes, reverse)


def _roll(xp, a, shift):
    """xp.roll(a, shift, 0) for 0 < |shift| < len(a), as one concatenation (np.roll's
    generic path cost twice as much on the gate matrices)."""
    return xp.concatenate((a[-shift:], a[:-shift]))


def _lstm_forward(xp, xw, h0, c0, w_hh, w_hr, batch_sizes, reverse):
    """The time loop on feature-major (T, features, B) stacks, which the backward then treats as
    whole arrays; each step reads its previous state straight from the stacks. `h0`, `c0` are
    (features, B); `w_hh` is rolled and scaled."""
    T, G, B = xw.shape
    H = G // 4
    new = xp.empty if batch_sizes is None else xp.zeros      # columns past batch_sizes[t] stay 0
    hs = new((T, h0.shape[0], B), xw.dtype)
    cs, tcs, acts = new((T, H, B), xw.dtype), new((T, H, B), xw.dtype), new((T, G, B), xw.dtype)
    ms = None if w_hr is None else new((T, H, B), xw.dtype)
    ig = xp.empty((H, B), xw.dtype)                           # i * g, step after step
    with np.errstate(over="ignore"):        # exp(-z) of a saturated gate: inf, sigmoid 0
        _lstm_steps(xp, xw, h0, c0, w_hh, w_hr, batch_sizes, reverse, hs, cs, tcs, acts, ms, ig)
    return hs, cs, tcs, acts, ms


def _lstm_steps(xp, xw, h0, c0, w_hh, w_hr, batch_sizes, reverse, hs, cs, tcs, acts, ms, ig):
    T, G, B = xw.shape
    H = G // 4
    if batch_sizes is None and w_hr is None and xp is np:
        return _lstm_steps_full(xp, xw, h0, c0, w_hh, reverse, hs, cs, tcs, acts, ig)
    prev = b_prev = None
    for t in _steps(T, reverse):
        b = _active(batch_sizes, t, B)
        hp, cp = _prev_cols(xp, hs, h0, prev, b_prev, b), _prev_cols(xp, cs, c0, prev, b_prev, b)
        act = acts[t, :, :b]
        _matmul_into(xp, w_hh, hp, act)
        act += xw[t, :, :b]
        sig = act[:3 * H]                   # -z: exp, + 1, reciprocal
        xp.exp(sig, out=sig)
        sig += 1
        xp.reciprocal(sig, out=sig)
        xp.tanh(act[3 * H:], out=act[3 * H:])
        o, i, f, g = act[:H], act[H:2 * H], act[2 * H:3 * H], act[3 * H:]
        c = cs[t, :, :b]
        xp.multiply(f, cp, out=c)
        c += xp.multiply(i, g, out=ig[:, :b])
        tc = tcs[t, :, :b]
        xp.tanh(c, out=tc)
        if w_hr is None:
            xp.multiply(o, tc, out=hs[t, :, :b])
        else:
            m = ms[t, :, :b]
            xp.multiply(o, tc, out=m)
            _matmul_into(xp, w_hr, m, hs[t, :, :b])
        prev, b_prev = t, b


def _lstm_steps_full(xp, xw, h0, c0, w_hh, reverse, hs, cs, tcs, acts, ig):
    """_lstm_steps for whole batches of NumPy arrays without a projection (every column
    advances every step), with every step's views taken up front: the same operations, a
    third less time in Python between them. (Other namespaces, create_graph's traced one
    among them, iterate arrays into copies, not views.)"""
    H = xw.shape[1] // 4
    exp, tanh, multiply, matmul, reciprocal = xp.exp, xp.tanh, xp.multiply, xp.matmul, xp.reciprocal
    steps = zip(acts, xw, acts[:, :3 * H], acts[:, 3 * H:], acts[:, :H], acts[:, H:2 * H],
                acts[:, 2 * H:3 * H], cs, tcs, hs)
    hp, cp = h0, c0
    for act, xw_t, sig, g, o, i, f, c, tc, h in (reversed(list(steps)) if reverse else steps):
        matmul(w_hh, hp, out=act)
        act += xw_t
        exp(sig, out=sig)                   # -z: exp, + 1, reciprocal
        sig += 1
        reciprocal(sig, out=sig)
        tanh(g, out=g)
        multiply(f, cp, out=c)
        c += multiply(i, g, out=ig)
        tanh(c, out=tc)
        multiply(o, tc, out=h)
        hp, cp = h, c


def _matmul_into(xp, a, b, out):
    """a @ b written into `out`, which is a column slice (not contiguous) for packed batches."""
    if out.flags.c_contiguous:
        xp.matmul(a, b, out=out)
    else:
        out[...] = a @ b


def _prev_cols(xp, stack, init, prev, b_prev, b):
    """Columns [0, b) of the state a step starts from: the previous step's, except for sequences
    that had no previous step (all at the first step; in the reverse direction of a packed batch,
    those that start later), which take the initial state."""
    if prev is None:
        return init[:, :b]
    if b <= b_prev:
        return stack[prev, :, :b]
    return xp.concatenate([stack[prev, :, :b_prev], init[:, b_prev:b]], axis=1)


def _prev_stack(xp, stack, init, batch_sizes, reverse):
    """Every step's starting state at once (`_prev_cols` for all steps) from a (T, B, ...)
    stack and the (B, ...) initial state."""
    prev = xp.empty_like(stack)
    if reverse:
        prev[:-1], prev[-1] = stack[1:], init
        if batch_sizes is not None:
            for t in range(len(batch_sizes) - 1):
                lo, hi = int(batch_sizes[t + 1]), int(batch_sizes[t])
                prev[t, lo:hi] = init[lo:hi]
    else:
        prev[1:], prev[0] = stack[:-1], init
    return prev


@lstm_layer.vjp
def _(xp, grads, x, h0, c0, w_ih_p, w_hh_p, w_hr, out, stacks, has_b, batch_sizes, reverse,
      needs):
    g_out, g_h, g_c = (g.astype(w_hh_p.dtype, copy=False) for g in grads)
    cs, tcs, acts, ms = stacks
    T, G, B = acts.shape
    H = G // 4
    # every step's gate gradients as a column block of one (G, T * B) matrix, which the
    # weight and input gradients then read without a transposing copy
    dgates = (xp.empty if batch_sizes is None else xp.zeros)((4, H, T, B), acts.dtype)
    g_out = xp.ascontiguousarray(g_out.transpose(0, 2, 1))
    dh, dc = g_h.T.copy(), g_c.T.copy()
    w_hh_t = w_hh_p.T
    dw_hr = None if w_hr is None else xp.zeros_like(w_hr)
    if batch_sizes is None and w_hr is None and B > 1 and xp is np:
        _lstm_bptt_full(xp, g_out, dh, dc, acts, cs, tcs, c0.T, dgates, w_hh_t, reverse)
    else:
        coef = xp.empty((T, 3, H, B), acts.dtype)
        dc_dm, do_dm = xp.empty((T, H, B), acts.dtype), xp.empty((T, H, B), acts.dtype)
        _gate_factors(xp, acts, tcs, coef, dc_dm, do_dm)
        cf = coef[:, 1]
        if batch_sizes is None or not reverse:     # each step's starting cell state
            first, rest, prev = (-1, cf[:-1], cs[1:]) if reverse else (0, cf[1:], cs[:-1])
            rest *= prev
            cf[first] *= c0.T
        else:
            cf *= _prev_stack(xp, cs.transpose(0, 2, 1), c0, batch_sizes,
                              reverse).transpose(0, 2, 1)
        _lstm_bptt(xp, g_out, dh, dc, dc_dm, do_dm, coef, acts[:, 2 * H:3 * H], dgates, w_hh_t,
                   w_hr, ms, dw_hr, batch_sizes, reverse)
    flat = dgates.reshape(G, T * B)

    def unroll(a):                                     # back to torch's gate order
        return _roll(xp, a, -H)
    dx = (flat.T @ w_ih_p).reshape(T, B, -1) if needs[0] else None
    dw_ih = db = None
    if needs[3] or has_b:
        dw1 = unroll(flat @ x.reshape(T * B, -1))      # (the bias gradient is its last column)
        dw_ih, db = (dw1[:, :-1].copy(), dw1[:, -1].copy()) if has_b else (dw1, None)
    dw_hh = None
    if needs[4]:
        dw_hh = unroll(flat @ _prev_stack(xp, out, h0, batch_sizes, reverse).reshape(T * B, -1))
    return (dx, dh.T.copy(), dc.T.copy(), dw_ih, dw_hh, db, None if db is None else db.copy(),
            dw_hr)


def _lstm_bptt(xp, g_out, dh, dc, dc_dm, do_dm, coef, f, dgates, w_hh_t, w_hr, ms, dw_hr,
               batch_sizes, reverse):
    """The backward's time loop (steps in reverse): dh, dc (and dw_hr) updated in place, the
    gate gradients written into dgates (4, H, T, B)."""
    T, B, G = g_out.shape[0], g_out.shape[2], w_hh_t.shape[1]
    column = xp.empty((G, B), dgates.dtype)
    w_hr_t = None if w_hr is None else w_hr.T
    for t in _steps(T, not reverse):
        b = _active(batch_sizes, t, B)
        dm = dh[:, :b]
        dm += g_out[t, :, :b]
        if w_hr is not None:
            dw_hr += dm @ ms[t, :, :b].T
            dm = w_hr_t @ dm
        dct = dm * dc_dm[t, :, :b]
        dct += dc[:, :b]
        dg = dgates[:, :, t, :b]
        xp.multiply(dm, do_dm[t, :, :b], out=dg[0])
        xp.multiply(dct, coef[t, :, :, :b], out=dg[1:])
        xp.multiply(dct, f[t, :, :b], out=dc[:, :b])
        dg = dg.reshape(G, b)
        if b == 1:      # a single column goes to BLAS with the (G, B) row stride: NumPy's
            column[:, :1] = dg      # matrix-vector product rounds by the vector's stride
            dg = column[:, :1]
        _matmul_into(xp, w_hh_t, dg, dh[:, :b])


def _gate_factors(xp, acts, tcs, coef, dc_dm, do_dm):
    """The factors of the backward's steps that do not depend on the incoming gradient, for
    the steps of acts (K, G, B) and tcs (K, H, B): into coef (K, 3, H, B) what dc gives the i,
    f and g gates (f's still to be multiplied by each step's starting cell state), into dc_dm
    and do_dm (K, H, B) what dm (at o * tanh(c)) gives dc and the o gate."""
    H = tcs.shape[1]
    o, i, f, g = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:3 * H], acts[:, 3 * H:]
    ci, cf, cg = coef[:, 0], coef[:, 1], coef[:, 2]
    xp.subtract(1, i, out=ci)
    ci *= i
    ci *= g
    xp.subtract(1, f, out=cf)
    cf *= f
    xp.multiply(g, g, out=cg)
    xp.subtract(1, cg, out=cg)
    cg *= i
    xp.multiply(tcs, tcs, out=dc_dm)
    xp.subtract(1, dc_dm, out=dc_dm)
    dc_dm *= o
    xp.subtract(1, o, out=do_dm)
    do_dm *= o
    do_dm *= tcs


_BPTT_BLOCK_BYTES = 1 << 20     # _lstm_bptt_full's block of steps: their gates and factors


def _lstm_bptt_full(xp, g_out, dh, dc, acts, cs, tcs, c0, dgates, w_hh_t, reverse):
    """_lstm_bptt for NumPy whole batches of several columns without a projection: the gate
    factors computed for a block of steps at a time, just before those steps run, the block's
    gates and factors (9 H B numbers a step) within about a megabyte, a second-level cache
    (the whole sequence's at once, 9 MB in the LSTM benchmark, cost 2.5x as much time a
    pass); every step's views taken up front (as in _lstm_steps_full). `c0` is (H, B)."""
    T, G = g_out.shape[0], w_hh_t.shape[1]
    H = G // 4
    K = max(1, min(T, _BPTT_BLOCK_BYTES // (9 * H * g_out.shape[2] * g_out.itemsize)))
    multiply, matmul = xp.multiply, xp.matmul
    coef = xp.empty((K, 3) + c0.shape, acts.dtype)
    dc_dm, do_dm = xp.empty((K,) + c0.shape, acts.dtype), xp.empty((K,) + c0.shape, acts.dtype)
    dg_o, dg_ifg = dgates[0].transpose(1, 0, 2), dgates[1:].transpose(2, 0, 1, 3)
    dg_all = dgates.reshape(G, T, -1).transpose(1, 0, 2)
    f = acts[:, 2 * H:3 * H]
    for a in (range(0, T, K) if reverse else range((T - 1) // K * K, -1, -K)):
        b = min(a + K, T)
        n = b - a
        _gate_factors(xp, acts[a:b], tcs[a:b], coef[:n], dc_dm[:n], do_dm[:n])
        cf = coef[:n, 1]
        if reverse:         # each step's starting cell state: the next step's, or c0
            if b < T:
                cf *= cs[a + 1:b + 1]
            else:
                cf[:-1] *= cs[a + 1:b]
                cf[-1] *= c0
        elif a:
            cf *= cs[a - 1:b - 1]
        else:
            cf[1:] *= cs[:b - 1]
            cf[0] *= c0
        steps = zip(g_out[a:b], dc_dm, do_dm, coef, f[a:b], dg_o[a:b], dg_ifg[a:b], dg_all[a:b])
        for g_t, dc_dm_t, do_dm_t, coef_t, f_t, dgo, dgifg, dg in \
                (steps if reverse else reversed(list(steps))):
            dh += g_t                   # dm
            dct = dh * dc_dm_t
            dct += dc
            multiply(dh, do_dm_t, out=dgo)
            multiply(dct, coef_t, out=dgifg)
            multiply(dct, f_t, out=dc)
            matmul(w_hh_t, dg, out=dh)


# torch's oneDNN LSTM layer (what it runs for unpacked float32/bfloat16 LSTMs without
# projections, and under autocast): lstm_layer's computation as an op of its own name, which
# flop counters do not count, where they count the linears of torch's composite layer; its node
# is torch's MkldnnRnnLayerBackward0, its inputs in torch's order (input, w_ih, w_hh, b_ih,
# b_hh, hx, cx)
_lstm_fwd, _lstm_bwd = lstm_layer.impl[0][:2]


@op("mkldnn_rnn_layer", saves="both", n_out=3, node="MkldnnRnnLayerBackward0",
    needs_mask=True)
def mkldnn_rnn_layer(xp, x, w_ih, w_hh, b_ih, b_hh, h0, c0, batch_sizes, reverse):
    return _lstm_fwd(xp, x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, batch_sizes, reverse)


@mkldnn_rnn_layer.vjp
def _(xp, grads, *saved):
    n = saved[-1]
    dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh, _ = _lstm_bwd(
        xp, grads, *saved[:-1], (n[0], n[5], n[6], n[1], n[2], n[3], n[4], False))
    return dx, dw_ih, dw_hh, db_ih, db_hh, dh, dc


# ---- torch's grad_fn classes for the outputs -------------------------------------------------
def _alias(node):
    o = op(f"rnn_as_{node}", saves=None, node=node)(lambda xp, x: (x, ()))
    return o.vjp(lambda xp, g: (g,))


_ALIASES = {n: _alias(n) for n in ("StackBackward0", "MkldnnRnnLayerBackward0", "TanhBackward0",
                                   "ReluBackward0", "AddBackward0", "MulBackward0")}


def as_node(t, name):
    """`t`, an output of a layer op, as the output of a node of torch's class `name`: an alias of
    its array sharing its version counter (an in-place change still reaches what the layer
    saved), whose backward passes the gradient through unchanged."""
    if not t.requires_grad or t.grad_fn is None:
        return t
    y = apply(_ALIASES[name], (t,))
    if t._vc is None:
        t._vc = [0, 0]
    y._vc = t._vc
    return y


# RNN and GRU transpose their batch_first output in place (TransposeBackward1)
transpose_ = make_view(op("rnn_transpose_", saves=None, node="TransposeBackward1")(_swap_fwd)
                       .vjp(_swap_bwd))


def _pack_rows(xp, padded, t_idx, b_idx):
    """A padded (T, B, *) tensor to PackedSequence data: the rows at (t_idx, b_idx)."""
    t_idx, b_idx = xp.asarray(t_idx), xp.asarray(b_idx)
    return padded[t_idx, b_idx], (padded.shape, t_idx, b_idx)


def _unpack_rows(xp, g, shape, t_idx, b_idx):
    d = xp.zeros(shape, g.dtype)
    d[t_idx, b_idx] = g
    return (d,)


# an RNN's packed output (torch concatenates the steps' rows) and pack_padded_sequence's data
# (torch's _pack_padded_sequence op): the same rows under torch's two node names
rnn_pack = op("rnn_pack", saves=None, node="CatBackward0")(_pack_rows).vjp(_unpack_rows)
pack_padded = op("_pack_padded_sequence", saves=None,
                 node="PackPaddedSequenceBackward0")(_pack_rows).vjp(_unpack_rows)
