"""torch.storage (ember.storage re-exports it): UntypedStorage, the bytes behind a tensor and
all its views (the root NumPy/CuPy buffer, shared, never copied), and TypedStorage, torch's
deprecated view of them as elements of one dtype (`tensor.storage()`, `torch.FloatStorage(...)`
& co.).

What differs from torch: a storage's `resize_` reallocates the storage object only; tensors
already viewing it keep the old memory (ember's tensors hold their NumPy array, not a storage)."""
import collections.abc
import io
import sys
import weakref

import numpy as np

from . import _dtype


def _root(a):
    """The outermost array owning `a`'s memory (looking through the non-array wrapper
    NumPy's as_strided puts in the `base` chain)."""
    root = a
    while getattr(a, "base", None) is not None:
        a = a.base
        if hasattr(a, "nbytes") and hasattr(a, "dtype"):
            root = a
    return root


class _RootSet:
    """Root buffers with a property, keyed by id. An entry holds a weak reference without a
    callback (a WeakValueDictionary's keyed references cost a microsecond per add, which
    from_numpy paid on every call): a dead buffer's entry answers None, never a later buffer
    at the same address, and dead entries are dropped whenever the table has doubled."""

    def __init__(self):
        self._roots = {}
        self._prune_at = 64

    def add(self, a):
        r = _root(a)
        try:
            self._roots[id(r)] = weakref.ref(r)
        except TypeError:       # (a buffer that takes no weak reference)
            return
        if len(self._roots) >= self._prune_at:
            self._roots = {k: ref for k, ref in self._roots.items() if ref() is not None}
            self._prune_at = max(64, 2 * len(self._roots))

    def __contains__(self, a):
        r = _root(a)
        ref = self._roots.get(id(r))
        return ref is not None and ref() is r


# moved to "shared memory" by share_memory_() (ember's CPU buffers are ordinary NumPy arrays;
# only the flag is tracked)
_SHARED = _RootSet()
_share, _is_shared = _SHARED.add, _SHARED.__contains__
# handed to ember (from_numpy, as_tensor of an ndarray, frombuffer): torch's storages over
# memory it was given cannot be resized
_FOREIGN = _RootSet()
adopt = _FOREIGN.add


def resizable(a):
    return a not in _FOREIGN


NOT_RESIZABLE = "Trying to resize storage that is not resizable"


# id(buffer) -> the live UntypedStorage over it (the storage keeps the buffer, so the id is
# not reused while the entry lasts)
_LIVE = weakref.WeakValueDictionary()

_TYPED_STORAGE_WARNING = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
    "the only storage class. This should only matter to you if you are using storages "
    "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
    "tensor.storage()")


def _warn_typed_storage_removal():
    """torch warns about TypedStorage once per process (its own flag, which set_warn_always
    does not set), at the line that used it."""
    from ._warnings import warn_once
    warn_once(_TYPED_STORAGE_WARNING, always=False)


def _backend(device):
    from .backends import get_backend
    return get_backend(device)


def _tensor_of(flat, device):
    """A 1-D tensor over `flat` (a view: writes reach the storage)."""
    from ._tensor import _new
    return _new(flat, _backend(device))


def _alloc_error(n):
    return RuntimeError(f"[enforce fail at alloc_cpu.cpp:98] ((ptrdiff_t)nbytes) >= 0. "
                        f"alloc_cpu() seems to have been called with negative number: "
                        f"{n % 2 ** 64}")


def _tp_name(obj):
    """The type name CPython's C code prints (NumPy's types with their module)."""
    t = type(obj)
    return f"numpy.{t.__name__}" if t.__module__ == "numpy" else t.__name__


def _check_byte(value, what):
    if type(value) is not int and not isinstance(value, (bool, np.integer)):
        raise RuntimeError(what + _tp_name(value) +
                           (" instead" if what.startswith("can only") else ""))
    return int(value) % 256


