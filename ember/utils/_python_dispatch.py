"""torch.utils._python_dispatch: TorchDispatchMode, which hands the ATen operators a program runs
to mode.__torch_dispatch__(func, types, args, kwargs), func an OpOverload of torch.ops.aten.

torch's dispatcher sees every call at the ATen level, below its Python functions. ember has no
such level: its functions and Tensor methods are its ops. While a mode is entered, a
TorchFunctionMode of ember's (_Bridge, at the bottom of the torch-function mode stack, so that
TorchFunctionModes see a call first, as in torch) takes each call and hands the innermost
dispatch mode the ATen calls torch reports for it:
- most calls are one operator: the function's name as ATen's (torch.special.erf: special_erf,
  Tensor.__rsub__: rsub, torch.absolute: abs) with the first overload whose schema takes the
  arguments, the arguments as torch hands them (positional ones up to the last one not at its
  default, int lists as lists, keyword-only ones not at their default, a factory's device and
  pin_memory);
- torch's composite functions are the ATen calls torch decomposes them into, each handed to the
  mode (F.linear: t, addmm; matmul: mm, bmm, mv, dot and their views; reshape, flatten,
  contiguous, indexing and index assignment, .T, .to(dtype), softmax, layer_norm,
  cross_entropy, norm, normalize, convolutions, embedding, pad, max pools, dropout,
  batch_norm, torch.tensor);
- an op whose output torch's autograd saves for backward (relu, exp, _log_softmax, ...) is
  followed by the detach torch hands the modes for it.
Calling func inside the handler runs it with that mode popped (the next mode is handed it, as in
torch); the arguments the handler was handed run ember's call as it was made, others run through
torch.ops.aten's binding. A result the handler returns is the call's result.

A backward run while a mode is entered hands it torch's backward calls (ones_like, the
derivative formulas' ATen calls, AccumulateGrad's): see utils/_dispatch_backward.py.

Not handed to modes: the calls ember makes inside its own functions
(a layer's parameters made in its __init__, an optimizer's updates), functions without an ATen
operator here (size, dim, shape: torch reports none of those either), and torch's composites
this module does not decompose (handed as their own operator, aten.scaled_dot_product_attention,
or not at all: einsum). Programs without a mode pay nothing: the dispatchers are held in
(_torch_function.hold) only while a mode is entered.

Tensor subclasses with __torch_dispatch__ (wrappers made by Tensor._make_wrapper_subclass,
holding other tensors): a call that one takes part in and no __torch_function__ takes (theirs
disabled, or torch's default running the function) is turned into the same ATen calls
(subclass_call), each handed, after the modes, to the subclasses' __torch_dispatch__
(subclasses first; all declining raises torch's TypeError). Their metadata queries (size,
stride, dtype, ...) are answered by the wrapper itself. Not supported: autograd recording on
the wrappers (torch records the graph on them above its Python dispatch key)."""
import contextlib
import math
import sys
import warnings
from collections import deque
from operator import is_

import numpy as np

from .._tensor import Tensor
from .._torch_function import STATE, TorchFunctionMode, dispatch_args, hold, release
from ..ops._aten import _MISSING, DISPATCH, _is_int, aten

__all__ = ["TorchDispatchMode", "BaseTorchDispatchMode", "is_in_torch_dispatch_mode",
           "is_traceable_wrapper_subclass", "_get_current_dispatch_mode",
           "_get_current_dispatch_mode_stack", "_push_mode", "_pop_mode",
           "_pop_mode_temporarily", "_disable_current_modes", "_len_torch_dispatch_stack"]

_is_in_torch_dispatch_mode = False
_is_in_non_infra_torch_dispatch_mode = False


def is_in_torch_dispatch_mode(include_infra_modes=True):
    return _is_in_torch_dispatch_mode if include_infra_modes else \
        _is_in_non_infra_torch_dispatch_mode


class TorchDispatchMode:
    """Inside `with mode:`, each op ember runs is handed to
    mode.__torch_dispatch__(func, types, args, kwargs) as the ATen call torch reports (func an
    OpOverload such as aten.add.Tensor); calling func(*args, **kwargs) there runs it with this
    mode popped, and what the handler returns is the op's result (see the module's docstring
    for what is handed and what is not)."""
    supports_higher_order_operators = False

    def __init__(self, _dispatch_key=None):
        if _dispatch_key is not None:
            self.__dict__["_dispatch_key"] = _dispatch_key
        self.old_dispatch_mode_flags = deque()
        self.old_non_infra_dispatch_mode_flags = deque()

    def _lazy_init_old_dispatch_mode_flags(self):
        if not hasattr(self, "old_dispatch_mode_flags"):
            self.old_dispatch_mode_flags = deque()
        if not hasattr(self, "old_non_infra_dispatch_mode_flags"):
            self.old_non_infra_dispatch_mode_flags = deque()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        global _is_in_torch_dispatch_mode, _is_in_non_infra_torch_dispatch_mode
        self._lazy_init_old_dispatch_mode_flags()
        self.old_dispatch_mode_flags.append(_is_in_torch_dispatch_mode)
        _is_in_torch_dispatch_mode = True
        self.old_non_infra_dispatch_mode_flags.append(_is_in_non_infra_torch_dispatch_mode)
        _is_in_non_infra_torch_dispatch_mode = _is_in_non_infra_torch_dispatch_mode or \
            not self.is_infra_mode()
        _push_mode(self)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        global _is_in_torch_dispatch_mode, _is_in_non_infra_torch_dispatch_mode
        _is_in_torch_dispatch_mode = self.old_dispatch_mode_flags.pop()
        _is_in_non_infra_torch_dispatch_mode = self.old_non_infra_dispatch_mode_flags.pop()
        _pop_mode()

    @classmethod
    def push(cls, *args, **kwargs):
        warnings.warn("`Mode.push()` is no longer necessary and can be replaced with just "
                      "`with Mode()`", stacklevel=2)
        return cls(*args, **kwargs)

    @classmethod
    def is_infra_mode(cls):
        return False

    @classmethod
    def ignore_compile_internals(cls):
        return cls.is_infra_mode()


