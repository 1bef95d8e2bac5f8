"""The hot path: turn a registered Op into the function users call.

`ember.exp`, `Tensor.exp` and `F.exp` are one object made here; no extra frame, no keyword
parsing, no graph recording unless an input requires grad and grad mode is on."""
import sys
import types
from weakref import ref as _weakref

import numpy as np

from .._dtype import BF16_NUM, OF_NP, PROMOTE, DEFAULT, _combine, scalar_arg, through_float
from .._kernel_dtypes import cname, tname as _tname
from .._memory_format import iterator_layout
from .._nested_array import NestedArray
from .._sparse_coo import UNARY_OPS as SPARSE_UNARY_OPS, SparseCOO, not_implemented
from .._sparse_csr import CompressedArray
from .._tensor import Tensor, _new, bump_version
from .._typenames import tp_name
from ._overlap import check_args as check_overlap, check_out as check_out_overlap
from ._registry import NESTED_IDX
from ..amp.state import AMP as _amp
from ..autograd.grad_mode import STATE as _grad
from ..autograd.forward_ad import FW as _fw
from ..autograd.engine import watch_outputs
from ..autograd.node import CLOCK, move_retain, slot_class
from ..autograd._thin import MIN_BYTES as _THIN_MIN, thin as _thin, thin1 as _thin1, \
    thin2 as _thin2

_FLOAT_KINDS = "fc"
_object_new = object.__new__



def traced(xp):
    """Whether `xp` is autograd's differentiable namespace (the backward of create_graph=True
    runs kernels on it), not NumPy or CuPy."""
    return not isinstance(xp, types.ModuleType)


def one_d(out, idx, vals):
    """NumPy's ufunc.at is fast only for a 1-D index into a 1-D array: flatten the index and
    the values to it."""
    if out.ndim == 1 and not isinstance(idx, tuple) and idx.ndim > 1:
        return idx.reshape(-1), np.broadcast_to(vals, idx.shape).reshape(-1)
    return idx, vals


def add_at(xp, out, idx, vals):
    """out[idx] += vals, repeated indices accumulating (NumPy's add.at, CuPy's scatter_add,
    the differentiable namespace's add_at)."""
    if xp is np:
        np.add.at(out, *one_d(out, idx, vals))
    elif traced(xp):
        xp.add_at(out, idx, vals)
    else:
        import cupyx
        cupyx.scatter_add(out, idx, vals)


def type_name(x):
    """The name torch's argument parser gives x's type: its C tp_name (_typenames.tp_name), a
    Tensor is Tensor."""
    return "Tensor" if isinstance(x, Tensor) else tp_name(x)


def _missing_arg(name, arg):
    """torch's argument parser's TypeError for a call without its required argument."""
    return TypeError(f'{name}() missing 1 required positional arguments: "{arg}"')


def _not_tensor(name, x, what="input", pos=1):
    """torch's argument-parser TypeError for `x` where a Tensor is expected (to raise where an
    attribute lookup on a non-Tensor failed, keeping the check off the valid path); pos None:
    a keyword-only argument."""
    at = "" if pos is None else f" (position {pos})"
    return TypeError(f"{name}(): argument '{what}'{at} must be Tensor, not {type_name(x)}")


def tensor_arg(name, x, what="input", pos=1):
    """torch's argument-parser TypeError where a Tensor is expected."""
    if not isinstance(x, Tensor):
        raise _not_tensor(name, x, what, pos)


def tensor_ndim(name, x, what="input", pos=1):
    """x.ndim, or tensor_arg's TypeError where x is not a Tensor (checked on the failure path
    only: an entry point's first look at its argument; through .arr, so an ndarray is refused
    too)."""
    try:
        return x.arr.ndim
    except AttributeError:
        raise _not_tensor(name, x, what, pos) from None


def tensor_args(name, *args):
    """tensor_arg for each (argument name, position, value) triple."""
    for what, pos, v in args:
        tensor_arg(name, v, what, pos)


def raise_not_tensor(name, *args):
    """In an except block (as `except AttributeError:`): tensor_arg's TypeError for the first
    (argument name, position, value) triple whose value is not a Tensor, else the exception
    being handled, re-raised (an entry point's check that costs nothing where its arguments
    are Tensors)."""
    for what, pos, v in args:
        if not isinstance(v, Tensor):
            raise _not_tensor(name, v, what, pos) from None
    raise


def tensor_elements(seq, arg=0):
    """torch's TypeError for a non-Tensor in a sequence argument of tensors."""
    for i, v in enumerate(seq):
        if not isinstance(v, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument {arg}, but got "
                            f"{type_name(v)}")


def quiet(kernel, *args):
    """Run `kernel` again with NumPy's floating-point warnings off. torch computes inf and nan
    silently; ember filters NumPy's warnings raised in its own code, but a user's filter put
    in front of that one ("error" in a test suite's settings) turns them into exceptions out
    of a kernel. Kernels never write their inputs, so running one again is safe; a warning ember
    raises on purpose is raised again."""
    with np.errstate(all="ignore"):
        return kernel(*args)


def ureduce(ufunc, a, axis=None, keepdims=False):
    """a.sum() (ufunc "add"), a.prod() ("multiply"), a.max() ("maximum") or a.min() ("minimum"),
    as the ufunc's reduce for a NumPy array: ndarray's methods are Python wrappers in
    numpy._core._methods, the module NumPy's floating-point warnings (inf - inf, overflow, a
    bfloat16 NaN compared) would come from, past ember's filter; torch warns nothing. Other
    arrays (CuPy's, sparse, quantized) keep their own methods."""
    if type(a) is np.ndarray:
        return getattr(np, ufunc).reduce(a, axis=axis, keepdims=keepdims)
    return getattr(a, _REDUCE_METHODS[ufunc])(axis=axis, keepdims=keepdims)


_REDUCE_METHODS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


