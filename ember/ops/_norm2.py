"""The 2-norm of a NumPy array over dims in torch's CPU order (its norm kernel in
ReduceOpsKernel.cpp), bit for bit.

float32, float64 and bfloat16 rows that are the innermost, unit-stride block of memory take
its vectorised last-dim kernel: the squares of each 32-byte vector (two for bfloat16's 16
values, in float) rounded and added into the lanes of one vector in order; the lanes then
added in order; then the leftover values one at a time, which the compiler vectorised too: in
fours, their squares rounded and added in order (float32, bfloat16), the last ones (under
four) fused, acc = fma(x, x, acc), rounded once. Everything else (float16 always, other
layouts, several reduced dims not adjacent in memory) goes through binary_kernel_reduce: one
value after another in memory order, acc + x * x rounded twice, in float for the 2-byte
floats. Measured against torch 2.13 over row lengths 1..300: not one bit differs.
"""
import math

import numpy as np

from .._cpu import libm_loop
from ._fma import _split
from ._torch_sum import _seq, einsum as _einsum

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_GRAIN = 32768      # torch splits one output's serial reduction between threads past this


def norm2(x, dims):
    """sqrt(sum of squares) of the NumPy array x over `dims` (a tuple of its dims, or None for
    all), torch's order, without the reduced dims, in x's (real) dtype; None where another
    path must compute it (an empty reduction, float8, more than _GRAIN values an output
    outside the last-dim kernel)."""
    dt = x.dtype
    bf16 = dt.kind == "V" and dt.name == "bfloat16"
    if not (dt.kind in "fc" or bf16) or not x.size:
        return None
    dims = tuple(range(x.ndim)) if dims is None else dims
    red = [d for d in dims if x.shape[d] != 1]
    kept = [d for d in range(x.ndim) if d not in dims]
    red.sort(key=lambda d: -x.strides[d])       # (memory order, outermost first)
    serial = dt.kind == "c" or dt.char == "e"
    if not red:                         # torch: abs, no kernel
        return (_cabs(x) if dt.kind == "c" else np.abs(x)).reshape([x.shape[d] for d in kept])
    if dt.kind == "c":          # |z| as the kernel's std::abs (glibc's hypot), then one by one
        x = _cabs(x) if dt == np.complex64 else np.hypot(x.real, x.imag)
        dt = x.dtype
    length = math.prod(x.shape[d] for d in red)
    out_shape = [x.shape[d] for d in kept]
    if not serial and _innermost(x, red):
        if red != list(range(x.ndim - len(red), x.ndim)):
            x = np.moveaxis(x, red, range(x.ndim - len(red), x.ndim))
        r = _lastdim(x.reshape(-1, length), dt.itemsize)
    else:
        if length >= _GRAIN and length == x.size:     # (its split depends on the threads)
            return None
        a = np.moveaxis(x, red, range(len(red))).reshape((length, -1))
        a = a.astype(_F32) if dt.itemsize == 2 else a
        r = np.sqrt(_seq(a * a))
    return r.astype(dt, copy=False).reshape(out_shape)


def vector_norm(x, ord, dims, keepdim):
    """linalg.vector_norm of the NumPy array x in torch's order: the 2-norm (norm2) and the
    real p-norms but 0 and the infinities (norm_p), keepdim applied; None where another path
    computes it."""
    if not x.ndim or not (ord == 2 or ord not in (0, math.inf, -math.inf) and
                          x.dtype.kind != "c"):
        return None
    r = norm2(x, dims) if ord == 2 else norm_p(x, ord, dims)
    if r is not None and keepdim:
        r = r.reshape([1 if dims is None or d in dims else n for d, n in enumerate(x.shape)])
    return r


def _innermost(x, red):
    """The reduced dims (sorted outermost first) are one unit-stride block, innermost in memory:
    no kept dim of size > 1 strides less than they do."""
    step = x.itemsize
    for d in reversed(red):
        if x.strides[d] != step:
            return False
        step *= x.shape[d]
    lowest = x.strides[red[-1]]
    return all(x.strides[d] > lowest for d in range(x.ndim) if d not in red and x.shape[d] > 1)


