"""Process groups: every collective, written once over the mesh's point-to-point frames.

A group's collectives run one at a time, in call order, on the group's own worker thread, so
`async_op=True` returns at once and later calls queue behind it. Reductions are computed in
rank order (rank 0's value, then rank 1's, ...), each element by exactly one rank, and the
result is sent back: every rank ends with bit-identical values."""
import enum
import queue
import threading
from concurrent.futures import Future

import numpy as np

__all__ = ["ReduceOp", "Work", "ProcessGroup"]


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __str__(self):
        return f"RedOpType.{self.name}"

    __repr__ = enum.Enum.__repr__


class ReduceOp:
    """torch.distributed.ReduceOp: ReduceOp.SUM ... are RedOpType members (ints)."""
    RedOpType = RedOpType
    SUM, AVG, PRODUCT, MIN, MAX = (RedOpType.SUM, RedOpType.AVG, RedOpType.PRODUCT,
                                   RedOpType.MIN, RedOpType.MAX)
    BAND, BOR, BXOR, PREMUL_SUM = RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR, \
        RedOpType.PREMUL_SUM

    def __init__(self, op):
        self.op = RedOpType(op)

    def __eq__(self, other):
        return self.op == getattr(other, "op", other)

    def __hash__(self):
        return hash(self.op)


def _min(a, b):     # gloo's std::min: b if b < a else a (NaN handling included)
    return np.where(b < a, b, a)


def _max(a, b):
    return np.where(a < b, b, a)


_COMBINE = {RedOpType.SUM: np.add, RedOpType.AVG: np.add, RedOpType.PRODUCT: np.multiply,
            RedOpType.MIN: _min, RedOpType.MAX: _max, RedOpType.BAND: np.bitwise_and,
            RedOpType.BOR: np.bitwise_or, RedOpType.BXOR: np.bitwise_xor}


def reduce_arrays(arrays, op):
    """Combine equal-shaped arrays in rank order (AVG: the sum divided by their count)."""
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"ProcessGroupGloo: the ranks' tensors differ in size: {sorted(shapes)}")
    combine, acc = _COMBINE[op], arrays[0]
    for a in arrays[1:]:
        acc = combine(acc, a)
    return acc / len(arrays) if op == RedOpType.AVG else acc


class Work:
    """torch.distributed.Work: the handle of an operation started with async_op=True."""
    _point_to_point = False         # gloo gives no Future for sends and receives

    def __init__(self, future, outputs=()):
        self._future, self._outputs = future, list(outputs)

    def wait(self, timeout=None):
        self._future.result(None if timeout is None else timeout.total_seconds())
        return True

    def is_completed(self):
        return self._future.done()

    def is_success(self):
        return self._future.done() and self._future.exception() is None

    def exception(self):
        return self._future.exception() if self._future.done() else None

    def result(self):
        self.wait()
        return self._outputs

    def _source_rank(self):
        return self._future.result()

    def get_future(self):
        """A torch.futures.Future completed with the output tensors (or the error) once the
        operation is."""
        if self._point_to_point:
            raise RuntimeError("Work::getFuture not implemented.")
        from ..futures import Future
        fut = Future()

        def done(f):
            if f.exception() is not None:
                fut.set_exception(f.exception())
            else:
                fut.set_result(self._outputs)
        self._future.add_done_callback(done)
        return fut


def done_work(outputs):
    """A Work that has already completed (isend: the frame is handed to the socket)."""
    future = Future()
    future.set_result(None)
    work = Work(future, outputs)
    work._point_to_point = True
    return work


class RecvWork(Work):
    """A posted receive: the frame it reserved is copied into the tensor on wait()."""
    _point_to_point = True

    def __init__(self, mesh, src, channel, fill, outputs):
        super().__init__(Future(), outputs)
        self._mesh, self._src, self._channel, self._fill = mesh, src, channel, fill
        self._number = None if src is None else mesh.post(src, channel)

    def wait(self, timeout=None):
        if not self._future.done():
            try:
                if self._src is None:
                    src, arr = self._mesh.take_any(self._channel)
                else:
                    src, arr = self._src, self._mesh.take(self._src, self._channel, self._number)
                self._fill(arr)
                self._future.set_result(src)
            except Exception as e:
                self._future.set_exception(e)
        return super().wait()

    def is_completed(self):
        if not self._future.done() and self._src is not None and \
                self._mesh.ready(self._src, self._channel, self._number):
            self.wait()
        return self._future.done()


