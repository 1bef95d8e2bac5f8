"""Ordinary PyTorch programs, round 32 (distributions' rarer families, their printing, moments,
entropies and transforms; parametrizations' caching and transfer; pruning containers and global
pruning; rnn utilities' unpadding and left padding; samplers and loaders' edge cases; complex
printing and autograd; linalg's singular and empty inputs; ops' named tuples; state_dict round
trips of modules with buffers) run under ember and torch from the same seed: everything they
record must agree (the harness is rounds 17, 18 and 26's)."""
import collections

from probe_registry import Programs, log_outcome as _err
from test_probe17_programs import _module
from test_probe18_programs import _check

PROGRAMS = Programs()

program = PROGRAMS.always     # (every warning given each time)

_TRAIN = 1e-4

# ---- distributions --------------------------------------------------------------------------

@program(tol=1e-6)
def dist_rare_families_moments_and_entropy(torch, log):
    D = torch.distributions
    dists = [
        D.Kumaraswamy(torch.tensor([2.0, 0.5]), torch.tensor([3.0, 1.5])),
        D.ContinuousBernoulli(probs=torch.tensor([0.2, 0.5, 0.9])),
        D.VonMises(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 0.5])),
        D.FisherSnedecor(torch.tensor([3.0, 5.0]), torch.tensor([6.0, 10.0])),
        D.Weibull(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 0.7])),
        D.HalfCauchy(torch.tensor([1.0, 3.0])),
        D.InverseGamma(torch.tensor([3.0, 4.0]), torch.tensor([2.0, 1.0])),
        D.Chi2(torch.tensor([3.0, 7.0])),
        D.Gumbel(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0])),
        D.Pareto(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])),
    ]
    for d in dists:
        name = type(d).__name__
        for attr in ("mean", "variance", "mode", "stddev"):
            try:
                log(name, attr, getattr(d, attr))
            except Exception as e:
                log(name, attr, "raised", type(e).__name__, str(e))
        try:
            log(name, "entropy", d.entropy())
        except Exception as e:
            log(name, "entropy raised", type(e).__name__, str(e))
        log(name, d.has_rsample, d.batch_shape, d.event_shape, str(d.support))


@program(tol=1e-5)
def dist_rare_families_seeded_sampling(torch, log):
    D = torch.distributions
    torch.manual_seed(3)
    log(D.Kumaraswamy(torch.tensor(2.0), torch.tensor(3.0)).sample((4,)))
    log(D.ContinuousBernoulli(probs=torch.tensor(0.3)).sample((4,)))
    log(D.Weibull(torch.tensor(1.0), torch.tensor(1.5)).sample((3,)))
    log(D.Gumbel(torch.tensor(0.0), torch.tensor(1.0)).rsample((3,)))
    log(D.HalfCauchy(torch.tensor(2.0)).sample((3,)))
    log(D.Pareto(torch.tensor(1.0), torch.tensor(3.0)).sample((3,)))
    log(D.Geometric(probs=torch.tensor(0.3)).sample((5,)))
    log(D.Laplace(torch.tensor(0.0), torch.tensor(1.0)).sample((3,)))
    log(D.Cauchy(torch.tensor(0.0), torch.tensor(1.0)).sample((3,)))
    log(D.LogNormal(torch.tensor(0.0), torch.tensor(0.5)).sample((3,)))
    log(D.Uniform(torch.tensor(-1.0), torch.tensor(1.0)).sample((3,)))
    log(D.Exponential(torch.tensor(2.0)).sample((3,)))


@program(tol=1e-6)
def dist_log_prob_cdf_icdf_grid(torch, log):
    D = torch.distributions
    x = torch.tensor([0.1, 0.5, 0.9])
    for d in (D.Kumaraswamy(torch.tensor(2.0), torch.tensor(3.0)),
              D.ContinuousBernoulli(probs=torch.tensor(0.3)),
              D.Beta(torch.tensor(2.0), torch.tensor(5.0)),
              D.Uniform(0.0, 1.0), D.Exponential(torch.tensor(1.5)),
              D.Laplace(0.0, 1.0), D.Cauchy(0.0, 1.0), D.Gumbel(0.0, 1.0),
              D.HalfNormal(torch.tensor(1.0)), D.LogNormal(0.0, 1.0)):
        name = type(d).__name__
        log(name, d.log_prob(x))
        for meth in ("cdf", "icdf"):
            try:
                log(name, meth, getattr(d, meth)(x))
            except Exception as e:
                log(name, meth, "raised", type(e).__name__, str(e))


@program()
def dist_reprs_and_support_printing(torch, log):
    D = torch.distributions
    print(D.Normal(torch.zeros(2), torch.ones(2)))
    print(D.Normal(0.0, 1.0))
    print(D.Categorical(probs=torch.tensor([0.25, 0.75])))
    print(D.Categorical(logits=torch.zeros(2, 3)))
    print(D.Bernoulli(logits=torch.tensor([0.0, 1.0])))
    print(D.MultivariateNormal(torch.zeros(2), torch.eye(2)))
    print(D.Independent(D.Normal(torch.zeros(3, 2), torch.ones(3, 2)), 1))
    print(D.Binomial(10, torch.tensor([0.5, 0.2])))
    print(D.Dirichlet(torch.ones(3)))
    print(D.Uniform(torch.tensor([0.0]), torch.tensor([2.0])))
    print(D.Gamma(2.0, 3.0))
    print(D.StudentT(3.0))
    print(D.OneHotCategorical(probs=torch.tensor([0.5, 0.5])))
    print(D.LowRankMultivariateNormal(torch.zeros(3), torch.ones(3, 1), torch.ones(3)))
    for d in (D.Normal(0.0, 1.0), D.Beta(1.0, 1.0), D.Categorical(torch.ones(3)),
              D.Binomial(5, torch.tensor(0.5)), D.Dirichlet(torch.ones(2)),
              D.Uniform(0.0, 2.0), D.MultivariateNormal(torch.zeros(2), torch.eye(2)),
              D.Poisson(torch.tensor(1.0)), D.Multinomial(3, torch.ones(2))):
        print(type(d).__name__, d.support, repr(d.support))
    print(D.constraints.real_vector, D.constraints.lower_cholesky, D.constraints.nonnegative,
          D.constraints.greater_than(2.0), D.constraints.half_open_interval(0.0, 1.0),
          D.constraints.cat([D.constraints.real, D.constraints.positive], 0, [1, 1]))


@program(tol=1e-5)
def dist_low_rank_mvn_and_wishart(torch, log):
    D = torch.distributions
    loc = torch.tensor([0.0, 1.0, -1.0])
    cf = torch.tensor([[1.0], [0.5], [-0.5]])
    cd = torch.tensor([1.0, 2.0, 0.5])
    lr = D.LowRankMultivariateNormal(loc, cf, cd)
    x = torch.tensor([[0.1, 0.2, 0.3], [1.0, -1.0, 0.0]])
    log(lr.log_prob(x), lr.entropy(), lr.variance, lr.covariance_matrix)
    log(lr.precision_matrix, lr.scale_tril)
    mvn = D.MultivariateNormal(loc, lr.covariance_matrix)
    log(mvn.log_prob(x), D.kl_divergence(lr, mvn), D.kl_divergence(mvn, lr))
    torch.manual_seed(1)
    log(lr.rsample((2,)))
    w = D.Wishart(df=torch.tensor(4.0), covariance_matrix=torch.eye(2) * 2)
    log(w.mean, w.variance, w.entropy(), w.log_prob(torch.eye(2) * 3))
    log(w.batch_shape, w.event_shape, w.mode)


@program(tol=1e-5)
def dist_lkj_cholesky_and_corr_transform(torch, log):
    D = torch.distributions
    lkj = D.LKJCholesky(3, concentration=torch.tensor(2.0))
    L = torch.linalg.cholesky(torch.tensor([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2],
                                            [0.1, 0.2, 1.0]]))
    log(lkj.log_prob(L), lkj.batch_shape, lkj.event_shape, str(lkj.support))
    torch.manual_seed(5)
    s = lkj.sample((2,))
    log(s.shape, torch.allclose((s @ s.mT).diagonal(dim1=-2, dim2=-1), torch.ones(2, 3)))
    t = D.transforms.CorrCholeskyTransform()
    y = t(torch.tensor([0.1, -0.2, 0.3]))
    log(y, t.inv(y), t.log_abs_det_jacobian(torch.tensor([0.1, -0.2, 0.3]), y))
    log(t.domain.event_dim, t.codomain.event_dim, str(t.codomain))
    _err(log, lambda: D.LKJCholesky(1))


@program(tol=1e-6)
def dist_transforms_softmax_stickbreaking_tanh(torch, log):
    T = torch.distributions.transforms
    x = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    sb = T.StickBreakingTransform()
    y = sb(x)
    log(y, y.sum(-1), sb.inv(y), sb.log_abs_det_jacobian(x, y))
    log(sb.forward_shape((2, 3)), sb.inverse_shape((2, 4)))
    sm = T.SoftmaxTransform()
    log(sm(x), sm.inv(sm(x)), sm.bijective, sm.sign if hasattr(sm, "sign") else None)
    th = T.TanhTransform()
    z = torch.tensor([-3.0, 0.0, 0.5, 20.0])
    log(th(z), th.inv(th(z)[:3]), th.log_abs_det_jacobian(z, th(z)))
    sg = T.SigmoidTransform()
    log(sg(z), sg.inv(sg(z)[:3]), sg.log_abs_det_jacobian(z, sg(z)))
    ab = T.AbsTransform()
    log(ab(z - 1), ab == T.AbsTransform(), ab.bijective)
    log(repr(sb), repr(T.AffineTransform(1.0, 2.0)), repr(T.ComposeTransform([sg, th])))
    log(repr(T.PowerTransform(torch.tensor(2.0))), repr(sg.inv))


