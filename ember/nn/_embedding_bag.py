"""embedding_bag: embedding lookups reduced per bag (sum, mean, max) with segment primitives."""
import numpy as np

from .._tensor import _new
from ..ops._apply import apply
from ..ops.index import index_add_rows
from ..ops._registry import op
from . import _ops as _O


@op("segment_sum", saves=None, node="EmbeddingBagBackward0")
def _segment_sum(xp, x, seg, n_seg, mean=False):
    """Per-bag sums (divided by the bag sizes, at least 1, for mode='mean': one node, torch's
    EmbeddingBagBackward0, either way)."""
    out = index_add_rows(xp, n_seg, seg, x)
    if not mean:
        return out, (seg, None)
    counts = xp.maximum(xp.bincount(seg, minlength=n_seg), 1).astype(x.dtype)[:, None]
    return out / counts, (seg, counts)


@_segment_sum.vjp
def _(xp, g, seg, counts):
    # mean: torch scales by the reciprocal of the bag size, taken in the dtype
    return ((g if counts is None else g * (1 / counts))[seg], None)


@op("segment_wsum", saves=None, node="EmbeddingBagBackward0")
def _segment_wsum(xp, x, w, seg, n_seg):
    """float32 per-bag sums of rows times their per-sample weights, as torch's (fbgemm's)
    kernel: acc = fma(w, row, acc) for each bag's rows in order (the fma through float64)."""
    n = seg.shape[0]
    out = xp.zeros((n_seg,) + x.shape[1:], x.dtype)
    if n == 0:
        return out, (seg, x, w)
    at = xp.arange(n)
    first = xp.concatenate([xp.ones(1, bool), seg[1:] != seg[:-1]])
    pos = at - xp.maximum.accumulate(xp.where(first, at, 0))
    for k in range(int(pos.max()) + 1):
        sel = pos == k
        bags = seg[sel]
        acc = x[sel].astype(np.float64) * w[sel].astype(np.float64)[:, None] + out[bags]
        out[bags] = acc.astype(x.dtype)
    return out, (seg, x, w)


@_segment_wsum.vjp
def _(xp, g, seg, x, w):
    gs = g[seg]
    return (gs * w[:, None], (gs * x).sum(1), None)


@op("segment_max", saves=None, node="EmbeddingBagBackward0")
def _segment_max(xp, x, seg, n_seg):
    out = xp.zeros((n_seg,) + x.shape[1:], x.dtype)
    arg = xp.full((n_seg,) + x.shape[1:], -1, np.int64)
    host_seg = seg if xp is np else seg.get()
    for b in np.unique(host_seg):
        rows = xp.nonzero(seg == int(b))[0]
        block = x[rows]
        pick = block.argmax(0)
        arg[int(b)] = rows[pick]
        out[int(b)] = xp.take_along_axis(block, pick[None], 0)[0]
    return out, (arg, x.shape)


@_segment_max.vjp
def _(xp, g, arg, shape):
    gx = xp.zeros(shape, g.dtype)
    has = arg >= 0
    cols = xp.broadcast_to(xp.arange(shape[1]), arg.shape)
    gx[arg[has], cols[has]] = g[has]
    return (gx, None)


def _bags(input, offsets, include_last_offset):
    """Flat indices and the bag id of each, from 2-D input or 1-D input + offsets."""
    xp = input.be.xp
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        n_bags, length = input.shape
        return input.arr.reshape(-1), xp.repeat(xp.arange(n_bags), length), n_bags
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    off = offsets.be.to_host(offsets.arr).astype(np.int64)
    n = input.shape[0]
    last = off[-1] if len(off) else None    # (torch checks the last offset given, the one
    if include_last_offset:                 # include_last_offset drops too)
        off = off[:-1]
    n_bags = len(off)
    if n_bags and (off[0] != 0):
        # torch prints its offsets tensor (promoted with the indices) after the message
        promoted = np.promote_types(input.arr.dtype, offsets.arr.dtype)
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}\n"
                           f"[ {_O._type_name(promoted)}{{}} ]")
    if n_bags and last > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {last}")
    seg = np.zeros(n, np.int64)
    if n_bags:
        seg = np.searchsorted(off, np.arange(n), side="right") - 1
    return input.arr, xp.asarray(seg), n_bags


def _check_dtypes(input, offsets, weight, per_sample_weights):
    """torch's checkScalarTypes / checkSameType on the embedding_bag arguments."""
    def where(kind, i, name, t, allowed):
        return (f"Expected tensor for argument #{i} '{name}' to {kind} {allowed}; but got "
                f"{_O._type_name(t.arr)} instead (while checking arguments for embedding_bag)")
    for i, name, t in ((1, "indices", input), (1, "offsets", offsets)):
        if t is not None and t.arr.dtype not in (np.int64, np.int32):
            raise RuntimeError(where("have one of the following scalar types:", i, name, t,
                                     "Long, Int"))
    dt = weight.arr.dtype
    if not (dt.kind == "f" or dt.name == "bfloat16"):
        raise RuntimeError(where("have one of the following scalar types:", 1, "weight", weight,
                                 "Half, BFloat16, Float, Double"))
    if per_sample_weights is not None and per_sample_weights.arr.dtype != dt:
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have the same type as tensor for "
            f"argument #1 'per_sample_weights'; but type {_O._type_name(weight.arr)} does not "
            f"equal {_O._type_name(per_sample_weights.arr)} (while checking arguments for "
            "embedding_bag)")


def embedding_bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode,
                  per_sample_weights, include_last_offset, padding_idx, sparse=False):
    from .functional import embedding
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    _check_dtypes(input, offsets, weight, per_sample_weights)
    idx, seg, n_bags = _bags(input, offsets, include_last_offset)
    be, xp = weight.be, weight.be.xp
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    keep = xp.ones(idx.shape, bool) if padding_idx is None else idx != padding_idx
    idx_t = _new(idx[keep], input.be)
    seg = seg[keep]
    rows = embedding(idx_t, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
    if per_sample_weights is not None:
        psw = per_sample_weights.reshape(-1)[_new(xp.nonzero(keep)[0], be)]
        if rows.arr.dtype == np.float32 and xp is np:
            return apply(_segment_wsum, (rows, psw, _new(seg, be)), (n_bags,))
        rows = rows * psw.unsqueeze(1)
    if mode == "max":
        return apply(_segment_max, (rows, _new(seg, be)), (n_bags,))
    return apply(_segment_sum, (rows, _new(seg, be)), (n_bags, mode == "mean"))
