"""Indexing: __getitem__/__setitem__, the gather/scatter family, sorting and searching.

Contract (see _registry.py): `fwd(xp, *arrays, *static) -> (out, saved)`, `bwd(xp, g, *saved)`.
torch applies integer and slice indices first (views), then advanced (tensor) indices on the
result; `_parse` splits an index the same way, so advanced dims move exactly as in torch."""
import builtins
import collections.abc as _abc
import inspect
import math
import warnings

import numpy as np

from .. import _dtype
from ..return_types import make as _return_type
from .._tensor import Tensor, _new, bump_version
from ..autograd.node import retype as _retype
from .._warnings import outside_stacklevel as _outside_stacklevel, warn_once as _warn_once
from .._memory_format import contiguous_out
from .._sparse_coo import SparseCOO
from ..autograd.grad_mode import STATE as _grad
from ._overlap import check_out as check_out_overlap
from ._apply import add_at, one_d, traced
from ._apply import INPLACE_CHECKS, _finish, _finish_tuple, _fw, _fw_involved, \
    _not_tensor, _OVERLAP, _tname as _dtype_name, apply, inplace, raise_not_tensor, tensor_arg, \
    tensor_args, tensor_ndim, type_name, writable_alias, shared_alias, warn_shared, _overlaps, \
    quiet
from . import _overlap, _stl_select
from .._kernel_dtypes import cname, not_implemented
from ._blend import fast_where, quick_where
from .creation import _fill_value
from ._dims import int_arg, wrap_dim
from ._sort_args import bool_arg, sort_args
from .._typenames import _HEAPTYPE, tp_name
from ._registry import c_order, contiguous_outputs, no_complex_grad, op, refused_backward
from ..autograd.node import node_class as _node_class
from ._views import check_inplace_view, rebase_view, refresh_views
from ..autograd.engine import watch_indices as _watch_indices
from .shape import _alias_fn, _select_fn, _slice_fn, _unsqueeze_idx_fn, _index_view, \
    _none_index, _check_broadcast_into


def index_add_rows(xp, n_rows, idx, vals):
    """Sum the rows `vals[i]` into row `idx[i]` (1-D, may be negative) of a zero (n_rows, ...)
    array, each row's values added in the order they come, as add.at and torch's index_add
    do. NumPy's add.at runs row by row; here the k-th occurrences of all indices are added in
    one vectorised step (k = 0, 1, ...), and the few indices that occur more than _RUN times
    are summed by one reduction each: 5-15x faster on embedding and indexing gradients."""
    out = xp.zeros((n_rows,) + vals.shape[1:], vals.dtype)
    if xp is not np or vals.size < 8192:       # (on autograd's namespace: linked to vals)
        add_at(xp, out, idx, vals)
        return out
    if vals.size == len(idx):           # one number a row: NumPy's 1-D add.at is fast
        np.add.at(out.reshape(-1), idx, vals.reshape(-1))
        return out
    if idx.dtype.kind == "i" and idx.min() < 0:
        idx = np.where(idx < 0, idx + n_rows, idx)
    order = np.argsort(idx, kind="stable")
    run_start = np.empty(len(idx), bool)
    run_start[0] = True
    sorted_idx = idx[order]
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=run_start[1:])
    pos = np.arange(len(idx))
    starts = np.flatnonzero(run_start)
    rank = pos - np.maximum.accumulate(np.where(run_start, pos, 0))    # occurrence number
    lengths = np.diff(np.append(starts, len(idx)))
    longest = int(lengths.max())
    if 1 < longest and (longest + 1) * len(starts) <= 4 * len(idx) and vals.dtype in _F32_64:
        _stacked_sums(out, idx, vals, order, sorted_idx, run_start, starts, rank, lengths,
                      longest)
        return out
    for a, n in zip(starts[lengths > _RUN].tolist(), lengths[lengths > _RUN].tolist()):
        out[sorted_idx[a]] = np.add.reduce(vals[order[a:a + n]], axis=0)  # in order: rows > 1
        rank[a:a + n] = _RUN            # done: past the last step below
    by_rank = order[np.argsort(rank, kind="stable")]
    bounds = np.cumsum(np.bincount(rank, minlength=_RUN + 1))
    for k in range(min(longest, _RUN)):
        rows = by_rank[bounds[k - 1] if k else 0:bounds[k]]
        out[idx[rows]] += vals[rows]    # distinct rows within a step
    return out


_RUN = 16
_F32_64 = (np.dtype(np.float32), np.dtype(np.float64))


def _stacked_sums(out, idx, vals, order, sorted_idx, run_start, starts, rank, lengths, longest):
    """index_add_rows' sums in one reduction: the k-th occurrence of the u-th distinct index
    goes to row k + 1 of a (longest + 1, distinct, ...) stack, whose sum over its first axis
    NumPy takes row after row, in order. Row 0 holds +0.0 for the indices that index_add_rows
    steps through (0 + v1 + v2 ..., a sum of -0.0s gives +0.0) and -0.0 for its longer runs
    (v1 + v2 ..., reduced as they come); the unused rows hold -0.0, which leaves every sum as
    it is. (The tokens of the GPT benchmark's embedding gradient: 275 -> 130 us.)"""
    u = len(starts)
    stack = np.full((longest + 1, u) + vals.shape[1:], -0.0, vals.dtype)
    stack[0, lengths <= _RUN] = 0.0
    slot = np.empty(len(idx), np.intp)
    slot[order] = (rank + 1) * u + (np.cumsum(run_start) - 1)
    stack.reshape((-1,) + vals.shape[1:])[slot] = vals
    out[sorted_idx[starts]] = np.add.reduce(stack, axis=0)


def _ufunc_at(xp, name, out, idx, vals):
    """out[idx] = name(out[idx], vals), unbuffered (repeated indices combine)."""
    if traced(xp):
        getattr(xp, name).at(out, idx, vals)
        return
    if xp is not np:
        if name == "add":
            import cupyx
            cupyx.scatter_add(out, idx, vals)
            return
        # CuPy has no multiply.at, and its scatter_max/min disagreed with NumPy in float64 on
        # an H200: reduce on the host (correct first; scatter_reduce is rare on the GPU)
        host = out.get()
        getattr(np, name).at(host, _host_index(idx), _host(vals))
        out[...] = xp.asarray(host)
        return
    getattr(xp, name).at(out, *one_d(out, idx, vals))


def _host(a):
    return a.get() if hasattr(a, "get") else a


def _host_index(idx):
    return tuple(_host(i) for i in idx) if isinstance(idx, tuple) else _host(idx)


# ---- parsing torch indices --------------------------------------------------------------------
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
              "are valid indices (got {})")


_SEQUENCES = (list, str, range, tuple, bytes, bytearray, np.ndarray, Tensor, _abc.Sequence)


def _is_sequence(o):
    """Python's PySequence_Check, as torch's indexing asks it: the built-in sequences, NumPy
    arrays, tensors, registered Sequences, and classes defined in Python with __getitem__
    (not mappings)."""
    if isinstance(o, _SEQUENCES):
        return True
    t = type(o)
    return bool(t.__flags__ & _HEAPTYPE) and hasattr(t, "__getitem__") and \
        not isinstance(o, _abc.Mapping)


def _seq_as_tuple(idx):
    """torch's treatSequenceAsTuple (NumPy's old heuristic for non-tuple sequences): a
    sequence (not a tensor, not an exact ndarray) of fewer than 32 items, one of them a
    sequence, slice, None or Ellipsis."""
    if isinstance(idx, (Tensor, int, slice)) or type(idx) is np.ndarray or \
            not _is_sequence(idx):
        return False
    try:
        if len(idx) >= 32:
            return False
        items = idx if type(idx) is list else list(idx)
    except Exception:
        return False
    if builtins.any(_is_sequence(o) or isinstance(o, slice) or o is None or o is Ellipsis
                    for o in items):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and "
                      "will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In "
                      "pytorch 2.9 this will be interpreted as tensor index, x[torch.tensor(seq)]"
                      ", which will result either in an error or a different result",
                      UserWarning, stacklevel=_outside_stacklevel())
        return True
    return False


def _as_index_array(a):
    """A NumPy array for a list/ndarray index: bool stays a mask, floats truncate like torch."""
    if a.dtype == object:
        raise IndexError(_BAD_INDEX.format("list"))
    if a.dtype.kind == "f":
        a = a.astype(np.int64)
    elif a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)
    elif a.dtype.kind != "b":
        raise IndexError(_BAD_INDEX.format(a.dtype.name))
    return a


def _classify(i, be):
    """One index element -> (kind, value). Kinds: int, slice, none, ell, arr, mask, bool, and
    byte (a uint8 tensor of 1 or more dims, torch's deprecated mask: the value is its bool mask)."""
    if type(i) is int:
        return "int", i
    if isinstance(i, slice):
        return "slice", i
    if i is None:
        return "none", None
    if i is Ellipsis:
        return "ell", None
    if isinstance(i, Tensor):
        a = i.arr
        k = a.dtype.kind
        if k in "fc" or a.dtype.itemsize < 4 and a.dtype != np.uint8 and k != "b":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        byte = a.dtype == np.uint8 and a.ndim
        if a.dtype == np.uint8:
            a = a.astype(bool)
        if i.be is not be:
            if i.be.name != "cpu" and be.name != "cpu":
                raise RuntimeError("indices should be either on cpu or on the same device as the "
                                   "indexed tensor (cpu)")
            a = be.xp.asarray(i.be.to_host(a))
        if byte:
            return "byte", a
        if a.dtype == np.bool_:
            return ("mask", a) if a.ndim else ("bool", bool(a))
        return ("int", int(a)) if a.ndim == 0 else ("arr", a)
    if isinstance(i, (bool, np.bool_)):
        return "bool", bool(i)
    if isinstance(i, (list, tuple, range, np.ndarray)):
        a = _as_index_array(np.asarray(i))
        if a.ndim == 0 and a.dtype != np.bool_:
            return "int", int(a)
        a = a if be.xp is np else be.xp.asarray(a)
        if a.dtype == np.bool_:
            return ("mask", a) if a.ndim else ("bool", bool(a))
        return "arr", a
    if isinstance(i, str):
        raise TypeError(f"new(): invalid data type '{type(i).__name__}'")
    if hasattr(i, "__index__"):
        return "int", i.__index__()
    raise IndexError(_BAD_INDEX.format(tp_name(i)))


def _slice(s):
    step = None if s.step is None else s.step.__index__()
    if step is not None and step <= 0:        # (Python's own check comes first for 0)
        raise ValueError("step must be greater than zero" if step else "slice step cannot be zero")
    return slice(None if s.start is None else s.start.__index__(),
                 None if s.stop is None else s.stop.__index__(), step)


def _whole(sl, n):
    """Whether torch's applySlice returns the tensor itself for slice `sl` (of int or None
    bounds) of a dim of size n: start 0, stop at least n, step 1 (a negative start, even one
    covering the dim, is sliced)."""
    return not sl.start and (sl.stop is None or sl.stop >= n) and \
        (sl.step is None or sl.step == 1)


def _parse(idx, shape, be, fill=False):
    """Split a torch index into (basic, adv, last): `basic` is a NumPy basic index (a view,
    applied first), `adv` None or the advanced index for the result of `basic`, and `last` the
    kind of the last basic op (for torch's grad_fn names). `fill`: the index is setitem's, of a
    one-element value (torch puts it with masked_fill_ where the only index tensor is a mask)."""
    single = type(idx) is not tuple and not _seq_as_tuple(idx)
    if type(idx) is not tuple:
        idx = (idx,) if single else tuple(idx)
    items = [_classify(i, be) for i in idx]
    ndim = len(shape)
    used = 0
    n_ell = 0
    n_byte = 0
    for kind, v in items:
        if kind in ("int", "slice", "arr"):
            used += 1
        elif kind in ("mask", "byte"):
            used += v.ndim
            n_byte += kind == "byte"
        elif kind == "ell":
            n_ell += 1
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, adv, masks = [], [], []
    d = p = 0                 # dim in the input, dim in the result of `basic`
    last = None
    whole = True                # `basic` takes every dim whole (the view is the tensor)
    for at, (kind, v) in enumerate(items):
        if kind == "int":
            n = shape[d]
            if not -n <= v < n:     # torch names the index's position in the tuple as its dim
                raise IndexError(f"index {v} is out of bounds for dimension {at} with size {n}")
            basic.append(v + n if v < 0 else v)
            d += 1
            last = "select"
            whole = False
        elif kind == "slice":
            sl = _slice(v)
            basic.append(sl)
            # torch skips a slice of the whole dim, unless it is the whole index
            if single or not _whole(sl, shape[d]):
                last = "slice"
            whole = whole and sl == _ALL
            d += 1
            p += 1
        elif kind == "none":
            basic.append(None)
            p += 1
            last = "unsqueeze"
            whole = False
        elif kind == "ell":             # torch expands the first ellipsis only
            k = ndim - used if n_ell else 0
            n_ell = 0
            basic += [slice(None)] * k
            d += k
            p += k
        elif kind == "arr":
            if be.xp is not np:         # CuPy does not check fancy-index bounds
                _check_bounds(v, shape[d], d)
            basic.append(slice(None))
            adv.append((p, v))
            d += 1
            p += 1
        elif kind in ("mask", "byte"):
            k = v.ndim
            masks.append((v.shape, p))
            basic += [slice(None)] * k
            adv.append((p, v))
            d += k
            p += k
        else:                                   # a Python bool: a new dim of size 1 or 0
            adv.append((p, np.asarray(v) if be.xp is np else be.xp.asarray(v)))
    basic = tuple(basic) + (Ellipsis,)          # Ellipsis: NumPy returns a 0-d view, not a scalar
    byte_fill = n_byte and fill and len(adv) == 1
    for _ in range(0 if byte_fill else n_byte):
        _byte_index_warning()
    if masks:                   # torch checks a mask against the tensor `basic` made
        view = shape if whole else np.broadcast_to(np.empty((), bool), shape)[basic].shape
        for mask, at in masks:
            _check_mask_shape(mask, view, at)
    if byte_fill:
        raise RuntimeError(_BYTE_FILL)
    if not adv:
        return basic, None, last or "alias"
    # NumPy's indexing checks the bounds (see _bounds_error); like torch, it reads (and checks)
    # nothing when the broadcast index is empty
    st2, cur = [], 0
    for pos, a in adv:
        st2 += [slice(None)] * (pos - cur)
        st2.append(a)
        cur = pos + (a.ndim if a.dtype == np.bool_ else 1)
    return basic, tuple(st2), last


