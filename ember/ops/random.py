"""Random number generation: a torch-like Generator over NumPy's (or CuPy's) bit generators."""
import contextlib

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator"]


class Generator:
    """torch.Generator: `manual_seed`, `seed`, `initial_seed`, `get_state`/`set_state`."""

    def __init__(self, device="cpu"):
        from ..backends import device as _device
        self.device = _device(device)
        self._seed = 67280421310721
        self._rng = self._gpu = None

    @property
    def _np(self):
        """NumPy's generator, made on first use (importing numpy.random costs ~15 ms)."""
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        return self._rng

    def manual_seed(self, seed):
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self._rng = self._gpu = None
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .._tensor import _new
        from ..backends import CPU
        import pickle
        blob = pickle.dumps((self._seed, self._np.bit_generator.state))
        return _new(np.frombuffer(blob, dtype=np.uint8).copy(), CPU)

    def set_state(self, state):
        import pickle
        self._seed, st = pickle.loads(state.arr.tobytes())
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = st
        self._gpu = None
        return self

    def clone_state(self):
        """A new generator on the same device in the same state."""
        g = Generator(self.device)
        return g.set_state(self.get_state())

    @contextlib.contextmanager
    def _forked(self):
        """Draws inside the block come from a copy of the state and do not advance this
        generator (torch.random.fork_rng); on the GPU the copy starts a new CuPy stream."""
        saved = self._seed, self._rng, self._gpu
        if self._rng is not None:
            inner = np.random.default_rng()
            inner.bit_generator.state = self._rng.bit_generator.state
            self._rng = inner
        self._gpu = None
        try:
            yield
        finally:
            self._seed, self._rng, self._gpu = saved

    def rng(self, be):
        """The array-namespace generator for a backend (CuPy's is seeded from ours)."""
        if be.xp is np:
            return self._np
        if self._gpu is None:
            self._gpu = be.xp.random.default_rng(int(self._np.integers(2 ** 63)))
        return self._gpu


default_generator = Generator()


def manual_seed(seed):
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def rng_for(generator, be):
    return (generator or default_generator).rng(be)
