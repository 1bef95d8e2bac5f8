"""torch.mtia as a build without Meta's accelerator has it: nothing is available, the queries
that need no device answer, and the rest raise torch's errors."""
from ._absent_device import (device_count, get_rng_state_all, is_available,  # noqa: F401
                             is_initialized, memory_allocated, set_rng_state_all)
from ._streams import Event, Stream

__all__ = ["is_available", "device_count", "is_initialized", "init", "current_device",
           "set_device", "synchronize", "empty_cache", "current_stream", "default_stream",
           "get_device_capability", "get_device_properties", "memory_allocated",
           "max_memory_allocated", "memory_stats", "reset_peak_memory_stats", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state",
           "get_rng_state_all", "set_rng_state", "set_rng_state_all", "is_bf16_supported",
           "Stream", "Event", "device"]

_NOT_COMPILED = ("Torch not compiled with MTIA enabled. Ensure you have `import "
                 "mtia.host_runtime.torch_mtia.dynamic_library` in your python src file and "
                 "include `//mtia/host_runtime/torch_mtia:torch_mtia` as your target dependency!")


def _without(call):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"Cannot execute {call}() without MTIA backend.")
    return refuse


def _not_compiled(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


current_device = synchronize = current_stream = default_stream = _without("getCurrentDevice")
get_device_capability = get_device_properties = set_rng_state = _without("getCurrentDevice")
set_device = _without("setCurrentDevice")
empty_cache = _without("emptyCache")
init = initial_seed = get_rng_state = _not_compiled


def is_bf16_supported(including_emulation=True):
    return True


max_memory_allocated = memory_allocated


def memory_stats(device=None):
    return {}


def reset_peak_memory_stats(device=None):
    return None


def manual_seed(seed):
    return None


manual_seed_all = manual_seed


def seed():
    return None


seed_all = seed


class device:
    """torch.mtia.device: refused on entry."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise RuntimeError("Cannot execute maybeExchangeDevice() without MTIA backend.")

    def __exit__(self, *exc):
        return False
