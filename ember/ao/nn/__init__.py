"""torch.ao.nn: quantized, fused and quantization-aware training modules."""
from . import intrinsic, qat, quantized  # noqa: F401
