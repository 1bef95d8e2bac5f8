"""Ordinary PyTorch programs, round 29 (nn.Module's registration, naming, lookup and state_dict
API and its errors, module hooks, nn.init, nn.utils, custom autograd.Function edge cases,
grad-mode decorators and inference tensors, optimizers' param groups and schedulers chained
with warmups) run under ember and torch from the same seed: everything they record must agree
(the harness is rounds 17, 18 and 26's)."""
import copy
import pickle
import io

from probe_registry import Programs, log_outcome as _err
from test_probe18_programs import _check

PROGRAMS = Programs()


program = PROGRAMS.always     # (every warning given each time)


# ---- nn.Module registration and lookup ----------------------------------------------------

@program()
def module_register_errors(torch, log):
    nn = torch.nn
    m = nn.Module()
    _err(log, lambda: m.register_buffer("a.b", torch.ones(1)))
    _err(log, lambda: m.register_buffer("", torch.ones(1)))
    _err(log, lambda: m.register_buffer(3, torch.ones(1)))
    _err(log, lambda: m.register_buffer("x", [1, 2]))
    _err(log, lambda: m.register_parameter("p.q", nn.Parameter(torch.ones(1))))
    _err(log, lambda: m.register_parameter("p", torch.ones(1)))
    _err(log, lambda: m.register_parameter("", None))
    _err(log, lambda: m.register_module("a.b", nn.Linear(1, 1)))
    _err(log, lambda: m.register_module("c", 5))
    _err(log, lambda: m.add_module("", None))
    m.w = nn.Parameter(torch.ones(2))
    _err(log, lambda: m.register_buffer("w", torch.ones(1)))
    _err(log, lambda: m.register_module("w", nn.ReLU()))
    m.sub = nn.ReLU()
    _err(log, lambda: m.register_parameter("sub", nn.Parameter(torch.ones(1))))
    _err(log, lambda: m.register_buffer("sub", torch.ones(1)))
    m.plain = 3
    _err(log, lambda: m.register_buffer("plain", torch.ones(1)))
    _err(log, lambda: m.register_parameter("plain", None))
    m.register_buffer("b", None)
    m.register_parameter("q", None)
    log(list(m.state_dict()), [n for n, _ in m.named_buffers()], m.b, m.q)
    def setw():
        m.w = torch.ones(2)
    _err(log, setw)
    def setsub():
        m.sub = torch.ones(2)
    _err(log, setsub)
    m.w = None
    log(m.w, list(m.state_dict()))


@program()
def module_named_prefixes_and_duplicates(torch, log):
    nn = torch.nn
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    m.extra = shared
    log([n for n, _ in m.named_modules()])
    log([n for n, _ in m.named_modules(remove_duplicate=False)])
    log([n for n, _ in m.named_modules(prefix="net")])
    log([n for n, _ in m.named_parameters(prefix="p")])
    log([n for n, _ in m.named_parameters(remove_duplicate=False)])
    log([n for n, _ in m.named_parameters(recurse=False)])
    log([n for n, _ in m.named_children()])
    m.register_buffer("buf", torch.zeros(1))
    m[0].register_buffer("rb", torch.zeros(1))
    log([n for n, _ in m.named_buffers(prefix="x", remove_duplicate=False)])
    log([n for n, _ in m.named_buffers()], list(m.state_dict()))
    log(len(list(m.modules())), len(list(m.parameters())))


@program()
def module_get_set_submodule_errors(torch, log):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    m.register_buffer("buf", torch.ones(1))
    log(str(m.get_submodule("1.1")), m.get_submodule("") is m)
    log(m.get_parameter("1.1.bias").shape, m.get_buffer("buf"))
    _err(log, lambda: m.get_submodule("1.5"))
    _err(log, lambda: m.get_submodule("0.weight"))
    _err(log, lambda: m.get_submodule("2"))
    _err(log, lambda: m.get_parameter("1.1.nope"))
    _err(log, lambda: m.get_parameter("buf"))
    _err(log, lambda: m.get_buffer("0.weight"))
    _err(log, lambda: m.get_buffer("9.x"))
    m.set_submodule("1.0", nn.Tanh())
    log(str(m))
    _err(log, lambda: m.set_submodule("1.9", nn.Tanh()))
    _err(log, lambda: m.set_submodule("0.weight", nn.Tanh()))
    _err(log, lambda: m.set_submodule("", nn.Tanh()))
    _err(log, lambda: m.set_submodule("1.0", 5))
    _err(log, lambda: m.set_submodule("1.7", nn.Tanh(), strict=True))
    m.set_submodule("1.7", nn.Tanh())
    log(str(m))


@program()
def module_setattr_edge_cases(torch, log):
    nn = torch.nn
    m = nn.Linear(2, 2)
    m.bias = None
    log(m.bias, list(m.state_dict()), str(m))
    m.bias = nn.Parameter(torch.zeros(2))
    log(list(m.state_dict()))
    m.register_buffer("running", torch.zeros(2))
    m.running = torch.ones(2)
    log(m.running, list(m.state_dict()))
    def bad():
        m.running = 5
    _err(log, bad)
    m.running = None
    log(list(m.state_dict()), "running" in m._buffers)
    del m.running
    log("running" in m._buffers, hasattr(m, "running"))
    _err(log, lambda: m.nonexistent)
    def delnone():
        del m.nothing
    _err(log, delnone)
    m.child = nn.ReLU()
    del m.child
    log([n for n, _ in m.named_children()])
    log(sorted(k for k in dir(m) if k in ("weight", "bias", "forward", "in_features")))


