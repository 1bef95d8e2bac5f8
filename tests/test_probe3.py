"""Regressions found by the third batch of probe programs (real training/numerics scripts run
under torch and ember), each compared with torch."""
import pytest
import torch

import ember


def _err(fn, lib):
    try:
        fn(lib)
    except Exception as e:      # noqa: BLE001
        return type(e).__name__, str(e)
    return None


def test_broadcast_tensors_error_names_sizes_and_dim():
    for fn in (lambda t: t.broadcast_tensors(t.zeros(2), t.ones(3)),
               lambda t: t.broadcast_tensors(t.zeros(4, 1), t.ones(3), t.ones(2, 1, 1)),
               lambda t: t.distributions.Normal(t.zeros(2), t.ones(3))):
        assert _err(fn, ember) == _err(fn, torch)


@pytest.mark.parametrize("call", [
    lambda t: t.nn.functional.mse_loss(t.rand(2, 3), t.rand(3)),
    lambda t: t.nn.functional.l1_loss(t.rand(2, 3), t.rand(3)),
    lambda t: t.nn.functional.kl_div(t.rand(2, 3), t.rand(2, 3)),
    lambda t: t.nn.functional.upsample(t.rand(1, 1, 2, 2), scale_factor=2),
    lambda t: t.nn.functional.upsample_nearest(t.rand(1, 1, 2, 2), scale_factor=2),
    lambda t: t.nn.functional.grid_sample(t.rand(1, 1, 2, 2), t.rand(1, 2, 2, 2)),
])
def test_functional_warnings_point_at_the_caller(call):
    import warnings
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            call(lib)
        assert [x.filename for x in w] == [__file__], (lib.__name__, [x.filename for x in w])


def test_ctc_zero_infinity_and_embedding_bag_mean_grad_fns():
    def run(t):
        t.manual_seed(0)
        lp = t.randn(6, 2, 5).log_softmax(2).detach().requires_grad_()
        tg, il, tl = t.tensor([[1, 2, 2, 3], [1, 4, 0, 0]]), t.tensor([6, 6]), t.tensor([4, 2])
        c = t.nn.functional.ctc_loss(lp, tg, il, tl, reduction="none", zero_infinity=True)
        c.sum().backward()
        eb = t.nn.EmbeddingBag(5, 3, mode="mean")
        o = eb(t.tensor([1, 2, 4, 4, 3]), t.tensor([0, 2, 2]))
        (o * t.arange(9.).view(3, 3)).sum().backward()
        return (type(c.grad_fn).__name__, c.detach().numpy(), lp.grad.numpy(),
                type(o.grad_fn).__name__, o.detach().numpy(), eb.weight.grad.numpy())
    import numpy as np
    for a, b in zip(run(ember), run(torch)):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["fft", "ifft"])
@pytest.mark.parametrize("n, norm", [(None, None), (6, "ortho"), (11, "forward"), (None, "backward")])
def test_fft_of_a_real_input_is_the_two_sided_r2c(fn, n, norm):
    import numpy as np
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(np.linspace(-1, 2, 8, dtype=np.float32), requires_grad=True)
        y = getattr(lib.fft, fn)(x, n=n, norm=norm)
        (y.real * lib.arange(float(y.shape[0])) + y.imag ** 2).sum().backward()
        outs.append((type(y.grad_fn).__name__, y.dtype, y.detach().resolve_conj().numpy(),
                     x.grad.numpy()))
    (ne, de, ye, ge), (nt, dt, yt, gt) = outs
    assert ne == nt and str(de) == str(dt)
    np.testing.assert_allclose(ye, yt, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ge, gt, rtol=1e-5, atol=1e-5)