class UntypedStorage:
    """torch.UntypedStorage: bytes on one device. UntypedStorage(nbytes), UntypedStorage(sequence
    of ints) (each taken modulo 256), or a tensor's `untyped_storage()`, which shares its
    memory."""
    __slots__ = ("_arr", "device", "_filename", "__weakref__")
    is_sparse = False
    is_sparse_csr = False

    def __init__(self, *args, device=None):
        be = _backend(device)
        self.device, self._filename = be.device, None
        if len(args) > 1:
            raise TypeError(
                "torch.UntypedStorage() received an invalid combination of arguments - got ("
                + ", ".join(type(a).__name__ for a in args) + "), but expected one of:\n"
                " * (*, int allocator = None, torch.device device = None)\n"
                " * (int size, *, int allocator = None, torch.device device = None)\n"
                " * (object sequence, *, int allocator = None, torch.device device = None)\n")
        if not args:
            arr = be.xp.empty(0, np.uint8)
        elif isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool):
            if args[0] < 0:
                raise _alloc_error(int(args[0]))
            arr = be.xp.empty(int(args[0]), np.uint8)
        else:
            seq = args[0]
            from ._tensor import Tensor
            if isinstance(seq, (Tensor, str)) or not hasattr(seq, "__len__") or \
                    not hasattr(seq, "__getitem__"):
                raise RuntimeError(f"torch.UntypedStorage(): Expected a sequence type, but got "
                                   f"{_tp_name(seq)}")
            values = []
            for v in seq:
                if not isinstance(v, int):
                    raise RuntimeError(
                        f"torch.UntypedStorage(): tried to construct a storage from a sequence "
                        f"({_tp_name(seq)}), but one of the items was of type {_tp_name(v)} "
                        "instead of int")
                values.append(v % 256)
            arr = be.xp.asarray(np.array(values, np.uint8))
        self._arr = arr
        _LIVE[id(arr)] = self

    @classmethod
    def _wrap(cls, arr, device, filename=None):
        s = object.__new__(cls)
        s._arr, s.device, s._filename = arr, device, filename
        _LIVE[id(arr)] = s
        return s

    @classmethod
    def _of(cls, t):
        """The storage of tensor `t`: one Python object per buffer while it is referenced, as
        torch's (t.untyped_storage() is t.untyped_storage())."""
        root = _root(t.arr)
        s = _LIVE.get(id(root))
        return s if s is not None and s._arr is root else cls._wrap(root, t.device)

    def _flat(self, np_dtype):
        """The storage's bytes as a flat array of `np_dtype` (no copy; a tail too short for
        one element is left out)."""
        a = self._arr
        b = (a.reshape(-1) if a.flags.c_contiguous else a.ravel(order="K")).view(np.uint8)
        item = np.dtype(np_dtype).itemsize
        if b.size % item:
            b = b[:b.size - b.size % item]
        return b.view(np_dtype)

    # ---- sizes and places ---------------------------------------------------------------
    def data_ptr(self):
        a = self._arr
        return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") \
            else a.data.ptr

    def nbytes(self):
        return int(self._arr.nbytes)

    def size(self):
        return self.nbytes()

    def __len__(self):
        return self.nbytes()

    def element_size(self):
        return 1

    def get_device(self):
        return self.device.index

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def filename(self):
        """The file this storage maps (from_file(..., shared=True)), else None."""
        return self._filename

    def resizable(self):
        return resizable(self._arr)

    def untyped(self):
        return self

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch.storage.UntypedStorage"
        if dtype is UntypedStorage or dtype in ("torch.UntypedStorage",
                                                "torch.storage.UntypedStorage"):
            return self
        if isinstance(dtype, str):
            dtype = _legacy_class(dtype)
        return dtype(self.size()).copy_(self)

    # ---- elements -----------------------------------------------------------------------
    def __getitem__(self, idx):
        n = self.nbytes()
        if isinstance(idx, slice):
            start, stop, step = idx.indices(n)
            if step != 1:
                raise RuntimeError(f"Trying to slice with a step of {step}, but only a step of "
                                   "1 is supported")
            return UntypedStorage._wrap(self._flat(np.uint8)[start:max(start, stop)],
                                        self.device)
        if type(idx) is not int and not (isinstance(idx, np.integer)):
            raise TypeError(f"can't index a torch.UntypedStorage with {type(idx).__name__}")
        i = idx + n if idx < 0 else idx
        if not 0 <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return int(self._flat(np.uint8)[i])

    def __setitem__(self, idx, value):
        value = _check_byte(value, "can only set storage content with a int types, but got ")
        if isinstance(idx, slice):
            self._flat(np.uint8)[idx] = value
            return
        if type(idx) is not int and not (isinstance(idx, np.integer)):
            raise TypeError(f"can't index a torch.UntypedStorage with {type(idx).__name__}")
        if not 0 <= idx < self.nbytes():      # (torch does not wrap negative ones here)
            raise RuntimeError("out of bounds")
        self._flat(np.uint8)[idx] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        a = self._flat(np.uint8)
        return (a.get() if hasattr(a, "get") else a).tolist()

    def fill_(self, value):
        self._flat(np.uint8)[...] = _check_byte(value, "fill_ expects int, but got ")
        return self

    def copy_(self, source, non_blocking=None):
        """Byte for byte from another storage of the same number of bytes."""
        if isinstance(source, TypedStorage):
            source = source._untyped_storage
        if not isinstance(source, UntypedStorage):
            raise TypeError(f"copy_(): argument 'src' (position 1) must be torch.Storage, not "
                            f"{type(source).__name__}")
        if source.nbytes() != self.nbytes():
            raise RuntimeError(f"size does not match, self was {self.nbytes()} bytes but src "
                               f"was {source.nbytes()} bytes")
        dst, src = self._flat(np.uint8), source._flat(np.uint8)
        if type(dst) is type(src):
            dst[...] = src
        else:
            dst[...] = _backend(self.device).from_host(_backend(source.device).to_host(src))
        return self

    def clone(self):
        return UntypedStorage(self.nbytes(), device=self.device).copy_(self)

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        memo = memo.setdefault("torch", {})
        key = (self.data_ptr(), self.nbytes())
        if key not in memo:
            memo[key] = self.clone()
        return memo[key]

    def __reduce__(self):
        return _reduce(self)

    def __sizeof__(self):
        return object.__sizeof__(self) + self.nbytes()

    def cpu(self):
        return self if self.device.type == "cpu" else self.to(device="cpu")

    def to(self, *, device, non_blocking=False):
        be = _backend(device)
        if be.device == self.device:
            return self
        return UntypedStorage._wrap(be.from_host(_backend(self.device).to_host(
            self._flat(np.uint8))), be.device)

    def cuda(self, device=None, non_blocking=False):
        return self.to(device="cuda" if device is None else f"cuda:{int(device)}")

    def resize_(self, size):
        """Reallocate to `size` bytes, keeping the common prefix (see the module docstring)."""
        if size < 0:
            raise _alloc_error(size)
        if not resizable(self._arr):
            raise RuntimeError(NOT_RESIZABLE)
        old = self._flat(np.uint8)
        new = _backend(self.device).xp.empty(size, np.uint8)
        k = min(size, old.size)
        new[:k] = old[:k]
        self._arr, self._filename = new, None
        _LIVE[id(new)] = self
        return self

    # ---- sharing and pinning --------------------------------------------------------------
    def is_shared(self):
        return self.device.type == "cuda" or _is_shared(self._arr)

    def share_memory_(self):
        if self.device.type != "cuda":
            _share(self._arr)
        return self

    def is_pinned(self, device=None):
        return False

    def pin_memory(self, device=None):
        if self.device.type != "cpu":
            raise TypeError(f"cannot pin '{self.type()}' only CPU memory can be pinned")
        return _tensor_of(self._flat(np.uint8), self.device).pin_memory(device) \
            .untyped_storage()

    # ---- conversions ----------------------------------------------------------------------
    def _to(self, dtype):
        return _cast(self._flat(np.uint8), self.device, dtype)

    def double(self):
        return self._to(_dtype.float64)

    def float(self):
        return self._to(_dtype.float32)

    def half(self):
        return self._to(_dtype.float16)

    def bfloat16(self):
        return self._to(_dtype.bfloat16)

    def long(self):
        return self._to(_dtype.int64)

    def int(self):
        return self._to(_dtype.int32)

    def short(self):
        return self._to(_dtype.int16)

    def char(self):
        return self._to(_dtype.int8)

    def byte(self):
        return self._to(_dtype.uint8)

    def bool(self):
        return self._to(_dtype.bool_)

    def complex_float(self):
        return self._to(_dtype.complex64)

    def complex_double(self):
        return self._to(_dtype.complex128)

    # ---- identity and printing ------------------------------------------------------------
    def __eq__(self, other):
        """The same memory (torch compares the storage, not the Python object)."""
        return isinstance(other, UntypedStorage) and self.data_ptr() == other.data_ptr() and \
            self.nbytes() == other.nbytes() and self.device == other.device

    def __hash__(self):
        return hash(self.data_ptr())

    def __repr__(self):
        """torch's: the bytes one a line, then the class, device and size."""
        body = "\n".join(f" {v}" for v in self.tolist()) or " "
        return (f"{body}\n[torch.storage.UntypedStorage(device={self.device}) of size "
                f"{self.nbytes()}]")

    __str__ = __repr__

    # ---- from outside memory --------------------------------------------------------------
    @classmethod
    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0, *, dtype=None):
        """A copy of `buffer` (bytes-like) read as `count` elements of `dtype` in `byte_order`
        ('little', 'big' or 'native'), from byte `offset`."""
        if dtype is None:
            raise RuntimeError("argument 'dtype' cannot be None")
        if byte_order is None:
            raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
        return cls._wrap(_from_buffer(buffer, byte_order, count, offset, dtype),
                         _backend(None).device)

    @classmethod
    def from_file(cls, filename, shared=False, nbytes=0):
        """A storage over the file's first `nbytes` bytes, memory-mapped: shared=True writes
        through to the file (created or grown to fit), shared=False is a private copy."""
        return cls._wrap(*_map_file(filename, shared, int(nbytes)))


