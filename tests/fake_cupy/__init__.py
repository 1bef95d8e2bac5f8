"""A CPU stand-in for CuPy 14, for tests only: `install()` puts it in sys.modules as `cupy`
(with cupy.cuda, cupy.random, cupy.linalg, cupy.fft, cupyx, cupyx.scipy.special), so that the
device-parametrised tests run on `cuda` without a GPU (tests/conftest.py installs it when the
environment has EMBER_FAKE_CUPY=1; never by default, never from ember).

It checks how ember *uses* CuPy, not CUDA numerics or speed. Its arrays behave like CuPy's where
ember could get it wrong:
- `cupy.ndarray` is its own type (a wrapper around a NumPy array, not a subclass), so
  `type(a) is np.ndarray` and `xp is np` are False;
- `np.asarray(a)` / `np.array(a)` raise CuPy's TypeError ("Implicit conversion to a NumPy
  array is not allowed"), `.get()` copies to the host;
- reductions and integer indexing give 0-d arrays, not NumPy scalars; `operator.index(a)` is a
  TypeError (CuPy arrays have no __index__);
- NumPy functions and ufuncs called on them dispatch to this namespace (__array_function__ /
  __array_ufunc__), and a host NumPy array among the operands of a ufunc or namespace function
  is CuPy's TypeError "Unsupported type <class 'numpy.ndarray'>" (the creation functions, array
  methods and indexing take host data, as CuPy's do);
- only the names real CuPy 14 has exist (cupy14_api.json, dumped from cupy-cuda12x 14.2 with
  dir(); a name CuPy lacks is an AttributeError), and the keywords of CuPy's Python-level
  functions are checked against their signatures there.

CUDA kernels (ElementwiseKernel, RawModule, ...) are not emulated: their constructors raise
NotImplementedError, and install() turns ember's fused kernels off (EMBER_CUDA_FUSED=0), so
`cuda` runs the generic xp path. CUDA graph capture is not emulated either (Stream.begin_capture
raises NotImplementedError)."""
import contextlib
import ctypes
import functools
import json
import os
import sys
import types
import weakref

import numpy as np

API = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "cupy14_api.json")))
_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
             "construct a NumPy array explicitly.")
_CREATION = frozenset(("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray",
                       "frombuffer", "fromfunction", "fromiter", "fromstring", "fromfile",
                       "loadtxt", "genfromtxt", "load", "asnumpy", "get_array_module",
                       "from_dlpack", "isscalar", "ndim", "shape", "size", "result_type",
                       "can_cast", "min_scalar_type", "common_type", "save", "savez",
                       "savez_compressed", "iscomplexobj", "isrealobj"))


class _NotEmulated:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"fake CuPy: {self.name} is not emulated")


# ---- the array ---------------------------------------------------------------------------
class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[key])


class Memory:
    """One allocation: the NumPy array that owns the bytes (`root`), as bytes (`raw`)."""
    __slots__ = ("root", "raw", "ptr", "size", "device_id", "__weakref__")

    def __init__(self, root):
        self.root = root
        self.raw = root.reshape(-1, order="A").view(np.uint8)
        self.ptr, self.size, self.device_id = root.ctypes.data, root.nbytes, 0


_MEMS = weakref.WeakValueDictionary()     # id(root) -> its Memory, one per live allocation


def _memory(a):
    while True:
        b = a.base
        if isinstance(b, np.ndarray):
            a = b
        elif isinstance(getattr(b, "base", None), np.ndarray):    # as_strided's DummyArray
            a = b.base
        else:
            break
    m = _MEMS.get(id(a))
    if m is None:
        m = _MEMS[id(a)] = Memory(a)
    return m


class MemoryPointer:
    """cupy.cuda.MemoryPointer: an allocation and a byte offset into it."""
    __slots__ = ("mem", "ptr", "device_id")

    def __init__(self, mem, offset):
        self.mem, self.ptr, self.device_id = mem, mem.ptr + offset, 0

    def __add__(self, offset):
        return MemoryPointer(self.mem, self.ptr - self.mem.ptr + offset)

    @property
    def device(self):
        return Device(0)


_LIVE = weakref.WeakValueDictionary()     # the arrays that own their memory ("allocations")
_HOOKS = []


_WRAPPERS = weakref.WeakValueDictionary()   # id(NumPy array) -> its one live wrapper


