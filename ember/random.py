"""ember.random (torch.random): the default generator's seed and state, and fork_rng."""
import contextlib

from .ops.random import (default_generator, get_rng_state, initial_seed, manual_seed, seed,
                         set_rng_state)

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Random draws inside the block leave the default generator as it was before it."""
    if not enabled:
        yield
        return
    with default_generator._forked():
        yield
