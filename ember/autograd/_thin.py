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


STUB = type("Stub", (), {"__repr__": lambda self: "<stub>"})()   # a stub's `_leaf` mark
_STUBS = {}


def stub(a, be):
    """The (shared, cached) stub of arrays of a's shape and dtype on backend `be`: a Tensor over
    a read-only zero-strided array, marked by `_leaf is STUB`, that never requires grad: what
    a node keeps of an input its backward does not read (shape, dtype, backend)."""
    key = (a.shape, a.dtype, be)
    s = _STUBS.get(key)
    if s is None:
        if len(_STUBS) >= 4096:
            _STUBS.clear()
        xp = be.xp
        arr = xp.broadcast_to(xp.zeros((), a.dtype), a.shape)
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
        s = _new(arr, be)
        s._leaf = STUB
        _STUBS[key] = s
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


def thin1(op, x, saved, y):
    """make_unary / make_view: (inputs, saved) for a node over one input x (the input is a
    Tensor that requires grad, so floating) and output array y."""
    xa = x.arr
    s = stub(xa, x.be)
    sa = s.arr
    if op.saves_out:
        if len(saved) == 2 and saved[0] is xa and saved[1] is not xa:
            return (s,), (sa, saved[1])
        return (s,), tuple(sa if v is xa else v for v in saved)
    for v in saved:
        if v is xa or v is y:
            break
    else:
        return (s,), saved
    ya = stub(y, x.be).arr if hasattr(y, "dtype") and _float(y) else None
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
        if i in keeps or not _float(arr):
            continue
        if inputs is None:
            inputs = list(args)
        s = inputs[i] = stub(arr, a.be)
        swap[id(arr)] = s.arr
    if inputs is None:
        return args, saved
    if not op.saves_out and op.n_out == 1 and hasattr(out, "dtype") and _float(out) and \
            id(out) not in swap:
        swap[id(out)] = stub(out, inputs[0].be if isinstance(inputs[0], Tensor)
                             else _be(args)).arr
    if saved.__class__ is tuple:
        saved = tuple(swap.get(id(v), v) for v in saved)
    return tuple(inputs), saved


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
    return tuple(i for i in (0, 1) if nxt[1 - i] is not None)


def _div(nxt):
    return (0, 1) if nxt[1] is not None else (1,)


_NONE = ()
KEEPS = {
    # results: the backward reads the output only
    **{n: _NONE for n in ("relu", "exp", "exp2", "expm1", "tanh", "sigmoid", "sqrt", "rsqrt",
                          "reciprocal", "tan", "erfinv", "softmax", "log_softmax",
                          "scaled_causal_softmax")},
    # shapes only
    **{n: _NONE for n in ("add", "sub", "rsub", "neg", "sum", "sum_dim", "mean", "mean_dim",
                          "view", "reshape_copy", "transpose", "permute", "t", "expand",
                          "squeeze", "squeeze_dim", "squeeze_dims", "unsqueeze", "select",
                          "slice", "split", "unbind", "cat", "stack", "clone", "clone_format",
                          "alias", "dropout", "max_pool2d", "max_pool2d_with_indices",
                          "max_pool3d", "max_pool3d_with_indices")},
    # the other operand (mul, matmul), the divisor
    "mul": _cross, "matmul": _cross, "div": _div,
    "where": (0,),
}
