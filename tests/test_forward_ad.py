"""torch.autograd.forward_ad against torch 2.13: tangents of every differentiable op in the op
table (float32 and float64), nn modules, in-place ops and views, the API's errors, and
gradcheck(check_forward_ad=True)."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import ember
import ember.autograd.forward_ad as efw
from oracle import assert_close
from opspecs import ALL_SPECS, materialize

_FWD_SPECS = [s for s in ALL_SPECS if s.grad]

# Ops whose tangents do not match torch yet (strict: an entry that starts passing fails here)
_SCATTER = "scatter_reduce's reverse rule is a closure, not xp-pure: no differentiable rerun"
_TORCH_FWD_NOT_REV = ("torch's forward rule disagrees with its own reverse rule here (compare "
                      "torch.autograd.functional.jvp); ember's tangent is the transpose of the "
                      "reverse rule")
KNOWN = {
    "fmax.ties": _TORCH_FWD_NOT_REV + ": torch's jvp gives ties to `other`, its vjp to `self`",
    "logsumexp.empty": _TORCH_FWD_NOT_REV + ": nan vs 0 for an empty reduction",
    "special.logsumexp": _TORCH_FWD_NOT_REV + ": nan vs 0 for an empty reduction",
    "special.xlog1py.zeros": "at x == 0, y < -1 ember's double-vjp differentiates through the "
                             "rule's where(mask, 0, g * nan) and gets nan where torch has 0",
    "linalg.svd.full": "full_matrices=True on non-square input has no ember reverse rule",
    "triangular_solve.lower_t": _TORCH_FWD_NOT_REV,
    "triangular_solve.unit": _TORCH_FWD_NOT_REV,
    **{n: _SCATTER for n in ("scatter_reduce.prod.self", "scatter_reduce.prod.noself",
                             "scatter_reduce.amax.self", "scatter_reduce.amax.noself",
                             "scatter_reduce.amin.self", "scatter_reduce.amin.noself",
                             "scatter_reduce.prod_zero", "scatter_reduce.amax_ties")},
}


def _args(items, lib, seed):
    """(primals, tangents) for one sample: float tensors get a random tangent."""
    rng = np.random.default_rng(seed)
    prim, tans = [], []
    for kind, v, g in items:
        if kind == "t":
            a = np.ascontiguousarray(v).copy() if v.ndim else v.copy()
            p = lib.from_numpy(a) if lib is torch else ember.from_numpy(a)
            if g and v.dtype.kind == "f":
                tn = rng.standard_normal(v.shape).astype(v.dtype)
                tans.append(lib.from_numpy(tn) if lib is torch else ember.from_numpy(tn))
            else:
                tans.append(None)
            prim.append(p)
        else:
            prim.append(v)
            tans.append(None)
    return prim, tans


def _tangents(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return outs


def _run(lib, fw, fn, prim, tans):
    with fw.dual_level():
        args = [fw.make_dual(p, t) if t is not None else p for p, t in zip(prim, tans)]
        out = fn(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        res = []
        for o in outs:
            if isinstance(o, (torch.Tensor, ember.Tensor)):
                p, tn = fw.unpack_dual(o)
                res.append((p, tn))
        return res


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", _FWD_SPECS, ids=lambda s: s.name)
def test_op_tangents_match_torch(spec, dtype, request):
    if dtype not in spec.dtypes:
        pytest.skip(f"{spec.name} is not defined for {dtype}")
    if spec.name in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[spec.name], strict=True))
    tol = dict(spec.tol.get(dtype, {}))
    if dtype == "float32":
        tol.setdefault("rtol", 2e-5)
        tol.setdefault("atol", 2e-5)
    checked = 0
    for i, sample in enumerate(spec.samples):
        items = materialize(sample, dtype, spec.domain, seed=i)
        if not any(k == "t" and g and v.dtype.kind == "f" for k, v, g in items):
            continue
        tp, tt = _args(items, torch, 50 + i)
        try:
            t_res = _run(torch, tfw, spec.fn, tp, tt)
        except (RuntimeError, NotImplementedError):
            continue        # torch has no forward rule for this op or sample: no oracle
        ep, et = _args(items, ember, 50 + i)
        e_res = _run(ember, efw, spec.fn, ep, et)
        assert len(e_res) == len(t_res)
        for (epr, etn), (tpr, ttn) in zip(e_res, t_res):
            assert_close(epr, tpr, **spec.tol.get(dtype, {}))
            if ttn is None:
                assert etn is None or not np.asarray(etn.numpy()).any(), \
                    f"{spec.name}: ember gives a tangent where torch has none"
                continue
            assert etn is not None, f"{spec.name}: missing tangent"
            assert_close(etn, ttn, **tol)
            checked += 1
    if not checked:
        pytest.skip(f"torch computes no tangent for {spec.name}")


# ---- the API and its errors -------------------------------------------------------------------
def _same_error(fn_e, fn_t):
    """Both raise the same exception class with the same message."""
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(Exception) as ee:
        fn_e()
    assert type(ee.value).__name__ == type(te.value).__name__
    assert str(ee.value) == str(te.value)


def test_make_dual_outside_level_raises():
    _same_error(lambda: efw.make_dual(ember.ones(3), ember.ones(3)),
                lambda: tfw.make_dual(torch.ones(3), torch.ones(3)))


@pytest.mark.parametrize("case", ["shape", "scalar_shape", "nested", "twice", "bad_level",
                                  "int_primal", "int_tangent"])
def test_errors_match_torch(case):
    def body(lib, fw):
        x = lib.ones(3)
        if case == "shape":
            fw.make_dual(x, lib.ones(4))
        elif case == "scalar_shape":
            fw.make_dual(x, lib.ones(1))
        elif case == "nested":
            fw.enter_dual_level()
        elif case == "twice":
            fw.make_dual(fw.make_dual(x, lib.ones(3)), lib.ones(3))
        elif case == "bad_level":
            fw.make_dual(x, lib.ones(3), level=1)
        elif case == "int_primal":
            fw.make_dual(lib.arange(3), lib.ones(3))
        elif case == "int_tangent":
            fw.make_dual(x, lib.arange(3))

    def run(lib, fw):
        def f():
            with fw.dual_level():
                body(lib, fw)
        return f
    _same_error(run(ember, efw), run(torch, tfw))
    # the failed nested enter left the level usable, and exiting closed it
    assert efw.unpack_dual(ember.ones(2)).tangent is None
    with efw.dual_level() as lv:
        assert lv == 0


def test_exit_errors():
    _same_error(lambda: efw.exit_dual_level(level=3), lambda: tfw.exit_dual_level(level=3))
    with efw.dual_level():
        with pytest.raises(RuntimeError, match="not the last one"):
            efw.exit_dual_level(level=1)


def test_dual_is_a_view_and_tangent_kept_as_is():
    x, v = ember.randn(3), ember.randn(3)
    with efw.dual_level() as lv:
        assert lv == 0
        d = efw.make_dual(x, v)
        assert d._base is x
        p, tn = efw.unpack_dual(d)
        assert tn is v and p._base is x and efw.unpack_dual(p).tangent is None
        assert type(efw.unpack_dual(d)) is efw.UnpackedDualTensor
        assert efw.unpack_dual(d._fw_primal(0)).tangent is None
        y = d * 2
        d.detach()
        assert efw.unpack_dual(d.detach()).tangent is None
        assert "tangent=" in repr(y)
    # leaving the level deletes the tangents
    assert efw.unpack_dual(y).tangent is None and efw.unpack_dual(d).tangent is None
    assert "tangent" not in repr(y)


def test_repr_matches_torch():
    a = np.arange(6.0).reshape(2, 3)
    with efw.dual_level(), tfw.dual_level():
        e = efw.make_dual(ember.tensor(a), ember.tensor(a * 2)) * 3
        t = tfw.make_dual(torch.tensor(a), torch.tensor(a * 2)) * 3
        assert repr(e) == repr(t)


def test_dual_level_decorator():
    @efw.dual_level()
    def f(x):
        return efw.unpack_dual(efw.make_dual(x, ember.ones(2)).exp()).tangent
    x = ember.tensor([0.0, 1.0])
    assert_close(f(x), torch.tensor([0.0, 1.0]).exp())


# ---- semantics: in-place, views, no_grad, reverse mode untouched ------------------------------
def _both(fn, *arrays, tangents):
    """fn(lib, *duals) in ember and in torch; returns (ember tangent, torch tangent)."""
    res = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            duals = [fw.make_dual(lib.tensor(a), lib.tensor(t)) for a, t in zip(arrays, tangents)]
            out = fn(lib, *duals)
            res.append(fw.unpack_dual(out).tangent)
    return res


def _ab(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


def _inplace_view(lib, d):
    y = d.clone()
    y[:, :2].mul_(d[:, 2:])
    y.t_()
    return y


def _setitem(lib, d):
    y = lib.zeros(3, 4, dtype=d.dtype)
    y[1] = d[0]
    y[:, 0] += d[:, 1]
    return y


def _copy(lib, d):
    y = lib.zeros(3, 4, dtype=d.dtype)
    y.copy_(d.sin())
    y.view(-1)[::2].exp_()
    return y


def _no_grad(lib, d):
    with lib.no_grad():
        return d.exp() @ d.t()


def _plain_inplace_on_dual(lib, d):
    y = d * 1
    y.zero_()
    y += d.cos()
    y[0, 0] = 5.0
    return y


def _multi_views(lib, d):
    y = d.clone()
    p, q = y.chunk(2, 1)
    p.mul_(d[:, :2])
    y.unbind(0)[2].exp_()
    return y + q.sum()


def _index_put(lib, d):
    y = lib.zeros(3, 4, dtype=d.dtype)
    y.index_put_((lib.tensor([0, 2, 0]),), d[:3] * 2, accumulate=True)
    return y


@pytest.mark.parametrize("fn", [_inplace_view, _setitem, _copy, _no_grad,
                                _plain_inplace_on_dual, _index_put, _multi_views],
                         ids=lambda f: f.__name__)
def test_inplace_views_no_grad(fn):
    a, t = _ab(3, 4)
    e, tt = _both(fn, a, tangents=[t])
    assert_close(e, tt)


def test_reverse_mode_untouched():
    """A dual tensor that requires grad: backward gives the usual gradients, and nothing of the
    tangent computation lands in the user's graph or in .grad."""
    a, t = _ab(3, 4)
    grads = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        x = lib.tensor(a, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(x, lib.tensor(t))
            y = (d.sin() * d).sum()
            tan = fw.unpack_dual(y).tangent
            y.backward()
        grads.append((x.grad, tan, y.grad_fn.name()))
    assert_close(grads[0][0], grads[1][0])
    assert_close(grads[0][1], grads[1][1])
    assert grads[0][2] == grads[1][2]


# ---- nn modules -------------------------------------------------------------------------------
def _module_case(name):
    if name == "linear":
        return lambda nn: nn.Linear(5, 3), (4, 5)
    if name == "conv2d":
        return lambda nn: nn.Conv2d(2, 3, 3, padding=1, stride=2), (2, 2, 6, 6)
    if name == "layernorm":
        return lambda nn: nn.LayerNorm(6), (3, 4, 6)
    if name == "mlp":
        return lambda nn: nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Dropout(0.0),
                                        nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2),
                                        nn.LogSoftmax(-1)), (5, 6)
    if name == "batchnorm_eval":
        return lambda nn: nn.BatchNorm1d(4).eval(), (3, 4)
    if name == "batchnorm_train":
        return lambda nn: nn.BatchNorm2d(3), (4, 3, 2, 2)
    if name == "attention":
        return lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), (2, 3, 8)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["linear", "conv2d", "layernorm", "mlp", "batchnorm_eval",
                                  "batchnorm_train", "attention"])
