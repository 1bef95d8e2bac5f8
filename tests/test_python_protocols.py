"""Python's conversions and operators on tensors (int, float, complex, math.floor, unary +)
against torch, over dtypes and shapes, including the refusals."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

_DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32", "float64",
           "complex64", "complex128"]
_SHAPES = [(), (1,), (3,), (1, 1), (0,)]
_OPS = {
    "int": int, "float": float, "complex": complex, "bool": bool,
    "math.floor": math.floor, "math.ceil": math.ceil, "math.trunc": math.trunc,
    "unary +": lambda t: (+t).tolist(), "positive": lambda t: t.positive().tolist(),
    "round": round, "index": lambda t: [10, 20, 30, 40][t],
}


def _make(lib, dtype, shape, imag):
    a = np.random.default_rng(7).uniform(-3, 3, shape)
    t = lib.tensor(a)
    if dtype == "bool":
        return t > 0
    t = t.to(getattr(lib, dtype))
    return t + imag * 1j if t.is_complex() else t


@pytest.mark.parametrize("op", list(_OPS))
@pytest.mark.parametrize("shape", _SHAPES, ids=str)
@pytest.mark.parametrize("dtype", _DTYPES)
def test_conversions_like_torch(dtype, shape, op):
    for imag in ((0.0, 2.0, float("nan")) if dtype.startswith("complex") else (0.0,)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = _outcome(lambda: _OPS[op](_make(ember, dtype, shape, imag)))
            want = _outcome(lambda: _OPS[op](_make(torch, dtype, shape, imag)))
        assert str(got).replace("ember", "torch") == str(want), imag


@pytest.mark.parametrize("value", [complex(float("nan"), 0), complex(float("inf"), 0), 2 - 0j])
def test_int_of_a_complex_scalar_like_torch(value):
    assert _outcome(lambda: int(ember.tensor(value))) == _outcome(lambda: int(torch.tensor(value)))
