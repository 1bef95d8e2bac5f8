"""ember.multiprocessing: torch.multiprocessing, the standard library's multiprocessing plus
spawn() / start_processes() for launching one worker per rank. Tensors travel through queues
by pickling (a copy); there is no shared-memory sharing strategy."""
import multiprocessing
from multiprocessing import *  # noqa: F403

from .spawn import (ProcessContext, ProcessException, ProcessExitedException,
                    ProcessRaisedException, spawn, start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "start_processes", "spawn"] + multiprocessing.__all__

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy):
    """Accepted for torch compatibility; ember pickles tensors whichever is chosen."""
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{_STRATEGIES}")
    _strategy = new_strategy


def get_sharing_strategy():
    return _strategy


def get_all_sharing_strategies():
    return set(_STRATEGIES)
