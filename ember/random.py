"""ember.random (torch.random): the default generator's seed and state, and fork_rng."""
import contextlib

from .ops.random import (cuda_states, default_generator, get_rng_state, initial_seed,
                         manual_seed, seed, set_cuda_states, set_rng_state)

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state",
           "thread_safe_generator"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Random draws inside the block leave the default generators as they were before it (the
    CPU's, and those of the CUDA devices in use unless `devices` is empty)."""
    if not enabled:
        yield
        return
    cuda = cuda_states() if devices is None or len(devices) else {}
    with default_generator._forked():
        try:
            yield
        finally:
            set_cuda_states(cuda)


def thread_safe_generator():
    """torch.random.thread_safe_generator: a DataLoader thread worker's own generator, None
    elsewhere. ember's DataLoader workers are processes, so it is always None (the global
    generator), as torch's is in process workers and the main process."""
    return None
