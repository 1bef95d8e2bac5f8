"""layer_norm's output and gradients bit for bit as torch's CPU kernel (ember/nn/_norm_exact.py,
on with EMBER_EXACT_NORMS=1): normalized sizes across the vector, chunk and cascade boundaries
of torch's RowwiseMoments, with and without weight and bias, in float32 and float64."""
import numpy as np
import pytest
import torch

import ember
from ember.nn import _norm_ops


@pytest.fixture(autouse=True)
def _exact_norms(monkeypatch):
    """The exact kernels are opt-in (EMBER_EXACT_NORMS=1): on for these tests."""
    monkeypatch.setattr(_norm_ops, "EXACT", True)


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


GROUP_CASES = [((4, 6, 5), 3), ((3, 8, 4, 5), 4), ((2, 32, 7, 7), 8), ((5, 12, 33), 4),
               ((2, 10, 3, 3, 3), 5), ((3, 40, 9), 2), ((2, 72, 13), 4), ((2, 16, 300), 4),
               ((2, 64, 10, 10), 32), ((4, 3, 1000), 3)]


def _run_group(lib, x, groups, w, b, g):
    tx = lib.tensor(x, requires_grad=True)
    tw = None if w is None else lib.tensor(w, requires_grad=True)
    tb = None if b is None else lib.tensor(b, requires_grad=True)
    y = lib.nn.functional.group_norm(tx, groups, tw, tb, 1e-5)
    y.backward(lib.tensor(g))
    n, c = x.shape[:2]
    stats = lib.native_group_norm(lib.tensor(x), None, None, n, c, x[0, 0].size, groups, 1e-5)
    return [y.detach().numpy(), tx.grad.numpy(), stats[1].numpy(), stats[2].numpy()] + [
        t.grad.numpy() for t in (tw, tb) if t is not None]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,groups", GROUP_CASES)
def test_group_norm_bits(dtype, shape, groups):
    """Contiguous input (a single group in all: test_group_norm_single_group)."""
    rng = np.random.default_rng(len(shape) * 100 + shape[1])
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w, b = rng.standard_normal((2, shape[1])).astype(dtype)
    # (torch's backward fails with a bias but no weight: "tensor does not have a device")
    for ww, bb in ((w, b), (None, None), (w, None)):
        for e, t in zip(_run_group(ember, x, groups, ww, bb, g),
                        _run_group(torch, x, groups, ww, bb, g)):
            _same_bits(e, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_norm_single_group(dtype):
    """A single group in all (N * groups == 1): torch's loop over the leftover channels runs in
    the copy compiled outside its thread pool, vectorized 16 bytes at a time."""
    bad = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        c, hw = int(rng.integers(2, 20)), int(rng.integers(5, 60))
        x = rng.standard_normal((1, c, hw)).astype(dtype)
        g = rng.standard_normal(x.shape).astype(dtype)
        w = rng.standard_normal(c).astype(dtype)
        e, t = (_run_group(lib, x, 1, w, None, g)[1] for lib in (ember, torch))
        bad += not (e == t).all()
    assert bad == 0


BATCH_SHAPES = [(4, 6, 5), (3, 8, 4, 5), (2, 32, 7, 7), (5, 12, 33), (8, 3, 100), (16, 4, 2, 2)]


def _run_batch(lib, fn, x, w, b, g, rm, rv):
    tx = lib.tensor(x, requires_grad=True)
    tw = None if w is None else lib.tensor(w, requires_grad=True)
    tb = None if b is None else lib.tensor(b, requires_grad=True)
    trm = None if rm is None else lib.tensor(rm)
    trv = None if rv is None else lib.tensor(rv)
    if fn == "batch_norm":
        y = lib.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.1, 1e-5)
    else:
        y = lib.nn.functional.instance_norm(tx, trm, trv, tw, tb, True, 0.1, 1e-5)
    y.backward(lib.tensor(g))
    return [y.detach().numpy(), tx.grad.numpy()] + [t.grad.numpy() for t in (tw, tb)
                                                    if t is not None] + \
        [t.numpy() for t in (trm, trv) if t is not None]


def _batch_case(fn, dtype, shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w, b, rm = rng.standard_normal((3, shape[1])).astype(dtype)
    rv = (rng.random(shape[1]) + 0.5).astype(dtype)
    for args in ((w, b, rm, rv), (None, None, None, None)):
        w_, b_, rm_, rv_ = args
        for e, t in zip(_run_batch(ember, fn, x, w_, b_, g, rm_, rv_),
                        _run_batch(torch, fn, x, w_, b_, g, rm_, rv_)):
            _same_bits(e, t)


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_instance_norm_bits_float32(fn, shape):
    """Training mode on contiguous input with more than one element a channel a sample: output,
    gradients and running statistics."""
    _batch_case(fn, "float32", shape)


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
@pytest.mark.parametrize("shape", [(1, 64, 7), (3, 5, 3, 3), (4, 6, 8)])
def test_batch_instance_norm_bits_float64(fn, shape):
    """float64, odd element counts a sample included (GCC's fused last square)."""
    _batch_case(fn, "float64", shape)



def test_layer_norm_signed_zeros():
    """An infinite variance (rstd 0): torch's loop adds the absent bias, 0, so the zeros are
    +0.0 whatever the signs of x - mean and the weight."""
    x = (np.random.default_rng(1).standard_normal((5, 300)) * 1e30).astype("float32")
    w = np.random.default_rng(2).standard_normal(300).astype("float32")
    for ww in (None, w):
        e, t = (_run(lib, x, ww, None, np.ones_like(x), [300])[0] for lib in (ember, torch))
        _same_bits(e, t)