@program()
def module_state_dict_hooks(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    calls = []

    def post(mod, sd, prefix, local_metadata):
        calls.append(("post", prefix, sorted(sd)))
        sd[prefix + "extra"] = torch.tensor(1.0)
    m[0]._register_state_dict_hook(post)
    pre = m[1].register_state_dict_pre_hook(
        lambda mod, prefix, keep_vars: calls.append(("pre", prefix, keep_vars)))
    sd = m.state_dict()
    log(list(sd), calls)
    pre.remove()
    log(sd._metadata if hasattr(sd, "_metadata") else None)

    def lpre(mod, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        calls.append(("lpre", prefix, strict))
        state_dict.pop(prefix + "extra", None)
    m[0]._register_load_state_dict_pre_hook(lpre, with_module=True)
    m.register_load_state_dict_post_hook(
        lambda mod, keys: calls.append(("lpost", keys.missing_keys, keys.unexpected_keys)))
    calls.clear()
    r = m.load_state_dict(sd)
    log(calls, r.missing_keys, r.unexpected_keys, str(r))
    sd2 = dict(sd)
    sd2["1.weight"] = torch.ones(3)
    _err(log, lambda: m.load_state_dict(sd2))
    del sd2["1.weight"]
    sd2["bogus"] = torch.ones(1)
    _err(log, lambda: m.load_state_dict(sd2))
    r = m.load_state_dict(sd2, strict=False)
    log(r.missing_keys, r.unexpected_keys, str(r))


@program()
def load_state_dict_assign_and_to_empty(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    src = nn.Linear(3, 2)
    with torch.device("meta"):
        m = nn.Linear(3, 2)
    log(m.weight.device, m.weight.is_meta, str(m.weight.device))
    m.load_state_dict(src.state_dict(), assign=True)
    log(m.weight, m.weight.requires_grad, type(m.weight).__name__, m.weight.device)
    log(m.weight.data_ptr() == src.weight.data_ptr())
    with torch.device("meta"):
        m2 = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    m2.to_empty(device="cpu")
    log(m2[0].weight.shape, m2[0].weight.device, m2[1].running_mean.shape,
        m2[1].num_batches_tracked.dtype)
    m3 = nn.Linear(2, 2)
    sd = {"weight": torch.ones(2, 2, dtype=torch.float64), "bias": torch.zeros(2)}
    m3.load_state_dict(sd)
    log(m3.weight.dtype, m3.weight)
    m3.load_state_dict(sd, assign=True)
    log(m3.weight.dtype, type(m3.weight).__name__, m3.weight.requires_grad)
    _err(log, lambda: m3.load_state_dict({"weight": torch.ones(3, 2), "bias": torch.zeros(2)},
                                         assign=True))


@program()
def module_zero_grad_requires_grad_train_eval(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    m(torch.randn(4, 2)).sum().backward()
    log([p.grad is None for p in m.parameters()])
    m.zero_grad(set_to_none=False)
    log([p.grad for p in m.parameters()])
    m.zero_grad()
    log([p.grad is None for p in m.parameters()])
    r = m.requires_grad_(False)
    log(r is m, [p.requires_grad for p in m.parameters()])
    m[0].requires_grad_()
    log([p.requires_grad for p in m.parameters()])
    r = m.eval()
    log(r is m, [x.training for x in m.modules()])
    m[2].train()
    log([x.training for x in m.modules()])
    _err(log, lambda: m.train("yes"))
    m.train(False)
    log([x.training for x in m.modules()])
    x = nn.Linear(1, 1)
    x.weight.grad = torch.ones(1, 1, requires_grad=True).sum(0, keepdim=True) * 2
    log(x.weight.grad.grad_fn is not None)
    x.zero_grad(set_to_none=False)
    log(x.weight.grad, x.weight.grad.grad_fn, x.weight.grad.requires_grad)


@program()
def module_deepcopy_and_pickle(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m[0].weight.grad = torch.ones(3, 2)
    c = copy.deepcopy(m)
    log(c[0].weight, c[0].weight.grad, type(c[0].weight).__name__, c[0].weight is m[0].weight)
    c[0].weight.data.add_(1)
    log(m[0].weight[0])
    b = io.BytesIO()
    torch.save(m, b)
    b.seek(0)
    m2 = torch.load(b, weights_only=False)
    log(str(m2), m2[0].weight, m2[1].running_var, m2[0].weight.grad)
    p = pickle.loads(pickle.dumps(m[0].weight))
    log(p, type(p).__name__, p.requires_grad)
    shared = nn.Linear(1, 1)
    s = nn.Sequential(shared, shared)
    d = copy.deepcopy(s)
    log(d[0] is d[1], d[0].weight is d[1].weight, len(list(d.parameters())))
    t = torch.ones(2, requires_grad=True) * 2
    _err(log, lambda: copy.deepcopy(t))


# ---- nn.init ------------------------------------------------------------------------------

@program()
def init_gains_and_fans(torch, log):
    init = torch.nn.init
    for nl in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu", "conv_transpose1d"):
        log(nl, init.calculate_gain(nl))
    log(init.calculate_gain("leaky_relu"), init.calculate_gain("leaky_relu", 0.2),
        init.calculate_gain("leaky_relu", 1))
    _err(log, lambda: init.calculate_gain("leaky_relu", "x"))
    _err(log, lambda: init.calculate_gain("leaky_relu", True))
    _err(log, lambda: init.calculate_gain("gelu"))
    _err(log, lambda: init.calculate_gain("tanh", 2))
    for shape in ((5,), (4, 3), (4, 3, 5), (2, 3, 4, 5)):
        w = torch.empty(shape)
        for mode in ("fan_in", "fan_out"):
            _err(log, lambda: init.kaiming_uniform_(w, a=0.1, mode=mode).sum())
            _err(log, lambda: init.kaiming_normal_(w, mode=mode, nonlinearity="leaky_relu")
                 .std())
        _err(log, lambda: init.xavier_uniform_(w, gain=2.0).abs().max())
        _err(log, lambda: init.xavier_normal_(w).mean())
    _err(log, lambda: init.kaiming_uniform_(torch.empty(3, 3), mode="fan_avg"))
    _err(log, lambda: init._calculate_fan_in_and_fan_out(torch.empty(3)))
    log(init._calculate_fan_in_and_fan_out(torch.empty(6, 4, 3, 2)))
    _err(log, lambda: init.kaiming_uniform_(torch.empty(0, 3)))


@program()
def init_trunc_orthogonal_sparse_misc(torch, log):
    init = torch.nn.init
    torch.manual_seed(1)
    w = init.trunc_normal_(torch.empty(1000), mean=1.0, std=2.0, a=-0.5, b=0.5)
    log(bool(w.min() >= -0.5), bool(w.max() <= 0.5), w[:4])
    log(init.trunc_normal_(torch.empty(2, 3), generator=torch.Generator().manual_seed(3)))
    for shape in ((3, 5), (5, 3), (2, 3, 4), (4, 2, 2)):
        q = init.orthogonal_(torch.empty(shape), gain=1.5)
        f = q.reshape(shape[0], -1)
        g = f @ f.T if shape[0] <= f.shape[1] else f.T @ f
        log(shape, q.shape, bool(torch.allclose(g, 2.25 * torch.eye(g.shape[0]), atol=1e-5)))
    _err(log, lambda: init.orthogonal_(torch.empty(3)))
    s = init.sparse_(torch.empty(10, 4), sparsity=0.3, std=0.5)
    log((s == 0).sum(0))
    _err(log, lambda: init.sparse_(torch.empty(2, 3, 4), 0.5))
    log(init.eye_(torch.empty(2, 3)), init.dirac_(torch.empty(4, 2, 3)).sum((1, 2)))
    _err(log, lambda: init.eye_(torch.empty(2, 3, 4)))
    _err(log, lambda: init.dirac_(torch.empty(2, 3)))
    log(init.dirac_(torch.empty(4, 2, 3), groups=2)[:, :, 1])
    _err(log, lambda: init.dirac_(torch.empty(3, 2, 3), groups=2))
    log(init.constant_(torch.empty(2, dtype=torch.int64), 3.7),
        init.ones_(torch.empty(2, dtype=torch.bool)), init.zeros_(torch.empty(1)))
    p = torch.nn.Parameter(torch.ones(2))
    r = init.uniform_(p, 2, 3)
    log(r is p, p.requires_grad, p.grad_fn, p._version if hasattr(p, "_version") else None)


# ---- nn.utils -----------------------------------------------------------------------------

@program(tol=1e-6)
def utils_clip_and_vector_conversions(torch, log):
    nn, U = torch.nn, torch.nn.utils
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    m(torch.randn(5, 3)).pow(2).sum().backward()
    U.clip_grad_value_(m.parameters(), 0.1)
    log([p.grad for p in m.parameters()])
    _err(log, lambda: U.clip_grad_value_(m.parameters(), -1.0))
    n = U.clip_grad_norm_(m.parameters(), 0.05, norm_type="inf")
    log(n, m[0].bias.grad)
    log(U.clip_grad_norm_([], 1.0))
    log(U.get_total_norm([torch.ones(2), torch.ones(3) * 2], 3.0))
    v = U.parameters_to_vector(m.parameters())
    log(v.shape, v[:5], v.requires_grad, v.grad_fn is not None)
    U.vector_to_parameters(torch.arange(v.numel(), dtype=torch.float32), m.parameters())
    log(m[1].bias, m[0].weight[0], m[1].weight.requires_grad, m[1].weight.is_leaf)
    _err(log, lambda: U.vector_to_parameters([1.0], m.parameters()))
    _err(log, lambda: U.vector_to_parameters(torch.zeros(3), m.parameters()))
    _err(log, lambda: U.parameters_to_vector([torch.ones(2), torch.ones(2, dtype=torch.float64)]))


@program(tol=1e-6)
def utils_fuse_conv_bn_and_weight_norm_removal(torch, log):
    nn, U = torch.nn, torch.nn.utils
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, bias=False).eval()
    bn = nn.BatchNorm2d(3).eval()
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    x = torch.randn(1, 2, 5, 5)
    fused = U.fuse_conv_bn_eval(conv, bn)
    log(type(fused).__name__, fused.bias is not None, fused.bias.requires_grad,
        torch.allclose(fused(x), bn(conv(x)), atol=1e-6))
    lin = nn.Linear(3, 2).eval()
    bn1 = nn.BatchNorm1d(2).eval()
    bn1.running_var.fill_(3.0)
    fl = U.fuse_linear_bn_eval(lin, bn1)
    log(fl.weight, fl.bias)
    _err(log, lambda: U.fuse_conv_bn_eval(conv.train(), bn))
    wn = U.weight_norm(nn.Linear(3, 2), dim=0)
    log(sorted(n for n, _ in wn.named_parameters()), wn.weight_g.shape)
    _err(log, lambda: U.weight_norm(wn))
    U.remove_weight_norm(wn)
    log(sorted(n for n, _ in wn.named_parameters()), type(wn.weight).__name__)
    _err(log, lambda: U.remove_weight_norm(wn))
    wn2 = U.weight_norm(nn.Linear(3, 2), dim=None)
    log(wn2.weight_g.shape, wn2.weight_v.shape)
    sn = U.spectral_norm(nn.Linear(3, 2))
    log(sorted(n for n, _ in sn.named_parameters()), sorted(n for n, _ in sn.named_buffers()))
    U.remove_spectral_norm(sn)
    _err(log, lambda: U.remove_spectral_norm(sn))


@program()
def utils_functional_call(torch, log):
    nn = torch.nn
    functional_call = torch.func.functional_call
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    x = torch.randn(3, 2)
    params = {"0.weight": torch.eye(2), "0.bias": torch.zeros(2)}
    out = functional_call(m, params, (x,))
    log(out, m[0].weight.sum().item() != 2.0, m[1].running_mean)
    out = torch.nn.utils.stateless.functional_call(m, params, x)
    log(out)
    _err(log, lambda: functional_call(m, {"0.nope": torch.eye(2)}, (x,), strict=True))
    _err(log, lambda: functional_call(m, (params, {"0.weight": torch.eye(2)}), (x,)))
    out = functional_call(m, ({"0.weight": torch.eye(2)}, {"0.bias": torch.ones(2)}), x,
                          tie_weights=False)
    log(out)
    m2 = nn.Linear(2, 1)
    out = functional_call(m2, {"weight": torch.ones(1, 2)}, args=(), kwargs={"input": x})
    log(out)



# ---- custom autograd.Function -------------------------------------------------------------

@program()
def function_non_tensor_outputs_and_non_differentiable(torch, log):
    class SortWithIdx(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            v, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return v * k, i, "tag", k

        @staticmethod
        def backward(ctx, gv, gi, gs, gk):
            (i,) = ctx.saved_tensors
            log("backward", gi, gs, gk)
            return torch.zeros_like(gv).scatter(0, i, gv) * 2, None

    x = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i, s, k = SortWithIdx.apply(x, 2)
    log(v, i, i.requires_grad, i.grad_fn, s, k, type(v.grad_fn).__name__)
    v.sum().backward()
    log(x.grad)

    class TooMany(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    _err(log, lambda: TooMany.apply(torch.ones(2, requires_grad=True)).sum().backward())

    class WrongShape(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    _err(log, lambda: WrongShape.apply(torch.ones(2, requires_grad=True)).sum().backward())

    class GradForInt(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n

        @staticmethod
        def backward(ctx, g):
            return g, torch.ones(1)

    _err(log, lambda: GradForInt.apply(torch.ones(2, requires_grad=True), 3).sum().backward())


@program()
def function_materialize_grads_and_once_differentiable(torch, log):
    from_fn = torch.autograd.function

    class Two(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            log("grads", ga, gb)
            out = 0
            if ga is not None:
                out = out + ga * 2
            if gb is not None:
                out = out + gb * 3
            return out, None

    for mat in (True, False):
        x = torch.ones(2, requires_grad=True)
        a, b = Two.apply(x, mat)
        a.sum().backward()
        log(mat, x.grad)

    class Once(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @from_fn.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Once.apply(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    log(g, g.requires_grad, g.grad_fn is not None)
    _err(log, lambda: g.sum().backward())

    class Dirty(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    leaf = torch.ones(2, requires_grad=True)
    _err(log, lambda: Dirty.apply(leaf))
    y = leaf.clone()
    z = Dirty.apply(y)
    log(z is y, z, y._version)
    z.sum().backward()
    log(leaf.grad)

    class NotDirty(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    w = torch.ones(2, requires_grad=True)
    out = NotDirty.apply(w)
    log(out is w, out.grad_fn is not None, out.is_leaf)


@program()
def function_setup_context_and_vmap(torch, log):
    def cube(save, as_is):
        class Cube(torch.autograd.Function):
            generate_vmap_rule = True

            @staticmethod
            def forward(x):
                return x ** 3, (x if as_is else x.view_as(x))

            @staticmethod
            def setup_context(ctx, inputs, output):
                (x,) = inputs
                if save:
                    ctx.save_for_backward(x)
                ctx.mark_non_differentiable(output[1])

            @staticmethod
            def backward(ctx, g, _):
                return 3 * g if not save else 3 * ctx.saved_tensors[0] ** 2 * g
        return Cube

    x = torch.tensor([1.0, 2.0, -1.0], requires_grad=True)
    y, same = cube(True, False).apply(x)
    y.sum().backward()
    log(y, x.grad, same.requires_grad)
    log(torch.func.grad(lambda t: cube(True, False).apply(t)[0].sum())(torch.tensor([2.0, 3.0])))
    log(torch.func.vmap(lambda t: cube(True, False).apply(t)[0])(torch.arange(6.0).reshape(3, 2)))
    # an input returned as is and saved by setup_context: torch refuses it but where the output
    # is non-differentiable and the input requires grad
    for rg in (False, True):
        x = torch.tensor([1.0, 2.0], requires_grad=rg)
        _err(log, lambda: [t.requires_grad for t in cube(True, True).apply(x)])
        _err(log, lambda: [t.requires_grad for t in cube(False, True).apply(x)])
    _err(log, lambda: torch.func.grad(lambda t: cube(True, True).apply(t)[0].sum())(
        torch.tensor([2.0, 3.0])))
    # returned as is: a view input, and under vmap (whose inputs are views)
    base = torch.arange(6.0).reshape(3, 2)
    y, same = cube(False, True).apply(base[1])
    log(y, same, same._base is base, same._version)
    log(torch.func.vmap(lambda t: cube(False, True).apply(t)[1])(base))

    class NoCtx(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    _err(log, lambda: NoCtx.apply(torch.ones(1)))

    class Direct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

    _err(log, lambda: Direct()(torch.ones(1)))
    _err(log, lambda: Direct.apply(torch.ones(1, requires_grad=True)).sum().backward())


# ---- module hooks -------------------------------------------------------------------------

@program()
def module_hooks_with_kwargs_and_always_call(torch, log):
    nn = torch.nn
    torch.manual_seed(0)

    class M(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = M()
    seen = []
    h1 = m.register_forward_pre_hook(
        lambda mod, args, kwargs: (args, {**kwargs, "scale": kwargs.get("scale", 1.0) * 10}),
        with_kwargs=True)
    h2 = m.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(("fwd", len(args), sorted(kwargs))) or out + 1,
        with_kwargs=True)
    log(m(torch.ones(2), scale=2.0), m(torch.ones(2)), seen)
    h1.remove()
    h2.remove()
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 3,), prepend=True)
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
    log(m(torch.ones(2)))

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    b = Boom()
    b.register_forward_hook(lambda mod, a, o: seen.append("always"), always_call=True)
    b.register_forward_hook(lambda mod, a, o: seen.append("not always"))
    seen.clear()
    _err(log, lambda: b(torch.ones(1)))
    log(seen)
    bad = nn.Identity()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    _err(log, lambda: bad(torch.ones(1)))


@program()
def module_full_backward_hooks(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    seen = []

    def bh(mod, gin, gout):
        seen.append(("bwd", [None if g is None else g.shape for g in gin],
                     [g.shape for g in gout]))
        return (gin[0] * 0.5,)

    def bph(mod, gout):
        seen.append(("pre", [g.sum().item() for g in gout]))
        return (gout[0] * 2,)

    lin.register_full_backward_hook(bh)
    lin.register_full_backward_pre_hook(bph)
    x = torch.randn(4, 3, requires_grad=True)
    lin(x).sum().backward()
    log(seen, x.grad, lin.bias.grad)
    seen.clear()
    lin(torch.randn(4, 3)).sum().backward()
    log(seen)

    r = nn.ReLU(inplace=True)
    r.register_full_backward_hook(lambda mod, gi, go: None)
    y = torch.randn(3, requires_grad=True)
    _err(log, lambda: r(y * 1).sum().backward())
    _err(log, lambda: r(y.view(3) * 1))
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (torch.ones(5),))
    _err(log, lambda: m(torch.ones(1, 2, requires_grad=True)).sum().backward())
    m2 = nn.Linear(2, 2)
    m2.register_backward_hook(lambda mod, gi, go: None)
    m2.register_full_backward_hook(lambda mod, gi, go: None)
    _err(log, lambda: m2(torch.ones(1, 2)))


@program()
def global_module_hooks(torch, log):
    nn = torch.nn
    seen = []
    hs = [nn.modules.module.register_module_forward_pre_hook(
              lambda m, a: seen.append(("gpre", type(m).__name__))),
          nn.modules.module.register_module_forward_hook(
              lambda m, a, o: seen.append(("gpost", type(m).__name__))),
          nn.modules.module.register_module_full_backward_hook(
              lambda m, gi, go: seen.append(("gbwd", type(m).__name__)))]
    try:
        m = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
        m.register_forward_hook(lambda mod, a, o: seen.append(("local", type(mod).__name__)))
        m(torch.ones(1, 2, requires_grad=True)).sum().backward()
        log(seen)
    finally:
        for h in hs:
            h.remove()
    seen.clear()
    m(torch.ones(1, 2))
    log(seen)



# ---- grad modes and inference tensors -----------------------------------------------------

@program()
def grad_mode_decorators_and_generators(torch, log):
    @torch.no_grad()
    def f(x):
        return x * 2, torch.is_grad_enabled()

    @torch.no_grad
    def g(x):
        return x * 3

    @torch.enable_grad()
    def h(x):
        return x * 4

    @torch.inference_mode()
    def i(x):
        return x * 5

    @torch.inference_mode(mode=False)
    def j(x):
        return x * 6, torch.is_inference_mode_enabled()

    x = torch.ones(2, requires_grad=True)
    y, en = f(x)
    log(y.requires_grad, en, torch.is_grad_enabled(), g(x).requires_grad, f.__name__)
    with torch.no_grad():
        log(h(x).requires_grad, torch.is_grad_enabled())
    z = i(x)
    log(z.requires_grad, z.is_inference(), x.is_inference())
    with torch.inference_mode():
        w, inf = j(x)
        log(w.is_inference(), inf, torch.is_inference_mode_enabled())

    @torch.no_grad()
    def gen(n):
        for k in range(n):
            yield (x * k).requires_grad, torch.is_grad_enabled()
    it = gen(2)
    log(next(it), torch.is_grad_enabled(), next(it))
    with torch.set_grad_enabled(False):
        log(torch.is_grad_enabled())
    torch.set_grad_enabled(False)
    log(torch.is_grad_enabled())
    torch.set_grad_enabled(True)
    log(torch.is_grad_enabled())
    prev = torch.set_grad_enabled(False)
    log(type(prev).__name__)
    torch.set_grad_enabled(True)
    with torch.autograd.grad_mode.set_grad_enabled(False):
        log((x * 1).requires_grad)
    with torch.autograd.set_multithreading_enabled(False):
        log("mt")
    _err(log, lambda: torch.set_grad_enabled("no"))
    sg = torch.set_grad_enabled(False)
    log(sg.mode, sg.prev, torch.is_grad_enabled())
    torch.set_grad_enabled(True)
    log(torch.inference_mode().mode, torch.inference_mode(False).mode)

    class Net(torch.nn.Module):
        @torch.no_grad()
        def forward(self, a):
            return a * 2
    log(Net()(x).requires_grad)


@program()
def inference_tensor_errors(torch, log):
    with torch.inference_mode():
        t = torch.ones(3)
        v = t[:2]
    log(t.is_inference(), v.is_inference(), t.requires_grad)
    p = torch.ones(3, requires_grad=True)
    _err(log, lambda: (p * t).sum().backward())
    _err(log, lambda: t.add_(1))
    _err(log, lambda: t.requires_grad_())
    _err(log, lambda: t.resize_(2))
    def setitem():
        t[0] = 5
    _err(log, setitem)
    _err(log, lambda: torch.mul(t, 2, out=t))
    with torch.inference_mode():
        t.add_(1)
        log(t)
    c = t.clone()
    log(c.is_inference(), (c + 1).is_inference(), (t + 1).is_inference())
    c.add_(1).requires_grad_()
    log(c.requires_grad)
    with torch.inference_mode():
        n = torch.ones(3) * p
    _err(log, lambda: n.sum().backward())
    log(n.requires_grad, n.grad_fn)
    lin = torch.nn.Linear(3, 1)
    with torch.inference_mode():
        out = lin(torch.ones(1, 3))
    log(out.is_inference(), out.requires_grad)
    _err(log, lambda: lin(out.expand(1, 3)).sum().backward())
    with torch.no_grad():
        r = torch.ones(2)
    log(r.is_inference())
    _err(log, lambda: torch.autograd.grad(torch.ones(1).sum(), t))
    with torch.inference_mode():
        _err(log, lambda: p.add_(1))
        log(p)
        nn = torch.ones(2)
    _err(log, lambda: nn.view(2).mul_(2))
    # set_: refused on an inference tensor outside inference mode; a tensor keeps its kind
    for src in (lambda: torch.ones(3), lambda: None, lambda: nn.untyped_storage()):
        _err(log, lambda: nn.set_(src()) if src() is not None else nn.set_())
    r = torch.ones(3).set_(nn)
    log(r.is_inference(), r)
    with torch.inference_mode():
        r = nn.set_(torch.zeros(2))
        with torch.inference_mode(False):
            plain = torch.ones(2)
        plain.set_(torch.zeros(2))
    log(r.is_inference(), r, plain.is_inference(), plain)
    plain.add_(1)
    log(plain)


@program(xfail="torch's detach() and .data of an inference tensor are inference tensors "
         "(is_inference True, requires_grad_ refused) whose in-place writes outside inference "
         "mode are allowed (their views' are not); ember's detach() shares the refusing "
         "version counter and its .data is a plain tensor")
def inference_tensor_detach_and_data(torch, log):
    with torch.inference_mode():
        it = torch.ones(2)
    for f in (it.detach, lambda: it.data, lambda: it.view(2), lambda: it.detach().view(2)):
        t = f()
        _err(log, lambda: t.add_(1))
        _err(log, lambda: t.requires_grad_().requires_grad)
        log(t.is_inference(), it)


# ---- Tensor subclasses --------------------------------------------------------------------

@program()
def tensor_subclass_propagation(torch, log):
    class Tagged(torch.Tensor):
        def extra(self):
            return "tagged"

    t = torch.ones(2, 3).as_subclass(Tagged)
    log(type(t).__name__, type(t + 1).__name__, type(t.sum()).__name__, type(t[0]).__name__,
        type(torch.add(t, 1)).__name__, type(t.view(3, 2)).__name__, t.extra())
    log(type(torch.ones(2) + t[0]).__name__, type(t.float()).__name__, type(t.clone()).__name__)
    log(type(t.detach()).__name__, type(t.tolist()).__name__, type(t.split(1)[0]).__name__)
    log(isinstance(t, torch.Tensor), repr(t), type(torch.stack([t[0], t[1]])).__name__)
    p = torch.nn.Parameter(torch.ones(2))
    log(type(p * 2).__name__, type(p.data).__name__, type(p.detach()).__name__,
        type(p[0]).__name__)

    class Logged(torch.Tensor):
        seen = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.seen.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    x = torch.arange(4.0).as_subclass(Logged)
    y = (x * 2).sum()
    log(type(y).__name__, Logged.seen[:4], float(y))
    Logged.seen.clear()
    z = torch.nn.functional.relu(x)
    log(type(z).__name__, "relu" in Logged.seen)

    class Plain(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **(kwargs or {}))
    q = torch.ones(2).as_subclass(Plain)
    log(type(q + 1).__name__)
    r = Tagged(torch.ones(2))
    log(type(r).__name__, r.requires_grad)
    log(torch.Tensor(torch.ones(2)).dtype, torch.Tensor(2, 3).shape, torch.Tensor([1, 2]))
    _err(log, lambda: torch.Tensor([1, 2], dtype=torch.int64))


# ---- optimizers' param groups and schedulers ----------------------------------------------

@program()
def optimizer_param_group_errors(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    a, b = nn.Parameter(torch.randn(2)), nn.Parameter(torch.randn(2))
    opt = torch.optim.SGD([a], lr=0.1, momentum=0.9)
    _err(log, lambda: opt.add_param_group({"params": [a]}))
    _err(log, lambda: opt.add_param_group({"params": a * 2}))
    _err(log, lambda: opt.add_param_group({"params": torch.ones(2)}))
    _err(log, lambda: opt.add_param_group([b]))
    opt.add_param_group({"params": b, "lr": 0.5})
    log([sorted(g) for g in opt.param_groups], opt.param_groups[1]["momentum"],
        opt.param_groups[1]["lr"])
    _err(log, lambda: torch.optim.SGD([], lr=0.1).param_groups)
    _err(log, lambda: torch.optim.SGD(a, lr=0.1).param_groups)
    _err(log, lambda: torch.optim.SGD([a, a], lr=0.1).param_groups)
    _err(log, lambda: torch.optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1).param_groups)
    _err(log, lambda: torch.optim.SGD([a], lr=-0.1).param_groups)
    _err(log, lambda: torch.optim.SGD([a], lr=0.1, nesterov=True).defaults)
    _err(log, lambda: torch.optim.Adam([a], betas=(1.0, 0.9)).param_groups)
    _err(log, lambda: torch.optim.Adam([a], eps=-1).param_groups)
    _err(log, lambda: torch.optim.Adam([a], lr=torch.tensor([0.1, 0.2])).param_groups)
    opt2 = torch.optim.Adam([{"params": [a], "lr": 0.01}, {"params": [b]}], lr=0.1)
    sd = opt2.state_dict()
    log(sd["param_groups"])
    opt3 = torch.optim.Adam([a], lr=0.1)
    _err(log, lambda: opt3.load_state_dict(sd))
    opt4 = torch.optim.Adam([b, a], lr=0.1)
    _err(log, lambda: opt4.load_state_dict({"state": {}, "param_groups": [
        {"params": [0, 1], "lr": 1.0}]}))
    opt5 = torch.optim.Adam([{"params": [a, b]}], lr=0.1)
    _err(log, lambda: opt5.load_state_dict(sd))
    log(repr(opt2).splitlines())
    g = torch.optim.SGD([a], lr=0.1).param_groups[0]
    log(sorted(g.items())[1:])


@program(tol=1e-12)
def schedulers_chained_with_warmup(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.ones(1))

    def run(make, n=8):
        opt = torch.optim.SGD([p], lr=0.1)
        sch = make(opt)
        lrs = []
        for _ in range(n):
            opt.step()
            sch.step()
            lrs.append(sch.get_last_lr()[0])
        return lrs, sch.state_dict() if not isinstance(sch, S.ChainedScheduler) else None

    log(run(lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=3),
                                         S.CosineAnnealingLR(o, T_max=5)], milestones=[3])))
    log(run(lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, total_iters=2),
                                         S.ExponentialLR(o, 0.9),
                                         S.StepLR(o, 2, 0.5)], milestones=[2, 5])))
    log(run(lambda o: S.ChainedScheduler([S.LinearLR(o, 0.2, total_iters=4),
                                          S.ExponentialLR(o, 0.8)])))
    log(run(lambda o: S.ChainedScheduler([S.LinearLR(o, 0.2, total_iters=4),
                                          S.ExponentialLR(o, 0.8)], optimizer=o)))
    log(run(lambda o: S.PolynomialLR(o, total_iters=5, power=2.0)))
    log(run(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 10))
    opt = torch.optim.SGD([p], lr=0.1)
    _err(log, lambda: S.SequentialLR(opt, [S.LinearLR(opt)], milestones=[1]))
    opt2 = torch.optim.SGD([p], lr=0.1)
    _err(log, lambda: S.SequentialLR(opt, [S.LinearLR(opt), S.LinearLR(opt2)], milestones=[1]))
    _err(log, lambda: S.LinearLR(opt, start_factor=0))
    _err(log, lambda: S.LinearLR(opt, end_factor=2))
    _err(log, lambda: S.CosineAnnealingWarmRestarts(opt, T_0=0))
    _err(log, lambda: S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5))
    opt = torch.optim.SGD([p], lr=0.1)
    sch = S.StepLR(opt, 2)
    _err(log, lambda: sch.step(5))
    log(sch.get_last_lr(), sch.last_epoch)



# ---- reprs and containers -----------------------------------------------------------------

@program()
def extra_repr_of_many_layers(torch, log):
    nn = torch.nn
    layers = [
        nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False,
                  padding_mode="reflect"),
        nn.Conv2d(3, 6, (3, 1), padding="same"), nn.ConvTranspose2d(4, 2, 3, output_padding=1,
                                                                   stride=2),
        nn.Conv3d(1, 1, 1), nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True),
        nn.AvgPool1d(2, count_include_pad=False), nn.AdaptiveAvgPool2d((None, 4)),
        nn.AdaptiveMaxPool1d(3), nn.LPPool2d(2, 3), nn.FractionalMaxPool2d(2, output_size=3),
        nn.BatchNorm2d(3, momentum=None, affine=False), nn.LayerNorm([3, 4],
                                                                     elementwise_affine=False),
        nn.GroupNorm(2, 4, eps=1e-3), nn.InstanceNorm1d(3, track_running_stats=True),
        nn.LocalResponseNorm(3), nn.RMSNorm(5), nn.Dropout2d(0.3, inplace=True),
        nn.AlphaDropout(0.1), nn.Embedding(10, 3, padding_idx=0, max_norm=1.0),
        nn.EmbeddingBag(10, 3, mode="max"), nn.LSTM(3, 4, 2, batch_first=True,
                                                    bidirectional=True),
        nn.GRUCell(3, 4), nn.RNN(2, 3, nonlinearity="relu", dropout=0.1, num_layers=2),
        nn.Bilinear(2, 3, 4), nn.Identity(5, k=3), nn.Flatten(0, -2), nn.Unflatten(1, (2, 3)),
        nn.PixelShuffle(2), nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.ReflectionPad2d((1, 0, 2, 1)), nn.ConstantPad1d(2, 3.5), nn.ZeroPad2d(1),
        nn.LeakyReLU(0.2, True), nn.ELU(alpha=0.5), nn.Hardtanh(-2, 2), nn.Softplus(2, 10),
        nn.Threshold(0.1, 20), nn.GELU("tanh"), nn.Softmax(dim=1), nn.LogSoftmax(),
        nn.PReLU(3), nn.RReLU(0.1, 0.3), nn.CELU(), nn.GLU(-1), nn.Hardshrink(0.3),
        nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"),
        nn.TransformerEncoderLayer(8, 2, 16), nn.MultiheadAttention(4, 2, kdim=3, vdim=5),
        nn.CosineSimilarity(), nn.PairwiseDistance(p=1), nn.Fold((4, 5), 2),
        nn.Unfold(2, dilation=2), nn.ChannelShuffle(2), nn.Softmax2d(), nn.Tanhshrink(),
        nn.TripletMarginLoss(margin=0.5), nn.CTCLoss(blank=1), nn.SiLU(True), nn.Mish(),
        nn.Hardswish(), nn.LazyLinear(3), nn.SyncBatchNorm(3), nn.ZeroPad3d((1, 2, 3, 4, 5, 6)),
        nn.CircularPad2d(1), nn.ReplicationPad1d((1, 2)), nn.MaxUnpool2d(2),
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4, 8]), nn.Transformer(8, 2, 1, 1, 16),
    ]
    for layer in layers:
        log(repr(layer))


@program()
def containers_reprs_and_api(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    log(repr(ml), repr(ml[1:3]), type(ml[1:3]).__name__, len(ml))
    ml.insert(1, nn.Tanh())
    ml.extend([nn.Sigmoid()])
    ml.append(nn.Identity())
    del ml[0]
    log([type(m).__name__ for m in ml], list(ml._modules))
    _err(log, lambda: ml[10])
    _err(log, lambda: ml.extend(nn.ReLU()))
    log(repr(ml + nn.ModuleList([nn.ReLU()])))
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    md.update([("c", nn.ELU())])
    log(repr(md), list(md.keys()), md.pop("b").__class__.__name__, "b" in md)
    _err(log, lambda: md.update(5))
    _err(log, lambda: md.update([("x",)]))
    pl = nn.ParameterList([nn.Parameter(torch.ones(2)), torch.zeros(3, dtype=torch.float64),
                           "hello"])
    log(repr(pl), [type(p).__name__ for p in pl], len(list(pl.parameters())))
    pd = nn.ParameterDict({"w": nn.Parameter(torch.ones(2, 2)), "n": 3})
    pd["t"] = torch.ones(1)
    log(repr(pd), sorted(pd.keys()), type(pd["t"]).__name__, pd.get("zz", 7))
    log(repr(pd | nn.ParameterDict({"q": torch.ones(1)})).splitlines())
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    log(repr(seq[::2]), repr(seq[-1]), len(seq))
    seq.append(nn.Sigmoid())
    seq.insert(0, nn.Identity())
    log(repr(seq))
    del seq[1:3]
    log(repr(seq), list(seq._modules))
    _err(log, lambda: seq[7])
    _err(log, lambda: seq.insert(9, nn.ReLU()))
    _err(log, lambda: seq.pop(9))
    log(repr(seq + nn.Sequential(nn.Tanh())), repr(seq * 2))
    from collections import OrderedDict
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    log(repr(od), repr(od.fc), repr(od[1]))



# ---- state_dict versions, extra state, dtype moves ----------------------------------------

@program()
def load_from_state_dict_versions_and_extra_state(torch, log):
    nn = torch.nn

    class Old(nn.Module):
        _version = 3

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2))
            self.counter = 0

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing,
                                  unexpected, errors):
            log("version", local_metadata.get("version"), prefix)
            if local_metadata.get("version", 0) < 3 and prefix + "weight" in state_dict:
                state_dict[prefix + "w"] = state_dict.pop(prefix + "weight")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                          unexpected, errors)

        def get_extra_state(self):
            return {"counter": self.counter}

        def set_extra_state(self, state):
            self.counter = state["counter"] + 100

    outer = nn.Sequential(Old())
    outer[0].counter = 5
    sd = outer.state_dict()
    log(list(sd), sd["0._extra_state"], dict(sd._metadata))
    outer.load_state_dict(sd)
    log(outer[0].counter)
    from collections import OrderedDict
    legacy = OrderedDict([("0.weight", torch.ones(2)), ("0._extra_state", {"counter": 1})])
    legacy._metadata = {"0": {"version": 1}}
    r = outer.load_state_dict(legacy)
    log(outer[0].w, outer[0].counter, r)
    nometa = OrderedDict([("0.w", torch.full((2,), 3.0)), ("0._extra_state", {"counter": 2})])
    outer.load_state_dict(nometa)
    log(outer[0].w, outer[0].counter)
    _err(log, lambda: outer.load_state_dict({"0.w": torch.ones(2)}))

    bn = nn.BatchNorm1d(2)
    old = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    r = bn.load_state_dict(old)
    log(r, bn.num_batches_tracked)
    old = OrderedDict(old)
    old._metadata = {"": {"version": 1}}
    r = bn.load_state_dict(old)
    log(r, bn.num_batches_tracked)
    sd = bn.state_dict(prefix="bn.", keep_vars=True)
    log(list(sd), type(sd["bn.weight"]).__name__, sd["bn.weight"].requires_grad)
    dest = {}
    r = bn.state_dict(dest, "p.")
    log(r is dest, list(dest))


