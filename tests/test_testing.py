"""ember.testing.assert_close against torch.testing.assert_close: the same inputs pass or fail
alike, with the same exception class and message (tensor class names aside)."""
import numpy as np
import pytest
import torch

import ember

NAN = float("nan")
CASES = {
    "close_float32": lambda m: (m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.0 + 1e-6, 3.0])),
    "far_float32": lambda m: (m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.5, 3.0])),
    "far_2d": lambda m: (m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[1.0, 2.0], [3.0, 5.0]])),
    "float64_tolerance": lambda m: (m.tensor([1.0], dtype=m.float64),
                                    m.tensor([1.0 + 5e-8], dtype=m.float64)),
    "float16": lambda m: (m.tensor([1.0, 2.0], dtype=m.float16),
                          m.tensor([1.0, 2.01], dtype=m.float16)),
    "shape": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0])),
    "dtype": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)),
    "ints": lambda m: (m.tensor([1, 2]), m.tensor([1, 3])),
    "bools": lambda m: (m.tensor([True]), m.tensor([False])),
    "zero_expected": lambda m: (m.tensor([1.0, 0.0]), m.tensor([0.0, 0.0])),
    "nan": lambda m: (m.tensor([NAN]), m.tensor([NAN])),
    "inf": lambda m: (m.tensor([float("inf")]), m.tensor([float("inf")])),
    "complex": lambda m: (m.tensor([1 + 1j]), m.tensor([1 + 2j])),
    "zero_dim": lambda m: (m.tensor(2.0), m.tensor(3.0)),
    "python_floats": lambda m: (1.0, 2.0),
    "python_ints": lambda m: (1, 2),
    "python_bools": lambda m: (True, False),
    "python_zero": lambda m: (1.0, 0.0),
    "list_item": lambda m: ([m.tensor(1.0), m.tensor(2.0)], [m.tensor(1.0), m.tensor(3.0)]),
    "list_length": lambda m: ([1, 2], [1, 2, 3]),
    "dict_item": lambda m: ({"a": m.tensor([1.0])}, {"a": m.tensor([2.0])}),
    "dict_keys": lambda m: ({"a": 1}, {"b": 1}),
    "nested": lambda m: ({"w": [m.tensor([1.0, 2.0]), 3.0]}, {"w": [m.tensor([1.0, 2.0]), 3.5]}),
    "numpy": lambda m: (np.array([1.0, 2.0]), np.array([1.0, 2.5])),
}


def _outcome(lib, args, **kw):
    try:
        lib.testing.assert_close(*args, **kw)
    except Exception as e:          # noqa: BLE001 - class and text are what we compare
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name", list(CASES))
def test_assert_close_like_torch(name):
    want = _outcome(torch, CASES[name](torch))
    got = _outcome(ember, CASES[name](ember))
    assert got == want


@pytest.mark.parametrize("kw", [dict(rtol=0.3, atol=0.0), dict(equal_nan=True),
                                dict(check_dtype=False), dict(rtol=1e-3)])
def test_assert_close_options_like_torch(kw):
    for make in (CASES["far_float32"], CASES["nan"], CASES["dtype"]):
        assert _outcome(ember, make(ember), **kw) == _outcome(torch, make(torch), **kw)


def test_assert_close_custom_message_and_devices(device):
    a = ember.tensor([1.0, 2.0], device=device)
    ember.testing.assert_close(a, a.clone())
    with pytest.raises(AssertionError, match="^custom$"):
        ember.testing.assert_close(a, a + 1, msg="custom")
    if device != "cpu":
        with pytest.raises(AssertionError, match="attribute 'device'"):
            ember.testing.assert_close(a, a.cpu())
        ember.testing.assert_close(a, a.cpu(), check_device=False)


def _made(lib):
    import warnings
    lib.manual_seed(0)
    mk, out = lib.testing.make_tensor, []
    for kw in [dict(dtype=lib.float32), dict(dtype=lib.float64, low=-1, high=1),
               dict(dtype=lib.int64), dict(dtype=lib.uint8), dict(dtype=lib.bool),
               dict(dtype=lib.complex64), dict(dtype=lib.float32, noncontiguous=True),
               dict(dtype=lib.int32, low=0, high=3, exclude_zero=True),
               dict(dtype=lib.float16, low=-1e6, high=1e6),
               dict(dtype=lib.float32, requires_grad=True),
               dict(dtype=lib.float32, low=float("-inf"), high=float("inf"))]:
        t = mk((2, 3), device="cpu", **kw)
        out.append((repr(t), t.is_contiguous(), t.requires_grad))
    for kw in [dict(dtype=lib.float32, low=3, high=1), dict(dtype=lib.int64, requires_grad=True),
               dict(dtype=lib.float32, low=float("nan")), dict(dtype=lib.uint8, low=300, high=400)]:
        try:
            mk(2, device="cpu", **kw)
        except ValueError as e:
            out.append(str(e))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out.append(repr(mk(2, dtype=lib.float32, device="cpu", low=1, high=1)))
    out.append([(x.category.__name__, str(x.message)) for x in w])
    return out


def test_make_tensor_draws_torchs_values():
    assert _made(ember) == _made(torch)
