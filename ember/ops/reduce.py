"""Reductions over dims (int, tuple, negative; keepdim), scans, order statistics, and their vjps.

torch's rules: integer and bool sums/products/cumsums give int64, `mean` of an integer tensor
raises, float16/bfloat16 accumulate in float32 and round once, a reduction over an empty dim
without identity raises IndexError (RuntimeError when no dim is given)."""
import builtins
import math

import numpy as np

from ..return_types import make as _return_type
from .._dtype import DEFAULT, FEW_KERNELS, refuse_few, to_dtype as _to_dtype
from .._layout import jagged as _jagged
from .._sparse_coo import SparseCOO, not_implemented as _sparse_not_implemented
from .._sparse_compressed import SparseCompressed
from .._sparse_csr import SparseCSR
from .._kernel_dtypes import cname, not_implemented
from .._tensor import Tensor, _new
from ._overlap import check_out as check_out_overlap
from ._apply import add_at
from ._apply import _finish_tuple, _missing_arg, _not_tensor, _tname, apply as _apply, quiet, \
    traced, type_name, \
    make_unary as _make_unary, tensor_ndim, ureduce
from ._dims import int_arg, unique_dims, wrap_dim as _wrap_dim
from . import _stl_select
from .elementwise import maximum, minimum
from ._torch_sum import _seq, einsum as _einsum, planned_sum, torch_sum
from .._threads import intra_op_threads
from ._registry import c_order, contiguous_outputs, holomorphic as _holo, \
    no_complex_grad as _no_complex_grad, op as _op
from ..amp.state import AMP as _amp
from ..autograd.forward_ad import FW as _fw
from ..autograd.grad_mode import STATE as _grad

_F32 = np.dtype(np.float32)
_FLOAT_DTYPES = (_F32, np.dtype(np.float64))


# ---- helpers ----------------------------------------------------------------------------------
def _expand(xp, g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims."""
    if dims is None:
        if type(g) is np.ndarray and g.dtype in _FLOAT_DTYPES and g.size == 1:
            # the view broadcast_to makes (strides 0, read-only, over g), without its nditer:
            # a quarter of a small sum().backward()'s own time
            out = np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
            out.flags.writeable = False
            return out
        return xp.broadcast_to(g.reshape((1,) * len(shape)) if len(shape) else g, shape)
    if not keepdim:
        g = xp.expand_dims(g, dims)
    return xp.broadcast_to(g, shape)


def _arr(xp, r):
    """A reduction's result as torch lays it out: NumPy's scalars kept 0-d arrays, and
    C-contiguous (NumPy follows the input's layout: x.permute(...).sum(1) was not viewable)."""
    return xp.asarray(r) if isinstance(r, np.generic) else c_order(xp, r)


def _acc(x):
    """The accumulation dtype: float16/bfloat16 add up in float32 (as torch's kernels do)."""
    return x.astype(_F32) if x.dtype.char in "eE" else x


def _numel(shape, dims):
    n = 1
    for d in (range(len(shape)) if dims is None else dims):
        n *= shape[d]
    return n


def _reduction_input(x, dtype):
    """x as a reduction with `dtype=` reads it (integers and bools as int64 without one)."""
    if dtype is not None:
        if x.dtype.kind == "c" and dtype.kind not in "cb":    # (torch's warning, not NumPy's)
            from .index import warn_complex_to_real
            warn_complex_to_real(x.dtype, dtype)
            x = x.real
        return x.astype(dtype)
    return x.astype(np.int64) if x.dtype.kind in "biu" else x


def _keepdim(keepdim, name):
    """keepdim as torch's argument parser takes it: a bool and nothing else (x.sum(0, 1) is its
    TypeError, not a sum over dim 0 kept)."""
    if type(keepdim) is not bool:
        raise TypeError(f"{name}(): argument 'keepdim' must be bool, not {type_name(keepdim)}")
    return keepdim


def _dims(input, dim, name):
    """dim (None, int, or a sequence of ints) -> None (all dims) or a sorted tuple, with torch's
    errors: IndexError out of range (0-d tensors accept -1 and 0), RuntimeError for repeats;
    `name`: the reduction's, for the TypeError where input is not a Tensor."""
    try:
        ndim = input.arr.ndim
    except AttributeError:
        raise _not_tensor(name, input) from None
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        out = unique_dims(dim, ndim)
        return tuple(sorted(out)) if out and ndim else None
    d = _wrap_dim(dim, ndim)
    return (d,) if ndim else None


class _NoDim:
    """The default `dim` where leaving it out differs from any value: ops whose dim must be
    an int when given (torch rejects None), sum and mean (whose keepdim= needs a dim)."""
    __slots__ = ()

    def __repr__(self):
        return "<no dim>"


_NO_DIM = _NoDim()
_NO_KEEPDIM = object()      # max/min's keepdim left out (an explicit None is refused, as torch)


def _int_dim(name, dim):
    if dim is None or isinstance(dim, (tuple, list, float)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    return dim


def _np_dtype(dtype):
    return None if dtype is None else _to_dtype(dtype).np


def _reduced_shape(shape, dims, keepdim):
    dims = range(len(shape)) if dims is None else dims
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _empty_dim_check(x, dims, name):
    """Reductions without identity (max, amax, median...) over an empty dim raise like torch."""
    if x.size:
        return
    if dims is None:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _float_only(x, name):
    if x.dtype.kind in "biu":
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {_tname(x.dtype)}")


# ---- sum, mean, prod --------------------------------------------------------------------------
def _sum_arrays(xp, x, dims, keepdim):
    """x.sum over dims; float32/float64 on the CPU added in torch's order where it can be."""
    if xp is np:
        r = planned_sum(x, dims, keepdim)
        if r is not None:
            return r
        r = torch_sum(x, dims, keepdim)
        if r is not None:
            if r.ndim:      # (a float32/float64 array: _from_zero's add, without its checks)
                np.add(r, 0.0, out=r)
                return r
            return _from_zero(xp, r)
    return _from_zero(xp, _arr(xp, ureduce("add", _acc(x), dims, keepdim)))


def _from_zero(xp, r):
    """torch's sums start from +0, so a sum of -0.0s is +0.0 (NumPy's starts from the first
    element): adding +0 changes nothing else. A real full sum on the CPU is looked at first
    (only a zero can be -0.0): it is on the per-op hot path."""
    k = r.dtype.kind
    if k == "f" or k == "c":
        if k == "f" and r.ndim == 0 and xp is np and r.item() != 0:
            return r
        if isinstance(r, np.generic):       # (a NumPy scalar from the full reduction)
            return r + r.dtype.type(0)
        xp.add(r, r.dtype.type(0), out=r)
    return r


def _sum_fwd(xp, x, dims, keepdim, dtype):
    x = _reduction_input(x, dtype)
    r = _sum_arrays(xp, x, dims, keepdim)
    return (r if r.dtype == x.dtype else r.astype(x.dtype)), (x.shape, dims, keepdim)


def _sum_bwd(xp, g, shape, dims, keepdim):
    return (_expand(xp, g, shape, dims, keepdim),)


_SUM_OP = _op("sum", saves=None, node="SumBackward0")(_sum_fwd).vjp(_sum_bwd)
_sum0 = _make_unary(_SUM_OP)
_sum1 = _make_unary(_op("sum_dim", saves=None, node="SumBackward1")(_sum_fwd).vjp(_sum_bwd))


def _out_dtype(dtype, out, name=None):
    """torch's get_dtype_from_result: sum, nansum, prod, mean and the scans into out= compute
    in out's dtype where dtype= is not given (the input cast to it first); a dtype= that is
    not out's is refused."""
    if not isinstance(out, Tensor):
        return dtype
    if dtype is None:
        return out.dtype
    want = _np_dtype(dtype)
    if want != out.arr.dtype:
        if name == "nansum":
            raise RuntimeError(f"nansum: provided dtype must match dtype of result. Got "
                               f"{_tname(out.arr.dtype)} and {_tname(want)}.")
        raise RuntimeError(f"Expected out tensor to have dtype {cname(want)}, but got "
                           f"{cname(out.arr.dtype)} instead")
    return dtype


def _without_dim(name, dim_arg, keepdim, dtype, out, out_ok=False):
    """torch's argument-parser TypeError for keepdim= (or out=, where the dim-less overload has
    none) given without a dim; a no-op otherwise."""
    given = {"dtype": dtype is not None and "torch.dtype", "keepdim": bool(keepdim) and "bool",
             "out": out is not None and "Tensor"}
    if not given["keepdim"] and (out_ok or not given["out"]):
        return
    if not out_ok and builtins.sum(map(bool, given.values())) > 1:
        raise _missing_arg(name, "dim")
    got = ", ".join(["Tensor"] + [f"{k}={v}" for k, v in given.items() if v])
    out_arg = ", Tensor out = None" if out_ok else ""
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but "
                    f"expected one of:\n * (Tensor input, *, torch.dtype dtype = None{out_arg})\n"
                    f" * (Tensor input, {dim_arg} dim, bool keepdim = False, *, torch.dtype dtype "
                    f"= None, Tensor out = None)\n")


def _plain(input):
    """input's float32/float64 NumPy array where nothing is recorded of an op on it (no grad
    needed, no autocast, no forward AD, no profiler wrapping the kernels: the sum op's is its
    own), else None: the reductions' quick paths (their op's dispatch and checks cost as much
    as a small reduction)."""
    try:
        a = input.arr
        if input._rg and _grad.enabled or _amp.enabled or _fw.level is not None or \
                type(a) is not np.ndarray or a.dtype not in _FLOAT_DTYPES or \
                _SUM_OP.impl[0][0] is not _sum_fwd:
            return None
    except AttributeError:          # (not a Tensor: the op's TypeError)
        return None
    return a


def _planned(input, dim, keepdim):
    """x.sum(), x.sum(dim) or x.sum(dim, keepdim) of a _plain tensor for which _torch_sum has a
    plan: the result's array (summed from +0), else None."""
    a = _plain(input)
    if a is None:
        return None
    if dim is not _NO_DIM and dim is not None:
        if type(dim) is not int or not a.ndim:
            return None
        dim = (_wrap_dim(dim, a.ndim),)
    else:
        dim = None
    try:
        return planned_sum(a, dim, keepdim)
    except RuntimeWarning:
        return quiet(planned_sum, a, dim, keepdim)


def sum(input, dim=_NO_DIM, keepdim=False, *, dtype=None, out=None):
    if dtype is None and out is None and (keepdim is False or keepdim is True and
                                          dim is not _NO_DIM):
        r = _planned(input, dim, keepdim)
        if r is not None:
            return _new(r, input.be)
    if dim is _NO_DIM and keepdim is False and dtype is None and out is None:
        fn, dims = _sum0, None      # x.sum(): nothing to check (_sum0 refuses a non-Tensor)
    else:
        if dim is _NO_DIM:
            if keepdim or out is not None:
                _without_dim("sum", "tuple of ints", keepdim, dtype, out)
            dim = None
        dims = _dims(input, dim, "sum")
        dtype = _out_dtype(dtype, out)
        fn = _sum0 if dim is None else _sum1
        keepdim = _keepdim(keepdim, "sum")
    try:
        return _finish(fn(input, dims, keepdim, _np_dtype(dtype)), out, "sum")
    except NotImplementedError:
        if type(input.arr) is SparseCOO:     # (a sum over dims: torch's sparse kernel)
            from ..sparse._math import sum_dim
            return _finish(sum_dim(input, dims, keepdim, dtype), out, "sum")
        if type(input.arr) in (SparseCSR, SparseCompressed):
            from ..sparse._csr import sum_dims
            return _finish(sum_dims(input, dims, keepdim, _np_dtype(dtype)), out, "sum")
        return _finish(_nested_reduction("sum", input, dims, keepdim, dtype), out, "sum")


@_op("nansum", saves="in")
def _nansum(xp, x, dims, keepdim, dtype):
    if x.dtype.kind == "c":
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if dtype is not None and dtype.kind == "c" and x.dtype.kind not in "biu":
        raise not_implemented("nansum_cpu", dtype)      # integers cannot hold a NaN: a sum
    x = _reduction_input(x, dtype)
    z = xp.where(x != x, 0, _acc(x)) if x.dtype.kind not in "iu" else x
    # torch's nansum is its sum kernel (cascade_sum) with the NaNs read as +0: its order
    r = _sum_arrays(xp, z, dims, keepdim) if z.dtype.char in "fd" else \
        _arr(xp, ureduce("add", z, dims, keepdim))
    return (r if r.dtype == x.dtype else r.astype(x.dtype)), (x, dims, keepdim)


@_nansum.vjp
def _(xp, g, x, dims, keepdim):
    return (xp.where(x != x, 0, _expand(xp, g, x.shape, dims, keepdim)),)


_nansum_fn = _make_unary(_nansum)


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dims = _dims(input, dim, "nansum")
    if out is not None:
        dtype = _out_dtype(dtype, out, "nansum")
        if out.arr.dtype.kind in "biu" and input.arr.dtype.kind not in "biu":
            raise not_implemented("nansum_cpu", out.arr.dtype)    # (torch's float-only kernel)
    return _finish(_nansum_fn(input, dims, _keepdim(keepdim, "nansum"), _np_dtype(dtype)), out,
                   "nansum")


# sparse arrays: torch's mean has no sparse kernel (the aten overload and backend it names)
_SPARSE_MEAN = {SparseCOO: ("mean.dim", "Sparse"), SparseCSR: ("mean.out", "SparseCsr"),
                SparseCompressed: ("mean.out", "SparseCsr")}


def _mean_fwd(xp, x, dims, keepdim, dtype):
    refused = _SPARSE_MEAN.get(type(x))
    if refused is not None:
        if refused[1] == "SparseCsr" and dims is not None and len(dims) < x.ndim:
            raise RuntimeError(f"resize_reduction: support for output with Sparse{x.kind} "
                               f"layout is not implemented yet")
        raise _sparse_not_implemented(refused[0], xp, refused[1])
    rt = x.dtype if dtype is None else dtype
    if dtype is not None:       # a float16/bfloat16 mean: a float32 sum of x divided, then cast
        x = _reduction_input(x, np.dtype(np.float32) if rt.itemsize == 2 and rt.kind in "fV"
                        else rt)
    if x.dtype.kind in "biu":
        _float_only(x, "mean")
    n = x.size if dims is None and type(x) is np.ndarray else _numel(x.shape, dims)
    if n:
        r = _sum_arrays(xp, x, dims, keepdim)
        if type(r) is np.ndarray:   # (the sum's own new array: divided in place; r / n of a
            np.true_divide(r, n, r)     # 0-d one would be a NumPy scalar, wrapped)
        else:
            r = r / n
    else:
        shape = _reduced_shape(x.shape, dims, keepdim)
        # torch's 0 / 0: a negative NaN, but for a 0-d bfloat16 result
        nan = np.nan if rt.kind == "V" and not shape else -np.nan
        r = xp.full(shape, complex(nan, nan) if x.dtype.kind == "c" else nan, x.dtype)
    return _arr(xp, r).astype(rt, copy=False), (x.shape, dims, keepdim, n)


def _mean_bwd(xp, g, shape, dims, keepdim, n):
    return (_expand(xp, g / n if n else g * np.nan, shape, dims, keepdim),)


_mean0 = _make_unary(_op("mean", saves=None, node="MeanBackward0")(_mean_fwd).vjp(_mean_bwd))
_mean1 = _make_unary(_op("mean_dim", saves=None, node="MeanBackward1")(_mean_fwd).vjp(_mean_bwd))


def _optional_dtype_check(dtype, name):
    """torch's check of a mean's dtype= (before the input's)."""
    if dtype is not None and _to_dtype(dtype).np.kind in "biu":
        raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be either "
                           f"a floating point or complex dtype. Got: {_tname(_to_dtype(dtype).np)}")


def mean(input, dim=_NO_DIM, keepdim=False, *, dtype=None, out=None):
    if dtype is None and out is None and (keepdim is False or keepdim is True and
                                          dim is not _NO_DIM):
        r = _planned(input, dim, keepdim)
        if r is not None:       # (a sum's new array, divided in place: see _mean_fwd)
            np.true_divide(r, input.arr.size // r.size, r)
            return _new(r, input.be)
    if dim is _NO_DIM and keepdim is False and dtype is None and out is None:
        fn, dims = _mean0, None     # x.mean(): the dtype check only (_mean0 refuses a non-Tensor)
        arr = getattr(input, "arr", None)
        if arr is not None and arr.dtype.kind in "biu" and type(arr) is not SparseCOO:
            _float_only(arr, "mean")
    else:
        if dim is _NO_DIM:
            if keepdim:
                _without_dim("mean", "tuple of ints", keepdim, dtype, out, out_ok=True)
            dim = None
        _optional_dtype_check(dtype, "mean")
        if dtype is None and getattr(input, "arr", None) is not None:
            if input.arr.dtype.kind in "biu" and type(input.arr) is not SparseCOO:
                _float_only(input.arr, "mean")      # torch checks the dtype before the dims
        dims = _dims(input, dim, "mean")
        if out is not None and (dtype is not None or out.dtype.is_floating_point or
                                out.dtype.is_complex):
            dtype = _out_dtype(dtype, out)      # (an integral out: the division into it refused)
        fn = _mean0 if dim is None else _mean1
        keepdim = _keepdim(keepdim, "mean")
    try:
        return _finish(fn(input, dims, keepdim, _np_dtype(dtype)), out, "mean")
    except NotImplementedError:
        return _finish(_nested_reduction("mean", input, dims, keepdim, dtype), out, "mean")


def _nested_reduction(name, input, dims, keepdim, dtype):
    """In an except block: a jagged tensor's reduction (sum, mean, prod, ...) with a dense
    result (all of it, or over the ragged dim), else the exception being handled, re-raised."""
    if input.is_nested:
        from ..nested._ops import dense_reduction
        r = dense_reduction(name, input, dims, keepdim, dtype)
        if r is not None:
            return r
    raise


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    from .elementwise import isnan, logical_not
    try:
        kind = input.arr.dtype.kind
    except AttributeError:
        raise _not_tensor("nanmean", input) from None
    if kind in "biu":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_tname(input.arr.dtype)}")
    _optional_dtype_check(dtype, "nanmean")
    _keepdim(keepdim, "nanmean")
    count = sum(logical_not(isnan(input)), dim, keepdim)
    if out is not None:         # torch's nansum into out (its dtype, its checks), divided
        return nansum(input, dim, keepdim, dtype=dtype, out=out).div_(count)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def _prod_fwd(xp, x, dims, keepdim, dtype):
    x = _reduction_input(x, dtype)
    if type(x) is np.ndarray and x.dtype.char in "eE" and x.size:
        r = _low_prod(x, dims, keepdim)
        return r, (x, dims, keepdim, r)
    r = _arr(xp, ureduce("multiply", _acc(x), dims, keepdim))
    r = r if r.dtype == x.dtype else r.astype(x.dtype)
    return r, (x, dims, keepdim, r)


def _low_prod(x, dims, keepdim):
    """A float16/bfloat16 product as torch's CPU kernel computes it: in float32 with every
    multiply rounded to the dtype (torch's product does not accumulate in float32 as its sum
    does). A product of all elements (in memory order) or along a dim of stride 1 runs torch's
    inner reduction: blocks of 64 into four 16-lane accumulators (AVX2 vectors), combined as
    (a0*a1)*(a2*a3), the lanes multiplied in order, then the elements past the last block one
    by one; along another dim each output multiplies its elements in order. (Past 32768
    elements torch splits the work between threads: the order there is not followed.)"""
    dt = x.dtype
    rnd = lambda v: v.astype(dt).astype(_F32)      # noqa: E731
    if dims is None:
        a = x.ravel(order="K")[None].astype(_F32)
    else:
        a = np.moveaxis(x, dims[0], -1).astype(_F32)
        a = a.reshape(-1, a.shape[-1])
    out = np.ones(a.shape[0], _F32)
    start = 0
    if dims is None or x.strides[dims[0]] == x.itemsize:
        count = a.shape[1] // 64
        start = count * 64
        if count:
            acc = a[:, :64].reshape(-1, 4, 16)
            for i in range(1, count):
                acc = rnd(acc * a[:, i * 64:(i + 1) * 64].reshape(-1, 4, 16))
            lanes = rnd(rnd(acc[:, 0] * acc[:, 1]) * rnd(acc[:, 2] * acc[:, 3]))
            b = lanes[:, 0]
            for j in range(1, 16):
                b = rnd(b * lanes[:, j])
            out = b
    for i in range(start, a.shape[1]):
        out = rnd(out * a[:, i])
    shape = () if dims is None else \
        tuple(1 if keepdim and d == dims[0] else n for d, n in enumerate(x.shape)
              if keepdim or d != dims[0])
    return out.astype(dt).reshape(shape)


@_holo
def _prod_bwd(xp, g, x, dims, keepdim, r=None):
    axes = tuple(range(x.ndim)) if dims is None else dims
    if not axes or not x.size:
        return (_expand(xp, g, x.shape, dims, keepdim) * 1,)
    # torch's prod_backward: grad * (result / input) where the input has no zero at all
    if r is not None and getattr(xp, "__name__", "") in ("numpy", "cupy") and \
            x.dtype.kind != "b" and not bool((x == 0).any()):
        with np.errstate(all="ignore"):
            return (_expand(xp, g, x.shape, dims, keepdim) *
                    (_expand(xp, r, x.shape, dims, keepdim) / x),)
    # else its prod_safe_zeros_backward: the product of all the other elements
    moved = xp.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
    left = xp.concatenate([ones, flat[..., :-1]], -1)
    right = xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], -1)
    if type(flat) is np.ndarray:    # (torch's cumprods: in double for float32, _scan)
        left, right = (_scan(xp, "cumprod", a, -1).astype(flat.dtype, copy=False)
                       for a in (left, right))
    else:
        left, right = left.cumprod(-1), right.cumprod(-1)     # (methods: see _scan)
    right = xp.flip(right, -1)
    others = (left * right).reshape(moved.shape)
    others = xp.moveaxis(others, tuple(range(-len(axes), 0)), axes)
    return (_expand(xp, g, x.shape, dims, keepdim) * others,)


