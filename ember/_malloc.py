"""Keep freed array memory in the process for the next training step.

NumPy takes big arrays from glibc's malloc, which serves blocks over its mmap threshold with
fresh mappings and gives freed heap tops back to the kernel. A training step that allocates the
same few-megabyte arrays every iteration then pays a page fault per 4 KiB on first touch: 4,000
faults and a third of the time of the LSTM benchmark step. Raising both thresholds keeps that
memory in the heap, where the next step reuses it; PyTorch's own allocator has the same effect.
Set EMBER_MALLOC_TUNING=0 to leave malloc as it is."""
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20      # glibc's upper bound for this setting
_TRIM_THRESHOLD = 256 << 20     # free heap kept for reuse before it goes back to the kernel


def tune():
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_MALLOC_TUNING") == "0":
        return False
    import ctypes
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):          # not glibc (musl, ...)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


tune()
