"""UntypedStorage: the bytes behind a tensor and all its views (the root NumPy/CuPy buffer)."""


def _root(a):
    while getattr(a, "base", None) is not None and hasattr(a.base, "nbytes") and \
            hasattr(a.base, "dtype"):
        a = a.base
    return a


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

    def __eq__(self, other):
        return isinstance(other, UntypedStorage) and self.data_ptr() == other.data_ptr()

    def __hash__(self):
        return hash(self.data_ptr())

    def __repr__(self):
        return f"UntypedStorage(device={self.device}, nbytes={self.nbytes()})"
