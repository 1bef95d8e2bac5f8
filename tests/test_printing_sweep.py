"""Printing of real ember tensors against torch, built the same way in both libraries.

Every case makes one seeded NumPy array, turns it into a tensor of each library (plus the same
view, autograd op or Parameter wrapper) and compares repr, str, format() and tolist() under a
set of print options.  scripts/print_sweep.py is the long version of this sweep.
"""
import math

import ml_dtypes
import numpy as np
import pytest
import torch

import ember

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
          "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0,), (0, 3), (2, 0, 4),
          (2000,), (40, 40), (1, 1200), (7, 7, 30)]
OPTIONS = [
    {}, {"precision": 2}, {"precision": 0}, {"precision": 8}, {"sci_mode": True},
    {"sci_mode": False}, {"linewidth": 40}, {"linewidth": 200}, {"linewidth": 0},
    {"threshold": 10}, {"threshold": 10, "edgeitems": 1}, {"threshold": 5, "edgeitems": 0},
    {"edgeitems": 5, "threshold": 20}, {"profile": "short"}, {"profile": "full"},
    {"profile": "short", "sci_mode": True}, {"precision": 3, "sci_mode": False, "linewidth": 60},
    {"default_dtype": "float16"}, {"default_dtype": "bfloat16", "sci_mode": True},
    {"default_dtype": "float64"}, {"default_dtype": "float64", "precision": 2},
]
# value families: the float64 values a float tensor is cast from
FAMILIES = {
    "small": lambda rng, n: rng.integers(0, 10, n).astype(np.float64),
    "neg": lambda rng, n: rng.integers(-120, 120, n).astype(np.float64),
    "mixed": lambda rng, n: 10.0 ** rng.uniform(-8, 8, n) * rng.choice([-1, 1], n),
    "intvalued": lambda rng, n: np.round(rng.standard_normal(n) * 10 ** rng.integers(0, 9, n)),
    "special": lambda rng, n: rng.choice(
        [math.nan, math.inf, -math.inf, -0.0, 0.0, 1.0, -2.5, 1e-5, 3.0], n),
    "boundary": lambda rng, n: rng.choice(
        [0.5, 1.5, 2.99995, 9.99995, 0.00015, 99999.5, 0.12345, 1e-4, 9.9999e-5, 1e8, 1e8 + 1,
         1000.0, 0.001], n) * rng.choice([1, -1, 1 + 1e-12, 1 - 1e-12], n),
    "huge": lambda rng, n: rng.choice([1e30, -1e30, 65504.0, 3e38, 1e-30, 6e-8, 2.0 ** 60], n),
    "normal": lambda rng, n: rng.standard_normal(n) * 10,
}
# name -> (transform, floating only); None from a transform skips the case
TRANSFORMS = {
    "plain": (lambda L, t: t, False),
    "requires_grad": (lambda L, t: t.requires_grad_(), True),
    "mul2": (lambda L, t: t.requires_grad_() * 2, True),
    "param": (lambda L, t: L.nn.Parameter(t), True),
    "param_nograd": (lambda L, t: L.nn.Parameter(t, requires_grad=False), False),
    "transpose": (lambda L, t: t.transpose(0, -1) if t.dim() >= 2 else None, False),
    "slice": (lambda L, t: t[..., ::2] if t.dim() else None, False),
    "getitem0": (lambda L, t: t[0] if t.dim() and t.shape[0] else None, False),
    "detach": (lambda L, t: (t.requires_grad_() + 1).detach(), True),
    "tensor_api": (lambda L, t: L.tensor(t.tolist(), dtype=t.dtype)
                   if t.dtype != L.uint64 else None, False),
}


@pytest.fixture(autouse=True)
def _default_options():
    yield
    for lib in (torch, ember):
        lib.set_printoptions(profile="default")
        lib.set_default_dtype(lib.float32)


def make_array(rng, dtype, shape, family):
    """Seeded values of one family, as a NumPy array of `dtype` (bfloat16: ml_dtypes')."""
    n = math.prod(shape)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        lo, hi = {"small": (0, 10), "neg": (-120, 120), "huge": (info.min, info.max)}.get(
            family, (-100000, 100000))
        return np.asarray(rng.integers(max(info.min, lo), min(info.max, hi), size=shape,
                                       endpoint=True, dtype=dtype))
    v = FAMILIES[family](rng, n)
    if dtype.startswith("complex"):
        im = FAMILIES[family if rng.random() < 0.7 else "normal"](rng, n)
        v = np.array([complex(a, b) for a, b in zip(v, im)])  # keeps NaN parts apart
    with np.errstate(over="ignore"):
        if dtype in ("float16", "bfloat16"):
            return v.reshape(shape).astype(np.float32).astype(
                ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16)
        return np.asarray(v.reshape(shape).astype(dtype))


