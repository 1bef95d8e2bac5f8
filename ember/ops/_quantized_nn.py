"""torch.ops.quantized's linear kernels (CPU, fbgemm's arithmetic, as torch 2.13's x86 engine
runs them): the packed weight, the dynamic linear (float in, float out) and the static one
(quantized in, quantized out).

fbgemm multiplies the uint8 activation by the int8 weight with int32 accumulation; here the
product is taken in float64, exact for any K below 2**53 / (255 * 128) (fbgemm's int32 wraps past
K = 65793, far beyond a real layer). Its output stages, reproduced bit for bit:
- dynamic (ReQuantizeForFloat): raw = acc - a_zp * colsum(w - w_zp) - rowsum(a) * w_zp,
  y = raw * float32(a_scale * w_scale) + bias as one fused multiply-add (no bias: a product);
- static (ReQuantizeOutput, float bias): y = rint((raw + bias / (a_scale * w_scale)) *
  (a_scale * w_scale / out_scale)) + out_zp in float32, rounded to nearest even, clamped to
  0..255 (relu: to out_zp and up).
Without AVX512-VNNI, fbgemm multiplies with vpmaddubsw, which adds each pair of products
(K index 2j and 2j + 1) in int16 with saturation: followed here (_saturation) on such machines;
VNNI's instructions add in int32."""
import math

import numpy as np

from .._cpu import AVX512_VNNI
from .._dtype import quint8
from ..backends.quantized import _STATE
from .._quantized import _choose_qparams, _quantize_tensor_arr, fma_float32, quantize_val


_LINEAR_PACKED = "__torch__.torch.classes.quantized.LinearPackedParamsBase"


class LinearPacked:
    """What quantized::linear_prepack holds: the weight and bias as given (linear_unpack hands
    them back) and the weight's integers, column sums and scales laid out for the product."""
    def __init__(self, weight, bias):
        self.weight, self.bias = weight, bias
        a = weight.arr
        q = a.q
        ints = a.ints.astype(np.int64)
        if q.axis is None:
            self.w_zp = np.int64(q.zero_point)
            self.w_scale = np.float32(q.scale)
        else:
            self.w_zp = q.zero_points.astype(np.int64)
            self.w_scale = q.scales.astype(np.float32)
        self.w = ints.T.astype(np.float64)                  # (K, N)
        self.colsum = ints.sum(1) - self.w_zp * ints.shape[1]

    def unpack(self):
        return self.weight, self.bias

    def __getstate__(self):         # (as torch's LinearPackedParamsBase pickles)
        return (self.weight, self.bias), _LINEAR_PACKED

    def __setstate__(self, state):
        self.__init__(*state[0])

    def raw(self, a_ints, a_zp):
        """fbgemm's int32 result less the zero points' terms, as float32 (N last)."""
        acc = (a_ints.astype(np.float64) @ self.w).astype(np.int64)
        if not AVX512_VNNI:
            acc += _saturation(a_ints.reshape(-1, self.w.shape[0]), self.w).reshape(acc.shape)
        acc -= a_zp * self.colsum
        if np.any(self.w_zp):
            acc -= a_ints.sum(-1, dtype=np.int64)[..., None] * self.w_zp
        return acc.astype(np.float32)


def _saturation(a, w):
    """What fbgemm's int16 pair sums lose to saturation (callers skip it on VNNI machines): for
    uint8 rows a (M, K) and int8 columns w (K, N), the sum over pairs of clip(p) - p,
    p = a[:, 2j:2j+2] @ w[2j:2j+2] (int64, (M, N)). Pairs that cannot reach the int16 range
    are skipped."""
    k = a.shape[1]
    out = np.zeros((a.shape[0], w.shape[1]), np.int64)
    if not a.size or not w.size:
        return out
    wi = np.abs(w.astype(np.int64))
    wi = np.concatenate([wi, np.zeros((k % 2,) + wi.shape[1:], np.int64)])
    reach = int(a.max()) * (wi[0::2] + wi[1::2]).max(axis=1)         # per pair
    for j in np.nonzero(reach > 32767)[0]:
        p = a[:, 2 * j:2 * j + 2].astype(np.int64) @ w[2 * j:2 * j + 2].astype(np.int64)
        out += np.clip(p, -32768, 32767) - p
    return out


