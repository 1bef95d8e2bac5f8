"""Regressions found by probe batch 7 (training loops, EMA with `_foreach_*`, data pipelines,
custom autograd, printing), checked against torch."""
import pytest
import torch

import ember


def _outcome(fn):
    try:
        r = fn()
        return "ok", _plain(r)
    except Exception as e:      # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e).replace("ember", "torch")


def _plain(r):
    if isinstance(r, (list, tuple)):
        return type(r).__name__, [_plain(x) for x in r]
    if hasattr(r, "tolist"):
        # repr: NaN must equal NaN
        return str(r.dtype).replace("ember", "torch"), tuple(r.shape), repr(r.float().tolist())
    return r


def _two(lib):
    return [lib.tensor([0.5, -2.0, 3.0]), lib.tensor([[1.0, float("nan")], [4.0, -0.25]])]


_FOREACH = {
    "empty list": lambda t: t._foreach_add([], 1),
    "lengths differ": lambda t: t._foreach_add(_two(t), [t.ones(2)]),
    "scalar list length": lambda t: t._foreach_mul(_two(t), [1.0]),
    "tensor operand not 0-d": lambda t: t._foreach_add(_two(t), t.ones(2)),
    "0-d tensor with alpha": lambda t: t._foreach_add(_two(t), t.tensor(3.0), alpha=2),
    "list with alpha": lambda t: t._foreach_sub(_two(t), _two(t), alpha=0.5),
    "int + float": lambda t: t._foreach_add([t.arange(3)], 1.5),
    "int += float": lambda t: t._foreach_add_([t.arange(3)], 1.5),
    "powsum": lambda t: t._foreach_powsum(_two(t), 3) + t._foreach_powsum(_two(t), 0),
    "norms": lambda t: (t._foreach_norm(_two(t), float("inf")) + t._foreach_norm(_two(t), 1)
                        + t._foreach_norm([t.ones(2, dtype=t.half)], dtype=t.float64)),
    "norm of ints": lambda t: t._foreach_norm([t.arange(3)]),
    "max": lambda t: t._foreach_max(_two(t)) + t._foreach_max([t.arange(3)]),
    "max of empty": lambda t: t._foreach_max([t.ones(0)]),
    "scalar ** list": lambda t: t._foreach_pow(2, [t.arange(3), t.ones(2)]),
    "lerp scalar list": lambda t: t._foreach_lerp(_two(t), [x * 2 for x in _two(t)], [0.1, 0.2]),
    "lerp tensor list": lambda t: t._foreach_lerp(_two(t), [x * 2 for x in _two(t)],
                                                  [t.tensor(0.3), t.tensor(0.7)]),
    "addcmul packed scalars": lambda t: t._foreach_addcmul(_two(t), _two(t), _two(t),
                                                           t.tensor([1.0, 2.0])),
    "addcmul 0-d scalars": lambda t: t._foreach_addcmul(_two(t), _two(t), _two(t), t.tensor(1.0)),
    "addcdiv scalars length": lambda t: t._foreach_addcdiv(_two(t), _two(t), _two(t),
                                                           t.tensor([1.0, 2.0, 3.0])),
    "maximum/minimum nan": lambda t: (t._foreach_maximum(_two(t), [x.flip(0) for x in _two(t)])
                                      + t._foreach_minimum(_two(t), float("nan"))),
    "mm": lambda t: t._foreach_mm([t.ones(2, 2)], [t.arange(6.0).reshape(2, 3)]),
    "zero_ and copy_ return self": lambda t: (t._foreach_zero_(_two(t)),
                                              t._foreach_copy_(_two(t), [x * 5 for x in _two(t)])),
    "in-place on a leaf": lambda t: t._foreach_sqrt_([t.ones(2, requires_grad=True)]),
    "bool negation": lambda t: t._foreach_neg([t.ones(2, dtype=t.bool)]),
    "bfloat16 *= 0-d float": lambda t: t._foreach_mul_([t.ones(2, dtype=t.bfloat16)],
                                                       t.tensor(3.0)),
}


@pytest.mark.parametrize("case", list(_FOREACH))
def test_foreach_functions_like_torch(case):
    assert _outcome(lambda: _FOREACH[case](ember)) == _outcome(lambda: _FOREACH[case](torch))


