"""Pointwise ops: forward on raw arrays, the vjp beside it (see _registry for the contract)."""
import math

import numpy as np

from .._dtype import DEFAULT
from . import _special
from ._apply import apply, make_binary, make_unary
from ._registry import op

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _fl(x):
    """Integer and bool inputs of float-valued ops compute in the default float dtype."""
    return x.astype(DEFAULT.float.np) if x.dtype.kind in "biu" else x


def _out(xp, x, y):
    """NumPy turns 0-d results into scalars: keep them arrays."""
    if type(y) is not type(x):
        y = xp.asarray(y)
    return y


def _unary(name, f, grad, saves="in", floating=True, differentiable=True, node=None):
    """Define an elementwise op from its forward `f(xp, x)` and `grad(xp, g, x, y)`."""
    @op(name, saves=saves, differentiable=differentiable, node=node)
    def fwd(xp, x):
        if floating:
            x = _fl(x)
        y = f(xp, x)
        return y, (x, y)

    if grad is not None:
        fwd.vjp(lambda xp, g, x, y: (grad(xp, g, x, y),))
    return make_unary(fwd)


exp = _unary("exp", lambda xp, x: xp.exp(x), lambda xp, g, x, y: g * y, saves="out")
exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda xp, g, x, y: g * y * _LN2, saves="out")
expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda xp, g, x, y: g * (y + 1), saves="out")
log = _unary("log", lambda xp, x: xp.log(x), lambda xp, g, x, y: g / x)
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda xp, g, x, y: g / (x * _LN2))
log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda xp, g, x, y: g / (x * _LN10))
log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda xp, g, x, y: g / (x + 1))
sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda xp, g, x, y: g / (2 * y), saves="out")
rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda xp, g, x, y: -0.5 * g * y * y * y,
               saves="out")
sin = _unary("sin", lambda xp, x: xp.sin(x), lambda xp, g, x, y: g * xp.cos(x))
cos = _unary("cos", lambda xp, x: xp.cos(x), lambda xp, g, x, y: -g * xp.sin(x))
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda xp, g, x, y: g * (1 + y * y), saves="out")
asin = _unary("asin", lambda xp, x: xp.arcsin(x), lambda xp, g, x, y: g / xp.sqrt(1 - x * x))
acos = _unary("acos", lambda xp, x: xp.arccos(x), lambda xp, g, x, y: -g / xp.sqrt(1 - x * x))
atan = _unary("atan", lambda xp, x: xp.arctan(x), lambda xp, g, x, y: g / (1 + x * x))
sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda xp, g, x, y: g * xp.cosh(x))
cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda xp, g, x, y: g * xp.sinh(x))
tanh = _unary("tanh", lambda xp, x: xp.tanh(x), lambda xp, g, x, y: g * (1 - y * y), saves="out")
asinh = _unary("asinh", lambda xp, x: xp.arcsinh(x), lambda xp, g, x, y: g / xp.sqrt(x * x + 1))
acosh = _unary("acosh", lambda xp, x: xp.arccosh(x), lambda xp, g, x, y: g / xp.sqrt(x * x - 1))
atanh = _unary("atanh", lambda xp, x: xp.arctanh(x), lambda xp, g, x, y: g / (1 - x * x))
erf = _unary("erf", lambda xp, x: _special.erf(xp, x),
             lambda xp, g, x, y: g * _TWO_OVER_SQRT_PI * xp.exp(-x * x))
erfc = _unary("erfc", lambda xp, x: _special.erfc(xp, x),
              lambda xp, g, x, y: -g * _TWO_OVER_SQRT_PI * xp.exp(-x * x))
erfinv = _unary("erfinv", lambda xp, x: _special.erfinv(xp, x),
                lambda xp, g, x, y: g * (math.sqrt(math.pi) / 2) * xp.exp(y * y), saves="out")
lgamma = _unary("lgamma", lambda xp, x: _special.lgamma(xp, x),
                lambda xp, g, x, y: g * _special.digamma(xp, x))
