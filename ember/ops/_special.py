"""Special-function kernels on any array namespace.

erf, erfc, erfinv, lgamma: SciPy's (or CuPy's cupyx.scipy) kernels when importable; otherwise
exact scalar math-module fallbacks keep results correct (slower). digamma and trigamma are
torch's own algorithms (_gamma_kernels.py); torch.special's Bessel functions and zeta are in
_bessel.py."""
import math

import numpy as np

from .._cpu import ONEDNN_AVX512
from ._gamma_kernels import digamma, trigamma  # noqa: F401  (the ops' kernels, bound here)

_CACHE = {}


def _scipy_special(xp):
    key = id(xp)
    if key not in _CACHE:
        try:
            if xp is np:
                import scipy.special as sp
            else:
                import cupyx.scipy.special as sp
        except ImportError:
            sp = None
        _CACHE[key] = sp
    return _CACHE[key]


def _vectorized(fn, x):
    return np.asarray(np.frompyfunc(fn, 1, 1)(x)).astype(x.dtype)


def _as_array(xp, y):
    return y if hasattr(y, "astype") and getattr(y, "ndim", 1) else xp.asarray(y)



def _erfinv_scalar(y):
    if y <= -1.0:
        return -math.inf if y == -1.0 else math.nan
    if y >= 1.0:
        return math.inf if y == 1.0 else math.nan
    # initial guess (Giles' approximation), then Newton steps on erf
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    x = p * y
    for _ in range(3):
        err = math.erf(x) - y
        x -= err / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


def expit(xp, x):
    """The logistic sigmoid as torch's CPU kernel computes it, 1 / (1 + exp(-x)) (exp(-x)
    overflowing to inf gives 0). Its callers hand 2-byte floats over in float32."""
    with np.errstate(over="ignore"):
        e = xp.exp(-x)
    e += 1
    # (a division, not reciprocal: for complex numbers NumPy's reciprocal gives 1 / (1 + 0j) a -0
    # imaginary part where torch's and NumPy's division keep +0)
    return xp.divide(1, e, out=e) if e.ndim else 1 / e


def _special(name, scalar):
    def fn(xp, x):
        sp = _scipy_special(xp)
        if sp is not None:
            return _as_array(xp, getattr(sp, name)(x)).astype(x.dtype, copy=False)
        if xp is not np:
            raise RuntimeError(f"{name} on this device needs cupyx.scipy.special")
        return _vectorized(scalar, x)
    fn.__name__ = name
    return fn


# erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (+-1 in float32 beyond): the rational approximation of
# Eigen and XLA. Evaluated in float64 it is within 1.6 ulp of the exact float32 value (torch's
# SLEEF kernel: 1 ulp) and 2.5x faster than SciPy's scalar float32 loop, which matters for GELU.
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
          -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
          -7.37332916720468e-03, -1.42647390514189e-02)


def _erf_rational(x, dtype):
    """x P(x^2) / Q(x^2) for float32 `x`, evaluated in `dtype`."""
    t = np.clip(x, -4, 4, dtype=dtype)
    x2 = t * t
    p = x2 * dtype(_ERF_P[0])
    p += dtype(_ERF_P[1])
    for a in _ERF_P[2:]:
        p *= x2
        p += dtype(a)
    p *= t
    q = x2 * dtype(_ERF_Q[0])
    q += dtype(_ERF_Q[1])
    for b in _ERF_Q[2:]:
        q *= x2
        q += dtype(b)
    p /= q
    return p


def _erf_float32(x):
    return _erf_rational(x, np.float64).astype(x.dtype)


def _gelu_coefficients():
    """The rational above rewritten for GELU of float32 x: 0.5 erf(x / sqrt 2) =
    t P'(t^2) / Q'(t^2) with t = x clipped to +-4 sqrt 2, the 1/sqrt 2 scalings and the 0.5
    folded into P' and Q' made monic, which saves four of GELU's 28 NumPy passes."""
    n_p, n_q = len(_ERF_P) - 1, len(_ERF_Q) - 1
    lead = _ERF_Q[0] / 2 ** n_q
    p = [c / 2 ** (n_p - j) * 0.5 * math.sqrt(0.5) / lead for j, c in enumerate(_ERF_P)]
    q = [c / 2 ** (n_q - j) / lead for j, c in enumerate(_ERF_Q)]
    return tuple(map(np.float32, p)), tuple(map(np.float32, q[1:]))


_GELU_P, _GELU_Q = _gelu_coefficients()
_GELU_LIMIT = np.float32(4 * math.sqrt(2))
_GELU_MINUS_LIMIT = -_GELU_LIMIT
_F32_0, _F32_HALF, _F32_1 = np.float32(0), np.float32(0.5), np.float32(1)
_F32_2_127 = np.float32(2.0 ** 127)
_MAX = np.maximum.reduce     # (axis=None: over all elements)
try:        # np.clip's ufunc, called directly: np.clip's Python wrappers cost more than it
    from numpy._core.umath import clip as clip_ufunc    # (a quarter of a small GELU's time)
except ImportError:         # NumPy 1.x
    from numpy.core.umath import clip as clip_ufunc


def gelu_f32(x, onednn=True):
    """x Phi(x) = x (0.5 + 0.5 erf(x / sqrt 2)) for float32 NumPy arrays, evaluated in float32:
    within a few ulp of erf, as torch's kernel loses about as much to cancellation for
    negative x. With `onednn` (a float32 tensor's own array), a C-contiguous x of more than
    one element goes, as in torch, through oneDNN, whose AVX2 kernel's 0.5 x + 0.5 x erf(x /
    sqrt 2) gives +0.0 zeros (x = -0.0, and x below about -5.5 where erf rounds to -1; its
    avx512_core kernel's x (1 + erf) / 2 keeps -0.0, but gives inf from x = 2**127 on and NaN
    for +inf); torch's other inputs keep x Phi(x)'s -0.0 and x. oneDNN also takes bfloat16
    where ONEDNN_BF16 (the caller passes `onednn` for its float32 copy then)."""
    if x.ndim == 0:     # NumPy's operations on a 0-d array give scalars, which out= refuses
        return gelu_f32(x.reshape(1), onednn).reshape(())
    t = clip_ufunc(x, _GELU_MINUS_LIMIT, _GELU_LIMIT)
    s = t * t
    p = s * _GELU_P[0]
    p += _GELU_P[1]
    for a in _GELU_P[2:]:
        p *= s
        p += a
    p *= t
    q = np.add(s, _GELU_Q[0], out=t)
    for b in _GELU_Q[1:]:
        q *= s
        q += b
    p /= q
    p += _F32_HALF
    clip_ufunc(p, _F32_0, _F32_1, out=p)    # Phi in [0, 1]: no sign flips
    p *= x
    if onednn and x.size > 1 and x.flags.c_contiguous:
        if not ONEDNN_AVX512:
            p += _F32_0
        elif not _MAX(x, None) < _F32_2_127:    # (NaN too) x (1 + erf) overflows from 2**127 on,
            p[x >= _F32_2_127] = np.inf     # and the kernel's erf(+inf) is NaN
            p[x == np.inf] = np.nan
    return p


def erf(xp, x):
    if xp is np and x.dtype.kind == "f" and x.dtype.itemsize <= 4:
        return _erf_float32(x)
    return _erf_any(xp, x)


_erf_any = _special("erf", math.erf)
erfc = _special("erfc", math.erfc)
erfinv = _special("erfinv", _erfinv_scalar)
lgamma = _special("gammaln", math.lgamma)


