"""Error inputs of pointwise ops, reductions and factories: ember raises exactly when torch
raises, with the same exception class (R14's error_inputs)."""
import warnings

import numpy as np
import pytest
import torch

import ember

# x: float32 (2, 3); i: int64 (2, 3); b: bool (2, 3); z: 0-d float32; c: complex64 (2, 3)
ERRORS = [
    # shape mismatches
    "x + L.ones(3, 2)", "x * L.ones(4)", "x - L.ones(2, 2)", "L.maximum(x, L.ones(5))",
    "x.atan2(L.ones(4))", "L.where(b, x, L.ones(3, 2))", "x.lerp(L.ones(4), 0.5)",
    "x.addcmul(x, L.ones(4))", "x.clamp(L.ones(4))", "x < L.ones(4)", "x.add_(L.ones(3, 3))",
    "z.add_(x)", "x.isclose(L.ones(4))", "i & L.ones(4, dtype=L.int64)", "x.pow(L.ones(4))",
    # wrong dtypes
    "-b", "b - b", "b - 1", "x & x", "x | 1", "x << 1", "b << b", "x.bitwise_not()",
    "L.floor_divide(b, b)", "b % b", "L.fmod(c, c)", "c < c", "c.floor()", "c.clamp(0, 1)",
    "L.maximum(c, c)", "c.sign()", "c.erf()", "i.frac()", "i.hypot(i)", "b.abs()", "b.relu()",
    "b ** b", "True ** b", "i ** -1", "L.where(i, x, x)", "L.where(x > 0, x, 'a')",
    "x.isclose(x.double())", "x.lerp(x.double(), 0.5)", "i.lerp(i, 0.5)", "c.logit()",
    "i.addcdiv(i, i)", "L.heaviside(x, x.double())", "c.isposinf()",
    "x.div(x, rounding_mode='round')", "i.div_(2)", "i.sqrt_()", "i.add_(0.5)", "b.add_(1)",
    "i.mul_(x)", "b.clamp_(0.5)", "x.float_power_(2)", "i.round(decimals=1)",
    "x.clamp()", "x.clamp(0.5, L.ones(3))",
    "x.add(x, alpha=True)", "i.add(i, alpha=0.5)", "L.polar(x, i)",
    # integer division by zero
    "i // 0", "i % 0", "L.fmod(i, 0)", "i.div(0, rounding_mode='floor')", "i // L.zeros(3, "
    "dtype=L.int64)",
    # non-tensor inputs and scalar operands the op refuses
    "L.exp(2.0)", "L.exp([1.0])", "L.maximum(x, 1.0)", "L.maximum(1.0, x)", "L.atan2(x, 2)",
    "L.logical_and(x, True)", "L.hypot(2, x)", "L.eq(1, x)", "L.fmod(2, x)", "L.lt(2.0, x)",
    "L.isclose(x, 1.0)", "L.clamp(1.0, 0)", "L.sum(2.0)", "L.mean([1.0])", "L.where(1, x, x)",
    "x + 'a'", "x * None", "x + [1, 2]", "x + object()", "L.add(x, x, 3)",
    # reductions
    "x.sum(2)", "x.sum(-3)", "x.sum((0, 0))", "x.sum(1.5)", "x.mean(5)", "x.max(2)",
    "x.argmax(2)", "x.cumsum(2)", "x.cumsum()", "x.prod((0, 1))", "x.median(-3)",
    "x.mode(3)", "x.var(2)", "x.std((0, 0))", "x.logsumexp()", "x.quantile(2.0)",
    "x.kthvalue(4, 1)", "x.kthvalue(0, 1)", "i.mean()", "b.mean()", "i.var()", "i.std(0)",
    "b.argmax()", "c.max()", "c.amax(0)", "c.argmax()", "c.median()", "c.cummax(0)",
    "c.nansum()", "i.nanmean()", "i.logcumsumexp(0)", "x.aminmax(dim=(0, 1))",
    "L.zeros(0).max()", "L.zeros(0).argmax()", "L.zeros(0, 3).amax(0)", "L.zeros(0, 3).max(0)",
    "L.zeros(0).quantile(0.5)", "L.zeros(0).median(0)", "L.zeros(0).aminmax()",
    "x.norm(dim=(0, 0))", "x.norm(p='nuc', dim=0)", "x.all(5)", "x.count_nonzero(3)",
    "x.max(None)", "x.prod(None)", "L.var(x, 0, True, correction=1)",
    # factories
    "L.zeros(-1)", "L.zeros(2.5)", "L.ones('a')", "L.full(2, 1.0)", "L.arange(0, 5, 0)",
    "L.arange(5, 0, 1)", "L.linspace(0, 1, -1)", "L.eye(-2)", "L.tensor('abc')",
    "L.tensor(['a', 'b'])", "L.tensor([[1, 2], [3]])", "L.tensor([[1, 2], 3])",
    "L.tensor(None)", "L.tensor({1, 2})", "L.tensor([1, 2], requires_grad=True)",
    "L.tensor([300], dtype=L.int8)", "L.tensor([2 ** 64])", "L.tensor([1j], dtype=L.float32)",
    "L.from_numpy(np.arange(3)[::-1])", "L.from_numpy([1])", "L.randint(5, 5, (2,))",
    "L.randn(2, dtype=L.int64)", "L.rand(2, dtype=L.bool)", "L.multinomial(L.ones(2), 3)",
    "L.multinomial(L.tensor([-1.0, 2.0]), 1)", "L.normal(0.0, -1.0, (2,))",
    "L.bernoulli(L.full((2,), 1.5))", "L.empty(2).uniform_(2, 1)",
    "L.empty(2, dtype=L.int64).normal_()", "L.ones(2, dtype=L.int64, requires_grad=True)",
    "L.set_default_dtype(L.int32)", "L.finfo(L.int64)", "L.iinfo(L.float32)",
    "L.manual_seed(2 ** 65)", "L.zeros(2).fill_(L.ones(2))",
    # integer tensors to negative integer powers (unsigned ones too)
    "i ** -1", "b ** -1", "L.ones(2, dtype=L.uint8) ** -1", "L.ones(2, dtype=L.uint8).pow_(-2)",
    "L.pow(L.ones(2, dtype=L.uint8), -1)",
]


