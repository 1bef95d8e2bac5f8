"""Ordinary PyTorch programs, round 28 (distributions' constraints, transforms, printing and
less common families, torch.func and torch.autograd.functional options, parametrizations and
pruning, packed sequences, torch.utils.data, complex autograd, printing, generators, einsum and
the scatter/index/where/unique families) run under ember and torch from the same seed:
everything they record must agree (the harness is rounds 17, 18 and 26's)."""
import warnings

from probe_registry import Programs, log_outcome
from test_probe17_programs import _module
from test_probe18_programs import _check

PROGRAMS = Programs()

# NumPy's exp, log, sin and cos are not torch's SLEEF ones: such programs compare within an ulp
# or so
_ULP = 1e-6


program = PROGRAMS.always     # (every warning given each time)


def _err(log, fn):
    """log_outcome, a returned library object (a distribution, a module) logged as its repr."""
    def shown():
        out = fn()
        if out is None or isinstance(out, (bool, int, float, str, tuple, list)):
            return out
        if type(out).__name__ in ("Tensor", "Parameter", "Size", "dtype"):
            return out
        return repr(out)
    log_outcome(log, shown)


# ---- distributions ------------------------------------------------------------------------

@program()
def dist_constraints_checks_and_printing(torch, log):
    C = torch.distributions.constraints
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0])
    for c in (C.real, C.positive, C.nonnegative, C.unit_interval, C.greater_than(0.5),
              C.interval(0.0, 1.0), C.half_open_interval(0.0, 1.0), C.boolean,
              C.nonnegative_integer, C.integer_interval(0, 2), C.greater_than_eq(1.0),
              C.less_than(0.5)):
        log(str(c), c.check(x), c.is_discrete, c.event_dim)
    m = torch.tensor([[1.0, 0.0], [0.5, 2.0]])
    for c in (C.lower_triangular, C.lower_cholesky, C.positive_definite, C.simplex,
              C.real_vector, C.corr_cholesky, C.square, C.symmetric,
              C.positive_semidefinite):
        log(str(c), c.check(m), c.event_dim)
    log(C.simplex.check(torch.tensor([[0.2, 0.8], [0.5, 0.6]])))
    ind = C.independent(C.real, 1)
    log(str(ind), ind.event_dim, ind.check(torch.tensor([[1.0, float("nan")], [1.0, 2.0]])))
    cat = C.cat([C.positive, C.real], lengths=[2, 1])
    log(cat.check(torch.tensor([1.0, -1.0, -1.0])), cat.event_dim, cat.is_discrete)
    st = C.stack([C.positive, C.unit_interval], dim=0)
    log(st.check(torch.tensor([[1.0, -1.0], [0.5, 1.5]])))
    log(repr(C.real), repr(C.interval(-1, 1)), repr(C.greater_than(torch.tensor(2.0))))
    log(C.is_dependent(C.dependent), C.is_dependent(C.real))


@program(tol=_ULP)
def dist_biject_to_and_transform_to(torch, log):
    C = torch.distributions.constraints
    D = torch.distributions
    torch.manual_seed(0)
    y = torch.randn(3, 4)
    for c in (C.positive, C.unit_interval, C.interval(-2.0, 3.0), C.greater_than(1.0),
              C.less_than(-1.0), C.simplex, C.real, C.lower_cholesky, C.corr_cholesky,
              C.positive_definite):
        for reg in (D.biject_to, D.transform_to):
            try:
                t = reg(c)
            except NotImplementedError as e:
                log("nie", str(e))
                continue
            log(str(c), type(t).__name__, repr(t))
            if c in (C.lower_cholesky, C.positive_definite):
                z = torch.randn(3, 3)
            elif c is C.corr_cholesky:
                z = torch.randn(3)
            else:
                z = y
            x = t(z)
            log(x, c.check(x), t.domain.event_dim, t.codomain.event_dim, t.bijective)
            if c not in (C.lower_cholesky, C.positive_definite, C.corr_cholesky):
                log(t.inv(x), t.log_abs_det_jacobian(z, x))


@program(tol=_ULP)
def dist_transform_composition_and_caching(torch, log):
    T = torch.distributions.transforms
    torch.manual_seed(0)
    x = torch.randn(2, 3)
    exp, aff = T.ExpTransform(), T.AffineTransform(loc=1.0, scale=torch.tensor([1.0, -2.0, 0.5]))
    comp = T.ComposeTransform([aff, exp, T.PowerTransform(2.0)])
    y = comp(x)
    log(y, comp.inv(y), comp.log_abs_det_jacobian(x, y), comp.sign if hasattr(comp, "sign")
        else None)
    log(repr(comp), comp.event_dim, str(comp.domain), str(comp.codomain))
    log(repr(comp.inv), comp.inv.inv is comp, T.identity_transform(x))
    _err(log, lambda: aff.sign)
    log(T.AffineTransform(0.0, -3.0).sign, exp.sign, T.SigmoidTransform().sign)
    cached = T.ExpTransform(cache_size=1)
    a = cached(x)
    log(cached.inv(a) is x, exp.inv(exp(x)) is x)
    _err(log, lambda: T.ExpTransform(cache_size=2))
    log(exp == T.ExpTransform(), exp == T.SigmoidTransform(), aff == aff)
    st = T.StackTransform([T.ExpTransform(), T.SigmoidTransform(), T.TanhTransform()], dim=1)
    z = st(x)
    log(z, st.inv(z), st.log_abs_det_jacobian(x, z), st.bijective)
    ct = T.CatTransform([T.ExpTransform(), T.AbsTransform()], dim=1, lengths=[1, 2])
    w = ct(x)
    log(w, ct.log_abs_det_jacobian(x[:, :1].abs(), w[:, :1].abs()) if False else None)
    rt = T.ReshapeTransform((2, 3), (6,))
    log(rt(x), rt.inv(rt(x)).shape, rt.forward_shape((4, 2, 3)), rt.inverse_shape((4, 6)),
        rt.log_abs_det_jacobian(x, rt(x)))
    sm = T.SoftmaxTransform()
    log(sm(x), sm.inv(sm(x)))
    sb = T.StickBreakingTransform()
    u = sb(x)
    log(u, u.sum(-1), sb.inv(u), sb.log_abs_det_jacobian(x, u))
    ind = T.IndependentTransform(T.ExpTransform(), 1)
    log(ind.log_abs_det_jacobian(x, ind(x)), repr(ind), ind.event_dim)
    log(T.CumulativeDistributionTransform(torch.distributions.Normal(0.0, 1.0))(x))
    log(T.SoftplusTransform()(x), T.SoftplusTransform().inv(T.SoftplusTransform()(x)))


@program(tol=_ULP)
def dist_reprs_shapes_and_properties(torch, log):
    D = torch.distributions
    torch.manual_seed(0)
    dists = [
        D.Normal(torch.zeros(2), torch.ones(2)),
        D.Bernoulli(probs=torch.tensor([0.2, 0.9])),
        D.Categorical(logits=torch.randn(2, 3)),
        D.Beta(torch.tensor(2.0), torch.tensor(3.0)),
        D.Gamma(torch.tensor([1.0, 2.0]), 3.0),
        D.MultivariateNormal(torch.zeros(2), scale_tril=torch.eye(2)),
        D.Independent(D.Normal(torch.zeros(3, 2), 1.0), 1),
        D.Dirichlet(torch.tensor([0.5, 1.0, 2.0])),
        D.Binomial(10, torch.tensor([0.1, 0.5])),
        D.Poisson(torch.tensor([1.0, 4.0])),
        D.Uniform(0.0, torch.tensor([1.0, 2.0])),
        D.StudentT(3.0),
        D.OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5])),
        D.Geometric(probs=torch.tensor(0.3)),
        D.LogNormal(0.0, 1.0),
        D.VonMises(torch.tensor(0.5), torch.tensor(2.0)),
    ]
    for d in dists:
        print(d)
        log(d.batch_shape, d.event_shape, d.has_rsample, d.support.__class__.__name__,
            sorted(d.arg_constraints))
        try:
            log(d.mean, d.variance)
        except Exception as e:
            log("raised", type(e).__name__, str(e))
        try:
            log(d.mode)
        except Exception as e:
            log("raised", type(e).__name__, str(e))
        s = d.sample((2,))
        log(s.shape, s.dtype, d.log_prob(s).shape)
    e = dists[0].expand((4, 2))
    print(e)
    log(e.batch_shape, e.sample().shape, e.loc)
    _err(log, lambda: dists[0].expand((3,)))
    log(dists[2].probs, dists[2].param_shape, dists[2].logits)


@program(tol=_ULP)
def dist_kl_pairs_and_registration(torch, log):
    D = torch.distributions
    kl = D.kl_divergence
    torch.manual_seed(0)
    pairs = [
        (D.Normal(0.0, 1.0), D.Normal(torch.tensor([1.0, -1.0]), torch.tensor([2.0, 0.5]))),
        (D.Bernoulli(0.3), D.Bernoulli(torch.tensor([0.1, 0.9]))),
        (D.Categorical(logits=torch.randn(3)), D.Categorical(probs=torch.tensor([.2, .3, .5]))),
        (D.Beta(2.0, 3.0), D.Beta(1.0, 1.0)),
        (D.Gamma(2.0, 1.0), D.Exponential(0.5)),
        (D.Uniform(0.0, 1.0), D.Normal(0.0, 1.0)),
        (D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0)),
        (D.Exponential(1.0), D.Gamma(2.0, 2.0)),
        (D.Laplace(0.0, 1.0), D.Normal(1.0, 2.0)),
        (D.Poisson(3.0), D.Poisson(2.0)),
        (D.Dirichlet(torch.tensor([1.0, 2.0])), D.Dirichlet(torch.tensor([3.0, 1.0]))),
        (D.MultivariateNormal(torch.zeros(2), torch.eye(2)),
         D.MultivariateNormal(torch.ones(2), torch.tensor([[2.0, 0.5], [0.5, 1.0]]))),
        (D.Independent(D.Normal(torch.zeros(3), 1.0), 1),
         D.Independent(D.Normal(torch.ones(3), 2.0), 1)),
        (D.Geometric(0.3), D.Geometric(0.6)),
        (D.OneHotCategorical(torch.tensor([.5, .5])), D.OneHotCategorical(torch.tensor([.9, .1]))),
        (D.Binomial(5, 0.3), D.Binomial(5, 0.6)),
        (D.Gumbel(0.0, 1.0), D.Gumbel(1.0, 2.0)),
        (D.Pareto(1.0, 2.0), D.Pareto(1.0, 3.0)),
        (D.HalfNormal(1.0), D.HalfNormal(2.0)),
        (D.ContinuousBernoulli(0.3), D.ContinuousBernoulli(0.7)),
        (D.LowRankMultivariateNormal(torch.zeros(2), torch.ones(2, 1), torch.ones(2)),
         D.MultivariateNormal(torch.zeros(2), torch.eye(2))),
    ]
    for p, q in pairs:
        try:
            log(type(p).__name__, type(q).__name__, kl(p, q))
        except NotImplementedError as e:
            log("nie", str(e))
    _err(log, lambda: kl(D.Beta(1.0, 1.0), D.Poisson(1.0)))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, MyNormal)
    def _kl(p, q):
        return torch.tensor(42.0)

    log(kl(MyNormal(0.0, 1.0), MyNormal(1.0, 1.0)), kl(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)))


@program(tol=1e-5)
def dist_rsample_gradients_and_entropy(torch, log):
    D = torch.distributions
    torch.manual_seed(0)
    loc = torch.tensor([0.5, -1.0], requires_grad=True)
    scale = torch.tensor([1.0, 2.0], requires_grad=True)
    for make in (lambda: D.Normal(loc, scale), lambda: D.Laplace(loc, scale),
                 lambda: D.Cauchy(loc, scale), lambda: D.Gumbel(loc, scale),
                 lambda: D.LogNormal(loc, scale), lambda: D.Uniform(loc, loc + scale),
                 lambda: D.Logistic(loc, scale) if hasattr(D, "Logistic") else
                 D.Normal(loc, scale)):
        d = make()
        x = d.rsample((3,))
        (x.sum() + d.entropy().sum()).backward()
        log(type(d).__name__, x, d.entropy(), loc.grad, scale.grad)
        loc.grad = scale.grad = None
    conc = torch.tensor([2.0, 0.5], requires_grad=True)
    g = D.Gamma(conc, 1.0)
    s = g.rsample()
    s.sum().backward()
    log(s, conc.grad)
    d = D.Bernoulli(torch.tensor(0.3))
    _err(log, lambda: d.rsample())
    r = D.RelaxedBernoulli(torch.tensor(0.5), probs=torch.tensor([0.2, 0.8]))
    log(r.rsample((2,)), r.temperature)
    oh = D.RelaxedOneHotCategorical(torch.tensor(0.3), logits=torch.tensor([0.1, 0.5, -1.0]))
    log(oh.rsample(), oh.log_prob(oh.rsample()))


