"""ember.cuda: device management on NVIDIA GPUs through CuPy (an optional extra).

Without CuPy or a GPU everything here imports and `is_available()` is False."""
from .._toplevel import OutOfMemoryError  # noqa: F401

_CUPY = None


def _cupy():
    """CuPy, imported on first use (never at `import ember`)."""
    global _CUPY
    if _CUPY is None:
        try:
            import cupy
            cupy.cuda.runtime.getDeviceCount()
            _CUPY = cupy
        except Exception:
            _CUPY = False
    return _CUPY


def is_available():
    cp = _cupy()
    return bool(cp) and cp.cuda.runtime.getDeviceCount() > 0


def device_count():
    cp = _cupy()
    return cp.cuda.runtime.getDeviceCount() if cp else 0


def empty_cache():
    """Release cached blocks of CuPy's memory pool (a no-op without a GPU, as in torch)."""
    cp = _cupy()
    if cp:
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def synchronize(device=None):
    cp = _cupy()
    if cp:
        cp.cuda.get_current_stream().synchronize()


def is_initialized():
    return bool(_CUPY)


def _require():
    cp = _cupy()
    if not cp:
        from ..backends.cuda import _EXTRA_HINT
        raise RuntimeError(f"CUDA is not available: {_EXTRA_HINT}")
    return cp


_CURRENT = [0]


def current_device():
    _require()
    return _CURRENT[0]


def set_device(device):
    cp = _require()
    idx = _index(device)
    cp.cuda.Device(idx).use()
    _CURRENT[0] = idx


def _index(device):
    if device is None:
        return _CURRENT[0]
    if isinstance(device, int):
        return device
    from ..backends import device as _dev
    d = _dev(device) if not isinstance(device, _dev) else device
    return d.index or 0


class device:
    """Context manager that changes the current CUDA device."""

    def __init__(self, device):
        self.idx = _index(device) if device is not None and device != -1 else None

    def __enter__(self):
        self.prev = _CURRENT[0]
        if self.idx is not None:
            set_device(self.idx)

    def __exit__(self, *exc):
        if self.idx is not None:
            set_device(self.prev)


def get_device_name(device=None):
    return get_device_properties(device).name


class _Properties:
    def __init__(self, props):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.total_memory = props["totalGlobalMem"]
        self.major, self.minor = props["major"], props["minor"]
        self.multi_processor_count = props["multiProcessorCount"]

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2 ** 20}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    cp = _require()
    return _Properties(cp.cuda.runtime.getDeviceProperties(_index(device)))


def get_device_capability(device=None):
    p = get_device_properties(device)
    return p.major, p.minor


def is_bf16_supported(including_emulation=True):
    return is_available() and get_device_capability()[0] >= 8


_PEAK = {"peak": 0, "reserved": 0, "hook": None}


def _pool():
    return _require().get_default_memory_pool()


def _observe():
    """(allocated, reserved) bytes of CuPy's pool now, folded into the peaks."""
    pool = _pool()
    used, total = pool.used_bytes(), pool.total_bytes()
    _PEAK["peak"] = max(_PEAK["peak"], used)
    _PEAK["reserved"] = max(_PEAK["reserved"], total)
    return used, total


def memory_allocated(device=None):
    return _observe()[0] if is_available() else 0


def memory_reserved(device=None):
    return _observe()[1] if is_available() else 0


def max_memory_allocated(device=None):
    """Exact since the last reset_peak_memory_stats() (which installs an allocation hook);
    before the first reset, the largest value observed by the memory queries."""
    memory_allocated(device)
    return _PEAK["peak"]


def max_memory_reserved(device=None):
    """As max_memory_allocated, for the bytes CuPy's pool holds."""
    memory_reserved(device)
    return _PEAK["reserved"]


def reset_peak_memory_stats(device=None):
    cp = _require()
    if _PEAK["hook"] is None:
        class _PeakHook(cp.cuda.MemoryHook):
            name = "ember_peak"

            def alloc_postprocess(self, **kw):
                _observe()
        _PEAK["hook"] = _PeakHook()
        _PEAK["hook"].__enter__()
    pool = _pool()
    _PEAK["peak"], _PEAK["reserved"] = pool.used_bytes(), pool.total_bytes()


reset_max_memory_allocated = reset_peak_memory_stats