class BaseTorchDispatchMode(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _get_current_dispatch_mode():
    """The innermost mode (the next one handed a call), or None."""
    stack = DISPATCH.stack
    return stack[-1] if stack else None


def _get_current_dispatch_mode_stack():
    """The modes, innermost last."""
    return list(DISPATCH.stack)


def _len_torch_dispatch_stack():
    return len(DISPATCH.stack)


def _push_mode(mode):
    stack = DISPATCH.stack
    if not stack:               # the first mode: the dispatchers in, the bridge at the bottom
        hold()
        STATE.modes = (_BRIDGE,) + STATE.modes
    DISPATCH.stack = stack + (mode,)


def _pop_mode(k=None):
    stack = DISPATCH.stack
    if not stack:
        raise AssertionError("Trying to pop from an empty mode stack")
    DISPATCH.stack = stack[:-1]
    if len(stack) == 1:
        STATE.modes = tuple(m for m in STATE.modes if m is not _BRIDGE)
        release()
    return stack[-1]


@contextlib.contextmanager
def _pop_mode_temporarily(k=None):
    old = _pop_mode(k)
    try:
        yield old
    finally:
        _push_mode(old)


@contextlib.contextmanager
def _disable_current_modes():
    old = [_pop_mode() for _ in range(len(DISPATCH.stack))]
    try:
        yield old
    finally:
        for mode in reversed(old):
            _push_mode(mode)


def is_traceable_wrapper_subclass(t):
    return isinstance(t, Tensor) and type(t) is not Tensor and \
        hasattr(t, "__tensor_flatten__") and hasattr(t, "__tensor_unflatten__")


# ---- handing calls to the modes ------------------------------------------------------------
def dispatch(op, args, kwargs, call=None, types=()):
    """op(*args, **kwargs) handed to the innermost mode (popped while its handler runs), or run
    where no mode is left. `call`: (function, args, kwargs), ember's call the arguments stand for,
    run in their place while a handler passes them on unchanged."""
    if call is None:
        handed = DISPATCH.handed
        if handed is not None and handed[0] is op and _same(handed[1], args) and \
                _same_kwargs(handed[2], kwargs):
            call = handed[3]
        else:               # (as torch hands them: defaults left out, int lists as lists)
            values = op._bind(args, kwargs)
            if isinstance(values, str):
                raise RuntimeError(values)
            args, kwargs = _torch_form(op, values)
            call = (op._run, (values,), {})     # (the values bound: not bound again)
    stack, modes, handed = DISPATCH.stack, STATE.modes, DISPATCH.handed
    if not stack:
        if DISPATCH.subclasses:
            subclassed = dispatch_args(args + tuple(kwargs.values()))
            if subclassed:
                return _to_subclasses(op, subclassed, args, kwargs)
        STATE.modes = ()            # (ember's function itself: no mode sees its insides)
        try:
            return call[0](*call[1], **call[2])
        finally:
            STATE.modes = modes
    if DISPATCH.subclasses and not types:      # (the subclasses among the arguments)
        types = tuple(dict.fromkeys(type(a) for a in dispatch_args(args + tuple(kwargs.values()))))
    mode = stack[-1]
    DISPATCH.stack = rest = stack[:-1]
    # calls in the handler reach the modes left (through the bridge), none if none is left
    others = tuple(m for m in modes if m is not _BRIDGE)
    STATE.modes = (_BRIDGE,) + others if rest else others
    DISPATCH.handed = (op, args, kwargs, call)
    try:
        out = mode.__torch_dispatch__(op, types, args, kwargs)
    finally:
        DISPATCH.stack, STATE.modes, DISPATCH.handed = stack, modes, handed
    if handed is None and isinstance(out, Tensor):
        _saved_output(out)
    return out


def _to_subclasses(op, subclassed, args, kwargs):
    """op(*args, **kwargs) handed to the __torch_dispatch__ of the subclasses among the
    arguments (subclasses first), until one does not return NotImplemented. The handler's
    calls are ordinary ones (its ATen calls of unwrapped tensors run ember's functions)."""
    types = tuple(dict.fromkeys(type(a) for a in subclassed))
    bridging, handed = DISPATCH.bridging, DISPATCH.handed
    DISPATCH.bridging = DISPATCH.handed = None
    try:
        for t in types:
            out = t.__torch_dispatch__(op, types, args, kwargs)
            if out is not NotImplemented:
                return out
    finally:
        DISPATCH.bridging, DISPATCH.handed = bridging, handed
    lines = "".join(f"\n  - tensor subclass {t}" for t in types)
    raise TypeError(f"Multiple dispatch failed for '{op}'; all __torch_dispatch__ handlers "
                    f"returned NotImplemented:\n{lines}\n\nFor more information, try "
                    "re-running with TORCH_LOGS=not_implemented")


def subclass_call(func, args, kwargs):
    """A call of one of ember's functions that a __torch_dispatch__ subclass takes part in
    (no mode or __torch_function__ took it): the ATen calls torch's makes (the bridge's rules),
    each handed to the subclasses (dispatch); a metadata query (size, dim, shape, dtype, ...)
    answered by the subclass tensor itself."""
    if getattr(func, "torch_name", None) in _Bridge._skips:
        return getattr(func, "__wrapped__", func)(*args, **kwargs)
    bridging, DISPATCH.bridging = DISPATCH.bridging, True
    try:
        return _BRIDGE.__torch_function__(func, (), args, kwargs)
    finally:
        DISPATCH.bridging = bridging


def _saved_output(out):
    """torch's autograd saves an op's output for backward as a detached alias (relu, exp,
    _log_softmax, ...), a detach the modes are handed after the op (not for the calls in a
    handler, below autograd)."""
    node = out.grad_fn
    if node is not None and getattr(getattr(node, "op", None), "saves_out", False) and \
            not out._is_view():
        dispatch(aten.detach.default, (out,), {}, None, (Tensor,))


def _hand(op, args, kwargs, call):
    """Hand the modes op(*args, **kwargs) for ember's `call` (func, args, kwargs), the
    arguments as torch hands them; the call runs as made where the schema refuses them."""
    values = op._bind(args, kwargs)
    if isinstance(values, str):
        return call[0](*call[1], **call[2])
    args, kwargs = _torch_form(op, values)
    return dispatch(op, args, kwargs, call)


def _same(a, b):
    return len(a) == len(b) and all(map(is_, a, b))


def _same_kwargs(a, b):
    if not a:
        return not b
    return b is not None and len(a) == len(b) and all(k in b and b[k] is v for k, v in a.items())


class _Bridge(TorchFunctionMode):
    """Turns the calls of ember's functions into the ATen calls handed to the dispatch modes."""
    _raw_calls = True
    _skips = frozenset(
        [f"torch.Tensor.{n}" for n in (
            "dim size numel is_floating_point is_complex element_size nelement ndimension "
            "is_contiguous stride is_signed get_device is_inference is_conj is_neg __len__ "
            "__repr__ __str__ __format__ tolist data_ptr storage_offset untyped_storage "
            "__bool__ __index__ __int__ __float__ __iter__ __hash__ "
            "requires_grad_ retain_grad register_hook backward").split()] +
        [f"torch.Tensor.{n}.__get__" for n in (
            "shape ndim dtype device requires_grad is_leaf layout is_cuda is_cpu itemsize nbytes "
            "is_sparse is_sparse_csr is_quantized is_meta is_nested retains_grad output_nr "
            "_version grad grad_fn data names name").split()])

    def __torch_function__(self, func, types, args=(), kwargs=None):
        rule = _RULES.get(func)
        if rule is None:
            rule = _RULES[func] = _rule(getattr(func, "torch_name", None) or "")
        return rule(func, args, kwargs or {})


_BRIDGE = _Bridge()
_RULES = {}     # function handed to the bridge -> rule(func, args, kwargs) running its call

_PREFIXES = (("torch.Tensor.", ""), ("torch.nn.functional.", ""), ("torch.functional.", ""),
             ("torch.special.", "special_"), ("torch.linalg.", "linalg_"), ("torch.fft.", "fft_"),
             ("torch.", ""))
# ember's (torch's Python-level) names -> the ATen operator torch reports for them
_ALIASES = {
    "absolute": "abs", "negative": "neg", "multiply": "mul", "divide": "div",
    "true_divide": "div", "subtract": "sub", "greater": "gt", "greater_equal": "ge",
    "less": "lt", "less_equal": "le", "not_equal": "ne", "clip": "clamp", "fix": "trunc",
    "arccos": "acos", "arcsin": "asin", "arctan": "atan", "arctan2": "atan2",
    "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "item": "_local_scalar_dense",
    "__rsub__": "rsub", "__pow__": "pow", "__eq__": "eq", "__and__": "bitwise_and",
    "__or__": "bitwise_or", "__xor__": "bitwise_xor", "__invert__": "bitwise_not",
    "__floordiv__": "floor_divide", "__iand__": "bitwise_and_", "__ior__": "bitwise_or_",
    "__ixor__": "bitwise_xor_", "__ipow__": "pow_", "__imod__": "remainder_",
    "__ifloordiv__": "floor_divide_"}


def _rule(torch_name):
    for prefix, aten_prefix in _PREFIXES:
        if torch_name.startswith(prefix):
            name = torch_name[len(prefix):]
            break
    else:
        return _unseen
    decomposed = _DECOMPOSED.get(torch_name)
    if decomposed is not None:
        return decomposed
    name = aten_prefix + _ALIASES.get(name, name)
    try:
        packet = getattr(aten, name)
    except AttributeError:
        return _unseen

    def one_op(func, args, kwargs):
        found = _overload(packet, args, kwargs)
        if found is None:
            return func(*args, **kwargs)
        op, t_args, t_kwargs = found
        return dispatch(op, t_args, t_kwargs, (func, args, kwargs))
    return one_op


def _unseen(func, args, kwargs):
    """A call without an ATen operator here: run as it is (the modes do not see it)."""
    return func(*args, **kwargs)


def _overload(packet, args, kwargs):
    """(overload, args, kwargs as torch hands them) for the first of packet's overloads whose
    schema takes the arguments (sizes spread, as view(2, 3), packed into a list), or None."""
    ops = _RUNNABLE.get(packet)
    if ops is None:
        ops = _RUNNABLE[packet] = tuple(op for op in packet.op_overloads() if op._runs)
    for op in ops:
        values = op._bind(args, kwargs)
        if isinstance(values, str):
            packed = _packed(op, args)
            if packed is None:
                continue
            values = op._bind(packed, kwargs)
            if isinstance(values, str):
                continue
        return (op,) + _torch_form(op, values, True)
    return None


_RUNNABLE = {}      # packet -> its overloads that run, in torch's order


def _packed(op, args):
    """args with the sizes spread from the schema's first int list on made a list, or None."""
    for i, p in enumerate(op._schema.arguments):
        if p.kwarg_only or i > len(args):
            return None
        if p.type.startswith(("int[", "SymInt[")):
            rest = args[i:]
            if rest and all(_is_int(v) and not isinstance(v, bool) for v in rest):
                return args[:i] + (list(rest),)
            return None
    return None


def _at_default(v, default, t):
    if default is _MISSING or isinstance(v, Tensor):
        return False
    v, default = _form(t, v), _form(t, default)     # (int[2] padding=0 is [0, 0])
    return type(v) is type(default) and v == default


def _torch_form(op, values, called=False):
    """The bound values as torch hands them to __torch_dispatch__: (args, kwargs). `called`:
    a call of the function as a program makes it, whose factory arguments torch's binding
    fills in (pin_memory, and the device where no tensor is given)."""
    params = op._schema.arguments
    factory = bool(params) and not params[0].type.startswith("Tensor")
    positional, kwargs = [], {}
    for p, v in zip(params, values):
        if v is _MISSING and p.name == "pin_memory" and called:
            v = False
        elif v is _MISSING and p.name == "device" and factory and p.kwarg_only and called:
            v = sys.modules["ember"].get_default_device()
        if p.kwarg_only:
            if v is not _MISSING and not _at_default(v, p.default, p.type):
                kwargs[p.name] = _form(p.type, v)
        else:
            positional.append((p, v))
    while positional and (positional[-1][1] is _MISSING or _at_default(
            positional[-1][1], positional[-1][0].default, positional[-1][0].type)):
        positional.pop()
    return tuple(_form(p.type, p.default if v is _MISSING else v) for p, v in positional), kwargs


def _form(t, v):
    base = t.rstrip("?")
    if base.endswith("]"):
        if isinstance(v, (tuple, list)):
            return list(v)
        if base.startswith(("int[", "SymInt[")) and _is_int(v):
            n = base[base.index("[") + 1:-1]
            return [v] * (int(n) if n else 1)       # (int[2] stride=2 is [2, 2])
    elif base == "Device" and isinstance(v, (str, int)):
        return sys.modules["ember"].device(v)
    return v


# ---- torch's composite functions, as the ATen calls torch makes -----------------------------
def _ember():
    return sys.modules["ember"]




def _reshape(x, shape):
    """torch's reshape: a view where the strides allow one, else a contiguous clone viewed."""
    from ..ops.shape import _reshape_nocopy, infer_shape
    shape = list(infer_shape(tuple(shape), x.numel()))
    a = x.arr
    if _reshape_nocopy(x.be.xp, a, tuple(shape)) is not None:
        return aten.view.default(x, shape)
    c = aten.clone.default(x, memory_format=_ember().contiguous_format)
    return aten._unsafe_view.default(c, shape)


def _reshape_rule(func, args, kwargs):
    from ..ops.shape import _shape_arg
    if not args or (len(args) == 1 and "shape" not in kwargs):
        return func(*args, **kwargs)
    x = args[0]
    if not isinstance(x, Tensor) or x.is_nested or x.layout != _ember().strided:
        return func(*args, **kwargs)
    shape = kwargs["shape"] if "shape" in kwargs else _shape_arg(args[1:], "reshape")
    return _reshape(x, shape)


def _flatten_rule(func, args, kwargs):
    if not args:
        return func(*args, **kwargs)
    x = args[0]
    if not isinstance(x, Tensor) or any(isinstance(a, str) for a in args[1:]) or \
            x.layout != _ember().strided:
        return func(*args, **kwargs)
    names = ("start_dim", "end_dim")
    bounds = dict(zip(names, args[1:]), **kwargs)
    if x.ndim == 0:
        return _reshape(x, [1])
    n = x.ndim
    start, end = bounds.get("start_dim", 0), bounds.get("end_dim", -1)
    if not (_is_int(start) and _is_int(end) and -n <= start < n and -n <= end < n) or \
            start % n > end % n:
        return func(*args, **kwargs)        # (ember's errors)
    start, end = start % n, end % n
    if start == end:
        return x
    shape = list(x.shape)
    size = 1
    for s in shape[start:end + 1]:
        size *= s
    return _reshape(x, shape[:start] + [size] + shape[end + 1:])


def _contiguous_rule(func, args, kwargs):
    if not args:
        return func(*args, **kwargs)
    x = args[0]
    fmt = args[1] if len(args) > 1 else kwargs.get("memory_format", _ember().contiguous_format)
    if len(args) > 2 or not isinstance(fmt, type(_ember().contiguous_format)):
        return func(*args, **kwargs)
    if x.is_contiguous(memory_format=fmt):
        return x
    return aten.clone.default(x, memory_format=fmt)


def _T_rule(func, args, kwargs):
    if not args:
        return func(*args, **kwargs)
    x = args[0]
    return aten.permute.default(x, list(range(x.ndim))[::-1])


def _mT_rule(func, args, kwargs):
    return aten.transpose.int(args[0], -2, -1)


_DTYPE_METHODS = {"double": "float64", "float": "float32", "half": "float16",
                  "bfloat16": "bfloat16", "int": "int32", "long": "int64", "short": "int16",
                  "bool": "bool", "char": "int8", "byte": "uint8", "cfloat": "complex64",
                  "cdouble": "complex128"}


def _dtype_method_rule(name):
    def rule(func, args, kwargs):
        if len(args) != 1 or any(k != "memory_format" for k in kwargs):
            return func(*args, **kwargs)
        x = args[0]
        dtype = getattr(_ember(), _DTYPE_METHODS[name])
        if x.dtype == dtype and "memory_format" not in kwargs:
            return x
        return _hand(aten._to_copy.default, (x,), {"dtype": dtype}, (func, args, kwargs))
    return rule


def _to_rule(func, args, kwargs):
    """Tensor.to(dtype): an _to_copy where the dtype changes (other forms run unseen)."""
    if not args:
        return func(*args, **kwargs)
    x = args[0]
    dtype = kwargs.get("dtype")
    rest = args[1:]
    if rest and isinstance(rest[0], _ember().dtype):
        dtype, rest = rest[0], rest[1:]
    if dtype is None or rest or set(kwargs) - {"dtype"}:
        return func(*args, **kwargs)
    if dtype == x.dtype:
        return x
    return _hand(aten._to_copy.default, (x,), {"dtype": dtype}, (func, args, kwargs))


def _type_rule(func, args, kwargs):
    """Tensor.type(dtype): an _to_copy where the dtype changes (other forms run unseen)."""
    if len(args) != 2 or kwargs or not isinstance(args[1], _ember().dtype):
        return func(*args, **kwargs)
    x, dtype = args
    if dtype == x.dtype:
        return x
    return _hand(aten._to_copy.default, (x,), {"dtype": dtype}, (func, args, kwargs))


def _norm(x, p, dim, keepdim, dtype, call):
    """torch.norm's linalg_vector_norm (its p 'fro' as 2, None as 2.0), or None where torch's
    norm takes another path."""
    if isinstance(p, str) and (p != "fro" or not (dim is None or _is_int(dim) or
                                                  len(dim) <= 2)):
        return None
    ord_ = 2 if p == "fro" else 2.0 if p is None else p
    dims = None if dim is None else [dim] if _is_int(dim) else list(dim)
    return _hand(aten.linalg_vector_norm.default, (x, ord_, dims, keepdim),
                 {} if dtype is None else {"dtype": dtype}, call)


def _norm_rule(func, args, kwargs):
    """torch.norm and Tensor.norm of a strided tensor: linalg_vector_norm."""
    names = ("input", "p", "dim", "keepdim") + (
        ("dtype",) if func.torch_name.startswith("torch.Tensor.") else ("out", "dtype"))
    given = _given(names, args, kwargs)
    if given is None or not isinstance(given.get("input"), Tensor) or \
            given.get("out") is not None or given["input"].layout != _ember().strided:
        return func(*args, **kwargs)
    out = _norm(given["input"], given.get("p", "fro"), given.get("dim"),
                given.get("keepdim", False), given.get("dtype"), (func, args, kwargs))
    return func(*args, **kwargs) if out is None else out


def _normalize_rule(func, args, kwargs):
    """F.normalize: input / norm(...).clamp_min(eps).expand_as(input), as torch's."""
    given = _given(("input", "p", "dim", "eps", "out"), args, kwargs)
    if given is None or not isinstance(given.get("input"), Tensor) or \
            given.get("out") is not None or given["input"].layout != _ember().strided or \
            isinstance(given.get("p", 2.0), str):
        return func(*args, **kwargs)
    x = given["input"]
    norm = _norm(x, given.get("p", 2.0), given.get("dim", 1), True, None,
                 (_ember().linalg.vector_norm, (x, given.get("p", 2.0), given.get("dim", 1),
                                                True), {}))
    denom = aten.clamp_min.default(norm, given.get("eps", 1e-12))
    return aten.div.Tensor(x, aten.expand.default(denom, list(x.shape)))


class _AtenSteps:
    """ops/linalg.py's _matmul_steps as the ATen calls torch's matmul makes."""
    subclass_like = True        # (torch's isTensorSubclassLike holds under a dispatch mode)
    def dot(a, b):
        return aten.dot.default(a, b)

    def mv(a, b):
        return aten.mv.default(a, b)

    def mm(a, b):
        return aten.mm.default(a, b)

    def bmm(a, b):
        return aten.bmm.default(a, b)

    def squeeze_row(x):
        return aten.squeeze_.dim(x, 0)

    def fold_probe(b):
        aten.transpose.int(b, -2, -1)       # (should_fold's tensor2.mT())

    def unsqueeze(x, dim):
        return aten.unsqueeze.default(x, dim)

    def squeeze(x, dim):
        return aten.squeeze.dim(x, dim)

    def transpose(x, d0, d1):
        return aten.transpose.int(x, d0, d1)

    def t(x):
        return aten.t.default(x)

    def reshape(x, shape):
        return _reshape(x, list(shape))

    def expand(x, shape):
        return aten.expand.default(x, list(shape))

    def unsafe_view(x, shape):
        return aten._unsafe_view.default(x, list(shape))

    def contiguous(x):
        return _contiguous_rule(None, (x,), {})


def _matmul(a, b):
    """torch's matmul as its ATen calls (see _matmul_steps)."""
    from ..ops.linalg import _matmul_steps
    return _matmul_steps(a, b, _AtenSteps)


def _plain_pair(args, kwargs, names=("input", "other")):
    """The two tensors of a call f(a, b), or None where it is not plain strided ones."""
    if kwargs.keys() - set(names) or len(args) + len(kwargs) != 2:
        return None
    a, b = args + tuple(kwargs[n] for n in names[len(args):])
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or a.layout != _ember().strided or \
            b.layout != _ember().strided or a.ndim == 0 or b.ndim == 0 or \
            a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]) or a.dtype != b.dtype \
            or a.device != b.device:
        return None
    try:
        np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        return None                     # (ember's matmul raises torch's error)
    return a, b


