"""torch.ao.nn.qat: Linear, convolution and embedding layers for quantization-aware training,
whose weight goes through the qconfig's weight fake quantize (`weight_fake_quant`) on every
forward; convert turns them into the quantized modules."""
import ember as torch
from ember import nn
from ember.nn import functional as F
from ember.nn.modules.utils import _pair, _single, _triple


def _checked(cls, mod):
    """mod, a float module prepare_qat may swap for cls (its Linear or Conv of a fused one)."""
    from ember.ao.nn.intrinsic import _FusedModule
    if type(mod) is not cls._FLOAT_MODULE:
        raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                             f"{cls._FLOAT_MODULE.__name__}, got {type(mod).__name__}")
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if not mod.qconfig:
        raise AssertionError("Input float module must have a valid qconfig")
    return mod[0] if isinstance(mod, _FusedModule) else mod


class Linear(nn.Linear):
    """nn.Linear computing with its fake-quantized weight."""
    _FLOAT_MODULE = nn.Linear

    def __init__(self, in_features, out_features, bias=True, qconfig=None, device=None,
                 dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(in_features, out_features, bias, **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input):
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module sharing mod's parameters."""
        mod = _checked(cls, mod)
        qat_linear = cls(mod.in_features, mod.out_features, bias=mod.bias is not None,
                         qconfig=mod.qconfig)
        qat_linear.weight = mod.weight
        qat_linear.bias = mod.bias
        return qat_linear

    def to_float(self):
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = nn.Parameter(self.bias.detach())
        linear.train(self.training)
        return linear


class _ConvNd(nn.modules.conv._ConvNd):
    """A convolution computing with its fake-quantized weight."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", qconfig=None,
                 device=None, dtype=None):
        t = self._tuple
        factory_kwargs = {"device": device, "dtype": dtype}
        nn.modules.conv._ConvNd.__init__(
            self, in_channels, out_channels, t(kernel_size), t(stride),
            padding if isinstance(padding, str) else t(padding), t(dilation), False, t(0),
            groups, bias, padding_mode, **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input):
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT convolution sharing mod's parameters (mod a float conv, or conv-relu)."""
        conv = _checked(cls, mod)
        qat_conv = cls(conv.in_channels, conv.out_channels, conv.kernel_size,
                       stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                       groups=conv.groups, bias=conv.bias is not None,
                       padding_mode=conv.padding_mode, qconfig=conv.qconfig)
        qat_conv.weight = conv.weight
        qat_conv.bias = conv.bias
        return qat_conv

    def to_float(self):
        from ember.ao.nn.intrinsic import _FusedModule
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                       self.stride, self.padding, self.dilation, self.groups,
                                       self.bias is not None, self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        if isinstance(self, _FusedModule):
            fused = self._FLOAT_MODULE(conv, self._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        return conv


class Conv1d(_ConvNd, nn.Conv1d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv1d
    _tuple = staticmethod(_single)


class Conv2d(_ConvNd, nn.Conv2d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv2d
    _tuple = staticmethod(_pair)


class Conv3d(_ConvNd, nn.Conv3d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv3d
    _tuple = staticmethod(_triple)


def _float_qparams(qconfig, what):
    """qconfig's weight fake quantize must use per_channel_affine_float_qparams."""
    scheme = qconfig.weight().qscheme
    if scheme is not torch.per_channel_affine_float_qparams:
        raise AssertionError(f"{what} weights requires a qscheme of "
                             f"torch.per_channel_affine_float_qparams Got {scheme}")


def _checked_embedding(cls, mod, what):
    if type(mod) is not cls._FLOAT_MODULE:
        raise AssertionError(f" qat.{cls.__name__}.from_float only works for "
                             f"{cls._FLOAT_MODULE.__name__}")
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if not mod.qconfig:
        raise AssertionError("Input float module must have a valid qconfig")
    _float_qparams(mod.qconfig, what)


class Embedding(nn.Embedding):
    """nn.Embedding looking up its fake-quantized weight (float qparams, one row a channel)."""
    _FLOAT_MODULE = nn.Embedding

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 device=None, dtype=None, qconfig=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        _float_qparams(qconfig, "Embedding")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input):
        return F.embedding(input, self.weight_fake_quant(self.weight), self.padding_idx,
                           self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT embedding sharing mod's weight."""
        _checked_embedding(cls, mod, "Embedding")
        return cls(mod.num_embeddings, mod.embedding_dim, mod.padding_idx, mod.max_norm,
                   mod.norm_type, mod.scale_grad_by_freq, mod.sparse, mod.weight,
                   qconfig=mod.qconfig)

    def to_float(self):
        embedding = nn.Embedding(self.num_embeddings, self.embedding_dim, self.padding_idx,
                                 self.max_norm, self.norm_type, self.scale_grad_by_freq,
                                 self.sparse, None)
        embedding.weight = nn.Parameter(self.weight.detach())
        embedding.train(self.training)
        return embedding


class EmbeddingBag(nn.EmbeddingBag):
    """nn.EmbeddingBag reducing its fake-quantized weight's rows (float qparams)."""
    _FLOAT_MODULE = nn.EmbeddingBag

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, qconfig=None, device=None,
                 dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(num_embeddings, embedding_dim, max_norm, norm_type,
                         scale_grad_by_freq, mode, sparse, _weight, include_last_offset,
                         padding_idx, **factory_kwargs)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        _float_qparams(qconfig, "Embedding Bag")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight(factory_kwargs=factory_kwargs)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight_fake_quant(self.weight), offsets,
                               self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights,
                               self.include_last_offset, self.padding_idx)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT embedding bag sharing mod's weight."""
        _checked_embedding(cls, mod, "Embedding Bag")
        return cls(mod.num_embeddings, mod.embedding_dim, mod.max_norm, mod.norm_type,
                   mod.scale_grad_by_freq, mod.mode, mod.sparse, mod.weight,
                   mod.include_last_offset, mod.padding_idx, qconfig=mod.qconfig)

    def to_float(self):
        bag = nn.EmbeddingBag(self.num_embeddings, self.embedding_dim, self.max_norm,
                              self.norm_type, self.scale_grad_by_freq, self.mode, self.sparse,
                              None, self.include_last_offset, self.padding_idx)
        bag.weight = nn.Parameter(self.weight.detach())
        bag.train(self.training)
        return bag


__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d", "Embedding", "EmbeddingBag"]
