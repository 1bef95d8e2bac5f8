"""torch.sparse and the sparse COO tensor API (sparse_coo_tensor, to_sparse, to_dense, indices,
values, coalesce, sparse.mm / addmm / sum).

A sparse tensor is an ember Tensor whose `arr` is a SparseCOO (ember/_sparse_coo.py): generic
ops that have a sparse meaning (add, sub, mul, div by a scalar, neg, mm, matmul, addmm,
transpose, t, clone, .to) run through their usual code and backward rules; the ops below are
the ones torch defines for sparse tensors only. Gradients flowing to a sparse tensor are
`_GradCOO`s, which the autograd engine accumulates by concatenation, as torch's does."""
import itertools
import warnings

import numpy as np

from .._layout import sparse_coo
from .._sparse_csr import SparseCSR
from .._sparse_coo import SparseCOO, _index_add, _index_max, not_implemented
from .._tensor import Tensor, _new
from ..ops._apply import apply
from ..ops._registry import op

__all__ = ["addmm", "check_sparse_tensor_invariants", "log_softmax", "mm", "softmax", "sum"]


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
    seqs = [getattr(g, "seq", None) for g in (old, new)]
    if seqs[0] is None or seqs[1] is None:
        return cat
    seq = xp.concatenate(seqs)
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
_WARNED = []