def make_unary(op, exact_out=False):
    """`exact_out`: an `out=` tensor must have the result's dtype (torch's dtype-preserving ops)."""
    impl = op.impl

    def fn(x, *static, out=None):
        try:
            be = x.be
        except AttributeError:
            raise _not_tensor(op.name, x) from None
        if _amp.enabled and op.amp is not None and out is None:  # torch autocasts no out=
            from ..amp.autocast import cast_args
            (x,) = cast_args(op, (x,))
        if out is not None:
            if exact_out:
                early_out_dtype_check(op.name, x, out)
            check_out_overlap(out, (x,), {})
        fwd, bwd = impl[be.idx]
        try:
            y, saved = fwd(be.xp, x.arr, *static)
        except RuntimeWarning:
            y, saved = quiet(fwd, be.xp, x.arr, *static)
        t = _new(y, be)
        if x._rg and _grad.enabled:
            t._rg = True
            if op.keeps is None or x.arr.nbytes < _THIN_MIN:
                ins, kept = (x,), saved
            else:
                ins, kept = _thin1(op, x, saved, y)
            node = t.grad_fn = op.node_cls(op, bwd, be.xp, kept,
                                           (x.grad_fn or x._leaf_node(),), ins, static)
            if op.tracks_out:
                t._vc = node.out_vc = [0, 0]
        if _fw.level is not None:
            _fw_propagate(op, (x,), static, t, saved)
        return t if out is None else _finish(t, out, op.name, exact_out)
    fn.__name__ = fn.__qualname__ = op.name
    return fn


def early_out_dtype_check(name, x, out):
    """TensorIterator's check of a dtype-preserving op's out= dtype, which comes before the
    kernel's own dtype refusals (an out= into a grad-requiring op is refused first, and so
    is neg of a bool, by neg itself)."""
    if name in _FOUND_DTYPE and isinstance(out, Tensor) and out.arr.dtype != x.arr.dtype and \
            not (x._rg and _grad.enabled) and not (name == "neg" and x.arr.dtype.kind == "b"):
        raise _out_dtype_error("found", out, x)


def make_view(op):
    """Like make_unary, but the output shares the input's storage and version counter. The
    function made has `op` as its attribute `op` (for view_out)."""
    impl = op.impl

    def fn(x, *static):
        try:
            be = x.be
        except AttributeError:
            raise _not_tensor(op.name, x) from None
        fwd, bwd = impl[be.idx]
        try:
            out, saved = fwd(be.xp, x.arr, *static)
        except RuntimeWarning:
            out, saved = quiet(fwd, be.xp, x.arr, *static)
        return view_out(op, fn, x, out, saved, static)
    fn.__name__ = fn.__qualname__ = op.name
    fn.op = op
    return fn


def view_out(op, fn, x, out, saved, static):
    """The Tensor of `out`, an array viewing x's storage that view op `op` (made into `fn` by
    make_view) computed from x.arr with `static`, saving `saved`: it shares x's version counter
    and base, and records op's node when x requires grad. Ops that compute the array of a
    common case themselves call it directly (no fwd call in between)."""
    be = x.be
    # _new's tensor, made here (its inference-mode counter would be replaced by x's)
    t = _object_new(Tensor)
    t.arr, t.be, t._rg = out, be, False
    t._grad = t.grad_fn = t._leaf = t._retain = None
    vc, base = x._vc, x._base
    if vc is None:
        vc = x._vc = [0, 0]
    t._vc, t._base = vc, x if base is None else base
    if _grad.enabled:
        if len(vc) == 2:            # (register_view's code: one call less on every view)
            vc.append([])
        views = vc[2]
        n = len(views)
        if n >= 32 and not n & (n - 1):
            views[:] = [r for r in views if r() is not None]
        views.append(_weakref(t))
        if x._rg:
            t._rg = True
            if op.keeps is None or x.arr.nbytes < _THIN_MIN:
                ins, kept = (x,), saved
            else:
                ins, kept = _thin1(op, x, saved, out)
            t.grad_fn = op.node_cls(op, op.impl[be.idx][1], be.xp, kept,
                                    (x.grad_fn or x._leaf_node(),), ins, static)
    elif x._rg:         # torch: a view made in no_grad mode requires grad, with no grad_fn
        t._rg = True
    if _fw.level is not None:
        _fw_view(x, t, fn, static)
    return t


def promote_arrays(xa, ya):
    """Cast two arrays to torch's result dtype (0-d arrays do not promote dimensioned ones)."""
    dx, dy = OF_NP[xa.dtype.num], OF_NP[ya.dtype.num]
    if xa.ndim == 0 and ya.ndim:
        rt = _combine(dy, dx)
    elif ya.ndim == 0 and xa.ndim:
        rt = _combine(dx, dy)
    else:
        rt = PROMOTE[dx, dy]
    if dx is not rt:
        xa = xa.astype(rt.np)
    if dy is not rt:
        ya = ya.astype(rt.np)
    return xa, ya


# int dtype num -> (min, max): Python ints outside wrap around like torch's scalar casts
_IBOUNDS = {np.dtype(d).num: (int(np.iinfo(d).min), int(np.iinfo(d).max))
            for d in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                      np.uint64, np.intc, np.longlong)}


def _wrap_int(s, dt):
    if not -2 ** 63 <= s < 2 ** 64:
        raise OverflowError("int too big to convert")
    return int(np.array(s if s < 2 ** 63 else s - 2 ** 64, np.int64).astype(dt)[()])


def _typed_scalar(xa, s):
    """`s` as a 0-d bfloat16 or float8 array in xa's namespace (NumPy would promote a Python
    scalar to float32; CuPy takes no NumPy arrays)."""
    s = np.asarray(through_float(s, xa.dtype), xa.dtype)
    return s if isinstance(xa, (np.ndarray, np.generic)) else sys.modules["cupy"].asarray(s)


def scalar_operand(xa, s):
    """Weak Python-scalar promotion: torch's wrapped-number rules on top of NumPy 2's (which
    already keep the array dtype for in-kind int/float scalars)."""
    ts = type(s)
    if ts is float:
        dt = xa.dtype
        k = dt.kind
        if k == "f":
            if dt.itemsize <= 2:            # torch casts the scalar to half through float
                s = np.float16(np.float32(s)) if dt.itemsize == 2 else _typed_scalar(xa, s)
        elif k in "biu":
            xa = xa.astype(DEFAULT.float.np)
        elif k == "V":
            s = _typed_scalar(xa, s)
        return xa, s
    if ts is int or ts is bool:
        k = xa.dtype.kind
        if k == "f" or k == "c":
            return xa, s
        if k in "iu":
            lo, hi = _IBOUNDS[xa.dtype.num]
            if not lo <= s <= hi:
                s = _wrap_int(s, xa.dtype)
        elif k == "b":
            if ts is int:
                xa = xa.astype(np.int64)
        elif k == "V":
            s = _typed_scalar(xa, s)
        return xa, s
    if ts is complex:
        k = xa.dtype.kind
        if k != "c":
            d = OF_NP[xa.dtype.num]
            xa = xa.astype((d._complex() if k in "fV" else DEFAULT.complex).np)
        return xa, s
    if isinstance(s, np.generic):
        return scalar_operand(xa, scalar_arg(s))
    if isinstance(s, np.ndarray):
        if s.dtype.num not in OF_NP:
            raise TypeError(f"can't convert np.ndarray of type numpy.{s.dtype.name}")
        return promote_arrays(xa, s)
    for base in (bool, int, float, complex):      # subclasses such as IntEnum
        if isinstance(s, base):
            return scalar_operand(xa, base(s))
    raise TypeError(f"unsupported operand type(s): 'Tensor' and '{ts.__name__}'")


