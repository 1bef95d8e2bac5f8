"""R2: dtype promotion parity with torch.

Every pair of operands drawn from 12 dtypes x {dimensioned tensor, 0-d tensor, Python scalar}
(36 x 36 = 1,296 pairs) is run through `result_type` and through every binary op, operator and
in-place variant; ember must give torch's dtype (or raise torch's exception class) and torch's
values. The one documented difference: ember has no complex32, so where torch's result is
complex32 (float16 with a complex operand) ember gives complex64."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import ember

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]
FORMS = ["tensor", "zerod", "scalar"]
OPERANDS = list(itertools.product(DTYPES, FORMS))
PAIRS = [(a, b) for a in OPERANDS for b in OPERANDS]
TENSOR_PAIRS = [(a, b) for a, b in PAIRS if "scalar" not in (a[1], b[1]) or a[1] != b[1]]

_SCALAR = {"bool": True, "complex64": 1 + 2j, "complex128": 1 + 2j}
_VALUES = {"bool": [True, True], "complex64": [3 + 1j, 2 - 1j], "complex128": [3 + 1j, 2 - 1j]}


def make(lib, name, form, first=True):
    """An operand: dimensioned tensors hold [3, 2], 0-d ones 2, scalars 3 / 2.5 / True / 1+2j."""
    if form == "scalar":
        if name in _SCALAR:
            return _SCALAR[name]
        return 2.5 if ("float" in name) else 3
    vals = _VALUES.get(name, [3, 2])
    dt = getattr(lib, name)
    if form == "zerod":
        return lib.tensor(vals[1], dtype=dt)
    return lib.tensor(vals, dtype=dt)


def outcome(fn):
    """('ok', dtype name, values as a NumPy array) or ('err', exception class name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fn()
        except Exception as e:      # noqa: BLE001 - the class is what we compare
            return ("err", type(e).__name__)
    if isinstance(r, bool):
        return ("ok", "pybool", np.array(r))
    dt = str(r.dtype).replace("torch.", "")
    if isinstance(r, torch.Tensor):
        vals = r.detach().to(torch.complex128 if r.is_complex() else torch.float64).numpy()
    else:
        a = np.asarray(r.arr)
        vals = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    return ("ok", dt, vals)


def is_chalf(n1, f1, n2, f2):
    try:
        return torch.result_type(make(torch, n1, f1), make(torch, n2, f2)) == torch.complex32
    except Exception:       # noqa: BLE001
        return False


def compare(e, t, chalf):
    """None if ember's outcome matches torch's, else a description."""
    if chalf:       # ember's stand-in for complex32 is complex64, which has every kernel
        if t[0] == "ok" and t[1] == "complex32":
            t = ("ok", "complex64", t[2])
        if t[:2] == ("err", "NotImplementedError"):
            return None
    if e[:2] != t[:2]:
        return f"ember {e[:2]} torch {t[:2]}"
    if e[0] == "ok":
        tol = 2e-2 if t[1] in ("float16", "bfloat16", "complex32") or chalf else 1e-6
        if e[2].shape != t[2].shape or not np.allclose(e[2], t[2], rtol=tol, atol=tol,
                                                       equal_nan=True):
            return f"values {e[2]} vs torch {t[2]}"
    return None


def _check(fn, pairs):
    bad = []
    for (n1, f1), (n2, f2) in pairs:
        t = outcome(lambda: fn(torch, make(torch, n1, f1), make(torch, n2, f2)))
        e = outcome(lambda: fn(ember, make(ember, n1, f1), make(ember, n2, f2)))
        msg = compare(e, t, is_chalf(n1, f1, n2, f2))
        if msg:
            bad.append(f"{n1}/{f1} , {n2}/{f2}: {msg}")
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:40])


def test_result_type_all_pairs():
    _check(lambda lib, a, b: _rt(lib, a, b), PAIRS)


def _rt(lib, a, b):
    r = lib.result_type(a, b)
    return lib.empty(0, dtype=r)


def test_promote_types_and_can_cast():
    for a, b in itertools.product(DTYPES, DTYPES):
        ta, tb = getattr(torch, a), getattr(torch, b)
        ea, eb = getattr(ember, a), getattr(ember, b)
        assert repr(ember.promote_types(ea, eb)) == repr(torch.promote_types(ta, tb)), (a, b)
        assert ember.can_cast(ea, eb) == torch.can_cast(ta, tb), (a, b)