@program()
def module_dtype_moves(torch, log):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    m[0].weight.grad = torch.ones(2, 2)
    for conv in ("half", "double", "bfloat16", "float"):
        getattr(m, conv)()
        log(conv, m[0].weight.dtype, m[0].weight.grad.dtype, m[1].num_batches_tracked.dtype,
            m[1].running_mean.dtype, type(m[0].weight).__name__)
    m.to(torch.float64)
    log(m[0].bias.dtype, m[1].num_batches_tracked.dtype)
    m.to(torch.complex64)
    log(m[0].weight.dtype, m[1].running_var.dtype)
    m.float()
    log(m[0].weight.dtype)
    _err(log, lambda: m.to(torch.int32))
    m.type(torch.float64)
    log(m[0].weight.dtype, m[1].num_batches_tracked.dtype)
    m.to("cpu", torch.float32)
    log(m[0].weight.dtype)
    m.to(torch.ones(1, dtype=torch.float16))
    log(m[0].weight.dtype)
    w = m[0].weight
    m.to(torch.float32)
    log(w is m[0].weight, m[0].weight.dtype)
    m.apply(lambda mod: log(type(mod).__name__))
    _err(log, lambda: m.to(torch.float32, non_blocking=True, copy=True))


@program()
def module_init_order_errors(torch, log):
    nn = torch.nn

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.ones(1))
            super().__init__()

    class EarlyMod(nn.Module):
        def __init__(self):
            self.sub = nn.ReLU()
            super().__init__()

    class EarlyBuf(nn.Module):
        def __init__(self):
            self.register_buffer("b", torch.ones(1))

    class EarlyPlain(nn.Module):
        def __init__(self):
            self.x = 3
            self.t = torch.ones(1)
            super().__init__()

    for cls in (Early, EarlyMod, EarlyBuf):
        _err(log, lambda: cls())
    e = EarlyPlain()
    log(e.x, e.t, list(e.state_dict()))

    class Forgot(nn.Module):
        pass

    _err(log, lambda: Forgot()(torch.ones(1)))
    lin = nn.Linear(2, 2)
    _err(log, lambda: lin.nope)
    _err(log, lambda: getattr(lin, "weight_x"))
    _err(log, lambda: nn.Linear(2, 2, bogus=1))
    _err(log, lambda: nn.Module(1))
    _err(log, lambda: nn.Module(foo=1))
    _err(log, lambda: lin(torch.ones(2, 3)))
    _err(log, lambda: lin(torch.ones(2, 2), torch.ones(1)))
    _err(log, lambda: lin())
    _err(log, lambda: lin(input=torch.ones(2), extra=3))


