"""Fused multiply-add as torch's CPU kernels compute it.

ATen's kernels are compiled with floating-point contraction and call `fmadd` outright in
places: add and sub with `alpha` (`self + alpha * other`), addcmul (`self + value * t1 * t2`)
and lerp (`base + coeff * (end - self)`) round once there, where NumPy, which has no fma,
rounds the product and then the sum. An optimizer step made of these (SGD's
`param.add_(grad, alpha=-lr)`) then differs from torch's in about one element in ten.

float32 (and float16/bfloat16, computed in float32) operands are fused exactly through
float64. float64 ones keep NumPy's two roundings: an exact float64 fma (fma64, Dekker's
product) costs twenty array passes, which made a float64 SGD step 40 times slower.
"""
import math

import numpy as np

_F64 = np.dtype(np.float64)


def fma(xp, x, y, z, dtype, out=None):
    """x * y + z rounded once to `dtype` (float32; float16 and bfloat16 as torch's opmath: in
    float32, then rounded to the dtype; float64: rounded twice, see above), written into `out`
    if given. The operands hold values of `dtype` (of float32 for the low-precision dtypes),
    arrays or scalars that broadcast together."""
    if dtype.itemsize == 8:
        r = x * y + z
    elif dtype.itemsize == 4 and xp is np and _blockable(x, y, z, out):
        return _fma32_blocked(x, y, z, out)
    else:
        # float32 operands: their product is exact in float64, and the float64 sum rounded to
        # float32 is the fused result (but for ties of the double rounding, about 2**-29 of
        # the cases)
        r = xp.multiply(x, y, dtype=_F64)
        if type(r) is xp.ndarray and r.shape == getattr(z, "shape", None):
            r += z
        else:
            r = r + z
        if out is None or dtype.itemsize == 2:
            r = r.astype(np.float32)
            if dtype.itemsize == 2:
                r = r.astype(dtype)
    if out is None:
        return r
    xp.copyto(out, r, casting="unsafe")
    return out


def fma64(xp, a, b, c):
    """float64 a * b + c rounded once: Dekker's exact product, then an exact sum rounded with
    its error. Where that is not finite (a factor past 2**995, whose split overflows, or a
    product near overflow), the same with each such factor scaled by 2**-64, the result scaled
    back (exact); where it still is not, the plain sum (which has overflowed)."""
    r, s = _fma64_parts(a, b, c)
    finite = xp.isfinite(r)
    if finite.all():
        return r
    big_a, big_b = abs(a) > _SPLIT_MAX, abs(b) > _SPLIT_MAX
    sa, sb = xp.where(big_a, _DOWN, 1.0), xp.where(big_b, _DOWN, 1.0)
    scaled, _ = _fma64_parts(a * sa, b * sb, c * sa * sb)
    scaled /= sa * sb
    return xp.where(finite, r, xp.where(xp.isfinite(scaled), scaled, s))


_SPLIT_MAX, _DOWN = 2.0 ** 995, 2.0 ** -64


def _fma64_parts(a, b, c):
    """fma64's result before its overflow check, and the plain sum."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    return s + (((p - (s - v)) + (c - v)) + e), s


def fma_exact(xp, x, y, z, dtype):
    """x * y + z rounded once in every float dtype: fma's, but fma64 for float64 (for kernels
    whose results are worth its cost: interpolation, grid sampling)."""
    return fma64(xp, x, y, z) if dtype.itemsize == 8 else fma(xp, x, y, z, dtype)


def _split(a):
    t = 134217729.0 * a
    hi = t - (t - a)
    return hi, a - hi


# Large float32 operands go through float64 a block at a time: two float64 blocks stay in a
# core's cache, where whole float64 temporaries go out to memory (1.9M elements: 1.5-2 ms in
# blocks against 3.9 ms in whole arrays, and 0.6 ms for NumPy's float32 `z + x * y`).
_BLOCK = 1 << 16


def _blockable(x, y, z, out):
    """NumPy operands of one shape, C-contiguous (or numbers), at least two blocks long."""
    if getattr(z, "size", 0) < 2 * _BLOCK and getattr(x, "size", 0) < 2 * _BLOCK and \
            getattr(y, "size", 0) < 2 * _BLOCK:
        return False
    shape = None
    for v in (x, y, z, out):
        if type(v) is np.ndarray and v.ndim:
            if not v.flags.c_contiguous or shape is not None and v.shape != shape:
                return False
            shape = v.shape
        elif v is not None and getattr(v, "ndim", 0):
            return False
    return shape is not None and math.prod(shape) >= 2 * _BLOCK


def _fma32_blocked(x, y, z, out):
    if out is None:
        out = np.empty(next(v.shape for v in (x, y, z) if getattr(v, "ndim", 0)), np.float32)
    n = out.size
    x, y, z, o = (v.reshape(-1) if getattr(v, "ndim", 0) else np.float64(v)
                  for v in (x, y, z, out))
    a, b = np.empty(_BLOCK), np.empty(_BLOCK)
    for i in range(0, n, _BLOCK):
        j = min(i + _BLOCK, n)
        pa, pb = a[:j - i], b[:j - i]
        pa[...] = x[i:j] if type(x) is np.ndarray else x
        if type(y) is np.ndarray:
            pb[...] = y[i:j]
            pa *= pb
        else:
            pa *= y
        if type(z) is np.ndarray:
            pb[...] = z[i:j]
            pa += pb
        else:
            pa += z
        o[i:j] = pa
    return out