UntypedStorage.__module__ = "torch.storage"


def _from_buffer(buffer, byte_order, count, offset, dtype):
    if byte_order not in ("little", "big", "native"):
        raise ValueError(f"invalid byte_order '{byte_order}' (expected 'big', 'little', or "
                         "'native')")
    try:
        raw = memoryview(buffer).cast("B")
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(buffer).__name__}'") \
            from None
    n, item = raw.nbytes, dtype.itemsize
    if offset < 0 or offset > n:
        raise ValueError(f"offset must be non-negative and no greater than buffer length "
                         f"({offset}) , but got {n}")
    if count < 0:
        if (n - offset) % item:
            raise ValueError(f"buffer size ({n}) must be a multiple of element size ({item})")
        count = (n - offset) // item
    if offset + count * item > n:
        raise ValueError(f"buffer has only {n} elements after offset {offset}, but specified "
                         f"a size of {count}")
    data = np.frombuffer(raw, np.uint8, count * item, offset).copy()
    if byte_order != "native" and byte_order != sys.byteorder and item > 1:
        part = item // 2 if dtype.is_complex else item      # complex: each half on its own
        data = data.reshape(-1, part)[:, ::-1].reshape(-1).copy()
    return data


def _map_file(filename, shared, nbytes):
    import os
    if shared:
        try:
            fd = os.open(filename, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise RuntimeError(f"unable to open shared memory object <{filename}> in read-write "
                               f"mode: {e.strerror} ({e.errno})") from None
        try:
            if os.fstat(fd).st_size < nbytes:
                os.ftruncate(fd, nbytes)
        finally:
            os.close(fd)
    else:
        try:
            size = os.path.getsize(filename)
        except OSError as e:
            raise RuntimeError(f"unable to open file <{filename}> in read-only mode: "
                               f"{e.strerror} ({e.errno})") from None
        if size < nbytes:
            raise RuntimeError(f"file <{filename}> size <{size}> is smaller than the required "
                               f"mapping size <{nbytes}>")
    cpu = _backend(None).device
    if nbytes == 0:
        return np.empty(0, np.uint8), cpu, (filename if shared else None)
    arr = np.memmap(filename, np.uint8, "r+" if shared else "c", shape=(nbytes,))
    _share(arr)
    return arr, cpu, (filename if shared else None)


def _cast(flat, device, dtype):
    """A new TypedStorage holding `flat`'s elements converted to `dtype`."""
    if not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"Argument 'dtype' must be torch.dtype, not {type(dtype)}")
    out = _tensor_of(flat, device).to(dtype, copy=True)
    return TypedStorage(wrap_storage=UntypedStorage._of(out), dtype=dtype, _internal=True)


