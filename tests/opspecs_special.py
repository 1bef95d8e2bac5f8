"""Op table entries for ember.special: torch.special's names and signatures for the functions
ember has (each op itself has its own entry elsewhere), and ndtr."""
from opspecs import F32_LOOSE, OpSpec, _mod, t


def _s(name, *args, **kw):
    return OpSpec("special." + name, lambda x: getattr(_mod(x).special, name)(x, *args), **kw)


POSITIVE = (0.5, 4.0)
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
    _s("i0", gradcheck=False),      # first order only, as the i0 entry (opspecs_numeric)
    # SciPy-backed: their double backward is a documented gap (tests/test_higher_order.py)
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
           [(t(3, 4, grad=False), t(3, 4))], domain=POSITIVE, tol=F32_LOOSE,
           gradcheck=False),       # first order only, as the igammac entry (opspecs_signal)
    OpSpec("special.xlogy", lambda a, b: _mod(a).special.xlogy(a, b), [(t(3, 4), t(3, 4))],
           domain=POSITIVE),
]
