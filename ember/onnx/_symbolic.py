"""ember functions and Tensor methods as ONNX nodes.

SYMBOLIC maps a function's name to emit(g, a, result): `g` the Graph, `a` the call's arguments
by parameter name ("self" also names the first), `result` what the call returned (its shapes and
dtypes decide casts and reshapes). emit returns the output names, one per tensor of `result`."""
import math
import operator

import numpy as np

from .._tensor import Tensor
from ..ops.reduce import _NoDim
from ._rnn import pack, unpack
from ._sizes import SymInt
from .errors import UnsupportedOperatorError

SYMBOLIC = {}


def _register(*names):
    def deco(fn):
        for n in names:
            SYMBOLIC[n] = fn
        return fn
    return deco


def _operand(g, x, dtype):
    """A tensor or Python number as an input of the given dtype."""
    if isinstance(x, Tensor):
        return g.cast(g.value(x), x.arr.dtype, dtype)
    if isinstance(x, SymInt):
        return g.cast(g.scalar(x), np.int64, dtype)
    return g.const(np.asarray(x, dtype))


def _unsupported(g, what):
    raise UnsupportedOperatorError(f"Exporting {what} to ONNX opset version {g.opset} is not "
                                   "supported.")


def _no_dim(dim):
    return dim is None or isinstance(dim, _NoDim)


def _dims(dim, ndim):
    if _no_dim(dim):
        return None
    dims = [dim] if isinstance(dim, int) else list(dim)
    return [d % ndim if ndim else 0 for d in dims]


# ---- elementwise ------------------------------------------------------------------------------
_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log",
          "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "negative": "Neg", "__neg__": "Neg",
          "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil", "sin": "Sin",
          "cos": "Cos", "erf": "Erf", "sign": "Sign", "round": "Round", "softsign": "Softsign",
          "logical_not": "Not", "isnan": "IsNaN", "selu": "Selu", "tan": "Tan", "asin": "Asin",
          "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh"}


def _unary(op):
    def emit(g, a, result):
        x = a["self"]
        return g.node(op, [_operand(g, x, result.arr.dtype)])
    return emit


for _name, _op in _UNARY.items():
    _register(_name, _name + "_")(_unary(_op))


@_register("mish")
def _mish(g, a, result):
    x = g.value(a["self"])
    if g.opset >= 18:
        return g.node("Mish", [x])
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


@_register("rsqrt", "rsqrt_")
def _rsqrt(g, a, result):
    return g.node("Reciprocal", [g.node("Sqrt", [_operand(g, a["self"], result.arr.dtype)])])


def _binary(op, swap=False):
    def emit(g, a, result):
        x, y = a["self"], a["other"] if "other" in a else a["mat2"]
        if swap:
            x, y = y, x
        dt = result.arr.dtype
        return g.node(op, [_operand(g, x, dt), _operand(g, y, dt)])
    return emit


for _names, _op in ((("mul", "mul_", "multiply"), "Mul"), (("maximum",), "Max"),
                    (("minimum",), "Min"), (("logical_and", "__and__"), "And"),
                    (("logical_or", "__or__"), "Or"), (("logical_xor", "__xor__"), "Xor")):
    _register(*_names)(_binary(_op))
_register("__rtruediv__", "__rdiv__")(_binary("Div", swap=True))
_register("matmul", "mm", "bmm", "__matmul__")(_binary("MatMul"))


@_register("addmm", "baddbmm", "addbmm")
def _addmm(g, a, result):
    """beta * input + alpha * (m1 @ m2), the product summed over the batch for addbmm."""
    dt = result.arr.dtype
    m1, m2 = (a["mat1"], a["mat2"]) if "mat1" in a else (a["batch1"], a["batch2"])
    prod = g.node("MatMul", [_operand(g, m1, dt), _operand(g, m2, dt)])
    if a["_name"] == "addbmm":
        prod = g.reduce("ReduceSum", prod, [0], False)
    beta, alpha = a.get("beta", 1), a.get("alpha", 1)
    if alpha != 1:
        prod = g.node("Mul", [prod, g.const(np.asarray(alpha, dt))])
    if beta == 0:
        return prod
    x = _operand(g, a["self"], dt)
    if beta != 1:
        x = g.node("Mul", [x, g.const(np.asarray(beta, dt))])
    return g.node("Add", [x, prod])


@_register("pow", "pow_", "__pow__", "__rpow__", "float_power")
def _pow(g, a, result):
    x, y = a["self"], a.get("exponent", a.get("other"))
    if a["_name"] == "__rpow__":
        x, y = y, x
    dt = result.arr.dtype
    return g.node("Pow", [_operand(g, x, dt), _operand(g, y, dt)])


def _add_sub(op, swap=False):
    def emit(g, a, result):
        dt = result.arr.dtype
        x, y = a["self"], a["other"]
        if swap:
            x, y = y, x
        yn = _operand(g, y, dt)
        alpha = a.get("alpha", 1)
        if alpha != 1:
            yn = g.node("Mul", [yn, g.const(np.asarray(alpha, dt))])
        return g.node(op, [_operand(g, x, dt), yn])
    return emit


_register("add", "add_", "__add__", "__radd__", "__iadd__")(_add_sub("Add"))
_register("sub", "sub_", "subtract", "__sub__", "__isub__")(_add_sub("Sub"))
_register("__rsub__", "rsub")(_add_sub("Sub", swap=True))


@_register("div", "div_", "divide", "true_divide", "__truediv__", "__itruediv__")
def _div(g, a, result):
    dt = result.arr.dtype
    out = g.node("Div", [_operand(g, a["self"], dt), _operand(g, a["other"], dt)])
    mode = a.get("rounding_mode")
    if mode == "floor":
        out = g.node("Floor", [out])
    elif mode == "trunc":
        _unsupported(g, "div with rounding_mode='trunc'")
    return out