_ALL = slice(None)
_BYTE_FILL = "masked_fill_ only supports boolean masks, but got mask with dtype unsigned char"


def _byte_index_warning():
    """torch's warning for each uint8 index tensor it expands (not for one it puts a value
    through with masked_fill_, which refuses it: _BYTE_FILL)."""
    warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                  "torch.bool instead.", UserWarning, stacklevel=_outside_stacklevel())


def _check_bounds(a, n, dim):
    if _outside(a, -n, n):
        lo, hi = int(a.min()), int(a.max())
        raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for dimension "
                         f"{dim} with size {n}")


def _outside(a, lo, hi):
    """Whether some element of the integer array `a` is outside [lo, hi) (one pass)."""
    if not a.size:
        return False
    if lo == 0 and a.dtype == np.int64:      # negatives wrap around to huge values
        return bool((a.view(np.uint64) >= hi).any())
    return int(a.min()) < lo or int(a.max()) >= hi


def _trivial(basic):
    for b in basic:
        if b is not Ellipsis and (type(b) is not slice or b != _ALL):
            return False
    return True


_BASIC = {"select": _select_fn, "slice": _slice_fn, "unsqueeze": _unsqueeze_idx_fn}
_BASIC_KEYS = frozenset((int, tuple, slice, type(None), type(Ellipsis)))


def _parse_basic(idx, shape):
    """_parse's (basic, last) for the common keys, without its per-element classification: a
    tuple (or one) of Python ints in range, slices of int or None bounds and positive steps, None
    and at most one Ellipsis. None for any other index (_parse handles it, and its errors)."""
    single = type(idx) is not tuple
    items = (idx,) if single else idx
    used = 0
    ell = False
    for i in items:
        t = type(i)
        if t is int or t is slice:
            used += 1
        elif i is Ellipsis:
            if ell:
                return None
            ell = True
        elif i is not None:
            return None
    ndim = len(shape)
    if used > ndim:
        return None
    basic = []
    d = 0
    last = "alias"
    for i in items:
        t = type(i)
        if t is int:
            n = shape[d]
            if not -n <= i < n:
                return None
            basic.append(i + n if i < 0 else i)
            d += 1
            last = "select"
        elif t is slice:
            start, stop, step = i.start, i.stop, i.step
            if start is None and stop is None and step is None:
                if single:
                    last = "slice"
            else:
                if not ((start is None or type(start) is int) and
                        (stop is None or type(stop) is int) and
                        (step is None or type(step) is int and step > 0)):
                    return None
                if single or not _whole(i, shape[d]):
                    last = "slice"
            basic.append(i)
            d += 1
        elif i is None:
            basic.append(None)
            last = "unsqueeze"
        else:
            k = ndim - used
            basic += [slice(None)] * k
            d += k
    basic.append(Ellipsis)
    return tuple(basic), last


def _bounds_error(e, idx=None, ndim=None):
    """NumPy's indexing IndexError in torch's words: shapes listed as [2], [1, 3], and an
    out-of-range tensor index numbered by its place among the index tensors (as torch's
    index kernel does), given the NumPy index `idx` into `ndim` dims."""
    import re
    msg = str(e).replace("arrays", "tensors")
    if msg.endswith("with size 0"):     # torch names neither the index nor the dim
        return IndexError("index is out of bounds for dimension with size 0")
    head, sep, shapes = msg.partition(" with shapes ")
    if sep:
        shapes = ", ".join("[" + ", ".join(n for n in m.split(",") if n.strip()) + "]"
                           for m in re.findall(r"\(([^)]*)\)", shapes))
        msg = head + sep + shapes.replace(" ", "").replace(",", ", ")
    m = re.search(r"for axis (\d+)", msg)
    if m and idx is not None:
        k = _tensor_index_ordinal(idx if type(idx) is tuple else (idx,), ndim, int(m.group(1)))
        if k is not None:
            msg = msg[:m.start()] + f"for axis {k}" + msg[m.end():]
    return IndexError(msg.replace("axis", "dimension"))


def _tensor_index_ordinal(idx, ndim, axis):
    """The place of the index tensor at array axis `axis` among idx's index tensors."""
    def is_tensor(ix):
        return getattr(ix, "ndim", 0) > 0 and hasattr(ix, "dtype")

    def width(ix):
        return ix.ndim if is_tensor(ix) and ix.dtype == bool else 1
    used = builtins.sum(width(ix) for ix in idx if ix is not None and ix is not Ellipsis)
    ax = k = 0
    for ix in idx:
        if ix is None:
            continue
        if ix is Ellipsis:
            ax += ndim - used
            continue
        if is_tensor(ix):
            if ax == axis and ix.dtype != bool:
                return k
            k += width(ix)
        ax += width(ix)
    return None


@op("index", saves=None)
def _index(xp, x, idx):
    try:
        out = xp.asarray(x[idx])
    except IndexError as e:
        raise _bounds_error(e, idx, x.ndim) from None
    # NumPy may lay the result out as the input's strides; torch's is contiguous or follows
    # the input's (inline rather than contiguous_outputs: x[t] is a hot path)
    return c_order(xp, out), (x.shape, idx)


@_index.vjp
def _(xp, g, shape, idx):
    first = idx[0] if type(idx) is tuple and len(idx) == 1 else idx
    if type(first) is np.ndarray and first.dtype.kind in "iu" and shape:    # x[int_tensor]
        rows = first.reshape(-1)
        return (index_add_rows(xp, shape[0], rows, g.reshape((rows.size,) + shape[1:])),)
    out = xp.zeros(shape, g.dtype)
    add_at(xp, out, idx, g)
    return (out,)


def getitem(self, idx):
    if type(idx) is int:                        # fast path: x[i]
        a = self.arr
        if a.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        n = a.shape[0]
        if not -n <= idx < n:
            if self.is_nested and a.meta.layout == "jagged":    # (torch's: its unbind()[i])
                raise IndexError("tuple index out of range")
            raise IndexError(f"index {idx} is out of bounds for dimension 0 with size {n}")
        try:
            return _index_view(_select_fn, self, (idx + n if idx < 0 else idx, Ellipsis))
        except NotImplementedError:     # a nested tensor (no select kernel): its component
            if not self.is_nested:
                raise
            from ..nested._ops import select_component
            return select_component(self, idx)
    if idx is None and type(self.arr) is np.ndarray:    # fast path: x[None]
        return _none_index(self)
    if type(idx) is slice and type(self.arr) is np.ndarray and self.arr.ndim:
        start, stop, step = idx.start, idx.stop, idx.step       # fast path: x[a:b] (what
        if (start is None or type(start) is int) and (stop is None or type(stop) is int) and \
                (step is None or type(step) is int and step > 0):   # _parse_basic returns)
            return _index_view(_slice_fn, self, (idx, Ellipsis))
    if type(idx) in _BASIC_KEYS and type(self.arr) is np.ndarray:   # fast path: views
        parsed = _parse_basic(idx, self.arr.shape)
        if parsed is not None:
            basic, last = parsed
            if last == "alias":
                return _alias_fn(self, ())
            if last == "unsqueeze" or None in basic:
                return _BASIC[last](self, basic)
            return _index_view(_BASIC[last], self, basic)
    try:
        if type(idx) is Tensor and idx.arr.ndim and idx.be is self.be and self.be.xp is np:
            # fast path: x[t] (NumPy checks the bounds)
            a = idx.arr
            if a.dtype == np.int64 or a.dtype == np.bool_:
                if a.dtype == np.bool_ and a.shape != self.arr.shape[:a.ndim]:
                    _parse(idx, self.arr.shape, self.be)            # raises torch's error
                return _watched(apply(_index, (self,), ((a,),)), idx)
        basic, adv, last = _parse(idx, self.arr.shape, self.be)
        if adv is None:
            if last == "alias":
                return _alias_fn(self, ())
            return _BASIC[last](self, basic)
        x = self if _trivial(basic) else _slice_fn(self, basic)
        return _watched(apply(_index, (x,), (adv,)), idx)
    except (TypeError, RuntimeError, NotImplementedError, IndexError):
        if not self.is_nested:
            raise
        from ..nested._ops import getitem as nested_getitem
        out = nested_getitem(self, idx)     # torch's result or error, or None
        if out is None:
            raise
        return out


def _nested_refusal(input, strided, jagged):
    """In an except block: torch's error for an op without a nested kernel (strided, jagged:
    its aten names) where input is nested, else nothing (the caller re-raises)."""
    if getattr(input, "is_nested", False):
        from ..nested._ops import _missing
        raise _missing(input.arr, strided, jagged) from None


def _watched(out, idx):
    """out, whose node (if any) checks the index tensors' versions at backward, as torch's."""
    fn = out.grad_fn
    if fn is not None:
        ts = tuple([t for t in (idx if isinstance(idx, tuple) else (idx,)) if type(t) is Tensor])
        if ts:
            _watch_indices(fn, ts)
    return out


# ---- setitem / index_put ----------------------------------------------------------------------
def _put(xp, dst, at, v, accumulate):
    """dst[at] = v, or += (every write adding, repeated indices too)."""
    if accumulate:
        add_at(xp, dst, at, xp.broadcast_to(v, dst[at].shape))
    else:
        dst[at] = v


@op("index_put", saves=None)
def _index_put(xp, x, v, idx, accumulate):
    out = x.copy()
    try:
        _put(xp, out, idx, v, accumulate)
    except IndexError as e:
        raise _bounds_error(e, idx, x.ndim) from None
    except ValueError:
        raise _put_shape_error(out[idx].shape, v.shape, False, v.dtype) from None
    return out, (idx, accumulate, getattr(v, "shape", ()))


# (the forward itself: without the refusals ops/_few_kernels.py may wrap the op's in)
_index_put_fwd = _index_put.impl[0][0]


@_index_put.vjp
def _(xp, g, idx, accumulate, vshape):
    gx = g
    if not accumulate:
        gx = g.copy()
        gx[idx] = 0
    return gx, _value_grad(xp, g[idx], vshape)


def _value_grad(xp, gv, vshape):
    """The gradient of a value broadcast into an indexing result (which may have fewer dims
    than the value: torch drops its leading 1s)."""
    gv = xp.asarray(gv)
    extra = len(vshape) - gv.ndim
    return gv.reshape((1,) * extra + gv.shape) if extra > 0 else gv   # the engine sums it


@op("setitem_basic", saves=None, node="torch::autograd::CopySlices")
def _setitem_basic(xp, x, v, idx, accumulate):
    return _index_put_fwd(xp, x, v, idx, accumulate)


_setitem_basic.vjp(_index_put.impl[0][1])


def _put_recorded(self, value, idx, accumulate, o):
    """self[idx] = value (or += with accumulate) in place, recording `o` as self's new node.

    Unlike the generic in-place path this neither copies self nor saves it (the backward of an
    index put needs neither), so `y[i] = v` in a loop costs O(v), as in torch."""
    if self.requires_grad and self.grad_fn is None:
        # torch writes a basic index through a view of self (an Ellipsis alone is self)
        view = o is _setitem_basic and not _trivial(idx)
        raise RuntimeError(f"a {'view of a ' if view else ''}leaf Variable that requires grad is "
                           "being used in an in-place operation.")
    base = self._base
    if base is not None:
        if base.requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        check_inplace_view(self)
    be = self.be
    xp = be.xp
    v = value.arr
    prev = self.grad_fn or (self._leaf_node() if self.requires_grad else None)
    dst, at = self.arr, idx
    # an expanded tensor's elements sharing memory take torch's deprecated index_put_ (whose
    # backward is refused, see _views.py's CopySlices); otherwise torch writes through
    if o is _setitem_basic or not _shared_put(self, dst, idx, v, accumulate):
        if not getattr(dst.flags, "writeable", True):
            dst, at = (_writable(dst[idx]), ...) if o is _setitem_basic else (_writable(dst), idx)
        try:
            _put(xp, dst, at, v, accumulate)
        except IndexError as e:
            raise _bounds_error(e, idx, self.arr.ndim) from None
        except ValueError:
            raise _put_shape_error(self.arr[idx].shape, v.shape, o is _setitem_basic,
                                   value.arr.dtype) from None
        bump_version(self)
    old = _new(self.arr, be)            # the engine reads the input's shape and dtype from it
    nv = (value.grad_fn or value._leaf_node()) if value.requires_grad else None
    node = o.node_cls(o, o.impl[be.idx][1], xp, (idx, accumulate, v.shape), (prev, nv),
                      (old, value), (idx, accumulate))
    self.grad_fn, self._rg = node, True
    if base is not None:
        out = _new(self.arr, be)
        out.grad_fn, out._rg = node, True
        rebase_view(self, out)
    else:
        refresh_views(self)
    return self


def _put_shape_error(shape, vshape, basic, vdtype):
    """The error of a value that does not fit its indexing result: a basic index copies into a
    view, expanding the value (its leading 1s dropped) as torch's copy_to does."""
    if basic:
        vshape = list(vshape)
        while vshape and vshape[0] == 1:
            vshape.pop(0)
        from .shape import expanded_sizes
        try:
            expanded_sizes(_tname_dtype(vdtype), tuple(vshape), tuple(shape))
        except RuntimeError as e:
            return e
    return RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                        f"broadcast to indexing result of shape {list(shape)}")


def _tname_dtype(dt):
    return f"torch.{_dtype_name(dt)}Tensor"


