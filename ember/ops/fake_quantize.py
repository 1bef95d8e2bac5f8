"""torch's fake quantization (quantization-aware training): values rounded to a quantized grid
and back, in the input's floating dtype, with a straight-through gradient (the incoming
gradient where the rounded value fell inside [quant_min, quant_max], zero elsewhere).

The arithmetic is torch 2.13's CPU kernels': inv_scale = 1.0f / scale in float32, the value
x * inv_scale (float32 for float and half inputs, double for double) rounded half to even, plus
the zero point; clamped, less the zero point, times the (float32) scale, rounded to float32
and then to the input's dtype (per tensor double inputs too; per channel they keep the double
product). NaN goes to quant_min; per tensor an infinity goes to the nearer end, per
channel (where the value passes through an int64) any value out of int64's range, infinities
included, to quant_min."""
import numpy as np

from .._dtype import C10_NAME
from .._quantized import fma_float32
from .._tensor import Tensor
from ._apply import make_unary
from ._registry import op


def _fake(x, scale, zero_point, qmin, qmax, per_channel):
    """(fake-quantized x, in-range mask); scale (float32) and zero_point (int, or float32 for
    per_channel_affine_float_qparams) broadcast."""
    if isinstance(zero_point, np.ndarray) and zero_point.dtype == np.float32:
        return _fake_float_zero_point(x, scale, zero_point, qmin, qmax)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = np.float32(1.0) / scale
        prod = x * inv if x.dtype == np.float64 else x.astype(np.float32, copy=False) * inv
        v = np.rint(prod).astype(np.float64) + zero_point
        if per_channel:     # through an int64: x86 makes INT64_MIN of NaN and out of range
            v[~(np.abs(v) < 2.0 ** 63)] = np.nan
        mask = (v >= qmin) & (v <= qmax)
        clamped = np.where(np.isnan(v), qmin, np.clip(v, qmin, qmax))
        out = (clamped - zero_point) * np.asarray(scale, np.float64)
    if not (per_channel and x.dtype == np.float64):
        out = out.astype(np.float32)
    return out.astype(x.dtype, copy=False), mask


