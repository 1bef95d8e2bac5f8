"""torch 2.13's linear_cross_entropy: cross entropy of `linear(input, linear_weight)` logits.

With `options=None` it is that composition (torch's reference path). With a
LinearCrossEntropyOptions it runs the batch in chunks so that the whole (N, classes) logits
array never exists at once, as torch's chunked path does: for the "mean" and "sum" reductions
the forward computes every gradient on the way and the backward only scales them (so a second
backward raises unless `allow_retain_graph`); for "none" the backward recomputes them chunk by
chunk. float16/bfloat16 inputs accumulate in float32 (torch's CPU pick)."""
import dataclasses
import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd import grad_mode as _grad
from ..ops._apply import apply
from ..ops._registry import op

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

_POLICIES = ("auto", "accurate", "balanced", "compact")
# torch's per-(device, dtype) "auto" picks, and the pick for other pairs
_AUTO = {("cuda", "bfloat16"): ("compact", "aspect_ratio:2"),
         ("cuda", "float16"): ("compact", "aspect_ratio:2"),
         ("cpu", "bfloat16"): ("accurate", "aspect_ratio"),
         ("cpu", "float16"): ("accurate", "aspect_ratio")}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How linear_cross_entropy chunks the batch (torch.nn.LinearCrossEntropyOptions):
    `batch_chunk_size` rows per chunk, or a `chunking_method` ("auto", "aspect_ratio",
    "aspect_ratio:N", None) that picks it; `acc_policy` and `acc_dtype` choose the precision of
    the accumulation; `allow_retain_graph` keeps the precomputed gradients for a second
    backward."""
    allow_retain_graph: bool = False
    batch_chunk_size: "int | None" = None
    chunking_method: "str | None" = "auto"
    acc_policy: str = "auto"
    acc_dtype: "object | None" = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (
                isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got "
                             f"{self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in (
                _dtype.float16, _dtype.bfloat16, _dtype.float32, _dtype.float64):
            raise ValueError(
                f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, "
                f"torch.float32, torch.float64}}, got {self.acc_dtype!r}. Pass "
                "acc_dtype=None to let the op pick automatically.")

    @staticmethod
    def _ceil_div(a, b):
        return -(-a // b)

    def _compute_batch_chunk_size(self, num_batches, in_features, num_classes, method=None):
        """Rows per chunk for an "aspect_ratio[:N]" method: each chunk's logits about the size
        of the input (divided by N), rounded up to a power of two."""
        method = str(method if method is not None else self.chunking_method)
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = self._ceil_div(num_batches, self._ceil_div(num_classes, in_features))
        return min((1 << (target - 1).bit_length()) // factor, num_batches)

    def _adjust(self, num_batches, in_features, num_classes, dtype, device=None):
        """These options with "auto" and None resolved for one call (torch's _adjust)."""
        policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None
        if policy == "auto" or method == "auto":
            ap, cm = _AUTO.get((device.type, dtype.name), _AUTO_FALLBACK) \
                if device is not None else _AUTO_FALLBACK
            policy = ap if policy == "auto" else policy
            method = cm if method == "auto" else method
        size = num_batches if self.batch_chunk_size is None else \
            min(self.batch_chunk_size, num_batches)
        if method is not None:
            size = self._compute_batch_chunk_size(num_batches, in_features, num_classes, method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{method}') give different chunk sizes ({self.batch_chunk_size} vs "
                    f"{size}); pass only one.")
        acc = self.acc_dtype
        if acc is None:
            low = dtype in (_dtype.float16, _dtype.bfloat16) and device is not None
            acc = _dtype.float32 if self.acc_policy == "auto" and low and \
                device.type in ("cpu", "cuda") else dtype
        return dataclasses.replace(self, acc_policy=policy, chunking_method=method,
                                   batch_chunk_size=max(1, size), acc_dtype=acc)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    from .functional import cross_entropy, linear
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    num_batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not num_batches:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*num_batches, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    chunked = reduction in ("mean", "sum", "none") and label_smoothing == 0.0 and \
        target.dtype == _dtype.int64 and not out_features
    if options is not None and not chunked:
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features "
            f"== (). Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
            f"target.dtype={target.dtype}, out_features={out_features}, tracing=False, "
            "linear_bias.shape="
            f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if options is not None and chunked:
        return _chunked(input, linear_weight, target, linear_bias, weight, reduction,
                        ignore_index, options, in_features, num_classes)
    if out_features:
        rows = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape((rows, in_features))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(rows)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
             options, in_features, num_classes):
    batched = input.dim() == 2
    if not batched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    opts = options._adjust(input.shape[0], in_features, num_classes, input.dtype, input.device)
    acc = opts.acc_dtype.np
    if reduction == "none":
        out = apply(_CHUNKED_NONE, (input, linear_weight, target, linear_bias, weight),
                    (ignore_index, opts.batch_chunk_size, acc))
    else:
        enabled = _grad.is_grad_enabled()
        wants = tuple(t is not None and t.requires_grad and enabled
                      for t in (input, linear_weight, linear_bias))
        out = apply(_CHUNKED, (input, linear_weight, target, linear_bias, weight),
                    (reduction, ignore_index, opts.batch_chunk_size, acc,
                     opts.allow_retain_graph, wants))
    return out if batched else out.squeeze(0)