@_register("__floordiv__", "floor_divide")
def _floordiv(g, a, result):
    if result.arr.dtype.kind != "f":
        _unsupported(g, "integer floor division")
    dt = result.arr.dtype
    return g.node("Floor", [g.node("Div", [_operand(g, a["self"], dt),
                                           _operand(g, a["other"], dt)])])


_STRICT = {"LessOrEqual": "Greater", "GreaterOrEqual": "Less"}     # their negations


def _compare(op, negate=False):
    def emit(g, a, result):
        from .._dtype import result_type
        x, y = a["self"], a["other"]
        dt = result_type(x, y).np         # compared in the promoted dtype, as torch compares
        kind, flip = (_STRICT[op], True) if op in _STRICT and g.opset < 12 else (op, False)
        out = g.node(kind, [_operand(g, x, dt), _operand(g, y, dt)])
        return g.node("Not", [out]) if negate != flip else out
    return emit


for _names, _op in ((("eq", "__eq__"), "Equal"), (("lt", "less", "__lt__"), "Less"),
                    (("le", "less_equal", "__le__"), "LessOrEqual"),
                    (("gt", "greater", "__gt__"), "Greater"),
                    (("ge", "greater_equal", "__ge__"), "GreaterOrEqual")):
    _register(*_names)(_compare(_op))
_register("ne", "not_equal", "__ne__")(_compare("Equal", negate=True))


@_register("__invert__", "bitwise_not")
def _invert(g, a, result):
    if result.arr.dtype != np.bool_:
        _unsupported(g, "bitwise_not of integers")
    return g.node("Not", [g.value(a["self"])])


@_register("where")
def _where(g, a, result):
    if "y" in a:                        # Tensor.where(condition, y)
        cond, x, y = a["condition"], a["self"], a["y"]
    else:
        cond, x, y = a["condition"], a["input"], a["other"]
    dt = result.arr.dtype
    return g.node("Where", [_operand(g, cond, np.bool_), _operand(g, x, dt),
                            _operand(g, y, dt)])


@_register("masked_fill", "masked_fill_")
def _masked_fill(g, a, result):
    dt = result.arr.dtype
    return g.node("Where", [_operand(g, a["mask"], np.bool_), _operand(g, a["value"], dt),
                            g.value(a["self"])])


@_register("clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_max", "hardtanh", "relu6",
           "hardtanh_")
def _clamp(g, a, result):
    dt, name = result.arr.dtype, a["_name"]
    if name == "relu6":
        lo, hi = 0, 6
    elif name.startswith("hardtanh"):
        lo, hi = a["min_val"], a["max_val"]
    else:
        lo = None if name == "clamp_max" else a.get("min")
        hi = None if name == "clamp_min" else a.get("max")
    x = _operand(g, a["self"], dt)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        if lo is not None:
            x = g.node("Max", [x, _operand(g, lo, dt)])
        if hi is not None:
            x = g.node("Min", [x, _operand(g, hi, dt)])
        return x
    return g.node("Clip", [x, "" if lo is None else g.const(np.asarray(lo, dt)),
                           "" if hi is None else g.const(np.asarray(hi, dt))])


@_register("leaky_relu", "leaky_relu_")
def _leaky_relu(g, a, result):
    return g.node("LeakyRelu", [g.value(a["self"])], alpha=float(a["negative_slope"]))


@_register("elu", "elu_")
def _elu(g, a, result):
    if a.get("scale", 1.0) != 1.0 or a.get("input_scale", 1.0) != 1.0:
        _unsupported(g, "elu with scale")
    return g.node("Elu", [g.value(a["self"])], alpha=float(a.get("alpha", 1.0)))


@_register("celu")
def _celu(g, a, result):
    alpha = float(a.get("alpha", 1.0))
    if g.opset >= 12:
        return g.node("Celu", [g.value(a["self"])], alpha=alpha)
    c = g.const(np.asarray(alpha, result.arr.dtype))     # alpha * elu(x / alpha)
    return g.node("Mul", [g.node("Elu", [g.node("Div", [g.value(a["self"]), c])]), c])


@_register("silu", "silu_")
def _silu(g, a, result):
    x = g.value(a["self"])
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@_register("gelu")
def _gelu(g, a, result):
    x, dt = g.value(a["self"]), result.arr.dtype
    approx = a.get("approximate", "none")
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approx)
    c = lambda v: g.const(np.asarray(v, dt))         # noqa: E731
    if approx == "tanh":
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [
            c(0.044715), g.node("Mul", [x, g.node("Mul", [x, x])])])]),
            c(math.sqrt(2 / math.pi))])
        phi = g.node("Add", [c(1.0), g.node("Tanh", [inner])])
    else:
        phi = g.node("Add", [c(1.0), g.node("Erf", [g.node("Mul", [x, c(math.sqrt(0.5))])])])
    return g.node("Mul", [g.node("Mul", [x, c(0.5)]), phi])


@_register("softplus")
def _softplus(g, a, result):
    beta, threshold = a.get("beta", 1.0), a.get("threshold", 20.0)
    x, dt = g.value(a["self"]), result.arr.dtype
    if beta == 1.0:
        sp = g.node("Softplus", [x])
    else:
        b = g.const(np.asarray(beta, dt))
        sp = g.node("Div", [g.node("Softplus", [g.node("Mul", [x, b])]), b])
    over = g.node("Greater", [g.node("Mul", [x, g.const(np.asarray(beta, dt))]),
                              g.const(np.asarray(threshold, dt))])
    return g.node("Where", [over, x, sp])


@_register("hardsigmoid")
def _hardsigmoid(g, a, result):
    return g.node("HardSigmoid", [g.value(a["self"])], alpha=1 / 6, beta=0.5)


@_register("hardswish")
def _hardswish(g, a, result):
    x = g.value(a["self"])
    if g.opset >= 14:
        return g.node("HardSwish", [x])
    return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])


@_register("logsigmoid")
def _logsigmoid(g, a, result):
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [g.value(a["self"])])])])


