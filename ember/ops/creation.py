"""Tensor factories, conversions between dtypes and devices, and random sampling."""
import array
import builtins
import math
import warnings
from itertools import chain

import numpy as np

from .. import _dtype, _quantized
from .._dtype import DEFAULT, OF_NP, to_dtype as _to_dtype
from .._storage import adopt as _adopt
from .._typenames import tp_name
from .._nested_array import CUDA_ERROR as _NESTED_CUDA, NestedArray
from .._sparse_coo import SparseCOO
from .._tensor import Tensor, _new, bump_version as _bump_version
from .._memory_format import c_strides, is_channels_last, memory_format as _mformat, \
    odd_units, preserve_format, relaid
from .._warnings import warn_once as _warn_once
from .._threads import get_num_threads as _num_threads
from .._toplevel import _FLAGS
from ..amp.state import AMP as _amp
from ..autograd.grad_mode import STATE as _grad
from ..backends import CPU, device as _device_cls, get_backend as _backend_of
from ._registry import NESTED_IDX, op as _op
from .._kernel_dtypes import FLOAT_MAX as _FLOAT_MAX, cname as _cname, is_float as _is_float, \
    float_only as _float_only, not_implemented as _dtype_not_implemented
from ._apply import _IBOUNDS, _fw, _missing_arg, _tname, apply as _apply, inplace as _inplace, \
    out_autograd_error, raise_not_tensor, type_name, write_target
from ._arange_cpu import float_arange as _float_arange, float_range as _float_range
from .random import rng_for as _rng_for

_py_float, _py_int, _py_bool, _py_complex = float, int, bool, builtins.complex


_DEFAULT_DEVICE = [None]    # torch.set_default_device: the factories' backend when device=None


def _get_backend(dev, moving=False):
    """The backend factories make tensors on; `moving`: for data copied there (tensor(),
    as_tensor(): torch words a device it lacks differently)."""
    return _backend_of(_DEFAULT_DEVICE[0] if dev is None else dev, moving)


_FACTORY_TAIL = ("torch.dtype dtype = None, torch.layout layout = None, torch.device device = "
                 "None, bool pin_memory = False, bool requires_grad = False")


def _generator_signatures(tail, *heads):
    """torch's signature lines of the random factories: each head with a generator, then
    without."""
    return "".join(f" * ({h}, *, torch.Generator generator, {tail})\n * ({h}, *, {tail})\n"
                   for h in heads)


_OUT_TAIL = "Tensor out = None, " + _FACTORY_TAIL
_LIKE_TAIL = "torch.memory_format memory_format = None, " + _FACTORY_TAIL
_RANDOM_SIGNATURES = _generator_signatures(_OUT_TAIL, "tuple of ints size")
_SIGNATURES = {
    "rand": _RANDOM_SIGNATURES, "randn": _RANDOM_SIGNATURES,
    "randint": _generator_signatures(_OUT_TAIL, "int high, tuple of ints size",
                                     "int low, int high, tuple of ints size"),
    "randperm": _generator_signatures(_OUT_TAIL, "int n"),
    "rand_like": _generator_signatures(_LIKE_TAIL, "Tensor input"),
    "randn_like": _generator_signatures(_LIKE_TAIL, "Tensor input"),
    "randint_like": _generator_signatures(_LIKE_TAIL, "Tensor input, int low, int high",
                                          "Tensor input, Tensor high", "Tensor input, int high")}


def _unknown_keywords(name, args, given, kw):
    """torch's argument-parser TypeError for random factory `name` called with keywords `kw` it
    lacks: `args` the positional arguments, `given` the known keywords passed (pairs, those
    not at their defaults, as the call's order is lost). torch lists the keywords last first."""
    words = [f"{k}={type_name(v)}" for k, v in chain(given, kw.items())][::-1]
    got = ", ".join(map(type_name, args))
    got = f"{got}, {', '.join(words)}" if args else "".join(w + ", " for w in words)
    return TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but "
                     f"expected one of:\n{_SIGNATURES[name]}")


def _given(**kw):
    """The keyword arguments not at their defaults (None, False), for _unknown_keywords."""
    return [(k, v) for k, v in kw.items() if v is not None and v is not False]


def _shape_args(name, shape, size):
    """The sizes given as f(2, 3), f((2, 3)) or by keyword f(size=(2, 3)), with torch's errors
    for both and for none (a 0-d tensor is f(()))."""
    if size is None:
        if shape:
            return shape
        if name not in ("rand", "randn"):
            raise _missing_arg(name, "size")
    if shape or size is None:
        if name in ("rand", "randn"):
            got = [type(a).__name__ for a in shape]
            got += [f"size={type(size).__name__}"] if size is not None else []
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({', '.join(got)}), but expected one of:\n{_RANDOM_SIGNATURES}")
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{name}(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    return (size,)


def _size(args, name=None):
    """Shapes may be given as f(2, 3), f((2, 3)), f([2, 3]) or f(torch.Size); `name` (the
    factory) gives torch's argument-parser messages for anything else."""
    if len(args) > 1 and name is not None and isinstance(args[0], (tuple, list)) and \
            name not in ("rand", "randn"):      # f((2, 3), ...): torch's one-argument overload
        raise TypeError(f"{name}() takes 1 positional argument but {len(args)} were given")
    if len(args) == 1 and not isinstance(args[0], (int, np.integer, Tensor)):
        if name is not None and not isinstance(args[0], (tuple, list)):
            raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type_name(args[0])}")
        args = tuple(args[0])
    for s in args:              # the common case: sizes as non-negative Python ints
        if type(s) is not int or s < 0:
            break
    else:
        return args
    out = []
    for i, s in enumerate(args):
        try:
            s = s.__index__()
        except (AttributeError, TypeError):
            kind = type_name(s)
            if name is None:
                raise TypeError(f"size must be tuple of ints, but got {kind}") from None
            if len(args) == 1:
                raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, "
                                f"not {kind}") from None
            raise TypeError(f"{name}(): argument 'size' failed to unpack the object at pos "
                            f"{i + 1} with error \"type must be tuple of ints,but got {kind}\""
                            ) from None
        if s < 0:
            if name == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(args)}")
        out.append(s)
    return tuple(out)


def _finish(arr, be, requires_grad):
    t = _new(arr, be)
    if requires_grad:
        _require_grad(t)
    return t


def _require_grad(t):
    """A factory's requires_grad=True (torch's message differs from requires_grad_'s)."""
    d = t.arr.dtype
    if not (d.kind in "fc" or OF_NP[d.num].is_floating_point):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients")
    t._rg = True


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or DEFAULT.float).np
    return _to_dtype(dtype).np


def _infer_dtype(data):
    """torch's dtype inference for a scalar or nested Python data (no values are converted)."""
    return _walk(data, need_values=False)[1]


_SUPPORTED = "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, " \
             "uint64, uint32, uint16, uint8, and bool"


def _np_supported(dt):
    if not dt.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    if dt.num not in OF_NP:
        raise TypeError(f"can't convert np.ndarray of type numpy.{dt.type.__name__}. The only "
                        f"supported types are: {_SUPPORTED}.")
    return _to_dtype(OF_NP[dt.num])         # (a float8 array is a first use of a float8)


def _leaf_dtype(x):
    """The dtype torch infers for one scalar of a nested sequence."""
    t = type(x)
    if t is float:
        return DEFAULT.float
    if t is int:
        return _dtype.int64
    if t is bool:
        return _dtype.bool_
    if t is _py_complex:
        return DEFAULT.complex
    if isinstance(x, Tensor):
        if x.arr.size != 1:     # torch converts an integer tensor as an index, others as floats
            if x.arr.dtype.kind in "iub":
                raise TypeError("only integer tensors of a single element can be converted to "
                                "an index")
            raise ValueError("only one element tensors can be converted to Python scalars")
        return x.dtype
    if isinstance(x, (str, bytes, np.str_, np.bytes_)):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(x, np.generic):
        return _np_supported(x.dtype)
    if isinstance(x, np.ndarray):          # a 0-d array at the top level
        return _np_supported(x.dtype)
    if isinstance(x, bool):
        return _dtype.bool_
    if isinstance(x, int):
        return _dtype.int64
    if isinstance(x, float):
        return DEFAULT.float
    if isinstance(x, _py_complex):
        return DEFAULT.complex
    raise RuntimeError(f"Could not infer dtype of {tp_name(x)}")


def _is_seq(x):
    return isinstance(x, (list, tuple, range)) or isinstance(x, np.ndarray) and x.ndim > 0


def _walk(data, need_values=True):
    """torch's compute_sizes, infer_scalar_type and recursive_store in one pass over nested data:
    returns (shape, inferred dtype, flat list of leaves)."""
    kind = type(data)
    if kind in _PLAIN:              # the common cases first: a Python number ...
        return (), _leaf_dtype(data), [data] if need_values else None
    if kind is list or kind is tuple:
        kinds = set(map(type, data))
        if kinds and kinds <= _PLAIN:       # ... a flat list of them ...
            return (len(data),), _plain_dtype(kinds), data if need_values else None
        if kinds == _LIST and data[0]:      # ... and a list of equally long lists of them
            n = len(data[0])
            if all([len(row) == n for row in data]):
                flat = list(chain.from_iterable(data))
                kinds = set(map(type, flat))
                if kinds <= _PLAIN:
                    return (len(data), n), _plain_dtype(kinds), flat if need_values else None
    shape = []
    probe = data
    while _is_seq(probe):
        n = len(probe)
        shape.append(n)
        if n == 0:
            break
        probe = probe[0]
        if isinstance(probe, (str, np.str_)):
            raise ValueError("too many dimensions 'str'")
        if isinstance(probe, np.ndarray) and probe.ndim == 0:   # torch takes len() of it
            raise TypeError("len() of unsized object")
    ndim = len(shape)
    flat = [] if need_values else None
    found = set()

    def rec(obj, dim):
        if dim and isinstance(obj, np.ndarray):
            _warn_once("Creating a tensor from a list of numpy.ndarrays is extremely slow. "
                       "Please consider converting the list to a single numpy.ndarray with "
                       "numpy.array() before converting to a tensor.")
        if dim == ndim:
            found.add(_leaf_dtype(obj))
            if need_values:
                flat.append(obj.item() if isinstance(obj, (Tensor, np.ndarray)) else obj)
            return
        if isinstance(obj, np.ndarray) and obj.ndim == 0:
            raise TypeError("len() of unsized object")
        if not _is_seq(obj):
            raise TypeError("not a sequence")
        if len(obj) != shape[dim]:
            raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} "
                             f"(got {len(obj)})")
        if dim == ndim - 1:
            if isinstance(obj, np.ndarray):
                found.add(_np_supported(obj.dtype))
                if need_values:
                    flat.extend(obj.tolist())
                return
            kinds = set(map(type, obj))
            if kinds <= _PLAIN:        # the common case: a row of Python numbers
                if kinds:
                    found.add(_plain_dtype(kinds))
                if need_values:
                    flat.extend(obj)
                return
        for item in obj:
            rec(item, dim + 1)

    rec(data, 0)
    return tuple(shape), _promote_all(found), flat


def _plain_dtype(kinds):
    """The dtype torch infers for Python numbers of these types (a non-empty subset of
    _PLAIN): _promote_all of their _leaf_dtypes, without promoting."""
    if _py_complex in kinds:
        return DEFAULT.complex
    if float in kinds:
        return DEFAULT.float
    return _dtype.int64 if int in kinds else _dtype.bool_


def _promote_all(dtypes):
    """The dtype torch infers for leaves of these dtypes (the default float for none)."""
    out = None
    for d in dtypes:
        out = d if out is None else _dtype.PROMOTE[out, d]
    return out or DEFAULT.float


_PLAIN = {float, int, bool, _py_complex}
_PLAIN_DATA = _PLAIN | {list}
_INTS = {int, bool}
_LIST = {list}


def _int_bounds(d):
    """The Python numbers torch stores into integer dtype d: unsigned accepts -max..max."""
    info = np.iinfo(d.np)
    hi = int(info.max)
    return (-hi if info.min == 0 else int(info.min)), hi


