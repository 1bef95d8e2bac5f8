"""Sparse COO tensors: construction, conversions, and the sparse gradients the engine carries.

Gradients flowing to a sparse tensor are `_GradCOO`s, which the autograd engine adds as torch's
does (see `_accumulate`)."""
import itertools

import numpy as np

from .. import _dtype
from .._layout import sparse_coo
from .._sparse_coo import SparseCOO, not_implemented
from .._sparse_compressed import SparseCompressed
from .._nested_array import NestedArray
from .._sparse_csr import SparseCSR
from .._tensor import Tensor, _new
from .._warnings import warn_once
from ..ops._apply import apply
from ..ops._registry import op


class _GradCOO(SparseCOO):
    """A sparse gradient inside the engine, added to another as torch's engine does (see
    `_accumulate`). `seq` stamps each entry with the forward creation order of the op that
    produced it. The coalesced flag is the one torch's leaf .grad ends up with (torch's
    AccumulateGrad drops it when it takes over a gradient's arrays)."""
    __slots__ = ("seq",)

    def __init__(self, indices, values, shape, xp, seq, coalesced=False):
        SparseCOO.__init__(self, indices, values, shape, coalesced, xp)
        self.seq = seq

    def __add__(self, other):
        if isinstance(other, SparseCOO):
            return _accumulate(self, other)
        return SparseCOO.__radd__(self, other) if hasattr(other, "shape") else NotImplemented

    def __radd__(self, other):
        if isinstance(other, SparseCOO):        # a leaf's .grad + a new gradient
            return _accumulate(other, self)
        return SparseCOO.__radd__(self, other)


def _contiguous(a):
    return bool(a.flags.c_contiguous) and all(a.strides) if a.size > 1 else True


def _accumulate(old, new):
    """old + new for sparse gradients, as torch's sparse add: with both values contiguous the
    entries are merged (add_out_sparse_contiguous); otherwise (a gradient expanded from a sum,
    say) they are concatenated, in the forward order of the ops that made them."""
    xp = old.xp
    if _contiguous(old.values) and _contiguous(new.values):
        r = old.add_sparse(new)
        seq = xp.zeros(r.nnz, np.int64)
        return _GradCOO(r.indices, r.values, r.shape, xp, seq, r.coalesced)
    cat = old.concat(new)
    if not (isinstance(old, _GradCOO) and isinstance(new, _GradCOO)):
        return cat                      # a leaf's .grad first, then the new entries
    seq = xp.concatenate([old.seq, new.seq])
    order = xp.argsort(seq, kind="stable")
    return _GradCOO(cat.indices[:, order], cat.values[order], cat.shape, xp, seq[order])


_SEQ = itertools.count()


def _stamp():
    """The creation stamp a sparse-gradient op saves in its forward."""
    return next(_SEQ)


def _grad(indices, values, shape, xp, seq, coalesced=False):
    return _GradCOO(indices, values, shape, xp, xp.full(indices.shape[1], seq, np.int64),
                    coalesced)


def _is_sparse(t):
    return isinstance(t, Tensor) and isinstance(t.arr, SparseCOO)


# ---- construction --------------------------------------------------------------------------
# torch._C._check_sparse_tensor_invariants(), and whether it was ever set (by enable, disable
# or the context manager): after that torch no longer warns that the checks are implicitly off
_CHECKS = [False, False]


@op("sparse_coo_tensor", saves=None, node="SparseCooTensorWithDimsAndTensorsBackward0")
def _coo_op(xp, values, indices, shape, coalesced):
    return SparseCOO(indices, values, shape, coalesced, xp), (indices, shape)


@_coo_op.vjp
def _(xp, g, indices, shape):
    if isinstance(g, SparseCOO):        # the gradient at each (possibly repeated) entry
        probe = SparseCOO(indices, xp.zeros((indices.shape[1],) + g.values.shape[1:],
                                            g.dtype), shape, False, xp)
        return probe.lookup(g)[0], None
    return g[tuple(indices)], None


def warn_unchecked():
    """torch warns once that a sparse constructor left its invariants unchecked (unless the
    checks were switched on or off explicitly)."""
    if _CHECKS[1]:
        return
    warn_once("Sparse invariant checks are implicitly disabled. Memory errors (e.g. SEGFAULT) "
              "will occur when operating on a sparse tensor which violates the invariants, but "
              "checks incur performance overhead. To silence this warning, explicitly opt in or "
              "out. See `torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance. ")