@_register("prelu")
def _prelu(g, a, result):
    x, w = a["self"], a["weight"]
    wn = g.value(w)
    if x.ndim > 1 and w.numel() > 1:    # one weight per channel (dim 1)
        wn = g.node("Reshape", [wn, g.ints([-1] + [1] * (x.ndim - 2))])
    return g.node("PRelu", [g.value(x), wn])


@_register("softmax", "log_softmax", "_softmax")
def _softmax(g, a, result):
    x = a["self"]
    dim = a.get("dim")
    if dim is None and a.get("*"):
        dim = a["*"][0]
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1       # torch's implicit choice
    xn = _operand(g, x, result.arr.dtype)
    op = "LogSoftmax" if a["_name"] == "log_softmax" else "Softmax"
    dim = int(dim) % max(x.ndim, 1)
    if g.opset >= 13 or dim == x.ndim - 1 or x.ndim == 0:
        return g.node(op, [xn], axis=dim)
    # before opset 13 the op normalised over every dim from `axis` on: move dim last first
    perm = [d for d in range(x.ndim) if d != dim] + [dim]
    back = [perm.index(d) for d in range(x.ndim)]
    out = g.node(op, [g.node("Transpose", [xn], perm=perm)], axis=x.ndim - 1)
    return g.node("Transpose", [out], perm=back)


# ---- dtype and identity -----------------------------------------------------------------------
@_register("to", "type", "float", "double", "half", "bfloat16", "long", "int", "short", "bool",
           "char", "byte", "type_as", "cpu", "cuda")
def _cast(g, a, result):
    x = a["self"]
    if x.arr.dtype == result.arr.dtype:
        return g.node("Identity", [g.value(x)])
    return g.cast(g.value(x), x.arr.dtype, result.arr.dtype)


@_register("zeros_like", "ones_like", "full_like", "empty_like")
def _fill_like(g, a, result):
    """A tensor of the input's shape (its dims kept dynamic) filled with one value."""
    value = {"zeros_like": 0, "ones_like": 1, "empty_like": 0}.get(a["_name"])
    if value is None:
        value = a["fill_value"]
    fill = g.helper.make_tensor("value", g.onnx_type(result.arr.dtype), [1],
                                [np.asarray(value, result.arr.dtype).item()])
    return g.node("ConstantOfShape", [g.node("Shape", [g.value(a["self"])])], value=fill)


def _filled(g, sizes, value, result):
    """A tensor of the given sizes filled with `value`: a constant, unless a size is traced."""
    if not any(isinstance(v, SymInt) for v in sizes):
        return g.const(result.detach().cpu().numpy(), "_new")
    dt = result.arr.dtype
    fill = g.helper.make_tensor("value", g.onnx_type(dt), [1], [np.asarray(value, dt).item()])
    return g.sized("ConstantOfShape", [g.shape_list(sizes)], result.detach().cpu().numpy(),
                   value=fill)


def _size_args(a, name):
    """Sizes given as varargs (zeros(B, n)), as one sequence (zeros((B, n))) or by keyword."""
    v = a.get("*") or a.get(name) or ()
    return list(v[0] if len(v) == 1 and isinstance(v[0], (list, tuple)) else v)


@_register("new_zeros", "new_ones", "new_full", "new_empty", "zeros", "ones", "empty", "full")
def _new_filled(g, a, result):
    name = a["_name"]
    if name == "new_tensor":
        return g.const(result.detach().numpy(), "_new")
    if name == "full":
        return _filled(g, list(a["self"]), a["fill_value"], result)
    sizes = _size_args(a, "size")
    if name == "new_full":
        sizes, value = _size_args({"*": sizes[:-1]}, "size"), sizes[-1]
    else:
        value = 1 if name.endswith("ones") else 0
    return _filled(g, sizes, value, result)


_register("new_tensor")(_new_filled)


@_register("arange")
def _arange(g, a, result):
    start, end, step = a["self"], a.get("end"), a.get("step", 1)
    if end is None:
        start, end = 0, start
    if not any(isinstance(v, SymInt) for v in (start, end, step)):
        return g.const(result.detach().cpu().numpy(), "_new")
    dt = result.arr.dtype
    if all(isinstance(v, int) for v in (start, end, step)):
        ends = [g.scalar(v) for v in (start, end, step)]
        out = g.sized("Range", ends, np.arange(int(start), int(end), int(step)))
        return g.cast(out, np.int64, dt)
    ends = [_operand(g, v, np.float64) for v in (start, end, step)]
    return g.cast(g.node("Range", ends), np.float64, dt)


@_register("narrow")
def _narrow(g, a, result):
    x, start, length = a["self"], a["start"], a["length"]
    if isinstance(start, Tensor):
        _unsupported(g, "narrow with a tensor start")
    dim = a["dim"] % x.ndim
    return g.node("Slice", [g.value(x), g.sym(start), g.sym(start + length), g.ints([dim])])


@_register("contiguous", "clone", "detach", "detach_", "alias", "data", "requires_grad_")
def _identity(g, a, result):
    return g.node("Identity", [g.value(a["self"])])


@_register("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout")
def _dropout(g, a, result):
    if a.get("training", True) and a.get("p", 0.5) > 0:
        _unsupported(g, "dropout in training mode (export the model in eval mode)")
    return g.node("Identity", [g.value(a["self"])])


# ---- shapes -----------------------------------------------------------------------------------
def _reshape_target(x, shape):
    """A Reshape target that holds for other sizes of the leading (batch) dim: the leading
    entry copies the input's (0) where the traced sizes agree, else is inferred (-1)."""
    target = list(shape)
    if target and all(s > 0 for s in target[1:]):
        target[0] = 0 if x.ndim and x.shape[0] == target[0] else -1
    return target


