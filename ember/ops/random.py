"""Random number generation: torch.Generator, torch's CPU streams, CuPy's on CUDA."""
import contextlib
import ctypes
import os

import numpy as np

from ._torch_rng import _BITS, TorchCPU

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator"]


_MASK = 0xFFFF_FFFF_FFFF_FFFF
_MT_STATE_BYTES = 624 * 4 + 4       # NumPy's mt19937_state: uint32 key[624], int pos
# torch's refusals of a generator on a device type its CPU build names but cannot use
_NO_GENERATOR = {
    "mps": "Cannot execute getNewGenerator() without MPS backend.",
    "mtia": "Cannot execute getNewGenerator() without MTIA backend.",
    "xpu": "Cannot get XPU generator without ATen_xpu library.",
    "hip": "Backend doesn`t support getNewGenerator()",
    "hpu": "Backend doesn`t support getNewGenerator()",
    "privateuseone": "Please register PrivateUse1HooksInterface by "
                     "`RegisterPrivateUse1HooksInterface` first.",
    "xla": "Cannot get XLA generator without torch_xla library. This error has occurred because "
           "you are trying to use some XLA functionality, but the XLA library has not been "
           "loaded by the dynamic linker. You must load xla libraries by `import torch_xla`"}


class Generator:
    """torch.Generator: `manual_seed`, `seed`, `initial_seed`, `get_state`/`set_state`.

    A CPU generator (also serving the mock device) draws as torch's CPU generator, number for
    number (_torch_rng.py). A CUDA generator draws through CuPy's generator; its state is its
    seed and offset (as torch's CUDA generators): the CuPy stream is made from the two, and
    reading the state starts a new one from there, so a restored state draws alike."""

    def __init__(self, device="cpu"):
        from ..backends import _KNOWN, device as _device
        self.device = _device(device)
        t = self.device.type
        if t not in _KNOWN or t == "meta":      # (meta tensors draw nothing)
            raise RuntimeError(_NO_GENERATOR.get(t, f"{t.upper()} device type not an "
                                                    "accelerator."))
        self._seed = 67280421310721
        self._cpu = self._gpu = None
        self._offset = 0            # CUDA: the draws since the seed
        self._cuda = self.device.type == "cuda"

    @property
    def _stream(self):
        if self._cpu is None:
            self._cpu = TorchCPU(self._seed)
        return self._cpu

    def manual_seed(self, seed):
        if type(seed) is not int:       # (torch's THPUtils_checkLong; torch.manual_seed int()s)
            _check_long(seed)
        if not -0x8000_0000_0000_0000 <= seed <= _MASK:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & _MASK
        self._cpu = self._gpu = None
        self._offset = 0
        return self

    def seed(self):
        s = int.from_bytes(os.urandom(8), "little")     # not np.random: it costs import time
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """torch's byte layout: a state from torch.get_rng_state() sets ember's and back (for
        a CUDA generator, torch's 16 bytes: seed and offset)."""
        from .._tensor import _new
        from ..backends import CPU
        if self._cuda:
            self._gpu = None        # draws go on from (seed, offset), as after a restore
            raw = np.array([self._seed, self._offset], np.uint64).tobytes()
        else:
            raw = self._stream.torch_bytes(self._seed)
        return _new(np.frombuffer(raw, dtype=np.uint8).copy(), CPU)

    def draw_mark(self):
        """What get_state() holds, as a value cheaper to take and compare (vmap's randomness
        checks take one before and after a call): a draw changes it. The mt19937's state is
        read as bytes from NumPy's struct (its 624 words and position; MT19937.state builds
        them in a Python loop, ~30 us)."""
        cpu = self._cpu
        if cpu is None:
            return self._seed, self._offset
        return self._seed, self._offset, cpu.cached_normal, \
            ctypes.string_at(cpu.bits.ctypes.state_address, _MT_STATE_BYTES)

    def set_state(self, state):
        from .._tensor import Tensor
        if not isinstance(state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(state).__name__}")
        if state.arr.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if self._cuda:
            if state.arr.size != 16:
                raise RuntimeError("RNG state is wrong size")
            self._seed, self._offset = (int(v) for v in np.frombuffer(state.arr.tobytes(),
                                                                      np.uint64))
            self._gpu = None
            return self
        self._seed, self._cpu = TorchCPU.from_torch_bytes(state.arr.tobytes())
        return self

    def __repr__(self):
        return f"<torch._C.Generator object at {hex(id(self))}>"

    def __reduce__(self):
        """torch's pickle: Generator(device), then __setstate__((initial seed, offset or None,
        state))."""
        return Generator, (self.device,), (self._seed, self._offset if self._cuda else None,
                                           self.get_state())

    def __setstate__(self, state):
        seed, offset, rng = state
        self.manual_seed(seed)
        if offset is not None:
            self.set_offset(offset)
        self.set_state(rng)

    def clone_state(self):
        """A new generator on the same device in the same state."""
        g = Generator(self.device)
        return g.set_state(self.get_state())

    def graphsafe_get_state(self):
        """A CUDA generator's state as a new generator (torch's, for CUDA graphs); a CPU
        generator has none."""
        if not self._cuda:
            raise NotImplementedError("graphsafe_get_state is not supported in this Generator")
        return self.clone_state()

    def graphsafe_set_state(self, state):
        if not isinstance(state, Generator):
            from .._typenames import tp_name
            raise TypeError(f"expected a Generator, but got {tp_name(state)}")
        if not self._cuda:
            raise NotImplementedError("graphsafe_set_state is not supported in this Generator")
        return self.set_state(state.get_state())

    def get_offset(self):
        """A CUDA generator's draws since its seed; a CPU generator has no offset."""
        if not self._cuda:
            raise RuntimeError("CPU Generator does not use offset")
        return self._offset

    def set_offset(self, offset):
        if isinstance(offset, bool) or not isinstance(offset, int):
            from .._typenames import tp_name
            raise RuntimeError(f"manual_offset expected a long, but got {tp_name(offset)}")
        if not self._cuda:
            raise RuntimeError("CPU Generator does not use offset")
        self._offset, self._gpu = offset, None
        return self

    @contextlib.contextmanager
    def _forked(self):
        """Draws inside the block come from a copy of the state and do not advance this
        generator (torch.random.fork_rng)."""
        saved = self._seed, self._cpu, self._gpu, self._offset
        if self._cpu is not None:
            inner = TorchCPU(0)
            inner.set_state(self._cpu.state())
            self._cpu = inner
        self._gpu = None
        try:
            yield
        finally:
            self._seed, self._cpu, self._gpu, self._offset = saved

    def rng(self, be):
        """The stream for a backend: torch's algorithms on NumPy; on CUDA CuPy's generator,
        started from (seed, offset), behind the same methods."""
        if be.xp is np:
            # meta tensors hold no values: their fills must not advance the stream (torch's
            # don't), so they draw from a throwaway one
            if be.name == "meta":
                return TorchCPU(0)
            if not self._cuda:
                return self._stream
        if self._cuda is (be.xp is np):     # a CUDA generator for CPU draws, or the reverse
            raise RuntimeError(f"Expected a '{be.device.type}' device type for generator but "
                               f"found '{self.device.type}'")
        if self._gpu is None:
            start = np.random.SeedSequence([self._seed, self._offset]).generate_state(
                1, np.uint64)[0]
            self._gpu = ArrayRNG(be.xp.random.default_rng(int(start) >> 1), be.xp)
        self._offset += 1
        return self._gpu


