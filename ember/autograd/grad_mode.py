"""Grad modes: one module-level flag read by the hot path.

STATE.grad is torch's grad mode (is_grad_enabled); STATE.enabled, what the hot path reads, says
whether ops record a graph: grad mode on and inference mode off (inside inference_mode,
enable_grad turns grad mode on but ops still record nothing, as torch's)."""
import functools
import inspect
import sys
import threading
import warnings

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "is_multithreading_enabled", "set_multithreading_enabled",
           "enforce_grad_layout_policy"]


class _State:
    __slots__ = ("enabled", "grad", "inference", "anomaly", "anomaly_nan")


STATE = _State()
STATE.enabled, STATE.grad, STATE.inference, STATE.anomaly, STATE.anomaly_nan = \
    True, True, False, False, True
TRANSFORMS = []     # the torch.func transforms running, innermost last (function.transform)


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
        return _decorate(self.clone, fn)

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


def _enabled(mode):
    """set_grad_enabled's argument, which torch's argument parser takes as a bool only."""
    if type(mode) is not bool:
        from ..ops._apply import type_name
        raise TypeError("set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                        f"{type_name(mode)}")
    return mode


class set_grad_enabled(_Mode):
    def __init__(self, mode):
        self._value = _enabled(mode)
        self._prev = set_grad(self._value)  # torch applies it at construction, like a call

    def __enter__(self):
        pass

    def __call__(self, fn):
        set_grad(self._prev)
        return _decorate(self.clone, fn)

    def clone(self):
        return set_grad_enabled(self._value)

    @property
    def mode(self):
        return self._value

    def __str__(self):
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self._value})"

    __repr__ = __str__

    @property
    def prev(self):
        return self._prev


_THREAD = threading.local()


def is_multithreading_enabled():
    """Whether backward may run on device worker threads (this thread's setting; default on).
    ember's engine always runs backward on the calling thread: the flag is kept for torch's
    API only."""
    return getattr(_THREAD, "multithreading", True)


class set_multithreading_enabled(_Mode):
    """torch.autograd.set_multithreading_enabled: sets this thread's flag when constructed (so
    it works as a plain call too) and restores the previous value on leaving a `with` block."""

    def __init__(self, mode):
        if type(mode) is not bool:
            from ..ops._apply import type_name
            raise TypeError("set_multithreading_enabled(): argument 'enabled' (position 1) must "
                            f"be bool, not {type_name(mode)}")
        self.prev, self.mode = is_multithreading_enabled(), mode
        _THREAD.multithreading = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _THREAD.multithreading = self.prev

    def clone(self):
        return set_multithreading_enabled(self.mode)


def is_grad_layout_enforced():
    """Whether a leaf's first .grad is made to follow the leaf's layout (this thread's setting;
    default on): torch's _is_grad_layout_enforcement_enabled."""
    return getattr(_THREAD, "grad_layout", True)


class enforce_grad_layout_policy(_Mode):
    """torch.autograd.enforce_grad_layout_policy: with enable=False, a leaf's first gradient
    that backward made for it alone is kept with its own strides instead of being copied into
    the leaf's layout (a gradient the user handed in is still copied). Set when constructed (a
    plain call works too); a `with` block restores the previous value on leaving."""

    def __init__(self, enable=True):
        self.prev, self.mode = is_grad_layout_enforced(), enable
        _THREAD.grad_layout = enable

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _THREAD.grad_layout = self.prev

    def __call__(self, fn):
        _THREAD.grad_layout = self.prev
        return _decorate(self.clone, fn)

    def clone(self):
        return enforce_grad_layout_policy(self.mode)


class inference_mode(_Mode):
    """Grad off, and every tensor made inside is an inference tensor; inference_mode(False)
    turns both back (grad on, as torch). Nothing is recorded inside, even where enable_grad
    turns grad mode back on."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)                  # bare `@inference_mode`

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        self._prev_inf = STATE.inference
        _set_inference(self.mode)
        self._prev = set_grad(not self.mode)

    def __exit__(self, *exc):
        _set_inference(self._prev_inf)
        set_grad(self._prev)

    def clone(self):
        return inference_mode(self.mode)


def _decorate(make_ctx, fn):
    """Wrap `fn` so each call runs inside a fresh `make_ctx()`; a generator function has the
    mode set around each of its steps, as torch's context_decorator."""
    if inspect.isclass(fn):
        warnings.warn("Decorating classes is deprecated and will be disabled in future versions. "
                      "You should only decorate functions or methods. To preserve the current "
                      "behavior of class decoration, you can directly decorate the `__init__` "
                      "method and nothing else.", FutureWarning, stacklevel=3)
        cls, fn = fn, lambda *args, **kwargs: cls(*args, **kwargs)
    if inspect.isgeneratorfunction(fn):
        return _wrap_generator(make_ctx, fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_ctx():
            return fn(*args, **kwargs)
    return wrapper


def _wrap_generator(make_ctx, fn):
    @functools.wraps(fn)
    def generator_context(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make_ctx():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_ctx():
                        gen.close()
                    raise
                except BaseException:       # noqa: BLE001 - thrown in by the caller, passed on
                    with make_ctx():
                        response = gen.throw(*sys.exc_info())
                else:
                    with make_ctx():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value
    return generator_context


def _set_inference(on):
    if STATE.inference is not on:
        from .._tensor import set_inference_mode
        set_inference_mode(on)