def sparse_coo_tensor(indices=None, values=None, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None):
    """torch.sparse_coo_tensor: a COO tensor from (sparse_dim, nnz) indices and values, or
    (torch's other signature) an empty one of a size."""
    from ..ops.creation import tensor as _tensor
    if values is None:
        size = indices if size is None else size
        if size is None:
            raise TypeError("sparse_coo_tensor() received an invalid combination of arguments - "
                            "got (), but expected one of:")
        return empty_coo(size, len(size), dtype, device, requires_grad, check_invariants)
    if not isinstance(indices, Tensor):
        indices = _tensor(indices, device=device)
    if not isinstance(values, Tensor):
        values = _tensor(values, dtype=dtype, device=device)
    if dtype is not None and values.dtype is not dtype:
        values = values.to(dtype)
    if device is not None and str(values.device) != str(device):
        values = values.to(device)
    be = values.be
    if indices.ndim > 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: "
                           f"{list(indices.shape)}")
    ia = indices.arr        # torch converts indices of any dtype to int64 (truncating floats)
    if ia.dtype.kind == "c":
        ia = ia.real
    elif ia.dtype.kind == "V":          # (bfloat16)
        ia = ia.astype(np.float32)
    idx = be.xp.asarray(indices.be.to_host(ia) if indices.be is not be else ia).astype(np.int64)
    if idx.ndim == 1:                   # torch reads a vector as one index column
        idx = idx.reshape(-1, 1)
    sd, nnz = idx.shape
    if values.ndim == 0:
        raise RuntimeError("values must have at least 1 dimension")
    dense_shape = tuple(values.shape[1:])
    if size is not None and len(size) != sd + len(dense_shape):
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) "
                           f"= {len(size)}, sparse_dim = {sd}, dense_dim = {len(dense_shape)}")
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {values.shape[0]}")
    if size is None:
        if nnz == 0 and sd:
            size = (0,) * sd + dense_shape
        else:
            size = tuple(int(m) + 1 for m in be.to_host(idx.max(1))) + dense_shape
    size = tuple(int(s) for s in size)
    if size[sd:] != dense_shape:
        raise RuntimeError(f"values has incorrect size, expected {list((nnz,) + size[sd:])}, "
                           f"got {list(values.shape)}")
    if check_invariants is None:
        check_invariants = _CHECKS[0]
        if not check_invariants:
            warn_unchecked()
    if check_invariants:
        _check_invariants(be, idx, size, is_coalesced)
    t = apply(_coo_op, (values,), (idx, size, bool(is_coalesced) or (nnz <= 1 and
                                                                       is_coalesced is None)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty_coo(size, sparse_dim, dtype=None, device=None, requires_grad=False,
              check_invariants=False):
    """A sparse COO tensor of `size` with no entries: `sparse_dim` sparse dims, the rest
    dense (torch.sparse_coo_tensor(size), zeros_like of a sparse tensor)."""
    from ..ops.creation import zeros
    size = tuple(int(n) for n in size)
    return sparse_coo_tensor(zeros((sparse_dim, 0), dtype=_dtype.int64, device=device),
                             zeros((0,) + size[sparse_dim:], dtype=dtype, device=device), size,
                             requires_grad=requires_grad, check_invariants=check_invariants)


def _check_invariants(be, idx, size, is_coalesced=None):
    h = be.to_host(idx)
    for d in range(h.shape[0]):
        if h.shape[1] == 0:
            break
        lo, hi = int(h[d].min()), int(h[d].max())
        if lo < 0:
            raise RuntimeError(f"found negative index {lo} for dim {d}")
        if hi >= size[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                               f"{size[d]} but found index {hi}")
    if is_coalesced and h.shape[1] > 1:
        lin = SparseCOO(h, np.zeros(h.shape[1]), size, False, np).linear_index()
        if (lin[1:] <= lin[:-1]).any():
            raise RuntimeError("cannot set is_coalesced to true if indices correspond to "
                               "uncoalesced COO tensor")


# ---- conversions ------------------------------------------------------------------------------
@op("to_dense", saves="in", node="ToDenseBackward0")
def _to_dense_op(xp, s):
    return s.to_dense(), (s, _stamp())


@_to_dense_op.vjp
def _(xp, g, s, seq):
    m = s.mask_of(g)         # torch: grad.sparse_mask(input.coalesce())
    return (_grad(m.indices, m.values, s.shape, xp, seq),)


@op("to_dense_unmasked", saves="in", node="ToDenseBackward0")
def _to_dense_unmasked_op(xp, s):
    return s.to_dense(), (s, _stamp())


@_to_dense_unmasked_op.vjp
def _(xp, g, s, seq):
    m = _to_sparse_op.impl[0][0](xp, g, s.sparse_dim)[0]     # torch: grad.to_sparse(sparse_dim)
    return (_grad(m.indices, m.values, s.shape, xp, seq),)


def to_dense(self, dtype=None, *, masked_grad=None):
    """A dense copy of a sparse tensor (a dense tensor is returned as it is). The gradient a
    sparse input gets is masked at its pattern, or (masked_grad=False) the whole gradient's
    nonzero entries."""
    unmasked = masked_grad is False
    if type(self.arr) is SparseCSR:
        from ._csr import csr_to_dense
        d = csr_to_dense(self, unmasked)
        return d if dtype is None else d.to(dtype)
    if type(self.arr) is SparseCompressed:
        return _new(self.arr.to_dense(), self.be) if dtype is None else \
            _new(self.arr.to_dense(), self.be).to(dtype)
    if not isinstance(self.arr, SparseCOO):
        return self if dtype is None else self.to(dtype)
    if dtype is not None:
        raise RuntimeError("dtype argument is not supported by sparse_to_dense")
    return apply(_to_dense_unmasked_op if unmasked else _to_dense_op, (self,))


@op("to_sparse", saves=None, node="ToSparseBackward0")
def _to_sparse_op(xp, x, sparse_dim):
    if sparse_dim == x.ndim:
        nz = x != 0
    else:
        nz = (x != 0).reshape(x.shape[:sparse_dim] + (-1,)).any(-1)
    idx = xp.stack(xp.nonzero(nz)).astype(np.int64) if sparse_dim else \
        xp.zeros((0, 1), np.int64)
    vals = x[tuple(idx)] if sparse_dim else x[None]
    return SparseCOO(idx, vals, x.shape, True, xp), ()


_to_sparse_op.vjp(lambda xp, g: (g.to_dense() if isinstance(g, SparseCOO) else g,))


_COMPRESSED_NAMES = {"sparse_csr": "SparseCsr", "sparse_csc": "SparseCsc",
                     "sparse_bsr": "SparseBsr", "sparse_bsc": "SparseBsc"}


def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """torch.Tensor.to_sparse: the COO tensor of a dense one (entries that are not zero)."""
    if layout is not None and layout is not sparse_coo:
        from .._layout import sparse_csr
        if layout is sparse_csr and blocksize is None:
            from ._csr import _to_csr_layout_op, to_sparse_csr
            return to_sparse_csr(self, dense_dim, _to_csr_layout_op)
        from . import _compressed
        if layout.name == "sparse_csc" and blocksize is None:
            return _compressed.to_sparse_csc(self, dense_dim)
        if layout.name in ("sparse_bsr", "sparse_bsc") and blocksize is not None:
            return getattr(_compressed, "to_" + layout.name)(self, blocksize, dense_dim)
        if layout.name in _COMPRESSED_NAMES and self.layout.name == "strided":
            blocked = layout.name in ("sparse_bsr", "sparse_bsc")
            raise RuntimeError(f"dense_to_sparse: conversion from Strided to "
                               f"{_COMPRESSED_NAMES[layout.name]} "
                               f"{'without' if blocked else 'with'} blocksize argument given is "
                               "not supported")
        raise NotImplementedError(f"to_sparse: layout {layout} is not supported by ember")
    if type(self.arr) in (SparseCSR, SparseCompressed):
        if sparse_dim is not None and sparse_dim != 2:
            from ._compressed import layout_name
            raise RuntimeError(f"sparse_compressed_to_sparse: conversion from "
                               f"{layout_name(self)} to Sparse with sparse_dim argument !=2 is "
                               "not supported")
        return _new(self.arr.to_coo(), self.be)
    if isinstance(self.arr, SparseCOO):
        if sparse_dim is not None and sparse_dim != self.arr.sparse_dim:
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim "
                               "argument !=self.sparse_dim() is not supported")
        return self
    nd = self.ndim
    if sparse_dim is None:
        sparse_dim = nd if dense_dim is None else nd - dense_dim
    if sparse_dim == 0 and nd > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when "
                           "self.dim()>0")
    if not 0 <= sparse_dim <= nd:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{nd}] range, "
                           f"but {sparse_dim} is given")
    return apply(_to_sparse_op, (self,), (sparse_dim,))


