"""create_graph=True against torch: second-order vector-Jacobian products over the op table and
nn.functional, higher derivatives, autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp),
and the differentiable array namespace that makes ops' backward code differentiable."""
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.autograd
import ember.autograd.functional
import ember.nn.functional
from ember.autograd import higher_order as ho
from ember.backends import CPU
from opspecs import ALL_SPECS, T, materialize


def _np(t):
    return None if t is None else np.array(t.detach().numpy(force=True))


def _lib_args(lib, items):
    out = []
    for kind, val, grad in items:
        if kind == "v":
            out.append(val)
            continue
        t = lib.tensor(val) if lib is ember else torch.tensor(val)
        if grad and val.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def _items(sample, domain, seed):
    return materialize(sample, "float64", domain, seed)


def second_order(L, fn, args, seed=0):
    """d/d(inputs, v) of <grad(fn(args), inputs, v, create_graph=True), w> for random v, w."""
    rg = [a for a in args if getattr(a, "requires_grad", False)]
    out = fn(*args)
    rng = np.random.default_rng(seed)
    v = L.tensor(rng.standard_normal(tuple(out.shape)), dtype=out.dtype, requires_grad=True)
    firsts = L.autograd.grad(out, rg, v, create_graph=True, allow_unused=True)
    pairs = [(g, L.tensor(rng.standard_normal(tuple(g.shape)), dtype=g.dtype))
             for g in firsts if g is not None and g.requires_grad]
    if not pairs:
        return out, None
    return out, L.autograd.grad([p for p, _ in pairs], rg + [v], [w for _, w in pairs],
                                allow_unused=True)


def assert_second_order_like_torch(fn_t, fn_e, items, seed=0, rtol=1e-6):
    _, t_res = second_order(torch, fn_t, _lib_args(torch, items), seed)
    _, e_res = second_order(ember, fn_e, _lib_args(ember, items), seed)
    assert (t_res is None) == (e_res is None)
    if t_res is None:
        return
    for e, t in zip(e_res, t_res):
        e = None if e is None else _np(e)
        t = None if t is None else _np(t)
        if e is None or t is None:          # None and an all-zero gradient are the same
            assert not np.any(e if t is None else t), (e, t)
            continue
        np.testing.assert_allclose(e, t, rtol=rtol, atol=1e-8)


# nodes whose double backward is not available (documented gaps): they must say so by name
UNSUPPORTED = {
    "ScatterReduceBackward0": ".at",                        # prod/amax/amin reductions
}


def _second_order_or_documented_gap(spec, items, i):
    """True when the op raised the documented 'not supported' error for one of UNSUPPORTED."""
    try:
        second_order(ember, spec.fn, _lib_args(ember, items), i)
    except RuntimeError as e:
        msg = str(e)
        for node, what in UNSUPPORTED.items():
            if msg.startswith("double backward (create_graph=True) is not supported for "
                              f"{node}: ") and what in msg:
                return True
        raise
    return False


def _table_cases():
    for spec in ALL_SPECS:
        if not (spec.grad and spec.gradcheck):
            continue
        for i, sample in enumerate(spec.samples):
            if any(isinstance(a, T) and 0 in a.shape for a in sample):
                continue                   # empty tensors: nothing to differentiate
            yield pytest.param(spec, i, id=f"{spec.name}-{i}")


@pytest.mark.parametrize("spec, i", list(_table_cases()))
def test_double_backward_op_table_like_torch(spec, i):
    items = _items(spec.samples[i], spec.domain, i)
    if not any(g for _, _, g in items):
        pytest.skip("no input requires grad")
    with torch.no_grad():
        t_out = spec.fn(*_lib_args(torch, items))
    if not torch.isfinite(t_out).all():
        pytest.skip("non-finite output: derivatives are degenerate here")
    if _second_order_or_documented_gap(spec, items, i):
        return
    assert_second_order_like_torch(spec.fn, spec.fn, items, seed=i)


def _t(*shape, lo=-1.0, hi=1.0, seed=0):
    return ("t", np.random.default_rng(seed + len(shape)).uniform(lo, hi, shape), True)


def _c(*shape, lo=-1.0, hi=1.0, seed=7):
    return ("t", np.random.default_rng(seed).uniform(lo, hi, shape), False)


def _idx(*shape, high=3, seed=3):
    return ("t", np.random.default_rng(seed).integers(0, high, shape), False)