_PROD_OPS = [_op(name, node=node)(_prod_fwd).vjp(_prod_bwd)
             for name, node in (("prod", "ProdBackward0"), ("prod_dim", "ProdBackward1"))]
for _o in _PROD_OPS:
    _o.tracks_out = True        # torch saves the result: writing it raises
_prod0, _prod1 = (_make_unary(o) for o in _PROD_OPS)


def prod(input, dim=_NO_DIM, keepdim=False, *, dtype=None, out=None):
    dt = _np_dtype(_out_dtype(dtype, out))
    if dim is _NO_DIM:
        if keepdim or out is not None:
            _without_dim("prod", "int", keepdim, dtype, out)
        try:
            return _prod0(input, None, False, dt)
        except NotImplementedError:
            return _nested_reduction("prod", input, None, False, dtype)
    nd = tensor_ndim("prod", input)
    d = _wrap_dim(_int_dim("prod", dim), nd)
    dims = (d,) if nd else None
    try:
        return _finish(_prod1(input, dims, _keepdim(keepdim, "prod"), dt), out, "prod")
    except NotImplementedError:
        return _finish(_nested_reduction("prod", input, dims, keepdim, dtype), out, "prod")


# ---- max, min, amax, amin, argmax, argmin, aminmax --------------------------------------------
def _no_complex(x, name, exc=NotImplementedError):
    if x.dtype.kind == "c":
        raise exc(f"{name}(): does not support complex input")


def _all_ones_nan(xp, x, y):
    """torch's CPU max()/min()/aminmax() over all of two or more float16/32/64 elements: a NaN
    result is the all-ones NaN its vectorised maximum makes (sign bit set), whatever NaN the
    input held."""
    if xp is np and x.size > 1 and x.dtype.kind == "f" and y.size == 1 and y != y:
        return np.full(y.shape, -1, f"i{x.itemsize}").view(x.dtype)
    return y


def _extreme(name, pick, kernel):
    whole = kernel in ("max_all", "min_all")
    reduce = getattr(np, pick).reduce

    def fwd(xp, x, dims, keepdim):
        if type(x) is np.ndarray and x.dtype in _FLOAT_DTYPES and x.size:
            # (the common case first: a non-empty float32/float64 NumPy array)
            y = reduce(x, dims, None, None, keepdim)
            if type(y) is not np.ndarray:        # (a NumPy scalar: the whole reduction)
                y = np.asarray(y)
                if whole and y != y and x.size > 1:
                    y = _all_ones_nan(xp, x, y)
            elif not y.flags.c_contiguous:
                y = y.copy()
            return y, (x, y, dims, keepdim)
        _empty_dim_check(x, dims, name)
        if x.dtype.kind == "c":       # torch's kernels have no complex version
            raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(x.dtype)}\'')
        y = _arr(xp, ureduce(pick, x, dims, keepdim))
        if whole:
            y = _all_ones_nan(xp, x, y)
        return y, (x, y, dims, keepdim)
    fwd.__name__ = name
    return fwd


