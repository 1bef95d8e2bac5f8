"""Save only what backward needs: a node keeps the input Tensors its backward reads, and stands
in a stub (shape and dtype, no values) for each other floating input from the moment it is
recorded, as torch's nodes save only what their formula names. An activation that no backward
reads (the input of relu, of an add, of a softmax...) is then freed as soon as the forward
drops it, not when the graph is.

`KEEPS[op name]` declares, for the ops reviewed so far, which inputs the backward (and double
backward) reads: a tuple of input indices or a function of the node's edges (`next`) giving
them. Ops not listed keep every input (their double backward may re-run the forward on them).
A listed op's backward reads no value of a stubbed input (only its shape and dtype), and its
saved floating arrays are kept inputs, stubs or (for ops that save their result) the output;
double backward then builds on those (the output as a Tensor whose grad_fn is the node, as
torch's saved `result`) instead of re-running the forward."""
import weakref

import numpy as np

from .._tensor import Tensor, _new
from .node import STUB


# inputs smaller than this are kept whole: their memory does not matter, and thinning them
# would cost small ops their recording time (ops/_apply.py reads it once, at import)
MIN_BYTES = 1 << 16


def stub(a, be):
    """The (shared, cached) stub of arrays of a's shape and dtype on backend `be`: a Tensor over
    a read-only zero-strided array, marked by `_leaf is STUB`, that never requires grad: what
    a node keeps of an input its backward does not read (shape, dtype, backend)."""
    cache = be.stubs
    key = (a.shape, a.dtype.num)
    s = cache.get(key)
    if s is None:
        if len(cache) >= 4096:
            cache.clear()
        xp = be.xp
        zero = xp.zeros((), a.dtype)
        if isinstance(zero, np.ndarray):
            zero.flags.writeable = False        # never written through (see writable_alias)
        arr = xp.broadcast_to(zero, a.shape)
        s = _new(arr, be)
        s._leaf = STUB
        cache[key] = s
        _ARRAYS[id(arr)] = arr
    return s


_ARRAYS = weakref.WeakValueDictionary()     # id -> every stub array still in use


def is_stub(a):
    return type(a) is Tensor and a._leaf is STUB


def is_stub_array(v):
    return _ARRAYS.get(id(v)) is v


def _float(a):
    k = a.dtype.kind
    return k == "f" or k == "c" or k == "V"


def _stubbable(a, be):
    """A big dense floating array (sparse inputs and small ones are kept)."""
    return a.nbytes >= MIN_BYTES and _float(a) and isinstance(a, be.xp.ndarray)


def thin1(op, x, saved, y):
    """make_unary / make_view: (inputs, saved) for a node over one input x (the input is a
    Tensor that requires grad, so floating) and output array y."""
    xa = x.arr
    if not _stubbable(xa, x.be):
        return (x,), saved
    s = x.be.stubs.get((xa.shape, xa.dtype.num))
    if s is None:
        s = stub(xa, x.be)
    sa = s.arr
    if op.saves_out:
        if len(saved) == 2 and saved[0] is xa:
            return (s,), (sa, saved[1])
        return (s,), tuple(sa if v is xa else v for v in saved)
    for v in saved:
        if v is xa or v is y:
            break
    else:
        return (s,), saved
    ya = stub(y, x.be).arr if hasattr(y, "dtype") and _stubbable(y, x.be) else None
    return (s,), tuple(sa if v is xa else ya if (v is y and ya is not None) else v
                       for v in saved)


