"""Layer, group and batch norm (instance norm is batch norm over a view) of C-contiguous
float32/float64 arrays in the order torch's CPU kernels compute them (layer_norm_kernel.cpp,
group_norm_kernel.cpp, batch_norm_kernel.cpp, ATen/native/cpu/moments_utils.h), so that the
outputs, the saved statistics and the gradients come out bit for bit as torch's. The cost:
a NumPy call per step of torch's sequential loops (chunk steps, lanes, a thread's rows), and
fused multiply-adds through double (float32) or Dekker's product (float64, _fma.fma64).

torch registers these kernels with REGISTER_DISPATCH, which runs the AVX2 build also on AVX512
machines: vectors of 8 float32 / 4 float64 lanes. GCC contracts a product feeding one addition
into a fused multiply-add; the comments name where it does (found by comparing with torch).

Layer norm's RowwiseMoments (a row's mean and biased variance; group norm's too):
- the row's whole vectors in chunks of 16: per lane Welford, m1 = fma(1/(j+1), x - m1, m1),
  m2 = fma(x - m1_old, x - m1, m2) (1/(j+1) rounded);
- the chunks' (count, m1, m2) merged by a binary-counter cascade (_plan) with AddMomentsVec:
  c = m0b / (m0a + m0b), d = m1b - m1a, m1 = m1a + c*d, m2 = fma(d*m0a, c*d, m2a + m2b);
- the leftover elements (fewer than a vector) by scalar Welford (m1 += d / k, m2 += d*(x - m1),
  not fused), then the lanes merged into that one by one with scalar AddMoments: m1 =
  fma(c, d, m1), m2 = m2 + fma(d*d*c, m0, m2b);
- var = m2 / N; rstd = 1 / sqrt(var + eps) in the dtype; y = fma((x - mean) * rstd, w, b)
  (without a weight: fma(x - mean, rstd, b))."""
import functools
import math

import numpy as np

from ..ops._fma import _split, fma64

_F32 = np.dtype(np.float32)
_CHUNK = 16
_BLOCK = 1 << 16


