"""torch's CPU random streams, number for number.

torch's CPU generator is an mt19937 seeded with the low 32 bits of the seed (NumPy's MT19937
with legacy seeding is the same engine), and each distribution turns its 32- or 64-bit draws
into values in a fixed way (ATen's DistributionsHelper.h and cpu/DistributionTemplates.h). The
transformations below follow those kernels, so `manual_seed(s)` then rand/randn/randint/randperm,
uniform_/normal_ (hence nn.init and every layer's default initialisation), bernoulli, dropout,
random_split and shuffling DataLoaders give torch's numbers: bit for bit for integers,
uniforms and float normals; double normals of 16 or more within an ulp (NumPy's log, sin and
cos where torch's scalar kernel calls the C library's).

Distributions without a torch-identical path here draw from a
NumPy Generator seeded by one 64-bit draw of the stream.

Where the time goes (2026-11, min times against torch's in one process): the raw words come
from NumPy's MT19937 (random_raw, about 2.7 ns a word, near torch's own per-value cost: rand
and randint of 64K values 0.85x torch's); a few values (normals, scaled uniforms, integers)
compute on Python floats, cheaper than NumPy passes at that size. Float normals of 16 or more
go through the float32 emulation of torch's AVX2 Box-Muller below, about 95 NumPy calls per
pass of rows, which bounds randn of 2048 floats (~80 us, each call ~0.5 us of overhead; torch
9 us) and of 64K (~1.1 ms, torch 0.22 ms): its fused multiply-adds need float64 and a float32
rounding per step, which no NumPy call fuses (a mixed-dtype call, out= with a cast, costs more
than the two same-dtype passes it replaces, and a table lookup (take) more than arithmetic).
randperm's swaps become array passes (_swapped: ~50 calls, gathers and scatters; 2048 values
~70 us, torch 10 us); multinomial with replacement is NumPy's sequential float32 cumsum."""
import math
import struct

import numpy as np

from ._fma import _split, fma64

_U64 = np.uint64
_U64_32, _LOW53, _LOW24 = (np.array(v, _U64) for v in (32, (1 << 53) - 1, (1 << 24) - 1))
_ULP53, _MINUS_TWO_D, _TWO_PI_D = (np.array(v, np.float64) for v in (2.0 ** -53, -2.0,
                                                                       2.0 * np.pi))
_ULP24 = np.array(2.0 ** -24, np.float32)
_LOW24_INT = (1 << 24) - 1
_F0331 = float(np.float32(0.0331))          # torch's 0.0331f in sample_gamma
_F_THIRD = np.float32(1) / np.float32(3)    # and its 1.0f / 3.0f
_MT_N = 624
_NORMAL_AT = 24 + 8 * _MT_N                # after seed, left, seeded, next and the words
_STATE_BYTES = _NORMAL_AT + 40
_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}   # mantissa digits
_PERM_U32_MAX = (2 ** 32 - 1) // 20     # torch's randperm switches to 64-bit draws above this
_PERM_LOOP = 256                        # randperm's swaps in a Python loop up to this size
# up to this many values a distribution computes on Python numbers (the same IEEE double
# arithmetic and C library functions as NumPy's float64 passes, without their per-call cost):
# normals and scaled uniforms, double scaled uniforms (fma64: 20 passes) and integers
_SMALL, _SMALL_FMA, _SMALL_INT = 16, 24, 8
_SMALL_DIVIDE = 1024     # randint's values divided (%) below this, else multiplied
_CHUNK = 1 << 15        # values drawn and transformed at a time (see TorchCPU._chunked)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
         0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
         0.00925546218271273, 0.00833056343336287)


def _libm(np_fn, math_fn, x, exact=True):
    """np_fn(x) of a float64 array as the C library computes it (math_fn, torch's std::
    functions) where `exact`: NumPy's own log1p differs in the last bit for about one value in
    27, its exp and tan less often."""
    if not exact:
        return np_fn(x)
    return np.array([math_fn(v) for v in x.tolist()], np.float64)


def _stirling_tail(k):
    """torch's stirling_approx_tail: log(k!) minus Stirling's approximation."""
    if k <= 9:
        return _TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