@pytest.mark.parametrize("name", "abs acos asin atan ceil cos cosh erf erfc exp expm1 floor frac "
                         "lgamma log log10 log1p log2 neg reciprocal round rsqrt sigmoid sign sin "
                         "sinh sqrt tan tanh trunc".split())
def test_foreach_unary_family_like_torch(name):
    def run(lib):
        xs = [x.abs() + 0.1 for x in _two(lib)]
        out = getattr(lib, "_foreach_" + name)(xs)
        assert getattr(lib, "_foreach_" + name + "_")(xs) is xs
        return out, xs
    (e_out, e_xs), (t_out, t_xs) = run(ember), run(torch)
    for e, t in zip(e_out + tuple(e_xs), t_out + tuple(t_xs)):
        torch.testing.assert_close(torch.from_numpy(e.numpy()), t, equal_nan=True)


def test_foreach_names_and_ema_update_like_torch():
    assert (sorted(n for n in dir(torch) if n.startswith("_foreach_"))
            == sorted(n for n in ember._FOREACH_NAMES))

    def ema(lib):
        w = lib.ones(3, requires_grad=True)
        avg = [w.detach().clone(), w.detach().clone() * 2]
        for k in range(3):
            lib._foreach_mul_(avg, 0.9)
            lib._foreach_add_(avg, [w.detach() * k, w.detach()], alpha=0.1)
            lib._foreach_lerp_(avg, [w.detach(), w.detach()], 0.5)
        loss = lib.stack(lib._foreach_mul(lib._foreach_exp([w, w * 2]), [1.0, 2.0])).sum()
        loss.backward()
        return avg, w.grad
    assert _outcome(lambda: ema(ember)) == _outcome(lambda: ema(torch))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("sorted_", [True, False])
def test_topk_picks_among_equal_values_like_torch(largest, sorted_):
    import numpy as np
    rng = np.random.RandomState(0)
    for n, k in [(7, 4), (21, 3), (21, 8), (300, 4), (300, 150), (40, 40)]:
        vals = rng.randint(0, 4, (3, n)).astype(np.float32)
        vals[0, ::5] = np.nan
        vals[1, :3] = -np.inf
        e = ember.topk(ember.from_numpy(vals), k, largest=largest, sorted=sorted_)
        t = torch.topk(torch.from_numpy(vals), k, largest=largest, sorted=sorted_)
        assert e.indices.tolist() == t.indices.tolist(), (n, k)
        assert repr(e.values.tolist()) == repr(t.values.tolist())


def test_beam_search_with_finished_beams_like_torch():
    def run(lib):
        V, B, K = 7, 2, 3
        W = lib.arange(V * V, dtype=lib.float32).reshape(V, V).sin()
        scores = lib.zeros(B, K)
        scores[:, 1:] = float("-inf")
        seqs = lib.zeros(B, K, 1, dtype=lib.long)
        finished = lib.zeros(B, K, dtype=lib.bool)
        for _ in range(4):
            logp = lib.log_softmax(W[seqs[:, :, -1]], -1).masked_fill(finished.unsqueeze(-1), 0.0)
            top, idx = (scores.unsqueeze(-1) + logp).view(B, -1).topk(K, dim=-1)
            beam, tok = idx // V, idx % V
            seqs = lib.cat([seqs.gather(1, beam.unsqueeze(-1).expand(-1, -1, seqs.shape[-1])),
                            tok.unsqueeze(-1)], -1)
            finished = finished.gather(1, beam) | (tok == 3)
            scores = top
        return seqs, scores
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("call", ["bucketize", "searchsorted"])
def test_searchsorted_contiguity_warning_points_at_the_caller(call, monkeypatch):
    import warnings
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    for lib in (torch, ember):
        v = (lib.arange(8.0).reshape(4, 2) / 8)[:, 0]
        b = lib.tensor([0.2, 0.6])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.bucketize(v, b) if call == "bucketize" else lib.searchsorted(b, v)
        assert [x.filename for x in w] == [__file__] * len(w), lib.__name__
        assert len(w) == 1 or lib is torch       # torch warns once per process


