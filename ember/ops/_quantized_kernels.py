"""The ops torch runs on quantized tensors (CPU), put on ember's ops when the first quantized
tensor is made (ember/_quantized.py): a wrapper per op kernel that takes a QArray, computes on
its integers and hands back a QArray; other arrays go to the op's own kernel. The in-place
methods torch refuses on quantized tensors (their out-of-place ops computing) are wrapped
then too."""
import numpy as np

from .._dtype import C10_NAME, qint8, qint32, quint8
from .._memory_format import _suggests_cl
from .._quantized import (QArray, QParams, _PER_TENSOR_ONLY, _STRIDES, _quantize_like,
                          dequantize_array, make_qarray, quantize_val)
from .._sparse_coo import not_implemented
from .._tensor import Tensor
from .._torch_function import wrap_attribute
from ._quantized_nn import _dequantize_lanes, _lanes, leaky_relu, requantized
from ._registry import OPS

# ops whose result is their input's integers rearranged or picked (flip, repeat, indexing,
# index_select, full max/min: the largest integer is the largest value, scales being positive),
# the first output keeping the input's parameters; and relu, max(q, zero_point). Per tensor
# only, with torch's refusals of per-channel tensors.
_EXTREME = ("{} operator for quantized tensors only works for per tensor quantized tensors. "
            "Please open an issue on https://github.com/pytorch/pytorch/issues if you need per "
            "channel quantized tensor support.")
MOVES = {"flip": _STRIDES, "repeat": _STRIDES, "sort": _PER_TENSOR_ONLY,
         "index": 'self.qscheme() == c10::kPerTensorAffine || self.qscheme() == '
                  'c10::kPerTensorSymmetric INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/aten/'
                  'src/ATen/native/TensorAdvancedIndexing.cpp":732, please report a bug to '
                  'PyTorch. Indexing is only supported for per-Tensor quantized Tensors.',
         "index_select": "Only per_tensor quantized quantized tensors are supported by "
                         "index_select.",
         "max_all": _EXTREME.format("Max"), "min_all": _EXTREME.format("Min"),
         "max_pool2d": _PER_TENSOR_ONLY, "max_pool3d": _PER_TENSOR_ONLY}


def _moved(fwd, refusal):
    def run(xp, x, *rest):
        if type(x) is not QArray:
            return fwd(xp, x, *rest)
        if x.q.axis is not None:
            raise RuntimeError(refusal)
        y, _ = fwd(xp, x.ints, *rest)
        if isinstance(y, tuple):
            return (make_qarray(y[0], x.q),) + y[1:], ()
        return make_qarray(y, x.q), ()
    return run


def _relu(fwd, refusal):
    def run(xp, x, *rest):
        if type(x) is not QArray:
            return fwd(xp, x, *rest)
        q = x.q
        if q.axis is not None:
            raise RuntimeError(refusal)
        return make_qarray(np.maximum(x.ints, np.asarray(q.zero_point, x.ints.dtype)), q), ()
    return run


def _topk(fwd, refusal):
    """topk of the integers (widened: the kernel may negate them for the smallest)."""
    def run(xp, x, *rest):
        if type(x) is not QArray:
            return fwd(xp, x, *rest)
        if x.q.axis is not None:
            raise RuntimeError(refusal)
        (values, indices), _ = fwd(xp, x.ints.astype(np.int64), *rest)
        return (make_qarray(values.astype(x.ints.dtype), x.q), indices), ()
    return run


def _refused(fwd, name):
    """An op torch has no quantized kernel for (max_pool2d's with indices, ...)."""
    def run(xp, x, *rest):
        if type(x) is not QArray:
            return fwd(xp, x, *rest)
        raise not_implemented(name, kind="Quantized")
    return run


def clamp(x, lo, hi):
    """torch's quantized clamp (and hardtanh): the integers clamped to the bounds quantized
    with x's parameters (per tensor only)."""
    q = x.q
    if q.axis is not None:
        raise RuntimeError(_PER_TENSOR_ONLY)
    lo, hi = (None if v is None else quantize_val(v, q.scale, q.zero_point, q.dtype)
              for v in (lo, hi))
    return make_qarray(np.clip(x.ints, lo, hi).astype(x.ints.dtype), q)


def _hardtanh(fwd, refusal):
    def run(xp, x, lo, hi):
        if type(x) is not QArray:
            return fwd(xp, x, lo, hi)
        return clamp(x, lo, hi), ()
    return run


# sigmoid's fixed output parameters (torch's qsigmoid: [0, 1) in steps of 1/256; qint32's in
# steps of 2**-32, from 0: values from 0.5 up saturate)
_SIGMOID = {"quint8": QParams(quint8, 1 / 256, 0), "qint8": QParams(qint8, 1 / 256, -128),
            "qint32": QParams(qint32, 2.0 ** -32, 0)}