class TorchCPU:
    """The stream of one Generator: an mt19937 and Box-Muller's cached second sample."""
    __slots__ = ("bits", "cached_normal")

    def __init__(self, seed):
        self.bits = np.random.MT19937(0)
        self.bits._legacy_seeding(seed & 0xFFFF_FFFF)
        self.cached_normal = None

    # ---- raw draws ------------------------------------------------------------------------
    def u32(self, n):
        return self.bits.random_raw(n)

    def u64(self, n):
        r = self.bits.random_raw(2 * n)
        hi = r[0::2] << _U64_32
        hi |= r[1::2]
        return hi

    def _chunked(self, n, dtype, draw):
        """draw(m) for n values of `dtype`, _CHUNK at a time into one array past _CHUNK (the
        temporaries of each pass stay in the cache; draws in order, so the same values)."""
        if n <= _CHUNK:
            return draw(n)
        out = np.empty(n, dtype)
        for i in range(0, n, _CHUNK):
            out[i:i + _CHUNK] = draw(min(_CHUNK, n - i))
        return out

    def _unit(self, n, dtype):
        """uniform_real_distribution(0, 1): the low 53 bits of a 64-bit draw for double, the
        low 24 of a 32-bit draw for float (half and bfloat16 too: their accumulate type)."""
        double = _F64 == dtype
        if double and n > _CHUNK:      # (the 64-bit draws' temporaries; a float's are fewer)
            return self._chunked(n, _F64, lambda m: self._unit(m, dtype))
        if double:
            v = self.u64(n)
            v &= _LOW53
            u = v.astype(np.float64)
            u *= _ULP53
            return u
        v = self.bits.random_raw(n)
        v &= _LOW24
        u = v.astype(np.float32)
        u *= _ULP24
        return u

    def _units(self, n, double):
        """_unit(n) as a list of Python floats (the small-size path)."""
        w = self.bits.random_raw(2 * n if double else n).tolist()
        if double:      # the low 53 bits of hi:lo, the low 21 of hi above the 32 of lo (as two
            # exact floats whose sum is exact: float arithmetic, not a 53-bit int's)
            w = iter(w)
            return [(h & 0x1F_FFFF) * 2.0 ** -21 + lo * 2.0 ** -53 for h, lo in zip(w, w)]
        return [(v & 0xFF_FFFF) * 2.0 ** -24 for v in w]

    # ---- torch's distributions ------------------------------------------------------------
    def uniform(self, shape, dtype, lo=0.0, hi=1.0):
        """rand / uniform_: x * (to - from) + from in the accumulate type, fused as torch's
        compiled kernel fuses it, and `from` where that rounds to `to` in the dtype (torch's
        values lie in [from, to)); complex dtypes fill the real view (re, im interleaved)."""
        dtype = np.dtype(dtype)
        if dtype.kind == "c":
            real = self.uniform(shape + (2,), dtype.type(0).real.dtype, lo, hi)
            return real.view(dtype).reshape(shape)
        n = _size(shape)
        if lo == 0.0 and hi == 1.0:
            if dtype.itemsize > 2:      # (x < 1 exactly)
                return self._unit(n, dtype).astype(dtype, copy=False).reshape(shape)
        elif n <= (_SMALL_FMA if dtype == _F64 else _SMALL) and type(lo) in _NUMBERS and \
                type(hi) in _NUMBERS:
            return self._uniform_small(n, dtype, lo, hi).reshape(shape)
        if n <= _CHUNK:
            return self._uniform_flat(n, dtype, lo, hi).reshape(shape)
        return self._chunked(n, dtype, lambda m: self._uniform_flat(m, dtype, lo, hi)).reshape(
            shape)

    def _uniform_flat(self, n, dtype, lo, hi):
        if lo == 0.0 and hi == 1.0:
            x = self._unit(n, dtype).astype(dtype, copy=False)
            if dtype.itemsize != 2:         # (x < 1 exactly)
                return x
        elif dtype == _F64:                 # (double: the compiled kernel's fma too)
            x = fma64(np, self._unit(n, dtype), np.float64(hi - lo), np.float64(lo))
        else:   # float: (k * 2**-24) * span + from with the 24 bits k, as k * (span * 2**-24)
            f, span = np.float32(lo), np.float32(hi) - np.float32(lo)
            f, step = float(f), float(span) * 2.0 ** -24
            v = self.u32(n)
            v &= _LOW24
            x = v.view(np.int64).astype(np.float64)     # (the exact float64 product, then
            x *= step                                   # one rounding of the sum)
            x += f
            x = x.astype(np.float32).astype(dtype, copy=False)
            # (each step rounds monotonically: the largest k gives the largest value)
            if dtype.itemsize == 4 and np.float32(_LOW24_INT * step + f) < np.float32(hi):
                return x
        top = x == dtype.type(hi)
        if top.any():
            x = np.where(top, dtype.type(lo), x)
        return x

    def _uniform_small(self, n, dtype, lo, hi):
        """uniform(from, to) of a few values, on Python floats: the same roundings (a float is
        its float64 value; np.array(..., float32) rounds as astype does)."""
        double = dtype == _F64
        x = self._units(n, double)
        if double:
            b = float(hi - lo)
            bh, bl = _split(b)
            x = [_fma64_py(v, b, bh, bl, float(lo)) for v in x]
        else:
            f, span = np.float32(lo), np.float32(hi) - np.float32(lo)
            f, span = float(f), float(span)
            x = [v * span + f for v in x]
        top = max(x, default=lo)
        x = np.array(x, _F64 if double else _F32)
        if dtype.itemsize == 2 or x.dtype.type(top) == x.dtype.type(hi):
            x = x.astype(dtype, copy=False)
            top = x == dtype.type(hi)
            if top.any():
                x = np.where(top, dtype.type(lo), x)
        return x.astype(dtype, copy=False)

    def normal(self, shape, dtype, mean=0.0, std=1.0, contiguous=True):
        """randn / normal_: 16 or more contiguous values take torch's normal_fill (all the
        uniforms first, then Box-Muller on blocks of 16, the tail block redrawn); fewer take
        normal_distribution<double>, one value at a time with the cached second sample."""
        dtype = np.dtype(dtype)
        if dtype.kind == "c":
            s = std / np.sqrt(2.0)
            real = self.normal(shape + (2,), dtype.type(0).real.dtype, mean, s, contiguous)
            return real.view(dtype).reshape(shape)
        n = _size(shape)
        if n >= 16 and contiguous:
            out = self._normal_fill(n, dtype, mean, std)
        elif n <= _SMALL and type(mean) in _NUMBERS and type(std) in _NUMBERS:
            mean, std = float(mean), float(std)      # (x * 1.0 is x; + 0.0 turns -0.0 into +0.0)
            # (a float32 array of Python floats rounds them as astype rounds float64 values)
            return np.array([z * std + mean for z in self._normal_list(n)],
                            _F32 if dtype == _F32 else _F64).astype(dtype, copy=False).reshape(
                                shape)
        else:
            out = self._normal_doubles(n, dtype.char == "d")
            if type(std) is not float or type(mean) is not float:
                out = out * std + mean
            else:               # in place (x * 1.0 is x; + 0.0 turns a -0.0 into +0.0)
                if std != 1.0:
                    out *= std
                out += mean
        return out.astype(dtype, copy=False).reshape(shape)

    def _normal_fill(self, n, dtype, mean, std):
        acc = np.float64 if dtype == np.float64 else np.float32
        rows, part = divmod(n, 16)
        out = np.empty(n, acc)
        # float and double draw every uniform first; half and bfloat16 only the whole blocks';
        # a partial last block is redrawn (16 more uniforms) and written over the end. The
        # draws go in order, so rows of them are drawn and transformed a cacheful at a time,
        # the redrawn block as one more row of the last pass
        for i in range(0, rows, _BLOCK_ROWS):
            k = min(_BLOCK_ROWS, rows - i)
            dest = out[16 * i:16 * (i + k)].reshape(k, 16)
            if not part or i + k < rows:
                block = self._unit(16 * k, dtype).astype(acc, copy=False).reshape(k, 16)
                self._box_muller_rows(block, acc, mean, std, dest)
                continue
            skip = part if dtype.itemsize >= 4 else 0       # (drawn, unused)
            u = self._unit(16 * (k + 1) + skip, dtype).astype(acc, copy=False)
            block = np.concatenate((u[:16 * k], u[16 * k + skip:])).reshape(k + 1, 16)
            done = np.empty((k + 1, 16), acc)
            self._box_muller_rows(block, acc, mean, std, done)
            dest[...] = done[:k]
            out[n - 16:] = done[k]
        return out

    @staticmethod
    def _box_muller_rows(block, acc, mean, std, out):
        _box_muller16(block, acc, out)
        if mean == 0.0 and std == 1.0:     # (x * 1.0 is x, but + 0.0 turns -0.0 into +0.0:
            out += mean                     # a zero radius and a negative cos or sin give it)
            return
        if acc is np.float32:       # torch's AVX2 kernel: one fused multiply-add
            wide = out.astype(_D)
            wide *= float(np.float32(std))
            _add_rounded(wide, float(np.float32(mean)), out)
        else:
            out *= std
            out += mean

    def _normal_double(self):
        return self._normal_list(1)[0]

    def _normal_list(self, n):
        """n draws of torch's normal_distribution<double>, as Python floats: the cached value
        first, then Box-Muller on pairs of draws (cos, then sin), the last sin cached when n
        runs out on it (the C library's log1p, sin and cos: Python's math)."""
        out = []
        if n and self.cached_normal is not None:
            out.append(float(self.cached_normal))
            self.cached_normal = None
        u = iter(self._units((n - len(out) + 1) // 2 * 2, True))
        for u1, u2 in zip(u, u):
            r = _sqrt(-2.0 * _log1p(-u2))
            theta = _TWO_PI * u1
            out += (r * _cos(theta), r * _sin(theta))
        if len(out) > n:
            self.cached_normal = out.pop()
        return out

    def _normal_doubles(self, n, double=True):
        """n calls of _normal_double at once: the cached value first, then Box-Muller on
        pairs of draws (cos, then sin), the last sin cached when n runs out on it (`double`:
        the C library's log1p, see below)."""
        if n <= _SMALL:
            return np.array(self._normal_list(n), _F64)
        cached = self.cached_normal
        start = 1 if n and cached is not None else 0
        pairs = (n - start + 1) // 2
        if not pairs:
            out = np.empty(n, np.float64)
        else:
            u = self._unit(2 * pairs, np.float64).reshape(pairs, 2)
            r = _libm(np.log1p, math.log1p, -u[:, 1], double)
            r *= _MINUS_TWO_D
            np.sqrt(r, out=r)
            theta = u[:, 0] * _TWO_PI_D
            both = np.empty((pairs, 2), np.float64)     # (cos, sin) a pair, contiguous passes
            np.multiply(r, np.cos(theta), out=both[:, 0])
            np.multiply(r, np.sin(theta), out=both[:, 1])
            both = both.reshape(-1)
            if not start:
                out = both if n == 2 * pairs else both[:n].copy()
            else:
                out = np.empty(n, np.float64)
                out[1:] = both[:n - 1]
        if start:
            out[0], self.cached_normal = cached, None
        if (n - start) % 2:
            self.cached_normal = both[-1]
        return out

    def integers(self, low, high, shape):
        """randint / random_(from, to): (draw % range) + from, 64-bit draws for ranges of
        2**28 and more (torch's threshold against modulo bias)."""
        span, n = high - low, _size(shape)
        if n <= _SMALL_INT and type(span) is int and type(low) is int:
            w = self.bits.random_raw(2 * n if span >= 2 ** 28 else n).tolist()
            if span >= 2 ** 28:
                w = [h << 32 | lo for h, lo in zip(w[::2], w[1::2])]
            return np.array([v % span + low for v in w], np.int64).reshape(shape)
        if span >= 2 ** 28 or type(span) is not int:
            v = self.u64(n) if span >= 2 ** 28 else self.u32(n)
            return ((v % _U64(span)).astype(np.int64) + low).reshape(shape)
        if n < _SMALL_DIVIDE:           # (32-bit draws: signed division is faster)
            v = self.bits.random_raw(n).view(np.int64) % span
            if low:
                v += low
            return v.reshape(shape)
        # the remainder as v - (v // span) * span in uint32, whose division by one number NumPy
        # computes with a multiplication (libdivide), where % divides each value
        v = self.bits.random_raw(n).astype(np.uint32)
        span = np.array(span, np.uint32)
        q = v // span
        q *= span
        v -= q
        out = v.astype(np.int64)
        if low:
            out += low
        return out.reshape(shape)

    def full_range(self, shape, dtype):
        """random_() without bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
        dtype = np.dtype(dtype)
        n = _size(shape)
        if dtype.kind == "b":
            return (self.u32(n) & _U64(1)).astype(dtype).reshape(shape)
        if dtype.kind == "f" or dtype.name == "bfloat16":
            digits = _BITS[dtype.name]
            v = self.u64(n) if digits == 53 else self.u32(n)
            return (v % _U64((1 << digits) + 1)).astype(dtype).reshape(shape)
        v = self.u64(n) if dtype.itemsize == 8 else self.u32(n)
        return (v % _U64(int(np.iinfo(dtype).max) + 1)).astype(dtype).reshape(shape)

    def permutation(self, n):
        """randperm: torch's Fisher-Yates, swapping i with i + draw % (n - i) (in Python for
        a few values, else all the swaps at once: _swapped)."""
        if n < 2:
            return np.arange(n, dtype=np.int64)
        draws = self.u32(n - 1) if n < _PERM_U32_MAX else self.u64(n - 1)
        if n > _PERM_LOOP:
            return _swapped(draws, n)
        perm = list(range(n))
        for i, d in enumerate(draws.tolist()):
            j = i + d % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, np.int64)

    def bernoulli(self, shape, p):
        """bernoulli_(p) with a number p: a double uniform below p, that is k * 2**-53 < p for
        the 53 bits k, or k < p * 2**53 (exact: a power of two), without the floats."""
        return self._chunked(_size(shape), np.bool_,
                             lambda m: self._bernoulli_flat(m, p * 2.0 ** 53)).reshape(shape)

    def _bernoulli_flat(self, n, top):
        v = self.u64(n)
        v &= _LOW53
        return v < top

    def bernoulli_tensor(self, p):
        """bernoulli(probs): one uniform per element, in the precision of p (double or float)."""
        acc = np.float64 if p.dtype == np.float64 else np.float32
        return (self._unit(p.size, acc) < p.astype(acc, copy=False).ravel()).reshape(p.shape)

    # double: the values stay float64, so they take the C library's log1p/exp/tan (torch's
    # double kernels call std::); for a narrower dtype NumPy's, which round the same
    def exponential(self, shape, lambd, double=True):
        u = self._unit(_size(shape), np.float64)
        return (-1.0 / lambd) * _libm(np.log1p, math.log1p, -u, double).reshape(shape)

    def geometric(self, shape, p):
        return np.ceil(np.log(self._unit(_size(shape), np.float64)) /
                       np.log1p(-p)).reshape(shape)

    def lognormal(self, shape, mean, std, double=True):
        z = self._normal_doubles(_size(shape), double) * std + mean
        return _libm(np.exp, math.exp, z, double).reshape(shape)

    def cauchy(self, shape, median, sigma, double=True):
        u = self._unit(_size(shape), np.float64)
        return (median + sigma * _libm(np.tan, math.tan, np.pi * (u - 0.5), double)).reshape(
            shape)

    def poisson(self, rates):
        """torch's sample_poisson per element, in order: multiplied uniforms below 10,
        Hoermann's transformed rejection from 10 on."""
        out = np.array([self._poisson_one(float(r)) for r in rates.ravel()], np.float64)
        return out.reshape(rates.shape)

    def _poisson_one(self, lam):
        if lam >= 10:
            slam, loglam = math.sqrt(lam), math.log(lam)
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            invalpha, vr = 1.1239 + 1.1328 / (b - 3.4), 0.9277 - 3.6224 / (b - 2)
            while True:
                u, v = self._units(2, True)
                u -= 0.5
                us = 0.5 - abs(u)
                k = math.floor((2 * a / us + b) * u + lam + 0.43)
                if us >= 0.07 and v <= vr:
                    return k
                if k < 0 or (us < 0.013 and v > us):
                    continue
                if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <=
                        -lam + k * loglam - math.lgamma(k + 1.0)):
                    return k
        if lam == 0:
            return 0
        x, prod, enlam = 0, 1.0, math.exp(-lam)
        while True:
            prod *= self._units(1, True)[0]
            if prod <= enlam:
                return x
            x += 1

    def binomial(self, counts, probs):
        """torch's sample_binomial per element, in order (counts and probs broadcast, of one
        float dtype): inverted geometric waiting times while count * min(p, 1 - p) < 10,
        Kachitvichyanukul-Schmeiser's BTRS from 10 on, with torch's constants."""
        low = counts.dtype.type
        out = [self._binomial_one(low(c), low(p), low) for c, p in zip(counts.ravel(),
                                                                      probs.ravel())]
        return np.array(out, np.float64).reshape(counts.shape)

    def _binomial_one(self, count, prob, low):
        if count <= 0 or prob <= 0:
            return 0.0
        if prob >= 1:
            return float(count)
        if prob <= 0.5:
            q, flip = prob, False
        elif prob > 0.5:
            q, flip = low(low(1.0) - prob), True
        else:
            return math.nan
        if count * q >= 10:
            k = self._btrs(float(count), float(q))
        else:
            logq = float(np.log1p(-q))          # in the input's dtype, as torch's compat_log1p
            k, total, n = 0.0, 0.0, float(count)
            while True:
                total += math.ceil(math.log(self._units(1, True)[0]) / logq)
                if total > n:
                    break
                k += 1
        return float(count) - k if flip else k

    def _btrs(self, n, p):
        stddev = math.sqrt(n * p * (1 - p))
        b = 1.15 + 2.53 * stddev
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = n * p + 0.5
        v_r = 0.92 - 4.2 / b
        r = p / (1 - p)
        alpha = (2.83 + 5.1 / b) * stddev
        m = math.floor((n + 1) * p)
        while True:
            u, v = self._units(2, True)
            u, v = float(u) - 0.5, float(v)
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + c)
            if k < 0 or k > n:
                continue
            if us >= 0.07 and v <= v_r:
                return float(k)
            v = math.log(v * alpha / (a / (us * us) + b))
            upper = ((m + 0.5) * math.log((m + 1) / (r * (n - m + 1))) +
                     (n + 1) * math.log((n - m + 1) / (n - k + 1)) +
                     (k + 0.5) * math.log(r * (n - k + 1) / (k + 1)) +
                     _stirling_tail(m) + _stirling_tail(n - m) - _stirling_tail(k) -
                     _stirling_tail(n - k))
            if v <= upper:
                return float(k)

    def standard_gamma(self, alpha, out_dtype=None):
        """torch's sample_gamma (Marsaglia-Tsang, alpha < 1 boosted) per element, in order,
        with alpha's own arithmetic in its dtype as torch's template does; the result is at
        least the dtype's smallest normal number."""
        low = alpha.dtype.type
        out = np.array([self._gamma_one(low(a), low) for a in alpha.ravel()], np.float64)
        dt = np.dtype(out_dtype or alpha.dtype)
        # (at least: std::max(min, sample), which gives min for a NaN sample)
        return np.fmax(out.astype(dt), np.finfo(dt).tiny).reshape(alpha.shape)

    def _gamma_one(self, alpha, low):
        scale = 1.0
        if alpha < 1:
            if alpha == 0:
                return 0.0
            u = self._units(1, True)[0]
            scale *= (1 - u) ** float(low(1.0) / alpha)
            alpha = low(alpha + low(1.0))
        d = float(alpha - _F_THIRD)     # torch's 1.0f / 3.0f: a float, then alpha's type
        s = 9.0 * d                     # (C's sqrt and division: NaN and inf, not errors)
        c = 1.0 / math.sqrt(s) if s > 0 else math.inf if s == 0 else math.nan
        while True:
            while True:
                x = float(self._normal_double())
                y = 1.0 + c * x
                if not y <= 0:          # (a NaN leaves the loop, as torch's do-while)
                    break
            v = y * y * y
            u = 1 - self._units(1, True)[0]
            xx = x * x
            if u < 1.0 - _F0331 * xx * xx or math.log(u) < 0.5 * xx + d * (1.0 - v +
                                                                          math.log(v)):
                return scale * d * v

    def numpy(self):
        """A NumPy Generator for the distributions torch computes differently."""
        return np.random.default_rng(int(self.u64(1)[0]))

    # ---- state ----------------------------------------------------------------------------
    def state(self):
        return self.bits.state, self.cached_normal

    def set_state(self, state):
        self.bits.state, self.cached_normal = state

    def torch_bytes(self, seed):
        """torch.get_rng_state()'s 5056 bytes (CPUGeneratorImplState): the seed, the mt19937's
        position and 624 words (as uint64), and the cached Box-Muller sample."""
        st = self.bits.state["state"]
        pos = int(st["pos"])
        out = bytearray(_STATE_BYTES)
        struct.pack_into("<QiiQ", out, 0, seed, _MT_N + 1 - pos, 1, pos % _MT_N)
        out[24:24 + 8 * _MT_N] = np.asarray(st["key"], "<u8").tobytes()
        valid = self.cached_normal is not None
        struct.pack_into("<dddi", out, _NORMAL_AT, 0.0, self.cached_normal if valid else 0.0,
                         0.0, int(valid))
        return bytes(out)

    @classmethod
    def from_torch_bytes(cls, raw):
        """(seed, stream) from torch's state bytes (torch 2.13 takes no 5048-byte legacy form)."""
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but "
                               f"found the input RNG state size to be {len(raw)}")
        seed, left, _, _ = struct.unpack_from("<QiiQ", raw, 0)
        key = np.frombuffer(raw, "<u8", _MT_N, 24).astype(np.uint32)
        stream = cls(0)
        stream.bits.state = {"bit_generator": "MT19937",
                             "state": {"key": key, "pos": _MT_N + 1 - left}}
        _, normal_y, _, valid = struct.unpack_from("<dddi", raw, _NORMAL_AT)
        stream.cached_normal = normal_y if valid else None
        return seed, stream


