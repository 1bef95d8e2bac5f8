"""Matrix products' argument checks in torch's order, over shapes of every rank: baddbmm and
addbmm read the result's sizes and expand the input before checking the batches' ranks; mv
reads the matrix's first size; tensordot sums a contracted dim of size 1 away (broadcast)."""
import itertools

import pytest
import torch

import ember
from test_probe7 import _outcome

_SHAPES = [(), (3,), (2, 3), (2, 3, 4), (2, 4, 3), (3, 4, 5), (2, 3, 4, 5)]
_INPUTS = [(1,), (2, 3, 5), (3, 5), (), (4,)]


@pytest.mark.parametrize("name", ["baddbmm", "addbmm"])
def test_batched_add_products_check_like_torch(name):
    for s0, s1, s2 in itertools.product(_INPUTS, _SHAPES, _SHAPES):
        def run(lib):
            return getattr(lib, name)(lib.ones(s0), lib.ones(s1), lib.ones(s2))
        assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch)), (s0, s1, s2)


def test_mv_checks_like_torch():
    for s1, s2 in itertools.product(_SHAPES, _SHAPES):
        def run(lib):
            return lib.mv(lib.ones(s1), lib.ones(s2))
        assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch)), (s1, s2)


_DOTS = [((1,), (2, 1, 4, 4), 1), ((1, 2), (1, 1, 2, 4), 2), ((1, 1, 4), (3, 4, 4, 4), 2),
         ((2, 1), (2, 4), ([0, 1], [0, 1])), ((2, 3), (4, 3), ([1], [1])), ((2, 3), (2, 4), 1)]


@pytest.mark.parametrize("a,b,dims", _DOTS, ids=str)
def test_tensordot_broadcasts_contracted_dims_of_size_1(a, b, dims):
    def run(lib):
        x = lib.arange(float(lib.Size(a).numel())).reshape(a)
        y = lib.arange(float(lib.Size(b).numel())).reshape(b) - 3
        return lib.tensordot(x, y, dims=dims)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
