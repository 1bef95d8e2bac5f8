"""grad_fn._saved_<name> and grad_fn._raw_saved_<name>: the values torch's nodes expose of what
they saved for backward, read on access from an ember node's inputs, saved values and static
arguments (nothing is computed when a node is made; Node.__getattr__ lands here).

FIELDS maps an ember op name to {torch field name: _Field}. Tensor fields follow torch: an
input torch saves is the input Tensor itself (None when its gradient partner needs no grad, as
mul's `self` when `other` does not require grad), a Python-number operand a 0-d tensor, a result
a Tensor over the saved result whose grad_fn is the node. After a backward that freed the graph
they raise torch's error; `_raw_saved_<name>.register_hooks(pack, unpack)` packs the saved value
now and has backward use what unpack returns. Differences from torch: dims are the normalised
ones ember keeps (torch shows a negative dim as its uint64 bit pattern)."""
from .._tensor import Tensor, _new
from .engine import FREED_MESSAGE, _FREED, _SAVED_INPUTS
from .node import PackedSaved, _Packed


class _Field:
    """A saved value: `get(node)` for plain values; tensor fields set `kind` ("input" with
    `index`, "result", or "array": the saved array at position `index`)."""
    __slots__ = ("get", "kind", "index")

    def __init__(self, get=None, kind=None, index=None):
        self.get, self.kind, self.index = get, kind, index


def _input(i):
    return _Field(kind="input", index=i)


_RESULT = _Field(kind="result")


def _array(k):
    return _Field(kind="array", index=k)


def _value(fn):
    return _Field(get=fn)


def _sizes(i):
    return _value(lambda n: tuple(n.inputs[i].shape))


def _strides(i):
    return _value(lambda n: tuple(n.inputs[i].stride()))


def _static(k):
    return _value(lambda n: n.static[k])


def _const(v):
    return _value(lambda n: v)


_ALPHA = _value(lambda n: n.static[1] if n.static else 1)     # add/sub/rsub: (coefficient, alpha)


def _dims(k):
    """A dim argument as torch keeps it: a tuple (None: all dims)."""
    def get(n):
        d = n.static[k]
        return d if d is None or type(d) is tuple else tuple(d) if type(d) is list else (d,)
    return _value(get)


def _is_array(node, s):
    xp = node.xp
    return isinstance(s, xp.ndarray) or type(s) is _Packed


def _slot(node, field):
    """The position in node.saved of a tensor field's array (None: ember does not keep it
    there)."""
    saved = node.saved
    if field.kind == "array":
        return field.index
    ins = [getattr(a, "arr", None) for a in node.inputs]
    for k, s in enumerate(saved):
        if type(s) is _Packed:
            if s.which == (field.index if field.kind == "input" else None):
                return k
        elif field.kind == "input":
            if s is ins[field.index] and s is not None:
                return k
        elif _is_array(node, s) and all(s is not a for a in ins):
            return k
    return None


def _needed(node, i):
    which = _SAVED_INPUTS.get(node.op.name)
    return which is None or i in which(node)


def _tensor_value(node, field):
    if node.saved is _FREED:
        raise RuntimeError(FREED_MESSAGE)
    k = _slot(node, field)
    if k is not None and type(node.saved[k]) is _Packed:
        p = node.saved[k]
        return _reattach(p.unpack_hook(p.obj), node, field)
    if field.kind == "input":
        i = field.index
        if not _needed(node, i):
            return None
        a = node.inputs[i]
        if isinstance(a, Tensor) or a is None:
            return a
        from ..ops.creation import tensor
        return tensor(a)            # torch's wrapped number
    if k is None:
        return None
    be = _backend(node)
    t = _new(node.saved[k], be)
    if field.kind == "result":
        t._rg, t.grad_fn = True, node
    return t


def _reattach(t, node, field):
    """What an unpack hook returned, with the saved tensor's history (torch's SavedVariable
    gives the unpacked data the original's grad_fn or grad accumulator)."""
    if field.kind == "array" or not isinstance(t, Tensor):
        return t
    a = _new(t.arr, t.be)
    if field.kind == "result":
        a._rg, a.grad_fn = True, node
    else:
        src = node.inputs[field.index]
        if isinstance(src, Tensor):
            a._rg, a.grad_fn, a._leaf = src._rg, src.grad_fn, src._leaf
    return a


def _backend(node):
    return next(a.be for a in node.inputs if isinstance(a, Tensor))


