"""Grad modes: one module-level flag read by the hot path.

STATE.grad is torch's grad mode (is_grad_enabled); STATE.enabled, what the hot path reads, says
whether ops record a graph: grad mode on and inference mode off (inside inference_mode,
enable_grad turns grad mode on but ops still record nothing, as torch's)."""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State:
    __slots__ = ("enabled", "grad", "inference", "anomaly", "anomaly_nan")


STATE = _State()
STATE.enabled, STATE.grad, STATE.inference, STATE.anomaly, STATE.anomaly_nan = \
    True, True, False, False, True


def is_grad_enabled():
    return STATE.grad


def set_grad(mode):
    """Set grad mode (and with it whether ops record); returns the previous grad mode."""
    prev, STATE.grad = STATE.grad, mode
    STATE.enabled = mode and not STATE.inference
    return prev


def is_inference_mode_enabled():
    return STATE.inference


class _Mode:
    """Base for grad-mode context managers that also work as decorators."""
    _value = True

    def __enter__(self):
        self._prev = set_grad(self._value)

    def __exit__(self, *exc):
        set_grad(self._prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class _NoParamMode(_Mode):
    """Also usable as a bare decorator: `@no_grad` as well as `@no_grad()`."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamMode):
    _value = False


class enable_grad(_NoParamMode):
    _value = True


class set_grad_enabled(_Mode):
    def __init__(self, mode):
        self._value = bool(mode)
        self._prev = set_grad(self._value)  # torch applies it at construction, like a call

    def __enter__(self):
        pass

    def __call__(self, fn):
        set_grad(self._prev)
        mode = self._value

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class inference_mode(_Mode):
    """Grad off, and every tensor made inside is an inference tensor; inference_mode(False)
    turns both back (grad on, as torch). Nothing is recorded inside, even where enable_grad
    turns grad mode back on."""

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __enter__(self):
        self._prev_inf = STATE.inference
        _set_inference(self._mode)
        self._prev = set_grad(not self._mode)

    def __exit__(self, *exc):
        _set_inference(self._prev_inf)
        set_grad(self._prev)

    def __call__(self, fn):
        if not callable(fn) or isinstance(fn, bool):
            return inference_mode(fn)
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def _set_inference(on):
    if STATE.inference is not on:
        from .._tensor import set_inference_mode
        set_inference_mode(on)