def test_module_tangents_match_torch(name, dtype):
    make, shape = _module_case(name)
    torch.manual_seed(0)
    tm = make(torch.nn).to(getattr(torch, dtype))
    em = make(ember.nn).to(getattr(ember, dtype))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    a, t = (x.astype(dtype) for x in _ab(*shape, seed=3))
    out = []
    for lib, fw, m in ((ember, efw, em), (torch, tfw, tm)):
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(a), lib.tensor(t))
            y = m(d, d, d)[0] if name == "attention" else m(d)
            out.append(fw.unpack_dual(y))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-7, atol=1e-10)
    assert_close(out[0].primal, out[1].primal, **tol)
    assert_close(out[0].tangent, out[1].tangent, **tol)
    for eb, tb in zip(em.buffers(), tm.buffers()):    # running stats updated once
        assert_close(eb, tb, **tol)


def test_dropout_tangent_uses_the_same_mask():
    x = ember.randn(50, 8)
    with efw.dual_level():
        y = ember.nn.functional.dropout(efw.make_dual(x, ember.ones(50, 8)), 0.5)
        t = efw.unpack_dual(y).tangent
    kept = y.detach() != 0
    assert_close(t, torch.tensor(kept.numpy().astype(np.float32) * 2.0))


def test_parameter_tangents():
    """Tangents on the parameters (functional-style jvp over weights) through F.linear."""
    w, tw = _ab(3, 5, seed=1)
    x = np.random.default_rng(2).standard_normal((4, 5))
    res = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            W = fw.make_dual(lib.tensor(w), lib.tensor(tw))
            y = lib.nn.functional.linear(lib.tensor(x), W).relu().sum(0)
            res.append(fw.unpack_dual(y).tangent)
    assert_close(res[0], res[1])