@program(tol=1e-6)
def dist_reshape_stack_independent_transforms(torch, log):
    T = torch.distributions.transforms
    r = T.ReshapeTransform((2, 3), (3, 2))
    x = torch.arange(12.).reshape(2, 2, 3)
    log(r(x).shape, r.inv(r(x)).shape, r.log_abs_det_jacobian(x, r(x)))
    log(r.forward_shape((5, 2, 3)), r.inverse_shape((5, 3, 2)))
    _err(log, lambda: T.ReshapeTransform((2, 3), (4, 2)))
    st = T.StackTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], dim=1)
    y = torch.tensor([[0.0, 1.0], [1.0, 2.0]])
    log(st(y), st.inv(st(y)), st.log_abs_det_jacobian(y, st(y)))
    it = T.IndependentTransform(T.ExpTransform(), 1)
    log(it(y), it.log_abs_det_jacobian(y, it(y)), it.domain.event_dim, it.codomain.event_dim)
    log(repr(it), repr(r))
    cdt = T.CumulativeDistributionTransform(torch.distributions.Normal(0.0, 1.0))
    log(cdt(torch.tensor([0.0, 1.0])), cdt.inv(torch.tensor([0.5, 0.8413447])),
        cdt.log_abs_det_jacobian(torch.tensor([0.0, 1.0]), None))


@program(tol=1e-6)
def dist_kl_closed_forms_less_common(torch, log):
    D = torch.distributions
    kl = D.kl_divergence
    pairs = [
        (D.Beta(2.0, 3.0), D.Beta(1.0, 1.0)),
        (D.Gamma(2.0, 1.0), D.Gamma(3.0, 2.0)),
        (D.Exponential(torch.tensor(1.0)), D.Gamma(2.0, 1.0)),
        (D.Laplace(0.0, 1.0), D.Laplace(1.0, 2.0)),
        (D.Poisson(torch.tensor(2.0)), D.Poisson(torch.tensor(3.0))),
        (D.Geometric(probs=torch.tensor(0.3)), D.Geometric(probs=torch.tensor(0.5))),
        (D.Gumbel(0.0, 1.0), D.Gumbel(1.0, 2.0)),
        (D.Uniform(0.0, 1.0), D.Normal(0.0, 1.0)),
        (D.Uniform(0.0, 1.0), D.Uniform(-1.0, 2.0)),
        (D.Uniform(-1.0, 2.0), D.Uniform(0.0, 1.0)),
        (D.Dirichlet(torch.tensor([1.0, 2.0])), D.Dirichlet(torch.tensor([2.0, 2.0]))),
        (D.Binomial(5, torch.tensor(0.3)), D.Binomial(5, torch.tensor(0.6))),
        (D.Pareto(1.0, 3.0), D.Pareto(1.0, 2.0)),
        (D.HalfNormal(torch.tensor(1.0)), D.HalfNormal(torch.tensor(2.0))),
        (D.ContinuousBernoulli(probs=torch.tensor(0.3)),
         D.ContinuousBernoulli(probs=torch.tensor(0.7))),
        (D.Normal(0.0, 1.0), D.Gumbel(0.0, 1.0)),
        (D.Exponential(torch.tensor(1.0)), D.Normal(0.0, 1.0)),
    ]
    for p, q in pairs:
        try:
            log(type(p).__name__, type(q).__name__, kl(p, q))
        except Exception as e:
            log(type(p).__name__, type(q).__name__, "raised", type(e).__name__, str(e))
    _err(log, lambda: kl(D.VonMises(0.0, 1.0), D.Normal(0.0, 1.0)))


@program(tol=1e-6)
def dist_discrete_enumerate_and_multinomial(torch, log):
    D = torch.distributions
    c = D.Categorical(probs=torch.tensor([[0.2, 0.8], [0.5, 0.5]]))
    log(c.enumerate_support(), c.enumerate_support(expand=False).shape, c.param_shape)
    b = D.Bernoulli(torch.tensor([0.3, 0.6]))
    log(b.enumerate_support(), b.enumerate_support(False))
    bi = D.Binomial(3, torch.tensor([0.2, 0.9]))
    log(bi.enumerate_support().shape, bi.log_prob(torch.tensor([1.0, 3.0])), bi.mode, bi.variance)
    oh = D.OneHotCategorical(torch.tensor([0.1, 0.2, 0.7]))
    log(oh.enumerate_support(), oh.log_prob(torch.tensor([0.0, 0.0, 1.0])), oh.entropy())
    m = D.Multinomial(4, torch.tensor([0.2, 0.3, 0.5]))
    log(m.log_prob(torch.tensor([1.0, 1.0, 2.0])), m.mean, m.variance)
    torch.manual_seed(7)
    log(m.sample((3,)), c.sample((2,)), oh.sample((2,)))
    _err(log, lambda: D.Multinomial(4, torch.tensor([0.2, 0.8])).entropy())
    _err(log, lambda: D.Poisson(torch.tensor(2.0)).enumerate_support())
    nb = D.NegativeBinomial(torch.tensor(3.0), probs=torch.tensor(0.4))
    log(nb.log_prob(torch.tensor([0.0, 2.0, 5.0])), nb.mean, nb.variance, nb.mode)
    log(D.Categorical(torch.tensor([0.1, 0.9])).perplexity())


@program(tol=1e-6)
def dist_relaxed_and_straight_through(torch, log):
    D = torch.distributions
    torch.manual_seed(11)
    r = D.RelaxedOneHotCategorical(torch.tensor(0.5), probs=torch.tensor([0.2, 0.3, 0.5]))
    s = r.rsample((2,))
    log(s, s.sum(-1), r.log_prob(s), r.temperature, str(r.support))
    rb = D.RelaxedBernoulli(torch.tensor(0.3), logits=torch.tensor([0.0, 1.0]))
    s2 = rb.rsample()
    log(s2, rb.log_prob(s2), rb.temperature)
    st = D.OneHotCategoricalStraightThrough(logits=torch.zeros(3, requires_grad=True))
    smp = st.rsample((2,))
    log(smp, smp.requires_grad, st.has_rsample)
    (smp * torch.arange(3.)).sum().backward()
    log(st.logits.grad)
    lrb = D.relaxed_bernoulli.LogitRelaxedBernoulli(torch.tensor(1.0), probs=torch.tensor(0.25))
    log(lrb.log_prob(torch.tensor([0.0, 1.0])), lrb.logits, lrb.probs)


@program()
def dist_arg_validation_messages(torch, log):
    D = torch.distributions
    _err(log, lambda: D.Normal(torch.tensor([0.0]), torch.tensor([-1.0])))
    _err(log, lambda: D.Beta(torch.tensor(0.0), torch.tensor(1.0)))
    _err(log, lambda: D.Categorical(probs=torch.tensor([0.5, -0.5])))
    _err(log, lambda: D.Bernoulli(probs=torch.tensor(0.5), logits=torch.tensor(0.0)))
    _err(log, lambda: D.Bernoulli())
    _err(log, lambda: D.Normal(0.0, 1.0).log_prob(torch.tensor("a" == "a")))
    _err(log, lambda: D.Exponential(torch.tensor(1.0)).log_prob(torch.tensor(-1.0)))
    _err(log, lambda: D.Normal(torch.zeros(2), torch.ones(3)))
    _err(log, lambda: D.MultivariateNormal(torch.zeros(2)))
    _err(log, lambda: str(D.MultivariateNormal(torch.zeros(2), torch.eye(3)).event_shape))
    _err(log, lambda: D.Normal(0.0, 1.0).sample(3))
    _err(log, lambda: D.Binomial(torch.tensor(-1.0), torch.tensor(0.5)))
    _err(log, lambda: D.Uniform(1.0, 0.0))
    _err(log, lambda: D.Categorical(torch.tensor(1.0)))
    d = D.Normal(0.0, 1.0, validate_args=False)
    log(d.log_prob(torch.tensor(float("nan"))), D.Distribution._validate_args)

# ---- parametrizations and pruning -------------------------------------------------------------