BINARY_FNS = {
    "add": lambda L, a, b: L.add(a, b),
    "add.alpha": lambda L, a, b: L.add(a, b, alpha=2),
    "sub": lambda L, a, b: L.sub(a, b),
    "sub.alpha": lambda L, a, b: L.sub(a, b, alpha=2),
    "mul": lambda L, a, b: L.mul(a, b),
    "div": lambda L, a, b: L.div(a, b),
    "div.floor": lambda L, a, b: L.div(a, b, rounding_mode="floor"),
    "div.trunc": lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
    "true_divide": lambda L, a, b: L.true_divide(a, b),
    "floor_divide": lambda L, a, b: L.floor_divide(a, b),
    "remainder": lambda L, a, b: L.remainder(a, b),
    "fmod": lambda L, a, b: L.fmod(a, b),
    "pow": lambda L, a, b: L.pow(a, b),
    "float_power": lambda L, a, b: L.float_power(a, b),
    "atan2": lambda L, a, b: L.atan2(a, b),
    "hypot": lambda L, a, b: L.hypot(a, b),
    "copysign": lambda L, a, b: L.copysign(a, b),
    "xlogy": lambda L, a, b: L.xlogy(a, b),
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "fmax": lambda L, a, b: L.fmax(a, b),
    "fmin": lambda L, a, b: L.fmin(a, b),
    "eq": lambda L, a, b: L.eq(a, b),
    "ne": lambda L, a, b: L.ne(a, b),
    "lt": lambda L, a, b: L.lt(a, b),
    "le": lambda L, a, b: L.le(a, b),
    "gt": lambda L, a, b: L.gt(a, b),
    "ge": lambda L, a, b: L.ge(a, b),
    "logical_and": lambda L, a, b: L.logical_and(a, b),
    "logical_or": lambda L, a, b: L.logical_or(a, b),
    "logical_xor": lambda L, a, b: L.logical_xor(a, b),
    "bitwise_and": lambda L, a, b: L.bitwise_and(a, b),
    "bitwise_or": lambda L, a, b: L.bitwise_or(a, b),
    "bitwise_xor": lambda L, a, b: L.bitwise_xor(a, b),
    "bitwise_left_shift": lambda L, a, b: L.bitwise_left_shift(a, b),
    "bitwise_right_shift": lambda L, a, b: L.bitwise_right_shift(a, b),
    "where": lambda L, a, b: L.where(L.tensor([True, False]), a, b),
    "clamp_min": lambda L, a, b: L.clamp(a, min=b),
    "clamp_max": lambda L, a, b: L.clamp(a, max=b),
    "lerp": lambda L, a, b: L.lerp(a, b, 0.25),
    "isclose": lambda L, a, b: L.isclose(a, b),
    "equal": lambda L, a, b: L.equal(a, b),
}
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<<", ">>", "==", "!=", "<",
             "<=", ">", ">="]


@pytest.mark.parametrize("name", list(BINARY_FNS))
def test_binary_op_dtypes(name):
    _check(BINARY_FNS[name], TENSOR_PAIRS)


def _operator(sym):
    code = compile(f"a {sym} b", sym, "eval")
    return lambda L, a, b: eval(code, {"a": a, "b": b})


@pytest.mark.parametrize("sym", OPERATORS)
def test_operator_dtypes(sym):
    pairs = TENSOR_PAIRS
    if sym in ("<<", ">>"):     # scalar << tensor: tested separately below
        pairs = [(a, b) for a, b in pairs if a[1] != "scalar"]
    _check(_operator(sym), pairs)


@pytest.mark.parametrize("sym", ["<<", ">>"])
def test_reflected_shift_operators(sym):
    _check(_operator(sym), [(a, b) for a, b in TENSOR_PAIRS if a[1] == "scalar"])