def test_linalg_error_class_name():
    for lib in (ember, torch):
        with pytest.raises(lib.linalg.LinAlgError) as e:
            lib.linalg.cholesky(-lib.eye(2))
        assert type(e.value).__name__ == "_LinAlgError"


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window", "kaiser_window"])
def test_windows_follow_torch_arithmetic(name):
    import numpy as np
    for n in range(0, 40):
        for periodic in (True, False):
            for dt, tol in (("float64", 0), ("float32", 1.2e-7)):
                if name == "kaiser_window":
                    tol = 1e-14 if dt == "float64" else 1e-6     # NumPy's i0, not Cephes'
                a = getattr(ember, name)(n, periodic, dtype=getattr(ember, dt)).numpy()
                b = getattr(torch, name)(n, periodic, dtype=getattr(torch, dt)).numpy()
                assert a.dtype == b.dtype
                np.testing.assert_allclose(a, b, rtol=0, atol=tol)
    assert repr(ember.blackman_window(3)) == repr(torch.blackman_window(3))


@pytest.mark.parametrize("eq, which", [
    ("ij->", (0,)), ("ij->i", (0,)), ("ii->i", (0,)), ("ii", (0,)), ("ij->ji", (0,)),
    ("ij,jk->ik", (0, 0)), ("ij,ij->", (0, 0)), ("ij,j->i", (0, 1)), ("i,j->ij", (1, 1)),
    ("ij,jk->", (0, 0)), ("ij,jk,kl->il", (0, 0, 0)), ("bij->b", (2,)), ("ij,kj->", (3, 0)),
    ("ij,kj->", (0, 3)), ("ij,kj->i", (0, 3)), ("ij,kj->k", (0, 3)), ("ij,kj,jl->", (0, 3, 0))])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "int64"])
def test_einsum_integer_and_bool_result_dtypes(eq, which, dtype):
    def run(t):
        a = t.tensor([[1, 2], [3, 4]], dtype=getattr(t, dtype))
        pool = (a, a[0], a[None], a[:1])
        return t.einsum(eq, *[pool[i] for i in which])
    try:
        want = run(torch)
    except (NotImplementedError, RuntimeError) as e:
        with pytest.raises(type(e)) as got:
            run(ember)
        assert str(got.value) == str(e)
        return
    got = run(ember)
    assert str(got.dtype) == str(want.dtype) and got.tolist() == want.tolist()


def test_functional_call_strict_lists_keys_sorted():
    def run(t):
        net = t.nn.Sequential(t.nn.Linear(1, 2), t.nn.Tanh(), t.nn.Linear(2, 1))
        t.func.functional_call(net, {"0.weight": t.zeros(2, 1), "zz": t.zeros(1), "a": t.ones(1)},
                               (t.zeros(2, 1),), strict=True)
    assert _err(run, ember) == _err(run, torch)


@pytest.mark.parametrize("make", [
    lambda t: t.nn.Linear(3, 2),                              # shape
    lambda t: (lambda X: X.double()),                         # dtype
])
def test_register_parametrization_shape_and_dtype_errors(make):
    def run(t):
        p = make(t)
        if not isinstance(p, t.nn.Module):
            fn = p

            class P(t.nn.Module):
                def forward(self, X):
                    return fn(X)
            p = P()
        t.nn.utils.parametrize.register_parametrization(t.nn.Linear(3, 3), "bias", p)
    assert _err(run, ember) == _err(run, torch)


def test_register_parametrization_right_inverse_checks():
    def run(t):
        class Bad(t.nn.Module):
            def forward(self, X):
                return X

            def right_inverse(self, Y):
                return Y[:2]
        t.nn.utils.parametrize.register_parametrization(t.nn.Linear(3, 3), "bias", Bad())
        m = t.nn.Linear(3, 3)
        t.nn.utils.parametrize.register_parametrization(m, "bias", t.nn.Identity())
        t.nn.utils.parametrize.register_parametrization(m, "bias", Bad())
    assert _err(run, ember) == _err(run, torch)


