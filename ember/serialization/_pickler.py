"""Writing ember objects as torch pickles them, without importing torch.

A subclass of the pure-Python `pickle._Pickler` writes tensors as
`torch._utils._rebuild_tensor_v2(<storage persistent id>, offset, size, stride, requires_grad,
OrderedDict())`, parameters as `torch._utils._rebuild_parameter(...)`, dtypes, devices and
sizes as `torch.<name>` globals, all emitted by name. A storage is the flat root buffer of a
tensor's NumPy/CuPy array, so tensors that view one buffer share one record, written once."""
import pickle
import sys
from collections import OrderedDict
from types import FunctionType
from pickle import BINPERSID, BUILD, EMPTY_TUPLE, GLOBAL, MARK, NEWOBJ, REDUCE, TUPLE, TUPLE3

import numpy as np

from .._sparse_csr import CompressedArray
from ._rebuild import STORAGE_OF_DTYPE
from ._zip import ZipWriter

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C        # torch's legacy (pre-1.6) format header
PROTOCOL_VERSION = 1001


class TorchName:
    """A torch global written as `GLOBAL module name`; torch is never imported."""
    __slots__ = ("module", "name")
    _cache = {}

    def __new__(cls, module, name):
        key = (module, name)
        obj = cls._cache.get(key)       # one object per name, so the pickle memo reuses it
        if obj is None:
            obj = cls._cache[key] = object.__new__(cls)
            obj.module, obj.name = module, name
        return obj

    def __call__(self, *args):      # pickle's save_reduce insists on a callable
        raise TypeError(f"{self.module}.{self.name} is a torch name, only written to pickles")


REBUILD_V2 = TorchName("torch._utils", "_rebuild_tensor_v2")
REBUILD_SPARSE = TorchName("torch._utils", "_rebuild_sparse_tensor")
REBUILD_Q = TorchName("torch._utils", "_rebuild_qtensor")
REBUILD_NESTED = TorchName("torch._utils", "_rebuild_nested_tensor")
REBUILD_FROM_TYPE = TorchName("torch._tensor", "_rebuild_from_type_v2")
REBUILD_NJT = TorchName("torch.nested._internal.nested_tensor", "_rebuild_njt")
NJT = TorchName("torch.nested._internal.nested_tensor", "NestedTensor")


class _Layout:
    """torch pickles a layout as torch.serialization._get_layout("torch.sparse_coo"); one
    object per layout, so the pickle memo reuses it as torch's."""
    __slots__ = ("name",)
    _cache = {}

    def __new__(cls, layout):
        obj = cls._cache.get(str(layout))
        if obj is None:
            obj = cls._cache[str(layout)] = object.__new__(cls)
            obj.name = str(layout)
        return obj

    def __reduce__(self):
        return TorchName("torch.serialization", "_get_layout"), (self.name,)


REBUILD_PARAMETER = TorchName("torch._utils", "_rebuild_parameter")
REBUILD_V3 = TorchName("torch._utils", "_rebuild_tensor_v3")
UNTYPED_STORAGE = TorchName("torch.storage", "UntypedStorage")


SCRIPT_OBJECT = TorchName("torch", "ScriptObject")


def _save_script_object(self, obj):
    """As torch pickles a torch.ScriptObject: made empty (NEWOBJ), then BUILD with its state
    and class name (ScriptObject in _rebuild.py reads it)."""
    self.save(SCRIPT_OBJECT)
    self.write(EMPTY_TUPLE + NEWOBJ)
    self.memoize(obj)
    self.save(obj.__getstate__())
    self.write(BUILD)


def _script_classes():
    """The ember classes of torch's TorchScript classes, of the modules imported (an object
    of one is made by its module)."""
    from ._rebuild import SCRIPT_CLASSES
    return [getattr(sys.modules[module], name) for module, name in SCRIPT_CLASSES.values()
            if module in sys.modules]