def _check_dtype(d):
    """CuPy's arrays take NumPy's own dtypes and ml_dtypes' bfloat16, no other user dtype (the
    float8s): its ValueError."""
    if d.num >= 256 and d.name != "bfloat16":
        raise ValueError(f"Unsupported dtype {d}")


def _new(a):
    """The fake array over NumPy array `a`: one wrapper per live array, so that `x.base` is
    the same object each time, as CuPy's."""
    r = _WRAPPERS.get(id(a))
    if r is not None and r._a is a:
        return r
    _check_dtype(a.dtype)
    r = object.__new__(ndarray)
    r._a = a
    _WRAPPERS[id(a)] = r
    if a.base is None and id(a) not in _LIVE:
        _LIVE[id(a)] = a
        for hook in _HOOKS:
            hook.alloc_postprocess(device_id=0, mem_size=a.nbytes, mem_ptr=a.ctypes.data)
    return r


def _wrap(x, ids):
    """NumPy results as fake arrays: arrays and NumPy scalars (0-d arrays, as CuPy gives),
    recursively in tuples and lists; an unwrapped input comes back as its own wrapper."""
    if isinstance(x, np.ndarray):
        w = ids.get(id(x))
        return w if w is not None else _new(x)
    if isinstance(x, np.generic):
        return _new(np.asarray(x))
    if isinstance(x, (tuple, list)):
        items = [_wrap(v, ids) for v in x]
        if type(x) in (tuple, list):
            return type(x)(items)
        return type(x)(*items)          # a namedtuple (slogdet, svd, ...)
    return x


def _unwrap(x, strict, ids, copy_host=False):
    if type(x) is ndarray:
        ids[id(x._a)] = x
        return x._a
    if isinstance(x, np.ndarray) or (strict and hasattr(type(x), "__array_ufunc__")):
        if strict:      # a host array, or another array type (CuPy does not dispatch to it)
            raise TypeError(f"Unsupported type {type(x)}")
        return x.copy() if copy_host else x
    if type(x) in (tuple, list):
        return type(x)(_unwrap(v, strict, ids, copy_host) for v in x)
    return x


def _index(key, shape=None):
    """An index for the host array: fake arrays (also inside tuples) unwrapped. With the
    array's `shape`, integer-array indices wrap around as CuPy's do (no bounds error) where
    each index entry is one dim (no None, Ellipsis or boolean arrays)."""
    if type(key) is ndarray:
        key = key._a
    elif type(key) is tuple:
        key = tuple(k._a if type(k) is ndarray else k for k in key)
    elif type(key) is list:
        return [k._a if type(k) is ndarray else k for k in key]
    if shape is None:
        return key
    keys = key if type(key) is tuple else (key,)
    if len(keys) <= len(shape) and not any(
            k is None or k is Ellipsis or (isinstance(k, np.ndarray) and k.dtype.kind == "b")
            for k in keys):
        keys = tuple(k % shape[d] if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and
                     shape[d] else k for d, k in enumerate(keys))
        key = keys if type(key) is tuple else keys[0]
    return key


