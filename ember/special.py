"""ember.special (torch.special): the special functions ember has, under torch.special's names,
entr and xlog1py, and i0e, i1, i1e, ndtri, log_ndtr and erfcx (SciPy's kernels, cupyx's on the
GPU; SciPy is an optional dependency) with torch's derivatives.

The Bessel functions (bessel_j0 ... spherical_bessel_j0, airy_ai), zeta and the orthogonal
polynomials (chebyshev_polynomial_t ... legendre_polynomial_p) compute as torch's kernels do, in
the input's dtype (float32 or float64; integers give the default dtype), on any array namespace
(kernels in ops/_bessel.py). Like torch, they have no derivatives: their outputs never require
grad, but zeta's gradient with respect to `other` (q)."""
import math

import numpy as np

from . import (digamma, erf, erfc, erfinv, exp2, expm1, i0, igamma as _igamma,
               igammac as _igammac, lgamma as _lgamma, log1p, log_softmax, logit, logsumexp,
               mvlgamma as _mvlgamma, polygamma as _polygamma, round as _round,
               sigmoid as _sigmoid, sinc, softmax, xlogy)
from ._dtype import DEFAULT as _DEFAULT
from ._kernel_dtypes import not_implemented as _not_implemented
from .ops import _bessel as _kernels, _special, elementwise as _E
from .ops._apply import SCALAR_SELF as _SCALAR_SELF, _finish, make_binary as _make_binary, \
    raise_not_tensor as _not_tensor
from ._tensor import Tensor
from ._torch_function import namespaced as _namespaced
from .autograd.node import retype as _retype
from .ops._registry import op as _op
from .ops.numeric import _i0_f

_BESSEL = ("airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0")
_POLYNOMIALS = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
                "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
                "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
                "laguerre_polynomial_l", "legendre_polynomial_p")
__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "sinc", "softmax", "xlog1py", "xlogy", "zeta"]
__all__ += list(_BESSEL + _POLYNOMIALS)

def round(input, *, decimals=0, out=None):
    """torch.round's decimals overload for every `decimals` (RoundBackward1), which has no
    integer kernels: torch.round(int) passes integers through, special.round refuses them."""
    if not isinstance(input, Tensor):
        _not_tensor("special_round", ("input", 1, input))
    if decimals == 0 and input.arr.dtype.kind in "iu":
        raise _not_implemented("round_vml_cpu", input.arr.dtype)
    return _round(input, decimals=decimals, out=out)


def polygamma(n, input, *, out=None):
    """torch.polygamma, named special_polygamma in its argument errors."""
    from .ops.numeric import _int_n
    _int_n("special_polygamma", n)
    return _polygamma(n, input, out=out)


expit, gammaln, psi, multigammaln = _sigmoid, _lgamma, digamma, _mvlgamma
gammainc, gammaincc = _igamma, _igammac
# torch.special's functions are builtins of their own (special.erf is not torch.erf)
globals().update({_n: _namespaced(globals()[_n], _n, __name__) for _n in (
    "digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
    "gammaln", "i0", "log1p", "log_softmax", "logit", "logsumexp", "multigammaln", "polygamma",
    "psi", "round", "sinc", "softmax", "xlogy")})


def ndtr(input, *, out=None):
    """The standard normal CDF as torch's composite: (1 + erf(x * sqrt(1/2))) * 0.5 (0 below
    about -8.3 in float64, where erf rounds to -1), with its Scalar-overload nodes."""
    try:
        scaled = _E._mul_scalar(input, math.sqrt(0.5))
    except (TypeError, AttributeError):
        _not_tensor("special_ndtr", ("input", 1, input))
    return _finish(_E._mul_scalar(_E._add_scalar(erf(scaled), 1), 0.5), out, "special_ndtr")


def _scipy(name):
    def f(xp, x):
        sp = _special._scipy_special(xp)
        if sp is None:
            raise RuntimeError(f"ember.special.{name} needs SciPy's kernels: pip install scipy "
                               "(on the GPU, CuPy's cupyx.scipy)")
        return _special._as_array(xp, getattr(sp, name)(x)).astype(x.dtype, copy=False)
    return f


_i0e, _i1, _i1e, _ndtri, _log_ndtr, _erfcx = (
    _scipy(n) for n in ("i0e", "i1", "i1e", "ndtri", "log_ndtr", "erfcx"))


def _near_zero(xp, x, grad_x, name):
    """torch's i1/i1e backward: grad_x(x) away from 0, its limit 0.5 within an epsilon of 0
    (a kernel torch has no 2-byte float version of)."""
    if x.dtype.itemsize == 2:
        raise _not_implemented(f"{name}_backward", x.dtype)
    eps = np.finfo(x.dtype).eps
    tiny = xp.abs(x) <= eps
    return xp.where(tiny, 0.5, grad_x(xp.where(tiny, eps, x))).astype(x.dtype, copy=False)


def _unary(name, f, grad, low=True, saves="both"):
    """`saves`: what torch's derivative reads (most of these read the result as well)."""
    return _E._float_unary("special_" + name, f, grad, saves=saves, complex_ok=False,
                           no_low=None if low else f"{name}_cpu")