def _fma(a, b, c, out=None):
    """a * b + c rounded once (float32: the exact product summed in double and rounded, as
    ops._fma: but for ties of that double rounding, 2**-29 of the cases), into `out` if given.
    Large float32 results go through double a block of rows at a time (cache-sized)."""
    shape = np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(c)) if \
        a.dtype == _F32 and out is None else ()
    if len(shape) > 1 and math.prod(shape) >= 2 * _BLOCK:
        a, b, c = (np.broadcast_to(v, shape) for v in (a, b, c))
        out = np.empty(shape, _F32)
        k = max(1, _BLOCK // (out.size // shape[0]))
        buf = np.empty((k,) + shape[1:])
        for i in range(0, shape[0], k):
            t = buf[:min(k, shape[0] - i)]
            np.multiply(a[i:i + k], b[i:i + k], out=t, dtype=np.float64)
            np.add(t, c[i:i + k], out=out[i:i + k], dtype=np.float64, casting="unsafe")
        return out
    if a.dtype == _F32:         # (the sum rounded to float32 as it is written: one pass)
        return np.add(np.multiply(a, b, dtype=np.float64), c, dtype=np.float64,
                      out=np.empty(shape, _F32) if out is None else out, casting="unsafe")
    r = fma64(np, a, b, c)
    if out is None:
        return r
    out[...] = r
    return out


@functools.lru_cache(maxsize=256)
def _plan(m, last):
    """RowwiseMoments' merges of m chunks (the last of `last` vectors, the others of 16): levels
    of independent merges, each (base nodes, added nodes, their counts, new nodes); chunk i is
    node i, merged nodes numbered on. Returns (levels, root node, node count)."""
    depth = max(1, (m - 1).bit_length())        # utils::CeilLog2 (1 for m <= 2)
    count = [_CHUNK] * (m - 1) + [last]
    level = [0] * m
    steps = []

    def merge(base, add):
        if add is None:
            return base
        if base is None:        # into an empty slot: a copy
            return add
        steps.append((base, add, len(count)))
        count.append(count[base] + count[add])
        level.append(1 + max(level[base], level[add]))
        return len(count) - 1

    stk = [None] * depth
    for i in range(m):
        stk[0] = merge(stk[0], i)
        mask, j = i + 1, 1
        while j < depth and not mask & 1:
            stk[j] = merge(stk[j], stk[j - 1])
            stk[j - 1] = None
            mask >>= 1
            j += 1
    for i in range(1, depth):
        stk[0] = merge(stk[0], stk[i])
    levels = []
    for lv in range(1, max(level) + 1):
        sel = [s for s in steps if level[s[2]] == lv]
        b, a, o = (np.array(t) for t in zip(*sel))
        cnt = np.array(count)
        levels.append((b, a, cnt[b][:, None, None], cnt[a][:, None, None], o))
    return levels, stk[0], len(count)


def _chunk_welford(xv, dt):
    """Per-lane Welford over axis -2 of xv (..., k, L), k <= 16: (m1, m2)."""
    xv = np.ascontiguousarray(np.moveaxis(xv, -2, 0))     # (each step's x contiguous: faster)
    m1 = xv[0].copy()               # fma(1, x - 0, 0)
    m2 = np.zeros_like(m1)          # fma(x, x - x, 0)
    d = np.empty_like(m1)
    e = np.empty_like(m1)
    t = np.empty(m1.shape) if dt == _F32 else None
    for j in range(1, len(xv)):
        x = xv[j]
        np.subtract(x, m1, out=d)
        if t is None:
            m1 = fma64(np, _RCP[dt][j], d, m1)
            np.subtract(x, m1, out=e)
            m2 = fma64(np, d, e, m2)
            continue
        np.multiply(d, _RCP[dt][j], out=t, dtype=np.float64)
        np.add(t, m1, out=m1, casting="unsafe")
        np.subtract(x, m1, out=e)
        np.multiply(d, e, out=t, dtype=np.float64)
        np.add(t, m2, out=m2, casting="unsafe")
    return m1, m2


_RCP = {dt: [dt.type(1) / dt.type(j + 1) for j in range(_CHUNK)]
        for dt in (np.dtype(np.float32), np.dtype(np.float64))}


def row_moments(x2):
    """(mean, biased variance) of each row of a float32/float64 (M, N) array, as torch's
    RowwiseMoments (AVX2 lanes)."""
    dt = x2.dtype
    M, N = x2.shape
    L = 32 // dt.itemsize
    n = N // L
    m1 = np.zeros(M, dt)
    m2 = np.zeros(M, dt)
    k = 0
    for i in range(n * L, N):           # the leftover elements, scalar Welford
        x = x2[:, i]
        d = x - m1
        k += 1
        m1 = m1 + d / dt.type(k)
        m2 = m2 + d * (x - m1)
    if n:
        v1, v2 = _vector_moments(x2[:, :n * L].reshape(M, n, L), dt)
        cn = dt.type(n)
        lanes = range(L)
        if not k:                       # (the first lane into nothing: a copy)
            m1, m2, k, lanes = v1[:, 0], v2[:, 0] + 0, n, range(1, L)
        for lane in lanes:              # scalar AddMoments, lane after lane
            c = cn / dt.type(k + n)
            d = v1[:, lane] - m1
            m1 = _fma(d, c, m1)
            m2 = m2 + _fma(d * d * c, dt.type(k), v2[:, lane])
            k += n
    return m1, m2 / dt.type(N)


def _vector_moments(xv, dt):
    """Per-lane (m1, m2) of the rows' whole vectors xv (M, n, L): chunk Welford, then the
    cascade of AddMomentsVec merges."""
    M, n, L = xv.shape
    whole = n // _CHUNK
    last = n - whole * _CHUNK
    m = whole + (last > 0)
    if m == 1:
        return _chunk_welford(xv, dt)
    c1 = np.empty((m, M, L), dt)
    c2 = np.empty((m, M, L), dt)
    if whole:
        w1, w2 = _chunk_welford(xv[:, :whole * _CHUNK].reshape(M, whole, _CHUNK, L), dt)
        c1[:whole] = w1.transpose(1, 0, 2)
        c2[:whole] = w2.transpose(1, 0, 2)
    if last:
        c1[whole], c2[whole] = _chunk_welford(xv[:, whole * _CHUNK:], dt)
    levels, root, size = _plan(m, last or _CHUNK)
    n1 = np.empty((size, M, L), dt)
    n2 = np.empty((size, M, L), dt)
    n1[:m] = c1
    n2[:m] = c2
    for b, a, cb, ca, o in levels:
        c = ca.astype(dt) / (ca + cb).astype(dt)
        d = n1[a] - n1[b]
        cd = c * d
        n1[o] = n1[b] + cd
        n2[o] = _fma(d * cb.astype(dt), cd, n2[b] + n2[a])
    return n1[root], n2[root]


def layer_norm_rows(x2, w, b, eps):
    """torch's layer norm forward of the rows of x2 (M, N) with weight and bias (N,) or None:
    (y, mean, rstd), the statistics of shape (M,)."""
    dt = x2.dtype
    mean, var = row_moments(x2)
    rstd = dt.type(1) / np.sqrt(var + dt.type(eps))
    y = x2 - mean[:, None]
    if w is None and b is not None:     # (the scalar loop: * 1 folded away, then fused)
        return _fma(y, rstd[:, None], b), mean, rstd
    y *= rstd[:, None]
    if w is not None and b is not None:
        y = _fma(y, w, b)
    else:       # (the scalar loop's y * w + 0: a -0.0 product comes out +0.0)
        if w is not None:
            y *= w
        y += 0
    return y, mean, rstd



def _lanes_total(acc, dt):
    """vec_reduce_all(+) of the lanes on axis -1: AVX2 float's shuffle tree ((l0 + l4) +
    (l2 + l6)) + ((l1 + l5) + (l3 + l7)); double's lanes in order."""
    if dt == _F32:
        v = acc[..., :4] + acc[..., 4:]
        w = v[..., :2] + v[..., 2:]
        return w[..., 0] + w[..., 1]
    return ((acc[..., 0] + acc[..., 1]) + acc[..., 2]) + acc[..., 3]


def _row_dots(p, q, dt, tail_fused=True):
    """torch's map2_reduce_all(p * q, +) over the rows of (M, N) arrays (q None: reduce_all of
    p): the vectors' products added in order (rounded: not fused), those of a partial last
    vector into its leading lanes (fused where `tail_fused`: GCC fuses them in layer norm's
    kernel, not in group norm's float one), then the lanes' shuffle tree. Rows shorter than a
    vector: the products added in order."""
    M, N = p.shape
    L = 32 // dt.itemsize
    v = p if q is None else p * q
    if N < L:
        return np.add.accumulate(v, axis=1)[:, -1]
    nv = N // L
    # the vectors moved first (a copy): NumPy adds along an outer axis in order, and fast
    acc = np.add.reduce(np.ascontiguousarray(
        v[:, :nv * L].reshape(M, nv, L).transpose(1, 0, 2)), axis=0)
    t = N - nv * L
    if t:
        s = slice(nv * L, N)
        if q is None:
            acc[:, :t] += p[:, s]
        elif tail_fused:
            acc[:, :t] = _fma(p[:, s], q[:, s], acc[:, :t])
        else:
            acc[:, :t] += v[:, s]
    return _lanes_total(acc, dt)


ROWS_EXACT = 64     # rows a thread up to which the weight's gradient is summed as torch's


def _thread_sums(v, f, threads):
    """The sums over rows of v (times f, fused, where f is given) as torch's kernel forms them:
    rows split into one chunk a thread (at::parallel_for), each thread's buffer adding its rows
    in order, then the buffers added in order onto zero. The fused sums run a Python loop over
    a thread's rows: beyond ROWS_EXACT of them, the products are summed as NumPy sums them."""
    M, N = v.shape
    dt = v.dtype
    chunk = -(-M // min(threads, M))
    parts = -(-M // chunk)
    if f is not None and chunk > ROWS_EXACT:
        return np.add.reduce(v * f, axis=0)
    if parts * chunk != M:        # (the last thread's missing rows as zeros: they add nothing)
        v = np.concatenate((v, np.zeros((parts * chunk - M, N), dt)))
        if f is not None:
            f = np.concatenate((f, np.zeros((parts * chunk - M, N), dt)))
    v3 = v.reshape(parts, chunk, N)
    if f is None:       # (NumPy adds in order along an axis not innermost: N > 1)
        buf = np.add.reduce(v3, axis=1, initial=0) if N > 1 else \
            np.add.accumulate(v3, axis=1)[:, -1] + 0
    else:
        buf = np.zeros((parts, N), dt)
        f3 = f.reshape(parts, chunk, N)
        if dt == _F32:      # exact products, each added rounded once
            p3 = np.multiply(v3, f3, dtype=np.float64)
            for k in range(chunk):
                np.add(buf, p3[:, k], out=buf, casting="unsafe")
        else:       # fma64's steps, the exact products (p + e) made once for every row
            p3 = v3 * f3
            vh, vl = _split(v3)
            fh, fl = _split(f3)
            e3 = ((vh * fh - p3) + vh * fl + vl * fh) + vl * fl
            start = buf
            for k in range(chunk):
                p, s = p3[:, k], buf + p3[:, k]
                t = s - p
                buf = s + (((p - (s - t)) + (buf - t)) + e3[:, k])
            if not np.isfinite(buf).all():     # (fma64's overflow handling)
                buf = start
                for k in range(chunk):
                    buf = fma64(np, v3[:, k], f3[:, k], buf)
    total = np.zeros(N, dt)
    for t in range(parts):
        total += buf[t]
    return total


def layer_norm_rows_bwd(g2, x2, mean, rstd, w, needs, threads):
    """torch's layer norm backward (LayerNormBackwardKernelImplInternal) of rows (M, N) from
    the saved mean and rstd (M,): (grad_input, grad_weight, grad_bias), None where `needs` says
    not. `threads`: torch's thread count, over whose chunks of rows the weight's and bias's
    gradients are summed. grad_input = fma(b, x, rstd * g * w) + c per row, with ds and db the
    rows' sums of g * x * w and g * w, b = fma(db, mean, -ds) * rstd^3 / N and c =
    fma(-b, mean, -(db * rstd / N))."""
    dt = x2.dtype
    M, N = x2.shape
    gx = gw = gb = None
    a = rstd[:, None]
    if w is not None and needs[1] and M:
        inner = _fma(a, x2, -a * mean[:, None])
        gw = _thread_sums(g2, inner, threads)
    if needs[2] and M:
        gb = _thread_sums(g2, None, threads)
    if needs[0]:
        wb = None if w is None else np.broadcast_to(w, x2.shape)
        ds = _row_dots(g2, x2, dt) if w is None else _row_dots(g2 * x2, wb, dt)
        db = _row_dots(g2, wb, dt)
        scale = dt.type(1) / dt.type(N)
        b = _fma(db, mean, -ds) * rstd * rstd * rstd * scale
        c = _fma(-b, mean, -(db * rstd * scale))
        gx = a * g2
        if w is not None:
            gx *= w
        gx = _fma(b[:, None], x2, gx)
        gx += c[:, None]
    return gx, gw, gb


def group_norm_rows(x3, G, w, b, eps):
    """torch's contiguous group norm forward (GroupNormKernelImplInternal) of x3 (N * G, D, HxW)
    with weight and bias (C,) or None: (y, mean, rstd), the statistics of shape (N * G,).
    RowwiseMoments over each group; rstd = 1 / sqrt(max(var, 0) + eps) in double (eps is),
    rounded; y = (x - mean) * rstd without weight and bias, else per channel scale = rstd * w,
    bias = fma(-scale, mean, b) and y = fma(scale, x, bias)."""
    dt = x3.dtype
    NG, D, HW = x3.shape
    mean, var = row_moments(x3.reshape(NG, D * HW))
    rstd = (1 / np.sqrt(np.maximum(var, 0).astype(np.float64) + eps)).astype(dt)
    if w is None and b is None:
        y = x3 - mean[:, None, None]
        y *= rstd[:, None, None]
        return y, mean, rstd
    shape = (NG // G, G, D)
    r = rstd.reshape(NG // G, G, 1)
    scale = np.broadcast_to(r, shape) if w is None else r * w.reshape(G, D)
    m = np.broadcast_to(mean.reshape(NG // G, G, 1), shape)
    bias = -scale * m + 0 if b is None else \
        _fma(-scale, m, np.broadcast_to(b.reshape(G, D), shape))
    y = _fma(scale.reshape(NG, D, 1), x3, bias.reshape(NG, D, 1))
    return y, mean, rstd



def group_norm_rows_bwd(g3, x3, mean, rstd, w, G, needs):
    """torch's contiguous group norm backward (GroupNormBackwardKernelImplInternal) of
    x3 (N * G, D, HxW) from the saved mean and rstd (N * G,): (grad_input, grad_weight,
    grad_bias), None where `needs` says not. Per channel ds, db: the sums of g * x and g over
    HxW (_row_dots); per group their sums weighted by w (vector accumulators fused, their lanes
    added in order onto 0, the leftover channels fused), c2 = fma(db, mean, -ds) * rstd^3 / n,
    c3 = fma(-db * rstd, 1 / n, -c2 * mean), grad_input = fma(rstd * w, g, c2 * x) + c3;
    grad_weight: over the samples in order, fma(fma(-db, mean, ds), rstd, acc); grad_bias: db
    over the samples in order."""
    dt = x3.dtype
    NG, D, HW = x3.shape
    N = NG // G
    L = 32 // dt.itemsize
    ds = _row_dots(g3.reshape(-1, HW), x3.reshape(-1, HW), dt, dt != _F32).reshape(NG, D)
    db = _row_dots(g3.reshape(-1, HW), None, dt).reshape(NG, D)
    gx = gw = gb = None
    if needs[0]:
        wg = np.ones((1, D), dt) if w is None else np.tile(w.reshape(G, D), (N, 1))
        wg = np.broadcast_to(wg, (NG, D))
        nb = D // L
        sums = []
        for v in (ds, db):
            acc = np.zeros((NG, L), dt)
            for k in range(nb):
                s = slice(k * L, (k + 1) * L)
                acc = _fma(v[:, s], wg[:, s], acc)
            tot = np.add.accumulate(acc, axis=1)[:, -1] + 0
            # the leftover channels fused one by one; a single group in all runs the loop's
            # copy outside the thread pool, which GCC vectorized 16 bytes at a time: products
            # rounded, added in order, the last odd ones fused
            paired = (D - nb * L) // (16 // dt.itemsize) * (16 // dt.itemsize) if NG == 1 else 0
            for j in range(nb * L, D):
                tot = tot + v[:, j] * wg[:, j] if j < nb * L + paired else \
                    _fma(v[:, j], wg[:, j], tot)
            sums.append(tot)
        dsv, dbv = sums
        scale = dt.type(1) / dt.type(D * HW)
        c2 = _fma(dbv, mean, -dsv) * rstd * rstd * rstd * scale
        c3 = _fma(-(dbv * rstd), scale, -c2 * mean)
        c1 = rstd[:, None, None] if w is None else (rstd[:, None] * wg)[:, :, None]
        c2 = c2[:, None, None]
        gx = _fma(c1, g3, c2 * x3)
        gx += c3[:, None, None]
    if w is not None and needs[1]:
        dsn = ds.reshape(N, G, D)
        dbn = db.reshape(N, G, D)
        m = mean.reshape(N, G, 1)
        r = rstd.reshape(N, G, 1)
        acc = np.zeros((G, D), dt)
        for n in range(N):
            t = _fma(-dbn[n], np.broadcast_to(m[n], (G, D)), dsn[n])
            acc = _fma(t, np.broadcast_to(r[n], (G, D)), acc)
        gw = acc.reshape(-1)
    if needs[2]:
        dbc = db.reshape(N, G * D)
        gb = np.add.reduce(dbc, axis=0, initial=0) if G * D > 1 else \
            np.add.accumulate(dbc, axis=0)[-1] + 0
    return gx, gw, gb


def batch_stats(x3):
    """torch's contiguous batch norm statistics (batch_norm_cpu_collect_stats_contiguous_impl)
    of x3 (N, C, HxW): per channel (mean, var_sum), both in x3's dtype: the sum in double
    element after element (sample after sample), mean = sum / n rounded; the squared
    deviations (x - mean)^2 in the dtype, summed in double in the same order, rounded (float64
    with an odd HxW: see _odd_var_sum)."""
    N, C, HW = x3.shape
    dt = x3.dtype
    xt = np.ascontiguousarray(x3.transpose(1, 0, 2)).reshape(C, N * HW)
    n = N * HW
    s = np.add.accumulate(xt, axis=1, dtype=np.float64)[:, -1]
    mean = (s / n).astype(dt)
    d = xt - mean[:, None]
    if dt != _F32 and HW % 2:
        return mean, _odd_var_sum(d.reshape(C, N, HW))
    d *= d
    var_sum = np.add.accumulate(d, axis=1, dtype=np.float64)[:, -1].astype(dt)
    return mean, var_sum


def _odd_var_sum(d):
    """float64 sums of squares of d (C, N, HxW) with HxW odd as torch's build adds them: GCC
    computes the squares two at a time, added in order, and the last of each sample's odd count
    alone, fused: acc = fma(d, d, acc)."""
    C, N, HW = d.shape
    acc = np.zeros((C, 1))
    for i in range(N):
        acc = np.add.accumulate(np.concatenate((acc, d[:, i, :-1] * d[:, i, :-1]), axis=1),
                                axis=1)[:, -1:]
        acc = fma64(np, d[:, i, -1:], d[:, i, -1:], acc)
    return acc.reshape(C)


def batch_norm_bwd(g3, x3, mean, invstd, w, needs):
    """torch's contiguous batch norm backward in training mode
    (batch_norm_cpu_backward_contiguous_impl) of x3 (N, C, HxW) with the saved per-channel
    mean and invstd: (grad_input, grad_weight, grad_bias). Per channel, summed in double over
    the samples: sum = the rows' sums of g (reduce_all), dotp = of (x - mean) * g
    (map2_reduce_all); k = dotp * invstd^2 / n, grad_mean = sum / n, grad_input =
    fma(-(x - mean), k, g - grad_mean) * invstd * w, grad_weight = dotp * invstd, grad_bias =
    sum."""
    N, C, HW = x3.shape
    dt = x3.dtype
    n = N * HW
    xc = x3 - mean[:, None]
    # every sample's row sums at once, then added in double sample after sample onto 0
    s = _row_dots(g3.reshape(-1, HW), None, dt).reshape(N, C).astype(np.float64)
    dotp = _row_dots(xc.reshape(-1, HW), g3.reshape(-1, HW), dt).reshape(N, C).astype(
        np.float64)
    s, dotp = (np.add.accumulate(v, axis=0)[-1] + 0 if C > 1 else
               np.add.accumulate(v.ravel())[-1:] + 0 for v in (s, dotp))
    gx = gw = gb = None
    if needs[0]:
        k = dotp.astype(dt) * invstd * invstd / dt.type(n)
        gmean = (s / n).astype(dt)
        gx = _fma(-xc, k[:, None], g3 - gmean[:, None])
        gx *= invstd[:, None]
        if w is not None:
            gx *= w[:, None]
    if needs[1]:
        gw = (dotp * invstd).astype(dt)
    if needs[2]:
        gb = s.astype(dt)
    return gx, gw, gb
