"""Regressions found by the third batch of probe programs (real training/numerics scripts run
under torch and ember), each compared with torch."""
import pytest
import torch

import ember



def _err(fn, lib):
    try:
        fn(lib)
    except Exception as e:      # noqa: BLE001
        return type(e).__name__, str(e)
    return None


def test_broadcast_tensors_error_names_sizes_and_dim():
    for fn in (lambda t: t.broadcast_tensors(t.zeros(2), t.ones(3)),
               lambda t: t.broadcast_tensors(t.zeros(4, 1), t.ones(3), t.ones(2, 1, 1)),
               lambda t: t.distributions.Normal(t.zeros(2), t.ones(3))):
        assert _err(fn, ember) == _err(fn, torch)