def _load_from_bytes(b):
    from .serialization import load
    return load(io.BytesIO(b), weights_only=False)


def _reduce(storage):
    """pickle goes through torch.save, as torch's storages do."""
    from .serialization import save
    b = io.BytesIO()
    save(storage, b)
    return (_load_from_bytes, (b.getvalue(),))


# ---- TypedStorage -------------------------------------------------------------------------

def _isint(x):
    return isinstance(x, (int, np.integer))


def _get_device_from_module(module):
    return "cuda" if module.rsplit(".", 1)[-1] == "cuda" else "cpu"


def _storage_from_sequence(sequence, dtype, device):
    from .ops.creation import tensor
    return UntypedStorage._of(tensor(sequence, dtype=dtype, device=device))


class TypedStorage:
    """torch.TypedStorage (deprecated: every public use warns once per process): an
    UntypedStorage read as elements of `dtype`."""
    is_sparse = False

    def __new__(cls, *args, wrap_storage=None, dtype=None, device=None, _internal=False):
        if not _internal:
            _warn_typed_storage_removal()
        if cls is _LegacyStorage:
            raise RuntimeError("Only child classes of _LegacyStorage can be instantiated")
        if cls is TypedStorage:
            return super().__new__(cls)
        arg_error_msg = (
            f"{cls}.__new__ received an invalid combination of arguments. Expected one of:\n"
            " * no arguments\n * (int size)\n * (Sequence data)\n"
            " * (*, UntypedStorage wrap_storage)")
        if device is not None:
            raise RuntimeError(arg_error_msg + "\nKeyword argument 'device' cannot be specified")
        if dtype is not None:
            raise RuntimeError(arg_error_msg + "\nKeyword argument 'dtype' cannot be specified")
        if wrap_storage is None:
            if len(args) > 1:
                raise RuntimeError(arg_error_msg + "\nToo many positional arguments")
            if len(args) == 1 and not _isint(args[0]) and \
                    not isinstance(args[0], collections.abc.Sequence):
                raise TypeError(arg_error_msg + f"\nArgument type not recognized: "
                                f"{type(args[0])}")
            return TypedStorage(*args, dtype=cls.dtype,
                                device=_get_device_from_module(cls.__module__), _internal=True)
        if len(args) != 0:
            raise RuntimeError(arg_error_msg + "\nNo positional arguments should be given when "
                               "using 'wrap_storage'")
        if not isinstance(wrap_storage, UntypedStorage):
            raise TypeError(arg_error_msg + f"\nArgument 'wrap_storage' must be UntypedStorage, "
                            f"but got {type(wrap_storage)}")
        cls_device = _get_device_from_module(cls.__module__)
        if wrap_storage.device.type != cls_device:
            raise RuntimeError(arg_error_msg + f"\nDevice of 'wrap_storage' must be "
                               f"{cls_device}, but got {wrap_storage.device.type}")
        return TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype, _internal=True)

    def __init__(self, *args, device=None, dtype=None, wrap_storage=None, _internal=False):
        if not _internal:
            _warn_typed_storage_removal()
        arg_error_msg = (
            "TypedStorage.__init__ received an invalid combination of arguments. Expected one "
            "of:\n * (*, torch.device device, torch.dtype dtype)\n"
            " * (int size, *, torch.device device, torch.dtype dtype)\n"
            " * (Sequence data, *, torch.device device, torch.dtype dtype)\n"
            " * (*, UntypedStorage wrap_storage, torch.dtype dtype)")
        if wrap_storage is not None:
            if len(args) != 0:
                raise RuntimeError(arg_error_msg + "\nNo positional arguments should be given "
                                   "when using 'wrap_storage'")
            if dtype is None:
                raise RuntimeError(arg_error_msg + "\nArgument 'dtype' must be specified")
            if not isinstance(dtype, _dtype.dtype):
                raise TypeError(arg_error_msg + f"\nArgument 'dtype' must be torch.dtype, not "
                                f"{type(dtype)}")
            if device is not None:
                raise RuntimeError(arg_error_msg + "\nArgument 'device' should not be "
                                   "specified when 'wrap_storage' is given")
            self.dtype = dtype
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(arg_error_msg + f"\nArgument 'wrap_storage' must be "
                                f"UntypedStorage, but got {type(wrap_storage)}")
            self._untyped_storage = wrap_storage
            return
        self.dtype = _dtype.DEFAULT.float if dtype is None else dtype
        if len(args) == 0:
            self._untyped_storage = UntypedStorage(device=device)
        elif len(args) == 1:
            if _isint(args[0]):
                self._untyped_storage = UntypedStorage(int(args[0]) * self.dtype.itemsize,
                                                       device=device)
            elif isinstance(args[0], collections.abc.Sequence):
                self._untyped_storage = _storage_from_sequence(args[0], self.dtype, device)
            else:
                raise TypeError(arg_error_msg + f"\nArgument type not recognized: "
                                f"{type(args[0])}")
        else:
            raise RuntimeError(arg_error_msg + "\nToo many positional arguments")

    def _new_wrapped_storage(self, untyped):
        return TypedStorage(wrap_storage=untyped, dtype=self.dtype, _internal=True)

    def _data(self):
        return self._untyped_storage._flat(self.dtype.np)

    def _tensor(self):
        return _tensor_of(self._data(), self._untyped_storage.device)

    # ---- sizes and places (each public one warns, as torch's) -----------------------------
    @property
    def device(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.device

    @property
    def is_cuda(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.device.type == "cuda"

    @property
    def filename(self):
        return self._untyped_storage.filename

    def untyped(self):
        _warn_typed_storage_removal()
        return self._untyped_storage

    def _size(self):
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def size(self):
        _warn_typed_storage_removal()
        return self._size()

    def __len__(self):
        _warn_typed_storage_removal()
        return self._size()

    def element_size(self):
        _warn_typed_storage_removal()
        return self.dtype.itemsize

    def nbytes(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.nbytes()

    def data_ptr(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.data_ptr()

    def get_device(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.get_device()

    def resizable(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.resizable()

    def resize_(self, size):
        _warn_typed_storage_removal()
        self._untyped_storage.resize_(size * self.dtype.itemsize)

    def pickle_storage_type(self):
        _warn_typed_storage_removal()
        try:
            return _STORAGE_NAMES[self.dtype]
        except KeyError as e:
            raise KeyError(f"dtype {self.dtype} is not recognized") from e

    def _get_legacy_storage_class(self):
        name = _STORAGE_NAMES.get(self.dtype)
        if name is None or self._untyped_storage.device.type != "cpu":
            return None
        return _LEGACY[name]

    def type(self, dtype=None, non_blocking=False):
        _warn_typed_storage_removal()
        if dtype is None:
            legacy = self._get_legacy_storage_class()
            return "torch." + legacy.__name__ if legacy is not None else \
                "torch.storage.TypedStorage"
        return self._untyped_storage.type(dtype, non_blocking)

    # ---- elements -----------------------------------------------------------------------
    def _maybe_wrap_index(self, idx):
        if type(idx) is not int:
            raise TypeError(f"can't index a {type(self)} with {type(idx)}")
        n = self._size()
        if idx >= n or idx < -n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return idx % n

    def __getitem__(self, idx):
        _warn_typed_storage_removal()
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        if not isinstance(idx, int):
            raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")
        i = self._maybe_wrap_index(idx)
        return self._tensor()[i].item()

    def __setitem__(self, idx, value):
        _warn_typed_storage_removal()
        if not isinstance(idx, (int, slice)):
            raise RuntimeError(f"can't index a {type(self)} with {type(idx)}")
        if isinstance(value, (UntypedStorage, TypedStorage)):
            raise RuntimeError(f"cannot set item with value type {type(value)}")
        self._tensor()[idx] = value

    def __iter__(self):
        _warn_typed_storage_removal()
        return iter(self._tolist())

    def _tolist(self):
        return self._tensor().tolist()

    def tolist(self):
        _warn_typed_storage_removal()
        return self._tolist()

    def fill_(self, value):
        _warn_typed_storage_removal()
        self._tensor()[0:self._size()] = value
        return self

    def copy_(self, source, non_blocking=None):
        _warn_typed_storage_removal()
        self._untyped_storage.copy_(source, non_blocking)
        return self

    def clone(self):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.clone())

    def __copy__(self):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.clone())

    def __deepcopy__(self, memo):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.__deepcopy__(memo))

    def __reduce__(self):
        return _reduce(self)

    def __sizeof__(self):
        _warn_typed_storage_removal()
        return object.__sizeof__(self) + self._untyped_storage.nbytes()

    def cpu(self):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.cpu())

    def to(self, *, device, non_blocking=False):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.to(device=device))

    def cuda(self, device=None, non_blocking=False):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.cuda(device))

    # ---- sharing and pinning --------------------------------------------------------------
    def is_shared(self):
        _warn_typed_storage_removal()
        return self._untyped_storage.is_shared()

    def share_memory_(self):
        _warn_typed_storage_removal()
        self._untyped_storage.share_memory_()
        return self

    def is_pinned(self, device=None):
        _warn_typed_storage_removal()
        return self._untyped_storage.is_pinned(device)

    def pin_memory(self, device=None):
        _warn_typed_storage_removal()
        return self._new_wrapped_storage(self._untyped_storage.pin_memory(device=device))

    # ---- conversions ----------------------------------------------------------------------
    def _to(self, dtype):
        return _cast(self._data(), self._untyped_storage.device, dtype)

    def double(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.float64)

    def float(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.float32)

    def half(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.float16)

    def bfloat16(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.bfloat16)

    def long(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.int64)

    def int(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.int32)

    def short(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.int16)

    def char(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.int8)

    def byte(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.uint8)

    def bool(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.bool_)

    def complex_float(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.complex64)

    def complex_double(self):
        _warn_typed_storage_removal()
        return self._to(_dtype.complex128)

    # ---- printing ---------------------------------------------------------------------------
    def __str__(self):
        _warn_typed_storage_removal()
        info = (f"[torch.storage.TypedStorage(dtype={self.dtype}, "
                f"device={self._untyped_storage.device}) of size {self._size()}]")
        return " " + "\n ".join(str(v) for v in self._tolist()) + "\n" + info

    def __repr__(self):
        _warn_typed_storage_removal()
        return str(self)

    # ---- from outside memory --------------------------------------------------------------
    @classmethod
    def from_buffer(cls, *args, dtype=None, device=None, **kwargs):
        _warn_typed_storage_removal()
        if cls is TypedStorage:
            dtype = _dtype.DEFAULT.float if dtype is None else dtype
            if device is not None and _backend(device).device.type != "cpu":
                raise RuntimeError(f"TypedStorage.from_buffer: Not available for device "
                                   f"{_backend(device).device.type}")
        else:
            if dtype is not None or len(args) == 5:
                raise RuntimeError("from_buffer: 'dtype' can only be specified in "
                                   "UntypedStorage.from_buffer and TypedStorage.from_buffer")
            if device is not None:
                raise RuntimeError("from_buffer: 'device' can only be specified in "
                                   "UntypedStorage.from_buffer and TypedStorage.from_buffer")
            dtype = cls.dtype
        untyped = UntypedStorage.from_buffer(*args, dtype=dtype, **kwargs)
        return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)

    @classmethod
    def from_file(cls, filename, shared, size):
        """`size` elements of the class's dtype memory-mapped from the file (see
        UntypedStorage.from_file)."""
        _warn_typed_storage_removal()
        if cls is TypedStorage:
            raise RuntimeError("from_file can only be called on derived classes")
        untyped = UntypedStorage.from_file(filename, shared, size * cls.dtype.itemsize)
        return cls(wrap_storage=untyped)


