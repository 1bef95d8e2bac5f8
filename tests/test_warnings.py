"""ember._warnings.warn_once: torch's TORCH_WARN_ONCE, once per process per key, pointing at the
first frame outside ember."""
import sys
import warnings

import ember
from ember._warnings import warn_once


def test_warn_once_warns_once_per_key_at_the_caller_outside_ember(monkeypatch):
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(2):
            line = sys._getframe().f_lineno + 1
            warn_once("a")
            warn_once("b", key="k", category=DeprecationWarning)
            warn_once("c", key="k")                 # the key was given: no warning
            ember.tensor(1.0).H                     # ember's own warn_once, from inside ember
    assert [(x.category, str(x.message), x.filename, x.lineno) for x in w] == [
        (UserWarning, "a", __file__, line), (DeprecationWarning, "b", __file__, line + 1),
        (UserWarning, "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
         __file__, line + 3)]
    assert ember._warnings.GIVEN == {"a", "k", str(w[2].message)}


def test_set_warn_always_repeats_once_a_process_warnings():
    """torch.set_warn_always(True) turns TORCH_WARN_ONCE into a warning at every call."""
    import torch

    def count(lib):
        before = lib.is_warn_always_enabled()
        lib.set_warn_always(True)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for _ in range(3):
                    lib.cholesky(lib.eye(2))
        finally:
            lib.set_warn_always(before)
        return len(caught), lib.is_warn_always_enabled()
    assert count(ember) == count(torch) == (3, False)
