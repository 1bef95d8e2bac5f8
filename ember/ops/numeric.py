"""Numerical helpers torch has beside its core pointwise and reduction ops: sinc, logaddexp,
ldexp, frexp, nextafter, gcd/lcm, polygamma, i0, diff, trapezoid, renorm, histc, bincount, cov,
corrcoef, combinations, vander.

Primitives follow the op contract (forward on raw arrays, vjp beside it, see _registry);
the rest are composites of existing ops, so autograd comes for free, as in torch's own
CompositeImplicitAutograd definitions (diff, trapezoid, cov, vander, ...)."""
import math

import numpy as np

from .._dtype import DEFAULT, FEW_KERNELS, bool_, result_type as _result_type, result_type_of, \
    through_float
from .._kernel_dtypes import int_scalar, not_implemented, tname as _tname
from .._tensor import Tensor, _new
from ..return_types import out_variant as _out_variant
from ._dims import int_arg, wrap_dim
from . import _bessel, _gamma_kernels, _special
from . import creation as _C, elementwise as _E, index as _X, linalg as _L, reduce as _R, \
    shape as _S
from ._apply import _finish, apply as _apply, traced, make_unary as _make_unary, \
    raise_not_tensor as _not_tensor, tensor_arg as _tensor_arg, warn_resized
from ._registry import contiguous_outputs, holomorphic as _holo, op as _op

_PI = math.pi
_LN2 = math.log(2.0)
_bmax, _bmin = max, min
_F32 = np.dtype(np.float32)


# ---- pointwise primitives ----------------------------------------------------------------------
def _sinc_f(xp, x):
    with np.errstate(invalid="ignore", over="ignore"):     # (np.sinc is NumPy's Python code)
        return xp.sinc(x)


def _sinc_grad(xp, g, x, y):
    """torch's sinc_backward: grad * ((px cos(px) - sin(px)) / (x x pi)), px = x pi (the
    products by pi in float32 for float16/bfloat16), +0 where x x pi is 0."""
    px = _E._times_scalar(x, _PI)
    den = _E._times_scalar(x * x, _PI)
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # (a 1 in den's zeros: under create_graph and forward AD, where's masked branch
        # still backpropagates, and 0 * nan there would be nan)
        out = g * ((px * xp.cos(px) - xp.sin(px)) / xp.where(zero, 1, den))
    return xp.where(zero, 0, out)


sinc = _E._float_unary("sinc", _sinc_f, _sinc_grad, order=None)


def _i1(xp, x):
    sp = _special._scipy_special(xp)
    if sp is not None:
        return _special._as_array(xp, sp.i1(x)).astype(x.dtype, copy=False)
    # power series sum (x/2)^(2k+1) / (k! (k+1)!), exact enough for the float range of i0
    h = x.astype(np.float64) / 2
    term, acc = h.copy(), h.copy()
    for k in range(1, 400):
        term = term * h * h / (k * (k + 1))
        acc += term
        if not np.any(np.abs(term) > 1e-17 * np.abs(acc)):
            break
    return acc.astype(x.dtype)


def _i0_f(xp, x):
    with np.errstate(all="ignore"):     # (NumPy's own module warns, past ember's filter)
        return _special._as_array(xp, xp.i0(x)).astype(x.dtype, copy=False)


i0 = _E._float_unary("i0", _i0_f, lambda xp, g, x, y: g * _i1(xp, x), complex_ok=False)


def _polygamma_f(xp, n, x):
    """torch's polygamma kernel: digamma, trigamma, else (-1)^(n+1) n! zeta(n + 1, x), with n!
    as exp(lgamma(n + 1)) in the input's precision."""
    if n == 0:
        return _special.digamma(xp, x)
    if n == 1:
        return _special.trigamma(xp, x)
    dt = x.dtype.type
    fact = _gamma_kernels.factorial(n, dt)
    z = _bessel.zeta(_bessel.Libm(xp), xp.full(x.shape, n + 1.0, x.dtype), x)
    return (dt(1 if n % 2 else -1) * fact) * z