def _warn_invariants():
    if not _WARNED:         # torch's TORCH_WARN_ONCE
        _WARNED.append(True)
        warnings.warn(
            "Sparse invariant checks are implicitly disabled. Memory errors (e.g. SEGFAULT) will "
            "occur when operating on a sparse tensor which violates the invariants, but checks "
            "incur performance overhead. To silence this warning, explicitly opt in or out. See "
            "`torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance.",
            UserWarning, stacklevel=3)


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


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """torch.sparse_coo_tensor: a COO tensor from (sparse_dim, nnz) indices and values."""
    from ..ops.creation import tensor as _tensor
    if not isinstance(indices, Tensor):
        indices = _tensor(indices, device=device)
    if not isinstance(values, Tensor):
        values = _tensor(values, dtype=dtype, device=device)
    if dtype is not None and values.dtype is not dtype:
        values = values.to(dtype)
    if device is not None and str(values.device) != str(device):
        values = values.to(device)
    be = values.be
    if indices.arr.dtype.kind not in "iu":
        raise RuntimeError("indices must be an int64 tensor")
    if indices.ndim > 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: "
                           f"{list(indices.shape)}")
    idx = be.xp.asarray(indices.be.to_host(indices.arr) if indices.be is not be
                        else indices.arr).astype(np.int64)
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
            _warn_invariants()
    if check_invariants:
        _check_invariants(be, idx, size)
    t = apply(_coo_op, (values,), (idx, size, bool(is_coalesced) or (nnz <= 1 and
                                                                       is_coalesced is None)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_invariants(be, idx, size):
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


# ---- conversions ------------------------------------------------------------------------------
@op("to_dense", saves=None, node="ToDenseBackward0")
def _to_dense_op(xp, s):
    return s.to_dense(), (s, _stamp())


@_to_dense_op.vjp
def _(xp, g, s, seq):
    m = s.mask_of(g)         # torch: grad.sparse_mask(input.coalesce())
    return (_grad(m.indices, m.values, s.shape, xp, seq),)


def to_dense(self, dtype=None, *, masked_grad=None):
    """A dense copy of a sparse tensor (a dense tensor is returned as it is)."""
    if type(self.arr) is SparseCSR:
        return _new(self.arr.to_dense(), self.be) if dtype is None else \
            _new(self.arr.to_dense(), self.be).to(dtype)
    if not isinstance(self.arr, SparseCOO):
        return self if dtype is None else self.to(dtype)
    if dtype is not None:
        raise RuntimeError("dtype argument is not supported by sparse_to_dense")
    return apply(_to_dense_op, (self,))


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


def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """torch.Tensor.to_sparse: the COO tensor of a dense one (entries that are not zero)."""
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"to_sparse: layout {layout} is not supported by ember")
    if type(self.arr) is SparseCSR:
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
        raise RuntimeError(f"sparse_dim argument must be in [0, {nd}] range, but {sparse_dim} "
                           "is given")
    return apply(_to_sparse_op, (self,), (sparse_dim,))


def _need_coo(self, what, kind="sparse coordinate tensor"):
    if not isinstance(self.arr, SparseCOO):
        got = "SparseCsr" if type(self.arr) is SparseCSR else "Strided"
        raise RuntimeError(f"{what} expected {kind} layout but got {got}")
    return self.arr


@op("values", saves=None, node="ValuesBackward0")
def _values_op(xp, s):
    return s.values, (s.indices, s.shape, _stamp())


@_values_op.vjp
def _(xp, g, indices, shape, seq):
    return (_grad(indices, g, shape, xp, seq, True),)     # torch flags it coalesced


def values(self):
    if type(self.arr) is SparseCSR:
        return _new(self.arr.values, self.be)
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
    return self.arr.sparse_dim if isinstance(self.arr, SparseCOO) else 0


def dense_dim(self):
    s = self.arr
    return s.ndim - s.sparse_dim if isinstance(s, SparseCOO) else s.ndim


def _nnz(self):
    if type(self.arr) is SparseCSR:
        return self.arr.nnz
    if not isinstance(self.arr, SparseCOO):
        raise not_implemented("_nnz").__class__(str(not_implemented("_nnz")).replace(
            "SparseCPU", "CPU"))
    return self.arr.nnz


def sparse_mask(self, mask):
    """self's entries at each of mask's indices (as they are), as a sparse tensor (no
    autograd)."""
    m = _need_coo(mask, "sparse_mask")
    if isinstance(self.arr, SparseCOO):
        vals = m.lookup(self.arr)[0]
    else:
        vals = self.arr[tuple(m.indices)]
    return _new(SparseCOO(m.indices, vals, m.shape, m.coalesced, m.xp), self.be)


# ---- CSR ----------------------------------------------------------------------------------------
_WARNED_CSR = []


def _warn_csr():
    if not _WARNED_CSR:
        _WARNED_CSR.append(True)
        warnings.warn("Sparse CSR tensor support is in beta state. If you miss a functionality "
                      "in the sparse tensor support, please submit a feature request to "
                      "https://github.com/pytorch/pytorch/issues.", UserWarning, stacklevel=3)


def to_sparse_csr(self, dense_dim=None):
    """torch.Tensor.to_sparse_csr for a 2-D dense or COO tensor (no autograd)."""
    a = self.arr
    if type(a) is SparseCSR:
        return self
    if self.ndim != 2 or dense_dim:
        raise NotImplementedError("ember: to_sparse_csr supports 2-D tensors without dense "
                                  "dims only")
    coo = a.coalesce() if isinstance(a, SparseCOO) else _to_sparse_op.impl[0][0](
        self.be.xp, a, 2)[0]
    _warn_csr()
    return _new(SparseCSR.from_coo(coo), self.be)


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None):
    """torch.sparse_csr_tensor (2-D, no dense dims)."""
    from ..ops.creation import tensor as _tensor
    crow, col = (t if isinstance(t, Tensor) else _tensor(t, device=device)
                 for t in (crow_indices, col_indices))
    if not isinstance(values, Tensor):
        values = _tensor(values, dtype=dtype, device=device)
    elif dtype is not None:
        values = values.to(dtype)
    if crow.ndim != 1 or col.ndim != 1 or values.ndim != 1:
        raise NotImplementedError("ember: sparse_csr_tensor supports 2-D tensors without batch "
                                  "or dense dims only")
    if size is None:
        ncol = int(col.arr.max()) + 1 if col.numel() else 0
        size = (crow.shape[0] - 1, ncol)
    _warn_csr()
    t = _new(SparseCSR(crow.arr, col.arr, values.arr, tuple(int(n) for n in size),
                       values.be.xp), values.be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _need_csr(self, what):
    if type(self.arr) is not SparseCSR:
        got = "Sparse" if isinstance(self.arr, SparseCOO) else "Strided"
        raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got {got}")
    return self.arr


def crow_indices(self):
    return _new(_need_csr(self, "crow_indices").crow, self.be)


def col_indices(self):
    return _new(_need_csr(self, "col_indices").col, self.be)


# ---- torch.sparse: mm, addmm, sum ---------------------------------------------------------------
@op("sparse_addmm", saves="in", node="SparseAddmmBackward0", needs_mask=True)
def _sparse_addmm(xp, c, s, d, beta, alpha):
    p = s.matmul(d)
    if alpha != 1:
        p = p * alpha
    out = p if c is None else (c * beta if beta != 1 else c) + p
    return out.astype(d.dtype, copy=False), (s, d, beta, alpha, _stamp())


@_sparse_addmm.vjp
def _(xp, g, s, d, beta, alpha, seq, needs):
    gc = gs = gd = None
    if needs[0]:
        gc = g * beta if beta != 1 else g
    if alpha != 1:
        g = g * alpha
    if needs[1]:        # (g @ d.T) at s's coalesced pattern: torch's sparse_mask of the product
        c = s.coalesce()
        rows, cols = c.indices
        gs = _grad(c.indices, (g[rows] * d[cols]).sum(-1), s.shape, xp, seq)
    if needs[2]:
        gd = s.swapaxes(0, 1).matmul(g)
    return gc, gs, gd


def _check_mm(s, d, name="mm"):
    from ..ops._apply import _tname
    if s.ndim != 2 or d.ndim != 2:
        raise RuntimeError(f"addmm: matrices expected, got {s.ndim}D, {d.ndim}D tensors")
    if s.shape[1] != d.shape[0]:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {s.shape[1]}, got "
                           f"{d.shape[0]}")
    if s.dtype is not d.dtype:
        raise RuntimeError(f"expected scalar type {_tname(s.arr.dtype)} but found "
                           f"{_tname(d.arr.dtype)}")


