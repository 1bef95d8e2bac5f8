"""torch 2.13's Tensor.grad_dtype: the dtype a leaf's accumulated gradients are cast to."""
import warnings

import pytest
import torch

import ember
from test_probe7 import _outcome


def _leaf(lib, **kw):
    return lib.ones(2, requires_grad=True, **kw)


def _set(t, value):
    t.grad_dtype = value
    return t


_CASES = {
    "non-leaf read": lambda L: (_leaf(L) * 2).grad_dtype,
    "non-leaf write": lambda L: _set(_leaf(L) * 2, L.float16),
    "default: the tensor's dtype": lambda L: (L.ones(2).grad_dtype, _leaf(L).grad_dtype,
                                             L.nn.Parameter(L.ones(2)).grad_dtype,
                                             _leaf(L).detach().grad_dtype),
    "integer leaf": lambda L: _set(L.ones(2, dtype=L.long), L.float16).grad_dtype,
    "backward casts to it": lambda L: (lambda x: ((x * 3).sum().backward(), x.grad)[1])(
        _set(_leaf(L), L.float16)),
    "twice, accumulating": lambda L: (lambda x: ((x * 3).sum().backward(),
                                                 (x * 3).sum().backward(), x.grad)[2])(
        _set(_leaf(L), L.float16)),
    "create_graph": lambda L: (lambda x: ((x * 3).sum().backward(create_graph=True),
                                          x.grad)[1])(_set(_leaf(L), L.float64)),
    "None keeps the incoming dtype": lambda L: (lambda x: (
        (x.double() * 3).sum().backward(), x.grad, x.grad_dtype)[1:])(_set(_leaf(L), None)),
    "assign with None": lambda L: setattr(_set(_leaf(L), None), "grad",
                                          L.ones(2, dtype=L.float64)),
    "assign matching": lambda L: setattr(_set(_leaf(L), L.float64), "grad",
                                         L.ones(2, dtype=L.float64)),
    "assign not matching": lambda L: setattr(_set(_leaf(L), L.float64), "grad", L.ones(2)),
    "assign default": lambda L: setattr(_leaf(L), "grad", L.ones(2, dtype=L.float64)),
    "not a dtype": lambda L: _set(_leaf(L), 3),
    "a grad already there": lambda L: _set((lambda x: (setattr(x, "grad", L.ones(2)), x)[1])(
        _leaf(L)), L.float16),
    "after clearing the grad": lambda L: _set(_set(_leaf(L), L.float16), L.float64).grad_dtype,
}


def _plain(r):
    return str(r).replace("ember", "torch")


@pytest.mark.parametrize("case", list(_CASES))
def test_grad_dtype_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _plain(_outcome(lambda: _CASES[case](ember))) == \
            _plain(_outcome(lambda: _CASES[case](torch)))