_INDEX_OPS = {
    "gather": lambda t, x, i, s: x.gather(1, i),
    "scatter value": lambda t, x, i, s: x.scatter(1, i, 2.0),
    "scatter src": lambda t, x, i, s: x.scatter(1, i, s),
    "scatter_add": lambda t, x, i, s: x.scatter_add(1, i, s),
    "scatter_reduce amax": lambda t, x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False),
    "scatter_reduce mean": lambda t, x, i, s: x.scatter_reduce(1, i, s, "mean"),
    "scatter reduce=add": lambda t, x, i, s: x.detach().scatter(1, i, 2.0, reduce="add"),
    "take_along_dim": lambda t, x, i, s: x.take_along_dim(i, 1),
    "take_along_dim flat": lambda t, x, i, s: t.take_along_dim(x, i),
    "take_along_dim shapes": lambda t, x, i, s: x.take_along_dim(i.expand(4, 2).long(), 1),
    "index_fill": lambda t, x, i, s: x.index_fill(0, i[0], 1.0),
    "index_fill_": lambda t, x, i, s: x.detach().index_fill_(0, i[0], 1.0),
    "index_select": lambda t, x, i, s: x.index_select(0, i[0]),
    "index_add": lambda t, x, i, s: x.index_add(0, i[0], t.ones(2, 3)),
    "index_copy": lambda t, x, i, s: x.detach().index_copy(0, i[1, :1], t.ones(1, 3)),
    "take": lambda t, x, i, s: t.take(x, i),
    "put_": lambda t, x, i, s: x.detach().put_(i, t.ones(2, 2)),
    "put_ one value": lambda t, x, i, s: x.detach().put_(i.long(), t.ones(1)),
    "put_ other dtype": lambda t, x, i, s: x.detach().put_(i.long(), t.ones(4).double()),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8"])
@pytest.mark.parametrize("case", list(_INDEX_OPS))
def test_index_dtype_checks_like_torch(case, dtype):
    def run(lib):
        x = lib.arange(9.0).reshape(3, 3).requires_grad_()
        i = lib.tensor([[0, 2], [1, 1]], dtype=getattr(lib, dtype))
        s = lib.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
        r = _INDEX_OPS[case](lib, x, i, s)
        if r.requires_grad:
            r.sum().backward()
        return r, x.grad, s.grad
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_without_stable_orders_equal_values_like_torch(dtype, descending):
    import numpy as np
    rng = np.random.RandomState(1)
    vals = rng.randint(0, 4, (3, 70)).astype(np.float32)
    vals[0, ::7] = np.nan
    for lib_args in [dict(dim=1), dict(dim=0)]:
        out = {}
        for lib in (torch, ember):
            x = lib.from_numpy(vals).to(getattr(lib, dtype))
            x = x if lib_args["dim"] == 1 else x.t()
            s = x.sort(descending=descending, **lib_args)
            out[lib] = (s.indices.tolist(), repr(s.values.float().tolist()),
                        x.argsort(descending=descending, **lib_args).tolist(),
                        x.sort(stable=True, descending=descending, **lib_args).indices.tolist())
        assert out[ember] == out[torch]


