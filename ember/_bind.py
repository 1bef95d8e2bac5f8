"""The one place Tensor gets its op methods, in-place variants and operators (run at import)."""
import inspect
import sys
import types

from ._tensor import Tensor
from .ops import creation, elementwise as E, index, linalg, reduce as R, shape as S
from .ops import numeric, signal, linalg_extra
from .ops._apply import _missing_arg, inplace, make_binary
from ._torch_function import _check_self

OP_MODULES = (E, R, S, index, linalg, numeric, signal, linalg_extra)

# method name -> function; methods share the function object users call as ember.<name>
_SKIP = {"is_tensor", "numel", "broadcast_shapes", "broadcast_tensors", "cat", "concat",
         "concatenate", "stack", "hstack", "vstack", "dstack", "row_stack", "column_stack",
         "where", "rsub", "var_mean", "std_mean", "trapezoid", "trapz", "cumulative_trapezoid",
         "combinations", "vander", "atleast_1d", "atleast_2d", "atleast_3d", "block_diag",
         "bucketize", "cartesian_prod", "chain_matmul", "einsum", "meshgrid", "searchsorted",
         "tensordot", "tril_indices", "triu_indices", "view_as_complex", "view_as_real"}
# factories and functions torch has no Tensor method for
_SKIP |= signal.FUNCTIONS_ONLY | linalg_extra.FUNCTIONS_ONLY
# Tensor methods torch has no function for (ember.view, ember.copy_... do not exist in torch)
METHODS_ONLY = {
    "view", "view_as", "expand", "expand_as", "contiguous", "is_contiguous", "repeat",
    "reshape_as", "resize_", "copy_", "unfold", "t_", "transpose_", "squeeze_", "unsqueeze_",
    "swapaxes_", "swapdims_", "float_power_", "masked_fill_", "fill_diagonal_", "addbmm_",
    "addmm_", "addr_", "baddbmm_", "bernoulli_", "cauchy_", "exponential_", "geometric_",
    "index_add_", "index_copy_", "index_fill_", "index_reduce_", "log_normal_", "masked_scatter_",
    "normal_", "put_", "random_", "scatter_", "scatter_add_", "scatter_reduce_", "tril_", "triu_",
    "uniform_"}
# the op modules' public-named helpers (each module's own, imported by others): not ops
_HELPERS = {"getitem", "setitem", "rdiv", "rpow", "infer_shape", "is_tensor_like",
            "expanded_sizes", "index_add_rows", "warn_complex_to_real", "lapack_only",
            "norm2_all", "dense_order", "record_set", "range_", "linear"}


def _machinery(fn):
    """A top-level function of one of ember's private modules (ops/_apply.py,
    _kernel_dtypes.py...): shared machinery an op module imports, never an op."""
    mod = getattr(fn, "__module__", None) or ""
    return mod.rpartition(".")[2].startswith("_") and \
        getattr(sys.modules.get(mod), getattr(fn, "__name__", ""), None) is fn


def public_functions(module):
    for name, fn in vars(module).items():
        if name.startswith("_") or name in _HELPERS or not callable(fn) or \
                isinstance(fn, type) or _machinery(fn):
            continue
        if getattr(fn, "__module__", None) is None and not hasattr(fn, "__name__"):
            continue
        if isinstance(fn, types.ModuleType):
            continue
        mod = getattr(fn, "__module__", "")
        if mod and not mod.startswith("ember."):
            continue
        yield name, fn


def _method_where(self, condition=E._UNSET, y=E._UNSET):
    try:
        if condition is E._UNSET or y is E._UNSET:
            raise TypeError
        return E.where(condition, self, y)
    except TypeError:       # (torch's message names the method's overloads)
        raise E._where_arguments_error((condition, y), (None, None),
                                      E._WHERE_METHOD_OVERLOADS) from None


def _method_broadcast_to(self, *sizes, size=None):
    """Tensor.broadcast_to takes its sizes as varargs too (torch.broadcast_to does not)."""
    if size is None:
        if not sizes:
            raise _missing_arg("broadcast_to", "size")
        size = sizes[0] if len(sizes) == 1 else sizes
    return S.broadcast_to(self, size)