def _ints_fit(flat, d):
    """torch's overflow rules for Python numbers stored into an integer or bool dtype; the
    values as an int64 array when they are all Python ints and bools (checked at once), else
    None. uint64 takes [0, 2**64) and no floats (torch's PyLong_AsUnsignedLongLong)."""
    if d is _dtype.uint64:
        for v in flat:
            if isinstance(v, (float, np.floating)):
                raise TypeError("an integer is required")
            if v < 0:
                raise OverflowError("can't convert negative int to unsigned")
            if v >= 2 ** 64:
                raise OverflowError("int too big to convert")
        return None
    if set(map(type, flat)) <= _INTS:
        try:
            a = np.array(flat, dtype=np.int64)
        except OverflowError:
            raise ValueError("Overflow when unpacking long long") from None
        if d.kind == 1 and a.size and d is not _dtype.int64:   # (int64: checked above)
            lo, hi = _int_bounds(d)
            if int(a.min()) < lo or int(a.max()) > hi:
                raise RuntimeError(f"value cannot be converted to type {d.name} without "
                                   "overflow")
        return a
    for v in flat:
        if (type(v) is int or isinstance(v, np.integer)) and not -2 ** 63 <= v < 2 ** 63:
            raise ValueError("Overflow when unpacking long long")
    if d.kind != 1:
        return None
    lo, hi = _int_bounds(d)
    for v in flat:
        if type(v) is bool or isinstance(v, np.bool_):
            continue
        if isinstance(v, (float, np.floating)) and not math.isfinite(v) or not lo <= v <= hi:
            raise RuntimeError(f"value cannot be converted to type {d.name} without overflow")


def _values_array(flat, shape, d):
    """The leaves converted to dtype d the way torch converts scalars: a complex leaf into a
    real dtype is refused (as an int, or a Python complex as a float), a NumPy complex scalar
    gives a float its real part (its __float__)."""
    if not d.is_complex and any(issubclass(k, (_py_complex, np.complexfloating))
                                for k in set(map(type, flat))):
        for v in flat:
            if isinstance(v, (_py_complex, np.complexfloating)):
                if d.kind == 1:
                    raise TypeError(f"'{type_name(v)}' object cannot be interpreted as an "
                                    "integer")
                if isinstance(v, _py_complex):
                    raise TypeError("must be real number, not complex")
        flat = [v.real if isinstance(v, np.complexfloating) else v for v in flat]
    ints = _ints_fit(flat, d) if d.kind == 1 or d is _dtype.bool_ else None
    if d.kind == 1 and flat:
        if ints is not None:
            a = ints
        elif any(isinstance(v, (float, np.floating)) for v in flat):
            a = np.trunc(np.array(flat, dtype=np.float64)).astype(np.int64)
        else:
            a = np.array(flat, dtype=np.uint64 if d is _dtype.uint64 else np.int64)
        return a.astype(d.np).reshape(shape)
    with np.errstate(over="ignore"):
        if d.np.itemsize <= 2 and d.is_floating_point:      # through float, as torch
            return _dtype.cast(np.array(flat, dtype=np.float64), d.np).reshape(shape)
        return np.array(flat, dtype=d.np).reshape(shape)


def _to_array(data, dtype):
    """Host ndarray from data (no copy promised)."""
    if type(data) in _PLAIN_DATA:       # Python numbers and lists: straight to the walk
        shape, inferred, flat = _walk(data)
        return _values_array(flat, shape, inferred if dtype is None else _to_dtype(dtype))
    if isinstance(data, Tensor):
        a = data._host()
        return a if dtype is None else _cast_data(a, dtype)
    if isinstance(data, np.ndarray):
        _np_supported(data.dtype)
        _check_strides(data)
        if dtype is None or data.dtype == _to_dtype(dtype).np:
            return data             # (as_tensor shares it)
        return _cast_data(data, dtype)
    if hasattr(data, "__cuda_array_interface__") or type(data).__module__.startswith("cupy"):
        a = data.get()
        return a if dtype is None else _cast_data(a, dtype)
    if isinstance(data, (str, bytes)):
        kind = "str" if isinstance(data, str) else "bytes"
        raise TypeError(f"new(): invalid data type '{kind}'")
    if type(data).__name__ in _STORAGE_TYPES:
        return _storage_array(data, dtype)
    if isinstance(data, (bytearray, memoryview, array.array)) or not _is_seq(data) and \
            hasattr(data, "__len__") and hasattr(data, "__getitem__") and \
            not isinstance(data, (dict, np.generic)):
        data = list(data)       # (torch walks any sequence; __array__ alone it does not take)
    shape, inferred, flat = _walk(data)
    return _values_array(flat, shape, inferred if dtype is None else _to_dtype(dtype))


_STORAGE_TYPES = ("TypedStorage", "UntypedStorage")


def _cast_data(a, dtype):
    """An array given to tensor()/as_tensor() converted to `dtype` (torch's warning when that
    drops imaginary parts)."""
    np_dtype = _to_dtype(dtype).np
    if a.dtype.kind == "c":
        from .index import warn_complex_to_real
        warn_complex_to_real(a.dtype, np_dtype)
    return _dtype.cast(a, np_dtype)


def _storage_array(storage, dtype):
    """torch's reading of a storage as tensor data (torch.tensor and as_tensor share its
    memory): the storage as `dtype` (int64 for an UntypedStorage; a TypedStorage must be of
    `dtype`)."""
    typed = getattr(storage, "_untyped_storage", None)
    want = _to_dtype(dtype) if dtype is not None else \
        DEFAULT.float if typed is not None else _dtype.int64
    if typed is not None and storage.dtype is not want:
        from .._kernel_dtypes import tname
        raise RuntimeError(f"Expected a Storage of type {tname(want.np)} or an UntypedStorage, "
                           f"but got {tname(storage.dtype.np)}")
    a = (typed or storage)._flat(want.np)
    return a.get() if hasattr(a, "get") else a


def _check_pin(pin_memory):
    """Pinned host memory needs an accelerator: without one, torch's error."""
    if pin_memory:
        from .. import cuda
        if not cuda.is_available():
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no "
                               "pinned memory allocator is available on this system.")


def _warn_copy_construct(how):
    """torch's warning when a tensor is built from a tensor (`how`: the call the user wrote),
    pointed at the user's line."""
    from .._warnings import outside_stacklevel
    warnings.warn("To copy construct from a tensor, it is recommended to use "
                  "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                  f"requires_grad_(True), rather than {how}(sourceTensor).",
                  UserWarning, stacklevel=outside_stacklevel())


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    kind = type(data)
    if (kind is float or kind is int) and dtype is None and device is None and \
            _DEFAULT_DEVICE[0] is None and not requires_grad and not pin_memory:
        # a number: the common call, directly (those NumPy stores as torch does)
        if kind is int:
            if -_INT64_END <= data < _INT64_END:
                return _new(np.array(data, np.int64), CPU)
        else:
            d = DEFAULT.float.np
            if d.itemsize == 8 or d.itemsize == 4 and not _FLOAT_MAX[d] < abs(data) < math.inf:
                return _new(np.array(data, d), CPU)
    if isinstance(data, Tensor):
        _warn_copy_construct("torch.tensor")
    return _from_data(data, dtype, device, requires_grad, pin_memory)


def _from_data(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """torch.tensor without its warning for tensor data."""
    _check_pin(pin_memory)
    be = _get_backend(device, True)
    a = _to_array(data, dtype)
    if type(data) not in _PLAIN_DATA and (  # (numbers and lists: a new array of their values)
            isinstance(data, (Tensor, np.ndarray)) or not a.flags.owndata and
            type(data).__name__ not in _STORAGE_TYPES):     # (a storage's memory is shared)
        a = a.copy(order="K")       # torch's clone keeps a dense layout's strides
    return _finish(be.from_host(a) if be is not CPU else a, be, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        if device is None and _DEFAULT_DEVICE[0] is not None:   # torch.set_default_device
            device = _DEFAULT_DEVICE[0].device
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray):
        _check_strides(data)
        if not data.flags.writeable:
            _not_writable()
    be = _get_backend(device, True)
    a = _to_array(data, dtype)
    if a is data and be is CPU:     # (the caller's array itself, shared)
        _adopt(a)
    return _new(be.from_host(a) if be is not CPU else a, be)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """torch.asarray. From a tensor, as torch 2.13: a copy is a differentiable clone; an
    unspecified requires_grad keeps obj's autograd state (with torch's one-time warning where
    that is grad-requiring), False detaches (a leaf is turned off in place: asarray returns
    obj itself), True makes the result require grad."""
    if copy is False:
        _check_alias(obj, dtype)
    if isinstance(obj, Tensor):
        if requires_grad is None and obj._rg:     # (torch's C++ reads no property)
            from .._warnings import warn_once
            warn_once("torch.asarray: unspecified requires_grad now defaults to "
                      "obj.requires_grad instead of False. Pass requires_grad=False explicitly "
                      "to get the old behavior and silence this warning.", key="asarray_grad")
        t = as_tensor(obj, dtype, device)
        if copy:
            t = t.clone()
    elif isinstance(obj, (bytes, bytearray, memoryview, array.array)):
        from .._toplevel import frombuffer      # (torch reads a buffer's bytes as `dtype`)
        t = frombuffer(obj, dtype=DEFAULT.float if dtype is None else dtype)
        if device is not None:
            t = t.to(device)
        if copy:
            t = t.clone()
    elif copy or isinstance(obj, np.ndarray) and dtype is not None and \
            _to_dtype(dtype).np != obj.dtype:       # (torch converts, not wrapping the array)
        t = tensor(obj, dtype, device)
    else:
        t = as_tensor(obj, dtype, device)
    if requires_grad is False and t._rg:
        if t.is_leaf:
            t.requires_grad_(False)
        else:
            t = t.detach()
    elif requires_grad and not t._rg:
        _require_grad(t)
    return t


def _check_alias(obj, dtype):
    """torch.asarray(copy=False)'s errors for an `obj` whose memory it cannot share."""
    if isinstance(obj, np.generic):
        raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it "
                           "in a ndarray. ")
    if isinstance(obj, (Tensor, np.ndarray)):
        have = obj.arr.dtype if isinstance(obj, Tensor) else obj.dtype
        if dtype is not None and _to_dtype(dtype).np != have:
            raise ValueError(f"can't alias tensor with dtype '{_tname(have)}' into dtype "
                             f"'{_tname(_to_dtype(dtype).np)}'.")
    elif isinstance(obj, (list, tuple, builtins.bool, builtins.int, builtins.float,
                          builtins.complex)):
        raise ValueError("can't alias arbitrary sequence into a tensor.")


def _check_strides(a):
    if a.strides and min(a.strides) < 0:
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")


def from_numpy(ndarray):
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type_name(ndarray)})")
    _np_supported(ndarray.dtype)
    _check_strides(ndarray)
    if not ndarray.flags.writeable:
        _not_writable()
    _adopt(ndarray)
    return _new(ndarray, CPU)


def _not_writable():
    """torch's TORCH_WARN_ONCE for a tensor over a read-only NumPy array."""
    _warn_once("The given NumPy array is not writable, and PyTorch does not support "
               "non-writable tensors. This means writing to this tensor will result in "
               "undefined behavior. You may want to copy the array to protect its data or "
               "make it writable before converting it to a tensor. This type of warning "
               "will be suppressed for the rest of this program. (Triggered internally at "
               "/__w/pytorch/pytorch/torch/csrc/utils/tensor_numpy.cpp:213.)")


class _Capsule:
    """A DLPack capsule (from to_dlpack) dressed as an object with __dlpack__, which is what
    NumPy's and CuPy's from_dlpack take; its device is read from the DLTensor it points to."""

    def __init__(self, capsule):
        import ctypes
        api = ctypes.pythonapi
        api.PyCapsule_GetName.restype, api.PyCapsule_GetName.argtypes = \
            ctypes.c_char_p, [ctypes.py_object]
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        name = api.PyCapsule_GetName(capsule)
        if name not in (b"dltensor", b"dltensor_versioned"):
            raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor "
                               "capsules can be consumed only once, so you might have already "
                               "constructed a tensor from it once.")
        ptr = api.PyCapsule_GetPointer(capsule, name)
        # DLManagedTensor starts with its DLTensor; DLManagedTensorVersioned puts a version, two
        # pointers and a uint64 of flags first. DLTensor: {void *data; {int32 type, int32 id}}.
        p = ctypes.sizeof(ctypes.c_void_p)
        head = 0 if name == b"dltensor" else 8 + 2 * p + 8
        self.capsule = capsule
        self.device = tuple((ctypes.c_int32 * 2).from_address(ptr + head + p))

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """torch.from_dlpack: a tensor sharing the memory of an object with __dlpack__ (an ember
    tensor too: a new tensor, through its __dlpack__'s refusals) or of a DLPack capsule."""
    if type(ext_tensor).__name__ == "PyCapsule":
        if device is not None or copy is not None:
            raise AssertionError("device and copy kwargs not supported when ext_tensor is "
                                 "already a DLPack capsule.")
        ext_tensor = _Capsule(ext_tensor)
    elif device is not None or copy:
        t = from_dlpack(ext_tensor)
        return t.to(t.device if device is None else device, copy=bool(copy))
    if isinstance(ext_tensor, Tensor):
        ext_tensor.__dlpack_device__()
        ext_tensor.__dlpack__()                 # (its refusals)
        return _new(ext_tensor.arr.view(), ext_tensor.be)
    dev_type = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") \
        else 1
    if dev_type == 1:
        return _new(np.from_dlpack(ext_tensor), CPU)
    import cupy
    be = _get_backend(f"cuda:{ext_tensor.__dlpack_device__()[1]}")
    return _new(cupy.from_dlpack(ext_tensor), be)