# ops whose `self` may be a Python scalar (torch.add(2, t)); the rest raise TypeError
SCALAR_SELF = set()
# ops whose self and other may both be numbers (torch's should_allow_numbers_as_tensors)
NUMBERS_BOTH = {"add", "sub", "mul", "div", "div_trunc", "div_floor", "floor_divide"}
_NUMBER = (bool, int, float, complex, np.bool_, np.number)
# ops of torch's three overloads (Tensor, Tensor), (Number, Tensor), (Tensor, Number): two
# numbers are none of them
_TENSOR_NUMBER_PAIRS = {"xlogy", "special_xlog1py", "special_zeta"}


def _scalar_self(op, x, y):
    """torch.add(2, t): a wrapped-number `self` becomes a 0-d tensor of the result dtype (for
    add, sub, mul and the divisions also with a number `other`: torch.add(2, 3.5))."""
    if isinstance(y, Tensor) and op.name in SCALAR_SELF:
        be = y.be
    elif op.name in NUMBERS_BOTH and isinstance(x, _NUMBER) and isinstance(y, _NUMBER):
        from ..backends import CPU as be
    elif op.name in _TENSOR_NUMBER_PAIRS and isinstance(x, _NUMBER) and isinstance(y, _NUMBER):
        raise TypeError(f"{op.name}() received an invalid combination of arguments - got "
                        f"({type(x).__name__}, {type(y).__name__}), but expected one of:\n"
                        " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                        " * (Number self, Tensor other, *, Tensor out = None)\n"
                        " * (Tensor input, Number other, *, Tensor out = None)\n")
    else:
        raise _not_tensor(op.name, x)
    from .._dtype import result_type
    if isinstance(x, np.generic):
        x = x.item()
    rt = result_type(x, y)
    return _new(be.xp.asarray(np.array(x).astype(rt.np)), be)


def _cross_device(op, a, b):
    if a.be.name == "meta" or b.be.name == "meta":     # torch's meta kernels check devices
        return RuntimeError(f"Tensor on device {b.device} is not on the expected device "
                            f"{a.device}!")
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{a.device} and {b.device}! (when checking argument for argument other in method "
        f"wrapper_{op.name})")


# torch compares a quantized tensor with one of another dtype by their dequantized values
_DEQUANTIZING = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))


def _dequantized(xa, ya):
    """The operands of a comparison with a quantized one: dequantized, then promoted."""
    from .._quantized import QArray, dequantize_array
    xa, ya = (dequantize_array(a) if type(a) is QArray else a for a in (xa, ya))
    if type(xa) is type(ya) and xa.dtype is ya.dtype:
        return xa, ya
    return promote_arrays(xa, ya)


def make_binary(op, operator=False):
    """`operator`: the Tensor operator (x + y) variant, which returns NotImplemented for an
    operand it cannot take, as torch's do, so Python tries the other operand's method (a str:
    the name of torch's C method descriptor, which refuses a `self` that is not a tensor). The
    parameters carry torch's names, so torch.mul(input=a, other=b) binds."""
    impl = op.impl

    def fn(input, other, *static, out=None):
        try:
            be, xa = input.be, input.arr
        except AttributeError:
            if operator.__class__ is str:
                from .._torch_function import _check_self
                _check_self(operator, (input,))
            # e.g. ember.add(2, t): torch accepts a scalar self
            try:
                input = _scalar_self(op, input, other)
            except TypeError:
                if operator:        # (__floordiv__, torch's Python torch.floor_divide(self, ..))
                    return NotImplemented
                raise
            be, xa = input.be, input.arr
        if type(other) is Tensor or isinstance(other, Tensor):
            ya = other.arr
            if other.be is not be:
                if ya.ndim == 0 and other.be.name == "cpu":
                    ya = be.xp.asarray(ya)
                elif xa.ndim == 0 and be.name == "cpu" or other.be.idx == NESTED_IDX and \
                        other.be.device == be.device:     # dense and nested: the nested kernel
                    be, xa = other.be, other.be.xp.asarray(xa)
                elif other.be.device != be.device:
                    raise _cross_device(op, input, other)
            low = False
            if xa.dtype is not ya.dtype and xa.dtype != ya.dtype:
                if op.opmath and not ya.ndim and xa.ndim and xa.dtype.itemsize == 2 and \
                        xa.dtype.kind in "fV" and ya.dtype.kind == "f":
                    # torch's CPU mul/div read a 0-d operand as a float (opmath), unrounded
                    low, xa, ya = xa.dtype, xa.astype(np.float32), ya.astype(np.float32)
                else:
                    try:
                        xa, ya = promote_arrays(xa, ya)
                    except RuntimeError:
                        if op.name not in _DEQUANTIZING:
                            raise
                        xa, ya = _dequantized(xa, ya)
            y_rg, ybig, pair = other._rg, ya.nbytes >= _THIN_MIN, True
        else:
            y_rg = low = ybig = pair = False
            if type(other) is float and op.opmath and xa.dtype.itemsize == 2 and \
                    xa.dtype.kind in "fV":  # torch's mul and div: in float, rounded once
                low, xa, ya = xa.dtype, xa.astype(np.float32), other
            else:
                try:
                    xa, ya = scalar_operand(xa, other)
                except TypeError:
                    if operator:
                        return NotImplemented
                    raise
        fwd, bwd = impl[be.idx]
        try:
            r, saved = fwd(be.xp, xa, ya, *static)
        except RuntimeWarning:
            r, saved = quiet(fwd, be.xp, xa, ya, *static)
        if pair and (not xa.flags.c_contiguous or static and not ya.flags.c_contiguous) and \
                xa.ndim > 1 and ya.ndim > 1 and type(r) is np.ndarray:
            r = iterator_layout(r, xa, ya)      # (where NumPy's layout and torch's can differ)
        t = _new(r.astype(low) if low else r, be)
        if (input._rg or y_rg) and _grad.enabled and op.differentiable:
            t._rg = True
            nx = (input.grad_fn or input._leaf_node()) if input._rg else None
            ny = (other.grad_fn or other._leaf_node()) if y_rg else None
            if op.keeps is None or xa.nbytes < _THIN_MIN and not ybig:
                ins, kept = (input, other), saved
            else:
                ins, kept = _thin2(op, input, other, xa, ya, nx, ny, saved)
            node = t.grad_fn = op.node_cls(op, bwd, be.xp, kept, (nx, ny), ins, static)
            if op.tracks_out:
                t._vc = node.out_vc = [0, 0]
        if _fw.level is not None:
            _fw_propagate(op, (input, other), static, t, saved)
        if out is None:
            return t
        check_out_overlap(out, (input, other), {})
        return _finish(t, out, op.name)
    fn.__name__ = fn.__qualname__ = op.name
    fn.binary_op = op
    return fn