_AUTOCAST_CASES = {
    "prod": lambda t, x, xf, v, S, y, tg: x.prod(),
    "prod_dim": lambda t, x, xf, v, S, y, tg: t.prod(x, 0),
    "quantile": lambda t, x, xf, v, S, y, tg: t.quantile(x, 0.5),
    "trace": lambda t, x, xf, v, S, y, tg: x.trace(),
    "svd": lambda t, x, xf, v, S, y, tg: t.linalg.svd(S)[1],
    "eigh": lambda t, x, xf, v, S, y, tg: t.linalg.eigh(S)[0],
    "qr": lambda t, x, xf, v, S, y, tg: t.linalg.qr(S)[0],
    "inv": lambda t, x, xf, v, S, y, tg: t.linalg.inv(S),
    "cholesky": lambda t, x, xf, v, S, y, tg: t.linalg.cholesky(S),
    "solve": lambda t, x, xf, v, S, y, tg: t.linalg.solve(S, v),
    "einsum": lambda t, x, xf, v, S, y, tg: t.einsum("ij,jk->ik", x, xf),
    "dot": lambda t, x, xf, v, S, y, tg: t.dot(v, v),
    "matmul1d": lambda t, x, xf, v, S, y, tg: x @ v,
    "softmax": lambda t, x, xf, v, S, y, tg: x.softmax(-1),
    "F.softmax": lambda t, x, xf, v, S, y, tg: t.nn.functional.softmax(x, -1),
    "log_softmax": lambda t, x, xf, v, S, y, tg: x.log_softmax(-1),
    "exp": lambda t, x, xf, v, S, y, tg: x.exp(),
    "cumsum": lambda t, x, xf, v, S, y, tg: x.cumsum(0),
    "logsumexp": lambda t, x, xf, v, S, y, tg: x.logsumexp(0),
    "pow": lambda t, x, xf, v, S, y, tg: x.pow(2),
    "layer_norm": lambda t, x, xf, v, S, y, tg: t.nn.functional.layer_norm(x, (4,)),
    "cdist": lambda t, x, xf, v, S, y, tg: t.cdist(x, x),
    "mse": lambda t, x, xf, v, S, y, tg: t.nn.functional.mse_loss(x, y),
    "MSELoss": lambda t, x, xf, v, S, y, tg: t.nn.MSELoss()(x, y),
    "l1": lambda t, x, xf, v, S, y, tg: t.nn.functional.l1_loss(x, y),
    "ce": lambda t, x, xf, v, S, y, tg: t.nn.functional.cross_entropy(x, tg),
    "nll": lambda t, x, xf, v, S, y, tg: t.nn.functional.nll_loss(x, tg),
    "bce": lambda t, x, xf, v, S, y, tg: t.nn.functional.binary_cross_entropy(y, y),
    "kl": lambda t, x, xf, v, S, y, tg: t.nn.functional.kl_div(x, y, reduction="batchmean"),
    "triplet": lambda t, x, xf, v, S, y, tg: t.nn.functional.triplet_margin_loss(x, x, x),
    "avg3d": lambda t, x, xf, v, S, y, tg: t.nn.functional.avg_pool3d(x.view(1, 1, 1, 4, 4), 1),
    "fft": lambda t, x, xf, v, S, y, tg: t.fft.fft(x),
    "rfft": lambda t, x, xf, v, S, y, tg: t.fft.rfft(x),
    "conv1d": lambda t, x, xf, v, S, y, tg: t.nn.functional.conv1d(x.view(1, 4, 4),
                                                                   xf.view(4, 4, 1)),
    "prelu": lambda t, x, xf, v, S, y, tg: t.nn.functional.prelu(x, t.ones(1)),
    "baddbmm": lambda t, x, xf, v, S, y, tg: t.baddbmm(xf[None], x[None], x[None]),
    "index_copy": lambda t, x, xf, v, S, y, tg: xf.index_copy(0, t.tensor([0]), x[:1]),
    "linear": lambda t, x, xf, v, S, y, tg: t.nn.functional.linear(x, xf),
    "cat": lambda t, x, xf, v, S, y, tg: t.cat([x, xf]),
}