@program(tol=1e-5)
def dist_lkj_wishart_lowrank_and_mixture(torch, log):
    D = torch.distributions
    torch.manual_seed(0)
    lkj = D.LKJCholesky(3, concentration=torch.tensor([0.5, 2.0]))
    L = lkj.sample()
    log(L.shape, lkj.log_prob(L), (L @ L.mT).diagonal(dim1=-2, dim2=-1), str(lkj.support))
    print(lkj)
    _err(log, lambda: D.LKJCholesky(1, 1.0))
    w = D.Wishart(df=torch.tensor(4.0), covariance_matrix=torch.eye(2) * 2)
    S = w.sample((2,))
    log(S.shape, w.log_prob(S), w.mean, w.variance, w.entropy())
    print(w)
    lr = D.LowRankMultivariateNormal(torch.zeros(3), torch.randn(3, 2), torch.ones(3))
    x = lr.sample((4,))
    log(lr.log_prob(x), lr.entropy(), lr.covariance_matrix, lr.precision_matrix,
        lr.scale_tril, lr.variance)
    mix = D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7])),
                              D.Normal(torch.tensor([-1.0, 2.0]), torch.tensor([0.5, 1.0])))
    y = mix.sample((5,))
    log(y, mix.log_prob(y), mix.mean, mix.variance, mix.cdf(torch.tensor([0.0, 1.0])))
    print(mix)
    mix2 = D.MixtureSameFamily(
        D.Categorical(logits=torch.zeros(2, 3)),
        D.Independent(D.Normal(torch.randn(2, 3, 4), torch.ones(2, 3, 4)), 1))
    z = mix2.sample()
    log(z.shape, mix2.log_prob(z), mix2.batch_shape, mix2.event_shape)
    _err(log, lambda: D.MixtureSameFamily(D.Categorical(torch.ones(3)),
                                          D.Normal(torch.zeros(2), 1.0)))


@program(tol=_ULP)
def dist_validation_messages(torch, log):
    D = torch.distributions
    _err(log, lambda: D.Normal(0.0, -1.0))
    _err(log, lambda: D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])))
    _err(log, lambda: D.Bernoulli(probs=1.5))
    _err(log, lambda: D.Bernoulli(probs=0.5, logits=0.0))
    _err(log, lambda: D.Bernoulli())
    _err(log, lambda: D.Categorical(probs=torch.tensor([-0.1, 1.1])))
    _err(log, lambda: D.Normal(0.0, 1.0).log_prob(torch.tensor("a" == "a")))
    _err(log, lambda: D.Poisson(2.0).log_prob(torch.tensor(1.5)))
    _err(log, lambda: D.Exponential(1.0).log_prob(torch.tensor([-1.0, 2.0])))
    _err(log, lambda: D.Beta(1.0, 1.0).log_prob(torch.tensor(1.5)))
    _err(log, lambda: D.Categorical(logits=torch.zeros(3)).log_prob(torch.tensor(3)))
    log(D.Normal(0.0, -1.0, validate_args=False).scale)
    log(D.Exponential(1.0, validate_args=False).log_prob(torch.tensor(-1.0)))
    old = D.Distribution._validate_args
    D.Distribution.set_default_validate_args(False)
    try:
        log(D.Normal(0.0, -1.0).scale)
    finally:
        D.Distribution.set_default_validate_args(old)
    _err(log, lambda: D.Distribution.set_default_validate_args("yes"))
    _err(log, lambda: D.MultivariateNormal(torch.zeros(2), torch.tensor([[1.0, 2.0],
                                                                        [2.0, 1.0]])))
    _err(log, lambda: D.MultivariateNormal(torch.zeros(2)))
    _err(log, lambda: D.MultivariateNormal(torch.zeros(3), torch.eye(2)))
    _err(log, lambda: D.Normal(torch.zeros(2), 1.0).sample(3))
    _err(log, lambda: D.Uniform(1.0, 0.0))
    _err(log, lambda: D.Dirichlet(torch.tensor(1.0)))


@program(tol=1e-5)
def dist_utils_and_transformed_cdf(torch, log):
    D = torch.distributions
    U = _module(torch, "distributions.utils")
    torch.manual_seed(0)
    logits = torch.randn(2, 3)
    log(U.logits_to_probs(logits), U.logits_to_probs(logits, is_binary=True))
    p = torch.tensor([0.0, 0.3, 1.0])
    log(U.probs_to_logits(p), U.probs_to_logits(p, is_binary=True), U.clamp_probs(p))
    a, b = U.broadcast_all(torch.zeros(2, 1), 3.0)
    log(a, b)
    _err(log, lambda: U.broadcast_all(torch.zeros(2), "x"))
    log(U.tril_matrix_to_vec(torch.arange(9.0).view(3, 3)),
        U.vec_to_tril_matrix(torch.arange(6.0)), U.vec_to_tril_matrix(torch.arange(3.0), -1))
    base = D.Normal(torch.tensor([0.0, 1.0]), 1.0)
    td = D.TransformedDistribution(base, [D.transforms.AffineTransform(1.0, 2.0),
                                          D.transforms.SigmoidTransform()])
    v = torch.tensor([0.3, 0.9])
    log(td.log_prob(v), td.cdf(v), td.icdf(torch.tensor([0.2, 0.7])), td.batch_shape)
    print(td)
    log(str(td.support))
    s = td.rsample((3,))
    log(s.shape)
    td2 = D.TransformedDistribution(base, D.transforms.AffineTransform(0.0, -1.0))
    log(td2.cdf(v), td2.icdf(torch.tensor([0.2, 0.7])))
    ln = D.LogNormal(0.0, 1.0)
    log(ln.cdf(torch.tensor(2.0)), ln.icdf(torch.tensor(0.5)), ln.entropy())
    _err(log, lambda: D.TransformedDistribution(base, [lambda z: z]))
    ind = D.TransformedDistribution(D.Normal(torch.zeros(4), 1.0),
                                    D.transforms.ReshapeTransform((4,), (2, 2)))
    log(ind.batch_shape, ind.event_shape, ind.log_prob(torch.zeros(2, 2)))


# ---- torch.func ---------------------------------------------------------------------------

@program(tol=1e-5)
def func_functional_call_with_buffers_and_batchnorm(torch, log):
    nn = torch.nn
    fc = torch.func.functional_call
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    params = dict(net.named_parameters())
    buffers = dict(net.named_buffers())
    log(sorted(buffers), [b.dtype for b in buffers.values()])
    x = torch.randn(5, 3)
    new_buf = {k: v.clone() for k, v in buffers.items()}
    out = fc(net, (params, new_buf), (x,))
    log(out, new_buf["1.running_mean"], new_buf["1.num_batches_tracked"],
        net[1].running_mean, net[1].num_batches_tracked)
    net.eval()
    log(fc(net, {**params, **buffers}, x), fc(net, params, x, strict=False))
    _err(log, lambda: fc(net, {"0.weight": torch.zeros(4, 3)}, (x,), strict=True))
    _err(log, lambda: fc(net, ({"0.weight": torch.zeros(4, 3)}, {"0.weight": torch.ones(4, 3)}),
                         (x,)))
    log(fc(net, {"0.weight": torch.zeros(4, 3)}, (x,)))
    net.train()
    grads = torch.func.grad(lambda p, b, xx: fc(net, (p, b), (xx,)).sum())(
        params, {k: v.clone() for k, v in buffers.items()}, x)
    log(sorted(grads), grads["3.weight"])
    m = nn.Linear(2, 2)
    log(fc(m, {"weight": torch.eye(2), "bias": torch.zeros(2)}, torch.tensor([[1.0, 2.0]]),
           {}))
    log(fc(m, {"weight": torch.eye(2)}, args=(), kwargs={"input": torch.ones(1, 2)}).shape)


@program(tol=1e-5)
def func_stack_module_state_and_vmap_ensemble(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)) for _ in range(3)]
    params, buffers = torch.func.stack_module_state(models)
    log(sorted(params), params["0.weight"].shape, params["0.weight"].requires_grad,
        params["0.weight"].is_leaf, buffers)
    base = __import__("copy").deepcopy(models[0]).to("meta")
    x = torch.randn(5, 3)

    def f(p, b, xx):
        return torch.func.functional_call(base, (p, b), (xx,))

    out = torch.func.vmap(f, in_dims=(0, 0, None))(params, buffers, x)
    log(out, out.shape, [m(x) for m in models])
    xs = torch.randn(3, 5, 3)
    log(torch.func.vmap(f)(params, buffers, xs))
    _err(log, lambda: torch.func.stack_module_state([]))
    _err(log, lambda: torch.func.stack_module_state([nn.Linear(2, 2), nn.Linear(2, 3)]))
    m1, m2 = nn.Linear(2, 2), nn.Linear(2, 2)
    m2.eval()
    _err(log, lambda: torch.func.stack_module_state([m1, m2]))


@program()
def func_vmap_randomness_modes(torch, log):
    vmap = torch.func.vmap
    x = torch.zeros(3, 4)
    for mode in ("different", "same"):
        torch.manual_seed(0)
        log(mode, vmap(lambda t: t + torch.rand(4), randomness=mode)(x))
        torch.manual_seed(0)
        log(vmap(lambda t: torch.randn_like(t), randomness=mode)(x))
        torch.manual_seed(0)
        log(vmap(lambda t: torch.rand_like(t) * t.exp(), randomness=mode)(x))
        torch.manual_seed(0)
        log(vmap(lambda t: torch.nn.functional.dropout(t + 1, 0.5), randomness=mode)(x))
        torch.manual_seed(0)
        log(vmap(lambda t: torch.bernoulli(t[:2] * 0 + 0.5), randomness=mode)(x[0].expand(3, 4))
            if mode == "different" else None)
    _err(log, lambda: vmap(lambda t: t + torch.rand(4))(x))
    _err(log, lambda: vmap(lambda t: t + torch.rand(4), randomness="bad")(x))
    log(vmap(lambda t: t * 2, randomness="error")(x).shape)
    torch.manual_seed(0)
    log(vmap(lambda t: torch.randint(0, 10, (2,)), randomness="same")(x))
    torch.manual_seed(0)
    _err(log, lambda: vmap(lambda t: t.normal_(), randomness="different")(x.clone()))
    torch.manual_seed(0)
    log(vmap(lambda t: torch.multinomial(t.abs() + 1, 2), randomness="different")(x))


@program(tol=1e-6)
def func_vmap_in_out_dims_and_errors(torch, log):
    vmap = torch.func.vmap
    torch.manual_seed(0)
    a, b = torch.randn(2, 3), torch.randn(3, 2)
    log(vmap(torch.dot, in_dims=(0, 1))(a, b))
    log(vmap(lambda x, y: (x + y, x * y), in_dims=(1, None), out_dims=(0, 1))(a, b[0]))
    log(vmap(lambda d: d["a"] * d["b"], in_dims=({"a": 0, "b": None},))({"a": a, "b": 2.0}))
    log(vmap(lambda x: x.sum(0), in_dims=-1)(a), vmap(lambda x: x, out_dims=-1)(a).shape)
    log(vmap(vmap(torch.outer))(torch.randn(2, 3, 2), torch.randn(2, 3, 4)).shape)
    log(vmap(lambda x: x.sum(), chunk_size=2)(torch.arange(10.0).view(5, 2)))
    _err(log, lambda: vmap(torch.add, in_dims=(0, 0))(a, b))
    _err(log, lambda: vmap(torch.sin, in_dims=2)(a))
    _err(log, lambda: vmap(torch.sin, in_dims=(0, 0))(a))
    _err(log, lambda: vmap(lambda x: 3.0)(a))
    _err(log, lambda: vmap(torch.sin)(3.0))
    _err(log, lambda: vmap(torch.sin, in_dims=None)(a))
    _err(log, lambda: vmap(torch.sin, chunk_size=0)(a))
    log(vmap(lambda x: x.add_(1.0))(a.clone()))
    log(vmap(lambda x: x[0], in_dims=1)(a), vmap(torch.argmax)(a), vmap(torch.max)(a))
    log(vmap(lambda x: torch.where(x > 0, x, 0.0))(a))


@program()
def func_vmap_refuses_data_dependent_calls(torch, log):
    vmap = torch.func.vmap
    a = torch.arange(6.0).view(2, 3)
    _err(log, lambda: vmap(lambda x: x.item())(a))
    _err(log, lambda: vmap(lambda x: x.sum().item())(a))
    _err(log, lambda: vmap(lambda x: x.tolist())(a))
    _err(log, lambda: vmap(lambda x: x[0] if x.sum() > 0 else x[1])(a))
    _err(log, lambda: vmap(torch.nonzero)(a))
    _err(log, lambda: vmap(lambda x: x[x > 0].sum())(a))
    _err(log, lambda: vmap(lambda t: torch.bernoulli(t * 0 + 0.5), randomness="same")(a))