def _fake_float_zero_point(x, scale, zero_point, qmin, qmax):
    """Per channel with float zero points: lrint(zero_point + x * inv_scale) (the product in
    the input's precision, at least float32; NaN and out of int64's range to quant_min),
    clamped; (q - zero_point) * scale in double, rounded to the input's dtype."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = np.float32(1.0) / scale
        prod = x * inv if x.dtype == np.float64 else x.astype(np.float32, copy=False) * inv
        v = np.rint(prod + zero_point.astype(prod.dtype))
        v[~(np.abs(v) < 2.0 ** 63)] = np.nan
        mask = (v >= qmin) & (v <= qmax)
        clamped = np.where(np.isnan(v), qmin, np.clip(v, qmin, qmax))
        out = (clamped - zero_point.astype(np.float64)) * scale.astype(np.float64)
    return out.astype(x.dtype), mask


def _fwd(xp, x, scale, zero_point, qmin, qmax, per_channel=False):
    out, mask = _fake(x, scale, zero_point, qmin, qmax, per_channel)
    return out, (mask,)


def _straight_through(xp, g, mask):
    return (g * mask,)


_per_tensor = op("fake_quantize_per_tensor_affine_cachemask", saves=None)(_fwd)
_per_tensor.vjp(_straight_through)
_per_tensor_fn = make_unary(_per_tensor)
_tensor_qparams = op("fake_quantize_per_tensor_affine_cachemask_tensor_qparams",
                     saves=None)(_fwd)
_tensor_qparams.vjp(_straight_through)
_tensor_qparams_fn = make_unary(_tensor_qparams)
_per_channel = op("fake_quantize_per_channel_affine_cachemask", saves=None)(_fwd)
_per_channel.vjp(_straight_through)
_per_channel_fn = make_unary(_per_channel)


def _check_input(input, quant_min, quant_max):
    if input.dtype.name not in ("float32", "float64", "float16"):
        raise NotImplementedError('"fake_quantize_tensor_cachemask_kernel_type_handling" not '
                                  f"implemented for '{C10_NAME[input.dtype.name]}'")
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """torch.fake_quantize_per_tensor_affine (scale and zero_point numbers, or one-element
    tensors)."""
    _check_input(input, quant_min, quant_max)
    if isinstance(scale, Tensor):
        return _tensor_qparams_fn(input, np.float32(scale.item()), int(zero_point.item()),
                                  quant_min, quant_max)
    if not quant_min <= zero_point <= quant_max:
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    return _per_tensor_fn(input, np.float32(scale), int(zero_point), quant_min, quant_max)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """torch.fake_quantize_per_channel_affine: `scale` (float32) and `zero_point` (int32, or
    float32 / float16 unchecked against the range) hold one value per slice along `axis`."""
    _check_input(input, quant_min, quant_max)
    if scale.dtype.name != "float32":
        raise RuntimeError(f"Scale must be Float or BFloat16, found {C10_NAME[scale.dtype.name]}")
    float_zp = zero_point.dtype.name in ("float32", "float16")
    if zero_point.dtype.name != "int32" and not float_zp:
        raise RuntimeError("Zero-point must be Int32, Float or Half, found "
                           f"{C10_NAME[zero_point.dtype.name]}")
    n = input.shape[axis] if 0 <= axis < input.ndim else -1
    if scale.shape != (n,) or zero_point.shape != (n,):
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           "tensor")
    z = np.asarray(zero_point.be.to_host(zero_point.arr), np.float32 if float_zp else np.int64)
    if not float_zp and ((z < quant_min).any() or (z > quant_max).any()):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    shape = [1] * input.ndim
    shape[axis] = n
    s = np.asarray(scale.be.to_host(scale.arr)).reshape(shape)
    return _per_channel_fn(input, s, z.reshape(shape), quant_min, quant_max, True)


# ---- learnable scale and zero point (LSQ) ---------------------------------------------------
_CHECK = ("Expected {}.scalar_type() == ScalarType::Float to be true, but got false.  (Could "
          "this error message be improved?  If so, please report an enhancement request to "
          "PyTorch.)")


@op("fake_quantize_learnable_per_tensor_affine", saves=None)
def _learnable(xp, x, scale, zero_point, qmin, qmax, grad_factor):
    s = np.float32(scale.reshape(-1)[0])
    zp = np.float32(zero_point.reshape(-1)[0])
    zp_fwd = int(min(max(np.rint(zp), np.float32(qmin)), np.float32(qmax)))
    out, _ = _fake(x, s, zp_fwd, qmin, qmax, False)
    return out, (x, scale.dtype, zero_point.dtype, s, zp, qmin, qmax, grad_factor)


@_learnable.vjp
def _(xp, g, x, scale_dtype, zp_dtype, s, zp, qmin, qmax, grad_factor):
    """torch's _fake_quantize_learnable_per_tensor_affine_backward: x's gradient straight
    through inside the range; the scale's (x_fq - x) / scale inside, quant_min or quant_max
    less the zero point outside; the zero point's -scale outside; each times grad_factor, in
    float32, summed as torch sums."""
    for name, dt in (("dY_", g.dtype), ("X_", x.dtype), ("scale_", scale_dtype),
                     ("zero_point_", zp_dtype)):
        if dt != np.float32:
            raise RuntimeError(_CHECK.format(name))
    if not (qmin <= 0 <= qmax):
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`, "
                           "and the quantization range should include 0.")
    f32 = np.float32
    zp_bwd = int(min(max(zp + f32(0.5), f32(qmin)), f32(qmax)))
    inv, gf = f32(1.0) / s, f32(grad_factor)       # (torch's kernel takes a float factor)
    with np.errstate(invalid="ignore", over="ignore"):
        # the compiled kernel fuses zero_point + x * inv_scale, and x_fq - x, into one
        # rounding each (fused multiply-adds; exact in long double before it)
        xq = np.rint(fma_float32(x, inv, zp_bwd)).astype(np.float64)
        xq[~(np.abs(xq) < 2.0 ** 63)] = -2.0 ** 63      # (x86's int64 of NaN and inf)
        inside = (xq >= qmin) & (xq <= qmax)
        dx = g * inside
        diff = fma_float32((np.clip(xq, qmin, qmax) - zp_bwd).astype(f32), s, -x)
        edge = np.where(xq < qmin, f32(qmin - zp_bwd), f32(qmax - zp_bwd))
        dscale = np.where(inside, g * diff * inv * gf, g * edge * gf)
        dzp = np.where(inside, f32(0), -g * s * gf)
    return dx, _summed(dscale), _summed(dzp)


def _summed(v):
    from ._torch_sum import torch_sum
    r = torch_sum(v, None, False)
    return (v.sum() if r is None else r).reshape(1)


def _fake_quantize_learnable_per_tensor_affine(input, scale, zero_point, quant_min, quant_max,
                                               grad_factor=1.0):
    """torch._fake_quantize_learnable_per_tensor_affine: fake quantization whose scale and
    zero point (one-element float tensors) take gradients (LSQ)."""
    from ._apply import apply
    for t in (scale, zero_point):
        if t.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
    _check_input(input, quant_min, quant_max)
    return apply(_learnable, (input, scale, zero_point), (quant_min, quant_max, grad_factor))


# ---- observation and fake quantization in one op (FusedMovingAvgObsFakeQuantize) -------------
@op("_fused_moving_avg_obs_fq_helper", saves=None)
def _fused(xp, x, scale, zero_point, qmin, qmax, per_channel, enabled):
    if not enabled:
        return x.copy(), (True,)
    return _fwd(xp, x, scale, zero_point, qmin, qmax, per_channel)


_fused.vjp(_straight_through)
_fused_fn = make_unary(_fused)


def fused_moving_avg_obs_fake_quant(input, observer_on, fake_quant_on, running_min,
                                    running_max, scale, zero_point, averaging_const, quant_min,
                                    quant_max, ch_axis, per_row_fake_quant=False,
                                    symmetric_quant=False):
    """torch.fused_moving_avg_obs_fake_quant: with observer_on, running_min/running_max (per
    tensor, or per slice along ch_axis 0) move towards the input's min and max by
    averaging_const (float32; taken as they are while infinite); with fake_quant_on, scale and
    zero_point become ChooseQuantizationParams' of that range (symmetric_quant preserving
    sparsity) and the input comes back fake-quantized with them, else unchanged. The buffers
    are written in place; the gradient goes straight through."""
    from .._quantized import _choose_qparams
    if input.numel() == 0:
        return input.clone()
    if ch_axis >= input.ndim:
        raise RuntimeError("Error in fused_moving_avg_obs_fake_quant_cpu: ch_axis must be < "
                           "self.dim()")
    x = np.asarray(input.be.to_host(input.detach().arr), np.float32)
    if per_row_fake_quant:
        if running_min.numel() == 0:
            n = input.shape[ch_axis]
            running_min.resize_(n).fill_(float("inf"))
            running_max.resize_(n).fill_(float("-inf"))
            scale.resize_(n)
            zero_point.resize_(n)
    if observer_on.item():
        if per_row_fake_quant:
            if ch_axis != 0:
                raise RuntimeError("Per-channel FakeQuant in fused_moving_avg_obs_fake_quant is "
                                   "only supported on axis == 0")
            y = x.reshape(x.shape[0], -1)
            lo, hi = y.min(axis=1), y.max(axis=1)
        else:
            lo, hi = x.min(keepdims=True), x.max(keepdims=True)
        c = np.float32(averaging_const)
        for run, cur in ((running_min, lo), (running_max, hi)):
            old = np.asarray(run.be.to_host(run.arr), np.float32).reshape(-1)
            with np.errstate(invalid="ignore"):
                new = np.where(np.isinf(old), cur, old + c * (cur - old))
            run.copy_(_host_tensor(new.reshape(run.shape)))
    if not fake_quant_on.item():
        return _fused_fn(input, None, None, quant_min, quant_max, False, False)
    lows = np.asarray(running_min.be.to_host(running_min.arr), np.float32).reshape(-1)
    highs = np.asarray(running_max.be.to_host(running_max.arr), np.float32).reshape(-1)
    scales, zps = [], []
    for lo, hi in zip(lows, highs):
        if not lo <= hi:
            raise RuntimeError("In ChooseQuantizationParams, min should be less than or equal "
                               "to max")
        s, z = _choose_qparams(lo, hi, quant_min, quant_max, symmetric_quant)
        scales.append(np.float32(s))
        zps.append(z)
    scale.copy_(_host_tensor(np.array(scales, np.float32).reshape(scale.shape)))
    zero_point.copy_(_host_tensor(np.array(zps).reshape(zero_point.shape)))
    if per_row_fake_quant:
        shape = [1] * input.ndim
        shape[ch_axis] = -1
        return _fused_fn(input, np.array(scales, np.float32).reshape(shape),
                         np.array(zps, np.int64).reshape(shape), quant_min, quant_max, True,
                         True)
    return _fused_fn(input, scales[0], zps[0], quant_min, quant_max, False, True)


def _host_tensor(a):
    from .._tensor import _new
    from ..backends import CPU
    return _new(a, CPU)