digamma = _unary("digamma", lambda xp, x: _special.digamma(xp, x), None)
reciprocal = _unary("reciprocal", lambda xp, x: _out(xp, x, 1 / x),
                    lambda xp, g, x, y: -g * y * y, saves="out")
square = _unary("square", lambda xp, x: x * x, lambda xp, g, x, y: 2 * g * x, floating=False,
                node="PowBackward0")
neg = _unary("neg", lambda xp, x: _neg(xp, x), lambda xp, g, x, y: -g, floating=False, saves=None)
abs = _unary("abs", lambda xp, x: xp.abs(x), lambda xp, g, x, y: g * xp.sign(x), floating=False)
sign = _unary("sign", lambda xp, x: _sign(xp, x), lambda xp, g, x, y: g * 0, floating=False,
              saves=None)
sgn = sign
floor = _unary("floor", lambda xp, x: x if x.dtype.kind in "biu" else xp.floor(x),
               lambda xp, g, x, y: g * 0, floating=False, saves=None)
ceil = _unary("ceil", lambda xp, x: x if x.dtype.kind in "biu" else xp.ceil(x),
              lambda xp, g, x, y: g * 0, floating=False, saves=None)
trunc = _unary("trunc", lambda xp, x: x if x.dtype.kind in "biu" else xp.trunc(x),
               lambda xp, g, x, y: g * 0, floating=False, saves=None)
fix = trunc
frac = _unary("frac", lambda xp, x: x - xp.trunc(x), lambda xp, g, x, y: g, saves=None)
sigmoid = _unary("sigmoid", lambda xp, x: _sigmoid(xp, x), lambda xp, g, x, y: g * y * (1 - y),
                 saves="out")
relu = _unary("relu", lambda xp, x: xp.maximum(x, 0), lambda xp, g, x, y: g * (y > 0),
              floating=False, saves="out")
isnan = _unary("isnan", lambda xp, x: xp.isnan(x), None, floating=False, differentiable=False)
isinf = _unary("isinf", lambda xp, x: xp.isinf(x), None, floating=False, differentiable=False)
isfinite = _unary("isfinite", lambda xp, x: xp.isfinite(x), None, floating=False,
                  differentiable=False)
isposinf = _unary("isposinf", lambda xp, x: xp.isposinf(x), None, floating=False,
                  differentiable=False)
isneginf = _unary("isneginf", lambda xp, x: xp.isneginf(x), None, floating=False,
                  differentiable=False)
logical_not = _unary("logical_not", lambda xp, x: xp.logical_not(x), None, floating=False,
                     differentiable=False)
signbit = _unary("signbit", lambda xp, x: xp.signbit(x), None, floating=False,
                 differentiable=False)


def _neg(xp, x):
    if x.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return -x


def _sign(xp, x):
    return x.copy() if x.dtype == np.bool_ else xp.sign(x)


def _sigmoid(xp, x):
    # exp(-|x|) never overflows; both branches agree in the middle
    e = xp.exp(-xp.abs(x))
    return _out(xp, x, xp.where(x >= 0, 1 / (1 + e), e / (1 + e)))


def _bitwise_not(xp, x):
    if x.dtype.kind == "f":
        raise TypeError("bitwise_not is only supported for integer and boolean tensors")
    return ~x


bitwise_not = _unary("bitwise_not", _bitwise_not, None, floating=False, differentiable=False)


@op("logit", saves="in")
def _logit(xp, x, eps):
    x = _fl(x)
    z = x if eps is None else xp.clip(x, eps, 1 - eps)
    return _out(xp, x, xp.log(z / (1 - z))), (x, eps)


@_logit.vjp
def _(xp, g, x, eps):
    d = g / (x * (1 - x))
    if eps is not None:
        d = xp.where((x < eps) | (x > 1 - eps), 0, d)
    return (d,)


_logit_fn = make_unary(_logit)