@_op("polygamma", saves="in")
def _polygamma(xp, x, n):
    k, dt = x.dtype.kind, x.dtype
    low = k == "V" or k == "f" and dt.itemsize == 2     # 2-byte floats: in float32, rounded once
    if low:
        x = x.astype(_F32)
    elif k == "c":              # torch's kernels: digamma and trigamma, else polygamma
        raise not_implemented(("digamma", "trigamma", "polygamma")[min(n, 2)], dt)
    elif k != "f":
        x = _E._float_input(x, "polygamma", False)
    y = _polygamma_f(xp, n, x)
    if type(y) is not type(x):
        y = xp.asarray(y)
    return (y.astype(dt) if low else y), (x, n)


@_polygamma.vjp
def _(xp, g, x, n):
    return (g * _polygamma_f(xp, n + 1, x),)


_polygamma_fn = _make_unary(_polygamma)


def _int_n(name, n):
    if type(n) is bool or not isinstance(n, int):
        raise TypeError(f"{name}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")


def polygamma(n, input, *, out=None):
    """torch.polygamma(n, input) (the method: _polygamma_method)."""
    _int_n("polygamma", n)
    _tensor_arg("polygamma", input, "input", 2)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _finish(_polygamma_fn(input, int(n)), out, "polygamma")


def _polygamma_method(self, n):
    """Tensor.polygamma(n), whose n may be given by name."""
    return polygamma(n, self)


_polygamma_method.__name__ = _polygamma_method.__qualname__ = "polygamma"
polygamma.method = _polygamma_method


def _logaddexp_f(xp, a, b):
    if a.dtype.kind != "c":
        return xp.logaddexp(a, b)
    b = xp.asarray(b, a.dtype)
    big = xp.real(a) >= xp.real(b)          # complex: shift by the larger real part
    m, o = xp.where(big, a, b), xp.where(big, b, a)
    return m + xp.log1p(xp.exp(o - m))


def _logaddexp2_f(xp, a, b):
    """torch's kernel: max(a, b) + log1p(exp2(-|a - b|)) * (1 / ln 2 in a's dtype), a where a
    and b are the same infinity (float16/bfloat16: in float32, rounded once)."""
    low = a.dtype if a.dtype.itemsize == 2 and a.dtype.kind in "fV" else None
    if low is not None:
        a, b = a.astype(np.float32), xp.asarray(b).astype(np.float32)
    y = xp.abs(a - b)
    xp.negative(y, out=y)
    xp.exp2(y, out=y)
    xp.log1p(y, out=y)
    y *= a.dtype.type(1 / _LN2)
    y += xp.maximum(a, b)
    same_inf = xp.isinf(a) & (a == b)
    if same_inf.any():
        y = xp.where(same_inf, a, y)
    return y if low is None else y.astype(low)


def _logaddexp_grad(xp, g, a, b):
    """torch's: g / (1 + exp(b - a)), g / (1 + exp(a - b)) (not g * exp(a - y): an ulp or
    more apart in half the elements)."""
    return g / (1 + xp.exp(b - a)), g / (1 + xp.exp(a - b))


def _pow2(xp, d):
    """torch's pow(2, d): bfloat16 in float32, rounded once."""
    if d.dtype.kind == "V":
        return _E._pow(np.asarray(2, np.float32), d.astype(np.float32)).astype(d.dtype)
    return _E._pow(np.asarray(2, d.dtype), d) if type(d) is np.ndarray else d.dtype.type(2) ** d


def _logaddexp2_grad(xp, g, a, b):
    """torch's: g / (1 + pow(2, b - a)), g / (1 + pow(2, a - b))."""
    return g / (1 + _pow2(xp, b - a)), g / (1 + _pow2(xp, a - b))


logaddexp = _E._tensor_only(_E._binary("logaddexp", _logaddexp_f, _holo(_logaddexp_grad), fast="fc",
                                       check=_E._deny("logaddexp", "biu")), "logaddexp")
logaddexp2 = _E._tensor_only(_E._binary("logaddexp2", _logaddexp2_f,
                                        _logaddexp2_grad, fast="f",
                                        check=_E._deny("logaddexp2", "biuc")), "logaddexp2")
