"""ember's CUDA-only code paths against torch on the CPU, on every device.

On cpu and mock these hold trivially; under the fake CuPy (EMBER_FAKE_CUPY=1, tests/fake_cupy,
which test_fake_cupy.py runs in a subprocess) the `cuda` cases take the branches that only CuPy
arrays reach: each test here failed there before its fix."""
import numpy as np
import pytest
import torch

import ember
from oracle import host

_X = np.arange(20, dtype=np.float32).reshape(4, 5) - 7
_I = np.array([[0, 1, 1], [2, 0, 2]])
_V = np.array([3.0, 4.0, 5.0], np.float32)


def test_randperm_on_device_is_a_permutation(device):
    # CuPy's Generator has no permutation(): randperm on CUDA raised AttributeError
    for n in (0, 1, 7, 100):
        p = ember.randperm(n, device=device)
        assert p.device.type == device and p.dtype == ember.int64 and p.shape == (n,)
        np.testing.assert_array_equal(np.sort(host(p)), torch.randperm(n).sort().values.numpy())
    g = ember.Generator(device).manual_seed(3)
    a = host(ember.randperm(50, device=device, generator=g))
    g.manual_seed(3)
    np.testing.assert_array_equal(a, host(ember.randperm(50, device=device, generator=g)))


@pytest.mark.parametrize("view", ["rows", "cols", "both", "transposed", "flat", "whole"])
def test_storage_offset_of_device_views(view, device):
    # CuPy arrays have no __array_interface__: every CUDA view reported storage offset 0
    pick = {"rows": lambda t: t[1:], "cols": lambda t: t[:, 2:], "both": lambda t: t[2:, 3:],
            "transposed": lambda t: t.T[3], "flat": lambda t: t.reshape(-1)[7:],
            "whole": lambda t: t}[view]
    e, t = pick(ember.tensor(_X, device=device)), pick(torch.tensor(_X))
    assert e.storage_offset() == t.storage_offset()
    assert e.stride() == t.stride()


def _coo(lib, device=None):
    kw = {} if device is None else {"device": device}
    return lib.sparse_coo_tensor(lib.tensor(_I, **kw), lib.tensor(_V, **kw), (2, 3))


_SPARSE = {
    "coo_matmul": lambda lib, d, T: _coo(lib, d) @ T(_X[:3]),
    "matmul_coo": lambda lib, d, T: T(_X[:, :2]) @ _coo(lib, d),
    "csr_matmul": lambda lib, d, T: T(_X).to_sparse_csr() @ T(_X.T),
    "csr_matvec": lambda lib, d, T: T(_X).to_sparse_csr() @ T(_X[0]),
    "dense_plus_coo": lambda lib, d, T: T(_X[:2, :3]) + _coo(lib, d),
    "dense_minus_coo": lambda lib, d, T: T(_X[:2, :3]) - _coo(lib, d),
    "addmm": lambda lib, d, T: lib.addmm(T(_X[:2, :2]), _coo(lib, d), T(_X[:3, :2])),
    "sparse_sparse_mm": lambda lib, d, T: lib.sparse.mm(
        _coo(lib, d), lib.sparse_coo_tensor(T(_I), T(_V), (3, 3))).to_dense(),
}


@pytest.mark.parametrize("case", list(_SPARSE))
def test_sparse_dense_products_and_sums_on_device(case, device):
    # CuPy's matmul and operators refuse ember's sparse arrays (NumPy's dispatch to them through
    # __array_ufunc__): each of these raised TypeError on CUDA
    fn = _SPARSE[case]
    e = fn(ember, device, lambda a: ember.tensor(a, device=device))
    t = fn(torch, None, torch.tensor)
    assert e.device.type == device and e.layout == ember.strided
    np.testing.assert_allclose(host(e), t.numpy(), rtol=1e-6)


def test_sparse_gradients_accumulate_on_device(device):
    # the engine's dense += sparse gradient and the sparse @ dense backward on CUDA
    def run(lib, T):
        s = lib.sparse_coo_tensor(T(_I), T(_V), (2, 3)).requires_grad_()
        d = T(_X[:3]).requires_grad_()
        y = lib.sparse.mm(s, d)
        (y * T(_X[:2])).sum().backward()
        w = T(_X[:2, :3]).requires_grad_()
        (w + s.detach()).sum().backward()
        (w * 2).sum().backward()
        return y, s.grad.to_dense(), d.grad, w.grad
    e = run(ember, lambda a: ember.tensor(a, device=device))
    t = run(torch, torch.tensor)
    for x, y in zip(e, t):
        assert x.device.type == device
        np.testing.assert_allclose(host(x), y.detach().numpy(), rtol=1e-6)


def test_numpy_conversion_of_device_tensors(device):
    # torch's __array__ is numpy(): np.asarray of a CUDA tensor is a TypeError, not a copy
    # (ember copied CUDA tensors to the host silently)
    e, t = ember.tensor(_X, device=device), torch.tensor(_X)
    if device == "cuda":
        for convert in (np.asarray, np.array, lambda x: x.__array__()):
            with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to "
                                                "numpy. Use Tensor.cpu()"):
                convert(e)
        np.testing.assert_array_equal(np.asarray(e.cpu()), np.asarray(t))
    else:
        np.testing.assert_array_equal(np.asarray(e), np.asarray(t))
