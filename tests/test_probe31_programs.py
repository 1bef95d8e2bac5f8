"""Ordinary PyTorch programs, round 31 (library-style __torch_function__ subclasses and
torch.overrides' helpers; torch.func.functional_call with tied weights and stack_module_state
ensembles; parametrizations with right_inverse and caching; distributions' validation, expand
and transformed log-densities; optimizers' param groups and schedulers' chains; torch.utils.data's
collation and splits; linalg results' strides; torch.fx traces of functional calls; dlpack;
torch.jit.isinstance; torch.utils.checkpoint's helpers) run under ember and torch from the same
seed: everything they record must agree (the harness is rounds 17, 18 and 26's)."""
import collections

import numpy as np

from probe_registry import Programs, log_outcome as _err
from test_probe18_programs import _check

PROGRAMS = Programs()

program = PROGRAMS.always     # (every warning given each time)

_TRAIN = 1e-4


# ---- __torch_function__ subclasses and torch.overrides -------------------------------------

@program()
def units_carrying_tensor_subclass(torch, log):
    class Quantity(torch.Tensor):
        @staticmethod
        def __new__(cls, data, unit):
            t = torch.Tensor._make_subclass(cls, torch.as_tensor(data))
            t.unit = unit
            return t

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            units = {a.unit for a in args if isinstance(a, Quantity)}
            out = super().__torch_function__(func, types, args, kwargs)
            if isinstance(out, Quantity):
                out.unit = units.pop() if len(units) == 1 else "?"
            return out

    a = Quantity([1.0, 2.0, 3.0], "m")
    b = Quantity([4.0, 5.0, 6.0], "m")
    c = a + b
    log(type(c).__name__, c.unit, c.tolist())
    d = a * 2
    log(type(d).__name__, d.unit, d.tolist())
    s = c.sum()
    log(type(s).__name__, s.unit, s.item())
    log(type(torch.cat([a, b])).__name__, torch.cat([a, b]).unit)
    log(type(a[0]).__name__, a[0].unit, type(a.view(3, 1)).__name__)
    log(type(a.detach()).__name__, isinstance(a.clone(), Quantity))
    log(type(a.tolist()).__name__, type(a.numpy()).__name__)


@program()
def logging_torch_function_mode(torch, log):
    TorchFunctionMode = torch.overrides.TorchFunctionMode
    resolve_name = torch.overrides.resolve_name

    class Logger(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.calls.append(resolve_name(func))
            return func(*args, **(kwargs or {}))

    x = torch.arange(6.).reshape(2, 3)
    with Logger() as lg:
        y = torch.nn.functional.relu(x - 2).sum(dim=1)
        z = torch.matmul(x, x.t())
        w = x.T.clone()
    log(lg.calls)
    log(y, z, w)
    log(resolve_name(torch.add), resolve_name(torch.Tensor.add),
        resolve_name(torch.nn.functional.linear), resolve_name(torch.Tensor.shape.__get__))


@program()
def overrides_helper_tables(torch, log):
    ov = torch.overrides
    fns = ov.get_overridable_functions()
    log(torch.add in fns[torch], torch.Tensor.add in fns[torch.Tensor])
    log(torch.nn.functional.relu in fns[torch.nn.functional])
    tests = ov.get_testing_overrides()
    log(torch.add in tests, callable(tests[torch.add]))
    ign = ov.get_ignored_functions()
    log(torch.tensor in ign, torch.zeros in ign, torch.add in ign)
    log(ov.is_tensor_like(torch.ones(1)), ov.is_tensor_like(1), ov.is_tensor_like([1]))
    log(ov.is_tensor_method_or_property(torch.Tensor.add),
        ov.is_tensor_method_or_property(torch.add))

    class Dummy:
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return "dummy " + ov.resolve_name(func)
    log(ov.is_tensor_like(Dummy()), ov.has_torch_function((Dummy(),)),
        ov.has_torch_function((torch.ones(1),)))
    log(torch.add(Dummy(), 1), torch.sum(Dummy()), torch.nn.functional.relu(Dummy()))


@program()
def handle_torch_function_in_library_code(torch, log):
    has_torch_function = torch.overrides.has_torch_function
    handle_torch_function = torch.overrides.handle_torch_function

    def scaled(x, scale=2.0):
        if has_torch_function((x,)):
            return handle_torch_function(scaled, (x,), x, scale=scale)
        return x * scale

    class Traced:
        def __init__(self, v):
            self.v = v

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return ("intercepted", func.__name__, [type(t).__name__ for t in types],
                    kwargs)

    log(scaled(torch.ones(2)))
    log(scaled(Traced(1), scale=3.0))
    log(torch.mul(Traced(1), 2))

    class NotImpl:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented
    _err(log, lambda: torch.add(NotImpl(), 1))
    _err(log, lambda: scaled(NotImpl()))


@program()
def subclass_priority_and_as_subclass(torch, log):
    class A(torch.Tensor):
        pass

    class B(A):
        pass

    x = torch.ones(2).as_subclass(A)
    y = torch.ones(2).as_subclass(B)
    log(type(x + y).__name__, type(y + x).__name__, type(torch.add(x, y)).__name__)
    log(type(x + 1).__name__, type(torch.ones(2) + x).__name__)
    log(type(x.as_subclass(torch.Tensor)).__name__, repr(x), repr(y.sum()))
    p = torch.nn.Parameter(torch.ones(2))
    log(type(p * 2).__name__, type(p.data).__name__, type(p.detach()).__name__)

    class DisableSub(torch.Tensor):
        __torch_function__ = torch._C._disabled_torch_function_impl
    d = torch.zeros(3).as_subclass(DisableSub)
    log(type(d + 1).__name__, type(d[0]).__name__)


# ---- torch.func ------------------------------------------------------------------------------

@program(tol=1e-6)
def functional_call_tied_weights_strict(torch, log):
    functional_call = torch.func.functional_call
    nn = torch.nn

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, idx):
            return self.out(self.emb(idx))

    m = Tied()
    idx = torch.tensor([0, 2, 4])
    w = torch.ones(5, 3)
    out = functional_call(m, {"emb.weight": w}, (idx,))
    log(out)
    log(torch.equal(m.emb.weight, m.out.weight), m.emb.weight is m.out.weight)
    _err(log, lambda: functional_call(m, {"emb.weight": w, "out.weight": w * 2}, (idx,)))
    out2 = functional_call(m, {"emb.weight": w, "out.weight": w * 2}, (idx,), tie_weights=False)
    log(out2)
    _err(log, lambda: functional_call(m, {"emb.weight": w}, (idx,), strict=True))
    _err(log, lambda: functional_call(m, {"emb.weight": w, "nope": w}, (idx,), strict=True))
    log(list(dict(m.named_parameters())), list(dict(m.named_parameters(remove_duplicate=False))))