@program(tol=1e-5)
def parametrize_cached_context_and_type_before(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrize
    calls = []

    class Scale(nn.Module):
        def forward(self, w):
            calls.append(1)
            return w * 2

    m = nn.Linear(3, 2)
    P.register_parametrization(m, "weight", Scale())
    x = torch.ones(1, 3)
    with P.cached():
        a = m(x)
        b = m(x)
        w1 = m.weight
        log(m.weight is w1)
    log(len(calls), torch.equal(a, b), m.weight is w1)
    log(type(m).__name__, P.type_before_parametrizations(m).__name__,
        P.is_parametrized(m), P.is_parametrized(m, "weight"), P.is_parametrized(m, "bias"))
    log(sorted(k for k, _ in m.named_parameters()), list(m.state_dict()))
    print(m)
    print(m.parametrizations)
    print(m.parametrizations.weight)
    log(m.parametrizations.weight.original.shape, type(m.parametrizations.weight).__name__)


@program(tol=1e-5)
def parametrize_transfer_and_remove_keep_false(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrize

    class Sym(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

    a = nn.Linear(3, 3)
    P.register_parametrization(a, "weight", Sym())
    b = nn.Linear(3, 3)
    P.transfer_parametrizations_and_params(a, b)
    log(P.is_parametrized(b, "weight"), torch.equal(a.weight, b.weight),
        torch.equal(b.weight, b.weight.T))
    log(b.parametrizations.weight.original is a.parametrizations.weight.original)
    P.remove_parametrizations(a, "weight", leave_parametrized=False)
    log(type(a).__name__, torch.equal(a.weight, a.weight.T), isinstance(a.weight, nn.Parameter))
    _err(log, lambda: P.remove_parametrizations(a, "weight"))
    P.remove_parametrizations(b, "weight")
    log(type(b).__name__, torch.equal(b.weight, b.weight.T), sorted(b.state_dict()))
    c = nn.Linear(2, 2)
    _err(log, lambda: P.register_parametrization(c, "nope", Sym()))
    _err(log, lambda: P.register_parametrization(c, "bias", Sym()))


@program(tol=1e-4)
def orthogonal_maps_on_rectangular_and_complex(torch, log):
    nn, orth = torch.nn, torch.nn.utils.parametrizations.orthogonal
    for mp in ("matrix_exp", "cayley", "householder"):
        m = orth(nn.Linear(5, 3), orthogonal_map=mp)
        W = m.weight
        log(mp, W.shape, torch.allclose(W @ W.T, torch.eye(3), atol=1e-5))
        log(str(m.parametrizations.weight[0].orthogonal_map), m.parametrizations.weight[0].shape)
    lin = nn.Linear(3, 3, bias=False, dtype=torch.complex64)
    m = orth(lin)
    W = m.weight
    log(W.dtype, torch.allclose(W @ W.mH, torch.eye(3, dtype=torch.complex64), atol=1e-5))
    _err(log, lambda: orth(nn.Linear(3, 3), orthogonal_map="nope"))
    _err(log, lambda: orth(nn.Linear(3, 3), name="missing"))
    e = orth(nn.Embedding(4, 4), use_trivialization=False)
    log(torch.allclose(e.weight @ e.weight.T, torch.eye(4), atol=1e-5))
    print(e)


@program(tol=1e-5)
def spectral_norm_param_on_conv_and_eval(torch, log):
    nn = torch.nn
    sn = torch.nn.utils.parametrizations.spectral_norm
    c = sn(nn.Conv2d(2, 3, 3), n_power_iterations=3)
    p = c.parametrizations.weight[0]
    log(p.n_power_iterations, p.dim, p.eps, p._u.shape, p._v.shape)
    log(sorted(c.state_dict()))
    x = torch.randn(1, 2, 5, 5)
    y1 = c(x)
    c.eval()
    y2 = c(x)
    log(torch.allclose(y1, y2, atol=1e-4), y1.shape)
    sig = torch.linalg.matrix_norm(c.weight.flatten(1), 2)
    log(sig)
    ct = sn(nn.ConvTranspose2d(2, 3, 3))
    log(ct.parametrizations.weight[0].dim, ct.parametrizations.weight[0]._u.shape)
    _err(log, lambda: sn(nn.Linear(3, 3), n_power_iterations=0))
    print(c)


@program(tol=1e-5)
def weight_norm_param_dims_and_state_dict(torch, log):
    nn = torch.nn
    wn = torch.nn.utils.parametrizations.weight_norm
    m = wn(nn.Linear(4, 3))
    log(sorted(m.state_dict()), m.parametrizations.weight.original0.shape,
        m.parametrizations.weight.original1.shape)
    m2 = wn(nn.Linear(4, 3), dim=None)
    log(m2.parametrizations.weight.original0.shape, m2.parametrizations.weight.original0)
    m3 = wn(nn.Conv1d(2, 4, 3), dim=1)
    log(m3.parametrizations.weight.original0.shape)
    sd = m.state_dict()
    fresh = wn(nn.Linear(4, 3))
    log(fresh.load_state_dict(sd))
    log(torch.equal(fresh.weight, m.weight))
    old = nn.Linear(4, 3)
    _err(log, lambda: old.load_state_dict(sd))
    print(m.parametrizations.weight)


@program()
def prune_global_and_structured(torch, log):
    nn, prune = torch.nn, _module(torch, "nn.utils.prune")
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.arange(24.).reshape(6, 4) - 11.5)
        net[2].weight.copy_(torch.arange(12.).reshape(2, 6) * 0.5 - 3)
    prune.global_unstructured([(net[0], "weight"), (net[2], "weight")],
                              pruning_method=prune.L1Unstructured, amount=10)
    log(net[0].weight_mask.sum(), net[2].weight_mask.sum(), net[2].weight_mask)
    prune.ln_structured(net[0], "weight", amount=0.5, n=2, dim=0)
    log(net[0].weight_mask)
    hook = [h for h in net[0]._forward_pre_hooks.values()][0]
    log(type(hook).__name__, [type(p).__name__ for p in hook],
        hook._tensor_name)
    log(sorted(k for k, _ in net.named_buffers()), sorted(k for k, _ in net.named_parameters()))
    log(prune.is_pruned(net), prune.is_pruned(nn.Linear(2, 2)))
    prune.remove(net[0], "weight")
    log(sorted(net[0].state_dict()), (net[0].weight == 0).sum())
    _err(log, lambda: prune.remove(net[0], "weight"))


@program()
def prune_random_with_seed_and_amount_errors(torch, log):
    nn, prune = torch.nn, _module(torch, "nn.utils.prune")
    torch.manual_seed(4)
    m = nn.Linear(5, 4)
    prune.random_unstructured(m, "weight", amount=0.3)
    log(m.weight_mask, m.weight_mask.dtype)
    prune.random_structured(m, "weight", amount=2, dim=1)
    log(m.weight_mask)
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5))
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=-1))
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=10))
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="a"))
    _err(log, lambda: prune.ln_structured(nn.Linear(2, 2), "weight", amount=1, n=2, dim=5))
    m2 = nn.Linear(3, 2)
    prune.custom_from_mask(m2, "bias", torch.tensor([0.0, 1.0]))
    log(m2.bias_mask, m2.bias == m2.bias_orig * m2.bias_mask)
    prune.identity(m2, "weight")
    log(m2.weight_mask)
    scores = torch.tensor([[1.0, 5.0, 2.0], [4.0, 0.5, 3.0]])
    m3 = nn.Linear(3, 2)
    prune.l1_unstructured(m3, "weight", amount=2, importance_scores=scores)
    log(m3.weight_mask)


@program(tol=1e-6)
def prune_then_train_masks_gradients(torch, log):
    nn, prune = torch.nn, _module(torch, "nn.utils.prune")
    m = nn.Linear(4, 2)
    prune.l1_unstructured(m, "weight", amount=0.5)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    for _ in range(3):
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        log(loss, (m.weight == 0).sum(), m.weight_orig.grad * (1 - m.weight_mask))
    log(m.weight.grad_fn.name(), m.weight.is_leaf)
    prune.l1_unstructured(m, "weight", amount=0.25)
    log(m.weight_mask.sum())

# ---- nn.utils.rnn -----------------------------------------------------------------------------

@program()
def rnn_unpad_unpack_and_left_padding(torch, log):
    R = torch.nn.utils.rnn
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
    p = R.pad_sequence(seqs, batch_first=True, padding_value=-1)
    log(p, p.stride())
    pl = R.pad_sequence(seqs, batch_first=True, padding_side="left")
    log(pl)
    pt = R.pad_sequence(seqs)
    log(pt.shape, pt.stride())
    lengths = torch.tensor([3, 1, 2])
    log([t.tolist() for t in R.unpad_sequence(p, lengths, batch_first=True)])
    log([t.tolist() for t in R.unpad_sequence(pt, lengths)])
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    log([t.tolist() for t in R.unpack_sequence(packed)])
    print(packed)
    out, lens = R.pad_packed_sequence(packed, batch_first=True, padding_value=9, total_length=5)
    log(out, lens)
    _err(log, lambda: R.pad_packed_sequence(packed, total_length=2))
    _err(log, lambda: R.pad_sequence(seqs, padding_side="middle"))
    _err(log, lambda: R.pad_sequence([]))
    log(R.pad_sequence([torch.ones(2, 3), torch.ones(1, 3)]).shape)


@program()
def packed_sequence_printing_and_fields(torch, log):
    R = torch.nn.utils.rnn
    x = torch.arange(12.).reshape(4, 3, 1)
    ps = R.pack_padded_sequence(x, torch.tensor([4, 2, 1]))
    print(ps)
    log(ps.data.shape, ps.batch_sizes, ps.sorted_indices, ps.unsorted_indices)
    log(ps._fields, len(ps), ps[1], ps.is_cuda)
    ps2 = R.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    print(ps2)
    log(type(ps2).__name__, isinstance(ps2, tuple), ps2.sorted_indices.dtype)
    d, bs, si, ui = ps2
    log(d.flatten(), bs, si, ui)
    _err(log, lambda: R.pack_padded_sequence(x, [2, 4, 1]))
    _err(log, lambda: R.pack_padded_sequence(x, [3, 0, 1], enforce_sorted=False))
    _err(log, lambda: R.pack_padded_sequence(x, torch.tensor([[3, 2, 1]])))
    h = ps2.to(torch.float64)
    log(h.data.dtype, h.batch_sizes.dtype, ps2.double().data.dtype, ps2.long().data.dtype)


@program(tol=1e-5)
def gru_over_packed_with_initial_state_and_sort(torch, log):
    nn, R = torch.nn, torch.nn.utils.rnn
    gru = nn.GRU(2, 3, num_layers=2, batch_first=True)
    x = torch.randn(3, 4, 2)
    lengths = torch.tensor([2, 4, 3])
    h0 = torch.randn(2, 3, 3)
    packed = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, hn = gru(packed, h0)
    padded, lens = R.pad_packed_sequence(out, batch_first=True)
    log(padded.shape, lens, hn.shape)
    for i, L in enumerate(lengths.tolist()):
        o_i, h_i = gru(x[i:i + 1, :L], h0[:, i:i + 1])
        log(torch.allclose(o_i[0], padded[i, :L], atol=1e-6),
            torch.allclose(h_i[:, 0], hn[:, i], atol=1e-6))
    log(padded[0, 2:], hn)