NN = [
    ("softmax", lambda L, x: L.nn.functional.softmax(x, -1), [_t(3, 4)]),
    ("log_softmax", lambda L, x: L.nn.functional.log_softmax(x, 1), [_t(3, 4)]),
    ("gelu", lambda L, x: L.nn.functional.gelu(x), [_t(3, 4)]),
    ("gelu_tanh", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"), [_t(3, 4)]),
    ("silu", lambda L, x: L.nn.functional.silu(x), [_t(3, 4)]),
    ("softplus", lambda L, x: L.nn.functional.softplus(x), [_t(3, 4)]),
    ("elu", lambda L, x: L.nn.functional.elu(x), [_t(3, 4)]),
    ("logsigmoid", lambda L, x: L.nn.functional.logsigmoid(x), [_t(3, 4)]),
    ("mish", lambda L, x: L.nn.functional.mish(x), [_t(3, 4)]),
    ("linear", lambda L, x, w, b: L.nn.functional.linear(x, w, b), [_t(3, 4), _t(2, 4),
                                                                     _t(2)]),
    ("mse", lambda L, x, y: L.nn.functional.mse_loss(x, y), [_t(3, 4), _t(3, 4, seed=1)]),
    ("cross_entropy", lambda L, x, t: L.nn.functional.cross_entropy(x, t),
     [_t(3, 4), _idx(3, high=4)]),
    ("cross_entropy_smooth", lambda L, x, t: L.nn.functional.cross_entropy(
        x, t, label_smoothing=0.1), [_t(3, 4), _idx(3, high=4)]),
    ("nll", lambda L, x, t: L.nn.functional.nll_loss(x, t), [_t(3, 4), _idx(3, high=4)]),
    ("bce_logits", lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(x, y),
     [_t(3, 4), _c(3, 4, lo=0.1, hi=0.9)]),
    ("bce", lambda L, x, y: L.nn.functional.binary_cross_entropy(x, y),
     [_t(3, 4, lo=0.1, hi=0.9), _c(3, 4, lo=0.1, hi=0.9)]),
    ("layer_norm", lambda L, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b),
     [_t(3, 4), _t(4), _t(4, seed=2)]),
    ("batch_norm_train", lambda L, x, w, b: L.nn.functional.batch_norm(
        x, None, None, w, b, training=True), [_t(4, 3), _t(3), _t(3, seed=2)]),
    ("group_norm", lambda L, x: L.nn.functional.group_norm(x, 2), [_t(2, 4, 3)]),
    ("conv2d", lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1),
     [_t(1, 2, 4, 4), _t(3, 2, 3, 3), _t(3)]),
    ("conv1d_stride", lambda L, x, w: L.nn.functional.conv1d(x, w, stride=2),
     [_t(2, 2, 7), _t(3, 2, 3)]),
    ("conv_transpose2d", lambda L, x, w: L.nn.functional.conv_transpose2d(x, w),
     [_t(1, 2, 3, 3), _t(2, 2, 2, 2)]),
    ("max_pool2d", lambda L, x: L.nn.functional.max_pool2d(x, 2), [_t(1, 1, 4, 4)]),
    ("avg_pool2d", lambda L, x: L.nn.functional.avg_pool2d(x, 2), [_t(1, 1, 4, 4)]),
    ("embedding", lambda L, w, i: L.nn.functional.embedding(i, w), [_t(4, 3), _idx(5, high=4)]),
    ("normalize", lambda L, x: L.nn.functional.normalize(x, dim=1), [_t(3, 4)]),
    ("cosine_similarity", lambda L, x, y: L.nn.functional.cosine_similarity(x, y),
     [_t(3, 4), _t(3, 4, seed=1)]),
    ("sdpa", lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v),
     [_t(1, 3, 4), _t(1, 3, 4, seed=1), _t(1, 3, 4, seed=2)]),
    ("pad", lambda L, x: L.nn.functional.pad(x, (1, 2)), [_t(2, 3)]),
    ("interpolate", lambda L, x: L.nn.functional.interpolate(x, scale_factor=2,
                                                             mode="bilinear"),
     [_t(1, 1, 3, 3)]),
    ("mlp", lambda L, x, w1, w2: (L.tanh(x @ w1) @ w2).pow(2).sum(),
     [_t(5, 3), _t(3, 4), _t(4, 2)]),
]