@program(tol=1e-5)
def func_jacobians_hessians_argnums_and_aux(torch, log):
    F = torch.func
    torch.manual_seed(0)
    x, y = torch.randn(3), torch.randn(3)

    def f(x, y):
        return (x.sin() * y).sum(), {"aux": x.detach() * 2}

    g, aux = F.grad(f, argnums=(0, 1), has_aux=True)(x, y)
    log(g, aux)
    val_g = F.grad_and_value(lambda a, b: (a * b).sum(), argnums=1)(x, y)
    log(val_g)
    log(F.jacrev(lambda a: a.sin() * a)(x), F.jacfwd(lambda a: a.sin() * a)(x))
    log(F.jacrev(lambda a, b: a * b, argnums=(0, 1))(x, y))
    j, aux = F.jacfwd(lambda a: (a ** 2, a.sum()), has_aux=True)(x)
    log(j, aux)
    log(F.hessian(lambda a: (a ** 3).sum())(x))
    log(F.hessian(lambda a, b: (a * a * b).sum(), argnums=1)(x, y))
    log(F.jacrev(lambda d: d["w"] @ d["v"])({"w": torch.eye(3), "v": x}))
    log(F.jacrev(F.jacrev(lambda a: a.exp().sum()))(x))
    log(F.jacrev(lambda a: a.sin(), chunk_size=1)(x))
    _err(log, lambda: F.grad(lambda a: a * 2)(x))
    _err(log, lambda: F.grad(lambda a: (a * 2).sum(), argnums=2)(x))
    _err(log, lambda: F.grad(lambda a: a.sum())(torch.tensor([1, 2])))
    _err(log, lambda: F.grad(lambda a: (a.sum(), 1))(x))
    _err(log, lambda: F.grad(lambda a: a.sum(), has_aux=True)(x))
    _err(log, lambda: F.jacrev(lambda a: a, chunk_size=0)(x))
    _err(log, lambda: F.jacfwd(lambda a: a, randomness="wrong")(x))
    _err(log, lambda: F.grad(lambda a: a.sum(), argnums=(0, 0))(x))
    _err(log, lambda: F.grad(lambda a: a.sum(), argnums=())(x))
    _err(log, lambda: F.grad(lambda a: a.sum(), argnums=1.5)(x))


@program(tol=1e-5)
def func_vjp_jvp_linearize_and_nested(torch, log):
    F = torch.func
    torch.manual_seed(0)
    x = torch.randn(3)
    out, vjp_fn = F.vjp(lambda a: a.exp() * 2, x)
    log(out, vjp_fn(torch.ones(3)))
    _err(log, lambda: vjp_fn(torch.ones(2)))
    out, vjp_fn, aux = F.vjp(lambda a: (a.exp(), a.shape), x, has_aux=True)
    log(aux, vjp_fn(torch.ones(3)))
    log(F.jvp(lambda a, b: a * b, (x, x), (torch.ones(3), torch.zeros(3))))
    log(F.jvp(lambda a: (a.sin(), a.cos()), (x,), (torch.ones(3),)))
    _err(log, lambda: F.jvp(lambda a: a, (x,), (torch.ones(2),)))
    _err(log, lambda: F.jvp(lambda a: a, x, (torch.ones(3),)))
    _err(log, lambda: F.jvp(lambda a: a, (x,), (torch.ones(3, dtype=torch.float64),)))
    out, jvp_fn = F.linearize(lambda a: a.tanh() ** 2, x)
    log(out, jvp_fn(torch.ones(3)), jvp_fn(torch.arange(3.0)))
    log(F.vmap(F.grad(lambda a: (a ** 3).sum()))(torch.randn(4, 2)))
    log(F.jacfwd(F.jacrev(lambda a: (a.sin() ** 2).sum()))(x))
    w = torch.randn(3, requires_grad=True)
    g = F.grad(lambda a: (a * w).sum())(x)
    log(g.requires_grad, g)
    g.sum().backward()
    log(w.grad)


# ---- torch.autograd.functional ------------------------------------------------------------

@program(tol=1e-6)
def autograd_functional_options_and_outputs(torch, log):
    AF = torch.autograd.functional
    torch.manual_seed(0)
    x = torch.randn(3, dtype=torch.float64)
    y = torch.randn(2, dtype=torch.float64)

    def f(a, b):
        return torch.cat([a.sin() * b.sum(), b.exp()])

    for kw in (dict(), dict(vectorize=True), dict(vectorize=True, strategy="forward-mode"),
               dict(create_graph=True), dict(strict=True)):
        j = AF.jacobian(f, (x, y), **kw)
        log(sorted(kw.items()), [t.shape for t in j], j, [t.requires_grad for t in j])
    log(AF.jacobian(lambda a: a.sum(), x), AF.jacobian(lambda a: a, torch.tensor(2.0)))
    log(AF.jacobian(lambda a: (a, a * 2), x))
    _err(log, lambda: AF.jacobian(f, (x, y), strategy="forward-mode"))
    _err(log, lambda: AF.jacobian(f, (x, y), strategy="sideways"))
    _err(log, lambda: AF.jacobian(lambda a: torch.zeros(2), x, strict=True))
    _err(log, lambda: AF.jacobian(lambda a: torch.zeros(2), x, strict=True, vectorize=True))
    log(AF.jacobian(lambda a: torch.zeros(2), x))
    _err(log, lambda: AF.jacobian(lambda a: a.tolist(), x))
    _err(log, lambda: AF.jacobian(f, [x, y]))
    h = AF.hessian(lambda a: (a ** 3).sum(), x, create_graph=True)
    log(h, h.requires_grad)
    h2 = AF.hessian(lambda a, b: (a.sum() * b ** 2).sum(), (x, y), vectorize=True,
                    outer_jacobian_strategy="forward-mode")
    log([[t.detach() for t in row] for row in h2], x.requires_grad, y.requires_grad)
    _err(log, lambda: AF.hessian(lambda a: a, x))
    _err(log, lambda: AF.hessian(lambda a: a.sum(), x, outer_jacobian_strategy="forward-mode"))


@program(xfail="ember's forward-mode tangents record no graph: the forward-over-reverse "
              "hessian's blocks do not require grad (torch's carry ReshapeAliasBackward0) and "
              "its zeros off the diagonal are +0. where torch's are -0.")
def autograd_functional_forward_over_reverse_hessian_grad_fn(torch, log):
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    h = torch.autograd.functional.hessian(lambda a: (a ** 3).sum(), x, vectorize=True,
                                          outer_jacobian_strategy="forward-mode")
    log(h, str(h.grad_fn.name()) if h.grad_fn is not None else None)


@program(tol=1e-6)
def autograd_functional_products_create_graph(torch, log):
    AF = torch.autograd.functional
    torch.manual_seed(0)
    x = torch.randn(3, requires_grad=True)
    v = torch.ones(3)
    f = lambda a: (a ** 2 * a.sin()).sum()  # noqa: E731
    out, vjp = AF.vjp(lambda a: a.exp(), x, v, create_graph=True)
    log(out, vjp, out.requires_grad, vjp.requires_grad)
    vjp.sum().backward()
    log(x.grad)
    out, jvp = AF.jvp(lambda a: a.exp() * 3, x, v)
    log(out, jvp, jvp.requires_grad)
    out, hvp = AF.hvp(f, x, v)
    log(out, hvp)
    out, vhp = AF.vhp(f, x, v, create_graph=True)
    log(vhp, vhp.requires_grad)
    log(AF.vjp(lambda a: a.sum(), x))
    _err(log, lambda: AF.vjp(lambda a: a * 2, x))
    _err(log, lambda: AF.jvp(lambda a: a.sum(), x))
    log(AF.jvp(lambda a: a.sum(), torch.tensor(2.0)))
    _err(log, lambda: AF.vjp(lambda a: a * 2, x, torch.ones(2)))
    _err(log, lambda: AF.hvp(lambda a: a * 2, x, v))
    _err(log, lambda: AF.vjp(lambda a: torch.ones(3), x, v, strict=True))
    log(AF.vjp(lambda a: torch.ones(3), x, v))
    _err(log, lambda: AF.jvp(lambda a: a.detach() * 2, x, v, strict=True))
    log(AF.jvp(lambda a: (a * 2, a.sum()), (x,), (v,)))
    log(AF.vhp(lambda a, b: (a * b).sum(), (x, x * 2), (v, v)))
    _err(log, lambda: AF.vjp(lambda a: 3.0, x))



# ---- parametrizations and pruning ---------------------------------------------------------