@program(tol=_TRAIN)
def stack_module_state_ensemble(torch, log):
    stack_module_state, functional_call = torch.func.stack_module_state, torch.func.functional_call
    vmap = torch.func.vmap
    import copy
    nn = torch.nn
    models = [nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)) for _ in range(3)]
    params, buffers = stack_module_state(models)
    log(sorted(params), {k: v.shape for k, v in params.items()})
    log(params["0.weight"].requires_grad, params["0.weight"].is_leaf)
    base = copy.deepcopy(models[0]).to("meta")

    def fmodel(p, b, x):
        return functional_call(base, (p, b), (x,))

    x = torch.randn(5, 4)
    out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    log(out.shape, out)
    ref = torch.stack([m(x) for m in models])
    log(torch.allclose(out, ref, atol=1e-6))
    xs = torch.randn(3, 5, 4)
    log(vmap(fmodel)(params, buffers, xs).shape)
    _err(log, lambda: stack_module_state([]))


@program(tol=1e-6)
def func_grad_over_functional_call(torch, log):
    functional_call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap
    nn = torch.nn
    model = nn.Linear(3, 1)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, x, y):
        return ((functional_call(model, p, (x,)) - y) ** 2).mean()

    x, y = torch.randn(4, 3), torch.randn(4, 1)
    g = grad(loss)(params, x, y)
    log(sorted(g), g["weight"], g["bias"])
    per = vmap(grad(loss), in_dims=(None, 0, 0))(params, x.unsqueeze(1), y.unsqueeze(1))
    log({k: v.shape for k, v in per.items()}, per["bias"])
    gl, val = grad(loss, has_aux=False, argnums=(1,))(params, x, y), None
    log(type(gl).__name__, gl[0].shape, val)


# ---- parametrizations ------------------------------------------------------------------------

@program(tol=1e-6)
def parametrize_right_inverse_and_cache(torch, log):
    P = torch.nn.utils.parametrize
    nn = torch.nn

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    lin = nn.Linear(3, 3)
    P.register_parametrization(lin, "weight", Symmetric())
    log(P.is_parametrized(lin), P.is_parametrized(lin, "weight"), P.is_parametrized(lin, "bias"))
    W = lin.weight
    log(torch.equal(W, W.T))
    A = torch.arange(9.).reshape(3, 3)
    A = A + A.T
    lin.weight = A
    log(lin.parametrizations.weight.original, lin.weight)
    print(lin)
    P.register_parametrization(lin, "bias", Counting())
    with P.cached():
        lin.bias
        lin.bias
        lin(torch.ones(1, 3))
    log(len(calls))
    lin.bias
    log(len(calls))
    P.remove_parametrizations(lin, "weight", leave_parametrized=True)
    log(type(lin.weight).__name__, lin.weight, P.is_parametrized(lin, "weight"))
    _err(log, lambda: P.remove_parametrizations(lin, "weight"))
    log(sorted(n for n, _ in lin.named_parameters()))


@program(tol=1e-6)
def parametrize_list_and_unsafe(torch, log):
    P = torch.nn.utils.parametrize
    nn = torch.nn

    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, x):
            return x / 2

    class Reshape(nn.Module):
        def forward(self, x):
            return x.reshape(1, -1)

    m = nn.Linear(2, 2)
    P.register_parametrization(m, "weight", Double())
    P.register_parametrization(m, "weight", Double())
    log(len(m.parametrizations.weight), m.parametrizations.weight.original)
    log(m.weight)
    _err(log, lambda: P.register_parametrization(m, "bias", Reshape()) and "ok")
    P.register_parametrization(m, "bias", Reshape(), unsafe=True)
    log(m.bias.shape)
    m.weight = torch.ones(2, 2) * 8
    log(m.parametrizations.weight.original)
    log(sorted(m.state_dict()))
    _err(log, lambda: setattr(m, "bias", torch.ones(2)))


@program(tol=1e-5)
def orthogonal_and_weight_norm_parametrizations(torch, log):
    PZ = torch.nn.utils.parametrizations
    P = torch.nn.utils.parametrize
    nn = torch.nn
    lin = PZ.weight_norm(nn.Linear(4, 3))
    log(sorted(n for n, _ in lin.named_parameters()))
    log(lin.parametrizations.weight.original0.shape, lin.parametrizations.weight.original1.shape)
    w0 = lin.weight.detach().clone()
    lin.parametrizations.weight.original0.data.mul_(2)
    log(torch.allclose(lin.weight, 2 * w0))
    sn = PZ.spectral_norm(nn.Linear(3, 3))
    log(sorted(k for k in sn.state_dict()))
    P.remove_parametrizations(lin, "weight")
    log(sorted(n for n, _ in lin.named_parameters()))


# ---- distributions ---------------------------------------------------------------------------

@program()
def distribution_validation_errors(torch, log):
    D = torch.distributions
    _err(log, lambda: D.Normal(torch.tensor([0.0]), torch.tensor([-1.0])))
    _err(log, lambda: D.Bernoulli(probs=torch.tensor([1.5])))
    _err(log, lambda: D.Categorical(probs=torch.tensor([[0.2, -0.1]])))
    _err(log, lambda: D.Bernoulli(probs=0.5, logits=0.0))
    _err(log, lambda: D.Normal(0.0, 1.0).log_prob(torch.tensor([1.0, 2.0])))
    _err(log, lambda: D.Poisson(torch.tensor([1.0])).log_prob(torch.tensor([0.5])))
    _err(log, lambda: D.Beta(1.0, 1.0).log_prob(torch.tensor(1.5)))
    _err(log, lambda: D.Uniform(0.0, 1.0).log_prob(torch.tensor(2.0)))
    log(D.Uniform(0.0, 1.0, validate_args=False).log_prob(torch.tensor(2.0)))
    log(D.Normal(torch.tensor([0.0]), torch.tensor([-1.0]), validate_args=False).scale)


