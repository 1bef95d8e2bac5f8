"""torch's CPU random streams, number for number.

torch's CPU generator is an mt19937 seeded with the low 32 bits of the seed (NumPy's MT19937
with legacy seeding is the same engine), and each distribution turns its 32- or 64-bit draws
into values in a fixed way (ATen's DistributionsHelper.h and cpu/DistributionTemplates.h). The
transformations below follow those kernels, so `manual_seed(s)` then rand/randn/randint/randperm,
uniform_/normal_ (hence nn.init and every layer's default initialisation), bernoulli, dropout,
random_split and shuffling DataLoaders give torch's numbers: bit for bit for integers and
uniforms, within an ulp of torch's vectorised log/sin/cos for normals.

Distributions without a torch-identical path here draw from a
NumPy Generator seeded by one 64-bit draw of the stream."""
import math
import struct

import numpy as np

_U64 = np.uint64
_F0331 = float(np.float32(0.0331))          # torch's 0.0331f in sample_gamma
_F_THIRD = np.float32(1.0) / np.float32(3.0)    # its 1.0f / 3.0f, a float even for double alpha
_MT_N = 624
_NORMAL_AT = 24 + 8 * _MT_N                # after seed, left, seeded, next and the words
_STATE_BYTES = _NORMAL_AT + 40
_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}   # mantissa digits
_PERM_U32_MAX = (2 ** 32 - 1) // 20     # torch's randperm switches to 64-bit draws above this


_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
         0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
         0.00925546218271273, 0.00833056343336287)


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
        return (r[0::2] << _U64(32)) | r[1::2]

    def _unit(self, n, dtype):
        """uniform_real_distribution(0, 1): the low 53 bits of a 64-bit draw for double, the
        low 24 of a 32-bit draw for float (half and bfloat16 too: their accumulate type)."""
        if np.dtype(dtype) == np.float64:
            return (self.u64(n) & _U64((1 << 53) - 1)).astype(np.float64) * 2.0 ** -53
        return (self.u32(n) & _U64((1 << 24) - 1)).astype(np.float32) * np.float32(2.0 ** -24)

    # ---- torch's distributions ------------------------------------------------------------
    def uniform(self, shape, dtype, lo=0.0, hi=1.0):
        """rand / uniform_: x * (to - from) + from in the accumulate type, fused as torch's
        compiled kernel fuses it, and `from` where that rounds to `to` in the dtype (torch's
        values lie in [from, to)); complex dtypes fill the real view (re, im interleaved)."""
        dtype = np.dtype(dtype)
        if dtype.kind == "c":
            real = self.uniform(shape + (2,), dtype.type(0).real.dtype, lo, hi)
            return real.view(dtype).reshape(shape)
        x = self._unit(_size(shape), dtype)
        if lo != 0.0 or hi != 1.0:
            if x.dtype == np.float32:
                f, span = np.float32(lo), np.float32(hi) - np.float32(lo)
                x = (x.astype(np.float64) * float(span) + float(f)).astype(np.float32)
            else:
                x = x * (hi - lo) + lo
        x = x.astype(dtype, copy=False)
        if dtype.itemsize == 2 or lo != 0.0 or hi != 1.0:     # (else x < 1 exactly)
            top = x == dtype.type(hi)
            if top.any():
                x = np.where(top, dtype.type(lo), x)
        return x.reshape(shape)

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
        else:
            out = np.array([self._normal_double() for _ in range(n)], np.float64) * std + mean
        return out.astype(dtype, copy=False).reshape(shape)

    def _normal_fill(self, n, dtype, mean, std):
        acc = np.float64 if dtype == np.float64 else np.float32
        whole = n // 16 * 16
        # float and double draw every uniform first; half and bfloat16 only the whole blocks'
        data = self._unit(n if dtype.itemsize >= 4 else whole, dtype).astype(acc)
        out = np.empty(n, acc)
        out[:whole] = _box_muller16(data[:whole].reshape(-1, 16), acc).ravel()
        if n % 16:
            out[n - 16:] = _box_muller16(self._unit(16, dtype).astype(acc).reshape(1, 16),
                                         acc).ravel()
        if mean == 0.0 and std == 1.0:
            return out
        if acc is np.float32:      # torch's AVX2 kernel ends with one fused multiply-add
            return (out.astype(np.float64) * float(np.float32(std)) +
                    float(np.float32(mean))).astype(np.float32)
        return out * std + mean

    def _normal_double(self):
        if self.cached_normal is not None:
            z, self.cached_normal = self.cached_normal, None
            return z
        u1, u2 = self._unit(2, np.float64)
        r = np.sqrt(-2.0 * np.log1p(-u2))
        theta = 2.0 * np.pi * u1
        self.cached_normal = r * np.sin(theta)
        return r * np.cos(theta)

    def integers(self, low, high, shape):
        """randint / random_(from, to): (draw % range) + from, 64-bit draws for ranges of
        2**32 and more."""
        span = high - low
        v = self.u64(_size(shape)) if span >= 2 ** 32 else self.u32(_size(shape))
        return ((v % _U64(span)).astype(np.int64) + low).reshape(shape)

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
        """randperm: torch's Fisher-Yates, swapping i with i + draw % (n - i)."""
        perm = list(range(n))
        if n < 2:
            return np.array(perm, np.int64)
        draws = (self.u32(n - 1) if n < _PERM_U32_MAX else self.u64(n - 1)).tolist()
        for i, d in enumerate(draws):
            j = i + d % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, np.int64)

    def bernoulli(self, shape, p):
        """bernoulli_(p) with a number p: a double uniform below p."""
        return (self._unit(_size(shape), np.float64) < p).reshape(shape)

    def bernoulli_tensor(self, p):
        """bernoulli(probs): one uniform per element, in the precision of p (double or float)."""
        acc = np.float64 if p.dtype == np.float64 else np.float32
        return (self._unit(p.size, acc) < p.astype(acc, copy=False).ravel()).reshape(p.shape)

    def exponential(self, shape, lambd):
        return (-1.0 / lambd) * np.log1p(-self._unit(_size(shape), np.float64)).reshape(shape)

    def geometric(self, shape, p):
        return np.ceil(np.log(self._unit(_size(shape), np.float64)) /
                       np.log1p(-p)).reshape(shape)

    def lognormal(self, shape, mean, std):
        n = _size(shape)
        z = np.array([self._normal_double() for _ in range(n)], np.float64)
        return np.exp(z * std + mean).reshape(shape)

    def cauchy(self, shape, median, sigma):
        u = self._unit(_size(shape), np.float64)
        return (median + sigma * np.tan(np.pi * (u - 0.5))).reshape(shape)

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
                u, v = self._unit(2, np.float64)
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
            prod *= float(self._unit(1, np.float64)[0])
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
                total += math.ceil(math.log(float(self._unit(1, np.float64)[0])) / logq)
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
            u, v = self._unit(2, np.float64)
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
        return np.maximum(out.astype(dt), np.finfo(dt).tiny).reshape(alpha.shape)

    def _gamma_one(self, alpha, low):
        scale = 1.0
        if alpha < 1:
            if alpha == 0:
                return 0.0
            u = float(self._unit(1, np.float64)[0])
            scale *= (1 - u) ** float(low(1.0) / alpha)
            alpha = low(alpha + low(1.0))
        d = float(alpha - low(_F_THIRD))           # torch: float constants, alpha's type
        c = 1.0 / math.sqrt(float(np.float32(9.0)) * d)
        while True:
            while True:
                x = float(self._normal_double())
                y = 1.0 + c * x
                if y > 0:
                    break
            v = y * y * y
            u = 1 - float(self._unit(1, np.float64)[0])
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


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _box_muller16(block, acc):
    """torch's normal_fill_16 on rows of 16 uniforms: the first 8 give radii, the last 8
    angles. In float32 torch's AVX2 kernel takes log, sin and cos from avx_mathfun (Cephes
    polynomials, multiply-adds fused by the compiler); they are reproduced here with the
    compiler's choice of fusions (which product goes into which add: log's y * x * z + e * q1
    and cos's y * z * z - z / 2 each fuse the last product), bit for bit (NumPy's own
    functions: one value in seven an ulp away)."""
    u1 = acc(1) - block[:, :8]                  # contiguous halves: faster passes below
    theta = acc(2.0 * np.pi) * block[:, 8:]
    if acc is np.float32:
        radius = np.sqrt(acc(-2) * _log_ps(u1))
        sin, cos = _sincos_ps(theta)
    else:
        radius = np.sqrt(acc(-2) * np.log(u1))
        sin, cos = np.sin(theta), np.cos(theta)
    return np.concatenate([radius * cos, radius * sin], axis=1)


