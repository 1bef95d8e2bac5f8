"""torch.special's Bessel functions, zeta and orthogonal polynomials beyond the op table
(tests/opspecs_special.py): values over wide ranges and at the edges (zero, signed zero, inf,
NaN, branch boundaries, n < 0, |x| == 1, large and non-integer n), dtypes, Python-number
arguments, out=, and torch's (absence of) derivatives."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close

BESSEL = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
          "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]
CHEBYSHEV = [p + "chebyshev_polynomial_" + k for p in ("", "shifted_") for k in "tuvw"]
POLYNOMIALS = CHEBYSHEV + ["hermite_polynomial_h", "hermite_polynomial_he",
                           "laguerre_polynomial_l", "legendre_polynomial_p"]
INF, NAN = float("inf"), float("nan")
# ember follows torch's kernels step by step (fused multiply-adds included); the differences
# left are libm's last bits (float32's glibc acosf is not correctly rounded), which
# cos(n acos(x)) multiplies by n
TIGHT = {"float32": dict(rtol=2e-6, atol=1e-30), "float64": dict(rtol=1e-14, atol=1e-300)}


def _both(name, *args, **kw):
    """(ember result, torch result) of special.<name> on the same NumPy arrays / numbers."""
    def run(lib):
        a = [lib.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for v in args]
        return getattr(lib.special, name)(*a, **kw)
    return run(ember), run(torch)


def _wide(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-12, 12, 400), rng.uniform(-150, 150, 200),
                        10.0 ** rng.uniform(-7, 4, 400) * rng.choice([-1, 1], 400)])
    return x.astype(dtype)


EDGES = [0.0, -0.0, INF, -INF, NAN, 1e-30, -1e-30, 1e-6, 5.0, -5.0, 8.0, -8.0, 2.0, 2.09,
         -2.09, -2.1, 8.3203353, 103.892, 104.0, 88.7, 89.0, 1e10, -1e10, 0.49, 0.5, 1e30]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", BESSEL)
def test_bessel_values_and_edges(name, dtype):
    for x in (_wide(dtype), np.array(EDGES, dtype)):
        e, t = _both(name, x)
        assert_close(e, t, **TIGHT[dtype])
    e, t = _both(name, np.array([-0.0, 0.0], dtype))     # signed zeros as torch gives them
    assert np.array_equal(np.signbit(e.numpy()), np.signbit(t.numpy()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_values(name, dtype):
    rng = np.random.default_rng(1)
    lo, hi = (-0.2, 1.2) if name.startswith("shifted") else (-1.3, 1.3)
    x = np.concatenate([rng.uniform(lo, hi, 600), rng.uniform(-4, 4, 200)]).astype(dtype)
    n = rng.integers(-2, 30, x.size).astype(dtype)
    e, t = _both(name, x, n)
    tol = dict(rtol=1e-3, atol=1e-4) if dtype == "float32" and name in CHEBYSHEV else TIGHT[dtype]
    assert_close(e, t, **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_edges(name, dtype):
    """n < 0, non-finite or beyond int64 gives 0; n truncates; the endpoints (|x| == 1, x == 0
    for the shifted ones); infinities; large n (NaN once the recurrence overflows; Hermite's
    NaN beyond degree 128 / 512)."""
    xs = [1.0, -1.0, 0.0, -0.0, 0.5, 0.3, 2.0, -2.0, INF, -INF, 1 - 1e-7, 1e-7, 0.99999994]
    ns = [-1.0, -0.5, 0.0, 0.9, 1.0, 1.5, 2.0, 3.0, 4.7, 5.0, 7.0, 9.0, 12.0, 40.0, 200.0,
          600.0, NAN, INF, -INF, 1e19]
    x, n = np.meshgrid(np.array(xs, dtype), np.array(ns, dtype))
    e, t = _both(name, x, n)
    assert_close(e, t, **TIGHT[dtype])


def test_polynomial_nan_x():
    """NaN x gives NaN (torch leaves some kernels' result uninitialised there: not compared)."""
    for name in POLYNOMIALS:
        r = getattr(ember.special, name)(ember.tensor([NAN, NAN]), ember.tensor([0.0, 5.0]))
        assert r[0].item() == 1.0 and np.isnan(r[1].item()), name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_zeta_values_and_edges(dtype):
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-3, 40, 500), [1, 1, 0.5, 2, 2, 2, 3, 2, 2, 3, 4, 2, NAN,
                                                   INF, 2, 3, 2.5, 2, 2]]).astype(dtype)
    q = np.concatenate([rng.uniform(-8, 30, 500), [1, 0, 1, 0, -1, -1.5, -2.5, INF, -INF, NAN,
                                                   1e20, 1e-30, 2, 2, -0.0, 1e-5, -1.5, 9.5,
                                                   -3.25]]).astype(dtype)
    e, t = _both("zeta", x, q)
    assert_close(e, t, **TIGHT[dtype])


