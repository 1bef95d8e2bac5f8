"""ember.distributions against torch.distributions, across families: kl_divergence for every
pair of distributions (a value where torch has one, its error where it has none), the
ExponentialFamily base (Bregman entropy and KL), constraint_registry, rsample gradients of the
newer distributions with the same noise on both sides, LKJ / Wishart sampling statistics,
validation errors and the mock device."""
import numpy as np
import pytest
import torch

import ember
from ember.distributions import _implicit
from oracle import assert_close, host

_R = np.random.default_rng(7)
A = _R.normal(size=(2, 3, 3))
COV = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.linalg.cholesky(COV)


def D(L):
    return L.distributions


def _p(L, arrays):
    """float64 leaf tensors that require grad."""
    return [L.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]


# name -> (make(lib, params), params(k)): the family, and the parameters of its k-th (0 or 1)
# instance (batch shape (3,) for scalar families)
FAMILIES = {
    "bernoulli": (lambda L, p: D(L).Bernoulli(probs=p[0]),
                  lambda k: [[0.2, 0.5, 0.9 - 0.3 * k]]),
    "binomial": (lambda L, p: D(L).Binomial(5, probs=p[0]),
                 lambda k: [[0.3, 0.6 - 0.1 * k, 0.2]]),
    "categorical": (lambda L, p: D(L).Categorical(logits=p[0]),
                    lambda k: [np.sin(np.arange(12.0).reshape(3, 4) * (1 + k))]),
    "one_hot": (lambda L, p: D(L).OneHotCategorical(logits=p[0]),
                lambda k: [np.arange(12.0).reshape(3, 4) * (0.1 + 0.1 * k)]),
    "beta": (lambda L, p: D(L).Beta(p[0], p[1]),
             lambda k: [[0.5 + k, 2.0, 3.0], [1.5, 0.7, 2.0 + k]]),
    "continuous_bernoulli": (lambda L, p: D(L).ContinuousBernoulli(p[0]),
                             lambda k: [[0.2, 0.5003 + 0.1 * k, 0.8]]),
    "dirichlet": (lambda L, p: D(L).Dirichlet(p[0]),
                  lambda k: [np.arange(1.0, 13.0).reshape(3, 4) / (3 + k)]),
    "exponential": (lambda L, p: D(L).Exponential(p[0]),
                    lambda k: [[0.5 + k, 1.5, 3.0]]),
    "gamma": (lambda L, p: D(L).Gamma(p[0], p[1]),
              lambda k: [[0.5 + k, 2.0, 4.0], [1.0, 0.5 + k, 2.0]]),
    "chi2": (lambda L, p: D(L).Chi2(p[0]),
             lambda k: [[1.0 + k, 3.0, 5.0]]),
    "gumbel": (lambda L, p: D(L).Gumbel(p[0], p[1]),
               lambda k: [[0.5 - k, 0.1, 2.0], [1.0, 0.5 + k, 2.0]]),
    "geometric": (lambda L, p: D(L).Geometric(p[0]),
                  lambda k: [[0.2 + 0.1 * k, 0.5, 0.7]]),
    "half_normal": (lambda L, p: D(L).HalfNormal(p[0]),
                    lambda k: [[0.5 + k, 1.0, 2.0]]),
    "laplace": (lambda L, p: D(L).Laplace(p[0], p[1]),
                lambda k: [[0.5 - k, 0.1, 2.0], [1.0, 0.5 + k, 2.0]]),
    "normal": (lambda L, p: D(L).Normal(p[0], p[1]),
               lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "cauchy": (lambda L, p: D(L).Cauchy(p[0], p[1]),
               lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "pareto": (lambda L, p: D(L).Pareto(p[0], p[1]),
               lambda k: [[0.05 + k, 1.0, 1.5], [2.5, 3.0 + k, 0.8]]),
    "poisson": (lambda L, p: D(L).Poisson(p[0]),
                lambda k: [[0.5 + k, 2.0, 4.0]]),
    "uniform": (lambda L, p: D(L).Uniform(p[0], p[1]),
                lambda k: [[0.1, 0.2 - 0.3 * k, 0.3], [0.6, 0.7, 0.9 + k]]),
    "mvn": (lambda L, p: D(L).MultivariateNormal(p[0], scale_tril=p[1]),
            lambda k: [[0.1, -0.5 + k, 1.0], TRIL[k]]),
    "lowrank_mvn": (lambda L, p: D(L).LowRankMultivariateNormal(*p),
                    lambda k: [[0.3 * k, 0.2, -1.0], np.cos(np.arange(6.0).reshape(3, 2) + k),
                                         [0.5, 1.0 + k, 2.0]]),
    "independent": (lambda L, p: D(L).Independent(D(L).Normal(p[0], p[1]), 1),
                    lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "log_normal": (lambda L, p: D(L).LogNormal(p[0], p[1]),
                   lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "wishart": (lambda L, p: D(L).Wishart(p[0], covariance_matrix=p[1]),
                lambda k: [4.0 + k, COV[k]]),
    "inverse_gamma": (lambda L, p: D(L).InverseGamma(p[0], p[1]),
                      lambda k: [[0.5 + k, 2.0, 4.0], [1.0, 0.5 + k, 2.0]]),
    "kumaraswamy": (lambda L, p: D(L).Kumaraswamy(p[0], p[1]),
                    lambda k: [[0.5 + k, 2.0, 4.0], [1.0, 0.5 + k, 2.0]]),
    "logistic_normal": (lambda L, p: D(L).LogisticNormal(p[0], p[1]),
                        lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "fisher_snedecor": (lambda L, p: D(L).FisherSnedecor(p[0], p[1]),
                        lambda k: [[0.5 + k, 2.0, 4.0], [1.0, 0.5 + k, 2.0]]),
    "negative_binomial": (lambda L, p: D(L).NegativeBinomial(p[0], p[1]),
                          lambda k: [[0.5 + k, 2.0, 4.0], [0.1, 0.5, 0.7]]),
    "generalized_pareto": (lambda L, p: D(L).GeneralizedPareto(*p),
                           lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0], [0.1, 0.0, -0.2]]),
    "lkj": (lambda L, p: D(L).LKJCholesky(3, p[0]),
            lambda k: [[0.5 + k, 2.0]]),
    "student_t": (lambda L, p: D(L).StudentT(p[0]),
                  lambda k: [[1.5 + k, 3.0, 9.]]),
    "von_mises": (lambda L, p: D(L).VonMises(p[0], p[1]),
                  lambda k: [[0.5 - k, 0.1, 0.4], [1.0, 0.5 + k, 2.0]]),
    "weibull": (lambda L, p: D(L).Weibull(p[0], p[1]),
                lambda k: [[0.5 + k, 2.0, 4.0], [1.0, 0.5 + k, 2.0]]),
}


def _family(L, name, k):
    """The k-th instance of a family, and its parameter leaves."""
    make, arrays = FAMILIES[name]
    params = _p(L, arrays(k))
    return make(L, params), params


def _kl(L, p_name, q_name):
    (p, pp), (q, qp) = _family(L, p_name, 0), _family(L, q_name, 1)
    return D(L).kl_divergence(p, q), pp + qp


@pytest.mark.parametrize("p_name", list(FAMILIES))
def test_kl_divergence_for_every_pair_like_torch(p_name):
    """kl_divergence(p, q) against torch for p of this family and q of every family: the
    values and their float64 gradients where torch has a formula, the same exception where it
    does not (NotImplementedError, or torch's ValueError for mismatched shapes)."""
    for q_name in FAMILIES:
        try:
            want, tparams = _kl(torch, p_name, q_name)
        except Exception as e:      # noqa: BLE001 (compared with ember's below)
            with pytest.raises(type(e)) as got:
                _kl(ember, p_name, q_name)
            assert str(got.value) == str(e), (p_name, q_name)
            continue
        got, eparams = _kl(ember, p_name, q_name)
        assert_close(got, want, rtol=1e-9, atol=1e-9)
        assert got.requires_grad == want.requires_grad, (p_name, q_name)
        if not want.requires_grad:                  # an infinite constant
            continue
        w = _R.normal(size=tuple(want.shape))
        (torch.where(want.isfinite(), want, 0) * torch.tensor(w)).sum().backward()
        (ember.where(got.isfinite(), got, 0) * ember.tensor(w)).sum().backward()
        for e, t in zip(eparams, tparams):
            assert (e.grad is None) == (t.grad is None), (p_name, q_name)
            if t.grad is not None:
                assert_close(e.grad, t.grad, rtol=1e-7, atol=1e-9)


EXP_FAMILIES = ["bernoulli", "beta", "continuous_bernoulli", "dirichlet", "exponential",
                "gamma", "chi2", "normal", "poisson", "wishart"]


@pytest.mark.parametrize("name", EXP_FAMILIES)
def test_exponential_family_bregman_entropy_and_kl(name):
    """The generic ExponentialFamily.entropy (autograd of the log normaliser) and the Bregman
    KL between two members, called directly, against torch's; the classes torch derives from
    ExponentialFamily are the same."""
    (td, _), (ed, _) = _family(torch, name, 0), _family(ember, name, 0)
    assert isinstance(ed, D(ember).ExponentialFamily)
    try:
        want = torch.distributions.ExponentialFamily.entropy(td)
    except NotImplementedError:             # no _mean_carrier_measure (Beta, Dirichlet, ...)
        with pytest.raises(NotImplementedError):
            D(ember).ExponentialFamily.entropy(ed)
    else:
        assert_close(D(ember).ExponentialFamily.entropy(ed), want, rtol=1e-9, atol=1e-9)
        assert_close(ed.entropy(), want, rtol=1e-6, atol=1e-6)     # the closed form agrees
    (tq, tqp), (eq, eqp) = _family(torch, name, 1), _family(ember, name, 1)
    want = torch.distributions.kl._kl_expfamily_expfamily(td, tq)
    got = D(ember).kl._kl_expfamily_expfamily(ed, eq)
    assert_close(got, want, rtol=1e-9, atol=1e-9)
    want.sum().backward()
    got.sum().backward()
    for e, t in zip(eqp, tqp):
        assert_close(e.grad, t.grad, rtol=1e-7, atol=1e-9)


def test_exponential_family_hierarchy_and_user_subclass():
    for name in D(torch).__all__:
        t = getattr(D(torch), name)
        if isinstance(t, type):
            e = getattr(D(ember), name)
            assert issubclass(e, D(ember).ExponentialFamily) == \
                issubclass(t, D(torch).ExponentialFamily), name

    def rayleigh_like(L):
        """A user's family: density x exp(-x^2 / 2 s^2) / s^2, theta = -1 / 2s^2."""
        class Family(D(L).ExponentialFamily):
            arg_constraints = {"s": D(L).constraints.positive}
            _mean_carrier_measure = 0.0

            def __init__(self, s):
                self.s = s
                super().__init__(s.shape)

            _natural_params = property(lambda self: (-0.5 / self.s ** 2,))

            def _log_normalizer(self, x):
                return -(-2 * x).log()
        return Family
    s = np.array([0.5, 2.0])
    tf, ef = rayleigh_like(torch), rayleigh_like(ember)
    assert_close(ef(ember.tensor(s)).entropy(), tf(torch.tensor(s)).entropy())
    kl_t = D(torch).kl_divergence(tf(torch.tensor(s)), tf(torch.tensor(s[::-1].copy())))
    kl_e = D(ember).kl_divergence(ef(ember.tensor(s)), ef(ember.tensor(s[::-1].copy())))
    assert_close(kl_e, kl_t)


CONSTRAINTS = {
    "real": lambda C: C.real,
    "real_vector": lambda C: C.real_vector,
    "positive": lambda C: C.positive,
    "nonnegative": lambda C: C.nonnegative,
    "greater_than": lambda C: C.greater_than(1.5),
    "greater_than_eq": lambda C: C.greater_than_eq(-1.0),
    "less_than": lambda C: C.less_than(2.0),
    "unit_interval": lambda C: C.unit_interval,
    "interval": lambda C: C.interval(-1.0, 3.0),
    "half_open_interval": lambda C: C.half_open_interval(0.0, 1.0),
    "simplex": lambda C: C.simplex,
    "lower_cholesky": lambda C: C.lower_cholesky,
    "positive_definite": lambda C: C.positive_definite,
    "positive_semidefinite": lambda C: C.positive_semidefinite,
    "corr_cholesky": lambda C: C.corr_cholesky,
    "independent": lambda C: C.independent(C.greater_than(0.5), 1),
    "cat": lambda C: C.cat([C.positive, C.interval(0.0, 2.0)], 1, [1, 2]),
    "stack": lambda C: C.stack([C.real, C.positive, C.unit_interval], 1),
    "boolean": lambda C: C.boolean,
    "integer_interval": lambda C: C.integer_interval(0, 3),
    "lower_triangular": lambda C: C.lower_triangular,
    "one_hot": lambda C: C.one_hot,
}


@pytest.mark.parametrize("name", list(CONSTRAINTS))
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_like_torch(name, registry):
    tc, ec = CONSTRAINTS[name](D(torch).constraints), CONSTRAINTS[name](D(ember).constraints)
    t_reg, e_reg = getattr(D(torch), registry), getattr(D(ember), registry)
    try:
        tt = t_reg(tc)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e)):
            e_reg(ec)
        return
    et = e_reg(ec)
    assert repr(et) == repr(tt)
    shape = (2, 6) if name == "corr_cholesky" else (2, 3, 3) if "_" in name and name in (
        "lower_cholesky", "positive_definite", "positive_semidefinite") else (2, 3)
    x = _R.normal(size=shape)
    ty, ey = tt(torch.tensor(x)), et(ember.tensor(x))
    assert_close(ey, ty)
    assert bool(ec.check(ey).all())
    if tt.bijective:
        assert_close(et.log_abs_det_jacobian(ember.tensor(x), ey),
                     tt.log_abs_det_jacobian(torch.tensor(x), ty))


def test_constraint_registry_register_and_utils():
    C = D(ember).constraints
    reg = D(ember).constraint_registry.ConstraintRegistry()
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint"):
        reg.register("positive", lambda c: None)
    reg.register(C.positive, lambda c: D(ember).transforms.ExpTransform())
    assert isinstance(reg(C.greater_than(3.0)), D(ember).transforms.ExpTransform)
    v = np.arange(6.0).reshape(1, 6)
    for diag in (0, -1):
        n = 6 if diag == 0 else 10
        vec = np.arange(float(n)).reshape(1, n)
        want = D(torch).utils.vec_to_tril_matrix(torch.tensor(vec), diag)
        got = D(ember).utils.vec_to_tril_matrix(ember.tensor(vec), diag)
        assert_close(got, want)
        assert_close(D(ember).utils.tril_matrix_to_vec(got, diag),
                     D(torch).utils.tril_matrix_to_vec(want, diag))
    for f in (lambda L: D(L).utils.vec_to_tril_matrix(L.tensor(v[:, :5])),
              lambda L: D(L).utils.tril_matrix_to_vec(L.eye(3), 3)):
        with pytest.raises(ValueError) as want:
            f(torch)
        with pytest.raises(ValueError, match=str(want.value).replace("(", r"\(")
                           .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
            f(ember)


def _noise(kind, shape):
    r = np.random.default_rng(abs(hash((kind, tuple(shape)))) % 2 ** 32)
    return r.uniform(0.05, 0.95, shape) if kind == "rand" else r.normal(size=shape)


def _fake(L, kind):
    def f(*shape, dtype=None, device=None, **kw):
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return L.tensor(_noise(kind, shape), dtype=dtype or L.get_default_dtype())
    return f


def _replay(draws):
    """torch's _standard_gamma returning ember's recorded draws in turn (with torch's own
    implicit gradient at them); cycles when torch draws more often (Wishart draws twice)."""
    calls = []

    def f(alpha):
        x = torch.tensor(draws[len(calls) % len(draws)], dtype=alpha.dtype)
        calls.append(1)
        return x + torch._standard_gamma_grad(alpha, x).detach() * (alpha - alpha.detach())
    return f


RSAMPLE = {
    "continuous_bernoulli": (lambda L, p: D(L).ContinuousBernoulli(p[0]),
                             [[0.2, 0.4995, 0.8]]),
    "generalized_pareto": (lambda L, p: D(L).GeneralizedPareto(*p),
                           [[0.5, 0.1, 0.4], [1.0, 0.5, 2.0], [0.1, 0.0, -0.2]]),
    "kumaraswamy": (lambda L, p: D(L).Kumaraswamy(*p), [[0.5, 2.0, 4.0], [1.0, 0.5, 2.0]]),
    "logistic_normal": (lambda L, p: D(L).LogisticNormal(*p), [[0.5, 0.1, 0.4], [1., .5, 2.]]),
    "lowrank_mvn": (lambda L, p: D(L).LowRankMultivariateNormal(*p),
                    [[0.3, 0.2, -1.0], _R.normal(size=(3, 2)), [0.5, 1.0, 2.0]]),
    "inverse_gamma": (lambda L, p: D(L).InverseGamma(*p), [[0.5, 2.0, 4.0], [1.0, 0.5, 2.0]]),
    "fisher_snedecor": (lambda L, p: D(L).FisherSnedecor(*p), [[0.5, 2.0, 4.], [1., .5, 2.]]),
    "wishart": (lambda L, p: D(L).Wishart(p[0], scale_tril=p[1]), [[4.0, 6.0], TRIL]),
}


@pytest.mark.parametrize("name", list(RSAMPLE))
def test_rsample_gradients_match_torch(name, monkeypatch):
    """Gradients of a loss on rsample, with torch's uniform / normal noise replaced by the same
    arrays on both sides and torch's gamma draws replaced by ember's (with torch's implicit
    gradient)."""
    make, arrays = RSAMPLE[name]
    for L in (ember, torch):
        monkeypatch.setattr(L, "rand", _fake(L, "rand"))
        monkeypatch.setattr(L, "randn", _fake(L, "randn"))
    for mod in ("normal", "lowrank_multivariate_normal"):
        for L in (ember, torch):
            monkeypatch.setattr(getattr(D(L), mod), "_standard_normal",
                                lambda shape, dtype, device, L=L: _fake(L, "randn")(
                                    shape, dtype=dtype))
    draws = []

    def record(alpha):
        out = _implicit.standard_gamma(alpha)
        draws.append(host(out.detach()))
        return out
    monkeypatch.setattr(ember.distributions.gamma, "standard_gamma", record)
    ep, tp = _p(ember, arrays), _p(torch, arrays)
    es = make(ember, ep).rsample((4,))
    monkeypatch.setattr(torch.distributions.gamma, "_standard_gamma", _replay(draws))
    td = make(torch, tp)
    # torch 2.13's Wishart.rsample cannot backward (its resampling writes in place into a mask
    # autograd saved): its Bartlett step can. rsample draws twice (its first singularity test
    # is support.check itself) and keeps the second draw, as ember's does
    if name == "wishart":
        td._bartlett_sampling(torch.Size((4,)))
        ts = td._bartlett_sampling(torch.Size((4,)))
    else:
        ts = td.rsample((4,))
    assert_close(es, ts, rtol=1e-9, atol=1e-9)
    w = _R.normal(size=tuple(ts.shape))
    (ts * torch.tensor(w)).sum().backward()
    (es * ember.tensor(w)).sum().backward()
    for e, t in zip(ep, tp):
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert_close(e.grad, t.grad, rtol=1e-7, atol=1e-9)


def test_lkj_and_wishart_samples_follow_the_distribution():
    """LKJCholesky: torch's onion sampler, checked against torch's samples (its marginals of
    the entries below row 1 are wider than the LKJ Beta marginal, as torch's are)."""
    ember.manual_seed(0)
    torch.manual_seed(0)
    eta = ember.tensor([0.5, 4.0])
    L = D(ember).LKJCholesky(3, eta).sample((20000,))
    assert tuple(L.shape) == (20000, 2, 3, 3)
    assert bool(D(ember).constraints.corr_cholesky.check(L).all())
    r = host(L @ L.mT)[..., [1, 2, 2], [0, 0, 1]]
    tL = D(torch).LKJCholesky(3, torch.tensor([0.5, 4.0])).sample((20000,))
    want = (tL @ tL.mT)[..., [1, 2, 2], [0, 0, 1]].numpy()
    np.testing.assert_allclose(r.mean(0), 0.0, atol=0.02)
    np.testing.assert_allclose(r.var(0), want.var(0), rtol=0.06)
    np.testing.assert_allclose(r[:, :, 0].var(0), 1 / (2 * host(eta) + 2), rtol=0.05)
    lp = D(ember).LKJCholesky(3, eta).log_prob(L[:3])
    want = D(torch).LKJCholesky(3, torch.tensor([0.5, 4.0])).log_prob(torch.tensor(host(L[:3])))
    assert_close(lp, want, rtol=1e-5, atol=1e-5)
    cov = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 0.8]])
    w = D(ember).Wishart(ember.tensor(5.0, dtype=ember.float64), ember.tensor(cov))
    s = host(w.sample((20000,)))
    z = (s.mean(0) - host(w.mean)) / np.sqrt(host(w.variance) / len(s))
    assert (np.abs(z) < 4).all(), z
    np.testing.assert_allclose(s.var(0), host(w.variance), rtol=0.08)


