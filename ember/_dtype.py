"""ember dtypes, their NumPy twins, and torch's type-promotion rules."""
import numpy as np

from . import _float8
from ._typenames import qualified

__all__ = ["dtype", "result_type", "promote_types", "can_cast", "set_default_dtype",
           "get_default_dtype", "finfo", "iinfo"]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A torch-like dtype: `ember.float32` prints as `torch.float32`."""
    __slots__ = ("name", "np", "itemsize", "kind", "is_floating_point", "is_complex", "is_signed",
                 "_rank", "__weakref__")

    def __init__(self, name, np_dtype, kind, rank):
        self.name, self.np, self.kind, self._rank = name, np.dtype(np_dtype), kind, rank
        self.itemsize = self.np.itemsize
        self.is_floating_point = kind == _FLOAT
        self.is_complex = kind == _COMPLEX
        self.is_signed = not (name == "bool" or name.startswith("uint") or name.endswith("fnu"))

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self):
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        """torch's: float16 -> complex32, float32/bfloat16 -> complex64, float64 ->
        complex128, a complex dtype itself; no other dtype has one."""
        if self.kind == _COMPLEX:
            return self
        if self.kind != _FLOAT:
            raise RuntimeError(f"Unknown Complex ScalarType for {C10_NAME[self.name]}")
        return complex32 if self.name == "float16" else self._complex()

    def _complex(self):
        """The complex dtype ember computes in for this one (float16's is complex64: NumPy has
        no complex32); the float8s have none."""
        if self._rank >= _FIRST_F8:
            raise RuntimeError(f"Unknown Complex ScalarType for {C10_NAME[self.name]}")
        return complex128 if self.name == "float64" else complex64


def cast(a, np_dtype):
    """`a.astype(np_dtype)` as torch converts: a double reaches float16/bfloat16 through float
    (c10's Half and BFloat16 are made from a float), so some values round twice; float8s
    convert through float32 too (see _float8)."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype.itemsize == 1 and np_dtype.num >= 256:     # float8 (an ml_dtypes user type)
        return _float8.from_array(a.real if a.dtype.kind == "c" else a, np_dtype)
    if a.dtype.itemsize == 1 and a.dtype.num >= 256:
        a = _float8.to_float32(a, np_dtype.kind in "iu")
    if a.dtype.char == "d" and np_dtype.itemsize == 2 and np_dtype.kind in "fV":
        a = a.astype(np.float32)
    elif a.dtype.kind == "c" and np_dtype.kind not in "cb":
        a = a.real          # (the real part explicitly: no NumPy ComplexWarning, whatever the
        # user's warning filters; ember warns once, as torch)
    return a.astype(np_dtype)


def scalar_arg(v):
    """A NumPy scalar as torch's Scalar arguments read it: integers as int, complex128 (a
    Python complex) as complex, the floats, bools and complex64 as a float (the real part)."""
    if isinstance(v, np.integer):
        return int(v)
    return complex(v) if isinstance(v, complex) else float(v.real)


def through_float(v, np_dtype):
    """A double array or Python float about to be written into an array of `np_dtype`, first
    rounded to float32 where that is a 2-byte float (as `cast`), or converted to a float8
    `np_dtype` as `cast` does."""
    if np_dtype.itemsize > 2 or np_dtype.kind not in "fV":
        return v
    if np_dtype.itemsize == 1:
        return v if getattr(v, "dtype", None) == np_dtype else _float8.from_array(
            np.asarray(v.real if getattr(v, "dtype", np_dtype).kind == "c" else v), np_dtype)
    if isinstance(v, float):
        return np.float32(v)
    return v.astype(np.float32) if getattr(v, "dtype", None) == np.float64 else v


def _dtype_by_name(name):
    return _BY_NAME[name]


class _FewKernels(dtype):
    """A dtype most of torch's CPU kernels refuse: the float8s, and the "barebones" unsigned
    types uint16, uint32 and uint64. Naming one (to_dtype) first puts torch's refusals on the
    ops (ops/_few_kernels.py): a program without such dtypes never pays for the check."""
    __slots__ = ()


def few_kernels_used(d):
    from .ops import _few_kernels
    _few_kernels.install(d)


bool_ = dtype("bool", np.bool_, _BOOL, 0)
uint8 = dtype("uint8", np.uint8, _INT, 1)
int8 = dtype("int8", np.int8, _INT, 2)
int16 = dtype("int16", np.int16, _INT, 3)
int32 = dtype("int32", np.int32, _INT, 4)
int64 = dtype("int64", np.int64, _INT, 5)
float16 = dtype("float16", np.float16, _FLOAT, 6)
float32 = dtype("float32", np.float32, _FLOAT, 8)
float64 = dtype("float64", np.float64, _FLOAT, 9)
complex64 = dtype("complex64", np.complex64, _COMPLEX, 10)
complex128 = dtype("complex128", np.complex128, _COMPLEX, 11)
# torch's "shell" unsigned dtypes: storage, conversion and a few kernels; no promotion
uint16 = _FewKernels("uint16", np.uint16, _INT, 12)
uint32 = _FewKernels("uint32", np.uint32, _INT, 13)
uint64 = _FewKernels("uint64", np.uint64, _INT, 14)
_SHELL = (uint16, uint32, uint64)
ALL = [bool_, uint8, int8, int16, int32, int64, float16, float32, float64, complex64, complex128,
       uint16, uint32, uint64]
class _Storageless(dtype):
    """A torch dtype NumPy cannot store (complex32, torch's bit-packed and sub-byte shell
    dtypes, float8 without ml_dtypes): naming it works, allocating raises."""
    __slots__ = ("_why",)

    def __init__(self, name, kind, itemsize, why="NumPy has no such array type", signed=True):
        self.name, self.kind, self._rank, self.itemsize, self._why = name, kind, -1, itemsize, why
        self.is_floating_point, self.is_complex = kind == _FLOAT, kind == _COMPLEX
        self.is_signed = signed

    @property
    def np(self):
        raise TypeError(f"ember has no {self.name} tensors: {self._why}")

    def to_real(self):
        return float16 if self.name == "complex32" else self

    def to_complex(self):
        if self.name == "complex32":
            return self
        raise RuntimeError(f"Unknown Complex ScalarType for {C10_NAME[self.name]}")


# torch's 8-bit floats (float8_e8m0fnu: unsigned, a power-of-two scale) come from ml_dtypes
FLOAT8 = ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")
_FIRST_F8 = 15
try:  # bfloat16 and the float8s are an optional extra (ml_dtypes); everything else works without
    import ml_dtypes as _ml
    bfloat16 = dtype("bfloat16", _ml.bfloat16, _FLOAT, 7)
    ALL.insert(7, bfloat16)
    _f8 = [_FewKernels(n, getattr(_ml, n), _FLOAT, _FIRST_F8 + i) for i, n in enumerate(FLOAT8)]
    ALL += _f8
except ImportError:  # pragma: no cover - exercised only without the extra
    bfloat16 = None
    _f8 = [_Storageless(n, _FLOAT, 1, "they need the ml_dtypes package", not n.endswith("fnu"))
           for n in FLOAT8]
float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu = _f8
# NumPy's type number of bfloat16 arrays (None without ml_dtypes): the cheap test on hot paths,
# where an array's dtype.name costs microseconds
BF16_NUM = None if bfloat16 is None else np.dtype(_ml.bfloat16).num
complex32 = _Storageless("complex32", _COMPLEX, 4)


class _QDescr:
    """What a quantized tensor's array (ember._quantized.QArray) gives as its `dtype`: the
    NumPy-like descriptor whose `num` keys OF_NP to the quantized ember dtype, so Tensor.dtype
    needs no check of its own."""
    __slots__ = ("num", "name", "itemsize", "storage")
    kind = char = "Q"

    def __init__(self, num, name, storage):
        self.num, self.name, self.storage = num, name, np.dtype(storage)
        self.itemsize = self.storage.itemsize

    def __repr__(self):
        return f"dtype('{self.name}')"


class _Quantized(dtype):
    """torch's quantized dtypes: tensors of them are made by quantize_per_tensor & co., never
    allocated from the dtype (whose `np` refuses as torch's empty_strided does). `descr` is
    their arrays' dtype, `storage` the NumPy dtype of the integer representation, (lo, hi) its
    range (quint4x2 and quint2x4 keep one element per byte, packed only for int_repr)."""
    __slots__ = ("descr", "storage", "lo", "hi")

    def __init__(self, name, storage, bits, num):
        self.name, self.kind, self._rank = name, _INT, -1
        self.is_floating_point = self.is_complex = False
        self.descr = _QDescr(num, name, storage)
        self.storage = self.descr.storage
        self.itemsize = self.storage.itemsize
        signed = self.storage.kind == "i"
        self.lo, self.hi = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)

    @property
    def np(self):
        raise RuntimeError("empty_strided not supported on quantized tensors yet see "
                           "https://github.com/pytorch/pytorch/issues/74540")

    @property
    def is_signed(self):
        raise RuntimeError("isSignedType not supported for quantized types")

    def to_complex(self):
        raise RuntimeError(f"Unknown Complex ScalarType for {C10_NAME[self.name]}")