@pytest.mark.parametrize("name", BESSEL)
def test_bessel_dtypes_and_errors(name):
    for v, dt in (([0, 1, 2], torch.int64), ([True, False], torch.bool), ([1, 2], torch.uint8)):
        e, t = _both(name, np.array(v, str(dt).split(".")[1]))
        assert_close(e, t)
    for dt in ("float16", "bfloat16", "complex64"):
        for lib in (torch, ember):
            with pytest.raises(NotImplementedError, match="not implemented for"):
                getattr(lib.special, name)(lib.ones(2, dtype=getattr(lib, dt)))
    with pytest.raises(TypeError):
        getattr(ember.special, name)(2.0)


def test_default_dtype_for_integer_inputs():
    for lib in (torch, ember):
        lib.set_default_dtype(lib.float64)
        try:
            assert lib.special.bessel_j0(lib.tensor([1, 2])).dtype == lib.float64
            assert lib.special.hermite_polynomial_h(lib.tensor([1, 2]), 3).dtype == lib.float64
        finally:
            lib.set_default_dtype(lib.float32)


def test_argument_names_and_python_numbers():
    for lib in (torch, ember):
        S, x = lib.special, lib.tensor([0.25, 0.5])
        out = [S.airy_ai(x=x), S.spherical_bessel_j0(x=x), S.scaled_modified_bessel_k1(x=x),
               S.bessel_j0(input=x), S.chebyshev_polynomial_t(x=x, n=3),
               S.legendre_polynomial_p(x, n=lib.tensor(4)), S.hermite_polynomial_h(2, x),
               S.laguerre_polynomial_l(0.5, lib.tensor([1, 2, 3])),
               S.chebyshev_polynomial_u(lib.tensor([1, 2]), 2.9), S.zeta(input=x + 2, other=x),
               S.zeta(2.0, x), S.zeta(x + 2, 1), S.zeta(lib.tensor([2, 3]), lib.tensor([1, 2]))]
        if lib is torch:
            expected = out
        else:
            for e, t in zip(out, expected):
                assert_close(e, t)
        for bad in (lambda: S.chebyshev_polynomial_t(0.5, 2), lambda: S.zeta(2.0, 1.0)):
            with pytest.raises(TypeError):
                bad()


def test_polynomial_promotion_and_errors():
    cases = [("float32", "float64"), ("float64", "float32"), ("float32", "int64"),
             ("int64", "int32"), ("float32", "float16"), ("bool", "int64")]
    for dx, dn in cases:
        e, t = _both("chebyshev_polynomial_w", np.array([0.5, 1.5], dx),
                     np.array([3, 4], dn))
        assert_close(e, t)
    e, t = _both("legendre_polynomial_p", np.array([0.5, 1.5], "float32"),
                 np.array(3.0, "float64"))                  # 0-d tensors do not promote
    assert_close(e, t)
    e, t = _both("hermite_polynomial_he", np.array([0.5, 1.5]), np.ones((3, 1), "int64"))
    assert_close(e, t)                                      # broadcasting
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="must match the size"):
            lib.special.legendre_polynomial_p(lib.ones(2), lib.ones(3))
        for dt in ("float16", "bfloat16", "complex64"):
            with pytest.raises(NotImplementedError, match="legendre_polynomial_p"):
                lib.special.legendre_polynomial_p(lib.ones(2, dtype=getattr(lib, dt)), 2)
            with pytest.raises(NotImplementedError, match="zeta"):
                lib.special.zeta(lib.ones(2, dtype=getattr(lib, dt)), 2)


@pytest.mark.parametrize("call", [
    lambda S, x, o: S.bessel_y1(x, out=o), lambda S, x, o: S.modified_bessel_k0(x, out=o),
    lambda S, x, o: S.shifted_chebyshev_polynomial_v(x, 3, out=o),
    lambda S, x, o: S.zeta(x + 1, 2.5, out=o)])
def test_out(call):
    x = np.array([0.3, 1.7, 2.9, 7.1], np.float32)
    res = {}
    for lib in (torch, ember):
        wide = lib.empty(4, dtype=lib.float64)       # computed in float32, then cast
        r = call(lib.special, lib.from_numpy(x.copy()), wide)
        assert r is wide
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resized = call(lib.special, lib.from_numpy(x.copy()), lib.empty(2))
        res[lib] = (wide, resized)
        with pytest.raises(RuntimeError, match="can't be cast"):
            call(lib.special, lib.from_numpy(x.copy()), lib.empty(4, dtype=lib.int64))
    assert_close(res[ember][0], res[torch][0], rtol=0, atol=0)
    assert_close(res[ember][1], res[torch][1])