@program(tol=1e-5)
def parametrize_orthogonal_maps_and_training(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrizations
    torch.manual_seed(0)
    for kw in (dict(), dict(orthogonal_map="cayley"), dict(orthogonal_map="householder"),
               dict(use_trivialization=False), dict(orthogonal_map="cayley",
                                                    use_trivialization=False)):
        lin = nn.Linear(4, 3)
        P.orthogonal(lin, **kw)
        W = lin.weight
        log(sorted(kw.items()), W.shape, (W @ W.T), type(lin).__name__,
            sorted(n for n, _ in lin.named_parameters()))
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            lin(torch.randn(5, 4)).pow(2).sum().backward()
            opt.step()
        log(lin.weight @ lin.weight.T)
    _err(log, lambda: P.orthogonal(nn.Linear(3, 3), orthogonal_map="magic"))
    c = nn.Linear(3, 3, dtype=torch.complex64)
    P.orthogonal(c)
    log((c.weight @ c.weight.mH).real, c.weight.dtype)
    print(P.orthogonal(nn.Linear(2, 2)))
    _err(log, lambda: P.orthogonal(nn.Linear(2, 2), name="nothing"))


@program(tol=1e-5)
def parametrize_weight_norm_and_spectral_norm_new_api(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrizations
    torch.manual_seed(0)
    lin = P.weight_norm(nn.Linear(3, 4), dim=0)
    pl = lin.parametrizations.weight
    log(sorted(lin.state_dict()), pl.original0.shape, pl.original1.shape, pl.original0)
    x = torch.randn(2, 3)
    lin(x).sum().backward()
    log(pl.original0.grad, pl.original1.grad)
    conv = P.weight_norm(nn.Conv1d(2, 3, 3), dim=None)
    log(conv.parametrizations.weight.original0, conv.weight.shape)
    sn = P.spectral_norm(nn.Linear(5, 4), n_power_iterations=3)
    log(sorted(sn.state_dict()), sorted(n for n, _ in sn.named_buffers()))
    for _ in range(3):
        sn(torch.randn(2, 5))
    log(torch.linalg.matrix_norm(sn.weight, 2))
    sn.eval()
    w1 = sn.weight
    w2 = sn.weight
    log(torch.equal(w1, w2), torch.linalg.matrix_norm(w1, 2))
    snc = P.spectral_norm(nn.Conv2d(2, 3, 3), dim=1)
    log(snc.parametrizations.weight[0].dim, snc.weight.shape)
    print(sn)
    torch.nn.utils.parametrize.remove_parametrizations(lin, "weight")
    log(sorted(lin.state_dict()), type(lin.weight).__name__)
    _err(log, lambda: torch.nn.utils.parametrize.remove_parametrizations(lin, "weight"))
    _err(log, lambda: P.spectral_norm(nn.Linear(2, 2), dim=3))


@program(tol=1e-6)
def parametrize_cached_and_multi_parametrizations(torch, log):
    nn = torch.nn
    PZ = torch.nn.utils.parametrize

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class Scale(nn.Module):
        def __init__(self, s):
            super().__init__()
            self.s = s

        def forward(self, X):
            return X * self.s

        def right_inverse(self, X):
            return X / self.s

    torch.manual_seed(0)
    m = nn.Linear(3, 3)
    PZ.register_parametrization(m, "weight", Symmetric())
    PZ.register_parametrization(m, "weight", Scale(2.0))
    log(m.weight, PZ.is_parametrized(m), PZ.is_parametrized(m, "bias"),
        PZ.type_before_parametrizations(m).__name__, type(m).__name__)
    with PZ.cached():
        a, b = m.weight, m.weight
        log(a is b)
    log(m.weight is m.weight)
    m.weight = torch.eye(3) * 4
    log(m.parametrizations.weight.original, m.weight)
    print(m)
    log(sorted(m.state_dict()))
    PZ.remove_parametrizations(m, "weight", leave_parametrized=False)
    log(m.weight)
    n = nn.Linear(2, 2)
    PZ.register_parametrization(n, "bias", Scale(3.0), unsafe=True)
    log(n.bias, n.parametrizations.bias.original)
    _err(log, lambda: PZ.register_parametrization(n, "nope", Scale(1.0)))
    class Bad(nn.Module):
        def forward(self, X):
            return X[0]
    _err(log, lambda: PZ.register_parametrization(nn.Linear(2, 2), "weight", Bad()))
    class WrongInv(nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return X.double()
    _err(log, lambda: PZ.register_parametrization(nn.Linear(2, 2), "weight", WrongInv()))


@program()
def prune_methods_masks_and_removal(torch, log):
    nn, prune = torch.nn, _module(torch, "nn.utils.prune")
    torch.manual_seed(0)
    m = nn.Linear(4, 3)
    prune.random_unstructured(m, "weight", amount=0.3)
    log(m.weight_mask, sorted(n for n, _ in m.named_buffers()),
        sorted(n for n, _ in m.named_parameters()))
    prune.l1_unstructured(m, "weight", amount=2)
    log(m.weight_mask, m.weight)
    hook = next(iter(m._forward_pre_hooks.values()))
    log(type(hook).__name__, [type(h).__name__ for h in hook] if hasattr(hook, "__iter__")
        else None)
    prune.remove(m, "weight")
    log(sorted(n for n, _ in m.named_buffers()), m.weight)
    c = nn.Conv2d(2, 4, 3)
    prune.ln_structured(c, "weight", amount=0.5, n=2, dim=0)
    log(c.weight_mask.sum((1, 2, 3)))
    prune.random_structured(c, "bias", amount=1, dim=0)
    log(c.bias_mask)
    _err(log, lambda: prune.l1_unstructured(c, "weight", amount=1.5))
    _err(log, lambda: prune.l1_unstructured(c, "weight", amount=-1))
    _err(log, lambda: prune.l1_unstructured(c, "weight", amount=1000))
    _err(log, lambda: prune.remove(nn.Linear(2, 2), "weight"))
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    prune.global_unstructured([(net[0], "weight"), (net[1], "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.5)
    log(net[0].weight_mask, net[1].weight_mask, prune.is_pruned(net), prune.is_pruned(c))
    prune.identity(net[1], "bias")
    log(net[1].bias_mask)
    lin = nn.Linear(3, 3)
    prune.custom_from_mask(lin, "weight", torch.tensor([[1, 0, 1]] * 3))
    log(lin.weight_mask, lin.weight_mask.dtype)
    _err(log, lambda: prune.global_unstructured([(lin, "weight")],
                                                pruning_method=prune.LnStructured, amount=1))


# ---- packed sequences and recurrent layers ------------------------------------------------

@program(tol=1e-5)
def packed_sequence_objects_and_methods(torch, log):
    R = torch.nn.utils.rnn
    torch.manual_seed(0)
    seqs = [torch.randn(n, 2) for n in (2, 4, 3)]
    p = R.pack_sequence(seqs, enforce_sorted=False)
    log(p.data, p.batch_sizes, p.sorted_indices, p.unsorted_indices, p.is_cuda)
    print(type(p).__name__, p._fields)
    log(p.batch_sizes.dtype, p.data.dtype, p.is_pinned())
    q = p.to(torch.float64)
    log(q.data.dtype, q.batch_sizes.dtype, q.sorted_indices.dtype, p.double().data.dtype,
        p.half().data.dtype, p.long().data.dtype)
    log(R.unpack_sequence(p))
    padded, lens = R.pad_packed_sequence(p, batch_first=True, padding_value=-1.0)
    log(padded, lens, lens.dtype)
    padded, lens = R.pad_packed_sequence(p, total_length=6)
    log(padded.shape, lens)
    _err(log, lambda: R.pad_packed_sequence(p, total_length=2))
    _err(log, lambda: R.pack_sequence(seqs))
    _err(log, lambda: R.pack_padded_sequence(torch.zeros(3, 4, 2), torch.tensor([2, 4, 0]),
                                             batch_first=True, enforce_sorted=False))
    _err(log, lambda: R.pack_padded_sequence(torch.zeros(3, 4, 2), [2, 3],
                                             batch_first=True, enforce_sorted=False))
    pp = R.pack_padded_sequence(torch.arange(12.0).view(3, 4, 1), torch.tensor([4, 2, 1]),
                                batch_first=True)
    log(pp.data.view(-1), pp.batch_sizes, pp.sorted_indices)
    log(R.pad_sequence(seqs, padding_value=9.0).shape,
        R.pad_sequence(seqs, batch_first=True, padding_side="left")[0])
    log(R.unpad_sequence(R.pad_sequence(seqs), torch.tensor([2, 4, 3])))
    log(R.invert_permutation(torch.tensor([2, 0, 1])), R.invert_permutation(None))
    print(R.PackedSequence(torch.zeros(3, 1), torch.tensor([2, 1])))
    _err(log, lambda: R.pad_sequence([]))


@program(tol=1e-5)
def rnn_packed_bidirectional_proj_and_hidden_order(torch, log):
    nn, R = torch.nn, torch.nn.utils.rnn
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4)
    lengths = torch.tensor([3, 5, 2])
    for cls, kw in ((nn.LSTM, dict(proj_size=2)), (nn.GRU, {}), (nn.RNN, dict(nonlinearity="relu")),
                    (nn.LSTM, {})):
        rnn = cls(4, 3, num_layers=2, bidirectional=True, batch_first=True, **kw)
        packed = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = rnn(packed)
        pad, ln = R.pad_packed_sequence(out, batch_first=True)
        hs = h if isinstance(h, tuple) else (h,)
        log(cls.__name__, pad.shape, ln, pad[:, :, :2], [t.shape for t in hs], hs[0][-1])
        full, hf = rnn(x)
        log(full.shape, (hf if not isinstance(hf, tuple) else hf[0]).shape)
        (pad.sum() + hs[0].sum()).backward()
        log(rnn.weight_ih_l0.grad.norm(), rnn.bias_hh_l1_reverse.grad)
    lstm = nn.LSTM(4, 3, proj_size=2, batch_first=True)
    h0 = (torch.zeros(1, 3, 2), torch.zeros(1, 3, 3))
    log(lstm(x, h0)[0].shape)
    _err(log, lambda: lstm(x, (torch.zeros(1, 3, 3), torch.zeros(1, 3, 3))))
    _err(log, lambda: nn.LSTM(4, 3, proj_size=3))
    _err(log, lambda: nn.GRU(4, 3, proj_size=1))
    _err(log, lambda: nn.LSTM(4, 3, proj_size=-1))
    print(nn.LSTM(4, 3, proj_size=2, num_layers=2, bidirectional=True, dropout=0.1))
    log([n for n, _ in nn.LSTM(4, 3, proj_size=2).named_parameters()])


@program(tol=1e-5)
def rnn_cells_and_flatten_parameters(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    for cell in (nn.RNNCell(3, 2), nn.RNNCell(3, 2, nonlinearity="relu", bias=False),
                 nn.GRUCell(3, 2), nn.LSTMCell(3, 2)):
        x = torch.randn(4, 3)
        out = cell(x)
        log(type(cell).__name__, out)
        out1 = cell(x[0])
        log([t.shape for t in out1] if isinstance(out1, tuple) else out1.shape)
        print(cell)
    _err(log, lambda: nn.RNNCell(3, 2, nonlinearity="gelu"))
    _err(log, lambda: nn.RNN(3, 2, nonlinearity="gelu"))
    _err(log, lambda: nn.GRUCell(3, 2)(torch.randn(4, 3), torch.randn(3, 2)))
    _err(log, lambda: nn.GRUCell(3, 2)(torch.randn(4, 2)))
    _err(log, lambda: nn.LSTMCell(3, 2)(torch.randn(2, 2, 3)))
    g = nn.GRU(3, 2, num_layers=2, dropout=0.5)
    g.flatten_parameters()
    log(len(g.all_weights), [len(w) for w in g.all_weights], g._flat_weights_names)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.GRU(3, 2, num_layers=1, dropout=0.5)
    log([str(x.message) for x in w])
    _err(log, lambda: nn.GRU(3, 2, dropout=1.5))
    _err(log, lambda: nn.GRU(3, 0))
    _err(log, lambda: nn.GRU(3, 2, num_layers=0))
    _err(log, lambda: nn.GRU(3, 2)(torch.randn(5, 4, 2)))
    _err(log, lambda: nn.GRU(3, 2)(torch.randn(5, 4, 3), torch.randn(2, 4, 2)))
    _err(log, lambda: nn.GRU(3, 2)(torch.randn(5, 3), torch.randn(1, 4, 2)))


# ---- generators ---------------------------------------------------------------------------

@program()
def generator_state_round_trips_and_forks(torch, log):
    g = torch.Generator()
    log(g.initial_seed(), str(g.device), repr(g.device))
    r = g.manual_seed(123)
    log(r is g, g.initial_seed())
    s = g.get_state()
    log(s.dtype, s.shape, s[:8])
    a = torch.rand(3, generator=g)
    g.set_state(s)
    b = torch.rand(3, generator=g)
    log(a, b, torch.equal(a, b))
    c = g.clone_state() if hasattr(g, "clone_state") else None
    log(type(c).__name__)
    torch.manual_seed(7)
    st = torch.get_rng_state()
    x1 = torch.randn(4)
    torch.set_rng_state(st)
    x2 = torch.randn(4)
    log(torch.equal(x1, x2), torch.initial_seed())
    with torch.random.fork_rng():
        torch.randn(100)
    log(torch.randn(2))
    with torch.random.fork_rng(enabled=False):
        torch.randn(1)
    log(torch.randn(2))
    _err(log, lambda: g.set_state(torch.zeros(3)))
    _err(log, lambda: g.set_state(s.float()))
    _err(log, lambda: torch.Generator().manual_seed(-1).initial_seed())
    log(torch.Generator().manual_seed(2 ** 64 - 1).initial_seed())
    _err(log, lambda: torch.Generator().manual_seed(2 ** 64))
    _err(log, lambda: torch.Generator().manual_seed("3"))
    for seed in (3.0, True, torch.tensor(3), None, __import__("numpy").int64(3)):
        _err(log, lambda: torch.Generator().manual_seed(seed).initial_seed())
        _err(log, lambda: torch.manual_seed(seed).initial_seed())
    log(torch.manual_seed("5").initial_seed(), torch.random.manual_seed(2.7).initial_seed())
    g2 = torch.Generator().manual_seed(5)
    log(torch.randperm(6, generator=g2), torch.randint(0, 10, (3,), generator=g2),
        torch.normal(0.0, 1.0, (2,), generator=g2), torch.multinomial(torch.ones(4), 2,
                                                                      generator=g2))
    log(torch.empty(3).uniform_(generator=g2), torch.empty(3).exponential_(generator=g2),
        torch.empty(3).geometric_(0.3, generator=g2), torch.empty(3).cauchy_(generator=g2),
        torch.empty(3).log_normal_(generator=g2), torch.empty(3, dtype=torch.int64)
        .random_(5, generator=g2), torch.bernoulli(torch.full((4,), 0.5), generator=g2),
        torch.poisson(torch.ones(3), generator=g2))
    log(torch.random.initial_seed() == torch.initial_seed(), torch.default_generator.initial_seed())
    print(type(torch.default_generator).__name__)


@program()
def generator_seed_pickle_and_dataloader_determinism(torch, log):
    import pickle
    g = torch.Generator().manual_seed(11)
    torch.rand(2, generator=g)
    h = pickle.loads(pickle.dumps(g))
    log(type(h).__name__, torch.rand(2, generator=g), torch.rand(2, generator=h))
    D = torch.utils.data
    ds = D.TensorDataset(torch.arange(10))
    runs = []
    for _ in range(2):
        dl = D.DataLoader(ds, batch_size=3, shuffle=True,
                          generator=torch.Generator().manual_seed(3))
        runs.append([b[0].tolist() for b in dl])
    log(runs)
    torch.manual_seed(0)
    dl = D.DataLoader(ds, batch_size=4, shuffle=True)
    log([b[0].tolist() for b in dl], [b[0].tolist() for b in dl])
    rs = D.RandomSampler(range(5), replacement=True, num_samples=8,
                         generator=torch.Generator().manual_seed(1))
    log(list(rs), len(rs))
    _err(log, lambda: D.RandomSampler(range(5), num_samples=0))
    _err(log, lambda: D.RandomSampler(range(5), replacement=1))
    sr = D.SubsetRandomSampler([5, 6, 7], generator=torch.Generator().manual_seed(2))
    log(list(sr), list(sr), len(sr))
    split = D.random_split(range(10), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(4))
    log([list(s) for s in split], [len(s) for s in split])
    split = D.random_split(range(7), [0.5, 0.5], generator=torch.Generator().manual_seed(4))
    log([list(s) for s in split])
    _err(log, lambda: D.random_split(range(7), [0.5, 0.6]))
    _err(log, lambda: D.random_split(range(7), [3, 3]))


# ---- printing -----------------------------------------------------------------------------

@program()
def print_mixed_magnitudes_and_profiles(torch, log):
    vals = [torch.tensor([1e-5, 1.0, 1e5]), torch.tensor([1e-9, 3e-9]),
            torch.tensor([123456789.0, 1.0]), torch.tensor([0.1, 0.25, -7.0]),
            torch.tensor([1e20, -1e-20, 0.0]), torch.tensor([float("inf"), -float("inf"), 1.5]),
            torch.tensor([float("nan"), 1e-4]), torch.tensor([2.0 ** 24, 1.0]),
            torch.tensor([1e8, 1.0], dtype=torch.float64), torch.tensor([0.5], dtype=torch.half),
            torch.tensor([1e4, 1e-4], dtype=torch.bfloat16)]
    for v in vals:
        print(v)
    for prof in ("short", "full", "default"):
        torch.set_printoptions(profile=prof)
        print(torch.tensor([1 / 3, 2e-3, 5.0]))
        print(torch.arange(2000.0).view(2, 1000)[:, :8])
    torch.set_printoptions(precision=2, sci_mode=False)
    print(torch.tensor([1e-5, 123456.789]))
    torch.set_printoptions(precision=6, sci_mode=True)
    print(torch.tensor([1.5, 2.0]), torch.tensor(3.0), torch.tensor([1, 2]))
    torch.set_printoptions(sci_mode=None, precision=4)
    torch.set_printoptions(threshold=5, edgeitems=2)
    print(torch.arange(10), torch.arange(24.0).view(2, 3, 4), torch.zeros(6, dtype=torch.bool))
    torch.set_printoptions(profile="default")
    torch.set_printoptions(linewidth=30)
    print(torch.linspace(0, 1, 12))
    print(torch.tensor([1 + 2j, 3.5 - 1e-3j, -2j]))
    torch.set_printoptions(profile="default")
    print(torch.tensor([1.0, 2.0]).to(torch.float64), torch.tensor([1, 2], dtype=torch.int8),
          torch.tensor([True]), torch.tensor([1.5], requires_grad=True) * 2)
    print(torch.tensor([[1e-3, 1e3], [5.0, 7.0]], dtype=torch.float64))
    print(torch.tensor([-0.0, 0.0, 1.0]), torch.tensor([1e-8, -1e-8]))
    print(torch.empty(0, 2, dtype=torch.int32), torch.empty(2, 0, 3))
    log(str(torch.tensor(1e-30)), format(torch.tensor(2.5), ".3f"), repr(torch.tensor(-0.0)))


@program()
def print_complex_int_bool_and_named_args(torch, log):
    print(torch.tensor([1 + 1j, 1e-5 + 2j, 1e5 - 1j]))
    print(torch.tensor([0j, float("nan") + 1j, complex(float("inf"), -1)]))
    print(torch.tensor([[1 + 2j]], dtype=torch.complex128))
    print(torch.tensor([1000000, -5, 0]), torch.tensor([2 ** 62, 1]),
          torch.tensor([255], dtype=torch.uint8))
    print(torch.tensor([[True, False], [False, True]]))
    print(torch.zeros(2, 3).to_sparse())
    print(torch.tensor([1.0, 2.0], dtype=torch.float16, requires_grad=True))
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    print(x.sum(), x * 3, x.clone(), x.detach(), x.view(2, 1), x[0], x.exp().mean())
    print(torch.nn.Parameter(torch.tensor([1.0])))
    print(torch.nn.Parameter(torch.tensor([1], dtype=torch.int64), requires_grad=False))
    print(torch.tensor([1.0]).to("meta"), torch.empty(2, 3, device="meta", dtype=torch.int64))
    print(torch.ones(2, names=("N", "C")) if hasattr(torch.ones(1), "names") else None)
    print(torch.tensor([1.0 + 0j]).conj(), torch.tensor([1 + 1j]).conj().imag)
    print(torch.tensor([1.0, 2.0]).to(torch.float8_e4m3fn) if hasattr(torch, "float8_e4m3fn")
          else None)
    print(torch.tensor(5, dtype=torch.int16), torch.tensor(True), torch.tensor(2.5,
                                                                              dtype=torch.bfloat16))
    print(torch.tensor([0.1], dtype=torch.float64) * 3)
    print(torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.1, 0, torch.quint8)
          if hasattr(torch, "quantize_per_tensor") else None)


# ---- einsum, scatter/gather/index, where/nonzero/unique -----------------------------------

@program(tol=1e-5)
def einsum_edge_cases_and_errors(torch, log):
    torch.manual_seed(0)
    a, b = torch.randn(3, 3), torch.randn(3, 4)
    log(torch.einsum("ii", a), torch.einsum("ii->i", a), torch.einsum("ij,jk", a, b))
    log(torch.einsum("i,i->", a[0], a[1]), torch.einsum("i,j->ij", a[0], b[0]))
    log(torch.einsum("...ij,...jk->...ik", torch.randn(2, 3, 3), b).shape)
    log(torch.einsum("bij->", torch.ones(2, 3, 4)), torch.einsum("ij->ji", b).shape)
    log(torch.einsum(a, [0, 1], b, [1, 2], [0, 2]).shape, torch.einsum(a, [0, 0]))
    log(torch.einsum(a, [Ellipsis, 0], [Ellipsis]).shape)
    log(torch.einsum("i j , j k -> i k", a, b).shape, torch.einsum("ij,ij->ij", a, a).shape)
    log(torch.einsum("iij->j", torch.randn(2, 2, 3)))
    log(torch.einsum("i,i", torch.tensor([1, 2]), torch.tensor([3, 4])))
    log(torch.einsum("ab,b->a", torch.zeros(0, 3), torch.ones(3)).shape)
    log(torch.einsum("Ab,bC->AC", a, b).shape)
    log(torch.einsum("ij,jk,kl->il", a, b, torch.randn(4, 2)).shape)
    log(torch.einsum("i,j,k->ijk", torch.ones(2), torch.ones(3), torch.ones(1)).shape)
    log(torch.einsum("...,...->...", torch.ones(2, 1), torch.ones(3)).shape)
    for eq, ops in (("ij,jk", (a, a[:2])), ("ij", (a, b)), ("ijk", (a,)), ("ij->k", (a,)),
                    ("i->ii", (a[0],)), ("ij,jk->ik", (a,)), ("i1", (a[0],)),
                    ("ij->ij->", (a,)), ("...i,...i", (torch.ones(2, 3), torch.ones(4, 3))),
                    ("ii", (b,)), ("i..j", (a,)), ("ij,ij", (a, a.double())),
                    ("ij-> i1", (a,)), ("ij->i,j", (a,)), ("ij->....", (a,)),
                    ("ij->i.", (a,)), ("ij->jj", (a,))):
        _err(log, lambda: torch.einsum(eq, *ops).shape)
    log(torch.einsum("ij,ij->", torch.tensor([[1 + 1j]]), torch.tensor([[2 - 1j]])))
    log(torch.einsum("i,i->", torch.tensor([True, False]), torch.tensor([True, True])))
    x = torch.randn(3, requires_grad=True)
    torch.einsum("i,i,i->", x, x, x).backward()
    log(x.grad, x ** 2 * 3)


@program()
def scatter_gather_index_reduce_variants(torch, log):
    src = torch.arange(1.0, 7.0).view(2, 3)
    idx = torch.tensor([[0, 1, 0], [1, 0, 0]])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            log(reduce, inc, torch.zeros(2, 3).fill_(2).scatter_reduce(0, idx, src, reduce,
                                                                        include_self=inc))
    log(torch.zeros(3, 3).scatter_(1, idx, src, reduce="add"),
        torch.ones(3, 3).scatter_(1, idx, 2.5, reduce="multiply"))
    log(torch.zeros(2, 4).scatter(1, torch.tensor([[3], [0]]), 7.0))
    log(torch.gather(src, 1, torch.tensor([[2, 2], [0, 1]])), src.gather(0, idx[:, :2]))
    log(torch.take_along_dim(src, torch.tensor([[1], [2]]), 1), torch.take(src, idx))
    t = torch.zeros(4, 2)
    for reduce in ("prod", "mean", "amax", "amin"):
        log(reduce, t.clone().fill_(1).index_reduce_(0, torch.tensor([0, 0, 3]),
                                                     torch.tensor([[2., 3.], [4., 5.],
                                                                   [6., 7.]]), reduce))
        log(t.clone().fill_(1).index_reduce(0, torch.tensor([0, 0, 3]),
                                            torch.tensor([[2., 3.], [4., 5.], [6., 7.]]),
                                            reduce, include_self=False))
    log(torch.zeros(3).index_add(0, torch.tensor([0, 0, 2]), torch.tensor([1., 2., 3.]),
                                 alpha=2))
    log(torch.zeros(2, 3).index_copy(1, torch.tensor([2, 0]), torch.ones(2, 2)),
        torch.zeros(2, 3).index_fill(1, torch.tensor([1]), -1.0),
        torch.arange(6).view(2, 3).index_select(1, torch.tensor([2, 2, 0])))
    log(torch.zeros(5, dtype=torch.int64).scatter_add(0, torch.tensor([1, 1, 4]),
                                                      torch.tensor([5, 6, 7])))
    _err(log, lambda: torch.zeros(2, 3).scatter_reduce(0, idx, src, "max"))
    _err(log, lambda: torch.zeros(2, 3).scatter_(0, idx.float(), src))
    _err(log, lambda: torch.zeros(2, 3).scatter_(0, torch.tensor([[5, 0, 0]]), src))
    _err(log, lambda: torch.zeros(2, 3).gather(1, torch.tensor([[3]])))
    _err(log, lambda: torch.zeros(2, 3).gather(1, torch.tensor([0])))
    _err(log, lambda: torch.zeros(2, 3).index_reduce_(0, torch.tensor([0]), torch.ones(1, 3),
                                                      "sum"))
    _err(log, lambda: torch.zeros(2, 3).index_add_(0, torch.tensor([0, 1]), torch.ones(3, 3)))
    _err(log, lambda: torch.zeros(2, 3).index_copy_(0, torch.tensor([2]), torch.ones(1, 3)))
    _err(log, lambda: torch.zeros(2, 3).scatter_(0, idx, src.double()))
    _err(log, lambda: torch.zeros(2, 3).index_fill_(0, torch.tensor([0.0]), 1.0))
    _err(log, lambda: torch.zeros(2, 3).index_select(0, torch.tensor([[0]])))
    _err(log, lambda: torch.zeros(2, 3).scatter_(2, idx, src))
    _err(log, lambda: torch.zeros(2, 3).scatter_(0, idx, src, reduce="mean"))


@program()
def where_nonzero_unique_variants(torch, log):
    x = torch.tensor([[0, 3, 0], [2, 0, 2]])
    log(torch.where(x > 0), torch.nonzero(x), torch.nonzero(x, as_tuple=True),
        x.nonzero_static(size=5, fill_value=-1) if hasattr(x, "nonzero_static") else None)
    log(torch.nonzero(torch.tensor(5)), torch.nonzero(torch.tensor(0), as_tuple=True),
        torch.nonzero(torch.tensor(3.0), as_tuple=True), torch.argwhere(x))
    log(torch.where(x > 0, x, -1), torch.where(x > 0, 1.5, x), torch.where(x > 0, 1, 0).dtype,
        torch.where(x > 0, 1.0, 0).dtype, torch.where(x > 0, x.double(), 1.0).dtype)
    log(torch.where(torch.tensor([True, False]), torch.tensor(1, dtype=torch.uint8),
                    torch.tensor([-1], dtype=torch.int8)))
    _err(log, lambda: torch.where(x, x, x))
    _err(log, lambda: torch.where(x > 0, x))
    _err(log, lambda: torch.where(x > 0, other=x))
    _err(log, lambda: torch.where(x > 0, None, x))
    _err(log, lambda: torch.where(x > 0, x, [1, 2]))
    _err(log, lambda: torch.where(x > 0, out=x))
    _err(log, lambda: x.where(x > 0))
    _err(log, lambda: x.where(x > 0, None))
    _err(log, lambda: x.where(x > 0, "0"))
    u = torch.tensor([3, 1, 2, 3, 1, 5])
    log(torch.unique(u), torch.unique(u, sorted=False), torch.unique(u, return_inverse=True,
                                                                     return_counts=True))
    log(u.unique(sorted=True, return_counts=True), torch.unique_consecutive(
        torch.tensor([1, 1, 2, 2, 2, 1]), return_inverse=True, return_counts=True))
    m = torch.tensor([[1, 2], [1, 2], [0, 5], [1, 2]])
    log(torch.unique(m, dim=0, return_inverse=True, return_counts=True),
        torch.unique(m, dim=1), torch.unique_consecutive(m, dim=0))
    log(torch.unique(torch.tensor([float("nan"), 1.0, float("nan")])),
        torch.unique(torch.tensor([True, False, True])), torch.unique(torch.tensor([])))
    log(torch.unique(torch.empty(0, 2), dim=0, return_counts=True),
        torch.unique(torch.tensor([[2.0, -0.0], [2.0, 0.0]]), dim=0))
    _err(log, lambda: torch.unique(m, dim=2))
    log(torch.count_nonzero(x), torch.count_nonzero(x, dim=0), torch.count_nonzero(x, (0, 1)))
    log(torch.bincount(torch.tensor([0, 2, 2]), minlength=5),
        torch.bincount(torch.tensor([1, 1]), weights=torch.tensor([0.5, 2.0])))
    log(torch.histc(torch.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4))
    log(torch.isin(u, torch.tensor([1, 5])), torch.isin(u, 3, invert=True))


# ---- complex autograd and in-place version counters ---------------------------------------

@program(tol=1e-6)
def complex_autograd_through_common_ops(torch, log):
    torch.manual_seed(0)
    z = torch.randn(3, dtype=torch.complex64, requires_grad=True)
    for name, f in (("abs", lambda t: t.abs().sum()), ("angle", lambda t: t.angle().sum()),
                    ("real", lambda t: t.real.sum() * 2), ("imag", lambda t: (t.imag ** 2).sum()),
                    ("conj", lambda t: (t.conj() * t).real.sum()),
                    ("sgn", lambda t: t.sgn().real.sum()),
                    ("view_as_real", lambda t: torch.view_as_real(t).pow(2).sum()),
                    ("exp", lambda t: t.exp().abs().sum()), ("log", lambda t: t.log().imag.sum()),
                    ("sqrt", lambda t: t.sqrt().real.sum()),
                    ("reciprocal", lambda t: t.reciprocal().abs().sum()),
                    ("polar", lambda t: torch.polar(t.abs(), t.angle()).real.sum()),
                    ("matmul", lambda t: (t.view(3, 1) @ t.view(1, 3)).abs().sum()),
                    ("fft", lambda t: torch.fft.fft(t).abs().sum()),
                    ("sigmoid", lambda t: torch.sigmoid(t).real.sum()),
                    ("tanh", lambda t: t.tanh().imag.sum()),
                    ("mul_real", lambda t: (t * 2.5).real.sum()),
                    ("div", lambda t: (1 / (t + 2)).real.sum()),
                    ("prod", lambda t: t.prod().abs()), ("norm", lambda t: t.norm()),
                    ("linalg_vector_norm", lambda t: torch.linalg.vector_norm(t, 3)),
                    ("vdot", lambda t: torch.vdot(t, t).real),
                    ("cumsum", lambda t: t.cumsum(0).abs().sum())):
        z.grad = None
        out = f(z)
        out.backward()
        log(name, out, z.grad)
    _err(log, lambda: (z * 2).sum().backward())
    _err(log, lambda: torch.autograd.grad(z.abs().sum(), z, torch.tensor(1j)))
    w = torch.randn(2, 2, dtype=torch.complex128, requires_grad=True)
    out = torch.linalg.det(w).abs() + torch.linalg.inv(w).abs().sum()
    out.backward()
    log(w.grad)
    x = torch.randn(3, requires_grad=True)
    c = torch.complex(x, x * 2)
    c.abs().sum().backward()
    log(x.grad, c.grad_fn.name())
    r = torch.randn(3, requires_grad=True)
    (r * torch.tensor([1j, 2, 3 - 1j])).abs().sum().backward()
    log(r.grad)


@program()
def inplace_version_counter_messages(torch, log):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b.sigmoid()
    log(b._version, c._version)
    b.add_(1)
    log(b._version)
    c.mul_(2)
    _err(log, lambda: c.sum().backward())
    d = a.exp()
    d += 1
    _err(log, lambda: d.sum().backward())
    e = a * 1
    v = e[0]
    f = e.pow(2)
    v.mul_(3)
    log(e._version, v._version)
    _err(log, lambda: f.sum().backward())
    g = a.clone()
    h = g.view(2, 1)
    h.t_() if False else None
    g.zero_()
    log(h._version, g._version)
    _err(log, lambda: a.add_(1))
    with torch.no_grad():
        a.add_(1)
    log(a._version, a)
    x = torch.ones(3, requires_grad=True)
    y = x.tanh()
    y.detach().zero_()
    _err(log, lambda: y.sum().backward())
    z = torch.ones(3, requires_grad=True).clone()
    w = z.unbind(0)
    _err(log, lambda: w[0].mul_(2))
    s = z.split(1)
    _err(log, lambda: s[0].add_(1))
    t = z.chunk(3)
    _err(log, lambda: t[1].copy_(torch.zeros(1)))
    with torch.inference_mode():
        inf = torch.ones(2)
    _err(log, lambda: inf.add_(1))
    log(inf.is_inference(), torch.ones(2).is_inference())
    k = torch.ones(2, requires_grad=True)
    m = k.expand(3, 2)
    _err(log, lambda: (m * 1).add_(1).sum().backward())
    _err(log, lambda: k.detach().resize_(4).shape)
    _err(log, lambda: (k * 1).resize_(4))
    n = torch.ones(4, requires_grad=True).clone()
    _err(log, lambda: n.set_(torch.zeros(2)))
    log(n._version)


# ---- torch.utils.data ---------------------------------------------------------------------

@program()
def collate_namedtuples_dicts_and_strings(torch, log):
    import collections
    D = torch.utils.data
    Point = collections.namedtuple("Point", ["x", "y"])
    batch = [Point(torch.tensor([1.0]), 2), Point(torch.tensor([3.0]), 4)]
    out = D.default_collate(batch)
    log(type(out).__name__, out)
    batch = [{"img": torch.ones(2), "label": 1, "name": "a", "meta": {"w": 0.5}},
             {"img": torch.zeros(2), "label": 0, "name": "b", "meta": {"w": 1.5}}]
    log(D.default_collate(batch))
    log(D.default_collate([(1, "x", b"y"), (2, "z", b"w")]))
    import numpy as np
    log(D.default_collate([np.array([1, 2]), np.array([3, 4])]),
        D.default_collate([np.float32(1.5), np.float32(2.5)]),
        D.default_collate([np.int16(1), np.int16(2)]), D.default_collate([True, False]))
    log(D.default_collate([[1, 2], [3, 4]]), D.default_collate([(1.0, 2), (3.0, 4)]))
    _err(log, lambda: D.default_collate([[1, 2], [3]]))
    _err(log, lambda: D.default_collate([object(), object()]))
    _err(log, lambda: D.default_collate([np.array(["a"]), np.array(["b"])]))
    _err(log, lambda: D.default_collate([torch.ones(2), torch.ones(3)]))
    _err(log, lambda: D.default_collate([None, None]))
    log(D.default_convert([np.array([1.0]), {"a": np.int64(3)}, (np.float64(2.0),)]))
    log(D.default_collate([torch.tensor(1), torch.tensor(2)]),
        D.default_collate([torch.ones(2, dtype=torch.int8)] * 2).dtype)
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    log(type(D.default_collate([od, od])).__name__, list(D.default_collate([od, od])))
    dd = collections.defaultdict(int, {"k": torch.ones(1)})
    log(type(D.default_collate([dd, dd])).__name__)


@program()
def iterable_dataset_loaders_and_worker_info(torch, log):
    D = torch.utils.data

    class Stream(D.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = D.get_worker_info()
            log("worker", info)
            return iter(range(self.n))

    dl = D.DataLoader(Stream(7), batch_size=3)
    log([b.tolist() for b in dl])
    dl = D.DataLoader(Stream(7), batch_size=3, drop_last=True)
    log([b.tolist() for b in dl])
    dl = D.DataLoader(Stream(4), batch_size=None)
    log([b for b in dl])
    _err(log, lambda: len(D.DataLoader(Stream(4))))
    _err(log, lambda: D.DataLoader(Stream(4), shuffle=True))
    _err(log, lambda: D.DataLoader(Stream(4), sampler=[0, 1]))
    _err(log, lambda: D.DataLoader(Stream(4), batch_sampler=[[0, 1]]))

    class Sized(D.IterableDataset):
        def __iter__(self):
            return iter([torch.tensor([i, i]) for i in range(5)])

        def __len__(self):
            return 3

    dl = D.DataLoader(Sized(), batch_size=2)
    log(len(dl), [b.tolist() for b in dl])
    chained = D.ChainDataset([Stream(2), Stream(3)])
    log(list(chained))
    _err(log, lambda: len(chained))
    _err(log, lambda: type(Stream(2) + D.TensorDataset(torch.ones(2))).__name__)
    log(list(Stream(2) + Stream(1)))
    log(type(Stream(2) + Stream(1)).__name__)
    _err(log, lambda: D.ConcatDataset([Stream(2)]))
    _err(log, lambda: Stream(3)[0])


@program()
def samplers_batch_sampler_and_distributed(torch, log):
    D = torch.utils.data
    bs = D.BatchSampler(D.SequentialSampler(range(7)), batch_size=3, drop_last=False)
    log(list(bs), len(bs))
    bs = D.BatchSampler(range(7), batch_size=3, drop_last=True)
    log(list(bs), len(bs))
    _err(log, lambda: D.BatchSampler(range(7), batch_size=0, drop_last=False))
    _err(log, lambda: D.BatchSampler(range(7), batch_size=2, drop_last=1))
    _err(log, lambda: D.BatchSampler(range(7), batch_size=True, drop_last=False))
    ds = D.TensorDataset(torch.arange(10).float(), torch.arange(10))
    dl = D.DataLoader(ds, batch_sampler=D.BatchSampler(D.SequentialSampler(ds), 4, False))
    log([b[1].tolist() for b in dl], len(dl))
    _err(log, lambda: D.DataLoader(ds, batch_sampler=bs, batch_size=2))
    _err(log, lambda: D.DataLoader(ds, batch_sampler=bs, drop_last=True))
    _err(log, lambda: D.DataLoader(ds, sampler=[0], shuffle=True))
    for rank in range(3):
        s = D.DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=False)
        log(rank, list(s), len(s))
        s = D.DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=True, seed=1,
                                 drop_last=True)
        s.set_epoch(2)
        log(list(s), len(s))
    _err(log, lambda: D.DistributedSampler(range(10), num_replicas=3, rank=3))
    _err(log, lambda: D.DistributedSampler(range(10), num_replicas=3, rank=-1))
    _err(log, lambda: D.DistributedSampler(range(10)))
    w = D.WeightedRandomSampler([0.1, 0.0, 0.9], 6, generator=torch.Generator().manual_seed(0))
    log(list(w), len(w))
    w = D.WeightedRandomSampler(torch.tensor([1.0, 2.0]), 3, replacement=False)
    _err(log, lambda: list(w))
    _err(log, lambda: D.WeightedRandomSampler([1.0], 0))
    _err(log, lambda: D.WeightedRandomSampler([[1.0, 2.0]], 1))
    _err(log, lambda: D.WeightedRandomSampler([1.0], 1, replacement="yes"))
    log(list(D.SequentialSampler("abc")), len(D.SequentialSampler([1, 2])))
    dl = D.DataLoader(ds, batch_size=4, sampler=D.SubsetRandomSampler(
        [1, 3, 5, 7, 9], generator=torch.Generator().manual_seed(0)))
    log([b[1].tolist() for b in dl], len(dl))


# ---- copying, pickling and NumPy at the edges ---------------------------------------------

@program()
def deepcopy_pickle_of_tensors_with_grad_state(torch, log):
    import copy
    import pickle
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    b = copy.deepcopy(a)
    log(b.requires_grad, b.grad, b.is_leaf, b.grad is a.grad)
    c = a * 2
    _err(log, lambda: copy.deepcopy(c))
    d = pickle.loads(pickle.dumps(a))
    log(d.requires_grad, d.grad)
    _err(log, lambda: (pickle.loads(pickle.dumps(c)).requires_grad,
                       pickle.loads(pickle.dumps(c))))
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.full((2,), 5.0)
    q = copy.deepcopy(p)
    log(type(q).__name__, q.grad, q.requires_grad)
    r = pickle.loads(pickle.dumps(p))
    log(type(r).__name__, r.grad, r.requires_grad)
    base = torch.arange(6.0)
    v = base[2:4]
    vs = copy.deepcopy([base, v])
    vs[0][2] = 100
    log(vs[1], vs[1]._base is vs[0], vs[1].storage_offset())
    x = copy.copy(a)
    log(x is a, x.requires_grad, x.grad)
    t = torch.ones(2)
    t.foo = "bar"
    log(copy.deepcopy(t).foo, pickle.loads(pickle.dumps(t)).foo)
    m = torch.nn.Linear(2, 2)
    m2 = copy.deepcopy(m)
    log(m2.weight is m.weight, torch.equal(m2.weight, m.weight), type(m2.weight).__name__)
    with torch.no_grad():
        m2.weight.add_(1)
    log(torch.equal(m2.weight, m.weight))
    sh = copy.deepcopy({"w": m.weight, "again": m.weight})
    log(sh["w"] is sh["again"])
    g = torch.Generator().manual_seed(3)
    g2 = copy.deepcopy(g)
    log(torch.rand(2, generator=g), torch.rand(2, generator=g2))


@program()
def numpy_interop_dtypes_byteorder_and_arrays(torch, log):
    import numpy as np
    log(torch.from_numpy(np.array([1, 2], dtype=">i4")) if False else None)
    _err(log, lambda: torch.from_numpy(np.array([1, 2], dtype=">i4")))
    _err(log, lambda: torch.from_numpy(np.array(["a"])))
    _err(log, lambda: torch.from_numpy(np.array([1 + 1j], dtype=np.complex256))
         if hasattr(np, "complex256") else None)
    _err(log, lambda: torch.from_numpy([1, 2]))
    log(torch.from_numpy(np.array([1, 2], dtype=np.uint16)).dtype,
        torch.from_numpy(np.array([1], dtype=np.uint32)).dtype,
        torch.from_numpy(np.array([1], dtype=np.uint64)).dtype,
        torch.from_numpy(np.array(3.5)).shape, torch.from_numpy(np.zeros((2, 0))).shape)
    a = np.arange(6.0).reshape(2, 3)[:, ::2]
    t = torch.from_numpy(a)
    log(t.stride(), t.is_contiguous(), t)
    _err(log, lambda: torch.from_numpy(np.arange(6.0)[::-1]))
    log(torch.as_tensor(np.arange(6.0)[::-1]), torch.tensor(np.arange(3)[::-1]))
    t = torch.arange(4.0)
    n = t.numpy()
    n[0] = 9
    log(t, np.asarray(t).dtype, np.array(t, dtype=np.int32), np.asarray(t[1:]).flags.writeable)
    log(torch.ones(2, dtype=torch.bfloat16).float().numpy().dtype.name)
    _err(log, lambda: torch.ones(2, dtype=torch.bfloat16).numpy())
    _err(log, lambda: torch.ones(2, requires_grad=True).numpy())
    log(torch.ones(2, requires_grad=True).numpy(force=True))
    log(torch.tensor([1, 2]).numpy().dtype, torch.tensor(True).numpy(), type(t.numpy()).__name__)
    log(torch.tensor(np.float32(1.5)).dtype, torch.tensor(np.int8(3)).dtype,
        torch.tensor([np.float16(1), 2.0]).dtype, torch.tensor(np.bool_(True)).dtype,
        torch.tensor([np.int64(1), np.int32(2)]).dtype)
    log(torch.ones(2) * np.float64(2.5), (np.float64(2.5) * torch.ones(2)).dtype,
        (np.int64(2) + torch.ones(2, dtype=torch.int32)).dtype,
        type(np.float64(2.5) * torch.ones(2)).__name__)
    log(torch.tensor(np.array([[1, 2], [3, 4]], order="F")).stride(),
        torch.from_numpy(np.array([[1, 2], [3, 4]], order="F")).stride())
    log(t.tolist(), torch.tensor([[1, 2]]).tolist(), torch.tensor(2.5).tolist(),
        type(torch.tensor(2).tolist()).__name__, torch.tensor([1 + 2j]).tolist())
    log(np.array([torch.tensor(1.0), torch.tensor(2.0)]).dtype.name)
    _err(log, lambda: torch.tensor([np.array([1, 2]), np.array([3])]))
    log(torch.tensor(np.array([1.0], dtype=np.float64), dtype=torch.float16))


# ---- lazy modules, adaptive softmax and less common layers --------------------------------

@program(tol=1e-5)
def lazy_modules_materialize_and_state_dicts(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    print(net)
    log([type(p).__name__ for p in net.parameters()], net[0].in_features)
    sd = net.state_dict()
    log(sorted(sd), [type(v).__name__ for v in sd.values()])
    _err(log, lambda: net[0].weight.shape)
    _err(log, lambda: torch.optim.SGD(net.parameters(), lr=0.1))
    out = net(torch.randn(3, 5))
    log(out, [type(p).__name__ for p in net.parameters()], type(net[0]).__name__,
        net[0].in_features, net[0].weight.shape)
    print(net)
    conv = nn.LazyConv2d(3, 3, padding=1)
    bn = nn.LazyBatchNorm2d()
    y = bn(conv(torch.randn(2, 4, 5, 5)))
    log(y.shape, conv.in_channels, bn.num_features, bn.running_mean, type(conv).__name__)
    fresh = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    fresh.load_state_dict(net.state_dict())
    log(type(fresh[0]).__name__, fresh[0].weight.shape, torch.equal(fresh[2].bias, net[2].bias))
    lz = nn.LazyLinear(3)
    _err(log, lambda: lz(torch.randn(2, 0)).shape)
    lz2 = nn.LazyLinear(3, bias=False)
    lz2(torch.ones(1, 2))
    log(lz2.bias, lz2.weight.shape)
    log(nn.parameter.UninitializedParameter().__class__.__name__,
        repr(nn.parameter.UninitializedParameter()),
        repr(nn.parameter.UninitializedBuffer()))
    _err(log, lambda: nn.parameter.UninitializedParameter() + 1)
    lazy = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    _err(log, lambda: sum(p.numel() for p in lazy.parameters()))
    _err(log, lambda: nn.init.xavier_uniform_(lazy[0].weight))
    _err(log, lambda: nn.init.zeros_(lazy[0].bias))
    _err(log, lambda: lazy[1].running_mean.zero_())
    _err(log, lambda: lazy[0].weight.dim())
    _err(log, lambda: lazy[0].weight.detach())
    _err(log, lambda: lazy[0].weight[0])
    _err(log, lambda: lazy[0].weight * 2)
    _err(log, lambda: lazy[0].weight.requires_grad_(False))
    _err(log, lambda: lazy.share_memory())
    log(lazy[0].weight.dtype, lazy[0].weight.requires_grad, lazy[0].weight.size(),
        lazy[0].weight.is_floating_point(), lazy[0].weight.grad, lazy[0].weight.is_leaf)
    other = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    _err(log, lambda: str(other.load_state_dict(lazy.state_dict())))
    log([type(p).__name__ for p in other.parameters()])
    _err(log, lambda: other.requires_grad_(False))
    _err(log, lambda: nn.utils.parameters_to_vector(other.parameters()))
    lazy(torch.randn(4, 2))
    log(sum(p.numel() for p in lazy.parameters()), lazy[1].running_mean)
    _err(log, lambda: str(other.load_state_dict(lazy.state_dict())))
    log([type(p).__name__ for p in other.parameters()], other[0].weight)


@program(tol=1e-5)
def adaptive_log_softmax_with_loss(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4, 8], div_value=2.0)
    print(asm)
    x = torch.randn(5, 8)
    target = torch.tensor([0, 3, 5, 9, 7])
    out = asm(x, target)
    log(type(out).__name__, out.output, out.loss, out._fields)
    log(asm.log_prob(x).shape, asm.log_prob(x).exp().sum(1), asm.predict(x))
    out.loss.backward()
    log(asm.head.weight.grad.norm(), [t[1].weight.grad.shape for t in asm.tail])
    _err(log, lambda: asm(x, torch.tensor([0, 1, 2, 3, 10])))
    _err(log, lambda: asm(x, target[:3]))
    _err(log, lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[8, 4]))
    _err(log, lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4, 10]))
    _err(log, lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[0, 4]))
    a2 = nn.AdaptiveLogSoftmaxWithLoss(4, 6, cutoffs=[2], head_bias=True)
    o = a2(torch.randn(4), torch.tensor(5))
    log(o.output.shape, o.loss)
    log(sorted(n for n, _ in a2.named_parameters()))


