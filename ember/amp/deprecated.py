"""The deprecated device spellings torch.cuda.amp.* and torch.cpu.amp.*: ember.amp's autocast
and GradScaler for one device, with torch's FutureWarning."""
import warnings

from .autocast import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _warn(device_type, name):
    warnings.warn(f"`torch.{device_type}.amp.{name}(args...)` is deprecated. Please use "
                  f"`torch.amp.{name}('{device_type}', args...)` instead.", FutureWarning,
                  stacklevel=3)


def spellings(device_type, default_dtype=None):
    """(autocast, GradScaler) as torch.<device_type>.amp has them."""
    def autocast(enabled=True, dtype=default_dtype, cache_enabled=True):
        _warn(device_type, "autocast")
        return _autocast(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                   growth_interval=2000, enabled=True):
        _warn(device_type, "GradScaler")
        return _GradScaler(device_type, init_scale, growth_factor, backoff_factor,
                           growth_interval, enabled)
    return autocast, GradScaler