@_register("view", "reshape", "flatten", "unflatten", "view_as", "reshape_as", "ravel")
def _reshape(g, a, result):
    x, name = a["self"], a["_name"]
    target = None
    if name in ("view", "reshape"):
        target = _size_args(a, "shape") or _size_args(a, "size")
    elif name == "flatten" and x.ndim:
        start, end = a["start_dim"] % x.ndim, a["end_dim"] % x.ndim
        target = [g.dim(x, d) for d in range(start)] + [-1] + \
            [g.dim(x, d) for d in range(end + 1, x.ndim)]
    elif name == "unflatten":
        dim = a["dim"] % x.ndim
        target = [g.dim(x, d) for d in range(dim)] + list(a["sizes"]) + \
            [g.dim(x, d) for d in range(dim + 1, x.ndim)]
    elif name in ("view_as", "reshape_as"):
        target = g.size_of(a["other"])
    if target is not None and any(isinstance(v, SymInt) for v in target):
        return g.node("Reshape", [g.value(x), g.shape_list(target)])
    if tuple(result.shape) == tuple(x.shape):
        return g.node("Identity", [g.value(x)])
    return g.node("Reshape", [g.value(x), g.ints(_reshape_target(x, result.shape))])


@_register("unsqueeze", "unsqueeze_")
def _unsqueeze(g, a, result):
    return g.unsqueeze(g.value(a["self"]), [a["dim"] % result.ndim])


@_register("squeeze", "squeeze_")
def _squeeze(g, a, result):
    x = a["self"]
    dims = a.get("dim")
    if dims is None and a.get("*"):
        dims = a["*"]
    dims = range(x.ndim) if dims is None else _dims(dims, x.ndim)
    axes = [d for d in dims if x.shape[d] == 1]
    if not axes:
        return g.node("Identity", [g.value(x)])
    return g.squeeze(g.value(x), axes)


def _transpose_node(g, x, perm):
    return g.node("Transpose", [g.value(x)], perm=[int(p) for p in perm])


@_register("transpose", "transpose_", "swapaxes", "swapdims")
def _transpose(g, a, result):
    x = a["self"]
    d0 = a.get("dim0", a.get("axis0"))
    d1 = a.get("dim1", a.get("axis1"))
    perm = list(range(x.ndim))
    d0, d1 = d0 % x.ndim, d1 % x.ndim
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return _transpose_node(g, x, perm)


def _sizes(a, name):
    """A sizes or dims argument given as varargs (permute(0, 2, 1)), a sequence
    (permute((0, 2, 1))) or by keyword (permute(dims=...))."""
    v = a.get(name) or a.get("*")
    return list(v[0] if len(v) == 1 and not isinstance(v[0], int) else v)


@_register("permute")
def _permute(g, a, result):
    x = a["self"]
    return _transpose_node(g, x, [d % x.ndim for d in _sizes(a, "dims")])


@_register("t", "T", "mT", "t_")
def _t(g, a, result):
    x = a["self"]
    if x.ndim < 2:
        return g.node("Identity", [g.value(x)])
    perm = list(range(x.ndim))
    if x.ndim == 2 or a["_name"] == "mT":
        perm[-1], perm[-2] = perm[-2], perm[-1]
    else:
        perm = perm[::-1]
    return _transpose_node(g, x, perm)


@_register("expand", "expand_as", "broadcast_to")
def _expand(g, a, result):
    """Expand to the sizes asked for; a size of -1 or equal to the input's keeps the input's
    (1: ONNX's Expand broadcasts), so that it follows the input's."""
    x = a["self"]
    sizes = g.size_of(a["other"]) if a["_name"] == "expand_as" else _size_args(a, "size")
    pad = [1] * (len(sizes) - x.ndim) + list(x.shape)
    target = [s if isinstance(s, SymInt) else 1 if s == -1 or s == p else s
              for p, s in zip(pad, sizes)]
    return g.node("Expand", [g.value(x), g.shape_list(target)])


@_register("repeat")
def _repeat(g, a, result):
    x = a["self"]
    reps = _size_args(a, "repeats")
    xn = g.value(x)
    if len(reps) > x.ndim:
        xn = g.unsqueeze(xn, list(range(len(reps) - x.ndim)))
    return g.node("Tile", [xn, g.shape_list(reps)])


@_register("cat", "concat", "concatenate")
def _cat(g, a, result):
    tensors = [t for t in a["tensors"] if not (t.ndim == 1 and t.shape[0] == 0)]
    dt = result.arr.dtype
    return g.node("Concat", [_operand(g, t, dt) for t in tensors],
                  axis=int(a.get("dim", 0)) % result.ndim)


@_register("stack")
def _stack(g, a, result):
    dim = a.get("dim", 0) % result.ndim
    dt = result.arr.dtype
    return g.node("Concat", [g.unsqueeze(_operand(g, t, dt), [dim]) for t in a["tensors"]],
                  axis=dim)


@_register("split", "chunk", "tensor_split", "split_with_sizes", "unbind")
def _split(g, a, result):
    x = a["self"]
    dim = a.get("dim", 0) % x.ndim
    parts = list(result)
    name = a["_name"]
    if name == "unbind":
        return [g.squeeze(o, [dim]) for o in g.split(g.value(x), [1] * len(parts), dim)]
    sizes = _split_sizes(g, a, x, dim, len(parts)) or [p.shape[dim] for p in parts]
    traced = [s for s in sizes if isinstance(s, SymInt)]
    if not traced:
        return g.split(g.value(x), sizes, dim)
    if g.opset < 13:                    # Split's sizes are an attribute: a Slice per part
        outs, start = [], 0
        for size in sizes:
            outs.append(g.node("Slice", [g.value(x), g.sym(start), g.sym(start + size),
                                         g.ints([dim])]))
            start = start + size
        return outs
    outs = g.node("Split", [g.value(x), g.shape_list(sizes)], n_out=len(sizes), axis=dim)
    return outs if isinstance(outs, list) else [outs]


