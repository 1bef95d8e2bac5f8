"""Double backward (`create_graph=True`) by re-running an op's xp-pure code on Tensors.

Every op's `fwd(xp, *arrays, *static)` and `bwd(xp, g, *saved)` are written against an array
namespace. To make a node's backward differentiable, the engine calls `differentiable_vjp`:
the op's forward is re-run on the node's input Tensors and its backward on the incoming
gradient, both with `TXP` as `xp`. TXP maps the NumPy functions ops use to ember functions, and
`DArray` gives an ember Tensor the NumPy array interface ops expect (`.dtype` is a NumPy dtype,
`.sum(axis=, keepdims=)`, `.size` an int, item assignment). Everything computed is recorded, so
the gradients come back as Tensors connected to the graph.

Ops whose code cannot run this way have an entry in `_FWD`/`_BWD` (a replacement written against
TXP) or fail with a RuntimeError that names the op and the unsupported function."""
import contextlib

import numpy as np

from .grad_mode import STATE
from .node import CLOCK, PackedSaved
from .._sparse_coo import SparseCOO
from ._thin import has_stubs

__all__ = ["differentiable_vjp", "DArray", "TXP", "context"]


class _Context:
    """The backend and node of the differentiable_vjp call in progress (TXP is a singleton),
    and the differentiable values its code read as raw arrays (masks, comparisons)."""
    __slots__ = ("be", "node", "reads")


_CTX = _Context()
_CTX.be = _CTX.node = _CTX.reads = None


@contextlib.contextmanager
def context(be, node=None):
    """Run TXP code for backend `be` (constants are created there; errors name `node`)."""
    prev = _CTX.be, _CTX.node, _CTX.reads
    _CTX.be, _CTX.node, _CTX.reads = be, node, {}
    try:
        yield TXP
    finally:
        _CTX.be, _CTX.node, _CTX.reads = prev


def _unsupported(what):
    node = _CTX.node
    name = node.name() if node is not None else "this op"
    return RuntimeError(f"double backward (create_graph=True) is not supported for {name}: "
                        f"{what}")


# ---- Tensor <-> DArray ----------------------------------------------------------------------
def _ember():
    import ember
    return ember


def _const(a, dtype=None):
    """A constant Tensor on the current backend from an array, NumPy scalar or Python value."""
    from .._tensor import _new
    be = _CTX.be
    xp = be.xp
    if not isinstance(a, xp.ndarray):
        a = xp.asarray(a) if dtype is None else xp.asarray(a, dtype=dtype)
    elif dtype is not None and a.dtype != dtype:
        a = a.astype(dtype)
    return _new(a, be)


def _t(x):
    """Tensor operand for an ember call: DArrays unwrap, arrays become constants, Python
    scalars stay scalars (ember's weak-scalar promotion matches NumPy 2's)."""
    tx = type(x)
    if tx is DArray:
        return x.t
    if tx in (int, float, bool, complex) or x is None:
        return x
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, SparseCOO):
        return _sparse(x)
    return _const(x)


def _sparse(x):
    """A sparse gradient (embedding's with sparse=True) whose values were computed on TXP: a
    sparse Tensor made from them, differentiable as torch's sparse_coo_tensor."""
    from ..sparse._coo import _coo_op
    from ..ops._apply import apply
    return apply(_coo_op, (_tt(x.values),), (x.indices, x.shape, x.coalesced))


def _tt(x):
    """Like _t, but Python scalars also become (0-d) constant Tensors."""
    t = _t(x)
    if t is None or type(t) in (int, float, bool, complex):
        return _const(np.asarray(t))
    return t


def _w(t):
    return DArray(t)


def _as_darray(x):
    return x if type(x) is DArray else DArray(_tt(x))


def _raw(x):
    """A raw array for a non-differentiable computation (masks, indices, predicates)."""
    if type(x) is DArray:
        t = x.t
        if t._rg and _CTX.reads is not None:
            _CTX.reads[id(t)] = t
        return t.arr
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return x.arr
    return x


