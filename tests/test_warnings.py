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
