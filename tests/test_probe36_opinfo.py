"""Regressions found by running torch's OpInfo error_inputs and reference_inputs
(common_methods_invocations.op_db) through ember: each case as torch computes it or refuses it."""
import pytest
import torch

import ember
from test_probe7 import _outcome

_CASES = {
    # reference inputs
    "sum_to_size(()) of a 0-d bool tensor sums (to long)": lambda L: L.tensor(True).sum_to_size(
        []),
    "sum_to_size(()) of a 0-d tensor records a sum": lambda L: L.tensor(
        2., requires_grad=True).sum_to_size(()).grad_fn.name(),
    # error inputs
    "narrow_copy of a 0-d tensor": lambda L: L.narrow_copy(L.tensor(1.), 0, 0, 1),
    "narrow_copy of a 0-d tensor, dim 1": lambda L: L.narrow_copy(L.tensor(1.), 1, 0, 1),
    "narrow_copy of a 0-d sparse tensor": lambda L: L.narrow_copy(L.tensor(1.).to_sparse(), 0,
                                                                  0, 1),
    "narrow_copy with a negative length": lambda L: L.narrow_copy(L.ones(10), 0, 0, -1),
    "narrow_copy with a negative start and length": lambda L: L.narrow_copy(L.ones(10), 0, -3,
                                                                            -1),
    "narrow_copy with a tensor start, negative length": lambda L: L.narrow_copy(
        L.ones(4, 3), 0, L.tensor(1), -1),
}

# ormqr's checks of shapes and dtypes, in torch's order (ember computed some of these silently)
_CALLS = [
    "L.ormqr(L.tensor(1.), L.tensor(1.), L.tensor(1.))", "L.ormqr(L.ones(3, 3), L.ones(3), "
    "L.ones(3))", "L.ormqr(L.ones(5, 0, dtype=L.long), L.ones(5, dtype=L.long), L.ones(5, 5, "
    "dtype=L.long), True, True)", "L.ormqr(L.ones(5, 3), L.ones(4), L.ones(5, 5))",
    "L.ormqr(L.ones(5, 3), L.ones(2), L.ones(5, 5), False)",
    "L.ormqr(L.ones(5, 3), L.ones(3), L.ones(4, 5))", "L.ormqr(L.ones(5, 3), L.ones(3), "
    "L.ones(5, 4), False)", "L.ormqr(L.ones(5, 3), L.ones(4), L.ones(4, 5))",
    "L.ormqr(L.ones(5, 3), L.tensor(1.), L.ones(5, 5))",
    "L.ormqr(L.ones(5, 3), L.ones(1, 4), L.ones(1, 5, 5))",
    "L.ormqr(L.ones(5, 3), L.ones(1, 3), L.ones(1, 5, 5))",
    "L.ormqr(L.ones(5, 3), L.ones(3), L.ones(1, 5, 5))",
    "L.ormqr(L.ones(2, 5, 3), L.ones(1, 3), L.ones(3, 5, 5))",
    "L.ormqr(L.ones(2, 5, 3), L.ones(2, 3), L.ones(3, 5, 5))",
    "L.ormqr(L.ones(5, 3), L.ones(3, dtype=L.double), L.ones(5, 5, dtype=L.half))",
    "L.ormqr(L.ones(5, 3), L.ones(3), L.ones(5, 5, dtype=L.double))",
    "L.ormqr(L.ones(5, 7), L.ones(5), L.ones(5, 5))",
]


@pytest.mark.parametrize("call", _CALLS)
def test_calls_like_torch(call):
    assert _outcome(lambda: eval(call, {"L": ember})) == _outcome(
        lambda: eval(call, {"L": torch}))


@pytest.mark.parametrize("case", list(_CASES))
def test_like_torch(case):
    assert _outcome(lambda: _CASES[case](ember)) == _outcome(lambda: _CASES[case](torch))