def apply(op, args, static=()):
    """General apply: `args` is a tuple of Tensors / None / scalars (passed to fwd as arrays /
    None / scalars). Multi-output ops return a tuple; outputs of integer or bool dtype never
    require grad (views: view_out, multi_view). Under autocast, ops with an amp policy get their
    floating inputs cast first."""
    if _amp.enabled and op.amp is not None:
        from ..amp.autocast import cast_args
        args = cast_args(op, args)
    be = None
    arrays = []
    rg = False
    for a in args:
        if isinstance(a, Tensor):
            if be is None:
                be = a.be
            elif a.be is not be:
                if a.arr.ndim == 0 and a.be.name == "cpu":
                    arrays.append(be.xp.asarray(a.arr))
                    rg = rg or a._rg
                    continue
                if a.be.device != be.device:
                    raise _cross_device(op, _first_tensor(args), a)
                if a.be.idx == NESTED_IDX:     # a nested tensor with dense ones: its kernel
                    be = a.be
            arrays.append(a.arr)
            rg = rg or a._rg
        else:
            arrays.append(a)
    if be is None:
        raise TypeError(f"{op.name}(): expected at least one Tensor argument")
    fwd, bwd = op.impl[be.idx]
    try:
        out, saved = fwd(be.xp, *arrays, *static)
    except RuntimeWarning:
        out, saved = quiet(fwd, be.xp, *arrays, *static)
    record = rg and _grad.enabled and op.differentiable
    if op.n_out == 1:
        t = _new(out, be)
        if record:
            t._rg = True
            node = t.grad_fn = _node(op, bwd, be, saved, args, static, arrays, out)
            if op.tracks_out:
                if t._vc is None:
                    t._vc = [0, 0]
                node.out_vc = t._vc
        if _fw.level is not None:
            _fw_propagate(op, args, static, t, saved)
        return t
    outs = tuple([_new(o, be) for o in out])
    if record:
        node = _node(op, bwd, be, saved, args, static, arrays, out)
        node.outs = tuple([(o.shape, o.dtype) for o in out])
        if op.tracks_out:                    # the first output's version on the node, and
            o0 = outs[0]                     # the others' that `saved` holds by the engine
            if o0._vc is None:
                o0._vc = [0, 0]
            node.out_vc = o0._vc
            if type(saved) is tuple:
                watch_outputs(node, outs, out, saved)
        slot = slot_class(node)
        dt = floating = None
        for i, o in enumerate(outs):
            d = o.arr.dtype
            if d is not dt:     # (outputs mostly of one dtype)
                dt, floating = d, d.kind in _FLOAT_KINDS or d.num == BF16_NUM
            if floating:
                o._rg = True
                o.grad_fn = slot(node, i)
    if _fw.level is not None:
        _fw_propagate(op, args, static, outs, saved)
    return outs


def multi_view(op, x, static):
    """The outputs of the multi-output view op `op` (split, unbind) of the Tensor x with `static`:
    view_out's steps for each array its forward makes (x's version counter and base; in grad
    mode registered as multi-output views, see MultiRef), all under one node when x requires
    grad (a floating x: so are its views). The op saves no output."""
    be, xa = x.be, x.arr
    fwd, bwd = op.impl[be.idx]
    out, saved = fwd(be.xp, xa, *static)
    vc, base, rg = x._vc, x._base, x._rg
    if vc is None:
        vc = x._vc = [0, 0]
    if base is None:
        base = x
    slot = node = views = None
    if _grad.enabled:
        if len(vc) == 2:
            vc.append([])
        views = vc[2]
        n = len(views)
        if n >= 32 and (n - 1).bit_length() < (n + len(out) - 1).bit_length():
            views[:] = [r for r in views if r() is not None]    # (a power of two reached)
        if rg:
            if op.keeps is None or xa.nbytes < _THIN_MIN:
                ins, kept = (x,), saved
            else:
                ins, kept = _thin1(op, x, saved, out)
            node = op.node_cls(op, bwd, be.xp, kept, (x.grad_fn or x._leaf_node(),), ins, static)
            node.outs = tuple([(o.shape, o.dtype) for o in out])
            slot = slot_class(node)
    outs = []
    for i, o in enumerate(out):     # (in no_grad mode x's views require grad, with no grad_fn)
        t = _object_new(Tensor)
        t.arr, t.be, t._rg, t._vc, t._base = o, be, rg, vc, base
        t._grad = t._leaf = t._retain = None
        t.grad_fn = None if slot is None else slot(node, i)
        if views is not None:
            views.append(MultiRef(t))
        outs.append(t)
    outs = tuple(outs)
    if _fw.level is not None:
        _fw_propagate(op, (x,), static, outs, saved)
        _fw_alias_views(x, outs)
    return outs


def _fw_propagate(op, args, static, out, saved):
    from ..autograd.forward_ad import propagate
    propagate(op, args, static, out, saved)


def _fw_view(x, t, fn, static):
    """A view's tangent is the same view of its input's tangent."""
    from ..autograd.forward_ad import tangent_of, set_tangent
    tan = tangent_of(x)
    if tan is not None:
        if tan.arr.strides != x.arr.strides and tan.arr.dtype == x.arr.dtype:
            tan = _new(_like_layout(tan.be.xp, tan.arr, x.arr), tan.be)
        set_tangent(t, fn(tan, *static))