def _matmul_rule(func, args, kwargs):
    pair = _plain_pair(args, kwargs)
    if pair is None:
        return func(*args, **kwargs)
    return _matmul(*pair)


def _linear_rule(func, args, kwargs):
    """torch's linear: addmm for a 2-D input with a bias, or a contiguous 3-D (or N-D with a
    1-D bias) one flattened to a matrix and viewed back; else matmul(input, weight.t())
    plus the bias in place."""
    names = ("input", "weight", "bias")
    if kwargs.keys() - set(names) or not 2 <= len(args) + len(kwargs) <= 3:
        return func(*args, **kwargs)
    given = dict(zip(names, args), **kwargs)
    x, w, bias = given.get("input"), given.get("weight"), given.get("bias")
    if not isinstance(x, Tensor) or not isinstance(w, Tensor) or w.ndim != 2 or x.ndim == 0 or \
            x.shape[-1] != w.shape[1] or x.dtype != w.dtype or \
            (bias is not None and (not isinstance(bias, Tensor) or bias.dtype != x.dtype)) or \
            x.layout != _ember().strided:
        return func(*args, **kwargs)
    if x.ndim == 2 and bias is not None:
        return aten.addmm.default(bias, x, aten.t.default(w))
    if bias is not None and x.is_contiguous() and (x.ndim == 3 or bias.ndim == 1):
        sizes = list(x.shape)
        flat = _reshape(x, [math.prod(sizes[:-1]), sizes[-1]])
        out = aten.addmm.default(bias, flat, aten.t.default(w))
        return aten.view.default(out, sizes[:-1] + [out.shape[1]])
    out = _matmul(x, aten.t.default(w))
    if bias is not None:
        out = aten.add_.Tensor(out, bias)
    return out