def _value_for(self, value):
    if isinstance(value, Tensor):
        if value.be is not self.be:
            value = value.to(self.device)
        if value.arr.dtype != self.arr.dtype:
            value = value.to(self.dtype)
        return value
    a = self.arr
    if type(value) in _PY_SCALARS and type(a) is np.ndarray and a.dtype in _SCALAR_DTYPES:
        return _new(np.asarray(value, a.dtype), self.be)      # (what tensor() makes of it)
    from .creation import tensor
    try:
        return tensor(value, dtype=self.dtype, device=self.device)
    except (TypeError, ValueError):
        raise TypeError(f"can't assign a {type(value).__name__} to a {_tname(self)}") from None


_PY_SCALARS = frozenset((int, float, bool))
# dtypes a (checked) Python scalar converts to exactly as tensor() converts it
_SCALAR_DTYPES = frozenset(np.dtype(d) for d in (np.float32, np.float64, np.int64, np.int32,
                                                 np.int16, np.int8, np.uint8, np.bool_))


def _tname(x):
    return f"torch.{_dtype_name(x.arr.dtype)}Tensor"


def _put_value(self, value, index, accumulate=False, name=None):
    """The value of an advanced put. torch does not cast tensor values, but a one-element value
    through a single boolean mask (not accumulating) is masked_fill_, which casts and takes the
    value's one element whatever its shape. `name`: index_put's, whose values must be a Tensor
    (setitem's may be a number)."""
    if not isinstance(value, Tensor):
        if name is not None:
            raise _not_tensor(name, value, "values", 3)
        return value
    arrays = [a.arr if isinstance(a, Tensor) else a for a in index if a is not None]
    arrays = [a for a in arrays if hasattr(a, "dtype")]
    if value.arr.size == 1 and not accumulate and len(arrays) == 1 and \
            arrays[0].dtype in _MASKS and arrays[0].ndim:
        if arrays[0].dtype == np.uint8:         # (index_put's: setitem's masks are bool here)
            leading = next(j for j, a in enumerate(index) if a is not None)  # Nones: a dim each
            _check_mask_shape(arrays[0].shape, self.shape, leading)
            raise RuntimeError(_BYTE_FILL)
        if value.arr.dtype != self.arr.dtype:       # masked_fill_ converts value.item() checked
            _fill_value(value.item(), self.arr.dtype)
        return value.reshape(()) if value.ndim else value
    if value.arr.dtype != self.arr.dtype:
        _check_index_broadcast(arrays)      # torch reports unbroadcastable indices first
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_dtype_name(self.arr.dtype)} for the destination and "
                           f"{_dtype_name(value.arr.dtype)} for the source.")
    return value


_MASKS = (np.dtype(np.bool_), np.dtype(np.uint8))


def _check_index_broadcast(arrays):
    """torch's IndexError for index arrays that do not broadcast (a boolean mask counts as one
    index vector of its True count per dim, as torch's nonzero expansion)."""
    shapes = []
    for a in arrays:
        shapes += [(int(a.sum()),)] * a.ndim if a.dtype == np.bool_ else [a.shape]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {', '.join(str(list(s)) for s in shapes)}") from None


def setitem(self, idx, value):
    if _fw.level is not None and _fw_involved(self, value):
        _setitem(self, idx, value)
        _fw_put(self, value, lambda ts, tv: _setitem(ts, idx, tv))
        return
    try:
        _setitem(self, idx, value)
    except (TypeError, RuntimeError, IndexError):
        if not self.is_nested:
            raise
        from ..nested._ops import setitem as nested_setitem
        if not nested_setitem(self, idx, value):    # torch's write or error, or False
            raise


def _fw_put(self, value, put):
    """Forward AD of an index put: the same put on self's tangent, of value's tangent (or 0)."""
    from ..autograd.forward_ad import tangent_of
    from ._apply import tangent_storage
    ts = tangent_storage(self)
    tv = tangent_of(value) if isinstance(value, Tensor) else None
    put(ts, 0.0 if tv is None else tv)


def _number_value(value, np_dtype):
    """setitem's Python number as torch's valueToTensor converts it: checked, to the tensor's
    dtype, or to double for float16/bfloat16 and the float8s (which then round: to inf, or
    float8_e4m3fn's +-448)."""
    if np_dtype is _F32 or np_dtype is _F64:    # (the common case: the value itself, in range)
        t = type(value)
        if t is float and (np_dtype is _F64 or not abs(value) > _F32_MAX or
                           abs(value) == _INF) or t is int and -2 ** 63 <= value < 2 ** 63:
            return value
    if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
        raise ValueError("Overflow when unpacking long long")
    return _fill_value(value, _F64 if np_dtype.itemsize <= 2 and np_dtype.kind in "fV"
                       else np_dtype)


_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_F32_MAX, _INF = 3.4028234663852886e38, float("inf")


def _setitem(self, idx, value):
    is_tensor = isinstance(value, Tensor)       # (value stays a Tensor or a number)
    if not is_tensor:
        # torch's valueToTensor, before the index is read: a Python number (float and complex
        # subclasses such as NumPy's float64 and complex128 too) or a NumPy integer
        if not isinstance(value, (int, float, complex, np.integer)):
            raise TypeError(f"can't assign a {type_name(value)} to a {_tname(self)}")
        value = _number_value(value, self.arr.dtype)
    arr = self.arr
    basic = None
    if type(arr) is np.ndarray:         # fast paths: what _parse gives these keys
        if type(idx) in _BASIC_KEYS:
            parsed = _parse_basic(idx, arr.shape)
            if parsed is not None:
                basic, adv = parsed[0], None
        elif type(idx) is Tensor and idx.be is self.be and idx.arr.ndim and arr.ndim:
            a = idx.arr         # one int64 index tensor, or a bool mask of self's leading dims
            if a.dtype == np.int64 or a.dtype == np.bool_ and a.shape == arr.shape[:a.ndim]:
                if not is_tensor and not (self._rg and _grad.enabled) and \
                        arr.flags.writeable and arr.dtype.num not in _dtype.FEW_KERNELS:
                    # a number put unrecorded into writable memory: the write below, directly
                    try:
                        arr[a] = _dtype.through_float(value, arr.dtype)
                    except IndexError as e:
                        raise _bounds_error(e, (a,), arr.ndim) from None
                    bump_version(self)
                    return
                basic, adv = (_ALL,) * (a.ndim if a.dtype == np.bool_ else 1) + (...,), (a,)
    if basic is None:
        basic, adv, _ = _parse(idx, self.arr.shape, self.be,
                               not is_tensor or value.arr.size == 1)
    if adv is not None:
        value = _put_value(self, value, adv)
        if arr.dtype.num in _dtype.FEW_KERNELS:
            # (torch's index_put_ of one value through one boolean mask is a masked_fill_)
            one_mask = type(idx) is Tensor and idx.arr.dtype == np.bool_ and \
                np.size(getattr(value, "arr", value)) == 1
            _dtype.refuse_few("masked_fill" if one_mask else "index_put", arr.dtype)
    v_rg = is_tensor and value.requires_grad
    if is_tensor and \
            _overlap.owner(value.arr) is _overlap.owner(self.arr) is not None:
        # copy_'s check, or index_put_'s
        _overlap.check_arrays(self.arr if adv is not None else self.arr[basic], value.arr)
    if not (_grad.enabled and (self.requires_grad or v_rg)):
        v = value
        if is_tensor:
            v = value.arr if value.be is self.be else self.be.from_host(value.be.to_host(
                value.arr))
        target = self.arr[basic]
        if not getattr(target.flags, "writeable", True):
            if adv is None and _overlaps(target):
                raise RuntimeError(_OVERLAP)
            alias = writable_alias(target) if isinstance(target, np.ndarray) else None
            if alias is not None:           # a slice of an expanded tensor: torch writes there
                target = alias
        if is_tensor:
            warn_complex_to_real(value.arr.dtype, target.dtype)
            if value.arr.dtype.kind == "c" and target.dtype.kind not in "cb":
                v = v.real      # (explicitly: no NumPy ComplexWarning whatever the filters)
        v = _dtype.through_float(v, target.dtype)
        if adv is not None and _shared_put(self, target, adv, v):
            return
        try:
            if adv is None:
                target[...] = v
            else:
                target[adv] = v
        except IndexError as e:
            raise _bounds_error(e, adv, target.ndim) from None
        except (ValueError, TypeError) as e:
            if isinstance(e, TypeError) and "boolean array indexing" not in str(e):
                raise
            if not getattr(target.flags, "writeable", True):
                raise RuntimeError("cannot write to this tensor: it views read-only memory (a "
                                   "non-writable NumPy array or buffer); clone() it first") \
                    from None
            shp = target.shape if adv is None else target[adv].shape
            raise _put_shape_error(shp, np.shape(v), adv is None, getattr(v, "dtype", None)) \
                from None
        bump_version(self)
        return
    value = _value_for(self, value)
    if adv is None and _whole_index(basic, self.arr.shape) and \
            getattr(self.arr.flags, "writeable", True) and _write_whole(self, value):
        return
    if adv is None and not _trivial(basic) and _overlaps(self.arr):
        # an expanded tensor: the write lands in memory its other elements share, so it is
        # recorded on the (non-overlapping) view written to
        _put_recorded(_slice_fn(self, basic), value, (Ellipsis,), False, _setitem_basic)
    elif adv is None:
        _put_recorded(self, value, basic, False, _setitem_basic)
    elif _trivial(basic):
        _put_recorded(self, value, adv, False, _index_put)
        _watched(self, idx)
    else:       # torch: a view, then index_put_ on it (the base is rebased: CopySlices)
        _put_recorded(_slice_fn(self, basic), value, adv, False, _index_put)


def _whole_index(basic, shape):
    """Whether torch's applySlicing returns the tensor itself for the basic index `basic`
    (slices it skips, and the closing Ellipsis)."""
    d = 0
    for b in basic:
        if b is not Ellipsis:
            if type(b) is not slice or not _whole(b, shape[d]):
                return False
            d += 1
    return True


def _write_whole(self, value):
    """A recorded setitem whose index is self itself, as torch's copy_to: self.copy_(value),
    or fill_ for a 0-d value of another shape, after dropping value's leading 1s (a view).
    False, writing nothing, where value does not expand to self (the caller raises torch's
    error)."""
    shape, vshape = self.arr.shape, value.arr.shape
    if vshape == shape:
        self.copy_(value)
    elif not vshape:
        self.fill_(value)
    else:
        src = vshape
        while src and src[0] == 1:
            src = src[1:]
        if len(src) > len(shape) or builtins.any(
                n != m and n != 1 for n, m in zip(src[::-1], shape[::-1])):
            return False
        self.copy_(value.view(src) if src != vshape else value)
    return True


def _writable(a):
    """A writable alias of the read-only view `a` of writable memory, for a recorded write;
    torch's RuntimeError where elements of `a` share memory."""
    if _overlaps(a):
        raise RuntimeError(_OVERLAP)
    alias = writable_alias(a)
    return a if alias is None else alias


def _shared_put(self, target, adv, v, accumulate=False):
    """A put through `adv` into `target` (a view of self) whose elements share memory (an
    expanded tensor): torch's deprecated index_put_ (masked_fill_ for one boolean mask), which
    writes memory in index order, so the last write to a location stays (accumulating: all add).
    False where target's elements do not share memory."""
    if getattr(target.flags, "writeable", True) or not _overlaps(target):
        return False
    names = ("index_put",)
    if len(adv) == 1 and getattr(adv[0], "dtype", None) == np.bool_ and not accumulate:
        names += ("masked_fill",)
    warn_shared(*names)
    alias, shared = shared_alias(target)
    dest = np.arange(target.size).reshape(target.shape)[adv]
    coords = list(np.unravel_index(dest, target.shape))
    for d in shared:
        coords[d] = np.zeros_like(coords[d])    # (of dest's shape: a 0 would drop it)
    v = np.broadcast_to(np.asarray(v, alias.dtype), dest.shape)
    if accumulate:
        np.add.at(alias, tuple(coords), v)
    else:
        alias[tuple(coords)] = v
    bump_version(self)
    return True


def _check_mask_shape(mask, shape, d):
    """A boolean mask indexing dims d, d + 1, ... of `shape`: torch names the whole shapes and
    the first dim that differs, in the mask and in the tensor."""
    for j, n in enumerate(mask):
        if d + j < len(shape) and n != shape[d + j]:
            raise IndexError(f"The shape of the mask {list(mask)} at index {j} does not match "
                             f"the shape of the indexed tensor {list(shape)} at index {d + j}")


def _put_indices(input, indices):
    """index_put's `indices` (a tuple of index tensors, None = all) -> NumPy advanced index."""
    out = []
    d = 0
    for i in indices:
        if i is None:
            out.append(slice(None))
            d += 1
            continue
        if not isinstance(i, Tensor):
            raise TypeError("index_put_(): argument 'indices' must be tuple of Tensors")
        kind, a = _classify(i, input.be)
        if kind == "byte":
            _byte_index_warning()
            kind = "mask"
        if kind == "int":
            a = input.be.xp.asarray(a)
            kind = "arr"
        if kind == "bool":
            a = input.be.xp.asarray(a)
        if kind == "mask":
            _check_mask_shape(a.shape, input.shape, d)
            out.append(a)
            d += a.ndim
            continue
        if d >= input.ndim:
            raise IndexError(f"too many indices for tensor of dimension {input.ndim} (got "
                             f"{len(indices)})")
        _check_bounds(a, input.shape[d], d)
        out.append(a)
        d += 1
    return tuple(out)


def _no_none(indices):
    """torch's Python binding takes a tuple of Tensors (None only in the aten op's own)."""
    for j, i in enumerate(indices):
        if i is None:
            raise TypeError(f"expected Tensor as element {j} in argument 0, but got NoneType")


def index_put(input, indices, values, accumulate=False):
    _no_none(indices)
    values = _put_value(input, values, indices, accumulate, "index_put")
    return apply(_index_put, (input, _value_for(input, values)),
                 (_put_indices(input, indices), accumulate))


