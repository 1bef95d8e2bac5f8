"""ember.random (torch.random): the module's names and fork_rng."""
import numpy as np
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