def _split_sizes(g, a, x, dim, count):
    """The parts' sizes of chunk(k) or split(size) (the last part the rest), following the
    dim's size; or the split_sizes given."""
    name, n = a["_name"], g.dim(x, dim)
    given = a.get("split_size_or_sections", a.get("split_size")) if name == "split" else \
        a.get("split_sizes")
    step = (n + a["chunks"] - 1) // a["chunks"] if name == "chunk" else \
        given if name == "split" and isinstance(given, int) else None
    if step is not None:
        return None if count < 2 or not isinstance(n, SymInt) else \
            [step] * (count - 1) + [n - step * (count - 1)]
    return list(given) if isinstance(given, (list, tuple)) else None


@_register("__getitem__")
def _getitem(g, a, result):
    x = a["self"]
    idx = a["idx"]
    items = list(idx) if type(idx) is tuple else [idx]
    if any(i is Ellipsis for i in items):
        at = items.index(Ellipsis)
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        items[at:at + 1] = [slice(None)] * (x.ndim - used)
    # one Gather per index holds unless torch's advanced indexing pairs index tensors, or
    # moves their dims to the front (an index tensor and ints apart from each other)
    advanced = [k for k, i in enumerate(items) if isinstance(i, (int, Tensor))]
    tensors = sum(isinstance(items[k], Tensor) for k in advanced)
    if tensors > 1 or tensors and advanced[-1] - advanced[0] >= len(advanced):
        _unsupported(g, "indexing with several index tensors, or with ints apart from the "
                        "index tensor")
    cur, axis = g.value(x), 0
    for i in items:
        if i is None:
            cur = g.unsqueeze(cur, [axis])
            axis += 1
        elif isinstance(i, bool) or isinstance(i, Tensor) and i.arr.dtype == np.bool_:
            _unsupported(g, "indexing with a boolean mask")
        elif isinstance(i, int):
            cur = g.node("Gather", [cur, g.scalar(i)], axis=axis)
        elif isinstance(i, slice):
            # the bounds as given: ONNX's Slice counts negative ones from the end and clamps,
            # as Python does, whatever the dim's size
            start, stop, step = (v if v is None or isinstance(v, int) else operator.index(v)
                                 for v in (i.start, i.stop, i.step))
            step = 1 if step is None else step
            if step < 0:
                _unsupported(g, "a negative slice step")
            if isinstance(start, SymInt) or start or stop is not None or step != 1:
                cur = g.node("Slice", [cur, g.sym(0 if start is None else start),
                                       g.sym(2 ** 63 - 1 if stop is None else stop),
                                       g.ints([axis]), g.ints([step])])
            axis += 1
        elif isinstance(i, Tensor) and i.arr.dtype.kind in "iu":
            cur = g.node("Gather", [cur, g.cast(g.value(i), i.arr.dtype, np.int64)],
                         axis=axis)
            axis += i.ndim
        else:
            _unsupported(g, f"indexing with {type(i).__name__}")
    return cur


@_register("gather", "index_select")
def _gather(g, a, result):
    """gather: an index per element (GatherElements); index_select: whole slices (Gather)."""
    index = a["index"]
    return g.node("GatherElements" if a["_name"] == "gather" else "Gather",
                  [g.value(a["self"]), g.cast(g.value(index), index.arr.dtype, np.int64)],
                  axis=int(a["dim"]))


@_register("triu", "tril")
def _trilu(g, a, result):
    if g.opset < 14:
        _unsupported(g, f"{a['_name']}")
    return g.node("Trilu", [g.value(a["self"]), g.const(np.asarray(a.get("diagonal", 0),
                                                                   np.int64))],
                  upper=int(a["_name"] == "triu"))


@_register("cumsum")
def _cumsum(g, a, result):
    dt = result.arr.dtype
    return g.node("CumSum", [_operand(g, a["self"], dt), g.const(np.asarray(a["dim"],
                                                                            np.int64))])


# ---- reductions -------------------------------------------------------------------------------
def _reduce(g, op, x, axes, keepdims, dtype=None):
    return g.reduce(op, g.value(x) if dtype is None else _operand(g, x, dtype), axes, keepdims)


def _reduction(op):
    def emit(g, a, result):
        x = a["self"]
        return _reduce(g, op, x, _dims(a.get("dim"), x.ndim), a.get("keepdim", False),
                       result.arr.dtype)
    return emit


_register("mean", "nanmean")(_reduction("ReduceMean"))
_register("sum", "nansum")(_reduction("ReduceSum"))
_register("prod")(_reduction("ReduceProd"))
_register("amax")(_reduction("ReduceMax"))
_register("amin")(_reduction("ReduceMin"))


def _max_min(reduce_op, arg_op, elementwise):
    def emit(g, a, result):
        x = a["self"]
        rest = a.get("*") or ()
        other = a.get("other") or (rest[0] if rest and isinstance(rest[0], Tensor) else None)
        if other is not None:
            dt = result.arr.dtype
            return g.node(elementwise, [_operand(g, x, dt), _operand(g, other, dt)])
        dim = a.get("dim")
        if _no_dim(dim) and rest:
            dim = rest[0]
        keep = a.get("keepdim")
        keep = (rest[1] if len(rest) > 1 else False) if not isinstance(keep, bool) else keep
        if _no_dim(dim):
            return _reduce(g, reduce_op, x, None, False)
        d = dim % max(x.ndim, 1)
        return [_reduce(g, reduce_op, x, [d], keep),
                g.node(arg_op, [g.value(x)], axis=d, keepdims=int(keep))]
    return emit


_register("max")(_max_min("ReduceMax", "ArgMax", "Max"))
_register("min")(_max_min("ReduceMin", "ArgMin", "Min"))


def _arg(op):
    def emit(g, a, result):
        x = a["self"]
        dim = a.get("dim")
        if dim is None:
            flat = g.node("Reshape", [g.value(x), g.ints([-1])])
            return g.node(op, [flat], axis=0, keepdims=0)
        return g.node(op, [g.value(x)], axis=int(dim) % x.ndim,
                      keepdims=int(a.get("keepdim", False)))
    return emit


_register("argmax")(_arg("ArgMax"))
_register("argmin")(_arg("ArgMin"))


