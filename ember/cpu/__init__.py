"""ember.cpu (torch.cpu): the CPU as a device module, as torch.get_device_module("cpu") and
device-generic code see it. The CPU runs eagerly on NumPy: there is one device, streams are
placeholders and synchronize() has nothing to wait for."""
from . import amp  # noqa: F401  (torch.cpu.amp's deprecated spellings)

__all__ = ["Event", "Stream", "StreamContext", "current_device", "current_stream",
           "device_count", "is_available", "is_initialized", "set_device", "stream",
           "synchronize"]


def is_available():
    return True


def is_initialized():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def set_device(device):
    """Accepted and ignored, as in torch: there is one CPU device."""


def synchronize(device=None):
    """Nothing runs asynchronously on the CPU."""


class Stream:
    """torch.cpu.Stream: a placeholder; CPU work is synchronous."""

    def __init__(self, priority=-1):
        pass

    def wait_stream(self, stream):
        pass

    def synchronize(self):
        pass

    def query(self):
        return True

    def record_event(self, event=None):
        return event if event is not None else Event()


class Event:
    def record(self, stream=None):
        pass

    def synchronize(self):
        pass

    def query(self):
        return True

    def wait(self, stream=None):
        pass


_DEFAULT = Stream()


def current_stream(device=None):
    return _DEFAULT


class StreamContext:
    """Context manager selecting a stream; with one synchronous CPU stream it only remembers it."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        return None


def stream(stream):
    return StreamContext(stream)