@program(tol=1e-5)
def less_common_layers_forward_and_repr(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    mods = [nn.Bilinear(3, 2, 4), nn.Unflatten(1, (2, 3)), nn.Fold((4, 4), 2),
            nn.Unfold(2, stride=2), nn.ChannelShuffle(2), nn.LocalResponseNorm(3),
            nn.CrossMapLRN2d(3) if hasattr(nn, "CrossMapLRN2d") else nn.Identity(),
            nn.ZeroPad1d((1, 2)), nn.ReflectionPad3d(1), nn.CircularPad2d((1, 0, 0, 1)),
            nn.ReplicationPad1d(2), nn.ConstantPad3d(1, 3.5), nn.Softmax2d(), nn.Hardshrink(0.3),
            nn.RReLU(0.1, 0.3), nn.Threshold(0.1, -1.0), nn.GLU(0), nn.Softmin(1),
            nn.LogSigmoid(), nn.Tanhshrink(), nn.Mish(), nn.Hardswish(), nn.SiLU(inplace=True),
            nn.CELU(0.5), nn.PixelUnshuffle(2), nn.Upsample(scale_factor=1.5, mode="nearest"),
            nn.UpsamplingBilinear2d(scale_factor=2), nn.Flatten(0, -1), nn.AlphaDropout(0.2),
            nn.FeatureAlphaDropout(0.2), nn.Dropout1d(0.5), nn.Dropout3d(0.5),
            nn.InstanceNorm1d(4, affine=True), nn.GroupNorm(2, 4, eps=1e-3),
            nn.RMSNorm([4], eps=None), nn.LPPool1d(2, 2), nn.AdaptiveMaxPool1d(2,
                                                                               return_indices=True)]
    for m in mods:
        print(m)
    r = torch.randn
    inputs = {nn.Bilinear: (r(2, 3), r(2, 2)), nn.Unflatten: (r(2, 6),), nn.Fold: (r(1, 8, 4),),
              nn.Unfold: (r(1, 2, 4, 4),), nn.ChannelShuffle: (r(1, 4, 2, 2),),
              nn.LocalResponseNorm: (r(1, 4, 3, 3),), nn.ZeroPad1d: (r(1, 2, 3),),
              nn.ReflectionPad3d: (r(1, 1, 2, 2, 2),), nn.CircularPad2d: (r(1, 1, 2, 3),),
              nn.ReplicationPad1d: (r(1, 2, 3),), nn.ConstantPad3d: (r(1, 1, 1, 1, 1),),
              nn.Softmax2d: (r(2, 3, 2, 2),), nn.PixelUnshuffle: (r(1, 1, 4, 4),),
              nn.GLU: (r(4, 3),), nn.Upsample: (r(1, 1, 4),),
              nn.UpsamplingBilinear2d: (r(1, 1, 2, 2),), nn.InstanceNorm1d: (r(2, 4, 5),),
              nn.GroupNorm: (r(2, 4, 3),), nn.RMSNorm: (r(2, 4),), nn.LPPool1d: (r(1, 2, 6),),
              nn.AdaptiveMaxPool1d: (r(1, 2, 5),)}
    for m in mods:
        torch.manual_seed(1)
        args = inputs.get(type(m), (torch.randn(2, 4),))
        out = m(*args)
        log(type(m).__name__, out)
    m = nn.RReLU()
    m.eval()
    log(m(torch.tensor([-1.0, 2.0])))
    _err(log, lambda: nn.GLU()(torch.randn(3)))
    _err(log, lambda: nn.ChannelShuffle(3)(torch.randn(1, 4, 2, 2)))
    _err(log, lambda: nn.PixelUnshuffle(3)(torch.randn(1, 1, 4, 4)))
    _err(log, lambda: nn.Fold((4, 4), 2)(torch.randn(1, 7, 4)))
    _err(log, lambda: nn.Bilinear(3, 2, 4)(torch.randn(2, 3), torch.randn(3, 2)))
    _err(log, lambda: nn.Unflatten(1, (2, 2))(torch.randn(2, 6)))


@program(tol=1e-5)
def func_transforms_with_grad_modes_kwargs_and_modules(torch, log):
    F = torch.func
    nn = torch.nn
    torch.manual_seed(0)
    x = torch.randn(3)
    log(F.grad(lambda a, scale=1.0: (a * scale).sum())(x, scale=3.0))
    with torch.no_grad():
        log(F.grad(lambda a: (a ** 2).sum())(x))
    log(F.grad(lambda a: (a ** 2).sum() + torch.no_grad()(lambda: (a * 5).sum())())(x))

    def inner_no_grad(a):
        with torch.no_grad():
            b = a * 2
        return (a * b).sum()

    log(F.grad(inner_no_grad)(x))

    def detach_inside(a):
        return (a.detach() * a).sum()

    log(F.grad(detach_inside)(x))
    log(F.vmap(lambda a, *, k: a * k)(torch.ones(2, 3), k=torch.arange(3.0)))
    log(F.vmap(lambda a: (a.sum(), None), out_dims=(0, None))(torch.ones(2, 3)))
    log(F.vmap(lambda a: {"s": a.sum(), "m": a.max()})(torch.arange(6.0).view(2, 3)))
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xb, yb):
        out = F.functional_call(model, p, (xb,))
        return ((out.squeeze(-1) - yb) ** 2).mean(), out

    xs, ys = torch.randn(5, 3), torch.randn(5)
    g, out = F.grad(loss, has_aux=True)(params, xs, ys)
    log(sorted(g), g["0.weight"], out.shape)
    per_sample = F.vmap(F.grad(lambda p, xb, yb: loss(p, xb[None], yb[None])[0]),
                        in_dims=(None, 0, 0))(params, xs, ys)
    log({k: v.shape for k, v in per_sample.items()}, per_sample["2.bias"])
    log(torch.allclose(per_sample["0.weight"].mean(0), g["0.weight"], atol=1e-6))
    jac = F.jacrev(lambda p: F.functional_call(model, p, (xs,)))(params)
    log({k: v.shape for k, v in jac.items()})
    h = F.hessian(lambda b: loss({**params, "2.bias": b}, xs, ys)[0])(params["2.bias"])
    log(h)
    ens = F.vmap(lambda xb: model(xb))(xs)
    log(ens.shape, torch.allclose(ens, model(xs), atol=1e-6))
    drop = nn.Dropout(0.5)
    torch.manual_seed(0)
    log(F.vmap(drop, randomness="different")(torch.ones(3, 4)))
    torch.manual_seed(0)
    log(F.vmap(drop, randomness="same")(torch.ones(3, 4)))
    drop.eval()
    log(F.vmap(drop)(torch.ones(2, 2)))