def linear_dynamic(x, packed, reduce_range=False, relu=False):
    """quantized::linear_dynamic: x (float32, ..., K) quantized to quint8 with parameters
    chosen from its min and max (0..127 with reduce_range), multiplied by the packed int8
    weight; float32 (..., N)."""
    from .._tensor import _new
    xs = np.asarray(x.be.to_host(x.arr), np.float32)
    if not xs.size:
        lo = hi = np.float32(0)
    else:
        lo, hi = np.float32(xs.min()), np.float32(xs.max())
    scale, zp = _choose_qparams(lo, hi, 0, 127 if reduce_range else 255)
    a = _quantize_tensor_arr(xs, quint8, scale, zp).ints
    mult = np.float32(scale) * packed.w_scale
    bias = _bias_of(packed)
    raw = packed.raw(a, zp)
    y = raw * mult if bias is None else fma_float32(raw, mult, bias)
    if relu:
        y = np.maximum(y, np.float32(0))
    return _new(np.asarray(y, np.float32), x.be)


def linear(x, packed, scale, zero_point, relu=False):
    """quantized::linear (and linear_relu): quint8 x (..., K) times the packed weight,
    requantized to quint8 with the output's scale and zero point."""
    from .._quantized import QParams, _qtensor, make_qarray
    a = x.arr
    q = a.q
    act_w = np.float32(q.scale) * packed.w_scale
    mult = act_w / np.float32(scale)
    raw = packed.raw(a.ints, q.zero_point)
    bias = _bias_of(packed)
    if bias is not None:
        raw += bias / act_w
    y = np.rint(raw * mult).astype(np.int64) + zero_point
    if relu:
        y = np.maximum(y, zero_point)
    ints = np.clip(y, 0, 255).astype(np.uint8)
    return _qtensor(make_qarray(ints, QParams(quint8, float(scale), int(zero_point))), x.be)


class ConvPacked:
    """What quantized::conv{2,3}d_prepack (and conv_transpose{2,3}d_prepack, given an
    output_padding) holds: weight and bias as given (unpack), the convolution's geometry, and
    whether torch's x86 engine packs it for oneDNN (else fbgemm)."""
    __slots__ = ("weight", "bias", "stride", "padding", "dilation", "groups", "output_padding",
                 "onednn")

    def __init__(self, weight, bias, stride, padding, dilation, groups, output_padding=None):
        self.weight, self.bias = weight, bias
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding
        q = weight.arr.q
        if output_padding is not None and q.axis is not None:
            raise RuntimeError("Per Channel Quantization is currently disabled for transposed "
                               "conv")
        self.onednn = _STATE["engine"] == "x86" and AVX512_VNNI and groups <= 100 and not np.any(
            q.zero_point if q.axis is None else q.zero_points) and not any(output_padding or ())

    def unpack(self):
        return self.weight, self.bias