quint8, qint8, qint32, quint4x2, quint2x4 = QUANTIZED = (
    _Quantized("quint8", np.uint8, 8, -1), _Quantized("qint8", np.int8, 8, -2),
    _Quantized("qint32", np.int32, 32, -3), _Quantized("quint4x2", np.uint8, 4, -4),
    _Quantized("quint2x4", np.uint8, 2, -5))
# torch's shell dtypes, which ember names but cannot store: packed float4 pairs, raw bits and
# the 1- to 7-bit integers (in torch: storage, views and copies only)
float4_e2m1fn_x2 = _Storageless("float4_e2m1fn_x2", _FLOAT, 1)
SHELL_BITS = [_Storageless(n, _INT, 2 if n == "bits16" else 1, signed=False)
              for n in ("bits1x8", "bits2x4", "bits4x2", "bits8", "bits16")]
SHELL_INTS = [_Storageless(f"{u}int{i}", _INT, 1, signed=not u)
              for u in ("u", "") for i in range(1, 8)]
# c10's ScalarType names, as torch's messages print a dtype
C10_NAME = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
            "int64": "Long", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
            "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
            "complex32": "ComplexHalf", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
            "float4_e2m1fn_x2": "Float4_e2m1fn_x2", "quint8": "QUInt8", "qint8": "QInt8",
            "qint32": "QInt32", "quint4x2": "QUInt4x2", "quint2x4": "QUInt2x4"}