@program(tol=1e-6)
def func_functionalize_and_vmap_inplace(torch, log):
    F = torch.func
    torch.manual_seed(0)

    def f(a):
        b = a.clone()
        b.add_(1)
        v = b.view(-1)
        v.mul_(2)
        return b

    x = torch.randn(2, 3)
    log(F.functionalize(f)(x), f(x))
    log(F.vmap(F.functionalize(f))(x))
    log(F.grad(lambda a: F.functionalize(f)(a).sum())(x))

    def g(a):
        a.add_(1)
        return a

    y = x.clone()
    log(F.vmap(g)(y), y)
    z = x.clone()
    F.functionalize(g)(z)
    log(z)
    log(F.vmap(lambda a: a.unsqueeze(0).expand(2, 3).clone())(x).shape)
    log(F.vmap(lambda a: torch.stack([a, a * 2]))(x).shape)
    log(F.vmap(lambda a: a.new_zeros(2))(x), F.vmap(lambda a: torch.zeros_like(a))(x).shape)
    log(F.vmap(lambda a: a.sum(0, keepdim=True))(x).shape)
    log(F.vmap(torch.trace)(torch.randn(4, 2, 2)).shape)
    log(F.vmap(lambda m: torch.linalg.det(m))(torch.eye(2).expand(3, 2, 2)))
    log(F.vmap(torch.matmul, in_dims=(0, None))(torch.ones(3, 2, 2), torch.ones(2)))


