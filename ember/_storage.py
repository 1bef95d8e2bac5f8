"""UntypedStorage: the bytes behind a tensor and all its views (the root NumPy/CuPy buffer);
TypedStorage, torch's deprecated view of them as elements of one dtype (tensor.storage())."""


def _root(a):
    while getattr(a, "base", None) is not None and hasattr(a.base, "nbytes") and \
            hasattr(a.base, "dtype"):
        a = a.base
    return a


# Root buffers moved to "shared memory" by share_memory_() (keyed by id; entries vanish with
# the buffer). ember's CPU buffers are ordinary NumPy arrays; only the flag is tracked.
import weakref as _weakref
_SHARED = _weakref.WeakValueDictionary()


def _share(a):
    r = _root(a)
    try:
        _SHARED[id(r)] = r
    except TypeError:
        pass


def _is_shared(a):
    r = _root(a)
    return _SHARED.get(id(r)) is r


def warn_typed_storage_removal():
    """torch warns about TypedStorage once per process."""
    from ._warnings import warn_once
    warn_once("TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
              "will be the only storage class. This should only matter to you if you are using "
              "storages directly.  To access UntypedStorage directly, use "
              "tensor.untyped_storage() instead of tensor.storage()")


class UntypedStorage:
    __slots__ = ("_arr", "device")

    @classmethod
    def _of(cls, t):
        s = object.__new__(cls)
        s._arr, s.device = _root(t.arr), t.device
        return s

    def data_ptr(self):
        a = self._arr
        return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") \
            else a.data.ptr

    def nbytes(self):
        return int(self._arr.nbytes)

    def size(self):
        return self.nbytes()

    __len__ = size

    def element_size(self):
        return 1

    def is_shared(self):
        return self.device.type == "cuda" or _is_shared(self._arr)

    def share_memory_(self):
        _share(self._arr)
        return self

    def __eq__(self, other):
        return isinstance(other, UntypedStorage) and self.data_ptr() == other.data_ptr()

    def __hash__(self):
        return hash(self.data_ptr())

    def __repr__(self):
        """torch's: the bytes one a line, then the class, device and size."""
        import numpy as np
        body = "\n".join(f" {v}" for v in self._flat(np.uint8).tolist()) or " "
        return (f"{body}\n[torch.storage.UntypedStorage(device={self.device}) of size "
                f"{self.nbytes()}]")

    def _flat(self, np_dtype):
        """The storage's bytes as a flat array of `np_dtype` (no copy)."""
        a = self._arr
        return a.reshape(-1).view(np_dtype) if a.flags.c_contiguous else \
            a.ravel(order="K").view(np_dtype)


class TypedStorage:
    """What tensor.storage() returns: the storage as elements of the tensor's dtype."""
    __slots__ = ("_untyped", "dtype")

    def __init__(self, untyped, dtype):
        self._untyped, self.dtype = untyped, dtype

    @property
    def device(self):
        return self._untyped.device

    def untyped(self):
        return self._untyped

    def _data(self):
        return self._untyped._flat(self.dtype.np)

    def size(self):
        return self._untyped.nbytes() // self.element_size()

    __len__ = size

    def element_size(self):
        return self.dtype.itemsize

    def nbytes(self):
        return self._untyped.nbytes()

    def data_ptr(self):
        return self._untyped.data_ptr()

    def tolist(self):
        d = self._data()
        return (d if hasattr(d, "tolist") and not hasattr(d, "get") else d.get()).tolist()

    def __getitem__(self, i):
        return self.tolist()[i]

    def __eq__(self, other):
        return isinstance(other, TypedStorage) and self._untyped == other._untyped

    def __hash__(self):
        return hash(self._untyped)

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        head = (f"[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size "
                f"{self.size()}]")
        return (body or " ") + "\n" + head