def _nextafter(xp, a, b):
    r = xp.nextafter(a, b)
    return xp.where(a == b, b, r).astype(r.dtype)     # C's: y where x == y (-0.0 to 0.0: 0.0)


nextafter = _E._tensor_only(_E._binary("nextafter", _nextafter,
                                       # torch's rule: the gradient passes to self where it
                                       # differs from other; none to other
                                       grad=lambda xp, g, a, b: (g * (a != b),
                                                                 xp.zeros_like(b)),
                                       fast="f", check=_E._deny("nextafter", "biuc")),
                            "nextafter")
gcd = _E._tensor_only(_E._binary("gcd", lambda xp, a, b: xp.gcd(a, b), fast="iu",
                                 check=_E._deny("gcd", "bfcV")), "gcd")
lcm = _E._tensor_only(_E._binary("lcm", lambda xp, a, b: xp.lcm(a, b), fast="iu",
                                 check=_E._deny("lcm", "bfcV")), "lcm")


@_op("ldexp", saves="both")
def _ldexp(xp, x, o, pdt, mdt, rdt):
    """input * 2 ** other as torch's kernel: the power in pdt (other's floating dtype), the
    product in mdt (its promotion with input's), the result in rdt. A 0-d other's power is
    torch's double scalar: the product in input's dtype, in float for 16-bit floats. pdt None:
    a floating input and an integer other."""
    if pdt is None and traced(xp):      # (create_graph's namespace)
        r = (x * 2.0 ** o).astype(rdt)
        return r, (o, r)
    if pdt is None:         # torch's ldexp kernel: std::ldexp of a double, a C int exponent
        e = o.astype(np.int64, copy=False).astype(np.int32)
        with np.errstate(over="ignore"):
            r = _E._as_array(xp, xp.ldexp(x.astype(np.float64), e).astype(rdt), x)
        return r, (o, r)
    if o.ndim:
        p = _E._pow_fwd(xp, xp.asarray(2.0, pdt), o.astype(pdt, copy=False))[0]
        r = x.astype(mdt, copy=False) * p.astype(mdt, copy=False)
    else:
        wide = np.complex128 if o.dtype.kind == "c" else np.float64
        p = _E._pow_fwd(xp, xp.asarray(2.0, wide), o.astype(wide))[0]
        op = np.dtype(np.float32) if mdt.itemsize == 2 else mdt
        r = (x.astype(op, copy=False) * p.astype(op)).astype(mdt, copy=False)
    r = _E._as_array(xp, r.astype(rdt, copy=False), x)
    return r, (o, r)


@_ldexp.vjp
def _(xp, g, o, r):
    """torch's LdexpBackward0: g 2^other for input (a power in other's dtype: 0 for a negative
    integer), g result ln 2 for other."""
    p = _E._pow_fwd(xp, xp.asarray(2, o.dtype), o)[0]
    return g * (p.conj() if p.dtype.kind == "c" else p), \
        g * (r.conj() if r.dtype.kind == "c" else r) * math.log(2.0)


def ldexp(input, other, *, out=None):
    _tensor_arg("ldexp", input)
    _tensor_arg("ldexp", other, "other", 2)
    if input.dtype.is_floating_point and not other.dtype.is_floating_point and \
            not other.dtype.is_complex:
        if other.dtype is bool_:
            raise not_implemented("ldexp_cpu_exp", other.arr.dtype)
        try:
            shape = np.broadcast_shapes(input.shape, other.shape)
        except ValueError:
            raise _E._shape_error(input, other) from None
        if shape != input.shape and input.numel():
            warn_resized(input.shape, shape)        # (torch's output is empty_like(input))
        return _finish(_apply(_ldexp, (input, other), (None, None, input.dtype.np)), out,
                       "ldexp")
    pdt = _result_type(2.0, other)                  # torch's pow(2.0, other), then mul
    if other.ndim:
        mdt = result_type_of(*(([input.dtype, pdt], [], ()) if input.ndim else
                               ([pdt], [input.dtype], ())))
    else:
        mdt = input.dtype if input.dtype.is_floating_point or input.dtype.is_complex else \
            DEFAULT.float
    rdt = _result_type(input, other)
    rdt = rdt if rdt.is_floating_point or rdt.is_complex else mdt
    return _finish(_apply(_ldexp, (input, other), tuple(d.np for d in (pdt, mdt, rdt))), out,
                   "ldexp")


