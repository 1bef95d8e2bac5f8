"""float32 batch norm bit for bit against torch's CPU kernels: the training output, the saved
statistics (torch.native_batch_norm's outputs 1 and 2), the running statistics and the
evaluation output. (N, C) input's statistics depend on the thread count (torch sums each
thread's chunk of rows in float32): those tests set the same count in both."""
import numpy as np
import pytest
import torch

import ember

# (8, 16, 24, 24): over 2**16 elements, the output is computed a few samples at a time
SHAPES = [(8, 16, 24, 24), (8, 16, 5, 7), (4, 3, 10), (2, 5, 3, 3, 3), (128, 8, 4)]
MODULES = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}


def _data(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1.5).astype(np.float32)
    w, b, rm = (rng.standard_normal(c).astype(np.float32) for _ in range(3))
    rv = (rng.random(c) + 0.5).astype(np.float32)
    return x, w, b, rm, rv


def _module_run(L, data, train):
    x, w, b, rm, rv = data
    m = getattr(L.nn, MODULES[x.ndim])(x.shape[1], momentum=0.3)
    with L.no_grad():
        for p, v in ((m.weight, w), (m.bias, b), (m.running_mean, rm), (m.running_var, rv)):
            p.copy_(L.tensor(v))
    m.train(train)
    y = m(L.tensor(x))
    return [a.detach().numpy() for a in (y, m.running_mean, m.running_var)]


def _native_run(L, data, affine):
    x, w, b, rm, rv = data
    params = (L.tensor(w), L.tensor(b)) if affine else (None, None)
    out = L.native_batch_norm(L.tensor(x), *params, L.tensor(rm), L.tensor(rv), True, 0.1, 1e-5)
    return [t.numpy() for t in out]


def _assert_bitwise(got, want):
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g.view(np.int32), w.view(np.int32))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("train", [True, False])
def test_module_output_and_running_stats_bitwise(shape, train):
    data = _data(shape, 0)
    _assert_bitwise(_module_run(ember, data, train), _module_run(torch, data, train))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_native_batch_norm_saved_stats_bitwise(shape, affine):
    data = _data(shape, 1)
    _assert_bitwise(_native_run(ember, data, affine), _native_run(torch, data, affine))


@pytest.fixture
def same_threads():
    before = torch.get_num_threads(), ember.get_num_threads()

    def set_both(n):
        # ember's first: it limits the BLAS pools (threadpoolctl), which resets torch's count
        ember.set_num_threads(n)
        torch.set_num_threads(n)
    yield set_both
    ember.set_num_threads(before[1])
    torch.set_num_threads(before[0])


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape", [(32, 24), (7, 10), (2, 5), (31, 1), (9, 6, 1)])
def test_rows_input_bitwise(same_threads, threads, shape):
    """(N, C) input (and (N, C, 1)): torch's channels-last kernel, whose float32 partial sums
    follow the thread count (ember matches it up to 32 rows a thread)."""
    same_threads(threads)
    data = _data(shape, 2)
    _assert_bitwise(_module_run(ember, data, True), _module_run(torch, data, True))
    _assert_bitwise(_native_run(ember, data, True), _native_run(torch, data, True))


def test_gradients_still_match_torch():
    data = _data((8, 4, 6, 6), 3)
    grads = []
    for L in (ember, torch):
        x = L.tensor(data[0], requires_grad=True)
        m = L.nn.BatchNorm2d(4)
        (m(x) * L.tensor(data[0])).sum().backward()
        grads.append([t.numpy() for t in (x.grad, m.weight.grad, m.bias.grad)])
    for g, w in zip(*grads):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_large_instance_norm_still_matches_torch():
    """Instance norm's per-sample statistics through the blocked output of large inputs."""
    x = _data((8, 16, 24, 24), 4)[0]
    got, want = (L.nn.InstanceNorm2d(16, affine=True)(L.tensor(x)).detach().numpy()
                 for L in (ember, torch))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