def conv(x, packed, scale, zero_point, relu=False):
    """quantized::conv2d and conv3d (and their relu; conv_transpose2d and 3d): quint8 x (N, C,
    *spatial), padded with its zero point, convolved with the int8 weight and requantized to
    quint8, channels last as torch's output. Packed under torch's x86 engine, symmetric
    weights (groups <= 100, on AVX512-VNNI machines) run through oneDNN, which is handed each
    scale as its float32 inverse (ideep's convention) and inverts it back: y = rint(((acc *
    s_x) * s_w + bias) * float32(1 / out_scale) + out_zp) in float32, where s = float32(1 /
    float32(1 / scale)) in double; others through fbgemm, as linear."""
    from .._quantized import QParams, _qtensor, make_qarray
    from .._tensor import _new
    from ..nn import functional as F
    a, w = x.arr, packed.weight.arr
    qa, qw = a.q, w.q
    if qw.axis is None:
        w_zp, w_scale = np.float64(qw.zero_point), np.float64(qw.scale)
    else:
        w_zp = qw.zero_points.astype(np.float64).reshape((-1,) + (1,) * (w.ndim - 1))
        w_scale = qw.scales
    ws = w.ints - w_zp
    if packed.output_padding is not None and packed.onednn:
        ws = _onednn_deconv_weight(ws, packed.groups)
    xs, ws = _new(a.ints - np.float64(qa.zero_point), x.be), _new(ws, x.be)
    if packed.output_padding is None:
        acc = (F.conv1d, F.conv2d, F.conv3d)[w.ndim - 3](
            xs, ws, None, packed.stride, packed.padding, packed.dilation, packed.groups)
    else:
        acc = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[w.ndim - 3](
            xs, ws, None, packed.stride, packed.padding, packed.output_padding, packed.groups,
            packed.dilation)
    acc = acc.arr
    if not packed.onednn and not AVX512_VNNI and packed.output_padding is None:
        acc = acc + _conv_saturation(a.ints, qa.zero_point, w.ints, packed)
    acc = np.moveaxis(acc.astype(np.float32), 1, -1)       # channels last
    bias = _bias_of(packed)
    if packed.onednn:
        y = acc * _ideep_scale(qa.scale) * _ideep_scale(w_scale)
        if bias is not None:
            y += bias
        y = np.rint(y * np.float32(1.0 / scale) + np.float32(zero_point))
    else:
        act_w = np.float32(qa.scale) * w_scale.astype(np.float32)
        if bias is not None:
            acc += bias / act_w
        y = np.rint(acc * (act_w / np.float32(scale))) + zero_point
    if relu:
        y = np.maximum(y, zero_point)
    ints = np.moveaxis(np.ascontiguousarray(np.clip(y, 0, 255), np.uint8), -1, 1)
    return _qtensor(make_qarray(ints, QParams(quint8, float(scale), int(zero_point))), x.be)


def _conv_saturation(a, a_zp, w, packed):
    """_saturation for fbgemm's im2col convolution: each group's columns ordered (kernel
    position, channel), the input padded with its zero point; (N, O, *out)."""
    nsp, groups = w.ndim - 2, packed.groups
    stride, dilation = (tuple(v) * (1 if len(v) == nsp else nsp) for v in (
        np.atleast_1d(packed.stride), np.atleast_1d(packed.dilation)))
    pad = tuple(np.atleast_1d(packed.padding)) * (1 if np.size(packed.padding) == nsp else nsp)
    ap = np.pad(a, [(0, 0), (0, 0)] + [(int(p), int(p)) for p in pad], constant_values=a_zp)
    ks = w.shape[2:]
    out = tuple((ap.shape[2 + i] - dilation[i] * (ks[i] - 1) - 1) // stride[i] + 1
                for i in range(nsp))
    st = ap.strides
    view = np.lib.stride_tricks.as_strided(
        ap, ap.shape[:2] + out + ks, st[:2] + tuple(st[2 + i] * stride[i] for i in range(nsp))
        + tuple(st[2 + i] * dilation[i] for i in range(nsp)), writeable=False)
    n, c, o = a.shape[0], a.shape[1], w.shape[0]
    cg, og = c // groups, o // groups
    res = np.zeros((n, o) + out, np.int64)
    for g in range(groups):
        cols = np.moveaxis(view[:, g * cg:(g + 1) * cg], 1, -1).reshape(-1, math.prod(ks) * cg)
        wg = np.moveaxis(w[g * og:(g + 1) * og], 1, -1).reshape(og, -1).T
        delta = _saturation(cols, wg).reshape((n,) + out + (og,))
        res[:, g * og:(g + 1) * og] = np.moveaxis(delta, -1, 1)
    return res


def _onednn_deconv_weight(w, groups):
    """The weight torch's x86 engine hands oneDNN for a transposed convolution, as oneDNN uses
    it: each group's (in, out) grid of kernels read through swapped dims, i.e.
    w.reshape(out, in).T.reshape(out, in).T (measured: torch 2.13 computes with these kernels,
    whose grids differ from the weight's unless a group has one input or one output channel;
    fbgemm's path uses the weight as it is)."""
    cin, out, k = w.shape[0] // groups, w.shape[1], w.shape[2:]
    grids = w.reshape((groups, cin, out) + k)
    grids = grids.reshape((groups, out, cin) + k).swapaxes(1, 2)
    grids = grids.reshape((groups, out, cin) + k).swapaxes(1, 2)
    return grids.reshape(w.shape)


