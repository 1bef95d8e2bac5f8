"""ember.accelerator (torch.accelerator): device-generic code's view of the accelerator.

ember's one accelerator is CUDA through CuPy. Where CuPy sees no GPU there is none, as in a CPU
build of torch: current_accelerator() is None, is_available() False, device_count() 0, and the
calls that need a device raise torch's RuntimeError."""
from . import cuda as _cuda
from .backends import device as _device

__all__ = ["current_accelerator", "current_device_index", "current_stream", "device_count",
           "device_index", "empty_cache", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_peak_memory_stats", "set_device_index", "set_stream", "synchronize"]


def current_accelerator(check_available=False):
    return _device("cuda") if _cuda.is_available() else None


def is_available():
    return _cuda.is_available()


def device_count():
    return _cuda.device_count()


def _require():
    if not _cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def _index(device):
    """The device index of `device` (int, str or device; None: the current one)."""
    _require()
    if device is None:
        return _cuda.current_device()
    if not isinstance(device, int):
        d = _device(device)
        if d.type != "cuda":
            raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
        return d.index if d.index is not None else _cuda.current_device()
    return device


def current_device_index():
    return _index(None)


def set_device_index(device):
    idx = _index(device)
    if idx >= 0:
        _cuda.set_device(idx)


class device_index:
    """Context manager that makes `device` the current accelerator index (None: no change)."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        if self.idx is not None:
            self.prev = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc):
        if self.idx is not None:
            set_device_index(self.prev)


def current_stream(device=None):
    return _cuda.current_stream(_index(device))


def set_stream(stream):
    _require()
    stream._s.use()


def synchronize(device=None):
    _cuda.synchronize(_index(device))


def empty_cache():
    _require()
    _cuda.empty_cache()


def memory_allocated(device=None):
    return _cuda.memory_allocated(_index(device))


def max_memory_allocated(device=None):
    return _cuda.max_memory_allocated(_index(device))


def memory_reserved(device=None):
    return _cuda.memory_reserved(_index(device))


def max_memory_reserved(device=None):
    return _cuda.max_memory_reserved(_index(device))


def memory_stats(device=None):
    return _cuda.memory_stats(_index(device))


def reset_peak_memory_stats(device=None):
    _cuda.reset_peak_memory_stats(_index(device))
