"""Anomaly mode: nodes remember the forward traceback that created them; backward raises on NaN.

While on, Node.__init__ is swapped for a tracing one, so there is no cost when it is off."""
import os
import warnings

from .._dtype import BF16_NUM
from .grad_mode import STATE
from .node import set_tracing

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_anomaly_enabled():
    return STATE.anomaly


def is_anomaly_check_nan_enabled():
    return STATE.anomaly_nan


def set_anomaly_enabled(mode, check_nan=True):
    STATE.anomaly, STATE.anomaly_nan = bool(mode), bool(check_nan)
    set_tracing(STATE.anomaly)


class detect_anomaly:
    """Context manager that enables anomaly detection for the autograd engine: backward errors
    show the forward traceback of the failing node, and (check_nan) NaN gradients raise."""

    def __init__(self, check_nan=True):
        self.prev, self.prev_check_nan = STATE.anomaly, STATE.anomaly_nan
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc):
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Turn anomaly detection on or off: as a function call or as a context manager."""

    def __init__(self, mode, check_nan=True):
        self.prev, self.prev_check_nan = STATE.anomaly, STATE.anomaly_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def forward_trace():
    """The current stack without ember's own frames, formatted like traceback.format_stack."""
    import traceback  # only anomaly mode needs it; importing it eagerly costs ~0.7 ms
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_PKG)]
    return traceback.format_list(frames)


# torch's TORCH_WARN ends its messages with the C++ line that warned
_AT = " (Triggered internally at /__w/pytorch/pytorch/torch/csrc/autograd/python_anomaly_mode.cpp:"


def warn_forward_trace(node):
    meta = getattr(node, "meta", None)
    trace = meta.get("traceback_") if meta else None
    name = node.name()
    if trace is None:
        warnings.warn(f"Error detected in {name}. No forward pass information available. "
                      "Enable detect anomaly during forward pass for more information."
                      f"{_AT}100.)", stacklevel=2)
        return
    warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the "
                  "error:\n" + "".join(trace) + f"{_AT}122.)", stacklevel=2)


def check_grads(node, gins, needed=None):
    """Raise torch's error when a backward function returned NaN (the engine's anomaly wrapper
    then shows the node's forward traceback). Gradients of inputs that need none (no next
    function, or not on the way to the wanted inputs) are not checked: torch leaves them
    undefined."""
    for i, (g, nxt) in enumerate(zip(gins, node.next)):
        if g is None or nxt is None or needed is not None and nxt not in needed:
            continue
        a = getattr(g, "arr", g)
        if (a.dtype.kind in "fc" or a.dtype.num == BF16_NUM) and _isnan_any(a):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               "output.")


def _isnan_any(a):
    import numpy as np
    if isinstance(a, (np.ndarray, np.generic)):
        return bool(np.isnan(a).any())
    import cupy
    return bool(cupy.isnan(a).any())
