"""ember's op implementations (elementwise, reduce, shape, index, linalg, ...), bound to Tensor
and the ember namespace by ember/_bind.py.

As torch.ops, this package also reaches the custom operators of ember.library:
ember.ops.<namespace>.<name>."""


def __getattr__(name):
    from ..library import namespace
    ns = namespace(name)
    if ns is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return ns
