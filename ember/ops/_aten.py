"""torch.ops.aten: ATen's operators by name and overload (aten.mm, aten.add.Tensor), as torch's
namespace.

ember has no ATen layer: an operator runs the ember function of its name (torch.X, Tensor.X,
torch.special/linalg/fft's for special_X/linalg_X/fft_X, torch._C._nn's; for the ops torch
binds in torch._C._nn only, nn.functional's, the ATen arguments turned into its). An overload first
binds and checks its arguments by its schema (torch's, in ops/_aten_schemas.py), so it refuses
what torch's dispatcher refuses, with its messages; a packet calls the first overload whose
schema takes the arguments, as torch's does."""
import ast
import functools
import importlib
import re
import sys
import types

from .._tensor import Tensor
from .._torch_function import DISPATCH
from ..library import _split_top

__all__ = ["aten", "OpOverload", "OpOverloadPacket", "target"]

_MISSING = object()
_DETAILS = ("Unable to cast Python instance of type {} to C++ type '?' (#define "
            "PYBIND11_DETAILED_ERROR_MESSAGES or compile in debug mode for details)")
# ops whose Tensor arguments take Python numbers (torch._C._should_allow_numbers_as_tensors)
_NUMBERS_AS_TENSORS = frozenset((
    "add", "add_", "sub", "sub_", "subtract", "subtract_", "mul", "mul_", "multiply",
    "multiply_", "div", "div_", "divide", "divide_", "true_divide", "true_divide_",
    "floor_divide", "floor_divide_", "copy", "copy_", "_conj", "_to_copy", "to"))
# torch's Python-written functions under an op's name that take the op's list of tensors spread
_SPREAD = {"block_diag": 0, "broadcast_tensors": 0, "cartesian_prod": 0, "chain_matmul": 0,
           "meshgrid": 0, "einsum": 1}


# c10's ScalarType codes (a ScalarType argument given as an int)
_SCALAR_TYPES = dict(enumerate((
    "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex32",
    "complex64", "complex128", "bool", "qint8", "quint8", "qint32", "bfloat16")))
_SCALAR_TYPES.update({27: "uint16", 28: "uint32", 29: "uint64"})


_REDUCTIONS = ("none", "mean", "sum")       # (ATen's reduction enum: None, Mean, Sum)


def _half_to_float(fn):
    def softmax(x, dim, half_to_float):
        if half_to_float:
            raise RuntimeError("softmax with half to float conversion is not supported on CPU")
        return fn(x, dim)
    return softmax