class ndarray:
    """cupy.ndarray over a NumPy array."""
    __module__ = "cupy"
    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        _check_dtype(np.dtype(dtype))
        if memptr is None:
            self._a = np.empty(shape, dtype, order=order)
        else:       # a view of the allocation memptr points into
            self._a = np.ndarray(shape, dtype, buffer=memptr.mem.raw,
                                 offset=memptr.ptr - memptr.mem.ptr, strides=strides)

    # -- no implicit host conversion; explicit transfers
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if type(arr) is ndarray or not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError("Shape or dtype mismatch")
        self._a[...] = arr

    # -- protocols
    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        fake = _UFUNCS.get(uf.__name__)
        if fake is None and method == "__call__":      # matmul: a gufunc function in CuPy
            fake = getattr(_CUPY, uf.__name__, None)
        if fake is None:
            return NotImplemented
        if method == "__call__":
            return fake(*inputs, **kwargs)
        return getattr(fake, method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        mod = _MODULES.get(func.__module__)
        f = getattr(mod, func.__name__, None) if mod is not None else None
        if f is None or f is func:
            return NotImplemented
        return f(*args, **kwargs)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.ctypes.data, False),
                "strides": None if self._a.flags.c_contiguous else self._a.strides}

    # -- attributes CuPy defines its own way
    @property
    def flags(self):
        return _Flags(self._a)

    @property
    def data(self):
        mem = _memory(self._a)
        return MemoryPointer(mem, self._a.ctypes.data - mem.ptr)

    @property
    def device(self):
        return Device(0)

    @property
    def base(self):
        b = self._a.base
        return _new(b) if isinstance(b, np.ndarray) else None

    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def real(self):
        return _new(self._a.real)

    @real.setter
    def real(self, value):          # CuPy's real and imag take assignments, as NumPy's
        self._a.real = value._a if type(value) is ndarray else value

    @property
    def imag(self):
        return _new(self._a.imag)

    @imag.setter
    def imag(self, value):
        self._a.imag = value._a if type(value) is ndarray else value

    def reduced_view(self, dtype=None):
        return _new(self._a.reshape(self._a.shape))

    def scatter_add(self, slices, value):
        scatter_add(self, slices, value)

    def scatter_max(self, slices, value):
        scatter_max(self, slices, value)

    def scatter_min(self, slices, value):
        scatter_min(self, slices, value)

    # -- Python protocols
    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a[()] if self._a.ndim == 0 else self._a, spec)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key):
        key = _index(key, self._a.shape)
        r = self._a[key]
        if isinstance(r, np.generic):       # CuPy gives a 0-d view, not a scalar
            k = key if type(key) is tuple else (key,)
            r = self._a[k + (Ellipsis,)]
        return _new(r)

    def __setitem__(self, key, value):
        self._a[_index(key, self._a.shape)] = value._a if type(value) is ndarray else value

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __copy__(self):
        return _new(self._a.copy())

    def __deepcopy__(self, memo):
        return _new(self._a.copy())

    def __reduce__(self):
        return (_rebuild, (self._a,))

    def __dlpack__(self, *args, **kwargs):
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def _rebuild(a):
    return _new(a)


def _binary(name, reflected=False, inplace=False):
    def op(self, other):
        if not isinstance(other, (ndarray, np.generic, int, float, complex, bool)):
            # CuPy's _should_use_rop: the reflected operator of a higher-priority non-array
            if getattr(other, "__array_priority__", 0) > ndarray.__array_priority__:
                return NotImplemented
            raise TypeError(f"Unsupported type {type(other)}")
        uf = _UFUNCS.get(name) or getattr(_CUPY, name)
        if inplace:
            return uf(self, other, out=self)
        return uf(other, self) if reflected else uf(self, other)
    return op


def _compare(name):
    def op(self, other):
        try:
            return _UFUNCS[name](self, other)
        except TypeError:
            return NotImplemented
    return op


for _op, _uf in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                 ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "remainder"),
                 ("pow", "power"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                 ("xor", "bitwise_xor"), ("lshift", "left_shift"), ("rshift", "right_shift"),
                 ("matmul", "matmul")):
    setattr(ndarray, f"__{_op}__", _binary(_uf))
    setattr(ndarray, f"__r{_op}__", _binary(_uf, reflected=True))
    setattr(ndarray, f"__i{_op}__", _binary(_uf, inplace=True))
