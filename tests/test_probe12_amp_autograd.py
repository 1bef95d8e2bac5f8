"""Regressions found by running torch's autocast op lists (autocast_test_lists) and its
autograd.Function database (autograd_function_db) through ember, against torch."""
import warnings

import pytest
import torch

import ember
from test_probe7 import _outcome


def _warned(fn):
    """(_outcome of fn, the messages of the warnings it raised)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = _outcome(fn)
    return r, [f"{w.category.__name__}: {w.message}" for w in seen]


def _in_region(make, body):
    """body() inside the autocast region make() returns, then the state after leaving it."""
    def run():
        ctx = make()
        with ctx:
            inside = body()
        return inside, body()
    return run


def _state(L):
    return (L.is_autocast_enabled("cpu"), L.is_autocast_enabled(), str(L.get_autocast_dtype("cpu")),
            L.is_autocast_cache_enabled())


def _mm_dtype(L):
    return str((L.ones(2, 2) @ L.ones(2, 2)).dtype)


_STATE_CASES = {
    # torch.is_autocast_enabled() with no argument is the CUDA flag
    "no-argument is_autocast_enabled under CPU autocast": lambda L: _in_region(
        lambda: L.autocast("cpu"), lambda: _state(L))(),
    # a CPU region in an unsupported dtype warns and stays off, but the dtype is still set
    "CPU autocast in float32": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float32), lambda: (_state(L), _mm_dtype(L)))(),
    "CPU autocast in float64": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float64), lambda: _state(L))(),
    "disabled CPU autocast in float16 sets the dtype": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float16, enabled=False), lambda: _state(L))(),
    "cache_enabled=False": lambda L: _in_region(
        lambda: L.autocast("cpu", cache_enabled=False), lambda: _state(L))(),
    # the per-device state: a (disabled) CUDA region leaves CPU autocast on
    "CUDA region inside a CPU region": lambda L: _in_region(
        lambda: L.autocast("cpu"), lambda: _in_region(
            lambda: L.autocast("cuda"), lambda: (_state(L), _mm_dtype(L)))())(),
    "exit returns False": lambda L: (lambda a: (a.__enter__(), a.__exit__(None, None, None))[1])(
        L.autocast("cpu")),
    "attributes": lambda L: (L.autocast("cpu").device, str(L.autocast("cpu").fast_dtype),
                             L.autocast("cpu")._enabled, L.autocast("cpu")._cache_enabled),
    "device_type a torch.device": lambda L: L.autocast(device_type=L.device("cpu")),
    "is_autocast_enabled of a torch.device": lambda L: L.is_autocast_enabled(L.device("cpu")),
    "get_autocast_dtype of a torch.device": lambda L: L.get_autocast_dtype(L.device("cpu")),
    "is_autocast_enabled of an unknown device": lambda L: L.is_autocast_enabled("foo"),
    "is_autocast_available of an unknown device": lambda L: L.amp.is_autocast_available("foo"),
}


@pytest.mark.parametrize("name", list(_STATE_CASES))
def test_autocast_state_matches_torch(name):
    case = _STATE_CASES[name]
    assert _warned(lambda: case(ember)) == _warned(lambda: case(torch))
    assert not ember.is_autocast_enabled("cpu")
