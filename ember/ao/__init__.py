"""torch.ao: the quantization tools (ember.ao.quantization)."""
from . import quantization  # noqa: F401
