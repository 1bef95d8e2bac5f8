"""Op table entries for ember/ops/numeric.py (sinc, logaddexp, diff, trapezoid, renorm, ...)."""
from opspecs import AWAY, F32_LOOSE, INTS, ONE, POS, I, OpSpec, _mod, t

PAIR = [(t(4, 5), t(4, 5)), (t(4, 1), t(5)), (t(2, 3, nc=True), t(2, 3))]
INT_PAIR = [(I((3, 4), -9, 10), I((3, 4), -9, 10)), (I((4, 1), 0, 10), I((5,), 1, 7))]


def _frexp_m(x):
    m, e = _mod(x).frexp(x)
    return m * e


SPECS = [
    OpSpec("sinc", lambda x: x.sinc()),
    # all zeros: torch's second derivative there is NaN (0/0), so first order only
    OpSpec("sinc.fn", lambda x: _mod(x).sinc(x * 0), gradcheck=False),
    OpSpec("sinc_", lambda x: (x * 1).sinc_()),
    OpSpec("i0", lambda x: x.i0(), tol=F32_LOOSE),
    OpSpec("polygamma.0", lambda x: x.polygamma(0), domain=(0.5, 3.0), tol=F32_LOOSE),
    OpSpec("polygamma.1", lambda x: _mod(x).polygamma(1, x), domain=(0.5, 3.0),
           tol=F32_LOOSE),
    OpSpec("polygamma.3", lambda x: _mod(x).polygamma(3, x), domain=(0.5, 3.0),
           tol={"float32": dict(rtol=1e-4, atol=1e-4)}),
    OpSpec("logaddexp", lambda x, y: x.logaddexp(y), PAIR),
    OpSpec("logaddexp2", lambda x, y: _mod(x).logaddexp2(x, y), PAIR),
    OpSpec("ldexp", lambda x, y: x.ldexp(y), [(t(3, 4), I((3, 4), 0, 4)),
                                              (t(4, 5), I((5,), 0, 4))]),  # torch: int pow grad
    OpSpec("ldexp.float_exp", lambda x, y: _mod(x).ldexp(x, y), [(t(3, 4), t(3, 4))]),
    OpSpec("frexp", lambda x: _frexp_m(x)),
    OpSpec("nextafter", lambda x, y: x.nextafter(y), PAIR),
    OpSpec("gcd", lambda x, y: x.gcd(y) + _mod(x).lcm(x, y), INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("diff", lambda x: x.diff(), [(t(5),), (t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("diff.n_dim", lambda x: _mod(x).diff(x, n=2, dim=0), [(t(5, 3),), (t(2, 3),)]),
    OpSpec("diff.prepend_append", lambda x, p, a: x.diff(dim=1, prepend=p, append=a),
           [(t(3, 4), t(3, 1), t(3, 2))]),
    OpSpec("diff.int", lambda x: x.diff(n=2) + (x > 0).diff(n=2).long(), INTS[:1], grad=False,
           dtypes=ONE),
    OpSpec("trapezoid", lambda y: _mod(y).trapezoid(y), [(t(5),), (t(3, 4),), (t(0, 3),)]),
    OpSpec("trapezoid.dx", lambda y: _mod(y).trapezoid(y, dx=0.5, dim=0), [(t(3, 4),)]),
    OpSpec("trapezoid.x", lambda y, x: _mod(y).trapezoid(y, x), [(t(3, 4), t(4)),
                                                                 (t(3, 4), t(3, 4))]),
    OpSpec("trapz", lambda y, x: _mod(y).trapz(y, x, dim=0), [(t(3, 4), t(3))]),
    OpSpec("trapz.dx", lambda y: _mod(y).trapz(y, dx=2.0), [(t(3, 4),)]),
    OpSpec("cumulative_trapezoid", lambda y: _mod(y).cumulative_trapezoid(y),
           [(t(5),), (t(3, 4),)]),
    OpSpec("cumulative_trapezoid.x", lambda y, x: _mod(y).cumulative_trapezoid(y, x, dim=0),
           [(t(3, 4), t(3)), (t(3, 4), t(3, 4))]),
    OpSpec("renorm", lambda x: x.renorm(2, 0, 1.5), [(t(3, 4),), (t(2, 3, 4, nc=True),)]),
    OpSpec("renorm.p1_dim1", lambda x: _mod(x).renorm(x, 1, 1, 2.0), [(t(3, 4),)]),
    OpSpec("renorm.big", lambda x: x.renorm(3, -1, 100.0), [(t(3, 4),)]),
    OpSpec("cov", lambda x: x.cov(), [(t(3, 5),), (t(6),)]),
    OpSpec("cov.weights", lambda x, f, a: _mod(x).cov(x, correction=0, fweights=f, aweights=a),
           [(t(2, 5), I((5,), 1, 4), t(5, low=0.5, high=2.0, grad=False))]),
    OpSpec("cov.aweights", lambda x, a: _mod(x).cov(x, aweights=a), [(t(3, 6), t(6, low=0.5,
                                                                                high=2.0))]),
    OpSpec("corrcoef", lambda x: x.corrcoef(), [(t(3, 5),)]),
    OpSpec("combinations", lambda x: _mod(x).combinations(x), [(t(4),), (t(1),)]),
    OpSpec("combinations.r3", lambda x: _mod(x).combinations(x, 3, with_replacement=True),
           [(t(3),)]),
    OpSpec("vander", lambda x: _mod(x).vander(x), [(t(4),)], grad=False),
    OpSpec("vander.N", lambda x: _mod(x).vander(x, N=3, increasing=True), [(t(4),)],
           grad=False),
    OpSpec("histc", lambda x: x.histc(7), [(t(4, 5),)], grad=False),
    OpSpec("histc.range", lambda x: _mod(x).histc(x, bins=5, min=-1, max=1), [(t(30),)],
           grad=False),
    OpSpec("bincount", lambda x: x.bincount(minlength=12), [(I((20,), 0, 9),)], grad=False,
           dtypes=ONE),
    OpSpec("bincount.weights", lambda i, w: i.bincount(w), [(I((6,), 0, 4), t(6))],
           grad=False),
]
_ = (AWAY, POS)
