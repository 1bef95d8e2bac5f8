"""F.multi_head_attention_forward: the attention of nn.MultiheadAttention as one function over
its weights, with torch's steps, checks and messages. Inputs are (L, N, E) or unbatched
(L, E); masks may be boolean (True = blocked) or additive float."""
import math

from .. import _dtype

__all__ = ["multi_head_attention_forward"]


def _float_mask(mask, dtype, name):
    """Boolean masks (True = blocked) become additive -inf masks."""
    if mask is None:
        return None
    if mask.dtype is _dtype.bool_:
        from .._torch_function import dispatched
        from ..ops.creation import zeros_like      # (torch.zeros_like, as modes see it)
        return dispatched(zeros_like)(mask, dtype=dtype).masked_fill(mask, float("-inf"))
    check_mask_dtype(mask, name)
    return mask.to(dtype)


def check_mask_dtype(mask, name):
    """torch's _canonical_mask takes bool and floating masks only."""
    if mask is not None and mask.dtype is not _dtype.bool_ and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")


def _check_mask_types(key_padding_mask, attn_mask):
    """torch's _canonical_mask warning for a key_padding_mask whose dtype differs from
    attn_mask's (pointing, as torch's stacklevel=2 does, at the line that canonicalises)."""
    if key_padding_mask is not None and attn_mask is not None and \
            key_padding_mask.dtype != attn_mask.dtype:
        import warnings
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", stacklevel=2)


def _check_in_projection(query, key, value, weights, biases):
    """torch's _in_projection checks of separate (kdim/vdim) projection weights and biases."""
    eq = query.shape[-1]
    names = ("query", "key", "value")
    for name, t, w in zip(names, (query, key, value), weights):
        if tuple(w.shape) != (eq, t.shape[-1]):
            raise AssertionError(f"expecting {name} weights shape of {(eq, t.shape[-1])}, but "
                                 f"got {w.shape}")
    for name, b in zip(names, biases):
        if b is not None and tuple(b.shape) != (eq,):
            raise AssertionError(f"expecting {name} bias shape of {(eq,)}, but got {b.shape}")


def _project(query, key, value, E, in_proj_weight, in_proj_bias, separate, q_w, k_w, v_w):
    from . import functional as F
    b = in_proj_bias
    if separate:
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        for name, w in (("q", q_w), ("k", k_w), ("v", v_w)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     "is None")
        _check_in_projection(query, key, value, (q_w, k_w, v_w), (bq, bk, bv))
        return F.linear(query, q_w, bq), F.linear(key, k_w, bk), F.linear(value, v_w, bv)
    if in_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    # torch's _in_projection_packed, step for step (its graph)
    w = in_proj_weight
    if key is value:
        if query is key:
            return _unpack(F.linear(query, w, b), 3, E)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        return (F.linear(query, w_q, b_q), *_unpack(F.linear(key, w_kv, b_kv), 2, E))
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None,) * 3 if b is None else b.chunk(3)
    return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)


def _unpack(proj, n, E):
    """The n projections packed in proj's last dim, each contiguous (torch's order of steps)."""
    proj = proj.unflatten(-1, (n, E)).unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
    return tuple(proj[i] for i in range(n))


def _heads(t, static, n, head_dim, name):
    """(S, N, E) -> (N * H, S, D), or the given static (N * H, S, D) keys/values."""
    if static is None:
        return t.reshape(t.shape[0], n, head_dim).transpose(0, 1)
    if static.shape[0] != n:
        raise AssertionError(f"expecting {name}.size(0) of {n}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got "
                             f"{static.shape[2]}")
    return static


def _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """torch's _mha_shape_check: whether the input is batched, and its dims' consistency."""
    kind = {3: "batched (3-D)", 2: "unbatched (2-D)"}.get(query.dim())
    if kind is None:
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    d = query.dim()
    if key.dim() != d or value.dim() != d:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {d}-D but "
                             f"found {key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != d - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{d - 1}-D but found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.dim()}-D tensor instead")
        if d == 2 and attn_mask.dim() == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{attn_mask.shape}")
    return d == 3


def _sdpa(q, k, v, attn_mask, dropout_p, is_causal, N, H, D):
    """torch's attention without weights: scaled_dot_product_attention on (N, H, L, D) views
    (its CPU flash kernel where that applies), then back to (L * N, E)."""
    from .functional import scaled_dot_product_attention
    L, S = q.shape[1], k.shape[1]
    if attn_mask is not None:
        attn_mask = (attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else
                     attn_mask.view(N, H, -1, S))
    out = scaled_dot_product_attention(q.view(N, H, L, D), k.view(N, H, S, D),
                                       v.view(N, H, S, D), attn_mask, dropout_p, is_causal)
    return out.permute(2, 0, 1, 3).contiguous().view(L * N, H * D)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    from . import functional as F
    from .. import baddbmm, bmm, cat, zeros      # as torch.*: modes and subclasses see them
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    _check_mask_types(key_padding_mask, attn_mask)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    H, D = num_heads, E // num_heads
    if D * H != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {H}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    q, k, v = _project(query, key, value, E, in_proj_weight, in_proj_bias,
                       use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight)
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None            # torch hands scaled_dot_product_attention the hint instead
    else:
        is_causal = False
        attn_mask = _float_mask(attn_mask, q.dtype, "attn_mask")
    S = key.shape[0]
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(L, S)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (N * H, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(N * H, L, S)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k, v = cat([k, bias_k.expand(1, N, E)]), cat([v, bias_v.expand(1, N, E)])
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else
                             "bias_v is set but bias_k is None")
    q = q.reshape(L, N * H, D).transpose(0, 1)
    k, v = _heads(k, static_k, N * H, D, "static_k"), _heads(v, static_v, N * H, D, "static_v")
    if add_zero_attn:
        k = cat([k, zeros(N * H, 1, D, dtype=k.dtype, device=k.device)], 1)
        v = cat([v, zeros(N * H, 1, D, dtype=v.dtype, device=v.device)], 1)
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    S = k.shape[1]
    if key_padding_mask is not None:
        for i, want in enumerate((N, S)):      # torch's _check_key_padding_mask
            if key_padding_mask.shape[i] != want:
                raise AssertionError(f"Expected key_padded_mask.shape[{i}] to be {want}, but got "
                                     f"{key_padding_mask.shape[i]}")
        kpm = _float_mask(key_padding_mask, q.dtype, "key_padding_mask")
        kpm = kpm.view(N, 1, 1, S).expand(-1, H, -1, -1).reshape(N * H, 1, S)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not need_weights:
        out = _sdpa(q, k, v, attn_mask, dropout_p if training else 0.0, is_causal, N, H, D)
        out = F.linear(out, out_proj_weight, out_proj_bias).view(L, N, E)
        return (out if batched else out.squeeze(1)), None
    q = q * math.sqrt(1.0 / D)
    # as torch's: baddbmm with the mask, else bmm (the ops its flop counter and graph show)
    scores = bmm(q, k.transpose(-2, -1)) if attn_mask is None else \
        baddbmm(attn_mask, q, k.transpose(-2, -1))
    weights = F.softmax(scores, dim=-1)
    if dropout_p > 0.0 and training:
        weights = F.dropout(weights, p=dropout_p)
    out = bmm(weights, v).transpose(0, 1).reshape(L * N, E)
    out = F.linear(out, out_proj_weight, out_proj_bias).view(L, N, E)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.view(N, H, L, S)
    weights = weights.mean(dim=1) if average_attn_weights else weights
    return out, (weights if batched else weights.squeeze(0))