def _swapped(draws, n):
    """The permutation torch's Fisher-Yates makes of `draws` (consumed; step i swaps positions
    i and j_i = i + draws[i] % (n - i) >= i), in array passes. Position i is final after step
    i, which moves there what position j_i then holds. A position is written only by the steps
    that target it and by its own step, so what position p holds before step i is what the
    last earlier step targeting p moved out of its own position k (what k held before step
    k), or p itself where no earlier step targeted it: following "the last earlier step that
    targeted me" from each position i leads to the original value position i holds before
    its step (pointer doubling), and step i takes that of the last earlier step with the same
    target (or the target's own value, or its own where j_i = i)."""
    m = n - 1
    j = np.remainder(draws, np.arange(n, 1, -1, dtype=np.uint64), out=draws).view(np.int64)
    j += np.arange(m)
    # the steps grouped by target, in step order within a group
    ks = _stable_order(j, m.bit_length())
    js = j[ks]
    same = js[1:] == js[:-1]
    prev = np.empty(m, np.int64)            # the last earlier step with step i's target
    prev[ks[0]] = -1
    prev[ks[1:]] = np.where(same, ks[:-1], -1)
    # the parent of position t: the last step before t that targeted t, the last of t's group
    # (or the one before it where that is step t itself, the last one that can target t)
    ends = np.append(~same, True)
    targets, last = js[ends], ks[ends]
    parent = np.where(last == targets, prev[last], last)
    has = parent >= 0
    linked = targets[has]
    root = np.arange(n)
    root[linked] = parent[has]
    while linked.size:                      # (a position whose root is final drops out)
        r = root[linked]
        up = root[r]
        root[linked] = up
        linked = linked[up != r]
    # root[i]: what position i holds before step i (where j_i = i that is root[prev[i]] too)
    out = np.where(prev < 0, j, root[prev])
    return np.append(out, root[m])