def _extreme_grad(xp, g, x, y, dims, keepdim):
    # ties share the gradient evenly (torch's full max()/min(): a masked_fill of zeros)
    yb = _expand(xp, y, x.shape, dims, keepdim)
    hit = (x == yb) | ((x != x) & (yb != yb))
    count = hit.sum(axis=dims, keepdims=True)
    return (xp.where(hit, _expand(xp, g, x.shape, dims, keepdim) / count, 0),)


def _amax_grad(xp, g, x, y, dims, keepdim):
    """torch's amax/amin backward: g / count * (x == result), so a negative g leaves -0.0
    and a NaN result (equal to nothing) NaN."""
    hit = x == _expand(xp, y, x.shape, dims, keepdim)
    count = hit.sum(axis=dims, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (_expand(xp, g, x.shape, dims, keepdim) / count * hit,)


_amax = _make_unary(_op("amax", saves="both")(
    _extreme("amax", "maximum", "max_values_cpu")).vjp(_amax_grad))
_amin = _make_unary(_op("amin", saves="both")(
    _extreme("amin", "minimum", "min_values_cpu")).vjp(_amax_grad))
_max_all = _make_unary(_op("max_all", saves="both", node="MaxBackward1")(
    _extreme("max", "maximum", "max_all")).vjp(_extreme_grad))
_min_all = _make_unary(_op("min_all", saves="both", node="MinBackward1")(
    _extreme("min", "minimum", "min_all")).vjp(_extreme_grad))


_AMAX_OUT = ("Expected the dtype for input and out to match, but got {result} for input's dtype "
             "and {out} for out's dtype.")


def _quick_extreme(reduce, input, dim, keepdim):
    """amax/amin over one int dim of a non-empty _plain tensor: the Tensor, else None."""
    a = _plain(input)
    if a is None or not a.size or not a.ndim or type(dim) is not int or type(keepdim) is not bool:
        return None
    y = reduce(a, _wrap_dim(dim, a.ndim), None, None, keepdim)
    return _new(y if y.flags.c_contiguous else y.copy(), input.be)


def amax(input, dim=(), keepdim=False, *, out=None):
    if out is None:
        t = _quick_extreme(np.maximum.reduce, input, dim, keepdim)
        if t is not None:
            return t
    dims = _dims(input, dim, "amax")
    _empty_dim_as_given(input, dim, "amax")
    try:
        return _finish_exact(_amax(input, dims, _keepdim(keepdim, "amax")), out, _AMAX_OUT)
    except NotImplementedError:
        return _finish_exact(_nested_reduction("amax", input, dims, keepdim, None), out,
                             _AMAX_OUT)


def amin(input, dim=(), keepdim=False, *, out=None):
    if out is None:
        t = _quick_extreme(np.minimum.reduce, input, dim, keepdim)
        if t is not None:
            return t
    dims = _dims(input, dim, "amin")
    _empty_dim_as_given(input, dim, "amin")
    try:
        return _finish_exact(_amin(input, dims, _keepdim(keepdim, "amin")), out, _AMAX_OUT)
    except NotImplementedError:
        return _finish_exact(_nested_reduction("amin", input, dims, keepdim, None), out,
                             _AMAX_OUT)


def _empty_dim_as_given(input, dim, name):
    """amax/amin over an empty dim name it as the caller gave it (-1 stays -1): the first
    empty one in the given order."""
    try:
        if input.arr.size or not input.arr.ndim or dim is None:
            return
    except AttributeError:      # a nested tensor's array (no flat size; none empty here)
        return
    for d in ((dim,) if isinstance(dim, int) else dim):
        if input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _first_index(xp, x, axis, f):
    """argmax/argmin along `axis`, where NaN wins (the first NaN) as in torch (as NumPy's
    own argmax/argmin of floating arrays do: their NaN check is for the other array types)."""
    i = f(x, axis=axis)
    k = x.dtype.kind
    if k == "c" or k == "V" or k == "f" and type(x) is not np.ndarray:
        nan = x != x
        if nan.any():
            i = xp.where(nan.any(axis=axis), nan.argmax(axis=axis), i)
    return i


_FIRSTS = {}        # (shape, dim) -> _at_index's (flat index of each result's first element,
                    # dim's stride in elements)


def _at_index(x, i, dim):
    """take_along_axis(x, i, dim) for a C-contiguous NumPy x and i of one index along dim (an
    arange plus i times dim's stride, made once per shape: take_along_axis builds its index
    grid in Python on every call)."""
    key = (x.shape, dim)
    plan = _FIRSTS.get(key)
    if plan is None:
        if len(_FIRSTS) >= 256:
            _FIRSTS.clear()
        step = 1
        for n in x.shape[dim + 1:]:
            step *= n
        plan = _FIRSTS[key] = (np.arange(x.size).reshape(x.shape)[
            (slice(None),) * dim + (slice(0, 1),)], step)
    first, step = plan
    return x.reshape(-1)[first + i if step == 1 else first + i * step]


def _select_dim(name, f):
    method = f.__name__         # (ndarray's argmax/argmin: no Python wrapper, keepdims)

    def fwd(xp, x, dim, keepdim):
        _empty_dim_check(x, (dim,) if x.ndim else None, name)
        _no_complex(x, name, RuntimeError)
        if not x.ndim:
            return (x.copy(), xp.zeros((), np.int64)), (x.shape, xp.zeros((), np.int64), dim,
                                                        keepdim)
        if type(x) is np.ndarray and x.dtype in _FLOAT_DTYPES and x.flags.c_contiguous:
            # NumPy's float32/float64 argmax/argmin pick the first NaN as torch's (see
            # _first_index for the others)
            i = getattr(x, method)(axis=dim, keepdims=True)
            v = _at_index(x, i, dim)
            if not keepdim:
                v, i = v.squeeze(dim), i.squeeze(dim)
            return (v, i.copy()), (x.shape, i, dim, keepdim)    # (the indices' own array: the
            # backward's is not the user's to write)
        i = xp.expand_dims(_first_index(xp, x, dim, f), dim)
        v = xp.take_along_axis(x, i, dim)
        if not keepdim:
            v, i = v.squeeze(dim), i.squeeze(dim)
        return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)
    fwd.__name__ = name
    return fwd


def _select_grad(xp, gs, shape, i, dim, keepdim):
    """All the gradient to the selected index (value-selecting reductions)."""
    g = gs[0]
    if not len(shape):
        return (g,)
    if not keepdim:
        g, i = xp.expand_dims(g, dim), xp.expand_dims(i, dim)
    out = xp.zeros(shape, g.dtype)
    xp.put_along_axis(out, i, g, dim)
    return (out,)


_max_dim = _op("max_dim", saves=None, n_out=2, node="MaxBackward0")(
    _select_dim("max", np.argmax)).vjp(_select_grad)
_min_dim = _op("min_dim", saves=None, n_out=2, node="MinBackward0")(
    _select_dim("min", np.argmin)).vjp(_select_grad)
MAX, MIN = _return_type("max"), _return_type("min")


def _max_min(name, input, args, dim, keepdim, other, out, full, dim_op, cls, elementwise):
    if not isinstance(input, Tensor):
        raise _not_tensor(name, input)
    if args:        # positional (dim, keepdim), or (other,)
        if len(args) > 2:
            raise TypeError(f"{name}() takes from 1 to 3 positional arguments but "
                            f"{len(args) + 1} were given")
        for arg, given in (("dim", dim is not _NO_DIM), ("keepdim", keepdim is not _NO_KEEPDIM)
                           )[:len(args)]:
            if given:
                raise TypeError(f"{name}() got multiple values for argument '{arg}'")
        dim, keepdim = args[0], args[1] if len(args) == 2 else keepdim
        if isinstance(dim, Tensor) and keepdim is _NO_KEEPDIM:
            # torch's parser tries (Tensor other) first: a 0-d integer tensor is `other` too
            other, dim = dim, _NO_DIM
    if isinstance(dim, Tensor) and (dim.ndim or dim.arr.dtype.kind not in "iu"):
        other, dim = dim, _NO_DIM
    keepdim = False if keepdim is _NO_KEEPDIM else _keepdim(keepdim, name)
    if other is not None:
        return elementwise(input, other, out=out)
    if dim is _NO_DIM:
        try:
            return _finish(full(input, None, False), out, name)
        except NotImplementedError:
            return _finish(_nested_reduction(name, input, None, False, None), out, name)
    d = _wrap_dim(_int_dim(name, dim), input.arr.ndim)
    if out is None and type(input.arr) is np.ndarray and not (
            input._rg and _grad.enabled or _amp.enabled or _fw.level is not None):
        # nothing to record: the kernel and two new tensors (apply's general path: a third of
        # a small max(dim)'s time)
        be = input.be
        fwd = dim_op.impl[be.idx][0]
        try:
            (v, i), _ = fwd(be.xp, input.arr, d, keepdim)
        except RuntimeWarning:
            (v, i), _ = quiet(fwd, be.xp, input.arr, d, keepdim)
        return cls(_new(v, be), _new(i, be))
    try:
        vi = _apply(dim_op, (input,), (d, keepdim))
    except NotImplementedError:
        vi = _nested_reduction(name, input, (d,), keepdim, None)
    return _finish_tuple(vi, out, name, cls)


def max(input, *args, dim=_NO_DIM, keepdim=_NO_KEEPDIM, other=None, out=None):
    return _max_min("max", input, args, dim, keepdim, other, out, _max_all, _max_dim, MAX,
                    maximum)


def min(input, *args, dim=_NO_DIM, keepdim=_NO_KEEPDIM, other=None, out=None):
    return _max_min("min", input, args, dim, keepdim, other, out, _min_all, _min_dim, MIN,
                    minimum)


def _arg(name, f):
    def fn(input, dim=None, keepdim=False, *, out=None):
        try:
            x, xp = input.arr, input.be.xp
        except AttributeError:
            raise _not_tensor(name, input) from None
        if type(x) is np.ndarray and type(dim) is int and keepdim is False and out is None \
                and x.dtype in _FLOAT_DTYPES and x.ndim and -x.ndim <= dim < x.ndim and \
                x.shape[dim]:
            # the common call (NumPy's float argmax/argmin pick the first NaN, as torch)
            return _new(getattr(x, name)(dim), input.be)
        _keepdim(keepdim, name)
        if x.dtype.kind == "b":
            raise RuntimeError(f"{name}(): does not support bool input")
        _no_complex(x, name, RuntimeError)
        refuse_few(name, x.dtype)
        if isinstance(out, Tensor) and out.arr.dtype != np.int64:
            raise RuntimeError(f"Expected out tensor to have dtype long int, but got "
                               f"{cname(out.arr.dtype)} instead")
        try:
            if dim is None:
                if x.size == 0:
                    raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                     "input.numel() == 0.")
                r = _first_index(xp, x.reshape(-1), 0, f)
                if keepdim:
                    r = xp.reshape(r, (1,) * x.ndim)
            else:
                d = _wrap_dim(dim, x.ndim)
                if x.ndim and x.shape[d] == 0:
                    raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero "
                                     "size.")
                r = _first_index(xp, x, d, f) if x.ndim else xp.zeros((), np.int64)
                if keepdim and x.ndim:
                    r = xp.expand_dims(r, d)
        except (AttributeError, ValueError, RuntimeError):  # a nested tensor (no flat size,
            # no NumPy axes, irregular dims)
            if not input.is_nested:
                raise
            from ..nested._ops import arg_reduction
            return _finish(arg_reduction(name, input, dim, keepdim), out, name)
        return _finish(_new(xp.asarray(r, dtype=np.int64), input.be), out, name)
    fn.__name__ = fn.__qualname__ = name
    return fn


argmax = _arg("argmax", np.argmax)
argmin = _arg("argmin", np.argmin)
AMINMAX = _return_type("aminmax", ("min", "max"))


@_op("aminmax", saves="both", n_out=2)
def _aminmax(xp, x, dims, keepdim, whole):
    lo = _arr(xp, ureduce("minimum", x, dims, keepdim))
    hi = _arr(xp, ureduce("maximum", x, dims, keepdim))
    if whole:
        lo, hi = _all_ones_nan(xp, x, lo), _all_ones_nan(xp, x, hi)
    return (lo, hi), (x, lo, hi, dims, keepdim)