def index_put_(input, indices, values, accumulate=False):
    _no_none(indices)
    if _fw.level is not None and _fw_involved(input, values):
        _index_put_(input, indices, values, accumulate)
        _fw_put(input, values, lambda ts, tv: _index_put_(
            ts, indices, tv if isinstance(tv, Tensor) else ts.new_zeros(()), accumulate))
        return input
    return _index_put_(input, indices, values, accumulate)


def _index_put_(input, indices, values, accumulate=False):
    values = _put_value(input, values, indices, accumulate, "index_put_")
    if not (_grad.enabled and (input.requires_grad or getattr(values, "requires_grad", False))):
        value = _value_for(input, values)
        idx = _put_indices(input, indices)
        try:
            if _shared_put(input, input.arr, idx, value.arr, accumulate):
                return input
            if accumulate:
                add_at(input.be.xp, input.arr, idx,
                              input.be.xp.broadcast_to(value.arr, input.arr[idx].shape))
            else:
                input.arr[idx] = value.arr
        except IndexError as e:
            raise _bounds_error(e, idx, input.arr.ndim) from None
        except ValueError:
            raise _put_shape_error(input.arr[idx].shape, value.arr.shape, False,
                                   value.arr.dtype) from None
        bump_version(input)
        return input
    return _put_recorded(input, _value_for(input, values), _put_indices(input, indices),
                         accumulate, _index_put)


# ---- index_select / index_add / index_copy / index_fill ---------------------------------------
def _index_vector(index, name):
    tensor_arg(name, index, "index", None)
    if index.arr.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index")
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return index.arr.reshape(-1)


def _as_vector(index):
    """A 0-d index as the 1-element vector torch treats it as."""
    return index if index.ndim else _new(index.arr.reshape(1), index.be)


def _along(dim, idx):
    return (slice(None),) * dim + (idx,)


@op("index_select", saves=None)
def _index_select(xp, x, idx, dim):
    if x.ndim == 0:
        return x.copy(), ((), idx, 0)
    return xp.take(x, idx, axis=dim), (x.shape, idx, dim)


@_index_select.vjp
def _(xp, g, shape, idx, dim):
    if not shape:
        return (g.sum(),)
    if idx.ndim == 1:
        gx = index_add_rows(xp, shape[dim], idx, xp.moveaxis(g, dim, 0))
        return (xp.ascontiguousarray(xp.moveaxis(gx, 0, dim)),)
    out = xp.zeros(shape, g.dtype)
    add_at(xp, out, _along(dim, idx), g)
    return (out,)


def index_select(input, dim, index, *, out=None):
    if out is not None:
        _overlap.check_internal(out)
        check_out_overlap(out, (input, index), {}, True)     # (torch: neither may overlap)
    nd = tensor_ndim("index_select", input)
    d = wrap_dim(dim, nd)
    try:
        idx = _index_vector(index, "index_select")
    except (RuntimeError, IndexError):
        if isinstance(input.arr, SparseCOO):
            raise IndexError("index_select() argument index must be 1-D strided (non-sparse) "
                             "long-tensor.") from None
        raise
    try:
        n = input.shape[d] if input.ndim else 1
    except RuntimeError:        # (a strided nested tensor's irregular dim)
        _nested_refusal(input, "index_select", "index_select.default")
        raise
    if nd <= 1:
        _dtype.refuse_few("index_select", input.arr.dtype)
    if _outside(idx, 0, n):
        if isinstance(input.arr, SparseCOO):        # torch's sparse kernel wraps negatives
            sd = input.arr.sparse_dim
            if d >= sd:                 # a gather along the values: no entries, no check
                if input.arr.nnz:
                    bad = int(idx[(idx < 0) | (idx >= n)][0])
                    raise RuntimeError(f"index {bad} is out of bounds for dimension "
                                       f"{d - sd + 1} with size {n}")
                idx = idx * 0
            bad = idx[(idx < -n) | (idx >= n)]
            if bad.size:
                raise IndexError(f"index_select(): index contains {int(bad[0])} that is out of "
                                 f"range for tensor of size {list(input.shape)} at dimension {d}")
            return _finish(apply(_index_select, (input, _new(idx % n, index.be)), (d,)), out,
                           "index_select", True)
        if input.ndim > 1 and (d == 1 or not input.numel()):     # torch's dim-1 kernel checks
            if not n:
                raise RuntimeError("index_select(): self indexing axis dim should be positive")
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
        raise IndexError("index out of range in self")
    return _finish(apply(_index_select, (input, _as_vector(index)), (d,)), out, "index_select",
                   True)


def _index_func_check(input, d, index, source, name):
    """torch's checks for index_add and index_reduce (index_func_meta_impl), in its order, and
    the kernel's: an index outside [0, size) (negative ones too) is out of range."""
    if index.ndim > 1:
        raise IndexError(f"{name}_(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {_dtype_name(index.arr.dtype)} and size: "
                         f"{list(index.shape)}")
    if isinstance(index, Tensor) and index.arr.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}_(): Expected dtype int32/int64 for index but got: "
                           f"{_dtype_name(index.arr.dtype)}")
    idx = _index_vector(index, name)
    try:
        same = input.arr.dtype == source.arr.dtype
    except AttributeError:
        raise _not_tensor(name, source, "source", 4) from None
    if not same:
        raise RuntimeError(f"{name}_(): self ({_dtype_name(input.arr.dtype)}) and source "
                           f"({_dtype_name(source.arr.dtype)}) must have the same scalar type")
    if d != 0 and d >= source.ndim:
        raise RuntimeError(f"{name}_(): Indexing dim {d} is out of bounds of the source tensor "
                           f"with dim {source.ndim}")
    if idx.size != (source.shape[d] if source.ndim else 1):
        if not source.ndim:         # torch's message reads source.size(dim)
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        raise RuntimeError(f"{name}_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({source.shape[d]}), for dim: {d}")
    xs, ss = list(input.shape), list(source.shape)
    if input.ndim and source.ndim:
        del xs[d], ss[d]
    if xs != ss:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    return idx


def _index_range_check(input, d, idx, via_scatter=False):
    """torch's kernels take no negative index. index_add of a 2-D or wider input along its first
    or last dim with an int64 index and alpha 1 is torch's scatter_add, with its message."""
    if input.ndim > 1 and not input.numel():
        return
    n = input.shape[d] if input.ndim else 1
    if not _outside(idx, 0, n):
        return
    if via_scatter and input.ndim > 1 and d in (0, input.ndim - 1) and idx.dtype == np.int64:
        bad = int(idx[(idx < 0) | (idx >= n)][0])
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {n}")
    raise IndexError("index out of range in self")


def _index_check(input, d, idx, source, name):
    n = input.shape[d] if input.ndim else 1
    lo = 0 if name == "index_copy" else -n
    if idx.size and (int(idx.min()) < lo or int(idx.max()) >= n):
        bad = int(idx.max()) if int(idx.max()) >= n else int(idx.min())
        raise IndexError(f"{'index_copy_(): ' if name == 'index_copy' else ''}index {bad} is "
                         f"out of bounds for dimension {d} with size {n}")
    if source is None:
        return
    if source.ndim and input.ndim and (source.ndim != input.ndim or builtins.any(
            source.shape[i] != (idx.size if i == d else input.shape[i])
            for i in range(input.ndim))):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")


@op("index_add", saves=None)
def _index_add(xp, x, idx, src, dim, alpha):
    out = x.copy()
    s = src * alpha if alpha != 1 else src
    if x.ndim == 0:
        out[...] = (out + s.sum()).astype(x.dtype, copy=False)      # (a bool sum is an or)
    elif alpha == 1:
        def f(o, v):
            add_at(xp, o, _along(dim, idx), v)
            return o
        out = _opmath_scatter(xp, out, s.astype(x.dtype, copy=False), f)
    else:
        add_at(xp, out, _along(dim, idx), s.astype(x.dtype, copy=False))
    return out, (idx, dim, alpha, src.shape)


@_index_add.vjp
def _(xp, g, idx, dim, alpha, sshape):
    gs = xp.take(g, idx, axis=dim) if g.ndim else xp.broadcast_to(g, sshape)
    return g, None, (gs * alpha if alpha != 1 else gs).reshape(sshape)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    tensor_args("index_add", ("index", 2, index), ("source", 3, source))
    d = wrap_dim(dim, input.ndim)
    _index_range_check(input, d, _index_func_check(input, d, index, source, "index_add"),
                       alpha == 1)
    return _finish(apply(_index_add, (input, _as_vector(index), source), (d, alpha)), out,
                   "index_add", True)


@op("index_copy", saves=None)
def _index_copy(xp, x, idx, src, dim):
    out = x.copy()
    if x.ndim == 0:
        out[...] = src.reshape(-1)[-1]          # (a repeated index 0: the last value, as torch)
    else:
        out[_along(dim, idx)] = src
    return out, (idx, dim, src.shape)


@_index_copy.vjp
def _(xp, g, idx, dim, sshape):
    if not g.ndim:
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{idx.size} value(s)")
        return xp.zeros_like(g), None, g.reshape(sshape)
    gx = g.copy()
    gx[_along(dim, idx)] = 0
    return gx, None, xp.take(g, idx, axis=dim).reshape(sshape)


def index_copy(input, dim, index, source):
    """torch's index_copy meta function's checks, in its order."""
    tensor_args("index_copy", ("index", 2, index), ("source", 3, source))
    d = wrap_dim(dim, input.ndim)
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    n = index.numel()
    if not source.ndim and n != 1:
        raise IndexError(f"index_copy_(): When source is scalar, index should have one element "
                         f"(got {n})")
    if source.ndim != input.ndim and source.ndim and input.ndim:
        raise IndexError("index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({source.ndim}), "
                         f"destination dimensionality ({input.ndim})")
    if index.arr.dtype != np.int64:
        raise RuntimeError("index_copy_(): Expected a long tensor for index, but got "
                           + _dtype_name(index.arr.dtype))
    _same_dtype(source, input, "index_copy_")
    sliced = [[m for i, m in enumerate(t.shape) if i != d] for t in (input, source)]
    if sliced[0] != sliced[1]:
        raise RuntimeError("index_copy_(): Source/destination tensor must have same slice "
                           f"shapes. Destination slice shape: {' '.join(map(str, sliced[0]))} "
                           f"at dimension {d} and source slice shape: "
                           f"{' '.join(map(str, sliced[1]))} at dimension 0.")
    if source.ndim and n != source.shape[d]:
        raise IndexError(f"index_copy_(): Number of indices ({n}) should be equal to "
                         f"source.size(dim) ({source.shape[d]})")
    _index_check(input, d, index.arr.reshape(-1), None, "index_copy")
    return apply(_index_copy, (input, _as_vector(index), source), (d,))


def _same_dtype(src, input, name):
    if src.arr.dtype != input.arr.dtype:
        raise RuntimeError(f"{name}(): self and source expected to have the same dtype, but got "
                           f"(self) {_dtype_name(input.arr.dtype)} and (source) "
                           f"{_dtype_name(src.arr.dtype)}")
    return src


@op("index_fill", saves=None)
def _index_fill(xp, x, idx, value, dim):
    out = x.copy()
    value = _dtype.through_float(value, x.dtype)
    if x.ndim == 0:
        out[...] = value
    else:
        out[_along(dim, idx)] = value
    return out, (idx, dim, x.ndim)


@_index_fill.vjp
def _(xp, g, idx, dim, nd):
    gx = g.copy()
    sel = _along(dim, idx) if nd else ...
    gx[sel] = 0
    # each filled position once, however often the index names it (torch: unique(index))
    gv = g[_along(dim, xp.unique(idx % g.shape[dim]))].sum() if nd else g
    return gx, None, gv


_VALUE_TYPES = (Tensor, int, float, complex, np.generic)


def _no_overload(name, *args, **kwargs):
    """torch's overload-resolution TypeError; args and kwargs: the call's arguments, named by
    type in the message as torch does."""
    got = [type(a).__name__ for a in args] + [f"{k}={type(v).__name__}"
                                              for k, v in kwargs.items() if v is not None]
    return TypeError(f"{name}() received an invalid combination of arguments - got "
                     f"({', '.join(got)})")


def _value_arg(name, value, *args, **kwargs):
    """_no_overload's TypeError where `value` is neither a Tensor nor a number."""
    if not isinstance(value, _VALUE_TYPES):
        raise _no_overload(name, *args, **kwargs)


def index_fill(input, dim, index, value):
    d = wrap_dim(dim, input.ndim)
    if isinstance(index, Tensor) and index.arr.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    idx = _index_vector(index, "index_fill")
    _index_check(input, d, idx, None, "index_fill")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = value.to(input.dtype)
        return _retype(apply(_index_fill, (input, index, value), (d,)), "IndexFillBackward1")
    else:
        _value_arg("index_fill", value, dim, index, value)
        if isinstance(value, (complex, np.complexfloating)) and not input.is_complex():
            raise RuntimeError("index_fill_(): Converting complex Scalar to non-complex type is "
                               "not supported")
        _dtype.refuse_few("index_fill", input.arr.dtype)   # (the kernel refuses before the value)
        value = _fill_value(value, input.arr.dtype)
    return apply(_index_fill, (input, index, value), (d,))


# ---- gather / scatter -------------------------------------------------------------------------
def _grid(xp, index, dim):
    """Open-grid NumPy index addressing x[..., index[...], ...] along `dim` (gather/scatter)."""
    nd = index.ndim
    out = []
    for i, n in enumerate(index.shape):
        if i == dim:
            out.append(index)
        else:
            out.append(xp.arange(n).reshape((n,) + (1,) * (nd - i - 1)))
    return tuple(out)


