"""Functions that are one node in torch are one node here, with torch's grad_fn class and bits:
mse, smooth L1, Huber and soft margin losses, glu, celu and rrelu. float16 included, whose
kernels round either once or after every operation, function by function, as torch's."""
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


def _grads(lib, fn, a, dtype):
    x = lib.tensor(a, requires_grad=True)
    y = fn(lib, x)
    g, = lib.autograd.grad(y, x, lib.tensor(np.full(y.shape, 0.7, dtype)))
    return y.detach().numpy(), g.numpy(), type(y.grad_fn).__name__


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("case", ["glu", "glu1", "celu", "rrelu", "soft_margin"])
def test_single_node_functions(case, dtype):
    sign = np.sign(np.random.default_rng(1).standard_normal((64, 10))).astype(dtype)
    fns = {"glu": (lambda lib, x: lib.nn.functional.glu(x), "GluBackward0"),
           "glu1": (lambda lib, x: lib.nn.functional.glu(x.reshape(8, 8, 10), 1), "GluBackward0"),
           "celu": (lambda lib, x: lib.nn.functional.celu(x, 0.5), "CeluBackward0"),
           "rrelu": (lambda lib, x: lib.nn.functional.rrelu(x), "RreluWithNoiseBackward0"),
           "soft_margin": (lambda lib, x: lib.nn.functional.soft_margin_loss(
               x, lib.tensor(sign), reduction="none"), "SoftMarginLossBackward0")}
    fn, node = fns[case]
    a = np.random.default_rng(0).standard_normal((64, 10)).astype(dtype)
    ref, got = _grads(torch, fn, a, dtype), _grads(ember, fn, a, dtype)
    assert got[2] == ref[2] == node
    for r, g in zip(ref[:2], got[:2]):
        assert g.dtype == r.dtype and g.shape == r.shape
        if dtype == np.float16 or case == "rrelu":
            assert np.array_equal(g, r)     # computed in float32 and rounded as torch's
        else:       # the exp of NumPy and of torch's vectorised kernels differ by an ulp
            tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
            assert np.allclose(g, r, rtol=tol, atol=tol / 100)
            assert np.mean(g != r) < 0.4


def test_single_node_errors_and_second_order():
    F = ember.nn.functional
    with pytest.raises(NotImplementedError, match="leaky_relu_cpu"):
        F.rrelu(ember.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="rrelu_with_noise_out_cpu"):
        F.rrelu(ember.tensor([1, 2]), training=True)
    t = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'target'"):
        F.soft_margin_loss(ember.ones(3), t)
    ember.manual_seed(0)
    y = F.rrelu(ember.randn(50, requires_grad=True), training=True)
    assert type(y.grad_fn).__name__ == "RreluWithNoiseBackward0"
    for fn in (F.glu, lambda x: F.celu(x, 0.7), F.rrelu,
               lambda x: F.soft_margin_loss(x, ember.ones(4, 6, dtype=ember.float64))):
        x = ember.randn(4, 6, dtype=ember.float64, requires_grad=True)
        assert ember.autograd.gradcheck(fn, (x,)) and ember.autograd.gradgradcheck(fn, (x,))
