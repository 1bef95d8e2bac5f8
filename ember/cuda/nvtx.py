"""torch.cuda.nvtx: NVTX ranges and marks for profilers (Nsight), through CuPy's bindings."""
from contextlib import contextmanager

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_DEPTH = [0]


def _nvtx(name):
    """CuPy's NVTX function `name`; torch's error where there is none (no CUDA build)."""
    try:
        from cupy.cuda import nvtx
        return getattr(nvtx, name)
    except (ImportError, AttributeError):
        raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?") \
            from None


def range_push(msg):
    """Push a range; returns its zero-based depth."""
    _nvtx("RangePush")(msg)
    _DEPTH[0] += 1
    return _DEPTH[0] - 1


def range_pop():
    """Pop the innermost range; returns the depth of the range ended."""
    _nvtx("RangePop")()
    _DEPTH[0] -= 1
    return _DEPTH[0]


def range_start(msg):
    return _nvtx("RangeStart")(msg)


def range_end(range_id):
    _nvtx("RangeEnd")(range_id)


def mark(msg):
    _nvtx("Mark")(msg)


@contextmanager
def range(msg, *args, **kwargs):
    """A range around the block (also a decorator); `msg` is formatted with the extra
    arguments."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