def _softmax_rule(aten_name):
    """softmax and log_softmax (torch.X and Tensor.X take dtype third, F.X fourth)."""
    def rule(func, args, kwargs):
        packet = getattr(aten, aten_name)
        functional = func.torch_name.startswith("torch.nn.functional.")
        names = ("input", "dim", "_stacklevel", "dtype") if functional else \
            ("input", "dim", "dtype")
        if kwargs.keys() - set(names) or len(args) > len(names):
            return func(*args, **kwargs)
        given = dict(zip(names, args), **kwargs)
        x, dim, dtype = given.get("input"), given.get("dim"), given.get("dtype")
        if not isinstance(x, Tensor) or not _is_int(dim) or isinstance(dim, bool) or \
                x.layout != _ember().strided:
            return func(*args, **kwargs)
        if dtype is not None and dtype != x.dtype:     # (torch's to(options): all three)
            x = aten._to_copy.default(x, dtype=dtype, layout=x.layout, device=x.device)
        return packet.default(x, dim, False)
    return rule


def _layer_norm_rule(func, args, kwargs):
    names = ("input", "normalized_shape", "weight", "bias", "eps")
    if kwargs.keys() - set(names) or len(args) > len(names):
        return func(*args, **kwargs)
    given = dict(zip(names, args), **kwargs)
    x, shape = given.get("input"), given.get("normalized_shape")
    if not isinstance(x, Tensor) or shape is None:
        return func(*args, **kwargs)
    shape = [shape] if _is_int(shape) else list(shape)
    return aten.native_layer_norm.default(x, shape, given.get("weight"), given.get("bias"),
                                          given.get("eps", 1e-05))[0]


