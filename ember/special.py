"""ember.special (torch.special): the special functions ember has, under torch.special's names,
entr and xlog1py, and i0e, i1, i1e, ndtri, log_ndtr and erfcx (SciPy's kernels, cupyx's on the
GPU; SciPy is an optional dependency) with torch's derivatives.

torch.special's Bessel functions, orthogonal polynomials and zeta are not here yet."""
import math

import numpy as np

from . import (digamma, erf, erfc, erfinv, exp2, expm1, i0, igamma, igammac, lgamma, log1p,
               log_softmax, logit, logsumexp, mvlgamma, polygamma, round, sigmoid, sinc, softmax,
               xlogy)
from .ops import _special, elementwise as _E
from .ops._apply import _finish
from .ops.numeric import _i0_f

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]

expit, gammaln, psi, multigammaln = sigmoid, lgamma, digamma, mvlgamma
gammainc, gammaincc = igamma, igammac


def ndtr(input, *, out=None):
    """The standard normal CDF, 0.5 * erfc(-x / sqrt(2)) (torch's formula)."""
    return _finish(erfc(input * (-1 / math.sqrt(2))) * 0.5, out, "special_ndtr")


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


def _near_zero(xp, x, grad_x):
    """torch's i1/i1e backward: grad_x(x) away from 0, its limit 0.5 within an epsilon of 0."""
    eps = np.finfo(x.dtype).eps
    tiny = xp.abs(x) <= eps
    return xp.where(tiny, 0.5, grad_x(xp.where(tiny, eps, x))).astype(x.dtype, copy=False)


def _unary(name, f, grad):
    return _E._float_unary("special_" + name, f, grad, saves="both", complex_ok=False)


i0e = _unary("i0e", _i0e, lambda xp, g, x, y: g * (_i1e(xp, x) - xp.sign(x) * y))
i1 = _unary("i1", _i1, lambda xp, g, x, y: g * _near_zero(
    xp, x, lambda s: _i0_f(xp, s) - _i1(xp, s) / s))
i1e = _unary("i1e", _i1e, lambda xp, g, x, y: g * _near_zero(
    xp, x, lambda s: _i0e(xp, s) - _i1e(xp, s) * (xp.sign(s) + 1 / s)))
ndtri = _unary("ndtri", _ndtri,
               lambda xp, g, x, y: g * math.sqrt(2 * math.pi) * xp.exp(y * y / 2))
log_ndtr = _unary("log_ndtr", _log_ndtr,
                  lambda xp, g, x, y: g / math.sqrt(2 * math.pi) * xp.exp(-(y + x * x / 2)))
erfcx = _unary("erfcx", _erfcx, lambda xp, g, x, y: g * (2 * x * y - 2 / math.sqrt(math.pi)))


def _entr(xp, x):
    """-x log x, 0 at 0, -inf below 0 (NaN stays NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = xp.where(x == 0, 0, -x * xp.log(x))
    return xp.where(x < 0, -np.inf, y).astype(x.dtype, copy=False)


def _entr_grad(xp, g, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * -(1 + xp.log(x))


entr = _unary("entr", _entr, _entr_grad)


_xlog1py = _E._binary("special_xlog1py", *_E._xlog("log1p", 1), fast="",
                      check=_E._to_float_pair("special_xlog1py", complex_ok=False))


def xlog1py(input, other, *, out=None):
    return _finish(_xlog1py(*_E._float_operands(input, other)), out)