@pytest.mark.parametrize("n", [16, 17, 32767, 32768])
def test_sort_of_long_vectors_like_torch(n):
    """Past 32767 elements torch sorts 1-d integer tensors ascending with a stable radix sort."""
    import numpy as np
    v = np.random.RandomState(2).randint(-3, 3, n)
    for desc in (False, True):
        assert (ember.sort(ember.from_numpy(v), descending=desc).indices.tolist()
                == torch.sort(torch.from_numpy(v), descending=desc).indices.tolist())


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64"])
def test_kthvalue_mode_and_median_pick_among_equal_values_like_torch(dtype):
    import numpy as np
    rng = np.random.RandomState(3)
    for n in (7, 17, 60):
        vals = rng.randint(0, 4, (3, n)).astype(np.float32)
        if dtype != "int64":
            vals[0, rng.rand(n) < 0.2] = np.nan
        out = {}
        for lib in (torch, ember):
            x = lib.from_numpy(vals).to(getattr(lib, dtype))
            rs = [lib.kthvalue(x, k, 1) for k in (1, n // 2 + 1, n)]
            rs += [lib.kthvalue(x.t(), 2, 0, keepdim=True), lib.mode(x, 1), lib.mode(x.t(), 0),
                   lib.median(x, 1), lib.nanmedian(x, 1)]
            out[lib] = [(r.indices.tolist(), repr(r.values.float().tolist())) for r in rs]
        assert out[ember] == out[torch], n


def test_packing_a_batch_with_equal_lengths_sorts_like_torch():
    from ember.nn.utils import rnn as ernn
    from torch.nn.utils import rnn as trnn
    lens = [3, 5, 3, 2, 5, 5, 1, 3, 3, 2, 4, 4, 5, 1, 2, 3, 3, 5, 2, 4]
    out = {}
    for lib, R in ((torch, trnn), (ember, ernn)):
        seqs = [lib.arange(n, dtype=lib.float32) + 10 * i for i, n in enumerate(lens)]
        p = R.pack_padded_sequence(R.pad_sequence(seqs, batch_first=True), lib.tensor(lens),
                                   batch_first=True, enforce_sorted=False)
        ps = R.pack_sequence(seqs, enforce_sorted=False)
        out[lib] = (p.data.tolist(), p.sorted_indices.tolist(), p.unsorted_indices.tolist(),
                    ps.sorted_indices.tolist())
    assert out[ember] == out[torch]


_CONV_SHAPES = [((2, 3, 8, 8), (3, 3, 3, 3)), ((1, 3, 2, 2), (3, 3, 1, 1)), ((2, 3, 8, 8), (3, 3, 1, 1)),
                ((1, 3, 8), (3, 3, 3)), ((20, 3, 8), (3, 3, 1)), ((1, 3, 4, 4, 4), (3, 3, 2, 2, 2))]


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"),
                                    ("float16", "float32"), ("float32", "int64"),
                                    ("bfloat16", "float32"), ("complex64", "float32"),
                                    ("complex128", "complex64")])
@pytest.mark.parametrize("bias", [None, "float32"])
def test_conv_dtype_mismatch_errors_like_torch(dtypes, bias):
    def run(lib, xs, ws, kw, transposed):
        F = lib.nn.functional
        conv = getattr(F, f"conv{'_transpose' if transposed else ''}{len(xs) - 2}d")
        b = None if bias is None else lib.ones(ws[1] if transposed else ws[0])
        return conv(lib.ones(xs, dtype=getattr(lib, dtypes[0])),
                    lib.ones(ws, dtype=getattr(lib, dtypes[1])), b, **kw)
    for (xs, ws), kw, transposed in [(s, kw, t) for s in _CONV_SHAPES for kw in
                                     ({}, {"stride": 2}, {"groups": 3}) for t in (False, True)]:
        if kw.get("groups"):
            ws = (3, 1) + ws[2:]
        assert (_outcome(lambda: run(ember, xs, ws, kw, transposed))
                == _outcome(lambda: run(torch, xs, ws, kw, transposed))), (xs, ws, kw, transposed)


@pytest.mark.parametrize("call", ["torch.relu", "Tensor.relu_", "F.relu inplace", "nn.ReLU",
                                  "F.relu6", "F.leaky_relu", "F.gelu"])
def test_activations_of_bool_tensors_error_like_torch(call):
    calls = {"torch.relu": lambda t, x: t.relu(x), "Tensor.relu_": lambda t, x: x.relu_(),
             "F.relu inplace": lambda t, x: t.nn.functional.relu(x, inplace=True),
             "nn.ReLU": lambda t, x: t.nn.ReLU()(x),
             "F.relu6": lambda t, x: t.nn.functional.relu6(x),
             "F.leaky_relu": lambda t, x: t.nn.functional.leaky_relu(x),
             "F.gelu": lambda t, x: t.nn.functional.gelu(x)}
    assert (_outcome(lambda: calls[call](ember, ember.ones(2, dtype=ember.bool)))
            == _outcome(lambda: calls[call](torch, torch.ones(2, dtype=torch.bool))))


def test_clip_grad_norm_scales_by_torchs_rounded_coefficient():
    """torch's max_norm / (norm + 1e-6) is a reciprocal then a product, in float32; the inf
    norm (a max, exact either way) isolates the coefficient."""
    import numpy as np
    rng = np.random.RandomState(0)
    for _ in range(50):
        gs = [rng.randn(*s).astype(np.float32) * 10 ** rng.uniform(-3, 2)
              for s in [(2, 3), (2,), (5, 7)]]
        out = {}
        for lib in (torch, ember):
            ps = [lib.nn.Parameter(lib.zeros(g.shape)) for g in gs]
            for p, g in zip(ps, gs):
                p.grad = lib.tensor(g)
            n = lib.nn.utils.clip_grad_norm_(ps, 0.7, norm_type=float("inf"))
            out[lib] = (n.item(), [p.grad.tolist() for p in ps])
        assert out[ember] == out[torch]


