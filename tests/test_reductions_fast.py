"""Shortcuts in the small-tensor reduction paths (ops/_torch_sum.torch_sum's one-dim dispatch,
softmax/log_softmax, var/std) keep torch's bits: each case here goes through the new path and
compares with torch bit for bit (or, where torch's own float32 exp is an ulp off the correctly
rounded value at times, with ember's in-layout reference algorithm)."""
import numpy as np
import pytest
import torch

import ember

BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _same_bits(a, b):
    """Equal shapes, dtypes and bit patterns (-0.0 != 0.0), any NaN equal to any NaN."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    nan = np.isnan(a)
    if not np.array_equal(nan, np.isnan(b)):
        return False
    ib = BITS[a.itemsize]
    return np.array_equal(a[~nan].view(ib), b[~nan].view(ib))


def _spread(rng, shape, dtype):
    """Values of very different magnitudes (another summation order shows), some -0.0."""
    x = rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 7, shape)
    x[rng.random(shape) < 0.05] = -0.0
    return x.astype(dtype)


# one reduced dim (torch_sum's one-dim dispatch): trailing and leading size-1 dims, the last
# dim, an outer dim, keepdim or not, and the reductions to one number a size-1 rest makes
_ONE_DIM = [((32, 64), 1), ((32, 64), 0), ((32, 64, 1), 1), ((1, 32, 64), 2), ((1, 32, 64), 1),
            ((32, 1, 64), 0), ((5, 300, 1, 1), 1), ((7, 1, 33, 1), 2), ((2, 3, 4, 5), 2),
            ((1, 1000), 1), ((1000, 1), 0), ((64, 1, 1), 0), ((1, 64), 0), ((3, 1), 1),
            ((16, 9, 17), 0), ((8, 1024), 0), ((4, 600), 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", _ONE_DIM)
def test_one_dim_sums_and_means_are_torchs_bits(shape, dim, dtype):
    x = _spread(np.random.default_rng(len(shape) * 100 + dim), shape, dtype)
    for keepdim in (False, True):
        for d in (dim, dim - len(shape)):
            t = torch.from_numpy(x).sum(d, keepdim=keepdim).numpy()
            e = ember.tensor(x).sum(d, keepdim=keepdim)
            assert e.is_contiguous() and _same_bits(e.numpy(), t), (d, keepdim)
            t = torch.from_numpy(x).mean(d, keepdim=keepdim).numpy()
            assert _same_bits(ember.tensor(x).mean(d, keepdim=keepdim).numpy(), t), (d, keepdim)
            t = torch.from_numpy(x).sum((d,), keepdim=keepdim).numpy()
            assert _same_bits(ember.tensor(x).sum((d,), keepdim=keepdim).numpy(), t)


def test_one_dim_sum_of_zeros_is_positive_zero():
    """torch's sums start from +0: a row of -0.0s sums to +0.0 on every path."""
    for shape, dim in _ONE_DIM:
        x = np.full(shape, -0.0, np.float32)
        t = torch.from_numpy(x).sum(dim).numpy()
        assert _same_bits(ember.tensor(x).sum(dim).numpy(), t), (shape, dim)