def _into(t, out, name=None):
    """Factories with `out=`: resize `out` to the result and copy it in (torch's semantics);
    `name`: the factory's in torch's error for an `out` that requires grad (aten::name for
    most, but for those whose resize refuses it first)."""
    if out is None:
        return t
    _writable_out(out, name)
    if tuple(out.shape) != tuple(t.shape):
        out.arr = out.be.xp.empty(t.shape, out.arr.dtype)
    dst, arr = out.arr, t.arr
    if not getattr(dst.flags, "writeable", True):   # an expanded out: a fill writes through
        dst, region = write_target(out, fill=name in _FILLS or name in _LARGEST)
        if region is not None:
            arr = arr[region] if name not in _LARGEST else arr.max(
                tuple([d for d, r in enumerate(region) if r.stop == 1]), keepdims=True)
    out.be.xp.copyto(dst, arr, casting="unsafe")
    _bump_version(out)
    return out


_RESIZED_FIRST = ("aten::empty", "aten::randn")
# the factories whose values torch writes into an out= whose elements share memory (the others
# refuse it)
_FILLS = ("aten::zeros", "aten::ones", "aten::full")
# those whose writes leave the largest value written over each location: eye (zero_, then the
# diagonal's fill_(1)) and randperm (0 .. n-1 written in turn, then swaps of equal values)
_LARGEST = ("aten::eye", "aten::randperm")


def _writable_out(out, name):
    """torch's refusal of an `out` that requires grad (before a random factory draws)."""
    if out.requires_grad and _grad.enabled:
        if name in _RESIZED_FIRST:
            raise RuntimeError("cannot resize variables that require grad")
        raise out_autograd_error(name)


def _into_range(t, out, name):
    """_into for the range factories (arange, range, linspace, logspace): an out= of as many
    elements keeps its shape (torch resizes it only to another number of elements)."""
    if out is not None and out.numel() == t.numel() and tuple(out.shape) != tuple(t.shape):
        t = _new(t.arr.reshape(tuple(out.shape)), t.be)
    return _into(t, out, name)


def _out_dtype_check(out, dtype):
    if out is not None and dtype is not None and _to_dtype(dtype) is not out.dtype:
        raise RuntimeError(f"dtype {_tname(_to_dtype(dtype).np)} does not match dtype of out "
                           f"parameter ({_tname(out.dtype.np)})")


def _factory(fill, name, layouts=False):
    def fn(*shape, size=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False, memory_format=None):
        _check_pin(pin_memory)
        size = _shape_args(name, shape, size)
        be = _get_backend(device)
        if out is not None and dtype is None:
            dtype = out.dtype
        if memory_format is not None and not layouts:
            raise TypeError(f"{name}() got an unexpected keyword argument 'memory_format'")
        a = fill(be.xp, _size(size, name), _np_dtype(dtype))
        if memory_format is not None:
            a = _laid_out(a, memory_format)
        return _into(_finish(a, be, requires_grad), out, aten)
    aten = "aten::" + name
    fn.make = fill          # (the *_like functions' fast path)
    return _named(fn, name)


def _named(fn, name):
    """fn under the public name it is bound to (as torch's functions report theirs)."""
    fn.__name__ = fn.__qualname__ = name
    return fn


def _laid_out(a, fmt):
    """A new array in memory format fmt (channels_last: NHWC strides)."""
    from .._memory_format import _check, as_format, is_channels_last, preserve_format
    if fmt is preserve_format:
        raise RuntimeError("Unsupported memory format. Expected one of contiguous_format, "
                           "channels_last, channels_last_3d, but got preserve_format")
    if is_channels_last(fmt):
        _check(fmt, a.ndim)
        return as_format(a, fmt, force=True)
    return a


def _uninitialized_fill(d):
    """The value torch writes into new memory (torch.empty's, resize_'s growth) while
    deterministic algorithms and torch.utils.deterministic.fill_uninitialized_memory are both
    on: NaN (NaN+0j), the largest integer, True; None otherwise."""
    if not (_FLAGS["deterministic"] and _FLAGS["fill_uninitialized_memory"]):
        return None
    k = d.kind
    if k in "iu":
        return np.iinfo(d).max
    return True if k == "b" else builtins.complex(math.nan, 0) if k == "c" else math.nan


def _empty(xp, s, d):
    a = xp.empty(s, d)
    if _FLAGS["deterministic"]:
        v = _uninitialized_fill(a.dtype)
        if v is not None:
            a.fill(v)
    return a


zeros = _factory(lambda xp, s, d: xp.zeros(s, d), "zeros")
ones = _factory(lambda xp, s, d: xp.ones(s, d), "ones")
empty = _factory(_empty, "empty", layouts=True)    # (memory_format)
# Tensor.new_zeros/new_ones/new_empty: the same, under their own names in torch's messages
_new_zeros = _factory(lambda xp, s, d: xp.zeros(s, d), "new_zeros")
_new_ones = _factory(lambda xp, s, d: xp.ones(s, d), "new_ones")
_new_empty = _factory(_empty, "new_empty")


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    _check_pin(pin_memory)
    if not isinstance(size, (tuple, list)):
        raise TypeError("full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type_name(size)}")
    kind = type(fill_value)
    if kind not in _PLAIN:                  # (a Python number: the common case)
        if isinstance(fill_value, Tensor):
            if fill_value.ndim:             # torch's Scalar argument takes 0-d tensors only
                raise TypeError("full(): argument 'fill_value' (position 2) must be Number, "
                                "not Tensor")
            fill_value = fill_value.item()
        elif not isinstance(fill_value, (_py_int, _py_float, _py_complex, np.number, np.bool_)):
            raise TypeError("full(): argument 'fill_value' (position 2) must be Number, not "
                            f"{type_name(fill_value)}")
        if isinstance(fill_value, np.generic):
            fill_value = _dtype.scalar_arg(fill_value)
        kind = type(fill_value)
    if kind is int and not -2 ** 63 <= fill_value < 2 ** 64:
        raise OverflowError("int too big to convert")
    if dtype is None:
        dtype = out.dtype if out is not None else _leaf_dtype(fill_value)    # (a number)
    be = _get_backend(device)
    d = _to_dtype(dtype)
    shape = _size((size,), "full")
    if d is _dtype.bool_:
        fill_value = bool(fill_value)
    elif kind in _PLAIN or isinstance(fill_value, (_py_int, _py_float, _py_complex, np.number)):
        fill_value = _fill_value(fill_value, d.np, _numel(shape))
    if (type(fill_value), d) not in _EXACT_FILLS:     # (those: NumPy's cast is torch's)
        fill_value = _values_array([fill_value], (), d)[()]     # torch's conversion
    a = be.xp.empty(shape, d.np)        # (NumPy's full is this, in a Python function)
    a.fill(fill_value)
    return _into(_finish(a, be, requires_grad), out, "aten::full")


# fills that NumPy stores as torch does: floats into float32/64, ints into int64, bools
_EXACT_FILLS = {(_py_float, _dtype.float32), (_py_float, _dtype.float64),
                (_py_int, _dtype.int64), (bool, _dtype.bool_)}


def _numel(shape):
    n = 1
    for v in shape:
        n *= v
    return n


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return full((), s, dtype=dtype or DEFAULT.float, device=device, requires_grad=requires_grad)


def dense_order(a):
    """The dims of a permuted array, outermost first (None when in C order): torch's
    preserve_format lays out a new tensor in that order, and random fills run through it."""
    if a.ndim < 2 or a.flags.c_contiguous:
        return None
    order = sorted(range(a.ndim), key=lambda d: -a.strides[d])
    return None if order == list(range(a.ndim)) else order


def _preserving(make, input, memory_format, requires_grad, name):
    """make(shape) in input's layout (torch's default memory_format=preserve_format); `name`:
    the *_like function's."""
    try:
        if input.be.idx == NESTED_IDX:
            from ..nested._ops import like
            return like(make, input, requires_grad, name)
        shape = tuple(input.shape)
    except AttributeError:
        raise_not_tensor(name, ("input", 1, input))
    if is_channels_last(memory_format):
        t = make(shape, False)
        t.arr = _laid_out(t.arr, memory_format)
        return t.requires_grad_(True) if requires_grad else t
    preserve = memory_format is None or memory_format is preserve_format
    a = input.arr
    order = dense_order(a) if preserve else None
    if order is None:
        t = make(shape, False)
    else:
        t = make(tuple(input.shape[d] for d in order), False)
        t.arr = t.arr.transpose(np.argsort(order))
    if preserve and type(a) is np.ndarray and a.ndim and (not a.size or 1 in a.shape):
        # torch keeps an empty tensor's strides, and those of size-1 dims (NumPy's are its own)
        t.arr = relaid(a, t.arr)
    return t.requires_grad_(True) if requires_grad else t


def _plain_layout(a):
    """Whether a *_like of NumPy array `a` in its preserved layout is a C-contiguous array of
    its shape (what NumPy makes): 0-d, 1-d, or C-contiguous without size-1 dims whose strides
    torch keeps (and not empty, whose strides it keeps too)."""
    return not a.ndim or a.size > 1 and (a.ndim == 1 or a.flags.c_contiguous and (
        1 not in a.shape or a.strides == c_strides(a.shape, a.itemsize)))


def _like(fn, fill):
    make = fn.make

    def like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None, **kw):
        if kw and set(kw) != {"pin_memory"}:       # (out=, generator=, a misspelling)
            raise TypeError(f"{like.__name__}() got an unexpected keyword argument "
                            f"'{next(k for k in kw if k != 'pin_memory')}'")
        a = getattr(input, "arr", None)
        if type(a) is np.ndarray and dtype is None and device is None and layout is None and \
                memory_format is None and not kw and _plain_layout(a):
            t = _new(make(np, a.shape, a.dtype), input.be)     # the common case, directly
            if requires_grad:
                _require_grad(t)
            return t
        if layout is None and isinstance(a, SparseCOO):
            return _sparse_like(input, fill, dtype, device, requires_grad)
        try:
            return _preserving(lambda shape, rg: fn(shape, dtype=dtype or input.dtype,
                                                    device=device or input.device,
                                                    requires_grad=rg, **kw),
                               input, memory_format, requires_grad, f"{fn.__name__}_like")
        except RuntimeError:
            if dtype is None and input.is_quantized:    # (its dtype allocates nothing)
                return _quantized_like(input, fill)
            raise
    return _named(like, f"{fn.__name__}_like")


def _sparse_like(input, fill, dtype, device, requires_grad):
    """empty_like and zeros_like of a sparse COO tensor: one with its sparse and dense dims and
    no entries; torch has no sparse kernel to fill one with ones."""
    from ..sparse._coo import empty_coo
    from .._sparse_coo import not_implemented
    if fill is not None and fill is not _quantized.NO_ZERO:
        raise not_implemented("fill_.Scalar", input.arr.xp)
    return empty_coo(input.shape, input.arr.sparse_dim, dtype or input.dtype,
                     device or input.device, requires_grad)


def _quantized_like(input, fill):
    """empty_like, ones_like and full_like of a quantized tensor: one with its parameters and
    layout, holding `fill` quantized (empty_like: zeros); zeros_like is refused, as torch's
    zero_ of a quantized tensor."""
    a = input.arr
    t = _new(_quantized.make_qarray(np.zeros_like(a.ints), a.q), input.be)
    if fill is not None:
        t.arr[...] = fill
    return t