def build(lib, a):
    if a.dtype == ml_dtypes.bfloat16:
        return lib.from_numpy(a.astype(np.float32)).to(lib.bfloat16)
    return lib.from_numpy(a.copy())


def outputs(t):
    """Everything printed about `t`, an exception's type and message standing for a text."""
    def safe(fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - the exception is the output
            return f"{type(e).__name__}: {e}"
    out = {"repr": safe(lambda: repr(t)), "str": safe(lambda: str(t)),
           "format": safe(lambda: f"{t}"), "format .3f": safe(lambda: f"{t:.3f}"),
           "tolist": safe(lambda: str(t.tolist()))}
    if t.dim() == 0:
        out.update({"format >12": safe(lambda: f"{t:>12}"),
                    "format .2e": safe(lambda: f"{t:.2e}")})
    return out


def compare(make, options):
    """Build with make(lib) and compare every output under `options` in both libraries."""
    options = dict(options)
    default = options.pop("default_dtype", "float32")
    got = {}
    for lib in (torch, ember):
        lib.set_printoptions(profile="default")
        lib.set_printoptions(**options)
        lib.set_default_dtype(getattr(lib, default))
        got[lib] = outputs(make(lib))
        got[lib]["options"] = lib._tensor_str.get_printoptions()
    for what, expected in got[torch].items():
        assert got[ember][what] == expected, (
            f"{what} under {options}:\nember:\n{got[ember][what]}\ntorch:\n{expected}")


def random_case(rng):
    while True:
        dtype, shape = DTYPES[rng.integers(len(DTYPES))], SHAPES[rng.integers(len(SHAPES))]
        family = list(FAMILIES)[rng.integers(len(FAMILIES))]
        name = list(TRANSFORMS)[rng.integers(len(TRANSFORMS))]
        options = OPTIONS[rng.integers(len(OPTIONS))]
        a = make_array(rng, dtype, shape, family)
        fn, floating_only = TRANSFORMS[name]
        if floating_only and not dtype.startswith(("float", "bfloat", "complex")):
            continue
        if fn(torch, build(torch, a)) is not None:
            return f"{dtype}{shape} {family} {name}", a, fn, options


@pytest.mark.parametrize("seed", range(25))
def test_random_sample(seed):
    """A seeded random sample of dtype x shape x values x view/autograd x print options."""
    rng = np.random.default_rng(seed)
    for _ in range(20):
        label, a, fn, options = random_case(rng)
        try:
            compare(lambda lib: fn(lib, build(lib, a)), options)
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}") from None


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_shape_family(dtype):
    """Every dtype in every small shape, each family of values once (default options)."""
    rng = np.random.default_rng(len(dtype))
    for shape in SHAPES[:9]:
        for family in FAMILIES:
            a = make_array(rng, dtype, shape, family)
            compare(lambda lib: build(lib, a), {})