def memory_stats(device=None):
    """torch.cuda.memory_stats' main keys, from CuPy's pool; empty without a GPU, as in torch."""
    from collections import OrderedDict
    if not is_available():
        return OrderedDict()
    used, total = _observe()
    return OrderedDict([("allocated_bytes.all.current", used),
                        ("allocated_bytes.all.peak", _PEAK["peak"]),
                        ("reserved_bytes.all.current", total),
                        ("reserved_bytes.all.peak", _PEAK["reserved"])])


def mem_get_info(device=None):
    """(free, total) bytes of the device, from the CUDA driver."""
    return tuple(_require().cuda.runtime.memGetInfo())


def memory_summary(device=None, abbreviated=False):
    a, r, p = memory_allocated(), memory_reserved(), max_memory_allocated()
    mb = 2 ** 20
    return ("|  ember CUDA memory summary (CuPy memory pool)  |\n"
            f"|  allocated: {a / mb:10.1f} MiB   peak: {p / mb:10.1f} MiB   reserved: "
            f"{r / mb:10.1f} MiB  |")


# ---- random numbers: each device's default generator (the CPU's is left alone); without a GPU
# the setters do nothing, as torch's calls queued until CUDA starts
def _generators(device=None):
    """The default generators of `device` (None: all devices); none without a GPU."""
    from ..ops.random import cuda_generator
    if not is_available():
        return []
    if device == "all":
        return [cuda_generator(i) for i in range(device_count())]
    return [cuda_generator(_index(device))]


def __getattr__(name):
    if name == "default_generators":
        return tuple(_generators("all"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"default_generators"})


def manual_seed(seed):
    seed = int(seed)
    for g in _generators():
        g.manual_seed(seed)


def manual_seed_all(seed):
    seed = int(seed)
    for g in _generators("all"):
        g.manual_seed(seed)


def seed():
    for g in _generators():
        g.seed()


def seed_all():
    gens = _generators("all")
    if gens:
        s = gens[0].seed()
        for g in gens[1:]:
            g.manual_seed(s)


def initial_seed():
    _require()
    return _generators()[0].initial_seed()


def get_rng_state(device="cuda"):
    """The device generator's state: torch's 16 bytes (seed, offset)."""
    _require()
    return _generators(device)[0].get_state()


def get_rng_state_all():
    return [g.get_state() for g in _generators("all")]


def set_rng_state(new_state, device="cuda"):
    for g in _generators(device):
        g.set_state(new_state.clone())


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


class Stream:
    """A CUDA stream (CuPy's); usable as a context manager like torch.cuda.Stream."""

    def __init__(self, device=None, priority=0, **kwargs):
        self._s = _require().cuda.Stream(non_blocking=True)

    def synchronize(self):
        self._s.synchronize()

    def wait_stream(self, other):
        self._s.wait_event(other._s.record())

    def wait_event(self, event):
        self._s.wait_event(event._e)

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def query(self):
        return self._s.done

    def __enter__(self):
        self._s.__enter__()
        return self

    def __exit__(self, *exc):
        self._s.__exit__(*exc)


def current_stream(device=None):
    s = Stream.__new__(Stream)
    s._s = _require().cuda.get_current_stream()
    return s


default_stream = current_stream


class stream:
    """Context manager selecting a stream (None is a no-op, as in torch)."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        if self.s is not None:
            self.s.__enter__()
        return self.s

    def __exit__(self, *exc):
        if self.s is not None:
            self.s.__exit__(*exc)


class Event:
    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self._e = _require().cuda.Event(block=blocking, disable_timing=not enable_timing)

    def record(self, stream=None):
        self._e.record(None if stream is None else stream._s)

    def synchronize(self):
        self._e.synchronize()

    def query(self):
        return self._e.done

    def wait(self, stream=None):
        (stream or current_stream())._s.wait_event(self._e)

    def elapsed_time(self, end_event):
        return _require().cuda.get_elapsed_time(self._e, end_event._e)


StreamContext = stream


def set_stream(stream):
    """Make `stream` current (None: a no-op, as in torch)."""
    if stream is not None:
        stream._s.use()


class ExternalStream(Stream):
    """A stream made elsewhere (its cudaStream_t as an int), e.g. by another library."""

    def __init__(self, stream_ptr, device=None):
        self._s = _require().cuda.ExternalStream(stream_ptr)


class device_of(device):
    """The device of a tensor as the current device in the block (a no-op for a CPU tensor)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


class CudaError(RuntimeError):
    def __init__(self, code):
        super().__init__(f"CUDA error {code}")


def init():
    """Initialise CUDA (CuPy); RuntimeError without a GPU."""
    _require()


def ipc_collect():
    _require()