@program()
def module_hooks_misc(torch, log):
    nn = torch.nn
    torch.manual_seed(0)

    class Two(nn.Module):
        def forward(self, a, b, flag=False):
            return a * b, a + b

    m = Two()
    seen = []
    m.register_forward_hook(lambda mod, args, out: (out[0] * 10, out[1]))
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append(([None if g is None else g.tolist() for g in gi],
                                         [None if g is None else g.tolist() for g in go])))
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0])
    x, y = m(a, b, flag=True)
    x.sum().backward()
    log(x, y, a.grad, seen)
    seen.clear()
    x, y = m(a, b)
    (x.sum() + y.sum()).backward()
    log(a.grad, seen)
    s = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    order = []
    s.register_forward_pre_hook(lambda mod, a: order.append("seq-pre"))
    s[0].register_forward_pre_hook(lambda mod, a: order.append("lin-pre"))
    s[0].register_forward_hook(lambda mod, a, o: order.append("lin-post"))
    s.register_forward_hook(lambda mod, a, o: order.append("seq-post"), prepend=True)
    s.register_forward_hook(lambda mod, a, o: order.append("seq-post2"), prepend=True)
    s(torch.ones(1, 2))
    log(order, len(s._forward_hooks), len(s._forward_pre_hooks))
    h = s.register_forward_hook(lambda mod, a, o: None)
    log(type(h).__name__, h.id > 0)
    h.remove()
    h.remove()
    with s.register_forward_hook(lambda mod, a, o: order.append("ctx")):
        s(torch.ones(1, 2))
    order.clear()
    s(torch.ones(1, 2))
    log(order)