def _stable_order(keys, bits):
    """np.argsort(keys, kind="stable") of keys below 2**bits, by stable sorts of 16-bit digits
    from the lowest (NumPy sorts those with a radix sort: linear time, where its sorts of
    wider integers take n log n)."""
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    for shift in range(16, bits, 16):
        digit = (keys >> shift).astype(np.uint16)       # (the bits above wrap away)
        order = order[np.argsort(digit[order], kind="stable")]
    return order


_NUMBERS = (float, int)
_sqrt, _log1p, _cos, _sin = math.sqrt, math.log1p, math.cos, math.sin
_TWO_PI = 2.0 * math.pi


def _fma64_py(a, b, bh, bl, c):
    """fma64(a, b, c) of Python floats, b also given split (bh, bl)."""
    p = a * b
    ah, al = _split(a)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    r = s + (((p - (s - v)) + (c - v)) + e)
    return r if r - r == 0.0 else float(fma64(np, a, b, c))     # (huge spans, overflows)


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _box_muller16(block, acc, out):
    """torch's normal_fill_16 on rows of 16 uniforms, into `out`: the first 8 give radii, the
    last 8 angles. In float32 torch's AVX2 kernel takes log, sin and cos from avx_mathfun
    (Cephes polynomials, multiply-adds fused by the compiler); they are reproduced here with
    the compiler's choice of fusions (which product goes into which add: log's y * x * z + e * q1
    and cos's y * z * z - z / 2 each fuse the last product), bit for bit (NumPy's own
    functions: one value in seven an ulp away)."""
    # the halves of the rows (C-contiguous) apart and back as items of 8 values (two slice
    # copies each way): a pass over rows of 8 values pays NumPy's inner-loop call per row,
    # several times the cost of a contiguous pass
    k = len(block)
    halves = np.empty((2, k, 8), acc)
    item = _ROW_HALF[acc]
    to, rows = halves.view(item).reshape(2, k), block.view(item).reshape(k, 2)
    to[0], to[1] = rows[:, 0], rows[:, 1]
    u, theta = halves
    if acc is np.float32:
        np.subtract(_ONE_F, u, out=u)
        radius = _log_ps(u)
        radius *= _MINUS_TWO_F
        np.sqrt(radius, out=radius)
        theta *= _TWO_PI_F
        cos_sin = _sincos_ps(theta)
    else:
        np.subtract(acc(1), u, out=u)
        radius = np.log(u, out=u)
        radius *= acc(-2)
        np.sqrt(radius, out=radius)
        theta *= acc(2.0 * np.pi)
        cos_sin = np.empty_like(halves)
        np.cos(theta, out=cos_sin[0])
        np.sin(theta, out=cos_sin[1])
    cos_sin *= radius
    to, rows = cos_sin.view(item).reshape(2, k), out.view(item).reshape(k, 2)
    rows[:, 0], rows[:, 1] = to