_PINNED = {
    "tensor": lambda t: t.tensor([1.0], pin_memory=True),
    "zeros": lambda t: t.zeros(2, pin_memory=True),
    "full": lambda t: t.full((2,), 1.0, pin_memory=True),
    "rand": lambda t: t.rand(2, pin_memory=True),
    "randint": lambda t: t.randint(3, (2,), pin_memory=True),
    "randperm": lambda t: t.randperm(3, pin_memory=True),
    "arange": lambda t: t.arange(3, pin_memory=True),
    "linspace": lambda t: t.linspace(0, 1, 3, pin_memory=True),
    "eye": lambda t: t.eye(2, pin_memory=True),
    "empty_strided": lambda t: t.empty_strided((2,), (1,), pin_memory=True),
    "ones_like": lambda t: t.ones_like(t.ones(2), pin_memory=True),
    "Tensor.pin_memory": lambda t: t.ones(2).pin_memory(),
    "not pinned": lambda t: (t.zeros(2, pin_memory=False), t.ones(2).is_pinned()),
}


@pytest.mark.skipif(ember.cuda.is_available(), reason="pinned memory exists with a GPU")
@pytest.mark.parametrize("case", list(_PINNED))
def test_pinned_memory_without_an_accelerator_errors_like_torch(case):
    assert _outcome(lambda: _PINNED[case](ember)) == _outcome(lambda: _PINNED[case](torch))


@pytest.mark.parametrize("case", ["list of arrays", "tuple of arrays", "nested", "0-d element",
                                  "Tensor legacy constructor"])
def test_list_of_ndarrays_warns_once_like_torch(case, monkeypatch):
    import warnings
    import numpy as np
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    data = {"list of arrays": lambda: [np.array([1.0]), np.array([2.0])],
            "tuple of arrays": lambda: (np.array([1.0]), np.array([2.0])),
            "nested": lambda: [[np.array([1.0])]], "0-d element": lambda: [1.0, np.array(2.0)],
            "Tensor legacy constructor": None}[case]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if data is None:
            ember.Tensor([np.array([1.0])])
            ember.Tensor([np.array([1.0])])
        else:
            ember.tensor(data())
            ember.as_tensor(data())
    assert [str(x.message) for x in w] == [
        "Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider "
        "converting the list to a single numpy.ndarray with numpy.array() before converting to a "
        "tensor."]
    assert w[0].filename == __file__


def test_tensor_of_an_ndarray_keeps_its_layout_and_names_bad_dtypes_like_torch():
    import numpy as np
    arrays = [np.ones((2, 3)).T, np.ones((2, 3, 4)).transpose(2, 0, 1), np.ones((2, 3))[:, ::2],
              np.ones((4, 3))[::2].T]
    for a in arrays:
        assert ember.tensor(a).stride() == torch.tensor(a).stride()
        assert ember.tensor(a, dtype=ember.float32).stride() == torch.tensor(
            a, dtype=torch.float32).stride()
    assert ember.tensor(ember.ones(2, 3).t().numpy()).stride() == (1, 3)
    for bad in (np.array([1, 2], dtype=object), np.array(["a"]), np.array([1.0], np.longdouble)):
        assert _outcome(lambda: ember.tensor(bad)) == _outcome(lambda: torch.tensor(bad))


@pytest.mark.skipif(ember.cuda.is_available(), reason="CUDA autocast works with a GPU")
@pytest.mark.parametrize("make", ["torch.autocast('cuda')", "torch.cuda.amp.autocast()"])
def test_cuda_autocast_without_cuda_warns_and_disables_like_torch(make):
    import warnings

    def run(lib):
        ctx = (lib.autocast("cuda") if make.startswith("torch.autocast")
               else lib.cuda.amp.autocast())
        with ctx:
            y = lib.nn.functional.linear(lib.ones(1, 2), lib.ones(3, 2))
        return y.dtype

    out = {}
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            dtype = run(lib)
        out[lib] = (str(dtype).replace("ember", "torch"),
                    [(x.category, str(x.message)) for x in w if x.category is UserWarning])
    assert out[ember] == out[torch]
    assert out[ember][1]