@pytest.mark.parametrize("name", sorted(_AUTOCAST_CASES))
def test_cpu_autocast_bfloat16_output_dtypes(name):
    """torch's CPU autocast lists differ from CUDA's: softmax, exp, pow, cumsum, layer_norm stay
    in bfloat16; prod, quantile, trace, decompositions, losses, cdist, 3-d pools and FFTs run in
    float32; convolutions, prelu and the b/addmm family cast mixed inputs down first."""
    import numpy as np
    rng = np.random.default_rng(0)
    xf_, v_, y_ = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.uniform(size=(4, 4))
    outs = []
    for t in (torch, ember):
        xf = t.tensor(xf_, dtype=t.float32)
        x, v, y = xf.bfloat16(), t.tensor(v_, dtype=t.bfloat16), t.tensor(y_, dtype=t.bfloat16)
        S = (xf @ xf.T + t.eye(4)).bfloat16()
        tg = t.tensor([0, 1, 3, 2])
        with t.autocast("cpu", dtype=t.bfloat16):
            r = _AUTOCAST_CASES[name](t, x, xf, v, S, y, tg)
        outs.append(str(r.dtype))
    assert outs[1] == outs[0]
    assert not ember.is_autocast_enabled("cpu")


_CL_CASES = [
    "t.randn(2, 1, 8, 8).to(memory_format=t.channels_last).stride()",
    "t.randn(2, 3, 8, 8).to(memory_format=t.channels_last).stride()",
    "t.randn(2, 3, 8, 8).to(memory_format=t.channels_last).is_contiguous()",
    "t.randn(2, 3, 8, 8).is_contiguous(memory_format=t.channels_last)",
    "t.randn(2, 1, 8, 8).is_contiguous(memory_format=t.channels_last)",
    "t.empty(2, 3, 4, 5, memory_format=t.channels_last).stride()",
    "t.empty(2, 1, 4, 1, memory_format=t.channels_last).stride()",
    "t.empty_like(x).stride()", "t.zeros_like(x).stride()", "t.rand_like(x).stride()",
    "t.zeros_like(x, memory_format=t.contiguous_format).stride()",
    "x.clone().stride()", "x.clone(memory_format=t.contiguous_format).stride()",
    "x.contiguous().stride()", "x.contiguous(memory_format=t.channels_last) is x",
    "x.to(memory_format=t.channels_last) is x", "x.double().stride()",
    "y.contiguous(memory_format=t.channels_last).stride()",
    "(x * 2).stride()", "F.relu(x).stride()", "t.sigmoid(x).stride()",
    "F.interpolate(x, scale_factor=2).stride()",
    "F.interpolate(x, scale_factor=2, mode='bilinear').stride()",
    "F.adaptive_avg_pool2d(x, 1).stride()", "F.adaptive_avg_pool2d(x, 2).stride()",
    "F.max_pool2d(x, 2).stride()", "F.avg_pool2d(x, 2).stride()", "F.pad(x, (1, 1)).stride()",
    "F.conv2d(x, t.randn(4, 3, 3, 3), padding=1).stride()",
    "F.conv2d(y, t.randn(4, 3, 1, 1).to(memory_format=t.channels_last)).stride()",
    "F.conv_transpose2d(x, t.randn(3, 2, 2, 2), stride=2).stride()",
    "F.batch_norm(x, None, None, training=True).stride()",
    "t.randn(1, 2, 3, 4, 5).to(memory_format=t.channels_last_3d).stride()",
    "repr(t.channels_last), repr(t.contiguous_format), repr(t.preserve_format)",
    "type(y.to(memory_format=t.channels_last).grad_fn).__name__",
]