_F = np.float32
_D = np.float64
_ROW_HALF = {_F: np.dtype("V32"), _D: np.dtype("V64")}     # 8 values as one item
_BLOCK_ROWS = 2048      # Box-Muller rows per pass: 32K values, whose temporaries fit in cache

# The float32 kernels below round through float64 with same-dtype NumPy passes (a float64 copy,
# float64 arithmetic, an assignment into float32): a float32 product is exact in float64, so
# round32(round64(a * b + c)) is the multiply-add of the compiled kernel as ember computes it;
# mixed-dtype ufunc calls (dtype=, casting=) give the same values at twice the cost per pass.
# Their constants are 0-d arrays of the operands' dtype (a Python number costs a conversion
# per pass).


def _c32(v):
    return np.array(v, _F)


def _c64(v):
    """A float32 constant as a float64 0-d array."""
    return np.array(_F(v), _D)


def _ci(v):
    return np.array(v, np.int32)


def _add_rounded(wide, c, out):
    """A float32 multiply-add: round32(wide + c) into `out`, of the exact float64 product
    `wide` (consumed) of two float32 numbers."""
    wide += c
    out[...] = wide
    return out


def _horner(x64, coefficients):
    """Cephes' polynomial c0 x^k + c1 x^(k-1) + ... + ck (float32 constants as float64 0-d
    arrays, or arrays of them broadcasting against x: several polynomials at once) by fused
    Horner steps, of float32 x given as its float64 copy x64: each step rounds to float32."""
    wide = x64 * coefficients[0]
    y = np.empty(wide.shape, _F)
    for p in coefficients[1:-1]:
        wide += p
        y[...] = wide
        wide[...] = y
        wide *= x64
    wide += coefficients[-1]
    y[...] = wide
    return y