def _frexp_arrays(xp, x):
    """Mantissa (x's dtype) and int32 exponent; bfloat16 through float32 (exact)."""
    m, e = xp.frexp(x.astype(np.float32) if x.dtype.kind == "V" else x)
    return _special._as_array(xp, m).astype(x.dtype, copy=False), xp.asarray(e, np.int32)


@_op("frexp", saves=None)
def _frexp(xp, x):
    m, e = _frexp_arrays(xp, x)
    return m, (e,)


_frexp.vjp(lambda xp, g, e: (g / xp.exp2(e.astype(g.dtype)),))
_FrexpResult = _R._return_type("frexp", ("mantissa", "exponent"))


def frexp(input, *, out=None):
    _tensor_arg("frexp", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    e = _new(_frexp_arrays(input.be.xp, input.arr)[1], input.be)
    m = _apply(_frexp, (input,))
    if out is not None:
        _finish(m, out[0], "frexp")
        _finish(e, out[1], "frexp")
        return _out_variant(_FrexpResult)(out[0], out[1])
    return _FrexpResult(m, e)


# ---- differences and integration (composites) --------------------------------------------------
def _sub_or_xor(a, b):
    return _E.logical_xor(a, b) if a.arr.dtype.kind == "b" else _E.sub(a, b)


def diff(input, n=1, dim=-1, prepend=None, append=None, *, out=None):
    if out is not None:
        return _finish(diff(input, n, dim, prepend, append), out, "diff")
    _tensor_arg("diff", input)
    if prepend is not None:
        _tensor_arg("diff", prepend, "prepend", 4)
    if append is not None:
        _tensor_arg("diff", append, "append", 5)
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    parts = [p for p in (prepend, input, append) if p is not None]
    for p in parts:
        if p.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    d = _S.wrap_dim(dim, input.ndim)
    for p in parts:
        if p.shape[:d] + p.shape[d + 1:] != input.shape[:d] + input.shape[d + 1:]:
            k = next(i for i in range(input.ndim) if i != d and p.shape[i] != input.shape[i])
            raise RuntimeError("diff expects the shape of tensor to prepend or append to match "
                               "that of input except along the differencing dimension; "
                               f"input.size({k}) = {input.shape[k]}, but got tensor.size({k}) = "
                               f"{p.shape[k]}")
    if n == 0:      # torch: a copy of input (prepend and append unused)
        from .creation import empty_like
        return _S.copy_(empty_like(input), input)
    x = _S.cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[dim]
        if size == 0:
            break
        x = _sub_or_xor(_S.narrow(x, dim, 1, size - 1), _S.narrow(x, dim, 0, size - 1))
    return x


def _dx_along(x, y, dim, name):
    """The spacings of sample points x against y along dim, as torch's: x viewed against y
    first (1-D: along dim; fewer dims: ones in front), then its neighbours subtracted."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[dim] = x.shape[0]
        x = _S.view(x, shape)
    elif x.ndim < y.ndim:
        x = _S.view(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    n = x.shape[dim]
    return _E.sub(_S.narrow(x, dim, 1, n - 1), _S.narrow(x, dim, 0, n - 1))


def _neighbours_sum(y, dim, n):
    """y's left plus right neighbours along dim (torch's order)."""
    return _E.add(_S.narrow(y, dim, 0, n - 1), _S.narrow(y, dim, 1, n - 1))


_NO_X = object()    # the trapezoid functions' x not given (torch refuses an explicit None)


def _check_xdx(name, x, dx):
    """x, where given, must be a Tensor (a number is dx, by keyword), and not with dx; dx a
    Number (a 0-d tensor passes as one)."""
    if x is _NO_X:
        if isinstance(dx, Tensor) and dx.ndim == 0:
            dx = dx.item()
        if isinstance(dx, (bool, complex, np.bool_, np.complexfloating)):
            raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
        if dx is None or isinstance(dx, (int, float, np.number)):
            return
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"dx={type(dx).__name__}), but expected one of:\n"
                        " * (Tensor y, Tensor x, *, int dim = -1)\n"
                        " * (Tensor y, *, Number dx = 1, int dim = -1)\n")
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"{type(x).__name__})")
    if dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: x and dx "
                        "cannot both be given")


def _no_bool(name, y, x):
    if isinstance(x, Tensor) and bool in (x.arr.dtype, y.arr.dtype):
        raise RuntimeError(f"{name}: received a bool input for `x` or `y`, but bool is not "
                           "supported")
    if y.arr.dtype == bool:
        raise RuntimeError(f"{name}: received a bool input for `y`, but bool is not supported")


def trapezoid(y, x=_NO_X, *, dx=None, dim=-1):
    _tensor_arg("trapezoid", y, "y")
    _check_xdx("trapezoid", x, dx)
    _no_bool("trapezoid", y, x)
    dim = dim % _bmax(y.ndim, 1)
    n = y.shape[dim] if y.ndim else 0
    if isinstance(x, Tensor):
        if n == 0:
            return _R.sum(_E.mul(y, 0.0), dim)
        mid = _neighbours_sum(y, dim, n)
        return _E._div_scalar(_R.sum(_E.mul(mid, _dx_along(x, y, dim, "trapezoid")), dim), 2.0)
    dx = 1.0 if dx is None else dx
    if n == 0:
        return _R.sum(_E.mul(y, 0.0), dim)
    ends = _E.add(_S.select(y, dim, 0), _S.select(y, dim, -1))
    return _E._mul_scalar(_E.sub(_R.sum(y, dim), _E._mul_scalar(ends, 0.5)), dx)


def trapz(y, x=_NO_X, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=_NO_X, *, dx=None, dim=-1):
    _tensor_arg("cumulative_trapezoid", y, "y")
    _check_xdx("cumulative_trapezoid", x, dx)
    _no_bool("cumulative_trapezoid", y, x)
    dim = dim % _bmax(y.ndim, 1)
    n = y.shape[dim]
    if n == 0:
        return _E.mul(y, 0.5)
    mid = _neighbours_sum(y, dim, n)
    if isinstance(x, Tensor):
        dx = _dx_along(x, y, dim, "cumulative_trapezoid")
        return _E._div_scalar(_R.cumsum(_E.mul(mid, dx), dim), 2.0)
    dx = 1.0 if dx is None else dx
    return _R.cumsum(_E._mul_scalar(mid, dx / 2.0), dim)


# ---- norms, statistics and counting ------------------------------------------------------------
def _renorm_norm(xp, x, p, dim):
    """The p-norms of x's sub-tensors along dim (kept dims), in float for 16-bit floats."""
    dims = tuple(i for i in range(x.ndim) if i != dim)
    xa = x.astype(np.float32) if x.dtype.itemsize == 2 else x
    return xa, dims, _L._vector_norm.impl[0][0](xp, xa, p, dims or None, True)[0]


