"""Regressions found by probe batch 10a (differential fuzzing of tensor printing, ember.linalg and
ember.fft), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome, _plain     # the shared comparison helpers

_ = _plain


def _signs(lib, t):
    """The tensor's repr (it shows the sign of every zero) and its parts' sign bits."""
    r = lib.view_as_real(t) if t.is_complex() else t
    return repr(t).replace("ember", "torch"), lib.signbit(r).tolist()


_ZERO_SIGNS = {
    "complex() of a -0.0 imaginary part": lambda t: t.complex(t.tensor([-0., 0., 1.]),
                                                                t.tensor([-0., -0., -0.])),
    "complex() broadcasting": lambda t: t.complex(t.ones(2, 1, dtype=t.float64),
                                                  t.tensor([-0., 1.], dtype=t.float64)),
    "sigmoid of a complex number on the real axis": lambda t: t.sigmoid(
        t.tensor([50 + 0j, -100 + 0j, 0j, 3 - 0j, 2 + 1j])),
    "sigmoid, 0-d complex": lambda t: t.sigmoid(t.tensor(3 - 0j)),
}


@pytest.mark.parametrize("case", list(_ZERO_SIGNS))
def test_signs_of_zeros_like_torch(case):
    assert _signs(ember, _ZERO_SIGNS[case](ember)) == _signs(torch, _ZERO_SIGNS[case](torch))


def _bits(lib, case):
    import numpy as np
    g = np.random.default_rng(3)
    a = (g.standard_normal((37, 23)) * 10.0 ** g.integers(-3, 8, (37, 23))).astype(np.float32)
    x = lib.tensor(a)
    r = {
        "x.T.sum()": lambda: x.T.sum(),
        "x.T.mean()": lambda: x.T.mean(),
        "x.T.sum(1)": lambda: x.T.sum(1),
        "x.T.sum(0, keepdim)": lambda: x.T.sum(0, keepdim=True),
        "x.T.sum((0, 1), keepdim)": lambda: x.T.sum((0, 1), keepdim=True),
        "permuted 3-d with a size-1 dim": lambda: x.reshape(1, 37, 23).permute(2, 0, 1).sum(2),
        "mT of a batch, double": lambda: x.double().reshape(37, 23, 1).mT.sum(-1),
    }[case]()
    return tuple(r.shape), r.double().tolist()


@pytest.mark.parametrize("case", ["x.T.sum()", "x.T.mean()", "x.T.sum(1)", "x.T.sum(0, keepdim)",
                                  "x.T.sum((0, 1), keepdim)", "permuted 3-d with a size-1 dim",
                                  "mT of a batch, double"])
def test_sums_of_transposed_tensors_add_in_torchs_order(case):
    # a permuted dense tensor is summed in memory order, as torch's iterator does: bit for bit
    assert _bits(ember, case) == _bits(torch, case)
