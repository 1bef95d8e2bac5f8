"""The values of torch's CPU arange kernel, bit for bit.

torch computes `start + step * idx` in the accumulate type (float64 for float32/float64, float32
for the 16-bit floats) with a fused multiply-add, except inside its vectorised loop: there each
block of one AVX2 vector (32 bytes) starts from `base = (T)(start + step * idx)` and fills
`base + i * step`, rounding `base` to the output type first. Blocks run in pairs; the tail
after the last pair, and each thread's chunk of a long range, restart that pattern."""
import numpy as np

_GRAIN = 32768          # at::internal::GRAIN_SIZE
_SPLIT = 134217729.0    # 2**27 + 1, Veltkamp's splitter for float64


def _fma64(step, idx, start):
    """step * idx + start in float64 with one rounding, for a scalar step and start and
    integer-valued idx below 2**27 (Dekker's exact product, Knuth's exact sum)."""
    t = _SPLIT * step
    hi = t - (t - step)
    lo = step - hi
    p = idx * step
    err = idx * hi
    err -= p
    err += idx * lo                       # p + err == idx * step exactly
    s = p + start
    v = s - p
    r = s - v
    np.subtract(p, r, out=r)
    r += start - v                        # s + r == p + start exactly
    r += err
    s += r
    return s


def _plain(step, idx, start):
    """The same with two roundings: identical after rounding to float32 (and for every
    product that is exact in the accumulate type) but for a near-tie about once in 2**29."""
    return idx * step + start


def _fma32(step, idx, start):
    """float32 step * idx + start rounded once (the product is exact in float64)."""
    return (np.float64(step) * idx.astype(np.float64) + start).astype(np.float32)


def _exact_product(step, n):
    """Whether step * i is exact in float64 for every i < n."""
    mant, _ = np.frexp(np.float64(step))
    bits = 53
    m = int(abs(mant) * 2.0 ** 53)
    while bits and not m & 1:
        m >>= 1
        bits -= 1
    return bits + max(n, 1).bit_length() <= 53


def _chunk(out, begin, start, step, fma, acc, vec):
    """Fill out[begin:begin + len] as one parallel_for chunk of torch's kernel does."""
    n = len(out)
    nvec = n // (2 * vec) * 2 * vec
    if nvec:
        bases = fma(step, np.arange(begin, begin + nvec, vec, dtype=acc), start)
        bases = bases.astype(out.dtype).astype(acc)
        block = fma(step, np.arange(vec, dtype=acc), bases[:, None])
        out[:nvec] = block.reshape(-1)
    if nvec < n:
        out[nvec:] = fma(step, np.arange(begin + nvec, begin + n, dtype=acc), start)


def float_arange(start, step, n, dtype, threads):
    """torch.arange's values for n elements of the floating NumPy dtype `dtype`."""
    dtype = np.dtype(dtype)
    acc = np.float64 if dtype.itemsize >= 4 else np.float32
    start, step = acc(start), acc(step)
    fused = dtype == np.float64 and not _exact_product(step, n)
    fma = _fma64 if fused else _plain if acc is np.float64 else _fma32
    vec = 32 // dtype.itemsize
    out = np.empty(n, dtype)
    workers = 1 if n < _GRAIN else max(1, min(threads, -(-n // _GRAIN)))
    size = -(-n // workers) if n else 0
    for begin in range(0, n, size or 1):
        _chunk(out[begin:begin + size], begin, start, step, fma, acc, vec)
    return out


def float_range(start, end, step, dtype):
    """The deprecated torch.range's values: `end - start` over `step` plus one elements, each
    `start + i * step` in the accumulate type (a plain loop: no fused multiply-add)."""
    dtype = np.dtype(dtype)
    acc = np.float64 if dtype.itemsize >= 4 else np.float32
    start, end, step = acc(start), acc(end), acc(step)
    n = max(int((end - start) / step + acc(1)), 0)
    return (start + np.arange(n, dtype=acc) * step).astype(dtype)
