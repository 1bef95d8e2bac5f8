"""A table-driven sweep of ember.distributions against torch.distributions: every distribution
class with scalar, batched and broadcast parameters in float32 and float64. From the same seed
the samples must agree to a few ulps (ember draws torch's own random stream), and shapes,
reprs, supports, densities, cdf/icdf, moments, enumerate_support, expand, the gradients of
rsample and log_prob, and every exception (class and message) must be torch's."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import host

_R = np.random.default_rng(3)
_A = _R.normal(size=(3, 3))
COV = _A @ _A.T + 3 * np.eye(3)
TRIL = np.linalg.cholesky(COV)
P3 = [0.2, 0.5, 0.7]
V3 = [0.1, -0.5, 1.0]
S3 = [1.0, 2.0, 0.5]
COL = [[0.1], [0.4]]


def D(L):
    return L.distributions


# name -> (make(lib, params), {shape kind: params}); a param is a nested list (a tensor of
# the sweep's dtype) or an int (passed as is)
FAMILIES = {
    "Normal": (lambda L, p: D(L).Normal(*p),
               {"scalar": [0.3, 1.5], "batched": [V3, S3], "bcast": [COL, S3]}),
    "Bernoulli": (lambda L, p: D(L).Bernoulli(probs=p[0]),
                  {"scalar": [0.3], "batched": [P3], "edges": [[0.0, 1.0, 0.5]]}),
    "BernoulliLogits": (lambda L, p: D(L).Bernoulli(logits=p[0]), {"batched": [V3]}),
    "Beta": (lambda L, p: D(L).Beta(*p), {"scalar": [0.5, 2.0], "bcast": [[[0.5], [2.0]], S3]}),
    "Binomial": (lambda L, p: D(L).Binomial(p[0], probs=p[1]),
                 {"scalar": [5.0, 0.3], "bcast": [[[3.0], [6.0]], P3],
                  "edges": [[0.0, 4.0, 30.0], [0.5, 1.0, 0.2]]}),
    "BinomialLogits": (lambda L, p: D(L).Binomial(p[0], logits=p[1]), {"batched": [4, V3]}),
    "Categorical": (lambda L, p: D(L).Categorical(probs=p[0]),
                    {"vector": [[0.2, 0.3, 0.5]], "batched": [[[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]],
                     "unnormalised": [[[2.0, 0.0, 1.0], [0.5, 0.5, 3.0]]]}),
    "CategoricalLogits": (lambda L, p: D(L).Categorical(logits=p[0]),
                          {"batched": [[[0.2, -0.3, 0.5, 1.0], [0.6, 0.1, 0.3, -2.0]]]}),
    "Cauchy": (lambda L, p: D(L).Cauchy(*p), {"scalar": [0.3, 1.5], "bcast": [COL, S3]}),
    "Chi2": (lambda L, p: D(L).Chi2(*p), {"scalar": [3.0], "batched": [[1.0, 2.5, 6.0]]}),
    "ContinuousBernoulli": (lambda L, p: D(L).ContinuousBernoulli(*p),
                            {"scalar": [0.3], "batched": [[0.2, 0.5, 0.8]]}),
    "Dirichlet": (lambda L, p: D(L).Dirichlet(*p),
                  {"vector": [[0.5, 1.0, 2.0]], "batched": [[[0.5, 1.0, 2.0], [3.0, 1.0, 0.2]]]}),
    "Exponential": (lambda L, p: D(L).Exponential(*p), {"scalar": [1.5], "batched": [S3]}),
    "FisherSnedecor": (lambda L, p: D(L).FisherSnedecor(*p),
                       {"scalar": [3.0, 5.0], "bcast": [[[3.0], [7.0]], [5.0, 6.0, 9.0]],
                        "small_df": [[1.0, 2.0, 3.0], [1.0, 2.0, 4.5]]}),
    "Gamma": (lambda L, p: D(L).Gamma(*p),
              {"scalar": [2.0, 1.5], "bcast": [[[0.5], [3.0]], S3]}),
    "GeneralizedPareto": (lambda L, p: D(L).GeneralizedPareto(*p),
                          {"scalar": [0.0, 1.0, 0.2],
                           "batched": [[0.0, 1.0, -1.0], S3, [0.1, 0.0, -0.3]]}),
    "Geometric": (lambda L, p: D(L).Geometric(*p),
                  {"scalar": [0.3], "batched": [P3], "edges": [[1.0, 0.5, 1.0]]}),
    "Gumbel": (lambda L, p: D(L).Gumbel(*p), {"scalar": [0.3, 1.5], "bcast": [COL, S3]}),
    "HalfCauchy": (lambda L, p: D(L).HalfCauchy(*p), {"scalar": [1.5], "batched": [S3]}),
    "HalfNormal": (lambda L, p: D(L).HalfNormal(*p), {"scalar": [1.5], "batched": [S3]}),
    "Independent": (lambda L, p: D(L).Independent(D(L).Normal(*p), 1),
                    {"batched": [[V3], S3]}),
    "InverseGamma": (lambda L, p: D(L).InverseGamma(*p),
                     {"scalar": [3.0, 1.5], "batched": [[2.5, 3.0, 4.0], S3],
                      "heavy_tails": [[0.5, 1.0, 2.0], S3]}),
    "Kumaraswamy": (lambda L, p: D(L).Kumaraswamy(*p),
                    {"scalar": [2.0, 1.5], "batched": [[0.5, 1.0, 3.0], S3]}),
    "LKJCholesky": (lambda L, p: D(L).LKJCholesky(3, *p),
                    {"scalar": [0.5], "batched": [[0.5, 1.0, 3.0]]}),
    "Laplace": (lambda L, p: D(L).Laplace(*p), {"scalar": [0.3, 1.5], "bcast": [COL, S3]}),
    "LogNormal": (lambda L, p: D(L).LogNormal(*p), {"scalar": [0.3, 1.5], "bcast": [COL, S3]}),
    "LogisticNormal": (lambda L, p: D(L).LogisticNormal(*p), {"vector": [V3, S3]}),
    "LowRankMultivariateNormal": (
        lambda L, p: D(L).LowRankMultivariateNormal(*p),
        {"vector": [V3, [[1.0, 0.2], [0.3, -0.4], [0.5, 0.1]], S3]}),
    "MixtureSameFamily": (lambda L, p: D(L).MixtureSameFamily(D(L).Categorical(probs=p[0]),
                                                              D(L).Normal(p[1], p[2])),
                          {"vector": [[0.2, 0.8], [-1.0, 2.0], [0.5, 1.5]]}),
    "Multinomial": (lambda L, p: D(L).Multinomial(4, probs=p[0]),
                    {"vector": [[0.2, 0.3, 0.5]], "batched": [[[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]]}),
    "MultivariateNormal": (lambda L, p: D(L).MultivariateNormal(p[0], covariance_matrix=p[1]),
                           {"vector": [V3, COV]}),
    "MultivariateNormalTril": (lambda L, p: D(L).MultivariateNormal(p[0], scale_tril=p[1]),
                               {"bcast": [[V3, [0.0, 0.0, 0.0]], TRIL]}),
    "NegativeBinomial": (lambda L, p: D(L).NegativeBinomial(*p),
                         {"scalar": [3.0, 0.4], "batched": [[1.0, 2.5, 6.0], P3]}),
    "OneHotCategorical": (lambda L, p: D(L).OneHotCategorical(probs=p[0]),
                          {"vector": [[0.2, 0.3, 0.5]]}),
    "OneHotCategoricalStraightThrough": (
        lambda L, p: D(L).OneHotCategoricalStraightThrough(probs=p[0]),
        {"vector": [[0.2, 0.3, 0.5]]}),
    "Pareto": (lambda L, p: D(L).Pareto(*p),
               {"scalar": [1.0, 3.0], "batched": [[0.5, 1.0, 3.0], [2.5, 3.0, 4.0]],
                "heavy_tails": [S3, [0.5, 1.0, 2.0]]}),
    "Poisson": (lambda L, p: D(L).Poisson(*p),
                {"scalar": [3.0], "batched": [[0.5, 4.0, 30.0]], "zero_rate": [[0.0, 1.0, 0.0]]}),
    "RelaxedBernoulli": (lambda L, p: D(L).RelaxedBernoulli(p[0], probs=p[1]),
                         {"scalar": [0.5, 0.3], "batched": [0.7, P3]}),
    "RelaxedOneHotCategorical": (lambda L, p: D(L).RelaxedOneHotCategorical(p[0], probs=p[1]),
                                 {"vector": [0.5, [0.2, 0.3, 0.5]]}),
    "StudentT": (lambda L, p: D(L).StudentT(*p),
                 {"scalar": [3.0, 0.3, 1.5], "batched": [[2.5, 3.0, 4.0], V3, S3],
                  "heavy_tails": [[0.5, 1.0, 1.5], V3, S3]}),
    "Uniform": (lambda L, p: D(L).Uniform(*p), {"scalar": [0.3, 1.5], "bcast": [COL, S3]}),
    "VonMises": (lambda L, p: D(L).VonMises(*p), {"scalar": [0.3, 1.5], "batched": [V3, S3]}),
    "Weibull": (lambda L, p: D(L).Weibull(*p),
                {"scalar": [1.3, 1.5], "batched": [[0.5, 1.0, 3.0], S3]}),
    "Wishart": (lambda L, p: D(L).Wishart(p[0], covariance_matrix=p[1]), {"scalar": [4.0, COV]}),
    "TransformedDistribution": (
        lambda L, p: D(L).TransformedDistribution(D(L).Normal(*p), [
            D(L).transforms.ExpTransform(), D(L).transforms.AffineTransform(1.0, 2.0)]),
        {"batched": [V3, S3]}),
}
CASES = [(f, k) for f, (_, kinds) in FAMILIES.items() for k in kinds]
# every case in float64; each family's first case in float32 too
DTYPED = [(f, k, "float64") for f, k in CASES] + \
    [(f, next(iter(kinds)), "float32") for f, (_, kinds) in FAMILIES.items()]


def _leaves(L, params, dtype, grad=False):
    return [p if isinstance(p, int) else
            L.tensor(np.asarray(p, np.float64), dtype=getattr(L, dtype), requires_grad=grad)
            for p in params]


def _outcome(f, L, seed=None):
    """f(L), or the exception it raised; warnings are silenced (torch's FutureWarnings)."""
    if seed is not None:
        L.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f(L)
        except Exception as e:      # noqa: BLE001 - compared with torch's below
            return e


def _diff(t, e, ulps):
    """None if ember's result e is torch's t (the same exception, structure, shape, dtype,
    requires_grad, and values within `ulps` units of the dtype's epsilon, relative), else why
    not."""
    if isinstance(t, Exception) or isinstance(e, Exception):
        same = isinstance(t, Exception) and isinstance(e, Exception) and \
            type(t).__name__ == type(e).__name__ and str(t) == str(e)
        return None if same else f"torch {t!r:.300} ember {e!r:.300}"
    if isinstance(t, torch.Tensor):
        if not isinstance(e, ember.Tensor):
            return f"ember gave {type(e)}"
        if (tuple(e.shape), str(e.dtype), e.requires_grad) != \
                (tuple(t.shape), str(t.dtype), t.requires_grad):
            return f"torch {t.shape} {t.dtype} {t.requires_grad}, " \
                   f"ember {e.shape} {e.dtype} {e.requires_grad}"
        a, b = t.detach().numpy(), host(e)
        tol = ulps * np.finfo(a.dtype).eps if a.dtype.kind == "f" else 0
        ok = np.allclose(b, a, rtol=tol, atol=tol, equal_nan=True)
        return None if ok else f"values: torch {a.ravel()[:6]} ember {b.ravel()[:6]}"
    if isinstance(t, dict):
        if not isinstance(e, dict) or list(e) != list(t):
            return f"torch {t!r:.200} ember {e!r:.200}"
        return next((d for d in map(_diff, t.values(), e.values(), [ulps] * len(t)) if d), None)
    if isinstance(t, (tuple, list)) and not isinstance(t, torch.Size):
        if type(e).__name__ != type(t).__name__ or len(t) != len(e):
            return f"torch {t!r:.200} ember {e!r:.200}"
        return next((d for d in map(_diff, t, e, [ulps] * len(t)) if d), None)
    if isinstance(t, torch.dtype):
        return None if str(e) == str(t) else f"{t} vs {e!r}"
    if isinstance(t, torch.Size):
        return None if type(e).__name__ == "Size" and tuple(e) == tuple(t) else f"{t} vs {e!r}"
    return None if e == t else f"torch {t!r:.300} ember {e!r:.300}"


def _compare(checks, ulps):
    """Runs each labelled f (or (f, seed)) on both libraries; asserts no label differs."""
    bad = []
    for label, f in checks.items():
        f, seed = f if isinstance(f, tuple) else (f, None)
        d = _diff(_outcome(f, torch, seed), _outcome(f, ember, seed), ulps)
        if d:
            bad.append(f"{label}: {d}")
    assert not bad, "\n".join(bad)


def _make(family, kind, dtype, grad=False):
    """The case's distribution for a lib, built once per lib (the checks share it, in the
    same order on both sides)."""
    make, kinds = FAMILIES[family]
    built = {}
    return lambda L: built[L] if L in built else \
        built.setdefault(L, make(L, _leaves(L, kinds[kind], dtype, grad)))


def _value(family, kind, dtype):
    """A batch of two of torch's samples, to evaluate densities at: a function of the lib."""
    torch.manual_seed(5)
    v = _make(family, kind, dtype)(torch).sample((2,)).numpy()
    return lambda L: L.tensor(v, dtype=getattr(L, dtype)) if v.dtype.kind == "f" \
        else L.tensor(v)


@pytest.mark.parametrize("family,kind,dtype", DTYPED)
def test_distribution_like_torch(family, kind, dtype):
    """Shapes, reprs, support and flags; sample / rsample / sample_n from the same seed;
    log_prob, cdf, icdf, entropy, moments and enumerate_support; expand; the gradients of
    rsample (same seed) and of log_prob with respect to each parameter."""
    make, kinds = FAMILIES[family]
    d, v = _make(family, kind, dtype), _value(family, kind, dtype)
    u = lambda L: L.full(tuple(v(torch).shape), 0.3, dtype=getattr(L, dtype))   # noqa: E731
    new_batch = (4,) + tuple(d(torch).batch_shape)

    def grads(L, of):
        leaves = _leaves(L, kinds[kind], dtype, grad=True)
        dist = make(L, leaves)
        out = dist.rsample((3,)) if of == "rsample" else dist.log_prob(v(L))
        if out.requires_grad:
            out.sum().backward()
        return [None if isinstance(p, int) else p.grad for p in leaves]

    _compare({
        "shapes": lambda L: (d(L).batch_shape, d(L).event_shape),
        "repr": lambda L: repr(d(L)),
        "support": lambda L: repr(d(L).support),
        "arg_constraints": lambda L: sorted((k, repr(v)) for k, v in d(L).arg_constraints.items()),
        "flags": lambda L: (d(L).has_rsample, d(L).has_enumerate_support),
        "sample()": (lambda L: d(L).sample(), 1),
        "sample((2, 3))": (lambda L: d(L).sample((2, 3)), 1),
        "rsample((2,))": (lambda L: d(L).rsample((2,)), 1),
        "sample_n": (lambda L: d(L).sample_n(2), 1),
    }, ulps=16)                     # transcendental functions round differently at times
    _compare({
        "log_prob": lambda L: d(L).log_prob(v(L)),
        "cdf": lambda L: d(L).cdf(v(L)),
        "icdf": lambda L: d(L).icdf(u(L)),
        "entropy": lambda L: d(L).entropy(),
        "perplexity": lambda L: d(L).perplexity(),
        "enumerate_support": lambda L: d(L).enumerate_support(),
        "enumerate_support(expand=False)": lambda L: d(L).enumerate_support(False),
        "expand": (lambda L: (type(d(L).expand(new_batch)).__name__,
                              d(L).expand(new_batch).batch_shape,
                              d(L).expand(new_batch).log_prob(v(L)),
                              d(L).expand(new_batch).sample()), 2),
        "expand to a bad shape": lambda L: repr(d(L).expand((5, 7))),
        **{m: lambda L, m=m: getattr(d(L), m) for m in ("mean", "mode", "variance", "stddev")},
    }, ulps=64)
    checks = {"log_prob gradients": lambda L: grads(L, "log_prob")}
    if d(torch).has_rsample and family != "Wishart":   # torch 2.13's Wishart.rsample fails
        checks["rsample gradients"] = (lambda L: grads(L, "rsample"), 3)    # its backward
    _compare(checks, ulps=1024 if dtype == "float32" else 2 ** 20)


@pytest.mark.parametrize("family,kind", CASES)
def test_validation_errors_like_torch(family, kind):
    """validate_args: each parameter in turn set to -1, 2 or nan, and log_prob / cdf at values
    outside the support or of a shape that does not broadcast: torch's ValueError and message,
    or torch's result where it accepts them."""
    make, kinds = FAMILIES[family]
    params, d, v = kinds[kind], _make(family, kind, "float64"), _value(family, kind, "float64")
    checks = {}
    for i, p in enumerate(params):
        for bad in ([] if isinstance(p, int) else [-1.0, 2.0, float("nan")]):
            ps = params[:i] + [(np.asarray(p, np.float64) * 0 + bad).tolist()] + params[i + 1:]
            checks[f"param {i} = {bad}"] = lambda L, ps=ps: repr(make(L, _leaves(L, ps, "float64")))
    for bad in (-1.0, 0.5, 1e9, float("nan")):
        for m in ("log_prob", "cdf"):
            checks[f"{m}({bad})"] = lambda L, m=m, bad=bad: getattr(d(L), m)(v(L) * 0 + bad)
    checks["log_prob of a shape that does not broadcast"] = \
        lambda L: d(L).log_prob(L.zeros(2, 7, dtype=L.float64))
    _compare(checks, ulps=64)


@pytest.mark.parametrize("family,kind", [c for c in CASES if c[1] == "bcast"])
def test_kl_divergence_with_broadcast_batches_like_torch(family, kind):
    """kl_divergence(p, q) for p of each case and q of this (2, 3)-batched case: torch's value
    and NotImplementedError, and torch's IndexError where its `result[mask] = inf`
    indexes the broadcast result with p's smaller mask (Pareto || Normal, Gamma)."""
    q = _make(family, kind, "float64", grad=True)
    checks = {}
    for pf, pk in CASES:
        p = _make(pf, pk, "float64", grad=True)
        checks[f"{pf}-{pk}"] = lambda L, p=p: L.distributions.kl_divergence(p(L), q(L))
    _compare(checks, ulps=256)


_X = _R.normal(size=(2, 3))
_SQ = _R.normal(size=(2, 3, 3))


def T(L):
    return L.distributions.transforms


# name -> (make(lib), input)
TRANSFORMS = {
    "abs": (lambda L: T(L).AbsTransform(), _X),
    "identity": (lambda L: T(L).identity_transform, _X),
    "exp_cached": (lambda L: T(L).ExpTransform(cache_size=1), _X),
    "power": (lambda L: T(L).PowerTransform(2.0), np.abs(_X)),
    "power_tensor": (lambda L: T(L).PowerTransform(L.tensor([0.5, 2.0, 3.0], dtype=L.float64)),
                     np.abs(_X)),
    "softmax": (lambda L: T(L).SoftmaxTransform(), _X),
    "stick_breaking": (lambda L: T(L).StickBreakingTransform(), _X),
    "positive_definite": (lambda L: T(L).PositiveDefiniteTransform(), _SQ),
    "corr_cholesky": (lambda L: T(L).CorrCholeskyTransform(), _X),
    "affine_event": (lambda L: T(L).AffineTransform(L.tensor(V3, dtype=L.float64),
                                                    L.tensor(S3, dtype=L.float64), event_dim=1),
                     _X),
    "cumulative_distribution": (lambda L: T(L).CumulativeDistributionTransform(
        L.distributions.Normal(L.tensor(0.5, dtype=L.float64), 2.0)), _X),
    "reshape": (lambda L: T(L).ReshapeTransform((3,), (3, 1)), _X),
    "compose": (lambda L: T(L).ComposeTransform([T(L).ExpTransform(), T(L).AffineTransform(
        1.0, 2.0), T(L).PowerTransform(0.5)]), _X),
    "compose_empty": (lambda L: T(L).ComposeTransform([]), _X),
    "inverse_sigmoid": (lambda L: T(L).SigmoidTransform().inv, np.abs(_X) / 4),
    "cat": (lambda L: T(L).CatTransform([T(L).ExpTransform(), T(L).identity_transform], 1,
                                        [1, 2]), _X),
    "stack": (lambda L: T(L).StackTransform([T(L).ExpTransform(), T(L).TanhTransform(),
                                             T(L).AbsTransform()], 1), _X),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_like_torch(name):
    """repr, domain / codomain, bijective, sign, forward, inverse, log_abs_det_jacobian and its
    gradient, forward_shape / inverse_shape (and their errors), equality, with_cache and the
    cache's identity: torch's values or torch's exception."""
    make, x = TRANSFORMS[name]

    def xv(L):
        return L.tensor(x, dtype=L.float64, requires_grad=True)

    def grad(L):
        t, v = make(L), xv(L)
        (t.log_abs_det_jacobian(v, t(v)).sum() + t(v).sum()).backward()
        return v.grad

    _compare({
        "repr": lambda L: (repr(make(L)), repr(make(L).inv), repr(make(L).with_cache(1))),
        "domains": lambda L: (repr(make(L).domain), repr(make(L).codomain),
                              make(L).domain.event_dim, make(L).codomain.event_dim),
        "bijective": lambda L: make(L).bijective,
        "sign": lambda L: make(L).sign,
        "forward": lambda L: make(L)(xv(L)),
        "inverse": lambda L: make(L).inv(make(L)(xv(L)).detach()),
        "log_abs_det_jacobian": lambda L: make(L).log_abs_det_jacobian(xv(L), make(L)(xv(L))),
        "gradient": grad,
        "shapes": lambda L: (tuple(make(L).forward_shape((2, 3))),
                             tuple(make(L).inverse_shape((2, 3)))),
        "bad shape": lambda L: tuple(make(L).forward_shape((4,))),
        "equality": lambda L: (make(L) == make(L), make(L) != make(L),
                               make(L) == T(L).ExpTransform()),
        "cache": lambda L: (lambda t, v: t.inv(t(v)) is v)(make(L).with_cache(1), xv(L)),
    }, ulps=256)


_PD = _SQ @ _SQ.transpose(0, 2, 1) + np.eye(3)
_CHOL = np.linalg.cholesky(_PD)
CHECKED = [np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan, np.inf]),
           np.array([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0]]), _PD, -_PD, _SQ, _CHOL,
           _CHOL / np.linalg.norm(_CHOL, axis=-1, keepdims=True),
           np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]), np.array(3.0)]


