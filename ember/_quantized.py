"""torch's quantized tensors (CPU): quantize_per_tensor / quantize_per_channel, dequantize,
int_repr and the quantization parameters, printed, copied, viewed and saved as torch does.

A quantized tensor is an ordinary ember Tensor whose `arr` is a QArray: an ndarray subclass
holding the integer representation (uint8, int8 or int32; quint4x2 and quint2x4 one element
per byte, packed only by int_repr) with the quantization parameters in `q`. Being an ndarray,
it goes through ember's shape ops unchanged (slicing, view, reshape, permute, clone, contiguous,
cat, detach, .to); its `dtype` is the quantized dtype's descriptor (_dtype._QDescr), which is
how Tensor.dtype finds torch.quint8 & co. Any arithmetic a dense kernel tries on it raises
torch's NotImplementedError for the QuantizedCPU backend; the dense hot path carries no check.
The ops torch does run on quantized tensors (relu, mean, flip, sort, ...) get quantized kernels
when the first one is made (ops/_quantized_kernels.py).

Rounding is torch 2.13's CPU kernels', bit for bit: per tensor, quint8 and qint8 round
x * (1 / scale) + zero_point once (fbgemm's fused multiply-add) to nearest even, NaN to the
top of the range; qint32 and per-channel quantization round x * (1 / scale) and the sum with
zero_point each in float32 (NaN: the low bits of INT_MIN); quint4x2 and quint2x4 add the zero
point after rounding (NaN: 0). Per tensor, dequantization is float32(scale) * (q - zero_point)
in float32; per channel (q - zero_point) * scale in double, rounded to float32."""
import numpy as np

from . import _dtype
from ._dtype import C10_NAME, QUANTIZED, float32
from ._sparse_coo import not_implemented
from ._warnings import warn_once

__all__ = ["qscheme", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
           "per_channel_symmetric", "per_channel_affine_float_qparams", "quantize_per_tensor",
           "quantize_per_channel", "quantize_per_tensor_dynamic", "dequantize",
           "_empty_affine_quantized",
           "_make_per_tensor_quantized_tensor", "_make_per_channel_quantized_tensor"]


