"""The op table: one entry per op (or variant) drives forward, gradient and gradcheck tests.

The same `fn` runs on ember and on torch, so an entry is also the spec of the op's API."""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class T:
    """A tensor argument: random values in the spec's domain (or `low`/`high`)."""
    shape: tuple = ()
    nc: bool = False            # a non-contiguous view
    grad: bool = True           # participates in gradient checks
    low: float = None
    high: float = None


def t(*shape, **kw):
    return T(shape, **kw)


@dataclass(frozen=True)
class I:
    """An integer tensor argument with values in [low, high)."""
    shape: tuple = ()
    low: int = 0
    high: int = 3
    dtype: str = "int64"


@dataclass(frozen=True)
class B:
    """A boolean tensor argument."""
    shape: tuple = ()


UNARY = [(t(4, 5),), (t(),), (t(0, 3),), (t(3, 4, nc=True),)]
BINARY = [(t(4, 5), t(4, 5)), (t(4, 1), t(5)), (t(), t(3)), (t(3), 2.5), (t(2, 3, nc=True),
                                                                           t(2, 3))]


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable
    samples: list = field(default_factory=lambda: UNARY)
    dtypes: tuple = ("float32", "float64")
    grad: bool = True
    domain: tuple = (-2.0, 2.0)
    tol: dict = field(default_factory=dict)
    gradcheck: bool = True
    skip: dict = field(default_factory=dict)     # {"cuda": "reason"}: a reason is mandatory


def _u(name, domain=(-2.0, 2.0), **kw):
    return OpSpec(name, lambda x: getattr(x, name)(), domain=domain, **kw)


def _st(x, f):
    """Straight-through: the value f(x) (quantised, with exact ties or zeros), the gradient of x.
    Lets gradient tests reach kinks and ties (clamp bounds, relu(0), max ties, prod zeros)."""
    return f(x.detach()) + (x - x.detach())


def _q(x):
    """Values rounded to halves: ties and exact zeros for the kink tests."""
    return _st(x, lambda d: (d * 2).round() / 2)


def _nan_at(x, mask_fn):
    """x with NaN where mask_fn(x) (gradient flows to the other entries)."""
    return x.masked_fill(mask_fn(x.detach()), float("nan"))


def _inf_nan(x):
    """x with nan, inf and -inf entries mixed in (for nan_to_num, isnan, ...)."""
    m = _mod(x)
    special = m.tensor([float("nan"), float("inf"), -float("inf"), 0.0], dtype=x.dtype,
                       device=x.device)
    return m.cat([x.reshape(-1), special])


POS = (0.1, 3.0)
UNIT = (-0.9, 0.9)
AWAY = (0.5, 2.0)           # divisors kept away from zero
INTS = [(I((3, 4), -5, 6),), (I((), -5, 6),), (I((0, 2)),)]
INT_PAIR = [(I((3, 4), -5, 6), I((3, 4), 1, 4)), (I((4, 1), -5, 6), I((5,), 1, 4))]
BOOL_PAIR = [(B((3, 4)), B((3, 4))), (B((4, 1)), B((5,)))]
SIGNED = [(t(3, 4, low=-2.0, high=2.0), t(3, 4, low=0.5, high=2.0)),
          (t(4, 1, low=-2.0, high=2.0), t(5, low=-2.0, high=-0.5))]
F32_LOOSE = {"float32": dict(rtol=1e-5, atol=1e-5)}
REDUCE = [(t(3, 4),), (t(2, 3, 4),), (t(2, 3, 4, nc=True),)]
REDUCE_ALL = [(t(3, 4),), (t(),), (t(0, 3),), (t(3, 4, nc=True),)]
ONE = ("float32",)          # integer/bool samples: the float dtype parameter does not matter


def _inplace(name, *args, **kw):
    return lambda x, *ys: getattr(x.clone(), name)(*(ys + args), **kw)


def _iop(x, y, sym):
    """An augmented assignment on a clone; it must keep the object (in place)."""
    z = x.clone()
    ns = {"z": z, "y": y}
    exec(f"z {sym} y", ns)
    assert ns["z"] is z
    return z


