"""Tensor.apply_ / map_ / map2_ (a Python callable per element) against torch: values, dtypes
(the callable's result cast as torch casts it), broadcasting, in-place identity, errors."""
import pytest
import torch

import ember


def _both(fn):
    return fn(ember), fn(torch)


CASES = {
    "apply_float": lambda L: L.arange(4.0).apply_(lambda v: v * 2 - 1),
    "apply_int_truncates": lambda L: L.arange(3).apply_(lambda v: v + 0.7),
    "apply_bool": lambda L: L.tensor([True, False]).apply_(lambda v: not v),
    "apply_2d": lambda L: L.arange(6.0).reshape(2, 3).t().apply_(lambda v: v ** 2),
    "map_broadcast": lambda L: L.ones(2, 3).map_(L.arange(3.0), lambda a, b: a + 10 * b),
    "map2_": lambda L: L.ones(4).map2_(L.arange(4.0), L.full((4,), 2.0),
                                       lambda a, b, c: a + b * c),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_dtypes(case):
    e, t = _both(CASES[case])
    assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)


def test_in_place_and_python_scalars():
    for lib in (ember, torch):
        x = lib.arange(3.0)
        seen = []
        assert x.apply_(lambda v: seen.append(type(v)) or v) is x
        assert seen == [float] * 3
        y = lib.arange(3)
        y.apply_(lambda v: seen.append(type(v)) or v)
        assert seen[-1] is int


@pytest.mark.parametrize("bad", ["requires_grad", "dtype", "shape"])
def test_errors_match_torch(bad):
    def call(L):
        if bad == "requires_grad":
            return lambda: L.ones(2, requires_grad=True).apply_(lambda v: v)
        if bad == "dtype":
            return lambda: L.ones(2).map_(L.ones(2, dtype=L.int64), lambda a, b: a)
        return lambda: L.ones(3).map_(L.ones(2, 3), lambda a, b: a)
    with pytest.raises(Exception) as te:
        call(torch)()
    with pytest.raises(type(te.value)) as ee:
        call(ember)()
    assert str(ee.value) == str(te.value)