# ---- torch.utils.data ---------------------------------------------------------------------------

@program()
def samplers_lengths_and_iteration_edges(torch, log):
    data = torch.utils.data
    ds = data.TensorDataset(torch.arange(10.), torch.arange(10) % 3)
    g = torch.Generator().manual_seed(42)
    rs = data.RandomSampler(ds, replacement=True, num_samples=15, generator=g)
    log(len(rs), list(rs))
    rs2 = data.RandomSampler(ds, num_samples=13, generator=torch.Generator().manual_seed(1))
    log(len(rs2), list(rs2))
    _err(log, lambda: data.RandomSampler(ds, num_samples=0))
    _err(log, lambda: data.RandomSampler(ds, replacement=1))
    bs = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
    log(len(bs), list(bs), len(data.BatchSampler(range(7), 3, True)))
    _err(log, lambda: data.BatchSampler(range(7), 0, False))
    _err(log, lambda: data.BatchSampler(range(7), 2, "no"))
    wr = data.WeightedRandomSampler([0.1, 0.0, 0.9], 6, generator=torch.Generator().manual_seed(3))
    log(list(wr), len(wr))
    _err(log, lambda: data.WeightedRandomSampler([0.1, 0.2], 0))
    _err(log, lambda: data.WeightedRandomSampler([[0.1, 0.2]], 2))
    srs = data.SubsetRandomSampler([5, 6, 7, 8], generator=torch.Generator().manual_seed(9))
    log(list(srs), len(srs))


@program()
def dataloader_iterable_dataset_and_lengths(torch, log):
    data = torch.utils.data

    class Stream(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    dl = data.DataLoader(Stream(7), batch_size=3)
    log([b.tolist() for b in dl])
    dl2 = data.DataLoader(Stream(7), batch_size=3, drop_last=True)
    log([b.tolist() for b in dl2])
    _err(log, lambda: len(dl))
    _err(log, lambda: data.DataLoader(Stream(3), shuffle=True))
    _err(log, lambda: data.DataLoader(Stream(3), sampler=[0, 1]))
    _err(log, lambda: data.DataLoader(Stream(3), batch_sampler=[[0]]))

    class Sized(Stream):
        def __len__(self):
            return self.n
    log(len(data.DataLoader(Sized(7), batch_size=3)),
        len(data.DataLoader(Sized(7), batch_size=3, drop_last=True)))
    chained = data.ChainDataset([Stream(2), Stream(3)])
    log(list(chained), [b.tolist() for b in data.DataLoader(chained, batch_size=2)])
    log(data.get_worker_info())
    dl3 = data.DataLoader(Stream(4), batch_size=None)
    log([type(b).__name__ for b in dl3], list(dl3))


@program()
def default_collate_and_convert_edge_types(torch, log):
    import numpy as np
    data = torch.utils.data
    dc, cv = data.default_collate, data.default_convert
    log(dc([1.5, 2.5]), dc([True, False]), dc([np.int32(1), np.int32(2)]))
    log(dc([np.array([1, 2]), np.array([3, 4])]), dc([np.float64(1.0)]))
    log(dc(["a", "b"]), dc([b"x", b"y"]), dc([(1, "a"), (2, "b")]))
    log(dc([{"x": torch.ones(2), "y": [1, 2]}, {"x": torch.zeros(2), "y": [3, 4]}]))
    _err(log, lambda: dc([{"x": 1}, {"y": 2}]))
    _err(log, lambda: dc([[1, 2], [3]]))
    _err(log, lambda: dc([object(), object()]) and None)
    _err(log, lambda: dc([np.array(["a"]), np.array(["b"])]))
    _err(log, lambda: dc([torch.ones(2), torch.ones(3)]))
    log(cv(np.arange(3)), cv({"a": np.float32(2.0)}), cv([np.array(1.0), 2]))
    Pair = collections.namedtuple("Pair", "a b")
    out = dc([Pair(1, torch.ones(1)), Pair(2, torch.zeros(1))])
    log(type(out).__name__, out)
    log(cv(Pair(np.ones(1), 3)))
    log(dc([torch.tensor(1, dtype=torch.int8), torch.tensor(2, dtype=torch.int8)]))


@program()
def random_split_errors_and_subset_views(torch, log):
    data = torch.utils.data
    ds = data.TensorDataset(torch.arange(10))
    g = torch.Generator().manual_seed(0)
    a, b, c = data.random_split(ds, [0.5, 0.3, 0.2], generator=g)
    log(a.indices, b.indices, c.indices, type(a.indices).__name__)
    _err(log, lambda: data.random_split(ds, [5, 6]))
    _err(log, lambda: data.random_split(ds, [0.5, 0.6]))
    _err(log, lambda: data.random_split(ds, [-0.1, 1.1]))
    parts = data.random_split(range(5), [0.33, 0.33, 0.34],
                              generator=torch.Generator().manual_seed(2))
    log([list(p) for p in parts])
    sub = data.Subset(ds, [1, 3, 5])
    log(sub[0], sub[[0, 2]], len(sub))
    log(sub.__getitems__([0, 1]))
    st = data.StackDataset(ds, torch.arange(10) * 2)
    log(st[3], len(st))
    sd = data.StackDataset(x=ds, y=range(10))
    log(sd[2])
    _err(log, lambda: data.StackDataset(ds, range(3)))
    _err(log, lambda: data.TensorDataset(torch.ones(3), torch.ones(4)))
    cat = data.ConcatDataset([range(3), range(10, 12)])
    log(len(cat), cat[3], cat[-1], cat.cumulative_sizes)
    _err(log, lambda: cat[5])
    _err(log, lambda: cat[-6])

# ---- complex tensors ---------------------------------------------------------------------------

@program()
def complex_printing_scales_and_sci_mode(torch, log):
    print(torch.tensor([1e-5 + 2j, 3.5 - 1e5j]))
    print(torch.tensor([[1 + 1j, -2.25 - 0.5j], [0j, 1e-9j]]))
    print(torch.tensor([complex(float("inf"), 1), complex(0, float("nan"))]))
    print(torch.tensor([1 + 2j], dtype=torch.complex128))
    print(torch.tensor(3 - 4j))
    print(torch.tensor([123456789 + 1j]))
    print(torch.zeros(2, 0, dtype=torch.cfloat))
    print(torch.tensor([0.1 + 0.2j, 0.3 + 0.4j], requires_grad=True))
    print(torch.arange(4.).view(2, 2).to(torch.complex64) * 1j)
    torch.set_printoptions(precision=2)
    print(torch.tensor([1.23456 + 6.54321j]))
    torch.set_printoptions(sci_mode=True)
    print(torch.tensor([1.5 + 2j]))
    torch.set_printoptions(profile="default")
    print(torch.tensor([1.5 + 2j]).conj(), torch.tensor([1.5 + 2j]).conj().is_conj())


@program()
def complex_angle_polar_sgn_and_real_views(torch, log):
    x = torch.tensor([1.0, -1.0, 0.0, -0.0, float("nan"), float("inf")])
    log(torch.angle(x), x.angle().dtype)
    log(torch.angle(torch.tensor([1, -2, 0])), torch.angle(torch.tensor([1, -2])).dtype)
    z = torch.tensor([1 + 1j, -1 - 1j, 0j, -0.0 + 0j])
    log(z.angle(), z.sgn(), z.abs())
    p = torch.polar(torch.tensor([1.0, 2.0]), torch.tensor([0.0, torch.pi / 2]))
    log(p, p.dtype)
    _err(log, lambda: torch.polar(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64)))
    _err(log, lambda: torch.polar(torch.tensor([1]), torch.tensor([1])))
    r = torch.view_as_real(z)
    log(r.shape, r.stride(), r.dtype)
    _err(log, lambda: torch.view_as_real(z.conj()))
    _err(log, lambda: torch.view_as_real(torch.ones(2)))
    _err(log, lambda: torch.view_as_complex(torch.ones(3)))
    _err(log, lambda: torch.view_as_complex(torch.ones(2, 2).t()))
    _err(log, lambda: torch.view_as_complex(torch.ones(4, dtype=torch.float64)[::2]))
    vc = torch.view_as_complex(torch.arange(8.).reshape(2, 2, 2))
    log(vc, vc.stride())
    log(torch.view_as_real(z.conj().resolve_conj()))
    log(torch.complex(torch.tensor(1.0), torch.tensor(2.0)))
    _err(log, lambda: torch.complex(torch.tensor([1.0]), torch.tensor([2.0], dtype=torch.double)))
    _err(log, lambda: torch.complex(torch.tensor([1]), torch.tensor([2])))


@program(tol=1e-6)
def complex_autograd_wirtinger_and_real_loss(torch, log):
    z = torch.tensor([1 + 2j, -0.5 + 0.25j], requires_grad=True)
    (z.abs() ** 2).sum().backward()
    log(z.grad)
    z.grad = None
    (z * z.conj()).real.sum().backward()
    log(z.grad)
    z.grad = None
    torch.view_as_real(z * (2 - 1j)).pow(2).sum().backward()
    log(z.grad)
    z.grad = None
    z.angle().sum().backward()
    log(z.grad)
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.complex(w, w * 2)
    c.abs().sum().backward()
    log(w.grad)
    _err(log, lambda: (z * 2).sum().backward())
    x = torch.randn(3, 3, dtype=torch.cfloat, requires_grad=True)
    loss = torch.linalg.matrix_norm(x @ x.mH)
    loss.backward()
    log(loss.dtype, x.grad.dtype, x.grad.shape)
    y = torch.tensor(2.0 + 0j, requires_grad=True)
    y.exp().real.backward()
    log(y.grad)


