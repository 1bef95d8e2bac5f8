"""torch.nn.grad (F.grad): conv1d/2d/3d input and weight gradients from the output's gradient,
their values and their own gradients, against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


def _run(lib, dims, kw):
    rng = np.random.default_rng(dims)

    def t(*shape):
        return lib.tensor(rng.standard_normal(shape), dtype=lib.float64, requires_grad=True)
    F = lib.nn.functional
    conv = getattr(F, f"conv{dims}d")
    x, w = t(2, 4, *(7 if dims < 3 else 5,) * dims), t(6, 4 // kw["groups"], *(3,) * dims)
    go = t(*conv(x, w, None, **kw).shape)
    gi = getattr(lib.nn.grad, f"conv{dims}d_input")(x.shape, w, go, **kw)
    gw = getattr(F.grad, f"conv{dims}d_weight")(x, w.shape, go, **kw)
    ((gi * gi).sum() + (gw * gw).sum()).backward()
    expected = lib.autograd.grad(conv(x, w, None, **kw), (x, w), go)
    return gi, gw, go.grad, w.grad, x.grad, expected[0], expected[1]


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("kw", [dict(stride=1, padding=0, dilation=1, groups=1),
                                dict(stride=2, padding=1, dilation=2, groups=2)])
def test_conv_gradients_as_torch(dims, kw):
    ours, theirs = _run(ember, dims, kw), _run(torch, dims, kw)
    for a, b in zip(ours, theirs):
        assert_close(a, b)
    for a, b in ((ours[0], ours[5]), (ours[1], ours[6])):   # the gradients autograd gives
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


def test_no_graph_without_grad_and_names():
    with ember.no_grad():
        g = ember.nn.grad.conv2d_input((1, 1, 3, 3), ember.ones(1, 1, 1, 2, requires_grad=True),
                                       ember.ones(1, 1, 3, 2))
    assert not g.requires_grad and g.shape == (1, 1, 3, 3)
    assert ember.nn.functional.grad is ember.nn.grad
    assert ember.nn.grad.conv3d_weight.__name__ == torch.nn.grad.conv3d_weight.__name__