def logit(input, eps=None):
    return _logit_fn(input, eps)


# ---- binary ----------------------------------------------------------------------------------
def _binary(name, f, grad, saves="in", differentiable=True, node=None):
    @op(name, saves=saves, differentiable=differentiable, node=node)
    def fwd(xp, a, b):
        return _out(xp, a, f(xp, a, b)), (a, b)
    if grad is not None:
        fwd.vjp(grad)
    return make_binary(fwd)


def _scalar_g(g, b):
    return None if not hasattr(b, "shape") else g


_add = _binary("add", lambda xp, a, b: a + b, lambda xp, g, a, b: (g, _scalar_g(g, b)),
               saves=None)
_sub = _binary("sub", lambda xp, a, b: _sub_arr(a, b), lambda xp, g, a, b: (g, -g), saves=None)
mul = _binary("mul", lambda xp, a, b: a * b, lambda xp, g, a, b: (g * b, g * a))
_rsub = _binary("rsub", lambda xp, a, b: _sub_arr(b, a), lambda xp, g, a, b: (-g, g), saves=None,
                node="RsubBackward1")


def _sub_arr(a, b):
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    return a - b


def _true_div(xp, a, b):
    if a.dtype.kind in "biu" and getattr(b, "dtype", np.dtype(type(b))).kind in "biu":
        a = a.astype(DEFAULT.float.np)
    return a / b


_div = _binary("div", _true_div, lambda xp, g, a, b: (g / b, -g * a / (b * b)))


def _floor_div(xp, a, b):
    if a.dtype.kind in "iu" and getattr(b, "dtype", np.dtype(type(b))).kind in "iu":
        if (xp.asarray(b) == 0).any():
            raise ZeroDivisionError("ZeroDivisionError")
    return xp.floor_divide(a, b)


def _trunc_div(xp, a, b):
    if a.dtype.kind in "iu" and getattr(b, "dtype", np.dtype(type(b))).kind in "iu":
        if (xp.asarray(b) == 0).any():
            raise ZeroDivisionError("ZeroDivisionError")
        q = xp.abs(a) // xp.abs(b)
        return _out(xp, a, xp.where((a < 0) != (xp.asarray(b) < 0), -q, q).astype(
            xp.result_type(a, b)))
    return xp.trunc(a / b)


floor_divide = _binary("floor_divide", _floor_div, None, differentiable=False)
_div_trunc = _binary("div_trunc", _trunc_div, None, differentiable=False, node="DivBackward1")
remainder = _binary("remainder", lambda xp, a, b: xp.remainder(a, b),
                    lambda xp, g, a, b: (g, _scalar_g(-g * xp.floor(a / b), b)))
fmod = _binary("fmod", lambda xp, a, b: xp.fmod(a, b),
               lambda xp, g, a, b: (g, _scalar_g(-g * xp.trunc(a / b), b)))
atan2 = _binary("atan2", lambda xp, a, b: xp.arctan2(_fl(a), b),
                lambda xp, g, a, b: (g * b / (a * a + b * b), -g * a / (a * a + b * b)))
arctan2 = atan2
hypot = _binary("hypot", lambda xp, a, b: xp.hypot(a, b),
                lambda xp, g, a, b: (g * a / xp.hypot(a, b), g * b / xp.hypot(a, b)))


def _tie_grads(xp, g, a, b, pick_a):
    # torch splits the gradient evenly between equal inputs of maximum/minimum
    half = (a == b) * 0.5
    wa = pick_a + half
    return g * wa, g * (1 - wa)


maximum = _binary("maximum", lambda xp, a, b: xp.maximum(a, b),
                  lambda xp, g, a, b: _tie_grads(xp, g, a, b, a > b))
minimum = _binary("minimum", lambda xp, a, b: xp.minimum(a, b),
                  lambda xp, g, a, b: _tie_grads(xp, g, a, b, a < b))