def _like_layout(xp, src, like):
    """A copy of `src` with the strides of `like` (same shape and dtype), so that the view ops
    that worked on `like` work on it."""
    if like.flags.c_contiguous:
        return xp.ascontiguousarray(src)
    if like.flags.f_contiguous:
        return xp.asfortranarray(src)
    out = xp.empty_like(like)
    if out.strides != like.strides:
        return xp.ascontiguousarray(src)
    out[...] = src
    return out


def _fw_alias_views(base, outs):
    """Outputs that view `base` get tangents viewing base's tangent (same values as the
    generic rule gives, but in-place writes through them then reach base's tangent)."""
    from ..autograd.forward_ad import tangent_of, set_tangent
    tb = tangent_of(base)
    if tb is None:
        return
    for o in outs:
        if tangent_of(o) is not None:
            arr = alias_tangent(base, tb, o)
            if arr is not None:
                set_tangent(o, _new(arr, tb.be))


def _fw_involved(self, value=None):
    """Whether self, its base, or a Tensor `value` has a tangent at the open level."""
    from ..autograd.forward_ad import tangent_of
    return tangent_of(self) is not None or (isinstance(value, Tensor) and
                                             tangent_of(value) is not None) or \
        (self._base is not None and tangent_of(self._base) is not None)


def _fw_inplace(self, out):
    """After `out` was written into self in place: self's tangent takes out's (zeros where out
    has none), written into self's tangent storage so views of it see the change."""
    from ..autograd.forward_ad import tangent_of
    tv = tangent_of(out)
    ts = tangent_of(self)
    if tv is None and ts is None and (self._base is None or tangent_of(self._base) is None):
        return
    ts = tangent_storage(self)
    if tv is None:
        ts.arr[...] = 0
    else:
        arr = tv.arr
        if tv.be is not ts.be:
            arr = ts.be.from_host(tv.be.to_host(arr))
        ts.be.xp.copyto(ts.arr, arr, casting="unsafe")


def tangent_storage(self):
    """self's tangent at the open level, made (zeros) if missing: for a view, a view of its
    base's tangent, so writes through either are seen by both."""
    from ..autograd.forward_ad import tangent_of, set_tangent
    ts = tangent_of(self)
    if ts is not None:
        if not isinstance(ts.arr, ts.be.xp.ndarray) or not getattr(ts.arr.flags, "writeable",
                                                                    True):
            ts = _new(ts.be.xp.array(ts.arr, copy=True), ts.be)
            set_tangent(self, ts)
        return ts
    base, be = self._base, self.be
    arr = None
    if base is not None:
        arr = alias_tangent(base, tangent_storage(base), self)
    if arr is None:
        arr = be.xp.zeros_like(self.arr)
    ts = _new(arr, be)
    set_tangent(self, ts)
    return ts


def alias_tangent(src, tsrc, view):
    """The part of src's tangent `tsrc` that `view` (which shares src's memory) covers, as an
    array aliasing tsrc's storage; None when the layouts do not allow it."""
    sa, ta, va = src.arr, tsrc.arr, view.arr
    if ta.strides != sa.strides or ta.dtype != sa.dtype or not ta.flags.c_contiguous or \
            va.dtype != sa.dtype:
        return None
    off = _ptr(va) - _ptr(sa)
    if off < 0 or off + _extent(va) > ta.nbytes:
        return None
    if isinstance(ta, np.ndarray):
        return np.ndarray(va.shape, ta.dtype, buffer=ta, offset=off, strides=va.strides)
    return type(ta)(va.shape, ta.dtype, memptr=ta.data + off, strides=va.strides)


def _extent(a):
    """Bytes from a's first element to one past its last (non-negative strides)."""
    if a.size == 0:
        return 0
    if any(st < 0 for st in a.strides):
        return 1 << 62
    return sum((n - 1) * st for n, st in zip(a.shape, a.strides)) + a.itemsize


