"""`where` for big NumPy arrays, as a branch-free blend of the operands' bits.

NumPy's where branches on every element. With a mask as unpredictable as ReLU's on real data it
runs at a fifth of memory speed (5 ms for 1.4M float32 on the development machine); the blend
`((a ^ b) & -mask) ^ b` is four vectorised passes (1 ms) and exact for every value, -0.0 and
NaN payloads included. Small arrays, other backends, broadcasting masks and mixed dtypes take
`xp.where` as before."""
import numpy as np

_MIN_SIZE = 1 << 13      # (measured: NumPy's where is faster below ~6K elements)
_BITS = {1: np.dtype(np.int8), 2: np.dtype(np.int16), 4: np.dtype(np.int32),
         8: np.dtype(np.int64)}


def fast_where(xp, cond, a, b):
    if xp is not np or cond.size < _MIN_SIZE or cond.dtype != np.bool_ or \
            not cond.flags.c_contiguous:
        return xp.where(cond, a, b)
    dt = np.result_type(a, b)
    bits = _BITS.get(dt.itemsize) if dt.kind in "biuf" else None
    if bits is None or any(type(v) is np.ndarray and (v.dtype != dt or v.ndim > cond.ndim)
                           for v in (a, b)):
        return xp.where(cond, a, b)
    ab = [v.view(bits) if type(v) is np.ndarray else np.asarray(v, dt).view(bits)
          for v in (a, b)]
    try:
        if type(b) is not np.ndarray and not ab[1]:             # where(c, a, +0): a & -c
            out = np.negative(cond.view(np.int8), dtype=bits)
            return np.bitwise_and(out, ab[0], out=out).view(dt)
        if type(a) is not np.ndarray and not ab[0]:             # where(c, +0, b): b & (c - 1)
            out = np.subtract(cond.view(np.int8), 1, dtype=bits)
            return np.bitwise_and(out, ab[1], out=out).view(dt)
        out = np.negative(cond.view(np.int8), dtype=bits)      # 0 / all ones
        np.bitwise_and(out, np.bitwise_xor(ab[0], ab[1]), out=out)
    except ValueError:                                          # an operand broadcasts the mask
        return xp.where(cond, a, b)
    np.bitwise_xor(out, ab[1], out=out)
    return out.view(dt)