_REQUIRES_GRAD = {
    "Parameter of longs": lambda t: t.nn.Parameter(t.ones(2, dtype=t.long)),
    "Parameter of longs, no grad": lambda t: t.nn.Parameter(t.ones(2, dtype=t.long),
                                                            requires_grad=False).requires_grad,
    "requires_grad_ on ints": lambda t: t.ones(2, dtype=t.long).requires_grad_(),
    "factory": lambda t: t.ones(2, dtype=t.long, requires_grad=True),
    "setattr": lambda t: setattr(t.ones(2, dtype=t.long), "requires_grad", True),
    "_make_subclass": lambda t: t.Tensor._make_subclass(t.Tensor, t.ones(2, dtype=t.long), True),
    "data = list": lambda t: setattr(t.nn.Linear(2, 2).weight, "data", [1, 2]),
    "data = other dtype": lambda t: (lambda p: (setattr(p, "data", t.zeros(2, dtype=t.float64)),
                                                str(p.dtype)[-7:], p.requires_grad))(
        t.nn.Parameter(t.ones(2))),
}


@pytest.mark.parametrize("case", list(_REQUIRES_GRAD))
def test_requires_grad_dtype_and_data_assignment_errors_like_torch(case):
    assert (_outcome(lambda: _REQUIRES_GRAD[case](ember))
            == _outcome(lambda: _REQUIRES_GRAD[case](torch)))


def test_batched_grads_like_torch():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (jac,) = lib.autograd.grad(x ** 2, x, grad_outputs=lib.eye(3), is_grads_batched=True)
        y = lib.stack([x * 3, x ** 2])
        (g,) = lib.autograd.grad(y, x, grad_outputs=lib.arange(24.0).view(4, 2, 3),
                                 is_grads_batched=True, create_graph=True)
        a, b = lib.autograd.grad([(x * x).sum(), (x * 2).sum()], [x, lib.ones(1, requires_grad=True)],
                                 grad_outputs=[lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
                                 is_grads_batched=True, allow_unused=True)
        return jac, g, g.requires_grad, a, b
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_fewer_gradients_than_outputs_errors_like_torch():
    for f in (lambda t, x: t.autograd.grad([x.sum(), x.sum()], x, grad_outputs=[t.ones(())]),
              lambda t, x: t.autograd.backward([x.sum(), x.sum()], grad_tensors=[t.ones(())])):
        assert (_outcome(lambda: f(ember, ember.ones(2, requires_grad=True)))
                == _outcome(lambda: f(torch, torch.ones(2, requires_grad=True))))


_LAYOUT_OPS = {
    "softmax": lambda x, d: x.softmax(d), "log_softmax": lambda x, d: x.log_softmax(d),
    "cummax": lambda x, d: x.cummax(d).values, "cummin": lambda x, d: x.cummin(d).indices,
    "var_mean": lambda x, d: (ember if isinstance(x, ember.Tensor) else torch).var_mean(x, d)[0],
    "max": lambda x, d: x.max(d).values, "median": lambda x, d: x.median(d).indices,
    "mode": lambda x, d: x.mode(d).values, "kthvalue": lambda x, d: x.kthvalue(1, d).values,
}


@pytest.mark.parametrize("case", list(_LAYOUT_OPS))
def test_softmax_scans_and_selections_of_permuted_inputs_are_contiguous_like_torch(case):
    """torch allocates these outputs contiguous, so a .view() of them works."""
    import itertools
    import numpy as np
    a = np.random.RandomState(0).rand(2, 3, 4).astype(np.float32)
    f = _LAYOUT_OPS[case]
    for perm in itertools.permutations(range(3)):
        for d in range(3):
            e = f(ember.from_numpy(a).permute(*perm), d)
            t = f(torch.from_numpy(a).permute(*perm), d)
            assert e.stride() == t.stride(), (perm, d)
            torch.testing.assert_close(torch.from_numpy(e.view(-1).numpy()), t.view(-1))
