"""Pointwise ops: forward on raw arrays, the vjp beside it (see _registry for the contract).

dtype rules follow torch. Binary forwards receive operands already promoted to the common dtype
by the apply path (`a` always carries it; `b` is an array of that dtype or a Python scalar), so a
forward only looks at `a.dtype.kind` and takes a slow path for the kinds it treats specially:
'b' bool, 'i'/'u' integers, 'f' float16/32/64, 'V' bfloat16 (ml_dtypes), 'c' complex."""
import builtins
import cmath
import math
import operator as _operator
from math import prod as _prod
from weakref import ref as _weakref

import numpy as np

from .. import _cpu, _dtype as _dt
from .._dtype import DEFAULT, can_cast, result_type as _result_type, result_type_n as _result_type_n
from .._nested_array import NestedArray
from .._sparse_coo import UNARY_OPS as SPARSE_UNARY_OPS, SparseCOO, \
    not_implemented as _sparse_not_implemented
from .._sparse_csr import UNARY_OPS as COMPRESSED_UNARY_OPS, CompressedArray
from .._kernel_dtypes import cname as _cname, check_fits as _check_fits, \
    not_implemented as _not_implemented
from .._memory_format import grad_layout, iterator_layout
from .._tensor import Tensor, _new, bump_version
from ..autograd.node import retype as _retype
from ..amp.state import AMP as _amp
from . import _special
from ._blend import fast_where, quick_where
from ._deprecated import scalar_first
from ._fma import fma as _fma, fma64 as _fma64
from ._overlap import check_out as check_out_overlap
from ._apply import (INPLACE_CHECKS, SCALAR_SELF, _finish, _not_tensor, _tname, apply as _apply,
                     early_out_dtype_check, make_binary as _make_binary,
                     make_unary as _make_unary, raise_not_tensor, tensor_arg, tensor_args)
from ._registry import OPS as _OPS, contiguous_outputs, holomorphic as _holo, op as _op, \
    refused_backward as _refused

_LN2, _LN10 = math.log(2.0), math.log(10.0)
# log10's backward divides by x * 2.3025850929940456 (torch's literal, an ulp below log(10))
_LN10_TORCH = 2.3025850929940456
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_F32_MAX = float(np.finfo(np.float32).max)
_EXACT_INT = 1 << 24


# torch's kernel names in its dtype errors where they are not "<op>_cpu", and its own words
# for some ops of complex inputs
_KERNEL_NAMES = {**{n: n + "_vml_cpu" for n in ("ceil", "floor", "trunc", "round", "erf", "erfc",
                                               "erfinv", "i0", "lgamma")},
                 "digamma": "digamma", "pow": "pow"}
_COMPLEX_REFUSALS = {
    "sign": "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
            "torch.sgn instead.",
    "signbit": "signbit is not implemented for complex tensors.",
    "relu": "clamp is not supported for complex types",
    **{n: f"{n} is not supported for complex inputs" for n in ("ceil", "floor", "trunc")}}


def _ni(name, dt):
    if dt.kind == "c" and name in _COMPLEX_REFUSALS:
        return NotImplementedError(_COMPLEX_REFUSALS[name])
    # (torch.special's kernels are named without the prefix: "entr_cpu")
    kernel = _KERNEL_NAMES.get(name) or name.removeprefix("special_") + "_cpu"
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(dt)}'")


def _bool_sub(input, other):
    if _has_bool(input) and _has_bool(other):
        return RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                            "Use the `^` or `logical_xor()` operator instead.")
    return RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If "
                        "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                        "instead.")


def _float_input(x, name, complex_ok):
    """Slow path of float-valued ops: ints and bool compute in the default float dtype."""
    k = x.dtype.kind
    if k in "biu":
        return x.astype(DEFAULT.float.np)
    if k == "c" and complex_ok is not True:
        if complex_ok is RuntimeError:
            raise RuntimeError(f"{name} is not supported for complex tensors.")
        raise _ni(name, x.dtype)
    return x


def _as_array(xp, y, like):
    """NumPy turns 0-d results into scalars: keep them arrays of the computed dtype."""
    return y if type(y) is type(like) else xp.asarray(y)


# ---- unary ops -------------------------------------------------------------------------------
def _sparse_unary(name, f, xp, x):
    """A unary op of a sparse tensor, reached when `f` met a SparseCOO or a compressed array
    (whose dense kernels raise NotImplementedError): torch applies the ops of SPARSE_UNARY_OPS
    to a COO tensor's coalesced values (the result coalesced) and those of
    COMPRESSED_UNARY_OPS to a CSR/CSC/BSR/BSC tensor's values; any other op keeps that error
    (compressed layouts: torch's unsupported-layout error)."""
    if isinstance(x, CompressedArray):
        if name in ("isfinite", "isreal") and x.dtype.kind == "c":     # (torch's own error)
            raise
        if name not in COMPRESSED_UNARY_OPS:
            raise RuntimeError(f"unsupported tensor layout: Sparse{x.kind}") from None
        return x._like(xp.asarray(f(xp, x.values)))
    if name not in SPARSE_UNARY_OPS or not isinstance(x, SparseCOO):
        raise
    c = x.coalesce()
    return SparseCOO(c.indices, xp.asarray(f(xp, c.values)), x.shape, True, xp)


def _laid_out(grad, order):
    """A unary op's backward `grad` whose result is laid out as torch's backward kernel lays it
    out (grad_layout) where the formula is one pointwise kernel of grad_output and the input
    (or the result): `order` "grad", grad_output's order wins where they disagree (grad * d),
    "input" the input's (d * grad, threshold_backward); None: `grad` as it is (formulas of
    grad_output alone, or several kernels)."""
    if order is None:
        return grad

    def run(xp, g, x, y):
        r = grad(xp, g, x, y)
        a = y if x is None else x
        return grad_layout(r, g, a) if order == "grad" else grad_layout(r, a, g)
    return run


def _float_unary(name, f, grad, saves="in", complex_ok=True, node=None, no_low=None,
                 low_tail=None, low=None, order="grad"):
    """A float-valued op (exp, sin, ...): integer and bool inputs give the default float dtype;
    float16 and bfloat16 compute in float32 (by `low` where given, else f) and round once, as
    torch's CPU kernels do (or, for a kernel `no_low` torch has no 2-byte version of, raise its
    error). `low_tail`: f as torch's scalar code computes it for float16/bfloat16 (see
    _low_tails). `order`: see _laid_out."""
    f_low = f if low is None else low
    grad = _laid_out(grad, order)

    @_op(name, saves=saves, node=node)
    def fwd(xp, x):
        k = x.dtype.kind
        if k != "f" or x.dtype.itemsize == 2:
            if k in "fV":
                if no_low is not None:
                    raise _not_implemented(no_low, x.dtype)
                try:
                    y = f_low(xp, x.astype(_F32)).astype(x.dtype)
                except NotImplementedError:
                    y = _sparse_unary(name, lambda xp, v: f_low(xp, v.astype(_F32))
                                      .astype(v.dtype), xp, x)
                else:
                    if low_tail is not None and xp is np:
                        y = _low_tails(x, y, low_tail)
                if type(y) is not type(x):      # (a 0-d array's NumPy scalar)
                    y = xp.asarray(y)
                return y, (x, y)
            x = _float_input(x, name, complex_ok)
        try:
            y = f(xp, x)
        except NotImplementedError:
            y = _sparse_unary(name, f, xp, x)
        if type(y) is not type(x):
            y = xp.asarray(y)
        return y, (x, y)

    fwd.vjp(_holo(lambda xp, g, x, y: (grad(xp, g, x, y),)))   # all complex ones are holomorphic
    return _make_unary(fwd)


def _same_unary(name, f, grad, saves="in", deny=None, node=None, holo=False, exact_out=True,
                order=None):
    """A dtype-preserving op; `deny` maps a dtype kind to the exception torch raises for it;
    `holo`: `grad` is the real formula of a holomorphic op (see _registry.holomorphic);
    `exact_out`: an `out=` tensor must have the result's dtype (all but square, in torch);
    `order`: see _laid_out."""
    deny = deny or {}
    grad = _laid_out(grad, order)

    @_op(name, saves=saves, node=node)
    def fwd(xp, x):
        if x.dtype.kind in deny:
            raise deny[x.dtype.kind](name, x.dtype)
        try:
            y = f(xp, x)
        except NotImplementedError:
            y = _sparse_unary(name, f, xp, x)
        if type(y) is not type(x):
            y = xp.asarray(y)
        return y, (x, y)

    vjp = lambda xp, g, x, y: (grad(xp, g, x, y),)  # noqa: E731
    fwd.vjp(_holo(vjp) if holo else vjp)
    return _make_unary(fwd, exact_out)


# each _nograd_unary's `deny`, by name (the float8 refusals are added there on first use)
NOGRAD_DENY = {}


def _nograd_unary(name, f, deny=None, exact_out=False, out_ok=True):
    """An op without a derivative (predicates, bitwise_not): its output never requires grad.
    `deny` maps a dtype kind to a function of (name, dtype) giving the exception torch raises
    (or None: that dtype of the kind passes). `exact_out`: an `out=` tensor must have the
    result's dtype; `out_ok`: False where torch's op has no out= (isnan...)."""
    deny = NOGRAD_DENY[name] = dict(deny or {})

    def fn(input, *, out=None):
        try:
            be, x = input.be, input.arr
        except AttributeError:
            raise _not_tensor(name, input) from None
        if out is not None:
            if exact_out:
                early_out_dtype_check(name, input, out)
            check_out_overlap(out, (input,), {})
        if x.dtype.kind in deny:
            err = deny[x.dtype.kind](name, x.dtype)
            if err is not None:
                raise err
        try:
            y = f(be.xp, x)
        except NotImplementedError:
            y = _sparse_unary(name, f, be.xp, x)
        except TypeError:           # (a NumPy function of a nested tensor's array)
            if type(x) is not NestedArray:
                raise
            y = None
        if type(y) is not type(x):
            # a 0-d array's NumPy scalar, or a nested tensor's array: each component's
            y = x.like([f(np, p) for p in x.parts]) if type(x) is NestedArray else \
                be.xp.asarray(y)
        return _new(y, be) if out is None else _finish(_new(y, be), out, name, exact_out)
    if not out_ok:
        def no_out(input):
            return fn(input)
        no_out.__name__ = no_out.__qualname__ = name
        return no_out
    fn.__name__ = fn.__qualname__ = name
    return fn


def _re(msg):
    return lambda name, dt: RuntimeError(msg.format(name=name, dtype=_tname(dt)))


_NO_BOOL = {"b": _ni}
_NO_COMPLEX = {"c": _ni}
_REAL_ONLY = {"b": _ni, "c": _ni}

def _gmul(xp, g, d):
    """g * d in a holomorphic op's rule: for complex g arranged so that _holo's conj(rule(
    conj(grad))) is torch's formula grad * conj(d), rounded as its mul kernel (_mul; not
    conj(conj(grad) * d), which flips the sign of a zero imaginary part)."""
    if g.dtype.kind != "c":
        return g * d
    return xp.conj(_mul(xp, xp.conj(g), xp.conj(d)))


def _in_float64(f):
    """f with float32 NumPy arrays computed in float64 and rounded once. torch's float32 kernels
    of these (MKL's VML, glibc) are within an ulp of the correctly rounded result and mostly on
    it; NumPy's float32 loops are not (expm1: 9 % of float32 outputs differed from torch's,
    log1p 8 %, log10 22 %, atanh 24 %, erfinv 42 %; in float64 0.01-0.7 %). Only where float64
    costs about what float32 does (exp and tanh would be 7-12x slower: NumPy's float32 loops)."""
    def f_wide(xp, x):
        if type(x) is np.ndarray and x.dtype == _F32:
            return f(xp, x.astype(_F64)).astype(_F32)
        return f(xp, x)
    return f_wide


def _svml_f64(name):
    """NumPy's `name`, of a float32 NumPy array in float64 rounded once where NumPy's float32
    loop is SVML's (_cpu.NUMPY_SVML: 10-36 % of its results an ulp or more off the correctly
    rounded one, which torch's Sleef kernels give nearly always); 1-1.5 ns a value more than
    SVML's loop, 10-30x less than libm's (_libm). Elsewhere NumPy calls libm, unchanged."""
    ufunc = getattr(np, name)

    def f(xp, x):
        if _cpu.NUMPY_SVML and type(x) is np.ndarray and x.dtype == _F32:
            return ufunc(x, dtype=_F64).astype(_F32)
        return getattr(xp, name)(x)
    return f


def _libm(name):
    """NumPy's `name` of a NumPy array through libm (_cpu.libm_loop, not SVML's loop): torch's
    kernels of asinh and acosh call libm (SVML's float32 results: 18 % an ulp off)."""
    ufunc = getattr(np, name)

    def f(xp, x):
        return _cpu.libm_loop(ufunc, x) if type(x) is np.ndarray else getattr(xp, name)(x)
    return f


exp = _float_unary("exp", lambda xp, x: xp.exp(x), lambda xp, g, x, y: _gmul(xp, g, y),
                   saves="out")
exp2 = _float_unary("exp2", _svml_f64("exp2"),
                    lambda xp, g, x, y: g * y * _LN2,
                    saves="out")
expm1 = _float_unary("expm1", _in_float64(lambda xp, x: xp.expm1(x)),
                     lambda xp, g, x, y: g * (y + 1),
                     saves="out")
log = _float_unary("log", lambda xp, x: xp.log(x), lambda xp, g, x, y: g / x)
log2 = _float_unary("log2", _svml_f64("log2"),
                    lambda xp, g, x, y: g / (x * _LN2))
log10 = _float_unary("log10", _in_float64(lambda xp, x: xp.log10(x)),
                     lambda xp, g, x, y: g / _times_scalar(x, _LN10_TORCH))


def _log1p_grad(xp, g, x, y):
    if type(x) is SparseCOO:        # torch's log1p_backward: through a dense 1 + x
        import warnings
        from .._warnings import outside_stacklevel
        warnings.warn("log1p_backward: received self with sparse layout, but backward requires "
                      "materialization of a dense tensor with this shape", UserWarning,
                      stacklevel=outside_stacklevel())
        return g * (1 / (x.to_dense() + 1))
    return g / (x + 1)


log1p = _float_unary("log1p", _in_float64(lambda xp, x: xp.log1p(x)), _log1p_grad,
                     node="Log1PBackward0")
sqrt = _float_unary("sqrt", lambda xp, x: xp.sqrt(x), lambda xp, g, x, y: g / (2 * y),
                    saves="out")
