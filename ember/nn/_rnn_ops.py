"""Fused recurrent layers: one primitive runs a whole layer's time loop in the forward and
backpropagates through time in its vjp, so autograd records one node per layer and direction,
not a dozen per time step. The input-to-hidden projection for all steps is a single matmul
done before (by `linear`), so each step costs one matmul plus fused elementwise updates.

Shapes: xw (T, B, G*H) = x @ W_ih.T + b_ih; h0 (B, H_out); c0 (B, H) for LSTM; w_hh (G*H, H_out);
b_hh (G*H) or None; w_hr (H_out, H) (LSTM projections) or None. `batch_sizes` (packed input):
at step t only the first batch_sizes[t] rows advance; the others keep their state, so after the
loop each row holds the state of its own last step."""
from ..ops._registry import op


def _sig(xp, x):
    y = xp.exp(-x)
    y += 1
    return xp.reciprocal(y, out=y)


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _active(batch_sizes, t, B):
    return B if batch_sizes is None else int(batch_sizes[t])


@op("rnn_layer", saves="in", n_out=3, node="RnnBackward0")
def rnn_layer(xp, xw, h0, c0, w_hh, b_hh, w_hr, mode, batch_sizes, reverse):
    T, B = xw.shape[0], xw.shape[1]
    h = h0.copy()
    c = None if c0 is None else c0.copy()
    out = xp.zeros((T, B, h0.shape[1]), xw.dtype)
    saved_steps = [None] * T
    w_hh_t = xp.ascontiguousarray(w_hh.T)     # reused every step: BLAS is faster on C order
    has_b = b_hh is not None
    if mode != "GRU" and has_b:               # GRU needs W_hn h + b_hn apart (r scales it)
        xw, b_hh = xw + b_hh, None
    if mode == "LSTM":
        saved_steps = _lstm_forward(xp, xw, h, c, w_hh_t, w_hr, batch_sizes, reverse, out)
        return (out, h, c), (saved_steps, w_hh, w_hr, has_b, mode, batch_sizes, reverse,
                             xw.shape, c0 is not None)
    for t in _steps(T, reverse):
        b = _active(batch_sizes, t, B)
        hp = h[:b].copy()        # h is updated in place below; backward needs the old rows
        gh = hp @ w_hh_t
        if b_hh is not None:
            gh += b_hh
        gx = xw[t, :b]
        if mode == "LSTM":
            H = c.shape[1]
            gates = gh
            gates += gx
            act = _sig(xp, gates)            # one pass for i, f, o; g is overwritten below
            act[:, 2 * H:3 * H] = xp.tanh(gates[:, 2 * H:3 * H])
            i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
            cb = c[:b]
            cp = cb.copy()
            xp.multiply(f, cp, out=cb)
            cb += i * g
            tc = xp.tanh(cb)
            m = o * tc
            h[:b] = m @ w_hr.T if w_hr is not None else m
            saved_steps[t] = (hp, cp, i, f, g, o, tc, m)
        elif mode == "GRU":
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
    return (out, h, c if c is not None else xp.zeros((0,), xw.dtype)), (
        saved_steps, w_hh, w_hr, has_b, mode, batch_sizes, reverse, xw.shape,
        c0 is not None)


@rnn_layer.vjp
def _(xp, grads, saved_steps, w_hh, w_hr, has_b, mode, batch_sizes, reverse, xw_shape, has_c):
    g_out, g_h, g_c = grads
    T, B = xw_shape[0], xw_shape[1]
    if mode == "LSTM":
        return _lstm_backward(xp, g_out, g_h.copy(), g_c.copy(), saved_steps, w_hh, w_hr, has_b,
                              batch_sizes, reverse)
    dxw = xp.zeros(xw_shape, g_out.dtype)
    dghs = xp.zeros(xw_shape, g_out.dtype)            # d(h_prev @ W_hh.T + b_hh) per step
    hps = xp.zeros(xw_shape[:2] + (w_hh.shape[1],), g_out.dtype)
    dw_hr = xp.zeros_like(w_hr) if w_hr is not None else None
    dh = g_h.copy()
    dc = g_c.copy() if has_c else None
    for t in _steps(T, not reverse):
        b = _active(batch_sizes, t, B)
        dht = dh[:b] + g_out[t, :b]
        if mode == "LSTM":
            hp, cp, i, f, g, o, tc, m = saved_steps[t]
            if w_hr is not None:
                dw_hr += dht.T @ m
                dm = dht @ w_hr
            else:
                dm = dht
            dct = dc[:b] + dm * o * (1 - tc * tc)
            dgates = xp.concatenate([dct * g * i * (1 - i), dct * cp * f * (1 - f),
                                     dct * i * (1 - g * g), dm * tc * o * (1 - o)], axis=1)
            dc[:b] = dct * f
            dgh = dgates
            dh_direct = 0
        elif mode == "GRU":
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
        dh[:b] = dh_direct + dgh @ w_hh
    flat = dghs.reshape(-1, dghs.shape[-1])
    dw_hh = flat.T @ hps.reshape(-1, hps.shape[-1])
    db_hh = flat.sum(0) if has_b else None
    return dxw, dh, dc, dw_hh, db_hh, dw_hr


