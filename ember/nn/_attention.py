"""scaled_dot_product_attention as a composite of matmul, masking, softmax and dropout.

As torch's CPU kernel: is_causal aligns the mask top-left when L != S, is_causal and attn_mask
combine, and a query row that every mask blocks gets zeros (not nan)."""
import math

from .._tensor import _new
from ..ops import elementwise as _E, linalg as _L, shape as _S
from ..ops.random import rng_for
from ..backends.cuda import SDP_ENABLED
from . import _ops as _O


def _repeat_heads(t, n_rep):
    """(..., Hk, S, D) -> (..., Hk * n_rep, S, D), each head repeated n_rep times in a row."""
    if n_rep == 1:
        return t
    shape = tuple(t.shape)
    t = _S.expand(_S.unsqueeze(t, -3), shape[:-2] + (n_rep,) + shape[-2:])
    return _S.reshape(t, shape[:-3] + (shape[-3] * n_rep,) + shape[-2:])


def sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    if not any(SDP_ENABLED.values()):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This "
                           "is likely due to turning off both the math kernel and the fused "
                           "kernels.")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at "
                           "least 2-D")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same embedding dimension, got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    if enable_gqa and query.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in query")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)
    length, source = query.shape[-2], key.shape[-2]
    scale_factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
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
        weights = _O.dropout_raw(weights, dropout_p, tuple(weights.shape), rng_for(None, be))
    return _L.matmul(weights, value)
