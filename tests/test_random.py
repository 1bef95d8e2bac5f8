"""ember.random (torch.random): the module's names, fork_rng, Generator.clone_state; GradScaler's
factor accessors."""
import numpy as np
import pytest
import torch

import ember


def test_torch_random_module_and_fork_rng():
    for name in ember.random.__all__:
        assert hasattr(torch.random, name), name
    ember.manual_seed(1)
    before = ember.rand(4)
    ember.manual_seed(1)
    with ember.random.fork_rng():
        inside = ember.rand(4)
        ember.rand(10)                      # advances only the forked copy
    after = ember.rand(4)
    np.testing.assert_array_equal(after.numpy(), before.numpy())
    np.testing.assert_array_equal(inside.numpy(), before.numpy())
    with ember.random.fork_rng(enabled=False):
        ember.rand(1)
    assert not (ember.rand(4) == after).all()
    assert ember.random.initial_seed() == 1
    state = ember.random.get_rng_state()
    x = ember.rand(3)
    ember.random.set_rng_state(state)
    np.testing.assert_array_equal(ember.rand(3).numpy(), x.numpy())


def test_generator_clone_state():
    g = ember.Generator().manual_seed(3)
    ember.rand(2, generator=g)
    c = g.clone_state()
    assert c is not g and c.device == g.device and c.initial_seed() == g.initial_seed()
    assert ember.rand(4, generator=c).tolist() == ember.rand(4, generator=g).tolist()


def test_grad_scaler_factor_accessors_match_torch():
    for lib in (ember, torch):
        s = lib.amp.GradScaler("cpu", growth_factor=3.0, backoff_factor=0.25, growth_interval=7)
        assert (s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval()) == \
            (3.0, 0.25, 7)
        s.set_growth_factor(4.0)
        s.set_backoff_factor(0.125)
        s.set_growth_interval(9)
        sd = s.state_dict()
        assert (sd["growth_factor"], sd["backoff_factor"], sd["growth_interval"]) == \
            (4.0, 0.125, 9)


def test_cuda_generator_refused_by_cpu_draws():
    """torch's message for a CUDA generator given to a CPU draw (torch's CPU build cannot make
    one; ember makes one without CUDA, so the check is ember's alone)."""
    g = ember.Generator(device="cuda")
    msg = "Expected a 'cpu' device type for generator but found 'cuda'"
    for draw in (lambda: ember.rand(2, generator=g), lambda: ember.randperm(3, generator=g),
                 lambda: ember.empty(2).normal_(generator=g),
                 lambda: ember.multinomial(ember.ones(3), 1, generator=g)):
        with pytest.raises(RuntimeError, match=msg):
            draw()