# (torch's scalar code of float16/bfloat16 rsqrt rounds the sqrt to the dtype first)
_RSQRT_TAIL = lambda x: 1 / np.sqrt(x.astype(_F32)).astype(x.dtype).astype(_F32)  # noqa: E731
rsqrt = _float_unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x),
                     lambda xp, g, x, y: -0.5 * g * (y * y * y), saves="out",     # (torch's)
                     low_tail=_RSQRT_TAIL, order=None)


def _rsqrt_k(xp, v):
    """torch's rsqrt kernel inside a backward formula: 1 / sqrt(v), float16/bfloat16 in
    float32 rounded once (its scalar tail as rsqrt's forward)."""
    if v.dtype.itemsize != 2 or v.dtype.kind not in "fV":
        return 1 / xp.sqrt(v)
    y = (1 / xp.sqrt(v.astype(_F32))).astype(v.dtype)
    return _low_tails(v, y, _RSQRT_TAIL) if type(v) is np.ndarray else y
reciprocal = _float_unary("reciprocal", lambda xp, x: 1 / x,
                          lambda xp, g, x, y: _gmul(xp, -g, _mul(xp, y, y)), saves="out",
                          order=None)
sin = _float_unary("sin", lambda xp, x: xp.sin(x), lambda xp, g, x, y: g * xp.cos(x))
cos = _float_unary("cos", lambda xp, x: xp.cos(x), lambda xp, g, x, y: -g * xp.sin(x))
tan = _float_unary("tan", _svml_f64("tan"),
                   lambda xp, g, x, y: g * (1 + y * y),
                   saves="out")
# asin/acos/asinh/acosh backward as torch's: g * rsqrt(...), its rsqrt 1 / sqrt rounded twice
# (g / sqrt(...) rounds once less: an ulp apart in a quarter of the elements)
asin = _float_unary("asin", _svml_f64("arcsin"),
                    lambda xp, g, x, y: g * _rsqrt_k(xp, 1 - x * x))
acos = _float_unary("acos", _svml_f64("arccos"),
                    lambda xp, g, x, y: g * -_rsqrt_k(xp, 1 - x * x))
atan = _float_unary("atan", _svml_f64("arctan"),
                   lambda xp, g, x, y: g / (1 + x * x))
# exp(x) overflows float32 past this: torch's AVX2 sinh and cosh of float32 are infinite there
# (its AVX512 kernels' are not, nor its float16/bfloat16 ones, NumPy's float32 loops here)
_EXPF_LIMIT = np.float32(88.72283)       # (the float32 below log(FLT_MAX))


def _hyperbolic(f):
    """float32 sinh/cosh correctly rounded (NumPy's float32 loops are an ulp off one time in
    ten; torch's are not), infinite past exp's overflow as torch's AVX2 kernels."""
    def fwd(xp, x):
        if xp is not np or x.dtype != _F32:
            return f(x)
        with np.errstate(over="ignore"):
            y = f(x, dtype=np.float64).astype(_F32)
        if _cpu.CAPABILITY != "AVX512":
            big = np.abs(x) > _EXPF_LIMIT
            if big.any():
                y[big] = np.copysign(np.inf, y[big])
        return y
    return fwd


_sinh_k, _cosh_k = _hyperbolic(np.sinh), _hyperbolic(np.cosh)
# (the backward takes the other's forward kernel, as torch's grad * self.cosh())
sinh = _float_unary("sinh", _sinh_k, lambda xp, g, x, y: g * _cosh_k(xp, x),
                    low=lambda xp, x: xp.sinh(x))
cosh = _float_unary("cosh", _cosh_k, lambda xp, g, x, y: g * _sinh_k(xp, x),
                    low=lambda xp, x: xp.cosh(x))
def _kernel_grad(grad):
    """A backward that is one float kernel of torch's (tanh_backward): float16 and bfloat16
    computed in float32 and rounded once."""
    def run(xp, g, x, y):
        try:
            if g.dtype.itemsize == 2 and g.dtype.kind in "fV":
                return grad(xp, g.astype(_F32), x, y.astype(_F32)).astype(g.dtype)
            return grad(xp, g, x, y)
        except RuntimeError:        # (1 - y * y of a sparse y): the kernel has no sparse version
            if type(y) is not SparseCOO:
                raise
            raise _sparse_not_implemented("tanh_backward", xp) from None
    return run


def _tanh_grad(xp, g, x, y):
    """torch's tanh_backward is g * fma(-y, y, 1), rounded once; here 1 - y * y rounds twice
    (an ulp apart in 30% of float32 elements): the float64 round trip that fuses it made tanh's
    backward 2.5x slower, and the forward's own values differ from torch's vectorised tanh in
    the last bit for a third of the elements anyway."""
    return g * (1 - y * y)


tanh = _float_unary("tanh", lambda xp, x: xp.tanh(x), _kernel_grad(_tanh_grad), saves="out")
asinh = _float_unary("asinh", _libm("arcsinh"),
                     lambda xp, g, x, y: g * _rsqrt_k(xp, x * x + 1))
acosh = _float_unary("acosh", _libm("arccosh"),
                     lambda xp, g, x, y: g * _rsqrt_k(xp, x * x - 1))
atanh = _float_unary("atanh", _in_float64(lambda xp, x: xp.arctanh(x)),
                     lambda xp, g, x, y: g / (1 - x * x))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def _sigmoid_grad(xp, g, x, y):
    """torch's sigmoid_backward: g (1 - y) y, its bfloat16 kernel in float32 rounded once (its
    float16 kernel rounds every step, as the other dtypes)."""
    if y.dtype.kind == "V":
        g, y32 = g.astype(_F32), y.astype(_F32)
        return (g * (1 - y32) * y32).astype(y.dtype)
    return g * (1 - y) * y


sigmoid = _float_unary("sigmoid", _special.expit, _sigmoid_grad, saves="out")
erf = _float_unary("erf", _special.erf,
                   lambda xp, g, x, y: _times_scalar(xp.exp(-(x * x)), _TWO_OVER_SQRT_PI) * g,
                   complex_ok=False, order="input")
# (erf, erfc, erfinv backward in torch's order: constant * exp(...) * grad; with the exps
# equal, bit for bit)
erfc = _float_unary("erfc", _special.erfc,
                    lambda xp, g, x, y: _times_scalar(xp.exp(-(x * x)), -_TWO_OVER_SQRT_PI) * g,
                    complex_ok=False, order="input")
def _erfinv(xp, x):
    y = _special.erfinv(xp, x)
    # torch: erfinv(-0.0) = -0.0, erfinv(nan) the same nan (SciPy's: its sign flipped)
    return xp.where((x == 0) | xp.isnan(x), x, y).astype(y.dtype)


_erfinv_wide = _in_float64(_erfinv)


def _erfinv_f32(xp, x):
    """erfinv, with float32's NaNs out of [-1, 1] negative as torch's vectorised float32
    kernel's (its float64 and float16 ones are positive)."""
    y = _erfinv_wide(xp, x)
    if x.dtype == _F32:
        y = xp.where(xp.abs(x) > 1, np.float32(-np.nan), y)
    return y


erfinv = _float_unary("erfinv", _erfinv_f32,
                      lambda xp, g, x, y: _times_scalar(xp.exp(y * y), 0.5 * math.sqrt(math.pi))
                      * g,
                      complex_ok=False, low=_erfinv_wide, order="input")
_OPS["erfinv"].rerun_on_write()     # (torch's backward recomputes erfinv(self))
def _lgamma(xp, x):
    y = _special.lgamma(xp, x)
    return xp.where(x == -math.inf, math.inf, y).astype(y.dtype)   # torch: lgamma(-inf) = inf


lgamma = _float_unary("lgamma", _lgamma,
                      lambda xp, g, x, y: g * _special.digamma(xp, x), complex_ok=False)
digamma = _float_unary("digamma", _special.digamma,
                       lambda xp, g, x, y: g * _special.trigamma(xp, x), complex_ok=False)


def _scaled(c):
    """x * c for deg2rad / rad2deg; a sparse x goes to _sparse_unary, as torch scales the
    coalesced values (its sparse mul by a number keeps the entries as they are)."""
    def f(xp, x):
        if type(x) is SparseCOO:
            raise NotImplementedError
        return x * c
    return f


deg2rad = _float_unary("deg2rad", _scaled(math.pi / 180),
                       lambda xp, g, x, y: g * (math.pi / 180), saves=None,
                       complex_ok=RuntimeError, node="Deg2RadBackward0", order=None)
rad2deg = _float_unary("rad2deg", _scaled(180 / math.pi),
                       lambda xp, g, x, y: g * (180 / math.pi), saves=None,
                       complex_ok=RuntimeError, node="Rad2DegBackward0", order=None)


def _neg(xp, x):
    return -x


def _sign(xp, x):
    if x.dtype.kind == "b":
        return x.copy()
    if x.dtype.kind not in "fV":
        return xp.sign(x)
    s = (x > 0).astype(x.dtype)     # torch's (0 < x) - (x < 0): sign(nan) = sign(-0.0) = +0
    s -= (x < 0).astype(x.dtype)
    return s


def _cabs(xp, x):
    """|x| of a complex array as torch's std::abs: hypot of the parts, complex64's in double
    (rounded once; NumPy's absolute is an ulp off in a third of the elements)."""
    if type(x) is SparseCOO:
        return xp.abs(x)                # (NotImplementedError: the sparse path)
    re, im = x.real, x.imag
    if re.dtype == np.float32:
        return xp.hypot(re.astype(np.float64), im.astype(np.float64)).astype(np.float32)
    return xp.hypot(re, im)


def _abs(xp, x):
    return xp.abs(x) if x.dtype.kind != "c" else _cabs(xp, x)


