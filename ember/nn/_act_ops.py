"""Pointwise activation primitives: forward on raw arrays and the derivative beside it.

Each one is a single node (torch's `<Name>Backward0`) whose backward follows torch's kernel,
including the value chosen at kinks (relu-like ops give 0 at the threshold, elu's negative
branch includes 0, hardtanh's window is open) and the branch NaN takes. For NaN and -0.0 that is
the branch of torch's vectorised CPU kernel, which every tensor of more than a few elements runs;
torch's scalar loop, which runs tensors of under 8 or 16 elements, differs for some of them."""
import math

import numpy as np

from ..ops import _special
from ..ops._blend import fast_where
from ..ops._apply import apply, traced
from ..ops._registry import OPS, contiguous_outputs, op
from ..ops._scalar_loop import scalar_mask
from .._cpu import ONEDNN_BF16
from .._memory_format import grad_layout, relaid
from .._kernel_dtypes import float_only_arr, not_implemented

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SIXTH_F32 = float(np.float32(1 / 6))     # torch's hardsigmoid backward: 1.0f / 6.0f in every dtype


def _check_float(x, name, error=NotImplementedError, complex_ok=False, complex_name=None):
    """torch's dtype dispatch on raw array x: integers and bool raise `error` naming kernel
    `name`; complex raises NotImplementedError (naming `complex_name`) unless `complex_ok`."""
    if x.dtype.kind == "c" and not complex_ok:
        raise not_implemented(complex_name or name, x.dtype)
    float_only_arr(x, name, error, complex_ok=True)


def pointwise(name, node, f, df, saves="in", kernel=None, complex_ok=False, ints=False,
              composite=False, low_grad=None, f_half=None, scalar=None, fresh_df=False,
              input_first=False, like_grad=False):
    """Register `name`: y = f(xp, x, *params); dx = g * df(xp, x, y, *params), float16 and
    bfloat16 computed in float32 and rounded once, as torch's kernels do (not for a
    `composite` of torch's, whose every operation rounds). Non-float input
    raises torch's dispatch error naming `kernel` (its CPU kernel, `<name>_cpu` by default),
    except integers where torch's kernel takes them (`ints`: y keeps the integer dtype) and
    complex where it has a complex version (`complex_ok`: then df must be holomorphic, the vjp
    takes conj of the derivative, torch's convention). `low_grad`: (buffer, ldf) where torch's
    float16/bfloat16 backward kernel reads an array its forward saved in the input's dtype:
    dx = g * ldf(xp, x, buffer(xp, x) rounded to that dtype), in float32. `f_half`, when
    given, replaces f on 2-byte inputs (it reads their layout, computes in float32 itself).
    `scalar`, when given, is torch's scalar lambda where it differs from the vectorised one:
    scalar(x, y, *params) gives y's values for the elements torch's scalar loop computes (see
    ops/_scalar_loop.py). `fresh_df`: df returns a new array, which the product may overwrite.
    dx is laid out as torch's backward kernel lays it out (grad_layout): grad_output's order
    wins where it and x disagree, x's for an `input_first` kernel (threshold_backward's);
    `like_grad`: the kernel writes into empty_like(grad_output) (log_sigmoid_backward)."""
    kernel = kernel or f"{name}_cpu"
    times = _times_into if fresh_df else _times

    @op(name, saves=saves, node=node)
    def fwd(xp, x, *params):
        if not (ints and x.dtype.kind in "iu"):
            _check_float(x, kernel, complex_ok=complex_ok)
        if _half(x) and not composite:
            y = f(xp, x.astype(np.float32), *params) if f_half is None else f_half(xp, x, *params)
        else:
            y = f(xp, x, *params)
        if type(y) is not type(x):
            y = xp.asarray(y, dtype=x.dtype)
        elif y.dtype != x.dtype:
            y = y.astype(x.dtype)
        if scalar is not None:
            mask = scalar_mask(x)
            if mask is not None:
                y = np.where(mask, scalar(x, y, *params), y)
        return y, (x, y, params)

    @fwd.vjp
    def _(xp, g, x, y, params):
        if _half(x) and not composite:     # from the input, as torch's backward kernels
            x32 = x.astype(np.float32)
            if low_grad is None:
                y32 = f(xp, x32, *params) if f_half is None else f_half(xp, x, *params)
                d = df(xp, x32, y32, *params)
            else:
                d = low_grad[1](xp, x32, low_grad[0](xp, x32).astype(x.dtype).astype(np.float32))
            r = _times(xp, g.astype(np.float32), d).astype(x.dtype)
        else:
            r = times(xp, g, df(xp, x, y, *params))
        if like_grad:
            return (relaid(g, r) if type(r) is np.ndarray and type(g) is np.ndarray else r,)
        return (grad_layout(r, x, g) if input_first else grad_layout(r, g, x),)

    def public(input, *params):
        return apply(fwd, (input,), params)
    public.__name__ = name
    return public