def _save_torch_name(self, obj):
    self.write(GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
    self.memoize(obj)


def _save_dtype(self, d):
    self.save(TorchName("torch", d.name))


def _save_layout(self, layout):
    self.save(_Layout(layout))


def _save_qscheme(self, q):
    self.save(TorchName("torch", q.name))


def _save_return_type(self, r):
    """As torch pickles its structseq: the class, called with (the values, {})."""
    self.save_reduce(TorchName("torch.return_types", type(r).__name__), (tuple(r), {}), obj=r)


def _save_generator(self, g):
    _, args, state = g.__reduce__()
    self.save_reduce(TorchName("torch._C", "Generator"), args, state, obj=g)


def _return_types():
    from .. import return_types
    return [getattr(return_types, name) for name in return_types.__all__]


def _save_size(self, s):
    self.save_reduce(TorchName("torch", "Size"), (tuple(s),), obj=s)


def _save_device(self, d):
    args = (d.type,) if d.index is None else (d.type, d.index)
    self.save_reduce(TorchName("torch", "device"), args, obj=d)


class TorchPickler(pickle._Pickler):
    """Pickles `obj` as torch would; collects the storages to write in `self.storages`."""

    def __init__(self, file, protocol=2, legacy=False):
        from .._dtype import dtype, _FewKernels, _Quantized
        from .._tensor import Size, Tensor
        from ..backends import device
        super().__init__(file, protocol)
        from .._storage import TypedStorage, UntypedStorage
        from .._layout import layout
        from .._quantized import qscheme
        from ..ops.random import Generator
        self.dispatch = {**pickle._Pickler.dispatch, TorchName: _save_torch_name,
                         dtype: _save_dtype, _FewKernels: _save_dtype, _Quantized: _save_dtype,
                         layout: _save_layout, qscheme: _save_qscheme, Size: _save_size,
                         device: _save_device, UntypedStorage: TorchPickler._save_storage,
                         TypedStorage: TorchPickler._save_storage,
                         FunctionType: TorchPickler.save_global,
                         **dict.fromkeys(_script_classes(), _save_script_object),
                         **dict.fromkeys(_return_types(), _save_return_type),
                         Generator: _save_generator}
        from ..nn.parameter import Parameter
        self.tensor_type, self.parameter_type = Tensor, Parameter
        self.legacy = legacy
        self.storages = {}          # key -> (flat array, backend, root or None)
        self._keys = {}             # (id(flat root), dtype) -> key
        self._dtypes = {}           # id(flat root) -> the dtype it was first saved as

    def save_global(self, obj, name=None):
        """Where the pure-Python pickler cannot name `obj`, the error CPython's C pickler (torch's)
        raises for it: AttributeError "Can't pickle local object 'f.<locals>.Box'" for a local
        class or function, where the pure-Python one raises PicklingError."""
        try:
            super().save_global(obj, name)
        except pickle.PicklingError:
            if name is None:
                pickle.dumps(obj, self.proto)
            raise

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, self.tensor_type):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
            else:
                self._save_tensor(obj)
            return
        super().save(obj, save_persistent_id)

    def _save_sparse(self, t):
        """torch's sparse __reduce_ex__: _rebuild_sparse_tensor(torch.sparse_coo, (indices,
        values, size, is_coalesced)), or for the compressed layouts (CSR, CSC, BSR, BSC)
        _rebuild_sparse_tensor(layout, (compressed indices, plain indices, values, size))."""
        from .._tensor import Size, _new
        s = t.arr
        if t.is_sparse:
            data = (_new(s.indices, t.be), _new(s.values, t.be), Size(s.shape),
                    bool(s.coalesced))
        else:
            compressed, plain = (getattr(s, n) for n in s.INDEX)
            data = (_new(compressed, t.be), _new(plain, t.be), _new(s.values, t.be),
                    Size(s.shape))
        self.save_reduce(REBUILD_SPARSE, (_Layout(t.layout), data), obj=t)

    def _save_nested(self, t):
        """torch's nested __reduce_ex__: a strided tensor's _rebuild_nested_tensor(flat buffer,
        sizes, strides, storage offsets) of its components packed; a jagged tensor's
        _rebuild_from_type_v2(_rebuild_njt, NestedTensor, ({values, offsets, lengths,
        _ragged_idx, _metadata_cache, requires_grad},), {}) (one with holes packed first),
        its min / max seqlen kept as the sizes of empty tensors, as torch keeps them."""
        from .._tensor import _new
        from ..ops.creation import tensor, zeros
        a = t.arr
        if a.meta.layout == "strided":
            sizes = [p.shape for p in a.parts]
            strides = [[int(np.prod(s[d + 1:])) for d in range(len(s))] for s in sizes]
            buffer = np.concatenate([p.reshape(-1) for p in a.parts])
            self.save_reduce(REBUILD_NESTED, (
                _new(buffer, t.be).requires_grad_(t.requires_grad), tensor(sizes, dtype=np.int64),
                tensor(strides, dtype=np.int64),
                tensor(np.cumsum([0] + [p.size for p in a.parts[:-1]]), dtype=np.int64)),
                obj=t)
            return
        d = t.detach()
        if a.meta.lengths is not None:
            d = d.contiguous()
        cache = {"min_seqlen": zeros(t._min_seqlen, 0), "max_seqlen": zeros(t._max_seqlen, 0)}
        self.save_reduce(REBUILD_FROM_TYPE, (REBUILD_NJT, NJT, ({
            "values": d.values(), "offsets": d.offsets(), "lengths": None,
            "_ragged_idx": a.meta.ragged, "_metadata_cache": cache,
            "requires_grad": bool(t.requires_grad)},), {}), obj=t)

    def _save_quantized(self, t):
        """torch's quantized __reduce_ex__: _rebuild_qtensor(<storage of the integers>, offset,
        size, stride, (scheme, scale, zero_point) or (scheme, scales, zero_points, axis),
        False, OrderedDict())."""
        from .._tensor import _new
        a, be = t.arr, t.be
        q = a.q
        typed = STORAGE_OF_DTYPE.get(q.dtype.name)
        if typed is None:
            raise NotImplementedError(f"ember cannot save {q.dtype!r} tensors")
        key, _, location, numel, offset, size, stride = self._storage_of(_new(a.ints, be))
        self.save(REBUILD_Q)
        self.write(MARK)
        pid = ("storage", TorchName("torch", typed), key, location, numel) + \
            ((None,) if self.legacy else ())
        self.save(pid, save_persistent_id=False)
        self.write(BINPERSID)
        scheme = TorchName("torch", q.scheme.name)
        params = (scheme, q.scale, q.zero_point) if q.axis is None else \
            (scheme, _new(q.scales, be), _new(q.zero_points, be), q.axis)
        for value in (offset, size, stride, params, False, OrderedDict()):
            self.save(value)
        self.write(TUPLE)
        self.write(REDUCE)
        self.memoize(t)

    def _save_tensor(self, t):
        if t.is_sparse or isinstance(t.arr, CompressedArray):
            return self._save_sparse(t)
        if t.is_nested:
            return self._save_nested(t)
        if t.is_quantized:
            return self._save_quantized(t)
        # byte for byte what torch writes: the memo slots torch spends on argument tuples are
        # spent on placeholders, so BINPUT/BINGET indices match a torch-written data.pkl
        if isinstance(t, self.parameter_type):
            self.save(REBUILD_PARAMETER)
            self._save_rebuild_v2(t, False)
            self.memoize(object())                      # torch's `param.data`
            self.save(bool(t.requires_grad))
            self.save(OrderedDict())
            self.write(TUPLE3)
            self.memoize(object())
            self.write(REDUCE)
        else:
            self._save_rebuild_v2(t, bool(t.requires_grad))
        self.memoize(t)

    def _save_rebuild_v2(self, t, requires_grad):
        key, dtype_name, location, numel, offset, size, stride = self._storage_of(t)
        typed = STORAGE_OF_DTYPE.get(dtype_name)
        # dtypes without a legacy storage class (uint16/32/64): torch's _rebuild_tensor_v3
        # form, an untyped (byte-counted) storage and the dtype as the last argument
        self.save(REBUILD_V2 if typed else REBUILD_V3)
        self.write(MARK)
        pid = ("storage", TorchName("torch", typed) if typed else UNTYPED_STORAGE, key,
               location, numel if typed else numel * t.arr.dtype.itemsize) + \
            ((None,) if self.legacy else ())
        self.save(pid, save_persistent_id=False)
        self.write(BINPERSID)
        for value in (offset, size, stride, requires_grad, OrderedDict()):
            self.save(value)
        if not typed:
            self.save(t.dtype)
        self.write(TUPLE)
        self.memoize(object())
        self.write(REDUCE)

    def _save_storage(self, s):
        """A bare storage: torch's persistent id alone (torch.FloatStorage & co. for a typed
        one, torch.storage.UntypedStorage counted in bytes otherwise), its record shared with
        the tensors that view the whole buffer."""
        from .._tensor import _new
        from ..backends import get_backend
        untyped = getattr(s, "_untyped_storage", s)
        dtype = getattr(s, "dtype", None)
        typed = STORAGE_OF_DTYPE.get(dtype.name) if dtype is not None else None
        np_dtype = dtype.np if typed else np.dtype(np.uint8)
        flat = untyped._flat(np_dtype)
        be = get_backend(untyped.device)
        key, _, location, numel, offset, _, _ = self._storage_of(_new(flat, be))
        if offset or numel != flat.size:        # a slice of a larger buffer: its own record
            key, _, location, numel, _, _, _ = self._storage_of(_new(flat.copy(), be))
        pid = ("storage", TorchName("torch", typed) if typed else UNTYPED_STORAGE, key,
               location, numel) + ((None,) if self.legacy else ())
        self.save(pid, save_persistent_id=False)
        self.write(BINPERSID)

    def _storage_of(self, t):
        """(key, dtype, location, numel, offset, size, stride) of the storage `t` views."""
        arr, be = t.arr, t.be
        root, flat, offset, stride = _flat_root(arr, be.xp)
        ident = (id(root), arr.dtype.str)
        # torch checks the dtype of every storage with data: an empty view of a non-empty
        # buffer too (saved as a record of its own here)
        shared = root if root is not None or arr.size else _nonempty_root(arr, be.xp)
        if shared is not None and self._dtypes.setdefault(id(shared), ident[1]) != ident[1]:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same "
                               "data as different types")
        key = self._keys.get(ident) if root is not None else None
        if key is None:
            key = str(len(self.storages))
            self.storages[key] = (flat, be, root)     # root kept alive: its id is the key
            if root is not None:
                self._keys[ident] = key
        dev = be.device
        location = "cpu" if dev.type == "cpu" else f"{dev.type}:{dev.index or 0}"
        name = "bool" if arr.dtype == np.bool_ else arr.dtype.name
        return key, name, location, flat.size, offset, arr.shape, stride