def _dims_varargs(fn):
    """Tensor.squeeze / squeeze_ take several dims as varargs too (torch.squeeze does not). (The
    method passes no keywords: it calls fn itself, not _aliased's wrapper of it.)"""
    label, fn = fn.__name__, getattr(fn, "__wrapped__", fn)

    def method(self, *dims, dim=None):
        if dims:
            if dim is not None or len(dims) > 1 and \
                    any(not isinstance(d, int) for d in dims[1:]):
                raise TypeError(f"{label}() received an invalid combination of arguments "
                                f"- got {dims}, dim={dim}")
            dim = dims[0] if len(dims) == 1 else dims
        return fn(self, dim)
    method.__name__ = method.__qualname__ = label
    return method


def _method_dist(self, other, p=2):
    from ._toplevel import dist
    return dist(self, other, p)


def _method_prelu(self, weight):
    from ._functional_aliases import prelu     # ember.nn is imported on first use
    return prelu(self, weight)


def _autocast_fp32():
    """The functions torch's CPU autocast runs in float32, wrapped in their op modules before
    they are exported and bound as methods (amp.autocast.TOPLEVEL)."""
    from .amp.autocast import TOPLEVEL, fp32_function
    for module in OP_MODULES:
        for name in TOPLEVEL:
            fn = vars(module).get(name)
            if fn is not None and callable(fn):
                setattr(module, name, fp32_function(name, fn))


def _aliased(fn, aliases):
    """fn also taking NumPy's names for its arguments (axis for dim, keepdims for keepdim), as
    torch's argument parser accepts them for every native function. aliases: (alias, name,
    position of name)."""
    import functools
    label = fn.__name__

    def f(*args, **kw):
        if kw:
            for alias, name, pos in aliases:
                if alias in kw:
                    if name in kw or len(args) > pos:
                        raise TypeError(f"{label}() got an unexpected keyword argument '{alias}'")
                    kw[name] = kw.pop(alias)
            return fn(*args, **kw)
        return fn(*args)        # (a call without the empty keywords: a fifth of f's cost)
    return functools.update_wrapper(f, fn)


# torch's Python-level functions and methods (torch/functional.py, torch/_tensor.py) take no
# NumPy names
_NO_NUMPY_NAMES = {"split", "norm", "unique", "unique_consecutive", "unflatten", "stft", "istft",
                   "tensordot", "cdist", "lu", "split_with_sizes"}


