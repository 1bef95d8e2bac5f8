"""torch.nn.functional: activations, linear, dropout, embedding, distances, attention, losses.

Convolution, pooling, normalisation, padding and resampling come from _functional_conv."""
import math
import os
import sys
import warnings

import numpy as np

from .._kernel_dtypes import cname as _cname
from .._tensor import _new
from ..ops._registry import NESTED_IDX as _NESTED_IDX
from ..amp.autocast import cast_args as _cast_args
from ..amp.state import AMP as _AMP
from .._dtype import float64 as _F64, refuse_few as _refuse_few
from ..autograd.grad_mode import no_grad as _no_grad
from ..autograd.node import node_class as _node_class
from ..ops import elementwise as _E, linalg as _L, shape as _S
from ..ops._apply import apply as _apply, inplace as _inplace, raise_not_tensor as _not_tensor, \
    tensor_args as _tensor_args
from ..ops._registry import holomorphic as _holomorphic, no_complex_grad as _no_complex_grad, \
    op as _op
from ..ops._dims import wrap_dim as _wrap_dim
from ..ops.random import rng_for as _rng_for
from .. import _kernel_dtypes as _D
from . import _act_ops as _A, _ops as _O
from ._attention import sdpa as _sdpa
from ._conv_tbc import conv_tbc  # noqa: F401
from ._functional_conv import *  # noqa: F401,F403
from ._functional_loss import *  # noqa: F401,F403
from ._linear_ce import linear_cross_entropy  # noqa: F401
from ._mha import multi_head_attention_forward  # noqa: F401

def _expand_error(shape, target):
    """torch's expand() error for a bias that cannot broadcast to the addmm output, or None."""
    shape, target = list(shape), list(target)
    if len(shape) > len(target):
        return RuntimeError(f"expand(torch.FloatTensor{{{shape}}}, size={target}): the number of "
                            f"sizes provided ({len(target)}) must be greater or equal to the "
                            f"number of dimensions in the tensor ({len(shape)})")
    lead = len(target) - len(shape)
    for i in reversed(range(len(shape))):
        if shape[i] != 1 and shape[i] != target[lead + i]:
            return RuntimeError(f"The expanded size of the tensor ({target[lead + i]}) must match "
                                f"the existing size ({shape[i]}) at non-singleton dimension "
                                f"{lead + i}.  Target sizes: {target}.  Tensor sizes: {shape}")
    return None


def _add_inplace_error(out, shape):
    """torch's error for out.add_(t) with t of `shape`, or None."""
    n = max(len(out), len(shape))
    for i in reversed(range(n)):
        off = n - 1 - i
        a = out[len(out) - 1 - off] if off < len(out) else 1
        b = shape[len(shape) - 1 - off] if off < len(shape) else 1
        if a != b and a != 1 and b != 1:
            return RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) "
                                f"at non-singleton dimension {i}")
    full = tuple(np.broadcast_shapes(tuple(out), tuple(shape)))
    if full != tuple(out):
        return RuntimeError(f"output with shape {list(out)} doesn't match the broadcast shape "
                            f"{list(full)}")
    return None


def _check_bias(input, weight, bias):
    """torch's linear with a bias: addmm(bias, input, weight.T) for 2-d input and (flattened)
    for a 1-d bias, matmul then an in-place add otherwise. Raises torch's errors; True when the
    result is the matmul plus a broadcast add (a bias of more than one dim)."""
    bd, wd = bias.arr.dtype, weight.arr.dtype
    if bd != wd:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_D.tname(bd)} and "
                           f"{_D.tname(wd)}")
    if input.arr.dtype != wd:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_D.tname(input.arr.dtype)} and {_D.tname(wd)}")
    if weight.ndim != 2 or input.ndim == 0:
        return False
    out, shape = weight.shape[0], tuple(bias.shape)
    if input.ndim == 2 or (input.ndim > 2 and bias.ndim <= 1) or (
            input.ndim == 1 and bias.ndim <= 1):
        rows = math.prod(input.shape[:-1]) if input.ndim > 1 else 1
        err = _expand_error(shape, (rows, out))
    elif input.ndim == 1 and all(s == 1 for s in shape[:-1]) and shape[-1] in (1, out):
        return True
    else:
        err = _add_inplace_error(tuple(input.shape[:-1]) + (out,), shape)
    if err is not None:
        raise err
    return bias.ndim > 1 and input.ndim != 2


