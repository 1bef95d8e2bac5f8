"""Indexing: __getitem__/__setitem__ and the gather/scatter family."""
import numpy as np

from .._tensor import Tensor, _new, bump_version
from ..autograd.grad_mode import STATE as _grad
from ._apply import apply, inplace, make_view
from ._registry import op


def index_add_at(xp, out, idx, g):
    """out[idx] += g, accumulating over repeated indices."""
    if xp is np:
        np.add.at(out, idx, g)
    else:
        import cupyx
        cupyx.scatter_add(out, idx, g)


def _convert_index(idx, x, be):
    """Turn a torch-style index into a NumPy one; report whether it is basic (a view)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out, basic, dim = [], True, 0
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis and not (
        isinstance(i, Tensor) and i.arr.dtype == np.bool_) and not isinstance(i, bool))
    n_real += sum(i.arr.ndim for i in idx if isinstance(i, Tensor) and i.arr.dtype == np.bool_)
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    for i in idx:
        if isinstance(i, Tensor):
            a = i.arr
            if i.be is not be and not (i.be.name == "cpu"):
                raise RuntimeError("indices should be either on cpu or on the same device as the "
                                   "indexed tensor")
            if i.be is not be:
                a = be.xp.asarray(a)
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.dtype == np.uint8:
                a = a.astype(bool)
            _check_bounds(a, x, dim)
            out.append(a)
            basic = False
            dim += a.ndim if a.dtype == np.bool_ else 1
        elif isinstance(i, slice):
            if i.step is not None and _int(i.step) <= 0:
                raise ValueError("step must be greater than zero")
            out.append(slice(_opt(i.start), _opt(i.stop), _opt(i.step)))
            dim += 1
        elif i is None or i is Ellipsis:
            out.append(i)
            if i is Ellipsis:
                dim = x.ndim - (n_real - dim)
        elif isinstance(i, bool):
            out.append(i)
            basic = False
        elif isinstance(i, (int, np.integer)):
            n = x.shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {n}")
            out.append(int(i))
            dim += 1
        elif isinstance(i, (list, tuple, np.ndarray)):
            a = np.asarray(i)
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.dtype == object:
                raise IndexError("only integers, slices, ellipsis, None, and integer or boolean "
                                 "tensors are valid indices")
            _check_bounds(a, x, dim)
            out.append(be.xp.asarray(a) if be.xp is not np else a)
            basic = False
            dim += a.ndim if a.dtype == np.bool_ else 1
        elif hasattr(i, "__index__"):
            out.append(i.__index__())
            dim += 1
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got "
                             f"{type(i).__name__})")
    return tuple(out), basic


def _int(v):
    return v.__index__() if not isinstance(v, int) else v


def _opt(v):
    return None if v is None else _int(v)


def _check_bounds(a, x, dim):
    if a.dtype == np.bool_:
        shp = x.shape[dim:dim + a.ndim]
        if a.shape != shp:
            raise IndexError(f"The shape of the mask {list(a.shape)} at index {dim} does not "
                             f"match the shape of the indexed tensor {list(shp)} at index {dim}")
        return
    if a.size and dim < x.ndim:
        n = x.shape[dim]
        lo, hi = int(a.min()), int(a.max())
        if hi >= n or lo < -n:
            bad = hi if hi >= n else lo
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


@op("getitem", saves=None, node="SliceBackward0")
def _getitem_view(xp, x, idx):
    return x[idx], (x.shape, idx)


@op("index", saves=None, node="IndexBackward0")
def _getitem_copy(xp, x, idx):
    return x[idx], (x.shape, idx)


def _getitem_back(xp, g, shape, idx):
    out = xp.zeros(shape, g.dtype)
    index_add_at(xp, out, idx, g)
    return (out,)


@_getitem_view.vjp
def _(xp, g, shape, idx):
    out = xp.zeros(shape, g.dtype)
    out[idx] = g
    return (out,)


_getitem_copy.vjp(_getitem_back)
_view_fn = make_view(_getitem_view)


def getitem(self, idx):
    np_idx, basic = _convert_index(idx, self.arr, self.be)
    if basic:
        return _view_fn(self, np_idx)
    return apply(_getitem_copy, (self,), (np_idx,))


@op("index_put", saves=None, node="IndexPutBackward0")
def _index_put(xp, x, v, idx, accumulate):
    out = x.copy()
    if accumulate:
        index_add_at(xp, out, idx, xp.broadcast_to(v, out[idx].shape))
    else:
        out[idx] = v
    return out, (idx, accumulate, getattr(v, "shape", ()))


@_index_put.vjp
def _(xp, g, idx, accumulate, vshape):
    gx = g if accumulate else g.copy()
    if not accumulate:
        gx[idx] = 0
    gv = g[idx]
    return gx, gv


def _value_for(self, value):
    if isinstance(value, Tensor):
        if value.be is not self.be:
            value = value.to(self.device)
        return value
    from .creation import tensor
    return tensor(value, dtype=self.dtype, device=self.device)


def setitem(self, idx, value):
    np_idx, basic = _convert_index(idx, self.arr, self.be)
    recording = _grad.enabled and (self.requires_grad or (isinstance(value, Tensor) and
                                                          value.requires_grad))
    if not recording:
        self.arr[np_idx] = value.arr if isinstance(value, Tensor) else value
        bump_version(self)
        return
    _SETITEM(self, _value_for(self, value), np_idx, False)


def index_put(input, indices, values, accumulate=False):
    np_idx, _ = _convert_index(tuple(indices), input.arr, input.be)
    return apply(_index_put, (input, _value_for(input, values)), (np_idx, accumulate))


def index_put_(input, indices, values, accumulate=False):
    np_idx, _ = _convert_index(tuple(indices), input.arr, input.be)
    return _SETITEM(input, _value_for(input, values), np_idx, accumulate)


_SETITEM = inplace(lambda x, v, idx, acc: apply(_index_put, (x, v), (idx, acc)), "index_put")