_LOSS_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _nll_rule(log_softmax_first):
    """cross_entropy (log_softmax, then nll_loss) and nll_loss of a 2-D input and class
    indices: nll_loss_forward (other forms run unseen)."""
    def rule(func, args, kwargs):
        names = ("input", "target", "weight", "size_average", "ignore_index", "reduce",
                 "reduction") + (("label_smoothing",) if log_softmax_first else ())
        if kwargs.keys() - set(names) or len(args) > len(names):
            return func(*args, **kwargs)
        given = dict(zip(names, args), **kwargs)
        x, target = given.get("input"), given.get("target")
        reduction = given.get("reduction", "mean")
        if not isinstance(x, Tensor) or not isinstance(target, Tensor) or x.ndim != 2 or \
                target.ndim != 1 or target.dtype.is_floating_point or \
                given.get("size_average") is not None or given.get("reduce") is not None or \
                given.get("label_smoothing", 0.0) != 0.0 or reduction not in _LOSS_REDUCTIONS:
            return func(*args, **kwargs)
        if log_softmax_first:
            x = aten._log_softmax.default(x, 1, False)
        return aten.nll_loss_forward.default(x, target, given.get("weight"),
                                             _LOSS_REDUCTIONS[reduction],
                                             given.get("ignore_index", -100))[0]
    return rule


