"""0-d tensors: every result holds a 0-d array, never the NumPy scalar NumPy's ufuncs return for
0-d inputs (float16/bfloat16 unary ops, clamp, softmax, ldexp and flip gave one, and the next
in-place op on the result raised TypeError: Adam(foreach=True) of a 0-d float16 parameter),
and their gradients too."""
import warnings

import numpy as np
import pytest
import torch

import ember

METHODS = ["sqrt", "rsqrt", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "reciprocal",
           "exp2", "expm1", "log1p", "log2", "log10", "erf", "asin", "acos", "atan", "sinh",
           "cosh", "asinh", "atanh", "deg2rad", "rad2deg", "sinc", "nan_to_num", "abs", "neg",
           "square", "relu", "round", "floor", "frac", "sign", "logit", "erfinv", "lgamma",
           "digamma", ("clamp", 0.1, 0.4), ("clamp_min", 0.1), ("clamp_max", 0.4),
           ("softmax", 0), ("log_softmax", 0), ("flip", 0), ("cumsum", 0), ("logsumexp", 0),
           ("pow", 2), ("mul", 2.0), ("add", 1), ("div", 3)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_results_of_zero_dim_inputs_are_arrays(dtype):
    bad = []
    for m in METHODS:
        name, args = (m, ()) if isinstance(m, str) else (m[0], m[1:])
        x = ember.tensor(0.5, dtype=getattr(ember, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(x, name)(*args)
            y.backward()
        if isinstance(y.arr, np.generic) or isinstance(x.grad.arr, np.generic):
            bad.append(name)
        z = y.detach()
        z.mul_(2)               # an in-place op on the result works
    assert not bad


def test_ldexp_of_zero_dim_tensors():
    y = ember.ldexp(ember.tensor(1.5), ember.tensor(3))
    assert isinstance(y.arr, np.ndarray) and y.item() == 12.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_adam_foreach_steps_a_zero_dim_half_parameter_as_torch(dtype):
    def run(L):
        p = L.nn.Parameter(L.tensor(1.5, dtype=getattr(L, dtype)))
        opt = L.optim.Adam([p], lr=0.1, foreach=True)
        for g in (0.25, -0.5):
            p.grad = L.tensor(g, dtype=getattr(L, dtype))
            opt.step()
        return p.item()
    assert run(ember) == run(torch)
