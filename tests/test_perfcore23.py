"""The small-tensor fast paths of reductions, softmax and sorting (perf session 23) against
torch: values bit for bit, dtype, shape and strides, over the shapes and dtypes that take them
(full sums and means, sums over the last dim, std/var with Welford steps of up to 64 elements,
float32 softmax/log_softmax over the last dim with and without grad, one-row and many-row sorts
and topk). softmax and log_softmax compare within the oracle's tolerance: ember's float32 exp
(float64, rounded) is an ulp off torch's vectorised one in places (before these fast paths too;
scripts/check_reduce_equiv.py checks that the fast paths change no bit)."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close

SHAPES = [(64,), (32, 64), (3, 5), (7, 33), (2, 3, 16), (1, 64), (64, 1), (4, 0), (0,),
          (2, 1, 9), (1,), (5, 127)]
FLOATS = ["float32", "float64", "float16", "bfloat16"]


def _pair(shape, dtype, seed=0, layout="c"):
    a = np.random.default_rng(seed).standard_normal(shape) * 3
    t = torch.tensor(a).to(getattr(torch, dtype))
    e = ember.tensor(a).to(getattr(ember, dtype))
    if layout == "t" and len(shape) >= 2:       # a transposed view of a contiguous tensor
        t = t.transpose(0, -1).contiguous().transpose(0, -1)
        e = e.transpose(0, -1).contiguous().transpose(0, -1)
    return t, e


def _same(t, e, exact=True):
    """dtype, shape and strides as torch's; the values bit for bit (else within tolerance)."""
    if isinstance(t, tuple):
        assert len(t) == len(e)
        for a, b in zip(t, e):
            _same(a, b, exact)
        return
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.stride() == t.stride()
    if not exact:
        assert_close(e, t)
        return
    tv = t.detach().contiguous()
    if tv.dtype == torch.bfloat16:
        tv = tv.view(torch.int16)
    ev = np.ascontiguousarray(e.detach().arr)
    assert ev.tobytes() == tv.numpy().tobytes(), (ev, tv)


def _both(f, t, e, exact=True):
    _same(f(t), f(e), exact)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["c", "t"])
def test_full_sum_and_mean(shape, dtype, layout):
    t, e = _pair(shape, dtype, layout=layout)
    _both(lambda x: x.sum(), t, e)
    _both(lambda x: x.mean(), t, e)
    _both(lambda x: x.sum(dtype=x.dtype), t, e)