class qscheme:
    """torch.qscheme: how a quantized tensor's parameters apply (`torch.per_tensor_affine`)."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):           # pickled by name, as a global of this module
        return self.name


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")

_DEPRECATED = (
    "torch.quantize_per_tensor, torch.quantize_per_channel and other quantized tensor creation "
    "functions that produce tensors with dtype torch.quint8, torch.qint8, and torch.qint32 are "
    "deprecated and will be removed in a future PyTorch release. Please see "
    "https://github.com/pytorch/pytorch/issues/184982 for more information. (Triggered "
    "internally at /__w/pytorch/pytorch/aten/src/ATen/quantized/Quantizer.cpp:111.)")
_OF_STORAGE = {"uint8": _dtype.quint8, "int8": _dtype.qint8, "int32": _dtype.qint32}


class QParams:
    """A quantized tensor's dtype and parameters: per tensor `scale` (float) and `zero_point`
    (int); per channel `scales` (float64) and `zero_points` (int64) arrays along `axis`."""
    __slots__ = ("dtype", "scheme", "scale", "zero_point", "scales", "zero_points", "axis")

    def __init__(self, dtype, scale=None, zero_point=None, scales=None, zero_points=None,
                 axis=None):
        self.dtype, self.scale, self.zero_point = dtype, scale, zero_point
        self.scales, self.zero_points, self.axis = scales, zero_points, axis
        self.scheme = per_tensor_affine if axis is None else per_channel_affine

    def same(self, other):
        if self.axis is None:
            return other.axis is None and (self.dtype, self.scale, self.zero_point) == (
                other.dtype, other.scale, other.zero_point)
        return other.axis == self.axis and other.dtype is self.dtype and \
            np.array_equal(self.scales, other.scales) and \
            np.array_equal(self.zero_points, other.zero_points)


# NumPy function -> torch's aten name, for the NotImplementedError a dense kernel meets
_ATEN = {"subtract": "sub.out", "multiply": "mul.out", "true_divide": "div.out",
         "divide": "div.out", "negative": "neg.out", "absolute": "abs.out", "matmul": "mm.out",
         "power": "pow.Tensor_Scalar_out", "square": "pow.Tensor_Scalar_out",
         "where": "where.self", "roll": "roll"}


NO_ZERO = object()      # what zero_ writes into a quantized tensor's array (torch refuses it)
_COMPARISONS = frozenset(("equal", "not_equal", "less", "less_equal", "greater",
                          "greater_equal"))


class QArray(np.ndarray):
    """The array of a quantized tensor (see the module docstring)."""
    q = None

    def __array_finalize__(self, obj):
        self.q = getattr(obj, "q", None)

    @property
    def dtype(self):
        return self.q.dtype.descr

    @property
    def ints(self):
        """The integer representation as a plain ndarray (a view)."""
        return self.view(np.ndarray)

    def astype(self, dtype, order="K", casting=None, subok=True, copy=True):
        raise RuntimeError("Creation of quantized tensor requires quantized dtype like "
                           "torch.quint8")

    def item(self, *args):
        return dequantize_array(self.reshape(())).item()

    def tolist(self):
        raise RuntimeError("load_scalar: invalid type")

    def __getitem__(self, index):
        out = super().__getitem__(index)
        q = self.q
        if q is None or q.axis is None or type(out) is not QArray:
            return out
        return out._with(_channels_after(self, q, index))

    def reshape(self, *shape, **kwargs):
        out = super().reshape(*shape, **kwargs)
        q = self.q
        if q is None or q.axis is None:
            return out
        return out._with(_channels_reshaped(self.shape, out.shape, q))

    def transpose(self, *axes):
        return self._per_channel_strides(super().transpose(*axes))

    def swapaxes(self, a, b):
        return self._per_channel_strides(super().swapaxes(a, b))

    def _per_channel_strides(self, out):
        """torch's per-channel tensors keep their strides: no permuted views of them."""
        if self.q.axis is not None and out.strides != self.strides:
            raise RuntimeError(_STRIDES)
        return out

    def __setitem__(self, index, value):
        """q[index] = value and fill_: the value quantized with q's parameters (at the
        positions it lands on, for per-channel ones)."""
        if value is NO_ZERO:
            raise not_implemented("zero_", kind="Quantized")
        if type(value) is QArray:
            value = dequantize_array(value)
        elif isinstance(value, np.ndarray) and value.dtype != np.float32:
            raise RuntimeError("Quantized copy only works with kFloat as source Tensor")
        full = np.zeros(self.shape, np.float32)
        full[index] = value
        self.ints[index] = _quantize_like(full, self.q)[index]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method == "__call__" and name in _COMPARISONS and "out" not in kwargs:
            # torch compares quantized tensors by their dequantized values
            return ufunc(*(dequantize_array(a) if type(a) is QArray else a for a in inputs))
        if method == "reduce":
            name = {"add": "sum.IntList_out", "multiply": "prod"}.get(name, name)
        elif any(type(a) is not QArray for a in inputs):
            # with a number or a dense tensor, torch first allocates a quantized result
            raise RuntimeError("empty_strided not supported on quantized tensors yet see "
                               "https://github.com/pytorch/pytorch/issues/74540")
        else:
            name = _ATEN.get(name, name + ".out")
        raise not_implemented(name, kind="Quantized")

    def __array_function__(self, func, types, args, kwargs):
        if func is np.concatenate or func is np.stack:
            if any(a.q.axis is not None for a in args[0]):
                raise RuntimeError("Only per-tensor quantization is supported in 'cat'!")
            arrays = [a if a.q.same(args[0][0].q) else _requantize(a, args[0][0].q)
                      for a in args[0]]
            return func([a.ints for a in arrays], *args[1:], **kwargs).view(QArray)._with(
                arrays[0].q)
        if func is np.copyto:
            return _copy_into(*args)
        if func in _VIEWS:
            return super().__array_function__(func, types, args, kwargs)
        name = func.__name__
        raise not_implemented(_ATEN.get(name, name + ".out"), kind="Quantized")

    def _with(self, q):
        self.q = q
        return self

    def __reduce__(self):
        return _rebuild_qarray, (self.ints, self.q.dtype.name, self.q.scale, self.q.zero_point,
                                 self.q.scales, self.q.zero_points, self.q.axis)


