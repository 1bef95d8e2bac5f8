"""torch.ao.nn.quantized.Linear (quantized in, quantized out) and LinearPackedParams, the
holder of the packed weight and bias whose state_dict entry is the (weight, bias) pair."""
import ember as torch
from ember import nn
from ember.ops._quantized_nn import LinearPacked, linear

from .utils import (WeightedQuantizedModule, _OutputQParams, _hide_packed_params_repr,
                    _quantize_weight)


class LinearPackedParams(torch.nn.Module):
    _version = 3

    def __init__(self, dtype=torch.qint8):
        super().__init__()
        self.dtype = dtype
        if dtype is not torch.qint8:
            raise NotImplementedError("ember: only qint8 quantized linear weights are "
                                      "supported")
        self.set_weight_bias(torch._empty_affine_quantized([1, 1], scale=1.0, zero_point=0,
                                                           dtype=torch.qint8), None)

    def set_weight_bias(self, weight, bias):
        self._packed_params = LinearPacked(weight, bias)

    def _weight_bias(self):
        return self._packed_params.unpack()

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype")
        weight, bias = state_dict.pop(prefix + "_packed_params")
        self.set_weight_bias(weight, bias)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def __repr__(self):
        return self._weight_bias().__repr__()


class Linear(_OutputQParams, WeightedQuantizedModule):
    """y = x W^T + b on quantized tensors, requantized to the module's scale and zero point."""
    _version = 3
    _FLOAT_MODULE = (nn.Linear, nn.modules.linear.NonDynamicallyQuantizableLinear)

    def __init__(self, in_features, out_features, bias_=True, dtype=torch.qint8):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bias = torch.zeros(out_features, dtype=torch.float) if bias_ else None
        if dtype is not torch.qint8:
            raise RuntimeError("Unsupported dtype specified for quantized Linear!")
        qweight = torch._empty_affine_quantized([out_features, in_features], scale=1,
                                                zero_point=0, dtype=torch.qint8)
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(qweight, bias)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "QuantizedLinear"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}, "
                f"qscheme={self.weight().qscheme()}")

    def __repr__(self):
        return _hide_packed_params_repr(self, LinearPackedParams)

    def forward(self, x):
        return linear(x, self._packed_params._packed_params, self.scale, self.zero_point)

    def _weight_bias(self):
        return self._packed_params._weight_bias()

    def weight(self):
        return self._weight_bias()[0]

    def bias(self):
        return self._weight_bias()[1]

    def set_weight_bias(self, w, b):
        self._packed_params.set_weight_bias(w, b)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized module of an observed float one (after prepare and calibration)."""
        from ember.ao.nn.intrinsic import LinearReLU, qat
        if hasattr(mod, "weight_fake_quant"):       # a QAT module (its batch norm folded in)
            if type(mod) is qat.LinearBn1d:
                mod.weight, mod.bias = torch.nn.utils.fuse_linear_bn_weights(
                    mod.weight, mod.bias, mod.bn.running_mean, mod.bn.running_var, mod.bn.eps,
                    mod.bn.weight, mod.bn.bias)
            weight_post_process = mod.weight_fake_quant
            activation_post_process = mod.activation_post_process
        else:
            float_modules = cls._FLOAT_MODULE if isinstance(cls._FLOAT_MODULE, tuple) else \
                (cls._FLOAT_MODULE,)
            if type(mod) not in float_modules:
                names = ", ".join(m.__name__ for m in float_modules)
                raise AssertionError(f"nnq.{cls.__name__}.from_float only works for {names}, "
                                     f"but got: {type(mod)}")
            if not hasattr(mod, "qconfig"):
                raise AssertionError("Input float module must have qconfig defined")
            activation_post_process = mod.activation_post_process
            if type(mod) is LinearReLU:
                mod = mod[0]
            weight_post_process = mod.qconfig.weight()
        if not use_precomputed_fake_quant:
            weight_post_process(mod.weight)
        dtype = weight_post_process.dtype
        act_scale, act_zp = activation_post_process.calculate_qparams()
        if dtype is not torch.qint8:
            raise AssertionError(f"Weight observer must have dtype torch.qint8, got {dtype}")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qlinear = cls(mod.in_features, mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        qlinear.scale = float(act_scale)
        qlinear.zero_point = int(act_zp)
        return qlinear