@program(tol=1e-6)
def distribution_expand_and_shapes(torch, log):
    D = torch.distributions
    n = D.Normal(torch.zeros(3), torch.ones(3))
    e = n.expand(torch.Size([2, 3]))
    log(type(e).__name__, e.batch_shape, e.event_shape, e.sample().shape, e.loc.stride())
    log(e.sample((4,)).shape, e.log_prob(torch.zeros(2, 3)))
    mvn = D.MultivariateNormal(torch.zeros(2), torch.eye(2))
    log(mvn.batch_shape, mvn.event_shape, mvn.expand([3]).batch_shape)
    ind = D.Independent(D.Normal(torch.zeros(4, 3), torch.ones(4, 3)), 1)
    log(ind.batch_shape, ind.event_shape, ind.log_prob(torch.zeros(4, 3)).shape)
    print(ind)
    print(e)
    print(mvn)
    _err(log, lambda: n.expand([2, 4]))
    c = D.Categorical(logits=torch.zeros(3, 4))
    log(c.batch_shape, c.event_shape, c.param_shape, c.expand([2, 3]).batch_shape)
    oh = D.OneHotCategorical(probs=torch.ones(4) / 4)
    log(oh.event_shape, oh.sample().shape, oh.enumerate_support().shape)
    log(D.Bernoulli(0.3).enumerate_support(), D.Bernoulli(torch.full((2,), 0.3))
        .enumerate_support(expand=False).shape)


@program(tol=1e-6)
def transformed_distribution_log_prob(torch, log):
    D = torch.distributions
    T = D.transforms
    base = D.Normal(torch.zeros(2), torch.ones(2))
    lognorm = D.TransformedDistribution(base, [T.ExpTransform()])
    x = torch.tensor([0.5, 2.0])
    log(lognorm.log_prob(x), D.LogNormal(torch.zeros(2), torch.ones(2)).log_prob(x))
    aff = D.TransformedDistribution(base, [T.AffineTransform(loc=1.0, scale=3.0),
                                           T.SigmoidTransform()])
    log(aff.log_prob(torch.tensor([0.3, 0.9])), aff.batch_shape, aff.event_shape)
    log(str(aff.support), aff.has_rsample)
    s = aff.rsample((3,))
    log(s.shape)
    ct = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0., 2.)])
    y = ct(torch.tensor([0.0, 1.0]))
    log(y, ct.inv(y), ct.log_abs_det_jacobian(torch.tensor([0.0, 1.0]), y))
    print(ct, T.ExpTransform().inv, T.SigmoidTransform().domain, T.SigmoidTransform().codomain)
    st = T.StickBreakingTransform()
    z = st(torch.tensor([0.1, -0.2, 0.3]))
    log(z, st.inv(z), st.log_abs_det_jacobian(torch.tensor([0.1, -0.2, 0.3]), z))
    ind = D.TransformedDistribution(D.Independent(base, 1), T.ExpTransform())
    log(ind.event_shape, ind.log_prob(x))
    log(D.transform_to(D.constraints.positive)(torch.tensor(0.0)),
        type(D.biject_to(D.constraints.simplex)).__name__)


@program(tol=1e-6)
def kl_divergence_registry(torch, log):
    D = torch.distributions
    p = D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
    q = D.Normal(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0]))
    log(D.kl_divergence(p, q))
    log(D.kl_divergence(D.Categorical(probs=torch.tensor([0.5, 0.5])),
                        D.Categorical(probs=torch.tensor([0.9, 0.1]))))
    _err(log, lambda: D.kl_divergence(D.Normal(0., 1.), D.Poisson(torch.tensor(1.))))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, MyNormal)
    def _kl(p, q):
        return torch.tensor(42.0)
    log(D.kl_divergence(MyNormal(0., 1.), MyNormal(0., 1.)))
    log(D.kl_divergence(MyNormal(0., 1.), D.Normal(0., 2.)))


# ---- optimizers and schedulers ---------------------------------------------------------------

@program(tol=1e-6)
def optimizer_add_param_group_and_state_dict(torch, log):
    nn = torch.nn
    backbone, head = nn.Linear(3, 3), nn.Linear(3, 1)
    opt = torch.optim.SGD(backbone.parameters(), lr=0.1, momentum=0.9)
    opt.add_param_group({"params": head.parameters(), "lr": 0.01})
    log([g["lr"] for g in opt.param_groups], [g["momentum"] for g in opt.param_groups])
    log(sorted(opt.param_groups[1]))
    _err(log, lambda: opt.add_param_group({"params": head.weight}))
    _err(log, lambda: opt.add_param_group({"params": torch.ones(1)}))
    _err(log, lambda: opt.add_param_group({"lr": 0.1}))
    x = torch.randn(4, 3)
    for _ in range(2):
        opt.zero_grad()
        head(backbone(x)).pow(2).mean().backward()
        opt.step()
    sd = opt.state_dict()
    log(sorted(sd), sd["param_groups"], sorted(sd["state"]))
    log(sd["state"][0]["momentum_buffer"])
    opt2 = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=1.0,
                           momentum=0.5)
    _err(log, lambda: opt2.load_state_dict(sd))
    opt3 = torch.optim.SGD(backbone.parameters(), lr=1.0)
    opt3.add_param_group({"params": head.parameters()})
    opt3.load_state_dict(sd)
    log(opt3.param_groups[1]["lr"], opt3.param_groups[0]["momentum"])
    sd["param_groups"][0]["lr"] = 0.5
    log(opt.param_groups[0]["lr"])
    print(opt3)


@program(tol=1e-6)
def adam_state_dict_round_trip(torch, log):
    nn = torch.nn
    m = nn.Linear(2, 2)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.1, amsgrad=True)
    for _ in range(3):
        opt.zero_grad()
        m(torch.ones(1, 2)).sum().backward()
        opt.step()
    sd = opt.state_dict()
    st = sd["state"][0]
    log(sorted(st), st["step"], st["step"].dtype, st["max_exp_avg_sq"])
    opt2 = torch.optim.AdamW(m.parameters(), lr=5.0)
    opt2.load_state_dict(sd)
    log(opt2.param_groups[0]["lr"], opt2.state[m.weight]["step"])
    log(opt2.state[m.weight]["exp_avg"] is sd["state"][0]["exp_avg"])
    print(opt2)