def _times(xp, g, d):
    """g * d. A mask d, or a pair (mask, factor), selects as torch's kernels: g (times the
    factor) where the mask holds, else 0 (a negative g leaves +0.0, not -0.0)."""
    if type(d) is tuple:
        keep, d = d
        return fast_where(xp, keep, g * d, g.dtype.type(0))
    if d.dtype == np.bool_:
        return fast_where(xp, d, g, g.dtype.type(0))
    return g * (xp.conj(d) if d.dtype.kind == "c" else d)


def _times_into(xp, g, d):
    """_times(xp, g, d) for a derivative `d` that is a new array: a float NumPy product of
    one layout is written into d (g * d as before: the same bits and layout, one fresh
    array fewer, which the backward of a large activation otherwise writes to cold memory)."""
    if type(d) is np.ndarray and type(g) is np.ndarray and d.dtype == g.dtype and \
            d.dtype.kind == "f" and d.shape == g.shape and d.strides == g.strides:
        return np.multiply(g, d, out=d)
    return _times(xp, g, d)


def _softplus(xp, x, beta, threshold):
    z = x * beta
    soft = xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)
    return fast_where(xp, z > threshold, x, soft / beta)


def _half(x):
    """float16/bfloat16: torch's kernels compute these in float32 and round once."""
    return x.dtype.itemsize == 2 and x.dtype.kind in "fV"


def _gelu(xp, x, approximate, onednn=True):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + xp.tanh(inner))
    if xp is np and x.dtype == np.float32:
        return _special.gelu_f32(x, onednn)
    return 0.5 * x * (1 + _special.erf(xp, x / _SQRT_2))


def _gelu_half(xp, x, approximate):
    """float16/bfloat16 in float32: torch's vectorised kernel, except a C-contiguous bfloat16
    tensor's where oneDNN computes bfloat16 (ONEDNN_BF16), which goes to oneDNN as float32."""
    onednn = ONEDNN_BF16 and x.dtype != np.float16 and x.flags.c_contiguous
    return _gelu(xp, x.astype(np.float32), approximate, onednn)


def _gelu_grad(xp, x, y, approximate):
    if approximate == "tanh":
        x2 = x * x
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x2 * x)
        t = xp.tanh(inner)
        dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x2)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner
    if traced(xp):      # create_graph's differentiable namespace:
        cdf = 0.5 * (1 + _special.erf(xp, x / _SQRT_2))     # no y / x, whose 0/0 at x = 0
        return cdf + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)   # differentiates to NaN
    if x.ndim == 0:     # NumPy's operations on a 0-d array give scalars, which out= refuses
        return _gelu_grad(xp, x.reshape(1), y.reshape(1), approximate).reshape(())
    # Phi(x) = y / x recovers the forward's erf to ~1 ulp without a second (slow) erf pass
    with np.errstate(divide="ignore", invalid="ignore"):
        d = y / x
    zero = x == 0
    # (zeros are rare in activations: on the host the test costs half of the masked copy; a
    # device array's test would synchronise, and a CUDA graph's capture refuses that)
    if xp is not np or zero.any():
        xp.copyto(d, d.dtype.type(0.5), where=zero)
    pdf = x * x
    pdf *= -0.5
    pdf = xp.exp(pdf, out=pdf)
    pdf *= x
    pdf *= _INV_SQRT_2PI
    d += pdf
    return d


def _elu(xp, x, alpha, scale, input_scale):
    neg = alpha * xp.expm1(fast_where(xp, x > 0, 0, x) * input_scale)     # -0.0 stays -0.0
    return scale * fast_where(xp, x > 0, x, neg)


def _elu_grad(xp, x, y, alpha, scale, input_scale):
    # (the exponent constant from 0 on, so that the double backward is 0 at 0, as torch's
    # elu_double_backward, masked by x < 0)
    neg = input_scale * alpha * scale * xp.exp(fast_where(xp, x >= 0, 0, x) * input_scale)
    return fast_where(xp, x > 0, scale, neg)


def _mish_grad(xp, x, y):
    t = xp.tanh(_softplus(xp, x, 1.0, 20.0))
    return t + x * _special.expit(xp, x) * (1 - t * t)