@_aminmax.vjp
def _(xp, g, x, lo, hi, dims, keepdim):
    """amin's rule for the minimum's gradient plus amax's for the maximum's, each only where
    that output received a gradient, as torch's: the engine hands None for the other (a
    materialised +0.0 turned the other term's -0.0 into +0.0)."""
    terms = [_amax_grad(xp, gi, x, y, dims, keepdim)[0]
             for gi, y in ((g[0], lo), (g[1], hi)) if gi is not None]
    return (terms[0] + terms[1] if len(terms) == 2 else terms[0],)


_aminmax.node_cls.materialize_grads = False


def aminmax(input, *, dim=None, keepdim=False, out=None):
    nd = tensor_ndim("aminmax", input)
    if dim is not None:
        _wrap_dim(_int_dim("aminmax", dim), nd)
    if input.arr.size == 0 and dim is None:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if dim is not None and nd and input.arr.shape[_wrap_dim(dim, nd)] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {_wrap_dim(dim, nd)} to have non-zero "
                         "size.")
    if input.arr.dtype.kind == "c":
        raise NotImplementedError(f'"aminmax_cpu" not implemented for '
                                  f"'{_tname(input.arr.dtype)}'")
    dims = _dims(input, () if dim is None else dim, "aminmax")
    return _finish_tuple(_apply(_aminmax, (input,), (dims, _keepdim(keepdim, "aminmax"),
                                                     dim is None)), out,
                         "aminmax", AMINMAX)


# ---- var, std, logsumexp, norm ----------------------------------------------------------------
def _var_fwd(xp, x, dims, correction, keepdim, take_sqrt, steps=None):
    if x.dtype.kind in "biu":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    n = _numel(x.shape, dims)
    div = builtins.max(n - correction, 0)
    if steps is None and div and 1 < n <= 64 and x.size != n and x.dtype == _F32 and \
            type(x) is np.ndarray and dims == (x.ndim - 1,):
        # (the common case, float32 rows of up to 64, straight to _welford's shortcut)
        with np.errstate(all="ignore"):
            y = _welford_checked(x, n, _F32, div, take_sqrt, False)[1]
        if keepdim:
            y = y.reshape(x.shape[:-1] + (1,))
        return y, (x, y, dims, keepdim, div)
    if not n:       # torch fills an empty reduction with NaN (positive, where 0 / 0 is negative)
        y = xp.full(_reduced_shape(x.shape, dims, keepdim), np.nan, x.real.dtype)
        return y, (x, y, dims, keepdim, div)
    with np.errstate(all="ignore"):     # (_welford_checked's bounds included)
        if x.dtype.kind == "c":     # torch: the parts' variances, added, then the root
            y = _var_real(xp, x.real, dims, keepdim, div, False) + \
                _var_real(xp, x.imag, dims, keepdim, div, False)
            if take_sqrt:
                y = xp.sqrt(y)
        else:
            y = _var_real(xp, x, dims, keepdim, div, take_sqrt, steps)
    y = _arr(xp, y)     # (a full reduction's root is a NumPy scalar)
    return y, (x, y, dims, keepdim, div)


def _welford(xp, x, dims, final=None):
    """torch's Welford pass in double over the reduced elements, step by step: (mean, m2) per
    result, or None past 64 elements a result (too many Python steps; see _var_real).
    `final`: (div, take_sqrt, want_mean) where the caller only rounds the results to x's dtype
    (m2 / div, its root where take_sqrt; the mean where want_mean): NumPy's float32 and 2-byte
    inputs then take _welford_checked's shortcut, whose _Rounded results are those."""
    n = _numel(x.shape, dims)
    if n > 64:
        return None
    rows = _reduced_last(xp, x, dims)
    if xp is np:
        if final is not None and n > 1 and x.dtype.itemsize < 8 and final[0]:
            return _welford_checked(rows, n, x.dtype, *final)
        return _welford_np(rows, n)
    mean = xp.zeros(rows.shape[:-1], np.float64)
    m2 = xp.zeros(rows.shape[:-1], np.float64)
    for k in range(n):
        v = rows[..., k].astype(np.float64)
        delta = v - mean
        mean += delta / (k + 1)
        m2 += delta * (v - mean)
    return mean, m2


_STEP_DIVISORS = [np.float64(k + 1) for k in range(64)]     # _welford_np's k + 1 (n <= 64)


def _welford_np(rows, n):
    """_welford's steps on a NumPy (..., n) array: the running means first (three passes a
    step), then every m2 term delta * (v - new mean) at once, added in order onto +0 (m2 +=
    term, step by step, as before)."""
    lead = rows.shape[:-1]
    if rows.size <= 8 * n:      # a few results: Python's floats (doubles) step faster
        return _welford_py(rows.reshape(-1, n), lead)
    v = rows.reshape(-1, n).T.astype(np.float64, order="C")     # (n, results): a step a row
    means = np.zeros((n + 1,) + v.shape[1:], np.float64)        # the running means, in place
    step = np.empty(v.shape[1:], np.float64)
    sub, div, add = np.subtract, np.true_divide, np.add
    # (the calls' overhead is the cost here: the rows' views made at once by list(), the
    # outputs positional, the divisors made once)
    ms = list(means)
    for vk, m0, m1, d in zip(v, ms, ms[1:], _STEP_DIVISORS):
        sub(vk, m0, step)
        div(step, d, step)
        add(m0, step, m1)
    delta = v - means[:-1]
    v -= means[1:]
    v *= delta
    v[0] += 0.0
    return means[n].reshape(lead), _seq(v).reshape(lead)


def _welford_py(rows, lead):
    """_welford_np's steps (the same roundings) on Python floats, a result at a time (up to 8
    results: 64 steps of a result take a sixth of the time of 64 steps of NumPy calls)."""
    means, m2s = [], []
    for row in rows.astype(np.float64).tolist():
        mean = m2 = 0.0
        for k, v in enumerate(row, 1):
            delta = v - mean
            mean += delta / k
            m2 += delta * (v - mean)
        means.append(mean)
        m2s.append(m2)
    return np.array(means).reshape(lead), np.array(m2s).reshape(lead)


_U = 2.0 ** -53         # double's unit roundoff
_PLUS_MINUS = np.array([[-1.0], [1.0]])


def _round_as(r, dtype):
    """What _rounded makes of the NumPy double r, as unsigned integers of dtype's bits."""
    if dtype.itemsize == 2:
        r = r.astype(np.float32)
    return r.astype(dtype).view(_UINTS[dtype.itemsize])


_UINTS = {2: np.dtype(np.uint16), 4: np.dtype(np.uint32)}     # (_round_as: by itemsize)


class _Rounded(tuple):
    """_welford's (mean, result) already rounded to the input's dtype: the mean (None where
    not asked for) and m2 / div (its root where asked for)."""
    __slots__ = ()


def _welford_checked(rows, n, dtype, div, take_sqrt, want_mean):
    """_Rounded results of _welford_np as the caller rounds them (to float32 or a 2-byte dtype,
    whose values double holds exactly), without its 3 n Python steps where that rounding is
    certain:
    the two-pass mean and m2 (vectorised over every result) stand in for Welford's where an
    interval around them holds both Welford's result and the exact one, and its two ends round
    to the same bits (the rounding, m2 / div and its root are monotone). Results of equal
    elements (two-pass m2 +0: their double sum is exact) are exact: mean x0 + 0, m2 +0. The
    others (a bound too wide, non-finite elements) take Welford's steps.

    The bounds, u = 2**-53, for n <= 64 elements within W of each other, at most X in size,
    and S their exact m2: Welford's running mean after k steps is off the exact one by at most
    (0.6 k + 5) u X (each step shrinks the error by (k - 1) / k and adds at most
    4.1 u X / k + 1.02 u X); each m2 term d (x - mean) then by 2 W e + e**2 + 3.01 u (W + e)**2
    with e = (n + 8) u X, and the ordered sum of n terms, each at most (W + e)**2, by
    1.02 n**2 u (W + e)**2. The two-pass mean is off by at most (1.01 n + 1) u X =: d, its m2
    by n d**2 + 1.02 (n + 4) n u (W + d)**2 (the deviations sum to zero: no first-order term).
    With K = (2.1 n + 10) u X (>= e, d) and Z = W + K both differences together are at most
    n Z (2 K + (2.04 n + 7.1) u Z); taken here 1.25 times, plus 4 u m2 for the rounding of the
    interval's ends. W <= sqrt(2 S) (two deviations' squares are in S), and X <= |mean| + W,
    each taken from the two-pass results, 2**-40 larger (their errors are below 100 u). The
    mean's interval: (2.02 n + 9) u X, taken as (3 n + 24) u X."""
    lead = rows.shape[:-1]
    x = rows.reshape(-1, n).astype(np.float64)
    # (callers run it with NumPy's floating-point warnings off: errstate costs here)
    mean = np.add.reduce(x, 1)
    mean /= n
    dev = x - mean[:, None]
    m2 = _einsum("ij,ij->i", dev, dev)
    w = np.sqrt(m2 * (2 + 2.0 ** -39))
    big = np.abs(mean)
    big += w                                        # (X, 2**-40 short: in the factors)
    z = big * ((2.1 * n + 10) * (1 + 2.0 ** -40) * _U)     # (K)
    z += w                                          # (Z)
    err = z * ((2.04 * n + 7.1) * 1.25 * n * _U)
    err += big * ((2.1 * n + 10) * (1 + 2.0 ** -40) * 2.5 * n * _U)
    err *= z
    err += m2 * (4 * _U)
    ends = m2 + err * _PLUS_MINUS
    r = ends / div
    if take_sqrt:
        np.sqrt(r, out=r)
    var = _round_as(r, dtype)
    ok = var[0] == var[1]
    ok &= ends[0] > 0
    var = var[0]
    if want_mean:
        m = _round_as(mean + (big * ((3 * n + 24) * (1 + 2.0 ** -40) * _U)) * _PLUS_MINUS,
                      dtype)
        ok &= m[0] == m[1]
        m = m[0]
    # (all(): count_nonzero's call costs a third of ndarray.all's)
    if np.count_nonzero(ok) != ok.size:
        # (rows of equal elements, m2 +0, never pass the check: their interval's lower end
        # -err is not above 0)
        if (same := m2 == 0).any():
            ok |= same
            var[same] = 0                           # (+0.0's bits)
            if want_mean:
                m[same] = _round_as(mean[same] + 0.0, dtype)
        if np.count_nonzero(ok) != ok.size:
            bad = ~ok
            mean, m2 = _welford_np(x[bad], n)
            r = m2 / div
            var[bad] = _round_as(np.sqrt(r) if take_sqrt else r, dtype)
            if want_mean:
                m[bad] = _round_as(mean, dtype)
    return _Rounded((m.view(dtype).reshape(lead) if want_mean else None,
                     var.view(dtype).reshape(lead)))


def _reduced_last(xp, x, dims):
    """x with the reduced dims moved last and flattened into one, in torch's reduction order."""
    reduced = tuple(range(x.ndim)) if dims is None else dims
    k = x.ndim - len(reduced)
    if reduced == tuple(range(k, x.ndim)):      # (already last: no moveaxis)
        return x.reshape(x.shape[:k] + (_numel(x.shape, dims),))
    rows = x.transpose([i for i in range(x.ndim) if i not in reduced] + list(reduced))
    return rows.reshape(rows.shape[:k] + (_numel(x.shape, dims),))


def _rounded(xp, r, dtype):
    """A double result in the input's dtype; 2-byte floats through float32, as torch computes
    them in float."""
    r = _arr(xp, r)
    if dtype.itemsize == 2:
        r = r.astype(np.float32)
    return r.astype(dtype, copy=False)


def _var_real(xp, x, dims, keepdim, div, take_sqrt, steps=None):
    """torch's kernel reduces over given dims with Welford's steps in double (over all dims, in
    two passes in double). ember takes the same steps up to 64 elements a result and two passes
    beyond: the same result once rounded for inputs narrower than double, within an ulp or two
    for double. `steps`: _welford's result where the caller has it. A float32/float64 var or
    std with one output element is torch's std_var_all_cpu (see _var_all)."""
    if steps is None and xp is np and x.dtype.char in "fd" and x.size and \
            (dims is None or _numel(x.shape, dims) == x.size):
        r = _var_all(x, div, take_sqrt)
        if r is not None:
            return r if dims is None and not keepdim else \
                r.reshape(_reduced_shape(x.shape, dims, keepdim))
    if steps is None and dims is not None:
        steps = _welford(xp, x, dims, (div, take_sqrt, False))
    if type(steps) is _Rounded:
        return steps[1].reshape(_reduced_shape(x.shape, dims, keepdim))
    if steps is not None:
        r = (steps[1] / div).reshape(_reduced_shape(x.shape, dims, keepdim))
    else:
        xa = x if x.dtype == np.float64 else x.astype(np.float64)
        mu = xa.sum(axis=dims, keepdims=True) / builtins.max(_numel(x.shape, dims), 1)
        dev = xa - mu
        r = (dev * dev).sum(axis=dims, keepdims=keepdim) / div
    if take_sqrt:
        r = xp.sqrt(r)
    return _rounded(xp, r, x.dtype)


