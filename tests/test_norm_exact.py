"""layer_norm's output and gradients bit for bit as torch's CPU kernel (ember/nn/_norm_exact.py):
normalized sizes across the vector, chunk and cascade boundaries of torch's RowwiseMoments, with
and without weight and bias, in float32 and float64."""
import numpy as np
import pytest
import torch

import ember

SIZES = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 100, 127, 128, 129, 135, 136, 255, 256,
         257, 300, 511, 512, 513, 767, 768, 769, 1001, 2048, 2049, 4097, 5000]


def _run(lib, x, w, b, g, shape):
    tx = lib.tensor(x, requires_grad=True)
    tw = None if w is None else lib.tensor(w, requires_grad=True)
    tb = None if b is None else lib.tensor(b, requires_grad=True)
    y = lib.nn.functional.layer_norm(tx, shape, tw, tb, 1e-5)
    y.backward(lib.tensor(g))
    return [y.detach().numpy(), tx.grad.numpy()] + [t.grad.numpy() for t in (tw, tb)
                                                    if t is not None]


def _same_bits(a, b):
    assert a.shape == b.shape
    assert (a.view(f"u{a.itemsize}") == b.view(f"u{b.itemsize}")).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SIZES)
def test_layer_norm_bits(dtype, n):
    rng = np.random.default_rng(n)
    rows = 1 + n % 7 * 5
    x = (rng.standard_normal((rows, n)) * 3 + 1).astype(dtype)
    g = rng.standard_normal((rows, n)).astype(dtype)
    w, b = rng.standard_normal((2, n)).astype(dtype)
    for ww, bb in ((w, b), (None, None), (w, None), (None, b)):
        for e, t in zip(_run(ember, x, ww, bb, g, [n]), _run(torch, x, ww, bb, g, [n])):
            _same_bits(e, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_bits_batched_shape(dtype):
    """Several leading dims and normalized dims; more rows than threads for the weight's and
    bias's per-thread sums."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 13, 4, 9)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    w, b = rng.standard_normal((2, 4, 9)).astype(dtype)
    for e, t in zip(_run(ember, x, w, b, g, [4, 9]), _run(torch, x, w, b, g, [4, 9])):
        _same_bits(e, t)