def _class_weights(xp, t, weight, ignore_index, n_rows, n_classes, size, acc):
    """Each row's class weight (0 where the target is ignore_index) and its safe target, with
    the errors of torch's chunk loop (which narrows the target chunk by chunk)."""
    for lo in range(0, n_rows, size):
        if lo + min(size, n_rows - lo) > t.shape[0]:
            raise RuntimeError(f"start ({lo}) + length ({min(size, n_rows - lo)}) exceeds "
                               f"dimension size ({t.shape[0]}).")
    mask = t != ignore_index
    bad = mask & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise RuntimeError(f"index {int(t[bad][0])} is out of bounds for dimension 1 with size "
                           f"{n_classes}")
    safe = xp.where(mask, t, 0)
    w_t = mask.astype(acc) if weight is None else xp.where(mask, weight[safe].astype(acc), 0)
    return w_t, safe


def _chunks(xp, x, w, b, safe, size, acc):
    """(rows, logits shifted by their max, exp-sum, target logits) per chunk, in acc dtype."""
    wa = w.astype(acc, copy=False)
    ba = None if b is None else b.astype(acc, copy=False)
    for lo in range(0, x.shape[0], size):
        rows = slice(lo, min(lo + size, x.shape[0]))
        logits = xp.matmul(x[rows].astype(acc, copy=False), wa.T)
        if ba is not None:
            logits += ba
        logits -= logits.max(axis=1, keepdims=True)
        tl = xp.take_along_axis(logits, safe[rows, None], axis=1)[:, 0]
        p = xp.exp(logits)
        yield rows, p, p.sum(axis=1), tl


def _grads(xp, x, w, b, safe, size, acc, row_scale, wants):
    """d(sum_n row_scale[n] * loss[n]) for x, w and b, chunk by chunk. torch sums the linear
    weight's and bias's gradients in the input's dtype: a float16/bfloat16 sum rounds as each
    chunk's (acc dtype) gradient is added, the bias's chunk rounded first."""
    gx = xp.zeros(x.shape, acc) if wants[0] else None
    gw = xp.zeros(w.shape, x.dtype) if wants[1] else None
    gb = xp.zeros(w.shape[0], x.dtype) if wants[2] else None
    wa = w.astype(acc, copy=False)
    for rows, p, se, _ in _chunks(xp, x, w, b, safe, size, acc):
        s = row_scale[rows]
        p *= (s / se)[:, None]                              # softmax * scale
        xp.put_along_axis(p, safe[rows, None], xp.take_along_axis(
            p, safe[rows, None], axis=1) - s[:, None], axis=1)
        if gx is not None:
            gx[rows] = p @ wa
        if gw is not None:
            gw_chunk = p.T @ x[rows].astype(acc, copy=False)
            if gw.dtype == acc:
                gw += gw_chunk
            else:
                gw = (gw.astype(acc) + gw_chunk).astype(gw.dtype)
        if gb is not None:
            gb += p.sum(axis=0).astype(gb.dtype, copy=False)
    return gx, gw, gb


