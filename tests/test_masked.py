"""torch.masked's reductions and normalizations (strided tensors) against torch: values, dtypes
and shapes with masks that broadcast, cover whole lanes or nothing, gradients, and errors."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

_X = np.array([[1.5, -2.0, 3.0, 0.5], [4.0, 0.25, -1.0, 2.0], [-3.0, 1.0, 2.5, -0.75]])
_MASKS = {
    "rows": [[True, False, True, True], [False, False, False, False], [True, True, False, True]],
    "broadcast": [[True, False, True, False]],
    "all": [[True] * 4] * 3,
}
_REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var", "std"]


def _x(lib, dtype):
    return lib.tensor(_X).to(getattr(lib, dtype))


def _m(lib, which):
    return lib.tensor(_MASKS[which])


def _run(lib, name, dtype, mask, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(lib.masked, name)(_x(lib, dtype), mask=_m(lib, mask), **kwargs)


_CASES = [(name, dt, m, kw) for name in _REDUCTIONS for dt in ("float32", "float64")
          for m in _MASKS for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True})]
_CASES += [(name, "float64", m, kw) for name in ("cumsum", "cumprod", "softmax", "log_softmax",
                                                 "softmin")
           for m in _MASKS for kw in ({"dim": 1}, {"dim": 0})]
_CASES += [(name, dt, "rows", kw) for name in ("sum", "prod", "amax", "amin", "argmax", "argmin")
           for dt in ("int64", "int32", "uint8") for kw in ({}, {"dim": 1})]
_CASES += [("norm", "float64", m, kw) for m in _MASKS
           for kw in ({}, {"ord": 1, "dim": 1}, {"ord": math.inf, "dim": 0},
                      {"ord": -math.inf, "dim": 1})]
_CASES += [("median", dt, m, {"dim": 1}) for dt in ("float64", "int64") for m in _MASKS]
_CASES += [("normalize", "float64", m, {"ord": 2, "dim": 1}) for m in _MASKS]
_CASES += [("argmax", "float64", "rows", {"dim": 1}), ("argmin", "float32", "rows", {"dim": 0}),
           ("var", "float64", "rows", {"dim": 1, "correction": 0}),
           ("std", "float64", "rows", {"dim": 1, "unbiased": False}),
           ("sum", "float32", "rows", {"dim": (0, 1), "dtype": "float64"}),
           ("mean", "int64", "rows", {}), ("amax", "bool", "rows", {}),
           ("sum", "float32", "rows", {"dim": (1, 1)}), ("sum", "float32", "rows", {"dim": 2})]


@pytest.mark.parametrize("name,dtype,mask,kwargs", _CASES, ids=str)
def test_masked_operation_like_torch(name, dtype, mask, kwargs):
    def run(lib):
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        return _run(lib, name, dtype, mask, kw)
    got, want = _outcome(lambda: run(ember)), _outcome(lambda: run(torch))
    if dtype == "float32" and got[0] == want[0] == "ok":    # (float32 rounding: within an ulp)
        assert got[1][:2] == want[1][:2]
        np.testing.assert_allclose(run(ember).numpy(), run(torch).numpy(), rtol=3e-7)
    else:
        assert got == want


def test_masked_logaddexp_and_gradients_like_torch():
    def run(lib):
        x = lib.tensor(_X, requires_grad=True)
        m = _m(lib, "rows")
        y = lib.masked.logaddexp(x, x.flip(0), input_mask=m, other_mask=m.flip(1))
        s = lib.masked.softmax(x, 1, mask=m)
        t = lib.masked.sum(x, 1, mask=m)
        (y.nan_to_num(0, 0, 0).sum() + (s * lib.arange(4.)).sum() + t.sum()).backward()
        return y, s, x.grad
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_masked_mask_checks_like_torch():
    for bad in (lambda L: L.masked.sum(L.ones(2, 3)),
                lambda L: L.masked.sum(L.ones(3), mask=L.ones(2, 3, dtype=L.bool)),
                lambda L: L.masked.mean(L.ones(3, dtype=L.long), mask=L.ones(3, dtype=L.bool))):
        e, t = _outcome(lambda: bad(ember)), _outcome(lambda: bad(torch))
        assert e[0] == t[0], (e, t)
