"""Reading torch checkpoints: the zip format (torch >= 1.6) and the legacy magic-number format.

Every storage record is checked (size, bounds, CRC-32) before a tensor is built on it, and a
file is either loaded whole or refused with an EmberLoadError: never a partial object."""
import pickle
import struct
import sys

import numpy as np

from . import _rebuild
from ._errors import EmberLoadError
from ._pickler import MAGIC_NUMBER, PROTOCOL_VERSION
from ._allowlist import default_globals, map_name
from ._unpickler import CORRUPTION, Buffer, WeightsUnpickler


def unpickle(buffer, persistent_load, weights_only, encoding, pickle_module=None):
    """One pickle from `buffer`, through the weights-only interpreter or (opted in) pickle."""
    try:
        if weights_only:
            return WeightsUnpickler(buffer, persistent_load, encoding).load()
        return _full_unpickler(pickle_module or pickle, buffer, persistent_load,
                               encoding).load()
    except CORRUPTION as e:
        raise EmberLoadError(f"corrupt checkpoint: {type(e).__name__}: {e}") from e
    except pickle.UnpicklingError as e:
        if weights_only or isinstance(e, EmberLoadError):
            raise
        raise EmberLoadError(f"corrupt checkpoint: {e}") from e


def _full_unpickler(pickle_module, buffer, persistent_load, encoding):
    """`weights_only=False`: any global may load; torch's names map to ember's objects."""
    class Unpickler(pickle_module.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch", "ScriptObject"):
                return _rebuild.ScriptObject
            return torch_global(module, name) or super().find_class(module, name)

    unpickler = Unpickler(buffer, encoding=encoding)
    unpickler.persistent_load = persistent_load
    return unpickler


def torch_global(module, name):
    """The ember object for a `torch.*` global, or None for other modules."""
    import importlib
    module, name = map_name(module, name)
    table = default_globals()
    if f"{module}.{name}" in table:
        return table[f"{module}.{name}"]
    if module != "torch" and not module.startswith("torch."):
        return None
    if module == "torch" and name in _rebuild.TORCH_DTYPE_NAMES:
        _rebuild.ember_dtype(name)      # raises: ember lacks this dtype
    try:
        found = getattr(importlib.import_module("ember" + module[5:]), name)
        if module == "torch.return_types":
            return _rebuild.structseq(found)
        return found
    except (ImportError, AttributeError):
        raise pickle.UnpicklingError(f"ember has no equivalent of {module}.{name}") from None


def _storage_args(pid, size):
    if type(pid) is not tuple or len(pid) != size:
        raise EmberLoadError(f"corrupt checkpoint: malformed storage id {pid!r}")
    _, stype, key, location, numel = pid[:5]
    if isinstance(key, bytes):
        key = key.decode("ascii")
    if isinstance(location, bytes):
        location = location.decode("ascii")
    if not isinstance(stype, _rebuild.StorageType) or type(key) is not str or \
            type(location) is not str or type(numel) is not int or numel < 0:
        raise EmberLoadError(f"corrupt checkpoint: malformed storage id {pid!r}")
    return _rebuild.ember_dtype(stype.dtype_name), key, location, numel


# ---- zip ----------------------------------------------------------------------------------

def load_zip(reader, restore, weights_only, encoding, pickle_module, mm=None):
    """The object in a zip checkpoint; `mm` is an mmap of the file for `mmap=True`."""
    from ..backends import CPU
    if reader.get("constants.pkl") is not None:
        raise RuntimeError("the file is a TorchScript archive (torch.jit.save); ember cannot "
                           "load TorchScript")
    data = reader.read("data.pkl")
    swap = _byteorder(reader) != sys.byteorder
    for name, rec in reader.records.items():        # the small records: their CRCs too
        if not name.startswith("data/") and name not in ("data.pkl", "byteorder") and \
                rec.size <= 4096:
            reader.read(name)
    storages = {}

    def persistent_load(pid):
        dtype, key, location, numel = _storage_args(pid, 5)
        storage = storages.get(key)
        if storage is None:
            raw = _read_storage(reader, key, numel * dtype.itemsize, mm)
            if swap:
                raw.view(dtype.np).byteswap(inplace=True)
            storage = storages[key] = restore(_rebuild.Storage(raw, CPU), location).untyped()
        return _rebuild.typed_storage(storage, dtype)

    return unpickle(Buffer(data), persistent_load, weights_only, encoding, pickle_module)


def _byteorder(reader):
    if reader.get("byteorder") is None:
        return "little"             # torch's default for files without the record
    order = reader.read("byteorder").decode("ascii", "replace")
    if order not in ("little", "big"):
        raise EmberLoadError(f"not a valid checkpoint: unknown byte order {order!r}")
    return order


def _read_storage(reader, key, nbytes, mm):
    rec = reader.get(f"data/{key}")
    if rec is None:
        raise EmberLoadError(f"not a valid checkpoint: storage record data/{key} is missing")
    if rec.size != nbytes:
        raise EmberLoadError(f"not a valid checkpoint: storage data/{key} holds {rec.size} "
                             f"bytes, the pickle expects {nbytes}")
    if nbytes == 0:
        return np.empty(0, np.uint8)
    if mm is not None:          # lazy: pages are read when the tensor is first touched
        rec.check_stored()
        return np.frombuffer(mm, np.uint8, nbytes, rec.data_offset)
    return rec.read_into(np.empty(nbytes, np.uint8))


# ---- legacy (pre-1.6) ---------------------------------------------------------------------

def is_legacy(head):
    """Whether `head` starts with the pickled legacy magic number."""
    return head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") and \
        head[2:3] == b"\x8a"


def load_legacy(data, restore, weights_only, encoding, pickle_module):
    """The object in a legacy file whose bytes are `data`.

    Storages come after the pickle that uses them, so they are allocated when the pickle names
    them (as torch does) and filled once the list of stored keys has been read."""
    from ..backends import CPU
    buffer = Buffer(data)
    if unpickle(buffer, None, True, encoding) != MAGIC_NUMBER:
        raise EmberLoadError("not a valid checkpoint: invalid magic number; corrupt file?")
    version = unpickle(buffer, None, True, encoding)
    if version != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {version}")
    unpickle(buffer, None, True, encoding)            # sys_info: nothing to act on
    roots, views = {}, {}

    def persistent_load(pid):
        dtype, key, location, numel = _storage_args(pid, 6)
        if key not in roots:
            raw = np.zeros(numel * dtype.itemsize, np.uint8)
            storage = restore(_rebuild.Storage(raw, CPU), location)
            roots[key] = (storage, dtype, numel, storage.untyped())
        storage = roots[key][0]
        view = pid[5]
        if view is None:
            return _rebuild.typed_storage(roots[key][3], dtype)
        return _rebuild.typed_storage(_view_storage(storage, view, dtype, views), dtype)

    result = unpickle(buffer, persistent_load, weights_only, encoding, pickle_module)
    keys = unpickle(buffer, None, True, encoding)
    _fill_legacy(buffer, keys, roots)
    return result


def _view_storage(storage, view, dtype, views):
    if type(view) is not tuple or len(view) != 3 or any(type(v) is not int for v in view[1:]):
        raise EmberLoadError(f"corrupt checkpoint: malformed storage view {view!r}")
    key, offset, size = view
    if key not in views:
        start, stop = offset * dtype.itemsize, (offset + size) * dtype.itemsize
        if offset < 0 or size < 0 or stop > storage.raw.size:
            raise EmberLoadError("corrupt checkpoint: storage view out of range")
        views[key] = _rebuild.Storage(storage.raw[start:stop], storage.be).untyped()
    return views[key]


def _fill_legacy(buffer, keys, roots):
    if type(keys) is not list:
        raise EmberLoadError("corrupt checkpoint: the legacy storage key list is missing")
    data, pos = buffer.data, buffer.pos
    for key in keys:
        if key not in roots:
            raise EmberLoadError(f"corrupt checkpoint: stored key {key!r} is not used")
        storage, dtype, numel, _ = roots[key]
        if pos + 8 > len(data) or struct.unpack_from("<q", data, pos)[0] != numel:
            raise EmberLoadError(f"corrupt or truncated checkpoint: storage {key!r}")
        nbytes = numel * dtype.itemsize
        if pos + 8 + nbytes > len(data):
            raise EmberLoadError(f"corrupt or truncated checkpoint: storage {key!r}")
        host = np.frombuffer(data, np.uint8, nbytes, pos + 8)
        if storage.be.xp is np:
            storage.raw[...] = host
        else:
            storage.raw.set(host)
        pos += 8 + nbytes
    missing = set(roots) - set(keys)
    if missing:
        raise EmberLoadError(f"corrupt checkpoint: no data for storages {sorted(missing)}")
