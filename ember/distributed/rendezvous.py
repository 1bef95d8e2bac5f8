"""init_method URLs -> (store, rank, world_size), as torch.distributed.rendezvous reads them:
env:// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), tcp://host:port and file:///path, with
rank and world_size from the arguments or from the URL's query (?rank=0&world_size=2)."""
import numbers
import os
from urllib.parse import urlparse

from ._store import FileStore, TCPStore

__all__ = ["rendezvous"]


def _query(query):
    return dict(pair.split("=") for pair in filter(None, query.split("&")))


def _error(scheme, msg):
    return ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: {msg}")


def _rank_and_size(scheme, query):
    if "rank" not in query:
        raise _error(scheme, "rank parameter missing")
    if "world_size" not in query:
        raise _error(scheme, "world size parameter missing")
    return int(query["rank"]), int(query["world_size"])


def _tcp_store(host, port, rank, world_size, timeout):
    if not 0 <= port < 2 ** 16:
        raise ValueError(f"port must have value from 0 to 65535 but was {port}.")
    return TCPStore(host, port, world_size, is_master=rank == 0, timeout=timeout)


def _env(url, query, timeout):
    def env(var):
        value = os.environ.get(var)
        if not value:
            raise _error("env", f"environment variable {var} expected, but not set")
        return value

    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
        raise RuntimeError(
            "this process was started by torch's torchrun, whose agent serves the job's store "
            "as torch's C++ TCPStore, which ember's store cannot talk to: launch ember programs "
            "with `python -m ember.distributed.run` (torchrun's options)")
    rank = int(query["rank"]) if "rank" in query else int(env("RANK"))
    world_size = int(query["world_size"]) if "world_size" in query else int(env("WORLD_SIZE"))
    store = _tcp_store(env("MASTER_ADDR"), int(env("MASTER_PORT")), rank, world_size, timeout)
    return store, rank, world_size


def _tcp(url, query, timeout):
    if url.port is None:
        raise _error("tcp", "port number missing")
    rank, world_size = _rank_and_size("tcp", query)
    return _tcp_store(url.hostname, url.port, rank, world_size, timeout), rank, world_size


def _file(url, query, timeout):
    if not url.path:
        raise _error("file", "path missing")
    rank, world_size = _rank_and_size("file", query)
    return FileStore(url.path, world_size, timeout), rank, world_size


_HANDLERS = {"env": _env, "tcp": _tcp, "file": _file}


def rendezvous(url, rank=-1, world_size=-1, timeout=None):
    """(store, rank, world_size) for `url`; rank and world_size, when given (not -1), go
    into the URL's query, which takes precedence over env://'s RANK and WORLD_SIZE."""
    if not isinstance(url, str):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    parsed = urlparse(url)
    query = _query(parsed.query)
    if rank != -1 or world_size != -1:
        if "rank" in query or "world_size" in query:
            raise AssertionError(f"The url: {url} has node-specific arguments(rank, world_size) "
                                 "already.")
        query.update({k: str(v) for k, v in (("rank", rank), ("world_size", world_size))
                      if v != -1})
    if parsed.scheme not in _HANDLERS:
        raise RuntimeError(f"No rendezvous handler for {parsed.scheme}://")
    return _HANDLERS[parsed.scheme](parsed, query, timeout)
