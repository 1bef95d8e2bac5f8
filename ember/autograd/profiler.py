"""torch.autograd.profiler: host-time profiling of ember's ops, and its event lists.

While a profiler is recording, every registered op's forward and backward run through a timing
wrapper (installed into the op table on entry, removed on exit, so the hot path pays nothing
otherwise). An op's forward is the event `aten::<op>`, its backward
`autograd::engine::evaluate_function: <Node>`; `record_function` adds user ranges. Times are
host (CPU) times: on the GPU they are launch times, since kernels run asynchronously.

Device-time attributes exist (for torch's sort keys) and are zero.
key_averages().table() prints torch's table layout (Self CPU %, Self CPU, CPU total %, CPU
total, CPU time avg, # of Calls, and Input Shapes when grouped by them)."""
import enum
import json
import os
import threading
import time

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]

_SINKS = []          # the recording profilers (innermost last); events go to each
_OPEN = []           # the open ranges of this thread: [name, start_ns, children_ns, shapes]
_INSTALLED = {}      # (op, backend index) -> (wrapped pair, original pair)


def _now():
    return time.perf_counter_ns()


def _begin(name, args, shapes):
    """Open a range; with `shapes`, the shapes of its array arguments (static arguments, which
    torch lists as [], are left out)."""
    _OPEN.append([name, _now(), 0,
                  [list(a.shape) for a in args if hasattr(a, "shape")] if shapes else []])


def _end():
    name, start, children, shapes = _OPEN.pop()
    end = _now()
    if _OPEN:
        _OPEN[-1][2] += end - start
    event = FunctionEvent(name, start / 1e3, end / 1e3, (end - start - children) / 1e3, shapes)
    for sink in _SINKS:
        sink._add(event)


def _timed(name, fn):
    def run(xp, *args):
        if not _SINKS:                       # a wrapper kept by a graph node after the profile
            return fn(xp, *args)
        _begin(name, args, _SINKS[-1].record_shapes)
        try:
            return fn(xp, *args)
        finally:
            _end()
    run.__name__ = getattr(fn, "__name__", name)
    return run


def _install():
    import importlib
    from ..ops._registry import OPS
    # (the modules imported on first use register ops too: those they register mid-profile
    # would run unwrapped, unrecorded)
    for name in ("ember.nn.functional", "ember.fft", "ember.linalg", "ember.special"):
        importlib.import_module(name)
    for op in OPS.values():
        for idx, pair in enumerate(op.impl):
            fwd, bwd = pair
            wrapped = (_timed("aten::" + op.name, fwd),
                       None if bwd is None else _timed(
                           "autograd::engine::evaluate_function: " + op.node_name, bwd))
            op.impl[idx] = wrapped
            _INSTALLED[op, idx] = (wrapped, pair)


def _uninstall():
    for (op, idx), (wrapped, original) in _INSTALLED.items():
        if op.impl[idx] is wrapped:          # not replaced meanwhile (e.g. CUDA kernels)
            op.impl[idx] = original
    _INSTALLED.clear()


class record_function:
    """A named range in the profile (a context manager or a decorator)."""

    def __init__(self, name, args=None):
        self.name, self.args = name, args

    def __enter__(self):
        self._recording = bool(_SINKS)
        if self._recording:
            _begin(self.name, (), False)
        return self

    def __exit__(self, *exc):
        if self._recording and _SINKS:
            _end()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapper


class DeviceType(enum.Enum):
    """The device of a profiled event (torch._C._autograd.DeviceType); ember's are all CPU."""
    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    MTIA = 19
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    PrivateUse1 = 20

    def __int__(self):
        return self.value