@_register("topk")
def _topk(g, a, result):
    x = a["self"]
    dim = a.get("dim", -1) % x.ndim
    return g.node("TopK", [g.value(x), g.sym(a["k"])], n_out=2, axis=dim,
                  largest=int(a.get("largest", True)), sorted=int(a.get("sorted", True)))


# ---- nn.functional ----------------------------------------------------------------------------
@_register("linear")
def _linear(g, a, result):
    x, w, b = a["self"], a["weight"], a.get("bias")
    dt = result.arr.dtype
    if x.ndim == 2 and b is not None:
        return g.node("Gemm", [g.value(x), g.value(w), _operand(g, b, dt)], transB=1)
    y = g.node("MatMul", [g.value(x), g.node("Transpose", [g.value(w)], perm=[1, 0])])
    return y if b is None else g.node("Add", [y, g.value(b)])


def _tuple(v, n):
    return [int(v)] * n if isinstance(v, int) else [int(i) for i in v]


def _conv_pads(padding, kernel, dilation, n):
    if padding == "valid":
        return [0] * (2 * n)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = _tuple(padding, n)
    return p + p


@_register("conv1d", "conv2d", "conv3d")
def _conv(g, a, result):
    x, w, b = a["self"], a["weight"], a.get("bias")
    n = w.ndim - 2
    kernel, dilation = list(w.shape[2:]), _tuple(a.get("dilation", 1), n)
    inputs = [g.value(x), g.value(w)] + ([] if b is None else [g.value(b)])
    return g.node("Conv", inputs, kernel_shape=kernel, strides=_tuple(a.get("stride", 1), n),
                  pads=_conv_pads(a.get("padding", 0), kernel, dilation, n),
                  dilations=dilation, group=int(a.get("groups", 1)))


@_register("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def _conv_transpose(g, a, result):
    x, w, b = a["self"], a["weight"], a.get("bias")
    n = w.ndim - 2
    p = _tuple(a.get("padding", 0), n)
    inputs = [g.value(x), g.value(w)] + ([] if b is None else [g.value(b)])
    return g.node("ConvTranspose", inputs, kernel_shape=list(w.shape[2:]),
                  strides=_tuple(a.get("stride", 1), n), pads=p + p,
                  dilations=_tuple(a.get("dilation", 1), n), group=int(a.get("groups", 1)),
                  output_padding=_tuple(a.get("output_padding", 0), n))


def _pool_args(a, n):
    kernel = _tuple(a["kernel_size"], n)
    stride = a.get("stride")
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, n)
    p = _tuple(a.get("padding", 0), n)
    return kernel, stride, p + p


@_register("max_pool1d", "max_pool2d", "max_pool3d")
def _max_pool(g, a, result):
    x = a["self"]
    n = x.ndim - 2
    if a.get("return_indices"):
        _unsupported(g, "max pooling with return_indices")
    kernel, stride, pads = _pool_args(a, n)
    return g.node("MaxPool", [g.value(x)], kernel_shape=kernel, strides=stride, pads=pads,
                  dilations=_tuple(a.get("dilation", 1), n),
                  ceil_mode=int(a.get("ceil_mode", False)))


@_register("avg_pool1d", "avg_pool2d", "avg_pool3d")
def _avg_pool(g, a, result):
    x = a["self"]
    if a.get("divisor_override") is not None:
        _unsupported(g, "avg_pool with divisor_override")
    kernel, stride, pads = _pool_args(a, x.ndim - 2)
    return g.node("AveragePool", [g.value(x)], kernel_shape=kernel, strides=stride, pads=pads,
                  ceil_mode=int(a.get("ceil_mode", False)),
                  count_include_pad=int(a.get("count_include_pad", True)))


def _adaptive(global_op, op):
    def emit(g, a, result):
        x = a["self"]
        if a.get("return_indices"):
            _unsupported(g, "adaptive max pooling with return_indices")
        n = x.ndim - 2
        out = list(result.shape[2:])
        if all(o == 1 for o in out):
            return g.node(global_op, [g.value(x)])
        ins = list(x.shape[2:])
        g.bake([s for s in g.size_of(x)[2:] if isinstance(s, SymInt)],
               f"{a['_name']} to a size other than 1")     # (its kernel follows the input)
        if any(i % o for i, o in zip(ins, out)):
            _unsupported(g, "adaptive pooling to a size that does not divide the input's")
        k = [i // o for i, o in zip(ins, out)]
        return g.node(op, [g.value(x)], kernel_shape=k, strides=k, pads=[0] * (2 * n))
    return emit


_register("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d")(
    _adaptive("GlobalAveragePool", "AveragePool"))
_register("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")(
    _adaptive("GlobalMaxPool", "MaxPool"))


def _ones_or(g, t, n, fill, dt):
    return g.value(t) if t is not None else g.const(np.full(n, fill, dt))


@_register("batch_norm")
def _batch_norm(g, a, result):
    x, mean, var = a["self"], a.get("running_mean"), a.get("running_var")
    if a.get("training") or mean is None:
        _unsupported(g, "batch_norm in training mode (export the model in eval mode)")
    c, dt = x.shape[1], result.arr.dtype
    return g.node("BatchNormalization", [
        g.value(x), _ones_or(g, a.get("weight"), c, 1, dt), _ones_or(g, a.get("bias"), c, 0, dt),
        g.value(mean), g.value(var)], epsilon=float(a.get("eps", 1e-5)))


@_register("instance_norm")
def _instance_norm(g, a, result):
    x = a["self"]
    if not a.get("use_input_stats", True):
        _unsupported(g, "instance_norm with running statistics")
    c, dt = x.shape[1], result.arr.dtype
    return g.node("InstanceNormalization", [
        g.value(x), _ones_or(g, a.get("weight"), c, 1, dt),
        _ones_or(g, a.get("bias"), c, 0, dt)], epsilon=float(a.get("eps", 1e-5)))


@_register("layer_norm")
def _layer_norm(g, a, result):
    x, shape = a["self"], a["normalized_shape"]
    shape = [shape] if isinstance(shape, int) else list(shape)
    dt, axis = result.arr.dtype, -len(shape)
    w = _ones_or(g, a.get("weight"), shape, 1, dt)
    b = _ones_or(g, a.get("bias"), shape, 0, dt)
    eps = float(a.get("eps", 1e-5))
    if g.opset >= 17:
        return g.node("LayerNormalization", [g.value(x), w, b], axis=axis, epsilon=eps)
    axes = list(range(x.ndim + axis, x.ndim))
    xn = g.value(x)
    centred = g.node("Sub", [xn, g.reduce("ReduceMean", xn, axes, True)])
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), axes, True)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(np.asarray(eps, dt))])])
    return g.node("Add", [g.node("Mul", [g.node("Div", [centred, std]), w]), b])