C10_NAME.update({n: n[0].upper() + n[1:] for n in FLOAT8})
C10_NAME.update({d.name: d.name.capitalize().replace("int", "Int")       # Bits8, UInt4, Int3
                 for d in SHELL_BITS + SHELL_INTS})
_BY_NAME = {d.name: d for d in ALL + list(QUANTIZED)}
# NumPy dtype -> ember dtype, keyed by the NumPy type number (a fast int lookup on the hot path)
OF_NP = {d.np.num: d for d in ALL}
OF_NP[np.dtype(np.longlong).num] = int64
OF_NP[np.dtype(np.intc).num] = int32
OF_NP.update({d.descr.num: d for d in QUANTIZED})
# the _FewKernels dtypes by NumPy type number: functions outside the op registry look a dtype
# up here before asking ops/_few_kernels.refuse for torch's refusal (refuse_few)
FEW_KERNELS = frozenset(n for n, d in OF_NP.items() if isinstance(d, _FewKernels))


def refuse_few(name, dt):
    """torch's refusal of function `name` (ops/_few_kernels.FUNCTIONS) for NumPy dtype `dt`
    where it is a float8 or uint16/32/64 torch has no kernel for; one set lookup otherwise."""
    if dt.num in FEW_KERNELS:
        from .ops._few_kernels import refuse
        refuse(name, dt)
ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
           "short": int16, "cfloat": complex64, "cdouble": complex128, "bool": bool_,
           "float32": float32, "float64": float64, "float16": float16, "int64": int64,
           "int32": int32, "int16": int16, "int8": int8, "uint8": uint8, "uint16": uint16,
           "uint32": uint32, "uint64": uint64,
           "complex64": complex64, "complex128": complex128}