zeros_like = _like(zeros, _quantized.NO_ZERO)
ones_like = _like(ones, 1.0)
empty_like = _like(empty, None)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    a = getattr(input, "arr", None)
    if type(a) is np.ndarray and dtype is None and device is None and layout is None and \
            memory_format is None and _plain_layout(a):     # the common case, directly
        return full(a.shape, fill_value, dtype=OF_NP[a.dtype.num], device=input.be.device,
                    requires_grad=requires_grad)
    if layout is None and isinstance(a, SparseCOO):
        return _sparse_like(input, fill_value, dtype, device, requires_grad)
    try:
        return _preserving(lambda shape, rg: full(shape, fill_value, dtype=dtype or input.dtype,
                                                  device=device or input.device,
                                                  requires_grad=rg),
                           input, memory_format, requires_grad, "full_like")
    except RuntimeError:
        if dtype is None and input.is_quantized:
            return _quantized_like(input, float(fill_value))
        raise


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    _check_pin(pin_memory)
    _out_dtype_check(out, dtype)
    kind = out.dtype if out is not None else None if dtype is None else _to_dtype(dtype)
    if kind is not None and (kind is _dtype.bool_ or kind.is_complex):
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{_tname(kind.np)}'")
    if kind is not None:
        _dtype.refuse_few("arange", kind.np)
    if end is None:
        start, end = 0, start
    if type(start) is type(end) is type(step) is int:      # Python ints: as they are
        inferred = _dtype.int64
    else:
        start, end, step = vals = [v.item() if isinstance(v, Tensor) else _dtype.scalar_arg(v)
                                   if isinstance(v, np.generic) else v
                                   for v in (start, end, step)]
        inferred = None
    _check_range_bounds(start, end, step)
    if dtype is None:       # (an out= tensor's dtype is the computation's, as in torch)
        dtype = out.dtype if isinstance(out, Tensor) else inferred or _infer_dtype(vals)
    d = _to_dtype(dtype)
    be = _get_backend(device)
    if d.is_floating_point or d.is_complex:
        n = builtins.max(0, math.ceil((end - start) / step))
        if be.xp is np and d.is_floating_point:
            a = _float_arange(start, step, n, d.np, _num_threads() if n >= 32768 else 1)
        else:
            a = (be.xp.arange(n, dtype=np.float64) * step + start).astype(d.np)
    else:
        a = be.xp.asarray(_int_arange(start, end, step, d))
    if out is not None and out.numel() not in (0, a.size):
        from .._warnings import outside_stacklevel
        warnings.warn(f"The number of elements in the out tensor of shape {list(out.shape)} is "
                      f"{out.numel()} which does not match the computed number of elements "
                      f"{a.size}. Note that this may occur as a result of rounding error. The out "
                      f"tensor will be resized to a tensor of shape ({a.size},).", UserWarning,
                      stacklevel=outside_stacklevel())
    return _into_range(_finish(a, be, requires_grad), out, "aten::arange")


def _check_range_bounds(start, end, step):
    if not (step > 0 or step < 0):          # NaN too
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {_cnum(start)} -> {_cnum(end)}")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")


def _cnum(v):
    """A number as C++ streams it into torch's messages (0.0 -> 0, 1e10 -> 1e+10)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _trunc_div(a, b):
    """C's integer division (toward zero), as torch's int64 range arithmetic."""
    q = builtins.abs(a) // builtins.abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _int_arange(start, end, step, d):
    """torch's integer arange: start, end and step truncate to integers; int64's length is
    computed on them, the other types' on the given values."""
    lo, hi, st = int(start), int(end), int(step)
    if d is _dtype.int64:
        if st == 0:
            raise ValueError("step must be nonzero")
        num = hi - lo + st - (1 if st > 0 else -1)
        n = _trunc_div(num, st)
    else:
        n = math.ceil((end - start) / step)
    a = np.arange(builtins.max(n, 0), dtype=np.int64)
    if st != 1:             # (NumPy's arithmetic with a Python int costs microseconds)
        a = st * a
    if lo:
        a = lo + a
    return a if d is _dtype.int64 else a.astype(d.np)


