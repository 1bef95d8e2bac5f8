"""torch.profiler: the profiler of ember.autograd.profiler with torch.profiler's interface:
activities, a step schedule (wait, warmup, active, repeat) with its ProfilerStep* ranges,
on_trace_ready and tensorboard_trace_handler's Chrome-trace files. Times are host times; asking for
ProfilerActivity.CUDA is accepted and adds no device times (see ember.autograd.profiler)."""
import enum
import gzip
import os
import socket
import time
import warnings

from ..autograd.profiler import DeviceType, EventList, profile as _profile, record_function

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler", "DeviceType",
           "kineto_available"]


def kineto_available():
    """Whether torch.profiler.profile (Kineto's profiler in torch) is there: it is, on the
    host."""
    return True


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    CUDA = 2
    HPU = 3
    MTIA = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def supported_activities():
    return {ProfilerActivity.CPU}


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """torch.profiler.schedule: step -> ProfilerAction, cycling wait, warmup, active."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)

    def schedule_fn(step):
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if k < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False,
                              use_python_export=False):
    """on_trace_ready that writes each cycle's Chrome trace into `dir_name`, named as torch
    names them (<worker>.<time in ns>.pt.trace.json[.gz]) for TensorBoard's profiler plugin."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(path)
        if use_gzip:
            with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
                g.write(f.read())
            os.remove(path)
    return handler


class profile(_profile):
    """torch.profiler.profile: records in the schedule's active steps (every step without a
    schedule); on_trace_ready(prof) runs at the end of each active cycle and at exit."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None, **unused):
        super().__init__(record_shapes=record_shapes)
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or (lambda step: ProfilerAction.RECORD)
        self.record_steps = schedule is not None         # ProfilerStep#N ranges, as torch
        self.on_trace_ready, self.acc_events = on_trace_ready, acc_events
        self.step_num, self.current_action, self._step_range = 0, None, None

    def start(self):
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._events = EventList()
        if self.current_action in _RECORDING:
            self._record()

    def stop(self):
        if self._running:
            self._close_step()
            self._stop()
            self._ready()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def step(self):
        """The next training step starts: follow the schedule."""
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if prev in _RECORDING:
            self._close_step()
            if prev == ProfilerAction.RECORD_AND_SAVE or self.current_action not in _RECORDING:
                self._stop()
                self._ready()
        if self.current_action in _RECORDING:
            if not self._running:
                if not self.acc_events:
                    self._events = EventList()
                self._record()
            else:
                self._open_step()

    def _record(self):
        self._start()
        self._open_step()

    def _open_step(self):
        if not self.record_steps:
            return
        self._step_range = record_function("ProfilerStep*")        # torch's event name
        self._step_range.__enter__()

    def _close_step(self):
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _ready(self):
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)
