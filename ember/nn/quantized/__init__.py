"""torch.nn.quantized: the old name of torch.ao.nn.quantized."""
from ember.ao.nn.quantized import *  # noqa: F401,F403
from . import dynamic  # noqa: F401,E402
from ember.ao.nn.quantized import functional  # noqa: F401,E402
