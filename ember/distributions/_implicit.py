"""Gamma and Dirichlet samples with implicit reparameterisation gradients (torch's
`_standard_gamma` / `_sample_dirichlet` and their backward `_standard_gamma_grad` /
`_dirichlet_grad`).

A sample x of Gamma(alpha) has dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha) (F the CDF, f
the density); there is no closed form, so torch (Jankowiak & Obermeyer 2018, "Pathwise
derivatives beyond the reparameterization trick") uses a Taylor series for small x, a Rice
saddle-point expansion for large alpha and fitted rational approximations elsewhere. These are
the same approximations, evaluated elementwise in float64 as torch's CPU kernels do, written
against the array namespace so that they run on any backend."""
import numpy as np

from .._kernel_dtypes import not_implemented
from ..backends.cuda_blas import host_sum
from ..ops import _special
from ..ops._apply import apply
from ..ops._registry import op
from ..ops.random import rng_for

# rational approximation of the Gamma gradient: coefficients of u^i, then powers of v
_GAMMA_UV = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343,
              1, 0.32668115, 0.10406089, 0.0014179084),
             (0.53487893, 0.1298071, 0.065735949, -0.0015649758,
              0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
             (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777,
              0.017050642, -0.0021309326, 0.00085092367, -1.5247877e-07))

# rational correction of the Beta gradient: [numerator, denominator][u power][a power][b power]
_BETA_C = (
    (((1.003668233, -0.01061107488, -0.0657888334, 0.01201642863),
      (0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033),
      (-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013)),
     ((0.221950385, -0.3187676331, 0.01799915743, 0.01074823814),
      (-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057),
      (0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05)),
     ((-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565),
      (0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181),
      (0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05))),
    (((1, -0.02924021934, -0.04438342661, 0.007285809825),
      (0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521),
      (-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149)),
     ((0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273),
      (0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956),
      (-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05)),
     ((0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05),
      (0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05),
      (-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06))))


def _horner(t, coefs):
    out = 0.0
    for c in reversed(coefs):
        out = out * t + c
    return out


def _nan_to_zero(xp, r):
    return xp.where(xp.isnan(r), 0.0, r)


def standard_gamma_grad(xp, alpha, x):
    """dx/dalpha for samples x of Gamma(alpha, 1), in x's dtype."""
    a, s = alpha.astype(np.float64), x.astype(np.float64)
    with np.errstate(all="ignore"):
        # small x: Taylor series of the incomplete gamma function
        numer, denom = xp.ones_like(s), a
        series1, series2 = 1 / denom, 1 / denom ** 2
        for i in range(1, 6):
            numer = numer * (-s / i)
            denom = denom + 1
            series1, series2 = series1 + numer / denom, series2 + numer / denom ** 2
        pow_x_alpha = s ** a
        pdf = s ** (a - 1) * xp.exp(-s)
        cdf = pow_x_alpha * series1
        cdf_alpha = (xp.log(s) - _special.digamma(xp, a)) * cdf - pow_x_alpha * series2
        small = _nan_to_zero(xp, -cdf_alpha / pdf)
        # large alpha: Rice saddle-point expansion (a polynomial right at the mode)
        near = (1 + 24 * a * (1 + 12 * a)) * (
            1440 * a ** 2 + 6 * s * (53 - 120 * s) - 65 * s * s / a + a * (107 + 3600 * s)) / \
            (1244160 * a ** 4)
        root = xp.sqrt(8 * a)
        term2 = root / (a - s)
        term3 = (s - a - a * xp.log(s / a)) ** -1.5
        term23 = xp.where(s < a, term2 - term3, term2 + term3)
        term1 = xp.log(s / a) * term23 - xp.sqrt(2 / a) * (a + s) / (a - s) ** 2
        stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
        far = -stirling * s * term1 / root
        # elsewhere: a bivariate rational approximation in log(x / alpha), log(alpha)
        u, v = xp.log(s / a), xp.log(a)
        c = [_horner(u, [row[i] for row in _GAMMA_UV]) for i in range(8)]
        rational = xp.exp(_horner(v, c[:4]) / _horner(v, c[4:]))
    large = xp.where((0.9 * a <= s) & (s <= 1.1 * a), near, far)
    out = xp.where(s < 0.8, small, xp.where(a > 8, large, rational))
    return out.astype(x.dtype)


def _beta_grad_alpha_small(xp, x, alpha, beta):
    factor = _special.digamma(xp, alpha) - _special.digamma(xp, alpha + beta) - xp.log(x)
    numer = xp.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    return _nan_to_zero(xp, x * (1 - x) ** -beta * series)


def _beta_grad_beta_small(xp, x, alpha, beta):
    factor = _special.digamma(xp, alpha + beta) - _special.digamma(xp, beta)
    numer, betas, dbetas = xp.ones_like(x), xp.ones_like(x), xp.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    return _nan_to_zero(xp, -(1 - x) ** (1 - beta) * series)