INPLACE = ["add_", "sub_", "mul_", "div_", "floor_divide_", "remainder_", "fmod_", "pow_",
           "atan2_", "hypot_", "maximum_", "eq_", "lt_", "logical_and_", "bitwise_and_",
           "bitwise_or_", "bitwise_left_shift_", "clamp_min_", "lerp_", "copysign_"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_dtypes(name):
    """`self` keeps its dtype; results that cannot be cast into it raise RuntimeError."""
    pairs = [(a, b) for a, b in PAIRS if a[1] != "scalar"]

    def fn(L, a, b):
        if name == "lerp_":
            return a.lerp_(b, 0.25)
        return getattr(a, name)(b)
    _check(fn, pairs)


@pytest.mark.parametrize("sym", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^="])
def test_augmented_assignment_dtypes(sym):
    pairs = [(a, b) for a, b in PAIRS if a[1] != "scalar"]
    code = compile(f"a {sym} b", sym, "exec")

    def fn(L, a, b):
        ns = {"a": a, "b": b}
        exec(code, ns)
        assert ns["a"] is a
        return a
    _check(fn, pairs)


NUMPY_SCALARS = [np.bool_(True), np.uint8(3), np.int8(-3), np.int16(3), np.int32(3), np.int64(3),
                 np.float16(2.5), np.float32(2.5), np.float64(2.5)]


@pytest.mark.parametrize("op", ["+", "*", "-", "/", "==", "<"])
def test_numpy_scalars_are_weak_like_python_scalars(op):
    """torch reads NumPy scalars as Python numbers (np.bool_ as a float): the result dtype
    follows the tensor, on either side of the operator."""
    bad = []
    for name, form in itertools.product(DTYPES, ["tensor", "zerod"]):
        for s in NUMPY_SCALARS:
            for code in (f"t {op} s", f"s {op} t"):
                t = outcome(lambda: eval(code, {"t": make(torch, name, form), "s": s}))
                e = outcome(lambda: eval(code, {"t": make(ember, name, form), "s": s}))
                assert e[0] != "ok" or isinstance(eval(code, {"t": make(ember, name, form),
                                                              "s": s}), ember.Tensor)
                msg = compare(e, t, False)
                if msg:
                    bad.append(f"{name}/{form} {code} with {type(s).__name__}: {msg}")
    assert not bad, "\n".join(bad[:40])


def test_numpy_scalar_result_type():
    for name, s in itertools.product(DTYPES, NUMPY_SCALARS):
        t = torch.result_type(make(torch, name, "tensor"), s)
        e = ember.result_type(make(ember, name, "tensor"), s)
        assert repr(e) == repr(t), (name, type(s).__name__)


def test_python_int_scalars_wrap_like_torch():
    for dt in ["uint8", "int8", "int16", "int32", "int64"]:
        for s in [300, -1, -300, 2 ** 31 + 5, 2 ** 63, 2 ** 64 - 1]:
            t = outcome(lambda: make(torch, dt, "tensor") + s)
            e = outcome(lambda: make(ember, dt, "tensor") + s)
            assert compare(e, t, False) is None, (dt, s, e, t)
    for s in [2 ** 64, -2 ** 63 - 1]:
        with pytest.raises(OverflowError):
            make(ember, "int64", "tensor") + s
        with pytest.raises(OverflowError):
            make(torch, "int64", "tensor") + s


def test_default_dtype_changes_scalar_promotion():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for name, s in itertools.product(DTYPES, [2.5, 1 + 2j, 3, True]):
            t = outcome(lambda: make(torch, name, "tensor") * s)
            e = outcome(lambda: make(ember, name, "tensor") * s)
            assert compare(e, t, is_chalf(name, "tensor", "complex64" if isinstance(
                s, complex) else "int64", "scalar")) is None, (name, s, e, t)
            want = repr(torch.result_type(make(torch, name, "zerod"), s))
            got = repr(ember.result_type(make(ember, name, "zerod"), s))
            assert got == want.replace("complex32", "complex64"), (name, s)
        assert ember.tensor([1.5]).dtype is ember.float64
        assert ember.arange(0.0, 1.0, 0.5).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64"])
def test_shell_unsigned_dtypes_store_convert_print_and_refuse_promotion_as_torch(name):
    """torch's uint16/32/64: storage, NumPy interop, conversion, comparison and printing work;
    promotion with another integer or bool dtype raises torch's RuntimeError."""
    data = np.array([1, 2, 60000], dtype=name)
    for code in ["t.tensor(d)", "t.from_numpy(d)", "t.tensor(d).float()", "t.tensor(d) == 2",
                 "t.tensor(d) * 2", "t.tensor(d)[1:]", "t.cat([t.tensor(d), t.tensor(d)])",
                 "t.zeros(2, dtype=getattr(t, n))", "t.tensor(d).sum()",
                 "t.tensor(d).to(t.float64) / 2", "getattr(t, n).is_signed",
                 "getattr(t, n).itemsize", "t.promote_types(getattr(t, n), t.float32)"]:
        out = [repr(eval(code, {"t": lib, "d": data, "n": name})) for lib in (ember, torch)]
        assert out[0] == out[1], code
    assert ember.tensor(data).numpy().dtype == np.dtype(name)
    for other in ["int64", "int32", "uint8", "bool", "uint16" if name != "uint16" else "uint32"]:
        msgs = []
        for lib in (ember, torch):
            with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64") as e:
                lib.promote_types(getattr(lib, name), getattr(lib, other))
            with pytest.raises(RuntimeError):
                lib.tensor(data) + lib.ones(3, dtype=getattr(lib, other))
            msgs.append(str(e.value))
        assert msgs[0] == msgs[1]


def test_complex32_is_named_but_not_stored():
    assert repr(ember.chalf) == repr(torch.chalf) == "torch.complex32"
    with pytest.raises(TypeError, match="no complex32 tensors"):
        ember.ones(2, dtype=ember.complex32)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("code", ["x * 0.1", "0.1 * x", "x.mul(1.7)", "x / 0.3", "x.div(2.9)",
                                  "0.3 / x", "x + 0.1", "x - 0.7", "0.3 - x",
                                  "x.add(0.3, alpha=2)", "x * 3"])
def test_half_precision_with_python_floats_matches_torch_bit_for_bit(code, dtype):
    """torch's mul/div kernels take a Python float in float32 and round the result once (its
    add/sub round the scalar to the tensor's dtype first); values and gradients as torch."""
    vals = (np.random.default_rng(0).standard_normal(500) * 10).astype(np.float32)
    out = []
    for lib in (ember, torch):
        x = lib.tensor(vals).to(getattr(lib, dtype)).requires_grad_()
        y = eval(code, {"x": x})
        y.backward(lib.ones_like(y))
        out.append((y.detach().float().numpy(), x.grad.float().numpy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
