"""Activation memory between forward and backward: a node keeps only what its backward reads
(ember/autograd/_thin.py), so an activation that torch frees after the forward is freed in
ember too, and a training step holds no more than its saved tensors."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import ember
import ember.nn
import ember.nn.functional
from ember.autograd import _thin
from ember.ops import _apply

N = 256          # (N, N) float32 inputs: 256 KiB, above the size thinning starts at

# op -> (function of (lib, h), whether torch frees h once the forward dropped it)
OPS = {
    "relu": (lambda L, h: L.relu(h), True),
    "tanh": (lambda L, h: h.tanh(), True),
    "sigmoid": (lambda L, h: h.sigmoid(), True),
    "exp": (lambda L, h: h.exp(), True),
    "softmax": (lambda L, h: L.softmax(h, -1), True),
    "log_softmax": (lambda L, h: L.nn.functional.log_softmax(h, 1), True),
    "add": (lambda L, h: h + L.ones(N, N), True),
    "sub": (lambda L, h: h - 1.5, True),
    "scale": (lambda L, h: h * 0.5, True),
    "dropout": (lambda L, h: L.nn.functional.dropout(h, 0.3), True),
    "div_by_const": (lambda L, h: h / L.full((N, N), 3.0), True),
    "transpose_copy": (lambda L, h: h.t().reshape(-1), True),
    "sum": (lambda L, h: h.sum(1), True),
    # torch saves max_pool's input; ember's backward reads only the argmax positions
    "max_pool": (lambda L, h: L.nn.functional.max_pool2d(h.reshape(1, 4, 128, 128), 2),
                 "ember"),
    # controls: backward reads the input itself, so both libraries keep it
    "sin": (lambda L, h: h.sin(), False),
    "mul_by_grad_tensor": (lambda L, h: h * L.ones(N, N, requires_grad=True), False),
}


@pytest.mark.parametrize("name", list(OPS))
def test_input_freed_after_forward_as_torch(name):
    """Freed by reference counting alone, the moment the forward drops it, as torch frees a
    storage (the cyclic collector stays off: it would hide a cycle, and a full collection in
    a worker holding the whole suite costs ~1 s)."""
    fn, freed = OPS[name]
    gc.disable()
    try:
        x = ember.randn(N, N, requires_grad=True)
        h = x * 2.0                                 # an intermediate activation
        ref = weakref.ref(h.arr)
        y = fn(ember, h)
        del h
        assert y.grad_fn is not None
        assert (ref() is None) == bool(freed), f"{name}: input {'kept' if ref() else 'freed'}"
        # torch agrees on what it frees (its storage dies with the tensor)
        tx = torch.randn(N, N, requires_grad=True)
        th = tx * 2.0
        tref = weakref.ref(th.untyped_storage())
        ty = fn(torch, th)
        del th
        assert ty.grad_fn is not None
        assert (tref() is None) == (freed is True)
    finally:
        gc.enable()
    # and the gradient is still right
    w = ember.randn(*y.shape)
    (y * w).sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", [n for n in OPS if n not in ("dropout",)])
def test_first_and_second_order_through_thinned_nodes_like_torch(name):
    fn = OPS[name][0]
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((N, N)) * 0.5
    wv = rng.standard_normal(tuple(fn(torch, torch.from_numpy(xv)).shape))
    grads = []
    for L in (ember, torch):
        L.manual_seed(0)
        x = L.tensor(xv, requires_grad=True)
        y = fn(L, x * 1.5)
        g, = L.autograd.grad((y * L.tensor(wv)).sum(), x, create_graph=True)
        gg = None
        if g.requires_grad:             # (relu, add, ...: the gradient is constant in x)
            gg, = L.autograd.grad((g * g).sum(), x, allow_unused=True)
        grads.append((g.detach().numpy(), None if gg is None else gg.numpy()))
    (eg, egg), (tg, tgg) = grads
    np.testing.assert_allclose(eg, tg, rtol=1e-7, atol=1e-9)
    if tgg is None or egg is None:          # no second-order term (torch may give zeros)
        for a in (egg, tgg):
            assert a is None or not a.any()
    else:
        np.testing.assert_allclose(egg, tgg, rtol=1e-6, atol=1e-9)


@pytest.fixture
def thin_everything(monkeypatch):
    """Thin inputs of every size, so that the small tensors of the op tables go through
    stubbed nodes (first and second order)."""
    monkeypatch.setattr(_thin, "MIN_BYTES", 0)
    monkeypatch.setattr(_apply, "_THIN_MIN", 0)


def _table():
    from opspecs import ALL_SPECS
    return [s for s in ALL_SPECS if s.grad]


@pytest.mark.parametrize("spec", _table(), ids=lambda s: s.name)
def test_op_table_gradients_with_every_input_thinned(spec, thin_everything):
    import test_ops
    test_ops.test_matches_torch(spec, "float64" if "float64" in spec.dtypes else "float32",
                                "cpu")


def _second_order_cases():
    import test_higher_order
    return list(test_higher_order._table_cases())


@pytest.mark.parametrize("spec, i", _second_order_cases())
def test_op_table_double_backward_with_every_input_thinned(spec, i, thin_everything):
    import test_higher_order
    test_higher_order.test_double_backward_op_table_like_torch(spec, i)


def _mlp_step_memory(width=512, batch=128, depth=4):
    ember.manual_seed(0)
    nn = ember.nn
    layers = []
    for i in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(0.2)]
    model = nn.Sequential(*layers)
    x = ember.randn(batch, width)
    for _ in range(2):
        model(x).square().mean().backward()
    model.zero_grad(set_to_none=True)
    saved = {}

    def pack(t):
        a = t.arr
        while a.base is not None:
            a = a.base
        saved[id(a)] = a.nbytes
        return t
    params = {id(p.arr) for p in model.parameters()} | {id(x.arr)}
    with ember.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).square().mean()
    saved_bytes = sum(v for k, v in saved.items() if k not in params)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = model(x).square().mean()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        loss.backward()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    grads = sum(p.grad.arr.nbytes for p in model.parameters())
    return held, after - grads, saved_bytes, width * batch * 4


def test_training_step_holds_only_its_saved_tensors():
    held, kept_after, saved, act = _mlp_step_memory()
    # between forward and backward: the saved activations (linear inputs, relu results,
    # dropout noise) and little else; before thinning each relu's input was held too
    assert saved > 8 * act
    assert held <= saved + act, (held, saved)
    # after backward (loss still referenced): the activations are gone
    assert kept_after <= act // 2, kept_after
