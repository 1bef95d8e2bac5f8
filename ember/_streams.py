"""torch.Stream and torch.Event: the device-generic streams and events.

A CUDA device's are ember.cuda's Stream and Event, which these constructors return for one. The
host devices (cpu, meta, mock) run everything in order on one stream, so a stream is always done
and waiting is a no-op; they have no events to record, and say so as torch's CPU build does."""
from .backends import device as _device

# c10::DeviceType's numbers (Stream.device_type); mock is ember's own test device
_DEVICE_TYPE = {"cpu": 0, "cuda": 1, "meta": 14, "mock": 20}


def _resolve(dev):
    """The device a stream or event is on: the current accelerator's when None."""
    if dev is None:
        from . import cuda
        return _device("cuda", cuda.current_device()) if cuda.is_available() else _device("cpu")
    dev = dev if type(dev) is _device else _device(dev)
    if dev.type not in _DEVICE_TYPE:
        raise RuntimeError(f"PyTorch is not linked with support for {dev.type} devices")
    return dev


def _options(name, options, known):
    for key in options:
        if key not in known:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")


class Stream:
    """A device's stream (torch.Stream); `with stream:` makes it current."""

    def __new__(cls, device=None, **options):
        _options("Stream", options, ("priority",))
        if _resolve(device).type == "cuda":
            from . import cuda
            return cuda.Stream(device, **options)
        return object.__new__(cls)

    def __init__(self, device=None, *, priority=0):
        if type(priority) is not int:
            raise TypeError(f"Stream(): argument 'priority' must be int, not "
                            f"{type(priority).__name__}")
        dev = _resolve(device)
        self._device = _device(dev.type) if dev.type != "mock" else dev

    @property
    def device(self):
        return self._device

    @property
    def device_type(self):
        return _DEVICE_TYPE[self._device.type]

    @property
    def device_index(self):
        return -1 if self._device.index is None else self._device.index

    @property
    def stream_id(self):
        return 0

    @property
    def native_handle(self):
        raise RuntimeError("Backend doesn't support getting stream native handle.")

    def query(self):
        return True

    def synchronize(self):
        return None

    def is_capturing(self):
        return False

    def wait_event(self, event):
        if not isinstance(event, Event):
            raise RuntimeError(f"wait_event() expects a torch.Event, not {type(event).__name__}")

    def wait_stream(self, stream):
        stream.record_event()

    def record_event(self, event=None):
        raise RuntimeError(f"{self._device.type} backend doesn't support events.")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def __eq__(self, other):
        return isinstance(other, Stream) and type(other) is type(self) and \
            (self._device, self.stream_id) == (other._device, other.stream_id)

    def __hash__(self):
        return hash((self._device, self.stream_id))

    def __repr__(self):
        return (f"torch.Stream device_type={self._device.type}, device_index="
                f"{self.device_index}, stream_id={self.stream_id}")


Stream.__module__ = "torch"


class Event:
    """A device's event (torch.Event): for timing and ordering across streams."""

    def __new__(cls, device=None, **options):
        _options("Event", options, ("enable_timing", "blocking", "interprocess"))
        if _resolve(device).type == "cuda":
            from . import cuda
            return cuda.Event(**options)
        return object.__new__(cls)

    def __init__(self, device=None, *, enable_timing=False, blocking=False, interprocess=False):
        for name, value in (("enable_timing", enable_timing), ("blocking", blocking),
                            ("interprocess", interprocess)):
            if type(value) is not bool:
                raise TypeError(f"Event(): argument '{name}' must be bool, not "
                                f"{type(value).__name__}")
        dev = _resolve(device)
        self._device = _device(dev.type) if dev.type != "mock" else dev
        self._timing = enable_timing

    @property
    def device(self):
        return self._device

    @property
    def event_id(self):
        return 0

    def record(self, stream=None):
        raise RuntimeError(f"{self._device.type} backend doesn't support events.")

    def query(self):
        return True

    def synchronize(self):
        return None

    def wait(self, stream=None):
        return None

    def elapsed_time(self, end_event):
        if not (self._timing and end_event._timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        raise ValueError("Both events must be recorded before calculating elapsed time.")

    def ipc_handle(self):
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    @classmethod
    def from_ipc_handle(cls, device, ipc_handle):
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    def __repr__(self):
        index = -1 if self._device.index is None else self._device.index
        return (f"torch.Event device_type={self._device.type}, device_index={index}, "
                f"event_flag={int(self._timing)}, event_id=0")


Event.__module__ = "torch"