def _ptr(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


class MultiRef(_weakref):
    """register_view's reference to a view that a multi-output view op (unbind, split) made in
    grad mode: torch's MULTI_OUTPUT_NODE creation meta, which refuses recorded in-place writes
    to the view (ember/ops/_views.py's check_inplace_view)."""
    __slots__ = ()


def register_view(vc, view):
    """Remember (weakly) the views of a storage made in grad mode, so that an in-place change of
    the base's history can give them fresh grad_fns, as torch regenerates them (make_view has
    this code inline)."""
    if len(vc) == 2:
        vc.append([])
    views = vc[2]
    if len(views) >= 32 and not len(views) & (len(views) - 1):     # prune at powers of two
        views[:] = [r for r in views if r() is not None]
    views.append(_weakref(view))


def _first_tensor(args):
    return next(a for a in args if isinstance(a, Tensor))


def _node(op, bwd, be, saved, args, static, arrays=None, out=None):
    nxt = tuple([(a.grad_fn or a._leaf_node()) if isinstance(a, Tensor) and a._rg
                 else None for a in args])
    if op.keeps is not None and arrays is not None:
        args, saved = _thin(op, args, arrays, nxt, saved, out)
    return op.node_cls(op, bwd, be.xp, saved, nxt, args, static)


# name -> check(self, args, kwargs) run when an in-place op fails, to raise torch's error for
# an output that cannot hold the result (dtype or shape) before any kernel error
INPLACE_CHECKS = {}
# in-place ops torch refuses outright on a complex self (the out-of-place op is real-valued)
_COMPLEX_REFUSED = {"abs": "In-place abs is not supported for complex tensors.",
                    "absolute": "In-place abs is not supported for complex tensors."}


# in-place ops whose inputs may not share memory with self (default: only in part, as
# TensorIterator's ops; 1: at all, the scatters' source; 0: no check: the BLAS ops and
# masked_scatter_, which torch computes from memory as it is being written, and ldexp_, a
# mul_ by a new tensor)
_OVERLAP_CHECKS = {"scatter": 1, "scatter_add": 1, "scatter_reduce": 1, "addmm": 0,
                   "addmv": 0, "addbmm": 0, "baddbmm": 0, "masked_scatter": 0, "ldexp": 0}


def inplace(public_fn, name, reads_self=True):
    """Tensor.<name>_: compute out of place, write the result into self's storage, bump its
    version, and (when recording) move self onto the new node, as torch's in-place ops do.
    `reads_self=False`: the result does not depend on self's values (fills), so the recorded
    node gets self's storage as is rather than a copy of the old values."""
    precheck = INPLACE_CHECKS.get(name)
    refused = _COMPLEX_REFUSED.get(name)
    parser = f"{name}(): argument "       # the out-of-place op's TypeError for an argument
    overlap = _OVERLAP_CHECKS.get(name, 2)

    def fn(self, *args, **kwargs):
        try:
            if refused is not None and self.arr.dtype.kind == "c":
                raise RuntimeError(refused)
            if overlap and (args or kwargs):
                check_overlap(self, args, kwargs, overlap == 1)
            recording = _grad.enabled and (self._rg or _any_rg(args, kwargs))
        except AttributeError:
            raise_not_tensor(f"{name}_", ("input", 1, self))
        if recording:
            check_inplace(self)
            # an expanded tensor: torch's deprecated shared writes run (their backward is
            # refused, see _views.py's CopySlices), any other write reading self is refused
            if reads_self and name not in _SHARED_WRITES and \
                    not getattr(self.arr.flags, "writeable", True) and _overlaps(self.arr):
                raise RuntimeError(_OVERLAP)
            # backward must see the old values (in their own layout, as torch's kernels read
            # self: relu_'s gradient of a transposed input is transposed)
            src = _new(self.arr.copy(order="K") if reads_self else self.arr, self.be)
            src._rg, src.grad_fn, src._leaf = self._rg, self.grad_fn, self._leaf
            if _fw.level is not None:
                src._fw = getattr(self, "_fw", None)
        else:
            src = self
        out = None
        try:
            if _amp.enabled:            # torch autocasts no in-place op
                from ..amp.autocast import uncast
                out = uncast(public_fn, src, *args, **kwargs)
            else:
                out = public_fn(src, *args, **kwargs)
            write_into(self, out.arr, name)
        except (RuntimeError, NotImplementedError) as e:
            if type(self.arr) is NestedArray:
                if out is None and type(e) is NotImplementedError and \
                        self.arr.meta.layout == "strided":
                    # (the out-of-place op refused: torch's strided tensor lacks the in-place
                    # one too, which its message names)
                    raise not_implemented(_STRIDED_INPLACE.get(name, name + "_"), np,
                                          "NestedTensor") from None
            elif precheck is not None:
                # torch checks the output first: report that
                precheck(self, args, kwargs)
            raise
        except TypeError as e:              # torch's message names the in-place op
            if str(e).startswith(parser):
                raise TypeError(f"{name}_{str(e)[len(name):]}") from None
            raise
        if _fw.level is not None:
            _fw_inplace(self, out)
        if recording and out._rg:
            node = out.grad_fn
            aten = getattr(node.bwd, "aten", None)
            if aten is not None and aten[-1] != "_":        # torch names the in-place op
                from ._registry import refused_backward
                node.bwd = refused_backward(aten + "_")
            before, self._rg, self.grad_fn = self.grad_fn, True, node
            node.epoch = CLOCK[0]
            if node.out_vc is not None:     # a saved result is self now, as in torch: a later
                node.out_vc = self._vc      # write to self is refused in backward
            from ._views import rebase_view, refresh_views
            if self._base is not None:          # torch's CopySlices: rebase the view's base
                rebase_view(self, out)
            else:
                refresh_views(self)
            if self._retain:
                move_retain(self, before)
        return self
    fn.__name__ = fn.__qualname__ = name + "_"
    return fn


NO_GRAD_VIEW_ERROR = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if "
    "you don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked).")


def check_inplace(self):
    """torch's checks before a recorded in-place write to `self`: not a leaf that requires
    grad, not a view of one, not a view made in no_grad mode of a tensor that requires grad
    (such a view requires grad but has no grad_fn), not an output of a multi-view op."""
    base = self._base
    if self._rg and self.grad_fn is None:
        # (torch's jagged tensors are views of their values, made without grad)
        if base is not None or type(self.arr) is NestedArray and self.arr.meta.layout == "jagged":
            raise RuntimeError(NO_GRAD_VIEW_ERROR)
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if base is not None:
        from ._views import check_inplace_view
        check_inplace_view(self)        # torch's view-creation checks come first
        if base._rg and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")


def write_into(self, arr, name="copy"):
    """Copy `arr` into self's storage with torch's in-place casting and shape rules."""
    dst = self.arr
    if arr.shape != dst.shape:
        try:
            full = np.broadcast_shapes(arr.shape, dst.shape)
        except ValueError:
            raise _infer_size_error(dst.shape, arr.shape) from None
        except TypeError:       # a nested tensor's shape: a write between nested and dense
            from ..nested._ops import copy_error
            raise copy_error(arr, dst) from None
        if full != dst.shape:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast "
                               f"shape {list(full)}")
    if arr.dtype != dst.dtype:
        if not _can_write(arr.dtype, dst.dtype) and name != "copy":
            raise RuntimeError(f"result type {_tname(arr.dtype)} can't be cast to the desired "
                               f"output type {_tname(dst.dtype)}")
        if arr.dtype.kind == "c" and dst.dtype.kind not in "cb":
            arr = arr.real      # (explicitly: no NumPy ComplexWarning whatever the filters)
    if not getattr(dst.flags, "writeable", True):
        if type(dst) is NestedArray:
            write_nested(self, arr, name)
            return
        if isinstance(dst, SparseCOO):
            write_sparse(self, arr, name)
            return
        if isinstance(dst, CompressedArray):
            if type(arr) is not type(dst) or arr.layout != dst.layout:
                raise not_implemented("copy_", dst.xp, "SparseCsr")
            dst.assign(arr)
            bump_version(self)
            return
        if name in _SHARED_WRITES and _overlaps(dst):
            write_shared(self, np.broadcast_to(arr, dst.shape).astype(dst.dtype, copy=False),
                         name)
            return
        dst, region = write_target(self, fill=name in ("fill", "zero"))
        if region is not None:
            arr = np.broadcast_to(arr, self.arr.shape)[region]
    self.be.xp.copyto(dst, through_float(arr, dst.dtype), casting="unsafe")
    bump_version(self)