def range_(start=0, end=None, step=1, *, out=None, dtype=None, device=None,
           requires_grad=False):
    """Deprecated torch.range: like arange but includes `end` (torch's CPU kernel's values)."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    _out_dtype_check(out, dtype)
    if end is None:
        start, end = 0, start
    d = _to_dtype(dtype) if dtype is not None else DEFAULT.float if out is None else out.dtype
    if d is _dtype.bool_ or d.is_complex:
        raise NotImplementedError(f"\"range_cpu\" not implemented for '{_tname(d.np)}'")
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    _check_range_bounds(start, end, step)
    if d.is_floating_point:
        a = _float_range(start, end, step, d.np)
    else:
        lo, hi, st = int(start), int(end), int(step)
        if st == 0:
            raise ValueError("step must be nonzero")
        a = lo + st * np.arange(builtins.max(_trunc_div(hi - lo, st) + 1, 0), dtype=np.int64)
    return _into_range(_finish(_get_backend(device).xp.asarray(a.astype(d.np)),
                               _get_backend(device), requires_grad), out, "aten::range")


def _space_steps(name, start, end, steps, base, kwargs):
    """torch's argument-parser TypeError for a `steps` that is no int (a float, a bool...):
    `kwargs` the keywords given (those not at their defaults, in torch's order)."""
    if isinstance(steps, int) and not isinstance(steps, bool) or \
            not isinstance(steps, (bool, float, _py_complex, str, type(None))) and \
            hasattr(steps, "__index__"):
        return
    got = [type_name(v) for v in (start, end, steps)] + ([] if base == 10.0 else
                                                         [type_name(base)])
    got += [f"{k}={type_name(v)}" for k, v in sorted(kwargs.items())
            if v is not None and v is not False]
    head = "int steps, float base = 10.0" if name == "logspace" else "int steps"
    sigs = "".join(f" * ({a} start, {b} end, {head}, *, {_OUT_TAIL})\n" for a, b in (
        ("Tensor", "Tensor"), ("Number", "Tensor"), ("Tensor", "Number"), ("Number", "Number")))
    raise TypeError(f"{name}() received an invalid combination of arguments - got "
                    f"({', '.join(got)}), but expected one of:\n{sigs}")


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    if type(steps) is not int:      # (torch's argument parser's error for most others)
        _space_steps("linspace", start, end, steps, 10.0, dict(
            out=out, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad,
            pin_memory=pin_memory))
    _check_pin(pin_memory)
    _space_ends("linspace", start, end)
    be = _get_backend(device)
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    d = _space_dtype("linspace", start, end, dtype, steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if steps <= 1:
        a = be.xp.asarray(_values_array([start][:steps], (steps,), d))
    else:
        a = _linspace_values(be.xp, start, end, steps, d)
    return _into_range(_finish(a, be, requires_grad), out, "aten::linspace")


def _space_dtype(name, start, end, dtype, steps):
    """linspace/logspace's output dtype, with torch's refusals: bool and the float8s have no
    kernel (run from 2 steps on; one step is a fill), complex ends need a complex dtype."""
    cplx = isinstance(start, _py_complex) or isinstance(end, _py_complex)
    d = _to_dtype(dtype) if dtype is not None else DEFAULT.complex if cplx else DEFAULT.float
    if cplx and not d.is_complex:
        raise RuntimeError(f"torch.{name}(): inferred dtype {_cname(DEFAULT.complex.np)} can't "
                           f"be safely cast to passed dtype {_tname(d.np)}")
    if d is _dtype.bool_ and steps > 1:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_tname(d.np)}'")
    if steps > 1:
        _dtype.refuse_few("linspace", d.np)
    return d


def _int_ends(start, end, d):
    """An integral kernel's ends: torch's checked scalar conversions to the dtype (negative
    ints wrap into unsigned types), truncated."""
    return tuple(math.trunc(_fill_value(v, d.np)) for v in (start, end))


def _to_int(a, np_dtype):
    """Doubles into an integer dtype as C casts them on x86: truncated to int32 (int64 for
    8-byte types), out-of-range values becoming its minimum, then wrapped."""
    with np.errstate(invalid="ignore"):
        return np.trunc(a).astype(np.int64 if np_dtype.itemsize == 8 else np.int32) \
            .astype(np_dtype)


_WIDE = {np.dtype(np.float32): np.float64, np.dtype(np.complex64): np.complex128}


def _split(a):
    """Dekker's split of float64 `a` into two halves whose products are exact."""
    t = a * 134217729.0                    # 2^27 + 1
    hi = t - (t - a)
    return hi, a - hi


def _fused(c, a, j):
    """c + a * j rounded once, as a fused multiply-add (float64 scalars c, a; j an exact float64
    array): the product's rounding error by Dekker's two-product, the sum's by two-sum."""
    p = a * j
    (ahi, alo), (jhi, jlo) = _split(np.float64(a)), _split(j)
    err = ((ahi * jhi - p) + ahi * jlo + alo * jhi) + alo * jlo
    s = c + p
    b = s - c
    return s + (((c - (s - b)) + (p - b)) + err)


def _fused_any(c, a, j):
    """_fused for float64 or complex128 scalars c, a (the parts separately)."""
    if np.iscomplexobj(c) or np.iscomplexobj(a):
        c, a = np.complex128(c), np.complex128(a)
        return _fused(c.real, a.real, j) + 1j * _fused(c.imag, a.imag, j)
    return _fused(np.float64(c), np.float64(a), j)


def _linspace_values(xp, start, end, steps, d):
    """torch's kernel: the first half from start, the second from end, computed in the output
    dtype (integral outputs: a double step from the truncated ends, then truncation)."""
    half = steps // 2
    if d.kind == 1:
        i = np.arange(steps)
        s0, e0 = _int_ends(start, end, d)
        step = (e0 - s0) / (steps - 1) if steps > 1 else 0.0
        return xp.asarray(_to_int(np.where(i < half, s0 + step * i, e0 - step * (steps - 1 - i)),
                                  d.np))
    s0, e0 = xp.asarray(start, d.np), xp.asarray(end, d.np)
    step = xp.zeros((), d.np)
    if steps > 1:
        diff = e0 - s0
        if d.np.kind == "c":                # torch divides each part by the real steps - 1
            n = diff.real.dtype.type(steps - 1)
            step = (diff.real / n + 1j * (diff.imag / n)).astype(d.np)
        else:
            step = diff / d.np.type(steps - 1)
    # torch's compiled kernel fuses `start + step * i` into one multiply-add: float32 emulates
    # it exactly in float64, float64 by error-free transformations (NumPy on the CPU)
    out = xp.empty(steps, d.np)
    lo, hi = xp.arange(half), xp.arange(steps - 1 - half, -1, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        if xp is np and d.np.char in "dD":
            out[:half] = _fused_any(s0, step, lo.astype(np.float64))
            out[half:] = _fused_any(e0, -step, hi.astype(np.float64))
            return out
        wide = _WIDE.get(d.np) if xp is np else None
        if wide is not None:
            s0, e0, step = s0.astype(wide), e0.astype(wide), step.astype(wide)
        acc = d.np if wide is None else wide
        out[:half] = s0 + step * lo.astype(acc)
        out[half:] = e0 - step * hi.astype(acc)
    return out


def _space_ends(name, start, end):
    for what, v in (("start", start), ("end", end)):
        if isinstance(v, Tensor) and v.ndim:
            raise RuntimeError(f"{name} only supports 0-dimensional start and end tensors, but "
                               f"got {what} with {v.ndim} dimension(s).")


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    if type(steps) is not int:      # (torch's argument parser's error for most others)
        _space_steps("logspace", start, end, steps, base, dict(
            out=out, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad,
            pin_memory=pin_memory))
    _check_pin(pin_memory)
    _space_ends("logspace", start, end)
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    d = _space_dtype("logspace", start, end, dtype, steps)
    if d.kind == 1 and steps > 1:   # torch's integral kernel: powers of the converted ends
        i, half = np.arange(steps), steps // 2
        s0, e0 = _int_ends(start, end, d)
        step = (e0 - s0) / (steps - 1)
        with np.errstate(over="ignore"):
            a = _to_int(float(base) ** np.where(i < half, s0 + step * i,
                                                e0 - step * (steps - 1 - i)), d.np)
        be = _get_backend(device)
        return _into_range(_finish(be.xp.asarray(a), be, requires_grad), out,
                           "aten::logspace")
    lin = linspace(start, end, steps, dtype=_dtype.float64, device=device)
    return _into_range(_finish((base ** lin.arr).astype(d.np), lin.be, requires_grad), out,
                       "aten::logspace")


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    _check_pin(pin_memory)
    be = _get_backend(device)
    for v, name in ((n, "n"), (m, "m")):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    d = _np_dtype(dtype)
    _dtype.refuse_few("eye", d)
    return _into(_finish(be.xp.eye(n, n if m is None else m, dtype=d), be, requires_grad), out,
                 "aten::eye")


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor viewing a buffer with the given strides."""
    _check_pin(pin_memory)
    be = _get_backend(device)
    d = _np_dtype(dtype)
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of "
                           f"strides ({len(stride)})")
    extent = 1 + builtins.sum((sz - 1) * st for sz, st in zip(size, stride)) if all(size) else 0
    buf = _empty(be.xp, extent, d)
    a = be.xp.lib.stride_tricks.as_strided(buf, size, tuple(st * buf.itemsize for st in stride))
    return _finish(a, be, requires_grad)


def polar(abs, angle, *, out=None):
    """abs * (cos(angle) + i sin(angle)), differentiable through both inputs."""
    from .elementwise import cos, mul, sin
    try:
        same = abs.dtype is angle.dtype
    except AttributeError:
        raise_not_tensor("polar", ("abs", 1, abs), ("angle", 2, angle))
    if abs.arr.dtype.kind != "f" or angle.arr.dtype.kind != "f":
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{_tname(abs.arr.dtype)} and {_tname(angle.arr.dtype)}")
    if not same:
        raise RuntimeError(f"Expected object of scalar type {_tname(abs.arr.dtype)} but got "
                           f"scalar type {_tname(angle.arr.dtype)} for second argument")
    return _into(complex(mul(abs, cos(angle)), mul(abs, sin(angle))), out, "polar")


def _autocast_fp32():
    from ..amp.autocast import fp32_function
    globals()["polar"] = fp32_function("polar", polar)


_autocast_fp32()


# ---- random ------------------------------------------------------------------------------------
def _float_kernel(kernel, d):
    """rand/randn/uniform_/normal_ exist for floating and complex dtypes only (by type code:
    not the float8s, float8_e5m2 being kind "f")."""
    if d.char not in "efdEFD":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(d)}'")


def _random(sample, kernel, name):
    def fn(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False, **kw):
        if kw:
            raise _unknown_keywords(name, shape, _given(
                size=size, generator=generator, out=out, dtype=dtype, layout=layout,
                device=device, requires_grad=requires_grad, pin_memory=pin_memory), kw)
        if out is not None:
            _writable_out(out, aten)
        _check_pin(pin_memory)
        size = _shape_args(name, shape, size)
        be = _get_backend(device)
        d = _np_dtype(dtype if dtype is not None or out is None else out.dtype)
        _float_kernel(kernel, d)
        a = sample(_rng_for(generator, be), _size(size, name), d)
        return _into(_finish(a, be, requires_grad), out, aten)
    aten = "aten::" + name
    return _named(fn, name)


rand = _random(lambda r, shape, d: r.uniform(shape, d), "check_uniform_bounds", "rand")
randn = _random(lambda r, shape, d: r.normal(shape, d), "normal_kernel_cpu", "randn")


def _like_args(name, input, generator, dtype, layout, device, requires_grad, memory_format,
               pin_memory, kw, args=()):
    """The *_like random factories' empty_like(input), after torch's refusal of keywords they
    lack."""
    if kw:
        raise _unknown_keywords(name, (input,) + args, _given(
            generator=generator, memory_format=memory_format, dtype=dtype, layout=layout,
            device=device, pin_memory=pin_memory, requires_grad=requires_grad), kw)
    return empty_like(input, dtype=dtype, device=device, memory_format=memory_format,
                      pin_memory=pin_memory)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None, pin_memory=False, **kw):
    """torch's empty_like(input).uniform_(): input's layout, filled in its memory order."""
    t = _like_args("rand_like", input, generator, dtype, layout, device, requires_grad,
                   memory_format, pin_memory, kw)
    _float_kernel("check_uniform_bounds", t.arr.dtype)
    if t.is_nested:     # (torch's jagged kernel: uniform_ of a nested tensor is refused)
        from ..nested._ops import no_rand_like
        no_rand_like(t)
        return _uniform(t, generator=generator)._requires_grad_(requires_grad)
    return uniform_(t, generator=generator)._requires_grad_(requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None, pin_memory=False, **kw):
    """torch's empty_like(input).normal_(): a permuted layout is not contiguous, so torch (and
    ember) fill it one value at a time, not with the blocked fill of a contiguous randn."""
    t = _like_args("randn_like", input, generator, dtype, layout, device, requires_grad,
                   memory_format, pin_memory, kw)
    _float_kernel("normal_kernel_cpu", t.arr.dtype)
    if t.is_nested:     # (torch's jagged kernel: normal_ of a jagged tensor is refused)
        return _normal(t, generator=generator)._requires_grad_(requires_grad)
    return normal_(t, generator=generator)._requires_grad_(requires_grad)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, pin_memory=False, requires_grad=False, **kw):
    if kw:
        raise _unknown_keywords("randint", tuple(a for a in (low, high, size) if a is not None),
                                _given(generator=generator, out=out, dtype=dtype, layout=layout,
                                       device=device, pin_memory=pin_memory,
                                       requires_grad=requires_grad), kw)
    if out is not None:
        _writable_out(out, "aten::randint")
    _check_pin(pin_memory)
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    for v in (low, high):       # torch's argument parser reads both as int64
        if type(v) is _py_int and not -2 ** 63 <= v < 2 ** 63:
            raise ValueError("Overflow when unpacking long long")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    d = _np_dtype(dtype if dtype is not None or out is None else out.dtype, _dtype.int64)
    _random_bounds(d, low, high)
    be = _get_backend(device)
    a = _rng_for(generator, be).integers(low, high, _size((size,)))
    return _into(_finish(a.astype(d, copy=False), be, requires_grad), out, "aten::randint")


_DIGITS = {"float32": 24, "float64": 53, "float16": 11, "bfloat16": 8}    # mantissa digits
# check_uniform_bounds' names of the float types (C++'s, torch's) and their largest value
_BOUNDS = {"float32": ("float", "Float", 3.4028234663852886e38),
           "float64": ("double", "Double", 1.7976931348623157e308),
           "float16": ("c10::Half", "Half", 65504.0),
           "bfloat16": ("c10::BFloat16", "BFloat16", 3.3895313892515355e38)}


_BOUNDS_BY_DTYPE = {}     # _BOUNDS by NumPy dtype, filled on use


def _random_bounds(d, low, high):
    """torch's checks of random_(from, to) (and randint) for dtype `d`: no complex or float8
    kernels, integer bounds within the dtype."""
    if d.kind == "c":
        raise RuntimeError("check_random_bounds handles only integral, floating-point and "
                           "boolean types")
    if d.num in _dtype.FEW_KERNELS and d.kind in "fV":      # (the float8s)
        raise _dtype_not_implemented("random_update_from_to", d)
    if d.kind in "biu":
        lo, hi = (0, 1) if d.kind == "b" else _IBOUNDS.get(d.num) or (
            int(np.iinfo(d).min), int(np.iinfo(d).max))
        name = _cname(d)
        if low < lo:
            raise RuntimeError(f"from is out of bounds for {name}")
        if high - 1 > hi:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
    elif d.name in _BOUNDS:     # floats: within the dtype, warned past its exact integers
        name, _, top = _BOUNDS[d.name]
        digits = _DIGITS[d.name]
        for v, what in ((low, "from"), (high - 1, "to - 1")):
            if not -top <= v <= top:
                raise RuntimeError(f"{what} is out of bounds for {name}")
        for v, what, line in ((low, "from", 110), (high - 1, "to - 1", 111)):
            if not -(1 << digits) <= v <= 1 << digits:
                from .._warnings import outside_stacklevel
                warnings.warn(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                              f"precision limitations {name} can support discrete uniform "
                              "distribution only within this range. This warning will become an "
                              "error in version 1.7 release, please fix the code in advance "
                              "(Triggered internally at /__w/pytorch/pytorch/aten/src/ATen/"
                              f"native/DistributionTemplates.h:{line}.)", UserWarning,
                              stacklevel=outside_stacklevel())


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None, pin_memory=False, **kw):
    args = (low,) if high is None else (low, high)
    t = _like_args("randint_like", input, generator, dtype, layout, device, requires_grad,
                   memory_format, pin_memory, kw, args)
    if high is None:
        low, high = 0, low
    return random_(t, low, high, generator=generator)._requires_grad_(requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             pin_memory=False, requires_grad=False, **kw):
    if kw:
        raise _unknown_keywords("randperm", (n,), _given(
            generator=generator, out=out, dtype=dtype, layout=layout, device=device,
            pin_memory=pin_memory, requires_grad=requires_grad), kw)
    if out is not None:
        _writable_out(out, "aten::randperm")
    _check_pin(pin_memory)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    be = _get_backend(device)
    d = _np_dtype(dtype if dtype is not None or out is None else out.dtype, _dtype.int64)
    _dtype.refuse_few("randperm", d)
    if d.kind in "iu":      # (torch's scalar_tensor(n - 1): an integer dtype's range)
        _fill_value(n - 1 if n > 0 else n, d)
    try:
        digits = _PERM_DIGITS[d]
    except KeyError:        # (by dtype: its .name is a slow property)
        digits = _PERM_DIGITS[d] = _DIGITS.get(d.name) if d.name != "bfloat16" else None
    if digits is not None and n > (1 << digits) + 1:    # (exact integers; bfloat16 unchecked)
        limit = "2049" if digits == 11 else f"2^{digits}+1"
        raise RuntimeError(f"n cannot be greater than {limit} for {_BOUNDS[d.name][1]} type.")
    if d.kind == "b":
        raise _dtype_not_implemented("randperm", d)
    return _into(_finish(_rng_for(generator, be).permutation(n).astype(d, copy=False), be,
                         requires_grad), out, "aten::randperm")


_PERM_DIGITS = {}       # randperm's float dtypes' mantissa digits by NumPy dtype, filled on use


_NORMAL_SIGNATURES = (
    " * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, Tensor "
    "out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device device = "
    "None, bool pin_memory = False, bool requires_grad = False)\n")


def _normal_size_is_missing(mean, std, **kwargs):
    """torch's error for a call matching none of normal's overloads (the factory keywords
    need the float-mean-and-std one, which takes a size)."""
    got = [type_name(mean), type_name(std)] + [    # (torch names the keywords in this order)
        f"{k}={type_name(v)}" for k, v in sorted(kwargs.items()) if v is not None and
        v is not False]
    raise TypeError(f"normal() received an invalid combination of arguments - got "
                    f"({', '.join(got)}), but expected one of:\n{_NORMAL_SIGNATURES}")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if size is None and (layout is not None or pin_memory or tensors and (
            dtype is not None or device is not None or requires_grad)):
        _normal_size_is_missing(mean, std, out=out, dtype=dtype, layout=layout, device=device,
                                generator=generator, pin_memory=pin_memory,
                                requires_grad=requires_grad)
    if out is not None:
        _writable_out(out, "normal" if tensors else "aten::normal")
    if tensors:
        ref = mean if isinstance(mean, Tensor) else std
        try:
            shape = np.broadcast_shapes(getattr(mean, "shape", ()), getattr(std, "shape", ()))
        except ValueError:
            from ._apply import _infer_size_error
            raise _infer_size_error(tuple(mean.shape), tuple(std.shape)) from None
        if isinstance(std, Tensor) and (std.arr < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        if not isinstance(std, Tensor) and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_cnum(std)}")
        noise = randn(shape, generator=generator, device=ref.device,     # (drawn in out's
                      dtype=ref.dtype if out is None else out.dtype)    # dtype, as torch's)
        from ._apply import _finish as _out_finish     # (TensorIterator's: warns on a resize)
        return _out_finish((noise * std + mean).detach(), out, "aten::normal")
    if size is None:        # torch's float-mean-and-std overload takes a size
        _normal_size_is_missing(mean, std, out=out, dtype=dtype, device=device,
                                generator=generator)
    _check_pin(pin_memory)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_cnum(std)}")
    if dtype is not None:
        _float_kernel("normal_kernel_cpu", _to_dtype(dtype).np)
    be = _get_backend(device)
    a = _rng_for(generator, be).normal(_size((size,)), _np_dtype(dtype), mean, std)
    return _into(_finish(a, be, requires_grad), out, "aten::normal")


_P_IN = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
         "message be improved?  If so, please report an enhancement request to PyTorch.)")


def _bernoulli_p_out(input, p, generator):
    gen = "" if generator is None else "generator=torch._C.Generator, "
    why = "" if generator is None else ("      didn't match because some of the keywords were "
                                        "incorrect: generator, out\n")
    raise TypeError(f"bernoulli() received an invalid combination of arguments - got "
                    f"({type_name(input)}, {type_name(p)}, {gen}out=Tensor), but expected one "
                    f"of:\n * (Tensor input, *, torch.Generator generator = None, Tensor out = "
                    f"None)\n{why} * (Tensor input, float p, *, torch.Generator generator = "
                    f"None)\n{why}")


def bernoulli(input, p=None, *, generator=None, out=None):
    try:
        be = input.be
    except AttributeError:
        raise_not_tensor("bernoulli", ("input", 1, input))
    if out is not None and p is not None:    # (torch's overload with p has no out=)
        _bernoulli_p_out(input, p, generator)
    if out is not None:
        _writable_out(out, "bernoulli")
    probs, dt = (input.arr if p is None else p), input.arr.dtype
    # torch's kernels: probabilities of a floating dtype, into a real tensor
    if p is not None and dt.kind == "c":
        raise _dtype_not_implemented("bernoulli_scalar_cpu_", dt)
    if p is None and dt.kind in "biu":
        raise _dtype_not_implemented("bernoulli_tensor_cpu_p_", dt)
    if p is None and (dt.kind == "c" or out is not None and out.arr.dtype.kind == "c"):
        raise _dtype_not_implemented("bernoulli_tensor_cpu_self_",
                                     dt if dt.kind == "c" else out.arr.dtype)
    if p is None and not ((probs >= 0) & (probs <= 1)).all():      # NaN fails too
        raise RuntimeError(_P_IN)
    if p is not None and not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_cnum(p)}")
    keep = _rng_for(generator, be).bernoulli_tensor(be.xp.broadcast_to(probs, input.shape))
    return _into(_new(keep.astype(input.arr.dtype), be), out, "bernoulli")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    try:
        be = input.be
    except AttributeError:
        raise_not_tensor("multinomial", ("input", 1, input))
    # torch's checks, in its order
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_tname(input.arr.dtype)}")
    if isinstance(out, Tensor) and out.arr.dtype != np.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {_tname(out.arr.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    p = be.to_host(input.arr)
    # in the sampling precision: float32 holds the narrower floats exactly, and the checks
    # below (signs, finiteness, a positive row sum) come out alike in either
    dt = np.float64 if p.dtype == np.float64 else np.float32
    rows = p.astype(dt, copy=False)
    rows = rows[None] if p.ndim == 1 else rows
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if rows.shape[1] > 1 << 24:         # (its indices go through float32)
        raise RuntimeError("number of categories cannot exceed 2^24")
    if out is not None:
        from ._apply import _finish
        return _finish(multinomial(input, num_samples, replacement, generator=generator), out,
                       "multinomial")
    if not rows.shape[0]:
        return _new(be.from_host(np.zeros((0, num_samples), np.int64)), be)
    _multinomial_checks(rows, replacement and num_samples > 1)
    r = _rng_for(generator, CPU)
    if replacement and num_samples > 1:     # torch: a double uniform per sample, searched in
        # the row's cumsum (a single sample takes the exponential path below, as in torch)
        # (its binary search finds the first entry >= u: the count of those below u)
        cum = np.cumsum(rows, axis=1)
        cum /= cum[:, -1:]
        cum = cum.astype(np.float64, copy=False)
        u = r.uniform((len(rows), num_samples), np.float64)     # row by row, as torch draws
        if cum.size * num_samples <= 1 << 16:
            out = (cum[:, None, :] < u[:, :, None]).sum(2, dtype=np.int64)
        elif len(cum) == 1:
            out = np.searchsorted(cum[0], u[0]).reshape(1, -1)
        else:
            out = np.stack([np.searchsorted(c, v) for c, v in zip(cum, u)])
    else:               # torch: the top num_samples of p / q with q ~ Exp(1)
        keys = rows / r.exponential(rows.shape, 1.0, dt == np.float64).astype(dt)
        out = _top_stable(-keys, num_samples)
    return _new(be.from_host(out.reshape(p.shape[:-1] + (num_samples,))), be)


def _top_stable(neg, k):
    """The first k of each row of a stable argsort of `neg` (ties in index order, NaN last):
    where k is small, from the entries at most each row's k-th smallest (a partition), sorted,
    when every row has exactly k of them (no tie at the k-th) and no NaN."""
    if k * 8 < neg.shape[1] and not np.isnan(neg).any():
        mask = neg <= np.partition(neg, k - 1, axis=1)[:, k - 1:k]
        if (np.count_nonzero(mask, axis=1) == k).all():
            cand = np.nonzero(mask)[1].reshape(-1, k)
            order = np.argsort(np.take_along_axis(neg, cand, 1), axis=1, kind="stable")
            return np.take_along_axis(cand, order, 1)
    return np.argsort(neg, axis=1, kind="stable")[:, :k]


def _multinomial_checks(rows, scan):
    """torch's: its fast path (sampling once, or without replacement) checks the whole tensor;
    the with-replacement kernel (`scan`) each row in turn, entry by entry, then its sum."""
    if rows.size and rows.min() >= 0 and rows.max() < np.inf and rows.sum(1).min() > 0:
        return          # (the common case in four passes: no NaN, inf, negative or zero row)
    bad = ~(rows >= 0) | ~np.isfinite(rows)
    if not scan:
        if not rows.size:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        if bad.any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        return
    failing = np.flatnonzero(bad.any(1) | ~(rows.sum(1) > 0))
    if failing.size:
        row = rows[failing[0]]
        for v in row[bad[failing[0]]][:1]:
            raise RuntimeError("invalid multinomial distribution (encountering probability entry "
                               + ("< 0)" if not v >= 0 else "= infinity or NaN)"))
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def poisson(input, generator=None):
    try:
        a = input.arr
    except AttributeError:
        raise_not_tensor("poisson", ("input", 1, input))
    _float_only(input, "poisson_" + input.device.type)
    if not (a >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _new(_rng_for(generator, input.be).poisson(input.arr).astype(input.arr.dtype),
                input.be)


# ---- in-place fills ----------------------------------------------------------------------------
# zero_, fill_ and the random fills are in-place ops like any other: under grad mode, on a
# tensor that takes part in autograd, they go through `inplace` (leaf and view checks, version
# bump, CopySlices on views) and record a node that gives `self` a zero gradient (torch's
# ZeroBackward0, FillBackward2, UniformBackward0, ...). Otherwise they just write.
def _overwrite_op(name, node):
    """An op whose output is `values` (computed beforehand, passed as a static argument) cast to
    the first input's dtype: the output does not depend on the inputs' values, so each input
    gets a zero gradient (extra inputs, such as bernoulli_'s tensor p, have their shapes
    saved)."""
    def fwd(xp, x, *rest):
        *extra, values = rest
        values = values.values if type(values) is _Values else values
        return values.astype(x.dtype, copy=False), tuple(e.shape for e in extra)

    def bwd(xp, g, *shapes):
        return (xp.zeros_like(g),) + tuple(xp.zeros(s, g.dtype) for s in shapes)
    o = _op(name, saves=None, node=node)(fwd)
    o.vjp(bwd)
    return o


class _Values:
    """Sampled values handed to an overwrite op. They are constants of the graph by design (the
    output does not depend on the inputs), so a create_graph backward may reuse the node as
    recorded; the wrapper keeps the higher-order machinery from taking them for input-derived
    arrays."""
    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


_UNIFORM = _overwrite_op("uniform_", "UniformBackward0")
_NORMAL = _overwrite_op("normal_", "NormalBackward0")
_BERNOULLI_P = _overwrite_op("bernoulli_tensor_", "BernoulliBackward1")
_BERNOULLI = _overwrite_op("bernoulli_", "BernoulliBackward2")
_RANDOM_FROM_TO = _overwrite_op("random_from_to_", "RandomBackward0")
_RANDOM_TO = _overwrite_op("random_to_", "RandomBackward1")
_RANDOM = _overwrite_op("random_", "RandomBackward2")
_EXPONENTIAL = _overwrite_op("exponential_", "ExponentialBackward0")
_GEOMETRIC = _overwrite_op("geometric_", "GeometricBackward0")
_LOG_NORMAL = _overwrite_op("log_normal_", "LogNormalBackward0")
_CAUCHY = _overwrite_op("cauchy_", "CauchyBackward0")


def _fill_scalar_op(name, node):
    """fill with a Python number: the first input's shape and dtype, zero gradient to it."""
    o = _op(name, saves=None, node=node)(
        lambda xp, x, value: (_filled(xp, x, value), ()))
    o.vjp(lambda xp, g: (xp.zeros_like(g),))
    return o


def _fill_tensor_op(name, node):
    """fill with a 0-dim tensor: zero gradient to the filled input, the gradient's sum to the
    value."""
    o = _op(name, saves=None, node=node)(
        lambda xp, x, v: (_filled(xp, x, v), ()))
    o.vjp(lambda xp, g: (xp.zeros_like(g), g.sum(keepdims=True).reshape(())))
    return o


@_op("zero_", saves=None, node="ZeroBackward0")
def _ZERO(xp, x):
    return xp.zeros(x.shape, x.dtype), ()


_ZERO.vjp(lambda xp, g: (xp.zeros_like(g),))


def _filled(xp, x, value):
    out = xp.empty(x.shape, x.dtype)
    out[...] = value
    return out


_FILL_ = _fill_scalar_op("fill_", "FillBackward2")
_FILL_TENSOR_ = _fill_tensor_op("fill_tensor_", "FillBackward3")
_FILL = _fill_scalar_op("fill", "FillBackward0")
_FILL_TENSOR = _fill_tensor_op("fill_tensor", "FillBackward1")


def _sampled(o, self, values, *extra):
    """The result of a random fill: `values` (already drawn) through op `o`."""
    return _apply(o, (self, *extra), (_Values(values),))


def _draw(self, draw):
    """`draw(shape)` for self's elements in memory order, as torch's TensorIterator walks a
    strided tensor (outermost stride first), returned in self's logical layout."""
    a = self.arr
    if type(a) is NestedArray:      # torch draws over a nested tensor's buffer, in order
        cuts = np.cumsum([p.size for p in a.parts])[:-1]
        return a.like([v.reshape(p.shape) for v, p in zip(np.split(draw((a.numel,)), cuts),
                                                           a.parts)])
    if a.ndim < 2 or a.flags.c_contiguous:
        return draw(a.shape)
    order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
    values = draw(tuple(a.shape[d] for d in order))
    return values.transpose(tuple(np.argsort(order)))


def _uniform_values(self, a=0.0, b=1.0, *, generator=None):
    dt = self.arr.dtype
    _float_kernel("check_uniform_bounds", dt)
    try:
        names = _BOUNDS_BY_DTYPE[dt]
    except KeyError:        # (a dtype's .name is a slow property)
        names = _BOUNDS_BY_DTYPE[dt] = _BOUNDS.get(dt.name)
    top = names[2] if names else math.inf
    for v, what in ((a, "from"), (b, "to")):
        if not -top <= v <= top:            # (NaN too)
            raise RuntimeError(f"{what} is out of bounds for {names[0]}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_cnum(a)} > to={_cnum(b)}")
    if b - a > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{names[1]}>::max(), "
                           f"but found to={_cnum(b)} and from={_cnum(a)} which result in to-from "
                           "to exceed the limit")
    rng = _rng_for(generator, self.be)
    return _draw(self, lambda shape: rng.uniform(shape, self.arr.dtype, a, b))


