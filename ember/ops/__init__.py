"""ember's op implementations (elementwise, reduce, shape, index, linalg, ...), bound to Tensor
and the ember namespace by ember/_bind.py.

As torch.ops, this package also reaches ATen's operators (ember.ops.aten.<name>, ops/_aten.py)
and the custom operators of ember.library: ember.ops.<namespace>.<name>."""
import sys


def __getattr__(name):
    if name == "aten":
        from ._aten import aten
        return aten
    library = sys.modules.get("ember.library")    # no custom op can exist before it loads
    ns = library.namespace(name) if library is not None else None
    if ns is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return ns
