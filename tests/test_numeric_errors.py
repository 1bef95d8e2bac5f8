"""Bad input to the ops of ember/ops/numeric.py raises torch's exception class."""
import pytest
import torch

import ember

F = [1.0, 2.0, 3.0]
CASES = [
    ("logaddexp.int", lambda m: m.logaddexp(m.tensor([1, 2]), m.tensor([1, 2]))),
    ("logaddexp.scalar", lambda m: m.logaddexp(m.tensor(F), 2.0)),
    ("nextafter.int", lambda m: m.nextafter(m.tensor([1]), m.tensor([2]))),
    ("gcd.float", lambda m: m.gcd(m.tensor(F), m.tensor(F))),
    ("ldexp.scalar", lambda m: m.ldexp(m.tensor(F), 2)),
    ("frexp.int", lambda m: m.frexp(m.tensor([1, 2]))),
    ("i0.complex", lambda m: m.i0(m.tensor(F) * 1j)),
    ("polygamma.neg", lambda m: m.polygamma(-1, m.tensor(F))),
    ("diff.0d", lambda m: m.diff(m.tensor(1.0))),
    ("diff.neg_n", lambda m: m.diff(m.tensor(F), n=-1)),
    ("renorm.p", lambda m: m.renorm(m.tensor([F]), -1, 0, 1.0)),
    ("renorm.maxnorm", lambda m: m.renorm(m.tensor([F]), 2, 0, -1.0)),
    ("renorm.int", lambda m: m.renorm(m.tensor([[1, 2]]), 2, 0, 1.0)),
    ("histc.int", lambda m: m.histc(m.tensor([1, 2]))),
    ("histc.bins", lambda m: m.histc(m.tensor(F), bins=0)),
    ("histc.range", lambda m: m.histc(m.tensor(F), min=3, max=1)),
    ("bincount.float", lambda m: m.bincount(m.tensor(F))),
    ("bincount.neg", lambda m: m.bincount(m.tensor([-1, 2]))),
    ("bincount.2d", lambda m: m.bincount(m.tensor([[1, 2]]))),
    ("cov.3d", lambda m: m.cov(m.ones(2, 2, 2))),
    ("combinations.2d", lambda m: m.combinations(m.ones(2, 2))),
    ("vander.2d", lambda m: m.vander(m.ones(2, 2))),
    ("vander.N", lambda m: m.vander(m.tensor(F), N=-1)),
    ("trace.bool_0d", lambda m: m.trace(m.tensor(True))),     # the dtype is checked first
    ("trace.1d", lambda m: m.trace(m.tensor(F))),
    ("ldexp.bool_exponent", lambda m: m.ldexp(m.tensor(F), m.tensor([True, False, True]))),
]


@pytest.mark.parametrize("name, fn", CASES, ids=[c[0] for c in CASES])
def test_error_class_matches_torch(name, fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)):
        fn(ember)


def test_tensor_methods_bound():
    for name in ("sinc", "logaddexp", "logaddexp2", "ldexp", "diff", "renorm", "frexp",
                 "nextafter", "gcd", "lcm", "polygamma", "i0", "histc", "bincount", "cov",
                 "corrcoef", "sinc_", "ldexp_", "renorm_", "gcd_", "lcm_", "polygamma_", "i0_",
                 "nextafter_"):
        assert hasattr(ember.Tensor, name) and hasattr(torch.Tensor, name), name
    for name in ("trapezoid", "trapz", "cumulative_trapezoid", "combinations", "vander"):
        assert hasattr(ember, name) and not hasattr(ember.Tensor, name), name


def test_inplace_polygamma_renorm():
    x = [[0.5, 1.5], [2.0, 3.0]]
    e, t = ember.tensor(x), torch.tensor(x)
    assert torch.allclose(torch.from_numpy(e.clone().polygamma_(1).numpy()), t.clone().polygamma_(1))
    assert torch.allclose(torch.from_numpy(e.clone().renorm_(2, 0, 1.0).numpy()),
                          t.clone().renorm_(2, 0, 1.0))
