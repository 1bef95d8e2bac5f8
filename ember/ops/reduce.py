"""Reductions over dims (int, tuple, negative; keepdim), scans, and their vjps."""
import builtins
import collections

import numpy as np

from .._dtype import DEFAULT, to_dtype
from .._tensor import _new
from ._apply import apply
from ._dims import reduce_dims, wrap_dim
from ._registry import op


def _expand(xp, g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims."""
    if dims is None:
        return xp.broadcast_to(g.reshape((1,) * len(shape)) if len(shape) else g, shape)
    if not keepdim:
        g = xp.expand_dims(g, dims)
    return xp.broadcast_to(g, shape)


def _arr(xp, r, like):
    return r if type(r) is type(like) else xp.asarray(r, dtype=getattr(r, "dtype", None))


def _int_to_i64(x, dtype):
    if dtype is not None:
        return x.astype(dtype)
    return x.astype(np.int64) if x.dtype.kind in "biu" else x


@op("sum", saves=None)
def _sum(xp, x, dims, keepdim, dtype):
    x = _int_to_i64(x, dtype)
    return _arr(xp, x.sum(axis=dims, keepdims=keepdim), x), (x.shape, dims, keepdim)


@_sum.vjp
def _(xp, g, shape, dims, keepdim):
    return (_expand(xp, g, shape, dims, keepdim),)


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dt = None if dtype is None else to_dtype(dtype).np
    return apply(_sum, (input,), (reduce_dims(dim, input.ndim), keepdim, dt))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    from .elementwise import isnan, where
    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


@op("mean", saves=None)
def _mean(xp, x, dims, keepdim, dtype):
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind in "biu":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_name(x.dtype)}")
    r = x.mean(axis=dims, keepdims=keepdim) if x.size else xp.full(
        _reduced_shape(x.shape, dims, keepdim), np.nan, x.dtype)
    n = x.size // builtins.max(1, _numel(r)) if x.size else 0
    return _arr(xp, r, x).astype(x.dtype, copy=False), (x.shape, dims, keepdim, n)


@_mean.vjp
def _(xp, g, shape, dims, keepdim, n):
    return (_expand(xp, g / n, shape, dims, keepdim),)


def _numel(a):
    return getattr(a, "size", 1)


def _reduced_shape(shape, dims, keepdim):
    dims = range(len(shape)) if dims is None else dims
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _name(d):
    return {"int64": "Long", "int32": "Int", "bool": "Bool", "uint8": "Byte", "int16": "Short",
            "int8": "Char"}.get(d.name, d.name)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dt = None if dtype is None else to_dtype(dtype).np
    return apply(_mean, (input,), (reduce_dims(dim, input.ndim), keepdim, dt))


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    from .elementwise import isnan, logical_not
    keep = logical_not(isnan(input))
    return nansum(input, dim, keepdim, dtype=dtype) / sum(keep, dim, keepdim)


@op("prod", saves="both")
def _prod(xp, x, dims, keepdim, dtype):
    x = _int_to_i64(x, dtype)
    return _arr(xp, x.prod(axis=dims, keepdims=keepdim), x), (x, dims, keepdim)


@_prod.vjp
def _(xp, g, x, dims, keepdim):
    # product of all the other elements, exact even where x has zeros
    axes = tuple(range(x.ndim)) if dims is None else dims
    moved = xp.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = (left * right).reshape(moved.shape)
    others = xp.moveaxis(others, tuple(range(-len(axes), 0)), axes)
    return (_expand(xp, g, x.shape, dims, keepdim) * others,)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    dt = None if dtype is None else to_dtype(dtype).np
    dims = None if dim is None else (wrap_dim(dim, input.ndim),) if input.ndim else None
    return apply(_prod, (input,), (dims, keepdim, dt))


def _empty_check(x, dims, name):
    if x.size == 0 and (dims is None or builtins.any(x.shape[d] == 0 for d in dims)):
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == "
                         "0. Specify the reduction dim with the 'dim' argument.") \
            if dims is None and name.startswith("arg") else RuntimeError(
                f"{name}(): Expected reduction dim {'' if dims is None else dims[0]} to have "
                "non-zero size.")


@op("amax", saves="both")
def _amax(xp, x, dims, keepdim):
    _empty_check(x, dims, "amax")
    y = _arr(xp, x.max(axis=dims, keepdims=keepdim), x)
    return y, (x, y, dims, keepdim)


@op("amin", saves="both")
def _amin(xp, x, dims, keepdim):
    _empty_check(x, dims, "amin")
    y = _arr(xp, x.min(axis=dims, keepdims=keepdim), x)
    return y, (x, y, dims, keepdim)


def _extreme_grad(xp, g, x, y, dims, keepdim):
    # ties share the gradient evenly (torch's amax/amin and full max()/min())
    hit = x == _expand(xp, y, x.shape, dims, keepdim)
    count = hit.sum(axis=dims, keepdims=True)
    return (_expand(xp, g, x.shape, dims, keepdim) * hit / count,)


_amax.vjp(_extreme_grad)
_amin.vjp(_extreme_grad)


def amax(input, dim=(), keepdim=False):
    return apply(_amax, (input,), (reduce_dims(dim, input.ndim), keepdim))


def amin(input, dim=(), keepdim=False):
    return apply(_amin, (input,), (reduce_dims(dim, input.ndim), keepdim))


def return_type(name):
    """torch.return_types.<name>: a (values, indices) named tuple printed like torch's."""
    cls = collections.namedtuple(name, ["values", "indices"])
    cls.__module__ = "torch.return_types"
    cls.__repr__ = lambda self: (f"torch.return_types.{name}(\nvalues={self.values!r},\n"
                                 f"indices={self.indices!r})")
    return cls


MAX, MIN = return_type("max"), return_type("min")


@op("max_dim", saves="in", n_out=2, node="MaxBackward0")
def _max_dim(xp, x, dim, keepdim):
    _empty_check(x, (dim,), "max")
    i = xp.expand_dims(x.argmax(axis=dim), dim) if x.ndim else xp.asarray(0)
    if x.dtype.kind == "f":    # NaN wins, as in torch
        nan = xp.isnan(x)
        if nan.any():
            i = xp.where(nan.any(axis=dim, keepdims=True),
                         xp.expand_dims(nan.argmax(axis=dim), dim), i)
    v = xp.take_along_axis(x, i, dim) if x.ndim else x.copy()
    if not keepdim and x.ndim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)