def _index_plan(shape, index):
    """x[index] for ints, slices, None and Ellipsis as torch's calls: [(op, args after x)],
    select, slice and unsqueeze; None where the index holds anything else."""
    items = index if type(index) is tuple else (index,)
    if not all(i is None or i is Ellipsis or type(i) is slice or type(i) is int
               for i in items) or sum(i is Ellipsis for i in items) > 1:
        return None
    consuming = sum(i is not None and i is not Ellipsis for i in items)
    if consuming > len(shape):
        return None
    shape, dim, plan = list(shape), 0, []
    for i in items:
        if i is None:
            plan.append((aten.unsqueeze.default, dim))
            shape.insert(dim, 1)
            dim += 1
        elif i is Ellipsis:
            dim += len(shape) - dim - (consuming - _consumed(items, i))
        elif type(i) is int:
            if not -shape[dim] <= i < shape[dim]:
                return None         # (ember's own call raises torch's IndexError)
            plan.append((aten.select.int, dim, i))
            del shape[dim]
        else:
            if i.step is not None and i.step <= 0:
                return None
            if i != slice(None):
                start, stop, step = i.indices(shape[dim])
                plan.append((aten.slice.Tensor, dim, 0 if i.start is None else i.start,
                             sys.maxsize if i.stop is None else i.stop, step))
                shape[dim] = len(range(start, stop, step))
            dim += 1
    return plan


def _basic_index(x, plan):
    for op, *args in plan:
        x = op(x, *args)
    return x


def _consumed(items, ellipsis):
    """How many of items before the Ellipsis take a dim."""
    n = 0
    for i in items:
        if i is ellipsis:
            return n
        if i is not None:
            n += 1
    return n


def _getitem_rule(func, args, kwargs):
    if len(args) != 2 or kwargs:
        return func(*args, **kwargs)
    x, index = args
    if not isinstance(x, Tensor) or x.layout != _ember().strided:
        return func(*args, **kwargs)
    plan = _index_plan(x.shape, index)
    if plan is not None:
        return _basic_index(x, plan)
    if isinstance(index, Tensor) and not index.dtype.is_floating_point and index.ndim > 0:
        return _hand(aten.index.Tensor, (x, [index]), {}, (func, args, kwargs))
    return func(*args, **kwargs)


def _setitem_rule(func, args, kwargs):
    """x[index] = value for basic indices: the view torch selects, then fill_ (a number, which
    torch first makes a tensor: lift_fresh) or copy_."""
    if len(args) != 3 or kwargs:
        return func(*args, **kwargs)
    x, index, value = args
    if not isinstance(x, Tensor) or x.layout != _ember().strided or \
            not (isinstance(value, (bool, int, float, complex)) or isinstance(value, Tensor)):
        return func(*args, **kwargs)
    advanced = isinstance(index, Tensor) and not index.dtype.is_floating_point and \
        index.ndim > 0
    if isinstance(value, Tensor):
        if advanced:            # (torch's index_put_, run as ember's setitem)
            _hand(aten.index_put_.default, (x, [index], value), {},
                  (_returning, (x, func, args), {}))
            return None
        plan = _index_plan(x.shape, index)
        if plan is None:
            return func(*args, **kwargs)
        aten.copy_.default(_basic_index(x, plan), value)
        return None
    plan = None if advanced else _index_plan(x.shape, index)
    if not advanced and plan is None:
        return func(*args, **kwargs)
    filler = aten.lift_fresh.default(_ember().tensor(value, dtype=x.dtype))
    if advanced:
        _hand(aten.index_put_.default, (x, [index], filler), {},
              (_returning, (x, func, args), {}))
    else:
        aten.fill_.Tensor(_basic_index(x, plan), filler)
    return None


def _returning(x, func, args):
    """func(*args) (x[index] = value), giving x, as torch's index_put_ does."""
    func(*args)
    return x


def _tensor_rule(func, args, kwargs):
    """torch.tensor and Tensor.new_tensor: the new tensor lifted (lift_fresh), as torch
    reports it."""
    return aten.lift_fresh.default(func(*args, **kwargs))


def _rtruediv_rule(func, args, kwargs):
    if len(args) != 2 or kwargs:
        return func(*args, **kwargs)
    x, other = args
    if not isinstance(x, Tensor) or not isinstance(other, (bool, int, float, complex)):
        return func(*args, **kwargs)
    return aten.mul.Tensor(aten.reciprocal.default(x), other)


def _rpow_rule(func, args, kwargs):
    if len(args) != 2 or kwargs:
        return func(*args, **kwargs)
    x, other = args
    if not isinstance(x, Tensor) or not isinstance(other, (bool, int, float, complex)):
        return func(*args, **kwargs)
    return aten.pow.Scalar(other, x)


def _square_rule(func, args, kwargs):
    if len(args) != 1 or kwargs or not isinstance(args[0], Tensor):
        return func(*args, **kwargs)
    return aten.pow.Tensor_Scalar(args[0], 2)


