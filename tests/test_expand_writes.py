"""In-place writes through expanded tensors, as torch allows them: into a view of an expanded
tensor whose elements do not share memory (a row, a column, a diagonal), fill_/zero_ of the
whole expanded tensor, setitem of a row; torch's internal-overlap error elsewhere."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

E = lambda t: t.zeros(3).expand(2, 3)
_CASES = {
 "fill_": lambda t: E(t).fill_(2), "zero_": lambda t: E(t).zero_(), "normal_": lambda t: E(t).normal_(),
 "uniform_": lambda t: E(t).uniform_(), "random_": lambda t: E(t).random_(5), "bernoulli_": lambda t: E(t).bernoulli_(),
 "mul_": lambda t: E(t).mul_(2), "clamp_": lambda t: E(t).clamp_(0, 1), "copy_": lambda t: E(t).copy_(t.ones(2, 3)),
 "setitem all scalar": lambda t: E(t).__setitem__(slice(None), 5), "setitem all tensor": lambda t: E(t).__setitem__(slice(None), t.ones(3)),
 "setitem row": lambda t: (lambda e: (e.__setitem__(0, 5), e)[1])(E(t)), "setitem elem": lambda t: (lambda e: (e.__setitem__((0, 1), 5), e)[1])(E(t)),
 "row add_": lambda t: E(t)[0].add_(1), "row fill_": lambda t: E(t)[1].fill_(1), "row copy_": lambda t: E(t)[1].copy_(t.ones(3)),
 "out= row": lambda t: t.add(t.ones(3), 1, out=E(t)[1]), "out= whole": lambda t: t.add(t.ones(2, 3), 1, out=E(t)),
 "col": lambda t: t.zeros(3, 1).expand(3, 4)[:, 0].add_(1),
 "col slice 2": lambda t: t.zeros(3, 1).expand(3, 4)[:, 1:3].add_(1),
 "t() row": lambda t: E(t).t()[0].add_(1),
 "diag of expand": lambda t: t.zeros(3).expand(3, 3).diagonal().add_(1),
 "unsqueeze expand": lambda t: t.zeros(3).expand(2, 3).unsqueeze(0)[0, 1].mul_(3),
 "expand 1-elem": lambda t: t.ones(1).expand(3)[1:2].add_(1),
 "grad row": lambda t: (lambda l: (lambda v: (v.add_(1), v.sum().backward(), l.grad)[2])(l.clone().expand(2, 3)[0]))(t.ones(3, requires_grad=True)),
 "grad row value": lambda t: (lambda l: (lambda c: (lambda v: (v.mul_(3), (c * t.arange(3.)).sum().backward(), l.grad, c)[2:])(c.expand(2, 3)[1]))(l.clone()))(t.ones(3, requires_grad=True)),
 "base sees write": lambda t: (lambda x: (x.expand(2, 3)[0].add_(5), x)[1])(t.zeros(3)),
 "noncontig expand row": lambda t: (lambda x: (x[:, 0].expand(2, 3)[1].add_(5), x)[1])(t.zeros(3, 2)),
 "noncontig expand fill": lambda t: (lambda x: (x[:, 0].expand(2, 3).fill_(7), x)[1])(t.zeros(3, 2)),
 "broadcast_to row": lambda t: (lambda x: (t.broadcast_to(x, (2, 3))[1].mul_(2).add_(1), x)[1])(t.ones(3)),
 "fill via zero grad": lambda t: (lambda x: (x.expand(2, 3).zero_(), x)[1])(t.ones(3, requires_grad=True).clone()),
 "repeat after unlock": lambda t: (lambda e: (e[0].add_(1), e[1].add_(1), e)[2])(E(t)),
 "view of row": lambda t: (lambda x: (x.expand(4, 3)[2].view(3, 1).add_(4), x)[1])(t.zeros(3)),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_expanded_writes_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _outcome(lambda: _CASES[case](ember)) == _outcome(lambda: _CASES[case](torch))


def test_read_only_memory_stays_read_only():
    ro = np.ones(3)
    ro.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = ember.from_numpy(ro)
        with pytest.raises(ValueError):
            t.expand(2, 3)[0].add_(1)
        with pytest.raises(ValueError):
            t.expand(2, 3).fill_(2)
    assert (ro == 1).all()


def test_autograd_stubs_are_never_written_through():
    from ember.ops._apply import writable_alias
    from ember.autograd._thin import stub
    s = stub(np.ones(1, np.float32), ember.backends.CPU)   # shape (1,): no shared element
    assert writable_alias(s.arr) is None
