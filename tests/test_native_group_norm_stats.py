"""torch.native_group_norm's mean and rstd are outputs of its NativeGroupNormBackward0 node, as
torch's: they require grad with the input, and their gradients reach the input only when both
receive one (torch's infinitely_differentiable_native_group_norm_backward)."""
import numpy as np
import pytest
import torch

import ember


def _inputs(L, requires=(True, True, True)):
    rng = np.random.default_rng(0)
    return [L.tensor(rng.standard_normal(s)).requires_grad_(r)
            for s, r in zip([(2, 4, 3), (4,), (4,)], requires)]


@pytest.mark.parametrize("requires", [(True, True, True), (False, True, False),
                                      (True, False, False)])
def test_statistics_are_outputs_of_the_node_like_torch(requires):
    def run(L):
        x, w, b = _inputs(L, requires)
        return [(o.requires_grad, o.is_leaf, type(o.grad_fn).__name__, tuple(o.shape))
                for o in L.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5)]
    assert run(ember) == run(torch)


@pytest.mark.parametrize("outputs", [(1,), (2,), (1, 2), (0, 1), (0, 1, 2)])
def test_gradients_through_the_statistics_like_torch(outputs):
    def run(L):
        x, w, b = _inputs(L)
        out = L.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5)
        rng = np.random.default_rng(1)
        grads = [L.tensor(rng.standard_normal(tuple(o.shape))) for o in out]
        got = L.autograd.grad([out[i] for i in outputs], (x, w, b),
                              [grads[i] for i in outputs], allow_unused=True)
        return [None if g is None else g.detach().numpy() for g in got]
    for got, want in zip(run(ember), run(torch)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_statistics_tangents_like_torch():
    def run(L):
        x, w, _ = _inputs(L, (False, False, False))
        tangent = L.tensor(np.random.default_rng(2).standard_normal((2, 4, 3)))
        with L.autograd.forward_ad.dual_level():
            out = L.native_group_norm(L.autograd.forward_ad.make_dual(x, tangent), w, None,
                                      2, 4, 3, 2, 1e-5)
            return [L.autograd.forward_ad.unpack_dual(o).tangent.numpy() for o in out]
    for got, want in zip(run(ember), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