def _sgn(xp, x):
    """x / |x| as torch's kernel of a contiguous input (on one thread, or below its 32768-element
    grain): 0 at 0; its vectorised loop, two vectors a step (8 complex64 or 4 complex128 on AVX2,
    twice as many on AVX512: torch registers sgn for both), divides the parts by the abs, its
    scalar tail multiplies them by the abs's reciprocal (an ulp apart)."""
    if x.dtype.kind != "c":
        return _sign(xp, x)
    a = _cabs(xp, x)
    one = a.dtype.type(1)
    zero = a == 0
    a = xp.where(zero, one, a)
    n = x.size
    tail = xp.arange(n).reshape(x.shape) >= n - n % (2 * _cpu.VEC_BYTES // x.dtype.itemsize)
    inv = one / a
    re = xp.where(tail, x.real * inv, x.real / a)
    im = xp.where(tail, x.imag * inv, x.imag / a)
    return xp.where(zero, 0, (re + im * 1j).astype(x.dtype))


def _zero_grad(xp, g, x, y):
    return xp.zeros_like(g)


_NEG_BOOL = _re("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
neg = _same_unary("neg", _neg, lambda xp, g, x, y: -g, saves=None, deny={"b": _NEG_BOOL})
negative = neg
abs = _same_unary("abs", _abs,
                  lambda xp, g, x, y: g * (_sgn(xp, x) if x.dtype.kind == "c" else xp.sign(x)),
                  deny=_NO_BOOL, order="grad")
absolute = abs
sign = _same_unary("sign", _sign, _zero_grad, saves=None, deny=_NO_COMPLEX)


def _sgn_grad(xp, g, x, y):
    """torch's sgn_backward: (g - sgn^2 conj(g)) / (2 |x|), 0 at 0, its products rounded as
    its mul kernel's (_mul); 0 for real inputs."""
    if x.dtype.kind != "c":
        if type(x) is SparseCOO:        # torch's zero tensor has no sparse kernel
            raise _sparse_not_implemented("_efficientzerotensor", xp)
        return xp.zeros_like(g)
    if type(x) is not np.ndarray:
        a = xp.abs(x)
        zero = a == 0
        return xp.where(zero, 0, (g - (g * y.conj()).real * y) / xp.where(zero, 1, a))
    a = _cabs(xp, x)
    zero = a == 0
    r = (g - _mul(xp, _mul(xp, y, y), xp.conj(g))) / (2 * xp.where(zero, 1, a))
    return xp.where(zero, 0, r).astype(g.dtype, copy=False)


sgn = _same_unary("sgn", _sgn, _sgn_grad, saves="both")

# ---- complex conjugate and phase ---------------------------------------------------------------
def _conj(xp, x):
    return xp.conj(x) if x.dtype.kind != "b" else x.copy()     # (NumPy's bool conj: int8)


_conj_fn = _same_unary("conj", _conj, lambda xp, g, x, y: xp.conj(g), saves=None)
_conj_physical_fn = _same_unary("conj_physical", _conj, lambda xp, g, x, y: xp.conj(g),
                                saves=None)
# Tensor.conj_physical_ computes through this one: torch names its node ConjPhysicalBackward1
_conj_physical1_fn = _same_unary("conj_physical_", _conj, lambda xp, g, x, y: xp.conj(g),
                                 saves=None, node="ConjPhysicalBackward1")


def _is_real_tensor(x):
    a = getattr(x, "arr", None)
    return a is not None and a.dtype.kind != "c"


class ConjVersion(list):
    """The version counter of a conjugate view (x.conj() of a complex x), shared with the views
    made of it. torch's view only flags x's memory as conjugated; ember's kernels know no such
    flag, so the view holds the conjugated values in a buffer of its own (`buf`, made once), and
    this counter ties it to its source: the version is the source's, and an in-place write
    through the view (bumping this counter) writes the conjugate of the buffer back into the
    source. `conj` is False for the conjugate of a conjugate view (a view of plain values, whose
    writes reach the source through the first view). Not mirrored: a write to the source made
    after the view is not seen by the view (torch's would see it)."""
    __slots__ = ("src", "buf", "conj", "owner")

    def __init__(self, view, src, conj):
        list.__init__(self, (0, 0))          # [version, stamp] are read from the source's
        if src._vc is None:
            src._vc = [0, 0]
        self.src, self.buf, self.conj, self.owner = src, view.arr, conj, _weakref(view)

    def __getitem__(self, i):
        return self.src._vc[i] if i in (0, 1) else list.__getitem__(self, i)

    def __setitem__(self, i, value):
        if i == 0:                      # bump_version: write back, then bump the source
            src = self.src
            src.be.xp.copyto(src.arr, src.be.xp.conj(self.buf))
            bump_version(src)
        elif i != 1:                    # (the stamp is the source's, set by its bump)
            list.__setitem__(self, i, value)


def conj(input):
    """A conjugate view of a complex tensor (is_conj() True; the conjugate of one is a plain
    view of the original's values); a real tensor is returned as it is, as in torch."""
    if _is_real_tensor(input):
        return input
    t = _conj_fn(input)
    t._vc = ConjVersion(t, input, not is_conj(input))
    t._base = input if input._base is None else input._base
    return t


def conj_physical(input, *, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {})
    if _is_real_tensor(input) and out is None:
        return input
    return _finish(_conj_physical_fn(input), out, "conj_physical", True)


def _conj_version(input):
    vc = getattr(input, "_vc", None)
    return vc if type(vc) is ConjVersion and vc.conj else None


def is_conj(input):
    try:
        kind = input.arr.dtype.kind
    except AttributeError:
        raise _not_tensor("is_conj", input) from None
    return kind == "c" and _conj_version(input) is not None


def is_neg(input):
    """The imaginary part of a conjugate view (a view of negated values), as torch's."""
    try:
        kind = input.arr.dtype.kind
    except AttributeError:
        raise _not_tensor("is_neg", input) from None
    vc = _conj_version(input)
    if vc is None or kind == "c":
        return False
    offset = input.arr.__array_interface__["data"][0] - vc.buf.__array_interface__["data"][0] \
        if isinstance(vc.buf, np.ndarray) else input.arr.data.ptr - vc.buf.data.ptr
    return offset % vc.buf.itemsize != 0


def resolve_conj(input):
    """A tensor with the conjugation done: a copy of a conjugate view, else `input` itself."""
    try:
        return input.clone() if is_conj(input) else input
    except TypeError:
        raise_not_tensor("resolve_conj", ("input", 1, input))


def resolve_neg(input):
    try:
        return input.clone() if is_neg(input) else input
    except TypeError:
        raise_not_tensor("resolve_neg", ("input", 1, input))


def _angle_real(xp, x):
    """angle of real numbers: pi for negatives, 0 otherwise (-0.0 too), NaN kept."""
    return xp.where(x < 0, math.pi, xp.where(x != x, x, 0)).astype(x.dtype)


def _angle_kernel(xp, x):
    k = x.dtype.kind
    if k == "c":        # (torch's complex angle allocates its result contiguous)
        y = _arctan2(xp, x.imag, x.real) if xp is np else xp.angle(x)
        return y if y.flags.c_contiguous else xp.ascontiguousarray(y)   # (keeps a 0-d one)
    if k == "V":
        return _angle_real(xp, x.astype(_F32)).astype(x.dtype)
    return _angle_real(xp, _float_input(x, "angle", True))


@_op("angle", saves="in")
def _angle(xp, x):
    try:
        y = _angle_kernel(xp, x)
    except NotImplementedError:
        y = _sparse_unary("angle", _angle_kernel, xp, x)
    return _as_array(xp, y, x), (x,)


@_angle.vjp
def _(xp, g, x):
    # torch's angle_backward: g * i z / |z|^2 (0 at z == 0); real inputs get zeros
    if x.dtype.kind != "c":
        return (xp.zeros_like(g),)
    a2 = (x * x.conj()).real
    zero = a2 == 0
    return (xp.where(zero, 0, g * 1j * x / xp.where(zero, 1, a2)),)


angle = _make_unary(_angle)


def _square(xp, x):
    if x.dtype.kind == "b":
        if isinstance(x, SparseCOO):    # (torch's pow_ into the bool sparse tensor)
            raise RuntimeError("result type Long can't be cast to the desired output type Bool")
        x = x.astype(np.int64)
    return xp.square(x)         # (x * x, but a sparse x goes to _sparse_unary: coalesced first)


def _square_grad(xp, g, x, y):
    if type(x) is SparseCOO:    # torch's pow_backward: g * (2 * x.pow(1)), x coalesced by pow
        x = x.coalesce()
    return 2 * g * x


square = _same_unary("square", _square, _square_grad, node="PowBackward0", order="grad",
                     holo=True, exact_out=False)


def _unchanged(x):
    """A copy of x, where an op leaves its values as they are (integer floor, round...); a
    sparse x goes to _sparse_unary (torch coalesces it)."""
    if type(x) is SparseCOO:
        raise NotImplementedError
    return x.copy()


def _int_identity(f):
    return lambda xp, x: _unchanged(x) if x.dtype.kind in "iu" else f(x)


floor = _same_unary("floor", _int_identity(np.floor), _zero_grad, saves=None,
                    deny=_REAL_ONLY)
ceil = _same_unary("ceil", _int_identity(np.ceil), _zero_grad, saves=None, deny=_REAL_ONLY)
trunc = _same_unary("trunc", _int_identity(np.trunc), _zero_grad, saves=None, deny=_REAL_ONLY)
fix = trunc
frac = _same_unary("frac", lambda xp, x: x - xp.trunc(x), lambda xp, g, x, y: g, saves=None,
                   deny={"b": _ni, "i": _ni, "u": _ni, "c": _ni})
_RELU_BOOL = _re("Boolean inputs not supported for relu")
def _relu(xp, x):
    if xp is np and x.dtype.kind == "f":
        return _clip(x, 0, None)
    return fast_where(xp, x < 0, x.dtype.type(0), x)           # -0.0 and NaN stay


def _relu_grad(xp, g, x, y):
    try:
        return fast_where(xp, y <= 0, g.dtype.type(0), g)
    except NotImplementedError:     # torch's threshold_backward_sparse: g's entries and y's
        if not isinstance(g, SparseCOO):    # values taken as aligned
            raise
        return g._like(xp.where(y.values <= 0, g.dtype.type(0), g.values))


_relu_op = _same_unary("relu", _relu, _relu_grad, saves="out", deny={"b": _RELU_BOOL, "c": _ni},
                       order="input")


def relu(input):
    """torch.relu, which has no out= (the Tensor method and F.relu call _relu_op itself)."""
    return _relu_op(input)


relu.method = _relu_op


def positive(input):
    try:
        kind = input.arr.dtype.kind
    except AttributeError:
        raise _not_tensor("positive", input) from None
    if kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _no_inf(xp, x):
    """isinf / isposinf / isneginf of a tensor that holds no infinity (signbit of a bool
    one); a sparse one goes to _sparse_unary (torch maps its values)."""
    if isinstance(x, (SparseCOO, CompressedArray)):
        raise NotImplementedError
    return xp.zeros(x.shape, bool)


def _all_true(xp, x):
    """isfinite / isreal of a tensor whose dtype says so: torch's ones_like with a memory
    format, which refuses a sparse tensor."""
    if type(x) is SparseCOO:
        raise RuntimeError("memory format option is only supported by strided tensors")
    if isinstance(x, CompressedArray):
        raise RuntimeError("unsupported memory format Preserve")
    return xp.ones(x.shape, bool)


def _isposinf(xp, x):
    return xp.isposinf(x) if x.dtype.kind in "fV" else _no_inf(xp, x)


def _isneginf(xp, x):
    return xp.isneginf(x) if x.dtype.kind in "fV" else _no_inf(xp, x)


def _bitwise_not(xp, x):
    return ~x


_INF_COMPLEX = _re("{name} does not support complex inputs.")
isnan = _nograd_unary("isnan", lambda xp, x: x != x, out_ok=False)
isinf = _nograd_unary("isinf", lambda xp, x: xp.isinf(x) if x.dtype.kind in "fcV"
                      else _no_inf(xp, x), out_ok=False)
def _isfinite(xp, x):
    k = x.dtype.kind
    if k in "fV":
        return xp.isfinite(x)
    if k != "c":
        return _all_true(xp, x)
    if isinstance(x, CompressedArray):
        raise _sparse_not_implemented("view_as_real", xp, "SparseCsr")
    return xp.isfinite(x)


isfinite = _nograd_unary("isfinite", _isfinite, out_ok=False)
isposinf = _nograd_unary("isposinf", _isposinf, deny={"c": _INF_COMPLEX}, exact_out=True)
isneginf = _nograd_unary("isneginf", _isneginf, deny={"c": _INF_COMPLEX}, exact_out=True)


def _isreal(xp, x):
    if x.dtype.kind != "c":
        return _all_true(xp, x)
    if type(x) is SparseCOO:        # (torch's imag(x) == 0)
        raise _sparse_not_implemented("eq.Scalar", xp)
    if isinstance(x, CompressedArray):
        raise _sparse_not_implemented("view_as_real", xp, "SparseCsr")
    return xp.isreal(x)


isreal = _nograd_unary("isreal", _isreal)
_signbit = _nograd_unary("signbit", lambda xp, x: xp.signbit(x) if x.dtype.kind != "b"
                         else _no_inf(xp, x), deny=_NO_COMPLEX, exact_out=True)


def signbit(input, *, out=None):
    if out is not None and getattr(out, "dtype", None) is not _dt.bool_:
        raise RuntimeError("signbit does not support non-boolean outputs.")
    return _signbit(input, out=out)
logical_not = _nograd_unary("logical_not", lambda xp, x: xp.logical_not(x))
bitwise_not = _nograd_unary("bitwise_not", _bitwise_not,
                            deny={"f": _ni, "V": _ni, "c": _ni}, exact_out=True)


def _logit_bounds(dt, eps):
    """torch's clamp bounds for logit(eps=): eps in the tensor's own dtype and 1 - eps computed
    in it (a float16/bfloat16 bound rounded: bfloat16's 1 - 1e-3 is 1.0, its 1 - 0.2 0.80078)."""
    lo = np.asarray(eps, dtype=dt)
    return float(lo), float(np.asarray(1, dtype=dt) - lo)


@_op("logit", saves="in")
def _logit(xp, x, eps):
    """torch's logit kernels: bfloat16 computed in float32 (float16 in float16, op by op), x
    clamped as `x < lo ? lo : (x > hi ? hi : x)` (an eps above 0.5 puts x below lo at lo)."""
    dt = x.dtype
    if dt.kind != "f":
        x = x.astype(_F32) if dt.kind == "V" else _float_input(x, "logit", False)
    if eps is None or eps < 0:
        z = x
    else:
        lo, hi = _logit_bounds(dt if dt.kind in "fV" else x.dtype, eps)
        z = xp.where(x < lo, x.dtype.type(lo), xp.where(x > hi, x.dtype.type(hi), x))
    y = _as_array(xp, xp.log(z / (1 - z)), x)
    return (y.astype(dt) if dt.kind in "fV" else y), (x, eps, dt)


@_logit.vjp
def _(xp, g, x, eps, dt):
    """dy / (x (1 - x)) (in float32 for bfloat16); 0 outside [lo, hi] with an eps, NaN outside
    [0, 1] without one (torch's logit_backward; ints compute in float32 as float32)."""
    d = g.astype(x.dtype, copy=False) / (x * (1 - x))
    if eps is None or eps < 0:
        d = xp.where((x < 0) | (x > 1), x.dtype.type(np.nan), d)
    else:
        lo, hi = _logit_bounds(dt if dt.kind in "fV" else x.dtype, eps)
        d = xp.where((x < lo) | (x > hi), x.dtype.type(0), d)
    return (d.astype(g.dtype, copy=False),)


_logit_fn = _make_unary(_logit)


def logit(input, eps=None):
    return _logit_fn(input, eps)


@_op("round_decimals", saves=None, node="RoundBackward1")
def _round_dec(xp, x, decimals):
    """torch's round_decimals kernel: nearbyint(x * 10^d) / 10^d (for d < 0, nearbyint(x / 10^-d)
    * 10^-d) in the opmath type (float32 for half and bfloat16), the power as C's pow gives it
    and cast to that type (NumPy's round multiplies up its power by tens, inexact past 1e22, and
    computes half in half: 655.04 to 3 decimals overflowed to inf)."""
    if x.dtype.kind in "bciu":      # (torch's round(decimals=0) runs round's own kernel)
        raise _ni("round", x.dtype) if decimals == 0 else _not_implemented("round_cpu", x.dtype)
    if isinstance(x, (SparseCOO, CompressedArray, NestedArray)):
        return xp.round(x, decimals), ()    # (their own round: refusals in torch's words)
    ot = x.dtype if x.dtype.char in "fd" else _F32
    try:
        power = math.pow(10, builtins.abs(decimals))
    except OverflowError:
        power = math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        a, p = x.astype(ot, copy=False), ot.type(power)
        y = xp.rint(a / p) * p if decimals < 0 else xp.rint(a * p) / p
    return _as_array(xp, y.astype(x.dtype, copy=False), x), ()


_round_dec.vjp(lambda xp, g: (xp.zeros_like(g),))
_round0 = _same_unary("round",
                      lambda xp, x: _unchanged(x) if x.dtype.kind in "iu" else xp.round(x),
                      _zero_grad, saves=None, deny=_REAL_ONLY, node="RoundBackward0")


def round(input, *, decimals=None, out=None):
    """torch's two overloads: round(input), which passes integers through, and
    round(input, decimals=...) (RoundBackward1), which has no integer kernels."""
    if out is not None:
        check_out_overlap(out, (input,), {})
    if decimals is None:
        return _round0(input, out=out)
    return _finish(_apply(_round_dec, (input,), (decimals,)), out, "round", exact=True)


def _nan_to_num_kernel(xp, x, nan, posinf, neginf):
    if x.dtype.kind not in "fcV":
        return _unchanged(x)
    if x.dtype.kind == "V":
        fi = _finfo(x.dtype)
        nan, posinf, neginf = _fills(x.dtype, nan, fi.max if posinf is None else posinf,
                                     fi.min if neginf is None else neginf)
        y = xp.nan_to_num(x.astype(_F32), nan=nan, posinf=posinf, neginf=neginf)
        return _as_array(xp, y.astype(x.dtype), x)
    nan, posinf, neginf = _fills(x.real.dtype, nan, posinf, neginf)
    return _as_array(xp, xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf), x)


def _fills(dt, *values):
    """torch's static_cast<scalar_t>(double) of nan_to_num's replacements, as NumPy scalars
    (float32 for the 2-byte floats, exact): through float for all but double (a float16 2049.0
    + 1e-10 is 2048), out of range silently infinite (NumPy warns casting the Python float)."""
    if dt == np.float64:
        return values
    with np.errstate(over="ignore"):
        return tuple(None if v is None else np.float32(v) if dt.itemsize > 2 or dt.kind == "V"
                     else np.float32(np.float32(v).astype(dt)) for v in values)


@_op("nan_to_num", saves="in")
def _nan_to_num(xp, x, nan, posinf, neginf):
    if isinstance(x, CompressedArray):
        raise _sparse_not_implemented("nan_to_num.out", xp, "SparseCsr")
    try:
        return _nan_to_num_kernel(xp, x, nan, posinf, neginf), (x,)
    except NotImplementedError:
        return _sparse_unary("nan_to_num", lambda xp, v: _nan_to_num_kernel(
            xp, v, nan, posinf, neginf), xp, x), (x,)


def _finfo(dt):
    import ml_dtypes
    return ml_dtypes.finfo(dt)


@_nan_to_num.vjp
def _(xp, g, x):
    return (g * xp.isfinite(x),)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {})
    return _finish(_apply(_nan_to_num, (input,), (nan, posinf, neginf)), out, "nan_to_num",
                   "nan_to_num: dtype of out: {out} should be same as input: {result}")


