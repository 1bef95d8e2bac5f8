"""Automatic mixed precision: `autocast` (an op policy table read by the apply path) and
`GradScaler` (dynamic loss scaling)."""
from .autocast import autocast, is_autocast_enabled, get_autocast_dtype
from .custom import custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler
from . import autocast_mode  # noqa: F401  (torch.amp.autocast_mode)

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype", "custom_fwd",
           "custom_bwd", "is_autocast_available"]