@_op("renorm")
def _renorm(xp, x, p, dim, maxnorm):
    _, _, norm = _renorm_norm(xp, x, p, dim)
    big = norm > maxnorm
    factor = xp.where(big, xp.asarray(maxnorm, norm.dtype) /
                      (norm + xp.asarray(1e-7, norm.dtype)), xp.ones((), norm.dtype))
    return x * factor.astype(x.dtype), (x, p, dim, maxnorm)


@_renorm.vjp
def _(xp, g, x, p, dim, maxnorm):
    """torch's renorm_backward: g maxnorm / norm less the norm's own gradient where the norm
    exceeds maxnorm, g elsewhere."""
    xa, dims, norm = _renorm_norm(xp, x, p, dim)
    ga = g.astype(xa.dtype) if g.dtype != xa.dtype else g
    inner = xa.conj() * ga
    inner = (inner.real if inner.dtype.kind == "c" else inner).sum(axis=dims or None,
                                                                   keepdims=True)
    nb, = _L._vector_norm.impl[0][1](xp, inner, xa, norm, p, dims or None, True)
    invnorm = 1 / (norm + 1e-7)
    factor = invnorm * maxnorm
    return (xp.where(norm > maxnorm, factor * ga - factor * invnorm * nb, ga).astype(g.dtype),)