@program()
def scheduler_chains_get_last_lr(torch, log):
    nn = torch.nn
    S = torch.optim.lr_scheduler
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=3)
    decay = S.ExponentialLR(opt, gamma=0.5)
    seq = S.SequentialLR(opt, schedulers=[warm, decay], milestones=[3])
    for step in range(6):
        opt.step()
        seq.step()
        log(step, seq.get_last_lr(), opt.param_groups[0]["lr"])
    opt2 = torch.optim.SGD([p], lr=1.0)
    ch = S.ChainedScheduler([S.StepLR(opt2, 2, 0.1), S.ExponentialLR(opt2, 0.9)])
    for step in range(4):
        opt2.step()
        ch.step()
        log(step, ch.get_last_lr())
    log(sorted(ch.state_dict()), sorted(seq.state_dict()))
    _err(log, lambda: S.SequentialLR(opt, schedulers=[warm], milestones=[3]))
    opt3 = torch.optim.SGD([p], lr=1.0)
    _err(log, lambda: S.SequentialLR(opt3, schedulers=[S.StepLR(opt3, 1),
                                                       S.StepLR(opt, 1)], milestones=[1]))


@program()
def schedulers_with_param_groups(torch, log):
    nn = torch.nn
    S = torch.optim.lr_scheduler
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}], lr=0.5)
    sch = S.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1.0 / (e + 1)])
    for _ in range(3):
        opt.step()
        sch.step()
        log(sch.get_last_lr(), [g["initial_lr"] for g in opt.param_groups])
    _err(log, lambda: S.LambdaLR(opt, [lambda e: 1.0]))
    opt2 = torch.optim.SGD([a], lr=0.1)
    one = S.OneCycleLR(opt2, max_lr=1.0, total_steps=5)
    lrs = []
    for _ in range(5):
        opt2.step()
        one.step()
        lrs.append(one.get_last_lr()[0])
    log(lrs, opt2.param_groups[0]["momentum"])
    _err(log, lambda: one.step())
    opt3 = torch.optim.SGD([a], lr=0.1)
    cos = S.CosineAnnealingWarmRestarts(opt3, T_0=2, T_mult=2)
    for _ in range(5):
        opt3.step()
        cos.step()
        log(round(cos.get_last_lr()[0], 10), cos.T_cur, cos.T_i)
    plat = S.ReduceLROnPlateau(torch.optim.SGD([b], lr=1.0), patience=0, factor=0.5)
    for v in (1.0, 1.0, 1.0, 0.5):
        plat.step(v)
        log(plat.get_last_lr(), plat.num_bad_epochs)


# ---- torch.utils.data ------------------------------------------------------------------------

@program()
def default_collate_nested_structures(torch, log):
    default_collate = torch.utils.data.default_collate
    default_convert = torch.utils.data.default_convert
    Point = collections.namedtuple("Point", "x y")
    batch = [{"img": torch.ones(2) * i, "meta": {"id": i, "name": f"s{i}"},
              "pt": Point(float(i), np.float32(i)), "arr": np.arange(2) + i,
              "pair": (i, [i, i + 1])} for i in range(3)]
    out = default_collate(batch)
    log(sorted(out), out["img"], out["meta"]["id"], out["meta"]["name"])
    log(type(out["pt"]).__name__, out["pt"].x, out["pt"].x.dtype, out["pt"].y, out["pt"].y.dtype)
    log(out["arr"], out["arr"].dtype, out["pair"])
    log(default_collate([np.float64(1.5), np.float64(2.0)]).dtype,
        default_collate([True, False]), default_collate([b"a", b"b"]))
    _err(log, lambda: default_collate([{"a": 1}, {"b": 2}]))
    _err(log, lambda: default_collate([[1, 2], [3]]))
    _err(log, lambda: default_collate([object(), object()]))
    _err(log, lambda: default_collate([np.array(["a"]), np.array(["b"])]))
    conv = default_convert({"a": np.arange(3), "b": [np.float32(1.0)], "c": Point(np.ones(1), 2)})
    log(conv)


@program()
def subset_concat_and_random_split(torch, log):
    data = torch.utils.data
    TensorDataset, Subset, ConcatDataset = data.TensorDataset, data.Subset, data.ConcatDataset
    random_split, DataLoader = data.random_split, data.DataLoader
    ds = TensorDataset(torch.arange(10.), torch.arange(10) % 3)
    g = torch.Generator().manual_seed(42)
    a, b = random_split(ds, [7, 3], generator=g)
    log(type(a).__name__, a.indices, b.indices, len(a), a[0])
    parts = random_split(range(10), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(1))
    log([list(p) for p in parts])
    _err(log, lambda: random_split(range(10), [5, 6]))
    _err(log, lambda: random_split(range(10), [0.5, 0.6]))
    sub = Subset(ds, [9, 0, 5])
    log(sub[0], sub[[0, 1]] if hasattr(sub, "__getitems__") else None, len(sub))
    cat = ConcatDataset([sub, ds])
    log(len(cat), cat.cumulative_sizes, cat[3], cat[-1])
    _err(log, lambda: cat[13])
    _err(log, lambda: ConcatDataset([]))
    loader = DataLoader(cat, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
    log([b[0].tolist() for b in loader])
    log(len(loader))
    ws = random_split(ds, [0.25, 0.75], generator=torch.Generator().manual_seed(3))
    log([len(p) for p in ws])


@program()
def samplers_and_batch_sampler(torch, log):
    data = torch.utils.data
    BatchSampler, SequentialSampler = data.BatchSampler, data.SequentialSampler
    RandomSampler, WeightedRandomSampler = data.RandomSampler, data.WeightedRandomSampler
    SubsetRandomSampler, DataLoader = data.SubsetRandomSampler, data.DataLoader
    log(list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)))
    log(list(BatchSampler(range(7), 3, drop_last=True)), len(BatchSampler(range(7), 3, True)))
    g = torch.Generator().manual_seed(5)
    log(list(RandomSampler(range(6), generator=g)))
    log(list(RandomSampler(range(6), replacement=True, num_samples=4,
                           generator=torch.Generator().manual_seed(5))))
    log(list(WeightedRandomSampler([0.1, 0.9, 0.0], 5, generator=torch.Generator().manual_seed(2))))
    log(list(SubsetRandomSampler([3, 1, 4], generator=torch.Generator().manual_seed(7))))
    _err(log, lambda: BatchSampler(range(3), 0, False))
    _err(log, lambda: RandomSampler(range(3), num_samples=0))
    _err(log, lambda: WeightedRandomSampler([1.0], 0))
    dl = DataLoader(range(10), batch_sampler=BatchSampler(range(10), 4, False))
    log([b.tolist() for b in dl])
    _err(log, lambda: DataLoader(range(10), batch_sampler=[[0]], batch_size=2))
    _err(log, lambda: DataLoader(range(10), shuffle=True, sampler=SequentialSampler(range(10))))