def thin(op, args, arrays, nxt, saved, out):
    """(inputs, saved) for a node of a KEEPS op: the floating Tensor inputs its backward does
    not read become stubs, in `inputs` and (by identity) in `saved`; for an op that does not
    save its result, the single output array in `saved` becomes a stub too. Nothing is thinned
    when an input reached the forward as another array (a promoted copy), since double
    backward could not tell it apart."""
    keeps = op.keeps
    if keeps.__class__ is not tuple:
        keeps = keeps(nxt)
    inputs = None
    swap = {}
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            continue
        arr = a.arr
        if arrays[i] is not arr:
            return args, saved
        if i in keeps or arr.nbytes < MIN_BYTES or not _stubbable(arr, a.be):
            continue                # (the size first: most inputs are small)
        if inputs is None:
            inputs = list(args)
        s = inputs[i] = stub(arr, a.be)
        swap[id(arr)] = s.arr
    if inputs is None:
        return args, saved
    if saved.__class__ is not tuple:
        return tuple(inputs), saved
    if not op.saves_out and op.n_out == 1 and id(out) not in swap and \
            any(v is out for v in saved) and _float(out):
        swap[id(out)] = stub(out, _be(args)).arr
    if swap:
        saved = tuple(swap.get(id(v), v) for v in saved)
    return tuple(inputs), saved


def thin2(op, x, y, xa, ya, nx, ny, saved):
    """make_binary's `thin`: x a Tensor, y a Tensor or a scalar, xa/ya what the forward got."""
    keeps = op.keeps
    if keeps.__class__ is not tuple:
        keeps = keeps((nx, ny))
    if xa is not x.arr:
        return (x, y), saved
    sx = sy = None
    if 0 not in keeps and _stubbable(xa, x.be):
        be = x.be
        sx = be.stubs.get((xa.shape, xa.dtype.num))
        if sx is None:
            sx = stub(xa, be)
    if ny is None and not isinstance(y, Tensor):
        if sx is None:
            return (x, y), saved
        if len(saved) == 2 and saved[0] is xa:
            return (sx, y), (sx.arr, saved[1])
        return (sx, y), tuple(sx.arr if v is xa else v for v in saved)
    if isinstance(y, Tensor):
        if ya is not y.arr:
            return (x, y), saved
        if 1 not in keeps and _stubbable(ya, y.be):
            sy = stub(ya, y.be)
    if sx is None:
        if sy is None:
            return (x, y), saved
        ins = (x, sy)
    else:
        ins = (sx, y) if sy is None else (sx, sy)
    if len(saved) == 2 and saved[0] is xa and saved[1] is ya:
        return ins, (xa if sx is None else sx.arr, ya if sy is None else sy.arr)
    return ins, tuple(sx.arr if sx is not None and v is xa else
                      sy.arr if sy is not None and v is ya else v for v in saved)


def _be(args):
    return next(a.be for a in args if isinstance(a, Tensor))


def has_stubs(node):
    for a in node.inputs:
        if type(a) is Tensor and a._leaf is STUB:
            return True
    return False


# ---- declarations ------------------------------------------------------------------------------
def _cross(nxt):
    """mul/matmul read input i only for the gradient of the other input (derivatives.yaml)."""
    if nxt[1] is None:
        return _ZERO if nxt[0] is None else _ONE
    return _FIRST if nxt[0] is None else _BOTH


def _div(nxt):
    return _BOTH if nxt[1] is not None else _ONE


_ZERO, _FIRST, _ONE, _BOTH = (), (0,), (1,), (0, 1)


_NONE = ()
KEEPS = {
    # results: the backward reads the output only
    **{n: _NONE for n in ("relu", "exp", "exp2", "expm1", "tanh", "sigmoid", "sqrt", "rsqrt",
                          "reciprocal", "tan", "softmax", "log_softmax",
                          "scaled_causal_softmax")},
    # shapes only
    **{n: _NONE for n in ("add", "sub", "rsub", "rsub_tensor", "neg", "sum", "sum_dim", "mean",
                          "mean_dim",
                          "view", "reshape_alias", "reshape_copy", "transpose", "permute", "t",
                          "expand", "squeeze", "squeeze_dim", "squeeze_dims", "unsqueeze", "select",
                          "slice", "split", "unbind", "cat", "stack", "clone", "clone_format",
                          "alias", "dropout", "max_pool2d", "max_pool2d_with_indices",
                          "max_pool3d", "max_pool3d_with_indices")},
    # the other operand (mul, matmul), the divisor
    "mul": _cross, "matmul": _cross, "div": _div,
    "where": (0,),
}