# ---- autograd.Function ------------------------------------------------------------------------
def _custom(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * ctx.k * g, None

        @staticmethod
        def jvp(ctx, tx, tk):
            assert tk is None
            x, = ctx.saved_tensors          # in jvp: what save_for_forward kept
            return 3 * x ** 2 * ctx.k * tx

    class NoJvp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return Cube, NoJvp


def test_custom_function_jvp():
    a, t = _ab(4)
    res = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        Cube, _ = _custom(lib)
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(a), lib.tensor(t))
            y = Cube.apply(d.sin(), 2.0)
            tan = fw.unpack_dual(y).tangent
            assert fw.unpack_dual(tan).tangent is None
            res.append(tan)
    assert_close(res[0], res[1])

    def no_jvp(lib, fw):
        def f():
            _, NoJvp = _custom(lib)
            with fw.dual_level():
                NoJvp.apply(fw.make_dual(lib.ones(2), lib.ones(2)))
        return f
    _same_error(no_jvp(ember, efw), no_jvp(torch, tfw))


# ---- gradcheck --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["sin_mul", "matmul_softmax", "custom_ok"])
def test_gradcheck_forward_ad_passes(case):
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = ember.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    Cube, _ = _custom(ember)
    fn = {"sin_mul": lambda a, b: (a.sin() * a, b.exp()),
          "matmul_softmax": lambda a, b: (a @ b).softmax(-1),
          "custom_ok": lambda a, b: Cube.apply(a, 1.5)}[case]
    assert ember.autograd.gradcheck(fn, (x, y), check_forward_ad=True)