def _chunk_rule(func, args, kwargs):
    """chunk: torch's split.Tensor of ceil(size / chunks)."""
    names = ("input", "chunks", "dim")
    if kwargs.keys() - set(names) or not 2 <= len(args) + len(kwargs) <= 3:
        return func(*args, **kwargs)
    given = dict(zip(names, args), **kwargs)
    x, chunks, dim = given.get("input"), given.get("chunks"), given.get("dim", 0)
    if not isinstance(x, Tensor) or not _is_int(chunks) or not _is_int(dim) or chunks <= 0 or \
            x.ndim == 0 or not -x.ndim <= dim < x.ndim:
        return func(*args, **kwargs)
    size = x.shape[dim]
    if size == 0:
        return func(*args, **kwargs)
    split = (size + chunks - 1) // chunks
    return _hand(aten.split.Tensor, (x, split, dim), {}, (func, args, kwargs))


def _variance_rule(name):
    """var and std: torch reports their correction overload (unbiased given as a correction
    of 1 or 0 where a dim is given, and as none or 0 where not)."""
    def rule(func, args, kwargs):
        found = _overload(getattr(aten, name), args, kwargs)
        if found is None:
            return func(*args, **kwargs)
        op, t_args, t_kwargs = found
        if op._overloadname in ("default", "dim"):
            unbiased = t_args[2] if len(t_args) > 2 else True if op._overloadname == "dim" \
                else t_args[1] if len(t_args) > 1 else True
            keepdim = t_args[3] if len(t_args) > 3 else False
            if op._overloadname == "dim":
                t_args, t_kwargs = t_args[:2], {"correction": int(unbiased)}
            else:
                t_args, t_kwargs = t_args[:1], {} if unbiased else {"correction": 0}
            if keepdim:
                t_kwargs["keepdim"] = True
            op = getattr(aten, name).correction
        return dispatch(op, t_args, t_kwargs, (func, args, kwargs))
    return rule


def _numpy_rule(func, args, kwargs):
    """Tensor.numpy(): torch detaches the tensor first."""
    if not args:
        return func(*args, **kwargs)
    x = args[0]
    if not isinstance(x, Tensor) or x.requires_grad or len(args) > 1 or kwargs:
        return func(*args, **kwargs)
    return func(aten.detach.default(x))


def _given(names, args, kwargs):
    """The arguments of a call f(*args, **kwargs) of parameters `names` by name, or None
    where they do not fit."""
    if kwargs.keys() - set(names) or len(args) > len(names) or \
            any(n in kwargs for n in names[:len(args)]):
        return None
    return dict(zip(names, args), **kwargs)


def _conv_rule(n, transposed):
    """conv{n}d and conv_transpose{n}d of a batched input: torch's convolution."""
    names = ("input", "weight", "bias", "stride", "padding") + \
        (("output_padding", "groups", "dilation") if transposed else ("dilation", "groups"))

    def rule(func, args, kwargs):
        given = _given(names, args, kwargs)
        if given is None or not isinstance(given.get("input"), Tensor) or \
                not isinstance(given.get("weight"), Tensor) or given["input"].ndim != n + 2 or \
                isinstance(given.get("padding"), str):
            return func(*args, **kwargs)

        def sizes(name, default):
            v = given.get(name, default)
            return [v] * n if _is_int(v) else list(v)
        return _hand(aten.convolution.default, (
            given["input"], given["weight"], given.get("bias"), sizes("stride", 1),
            sizes("padding", 0), sizes("dilation", 1), transposed,
            sizes("output_padding", 0), given.get("groups", 1)), {}, (func, args, kwargs))
    return rule


def _embedding_rule(func, args, kwargs):
    """F.embedding: torch's embedding(weight, indices, padding_idx) (without max_norm)."""
    given = _given(("input", "weight", "padding_idx", "max_norm", "norm_type",
                    "scale_grad_by_freq", "sparse"), args, kwargs)
    if given is None or given.get("max_norm") is not None or \
            not isinstance(given.get("weight"), Tensor) or given["weight"].ndim != 2:
        return func(*args, **kwargs)
    pad = given.get("padding_idx")
    pad = -1 if pad is None else pad + given["weight"].shape[0] if pad < 0 else pad
    return _hand(aten.embedding.default, (
        given["weight"], given["input"], pad, given.get("scale_grad_by_freq", False),
        given.get("sparse", False)), {}, (func, args, kwargs))


def _pad_rule(func, args, kwargs):
    """F.pad in constant mode: torch's constant_pad_nd (the value a float, 0.0 if none)."""
    given = _given(("input", "pad", "mode", "value"), args, kwargs)
    if given is None or given.get("mode", "constant") != "constant" or \
            not isinstance(given.get("input"), Tensor):
        return func(*args, **kwargs)
    value = given.get("value")
    value = 0.0 if value is None else value if isinstance(value, complex) else float(value)
    return _hand(aten.constant_pad_nd.default, (given["input"], list(given["pad"]), value), {},
                 (func, args, kwargs))