def _env(lib):
    return {"L": lib, "np": np, "x": lib.ones(2, 3), "i": lib.ones(2, 3, dtype=lib.int64),
            "b": lib.ones(2, 3, dtype=lib.bool), "z": lib.tensor(1.0),
            "c": lib.ones(2, 3, dtype=lib.complex64)}


def _raises(lib, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            eval(expr, _env(lib))
        except Exception as e:      # noqa: BLE001 - the class is the point
            return type(e)
    return None


@pytest.mark.parametrize("expr", ERRORS)
def test_error_class_matches_torch(expr):
    t = _raises(torch, expr)
    assert t is not None, f"torch accepts {expr}: fix the table"
    e = _raises(ember, expr)
    assert e is not None, f"ember accepts {expr}, torch raises {t.__name__}"
    assert e.__name__ == t.__name__ or issubclass(e, t), (e.__name__, t.__name__)


def test_failed_inplace_leaves_tensor_unchanged():
    x = ember.tensor([1, 2, 3])
    for f in (lambda: x.div_(2), lambda: x.add_(ember.ones(4)), lambda: x.sqrt_()):
        with pytest.raises(RuntimeError):
            f()
        assert x.tolist() == [1, 2, 3] and x._version == 0


def test_invert_float_is_type_error():
    with pytest.raises(TypeError):
        ~ember.ones(2)


# dtype refusals whose message is torch's too (its kernel's name, or its own words for complex
# inputs: ember said "<op>_cpu" for each of these)
MESSAGES = ["c.sign()", "c.signbit()", "c.relu()", "c.ceil()", "c.floor()", "c.trunc()",
            "c.fix()", "b.ceil()", "b.floor()", "b.trunc()", "b.round()", "c.round()", "c.erf()",
            "c.erfc()", "c.erfinv()", "c.i0()", "c.lgamma()", "c.digamma()", "b.median(1)",
            "b.median()", "c.nanmedian()", "b.nanmedian(0)", "c.mode(1)", "c.mode()",
            "L.bernoulli(i)", "L.bernoulli(b)", "L.bernoulli(c)", "c.bernoulli(0.5)",
            "c.bernoulli_()", "L.bernoulli(x, out=c)"]


def _outcome(lib, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return repr(eval(expr, _env(lib)))
        except Exception as e:      # noqa: BLE001 - class and message are compared
            return type(e).__name__, str(e)


@pytest.mark.parametrize("expr", MESSAGES)
def test_dtype_refusal_messages_match_torch(expr):
    t = _outcome(torch, expr)
    assert isinstance(t, tuple), f"torch accepts {expr}: fix the table"
    assert _outcome(ember, expr) == t


def test_mode_of_complex_scalars_and_empty_tensors_computes():
    """torch refuses complex mode only where its kernel runs (a 0-d or empty input answers
    first; ember refused these too)."""
    for expr in ("L.tensor(1 + 2j).mode()", "L.zeros(0, 3, dtype=L.complex64).mode(1)"):
        assert _outcome(ember, expr) == _outcome(torch, expr)