@functools.cache
def _nn_ops():
    """ATen's operators torch binds in torch._C._nn (or calls from nn.functional), over
    ember's nn.functional: their ATen arguments (a reduction as ATen's int) turned into its."""
    from ..nn import _act_ops as A, functional as F

    def loss(fn, *names):
        def run(x, target, *rest, **kw):
            args = dict(zip(names, rest), **kw)
            args["reduction"] = _REDUCTIONS[args.get("reduction", 1)]
            return fn(x, target, **args)
        return run

    def pool(fn):
        def run(x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
            return fn(x, kernel_size, stride or None, padding, dilation, ceil_mode,
                      return_indices=True)
        return run
    return {
        "elu": lambda x, alpha=1, scale=1, input_scale=1: A.elu(x, alpha, scale, input_scale),
        "leaky_relu": lambda x, negative_slope=0.01: A.leaky_relu(x, negative_slope),
        "hardtanh": lambda x, min_val=-1, max_val=1: A.hardtanh(x, min_val, max_val),
        "silu": A.silu, "mish": A.mish, "relu6": F.relu6, "hardswish": F.hardswish,
        "hardsigmoid": F.hardsigmoid, "glu": F.glu,
        "_softmax": _half_to_float(F.softmax), "_log_softmax": _half_to_float(F.log_softmax),
        "mse_loss": loss(F.mse_loss, "reduction"), "l1_loss": loss(F.l1_loss, "reduction"),
        "smooth_l1_loss": loss(F.smooth_l1_loss, "reduction", "beta"),
        "huber_loss": loss(F.huber_loss, "reduction", "delta"),
        "soft_margin_loss": loss(F.soft_margin_loss, "reduction"),
        "binary_cross_entropy": loss(F.binary_cross_entropy, "weight", "reduction"),
        "nll_loss": loss(F.nll_loss, "weight", "reduction", "ignore_index"),
        "multi_margin_loss": loss(F.multi_margin_loss, "p", "margin", "weight", "reduction"),
        "multilabel_margin_loss": loss(F.multilabel_margin_loss, "reduction"),
        "adaptive_avg_pool2d": F.adaptive_avg_pool2d, "adaptive_avg_pool3d":
        F.adaptive_avg_pool3d,
        "adaptive_max_pool2d": lambda x, size: F.adaptive_max_pool2d(x, size, True),
        "max_pool2d_with_indices": pool(F.max_pool2d),
        "max_pool3d_with_indices": pool(F.max_pool3d),
        "pad": lambda x, pad, mode="constant", value=None: F.pad(x, pad, mode, value),
    }


def _unsafe_view(x, size):
    """x's elements in shape `size`, not a view for autograd (UnsafeViewBackward0)."""
    from .shape import _reshape_copy_fn, infer_shape
    return _reshape_copy_fn(x, infer_shape(tuple(size), x.numel()))


@functools.cache
def _kernels():
    """ATen's operators that torch's composite functions decompose into and ember has no
    function of its own for (a TorchDispatchMode is handed them: ember/utils/_python_dispatch.py),
    over ember's functions."""
    ember = sys.modules["ember"]

    def slice_(x, dim=0, start=None, end=None, step=1):
        return x[(slice(None),) * (dim % max(x.ndim, 1)) + (slice(start, end, step),)]

    def to_copy(x, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
                memory_format=None):
        return x.to(device=device, dtype=dtype, non_blocking=non_blocking, copy=True,
                    memory_format=ember.preserve_format if memory_format is None else
                    memory_format)

    def index(x, indices):
        return x[tuple(slice(None) if i is None else i for i in indices)]

    def nll_loss_forward(x, target, weight, reduction, ignore_index):
        from ..nn import functional as F
        out = F.nll_loss(x, target, weight, ignore_index=ignore_index,
                         reduction=_REDUCTIONS[reduction])
        kept = target != ignore_index
        if reduction == 0:
            total = x.new_zeros(())
        elif weight is None:
            total = kept.sum().to(x.dtype)
        else:
            total = (weight[target.clamp(min=0)] * kept).sum()
        return out, total

    def inplace(name):
        def run(x):
            from ..nn import functional as F
            return getattr(F, name)(x, inplace=True)
        return run
    return {"slice": slice_, "_to_copy": to_copy, "index": index,
            **{n + "_": inplace(n) for n in ("silu", "mish", "hardswish", "hardsigmoid")},
            "nll_loss_forward": nll_loss_forward,
            "_unsafe_view": _unsafe_view,
            "lift_fresh": lambda x: x, "_local_scalar_dense": lambda x: x.item()}


def target(name):
    """The ember function ATen's operator `name` runs, or None where ember has none."""
    for prefix in ("special_", "linalg_", "fft_"):
        if name.startswith(prefix):
            module = importlib.import_module("ember." + prefix[:-1])
            fn = getattr(module, name[len(prefix):], None)
            if callable(fn):
                return fn
    ember = sys.modules["ember"]
    for space in (ember, Tensor, ember._C._nn):
        fn = getattr(space, name, None)
        if callable(fn) and not isinstance(fn, type):
            return fn
    return _nn_ops().get(name) or _kernels().get(name)


# ---- schemas ---------------------------------------------------------------------------------
class _Argument:
    """One argument of a schema: its name, type (alias annotations dropped), default
    (_MISSING where it has none) and whether it is keyword-only."""
    __slots__ = ("name", "type", "default", "kwarg_only")

    def __init__(self, name, type_, default, kwarg_only):
        self.name, self.type, self.default, self.kwarg_only = name, type_, default, kwarg_only


_ENUM_DEFAULTS = {"Mean": 1, "Sum": 2, "contiguous_format": "contiguous_format"}


def _default(type_, text):
    if text == "None" and type_ == "int":           # (a reduction: None, Mean or Sum)
        return 0
    if text in _ENUM_DEFAULTS:
        value = _ENUM_DEFAULTS[text]
        return getattr(sys.modules["ember"], value) if isinstance(value, str) else value
    try:
        return ast.literal_eval(text.replace("true", "True").replace("false", "False"))
    except (ValueError, SyntaxError):
        return text                                 # (a string default given unquoted)


class FunctionSchema:
    """An overload's schema: str() gives torch's text; `arguments` and `returns` its parts."""
    __slots__ = ("name", "overload_name", "arguments", "returns", "_text")

    def __init__(self, name, overload, rest):
        self.name, self.overload_name = f"aten::{name}", overload
        self._text = f"aten::{name}{'.' + overload if overload else ''}{rest}"
        head, _, returns = rest.rpartition(" -> ")
        args, kwarg_only = [], False
        for part in _split_top(head[1:-1]):
            if part == "*":
                kwarg_only = True
                continue
            decl, _, default = part.partition("=")
            type_, _, arg_name = decl.strip().rpartition(" ")
            type_ = re.sub(r"\([^)]*\)", "", type_)          # (alias annotations: Tensor(a!))
            args.append(_Argument(arg_name, type_, _default(type_, default)
                                  if default else _MISSING, kwarg_only))
        self.arguments = args
        self.returns = returns

    def __str__(self):
        return self._text

    __repr__ = __str__


def _python_type(t):
    """A schema type as torch's messages name it (Tensor?[] -> List[Optional[Tensor]])."""
    if t.endswith("?"):
        return f"Optional[{_python_type(t[:-1])}]"
    if t.endswith("]"):
        return f"List[{_python_type(t[:t.index('[')])}]"
    return {"Scalar": "number", "SymInt": "int", "ScalarType": "int"}.get(t, t)


def _is_int(v):
    return isinstance(v, int) or (isinstance(v, Tensor) and v.ndim == 0
                                  and not v.dtype.is_floating_point and not v.is_complex())


_NUMBER = (bool, int, float, complex)


def _refusal(t, v, numbers):
    """Why value v cannot be an argument of schema type t (torch's cast details), or None."""
    if t.endswith("?"):
        return None if v is None else _refusal(t[:-1], v, numbers)
    if t == "Tensor":
        if isinstance(v, Tensor) or v is None or (numbers and isinstance(v, _NUMBER)):
            return None             # (None: refused after the binding, as torch's)
        return f"Cast error details: Unable to cast {v} to Tensor"
    if t == "Scalar":
        return None if isinstance(v, _NUMBER) else f"Cast error details: Cannot cast {v} to number"
    if t in ("int", "SymInt"):
        ok = _is_int(v)
    elif t == "float":
        ok = isinstance(v, (bool, int, float))
    elif t == "complex":
        ok = isinstance(v, _NUMBER)
    elif t == "bool":
        ok = isinstance(v, bool)
    elif t == "str":
        ok = isinstance(v, str)
    elif t == "Tensor[]":
        ok = isinstance(v, (list, tuple)) and all(isinstance(e, Tensor) for e in v)
    elif t.startswith(("int[", "SymInt[")):
        if t[t.index("[") + 1] != "]" and _is_int(v):
            return None                 # (int[2] takes one int for both)
        if not isinstance(v, (list, tuple, str)):
            if t[t.index("[") + 1] != "]":
                return "Cast error details: " + _DETAILS.format(type(v))
            return f" Python error details: TypeError: '{type(v).__name__}' object is not iterable"
        bad = next((e for e in v if not _is_int(e)), _MISSING) if not isinstance(v, str) else v
        if bad is _MISSING:
            return None
        return "Cast error details: " + _DETAILS.format(
            type(bad) if t.startswith("SymInt") and not isinstance(v, str) else type(v))
    elif re.fullmatch(r"t\d*(\[\])?", t):        # (a type variable: TorchScript's lists)
        return f"Cast error details: toIValue() cannot handle converting to type: {t.rstrip('[]')}"
    else:
        ok = not t.endswith("[]") or isinstance(v, (list, tuple))
    return None if ok else "Cast error details: " + _DETAILS.format(type(v))


# ---- overloads and packets -------------------------------------------------------------------
class OpOverload:
    """torch.ops.aten.<name>.<overload>: one schema of the op, callable."""
    __module__ = "torch._ops"

    def __init__(self, packet, overload, rest):
        self._schema = FunctionSchema(packet.__name__, overload, rest)
        self._overloadpacket = packet
        self._overloadname = overload or "default"
        self._name = self._schema.name + (f".{overload}" if overload else "")
        self.__name__ = f"{packet.__name__}.{self._overloadname}"
        self.__qualname__ = self._name
        self.__module__ = packet.__module__
        returns = self._schema.returns
        self._tuple = returns.startswith("(")
        self._list = returns.endswith("[]") and returns.startswith("Tensor")
        self._runs = "Tensor" in rest              # (not a TorchScript builtin on Python values)

    def __repr__(self):
        return (f"<OpOverload(op='aten.{self._overloadpacket.__name__}', "
                f"overload='{self._overloadname}')>")

    def __str__(self):
        return f"aten.{self.__name__}"

    def __deepcopy__(self, memo=None):
        return self

    def name(self):
        return self._name

    @property
    def overloadpacket(self):
        return self._overloadpacket

    @property
    def namespace(self):
        return "aten"

    @property
    def op(self):
        return self

    def _bind(self, args, kwargs):
        """The values of the schema's arguments (_MISSING where a default applies), or the
        error message torch's dispatcher gives for these arguments."""
        schema = self._schema
        params, qual = schema.arguments, schema.name
        if len(args) + len(kwargs) > len(params):
            return (f"{qual}() expected at most {len(params)} argument(s) but received "
                    f"{len(args) + len(kwargs)} argument(s). Declaration: {schema}")
        numbers = self._overloadpacket.__name__ in _NUMBERS_AS_TENSORS
        values, used = [], 0
        for i, p in enumerate(params):
            if i < len(args):
                if p.kwarg_only:
                    return (f"{qual}() takes {i} positional argument(s) but {len(args)} "
                            f"was/were given.  Declaration: {schema}")
                v = args[i]
            elif p.name in kwargs:
                v = kwargs[p.name]
                used += 1
            elif p.default is not _MISSING:
                values.append(_MISSING)
                continue
            else:
                return f"{qual}() is missing value for argument '{p.name}'. Declaration: {schema}"
            why = _refusal(p.type, v, numbers)
            if why is not None:
                return (f"{qual}() Expected a value of type '{_python_type(p.type)}' for argument "
                        f"'{p.name}' but instead found type '{type(v).__name__}'.\nPosition: {i}"
                        f"\nValue: {v!r}\nDeclaration: {schema}\n{why}")
            values.append(v)
        if used < len(kwargs):
            names = [p.name for p in params]
            for k in kwargs:
                if k not in names:
                    return f"Unknown keyword argument '{k}' for operator '{qual}'. Schema: {schema}"
                if names.index(k) < len(args):
                    return (f"Argument '{k}' specified both as positional and keyword argument. "
                            f"Schema: {schema}")
        return values

    def _run(self, values):
        name = self._overloadpacket.__name__
        fn = self._overloadpacket._target
        if fn is None or not self._runs:
            raise NotImplementedError(f"ember has no implementation of {self._name}")
        params = self._schema.arguments
        values = list(values)
        for i, (p, v) in enumerate(zip(params, values)):
            if v is None and p.type == "Tensor":
                raise RuntimeError(f"Expected a proper Tensor but got None (or an undefined "
                                   f"Tensor in C++) for argument #{i} '{p.name}'")
            if p.type.startswith("ScalarType") and type(v) is int and v in _SCALAR_TYPES:
                values[i] = getattr(sys.modules["ember"], _SCALAR_TYPES[v], v)
        last = max((i for i, (p, v) in enumerate(zip(params, values))
                    if not p.kwarg_only and v is not _MISSING), default=-1)
        pos = [p.default if v is _MISSING else v for p, v in zip(params[:last + 1], values)]
        kw = {p.name: v for p, v in zip(params, values) if p.kwarg_only and v is not _MISSING}
        if name in _SPREAD:
            i = _SPREAD[name]
            pos[i:i + 1] = pos[i]
        elif name == "tensordot":
            pos[2:4] = [tuple(pos[2:4])]
        elif name == "stft":            # (torch.stft's parameters are the .center overload's)
            kw.update({p.name: v for p, v in zip(params[2:], pos[2:])})
            del pos[2:]
            kw.setdefault("center", False)
        elif name == "unique_consecutive":          # (ATen's always returns three tensors)
            wanted = (pos + [False, False])[1:3]
            pos[1:3] = [True, True]
            out = fn(*pos, **kw)
            empty = out[1].new_empty(0)
            return (out[0],) + tuple(t if w else empty for t, w in zip(out[1:], wanted))
        out = fn(*pos, **kw)
        return tuple(out) if self._tuple else list(out) if self._list else out

    def __call__(self, /, *args, **kwargs):
        # (a TorchDispatchMode or its handler runs; a __torch_dispatch__ subclass may take it)
        if DISPATCH.stack or DISPATCH.handed or DISPATCH.subclasses:
            return _dispatch(self, args, kwargs)
        values = self._bind(args, kwargs)
        if isinstance(values, str):
            raise RuntimeError(values)
        return self._run(values)


def _dispatch(op, args, kwargs):
    """utils/_python_dispatch.py's dispatch: imported on the first call, which puts it in this
    name's place (no import per call after)."""
    global _dispatch
    from ..utils._python_dispatch import dispatch
    _dispatch = dispatch
    return dispatch(op, args, kwargs)


class OpOverloadPacket:
    """torch.ops.aten.<name>: the op's overloads by name; calling it calls the first overload
    whose schema takes the arguments."""
    __module__ = "torch._ops"

    def __init__(self, name, schemas):
        self.__name__ = name
        self.__module__ = "torch._ops.aten"
        self._qualified_op_name = f"aten::{name}"
        self._schemas_text = {s[:s.index("(")]: s[s.index("("):] for s in schemas}
        self._target = target(name)

    def __repr__(self):
        return f"<OpOverloadPacket(op='aten.{self.__name__}')>"

    def __str__(self):
        return f"aten.{self.__name__}"

    def __deepcopy__(self, memo=None):
        return self

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        rest = self._schemas_text.get("" if key == "default" else key)
        if rest is None or key == "":
            raise AttributeError(f"The underlying op of '{self}' has no overload name '{key}'")
        overload = OpOverload(self, "" if key == "default" else key, rest)
        setattr(self, key, overload)
        return overload

    @property
    def op(self):
        return self

    @property
    def _schemas(self):
        return {n: getattr(self, n or "default")._schema for n in self._schemas_text}

    def overloads(self):
        return [n or "default" for n in self._schemas_text]

    def op_overloads(self):
        return [getattr(self, n) for n in self.overloads()]

    def __call__(self, /, *args, **kwargs):
        refusals = []
        for name in self.overloads():
            overload = getattr(self, name)
            values = overload._bind(args, kwargs)
            if not isinstance(values, str):
                return overload(*args, **kwargs) if DISPATCH.stack or DISPATCH.handed or \
                    DISPATCH.subclasses else overload._run(values)
            refusals.append(values)
        if len(refusals) == 1:
            raise RuntimeError(refusals[0])
        raise RuntimeError("Overloaded torch operator invoked from Python failed to match any "
                           "schema:\n" + "".join(r + "\n\n" for r in refusals))


class _OpNamespace(types.ModuleType):
    """torch.ops.aten: its operators, each made on first use (one packet per op)."""

    def __init__(self):
        super().__init__("torch.ops.aten")
        self.name = "aten"

    def __repr__(self):
        return "<module 'torch.ops.aten' from 'torch.ops'>"

    def __getattr__(self, name):
        from ._aten_schemas import SCHEMAS
        schemas = SCHEMAS.get(name)
        if schemas is None:
            raise AttributeError(f"'_OpNamespace' 'aten' object has no attribute '{name}'")
        packet = OpOverloadPacket(name, schemas)
        setattr(self, name, packet)
        return packet


aten = _OpNamespace()