def _backward_grad(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    return x.grad


def _dual(lib, primal, tangent):
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        return repr(fw.make_dual(lib.tensor(primal), lib.tensor(tangent)))


SPECIALS = {
    "tensor([])": lambda L: L.tensor([]),
    "empty(0, 3)": lambda L: L.empty(0, 3),
    "zeros(2, 0, 4) requires_grad": lambda L: L.zeros(2, 0, 4, requires_grad=True),
    "complex nan parts": lambda L: L.tensor([complex(math.nan, 1), complex(1, math.nan),
                                             complex(math.nan, math.nan)]),
    "complex negative zero": lambda L: L.tensor([complex(-0.0, -0.0), complex(0.0, -0.0),
                                                 complex(-0.0, 0.0)]),
    "complex64 -0 0-d": lambda L: L.tensor(complex(-0.0, -0.0), dtype=L.complex64),
    "conj view": lambda L: L.tensor([1 + 2j, 3 - 4j]).conj(),
    "real view": lambda L: L.tensor([1 + 2j, -3.5 + 0j]).real,
    "negative zero 0-d": lambda L: -L.tensor(0.0),
    "Parameter 0-d": lambda L: L.nn.Parameter(L.tensor(2.5)),
    "Parameter empty": lambda L: L.nn.Parameter(L.empty(0)),
    "Parameter int": lambda L: L.nn.Parameter(L.arange(3), requires_grad=False),
    "Buffer 0-d": lambda L: L.nn.Buffer(L.tensor(1.5)),
    "subclass": lambda L: L.tensor([1.0, 2.0]).as_subclass(type("MyT", (L.Tensor,), {})),
    "subclass 0-d": lambda L: L.tensor(1.0).as_subclass(type("MyT", (L.Tensor,), {})),
    "meta 0-d": lambda L: L.empty((), device="meta"),
    "meta int32": lambda L: L.empty(2, 3, device="meta", dtype=L.int32),
    "sparse coo": lambda L: L.tensor([[0.0, 1.5], [2.0, 0.0]]).to_sparse(),
    "sparse csr int16": lambda L: L.tensor([[0, 1], [2, 0]], dtype=L.int16).to_sparse_csr(),
    "sum grad_fn": lambda L: L.ones(3, requires_grad=True).sum(),
    "select grad_fn": lambda L: L.ones(2, 3, requires_grad=True)[0],
    "grad after backward": _backward_grad,
    "arange 2000": lambda L: L.arange(2000),
    "40x40 float": lambda L: L.arange(1600.0).reshape(40, 40) / 7,
    "as_strided": lambda L: L.arange(10.0).as_strided((3, 3), (1, 1)),
    "expand 0-d": lambda L: L.tensor(2.0).expand(3, 4),
    "int64 extremes": lambda L: L.tensor([-2 ** 63, 2 ** 63 - 1]),
    "subnormal": lambda L: L.tensor([5e-324, 1.0], dtype=L.float64),
}


class _NoList:
    """A tensor whose tolist() is left out of the comparison."""

    def __init__(self, t):
        self.t = t

    def dim(self):
        return self.t.dim()

    def tolist(self):
        return None

    def __repr__(self):
        return repr(self.t)

    def __format__(self, spec):
        return format(self.t, spec)


@pytest.mark.parametrize("options", OPTIONS[:8] + OPTIONS[-2:], ids=str)
@pytest.mark.parametrize("name", SPECIALS)
def test_special(name, options):
    if name.startswith("sparse"):  # tolist() raises in both, with other messages (not printing)
        make = SPECIALS[name]
        compare(lambda lib: _NoList(make(lib)), options)
    else:
        compare(SPECIALS[name], options)


# ---------------------------------------------------------------- fixed differences

@pytest.mark.parametrize("make", [
    lambda L: L.nn.Parameter(L.tensor(2.5)),
    lambda L: L.nn.Parameter(L.tensor(3), requires_grad=False),
    lambda L: L.tensor(1.0).as_subclass(type("MyT", (L.Tensor,), {})),
    lambda L: L.empty((), device="meta"),
    lambda L: L.nn.Buffer(L.tensor(1.5)),
    lambda L: L.tensor(1.5, requires_grad=True) * 2,
])
@pytest.mark.parametrize("spec", ["", ".3f", ">12"])
def test_format_0d(make, spec):
    """torch formats only a plain 0-d tensor as its number; a Parameter, a subclass and a meta
    tensor format as object.__format__: their str(), a TypeError for a non-empty spec."""
    def fmt(lib):
        try:
            return format(make(lib), spec)
        except TypeError as e:
            return f"TypeError: {e}"
    assert fmt(ember) == fmt(torch)


@pytest.mark.parametrize("make", [
    lambda L: L.tensor([1.0, 2.0]),
    lambda L: L.empty(0, 2, dtype=L.int32),
    lambda L: L.ones(2, requires_grad=True) * 2,
    lambda L: L.empty(2, device="meta"),
    lambda L: L.eye(2).to_sparse(),
    lambda L: L.eye(2).to_sparse_csr(),
])
def test_tensor_contents(make):
    """Tensor.__repr__(tensor_contents=...) prints the given text in place of the values."""
    for lib in (ember, torch):
        lib.set_printoptions(linewidth=30)
    assert (make(ember).__repr__(tensor_contents="[...]")
            == make(torch).__repr__(tensor_contents="[...]"))


@pytest.mark.parametrize("linewidth", [80, 40, 20])
def test_meta_suffixes_wrap(linewidth):
    for lib in (ember, torch):
        lib.set_printoptions(linewidth=linewidth)
    assert (repr(ember.empty(2, 3, device="meta", dtype=ember.int32))
            == repr(torch.empty(2, 3, device="meta", dtype=torch.int32)))


@pytest.mark.parametrize("primal,tangent", [(1.0, 2.0), ([1.0, 2.0], [0.5, 0.25]), ([], [])])
def test_forward_ad_tangent(primal, tangent):
    """A 0-d tangent is formatted (as its number), as torch does with f"tangent={tangent}"."""
    assert _dual(ember, primal, tangent) == _dual(torch, primal, tangent)


@pytest.mark.parametrize("shape", [(5, 5), (3, 3, 3)])
def test_negative_edgeitems(shape):
    """A negative edgeitems summarises a matrix into no rows: torch.stack's RuntimeError."""
    def text(lib):
        lib.set_printoptions(edgeitems=-1, threshold=3)
        try:
            return repr(lib.arange(math.prod(shape) * 1.0).reshape(shape))
        except RuntimeError as e:
            return str(e)
    assert text(ember) == text(torch)


def test_negative_edgeitems_vector():
    for lib in (ember, torch):
        lib.set_printoptions(edgeitems=-1, threshold=3)
    assert repr(ember.arange(8.0)) == repr(torch.arange(8.0))


def test_print_options_object():
    assert repr(ember._tensor_str.PRINT_OPTS) == repr(torch._tensor_str.PRINT_OPTS)