_VIEWS = frozenset((np.reshape, np.transpose, np.swapaxes, np.squeeze, np.expand_dims,
                    np.broadcast_to, np.moveaxis, np.shape, np.ndim, np.size,
                    np.may_share_memory, np.shares_memory))


def _copy_into(dst, src, casting=None):
    """Tensor.copy_ with a quantized tensor: from another of its dtype, its integers and
    parameters (as torch replaces the quantizer); from a float32 tensor of its shape, its values
    quantized with dst's parameters."""
    if type(dst) is not QArray:
        raise RuntimeError("Copying from quantized Tensor to non-quantized Tensor is not "
                           "allowed, please use dequantize to get a float Tensor from a "
                           "quantized Tensor")
    if type(src) is QArray:
        if src.q.dtype is not dst.q.dtype:
            raise RuntimeError("Expected self.scalar_type() == src.scalar_type() to be true, but "
                               "got false.  (Could this error message be improved?  If so, "
                               "please report an enhancement request to PyTorch.)")
        dst.ints[...] = src.ints
        dst.q = src.q
        return
    if src.dtype != np.float32:
        raise RuntimeError("Quantized copy only works with kFloat as source Tensor")
    if src.shape != dst.shape:
        raise RuntimeError("Quantized copy only works with Tensors with the same shape")
    dst.ints[...] = _quantize_like(src, dst.q)


def _channels_after(a, q, index):
    """The per-channel parameters of a[index] (basic indexing): those of the channels it keeps,
    along the dim they went to (one channel: per-tensor parameters); found by indexing the
    channel numbers laid out as a is."""
    n = q.scales.size
    if a.shape[q.axis] != n:
        return q        # (already inconsistent: a reshape torch allows too; it fails on use)
    numbers = np.lib.stride_tricks.as_strided(
        np.arange(n, dtype=np.int64), a.shape,
        [8 if d == q.axis else 0 for d in range(a.ndim)])[index]
    dims = [d for d, st in enumerate(numbers.strides) if st]
    if numbers.size and (not dims or len(dims) == 1 and numbers.shape[dims[0]] == 1):
        c = int(numbers.reshape(-1)[0])     # one channel: per tensor with its parameters
        return QParams(q.dtype, float(q.scales[c]), int(q.zero_points[c]))
    if len(dims) != 1 or numbers.base is None:
        raise NotImplementedError("ember: this indexing of a per-channel quantized tensor is "
                                  "not supported")
    d = dims[0]
    kept = numbers[tuple(slice(None) if i == d else 0 for i in range(numbers.ndim))]
    return QParams(q.dtype, scales=q.scales[kept], zero_points=q.zero_points[kept], axis=d)


def _channels_reshaped(old, new, q):
    """The channel axis after a reshape: the dim of the new shape that holds the channel dim
    whole (unsqueeze and reshapes around it); else unchanged, as torch keeps it."""
    before = 1
    for n in old[:q.axis]:
        before *= n
    acc = 1
    for d, n in enumerate(new):
        if acc == before and n == old[q.axis]:
            return QParams(q.dtype, scales=q.scales, zero_points=q.zero_points, axis=d)
        acc *= n
    return q


def _rebuild_qarray(ints, name, scale, zero_point, scales, zero_points, axis):
    return make_qarray(ints, QParams(_dtype._BY_NAME[name], scale, zero_point, scales,
                                     zero_points, axis))


def make_qarray(ints, q):
    """QArray over the integer array `ints` (no copy)."""
    if not _INSTALLED:
        _install_kernels()
    a = ints.view(QArray)
    a.q = q
    return a


_PER_TENSOR_ONLY = ("Expected quantizer->qscheme() == kPerTensorAffine to be true, but got false."
                    "  (Could this error message be improved?  If so, please report an "
                    "enhancement request to PyTorch.)")
_STRIDES = "Setting strides is possible only on uniformly quantized tensor"
_INSTALLED = []


def _install_kernels():
    """Put the quantized kernels on the ops (ops/_quantized_kernels.py) when the first quantized
    tensor is made: a program without one never pays for their check."""
    from .ops import _quantized_kernels
    _INSTALLED.append(True)
    _quantized_kernels.install()


