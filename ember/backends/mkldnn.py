"""torch.backends.mkldnn's switches. ember has no oneDNN (its CPU kernels are NumPy's), so
is_available() is False and the flags, kept for the scripts that set them, change nothing."""
import contextlib

enabled = True
deterministic = False
allow_tf32 = False                  # (TF32 on oneDNN is an Intel GPU feature)
fp32_precision = "none"

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2


def is_available():
    return False


def is_acl_available():
    return False


class verbose:
    """oneDNN's verbose scope: there is no oneDNN to report."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        return None if self.level == VERBOSE_OFF else self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None, _fp32_precision="none"):
    """Set the given switches; returns the previous (enabled, deterministic, allow_tf32,
    fp32_precision)."""
    global enabled, deterministic, allow_tf32, fp32_precision
    orig = (enabled, deterministic, allow_tf32, fp32_precision)
    if _enabled is not None:
        enabled = _enabled
    if _deterministic is not None:
        deterministic = _deterministic
    if _allow_tf32 is not None:
        allow_tf32 = _allow_tf32
    if _fp32_precision is not None:
        fp32_precision = _fp32_precision
    return orig


@contextlib.contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    orig = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)