@op("min_dim", saves="in", n_out=2, node="MinBackward0")
def _min_dim(xp, x, dim, keepdim):
    _empty_check(x, (dim,), "min")
    i = xp.expand_dims(x.argmin(axis=dim), dim) if x.ndim else xp.asarray(0)
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        if nan.any():
            i = xp.where(nan.any(axis=dim, keepdims=True),
                         xp.expand_dims(nan.argmax(axis=dim), dim), i)
    v = xp.take_along_axis(x, i, dim) if x.ndim else x.copy()
    if not keepdim and x.ndim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)


def _select_grad(xp, gs, shape, i, dim, keepdim):
    g = gs[0]
    if not len(shape):
        return (g,)
    if not keepdim:
        g = xp.expand_dims(g, dim)
    out = xp.zeros(shape, g.dtype)
    xp.put_along_axis(out, i if i.ndim == len(shape) else xp.expand_dims(i, dim), g, dim)
    return (out,)


_max_dim.vjp(_select_grad)
_min_dim.vjp(_select_grad)


def _max_min(input, dim, keepdim, other, full, dim_op, cls, elementwise, name):
    from .._tensor import Tensor
    if isinstance(dim, Tensor) and other is None:
        return elementwise(input, dim)
    if other is not None:
        return elementwise(input, other)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return full(input)
    d = wrap_dim(dim, input.ndim)
    v, i = apply(dim_op, (input,), (d, keepdim))
    return cls(v, i)


def max(input, dim=None, keepdim=False, *, other=None, out=None):
    from .elementwise import maximum
    return _max_min(input, dim, keepdim, other, amax, _max_dim, MAX, maximum, "max")


def min(input, dim=None, keepdim=False, *, other=None, out=None):
    from .elementwise import minimum
    return _max_min(input, dim, keepdim, other, amin, _min_dim, MIN, minimum, "min")


def _arg(name, pick):
    def fn(input, dim=None, keepdim=False):
        x, xp = input.arr, input.be.xp
        if dim is None:
            if x.size == 0:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                 "input.numel() == 0.")
            r = pick(xp, x.reshape(-1), 0)
            if keepdim:
                r = xp.reshape(r, (1,) * x.ndim)
        else:
            d = wrap_dim(dim, x.ndim)
            if x.ndim and x.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
            r = pick(xp, x, d) if x.ndim else xp.asarray(0)
            if keepdim and x.ndim:
                r = xp.expand_dims(r, d)
        return _new(xp.asarray(r, dtype=np.int64), input.be)
    fn.__name__ = name
    return fn