def _beta_grad_alpha_mid(xp, x, alpha, beta):
    total = alpha + beta
    mean = alpha / total
    std = xp.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * beta ** 4 + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * beta ** 3 + alpha * (
            3 * (59 + 180 * beta - 90 * x) * beta ** 2 + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (
                    8 * (1 - x) * (135 * beta - 11)))))
    pre_num = (1 + 12 * alpha) * (1 + 12 * beta) / total ** 2
    pre_den = 12960 * alpha ** 3 * beta ** 2 * (1 + 12 * total)
    at_mean = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / xp.sqrt(2 * alpha * beta / total)
    stirling = (1 + 1 / (12 * alpha) + 1 / (288 * alpha ** 2)) * \
        (1 + 1 / (12 * beta) + 1 / (288 * beta ** 2)) / \
        (1 + 1 / (12 * total) + 1 / (288 * total ** 2))
    axbx = alpha * (x - 1) + beta * x
    term1 = (2 * alpha ** 2 * (x - 1) + alpha * beta * (x - 1) - x * beta ** 2) / \
        (xp.sqrt(2 * alpha / beta) * total ** 1.5 * axbx * axbx)
    term2 = 0.5 * xp.log(alpha / (total * x))
    term3 = xp.sqrt(8 * alpha * beta / total) / axbx
    term4 = (beta * xp.log(beta / (total * (1 - x))) + alpha * xp.log(alpha / (total * x))) \
        ** -1.5
    away = stirling * prefactor * (term1 + term2 * (term3 + xp.where(x < mean, term4, -term4)))
    return xp.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), at_mean, away)


def _beta_grad_rational(xp, x, alpha, total):
    u = xp.log(x)
    a = xp.log(alpha) - u
    b = xp.log(total) - a
    pq = [sum(u ** i * a ** j * _horner(b, c[i][j]) for i in range(3) for j in range(3))
          for c in _BETA_C]
    digammas = _special.digamma(xp, total) - _special.digamma(xp, alpha)
    return pq[0] / pq[1] * x * digammas / (total - alpha)


def dirichlet_grad(xp, x, alpha, total):
    """The scaled reparameterised gradient of a Beta(alpha, total - alpha) sample x with
    respect to alpha: -(dF/dalpha) / f / (1 - x), computed in float64."""
    x64, a, t = (v.astype(np.float64) for v in (x, alpha, total))
    b = t - a
    boundary = t * x64 * (1 - x64)
    with np.errstate(all="ignore"):
        branches = (_beta_grad_alpha_small(xp, x64, a, b),
                    -_beta_grad_beta_small(xp, 1 - x64, b, a),
                    _beta_grad_alpha_mid(xp, x64, a, b),
                    _beta_grad_rational(xp, x64, a, t))
    out = xp.where((x64 <= 0.5) & (boundary < 2.5), branches[0],
                   xp.where((x64 >= 0.5) & (boundary < 0.75), branches[1],
                            xp.where((a > 6) & (b > 6), branches[2], branches[3])))
    return out.astype(x.dtype)


@op("_standard_gamma", saves="both")
def _standard_gamma_op(xp, alpha, rng):
    x = rng.standard_gamma(alpha)
    return x, (alpha, x)


@_standard_gamma_op.vjp
def _standard_gamma_vjp(xp, g, alpha, x):
    return (g * standard_gamma_grad(xp, alpha, x),)


def _dirichlet_fwd(xp, alpha, rng):
    g = rng.standard_gamma(alpha.astype(np.float64))      # torch: gamma in double, then
    eps = np.finfo(alpha.dtype)                             # normalised and rounded once
    total = host_sum(g, (g.ndim - 1,), True)                # (in torch's order)
    x = xp.clip((g / total).astype(alpha.dtype), eps.tiny, 1 - eps.epsneg)
    return x, (alpha, x)


# the Dirichlet distribution's samples (torch's _Dirichlet function, differentiable) and
# torch._sample_dirichlet's (which has no derivative)
_sample_dirichlet_op = op("_dirichlet", saves="both", node="_DirichletBackward")(_dirichlet_fwd)
_sample_dirichlet_raw = op("_sample_dirichlet", saves=None,
                           node="torch::autograd::NotImplemented")(_dirichlet_fwd)


@_sample_dirichlet_raw.vjp
def _(xp, g, *saved):
    raise RuntimeError("derivative for aten::_sample_dirichlet is not implemented")


@_sample_dirichlet_op.vjp
def _sample_dirichlet_vjp(xp, g, alpha, x):
    total = xp.broadcast_to(alpha.sum(-1, keepdims=True), alpha.shape)
    grad = dirichlet_grad(xp, x, alpha, total)
    return (grad * (g - (x * g).sum(-1, keepdims=True)),)


def standard_gamma(alpha, generator=None):
    """Samples of Gamma(alpha, 1), differentiable in alpha (torch._standard_gamma)."""
    return apply(_standard_gamma_op, (alpha,), (rng_for(generator, alpha.be),))


def sample_dirichlet(alpha, generator=None):
    """Samples of Dirichlet(alpha) over the last dim, differentiable in alpha (torch's
    _Dirichlet function)."""
    return apply(_sample_dirichlet_op, (alpha,), (rng_for(generator, alpha.be),))


def _checked(kernel, alpha):
    """alpha, if torch's CPU kernel takes its dtype (float32 and float64 only)."""
    if alpha.arr.dtype.char not in "fd":
        raise not_implemented(kernel, alpha.arr.dtype)
    return alpha


def _standard_gamma(alpha, generator=None):
    """torch._standard_gamma: what torchvision's AugMix and Gamma's sampler call."""
    return standard_gamma(_checked("gamma_cpu", alpha), generator)


def _sample_dirichlet(alpha, generator=None):
    """torch._sample_dirichlet: what torchvision's AugMix calls."""
    return apply(_sample_dirichlet_raw, (_checked("dirichlet", alpha),),
                 (rng_for(generator, alpha.be),))
