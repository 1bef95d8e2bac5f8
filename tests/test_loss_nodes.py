"""mse, smooth L1 and Huber losses are one node each, as torch's (MseLossBackward0, ...), with
torch's bits: forward, input and target gradients, float16 included (whose kernels round
either once or after every operation, loss by loss, as torch's)."""
import numpy as np
import pytest
import torch

import ember

CASES = [("mse_loss", {}, "MseLossBackward0"),
         ("smooth_l1_loss", {}, "SmoothL1LossBackward0"),
         ("smooth_l1_loss", {"beta": 0.5}, "SmoothL1LossBackward0"),
         ("huber_loss", {}, "HuberLossBackward0"),
         ("huber_loss", {"delta": 0.3}, "HuberLossBackward0")]


def _run(lib, name, kw, a, b, reduction, dtype):
    x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
    loss = getattr(lib.nn.functional, name)(x, y, reduction=reduction, **kw)
    gx, gy = lib.autograd.grad(loss, (x, y), lib.tensor(np.full(loss.shape, 0.7, dtype)))
    return loss.detach().numpy(), gx.numpy(), gy.numpy(), type(loss.grad_fn).__name__


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, kw, node", CASES)
def test_loss_is_torchs_node_and_bits(name, kw, node, reduction, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 10)).astype(dtype)
    b = rng.standard_normal((64, 10)).astype(dtype)
    b[0, :3] = a[0, :3]                             # the kinks: zero difference
    b[1, :2] = a[1, :2] + np.array([0.5, -0.3], dtype)
    ref = _run(torch, name, kw, a, b, reduction, dtype)
    got = _run(ember, name, kw, a, b, reduction, dtype)
    assert got[3] == ref[3] == node
    for r, g in zip(ref[:3], got[:3]):
        assert g.dtype == r.dtype and g.shape == r.shape
        assert np.array_equal(g, r)


@pytest.mark.parametrize("name, kw, node", CASES)
def test_loss_second_order_and_broadcast(name, kw, node):
    fn = getattr(ember.nn.functional, name)
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    y = ember.randn(3, dtype=ember.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="target size"):
        assert ember.autograd.gradcheck(lambda a, b: fn(a, b, **kw), (x, y))
    x2 = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, b: fn(a, b, **kw), (x2, x.detach()))
    empty = fn(ember.zeros(0, 3), ember.zeros(0, 3), **kw)
    assert empty.isnan().item() and type(empty.grad_fn).__name__ == "NoneType"
