"""Regressions found by running torch's ModuleInfo database (common_modules.module_db) through
ember: each module sample built in both libraries, forward outputs, gradients and the expected
errors compared with torch's."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _gelu_0d(L, value, dtype):
    x = L.tensor(value, dtype=getattr(L, dtype), requires_grad=True)
    y = L.nn.GELU()(x)
    y.backward()
    return y, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("value", [0.7, 0.0, -0.5])
def test_gelu_of_a_0d_tensor(dtype, value):
    """ember's erf GELU kernels wrote into NumPy's scalar results of a 0-d array."""
    assert _outcome(lambda: _gelu_0d(ember, value, dtype)) == _outcome(lambda: _gelu_0d(torch, value, dtype))