def _normal_values(self, mean=0.0, std=1.0, *, generator=None):
    _float_kernel("normal_kernel_cpu", self.arr.dtype)
    if not std >= 0:            # (NaN too)
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_cnum(std)}")
    rng = _rng_for(generator, self.be)
    contiguous = bool(self.arr.flags.c_contiguous)
    return _draw(self, lambda shape: rng.normal(shape, self.arr.dtype, mean, std, contiguous))


def _bernoulli_values(self, p=0.5, *, generator=None):
    """bernoulli_'s values: (values, p) where p is a tensor (recorded as an input)."""
    dt = self.arr.dtype
    if dt.kind == "c" or dt.num in _dtype.FEW_KERNELS:
        raise _dtype_not_implemented("bernoulli_tensor_cpu_self_" if isinstance(p, Tensor) else
                                     "bernoulli_scalar_cpu_", dt)
    rng = _rng_for(generator, self.be)
    if isinstance(p, Tensor):
        if not ((p.arr >= 0) & (p.arr <= 1)).all():
            raise RuntimeError(_P_IN)
        probs = self.be.xp.broadcast_to(p.arr, self.shape)
        return rng.bernoulli_tensor(probs), p
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_cnum(p)}")
    return _draw(self, lambda shape: rng.bernoulli(shape, p)), None


