"""torch 2.13's linear_cross_entropy (F.linear_cross_entropy, nn.LinearCrossEntropyLoss,
nn.LinearCrossEntropyOptions): the reference path and the chunked one against torch."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

_OPTIONS = [None, {}, {"batch_chunk_size": 2}, {"batch_chunk_size": 4, "chunking_method": None},
            {"chunking_method": "aspect_ratio:2"}]


def _run(lib, reduction, options, ignore_index, class_weight, bias, unbatched, dtype):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((9, 4)).astype(dtype), requires_grad=True)
    w = lib.tensor(rng.standard_normal((7, 4)).astype(dtype), requires_grad=True)
    b = lib.tensor(rng.standard_normal(7).astype(dtype), requires_grad=True) if bias else None
    t = lib.tensor(rng.integers(0, 7, 9))
    t[2] = -100 if ignore_index is None else ignore_index
    cw = lib.tensor(rng.uniform(0.5, 2, 7).astype(dtype)) if class_weight else None
    opts = None if options is None else lib.nn.LinearCrossEntropyOptions(**options)
    xs, ts = (x[0], t[0]) if unbatched else (x, t)
    loss = lib.nn.functional.linear_cross_entropy(
        xs, w, ts, linear_bias=b, weight=cw, reduction=reduction, ignore_index=ignore_index,
        options=opts)
    loss.sum().backward()
    grads = [x.grad, w.grad] + ([b.grad] if bias else [])
    return type(loss.grad_fn).__name__, loss.detach(), grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("class_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 3])
@pytest.mark.parametrize("options", _OPTIONS, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_values_grads_and_node_match_torch(reduction, options, ignore_index, class_weight, bias,
                                           unbatched, dtype):
    args = (reduction, options, ignore_index, class_weight, bias, unbatched, dtype)
    e_node, e_loss, e_grads = _run(ember, *args)
    t_node, t_loss, t_grads = _run(torch, *args)
    assert e_node == t_node
    tol = {"float32": dict(rtol=2e-6, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-12)}[dtype]
    for e, t in zip([e_loss] + e_grads, [t_loss] + t_grads):
        assert e.dtype.name == str(t.dtype).removeprefix("torch.") and e.shape == t.shape
        np.testing.assert_allclose(e.numpy(), t.numpy(), **tol)


def _inputs(lib, dtype=None):
    g = lib.Generator().manual_seed(0)
    x = lib.randn(6, 3, generator=g, dtype=dtype).requires_grad_()
    w = lib.randn(5, 3, generator=g, dtype=dtype).requires_grad_()
    return x, w, lib.randint(0, 5, (6,), generator=g)


def _twice(lib, reduction, retain, allow):
    x, w, t = _inputs(lib)
    loss = lib.nn.functional.linear_cross_entropy(
        x, w, t, reduction=reduction,
        options=lib.nn.LinearCrossEntropyOptions(allow_retain_graph=allow))
    loss.sum().backward(retain_graph=retain)
    loss.sum().backward()
    return x.grad.shape


def _f(lib):
    return lib.nn.functional.linear_cross_entropy


def _o(lib, **kw):
    return lib.nn.LinearCrossEntropyOptions(**kw)


_CASES = {
    "second backward, retain_graph": lambda L: _twice(L, "mean", True, False),
    "second backward, allow_retain_graph": lambda L: _twice(L, "mean", True, True),
    "second backward, no retain_graph": lambda L: _twice(L, "sum", False, False),
    "second backward, none": lambda L: _twice(L, "none", True, False),
    "target past the classes": lambda L: _f(L)(*_inputs(L)[:2], L.tensor([0, 1, 2, 9, 0, 1]),
                                               options=_o(L)),
    "negative target": lambda L: _f(L)(*_inputs(L)[:2], L.tensor([0, 1, 2, -3, 0, 1]),
                                       options=_o(L)),
    "int32 target (reference path, warns)": lambda L: _f(L)(
        *_inputs(L)[:2], L.tensor([0, 1, 2, 3, 0, 1], dtype=L.int32), options=_o(L)),
    "short target": lambda L: _f(L)(*_inputs(L)[:2], L.tensor([0, 1, 2]), options=_o(L)),
    "short target, reference": lambda L: _f(L)(*_inputs(L)[:2], L.tensor([0, 1, 2])),
    "3-d input": lambda L: _f(L)(L.ones(2, 2, 3), L.ones(5, 3), L.zeros(2, 2, dtype=L.long)),
    "1-d linear_weight": lambda L: _f(L)(L.ones(2, 3), L.ones(3), L.zeros(2, dtype=L.long)),
    "in_features differ": lambda L: _f(L)(L.ones(2, 3), L.ones(5, 4), L.zeros(2, dtype=L.long)),
    "bias shape": lambda L: _f(L)(L.ones(2, 3), L.ones(5, 3), L.zeros(2, dtype=L.long),
                                  linear_bias=L.ones(4)),
    "K-dim, unbatched": lambda L: _f(L)(L.ones(3), L.ones(5, 2, 3), L.zeros(2, dtype=L.long)),
    "K-dim": lambda L: _f(L)(L.ones(4, 3), L.randn(5, 2, 3, generator=L.Generator().manual_seed(1)),
                             L.zeros(4, 2, dtype=L.long)),
    "probabilities with ignore_index": lambda L: _f(L)(L.ones(4, 3), L.ones(5, 3), L.ones(4, 5),
                                                       ignore_index=1),
    "probabilities": lambda L: _f(L)(L.ones(4, 3), L.ones(5, 3), L.full((4, 5), 0.2)),
    "label smoothing with options (warns)": lambda L: _f(L)(*_inputs(L), label_smoothing=0.1,
                                                            options=_o(L)),
    "acc_policy": lambda L: _o(L, acc_policy="x"),
    "chunking_method": lambda L: _o(L, chunking_method="aspect_ratio:0"),
    "batch_chunk_size": lambda L: _o(L, batch_chunk_size=0),
    "acc_dtype": lambda L: _o(L, acc_dtype=L.int32),
    "size and method disagree": lambda L: _f(L)(*_inputs(L), options=_o(
        L, batch_chunk_size=2, chunking_method="aspect_ratio")),
    "float16": lambda L: _f(L)(*_inputs(L, L.float16), options=_o(L)),
    "empty batch, mean": lambda L: _f(L)(L.ones(0, 3), L.ones(5, 3), L.zeros(0, dtype=L.long),
                                         options=_o(L)),
    "every target ignored": lambda L: _f(L)(L.ones(2, 3), L.ones(5, 3), L.full((2,), -100),
                                            options=_o(L)),
    "module: weight shape": lambda L: L.nn.LinearCrossEntropyLoss(3, 5, weight=L.ones(4)),
    "module: label_smoothing": lambda L: L.nn.LinearCrossEntropyLoss(3, 5, label_smoothing=2.0),
    "options repr": lambda L: repr(_o(L, batch_chunk_size=3)),
    "module repr": lambda L: repr(L.nn.LinearCrossEntropyLoss(
        4, 10, out_features=(2,), bias=True, options=_o(L, batch_chunk_size=3))),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_outcomes_and_warnings_match_torch(case):
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = _outcome(lambda: _CASES[case](lib))
        return out, [str(w.message) for w in caught]
    assert run(ember) == run(torch)


def test_module_trains_as_torchs():
    losses = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        m = lib.nn.LinearCrossEntropyLoss(4, 6, bias=True,
                                          options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=3))
        opt = lib.optim.SGD(m.parameters(), lr=0.5)
        x = lib.tensor(np.random.default_rng(1).standard_normal((8, 4)).astype("float32"))
        y = lib.tensor(np.arange(8) % 6)
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss = m(x, y)
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_chunked_gradcheck(reduction):
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(4), requires_grad=True)
    t = ember.tensor([0, 3, -100, 1, 2])
    opts = ember.nn.LinearCrossEntropyOptions(batch_chunk_size=2, allow_retain_graph=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: ember.nn.functional.linear_cross_entropy(
            x, w, t, linear_bias=b, reduction=reduction, options=opts), (x, w, b))


def test_lazy_norms_take_bias_like_torch():
    for lib in (ember, torch):
        m = lib.nn.LazyBatchNorm2d(bias=False)
        m(lib.ones(2, 3, 4, 4))
        assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert repr(ember.nn.LazyInstanceNorm1d(bias=False, affine=True)) == \
        repr(torch.nn.LazyInstanceNorm1d(bias=False, affine=True))