@pytest.mark.parametrize("name", BESSEL + POLYNOMIALS)
def test_no_derivatives(name):
    """torch records nothing for these: the output does not require grad, so backward raises
    (and an out= tensor is allowed)."""
    for lib in (torch, ember):
        x = lib.tensor([0.3, 0.6], requires_grad=True)
        f = getattr(lib.special, name)
        args = (x,) if name in BESSEL else (x, x.detach() + 2)
        y = f(*args)
        assert not y.requires_grad and y.grad_fn is None
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()
        f(*args, out=lib.empty(2))
        if name in POLYNOMIALS:
            assert not f(x.detach(), lib.tensor([2.0, 3.0], requires_grad=True)).requires_grad


def test_zeta_gradient_for_q_only():
    x = np.array([2.0, 3.5, 5.0])
    q = np.array([0.7, 1.5, 3.0])
    grads = []
    for lib in (torch, ember):
        qt = lib.tensor(q, requires_grad=True)
        y = lib.special.zeta(lib.tensor(x), qt)
        assert y.grad_fn.name() == "SpecialZetaBackward0"
        (y * lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)).sum().backward()
        qs = lib.tensor([0.7, 1.5], requires_grad=True)
        lib.special.zeta(2.0, qs).sum().backward()          # a Python number x
        grads.append((qt.grad, qs.grad))
        for args in ((lib.tensor(x, requires_grad=True), lib.tensor(q)),
                     (lib.tensor(x, requires_grad=True), 1.5)):
            y = lib.special.zeta(*args)
            assert y.requires_grad
            with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not "
                                                          "implemented"):
                y.sum().backward()
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
            lib.special.zeta(lib.tensor(x), qt, out=lib.empty(3, dtype=lib.float64))
    assert_close(grads[1][0], grads[0][0])
    assert_close(grads[1][1], grads[0][1])


# ---- digamma / trigamma / polygamma: torch's own algorithms ---------------------------------
def _gamma_points(dtype):
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(-10, 10, 1500), rng.uniform(-1e4, 1e4, 300),
                           rng.uniform(0, 1e-3, 100), np.arange(-10, 11),
                           [0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 1e30, 0.5, 10.0,
                            9.999999, 1e17, 3e17]]).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])
def test_polygamma_values_as_torch(n, dtype):
    """torch's digamma/trigamma/zeta steps: the poles and infinities as torch (trigamma at
    negative integers is finite: sin(pi x) in float is not 0), and nearly every value to the
    bit (a few last-place differences from glibc's sinf, and float16 n >= 2, whose zeta torch
    accumulates in float)."""
    x = _gamma_points(dtype)
    with np.errstate(all="ignore"):
        e = ember.polygamma(n, ember.tensor(x)).numpy()
        t = torch.polygamma(n, torch.from_numpy(x)).numpy()
    same = (e == t) | (np.isnan(e) & np.isnan(t))
    finite = np.isfinite(e) & np.isfinite(t)
    assert (same | finite).all(), x[~(same | finite)]         # poles, infinities: torch's
    if dtype == "float16" and n >= 2:
        return          # torch's zeta accumulates in float for 2-byte inputs, ember in double
    assert (~same).mean() <= {"float16": 0.001, "float32": 0.04, "float64": 0.01}[dtype]
    np.testing.assert_allclose(e[finite], t[finite], rtol={"float16": 2e-3, "float32": 1e-6,
                                                           "float64": 1e-14}[dtype])
    if n == 0:
        assert_close(ember.digamma(ember.tensor(x)), torch.digamma(torch.from_numpy(x)),
                     rtol={"float16": 2e-3, "float32": 1e-6, "float64": 1e-14}[dtype], atol=0)


@pytest.mark.parametrize("fn", ["igamma", "igammac"])
def test_igamma_edges_as_torch(fn):
    """torch settles x or a < 0, a == 0, x == 0, infinite a, infinite x in that order, before
    looking at NaNs (igamma(nan, 0) is 0)."""
    import itertools
    vals = [0.0, -0.0, 1.0, 2.5, -1.0, INF, -INF, NAN, 300.0]
    a, x = (list(v) for v in zip(*itertools.product(vals, vals)))
    assert_close(getattr(ember, fn)(ember.tensor(a), ember.tensor(x)),
                 getattr(torch, fn)(torch.tensor(a), torch.tensor(x)), rtol=1e-6, atol=0)


def test_ndtr_tails_as_torchs_formula():
    """torch's ndtr is (1 + erf(x / sqrt(2))) / 2: exactly 0 below about -8.3 in float64 (ember
    used erfc, 7.6e-24 at -10)."""
    x = np.array([-40.0, -10.0, -8.5, -3.0, 0.0, 0.5, 5.0, 9.0])
    np.testing.assert_array_equal(ember.special.ndtr(ember.tensor(x)).numpy(),
                                  torch.special.ndtr(torch.tensor(x)).numpy())