# ---- binary ops ------------------------------------------------------------------------------
def _binary(name, f, grad=None, saves="in", node=None, fast="f", check=None, opmath=False,
            scaled=None):
    """`check(a, b, *static) -> (a, b)` runs when the common dtype's kind is not in `fast`: it
    casts (int -> float for float-valued ops) or raises torch's error for unsupported dtypes.
    `opmath`: a float16/bfloat16 tensor with a Python float is computed in float32.
    `scaled(xp, a, b, alpha)`: the op with torch's `alpha` (add, sub, rsub), which arrives as
    the one static argument and is saved last for `grad`."""
    @_op(name, saves=saves, node=node, differentiable=grad is not None)
    def fwd(xp, a, b, *static):
        if check is not None and a.dtype.kind not in fast:
            try:
                a, b = check(a, b, *static)
            except (NotImplementedError, RuntimeError):
                _check_broadcast(a, b)      # torch reports the shape error first
                raise
        try:
            if static:
                y = scaled(xp, a, b, *static)
                if type(y) is not type(a) and type(y) is not SparseCOO:
                    y = xp.asarray(y)
                return y, (a, b, *static)
            y = f(xp, a, b)
        except ValueError:
            raise _shape_error(a, b) from None
        if type(y) is not type(a) and type(y) is not SparseCOO:
            y = xp.asarray(y)       # a NumPy scalar; a dense * sparse product stays sparse
        return y, (a, b)
    if grad is not None:
        fwd.vjp(grad)
    fwd.opmath = opmath
    return _make_binary(fwd)


def _shape_error(a, b):
    """torch's message for operands that do not broadcast (NumPy raises ValueError)."""
    sa, sb = tuple(a.shape), tuple(getattr(b, "shape", ()))
    n = builtins.max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and 1 not in (pa[i], pb[i]):
            return RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b "
                                f"({pb[i]}) at non-singleton dimension {i}")
    return RuntimeError(f"operands could not be broadcast together with shapes {sa} {sb}")


def _shapes_as_runtime(fwd):
    """NumPy reports operands that do not broadcast with ValueError; torch with RuntimeError."""
    def checked(xp, *args):
        try:
            return fwd(xp, *args)
        except (ValueError, NotImplementedError, RuntimeError) as e:
            arrays = [a for a in args if hasattr(a, "shape")]
            for i, a in enumerate(arrays):       # torch reports a shape error first
                for b in arrays[i + 1:]:
                    _check_broadcast(a, b)
            if type(e) is ValueError and "broadcast" in str(e):
                raise _shape_error(arrays[0], arrays[-1]) from None
            raise
    checked.__name__ = fwd.__name__
    return checked


def _check_broadcast(a, b):
    if hasattr(b, "shape") and a.shape != b.shape:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise _shape_error(a, b) from None


def _has_shape(b):
    return hasattr(b, "shape")


def _scalar_g(g, b):
    return g if hasattr(b, "shape") else None


def _to_float_pair(name, complex_ok=True):
    def check(a, b):
        k = a.dtype.kind
        if k in "biu":
            fl = DEFAULT.float.np
            return a.astype(fl), (b.astype(fl) if _has_shape(b) else b)
        if k == "c" and not complex_ok:
            raise _ni(name, a.dtype)
        return a, b
    return check


def _deny(name, kinds, zero_div=False):
    """Raise NotImplementedError for the dtype kinds in `kinds`; integer division by zero
    raises RuntimeError('ZeroDivisionError') as torch does."""
    def check(a, b):
        k = a.dtype.kind
        if k in kinds:
            raise _ni(name, a.dtype)
        if zero_div and k in "iu" and a.size and ((b == 0).any() if _has_shape(b) else b == 0):
            raise RuntimeError("ZeroDivisionError")
        return a, b
    return check


def _complex_alpha(operand, sign):
    """torch's add, sub and rsub kernels compute `self + alpha * other` (rsub: `other + alpha *
    self`), alpha a complex number (1 or -1 here) for complex results: its naive product turns an
    infinite part into NaN in the other part (inf * 0), so (inf + 0j) + (inf + 0j) is inf + nanj.
    For complex operands, the `operand` (0: a, 1: b) the kernel adds or subtracts is replaced by
    that product (negated where the kernel subtracts)."""
    one = complex(sign)

    def check(a, b, *alpha):
        if a.dtype.kind != "c" or alpha:       # (with alpha: _axpy)
            return a, b
        ab = [a, b]
        p = ab[operand] * a.dtype.type(one)
        ab[operand] = p if sign == 1 else -p
        return tuple(ab)
    return check


def _axpy(xp, dt, base, x, c, out=None):
    """base + c * x as torch's add kernel computes `self + alpha * other` (sub and rsub: alpha
    negated), `c` already converted to the result dtype `dt`, numbers cast to it too: floating
    dtypes in one fused multiply-add (float16/bfloat16 in float32), complex ones with the
    naive complex product, integers wrapping. `out`: an array to write the result into."""
    if dt.kind not in "fV" or type(base) is SparseCOO or type(x) is SparseCOO:
        if dt.kind == "b":
            r = xp.logical_or(base, xp.logical_and(x, c))
        else:
            r = base + (xp.multiply(x, c, dtype=dt) if dt.kind in "iu" else x * c)  # (wrapping)
        if out is None:
            return r
        out[...] = r
        return out
    if getattr(base, "dtype", None) != dt:
        base = xp.asarray(base, dt)
    if getattr(x, "dtype", None) != dt:
        x = xp.asarray(x, dt)
    if dt.itemsize != 2:
        return _fma(xp, x, c, base, dt, out)
    flat = xp is np and c != 1 and c != -1 and _flat_operands(base, x)
    base, x, c = base.astype(_F32), x.astype(_F32), _F32.type(c)
    r = _fma(xp, x, c, base, dt, out)
    if flat and r.flags.c_contiguous:
        r = _scalar_tails(base, x, c, dt, r)
    return r


def _flat_operands(a, b):
    """Whether torch's CPU loop runs over a and b as one flat contiguous range (each a
    C-contiguous array of the result's size, or a single element broadcast: stride 0) with a
    scalar tail (_scalar_tails): fewer than 32768 elements, not a multiple of 32."""
    n = _prod(np.broadcast_shapes(a.shape, b.shape))
    return n < 32768 and n % 32 and all(t.size == 1 or t.size == n and t.flags.c_contiguous
                                        for t in (a, b))


def _scalar_tails(base, x, c, dt, r):
    """torch's float16/bfloat16 `self + alpha * other` outside its vectorised loop. The loop
    computes in float32 and rounds once (the fused result in r), two AVX2 vectors (32
    elements) at a time; the elements after the last pair take the scalar code, in the dtype's
    own arithmetic: `alpha * other` rounded to the dtype, then the sum rounded. Here for flat
    operands (_flat_operands) of fewer than 32768 elements (at::internal::GRAIN_SIZE), which
    torch runs in one chunk: the chunks of longer ones follow its threads (and its OpenMP's
    load-dependent thread count), left to the vectorised rounding. r: the vectorised result,
    written in place (a NumPy scalar, for 0-d operands, replaced)."""
    k = r.size // 32 * 32
    bf, xf = base.reshape(-1), x.reshape(-1)
    b = bf if bf.size == 1 else bf[k:]
    prod = ((xf if xf.size == 1 else xf[k:]) * c).astype(dt).astype(_F32)
    tail = (b + prod).astype(dt)
    if type(r) is not np.ndarray:
        return tail[0]
    r.reshape(-1)[k:] = tail
    return r


def _low_tails(x, y, tail):
    """A float16/bfloat16 unary op's elements outside torch's vectorised loop, for a
    contiguous x (in C or, a transpose, Fortran order: torch runs over memory) of fewer than
    32768 elements (one chunk, as in _scalar_tails): the loop takes 32 elements at a time, the
    ones after the last 32 take the scalar code, `tail` (a function of x's dtype array giving
    float32 values, rounded to the dtype here). y: the vectorised result, in x's layout,
    written in place (a 0-d result replaced)."""
    n = x.size
    if not n % 32 or n >= 32768:
        return y
    if not x.flags.c_contiguous:
        if x.flags.f_contiguous and type(y) is np.ndarray and y.flags.f_contiguous:
            _low_tails(x.T, y.T, tail)
        return y
    k = n // 32 * 32
    t = tail(x.reshape(-1)[k:]).astype(x.dtype)
    if type(y) is not np.ndarray or not y.ndim:
        return t.reshape(())
    y.reshape(-1)[k:] = t
    return y


def _scaled_g(g, x, alpha):
    """The gradient through `alpha * x` (None where x is a number): torch's g * alpha, alpha
    as the Python number given (conjugated: complex alpha)."""
    if not _has_shape(x):
        return None
    if alpha == 1:
        return g
    return _times_scalar(g, alpha.conjugate() if type(alpha) is complex else alpha)


_add = _binary("add", lambda xp, a, b: a + b,
               lambda xp, g, a, b, c=1, alpha=1: (g, _scaled_g(g, b, alpha)),
               saves=None, fast="biufV", check=_complex_alpha(1, 1),
               scaled=lambda xp, a, b, c, alpha: _axpy(xp, a.dtype, a, b, c))
_sub = _binary("sub", lambda xp, a, b: a - b,
               lambda xp, g, a, b, c=1, alpha=1: (g, _neg(_scaled_g(g, b, alpha))),
               saves=None, fast="biufV", check=_complex_alpha(1, -1),
               scaled=lambda xp, a, b, c, alpha: _axpy(xp, a.dtype, a, b, c))
_rsub, _rsub_t = (
    _binary(name, lambda xp, a, b: b - a,
            lambda xp, g, a, b, c=1, alpha=1: (_neg(_scaled_g(g, a, alpha)), _scalar_g(g, b)),
            saves=None, node=node, fast="biufV", check=_complex_alpha(0, -1),
            scaled=lambda xp, a, b, c, alpha: _axpy(xp, a.dtype, b, a, c))
    for name, node in (("rsub", "RsubBackward1"), ("rsub_tensor", "RsubBackward0")))


def _neg(g):
    return None if g is None else -g


def _times_scalar(g, b):
    """g * b; a float16/bfloat16 g with a Python float b in float32, as torch's kernels."""
    if type(b) is float and g.dtype.itemsize == 2:
        return (g.astype(np.float32) * b).astype(g.dtype)
    return g * b