def can_device_access_peer(device, peer_device):
    return bool(_require().cuda.runtime.deviceCanAccessPeer(_index(device), _index(peer_device)))


def get_arch_list():
    """The architectures kernels are built for: CuPy compiles for the devices present."""
    if not is_available():
        return []
    return sorted({"sm_{}{}".format(*get_device_capability(i)) for i in range(device_count())})


def get_gencode_flags():
    return " ".join(f"-gencode compute=compute_{a.split('_')[1]},code={a}"
                    for a in get_arch_list())


def is_tf32_supported():
    return is_available() and get_device_capability()[0] >= 8


_SYNC_DEBUG = {"default": 0, "warn": 1, "error": 2}
_SETTINGS = {"sync_debug": 0, "fraction": {}}


def set_sync_debug_mode(debug_mode):
    """Recorded for get_sync_debug_mode; ember does not report synchronising calls."""
    _require()
    _SETTINGS["sync_debug"] = _SYNC_DEBUG.get(debug_mode, debug_mode)


def get_sync_debug_mode():
    _require()
    return _SETTINGS["sync_debug"]


def set_per_process_memory_fraction(fraction, device=None):
    """Cap CuPy's memory pool at `fraction` of the device's memory."""
    cp = _require()
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    idx = _index(device)
    with cp.cuda.Device(idx):
        cp.get_default_memory_pool().set_limit(fraction=fraction)
    _SETTINGS["fraction"][idx] = fraction


def get_per_process_memory_fraction(device=None):
    _require()
    return _SETTINGS["fraction"].get(_index(device), 1.0)


def memory_cached(device=None):
    import warnings
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
                  FutureWarning, stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None):
    import warnings
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to "
                  "`torch.cuda.max_memory_reserved`", FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def reset_max_memory_cached(device=None):
    import warnings
    warnings.warn("torch.cuda.reset_max_memory_cached now calls "
                  "torch.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    return reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None):
    """Nothing to reset: ember keeps no cumulative counters (only current and peak)."""
    _require()


def memory_stats_as_nested_dict(device=None):
    """memory_stats' keys split at the dots into nested dicts ({} without a GPU)."""
    out = {}
    for key, value in memory_stats(device).items():
        *path, last = key.split(".")
        d = out
        for part in path:
            d = d.setdefault(part, {})
        d[last] = value
    return out


def host_memory_stats():
    from collections import OrderedDict
    return OrderedDict()


# ---- NVML queries (nvidia-ml-py), as torch makes them -----------------------------------------
def _nvml(device):
    try:
        import pynvml
    except ModuleNotFoundError:
        raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be "
                                  "imported.") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded as e:
        raise RuntimeError("cuda driver can't be loaded, is cuda enabled?") from e
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(_nvml_index(device))


def _nvml_index(device):
    """The NVML index of a device, through an integer CUDA_VISIBLE_DEVICES."""
    import os
    idx = _index(device)
    visible = os.getenv("CUDA_VISIBLE_DEVICES")
    if visible:
        try:
            return [int(v) for v in visible.split(",")][idx]
        except (ValueError, IndexError):
            raise RuntimeError(f"device {idx} is not visible (CUDA_VISIBLE_DEVICES={visible})") \
                from None
    return idx


def utilization(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetUtilizationRates(h).gpu


def memory_usage(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetUtilizationRates(h).memory


def temperature(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetTemperature(h, 0)


def power_draw(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetPowerUsage(h)


def clock_rate(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetClockInfo(h, 1)


def device_memory_used(device=None):
    nv, h = _nvml(device)
    return nv.nvmlDeviceGetMemoryInfo(h).used


def list_gpu_processes(device=None):
    """torch's printout of the processes on a device and their GPU memory."""
    try:
        import pynvml
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded:
        return "cuda driver can't be loaded, is cuda enabled?"
    idx = _nvml_index(device)
    procs = pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(idx))
    lines = [f"GPU:{idx}"]
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / (1024 * 1024):>12.3f} MB GPU "
                     "memory")
    return "\n".join(lines)


from . import nvtx  # noqa: E402,F401
from .graphs import (CUDAGraph, graph, graph_pool_handle,  # noqa: E402, F401
                     is_current_stream_capturing, make_graphed_callables)
from . import amp  # noqa: E402,F401  (torch.cuda.amp's deprecated spellings)


def _legacy_types():
    """torch.cuda.FloatTensor & co.: the legacy constructors of CUDA tensors."""
    from ..ops.creation import CUDA_TENSOR_TYPES
    globals().update(CUDA_TENSOR_TYPES)


_legacy_types()
