"""torch.func.functionalize, eagerly: ember has no functionalization pass to trace through, so
the wrapped function runs as written (its in-place ops included) and gives the same values.
What torch's eager wrapper also shows is kept: outputs that alias an input (views of it, or an
input it modified) come back in a storage of their own (one per input storage, so they still
alias each other) with the same autograd history, while an input returned untouched is
returned as is."""
import functools

from .._tensor import Tensor, _new
from ..ops.shape import _storage_root
from ..utils._pytree import tree_leaves, tree_map

_REMOVE = ("mutations", "mutations_and_views")


def functionalize(func, *, remove="mutations"):
    """`func` as torch.func.functionalize(func, remove=...) returns it (see the module)."""
    if remove not in _REMOVE:
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for "
            f"remove={remove}. Valid options are:\n     remove='mutations': all inplace and out= "
            "operators will be removed from the program, and replaced with their out-of-place "
            "equivalents.\n     remove='mutations_and_views': In addition to the above, all "
            "aliasing operators {view} will be replaced with their non-aliasing counterparts, "
            "{view}_copy.\n")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, Tensor)]
        versions = [t._version for t in inputs]
        out = func(*args, **kwargs)
        copies = {}         # one new storage per input storage: outputs keep aliasing each other

        def unalias(t):
            if not isinstance(t, Tensor):
                return t
            for i, v in zip(inputs, versions):
                if t is i and t._version == v:
                    return t
            if not any(_aliases(t, i) for i in inputs):
                return t
            c = _new(_in_copy(t.be.xp, t.arr, copies), t.be)
            c._rg, c.grad_fn = t._rg, t.grad_fn
            return c
        return tree_map(unalias, out)
    return wrapped


def _aliases(a, b):
    """Whether two strided tensors may share memory."""
    if a.is_sparse or b.is_sparse or a.be is not b.be:
        return False
    return bool(a.be.xp.may_share_memory(a.arr, b.arr))


def _in_copy(xp, a, copies):
    """`a` with the same strides and offset in a copy of its storage (made once per storage)."""
    root, off = _storage_root(a)
    if not root.flags.c_contiguous:
        return a.copy()
    flat = copies.get(id(root))
    if flat is None:
        flat = copies[id(root)] = root.reshape(-1).view(xp.uint8).copy()
    span = flat[off:]
    span = span[:span.shape[0] - span.shape[0] % a.itemsize].view(a.dtype)
    return xp.lib.stride_tricks.as_strided(span, a.shape, a.strides)