# ---- linalg strides --------------------------------------------------------------------------

@program(tol=1e-5)
def linalg_result_strides_through_views(torch, log):
    A = torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    L = torch.linalg.cholesky(A)
    log(L.stride(), L.is_contiguous(), L.T.is_contiguous())
    Q, R = torch.linalg.qr(A)
    log(Q.stride(), R.stride())
    _err(log, lambda: Q.view(9))
    log(Q.reshape(9).shape, Q.contiguous().stride(), Q.T.view(9).shape)
    inv = torch.linalg.inv(A)
    log(inv.stride(), inv)
    sol = torch.linalg.solve(A, torch.ones(3, 2))
    log(sol.stride(), sol)
    sol1 = torch.linalg.solve(A, torch.ones(3))
    log(sol1.stride())
    U, S, Vh = torch.linalg.svd(A)
    log(U.stride(), S.stride(), Vh.stride())
    w, V = torch.linalg.eigh(A)
    log(V.stride(), w)
    LU, piv = torch.linalg.lu_factor(A)
    log(LU.stride(), piv, piv.dtype)
    B = torch.stack([A, 2 * A])
    log(torch.linalg.cholesky(B).stride(), torch.linalg.inv(B).stride())
    log(torch.linalg.pinv(A).stride(), torch.cholesky_inverse(L).stride())


@program(tol=1e-5)
def linalg_out_and_transposed_inputs(torch, log):
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
    out = torch.empty(2, 2)
    torch.linalg.inv(A, out=out)
    log(out.stride(), out)
    x = torch.linalg.lstsq(A, torch.ones(2, 1))
    log(type(x).__name__, x.solution.stride(), x.solution, x.rank, x.residuals)
    ev = torch.linalg.eigvals(A)
    log(ev.dtype, ev)
    det = torch.linalg.slogdet(A)
    log(type(det).__name__, det.sign, det.logabsdet)
    t = torch.linalg.cholesky(A).mT
    log(t.stride(), t.is_contiguous())
    log(torch.linalg.matrix_exp(A).stride(), torch.linalg.householder_product(
        A, torch.tensor([1.0])).stride())


# ---- torch.fx --------------------------------------------------------------------------------

@program()
def fx_trace_functional_calls(torch, log):
    fx = torch.fx
    nn, F = torch.nn, torch.nn.functional

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            a, b = torch.split(self.lin(x), 2, dim=-1)
            y = torch.einsum("bi,bj->bij", a, b)
            return F.relu(y).flatten(1).sum(-1, keepdim=True)

    gm = fx.symbolic_trace(M())
    print(gm.graph)
    print(gm.code)
    x = torch.randn(3, 4)
    log(gm(x).shape, type(gm).__name__)
    log([n.op for n in gm.graph.nodes], [getattr(n.target, "__name__", n.target)
                                        for n in gm.graph.nodes])


@program()
def fx_trace_max_pool_with_indices(torch, log):
    fx = torch.fx
    nn, F = torch.nn, torch.nn.functional

    class Pool(nn.Module):
        def forward(self, x):
            y, idx = F.max_pool2d(x, 2, return_indices=True)
            return F.max_unpool2d(y, idx, 2), idx

    gm = fx.symbolic_trace(Pool())
    print(gm.code)
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    out, idx = gm(x)
    log(out, idx)
    log([(n.op, getattr(n.target, "__name__", n.target)) for n in gm.graph.nodes])


@program()
def fx_graph_rewrite_and_recompile(torch, log):
    fx = torch.fx
    nn = torch.nn

    class M(nn.Module):
        def forward(self, x):
            return torch.add(torch.mul(x, 2), 1)

    gm = fx.symbolic_trace(M())
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target is torch.mul:
            node.target = torch.sub
    gm.recompile()
    print(gm.code)
    log(gm(torch.tensor([3.0])))
    gm.graph.lint()
    log(len(list(gm.graph.nodes)))

    def f(x, flag: bool):
        return x + 1 if flag else x - 1
    gf = fx.symbolic_trace(f, concrete_args={"flag": True})
    log(gf(torch.tensor([1.0]), True))
    _err(log, lambda: fx.symbolic_trace(lambda x: x + 1 if x.sum() > 0 else x))


# ---- dlpack ----------------------------------------------------------------------------------

@program()
def dlpack_exchange(torch, log):
    t = torch.arange(6.).reshape(2, 3)
    u = torch.from_dlpack(t)
    u[0, 0] = 100
    log(t, u.stride(), u.dtype)
    tr = t.T
    v = torch.from_dlpack(tr)
    log(v.stride(), v.shape, v)
    cap = torch.utils.dlpack.to_dlpack(t)
    log(type(cap).__name__)
    w = torch.utils.dlpack.from_dlpack(cap)
    log(w.sum())
    a = np.arange(4, dtype=np.int16)
    x = torch.from_dlpack(a)
    x[0] = 9
    log(a.tolist(), x.dtype)
    log(np.from_dlpack(t).tolist())
    r = torch.ones(2, requires_grad=True)
    _err(log, lambda: r.__dlpack__())
    _err(log, lambda: np.from_dlpack(r))
    kind, index = t.__dlpack_device__()
    log(repr(kind), str(kind), int(kind), index, type(kind).__mro__[1].__name__)
    b = torch.tensor([True, False])
    log(np.from_dlpack(b).tolist())
    c = torch.zeros(2, dtype=torch.complex64)
    log(np.from_dlpack(c).dtype.name)
    _err(log, lambda: t.conj().__dlpack__() if t.is_complex() else c.conj().__dlpack__())