class FunctionEvent:
    """One recorded range: times in microseconds."""

    def __init__(self, name, start_us, end_us, self_us, input_shapes):
        self.name = self.key = name
        self.time_range_start, self.time_range_end = start_us, end_us
        self.cpu_time_total = end_us - start_us
        self.self_cpu_time_total = self_us
        self.input_shapes = input_shapes
        self.count = 1
        self.thread = threading.get_ident()
        self.device_time_total = self.self_device_time_total = self.device_time = 0.0
        self.device_type = DeviceType.CPU

    @property
    def cpu_time(self):
        return self.cpu_time_total

    def __repr__(self):
        return (f"<FunctionEvent name={self.name} cpu_time={_format_time(self.cpu_time_total)} "
                f"self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The sum of the events with one key (and one input shape, when grouped so)."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.self_device_time_total = self.device_time = 0.0

    def add(self, event):
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time={_format_time(self.cpu_time)}"
                f" input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events with torch's summaries: key_averages(), table(), total_average()."""

    def key_averages(self, group_by_input_shape=False):
        groups = {}
        for e in self:
            key = (e.key, str(e.input_shapes)) if group_by_input_shape else e.key
            if key not in groups:
                groups[key] = FunctionEventAvg(
                    e.key, e.input_shapes if group_by_input_shape else None)
            groups[key].add(e)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False,
              time_unit=None, **unused):
        return _table(self, sort_by, row_limit, max_name_column_width,
                      max_shapes_column_width, header, time_unit)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """The events as a Chrome trace (chrome://tracing, Perfetto)."""
        pid = os.getpid()
        trace = {"traceEvents": [
            {"ph": "X", "cat": "cpu_op", "name": e.name, "pid": pid, "tid": e.thread,
             "ts": e.time_range_start, "dur": e.cpu_time_total,
             "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
            for e in self], "displayTimeUnit": "ms"}
        with open(path, "w") as f:
            json.dump(trace, f)


def _format_time(us, unit=None):
    if unit == "s" or unit is None and us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or unit is None and us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _share(us, total):
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def _table(events, sort_by, row_limit, max_name, max_shapes, header, unit):
    """torch's _build_table for host-time events."""
    if not events:
        return ""
    if sort_by is not None:          # torch's spelling: "cuda" keys are the device times
        key = sort_by.replace("cuda", "device").replace("xpu", "device")
        events = sorted(events, key=lambda e: getattr(e, key), reverse=True)
    shapes = any(e.input_shapes for e in events)
    name_w = max(len(e.key) for e in events) + 4
    name_w = min(name_w, max_name) if max_name is not None else name_w
    widths = [name_w] + [12] * 6
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
               "# of Calls"]
    if shapes:
        shape_w = max(len(str(e.input_shapes)) for e in events) + 4
        widths.append(min(shape_w, max_shapes) if max_shapes is not None else shape_w)
        headers.append("Input Shapes")
    row = "".join("{: >" + str(w) + "}  " for w in widths)
    sep = "".join("-" * w + "  " for w in widths)
    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * (sum(widths) + 2 * len(widths) - 2), header]
    lines += [sep, row.format(*headers), sep]
    for e in events[:row_limit]:
        name = e.key
        if max_name is not None and len(name) >= max_name - 3:
            name = name[:max_name - 3] + "..."
        values = [name, _share(e.self_cpu_time_total, total),
                  _format_time(e.self_cpu_time_total, unit), _share(e.cpu_time_total, total),
                  _format_time(e.cpu_time_total, unit), _format_time(e.cpu_time, unit), e.count]
        if shapes:
            values.append(str(e.input_shapes)[:widths[-1]])
        lines.append(row.format(*values))
    lines += [sep, f"Self CPU time total: {_format_time(total, unit)}"]
    return "\n".join(lines) + "\n"


class profile:
    """torch.autograd.profiler.profile: records while entered (when `enabled`)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None):
        self.enabled, self.record_shapes = enabled, record_shapes
        self._events = EventList()
        self._running = False

    def _add(self, event):
        self._events.append(event)

    def _start(self):
        if not _SINKS:
            _install()
        _SINKS.append(self)
        self._running = True

    def _stop(self):
        if self._running:
            _SINKS.remove(self)
            self._running = False
            if not _SINKS:
                _uninstall()
                _OPEN.clear()

    def __enter__(self):
        if self.enabled:
            self._events = EventList()
            self._start()
        return self

    def __exit__(self, *exc):
        self._stop()

    def events(self):
        return self._events

    @property
    def function_events(self):
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, **unused):
        return self._events.key_averages(group_by_input_shape)

    def total_average(self):
        return self._events.total_average()

    @property
    def self_cpu_time_total(self):
        return self._events.self_cpu_time_total

    def table(self, sort_by=None, row_limit=100, **kwargs):
        return self._events.table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path):
        self._events.export_chrome_trace(path)

    def __str__(self):
        return self.table()
