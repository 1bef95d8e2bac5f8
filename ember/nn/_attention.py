"""scaled_dot_product_attention as a composite of matmul, masking, softmax and dropout.

As torch's CPU kernel: is_causal aligns the mask top-left when L != S, is_causal and attn_mask
combine in the flash kernel (the math path refuses both), and a query row that every mask blocks
gets zeros (not nan)."""
import math

import numpy as np

from .._kernel_dtypes import tname
from .._memory_format import _strided, odd_units, preserve_strides
from .._tensor import _new
from ..amp.autocast import autocast
from ..backends import CPU
from ..ops import elementwise as _E, linalg as _L, shape as _S
from ..ops._apply import apply
from ..ops._torch_sum import einsum as _einsum
from ..ops._registry import NESTED_IDX, op
from ..ops.random import rng_for
from ..backends.cuda import SDP_ENABLED
from . import _ops as _O


# ---- torch's CPU flash attention: one node ----------------------------------------------------
def _scores(xp, q, k, mask, scale, is_causal, acc):
    """q k^T * scale with the causal and given masks applied, in the accumulation dtype."""
    s = xp.matmul(q.astype(acc, copy=False), xp.swapaxes(k.astype(acc, copy=False), -1, -2))
    s *= acc(scale)
    if is_causal:       # an added 0 / -inf bias: a fifth of the time of a branching where
        s += _causal_bias(xp, s.shape[-2], s.shape[-1], acc)
    if mask is not None:
        s = xp.where(mask, s, -np.inf) if mask.dtype == bool else s + mask.astype(acc)
    return s


_CAUSAL = {}        # (L, S, dtype) -> the read-only (L, S) causal bias of NumPy arrays


def _causal_bias(xp, length, source, acc):
    """0 on and below the diagonal (top-left aligned), -inf above it, in dtype `acc`; NumPy's
    kept for the next call (xp.tri and where took a third of a small attention's time)."""
    key = (length, source, acc)
    bias = _CAUSAL.get(key) if xp is np else None
    if bias is None:
        bias = xp.where(xp.tri(length, source, dtype=bool), acc(0), acc(-np.inf))
        if xp is np and length * source <= 1 << 20:
            if len(_CAUSAL) >= 32:
                _CAUSAL.clear()
            bias.flags.writeable = False
            _CAUSAL[key] = bias
    return bias


def _acc(dt):
    """The accumulation dtype of a floating dtype: float32 for the 2-byte ones."""
    return np.float32 if dt.itemsize == 2 else dt.type


def _exp_shifted(xp, s, shift):
    """exp(s - shift), computed in place of `s` (a fresh scores array)."""
    xp.subtract(s, shift, out=s)
    return xp.exp(s, out=s)


@op("scaled_dot_product_flash_attention_for_cpu", saves="both",
    node="ScaledDotProductFlashAttentionForCpuBackward0")
def _flash(xp, q, k, v, mask, scale, is_causal):
    """torch's kernel for one key block: the row max, exp(s - max) (rounded to a reduced input
    dtype before it meets v), times v accumulated in float, over the float sum of the exps. A
    row every mask blocks gives zeros."""
    acc = _acc(q.dtype)
    s = _scores(xp, q, k, mask, scale, is_causal, acc)
    m = _O._rowmax(xp, s)
    m = xp.where(xp.isneginf(m), acc(0), m)
    e = _exp_shifted(xp, s, m)
    z = _O._rowsum(xp, e, -1)
    p = e.astype(q.dtype).astype(acc) if acc is not q.dtype.type else e
    z_safe = xp.where(z == 0, acc(1), z)
    out = xp.matmul(p, v.astype(acc, copy=False))
    res = _out_like(xp, q)
    if res is not None and out.dtype == res.dtype:      # the quotient written into it
        out = xp.divide(out, z_safe, out=res)   # (the product there took longer, and so
    else:                                       # did a copy after the division in place)
        out /= z_safe
        if res is None:
            out = out.astype(q.dtype, copy=False)
            if not out.flags.c_contiguous:
                out = np.ascontiguousarray(out)
        else:
            res[...] = out.astype(q.dtype, copy=False)
            out = res
    lse = xp.where(z == 0, acc(np.inf), m + xp.log(z))
    # torch recomputes the probabilities in the backward; kept when small, that is the
    # scores' product and exp saved (a third of the backward's time)
    kept = (e, z_safe) if e.nbytes <= _KEEP_PROBS_BYTES else None
    return out, (q, k, v, mask, out, lse, kept, scale, is_causal)


