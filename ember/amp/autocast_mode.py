"""torch.amp.autocast_mode: the module torch's autocast and custom_fwd/custom_bwd live in."""
from .autocast import autocast
from .custom import custom_bwd, custom_fwd, is_autocast_available

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