@pytest.mark.parametrize("expr", _CL_CASES)
def test_channels_last_strides_like_torch(expr):
    def run(t):
        t.manual_seed(0)
        x = t.randn(2, 3, 4, 4).to(memory_format=t.channels_last)
        y = t.randn(2, 3, 4, 4, requires_grad="grad_fn" in expr)
        return eval(expr, {"t": t, "F": t.nn.functional, "x": x, "y": y})
    assert run(ember) == run(torch)


def test_channels_last_module_and_param_grads():
    def run(t):
        t.manual_seed(0)
        m = t.nn.Sequential(t.nn.Conv2d(3, 4, 3, padding=1), t.nn.BatchNorm2d(4), t.nn.ReLU())
        m = m.to(memory_format=t.channels_last)
        x = t.randn(2, 3, 5, 5).to(memory_format=t.channels_last)
        o = m(x)
        o.sum().backward()
        w = t.randn(3, 4).t().requires_grad_()
        (w * 2).sum().backward()
        return (m[0].weight.stride(), m[0].bias.stride(), o.stride(),
                m[0].weight.grad.stride(), w.grad.stride(), round(o.sum().item(), 3))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("call", [
    lambda t: t.randn(2, 3).to(memory_format=t.channels_last),
    lambda t: t.randn(2, 3).contiguous(memory_format=t.channels_last),
    lambda t: t.empty(2, 3, memory_format=t.channels_last),
])
def test_channels_last_rank_errors(call):
    assert _err(call, ember) == _err(call, torch)


def test_zeros_and_ones_take_no_memory_format():
    for name in ("zeros", "ones"):
        call = (lambda n: lambda t: getattr(t, n)(2, 2, 2, 2, memory_format=t.channels_last))(name)
        assert _err(call, ember) == _err(call, torch)


def test_mha_warns_on_mismatched_mask_types():
    import warnings

    def run(t):
        t.manual_seed(0)
        m = t.nn.MultiheadAttention(4, 2, batch_first=True)
        x = t.randn(2, 3, 4)
        kpm = t.tensor([[False, False, True], [False, False, False]])
        am = t.nn.Transformer.generate_square_subsequent_mask(3)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = m(x, x, x, key_padding_mask=kpm, attn_mask=am)[0]
            m(x, x, x, key_padding_mask=kpm.float(), attn_mask=am)
            m(x, x, x, key_padding_mask=kpm, attn_mask=am > 0)
        return [str(x.message) for x in w], out.detach().numpy().round(5).tolist()
    assert run(ember) == run(torch)


def test_scatter_reduce_and_stft_window_warn_once(monkeypatch):
    import warnings
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(2):
            ember.zeros(3, 4).scatter_(1, ember.tensor([[0, 1], [2, 3], [0, 0]]),
                                       ember.ones(3, 2), reduce="add")
            ember.zeros(3, 4).scatter(1, ember.tensor([[0, 1]]), 2., reduce="multiply")
            ember.stft(ember.randn(64), 16, return_complex=True)
    # (torch's stft warning comes from the _VF.stft call in torch/functional.py's stft)
    assert [(x.filename, str(x.message).split(".")[0]) for x in w] == [
        (__file__, "The reduce argument of torch"),
        (ember.ops.signal.__file__, "A window was not provided")]


@pytest.mark.parametrize("expr", [
    "t.max(z)", "t.min(zd)", "z.amax()", "z.amin()", "z.clamp(0, 1)", "z.clamp(min=0)",
    "z.clamp_(0, 1)", "z.clip(0, 1)", "z.clamp_min(0)", "z.clamp_max(1)", "t.aminmax(z)",
    "z.maximum(z)", "t.fmin(z, z)", "z.max(0)", "z.argmax()"])
def test_complex_extrema_and_clamp_errors(expr):
    def run(t):
        z = t.tensor([1 + 1j])
        zd = z.to(t.complex128)
        eval(expr, {"t": t, "z": z, "zd": zd})
    assert _err(run, ember) == _err(run, torch)


@pytest.mark.parametrize("kw", [{}, {"affine": True}, {"track_running_stats": True},
                                {"affine": True, "track_running_stats": True}])