i0e = _unary("i0e", _i0e, lambda xp, g, x, y: g * (_i1e(xp, x) - xp.sign(x) * y))
i1 = _unary("i1", _i1, lambda xp, g, x, y: g * _near_zero(
    xp, x, lambda s: _i0_f(xp, s) - _i1(xp, s) / s, "i1"))
i1e = _unary("i1e", _i1e, lambda xp, g, x, y: g * _near_zero(
    xp, x, lambda s: _i0e(xp, s) - _i1e(xp, s) * (xp.sign(s) + 1 / s), "i1e"))
ndtri = _unary("ndtri", _ndtri,
               lambda xp, g, x, y: g * math.sqrt(2 * math.pi) * xp.exp(y * y / 2), low=False,
               saves="out")
log_ndtr = _unary("log_ndtr", _log_ndtr,
                  lambda xp, g, x, y: g / math.sqrt(2 * math.pi) * xp.exp(-(y + x * x / 2)),
                  low=False)
erfcx = _unary("erfcx", _erfcx, lambda xp, g, x, y: g * (2 * x * y - 2 / math.sqrt(math.pi)),
               low=False)


def _entr(xp, x):
    """-x log x, 0 at 0, -inf below 0 (NaN stays NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = xp.where(x == 0, 0, -x * xp.log(x))
    return xp.where(x < 0, -np.inf, y).astype(x.dtype, copy=False)


def _entr_grad(xp, g, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * -(1 + xp.log(x))


entr = _unary("entr", _entr, _entr_grad, saves="in")     # (torch: -(1 + log(self)) only)


_xlog1py = _E._binary("special_xlog1py", *_E._xlog("log1p", 1), fast="",
                      check=_E._to_float_pair("special_xlog1py", complex_ok=False))


_SCALAR_SELF.add("special_xlog1py")


def xlog1py(input, other, *, out=None):
    return _finish(_xlog1py(*_E._float_operands(input, other)), out)


# ---- Bessel functions, zeta and orthogonal polynomials (torch's kernels, no derivatives) -------
_F32_F64 = (np.dtype(np.float32), np.dtype(np.float64))


def _float_in(name, x):
    """torch's kernels here take float32 and float64; integers and bool compute in the default
    dtype, other dtypes raise."""
    if x.dtype.kind in "biu":
        return x.astype(_DEFAULT.float.np)
    if x.dtype not in _F32_F64:
        raise _E._ni(name, x.dtype)
    return x


def _float_pair(name):
    def check(a, b):
        a = _float_in(name, a)
        return a, (b.astype(a.dtype) if hasattr(b, "dtype") else b)
    return check


def _elementwise(xp, kernel, x, *more):
    """`kernel` on flat arrays: x and `more` (arrays or Python numbers, in x's dtype) broadcast
    together, with NumPy's warnings off."""
    args = [x] + [xp.asarray(a, dtype=x.dtype) for a in more]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in args))
    except ValueError:
        raise _E._shape_error(*args) from None
    with np.errstate(all="ignore"):
        y = kernel(_kernels.Libm(xp), *(xp.broadcast_to(a, shape).reshape(-1) for a in args))
    return y.astype(x.dtype, copy=False).reshape(shape)


def _bessel(name):
    kernel = getattr(_kernels, name)
    fn = _E._nograd_unary("special_" + name,
                          lambda xp, x: _elementwise(xp, kernel, _float_in(name, x)))
    if name in ("airy_ai", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
                "spherical_bessel_j0"):         # torch names their argument x
        prim = fn

        def fn(x, *, out=None):
            try:
                return prim(x, out=out)
            except TypeError:
                _not_tensor("special_" + name, ("x", 1, x))
    fn.__name__ = fn.__qualname__ = name
    return fn


def _order(xp, n):
    """torch's int64(n): truncated; negative (giving 0) where n is not finite or too large."""
    return xp.where(xp.abs(n) < 2.0 ** 63, xp.trunc(n), -1.0)


def _recurrence(xp, x, k, cases, p1, step):
    """P_k at x (the recurrence's variable) as torch computes it: 0 for k < 0, else the value
    of the first of `cases` ((mask, value) pairs) that holds, 1 for k = 0, p1 for k = 1, and
    otherwise P_j = step(j, x, P_j-2, P_j-1) for j = 2 .. k, stopping early at a NaN."""
    cases = [(k < 0, 0.0), *cases, (k == 0, 1.0), (k == 1, p1)]
    loop = k >= 2
    for mask, _ in cases:
        loop &= ~mask
    r = xp.zeros_like(x)
    if bool(loop.any()):
        def live(i, x, k, p, q):
            return (i + 2 <= k) & ~xp.isnan(q)

        def run(i, x, k, p, q):
            return x, k, q, step(i + 2, x, p, q)
        xl = x[loop]
        r[loop] = _kernels.iterate(xp, live, run, xl, k[loop], xp.ones_like(xl), p1[loop])[3]
    for mask, value in reversed(cases):
        r = xp.where(mask, value, r)
    return r