def _random_values(self, from_=None, to=None, *, generator=None):
    """Integers from [from, to); random_(to) is [0, to); random_() spans the dtype (for floats
    the integers exactly representable: [0, 2^mantissa])."""
    dt = self.arr.dtype
    rng = _rng_for(generator, self.be)
    if from_ is None and to is None:
        if dt.kind == "c" or dt.num in _dtype.FEW_KERNELS:
            raise _dtype_not_implemented("random_kernel_cpu", dt)
        return _draw(self, lambda shape: rng.full_range(shape, self.arr.dtype)), _RANDOM
    o = _RANDOM_FROM_TO
    if to is None:
        from_, to, o = 0, from_, _RANDOM_TO
    elif from_ is None:                 # random_(to=n)
        from_, o = 0, _RANDOM_TO
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} "
                           f">= to={to}")
    _random_bounds(dt, from_, to)
    return _draw(self, lambda shape: rng.integers(from_, to, shape)), o


def _continuous(self, name, kernel, spell):
    """exponential_/cauchy_ of a non-floating tensor: the float8s have no kernel, other dtypes
    raise torch's RuntimeError naming the dtype (`spell`: _tname or _cname, as torch does)."""
    dt = self.arr.dtype
    if _is_float(dt):
        return
    if dt.kind in "fV":
        raise _dtype_not_implemented(kernel, dt)
    raise RuntimeError(f"{name} distribution is a continuous probability distribution. dtype "
                       f"must be a floating point but you specified {spell(dt)}")


def _exponential_values(self, lambd=1.0, *, generator=None):
    _continuous(self, "Exponential", "exponential_cpu", _tname)
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_cnum(lambd)}")
    rng = _rng_for(generator, self.be)
    return _draw(self, lambda shape: rng.exponential(shape, lambd,
                                                     self.arr.dtype == np.float64))


def _geometric_values(self, p, *, generator=None):
    dt = self.arr.dtype
    if dt.kind in "bc" or dt.num in _dtype.FEW_KERNELS:
        raise _dtype_not_implemented("geometric_cpu", dt)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_cnum(p)}")
    rng = _rng_for(generator, self.be)
    return _draw(self, lambda shape: rng.geometric(shape, p))


def _log_normal_values(self, mean=1.0, std=2.0, *, generator=None):
    if not _is_float(self.arr.dtype):        # torch's kernel is for floating dtypes only
        raise _dtype_not_implemented("log_normal_cpu", self.arr.dtype)
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_cnum(std)}")
    rng = _rng_for(generator, self.be)
    return _draw(self, lambda shape: rng.lognormal(shape, mean, std,
                                                   self.arr.dtype == np.float64))


def _cauchy_values(self, median=0.0, sigma=1.0, *, generator=None):
    _continuous(self, "Cauchy", "cauchy_cpu", _cname)
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_cnum(sigma)}")
    rng = _rng_for(generator, self.be)
    return _draw(self, lambda shape: rng.cauchy(shape, median, sigma,
                                                self.arr.dtype == np.float64))


def _sampling(o, values):
    """A random fill's out-of-place function: `values(self, ...)` through overwrite op `o`."""
    def fn(self, *args, **kwargs):
        return _sampled(o, self, values(self, *args, **kwargs))
    return fn


def _bernoulli(self, *args, **kwargs):
    values, p = _bernoulli_values(self, *args, **kwargs)
    return _sampled(_BERNOULLI, self, values) if p is None else \
        _sampled(_BERNOULLI_P, self, values, p)


def _random_(self, *args, **kwargs):
    values, o = _random_values(self, *args, **kwargs)
    return _sampled(o, self, values)


_uniform = _sampling(_UNIFORM, _uniform_values)
_normal = _sampling(_NORMAL, _normal_values)
_exponential = _sampling(_EXPONENTIAL, _exponential_values)
_geometric = _sampling(_GEOMETRIC, _geometric_values)
_log_normal = _sampling(_LOG_NORMAL, _log_normal_values)
_cauchy = _sampling(_CAUCHY, _cauchy_values)


def _random_fill(fn, name, values, pick=None):
    """Tensor.<name>_ of a random fill: `fn` through `inplace`, or, where nothing is recorded
    (no grad to track, no forward AD, no autocast), on a plain writable CPU array with numbers
    for arguments, `values(self, ...)` (`pick` takes them from its result) written straight
    into self's memory, as zero_ writes: the same draws, values and version bump, without
    building an op."""
    general = _inplace(fn, name, reads_self=False)

    def method(self, *args, **kwargs):
        try:
            direct = self.be is CPU and not (_grad.enabled and self._rg) and \
                _fw.level is None and not _amp.enabled and self.arr.flags.writeable
        except AttributeError:
            direct = False
        if direct:
            for a in chain(args, kwargs.values()):
                if type(a) not in _NUMBER_ARGS and a is not kwargs.get("generator"):
                    direct = False
                    break
        if not direct:
            return general(self, *args, **kwargs)
        v = values(self, *args, **kwargs)
        a = self.arr
        a[...] = (v if pick is None else v[0]).astype(a.dtype, copy=False)    # (as _sampled)
        _bump_version(self)
        return self
    method.__name__ = method.__qualname__ = name + "_"
    return method


_NUMBER_ARGS = (float, int)


def _zero(self):
    return _apply(_ZERO, (self,))


def _fill_value(value, np_dtype, numel=None):
    """fill_'s value: a 0-dim tensor, or a number that `np_dtype` can hold (torch's checked
    scalar conversion: no imaginary part for a real dtype, within the dtype's range). A fill of
    one float16/bfloat16 element (`numel` 1) takes torch's unchecked fast path: inf."""
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.dim()} dimensions.")
        return value
    if isinstance(value, np.generic):
        value = _dtype.scalar_arg(value)
    if isinstance(value, _py_int) and not -2 ** 63 <= value < 2 ** 64:
        raise OverflowError("int too big to convert")
    k = np_dtype.kind
    if k == "c" and isinstance(value, (_py_float, _py_complex)) and np_dtype.itemsize == 8:
        if any(math.isfinite(p) and abs(p) > _FLOAT_MAX[np.dtype(np.float32)]
               for p in (value.real, value.imag)):
            raise _overflow(np_dtype)       # complex<float> holds each part as a float
    if k in "bcQ" or not isinstance(value, (_py_int, _py_float, _py_complex)):
        return value        # (Q: a quantized tensor's array quantizes the value itself)
    v = value
    if isinstance(v, _py_complex):
        if v.imag != 0:
            raise _overflow(np_dtype)
        v = value = v.real
    if k in "iu":
        if isinstance(v, _py_float) and not math.isfinite(v):
            raise _overflow(np_dtype)
        lo, hi = _IBOUNDS[np_dtype.num]
        if k == "u" and isinstance(v, _py_int) and -hi <= v < 0:
            return v + hi + 1           # c10 lets -x wrap into an unsigned type
        if not lo <= v <= hi:
            raise _overflow(np_dtype)
    elif np_dtype.itemsize == 1:        # a float8 (kind "f" or "V"): c10's checked conversion
        lo, hi, has_inf = _FLOAT8_RANGE[np_dtype]
        if numel != 1 and not (v != v or lo <= v <= hi or has_inf and math.isinf(v)):
            raise _overflow(np_dtype)
    elif not (isinstance(v, _py_float) and not math.isfinite(v)):     # nan and inf fit
        top = _FLOAT_MAX.get(np_dtype) if numel != 1 or np_dtype.itemsize != 2 else None
        if top is not None and abs(v) > top:
            raise _overflow(np_dtype)
    if k in "fV" and np_dtype.itemsize == 2 and isinstance(value, (_py_float, _py_int)):
        return np.float32(value)            # a double becomes a 2-byte float through float
    return value


_INT64_END = 1 << 63
_ZERO_BITS = {}     # zero_'s value where 0 is not zero bits (float8_e8m0fnu: 0 converts to NaN)
_ZERO_BITS.update({d.descr: _quantized.NO_ZERO for d in _dtype.QUANTIZED})    # (torch refuses)
if _dtype.bfloat16 is not None:
    import ml_dtypes
    _ZERO_BITS[_dtype.float8_e8m0fnu.np] = np.zeros((), np.uint8).view(_dtype.float8_e8m0fnu.np)
    # a float8's (lowest, max, has infinity): float8_e8m0fnu holds only powers of two
    _FLOAT8_RANGE = {d.np: (fi.tiny if d.name.endswith("fnu") else fi.min, fi.max,
                            d.name.endswith("e5m2"))
                     for d, fi in ((d, ml_dtypes.finfo(d.np)) for d in _dtype._f8)}