@program()
def complex_unsupported_ops_errors(torch, log):
    z = torch.tensor([1 + 2j, 3 - 1j])
    _err(log, lambda: z.max())
    _err(log, lambda: torch.sort(z))
    _err(log, lambda: z < z)
    _err(log, lambda: torch.clamp(z, 0, 1))
    _err(log, lambda: z.floor())
    _err(log, lambda: torch.topk(z, 1))
    _err(log, lambda: z.argmax())
    _err(log, lambda: torch.relu(z))
    _err(log, lambda: z % 2)
    _err(log, lambda: z.cumprod(0))
    _err(log, lambda: torch.histc(z))
    _err(log, lambda: torch.atan2(z, z))
    log(z.prod(), z.cumsum(0), z.mean(), z.sum().dtype, torch.isclose(z, z + 1e-9))
    log(z.eq(z), z == 1 + 2j, z != z, torch.isfinite(z), torch.isnan(z))
    log(z.to(torch.float32) if False else z.real.dtype, z.imag, z.is_complex(),
        torch.is_complex(z.real))
    log(torch.tensor([1 + 1j]).float() if False else torch.tensor(1j).item())


@program()
def complex_cast_warnings_and_dtype_promotion(torch, log):
    z = torch.tensor([1 + 2j])
    log(z.real.float())
    r = z.to(torch.float32)
    log(r)
    f = torch.zeros(1)
    _err(log, lambda: f.copy_(z))
    log(f)
    _err(log, lambda: f.add_(z))
    log((torch.tensor([1], dtype=torch.int32) * 1j).dtype,
        (torch.tensor([1.0], dtype=torch.float64) * 1j).dtype,
        torch.result_type(torch.tensor([1 + 1j]), torch.tensor([1.0], dtype=torch.float64)))
    log(torch.promote_types(torch.complex64, torch.float64),
        torch.promote_types(torch.complex64, torch.int64))
    log(torch.tensor([1, 2]).to(torch.complex64), torch.ones(2, dtype=torch.bool).cfloat())
    log(torch.tensor(1 + 1j).to(torch.bool), torch.tensor(0j).bool())
    _err(log, lambda: int(torch.tensor(1 + 1j)))
    _err(log, lambda: float(torch.tensor(1 + 1j)))
    log(complex(torch.tensor(1.5)), complex(torch.tensor(1 + 1j)))

# ---- torch.linalg edge cases ---------------------------------------------------------------------

@program()
def linalg_singular_input_error_messages(torch, log):
    L = torch.linalg
    S = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
    _err(log, lambda: L.inv(S))
    _err(log, lambda: torch.inverse(S))
    _err(log, lambda: L.solve(S, torch.ones(2)))
    _err(log, lambda: L.inv(torch.stack([torch.eye(2), S])))
    _err(log, lambda: L.cholesky(S))
    _err(log, lambda: L.cholesky(torch.stack([torch.eye(2), -torch.eye(2)])))
    _err(log, lambda: L.cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]])))
    _err(log, lambda: torch.cholesky_inverse(torch.ones(2, 3)))
    _err(log, lambda: L.inv(torch.zeros(3, 3)))
    _err(log, lambda: L.lu_factor(torch.zeros(2, 2)))
    _err(log, lambda: L.solve_triangular(torch.zeros(2, 2), torch.ones(2, 1), upper=True))
    log(L.solve_triangular(torch.zeros(2, 2), torch.ones(2, 1), upper=True, left=True)
        if False else "skip")
    inv, info = L.inv_ex(S)
    log(info, inv.shape)
    Lc, info = L.cholesky_ex(torch.stack([torch.eye(2), -torch.eye(2), S]))
    log(info)
    log(L.det(S), L.slogdet(S), L.matrix_rank(S), L.cond(S) if False else "")
    _err(log, lambda: L.inv(torch.ones(2, 3)))
    _err(log, lambda: L.inv(torch.ones(2)))
    _err(log, lambda: L.inv(torch.ones(2, 2, dtype=torch.int64)))
    _err(log, lambda: L.det(torch.ones(2, 2, dtype=torch.int32)))
    _err(log, lambda: L.solve(torch.eye(2), torch.ones(3)))


@program()
def linalg_batched_empty_matrices(torch, log):
    L = torch.linalg
    E = torch.empty(3, 0, 0)
    log(L.det(E), L.slogdet(E), L.inv(E).shape, L.matrix_rank(E))
    log(L.cholesky(E).shape, L.eigvalsh(E).shape, L.svdvals(E).shape)
    e = torch.empty(0, 2, 2)
    log(L.det(e), L.inv(e).shape, L.solve(e, torch.empty(0, 2)).shape)
    U, S, Vh = L.svd(torch.empty(2, 0, 3))
    log(U.shape, S.shape, Vh.shape)
    U, S, Vh = L.svd(torch.empty(2, 0, 3), full_matrices=False)
    log(U.shape, S.shape, Vh.shape)
    Q, R = L.qr(torch.empty(4, 0))
    log(Q.shape, R.shape)
    Q, R = L.qr(torch.empty(0, 4))
    log(Q.shape, R.shape)
    log(L.matrix_norm(torch.empty(0, 3)), L.norm(torch.empty(0)), L.vector_norm(torch.empty(0)))
    _err(log, lambda: L.matrix_norm(torch.empty(0, 3), ord=2))
    _err(log, lambda: L.matrix_norm(torch.empty(0, 3), ord=float("inf")))
    _err(log, lambda: L.vector_norm(torch.empty(0), ord=float("inf")))
    log(L.pinv(torch.empty(3, 0)).shape, L.matrix_exp(torch.empty(0, 0)).shape)
    log(L.lstsq(torch.empty(3, 0), torch.ones(3, 2)).solution.shape)
    log(torch.empty(0, 3) @ torch.empty(3, 2), (torch.empty(2, 0) @ torch.empty(0, 2)))
    log(L.eigh(torch.empty(0, 0)), L.eigvals(torch.empty(2, 0, 0)))
    log(L.multi_dot([torch.empty(2, 0), torch.empty(0, 3)]))


@program(tol=1e-5)
def linalg_ill_conditioned_and_rank_deficient(torch, log):
    L = torch.linalg
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    log(L.matrix_rank(A), L.matrix_rank(A, hermitian=False, atol=1.0),
        L.matrix_rank(A, rtol=0.5))
    log(L.svdvals(A)[:2], L.cond(A) > 1e6, L.cond(A, "fro") > 1e6)
    P = L.pinv(A)
    log(torch.allclose(A @ P @ A, A, atol=1e-4))
    sol = L.lstsq(A, torch.tensor([[1.0], [2.0], [3.0]]))
    log(sol.solution.shape, sol.rank, sol.residuals.shape, sol.singular_values.shape)
    sol2 = L.lstsq(A, torch.tensor([[1.0], [2.0], [3.0]]), driver="gelsd")
    log(sol2.rank, sol2.singular_values.shape, sol2.residuals)
    log(L.matrix_rank(torch.zeros(2, 2)), L.matrix_rank(torch.eye(3) * 1e-10))
    H = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    log(L.matrix_rank(H, hermitian=True), L.matrix_power(H, 0), L.matrix_power(H, -1))
    _err(log, lambda: L.matrix_power(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), -1))
    _err(log, lambda: L.lstsq(A, torch.ones(3, 1), driver="bogus"))
    _err(log, lambda: L.matrix_power(torch.ones(2, 3), 2))


@program()
def linalg_named_tuple_results_printing(torch, log):
    L = torch.linalg
    A = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
    r = L.eigh(A)
    log(type(r).__name__, len(r), r.eigenvalues)
    print(type(r))
    print(L.slogdet(A))
    print(L.qr(A))
    print(L.lu_factor(A))
    print(L.inv_ex(A))
    print(torch.max(torch.tensor([[1, 5], [7, 2]]), dim=1))
    print(torch.sort(torch.tensor([3, 1, 2])))
    print(torch.aminmax(torch.tensor([3.0, -1.0])))
    print(torch.frexp(torch.tensor([8.0, 0.3])))
    print(torch.histogram(torch.tensor([1.0, 2.0, 1.0]), bins=2))
    print(L.lstsq(A, torch.ones(2, 1)))
    m = torch.median(torch.tensor([[1, 3, 2], [6, 5, 4]]), 1)
    log(m.values, m.indices, m[0], m[-1], list(m), tuple(m))
    v, i = m
    log(v + 1, i.dtype)
    log(isinstance(m, tuple), m == (m.values, m.indices), type(m).__module__)
    print(repr(torch.topk(torch.arange(5.), 2)))
    print(torch.mode(torch.tensor([1, 1, 2])))
    print(torch.kthvalue(torch.tensor([4.0, 1.0, 3.0]), 2))
    print(torch.cummax(torch.tensor([1, 3, 2]), 0))
    print(torch.var_mean(torch.tensor([1.0, 2.0, 4.0])))
    log(str(torch.return_types.max), torch.return_types.max.n_fields
        if hasattr(torch.return_types.max, "n_fields") else None)