_LOG_P = tuple(map(_c64, (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                          3.3333331174e-1)))
_COS_P = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)
_SIN_P = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
_COS_SIN_P = tuple(np.array([_F(c), _F(s)], _D).reshape(2, 1, 1) for c, s in zip(_COS_P, _SIN_P))
_ONE_F, _HALF_F, _MINUS_HALF_F, _MINUS_TWO_F, _TWO_PI_F = map(_c32, (1, 0.5, -0.5, -2,
                                                                   2.0 * np.pi))
_LOG_Q1, _LOG_Q2 = _c32(-2.12194440e-4), _c32(0.693359375)
_HALF_D = _c64(0.5)
_FOPI = _c32(1.27323954473516)              # 4 / pi
_DP1, _DP2, _DP3 = _c32(-0.78515625), _c32(-2.4187564849853515625e-4), _c64(-3.77489497744594108e-8)
_SQRTHF_BITS = _ci(0x3F3504F3)                 # float32(sqrt(0.5)), Cephes' SQRTHF
_SQRTHF_UP = _ci(0x3F800000 - 0x3F3504F3)      # carries a mantissa >= SQRTHF's into the exponent
_MANTISSA, _BIAS_F = _ci(0x7FFFFF), _c32(0x7F)
_I1, _I4, _I23, _I29, _I30, _I31, _NOT1 = map(_ci, (1, 4, 23, 29, 30, 31, ~1))


