"""torch.ao.nn.quantized.functional: functional forms of the quantized ops (convolutions and
linear with their weight packed per call, pooling, resampling and activations of quantized
tensors)."""
import warnings

import ember as torch
from ember.nn import functional as F
from ember.nn.modules.utils import _pair, _single, _triple
from ember.ops._quantized_nn import ConvPacked, LinearPacked, conv, elu as _elu, hardswish as \
    _hardswish
from ember._quantized import _qtensor

__all__ = ["avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "conv1d",
           "conv2d", "conv3d", "interpolate", "linear", "max_pool1d", "max_pool2d", "celu",
           "leaky_relu", "hardtanh", "hardswish", "threshold", "elu", "hardsigmoid", "clamp",
           "upsample", "upsample_bilinear", "upsample_nearest"]


def _quantized(input, name):
    if not input.is_quantized:
        raise ValueError(f"Input to '{name}' must be quantized!")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    _quantized(input, "quantized.avg_pool2d")
    return F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    _quantized(input, "quantized.avg_pool3d")
    return F.avg_pool3d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override)


def adaptive_avg_pool2d(input, output_size):
    _quantized(input, "quantized.functional.adaptive_avg_pool2d")
    return F.adaptive_avg_pool2d(input, output_size)


def adaptive_avg_pool3d(input, output_size):
    _quantized(input, "quantized.functional.adaptive_avg_pool3d")
    return F.adaptive_avg_pool3d(input, output_size)


def _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, scale,
          zero_point, nsp, shape, tuple_):
    if padding_mode != "zeros":
        raise NotImplementedError("Only zero-padding is supported!")
    if input.dtype is not torch.quint8:
        raise NotImplementedError("Only torch.quint8 is supported for activation tensor!")
    if weight.dtype is not torch.qint8:
        raise NotImplementedError("Only torch.qint8 is supported for weight tensor!")
    if input.ndim != nsp + 2:
        raise ValueError(f"Input shape must be `{shape}`!")
    stride, padding, dilation = tuple_(stride), tuple_(padding), tuple_(dilation)
    if nsp == 1:        # (as a 2-d convolution of height 1)
        packed = ConvPacked(weight.unsqueeze(2), bias, (1,) + stride, (0,) + padding,
                            (1,) + dilation, groups)
        return conv(input.unsqueeze(2), packed, scale, zero_point).squeeze(2)
    return conv(input, ConvPacked(weight, bias, stride, padding, dilation, groups), scale,
                zero_point)


def conv1d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=torch.quint8):
    """A 1-d convolution of quantized input and weight (quint8, qint8), requantized with
    scale and zero_point."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, scale,
                 zero_point, 1, "(N, C, L)", _single)


def conv2d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=torch.quint8):
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, scale,
                 zero_point, 2, "(N, C, H, W)", _pair)


def conv3d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", scale=1.0, zero_point=0, dtype=torch.quint8):
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, scale,
                 zero_point, 3, "(N, C, D, H, W)", _triple)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    _quantized(input, "quantized.interpolate")
    return F.interpolate(input, size, scale_factor, mode, align_corners)


def linear(input, weight, bias=None, scale=None, zero_point=None):
    """quint8 input times the qint8 weight (packed per call), requantized with scale and
    zero_point (the input's by default)."""
    from ember.ops._quantized_nn import linear as _linear
    if scale is None:
        scale = input.q_scale()
    if zero_point is None:
        zero_point = input.q_zero_point()
    return _linear(input, LinearPacked(weight, bias), scale, zero_point)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return F.max_pool1d(input, kernel_size, [] if stride is None else stride, padding,
                        dilation, ceil_mode=ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return F.max_pool2d(input, kernel_size, stride or None, padding, dilation,
                        ceil_mode=ceil_mode)


def celu(input, scale, zero_point, alpha=1.0):
    """alpha * (exp(x / alpha) - 1) below zero, quantized with scale and zero_point."""
    _quantized(input, "quantized.celu")
    return _qtensor(_elu(input.arr, scale, zero_point, alpha, 1.0 / alpha), input.be)


def leaky_relu(input, negative_slope=0.01, inplace=False, scale=None, zero_point=None):
    if scale is not None and zero_point is not None:
        if inplace:
            raise AssertionError("Cannot rescale with `inplace`")
        from ember.ops._quantized_nn import leaky_relu as _leaky_relu
        return _qtensor(_leaky_relu(input.arr, negative_slope, scale, int(zero_point)),
                        input.be)
    return F.leaky_relu(input, negative_slope, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    _quantized(input, "quantized.hardtanh")
    return F.hardtanh(input, min_val, max_val, inplace)


def hardswish(input, scale, zero_point):
    _quantized(input, "quantized.hardswish")
    return _qtensor(_hardswish(input.arr, scale, zero_point), input.be)


def threshold(input, threshold, value):
    _quantized(input, "quantized.threshold")
    if threshold is None:
        raise ValueError("Input to 'threshold' must be specified!")
    if value is None:
        raise ValueError("Input to 'value' must be specified!")
    return F.threshold(input, threshold, value)


def elu(input, scale, zero_point, alpha=1.0):
    _quantized(input, "quantized.elu")
    return _qtensor(_elu(input.arr, scale, zero_point, alpha), input.be)


def hardsigmoid(input, inplace=False):
    _quantized(input, "quantized.hardsigmoid")
    return F.hardsigmoid(input, inplace)


def clamp(input, min_, max_):
    _quantized(input, "quantized.clamp")
    return torch.clamp(input, min_, max_)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("nn.quantized.functional.upsample is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("nn.quantized.functional.upsample_bilinear is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("nn.quantized.functional.upsample_nearest is deprecated. Use "
                  "nn.quantized.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")