SPECS = [
    # ---- unary float-valued ops (ints give the default dtype, see test_pointwise_extra) ------
    _u("exp"), _u("exp2"), _u("expm1"), _u("log", POS), _u("log2", POS), _u("log10", POS),
    _u("log1p", (-0.5, 2.0)), _u("sqrt", POS), _u("rsqrt", POS), _u("sin"), _u("cos"),
    _u("tan", (-1.2, 1.2)), _u("asin", UNIT), _u("acos", UNIT), _u("atan"), _u("sinh"),
    _u("cosh"), _u("tanh"), _u("asinh"), _u("acosh", (1.1, 3.0)), _u("atanh", UNIT),
    _u("arcsin", UNIT), _u("arccos", UNIT), _u("arctan"), _u("arcsinh"),
    _u("arccosh", (1.1, 3.0)), _u("arctanh", UNIT),
    _u("sigmoid"), _u("erf"), _u("erfc"), _u("erfinv", UNIT), _u("reciprocal", POS),
    _u("lgamma", POS, tol=F32_LOOSE), _u("digamma", (0.5, 3.0), tol=F32_LOOSE),
    _u("deg2rad"), _u("rad2deg"),
    _u("square"), _u("neg"), _u("negative"), _u("abs"), _u("absolute"), _u("relu"), _u("frac"),
    _u("positive"), _u("sgn"),
    _u("sign", grad=False), _u("floor", grad=False), _u("ceil", grad=False),
    _u("trunc", grad=False), _u("fix", grad=False), _u("round", grad=False),
    OpSpec("sign.grad", lambda x: x.sign() * x),
    OpSpec("round.grad", lambda x: x.round() + x.floor() + x.ceil() + x.trunc()),
    OpSpec("round.decimals", lambda x: (x * 10).round(decimals=2), gradcheck=False),
    OpSpec("round.neg_decimals", lambda x: (x * 1000).round(decimals=-2), gradcheck=False),
    OpSpec("logit", lambda x: x.logit(), domain=(0.05, 0.95)),
    OpSpec("logit.eps", lambda x: x.logit(eps=0.2), domain=(0.05, 0.95), gradcheck=False),
    OpSpec("abs.kink", lambda x: _q(x).abs(), gradcheck=False),
    OpSpec("relu.kink", lambda x: _q(x).relu(), gradcheck=False),
    OpSpec("sqrt.zero", lambda x: _st(x, lambda d: d * 0).sqrt(), [(t(3),)], gradcheck=False),
    OpSpec("nan_to_num", lambda x: _inf_nan(x).nan_to_num(), [(t(3, 4),)]),
    OpSpec("nan_to_num.args", lambda x: _inf_nan(x).nan_to_num(1.5, 9.0, -9.0), [(t(3, 4),)]),
    OpSpec("isnan", lambda x: _inf_nan(x).isnan(), [(t(3, 4),)], grad=False),
    OpSpec("isinf", lambda x: _inf_nan(x).isinf(), [(t(3, 4),)], grad=False),
    OpSpec("isfinite", lambda x: _inf_nan(x).isfinite(), [(t(3, 4),)], grad=False),
    OpSpec("isposinf", lambda x: _inf_nan(x).isposinf(), [(t(3, 4),)], grad=False),
    OpSpec("isneginf", lambda x: _inf_nan(x).isneginf(), [(t(3, 4),)], grad=False),
    OpSpec("signbit", lambda x: x.signbit(), grad=False),
    OpSpec("logical_not", lambda x: (x > 0).logical_not() & x.logical_not(), grad=False),
    OpSpec("exp.int", lambda x: x.exp(), INTS, grad=False, dtypes=ONE),
    OpSpec("sqrt.int", lambda x: x.abs().sqrt(), INTS, grad=False, dtypes=ONE),
    OpSpec("abs.int", lambda x: x.abs() + x.neg() + x.sign() + x.square(), INTS, grad=False,
           dtypes=ONE),
    OpSpec("floor.int", lambda x: x.floor() + x.ceil() + x.round() + x.trunc(), INTS,
           grad=False, dtypes=ONE),
    OpSpec("bitwise_not", lambda x: ~x, INTS + [(B((3, 4)),)], grad=False, dtypes=ONE),
    # ---- binary arithmetic --------------------------------------------------------------------
    OpSpec("add", lambda x, y: x + y, BINARY),
    OpSpec("add.alpha", lambda x, y: x.add(y, alpha=2.5), BINARY[:3]),
    OpSpec("add.fn_scalar_self", lambda x: _mod(x).add(2.5, x)),
    OpSpec("add.int", lambda x, y: x + y + 3, INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("add.bool", lambda x, y: x + y, BOOL_PAIR, grad=False, dtypes=ONE),
    OpSpec("radd", lambda x: 2 + x),
    OpSpec("sub", lambda x, y: x - y, BINARY),
    OpSpec("sub.alpha", lambda x, y: x.sub(y, alpha=-1.5), BINARY[:3]),
    OpSpec("subtract", lambda x, y: _mod(x).subtract(x, y), BINARY[:2]),
    OpSpec("rsub", lambda x: 2 - x),
    OpSpec("rsub.fn", lambda x, y: _mod(x).rsub(x, y, alpha=2), BINARY[:2]),
    OpSpec("mul", lambda x, y: x * y, BINARY),
    OpSpec("mul.int", lambda x, y: x * y * 2, INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("rmul", lambda x: 2.5 * x),
    OpSpec("multiply", lambda x, y: x.multiply(y), BINARY[:2]),
    OpSpec("div", lambda x, y: x / y, BINARY, domain=AWAY),
    OpSpec("div.signed", lambda x, y: x.div(y), SIGNED),
    OpSpec("div.int", lambda x, y: x / y, INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("div.floor", lambda x, y: x.div(y, rounding_mode="floor"), SIGNED, gradcheck=False),
    OpSpec("div.trunc", lambda x, y: x.div(y, rounding_mode="trunc"), SIGNED, gradcheck=False),
    OpSpec("div.floor_int", lambda x, y: x.div(y, rounding_mode="floor"), INT_PAIR,
           grad=False, dtypes=ONE),
    OpSpec("div.trunc_int", lambda x, y: x.div(-y, rounding_mode="trunc"), INT_PAIR,
           grad=False, dtypes=ONE),
    OpSpec("divide", lambda x, y: x.divide(y), BINARY[:2], domain=AWAY),
    OpSpec("true_divide", lambda x, y: x.true_divide(y), BINARY[:2], domain=AWAY),
    OpSpec("rdiv", lambda x: 2 / x, domain=AWAY),
    OpSpec("floor_divide", lambda x, y: x // y, SIGNED, grad=False),
    OpSpec("floor_divide.int", lambda x, y: x // y + x // -y + x // 3, INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("rfloordiv", lambda x: 7 // x, domain=AWAY, grad=False),
    OpSpec("remainder", lambda x, y: x.remainder(y), SIGNED, gradcheck=False),
    OpSpec("remainder.op", lambda x, y: x % y + x % 0.75, SIGNED, gradcheck=False),
    OpSpec("remainder.int", lambda x, y: x % y + x % -y + (-7) % y, INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("rmod", lambda x: 3.5 % x, domain=AWAY, grad=False),
    OpSpec("fmod", lambda x, y: x.fmod(y), SIGNED, gradcheck=False),
    OpSpec("fmod.int", lambda x, y: x.fmod(y) + x.fmod(-y), INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("pow", lambda x, y: x ** y, BINARY[:3], domain=AWAY),
    OpSpec("pow.scalar", lambda x: x ** 3),
    OpSpec("pow.half", lambda x: x ** 0.5, domain=POS),
    OpSpec("pow.zero_exp", lambda x: x ** 0),
    OpSpec("pow.neg_base", lambda x, y: x.pow(y.round()), [(t(3, 4), t(3, 4))],
           gradcheck=False),
    OpSpec("pow.zero_base", lambda x, y: _st(x, lambda d: d * 0) ** y, [(t(3), t(3))],
           domain=AWAY, gradcheck=False),
    OpSpec("pow.int", lambda x, y: x ** y + x ** 2, INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("rpow", lambda x: 2 ** x),
    OpSpec("rpow.fn", lambda x: _mod(x).pow(1.5, x)),
    OpSpec("float_power", lambda x, y: x.float_power(y), BINARY[:2], domain=AWAY),
    OpSpec("float_power.scalar", lambda x: x.float_power(2)),
    OpSpec("atan2", lambda x, y: x.atan2(y), BINARY[:3], domain=AWAY),
    OpSpec("atan2.signed", lambda x, y: x.arctan2(-y), SIGNED),
    OpSpec("hypot", lambda x, y: x.hypot(y), BINARY[:3], domain=AWAY),
    OpSpec("copysign", lambda x, y: x.copysign(y), SIGNED + [(t(3, 4), -1.5)]),
    OpSpec("xlogy", lambda x, y: x.xlogy(y), [(t(3, 4), t(3, 4, low=0.5, high=2.0)),
                                              (t(3, 4), 2.0)]),
    OpSpec("xlogy.zero", lambda x, y: _st(x, lambda d: d * (d > 0)).xlogy(y),
           [(t(3, 4), t(3, 4, low=0.5, high=2.0))], gradcheck=False),
    OpSpec("maximum", lambda x, y: x.maximum(y), BINARY[:3]),
    OpSpec("minimum", lambda x, y: x.minimum(y), BINARY[:3]),
    OpSpec("maximum.ties", lambda x, y: _q(x).maximum(_q(y)), [(t(3, 4), t(3, 4))],
           gradcheck=False),
    OpSpec("minimum.ties", lambda x, y: _q(x).minimum(_q(y)), [(t(3, 4), t(3, 4))],
           gradcheck=False),
    OpSpec("maximum.nan", lambda x, y: _nan_at(x, lambda d: d > 1).maximum(y),
           [(t(3, 4), t(3, 4))], gradcheck=False),
    OpSpec("fmax", lambda x, y: _nan_at(x, lambda d: d > 1).fmax(_q(y)), [(t(3, 4), t(3, 4))],
           gradcheck=False),
    OpSpec("fmin", lambda x, y: _nan_at(x, lambda d: d > 1).fmin(_q(y)), [(t(3, 4), t(3, 4))],
           gradcheck=False),
    OpSpec("fmax.ties", lambda x, y: _q(x).fmax(_q(y)), [(t(3, 4), t(3, 4))], gradcheck=False),
    # ---- comparisons, logical and bitwise ops -------------------------------------------------
    OpSpec("eq", lambda x, y: (_q(x) == _q(y)), BINARY[:3], grad=False),
    OpSpec("ne", lambda x, y: _q(x) != _q(y), BINARY[:3], grad=False),
    OpSpec("lt", lambda x, y: x < y, BINARY, grad=False),
    OpSpec("le", lambda x, y: _q(x) <= _q(y), BINARY[:3], grad=False),
    OpSpec("gt", lambda x, y: x > y, BINARY, grad=False),
    OpSpec("ge", lambda x, y: _q(x) >= _q(y), BINARY[:3], grad=False),
    OpSpec("cmp.scalar_left", lambda x: (0.5 < x) & (x <= 1.0) | (x == 0.25), grad=False),
    OpSpec("cmp.fns", lambda x, y: x.greater(y) ^ x.less_equal(y) | x.not_equal(y) &
           x.greater_equal(y) | x.less(y), BINARY[:2], grad=False),
    OpSpec("cmp.int_float", lambda x: (x < 0.5) | (x >= 2) | (x == 1.0), INTS, grad=False,
           dtypes=ONE),
    OpSpec("cmp.nan", lambda x, y: _mod(x).stack([
        _nan_at(x, lambda d: d > 1) < y, _nan_at(x, lambda d: d > 1) == y,
        _nan_at(x, lambda d: d > 1) != y]), [(t(3, 4), t(3, 4))], grad=False),
    OpSpec("logical_and", lambda x, y: x.logical_and(y), BINARY[:3], grad=False),
    OpSpec("logical_or", lambda x, y: _q(x).logical_or(_q(y)), BINARY[:3], grad=False),
    OpSpec("logical_xor", lambda x, y: _q(x).logical_xor(y), BINARY[:3], grad=False),
    OpSpec("logical.int", lambda x, y: x.logical_and(y) | x.logical_or(y) ^ x.logical_xor(y),
           INT_PAIR, grad=False, dtypes=ONE),
    OpSpec("bitwise_and", lambda x, y: (x & y) + x.bitwise_and(5), INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("bitwise_or", lambda x, y: (x | y) + x.bitwise_or(5), INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("bitwise_xor", lambda x, y: (x ^ y) + x.bitwise_xor(5) + (3 ^ x), INT_PAIR,
           grad=False, dtypes=ONE),
    OpSpec("bitwise.bool", lambda x, y: (x & y) ^ (x | ~y) | (x ^ True), BOOL_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("bitwise_left_shift", lambda x, y: (x << y) + x.bitwise_left_shift(2), INT_PAIR,
           grad=False, dtypes=ONE),
    OpSpec("bitwise_right_shift", lambda x, y: (x >> y) + x.bitwise_right_shift(1), INT_PAIR,
           grad=False, dtypes=ONE),
    OpSpec("shift.overflow", lambda x: (x << 70) + (x >> 70) + (x.int() << 40),
           [(I((3, 4), -5, 6),)], grad=False, dtypes=ONE),
    OpSpec("isclose", lambda x, y: x.isclose(x + y * 1e-6) | x.isclose(y, atol=0.5),
           BINARY[:2], grad=False),
    OpSpec("isclose.nan", lambda x: _inf_nan(x).isclose(_inf_nan(x), equal_nan=True),
           [(t(3),)], grad=False),
    OpSpec("allclose", lambda x, y: _mod(x).tensor([x.allclose(x + y * 1e-7), x.allclose(y)],
                                                   device=x.device), BINARY[:2], grad=False),
    OpSpec("equal", lambda x, y: _mod(x).tensor([_mod(x).equal(x, x.clone()), x.equal(y),
                                                 x.equal(x[:1])], device=x.device), BINARY[:2],
           grad=False),
    # ---- ternary, clamping ------------------------------------------------------------------
    OpSpec("clamp", lambda x: x.clamp(-0.5, 0.7)),
    OpSpec("clamp.min", lambda x: x.clamp(min=0.1)),
    OpSpec("clamp.max", lambda x: x.clamp(max=0.1)),
    OpSpec("clamp.bounds", lambda x: _q(x).clamp(-1, 1), gradcheck=False),
    OpSpec("clamp.inverted", lambda x: x.clamp(0.5, -0.5)),
    OpSpec("clamp.tensor", lambda x, lo: x.clamp(min=lo), [(t(3, 4), t(3, 4)), (t(3, 4), t(4))]),
    OpSpec("clamp.tensors", lambda x, lo, hi: x.clamp(lo - 1, hi + 1),
           [(t(3, 4), t(3, 4), t(3, 4)), (t(3, 4), t(1, 4), t(3, 1))]),
    OpSpec("clamp.tensor_bounds", lambda x, lo: _q(x).clamp(_q(lo), _q(lo) + 0.5),
           [(t(3, 4), t(3, 4))], gradcheck=False),
    OpSpec("clamp.int", lambda x: x.clamp(-2, 3) + x.clamp(min=0.5), INTS, grad=False,
           dtypes=ONE),
    OpSpec("clamp.nan", lambda x: _nan_at(x, lambda d: d > 1).clamp(-0.5, 0.5),
           gradcheck=False),
    OpSpec("clip", lambda x: x.clip(-0.5, 0.7)),
    OpSpec("clamp_min", lambda x: x.clamp_min(0.2)),
    OpSpec("clamp_max", lambda x: x.clamp_max(0.2)),
    OpSpec("where", lambda x, y: _mod(x).where(x > 0, x, y), BINARY[:3]),
    OpSpec("where.scalars", lambda x: _mod(x).where(x > 0, x, 0.5) + _mod(x).where(
        x < 0, 2.0, x)),
    OpSpec("where.method", lambda x, y: x.where(x > y, y), BINARY[:2]),
    OpSpec("where.int", lambda x, y: _mod(x).where(x > 1, x, y), INT_PAIR, grad=False,
           dtypes=ONE),
    OpSpec("lerp", lambda x, y: x.lerp(y, 0.3), BINARY[:3]),
    OpSpec("lerp.high", lambda x, y: x.lerp(y, 0.8), BINARY[:2]),
    OpSpec("lerp.tensor", lambda x, y, w: x.lerp(y, w), [(t(3, 4), t(3, 4), t(3, 4)),
                                                        (t(3, 4), t(4), t(3, 1))],
           domain=(0.0, 1.0)),
    OpSpec("addcmul", lambda x, y, z: x.addcmul(y, z, value=0.5), [(t(3, 4), t(3, 4), t(4))]),
    OpSpec("addcmul.default", lambda x, y, z: _mod(x).addcmul(x, y, z), [(t(3, 4), t(3, 1),
                                                                            t(4))]),
    OpSpec("addcdiv", lambda x, y, z: x.addcdiv(y, z, value=0.5), [(t(3, 4), t(3, 4), t(4))],
           domain=AWAY),
    # ---- in-place variants (through a clone so that gradients reach the leaf) ---------------
    OpSpec("exp_", _inplace("exp_")),
    OpSpec("sigmoid_", _inplace("sigmoid_")),
    OpSpec("neg_", _inplace("neg_")),
    OpSpec("abs_", _inplace("abs_")),
    OpSpec("sqrt_", _inplace("sqrt_"), domain=POS),
    OpSpec("add_", _inplace("add_", alpha=2), [(t(3, 4), t(3, 4)), (t(3, 4), t(4))]),
    OpSpec("add_.scalar", _inplace("add_", 1.5)),
    OpSpec("sub_", _inplace("sub_"), [(t(3, 4), t(3, 4))]),
    OpSpec("mul_", _inplace("mul_"), [(t(3, 4), t(3, 4)), (t(3, 4), t(1, 4))]),
    OpSpec("div_", _inplace("div_"), [(t(3, 4), t(3, 4))], domain=AWAY),
    OpSpec("div_.floor", _inplace("div_", rounding_mode="floor"), SIGNED[:1], gradcheck=False),
    OpSpec("pow_", _inplace("pow_", 2)),
    OpSpec("clamp_", _inplace("clamp_", -0.5, 0.5)),
    OpSpec("clamp_.tensor", lambda x, lo: x.clone().clamp_(min=lo), [(t(3, 4), t(3, 4))]),
    OpSpec("lerp_", _inplace("lerp_", 0.25), [(t(3, 4), t(3, 4))]),
    OpSpec("addcmul_", lambda x, y, z: x.clone().addcmul_(y, z, value=2),
           [(t(3, 4), t(3, 4), t(4))]),
    OpSpec("addcdiv_", lambda x, y, z: x.clone().addcdiv_(y, z, value=2),
           [(t(3, 4), t(3, 4), t(4))], domain=AWAY),
    OpSpec("binary_", lambda x, y: x.clone().copysign_(y) + x.clone().atan2_(y)
           + x.clone().hypot_(y) + x.clone().fmod_(y) + x.clone().remainder_(y)
           + x.clone().xlogy_(y) + x.clone().double().float_power_(y).float(), [(t(3, 4), t(3, 4))],
           domain=AWAY, gradcheck=False),
    OpSpec("nan_to_num_", lambda x: _inf_nan(x).nan_to_num_(), [(t(3, 4),)]),
    OpSpec("iadd", lambda x, y: _iop(x, y, "+="), [(t(3, 4), t(3, 4))]),
    OpSpec("imul", lambda x, y: _iop(x, y, "*="), [(t(3, 4), t(4))]),
    OpSpec("itruediv", lambda x, y: _iop(x, y, "/="), [(t(3, 4), t(4))], domain=AWAY),
    OpSpec("isub", lambda x, y: _iop(x, y, "-="), [(t(3, 4), t(4))]),
    OpSpec("ipow", lambda x: _iop(x, 2.0, "**="), [(t(3, 4),)]),
    OpSpec("cmp_", lambda x, y: x.clone().lt_(y) + x.clone().eq_(x) + x.clone().ge_(y),
           BINARY[:1] + [(t(3, 4), t(4))], grad=False),
    OpSpec("inplace.int", lambda x, y: x.clone().add_(y).mul_(2).floor_divide_(y)
           .bitwise_and_(7).remainder_(3), INT_PAIR[:1], grad=False, dtypes=ONE),
    # ---- reductions ---------------------------------------------------------------------------
    OpSpec("sum", lambda x: x.sum(), REDUCE_ALL),
    OpSpec("sum.dim", lambda x: x.sum(1, keepdim=True), [(t(4, 5),), (t(2, 3, 4),)]),
    OpSpec("sum.dims", lambda x: x.sum((0, -1)), [(t(2, 3, 4),), (t(2, 3, 4, nc=True),)]),
    OpSpec("sum.empty_dim", lambda x: x.sum(0) + x.sum(-1).sum(), [(t(0, 3),)]),
    OpSpec("sum.dtype", lambda x: x.sum(1, dtype=_mod(x).float64), REDUCE),
    OpSpec("sum.int", lambda x: x.sum() + x.sum(0).sum() + (x > 0).sum(), INTS, grad=False,
           dtypes=ONE),
    OpSpec("sum.0d_dim", lambda x: x.sum(0) + x.sum(-1, keepdim=True), [(t(),)]),
    OpSpec("nansum", lambda x: _nan_at(x, lambda d: d > 1).nansum(1), REDUCE),
    OpSpec("nansum.all", lambda x: _nan_at(x, lambda d: d > 1).nansum(), REDUCE_ALL),
    OpSpec("mean", lambda x: x.mean(), REDUCE_ALL),
    OpSpec("mean.dim", lambda x: x.mean(-1), [(t(4, 5),), (t(2, 3, 4),)]),
    OpSpec("mean.dims", lambda x: x.mean((0, 2), keepdim=True), REDUCE[1:]),
    OpSpec("mean.dtype", lambda x: x.mean(dtype=_mod(x).float64)),
    OpSpec("mean.int_dtype", lambda x: x.mean(0, dtype=_mod(x).float32), INTS[:1], grad=False,
           dtypes=ONE),
    OpSpec("nanmean", lambda x: _nan_at(x, lambda d: d > 1).nanmean(0), REDUCE),
    OpSpec("prod", lambda x: x.prod(), [(t(3, 4),), (t(),), (t(0, 2),)]),
    OpSpec("prod.dim", lambda x: x.prod(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("prod.keepdim", lambda x: x.prod(-1, keepdim=True), REDUCE),
    OpSpec("prod.zeros", lambda x: _st(x, lambda d: d * (d.abs() > 1)).prod(1),
           [(t(3, 4),), (t(4, 5),)], gradcheck=False),
    OpSpec("prod.int", lambda x: x.prod() + x.prod(0).sum(), INTS[:1], grad=False, dtypes=ONE),
    OpSpec("amax", lambda x: x.amax(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("amin", lambda x: x.amin((0, 1)), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("amax.all", lambda x: x.amax() + x.amin(), [(t(3, 4),), (t(),)]),
    OpSpec("amax.ties", lambda x: _q(x).amax(0, keepdim=True), [(t(5, 3),)], gradcheck=False),
    OpSpec("max", lambda x: x.max(), [(t(3, 4),), (t(),)]),
    OpSpec("max.ties", lambda x: _q(x).max() + _q(x).min(), [(t(3, 4),)], gradcheck=False),
    OpSpec("max.dim", lambda x: x.max(1)[0], [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("max.dim_indices", lambda x: x.max(dim=-1, keepdim=True)[1], [(t(3, 4),)],
           grad=False),
    OpSpec("max.dim_ties", lambda x: _q(x).max(0).values, [(t(5, 3),)], gradcheck=False),
    OpSpec("max.0d", lambda x: x.max(0)[0] + x.min(-1).values, [(t(),)]),
    OpSpec("max.other", lambda x, y: x.max(y) + _mod(x).min(x, y), BINARY[:2]),
    OpSpec("max.nan", lambda x: _nan_at(x, lambda d: d > 1).max(1).indices + _nan_at(
        x, lambda d: d > 1).min(1, keepdim=True)[1], [(t(3, 4),)], grad=False),
    OpSpec("max.nan_values", lambda x: _nan_at(x, lambda d: d > 1).max(1).values,
           [(t(3, 4),)], grad=False),
    OpSpec("min.dim", lambda x: x.min(0, keepdim=True)[0], [(t(3, 4),)]),
    OpSpec("min.indices", lambda x: x.min(1).indices, [(t(3, 4),), (t(0, 3),)], grad=False),
    OpSpec("max.int", lambda x: _mod(x).stack([x.max(), x.min(), x.amax(), x.amin()]),
           INTS[:2], grad=False, dtypes=ONE),
    OpSpec("max.bool", lambda x: x.max(0)[0] | x.min(), [(B((3, 4)),)], grad=False,
           dtypes=ONE),
    OpSpec("argmax", lambda x: x.argmax(-1), [(t(3, 4),), (t(),)], grad=False),
    OpSpec("argmax.keepdim", lambda x: x.argmax(1, keepdim=True) + x.argmax(keepdim=True),
           [(t(3, 4),)], grad=False),
    OpSpec("argmin", lambda x: x.argmin(), [(t(3, 4),)], grad=False),
    OpSpec("argmax.ties", lambda x: _q(x).argmax(0) + _q(x).argmin(1).sum(), [(t(5, 4),)],
           grad=False),
    OpSpec("argmax.nan", lambda x: _nan_at(x, lambda d: d > 1).argmax(1) + _nan_at(
        x, lambda d: d > 1).argmin(), [(t(3, 4),)], grad=False),
    OpSpec("aminmax", lambda x: _mod(x).stack(list(x.aminmax())), [(t(3, 4),)]),
    OpSpec("aminmax.dim", lambda x: x.aminmax(dim=1, keepdim=True).max, REDUCE),
    OpSpec("var", lambda x: x.var(), [(t(3, 4),), (t(1),)]),
    OpSpec("var.dim", lambda x: x.var(1, keepdim=True), REDUCE),
    OpSpec("var.unbiased", lambda x: x.var(0, False) + x.var(unbiased=False), [(t(3, 4),)]),
    OpSpec("var.correction", lambda x: x.var((0, 1), correction=2), REDUCE),
    OpSpec("var.legacy", lambda x: _mod(x).var(x, True), [(t(3, 4),)]),
    OpSpec("std", lambda x: x.std(), [(t(3, 4),)]),
    OpSpec("std.correction", lambda x: x.std(0, correction=0), [(t(3, 4),)]),
    OpSpec("std.dim", lambda x: x.std(-1, keepdim=True), REDUCE),
    OpSpec("std.zero", lambda x: _st(x, lambda d: d * 0).std(), [(t(3, 4),)], gradcheck=False),
    OpSpec("var_mean", lambda x: _mod(x).stack(list(_mod(x).var_mean(x, 1))), REDUCE),
    OpSpec("std_mean", lambda x: _mod(x).stack(list(_mod(x).std_mean(x, 0, correction=0))),
           REDUCE),
    OpSpec("logsumexp", lambda x: x.logsumexp(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("logsumexp.dims", lambda x: x.logsumexp((0, -1), keepdim=True), REDUCE[1:]),
    OpSpec("logsumexp.big", lambda x: (x * 400).logsumexp(0), [(t(3, 4),)]),
    OpSpec("logsumexp.empty", lambda x: x.logsumexp(0), [(t(0, 3),)]),
    OpSpec("norm", lambda x: x.norm(), REDUCE_ALL[:2]),
    OpSpec("norm.p", lambda x: _mod(x).stack([x.norm(p) for p in (1, 3, float("inf"),
                                                                   -float("inf"))]),
           [(t(3, 4),)]),
    OpSpec("norm.dim", lambda x: x.norm(dim=1) + x.norm(1, dim=-1) + x.norm(dim=(0, 1))[..., None],
           [(t(3, 4),)]),
    OpSpec("norm.keepdim", lambda x: x.norm(2, 1, keepdim=True), REDUCE),
    OpSpec("norm.nuc", lambda x: x.norm(p="nuc"), [(t(3, 4),)], tol=F32_LOOSE),
    OpSpec("norm.fn", lambda x: _mod(x).norm(x, p="fro", dim=(0, 1)), [(t(3, 4),)]),
    OpSpec("norm.zero", lambda x: _st(x, lambda d: d * 0).norm(), [(t(3, 4),)],
           gradcheck=False),
    OpSpec("cumsum", lambda x: x.cumsum(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("cumsum.0d", lambda x: x.cumsum(0) + x.cumsum(-1), [(t(),), (t(0),)]),
    OpSpec("cumsum.int", lambda x: x.cumsum(0) + (x > 0).cumsum(1), INTS[:1], grad=False,
           dtypes=ONE),
    OpSpec("cumsum.dtype", lambda x: x.cumsum(-1, dtype=_mod(x).float64), REDUCE[2:]),
    OpSpec("cumsum_", lambda x: x.clone().cumsum_(0), REDUCE[:1]),
    OpSpec("cumprod", lambda x: x.cumprod(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("cumprod.0d", lambda x: x.cumprod(0) + x.cumprod(-1), [(t(),), (t(0),)]),
    OpSpec("cumprod.zeros", lambda x: _st(x, lambda d: d * (d.abs() > 1)).cumprod(1),
           [(t(3, 5),), (t(4, 6),)], gradcheck=False),
    OpSpec("cumprod.int", lambda x: x.cumprod(1), INTS[:1], grad=False, dtypes=ONE),
    OpSpec("cummax", lambda x: x.cummax(1)[0], [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("cummax.0d", lambda x: x.cummax(0)[0] + x.cummin(-1).values, [(t(),), (t(0),)]),
    OpSpec("cummax.ties", lambda x: _q(x).cummax(0).indices, [(t(6, 3),)], grad=False),
    OpSpec("cummax.ties_grad", lambda x: _q(x).cummax(0).values, [(t(6, 3),)],
           gradcheck=False),
    OpSpec("cummin", lambda x: x.cummin(-1).values, [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("cummin.ties", lambda x: _q(x).cummin(1)[1], [(t(3, 6),)], grad=False),
    OpSpec("cummax.nan", lambda x: _nan_at(x, lambda d: d > 1).cummax(1).indices,
           [(t(3, 6),)], grad=False),
    OpSpec("cummin.nan", lambda x: _nan_at(x, lambda d: d > 1).cummin(0)[1], [(t(6, 3),)],
           grad=False),
    OpSpec("cummax.nan_values", lambda x: _nan_at(x, lambda d: d > 1).cummax(1)[0],
           [(t(3, 6),)], grad=False),
    OpSpec("logcumsumexp", lambda x: x.logcumsumexp(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("all", lambda x: _mod(x).stack([(x > 0).all(), x.all(), (x > -1).all(1).any()]),
           [(t(3, 4),)], grad=False),
    OpSpec("any", lambda x: (x > 1).any(0) | x.any(1, keepdim=True), [(t(3, 4),)], grad=False),
    OpSpec("all.dims", lambda x: (x > 0).all((0, 2)) | (x > 0).any(dim=(-1,)).all(0),
           REDUCE[1:], grad=False),
    OpSpec("all.empty", lambda x: _mod(x).stack([x.all(), x.any()]), [(t(0, 3),)],
           grad=False),
    OpSpec("all.int", lambda x: x.all(1) | x.any(-1), INTS[:1] + INTS[2:], grad=False,
           dtypes=ONE),
    OpSpec("count_nonzero", lambda x: _q(x).count_nonzero() + _q(x).count_nonzero(0).sum()
           + _q(x).count_nonzero((0, 1)), [(t(3, 4),)], grad=False),
    OpSpec("median", lambda x: x.median(), [(t(3, 4),), (t(2, 3),), (t(),)]),
    OpSpec("median.dim", lambda x: x.median(1)[0], [(t(3, 4),), (t(3, 5),), (t(2, 3, 4),)]),
    OpSpec("median.indices", lambda x: _q(x).median(0, keepdim=True).indices,
           [(t(6, 3),), (t(7, 3),)], grad=False),
    OpSpec("median.ties", lambda x: _q(x).median(), [(t(4, 5),)], gradcheck=False),
    OpSpec("median.nan", lambda x: _nan_at(x, lambda d: d > 1).median(1).indices,
           [(t(3, 6),)], grad=False),
    OpSpec("median.nan_values", lambda x: _nan_at(x, lambda d: d > 1).median(1).values,
           [(t(3, 6),)], grad=False),
    OpSpec("nanmedian.indices", lambda x: _nan_at(x, lambda d: d > 1).nanmedian(1).indices,
           [(t(3, 6),), (t(4, 5),)], grad=False),
    OpSpec("nanmedian", lambda x: _nan_at(x, lambda d: d > 1).nanmedian(), [(t(3, 4),)]),
    OpSpec("nanmedian.dim", lambda x: _nan_at(x, lambda d: d > 1).nanmedian(1).values,
           [(t(3, 6),), (t(4, 5),)]),
    OpSpec("nanmedian.all_nan", lambda x: (x * float("nan")).nanmedian(0)[0], [(t(3, 2),)],
           grad=False),
    OpSpec("mode", lambda x: _q(x).mode(0).indices, [(t(7, 3),), (t(3, 8),)], grad=False),
    OpSpec("mode.values", lambda x: _q(x).mode(0).values, [(t(7, 3),), (t(3, 8),)],
           grad=False),
    OpSpec("mode.grad", lambda x: _q(x).mode(-1, keepdim=True).values, [(t(3, 8),)],
           gradcheck=False),
    OpSpec("mode.int", lambda x: x.mode(1)[1] * 100 + x.mode(1)[0], INTS[:1], grad=False,
           dtypes=ONE),
    OpSpec("kthvalue.dim", lambda x: x.kthvalue(2, 1).values, [(t(3, 4),), (t(2, 5, 3),)]),
    OpSpec("quantile", lambda x: x.quantile(0.3), [(t(3, 4),), (t(5),)]),
    OpSpec("quantile.dim", lambda x: x.quantile(0.75, dim=1, keepdim=True), REDUCE),
    OpSpec("quantile.q_tensor", lambda x: x.quantile(_mod(x).tensor(
        [0.1, 0.5, 0.9], dtype=x.dtype, device=x.device), dim=0),
           REDUCE),
    OpSpec("quantile.q_tensor_all", lambda x: x.quantile(_mod(x).tensor(
        [0.25, 1.0], dtype=x.dtype, device=x.device), keepdim=True), REDUCE[:2]),
    OpSpec("quantile.interpolation", lambda x: _mod(x).stack([
        x.quantile(q, dim=-1, interpolation=m) for q in (0.2, 0.5, 0.7)
        for m in ("linear", "lower", "higher", "midpoint", "nearest")]), REDUCE),
    OpSpec("quantile.nan", lambda x: _nan_at(x, lambda d: d > 1).quantile(0.4, dim=1),
           [(t(3, 6),)], grad=False),
    OpSpec("nanquantile", lambda x: _nan_at(x, lambda d: d > 1).nanquantile(0.4, dim=1),
           [(t(3, 6),), (t(4, 5),)]),
    OpSpec("nanquantile.q_tensor", lambda x: _nan_at(x, lambda d: d > 1).nanquantile(
        _mod(x).tensor([0.0, 0.3, 1.0], dtype=x.dtype, device=x.device),
        interpolation="midpoint"),
        [(t(3, 6),)]),
    OpSpec("view", lambda x: x.view(2, -1), [(t(4, 5),)]),
    OpSpec("reshape.nc", lambda x: x.reshape(-1), [(t(4, 5, nc=True),)]),
    OpSpec("permute", lambda x: x.permute(2, 0, 1), [(t(2, 3, 4),)]),
    OpSpec("transpose", lambda x: x.transpose(0, -1), [(t(2, 3, 4),)]),
    OpSpec("t", lambda x: x.t(), [(t(3, 4),)]),
    OpSpec("squeeze", lambda x: x.squeeze(), [(t(3, 1, 4, 1),)]),
    OpSpec("unsqueeze", lambda x: x.unsqueeze(-1), [(t(3, 4),)]),
    OpSpec("flatten", lambda x: x.flatten(1), [(t(2, 3, 4),)]),
    OpSpec("expand", lambda x: x.expand(3, -1, 4), [(t(1, 5, 1),)]),
    OpSpec("cat", lambda x, y: _mod(x).cat([x, y], 1), [(t(2, 3), t(2, 4))]),
    OpSpec("stack", lambda x, y: _mod(x).stack([x, y], -1), [(t(2, 3), t(2, 3))]),
    OpSpec("split", lambda x: x.split(2, 1)[1], [(t(3, 5),)]),
    OpSpec("chunk", lambda x: x.chunk(3, 0)[2], [(t(7, 2),)]),
    OpSpec("unbind", lambda x: x.unbind(1)[1], [(t(3, 4),)]),
    OpSpec("narrow", lambda x: x.narrow(1, 1, 2), [(t(3, 4),)]),
    OpSpec("flip", lambda x: x.flip(0, 1), [(t(3, 4),)]),
    OpSpec("getitem.basic", lambda x: x[1:, ::2, None, 0], [(t(3, 4, 5),)]),
    OpSpec("getitem.ellipsis", lambda x: x[..., 1], [(t(3, 4, 5),)]),
    OpSpec("getitem.adv", lambda x: x[[0, 2, 0]], [(t(3, 4),)]),
    OpSpec("getitem.mix", lambda x: x[[0, 1], :, [1, 2]], [(t(3, 4, 5),)]),
    OpSpec("getitem.mask", lambda x: x[x > 0], [(t(3, 4),)]),
    OpSpec("matmul", lambda x, y: x @ y, [(t(3, 4), t(4, 5)), (t(4), t(4)), (t(4), t(4, 5)),
                                          (t(3, 4), t(4)), (t(2, 3, 4), t(4, 5)),
                                          (t(2, 1, 3, 4), t(5, 4, 2)), (t(3, 4, nc=True),
                                                                         t(4, 2))]),
    OpSpec("bmm", lambda x, y: x.bmm(y), [(t(2, 3, 4), t(2, 4, 5))]),
]


def _mod(x):
    """The library (ember or torch) a tensor comes from."""
    import ember
    import torch
    return ember if isinstance(x, ember.Tensor) else torch     # type(t) reads torch.Tensor in both


def _all_specs():
    """SPECS from this file plus every tests/opspecs_*.py module (one per op family/owner)."""
    import importlib
    import pathlib
    specs = list(SPECS)
    for path in sorted(pathlib.Path(__file__).parent.glob("opspecs_*.py")):
        specs += importlib.import_module(path.stem).SPECS
    names = [s.name for s in specs]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate op spec names: {dup}"
    return specs


ALL_SPECS = _all_specs()


def materialize(sample, dtype, domain, seed=0, complex_parts=False):
    """NumPy arrays (and plain Python values) for one sample, as ("t", array, wants_grad) or
    ("v", value, False). With `complex_parts`, tensors are complex with real and imaginary parts
    both drawn from the domain (which keeps them off the real axis' branch cuts)."""
    rng = np.random.default_rng(seed)
    out = []
    for a in sample:
        if isinstance(a, T):
            lo = domain[0] if a.low is None else a.low
            hi = domain[1] if a.high is None else a.high
            shape = a.shape[::-1] + (2,) if a.nc else a.shape
            arr = rng.uniform(lo, hi, shape)
            if complex_parts:
                arr = arr + 1j * rng.uniform(lo, hi, shape)
            arr = arr.astype(dtype)
            if a.nc:        # a transposed view of a bigger buffer: non-contiguous
                arr = arr[..., 0].T
                assert not arr.flags.c_contiguous or arr.size <= 1
            out.append(("t", arr, a.grad))
        elif isinstance(a, I):
            out.append(("t", rng.integers(a.low, a.high, a.shape).astype(a.dtype), False))
        elif isinstance(a, B):
            out.append(("t", rng.random(a.shape) > 0.5, False))
        else:
            out.append(("v", a, False))
    return out
