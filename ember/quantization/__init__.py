"""torch.quantization: the old name of torch.ao.quantization."""
from ember.ao.quantization import *  # noqa: F401,F403