if bfloat16 is not None:
    ALIASES["bfloat16"] = bfloat16
    ALIASES.update({d.name: d for d in _f8})


class _Default:
    __slots__ = ("float", "complex")


DEFAULT = _Default()
DEFAULT.float, DEFAULT.complex = float32, complex64


def set_default_dtype(d):
    if type(d) is not dtype:
        raise TypeError("invalid dtype object: only floating-point types are supported as the "
                        "default type")
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    DEFAULT.float = d
    DEFAULT.complex = complex128 if d is float64 else complex64


def get_default_dtype():
    return DEFAULT.float


def to_dtype(d):
    """ember dtype from an ember dtype, a NumPy dtype/type, a name, or a Python type."""
    if type(d) is dtype:
        return d
    if d is float:                          # torch: Python's float is a double
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return complex128
    if isinstance(d, dtype):
        if type(d) is _Quantized:           # (allocating one raises: its `np`)
            return d
        d.np                                # complex32 raises here
        few_kernels_used(d)                 # the others: float8s, uint16/32/64
        return d
    if isinstance(d, str):
        name = d[6:] if d.startswith("torch.") else d
        if name not in ALIASES:
            raise TypeError(f"invalid dtype {d!r}")
        d = ALIASES[name]
    else:
        try:
            d = OF_NP[np.dtype(d).num]
        except (TypeError, KeyError):
            what = f"<class '{qualified(d.__module__, d.__qualname__)}'>" \
                if isinstance(d, type) else repr(d)
            raise TypeError(f"cannot interpret {what} as a dtype") from None
    return d if type(d) is dtype else to_dtype(d)


class _Unpromotable(dtype):
    """PROMOTE's entry for a pair torch refuses to promote: using it raises torch's error."""
    __slots__ = ("error",)

    def __init__(self, a, b, types):
        self.name, self.kind, self._rank = "unpromotable", a.kind, -1
        self.error = (f"Promotion for {types} is not supported, attempted to promote "
                      f"{C10_NAME[a.name]} and {C10_NAME[b.name]}")

    @property
    def np(self):
        raise RuntimeError(self.error)


def _promote_pair(a, b):
    if a is b:
        return a
    if a._rank >= _FIRST_F8 or b._rank >= _FIRST_F8:
        return _Unpromotable(a, b, "Float8 Types")
    if (a in _SHELL or b in _SHELL) and a.kind <= _INT and b.kind <= _INT:
        return _Unpromotable(a, b, "uint16, uint32, uint64 types")
    if a.kind != b.kind:
        hi, lo = (a, b) if a.kind > b.kind else (b, a)
        if hi.kind == _COMPLEX and lo is float64:
            return complex128
        return hi
    if a.kind == _FLOAT and {a.name, b.name} == {"float16", "bfloat16"}:
        return float32
    if a.kind == _INT and "uint8" in (a.name, b.name):
        other = b if a is uint8 else a
        return int16 if other is int8 else other
    return a if a._rank > b._rank else b


PROMOTE = {(a, b): _promote_pair(a, b) for a in ALL for b in ALL}


def _quantized_pair(a, b):
    if a is b:
        return a
    out = _Unpromotable(a, b, "")
    out.error = ("promoteTypes with quantized numbers is not handled yet; figure out what the "
                 f"correct rules should be, offending types: {C10_NAME[a.name]} "
                 f"{C10_NAME[b.name]}")
    return out


PROMOTE.update({p: _quantized_pair(*p) for q in QUANTIZED for d in ALL + list(QUANTIZED)
                for p in ((q, d), (d, q))})