def test_gradcheck_forward_ad_catches_a_wrong_jvp():
    def make(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.x = x
                return x * x

            @staticmethod
            def backward(ctx, g):
                return 2 * ctx.x * g

            @staticmethod
            def jvp(ctx, t):
                return 3 * ctx.x * t
        return Bad
    import sys
    x = np.random.default_rng(0).random(3) + 0.5
    for lib in (ember, torch):
        error = sys.modules[lib.__name__ + ".autograd.gradcheck"].GradcheckError
        Bad = make(lib)
        inp = (lib.tensor(x, requires_grad=True),)
        assert lib.autograd.gradcheck(Bad.apply, inp)           # backward alone is right
        with pytest.raises(error,
                           match="Jacobian computed with forward mode mismatch"):
            lib.autograd.gradcheck(Bad.apply, inp, check_forward_ad=True)
        assert not lib.autograd.gradcheck(Bad.apply, inp, check_forward_ad=True,
                                          raise_exception=False)


def test_func_jvp_of_rules_with_zero_branches():
    """func.jvp's double-vjp used a zero dummy cotangent, which rules such as xlogy's
    where(g == 0, 0, ...) turned into a zero tangent; any nonzero point gives J v."""
    x, y = np.array([0.0, 0.0, 0.5]), np.array([0.5, 1.5, 3.5])
    tx, ty = np.ones(3), np.array([1.0, 2.0, 3.0])
    res = []
    for lib in (ember, torch):
        res.append(lib.func.jvp(lambda a, b: lib.xlogy(a, b) * lib.special.xlog1py(a + 1, b),
                                (lib.tensor(x), lib.tensor(y)),
                                (lib.tensor(tx), lib.tensor(ty)))[1])
    assert_close(res[0], res[1])


@pytest.mark.parametrize("fn", [lambda d: d * d, lambda d: d.exp(), lambda d: d.abs(),
                                lambda d: d.conj() * d, lambda d: d.real + d.imag,
                                lambda d: d.angle(), lambda d: d.sqrt(),
                                lambda d: (d @ d.mT).sum(-1)],
                         ids=["mul", "exp", "abs", "conj_mul", "real_imag", "angle", "sqrt",
                              "matmul"])
def test_complex_tangents(fn):
    rng = np.random.default_rng(4)
    z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    v = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    res = []
    for lib, fw in ((ember, efw), (torch, tfw)):
        with fw.dual_level():
            res.append(fw.unpack_dual(fn(fw.make_dual(lib.tensor(z), lib.tensor(v)))).tangent)
    assert_close(res[0], res[1])


_FAST_NAMES = ("add", "sub", "mul", "div", "matmul", "mm", "bmm", "neg", "exp", "tanh", "sigmoid",
               "relu", "nn.functional.linear", "linear")


@pytest.mark.parametrize("spec", [s for s in _FWD_SPECS if s.name.split(".")[0] in _FAST_NAMES
                                  or s.name in _FAST_NAMES], ids=lambda s: s.name)
def test_generic_rule_on_fast_ops(spec, monkeypatch, request):
    """The ops with explicit rules also get torch's tangents from the generic double-vjp."""
    monkeypatch.setattr(efw, "_RULES", {})
    test_op_tangents_match_torch(spec, "float64", request)


def test_gradcheck_forward_ad_complex_and_forward_only():
    z = ember.tensor(np.array([1 + 2j, 0.5 - 1j]), requires_grad=True)
    x = ember.tensor(np.array([1.0, 0.5]), requires_grad=True)
    gc = ember.autograd.gradcheck
    assert gc(lambda z: (z * z.conj()).real + z.abs(), (z,), check_forward_ad=True)
    assert gc(lambda x: ember.complex(x, x * 2).exp(), (x,), check_forward_ad=True)
    assert gc(lambda x: x.sin(), (x,), check_forward_ad=True, check_backward_ad=False)