def _addressed(xp, a, index, dim):
    """(view, positions) that address a[_grid(index, dim)] for reads, writes and `_ufunc_at`.
    For a C-contiguous NumPy array the view is `a` flattened and the positions are flat (1-D
    when writing/accumulating whole-index values): NumPy's multi-array fancy indexing and
    ufunc.at over an open grid are 3-10x slower than over one flat index. The index must be
    in range (callers check it)."""
    if xp is not np or a.ndim < 2 or not a.flags.c_contiguous or index.ndim != a.ndim or \
            not a.size:
        return a, _grid(xp, index, dim)
    step = math.prod(a.shape[dim + 1:])
    flat = index * step if step != 1 else index.astype(np.intp)
    for i, n in enumerate(index.shape):
        if i != dim and n > 1:
            flat += np.arange(0, n * math.prod(a.shape[i + 1:]), math.prod(a.shape[i + 1:]),
                              dtype=flat.dtype).reshape((n,) + (1,) * (index.ndim - i - 1))
    return a.reshape(-1), flat


def _gathered(xp, a, index, dim):
    """a[_grid(index, dim)]."""
    view, at = _addressed(xp, a, index, dim)
    return view[at]


def _check_gather(input, dim, index, name, src=None):
    try:
        ia = index.arr
    except AttributeError:
        raise _not_tensor(name, index, "index", 3) from None
    if ia.dtype != np.int64 and ia.dtype != np.int32 and ia.size:   # (torch: empty ones pass)
        raise RuntimeError(f"{'gather' if name == 'gather' else 'scatter'}(): Expected dtype "
                           "int32/int64 for index")
    try:
        xs, js = input.arr.shape, ia.shape
    except AttributeError:
        raise _not_tensor(name, input) from None
    d = wrap_dim(dim, len(xs))
    if src is not None and src.arr.dtype != input.arr.dtype:   # (torch: before any shape check)
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if len(js) != len(xs) and ia.size and xs:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor"
                           if name == "gather" else "Index tensor must have the same number of "
                           "dimensions as self tensor")
    xs, js = xs or (1,), js or (1,)
    ss = src.arr.shape if src is not None and src.arr.ndim else None
    if ss is not None and len(ss) < len(js) and ia.size:       # torch reads src.size(d)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-len(ss)}, "
                         f"{len(ss) - 1}], but got {len(ss)})")
    if name != "gather" and any(i != d and j > n or ss is not None and j > ss[i]
                                for i, (j, n) in enumerate(zip(js, xs))):
        # torch's scatter_shape_check: one message for self and src
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {d}" +
                           (f" and to be no larger size than src {list(ss)}" if ss is not None
                            else ""))
    for i, (j, n) in enumerate(zip(js, xs)):
        if i != d and j > n:
            raise RuntimeError(f"Size does not match at dimension {i} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}")
        if ss is not None and j > ss[i]:
            raise RuntimeError(f"Size does not match at dimension {i} expected index "
                               f"{list(index.shape)} to be no larger than src {list(ss)}")
    if ss is not None and len(ss) != len(js) and ia.size:     # (its kernel's check)
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    n = xs[d]
    if _outside(ia, 0, n):
        lo, hi = int(ia.min()), int(ia.max())
        raise RuntimeError(f"index {lo if lo < 0 else hi} is out of bounds for dimension {d} "
                           f"with size {n}")
    return d


def _fit(xp, a, shape):
    """`a` cut to `shape` (index may be smaller than input/src apart from the scatter dim)."""
    if a.shape == tuple(shape):
        return a
    return a[tuple(slice(0, n) for n in shape)]


@op("gather", saves=None)
def _gather(xp, x, index, dim):
    if not index.size:      # (any dtype and rank: torch gathers nothing)
        return xp.zeros(index.shape, x.dtype), (x.shape, index, dim)
    if x.ndim == 0:
        return x.reshape(index.shape).copy(), (x.shape, index, dim)
    return _gathered(xp, x, index, dim), (x.shape, index, dim)


@_gather.vjp
def _(xp, g, shape, index, dim):
    out = xp.zeros(shape, g.dtype)
    if not shape:
        return (g.sum().reshape(()),)
    if not index.size:
        return (out,)
    view, at = _addressed(xp, out, index, dim)
    add_at(xp, view, at, g)
    return (out,)


@op("gather_sparse_grad", saves=None, node="GatherBackward0")
def _gather_sparse_grad(xp, x, index, dim):
    from ..sparse._coo import _stamp
    y, (shape, index, dim) = _gather.impl[0][0](xp, x, index, dim)
    return y, (shape, index, dim, _stamp())


@_gather_sparse_grad.vjp
def _(xp, g, shape, index, dim, seq):
    """torch's _gather_sparse_backward: an uncoalesced COO gradient, one entry per gathered
    element (in index's C order) at its source position."""
    from ..sparse._coo import _grad
    at = xp.indices(index.shape).reshape(index.ndim, -1)
    at[dim] = index.reshape(-1)
    return (_grad(at.astype(np.int64), g.reshape(-1), shape, xp, seq),)


contiguous_outputs("gather")    # (torch's gather allocates empty(index.sizes()): contiguous)


def gather(input, dim, index, *, sparse_grad=False, out=None):
    if out is not None:
        check_out_overlap(out, (input,), {}, True)
        check_out_overlap(out, (index,), {})        # (the index only in part, as torch)
    try:
        d = _check_gather(input, dim, index, "gather")
    except (TypeError, RuntimeError):
        _nested_refusal(input, "gather", "gather.default")
        raise
    if sparse_grad and input.ndim:
        return _finish(apply(_gather_sparse_grad, (input, index), (d,)), out, "gather", True)
    return _finish(apply(_gather, (input, index), (d,)), out, "gather", True)


@op("scatter", saves=None)
def _scatter(xp, x, index, src, dim, reduce):
    out = x.copy()
    sshape = getattr(src, "shape", None)
    if not index.size:
        return out, (index, dim, False, sshape)
    if x.ndim == 0:
        s = src if sshape is None else src.reshape(-1)[0]
        if reduce is not None:      # (a number value in self's dtype first, as torch's kernel)
            s = xp.asarray(s, dtype=x.dtype)
            s = out + s if reduce == "add" else out * s
        out[...] = s
        return out, (index, dim, True, sshape)
    view, at = _addressed(xp, out, index, dim)
    s = _fit(xp, src, index.shape) if hasattr(src, "shape") and src.ndim else src
    if reduce is None:
        view[at] = s
    else:
        def f(o, v):
            w, a = _addressed(xp, o, index, dim)
            _ufunc_at(xp, {"add": "add", "multiply": "multiply"}[reduce], w, a,
                      xp.broadcast_to(v, index.shape))
            return o
        out = _opmath_scatter(xp, out, xp.asarray(s, dtype=x.dtype), f)
    return out, (index, dim, x.ndim == 0, getattr(src, "shape", None))


@_scatter.vjp
def _(xp, g, index, dim, zero_d, sshape):
    gx = g.copy()
    if zero_d:
        gx[...] = 0
        return gx, None, None if sshape is None else xp.broadcast_to(g, sshape)
    if not index.size:
        return gx, None, None if sshape is None else xp.zeros(sshape, g.dtype)
    view, at = _addressed(xp, gx, index, dim)
    view[at] = 0
    gs = None if sshape is None else _pad_to(xp, _gathered(xp, g, index, dim), sshape)
    return gx, None, gs


def _pad_to(xp, gs, shape):
    """A gradient for an operand larger than the index (the extra elements get zero)."""
    if gs.shape == tuple(shape):
        return gs
    full = xp.zeros(shape, gs.dtype)
    full[tuple(slice(0, n) for n in gs.shape)] = gs
    return full


def warn_complex_to_real(src_dtype, dst_dtype):
    """torch warns once a process when a copy or cast drops imaginary parts (NumPy's own
    ComplexWarning is silenced inside ember); a cast to bool reads both parts."""
    if src_dtype.kind == "c" and dst_dtype.kind not in "cb":
        _warn_once("Casting complex values to real discards the imaginary part")


def scatter(input, dim, index, src=None, *, value=None, reduce=None, out=None):
    if src is None:
        src = value
    if isinstance(src, Tensor):
        if reduce is not None:      # (torch warns before any check of the arguments)
            _warn_once("The reduce argument of torch.scatter with Tensor src is deprecated and "
                       "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                       "instead for more reduction options.")
        d = _check_gather(input, dim, index, "scatter", src)
    else:
        _value_arg("scatter", src, dim, index, src, reduce=reduce)
        d = _check_gather(input, dim, index, "scatter")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    t = apply(_scatter, (input, index, src), (d, reduce))
    if t.grad_fn is not None and reduce is not None:    # torch: no derivative, refused at backward
        t.grad_fn.__class__, t.grad_fn.bwd = _NOT_IMPLEMENTED, _no_scatter_derivative
    elif t.grad_fn is not None and not isinstance(src, Tensor):
        t.grad_fn.__class__ = _SCATTER_VALUE     # torch's scatter.value overload
    return _finish(t, out, "scatter", True)


_no_scatter_derivative = refused_backward("scatter")


_SCATTER_VALUE = _node_class("ScatterBackward1")
_NOT_IMPLEMENTED = _node_class("torch::autograd::NotImplemented")


def scatter_add(input, dim, index, src):
    return _scatter_reduce_any(input, dim, index, src, "sum", name="scatter_add")


@op("scatter_reduce", saves="both")
def _scatter_reduce(xp, x, index, src, dim, reduce, include_self):
    if reduce in ("sum", "prod", "mean"):
        res = _opmath_scatter(xp, x, src, lambda a, b: _scatter_reduce_arr(
            xp, a, index, b, dim, reduce, include_self, x.dtype))
    else:
        res = _scatter_reduce_arr(xp, x, index, src, dim, reduce, include_self)
    return res, (x, index, src, res, dim, reduce, include_self)


def _opmath_scatter(xp, x, src, f):
    """f(x, src), a scatter that adds or multiplies: float16/bfloat16 through float32 and
    rounded once, as torch's scatter_add, index_add and scatter_reduce('sum', 'prod', 'mean')
    accumulate (its index_put(accumulate=True) and index_reduce round every step, in the
    dtype: they call _scatter_reduce_arr directly)."""
    if x.dtype.char not in "eE":
        return f(x, src)
    return f(x.astype(np.float32), xp.asarray(src).astype(np.float32)).astype(x.dtype)


def _scatter_reduce_arr(xp, x, index, src, dim, reduce, include_self, mean_dtype=None):
    """`mean_dtype`: the dtype the sum of a mean is rounded to before its division (torch's
    float16/bfloat16 sum, accumulated in float32)."""
    out, shape = x.copy(), x.shape
    if not index.size:
        return out
    if x.ndim == 0:
        x, out, index, src = x.reshape(1), out.reshape(1), index.reshape(1), src.reshape(1)
    grid = _grid(xp, index, dim)
    s = _fit(xp, src, index.shape)
    if reduce in ("sum", "mean"):
        view, at = _addressed(xp, out, index, dim)
        if not include_self:
            view[at] = 0
        _ufunc_at(xp, "add", view, at, s)
        if reduce == "mean":
            count = xp.ones(x.shape, np.int64) if include_self else xp.zeros(x.shape, np.int64)
            if not include_self:
                count[grid] = 0
            _ufunc_at(xp, "add", count, grid, xp.ones(index.shape, np.int64))
            count = xp.maximum(count, 1)
            if mean_dtype is not None and mean_dtype != out.dtype:
                out = out.astype(mean_dtype).astype(out.dtype)
            out = out // count.astype(out.dtype) if out.dtype.kind in "iub" else \
                (out / count).astype(out.dtype)
    else:
        name = {"prod": "multiply", "amax": "maximum", "amin": "minimum"}[reduce]
        if not include_self:
            out[grid] = _identity(xp, name, x.dtype)
        _ufunc_at(xp, name, out, grid, s)
    return out.reshape(shape) if out.shape != shape else out


def _identity(xp, name, dtype):
    """The reduction's identity in `dtype` (bfloat16, kind 'V', is a float)."""
    if name == "multiply":
        return 1
    if dtype.kind == "b":
        return name == "minimum"
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min if name == "maximum" else info.max
    return -np.inf if name == "maximum" else np.inf


@_scatter_reduce.vjp
def _(xp, g, x, index, src, res, dim, reduce, include_self):
    if x.ndim == 0:
        g0 = g.reshape(1)
        gx, gs = _scatter_reduce_grads(xp, g0, x.reshape(1), index.reshape(-1), src.reshape(-1),
                                       res.reshape(1), 0, reduce, include_self)
        return gx.reshape(()), None, gs.reshape(src.shape)
    gx, gs = _scatter_reduce_grads(xp, g, x, index, src, res, dim, reduce, include_self)
    return gx, None, _pad_to(xp, gs, src.shape)


@op("index_reduce", saves="both", node="IndexReduceBackward0")
def _index_reduce(xp, x, index, src, dim, reduce, include_self):
    """scatter_reduce with the (1-d) index spread over source's other dims."""
    shape = [1] * builtins.max(src.ndim, 1)
    shape[dim] = -1
    full = index.astype(np.int64, copy=False).reshape(shape)
    full = xp.broadcast_to(full, src.shape) if src.ndim else full.reshape(())
    res = _scatter_reduce_arr(xp, x, full, src, dim, reduce, include_self)
    return res, (x, full, src, res, dim, reduce, include_self)


_index_reduce.vjp(_scatter_reduce.impl[0][1])


def _scatter_reduce_grads(xp, g, x, index, src, res, dim, reduce, include_self):
    """torch's scatter_reduce_backward (FunctionsManual.cpp), on arrays."""
    if not index.size:
        return g, xp.zeros(src.shape, g.dtype)
    grid = _grid(xp, index, dim)
    s = _fit(xp, src, index.shape)
    if reduce == "sum":
        gx, gs = g, g[grid]
    elif reduce == "mean":
        n = xp.ones(x.shape, g.dtype) if include_self else xp.zeros(x.shape, g.dtype)
        _ufunc_at(xp, "add", n, grid, xp.ones(index.shape, g.dtype))
        n = xp.where(n == 0, 1, n)
        gx = g / n
        gs = gx[grid]
    elif reduce == "prod":
        masked_self = xp.where(x == 0, 1, x)
        masked_res = _scatter_reduce_arr(xp, masked_self, index, src, dim, "prod", include_self)
        gx = g * masked_res / masked_self
        src_zero = s == 0
        nz = xp.zeros(x.shape, g.dtype)
        _ufunc_at(xp, "add", nz, grid, src_zero.astype(g.dtype))
        nz = nz[grid]
        single = src_zero & (nz == 1)
        masked_src = xp.where(single, 1, s)
        masked_src_res = _scatter_reduce_arr(xp, x, index, masked_src, dim, "prod", include_self)
        gs = xp.where(single, (g * masked_src_res)[grid],
                      (g * res)[grid] / xp.where(src_zero, 1, s))
        gs = xp.where(nz > 1, 0, gs)
    else:       # amax / amin: split evenly among the ties; torch counts a self value equal
        value = res[grid]           # to the result even when self is excluded
        self_is = (x == res).astype(g.dtype)
        src_is = (s == value).astype(g.dtype)
        n = self_is.copy()
        _ufunc_at(xp, "add", n, grid, src_is)
        dist = g / xp.where(n == 0, 1, n)
        gx = self_is * dist
        gs = src_is * dist[grid]
    if not include_self:
        gx = gx.copy()
        gx[grid] = 0
    return gx, gs


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    # torch has complex derivatives for scatter_add, not for scatter_reduce
    return no_complex_grad(_scatter_reduce_any(input, dim, index, src, reduce, include_self),
                           "scatter_reduce")


def _scatter_reduce_any(input, dim, index, src, reduce, include_self=True,
                        name="scatter_reduce"):
    tensor_args(name, ("index", 2, index), ("src", 3, src))
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)     # torch accepts these too
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d = _check_gather(input, dim, index, "scatter_reduce" if reduce != "sum" or not include_self
                      else "scatter_add", src)
    if input.arr.dtype.kind == "c" and reduce in ("amax", "amin") or \
            input.arr.dtype == bool and reduce == "mean":
        raise NotImplementedError(f"\"scatter_gather_tensor_cpu_reduce_{reduce}\" not implemented "
                                  f"for '{_dtype_name(input.arr.dtype)}'")
    if name == "scatter_add":
        return apply(_scatter_add, (input, index, src), (d,))
    return apply(_scatter_reduce, (input, index, src), (d, reduce, include_self))


