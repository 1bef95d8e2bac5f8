"""Complex pow and add as torch's CPU kernels compute them, checked bit for bit (NaNs as NaNs):
pow with a tensor exponent (or a scalar one other than torch's shortcuts) is C's cpow,
exp(b * log(a)) with C's complex product, so 0 ** 0 is NaN; add, sub and rsub compute
self + alpha * other with a complex alpha even for alpha=1, so an infinite part turns the other
part of the sum to NaN."""
import numpy as np
import pytest
import torch

import ember

_VALUES = [0, -0.0, 1, -1, 2, 0.5, -2.5, 3, np.inf, -np.inf, np.nan, 1e-30, 1e30]
_GRID = np.array([complex(r, i) for r in _VALUES for i in _VALUES])


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype

    def part(p, q):
        return (p == q) & (np.signbit(p) == np.signbit(q)) | np.isnan(p) & np.isnan(q)
    bad = ~(part(got.real, want.real) & part(got.imag, want.imag))
    assert not bad.any(), (got[bad][:5], want[bad][:5])


def _grid_pairs(dtype):
    a = np.repeat(_GRID, len(_GRID))
    b = np.tile(_GRID, len(_GRID))
    rng = np.random.default_rng(1)
    a = np.concatenate([a, rng.standard_normal(300) * 3 + 1j * rng.standard_normal(300)])
    b = np.concatenate([b, rng.integers(-5, 6, 300) + 1j * (rng.random(300) < 0.5)
                        * rng.standard_normal(300)])
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_pow_with_a_tensor_exponent_like_torch(dtype):
    a, b = _grid_pairs(dtype)
    _same(ember.pow(ember.from_numpy(a), ember.from_numpy(b)).numpy(),
          torch.pow(torch.from_numpy(a), torch.from_numpy(b)).numpy())


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("exponent", [1, 4, -3, 10, 1.5, 1 + 1j])
def test_pow_with_a_scalar_exponent_like_torch(dtype, exponent):
    a = np.concatenate([_GRID, np.random.default_rng(2).standard_normal(100) * (1 + 2j)])
    a = a.astype(dtype)
    _same((ember.from_numpy(a) ** exponent).numpy(), (torch.from_numpy(a) ** exponent).numpy())


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("base", [0, 0.0, 1j])
def test_scalar_to_the_power_of_a_complex_tensor_like_torch(dtype, base):
    x = np.array([0j, 1, 2j, -1.5 + 0.5j, complex(0, -0.0)], dtype)
    _same((base ** ember.from_numpy(x)).numpy(), (base ** torch.from_numpy(x)).numpy())


_ADDS = {
    "x + y": lambda x, y: x + y, "x - y": lambda x, y: x - y,
    "add alpha=1": lambda x, y: x.add(y, alpha=1), "sub": lambda x, y: x.sub(y),
    "rsub": lambda x, y: x.__rsub__(y), "add_": lambda x, y: x.clone().add_(y),
    "scalar": lambda x, y: x + complex(float("inf"), 0), "real float": lambda x, y: x - 1e300,
}


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("case", list(_ADDS))
def test_add_sub_with_infinite_parts_like_torch(dtype, case):
    a, b = _grid_pairs(dtype)
    _same(_ADDS[case](ember.from_numpy(a), ember.from_numpy(b)).numpy(),
          _ADDS[case](torch.from_numpy(a), torch.from_numpy(b)).numpy())
