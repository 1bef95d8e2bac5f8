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