@pytest.mark.parametrize("shape", [s for s in SHAPES if len(s) >= 1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_last_dim_sum_and_mean(shape, dtype, keepdim):
    t, e = _pair(shape, dtype, 1)
    _both(lambda x: x.sum(-1, keepdim=keepdim), t, e)
    if shape[-1]:
        _both(lambda x: x.mean(-1, keepdim=keepdim), t, e)


def test_full_sum_of_negative_zeros_is_positive():
    t = torch.full((32, 64), -0.0)
    e = ember.full((32, 64), -0.0)
    _both(lambda x: x.sum(), t, e)
    _both(lambda x: x.mean(), t, e)


@pytest.mark.parametrize("shape", [(32, 64), (7, 33), (2, 3, 16), (1, 64), (5, 1), (3, 64, 2)])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_std_var_welford_steps(shape, dtype, correction, keepdim):
    t, e = _pair(shape, dtype, 2)
    for dim in range(len(shape)):
        if dtype == "bfloat16" and shape[dim] <= correction:
            continue        # (no degrees of freedom: test_bfloat16_var_without_dof_nan_sign)
        _both(lambda x: x.std(dim, correction=correction, keepdim=keepdim), t, e)
        _both(lambda x: x.var(dim, correction=correction, keepdim=keepdim), t, e)


@pytest.mark.xfail(strict=True, reason="bfloat16 var/std with no degrees of freedom (a dim of "
                   "size <= correction): ember's NaN is negative (0xffc0), torch's positive "
                   "(0x7fc0); float16 and float32 give torch's NaN (pre-existing, not a fast path)")
def test_bfloat16_var_without_dof_nan_sign():
    t, e = _pair((64, 1), "bfloat16", 2)
    _both(lambda x: x.var(1), t, e)


@pytest.mark.parametrize("dtype", FLOATS)
def test_var_mean_welford_steps(dtype):
    t, e = _pair((6, 40), dtype, 3)
    _both(lambda x: tuple(torch.var_mean(x, 1) if x is t else ember.var_mean(x, 1)), t, e)


SOFTMAX_SHAPES = [(32, 64), (64,), (7, 33), (2, 5, 16), (3, 8), (3, 9), (100, 65), (4, 300),
                  (1, 1), (2, 0)]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_last_dim(shape, dtype, name):
    t, e = _pair(shape, dtype, 4)
    _both(lambda x: getattr(x, name)(-1), t, e, exact=False)
    if len(shape) >= 2:
        _both(lambda x: getattr(x, name)(0), t, e, exact=False)


@pytest.mark.parametrize("shape", [(32, 64), (7, 33), (3, 9), (100, 65)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_last_dim_with_grad(shape, name):
    t, e = _pair(shape, "float32", 5)
    t.requires_grad_(True)
    e.requires_grad_(True)
    yt, ye = getattr(t, name)(-1), getattr(e, name)(-1)
    _same(yt, ye, exact=False)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    g = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    yt.backward(torch.tensor(g))
    ye.backward(ember.tensor(g))
    _same(t.grad, e.grad, exact=False)


def test_softmax_nonfinite_rows():
    a = np.zeros((4, 16), np.float32)
    a[0, 3] = np.inf
    a[1, :] = -np.inf
    a[2, 5] = np.nan
    a[3, [1, 7]] = np.inf
    for name in ("softmax", "log_softmax"):
        _both(lambda x: getattr(x, name)(1), torch.tensor(a), ember.tensor(a), exact=False)


def test_softmax_refusals_unchanged():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="softmax_lastdim_kernel_impl"):
            lib.ones(3, 4, dtype=lib.int64).softmax(1)
        with pytest.raises(RuntimeError, match="log_softmax_kernel_impl"):
            lib.ones(3, 4, dtype=lib.int32).log_softmax(0)


@pytest.mark.parametrize("n", [1, 5, 16, 17, 64, 200])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
@pytest.mark.parametrize("descending", [False, True])
def test_one_row_sort(n, dtype, descending):
    t, e = _pair((4, n), dtype, 7)
    _both(lambda x: tuple(x[0].sort(descending=descending)), t, e)
    _both(lambda x: tuple(x[1:2].sort(1, descending=descending)), t, e)
    _both(lambda x: x[2].argsort(descending=descending, stable=True), t, e)


def test_one_row_sort_with_ties():
    a = np.round(np.random.default_rng(8).standard_normal(64))     # many equal values
    _both(lambda x: tuple(x.sort()), torch.tensor(a), ember.tensor(a))
    _both(lambda x: tuple(x.sort(descending=True)), torch.tensor(a), ember.tensor(a))
    _both(lambda x: tuple(x.topk(10)), torch.tensor(a), ember.tensor(a))


@pytest.mark.parametrize("shape", [(32, 64), (1, 64), (64,), (5, 20), (3, 7, 40)])
@pytest.mark.parametrize("k", [1, 5, 10])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_small(shape, k, largest):
    t, e = _pair(shape, "float32", 9)
    _both(lambda x: tuple(x.topk(k, -1, largest)), t, e)
    _both(lambda x: tuple(x.sort(-1)), t, e)


@pytest.mark.parametrize("shape", [(64,), (4, 64), (3, 2, 20)])
@pytest.mark.parametrize("stable", [False, True])
def test_sort_values_and_grad(shape, stable):
    """sort's values come from the tie check's gather along the last dim (unstable sort):
    the same values, strides and gradient as torch's."""
    t, e = _pair(shape, "float32", 10)
    t.requires_grad_(True)
    e.requires_grad_(True)
    yt, ye = t.sort(dim=-1, stable=stable), e.sort(dim=-1, stable=stable)
    _same(tuple(yt), tuple(ye))
    g = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    yt.values.backward(torch.tensor(g))
    ye.values.backward(ember.tensor(g))
    _same(t.grad, e.grad)
