"""What MaskedTensor's __torch_function__ does with each function (torch's tables in
torch/masked/maskedtensor/{unary,binary,reductions,passthrough,_ops_refs}.py, applied to the
public functions that reach those ATen operators)."""
import warnings

from ... import _torch_function
from ..._tensor import Tensor
from .core import _TORCH_CLASS, MaskedTensor, _check_members, _plain, _prototype_warning, wrap

UNARY = frozenset("""abs absolute acos arccos acosh arccosh angle asin arcsin asinh arcsinh atan
    arctan atanh arctanh bitwise_not ceil clamp clip conj_physical cos cosh deg2rad digamma erf
    erfc erfinv exp exp2 expm1 fix floor frac lgamma log log10 log1p log2 logit i0 isnan
    nan_to_num neg negative positive pow rad2deg reciprocal round rsqrt sigmoid sign sgn signbit
    sin sinc sinh sqrt square tan tanh trunc""".split())
INPLACE_UNARY = frozenset(n + "_" for n in UNARY - {"angle", "positive", "signbit", "isnan"})
BINARY = frozenset("""add atan2 arctan2 bitwise_and bitwise_or bitwise_xor bitwise_left_shift
    bitwise_right_shift div divide floor_divide fmod logaddexp logaddexp2 mul multiply nextafter
    remainder sub subtract true_divide eq ne le ge greater greater_equal gt less_equal lt less
    maximum minimum fmax fmin not_equal""".split())
INPLACE_BINARY = frozenset(n + "_" for n in BINARY - {
    "logaddexp", "logaddexp2", "fmin", "minimum", "maximum", "fmax"})
REDUCE = frozenset("sum mean amin amax argmin argmax prod all norm var std".split())
# shape operations applied to the data and the mask alike (torch's passthrough ATen operators
# and the composites made of them: reshape, flatten, narrow, chunk, hstack ...)
PASSTHROUGH = frozenset("""select transpose swapaxes swapdims t __getitem__ expand expand_as
    view view_as reshape reshape_as flatten ravel cat concat concatenate hstack stack unsqueeze
    unfold narrow chunk tensor_split split""".split())
# conversions: the data converted, the mask moved along (torch's _to_copy)
CONVERT = frozenset("to type half float double bool long int short char byte cpu cuda".split())
# what only reads the tensor's metadata (or drives autograd): the data's answer as it is
PLAIN = frozenset("""dim size numel nelement ndimension __len__ is_contiguous stride element_size
    is_floating_point is_complex is_signed data_ptr storage_offset get_device requires_grad_
    retain_grad backward __reduce_ex__ __hash__""".split())
# the ATen operators that refused functions reach under another name
_ATEN = {"log_softmax": "_log_softmax", "softmin": "_softmax", "movedim": "permute",
         "moveaxis": "permute", "__rsub__": "rsub", "__rpow__": "pow"}
# operators torch's Tensor hands on under another function's name
_DUNDERS = {"__pow__": "pow", "__ipow__": "pow_", "__eq__": "eq", "__and__": "bitwise_and",
            "__or__": "bitwise_or", "__xor__": "bitwise_xor", "__invert__": "bitwise_not",
            "__floordiv__": "floor_divide", "__rtruediv__": "reciprocal",
            "__iand__": "bitwise_and_", "__ior__": "bitwise_or_", "__ixor__": "bitwise_xor_"}


def handle(func, args, kwargs):
    name = _torch_function.resolve_name(func) or getattr(func, "__name__", "")
    owner, _, short = name.rpartition(".")
    if short == "__get__":                      # a property
        prop = owner.rpartition(".")[2]
        if prop == "T":                         # (a permute)
            _unsupported("permute")
        value = _run(func, args, {})
        if prop in ("mT", "H", "mH"):           # (transposes of a real tensor)
            return _new(value, _run(func, _masks(args), {}))
        if prop in ("grad", "data", "real") and value is not None:
            return wrap(value, args[0]._masked_mask)
        return value
    short = _DUNDERS.get(short, short)
    if short in UNARY or short in INPLACE_UNARY:
        return _unary(func, args, kwargs, short in INPLACE_UNARY)
    if short in BINARY or short in INPLACE_BINARY:
        return _binary(func, args, kwargs, short in INPLACE_BINARY)
    if short in REDUCE:
        return _reduce(short, args, kwargs)
    if short in PASSTHROUGH:
        if short == "split" and not isinstance(args[1] if len(args) > 1 else
                                               kwargs.get("split_size"), int):
            _unsupported("split_with_sizes")
        return _passthrough(func, args, kwargs)
    if short in CONVERT:
        return _convert(func, args, kwargs)
    if short in PLAIN:
        with _torch_function.DisableTorchFunctionSubclass():
            return func(*args, **kwargs)
    special = _SPECIAL.get(short)
    if special is None:
        _unsupported(short)
    return special(func, args, kwargs)