_KEEP_PROBS_BYTES = 16 << 20


def _out_like(xp, q):
    """An empty array for the output laid out as torch's kernel writes it, or None where that
    is C order: a query of unit stride along D gives its output torch's preserve_format strides
    (a GPT block's head split, (B, L, H, D) memory, gives that layout, whose transpose back
    is contiguous); another query is made contiguous first."""
    if xp is not np or type(q) is not np.ndarray or q.flags.c_contiguous and \
            not odd_units(q) or q.strides[-1] != q.itemsize:
        return None
    shape, st = q.shape, q.strides
    if 1 not in shape and min(st) > 0 and len(set(st)) == len(st):
        # (distinct strides, no size-1 dims: preserve_strides' order is the strides' order)
        perm = sorted(range(len(st)), key=st.__getitem__, reverse=True)
        back = [0] * len(perm)
        for i, d in enumerate(perm):
            back[d] = i
        return np.empty([shape[d] for d in perm], q.dtype).transpose(back)
    return _strided(np.empty(q.size, q.dtype), preserve_strides(q), q.shape)


def _dense_strided(q):
    """A query dense in an order other than C's, of unit stride along D."""
    return not q.flags.c_contiguous and q.strides[-1] == q.itemsize and \
        _S._dense_order(q) == "K"


@_flash.vjp
def _(xp, g, q, k, v, mask, out, lse, kept, scale, is_causal):
    acc = _acc(q.dtype)
    if kept is None:
        p = _exp_shifted(xp, _scores(xp, q, k, mask, scale, is_causal, acc), lse)
    else:
        p = kept[0] / kept[1]
    g = g.astype(acc, copy=False)
    dv = _matmul_to(xp, xp.swapaxes(p, -1, -2), g, v)
    dp = xp.matmul(g, xp.swapaxes(v.astype(acc, copy=False), -1, -2))
    ds = dp     # p * (dp - rowsum(g * out)) * scale, in place of dp
    ds -= _out_dots(xp, g, out.astype(acc, copy=False), q)
    ds *= p
    ds *= acc(scale)
    dq = _matmul_to(xp, ds, k.astype(acc, copy=False), q)
    dk = _matmul_to(xp, xp.swapaxes(ds, -1, -2), q.astype(acc, copy=False), k)
    return dq, dk, dv, None


def _out_dots(xp, g, out, q):
    """rowsum(g * out), (..., L, 1): each row's products summed as einsum sums a contiguous row,
    whatever the rows' order in memory (the product is laid out as g and out are: a C-ordered
    product would read their (B, L, H, D) memory out of order, at 3.5x the time). A dense
    query laid out otherwise than in C order keeps the sums it has always had (its output had
    that layout before: the product as NumPy lays it out, _rowsum on it)."""
    if xp is np and not _dense_strided(q):
        go = np.multiply(g, out)
        if go.strides[-1] == go.itemsize:
            return _einsum("...i->...", go)[..., None]
        return _O._rowsum(xp, np.ascontiguousarray(go), -1)
    return _O._rowsum(xp, g * out, -1)


def _matmul_to(xp, a, b, like):
    """a @ b as the gradient of input `like` (B, H, L, D): cast to its dtype and, where
    torch's kernel runs (a unit stride along D), laid out (B, L, H, D) as torch's kernel
    writes it (the head split's view then takes it back without a copy)."""
    if like.strides[-1] != like.itemsize or xp is not np:
        return xp.matmul(a, b).astype(like.dtype, copy=False)
    n, h, s, d = like.shape
    res = np.empty((n, s, h, d), like.dtype).transpose(0, 2, 1, 3)
    if a.dtype == like.dtype:
        np.matmul(a, b, out=res)
    else:
        res[...] = np.matmul(a, b)
    return res


