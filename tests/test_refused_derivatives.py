"""Ops torch records under a NotImplemented node (the output requires grad, backward refuses):
floor_divide, bincount's weights, histogram and histogramdd. ember recorded nothing, so the
output did not require grad and backward raised "does not require grad" instead."""
import pytest
import torch

import ember


def _x(L):
    return L.tensor([[0.5, -1.25], [2.0, 0.75], [-0.5, 1.5]], dtype=L.float64,
                    requires_grad=True)


CASES = {
    "floordiv": lambda L: _x(L) // 2,
    "floor_divide": lambda L: L.floor_divide(_x(L), _x(L) + 3),
    "rfloordiv": lambda L: 3 // (_x(L) + 5),
    "floor_divide_": lambda L: (_x(L) * 1).floor_divide_(0.5),
    "bincount": lambda L: L.bincount(L.tensor([0, 2, 2]), weights=_x(L)[:, 0]),
    "histogram": lambda L: L.histogram(_x(L).reshape(-1), 3).hist,
    "histogram_edges": lambda L: L.histogram(_x(L).reshape(-1), 3).bin_edges,
    "histogram_weight": lambda L: L.histogram(L.arange(4.0, dtype=L.float64), 2,
                                              weight=_x(L).reshape(-1)[:4]).hist,
    "histogramdd": lambda L: L.histogramdd(_x(L), 2).hist,
    "histogramdd_edges": lambda L: L.histogramdd(_x(L), 2).bin_edges[1],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_and_refused_as_torch(name):
    def run(L):
        y = CASES[name](L)
        node = None if y.grad_fn is None else y.grad_fn.name()
        try:
            y.sum().backward()
        except RuntimeError as e:
            return y.requires_grad, node, str(e)
        return y.requires_grad, node, None
    assert run(ember) == run(torch)


def test_out_takes_the_node():
    """out= of an op without a derivative is written and handed torch's NotImplemented node
    (ember raised the out= autograd error)."""
    def run(L):
        x = _x(L)
        o = L.empty(0, dtype=L.float64)
        r1 = L.floor_divide(x, 0.5, out=o)
        h, e = L.empty(0, dtype=L.float64), L.empty(0, dtype=L.float64)
        r2 = L.histogram(x.reshape(-1), 3, out=(h, e))
        return [(r is t, r.requires_grad, type(r.grad_fn).__name__)
                for r, t in ((r1, o), (r2[0], h), (r2[1], e))]
    assert run(ember) == run(torch)


def test_no_node_without_grad():
    for L in (torch, ember):
        with L.no_grad():
            assert not CASES["histogram"](L).requires_grad
        assert not (L.tensor([5, 7]) // 2).requires_grad
