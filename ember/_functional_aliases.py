"""torch's top-level nn functions with their own (ATen) signatures: `torch.batch_norm`,
`torch.embedding(weight, indices, ...)`, `torch.dropout(input, p, train)`, ... .

Each is a thin alias onto ember.nn.functional (reordered arguments, integer-coded reductions and
modes, tuple returns); none carries its own kernel.  ember/__init__.py reaches them lazily through
NAMES, so importing this module must stay cheap: ember.nn is imported inside the functions only."""
import sys

NAMES = (
    "batch_norm layer_norm group_norm instance_norm rms_norm "
    "native_layer_norm native_batch_norm native_group_norm native_dropout "
    "dropout dropout_ feature_dropout feature_dropout_ alpha_dropout alpha_dropout_ "
    "feature_alpha_dropout feature_alpha_dropout_ "
    "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
    "embedding embedding_bag "
    "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices avg_pool1d "
    "adaptive_avg_pool1d adaptive_max_pool1d "
    "pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle "
    "pdist cosine_similarity pairwise_distance "
    "prelu rrelu rrelu_ selu selu_ celu celu_ relu_ hardshrink threshold threshold_ bilinear "
    "kl_div binary_cross_entropy_with_logits hinge_embedding_loss margin_ranking_loss "
    "triplet_margin_loss cosine_embedding_loss poisson_nll_loss ctc_loss "
    "constant_pad_nd affine_grid_generator grid_sampler grid_sampler_2d grid_sampler_3d "
    "softmax log_softmax convolution norm_except_dim embedding_renorm_ "
    "rnn_tanh_cell rnn_relu_cell lstm_cell gru_cell lstm gru rnn_tanh rnn_relu"
).split()

_REDUCTIONS = ("none", "mean", "sum")


def _F():
    from .nn import functional
    return functional


def _reduction(r):
    if isinstance(r, str):          # the enum's names are accepted by torch's python layer too
        return r
    if r not in (0, 1, 2):
        raise ValueError(f"{r} is not a valid value for reduction")
    return _REDUCTIONS[r]


def _stride(stride):
    return None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else stride


# ---- normalization -------------------------------------------------------------------------
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled):
    from .nn._norm_ops import batch_norm_kernel
    return batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum,
                             eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled):
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                              momentum, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _F().rms_norm(input, normalized_shape, weight, eps)


def _stats(input, dims, eps):
    """(mean, 1/sqrt(biased var + eps)) over dims, kept, without autograd (torch's saved stats)."""
    from .autograd.grad_mode import no_grad
    with no_grad():
        x = input.detach()
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        return mean, (var + eps).rsqrt()


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    out = _F().layer_norm(input, normalized_shape, weight, bias, eps)
    k = len(normalized_shape) if isinstance(normalized_shape, (list, tuple)) else 1
    dims = tuple(range(input.ndim - k, input.ndim))
    mean, rstd = _stats(input, dims, eps)
    return out, mean, rstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    import ember
    from ._tensor import _new
    from .nn._norm_ops import batch_norm_kernel, batch_norm_stats
    out = batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum,
                            eps)
    if not training:
        empty = ember.empty(0, dtype=input.dtype)
        return out, empty, empty.clone()
    dt = input.arr.dtype
    return (out,) + tuple(_new(a.astype(dt, copy=False), input.be)
                          for a in batch_norm_stats(input, eps))


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    from .nn._norm_ops import native_group_norm
    return native_group_norm(input, weight, bias, N, C, HxW, group, eps)


# ---- dropout -------------------------------------------------------------------------------
def dropout(input, p, train):
    return _F().dropout(input, p, train)


def dropout_(input, p, train):
    return _F().dropout(input, p, train, inplace=True)


def _feature_dropout(input, p, train, inplace):
    F = _F()
    if train and p != 0 and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return F._dropout(input, p, train, inplace, shape)


def feature_dropout(input, p, train):
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input, p, train):
    return _feature_dropout(input, p, train, True)


def alpha_dropout(input, p, train):
    return _F().alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):
    return _F().alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input, p, train):
    return _F().feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train):
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


def native_dropout(input, p, train):
    """(output, keep mask as bool); train=None counts as training, as in torch."""
    import ember
    if train is not None and not train:
        return input.clone(), ember.ones(input.shape, dtype=ember.bool)
    _F()._check_p(p)
    mask = ember.rand(input.shape, dtype=input.dtype) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return input * mask.to(input.dtype) * scale, mask


# ---- convolution ---------------------------------------------------------------------------
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