@op("scatter_add", saves=None)
def _scatter_add(xp, x, index, src, dim):
    res = _opmath_scatter(xp, x, src,
                          lambda a, b: _scatter_reduce_arr(xp, a, index, b, dim, "sum", True))
    return res, (index, dim, src.shape)


@_scatter_add.vjp
def _(xp, g, index, dim, sshape):
    if not index.size:
        return g, None, xp.zeros(sshape, g.dtype)
    if g.ndim == 0:
        return g, None, xp.broadcast_to(g, sshape)
    return g, None, _pad_to(xp, _gathered(xp, g, index, dim), sshape)


# ---- masked ops -------------------------------------------------------------------------------
def _check_mask(mask, name):
    tensor_arg(name, mask, "mask", None)
    if mask.arr.dtype != np.bool_:
        dtype = cname(mask.arr.dtype)
        if name == "masked_scatter_":   # its check names the ScalarType, after a warning
            if mask.arr.dtype == np.uint8:
                warnings.warn("masked_scatter_ received a mask with dtype torch.uint8, this "
                              "behavior is now deprecated,please use a mask with dtype "
                              "torch.bool instead.", UserWarning, stacklevel=_outside_stacklevel())
            dtype = _dtype_name(mask.arr.dtype)
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {dtype}")


@op("masked_fill", saves=None)
def _masked_fill(xp, x, mask, value):
    value = _dtype.through_float(value, x.dtype)
    return fast_where(xp, mask, xp.asarray(value, dtype=x.dtype), x), \
        (mask, value is not None and hasattr(value, "shape"))


@_masked_fill.vjp
def _(xp, g, mask, tensor_value):
    zero = xp.zeros((), g.dtype)
    gx = fast_where(xp, mask, zero, g)
    gv = _masked_sum(xp, g, mask, zero) if tensor_value else None
    return gx, None, gv


def _masked_sum(xp, g, mask, zero):
    """torch's masked_fill_backward of the value: grad.masked_select(mask).sum(), the
    selected elements (in C order) added in its sum kernel's order."""
    if type(g) is np.ndarray and g.dtype.char in "fd":
        from ._torch_sum import torch_sum
        sel = g[np.broadcast_to(mask, g.shape)] if mask.shape != g.shape else g[mask]
        r = torch_sum(sel, None, False)
        if r is not None:
            return np.asarray(r + zero)         # (torch's sums start from +0)
        return np.asarray(sel.sum(dtype=g.dtype) + zero)
    return xp.where(mask, g, zero).sum()


def masked_fill(input, mask, value):
    if type(value) is float or type(value) is int:
        t = quick_where(mask, value, input)         # (the same blend)
        if t is not None:
            return t
    _check_mask(mask, "masked_fill_")
    _value_arg("masked_fill_", value, mask, value)
    if mask.arr.shape != input.arr.shape and not input.is_nested:    # (a nested one's: its
        _broadcastable(mask.shape, input.shape)                      # kernel's checks)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if value.be is not input.be:
            value = value.to(input.device)
        if value.arr.dtype.kind == "c" and input.arr.dtype.kind != "c":
            _fill_value(value.item(), input.arr.dtype)      # torch's checked item(): imag == 0
            value = value.real
        t = apply(_masked_fill, (input, mask, value))
        if t.grad_fn is not None:
            t.grad_fn.__class__ = _MASKED_FILL_TENSOR   # torch's masked_fill.Tensor overload
        return contiguous_out(t)
    _dtype.refuse_few("masked_fill", input.arr.dtype)       # (the kernel refuses before the value)
    return contiguous_out(apply(_masked_fill, (input, mask, _fill_value(value, input.arr.dtype))))


_MASKED_FILL_TENSOR = _node_class("MaskedFillBackward1")


@op("masked_select", saves=None)
def _masked_select(xp, x, mask):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    m = xp.broadcast_to(mask, shape)
    return xp.broadcast_to(x, shape)[m], (shape, m)


@_masked_select.vjp
def _(xp, g, shape, m):
    out = xp.zeros(shape, g.dtype)
    out[m] = g
    return (out,)


def masked_select(input, mask, *, out=None):
    if out is not None:
        _overlap.check_internal(out)
        check_out_overlap(out, (input, mask), {}, True)
    if isinstance(mask, Tensor) and mask.arr.dtype != np.bool_:     # its own wording
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    _check_mask(mask, "masked_select")
    try:
        shape = input.shape
        _broadcastable(mask.shape, shape)
    except AttributeError:
        raise _not_tensor("masked_select", input) from None
    except (TypeError, RuntimeError):
        _nested_refusal(input, "masked_select", "masked_select.default")
        raise
    if isinstance(out, Tensor) and out.arr.dtype != input.arr.dtype:
        raise RuntimeError("masked_select(): self and result must have the same scalar type")
    return _finish(apply(_masked_select, (input, mask)), out, "masked_select", True)


def _broadcastable(a, b):
    """torch's infer_size check (the dimension numbered in the broadcast shape)."""
    n = builtins.max(len(a), len(b))
    for i in range(1, builtins.min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor b "
                               f"({b[-i]}) at non-singleton dimension {n - i}")


@op("masked_scatter", saves=None)
def _masked_scatter(xp, x, mask, src):
    m = xp.broadcast_to(mask, x.shape) if mask.shape != x.shape else mask
    out = x.copy()
    n = int(m.sum())
    out[m] = src.reshape(-1)[:n]
    return out, (m, n, src.shape)


@_masked_scatter.vjp
def _(xp, g, m, n, sshape):
    gx = xp.where(m, xp.zeros((), g.dtype), g)
    gs = xp.zeros(int(np.prod(sshape)), g.dtype)
    gs[:n] = g[m]
    return gx, None, gs.reshape(sshape)


def masked_scatter(input, mask, source):
    """torch's masked_scatter: self and the mask broadcast together first, then the dtype checks
    (Tensor.masked_scatter_ checks those first: _masked_scatter_inplace_check)."""
    tensor_args("masked_scatter", ("mask", 1, mask), ("source", 2, source))
    _broadcastable(mask.shape, input.shape)     # (torch's expand_outplace(mask, self))
    _masked_scatter_dtypes(input, mask, source)
    shape = np.broadcast_shapes(input.shape, mask.shape)
    if shape != input.shape:
        from .shape import expand
        input = expand(input, shape)
    repeats = math.prod(shape) // builtins.max(mask.numel(), 1)   # (each mask element's copies)
    if int(mask.arr.sum()) * repeats > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return apply(_masked_scatter, (input, mask, source))


def _masked_scatter_dtypes(input, mask, source):
    if source.arr.dtype != input.arr.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_dtype_name(input.arr.dtype)} and {_dtype_name(source.arr.dtype)}")
    _check_mask(mask, "masked_scatter_")


def _masked_scatter_inplace_check(self, args, kwargs):
    """Tensor.masked_scatter_'s order, when the out-of-place op refused: the dtypes, then the
    mask expanded to self's shape."""
    mask = args[0] if args else kwargs.get("mask")
    source = args[1] if len(args) > 1 else kwargs.get("source")
    if not (isinstance(mask, Tensor) and isinstance(source, Tensor)):
        return
    if source.arr.dtype != self.arr.dtype or mask.arr.dtype not in (np.bool_, np.uint8):
        _masked_scatter_dtypes(self, mask, source)
    from .shape import expanded_sizes
    expanded_sizes("", mask.shape, tuple(self.shape))


# ---- take / take_along_dim / put --------------------------------------------------------------
@op("take", saves=None)
def _take(xp, x, index):
    return x.reshape(-1)[index], (x.shape, index)


@_take.vjp
def _(xp, g, shape, index):
    rows = index.reshape(-1)
    return (index_add_rows(xp, int(np.prod(shape)), rows, g.reshape(rows.shape)).reshape(shape),)


def take(input, index, *, out=None):
    if out is not None:
        check_out_overlap(out, (input, index), {}, True)     # (torch: neither may overlap)
    try:
        n, long = input.numel(), index.arr.dtype == np.int64
    except AttributeError:
        raise_not_tensor("take", ("input", 1, input), ("index", 2, index))
    if not long:
        raise RuntimeError("take(): Expected a long tensor for index, but got "
                           + _dtype_name(index.arr.dtype))
    a = index.arr
    if a.size and (int(a.min()) < -n or int(a.max()) >= n):
        bad = int(a.max()) if int(a.max()) >= n else int(a.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return _finish(apply(_take, (input, index)), out, "take", True)


def take_along_dim(input, indices, dim=None, *, out=None):
    from .shape import expand
    if dim is None:     # torch: input.view(-1).gather(0, indices.view(-1))
        return _finish(gather(input.view(-1), 0, indices.view(-1)), out, "take_along_dim", True)
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    if indices.arr.dtype != np.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           + _dtype_name(indices.arr.dtype))
    d = wrap_dim(dim, input.ndim)
    shp_i, shp_x = list(indices.shape), list(input.shape)
    shp_i[d] = shp_x[d] = 1
    _broadcastable(input.shape[:d] + (indices.shape[d],) + input.shape[d + 1:], indices.shape)
    bshape = list(np.broadcast_shapes(tuple(shp_i), tuple(shp_x)))
    xs, ix = list(bshape), list(bshape)
    xs[d], ix[d] = input.shape[d], indices.shape[d]
    x = input if tuple(xs) == input.shape else expand(input, xs)
    i = indices if tuple(ix) == indices.shape else expand(indices, ix)
    n, a = input.shape[d], i.arr
    if a.size and ((a < 0) | (a >= n)).any():     # torch takes them modulo the dim's size
        if not n:
            raise RuntimeError("ZeroDivisionError")
        i = _new(a % n, i.be)
    return _finish(gather(x, d, i), out, "take_along_dim", True)


def put(input, index, source, accumulate=False):
    if not isinstance(source, Tensor):
        raise _not_tensor("put", source, "source", 3)
    if index.arr.dtype != np.int64:
        raise RuntimeError("put_(): Expected a long tensor for index, but got "
                           + _dtype_name(index.arr.dtype))
    if source.arr.dtype != input.arr.dtype:
        raise RuntimeError("put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_dtype_name(input.arr.dtype)} and source.dtype = "
                           f"{_dtype_name(source.arr.dtype)}")
    if source.numel() != index.numel():
        raise IndexError("put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.numel()}, index.numel() = "
                         f"{index.numel()}")
    _flat_index(input, index)
    return apply(_put_op, (input, index, _value_for(input, source)), (bool(accumulate),))


@op("put")
def _put_op(xp, x, index, source, accumulate):
    """input's elements at `index` (flat, as if contiguous) written (or added) from source."""
    out = x.reshape(-1).copy()
    idx = index.reshape(-1)
    _put(xp, out, idx, source.reshape(-1), accumulate)
    return out.reshape(x.shape), (idx, source.shape, accumulate)


@_put_op.vjp
def _(xp, g, idx, sshape, accumulate):
    """torch's PutBackward0: g (zeroed where written unless accumulating), and g at index."""
    flat = g.reshape(-1)
    if accumulate:
        gx = g
    else:
        gx = flat.copy()
        gx[idx] = 0
        gx = gx.reshape(g.shape)
    return gx, None, flat[idx].reshape(sshape)


def _flat_index(input, index):
    a = index.arr.reshape(-1)
    n = input.numel()
    if a.size and (int(a.min()) < -n or int(a.max()) >= n):
        raise IndexError(f"out of range: tried to access index {int(a.max())} on a tensor of "
                         f"{n} elements.")
    return a


