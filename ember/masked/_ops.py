"""torch.masked's masked reductions and normalizations on strided tensors: the elements where
`mask` (broadcast to the input) is False are left out, by putting the operation's identity in
their place (0 for sums, 1 for products, -inf for maxima, ...), as torch/masked/_ops.py does.
Lanes with every element masked out come out as that identity (nan for mean, var, std and
median, as in torch). Sparse layouts are not implemented."""
import builtins
import math

import numpy as np

from .. import _dtype
from .._layout import strided

__all__ = ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logaddexp",
           "logsumexp", "mean", "median", "norm", "normalize", "prod", "softmax", "softmin",
           "std", "sum", "var"]

_INT_TO_LONG = ("uint8", "bool", "int8", "int16", "int32")


def _identity(op, input, ord=2):
    """The value a masked-out element takes for `op` (torch's _reduction_identity)."""
    from ..ops.creation import tensor
    dt = input.dtype
    if op in ("sum", "cumsum"):
        value = 0
    elif op in ("prod", "cumprod"):
        value = 1
    elif op in ("amax", "argmax", "logaddexp", "logsumexp", "amin", "argmin"):
        low = op not in ("amin", "argmin")
        if dt.is_floating_point or dt.is_complex and op == "logsumexp":
            value = -math.inf if low else math.inf
        elif dt.is_signed or dt is _dtype.uint8:
            info = np.iinfo(dt.np)
            value = int(info.min if low else info.max)
        else:
            raise NotImplementedError(f"identity of {op} on {dt} input")
    elif op == "norm":
        value = math.inf if ord == -math.inf else 0
    else:   # median (nanmedian skips it)
        return tensor(math.nan, dtype=dt if dt.is_floating_point else _dtype.float32,
                      device=input.device)
    return tensor(value, dtype=dt, device=input.device)


def _canonical_dim(dim, ndim):
    """dim as a sorted tuple of dims (None and () are all of them)."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    ndim = builtins.max(ndim, 1)
    dims = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d in dims:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if d >= ndim or d < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {d})")
        dims.append(d % ndim)
    return tuple(sorted(dims))


def _input_mask(input, mask):
    """mask as a bool tensor of input's shape."""
    if mask is None:
        raise ValueError("_input_mask requires explicit mask")
    if mask.shape != input.shape:
        if mask.ndim > input.ndim:
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality "
                             "higher than of the input)")
        mask = mask.clone().broadcast_to(input.shape)
    return mask.to(dtype=_dtype.bool_)


def _masked(op, input, mask, ord=2):
    """input with its masked-out elements replaced by op's identity. A MaskedTensor input is
    masked by its own mask (the `mask` argument then only counts, as torch's Combine)."""
    if input.layout is not strided:
        raise ValueError(f"masked {op} expects strided tensor (got {input.layout} tensor)")
    from ..ops.elementwise import where
    own = getattr(input, "_masked_mask", None)
    if own is not None:
        from .._torch_function import DisableTorchFunctionSubclass
        with DisableTorchFunctionSubclass():
            return where(own, input, _identity(op, input, ord))
    if mask is None:
        return input
    return where(_input_mask(input, mask), input, _identity(op, input, ord))


