"""Loss functions of torch.nn.functional (argument names, reductions and errors as torch's)."""
import math

import numpy as np

from ._warn import warn_caller
from .._tensor import _new
from ..autograd.grad_mode import no_grad
from ..autograd.node import retype
from ..ops import elementwise as _E, shape as _S
from ..ops._apply import raise_not_tensor
from .. import _kernel_dtypes as _D
from . import _act_ops as _A, _ops as _O, _reduction as _Reduction

__all__ = ["l1_loss", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "smooth_l1_loss", "huber_loss",
           "soft_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "ctc_loss", "multi_margin_loss", "multilabel_margin_loss"]


def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _apply_reduction(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target):
    if target.shape != input.shape:
        warn_caller(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.")


def _pointwise_loss(fn, input, target, reduction, weight=None, kernel=None, node=None):
    """`fn` of input - target, reduced; `node` (name, *param): torch's one-node kernel, which it
    takes without a weight."""
    _warn_size(input, target)
    x, y = _S.broadcast_tensors(input, target)
    if kernel is not None:
        _integral_kernel(input, target, kernel)
    if node is not None and weight is None and x.arr.dtype.kind in "fV":
        return _O.pointwise_loss_raw(node[0], x, y, reduction, *node[1:])
    loss = fn(x - y)
    if weight is None:
        return _apply_reduction(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


def _integral_kernel(input, target, kernel):
    """A loss kernel on integer input and target: torch dispatches on their promoted dtype."""
    a, b = input.arr.dtype, target.arr.dtype
    if a.kind in "iub" and b.kind in "iub":
        raise _D.not_implemented(kernel, np.promote_types(a, b))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss(_E.abs, input, target, reduction, weight)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss(lambda d: d * d, input, target, reduction, weight, "mse_cpu", ("mse",))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return _pointwise_loss(_E.abs, input, target, reduction)

    def fn(d):
        a = _E.abs(d)
        return _E.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    return _pointwise_loss(fn, input, target, reduction, kernel="smooth_l1_cpu",
                           node=("smooth_l1", beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is None:
        _O.check_huber_dtypes(input, target)

    def fn(d):
        a = _E.abs(d)
        return _E.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _pointwise_loss(fn, input, target, reduction, weight, "huber_cpu", ("huber", delta))


# ---- classification -----------------------------------------------------------------------
def _check_nll(input, target, weight, name="nll_loss"):
    """torch's checks in its order: the batch sizes, the target's rank, the weight, and (in the
    kernel, last) the target's dtype."""
    try:
        nd = input.ndim
    except AttributeError:          # (torch's nll_loss_nd entry point)
        raise_not_tensor("nll_loss_nd", ("input", 1, input))
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    batch = target.shape[0] if target.ndim else 0       # (torch reads a 0-d target's as 0)
    if input.ndim != 1 and input.shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({batch}).")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim == 2 and not target.ndim:        # (an empty batch: torch reads target.size(0))
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    if input.ndim > 2:
        _check_nll_target_shape(input, target)
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_scalar(target.dtype.name)}")


def _check_nll_target_shape(input, target):
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if input.ndim == 4 and target.ndim != 3:
        raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                           f"targets of dimension: {target.ndim}")
    if tuple(target.shape) != expected:
        if input.ndim == 4:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                               f"{list(target.shape)}")
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


def _scalar(name):
    return {"int64": "Long", "float32": "Float", "float64": "Double", "int32": "Int",
            "int16": "Short", "int8": "Char", "bool": "Bool", "float16": "Half"}.get(name, name)


def _as_batched(input, target):
    """Unbatched (C,) input with a 0-d target becomes a batch of one."""
    if input.ndim == 1:
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        return _S.unsqueeze(input, 0), _S.reshape(target, (1,)), True
    return input, target, False


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _check_nll(input, target, weight)
    _D.float_only(input, "nll_loss_out_frame" if input.ndim <= 2 else
                  "nll_loss2d_forward_out_frame")
    _D.same_dtype(weight, input.arr.dtype)
    x, t, unbatched = _as_batched(input, target)
    return _O.nll_loss_raw(x, _long(t), weight, reduction, ignore_index, unbatched)


def _long(t):
    return t if t.dtype.name == "int64" else t.long()


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    try:
        probs = input.shape == target.shape and input.ndim > 0
    except AttributeError:
        raise_not_tensor("cross_entropy_loss", ("input", 1, input), ("target", 2, target))
    if probs:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing,
                                    ignore_index)
    if input.ndim == 0:
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {_scalar(target.dtype.name)}")
    _check_log_softmax(input)
    _check_nll(input, target, weight, "cross_entropy")
    _D.same_dtype(weight, input.arr.dtype)
    if label_smoothing > 0:
        return _cross_entropy_smoothed(input, _long(target), weight, reduction, ignore_index,
                                       float(label_smoothing))
    if input.arr.dtype.itemsize == 2:   # float16/bfloat16: torch's log_softmax output rounds
        return nll_loss(_O.log_softmax_raw(input, 1 if input.ndim > 1 else 0), target, weight,
                        ignore_index=ignore_index, reduction=reduction)
    x, t, unbatched = _as_batched(input, target)
    out = _O.cross_entropy_raw(x, _long(t), weight, reduction, ignore_index, 0.0, unbatched)
    return out


def _cross_entropy_smoothed(x, t, weight, reduction, ignore_index, smoothing):
    """torch's cross_entropy_loss_label_smoothing: (1 - s) * nll + s / C * the smooth loss."""
    class_dim = 1 if x.ndim > 1 else 0
    n_classes = x.shape[class_dim]
    lp = _O.log_softmax_raw(x, class_dim)
    nll = nll_loss(lp, t, weight, ignore_index=ignore_index, reduction=reduction)
    ignore = t == ignore_index
    if weight is not None:
        shape = (1,) * class_dim + (n_classes,) + (1,) * (x.ndim - class_dim - 1)
        smooth = -(lp * _S.reshape(weight, shape)).sum(class_dim)
    else:
        smooth = -lp.sum(class_dim)
    smooth = smooth.masked_fill(ignore, 0.0)
    if reduction == "mean":
        if weight is not None:
            ret = smooth.sum() / weight.gather(0, t.masked_select(~ignore).flatten()).sum()
        else:
            ret = smooth.sum() / (~ignore).sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    # (torch's C++ Tensor * double: mul.Scalar, MulBackward1)
    return retype((1 - smoothing) * nll, "MulBackward1") + \
        retype(ret * (smoothing / n_classes), "MulBackward1")


def _check_log_softmax(input):
    _D.float_only(input, "log_softmax_lastdim_kernel_impl" if input.ndim <= 2 else
                  "log_softmax_kernel_impl")


def _cross_entropy_probs(input, target, weight, reduction, smoothing, ignore_index):
    if not target.is_floating_point():
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {'Long' if target.dtype.name == 'int64' else target.dtype}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    _check_log_softmax(input)
    class_dim = 1 if input.ndim > 1 else 0
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    lp = _O.log_softmax_raw(input, class_dim)
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    prod = lp * target
    if weight is not None:
        prod = prod * _S.reshape(weight, (-1,) + (1,) * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -prod.sum(class_dim)
    loss = -prod.sum()                  # torch negates the whole sum (its sign of zero too)
    if reduction == "mean":
        if not input.numel():
            return loss * float("nan")
        return _E._div_scalar(loss, input.numel() // n_classes)     # (torch's div.Scalar)
    return loss


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    dt = input.arr.dtype
    if target.arr.dtype != dt:
        raise RuntimeError(f"Found dtype {_D.tname(target.arr.dtype)} but expected {_D.tname(dt)}")
    _D.float_only(input, "binary_cross_entropy")
    if weight is not None:
        if weight.arr.dtype != dt:              # torch multiplies the loss by it in place
            weight = weight.to(input.dtype)
        weight = _S.expand(weight, np.broadcast_shapes(tuple(target.shape), tuple(weight.shape)))
    return _O.binary_cross_entropy_raw(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if input.dtype.is_floating_point and target.dtype.is_floating_point and \
            all(w is None or (w.dtype.is_floating_point and not w.requires_grad)
                for w in (weight, pos_weight)):
        from ._ops import binary_cross_entropy_with_logits_raw
        return binary_cross_entropy_with_logits_raw(input, target, weight, pos_weight, reduction)
    log_sig = _A.logsigmoid(input)
    # torch: loss = (1 - target).mul_(input).sub_(...), in place: the loss keeps the dtype
    # of (1 - target), and an integer target cannot hold the float product
    tdt = target.arr.dtype
    if tdt.kind == "b":
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if tdt.kind in "iu":
        from .._dtype import result_type
        raise _D.cast_failure(np.dtype(result_type(input, target).np), tdt)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - log_weight * log_sig
    else:
        loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    if loss.arr.dtype != tdt and tdt.kind != "c":
        loss = loss.to(target.dtype)
    return _apply_reduction(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warn_caller("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    try:
        integral = input.arr.dtype.kind in "iub" or target.arr.dtype.kind in "iub"
    except AttributeError:
        raise_not_tensor("kl_div", ("input", 1, input), ("target", 2, target))
    if integral:
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = _E.exp(target) * (target - input)
    else:
        loss = _E.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim != 0 else total
    return _apply_reduction(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:         # ... in place: into the input's shape
        _S._check_broadcast_into(target.arr.shape, input.arr.shape)
    if input.arr.dtype.kind in "iub":       # torch: neg(input).mul_(target).exp_()...
        from .._dtype import get_default_dtype, result_type
        rt = np.dtype(result_type(input, target).np)
        raise _D.cast_failure(rt if _D.is_float(rt) else np.dtype(get_default_dtype().np),
                              input.arr.dtype)
    if input.arr.dtype.kind == "c" or target.arr.dtype.kind == "c":     # torch's complex kernel
        return _apply_reduction(_E.log1p(_E.exp(-target * input)), reduction)
    if target.requires_grad:
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect "
                           "to argument 'target'. This input cannot have requires_grad True.")
    return _O.pointwise_loss_raw("soft_margin", input, target, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * _A.logsigmoid(input) + (1 - target) * _A.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.size(class_dim)
    return _apply_reduction(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _margin_input_check(input)
    nframe = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != nframe:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to "
                           "the number of input samples (batch size). Expected target size "
                           f"[{nframe}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    n_classes = input.shape[-1] if input.ndim else 1
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"inconsistent weight size, expected {n_classes} but got "
                           f"{list(weight.shape)}")
    _D.single_double_only(input, "multi_margin_loss_cpu_kernel")
    _D.same_dtype(target, np.dtype(np.int64))
    _D.same_dtype(weight, input.arr.dtype)
    ta = target.be.to_host(target.arr)
    if ta.size and (ta.min() < 0 or ta.max() >= n_classes):
        raise RuntimeError("target out of range")
    return _O.apply(_O._multi_margin, (input, target),
                    (p, margin, None if weight is None else weight.arr, reduction))


def _margin_input_check(input):
    """torch's margin losses take a non-empty vector or a matrix of non-empty rows (or a
    scalar)."""
    if input.ndim > 2 or input.ndim and not input.shape[-1]:
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _margin_input_check(input)
    n_classes = input.shape[-1] if input.ndim else 1
    if (target.shape != input.shape if input.ndim == 2 else
            target.ndim > 1 or target.numel() != n_classes):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    ta = target.be.to_host(target.arr)
    if ta.size and (ta.min() < -1 or ta.max() >= n_classes):
        raise RuntimeError("argument #2 'target' is out of range")
    _D.single_double_only(input, "multilabel_margin_loss_forward_out_frame")
    _D.same_dtype(target, np.dtype(np.int64))
    return _O.apply(_O._multilabel_margin, (input, target), (reduction,))


# ---- embeddings, ranking, regression ------------------------------------------------------
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if not input1.ndim == input2.ndim == target.ndim + 1:
        raise RuntimeError(f"{target.ndim}D target tensor expects {target.ndim + 1}D input "
                           f"tensors, but found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
    dim = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / _E.sqrt(mag1 * mag2)
    pos = _E.where(target == 1, 1 - cos, 0.0)
    neg = _E.where(target == -1, _E.clamp_min(cos - margin, 0.0), 0.0)
    return _apply_reduction(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return margin_ranking(input1, input2, target, margin, reduction)


def margin_ranking(input1, input2, target, margin, reduction):
    """torch.margin_ranking_loss (ATen's, which broadcasts without the dimension check)."""
    return _apply_reduction(_E.clamp_min(-target * (input1 - input2) + margin, 0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    zero = 0.0
    if input.arr.dtype.kind in "iu":        # torch computes in the input's integer dtype
        margin, zero = _D.int_scalar(margin, input.arr.dtype), 0
    margin_clamp = _E.clamp_min(margin - input, zero)
    out = _E.where(target != 1, margin_clamp, zero) + _E.where(target != -1, input, zero)
    return _apply_reduction(out, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    from .functional import pairwise_distance
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _apply_reduction(_E.clamp_min(margin + d_pos - d_neg, 0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    from .functional import pairwise_distance
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs")
    dist = distance_function or pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _E.minimum(d_neg, dist(positive, negative))
    return _apply_reduction(_E.clamp_min(margin + d_pos - d_neg, 0.0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = _E.exp(input) - target * input
    else:
        loss = input - target * _E.log(input + eps)
    if full:
        t = target
        stirling = t * _E.log(t) - t + 0.5 * _E.log(2 * math.pi * t)
        loss = loss + _E.where(t > 1, stirling, 0.0)
    return _apply_reduction(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _E.mul(_new(input.be.xp.ones_like(input.arr), input.be), float(var))
    elif bool((var.arr < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = _S.unsqueeze(var, -1)
        elif input.ndim == var.ndim and sum(
                y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if var.arr.dtype.kind in "iub":         # torch clamps a copy in place: var.clamp_(min=eps)
        raise RuntimeError("result type Float can't be cast to the desired output type "
                           + _D.cname(var.arr.dtype))
    var = _clamp_value_only(var, eps)
    loss = 0.5 * (_E.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def _clamp_value_only(var, eps):
    """var.clone() then clamp_(min=eps) under no_grad: clamped values, identity gradient."""
    with no_grad():
        delta = _E.clamp_min(var, eps) - var
    return var + delta


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    from ._ctc import ctc_loss as _ctc
    if log_probs.arr.dtype not in (np.float32, np.float64):
        raise _D.not_implemented("ctc_loss_cpu", log_probs.arr.dtype)
    return _ctc(log_probs, targets, input_lengths, target_lengths, blank, reduction,
                zero_infinity)