def _log_ps(x):
    """avx_mathfun's log256_ps for float32 x in [2**-24, 1] (its clamp to the smallest normal
    number changes none of them). Its reduction (mantissa m in [0.5, 1), exponent e; below
    SQRTHF m = 2m, e = e - 1, then m - 1, all exact) is taken on the bits: adding
    0x3F800000 - SQRTHF carries exactly the mantissas >= SQRTHF into the exponent."""
    ix = x.view(np.int32)
    ix += _SQRTHF_UP
    e = (ix >> _I23).astype(_F)
    e -= _BIAS_F
    ix &= _MANTISSA
    ix += _SQRTHF_BITS
    x -= _ONE_F                                 # now in [SQRTHF - 1, 2 SQRTHF - 1)
    z = x * x
    z64 = z.astype(_D)
    y = _horner(x.astype(_D), _LOG_P)
    y *= x
    wide = y.astype(_D)
    wide *= z64
    z64[...] = e * _LOG_Q1                      # (a float64 pass adds it faster than a mixed one)
    _add_rounded(wide, z64, y)
    # z * -0.5 + y: the product is exact in float32, and a float32 sum rounded through float64
    # is the float32 sum (53 >= 2 * 24 + 2 bits: double rounding is innocuous)
    z *= _MINUS_HALF_F
    y += z
    # e * 0.693359375 (a 9-bit constant, |e| <= 25) is exact in float32, and so is its sum with
    # x + y in float64 (52 bits at most): the multiply-add is a float32 add
    y += x
    e *= _LOG_Q2
    y += e
    return y