def _long_dtype(input, dtype):
    if dtype is not None:
        return dtype
    return _dtype.int64 if input.dtype.name in _INT_TO_LONG else input.dtype


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = _long_dtype(input, dtype)
    return _masked("sum", input, mask).sum(_canonical_dim(dim, input.ndim), bool(keepdim),
                                            dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = _long_dtype(input, dtype)
    result = _masked("prod", input, mask).to(dtype=dtype)
    for d in reversed(_canonical_dim(dim, input.ndim)):
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


def cumsum(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.ndim)[0]
    return _masked("sum", input, mask).cumsum(d, dtype=dtype).to(dtype=dtype)


def cumprod(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.ndim)[0]
    return _masked("prod", input, mask).cumprod(d, dtype=dtype).to(dtype=dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    x = _masked("amax", input, mask)
    return x.amax(_canonical_dim(dim, x.ndim), bool(keepdim)).to(dtype=dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    x = _masked("amin", input, mask)
    return x.amin(_canonical_dim(dim, x.ndim), bool(keepdim)).to(dtype=dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    return _masked("argmax", input, mask).argmax(dim, bool(keepdim)).to(dtype=dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    return _masked("argmin", input, mask).argmin(dim, bool(keepdim)).to(dtype=dtype)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    source = "Optional"
    if dtype is None:
        dtype, source = input.dtype, "Input"
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be either a "
                         f"floating point or complex dtype. Got: {dtype}")
    if mask is None:
        from ..ops.creation import ones
        count = sum(ones(input.shape, dtype=_dtype.int64, device=input.device), dim,
                    keepdim=keepdim)
        total = sum(input, dim, keepdim=keepdim, dtype=dtype)
    else:
        inmask = _input_mask(input, mask)
        count = inmask.sum(dim=dim, keepdim=bool(keepdim))
        total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=inmask)
    return total / count


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.ndim)[0]
    is_float = input.dtype.is_floating_point
    if not is_float:
        input = input.to(dtype=_dtype.float32)
    output = _masked("median", input, mask).nanmedian(d, keepdim).values
    if is_float:
        return output
    if output.isnan().any():
        raise ValueError("masked median expects no fully masked out rows if dtype is not "
                         "floating point")
    return output.to(dtype=dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.ndim)
    return _masked("logsumexp", input, mask).logsumexp(d, keepdim=keepdim).to(dtype=dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    from ..ops.numeric import logaddexp as _logaddexp
    dtype = input.dtype if dtype is None else dtype
    return _logaddexp(_masked("logaddexp", input, input_mask),
                      _masked("logaddexp", other, other_mask)).to(dtype=dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    from ..linalg import vector_norm
    dtype = input.dtype if dtype is None else dtype
    return vector_norm(_masked("norm", input, mask, ord), ord, _canonical_dim(dim, input.ndim),
                       bool(keepdim), dtype=dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    from ..ops.creation import ones
    if unbiased is not None and correction is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    corr = 1.0 if unbiased is None else float(bool(unbiased))
    if correction is not None:
        corr = float(correction)
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point or input.dtype.is_complex else \
            _dtype.float32
    compute = dtype if dtype.is_floating_point or dtype.is_complex else _dtype.float32
    if mask is None:
        inmask = None
        count = sum(ones(input.shape, dtype=_dtype.int64, device=input.device), dim,
                    keepdim=True)
    else:
        inmask = _input_mask(input, mask)
        count = inmask.sum(dim=dim, keepdim=True)
    x = input - sum(input, dim, keepdim=True, dtype=dtype, mask=inmask) / count
    total = sum(x * x.conj(), dim, keepdim=keepdim, dtype=compute, mask=inmask)
    if not keepdim:
        count = count.reshape(total.shape)
    if corr != 0:
        count = (count.to(compute.to_real()) - corr).clamp(min=0)
    output = (total / count).to(dtype=dtype)
    return output.sqrt() if take_sqrt else output


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, True)


def _normalization(fn_name, identity):
    def fn(input, dim, *, dtype=None, mask=None):
        from ..nn import functional as F
        dtype = input.dtype if dtype is None else dtype
        d = _canonical_dim(dim, input.ndim)[0]
        return getattr(F, fn_name)(_masked(identity, input, mask), d, dtype=dtype)
    fn.__name__ = fn.__qualname__ = fn_name
    return fn


softmax = _normalization("softmax", "amax")
log_softmax = _normalization("log_softmax", "amax")
softmin = _normalization("softmin", "amin")


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    from ..ops.elementwise import maximum
    dtype = input.dtype if dtype is None else dtype
    nrm = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return _masked("sum", input, mask) / maximum(nrm, nrm.new_full([], eps))

