"""digamma and trigamma as torch's CPU kernels compute them (aten/native/Math.h), element-wise
on any array namespace: float32 inputs in float32 steps (2-byte floats arrive as float32),
float64 in float64, with glibc's rounding of sin and log and the fused multiply-adds of
torch's compiled code (_bessel.Libm). Results are torch's bit for bit but for rare last-place
differences of glibc's sinf."""
import functools
import math
import types

import numpy as np

from ._bessel import Libm

_F64 = np.float64
_PSI_10 = 2.25175258906672110764
_DIGAMMA_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
              -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
              8.33333333333333333333E-2)


def _recorded(xp):
    """On autograd's differentiable namespace (a create_graph backward), the differentiable
    ops (scipy.special's names) to call instead of these kernels: differentiated step by step,
    their reflection terms' infinities in the discarded branch make NaN gradients."""
    if isinstance(xp, types.ModuleType):
        return None
    from ._special import _scipy_special
    return _scipy_special(xp)


def trigamma(xp, x):
    sp = _recorded(xp)
    if sp is not None:      # torch's polygamma(1, x), its derivative polygamma(2, x)
        return sp.polygamma(1, x)
    m, dt = Libm(xp), x.dtype.type
    one = dt(1)
    with np.errstate(all="ignore"):
        neg = x < dt(0.5)
        pi = dt(np.pi)
        s = m.sin(pi * x)
        result = xp.where(neg, dt(0) - (pi * pi) / (s * s), dt(0)).astype(dt)
        x = xp.where(neg, one - x, x).astype(dt)
        for _ in range(6):
            result += one / (x * x)
            x = x + one
        ixx = one / (x * x)
        t = m.fma(-ixx, dt(1) / dt(42), dt(1) / dt(30))
        t = m.fma(-ixx, t, dt(1) / dt(6))
        result += m.fma(ixx, t, one + one / (dt(2) * x)) / x
        return xp.where(neg, -result, result)


def digamma(xp, x):
    sp = _recorded(xp)
    if sp is not None:      # torch's digamma, its derivative polygamma(1, x)
        return sp.digamma(x)
    m, dt = Libm(xp), x.dtype.type
    with np.errstate(all="ignore"):
        integer = x == xp.trunc(x)
        neg = x < 0
        # the reflection for negative x: digamma(1 - x) - pi / tan(pi * frac(x)), in double
        frac = x.astype(_F64) - xp.trunc(x.astype(_F64))
        reflect = (np.pi / xp.tan(np.pi * frac)).astype(dt)
        y = xp.where(neg, dt(1) - x, x).astype(dt)
        result = xp.zeros_like(y)
        for _ in range(10):                 # push y to >= 10 (at most 10 steps from y >= 0)
            small = y < 10
            result = xp.where(small, result - dt(1) / y, result)
            y = xp.where(small, y + dt(1), y)
        z = dt(1) / (y * y)
        p = xp.full_like(z, dt(_DIGAMMA_A[0]))
        for a in _DIGAMMA_A[1:]:
            p = m.fma(p, z, dt(a))
        tail = xp.where(y < dt(1e17), z * p, dt(0))
        out = result + m.log(y) - (dt(0.5) / y) - tail
        out = xp.where(y == 10, result + dt(_PSI_10), out)
        out = xp.where(neg, out - reflect, out)
        out = xp.where(neg & integer, dt(np.nan), out)
        return xp.where(x == 0, xp.copysign(dt(np.inf), -x), out).astype(dt)


def factorial(n, dt):
    """n! as torch's polygamma kernel takes it, exp(lgamma(n + 1)) in `dt`'s precision: with the
    C library's lgamma where ctypes finds it (an ulp from log(n!) for some n), else log(n!)."""
    lgamma = _c_lgamma(dt == np.float32)
    lg = lgamma(n + 1.0) if lgamma is not None else math.log(math.factorial(n))
    return dt(math.exp(dt(lg)))


@functools.lru_cache(maxsize=None)
def _c_lgamma(single):
    import ctypes
    import ctypes.util
    try:
        fn = getattr(ctypes.CDLL(ctypes.util.find_library("m")), "lgammaf" if single else "lgamma")
    except (OSError, TypeError, AttributeError):
        return None
    kind = ctypes.c_float if single else ctypes.c_double
    fn.restype, fn.argtypes = kind, [kind]
    return fn