@pytest.mark.parametrize("name, fn, items", NN, ids=[c[0] for c in NN])
def test_double_backward_nn_like_torch(name, fn, items):
    assert_second_order_like_torch(lambda *a: fn(torch, *a), lambda *a: fn(ember, *a), items)


# ---- higher derivatives and create_graph semantics -----------------------------------------
def test_third_derivative():
    def fn(L):
        x = L.tensor([0.3, -1.2, 2.0], dtype=L.float64, requires_grad=True)
        y = (x.sin() * x.exp()).sum()
        g1, = L.autograd.grad(y, x, create_graph=True)
        g2, = L.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = L.autograd.grad(g2.sum(), x)
        return [_np(g) for g in (g1, g2, g3)]
    for e, t in zip(fn(ember), fn(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-10)


def test_backward_create_graph_fills_grad_with_history():
    def fn(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (x ** 3).sum().backward(create_graph=True)
        first = _np(x.grad)
        assert x.grad.requires_grad and x.grad.grad_fn is not None
        g = x.grad
        x.grad = None
        g.sum().backward()
        return first, _np(x.grad)
    for e, t in zip(fn(ember), fn(torch)):
        np.testing.assert_allclose(e, t)


def test_gradient_penalty():
    """WGAN-GP: the norm of an input gradient, backpropagated to the weights."""
    def fn(L):
        rng = np.random.default_rng(0)
        w = L.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        x = L.tensor(rng.standard_normal((5, 3)), requires_grad=True)
        out = (x @ w).tanh().sum(1)
        g, = L.autograd.grad(out, x, L.ones(5, dtype=L.float64), create_graph=True)
        penalty = ((g.pow(2).sum(1).sqrt() - 1) ** 2).mean()
        penalty.backward()
        return _np(w.grad), _np(x.grad)
    for e, t in zip(fn(ember), fn(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-8)


def test_hooks_see_graph_connected_gradients():
    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(g.requires_grad) or g * 2)
    g, = ember.autograd.grad(y.sum(), x, create_graph=True)
    h, = ember.autograd.grad(g.sum(), x)
    assert h.tolist() == [4.0, 4.0]
    assert seen == [False]


def test_retain_grad_under_create_graph():
    def fn(L):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (y * y).sum().backward(create_graph=True)
        return _np(y.grad), y.grad.requires_grad, y.grad.grad_fn.name()
    e, t = fn(ember), fn(torch)
    np.testing.assert_allclose(e[0], t[0])
    assert e[1:] == t[1:]


def test_device_transfer_is_differentiable_twice():
    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    y = (x.to("mock") ** 3).sum()
    g, = ember.autograd.grad(y, x, create_graph=True)
    h, = ember.autograd.grad(g.sum(), x)
    assert g.device.type == "cpu" and h.tolist() == [6.0, 12.0]


def test_modified_unneeded_input_enters_as_constant():
    def fn(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        a = x * 1
        b = a * 3.0                        # the scalar operand needs no gradient: a unneeded
        a.mul_(5)
        g, = L.autograd.grad(b.sum() + (x ** 3).sum(), x, create_graph=True)
        h, = L.autograd.grad(g.sum(), x)
        return _np(g), _np(h)
    for e, t in zip(fn(ember), fn(torch)):
        np.testing.assert_allclose(e, t)


def test_double_backward_through_inplace_views():
    def fn(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        y[0:2].mul_(3)                     # rebased views (CopySlices)
        y[2] = y[0].clone() * 4
        g, = L.autograd.grad((y ** 3).sum(), x, create_graph=True)
        h, = L.autograd.grad((g * L.tensor([1.0, 2.0, 3.0], dtype=L.float64)).sum(), x)
        return _np(g), _np(h)
    for e, t in zip(fn(ember), fn(torch)):
        np.testing.assert_allclose(e, t)


# ---- autograd.functional -------------------------------------------------------------------
def _f_scalar(L):
    return lambda x, y: (x.exp() * y.sin()).sum() + (x * x * y).sum()


def _f_vec(L):
    return lambda x, y: (x * y.tanh(), (x ** 2).sum(0))


def _inputs(L, create_graph=False):
    rng = np.random.default_rng(1)
    x = L.tensor(rng.standard_normal((2, 3)), requires_grad=create_graph)
    y = L.tensor(rng.standard_normal((2, 3)), requires_grad=create_graph)
    return x, y


def _compare(e, t, rtol=1e-9):
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t)
        for a, b in zip(e, t):
            _compare(a, b, rtol)
    else:
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("api", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
def test_functional_api_like_torch(api, create_graph):
    def fn(L):
        F = L.autograd.functional
        x, y = _inputs(L, create_graph)
        v = tuple(L.ones_like(a) * 0.5 for a in (x, y))
        if api == "vjp":
            out = F.vjp(_f_vec(L), (x, y), (L.ones(2, 3, dtype=L.float64),
                                            L.ones(3, dtype=L.float64)),
                        create_graph=create_graph)
        elif api == "jvp":
            out = F.jvp(_f_vec(L), (x, y), v, create_graph=create_graph)
        elif api == "jacobian":
            out = F.jacobian(_f_vec(L), (x, y), create_graph=create_graph)
        elif api == "hessian":
            out = F.hessian(_f_scalar(L), (x, y), create_graph=create_graph)
        elif api == "hvp":
            out = F.hvp(_f_scalar(L), (x, y), v, create_graph=create_graph)
        else:
            out = F.vhp(_f_scalar(L), (x, y), v, create_graph=create_graph)
        flat = _flatten(out)
        return out, [t.requires_grad for t in flat]
    e, t = fn(ember), fn(torch)
    _compare(e[0], t[0])
    assert e[1] == t[1]


def _flatten(x):
    if isinstance(x, (tuple, list)):
        return [t for a in x for t in _flatten(a)]
    return [x]


def test_functional_single_tensor_forms():
    def fn(L):
        F = L.autograd.functional
        x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64)
        f = lambda x: (x ** 3).sum()                     # noqa: E731
        return (F.jacobian(lambda x: x.exp() * x, x), F.hessian(f, x), F.vjp(f, x)[1],
                F.jvp(lambda x: x.sin(), x, L.ones(3, dtype=L.float64))[1],
                F.hvp(f, x, L.ones(3, dtype=L.float64))[1])
    _compare(fn(ember), fn(torch))


@pytest.mark.parametrize("case", ["independent", "v_size", "v_none", "not_tensor", "linear"])
def test_functional_errors_like_torch(case):
    def fn(L):
        F = L.autograd.functional
        x = L.tensor([1.0, 2.0], dtype=L.float64)
        if case == "independent":
            F.jacobian(lambda x, y: x * 2, (x, x.clone()), strict=True)
        elif case == "v_size":
            F.vjp(lambda x: x * 2, x, L.ones(3, dtype=L.float64))
        elif case == "v_none":
            F.vjp(lambda x: x * 2, x)
        elif case == "not_tensor":
            F.jacobian(lambda x: x, [1.0])
        else:
            F.hessian(lambda x: (x * 2).sum(), x, strict=True)
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:
            fn(lib)
        msgs.append((type(info.value).__name__, str(info.value)))
    assert msgs[1] == msgs[0]


# ---- the differentiable namespace --------------------------------------------------------------
def _leaf(values):
    return ember.tensor(values, dtype=ember.float64, requires_grad=True)


def test_darray_writes_through_views():
    x = _leaf([1.0, 2.0, 3.0, 4.0])
    with ho.context(CPU) as xp:
        out = xp.zeros((2, 2), np.float64)
        flat = out.reshape(-1)
        flat[np.array([0, 3])] = ho.DArray(x)[np.array([1, 2])] * 10
        out.T[0, 1] += ho.DArray(x)[0]               # transposed view, augmented assignment
        diag = xp.lib.stride_tricks.as_strided(out, (2,), (24,))
        res = out.t.sum() + diag.t.sum() * 100
    res.backward()
    assert out.t.tolist() == [[20.0, 0.0], [1.0, 30.0]]
    assert x.grad.tolist() == [1.0, 1010.0, 1010.0, 0.0]


def test_darray_numpy_interop_and_out():
    x = _leaf([0.5, 1.5])
    with ho.context(CPU) as xp:
        d = ho.DArray(x)
        y = np.exp(d) * np.arange(2.0)               # NumPy ufunc and an ndarray operand
        buf = xp.zeros(2, np.float64)
        xp.exp(d, out=buf)
        z = np.floor(d) + buf + (d > 1)              # floor: no gradient; mask: constant
    (y.t.sum() + z.t.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [np.exp(0.5) * 0 + np.exp(0.5),
                                                np.exp(1.5) * 1 + np.exp(1.5)])


def test_unknown_namespace_function_names_the_op():
    x = _leaf([1.0, 2.0])
    y = x * 1
    node = y.grad_fn
    with ho.context(CPU, node) as xp:
        with pytest.raises(RuntimeError, match="double backward \\(create_graph=True\\) is not "
                                               "supported for MulBackward0: its code uses "
                                               "xp.fft.hfft"):
            xp.fft.hfft


def test_random_forward_is_refused_not_silently_wrong():
    from ember.ops._apply import apply
    from ember.ops._registry import OPS, op

    def noisy(xp, x):
        y = x * np.random.default_rng().uniform(1, 2, x.shape)
        return y, (y,)
    noisy_op = op("_test_ho_noisy")(noisy).vjp(lambda xp, g, y: (g * y,))
    del OPS["_test_ho_noisy"]                    # used directly, never registered for others
    x = _leaf([1.0, 2.0])
    out = apply(noisy_op, (x,))
    with pytest.raises(RuntimeError, match="re-running its forward gave different values"):
        ember.autograd.grad(out.sum(), x, create_graph=True)


def _first_order_loss(spec, args):
    out = spec.fn(*args)
    outs = [o for o in (out if isinstance(out, tuple) else (out,))
            if isinstance(o, ember.Tensor) and o.requires_grad]
    return sum(o.abs().sum() if o.is_complex() else o.sum() for o in outs) if outs else None


def test_second_backward_after_released_graph(monkeypatch):
    """Backward without retain_graph drops the arrays of a node's differentiable inputs (every
    input here: the size threshold set to 0). Over the op table, a second backward through the
    same graph then either raises torch's error (the op saved values, now freed) or gives the
    first backward's gradients: no op reads a value it did not declare as saved."""
    from ember.autograd import engine
    monkeypatch.setattr(engine, "_KEEP_BYTES", 0)
    checked = 0
    for spec in ALL_SPECS:
        if not spec.grad:
            continue
        for i, sample in enumerate(spec.samples):
            args = _lib_args(ember, _items(sample, spec.domain, i))
            leaves = [a for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss = _first_order_loss(spec, args) if leaves else None
            if loss is None:
                continue
            first = ember.autograd.grad(loss, leaves, allow_unused=True)
            try:
                second = ember.autograd.grad(loss, leaves, allow_unused=True)
            except RuntimeError as e:
                assert "backward through the graph a second time" in str(e), spec.name
                continue
            checked += 1
            for a, b in zip(first, second):
                assert (a is None) == (b is None), spec.name
                if a is not None:
                    np.testing.assert_array_equal(_np(a), _np(b), err_msg=spec.name)
    assert checked > 250      # (index, sort, pooling, fft... nodes raise, as torch's)


@pytest.mark.parametrize("f", [
    lambda L, x: L.tanh(x), lambda L, x: x * x, lambda L, x: L.exp(x), lambda L, x: x.sigmoid(),
    lambda L, x: L.nn.functional.tanhshrink(x), lambda L, x: L.nn.functional.gelu(x),
], ids=["tanh", "mul", "exp", "sigmoid", "tanhshrink", "gelu"])
def test_bfloat16_double_backward_as_torch(f):
    """create_graph through bfloat16 ops: the gradient is differentiable (ember re-ran no
    forward for bfloat16 saved values, a NumPy 'V' kind, so the gradient was a constant)."""
    res = []
    for L in (torch, ember):
        x = L.linspace(-2, 2, 5, dtype=L.bfloat16, requires_grad=True)
        gx, = L.autograd.grad(f(L, x).sum(), x, create_graph=True)
        ggx, = L.autograd.grad((gx * gx).sum(), x)
        res.append((gx.requires_grad, gx.float().tolist(), ggx.float().tolist()))
    assert res[1][0] and res[0][0]
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(res[1][2], res[0][2], rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_double_backward_at_zero(dtype):
    """GELU's second derivative at x = 0 (ember's rule divided y by x there: NaN)."""
    res = []
    for L in (torch, ember):
        x = L.tensor([-1.0, 0.0, 0.5], dtype=getattr(L, dtype), requires_grad=True)
        gx, = L.autograd.grad(L.nn.functional.gelu(x).sum(), x, create_graph=True)
        ggx, = L.autograd.grad(gx.sum(), x)
        res.append(ggx.tolist())
    np.testing.assert_allclose(res[1], res[0], rtol=1e-6)