class SavedTensor:
    """torch._C._autograd.SavedTensor: one tensor a node saved; register_hooks(pack, unpack)
    packs it now, and backward (and _saved_<name>) read unpack's result."""
    __slots__ = ("node", "field")

    def __init__(self, node, field):
        self.node, self.field = node, field

    def __repr__(self):
        return f"<torch._C._autograd.SavedTensor object at {hex(id(self))}>"

    def register_hooks(self, *hooks):
        if len(hooks) != 2 or not all(callable(h) for h in hooks):
            raise TypeError(
                "register_hooks(): incompatible function arguments. The following argument "
                "types are supported:\n    1. (self: torch._C._autograd.SavedTensor, arg0: "
                "collections.abc.Callable, arg1: collections.abc.Callable) -> None\n\nInvoked "
                f"with: {', '.join(map(repr, (self,) + hooks))}")
        pack_hook, unpack_hook = hooks
        node = self.node
        if node.saved is _FREED:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor after it has been freed. Saved "
                "intermediate values of the graph are freed when you call .backward() or "
                "autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved variables after calling "
                "backward.")
        k = _slot(node, self.field)
        if k is None:
            raise NotImplementedError("ember's node keeps this saved tensor in another form: "
                                      "its hooks cannot reach backward")
        s = node.saved[k]
        if type(s) is _Packed:
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have "
                               "already been set. Hint: only one pair of hooks is allowed at a "
                               "time.")
        value = _tensor_value(node, self.field)
        which = self.field.index if self.field.kind == "input" else None
        saved = list(node.saved)
        saved[k] = _Packed(pack_hook(value.detach()), unpack_hook, _backend(node), s.dtype,
                           which)
        node.saved = PackedSaved(saved)


def _indices(node):
    """An indexing node's index tensors: the user's Tensors where ember still knows them."""
    from .engine import _WATCHED
    given = {id(t.arr): t for t in _WATCHED.get(node, ())}
    return tuple((given[id(i)] if id(i) in given else _new(i, _backend(node)))
                 if _is_array(node, i) else i for i in node.static[0])


def _u64(v):
    """An int64 field as torch's node shows it (a negative value as its uint64 pattern)."""
    return v + (1 << 64) if v < 0 else v


def _conv_fields():
    """ConvolutionBackward0 of ember's convolution op: static (stride, pads, dilation,
    groups), pads as (before, after) pairs (torch keeps one symmetric padding per dim)."""
    return {"input": _input(0), "weight": _input(1), "stride": _static(0),
            "padding": _value(lambda n: tuple(p[0] for p in n.static[1])),
            "dilation": _static(2), "groups": _static(3), "transposed": _const(False),
            "output_padding": _value(lambda n: (0,) * len(n.static[0])),
            "bias_sym_sizes_opt": _value(
                lambda n: tuple(n.inputs[2].shape) if n.inputs[2] is not None else (0,))}


_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def _mm(a, b):
    return {"self": _input(a), "mat2": _input(b), "self_sym_sizes": _sizes(a),
            "self_sym_strides": _strides(a), "mat2_sym_sizes": _sizes(b),
            "mat2_sym_strides": _strides(b)}


_UNARY_SELF = ("sin", "cos", "log", "abs", "silu", "log2", "log10", "log1p", "tan", "asin",
               "acos", "atan", "sinh", "cosh", "erf", "lgamma", "digamma")
_UNARY_RESULT = ("exp", "tanh", "sigmoid", "relu", "sqrt", "rsqrt", "reciprocal", "exp2")

