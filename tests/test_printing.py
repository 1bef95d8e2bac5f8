"""Tensor printing against torch: `format_tensor(ndarray)` == `repr(torch.from_numpy(ndarray))`."""
import math

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from ember import _dtype
from ember.nn.parameter import Buffer, Parameter
from ember._tensor_str import (PRINT_OPTS, format_tensor, get_printoptions, printoptions,
                               set_printoptions)

BF16 = np.dtype(ml_dtypes.bfloat16)
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _default_options():
    """Every test starts and ends with default print options in both libraries."""
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")


def to_torch(a):
    a = np.asarray(a)
    if a.dtype == BF16:
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())  # C order; keeps 0-d


def ember_name(a):
    return a.dtype.name  # ml_dtypes' bfloat16 is named "bfloat16" too


def check(a):
    a = np.asarray(a)
    expected = repr(to_torch(a))
    got = format_tensor(a, ember_name(a))
    assert got == expected, f"\nember:\n{got}\ntorch:\n{expected}"


def arr(values, dtype):
    if np.dtype(dtype) == BF16:
        return np.array(values, np.float32).astype(BF16)
    return np.array(values, dtype)


ALL_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, BF16,
              np.float32, np.float64, np.complex64, np.complex128]
FLOAT_DTYPES = [np.float16, BF16, np.float32, np.float64]

# ---------------------------------------------------------------- every dtype, every rank

SHAPES = [(), (1,), (5,), (2, 3), (2, 3, 4), (2, 1, 3, 2), (1, 1, 1, 1, 2)]


def sample(shape, dtype):
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    if dtype == np.bool_:
        return (RNG.random(shape) > 0.5)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        return RNG.integers(lo, hi, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (RNG.standard_normal(n) + 1j * RNG.standard_normal(n)).reshape(shape).astype(dtype)
    return (RNG.standard_normal(n) * 10).reshape(shape).astype(np.float32).astype(dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_dtype_shape(dtype, shape):
    check(sample(shape, dtype))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4), (0, 0)], ids=str)
def test_empty(dtype, shape):
    check(np.zeros(shape, dtype))


# ---------------------------------------------------------------- values and notation choice

