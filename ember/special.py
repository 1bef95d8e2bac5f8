"""ember.special (torch.special): the special functions ember has, under torch.special's names.

torch.special's Bessel functions, orthogonal polynomials, zeta, entr, erfcx, i0e/i1/i1e,
log_ndtr, ndtri and xlog1py are not here yet."""
import math

from . import (digamma, erf, erfc, erfinv, exp2, expm1, i0, igamma, igammac, lgamma, log1p,
               log_softmax, logit, logsumexp, mvlgamma, polygamma, round, sigmoid, sinc, softmax,
               xlogy)
from .ops._apply import _finish

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammainc",
           "gammaincc", "gammaln", "i0", "log1p", "log_softmax", "logit", "logsumexp",
           "multigammaln", "ndtr", "polygamma", "psi", "round", "sinc", "softmax", "xlogy"]

expit, gammaln, psi, multigammaln = sigmoid, lgamma, digamma, mvlgamma
gammainc, gammaincc = igamma, igammac


def ndtr(input, *, out=None):
    """The standard normal CDF, 0.5 * erfc(-x / sqrt(2)) (torch's formula)."""
    return _finish(erfc(input * (-1 / math.sqrt(2))) * 0.5, out, "special_ndtr")