def _silu(xp, x):
    """x / (1 + exp(-x)), torch's kernel."""
    with np.errstate(over="ignore", invalid="ignore"):     # silu(-inf) = -inf / inf = nan
        e = xp.exp(-x)
        e += 1
        return xp.divide(x, e, out=e) if e.ndim else x / e


def _silu_grad(xp, x, y):
    s = _special.expit(xp, x)
    return s * (1 + x * (1 - s))


def _logsigmoid(xp, x):
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


def _logsigmoid_grad(xp, x, b):
    """torch's log_sigmoid_backward from b = exp(-|x|) (its float16/bfloat16 forward's buffer):
    max_deriv - sign * b / (1 + b), i.e. 1 - b / (1 + b) for x < 0, b / (1 + b) else."""
    r = b / (1 + b)
    return fast_where(xp, x < 0, 1 - r, r)


def _logsigmoid_grad_full(xp, x, y):
    """_logsigmoid_grad for float32 and float64, b = exp(-|x|) computed here. 1 - sigmoid(x)
    stood for it but lost b past x = 17 in float32 (0 where torch's is 2.1e-9 at x = 20) and
    missed torch's bits for half the values; this misses 20% in float32 (NumPy's exp rounds
    apart from torch's; float32's exp taken in double misses 5% but costs 20-50x) and 4% in
    float64."""
    return _logsigmoid_grad(xp, x, xp.exp(-xp.abs(x)))


def _hardswish_grad(xp, x, y):
    return ~(x <= -3), fast_where(xp, x >= 3, 1.0, x / 3 + 0.5)


def _window(xp, x, lo, hi):
    return (x > lo) & (x < hi)


def _outside(xp, x, lo, hi):
    return (x < lo) | (x > hi)


gelu = pointwise("gelu", "GeluBackward0", _gelu, _gelu_grad, kernel="GeluKernelImpl",
                 f_half=_gelu_half, fresh_df=True)
OPS["gelu"].rerun_on_write()    # its backward reads y / x for Phi(x)
silu = pointwise("silu", "SiluBackward0", _silu, _silu_grad,
                 complex_ok=True)
mish = pointwise("mish", "MishBackward0",
                 lambda xp, x: x * xp.tanh(_softplus(xp, x, 1.0, 20.0)), _mish_grad)
elu = pointwise("elu", "EluBackward0", _elu, _elu_grad)
celu = pointwise("celu", "CeluBackward0", _elu, _elu_grad, kernel="elu_cpu")


def _leaky(xp, x, slope):
    return fast_where(xp, x > 0, x, x * slope)


def _leaky_grad(xp, x, y, slope):
    one = x.dtype.type(1)           # (the slope in x's dtype, as torch's negval: g * slope
    return fast_where(xp, x > 0, one, one * slope)      # rounds once)


leaky_relu = pointwise("leaky_relu", "LeakyReluBackward0", _leaky, _leaky_grad, input_first=True)
# torch's rrelu: the leaky slope (lower + upper) / 2 in eval mode, else x * noise (1 where
# x >= 0, a drawn slope elsewhere): `noise` is (the slopes the forward multiplies by, the
# noise tensor the backward multiplies by: for half and bfloat16 inputs rounded to their dtype)
rrelu = pointwise(
    "rrelu_with_noise", "RreluWithNoiseBackward0",
    lambda xp, x, slope, noise: _leaky(xp, x, slope) if noise is None else x * noise[0],
    lambda xp, x, y, slope, noise: _leaky_grad(xp, x, y, slope) if noise is None else noise[1],
    kernel="rrelu_with_noise_out_cpu")
hardtanh = pointwise(
    "hardtanh", "HardtanhBackward0", lambda xp, x, lo, hi: xp.clip(x, lo, hi),
    lambda xp, x, y, lo, hi: _window(xp, x, lo, hi), ints=True)
hardsigmoid = pointwise(
    "hardsigmoid", "HardsigmoidBackward0", lambda xp, x: xp.clip(x + 3, 0, 6) / 6,
    lambda xp, x, y: (_window(xp, x, -3.0, 3.0), _SIXTH_F32))
hardswish = pointwise(
    "hardswish", "HardswishBackward0", lambda xp, x: x * xp.clip(x + 3, 0, 6) / 6,
    _hardswish_grad)
softplus = pointwise("softplus", "SoftplusBackward0", _softplus,
                     lambda xp, x, y, beta, th: fast_where(xp, x * beta > th, 1.0,
                                                           _special.expit(xp, x * beta)))