def test_set_default_validate_args_like_torch():
    for L in (torch, ember):
        with pytest.raises(ValueError):
            D(L).Distribution.set_default_validate_args(2)
    try:
        D(ember).Distribution.set_default_validate_args(False)
        d = D(ember).Kumaraswamy(-1.0, 1.0)
        assert not d._validate_args
        D(ember).Wishart(3.0, scale_tril=ember.tensor([[1.0, 1.0], [0.0, 1.0]]))  # unchecked
    finally:
        D(ember).Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D(ember).Kumaraswamy(-1.0, 1.0)


@pytest.mark.parametrize("bad", [
    lambda L: D(L).ContinuousBernoulli(L.tensor(1.5), validate_args=True),
    lambda L: D(L).ContinuousBernoulli(L.tensor(0.3)).log_prob(L.tensor(1.5)),
    lambda L: D(L).ContinuousBernoulli(),
    lambda L: D(L).FisherSnedecor(-1.0, 1.0),
    lambda L: D(L).FisherSnedecor(1.0, 1.0).log_prob(L.tensor(-1.0)),
    lambda L: D(L).InverseGamma(1.0, -1.0),
    lambda L: D(L).InverseGamma(1.0, 1.0).log_prob(L.tensor(-1.0)),
    lambda L: D(L).Kumaraswamy(1.0, 0.0),
    lambda L: D(L).Kumaraswamy(1.0, 1.0).log_prob(L.tensor(1.5)),
    lambda L: D(L).GeneralizedPareto(0.0, -1.0, 0.0),
    lambda L: D(L).GeneralizedPareto(0.0, 1.0, -0.5).log_prob(L.tensor(3.0)),
    lambda L: D(L).NegativeBinomial(L.tensor(-1.0), probs=L.tensor(0.5)),
    lambda L: D(L).NegativeBinomial(2.0, probs=L.tensor(1.0)),
    lambda L: D(L).NegativeBinomial(2.0, logits=L.tensor(0.3)).log_prob(L.tensor(1.5)),
    lambda L: D(L).NegativeBinomial(2.0),
    lambda L: D(L).LogisticNormal(0.0, -1.0),
    lambda L: D(L).LogisticNormal(L.zeros(2), 1.0).log_prob(L.tensor([0.5, 0.6, 0.1])),
    lambda L: D(L).LowRankMultivariateNormal(L.tensor(0.0), L.ones(1, 1), L.ones(1)),
    lambda L: D(L).LowRankMultivariateNormal(L.zeros(2), L.ones(2), L.ones(2)),
    lambda L: D(L).LowRankMultivariateNormal(L.zeros(2), L.ones(3, 1), L.ones(2)),
    lambda L: D(L).LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1), L.ones(3)),
    lambda L: D(L).LowRankMultivariateNormal(L.zeros(3, 2), L.ones(2, 2, 1), L.ones(2)),
    lambda L: D(L).LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1), -L.ones(2)),
    lambda L: D(L).Wishart(3.0),
    lambda L: D(L).Wishart(3.0, L.eye(2), scale_tril=L.eye(2)),
    lambda L: D(L).Wishart(0.5, L.eye(2)),
    lambda L: D(L).Wishart(3.0, L.ones(2)),
    lambda L: D(L).Wishart(3.0, L.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda L: D(L).Wishart(L.tensor([3.0, 4.0]), scale_tril=L.tensor([[1.0, 1.0], [0., 1.]])),
    lambda L: D(L).Wishart(3.0, L.eye(2)).log_prob(-L.eye(2)),
    lambda L: D(L).LKJCholesky(1, 1.0),
    lambda L: D(L).LKJCholesky(2, -1.0),
    lambda L: D(L).LKJCholesky(2, 1.0).log_prob(L.eye(2) * 2),
    lambda L: D(L).kl_divergence(D(L).Bernoulli(L.tensor(0.5)), D(L).Gamma(1.0, 1.0)),
    lambda L: D(L).kl_divergence(D(L).LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1),
                                                                L.ones(2)),
                                 D(L).MultivariateNormal(L.zeros(3), L.eye(3))),
    lambda L: D(L).transforms.CatTransform([D(L).transforms.ExpTransform()], 0, [1, 2]),
    lambda L: D(L).transforms.CatTransform([D(L).transforms.ExpTransform()], 0, [2])(
        L.zeros(3)),
    lambda L: D(L).transforms.StackTransform([D(L).transforms.ExpTransform()], 1)(
        L.zeros(2, 2)),
    lambda L: D(L).transforms.StackTransform([D(L).transforms.ExpTransform()], 3)(L.zeros(2)),
    lambda L: D(L).transforms.CorrCholeskyTransform().forward_shape((4,)),
    lambda L: D(L).transforms.CorrCholeskyTransform().inverse_shape((2, 3)),
])
def test_validation_errors_like_torch(bad):
    with pytest.raises(Exception) as want:
        bad(torch)
    with pytest.raises(Exception) as got:       # (LinAlgError: ember's class of that name)
        bad(ember)
    assert type(got.value).__name__.lstrip("_") == want.type.__name__.lstrip("_")
    assert str(got.value) == str(want.value)


