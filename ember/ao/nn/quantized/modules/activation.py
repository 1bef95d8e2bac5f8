"""torch.ao.nn.quantized's activations and Dropout: what convert makes of the float ones."""
import ember as torch
from ember._quantized import _qtensor
from ember.ops._quantized_nn import elu, hardswish, leaky_relu


class ReLU6(torch.nn.ReLU):
    """min(max(x, zero_point), q(6)) on the integers (torch's quantized::relu6)."""

    def __init__(self, inplace=False):
        super().__init__(inplace)
        self.inplace = inplace

    def forward(self, input):
        return torch.nn.functional.relu6(input, self.inplace)

    def _get_name(self):
        return "QuantizedReLU6"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return ReLU6(mod.inplace)


class Dropout(torch.nn.Dropout):
    """The identity on quantized tensors (a quantized model runs in eval mode)."""

    def forward(self, input):
        return input

    def _get_name(self):
        return "QuantizedDropout"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(mod.p, mod.inplace)


class Hardswish(torch.nn.Hardswish):
    """x * relu6(x + 3) / 6 of the dequantized values, quantized with the module's scale and
    zero point (buffers, the scale float32)."""

    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", torch.tensor(zero_point, device=device, dtype=dtype))

    def forward(self, input):
        return _qtensor(hardswish(input.arr, float(self.scale), int(self.zero_point)),
                        input.be)

    def _get_name(self):
        return "QuantizedHardswish"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Hardswish(float(scale), int(zero_point))


class LeakyReLU(torch.nn.LeakyReLU):
    """leaky_relu of the dequantized values, quantized with the module's scale and zero point
    (buffers, the scale float32); never in place (torch's kernel ignores inplace=True)."""

    def __init__(self, scale, zero_point, negative_slope=1e-2, inplace=False, device=None,
                 dtype=None):
        super().__init__(negative_slope, inplace)
        self.register_buffer("scale", torch.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", torch.tensor(zero_point, device=device, dtype=dtype))

    def forward(self, input):
        return _qtensor(leaky_relu(input.arr, self.negative_slope, float(self.scale),
                                   int(self.zero_point)), input.be)

    def _get_name(self):
        return "QuantizedLeakyReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point), mod.negative_slope, mod.inplace)


class ELU(torch.nn.ELU):
    """elu of the dequantized values, quantized with the module's scale and zero point (plain
    attributes, as torch's)."""

    def __init__(self, scale, zero_point, alpha=1.0):
        super().__init__(alpha)
        self.scale = scale
        self.zero_point = zero_point

    def forward(self, input):
        return _qtensor(elu(input.arr, self.scale, self.zero_point, self.alpha), input.be)

    def _get_name(self):
        return "QuantizedELU"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return ELU(float(scale), int(zero_point), mod.alpha)