def _sigmoid(fwd, refusal):
    """torch's qsigmoid: the dequantized values' (vectorized and scalar, as quantized add's)
    1 / (1 + exp(-x)) in float32, quantized with 1/256 steps."""
    def run(xp, x):
        if type(x) is not QArray:
            return fwd(xp, x)
        q = x.q
        if q.axis is not None:
            raise RuntimeError(refusal)
        out = _SIGMOID.get(q.dtype.name)
        if out is None:
            raise NotImplementedError(f"ember: quantized sigmoid of {q.dtype} is not supported")
        with np.errstate(over="ignore"):
            y = np.float32(1) / (np.float32(1) + np.exp(-_dequantize_lanes(
                x.ints, q, _lanes(x.ints, 64 // q.dtype.itemsize))))
        ints = np.clip(np.rint(y * np.float32(1 / out.scale)).astype(np.float64) +
                       out.zero_point, out.dtype.lo, out.dtype.hi)
        return make_qarray(ints.astype(out.dtype.storage), out), ()
    return run


# the output parameters torch's fixed-range kernels give their results
_FIXED = {"tanh": {"quint8": (1 / 128, 128), "qint8": (1 / 128, 0), "qint32": (2.0 ** -31, 0)},
          "hardsigmoid": {"quint8": (1 / 256, 0), "qint8": (1 / 256, -128),
                          "qint32": (2.0 ** -32, 0)}}
_F32 = np.float32
_FIXED_FN = {"tanh": np.tanh,
             "hardsigmoid": lambda d: np.minimum(np.maximum(d + _F32(3), _F32(0)), _F32(6)) /
             _F32(6)}


def _fixed_range(name):
    """torch's qtanh and qhardsigmoid: the function of the dequantized values in float32,
    quantized with fixed output parameters."""
    def wrap(fwd, refusal):
        def run(xp, x):
            if type(x) is not QArray:
                return fwd(xp, x)
            out = _FIXED[name].get(x.q.dtype.name)
            if out is None:
                raise NotImplementedError(f"ember: quantized {name} of {x.q.dtype} is not "
                                          "supported")
            return requantized(x, _FIXED_FN[name], *out), ()
        return run
    return wrap


def _leaky_relu(fwd, refusal):
    """torch's quantized leaky_relu: the output keeps the input's parameters."""
    def run(xp, x, slope):
        if type(x) is not QArray:
            return fwd(xp, x, slope)
        return leaky_relu(x, slope, x.q.scale, x.q.zero_point), ()
    return run


def _threshold(fwd, refusal):
    """torch's quantized threshold: x > threshold ? x : value of the dequantized values,
    quantized again with the input's parameters (through the vector and scalar lanes)."""
    def run(xp, x, th, value):
        if type(x) is not QArray:
            return fwd(xp, x, th, value)
        th, value = np.float32(th), np.float32(value)
        return requantized(x, lambda d: np.where(d > th, d, value), x.q.scale,
                           x.q.zero_point), ()
    return run


def _masked_fill(fwd, refusal):
    def run(xp, x, mask, value):
        if type(x) is not QArray:
            return fwd(xp, x, mask, value)
        if x.q.axis is not None:
            raise RuntimeError(refusal)
        v = _quantize_like(np.broadcast_to(np.asarray(value, np.float32), x.shape), x.q)
        return make_qarray(np.where(mask, v, x.ints), x.q), (mask, False)
    return run


def _mean(fwd, refusal):
    """torch's quantized mean: over the innermost dims of a contiguous tensor, the mean of the
    integers (their int sum / n in float32, rounded half to even); otherwise of the dequantized
    values, quantized again with the input's parameters."""
    def run(xp, x, dims, keepdim, dtype):
        if type(x) is not QArray:
            return fwd(xp, x, dims, keepdim, dtype)
        q = x.q
        if q.axis is not None:
            raise RuntimeError(refusal)
        nd = x.ndim
        inner = dims is None or sorted(dims) == list(range(nd - len(dims), nd))
        if inner and x.flags.c_contiguous:
            n = 1
            for d in (range(nd) if dims is None else dims):
                n *= x.shape[d]
            total = x.ints.sum(axis=dims, keepdims=keepdim, dtype=np.int64)
            ints = np.asarray(np.rint(np.asarray(total, np.float32) / np.float32(n)),
                              q.dtype.storage)
        else:
            y, _ = fwd(xp, dequantize_array(x), dims, keepdim, dtype)
            ints = _quantize_like(np.asarray(y, np.float32), q)
        return make_qarray(ints, q), ()
    return run


def _avg_pool(fwd, refusal):
    """torch's quantized avg_pool2d / 3d: acc, the window's integer sum less zero_point times
    the input elements it covers, and m = float32(1 / divisor). Contiguous 2-d inputs: rint(acc
    * m + zero_point) in float32 (the zero point's parity picks a tie's side). Channels-last
    ones and all 3-d ones (their output channels last): per position, 8-bit channels in whole
    vectors of 16 as rint(acc * m) + zero_point, the others (all of qint32's) as rint(acc *
    float32(1 / float32(1 / m)) + zero_point) in float32 steps."""
    def run(xp, x, ksize, stride, pads, out, count_include_pad, divisor_override):
        if type(x) is not QArray:
            return fwd(xp, x, ksize, stride, pads, out, count_include_pad, divisor_override)
        from ..nn._pool_ops import _divisor
        q = x.q
        if q.axis is not None:
            raise RuntimeError(refusal)
        total, saved = fwd(xp, x.ints.astype(np.int64), ksize, stride, pads, out, True, 1)
        covered = _divisor(xp, x.shape[2:], out, ksize, stride, pads, False, np.int64)
        div = divisor_override or _divisor(xp, x.shape[2:], out, ksize, stride, pads,
                                           count_include_pad, np.int64)
        m = (1.0 / np.asarray(div, np.float64)).astype(np.float32)
        acc = (total - q.zero_point * covered).astype(np.float32)
        zp = np.float32(q.zero_point)
        qd = q.dtype
        nhwc = x.ndim == 5 or _suggests_cl(x)
        y = np.rint(acc * (np.float32(1) / (np.float32(1) / m) if nhwc else m) + zp)
        if nhwc and qd.itemsize == 1:
            c = x.shape[1]
            vector = (np.arange(c) < c // 16 * 16).reshape((-1,) + (1,) * (x.ndim - 2))
            y = np.where(vector, np.rint(acc * m) + zp, y)
        ints = np.clip(y, qd.lo, qd.hi).astype(qd.storage)
        if x.ndim == 5:
            ints = np.moveaxis(np.ascontiguousarray(np.moveaxis(ints, 1, -1)), -1, 1)
        return make_qarray(ints, q), saved
    return run


def install():
    """Wrap the ops' kernels (in place: fast paths hold them) with their quantized versions."""
    from ..nn import _act_ops, _pool_ops  # noqa: F401  (registering their ops)
    for name, (wrap, refusal) in {**{n: (_moved, r) for n, r in MOVES.items()},
                                  "topk": (_topk, "Top-K is only supported on per-tensor "
                                                  "quantization"),
                                  "max_pool2d_with_indices": (
                                      _refused, "max_pool2d_with_indices.out"),
                                  "max_pool3d_with_indices": (
                                      _refused, "max_pool3d_with_indices.out"),
                                  "hardtanh": (_hardtanh, None),
                                  "sigmoid": (_sigmoid, _PER_TENSOR_ONLY),
                                  "relu": (_relu, _PER_TENSOR_ONLY),
                                  "leaky_relu": (_leaky_relu, None),
                                  "threshold": (_threshold, None),
                                  "tanh": (_fixed_range("tanh"), None),
                                  "hardsigmoid": (_fixed_range("hardsigmoid"), None),
                                  "masked_fill": (_masked_fill, "masked_fill__quantized_cpu for "
                                                  "quantized tensors is currently only "
                                                  "supported for per tensor quantized "
                                                  "tensors"),
                                  "nan_to_num": (_refused, "nan_to_num.out"),
                                  "index_fill": (_refused, "index_fill_.int_Scalar"),
                                  "mean": (_mean, _PER_TENSOR_ONLY),
                                  "avg_pool2d": (_avg_pool, _PER_TENSOR_ONLY),
                                  "avg_pool3d": (_avg_pool, _PER_TENSOR_ONLY),
                                  "mean_dim": (_mean, _PER_TENSOR_ONLY)}.items():
        o = OPS[name]
        o.impl[:] = [(wrap(f, refusal), b) for f, b in o.impl]
    for name, refusal in _INPLACE_REFUSALS.items():
        wrap_attribute(Tensor, name, lambda method, refusal=refusal: _refusing(method, refusal))


def _clamp_refusal(name):
    """torch's clamp_ & co. on a quantized tensor: a float bound fails type promotion, an
    integer one finds no quantized clamp.out (no bounds, or Tensor bounds: the method's own
    errors)."""
    def refusal(self, args):
        bounds = [b for b in args if b is not None]
        if not bounds or any(isinstance(b, Tensor) for b in bounds):
            return None
        if any(isinstance(b, float) for b in bounds):
            return RuntimeError(
                "promoteTypes with quantized numbers is not handled yet; figure out what the "
                f"correct rules should be, offending types: {C10_NAME[self.dtype.name]} Float")
        return not_implemented(name + ".out", kind="Quantized")
    return refusal


# in-place ops whose out-of-place kernels torch has for quantized tensors but whose .out
# variants (which its in-place ops write through) it has not: refused on a quantized self
_INPLACE_REFUSALS = {"sigmoid_": lambda self, args: not_implemented("sigmoid.out",
                                                                    kind="Quantized"),
                     "tanh_": lambda self, args: not_implemented("tanh.out", kind="Quantized"),
                     "clamp_": _clamp_refusal("clamp"), "clip_": _clamp_refusal("clamp"),
                     "clamp_min_": _clamp_refusal("clamp_min"),
                     "clamp_max_": _clamp_refusal("clamp_max")}


def _refusing(method, refusal):
    """Tensor.<method> raising refusal(self, args)'s error for a quantized self, if any."""
    def fn(self, *args, **kwargs):
        if type(self.arr) is QArray:
            error = refusal(self, args + tuple(kwargs.values()))
            if error is not None:
                raise error
        return method(self, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = method.__name__
    fn.__doc__ = method.__doc__
    return fn