# ---- torch.jit.isinstance and checkpoint helpers -------------------------------------------

@program()
def jit_isinstance_in_model_code(torch, log):
    from typing import Dict, List, Optional, Tuple
    nn = torch.nn

    class Flexible(nn.Module):
        def forward(self, x):
            if torch.jit.isinstance(x, List[torch.Tensor]):
                return torch.stack(x).sum(0)
            if torch.jit.isinstance(x, Dict[str, torch.Tensor]):
                return sum(x.values())
            if torch.jit.isinstance(x, Tuple[torch.Tensor, int]):
                return x[0] * x[1]
            return x

    m = Flexible()
    log(m([torch.ones(2), torch.ones(2)]), m({"a": torch.ones(2)}), m((torch.ones(2), 3)))
    log(torch.jit.isinstance([1, 2], List[int]), torch.jit.isinstance([1, "a"], List[int]),
        torch.jit.isinstance(None, Optional[int]), torch.jit.isinstance(3, Optional[int]),
        torch.jit.isinstance({"a": [1]}, Dict[str, List[int]]),
        torch.jit.isinstance((1, 2.0), Tuple[int, float]),
        torch.jit.isinstance((1, 2), Tuple[int, float]))
    log(torch.jit.is_scripting(), torch.jit.is_tracing())


@program(tol=1e-6)
def checkpoint_helpers(torch, log):
    cp = torch.utils.checkpoint
    a = torch.ones(2, requires_grad=True)
    b = torch.tensor([1.0, 2.0])
    d = cp.detach_variable((a * 2, b, 3))
    log([type(t).__name__ for t in d], d[0].requires_grad, d[0].is_leaf, d[1].requires_grad)
    _err(log, lambda: cp.detach_variable([a]))
    log(cp.check_backward_validity((a, b)) is None)
    log(cp.get_device_states(a, b))

    def block(x):
        return torch.sin(x).exp()
    with cp.set_checkpoint_debug_enabled(True):
        y = cp.checkpoint(block, a, use_reentrant=False)
    y.sum().backward()
    log(a.grad)
    a.grad = None
    y = cp.checkpoint_sequential(torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Tanh()), 2, a * 1,
                                 use_reentrant=False)
    y.sum().backward()
    log(a.grad)


@program(tol=1e-6)
def checkpoint_reentrant_warnings_and_errors(torch, log):
    cp = torch.utils.checkpoint
    x = torch.ones(2, requires_grad=True)
    y = cp.checkpoint(torch.sin, x, use_reentrant=True)
    y.sum().backward()
    log(x.grad)
    z = cp.checkpoint(torch.sin, torch.ones(2), use_reentrant=True)
    log(z.requires_grad)
    _err(log, lambda: cp.checkpoint(torch.sin, x, use_reentrant=True, foo=1))
    _err(log, lambda: torch.autograd.grad(cp.checkpoint(torch.sin, x, use_reentrant=True).sum(),
                                          x))
    log(cp.checkpoint(lambda t, k: t * k, x, 3, use_reentrant=False))


# ---- misc library-style code -----------------------------------------------------------------

@program()
def module_buffers_persistent_and_state_dict_hooks(torch, log):
    nn = torch.nn

    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(2))
            self.register_buffer("cache", torch.ones(2), persistent=False)
            self.register_buffer("nothing", None)

    m = Norm()
    log(sorted(m.state_dict()), [n for n, _ in m.named_buffers()])
    log(m.nothing, m._non_persistent_buffers_set)
    _err(log, lambda: m.register_buffer("mean", torch.ones(1)) or "ok")
    _err(log, lambda: m.register_buffer("a.b", torch.ones(1)))
    _err(log, lambda: m.register_buffer("", torch.ones(1)))
    _err(log, lambda: m.register_buffer("x", [1]))
    res = m.load_state_dict({"mean": torch.ones(2), "extra": torch.ones(1)}, strict=False)
    log(res, res.missing_keys, res.unexpected_keys)
    _err(log, lambda: m.load_state_dict({"mean": torch.ones(3)}))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, local: sd.update(x=1) or None)
    log(sorted(m.state_dict()))


@program()
def tensor_like_protocols(torch, log):
    class Wrapper:
        def __init__(self, t):
            self.t = t

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.t.numpy(), dtype=dtype)

    log(torch.as_tensor(np.float32(2.5)))
    log(torch.tensor([np.int64(1), np.int64(2)]).dtype, torch.tensor(np.bool_(True)).dtype)
    log(torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]))
    _err(log, lambda: torch.tensor([torch.ones(2), torch.ones(3)]))
    log(torch.as_tensor([1, 2], dtype=torch.float16), torch.as_tensor(range(3)))
    log(float(torch.tensor([2.5])), int(torch.tensor(3.9)), complex(torch.tensor(1.0)))
    _err(log, lambda: float(torch.ones(2)))
    log(torch.tensor(3).__index__(), [0, 1, 2, 3][torch.tensor(2)])
    _err(log, lambda: [0, 1][torch.tensor(1.0)])
    log(operator_index(torch))


def operator_index(torch):
    import operator
    try:
        return operator.index(torch.tensor([1]))
    except Exception as e:
        return type(e).__name__, str(e)


@program()
def array_protocol_buffers_and_sequences_to_tensor(torch, log):
    import array

    class Wrapper:
        def __array__(self, dtype=None, copy=None):
            return np.arange(3.0)

    class Rows(Wrapper):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            if i >= 3:
                raise IndexError(i)
            return float(i)

    for make in (torch.tensor, torch.as_tensor, torch.asarray):
        _err(log, lambda: make(Wrapper()))
        _err(log, lambda: make(Rows()))
        _err(log, lambda: make(array.array("f", [1.0, 2.0])))
        _err(log, lambda: make(memoryview(np.arange(3.0))))
        _err(log, lambda: make(bytearray(b"abcd")))
        _err(log, lambda: make(b"abcd"))
    buf = bytearray(b"abcd")
    t = torch.asarray(buf, dtype=torch.uint8)
    t[0] = 65
    log(bytes(buf), torch.asarray(buf, dtype=torch.uint8, copy=True).add_(1), bytes(buf))
    log(torch.asarray(memoryview(buf), dtype=torch.int16))


