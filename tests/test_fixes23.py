"""Mismatches with torch fixed in round 23, compared with torch bit for bit: nan_to_num's
replacements in the narrow floats, the float 2-norm's reduction order, embedding's max_norm
renormalisation, bfloat16 batch norm in training mode."""
import warnings

import numpy as np
import pytest
import torch

import ember


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind != "c" else \
        a.view(np.dtype(f"u{a.dtype.itemsize // 2}"))


def _same(e, t):
    """Same dtype, shape and bits (NaNs with their payloads)."""
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    ea, ta = e.detach(), t.detach()
    if t.dtype == torch.bfloat16:
        ea, ta = ea.view(ember.int16), ta.view(torch.int16)
    np.testing.assert_array_equal(_bits(ea.numpy()), _bits(ta.numpy()))


# ---- nan_to_num: replacements cast to the dtype as torch casts them --------------------------

_FILLS = [65519.999999999, 2049.0000000001, 1.0009765625000001, 1e39, 1e6, 3.4028235e38,
          3.40282356779733661637539395458142568448e38, 1e-50, 3]


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64", "complex64",
                                "complex128"])
def test_nan_to_num_fills_cast_silently_as_torch(dt):
    """torch casts each replacement double to the dtype through float (a float16 2049 + 1e-10
    is 2048, 65519.999999999 is inf) and out of range to inf without a warning; ember cast
    the double straight to float16 (2050, 65504) and NumPy warned of the overflow."""
    x = [float("nan"), float("inf"), -float("inf"), 2.0]
    if dt.startswith("complex"):
        x = [complex(float("nan"), float("inf")), complex(-float("inf"), 1)]
    for v in _FILLS + [None]:
        kw = {} if v is None else dict(nan=v, posinf=v, neginf=-v)
        t = torch.nan_to_num(torch.tensor(x, dtype=getattr(torch, dt)), **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            e = ember.nan_to_num(ember.tensor(x, dtype=getattr(ember, dt)), **kw)
        assert not caught, [str(w.message) for w in caught]
        _same(e, t)
