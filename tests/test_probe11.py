"""Regressions found by running torch's own OpInfo samples (common_methods_invocations) through
ember: each case as torch computes it or refuses it."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _bn(L, shape, stats, training):
    rm, rv = (L.zeros(shape[1]), L.ones(shape[1])) if stats else (None, None)
    x = L.ones(shape, requires_grad=True)
    y = L.nn.functional.batch_norm(x, rm, rv, training=training)
    y.sum().backward()
    return y, x.grad, rm, rv


_CASES = {
    "transpose of a 0-d tensor": lambda L: L.tensor(2.5, requires_grad=True).transpose(0, 0),
    "swapaxes -1, 0 of a 0-d tensor": lambda L: L.tensor(2.5).swapaxes(-1, 0),
    "transpose_copy of a 0-d tensor": lambda L: L.transpose_copy(L.tensor(2.5), 0, 0),
    "movedim of a 0-d tensor": lambda L: L.tensor(2.5).movedim(0, -1),
    "transpose of a 0-d tensor, dim 1": lambda L: L.tensor(2.5).transpose(0, 1),
    "backward through a 0-d transpose": lambda L: (lambda x: (x.t().transpose(0, 0).backward(),
                                                              x.grad)[1])(
        L.tensor(2.5, requires_grad=True)),
    "cosine_similarity of 0-d tensors": lambda L: L.nn.functional.cosine_similarity(
        L.tensor(2.5), L.tensor(-1.5), dim=0),
    "cosine_similarity of 0-d tensors, dim -1": lambda L: L.nn.functional.cosine_similarity(
        L.tensor(2.5), L.tensor(-1.5), dim=-1),
    "prelu of a 0-d input, 1-element weight": lambda L: L.nn.functional.prelu(
        L.tensor(-2.), L.tensor([0.25])),
    "prelu of a 0-d input, 0-d weight": lambda L: L.nn.functional.prelu(L.tensor(-2.),
                                                                        L.tensor(0.25)),
    "prelu with a 2-d weight": lambda L: L.nn.functional.prelu(-L.ones(2, 3), L.ones(3, 1)),
    "prelu weight grad keeps its shape": lambda L: (lambda w: (L.nn.functional.prelu(
        -L.ones(2, 3, 4), w).sum().backward(), w.grad)[1])(L.full((1,), 0.25,
                                                               requires_grad=True)),
    "gradient with spacing=None": lambda L: L.gradient(L.tensor([1., 4, 9, 16]), spacing=None,
                                                       dim=None, edge_order=1),
    "__rmod__ of a tensor": lambda L: L.tensor([3, 5]).__rmod__(L.tensor([7, 7])),
    "__rfloordiv__ of a tensor": lambda L: L.tensor([3, 5]).__rfloordiv__(L.tensor([7, 7])),
    "__rlshift__ of a tensor": lambda L: L.tensor([3, 5]).__rlshift__(L.tensor([1, 1])),
    "__rrshift__ of a tensor": lambda L: L.tensor([1, 2]).__rrshift__(L.tensor([8, 8])),
    "addr with beta=0 ignores input's nan": lambda L: L.addr(
        L.tensor([[1., float("nan")]]), L.zeros(1), L.zeros(2), beta=0, alpha=0),
    "addr with beta=0, bool input": lambda L: L.addr(L.tensor([[True, False]]), L.tensor([3]),
                                                     L.tensor([1, 2]), beta=0),
    "batch_norm training on an empty batch": lambda L: _bn(L, (0, 3), True, True),
    "batch_norm training on an empty batch, no stats": lambda L: _bn(L, (0, 3), False, True),
    "batch_norm on zero channels": lambda L: _bn(L, (2, 0, 4), True, True),
    "batch_norm training, one value per channel": lambda L: _bn(L, (1, 0), False, True),
    "batch_norm training, one value, 3-d": lambda L: _bn(L, (1, 3, 1), False, True),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_like_torch(case):
    assert _outcome(lambda: _CASES[case](ember)) == _outcome(lambda: _CASES[case](torch))
