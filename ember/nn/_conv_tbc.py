"""torch.conv_tbc (also torch.nn.functional.conv_tbc): a 1-d convolution over time on
(time, batch, channel) input with a (kernel_width, in_channels, out_channels) weight, one
matmul per kernel offset, and its ConvTbcBackward0."""
from .._kernel_dtypes import tname
from ..ops._apply import apply
from ..ops._dims import int_arg
from ..ops._registry import no_complex_grad, op


def _padded(xp, x, pad):
    """x with `pad` zero steps before and after (a negative pad crops)."""
    if pad <= 0:
        return x[-pad:x.shape[0] + pad]
    out = xp.zeros((x.shape[0] + 2 * pad,) + x.shape[1:], x.dtype)
    out[pad:pad + x.shape[0]] = x
    return out


@op("conv_tbc", node="ConvTbcBackward0")
def _conv_tbc(xp, x, weight, bias, pad):
    xpad = _padded(xp, x, pad)
    K, L = weight.shape[0], xpad.shape[0] - weight.shape[0] + 1
    out = xp.empty((L, x.shape[1], weight.shape[2]), x.dtype)
    out[...] = bias
    for k in range(K):
        out += xpad[k:k + L] @ weight[k]
    return out, (xpad, weight, bias.dtype, pad, x.shape[0])


@_conv_tbc.vjp
def _(xp, g, xpad, weight, bias_dtype, pad, T):
    L = g.shape[0]
    gxpad = xp.zeros_like(xpad)
    dw = xp.empty_like(weight)
    for k in range(weight.shape[0]):
        gxpad[k:k + L] += g @ weight[k].T
        dw[k] = xp.tensordot(xpad[k:k + L], g, axes=([0, 1], [0, 1]))
    if pad >= 0:
        gx = gxpad[pad:pad + T]
    else:
        gx = xp.zeros((T,) + xpad.shape[1:], xpad.dtype)
        gx[-pad:T + pad] = gxpad
    return gx, dw, g.sum((0, 1)).astype(bias_dtype, copy=False)


def conv_tbc(input, weight, bias, pad=0):
    """Time-batch-channel conv: input (T, B, Cin), weight (K, Cin, Cout), bias (Cout,); the
    output has T + 2 * pad - K + 1 steps."""
    pad = int_arg(pad, "conv_tbc", "pad", 4)
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    length = input.shape[0] + 2 * pad - weight.shape[0] + 1
    if length < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {length}: "
                           f"[{length}, {input.shape[1]}, {weight.shape[2]}]")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{tname(input.arr.dtype)} and {tname(weight.arr.dtype)}")
    return no_complex_grad(apply(_conv_tbc, (input, weight, bias), (pad,)), "conv_tbc")