def _nan_first(xp, x, axis, f):
    i = f(x, axis=axis)
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        if nan.any():
            i = xp.where(nan.any(axis=axis), nan.argmax(axis=axis), i)
    return i


argmax = _arg("argmax", lambda xp, x, d: _nan_first(xp, x, d, xp.argmax))
argmin = _arg("argmin", lambda xp, x, d: _nan_first(xp, x, d, xp.argmin))


@op("var", saves="in")
def _var(xp, x, dims, correction, keepdim):
    if x.dtype.kind in "biu":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    n = x.size if dims is None else int(np.prod([x.shape[d] for d in dims]))
    mu = x.mean(axis=dims, keepdims=True) if x.size else x.sum(axis=dims, keepdims=True)
    dev = x - mu
    sq = (dev * dev.conj()).real if x.dtype.kind == "c" else dev * dev
    div = builtins.max(n - correction, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sq.sum(axis=dims, keepdims=keepdim) / div
    r = _arr(xp, r, x).astype(sq.dtype, copy=False)
    return r, (dev, dims, keepdim, div)


@_var.vjp
def _(xp, g, dev, dims, keepdim, div):
    return (_expand(xp, g, dev.shape, dims, keepdim) * (2 / div) * dev,)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_args(input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):         # var(input, unbiased) legacy positional form
        unbiased, dim = dim, None
    return reduce_dims(dim, input.ndim), _correction(unbiased, correction), keepdim


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    return apply(_var, (input,), _var_args(input, dim, unbiased, keepdim, correction))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    from .elementwise import sqrt
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dims, corr, keepdim = _var_args(input, dim, unbiased, keepdim, correction)
    return var(input, dims, keepdim=keepdim, correction=corr), mean(input, dims, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dims, corr, keepdim = _var_args(input, dim, unbiased, keepdim, correction)
    return std(input, dims, keepdim=keepdim, correction=corr), mean(input, dims, keepdim)


@op("logsumexp", saves="both")
def _logsumexp(xp, x, dims, keepdim):
    if x.dtype.kind in "biu":
        x = x.astype(DEFAULT.float.np)
    m = x.max(axis=dims, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
    m = xp.where(xp.isfinite(m), m, 0)
    y = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
    out = y if keepdim else (y.reshape(()) if dims is None else y.squeeze(dims))
    return _arr(xp, out, x), (x, y)


@_logsumexp.vjp
def _(xp, g, x, y):
    return (g.reshape(y.shape) * xp.exp(x - y),)


def logsumexp(input, dim, keepdim=False):
    return apply(_logsumexp, (input,), (reduce_dims(dim, input.ndim), keepdim))


@op("cumsum", saves=None)
def _cumsum(xp, x, dim, dtype):
    x = _int_to_i64(x, dtype)
    return (x.cumsum(axis=dim) if x.ndim else x.copy()), (dim,)


@_cumsum.vjp
def _(xp, g, dim):
    if g.ndim == 0:
        return (g,)
    return (xp.flip(xp.flip(g, dim).cumsum(axis=dim), dim),)


def cumsum(input, dim, *, dtype=None, out=None):
    dt = None if dtype is None else to_dtype(dtype).np
    return apply(_cumsum, (input,), (wrap_dim(dim, input.ndim), dt))


def _bool_reduce(name, f):
    def fn(input, dim=None, keepdim=False, *, out=None):
        x, xp = input.arr, input.be.xp
        dims = reduce_dims(dim, x.ndim)
        r = xp.asarray(f(x, axis=dims, keepdims=keepdim))
        if x.dtype == np.uint8:
            r = r.astype(np.uint8)
        return _new(r, input.be)
    fn.__name__ = name
    return fn


all = _bool_reduce("all", lambda x, axis, keepdims: x.all(axis=axis, keepdims=keepdims))
any = _bool_reduce("any", lambda x, axis, keepdims: x.any(axis=axis, keepdims=keepdims))


def count_nonzero(input, dim=None):
    x, xp = input.arr, input.be.xp
    dims = reduce_dims(dim, x.ndim)
    return _new(xp.asarray((x != 0).sum(axis=dims), dtype=np.int64), input.be)