def _flash_applies(query, key, value, attn_mask, dropout_p):
    """torch 2.13 on the CPU takes its flash kernel for 4-D inputs of one batch and head shape
    and head size, some queries and keys, no dropout and a mask not requiring grad."""
    if not (query.be is CPU and query.ndim == key.ndim == value.ndim == 4 and dropout_p <= 0):
        return False
    q, k, v = tuple(query.shape), tuple(key.shape), tuple(value.shape)    # (plain tuples)
    return (q[:2] == k[:2] == v[:2] and v[3] == q[3] == k[3] and q[2] and k[2]
            and query.dtype.is_floating_point and query.dtype == key.dtype == value.dtype
            and (attn_mask is None or not attn_mask.requires_grad))


def _repeat_heads(t, n_rep):
    """(..., Hk, S, D) -> (..., Hk * n_rep, S, D), each head repeated n_rep times in a row."""
    if n_rep == 1:
        return t
    shape = tuple(t.shape)
    t = _S.expand(_S.unsqueeze(t, -3), shape[:-2] + (n_rep,) + shape[-2:])
    return _S.reshape(t, shape[:-3] + (shape[-3] * n_rep,) + shape[-2:])


def _check_mask_shape(scores, mask):
    """torch's error for a mask that does not broadcast to the scores (L, S): infer_size's,
    the last bad dim numbered in the broadcast shape."""
    n = max(len(scores), len(mask))
    for i in range(1, min(len(scores), len(mask)) + 1):
        a, b = scores[-i], mask[-i]
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {n - i}")


def sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    if not any(SDP_ENABLED.values()):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This "
                           "is likely due to turning off both the math kernel and the fused "
                           "kernels.")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at "
                           "least 2-D")
    if enable_gqa and query.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:      # (torch's message ends so, its last word dropped)
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in ")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)
    dt = query.dtype
    nested = query.be.idx == NESTED_IDX
    if not dt.is_floating_point and not dt.is_complex and not nested:
        raise RuntimeError(f"expected scalar type Float but found {tname(np.dtype(dt.np))}")
    if attn_mask is not None and not nested:
        _check_mask_shape(tuple(query.shape[:-1]) + (key.shape[-2],), tuple(attn_mask.shape))
    scale_factor = 1 / math.sqrt(query.arr.shape[-1]) if scale is None else scale
    if _flash_applies(query, key, value, attn_mask, dropout_p):
        if dropout_p:                       # (torch picks its flash kernel, which refuses it)
            raise RuntimeError("scaled_dot_product_attention_flash_attention: Currently do not "
                               "support dropout > 0")
        return apply(_flash, (query, key, value, attn_mask), (scale_factor, bool(is_causal)))
    if query.be is CPU and dt.itemsize == 2 and dt.is_floating_point and \
            dt == key.dtype == value.dtype:       # torch's math path computes in float32
        up = [t if t is None or not t.dtype.is_floating_point else t.float()
              for t in (query, key, value, attn_mask)]
        with autocast(query.be.name, enabled=False):     # below torch's autocast: float32
            return _math(*up, dropout_p, is_causal, scale_factor).to(dt)
    if nested:      # nested q, k, v: attention within each sequence
        from ..nested._ops import sdpa as nested_sdpa
        return nested_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale_factor)
    return _math(query, key, value, attn_mask, dropout_p, is_causal, scale_factor)


def _math(query, key, value, attn_mask, dropout_p, is_causal, scale_factor):
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    length, source = query.shape[-2], key.shape[-2]
    scores = _L.matmul(query, _S.transpose(key, -2, -1))
    be = query.be
    if is_causal and attn_mask is None:     # scale, mask and softmax in one op
        weights = _O.scaled_causal_softmax_raw(scores, scale_factor)
    else:
        scores = scores * scale_factor
        if is_causal:
            keep = _new(be.xp.tri(length, source, dtype=bool), be)    # made on the device
            scores = _E.where(keep, scores, float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype.name == "bool":
                scores = _E.where(attn_mask, scores, float("-inf"))
            else:
                scores = scores + attn_mask
        weights = _O.softmax_raw(scores, scores.ndim - 1, is_causal or attn_mask is not None)
    if dropout_p > 0:
        if dropout_p > 1:                   # torch's at::dropout check
            raise RuntimeError(f"dropout probability has to be between 0 and 1, but got "
                               f"{dropout_p}")
        weights = _O.dropout_raw(weights, dropout_p, tuple(weights.shape), rng_for(None, be))
    return _L.matmul(weights, value)
