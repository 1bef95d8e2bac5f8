"""torch.ao.nn.intrinsic.qat: the fused modules for quantization-aware training. ConvBn2d
folds its batch norm's running statistics into the weight it fake-quantizes and scales the
convolution back, so the batch norm still trains (until freeze_bn_stats); convert folds the
statistics for good."""
import math

import ember as torch
from ember import nn
from ember.ao.nn import intrinsic as nni, qat as nnqat
from ember.nn import functional as F, init
from ember.nn.modules.utils import _pair, _single, _triple
from ember.nn.parameter import Parameter


class _BnFolding:
    """The batch norm switches of ConvBn and LinearBn1d (which train their batch norm `bn`)."""

    def _init_bn(self, bn_cls, n, bias, eps, momentum, freeze_bn, qconfig):
        """The batch norm, weight fake-quantizer and bias (torch leaves it uninitialized) of a
        module whose float layer was built without a bias."""
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = bn_cls(n, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = Parameter(torch.empty(n))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self):
        self.bn.reset_running_stats()

    def update_bn_stats(self):
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self):
        self.freeze_bn = True
        self.bn.training = False
        return self

    def train(self, mode=True):
        """Sets the mode; the batch norm's too unless its statistics are frozen."""
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self


class _ConvBnNd(_BnFolding, nn.modules.conv._ConvNd, nni._FusedModule):
    _version = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None, dim=2):
        nn.modules.conv._ConvNd.__init__(self, in_channels, out_channels, kernel_size, stride,
                                         padding, dilation, transposed, output_padding,
                                         groups, False, padding_mode)
        self._init_bn(self._FLOAT_BN_MODULE, out_channels, bias, eps, momentum, freeze_bn,
                      qconfig)
        self._enable_slow_path_for_better_numerical_stability = False

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:       # (the convolution's bias)
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _forward(self, input):
        if self._enable_slow_path_for_better_numerical_stability:
            raise NotImplementedError("ember: the slow path of fused conv-bn QAT modules is "
                                      "not supported")
        running_std = torch.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        weight_shape = [1] * len(self.weight.shape)
        weight_shape[0] = -1
        bias_shape = [1] * len(self.weight.shape)
        bias_shape[1] = -1
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        if self.bias is not None:
            zero_bias = torch.zeros_like(self.bias, dtype=input.dtype)
        else:
            zero_bias = torch.zeros(self.out_channels, device=scaled_weight.device,
                                    dtype=input.dtype)
        conv = self._conv_forward(input, scaled_weight, zero_bias)
        conv_orig = conv / scale_factor.reshape(bias_shape)
        if self.bias is not None:
            conv_orig = conv_orig + self.bias.reshape(bias_shape)
        return self.bn(conv_orig)

    def forward(self, input):
        return self._forward(input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module of a fused float conv-bn(-relu), sharing its parameters and batch
        norm statistics."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError("qat." + cls.__name__ + ".from_float only works for " +
                                 cls._FLOAT_MODULE.__name__)
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        conv, bn = mod[0], mod[1]
        qat_convbn = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                         conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                         conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        qat_convbn.weight = conv.weight
        qat_convbn.bias = conv.bias
        qat_convbn.bn.weight = bn.weight
        qat_convbn.bn.bias = bn.bias
        qat_convbn.bn.running_mean = bn.running_mean
        qat_convbn.bn.running_var = bn.running_var
        qat_convbn.bn.num_batches_tracked = bn.num_batches_tracked
        return qat_convbn

    def to_float(self):
        """The float conv (-relu) with the batch norm folded in."""
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                       self.stride, self.padding, self.dilation, self.groups,
                                       self.bias is not None, self.padding_mode)
        conv.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = Parameter(self.bias.detach())
        conv.weight, conv.bias = nn.utils.fuse_conv_bn_weights(
            conv.weight, conv.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        if self._FLOAT_RELU_MODULE:
            fused = self._FUSED_FLOAT_MODULE(conv, self._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        conv.train(self.training)
        return conv


class _ConvBn(_ConvBnNd):
    """The constructor of ConvBn1d, 2d and 3d (sizes as tuples of the class's `_tuple`)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=None, padding_mode="zeros", eps=1e-05, momentum=0.1,
                 freeze_bn=False, qconfig=None):
        t = self._tuple
        _ConvBnNd.__init__(self, in_channels, out_channels, t(kernel_size), t(stride),
                           t(padding), t(dilation), False, t(0), groups, bias, padding_mode, eps,
                           momentum, freeze_bn, qconfig, dim=len(t(0)))


class _ConvReLU:
    """The forward of the QAT ConvReLU1d, 2d and 3d (a QAT conv and a fused module)."""
    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight),
                                         self.bias))


class _BnReLU:
    """The forward of ConvBnReLU1d, 2d and 3d."""
    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._forward(input))


def _dims(n, tuple_, conv, bn, qat_conv):
    """ConvBn{n}d, ConvBnReLU{n}d and ConvReLU{n}d."""
    attrs = {"__module__": __name__, "_tuple": staticmethod(tuple_), "_FLOAT_CONV_MODULE": conv,
             "_FLOAT_BN_MODULE": bn, "_FLOAT_RELU_MODULE": None,
             "_FLOAT_MODULE": getattr(nni, f"ConvBn{n}d")}
    conv_bn = type(f"ConvBn{n}d", (_ConvBn, conv), attrs)
    conv_bn_relu = type(f"ConvBnReLU{n}d", (_BnReLU, conv_bn), {
        "__module__": __name__, "_FLOAT_MODULE": getattr(nni, f"ConvBnReLU{n}d"),
        "_FUSED_FLOAT_MODULE": getattr(nni, f"ConvReLU{n}d")})
    conv_relu = type(f"ConvReLU{n}d", (_ConvReLU, qat_conv, nni._FusedModule), {
        "__module__": __name__, "_FLOAT_MODULE": getattr(nni, f"ConvReLU{n}d")})
    return conv_bn, conv_bn_relu, conv_relu


ConvBn1d, ConvBnReLU1d, ConvReLU1d = _dims(1, _single, nn.Conv1d, nn.BatchNorm1d,
                                           nnqat.Conv1d)
ConvBn2d, ConvBnReLU2d, ConvReLU2d = _dims(2, _pair, nn.Conv2d, nn.BatchNorm2d, nnqat.Conv2d)
ConvBn3d, ConvBnReLU3d, ConvReLU3d = _dims(3, _triple, nn.Conv3d, nn.BatchNorm3d,
                                           nnqat.Conv3d)


class LinearReLU(nnqat.Linear, nni._FusedModule):
    _FLOAT_MODULE = nni.LinearReLU

    def forward(self, input):
        return F.relu(F.linear(input, self.weight_fake_quant(self.weight), self.bias))

    def to_float(self):
        linear = super().to_float()
        return nni.LinearReLU(linear, nn.ReLU())


class LinearBn1d(_BnFolding, nn.Linear, nni._FusedModule):
    """Linear then BatchNorm1d for QAT: the batch norm's running statistics folded into the
    fake-quantized weight (as _ConvBnNd's)."""

    def __init__(self, in_features, out_features, bias=True, eps=1e-05, momentum=0.1,
                 freeze_bn=False, qconfig=None):
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._init_bn(nn.BatchNorm1d, out_features, bias, eps, momentum, freeze_bn, qconfig)

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)

    def forward(self, input):
        scale_factor = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(-1, 1))
        if self.bias is not None:
            zero_bias = torch.zeros_like(self.bias)
        else:
            zero_bias = torch.zeros(self.out_features, device=scaled_weight.device)
        out = F.linear(input, scaled_weight, zero_bias) / scale_factor.reshape(1, -1)
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1)
        return self.bn(out)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module of a fused Linear-BatchNorm1d, sharing its parameters and
        statistics."""
        if type(mod) is not nni.LinearBn1d:
            raise AssertionError("qat." + cls.__name__ + ".from_float only works for LinearBn1d")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid config")
        linear, bn = mod[0], mod[1]
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None, bn.eps,
                  bn.momentum, False, mod.qconfig)
        qat.weight, qat.bias = linear.weight, linear.bias
        qat.bn.weight, qat.bn.bias = bn.weight, bn.bias
        qat.bn.running_mean, qat.bn.running_var = bn.running_mean, bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self):
        """The float Linear with the batch norm folded in."""
        linear = nn.Linear(self.in_features, self.out_features)
        linear.weight, linear.bias = nn.utils.fuse_linear_bn_weights(
            self.weight, self.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        return linear


_CONV_BN = (ConvBn1d, ConvBnReLU1d, ConvBn2d, ConvBnReLU2d, ConvBn3d, ConvBnReLU3d)


def update_bn_stats(mod):
    """Lets a fused conv-bn module's batch norm update its statistics (for Module.apply)."""
    if type(mod) in _CONV_BN:
        mod.update_bn_stats()


def freeze_bn_stats(mod):
    """Freezes a fused conv-bn module's batch norm statistics (for Module.apply)."""
    if type(mod) in _CONV_BN:
        mod.freeze_bn_stats()


__all__ = ["ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d",
           "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearBn1d", "LinearReLU",
           "update_bn_stats", "freeze_bn_stats"]