class ProcessGroup:
    """The ranks `ranks` (global numbers) of a job; this process is one of them."""

    def __init__(self, mesh, ranks, group_id, backend):
        self._mesh, self._ranks, self._id, self._backend = mesh, list(ranks), group_id, backend
        self._rank = self._ranks.index(mesh.rank)
        self._channel = (group_id, "collective")
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"ember-dist-group{group_id}")
        self._thread.start()

    def rank(self):
        return self._rank

    def size(self):
        return len(self._ranks)

    def name(self):
        return self._backend

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup ranks={self._ranks}>"

    def _work(self):
        """The group's worker (a daemon: a collective stuck on a dead peer never blocks exit)."""
        while (item := self._queue.get()) is not None:
            fn, future = item
            try:
                future.set_result(fn())
            except BaseException as e:
                future.set_exception(e)

    def run(self, fn, async_op, outputs=()):
        """Run `fn` after the group's earlier operations: a Work if async_op, else None.

        Called on the group's own thread - by a callback of a Future from Work.get_future,
        run as the operation completes - fn runs at once: the callback may wait for it (as
        PowerSGD-style hooks do), and every rank runs it at the same point."""
        future = Future()
        if threading.current_thread() is self._thread:
            try:
                future.set_result(fn())
            except BaseException as e:
                future.set_exception(e)
        else:
            self._queue.put((fn, future))
        if async_op:
            return Work(future, outputs)
        future.result()
        return None

    def shutdown(self):
        self._queue.put(None)

    # ---- point to point (group ranks) ------------------------------------------------------
    def send(self, arr, dst, tag):
        self._mesh.send(self._ranks[dst], (self._id, "p2p", tag), arr)

    def irecv(self, src, tag, fill, outputs):
        """A RecvWork whose result is the sender's global rank."""
        return RecvWork(self._mesh, None if src is None else self._ranks[src],
                        (self._id, "p2p", tag), fill, outputs)

    # ---- the collective building blocks ----------------------------------------------------
    def _send(self, r, arr):
        self._mesh.send(self._ranks[r], self._channel, arr)

    def _recv(self, r):
        return self._mesh.recv(self._ranks[r], self._channel)

    def _others(self):
        return [r for r in range(self.size()) if r != self._rank]

    def exchange(self, outs):
        """Send outs[r] to every rank r; returns ins, ins[r] being what rank r sent here."""
        for r in self._others():
            self._send(r, outs[r])
        return [outs[r] if r == self._rank else self._recv(r) for r in range(self.size())]

    def gather(self, arr, root):
        if self._rank != root:
            self._send(root, arr)
            return None
        return [arr if r == root else self._recv(r) for r in range(self.size())]

    def broadcast(self, arr, root):
        if self._rank != root:
            return self._recv(root)
        for r in self._others():
            self._send(r, arr)
        return arr

    def scatter(self, arrs, root):
        if self._rank != root:
            return self._recv(root)
        for r in self._others():
            self._send(r, arrs[r])
        return arrs[root]

    # ---- collectives on arrays -------------------------------------------------------------
    def all_gather(self, arr):
        return self.exchange([arr] * self.size())

    def all_reduce(self, arr, op):
        """Reduce-scatter then all-gather: rank r reduces the r-th slice of the flat array."""
        chunks = np.array_split(arr.reshape(-1), self.size())
        mine = reduce_arrays(self.exchange(chunks), op)
        return np.concatenate(self.all_gather(mine)).reshape(arr.shape)

    def reduce(self, arr, op, root):
        arrays = self.gather(arr, root)
        return None if arrays is None else reduce_arrays(arrays, op)

    def reduce_scatter(self, arrs, op):
        return reduce_arrays(self.exchange(arrs), op)

    def barrier(self):
        self.exchange([np.empty(0, np.uint8)] * self.size())