@program()
def named_tuples_construct_and_pickle(torch, log):
    import copy
    import pickle
    r = torch.sort(torch.tensor([3, 1, 2]), descending=True)
    r2 = pickle.loads(pickle.dumps(r))
    log(type(r2).__name__, r2.values, r2.indices)
    r3 = copy.deepcopy(r)
    log(type(r3).__name__, r3.values.data_ptr() != r.values.data_ptr())
    _err(log, lambda: setattr(r, "values", torch.ones(1)))
    log(r[0:1], r.count(r[0]) if False else 0, r[::-1][0])
    mm = torch.max(torch.tensor([[1.0, 2.0]]), 0, keepdim=True)
    log(mm.values.shape, mm.indices.shape)
    log(torch.linalg.svd(torch.eye(2)).__class__.__name__,
        torch.linalg.svd(torch.eye(2)).U.shape)


@program(xfail="ember's return types are namedtuples, built from their fields (and with _fields): "
                "torch's structseqs are built from one sequence and have no _fields")
def return_types_built_from_one_sequence(torch, log):
    t = torch.return_types.sort((torch.ones(1), torch.zeros(1, dtype=torch.long)))
    log(t.values, t.indices, type(t).__name__)
    _err(log, lambda: torch.return_types.sort((torch.ones(1),)))
    log(hasattr(t, "_fields"))

# ---- state_dict round trips of modules with buffers -------------------------------------------

@program(tol=1e-6)
def batchnorm_state_dict_variants_round_trip(torch, log):
    import io
    nn = torch.nn
    bn = nn.BatchNorm1d(3, momentum=None)
    for _ in range(3):
        bn(torch.randn(5, 3))
    sd = bn.state_dict()
    log(list(sd), sd["num_batches_tracked"], sd["running_mean"])
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    sd2 = torch.load(buf)
    bn2 = nn.BatchNorm1d(3, momentum=None)
    log(bn2.load_state_dict(sd2), torch.equal(bn2.running_var, bn.running_var))
    old = {k: v for k, v in sd.items() if k != "num_batches_tracked"}
    bn3 = nn.BatchNorm1d(3)
    log(bn3.load_state_dict(old), bn3.num_batches_tracked)
    nt = nn.BatchNorm1d(3, track_running_stats=False)
    log(list(nt.state_dict()), nt.running_mean, nt.num_batches_tracked)
    log(nt.load_state_dict(sd, strict=False))
    inn = nn.InstanceNorm1d(3, track_running_stats=True, affine=False)
    inn(torch.randn(2, 3, 4))
    log(list(inn.state_dict()), inn.running_mean, inn.num_batches_tracked)
    _err(log, lambda: nn.BatchNorm1d(4).load_state_dict(sd))
    h = bn.half()
    log(h.running_mean.dtype, h.num_batches_tracked.dtype, h.state_dict()["weight"].dtype)


@program()
def module_buffer_registration_errors_and_lookups(torch, log):
    nn = torch.nn
    m = nn.Module()
    m.register_buffer("a", torch.ones(2))
    m.register_buffer("b", None)
    m.register_buffer("c", torch.zeros(1), persistent=False)
    log(list(m.state_dict()), [n for n, _ in m.named_buffers()], m.b)
    _err(log, lambda: m.register_buffer("x.y", torch.ones(1)))
    _err(log, lambda: m.register_buffer("", torch.ones(1)))
    _err(log, lambda: m.register_buffer(3, torch.ones(1)))
    _err(log, lambda: m.register_buffer("d", [1, 2]))
    m.p = nn.Parameter(torch.ones(1))
    _err(log, lambda: m.register_buffer("p", torch.ones(1)))
    _err(log, lambda: m.register_parameter("a", nn.Parameter(torch.ones(1))))
    _err(log, lambda: setattr(m, "a", nn.Parameter(torch.ones(1))))
    m.a = torch.full((2,), 5.0)
    log(m.a, "a" in m._buffers)
    _err(log, lambda: setattr(m, "a", 3))
    seq = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    log(seq.get_buffer("1.running_mean"), seq.get_parameter("0.bias").shape,
        type(seq.get_submodule("1")).__name__)
    _err(log, lambda: seq.get_buffer("1.weight"))
    _err(log, lambda: seq.get_parameter("1.running_mean"))
    _err(log, lambda: seq.get_submodule("2"))
    _err(log, lambda: seq.get_buffer("0.nope"))
    _err(log, lambda: seq.get_submodule("0.weight"))
    del m.a
    log(list(m.state_dict()), hasattr(m, "a"))


@program(tol=1e-6)
def rnn_and_embedding_state_dicts_and_reload(torch, log):
    import io
    nn = torch.nn
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    log([(k, tuple(v.shape)) for k, v in lstm.state_dict().items()])
    emb = nn.Embedding(5, 3, padding_idx=0)
    log(emb.weight[0], list(emb.state_dict()))
    buf = io.BytesIO()
    torch.save({"lstm": lstm.state_dict(), "emb": emb.state_dict(), "step": 7}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    l2 = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    log(l2.load_state_dict(ck["lstm"]), ck["step"])
    x = torch.randn(2, 1, 3)
    log(torch.equal(l2(x)[0], lstm(x)[0]))
    _err(log, lambda: nn.LSTM(3, 4, num_layers=2).load_state_dict(ck["lstm"]))
    e2 = nn.Embedding(5, 3)
    e2.load_state_dict(ck["emb"])
    log(e2.padding_idx, torch.equal(e2.weight, emb.weight))
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=3)
    log([(k, tuple(v.shape)) for k, v in mha.state_dict().items()])


@program()
def state_dict_keep_vars_prefix_and_metadata(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.LazyLinear(3))
    sd = net.state_dict(keep_vars=True)
    log([(k, type(v).__name__, v.requires_grad) for k, v in sd.items()])
    sd2 = net.state_dict(prefix="model.")
    log(list(sd2)[:3], sd2._metadata[""], sd2._metadata.get("model.1"))
    log(sorted(sd2._metadata))
    out = collections.OrderedDict()
    r = net[1].state_dict(destination=out, prefix="bn.")
    log(r is out, list(out))
    net(torch.randn(1, 1, 5, 5))
    log(net[3].weight.shape, type(net[3]).__name__)
    _err(log, lambda: net.load_state_dict({"0.weight": torch.ones(2, 1, 3, 3)}))
    res = net.load_state_dict({"0.weight": torch.ones(2, 1, 3, 3)}, strict=False)
    log(type(res).__name__, res.missing_keys[:2], res.unexpected_keys)
    print(res)
    log(str(res) == repr(res), tuple(res)[1])


# ---- random state and generators -----------------------------------------------------------------

@program()
def generator_state_fork_and_sampling_ops(torch, log):
    g = torch.Generator().manual_seed(123)
    st = g.get_state()
    a = torch.randn(3, generator=g)
    g.set_state(st)
    b = torch.randn(3, generator=g)
    log(torch.equal(a, b), g.initial_seed(), st.dtype, st.shape)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        x = torch.rand(2)
    y = torch.rand(2)
    torch.manual_seed(0)
    log(x, y, torch.rand(2))
    log(torch.randperm(6, generator=torch.Generator().manual_seed(5)))
    log(torch.multinomial(torch.tensor([0.1, 0.0, 0.9, 0.5]), 3,
                          generator=torch.Generator().manual_seed(2)))
    _err(log, lambda: torch.multinomial(torch.tensor([0.1, 0.0, 0.9]), 3))
    _err(log, lambda: torch.multinomial(torch.tensor([0.1, -1.0]), 1))
    _err(log, lambda: torch.multinomial(torch.tensor([0.0, 0.0]), 1))
    log(torch.bernoulli(torch.tensor([0.2, 0.8, 0.5]), generator=torch.Generator().manual_seed(3)))
    log(torch.normal(torch.zeros(3), 1.0, generator=torch.Generator().manual_seed(4)))
    log(torch.normal(2.0, 3.0, size=(2,), generator=torch.Generator().manual_seed(4)))
    log(torch.randint(3, 9, (4,), generator=torch.Generator().manual_seed(8)))
    log(torch.empty(3).uniform_(-1, 1, generator=torch.Generator().manual_seed(8)))
    log(torch.empty(3).exponential_(generator=torch.Generator().manual_seed(8)))
    log(torch.empty(3).geometric_(0.3, generator=torch.Generator().manual_seed(8)))
    log(torch.empty(3).log_normal_(generator=torch.Generator().manual_seed(8)))
    log(torch.empty(3).cauchy_(generator=torch.Generator().manual_seed(8)))
    log(torch.poisson(torch.tensor([1.0, 4.0]), generator=torch.Generator().manual_seed(8)))
    print(torch.Generator().manual_seed(3).seed() > 0, torch.Generator().device)

@program()
def packed_sequence_built_by_hand(torch, log):
    R = torch.nn.utils.rnn
    PS = R.PackedSequence
    a = PS(torch.arange(3.), torch.tensor([2, 1]))
    b = PS((torch.arange(3.), torch.tensor([2, 1])))
    c = PS([torch.arange(3.), torch.tensor([2, 1])], sorted_indices=torch.tensor([1, 0]))
    print(a)
    print(b)
    print(c)
    log(R.pad_packed_sequence(c, batch_first=True))
    _err(log, lambda: PS(torch.arange(3.)))
    _err(log, lambda: PS(torch.arange(3.), [2, 1]))
    _err(log, lambda: PS((torch.arange(3.),)))
    packed = R.pack_sequence([torch.ones(2), torch.ones(3)], enforce_sorted=False)
    again = PS(*packed)
    log(again.sorted_indices, again.unsorted_indices, again == packed)
    d = PS(packed.data * 2, packed.batch_sizes, packed.sorted_indices)
    log(d.unsorted_indices, [t.tolist() for t in R.unpack_sequence(d)])