def test_new_distributions_work_on_the_mock_device():
    def t(a):
        return ember.tensor(np.asarray(a, dtype=np.float64), device="mock", requires_grad=True)
    ember.manual_seed(0)
    p, conc, loc, scale = t([0.2, 0.6]), t([1.5, 3.0]), t([0.1, -0.2]), t([1.0, 2.0])
    W, cov = t(_R.normal(size=(2, 1))), t(COV[0][:2, :2])
    Dm = D(ember)
    outs = [Dm.ContinuousBernoulli(p).rsample((3,)), Dm.FisherSnedecor(conc, conc).rsample(),
            Dm.InverseGamma(conc, scale).rsample(), Dm.Kumaraswamy(conc, scale).rsample(),
            Dm.GeneralizedPareto(loc, scale, loc).rsample(),
            Dm.NegativeBinomial(conc, p).log_prob(Dm.NegativeBinomial(conc, p).sample()),
            Dm.LogisticNormal(loc, scale).rsample(),
            Dm.LowRankMultivariateNormal(loc, W, scale).rsample((2,)),
            Dm.Wishart(conc + 2, cov).rsample(), Dm.Wishart(conc + 2, cov).entropy(),
            Dm.LKJCholesky(2, conc).log_prob(Dm.LKJCholesky(2, conc).sample()),
            Dm.kl_divergence(Dm.Wishart(conc + 2, cov), Dm.Wishart(conc + 3, cov)),
            Dm.kl_divergence(Dm.Beta(conc, scale), Dm.Normal(loc, scale)),
            Dm.biject_to(Dm.constraints.corr_cholesky)(loc[:1])]
    for o in outs:
        assert o.device.type == "mock"
    sum(o.sum() for o in outs if o.requires_grad).backward()
    for leaf in (p, conc, loc, scale, W, cov):
        assert leaf.grad.device.type == "mock" and bool(leaf.grad.isfinite().all())