def C(L):
    return L.distributions.constraints


CONSTRAINTS = {
    **{n: (lambda n: lambda L: getattr(C(L), n))(n) for n in [
        "real", "positive", "nonnegative", "unit_interval", "boolean", "nonnegative_integer",
        "positive_integer", "simplex", "one_hot", "real_vector", "lower_cholesky",
        "lower_triangular", "positive_definite", "positive_semidefinite", "symmetric", "square",
        "corr_cholesky"]},
    "interval": lambda L: C(L).interval(0.0, 1.0),
    "interval_of_tensors": lambda L: C(L).interval(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "half_open_interval": lambda L: C(L).half_open_interval(0.0, 1.0),
    "greater_than_eq": lambda L: C(L).greater_than_eq(0.5),
    "less_than": lambda L: C(L).less_than(0.5),
    "integer_interval": lambda L: C(L).integer_interval(0, 2),
    "multinomial": lambda L: C(L).multinomial(3),
    "independent": lambda L: C(L).independent(C(L).real, 2),
    "cat": lambda L: C(L).cat([C(L).positive, C(L).real], -1, [1, 1]),
    "stack": lambda L: C(L).stack([C(L).positive, C(L).real], -1),
}


@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_constraint_like_torch(name):
    """repr, event_dim, is_discrete, check() on values of many shapes (torch's result or its
    error: cat / stack refuse a dim the value lacks), biject_to / transform_to."""
    c = CONSTRAINTS[name]
    checks = {"meta": lambda L: (repr(c(L)), c(L).event_dim, c(L).is_discrete),
              "biject_to": lambda L: repr(L.distributions.biject_to(c(L))),
              "transform_to": lambda L: repr(L.distributions.transform_to(c(L)))}
    for i, v in enumerate(CHECKED):
        checks[f"check {i}"] = lambda L, v=v: c(L).check(L.tensor(v))
    _compare(checks, ulps=0)



# constructor and method edge cases: torch's result or its exception (sampling from seed 0)
EDGES = {
    "indep_too_many": lambda L: D(L).Independent(D(L).Normal(L.tensor([0., 1.]), 1.0), 2),
    "indep_zero": lambda L: repr(D(L).Independent(D(L).Normal(L.tensor([0., 1.]), 1.0), 0)),
    "indep_nested": lambda L: (
        D(L).Independent(D(L).Independent(D(L).Normal(L.zeros(2, 3, dtype=L.float64), 1.0), 1),
            1).log_prob(L.ones(2, 3, dtype=L.float64))),
    "indep_support": lambda L: repr(D(L).Independent(D(L).Normal(L.zeros(2, 3), 1.0), 1).support),
    "indep_enum": lambda L: (
        D(L).Independent(D(L).Bernoulli(L.ones(2, 3) * 0.5), 1).enumerate_support()),
    "lkj_dim1": lambda L: D(L).LKJCholesky(1, 0.5),
    "lkj_bad_conc": lambda L: D(L).LKJCholesky(3, -1.0),
    "lkj_method": lambda L: D(L).LKJCholesky(3, 0.5, sample_method="bad"),
    "wishart_bad_df": lambda L: D(L).Wishart(1.0, L.eye(3)),
    "wishart_none": lambda L: D(L).Wishart(4.0),
    "wishart_two": lambda L: D(L).Wishart(4.0, L.eye(3), precision_matrix=L.eye(3)),
    "wishart_nonsq": lambda L: D(L).Wishart(4.0, L.ones(2, 3)),
    "mvn_two": lambda L: D(L).MultivariateNormal(L.zeros(2), L.eye(2), scale_tril=L.eye(2)),
    "mvn_1d_cov": lambda L: D(L).MultivariateNormal(L.zeros(2), L.ones(2)),
    "mvn_scalar_loc": lambda L: D(L).MultivariateNormal(L.tensor(0.0), L.eye(2)),
    "mvn_bcast": lambda L: (
        D(L).MultivariateNormal(L.zeros(4, 1, 2), L.eye(2).expand(3, 2, 2)).batch_shape),
    "lowrank_bad": lambda L: D(L).LowRankMultivariateNormal(L.zeros(3), L.ones(2, 1), L.ones(3)),
    "lowrank_bad_diag": lambda L: (
        D(L).LowRankMultivariateNormal(L.zeros(3), L.ones(3, 1), L.ones(2))),
    "lowrank_scalar_loc": lambda L: (
        D(L).LowRankMultivariateNormal(L.tensor(0.), L.ones(3, 1), L.ones(3))),
    "multinomial_tensor_count": lambda L: D(L).Multinomial(L.tensor(3), L.ones(3)),
    "multinomial_default_count_sample": lambda L: D(L).Multinomial(probs=L.ones(3)).sample((4,)),
    "multinomial_lp_default": lambda L: (
        D(L).Multinomial(probs=L.ones(3)).log_prob(L.tensor([1., 0., 0.]))),
    "multinomial_entropy": lambda L: D(L).Multinomial(3, probs=L.tensor([0.2, 0.3, 0.5])).entropy(),
    "categorical_both": lambda L: D(L).Categorical(probs=L.ones(3), logits=L.ones(3)),
    "categorical_none": lambda L: D(L).Categorical(),
    "categorical_0d": lambda L: D(L).Categorical(L.tensor(1.0)),
    "bernoulli_int": lambda L: repr(D(L).Bernoulli(L.tensor([0, 1]))),
    "bernoulli_pyint": lambda L: repr(D(L).Bernoulli(1)),
    "normal_int_tensor": lambda L: repr(D(L).Normal(L.tensor([0, 1]), 1.0)),
    "normal_int_tensor2": lambda L: (
        D(L).Normal(L.tensor([0, 1]), L.tensor([1, 2])).log_prob(L.tensor(0.5))),
    "normal_half": lambda L: (
        D(L).Normal(L.zeros(2, dtype=L.float16), 1.0).log_prob(L.zeros(2, dtype=L.float16))),
    "normal_bf16_sample": lambda L: D(L).Normal(L.zeros(2, dtype=L.bfloat16), 1.0).sample().dtype,
    "uniform_bad": lambda L: D(L).Uniform(1.0, 0.0),
    "uniform_eq": lambda L: D(L).Uniform(1.0, 1.0),
    "mixture_bad_mix": lambda L: (
        D(L).MixtureSameFamily(D(L).Categorical(L.ones(2, 3)), D(L).Normal(L.zeros(3, 3), 1.0))),
    "mixture_not_dist": lambda L: D(L).MixtureSameFamily(L.ones(2), D(L).Normal(L.zeros(2), 1.0)),
    "mixture_not_dist2": lambda L: D(L).MixtureSameFamily(D(L).Categorical(L.ones(2)), 3),
    "mixture_sample_shape": lambda L: (
        D(L).MixtureSameFamily(D(L).Categorical(L.ones(2)), D(L).Normal(L.zeros(2),
            1.0)).sample((3,)).shape),
    "transformed_bad_event": lambda L: (
        D(L).TransformedDistribution(D(L).Normal(L.zeros(3), 1.0),
            D(L).transforms.StickBreakingTransform()).event_shape),
    "transformed_compose_shapes": lambda L: (
        (lambda d: (d.batch_shape,
            d.event_shape))(D(L).TransformedDistribution(D(L).Normal(L.zeros(2, 3), 1.0),
            [D(L).transforms.ReshapeTransform((3,), (3, 1)), D(L).transforms.ExpTransform()]))),
    "transformed_rsample_shape": lambda L: (
        D(L).TransformedDistribution(D(L).Normal(L.zeros(2, 3), 1.0),
            [D(L).transforms.ReshapeTransform((3,), (3, 1))]).rsample((4,)).shape),
    "transformed_nonbij_cdf": lambda L: (
        D(L).TransformedDistribution(D(L).Normal(0.0, 1.0),
            D(L).transforms.AbsTransform()).cdf(L.tensor(0.5))),
    "transformed_neg_affine_cdf": lambda L: (
        D(L).TransformedDistribution(D(L).Normal(0.0, 1.0), D(L).transforms.AffineTransform(0.0,
            -2.0)).cdf(L.tensor(0.5))),
    "transformed_neg_affine_icdf": lambda L: (
        D(L).TransformedDistribution(D(L).Normal(0.0, 1.0), D(L).transforms.AffineTransform(0.0,
            -2.0)).icdf(L.tensor(0.3))),
    "binomial_total_count_float": lambda L: (
        repr(D(L).Binomial(2.5, L.tensor(0.5), validate_args=False).sample())),
    "binomial_no_probs": lambda L: D(L).Binomial(3),
    "nb_no_probs": lambda L: D(L).NegativeBinomial(3.0),
    "geometric_both": lambda L: D(L).Geometric(probs=L.tensor(0.5), logits=L.tensor(0.0)),
    "relaxed_no_probs": lambda L: D(L).RelaxedBernoulli(L.tensor(0.5)),
    "vonmises_sample_f32": lambda L: (
        D(L).VonMises(L.tensor([0.0, 1.0]), L.tensor([0.01, 100.0])).sample((3,))),
    "vonmises_large_conc": lambda L: (
        D(L).VonMises(L.tensor([0.0], dtype=L.float64), L.tensor([1e4],
            dtype=L.float64)).sample((3,))),
    "poisson_large": lambda L: D(L).Poisson(L.tensor([1e3, 1e6])).sample((3,)),
    "binomial_large": lambda L: (
        D(L).Binomial(L.tensor([1e3, 1e6]), L.tensor([0.5, 0.99])).sample((3,))),
    "gamma_tiny": lambda L: D(L).Gamma(L.tensor([1e-3, 1e-6]), 1.0).sample((3,)),
    "dirichlet_tiny": lambda L: D(L).Dirichlet(L.tensor([1e-3, 1e-3, 1.0])).sample((2,)),
    "beta_tiny": lambda L: D(L).Beta(L.tensor([1e-3, 5.0]), L.tensor([1e-3, 1e-3])).sample((2,)),
    "categorical_many": lambda L: D(L).Categorical(logits=L.arange(1000.0) / 100).sample((5,)),
    "multinomial_big": lambda L: D(L).Multinomial(100, logits=L.arange(10.0)).sample((2,)),
    "onehot_sample": lambda L: D(L).OneHotCategorical(logits=L.arange(5.0)).sample((2,)),
    "student_big_df": lambda L: D(L).StudentT(L.tensor([1e6, 0.1])).sample((2,)),
    "lkj_onion": lambda L: D(L).LKJCholesky(4, 2.0, sample_method="onion").sample((2,)),
    "register_kl_of_any_class": lambda L: callable(D(L).register_kl(int, D(L).Normal)),
    "register_kl_of_a_non_class": lambda L: D(L).register_kl(D(L).Normal, "Normal"),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_case_like_torch(name):
    _compare({name: (EDGES[name], 0)}, ulps=64)