def _unsupported(name):
    name = _ATEN.get(name, name)
    warnings.warn(f"{name} is not implemented in __torch_dispatch__ for MaskedTensor.\nIf you "
                  "would like this operator to be supported, please file an issue for a feature "
                  "request at https://github.com/pytorch/maskedtensor/issues with a minimal "
                  "reproducible code snippet.\nIn the case that the semantics for the operator "
                  "are not trivial, it would be appreciated to also include a proposal for the "
                  "semantics.", UserWarning, stacklevel=4)
    raise TypeError(f"Multiple dispatch failed for 'torch._ops.aten.{name}.default'; all "
                    "__torch_dispatch__ handlers returned NotImplemented:\n\n  - tensor "
                    f"subclass {_TORCH_CLASS}\n\nFor more information, try re-running with "
                    "TORCH_LOGS=not_implemented")


def _new(data, mask):
    """A result made as torch's tables make theirs: MaskedTensor(data, mask), with its warning
    and checks, keeping data's graph."""
    _prototype_warning(3)
    _check_members(data, mask)
    return wrap(data, mask)


def _wrap_result(data, mask):
    if isinstance(data, (list, tuple)):
        return type(data)(_wrap_result(d, m) for d, m in zip(data, mask))
    return _new(data, mask)


def _masks(values):
    """values with each MaskedTensor (also inside lists and tuples) replaced by its mask."""
    out = []
    for v in values:
        if isinstance(v, MaskedTensor):
            v = v._masked_mask
        elif type(v) in (list, tuple):
            v = type(v)(_masks(v))
        out.append(v)
    return out


def _run(func, args, kwargs):
    """func on the data: a MaskedTensor argument stands for its data (and its graph)."""
    with _torch_function.DisableTorchFunctionSubclass():
        return func(*args, **kwargs)


def _unary(func, args, kwargs, inplace):
    if any(isinstance(a, Tensor) for a in list(args[1:]) + list(kwargs.values())):
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    data = _run(func, args, kwargs)
    if inplace:
        return args[0]
    return _new(data, args[0]._masked_mask)


def _binary(func, args, kwargs, inplace):
    if kwargs:
        raise ValueError("len(kwargs) must equal 0")
    if any(isinstance(a, Tensor) for a in args[2:]):
        raise TypeError("MaskedTensor binary ops do not support Tensor arguments aside from the "
                        "lhs and rhs")
    a, b = args[0], args[1] if len(args) > 1 else None
    if isinstance(a, MaskedTensor) and isinstance(b, MaskedTensor) and not (
            a.dim() == b.dim() and bool(_run(Tensor.eq, (a._masked_mask, b._masked_mask), {})
                                        .all())):
        raise ValueError("Input masks must match. If you need support for this, please open an "
                         "issue on Github.")
    data = _run(func, args, kwargs)
    if inplace:
        return a
    mask = (a if isinstance(a, MaskedTensor) else b)._masked_mask
    return _new(data, mask.expand_as(data))


def _reduce_dim_args(input, dim, keepdim=False, dtype=None):
    return input, dim, keepdim, dtype


def _multidim_any(mask, dim, keepdim):
    if isinstance(dim, int):
        return _multidim_any(mask, [dim], keepdim)
    for d in sorted(dim, reverse=True):
        mask = mask.any(dim=d, keepdim=keepdim)
    return mask