_CPP_SCALAR = {"float32": "float", "float64": "double", "float16": "c10::Half",
               "bfloat16": "c10::BFloat16", "int64": "int64_t", "int32": "int",
               **{n: "c10::" + _dtype.C10_NAME[n] for n in _dtype.FLOAT8},
               "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
               "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _overflow(np_dtype):
    name = OF_NP[np_dtype.num].name
    return RuntimeError(f"value cannot be converted to type {_CPP_SCALAR.get(name, name)} "
                        "without overflow")


def _fill(self, value):
    value = _fill_value(value, self.arr.dtype)
    if isinstance(value, Tensor):
        return _apply(_FILL_TENSOR_, (self, value))
    return _apply(_FILL_, (self,), (value,))


uniform_ = _random_fill(_uniform, "uniform", _uniform_values)
normal_ = _random_fill(_normal, "normal", _normal_values)
bernoulli_ = _random_fill(_bernoulli, "bernoulli", _bernoulli_values, pick=0)
random_ = _random_fill(_random_, "random", _random_values, pick=0)
exponential_ = _random_fill(_exponential, "exponential", _exponential_values)
geometric_ = _random_fill(_geometric, "geometric", _geometric_values)
log_normal_ = _random_fill(_log_normal, "log_normal", _log_normal_values)
cauchy_ = _random_fill(_cauchy, "cauchy", _cauchy_values)
_zero_recorded = _inplace(_zero, "zero", reads_self=False)
_fill_recorded = _inplace(_fill, "fill", reads_self=False)


def _dual(self, value=None):
    """Forward AD is on and self (or the value written) has a tangent: take the general
    in-place path, which updates tangents."""
    if _fw.level is None:
        return False
    from ._apply import _fw_involved
    return _fw_involved(self, value)


def zero_(self):
    if _grad.enabled and self._rg or _dual(self):
        return _zero_recorded(self)
    write_target(self, fill=True)[0][...] = _ZERO_BITS.get(self.arr.dtype, 0)
    _bump_version(self)
    return self


def fill_(self, value):
    if _grad.enabled and (self._rg or isinstance(value, Tensor) and value._rg) or \
            _dual(self, value):
        return _fill_recorded(self, value)
    try:
        value = _fill_value(value, self.arr.dtype, self.arr.size)
    except AttributeError:          # a nested tensor's array (no flat size)
        value = _fill_value(value, self.arr.dtype)
        if isinstance(value, Tensor):   # its 0-dim array into each component
            if self.arr.meta.layout == "jagged":
                raise NotImplementedError("aten.fill_.Tensor") from None
            value = value.arr
    if isinstance(value, Tensor):   # a 0-dim tensor casts as copy_ casts (wraps, drops imag)
        from .shape import copy_
        return copy_(self, value)
    write_target(self, fill=True)[0][...] = value
    _bump_version(self)
    return self


def fill(input, value):
    """torch.fill: a new tensor shaped like `input` holding `value` (FillBackward0/1: a zero
    gradient to `input`, the gradient's sum to a 0-dim tensor `value`)."""
    value = _fill_value(value, input.arr.dtype)
    if isinstance(value, Tensor):
        return _apply(_FILL_TENSOR, (input, value))
    return _apply(_FILL, (input,), (value,))


# ---- set_ under autograd -----------------------------------------------------------------------
@_op("set_", saves=None, node="torch::autograd::NotImplemented")
def _set_op(xp, x, *source):
    raise AssertionError("set_ nodes are built by record_set, never applied")


@_set_op.vjp
def _(xp, g):
    raise RuntimeError("derivative for set_ is not implemented")


def record_set(self, old, source):
    """`self.set_(source)` recorded (self or source takes part in autograd): as in torch, self
    gets a node without a derivative, which raises if a backward reaches it."""
    be = self.be
    edges, inputs = (self.grad_fn,), (old,)
    if isinstance(source, Tensor):
        edges += ((source.grad_fn or source._leaf_node()) if source._rg else None,)
        inputs += (source,)
    self.grad_fn = _set_op.node_cls(_set_op, _set_op.impl[be.idx][1], be.xp, (), edges,
                                    inputs, ())
    self._rg = True


# ---- conversion (differentiable dtype and device changes) -----------------------------------
@_op("to_copy", saves=None, node="ToCopyBackward0")
def _to_copy(xp, x, np_dtype):
    if x.dtype.kind == "c":
        from .index import warn_complex_to_real
        warn_complex_to_real(x.dtype, np_dtype)
    y = _dtype.cast(x, np_dtype)
    if type(x) is np.ndarray and (1 in x.shape and odd_units(x) or not x.size):
        y = relaid(x, y)        # (torch keeps size-1 dims' strides, NumPy places them its way)
    return y, (x.dtype,)


@_to_copy.vjp
def _(xp, g, src_dtype):
    if g.dtype == src_dtype:
        return (g,)
    if g.dtype.kind == "c" and src_dtype.kind != "c":   # a real source gets the real part
        g = g.real
    return (g.astype(src_dtype),)


_TO_SIGNATURES = (
    ", but expected one of:\n"
    " * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, "
    "bool copy = False, *, torch.memory_format memory_format = None)\n"
    " * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, "
    "torch.memory_format memory_format = None)\n"
    " * (Tensor tensor, bool non_blocking = False, bool copy = False, *, "
    "torch.memory_format memory_format = None)\n")


def _is_to_dtype(a):
    return isinstance(a, _dtype.dtype) or isinstance(a, type) and \
        a in (float, int, bool, builtins.complex)


def _to_arg_error(args, kwargs):
    def name(a):
        if isinstance(a, _dtype.dtype):
            return "torch.dtype"
        if isinstance(a, _device_cls):
            return "torch.device"
        if isinstance(a, _mformat):
            return "torch.memory_format"
        return type(a).__name__
    pos = [name(a) for a in args]
    kw = [f"{k}={name(v)}" for k, v in reversed(kwargs.items())]
    got = ", ".join(pos + kw) if pos else "".join(k + ", " for k in kw)
    return TypeError(f"to() received an invalid combination of arguments - got ({got})"
                     + _TO_SIGNATURES)


def _parse_to(args, kwargs):
    """torch's three signatures of to(): (device=None, dtype=None, non_blocking=False,
    copy=False), (dtype, non_blocking=False, copy=False) and (tensor, non_blocking=False,
    copy=False), each with a keyword-only memory_format; a string is a device."""
    if len(args) == 1 and not kwargs:       # (the common calls first)
        a = args[0]
        if type(a) is _dtype.dtype:
            return None, a, False
        if type(a) is str or isinstance(a, _device_cls):
            return a, None, False
    elif not args and len(kwargs) == 1 and type(kwargs.get("dtype")) is _dtype.dtype:
        return None, kwargs["dtype"], False
    dev = dtype = None
    rest = args
    if args:
        a = args[0]
        if isinstance(a, Tensor):
            dev, dtype, rest = a.device, a.dtype, args[1:]
            if "device" in kwargs or "dtype" in kwargs:
                raise _to_arg_error(args, kwargs)
        elif _is_to_dtype(a):
            dtype, rest = a, args[1:]
            if "device" in kwargs or "dtype" in kwargs:
                raise _to_arg_error(args, kwargs)
        elif a is None or isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            dev, rest = a, args[1:]
            if rest:                # (positionally, only a dtype follows a device)
                if not (rest[0] is None or _is_to_dtype(rest[0])):
                    raise _to_arg_error(args, kwargs)
                dtype, rest = rest[0], rest[1:]
        else:
            raise _to_arg_error(args, kwargs)
    copy = False
    if rest:                    # non_blocking, copy
        if len(rest) > 2 or type(rest[0]) is not bool or type(rest[-1]) is not bool:
            raise _to_arg_error(args, kwargs)
        copy = rest[1] if len(rest) == 2 else False
    if kwargs:
        for k, v in kwargs.items():
            ok = (k == "device" and not rest and len(args) < 1 and (
                      v is None or isinstance(v, (str, _device_cls, int))
                      and not isinstance(v, bool))
                  or k == "dtype" and len(args) < 2 and (v is None or _is_to_dtype(v))
                  or k in ("non_blocking", "copy") and type(v) is bool
                  and len(rest) < (1 if k == "non_blocking" else 2)
                  or k == "memory_format" and (v is None or isinstance(v, _mformat))
                  or k == "tensor" and not args and isinstance(v, Tensor)
                  and "device" not in kwargs and "dtype" not in kwargs)
            if not ok:
                raise _to_arg_error(args, kwargs)
        if "tensor" in kwargs:
            dev, dtype = kwargs["tensor"].device, kwargs["tensor"].dtype
        dev = kwargs.get("device", dev)
        dtype = kwargs.get("dtype", dtype)
        copy = kwargs.get("copy", copy)
    return dev, (None if dtype is None else _to_dtype(dtype)), copy


def _to(self, *args, **kwargs):
    fmt = kwargs.get("memory_format")
    dev, dtype, copy = _parse_to(args, kwargs)
    be = self.be if dev is None else _backend_of(dev, True)
    t = self
    if be is not self.be and be.device != self.be.device:   # (a nested tensor: a CPU device)
        t = _to_device(t, be)
    if dtype is not None and dtype.np != t.arr.dtype:
        # an integer or bool result carries no gradient (torch: not differentiable)
        t = _TO_COPY(t if dtype.is_floating_point or dtype.is_complex else t.detach(), dtype.np)
    elif copy and t is self:
        from .shape import clone
        t = clone(t)
    if fmt is not None:
        from .._memory_format import _suggests_cl, contiguous_format, is_channels_last
        from .shape import _to_format, contiguous
        if is_channels_last(fmt):
            t = _to_format(t, fmt, alias="suggest")
        elif fmt is contiguous_format and (t is not self or _suggests_cl(t.arr)):
            t = contiguous(t)   # (torch aliases a tensor whose suggested format is contiguous)
    return t


@_op("to_device", saves=None, node="ToCopyBackward0")
def _to_device_op(xp, x):
    raise AssertionError("device transfers are applied by _to_device")


def _to_device(x, be):
    if x.be.name == "meta":
        x.be.to_host(x.arr)             # torch: no data to copy out of a meta tensor
    if be.name == "cuda" or x.be.name == "cuda":
        if type(x.arr) is NestedArray:
            raise NotImplementedError(_NESTED_CUDA)
        arr = be.from_host(x.be.to_host(x.arr)) if x.be.name != be.name else be.xp.asarray(x.arr)
    else:
        arr = x.arr.copy()      # cpu <-> mock: a real copy, as a device transfer would be
    t = _new(arr, be)
    if x._rg and _grad.enabled:
        t._rg = True
        t.grad_fn = _to_device_op.node_cls(_to_device_op, _back_to(x.be, be), be.xp, (),
                                           (x._edge(),), (x,), ())
    if _fw.level is not None:
        from ..autograd.forward_ad import set_tangent, tangent_of
        tan = tangent_of(x)
        if tan is not None:
            set_tangent(t, _to_device(tan, be))
    return t


def _back_to(src, dst):
    def bwd(xp, g):
        if src.name == "cuda" or dst.name == "cuda":
            return (src.from_host(dst.to_host(g)),)
        return (g.copy(),)
    return bwd


@_op("complex", saves=None)
def _complex(xp, re, im):
    out = xp.empty(np.broadcast_shapes(re.shape, im.shape),
                   np.complex128 if re.dtype == np.float64 else np.complex64)
    out.real, out.imag = re, im      # (re + 1j * im would turn an imaginary -0.0 into +0.0)
    return out, ()


_complex.vjp(lambda xp, g: (g.real, g.imag))


def complex(real, imag, *, out=None):
    """real + i imag, differentiable through both parts (the gradients are Re g and Im g)."""
    from ._apply import _tname, apply
    from .elementwise import _shape_error
    for pos, (name, t) in enumerate((("real", real), ("imag", imag)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument '{name}' (position {pos}) must be Tensor, "
                            f"not {type(t).__name__}")
    if real.arr.dtype.kind != "f" or imag.arr.dtype.kind != "f":
        names = [_tname(t.arr.dtype) for t in (real, imag)]
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{names[0]} and {names[1]}")
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {_tname(real.arr.dtype)} but got "
                           f"scalar type {_tname(imag.arr.dtype)} for second argument")
    if real.arr.dtype == np.float16:
        raise RuntimeError("complex(): ComplexHalf (complex32) is not supported by ember")
    try:
        np.broadcast_shapes(real.shape, imag.shape)
    except ValueError:
        raise _shape_error(real.arr, imag.arr) from None
    result = apply(_complex, (real, imag))
    if out is not None:
        from ._apply import _finish
        if isinstance(out, Tensor) and out.arr.dtype != result.arr.dtype:
            raise RuntimeError(f"Expected object of scalar type {_tname(result.arr.dtype)} but "
                               f"got scalar type {_tname(out.arr.dtype)} for argument 'out'")
        result = _finish(result, out, "complex")
    return result


from ._apply import make_unary as _mu  # noqa: E402

_TO_COPY = _mu(_to_copy)


# ---- legacy typed constructors: torch.FloatTensor(2, 3), torch.LongTensor([1, 2]) ----------------
class tensortype(type):
    """The metaclass of torch.FloatTensor & co. (torch.tensortype): calling one constructs a
    tensor of its dtype and device type, isinstance(t, torch.FloatTensor) checks both, and
    t.type(torch.DoubleTensor) converts."""

    def __call__(cls, *args, device=None):
        want = "cuda" if cls.is_cuda else "cpu"
        if cls.is_cuda:
            from .. import cuda
            if not cuda.is_available():
                raise TypeError(f"type {cls.__module__}.{cls.__name__} not available. Torch not "
                                "compiled with CUDA enabled.")
        if device is not None and _device_cls(device).type != want:
            raise RuntimeError(f"legacy constructor expects device type: {want} but device "
                               f"type: {_device_cls(device).type} was passed")
        return Tensor(*args, dtype=cls.dtype, device=device or want)

    def __instancecheck__(cls, other):
        return isinstance(other, Tensor) and other.dtype is cls.dtype and \
            (other.device.type == "cuda") == cls.is_cuda and not other.is_sparse

    def __repr__(cls):
        return f"<class '{cls.__module__}.{cls.__name__}'>"


tensortype.__module__ = "torch"


def _legacy(name, dt, module="torch"):
    cls = tensortype(name, (), {"dtype": getattr(_dtype, dt), "is_cuda": module == "torch.cuda",
                                "is_sparse": False, "layout": _dtype_layout()})
    cls.__module__ = module
    return cls


def _dtype_layout():
    from .._layout import strided
    return strided


# torch.FloatTensor & co.: name -> ember dtype attribute (set_default_tensor_type reads it too)
LEGACY_TENSOR_TYPES = {"FloatTensor": "float32", "DoubleTensor": "float64",
                       "HalfTensor": "float16", "BFloat16Tensor": "bfloat16",
                       "LongTensor": "int64", "IntTensor": "int32", "ShortTensor": "int16",
                       "CharTensor": "int8", "ByteTensor": "uint8", "BoolTensor": "bool_"}
globals().update({n: _legacy(n, dt) for n, dt in LEGACY_TENSOR_TYPES.items()})
CUDA_TENSOR_TYPES = {n: _legacy(n, dt, "torch.cuda") for n, dt in LEGACY_TENSOR_TYPES.items()}


from . import _views  # noqa: E402,F401  (installs the backward rule of copy_ for `self`)