@program()
def tensor_and_module_to_signatures(torch, log):
    t = torch.ones(2, 3)
    # to(dtype, non_blocking, copy): a lone bool is non_blocking, no copy
    for args, kw in (((torch.float32, True), {}), ((torch.float32, False, True), {}),
                     ((t, True), {}), ((t, False, True), {}), (("cpu", None, True), {}),
                     ((None, torch.float64), {}), (("cpu", torch.float32, False, True), {}),
                     ((), {"device": "cpu", "copy": True}), ((), {"tensor": t}),
                     (("cpu",), {"dtype": torch.float64}), ((torch.float64, False),
                                                              {"copy": True}),
                     ((float,), {}), ((int,), {}), ((complex,), {})):
        _err(log, lambda: (lambda r: (r.dtype, r is t))(t.to(*args, **kw)))
    for args, kw in ((("cpu", True), {}), (("cpu", "float32"), {}), (("float32",), {}),
                     (("torch.float64",), {}), ((torch.float32, "x"), {}),
                     ((torch.float32,), {"device": "cpu"}), ((torch.float32, 1), {}),
                     ((), {"dtype": "float32"}), ((t, torch.float64), {}),
                     ((), {"bogus": 1}), ((torch.float32, torch.float64), {}),
                     ((torch.float32,), {"device": "cpu", "bogus": 2}),
                     ((), {"device": "cpu", "dtype": "x"}),
                     ((torch.float32,), {"non_blocking": None}),
                     ((torch.device("cpu"), 5), {}), ((torch.float32,), {"memory_format": 1})):
        _err(log, lambda: t.to(*args, **kw))
    m = torch.nn.Linear(2, 2)
    _err(log, lambda: m.to("cpu", "float32"))
    _err(log, lambda: m.to(torch.float64, True).weight.dtype)
    _err(log, lambda: m.to("cpu", torch.float32, non_blocking=True).weight.dtype)



