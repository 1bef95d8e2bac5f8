"""Regressions found by probe batch 9 (indexing and assignment idioms, in-place ops on views,
training-loop plumbing, autograd corner cases, printing), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome, _plain     # the shared comparison helpers


_CLAMP = {
    "0-d tensor min, number max": lambda t: t.arange(5).clamp(min=t.tensor(1.), max=3),
    "number min, 0-d tensor max": lambda t: t.clamp(t.arange(5), 1.5, t.tensor(3)),
    "0-d int tensor with a float": lambda t: t.arange(5.).clamp(t.tensor(1), 2.5),
    "in place, float scalar into long": lambda t: t.arange(5).clamp_(1.5, 3),
    "in place, min only": lambda t: t.arange(5).clamp_(min=1.5),
    "in place, mixed": lambda t: t.arange(5).clamp_(t.tensor(1.5), 3),
    "in place, tensors": lambda t: t.arange(5).clamp_(t.tensor(1.5), t.tensor(3)),
    "clamp_min_ of an int": lambda t: t.arange(5, dtype=t.int32).clamp_min_(1.5),
    "clamp_max_ tensor": lambda t: t.arange(5).clamp_max_(t.tensor([1.5])),
    "out=": lambda t: t.clamp(t.arange(5), 1.5, out=t.arange(5)),
    "out= float input": lambda t: t.clamp(t.arange(5.), 1, out=t.arange(5)),
    "clip_": lambda t: t.arange(5, dtype=t.int16).clip_(0.5),
    "int in place ok": lambda t: t.arange(5).clamp_(t.tensor(1), 3),
}


@pytest.mark.parametrize("case", list(_CLAMP))
def test_clamp_takes_a_0d_tensor_as_a_number_like_torch(case):
    assert _outcome(lambda: _CLAMP[case](ember)) == _outcome(lambda: _CLAMP[case](torch))


def test_clamp_with_a_0d_tensor_needing_grad_and_a_number_is_refused_like_torch():
    def run(lib):
        return lib.arange(5.).clamp(lib.tensor(1., requires_grad=True), 3)
    assert _outcome(lambda: run(ember))[0] == _outcome(lambda: run(torch))[0] == "TypeError"


_CLAMP_OUT = {
    "double out of float": lambda t: t.clamp(t.arange(5.), 1, out=t.zeros(5, dtype=t.float64)),
    "double out of long": lambda t: t.clamp(t.arange(5), 1, out=t.zeros(5, dtype=t.float64)),
    "clamp_min double out": lambda t: t.clamp_min(t.arange(5), 1.5,
                                                  out=t.zeros(5, dtype=t.float64)),
    "tensor overload": lambda t: t.clamp(t.arange(5), t.tensor(1),
                                         out=t.zeros(5, dtype=t.float64)),
    "same dtype": lambda t: t.clamp(t.arange(5.), 1, 2, out=t.zeros(5)),
}


@pytest.mark.parametrize("case", list(_CLAMP_OUT))
def test_clamp_number_overload_out_dtype_like_torch(case):
    assert _outcome(lambda: _CLAMP_OUT[case](ember)) == _outcome(lambda: _CLAMP_OUT[case](torch))