def renorm(input, p, dim, maxnorm, *, out=None):
    """Sub-tensors along `dim` whose p-norm exceeds maxnorm are scaled to norm maxnorm."""
    if out is not None:
        return _finish(renorm(input, p, dim, maxnorm), out, "renorm")
    _tensor_arg("renorm", input)
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {_C._cnum(maxnorm)}")
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           "dimensions")
    if input.arr.dtype.kind in "biu":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_tname(input.arr.dtype)}")
    return _apply(_renorm, (input,), (float(p), wrap_dim(int_arg(dim, "renorm", "dim", 2),
                                                          input.ndim), float(maxnorm)))


contiguous_outputs("renorm")       # (torch's kernel allocates its result contiguous)


def histc(input, bins=100, min=0, max=0, *, out=None):
    _tensor_arg("histc", input)
    a = input.arr
    # torch's order: the out dtype and bin count, the range (from the data where min == max),
    # then the edges made in the input's dtype (linspace), then the histogram kernel
    from .signal import _prepare_out
    _prepare_out(a.dtype, [bins], None if out is None else (out,))
    xp = input.be.xp
    lo, hi = float(min), float(max)
    if a.dtype.num in FEW_KERNELS:      # (float8, uint16/32/64: neither kernel)
        raise not_implemented("aminmax_cpu" if lo == hi and a.size else "linspace_cpu", a.dtype)
    if lo == hi and a.size:
        if a.dtype.kind == "c":
            raise not_implemented("aminmax_cpu", a.dtype)
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if a.dtype.kind == "b":
        raise not_implemented("linspace_cpu", a.dtype)
    if a.dtype.kind in "iu":
        int_scalar(lo, a.dtype), int_scalar(hi, a.dtype)
    if a.dtype.kind not in "fV":
        raise not_implemented("histogram_cpu", a.dtype)
    flat = a.reshape(-1)
    # torch's LINEAR_INTERPOLATION in the input's dtype: the edges are the range converted to it
    t = a.dtype.type
    lo, hi = t(through_float(lo, a.dtype)), t(through_float(hi, a.dtype))
    keep = flat[(flat >= lo) & (flat <= hi)]
    pos = ((keep - lo) * t(bins) / (hi - lo)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    counts = xp.bincount(pos, minlength=bins)[:bins].astype(a.dtype)
    return _finish(_new(counts, input.be), out, "histc")


def bincount(input, weights=None, minlength=0):
    _tensor_arg("bincount", input)
    a = input.arr
    if a.dtype.kind not in "iu" or a.dtype.num in FEW_KERNELS:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                  f"'{_E._tname(a.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = input.be.xp
    if a.ndim == 1 and not a.size:     # torch: long zeros, whatever the weights
        return _new(xp.zeros(minlength, np.int64), input.be)
    if a.ndim != 1 or a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _new(xp.bincount(a, minlength=minlength).astype(np.int64), input.be)
    try:
        w = weights.arr
    except AttributeError:
        _not_tensor("bincount", ("weights", 2, weights))
    if w.shape != a.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = w.dtype if w.dtype == np.float32 else np.float64
    r = xp.bincount(a, weights=w.astype(np.float64), minlength=minlength)
    from ..autograd.higher_order import refused_derivative
    return refused_derivative(_new(r.astype(dt), input.be), (weights,), "bincount")


def cov(input, *, correction=1, fweights=None, aweights=None):
    _tensor_arg("cov", input)
    if fweights is not None:
        _tensor_arg("cov", fweights, "fweights", None)
    if aweights is not None:
        _tensor_arg("cov", aweights, "aweights", None)
    if input.arr.dtype == bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input if input.ndim == 2 else _S.reshape(input, (1, -1))
    if x.arr.dtype.kind in "biu":   # torch: integers meet the float aweights first, if any
        x = x.to(aweights.dtype if aweights is not None and aweights.dtype.is_floating_point
                 else DEFAULT.float)
    n_obs = x.shape[1]
    for name, wt, kinds, kind_name in (("fweights", fweights, "iu", "integral"),
                                       ("aweights", aweights, "fV", "floating point")):
        if wt is None:
            continue
        if wt.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {wt.ndim} dimensions")
        if wt.arr.dtype.kind not in kinds:
            raise RuntimeError(f"cov(): expected {name} to have {kind_name} dtype but got "
                               f"{name} with {_tname(wt.arr.dtype)} dtype")
        if wt.numel() != n_obs:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {wt.numel()} != {n_obs}")
        if n_obs and bool((wt.arr < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
    w = fweights
    if aweights is not None:
        w = aweights if w is None else _E.mul(w, aweights)
    if w is not None:
        w_sum = _R.sum(w)
        avg = _E.div(_R.sum(_E.mul(x, w), 1), w_sum)
    else:
        w_sum = n_obs
        avg = _R.mean(x, 1)
    if w is not None and aweights is not None and correction != 0:
        norm_factor = _E.sub(w_sum, _E.div(_E.mul(_R.sum(_E.mul(w, aweights)), correction),
                                           w_sum))
    else:
        norm_factor = _E.sub(w_sum, correction) if isinstance(w_sum, Tensor) \
            else w_sum - correction
    if (norm_factor.item() if isinstance(norm_factor, Tensor) else norm_factor) <= 0:
        import warnings
        from .._warnings import outside_stacklevel
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning,
                      stacklevel=outside_stacklevel())
        norm_factor = _E.mul(norm_factor, 0) if isinstance(norm_factor, Tensor) else 0.0
    xc = _E.sub(x, _S.unsqueeze(avg, 1))
    other = xc if w is None else _E.mul(xc, w)
    c = _L.mm(xc, _E.conj(_S.t(other)))
    return _S.squeeze(_E.div(c, norm_factor))


def corrcoef(input):
    _tensor_arg("corrcoef", input)
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but "
                           f"got an input with {input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return _E.div(c, c)
    d = _S.diagonal(c)
    std = _E.sqrt(_S.real(d) if d.arr.dtype.kind == "c" else d)
    c = _E.div(c, _S.unsqueeze(std, 1))
    c = _E.div(c, _S.unsqueeze(std, 0))
    return _E.clip(c, -1, 1) if c.arr.dtype.kind != "c" else c


def combinations(input, r=2, with_replacement=False):
    _tensor_arg("combinations", input)
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _C.empty(0, dtype=input.dtype, device=input.device)
    # torch's composite: the r-fold grid of input, masked to ascending index tuples, stacked
    n = input.shape[0]
    grid = np.indices((n,) * r)
    mask = np.ones((n,) * r, bool)
    for a, b in zip(grid[:-1], grid[1:]):
        mask &= (a <= b) if with_replacement else (a < b)
    mask = _C.tensor(mask, device=input.device)
    return _S.stack([_X.masked_select(g, mask) for g in _S.meshgrid(*[input] * r,
                                                                     indexing="ij")], 1)


def vander(x, N=None, increasing=False):
    _tensor_arg("vander", x, "x")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x.arr.dtype.kind in "biu":
        x = x.to(_C.tensor(0).dtype)
    ones = _C.ones((x.shape[0], _bmax(_bmin(n, 1), 0)), dtype=x.dtype,
                   device=x.device)
    if n > 1:
        powers = _R.cumprod(_S.expand(_S.unsqueeze(x, 1), (x.shape[0], n - 1)), 1)
        out = _S.cat([ones, powers], 1)
    else:
        out = ones
    return out if increasing else _S.flip(out, (1,))