class DArray:
    """An ember Tensor seen through the NumPy array interface (see the module docstring).

    Item assignment is functional: `a[idx] = v` replaces the wrapped Tensor by a new one, so
    backward code that fills a fresh `xp.zeros(...)` records a differentiable graph. Views
    (reshape, transpose, basic indexing, ...) remember their base and how to write back into it,
    so writes through a view reach the base, as with NumPy's views."""
    __slots__ = ("t", "base", "back")

    def __init__(self, t, base=None, back=None):
        self.t, self.base, self.back = t, base, back

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy ufuncs called on a DArray (np.floor(x), ndarray * x) run as TXP's."""
        if method == "at" and ufunc.__name__ == "add":
            return TXP.add_at(*inputs)
        if method != "__call__":
            raise _unsupported(f"its code calls numpy.{ufunc.__name__}.{method}")
        return getattr(TXP, ufunc.__name__)(*inputs, **kwargs)

    def _view(self, t, back):
        return DArray(t, self, back)

    def written(self):
        """Call after replacing self.t in place: propagate the write into the bases."""
        a = self
        while a.base is not None:
            a.base.t = a.back(a.t)
            a = a.base

    # metadata
    shape = property(lambda self: self.t.arr.shape)
    ndim = property(lambda self: self.t.arr.ndim)
    size = property(lambda self: self.t.arr.size)
    dtype = property(lambda self: self.t.arr.dtype)
    itemsize = property(lambda self: self.t.arr.itemsize)
    strides = property(lambda self: self.t.arr.strides)
    flags = property(lambda self: self.t.arr.flags)

    def __repr__(self):
        return f"DArray({self.t!r})"

    def __len__(self):
        return len(self.t.arr)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        if self.t.requires_grad:
            raise _unsupported("its code converts a differentiable value to a raw array")
        a = self.t.be.to_host(self.t.arr)
        return a if dtype is None else a.astype(dtype)

    def __bool__(self):
        return bool(self.t.arr)

    def __float__(self):
        return float(self.t.arr)

    def __int__(self):
        return int(self.t.arr)

    def __index__(self):
        return int(self.t.arr)

    def item(self, *args):
        return self.t.arr.item(*args)

    def get(self):
        """CuPy's device-to-host copy (used for error messages and host-side checks)."""
        return self.t.be.to_host(self.t.arr)

    def tolist(self):
        return self.t.be.to_host(self.t.arr).tolist()

    # conversions and views
    @property
    def T(self):
        return self.transpose()

    @property
    def real(self):
        return self if self.dtype.kind != "c" else _w(_ember().real(self.t))

    @property
    def imag(self):
        return _w(_ember().imag(self.t))

    def conj(self):
        return self if self.dtype.kind != "c" else _w(_ember().conj(self.t))

    conjugate = conj

    def astype(self, dtype, copy=True, **kwargs):
        from .._dtype import to_dtype
        dtype = np.dtype(dtype)
        if dtype == self.t.arr.dtype:
            return DArray(self.t)
        return _w(self.t.to(to_dtype(dtype)))

    def copy(self, order="C"):
        return DArray(self.t)       # a new wrapper: item assignment on it never reaches self

    def view(self, dtype=None, type=None):
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self._view(self.t, lambda c: c)
        if self.dtype.kind == "c" and self.ndim and np.dtype(dtype) == self.t.arr.real.dtype:
            return self._real_pairs()
        raise _unsupported("its code reinterprets memory with .view(dtype)")

    def _real_pairs(self):
        """A complex array viewed as (real, imag) pairs along its last axis (of a copy: writes
        reach self functionally, through the view's write-back)."""
        e, old = _ember(), self.shape
        return self._view(e.view_as_real(self.t.clone()).reshape(old[:-1] + (-1,)),
                          lambda c: e.view_as_complex(c.reshape(old + (2,))))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        e, old = _ember(), self.shape
        return self._view(e.reshape(self.t, tuple(int(s) for s in shape)),
                          lambda c: e.reshape(c, old))

    def ravel(self, order="C"):
        return self.reshape(-1)

    def flatten(self, order="C"):
        return _w(_ember().reshape(self.t, (-1,)))

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        if not axes:
            axes = tuple(range(self.ndim - 1, -1, -1))
        axes = tuple(int(a) for a in axes)
        inv = tuple(int(i) for i in np.argsort([a % max(self.ndim, 1) for a in axes]))
        e = _ember()
        return self._view(e.permute(self.t, axes), lambda c: e.permute(c, inv))

    def swapaxes(self, a, b):
        e = _ember()
        return self._view(e.transpose(self.t, a, b), lambda c: e.transpose(c, a, b))

    def moveaxis(self, source, destination):
        e = _ember()
        return self._view(e.movedim(self.t, source, destination),
                          lambda c: e.movedim(c, destination, source))

    def _reshaped(self, t):
        e, old = _ember(), self.shape
        return self._view(t, lambda c: e.reshape(c, old))

    def squeeze(self, axis=None):
        return TXP.squeeze(self, axis)

    def __getitem__(self, idx):
        t = _getitem(self.t, idx)
        if not _is_basic(idx if isinstance(idx, tuple) else (idx,)):
            return _w(t)                       # advanced indexing copies
        return self._view(t, lambda c: _setitem(self.t, idx, c))

    def __setitem__(self, idx, value):
        self.t = _setitem(self.t, idx, value)
        self.written()

    def fill(self, value):
        self.t = _tt(TXP.full(self.shape, value, self.dtype))
        self.written()

    # reductions
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return TXP.sum(self, axis, dtype, out, keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return TXP.mean(self, axis, dtype, out, keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return TXP.prod(self, axis, dtype, out, keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return TXP.max(self, axis, out, keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return TXP.min(self, axis, out, keepdims)

    def cumsum(self, axis=None, dtype=None, out=None):
        return TXP.cumsum(self, axis, dtype)

    def cumprod(self, axis=None, dtype=None, out=None):
        return TXP.cumprod(self, axis, dtype)

    def clip(self, min=None, max=None):
        return TXP.clip(self, min, max)

    def dot(self, other):
        return TXP.matmul(self, other)

    def round(self, decimals=0):
        return TXP.round(self, decimals)

    def _raw_method(name):
        def fn(self, *args, **kwargs):
            return _w(_const(getattr(self.t.arr, name)(*args, **kwargs)))
        fn.__name__ = name
        return fn

    argmax = _raw_method("argmax")
    argmin = _raw_method("argmin")
    argsort = _raw_method("argsort")
    del _raw_method

    def nonzero(self):
        return tuple(_w(_const(a)) for a in self.t.arr.nonzero())

    def any(self, axis=None, out=None, keepdims=False):
        return _w(_const(self.t.arr.any(axis=axis, keepdims=keepdims)))

    def all(self, axis=None, out=None, keepdims=False):
        return _w(_const(self.t.arr.all(axis=axis, keepdims=keepdims)))

    # arithmetic: ember's operators (differentiable, torch's promotion)
    def __add__(self, o):
        return _w(self.t + _t(o))

    def __radd__(self, o):
        return _w(_t(o) + self.t)

    def __sub__(self, o):
        return _w(self.t - _t(o))

    def __rsub__(self, o):
        return _w(_t(o) - self.t)

    def __mul__(self, o):
        return _w(self.t * _t(o))

    def __rmul__(self, o):
        return _w(_t(o) * self.t)

    def __truediv__(self, o):
        return _w(self.t / _t(o))

    def __rtruediv__(self, o):
        return _w(_t(o) / self.t)

    # augmented assignment writes the result into self (and its bases), as on an ndarray
    def __iadd__(self, o):
        return _into(self, self + o)

    def __isub__(self, o):
        return _into(self, self - o)

    def __imul__(self, o):
        return _into(self, self * o)

    def __itruediv__(self, o):
        return _into(self, self / o)

    def __floordiv__(self, o):
        return _w(self.t // _t(o))

    def __rfloordiv__(self, o):
        return _w(_t(o) // self.t)

    def __mod__(self, o):
        return _w(self.t % _t(o))

    def __rmod__(self, o):
        return _w(_t(o) % self.t)

    def __pow__(self, o):
        return _w(self.t ** _t(o))

    def __rpow__(self, o):
        return _w(_t(o) ** self.t)

    def __matmul__(self, o):
        return _w(self.t @ _tt(o))

    def __rmatmul__(self, o):
        return _w(_tt(o) @ self.t)

    def __neg__(self):
        if self.dtype == np.bool_:
            return ~self
        return _w(-self.t)

    def __pos__(self):
        return self

    def __abs__(self):
        return _w(_ember().abs(self.t))

    # comparisons and logic: never differentiable, computed on the raw arrays
    def _raw_binary(f):
        def fn(self, o):
            return _w(_const(f(_raw(self), _raw(o))))
        return fn

    __eq__ = _raw_binary(lambda a, b: a == b)
    __ne__ = _raw_binary(lambda a, b: a != b)
    __lt__ = _raw_binary(lambda a, b: a < b)
    __le__ = _raw_binary(lambda a, b: a <= b)
    __gt__ = _raw_binary(lambda a, b: a > b)
    __ge__ = _raw_binary(lambda a, b: a >= b)
    __and__ = __rand__ = _raw_binary(lambda a, b: a & b)
    __or__ = __ror__ = _raw_binary(lambda a, b: a | b)
    __xor__ = __rxor__ = _raw_binary(lambda a, b: a ^ b)
    __lshift__ = _raw_binary(lambda a, b: a << b)
    __rshift__ = _raw_binary(lambda a, b: a >> b)
    del _raw_binary
    __hash__ = object.__hash__

    def __invert__(self):
        return _w(_const(~self.t.arr))


# ---- indexing: private ops on raw NumPy indices ----------------------------------------------
def _norm_index(idx):
    """A NumPy index with DArrays/Tensors replaced by raw arrays and boolean arrays by their
    nonzero() index arrays (NumPy's own rule), so that add.at / scatter accept it."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        i = _raw(i)
        if isinstance(i, list):
            i = np.asarray(i)
        if hasattr(i, "dtype") and getattr(i, "ndim", 0) > 0 and i.dtype == np.bool_:
            out.extend(i.nonzero())
        elif hasattr(i, "dtype") and getattr(i, "ndim", 1) == 0 and i.dtype == np.bool_:
            out.append(bool(i))
        else:
            out.append(i)
    return tuple(out)


def _is_basic(idx):
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer))
               for i in idx)


def add_at(xp, out, idx, v):
    """out[idx] += v with repeated indices accumulating, on any namespace (TXP included)."""
    if xp is TXP:
        out.t = _apply_op(_INDEX_ADD, (out.t, _t(v)), (idx,))
        out.written()
        return
    if _is_basic(idx):
        out[idx] += v
    elif xp is np:
        np.add.at(out, idx, v)
    else:
        import cupyx
        cupyx.scatter_add(out, idx, v)


def _apply_op(op, args, static):
    from ..ops._apply import apply
    return apply(op, args, static)


def _getitem(t, idx):
    return _apply_op(_GETITEM, (t,), (_norm_index(idx),))


def _setitem(t, idx, value):
    v = _t(value)
    from .._tensor import Tensor
    if not isinstance(v, Tensor):
        v = _const(np.asarray(v), dtype=t.arr.dtype)
    return _apply_op(_SETITEM, (t, v), (_norm_index(idx),))


def _register_index_ops():
    from ..ops._registry import OPS, op
    if "ho_getitem" in OPS:
        return OPS["ho_getitem"], OPS["ho_setitem"], OPS["ho_index_add"]

    @op("ho_getitem", saves=None, node="IndexBackward0")
    def getitem(xp, x, idx):
        return x[idx], (x.shape, idx)

    @getitem.vjp
    def _(xp, g, shape, idx):
        out = xp.zeros(shape, g.dtype)
        add_at(xp, out, idx, g)
        return (out,)

    @op("ho_setitem", saves=None, node="IndexPutBackward0")
    def setitem(xp, x, v, idx):
        out = x.copy()
        out[idx] = v
        return out, (idx,)

    @setitem.vjp
    def _(xp, g, idx):
        gx = g.copy()
        gx[idx] = 0
        return gx, g[idx]

    @op("ho_index_add", saves=None, node="IndexPutBackward0")
    def index_add(xp, x, v, idx):
        out = x.copy()
        add_at(xp, out, idx, xp.broadcast_to(v, out[idx].shape))
        return out, (idx,)

    @index_add.vjp
    def _(xp, g, idx):
        return g, g[idx]

    return getitem, setitem, index_add


_GETITEM, _SETITEM, _INDEX_ADD = _register_index_ops()


def _along_index(indices, axis, ndim):
    """The fancy index that makes x[index] == take_along_axis(x, indices, axis)."""
    indices = _raw(indices)
    axis = axis + ndim if axis < 0 else axis
    xp = _CTX.be.xp
    idx = []
    for d in range(ndim):
        if d == axis:
            idx.append(indices)
        else:
            shape = [1] * ndim
            shape[d] = indices.shape[d]
            idx.append(xp.arange(indices.shape[d]).reshape(shape))
    return tuple(idx)


# ---- the namespace ---------------------------------------------------------------------------
def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) + ndim if a < 0 else int(a) for a in axis))


_UNARY = {  # NumPy name -> ember name, for elementwise functions of one array
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "square": "square", "sin": "sin",
    "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "abs": "abs", "absolute": "abs", "fabs": "abs", "negative": "neg",
    "sign": "sign", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "fix": "trunc",
    "rint": "round", "reciprocal": "reciprocal", "positive": "clone", "sinc": "sinc",
    "angle": "angle", "logical_not": None, "i0": "i0",
}
_BINARY = {  # NumPy name -> ember name, for elementwise functions of two arrays
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
    "power": "pow", "float_power": "pow", "maximum": "maximum", "minimum": "minimum",
    "fmax": "fmax", "fmin": "fmin", "arctan2": "atan2", "hypot": "hypot", "remainder": "remainder",
    "mod": "remainder", "fmod": "fmod", "floor_divide": "floor_divide", "logaddexp": "logaddexp",
    "copysign": "copysign", "xlogy": "xlogy", "nextafter": "nextafter",
}
_PREDICATES = ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "logical_not",
               "logical_and", "logical_or", "logical_xor", "isclose", "equal", "not_equal",
               "less", "less_equal", "greater", "greater_equal", "bitwise_and", "bitwise_or",
               "bitwise_xor", "invert", "bitwise_not", "argmax", "argmin", "argsort",
               "nonzero", "count_nonzero", "searchsorted", "unravel_index", "array_equal",
               "allclose", "all", "any", "indices", "tril_indices", "triu_indices",
               "left_shift", "right_shift", "unique", "shape", "ndim", "size", "bincount",
               "isreal", "iscomplex", "digitize", "lexsort", "flatnonzero")
_VALUED = ("bincount",)           # predicates whose result would carry a gradient
_PASSTHROUGH = ("dtype", "float16", "float32", "float64", "complex64", "complex128", "int8",
                "int16", "int32", "int64", "uint8", "bool_", "intp", "pi", "e", "inf", "nan",
                "newaxis", "finfo", "iinfo", "errstate", "result_type", "promote_types",
                "can_cast", "issubdtype", "floating", "integer", "complexfloating", "number",
                "broadcast_shapes", "ndarray", "generic")


class _TXP:
    """The array namespace whose functions build differentiable ember graphs."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _UNARY and _UNARY[name] is not None:
            return _Ufunc(name, getattr(_ember(), _UNARY[name]), 1)
        if name in _BINARY:
            return _Ufunc(name, getattr(_ember(), _BINARY[name]), 2)
        if name in _PREDICATES:
            return _predicate(getattr(_CTX.be.xp, name), name)
        if name in _PASSTHROUGH:
            return getattr(np, name)
        raise _unsupported(f"its code uses xp.{name}, which the differentiable namespace does "
                           "not provide")

    # creation: constants on the current backend
    def asarray(self, a, dtype=None, **kwargs):
        if type(a) is DArray:
            return a if dtype is None else a.astype(dtype)
        if isinstance(a, (list, tuple)) and any(type(v) is DArray for v in a):
            return self.stack(list(a))
        return _w(_const(a, dtype))

    array = asarray

    def ascontiguousarray(self, a, dtype=None):
        return self.asarray(a, dtype)

    def _factory(name):
        def fn(self, *args, **kwargs):
            kwargs = {k: v for k, v in kwargs.items() if k not in ("order", "like")}
            return _w(_const(getattr(_CTX.be.xp, name)(*args, **kwargs)))
        fn.__name__ = name
        return fn

    zeros = _factory("zeros")
    ones = _factory("ones")
    empty = _factory("zeros")         # deterministic: an empty buffer is filled before use
    full = _factory("full")
    eye = _factory("eye")
    arange = _factory("arange")
    linspace = _factory("linspace")
    del _factory

    def zeros_like(self, a, dtype=None, **kwargs):
        return self.zeros(a.shape, a.dtype if dtype is None else dtype)

    def ones_like(self, a, dtype=None, **kwargs):
        return self.ones(a.shape, a.dtype if dtype is None else dtype)

    empty_like = zeros_like

    def full_like(self, a, fill_value, dtype=None, **kwargs):
        return self.full(a.shape, fill_value, a.dtype if dtype is None else dtype)

    # elementwise with extra arguments
    def where(self, cond, a=None, b=None):
        if a is None and b is None:
            return tuple(_w(_const(i)) for i in _CTX.be.xp.nonzero(_raw(cond)))
        c = _raw(cond)
        if not hasattr(c, "dtype"):
            c = np.asarray(c)
        if c.dtype != np.bool_:
            c = c != 0
        e = _ember()
        a, b = _t(a), _t(b)
        if type(a) in (int, float, bool) and type(b) in (int, float, bool):
            a, b = _tt(a), _tt(b)       # NumPy's where(c, 1.0, 0.2) is float64, not default
        return _w(e.where(_const(c), a, b))

    def clip(self, x, lo=None, hi=None, **kwargs):
        lo, hi = _t(lo), _t(hi)
        return _w(_ember().clamp(_tt(x), lo, hi))

    def round(self, x, decimals=0):
        return _w(_ember().round(_tt(x), decimals=decimals))

    around = round

    def nan_to_num(self, x, copy=True, nan=0.0, posinf=None, neginf=None):
        return _w(_ember().nan_to_num(_tt(x), nan=nan, posinf=posinf, neginf=neginf))

    def conj(self, x):
        return x.conj() if type(x) is DArray else _w(_const(np.conj(x)))

    conjugate = conj

    def real(self, x):
        return x.real if type(x) is DArray else _w(_const(np.real(x)))

    def imag(self, x):
        return x.imag if type(x) is DArray else _w(_const(np.imag(x)))

    # reductions
    def sum(self, x, axis=None, dtype=None, out=None, keepdims=False):
        return self._reduce("sum", x, axis, dtype, keepdims)

    def mean(self, x, axis=None, dtype=None, out=None, keepdims=False):
        return self._reduce("mean", x, axis, dtype, keepdims)

    def _reduce(self, name, x, axis, dtype, keepdims):
        t = _tt(x)
        if dtype is not None and np.dtype(dtype) != t.arr.dtype:
            from .._dtype import to_dtype
            t = t.to(to_dtype(dtype))
        elif name == "sum" and t.arr.dtype.kind in "bu" and t.arr.dtype.itemsize < 8:
            from .._dtype import int64
            t = t.to(int64)            # NumPy sums bool/small ints in the platform int
        axes = _axes(axis, t.ndim)
        if not axes:
            return _w(t)
        return _w(getattr(_ember(), name)(t, axes, keepdims))

    def prod(self, x, axis=None, dtype=None, out=None, keepdims=False):
        t = _tt(x)
        if dtype is not None and np.dtype(dtype) != t.arr.dtype:
            from .._dtype import to_dtype
            t = t.to(to_dtype(dtype))
        e = _ember()
        for a in reversed(_axes(axis, t.ndim)):
            t = e.prod(t, a, keepdim=keepdims)
        return _w(t)

    def max(self, x, axis=None, out=None, keepdims=False, **kwargs):
        return self._extreme("amax", x, axis, keepdims)

    def min(self, x, axis=None, out=None, keepdims=False, **kwargs):
        return self._extreme("amin", x, axis, keepdims)

    amax, amin = max, min

    def _extreme(self, name, x, axis, keepdims):
        t = _tt(x)
        axes = _axes(axis, t.ndim)
        if not axes:
            return _w(t)
        return _w(getattr(_ember(), name)(t, axes, keepdims))

    def cumsum(self, x, axis=None, dtype=None, out=None):
        return self._scan("cumsum", x, axis, dtype)

    def cumprod(self, x, axis=None, dtype=None, out=None):
        return self._scan("cumprod", x, axis, dtype)

    def _scan(self, name, x, axis, dtype):
        t = _tt(x)
        if axis is None:
            t, axis = _ember().reshape(t, (-1,)), 0
        if dtype is not None and np.dtype(dtype) != t.arr.dtype:
            from .._dtype import to_dtype
            t = t.to(to_dtype(dtype))
        fn = getattr(_ember(), name, None)
        if fn is None:
            raise _unsupported(f"its code uses xp.{name}, which ember does not provide")
        return _w(fn(t, int(axis)))

    # shapes (views of a DArray write back into it, as NumPy's do)
    def reshape(self, x, shape, order="C"):
        return _as_darray(x).reshape(shape)

    def transpose(self, x, axes=None):
        return _as_darray(x).transpose(*(() if axes is None else (axes,)))

    def swapaxes(self, x, a, b):
        return _as_darray(x).swapaxes(a, b)

    def moveaxis(self, x, source, destination):
        return _as_darray(x).moveaxis(source, destination)

    def expand_dims(self, x, axis):
        d = _as_darray(x)
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        n = d.ndim + len(axes)
        t, e = d.t, _ember()
        for a in sorted(int(a) + n if a < 0 else int(a) for a in axes):
            t = e.unsqueeze(t, a)
        return d._reshaped(t)

    def squeeze(self, x, axis=None):
        d = _as_darray(x)
        if axis is None:
            axes = tuple(i for i, s in enumerate(d.shape) if s == 1)
        else:
            axes = _axes(axis, d.ndim)
            for a in axes:
                if d.shape[a] != 1:
                    raise ValueError("cannot select an axis to squeeze out which has size not "
                                     "equal to one")
        if type(axis) is int:       # (one dim: torch's squeeze.dim, SqueezeBackward1)
            return d._reshaped(_ember().squeeze(d.t, axes[0]))
        return d._reshaped(_ember().squeeze(d.t, axes)) if axes else d.view()

    def broadcast_to(self, x, shape):
        t = _tt(x)
        shape = tuple(int(s) for s in shape)
        return _w(t) if tuple(t.shape) == shape else _w(t.expand(shape))

    def broadcast_arrays(self, *arrays):
        shape = np.broadcast_shapes(*[np.shape(_raw(a)) for a in arrays])
        return [self.broadcast_to(a, shape) for a in arrays]

    def flip(self, x, axis=None):
        t = _tt(x)
        return _w(_ember().flip(t, _axes(axis, t.ndim)))

    def concatenate(self, arrays, axis=0, **kwargs):
        ts = [_tt(a) for a in arrays]
        if axis is None:
            ts, axis = [_ember().reshape(t, (-1,)) for t in ts], 0
        return _w(_ember().cat(ts, axis))

    def stack(self, arrays, axis=0, **kwargs):
        return _w(_ember().stack([_tt(a) for a in arrays], axis))

    def take_along_axis(self, x, indices, axis):
        t = _tt(x)
        if axis is None:
            t, axis = _ember().reshape(t, (-1,)), 0
        return _w(_getitem(t, _along_index(indices, axis, t.ndim)))

    def put_along_axis(self, arr, indices, values, axis):
        if type(arr) is not DArray:
            raise _unsupported("xp.put_along_axis into a non-differentiable array")
        arr.t = _setitem(arr.t, _along_index(indices, axis, arr.ndim),
                         self.broadcast_to(values, np.shape(_raw(indices))))
        arr.written()

    def take(self, x, indices, axis=None):
        t = _tt(x)
        if axis is None:
            return _w(_getitem(_ember().reshape(t, (-1,)), (indices,)))
        axis = axis + t.ndim if axis < 0 else axis
        return _w(_getitem(t, (slice(None),) * axis + (indices,)))

    def copyto(self, dst, src, casting="same_kind", where=True):
        if type(dst) is not DArray:
            raise _unsupported("xp.copyto into a non-differentiable array")
        val = self.broadcast_to(src, dst.shape).astype(dst.dtype)
        dst.t = val.t if where is True else self.where(where, val, dst).t
        dst.written()

    # linear algebra
    def matmul(self, a, b, out=None):
        return _into(out, _w(_ember().matmul(_tt(a), _tt(b))))

    def dot(self, a, b, out=None):
        ta, tb = _tt(a), _tt(b)
        if ta.ndim == 0 or tb.ndim == 0:
            return _into(out, _w(ta * tb))
        return _into(out, _w(_ember().matmul(ta, tb)))

    def outer(self, a, b):
        e = _ember()
        return _w(e.reshape(_tt(a), (-1, 1)) * e.reshape(_tt(b), (1, -1)))

    def einsum(self, subscripts, *operands, out=None, **kwargs):
        return _into(out, _w(_ember().einsum(subscripts, *[_tt(o) for o in operands])))

    def tensordot(self, a, b, axes=2):
        return _w(_ember().tensordot(_tt(a), _tt(b), axes))

    def fill_diagonal(self, a, val, wrap=False):
        """np.fill_diagonal, functionally (a must be a DArray); NumPy's flat-stride rule."""
        if type(a) is not DArray:
            raise _unsupported("xp.fill_diagonal into a non-differentiable array")
        xp = _CTX.be.xp
        if a.ndim == 2:
            step, end = a.shape[1] + 1, None if wrap else a.shape[1] * a.shape[1]
        else:
            step, end = 1 + int(np.cumprod(a.shape[:-1]).sum()), None
        flat = xp.arange(0, a.size if end is None else min(end, a.size), step)
        a[xp.unravel_index(flat, a.shape)] = val

    def tril(self, x, k=0):
        return _w(_ember().tril(_tt(x), k))

    def triu(self, x, k=0):
        return _w(_ember().triu(_tt(x), k))

    def diagonal(self, x, offset=0, axis1=0, axis2=1):
        return _w(_ember().diagonal(_tt(x), offset, axis1, axis2))

    def roll(self, x, shift, axis=None):
        t = _tt(x)
        if axis is None:
            return _w(_ember().roll(_ember().reshape(t, (-1,)), shift, 0).reshape(t.shape))
        return _w(_ember().roll(t, shift, axis))

    def tile(self, x, reps):
        return _w(_ember().tile(_tt(x), (reps,) if isinstance(reps, int) else tuple(reps)))

    def repeat(self, x, repeats, axis=None):
        t = _tt(x)
        if axis is None:
            t, axis = _ember().reshape(t, (-1,)), 0
        r = repeats if isinstance(repeats, int) else _tt(repeats)
        return _w(_ember().repeat_interleave(t, r, axis))

    def trace(self, x, offset=0, axis1=0, axis2=1):
        return self.diagonal(x, offset, axis1, axis2).sum(-1)

    def cross(self, a, b, axis=-1, **kwargs):
        return _w(_ember().linalg.cross(_tt(a), _tt(b), dim=axis))

    def append(self, arr, values, axis=None):
        if axis is None:
            return self.concatenate([self.ravel(arr), self.ravel(values)])
        return self.concatenate([arr, values], axis)

    def ravel(self, x):
        return _w(_ember().reshape(_tt(x), (-1,)))

    def diff(self, x, n=1, axis=-1):
        for _ in range(n):
            t = _tt(x)
            k = t.shape[axis]
            a = _ember().narrow(t, axis, 1, k - 1)
            b = _ember().narrow(t, axis, 0, k - 1)
            x = _w(a - b)
        return x

    def vdot(self, a, b):
        return self.sum(self.conj(self.ravel(a)) * self.ravel(b))

    def add_at(self, out, idx, values):
        """np.add.at on a DArray (functional); what helpers' index_add_at should call."""
        if type(out) is not DArray:
            raise _unsupported("its code accumulates into a non-differentiable array")
        add_at(self, out, _norm_index(idx), values)

    def sort(self, x, axis=-1, **kwargs):
        t = _tt(x)
        if axis is None:
            t, axis = _ember().reshape(t, (-1,)), 0
        return _w(_ember().sort(t, axis)[0])

    @property
    def linalg(self):
        return _LINALG

    @property
    def fft(self):
        return _FFT

    def pad(self, x, pad_width, **kwargs):
        if kwargs.get("mode", "constant") != "constant" or kwargs.get("constant_values", 0):
            raise _unsupported("its code uses xp.pad with a non-zero fill")
        flat = [n for before, after in reversed(pad_width) for n in (before, after)]
        return _w(_ember().nn.functional.pad(_tt(x), flat))

    @property
    def lib(self):
        return _LIB


class _Ufunc:
    """A TXP elementwise function: NumPy's call signature (out= included) and `.at`."""
    __slots__ = ("name", "fn", "nin")

    def __init__(self, name, fn, nin):
        self.name, self.fn, self.nin = name, fn, nin

    def __call__(self, *args, out=None, **kwargs):
        if len(args) > self.nin:
            args, out = args[:self.nin], args[self.nin]
        if self.nin == 1:
            return _into(out, _w(self.fn(_tt(args[0]))))
        return _into(out, _w(self.fn(*_binary_operands(*args))))

    def at(self, a, indices, b=None):
        if self.name != "add":
            raise _unsupported(f"its code uses xp.{self.name}.at")
        TXP.add_at(a, indices, b)


def _into(out, r):
    """NumPy's out= argument, functionally: the DArray `out` now holds the result."""
    if out is None:
        return r
    if type(out) is not DArray:
        raise _unsupported("its code writes a differentiable result into a raw array (out=)")
    out.t = r.t if r.dtype == out.dtype else r.astype(out.dtype).t
    out.written()
    return out


def _predicate(f, name):
    """A function whose result is never differentiable (masks, indices, counts)."""
    def fn(*args, **kwargs):
        for a in list(args) + list(kwargs.values()):
            if type(a) is DArray and a.t.requires_grad and name in _VALUED:
                raise _unsupported(f"its code uses xp.{name} on a differentiable value")
        return _wrap_raw(f(*[_raw(a) for a in args], **{k: _raw(v) for k, v in kwargs.items()}))
    return fn


def _binary_operands(a, b):
    """Tensor operands for an ember binary function (some take no Python scalars): a scalar
    becomes a 0-d constant of the other operand's dtype, as NumPy's weak scalars behave."""
    a, b = _t(a), _t(b)
    from .._tensor import Tensor
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return _tt(a), _tt(b)
    if not isinstance(a, Tensor):
        a = _const(np.asarray(a), _scalar_np(a, b))
    if not isinstance(b, Tensor):
        b = _const(np.asarray(b), _scalar_np(b, a))
    return a, b


def _scalar_np(s, like):
    kind = like.arr.dtype.kind
    if isinstance(s, bool):
        return like.arr.dtype
    if isinstance(s, int) and kind in "iufc":
        return like.arr.dtype
    if isinstance(s, float) and kind in "fc":
        return like.arr.dtype
    return None


def _wrap_raw(r):
    if isinstance(r, tuple):
        return tuple(_wrap_raw(x) for x in r)
    if isinstance(r, (bool, int, float, np.bool_)) and not isinstance(r, np.ndarray):
        return r
    return _w(_const(r))


class _Linalg:
    """xp.linalg: ember.linalg's differentiable functions."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "LinAlgError":
            return np.linalg.LinAlgError
        fn = getattr(getattr(_ember(), "linalg", None), name, None)
        if fn is None:
            raise _unsupported(f"its code uses xp.linalg.{name}")
        return lambda *a, **k: _wrap_result(fn(*[_tt(x) if _is_arrayish(x) else x for x in a],
                                                **k))


def _is_arrayish(x):
    return type(x) is DArray or hasattr(x, "__array_interface__")


def _wrap_result(r):
    from .._tensor import Tensor
    if isinstance(r, Tensor):
        return _w(r)
    if isinstance(r, tuple):
        return type(r)(*[_wrap_result(x) for x in r]) if hasattr(r, "_fields") else \
            tuple(_wrap_result(x) for x in r)
    return r


class _StrideTricks:
    """xp.lib.stride_tricks: as_strided as a gather of the elements it reads."""

    def as_strided(self, x, shape=None, strides=None, subok=False, writeable=True):
        if type(x) is not DArray:
            return _w(_const(_CTX.be.xp.lib.stride_tricks.as_strided(x, shape, strides)))
        shape = x.shape if shape is None else tuple(shape)
        strides = x.strides if strides is None else tuple(strides)
        idx = _strided_index(x.t.arr, shape, strides)
        e, old = _ember(), x.shape

        def back(c):               # writes through the strided view land in x
            return e.reshape(_setitem(e.reshape(x.t, (-1,)), (idx,), c), old)
        return x._view(_getitem(e.reshape(x.t, (-1,)), (idx,)), back)


def _strided_index(arr, shape, strides):
    """For each element of as_strided(arr, shape, strides): its flat (C-order) index in arr."""
    xp = _CTX.be.xp
    item = arr.itemsize
    offs = xp.zeros(arr.shape, np.int64)
    for d, (n, st) in enumerate(zip(arr.shape, arr.strides)):
        offs = offs + (xp.arange(n) * (st // item)).reshape((-1,) + (1,) * (arr.ndim - d - 1))
    offs = offs.reshape(-1)
    lo = int(offs.min()) if offs.size else 0
    inv = xp.full(int(offs.max()) - lo + 1 if offs.size else 1, -1, np.int64)
    inv[offs - lo] = xp.arange(offs.size)
    want = xp.zeros(shape, np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        want = want + (xp.arange(n) * (st // item)).reshape((-1,) + (1,) * (len(shape) - d - 1))
    want = want - lo
    if want.size and (int(want.min()) < 0 or int(want.max()) >= inv.size or
                      bool((inv[want] < 0).any())):
        raise _unsupported("its as_strided view reads memory outside its input")
    return inv[want] if want.size else want


class _Lib:
    stride_tricks = _StrideTricks()


TXP = _TXP()
class _Fft:
    """xp.fft: NumPy's n-dimensional transforms on ember.fft (axes= and s= as dim= and s=)."""

    def __getattr__(self, name):
        if name not in ("fftn", "ifftn", "rfftn", "irfftn"):
            raise _unsupported(f"its code uses xp.fft.{name}")
        fn = getattr(_ember().fft, name)
        return lambda x, s=None, axes=None, norm=None: _w(fn(_tt(x), s=s, dim=axes, norm=norm))


_FFT = _Fft()
_LINALG = _Linalg()
_LIB = _Lib()


class _Special:
    """scipy.special's functions for ember.ops._special on TXP (differentiable ember ops)."""

    def __getattr__(self, name):
        target = {"erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "gammaln": "lgamma",
                  "psi": "digamma", "digamma": "digamma", "polygamma": "polygamma",
                  "gammainc": "igamma", "gammaincc": "igammac"}.get(name)
        fn = None if target is None else getattr(_ember(), target, None)
        if fn is None and name in ("i0e", "i1", "i1e", "ndtri", "log_ndtr", "erfcx"):
            from .. import special     # ember's own differentiable ops of those names
            fn = getattr(special, name)
        if fn is None:
            raise _unsupported(f"its code uses scipy.special.{name}")
        if name in ("gammainc", "gammaincc"):        # igamma(a, x), igammac(a, x)
            return lambda a, x: _w(fn(_tt(a), _tt(x)))
        if name == "polygamma":
            return lambda n, x: _w(fn(int(n), _tt(x)))
        return lambda x: _w(fn(_tt(x)))


def _register_special():
    from ..ops import _special
    cache = getattr(_special, "_CACHE", None)
    if isinstance(cache, dict):
        cache[id(TXP)] = _Special()


_register_special()


# ---- replacements for code that cannot run on TXP ------------------------------------------
def _prod_bwd(xp, g, x, dims, keepdim, r=None):
    """prod: each element's gradient is the product of the others, taken (without cumprod) as
    the row products of an n x n matrix of copies whose diagonal is 1; exact with zeros."""
    axes = tuple(range(x.ndim)) if dims is None else tuple(dims)
    if not axes:
        return (g,)
    last = tuple(range(-len(axes), 0))
    moved = xp.moveaxis(x, axes, last)
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    n = flat.shape[-1]
    rows = xp.where(xp.eye(n, dtype=bool), 1, xp.expand_dims(flat, -2))
    others = xp.moveaxis(rows.prod(axis=-1).reshape(moved.shape), last, axes)
    if dims is None:
        g = g.reshape((1,) * x.ndim)
    elif not keepdim:
        g = xp.expand_dims(g, dims)
    return (xp.broadcast_to(g, x.shape) * others,)


def _norm_fwd(xp, x, w, b, view, axes, wshape, eps, stats, frozen):
    """Training-mode batch norm receives its batch statistics as static arrays: recompute them
    from x so that their dependence on x is recorded (frozen eval statistics stay constants)."""
    from ..nn._norm_ops import _norm_fwd as fwd
    return fwd(xp, x, w, b, view, axes, wshape, eps, stats if frozen else None, frozen)


# op name -> forward / backward written against TXP, used instead of the op's own code
_FWD = {"native_batch_norm": _norm_fwd}
_BWD = {"prod": _prod_bwd}
# ops whose static arrays are random draws, constants as torch's saved noise is
_DRAWN = {"rrelu_with_noise"}


# ---- entry point ---------------------------------------------------------------------------
def differentiable_vjp(node, g, static_constants=False):
    """The node's vector-Jacobian product as Tensors connected to the graph (create_graph).

    `static_constants`: input-dependent arrays among the static arguments (pivots, indices
    found by the forward) may be taken as constants, as they are for a derivative at a point
    (forward AD); a second-order reverse pass refuses them."""
    op = node.op
    custom = getattr(op, "double_backward", None)
    if custom is not None:                 # autograd.Function nodes and other special nodes
        return custom(node, g)
    if op.name == "to_device":
        return (g.to(node.inputs[0].device),)
    if op.name in _UNDIFFERENTIATED and not static_constants:
        return _undifferentiated(node, g, _UNDIFFERENTIATED[op.name])
    if op.name in _NOT_IMPLEMENTED_BACKWARD and not static_constants:
        return _undifferentiated(node, g, _NOT_IMPLEMENTED_BACKWARD[op.name],
                                 _refusing_backward_op(node.name()))
    if op.name == "cross_map_lrn2d":    # torch's legacy Function writes with out= in backward
        raise RuntimeError("mul(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    with context(_backend(node), node):
        if all(_unwrapped(node.bwd) is not _unwrapped(b) for _, b in op.impl):
            raise _unsupported("its backward is a closure, not the op's xp-pure rule")
        fwd, bwd = op.impl[0]
        # run unwrapped: a flop counter counts the ops the rule runs here, not the forward
        # re-run for its saved values
        fwd, bwd = _FWD.get(op.name, _unwrapped(fwd)), _BWD.get(op.name, _unwrapped(bwd))
        saved = node.saved
        if type(saved) is PackedSaved:
            saved = saved.unpack()
        if op.name not in _FWD and has_stubs(node):
            saved = _saved_as_tensors(node, saved)
        elif (op.name not in _FWD and not static_constants and op.name not in _DRAWN
              and _has_values(node.static)):
            raise _unsupported("its forward received input-dependent arrays as static "
                               "arguments, which re-running it would treat as constants")
        elif op.name in _FWD or _has_values(saved):
            _, saved = fwd(TXP, *_forward_args(node), *node.static)
            _check_saved(node, saved)
        gg = tuple(None if x is None else _w(x) for x in g) if type(g) is tuple else _w(g)
        _CTX.reads.clear()                  # what the backward reads, not the forward re-run
        if op.needs_mask:
            gins = bwd(TXP, gg, *saved, tuple(n is not None for n in node.next))
        else:
            gins = bwd(TXP, gg, *saved)
        gins = tuple(None if gi is None else _tt(gi) for gi in gins)
        reads = tuple(_CTX.reads.values())
    if node.name() in _TAKES_INPUT:
        reads += _inputs_with_grad(node)
    if reads and not static_constants:
        gins = tuple(None if gi is None else _linked(gi, reads, node) for gi in gins)
    return gins


def _unwrapped(f):
    """An op table entry without the wrappers a flop counter installs for a while (a node
    recorded under one keeps the wrapper)."""
    return getattr(f, "__wrapped__", f)


# ops whose backward torch does not differentiate (its aten backward op)
_UNDIFFERENTIATED = {"multi_margin_loss": "multi_margin_loss_backward",
                     "multilabel_margin_loss": "multilabel_margin_loss_backward",
                     "hardsigmoid": "hardsigmoid_backward",
                     "scaled_dot_product_flash_attention_for_cpu":
                         "_scaled_dot_product_flash_attention_for_cpu_backward"}


# ops whose backward torch records as an <Op>BackwardBackward0 node that refuses a second
# backward (derivatives.yaml's not_implemented("<aten backward>"))
_NOT_IMPLEMENTED_BACKWARD = {"cdist": "_cdist_backward", "pdist": "_pdist_backward"}


def _refusing_backward_op(node_name):
    """The op recording a gradient computed as constants under `node_name`'s backward node
    (CdistBackward0 -> CdistBackwardBackward0), whose backward raises torch's
    NotImplementedError."""
    name = node_name[:-1] + "Backward0"
    op = _REFUSING.get(name)
    if op is None:
        from ..ops._registry import Op
        op = _REFUSING[name] = Op("not_implemented_backward", _refuse_fwd, None, True, None,
                                  name, 1, False).vjp(_refuse_not_implemented)
    return op


def _refuse_not_implemented(xp, g, aten):
    raise NotImplementedError(f"the derivative for '{aten}' is not implemented.")


_REFUSING = {}      # node name -> _refusing_backward_op's op


def _undifferentiated(node, g, aten, op=None):
    """The gradient computed as constants under torch's NotImplemented node (or `op`), which
    refuses a second backward in torch's words."""
    from .._tensor import Tensor, _new
    from ..ops._apply import apply
    saved = node.saved
    if type(saved) is PackedSaved:
        saved = saved.unpack()
    args = (node.xp, g.arr, *saved)
    if node.op.needs_mask:
        args += (tuple(n is not None for n in node.next),)
    deps = (g,) + tuple(a for a in node.inputs if isinstance(a, Tensor) and a._rg)
    return tuple(None if gi is None else apply(op or _NOT_IMPLEMENTED, (_new(gi, g.be),) + deps,
                                               (aten,))
                 for gi in node.bwd(*args))


def _refuse_fwd(xp, gi, *deps_and_aten):
    return gi, (deps_and_aten[-1],)


def _refuse_bwd(xp, g, aten):
    raise RuntimeError(f"derivative for aten::{aten} is not implemented")


def _not_implemented_op():
    from ..ops._registry import Op
    return Op("not_implemented", _refuse_fwd, None, True, None,
              "torch::autograd::NotImplemented", 1, False).vjp(_refuse_bwd)


# nodes whose backward torch differentiates with respect to the input too (zeros), though
# ember's backward reads nothing of it (shapes, indices, masks found by the forward)
_TAKES_INPUT = frozenset(
    ["NllLossBackward0", "NllLoss2DBackward0", "RreluWithNoiseBackward0",
     "MaxPool2DWithIndicesBackward0", "MaxPool3DWithIndicesBackward0"]
    + [f"{k}{n}DBackward0" for n in (1, 2, 3) for k in ("ReplicationPad", "ReflectionPad")]
    + [f"{k}{n}DBackward0" for n in (2, 3)
       for k in ("AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool")])


def _inputs_with_grad(node):
    from .._tensor import Tensor
    from ._thin import is_stub
    return tuple(a for a in node.inputs
                 if isinstance(a, Tensor) and a._rg and not is_stub(a))


def _linked(gi, reads, node):
    """gi joined, with a zero derivative, to the differentiable values the node's code read as
    raw arrays (x > 0 for relu's mask): as torch's XBackwardBackward0 nodes, which take self
    (or the result), gi requires grad even for a constant grad_output, and a second-order
    gradient reaches those values as zeros rather than not at all."""
    from ..ops._apply import apply
    name = node.name()[:-1] + "Backward0"
    link = _LINKS.get(name)
    if link is None:
        from ..ops._registry import Op
        link = _LINKS[name] = Op("backward_link", _link_fwd, None, True, None, name, 1,
                                 False).vjp(_link_bwd)
    return apply(link, (gi,) + reads)


_LINKS = {}     # torch's node name -> its linking op
_NOT_IMPLEMENTED = _not_implemented_op()


def refused_derivative(out, inputs, aten):
    """`out`, computed off the graph, as torch records it: under a NotImplemented node joined
    to the `inputs` that require grad, whose backward refuses in torch's words (bincount's
    weights, histogram). `out` itself where none does, in no_grad mode or for integers."""
    from .._tensor import Tensor
    from ..ops._apply import apply
    deps = tuple(a for a in inputs if isinstance(a, Tensor) and a.requires_grad)
    if not deps or not STATE.enabled or not out.is_floating_point():
        return out
    return apply(_NOT_IMPLEMENTED, (out,) + deps, (aten,))


def _link_fwd(xp, g, *reads):
    return g.copy(), tuple((r.shape, r.dtype) for r in reads)


def _link_bwd(xp, g, *specs):
    return (g,) + tuple(xp.zeros(shape, dtype) for shape, dtype in specs)


def _saved_as_tensors(node, saved):
    """A node that kept only what its backward reads (stubs for the other inputs, see
    _thin.py) cannot re-run its forward: its saved arrays are turned into Tensors as torch's
    SavedVariables are unpacked. A kept input's array is that input; the result (the one
    floating array that is no input, for an op that saves its result) is the output as a
    Tensor whose grad_fn is the node; stubs and non-floating arrays stay constants."""
    from .._tensor import _new
    from ._thin import is_stub, is_stub_array
    by_arr = {}
    for a in node.inputs:
        if hasattr(a, "arr") and not is_stub(a):
            by_arr[id(a.arr)] = a
    stale = node.epoch < CLOCK[0]
    out, result = [], None
    for v in saved:
        if not (hasattr(v, "dtype") and hasattr(v, "shape")):
            out.append(v)
            continue
        a = by_arr.get(id(v))
        if a is not None and a.arr is v:
            vc = a._vc
            out.append(_w(a.detach() if stale and vc is not None and vc[1] > node.epoch else a))
        elif v.dtype.kind not in "fcV" or is_stub_array(v):
            out.append(v)           # masks, indices, stubs: constants
        elif node.op.saves_out and result is None:
            result = _new(v, _backend(node))
            result._rg = True
            result.grad_fn = node if node.outs is None else _out_slot(node, 0)
            if node.out_vc is not None:
                result._vc = node.out_vc
            out.append(_w(result))
        else:
            raise _unsupported("it kept no input its saved values depend on (declare the "
                               "input in ember/autograd/_thin.py KEEPS)")
    return tuple(out)


def _out_slot(node, i):
    from .node import out_slot
    return out_slot(node, i)


def _has_values(saved):
    """Whether `saved` holds floating arrays (values that depend on the inputs): only then is
    the forward re-run; shapes, dims, masks and indices are reused as recorded."""
    for s in saved:
        if isinstance(s, (tuple, list)):
            if _has_values(s):
                return True
        elif hasattr(s, "dtype") and hasattr(s, "shape") and _floating(s.dtype):
            return True
    return False


def _floating(dtype):
    """Float or complex, bfloat16 (a NumPy 'V' kind through ml_dtypes) included."""
    return dtype.kind in "fc" or dtype.name == "bfloat16"


def _backend(node):
    from .._tensor import Tensor
    for a in node.inputs:
        if isinstance(a, Tensor):
            return a.be
    raise _unsupported("the node has no tensor input")


def _forward_args(node):
    """The node's inputs as DArrays. An input modified in place since the forward is one the
    engine's version check found unneeded for this backward (else it raised): it enters as a
    constant, so nothing differentiates through its new history."""
    from .._tensor import Tensor
    stale = node.epoch < CLOCK[0]
    args = []
    for a in node.inputs:
        if isinstance(a, Tensor):
            vc = a._vc
            args.append(_w(a.detach() if stale and vc is not None and vc[1] > node.epoch else a))
        else:
            args.append(a)
    return args


def _check_saved(node, saved):
    """The recomputed residuals must equal the recorded ones (catches random forwards)."""
    old = node.saved
    if type(old) is not tuple or len(old) != len(saved):
        return
    for a, b in zip(saved, old):
        if type(a) is not DArray or not hasattr(b, "dtype") or not hasattr(b, "shape"):
            continue
        ra = a.t.arr
        if ra.shape != b.shape or not _same_values(a.t.be.xp, ra, b):
            raise _unsupported("re-running its forward gave different values than the "
                               "recorded ones (is the op random?)")


def _same_values(xp, a, b):
    """Equal up to rounding (the recomputation may take other, equivalent array paths)."""
    if _floating(a.dtype) and _floating(b.dtype):
        tol = {2: 1e-2, 4: 1e-5}.get(min(a.dtype.itemsize, b.dtype.itemsize), 1e-10)
        return bool(xp.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool((a == b).all())