# ---- embedding -----------------------------------------------------------------------------
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    # ATen's padding_idx is already wrapped: a negative one means none.
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return _F().embedding(indices, weight, pad, None, 2.0, scale_grad_by_freq, sparse)


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """(output, offset2bag, bag_size, max_indices), as ATen's CPU kernel returns them."""
    import numpy as np
    import ember
    if isinstance(mode, str):
        mode = ("sum", "mean", "max").index(mode)
    F = _F()
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    out = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq,
                          ("sum", "mean", "max")[mode], sparse, per_sample_weights,
                          include_last_offset, pad)
    idx = np.asarray(indices.detach().cpu().numpy()).reshape(-1).astype(np.int64)
    off = np.asarray(offsets.detach().cpu().numpy()).reshape(-1).astype(np.int64)
    n_bags = out.shape[0]
    starts = off[:n_bags]
    ends = np.append(off[1:], len(idx))[:n_bags] if not include_last_offset else off[1:n_bags + 1]
    bag_of = np.zeros(len(idx), np.int64)
    for b, (s, e) in enumerate(zip(starts, ends)):
        bag_of[s:e] = b
    keep = idx != pad if pad is not None else np.ones(len(idx), bool)
    sizes = np.array([int(keep[s:e].sum()) for s, e in zip(starts, ends)], np.int64)

    def t(a):
        return ember.tensor(np.asarray(a, np.int64), dtype=ember.int64)
    if mode == 0:       # CPU sum fills offset2bag only with a padding_idx; sizes per offset
        return (out, t(bag_of if pad is not None else np.zeros(0)), t(np.zeros(len(off))),
                t(np.zeros(len(off))))
    if mode == 1:
        return out, t(bag_of), t(sizes), t(sizes)
    w = weight.detach().cpu().numpy()
    maxi = np.zeros((n_bags, w.shape[1]), np.int64)      # an empty bag's entries stay 0
    for b, (s, e) in enumerate(zip(starts, ends)):
        rows = idx[s:e][keep[s:e]]
        if len(rows):
            maxi[b] = rows[np.argmax(w[rows], axis=0)]
    return out, t(bag_of), t(sizes), t(maxi)


# ---- pooling -------------------------------------------------------------------------------
def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    return tuple(_F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation,
                                 ceil_mode, return_indices=True))


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):
    return _F().avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                           count_include_pad)


def adaptive_avg_pool1d(input, output_size):
    return _F().adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):
    return tuple(_F().adaptive_max_pool1d(input, output_size, return_indices=True))


# ---- reshuffles ----------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):
    return _F().pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):
    return _F().pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups):
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle


# ---- distances -----------------------------------------------------------------------------
def pdist(input, p=2.0):
    return _F().pdist(input, p)


def cosine_similarity(x1, x2, dim=1, eps=1e-08):
    return _F().cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-06, keepdim=False):
    return _F().pairwise_distance(x1, x2, p, eps, keepdim)


# ---- activations ---------------------------------------------------------------------------
def prelu(input, weight):
    return _F().prelu(input, weight)


def rrelu(input, lower=0.125, upper=1.0 / 3, training=False, generator=None):
    return _F().rrelu(input, lower, upper, training, _generator=generator)


def rrelu_(input, lower=0.125, upper=1.0 / 3, training=False, generator=None):
    return _F().rrelu(input, lower, upper, training, inplace=True, _generator=generator)


def selu(input):
    return _F().selu(input)


def selu_(input):
    return _F().selu_(input)


def celu(input, alpha=1.0):
    return _F().celu(input, alpha)


def celu_(input, alpha=1.0):
    return _F().celu_(input, alpha)


def relu_(input):
    return _F().relu_(input)


def hardshrink(input, lambd=0.5):
    return _F().hardshrink(input, lambd)


def threshold(input, threshold, value):
    return _F().threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return _F().threshold(input, threshold, value, inplace=True)


def bilinear(input1, input2, weight, bias=None):
    return _F().bilinear(input1, input2, weight, bias)


# ---- losses (reduction as ATen's int: 0 none, 1 mean, 2 sum; torch's python binding
# defaults it to 0, i.e. "none", though the schema says Mean) ---------------------------
def kl_div(input, target, reduction=0, *, log_target=False):
    return _F().kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _F().binary_cross_entropy_with_logits(input, target, weight,
                                                 reduction=_reduction(reduction),
                                                 pos_weight=pos_weight)


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    from .amp.autocast import fp32_function
    from .nn._functional_loss import margin_ranking
    return fp32_function("margin_ranking_loss", margin_ranking)(input1, input2, target, margin,
                                                               _reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False,
                        reduction=0):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F().cosine_embedding_loss(input1, input2, target, margin,
                                      reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                         _reduction(reduction), zero_infinity)


