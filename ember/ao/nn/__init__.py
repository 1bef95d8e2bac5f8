"""torch.ao.nn: quantized and fused modules."""
from . import intrinsic, quantized  # noqa: F401
