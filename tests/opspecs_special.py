"""Op table entries for ember.special: torch.special's names and signatures for the functions
ember has (each op itself has its own entry elsewhere), ndtr, and the Bessel functions, zeta and
orthogonal polynomials (edge cases: tests/test_special_functions.py)."""
from opspecs import F32_LOOSE, I, OpSpec, _mod, t


def _s(name, *args, **kw):
    return OpSpec("special." + name, lambda x: getattr(_mod(x).special, name)(x, *args), **kw)


def _poly(name, domain=(-2.0, 2.0)):
    """x and the degree n as tensors (int64 n promotes), n a Python number, x a Python number."""
    return [OpSpec("special." + name, lambda x, n: getattr(_mod(x).special, name)(x, n),
                   [(t(4, 5), I((4, 5), -1, 12)), (t(3, 1), I((4,), 0, 10)), (t(3, 4), 7),
                    (t(2, 3, nc=True), 3.7), (t(), 5), (t(0, 3), 2),
                    (t(2, 3), t(3, low=0, high=9))],
                   domain=domain, grad=False),
            OpSpec(f"special.{name}.scalar_x",
                   lambda n: getattr(_mod(n).special, name)(0.3, n), [(I((5,), 0, 12),)],
                   grad=False, dtypes=("float32",))]


POSITIVE = (0.5, 4.0)


def _zeta_x(*shape):
    return t(*shape, grad=False, low=1.5, high=6.0)         # zeta's x: no derivative


SPECS = [
    _s("expit"),
    _s("ndtr", domain=(-4.0, 4.0)),
    _s("gammaln", domain=POSITIVE),
    _s("psi", domain=POSITIVE, tol=F32_LOOSE),
    _s("multigammaln", 2, domain=(1.5, 4.0), tol=F32_LOOSE),
    _s("logit", domain=(0.1, 0.9)),
    _s("softmax", 0),
    _s("log_softmax", 0),
    _s("logsumexp", (0,)),
    _s("exp2"),
    _s("sinc"),
    _s("i0"),
    _s("i0e", domain=(-4.0, 4.0)),
    _s("i1", domain=(-4.0, 4.0)),
    _s("i1e", domain=(-4.0, 4.0)),
    _s("ndtri", domain=(0.05, 0.95)),
    _s("log_ndtr", domain=(-5.0, 4.0)),
    _s("erfcx", domain=(-2.0, 4.0)),
    _s("entr", domain=(0.1, 3.0)),
    OpSpec("special.entr.edges", lambda x: _mod(x).special.entr(
        _mod(x).where(x.abs() < 0.5, x * 0, x)), [(t(4, 5),)], grad=False),
    OpSpec("special.xlog1py", lambda a, b: _mod(a).special.xlog1py(a, b),
           [(t(3, 4), t(3, 4)), (t(3, 1), t(4)), (t(2, 3), 1.5)], domain=(0.1, 2.0)),
    OpSpec("special.xlog1py.zeros", lambda a, b: _mod(a).special.xlog1py(
        _mod(a).where(a < 1, a * 0, a), b - 2), [(t(3, 4), t(3, 4))], domain=(0.1, 2.0)),
    OpSpec("special.polygamma", lambda x: _mod(x).special.polygamma(2, x), domain=POSITIVE,
           tol=F32_LOOSE),
    OpSpec("special.gammaincc", lambda a, x: _mod(a).special.gammaincc(a, x),
           [(t(3, 4, grad=False), t(3, 4))], domain=POSITIVE, tol=F32_LOOSE),
    OpSpec("special.xlogy", lambda a, b: _mod(a).special.xlogy(a, b), [(t(3, 4), t(3, 4))],
           domain=POSITIVE),
    # torch's kernels, no derivatives (but zeta's for q)
    _s("airy_ai", domain=(-6.0, 6.0), grad=False),
    _s("bessel_j0", domain=(-12.0, 12.0), grad=False),
    _s("bessel_j1", domain=(-12.0, 12.0), grad=False),
    _s("bessel_y0", domain=(0.1, 12.0), grad=False),
    _s("bessel_y1", domain=(0.1, 12.0), grad=False),
    _s("modified_bessel_i0", domain=(-12.0, 12.0), grad=False),
    _s("modified_bessel_i1", domain=(-12.0, 12.0), grad=False),
    _s("modified_bessel_k0", domain=(0.1, 5.0), grad=False),
    _s("modified_bessel_k1", domain=(0.1, 5.0), grad=False),
    _s("scaled_modified_bessel_k0", domain=(0.1, 12.0), grad=False),
    _s("scaled_modified_bessel_k1", domain=(0.1, 12.0), grad=False),
    _s("spherical_bessel_j0", domain=(-12.0, 12.0), grad=False),
    OpSpec("special.zeta", lambda x, q: _mod(x).special.zeta(x, q),
           [(_zeta_x(3, 4), t(3, 4)), (_zeta_x(4, 1), t(5)), (_zeta_x(3), 2.5),
            (_zeta_x(), t(0, 3))], domain=(0.5, 4.0),
           gradcheck=False),       # first order: torch's double backward needs zeta's own
    OpSpec("special.zeta.scalar_x", lambda q: _mod(q).special.zeta(3.0, q), [(t(3, 4),)],
           domain=(0.5, 4.0), gradcheck=False),
    *_poly("chebyshev_polynomial_t"), *_poly("chebyshev_polynomial_u"),
    *_poly("chebyshev_polynomial_v"), *_poly("chebyshev_polynomial_w"),
    *_poly("shifted_chebyshev_polynomial_t", (-0.5, 1.5)),
    *_poly("shifted_chebyshev_polynomial_u", (-0.5, 1.5)),
    *_poly("shifted_chebyshev_polynomial_v", (-0.5, 1.5)),
    *_poly("shifted_chebyshev_polynomial_w", (-0.5, 1.5)),
    *_poly("hermite_polynomial_h"), *_poly("hermite_polynomial_he"),
    *_poly("laguerre_polynomial_l", (0.0, 6.0)), *_poly("legendre_polynomial_p", (-1.5, 1.5)),
]