_F = np.float32


def _fma(a, b, c):
    """a * b + c rounded once (a float32 product is exact in float64)."""
    wide = np.multiply(a, b, dtype=np.float64)
    wide += c
    return wide.astype(_F)


def _log_ps(x):
    """avx_mathfun's log256_ps for positive float32 x."""
    bits = np.maximum(x, _F(1.17549435e-38)).view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_F) + _F(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(_F)        # mantissa in [0.5, 1)
    small = x < _F(0.707106781186547524)
    x = x - _F(1) + np.where(small, x, _F(0))
    e = e - small.astype(_F)
    z = x * x
    y = np.full_like(x, _F(7.0376836292e-2))
    for p in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
              -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        y = _fma(y, x, _F(p))
    y = _fma(y * x, z, e * _F(-2.12194440e-4))
    y = _fma(-z, _F(0.5), y)
    return _fma(e, _F(0.693359375), x + y)


def _sincos_ps(x):
    """avx_mathfun's sincos256_ps for float32 x >= 0: (sin, cos)."""
    j = ((x * _F(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(_F)
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma(y, _F(dp), x)
    sin_negative = (j & 4) != 0
    cos_negative = (~(j - 2) & 4) != 0
    z = x * x
    c = _fma(np.full_like(x, _F(2.443315711809948e-5)), z, _F(-1.388731625493765e-3))
    c = _fma(_fma(c, z, _F(4.166664568298827e-2)) * z, z, -(z * _F(0.5))) + _F(1)
    s = _fma(np.full_like(x, _F(-1.9515295891e-4)), z, _F(8.3321608736e-3))
    s = _fma(s, z, _F(-1.6666654611e-1)) * z
    s = _fma(s, x, x)
    first = (j & 2) == 0                  # Cephes' first octant polynomial choice
    sin, cos = np.where(first, s, c), np.where(first, c, s)
    return np.where(sin_negative, -sin, sin), np.where(cos_negative, -cos, cos)