def test_instance_norm_grad_fn_is_a_view_of_batch_norm(kw):
    def run(t):
        t.manual_seed(0)
        x = t.randn(2, 4, 5, 5, requires_grad=True)
        m = t.nn.InstanceNorm2d(4, **kw)
        y = m(x)
        y.pow(2).sum().backward()
        names = (type(y.grad_fn).__name__, type(y.grad_fn.next_functions[0][0]).__name__)
        return names, round(x.grad.abs().sum().item(), 3)
    assert run(ember) == run(torch)


def test_wishart_samples_follow_torch_stream():
    import warnings

    def run(t):
        t.manual_seed(1)
        out = []
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            for df, sh, bs in [(4., (), ()), (3., (2,), ()), (5., (), (2,)), (4., (3,), (2,))]:
                dist = t.distributions.Wishart(t.full(bs, df) if bs else t.tensor(df),
                                               t.eye(2).expand(bs + (2, 2)))
                s = dist.sample(sh)
                out.append((tuple(s.shape), s.flatten()[:6].tolist(), t.rand(1).item()))
        return out, [str(x.message) for x in w]
    (e, ew), (t, tw) = run(ember), run(torch)
    assert ew == tw
    for a, b in zip(e, t):
        assert a[0] == b[0]
        assert a[1] == pytest.approx(b[1], rel=1e-5, abs=1e-6) and a[2] == b[2]


@pytest.mark.parametrize("case", ["put_mask", "getitem", "gather", "masked_fill", "bf16", "c64"])
def test_index_tensors_modified_in_place_raise_at_backward(case):
    def run(t):
        x = t.randn(3, requires_grad=True)
        if case == "put_mask":
            y = x.clone()
            m = t.tensor([True, False, True])
            y[m] = t.randn(2, requires_grad=True)
            m[0] = False
            y.sum().backward()
        elif case == "getitem":
            i = t.tensor([0, 2])
            z = x[i]
            i[0] = 1
            z.sum().backward()
        elif case == "gather":
            i = t.tensor([0, 2])
            z = x.gather(0, i)
            i[0] = 1
            (z * 2).sum().backward()
        elif case == "masked_fill":
            m = t.tensor([True, False, True])
            z = x.masked_fill(m, 0.)
            m.fill_(False)
            z.sum().backward()
        else:
            a = t.ones(2, dtype=t.bfloat16 if case == "bf16" else t.complex64, requires_grad=True)
            b = a.clone()
            c = b * b
            b.add_(1)
            c.abs().sum().backward()
    assert _err(run, ember) == _err(run, torch)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod", "amax"])
@pytest.mark.parametrize("how", ["lengths", "offsets", "axis1", "initial"])
def test_segment_reduce_like_torch(reduce, how):
    import numpy as np

    def run(t):
        data = t.tensor([[1., 2., 2., 4., 5.], [0.5, -1., 3., 3., 0.]], dtype=t.float64)
        data.requires_grad_()
        x = data.t() if how == "axis1" else data[0]       # (segments along dim 0 of 2-d data)
        kw = {"axis": 0} if how == "axis1" else {}
        if how == "offsets":
            kw["offsets"] = t.tensor([0, 1, 1, 5])
        else:
            kw["lengths"] = t.tensor([1, 0, 4])
        if how == "initial":
            kw["initial"] = 2.5
        y = t.segment_reduce(x, reduce, **kw)
        finite = t.where(y.isfinite(), y, t.zeros_like(y))
        (finite * t.arange(1., y.numel() + 1, dtype=t.float64).view(y.shape)).sum().backward()
        return y.detach().numpy(), data.grad.numpy(), type(y.grad_fn).__name__
    (ye, ge, ne), (yt, gt, nt) = run(ember), run(torch)
    np.testing.assert_allclose(ye, yt)
    np.testing.assert_allclose(ge, gt)
    assert ne == nt