# ---- padding and sampling ------------------------------------------------------------------
def constant_pad_nd(input, pad, value=0):
    from numbers import Number
    from ._tensor import Tensor
    from .nn._resample_ops import pad_nd
    if not isinstance(value, (Number, Tensor)):
        raise TypeError(f"constant_pad_nd(): argument 'value' (position 3) must be Number, not "
                        f"{type(value).__name__}")
    return pad_nd(input, tuple(pad), "constant", value)


def affine_grid_generator(theta, size, align_corners):
    return _F().affine_grid(theta, list(size), align_corners=align_corners)


_INTERP = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    if interpolation_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): Unknown interpolation mode {interpolation_mode}")
    if padding_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): Unknown padding mode {padding_mode}")
    return _F().grid_sample(input, grid, _INTERP[interpolation_mode], _PADDING[padding_mode],
                            align_corners)


def _grid_sampler_nd(nd):
    def fn(input, grid, interpolation_mode, padding_mode, align_corners):
        if input.ndim != nd or grid.ndim != nd:
            raise RuntimeError(f"grid_sampler(): expected {nd}D input and grid with same number "
                               f"of dimensions, but got input with sizes {list(input.shape)} "
                               f"and grid with sizes {list(grid.shape)}")
        return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)
    fn.__name__ = fn.__qualname__ = f"grid_sampler_{nd - 2}d"
    return fn


grid_sampler_2d, grid_sampler_3d = _grid_sampler_nd(4), _grid_sampler_nd(5)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    """ATen's convolution: the conv (or, transposed, conv_transpose) of weight's dimension."""
    nd = weight.ndim - 2
    if transposed:
        return getattr(_F(), f"conv_transpose{nd}d")(input, weight, bias, stride, padding,
                                                     output_padding, groups, dilation)
    return getattr(_F(), f"conv{nd}d")(input, weight, bias, stride, padding, dilation, groups)


def norm_except_dim(v, pow=2, dim=0):
    from .nn.utils._weight_ops import norm_except_dim as f
    return f(v, pow, dim)


def embedding_renorm_(input, indices, max_norm, norm_type):
    _F()._embedding_renorm(input, indices, max_norm, norm_type)
    return input


# ---- the RNN cells as functions (ATen's composites, in their order of operations) ----------
def _cell_checks(input, w_ih, w_hh, hiddens):
    if input.size(1) != w_ih.size(1):
        raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected "
                           f"{w_ih.size(1)}")
    for label, hx in enumerate(hiddens):
        if input.size(0) != hx.size(0):
            raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{label} "
                               f"batch size {hx.size(0)}")
        if hx.size(1) != w_hh.size(1):
            raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got {hx.size(1)}, "
                               f"expected {w_hh.size(1)}")


def _gates(input, hx, w_ih, w_hh, b_ih, b_hh):
    F = _F()
    return F.linear(input, w_ih, b_ih), F.linear(hx, w_hh, b_hh)


