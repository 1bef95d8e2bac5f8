"""A double (a float64 array or a Python float) becomes float16 in torch through float32, so some
values round twice: conversions, writes, fills and the scalars of pointwise ops give torch's
bits, not the correctly rounded ones. (bfloat16 is the upper half of a float32: no double
rounding can differ there, and ml_dtypes converts through float32 too.)"""
import numpy as np
import pytest
import torch

import ember


def _twice_rounded():
    """float64 values whose float32-then-float16 rounding differs from the direct rounding."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(400000) * 3
    direct = a.astype(np.float16).astype(np.float64)
    twice = a.astype(np.float32).astype(np.float16).astype(np.float64)
    hits = a[direct != twice]
    assert hits.size >= 4
    return hits[:64]


_CASES = {
    "tensor(ndarray, dtype)": lambda L, a, v, d: L.tensor(a, dtype=d),
    "tensor(list, dtype)": lambda L, a, v, d: L.tensor(a.tolist(), dtype=d),
    "as_tensor": lambda L, a, v, d: L.as_tensor(a, dtype=d),
    "to": lambda L, a, v, d: L.tensor(a).to(d),
    "copy_": lambda L, a, v, d: L.zeros(len(a), dtype=d).copy_(L.tensor(a)),
    "setitem tensor": lambda L, a, v, d: _put(L.zeros(len(a), dtype=d), slice(None), L.tensor(a)),
    "setitem float": lambda L, a, v, d: _put(L.zeros(2, dtype=d), 0, v),
    "full": lambda L, a, v, d: L.full((2,), v, dtype=d),
    "fill_": lambda L, a, v, d: L.zeros(2, dtype=d).fill_(v),
    "masked_fill": lambda L, a, v, d: L.zeros(2, dtype=d).masked_fill(L.tensor([True, False]), v),
    "index_fill": lambda L, a, v, d: L.zeros(2, dtype=d).index_fill(0, L.tensor([1]), v),
    "clamp": lambda L, a, v, d: L.full((2,), 100.0, dtype=d).clamp(max=v),
    "add": lambda L, a, v, d: L.tensor(a.astype(np.float32)).to(d) + v,
    "sub": lambda L, a, v, d: L.tensor(a.astype(np.float32)).to(d) - v,
    "rsub": lambda L, a, v, d: v - L.tensor(a.astype(np.float32)).to(d),
    "lt": lambda L, a, v, d: L.tensor(a.astype(np.float32)).to(d) < v,
    "remainder": lambda L, a, v, d: L.tensor(a.astype(np.float32)).to(d) % v,
}


def _put(t, idx, value):
    t[idx] = value
    return t


@pytest.mark.parametrize("case", list(_CASES))
def test_double_to_half_like_torch(case):
    a = _twice_rounded()
    for v in a[:4].tolist():
        e = _CASES[case](ember, a, v, ember.float16)
        t = _CASES[case](torch, a, v, torch.float16)
        assert str(e.dtype) == str(t.dtype)
        assert np.array_equal(e.double().numpy(), t.double().numpy(), equal_nan=True), v
