"""Key-value stores for the rendezvous (torch.distributed.TCPStore and FileStore).

Ranks publish their addresses here and read each other's; values are bytes, `get` waits for
the key, `add` is an atomic counter. The TCP server runs on a daemon thread of the master
process (rank 0), with one thread per connected client."""
import os
import pickle
import socket
import socketserver
import struct
import threading
import time
from datetime import timedelta

__all__ = ["Store", "TCPStore", "FileStore", "DistError", "DistNetworkError", "DistStoreError"]

_DEFAULT_TIMEOUT = timedelta(seconds=300)


class DistError(RuntimeError):
    """torch.distributed.DistError: the base of the distributed errors."""


class DistNetworkError(DistError):
    pass


class DistStoreError(DistError):
    pass


def _seconds(timeout):
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _as_bytes(value):
    return value.encode() if isinstance(value, str) else bytes(value)


def send_msg(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack("!Q", len(data)) + data)


def recv_into(sock, view):
    """Fill the writable buffer `view` from `sock`; None when the peer closed it first."""
    view, got = memoryview(view).cast("B"), 0
    while got < len(view):
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return view


def recv_exact(sock, n):
    """n bytes from `sock`, or None when the peer closed the connection first."""
    buf = bytearray(n)
    return None if recv_into(sock, buf) is None else buf


def recv_msg(sock):
    head = recv_exact(sock, 8)
    if head is None:
        return None
    return pickle.loads(recv_exact(sock, struct.unpack("!Q", head)[0]))


class Store:
    """The store interface: set / get (waits) / add / check / wait."""

    def __init__(self, timeout=_DEFAULT_TIMEOUT):
        self.timeout = timeout

    def set_timeout(self, timeout):
        self.timeout = timeout

    def wait(self, keys, timeout=None):
        for key in keys:
            self._get(key, self.timeout if timeout is None else timeout)

    def get(self, key):
        return self._get(key, self.timeout)

    def _timeout_error(self, key):
        ms = int(_seconds(self.timeout) * 1000)
        return DistStoreError(f"wait timeout after {ms}ms, keys: {key}")


class _Table:
    """The master's dict, guarded by a condition so that `get` can wait for a `set`."""

    def __init__(self):
        self.data, self.cond = {}, threading.Condition()

    def handle(self, op, key, value):
        with self.cond:
            if op == "set":
                self.data[key] = value
                self.cond.notify_all()
            elif op == "add":
                value = int(self.data.get(key, b"0")) + value
                self.data[key] = str(value).encode()
                self.cond.notify_all()
            elif op == "check":
                return all(k in self.data for k in key)
            elif op == "get":
                if not self.cond.wait_for(lambda: key in self.data, timeout=value):
                    return None
                return self.data[key]
            return value


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                msg = recv_msg(self.request)
                if msg is None:
                    return
                send_msg(self.request, self.server.table.handle(*msg))
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPStore(Store):
    """torch.distributed.TCPStore: the master (`is_master=True`) serves the table on
    host:port; every instance, the master's included, talks to it as a client."""

    def __init__(self, host_name, port, world_size=None, is_master=False,
                 timeout=_DEFAULT_TIMEOUT, wait_for_workers=True, multi_tenant=False,
                 master_listen_fd=None, use_libuv=True):
        super().__init__(timeout)
        self.host, self.port, self.world_size = host_name, port, world_size
        self._server = None
        if is_master:
            try:
                self._server = _Server(("", port), _Handler)
            except OSError as e:
                raise DistNetworkError(
                    "The server socket has failed to listen on any local network address. "
                    f"port: {port}, useIpv6: false, code: {-e.errno}, message: {e.strerror}"
                ) from None
            self._server.table = _Table()
            self.port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self._sock = self._connect()
        self._lock = threading.Lock()

    def _connect(self):
        deadline = time.monotonic() + _seconds(self.timeout)
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError:
                if time.monotonic() > deadline:
                    ms = int(_seconds(self.timeout) * 1000)
                    raise DistNetworkError(
                        f"The client socket has timed out after {ms}ms while trying to "
                        f"connect to ({self.host}, {self.port}).") from None
                time.sleep(0.02)

    @property
    def local_address(self):
        """This end's address on the connection to the master: an address the others reach."""
        return self._sock.getsockname()[0]

    def _call(self, op, key, value=None):
        with self._lock:
            send_msg(self._sock, (op, key, value))
            return recv_msg(self._sock)

    def set(self, key, value):
        self._call("set", key, _as_bytes(value))

    def _get(self, key, timeout):
        value = self._call("get", key, _seconds(timeout))
        if value is None:
            raise self._timeout_error(key)
        return value

    def add(self, key, amount):
        return self._call("add", key, int(amount))

    def check(self, keys):
        return self._call("check", list(keys))

    def close(self):
        self._sock.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class FileStore(Store):
    """torch.distributed.FileStore: an append-only file of pickled (key, value) records,
    shared through the file system. As in torch the file must not exist or be empty at the
    start; the last of `world_size` instances to close deletes it."""

    def __init__(self, file_name, world_size=-1, timeout=_DEFAULT_TIMEOUT):
        super().__init__(timeout)
        self.path, self.world_size = file_name, world_size
        open(self.path, "ab").close()

    def _locked(self, fn):
        import fcntl
        with open(self.path, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                return fn(f, self._parse(f.read()))
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @staticmethod
    def _parse(raw):
        table, pos = {}, 0
        while pos < len(raw):
            (n,) = struct.unpack_from("!Q", raw, pos)
            key, value = pickle.loads(raw[pos + 8:pos + 8 + n])
            table[key] = value
            pos += 8 + n
        return table

    @staticmethod
    def _append(f, key, value):
        data = pickle.dumps((key, value))
        f.write(struct.pack("!Q", len(data)) + data)
        f.flush()

    def set(self, key, value):
        self._locked(lambda f, table: self._append(f, key, _as_bytes(value)))

    def add(self, key, amount):
        def add(f, table):
            value = int(table.get(key, b"0")) + int(amount)
            self._append(f, key, str(value).encode())
            return value
        return self._locked(add)

    def check(self, keys):
        return self._locked(lambda f, table: all(k in table for k in keys))

    def _get(self, key, timeout):
        deadline = time.monotonic() + _seconds(timeout)
        while True:
            value = self._locked(lambda f, table: table.get(key))
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise self._timeout_error(key)
            time.sleep(0.01)

    def close(self):
        if self.add("__closed__", 1) >= self.world_size > 0:
            os.remove(self.path)