class ArrayRNG:
    """TorchCPU's methods over a NumPy-style Generator (CuPy's on CUDA): the same
    distributions, not torch's numbers."""
    __slots__ = ("g", "xp")

    def __init__(self, g, xp):
        self.g, self.xp = g, xp

    def _float(self, shape, dtype, draw):
        dtype = np.dtype(dtype)
        if dtype.kind == "c":
            part = dtype.type(0).real.dtype
            return (self._float(shape, part, draw) + 1j * self._float(shape, part, draw)) \
                .astype(dtype)
        native = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
        return draw(shape, native).astype(dtype, copy=False)

    def uniform(self, shape, dtype, lo=0.0, hi=1.0):
        return self._float(shape, dtype,
                           lambda s, d: self.g.random(s, dtype=d) * d.type(hi - lo) + d.type(lo))

    def normal(self, shape, dtype, mean=0.0, std=1.0, contiguous=True):
        if np.dtype(dtype).kind == "c":
            std = std / np.sqrt(2.0)
        return self._float(shape, dtype, lambda s, d: self.g.standard_normal(s, dtype=d) *
                           d.type(std) + d.type(mean))

    def integers(self, low, high, shape):
        return self.g.integers(low, high, size=shape, dtype=np.int64)

    def full_range(self, shape, dtype):
        dtype = np.dtype(dtype)
        if dtype.kind == "b":
            return self.g.integers(0, 2, size=shape).astype(dtype)
        top = 2 ** _BITS[dtype.name] if dtype.kind == "f" or dtype.name == "bfloat16" else \
            int(np.iinfo(dtype).max)
        return self.g.integers(0, top, size=shape, dtype=np.int64, endpoint=True).astype(dtype)

    def permutation(self, n):
        # (CuPy's Generator has no permutation: the order of n uniform draws)
        return self.xp.argsort(self.g.random(n)).astype(np.int64)

    def bernoulli(self, shape, p):
        return self.g.random(shape) < p

    def bernoulli_tensor(self, p):
        return self.g.random(p.shape) < p

    # (double=: which math library the CPU stream's float64 values take; one here)
    def exponential(self, shape, lambd, double=True):
        return self.g.exponential(1 / lambd, shape)

    def geometric(self, shape, p):
        return self.g.geometric(p, shape).astype(np.float64)

    def lognormal(self, shape, mean, std, double=True):
        return self.xp.exp(self.g.standard_normal(shape) * std + mean)

    def cauchy(self, shape, median, sigma, double=True):
        return median + sigma * self.xp.tan(np.pi * (self.g.random(shape) - 0.5))

    def poisson(self, rates):
        return self.g.poisson(rates).astype(np.float64)

    def binomial(self, counts, probs):
        c = self.xp.asarray(counts)
        return self.g.binomial(c.astype(np.int64), self.xp.asarray(probs).astype(np.float64))

    def standard_gamma(self, alpha, out_dtype=None):
        dt = np.dtype(out_dtype or alpha.dtype)
        x = self.g.standard_gamma(alpha.astype(np.float64)).astype(dt)
        return self.xp.maximum(x, np.finfo(dt).tiny)

    def numpy(self):
        return self.g


