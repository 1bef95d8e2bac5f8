"""torch's `_foreach_*` functions: one op applied across a list of tensors, as EMA updates and
hand-written optimizers use them (`torch._foreach_lerp_(ema, params, 1 - decay)`).

Each is the per-tensor op in a loop, so dtypes, type promotion, errors and autograd are the
per-tensor op's.  Out-of-place functions return a tuple, in-place ones the list they were given.
ember/__init__.py reaches them lazily through NAMES."""
import numbers


_UNARY = ("abs acos asin atan ceil cos cosh erf erfc exp expm1 floor frac lgamma log log10 log1p "
          "log2 neg reciprocal round rsqrt sigmoid sign sin sinh sqrt tan tanh trunc").split()
# name -> the Tensor method (a scalar or a tensor operand), and whether it takes `alpha`
_BINARY = {"add": ("add", True), "sub": ("sub", True), "mul": ("mul", False),
           "div": ("div", False), "pow": ("pow", False), "clamp_min": ("clamp_min", False),
           "clamp_max": ("clamp_max", False), "maximum": ("clamp_min", False),
           "minimum": ("clamp_max", False)}


def _check_lists(name, self, *others):
    if not isinstance(self, (list, tuple)):
        raise TypeError(f"_foreach_{name}() received an invalid combination of arguments - "
                        f"got ({type(self).__name__}, ...), but expected a tuple of Tensors")
    if not self:
        raise RuntimeError("Tensor list must have at least one tensor.")
    for other in others:
        if len(other) != len(self):
            raise RuntimeError("Tensor lists must have the same number of tensors, "
                               f"got {len(self)} and {len(other)}")


def _per_tensor(name, self, other):
    """`other` spread over `self`: a scalar, a list of scalars or tensors, or a 0-d tensor."""
    from ._tensor import Tensor
    if isinstance(other, Tensor):
        if other.dim() != 0:
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {other.dim()} "
                               f"dimensions and {other.numel()} elements.")
        return [other] * len(self)
    if isinstance(other, (list, tuple)):
        if other and not isinstance(other[0], Tensor):
            if len(other) != len(self):
                raise RuntimeError("Tensor list must have same number of elements as scalar "
                                   "list.")
            return other
        _check_lists(name, self, other)
        return other
    if isinstance(other, numbers.Number):
        return [other] * len(self)
    raise TypeError(f"_foreach_{name}() received an invalid combination of arguments - got "
                    f"({type(self).__name__}, {type(other).__name__})")


def _unary(name):
    def out_of_place(self):
        _check_lists(name, self)
        return tuple(getattr(t, name)() for t in self)

    def in_place(self):
        _check_lists(name, self)
        for t in self:
            getattr(t, name + "_")()
        return self
    return out_of_place, in_place


def in_dtype(t, number):
    """A number as torch's in-place `_foreach_mul_` takes it for tensor t: rounded to a
    float16/bfloat16 tensor's dtype (t.mul_(number) computes with the float32 number): torch's
    mul_.Scalar kernel sees the scalar as its first operand and casts it to the tensor's dtype."""
    dt = t.arr.dtype
    if dt.itemsize == 2 and dt.kind in "fV" and isinstance(number, numbers.Real):
        return float(dt.type(number))
    return number


def _binary(name, method, alpha):
    def out_of_place(self, other, **kw):
        _check_lists(name, self)
        if alpha:
            return tuple(getattr(t, method)(o, **kw)
                         for t, o in zip(self, _per_tensor(name, self, other)))
        return tuple(getattr(t, method)(o) for t, o in zip(self, _per_tensor(name, self, other)))

    def in_place(self, other, **kw):
        _check_lists(name, self)
        for t, o in zip(self, _per_tensor(name, self, other)):
            if name == "mul":
                o = in_dtype(t, o)
            getattr(t, method + "_")(o, **kw) if alpha else getattr(t, method + "_")(o)
        return self
    return out_of_place, in_place



