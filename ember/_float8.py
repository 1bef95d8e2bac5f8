"""torch's conversions to and from its 8-bit floats, on top of ml_dtypes' (whose rounding, to
nearest even, is c10's).

c10 converts every source through float32, and differs from ml_dtypes at the edges:
float8_e4m3fn saturates at +-448 (ml_dtypes: NaN), float8_e5m2's NaN is 0x7f/0xff (ml_dtypes:
0x7e/0xfe), float8_e8m0fnu reads |x| and makes 0 the smallest power 2**-127 (ml_dtypes: NaN).
Back to float32, c10's NaNs have their own bit patterns: a 256-entry table per dtype."""
import numpy as np

_F32 = np.dtype(np.float32)
_TABLES = {}


def _table(np_dtype, for_int):
    """The float32 bits of each of np_dtype's 256 values, NaNs as c10 makes them (or, going
    on to an integer type, as that conversion reads them)."""
    t = np.arange(256, dtype=np.uint8).view(np_dtype).astype(np.float32).view(np.uint32)
    nan = np.isnan(t.view(np.float32))
    sign = np.where(np.arange(256) >= 128, np.uint32(0x80000000), np.uint32(0))
    name = np_dtype.name
    if name == "float8_e4m3fn":
        t[nan] = sign[nan] | 0x7FF00000
    elif name == "float8_e5m2":     # as a half: the mantissa shifted up, made quiet
        t[nan] = sign[nan] | 0x7FC00000 | (np.arange(256, dtype=np.uint32)[nan] & 3) << 21
    else:                           # the fnuz types and float8_e8m0fnu: to an integer, 0
        t[nan] = 0 if for_int else 0x7F800001
    _TABLES[np_dtype, for_int] = t
    return t


def to_float32(a, for_int=False):
    """A float8 array as float32, bit for bit as c10 converts (`for_int`: on the way to an
    integer dtype)."""
    t = _TABLES.get((a.dtype, for_int))
    if t is None:
        t = _table(a.dtype, for_int)
    return np.asarray(t[a.view(np.uint8)]).view(np.float32)


def cuda_refusal(np_dtype):
    return (f"Cannot put a {np_dtype.name} tensor on CUDA: ember's CUDA tensors are CuPy "
            f"arrays, and CuPy has no float8 dtypes. Keep float8 tensors on the CPU.")


def refuse_on_cuda(np_dtype):
    """ember's CUDA tensors are CuPy arrays, and CuPy has no float8 (nor any other 1-byte user
    dtype): a TypeError naming the dtype, before CuPy fails on it."""
    raise TypeError(cuda_refusal(np_dtype))


def is_float8(np_dtype):
    return np_dtype.itemsize == 1 and np_dtype.num >= 256


def from_array(a, np_dtype):
    """Array `a` (any real dtype, float8 included) as float8 `np_dtype`, as c10 converts."""
    if not isinstance(a, (np.ndarray, np.generic)):     # a CuPy array
        refuse_on_cuda(np_dtype)
    if a.dtype.itemsize == 1 and a.dtype.num >= 256:   # another float8 (a user dtype)
        a = to_float32(a)
    with np.errstate(invalid="ignore", over="ignore"):
        f = np.asarray(a, dtype=np.float32)
        name = np_dtype.name
        if name == "float8_e8m0fnu":
            out = np.asarray(np.abs(f)).astype(np_dtype)
            out.view(np.uint8)[f == 0] = 0
            return out
        out = f.astype(np_dtype)
    u = out.view(np.uint8)
    if name == "float8_e4m3fn":
        u[((u & 0x7F) == 0x7F) & ~np.isnan(f)] -= 1       # saturate: +-448, not NaN
    elif name == "float8_e5m2":
        u[np.isnan(f)] |= 0x7F
    return out