def equal(a, b):
    """torch.equal with a quantized tensor: the same dtype, scheme, parameters and integers."""
    if type(a) is not QArray or type(b) is not QArray:
        return False
    return a.q.same(b.q) and bool((a.ints == b.ints).all())


def is_quantized(t):
    return type(t.arr) is QArray


def _requantize(a, q):
    """a's values quantized with q's parameters (torch's cat of differently quantized tensors
    takes the first one's)."""
    return make_qarray(_quantize_like(dequantize_array(a), q), q)


def _quantize_like(x, q):
    """The integers of float32 array x quantized with q's parameters."""
    if q.axis is None:
        return _quantize_tensor_arr(x, q.dtype, q.scale, q.zero_point).ints
    return _quantize_channels(x, q.dtype, q.scales, q.zero_points, q.axis)


# ---- the kernels ------------------------------------------------------------------------------
def _round_clip(v, qd, nan):
    """v (float) rounded to nearest even and clamped to qd's range, NaN to `nan`."""
    with np.errstate(invalid="ignore"):
        out = np.clip(np.rint(np.asarray(v, np.float64)), qd.lo, qd.hi)
        out = np.where(np.isnan(out), nan, out)
    return out.astype(qd.storage)


def fma_float32(a, b, c):
    """a * b + c rounded once to float32, as the fused multiply-add of torch's compiled
    kernels (exact in long double)."""
    return (np.asarray(a, np.longdouble) * b + c).astype(np.float32)


