"""torch.distributed.elastic.multiprocessing.errors: `@record` on a worker's entry point writes
an uncaught exception (its message, traceback and time) as JSON into the file the launcher
names in TORCHELASTIC_ERROR_FILE; the launcher (ember.distributed.run) reads the files of the
failed workers back into ProcessFailures and reports them as one ChildFailedError, formatted
as torchrun's."""
import faulthandler
import json
import os
import signal
import socket
import time
import traceback
import warnings
from datetime import datetime
from functools import wraps

__all__ = ["ChildFailedError", "ErrorHandler", "ProcessFailure", "get_error_handler", "record"]

_NOT_AVAILABLE = "<N/A>"
_DOCS = "To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html"


class ErrorHandler:
    """Writes an exception as JSON to the file named by TORCHELASTIC_ERROR_FILE (nothing when
    the variable is unset)."""

    def _get_error_file_path(self):
        return os.environ.get("TORCHELASTIC_ERROR_FILE", None)

    def initialize(self):
        try:
            faulthandler.enable(all_threads=True)
        except Exception as e:
            warnings.warn(f"Unable to enable fault handler. {type(e).__name__}: {e}",
                          stacklevel=2)

    def record_exception(self, e):
        file = self._get_error_file_path()
        if file:
            data = {"message": {"message": f"{type(e).__name__}: {e}", "extraInfo": {
                "py_callstack": traceback.format_exc(), "timestamp": str(int(time.time()))}}}
            with open(file, "w") as fp:
                json.dump(data, fp)

    def dump_error_file(self, rootcause_error_file, error_code=0):
        """Copy a child's error file to this process's own (its error code set)."""
        with open(rootcause_error_file) as fp:
            rootcause = json.load(fp)
        if error_code and isinstance(rootcause.get("message"), dict):
            rootcause["message"]["errorCode"] = error_code
        mine = self._get_error_file_path()
        if mine:
            with open(mine, "w") as fp:
                json.dump(rootcause, fp)


def get_error_handler():
    return ErrorHandler()


class ProcessFailure:
    """A failed worker: its local rank, pid, exit code (negative: the signal that ended it) and
    error file; `message` and `timestamp` come from the file where the worker wrote one."""

    def __init__(self, local_rank, pid, exitcode, error_file):
        self.local_rank, self.pid, self.exitcode = local_rank, pid, exitcode
        self.error_file, self.message = error_file, ""
        self.error_file_data = {"message": ""}
        if os.path.isfile(error_file):
            with open(error_file) as fp:
                self.error_file_data = json.load(fp)
            message = self.error_file_data["message"]
            self.message = message
            self.timestamp = int(self.error_file_data.get("timestamp", 0)
                                 if isinstance(message, str)
                                 else message["extraInfo"]["timestamp"])
        else:
            self.error_file, self.timestamp = _NOT_AVAILABLE, int(time.time())
        if not self.message:
            self.message = (f"Signal {-exitcode} ({self.signal_name()}) received by PID {pid}"
                            if exitcode < 0 else _DOCS)

    def __repr__(self):
        return (f"ProcessFailure(local_rank={self.local_rank}, pid={self.pid}, "
                f"exitcode={self.exitcode}, error_file='{self.error_file}')")

    def signal_name(self):
        if self.exitcode < 0:
            try:
                return signal.Signals(-self.exitcode).name
            except ValueError:
                pass
        return _NOT_AVAILABLE

    def timestamp_isoformat(self):
        """The failure's time as YYYY-MM-DD_HH:MM:SS."""
        return datetime.fromtimestamp(self.timestamp).isoformat(sep="_")


class ChildFailedError(Exception):
    """The workers of `name` that failed ({global rank: ProcessFailure}); its message is
    torchrun's report, the first failure (by time) as the root cause."""

    def __init__(self, name, failures):
        if not failures:
            raise AssertionError
        self.name, self.failures = name, failures
        super().__init__(self.format_msg())

    def get_first_failure(self):
        rank = min(self.failures, key=lambda r: self.failures[r].timestamp)
        return rank, self.failures[rank]

    def format_msg(self, boarder_delim="=", section_delim="-"):
        title = f"{self.name} FAILED"
        root_rank, _ = self.get_first_failure()
        root, others, width = "", [], len(title)
        for idx, (rank, failure) in enumerate(self.failures.items()):
            text = self._format_failure(idx, rank, failure)
            width = max(width, *(len(line) for line in text.split("\n")))
            if rank == root_rank:
                root = text
            else:
                others.append(text)
        width = min(width, 60)
        return "\n".join(["", boarder_delim * width, title, section_delim * width, "Failures:",
                          "\n".join(others or ["  <NO_OTHER_FAILURES>"]), section_delim * width,
                          "Root Cause (first observed failure):", root, boarder_delim * width])

    def _format_failure(self, idx, rank, failure):
        msg = failure.message
        if isinstance(msg, dict):
            msg = msg.get("extraInfo", {}).get("py_callstack", msg.get("message", _NOT_AVAILABLE)
                                               ).replace("\n", "\n  ")
        name = failure.signal_name()
        signal_name = f" ({name})" if name != _NOT_AVAILABLE else ""
        return (f"[{idx}]:\n"
                f"  time      : {failure.timestamp_isoformat()}\n"
                f"  host      : {socket.getfqdn()}\n"
                f"  rank      : {rank} (local_rank: {failure.local_rank})\n"
                f"  exitcode  : {failure.exitcode} (pid: {failure.pid}) {signal_name}\n"
                f"  error_file: {failure.error_file}\n"
                f"  traceback : {msg}")


def record(fn, error_handler=None):
    """Decorate a worker's entry point: an exception escaping it is written to the worker's
    error file (TORCHELASTIC_ERROR_FILE) before it propagates; SystemExit(0) returns None."""
    error_handler = error_handler or get_error_handler()

    @wraps(fn)
    def wrapper(*args, **kwargs):
        error_handler.initialize()
        try:
            return fn(*args, **kwargs)
        except SystemExit as se:
            if se.code == 0:
                return None
            raise
        except ChildFailedError as e:
            _, failure = e.get_first_failure()
            if failure.error_file != _NOT_AVAILABLE:
                error_handler.dump_error_file(failure.error_file, failure.exitcode)
            raise
        except Exception as e:
            error_handler.record_exception(e)
            raise
    return wrapper
