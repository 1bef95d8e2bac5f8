"""The transport: a full mesh of TCP connections between the ranks of a job.

Every message is a frame: a length-prefixed pickled header (channel, dtype, shape) followed by
the raw bytes of a C-contiguous NumPy array. A daemon reader thread per connection files each
incoming frame under (source, channel) with an arrival number, so sends never block on a
peer that is busy sending too (no deadlock in exchanges), and a receive takes the frame whose
number it was given when it was posted (frames on one channel are taken in order)."""
import pickle
import socket
import struct
import threading
import time
from collections import defaultdict

import numpy as np

from ._store import DistNetworkError, recv_exact, recv_into

__all__ = ["Mesh"]


def _bytes_view(arr):
    """The array's memory as a writable/readable flat uint8 view (arr is C-contiguous)."""
    return memoryview(arr.reshape(-1).view(np.uint8))


class Mesh:
    """Connections from this rank to every other one. Rank r connects to the lower ranks and
    accepts the higher ones; the listening addresses are exchanged through the store."""

    def __init__(self, store, rank, world_size, timeout, host):
        self.rank, self.world_size, self.timeout = rank, world_size, timeout.total_seconds()
        self._cond = threading.Condition()
        self._frames = defaultdict(dict)      # (src, channel) -> {arrival number: array}
        self._arrived = defaultdict(int)      # (src, channel) -> frames arrived so far
        self._posted = defaultdict(int)       # (src, channel) -> receives posted so far
        self._closed = set()                  # peers whose connection has ended
        self._socks, self._send_locks, self._addrs = {}, {}, {}
        listener = socket.create_server(("", 0), backlog=max(world_size, 1))
        store.set(f"mesh/{rank}", f"{host}:{listener.getsockname()[1]}")
        for peer in range(rank):
            addr, port = store.get(f"mesh/{peer}").decode().rsplit(":", 1)
            sock = socket.create_connection((addr, int(port)), timeout=self.timeout)
            sock.sendall(struct.pack("!i", rank))
            self._add(peer, sock)
        listener.settimeout(self.timeout)
        try:
            for _ in range(rank + 1, world_size):
                sock, _ = listener.accept()
                self._add(struct.unpack("!i", recv_exact(sock, 4))[0], sock)
        except socket.timeout:
            raise DistNetworkError(f"rank {rank} timed out after {self.timeout}s waiting for "
                                   "the other ranks to connect") from None
        finally:
            listener.close()

    def _add(self, peer, sock):
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks[peer], self._send_locks[peer] = sock, threading.Lock()
        self._addrs[peer] = "[{}]:{}".format(*sock.getpeername()[:2])
        threading.Thread(target=self._read, args=(peer, sock), daemon=True,
                         name=f"ember-dist-recv-{peer}").start()

    # ---- sending ---------------------------------------------------------------------------
    def send(self, dst, channel, arr):
        arr = np.require(arr, requirements="C")
        if dst == self.rank:
            self._file(dst, channel, arr.copy())
            return
        header = pickle.dumps((channel, arr.dtype, arr.shape), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with self._send_locks[dst]:
                sock = self._socks[dst]
                sock.sendall(struct.pack("!Q", len(header)) + header)
                if arr.nbytes:
                    sock.sendall(_bytes_view(arr))
        except OSError:
            raise RuntimeError(f"Connection closed by peer {self._addrs[dst]}") from None

    # ---- receiving -------------------------------------------------------------------------
    def _read(self, peer, sock):
        try:
            while True:
                head = recv_exact(sock, 8)
                if head is None:
                    break
                channel, dtype, shape = pickle.loads(recv_exact(sock, struct.unpack("!Q", head)[0]))
                arr = np.empty(shape, dtype)
                if arr.nbytes and recv_into(sock, _bytes_view(arr)) is None:
                    break
                self._file(peer, channel, arr)
        except OSError:
            pass
        finally:
            sock.close()
            with self._cond:
                self._closed.add(peer)
                self._cond.notify_all()

    def _file(self, src, channel, arr):
        key = (src, channel)
        with self._cond:
            self._frames[key][self._arrived[key]] = arr
            self._arrived[key] += 1
            self._cond.notify_all()

    def post(self, src, channel):
        """Reserve the next frame from `src` on `channel`; returns its number for `take`."""
        with self._cond:
            key = (src, channel)
            self._posted[key] += 1
            return self._posted[key] - 1

    def ready(self, src, channel, number):
        with self._cond:
            return number in self._frames[(src, channel)]

    def take(self, src, channel, number):
        """Wait for frame `number` from `src` on `channel` and return it."""
        with self._cond:
            frames = self._frames[(src, channel)]
            self._wait(lambda: number in frames, lambda: src in self._closed, src)
            return frames.pop(number)

    def take_any(self, channel):
        """Wait for the next unreserved frame on `channel` from any rank: (src, array)."""
        def find():
            for src in range(self.world_size):
                key = (src, channel)
                if self._arrived[key] > self._posted[key]:
                    return src
            return None

        with self._cond:
            self._wait(lambda: find() is not None,
                       lambda: len(self._closed) >= self.world_size - 1, None)
            src = find()
            return src, self._frames[(src, channel)].pop(self.post(src, channel))

    def recv(self, src, channel):
        return self.take(src, channel, self.post(src, channel))

    def _wait(self, arrived, closed, src):
        deadline = time.monotonic() + self.timeout
        while not arrived():
            if closed():
                peer = self._addrs.get(src, "") if src is not None else ""
                raise RuntimeError(f"Connection closed by peer {peer}".rstrip())
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"Timed out waiting {int(self.timeout * 1000)}ms for recv "
                                   "operation to complete")
            self._cond.wait(left)

    def close(self):
        """Half-close every connection: the peers read what was sent, then end of stream."""
        for sock in self._socks.values():
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

