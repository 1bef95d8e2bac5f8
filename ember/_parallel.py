"""Elementwise NumPy work on large arrays cut into slices, as torch's CPU kernels split theirs
(at::parallel_for): NumPy releases the GIL inside each ufunc loop, so slices of one array run
their loops at the same time, and an elementwise computation gives the same result bit for bit
whichever way it is cut (see _slices for float16/bfloat16).

Slices of about CHUNK elements run on up to MAX_THREADS threads. Every ufunc call re-takes
the GIL: on a 16-core machine an Adam step over 1.9M floats took 7.0 ms on one thread, 2.6 ms on
4 and more again beyond (GIL hand-offs), and slices smaller than 2**18 elements lost to the
per-call overhead. The optimizers' update rules run here (a few ufunc calls a slice); kernels of
many passes do not: every call hands the GIL over, and on a busy machine a helper descheduled
while holding it stalls the caller (a float32 GELU of 512K elements, 28 passes: 1.1 ms on one
thread, 0.7 ms on two on an idle 2-core machine, but a median 6.2 ms against 1.6 ms with
the machine's load at 7).

On one thread (torch.set_num_threads(1), or arrays under MIN_PARALLEL) arrays of MIN_SPLIT
elements or more run SERIAL_CHUNK elements at a time: the update rule's passes (two to
fourteen) then go over a slice still in the cache, where whole arrays go out to memory between
passes. On a 2-core machine (512 KB L2 a core, 32 MB L3) the one-thread CPU time of a step
over the 784-1024-1024-10 MLP's parameters (1.86M float32) fell 25% for SGD with nesterov
momentum (3.73 to 2.78 ms; torch 3.03), 16% for Adam and AdamW, 14% for RMSprop, 6% for SGD
with momentum. Slices of 2**16 and 2**17 elements did worse than 2**18 (SGD without momentum,
two passes: 18% and 9% slower than in whole arrays): a kernel call costs 5-50 us of Python
and ufunc dispatch there, against about 0.1 ns an element and pass in the cache."""
import os
import threading

import numpy as np

from ._threads import intra_op_threads

CHUNK = 1 << 18                 # elements a thread takes at a time
MIN_PARALLEL = 2 * CHUNK        # smaller arrays run on the calling thread
SERIAL_CHUNK = 1 << 18          # elements one kernel call takes on the calling thread
MIN_SPLIT = 2 * SERIAL_CHUNK    # smaller arrays are computed in one call
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
    that writes its results into some of them. Large NumPy arrays are cut into the same slices
    (_slices), run one after another (SERIAL_CHUNK elements: a slice's passes stay in the
    cache) or, larger, on threads (CHUNK elements). `None` entries in `arrays` stay None. 0-d
    arrays run as 1-element views (NumPy's 0-d arithmetic gives scalars, which the kernels'
    out= and in-place writes cannot take)."""
    a = arrays[0]
    if a.ndim == 0:
        arrays = tuple(None if x is None else x.reshape(1) for x in arrays)
        a = arrays[0]
    if xp is not np or a.size < MIN_SPLIT:
        kernel(xp, *arrays, *scalars)
        return
    threads = num_threads() if a.size >= MIN_PARALLEL else 1
    pieces = _slices(arrays, CHUNK, threads) if threads > 1 else \
        _slices(arrays, SERIAL_CHUNK)
    if len(pieces) < 2:
        kernel(xp, *arrays, *scalars)
    elif threads < 2:
        for piece in pieces:
            kernel(xp, *piece, *scalars)
    else:
        _run_parallel(xp, kernel, pieces, scalars, threads)


def _slices(arrays, chunk, threads=1):
    """The arrays cut alike into about size / chunk pieces, a multiple of `threads` of them
    (an even share for each thread): flat ranges (on 64-element steps) where all are
    C-contiguous, else ranges of rows (of their first axis). Of 2 * chunk elements or more,
    no piece is under chunk / (threads + 1) elements (2**15 or more for the chunks used): the
    kernels' float16 and bfloat16 arithmetic, which follows torch's scalar tail loop on
    contiguous operands under 2**15 elements (ops.elementwise._scalar_tails), then computes
    each piece as it computes the whole."""
    present = [x for x in arrays if x is not None]
    n = present[0].size
    flat = all(x.flags.c_contiguous for x in present)
    rows = n if flat else present[0].shape[0]
    k = min(rows, max(1, n // chunk))
    k = min(rows, -(-k // threads) * threads)
    if flat:
        bounds = [i * n // k & -64 for i in range(k)] + [n]
        arrays = tuple(None if x is None else x.reshape(-1) for x in arrays)
    else:
        bounds = [i * rows // k for i in range(k + 1)]
    return [tuple(None if x is None else x[b:e] for x in arrays)
            for b, e in zip(bounds, bounds[1:])]


def _run_parallel(xp, kernel, pieces, scalars, threads):
    it = iter(pieces)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                piece = next(it, None)
            if piece is None:
                return
            kernel(xp, *piece, *scalars)
    # the calling thread takes slices too, and helpers that have not started by the time all
    # are taken are called off: on a busy machine a helper that gets no core delays nothing
    helpers = [_executor().submit(work) for _ in range(min(threads, len(pieces)) - 1)]
    work()
    for h in helpers:
        if not h.cancel():
            h.result()


def on_helper(fn, *args):
    """Run `fn(*args)` on one of the pool's threads; its Future. `cancel()` takes back a call
    no thread has started yet (the caller then makes it itself), so a caller that waits on
    its helpers loses nothing when the machine is too busy to run them."""
    return _executor().submit(fn, *args)