@program(tol=1e-12)
def schedulers_plateau_onecycle_cyclic(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p, torch.nn.Parameter(torch.ones(1))], lr=1.0, momentum=0.9)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.5})
    sch = S.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, threshold=0.1,
                              threshold_mode="abs", cooldown=1, min_lr=[0.1, 0.2])
    for metric in (1.0, 1.05, 1.0, 0.9, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0):
        sch.step(metric)
        log([g["lr"] for g in opt.param_groups], sch.num_bad_epochs, sch.cooldown_counter,
            sch.get_last_lr())
    log(sorted(sch.state_dict()))
    _err(log, lambda: S.ReduceLROnPlateau(opt, factor=1.0))
    _err(log, lambda: S.ReduceLROnPlateau(opt, mode="avg"))
    _err(log, lambda: S.ReduceLROnPlateau(opt, threshold_mode="x"))
    _err(log, lambda: S.ReduceLROnPlateau(opt, min_lr=[0.1]))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sch = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, three_phase=True,
                       anneal_strategy="linear")
    out = []
    for _ in range(9):
        opt.step()
        sch.step()
        out.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    log(out)
    opt.step()
    _err(log, sch.step)
    _err(log, lambda: S.OneCycleLR(opt, max_lr=1.0))
    _err(log, lambda: S.OneCycleLR(opt, max_lr=1.0, epochs=2))
    _err(log, lambda: S.OneCycleLR(opt, max_lr=1.0, total_steps=-1))
    _err(log, lambda: S.OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=2))
    _err(log, lambda: S.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="x"))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sch = S.CyclicLR(opt, 0.1, 1.0, step_size_up=2, mode="exp_range", gamma=0.9)
    out = []
    for _ in range(7):
        opt.step()
        sch.step()
        out.append((sch.get_last_lr()[0], opt.param_groups[0]["momentum"]))
    log(out, sorted(sch.state_dict()))
    _err(log, lambda: S.CyclicLR(torch.optim.Adam([p]), 0.1, 1.0).optimizer
         .param_groups[0]["betas"])
    _err(log, lambda: S.CyclicLR(opt, 0.1, 1.0, mode="nope"))
    opt = torch.optim.Adam([p], lr=0.1)
    sch = S.CyclicLR(opt, 0.1, 1.0, step_size_up=2, cycle_momentum=False, mode="triangular2")
    for _ in range(6):
        opt.step()
        sch.step()
    log(sch.get_last_lr(), sch.last_epoch)


