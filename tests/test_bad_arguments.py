"""Bad arguments raise torch's exception class (ember returned a result or leaked another
class for each of these before): non-integer ints, wrong types, mismatched sizes."""
import pytest
import torch

import ember

CASES = [
    "x.triu(diagonal=1.5)", "x.tril(1.5)", "x.diagonal(offset=0.5)", "x.topk(1.0)",
    "x.kthvalue(1.0)", "x.narrow(0, 0.0, 1)", "x.flip(0.0)", "x.permute(1.0, 0)",
    "t.linalg.matrix_power(x, 1.5)", "t.ones(3).std(dim=0, unbiased='yes')",
    "t.cartesian_prod(t.ones(2, 2))", "t.ones(3)[t.tensor([1, 0], dtype=t.int8)]",
    "t.ones(3)[t.tensor([1, 0], dtype=t.int16)]", "t.set_default_dtype('float')",
    "t.linalg.svd(x, driver='gesvd')", "t.linalg.svdvals(x, driver='gesvd')",
    "t.zeros(3).index_copy(0, t.tensor([0]), t.ones(2))",
    "t.zeros(3).masked_fill(t.tensor([True, False]), 2.0)",
    "t.ones(2).masked_fill_(t.tensor([True, False]), 'a')",
    "t.linalg.vector_norm(x, ord='fro')", "t.linalg.eigvalsh(x, UPLO='X')",
]
# and these must keep working, with torch's result
GOOD = [
    "t.ones(3).max(dim=t.tensor(0))", "t.ones(3).max(t.tensor(0.5))", "x.triu(1)", "x.topk(1)",
    "x.masked_fill(t.ones(3, 2, 2, dtype=t.bool), 0)", "t.ones(3)[t.tensor([1, 0], dtype=t.int32)]",
    "x.narrow(0, t.tensor(1), 1)",
    "t.cartesian_prod(t.tensor([1, 2]), t.tensor([3, 4]))",
]


def _run(lib, code):
    return eval(code, {"t": lib, "x": lib.ones(2, 2)})


@pytest.mark.parametrize("code", CASES)
def test_bad_arguments_raise_torchs_class(code):
    with pytest.raises(Exception) as expected:
        _run(torch, code)
    with pytest.raises(type(expected.value)):
        _run(ember, code)


@pytest.mark.parametrize("code", GOOD)
def test_near_misses_still_work(code):
    assert repr(_run(ember, code)) == repr(_run(torch, code))
