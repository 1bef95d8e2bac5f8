"""torch.ao: the quantization tools (ember.ao.quantization) and the quantized and fused
modules (ember.ao.nn)."""
from . import nn, quantization  # noqa: F401