def write_sparse(self, arr, name):
    """write_into a sparse COO tensor (a SparseCOO reads as not writeable): it takes over the
    sparse result, its values written in place where the entries are the same (div_, neg_, a
    value-wise op of a coalesced tensor; torch's mul_ and add_ make new arrays). torch's
    value-wise in-place ops need a coalesced tensor; a dense result has no sparse kernel."""
    dst = self.arr
    if not isinstance(arr, SparseCOO):
        raise not_implemented("copy_", dst.xp)
    if name in ("pow", "square"):       # (square_ is torch's pow_(2)): no sparse kernel
        raise not_implemented("pow_.Scalar", dst.xp)
    if name in SPARSE_UNARY_OPS and not dst.coalesced:
        raise RuntimeError(f"{name}_ requires coalesced input")
    if arr.indices is dst.indices and name != "mul":
        dst.xp.copyto(dst.values, arr.values, casting="unsafe")
    else:
        dst.indices, dst.values = arr.indices, arr.values.astype(dst.dtype, copy=False)
        dst.coalesced = arr.coalesced
    bump_version(self)


# in-place ops torch refuses on a nested tensor (strided: those it lacks), by aten name
_NESTED_REFUSED = {"strided": {"sub": "sub_.Tensor", "div": "div_.Tensor",
                               "masked_fill": "masked_fill_.Scalar", "uniform": "uniform_",
                               "sin": "sin_", "cos": "cos_", "sqrt": "sqrt_"},
                   "jagged": {"masked_fill": "masked_fill_.Scalar", "abs": "abs_.default",
                              "uniform": "uniform_.default", "normal": "normal_.default"}}
_STRIDED_INPLACE = {"pow": "pow_.Scalar", "square": "pow_.Scalar"}   # (aten names besides name_)


def write_nested(self, arr, name):
    """write_into a nested tensor (a NestedArray reads as not writeable, so the dense path
    never looks for one): torch's refusals, then each component written."""
    layout = self.arr.meta.layout
    aten = _NESTED_REFUSED[layout].get(name)
    if aten is not None:
        raise not_implemented(aten, np, "NestedTensor") if layout == "strided" else \
            NotImplementedError(f"aten.{aten}")
    self.arr.write(arr)
    bump_version(self)


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


def write_target(t, fill=False):
    """(array, region) an in-place write into `t` goes to. A read-only NumPy view of writable
    memory (a tensor made by expand, or a view of one) is written through as torch does: where no
    two of its elements share memory, through a writable alias installed as t's array (region
    None); where some do, only a fill (fill_, zero_) may write, once per location: region indexes
    the elements it writes. Other read-only arrays come back as they are, and the write fails."""
    a = t.arr
    if getattr(a.flags, "writeable", True) or type(a) is not np.ndarray:   # (a sparse array)
        return a, None
    region = _one_per_location(a)
    shared = any(r.stop == 1 for r in region)
    if shared and not fill:
        raise RuntimeError(_OVERLAP)
    alias = writable_alias(a[region] if shared else a)
    if alias is None:
        return a, None
    if shared:
        return alias, region
    t.arr = alias
    return alias, None


# the writes torch still allows into a tensor whose elements share memory (with a warning)
_SHARED_WRITES = ("masked_fill", "index_fill", "index_put")


def _overlaps(a):
    st = a.strides
    return 0 in st and any(s == 0 and n > 1 for n, s in zip(a.shape, st))   # (`in`: no loop)


def _one_per_location(a):
    """The index cutting each dim of `a` whose elements share memory (stride 0) to one."""
    return tuple(slice(0, 1) if st == 0 and n > 1 else slice(None)
                 for n, st in zip(a.shape, a.strides))


def warn_shared(*names):
    """torch's deprecation warnings for writes into an expanded tensor (elements share memory)."""
    import warnings
    from .._warnings import outside_stacklevel
    for name in names:
        what, index = ("tensor", "indices") if name == "index_put" else ("scalar", "mask")
        warnings.warn(f"Use of {name}_ on expanded tensors is deprecated. Please clone() the "
                      f"tensor before performing this operation. This also applies to advanced "
                      f"indexing e.g. tensor[{index}] = {what}", UserWarning,
                      stacklevel=outside_stacklevel())


def shared_alias(a):
    """(alias, shared) for a read-only array `a` whose elements share memory: a writable view
    of its memory, `a` with each dim in `shared` (stride 0) cut to one element."""
    region = _one_per_location(a)
    shared = tuple(d for d, r in enumerate(region) if r.stop == 1)
    alias = writable_alias(a[region])
    if alias is None:
        raise RuntimeError("cannot write to this tensor: it views read-only memory (a "
                           "non-writable NumPy array or buffer); clone() it first")
    return alias, shared


def write_shared(t, new, name):
    """A fill (masked_fill_, index_fill_: `new` is t's values with the fill done) into the
    expanded tensor `t`: each memory location takes the fill where an element over it changed."""
    warn_shared(name)
    alias, shared = shared_alias(t.arr)
    tail = tuple(range(-len(shared), 0))
    changed = np.moveaxis(new != t.arr, shared, tail).reshape(alias.size, -1)
    new = np.moveaxis(new, shared, tail).reshape(alias.size, -1)
    rows, first = np.arange(alias.size), changed.argmax(1)
    np.copyto(alias, np.where(changed[rows, first], new[rows, first],
                              alias.reshape(-1)).reshape(alias.shape))
    bump_version(t)


class _Interface:
    """An array interface holding on to the memory it describes (its `base`)."""
    __slots__ = ("__array_interface__", "base")


def writable_alias(a):
    """A writable array over the memory of the read-only NumPy array `a`, when that memory
    belongs to a writable array (`a` is a broadcast view of it) and no two elements of `a`
    share a location; else None."""
    if _overlaps(a):
        return None
    root = a.base
    for _ in range(8):      # through read-only views and as_strided's interface objects
        if type(root) is np.ndarray:
            if root.flags.writeable:
                break
            root = root.base
        elif root is not None and not isinstance(root, np.ndarray) and hasattr(root, "base"):
            root = root.base
        else:
            return None
    else:
        return None
    holder = _Interface()
    iface = dict(a.__array_interface__)
    iface["data"] = (iface["data"][0], False)
    holder.__array_interface__, holder.base = iface, root
    return np.asarray(holder)