TypedStorage.__module__ = "torch.storage"


class _LegacyStorageMeta(type):
    def __instancecheck__(cls, instance):
        if type(instance) is TypedStorage:
            return _get_device_from_module(cls.__module__) == \
                instance._untyped_storage.device.type and cls.dtype == instance.dtype
        return False


class _LegacyStorage(TypedStorage, metaclass=_LegacyStorageMeta):
    pass


_LegacyStorage.__module__ = "torch.storage"

_STORAGE_NAMES = {
    _dtype.float64: "DoubleStorage", _dtype.float32: "FloatStorage",
    _dtype.float16: "HalfStorage", _dtype.int64: "LongStorage", _dtype.int32: "IntStorage",
    _dtype.int16: "ShortStorage", _dtype.int8: "CharStorage", _dtype.uint8: "ByteStorage",
    _dtype.bool_: "BoolStorage", _dtype.bfloat16: "BFloat16Storage",
    _dtype.complex128: "ComplexDoubleStorage", _dtype.complex64: "ComplexFloatStorage",
}
_LEGACY = {name: _LegacyStorageMeta(name, (_LegacyStorage,), {"dtype": dt, "__module__": "torch"})
           for dt, name in _STORAGE_NAMES.items()}
globals().update(_LEGACY)
Storage = _LEGACY["FloatStorage"]       # torch.Storage, an old alias


def _legacy_class(name):
    """`torch.FloatStorage` & co. by their dotted name (storage.type("torch.FloatStorage"))."""
    cls = _LEGACY.get(name.rpartition(".")[2]) if name.startswith("torch.") else None
    if cls is None:
        raise AttributeError(f"module 'torch' has no attribute '{name.rpartition('.')[2]}'")
    return cls


def legacy_storage_class(dtype):
    """What Tensor.storage_type() returns: torch.FloatStorage & co. (None for other dtypes)."""
    name = _STORAGE_NAMES.get(dtype)
    return None if name is None else _LEGACY[name]
