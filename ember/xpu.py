"""torch.xpu as a build without Intel GPU support has it: nothing is available, the queries that
need no device answer (0 devices, no memory in use), and the rest raise torch's errors, so that
device-selection code written for torch runs unchanged."""
import collections

from ._absent_device import (device_count, get_rng_state_all, is_available,  # noqa: F401
                             is_initialized, memory_allocated, set_rng_state_all)

__all__ = ["is_available", "device_count", "is_initialized", "init", "current_device",
           "set_device", "synchronize", "get_device_name", "get_device_properties",
           "get_device_capability", "current_stream", "set_stream", "stream", "device",
           "device_of", "mem_get_info", "empty_cache", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_stats",
           "memory_stats_as_nested_dict", "memory_snapshot", "manual_seed", "manual_seed_all",
           "seed", "seed_all", "initial_seed", "get_rng_state", "get_rng_state_all",
           "set_rng_state", "set_rng_state_all", "is_bf16_supported", "is_tf32_supported",
           "get_arch_list", "get_gencode_flags", "can_device_access_peer",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction"]


def _not_compiled(*args, **kwargs):
    raise AssertionError("Torch not compiled with XPU enabled")


init = current_device = set_device = synchronize = get_device_name = _not_compiled
get_device_properties = get_device_capability = current_stream = mem_get_info = _not_compiled
initial_seed = get_rng_state = can_device_access_peer = _not_compiled
set_per_process_memory_fraction = get_per_process_memory_fraction = _not_compiled


def is_bf16_supported(including_emulation=True):
    return False


def is_tf32_supported():
    return False


def get_arch_list():
    return []


def get_gencode_flags():
    return ""


def empty_cache():
    return None


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def memory_stats(device=None):
    return collections.OrderedDict()


def memory_stats_as_nested_dict(device=None):
    return {}


def memory_snapshot(mempool_id=None):
    return []


def manual_seed(seed):
    """Queued for the first XPU use, which never comes: checks the seed only."""
    int(seed)


def manual_seed_all(seed):
    int(seed)


def seed():
    return None


def seed_all():
    return None


def set_rng_state(new_state, device="xpu"):
    return None


def set_stream(stream):
    return None


def stream(stream):
    """torch.xpu.stream(None) is a no-op context."""
    import contextlib
    return contextlib.nullcontext()


class device:
    """torch.xpu.device: refused on entry."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise NotImplementedError("PyTorch was compiled without XPU support")

    def __exit__(self, *exc):
        return False


class device_of(device):
    def __init__(self, obj):
        super().__init__(-1)
