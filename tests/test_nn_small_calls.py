"""Small-input fast paths of common layers (embedding's one-reduction index check, GELU's
direct clip ufunc, layer_norm's in-place statistics) keep torch's values, dtypes and errors."""
import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize("dtype", ["int64", "int32"])
@pytest.mark.parametrize("idx", [[1, 2, 3], [-1], [10], [0, 9], [[1, 2], [3, -11]], [5, -3]])
def test_embedding_index_range(dtype, idx):
    w = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    out = []
    for lib in (torch, ember):
        i = lib.tensor(idx, dtype=getattr(lib, dtype))
        try:
            out.append(lib.nn.functional.embedding(i, lib.tensor(w)).numpy())
        except Exception as e:       # noqa: BLE001 (the class and message are compared)
            out.append((type(e).__name__, str(e)))
    if isinstance(out[0], tuple):
        assert out[0] == out[1]
    else:
        np.testing.assert_array_equal(out[0], out[1])


def test_embedding_index_layouts():
    w = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[0, 5], [2, 3], [4, 1]])
    for make in (lambda m: m.tensor(idx).t(), lambda m: m.tensor(idx)[::2],
                 lambda m: m.tensor(4), lambda m: m.tensor(idx)[:0]):
        a = torch.nn.functional.embedding(make(torch), torch.tensor(w))
        b = ember.nn.functional.embedding(make(ember), ember.tensor(w))
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(IndexError, match="index out of range in self"):
        ember.nn.functional.embedding(ember.tensor(idx).t() - 1, ember.tensor(w))


def test_gelu_small_bits():
    x = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 5.7, -5.7, 6.0, -6.0, 1e-30, -1e-30,
                  3.0e38, -3.0e38, 0.5, -0.5, 1.0], np.float32)
    x = np.concatenate([x, np.random.default_rng(2).standard_normal(48).astype(np.float32)])
    for shape in ((64,), (4, 16)):
        a = torch.nn.GELU()(torch.tensor(x.reshape(shape))).numpy()
        b = ember.nn.GELU()(ember.tensor(x.reshape(shape))).numpy()
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        ok = ~np.isnan(a)
        a, b, xs = a[ok], b[ok], x[ok.reshape(-1)]
        with np.errstate(invalid="ignore"):      # (a few ulp of x: erf's rational, as documented)
            close = (a == b) | (np.abs(a - b) <= 4 * np.spacing(np.abs(xs)))
        assert close.all(), (a, b)
        np.testing.assert_array_equal(np.signbit(a[a == 0]), np.signbit(b[a == 0]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("eps", [1e-5, np.float64(1e-3)])
def test_layer_norm_small(dtype, eps):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16)).astype(dtype) * 3 + 1
    w, b = rng.standard_normal(16).astype(dtype), rng.standard_normal(16).astype(dtype)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.layer_norm(xt, (16,), wt, bt, eps)
        y.backward(lib.tensor(rng.standard_normal((4, 16)).astype(dtype)) * 0 + 1)
        res.append((y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(),
                    type(y.grad_fn).__name__, str(y.dtype).split(".")[-1]))
    assert res[0][4:] == res[1][4:]
    tol = 1e-6 if dtype == "float32" else 1e-14
    for a, b in zip(res[0][:4], res[1][:4]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