def _flat_root(arr, xp):
    """(root, 1-D array over the root's whole buffer, offset, strides), all in elements.

    Falls back to a contiguous copy when `arr` cannot be described that way (negative strides,
    a dtype that does not tile the root buffer, an exotic non-contiguous root)."""
    if xp is not np:
        return _device_root(arr, xp)
    item = arr.itemsize
    root = arr
    while isinstance(root.base, xp.ndarray):
        root = root.base
    flags = root.flags
    usable = arr.size > 0 and (flags.c_contiguous or flags.f_contiguous) and \
        root.nbytes % item == 0 and all(s >= 0 and s % item == 0 for s in arr.strides)
    if usable:
        from .._tensor import _ptr
        offset = _ptr(arr) - _ptr(root)
        usable = offset >= 0 and offset % item == 0
    if not usable:
        return None, xp.ascontiguousarray(arr).reshape(-1), 0, _contiguous_strides(arr.shape)
    flat = (root if flags.c_contiguous else root.T).reshape(-1)
    if flat.dtype != arr.dtype:
        flat = flat.view(arr.dtype)
    return root, flat, offset // item, tuple(s // item for s in arr.strides)


def _nonempty_root(arr, xp):
    """The NumPy array at the root of an empty array's views, if it holds any data."""
    if xp is not np:
        return None
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    return root if root.nbytes else None