@program()
def scheduler_order_and_misc_warnings(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sch = S.StepLR(opt, 1, gamma=0.5)
    sch.step()
    log(sch.get_last_lr())
    opt.step()
    sch.step()
    log(sch.get_lr(), sch.get_last_lr())
    sch2 = S.LambdaLR(opt, [lambda e: 0.9 ** e])
    log(sorted(sch2.state_dict()), sch2.state_dict()["lr_lambdas"])
    _err(log, lambda: S.LambdaLR(opt, [lambda e: 1, lambda e: 2]))
    _err(log, lambda: S.MultiStepLR(opt, [3, 1]).milestones)
    _err(log, lambda: S.StepLR(torch.nn.Linear(1, 1), 2))
    opt2 = torch.optim.SGD([p], lr=0.1)
    _err(log, lambda: S.StepLR(opt2, 2, last_epoch=3))
    opt3 = torch.optim.SGD([{"params": [p], "initial_lr": 0.3}], lr=0.1)
    sch3 = S.ExponentialLR(opt3, 0.5, last_epoch=2)
    log(sch3.get_last_lr(), sch3.base_lrs, opt3.param_groups[0]["lr"])
    opt4 = torch.optim.SGD([p], lr=torch.tensor(0.1))
    sch4 = S.StepLR(opt4, 1, 0.5)
    opt4.step()
    sch4.step()
    log(opt4.param_groups[0]["lr"], sch4.get_last_lr())



# ---- lazy modules, skip_init, tensor hooks ------------------------------------------------

@program(tol=1e-6)
def lazy_modules_and_uninitialized_params(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(1))
    log(repr(m), type(m[0].weight).__name__, m[0].has_uninitialized_params())
    _err(log, lambda: m[0].weight.shape)
    _err(log, lambda: m.state_dict()["0.weight"].shape)
    _err(log, lambda: torch.optim.SGD(m.parameters(), lr=0.1).param_groups[0]["lr"])
    _err(log, lambda: list(m.parameters())[0].numel())
    _err(log, lambda: sum(p.numel() for p in m.parameters() if p.requires_grad))
    _err(log, lambda: m[0].bias.nelement())
    _err(log, lambda: m[0].weight.dim())
    _err(log, lambda: m[0].weight.stride())
    _err(log, lambda: nn.UninitializedBuffer().numel())
    log(m[0].weight.dtype, m[0].weight.device, m[0].weight.size(), m[0].weight.ndim)
    y = m(torch.randn(2, 5))
    log(y, repr(m), type(m[0].weight).__name__, type(m[0]).__name__, m[0].in_features)
    c = nn.LazyConv2d(4, 3)
    c(torch.randn(1, 2, 5, 5))
    log(c.weight.shape, type(c).__name__, repr(c))
    b = nn.LazyBatchNorm1d()
    b(torch.randn(4, 3))
    log(b.running_mean, b.num_batches_tracked, type(b).__name__)
    lz = nn.LazyLinear(2)
    lz.load_state_dict(nn.Linear(4, 2).state_dict())
    log(lz.weight.shape, type(lz).__name__)
    lz2 = nn.LazyLinear(2)
    _err(log, lambda: lz2(torch.ones(3)).shape)
    p = nn.UninitializedParameter()
    log(repr(p), p.requires_grad)
    p.materialize((2, 3))
    log(type(p).__name__, p.shape, p.dtype)
    _err(log, lambda: nn.UninitializedBuffer().materialize(2).shape)


@program(xfail="ember runs ops on an UninitializedParameter (an empty tensor): torch's "
         "UninitializedTensorMixin.__torch_function__ raises ValueError('Attempted to use an "
         "uninitialized parameter in <func>...'); a __torch_function__ on the class would turn "
         "on ember's dispatchers for every process that imports ember.nn")
def uninitialized_parameter_ops(torch, log):
    m = torch.nn.LazyLinear(3)
    _err(log, lambda: m.weight + 1)
    _err(log, lambda: m.weight.sum())
    _err(log, lambda: torch.nn.functional.linear(torch.ones(2, 0), m.weight))


@program()
def skip_init_and_meta_modules(torch, log):
    nn = torch.nn
    m = nn.utils.skip_init(nn.Linear, 4, 2, bias=False)
    log(m.weight.shape, m.weight.dtype, m.bias, m.weight.device)
    m2 = nn.utils.skip_init(nn.Linear, 2, 2, dtype=torch.float64)
    log(m2.weight.dtype)
    _err(log, lambda: nn.utils.skip_init(nn.Linear(1, 1)))
    _err(log, lambda: nn.utils.skip_init(lambda: 0))
    meta = nn.Linear(3, 2, device="meta")
    log(repr(meta.weight), meta.weight.is_meta, repr(meta))
    _err(log, lambda: meta(torch.ones(1, 3)))
    _err(log, lambda: meta.weight.tolist())
    _err(log, lambda: meta.weight.item())
    mm = meta.to_empty(device="cpu")
    log(mm is meta, meta.weight.shape, meta.weight.device, meta.weight.requires_grad,
        type(meta.weight).__name__)
    with torch.device("meta"):
        t = torch.ones(2) + 1
    log(repr(t), t.device, str(t.device), t.shape)


@program()
def tensor_hooks_retain_grad_post_accumulate(torch, log):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: g * 2)
    x.register_post_accumulate_grad_hook(lambda p: seen.append(("acc", p.grad.tolist())))
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: seen.append(("y", g.tolist())))
    z = y.sum()
    z.retain_grad()
    z.backward(retain_graph=True)
    log(x.grad, y.grad, z.grad, seen, y.retains_grad, x.retains_grad)
    h.remove()
    z.backward()
    log(x.grad, y.grad, seen[-1])
    _err(log, lambda: torch.ones(2).register_hook(lambda g: g))
    _err(log, lambda: y.register_post_accumulate_grad_hook(lambda p: None))
    _err(log, lambda: torch.ones(2).retain_grad())
    x.retain_grad()
    log(x.retains_grad)
    w = torch.ones(2, requires_grad=True)
    w.register_hook(lambda g: None)
    w.register_hook(lambda g: g + 1)
    (w * 2).sum().backward()
    log(w.grad)
    v = torch.ones(2, requires_grad=True)
    v.register_hook(lambda g: torch.ones(3))
    _err(log, lambda: (v * 2).sum().backward())
    u = torch.ones(2, requires_grad=True)
    u.register_hook(lambda g: g.double())
    _err(log, lambda: (u * 2).sum().backward())
    log(u.grad)
    q = torch.ones(2, requires_grad=True)
    r = q * 2
    r.register_hook(lambda g: g * 10)
    r.retain_grad()
    r.sum().backward()
    log(r.grad, q.grad)



@program(tol=1e-6)
def optimizer_named_parameters_and_state_keys(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    opt = torch.optim.Adam(m.named_parameters(), lr=0.1)
    log(opt.param_groups[0].get("param_names"), sorted(opt.param_groups[0]))
    m(torch.randn(3, 2)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    log(sd["param_groups"][0]["param_names"], sd["param_groups"][0]["params"], list(sd["state"]))
    opt2 = torch.optim.Adam(m.parameters(), lr=0.1)
    _err(log, lambda: opt2.load_state_dict(sd))
    opt3 = torch.optim.Adam(m.named_parameters(), lr=0.5)
    opt3.load_state_dict(sd)
    log(opt3.param_groups[0]["lr"], opt3.state[m[0].weight]["exp_avg"])
    _err(log, lambda: torch.optim.SGD([("a", m[0].weight), m[0].bias], lr=0.1))
    opt4 = torch.optim.SGD([{"params": m[0].named_parameters(), "lr": 0.2},
                            {"params": m[1].named_parameters()}], lr=0.1)
    log([g["param_names"] for g in opt4.param_groups])
    _err(log, lambda: opt4.add_param_group({"params": [nn.Parameter(torch.ones(1))]}))
    opt5 = torch.optim.SGD(m[0].named_parameters(), lr=0.1)
    _err(log, lambda: opt5.add_param_group({"params": [nn.Parameter(torch.ones(1))]}))
    opt5.add_param_group({"params": [("extra", nn.Parameter(torch.ones(1)))]})
    log(opt5.param_groups[1]["param_names"])


@program()
def function_needs_input_grad_and_ctx(torch, log):
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, k=2.0, *, flag=False):
            ctx.k, ctx.flag = k, flag
            ctx.save_for_backward(x, w)
            return x * w * k

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            log("needs", ctx.needs_input_grad, ctx.k)
            gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
            gw = g * x * ctx.k if ctx.needs_input_grad[1] else None
            return gx, gw, None

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0])
    y = Scale.apply(x, w, 3.0)
    y.sum().backward()
    log(x.grad, y.grad_fn.k, type(y.grad_fn).__name__, y.grad_fn.name())
    _err(log, lambda: Scale.apply(x, w, k=1.0))
    _err(log, lambda: Scale.apply(x, w, flag=True))
    y = Scale.apply(x, w.requires_grad_())
    _err(log, lambda: y.sum().backward())
    log(w.grad, x.grad)
    z = Scale.apply(x, w)
    log(y.grad_fn.saved_tensors[0] is None)
    z.sum().backward(retain_graph=True)
    log(len(z.grad_fn.saved_tensors), z.grad_fn.next_functions)
    _err(log, lambda: Scale.forward(None, x, w))
    _err(log, lambda: Scale.backward(None, x))
    log(type(Scale.apply).__name__ != "", Scale.__name__, hasattr(Scale, "vjp"))

    # keywords: an old-style forward's placed by position up to the last given (no defaults),
    # a new-style one's bound with its defaults; keyword-only parameters refused
    class Old(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, k=2.0, m=3.0, *, flag=False):
            log("old", k, m, flag, len(ctx.needs_input_grad))
            return x * w * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None, None

    class New(torch.autograd.Function):
        @staticmethod
        def forward(x, w, k=2.0, m=3.0):
            return x * w * k * m

        @staticmethod
        def setup_context(ctx, inputs, output):
            log("setup", len(inputs), len(ctx.needs_input_grad))

        @staticmethod
        def backward(ctx, g):
            return g, None, None, None

    class NewKwOnly(New):
        @staticmethod
        def forward(x, w, *, flag=False):
            return x * w

    w = torch.tensor([3.0, 4.0])
    for fn in (Old, New, NewKwOnly):
        for a, kw in (((x, w), dict(k=1.0)), ((x, w), dict(m=1.0)), ((x,), dict(w=w)),
                      ((x, w), dict(flag=True)), ((x, w), dict(bogus=1)),
                      ((x, w, 1.0), dict(k=1.0)), ((x,), dict(k=1.0)), ((x, w), {})):
            _err(log, lambda: fn.apply(*a, **kw).sum().backward())