# torch seeds its default CPU generator from the OS's randomness (a new Generator() starts
# from a fixed seed): unseeded programs draw differently in each process
default_generator = Generator()
default_generator.seed()

# the CUDA devices' default generators (torch.cuda.default_generators), made on first use; a
# seed given to torch.manual_seed before then is theirs too
_CUDA = {}
_CUDA_SEED = [None]


def cuda_generator(index):
    g = _CUDA.get(index)
    if g is None:
        g = _CUDA[index] = Generator(f"cuda:{index}")
        if _CUDA_SEED[0] is not None:
            g.manual_seed(_CUDA_SEED[0])
    return g


def _check_long(seed):
    """Generator.manual_seed's argument check: an int (not a bool); NumPy's ints refused."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        if isinstance(seed, np.integer):
            raise TypeError("an integer is required")
        from .._typenames import tp_name
        raise RuntimeError(f"manual_seed expected a long, but got {tp_name(seed)}")


def manual_seed(seed):
    """torch.manual_seed: the CPU generator and every CUDA device's."""
    seed = int(seed)
    default_generator.manual_seed(seed)
    _CUDA_SEED[0] = seed
    for g in _CUDA.values():
        g.manual_seed(seed)
    return default_generator


def seed():
    s = default_generator.seed()
    _CUDA_SEED[0] = s
    for g in _CUDA.values():
        g.manual_seed(s)
    return s


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def cuda_states():
    """The states of every CUDA device's generator (to restore with set_cuda_states)."""
    from ..cuda import device_count
    for i in range(device_count()):
        cuda_generator(i)
    return {i: g.get_state() for i, g in _CUDA.items()}


def set_cuda_states(states):
    for i, s in states.items():
        _CUDA[i].set_state(s)


def rng_for(generator, be):
    if generator is None:
        generator = default_generator if be.xp is np else cuda_generator(be.device.index or 0)
    try:
        return generator.rng(be)
    except AttributeError:
        if isinstance(generator, Generator):
            raise
        from .._typenames import tp_name
        raise TypeError(f"argument 'generator' must be torch.Generator, not "
                        f"{tp_name(generator)}") from None