def _arguments(fn):
    """fn's argument names, the positional ones first, and how many of them are positional;
    None for a callable without Python code. Read off the code object: inspect.signature over
    every op cost a tenth of the import."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return None
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount], code.co_argcount


def _numpy_names():
    for module in OP_MODULES:
        for name, fn in list(public_functions(module)):
            if name in _NO_NUMPY_NAMES:
                continue
            found = _arguments(fn)
            if found is None:
                continue
            names, positional = found
            aliases = []
            for alias, arg in (("axis", "dim"), ("keepdims", "keepdim")):
                if arg in names and alias not in names:
                    i = names.index(arg)
                    # a keyword-only argument is never given by position
                    aliases.append((alias, arg, i if i < positional else sys.maxsize))
            if aliases:
                setattr(module, name, _aliased(fn, aliases))


def _bind():
    _autocast_fp32()
    _numpy_names()
    for module in OP_MODULES:
        for name, fn in public_functions(module):
            if name not in _SKIP and not hasattr(Tensor, name):
                setattr(Tensor, name, getattr(fn, "method", fn))
    for name, fn in (("where", _method_where), ("dist", _method_dist), ("prelu", _method_prelu),
                     ("broadcast_to", _method_broadcast_to)):
        fn.__name__ = fn.__qualname__ = name        # the method's name, as torch's
        setattr(Tensor, name, fn)
    Tensor.__getitem__ = index.getitem
    Tensor.__setitem__ = index.setitem
    Tensor.to = creation._to
    Tensor.mT = property(lambda self: S._matrix_transpose(self, "mT"))
    Tensor.mH = property(lambda self: S._matrix_transpose(self, "mH"))
    for name in INPLACE:
        setattr(Tensor, name + "_", inplace(getattr(Tensor, name), name))
    for name in ("cumsum", "cumprod"):
        setattr(Tensor, name + "_", R._scan_inplace(getattr(Tensor, name + "_"), name))
    for name in ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "geometric_",
                 "log_normal_", "cauchy_", "zero_", "fill_"):
        setattr(Tensor, name, getattr(creation, name))
    Tensor.index_put_ = index.index_put_
    Tensor.conj_physical_ = inplace(E._conj_physical1_fn, "conj_physical")
    Tensor.multinomial, Tensor.bernoulli = creation.multinomial, creation.bernoulli
    Tensor.squeeze, Tensor.squeeze_ = _dims_varargs(S.squeeze), _dims_varargs(S.squeeze_)
    for dunder, fn in UNARY_DUNDERS.items():
        setattr(Tensor, dunder, fn)
    for dunder, fn in BINARY_DUNDERS.items():
        setattr(Tensor, dunder, _operator(fn, dunder))
    Tensor.__hash__ = object.__hash__


INPLACE = """abs absolute neg negative exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan
    asin acos atan arcsin arccos arctan sinh cosh tanh asinh acosh atanh arcsinh arccosh arctanh
    sigmoid logit erf erfc erfinv lgamma digamma deg2rad rad2deg reciprocal square sign sgn floor
    ceil trunc fix frac relu clamp clip clamp_min clamp_max lerp addcmul addcdiv nan_to_num round
    add sub mul div true_divide floor_divide remainder fmod hypot atan2 arctan2 pow
    copysign xlogy eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and
    logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not
    bitwise_left_shift bitwise_right_shift subtract multiply divide cumsum cumprod
    sinc i0 ldexp nextafter gcd lcm renorm polygamma heaviside igamma igammac mvlgamma""".split()


def _invert(self):
    kind = self.arr.dtype.kind
    if kind == "b":
        return E.logical_not(self)
    if kind not in "iu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return E.bitwise_not(self)


def _left(other, self):
    """The left operand of a reflected operator: a tensor as it is (t.__rmod__(u) is u % t),
    a Python number as the 0-d tensor it promotes as (with a `self` that is not a tensor, as
    it is: torch's torch.remainder(other, self))."""
    if isinstance(other, Tensor) or not isinstance(self, Tensor):
        return other
    from .ops.elementwise import _scalar_like
    return _scalar_like(other, self)


def _rlshift(self, other):
    return E.bitwise_left_shift(_left(other, self), self)


def _rrshift(self, other):
    return E.bitwise_right_shift(_left(other, self), self)


def _rfloordiv(self, other):
    return E.floor_divide(_left(other, self), self)


def _rmod(self, other):
    return E.remainder(_left(other, self), self)


def _rmatmul(self, other):
    return linalg.matmul(other, self)


def _operator(fn, name):
    """A binary operator. As in torch, an operand the op cannot take (its TypeError) makes it
    NotImplemented, so Python tries the other operand's reflected method (or raises its own
    "unsupported operand type(s) for +" TypeError). A make_binary op has its own operator
    variant (no extra call on the hot path); others are wrapped. Those that are C methods in
    torch refuse a `self` that is not a tensor (Tensor.__radd__(1, 2)) as Python's method
    descriptors do."""
    op = getattr(fn, "binary_op", None)
    descriptor = _C_DUNDERS.get(name)
    if op is not None:
        operator = make_binary(op, operator=descriptor or True)
    elif descriptor is not None or name in _PY_SELF:
        def operator(self, other):
            if not isinstance(self, Tensor):
                if descriptor is not None:
                    _check_self(descriptor, (self,))
                return _PY_SELF[name](self)
            try:
                return fn(self, other)
            except TypeError:
                return NotImplemented
    else:
        def operator(self, other):
            try:
                return fn(self, other)
            except TypeError:
                return NotImplemented
    operator.__name__ = operator.__qualname__ = name
    return operator


# torch's operators that are methods of its C TensorBase (the others are Python functions in
# torch/_tensor.py), by the name its descriptor has (__itruediv__ is __idiv__'s)
_C_DUNDERS = {n: n for n in """__add__ __radd__ __iadd__ __sub__ __isub__ __mul__ __rmul__
    __imul__ __truediv__ __div__ __idiv__ __ifloordiv__ __mod__ __imod__ __matmul__ __and__
    __rand__ __iand__ __or__ __ror__ __ior__ __xor__ __rxor__ __ixor__ __lshift__ __ilshift__
    __rshift__ __irshift__ __lt__ __le__ __gt__ __ge__ __eq__ __ne__""".split()}
_C_DUNDERS["__itruediv__"] = "__idiv__"
# torch's Python operators whose body fails on such a `self` before anything: __pow__ calls
# TensorBase.pow (its TypeError makes it NotImplemented), __rdiv__ self.reciprocal()
_PY_SELF = {"__pow__": lambda self: NotImplemented,
            "__rtruediv__": lambda self: self.reciprocal, "__rdiv__": lambda self: self.reciprocal}
UNARY_DUNDERS = {"__neg__": E.neg, "__pos__": E.positive, "__abs__": E.abs,
                 "__invert__": _invert}
BINARY_DUNDERS = {
    "__add__": E._add, "__radd__": E._add, "__sub__": E.sub, "__rsub__": E.rsub,
    "__mul__": E.mul, "__rmul__": E.mul, "__truediv__": E.div, "__rtruediv__": E.rdiv,
    "__div__": E.div, "__rdiv__": E.rdiv,
    "__floordiv__": E.floor_divide, "__rfloordiv__": _rfloordiv, "__mod__": E.remainder,
    "__rmod__": _rmod, "__pow__": E.pow, "__rpow__": E.rpow, "__matmul__": linalg.matmul,
    "__rmatmul__": _rmatmul,
    "__and__": E.bitwise_and, "__rand__": E.bitwise_and, "__or__": E.bitwise_or,
    "__ror__": E.bitwise_or, "__xor__": E.bitwise_xor, "__rxor__": E.bitwise_xor,
    "__lshift__": E.bitwise_left_shift, "__rshift__": E.bitwise_right_shift,
    "__rlshift__": _rlshift, "__rrshift__": _rrshift,
    "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt, "__ge__": E.ge, "__eq__": E.eq,
    "__ne__": E.ne,
}


def _bind_inplace_dunders():
    for op_name, name in (("add", "__iadd__"), ("sub", "__isub__"), ("mul", "__imul__"),
                          ("div", "__itruediv__"), ("div", "__idiv__"),
                          ("floor_divide", "__ifloordiv__"),
                          ("remainder", "__imod__"), ("pow", "__ipow__"),
                          ("bitwise_and", "__iand__"), ("bitwise_or", "__ior__"),
                          ("bitwise_xor", "__ixor__"), ("bitwise_left_shift", "__ilshift__"),
                          ("bitwise_right_shift", "__irshift__")):
        setattr(Tensor, name, _operator(getattr(Tensor, op_name + "_"), name))


_bind()
_bind_inplace_dunders()


def _functional():
    from .nn import functional
    return functional


def _nn_method(name):
    """A Tensor method whose fused op lives in ember.nn.functional (imported on first call;
    then read from sys.modules: an import statement per call costs microseconds). softmax and
    log_softmax with a dim alone try their quick path first (ember.nn._ops)."""
    quick = None if name == "hardshrink" else name + "_quick"

    def method(self, *args, **kwargs):
        functional = sys.modules.get("ember.nn.functional") or _functional()
        if quick and len(args) == 1 and not kwargs:
            t = getattr(functional._O, quick)(self, args[0])
            if t is not None:
                return t
        if "axis" in kwargs and "dim" not in kwargs:        # NumPy's name, as torch's methods
            kwargs["dim"] = kwargs.pop("axis")
        if name != "hardshrink":
            if not args and "dim" not in kwargs:        # required, as torch's
                raise _missing_arg(name, "dim")
            if len(args) > 1:       # (dim, dtype): the functional's third is _stacklevel
                args, kwargs = args[:1], dict(kwargs, dtype=args[1])
        return getattr(functional, name)(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    return method


for _name in ("softmax", "log_softmax", "hardshrink"):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _nn_method(_name))