# ---- nonzero / sorting / searching ------------------------------------------------------------
def nonzero(input, *, out=None, as_tuple=False):
    try:
        a = input.arr
    except AttributeError:
        raise _not_tensor("nonzero", input) from None
    _dtype.refuse_few("nonzero", a.dtype)
    xp = input.be.xp
    if a.ndim == 0:
        idx = (xp.zeros(int(bool(a)), np.int64),)
        if as_tuple:
            return tuple(_new(i, input.be) for i in idx)
        return _new(_columns(xp, xp.zeros((0, int(bool(a))), np.int64)), input.be)
    idx = xp.nonzero(a)
    if as_tuple:
        return tuple(_new(i.astype(np.int64), input.be) for i in idx)
    if isinstance(out, Tensor) and out.arr.dtype != np.int64:
        raise RuntimeError("nonzero: Expected out tensor to have scalar type Long but got scalar "
                           f"type{_dtype_name(out.arr.dtype)}")
    return _finish(_new(_columns(xp, xp.stack(idx).astype(np.int64, copy=False) if idx else
                                 xp.zeros((0, 0), np.int64)), input.be), out, "nonzero", True)


def _columns(xp, rows):
    """nonzero's (n, ndim) result as torch lays it out: the (ndim, n) rows transposed, strides
    (1, n), an empty one's too (NumPy would zero them)."""
    r = rows.T
    if not r.size and xp is np:
        r = np.lib.stride_tricks.as_strided(r, r.shape, (8, 8 * r.shape[0]))
    return r


def nonzero_static(input, *, size, fill_value=-1):
    """nonzero() with exactly `size` rows: truncated, or padded with `fill_value`."""
    if not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    idx = nonzero(input).arr[:size]
    xp = input.be.xp
    pad = xp.full((size - idx.shape[0], idx.shape[1]), fill_value, np.int64)
    return _new(xp.ascontiguousarray(xp.concatenate([idx, pad])), input.be)  # (row-major)


def argwhere(input):
    return nonzero(input)


SORT, TOPK = _return_type("sort"), _return_type("topk")


def _argsort(xp, x, axis, descending, kind="stable"):
    """Stable argsort; descending keeps equal elements in their original order, NaN first.
    (kind=None: NumPy's faster unstable sort, the same order for rows without equal values.)"""
    if x.dtype.kind == "V":         # bfloat16: NumPy's argsort misplaces its NaNs
        x = x.astype(np.float32)
    # (NumPy's arrays through the method: np.argsort is a Python wrapper around it)
    sort = np.ndarray.argsort if type(x) is np.ndarray else xp.argsort
    if not descending:
        return sort(x, axis=axis, kind=kind)
    n = x.shape[axis]
    rev = xp.flip(x, axis)
    i = sort(rev, axis=axis, kind=kind)
    return xp.flip(n - 1 - i, axis)


def _put_along(xp, shape, idx, g, dim):
    out = xp.zeros(shape, g.dtype)
    out[_grid(xp, idx, dim)] = g
    return out


def _unstable_argsort(xp, x, dim, descending, values=False):
    """torch's CPU sort without `stable`: libstdc++'s std::sort, which moves equal values about
    once a row is over 16 long (but sorts 1-d integer tensors of 32768 or more ascending with
    a stable radix sort).  A stable sort, with the rows holding equal values redone its way.
    `values`: (the order, x sorted where the tie check gathered it along the last dim, else
    None) (sort's values without gathering them twice)."""
    if xp is not np:
        from ..autograd.higher_order import _raw
        raw = _raw(x)
        if isinstance(raw, np.ndarray):     # double backward's namespace over NumPy: the same
            return _unstable_argsort(np, raw, dim, descending, values)   # order as the forward's
    n = x.shape[dim]
    if (xp is not np or n <= 16 or x.strides[dim] == 0
            or (x.ndim == 1 and not descending and x.dtype.kind in "iu" and n >= 32768)):
        i = _argsort(xp, x, dim, descending)
        return (i, None) if values else i
    # rows without equal values sort the same any way: NumPy's unstable sort (2-3x faster),
    # the stable order computed only where rows with equal values are not all redone
    return _ties_as_torch(x, _argsort(xp, x, dim, descending, None), dim, n,
                          lambda row: _stl_select.sort_row(row, descending),
                          stable=lambda: _argsort(xp, x, dim, descending), values=values)


def _ties_as_torch(x, order, dim, k, redo_row, every_row=False, stable=None, values=False):
    """The first k along `dim` of `order` (a stable sort of `x`), where the rows holding equal
    values among their first k + 1 (every row, if `every_row`) are `redo_row(row values)`.
    Past _stl_select.BUDGET elements to redo, the stable order stands (`stable()` gives it
    where `order` is another sort's). `values` (k the whole dim): (the order, x gathered by it
    where that was gathered here (the last dim, no row redone), else None)."""
    n = x.shape[dim]
    last = _to_last(order, dim)
    first = last[..., :k]
    rows = _to_last(x, dim).reshape(-1, n)
    if every_row:
        redo = range(len(rows))
    else:
        top = _take_rows(rows, last.reshape(-1, n)[:, :k + 1])
        same = top[:, 1:] == top[:, :-1]
        if top.dtype.kind not in "iub":
            nan = np.isnan(top)
            same |= nan[:, 1:] & nan[:, :-1]
        redo = np.flatnonzero(same.any(1)) if same.any() else ()
        if values and not len(redo) and dim == x.ndim - 1:
            return first, top.reshape(x.shape)      # (k == n: top is every row, sorted)
    if len(redo) and len(redo) * n > _stl_select.BUDGET and stable is not None:
        first = _from_last(_to_last(stable(), dim)[..., :k], dim)
        return (first, None) if values else first
    if len(redo) and len(redo) * n <= _stl_select.BUDGET:
        out = first.reshape(-1, k).copy()
        for r in redo:
            out[r] = redo_row(rows[r])
        first = out.reshape(first.shape)
    first = _from_last(first, dim)
    return (first, None) if values else first


def _to_last(a, dim):
    """np.moveaxis(a, dim, -1) (a view), without NumPy's Python wrapper."""
    nd = a.ndim
    if dim == nd - 1:
        return a
    axes = list(range(nd))
    axes.append(axes.pop(dim))
    return a.transpose(axes)


def _from_last(a, dim):
    """np.moveaxis(a, -1, dim) (a view), without NumPy's Python wrapper."""
    nd = a.ndim
    if dim == nd - 1:
        return a
    axes = list(range(nd - 1))
    axes.insert(dim, nd - 1)
    return a.transpose(axes)


def _take_rows(rows, idx):
    """np.take_along_axis(rows, idx, 1) of 2-D arrays, without NumPy's Python wrapper (one
    row: a 1-d gather, half the cost of the broadcast pair of indices)."""
    if len(rows) == 1:
        return rows[0][idx]
    return rows[np.arange(len(rows))[:, None], idx]


def _take_along(xp, x, i, dim):
    """xp.take_along_axis(x, i, dim); NumPy's 1-D and last-dim 2-D ones indexed directly."""
    if xp is np:
        if x.ndim == 1:
            return x[i]
        if x.ndim == 2 and dim == 1:
            return _take_rows(x, i)
    return xp.take_along_axis(x, i, dim)


@op("sort", saves=None, n_out=2)
def _sort(xp, x, dim, descending, stable):
    if x.ndim == 0:
        return (x.copy(), xp.zeros((), np.int64)), ((), None, 0)
    if xp is np and x.ndim > 1 and 0 < x.size <= 4096 and x.dtype.char in "ef":
        # distinct finite values sort the same any way (stable or torch's std::sort): one
        # float sort of the values with their positions in the low bits (_topk_by_sort), 1.7x
        # faster on 32 rows of 64 (a single row: no faster than the argsort)
        r = _topk_by_sort(x, x.shape[dim], dim, descending)
        if r is not None:
            if not (x.flags.c_contiguous and 1 not in x.shape):
                r = tuple(_preserved(x, a) for a in r)
            return r, (x.shape, r[1], dim)
    if stable:
        i, v = _argsort(xp, x, dim, descending), None
    else:
        i, v = _unstable_argsort(xp, x, dim, descending, True)
    if v is None:
        v = _take_along(xp, x, i, dim)
    i = i.astype(np.int64)
    if xp is np and not (x.flags.c_contiguous and 1 not in x.shape):
        v, i = _preserved(x, v), _preserved(x, i)
    return (v, i), (x.shape, i, dim)


def _preserved(x, y):
    """y (a new array of x's shape) with the strides of torch's empty_like(x): sort's values
    and indices keep a transposed input's layout."""
    from .._memory_format import relaid
    return relaid(x, y if y.base is None else y.copy())


@_sort.vjp
def _(xp, g, shape, i, dim):
    if i is None:
        return (g[0],)
    return (_put_along(xp, shape, i, g[0], dim),)


def _no_complex_sort(input, name="Sort"):
    if input.arr.dtype.kind == "c":
        raise RuntimeError(f" {name} does not support complex dtypes on CPU")


def sort(input, *args, **kw):
    """torch.sort(input, dim=-1, descending=False, *, out=None), or with the keyword stable:
    sort(input, *, stable, dim=-1, descending=False, out=None)."""
    return _sort_call(input, args, kw, False)


def _sort_method(self, *args, **kw):
    """Tensor.sort(dim=-1, descending=False), or Tensor.sort(*, stable, dim=-1,
    descending=False) (no out; its refusals are the method's)."""
    return _sort_call(self, args, kw, True)


_sort_method.__name__ = _sort_method.__qualname__ = "sort"
sort.method = _sort_method


def _sort_call(input, args, kw, method):
    nd = tensor_ndim("sort", input)
    dim, descending, stable, out = sort_args("sort", args, kw, method)
    d = wrap_dim(dim, nd)
    _no_complex_sort(input)
    return _finish_tuple(apply(_sort, (input,), (d, descending, stable)), out, "sort", SORT)


def argsort(input, *args, **kw):
    """torch.argsort(input, dim=-1, descending=False), or with the keyword stable:
    argsort(input, *, stable, dim=-1, descending=False, out=None)."""
    return _argsort_call(input, args, kw, False)


def _argsort_method(self, *args, **kw):
    return _argsort_call(self, args, kw, True)


_argsort_method.__name__ = _argsort_method.__qualname__ = "argsort"
argsort.method = _argsort_method


def _argsort_call(input, args, kw, method):
    nd = tensor_ndim("argsort", input)
    dim, descending, stable, out = sort_args("argsort", args, kw, method)
    d = wrap_dim(dim, nd)
    _no_complex_sort(input)
    a = input.arr
    if a.ndim == 0:
        i = input.be.xp.zeros((), np.int64)
    else:
        _dtype.refuse_few("argsort", a.dtype)
        i = (_argsort if stable else _unstable_argsort)(input.be.xp, a, d, descending)
        i = i.astype(np.int64)
        if input.be.xp is np and not (a.flags.c_contiguous and 1 not in a.shape):
            i = _preserved(a, i)
    return _finish(_new(i, input.be), out, "argsort")


def _sort_schema(input, dim=-1, descending=False, *, stable=None, out=None):
    """sort's and argsort's signature as torch documents them (inspect.signature: what the
    ONNX exporter and other binders see; *args above only tell positional from keyword)."""


sort.__signature__ = argsort.__signature__ = inspect.signature(_sort_schema)


def msort(input, *, out=None):
    return _finish(sort(input, 0).values, out, "sort", exact=True)


_LOW29 = np.int64((1 << 29) - 1)
_COLUMNS = np.arange(4096, dtype=np.int64)
_POSITIONS = {}     # shape -> each element's position along the last dim (_topk_by_sort's keys)


def _topk_by_sort(x, k, dim, largest):
    """(values, indices) of a sorted topk of a small finite float32/float16 NumPy x in one
    float sort, where the first k + 1 values along dim (all of them for k = n) are distinct
    (any sort then puts the same positions first); None otherwise. The values as doubles keep
    29 low mantissa bits zero: each element's position written there orders no two distinct
    values differently, and comes back out of the sorted keys with the value (NumPy's float
    sort is vectorised, its argsort and the gather after it cost 5 times more). The keys are
    rounded back to x's dtype exactly (the positions lie below half its ulp). Few NumPy calls
    (on small arrays each costs more than its pass over the data), methods where they do the
    work (cheaper calls than ufuncs'): an ascending sort read backwards for the largest, one
    sum for the finite check."""
    last = dim == x.ndim - 1
    key = x if last else x.swapaxes(dim, -1)
    n = key.shape[-1]
    p = key.astype(np.float64, order="C")       # (C order: the results are sliced from p)
    if not math.isfinite(np.add.reduce(p, None)):    # (float64 sums of x's values: no overflow)
        return None
    bits = p.view(np.int64)
    cols = _POSITIONS.get(p.shape)
    if cols is None:    # (a whole array of them: the broadcast row costs a call per row)
        if len(_POSITIONS) >= 16:
            _POSITIONS.clear()
        cols = np.ascontiguousarray(np.broadcast_to(_COLUMNS[:n], p.shape))
        _POSITIONS[p.shape] = cols
    bits |= cols
    p.sort(axis=-1)
    if largest:     # (the last k + 1 keys and k positions, backwards)
        top, pos = p[..., :-k - 2:-1], bits[..., :-k - 1:-1]
    else:
        top, pos = p[..., :k + 1], bits[..., :k]
    top = top.astype(x.dtype, order="C")     # (exact: see above)
    if np.count_nonzero(top[..., 1:] == top[..., :-1]):
        return None                 # (equal values among the first k + 1)
    v = top if k == n else top[..., :k].copy()
    i = np.bitwise_and(pos, _LOW29, order="C")
    if not last:    # (copies: torch's strides where a dim is 1, which ascontiguousarray keeps)
        v = v.swapaxes(dim, -1).copy()
        i = i.swapaxes(dim, -1).copy()
    return v, i


