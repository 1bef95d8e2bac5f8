"""torch.ao.nn.quantized's activations and Dropout: what convert makes of the float ones."""
import ember as torch
from ember.ops._quantized_nn import hardswish


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
        return hardswish(input, float(self.scale), int(self.zero_point))

    def _get_name(self):
        return "QuantizedHardswish"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Hardswish(float(scale), int(zero_point))