@program()
def iterable_dataset_subclasses_must_define_iter(torch, log):
    import collections.abc
    data = torch.utils.data
    _err(log, lambda: data.IterableDataset())

    class NoIter(data.IterableDataset):
        def __len__(self):
            return 3
    _err(log, lambda: NoIter())
    _err(log, lambda: data.IterableDataset() + data.IterableDataset())

    class Counter(data.IterableDataset):
        def __iter__(self):
            yield from range(3)
    log(isinstance(Counter(), collections.abc.Iterable), list(Counter() + Counter()))
    log(isinstance(data.TensorDataset(torch.ones(2)), collections.abc.Iterable),
        isinstance(data.ChainDataset([]), data.IterableDataset),
        issubclass(data.ChainDataset, collections.abc.Iterable))
    log([b.tolist() for b in data.DataLoader(Counter(), batch_size=2)])


@program()
def complex_conjugate_views_refuse_dtype_views(torch, log):
    z = torch.tensor([1 + 2j, -3 + 0.5j])
    c = z.conj()
    log(c.is_conj(), c.imag.is_neg(), c.real.is_neg())
    _err(log, lambda: c.view(torch.float32))
    _err(log, lambda: c.view(torch.complex64))
    _err(log, lambda: c.imag.view(torch.int32))
    log(c.real.view(torch.int32), c.view(2, 1).shape)
    r = c.resolve_conj()
    log(r.view(torch.float32), r.is_conj(), torch.view_as_real(r).view(torch.complex64))
    log(c.conj().view(torch.float32), c.imag.resolve_neg().view(torch.int32))
    log(torch.ones(2).conj().view(torch.int32))


@program(tol=1e-5)
def linalg_lstsq_and_lu_solve_argument_checks(torch, log):
    L = torch.linalg
    A = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    log(L.lstsq(A, torch.tensor([1.0, 2.0, 3.0])).solution)
    _err(log, lambda: L.lstsq(A, torch.tensor(1.0)))
    _err(log, lambda: L.lstsq(A, torch.ones(3, 1, dtype=torch.float64)))
    _err(log, lambda: L.lstsq(A.long(), torch.ones(3, 1)))
    _err(log, lambda: L.lstsq(A, torch.ones(2)))
    _err(log, lambda: L.lstsq(A, torch.ones(2, 1)))
    _err(log, lambda: L.lstsq(A, torch.ones(2, 3, 1)))
    _err(log, lambda: L.lstsq(A.expand(2, 3, 2), torch.ones(3, 1)))
    _err(log, lambda: L.lstsq(A.expand(2, 3, 2), torch.ones(4, 3, 1)))
    _err(log, lambda: L.lstsq(A, torch.ones(2, 1), driver="gelsx"))
    _err(log, lambda: L.lstsq(A, torch.ones(3, 1), driver="gelsx"))
    log(L.lstsq(A.expand(2, 3, 2), torch.ones(2, 3)).solution.shape,
        L.lstsq(A.expand(4, 3, 2), torch.ones(1, 3, 5)).solution.shape)
    LU, piv = L.lu_factor(torch.tensor([[2.0, 1.0], [1.0, 3.0]]))
    log(L.lu_solve(LU, piv, torch.ones(2, 1)))
    _err(log, lambda: L.lu_solve(LU, piv, torch.ones(2)))
    _err(log, lambda: L.lu_solve(LU, piv, torch.ones(2, dtype=torch.float64)))
    _err(log, lambda: L.lu_solve(LU, piv, torch.ones(3, 1)))
    _err(log, lambda: L.svdvals(A, driver="gesvd"))
    _err(log, lambda: torch.cholesky_inverse(A))
    _err(log, lambda: torch.cholesky_inverse(A.long()))
    _err(log, lambda: torch.polar(torch.ones(2), torch.ones(2, dtype=torch.float64)))
    _err(log, lambda: torch.polar(torch.ones(2, dtype=torch.float64), torch.ones(2)))
    _err(log, lambda: torch.polar(torch.ones(2, dtype=torch.int64), torch.ones(2)))


@program()
def packed_sequence_autograd_nodes_and_methods(torch, log):
    R = torch.nn.utils.rnn
    x = torch.arange(12., requires_grad=True)
    p = R.pack_padded_sequence(x.reshape(3, 4, 1), [2, 4, 1], batch_first=True,
                               enforce_sorted=False)
    log(p.data.grad_fn.name(), [f[0].name() for f in p.data.grad_fn.next_functions])
    q = R.pack_padded_sequence(x.reshape(3, 4, 1), [4, 2, 1], batch_first=True)
    log(q.data.grad_fn.name(), [f[0].name() for f in q.data.grad_fn.next_functions])
    r = R.pack_padded_sequence(x.reshape(4, 3, 1), torch.tensor([4, 2, 1]))
    log([f[0].name() for f in r.data.grad_fn.next_functions])
    log(torch.autograd.grad((p.data.flatten() * torch.arange(7.)).sum(), x))
    s = R.pack_sequence([x[:3], x[3:5], x[5:6]])
    log(s.data.grad_fn.name(), torch.autograd.grad((s.data * torch.arange(6.)).sum(), x))
    print(s)
    log(R.PackedSequence.__mro__[1].__name__, R.PackedSequence._fields)
    _err(log, lambda: s.to("cpu", copy=True))
    _err(log, lambda: s.pin_memory())
    log(s.to(torch.float64).data.dtype, s.to(torch.float32) is s, s.cpu() is s)


@program()
def load_state_dict_casts_values_as_copy_does(torch, log):
    nn = torch.nn
    m = nn.Linear(2, 2)
    sd = {"weight": torch.full((2, 2), 1.5 + 1j), "bias": torch.tensor([1, 2])}
    log(m.load_state_dict(sd), m.weight, m.bias, m.weight.dtype)
    log(m.load_state_dict({"weight": torch.ones(2, 2, dtype=torch.float64),
                           "bias": torch.tensor([True, False])}), m.bias)
    bn = nn.BatchNorm1d(2)
    log(bn.load_state_dict({"num_batches_tracked": torch.tensor(7.9)}, strict=False),
        bn.num_batches_tracked)
    log(bn.load_state_dict({"num_batches_tracked": torch.tensor([3])}, strict=False),
        bn.num_batches_tracked)
    res = bn.load_state_dict({"running_mean": torch.ones(3), "weight": [1.0, 2.0]}, strict=False)
    log(res)
    _err(log, lambda: bn.load_state_dict({"running_mean": torch.ones(3)}))
    a = nn.Linear(2, 2)
    a.load_state_dict({"weight": torch.ones(2, 2, dtype=torch.float64), "bias": torch.ones(2)},
                      assign=True)
    log(a.weight.dtype, type(a.weight).__name__, a.weight.requires_grad)
    a.load_state_dict({"weight": torch.ones(2, 2).t(), "bias": torch.ones(2)}, assign=True)
    log(a.weight.stride())


@program()
def extending_default_collate_through_its_map(torch, log):
    C = _module(torch, "utils.data._utils.collate")
    data = torch.utils.data

    def collate_str(batch, *, collate_fn_map):
        return "|".join(batch)

    def collate_tensor(batch, *, collate_fn_map):
        return torch.cat(batch)

    out = C.collate([{"a": "x", "b": torch.ones(1)}, {"a": "y", "b": torch.zeros(1)}],
                    collate_fn_map={str: collate_str, torch.Tensor: collate_tensor})
    log(out)
    _err(log, lambda: C.collate([1, 2]))
    _err(log, lambda: C.collate([1, 2], collate_fn_map={}))
    log(C.collate([1, 2], collate_fn_map=C.default_collate_fn_map))
    C.default_collate_fn_map[str] = collate_str
    try:
        log(data.default_collate([("p", 1), ("q", 2)]))
        log([b for b in data.DataLoader(["u", "v", "w"], batch_size=2)])
    finally:
        C.default_collate_fn_map[str] = C.collate_str_fn
    log(data.default_collate(["a", "b"]), C.default_collate_err_msg_format)
    log(C.collate_int_fn([1, 2], collate_fn_map=None), C.collate_float_fn([1.0], collate_fn_map={}))


@program(tol=1e-6)
def complex_parameters_through_nn_helpers(torch, log):
    nn, F = torch.nn, torch.nn.functional
    lin = nn.Linear(2, 2, dtype=torch.cfloat)
    x = torch.tensor([[1 + 1j, 2 - 1j]])
    log(lin(x).shape, lin.weight.dtype, lin.bias.dtype)
    z = torch.tensor([1 + 1j, 2j])
    log(F.dropout(z, 0.0), F.dropout(z, 0.5, training=False), F.dropout(z, 1.0))
    _err(log, lambda: F.dropout(z, 0.5))
    _err(log, lambda: nn.Dropout(0.3)(z.double()))
    _err(log, lambda: F.dropout2d(z.reshape(1, 1, 1, 2), 0.5))
    _err(log, lambda: F.alpha_dropout(z, 0.5, True))
    _err(log, lambda: F.feature_alpha_dropout(z, 0.5, True))
    _err(log, lambda: F.feature_alpha_dropout(torch.tensor([1, 2]), 0.5, True))
    _err(log, lambda: F.pad(torch.ones(1, 2), (1, 1), value=1j))
    _err(log, lambda: F.pad(torch.ones(1, 1, 2), (1, 1), mode="reflect", value=1j))
    _err(log, lambda: F.pad(torch.ones(1, 2), (1, 1), value="0"))
    log(F.pad(z.reshape(1, 2), (1, 0), value=2.5),
        F.mse_loss(z, torch.zeros(2, dtype=torch.cfloat)))
    p = nn.Parameter(torch.tensor([1 + 1j, 2 - 1j]))
    (p.abs() ** 2).sum().backward()
    _err(log, lambda: nn.utils.clip_grad_value_([p], 1.0))
    log(p.grad, nn.utils.clip_grad_norm_([p], 1.0), p.grad)
    opt = torch.optim.Adam([p], lr=0.1)
    opt.step()
    log(p, opt.state[p]["exp_avg_sq"])