# ---- utilities users reach for ------------------------------------------------------------

@program()
def flop_counter_on_a_small_model(torch, log):
    nn = torch.nn
    FC = _module(torch, "utils.flop_counter")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    x = torch.randn(2, 3, 8, 8)
    with FC.FlopCounterMode(display=False) as fc:
        model(x).sum().backward()
    log(fc.get_total_flops())
    counts = fc.get_flop_counts()
    log(sorted(counts), {k: sorted((str(op), n) for op, n in v.items())
                         for k, v in counts.items()})
    print(fc.get_table(depth=2))
    with FC.FlopCounterMode(display=False) as fc2:
        torch.matmul(torch.randn(4, 5), torch.randn(5, 6))
        torch.bmm(torch.randn(2, 4, 5), torch.randn(2, 5, 3))
        torch.addmm(torch.randn(4, 6), torch.randn(4, 5), torch.randn(5, 6))
        torch.nn.functional.scaled_dot_product_attention(torch.randn(1, 2, 4, 8),
                                                         torch.randn(1, 2, 4, 8),
                                                         torch.randn(1, 2, 4, 8))
        torch.einsum("ij,jk->ik", torch.randn(3, 4), torch.randn(4, 5))
    log(fc2.get_total_flops(), sorted((str(k), v) for k, v in
                                      fc2.get_flop_counts()["Global"].items()))