def _sincos_ps(x):
    """avx_mathfun's sincos256_ps for float32 x >= 0, stacked: (cos, sin). Its reduction
    x - j DP1 - j DP2 - j DP3 (j <= 8) takes the first two products exactly in float32 (DP1
    and DP2 have 8 and 11 bits) and their sums exactly in float64 (49 bits at most), so those
    multiply-adds are float32 adds; the polynomials of cos and sin run as one stacked pass."""
    j = (x * _FOPI).astype(np.int32)
    j += _I1
    j &= _NOT1
    y = j.astype(_F)
    x = x + y * _DP1
    x += y * _DP2
    wide = j.astype(_D)
    wide *= _DP3
    wide += x.astype(_D)                        # (two float64 passes: faster than a mixed one)
    x[...] = wide
    z = x * x
    z64 = z.astype(_D)
    cs = _horner(z64, _COS_SIN_P)               # (2, *z.shape): the cos and sin polynomials
    cs *= z
    wide = cs.astype(_D)
    c, s = wide
    c *= z64
    z64 *= _HALF_D
    c -= z64
    x64 = x.astype(_D)
    s *= x64
    s += x64
    cs[...] = wide
    cs[0] += _ONE_F
    # the octant (j even, at most 8), on the bits (integer passes: a where on a mask, or a
    # table lookup with take, costs several times more): where j & 2 cos takes the sine's
    # polynomial and sin the cosine's (swapped by xor-ing both with their xor under the mask
    # of j's bit 1); cos is negative where (j + 2) & 4, sin where j & 4 (avx_mathfun's masks)
    bits = cs.view(np.int32)
    swap = bits[0] ^ bits[1]
    mask = j << _I30                            # (bit 1 to the sign bit, spread: 0 or -1)
    mask >>= _I31
    swap &= mask
    bits ^= swap
    sign = j + _SIGN_OFFSET                     # (2, *j.shape)
    sign &= _I4
    sign <<= _I29
    bits ^= sign
    return cs


_SIGN_OFFSET = np.array([2, 0], np.int32).reshape(2, 1, 1)