def _quantize_tensor_arr(x, qd, scale, zero_point):
    """float32 array x quantized per tensor, as torch's CPU kernels round (module docstring)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = np.float32(1.0) / np.float32(scale)
        if qd.hi < 16:          # quint4x2, quint2x4: through an int64 (NaN, inf: INT64_MIN)
            v, nan = np.rint(x * inv) + np.float32(zero_point), qd.lo
            v = np.where(np.abs(v) < 2.0 ** 63, v, np.nan)
        elif qd.itemsize == 1:  # one rounding of x * inv + zero_point
            v, nan = fma_float32(x, inv, zero_point), qd.hi
        else:
            v, nan = x * inv + np.float32(zero_point), _INT_MIN_LOW[qd.itemsize]
    return make_qarray(_round_clip(np.asarray(v), qd, nan), QParams(qd, float(scale),
                                                                   int(zero_point)))


_INT_MIN_LOW = {1: 0, 4: -2 ** 31}      # what a NaN converts to: INT_MIN's low bytes


def quantize_val(v, scale, zero_point, qd):
    """torch's scalar quantize_val (the element-by-element kernels, and their tails): float32
    v * (1 / scale), plus zero_point, rounded to nearest even, clamped to qd's range (a float
    array)."""
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.asarray(v, np.float32) * (np.float32(1) / np.float32(scale))
        return np.clip(np.rint(t + np.float32(zero_point)).astype(np.float64), qd.lo, qd.hi)


def dequantize_array(a):
    """float32 values of QArray a (an ndarray of a's shape)."""
    q, ints = a.q, a.ints
    if q.axis is None:
        d = ints.astype(np.int64) - q.zero_point
        if q.dtype.itemsize == 4:
            d = d.astype(np.int32)      # fbgemm subtracts in int32
        return np.float32(q.scale) * d.astype(np.float32)
    n = q.scales.size
    if a.ndim <= q.axis or a.shape[q.axis] != n:
        got = a.shape[q.axis] if a.ndim > q.axis else 1
        raise RuntimeError(f"length of scales must equal to channel, expected {got} got, {n}")
    shape = [1] * a.ndim
    shape[q.axis] = -1
    d = ints.astype(np.float32) - q.zero_points.reshape(shape)
    return (d * q.scales.reshape(shape)).astype(np.float32)


# ---- public API -------------------------------------------------------------------------------
def _qtensor(arr, be=None):
    from ._tensor import _new
    from .backends import CPU
    warn_once(_DEPRECATED)
    return _new(arr, be or CPU)


def _quantized_dtype(dtype):
    if dtype not in QUANTIZED:
        raise RuntimeError(f"ScalarType {C10_NAME[dtype.name]} is not supported in new_qtensor.")
    return dtype


def _float_input(t):
    """t's float32 values, laid out as torch lays out the quantized result: C-contiguous unless
    t reads as channels last."""
    from ._memory_format import _suggests_cl
    if t.dtype is not float32:
        raise RuntimeError(f"Quantize only works on Float Tensor, got {C10_NAME[t.dtype.name]}")
    x = np.asarray(t.be.to_host(t.arr))
    return x if _suggests_cl(x) else np.asarray(x, order="C")


def _check_zero_point(zp, qd, name):
    if zp > qd.hi:
        raise RuntimeError(f"{name} zero_point {zp} is above upper bound.")
    if zp < qd.lo:
        raise RuntimeError(f"{name} zero_point {zp} is below lower bound.")


def quantize_per_tensor(input, scale, zero_point, dtype):
    """torch.quantize_per_tensor: a float32 tensor (or a list of them, with a scale and a zero
    point tensor holding one value each) quantized to dtype; scale and zero_point may be
    numbers or one-element tensors."""
    from ._tensor import Tensor
    if not isinstance(input, Tensor):
        return tuple(quantize_per_tensor(t, s, z, dtype) for t, s, z in
                     zip(input, scale.tolist(), zero_point.tolist()))
    qd = _quantized_dtype(dtype)
    if isinstance(scale, Tensor):
        scale = scale.item()
    if isinstance(zero_point, Tensor):
        zero_point = zero_point.item()
    x = _float_input(input)
    _check_zero_point(zero_point, qd, "quantize_tensor_per_tensor_affine")
    return _qtensor(_quantize_tensor_arr(x, qd, scale, zero_point))


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """torch.quantize_per_channel: each slice along `axis` quantized with its own scale and
    zero point (per-channel rounding: see the module docstring)."""
    qd = _quantized_dtype(dtype)
    x = _float_input(input)
    if not 0 <= axis < x.ndim:
        raise RuntimeError(f"Channel axis out of range in per channel affine quantization. Got: "
                           f"{axis}Expected: [0, {x.ndim})")
    if qd.hi < 16:
        raise NotImplementedError(f'"quantize_tensor_per_channel_affine" not implemented for '
                                  f"'{C10_NAME[qd.name]}'")
    if zero_points.dtype.is_floating_point:
        raise NotImplementedError("ember: per_channel_affine_float_qparams (float zero points) "
                                  "is not supported")
    s = np.asarray(scales.be.to_host(scales.arr), np.float64).reshape(-1)
    z = np.asarray(zero_points.be.to_host(zero_points.arr), np.int64).reshape(-1)
    n = x.shape[axis]
    if s.size != z.size:
        raise RuntimeError("number of elements in scales and zero_points must match")
    if s.size != n:
        raise RuntimeError(f"length of scales must equal to channel, expected {n} got, {s.size}")
    if z.size != n:
        raise RuntimeError(f"length of zero_points must equal to channel expected {n} got, "
                           f"{z.size}")
    for zp in z.tolist():
        _check_zero_point(zp, qd, "quantize_tensor_per_channel_affine")
    ints = _quantize_channels(x, qd, s, z, axis)
    return _qtensor(make_qarray(ints, QParams(qd, scales=s, zero_points=z, axis=axis)))


def _quantize_channels(x, qd, scales, zero_points, axis):
    """The integers of float32 array x quantized per channel along `axis`."""
    shape = [1] * x.ndim
    shape[axis] = -1
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = (np.float32(1.0) / scales.astype(np.float32)).reshape(shape)
        v = x * inv + zero_points.astype(np.float32).reshape(shape)
    return _round_clip(v, qd, _INT_MIN_LOW[qd.itemsize])


def quantize_per_tensor_dynamic(input, dtype, reduce_range):
    """torch.quantize_per_tensor_dynamic: quantized with the scale and zero point chosen from
    the input's range (quint8 or qint8; reduce_range halves the integer range); float16: the
    input converted."""
    if dtype is _dtype.float16:
        return input.to(dtype)
    if dtype not in (_dtype.quint8, _dtype.qint8):
        raise RuntimeError(f"dtype {C10_NAME[dtype.name]}not supported")
    x = _float_input(input)
    if not x.size:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == "
                           "0. Specify the reduction dim with the 'dim' argument.")
    qmin, qmax = dtype.lo, dtype.hi
    if reduce_range:
        qmin, qmax = int(qmin / 2), int(qmax / 2)
    lo, hi = np.float32(x.min()), np.float32(x.max())
    if not lo <= hi:        # (a NaN)
        raise RuntimeError("In ChooseQuantizationParams, min should be less than or equal to "
                           "max")
    scale, zp = _choose_qparams(lo, hi, qmin, qmax)
    return _qtensor(_quantize_tensor_arr(x, dtype, scale, zp))