def _infer_size_error(a, b):
    """torch's infer_size message for shapes that do not broadcast (the last bad dim, numbered
    in the broadcast shape)."""
    n = max(len(a), len(b))
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            return RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor "
                                f"b ({b[-i]}) at non-singleton dimension {n - i}")
    return RuntimeError(f"shapes {list(a)} and {list(b)} do not broadcast")


def out_autograd_error(name=None):
    return RuntimeError(f"{name + '(): ' if name else ''}functions with out=... arguments don't "
                        "support automatic differentiation, but one of the arguments requires "
                        "grad.")


_OUT_DTYPE = {"found": "Found dtype {out} but expected {result}",     # TensorIterator's
              "resize": "Expected out tensor to have dtype {cresult}, but got {cout} instead"}


def _finish(result, out, name=None, exact=False, castable=None):
    """Deliver `result` through a user's `out=` tensor as torch does: no autograd, an `out` of
    another shape is resized (with a warning unless it was empty), the dtype must hold the result
    and `out` is returned. `exact`: the dtype must equal the result's, True with TensorIterator's
    message, "resize" with a structured kernel's, or a message of its own ({out}, {result}:
    torch's dtype names; {cout}, {cresult}: C++'s); `castable`: the name torch's
    checkLinalgCompatibleDtype gives when the result cannot be cast to out's dtype (or the
    name and what it calls the result)."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name or 'function'}(): argument 'out' must be Tensor, not "
                        f"{type(out).__name__}")
    # an `out` that requires grad counts too, unless the result is a predicate's bool; an op
    # without a derivative (torch's NotImplemented node) writes `out` and hands it its node
    refused = _no_derivative(result)
    if result._rg and not refused or out._rg and _grad.enabled and \
            result.arr.dtype.kind != "b":
        if name is None and result.grad_fn is not None:    # e.g. SumBackward0 -> sum
            name = result.grad_fn.name().split("Backward")[0].lower()
        raise out_autograd_error(name)
    if castable:
        _finish_checks_cast(result, out, castable)
    if exact and out.arr.dtype != result.arr.dtype:
        raise _out_dtype_error(exact, out, result, name)
    if out.shape != result.shape:
        if out.arr.size:
            warn_resized(out.shape, result.shape)
        out.arr = out.be.xp.empty(result.shape, out.arr.dtype)
    write_into(out, result.arr, "out")
    if refused:
        out._rg, out.grad_fn = True, result.grad_fn
    return out


# TensorIterator's message, not the structured one (checked before the kernel's dtype support)
_FOUND_DTYPE = {"round", "conj_physical", "abs", "neg", "floor", "ceil", "trunc", "frac", "sign",
                "sgn", "bitwise_not"}


def _no_derivative(t):
    """Whether t's node is torch's NotImplemented one (an op without a derivative), which
    out= hands on rather than refusing."""
    return t._rg and type(t.grad_fn).__name__ == "NotImplemented"


def _finish_checks_cast(result, out, castable):
    if not _can_write(result.arr.dtype, out.arr.dtype):
        fn, what = castable if isinstance(castable, tuple) else (castable, "result")
        raise RuntimeError(f"{fn}: Expected {what} to be safely castable from "
                           f"{_tname(result.arr.dtype)} dtype, but got {what} with dtype "
                           f"{_tname(out.arr.dtype)}")


def warn_resized(shape, new_shape):
    """torch's resize_output warning: an output of one or more elements got another shape."""
    import warnings
    from .._warnings import outside_stacklevel
    warnings.warn(f"An output with one or more elements was resized since it had shape "
                  f"{list(shape)}, which does not match the required output shape "
                  f"{list(new_shape)}. This behavior is deprecated, and in a future PyTorch "
                  "release outputs will not be resized unless they have zero elements. You can "
                  "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                  "with t.resize_(0). (Triggered internally at /__w/pytorch/pytorch/aten/src/"
                  "ATen/native/Resize.cpp:30.)", UserWarning, stacklevel=outside_stacklevel())


def _out_dtype_error(exact, out, result, name=None):
    """`exact`: True, the structured kernels' message (TensorIterator's for the names in
    _FOUND_DTYPE); "found": TensorIterator's; "resize": the structured one; or a format of its
    own ({out}, {result}: torch's dtype names; {cout}, {cresult}: C++'s)."""
    if exact is True:
        exact = "found" if name in _FOUND_DTYPE else "resize"
    return RuntimeError(_OUT_DTYPE.get(exact, exact).format(
        out=_tname(out.arr.dtype), result=_tname(result.arr.dtype),
        cout=cname(out.arr.dtype), cresult=cname(result.arr.dtype)))


def _finish_tuple(results, out, name, cls=tuple, exact=True, castable=None, dtype_check=None):
    """`out=(values, indices)` of a multi-output op (sort, topk, max(dim)...): each result goes
    through `_finish` with an exact dtype (`exact` as there), or one its result casts to
    (`castable`: a `_finish` castable for each; `dtype_check`: an op's own checks of the
    results' and outs' dtypes, in its order); `cls` of the given tensors is returned (its `_out`
    twin for a torch.return_types class, as torch returns sort_out, max_out...)."""
    if out is None:
        return cls(*results)
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not "
                        f"{type(out).__name__}")
    if len(out) != len(results):
        raise TypeError(f"expected tuple of {len(results)} elements but got {len(out)}")
    for r, o in zip(results, out):
        if not isinstance(o, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not "
                            f"{type(o).__name__}")
    if any(r._rg and not _no_derivative(r) for r in results) or \
            _grad.enabled and any(o._rg for o in out):
        raise out_autograd_error(name)
    if dtype_check is not None:                     # an op's own messages, in its order
        dtype_check([r.arr.dtype for r in results], [o.arr.dtype for o in out])
    for i, (r, o) in enumerate(zip(results, out)):  # no partial writes: check every dtype first
        if castable:
            _finish_checks_cast(r, o, castable[i])
        elif o.arr.dtype != r.arr.dtype:
            raise _out_dtype_error(exact, o, r, name)
    from ..return_types import out_variant
    return out_variant(cls)(*(_finish(r, o, name, False if castable else exact)
                              for r, o in zip(results, out)))


def _can_write(src, dst):
    from .._dtype import can_cast
    return can_cast(OF_NP[src.num], OF_NP[dst.num])


def _any_rg(args, kwargs):
    for a in args:
        if isinstance(a, Tensor) and a._rg:
            return True
    for a in kwargs.values():
        if isinstance(a, Tensor) and a._rg:
            return True
    return False