@program()
def module_tracker_and_hooks_utilities(torch, log):
    nn = torch.nn
    H = _module(torch, "utils.hooks")
    torch.manual_seed(0)
    handles = H.RemovableHandle({})
    log(type(handles).__name__, handles.id >= 0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    hs = [m.register_forward_hook(lambda m, i, o, name=n: seen.append((name, tuple(o.shape))))
          for n, m in model.named_modules()]
    model(torch.randn(4, 2))
    log(seen)
    for h in hs:
        h.remove()
    seen.clear()
    model(torch.randn(1, 2))
    log(seen)
    MT = _module(torch, "utils.module_tracker")
    with MT.ModuleTracker() as mt:
        events = []

        def note(m, i, o):
            events.append(sorted(mt.parents))

        h = model[1][1].register_forward_hook(note)
        model(torch.randn(1, 2))
        h.remove()
    log(events)


# ---- output layouts users' .view() calls depend on ----------------------------------------

@program(tol=1e-5)
def norm_layers_on_transposed_sequences_then_view(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    emb = nn.Embedding(10, 4)
    tokens = torch.randint(0, 10, (2, 5))
    x = emb(tokens)                          # (batch, time, channels)
    for norm in (nn.BatchNorm1d(4), nn.GroupNorm(2, 4), nn.InstanceNorm1d(4, affine=True),
                 nn.BatchNorm1d(4).eval()):
        y = norm(x.transpose(1, 2))          # normalise over channels, (batch, channels, time)
        log(type(norm).__name__, y.stride(), y.is_contiguous())
        flat = y.view(2, -1)                 # works in torch: the norms' outputs are contiguous
        log(flat.shape, flat[0, :3])
        back = y.transpose(1, 2)
        log(back.is_contiguous(), back.reshape(-1)[:3])
        _err(log, lambda: back.view(-1).shape)
    z = torch.nn.functional.batch_norm(torch.randn(4, 3).t(), None, None, training=True)
    log(z.stride(), z.view(-1).shape)
    img = torch.randn(2, 4, 4, 3).permute(0, 3, 1, 2)    # channels-last strided NCHW
    for norm in (nn.BatchNorm2d(3), nn.GroupNorm(3, 3), nn.InstanceNorm2d(3)):
        y = norm(img)
        log(type(norm).__name__, y.stride(),
            y.is_contiguous(memory_format=torch.channels_last))
    x.sum().backward()
    log(emb.weight.grad.stride())
    seq = torch.randn(2, 5, 4).transpose(1, 2)
    pooled = torch.nn.functional.max_pool1d(seq, 2)
    log(pooled.stride(), pooled.view(2, -1)[0], nn.MaxPool1d(5, 1)(seq).view(2, 4))
    labels = torch.tensor([[0, 1, 3], [2, 0, 1]]).t()
    hot = torch.nn.functional.one_hot(labels, 4)
    log(hot.stride(), hot.view(-1, 4).sum(0))
    s = torch.randn(3, 4).t()
    log(s.logcumsumexp(0).stride(), s.logcumsumexp(1).view(-1).shape,
        s.renorm(2, 0, 1.0).stride(), s.renorm(2, 1, 0.5).view(-1)[:2])


@program(tol=1e-6)
def elementwise_sorts_and_losses_keep_a_transposed_layout(torch, log):
    F = torch.nn.functional
    torch.manual_seed(0)
    t = torch.randn(3, 4).t()
    target = torch.zeros(4, 3)
    for name, y in (("sort", t.sort(1).values), ("argsort", t.argsort(0)),
                    ("msort", t.msort()), ("flip", t.flip(0)),
                    ("lerp", t.lerp(target, 0.5)), ("lerp_t", t.lerp(target, torch.rand(4, 3))),
                    ("addcmul", t.addcmul(target, target)), ("addcdiv", t.addcdiv(t, t)),
                    ("clamp", t.clamp(target - 1, target + 1)), ("clip", t.clip(min=target)),
                    ("mse", F.mse_loss(t, target, reduction="none")),
                    ("smooth_l1", F.smooth_l1_loss(t, target, reduction="none")),
                    ("huber", F.huber_loss(t, target, reduction="none")),
                    ("bce", F.binary_cross_entropy(t.sigmoid(), target, reduction="none")),
                    ("soft_margin", F.soft_margin_loss(t, target + 1, reduction="none"))):
        log(name, y.stride(), y.is_contiguous())
        _err(log, lambda: y.view(-1).shape)
        log(y.reshape(-1)[:3])
    cl = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    for y in (cl.lerp(torch.zeros(2, 3, 4, 4), 0.3), cl.addcmul(cl, cl), cl.sort(1).values):
        log(y.is_contiguous(memory_format=torch.channels_last), y.stride())


@program()
def linalg_results_are_column_major(torch, log):
    torch.manual_seed(0)
    a = torch.randn(3, 3)
    spd = a @ a.T + torch.eye(3)
    for name, y in (("inv", torch.linalg.inv(a)), ("cholesky", torch.linalg.cholesky(spd)),
                    ("solve", torch.linalg.solve(a, torch.randn(3, 2))),
                    ("qr", torch.linalg.qr(a).Q), ("svd", torch.linalg.svd(a).U),
                    ("eigh", torch.linalg.eigh(spd).eigenvectors)):
        log(name, y.stride(), y.is_contiguous())


@program(tol=1e-5)
def fft_of_channels_last_signals_layouts_and_views(torch, log):
    torch.manual_seed(0)
    recording = torch.randn(16, 3)                  # (time, channels), as read from a file
    sig = recording.t()                             # (channels, time): a transposed view
    spec = torch.fft.rfft(sig)
    log(spec.shape, spec.stride(), spec.is_contiguous())
    power = spec.abs().pow(2)
    log(power.view(-1)[:4], power.stride())
    full = torch.fft.fft(sig, dim=-1, norm="ortho")
    log(full.stride(), full.view(-1).shape)
    back = torch.fft.irfft(spec, n=16)
    log(back.stride(), torch.allclose(back, sig, atol=1e-5), back.view(-1)[:3])
    cols = torch.fft.fft(recording, dim=0)          # along time in the original layout
    log(cols.stride(), cols.is_contiguous())
    _err(log, lambda: cols.view(-1).shape)
    img = torch.randn(2, 8, 8)
    log(torch.fft.fft2(img).stride(), torch.fft.rfft2(img, dim=(1, 2)).stride(),
        torch.fft.fftn(img, dim=(0, 2)).stride(), torch.fft.rfftn(img, dim=(2, 0)).stride(),
        torch.fft.irfftn(torch.fft.rfftn(img), s=img.shape).stride())
    padded = torch.fft.fft(sig, n=20)
    log(padded.shape, padded.stride(), torch.fft.fft(sig, n=8).stride())
    hw = torch.fft.ihfft(sig)
    log(hw.stride(), torch.fft.hfft(hw, n=16).stride())


@program()
def transposes_of_every_parameter_including_scalars(torch, log):
    nn = torch.nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.temperature = nn.Parameter(torch.tensor(2.0))
            self.gain = nn.Parameter(torch.tensor(1.5 + 0.5j))

        def forward(self, x):
            return self.lin(x) / self.temperature

    torch.manual_seed(0)
    m = Scaled()
    for name, p in m.named_parameters():
        t = p.T
        log(name, t.shape, t.is_contiguous())
    log(m.temperature.H, m.gain.H, m.gain.mT if m.gain.dim() >= 2 else None)
    reg = sum((p.T.abs() ** 2).sum() for p in m.parameters())
    log(reg)
    x = torch.tensor(3.0)
    log(x.T, x.T.data_ptr() == x.data_ptr(), torch.tensor([1, 2]).T, torch.ones(2, 3, 4).T.shape)
    _err(log, lambda: torch.tensor([1.0]).mT)
    _err(log, lambda: torch.tensor([1.0]).H)
    log(torch.ones(2, 3, dtype=torch.complex64).mH.shape, torch.ones(2, 3).adjoint().shape)


@program()
def flips_and_rotations_of_permuted_images(torch, log):
    import numpy as np
    hwc = np.arange(2 * 3 * 4, dtype=np.float32).reshape(3, 4, 2)     # an image as loaded
    img = torch.from_numpy(hwc).permute(2, 0, 1)                      # CHW view, HWC memory
    for k in range(4):
        r = torch.rot90(img, k, dims=(1, 2))
        log(k, r.shape, r.stride(), r.is_contiguous())
    f = img.flip(2)
    log(f.stride(), f.is_contiguous(memory_format=torch.channels_last) if f.dim() == 4
        else None, f[0])
    batch = torch.stack([img, img.flip(1)])
    log(batch.stride(), batch.flip(3).stride())
    mat = torch.arange(12.0).view(3, 4).t()
    rot = mat.rot90()
    log(rot.stride(), rot.view(-1))
    log(mat.fliplr().stride(), mat.flipud().stride(), torch.flip(mat, (0, 1)).stride())
    z = torch.polar(torch.ones(3, 4), torch.arange(12.0).view(3, 4) / 4).t()
    phase = z.angle()
    log(phase.stride(), phase.view(-1)[:3])
    log(torch.arange(6).view(2, 3).t().flip(0).stride(),
        torch.arange(6.0).view(2, 3)[:, ::2].flip(1).stride())


@program(tol=1e-6)
def gather_logsigmoid_and_rrelu_on_transposed_batches(torch, log):
    F = torch.nn.functional
    torch.manual_seed(0)
    scores = torch.randn(2, 5, 4).transpose(1, 2)          # (batch, classes, time)
    idx = scores.argsort(dim=1, descending=True)[:, :2]    # top-2 classes per step
    picked = scores.gather(1, idx)
    log(picked.stride(), picked.view(2, -1))
    same_layout_idx = torch.zeros_like(scores, dtype=torch.long)
    g = torch.gather(scores, 2, same_layout_idx)
    log(same_layout_idx.stride(), g.stride(), g.view(-1)[:4])
    ls = F.logsigmoid(scores)
    log(ls.stride(), ls.view(2, -1).sum(1))
    pos = -F.logsigmoid(scores).mean() - F.logsigmoid(-scores.contiguous()).mean()
    log(pos)
    act = F.rrelu(scores, training=False)
    log(act.stride(), act.view(-1)[:4])
    torch.manual_seed(1)
    tr = F.rrelu(scores, training=True)
    log(tr.stride(), tr.view(-1)[:4])
    m = torch.nn.RReLU()
    m.eval()
    log(m(scores).is_contiguous(), torch.nn.LogSigmoid()(scores).is_contiguous())
    x = scores.detach().requires_grad_()
    F.logsigmoid(x).gather(1, idx).sum().backward()
    log(x.grad.stride(), x.grad.reshape(-1)[:4])


@program(tol=1e-5)
def argument_mistakes_in_distances_and_clamps(torch, log):
    torch.manual_seed(0)
    a, b = torch.randn(2, 3), torch.randn(4, 3)
    for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist", "use_mm", "euclid"):
        _err(log, lambda: torch.cdist(a, b, compute_mode=mode))
    _err(log, lambda: torch.cdist(a, torch.randn(4, 2), compute_mode="fast"))
    x = torch.tensor([1, 5, 9])
    lo = torch.tensor([2, 2, 2])
    log(torch.clamp(x, lo, torch.tensor(4)), torch.clamp(x, 2, 4), x.clamp(min=lo))
    _err(log, lambda: torch.clamp(x, lo, 4))
    _err(log, lambda: torch.clamp(x.float(), 0.5, torch.tensor([2.0])))
    _err(log, lambda: torch.clamp(x, None, None))
    _err(log, lambda: torch.clip(x.float(), 0, torch.tensor([2.0])))
    log(torch.clip(x, 2, 4), x.float().clip(max=torch.tensor(3.0)), x.clone().clip_(0, 6))
    log(torch.clamp(x.float(), torch.tensor(2.0), 4.0), torch.clamp(x, torch.tensor(3), 8))

test_program = PROGRAMS.test(_check)