def _reduce(name, args, kwargs):
    from ... import masked
    from .creation import as_masked_tensor
    if len(args) == 1 and not kwargs:
        self = args[0]
        mask = self._masked_mask
        if name == "all":
            result = _plain(self).masked_fill(~mask, True).all()
        else:
            result = _run(getattr(masked, name), (self,), {"mask": mask})
        return as_masked_tensor(result, mask.any())
    self, dim, keepdim, dtype = _reduce_dim_args(*args, **kwargs)
    if not isinstance(self, MaskedTensor):
        raise TypeError("Input to reduce_dim must be a MaskedTensor")
    mask = self._masked_mask
    if name == "all":
        result = _plain(self).masked_fill(~mask, True).all(dim=dim, keepdim=keepdim)
    else:
        result = _run(getattr(masked, name), (self,),
                      {"dim": dim, "keepdim": keepdim, "dtype": dtype, "mask": mask})
    return as_masked_tensor(result, _multidim_any(mask, dim, keepdim))


def _passthrough(func, args, kwargs):
    data = _run(func, args, kwargs)
    mask = _run(func, _masks(args), dict(zip(kwargs, _masks(kwargs.values()))))
    return _wrap_result(data, mask)


def _convert(func, args, kwargs):
    data = _run(func, args, kwargs)
    return _new(data, args[0]._masked_mask.to(device=data.device))


def _where(func, args, kwargs):
    """torch.where(cond, x, y): the data where'd and the masks alike (a plain operand's mask all
    True); Tensor.where(self, cond, y) the same of (cond, self, y). Three positional arguments
    only, as torch's table takes them."""
    if len(args) != 3:
        raise ValueError(f"__torch_function__, torch.where: len(args) must be 3 but got "
                         f"{len(args)}")
    if kwargs:
        raise ValueError(f"__torch_function__, torch.where: len(kwargs) must be 0 but got "
                         f"{len(kwargs)}")
    from ...ops.creation import ones_like
    from ...ops.elementwise import where
    cond, x, y = args if _torch_function.resolve_name(func) != "torch.Tensor.where" else \
        (args[1], args[0], args[2])

    def mask_of(v):
        if isinstance(v, MaskedTensor):
            return v._masked_mask
        return ones_like(v, dtype=cond.dtype) if isinstance(v, Tensor) else True
    with _torch_function.DisableTorchFunctionSubclass():
        data = where(cond, x, y)
        mask = where(cond, mask_of(x), mask_of(y))
    return _new(data, mask)


def _softmax(func, args, kwargs):
    from ... import masked
    values = dict(zip(("input", "dim"), args), **kwargs)
    self, dim = values["input"], values.get("dim")
    mask = self._masked_mask
    data = _run(masked.softmax, (self, dim), {"mask": mask, "dtype": values.get("dtype")})
    return _new(data, mask)


def _keep_mask(func, args, kwargs):
    """clone, detach, contiguous, ones_like, conj (of real data): the function of the data,
    the mask kept (the tensor itself where the function returns it: conj of real data)."""
    out = _run(func, args, kwargs)
    return out if out is args[0] else _new(out, args[0]._masked_mask)


def _copy_(func, args, kwargs):
    dst, src = args[0], args[1]
    dm = dst._masked_mask if isinstance(dst, MaskedTensor) else None
    sm = src._masked_mask if isinstance(src, MaskedTensor) else None
    if dm is not None and sm is not None and not bool((dm == sm).all()):
        raise ValueError("args[0] mask and args[1] mask must match but do not")
    _run(func, args, kwargs)
    return dst


def _item(func, args, kwargs):
    self = args[0]
    if self.numel() == 1 and not bool(self._masked_mask):
        raise ValueError("__torch_dispatch__, aten._local_scalar_dense: expected a mask tensor")
    return _run(func, args, kwargs)


def _tolist(func, args, kwargs):
    raise RuntimeError(".tolist() is not supported for tensor subclasses, got MaskedTensor")


def _format(func, args, kwargs):
    self, spec = args
    if spec:
        raise TypeError(f"unsupported format string passed to {type(self).__name__}.__format__")
    return repr(self)


_SPECIAL = {"where": _where, "softmax": _softmax, "clone": _keep_mask, "detach": _keep_mask,
            "contiguous": _keep_mask, "ones_like": _keep_mask, "conj": _keep_mask,
            "resolve_conj": _keep_mask, "resolve_neg": _keep_mask, "copy_": _copy_, "item": _item,
            "__bool__": _item, "__float__": _item, "__int__": _item, "__index__": _item,
            "tolist": _tolist, "__format__": _format}