def _need_coo(self, what, kind="sparse coordinate tensor"):
    if not isinstance(self.arr, SparseCOO):
        got = "SparseCsr" if type(self.arr) is SparseCSR else "Strided"
        raise RuntimeError(f"{what} expected {kind} layout but got {got}")
    return self.arr


@op("values", saves="in", node="ValuesBackward0")
def _values_op(xp, s):
    return s.values, (s.indices, s.shape, _stamp())


@_values_op.vjp
def _(xp, g, indices, shape, seq):
    return (_grad(indices, g, shape, xp, seq, True),)     # torch flags it coalesced


def values(self):
    if type(self.arr) is SparseCSR:
        from ._csr import csr_values
        return csr_values(self)
    if type(self.arr) is SparseCompressed:
        return _new(self.arr.values, self.be)
    if type(self.arr) is NestedArray:
        from ..nested._ops import values as nested_values
        return nested_values(self)
    s = _need_coo(self, "values", "sparse tensor")
    if not s.coalesced:
        raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                           ".coalesce() first")
    return apply(_values_op, (self,))


def indices(self):
    s = _need_coo(self, "indices")
    if not s.coalesced:
        raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                           ".coalesce() first")
    return _new(s.indices, self.be)


def _values(self):
    return _new(_need_coo(self, "_values", "sparse tensor").values, self.be)


