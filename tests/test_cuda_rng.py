"""The CUDA devices' generators: apart from the CPU's, as in torch. Without a GPU the
torch.cuda seeding calls leave the CPU stream alone (torch queues them until CUDA starts); the
CUDA generator's logic (state = seed and offset, restored states draw alike) runs here on a
stand-in GPU backend whose array namespace is NumPy under another name."""
import types

import numpy as np
import pytest
import torch

import ember
from ember.backends import Backend, device
from ember.ops import random as R


def _cpu_draws_after_cuda_seeding(lib):
    out = []
    for seeding in (lambda: lib.cuda.manual_seed(5), lambda: lib.cuda.manual_seed_all(5),
                    lib.cuda.seed, lib.cuda.seed_all):
        lib.manual_seed(0)
        r = seeding()
        out.append((r, lib.rand(2).tolist()))
    lib.manual_seed(0)
    lib.cuda.set_rng_state_all([lib.get_rng_state()])
    out.append((lib.cuda.get_rng_state_all(), tuple(lib.cuda.default_generators),
                lib.rand(1).tolist()))
    return out


@pytest.mark.skipif(ember.cuda.is_available(), reason="the no-GPU behaviour")
def test_cuda_seeding_without_a_gpu_leaves_the_cpu_stream_as_torch():
    assert _cpu_draws_after_cuda_seeding(ember) == _cpu_draws_after_cuda_seeding(torch)


@pytest.mark.skipif(ember.cuda.is_available(), reason="the no-GPU behaviour")
def test_cuda_state_queries_need_a_gpu():
    for query in (ember.cuda.initial_seed, ember.cuda.get_rng_state):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            query()


def _stand_in_gpu():
    xp = types.SimpleNamespace(random=np.random)        # `xp is numpy` is False: the GPU path
    return Backend("cuda", 1, xp, device("cuda", 7))


@pytest.fixture
def gpu():
    R._CUDA.pop(7, None)
    yield _stand_in_gpu()
    R._CUDA.pop(7, None)


def _draws(be, n=3):
    return [R.rng_for(None, be).uniform((4,), np.float32).tolist() for _ in range(n)]


def test_gpu_draws_leave_the_cpu_stream_alone(gpu):
    ember.manual_seed(3)
    want = ember.rand(3).tolist()
    ember.manual_seed(3)
    _draws(gpu)
    assert ember.rand(3).tolist() == want


def test_manual_seed_seeds_the_cuda_generators_too(gpu):
    ember.manual_seed(11)
    a = _draws(gpu)
    ember.manual_seed(11)
    assert _draws(gpu) == a
    assert R.cuda_generator(7).initial_seed() == 11
    ember.manual_seed(12)
    assert _draws(gpu) != a


def test_a_restored_cuda_state_draws_alike(gpu):
    ember.manual_seed(5)
    _draws(gpu, 2)
    g = R.cuda_generator(7)
    state = g.get_state()
    assert state.dtype == ember.uint8 and state.numel() == 16          # torch's seed, offset
    assert np.frombuffer(state.numpy().tobytes(), np.uint64).tolist() == [5, 2]
    after = _draws(gpu)
    g.set_state(state)
    assert _draws(gpu) == after
    states = R.cuda_states()
    more = _draws(gpu)
    R.set_cuda_states(states)
    assert _draws(gpu) == more
    with pytest.raises(RuntimeError, match="wrong size"):
        g.set_state(ember.get_rng_state())


def test_fork_rng_restores_the_cuda_generators(gpu):
    ember.manual_seed(2)
    _draws(gpu, 1)                      # (the stand-in device is not counted: in use first)
    with ember.random.fork_rng():
        inside = _draws(gpu)
    assert _draws(gpu) == inside
    with ember.random.fork_rng(devices=[]):
        _draws(gpu)
    assert _draws(gpu) != inside


def test_checkpoint_recomputes_with_the_forward_cuda_draws(gpu):
    """What checkpoint(preserve_rng_state=True) saves and restores covers the CUDA
    generators."""
    from ember.utils.checkpoint import _rng_states, _set_rng_states
    ember.manual_seed(9)
    _draws(gpu, 1)
    saved = _rng_states()
    forward = _draws(gpu), ember.rand(2).tolist()
    _set_rng_states(saved)
    assert (_draws(gpu), ember.rand(2).tolist()) == forward


def test_a_generator_draws_on_its_own_device_type(gpu):
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but "
                                           "found 'cpu'"):
        R.rng_for(ember.Generator(), gpu)
    g = ember.Generator("cuda:7").manual_seed(4)
    assert R.rng_for(g, gpu).uniform((2,), np.float64).tolist() == \
        R.rng_for(ember.Generator("cuda").manual_seed(4), gpu).uniform((2,), np.float64).tolist()


@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs a GPU")
def test_on_a_gpu_states_restore_and_the_cpu_stream_is_apart():
    ember.manual_seed(1)
    cpu = ember.rand(3).tolist()
    ember.manual_seed(1)
    ember.cuda.manual_seed(99)
    state = ember.cuda.get_rng_state()
    a = ember.rand(5, device="cuda").tolist()
    assert ember.rand(3).tolist() == cpu
    ember.cuda.set_rng_state(state)
    assert ember.rand(5, device="cuda").tolist() == a
    assert ember.cuda.initial_seed() == 99
    assert len(ember.cuda.default_generators) == ember.cuda.device_count()