def _losses(xp, x, w, b, safe, size, acc, w_t):
    out = xp.empty(x.shape[0], acc)
    for rows, _, se, tl in _chunks(xp, x, w, b, safe, size, acc):
        out[rows] = (xp.log(se) - tl) * w_t[rows]
    return out


def _loss_sum(xp, x, w, b, safe, size, acc, neg_w):
    """The reduced loss as torch's chunk loop adds it: per chunk, the target logits' dot with
    the rows' weights -w_t / denominator, then minus their dot with the log-sums, each step
    rounded to the output's dtype (the input's, float32 for float16 input)."""
    f = acc.type
    out_type = f if x.dtype == np.float16 else x.dtype.type
    out = f(0)
    for rows, _, se, tl in _chunks(xp, x, w, b, safe, size, acc):
        out = f(out_type(out + f(float(neg_w[rows] @ tl))))
        out = f(out_type(out - f(float(neg_w[rows] @ xp.log(se)))))
    return out


_NODE = "GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked{}_defaultBackward"


@op("linear_cross_entropy_chunked", saves=None, node=_NODE.format(""), needs_mask=True)
def _CHUNKED(xp, x, w, t, b, weight, reduction, ignore_index, size, acc, retain, wants):
    w_t, safe = _class_weights(xp, t, weight, ignore_index, x.shape[0], w.shape[0], size, acc)
    denom = w_t.sum() if reduction == "mean" else acc.type(1)
    with np.errstate(invalid="ignore", divide="ignore"):      # nothing counted: nan, as torch
        loss = _loss_sum(xp, x, w, b, safe, size, acc, w_t / -denom) \
            if x.shape[0] or reduction != "mean" else acc.type(np.nan)
    grads = _grads(xp, x, w, b, safe, size, acc, w_t / denom, wants) if any(wants) else \
        (None, None, None)
    saved = [tuple(None if g is None else g.astype(a.dtype, copy=False)
                   for g, a in zip(grads, (x, w, w if b is None else b)))]
    return xp.asarray(loss.astype(x.dtype)), (saved, retain)


@_CHUNKED.vjp
def _(xp, g, saved, retain, needs):
    grads = saved[0]
    if grads is None:
        raise RuntimeError("linear_cross_entropy chunked backward called twice; "
                           "retain_graph=True / double backward are not supported.")
    if not retain:
        saved[0] = None
    gx, gw, gb = (None if a is None or not n else a * g
                  for a, n in zip(grads, (needs[0], needs[1], needs[3])))
    return gx, gw, None, gb, None


@op("linear_cross_entropy_chunked_none", saves="in", node=_NODE.format("_no_reduction"),
    needs_mask=True)
def _CHUNKED_NONE(xp, x, w, t, b, weight, ignore_index, size, acc):
    w_t, safe = _class_weights(xp, t, weight, ignore_index, x.shape[0], w.shape[0], size, acc)
    out = _losses(xp, x, w, b, safe, size, acc, w_t).astype(x.dtype)
    return out, (x, w, b, w_t, safe, size, acc)


@_CHUNKED_NONE.vjp
def _(xp, g, x, w, b, w_t, safe, size, acc, needs):
    wants = (needs[0], needs[1], b is not None and needs[3])
    gx, gw, gb = _grads(xp, x, w, b, safe, size, acc, g.astype(acc) * w_t, wants)
    cast = [None if a is None else a.astype(r.dtype, copy=False)
            for a, r in zip((gx, gw, gb), (x, w, w if b is None else b))]
    return cast[0], cast[1], None, cast[2], None