for _op, _uf in (("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                 ("gt", "greater"), ("ge", "greater_equal")):
    setattr(ndarray, f"__{_op}__", _compare(_uf))
for _op, _uf in (("neg", "negative"), ("pos", "positive"), ("abs", "absolute"),
                 ("invert", "invert")):
    setattr(ndarray, f"__{_op}__", (lambda u: lambda self: _UFUNCS[u](self))(_uf))
ndarray.__divmod__ = lambda self, o: _UFUNCS["divmod"](self, o)
ndarray.__rdivmod__ = lambda self, o: _UFUNCS["divmod"](o, self)


def _method(name):
    meth = getattr(np.ndarray, name)

    def call(self, *args, **kwargs):
        ids = {id(self._a): self}
        args = _unwrap(args, False, ids)
        kwargs = {k: _unwrap(v, False, ids) for k, v in kwargs.items()}
        return _wrap(meth(self._a, *args, **kwargs), ids)
    call.__name__ = name
    return call


def _attribute(name):
    def get(self):
        return _wrap(getattr(self._a, name), {id(self._a): self})
    return property(get)


for _name in API["cupy.ndarray"]:
    if _name.startswith("__") or _name in vars(ndarray) or not hasattr(np.ndarray, _name):
        continue
    if callable(getattr(np.ndarray, _name)):
        setattr(ndarray, _name, _method(_name))
    else:
        setattr(ndarray, _name, _attribute(_name))
ndarray.tolist = lambda self: self._a.tolist()
ndarray.item = lambda self, *args: self._a.item(*args)
ndarray.tobytes = lambda self, order="C": self._a.tobytes(order)


# ---- functions and ufuncs ----------------------------------------------------------------
def _function(qualname, f, strict=True):
    name = qualname.rsplit(".", 1)[1]
    params = API["signatures"].get(qualname)
    copy_host = name in ("array", "asarray", "asanyarray", "ascontiguousarray",
                         "asfortranarray")

    @functools.wraps(f)
    def call(*args, **kwargs):
        if params is not None:
            for k in kwargs:
                if k not in params:
                    raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
        ids = {}
        args = _unwrap(args, strict, ids, copy_host)
        kwargs = {k: _unwrap(v, strict, ids, copy_host) for k, v in kwargs.items()}
        return _wrap(f(*args, **kwargs), ids)
    return call


class ufunc:
    """cupy.ufunc over NumPy's (keywords: out, dtype, casting, as CuPy's)."""
    __module__ = "cupy"
    _KEYWORDS = frozenset(("out", "dtype", "casting"))

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = self.name = uf.__name__
        self.nin, self.nout, self.nargs, self.types = uf.nin, uf.nout, uf.nargs, uf.types

    def _run(self, f, args, kwargs):
        ids = {}
        args = _unwrap(args, True, ids)
        kwargs = {k: _unwrap(v, True, ids) for k, v in kwargs.items()}
        return _wrap(f(*args, **kwargs), ids)

    def __call__(self, *args, **kwargs):
        bad = set(kwargs) - self._KEYWORDS
        if bad:
            raise TypeError(f"Wrong arguments {kwargs}")
        if type(kwargs.get("out")) is tuple and len(kwargs["out"]) == 1:
            kwargs["out"] = kwargs["out"][0]
        return self._run(self._uf, args, kwargs)

    def __repr__(self):
        return f"<ufunc '{self.name}'>"


for _m in API["cupy.ufunc"]:
    if callable(getattr(np.ufunc, _m, None)):
        setattr(ufunc, _m, (lambda m: lambda self, *a, **k: self._run(
            getattr(self._uf, m), a, k))(_m))


def _ufunc_of(name):
    uf = getattr(np, name, None)
    if name == "divide":
        uf = np.true_divide
    return ufunc(uf) if isinstance(uf, np.ufunc) else None


_UFUNCS = {n: u for n in API["ufuncs"] if (u := _ufunc_of(n)) is not None}
_UFUNCS["true_divide"] = _UFUNCS.get("true_divide") or ufunc(np.true_divide)
_UFUNCS["divide"] = _UFUNCS["true_divide"]
_UFUNCS["abs"] = _UFUNCS["absolute"]


def _populate(mod, qual, names, source, strict=True):
    for name in names:
        if name in vars(mod):
            continue
        if name in _UFUNCS and qual == "cupy":
            setattr(mod, name, _UFUNCS[name])
            continue
        obj = getattr(source, name, None)
        if obj is None:
            setattr(mod, name, _NotEmulated(f"{qual}.{name}"))
        elif qual == "cupy" and name in API["same_as_numpy"]:
            setattr(mod, name, obj)
        elif isinstance(obj, type) and issubclass(obj, Exception):
            setattr(mod, name, obj)
        elif callable(obj) and not isinstance(obj, type):
            setattr(mod, name, _function(f"{qual}.{name}", obj,
                                         strict and name not in _CREATION))
        elif isinstance(obj, (int, float)) or obj is None:
            setattr(mod, name, obj)
        else:
            setattr(mod, name, _NotEmulated(f"{qual}.{name}"))


# ---- cupy.cuda ---------------------------------------------------------------------------
class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self.compute_capability = "90"

    def use(self):
        pass

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class CUDARuntimeError(RuntimeError):
    pass


class Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.ptr = 0 if null else id(self)

    def synchronize(self):
        pass

    def use(self):
        _CURRENT[0] = self
        return self

    def is_capturing(self):
        return False

    def begin_capture(self, mode=None):
        raise NotImplementedError("fake CuPy: CUDA graph capture is not emulated")

    def wait_event(self, event):
        pass

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    @property
    def done(self):
        return True

    def __enter__(self):
        self._prev = _CURRENT[0]
        _CURRENT[0] = self
        return self

    def __exit__(self, *exc):
        _CURRENT[0] = self._prev
        return False


class ExternalStream(Stream):
    def __init__(self, ptr, device_id=-1):
        self.ptr = ptr


Stream.null = Stream(null=True)
_CURRENT = [Stream.null]


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.disable_timing = disable_timing
        self.time = None

    def record(self, stream=None):
        import time
        self.time = time.perf_counter()

    def synchronize(self):
        pass

    @property
    def done(self):
        return True


def get_elapsed_time(start, end):
    if start.disable_timing or end.disable_timing:
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: invalid resource handle")
    return (end.time - start.time) * 1e3


class MemoryPool:
    """used_bytes: the live arrays that own their memory; total_bytes: the most used since
    the last free_all_blocks (a pool keeps what it freed)."""
    def __init__(self, allocator=None):
        self.limit = 0
        self.held = 0

    def used_bytes(self):
        return sum(a.nbytes for a in list(_LIVE.values()))

    def total_bytes(self):
        self.held = max(self.held, self.used_bytes())
        return self.held

    def free_bytes(self):
        return self.total_bytes() - self.used_bytes()

    def free_all_blocks(self, stream=None):
        self.held = self.used_bytes()

    def n_free_blocks(self):
        return 0

    def set_limit(self, size=None, fraction=None):
        self.limit = size if size is not None else int((fraction or 0) * _TOTAL_MEM)

    def get_limit(self):
        return self.limit


class PinnedMemoryPool(MemoryPool):
    pass


class MemoryHook:
    name = "MemoryHook"

    def alloc_postprocess(self, **kwargs):
        pass

    def __enter__(self):
        _HOOKS.append(self)
        return self

    def __exit__(self, *exc):
        _HOOKS.remove(self)
        return False


_TOTAL_MEM = 80 * 2 ** 30
_PROPS = {"name": b"Fake CuPy device (CPU)", "totalGlobalMem": _TOTAL_MEM, "major": 9,
          "minor": 0, "multiProcessorCount": 132, "warpSize": 32, "uuid": b"\0" * 16,
          "l2CacheSize": 50 * 2 ** 20, "pciBusID": 0, "pciDeviceID": 0, "pciDomainID": 0,
          "integrated": 0, "isMultiGpuBoard": 0}


def _cuda_module():
    runtime = types.ModuleType("cupy.cuda.runtime")
    runtime.getDeviceCount = lambda: 1
    runtime.getDevice = lambda: 0
    runtime.setDevice = lambda i: Device(i) and None
    runtime.getDeviceProperties = lambda i: dict(Device(i) and _PROPS)
    runtime.memGetInfo = lambda: (_TOTAL_MEM, _TOTAL_MEM)
    runtime.runtimeGetVersion = lambda: 12080
    runtime.driverGetVersion = lambda: 12080
    runtime.deviceSynchronize = lambda: None
    runtime.deviceCanAccessPeer = lambda a, b: 0
    runtime.CUDARuntimeError = CUDARuntimeError
    runtime.is_hip = False
    nvtx = types.ModuleType("cupy.cuda.nvtx")
    nvtx.RangePush = nvtx.Mark = lambda message, id_color=-1, argb_color=None: None
    nvtx.RangePop = lambda: None
    device = types.ModuleType("cupy.cuda.device")
    device.Device = Device
    device.get_device_id = lambda: 0
    device.get_cublas_handle = lambda: 1
    cuda = types.ModuleType("cupy.cuda")
    cuda.runtime, cuda.nvtx, cuda.device = runtime, nvtx, device
    cuda.Device, cuda.Stream, cuda.ExternalStream, cuda.Event = Device, Stream, ExternalStream, \
        Event
    cuda.MemoryPool, cuda.PinnedMemoryPool, cuda.MemoryHook = MemoryPool, PinnedMemoryPool, \
        MemoryHook
    cuda.MemoryPointer, cuda.Memory = MemoryPointer, Memory
    cuda.get_current_stream = lambda device_id=-1: _CURRENT[0]
    cuda.get_elapsed_time = get_elapsed_time
    cuda.get_device_id = lambda: 0
    cuda.is_available = lambda: True
    cuda.get_cublas_handle = device.get_cublas_handle
    cuda.Graph = _NotEmulated("cuda.Graph")
    cuda.profile = contextlib.nullcontext
    return cuda


# ---- cuBLAS through ctypes (ember.backends.cuda_blas) ----------------------------------------
def _host_matrix(ptr, dtype, rows, cols, ld):
    """The column-major rows x cols matrix with leading dimension ld at address ptr."""
    it = dtype.itemsize
    extent = ((rows - 1) + (cols - 1) * ld + 1) * it
    buf = (ctypes.c_char * extent).from_address(ptr)
    return np.ndarray((rows, cols), dtype, buffer=buf, strides=(it, ld * it))


class Cublas:
    """What ember's cuda_blas calls of libcublas, on the host addresses of the fake's arrays:
    cublasGemmStridedBatchedEx computes C = alpha op(A) op(B) (column-major, beta 0) in the
    compute type, so a wrong transpose flag, leading dimension or stride gives wrong values."""
    _TYPES = {2: np.dtype(np.float16), 0: np.dtype(np.float32), 1: np.dtype(np.float64)}
    _COMPUTE = {68: np.float32, 70: np.float64}

    def __init__(self):
        import ml_dtypes
        self._TYPES = {**self._TYPES, 14: np.dtype(ml_dtypes.bfloat16)}

    def cublasSetStream_v2(self, handle, stream):
        return 0

    def cublasGemmStridedBatchedEx(self, handle, transa, transb, m, n, k, alpha, a, atype, lda,
                                   sa, b, btype, ldb, sb, beta, c, ctype, ldc, sc, batch,
                                   compute, algo):
        assert atype == btype == ctype and algo == -1 and transa in (0, 1) and transb in (0, 1)
        dt, acc = self._TYPES[atype], self._COMPUTE[compute]
        it = dt.itemsize
        alpha, beta = alpha._obj.value, beta._obj.value
        assert beta == 0 and lda >= max(1, m if transa == 0 else k) and \
            ldb >= max(1, k if transb == 0 else n) and ldc >= max(1, m)
        for i in range(batch):
            am = _host_matrix(a + i * sa * it, dt, *((m, k) if transa == 0 else (k, m)), lda)
            bm = _host_matrix(b + i * sb * it, dt, *((k, n) if transb == 0 else (n, k)), ldb)
            cm = _host_matrix(c + i * sc * it, dt, m, n, ldc)
            am, bm = am if transa == 0 else am.T, bm if transb == 0 else bm.T
            cm[...] = (alpha * (am.astype(acc) @ bm.astype(acc))).astype(dt)
        return 0


# ---- cupy.random -------------------------------------------------------------------------
class _Restricted:
    """A NumPy random object behind CuPy's method names only, results as fake arrays."""
    _NAMES = ()

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        if name not in self._NAMES:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        f = getattr(self._inner, name)

        def call(*args, **kwargs):
            ids = {}
            args = _unwrap(args, True, ids)
            kwargs = {k: _unwrap(v, True, ids) for k, v in kwargs.items()}
            return _wrap(f(*args, **kwargs), ids)
        return call


class Generator(_Restricted):
    _NAMES = frozenset(API["cupy.random.Generator"])


def default_rng(seed=None):
    return Generator(np.random.default_rng(seed))


def _random_module():
    mod = types.ModuleType("cupy.random")
    mod.default_rng, mod.Generator = default_rng, Generator
    _populate(mod, "cupy.random", API["cupy.random"], np.random)
    return mod


# ---- cupyx -------------------------------------------------------------------------------
def _scatter(uf):
    def scatter(a, slices, value):
        uf.at(a._a, _index(slices), value._a if type(value) is ndarray else value)
    return scatter


scatter_add, scatter_max, scatter_min = (_scatter(u) for u in (np.add, np.maximum, np.minimum))


def _cupyx_module():
    import scipy.special
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add, cupyx.scatter_max, cupyx.scatter_min = scatter_add, scatter_max, \
        scatter_min
    cupyx.errstate, cupyx.seterr, cupyx.geterr = np.errstate, np.seterr, np.geterr
    cupyx.rsqrt = ufunc(np.frompyfunc(lambda v: 1 / np.sqrt(v), 1, 1))
    _populate(cupyx, "cupyx", API["cupyx"], types.SimpleNamespace())
    special = types.ModuleType("cupyx.scipy.special")
    _populate(special, "cupyx.scipy.special", API["cupyx.scipy.special"], scipy.special)
    scipy_mod = types.ModuleType("cupyx.scipy")
    scipy_mod.special = special
    cupyx.scipy = scipy_mod
    return cupyx, scipy_mod, special


# ---- the cupy module ---------------------------------------------------------------------
def _asnumpy(a, stream=None, order="C", out=None, blocking=True):
    return a.get(order=order, out=out) if type(a) is ndarray else np.asarray(a, order=order)


def _get_array_module(*args):
    return _CUPY if any(type(a) is ndarray for a in args) else np


def _kernel(kind):
    def make(*args, **kwargs):
        raise NotImplementedError(f"fake CuPy: {kind} (compiled CUDA code) is not emulated")
    return make


_CUPY = types.ModuleType("cupy", "fake CuPy 14 (tests/fake_cupy): NumPy behind CuPy's API")
_MODULES = {}


def _cusolver(linalg):
    """inv, solve and cholesky as CuPy's: no LinAlgError for singular or indefinite input
    (cuSOLVER's info is ignored by default: NaNs here), and solve's operands must share their
    batch shape (CuPy does not broadcast them)."""
    def quiet(f, shape_of):
        def call(*args):
            try:
                return f(*args)
            except np.linalg.LinAlgError:
                return _new(np.full(shape_of(*args), np.nan, args[0].dtype))
        return call

    def solve_shape(a, b):
        if b.ndim > 1 and a.shape[:-1] != b.shape[:-1]:
            raise ValueError("a must have (..., M, M) shape and b must have (..., M, K) shape")
        return b.shape
    inv, solve = linalg.inv, linalg.solve
    linalg.inv = quiet(inv, lambda a: a.shape)
    linalg.cholesky = quiet(linalg.cholesky, lambda a: a.shape)
    linalg.solve = quiet(lambda a, b: solve(a, b) if solve_shape(a, b) else None, solve_shape)


def namespace():
    """The fake `cupy` module, built once (without installing it: tests of the fake)."""
    return _CUPY if hasattr(_CUPY, "ndarray") else _build()


def _build():
    cp = _CUPY
    cp.__version__ = API["__version__"]
    cp.ndarray, cp.ufunc = ndarray, ufunc
    cp.asnumpy, cp.get_array_module = _asnumpy, _get_array_module
    for kind in ("ElementwiseKernel", "ReductionKernel", "RawKernel", "RawModule"):
        setattr(cp, kind, _kernel(kind))
    cp.fuse = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
    pool, pinned = MemoryPool(), PinnedMemoryPool()
    cp.get_default_memory_pool = lambda: pool
    cp.get_default_pinned_memory_pool = lambda: pinned
    cp.is_available = lambda: True
    cp.cuda = _cuda_module()
    cp.random = _random_module()
    _populate(cp, "cupy", API["cupy"], np)
    for sub, src in (("linalg", np.linalg), ("fft", np.fft)):
        mod = types.ModuleType("cupy." + sub)
        _populate(mod, "cupy." + sub, API["cupy." + sub], src)
        setattr(cp, sub, mod)
    _cusolver(cp.linalg)
    lib = types.ModuleType("cupy.lib")
    lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
    _populate(lib.stride_tricks, "cupy.lib.stride_tricks", ("as_strided", "sliding_window_view"),
              np.lib.stride_tricks)
    cp.lib = lib
    _MODULES.update({"numpy": cp, "numpy.linalg": cp.linalg, "numpy.fft": cp.fft,
                     "numpy.random": cp.random})
    return cp


def installed():
    """Whether this fake is the `cupy` of the process."""
    return sys.modules.get("cupy") is _CUPY


def install():
    """Put the fake in sys.modules (cupy, cupy.*, cupyx, cupyx.scipy.special) and turn ember's
    fused CUDA kernels off (they need real compiled kernels)."""
    if sys.modules.get("cupy") is _CUPY:
        return _CUPY
    cp = namespace()
    cupyx, scipy_mod, special = _cupyx_module()
    sys.modules.update({"cupy": cp, "cupy.cuda": cp.cuda, "cupy.cuda.runtime": cp.cuda.runtime,
                        "cupy.cuda.nvtx": cp.cuda.nvtx, "cupy.cuda.device": cp.cuda.device,
                        "cupy.random": cp.random, "cupy.lib": cp.lib,
                        "cupy.lib.stride_tricks": cp.lib.stride_tricks,
                        "cupy.linalg": cp.linalg, "cupy.fft": cp.fft,
                        "cupyx": cupyx, "cupyx.scipy": scipy_mod,
                        "cupyx.scipy.special": special})
    os.environ["EMBER_CUDA_FUSED"] = "0"
    return cp
