"""torch.autograd.variable: the legacy module of Variable (`from torch.autograd.variable import
Variable` in older code)."""
from . import Variable

__all__ = ["Variable"]