def mm(mat1, mat2, reduce="sum"):
    """torch.sparse.mm: sparse @ dense with a sparse gradient for the sparse operand (its
    pattern); a dense mat1 is torch.mm."""
    if not _is_sparse(mat1):
        from ..ops.linalg import mm as _mm
        return _mm(mat1, mat2)
    if _is_sparse(mat2):
        raise NotImplementedError("ember: sparse @ sparse is not supported")
    _check_mm(mat1, mat2)
    return apply(_sparse_addmm, (None, mat1, mat2), (0, 1))


def _spmm(input, mat2):
    """torch.spmm: torch.mm for a sparse or dense first operand (a dense gradient)."""
    from ..ops.linalg import mm as _mm
    return _mm(input, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """torch.sparse.addmm: beta * mat + alpha * (mat1 @ mat2) for a sparse mat1."""
    if not _is_sparse(mat1):
        from ..ops.linalg import addmm as _addmm
        return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)
    _check_mm(mat1, mat2, "addmm")
    return apply(_sparse_addmm, (mat, mat1, mat2), (beta, alpha))


@op("sparse_sum", saves=None, node="SparseSumBackward0")
def _sparse_sum(xp, s, dims):
    c = s.coalesce()
    sd = c.sparse_dim
    sp = [d for d in dims if d < sd]
    dn = tuple(1 + d - sd for d in dims if d >= sd)
    vals = c.values.sum(dn) if dn else c.values
    keep = [d for d in range(sd) if d not in sp]
    shape = tuple(n for d, n in enumerate(s.shape) if d not in dims)
    if not keep:
        return vals.sum(0), (c, dims, keep, _stamp())
    r = SparseCOO(c.indices[keep], vals, shape, len(sp) == 0, xp).coalesce()
    return r, (c, dims, keep, _stamp())