def _var_all(x, div, take_sqrt):
    """torch's std_var_all_cpu: x's mean in its dtype (the torch-order sum, divided) taken to
    double, the squared deviations summed in double one by one in memory order (above 32768
    elements one run per thread's even chunk, the runs' sums added onto zero), divided by
    `div`, rooted for std, rounded to x's dtype. None where torch's runs would split inside
    rows of a non-dense x (large and strided)."""
    n = x.size
    dense = x.flags.c_contiguous or x.flags.f_contiguous or x.ndim <= 1
    tasks = builtins.min(intra_op_threads(), -(-n // 32768)) if n > 32768 else 1
    if tasks > 1 and not dense:
        return None
    flat = x.reshape(-1) if x.flags.c_contiguous else np.ravel(x, order="K")
    mean = planned_sum(flat, None, False)       # (its plan: mean's sum without its op)
    if mean is None:
        mean = float(_mean_fwd(np, flat, None, False, None)[0])
    else:                                       # (divided in x's dtype, as mean's)
        mean = float(np.true_divide(mean, n, mean))
    d = np.subtract(flat, mean, dtype=np.float64)
    d *= d
    if div and x.dtype == _F32:
        r = _float32_var_certain(d, div, take_sqrt)
        if r is not None:
            return r
    chunk = -(-n // tasks)
    total = 0.0
    for i in range(0, n, chunk):
        total += float(np.add.accumulate(d[i:i + chunk])[-1])
    if div:         # (Python's double division and root round as NumPy's)
        var = total / div
        return np.array(math.sqrt(var) if take_sqrt else var, x.dtype)
    # (_var_fwd, the caller, has NumPy's floating-point warnings off: 0 / 0 for no dof)
    var = np.float64(total) / np.float64(div)
    return np.asarray(np.sqrt(var) if take_sqrt else var).astype(x.dtype)


def _float32_var_certain(d, div, take_sqrt):
    """_var_all's float32 result from NumPy's (pairwise) sum of the squared deviations d where
    it is certain to be that of torch's in-order sum, else None: any order of adding n terms
    >= 0 is within (n - 1) u of their exact sum, so the two sums are within 2.1 n u of each
    other (n <= 2**20); (4 u more for the ends' own rounding) the result, m2 / div and its root
    rounded to float32, is monotone in the sum: equal at both ends of that interval, it is
    the in-order sum's. (The in-order sum is one dependent add per element: 3.5 ns each.)"""
    total = float(np.add.reduce(d))
    n = d.size
    if n > 1 << 20 or not math.isfinite(total):
        return None
    err = total * ((2.1 * n + 4) * _U)
    lo, hi = (total - err) / div, (total + err) / div
    if take_sqrt:
        lo, hi = math.sqrt(lo), math.sqrt(hi)
    r = np.float32(lo)
    return np.array(r) if r == np.float32(hi) else None


def _var_bwd(xp, g, x, y, dims, keepdim, div):
    """torch's var_backward, (2 / dof) * grad * (x - x.mean(dims)), one rounding to the input's
    dtype per step (2-byte floats computed in float32 step by step as torch's kernels)."""
    scale = 2 / div if div else np.inf        # no degrees of freedom: nan, as torch
    g = _expand(xp, g, x.shape, dims, keepdim)
    n = _numel(x.shape, dims)
    if x.dtype.itemsize == 2:
        f32, low = np.float32, x.dtype
        mean = ((_sum_arrays(xp, x.astype(f32), dims, True).astype(low).astype(f32)) /
                f32(n)).astype(low)
        gs = (g.astype(f32) * f32(scale)).astype(low)
        d = (x.astype(f32) - mean.astype(f32)).astype(low)
        return ((gs.astype(f32) * d.astype(f32)).astype(low),)
    mean = _sum_arrays(xp, x, dims, True) / n
    return (g * scale * (x - mean.astype(x.dtype, copy=False)),)


def _std_bwd(xp, g, x, y, dims, keepdim, div):
    # torch: d std = d var / (2 std), and 0 where std == 0
    gv = xp.where(y == 0, 0, g / (2 * xp.where(y == 0, 1, y)))
    return _var_bwd(xp, gv, x, y, dims, keepdim, div)


_var = _make_unary(_op("var", saves="in", node="VarBackward0")(_var_fwd).vjp(_var_bwd))
_std = _make_unary(_op("std", saves="both", node="StdBackward0")(_var_fwd).vjp(_std_bwd))


def _correction(unbiased, correction):
    if correction is not None:
        if unbiased is not None:
            raise TypeError("var(): received an invalid combination of arguments: `unbiased` "
                            "and `correction` cannot both be given")
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_args(name, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):         # var(input, unbiased) legacy positional form
        unbiased, dim = dim, None
    if unbiased is not None and not isinstance(unbiased, bool):
        raise TypeError(f"std(): argument 'unbiased' must be bool, not {type(unbiased).__name__}")
    if getattr(input, "arr", None) is not None and input.arr.dtype.kind in "biu":
        what = name if name.endswith("_mean") else "std and var"
        raise RuntimeError(f"{what} only support floating point and complex dtypes")
    return _dims(input, dim, name), _correction(unbiased, correction), _keepdim(keepdim, name)


def _dof_warn(name, input, dims, corr):
    """torch's TORCH_WARN where the elements reduced into each result (0 for an empty input,
    whatever the dims) do not exceed the correction."""
    n = _numel(input.arr.shape, dims)
    if n - corr <= 0 or not getattr(input.arr, "size", 1):     # (a nested array has no size)
        import warnings
        from .._warnings import outside_stacklevel
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel). "
                      "(Triggered internally at "
                      "/__w/pytorch/pytorch/aten/src/ATen/native/ReduceOps.cpp:1861.)",
                      UserWarning, stacklevel=outside_stacklevel())


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dims, corr, keepdim = _var_args("var", input, dim, unbiased, keepdim, correction)
    _dof_warn("var", input, dims, corr)
    return _finish(_var(input, dims, corr, keepdim, False), out, "var")


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dims, corr, keepdim = _var_args("std", input, dim, unbiased, keepdim, correction)
    _dof_warn("std", input, dims, corr)
    return _finish(_std(input, dims, corr, keepdim, True), out, "std")


def _var_mean_fwd(xp, x, dims, correction, keepdim, take_sqrt):
    """var (or std) and mean as one op of two outputs (torch's VarMeanBackward0 node). torch
    runs its Welford pass here over all dims too, and returns its mean."""
    n = _numel(x.shape, dims)
    with np.errstate(all="ignore"):     # (_welford_checked's bounds)
        steps = _welford(xp, x, dims, (builtins.max(n - correction, 0), take_sqrt, True)) \
            if x.dtype.kind in "fV" and x.size else None   # V: bfloat16
    y, saved = _var_fwd(xp, x, dims, correction, keepdim, take_sqrt, steps)
    if type(steps) is _Rounded:
        m = steps[0].reshape(_reduced_shape(x.shape, dims, keepdim))
    elif steps is not None:
        m = _rounded(xp, steps[0].reshape(_reduced_shape(x.shape, dims, keepdim)), x.dtype)
    elif x.dtype.kind in "fV" and n:
        m = _long_welford_mean(xp, x, dims, keepdim)
    elif n:
        m = _mean_fwd(xp, x, dims, keepdim, None)[0]
    else:       # torch's NaN fill, positive as the variance's
        m = xp.full(y.shape, complex(np.nan, np.nan) if x.dtype.kind == "c" else np.nan, x.dtype)
    return (y, m), saved + (x.shape, n)


def _long_welford_mean(xp, x, dims, keepdim):
    """The mean of torch's Welford pass over more than 64 elements a result: the double mean
    (the plain mean for double inputs), NaN where an infinity comes before the last element
    (Welford's next step subtracts infinities)."""
    if x.dtype == np.float64:
        m = _mean_fwd(xp, x, dims, keepdim, None)[0]
    else:
        m = _arr(xp, ureduce("add", x.astype(np.float64), dims, keepdim)
                 / _numel(x.shape, dims))
    if xp.isinf(m).any():
        early = xp.isinf(_reduced_last(xp, x, dims)[..., :-1]).any(axis=-1)
        m = xp.where(early.reshape(m.shape), np.nan, m)
    return _rounded(xp, m, x.dtype)


def _var_mean_bwd(bwd):
    def vjp(xp, gs, dev, y, dims, keepdim, div, shape, n):
        g = bwd(xp, gs[0], dev, y, dims, keepdim, div)[0]
        return (g + _mean_bwd(xp, gs[1], shape, dims, keepdim, n)[0],)
    return vjp


_var_mean = _op("var_mean", saves="in", n_out=2, node="VarMeanBackward0")(
    _var_mean_fwd).vjp(_var_mean_bwd(_var_bwd))
_std_mean = _op("std_mean", saves="both", n_out=2, node="StdMeanBackward0")(
    _var_mean_fwd).vjp(_var_mean_bwd(_std_bwd))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dims, corr, keepdim = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    _dof_warn("var_mean", input, dims, corr)
    return _apply(_var_mean, (input,), (dims, corr, keepdim, False))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dims, corr, keepdim = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    _dof_warn("std_mean", input, dims, corr)
    return _apply(_std_mean, (input,), (dims, corr, keepdim, True))


@_op("logsumexp", saves="both")
def _logsumexp(xp, x, dims, keepdim):
    if x.dtype.kind in "biu":
        x = x.astype(DEFAULT.float.np)
    if x.dtype.itemsize == 2 and x.dtype.kind in "fV":
        y = _logsumexp_low(xp, x, dims)
        out = y if keepdim else (y.reshape(()) if dims is None else y.squeeze(dims))
        return _arr(xp, out), (x, y)
    xa = _acc(x)
    # torch shifts complex inputs by the largest real part (the result stays a principal log)
    m = (xa.real if xa.dtype.kind == "c" else xa).max(axis=dims, keepdims=True) if x.size \
        else xp.zeros((1,) * x.ndim, xa.real.dtype)
    m = xp.where(xp.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        y = xp.log(xp.exp(xa - m).sum(axis=dims, keepdims=True)) + m
    out = y if keepdim else (y.reshape(()) if dims is None else y.squeeze(dims))
    return _arr(xp, out).astype(x.dtype, copy=False), (x, y.astype(x.dtype, copy=False))


def _logsumexp_low(xp, x, dims):
    """float16/bfloat16 logsumexp (keeping dims) as torch's composite computes it: max, then
    exp(x - max), its sum (in float32), the log and + max, each rounded to the 2-byte dtype."""
    dt = x.dtype
    m = x.max(axis=dims, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, dt)
    m = xp.where(xp.isfinite(m), m, 0).astype(dt)
    e = xp.exp((x - m).astype(_F32)).astype(dt)
    s = _sum_arrays(xp, e.astype(_F32), dims, True).astype(dt)
    with np.errstate(divide="ignore"):
        lg = xp.log(s.astype(_F32)).astype(dt)
    return (lg.astype(_F32) + m.astype(_F32)).astype(dt)


@_logsumexp.vjp
@_holo
def _(xp, g, x, y):
    return (g.reshape(y.shape) * xp.exp(x - y),)


_logsumexp_fn = _make_unary(_logsumexp)


def logsumexp(input, dim=None, keepdim=False, *, out=None):
    if dim is None:
        raise _missing_arg("logsumexp", "dim")
    if isinstance(dim, (tuple, list)) and not dim and input.ndim:
        raise RuntimeError("logsumexp(): Expected reduction dim to be specified")
    dims = _dims(input, dim, "logsumexp")
    keepdim = _keepdim(keepdim, "logsumexp")
    if isinstance(out, Tensor):
        k = out.arr.dtype.kind
        if k not in "fcV":
            raise RuntimeError(f"logsumexp(): Expected floating point type for result tensor, "
                               f"but got: {_tname(out.arr.dtype)}")
        k = input.arr.dtype.kind
        x = input if k in "fcV" else input.to(DEFAULT.float)
        if out.arr.dtype != x.arr.dtype and not input._rg:
            return _logsumexp_into(x, dims, keepdim, out)
    return _finish(_logsumexp_fn(input, dims, keepdim), out, "logsumexp")


def _logsumexp_into(x, dims, keepdim, out):
    """torch's logsumexp_out_impl, for an out= of another dtype: the shifted exponentials (in
    x's dtype) summed into out (in its dtype), then its log plus the shift."""
    from .elementwise import exp
    if not x.arr.size:
        sum(exp(x), dims, keepdim, out=out)
        return out.log_()
    maxes = amax(x.real if x.arr.dtype.kind == "c" else x, dims, True)
    maxes.masked_fill_(maxes.abs() == np.inf, 0)
    shift = maxes if keepdim or dims is None and not x.ndim else \
        maxes.reshape(_reduced_shape(x.shape, dims, False))
    sum(exp(x - maxes), dims, keepdim, out=out)
    return out.log_().add_(shift)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: vector norms (p a number or 'fro'), 'nuc' and matrix norms via linalg."""
    from .. import linalg
    if type(input.arr) is SparseCOO and p != "nuc":
        from ..sparse._math import norm as sparse_norm
        return sparse_norm(input, p, dim, keepdim, out, dtype)
    if isinstance(p, str) and not (p == "fro" and (dim is None or isinstance(dim, int)
                                                   or len(dim) <= 2)):
        # torch.norm hands these straight to linalg.matrix_norm, whose checks come first
        dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else dim
        return _finish_exact(linalg.matrix_norm(input, p, dims, keepdim, dtype=dtype), out,
                             "linalg.matrix_norm expected out tensor dtype {result} but got: "
                             "{out}")
    if input.arr.dtype.kind in "biu":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_tname(input.arr.dtype)}")
    if dtype is not None:           # (vector_norm's checks: its dtype= before the dims)
        from .linalg import _norm_dtype
        _norm_dtype(input, dtype, "linalg.vector_norm")
    _dims(input, dim, "norm")       # torch's dim errors before the linalg ones
    if isinstance(dim, int):
        dim = (dim,)
    try:
        return _finish_exact(linalg.vector_norm(input, 2 if isinstance(p, str) else 2.0
                                                if p is None else p, dim, keepdim, dtype=dtype),
                             out, "resize")
    except NotImplementedError:
        if input.layout is _jagged:     # (torch's jagged kernels have no norm: its aten name)
            raise NotImplementedError("aten.norm.ScalarOpt_dim") from None
        raise


# ---- scans ------------------------------------------------------------------------------------
def _scan_dtype(x, dtype):
    return _reduction_input(x, dtype)


_SCAN_ACC = {"e": np.float32, "f": np.float64, "F": np.complex128}
_SCAN_BLOCK = 1 << 15


def _scan(xp, name, x, dim):
    """cumsum/cumprod along dim as torch's CPU kernels: sequential, in the accumulation type
    (double for float32 and complex64, float for 2-byte floats), rounded once. Large NumPy
    arrays run in blocks of other-axis slices that keep the double temporary in cache (in one
    piece it costs 3x). A NumPy array's own method, not np.cumsum: NumPy's Python wrapper
    would be the module its floating-point warnings come from, past ember's filter (other
    arrays, CuPy's or a quantized one refusing the op in torch's words, take xp's function)."""
    acc = _SCAN_ACC.get(x.dtype.char) or (np.float32 if x.dtype.kind == "V" else None)
    if x.dtype.kind == "V":
        x = x.astype(acc)
    if type(x) is not np.ndarray:
        return getattr(xp, name)(x, axis=dim, dtype=acc).astype(x.dtype, order="C", copy=False)
    if x.ndim < 2 or x.size <= _SCAN_BLOCK or acc is None:   # C order, as torch
        return getattr(x, name)(axis=dim, dtype=acc).astype(x.dtype, order="C", copy=False)
    out = np.empty(x.shape, x.dtype)
    other = 1 if dim == 0 else 0
    step = builtins.max(1, _SCAN_BLOCK * x.shape[other] // x.size)
    for i in range(0, x.shape[other], step):
        part = (slice(None),) * other + (slice(i, i + step),)
        out[part] = getattr(x[part], name)(axis=dim, dtype=acc)
    return out


@_op("cumsum", saves=None)
def _cumsum(xp, x, dim, dtype):
    x = _scan_dtype(x, dtype)
    if not x.ndim:
        return x.copy(), (dim,)
    low = x.dtype if x.dtype.kind == "V" else None
    y = _from_zero(xp, _scan(xp, "cumsum", x, dim))
    return (y if low is None else y.astype(low)), (dim,)


@_cumsum.vjp
def _(xp, g, dim):
    if g.ndim == 0:
        return (g,)
    low = g.dtype if g.dtype.kind == "V" else None
    r = xp.flip(_scan(xp, "cumsum", xp.flip(g, dim), dim), dim)
    return (r if low is None else r.astype(low),)


_cumsum_fn = _make_unary(_cumsum)


def cumsum(input, dim, *, dtype=None, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {})
    nd = tensor_ndim("cumsum", input)
    dtype = _scan_out_dtype("cumsum", _out_dtype(dtype, out))
    return _finish(_cumsum_fn(input, _wrap_dim(dim, nd), dtype), out, "cumsum")


def _scan_out_dtype(name, dtype):
    """dtype= of cumsum/cumprod as a NumPy dtype; torch has no bool kernel for them."""
    d = _np_dtype(dtype)
    if d is not None and d.kind == "b":
        raise NotImplementedError(f'"{name}_out_cpu" not implemented for \'Bool\'')
    return d


def _scan_inplace(method, name):
    """Tensor.cumsum_ / cumprod_: the scan in the tensor's own dtype (none for bool)."""
    def fn(self, dim, *, dtype=None):
        dtype = self.dtype if dtype is None else dtype     # (what the float8/uint refusals see)
        _wrap_dim(dim, self.ndim)                           # (torch checks dim first)
        _scan_out_dtype(name, dtype)
        return method(self, dim, dtype=dtype)
    fn.__name__ = fn.__qualname__ = name + "_"
    return fn


@_op("cumprod", saves="both")
def _cumprod(xp, x, dim, dtype):
    x = _scan_dtype(x, dtype)
    if not x.ndim:
        return x.copy(), (x, x, dim)
    y = _scan(xp, "cumprod", x, dim)
    if x.dtype.kind == "V":
        y = y.astype(x.dtype)
    return y, (x, y, dim)


@_cumprod.vjp
@_holo
def _(xp, g, x, y, dim):
    """torch's cumprod_backward: exact where x has zeros (only the first zero of a slice gets a
    gradient from the later terms, every position after it gets none)."""
    if g.ndim == 0 or g.size == 0:
        return (g,)
    X, Y, G = (xp.moveaxis(a, dim, -1) for a in (x, y, g))
    n = X.shape[-1]
    j = xp.arange(n)
    if traced(xp):      # create_graph: torch's differentiable O(n^2) form (the one below
        # drops terms that are 0 but whose derivative at a zero of x is not)
        i = j[:, None]
        excl = xp.where(i == j, 1, xp.expand_dims(X, -2)).cumprod(-1)     # prod_{l<=k, l!=i}
        grad = xp.where(j >= i, xp.expand_dims(G, -2) * excl, 0).sum(-1)
        return (xp.moveaxis(grad, -1, dim),)
    zero = X == 0
    z = xp.where(zero.any(-1), zero.argmax(-1), n)[..., None]          # first zero per slice
    before = j < z
    R = xp.flip(xp.flip(xp.where(before, G * Y, 0), -1).cumsum(-1), -1)
    grad = xp.where(before, R / xp.where(zero, 1, X), 0)
    # the first zero: (prod before it) * sum_{k >= z} g_k * prod_{z < i <= k} x_i
    P = xp.take_along_axis(Y, xp.maximum(z - 1, 0), -1)
    P = xp.where(z == 0, 1, P)
    Q = xp.where(j > z, X, 1).cumprod(-1)
    at_z = P * xp.where(j >= z, G * Q, 0).sum(-1, keepdims=True)
    grad = xp.where(j == z, at_z, grad)
    return (xp.moveaxis(grad.astype(g.dtype, copy=False), -1, dim),)


_cumprod_fn = _make_unary(_cumprod)


def cumprod(input, dim, *, dtype=None, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {})
    nd = tensor_ndim("cumprod", input)
    dtype = _scan_out_dtype("cumprod", _out_dtype(dtype, out))
    return _finish(_cumprod_fn(input, _wrap_dim(dim, nd), dtype), out)


def _accumulate(xp, ufunc, a):
    """ufunc.accumulate along the last axis (on the host where the backend lacks it)."""
    f = getattr(getattr(xp, ufunc), "accumulate", None)
    if f is not None:
        try:
            return f(a, axis=-1)
        except (NotImplementedError, TypeError):
            pass
    host = getattr(np, ufunc).accumulate(a.get(), axis=-1)
    return xp.asarray(host)


def _cum_extreme(name, ufunc):
    """cummax/cummin: running extreme and its index; ties and NaN take the latest index."""
    def fwd(xp, x, dim):
        if x.dtype.kind == "c" and x.ndim and x.size:     # torch: 0-d and empty pass
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_tname(x.dtype)}\'')
        if not x.ndim:
            i = xp.zeros((), np.int64)
            return (x.copy(), i), (x.shape, i, dim)
        X = xp.moveaxis(x, dim, -1)
        V = _accumulate(xp, ufunc, X)           # maximum/minimum propagate NaN
        j = xp.arange(X.shape[-1])
        hit = (X == V) | (X != X)               # a new extreme, a tie or a NaN
        I = _accumulate(xp, "maximum", xp.where(hit, j, 0))
        if X.size:      # the value at the index, as torch's: the latest of tied zeros keeps its
            V = xp.take_along_axis(X, I, -1)    # sign (float16's maximum kept the first)
        V, I = xp.moveaxis(V, -1, dim), xp.moveaxis(I.astype(np.int64), -1, dim)
        return (V, I), (x.shape, I, dim)
    fwd.__name__ = name
    return fwd


def _scatter_add_along(xp, shape, idx, vals, dim):
    """zeros(shape) with vals added at idx along dim (repeated indices accumulate)."""
    out = xp.zeros(shape, vals.dtype)
    if vals.size:
        o = xp.moveaxis(out, dim, -1)
        flat = o.reshape(-1, o.shape[-1])
        i = xp.moveaxis(idx, dim, -1)
        rows = xp.repeat(xp.arange(flat.shape[0]), i.shape[-1])
        add_at(xp, flat, (rows, i.reshape(-1)), xp.moveaxis(vals, dim, -1).reshape(-1))
        out = xp.moveaxis(flat.reshape(o.shape), -1, dim)
    return out


def _cum_extreme_grad(xp, gs, shape, idx, dim):
    g = gs[0]
    if not len(shape):
        return (g,)
    return (_scatter_add_along(xp, shape, idx, g, dim),)


_cummax = _op("cummax", saves="in", n_out=2)(
    _cum_extreme("cummax", "maximum")).vjp(_cum_extreme_grad)
_cummin = _op("cummin", saves="in", n_out=2)(
    _cum_extreme("cummin", "minimum")).vjp(_cum_extreme_grad)
CUMMAX, CUMMIN = _return_type("cummax"), _return_type("cummin")


def _out_checks(values_msg, indices_msg, indices_first=False):
    """An op's own messages for (values, indices) out= tensors of other dtypes, checked in its
    order: values_msg(expected, got), indices_msg(got)."""
    def check(expected, got):
        for k in ((1, 0) if indices_first else (0, 1)):
            if got[k] != expected[k]:
                raise RuntimeError(values_msg(expected[0], got[0]) if k == 0 else
                                   indices_msg(got[1]))
    return check


_CUM_OUT = _out_checks(lambda e, g: f"expected scalar_type {_tname(e)} but found {_tname(g)}",
                       lambda g: f"expected scalar_type Long but found {_tname(g)}")
_MEDIAN_OUT = _out_checks(
    lambda e, g: f"Expected tensor for 'values' to have the same type as tensor for argument #2 "
    f"'self'; but type torch.{_tname(g)}Tensor does not equal torch.{_tname(e)}Tensor (while "
    "checking arguments for median)",
    lambda g: f"Expected tensor for argument #1 'indices' to have scalar type Long; but got "
    f"torch.{_tname(g)}Tensor instead (while checking arguments for median)", indices_first=True)
_MODE_OUT = _out_checks(
    lambda e, g: f"expected scalar type '{_tname(e)}' but got '{_tname(g)}' for values output",
    lambda g: f"expected scalar type 'Long' but got '{_tname(g)}' for indices output")
_KTH_OUT = _out_checks(lambda e, g: "output values must be of same type as input",
                       lambda g: "output indices must be of scalar type Long")


def _cum_extreme_call(cls, op_, input, dim, out=None):
    nd = tensor_ndim(op_.name, input)
    try:
        d = _wrap_dim(dim, nd)
    except IndexError:
        if input.arr.size:
            raise
        d = 0                       # torch returns empty results before checking dim
    res = cls(*_apply(op_, (input,), (d,)))
    _no_complex_grad(res[0], op_.name)
    return _finish_tuple(res, out, op_.name, cls, dtype_check=_CUM_OUT)


def cummax(input, dim, *, out=None):
    return _cum_extreme_call(CUMMAX, _cummax, input, dim, out)


def cummin(input, dim, *, out=None):
    return _cum_extreme_call(CUMMIN, _cummin, input, dim, out)


@_op("logcumsumexp", saves="both")
def _logcumsumexp(xp, x, dim):
    if x.dtype.kind in "biu":
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{_tname(x.dtype)}'")
    if not x.ndim:
        return x.copy(), (x, x, dim)
    if x.dtype.kind == "c":
        y = _logcumsumexp_complex(xp, x, dim)
        return y, (x, y, dim)
    # torch's CPU scan accumulates float32 in double (acc_type), half and bfloat16 in float32
    acc = x.astype(np.float64) if xp is np and x.dtype == np.float32 else _acc(x)
    y = _lcse_real(xp, acc, dim).astype(x.dtype, copy=False)
    return y, (x, y, dim)


def _lcse_real(xp, xa, dim):
    """log(cumsum(exp(xa))) along dim: torch's scan y_k = logaddexp(y_{k-1}, x_k), exact at
    any range (elsewhere: shifted by the max, which underflows values far below it)."""
    if xp is np:
        return np.logaddexp.accumulate(xa, axis=dim) if xa.size else xa.copy()
    m = xa.max(axis=dim, keepdims=True) if xa.size else xp.zeros((1,) * xa.ndim, xa.dtype)
    m = xp.where(xp.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return xp.log(xp.exp(xa - m).cumsum(axis=dim)) + m


def _logcumsumexp_complex(xp, x, dim):
    """torch's complex scan y_k = logaddexp(y_{k-1}, x_k) = hi + log1p(exp(lo - hi)) (hi, lo
    ordered by real part), step by step: the log's imaginary branch then follows torch's."""
    xs = xp.moveaxis(x, dim, 0)
    out = xp.empty_like(xs)
    acc = xp.full(xs.shape[1:], complex(-np.inf, 0), x.dtype)     # torch's scan starts here
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(xs.shape[0]):
            b = xs[k]
            swap = acc.real < b.real
            hi, lo = xp.where(swap, b, acc), xp.where(swap, acc, b)
            same_inf = ~xp.isfinite(lo.real) & (lo.real == hi.real)
            acc = xp.where(same_inf, xp.where(lo.real < 0, acc, xp.log(xp.exp(acc) + xp.exp(b))),
                           hi + xp.log1p(xp.exp(lo - hi)))
            out[k] = acc
    return xp.moveaxis(out, 0, dim)


@_logcumsumexp.vjp
@_holo
def _(xp, g, x, y, dim):
    if g.ndim == 0:
        return (g,)
    # d/dx_k = sum_{j >= k} g_j exp(x_k - y_j)
    if g.dtype.kind == "c" or xp is not np:     # (also the differentiable rule: double backward)
        w = g * xp.exp(-y)
        return (xp.exp(x) * xp.flip(xp.flip(w, dim).cumsum(axis=dim), dim),)
    # real: in log space, positive and negative parts of g apart (torch's, after TensorFlow's),
    # so that large x (exp(x) = inf, exp(-y) = 0) gives no nan; 2-byte floats in float32
    dt = g.dtype
    if dt.itemsize == 2:
        g, x, y = (a.astype(np.float32) for a in (g, x, y))
    lowest = np.finfo(g.dtype).min
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_abs = np.log(np.abs(g))
        parts = []
        for sign in (g > 0, g < 0):
            a = np.where(sign, log_abs, lowest) - y       # (the scan accumulates in double)
            rev = np.flip(_lcse_real(np, _acc(np.flip(a, dim)), dim), dim).astype(a.dtype)
            parts.append(np.exp(rev + x))
    return ((parts[0] - parts[1]).astype(dt, copy=False),)


_logcumsumexp_fn = _make_unary(_logcumsumexp)


def logcumsumexp(input, dim, *, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {})
    nd = tensor_ndim("logcumsumexp", input)
    return _finish(_logcumsumexp_fn(input, _wrap_dim(dim, nd)), out, "logcumsumexp")


# ---- boolean reductions -------------------------------------------------------------------------
def _bool_reduce(name, f):
    def fn(input, dim=None, keepdim=False, *, out=None):
        try:
            x, xp = input.arr, input.be.xp
        except AttributeError:
            raise _not_tensor(name, input) from None
        _keepdim(keepdim, name)
        try:
            if isinstance(dim, (tuple, list)) and not dim:     # dim=(): no reduction at all
                r = f(x[..., None], axis=-1, keepdims=False)
            else:
                r = _arr(xp, f(x, axis=_dims(input, dim, name), keepdims=keepdim))
        except (AttributeError, TypeError):     # a nested tensor's array
            if not input.is_nested:
                raise
            from ..nested._ops import bool_reduction
            return _finish(bool_reduction(name, input, dim, keepdim), out, name)
        if isinstance(out, Tensor) and out.arr.dtype not in (np.bool_, np.uint8):
            raise RuntimeError(f"{name} only supports bool tensor for result, got: "
                               f"{_tname(out.arr.dtype)}")
        if x.dtype == np.uint8 and (out is None or out.arr.dtype == np.uint8):
            r = r.astype(np.uint8)
        return _finish(_new(r, input.be), out, name)
    fn.__name__ = fn.__qualname__ = name
    return fn


all = _bool_reduce("all", lambda x, axis, keepdims: x.all(axis=axis, keepdims=keepdims))
any = _bool_reduce("any", lambda x, axis, keepdims: x.any(axis=axis, keepdims=keepdims))


def count_nonzero(input, dim=None):
    try:
        x, xp = input.arr, input.be.xp
    except AttributeError:
        raise _not_tensor("count_nonzero", input) from None
    dims = _dims(input, dim, "count_nonzero")
    refuse_few("nonzero", x.dtype)
    return _new(_arr(xp, (x != 0).sum(axis=dims)).astype(np.int64, copy=False), input.be)


def hash_tensor(input, dim=None, keepdim=False, *, mode=0, out=None):
    """XOR of the elements' 64-bit patterns (floats as float64, the rest as int64), as uint64."""
    try:
        x, xp = input.arr, input.be.xp
    except AttributeError:
        raise _not_tensor("hash_tensor", input) from None
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    dims = _dims(input, dim, "hash_tensor")
    if x.dtype.kind == "c" or x.dtype.num in FEW_KERNELS:      # (float8s, uint16/32/64)
        raise not_implemented("xor_sum_cpu", x.dtype)
    if x.size == 0:
        if dims is None:
            raise RuntimeError("hash_tensor: Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        for d in dims:
            if x.shape[d] == 0:
                raise IndexError(f"hash_tensor: Expected reduction dim {d} to have non-zero "
                                 "size.")
    wide = np.float64 if x.dtype.kind in "fV" else np.int64
    bits = x.astype(wide).view(np.uint64)
    r = _new(_arr(xp, xp.bitwise_xor.reduce(bits, axis=dims, keepdims=keepdim)), input.be)
    if out is not None and out.arr.dtype != np.uint64:
        raise RuntimeError(f"Expected result to be of dtype uint64, but got "
                           f"{_tname(out.arr.dtype)}")
    return _finish(r, out)


# ---- order statistics: median, nanmedian, mode, quantile, kthvalue ---------------------------
def _sorted_along(xp, x, dim):
    """Stable argsort along dim with NaN last (NumPy's order), as torch's sort."""
    if x.dtype.kind == "V":         # bfloat16: NumPy's argsort misplaces its NaNs
        x = x.astype(np.float32)
    return xp.argsort(x, axis=dim, kind="stable")


def _kth_smallest(xp, x, r, dim, untied=False):
    """(value, index) of the element a stable sort along `dim` puts at rank r, kept dims, for a
    NumPy array without NaN: NumPy's partition finds the value in linear time; among equal
    values the stable sort keeps positions in order, so the index is the (r - #smaller)-th
    occurrence of the value. None where a full sort is needed (other backends, NaN; with
    `untied`, a value occurring more than once in a row)."""
    if xp is not np or (x.dtype.kind == "f" and xp.isnan(x).any()) or x.dtype.kind not in "fiu":
        return None
    v = xp.take(xp.partition(x, r, axis=dim), [r], axis=dim)
    eq = x == v
    if untied and (eq.sum(axis=dim) > 1).any():
        return None
    nth = r - (x < v).sum(axis=dim, keepdims=True)            # 0-based occurrence of v
    i = xp.argmax(xp.cumsum(eq, axis=dim, dtype=np.int64) > nth, axis=dim)
    return v, xp.expand_dims(i, dim)


def _median_all(xp, x, ignore_nan):
    flat = x.reshape(-1)
    if ignore_nan and x.dtype.kind in "fV":
        flat = flat[flat == flat]
    if flat.size == 0:      # torch's NaN, as a cast to the dtype makes it (integers too)
        with np.errstate(invalid="ignore"):
            return xp.asarray(np.nan).astype(x.dtype)
    if not ignore_nan and x.dtype.kind in "fV" and (flat != flat).any():
        return xp.asarray(np.nan, x.dtype)
    s = xp.sort(flat, kind="stable")
    return xp.asarray(s[(flat.size - 1) // 2])        # a 0-d array, not a NumPy scalar


def _no_bool_complex(x, kernel):
    """torch's median kernels (median_cpu over all elements, median_out over a dim, for
    nanmedian too) have no bool or complex version."""
    if x.dtype.kind in "bc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(x.dtype)}'")


def _median_full_fwd(name, ignore_nan):
    def fwd(xp, x):
        if x.size:      # torch answers an empty input before looking at its dtype
            _no_bool_complex(x, "median_cpu")
        y = _median_all(xp, x, ignore_nan)
        return y, (x, y, None, False)
    return fwd


_median0 = _make_unary(_op("median", saves="both", node="MedianBackward0")(
    _median_full_fwd("median", False)).vjp(_extreme_grad))
_nanmedian0 = _make_unary(_op("nanmedian", saves="both", node="NanmedianBackward0")(
    _median_full_fwd("nanmedian", True)).vjp(_extreme_grad))


def _median_dim_fwd(name, ignore_nan):
    def fwd(xp, x, dim, keepdim):
        if x.ndim:
            _empty_dim_check(x, (dim,), name)
        _no_bool_complex(x, "median_out")
        if not x.ndim:
            i = xp.zeros((), np.int64)
            return (x.copy(), i), (x.shape, i, dim, keepdim)
        n = x.shape[dim]
        fast = _kth_smallest(xp, x, (n - 1) // 2, dim)
        if fast is not None:
            v, i = fast
            if not keepdim:
                v, i = v.squeeze(dim), i.squeeze(dim)
            return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)
        order = _sorted_along(xp, x, dim)
        if x.dtype.kind in "fV":
            nans = (x != x).sum(axis=dim, keepdims=True)
            if ignore_nan:      # rank among the non-NaN values; all-NaN slices give NaN
                rank = xp.maximum(n - nans - 1, 0) // 2
                rank = xp.where(nans == n, 0, rank)
            else:               # any NaN: the result is NaN, at the first NaN's index
                rank = xp.where(nans > 0, n - nans, (n - 1) // 2)
        else:
            rank = xp.full(x.shape[:dim] + (1,) + x.shape[dim + 1:], (n - 1) // 2)
        i = xp.take_along_axis(order, rank, dim)
        if not ignore_nan and x.dtype.kind in "fV":
            first_nan = xp.expand_dims((x != x).argmax(axis=dim), dim)
            i = xp.where(nans > 0, first_nan, i)
        v = xp.take_along_axis(x, i, dim)
        if not keepdim:
            v, i = v.squeeze(dim), i.squeeze(dim)
        return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)
    return fwd


_median1 = _op("median_dim", saves=None, n_out=2, node="MedianBackward1")(
    _median_dim_fwd("median", False)).vjp(_select_grad)
_nanmedian1 = _op("nanmedian_dim", saves=None, n_out=2, node="NanmedianBackward1")(
    _median_dim_fwd("nanmedian", True)).vjp(_select_grad)
MEDIAN, NANMEDIAN = _return_type("median"), _return_type("nanmedian")


def median(input, dim=_NO_DIM, keepdim=False, *, out=None):
    if dim is _NO_DIM:
        if keepdim or out is not None:
            raise _missing_arg("median", "dim")
        return _median0(input)
    nd = tensor_ndim("median", input)
    d = _wrap_dim(_int_dim("median", dim), nd)
    keepdim = _keepdim(keepdim, "median")
    return _finish_tuple(_apply(_median1, (input,), (d, keepdim)), out, "median", MEDIAN,
                         dtype_check=_MEDIAN_OUT)


def nanmedian(input, dim=_NO_DIM, keepdim=False, *, out=None):
    if dim is _NO_DIM:
        if keepdim or out is not None:
            raise _missing_arg("nanmedian", "dim")
        return _nanmedian0(input)
    nd = tensor_ndim("nanmedian", input)
    d = _wrap_dim(_int_dim("nanmedian", dim), nd)
    keepdim = _keepdim(keepdim, "nanmedian")
    return _finish_tuple(_apply(_nanmedian1, (input,), (d, keepdim)), out, "nanmedian",
                         NANMEDIAN, dtype_check=_MEDIAN_OUT)


@_op("mode", saves=None, n_out=2)
def _mode(xp, x, dim, keepdim):
    """The most frequent value (the smallest among equally frequent ones) and the index of its
    last occurrence; on CPU, the occurrence torch's std::sort leaves last (_stl_select)."""
    if not x.ndim:
        i = xp.zeros((), np.int64)
        return (x.copy(), i), (x.shape, i, dim, keepdim)
    _empty_dim_check(x, (dim,), "mode")
    if x.dtype.kind == "c" and x.size:
        raise NotImplementedError(f"\"mode_cpu\" not implemented for '{_tname(x.dtype)}'")
    X = xp.moveaxis(x, dim, -1)
    n = X.shape[-1]
    order = xp.argsort(X, axis=-1, kind="stable")
    S = xp.take_along_axis(X, order, -1)
    if n == 0:
        v = S[..., :0]
        i = order[..., :0]
    else:
        new = xp.ones(S.shape, bool)
        new[..., 1:] = S[..., 1:] != S[..., :-1]          # NaNs never equal: runs of one
        j = xp.arange(n)
        start = _accumulate(xp, "maximum", xp.where(new, j, 0))
        length = j - start + 1                              # position within its run
        # the first run reaching the largest length: ties go to the smallest value
        best_end = xp.argmax(length, axis=-1)[..., None]
        v = xp.take_along_axis(S, best_end, -1)
        # the last occurrence in the input of the value: max original index within the run
        in_run = (j >= xp.take_along_axis(start, best_end, -1)) & (j <= best_end)
        i = xp.where(in_run, order, -1).max(-1, keepdims=True)
        rows = X.reshape(-1, n)
        if xp is np and 0 < rows.size <= _stl_select.BUDGET:     # std::sort moves ties, NaNs
            i = np.array([_stl_select.mode_row(r) for r in rows]).reshape(i.shape)
            v = np.take_along_axis(X, i, -1)
    v, i = xp.moveaxis(v, -1, dim), xp.moveaxis(i, -1, dim)
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)


_mode.vjp(_select_grad)
MODE = _return_type("mode")


def mode(input, dim=-1, keepdim=False, *, out=None):
    nd = tensor_ndim("mode", input)
    keepdim = _keepdim(keepdim, "mode")
    return _finish_tuple(_apply(_mode, (input,), (_wrap_dim(dim, nd), keepdim)), out, "mode",
                         MODE, dtype_check=_MODE_OUT)


@_op("kthvalue", saves=None, n_out=2)
def _kthvalue(xp, x, k, dim, keepdim):
    # torch's order: an empty dim, k's range (a 0-d input is one element), the dtype
    if x.ndim:
        _empty_dim_check(x, (dim,), "kthvalue")
    if not 1 <= k <= (x.shape[dim] if x.ndim else 1):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    if not x.ndim:
        i = xp.zeros((), np.int64)
        return (x.copy(), i), (x.shape, i, dim, keepdim)
    _no_bool_complex(x, "kthvalue_cpu")
    fast = _kth_smallest(xp, x, k - 1, dim, untied=True)
    if fast is None:
        order = _sorted_along(xp, x, dim)
        i = xp.take(order, [k - 1], axis=dim)
        if xp is np:
            i = _kth_ties_as_torch(x, order, i, k, dim)
        v = xp.take_along_axis(x, i, dim)
    else:
        v, i = fast
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return (v, i.astype(np.int64)), (x.shape, i, dim, keepdim)


def _kth_ties_as_torch(x, order, i, k, dim):
    """`i`, the stable sort's k-th, save on the rows where the k-th value is tied: there, the
    index torch's quick select stops at."""
    n = x.shape[dim]
    rows = np.moveaxis(x, dim, -1).reshape(-1, n)
    ranked = np.take_along_axis(rows, np.moveaxis(order, dim, -1).reshape(-1, n), 1)
    kth = ranked[:, k - 1:k]
    same = ranked == kth
    if x.dtype.kind not in "iub":
        same |= np.isnan(ranked) & np.isnan(kth)
    redo = np.flatnonzero(same.sum(1) > 1)
    if not len(redo) or len(redo) * n > _stl_select.BUDGET:
        return i
    moved = np.moveaxis(i, dim, -1)
    out = moved.reshape(-1).copy()
    for r in redo:
        out[r] = _stl_select.kth_row(rows[r], k - 1)
    return np.moveaxis(out.reshape(moved.shape), -1, dim)


_kthvalue.vjp(_select_grad)
KTHVALUE = _return_type("kthvalue")


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    nd = tensor_ndim("kthvalue", input)
    k = int_arg(k, "kthvalue", "k", 1)
    keepdim = _keepdim(keepdim, "kthvalue")
    r = _apply(_kthvalue, (input,), (k, _wrap_dim(dim, nd), keepdim))
    if isinstance(out, (tuple, list)) and out:      # (after the kernel's checks of k)
        check_out_overlap(out[0], (input,), {}, True)
    return _finish_tuple(r, out, "kthvalue", KTHVALUE, dtype_check=_KTH_OUT)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@_op("quantile", saves=None)
def _quantile(xp, x, q, dim, keepdim, interpolation, ignore_nan):
    """x: input moved so the reduced dim is last (and flattened if dim is None)."""
    from .index import _unstable_argsort
    n = x.shape[-1]
    order = _unstable_argsort(xp, x, x.ndim - 1, False)     # torch's sort(): NaN last, ties moved
    S = xp.take_along_axis(x, order, -1)
    nans = (x != x).sum(-1, keepdims=True)
    qa = xp.asarray(q, dtype=x.dtype).reshape((-1,) + (1,) * x.ndim)
    if ignore_nan:
        last = (n - nans - 1).astype(x.dtype)
        fixed = nans == n                                   # all-NaN slices: the first NaN
        ranks = xp.where(fixed, 0, qa * last)
    else:
        last = n - 1
        fixed = nans > 0                                     # any NaN gives NaN
        ranks = xp.where(fixed, n - 1, qa * (n - 1))
    ranks = xp.broadcast_to(ranks, qa.shape[:1] + x.shape[:-1] + (1,))
    if interpolation == "lower":
        lo = hi = xp.floor(ranks)
    elif interpolation == "higher":
        lo = hi = xp.ceil(ranks)
    elif interpolation == "nearest":
        lo = hi = xp.round(ranks)
    else:
        lo, hi = xp.floor(ranks), xp.ceil(ranks)
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    Sb = xp.broadcast_to(S, qa.shape[:1] + S.shape)
    below = xp.take_along_axis(Sb, lo, -1)
    above = xp.take_along_axis(Sb, hi, -1)
    if interpolation in ("linear", "midpoint"):
        w = (ranks - lo) if interpolation == "linear" else xp.full(ranks.shape, 0.5, x.dtype)
        w = w.astype(x.dtype)
        y = xp.where(w < 0.5, below + w * (above - below), above - (above - below) * (1 - w))
    else:
        w = xp.zeros(ranks.shape, x.dtype)
        y = below
    y = y[..., 0]                                            # (nq, *batch)
    # d y / d q where q is a tensor (torch's quantile is composite: its linear weight is
    # q * last - floor(q * last)), 0 where the rank is fixed
    dq = None if isinstance(q, tuple) else xp.where(fixed, 0, (above - below) * last)[..., 0]
    return _arr(xp, y).astype(x.dtype, copy=False), (x.shape, order, lo, hi, w, dq,
                                                     getattr(q, "shape", None))


@_quantile.vjp
def _(xp, g, shape, order, lo, hi, w, dq, qshape):
    # g: (nq, *batch): into the sorted positions (1 - w to below, w to above), then unsort
    gs = g[..., None]
    rows = xp.zeros((g.shape[0],) + tuple(shape), g.dtype).reshape(-1, shape[-1])
    r = xp.arange(rows.shape[0])
    add_at(xp, rows, (r, lo.reshape(-1)), (gs * (1 - w)).reshape(-1))
    add_at(xp, rows, (r, hi.reshape(-1)), (gs * w).reshape(-1))
    gsorted = rows.reshape((g.shape[0],) + tuple(shape)).sum(0)
    out = xp.zeros(shape, g.dtype)
    xp.put_along_axis(out, order, gsorted, -1)
    if qshape is None:
        return out, None
    return out, (g * dq).reshape(g.shape[0], -1).sum(1).reshape(qshape)


_quantile.frees = True      # torch's sort and gather under it save (see Op.frees)


def _quantile_impl(name, input, q, dim, keepdim, interpolation, ignore_nan, out=None):
    """torch's checks in its order (its messages say quantile() for nanquantile too): a number
    q's range, the interpolation, then the input and q tensors, then out's dtype."""
    if not isinstance(input, Tensor):
        raise _not_tensor(name, input)
    _keepdim(keepdim, name)
    tensor_q = isinstance(q, Tensor)
    if not tensor_q and not 0 <= float(q) <= 1:
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {float(q):g}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if input.arr.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if tensor_q and q.arr.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.arr.dtype.kind != "f" or input.arr.dtype == np.float16:
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if tensor_q:
        if q.arr.dtype != input.arr.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        if q.be is not input.be:
            raise RuntimeError("quantile() q tensor must be on the same device as the input "
                               "tensor")
    if isinstance(out, Tensor) and out.arr.dtype != input.arr.dtype:
        raise RuntimeError("quantile() out tensor must be same dtype as the input tensor")
    qv = input.be.to_host(q.arr).reshape(-1) if tensor_q else np.asarray([float(q)])
    scalar_q = not tensor_q or q.arr.ndim == 0
    from .shape import movedim, reshape, unsqueeze
    if dim is None:
        x = reshape(input, -1)
        d = 0
    else:
        d = _wrap_dim(dim, input.ndim)
        x = movedim(input, d, -1) if input.ndim else reshape(input, 1)
    if tensor_q and ((qv < 0) | (qv > 1)).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    # (a q that requires grad is an input: torch's composite quantile differentiates the
    # linear interpolation's weight, q * last - floor(q * last), through it)
    qarg = q if tensor_q and q.requires_grad and interpolation == "linear" else \
        tuple(qv.tolist())
    y = _apply(_quantile, (x, qarg), (d, keepdim, interpolation, ignore_nan))
    if keepdim:
        if dim is None:
            y = reshape(y, (y.shape[0],) + (1,) * input.ndim)
        elif input.ndim:
            y = unsqueeze(y, d + 1)
    if scalar_q:
        y = reshape(y, tuple(y.shape[1:]))
    return y


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _finish(_quantile_impl("quantile", input, q, dim, keepdim, interpolation, False,
                                  out), out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _finish(_quantile_impl("nanquantile", input, q, dim, keepdim, interpolation, True,
                                  out), out)


def _finish(result, out, name=None):
    """`name`: the op's, in torch's messages (an out= requiring grad)."""
    if out is None:
        return result
    from .elementwise import _finish as finish
    return finish(result, out, name)


def _finish_exact(result, out, message):
    """out= of exactly the result's dtype, else torch's `message` ({out}, {result}: dtypes)."""
    if out is None:
        return result
    from ._apply import _finish as finish
    return finish(result, out, None, message)


contiguous_outputs("cummax", "cummin", "median_dim", "nanmedian_dim", "mode", "kthvalue",
                   "max_dim", "min_dim", "var_mean", "std_mean", "sum_dim", "mean_dim",
                   "prod_dim", "nansum", "var", "std", "logsumexp", "logcumsumexp")