def linear(input, weight, bias=None):
    try:
        if bias is not None:
            if _AMP.enabled:
                if _F64 not in (input.dtype, weight.dtype, bias.dtype):
                    return _L.linear(input, weight, bias)   # autocast casts all to one dtype
                # but a float64 one: torch's dtype errors, on the tensors as cast
                input, weight, bias = _cast_args(_L._linear, (input, weight, bias))
            ba, wa = bias.arr, weight.arr
            if (ba.dtype != wa.dtype or input.arr.dtype != wa.dtype or
                    ba.shape != wa.shape[:1] or wa.ndim != 2) and _check_bias(input, weight, bias):
                out = _L.linear(input, weight) + bias
                return out.reshape(weight.shape[0]) if input.ndim == 1 else out
        return _L.linear(input, weight, bias)
    except AttributeError:
        _not_tensor("linear", ("input", 1, input), ("weight", 2, weight),
                    *(() if bias is None else (("bias", 3, bias),)))


def sigmoid(input):
    """torch.nn.functional.sigmoid: the Tensor method (which __torch_function__ sees)."""
    return input.sigmoid()


def tanh(input):
    """torch.nn.functional.tanh: the Tensor method (which __torch_function__ sees)."""
    return input.tanh()


def bilinear(input1, input2, weight, bias=None):
    dt = input1.arr.dtype
    if input2.arr.dtype != dt or weight.arr.dtype != dt or (bias is not None and
                                                              bias.arr.dtype != dt):
        names = [f"{what}: {_cname(t.arr.dtype)}" for what, t in
                 (("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias))
                 if t is not None]
        raise RuntimeError(f"All tensors must have the same dtype, got {', '.join(names)}")
    if input1.ndim != input2.ndim:
        raise RuntimeError("bilinear(): input dimensions do not match: got "
                           f"{input1.ndim} and {input2.ndim}")
    for i, (m, n) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if m != n:
            raise RuntimeError("bilinear(): input batch dimensions do not match at dim "
                               f"{i}: got {m} and {n}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    if bias is not None and (bias.ndim == 0 or bias.shape[0] != weight.shape[0]):
        got = bias.shape[0] if bias.ndim else 1
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {got} but "
                           f"expected {weight.shape[0]}")
    # torch's graph: inputs flattened to 2-d, _trilinear, the batch shape back, then + bias
    out = _apply(_trilinear, (input1.reshape(-1, input1.shape[-1]), weight,
                              input2.reshape(-1, input2.shape[-1])))
    _no_complex_grad(out, "_trilinear")
    out = out.reshape(*input1.shape[:-1], weight.shape[0])
    return out if bias is None else out + bias


@_op("bilinear_trilinear", node="TrilinearBackward0", needs_mask=True)
def _trilinear(xp, x1, w, x2):
    """out[n, o] = sum_ij x1[n, i] w[o, i, j] x2[n, j] (torch's _trilinear as bilinear uses
    it), through batched matmuls; float16/bfloat16 in float32, rounded once."""
    low = x1.dtype if _D.is_reduced(x1.dtype) else None
    if low is not None:
        x1, w, x2 = (a.astype(np.float32) for a in (x1, w, x2))
    y = xp.ascontiguousarray(((x1 @ w) * x2).sum(-1).T)
    return (y if low is None else y.astype(low)), (x1, w, x2, low)


@_trilinear.vjp
@_holomorphic
def _(xp, g, x1, w, x2, low, needs):
    gt = g.T if low is None else g.T.astype(np.float32)        # (out, n)
    g1 = ((w @ x2.T) * gt[:, None, :]).sum(0).T if needs[0] else None
    gw = (gt[:, :, None] * x1).swapaxes(1, 2) @ x2 if needs[1] else None
    g2 = ((x1 @ w) * gt[:, :, None]).sum(0) if needs[2] else None
    grads = (g1, gw, g2)
    return grads if low is None else tuple(None if a is None else a.astype(low) for a in grads)


# ---- activations ---------------------------------------------------------------------------
def _maybe_inplace(fn, name, input, params, inplace):
    if inplace:
        return _result_node(_inplace(lambda x, *p: fn(x, *p), name)(input, *params))
    return fn(input, *params)


# torch's in-place activations whose backward reads the result: another node class (the same
# gradient), as torch's derivatives.yaml `result:` entries
_BACKWARD1 = {n + "Backward0": _node_class(n + "Backward1")
              for n in ("LeakyRelu", "Elu", "Celu", "Threshold", "RreluWithNoise")}


_THRESHOLD1 = _BACKWARD1["ThresholdBackward0"]


def _result_node(out):
    node = out.grad_fn
    if node is not None:
        cls = _BACKWARD1.get(type(node).__name__)
        if cls is not None:
            node.__class__ = cls
            if cls is not _THRESHOLD1:      # the saved result: a later write is refused
                node.out_vc = out._vc       # (torch's threshold_ reads no result)
    return out


def relu(input, inplace=False):
    return _maybe_inplace(_E._relu_op, "relu", input, (), inplace)


def relu_(input):
    return relu(input, inplace=True)


def _threshold_args(input, threshold, value):
    """Integer input: torch converts threshold and value to its dtype (truncating, checked)."""
    try:
        dt = input.arr.dtype
    except AttributeError:
        _not_tensor("threshold", ("input", 1, input))
    if dt.kind in "iu":
        return _D.int_scalar(threshold, dt), _D.int_scalar(value, dt)
    return threshold, value


def _threshold(input, threshold, value, inplace=False):
    return _maybe_inplace(_A.threshold, "threshold", input,
                          _threshold_args(input, threshold, value), inplace)


threshold = _threshold      # torch's name for it (its TypeErrors say _threshold())


def threshold_(input, threshold, value):
    return _maybe_inplace(_A.threshold, "threshold", input,
                          _threshold_args(input, threshold, value), True)


def _hardtanh_limits(input, min_val, max_val):
    """torch's hardtanh on integers: the limits become int64 (truncated), must not be negative
    for uint8 and must fit the dtype. Bool and complex input raise."""
    dt = input.arr.dtype
    if dt.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if dt.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    _refuse_few("hardtanh", dt)
    if dt.kind not in "iu":
        return min_val, max_val
    lo, hi = (_D.int_scalar(v, np.dtype(np.int64)) for v in (min_val, max_val))
    if dt == np.uint8 and (lo < 0 or hi < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    return _D.int_scalar(lo, dt), _D.int_scalar(hi, dt)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_A.hardtanh, "hardtanh", input,
                          _hardtanh_limits(input, min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(_A.elu, "elu", input, (alpha, 1.0, 1.0), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _maybe_inplace(_A.elu, "selu", input, (_SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(_A.celu, "celu", input, (alpha, 1.0, 1.0 / alpha), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(_A.leaky_relu, "leaky_relu", input, (negative_slope,), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    try:
        many, dt = weight.numel() != 1, input.arr.dtype
    except AttributeError:
        _not_tensor("prelu", ("input", 1, input), ("weight", 2, weight))
    if many:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {weight.numel()} and channel size = {channels}.")
    if dt != weight.arr.dtype:
        from ..ops._apply import _tname
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{_tname(dt)} and {_tname(weight.arr.dtype)}")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if weight.numel() == 1:         # the result has the input's shape (a 0-d one too)
        weight = _S.reshape(weight, ())
    elif input.ndim >= 2:
        weight = _S.reshape(weight, (-1,) + (1,) * (input.ndim - 2))
    return _A.prelu_raw(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *,
          _generator=None):
    """`_generator`: torch.rrelu's generator (F.rrelu draws from the default one)."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:        # torch runs leaky_relu's kernel (and its dtype error) here
        _A._check_float(input.arr, "leaky_relu_cpu", NotImplementedError)
        return _maybe_inplace(_A.rrelu, "rrelu", input, ((lower + upper) / 2, None), inplace)
    _D.single_double_only(input, "rrelu_with_noise_out_cpu", ("bfloat16",))
    if inplace:
        return _result_node(_inplace(lambda x: rrelu(x, lower, upper, True, _generator=_generator),
                                     "rrelu")(input))
    xp = input.be.xp
    draw = input.arr <= 0                   # torch draws a slope for these elements only
    noise = xp.ones(input.arr.shape, np.float64)
    # a double uniform between the bounds in the input's opmath type (float for float,
    # half and bfloat16), the slope kept in that type
    op = np.float64 if input.arr.dtype == np.float64 else np.float32
    noise[draw] = _rng_for(_generator, input.be).uniform(
        (int(draw.sum()),), np.float64, float(op(lower)), float(op(upper)))
    slopes = noise.astype(op)
    return _A.rrelu(input, None, (slopes, slopes.astype(input.arr.dtype, copy=False)))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def glu(input, dim=-1):
    _D.float_only(input, "glu_cpu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.ndim)
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    return _A.glu(input, d)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _A.gelu(input, approximate)


def logsigmoid(input):
    return _A.logsigmoid(input)


def hardshrink(input, lambd=0.5):
    return _A.hardshrink(input, lambd)


def tanhshrink(input):
    if not _D.is_float(input.arr.dtype):    # torch's composite: complex kernels and autograd,
        return input - _E.tanh(input)       # integers promoted to the default float dtype
    return _A.tanhshrink(input)


def softsign(input):
    if not _D.is_float(input.arr.dtype):
        return input / (1 + _E.abs(input))
    return _A.softsign(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _A.softplus(input, beta, threshold)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        from .. import _dtype
        dt = input.arr.dtype
        top = float(_dtype.finfo(_dtype.OF_NP[dt.num]).max) if dt.kind in "fV" else \
            float(np.finfo(np.float32).max)
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{_D.tname(dt)}, but found {lambd:g}")
    return _A.softshrink(input, lambd)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace(_A.hardsigmoid, "hardsigmoid", input, (), inplace)


def hardswish(input, inplace=False):
    return _maybe_inplace(_A.hardswish, "hardswish", input, (), inplace)


def silu(input, inplace=False):
    return _maybe_inplace(_A.silu, "silu", input, (), inplace)


def mish(input, inplace=False):
    return _maybe_inplace(_A.mish, "mish", input, (), inplace)


_WRAPPER_FRAMES = {"autocast_cast", "dispatch"}    # autocast's, __torch_function__'s
_EMBER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _softmax_dim(name, ndim, stacklevel):
    """torch's _get_softmax_dim. `stacklevel` (one more than the public function's
    _stacklevel) counts frames up from the public function as torch's does, skipping the
    wrappers ember may put around it (autocast's, __torch_function__ dispatch)."""
    if stacklevel > 3:
        steps, f, stacklevel = stacklevel - 3, sys._getframe(2), 3    # 2: the public function
        for _ in range(steps):
            f, stacklevel = f.f_back, stacklevel + 1
            while f is not None and f.f_code.co_name in _WRAPPER_FRAMES and \
                    f.f_code.co_filename.startswith(_EMBER_ROOT):
                f, stacklevel = f.f_back, stacklevel + 1
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_prep(input, dim, dtype, name, stacklevel):
    """The input (in `dtype`) and its wrapped dim; torch.softmax's TypeError for a non-Tensor
    (torch's nn.functional raises AttributeError there, ember's functions are torch's both)."""
    try:
        nd = input.ndim
    except AttributeError:
        _not_tensor(name, ("input", 1, input))
    if dim is None:
        dim = _softmax_dim(name, nd, stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    if input.ndim == 0:
        _wrap_dim(dim, 0)
        return input, 0
    return input, _wrap_dim(dim, input.ndim)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is None:
        t = _O.softmax_quick(input, dim)
        if t is not None:
            return t
    x, d = _softmax_prep(input, dim, dtype, "softmax", _stacklevel)
    return _O.softmax_raw(x, d)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    x, d = _softmax_prep(input, dim, dtype, "softmin", _stacklevel)
    return _O.softmax_raw(-x, d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is None:
        t = _O.log_softmax_quick(input, dim)
        if t is not None:
            return t
    x, d = _softmax_prep(input, dim, dtype, "log_softmax", _stacklevel)
    return _O.log_softmax_raw(x, d)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    if not _D.is_float(logits.arr.dtype) and logits.arr.dtype.kind != "c":
        raise RuntimeError("Exponential distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{_D.tname(logits.arr.dtype)}")
    xp = logits.be.xp
    e = _rng_for(None, logits.be).exponential(tuple(logits.shape), 1.0,   # torch's exponential_
                                              logits.arr.dtype == np.float64)
    gumbels = (logits - _new(xp.log(e.astype(logits.arr.dtype)), logits.be)) / tau
    y_soft = softmax(gumbels, dim)
    if not hard:
        return y_soft
    idx = xp.argmax(y_soft.arr, axis=_wrap_dim(dim, logits.ndim))
    y_hard = xp.zeros_like(y_soft.arr)
    xp.put_along_axis(y_hard, xp.expand_dims(idx, _wrap_dim(dim, logits.ndim)), 1, axis=dim)
    return _new(y_hard, logits.be) - y_soft.detach() + y_soft


# ---- dropout -------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _zeros_like_mul(input):
    """torch's p == 1 dropout: input * zeros({}, input.options()), the input's dtype kept."""
    return input * _new(input.be.xp.zeros((), input.arr.dtype), input.be)


def _check_dropout_dtype(input, bool_as=None):
    """Dropout scales by a float: torch's in-place multiply refuses an integer input, and on
    the CPU its mask (bernoulli_ in the input's dtype) a complex one."""
    dt = input.arr.dtype
    if dt.kind == "c":
        if input.be.name == "cpu":
            from ..ops._apply import _tname
            raise NotImplementedError("\"bernoulli_scalar_cpu_\" not implemented for "
                                      f"'{_tname(dt)}'")
    elif not _D.is_float(dt):
        raise _D.cast_failure(np.dtype(np.float32),
                              bool_as if bool_as is not None and dt.kind == "b" else dt)


def _dropout(input, p, training, inplace, mask_shape):
    _check_p(p)
    if not training or p == 0:
        if input.be.idx == _NESTED_IDX:     # torch's native_dropout node all the same
            from ..nested._ops import dropout_identity
            return dropout_identity(input)
        return input
    if inplace:
        return _inplace(lambda x: _dropout(x, p, True, False, mask_shape), "dropout")(input)
    if p == 1:
        return _zeros_like_mul(input)
    _check_dropout_dtype(input)
    return _O.dropout_raw(input, p, mask_shape, _rng_for(None, input.be))


def dropout(input, p=0.5, training=True, inplace=False):
    try:
        shape = input.arr.shape
    except AttributeError:
        _not_tensor("dropout", ("input", 1, input))
    return _dropout(input, p, training, inplace, shape)


def _feature_shape(input, n_feature_dims, name):
    if input.ndim not in (n_feature_dims + 1, n_feature_dims + 2):
        raise RuntimeError(f"{name}: Expected {n_feature_dims + 1}D or {n_feature_dims + 2}D "
                           f"input, but received a {input.ndim}D input. Note that dropout"
                           f"{n_feature_dims}d exists to provide channel-wise dropout on inputs "
                           f"with {n_feature_dims} spatial dimensions, a channel dimension, and "
                           "an optional batch dimension (i.e. "
                           f"{n_feature_dims + 1}D or {n_feature_dims + 2}D inputs).")
    lead = input.ndim - n_feature_dims
    return tuple(input.shape[:lead]) + (1,) * n_feature_dims


def dropout1d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, tuple(input.shape[:-1]) + (1,))


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      "that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-"
                      "wise 1D dropout behavior is desired - input is interpreted as shape (N, "
                      "C, L), where C is the channel dim. This behavior will change in a future "
                      "release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=2)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if input.ndim >= 2 else input.shape
    return _dropout(input, p, training, inplace, shape)


def dropout3d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      "that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    # torch takes any input but a 5-D one as unbatched (it unsqueezes a batch dim): one mask
    # value per index of the first dim
    lead = 2 if input.ndim == 5 else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _dropout(input, p, training, inplace, shape)


_ALPHA = 1.7580993408473766


def _alpha_dropout(input, p, training, inplace, feature):
    _check_p(p)
    if not training or p == 0:
        return input
    if inplace:
        return _inplace(lambda x: _alpha_dropout(x, p, True, False, feature), "alpha_dropout")(
            input)
    if p == 1:
        return _zeros_like_mul(input)
    if feature and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    _check_dropout_dtype(input, np.dtype(np.int64))
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else input.shape
    xp, dtype = input.be.xp, input.arr.dtype
    keep = _rng_for(None, input.be).bernoulli(shape, 1 - p).astype(dtype)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return input * _new(xp.asarray(keep * a, dtype=dtype), input.be) + \
        _new(xp.asarray(b, dtype=dtype), input.be)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, feature=True)


# ---- embedding -----------------------------------------------------------------------------
def _host(t):
    return t.be.to_host(t.arr)


def _embedding_renorm(weight, input, max_norm, norm_type):
    """In place, without grad: rows used by `input` get norm at most max_norm (torch's
    embedding_renorm_, including its 1e-7, its checks and its errors: it renormalises the rows
    in sorted order, negative ones from the end, up to the first out of range)."""
    where = " (while checking arguments for embedding_renorm_)"
    if weight.ndim != 2:
        raise RuntimeError(f"Expected 2-dimensional tensor, but got {weight.ndim}-dimensional "
                           f"tensor for argument #1 'self'{where}")
    if input.arr.dtype not in _O._INDEX_DTYPES:
        raise RuntimeError("Expected tensor for argument #2 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {_O._type_name(input.arr)} instead"
                           f"{where}")
    xp = weight.be.xp
    n = weight.shape[0]
    with _no_grad():
        rows = xp.unique(input.arr.reshape(-1))
        bad = None
        if rows.size and (int(rows[0]) < -n or int(rows[-1]) >= n):
            first = int(xp.flatnonzero((rows < -n) | (rows >= n))[0])
            rows, bad = rows[:first], int(rows[first])
        w = weight.arr[rows]
        if xp is np and w.dtype.kind in "fV":
            # torch's: each row's norm (its norm kernel, in the weight's dtype) as a double,
            # scale = max_norm / (norm + 1e-7) in double, row *= scale with the scale in the
            # weight's dtype (through float; the 2-byte floats multiplied in float)
            from ..ops._norm2 import row_norms
            norms = row_norms(w, float(norm_type)).astype(np.float64)
            over = norms > max_norm
            scale = (max_norm / (norms[over] + 1e-7))[:, None]
            w = w[over]
            if w.dtype != np.float64:
                scale = scale.astype(np.float32).astype(w.dtype).astype(np.float32)
            weight.arr[rows[over]] = w * scale if w.dtype.itemsize > 2 else \
                (w.astype(np.float32) * scale).astype(w.dtype)
        else:
            norms = (xp.abs(w) ** norm_type).sum(-1) ** (1.0 / norm_type)
            scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
            weight.arr[rows] = w * scale[:, None]
        from .._tensor import bump_version
        bump_version(weight)
    if bad is not None:
        raise IndexError(f"select(): index {bad} out of range for tensor of size "
                         f"{list(weight.shape)} at dimension 0")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.shape[0] + padding_idx
    if max_norm is not None:
        _embedding_renorm(weight, input, max_norm, norm_type)
    try:
        if weight.ndim != 2:
            raise RuntimeError("'weight' must be 2-D")
        return _O.embedding_raw(weight, input, padding_idx, scale_grad_by_freq, sparse)
    except AttributeError:
        _not_tensor("embedding", ("weight", 1, weight), ("indices", 2, input))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    from ._embedding_bag import embedding_bag as _bag
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    return _bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode,
                per_sample_weights, include_last_offset, padding_idx, sparse)


def one_hot(tensor, num_classes=-1):
    try:
        a = _host(tensor)
    except AttributeError:
        _not_tensor("one_hot", ("input", 1, tensor))
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    xp = tensor.be.xp
    out = (xp.expand_dims(tensor.arr, -1) == xp.arange(num_classes)).astype(np.int64,
                                                                           order="C")
    return _new(out, tensor.be)


# ---- distances -----------------------------------------------------------------------------
def _norm(x, p, dims, keepdim):
    return _O.vector_norm_raw(x, float(p), dims, keepdim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    out_dim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    y = _norm(diff, p, None if out_dim == 0 else (diff.ndim - 1,), keepdim)
    if y.grad_fn is not None:           # torch's at::norm: the same backward, named NormBackward1
        y.grad_fn.__class__ = _NORM1
    return y


_NORM1 = _node_class("NormBackward1")


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    if x1.arr.dtype != x2.arr.dtype or not _D.is_float(x1.arr.dtype):
        from .._dtype import result_type
        common = result_type(x1, x2)
        if not common.is_floating_point:
            raise RuntimeError("expected common dtype to be floating point, yet common dtype "
                               f"is {_D.tname(np.dtype(common.np))}")
        x1, x2 = x1.to(common), x2.to(common)
    x1, x2 = _S.broadcast_tensors(x1, x2)
    d = (_wrap_dim(dim, x1.ndim),)
    if x1.ndim == 0:                # torch reduces a 0-d tensor's dim 0 as a 1-element one
        x1, x2 = _S.reshape(x1, (1,)), _S.reshape(x2, (1,))
    # (torch's linalg_vector_norm: for 2-byte floats linalg's, whose backward rounds in their
    # dtype as torch's does; _norm's, leaner, computes in float32)
    norm = _L._linalg_vector_norm if x1.arr.dtype.itemsize == 2 else _norm
    # torch clamps copies of the norms in place without grad (CloneBackward0: a clamped norm
    # passes its gradient as if unclamped)
    n1, n2 = norm(x1, 2, d, True).clone(), norm(x2, 2, d, True).clone()
    with _no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(d[0])


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    dt = input.arr.dtype
    if not _D.is_float(dt) and dt.kind != "c":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_D.tname(dt)}")
    d = (_wrap_dim(dim, input.ndim),)
    if not input.ndim:      # (a 0-d input's dim is checked, as torch's, then unused)
        d = None
    # torch's input.norm(p, dim, keepdim=True); for 2-byte floats linalg's vector norm, whose
    # backward rounds in their dtype as torch's does (_norm's, leaner, computes in float32)
    denom = _E.clamp_min(_L._linalg_vector_norm(input, p, d, True) if dt.itemsize == 2 else
                         _norm(input, p, d, True), eps).expand_as(input)     # (torch's graph)
    return input / denom if out is None else _E.div(input, denom, out=out)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    try:
        nd1, nd2 = x1.ndim, x2.ndim
    except AttributeError:
        _not_tensor("cdist", ("x1", 1, x1), ("x2", 2, x2))
    if nd1 < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {nd1}D")
    if nd2 < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {nd2}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    for t, name in ((x1, "X1"), (x2, "X2")):
        if not _D.is_float(t.arr.dtype):
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_D.tname(t.arr.dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if _D.is_reduced(x1.arr.dtype):
        raise _D.not_implemented("cdist", x1.arr.dtype)
    _D.same_dtype(x2, x1.arr.dtype)
    batch = np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    x1 = _S.expand(x1, batch + tuple(x1.shape[-2:]))
    x2 = _S.expand(x2, batch + tuple(x2.shape[-2:]))
    return _O.cdist_raw(x1, x2, float(p), compute_mode)


def pdist(input, p=2):
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not _D.is_float(input.arr.dtype):
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if _D.is_reduced(input.arr.dtype):
        raise _D.not_implemented("pdist", input.arr.dtype)
    return _O.apply(_O._pdist, (input,), (float(p),))


# ---- attention -----------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    _check_sdpa_dtypes(query, key, value, attn_mask)
    return _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


def _check_sdpa_dtypes(query, key, value, attn_mask):
    """torch's sdpa input checks: q, k, v of one dtype; a mask bool, float32 or q's dtype."""
    q, k, v = (getattr(t, "dtype", None) for t in (query, key, value))
    if q is None or not q == k == v:    # (a non-Tensor: torch's entry point's TypeError)
        _tensor_args("scaled_dot_product_attention", ("query", 1, query), ("key", 2, key),
                     ("value", 3, value))
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_cname(q.np)} key.dtype: {_cname(k.np)} and "
                           f"value.dtype: {_cname(v.np)} instead.")
    m = getattr(attn_mask, "dtype", None)
    if m is not None and m != q and m.name not in ("bool", "float32"):
        raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, "
                           f"but got attn_mask.dtype: {_cname(m.np)} and  query.dtype: "
                           f"{_cname(q.np)} instead.")


# ---- complex input: torch's real-only kernels refuse it ----------------------------------------
def _refuse_complex(table):
    """Wrap each named function so that a complex tensor argument raises what torch raises
    (its kernels have no complex version), rather than computing a result torch would not."""
    import functools
    from .._tensor import Tensor
    g = globals()

    def wrap(fn, exc, msg):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            for a in (*args, *kwargs.values()):
                if isinstance(a, Tensor) and a.arr.dtype.kind == "c":
                    name = "ComplexDouble" if a.arr.dtype.itemsize == 16 else "ComplexFloat"
                    raise exc(msg.format(name))
            return fn(*args, **kwargs)
        return checked

    for names, exc, msg in table:
        for n in names.split():
            g[n] = wrap(g[n], exc, msg)


def _nie(kernel):
    return NotImplementedError, f'"{kernel}" not implemented for \'{{}}\''


_refuse_complex([
    ("adaptive_avg_pool1d adaptive_avg_pool2d", *_nie("adaptive_avg_pool2d")),
    ("adaptive_avg_pool3d", *_nie("adaptive_avg_pool3d_cpu")),
    ("adaptive_max_pool1d adaptive_max_pool1d_with_indices adaptive_max_pool2d "
     "adaptive_max_pool2d_with_indices", *_nie("adaptive_max_pool2d")),
    ("adaptive_max_pool3d adaptive_max_pool3d_with_indices", *_nie("adaptive_max_pool3d_cpu")),
    ("avg_pool1d avg_pool2d local_response_norm", *_nie("avg_pool2d")),
    ("avg_pool3d", *_nie("avg_pool3d_out_frame")),
    ("max_pool1d", *_nie("max_pool1d_impl")),
    ("max_pool1d_with_indices max_pool2d max_pool2d_with_indices", *_nie("max_pool2d")),
    ("max_pool3d max_pool3d_with_indices", *_nie("max_pool3d")),
    ("max_unpool1d max_unpool2d", *_nie("max_unpool2d")),
    ("max_unpool3d", *_nie("max_unpool3d")),
    ("batch_norm instance_norm", *_nie("batch_norm")),
    ("group_norm", *_nie("GroupNormKernelImpl")),
    ("layer_norm", *_nie("LayerNormKernelImpl")),
    ("upsample_bilinear", *_nie("upsample_bilinear2d_channels_last")),
    ("grid_sample", *_nie("grid_sampler_2d_cpu_kernel_impl")),
    ("glu", *_nie("glu_cpu")),
    ("binary_cross_entropy", *_nie("binary_cross_entropy")),
    ("cross_entropy", *_nie("log_softmax_lastdim_kernel_impl")),
    ("nll_loss", *_nie("nll_loss_out_frame")),
    ("ctc_loss", *_nie("ctc_loss_cpu")),
    ("mse_loss", *_nie("mse_cpu")),
    ("huber_loss", *_nie("huber_cpu")),
    ("smooth_l1_loss", *_nie("smooth_l1_cpu")),
    ("kl_div", RuntimeError, "kl_div: Complex inputs not supported."),
    ("cdist", RuntimeError, "cdist only supports floating-point dtypes, X1 got: {}"),
    ("pdist", RuntimeError, "pdist only supports floating-point dtypes"),
    ("cosine_similarity", RuntimeError,
     "expected common dtype to be floating point, yet common dtype is {}"),
    ("embedding_bag", RuntimeError, "Expected tensor for argument #1 'weight' to have one of the "
     "following scalar types: Half, BFloat16, Float, Double; but got {} instead"),
    ("gumbel_softmax", RuntimeError, "Exponential distribution is a continuous probability "
     "distribution. dtype must be a floating point but you specified {}"),
])


def _cross_entropy_target_check(fn):
    import functools

    @functools.wraps(fn)
    def cross_entropy(input, target, *args, **kwargs):
        try:
            kind = target.arr.dtype.kind
        except AttributeError:
            _not_tensor("cross_entropy_loss", ("target", 2, target))
        if kind == "c":                         # torch checks the probabilities' dtype first
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {_tname(target.arr.dtype)}")
        return fn(input, target, *args, **kwargs)
    from ..ops._apply import _tname
    return cross_entropy


cross_entropy = _cross_entropy_target_check(cross_entropy)


def _autocast_fp32():
    """Functions torch's autocast lists run in float32 (per device: amp.autocast.FUNCTIONS)."""
    from ..amp.autocast import FUNCTIONS, LOWER_FUNCTIONS, PROMOTE_FUNCTIONS, fp32_function
    g = globals()
    names = set().union(*FUNCTIONS.values(), *LOWER_FUNCTIONS.values(),
                        *PROMOTE_FUNCTIONS.values())
    for name in sorted(names - {"max_pool3d"}):     # (cast in _pool_ops: no indices only)
        if name in g and callable(g[name]):
            g[name] = fp32_function(name, g[name])


_autocast_fp32()
from . import grad  # noqa: E402,F401  (torch.nn.functional.grad is torch.nn.grad)