def _max_pool_rule(n):
    """F.max_pool{n}d: torch's max_pool{n}d_with_indices (its values unless return_indices)."""
    def rule(func, args, kwargs):
        given = _given(("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                        "return_indices"), args, kwargs)
        if given is None or not isinstance(given.get("input"), Tensor):
            return func(*args, **kwargs)
        stride = given.get("stride")
        op = getattr(aten, f"max_pool{n}d_with_indices").default
        out = op(given["input"], given["kernel_size"], [] if stride is None else stride,
                 given.get("padding", 0), given.get("dilation", 1), given.get("ceil_mode", False))
        return out if given.get("return_indices", False) else out[0]
    return rule


def _dropout_rule(func, args, kwargs):
    """F.dropout in training on the CPU: torch's noise, empty_like, bernoulli_(1 - p),
    div_(1 - p), times the input (in place with inplace), drawing as ember's dropout does."""
    given = _given(("input", "p", "training", "inplace"), args, kwargs)
    if given is None:
        return func(*args, **kwargs)
    x, p = given.get("input"), given.get("p", 0.5)
    if not isinstance(x, Tensor) or x.layout != _ember().strided or x.device.type != "cpu" or \
            not given.get("training", True) or not isinstance(p, (int, float)) or \
            not 0 < p < 1 or x.numel() == 0 or not x.dtype.is_floating_point:
        return func(*args, **kwargs)
    noise = aten.div_.Scalar(aten.bernoulli_.float(aten.empty_like.default(x), 1 - p), 1 - p)
    return (aten.mul_.Tensor if given.get("inplace", False) else aten.mul.Tensor)(x, noise)


def _batch_norm_rule(func, args, kwargs):
    """F.batch_norm on the CPU: torch's (empty) reserve tensor, then native_batch_norm."""
    given = _given(("input", "running_mean", "running_var", "weight", "bias", "training",
                    "momentum", "eps"), args, kwargs)
    if given is None:
        return func(*args, **kwargs)
    x, training = given.get("input"), given.get("training", False)
    if not isinstance(x, Tensor) or x.layout != _ember().strided or x.device.type != "cpu" or \
            x.ndim < 2 or (training and x.numel() // max(x.shape[1], 1) <= 1) or \
            given.get("momentum", 0.1) is None:
        return func(*args, **kwargs)
    aten.empty.memory_format([0], dtype=_ember().uint8, layout=_ember().strided,
                             device=x.device)
    return aten.native_batch_norm.default(
        x, given.get("weight"), given.get("bias"), given.get("running_mean"),
        given.get("running_var"), training, given.get("momentum", 0.1),
        given.get("eps", 1e-05))[0]


# nn.functional's activations with `inplace`: the arguments torch's passes on to ATen's op
# (or to its in-place op), with their defaults
_ACTIVATIONS = {"relu": (), "silu": (), "mish": (), "hardswish": (), "hardsigmoid": (),
                "elu": (("alpha", 1.0),), "celu": (("alpha", 1.0),),
                "leaky_relu": (("negative_slope", 0.01),),
                "hardtanh": (("min_val", -1.0), ("max_val", 1.0)),
                "threshold": (("threshold", _MISSING), ("value", _MISSING))}


def _activation_rule(name):
    params = _ACTIVATIONS[name]
    names = ("input",) + tuple(p for p, _ in params) + ("inplace",)

    def rule(func, args, kwargs):
        given = _given(names, args, kwargs)
        if given is None or not isinstance(given.get("input"), Tensor) or \
                any(given.get(p, d) is _MISSING for p, d in params):
            return func(*args, **kwargs)
        packet = getattr(aten, name + "_" if given.get("inplace", False) else name)
        return _hand(packet.default, (given["input"],) + tuple(given.get(p, d) for p, d in params),
                     {}, (func, args, kwargs))
    return rule


def _relu6_rule(func, args, kwargs):
    """F.relu6: torch's hardtanh(input, 0, 6) (hardtanh_ in place)."""
    given = _given(("input", "inplace"), args, kwargs)
    if given is None or not isinstance(given.get("input"), Tensor):
        return func(*args, **kwargs)
    packet = aten.hardtanh_ if given.get("inplace", False) else aten.hardtanh
    return _hand(packet.default, (given["input"], 0, 6), {}, (func, args, kwargs))


def _named(rule, names, spaces=("torch.", "torch.Tensor.")):
    return {space + name: rule for space in spaces for name in names.split()}


_F = ("torch.nn.functional.",)
_F_AND_TORCH = _F + ("torch.",)
# torch's name of a function -> the rule running its call as torch's ATen calls
_DECOMPOSED = {
    **_named(_reshape_rule, "reshape"), **_named(_flatten_rule, "flatten"),
    **_named(_matmul_rule, "matmul"), **_named(_square_rule, "square"),
    **_named(_chunk_rule, "chunk"), **_named(_variance_rule("var"), "var"),
    **_named(_variance_rule("std"), "std"),
    **_named(_norm_rule, "norm", ("torch.functional.", "torch.Tensor.")),
    **_named(_softmax_rule("_softmax"), "softmax", ("torch.", "torch.Tensor.") + _F),
    **_named(_softmax_rule("_log_softmax"), "log_softmax", ("torch.", "torch.Tensor.") + _F),
    **_named(_contiguous_rule, "contiguous", ("torch.Tensor.",)),
    **_named(_to_rule, "to", ("torch.Tensor.",)), **_named(_type_rule, "type", ("torch.Tensor.",)),
    **_named(_numpy_rule, "numpy", ("torch.Tensor.",)),
    **_named(_getitem_rule, "__getitem__", ("torch.Tensor.",)),
    **_named(_setitem_rule, "__setitem__", ("torch.Tensor.",)),
    **_named(_rtruediv_rule, "__rtruediv__ __rdiv__", ("torch.Tensor.",)),
    **_named(_rpow_rule, "__rpow__", ("torch.Tensor.",)),
    **_named(_tensor_rule, "new_tensor", ("torch.Tensor.",)),
    **{f"torch.Tensor.{name}": _dtype_method_rule(name) for name in _DTYPE_METHODS},
    "torch.Tensor.T.__get__": _T_rule, "torch.Tensor.mT.__get__": _mT_rule,
    "torch.tensor": _tensor_rule,
    **_named(_linear_rule, "linear", _F), **_named(_layer_norm_rule, "layer_norm", _F_AND_TORCH),
    **_named(_nll_rule(True), "cross_entropy", _F), **_named(_nll_rule(False), "nll_loss", _F),
    **_named(_normalize_rule, "normalize", _F), **_named(_embedding_rule, "embedding", _F),
    **_named(_pad_rule, "pad", _F), **_named(_dropout_rule, "dropout", _F),
    **_named(_batch_norm_rule, "batch_norm", _F), **_named(_relu6_rule, "relu6", _F),
    **{f"torch.nn.functional.{name}": _activation_rule(name) for name in _ACTIVATIONS},
    **_named(_max_pool_rule(2), "max_pool2d max_pool2d_with_indices", _F_AND_TORCH),
    **_named(_max_pool_rule(3), "max_pool3d max_pool3d_with_indices", _F_AND_TORCH),
    **{f"{space}conv{n}d": _conv_rule(n, False) for n in (1, 2, 3) for space in _F_AND_TORCH},
    **{f"{space}conv_transpose{n}d": _conv_rule(n, True) for n in (1, 2, 3)
       for space in _F_AND_TORCH}}
