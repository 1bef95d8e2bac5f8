"""torch.ao.nn.quantized's activations and Dropout: what convert makes of the float ones."""
import ember as torch


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
