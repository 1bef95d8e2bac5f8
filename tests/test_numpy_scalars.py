"""NumPy scalars as arguments where torch takes a Scalar: torch reads NumPy integers as int,
numpy.complex128 (a Python complex) as complex, and the floats, numpy.bool_ and numpy.complex64
as a float (the real part); the dtypes it infers from them are a Python number's. ember kept
their NumPy dtypes (torch.full((2,), np.float64(1.5)) was float64, arange(np.float64(3))
float64) and multiplied a float tensor by np.complex128(1j) into zeros (silent)."""
import warnings

import numpy as np
import pytest
import torch

import ember

CASES = [
    "L.full((2,), np.float64(1.5))", "L.full((2,), np.float32(1.5))", "L.full((2,), np.int32(3))",
    "L.full((2,), np.uint8(3))", "L.full((2,), np.bool_(True))", "L.full((2,), np.complex128(1j))",
    "L.full((2,), np.complex64(1j))", "L.full((2,), np.float16(0.1))",
    "L.full((2,), np.float32(0.1), dtype=L.float64)", "L.arange(np.float64(3.0))",
    "L.arange(np.int32(3))", "L.arange(np.int64(1), np.float32(3.5), np.float64(0.5))",
    "L.arange(np.float32(0.1), 1, np.float32(0.3))", "L.linspace(np.float32(0.1), 1, 4)",
    "L.ones(2) * np.complex128(1j)", "np.complex128(1j) * L.ones(2)",
    "L.ones(2) * np.complex64(1j)", "L.ones(2) + np.bool_(True)",
    "L.ones(2, dtype=L.int32) + np.uint8(3)", "L.ones(2, dtype=L.int32) * np.float64(2.5)",
    "L.tensor([1, 2]) * np.complex128(2j)", "L.ones(2).add(np.complex128(1j))",
    "L.zeros(3).new_full((2,), np.int32(7))",
    "L.full_like(L.zeros(2, dtype=L.int32), np.float64(2.7))",
    "L.zeros(2).fill_(np.complex64(1j))", "L.zeros(2).fill_(np.float32(0.1))",
    "L.zeros(2, dtype=L.int32).fill_(np.float64(2.7))",
    "L.zeros(2, dtype=L.complex64).fill_(np.complex128(1j))",
    "L.where(L.tensor([True, False]), L.ones(2), np.complex128(1j))",
    "L.where(L.tensor([True, False]), np.float64(1.5), np.float64(2.5))",
    "L.where(L.tensor([True, False]), np.int32(1), np.float32(2.5))",
    "L.where(L.tensor([True, False]), L.ones(2, dtype=L.int32), np.bool_(True))",
    "L.where(L.tensor([True, False]), np.complex64(1j), 2)",
    "L.ones(2).masked_fill(L.tensor([True, False]), np.complex128(1 + 0j))",
]


def _run(L, ex):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = eval(ex, {"L": L, "np": np})
        except Exception as e:      # noqa: BLE001  (the class and message compared)
            return type(e).__name__, str(e)
    return str(v.dtype), v.tolist()


@pytest.mark.parametrize("ex", CASES)
def test_numpy_scalar_arguments_match_torch(ex):
    assert _run(ember, ex) == _run(torch, ex)
