"""MultiheadAttention and the Transformer layers, with torch's parameter names and numerics."""
import copy
import warnings

from ... import _dtype
from ..._layout import jagged
from ..._torch_function import dispatched
from ..._warnings import warn_once
from .. import functional as F
from .. import init
from .._mha import _float_mask, check_mask_dtype
from ..parameter import Parameter
from .module import Module

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerDecoder", "Transformer"]


class MultiheadAttention(Module):
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        from ...ops.creation import empty
        from .linear import NonDynamicallyQuantizableLinear
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads} instead")
        kw = {"device": device, "dtype": dtype}
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if query.is_nested or key.is_nested or value.is_nested:
            return self._nested_forward(query, key, value, key_padding_mask, need_weights,
                                        attn_mask, average_attn_weights)
        batched = query.dim() == 3
        if key_padding_mask is not None or attn_mask is not None:     # torch's _canonical_mask
            from .._mha import _check_mask_types, _float_mask
            _check_mask_types(key_padding_mask, attn_mask)
            key_padding_mask = _float_mask(key_padding_mask, query.dtype, "key_padding_mask")
            attn_mask = _float_mask(attn_mask, query.dtype, "attn_mask")
        if self.batch_first and batched:      # (torch's: one transpose of a shared tensor)
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (t.transpose(1, 0) for t in (query, key))
                    value = key
            else:
                query, key, value = (t.transpose(1, 0) for t in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights


    def _why_not_fast_path(self, query, key, value, key_padding_mask, attn_mask):
        """torch's reason, in its order, for not taking its fast path ('' where it takes it)."""
        from ... import backends
        from ...amp.autocast import is_autocast_enabled
        from ...autograd.grad_mode import is_grad_enabled
        w, b = self.in_proj_weight, self.in_proj_bias
        for failed, why in (
                (not backends.mha.get_fastpath_enabled(),
                 "torch.backends.mha.get_fastpath_enabled() was not True"),
                (query.dim() != 3, "input not batched; expected query.dim() of 3 but got "
                                   f"{query.dim()}"),
                (query is not key or key is not value, "non-self attention was used (query, key, "
                                                       "and value are not the same Tensor)"),
                (b is not None and query.dtype != b.dtype, f"dtypes of query ({query.dtype}) "
                                                           f"and self.in_proj_bias ({b.dtype}) "
                                                           "don't match"),
                (w is None, "in_proj_weight was None"),
                (w is not None and query.dtype != w.dtype, f"dtypes of query ({query.dtype}) and "
                 f"self.in_proj_weight ({None if w is None else w.dtype}) don't match"),
                (self.training, "training is enabled"),
                (self.num_heads % 2, "self.num_heads is not even"),
                (not self.batch_first, "batch_first was not True"),
                (self.bias_k is not None, "self.bias_k was not None"),
                (self.bias_v is not None, "self.bias_v was not None"),
                (self.add_zero_attn, "add_zero_attn was enabled"),
                (not self._qkv_same_embed_dim, "_qkv_same_embed_dim was not True"),
                (query.is_nested and (key_padding_mask is not None or attn_mask is not None),
                 "supplying both src_key_padding_mask and src_mask at the same time \
                                 is not supported with NestedTensor input"),
                (is_autocast_enabled(), "autocast is enabled"),
                (query.layout is jagged,        # (torch's jagged tensors are a subclass)
                 "some Tensor argument has_torch_function"),
                (is_grad_enabled() and any(t is not None and t.requires_grad for t in (
                    query, w, b, self.out_proj.weight, self.out_proj.bias)),
                 "grad is enabled and at least one of query or the input/output projection "
                 "weights or biases requires_grad")):
            if failed:
                return why
        return ""

    def _nested_forward(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                        average_attn_weights):
        """A nested input takes torch's fast path or fails its assertion: each sequence's
        attention alone, the weights padded with zeros to the longest (torch's
        _native_multi_head_attention)."""
        why = self._why_not_fast_path(query, key, value, key_padding_mask, attn_mask)
        if why or self.in_proj_bias is None:
            raise AssertionError("MultiheadAttention does not support NestedTensor outside of "
                                 f"its fast path. The fast path was not hit because {why}")
        from ...nested._ops import from_parts
        from ...ops.creation import zeros
        outs, weights = [], []
        for c in query.unbind():
            c = c.unsqueeze(1)
            out, w = F.multi_head_attention_forward(
                c, c, c, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias,
                training=False, need_weights=need_weights,
                average_attn_weights=average_attn_weights)
            outs.append(out.squeeze(1))
            weights.append(w)
        if not need_weights:
            return from_parts(outs, query.arr.meta), None
        n = max(w.shape[-1] for w in weights)
        padded = zeros(len(weights), *weights[0].shape[1:-2], n, n, dtype=query.dtype)
        for i, w in enumerate(weights):
            padded[i, ..., :w.shape[-2], :w.shape[-1]] = w[0]
        return from_parts(outs, query.arr.meta), padded


def _canonical_kpm(kpm, other, like, name, other_name):
    """torch's _canonical_mask on a key padding mask: a warning (at the line in forward that
    canonicalises) when its dtype differs from the other mask's, and a boolean mask made
    additive (-inf) in `like`'s dtype, so the layers below see matching masks and do not warn
    again."""
    if kpm is None:
        return None
    check_mask_dtype(kpm, name)
    if other is not None and kpm.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      "type for both instead.", stacklevel=2)
    return _float_mask(kpm, like.dtype, name)


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class _TransformerLayer(Module):
    """What encoder and decoder layers share; registration order gives torch's state_dict."""

    def _build(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
               batch_first, norm_first, bias, device, dtype, cross_attention):
        from .dropout import Dropout
        from .linear import Linear
        from .normalization import LayerNorm
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        if cross_attention:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        n = 3 if cross_attention else 2
        for k in range(1, n + 1):
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for k in range(1, n + 1):
            setattr(self, f"dropout{k}", Dropout(dropout))
        self.activation = _activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_dropout(self, x):
        return self.dropout2(x)

    def _ff_block(self, x):
        act = dispatched(self.activation)       # (F.relu as a default argument: undispatched)
        return self._ff_dropout(self.linear2(self.dropout(act(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, device, dtype, cross_attention=False)
        from .activation import GELU, ReLU
        # (a __torch_function__ dispatcher, once installed, wraps F.relu; the default is not)
        act = getattr(self.activation, "__wrapped__", self.activation)
        self.activation_relu_or_gelu = \
            1 if act is getattr(F.relu, "__wrapped__", F.relu) or isinstance(act, ReLU) else \
            2 if act is getattr(F.gelu, "__wrapped__", F.gelu) or isinstance(act, GELU) else 0

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = _canonical_kpm(src_key_padding_mask, src_mask, src,
                                              "src_key_padding_mask", "src_mask")
        src_mask = _float_mask(src_mask, src.dtype, "src_mask")   # both additive, as torch's
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_TransformerLayer):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, device, dtype, cross_attention=True)

    def _ff_dropout(self, x):
        return self.dropout3(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


def _why_not_nested(layer):
    """torch's reasons, in its order, for an encoder not to use nested tensors (ember never
    does; torch warns when one applies and enable_nested_tensor is left on)."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    attn = layer.self_attn
    for failed, why in (
            (layer.norm_first, "norm_first was True"),
            (not attn.batch_first, "self_attn.batch_first was not True(use batch_first for "
                                   "better inference performance)"),
            (not attn._qkv_same_embed_dim, "self_attn._qkv_same_embed_dim was not True"),
            (attn.in_proj_bias is None, "self_attn was passed bias=False"),
            (not layer.activation_relu_or_gelu, "activation_relu_or_gelu was not True"),
            (layer.norm1.eps != layer.norm2.eps, f"norm1.eps was not equal to {name}.norm2.eps"),
            (attn.num_heads % 2 == 1, "self_attn.num_heads is odd")):
        if failed:
            return f"{name}.{why}"
    return ""


def _detect_is_causal_mask(mask, is_causal, size):
    """torch's: is_causal as given, or (None) whether `mask` equals the causal mask of `size`
    in its own dtype (an integer mask raises there, as torch's full(-inf) into an int). An
    ONNX export keeps the mask (the same values; its exporter records no `all`)."""
    from ...onnx import is_in_onnx_export
    if is_causal is not None or mask is None or is_in_onnx_export():
        return is_causal is True
    causal = Transformer.generate_square_subsequent_mask(
        size if size is not None else mask.size(-2), device=mask.device, dtype=mask.dtype)
    return mask.size() == causal.size() and bool((mask == causal).all())


def _seq_len(src, batch_first):
    """torch's _get_seq_len: the sequence dim's size (None for a nested tensor)."""
    if src.is_nested:
        return None
    return src.size(0) if src.dim() == 2 else src.size(1 if batch_first else 0)


def _clones(module, n):
    from .container import ModuleList
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoder(Module):
    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor = self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn("enable_nested_tensor is True, but self.use_nested_tensor is False "
                          f"because {why_not}", stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = _canonical_kpm(src_key_padding_mask, mask, src,
                                              "src_key_padding_mask", "mask")
        mask = _float_mask(mask, src.dtype, "mask")     # both additive: the layers do not warn
        lengths = self._nested_lengths(src, mask, src_key_padding_mask)
        if lengths is not None:     # torch's nested path: each sequence is its first tokens
            warn_once("The PyTorch API of nested tensors is in prototype stage and will change "
                      "in the near future. We recommend specifying layout=torch.jagged when "
                      "constructing a nested tensor, as this layout receives active development, "
                      "has better operator coverage, and works with torch.compile.", stacklevel=1)
            from ...ops.creation import arange
            keep = arange(src.shape[1], device=src.device) < lengths[:, None]
            src_key_padding_mask = _canonical_kpm(~keep, None, src, "", "")
        out = src
        is_causal = _detect_is_causal_mask(
            mask, is_causal, _seq_len(src, self.layers[0].self_attn.batch_first))
        for mod in self.layers:
            out = mod(out, src_mask=mask, is_causal=is_causal,
                      src_key_padding_mask=src_key_padding_mask)
        if lengths is not None:     # ... padded back with (positive) zeros
            out = out.masked_fill(~keep[:, :, None], 0.0)
        return self.norm(out) if self.norm is not None else out

    def _nested_lengths(self, src, mask, kpm):
        """The tokens per sequence where torch runs the layers on a nested tensor (inference with
        a key padding mask and none of its other conditions failing), else None."""
        from ... import backends
        from ...autograd.grad_mode import is_grad_enabled
        from ...amp.autocast import is_autocast_enabled
        first = self.layers[0]
        if not (backends.mha.get_fastpath_enabled() and getattr(self, "use_nested_tensor", False)
                and not first.training and src.dim() == 3 and kpm is not None
                and mask is None and not is_autocast_enabled()
                and src.device.type in ("cpu", "cuda")):
            return None
        from ..._torch_function import DisableTorchFunction, has_torch_function
        with DisableTorchFunction():    # one op of torch's (_nested_tensor_from_mask_left_aligned)
            valid = kpm == 0
            lengths = valid.sum(1)
            if getattr(self, "mask_check", True):
                from ...ops.creation import arange
                if not bool((valid == (arange(src.shape[1], device=src.device)
                                       < lengths[:, None])).all()):
                    return None         # (not left-aligned)
        attn, ff1, ff2 = first.self_attn, first.linear1, first.linear2
        args = (src, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight,
                attn.out_proj.bias, first.norm1.weight, first.norm1.bias, first.norm2.weight,
                first.norm2.bias, ff1.weight, ff1.bias, ff2.weight, ff2.bias)
        if has_torch_function(args) or is_grad_enabled() and any(a.requires_grad for a in args):
            return None
        return lengths


class TransformerDecoder(Module):
    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        out = tgt
        tgt_is_causal = _detect_is_causal_mask(
            tgt_mask, tgt_is_causal, _seq_len(tgt, self.layers[0].self_attn.batch_first))
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        from .normalization import LayerNorm
        kw = {"device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        **kw))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        if src.dim() == 3 and src.shape[0 if self.batch_first else 1] != \
                tgt.shape[0 if self.batch_first else 1]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        from ...ops.creation import full      # (torch.full, as modes see it: sz may be traced)
        return dispatched(full)((sz, sz), float("-inf"), dtype=dtype or _dtype.DEFAULT.float,
                                device=device).triu(diagonal=1)