def _dtype_arg(name, x, arg, pos):
    """torch's argument parser's TypeError for a dtype argument that is none (Python's float,
    int, bool and complex types pass, as in torch)."""
    if not isinstance(x, dtype) and x not in (float, int, bool, complex):
        from ._typenames import tp_name
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be torch.dtype, not "
                        f"{tp_name(x)}")


def public_promote_types(type1, type2):
    """torch.promote_types: dtypes only (ember's own calls pass NumPy dtypes too)."""
    _dtype_arg("promote_types", type1, "type1", 1)
    _dtype_arg("promote_types", type2, "type2", 2)
    return promote_types(type1, type2)


def public_can_cast(from_, to):
    """torch.can_cast: dtypes only."""
    _dtype_arg("can_cast", from_, "from_", 1)
    _dtype_arg("can_cast", to, "to", 2)
    return can_cast(from_, to)


public_promote_types.__name__ = public_promote_types.__qualname__ = "promote_types"
public_can_cast.__name__ = public_can_cast.__qualname__ = "can_cast"


def promote_types(a, b):
    out = PROMOTE[a if isinstance(a, _Quantized) else to_dtype(a),
                  b if isinstance(b, _Quantized) else to_dtype(b)]
    if type(out) is _Unpromotable:
        raise RuntimeError(out.error)
    return out


def scalar_kind(s):
    t = type(s)
    if t is bool:
        return _BOOL
    if t is int:
        return _INT
    if t is float:
        return _FLOAT
    if t is complex:
        return _COMPLEX
    if isinstance(s, np.generic):
        # torch reads NumPy bool and complex scalars as Python floats (the latter with a warning)
        return _INT if isinstance(s, np.integer) else _FLOAT
    if isinstance(s, bool):
        return _BOOL
    if isinstance(s, int):
        return _INT
    if isinstance(s, float):
        return _FLOAT
    if isinstance(s, complex):
        return _COMPLEX
    raise TypeError(f"unsupported scalar type {type(s).__name__}")


def _default_for_kind(kind):
    return (bool_, int64, DEFAULT.float, DEFAULT.complex)[kind]


def _combine(higher, lower):
    """c10's combine_categories: a lower tier wins only through a higher kind."""
    if higher is None:
        return lower
    if lower is None or higher.kind == _COMPLEX:
        return higher
    if lower.kind == _COMPLEX:
        return higher._complex() if higher.kind == _FLOAT else lower
    if higher.kind == _FLOAT:
        return higher
    if higher is bool_ or lower.kind == _FLOAT:
        return PROMOTE[higher, lower]
    return higher


def _tier(dts):
    out = None
    for d in dts:
        out = d if out is None else PROMOTE[out, d]
    return out


def result_type_of(dims, zero_dims, scalars):
    """torch's three tiers: dimensioned tensors, then 0-d tensors, then Python scalars."""
    wrapped = _tier(_default_for_kind(scalar_kind(s)) for s in scalars)
    return _combine(_tier(dims), _combine(_tier(zero_dims), wrapped))


def _dims_zero_scalars(args):
    from ._tensor import Tensor
    dims, zeros, scalars = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            (zeros if a.arr.ndim == 0 else dims).append(a.dtype)
        else:
            scalars.append(a)
    return dims, zeros, scalars


_RESULT_TYPE_OVERLOADS = (("Tensor tensor", "Tensor other"), ("Number scalar", "Tensor tensor"),
                          ("Tensor tensor", "Number other"), ("Number scalar1", "Number scalar2"))


def _arg_desc(x):
    """torch's argument parser's name of an argument's type (a list's and tuple's items too)."""
    from ._tensor import Tensor
    from ._typenames import tp_name
    if isinstance(x, Tensor):
        return "Tensor"
    if type(x) is list:
        return "list of [" + ", ".join(_arg_desc(v) for v in x) + "]"
    if type(x) is tuple:
        return "tuple of (" + ", ".join(_arg_desc(v) for v in x) + ")"
    return tp_name(x)