@_sparse_sum.vjp
def _(xp, g, c, dims, keep, seq):
    sd = c.sparse_dim
    if not keep:
        vals = xp.broadcast_to(g, (c.nnz,) + g.shape)
    elif isinstance(g, SparseCOO):      # g's entry at each input entry's kept indices
        probe = SparseCOO(c.indices[keep], xp.zeros((c.nnz,) + g.values.shape[1:], g.dtype),
                          g.shape, False, xp)
        vals = probe.lookup(g)[0]
    else:
        vals = g[tuple(c.indices[keep])]
    for d in sorted(d for d in dims if d >= sd):     # the summed dense dims, broadcast back
        vals = xp.expand_dims(vals, 1 + d - sd)
    vals = xp.broadcast_to(vals, (c.nnz,) + c.values.shape[1:]).copy()
    return (_grad(c.indices, vals, c.shape, xp, seq),)


def sum(input, dim=None, dtype=None):
    """torch.sparse.sum: over all entries (a 0-d dense tensor) or over `dim` (sparse while a
    sparse dim is left)."""
    s = _need_coo(input, "sparse.sum")
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        return input.coalesce().values().sum()
    from ..ops._dims import wrap_dim
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(sorted(wrap_dim(d, s.ndim) for d in dims))
    return apply(_sparse_sum, (input,), (dims,))


def _groups(xp, c, dim):
    """For a softmax over sparse dim `dim`: each entry's group (same indices elsewhere)."""
    lin = xp.zeros(c.nnz, np.int64)
    for d in range(c.sparse_dim):
        if d != dim:
            lin = lin * c.shape[d] + c.indices[d]
    uniq, inv = xp.unique(lin, return_inverse=True)
    return inv.reshape(-1), uniq.shape[0]


def _group_sum(xp, v, inv, n):
    out = xp.zeros((n,) + v.shape[1:], v.dtype)
    _index_add(xp, out, inv, v)
    return out[inv]


def _softmax_fwd(xp, s, dim, log, raw_dim):
    c = s.coalesce()
    v = c.values
    if dim >= c.sparse_dim:             # a dense dim: each entry's values on their own
        axis = 1 + dim - c.sparse_dim
        shifted = v - v.max(axis, keepdims=True)
        lse = xp.log(xp.exp(shifted).sum(axis, keepdims=True))
    else:
        inv, n = _groups(xp, c, dim)
        m = xp.full((n,) + v.shape[1:], -np.inf, v.dtype)
        _index_max(xp, m, inv, v)
        shifted = v - m[inv]
        lse = xp.log(_group_sum(xp, xp.exp(shifted), inv, n))
    y = shifted - lse if log else xp.exp(shifted - lse)
    # torch's backward reads a negative dim as no sparse dim: every entry its own group
    bdim = dim if raw_dim >= 0 or dim >= c.sparse_dim else -1
    return SparseCOO(c.indices, y, s.shape, True, xp), (c, y, bdim, log, _stamp())


def _softmax_bwd(xp, g, c, y, dim, log, seq):
    gv = SparseCOO(c.indices, y, c.shape, True, xp).lookup(g)[0] if isinstance(g, SparseCOO) \
        else g[tuple(c.indices)]
    if dim >= c.sparse_dim:
        axis = 1 + dim - c.sparse_dim

        def total(a):
            return a.sum(axis, keepdims=True)
    elif dim < 0:
        def total(a):
            return a
    else:
        inv, n = _groups(xp, c, dim)

        def total(a):
            return _group_sum(xp, a, inv, n)
    gi = gv - xp.exp(y) * total(gv) if log else y * (gv - total(gv * y))
    return (_grad(c.indices, gi, c.shape, xp, seq),)


_softmax_op = op("sparse_softmax", saves=None, node="SparseSoftmaxBackward0")(
    lambda xp, s, dim, raw: _softmax_fwd(xp, s, dim, False, raw)).vjp(_softmax_bwd)
_log_softmax_op = op("sparse_log_softmax", saves=None, node="SparseLogSoftmaxBackward0")(
    lambda xp, s, dim, raw: _softmax_fwd(xp, s, dim, True, raw)).vjp(_softmax_bwd)


def _softmax(input, dim, dtype, o, name):
    if not _is_sparse(input):
        e = not_implemented(name)
        raise NotImplementedError(str(e).replace("SparseCPU", "CPU"))
    from ..ops._dims import wrap_dim
    if dtype is not None:
        input = input.to(dtype)
    return apply(o, (input,), (wrap_dim(dim, input.ndim), dim))