def _ideep_scale(scale):
    """A scale as oneDNN gets it from torch: through its float32 inverse, inverted in double."""
    inverse = np.float32(1.0 / np.asarray(scale, np.float64))
    return np.float32(1.0 / inverse.astype(np.float64))


def _bias_of(packed):
    b = packed.bias
    return None if b is None else np.asarray(b.be.to_host(b.arr), np.float32)


def add(x, y, scale, zero_point, relu=False):
    """quantized::add (and add_relu): both dequantized, added in float32, quantized with the
    output's parameters. torch's kernel vectorizes: in each thread's range, whole vectors (64
    bytes) dequantize q * scale - scale * zp as a fused multiply-add and quantize as
    rint(v * float32(1 / scale)) + zp; the elements left over go through its scalar functions,
    float32((q - zp) * scale) in double and quantize_val (_lanes)."""
    from .._quantized import QParams, _qtensor, make_qarray
    qx, qy = x.arr.q, y.arr.q
    if qx.dtype is not qy.dtype:
        raise RuntimeError("Expected self.scalar_type() == other.scalar_type() to be true, but "
                           "got false.  (Could this error message be improved?  If so, please "
                           "report an enhancement request to PyTorch.)")
    qd = qx.dtype
    a, b = np.broadcast_arrays(x.arr.ints, y.arr.ints)
    vector = _lanes(a, 64 // qd.itemsize)
    c = _dequantize_lanes(a, qx, vector) + _dequantize_lanes(b, qy, vector)
    if relu:
        c = np.maximum(c, np.float32(0))
    v = np.where(vector, np.clip(np.rint(c * np.float32(1.0 / scale)) + zero_point, qd.lo,
                                 qd.hi), quantize_val(c, scale, zero_point, qd))
    ints = v.astype(qd.storage)
    return _qtensor(make_qarray(ints, QParams(qd, float(scale), int(zero_point))), x.be)


def _dequantize_lanes(ints, q, vector):
    s = np.float32(q.scale)
    f = ints.astype(np.float32)
    return np.where(vector, fma_float32(s, f, s * np.float32(-q.zero_point)),
                    ((f - np.float32(q.zero_point)) * q.scale).astype(np.float32))


def _lanes(a, step):
    """Where torch's vectorized CPU loops reach, laid out as `a`: TensorIterator splits the
    elements (in memory order) among intra-op threads past 32768 of them, and each range runs
    whole steps of `step` elements through the vector function, the rest through the scalar
    one."""
    from .._threads import intra_op_threads
    n = a.size
    threads = min(intra_op_threads(), -(-n // 32768)) if n >= 32768 else 1
    chunk = -(-n // threads) if n else 1
    flat = np.zeros(n, bool)
    for start in range(0, n, chunk):
        flat[start:start + (min(n, start + chunk) - start) // step * step] = True
    out = np.empty_like(a, dtype=bool)
    out.ravel(order="K")[...] = flat
    return out


def requantized(a, f, scale, zero_point):
    """f (float32 in, float32 out) of QArray a's dequantized values, quantized with scale and
    zero_point through torch's vector and scalar lanes (as add's): the unary quantized
    kernels that dequantize, compute and quantize. Per tensor only; a QArray."""
    from .._quantized import QParams, _PER_TENSOR_ONLY, make_qarray
    q = a.q
    if q.axis is not None:
        raise RuntimeError(_PER_TENSOR_ONLY)
    qd, ints = q.dtype, a.ints
    vector = _lanes(ints, 64 // qd.itemsize)
    y = f(_dequantize_lanes(ints, q, vector))
    v = np.where(vector, np.clip(np.rint(y * np.float32(1.0 / scale)).astype(np.float64) +
                                 zero_point, qd.lo, qd.hi), quantize_val(y, scale, zero_point, qd))
    return make_qarray(v.astype(qd.storage), QParams(qd, float(scale), int(zero_point)))


_F32 = np.float32


def hardswish(a, scale, zero_point):
    """quantized::hardswish: x * min(max(x + 3, 0), 6) / 6 in float32."""
    return requantized(a, lambda d: d * np.minimum(np.maximum(d + _F32(3), _F32(0)), _F32(6)) /
                       _F32(6), scale, zero_point)


def leaky_relu(a, negative_slope, scale, zero_point):
    """quantized::leaky_relu (and F.leaky_relu of a quantized tensor, with its own
    parameters): x times 1 or negative_slope in float32."""
    return requantized(a, lambda d: np.where(d > 0, d, d * _F32(negative_slope)), scale,
                       zero_point)


def elu(a, scale, zero_point, alpha, input_scale=1.0):
    """quantized::elu: x where x >= 0, else (exp(x * input_scale) - 1) * alpha, in float32
    (quantized::celu: input_scale = 1 / alpha); contiguous (as torch allocates it, whatever the
    input's layout)."""
    from .._quantized import make_qarray

    def f(d):
        with np.errstate(over="ignore"):
            return np.where(d >= 0, d, (np.exp(d * _F32(input_scale)) - _F32(1)) *
                            _F32(alpha))
    out = requantized(a, f, scale, zero_point)
    return make_qarray(np.ascontiguousarray(out.ints), out.q)


# ---- batch norm and max pooling (torch.quantized_batch_norm, quantized_max_pool1d/2d) --------
def batch_norm(x, weight, bias, mean, var, eps, scale, zero_point, relu=False):
    """quantized::batch_norm (and batch_norm_relu) of a (N, C, *) per-tensor quantized x: per
    channel alpha = float32(1 / sqrt(var + eps)) * weight * (in_scale / out_scale) and beta =
    (bias - mean * inv_sigma * weight) / out_scale (torch's compute_fused_params); each
    position's channels, in whole vectors of 64 bytes, as rint(fma(alpha, q - in_zp, beta)) +
    out_zp, the rest as lrintf(alpha * (q - in_zp) + beta) + out_zp. 2-d and 3-d inputs come back
    contiguous, 4-d and 5-d channels last."""
    from .._quantized import QArray, _PER_TENSOR_ONLY, _qtensor, make_qarray, QParams
    from .._sparse_coo import not_implemented
    a = x.arr
    if type(a) is not QArray:
        raise not_implemented("quantized_batch_norm", kind="")
    if a.q.axis is not None:
        raise RuntimeError(_PER_TENSOR_ONLY)
    nd = a.ndim
    if nd not in (2, 3, 4, 5):
        raise RuntimeError("quantized::batch_norm only support 2d, 3d, 4d or 5d inputs.")
    if weight is None:
        raise RuntimeError("Weight must be provided")
    if bias is None:
        raise RuntimeError("Bias must be provided")
    q, qd = a.q, a.q.dtype
    if not a.size:
        return _qtensor(make_qarray(a.ints.copy(), q), x.be)
    c = a.shape[1]
    w, b, m, v = (np.asarray(t.be.to_host(t.arr), np.float32).reshape(-1)
                  for t in (weight, bias, mean, var))
    if w.size != c or b.size != c:
        raise RuntimeError("Expect weight size to match C")
    if m.size != c:
        raise RuntimeError("Mean size must match channel dimension")
    if v.size != c:
        raise RuntimeError("Variance size must match channel dimension")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sigma = np.float32(1.0 / np.sqrt(v + np.float32(eps)).astype(np.float64))
        alpha = (inv_sigma * w * (float(q.scale) / scale)).astype(np.float32)
        beta = ((b - m * inv_sigma * w) / np.float64(scale)).astype(np.float32)
    d = np.ascontiguousarray(np.moveaxis(a.ints, 1, -1), np.int64) - q.zero_point   # NHWC
    lanes = 64 // qd.itemsize
    vector = np.arange(c) < c // lanes * lanes
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.where(vector, fma_float32(alpha, d.astype(np.float32), beta),
                     alpha * d.astype(np.float32) + beta)
    y = np.rint(y.astype(np.float64)) + zero_point
    if relu:
        y = np.maximum(y, zero_point)
    ints = np.clip(y, qd.lo, qd.hi).astype(qd.storage)
    ints = np.moveaxis(ints, -1, 1)
    if nd < 4:
        ints = np.ascontiguousarray(ints)
    return _qtensor(make_qarray(ints, QParams(qd, float(scale), int(zero_point))), x.be)


def quantized_batch_norm(input, weight, bias, mean, var, eps, output_scale, output_zero_point):
    """torch.quantized_batch_norm: batch norm of a quantized (N, C, *) tensor with the running
    statistics given, quantized with output_scale and output_zero_point (batch_norm)."""
    return batch_norm(input, weight, bias, mean, var, eps, output_scale, output_zero_point)


def quantized_max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """torch.quantized_max_pool2d: max pooling of a quantized (N, C, H, W) or (C, H, W) tensor
    (the integers pooled; stride empty: the kernel size), with the quantized kernel's checks."""
    from ..nn.functional import max_pool2d
    from ..nn._pool_ops import pool_out_size
    from ..nn.modules.utils import _pair
    k, s, p, d = (_pair(v) for v in (kernel_size, _or_kernel(stride, kernel_size), padding,
                                     dilation))
    if min(k) <= 0:
        raise RuntimeError("kernel_size should be greater than zero.")
    if min(s) <= 0:
        raise RuntimeError("strides should be greater than zero.")
    if min(d) < 1:
        raise RuntimeError("Expected dilation >= 1")
    if input.ndim not in (3, 4):
        raise RuntimeError("Expecting the input tensor of rank 3 or 4.")
    if k[0] // 2 < p[0] or k[1] // 2 < p[1]:
        raise RuntimeError("padding should be smaller than half of kernel_size.")
    c, h, w = input.shape[-3:]
    oh, ow = (pool_out_size(n, *a, ceil_mode) for n, a in zip((h, w), zip(k, s, p, d)))
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small.")
    return max_pool2d(input, k, s, p, d, ceil_mode)


def quantized_max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """torch.quantized_max_pool1d: quantized_max_pool2d over (N, C, 1, L) or (C, 1, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"max_pool1d() Expected 2D or 3D input tensor, but got "
                           f"{list(input.shape)}")
    one = [_one(v) for v in (kernel_size, _or_kernel(stride, kernel_size), padding, dilation)]
    dim = input.ndim - 1
    return quantized_max_pool2d(input.unsqueeze(dim), [1, one[0]], [1, one[1]], [0, one[2]],
                                [1, one[3]], ceil_mode).squeeze(dim)


def _or_kernel(stride, kernel_size):
    """An empty stride list means the kernel size."""
    return kernel_size if isinstance(stride, (tuple, list)) and not stride else stride


def _one(v):
    return v[0] if isinstance(v, (tuple, list)) else v


def adaptive_avg_pool(x, sizes):
    """adaptive_avg_pool2d / 3d of a quantized (N, C, *S) or (C, *S) x (the spatial dims last)
    to `sizes`, as torch's quantized kernels: contiguous inputs rint(sum * r) of each window's
    integers, r = float32(1 / kD) / kH / kW in float32 steps; channels-last ones (output
    channels last) rint(acc * inv + zero_point) with acc = sum - zero_point * size and inv =
    float32(1 / float32(1 / float32(1 / size))), clamped: 8-bit channels in whole vectors of
    16 as one fused multiply-add, the others in two float32 steps."""
    from .._memory_format import _suggests_cl
    from .._quantized import _PER_TENSOR_ONLY, _qtensor, make_qarray
    a = x.arr
    q = a.q
    if q.axis is not None:
        raise RuntimeError(_PER_TENSOR_ONLY)
    nsp = len(sizes)
    total = a.ints.astype(np.int64)
    widths = []
    for d, o in zip(range(a.ndim - nsp, a.ndim), sizes):
        n = a.shape[d]
        i = np.arange(o)
        start = np.floor((i * n).astype(np.float32) / np.float32(o)).astype(np.int64)
        end = np.ceil(((i + 1) * n).astype(np.float32) / np.float32(o)).astype(np.int64)
        cs = np.concatenate([np.zeros_like(np.take(total, [0], d)), np.cumsum(total, d)], d)
        total = np.take(cs, end, d) - np.take(cs, start, d)
        shape = [1] * a.ndim
        shape[d] = o
        widths.append((end - start).reshape(shape))
    qd, zp = q.dtype, q.zero_point
    nhwc = _suggests_cl(a) if a.ndim == nsp + 2 else False
    if not nhwc:
        r = np.float32(1.0) if nsp == 2 else (1.0 / widths[0]).astype(np.float32)
        for w in widths[nsp - 2:]:
            r = (r / w.astype(np.float32)).astype(np.float32)
        ints = np.rint(total.astype(np.float32) * r).astype(qd.storage)
        return _qtensor(make_qarray(np.ascontiguousarray(ints), q), x.be)
    size = widths[0]
    for w in widths[1:]:
        size = size * w
    inv = np.float32(1) / (np.float32(1) / (1.0 / size).astype(np.float32))
    acc = (total - zp * size).astype(np.float32)
    y = np.rint(acc * inv + np.float32(zp))
    if qd.itemsize == 1:
        c = a.shape[1]
        vector = (np.arange(c) < c // 16 * 16).reshape((-1,) + (1,) * nsp)
        y = np.where(vector, np.rint(fma_float32(acc, inv, zp)), y)
    ints = np.clip(y, qd.lo, qd.hi).astype(qd.storage)
    ints = np.moveaxis(np.ascontiguousarray(np.moveaxis(ints, 1, -1)), -1, 1)
    return _qtensor(make_qarray(ints, q), x.be)


def interpolate(x, mode, sizes, scales, align_corners):
    """F.interpolate of a quantized (N, C, *S) x, as torch's quantized upsample kernels: nearest
    and nearest-exact (2-d and 3-d) pick the integers; bilinear (contiguous inputs) computes h0
    * (w0 * q00 + w1 * q01) + h1 * (w0 * q10 + w1 * q11) - zero_point in float32 of the four
    integers and rounds it with the zero point added first. The output keeps x's parameters
    and follows its layout."""
    from .._memory_format import _suggests_cl
    from .._quantized import _PER_TENSOR_ONLY, _qtensor, make_qarray
    from ..nn._resample_ops import _check_interp_dtype, _nearest_taps, _scale
    nearest = mode in ("nearest", "nearest-exact") and x.ndim in (4, 5)
    if not nearest and not (mode == "bilinear" and x.ndim == 4):
        _check_interp_dtype(x, mode, sizes)
    a = x.arr
    q = a.q
    if q.axis is not None:
        raise RuntimeError(_PER_TENSOR_ONLY)
    qd, zp = q.dtype, q.zero_point
    cl = _suggests_cl(a)
    if cl and not nearest:
        raise NotImplementedError("ember: quantized bilinear interpolation of a channels-last "
                                  "tensor is not supported (torch's vectorized kernel)")
    if nearest:
        ints = a.ints
        for d, (n, o, s) in enumerate(zip(a.shape[2:], sizes, scales), 2):
            ints = np.take(ints, _nearest_taps(n, o, s, mode == "nearest-exact").idx[:, 0], d)
    else:
        f32 = np.float32
        axes = []
        for n, o, s in zip(a.shape[2:], sizes, scales):
            r = _scale(n, o, align_corners, s, f32)
            i = np.arange(o).astype(f32)
            src = r * i if align_corners else np.maximum(r * (i + f32(0.5)) - f32(0.5), f32(0))
            src = src.astype(f32)
            i0 = src.astype(np.int64)
            lam1 = (src - i0.astype(f32)).astype(f32)
            axes.append((i0, i0 + (i0 < n - 1), f32(1) - lam1, lam1))
        (h0i, h1i, h0, h1), (w0i, w1i, w0, w1) = axes
        v = a.ints.astype(f32)
        rows0, rows1 = v[:, :, h0i], v[:, :, h1i]
        h0, h1 = h0[:, None], h1[:, None]
        y = h0 * (w0 * rows0[..., w0i] + w1 * rows0[..., w1i]) + \
            h1 * (w0 * rows1[..., w0i] + w1 * rows1[..., w1i]) - f32(zp)
        ints = quantize_val(y, 1.0, zp, qd).astype(qd.storage)
    if cl:
        ints = np.moveaxis(np.ascontiguousarray(np.moveaxis(ints, 1, -1)), -1, 1)
    return _qtensor(make_qarray(ints if cl else np.ascontiguousarray(ints), q), x.be)