def _device_root(arr, xp):
    """`_flat_root` for CuPy: the storage is the whole allocation the array points into."""
    mem, item = arr.data.mem, arr.itemsize
    offset = arr.data.ptr - mem.ptr
    if arr.size == 0 or offset % item or mem.size % item or \
            any(s < 0 or s % item for s in arr.strides):
        return None, xp.ascontiguousarray(arr).reshape(-1), 0, _contiguous_strides(arr.shape)
    flat = xp.ndarray((mem.size // item,), arr.dtype, memptr=xp.cuda.MemoryPointer(mem, 0))
    return mem, flat, offset // item, tuple(s // item for s in arr.strides)


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def _host_bytes(flat, be):
    """The storage as a host uint8 array (a view for CPU arrays, a copy from the GPU)."""
    host = be.to_host(flat)
    return np.ascontiguousarray(host).view(np.uint8)


def write_zip(obj, file, archive_name, protocol, byteorder_record=True):
    """torch.save's zip layout: data.pkl, version records, then every storage once."""
    import io
    import secrets
    data = io.BytesIO()
    pickler = TorchPickler(data, protocol)
    pickler.dump(obj)
    writer = ZipWriter(file, archive_name)
    writer.write_record("data.pkl", data.getbuffer())
    writer.write_record(".format_version", b"1")
    writer.write_record(".storage_alignment", b"64")
    if byteorder_record:
        writer.write_record("byteorder", sys.byteorder.encode("ascii"))
    for key, (flat, be, _) in pickler.storages.items():
        writer.write_record(f"data/{key}", _host_bytes(flat, be))
    writer.write_record("version", b"3\n")
    writer.write_record(".data/serialization_id",
                        str(secrets.randbits(128)).zfill(40).encode("ascii"))
    writer.finish()


def write_legacy(obj, file, protocol):
    """torch's pre-1.6 layout (`_use_new_zipfile_serialization=False`)."""
    sys_info = {"protocol_version": PROTOCOL_VERSION, "little_endian": sys.byteorder == "little",
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
        pickle.dump(header, file, protocol=protocol)
    pickler = TorchPickler(file, protocol, legacy=True)
    pickler.dump(obj)
    keys = sorted(pickler.storages)
    pickle.dump(keys, file, protocol=protocol)
    for key in keys:
        flat, be, _ = pickler.storages[key]
        file.write(np.int64(flat.size).astype("<i8").tobytes())
        file.write(memoryview(_host_bytes(flat, be)))