def _topk_partitioned(xp, x, k, dim, largest):
    """The first k positions of the stable sort along `dim` in linear time, or None where that
    does not apply: NumPy's partition gives the k-th value, and when exactly k values reach it
    they are the k positions, ordered by a stable sort of their values. None for other
    backends, non-float or NaN inputs, k above a quarter of the dim, a tie straddling the k-th
    value, or equal values among the k (where torch's kernel picks its own way)."""
    n = x.shape[dim]
    if xp is not np or x.dtype.kind != "f" or not 0 < k <= n // 4 or xp.isnan(x).any():
        return None
    key = xp.negative(x) if largest else x
    if x.size <= 4096:      # small: a sort costs less than the partition's passes
        lead = (slice(None),) * dim
        order = key.argsort(axis=dim)       # (NumPy's: np.argsort wraps the method)
        ranked = _take_along(xp, key, order[lead + (slice(0, k + 1),)], dim)
        if (ranked[lead + (slice(1, None),)] == ranked[lead + (slice(0, -1),)]).any():
            return None     # (equal values among the first k + 1)
        # distinct first k + 1 values: any sort puts the same positions first
        return order[lead + (slice(0, k),)]
    kth = xp.take(xp.partition(key, k - 1, axis=dim), [k - 1], axis=dim)
    inside = xp.moveaxis(key <= kth, dim, -1)
    if (inside.sum(-1) != k).any():
        return None
    cand = (xp.flatnonzero(inside) % n).reshape(inside.shape[:-1] + (k,))   # by position
    cand = xp.moveaxis(cand, -1, dim)
    ckey = xp.take_along_axis(key, cand, dim)
    order = xp.argsort(ckey, axis=dim, kind="stable")
    ranked = xp.take_along_axis(ckey, order, dim)
    if k > 1 and (xp.diff(ranked, axis=dim) == 0).any():
        return None
    return xp.take_along_axis(cand, order, dim)


@op("topk", saves=None, n_out=2)
def _topk(xp, x, k, dim, largest, sorted_):
    if x.ndim == 0:
        return (x.copy(), xp.zeros((), np.int64)), ((), None, 0)
    if sorted_ and xp is np and x.size <= 4096 and x.dtype.char in "ef" and k:
        r = _topk_by_sort(x, k, dim, largest)
        if r is not None:
            return r, (x.shape, r[1], dim)
    i = _topk_partitioned(xp, x, k, dim, largest) if sorted_ else None
    if i is None:
        order = _argsort(xp, x, dim, largest)
        if xp is np and k:      # torch's CPU kernel picks among equal values its own way
            i = _ties_as_torch(x, order, dim, k,
                               lambda row: _stl_select.topk_row(row, k, largest, sorted_),
                               every_row=not sorted_)
        else:
            i = xp.take(order, xp.arange(k), axis=dim)
    # (C-contiguous as torch's: the positions' layout follows the argsort's along dim)
    return (c_order(xp, _take_along(xp, x, i, dim)), c_order(xp, i.astype(np.int64))), \
        (x.shape, i, dim)


_topk.vjp(lambda xp, g, shape, i, dim: (g[0],) if i is None else
          (_put_along(xp, shape, i, g[0], dim),))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    try:
        a = input.arr
        kind = a.dtype.kind
    except AttributeError:
        raise _not_tensor("topk", input) from None
    if kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if type(k) is not int or type(dim) is not int or largest.__class__ is not bool or \
            sorted.__class__ is not bool:       # (the checks of arguments of other types)
        k = int_arg(k, "topk", "k", 2)            # (a bool too: int_arg refuses it)
        dim = int_arg(dim, "topk", "dim", 3)     # (a bool, a float: torch's TypeError)
        bool_arg(largest, "topk", "largest", 4)
        bool_arg(sorted, "topk", "sorted", 5)
    nd = a.ndim
    d = wrap_dim(dim, nd)
    if not 0 <= k <= (a.shape[d] if nd else 1):
        raise RuntimeError("selected index k out of range")
    if kind == "c":
        _no_complex_sort(input, "topk")
    if out is None and not input._rg and _fw.level is None:
        # (nothing to record: apply's steps, the kernel as the op holds it and two tensors)
        be = input.be
        fwd = _topk.impl[be.idx][0]
        try:
            r = fwd(be.xp, a, k, d, largest, sorted)[0]
        except RuntimeWarning:
            r = quiet(fwd, be.xp, a, k, d, largest, sorted)[0]
        return TOPK(_new(r[0], be), _new(r[1], be))
    r = apply(_topk, (input,), (k, d, largest, sorted))
    return TOPK(*r) if out is None else _finish_tuple(r, out, "topk", TOPK)


@op("unique2", differentiable=True, saves=None, n_out=3)
def _unique(xp, x, dim, consecutive):
    if x.dtype.kind == "c":
        raise not_implemented("unique" if dim is None else "unique_dim", x.dtype)
    if dim is None:
        flat = x.reshape(-1)
        order = None
        if not consecutive:
            if not _order_shows(flat):
                vals, inv, counts = xp.unique(flat, return_inverse=True, return_counts=True)
                return (vals, inv.reshape(x.shape).astype(np.int64), counts.astype(np.int64)), ()
            order = _unstable_argsort(xp, flat, 0, False)     # torch sorts, not stably
        starts, inv, counts = _runs(xp, flat if order is None else flat[order], order)
        return (flat[starts], inv.reshape(x.shape).astype(np.int64), counts.astype(np.int64)), ()
    if x.shape[dim] and not x.size:
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique "
                           "cannot be applied")
    if x.shape.count(0) > 1:
        raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be "
                           "applied ")
    moved = xp.moveaxis(x, dim, 0)
    rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    order = None
    if not consecutive:
        h = _host(rows)
        if not _order_shows(h.reshape(-1)):
            _, first, inv, counts = np.unique(h, axis=0, return_index=True, return_inverse=True,
                                              return_counts=True)
            vals = moved[xp.asarray(first)]
            inv, counts = xp.asarray(inv.reshape(-1)), xp.asarray(counts)
            return (xp.moveaxis(vals, 0, dim), inv.astype(np.int64), counts.astype(np.int64)), ()
        # the order torch's std::sort leaves with its lexicographic `<` (which NaNs defeat)
        order = xp.asarray(_stl_select.sort_rows(h), dtype=np.int64)
    starts, inv, counts = _runs(xp, rows if order is None else rows[order], order)
    return (xp.moveaxis(moved[starts], 0, dim), inv.astype(np.int64), counts.astype(np.int64)), ()


def _order_shows(flat):
    """Whether the order of equal values shows in unique's answer: NaNs (each its own value,
    numbered as torch's sort leaves them) or zeros of both signs (the one sorted first kept)."""
    if flat.dtype.kind not in "fV":
        return False
    if (flat != flat).any():
        return True
    sign = np.signbit(_host(flat[flat == 0]).astype(np.float32))
    return bool(sign.any() and not sign.all())


def _runs(xp, s, order):
    """The runs of equal neighbours (NaNs never equal) in `s`, a vector or the rows of a matrix,
    taken in `order` from the input (None: as it stands): the input index of each run's first,
    the inverse (each element's run) and the run lengths."""
    n = s.shape[0]
    keep = xp.ones(n, bool)
    if n:
        ne = s[1:] != s[:-1]
        keep[1:] = ne.any(axis=1) if s.ndim == 2 else ne
    starts = xp.nonzero(keep)[0]
    inv = xp.cumsum(keep) - 1
    counts = xp.diff(xp.append(starts, n))
    if order is not None:
        starts, inv[order] = order[starts], inv.copy()
    return starts, inv, counts


@_unique.vjp
def _(xp, g):
    raise NotImplementedError("the derivative for '_unique2' is not implemented.")


def _unique_out(res, return_inverse, return_counts):
    vals, inv, counts = res
    if not return_inverse and not return_counts:
        return vals
    out = (vals,)
    if return_inverse:
        out += (inv,)
    if return_counts:
        out += (counts,)
    return out


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    d = None if dim is None else wrap_dim(dim, input.ndim)
    return _unique_out(apply(_unique, (input,), (d, False)), return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    d = None if dim is None else wrap_dim(dim, input.ndim)
    return _unique_out(apply(_unique, (input,), (d, True)), return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    seq = sorted_sequence
    try:
        xp = seq.be.xp
    except AttributeError:
        raise _no_overload("searchsorted", seq, input) from None
    scalar = not isinstance(input, Tensor)
    if scalar:
        _value_arg("searchsorted", input, seq, input)
    vals = xp.asarray(input) if scalar else input.arr
    s = seq.arr
    _searchsorted_checks(seq, vals, sorter)
    odt = np.int32 if out_int32 else np.int64
    if out is not None and out.arr.dtype != odt:
        raise RuntimeError("torch.searchsorted(): output tensor's dtype is wrong, it can only be "
                           "Int(int32) or Long(int64) depending on whether out_int32 flag is "
                           f"True, but we got output tensor's dtype {_dtype_name(out.arr.dtype)} "
                           f"and out_int32 flag is {bool(out_int32)}")
    if not vals.size:
        return _finish(_new(xp.zeros(vals.shape, odt), seq.be), out, "searchsorted", True)
    common = _dtype.result_type(seq, input)     # torch dispatches on it
    if common.kind in (_dtype._BOOL, _dtype._COMPLEX):
        raise not_implemented("searchsorted_out_cpu", common.np)
    _dtype.refuse_few("searchsorted", common.np)
    for name, t in (("input value", None if scalar else input), ("boundary", seq),
                    ("sorter", sorter)):
        if t is not None and not t.is_contiguous():
            _warn_once(f"torch.searchsorted(): {name} tensor is non-contiguous, this will "
                       "lower the performance due to extra data copy when converting "
                       "non-contiguous tensor to contiguous, please use contiguous "
                       f"{name} tensor if possible. This message will only appear once "
                       "per program.")
    if sorter is not None:
        s = xp.take_along_axis(s, sorter.arr, -1)
    # torch compares in the common dtype (the input a wrapped number when it is a scalar)
    s, vals = _dtype.as_common(s, vals, common)
    rows = math.prod(s.shape[:-1])
    res = _binary_search(xp, s.reshape(rows, s.shape[-1]),
                         vals.reshape(1, vals.size) if s.ndim == 1 else
                         vals.reshape(rows, vals.shape[-1]), right)
    res = res.reshape(vals.shape).astype(odt)
    return _finish(_new(res, seq.be), out, "searchsorted", True)


def _binary_search(xp, s, v, right):
    """torch's cus_lower_bound/cus_upper_bound, run for every value at once: s (rows, n),
    v (rows, m); the same probes as torch's, so NaNs and unsorted boundaries land where
    torch puts them."""
    n = s.shape[-1]
    start = xp.zeros(v.shape, np.int64)
    end = xp.full(v.shape, n, np.int64)
    rows = xp.arange(s.shape[0])[:, None]
    while n and v.size:
        live = start < end
        if not live.any():
            break
        mid = start + ((end - start) >> 1)
        at = s[rows, xp.minimum(mid, n - 1)]
        up = live & ~((at > v) if right else (at >= v))
        start = xp.where(up, mid + 1, start)
        end = xp.where(live & ~up, mid, end)
    return start


def _searchsorted_checks(seq, vals, sorter):
    """torch's searchsorted_pre_check, in its order."""
    if sorter is not None:
        if tuple(sorter.shape) != tuple(seq.shape):
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(seq.shape)}and got sorter "
                               f"tensor {list(sorter.shape)}")
        if sorter.dtype is not _dtype.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {_dtype_name(sorter.arr.dtype)}")
        if sorter.numel() and (int(sorter.arr.max()) >= seq.shape[-1] or
                               int(sorter.arr.min()) < 0):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
    if vals.ndim == 0 and seq.ndim != 1:
        raise RuntimeError("torch.searchsorted(): input value can be a scalar only when "
                           f"boundaries tensor dimension is 1, but we got boundaries tensor "
                           f"dim({seq.ndim}) and input value's dim(0) numel(1)")
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if seq.ndim != 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != tuple(seq.shape[:-1])):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           "the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor {list(seq.shape)} "
                           f"and input value tensor {list(vals.shape)}")


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    if not isinstance(input, Tensor):
        _value_arg("bucketize", input, input, boundaries, right=right)
    try:
        nd = boundaries.ndim
    except AttributeError:
        raise _no_overload("bucketize", input, boundaries, right=right) from None
    if nd != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---- in-place variants ------------------------------------------------------------------------
index_add_ = inplace(index_add, "index_add")
index_copy_ = inplace(index_copy, "index_copy")
index_fill_ = inplace(index_fill, "index_fill")
scatter_ = inplace(scatter, "scatter")


scatter_add_ = inplace(scatter_add, "scatter_add")
scatter_reduce_ = inplace(scatter_reduce, "scatter_reduce")
INPLACE_CHECKS["masked_scatter"] = _masked_scatter_inplace_check
masked_scatter_ = inplace(masked_scatter, "masked_scatter")
put_ = inplace(put, "put")


def masked_fill_(input, mask, value):
    _check_mask(mask, "masked_fill_")
    try:
        _check_broadcast_into(mask.shape, input.shape)
    except RuntimeError:
        if not input.is_nested:     # (a strided one's sizes: its refusal comes first)
            raise
    return _masked_fill_inplace(input, mask, value)


_masked_fill_inplace = inplace(masked_fill, "masked_fill")


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d = wrap_dim(dim, input.ndim)
    idx = _index_func_check(input, d, index, source, "index_reduce")
    _warn_once("index_reduce() is in beta and the API may change at any time.")
    _index_range_check(input, d, idx)
    dt = input.arr.dtype
    if dt == bool or dt.kind == "c" and (not include_self or reduce in ("amax", "amin")):
        kernel = "index_reduce_func_exclude_input_init" if not include_self else \
            "index_func_" if dt == bool else {"amax": "maximum_cpu", "amin": "minimum_cpu"}[reduce]
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{_dtype_name(input.arr.dtype)}'")
    return apply(_index_reduce, (input, index, source), (d, reduce, include_self))


index_reduce_ = inplace(index_reduce, "index_reduce")
