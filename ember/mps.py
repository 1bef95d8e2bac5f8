"""torch.mps away from Apple silicon: nothing is available, and the calls that need the Metal
backend raise torch's RuntimeError naming the missing call, so device-selection code written for
torch runs unchanged."""
from ._absent_device import device_count, is_available  # noqa: F401

__all__ = ["is_available", "device_count", "synchronize", "empty_cache", "manual_seed", "seed",
           "get_rng_state", "set_rng_state", "current_allocated_memory",
           "driver_allocated_memory", "recommended_max_memory", "set_per_process_memory_fraction",
           "compile_shader", "Event", "profiler"]


def _without(call):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"Cannot execute {call}() without MPS backend.")
    return refuse


synchronize = _without("deviceSynchronize")
empty_cache = _without("emptyCache")
seed = get_rng_state = set_rng_state = _without("getDefaultGenerator")
current_allocated_memory = _without("getCurrentAllocatedMemory")
driver_allocated_memory = _without("getDriverAllocatedMemory")
recommended_max_memory = _without("getRecommendedMaxMemory")
set_per_process_memory_fraction = _without("setMemoryFraction")


def manual_seed(seed):
    """Without the backend torch ignores the seed."""
    return None


def compile_shader(source):
    raise RuntimeError("MPS is not available")


class Event:
    def __init__(self, enable_timing=False):
        raise RuntimeError("Cannot execute acquireEvent() without MPS backend.")


class profiler:
    """torch.mps.profiler's entry points, refused."""
    start = staticmethod(_without("profilerStartTrace"))
    stop = staticmethod(_without("profilerStopTrace"))
