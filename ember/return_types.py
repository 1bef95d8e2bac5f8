"""torch.return_types: the named tuples that ops such as max(dim), sort, topk and the linalg
decompositions return. Each prints like torch's structseq and is reachable here by name
(`ember.return_types.max`)."""
import collections

__all__ = []


def make(name, fields=("values", "indices")):
    """The named tuple `name` with `fields` (made once; ops share it)."""
    cls = globals().get(name)
    if cls is not None:
        return cls
    cls = collections.namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    cls.__qualname__ = name
    cls.n_fields = cls.n_sequence_fields = len(fields)     # as torch's structseqs
    cls.n_unnamed_fields = 0

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"
    cls.__repr__ = __repr__

    def __getattr__(self, attr):        # only reached for a missing attribute
        raise AttributeError(f"'torch.return_types.{name}' object has no attribute '{attr}'")

    def __setattr__(self, attr, value):
        if attr in fields:
            raise AttributeError("readonly attribute")
        __getattr__(self, attr)
    cls.__getattr__, cls.__setattr__ = __getattr__, __setattr__
    cls.__delattr__ = lambda self, attr: __setattr__(self, attr, None)
    # pickled by name through this module: the class's own __module__ names torch's
    cls.__reduce__ = lambda self: (_rebuild, (name, fields, tuple(self)))
    globals()[name] = cls
    __all__.append(name)
    return cls


def _rebuild(name, fields, values):
    """The return type `name` (of `fields`) holding `values`: what unpickling one calls."""
    return make(name, fields)(*values)


def out_variant(cls):
    """The type torch returns when `out=` was given: `<name>_out` (sort_out, max_out...), with the
    same fields; any other class as it is."""
    if getattr(cls, "__module__", None) != "torch.return_types" or cls.__name__.endswith("_out"):
        return cls
    return make(cls.__name__ + "_out", cls._fields)