def _no_result_type(args):
    """torch's TypeError for result_type arguments that match none of its overloads."""
    from ._tensor import Tensor
    number = (bool, int, float, complex, np.number, np.bool_)
    descs = [_arg_desc(a) for a in args]
    lines = []
    for sig in _RESULT_TYPE_OVERLOADS:
        marked = [d if (isinstance(a, Tensor) if kind.startswith("Tensor") else
                        isinstance(a, number)) else f"!{d}!"
                  for a, d, kind in zip(args, descs, sig)]
        lines.append(f" * ({', '.join(sig)})\n      didn't match because some of the arguments "
                     f"have invalid types: ({', '.join(marked)})")
    got = ", ".join(d.partition(" of ")[0] for d in descs)
    return TypeError(f"result_type() received an invalid combination of arguments - got "
                     f"({got}), but expected one of:\n" + "\n".join(lines) + "\n")


def result_type(tensor1, tensor2):
    try:
        kinds = _dims_zero_scalars((tensor1, tensor2))
        out = result_type_of(*kinds)
    except TypeError:
        raise _no_result_type((tensor1, tensor2)) from None
    if type(out) is _Unpromotable:
        raise RuntimeError(out.error)
    return out


def result_type_n(*args):
    """torch's result type of any number of tensors and scalars (None entries are ignored)."""
    return result_type_of(*_dims_zero_scalars([a for a in args if a is not None]))


def as_common(a, b, common):
    """Arrays `a` and `b` converted to dtype `common`, to be compared as torch's kernels compare
    them in it (float16 and bfloat16 widened to float32 after the conversion, exactly)."""
    c = common.np
    with np.errstate(invalid="ignore"):
        a, b = cast(a, c), cast(b, c)
    if c.itemsize == 2 and c.kind in "fV":
        a, b = a.astype(np.float32), b.astype(np.float32)
    return a, b


def can_cast(from_, to):
    """torch.can_cast: no float->int, complex->real, or non-bool->bool casts."""
    f, t = to_dtype(from_), to_dtype(to)
    if f.kind == _COMPLEX and t.kind != _COMPLEX:
        return False
    if f.kind == _FLOAT and t.kind < _FLOAT:
        return False
    return not (f.kind != _BOOL and t.kind == _BOOL)


class finfo:
    """torch.finfo: machine limits of a floating point (or complex) dtype."""
    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):
        d = DEFAULT.float if type is None else type
        if isinstance(d, _Storageless):     # limits without an array: complex32's are float16's
            if d.name == "float4_e2m1fn_x2":
                raise TypeError("bad argument type for built-in operation")
            d = float16 if d.name == "complex32" else bool_
        elif not isinstance(d, _Quantized):
            d = to_dtype(d)
        if not (d.is_floating_point or d.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        d = d.to_real()
        fi = np.finfo(d.np) if d.np.num < 256 else _ml.finfo(d.np)   # (ml_dtypes': user types)
        self.bits, self.dtype = int(fi.bits), d.name
        self.eps, self.max, self.min = float(fi.eps), float(fi.max), float(fi.min)
        if d.name == "float8_e5m2fnuz":     # c10's numeric_limits says 2**-3, not 2**-2
            self.eps = 0.125
        self.tiny = self.smallest_normal = float(fi.tiny)
        # 10 ** -digits10, and c10's float8 digits10 is 0
        self.resolution = 1.0 if d.itemsize == 1 else float(10.0 ** -int(fi.precision))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """torch.iinfo: limits of an integer dtype (of a quantized dtype: of its integer storage,
    whose `dtype` torch does not name)."""
    __slots__ = ("bits", "max", "min", "_dtype")

    def __init__(self, type):
        d = type if isinstance(type, (_Quantized, _Storageless)) else to_dtype(type)
        if d is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.kind != _INT or isinstance(d, _Storageless):
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        ii = np.iinfo(d.storage if isinstance(d, _Quantized) else d.np)
        self.bits, self.max, self.min, self._dtype = ii.bits, int(ii.max), int(ii.min), d

    @property
    def dtype(self):
        if isinstance(self._dtype, _Quantized):
            raise NotImplementedError(f'"dtype" not implemented for '
                                      f"'{C10_NAME[self._dtype.name]}'")
        return self._dtype.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
