"""torch.ao.nn.intrinsic.quantized: the quantized modules of fused float ones (the ReLU done in
the requantization)."""
from ember.ao.nn import intrinsic as nni
from ember.ao.nn.quantized import BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, Linear
from ember.ops._quantized_nn import linear


class LinearReLU(Linear):
    _FLOAT_MODULE = nni.LinearReLU

    def forward(self, x):
        return linear(x, self._packed_params._packed_params, self.scale, self.zero_point,
                      relu=True)

    def _get_name(self):
        return "QuantizedLinearReLU"


class ConvReLU2d(Conv2d):
    _FLOAT_MODULE = nni.ConvReLU2d
    _NNIQAT_CONV_BN_MODULE = nni.qat.ConvBnReLU2d
    _relu = True

    def _get_name(self):
        return "QuantizedConvReLU2d"


class ConvReLU1d(Conv1d):
    _FLOAT_MODULE = nni.ConvReLU1d
    _NNIQAT_CONV_BN_MODULE = nni.qat.ConvBnReLU1d
    _relu = True

    def _get_name(self):
        return "QuantizedConvReLU1d"


class ConvReLU3d(Conv3d):
    _FLOAT_MODULE = nni.ConvReLU3d
    _NNIQAT_CONV_BN_MODULE = nni.qat.ConvBnReLU3d
    _relu = True

    def _get_name(self):
        return "QuantizedConvReLU3d"


class BNReLU2d(BatchNorm2d):
    _FLOAT_MODULE = nni.BNReLU2d
    _relu = True

    def _get_name(self):
        return "QuantizedBNReLU2d"


class BNReLU3d(BatchNorm3d):
    _FLOAT_MODULE = nni.BNReLU3d
    _relu = True

    def _get_name(self):
        return "QuantizedBNReLU3d"