FLOAT_VALUES = [
    [2.99995], [1.0, 2.0, 3.0], [0.5, 1.5], [1e8], [1e8, 1.0], [1e9], [1e10], [123456789.0],
    [1.0, 1000.0], [1.0, 1000.5], [1.0, 1001.0], [0.001, 1.0], [0.0999, 99.9],
    [1e-4], [9.9999e-5], [1.5e-4, 0.1], [1e-8, 1.0], [1e-30], [1e30], [1e38, -1e-38],
    [-0.0], [0.0, -0.0], [-0.0, 1.0], [-0.0, 1.5], [0.0, 0.0], [-1.0, -2.5, 3.25],
    [math.nan], [math.inf], [-math.inf], [math.nan, math.inf, -math.inf],
    [math.nan, 1.0], [math.nan, 1.5], [math.inf, 1e-5], [-math.inf, 12345.678], [0.0, math.nan],
    [9.99995], [99999.5], [0.00015, 0.15], [-123.456, 0.001], [1.0, -1.0, 0.5, -0.5],
    [65504.0, -65504.0], [6e-8, 1.0], [1234567.0, 0.5], [1e5, 1e-5], [3.14159265358979],
    [1e15, 2.0], [1e16 + 1], [0.1, 0.2, 0.3],
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [np.complex64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("values", FLOAT_VALUES, ids=str)
def test_float_values(values, dtype):
    with np.errstate(over="ignore"):
        a = arr(values, dtype)
    check(a)
    check(a[0])  # 0-d
    check(np.stack([a, a[::-1]]))


COMPLEX_VALUES = [
    [1 + 2j], [1 - 2j], [-0.0 - 0.0j], [0.0 - 0.0j], [complex(0.0, -0.0)], [1.5 + 0j],
    [complex(math.nan, 1)], [complex(1, math.nan)], [complex(math.inf, -math.inf)],
    [1e10 + 1j], [1 + 1e-10j], [1 + 1e10j, 2 - 3j], [0.5 - 0.25j, -1e-3 + 100j], [3j, -4j],
]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("values", COMPLEX_VALUES, ids=str)
def test_complex_values(values, dtype):
    a = arr(values, dtype)
    check(a)
    check(a[0])
    check(np.stack([a, a[::-1]]))


INT_VALUES = [
    ([0], np.int64), ([-1, 10, -100], np.int64), ([2**63 - 1, -(2**63)], np.int64),
    ([2**31 - 1, -(2**31)], np.int32), ([255, 0], np.uint8), ([-128, 127], np.int8),
    ([-32768, 5], np.int16), ([True], np.bool_), ([False], np.bool_), ([True, False], np.bool_),
    ([100000000], np.int64), ([10**10], np.int64),
]


@pytest.mark.parametrize("values,dtype", INT_VALUES, ids=str)
def test_int_values(values, dtype):
    a = np.array(values, dtype)
    check(a)
    check(a[0])
    check(np.stack([a, a]))


# ---------------------------------------------------------------- layout: wrapping, summarising

LAYOUT_CASES = [
    np.arange(100.0), np.arange(30) * 1e6, np.linspace(-1, 1, 50), np.arange(200),
    np.arange(200.0).reshape(4, 50), np.arange(60.0).reshape(2, 3, 10) / 7,
    (np.arange(64.0) / 3).reshape(2, 2, 2, 2, 4), np.arange(50) - 25,
]
SUMMARY_SHAPES = [(1001,), (2000,), (50, 50), (10, 10, 20), (3, 1000), (1000, 3),
                  (2, 2, 2, 300), (7, 7, 7, 7), (1, 1001), (6, 200), (8, 130), (4, 4, 4, 4, 4)]


@pytest.mark.parametrize("case", range(len(LAYOUT_CASES)))
def test_long_rows(case):
    check(LAYOUT_CASES[case])
    check(LAYOUT_CASES[case].astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.complex64, np.bool_, np.float16],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SUMMARY_SHAPES, ids=str)
def test_summarized(shape, dtype):
    check(sample(shape, dtype))


def test_summarized_formatter_sees_only_shown_values():
    a = np.ones(2000, np.float32)
    a[1000] = 1e-9  # hidden by the summary: no scientific notation
    check(a)
    a[0] = 1e-9
    check(a)


def test_noncontiguous_and_views():
    a = np.arange(24.0).reshape(2, 3, 4)
    check(a.transpose(2, 0, 1))
    check(a[:, ::2, ::-1])
    check(np.broadcast_to(np.arange(3), (4, 3)))


# ---------------------------------------------------------------- print options

OPTION_CASES = [
    dict(precision=2), dict(precision=0), dict(precision=8), dict(precision=1, sci_mode=True),
    dict(sci_mode=True), dict(sci_mode=False), dict(linewidth=40), dict(linewidth=1),
    dict(linewidth=200), dict(edgeitems=1), dict(edgeitems=5), dict(edgeitems=0),
    dict(threshold=5), dict(threshold=0), dict(threshold=10, edgeitems=0),
    dict(profile="short"), dict(profile="full"), dict(profile="default"),
    dict(profile="short", precision=6), dict(profile="full", linewidth=60),
    dict(threshold=20, edgeitems=2, linewidth=50, precision=3, sci_mode=True),
]
OPTION_ARRAYS = [
    np.array([1.123456789, -2.5, 1000.0]), np.array([1e-5, 1.0]), np.array([1.0, 2.0]),
    np.arange(20).reshape(4, 5), np.arange(24.0).reshape(2, 3, 4) * 1.5,
    np.array([1 + 2.5j, -3.25 - 1e3j]), np.array([True, False] * 6), np.array(3.14159),
    np.arange(1500.0) / 7, np.linspace(0, 1e9, 1200).reshape(30, 40), np.array([np.nan, 0.0]),
    np.array([1e8, 2.0], np.float32),
]


@pytest.mark.parametrize("options", OPTION_CASES, ids=str)
def test_print_options(options):
    torch.set_printoptions(**options)
    set_printoptions(**options)
    assert get_printoptions() == {k: getattr(torch._tensor_str.PRINT_OPTS, k)
                                  for k in get_printoptions()}
    for a in OPTION_ARRAYS:
        check(a)


def test_printoptions_semantics():
    set_printoptions(precision=2, sci_mode=True)
    set_printoptions(linewidth=100)  # sci_mode resets to None, precision stays
    assert get_printoptions() == dict(precision=2, threshold=1000, edgeitems=3, linewidth=100,
                                      sci_mode=None)
    set_printoptions(profile="nonsense")  # ignored, like torch
    assert PRINT_OPTS.precision == 2
    set_printoptions(profile="full")
    assert PRINT_OPTS.threshold == math.inf and PRINT_OPTS.precision == 4
    with printoptions(precision=1, edgeitems=1):
        got = format_tensor(np.array([1.25, 2.0]), "float64")
        assert got == "tensor([1.2, 2.0], dtype=torch.float64)"
        with torch._tensor_str.printoptions(precision=1, edgeitems=1):
            assert got == repr(torch.tensor([1.25, 2.0], dtype=torch.float64))
    assert PRINT_OPTS.precision == 4 and PRINT_OPTS.edgeitems == 3
    assert get_printoptions()["threshold"] == math.inf


# ---------------------------------------------------------------- suffixes

@pytest.mark.parametrize("a", [np.array([1.0, 2.0]), np.array(2.5), np.arange(6.0).reshape(2, 3),
                               np.zeros((0, 2)), np.arange(30.0).reshape(3, 10) * 1111.1,
                               np.array([1, 2], np.float64), np.arange(70.0)],
                         ids=lambda a: str(a.shape))
def test_requires_grad_and_grad_fn(a):
    leaf = to_torch(a).requires_grad_()
    assert format_tensor(a, ember_name(a), requires_grad=True) == repr(leaf)
    out = leaf * 2
    assert format_tensor(a * 2, ember_name(a), requires_grad=True,
                         grad_fn_name="MulBackward0") == repr(out)
    out = (2 - leaf).sum()
    assert format_tensor(np.asarray((2 - a).sum()), ember_name(a), requires_grad=True,
                         grad_fn_name="SumBackward0") == repr(out)


def test_parameter():
    for a in [np.ones((2, 3), np.float32), np.array([0.5]), np.arange(4, dtype=np.float16)]:
        p = torch.nn.Parameter(to_torch(a))
        assert format_tensor(a, ember_name(a), requires_grad=True, is_parameter=True) == repr(p)
        p = torch.nn.Parameter(to_torch(a), requires_grad=False)
        assert format_tensor(a, ember_name(a), is_parameter=True) == repr(p)


def torch_with_suffixes(t, suffixes):
    """torch's own layout of a CPU tensor plus suffixes (its CPU wheel has no CUDA tensors)."""
    tstr = torch._tensor_str
    return tstr._add_suffixes("tensor(" + tstr._tensor_str(t, 7), suffixes, 7, False)


@pytest.mark.parametrize("a,dtype,kwargs,suffixes", [
    (np.array([1.0, 2.0], np.float32), "float32", {}, []),
    (np.array([1, 2], np.int32), "int32", {}, ["dtype=torch.int32"]),
    (np.array([1.5], np.float32), "float32", dict(grad_fn_name="AddBackward0"),
     ["grad_fn=<AddBackward0>"]),
    (np.arange(16.0, dtype=np.float16) * 1.5, "float16", dict(requires_grad=True),
     ["dtype=torch.float16", "requires_grad=True"]),
    (np.arange(15.0).reshape(3, 5) * 1e7, "float64", dict(requires_grad=True),
     ["dtype=torch.float64", "requires_grad=True"]),
], ids=str)
def test_device_suffix(a, dtype, kwargs, suffixes):
    for device in ["cuda:0", "cuda:1"]:
        got = format_tensor(a, dtype, device_str=device, **kwargs)
        assert got == torch_with_suffixes(to_torch(a), [f"device='{device}'"] + suffixes)


@pytest.mark.parametrize("default", [torch.float64, torch.float16, torch.bfloat16])
def test_default_dtype(default):
    old = _dtype.get_default_dtype()
    torch.set_default_dtype(default)
    _dtype.set_default_dtype(getattr(_dtype, str(default)[6:]))
    try:
        for dtype in ALL_DTYPES:
            check(sample((3,), dtype))
            check(np.zeros((0,), dtype))
    finally:
        torch.set_default_dtype(torch.float32)
        _dtype.set_default_dtype(old)


def test_dtype_object():
    a = np.array([1, 2], np.int32)
    assert format_tensor(a, _dtype.int32) == format_tensor(a, "int32") == repr(to_torch(a))


# ---------------------------------------------------------------- random arrays

def float_elements(dtype):
    width = {np.dtype(np.float16): 16, np.dtype(np.float32): 32}.get(np.dtype(dtype), 64)
    scaled = st.tuples(st.floats(-1, 1, width=width), st.integers(-12, 12)).map(
        lambda p: p[0] * 10.0 ** p[1])
    return st.one_of(st.floats(width=width), scaled, st.integers(-10**6, 10**6).map(float),
                     st.sampled_from([0.0, -0.0, math.nan, math.inf, 1e8, 1e10]))


@st.composite
def any_array(draw):
    dtype = np.dtype(draw(st.sampled_from(ALL_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    if dtype.kind in "biu":
        return draw(hnp.arrays(dtype, shape))
    base = dtype if dtype.kind == "f" and dtype != BF16 else np.float32
    real = draw(hnp.arrays(np.float64, shape, elements=float_elements(base)))
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype.kind == "c":
            imag = draw(hnp.arrays(np.float64, shape, elements=float_elements(base)))
            return (real + 1j * imag).astype(dtype)
        return real.astype(dtype)


OPTIONS = st.fixed_dictionaries({}, optional={
    "precision": st.integers(0, 8), "threshold": st.integers(0, 60),
    "edgeitems": st.integers(0, 4), "linewidth": st.integers(10, 120),
    "sci_mode": st.booleans()})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_array())
def test_random_arrays(a):
    check(a)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_array(), OPTIONS)
def test_random_arrays_with_options(a, options):
    torch.set_printoptions(**options)
    set_printoptions(**options)
    try:
        check(a)
    finally:
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")


# ---------------------------------------------------------------- through ember tensors

def _leaf(lib):
    return lib.tensor([1.0, -2.5, 3.0], requires_grad=True)


EMBER_CASES = {
    "vector": lambda lib: lib.tensor([1.0, 2, 3]),
    "arange": lambda lib: lib.arange(10),
    "int32": lambda lib: lib.zeros(2, 3, dtype=lib.int32),
    "uint8": lambda lib: lib.tensor([1, 255], dtype=lib.uint8),
    "float64": lambda lib: lib.tensor([[1.5, -2], [3, 4]], dtype=lib.float64),
    "bool": lambda lib: lib.tensor([True, False]),
    "scalar": lambda lib: lib.tensor(3.5),
    "empty_int64": lambda lib: lib.tensor([], dtype=lib.int64),
    "empty_2d": lambda lib: lib.zeros(0, 3),
    "complex64": lambda lib: lib.tensor([1 + 2j, -0.5j], dtype=lib.complex64),
    "complex128": lambda lib: lib.tensor([1 + 2j], dtype=lib.complex128),
    "float16": lambda lib: lib.ones(5, dtype=lib.float16) / 3,
    "bfloat16": lambda lib: lib.ones(3, dtype=lib.bfloat16) / 3,
    "summarized": lambda lib: lib.arange(2000.0).reshape(40, 50),
    "linspace": lambda lib: lib.linspace(-3, 3, 7),
    "leaf": _leaf,
    "mul": lambda lib: _leaf(lib) * 2,
    "rsub": lambda lib: 2 - _leaf(lib),
    "rdiv": lambda lib: 2 / _leaf(lib),
    "sum": lambda lib: _leaf(lib).sum(),
    "exp": lambda lib: _leaf(lib).exp(),
    "mean": lambda lib: (_leaf(lib) * _leaf(lib)).mean(),
    "view": lambda lib: _leaf(lib).view(3, 1),
    "slice": lambda lib: _leaf(lib)[1:],
    "detach": lambda lib: _leaf(lib).detach(),
    "wrapped_suffix": lambda lib: lib.linspace(0, 1, 30, requires_grad=True) * 3,
    "float64_grad": lambda lib: lib.ones(2, dtype=lib.float64, requires_grad=True) + 1,
}


@pytest.mark.parametrize("name", EMBER_CASES)
def test_ember_tensor_repr(name):
    make = EMBER_CASES[name]
    got = make(ember)
    assert repr(got) == repr(make(torch))
    assert str(got) == repr(got)


def test_ember_print_options():
    t = ember.arange(30.0) / 7
    with printoptions(precision=2, linewidth=40), \
            torch._tensor_str.printoptions(precision=2, linewidth=40):
        assert repr(t) == repr(torch.arange(30.0) / 7)


def test_ember_device_suffix():
    t = ember.tensor([1.0, 2.0], device="mock")
    assert repr(t) == "tensor([1., 2.], device='mock:0')"


def test_ember_subclass_prefix():
    ours = type("MyTensor", (ember.Tensor,), {})
    theirs = type("MyTensor", (torch.Tensor,), {})
    got = repr(ours(list(range(30))))
    assert got == repr(theirs(list(range(30))))
    assert got.startswith("MyTensor([ 0.,  1.,")


def test_ember_parameter_and_buffer():
    for make in [lambda lib, P: P(lib.ones(2, 3)),
                 lambda lib, P: P(lib.arange(4.0) / 3, requires_grad=False),
                 lambda lib, P: P(lib.ones(2, dtype=lib.float64))]:
        assert repr(make(ember, Parameter)) == repr(make(torch, torch.nn.Parameter))
    assert repr(Buffer(ember.ones(3))) == repr(torch.nn.Buffer(torch.ones(3)))
    ours = type("MyParam", (Parameter,), {})
    theirs = type("MyParam", (torch.nn.Parameter,), {})
    assert repr(ours(ember.ones(2))) == repr(theirs(torch.ones(2)))