softshrink = pointwise(
    "softshrink", "SoftshrinkBackward0",
    lambda xp, x, lambd: xp.maximum(x - lambd, 0) + xp.minimum(x + lambd, 0),
    lambda xp, x, y, lambd: _outside(xp, x, -lambd, lambd), kernel="softshrink_check",
    # the scalar lambda's window gives x * 0: -0.0 for a negative x
    scalar=lambda x, y, lambd: np.where(y == 0, np.copysign(0, x).astype(y.dtype), y))
hardshrink = pointwise(
    "hardshrink", "HardshrinkBackward0",
    lambda xp, x, lambd: fast_where(xp, (x >= -lambd) & (x <= lambd), 0, x),
    lambda xp, x, y, lambd: _outside(xp, x, -lambd, lambd))
threshold = pointwise(
    "threshold", "ThresholdBackward0", lambda xp, x, th, value: fast_where(xp, x <= th, value, x),
    lambda xp, x, y, th, value: ~(x <= th), ints=True, input_first=True)
logsigmoid = pointwise("log_sigmoid", "LogSigmoidBackward0", _logsigmoid, _logsigmoid_grad_full,
                       low_grad=(lambda xp, x: xp.exp(-xp.abs(x)), _logsigmoid_grad),
                       like_grad=True)
# (torch's log_sigmoid_forward and rrelu_with_noise allocate their outputs contiguous, not
# as a TensorIterator laying out a transposed input's result)
contiguous_outputs("log_sigmoid", "rrelu_with_noise")
# torch's composites, each step rounded and differentiated as torch's graph does (one node
# here, named as torch's last); float inputs only (nn.functional composes the others)
@op("softsign", node="DivBackward0")
def _softsign(xp, x):
    o = 1 + xp.abs(x)
    return x / o, (x, o)


@_softsign.vjp
def _(xp, g, x, o):
    """x / o with o = 1 + |x|: g / o, plus div's -g * ((x / o) / o) through |x| (NaN at
    +-inf, as torch's)."""
    return (g / o + -g * ((x / o) / o) * xp.sign(x),)


@op("tanhshrink", saves=None, node="SubBackward0")
def _tanhshrink(xp, x):
    t = xp.tanh(x)
    return x - t, (t,)          # (torch saves tanh's result, not x: x may be written after)


@_tanhshrink.vjp
def _(xp, g, t):
    """x - tanh(x): g, plus tanh_backward(-g, t) (as tanh's: float16/bfloat16 in float32)."""
    if t.dtype.itemsize == 2:
        t32 = t.astype(np.float32)
        return (g + ((-g).astype(np.float32) * (1 - t32 * t32)).astype(g.dtype),)
    return (g + -g * (1 - t * t),)


_tanhshrink.frees = True    # torch's TanhBackward0 under the sub saves its result


def softsign(input):
    return apply(_softsign, (input,))


def tanhshrink(input):
    return apply(_tanhshrink, (input,))


@op("glu", node="GluBackward0")
def _glu(xp, x, dim):
    a, s = _glu_halves(xp, x, dim)
    return (a * s).astype(x.dtype, copy=False), (x, dim)


def _glu_halves(xp, x, dim):
    """(first half, sigmoid of the second half); 2-byte floats in float32, as torch's kernel."""
    if _half(x):
        x = x.astype(np.float32)
    h = x.shape[dim] // 2
    lead = (slice(None),) * dim
    return x[lead + (slice(0, h),)], _special.expit(xp, x[lead + (slice(h, None),)])


@_glu.vjp
def _(xp, g, x, dim):
    # torch's glu_backward: s = sigmoid(b) stored in x's dtype, s * g the first half,
    # (1 - s) * s * a * g the second (2-byte floats: in float32, rounded once)
    a, s = _glu_halves(xp, x, dim)
    if _half(x):
        s = s.astype(x.dtype).astype(np.float32)
        g = g.astype(np.float32)
    gx = xp.concatenate([(s * g).astype(x.dtype, copy=False),
                         ((1 - s) * s * a * g).astype(x.dtype, copy=False)], axis=dim)
    return (gx,)


def glu(input, dim):
    return apply(_glu, (input,), (dim,))


@op("prelu", node="PreluKernelBackward0")
def _prelu(xp, x, w):
    _check_float(x, "prelu_cpu")
    return fast_where(xp, x > 0, x, w * x), (x, w)


@_prelu.vjp
def _(xp, g, x, w):
    pos = x > 0
    return fast_where(xp, pos, g, g * w), fast_where(xp, pos, 0, g * x)


def prelu_raw(input, weight):
    return apply(_prelu, (input, weight))