def _choose_qparams(lo, hi, qmin, qmax, preserve_sparsity=False):
    """torch's quant_utils::ChooseQuantizationParams (no power of two scale), in its float and
    double arithmetic: [lo, hi] widened to hold 0; with preserve_sparsity (symmetric
    quantization), a range across 0 made symmetric and the zero point put in the middle."""
    symmetric = preserve_sparsity and lo < 0 < hi
    if symmetric:
        sym_min, sym_max = -((qmax - qmin) // 2 + 1), (qmax - qmin) // 2
        max_scale = float(max(abs(lo / np.float32(sym_min)), abs(hi / np.float32(sym_max))))
        lo, hi = np.float32(max_scale * sym_min), np.float32(max_scale * sym_max)
    lo, hi = min(lo, np.float32(0)), max(hi, np.float32(0))
    scale = (float(hi) - float(lo)) / (qmax - qmin)
    with np.errstate(divide="ignore", over="ignore"):
        if np.float32(scale) == 0 or np.isinf(np.float32(1) / np.float32(scale)):
            scale = 0.1
    small = float(np.float32(6.1e-5))
    if scale < small:
        org, scale = scale, small
        if lo == 0:
            hi = np.float32(small * (qmax - qmin))
        elif hi == 0:
            lo = np.float32(-small * (qmax - qmin))
        else:
            amp = np.float32(small) / np.float32(org)
            lo, hi = lo * amp, hi * amp
    from_min, from_max = qmin - float(lo) / scale, qmax - float(hi) / scale
    err_min = abs(qmin) - abs(float(lo) / scale)
    err_max = abs(qmax) - abs(float(hi) / scale)
    initial = from_min if err_min < err_max else from_max
    if symmetric:
        initial = (qmin + qmax) / 2
    zp = qmin if initial < qmin else qmax if initial > qmax else int(np.rint(initial))
    return scale, zp


def dequantize(input):
    """torch.dequantize / Tensor.dequantize: float32 values (an unquantized tensor as
    .to(float32), itself when float32 already; a list of tensors gives a tuple)."""
    from ._tensor import Tensor, _new
    if not isinstance(input, Tensor):
        return tuple(dequantize(t) for t in input)
    if type(input.arr) is not QArray:
        from ._dtype import float32
        return input.to(float32)
    return _new(dequantize_array(input.arr), input.be)


def _quantizer(t, per_tensor):
    a = t.arr
    if (a.q.axis is None) != per_tensor:
        raise RuntimeError(
            _PER_TENSOR_ONLY if per_tensor else
            "Expected quantizer->qscheme() == kPerChannelAffine || quantizer->qscheme() == "
            "kPerChannelAffineFloatQParams to be true, but got false.  (Could this error message "
            "be improved?  If so, please report an enhancement request to PyTorch.)")
    return a.q


def _not_quantized(name, t):
    arr = getattr(t, "arr", None)
    if arr is None:         # (torch.q_scale(1): the functional form's argument check)
        from ._typenames import tp_name
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{tp_name(t)}")
    if type(arr) is not QArray:
        raise not_implemented(name, kind="")


def int_repr(self):
    """The integer representation (uint8, int8, int32; quint4x2 and quint2x4 packed, two and
    four elements to a byte, the first in the low bits, as torch stores them)."""
    from ._tensor import _new
    _not_quantized("int_repr", self)
    a = self.arr
    ints = np.array(a.ints, order="C")
    qd = a.q.dtype
    if qd.hi < 16:
        per = 8 // qd.hi.bit_length()
        flat = ints.reshape(-1)
        flat = np.concatenate([flat, np.zeros(-flat.size % per, np.uint8)]).reshape(-1, per)
        bits = qd.hi.bit_length()
        ints = np.bitwise_or.reduce(flat << (np.arange(per, dtype=np.uint8) * bits), axis=1)
        ints = ints.astype(np.uint8)
    return _new(ints, self.be)


def q_scale(self):
    _not_quantized("q_scale", self)
    return _quantizer(self, True).scale


def q_zero_point(self):
    _not_quantized("q_zero_point", self)
    return _quantizer(self, True).zero_point


def q_per_channel_scales(self):
    from ._tensor import _new
    _not_quantized("q_per_channel_scales", self)
    return _new(_quantizer(self, False).scales.copy(), self.be)


def q_per_channel_zero_points(self):
    from ._tensor import _new
    _not_quantized("q_per_channel_zero_points", self)
    return _new(_quantizer(self, False).zero_points.copy(), self.be)


def q_per_channel_axis(self):
    _not_quantized("q_per_channel_axis", self)
    return _quantizer(self, False).axis


def qscheme_of(self):
    _not_quantized("qscheme", self)
    return self.arr.q.scheme


def _int_source(t):
    qd = _OF_STORAGE.get(t.dtype.name)
    if qd is None:
        raise RuntimeError(f"ScalarType {C10_NAME[t.dtype.name]} is not supported in "
                           "new_qtensor.")
    return np.array(t.be.to_host(t.arr)), qd


def _empty_affine_quantized(size, *, scale=1, zero_point=0, dtype=None, **kwargs):
    """torch._empty_affine_quantized: a per-tensor quantized tensor of `size` (its integers
    are uninitialized in torch; here zeros)."""
    if dtype is None or dtype not in QUANTIZED:
        raise RuntimeError("Creation of quantized tensor requires quantized dtype like "
                           "torch.quint8")
    return _qtensor(make_qarray(np.zeros(tuple(size), dtype.storage),
                                QParams(dtype, float(scale), int(zero_point))))


def _make_per_tensor_quantized_tensor(input, scale, zero_point):
    """A quantized tensor over a copy of `input`'s integers (uint8 -> quint8, int8 -> qint8,
    int32 -> qint32)."""
    ints, qd = _int_source(input)
    return _qtensor(make_qarray(ints, QParams(qd, float(scale), int(zero_point))), input.be)


def _make_per_channel_quantized_tensor(input, scale, zero_point, axis):
    ints, qd = _int_source(input)
    s = np.asarray(scale.be.to_host(scale.arr), np.float64).reshape(-1)
    z = np.asarray(zero_point.be.to_host(zero_point.arr), np.int64).reshape(-1)
    return _qtensor(make_qarray(ints, QParams(qd, scales=s, zero_points=z, axis=axis)),
                    input.be)


def quantized_repr(t, grad_fn_name, contents):
    """torch's repr of a quantized tensor: its dequantized values, then size, dtype, scheme,
    and the scale and zero point (per channel: as tensors, and the axis)."""
    from ._tensor_str import _add_suffixes, _tensor_str
    from ._tensor import _new
    a = t.arr
    q = a.q
    indent = len("tensor(")
    suffixes = [f"size={tuple(a.shape)}", f"dtype={q.dtype!r}",
                f"quantization_scheme={q.scheme!r}"]
    if q.axis is None:
        suffixes += [f"scale={q.scale!r}", f"zero_point={q.zero_point}"]
    else:
        suffixes += [f"scale={_new(q.scales, t.be)!r}",
                     f"zero_point={_new(q.zero_points, t.be)!r}", f"axis={q.axis}"]
    if contents is None:
        vals = dequantize_array(a)
        contents = "[]" if vals.size == 0 else _tensor_str(vals, indent, "float")
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    return _add_suffixes("tensor(" + contents, suffixes, indent)


def bind_methods():
    """Tensor's quantization methods (ember/__init__.py calls this once Tensor exists)."""
    from ._tensor import Tensor
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    Tensor.is_quantized = property(is_quantized)


METHODS = {"int_repr": int_repr, "q_scale": q_scale, "q_zero_point": q_zero_point,
           "q_per_channel_scales": q_per_channel_scales,
           "q_per_channel_zero_points": q_per_channel_zero_points,
           "q_per_channel_axis": q_per_channel_axis, "qscheme": qscheme_of,
           "dequantize": dequantize}

