"""torch.nn.quantized.dynamic: the old name of torch.ao.nn.quantized.dynamic."""
from ember.ao.nn.quantized.dynamic import Linear  # noqa: F401