def _cmul(a, b, y):
    """The complex product y = a * b (NumPy's: its loops fuse one product of each part,
    fma(a, c, -bd) + fma(a, d, bc)i) as torch's CPU mul kernel rounds it for two C-contiguous
    operands of y's shape and dtype: its vectorised loop, two AVX2 vectors a step (8 complex64
    or 4 complex128), rounds every product, (ac - bd) + (ad + bc)i; the tail left is compiled
    code that fuses as NumPy does, but for an odd complex64 tail's last element (rounded as
    the vector loop); its DEFAULT build (no FMA) rounds every product throughout. Other layouts
    (strided, broadcast) keep NumPy's rounding, which torch's strided loop shares (its loop
    with a broadcast scalar is left as NumPy's)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.shape != y.shape or \
            b.shape != y.shape or a.dtype != y.dtype or b.dtype != y.dtype or \
            not (a.flags.c_contiguous and b.flags.c_contiguous and y.flags.c_contiguous):
        return y
    n = y.size
    m = n - n % (2 * _cpu.BASE_VEC_BYTES // y.itemsize) if _cpu.CAPABILITY != "DEFAULT" else n
    a, b, out = a.reshape(-1), b.reshape(-1), y.reshape(-1)
    if m:
        _cmul_naive(a[:m], b[:m], out[:m])
    if y.itemsize == 8 and (n - m) % 2:
        _cmul_naive(a[n - 1:], b[n - 1:], out[n - 1:])
    return y


def _cmul_naive(a, b, out):
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    re, im = out.real, out.imag
    np.multiply(ar, br, out=re)
    re -= ai * bi
    np.multiply(ar, bi, out=im)
    im += ai * br


_C64, _C128 = np.dtype(np.complex64), np.dtype(np.complex128)


def _mul(xp, a, b):
    y = a * b
    d = y.dtype
    if (d is _C64 or d is _C128) and type(y) is np.ndarray:
        return _cmul(a, b, y)
    return y


def _mul_grad(xp, g, a, b):
    """torch's mul_tensor_backward: grad * other.conj() and grad * self.conj() (for complex
    grads not conj(conj(grad) * other): that flips the sign of a zero imaginary part)."""
    if g.dtype.kind != "c":
        return _times_scalar(g, b), _mul(xp, g, a) if _has_shape(b) else None
    return (_mul(xp, g, xp.conj(b) if _has_shape(b) else b.conjugate()),
            _mul(xp, g, xp.conj(a)) if _has_shape(b) else None)


mul = _binary("mul", _mul, _mul_grad, opmath=True)
multiply = mul
SCALAR_SELF.update(("add", "sub", "mul", "div", "pow", "remainder", "floor_divide",
                    "div_trunc", "div_floor"))


def _div_grad(xp, g, a, b):
    if type(b) is float and g.dtype.itemsize == 2:      # torch: in float, rounded once
        ga = (g.astype(np.float32) / b).astype(g.dtype)
    else:
        ga = g / b
    # torch's div_tensor_other_backward: -grad * ((self / other) / other)
    return ga, (-g * ((a / b) / b) if _has_shape(b) else None)


_div = _binary("div", lambda xp, a, b: a / b, _holo(_div_grad), check=_to_float_pair("div"),
               opmath=True)
def _low_pair(a, b):
    """Two float16 or two bfloat16 arrays."""
    dt = getattr(a, "dtype", None)
    return (dt is not None and dt.itemsize == 2 and dt.kind in "fV"
            and getattr(b, "dtype", None) == dt)


def _low_floor_div(xp, a, b):
    """Two float16/bfloat16 arrays floor-divided as torch's div_floor_floating_vec does: op by
    op, each rounded to the dtype (NumPy's float16 floor_divide works in float32)."""
    dt = a.dtype
    with np.errstate(all="ignore"):
        mod = xp.fmod(a, b)
        div = (a - mod) / b
        one = dt.type(1)
        div = xp.where((mod != 0) & ((b < 0) != (mod < 0)), div - one, div)
        fl = xp.floor(div)
        fl = xp.where(div - fl > dt.type(0.5), fl + one, fl)
        quot = a / b
        return xp.where(b == 0, quot, xp.where(div != 0, fl, xp.copysign(dt.type(0), quot)))


floor_divide = _binary("floor_divide", lambda xp, a, b: _low_floor_div(xp, a, b)
                       if _low_pair(a, b) else xp.floor_divide(a, b),
                       _refused("floor_divide"), saves=None,
                       node="torch::autograd::NotImplemented",
                       check=_deny("div_floor", "bc", zero_div=True))
_div_floor = _binary("div_floor", lambda xp, a, b: _low_floor_div(xp, a, b)
                     if _low_pair(a, b) else a // b,      # (sparse: its own message)
                     lambda xp, g, a, b: (xp.zeros_like(g), _scalar_g(xp.zeros_like(g), b)),
                     saves=None, node="DivBackward2", check=_deny("div_floor", "bc", zero_div=True))


def _trunc_div(xp, a, b):
    if a.dtype.kind in "iu":
        q = xp.floor_divide(a, b)
        # floor and trunc differ where the division is inexact and the signs differ
        fix = (q < 0) & (q * b != a)
        return q + fix.astype(q.dtype)
    q = a / b
    try:
        return xp.trunc(q)
    except NotImplementedError:     # a sparse quotient: its coalesced values truncated
        return _sparse_unary("trunc", lambda xp, v: xp.trunc(v), xp, q)


_div_trunc = _binary("div_trunc", _trunc_div,
                     lambda xp, g, a, b: (xp.zeros_like(g), _scalar_g(xp.zeros_like(g), b)),
                     saves=None, node="DivBackward2", check=_deny("div_trunc", "bc",
                                                                  zero_div=True))
def _remainder(xp, a, b):
    r = xp.remainder(a, b)
    if r.dtype.kind in "fV":    # float16/32/64, bfloat16
        z = r == 0
        if z.any():             # torch's zero takes the dividend's sign (fmod's), NumPy's the divisor's
            r = xp.where(z, xp.copysign(r, a), r)
    return r


def _tensor_other(fn, node_name):
    """torch's Tensor-`other` overload of fn records <Name>Backward1 (its Scalar overload,
    the registered op's node, Backward0)."""
    from ..autograd.node import node_class
    cls = node_class(node_name)

    def overloaded(input, other, *, out=None):
        r = fn(input, other, out=out)
        if r.grad_fn is not None and isinstance(other, Tensor) and isinstance(input, Tensor):
            r.grad_fn.__class__ = cls
        return r
    overloaded.__name__ = overloaded.__qualname__ = fn.__name__
    return overloaded


remainder = _tensor_other(_binary("remainder", _remainder,
                                  lambda xp, g, a, b: (g, _scalar_g(-g * xp.floor(a / b), b)),
                                  check=_deny("remainder", "bc", zero_div=True)),
                          "RemainderBackward1")
fmod = _tensor_other(_binary("fmod", lambda xp, a, b: xp.fmod(a, b),
                             lambda xp, g, a, b: (g, _scalar_g(-g * xp.trunc(a / b), b)),
                             check=_deny("fmod", "bc", zero_div=True)),
                     "FmodBackward1")


def _tensor_only(fn, name):
    """torch's tensor-only binary ops reject Python scalars for `other` (its position 2 in
    torch.<name>, 1 in the Tensor method, which _bind binds from `.method`)."""
    def checked(input, other, *, out=None):
        if not (isinstance(other, Tensor) and isinstance(input, Tensor)):
            if not isinstance(input, Tensor):
                raise _not_tensor(name, input)
            raise _not_tensor(name, other, "other", 2)
        if out is None:
            return fn(input, other)
        check_out_overlap(out, (input, other), {})
        return _finish(fn(input, other), out, name)

    def method(self, other):
        if not isinstance(other, Tensor):
            raise _not_tensor(name, other, "other", 1)
        return fn(self, other)
    checked.__name__ = checked.__qualname__ = method.__name__ = method.__qualname__ = name
    checked.method = method
    return checked


def _atan2_grad(xp, g, a, b):
    """torch's: g * b * recip, g * -a * recip with recip = 1 / (a a + b b), 0 at the
    origin."""
    r = a * a + b * b
    with np.errstate(divide="ignore"):
        recip = xp.where(r == 0, 0, 1 / r).astype(r.dtype, copy=False)
    return g * b * recip, g * -a * recip


def _hypot_grad(xp, g, a, b):
    h = xp.hypot(a, b)
    return g * a / h, g * b / h


def _arctan2(xp, a, b):
    """arctan2, float32 in float64 rounded once where NumPy's loop is SVML's (_svml_f64)."""
    if _cpu.NUMPY_SVML and xp is np and np.result_type(a, b) == _F32:
        return np.arctan2(a, b, dtype=_F64).astype(_F32)
    return xp.arctan2(a, b)


_atan2 = _binary("atan2", _arctan2, _atan2_grad,
                 check=_to_float_pair("atan2", complex_ok=False))
atan2 = _tensor_only(lambda a, b: _atan2(*_float_operands(a, b)), "atan2")
arctan2 = _tensor_only(lambda a, b: _atan2(*_float_operands(a, b)), "arctan2")
hypot = _tensor_only(_binary("hypot", lambda xp, a, b: xp.hypot(a, b), _hypot_grad,
                             check=_deny("hypot", "biuc")), "hypot")


def _copysign_grad(xp, g, a, b):
    """torch's copysign_tensor_self_backward: grad * (result / self), 0 where self is 0 (NaN
    at an infinite self), in the operands' dtype (the int -1/1 of a sign flip took float32 to
    float64: its broadcast sums rounded apart)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = xp.copysign(a, b) / a
    return g * xp.where(a == 0, r.dtype.type(0), r), _scalar_g(xp.zeros_like(g), b)


_copysign = _binary("copysign", lambda xp, a, b: xp.copysign(a, b), _copysign_grad,
                   check=_to_float_pair("copysign", complex_ok=False))
_OPS["hypot"].tracks_out = _OPS["copysign"].tracks_out = True    # torch saves the results


def _max_grads(xp, g, a, b, a_wins):
    """maximum/minimum: ties split the gradient; NaN sends it to both inputs (torch)."""
    gt = xp.where(a == b, g / 2, g)
    zero = xp.zeros_like(g)
    return xp.where(a_wins(b, a), zero, gt), xp.where(a_wins(a, b), zero, gt)


def _fmax_grads(xp, g, a, b, keep_a):
    ka = keep_a(a, b) | (b != b)
    zero = xp.zeros_like(g)
    return xp.where(ka, g, zero), xp.where(ka, zero, g)


def _real_only(name):
    def check(a, b):
        if a.dtype.kind == "c":
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return a, b
    return check


maximum = _tensor_only(_binary("maximum", lambda xp, a, b: xp.maximum(a, b),
                               lambda xp, g, a, b: _max_grads(xp, g, a, b, lambda p, q: p > q),
                               fast="biufV", check=_real_only("maximum")), "maximum")
minimum = _tensor_only(_binary("minimum", lambda xp, a, b: xp.minimum(a, b),
                               lambda xp, g, a, b: _max_grads(xp, g, a, b, lambda p, q: p < q),
                               fast="biufV", check=_real_only("minimum")), "minimum")
fmax = _tensor_only(_binary("fmax", lambda xp, a, b: xp.fmax(a, b),
                            lambda xp, g, a, b: _fmax_grads(xp, g, a, b, lambda p, q: p >= q),
                            fast="biufV", check=_real_only("fmax")), "fmax")
fmin = _tensor_only(_binary("fmin", lambda xp, a, b: xp.fmin(a, b),
                            lambda xp, g, a, b: _fmax_grads(xp, g, a, b, lambda p, q: p <= q),
                            fast="biufV", check=_real_only("fmin")), "fmin")


# pow: three torch overloads (Tensor ** Scalar, Tensor ** Tensor, Scalar ** Tensor)
def _int_pow(xp, a, b):
    """Integer powers with torch's semantics for negative exponents (1, -1 or 0)."""
    neg = b < 0
    if not (neg.any() if _has_shape(b) else neg):
        return a ** b
    if not _has_shape(b):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    pos = a ** xp.where(neg, 0, b)
    odd = (b % 2) != 0
    inv = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(pos.dtype)
    return xp.where(neg, inv, pos)


def _cmul_c99(xp, a, b, c, d):
    """(a + bi)(c + di) as C's complex product (libgcc's __muldc3, C99 Annex G): the naive one,
    except that a NaN + NaN i from infinite factors or an overflow is recomputed with the
    infinities kept. Real and imaginary parts as arrays of c's dtype."""
    x, y = a * c - b * d, a * d + b * c
    bad = xp.isnan(x) & xp.isnan(y)
    if not bad.any():
        return x, y
    x, y = xp.array(x, c.dtype), xp.array(y, c.dtype)
    a, b, c, d = (xp.broadcast_to(xp.asarray(v, x.dtype), x.shape)[bad] for v in (a, b, c, d))
    ac, bd, ad, bc = a * c, b * d, a * d, b * c
    recalc = xp.zeros(a.shape, bool)
    for (p, q), (r, s) in (((a, b), (c, d)), ((c, d), (a, b))):
        inf = xp.isinf(p) | xp.isinf(q)       # box an infinite factor, the other's NaNs to 0
        p[...] = xp.where(inf, xp.copysign(xp.isinf(p).astype(p.dtype), p), p)
        q[...] = xp.where(inf, xp.copysign(xp.isinf(q).astype(q.dtype), q), q)
        r[...] = xp.where(inf & xp.isnan(r), xp.copysign(0, r), r)
        s[...] = xp.where(inf & xp.isnan(s), xp.copysign(0, s), s)
        recalc |= inf
    over = ~recalc & (xp.isinf(ac) | xp.isinf(bd) | xp.isinf(ad) | xp.isinf(bc))
    for v in (a, b, c, d):                  # an overflow: NaNs to 0
        v[...] = xp.where(over & xp.isnan(v), xp.copysign(0, v), v)
    recalc |= over
    x[bad] = xp.where(recalc, xp.inf * (a * c - b * d), x[bad])
    y[bad] = xp.where(recalc, xp.inf * (a * d + b * c), y[bad])
    return x, y


def _cpow(xp, a, b):
    """Complex a ** b as torch's CPU kernels compute it: C's cpow, exp(b * log(a)) with C's
    complex product (NumPy's power multiplies out integer exponents, and gives 0 ** 0 = 1 where
    cpow gives NaN)."""
    log = xp.log(a)
    br, bi = (b.real, b.imag) if _has_shape(b) else (complex(b).real, complex(b).imag)
    x, y = _cmul_c99(xp, br, bi, log.real, log.imag)
    z = xp.empty(x.shape, a.dtype)
    z.real, z.imag = x, y
    return xp.exp(z)


# the scalar exponents torch's pow(Tensor, Scalar) computes without cpow: ones, a copy, the
# square, the cube, sqrt (NumPy's power does the same), and rsqrt and reciprocals as 1 / z
_POW_SHORTCUTS = {1: lambda xp, a: a.copy(), -1: lambda xp, a: 1 / a,
                  -2: lambda xp, a: 1 / (a * a), -0.5: lambda xp, a: 1 / xp.sqrt(a),
                  0: None, 2: None, 3: None, 0.5: None}


# the scalar exponents torch's real pow(Tensor, Scalar) kernel computes as products and
# quotients, op by op in the tensor's dtype (NumPy's power rounds once: x ** 3 one float32 ulp
# off in a quarter of cases): float32/float64, and bfloat16 for 3 and -2 (float16 computes in
# float32 and rounds once, as NumPy's float16 power)
_REAL_POW = {3: lambda xp, a: a * a * a, -2: lambda xp, a: 1 / (a * a),
             -0.5: lambda xp, a: 1 / xp.sqrt(a)}


_NOT_DENSE = (SparseCOO, CompressedArray, NestedArray)


def _pow(a, b):
    """a ** b; a float32 NumPy array a to a number or float32 array b in float64 rounded once
    where NumPy's float32 power is SVML's (_svml_f64: 21 % of its results an ulp off), b a
    float32 first, as in NumPy's float32 loop and torch's kernel."""
    if _cpu.NUMPY_SVML and type(a) is np.ndarray and a.dtype == _F32:
        if type(b) in (int, float):
            return np.power(a, np.float32(b), dtype=_F64).astype(_F32)
        if type(b) is np.ndarray and b.dtype == _F32:
            return np.power(a, b, dtype=_F64).astype(_F32)
    return a ** b


def _real_pow(xp, a, b):
    """a ** b for a float16/32/64 array a and pow(Tensor, Scalar)'s exponent b, as torch's
    kernel (an overflow's RuntimeWarning reruns the op quietly: _apply)."""
    shortcut = _REAL_POW.get(b)
    if shortcut is None or a.dtype.char == "e" or isinstance(a, _NOT_DENSE):
        return _pow(a, b)   # (a sparse or nested array's ** takes its own path)
    return shortcut(xp, a)


def _bf16_pow(xp, a, b):
    """a ** b for a bfloat16 array a: 3 and -2 as products op by op in bfloat16 (ml_dtypes'
    arithmetic rounds each op, as torch's Vectorized<BFloat16>), else in float32 rounded once
    (-0.5 as 1 / sqrt)."""
    if not _has_shape(b) and (b == 3 or b == -2):
        return _REAL_POW[b](xp, a)
    if not _has_shape(b) and b == -0.5:     # (rsqrt: 1 / sqrt in float32)
        return (1 / xp.sqrt(a.astype(_F32))).astype(a.dtype)
    return _pow(a.astype(_F32), b.astype(_F32) if _has_shape(b) else b).astype(a.dtype)


def _pow_fwd(xp, a, b, scalar=False):
    """a ** b; `scalar`: b is pow(Tensor, Scalar)'s exponent (its kernel's shortcuts)."""
    k = a.dtype.kind
    if k == "f":
        y = _real_pow(xp, a, b) if scalar and b in _REAL_POW else _pow(a, b)
    elif k == "c":
        shortcut = False if _has_shape(b) else _POW_SHORTCUTS.get(b, False)
        with np.errstate(all="ignore"):
            if shortcut is False:
                y = _cpow(xp, a, b)
            elif shortcut is None:
                y = a ** (b.real if type(b) is complex else b)
            else:
                y = shortcut(xp, a)
    elif k == "b":
        if type(b) is not bool:
            raise _ni("pow", a.dtype)
        y = a | (not b)
    elif k == "V":
        y = _bf16_pow(xp, a, b.item() if scalar else b)
    else:
        y = _int_pow(xp, a, b)
    return _as_array(xp, y, a), (a, b)


def _pow_base_grad(xp, g, a, b, scalar=False):
    # torch: zero where the exponent is 0 (even at a == 0, where b * a ** (b - 1) is nan)
    # (torch: grad * (b * pow(a, b - 1)), the pow by its kernel: x ** 4's gradient takes x*x*x)
    if scalar and a.dtype.kind == "V":      # (a bfloat16 scalar exponent, typed)
        b = b.item()
        if b == 0:
            return xp.zeros_like(g)
        # b * pow(a, b - 1): a bfloat16 tensor times a double, in float32 rounded once
        return g * (np.float32(b) * _bf16_pow(xp, a, b - 1).astype(_F32)).astype(a.dtype)
    if not _has_shape(b):
        if b == 0:
            return xp.zeros_like(g)
        return g * (b * (_real_pow(xp, a, b - 1) if scalar and a.dtype.kind == "f" else
                         _pow(a, b - 1)))
    return xp.where(b == 0, 0, g * (b * _pow(a, b - 1)))


def _nonneg(b):
    """torch's `exponent >= 0` in pow's gradient: a complex exponent must be real and >= 0."""
    if b.dtype.kind == "c":
        return (b.real >= 0) & (b.imag == 0)
    return b >= 0


def _pow_exp_grad(xp, g, a, b, y):
    # torch: zero where the base is 0 and the exponent >= 0, else y * log(a) (-inf, nan at 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * xp.where((a == 0) & _nonneg(b), 0, y * xp.log(a))


@_op("pow", saves="in", node="PowBackward0")
def _pow_scalar(xp, a, b):
    return _pow_fwd(xp, a, b, True)


@_pow_scalar.vjp
@_holo
def _(xp, g, a, b):
    return _pow_base_grad(xp, g, a, b, True), None


@_op("pow_tensor", saves="both", node="PowBackward1")
@_shapes_as_runtime
def _pow_tensor(xp, a, b):
    _check_broadcast(a, b)
    y, _ = _pow_fwd(xp, a, b)
    return y, (a, b, y)


@_pow_tensor.vjp
@_holo
def _(xp, g, a, b, y):
    return _pow_base_grad(xp, g, a, b), _pow_exp_grad(xp, g, a, b, y)


@_op("rpow", saves="both", node="PowBackward2")
def _rpow(xp, x, base):
    y, _ = _pow_fwd(xp, xp.asarray(base, x.dtype), x)
    return y, (x, base, y)


@_rpow.vjp
@_holo
def _(xp, g, x, base, y):
    # torch: g * (y * log(base)), zero where the base is 0 and the exponent >= 0
    if base == 0:
        return (g * xp.where(_nonneg(x), 0, y * -math.inf),)
    return (g * _times_scalar(y, cmath.log(base) if isinstance(base, complex) else
                              math.log(base)),)


_pow_s = _make_binary(_pow_scalar)
_pow_t = _make_binary(_pow_tensor)
contiguous_outputs("rpow")              # torch's pow(Scalar, Tensor) result is contiguous
_rpow_fn = _make_binary(_rpow)


def pow(input, exponent, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, exponent), {})
    if _amp.enabled and _pow_s.binary_op.amp is not None and out is None:
        from ..amp.autocast import cast_args
        input, exponent = cast_args(_pow_s.binary_op, (input, exponent))
    if not isinstance(input, Tensor):
        if not isinstance(exponent, Tensor):
            raise _not_tensor("pow", input)
        if type(input) is bool and exponent.arr.dtype.kind == "b":
            raise _ni("pow", exponent.arr.dtype)
        return _finish(_rpow_fn(exponent, input), out, "pow")
    if isinstance(exponent, Tensor):
        return _finish(_pow_t(input, exponent), out, "pow")
    if type(exponent) is int and exponent < 0 and input.arr.dtype.kind == "u":
        # (an unsigned tensor would take the exponent as a wrapped-around positive number)
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _finish(_pow_s(input, exponent), out, "pow")


