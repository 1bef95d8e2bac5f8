"""torch.ao.quantization.stubs: where a float model's quantized part begins and ends
(QuantStub, DeQuantStub; convert swaps them for Quantize and DeQuantize)."""
from ember import nn


class _Stub(nn.Module):
    """An identity that carries a qconfig until convert replaces it."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_Stub):
    pass


class DeQuantStub(_Stub):
    pass


class QuantWrapper(nn.Module):
    """module between a QuantStub and a DeQuantStub."""

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))