@program()
def parameters_buffers_and_custom_reprs(torch, log):
    nn = torch.nn
    p = nn.Parameter(torch.ones(2), requires_grad=False)
    log(repr(p), p.requires_grad, type(p).__name__, repr(nn.Parameter()))
    _err(log, lambda: nn.Parameter(torch.ones(2, dtype=torch.int64)))
    log(repr(nn.Parameter(torch.ones(2, dtype=torch.int64), requires_grad=False)))
    _err(log, lambda: nn.Parameter([1.0, 2.0]))
    b = nn.Buffer(torch.zeros(2), persistent=False)
    log(type(b).__name__, repr(b))

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.keep = nn.Buffer(torch.ones(1))
            self.tmp = nn.Buffer(torch.ones(1), persistent=False)
            self.register_buffer("tmp2", torch.ones(1), persistent=False)
            self.lin = nn.Linear(1, 1)

        def extra_repr(self):
            return "line one\nline two"

    m = M()
    log(repr(m), list(m.state_dict()), [n for n, _ in m.named_buffers()],
        sorted(m._non_persistent_buffers_set))
    r = m.load_state_dict({"keep": torch.zeros(1), "lin.weight": torch.ones(1, 1),
                           "lin.bias": torch.ones(1)})
    log(r, m.keep)
    _err(log, lambda: m.load_state_dict({"keep": torch.zeros(1), "tmp": torch.ones(1),
                                         "lin.weight": torch.ones(1, 1),
                                         "lin.bias": torch.ones(1)}))

    class Leaf(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"
    log(repr(Leaf()), repr(nn.Sequential(Leaf())), Leaf()._get_name())
    log(sorted(x for x in dir(m) if not x.startswith("_") and x in ("keep", "tmp", "lin",
                                                                     "training", "forward")))
    md = nn.ModuleDict()
    _err(log, lambda: md.update({"a.b": nn.ReLU()}))
    _err(log, lambda: md.__setitem__(1, nn.ReLU()))
    _err(log, lambda: nn.ModuleList([1]))
    _err(log, lambda: nn.Sequential(5))
    log([n for n, _ in m.named_buffers(recurse=False)], len(list(m.buffers())))



@program()
def tensor_subclass_construction_and_grad(torch, log):
    class MyParam(torch.nn.Parameter):
        def __new__(cls, data, tag="t"):
            self = super().__new__(cls, data)
            self.tag = tag
            return self

    p = MyParam(torch.ones(2), tag="hello")
    log(type(p).__name__, p.tag, p.requires_grad, repr(p))
    c = copy.deepcopy(p)
    log(type(c).__name__, c.tag, c.requires_grad)
    (p * 2).sum().backward()
    log(type(p.grad).__name__, p.grad)
    m = torch.nn.Linear(2, 2)
    m.weight = MyParam(torch.zeros(2, 2), "w")
    log(type(m.weight).__name__, [type(q).__name__ for q in m.parameters()],
        type(m.state_dict()["weight"]).__name__)

    class Sub(torch.Tensor):
        @staticmethod
        def __new__(cls, x, extra=None):
            return torch.Tensor._make_subclass(cls, x, x.requires_grad)

        def __init__(self, x, extra=None):
            self.extra = extra

    s = Sub(torch.ones(2, requires_grad=True), extra=5)
    log(type(s).__name__, s.extra, s.requires_grad, s.is_leaf, s.grad_fn)
    out = s * 3
    log(type(out).__name__, getattr(out, "extra", "none"), out.requires_grad)
    out.sum().backward()
    log(s.grad, type(s.grad).__name__)
    t = torch.Tensor._make_subclass(Sub, torch.ones(1))
    log(type(t).__name__, t.requires_grad)
    _err(log, lambda: torch.Tensor._make_subclass(Sub, torch.ones(2).int(), True))
    log(type(s.detach()).__name__, type(s.data).__name__, type(s.clone()).__name__,
        type(torch.cat([s, s])).__name__, type(s.new_ones(2)).__name__)
    log(isinstance(s, torch.Tensor), issubclass(Sub, torch.Tensor), type(s.float()).__name__)



@program(tol=1e-6)          # (orthogonal_'s QR: LAPACK builds differ in the last bits)
def init_with_generators_and_clip_nonfinite(torch, log):
    init = torch.nn.init
    for name, kw in (("uniform_", dict(a=-1, b=2)), ("normal_", dict(mean=1, std=2)),
                     ("kaiming_uniform_", dict(a=0.1)), ("kaiming_normal_", {}),
                     ("xavier_uniform_", {}), ("xavier_normal_", dict(gain=0.5)),
                     ("orthogonal_", {}), ("trunc_normal_", dict(std=0.5)),
                     ("sparse_", dict(sparsity=0.5))):
        g = torch.Generator().manual_seed(7)
        _err(log, lambda: getattr(init, name)(torch.empty(3, 4), generator=g, **kw))
        torch.manual_seed(7)
        _err(log, lambda: getattr(init, name)(torch.empty(3, 4), **kw))
    x = torch.empty(2, 2, dtype=torch.float64)
    log(init.uniform_(x, generator=torch.Generator().manual_seed(1)))
    x16 = init.normal_(torch.empty(3, dtype=torch.float16), generator=torch.Generator()
                       .manual_seed(2))
    log(x16.float(), x16.dtype)
    ps = [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))]
    ps[0].grad = torch.tensor([float("nan"), 1.0])
    ps[1].grad = torch.tensor([3.0, 4.0])
    _err(log, lambda: torch.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True))
    log(torch.nn.utils.clip_grad_norm_(ps, 1.0), ps[1].grad)
    ps[0].grad = torch.tensor([float("inf"), 1.0])
    _err(log, lambda: torch.nn.utils.clip_grad_norm_(ps, 1.0, norm_type=1,
                                                     error_if_nonfinite=True))
    ps[0].grad = torch.tensor([3.0, 4.0])
    ps[1].grad = None
    log(torch.nn.utils.clip_grad_norm_(ps, 2.0, foreach=True), ps[0].grad)
    log(torch.nn.utils.clip_grad_norm_(ps[0], 1.0, norm_type=0.5), ps[0].grad)
    log(torch.nn.utils.clip_grad_norm_(iter([ps[0]]), 0.1, norm_type=float("inf")), ps[0].grad)
    g = [torch.tensor([1.0, 2.0]), torch.tensor([2.0])]
    tn = torch.nn.utils.get_total_norm(g)
    torch.nn.utils.clip_grads_with_norm_([torch.nn.Parameter(torch.ones(1))], 1.0, tn)
    log(tn)



@program()
def public_state_dict_hooks_and_conversion_flags(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: seen.append(("post", prefix, sorted(sd))))
    h2 = m.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, strict, missing, unexpected, errors:
        seen.append(("lpre", prefix, strict, sorted(sd))))
    outer = nn.Sequential(m)
    sd = outer.state_dict()
    outer.load_state_dict(sd, strict=False)
    log(seen)
    h1.remove()
    h2.remove()
    seen.clear()
    outer.state_dict()
    log(seen)
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"x": 1})
    _err(log, lambda: m.state_dict())

    w = nn.Linear(2, 2)
    old = w.weight
    w.weight.grad = torch.ones(2, 2)
    w.double()
    log(w.weight is old, w.weight.dtype, old.dtype, w.weight.grad.dtype)
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        old = w.weight
        w.float()
        log(w.weight is old, w.weight.dtype, old.dtype, torch.__future__
            .get_overwrite_module_params_on_conversion())
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(False)
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        old = w.weight
        w.double()
        log(w.weight is old, w.weight.dtype, old.dtype, w.weight.grad.dtype)
        lin = nn.Linear(2, 2)
        lin.load_state_dict({"weight": torch.ones(2, 2, dtype=torch.float64),
                             "bias": torch.zeros(2)})
        log(lin.weight.dtype, type(lin.weight).__name__)
    finally:
        torch.__future__.set_swap_module_params_on_conversion(False)



@program()
def module_misc_api(torch, log):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())

    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

        @property
        def broken(self):
            return self.nothing_here

    _err(log, m.get_extra_state)
    _err(log, lambda: m.set_extra_state({}))
    _err(log, lambda: P().broken)
    _err(log, lambda: nn.Module()())
    _err(log, lambda: nn.Sequential()(5))
    _err(log, lambda: nn.Sequential(nn.Identity())(1, 2))
    _err(log, lambda: nn.ModuleList()(1))
    _err(log, lambda: nn.ModuleDict({"a": nn.ReLU()})(torch.ones(1)))
    log(nn.Identity(3, x=5)(7), m.share_memory() is m, m._get_name(), repr(m.extra_repr()))
    log([n for n, _ in m.named_modules(memo={m[0]})], nn.Linear(2, 2)._version,
        nn.BatchNorm2d(2)._version, nn.Module.dump_patches, nn.Linear(1, 1).call_super_init)
    _err(log, lambda: m.get_submodule("x.y"))
    m.train(mode=0)
    log(m.training, m[0].training)



@program()
def function_views_duplicates_and_saved_outputs(torch, log):
    class ViewOut(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x[:2]

        @staticmethod
        def backward(ctx, g):
            r = torch.zeros(3)
            r[:2] = g
            return r

    class Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            return y, y

        @staticmethod
        def backward(ctx, a, b):
            return a + b

    class SaveNone(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(None, x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            n, x = ctx.saved_tensors
            return g * 2 if n is None else None

    class Nested(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2, [x * 3])

        @staticmethod
        def backward(ctx, g, _):
            return g

    class SaveOut(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y

    class SaveInter(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            t = x * 5
            ctx.save_for_backward(t)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            t, = ctx.saved_tensors
            return g * t

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def c1():
        v = ViewOut.apply(x.clone())
        v.mul_(2)
        return v

    def c2():
        a, b = Twice.apply(x)
        (a.sum() + b.sum()).backward()
        return x.grad

    def c3():
        x.grad = None
        SaveNone.apply(x).sum().backward()
        return x.grad

    def c4():
        return Nested.apply(x)

    def c5():
        y = SaveOut.apply(x)
        y.add_(1)
        y.sum().backward()

    def c6():
        y = SaveOut.apply(x)
        y.sum().backward()
        return y.grad_fn.saved_tensors

    def c7():
        x.grad = None
        y = SaveInter.apply(x)
        y.sum().backward()
        return x.grad

    def c8():
        v = ViewOut.apply(x)
        return v._base is x, v.grad_fn.__class__.__name__, v.is_leaf

    def c9():
        v = ViewOut.apply(x.detach())
        v.mul_(2)
        return v

    def c10():
        y = SaveOut.apply(x)
        y.sum().backward()
        y.sum().backward()

    for c in (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10):
        _err(log, c)


test_program = PROGRAMS.test(_check)