def rpow(input, other):
    return pow(other, input)


def float_power(input, exponent, *, out=None):
    """pow in double precision: float64, or complex128 if any operand is complex."""
    cplx = any(isinstance(v, complex) or isinstance(v, Tensor) and v.arr.dtype.kind == "c"
               for v in (input, exponent))
    dt = _dt.complex128 if cplx else _dt.float64

    def up(v):
        if isinstance(v, Tensor):
            return v if v.dtype is dt else v.to(dt)
        return complex(v) if cplx else v
    return pow(up(input), up(exponent), out=out)


def float_power_(input, exponent):
    """In-place float_power: `input` must already be double (or complex double)."""
    cplx = isinstance(exponent, complex) or isinstance(exponent, Tensor) and \
        exponent.arr.dtype.kind == "c" or input.arr.dtype.kind == "c"
    dt = _dt.complex128 if cplx else _dt.float64
    if input.dtype is not dt:
        raise RuntimeError(f"the base given to float_power_ has dtype {_tname(input.arr.dtype)} "
                           f"but the operation's result requires dtype {_tname(dt.np)}")
    if isinstance(exponent, Tensor) and exponent.dtype is not dt:
        exponent = exponent.to(dt)
    return input.pow_(exponent)


def _xlog(log, shift):
    """(fwd, grad) of x * log(y + shift) with 0 where x == 0 (unless y is NaN): xlogy (log, 0)
    and special.xlog1py (log1p, 1). torch's gradient for x is the op of (grad, y), zeroed where
    x == 0 and y is at or past the pole; for y, g * x / (y + shift)."""
    def fwd(xp, a, b):
        if type(b) is bool:     # (NumPy's log of a bool is a float16)
            b = float(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.where(a == 0, 0, a * getattr(xp, log)(b))
        if _has_shape(b):
            y = xp.where(b != b, b, y)
        elif b != b:
            y = xp.full_like(y, b)
        return y.astype(a.dtype)

    def grad(xp, g, a, b):
        if type(b) is bool:
            b = float(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = xp.where(g == 0, 0, g * getattr(xp, log)(b))
            ga = xp.where((a == 0) & (b <= -shift), 0, ga)
            if not _has_shape(b):           # a Python scalar (CuPy's where takes no bool)
                return (xp.full_like(ga, b) if b != b else ga), None
            return xp.where(b != b, b, ga), g * a / (b + shift if shift else b)
    return fwd, grad


_xlogy = _binary("xlogy", *_xlog("log", 0), fast="",
                 check=_to_float_pair("xlogy", complex_ok=False))


def xlogy(input, other, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, other), {})
    return _finish(_xlogy(*_float_operands(input, other)), out, "xlogy")


def copysign(input, other, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, other), {})
    return _finish(_copysign(*_float_operands(input, other)), out, "copysign")
SCALAR_SELF.add("xlogy")


def _heaviside(xp, a, b):
    if a.dtype.kind == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    return xp.where(a == 0, b, a > 0).astype(a.dtype)


_heaviside_fn = _binary("heaviside", _heaviside)


def heaviside(input, values, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, values), {})
    tensor_arg("heaviside", input)
    tensor_arg("heaviside", values, "values", 2)
    if input.arr.dtype != values.arr.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return _finish(_heaviside_fn(input, values), out, "aten::heaviside")


# comparisons, logical and bitwise ops (no gradient)
def _cmp(name, compare, fast="biufc"):
    def f(xp, a, b):
        try:
            return compare(a, b)
        except NotImplementedError:     # a compressed sparse operand: torch's layout error
            c = a if isinstance(a, CompressedArray) else b
            if not isinstance(c, CompressedArray):
                raise
            raise RuntimeError(f"unsupported tensor layout: Sparse{c.kind}") from None
    return _binary(name, f, None, fast=fast, check=_deny(name, "c"))


eq = _cmp("eq", _operator.eq, fast="biufcV")
ne = _cmp("ne", _operator.ne, fast="biufcV")
lt = _cmp("lt", _operator.lt, fast="biufV")
le = _cmp("le", _operator.le, fast="biufV")
gt = _cmp("gt", _operator.gt, fast="biufV")
ge = _cmp("ge", _operator.ge, fast="biufV")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _tensor_only(_binary("logical_and", lambda xp, a, b: xp.logical_and(a, b)),
                           "logical_and")
logical_or = _tensor_only(_binary("logical_or", lambda xp, a, b: xp.logical_or(a, b)),
                          "logical_or")
logical_xor = _tensor_only(_binary("logical_xor", lambda xp, a, b: xp.logical_xor(a, b)),
                           "logical_xor")


def _shift_left(xp, a, b):
    bits = a.dtype.itemsize * 8
    if not _has_shape(b):
        return xp.zeros_like(a) if b >= bits else a << b
    return xp.where(b >= bits, 0, a << xp.where(b >= bits, 0, b)).astype(a.dtype)


def _shift_right(xp, a, b):
    bits = a.dtype.itemsize * 8
    if a.dtype.kind == "u":         # torch: an unsigned shift by the width or more (a negative
        if _has_shape(b):           # count too) gives 0, not the top bit
            out = a >> xp.clip(b, 0, bits - 1).astype(a.dtype)
            return xp.where((b < 0) | (b >= bits), xp.zeros((), a.dtype), out)
        return a >> b if 0 <= b < bits else xp.zeros_like(a)
    return a >> (xp.minimum(b, bits - 1).astype(a.dtype) if _has_shape(b)
                 else min(b, bits - 1))


bitwise_and = _binary("bitwise_and", lambda xp, a, b: a & b, fast="biu",
                      check=_deny("bitwise_and", "fcV"))
bitwise_or = _binary("bitwise_or", lambda xp, a, b: a | b, fast="biu",
                     check=_deny("bitwise_or", "fcV"))
bitwise_xor = _binary("bitwise_xor", lambda xp, a, b: a ^ b, fast="biu",
                      check=_deny("bitwise_xor", "fcV"))
bitwise_left_shift = _binary("bitwise_left_shift", _shift_left, fast="iu",
                             check=_deny("lshift", "bfcV"))
bitwise_right_shift = _binary("bitwise_right_shift", _shift_right, fast="iu",
                              check=_deny("rshift", "bfcV"))
SCALAR_SELF.update(("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                    "bitwise_right_shift"))


# ---- public signatures with torch's keywords ---------------------------------------------------
def _has_bool(v):
    a = getattr(v, "arr", None)
    return type(v) is bool if a is None else a.dtype.kind == "b"


def _alpha(input, other, alpha, sign):
    """The static arguments of add/sub/rsub with `alpha`: (sign * alpha as torch's kernel
    holds it: converted to the result dtype with its checks, then a Python number; alpha as
    given, for backward)."""
    a, b = getattr(input, "arr", None), getattr(other, "arr", None)
    if (type(alpha) is float or type(alpha) is int) and a is not None and b is not None and \
            a.dtype is b.dtype and a.dtype.kind == "f" and a.dtype.itemsize >= 4 and \
            -_F32_MAX <= alpha <= _F32_MAX:
        # the common case (two float32/float64 tensors, a number alpha): no checks can fail
        return float(a.dtype.type(-alpha if sign < 0 else alpha)), alpha
    rt = _result_type_n(input, other)
    if isinstance(alpha, bool) and rt.kind != 0:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if not (rt.is_floating_point or rt.is_complex):
        if isinstance(alpha, (float, complex)):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                               "point number.")
        if rt.kind == 0:
            return bool(alpha), alpha
    elif isinstance(alpha, complex) and not rt.is_complex:
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex "
                           "number.")
    from .creation import _fill_value
    c = rt.np.type(_fill_value(-alpha if sign < 0 else alpha, rt.np))
    # a Python number (static arguments that are arrays would count as input-dependent values)
    return (complex(c) if rt.is_complex else float(c) if rt.is_floating_point else int(c)), alpha


def add(input, other, *deprecated, alpha=1, out=None):
    if deprecated:          # torch's deprecated add(Number alpha, Tensor other)
        other, alpha = scalar_first("add", other, (input,), deprecated, ("alpha", "other"))
    if alpha != 1 or alpha is True:
        r = _add(input, other, *_alpha(input, other, alpha, 1))
    else:
        r = _add(input, other)
    if out is None:
        return r
    check_out_overlap(out, (input, other), {})
    return _finish(r, out, "add")


def sub(input, other, *deprecated, alpha=1, out=None):
    if deprecated:          # torch's deprecated sub(Number alpha, Tensor other)
        other, alpha = scalar_first("sub", other, (input,), deprecated, ("alpha", "other"))
    if _has_bool(input) or _has_bool(other):
        raise _bool_sub(input, other)
    if alpha != 1 or alpha is True:
        r = _sub(input, other, *_alpha(input, other, alpha, -1))
    else:
        r = _sub(input, other)
    if out is None:
        return r
    check_out_overlap(out, (input, other), {})
    return _finish(r, out, "sub")


subtract = sub


def rsub(input, other, *, alpha=1):
    if not isinstance(input, Tensor):
        raise TypeError(f"rsub() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected one "
                        f"of:\n * (Tensor input, Tensor other, *, Number alpha = 1)\n * (Tensor "
                        f"input, Number other, Number alpha = 1)\n")
    if _has_bool(input) or _has_bool(other):
        raise _bool_sub(input, other)
    op = _rsub_t if isinstance(other, Tensor) else _rsub
    if alpha != 1 or alpha is True:
        return op(input, other, *_alpha(input, other, alpha, -1))
    return op(input, other)


def _int_as_float(input, other):
    """Float-valued ops (true division, atan2, ...) cast integer operands straight to the default
    float dtype, as torch does: an integer scalar must not wrap to the tensor's integer dtype,
    nor a negative int32 to uint8 on the way (int32 -1 / uint8 2 is -0.5)."""
    a = getattr(input, "arr", None)
    if a is None or a.dtype.kind not in "biu":
        return other
    if isinstance(other, Tensor):
        if other.arr.dtype != a.dtype and other.arr.dtype.kind in "biu":
            return other.to(DEFAULT.float)
        return other
    if isinstance(other, (int, np.integer)) and not isinstance(other, bool):
        return float(other)
    return other


def _float_operands(input, other):
    """Both operands of a float-valued op, integer tensors of different dtypes already float."""
    a = getattr(input, "arr", None)
    if a is None or a.dtype.kind not in "biu":      # the common case: nothing to convert
        return input, other
    other = _int_as_float(input, other)
    if isinstance(other, Tensor) and other.arr.dtype.kind == "f" and isinstance(input, Tensor) \
            and input.arr.dtype.kind in "biu" and other.dtype is DEFAULT.float:
        input = input.to(DEFAULT.float)
    return input, other


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is None:
        r = _div(*_float_operands(input, other))
    elif rounding_mode == "floor":
        r = _div_floor(input, other)
    elif rounding_mode == "trunc":
        r = _div_trunc(input, other)
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    if out is None:
        return r
    check_out_overlap(out, (input, other), {})
    return _finish(r, out, "div")


divide = true_divide = div