def _lastdim(rows, itemsize):
    """torch's vectorised 2-norm of each row of the (R, L) array `rows` (float32 result for
    bfloat16)."""
    lanes = 4 if itemsize == 8 else 8
    step = 16 if itemsize == 2 else lanes           # values a vector load
    n = rows.shape[1]
    nv = n // step * step
    if itemsize == 2:
        rows = rows.astype(_F32)
    fours = nv + (n - nv) // 4 * 4 if itemsize != 8 else nv
    sq = (rows * rows)[:, :fours]       # (a contiguous product: faster than of the slice)
    total = _lanes_total(sq, nv, lanes)
    if fours < n:
        total = (_fma64_squares if itemsize == 8 else _fma32_squares)(rows[:, fours:], total)
    return np.sqrt(total)


def _lanes_total(sq, nv, lanes):
    """The rows' sums of the squares `sq` (R, fours) in the kernel's order: the first nv
    columns' vectors into the lanes, then the lanes and the fours' squares."""
    if nv > lanes:  # the vectors' squares into the lanes, in order (einsum's loop; 5x faster
        # than add.reduce over the middle axis)
        acc = _einsum("rvl->rl", sq[:, :nv].reshape(sq.shape[0], nv // lanes, lanes))
        sq = np.concatenate((acc, sq[:, nv:]), axis=1) if sq.shape[1] > nv else acc
    # the lanes, then the fours' squares, in order (cumsum: in order)
    return sq.cumsum(axis=1)[:, -1] if sq.shape[1] else np.zeros(sq.shape[0], sq.dtype)


def squares_norm2(sq):
    """norm2 of each row of a float32/float64 array of rows of a multiple of 4 values (no
    fused tail), given their squares `sq` (R, n) (a caller that has many rows of one length
    writes their squares into one array instead of stacking the rows)."""
    lanes = 4 if sq.itemsize == 8 else 8
    return np.sqrt(_lanes_total(sq, sq.shape[1] // lanes * lanes, lanes))


def _fma32_squares(cols, total):
    """total = fma(c, c, total) for the float32 columns c of `cols` in order, each rounded once:
    the square is exact in float64, and the float64 sum rounded to float32 is the fused result
    unless that sum is inexact and half-way between two floats, where its low 28 bits are 0
    (as with float32 values, exact, and float32's subnormal half-ways): where any sum was,
    all is done again with each float64 sum rounded to odd (its last bit set where it was
    inexact), which rounds to the fused result (Boldo and Melquiond)."""
    sq = cols.astype(_F64)
    sq *= sq
    risky = False
    start = total
    for k in range(sq.shape[1]):
        s = sq[:, k] + total
        risky |= ((s.view(np.int64) & 0xFFFFFFF) == 0).any()
        total = s.astype(_F32)
    if not risky:
        return total
    total = start
    for k in range(sq.shape[1]):
        s = sq[:, k] + total
        total = _round_odd(s, _two_sum_err(sq[:, k], total.astype(_F64), s)).astype(_F32)
    return total


def _fma64_squares(cols, total):
    """total = fma(c, c, total) for the float64 columns c of `cols` in order (_fma64)."""
    for k in range(cols.shape[1]):
        c = cols[:, k]
        total = _fma64(c, c, total)
    return total


def _fma64(a, b, c):
    """float64 a * b + c rounded once (Boldo and Melquiond's emulation): Dekker's exact product
    (uh + ul), c + uh exactly (th + tl), tl + ul rounded to odd, th + that rounded; where that
    is not finite, the plain result. (ops._fma.fma64 adds the error terms rounded to nearest,
    which double-rounds in rare ties.)"""
    uh, ul = _two_prod(a, b)
    th = c + uh
    tl = _two_sum_err(c, uh, th)
    v = tl + ul
    r = th + _round_odd(v, _two_sum_err(tl, ul, v))
    return np.where(np.isfinite(r), r, a * b + c)


def _two_sum_err(a, b, s):
    """The exact a + b - s, for s = a + b rounded."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


def _round_odd(s, err):
    """s, the rounded a + b with err = a + b - s, rounded to odd: moved one ulp towards err
    where err is not 0 and s's last bit is 0."""
    even = (s.view(np.int64) & 1) == 0
    fix = (err != 0) & even & np.isfinite(s)
    if not fix.any():
        return s
    return np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)


def row_norms(w, p):
    """The p-norm of each row of the 2-D NumPy array w (float; float16/bfloat16 accumulate in
    float), in w's dtype, as torch's norm of a contiguous row (Tensor.norm(p)): one element
    its abs; p = 2 as norm2; inf/-inf the largest/smallest abs; 0 the count of nonzeros;
    other p its binary_kernel_reduce, acc + |x| ** p in order, then acc ** (1 / p) with 1 / p
    in the accumulation dtype."""
    if w.shape[1] == 1 and p != 0:
        return np.abs(w[:, 0])
    if p == 2:
        r = norm2(w, (1,))
        if r is not None:
            return r
    acc_dt = _F32 if w.dtype.itemsize <= 4 else _F64
    a = np.abs(w.astype(acc_dt))
    if not w.shape[1]:
        r = np.zeros(w.shape[0], acc_dt)
    elif p == float("inf"):
        r = a.max(axis=1)
    elif p == -float("inf"):
        r = a.min(axis=1)
    elif p == 0:
        r = (a != 0).sum(axis=1).astype(acc_dt)
    elif p == 1:
        r = a.cumsum(axis=1)[:, -1]
    else:
        q = acc_dt.type(p)
        r = _libm_pow(_libm_pow(a, q).cumsum(axis=1)[:, -1], acc_dt.type(1) / q)
    return r.astype(w.dtype)


def _cabs(z):
    """|z| as torch.abs of a complex on the CPU: the float64 root of the float64 sum of squares
    for complex64 (rounded to float32; glibc's hypotf, as the norm kernel's std::abs); for
    complex128 its vectorised Sleef hypot, correctly rounded (glibc's, NumPy's hypot, is not
    always), here through double-double squares scaled by a power of two and a Newton step."""
    if z.dtype == np.complex64:
        re, im = z.real.astype(_F64), z.imag.astype(_F64)
        return np.sqrt(re * re + im * im).astype(_F32)
    x, y = np.abs(z.real), np.abs(z.imag)
    big, small = np.maximum(x, y), np.minimum(x, y)
    e = np.where(big == 0, 0, np.frexp(big)[1])
    xs, ys = np.ldexp(big, -e), np.ldexp(small, -e)
    p1, e1 = _two_prod(xs, xs)
    p2, e2 = _two_prod(ys, ys)
    s = p1 + p2
    lo = _two_sum_err(p1, p2, s) + e1 + e2
    r = np.sqrt(s)
    rp, rpe = _two_prod(r, r)
    r = r + (((s - rp) - rpe) + lo) / (2 * r)
    r = np.ldexp(np.where(big == 0, 0.0, r), e)
    return np.where(np.isinf(x) | np.isinf(y), np.inf, np.where(np.isnan(big), np.nan, r))


def _two_prod(a, b):
    """a * b as p + e exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def norm_p(x, p, dims):
    """The p-norm (p not 0, 2 or infinite) of the real float NumPy array x over `dims` as torch's
    binary_kernel_reduce: acc + |x| ** p one value after another in memory order (in float for
    the 2-byte floats), then acc ** (1 / p) (1: acc), 1 / p in the accumulation dtype; without
    the reduced dims, in x's dtype. None where another path must compute it (as norm2)."""
    dt = x.dtype
    if not (dt.kind == "f" or dt.kind == "V" and dt.name == "bfloat16") or not x.size:
        return None
    dims = tuple(range(x.ndim)) if dims is None else dims
    red = [d for d in dims if x.shape[d] != 1]
    kept = [d for d in range(x.ndim) if d not in dims]
    out_shape = [x.shape[d] for d in kept]
    if not red:                         # torch: abs, no kernel
        return np.abs(x).reshape(out_shape)
    length = math.prod(x.shape[d] for d in red)
    if length >= _GRAIN and length == x.size:
        return None
    red.sort(key=lambda d: -x.strides[d])
    acc_dt = _F64 if dt == _F64 else _F32
    a = np.abs(np.moveaxis(x, red, range(len(red))).reshape((length, -1)).astype(acc_dt))
    if p == 1:
        return _seq(a).astype(dt).reshape(out_shape)
    q = acc_dt.type(p)
    s = _seq(_libm_pow(a, q))
    return _libm_pow(s, acc_dt.type(1) / q).astype(dt).reshape(out_shape)


def _libm_pow(a, q):
    """a ** q elementwise through libm's pow (powf for float32), as torch's kernel (_cpu.libm_loop:
    NumPy's SVML loop is not libm's). (q as an array: NumPy's scalar fast paths, sqrt for 0.5 and
    1 / x for -1, are not pow.)"""
    return libm_loop(np.power, a, np.broadcast_to(q, a.shape))