def _lstm_forward(xp, xw, h, c, w_hh_t, w_hr, batch_sizes, reverse, out):
    """The LSTM time loop, writing every step's values straight into (T, B, ...) stacks that
    backward then treats as whole arrays."""
    T, B, H = xw.shape[0], xw.shape[1], c.shape[1]
    dt = xw.dtype
    hps = xp.zeros((T, B, h.shape[1]), dt)
    cps = xp.zeros((T, B, H), dt)
    acts = xp.zeros((T, B, 4, H), dt)              # sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    tcs = xp.zeros((T, B, H), dt)
    ms = xp.zeros((T, B, H), dt) if w_hr is not None else None
    for t in _steps(T, reverse):
        b = _active(batch_sizes, t, B)
        hp = hps[t, :b]
        hp[...] = h[:b]
        act = acts[t, :b].reshape(b, 4 * H)
        xp.matmul(hp, w_hh_t, out=act)
        act += xw[t, :b]
        tg = xp.tanh(act[:, 2 * H:3 * H])
        xp.negative(act, out=act)                 # sigmoid in place: 1 / (1 + exp(-x))
        xp.exp(act, out=act)
        act += 1
        xp.reciprocal(act, out=act)
        act[:, 2 * H:3 * H] = tg
        i, f, g, o = act[:, :H], act[:, H:2 * H], tg, act[:, 3 * H:]
        cb = c[:b]
        cps[t, :b] = cb
        xp.multiply(f, cb, out=cb)
        cb += i * g
        tc = tcs[t, :b]
        xp.tanh(cb, out=tc)
        if w_hr is not None:
            m = ms[t, :b]
            xp.multiply(o, tc, out=m)
            h[:b] = m @ w_hr.T
        else:
            xp.multiply(o, tc, out=h[:b])
        out[t, :b] = h[:b]
    return hps, cps, acts, tcs, ms


def _lstm_backward(xp, g_out, dh, dc, stacks, w_hh, w_hr, has_b, batch_sizes, reverse):
    hps, cps, acts, tcs, ms = stacks
    T, B, _, H = acts.shape
    i, f, g, o = acts[:, :, 0], acts[:, :, 1], acts[:, :, 2], acts[:, :, 3]
    # every factor that does not depend on the incoming gradient, for all steps at once
    coef = xp.empty((T, B, 3, H), acts.dtype)
    coef[:, :, 0] = g * i * (1 - i)
    coef[:, :, 1] = cps * f * (1 - f)
    coef[:, :, 2] = i * (1 - g * g)
    dc_from_m = o * (1 - tcs * tcs)
    do_from_m = tcs * o * (1 - o)
    dgates = xp.zeros((T, B, 4, H), acts.dtype)
    dw_hr = xp.zeros_like(w_hr) if w_hr is not None else None
    for t in _steps(T, not reverse):
        b = _active(batch_sizes, t, B)
        dht = dh[:b] + g_out[t, :b]
        if w_hr is not None:
            dw_hr += dht.T @ ms[t, :b]
            dm = dht @ w_hr
        else:
            dm = dht
        dct = dm * dc_from_m[t, :b]
        dct += dc[:b]
        dg = dgates[t, :b]
        xp.multiply(dct[:, None, :], coef[t, :b], out=dg[:, :3])
        xp.multiply(dm, do_from_m[t, :b], out=dg[:, 3])
        xp.multiply(dct, f[t, :b], out=dc[:b])
        dh[:b] = dg.reshape(b, 4 * H) @ w_hh
    flat = dgates.reshape(T * B, 4 * H)
    dw_hh = flat.T @ hps.reshape(T * B, -1)
    db_hh = flat.sum(0) if has_b else None
    return dgates.reshape(T, B, 4 * H), dh, dc, dw_hh, db_hh, dw_hr