def _mul_scalar(input, other):
    """input * other (a number) as torch's C++ composites compute it (mul.Scalar): the node is
    MulBackward1, which saves only the number, so a second backward through it runs again."""
    return _retype(mul(input, other), "MulBackward1")


def _div_scalar(input, other):
    """input / other (a number) as torch's C++ composites compute it: DivBackward1 (as above)."""
    return _retype(div(input, other), "DivBackward1")


def _add_scalar(input, other):
    """input + other (a number) as torch's C++ composites compute it: AddBackward1 (as above)."""
    return _retype(add(input, other), "AddBackward1")


def rdiv(input, other):
    # torch computes `2 / x` as reciprocal(x) * 2 (grad_fn MulBackward0)
    if isinstance(other, Tensor):
        return div(other, input)
    return mul(reciprocal(input), other)


def _scalar_like(s, like):
    """A Python scalar as a 0-d tensor of the dtype it would promote to against `like` (the
    left operand of a reflected operator: ember/_bind.py's _left)."""
    from .creation import full
    return full((), s, dtype=_result_type(s, like), device=like.device)


# ---- ternary and clamping ----------------------------------------------------------------------
@_op("where", saves="in")
@_shapes_as_runtime
def _where(xp, cond, a, b, dtype):
    if a.dtype != dtype:
        a = a.astype(dtype)
    if b.dtype != dtype:
        b = b.astype(dtype)
    y = fast_where(xp, cond, a, b)
    if y.dtype != dtype:
        y = y.astype(dtype)
    if y.ndim > 1 and type(y) is np.ndarray and not (
            cond.flags.c_contiguous and a.flags.c_contiguous and b.flags.c_contiguous):
        y = iterator_layout(y, cond, a, b)
    return y, (cond,)


@_where.vjp
def _(xp, g, cond):
    zero = xp.zeros_like(g)
    return None, fast_where(xp, cond, g, zero), fast_where(xp, cond, zero, g)


def _tensor_pair(a, b, ref, dt):
    """where's scalar operands as 0-d tensors of the promoted dtype `dt`, on the other
    operand's device (the condition's when both are scalars)."""
    from .creation import full
    a_tensor, b_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_tensor and b_tensor:
        return a, b
    device = a.device if a_tensor else b.device if b_tensor else ref.device
    return (a if a_tensor else full((), a, dtype=dt, device=device),
            b if b_tensor else full((), b, dtype=dt, device=device))


_UNSET = object()     # where's input and other when not given (None is an invalid argument)
_WHERE_OVERLOADS = (
    ("(Tensor condition)", ("T",)),
    ("(Tensor condition, Tensor input, Tensor other, *, Tensor out = None)", None),
    ("(Tensor condition, Number self, Tensor other)", ("T", "N", "T")),
    ("(Tensor condition, Tensor input, Number other)", ("T", "T", "N")),
    ("(Tensor condition, Number self, Number other)", ("T", "N", "N")))
_WHERE_METHOD_OVERLOADS = (("(Tensor condition, Tensor other)", ("T", "T")),
                           ("(Tensor condition, Number other)", ("T", "N")))


def _where_arguments_error(args, names, overloads=_WHERE_OVERLOADS):
    """torch's TypeError for where's arguments matching none of its overloads: args the given
    arguments (_UNSET: left out), names their keyword (None: positional); the overloads of
    as many parameters as were given mark the arguments of the wrong kind."""
    from .._dtype import _arg_desc
    given = [(a, n) for a, n in zip(args, names) if a is not _UNSET]
    descs = [(f"{n}=" if n else "") + _arg_desc(a) for a, n in given]
    lines = []
    for sig, kinds in overloads:
        lines.append(f" * {sig}")
        if kinds is not None and len(kinds) == len(given):
            marked = [d if (isinstance(a, Tensor) if k == "T" else isinstance(
                a, (bool, int, float, complex, np.number, np.bool_))) else f"!{d}!"
                for (a, _), d, k in zip(given, descs, kinds)]
            lines.append("      didn't match because some of the arguments have invalid "
                         f"types: ({', '.join(marked)})")
    got = ", ".join(d.partition(" of ")[0] for d in descs)
    return TypeError(f"where() received an invalid combination of arguments - got ({got}), but "
                     "expected one of:\n" + "\n".join(lines) + "\n")


def where(condition, input=_UNSET, other=_UNSET, *, out=None):
    if out is None:
        r = quick_where(condition, input, other)
        if r is not None:
            return r
    if input is _UNSET or other is _UNSET:
        if input is _UNSET and other is _UNSET and out is None:
            from .index import nonzero
            return nonzero(condition, as_tuple=True)
        raise _where_arguments_error(
            (condition, input, other) + ((out,) if out is not None else ()),
            (None, None, "other" if input is _UNSET else None, "out"))
    if out is not None:
        check_out_overlap(out, (condition, input, other), {})
    tensor_arg("where", condition, "condition")
    if condition.arr.dtype == np.uint8:     # torch still takes it, with a deprecation warning
        from .._warnings import warn_once
        warn_once("where received a uint8 condition tensor. This behavior is deprecated and will "
                  "be removed in a future version of PyTorch. Use a boolean condition instead.")
        condition = condition.bool()
    if condition.arr.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {_tname(condition.arr.dtype)}")
    input, other = (_dt.scalar_arg(v) if isinstance(v, np.generic) else v
                    for v in (input, other))
    try:
        dt = _result_type(input, other)
    except TypeError:
        raise _where_arguments_error((condition, input, other),
                                    (None, None, None)) from None
    if out is not None:         # where's out= overload takes tensors only, of the exact dtype
        tensor_args("where", ("input", 2, input), ("other", 3, other))
    if isinstance(out, Tensor) and out.dtype is not dt:
        raise RuntimeError(f"Expected out type to be {_tname(dt.np)} but got "
                           f"{_tname(out.arr.dtype)}")
    a, b = _tensor_pair(input, other, condition, dt)
    return _finish(_apply(_where, (condition, a, b), (dt.np,)), out, "where")


def _clamp_fwd(xp, x, lo, hi, dtype):
    if dtype.kind == "b":
        raise _ni("clamp_max_scalar" if lo is None else "clamp_min_scalar" if hi is None else
                  "clamp_scalar", dtype)
    if x.dtype != dtype:
        x = x.astype(dtype)
    if dtype.itemsize == 2 and dtype.kind in "fV":    # bounds become 2-byte through float
        lo, hi = (v if type(v) is not float else float(dtype.type(np.float32(v)))
                  for v in (lo, hi))
    return _clamp_arrays(xp, x, lo, hi), (x, lo, hi)


def _clip(x, lo, hi):
    """torch's clamp of a float NumPy array: np.clip with both bounds is torch's vectorised
    kernel bit for bit (x kept on ties, so -0.0 at a 0 bound; NaN input or bound gives NaN),
    and 3x faster than np.maximum/np.minimum, which it also runs with a bound left out."""
    t = x.dtype.type
    return _special.clip_ufunc(x, t(-np.inf) if lo is None else lo,
                               t(np.inf) if hi is None else hi)


def _clamp_arrays(xp, x, lo, hi):
    if x.dtype.kind == "c":
        raise NotImplementedError("\"maximum_cpu\" not implemented for 'ComplexFloat'")
    if xp is np and x.dtype.kind in "fV" and isinstance(lo, (float, int, type(None))) \
            and isinstance(hi, (float, int, type(None))):
        if x.dtype.kind == "V":     # bfloat16: exactly in float32 (its maximum gave +0.0 for
            return _as_array(xp, _clip(x.astype(np.float32), lo, hi).astype(x.dtype), x)
        return _as_array(xp, _clip(x, lo, hi), x)           # max(-0.0, 0))
    y = x
    if lo is not None:
        y = xp.maximum(y, lo)       # NaN input stays NaN: maximum propagates it
    if hi is not None:
        y = xp.minimum(y, hi)
    if y.dtype != x.dtype:
        y = y.astype(x.dtype)
    return _as_array(xp, y, x)


def _clamp_bwd(xp, g, x, lo, hi):
    # torch: the gradient passes where lo <= x <= hi (inclusive); NaN inputs get none
    if lo is None and hi is None:
        keep = x == x
    elif hi is None:
        keep = x >= lo
    else:
        keep = x <= hi
        if lo is not None:
            keep &= x >= lo
    # (torch's where(mask, grad, 0): laid out as the mask, which is laid out as the input)
    return (grad_layout(fast_where(xp, keep, g, g.dtype.type(0)), x, g),)


# clamp, clamp_min and clamp_max are one kernel under torch's three node names (Number bounds)
_clamp_fn, _clamp_min_fn, _clamp_max_fn = (
    _make_unary(_op(name, saves="in", node=node)(_clamp_fwd).vjp(_clamp_bwd))
    for name, node in (("clamp", "ClampBackward1"), ("clamp_min", "ClampMinBackward0"),
                       ("clamp_max", "ClampMaxBackward0")))


@_shapes_as_runtime
def _clamp_t_fwd(xp, x, lo, hi):
    if x.dtype.kind == "b" and lo is not None and hi is not None:   # (one bound: max/minimum)
        raise _ni("clamp", x.dtype)
    y = _clamp_arrays(xp, x, lo, hi)
    if not x.flags.c_contiguous:
        y = _self_laid(xp, y, x, lo, hi)
    return y, (x, lo, hi)


def _clamp_t_bwd(xp, g, x, lo, hi):
    # torch's clamp_backward_min_max (where lo > hi the result is hi, whose gradient it gets)
    keep = x == x
    zero = xp.zeros_like(g)
    glo = ghi = None
    if lo is not None:
        keep = keep & (x >= lo)
        glo = x < lo
    if hi is not None:
        keep = keep & (x <= hi)
        ghi = x > hi
    if lo is not None and hi is not None:
        glo = glo & (lo < hi)
        ghi = ghi | (hi < lo)
    gx = xp.where(keep, g, zero)
    return (grad_layout(gx, x, g) if x.shape == g.shape else gx,
            None if glo is None else xp.where(glo, g, zero),
            None if ghi is None else xp.where(ghi, g, zero))


# and with Tensor bounds
_clamp_t, _clamp_min_t, _clamp_max_t = (
    _op(name, saves="in", node=node)(_clamp_t_fwd).vjp(_clamp_t_bwd)
    for name, node in (("clamp_tensor", "ClampBackward0"), ("clamp_min_tensor",
                                                           "ClampMinBackward1"),
                       ("clamp_max_tensor", "ClampMaxBackward1")))


def _bound(v):
    return v.item() if isinstance(v, np.generic) else v


def _scalar_of(v):
    if isinstance(v, Tensor) and v.ndim == 0 and not v.requires_grad:
        return v.item()
    return v


_REAL = (float, int, type(None))


def clamp(input, min=None, max=None, *, out=None):
    return _clamp_impl(input, min, max, out, _clamp_fn, _clamp_t)


def clip(input, min=None, max=None, *, out=None):
    """clamp's alias (its own function in torch: its messages say clip())."""
    return _clamp_impl(input, min, max, out, _clamp_fn, _clamp_t, "clip")


def _clamp_impl(input, min, max, out, fn, op_t, name="clamp"):
    if out is not None:
        check_out_overlap(out, (input, min, max), {})
    tensor_arg("clamp", input)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input.arr.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if input.arr.dtype.kind == "f" and type(min) in _REAL and type(max) in _REAL and out is None:
        _check_fits(input.arr.dtype, min, max)
        return _finish(fn(input, min, max, input.arr.dtype), out)   # the common case
    if input.arr.dtype.kind == "Q" and fn is _clamp_fn and out is None and \
            type(min) in _REAL and type(max) in _REAL:
        from ._quantized_kernels import clamp as qclamp     # torch's quantized clamp
        return _new(qclamp(input.arr, min, max), input.be)
    min, max = _bound(min), _bound(max)
    if isinstance(min, Tensor) is not isinstance(max, Tensor) and None not in (min, max):
        # torch's (Number min, Number max) overload takes a 0-d tensor that needs no grad
        min, max = (_scalar_of(v) for v in (min, max))
    dt = _result_type_n(input, min, max)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if not all(v is None or isinstance(v, Tensor) for v in (min, max)):
            # (torch's parser, for the positional call clamp(input, min, max))
            from .._dtype import _arg_desc
            raise TypeError(
                f"{name}() received an invalid combination of arguments - got (Tensor, "
                f"{_arg_desc(min)}, {_arg_desc(max)}), but expected one of:\n * (Tensor input, "
                "Tensor min = None, Tensor max = None, *, Tensor out = None)\n * (Tensor input, "
                "Number min = None, Number max = None, *, Tensor out = None)\n")
        if input.arr.dtype.kind == "c":
            raise NotImplementedError("clamp is not supported for complex types")
        lo, hi = (None if v is None else _as_dtype(v, dt, input) for v in (min, max))
        return _finish(_apply(op_t, (_as_dtype(input, dt, input), lo, hi)), out, "clamp")
    if input.arr.dtype.kind in "fV" and (isinstance(min, complex) or isinstance(max, complex)):
        raise RuntimeError(f"value cannot be converted to type {_cname(input.arr.dtype)} without "
                           "overflow")
    if out is input and not can_cast(dt, out.dtype):
        raise RuntimeError(f"result type {_tname(dt.np)} can't be cast to the desired output type "
                           f"{_cname(out.arr.dtype)}")
    if out is not None and out is not input and out.dtype is not dt:     # torch's exact out=
        raise RuntimeError(f"Found dtype {_tname(out.arr.dtype)} but expected {_tname(dt.np)}")
    if dt.np.kind in "iu":      # integer bounds convert to the result type, checked (-x wraps)
        from .creation import _fill_value
        min, max = (None if v is None else _fill_value(v, dt.np) for v in (min, max))
    else:
        _check_fits(dt.np, min, max)
    return _finish(fn(input, min, max, dt.np), out, "clamp")


def _as_dtype(v, dt, like):
    if not isinstance(v, Tensor):
        from .creation import full
        return full((), v, dtype=dt, device=like.device)
    return v if v.dtype is dt else v.to(dt)



def clamp_min(input, min, *, out=None):
    if isinstance(min, complex):
        raise NotImplementedError("clamp is not supported for complex types")
    return _clamp_impl(input, min, None, out, _clamp_min_fn, _clamp_min_t)


def clamp_max(input, max, *, out=None):
    if isinstance(max, complex):
        raise NotImplementedError("clamp is not supported for complex types")
    return _clamp_impl(input, None, max, out, _clamp_max_fn, _clamp_max_t)