@_register("group_norm")
def _group_norm(g, a, result):
    x, groups = a["self"], int(a["num_groups"])
    dt, c = result.arr.dtype, x.shape[1]
    grouped = g.node("Reshape", [g.value(x), g.ints([0, groups, -1])])
    normed = g.node("InstanceNormalization", [grouped, g.const(np.ones(groups, dt)),
                                              g.const(np.zeros(groups, dt))],
                    epsilon=float(a.get("eps", 1e-5)))
    y = g.node("Reshape", [normed, g.node("Shape", [g.value(x)])])
    tail = [1] * (x.ndim - 2)
    if a.get("weight") is not None:
        y = g.node("Mul", [y, g.node("Reshape", [g.value(a["weight"]), g.ints([c] + tail)])])
    if a.get("bias") is not None:
        y = g.node("Add", [y, g.node("Reshape", [g.value(a["bias"]), g.ints([c] + tail)])])
    return y


@_register("normalize")
def _normalize(g, a, result):
    x, p, dim = a["self"], a.get("p", 2.0), a.get("dim", 1)
    if p not in (1, 2, 1.0, 2.0):
        _unsupported(g, f"normalize with p={p}")
    dt = result.arr.dtype
    norm = g.reduce("ReduceL2" if p == 2 else "ReduceL1", g.value(x), [dim % x.ndim], True)
    norm = g.node("Max", [norm, g.const(np.asarray(a.get("eps", 1e-12), dt))])
    return g.node("Div", [g.value(x), norm])


@_register("embedding")
def _embedding(g, a, result):
    idx, w = a["self"], a["weight"]
    if a.get("max_norm") is not None:
        _unsupported(g, "embedding with max_norm")
    return g.node("Gather", [g.value(w), g.cast(g.value(idx), idx.arr.dtype, np.int64)],
                  axis=0)


@_register("pad")
def _pad(g, a, result):
    x, pad = a["self"], list(a["pad"])
    mode = a.get("mode", "constant")
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        begins[x.ndim - 1 - i], ends[x.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}.get(mode)
    if onnx_mode is None or onnx_mode == "wrap" and g.opset < 19:
        _unsupported(g, f"pad with mode '{mode}'")
    inputs = [g.value(x), g.ints(begins + ends)]
    if mode == "constant":
        inputs.append(g.const(np.asarray(a.get("value") or 0, result.arr.dtype)))
    return g.node("Pad", inputs, mode=onnx_mode)


