"""The registries behind `Module._parameters`, `_buffers` and `_modules`.

Every entry is also mirrored into the owning module's `__dict__`, so `self.weight` is a plain
attribute read instead of a `__getattr__` call; the registry keeps the mirror in step even when
user code edits it directly (`del m._parameters["weight"]`)."""
import weakref


class _Registry(dict):
    """A dict that mirrors every write into its module's `__dict__` (held weakly).

    A name the module's class defines (`self.type = nn.Embedding(...)`) is not mirrored: torch
    registers it all the same, but `module.type` still finds the class's attribute first."""
    __slots__ = ("_owner",)

    def __init__(self, owner, items=()):
        dict.__init__(self)
        self._owner = weakref.ref(owner)
        for k, v in items:
            self[k] = v

    def _mirror(self):
        owner = self._owner()
        return {} if owner is None else owner.__dict__

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        owner = self._owner()
        if owner is not None and not hasattr(type(owner), key):
            owner.__dict__[key] = value

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        self._mirror().pop(key, None)

    def pop(self, key, *default):
        if key in self:
            self._mirror().pop(key, None)
            return dict.pop(self, key)
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self):
        key, value = dict.popitem(self)
        self._mirror().pop(key, None)
        return key, value

    def clear(self):
        mirror = self._mirror()
        for key in self:
            mirror.pop(key, None)
        dict.clear(self)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def __ior__(self, other):
        self.update(other)
        return self

    def __reduce__(self):
        return (dict, (dict(self),))

    def copy(self):
        return dict(self)