def _same_dtype(name, what, ref, other):
    if isinstance(other, Tensor) and other.arr.dtype != ref.arr.dtype:
        raise RuntimeError(f"expected dtype {_cname(ref.arr.dtype)} for `{what}` but got dtype "
                           f"{_cname(other.arr.dtype)}")


def _self_laid(xp, y, a, *others):
    """y, an op's result for self `a` and the other tensor operands, laid out as torch's
    TensorIterator when `a` is not C-contiguous (its order wins there; NumPy's 'K' let C
    order win): the caller tests a's C flag first, so the common case pays one test."""
    if type(y) is np.ndarray and y.ndim > 1:
        return iterator_layout(y, a, *[o for o in others if type(o) is np.ndarray])
    return y


@_op("lerp", saves="in", node="LerpBackward0")
@_shapes_as_runtime
def _lerp(xp, a, b, w):
    if a.dtype.kind not in "fcV":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "      # no _cpu
                                  f"'{_tname(a.dtype)}'")
    if a.dtype.kind != "c":
        y = _lerp_fused(xp, a, b, w)
    else:
        d = b - a
        # torch's two-sided formula keeps lerp exact at both ends
        y = a + w * d if builtins.abs(w) < 0.5 else b - d * (1 - w)
        y = _as_array(xp, y.astype(a.dtype, copy=False), a)
    return (y if a.flags.c_contiguous else _self_laid(xp, y, a, b)), (w,)


def _low_float(dtype):
    return dtype.itemsize == 2 and dtype.kind in "fV"


def _opmath(dtype):
    """The dtype torch's CPU kernels compute a floating dtype in: float32 for float16 and
    bfloat16, else itself."""
    return _F64 if dtype.itemsize == 8 else _F32


def _lerp_fused(xp, a, b, w, out=None):
    """Real lerp as torch's CPU kernel: the two-sided formula as one fused multiply-add,
    coeff * (b - a) + base with coeff w or w - 1 and base a or b, in the opmath dtype
    (written into `out` if given; float64 through fma64, exact but slower)."""
    dt, od = a.dtype, _opmath(a.dtype)
    a, b = a.astype(od, copy=False), b.astype(od, copy=False)
    if hasattr(w, "shape"):
        w = w.astype(od, copy=False)
        small = xp.abs(w) < 0.5
        coeff, base = xp.where(small, w, w - 1), xp.where(small, a, b)
    else:
        w = od.type(w)
        coeff, base = (w, a) if builtins.abs(w) < 0.5 else (w - 1, b)
    if dt.itemsize == 8:        # torch fuses float64 too (in the vector loop and its tail)
        r = _fma64(xp, coeff, b - a, base)
        if out is None:
            return _as_array(xp, r, a)
        xp.copyto(out, r)
        return out
    return _as_array(xp, _fma(xp, coeff, b - a, base, dt, out), a)


def _addcmul_fused(xp, x, t1, t2, value, out=None):
    """Real addcmul as torch's CPU kernel: fma(value * t1, t2, x) in the opmath dtype (written
    into `out` if given)."""
    od = _opmath(x.dtype)
    vt1 = od.type(value) * t1.astype(od, copy=False)
    return _as_array(xp, _fma(xp, vt1, t2.astype(od, copy=False), x.astype(od, copy=False),
                              x.dtype, out), x)


def _addcdiv_low(xp, x, t1, t2, value):
    """float16/bfloat16 addcdiv as torch's CPU kernel: x + value * t1 / t2 in float32, rounded
    once."""
    y = x.astype(_F32) + _F32.type(value) * t1.astype(_F32) / t2.astype(_F32)
    return _as_array(xp, y.astype(x.dtype), x)


@_lerp.vjp
@_holo
def _(xp, g, w):
    return g * (1 - w), g * w


@_op("lerp_tensor", saves="in", node="LerpBackward1")
@_shapes_as_runtime
def _lerp_t(xp, a, b, w):
    if a.dtype.kind not in "fcV":
        raise NotImplementedError(f"\"lerp_kernel_tensor\" not implemented for "      # no _cpu
                                  f"'{_tname(a.dtype)}'")
    if a.dtype.kind != "c":
        y = _lerp_fused(xp, a, b, w)
    else:
        d = b - a
        y = _as_array(xp, xp.where(xp.abs(w) < 0.5, a + w * d, b - d * (1 - w)), a)
    return (y if a.flags.c_contiguous else _self_laid(xp, y, a, b, w)), (a, b, w)


@_lerp_t.vjp
@_holo
def _(xp, g, a, b, w):
    return g * (1 - w), g * w, g * (b - a)


def lerp(input, end, weight, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, end, weight), {})
    tensor_arg("lerp", input)
    tensor_arg("lerp", end, "end", 2)
    _same_dtype("lerp", "end", input, end)
    if isinstance(weight, Tensor):
        if weight.arr.ndim == 0 and weight.dtype is not input.dtype:
            # torch's iterator promotes a 0-d weight (of the lowest tier) with the inputs
            dt = _result_type_n(input, end, weight)
            input, end, weight = (t if t.dtype is dt else t.to(dt) for t in (input, end, weight))
        else:
            _same_dtype("lerp", "weight", input, weight)
        return _finish(_apply(_lerp_t, (input, end, weight)), out, "lerp")
    weight = _bound(weight)
    if not isinstance(weight, (int, float, complex)):
        raise TypeError(f"lerp() received an invalid combination of arguments - got (Tensor, "
                        f"{type(weight).__name__}), but expected one of:\n * (Tensor end, Tensor "
                        f"weight)\n * (Tensor end, Number weight)\n")
    return _finish(_apply(_lerp, (input, end), (weight,)), out, "lerp")


@_op("addcmul", saves="in", node="AddcmulBackward0")
@_shapes_as_runtime
def _addcmul(xp, x, t1, t2, value, dtype):
    x, t1, t2 = (v.astype(dtype, copy=False) for v in (x, t1, t2))
    if dtype.kind in "fV":
        y = _addcmul_fused(xp, x, t1, t2, value)
    else:
        y = _as_array(xp, (x + value * (t1 * t2)).astype(dtype, copy=False), x)
    return (y if x.flags.c_contiguous else _self_laid(xp, y, x, t1, t2)), (t1, t2, value)


@_addcmul.vjp
@_holo
def _(xp, g, t1, t2, value):
    return g, g * value * t2, g * value * t1


@_op("addcdiv", saves="in", node="AddcdivBackward0")
@_shapes_as_runtime
def _addcdiv(xp, x, t1, t2, value, dtype):
    x, t1, t2 = (v.astype(dtype, copy=False) for v in (x, t1, t2))
    if _low_float(dtype):
        y = _addcdiv_low(xp, x, t1, t2, value)
    else:
        y = x + (t1 * value) / t2      # torch's kernel: self + value * t1 / t2, in that order
        y = _as_array(xp, y.astype(dtype, copy=False), x)
    return (y if x.flags.c_contiguous else _self_laid(xp, y, x, t1, t2)), (t1, t2, value)


@_addcdiv.vjp
@_holo
def _(xp, g, t1, t2, value):
    # torch's: grad * (value / t2), -grad * (value * t1 / (t2 * t2)): a division by the
    # number rounded to the dtype, a product with it in float32 (float16/bfloat16)
    q = (t2.dtype.type(value) if t2.dtype.kind == "V" else value) / t2   # (ml_dtypes: float32)
    return g, g * q, -g * (_times_scalar(t1, value) / (t2 * t2))


def _ternary_dtype(name, input, tensor1, tensor2, value):
    if isinstance(value, Tensor):   # torch's Number argument: a 0-d tensor that needs no grad
        if value.arr.ndim or value.requires_grad:
            raise TypeError(f"{name}(): argument 'value' must be Number, not Tensor")
        value = value.item()
    dt = _result_type_n(input, tensor1, tensor2)
    if not (dt.is_floating_point or dt.is_complex) and isinstance(value, float):
        value = int(value)       # torch casts `value` to an integral result dtype
    return dt, value


def addcmul(input, tensor1, tensor2, *deprecated, value=1, out=None):
    if out is not None:
        check_out_overlap(out, (input, tensor1, tensor2) + deprecated, {})
    if deprecated:          # torch's deprecated addcmul(Number value, Tensor tensor1, Tensor tensor2)
        tensor1, tensor2, value = scalar_first("addcmul", tensor1, (tensor1, tensor2), deprecated,
                                               ("value", "tensor1", "tensor2"))
    tensor_args("addcmul", ("input", 1, input), ("tensor1", 2, tensor1), ("tensor2", 3, tensor2))
    dt, value = _ternary_dtype("addcmul", input, tensor1, tensor2, _bound(value))
    if dt is _dt.bool_:
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    return _finish(_apply(_addcmul, (input, tensor1, tensor2), (value, dt.np)), out,
                   "addcmul")


def addcdiv(input, tensor1, tensor2, *deprecated, value=1, out=None):
    if out is not None:
        check_out_overlap(out, (input, tensor1, tensor2) + deprecated, {})
    if deprecated:          # torch's deprecated addcdiv(Number value, Tensor tensor1, Tensor tensor2)
        tensor1, tensor2, value = scalar_first("addcdiv", tensor1, (tensor1, tensor2), deprecated,
                                               ("value", "tensor1", "tensor2"))
    tensor_args("addcdiv", ("input", 1, input), ("tensor1", 2, tensor1), ("tensor2", 3, tensor2))
    if tensor1.arr.dtype.kind in "biu" and tensor2.arr.dtype.kind in "biu":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  "
                           "release addcdiv will perform a true division of tensor1 and tensor2. "
                           "The historic addcdiv behavior can be implemented as "
                           "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float "
                           "inputs. The future addcdiv behavior is just the latter implementation: "
                           "(input + value * tensor1 / tensor2), for all dtypes.")
    dt, value = _ternary_dtype("addcdiv", input, tensor1, tensor2, _bound(value))
    return _finish(_apply(_addcdiv, (input, tensor1, tensor2), (value, dt.np)), out,
                   "addcdiv")


# ---- comparisons of whole tensors --------------------------------------------------------------
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    tensor_arg("isclose", input)
    tensor_arg("isclose", other, "other", 2)
    a, b = input.arr, other.arr
    if a.dtype != b.dtype:
        raise RuntimeError(f"{_tname(a.dtype)} did not match {_tname(b.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    from .shape import broadcast_shapes
    broadcast_shapes(input.shape, other.shape)
    xp = input.be.xp
    if a.dtype.kind == "b":
        return _new(_as_array(xp, a == b, a), input.be)
    if a.dtype.kind == "V":
        a, b = a.astype(_F32), b.astype(_F32)
    if a.dtype.kind in "iu":
        a, b = a.astype(np.float64), b.astype(np.float64)
    return _new(_as_array(xp, xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), a),
                input.be)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).arr.all())


def equal(input, other):
    tensor_arg("equal", input)
    tensor_arg("equal", other, "other", 2)
    if input.shape != other.shape:
        return False
    a, b = input.arr, other.arr
    if a.dtype.kind == "Q" or b.dtype.kind == "Q":      # a quantized tensor
        from .._quantized import equal as _q_equal
        return _q_equal(a, b)
    if a.dtype != b.dtype:
        a, b = a.astype(_result_type(input, other).np), b.astype(_result_type(input, other).np)
    if a.dtype.num in _dt.FEW_KERNELS and (a is b or type(a) is np.ndarray and type(b) is
                                           np.ndarray and a.ctypes.data == b.ctypes.data and
                                           a.strides == b.strides):
        from ._few_kernels import refuse        # (a tensor equals itself unless it has a NaN)
        refuse("equal", a.dtype)
    return bool((a == b).all())


# ---- in-place variants: when the computation fails, torch has already rejected the output -----
def _inplace_check(n, names=("other",), cast=True, complex_scalars=True, clamp=False,
                   to_float=False):
    """A check of `self` against the first `n` positional operands (or the keyword ones).
    `clamp`: clamp's (Number min, Number max) overload names the output type as C++ does;
    `to_float`: the op's integral result is the default float (true division, atan2...), but
    for a division with a rounding_mode."""
    def check(self, args, kwargs):
        ops = [a for a in args[:n] + tuple(kwargs.get(k) for k in names) if a is not None]
        if not complex_scalars:
            ops = [a for a in ops if not isinstance(a, complex)]
        if clamp and len(ops) == 2 and isinstance(ops[0], Tensor) != isinstance(ops[1], Tensor):
            ops = [_scalar_of(a) for a in ops]
        if cast:
            rt = _result_type_n(self, *ops)
            if to_float and not (rt.is_floating_point or rt.is_complex) and \
                    kwargs.get("rounding_mode") is None:
                rt = DEFAULT.float
            if not can_cast(rt, self.dtype):
                named = _cname if clamp and not any(isinstance(a, Tensor) for a in ops) else _tname
                raise RuntimeError(f"result type {_tname(rt.np)} can't be cast to the desired "
                                   f"output type {named(self.arr.dtype)}")
        shape = tuple(self.shape)
        for t in ops:
            if isinstance(t, Tensor) and tuple(t.shape) != shape:
                try:
                    full = np.broadcast_shapes(shape, tuple(t.shape))
                except ValueError:
                    return          # the op's own shape error is the right one
                if full != shape:
                    raise RuntimeError(f"output with shape {list(shape)} doesn't match the "
                                       f"broadcast shape {list(full)}")
    return check


_BINARY_CHECK = _inplace_check(1, ("other", "exponent"))
_FLOAT_CHECK = _inplace_check(1, to_float=True)
_CMP_CHECK = _inplace_check(1, cast=False)
INPLACE_CHECKS.update((n, _FLOAT_CHECK) for n in """div true_divide divide atan2 arctan2 copysign
    xlogy""".split())
INPLACE_CHECKS.update((n, _BINARY_CHECK) for n in """add sub mul floor_divide
    remainder fmod pow float_power hypot bitwise_and bitwise_or
    bitwise_xor bitwise_left_shift bitwise_right_shift subtract multiply fmax fmin""".split())
INPLACE_CHECKS.update((n, _CMP_CHECK) for n in """eq ne lt le gt ge greater greater_equal less
    less_equal not_equal logical_and logical_or logical_xor""".split())
INPLACE_CHECKS.update(clamp=_inplace_check(2, ("min", "max"), complex_scalars=False, clamp=True),
                      clip=_inplace_check(2, ("min", "max"), complex_scalars=False, clamp=True),
                      clamp_min=_inplace_check(1, ("min",), complex_scalars=False, clamp=True),
                      clamp_max=_inplace_check(1, ("max",), complex_scalars=False, clamp=True),
                      lerp=_inplace_check(1, ("end",)),
                      addcmul=_inplace_check(2, ("tensor1", "tensor2")),
                      addcdiv=_inplace_check(2, ("tensor1", "tensor2")))
