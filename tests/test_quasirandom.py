"""ember.quasirandom.SobolEngine against torch's: plain and scrambled (seeded, and from the
global generator) points, dtypes, fast_forward, reset, draw_base2, out=, repr and errors."""
import numpy as np
import pytest
import torch

import ember

pytest.importorskip("scipy")      # the direction numbers come from SciPy's table


def _session(lib):
    out = []
    e = lib.quasirandom.SobolEngine(5)
    out += [repr(e), e.draw(3), e.draw(4, dtype=lib.float64), e.sobolstate[:4]]
    s = lib.quasirandom.SobolEngine(7, scramble=True, seed=123)
    out += [repr(s), s.draw(1), s.draw(5), s.shift, s.sobolstate]
    s.fast_forward(3)
    out += [s.draw(2, dtype=lib.float64), s.num_generated]
    s.reset()
    out += [s.draw_base2(3)]
    with pytest.raises(ValueError, match="balance properties of Sobol' points") as err:
        s.draw_base2(2)
    out.append(str(err.value))
    lib.manual_seed(5)
    g = lib.quasirandom.SobolEngine(3, scramble=True)
    out += [g.draw(4), lib.rand(2)]                  # the global stream, and after it
    big = lib.quasirandom.SobolEngine(1000).fast_forward(100)
    out.append(big.draw(2))
    ff = lib.quasirandom.SobolEngine(4).fast_forward(1)
    res = lib.empty(0)
    out += [ff.draw(2), ff.draw(3, out=res) is res, res]
    out.append(lib.quasirandom.SobolEngine(3, scramble=True, seed=1).draw(1, dtype=lib.float64))
    for bad in (0, 21202):
        with pytest.raises(ValueError, match=r"Supported range of dimensionality") as err:
            lib.quasirandom.SobolEngine(bad)
        out.append(str(err.value))
    return out


def test_sobol_engine_gives_torchs_points():
    got, want = _session(ember), _session(torch)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, torch.Tensor):
            assert str(g.dtype) == str(w.dtype) and tuple(g.shape) == tuple(w.shape)
            np.testing.assert_array_equal(g.numpy(), w.numpy())
        else:
            assert g == w