fmax = _binary("fmax", lambda xp, a, b: xp.fmax(a, b),
               lambda xp, g, a, b: _tie_grads(xp, g, a, b, (a > b) | xp.isnan(b)))
fmin = _binary("fmin", lambda xp, a, b: xp.fmin(a, b),
               lambda xp, g, a, b: _tie_grads(xp, g, a, b, (a < b) | xp.isnan(b)))


def _pow_fwd(xp, a, b):
    if a.dtype.kind in "iu" and getattr(b, "dtype", np.dtype(type(b))).kind in "iu":
        if (xp.asarray(b) < 0).any():
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    return a ** b


def _pow_grad(xp, g, a, b):
    ga = g * b * a ** (b - 1) if not (type(b) in (int, float) and b == 0) else g * 0
    if not hasattr(b, "shape"):
        return ga, None
    # torch: the exponent's gradient is 0 where the base is 0 and the exponent >= 0
    y = a ** b
    gb = g * xp.where((a == 0) & (b >= 0), 0, y * xp.log(xp.where(a == 0, 1, a)))
    return ga, gb


_pow = _binary("pow", _pow_fwd, _pow_grad)


def _cmp(name, f):
    return _binary(name, f, None, differentiable=False)


eq = _cmp("eq", lambda xp, a, b: a == b)
ne = _cmp("ne", lambda xp, a, b: a != b)
lt = _cmp("lt", lambda xp, a, b: a < b)
le = _cmp("le", lambda xp, a, b: a <= b)
gt = _cmp("gt", lambda xp, a, b: a > b)
ge = _cmp("ge", lambda xp, a, b: a >= b)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _cmp("logical_and", lambda xp, a, b: xp.logical_and(a, b))
logical_or = _cmp("logical_or", lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _cmp("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))


def _bitwise(name, f):
    def checked(xp, a, b):
        if a.dtype.kind in "fc" or getattr(b, "dtype", np.dtype(type(b))).kind in "fc":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")
        return f(a, b)
    return _binary(name, checked, None, differentiable=False)


bitwise_and = _bitwise("bitwise_and", lambda a, b: a & b)
bitwise_or = _bitwise("bitwise_or", lambda a, b: a | b)
bitwise_xor = _bitwise("bitwise_xor", lambda a, b: a ^ b)
bitwise_left_shift = _bitwise("bitwise_left_shift", lambda a, b: a << b)
bitwise_right_shift = _bitwise("bitwise_right_shift", lambda a, b: a >> b)


# ---- public signatures with torch's keywords ---------------------------------------------------
def add(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha) if hasattr(other, "arr") else other * alpha
    return _finish(_add(input, other), out)


def sub(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha) if hasattr(other, "arr") else other * alpha
    return _finish(_sub(input, other), out)


subtract = sub


def rsub(input, other, *, alpha=1):
    return _rsub(input, other * alpha if alpha != 1 else other)


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is None:
        r = _div(input, other)
    elif rounding_mode == "floor":
        r = floor_divide(input, other)
    elif rounding_mode == "trunc":
        r = _div_trunc(input, other)
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return _finish(r, out)


divide = true_divide = div
multiply = mul


def rdiv(input, other):
    # torch computes `2 / x` as reciprocal(x) * 2 (grad_fn MulBackward0)
    return mul(reciprocal(input), other)


def pow(input, exponent):
    if not hasattr(input, "arr"):
        return _pow(_scalar_like(input, exponent), exponent)
    return _pow(input, exponent)


def _scalar_like(s, like):
    from .creation import full
    from .._dtype import result_type
    return full((), s, dtype=result_type(s, like), device=like.device)


def rpow(input, other):
    return pow(_scalar_like(other, input), input)


def float_power(input, exponent):
    b = exponent.double() if hasattr(exponent, "arr") else exponent
    return pow(input.double(), b)


def _finish(result, out):
    if out is None:
        return result
    from ._apply import write_into
    out.arr = out.arr if out.shape == result.shape else out.be.xp.empty(result.shape,
                                                                        out.arr.dtype)
    write_into(out, result.arr)
    return out


# ---- ternary and clamping ----------------------------------------------------------------------
@op("where", saves="in")
def _where(xp, cond, a, b):
    return xp.where(cond, a, b), (cond,)


@_where.vjp
def _(xp, g, cond):
    zero = xp.zeros((), g.dtype)
    return None, xp.where(cond, g, zero), xp.where(cond, zero, g)


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    from .creation import as_tensor_like_pair
    a, b = as_tensor_like_pair(input, other, condition)
    if condition.arr.dtype != np.bool_:
        if condition.arr.dtype != np.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {condition.dtype}")
        condition = condition.bool()
    return _finish(apply(_where, (condition, a, b)), out)


@op("clamp", saves="in")
def _clamp(xp, x, lo, hi):
    if x.dtype.kind in "biu" and (type(lo) is float or type(hi) is float):
        x = x.astype(DEFAULT.float.np)
    y = x
    if lo is not None:
        y = xp.maximum(y, lo)
    if hi is not None:
        y = xp.minimum(y, hi)
    return _out(xp, x, y), (x, lo, hi)


@_clamp.vjp
def _(xp, g, x, lo, hi):
    # torch passes the gradient at the bounds (inclusive) and for NaN inputs
    keep = xp.ones(x.shape, bool)
    if lo is not None:
        keep &= ~(x < lo)
    if hi is not None:
        keep &= ~(x > hi)
    return g * keep, _bound_grad(xp, g, x, lo, True), _bound_grad(xp, g, x, hi, False)


def _bound_grad(xp, g, x, bound, is_lo):
    if bound is None or not hasattr(bound, "shape"):
        return None
    return g * ((x < bound) if is_lo else (x > bound))


def clamp(input, min=None, max=None, *, out=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, np.generic):
        min = min.item()
    if isinstance(max, np.generic):
        max = max.item()
    if hasattr(min, "arr") or hasattr(max, "arr"):
        args = [input, min, max]
        from .._tensor import Tensor
        for i in (1, 2):
            if args[i] is not None and not isinstance(args[i], Tensor):
                args[i] = _scalar_like(args[i], input)
        return _finish(apply(_clamp, tuple(args)), out)
    return _finish(apply(_clamp, (input,), (min, max)), out)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    q = tensor1 / tensor2
    return input + (q if value == 1 else q * value)


@op("nan_to_num", saves="in")
def _nan_to_num(xp, x, nan, posinf, neginf):
    if x.dtype.kind not in "fc":
        return x.copy(), (x,)
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf), (x,)


@_nan_to_num.vjp
def _(xp, g, x):
    return (g * xp.isfinite(x),)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return apply(_nan_to_num, (input,), (nan, posinf, neginf))


@op("round", saves=None)
def _round(xp, x, decimals):
    if x.dtype.kind in "biu":
        return x.copy(), ()
    return xp.round(x, decimals), ()


_round.vjp(lambda xp, g: (g * 0,))


def round(input, *, decimals=0):
    return apply(_round, (input,), (decimals,))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    from .creation import as_tensor_like_pair
    a, b = as_tensor_like_pair(input, other, input)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    xp = a.be.xp
    from .._tensor import _new
    return _new(xp.isclose(a.arr, b.arr, rtol=rtol, atol=atol, equal_nan=equal_nan), a.be)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).arr.all())


def equal(input, other):
    return input.shape == other.shape and bool((input.arr == other.arr).all())


def xlogy(input, other):
    from .creation import as_tensor_like_pair
    a, b = as_tensor_like_pair(input, other, input)
    return where(a == 0, zeros_like_(a, b), a * log(b))


def zeros_like_(a, b):
    from .creation import zeros
    from .._dtype import result_type
    return zeros((), dtype=result_type(a, b) if not a.dtype.is_floating_point else a.dtype,
                 device=a.device)
