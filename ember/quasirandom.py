"""torch.quasirandom: SobolEngine, torch's (scrambled) Sobol sequences, point for point.

The direction numbers are Joe and Kuo's new-joe-kuo-6.21201 table, the one torch compiles in;
ember reads SciPy's copy of it (scipy/stats/_sobol_direction_numbers.npz), so SobolEngine
needs SciPy installed. Scrambling draws from ember's generator exactly as torch draws from its
own (randint for the shift and the lower-triangular matrices), so a seeded engine gives torch's
points."""
import os

import numpy as np

__all__ = ["SobolEngine"]

_TABLE = []     # (poly, vinit), loaded on first use


def _direction_table():
    if not _TABLE:
        try:
            import scipy.stats
        except ImportError:
            raise ImportError("ember.quasirandom.SobolEngine reads the Sobol direction numbers "
                              "that ship with SciPy: pip install scipy") from None
        path = os.path.join(os.path.dirname(scipy.stats.__file__),
                            "_sobol_direction_numbers.npz")
        with np.load(path) as data:
            _TABLE.append((data["poly"].astype(np.int64), data["vinit"].astype(np.int64)))
    return _TABLE[0]


def _initial_state(dimension, maxbit):
    """torch's _sobol_engine_initialize_state_: Bratley and Fox's recurrence per dimension
    (run for all dimensions of one polynomial degree at once), then each column scaled by
    2**(maxbit-1), ..., 2, 1."""
    poly, vinit = _direction_table()
    state = np.zeros((dimension, maxbit), np.int64)
    state[0] = 1
    poly = poly[:dimension]
    degree = np.frexp(poly.astype(np.float64))[1] - 1        # bit_length(p) - 1
    for m in np.unique(degree[1:]):
        dims = np.nonzero(degree == m)[0]
        dims = dims[dims > 0]
        rows, p = state[dims], poly[dims]
        rows[:, :m] = vinit[dims, :m]
        for j in range(m, maxbit):
            v = rows[:, j - m].copy()
            for k in range(m):
                v ^= ((p >> (m - 1 - k)) & 1) * (rows[:, j - k - 1] << (k + 1))
            rows[:, j] = v
        state[dims] = rows
    return state << np.arange(maxbit - 1, -1, -1, dtype=np.int64)


def _rightmost_zeros(n):
    """The position of the lowest zero bit of each of the integers n (torch's rightmost_zero):
    the lowest set bit of n + 1."""
    m = n + 1
    return np.frexp((m & -m).astype(np.float64))[1] - 1


class SobolEngine:
    """An engine for (scrambled) Sobol sequences of up to 21201 dimensions."""

    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension, scramble=False, seed=None):
        from . import tensor, get_default_dtype
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError("Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}]")
        self.seed, self.scramble, self.dimension = seed, scramble, dimension
        state = _initial_state(dimension, self.MAXBIT)
        if scramble:
            shift, state = self._scrambled(state)
        else:
            shift = np.zeros(dimension, np.int64)
        self.sobolstate, self.shift = tensor(state), tensor(shift)
        self.quasi = self.shift.clone()
        # torch divides the integer shift in the default dtype at construction
        first = (shift / 2 ** self.MAXBIT).astype(get_default_dtype().np)
        self._first_point = tensor(first.reshape(1, -1))
        self.num_generated = 0

    def _scrambled(self, state):
        from . import Generator, randint
        g = None
        if self.seed is not None:
            g = Generator()
            g.manual_seed(self.seed)
        bits = randint(2, (self.dimension, self.MAXBIT), generator=g).numpy()
        shift = bits @ (np.int64(1) << np.arange(self.MAXBIT, dtype=np.int64))
        ltm = np.tril(randint(2, (self.dimension, self.MAXBIT, self.MAXBIT),
                              generator=g).numpy())
        ltm[:, np.arange(self.MAXBIT), np.arange(self.MAXBIT)] = 1
        # each matrix row as an integer, most significant bit first (torch's cdot_pow2)
        rows = ltm @ (np.int64(1) << np.arange(self.MAXBIT - 1, -1, -1, dtype=np.int64))
        out = np.zeros_like(state)
        for p in range(self.MAXBIT):       # bit p of each scrambled entry: parity of the AND
            masked = rows[:, self.MAXBIT - 1 - p, None] & state
            parity = np.zeros_like(state)
            for k in range(self.MAXBIT):
                parity ^= (masked >> k) & 1
            out |= parity << p
        return shift, out

    def _advance(self, n, start):
        """The next n integer points after `start` draws (and the new state)."""
        cols = _rightmost_zeros(np.arange(start, start + n, dtype=np.int64))
        steps = self.sobolstate.numpy()[:, cols].T
        points = np.bitwise_xor.accumulate(np.vstack([self.quasi.numpy()[None], steps]),
                                           axis=0)[1:]
        return points

    def draw(self, n=1, out=None, dtype=None):
        """The next n points, shape (n, dimension)."""
        from . import cat, get_default_dtype, tensor
        dtype = get_default_dtype() if dtype is None else dtype
        if self.num_generated == 0 and n == 1:
            result = self._first_point.to(dtype)
        else:
            start = self.num_generated - 1 if self.num_generated else 0
            count = n - 1 if self.num_generated == 0 else n
            points = self._advance(count, start) if count else \
                np.zeros((0, self.dimension), np.int64)
            if count:
                self.quasi = tensor(points[-1].copy())
            result = tensor((points.astype(dtype.np) * dtype.np.type(2.0 ** -self.MAXBIT))
                            .reshape(count, self.dimension))
            if self.num_generated == 0:
                result = cat((self._first_point.to(dtype), result), dim=-2)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m, out=None, dtype=None):
        """The next 2**m points; the total drawn must stay a power of 2."""
        n = 2 ** m
        total_n = self.num_generated + n
        if total_n & (total_n - 1):
            raise ValueError("The balance properties of Sobol' points require n to be a power "
                             f"of 2. {self.num_generated} points have been previously "
                             f"generated, then: n={self.num_generated}+2**{m}={total_n}. If "
                             "you still want to do this, please use 'SobolEngine.draw()' "
                             "instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self):
        self.quasi.copy_(self.shift)
        self.num_generated = 0
        return self

    def fast_forward(self, n):
        """Skip n points, as drawing them would."""
        from . import tensor
        count = n - 1 if self.num_generated == 0 else n
        start = self.num_generated - 1 if self.num_generated else 0
        if count > 0:
            self.quasi = tensor(self._advance(count, start)[-1].copy())
        self.num_generated += n
        return self

    def __repr__(self):
        fmt = [f"dimension={self.dimension}"]
        if self.scramble:
            fmt.append("scramble=True")
        if self.seed is not None:
            fmt.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(fmt)})"