@_register("interpolate", "upsample")
def _interpolate(g, a, result):
    x = a["self"]
    mode = a.get("mode", "nearest")
    linear = {"linear": "linear", "bilinear": "linear", "trilinear": "linear",
              "bicubic": "cubic", "nearest": "nearest"}.get(mode)
    if linear is None or a.get("antialias"):
        _unsupported(g, f"interpolate with mode '{mode}'")
    if linear == "nearest":
        attrs = dict(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs = dict(coordinate_transformation_mode="align_corners" if a.get("align_corners")
                     else "half_pixel")
        if linear == "cubic":
            attrs["cubic_coeff_a"] = -0.75
    empty = g.const(np.zeros(0, np.float32))       # roi and scales: inputs before opset 13
    scale = a.get("scale_factor")
    if scale is not None and not a.get("recompute_scale_factor"):
        # the output is floor(size * scale) whatever the input's size, as torch's
        n = x.ndim - 2
        scales = [1.0, 1.0] + ([float(scale)] * n if isinstance(scale, (int, float))
                               else [float(v) for v in scale])
        return g.node("Resize", [g.value(x), empty, g.const(np.asarray(scales, np.float32))],
                      mode=linear, **attrs)
    size = a.get("size")
    out = list(result.shape[2:]) if size is None or isinstance(size, int) else list(size)
    sizes = g.node("Concat", [g.node("Slice", [g.node("Shape", [g.value(x)]), g.ints([0]),
                                              g.ints([2])]), g.shape_list(out)], axis=0)
    return g.node("Resize", [g.value(x), empty, empty, sizes], mode=linear, **attrs)


@_register("scaled_dot_product_attention")
def _sdpa(g, a, result):
    q, k, v = a["self"], a["key"], a["value"]
    if a.get("enable_gqa") or a.get("dropout_p", 0.0):
        _unsupported(g, "scaled_dot_product_attention with dropout or enable_gqa")
    dt = result.arr.dtype
    scale = a.get("scale")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    perm = list(range(k.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    scores = g.node("Mul", [g.node("MatMul", [g.value(q), g.node("Transpose", [g.value(k)],
                                                                   perm=perm)]),
                            g.const(np.asarray(scale, dt))])
    mask = a.get("attn_mask")
    if a.get("is_causal"):
        L, S = g.dim(q, -2), g.dim(k, -2)
        scores = g.node("Where", [_causal(g, L, S), scores, g.const(np.asarray(-np.inf, dt))])
    elif mask is not None:
        if mask.arr.dtype == np.bool_:
            scores = g.node("Where", [g.value(mask), scores, g.const(np.asarray(-np.inf, dt))])
        else:
            scores = g.node("Add", [scores, _operand(g, mask, dt)])
    return g.node("MatMul", [g.node("Softmax", [scores], axis=-1), g.value(v)])


def _causal(g, L, S):
    """The (L, S) lower-triangular mask of is_causal (query i sees the keys j <= i)."""
    mask = np.tril(np.ones((int(L), int(S)), bool))
    if not isinstance(L, SymInt) and not isinstance(S, SymInt):
        return g.const(mask)
    rows = g.sized("Range", [g.scalar(0), g.scalar(L), g.scalar(1)], np.arange(int(L)))
    cols = g.sized("Range", [g.scalar(0), g.scalar(S), g.scalar(1)], np.arange(int(S)))
    col = g.unsqueeze(rows, [1])
    g.concrete[col] = np.arange(int(L))[:, None]
    after = g.sized("Greater", [cols, col], ~mask)
    return g.sized("Not", [after], mask)


@_register("einsum")
def _einsum(g, a, result):
    eq, *ops = a["*"]                   # einsum(equation, *operands)
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = ops[0]
    if not isinstance(eq, str) or g.opset < 12:
        _unsupported(g, "einsum in its sublist form" if g.opset >= 12 else "einsum")
    dt = result.arr.dtype
    return g.node("Einsum", [_operand(g, t, dt) for t in ops], equation=eq.replace(" ", ""))


# ---- more pointwise, statistics and rearrangements -----------------------------------------
@_register("log1p", "expm1", "square", "log2", "log10", "exp2")
def _composed_unary(g, a, result):
    name, dt = a["_name"], result.arr.dtype
    x = _operand(g, a["self"], dt)
    c = lambda v: g.const(np.asarray(v, dt))         # noqa: E731
    if name == "log1p":
        return g.node("Log", [g.node("Add", [x, c(1)])])
    if name == "expm1":
        return g.node("Sub", [g.node("Exp", [x]), c(1)])
    if name == "square":
        return g.node("Mul", [x, x])
    if name == "exp2":
        return g.node("Pow", [c(2), x])
    return g.node("Div", [g.node("Log", [x]), c(math.log(2 if name == "log2" else 10))])


@_register("var", "std")
def _var(g, a, result):
    x, dt = a["self"], result.arr.dtype
    axes = _dims(a.get("dim"), x.ndim)
    correction = a.get("correction")
    if correction is None:
        correction = 0 if a.get("unbiased") is False else 1
    count = math.prod(g.dim(x, d) for d in (axes if axes is not None else range(x.ndim)))
    xn = _operand(g, x, dt)
    centred = g.node("Sub", [xn, g.reduce("ReduceMean", xn, axes, True)])
    ss = g.reduce("ReduceSum", g.node("Mul", [centred, centred]), axes, a.get("keepdim", False))
    var = g.node("Div", [ss, _operand(g, max(count - correction, 0), dt)])
    return g.node("Sqrt", [var]) if a["_name"] == "std" else var


@_register("norm")
def _norm(g, a, result):
    x, p, dt = a["self"], a.get("p", "fro"), result.arr.dtype
    axes, keep = _dims(a.get("dim"), x.ndim), a.get("keepdim", False)
    xn = _operand(g, x, dt)
    if p in ("fro", 2, 2.0):
        return g.reduce("ReduceL2", xn, axes, keep)
    if p in (1, 1.0):
        return g.reduce("ReduceL1", xn, axes, keep)
    if p == math.inf:
        return g.reduce("ReduceMax", g.node("Abs", [xn]), axes, keep)
    _unsupported(g, f"norm with p={p}")


@_register("one_hot")
def _one_hot(g, a, result):
    idx = a["self"]
    return g.node("OneHot", [g.cast(g.value(idx), idx.arr.dtype, np.int64),
                             g.const(np.asarray([result.shape[-1]], np.int64)),
                             g.const(np.asarray([0, 1], np.int64))], axis=-1)


@_register("sort")
def _sort(g, a, result):
    x = a["self"]
    dim = a.get("dim", -1) % x.ndim
    return g.node("TopK", [g.value(x), g.sym(g.dim(x, dim))], n_out=2, axis=dim,
                  largest=int(a.get("descending", False)), sorted=1)


@_register("flip")
def _flip(g, a, result):
    x = a["self"]
    axes = [d % x.ndim for d in _sizes(a, "dims")]
    n = len(axes)
    return g.node("Slice", [g.value(x), g.ints([-1] * n), g.ints([-2 ** 63] * n), g.ints(axes),
                            g.ints([-1] * n)])


@_register("roll")
def _roll(g, a, result):
    x, shifts, dims = a["self"], a["shifts"], a.get("dims")
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    if dims is None:
        cur = g.node("Reshape", [g.value(x), g.ints([-1])])
        dims, shape = [0], [math.prod(g.size_of(x))]
    else:
        cur, shape = g.value(x), list(g.size_of(x))
        dims = [dims] if isinstance(dims, int) else list(dims)
    for s, d in zip(shifts, dims):
        n = shape[d % len(shape)]
        s %= n                          # (a traced size: the shift follows it)
        if s or isinstance(s, SymInt):
            head = g.node("Slice", [cur, g.sym(n - s), g.sym(n), g.ints([d])])
            tail = g.node("Slice", [cur, g.sym(0), g.sym(n - s), g.ints([d])])
            cur = g.node("Concat", [head, tail], axis=d % len(shape))
    if a.get("dims") is None:
        cur = g.node("Reshape", [cur, g.shape_list(g.size_of(x))])
    return cur


@_register("glu")
def _glu(g, a, result):
    x = a["self"]
    dim = a.get("dim", -1) % x.ndim
    half = x.shape[dim] // 2
    first, second = g.split(g.value(x), [half, half], dim)
    return g.node("Mul", [first, g.node("Sigmoid", [second])])


_register("pack_padded_sequence")(pack)
_register("pad_packed_sequence")(unpack)


@_register("pixel_shuffle")
def _pixel_shuffle(g, a, result):
    return g.node("DepthToSpace", [g.value(a["self"])], blocksize=int(a["upscale_factor"]),
                  mode="CRD")
