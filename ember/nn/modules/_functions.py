"""The op behind CrossMapLRN2d (torch.nn.modules._functions): torch's legacy forward, whose
running window sum never drops channel 0, and the backward torch wrote by hand for it (its window
is shifted against the forward's; it is not the forward's exact gradient). Both kept as torch
computes them."""
import numpy as np

from ..._dtype import get_default_dtype
from ..._kernel_dtypes import cast_failure, is_integral
from ...ops._registry import op


def _cross_map_lrn2d_fwd(xp, x, size, alpha, beta, k):
    if is_integral(x.dtype):        # torch's in-place steps: integer results of float math
        raise cast_failure(np.dtype(np.int64) if x.dtype == np.bool_ else
                           np.dtype(get_default_dtype().np), x.dtype)
    c = x.shape[1]
    pre_pad = int((size - 1) / 2 + 1)
    csum = xp.cumsum(x * x, axis=1)
    ch = np.arange(c)
    # torch slides a sum over channels c - pre_pad + 1 .. c + pre_pad - 1, adding channel
    # c + pre_pad - 1 and dropping channel c - pre_pad only once c > pre_pad
    dropped = csum[:, np.maximum(ch - pre_pad, 0)] - csum[:, :1]
    dropped[:, ch - pre_pad < 1] = 0
    scale = csum[:, np.minimum(ch + pre_pad - 1, c - 1)] - dropped
    scale = scale * (alpha / size) + k
    out = (scale ** -beta * x).astype(x.dtype, copy=False)    # (bfloat16 ** float: float32)
    return out, (x, out, scale, size, alpha, beta)


def _cross_map_lrn2d_bwd(xp, g, x, out, scale, size, alpha, beta):
    n, c = x.shape[:2]
    shift = int(size - (size - 1) / 2)
    # channel c collects g * out / scale of channels c - shift .. c + size - 1 - shift
    padded = xp.zeros((n, c + size) + x.shape[2:], x.dtype)
    padded[:, 1 + shift:1 + shift + c] = g * out / scale
    csum = xp.cumsum(padded, axis=1)
    accum = csum[:, size:size + c] - csum[:, :c]
    return (scale ** -beta * g - (2 * alpha * beta / size) * x * accum,)


cross_map_lrn2d = op("cross_map_lrn2d", saves="both", node="CrossMapLRN2dBackward")(
    _cross_map_lrn2d_fwd).vjp(_cross_map_lrn2d_bwd)