def softmax(input, dim, *, dtype=None):
    """torch.sparse.softmax: a softmax over the specified entries only (the unspecified ones
    count as -inf), on a sparse result with the coalesced input's pattern."""
    return _softmax(input, dim, dtype, _softmax_op, "_sparse_softmax")


def log_softmax(input, dim, *, dtype=None):
    """torch.sparse.log_softmax (see softmax)."""
    return _softmax(input, dim, dtype, _log_softmax_op, "_sparse_log_softmax")


_CHECKS = [False]      # torch._C._check_sparse_tensor_invariants()


class check_sparse_tensor_invariants:
    """torch.sparse.check_sparse_tensor_invariants: turn the invariant checks of the sparse
    constructors on (a context manager, a decorator, or enable()/disable())."""

    @staticmethod
    def is_enabled():
        return _CHECKS[0]

    @staticmethod
    def enable():
        _CHECKS[0] = True

    @staticmethod
    def disable():
        _CHECKS[0] = False

    def __init__(self, enable=True):
        self.state, self.saved_state = enable, None

    def __enter__(self):
        if self.saved_state is not None:
            raise RuntimeError("This context manager instance is already activated. Use a "
                               "different context manager instance for context nesting.")
        self.saved_state, _CHECKS[0] = _CHECKS[0], self.state

    def __exit__(self, *exc):
        _CHECKS[0], self.saved_state = self.saved_state, None

    def __call__(self, fn):
        def checked(*args, **kwargs):
            with type(self)(self.state):
                return fn(*args, **kwargs)
        return checked


_WARNED_LEGACY = set()


def _warn_once(message):
    if message not in _WARNED_LEGACY:       # torch's TORCH_WARN_ONCE
        _WARNED_LEGACY.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def _legacy(name, dtype_name):
    """torch.sparse.FloatTensor(indices, values[, size]) / (*size): the legacy constructors."""
    def ctor(*args, device=None):
        from .. import _dtype
        from ..ops.creation import zeros
        dt = getattr(_dtype, dtype_name)
        if args and isinstance(args[0], Tensor):
            indices, values, *size = args
            shape = ", shape" if size else ""
            _warn_once(f"torch.sparse.SparseTensor(indices, values{shape}, *, device=) is "
                       f"deprecated.  Please use torch.sparse_coo_tensor(indices, values{shape}, "
                       "dtype=, device=).")
            values = values if values.dtype is dt else values.to(dt)
            return sparse_coo_tensor(indices, values, *size, device=device)
        size = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args
        return sparse_coo_tensor(zeros(len(size), 0, dtype=_dtype.int64, device=device),
                                 zeros(0, dtype=dt, device=device), size,
                                 check_invariants=False)
    ctor.__name__ = ctor.__qualname__ = name
    return ctor


for _name, _dt in (("FloatTensor", "float32"), ("DoubleTensor", "float64"),
                   ("HalfTensor", "float16"), ("BFloat16Tensor", "bfloat16"),
                   ("LongTensor", "int64"), ("IntTensor", "int32"), ("ShortTensor", "int16"),
                   ("CharTensor", "int8"), ("ByteTensor", "uint8")):
    globals()[_name] = _legacy(_name, _dt)


# ---- Tensor methods -------------------------------------------------------------------------
def _numpy_check(self):
    if isinstance(self.arr, SparseCOO):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")


METHODS = {"to_dense": to_dense, "to_sparse": to_sparse, "to_sparse_coo": to_sparse,
           "values": values, "indices": indices, "_values": _values, "_indices": _indices,
           "coalesce": coalesce, "is_coalesced": is_coalesced, "_coalesced_": _coalesced_,
           "sparse_dim": sparse_dim, "dense_dim": dense_dim, "_nnz": _nnz,
           "sparse_mask": sparse_mask, "to_sparse_csr": to_sparse_csr,
           "crow_indices": crow_indices, "col_indices": col_indices}


def _bind():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


_bind()