def _chebyshev(kind, shifted):
    """T, U, V and W (kind 0 to 3), on [-1, 1] or shifted to [0, 1]: the endpoint values, the
    trigonometric form inside past a degree threshold, the recurrence elsewhere."""
    threshold = (6, 6, 6, 4)[kind] if shifted else (6, 8, 8, 8)[kind]

    def kernel(xp, x, n):
        k = _order(xp, n)
        y = x + x - 1.0 if shifted else x
        t = xp.arccos(y)
        even = xp.fmod(k, 2) == 0
        odd_k = k + k + 1.0
        sign = lambda v: xp.where(even, v, -v)          # noqa: E731
        if kind == 0:
            ends, inner = (1.0, 1.0), xp.cos(k * t)
        elif kind == 1:
            ends = (k + 1.0, k + 1.0)
            inner = xp.where(xp.sin(t) != 0, xp.sin((k + 1.0) * t) / xp.sin(t),
                             (k + 1.0) * xp.cos((k + 1.0) * t) / y)
        elif kind == 2:
            ends = (1.0, odd_k)
            inner = xp.where(xp.sin(t / 2.0) != 1, xp.cos((k + 0.5) * t) / xp.cos(t / 2.0),
                             sign(odd_k))
        else:
            ends = (odd_k, 1.0)
            edge = sign(1.0) if shifted else xp.where(x > 0, odd_k, sign(1.0))
            inner = xp.where(xp.cos(t / 2.0) != 1, xp.sin((k + 0.5) * t) / xp.sin(t / 2.0), edge)
        top, bottom = (x == 1, x == 0) if shifted else (x == 1, x == -1)
        cases = [(top, ends[0]), (bottom, sign(ends[1])),
                 ((k > threshold) & (xp.abs(y) < 1), inner)]
        p1 = (y, y + y, y + y - 1.0, y + y + 1.0)[kind]
        return _recurrence(xp, y, k, cases, p1, lambda j, y, p, q: xp.fma(y + y, q, -p))
    return kernel


def _hermite_limit(x):
    return 128 if x.dtype == np.float32 else 512      # torch's NaN beyond these degrees


def _hermite_h(xp, x, n):
    k = _order(xp, n)
    return _recurrence(xp, x, k, [(k > _hermite_limit(x), np.nan)], x + x,
                       lambda j, x, p, q: xp.fma(x + x, q, -((2 * j - 2) * p)))


def _hermite_he(xp, x, n):
    k = _order(xp, n)
    return _recurrence(xp, x, k, [(k > _hermite_limit(x), np.nan)], x,
                       lambda j, x, p, q: xp.fma(x, q, -((j - 1) * p)))


def _laguerre_l(xp, x, n):
    return _recurrence(xp, x, _order(xp, n), [(x == 0, 1.0)], 1.0 - x,
                       lambda j, x, p, q: xp.fma(2 * j - 2 + (1.0 - x), q, -((j - 1) * p)) / j)


def _legendre_p(xp, x, n):
    k = _order(xp, n)
    ends = xp.where((x > 0) | (xp.fmod(k, 2) == 0), 1.0, -1.0)
    return _recurrence(xp, x, k, [(xp.abs(x) == 1, ends)], x,
                       lambda j, x, p, q: xp.fma((2 * j - 1) * x, q, -((j - 1) * p)) / j)


def _polynomial(name, kernel):
    prim = _E._binary("special_" + name, lambda xp, x, n: _elementwise(xp, kernel, x, n),
                      fast="", check=_float_pair(name))
    _SCALAR_SELF.add("special_" + name)

    def fn(x, n, *, out=None):
        return prim(x, n, out=out)
    fn.__name__ = fn.__qualname__ = name
    return fn


_KERNELS = {"hermite_polynomial_h": _hermite_h, "hermite_polynomial_he": _hermite_he,
            "laguerre_polynomial_l": _laguerre_l, "legendre_polynomial_p": _legendre_p}
for _i, _name in enumerate(_POLYNOMIALS[:8]):
    _KERNELS[_name] = _chebyshev(_i % 4, _i >= 4)
globals().update({n: _bessel(n) for n in _BESSEL})
globals().update({n: _polynomial(n, _KERNELS[n]) for n in _POLYNOMIALS})


@_op("special_zeta", needs_mask=True)
def _zeta(xp, x, q):
    x, q = _float_pair("zeta")(x, q)
    return _elementwise(xp, _kernels.zeta, x, q), (x, q)


@_zeta.vjp
def _(xp, g, x, q, needs):
    if needs[0]:
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    return None, g * -x * _elementwise(xp, _kernels.zeta, x + 1.0, q)


_zeta_fn = _make_binary(_zeta)
_SCALAR_SELF.add("special_zeta")


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function sum_k (other + k)^-input; a number for either argument is
    torch's Scalar overload (SpecialZetaBackward1 for input, 2 for other)."""
    r = _zeta_fn(input, other, out=out)
    if not isinstance(input, Tensor):
        return _retype(r, "SpecialZetaBackward1")
    return r if isinstance(other, Tensor) else _retype(r, "SpecialZetaBackward2")