def _indices(self):
    return _new(_need_coo(self, "_indices").indices, self.be)


@op("coalesce", saves=None, node="CoalesceBackward0")
def _coalesce_op(xp, s):
    return s.coalesce(), ()


_coalesce_op.vjp(lambda xp, g: (g,))


def coalesce(self):
    s = _need_coo(self, "coalesce")
    return self if s.coalesced else apply(_coalesce_op, (self,))


def is_coalesced(self):
    return _need_coo(self, "is_coalesced").coalesced


def _coalesced_(self, coalesced):
    _need_coo(self, "_coalesced_").coalesced = bool(coalesced)
    return self


def sparse_dim(self):
    s = self.arr
    return s.sparse_dim if isinstance(s, SparseCOO) else 2 if type(s) in (
        SparseCSR, SparseCompressed) else 0


def dense_dim(self):
    s = self.arr
    if type(s) in (SparseCSR, SparseCompressed):       # (a BSR / BSC block is not a dense dim)
        return 0
    return s.ndim - s.sparse_dim if isinstance(s, SparseCOO) else s.ndim


def _nnz(self):
    if type(self.arr) in (SparseCSR, SparseCompressed):
        return self.arr.nnz
    if not isinstance(self.arr, SparseCOO):
        raise not_implemented("_nnz").__class__(str(not_implemented("_nnz")).replace(
            "SparseCPU", "CPU"))
    return self.arr.nnz


def sparse_mask(self, mask):
    """self's entries at each of mask's indices (as they are), as a sparse tensor (no
    autograd)."""
    m = _need_coo(mask, "sparse_mask")
    if tuple(self.shape) != m.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(self.shape)} but mask has size {list(m.shape)}")
    if isinstance(self.arr, SparseCOO):
        vals = m.lookup(self.arr)[0]
    else:
        vals = self.arr[tuple(m.indices)]
    return _new(SparseCOO(m.indices, vals, m.shape, m.coalesced, m.xp), self.be)


def spdiags(diagonals, offsets, shape, layout=None):
    """torch.sparse.spdiags: a (rows, cols) sparse tensor with row i of `diagonals` on the
    diagonal `offsets[i]` (column j of it at (j - offset, j), SciPy's convention), in the
    order given (COO, not coalesced), or as CSR / CSC."""
    from .._layout import sparse_csc, sparse_csr
    from ..ops.creation import tensor as _tensor
    if layout not in (None, sparse_coo, sparse_csr, sparse_csc):
        from ._compressed import c10_layout_name
        raise RuntimeError("Only output layouts (Sparse, SparseCsc, SparseCsr) are supported, "
                           f"got {c10_layout_name(layout.name)}")
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if offsets.ndim > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    if diagonals.ndim > 2:
        raise RuntimeError("Diagonals must be vector or matrix")
    if offsets.arr.dtype != np.int64:
        from .._kernel_dtypes import tname
        raise RuntimeError(f"Offset Tensor must have dtype Long but got "
                           f"{tname(offsets.arr.dtype)}")
    offs = [int(k) for k in offsets.reshape(-1).tolist()]
    diags = diagonals.reshape(1, -1) if diagonals.ndim == 1 else diagonals
    if diags.shape[0] != len(offs):
        raise RuntimeError(f"Number of diagonals ({diags.shape[0]}) does not match the number "
                           f"of offsets ({len(offs)})")
    if len(set(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    n_rows, n_cols = int(shape[0]), int(shape[1])
    d_cols = diags.shape[1]
    if n_rows and n_cols:       # torch sizes its buffers so; an offset out of range fails there
        total = sum(min(n_rows + k, d_cols) if k <= 0 else min(n_cols, d_cols) - k for k in offs)
        if total < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {total}: "
                               f"[2, {total}]")
    spans = [(k, max(0, k), min(n_cols, n_rows + k, d_cols)) for k in offs]
    which, cols = [], []
    for i, (k, lo, hi) in enumerate(spans):
        which += [i] * max(hi - lo, 0)
        cols += range(lo, hi)
    which = np.asarray(which, np.int64)
    cols = np.asarray(cols, np.int64)
    rows = cols - np.asarray(offs, np.int64)[which] if cols.size else cols
    dev = diagonals.device
    values = diags[_tensor(which, device=dev), _tensor(cols, device=dev)]
    out = sparse_coo_tensor(_tensor(np.stack([rows, cols]), device=dev), values,
                            (n_rows, n_cols))
    if layout is sparse_csr:
        return out.to_sparse_csr()
    return out.to_sparse_csc() if layout is sparse_csc else out