FIELDS = {
    "mul": {"self": _input(0), "other": _input(1)},
    "div": {"self": _input(0), "other": _input(1)},
    "pow": {"self": _input(0), "exponent": _value(lambda n: n.inputs[1])},
    "pow_tensor": {"self": _input(0), "exponent": _input(1), "result": _RESULT},
    "add": {"alpha": _ALPHA},
    "sub": {"alpha": _ALPHA},
    "rsub": {"alpha": _ALPHA},
    "rsub_tensor": {"alpha": _ALPHA},
    "addmm": {"mat1": _input(1), "mat2": _input(2), "mat1_sym_sizes": _sizes(1),
              "mat1_sym_strides": _strides(1), "mat2_sym_sizes": _sizes(2),
              "mat2_sym_strides": _strides(2), "beta": _static(0), "alpha": _static(1)},
    "mm": _mm(0, 1),
    # linear's addmm(bias, input, weight.t()) and mm(input, weight.t())
    "linear_addmm": {"mat1": _input(1), "mat2": _input(2), "mat1_sym_sizes": _sizes(1),
                     "mat1_sym_strides": _strides(1), "mat2_sym_sizes": _sizes(2),
                     "mat2_sym_strides": _strides(2), "beta": _const(1), "alpha": _const(1)},
    "linear_mm": _mm(0, 1),
    "bmm": {"self": _input(0), "mat2": _input(1)},
    "sum": {"self_sym_sizes": _sizes(0)},
    "sum_dim": {"self_sym_sizes": _sizes(0), "dim": _dims(0), "keepdim": _static(1)},
    "mean": {"self_sym_sizes": _sizes(0), "self_sym_numel": _value(lambda n: n.inputs[0].numel())},
    "mean_dim": {"self_sym_sizes": _sizes(0), "self_sym_numel": _value(
        lambda n: n.inputs[0].numel()), "dim": _dims(0), "keepdim": _static(1)},
    "view": {"self_sym_sizes": _sizes(0)},
    "reshape_alias": {"self_sym_sizes": _sizes(0)},
    "reshape_copy": {"self_sym_sizes": _sizes(0)},
    "expand": {"self_sym_sizes": _sizes(0)},
    "permute": {"dims": _static(0)},
    "unsqueeze": {"dim": _static(0)},
    # (torch's squeeze nodes also show the dim(s) given, squeezed or not: ember's nodes keep
    # only the squeezed ones, so no `dim` here)
    **{n: {"self_sym_sizes": _sizes(0)} for n in ("squeeze", "squeeze_dim", "squeeze_dims")},
    "max_all": {"self": _input(0), "result": _RESULT},
    "min_all": {"self": _input(0), "result": _RESULT},
    "max_dim": {"self_sym_sizes": _sizes(0), "indices": _array(1), "dim": _static(0),
                "keepdim": _static(1)},
    "min_dim": {"self_sym_sizes": _sizes(0), "indices": _array(1), "dim": _static(0),
                "keepdim": _static(1)},
    "sort": {"self_sym_sizes": _sizes(0), "indices": _array(1), "dim": _static(0)},
    "index": {"self_sym_sizes": _sizes(0), "indices": _value(_indices)},
    "index_select": {"self_sym_sizes": _sizes(0), "dim": _static(0), "index": _input(1)},
    "gather": {"self": _input(0), "dim": _static(0), "index": _input(1),
               "sparse_grad": _const(False)},
    "cat": {"dim": _static(0)},
    "stack": {"dim": _static(0)},
    "unbind": {"dim": _static(0)},
    "softmax": {"result": _RESULT, "dim": _static(0)},
    "log_softmax": {"result": _RESULT, "dim": _static(0)},
    "clamp": {"self": _input(0), "min": _static(0), "max": _static(1)},
    "where": {"condition": _input(0)},
    "masked_fill": {"mask": _input(1)},
    "cumsum": {"dim": _static(0)},
    "gelu": {"self": _input(0), "approximate": _static(0)},
    "mse_loss": {"self": _input(0), "target": _input(1),
                 "reduction": _value(lambda n: _REDUCTION[n.static[0]])},
    "binary_cross_entropy_with_logits": {
        "self": _input(0), "target": _input(1), "weight": _input(2), "pos_weight": _input(3),
        "reduction": _value(lambda n: _REDUCTION[n.static[0]])},
    "leaky_relu": {"self": _input(0), "negative_slope": _static(0)},
    "hardtanh": {"self": _input(0), "min_val": _static(0), "max_val": _static(1)},
    "embedding": {"indices": _input(1), "weight_sym_argsize_0": _value(
        lambda n: n.inputs[0].shape[0]), "padding_idx": _value(
        lambda n: _u64(-1 if n.static[0] is None else n.static[0])),
        "scale_grad_by_freq": _static(1), "sparse": _const(False)},
    "convolution": _conv_fields(),
    "amax": {"self": _input(0), "result": _RESULT, "dim": _dims(0), "keepdim": _static(1)},
    "amin": {"self": _input(0), "result": _RESULT, "dim": _dims(0), "keepdim": _static(1)},
}
FIELDS.update({name: {"self": _input(0)} for name in _UNARY_SELF})
FIELDS.update({name: {"result": _RESULT} for name in _UNARY_RESULT})


def _fields(node):
    op = getattr(node, "op", None)
    return FIELDS.get(getattr(op, "name", None), {})


def saved_names(node):
    """The _saved_ and _raw_saved_ attribute names the node has (for dir())."""
    names = []
    for name, field in _fields(node).items():
        names.append("_saved_" + name)
        if field.kind is not None:
            names.append("_raw_saved_" + name)
    return names


def saved_attr(node, attr):
    """node._saved_<name> or node._raw_saved_<name>; AttributeError if the node has none."""
    raw = attr.startswith("_raw_saved_")
    field = _fields(node).get(attr[len("_raw_saved_" if raw else "_saved_"):])
    if field is None or raw and field.kind is None:
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '{attr}'")
    if raw:
        return SavedTensor(node, field)
    if field.kind is None:
        return field.get(node)
    return _tensor_value(node, field)
