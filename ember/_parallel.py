"""Elementwise NumPy work on large arrays split over a few threads, as torch's CPU kernels split
theirs (at::parallel_for): NumPy releases the GIL inside each ufunc loop, so row slices of one
array run their loops at the same time, and an elementwise computation gives the same result
bit for bit whichever way it is cut.

Row slices of about CHUNK elements run on up to MAX_THREADS threads. Every ufunc call re-takes
the GIL: on a 16-core machine an Adam step over 1.9M floats took 7.0 ms on one thread, 2.6 ms on
4 and more again beyond (GIL hand-offs), and slices smaller than 2**18 elements lost to the
per-call overhead. The optimizers' update rules run here (a few ufunc calls a slice); kernels of
many passes do not: every call hands the GIL over, and on a busy machine a helper descheduled
while holding it stalls the caller (a float32 GELU of 512K elements, 28 passes: 1.1 ms on one
thread, 0.7 ms on two on an idle 2-core machine, but a median 6.2 ms against 1.6 ms with
the machine's load at 7)."""
import os
import threading

import numpy as np

from ._threads import intra_op_threads

CHUNK = 1 << 18
MIN_PARALLEL = 2 * CHUNK        # smaller arrays are computed in one call
MAX_THREADS = 4
_pool = [None]


def _cores():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    return min(cores, MAX_THREADS)


def num_threads():
    """The threads one computation may use: the cores this process runs on, at most
    MAX_THREADS and at most torch's intra-op thread count (torch.set_num_threads(1): one)."""
    return min(_cores(), intra_op_threads())


def _executor():
    if _pool[0] is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool[0] = ThreadPoolExecutor(_cores(), thread_name_prefix="ember-elementwise")
    return _pool[0]


if hasattr(os, "register_at_fork"):      # a forked child (a DataLoader worker) has no threads
    os.register_at_fork(after_in_child=lambda: _pool.__setitem__(0, None))


def for_chunks(xp, kernel, arrays, *scalars):
    """Run `kernel(xp, *arrays, *scalars)`, an elementwise computation over arrays of one shape
    that writes its results into some of them. Large NumPy arrays are cut into the same row
    slices (any memory layout) and the slices run in parallel. `None` entries in `arrays` stay
    None. 0-d arrays run as 1-element views (NumPy's 0-d arithmetic gives scalars, which the
    kernels' out= and in-place writes cannot take)."""
    a = arrays[0]
    if a.ndim == 0:
        arrays = tuple(None if x is None else x.reshape(1) for x in arrays)
        a = arrays[0]
    if xp is not np or a.size < MIN_PARALLEL or a.ndim == 0 or a.shape[0] < 2 or \
            num_threads() < 2:
        kernel(xp, *arrays, *scalars)
        return
    rows = max(1, CHUNK * a.shape[0] // a.size)
    starts = iter(range(0, a.shape[0], rows))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            kernel(xp, *(None if x is None else x[start:start + rows] for x in arrays), *scalars)
    # the calling thread takes slices too, and helpers that have not started by the time all
    # are taken are called off: on a busy machine a helper that gets no core delays nothing
    n_helpers = min(num_threads(), -(-a.shape[0] // rows)) - 1
    helpers = [_executor().submit(work) for _ in range(n_helpers)]
    work()
    for h in helpers:
        if not h.cancel():
            h.result()


def on_helper(fn, *args):
    """Run `fn(*args)` on one of the pool's threads; its Future. `cancel()` takes back a call
    no thread has started yet (the caller then makes it itself), so a caller that waits on
    its helpers loses nothing when the machine is too busy to run them."""
    return _executor().submit(fn, *args)