@program(tol=1e-5, xfail="ember's RNN/GRU/LSTM kernels compute in float32/float64 only: complex "
                         "inputs and weights lose their imaginary parts (torch computes them)")
def complex_gru_forward(torch, log):
    gru = torch.nn.GRU(2, 2, dtype=torch.cfloat)
    out, h = gru(torch.tensor([[1 + 1j, 0.5 - 1j]]))
    log(out, h, out.dtype)


@program(tol=1e-6)
def complex_layers_init_and_autograd_refusals(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(2)
    log(nn.init.sparse_(torch.empty(3, 2, dtype=torch.cfloat), 0.5))
    log(nn.init.normal_(torch.empty(2, dtype=torch.cdouble)), nn.init.zeros_(torch.empty(2, 2)))
    _err(log, lambda: nn.init.orthogonal_(torch.empty(2, 3, dtype=torch.cfloat)))
    log(torch.rand(2))
    bil = nn.Bilinear(2, 2, 1, dtype=torch.cfloat)
    x = torch.ones(1, 2, dtype=torch.cfloat)
    _err(log, lambda: bil(x, x))
    with torch.no_grad():
        log(bil(x, x).shape)
    w = torch.ones(1, 2, 2, dtype=torch.cfloat)
    log(F.bilinear(x, x, w), F.bilinear(x, x, w, torch.ones(1, dtype=torch.cfloat,
                                                             requires_grad=True)))


@program(quiet=(r"Sparse CSR tensor support is in beta state",))
def deprecated_and_rarely_used_helpers(torch, log):
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    log(torch.chain_matmul(a), torch.chain_matmul(a, a, a), torch.chain_matmul(a).data_ptr()
        != a.data_ptr())
    _err(log, lambda: torch.chain_matmul())
    _err(log, lambda: torch.chain_matmul(torch.ones(2), torch.ones(2)))
    _err(log, lambda: torch.chain_matmul(a, torch.ones(2)))
    _err(log, lambda: torch.chain_matmul(a, 1))
    log(torch.dequantize(torch.tensor([1, 2])), torch.dequantize(a) is a,
        torch.tensor([1.5], dtype=torch.float64).dequantize(), torch.tensor([True]).dequantize())
    x = torch.tensor([1.0, 4.0, 9.0, 16.0])
    log(torch.gradient(x), torch.gradient(x, spacing=2.0), torch.gradient(x, spacing=[3.0]))
    _err(log, lambda: torch.gradient(x, spacing=[1.0, 2.0]))
    _err(log, lambda: torch.gradient(x.reshape(2, 2), spacing=[1.0, 2.0, 3.0]))
    _err(log, lambda: torch.gradient(x.reshape(2, 2), spacing=[1.0], dim=[0, 1]))
    s = torch.tensor([[2.5]]).to_sparse()
    log(s.item(), float(s), int(s), bool(s), complex(s))
    _err(log, lambda: torch.tensor([[2.5, 0.0]]).to_sparse().item())
    _err(log, lambda: torch.tensor([[2.5, 0.0]]).to_sparse().tolist())
    _err(log, lambda: torch.tensor([[2.5, 0.0]]).to_sparse().data_ptr())
    _err(log, lambda: torch.tensor([[2.5, 0.0]]).to_sparse_csr().tolist())
    _err(log, lambda: s.numpy())
    for t in (torch.ones(3, dtype=torch.int64), torch.ones(2, 2, dtype=torch.int64),
              torch.ones(2, 3, dtype=torch.int64), torch.ones(0), torch.ones(2, 0),
              torch.ones(0, 2, 2, dtype=torch.int64), torch.ones(2, 2, dtype=torch.float16)):
        _err(log, lambda: torch.cholesky(t).shape)
    log(torch.cholesky(torch.tensor([[4.0, 2.0], [2.0, 3.0]]), upper=True))


@program(tol=1e-5)
def pseudo_inverse_overloads_and_tolerance_checks(torch, log):
    L = torch.linalg
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    log(L.pinv(A, 0.5), L.pinv(A, 0.5, True), L.pinv(A, rcond=0.5), L.pinv(A, torch.tensor(0.5)))
    log(L.pinv(A, rtol=0.5), torch.pinverse(A, 0.5), L.pinv(A, atol=0.5, hermitian=True))
    log(L.pinv(torch.ones(2, 2, 2), torch.tensor([0.5, 0.6])), L.pinv(A, 1e-20))
    c = torch.tensor(1j)
    for call in (lambda: L.pinv(A, c), lambda: L.pinv(torch.ones(3), c),
                 lambda: L.pinv(A, atol=c), lambda: L.pinv(A, rtol=c),
                 lambda: L.pinv(A.long(), atol=c), lambda: L.matrix_rank(A, c),
                 lambda: L.matrix_rank(A, atol=c), lambda: L.matrix_rank(A.long(), rtol=c),
                 lambda: L.matrix_rank(torch.ones(3), atol=c), lambda: L.lu(torch.ones(3)),
                 lambda: L.lu_factor(torch.ones(3)),
                 lambda: L.householder_product(torch.ones(2, 3), torch.ones(2, 3)),
                 lambda: L.householder_product(torch.ones(3, 2), torch.ones(3)),
                 lambda: L.householder_product(torch.ones(3, 2), torch.ones(())),
                 lambda: L.householder_product(torch.ones(3, 2), torch.ones(1, 2))):
        _err(log, call)
    log(L.matrix_rank(A, 0.5, True), L.matrix_rank(A, atol=3.0, rtol=0.0))


@program()
def integer_and_bool_convolutions_on_the_cpu(torch, log):
    F = torch.nn.functional
    x = torch.arange(16).reshape(1, 1, 4, 4)
    w = torch.ones(1, 1, 2, 2, dtype=torch.int64)
    log(F.conv2d(x, w), F.conv2d(x, w, dilation=2), F.conv_transpose2d(x, w, stride=2).shape)
    for dt in (torch.int32, torch.uint8, torch.bool):
        xi, wi = x.to(dt), w.to(dt)
        for call in (lambda: F.conv2d(xi, wi), lambda: F.conv2d(xi, wi, stride=2),
                     lambda: F.conv2d(xi, wi, dilation=2), lambda: F.conv1d(xi[0], wi[0]),
                     lambda: F.conv_transpose2d(xi, wi), lambda: F.conv3d(xi[None], wi[None]),
                     lambda: F.conv_transpose3d(xi[None], wi[None])):
            _err(log, call)
    log(F.normalize(torch.tensor(1.5), dim=0), F.normalize(torch.tensor(-2.0), dim=-1))
    _err(log, lambda: F.normalize(torch.tensor(1.5)))
    _err(log, lambda: F.normalize(torch.tensor(1.5), dim=-2))


@program()
def bit_shifts_past_the_width_and_scalar_splits(torch, log):
    u = torch.tensor([3, 0, 100, 200], dtype=torch.uint8)
    s = torch.tensor([-5, 3, 100, -128], dtype=torch.int8)
    for k in (-1, 0, 3, 7, 8, 9, 64):
        log(k, u >> k, u << k, s >> k, s << k)
    log(u >> torch.tensor([1, 8, 7, 9], dtype=torch.uint8), u.bitwise_right_shift(
        torch.tensor([9, 1, 2, 0], dtype=torch.uint8)), torch.bitwise_right_shift(200, u))
    v = u.clone()
    v >>= 9
    log(v, torch.tensor([-200, 7]) >> torch.tensor([70, -1]))
    z = torch.tensor(2.5)
    for call in (lambda: z.tensor_split(2), lambda: z.tensor_split([1]),
                 lambda: z.tensor_split(torch.tensor([1.0])), lambda: z.tensor_split(2, dim=3),
                 lambda: torch.ones(2).tensor_split(2, dim=3),
                 lambda: torch.ones(2).tensor_split(torch.tensor([[1]]), dim=3),
                 lambda: torch.ones(5).tensor_split(torch.tensor([1, 3])),
                 lambda: torch.ones(5, 2).tensor_split([1, 4], dim=-1),
                 lambda: torch.tensor([True, False]).cumsum_(5),
                 lambda: torch.tensor([True, False]).cumprod_(-6),
                 lambda: torch.tensor([True, False]).cumsum_(0)):
        _err(log, call)


@program()
def special_functions_refusals_and_round_overload(torch, log):
    S = torch.special
    z = torch.tensor([1j, 2.0 + 0j])
    for name in ("entr", "erfcx", "i0e", "i1", "i1e", "log_ndtr", "ndtri", "erf", "logit",
                 "bessel_j0", "spherical_bessel_j0"):
        _err(log, lambda: getattr(S, name)(z))
    _err(log, lambda: S.xlog1py(z, z))
    x = torch.tensor([1.25, 2.5, -0.5, 3.5], requires_grad=True)
    log(S.round(x), S.round(x).grad_fn.name(), S.round(x, decimals=1).grad_fn.name())
    log(torch.round(x).grad_fn.name(), torch.round(torch.tensor([2, 3])))
    _err(log, lambda: S.round(torch.tensor([2, 3])))
    _err(log, lambda: S.round(torch.tensor([2, 3], dtype=torch.uint8)))
    _err(log, lambda: S.round(torch.tensor([2, 3]), decimals=1))
    _err(log, lambda: S.round(torch.tensor([True])))
    _err(log, lambda: S.round(2.5))
    log(S.round(torch.tensor([15.0, 25.0]), decimals=-1))


test_program = PROGRAMS.test(_check)