@program()
def erfinv_out_of_domain_nan_sign(torch, log):
    x = torch.tensor([3.0, -3.0, 1.5, float("nan"), -float("nan"), 0.5, -0.0])
    log(torch.signbit(torch.erfinv(x)), torch.signbit(torch.erfinv(x.double())),
        torch.signbit(torch.erfinv(x.half())), torch.signbit(torch.erfinv(torch.tensor([2]))))
    log(torch.signbit(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(2.0))))


@program()
def handlers_see_python_functions_default_kwargs(torch, log):
    seen = []

    class Spy(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append((torch.overrides.resolve_name(func), kwargs))
            return func(*args, **(kwargs or {}))

    x = torch.ones(4)
    with Spy():
        torch.split(x, 2)
        torch.nn.functional.relu(x)
        torch.add(x, 1)
    log(seen)


@program()
def scheduler_order_warnings_and_resume(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sch = S.StepLR(opt, step_size=1, gamma=0.5)
    sch.step()                      # before optimizer.step(): torch warns
    log(sch.get_last_lr(), sch.last_epoch)
    opt.step()
    sch.step()
    sd = sch.state_dict()
    log(sorted(sd), sd["last_epoch"], sd["_last_lr"])
    opt2 = torch.optim.SGD([p], lr=1.0)
    opt2.param_groups[0]["initial_lr"] = 1.0
    sch2 = S.StepLR(opt2, step_size=1, gamma=0.5, last_epoch=1)
    log(sch2.get_last_lr(), opt2.param_groups[0]["lr"])
    opt3 = torch.optim.SGD([p], lr=1.0)
    _err(log, lambda: S.StepLR(opt3, step_size=1, last_epoch=3))
    sch3 = S.MultiStepLR(torch.optim.SGD([p], lr=1.0), milestones=[2, 2, 4], gamma=0.1)
    for _ in range(5):
        sch3.optimizer.step()
        sch3.step()
    log(sch3.get_last_lr(), sorted(sch3.milestones.items()))


@program(tol=1e-6)
def functional_call_buffers_and_batchnorm(torch, log):
    functional_call = torch.func.functional_call
    nn = torch.nn
    m = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    x = torch.randn(4, 3)
    bufs = {k: v.clone() for k, v in m.named_buffers()}
    out = functional_call(m, bufs, (x,))
    log(out.shape, bufs["1.running_mean"], m[1].running_mean, bufs["1.num_batches_tracked"])
    params_and_bufs = ({k: v * 0 for k, v in m.named_parameters()}, bufs)
    log(functional_call(m, params_and_bufs, x))
    _err(log, lambda: functional_call(m, ({"0.weight": torch.ones(3, 3)},
                                          {"0.weight": torch.ones(3, 3)}), (x,)))
    m.eval()
    log(functional_call(m, {}, (x,), {}), m.training)
    log(functional_call(m, {"1.running_var": torch.full((3,), 4.0)}, args=x))


@program(tol=1e-6)
def mixture_and_relaxed_distributions(torch, log):
    D = torch.distributions
    mix = D.Categorical(torch.tensor([0.3, 0.7]))
    comp = D.Normal(torch.tensor([-1.0, 2.0]), torch.tensor([0.5, 1.0]))
    gmm = D.MixtureSameFamily(mix, comp)
    log(gmm.batch_shape, gmm.event_shape, gmm.mean, gmm.variance)
    log(gmm.log_prob(torch.tensor([0.0, 1.0, -1.0])), gmm.cdf(torch.tensor(0.0)))
    log(gmm.sample((3,)).shape)
    print(gmm)
    _err(log, lambda: D.MixtureSameFamily(D.Categorical(torch.ones(3)), comp))
    _err(log, lambda: D.MixtureSameFamily(torch.ones(2), comp))
    rb = D.RelaxedBernoulli(torch.tensor(0.5), probs=torch.tensor([0.2, 0.8]))
    log(rb.rsample().shape, rb.temperature, rb.batch_shape)
    roh = D.RelaxedOneHotCategorical(torch.tensor(1.0), logits=torch.zeros(3))
    y = roh.rsample()
    log(y.shape, float(y.sum()), roh.log_prob(torch.tensor([0.2, 0.3, 0.5])))
    lkj = D.LKJCholesky(3, concentration=2.0)
    L = lkj.sample()
    log(L.shape, torch.allclose((L @ L.T).diagonal(), torch.ones(3)), lkj.log_prob(L).shape)


@program()
def fx_tracer_leaf_modules_and_nodes(torch, log):
    fx, nn = torch.fx, torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return torch.relu(self.lin(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.head = nn.Linear(2, 1)

        def forward(self, x):
            return self.head(self.block(x)) * x.size(0)

    class LeafTracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, Block) or super().is_leaf_module(m, qualname)

    net = Net()
    graph = LeafTracer().trace(net)
    gm = fx.GraphModule(net, graph)
    print(gm.code)
    log([(n.name, n.op) for n in graph.nodes])
    default = fx.symbolic_trace(net)
    log([(n.name, n.op) for n in default.graph.nodes])
    for n in default.graph.nodes:
        if n.op == "call_module":
            log(n.target, [str(a) for a in n.args], [u.name for u in n.users])
    x = torch.ones(3, 2)
    log(torch.equal(gm(x), net(x)), torch.equal(default(x), net(x)))
    log(sorted(dict(gm.named_modules())), gm.head.weight.shape)


@program()
def overridable_tensor_methods_and_descriptors(torch, log):
    class Dummy:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return torch.overrides.resolve_name(func)

    _err(log, lambda: torch.Tensor.add(Dummy(), 2))
    _err(log, lambda: torch.Tensor.sum(Dummy()))
    _err(log, lambda: torch.Tensor.add(torch.ones(1), Dummy()))
    _err(log, lambda: torch.Tensor.split(Dummy(), 1))
    _err(log, lambda: torch.Tensor.norm(Dummy()))
    log(torch.stack([Dummy(), Dummy()]), torch.cat((torch.ones(1), Dummy())))
    log(torch.where(torch.tensor([True]), Dummy(), 1.0))
    log(torch.nn.functional.linear(torch.ones(2), Dummy()))

    class Sub(torch.Tensor):
        pass
    s = torch.ones(2).as_subclass(Sub)
    log(type(s.grad).__name__, type(s.data).__name__, type(s.real).__name__,
        type(s.T).__name__, type(s.mT if s.dim() >= 2 else s).__name__,
        type(s.new_zeros(2)).__name__, type(torch.zeros_like(s)).__name__)


@program(tol=1e-6)
def parametrize_cached_with_training_and_errors(torch, log):
    P = torch.nn.utils.parametrize
    nn = torch.nn

    class Positive(nn.Module):
        def forward(self, x):
            return x.exp()

        def right_inverse(self, y):
            return y.log()

    m = nn.Linear(2, 2)
    P.register_parametrization(m, "weight", Positive())
    m.weight = torch.full((2, 2), 2.0)
    log(m.parametrizations.weight.original, m.weight)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with P.cached():
        out = m(torch.ones(1, 2)) + m(torch.ones(1, 2))
        out.sum().backward()
    opt.step()
    log(m.parametrizations.weight.original.grad, m.weight)
    _err(log, lambda: setattr(m, "weight", torch.ones(3, 3)))
    _err(log, lambda: P.register_parametrization(m, "nope", Positive()))
    _err(log, lambda: P.register_parametrization(m, "bias", nn.Linear(2, 3)))
    log(type(m).__name__, type(m).__mro__[1].__name__)
    sd = m.state_dict()
    log(sorted(sd))
    m2 = nn.Linear(2, 2)
    P.register_parametrization(m2, "weight", Positive())
    m2.load_state_dict(sd)
    log(torch.equal(m2.weight, m.weight))


@program()
def wrap_torch_function_and_testing_signatures(torch, log):
    import inspect
    ov = torch.overrides

    def dispatcher(a, b=None):
        return (a,)

    @ov.wrap_torch_function(dispatcher)
    def scaled_add(a, b=None):
        return a + (0 if b is None else b)

    class Tag:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return "tag:" + func.__name__

    log(scaled_add(torch.ones(2), 1), scaled_add(Tag()), scaled_add(torch.ones(1), b=Tag()))
    tests = ov.get_testing_overrides()
    for f in (torch.add, torch.where, torch.nn.functional.relu, torch.Tensor.view):
        log(len(inspect.signature(tests[f]).parameters) > 0)
    log(ov.is_tensor_method_or_property(torch.Tensor.shape.__get__),
        ov.resolve_name(torch.Tensor.T.__get__), ov.resolve_name(torch.nn.functional.conv2d))


@program()
def datasets_compose_and_collate_errors(torch, log):
    data = torch.utils.data
    a = data.TensorDataset(torch.arange(3.))
    b = data.TensorDataset(torch.arange(3., 5.))
    ab = a + b
    log(type(ab).__name__, len(ab), ab[4])
    _err(log, lambda: data.TensorDataset(torch.ones(2), torch.ones(3)))
    st = data.StackDataset(x=a, y=b if len(b) == 3 else a)
    log(st[1], len(st))
    _err(log, lambda: data.StackDataset(a, b))
    _err(log, lambda: data.default_collate([torch.ones(2), torch.ones(3)]))
    _err(log, lambda: data.default_collate([torch.ones(2), 1.0]))
    log(data.default_collate([(1, "a"), (2, "b")]), data.default_collate([[1.5], [2.5]]))
    dl = data.DataLoader(ab, batch_size=2, collate_fn=lambda items: [i[0].item() for i in items])
    log(list(dl))
    dl2 = data.DataLoader(range(5), batch_size=None)
    log([int(v) for v in dl2], type(next(iter(dl2))).__name__)


@program(tol=1e-5)
def batched_linalg_strides_and_reduced_svd(torch, log):
    A = torch.arange(24.).reshape(2, 4, 3) / 10 + torch.eye(4, 3)
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    log(U.shape, U.stride(), S.stride(), Vh.stride())
    log(torch.allclose(U @ torch.diag_embed(S) @ Vh, A, atol=1e-5))
    Q, R = torch.linalg.qr(A, mode="reduced")
    log(Q.stride(), R.stride(), torch.linalg.qr(A, mode="r")[0].numel())
    Qc, Rc = torch.linalg.qr(A, mode="complete")
    log(Qc.shape, Qc.stride())
    M = A.mT @ A
    w, V = torch.linalg.eigh(M)
    log(V.stride(), V.view(2, 9).shape if V.is_contiguous() else V.reshape(2, 9).stride())
    x = torch.linalg.solve(M, torch.ones(2, 3))
    log(x.shape, x.stride())
    X = torch.linalg.solve(M, torch.ones(2, 3, 2))
    log(X.stride(), X.contiguous().stride(), X.flatten().shape)
    log(torch.linalg.lu(M)[0].stride(), torch.linalg.lu(M)[2].stride())


@program(tol=1e-6)
def transform_cache_and_constraints(torch, log):
    D = torch.distributions
    T, C = D.transforms, D.constraints
    t = T.ExpTransform(cache_size=1)
    x = torch.tensor([0.0, 1.0])
    y = t(x)
    log(t.inv(y) is x, t.inv.inv is t, T.ExpTransform().inv(y) is x)
    _err(log, lambda: T.ExpTransform(cache_size=2))
    log(t == T.ExpTransform(), T.AffineTransform(0., 1.) == T.AffineTransform(0., 1.))
    log(C.positive.check(torch.tensor([-1.0, 0.0, 1.0])), C.simplex.check(torch.tensor([0.5, 0.5])),
        C.interval(0, 2).check(torch.tensor(2.0)),
        C.integer_interval(0, 3).check(torch.tensor(2.5)))
    log(str(C.positive), str(C.interval(0.0, 1.0)), C.real.is_discrete, C.boolean.is_discrete)
    log(C.independent(C.real, 1).event_dim, C.positive_definite.event_dim)
    ct = T.CatTransform([T.ExpTransform(), T.identity_transform], dim=0, lengths=[1, 1])
    log(ct(torch.tensor([0.0, 5.0])))
    pt = T.PowerTransform(torch.tensor(2.0))
    log(pt(torch.tensor(3.0)), pt.inv(torch.tensor(9.0)), pt.sign)


test_program = PROGRAMS.test(_check)