def _scalars(self, scalars):
    """addcmul/addcdiv's `value`: one number, a list of numbers, or a 1-d tensor of them."""
    from ._tensor import Tensor
    if isinstance(scalars, Tensor):
        if scalars.dim() != 1:
            raise RuntimeError("Expected packed scalar Tensor to be of dimension 1. "
                               f"Got {scalars.dim()} instead.")
        if scalars.numel() != len(self):
            raise RuntimeError(f"Expected length of scalars to match input of length "
                               f"{len(self)} but got {scalars.numel()} instead.")
        return scalars.tolist()
    return _per_tensor("addcmul", self, scalars)


def _pointwise3(name):
    def out_of_place(self, tensor1, tensor2, value=1):
        _check_lists(name, self, tensor1, tensor2)
        return tuple(getattr(t, name)(a, b, value=v)
                     for t, a, b, v in zip(self, tensor1, tensor2, _scalars(self, value)))

    def in_place(self, tensor1, tensor2, value=1):
        _check_lists(name, self, tensor1, tensor2)
        for t, a, b, v in zip(self, tensor1, tensor2, _scalars(self, value)):
            getattr(t, name + "_")(a, b, value=v)
        return self
    return out_of_place, in_place


def _foreach_lerp(self, tensors1, weight):
    _check_lists("lerp", self, tensors1)
    return tuple(t.lerp(e, w) for t, e, w in zip(self, tensors1, _per_tensor("lerp", self, weight)))


def _foreach_lerp_(self, tensors1, weight):
    _check_lists("lerp", self, tensors1)
    for t, e, w in zip(self, tensors1, _per_tensor("lerp", self, weight)):
        t.lerp_(e, w)
    return self


def _foreach_pow(self, exponent):
    if isinstance(self, numbers.Number):        # Scalar ** each tensor of the list
        _check_lists("pow", exponent)
        return tuple(self ** e for e in exponent)
    return _binary("pow", "pow", False)[0](self, exponent)


def _foreach_norm(self, ord=2, dtype=None):
    from .linalg import vector_norm
    _check_lists("norm", self)
    return tuple(vector_norm(t, ord, dtype=dtype) for t in self)


def _foreach_powsum(self, ord=2, dtype=None):
    """Each tensor's sum of |x| ** ord (the norm before its root)."""
    _check_lists("powsum", self)
    return tuple(t.abs().pow(ord).sum(dtype=dtype) for t in self)


def _foreach_max(self):
    _check_lists("max", self)
    for t in self:
        if t.numel() == 0:
            raise RuntimeError("_foreach_max cannot compute the maximum of an empty tensor; max "
                               "over zero elements is undefined.")
    return tuple(t.max() for t in self)


def _foreach_mm(self, mat2):
    _check_lists("mm", self, mat2)
    return tuple(a.mm(b) for a, b in zip(self, mat2))


def _foreach_clone(self, *, memory_format=None):
    _check_lists("clone", self)
    if memory_format is None:
        return tuple(t.clone() for t in self)
    return tuple(t.clone(memory_format=memory_format) for t in self)


def _foreach_copy_(self, src, non_blocking=False):
    _check_lists("copy_", self, src)
    for t, s in zip(self, src):
        t.copy_(s, non_blocking)
    return self


def _foreach_zero_(self):
    _check_lists("zero_", self)
    for t in self:
        t.zero_()
    return self


def _build():
    g = globals()
    for name in _UNARY:
        g[f"_foreach_{name}"], g[f"_foreach_{name}_"] = _unary(name)
    for name, (method, alpha) in _BINARY.items():
        if name != "pow":
            g[f"_foreach_{name}"], g[f"_foreach_{name}_"] = _binary(name, method, alpha)
    g["_foreach_pow_"] = _binary("pow", "pow", False)[1]
    for name in ("addcmul", "addcdiv"):
        g[f"_foreach_{name}"], g[f"_foreach_{name}_"] = _pointwise3(name)
    for name, fn in list(g.items()):
        if name.startswith("_foreach_") and callable(fn):
            fn.__name__ = fn.__qualname__ = name


_build()
NAMES = tuple(n for n in globals() if n.startswith("_foreach_"))