def _cell_args(*args):
    from .amp.autocast import rnn_args
    return rnn_args(*args)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _cell_checks(input, w_ih, w_hh, (hx,))
    input, hx, w_ih, w_hh, b_ih, b_hh = _cell_args(input, hx, w_ih, w_hh, b_ih, b_hh)
    ig, hg = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (hg + ig).tanh()


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _cell_checks(input, w_ih, w_hh, (hx,))
    input, hx, w_ih, w_hh, b_ih, b_hh = _cell_args(input, hx, w_ih, w_hh, b_ih, b_hh)
    ig, hg = _gates(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (hg + ig).relu()


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    _cell_checks(input, w_ih, w_hh, hx)
    input, hx, w_ih, w_hh, b_ih, b_hh = _cell_args(input, tuple(hx), w_ih, w_hh, b_ih, b_hh)
    ig, hg = _gates(input, hx[0], w_ih, w_hh, b_ih, b_hh)
    i, f, g, o = (hg + ig).chunk(4, 1)
    cy = f.sigmoid() * hx[1] + i.sigmoid() * g.tanh()
    return o.sigmoid() * cy.tanh(), cy


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _cell_checks(input, w_ih, w_hh, (hx,))
    input, hx, w_ih, w_hh, b_ih, b_hh = _cell_args(input, hx, w_ih, w_hh, b_ih, b_hh)
    ig, hg = (t.chunk(3, 1) for t in _gates(input, hx, w_ih, w_hh, b_ih, b_hh))
    reset, update = (hg[0] + ig[0]).sigmoid(), (hg[1] + ig[1]).sigmoid()
    new = (ig[2] + hg[2] * reset).tanh()
    return (hx - new) * update + new


def _stacked_rnn(mode, input, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
                 bidirectional, batch_first):
    """torch.lstm / gru / rnn_tanh / rnn_relu: RNNBase.forward's layers with the weights given
    flat (per layer and direction: w_ih, w_hh, then b_ih, b_hh if has_biases, then w_hr for an
    LSTM whose hidden state is narrower than its cell state). A `batch_sizes` tensor makes
    `input` the data of a PackedSequence, and the output one too."""
    from .nn.modules.rnn import _autocast_dtype, run_layers
    from .nn.utils.rnn import PackedSequence, _index_arrays, _packed_to_padded
    from ._kernel_dtypes import tname
    from .nn._rnn_ops import rnn_pack, transpose_
    from .ops._apply import apply
    if mode == "LSTM":
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
        h0, c0 = hx
        proj = h0.shape[2] != c0.shape[2]
    else:
        h0, c0, proj = hx, None, False
    per = 2 + 2 * bool(has_biases) + proj
    if len(params) % per:
        raise RuntimeError("got an incorrect number of RNN parameters")
    dirs = 2 if bidirectional else 1
    if h0.shape[0] != num_layers * dirs:
        raise RuntimeError("Expected more hidden states in stacked_rnn")
    if len(params) // per != num_layers * dirs:
        raise RuntimeError("Expected more weights in stacked_rnn")
    layers = []
    for k in range(0, len(params), per):
        w = list(params[k:k + per])
        b = w[2:4] if has_biases else [None, None]
        layers.append((w[0], w[1], b[0], b[1], w[-1] if proj else None))
    bs = None
    if batch_sizes is not None:
        input, _ = _packed_to_padded(PackedSequence(input, batch_sizes))
        bs = batch_sizes.tolist()
    elif batch_first:
        input = input.transpose(0, 1)
    amp = _autocast_dtype(input)
    if amp is None and input.dtype != params[0].dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{tname(input.arr.dtype)} and {tname(params[0].arr.dtype)}")
    out, hn, cn = run_layers(mode, input, h0, c0, layers, num_layers, dirs, dropout, train, bs,
                             amp, stacklevel=None)
    if batch_sizes is not None:
        out = apply(rnn_pack, (out,), _index_arrays(bs))
    elif batch_first:       # torch's LSTM transposes a copy, RNN and GRU in place
        out = out.transpose(0, 1) if mode == "LSTM" else transpose_(out, 0, 1)
    return (out, hn, cn) if mode == "LSTM" else (out, hn)


def _rnn_function(name, mode):
    """The ATen function's two overloads: (input, hx, params, has_biases, num_layers, dropout,
    train, bidirectional, batch_first) and (data, batch_sizes, hx, params, has_biases,
    num_layers, dropout, train, bidirectional). The packed one is told apart, as torch's
    argument parser does, by a Tensor where the other takes hx (LSTM: a tuple) or params."""
    from ._tensor import Tensor

    def fn(*args):
        if len(args) != 9:
            raise TypeError(f"{name}() takes 9 positional arguments but {len(args)} were given")
        packed = isinstance(args[1], Tensor) and (mode == "LSTM" or isinstance(args[2], Tensor))
        if packed:
            return _stacked_rnn(mode, *args, batch_first=False)
        return _stacked_rnn(mode, args[0], None, *args[1:])
    fn.__name__ = fn.__qualname__ = name
    return fn


lstm = _rnn_function("lstm", "LSTM")
gru = _rnn_function("gru", "GRU")
rnn_tanh = _rnn_function("rnn_tanh", "RNN_TANH")
rnn_relu = _rnn_function("rnn_relu", "RNN_RELU")


def _dim_required(name):
    """torch.softmax / Tensor.softmax (and log_softmax): `dim` is required (only
    torch.nn.functional's versions pick one, with a deprecation warning)."""
    quick = name + "_quick"

    def fn(input, *args, **kwargs):
        if len(args) == 1 and not kwargs:   # (a dim alone: the quick path of ember.nn._ops)
            ops = (sys.modules.get("ember.nn.functional") or _F())._O
            t = getattr(ops, quick)(input, args[0])
            if t is not None:
                return t
        if not args and "dim" not in kwargs:
            from .ops._apply import _missing_arg
            raise _missing_arg(name, "dim")
        if len(args) > 1:           # (dim, dtype): the functional's third is _stacklevel
            args, kwargs = args[:1], dict(kwargs, dtype=args[1])
        return getattr(_F(), name)(input, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


softmax = _dim_required("softmax")
log_softmax = _dim_required("log_softmax")
