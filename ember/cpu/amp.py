"""torch.cpu.amp: the deprecated spellings of ember.amp's autocast and GradScaler for the CPU."""
from .._dtype import bfloat16
from ..amp.deprecated import spellings

autocast, GradScaler = spellings("cpu", bfloat16)
