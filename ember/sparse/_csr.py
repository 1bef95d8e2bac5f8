"""Sparse CSR tensors (2-D, no dense dims): construction, conversion, index accessors, and
their autograd as torch's: a gradient flowing to a CSR tensor is a SparseCSR at its pattern
(values, to_dense, sparse.mm) or dense (mm, addmm: torch's MmBackward0 gives a dense one)."""

from .._sparse_coo import SparseCOO, _index_add
from .._sparse_compressed import SparseCompressed
from .._sparse_csr import SparseCSR
from .._tensor import _new
from ..autograd.grad_mode import STATE as _grad
from ..ops._apply import apply
from ..ops._registry import op
from ._coo import _to_sparse_op
from ._compressed import _warn_beta, as_tensors, validate_compressed


@op("sparse_csr_tensor", saves=None, node="SparseCompressedTensorBackward0")
def _csr_op(xp, values, crow, col, shape):
    s = SparseCSR(crow, col, values, shape, xp)
    return s, (s._like(None),)


_csr_op.vjp(lambda xp, g, pattern: (pattern.at_pattern(g),))


@op("csr_values", saves=None, node="ValuesBackward0")
def _values_op(xp, s):
    return s.values, (s._like(None),)


_values_op.vjp(lambda xp, g, pattern: (pattern._like(g),))


@op("csr_to_dense", saves=None, node="ToDenseBackward0")
def _to_dense_op(xp, s):
    return s.to_dense(), (s._like(None),)


_to_dense_op.vjp(lambda xp, g, pattern: (pattern._like(pattern.at_pattern(g)),))


def _from_dense(xp, x):
    return SparseCSR.from_coo(_to_sparse_op.impl[0][0](xp, x, 2)[0]), ()


def _to_dense_grad(xp, g):
    return (g.to_dense() if type(g) is SparseCSR else g,)


_to_csr_op = op("to_sparse_csr", saves=None, node="ToSparseCsrBackward0")(_from_dense)
_to_csr_op.vjp(_to_dense_grad)
# to_sparse(layout=torch.sparse_csr): the same conversion under torch's other node name
_to_csr_layout_op = op("to_sparse_csr_layout", saves=None, node="ToSparseBackward1")(
    _from_dense)
_to_csr_layout_op.vjp(_to_dense_grad)


def _coo_grad(xp, g):
    """A COO input's gradient through a conversion to CSR: the CSR one's entries as they are
    (explicit zeros too), a dense one's nonzero entries (torch: the grad in the input's
    layout)."""
    if type(g) is SparseCSR:
        return (g.to_coo(),)
    return (_to_sparse_op.impl[0][0](xp, g, 2)[0],)


def _coo_to_csr(xp, a):
    return SparseCSR.from_coo(a.coalesce()), ()


# from a COO tensor: torch's same node names, the gradient back in COO
_COO_TO_CSR = {}
for _node, _dense_op in (("ToSparseCsrBackward0", _to_csr_op),
                         ("ToSparseBackward1", _to_csr_layout_op)):
    _COO_TO_CSR[_dense_op] = op("coo_" + _dense_op.name, saves=None, node=_node)(_coo_to_csr)
    _COO_TO_CSR[_dense_op].vjp(_coo_grad)


def to_sparse_csr(self, dense_dim=None, _op=_to_csr_op):
    """torch.Tensor.to_sparse_csr for a 2-D dense or COO tensor (differentiable from a dense
    one; `_op` picks torch's node name for to_sparse(layout=...))."""
    a = self.arr
    if type(a) is SparseCSR:
        return self
    if type(a) is SparseCompressed:
        if a.layout != "sparse_csc":
            from ._compressed import layout_name
            raise RuntimeError(f"sparse_compressed_to_sparse_csr: expected SparseCsr or "
                               f"SparseCsc layout but got {layout_name(self)}")
        a = a.to_coo()
    if self.ndim != 2 or dense_dim:
        raise NotImplementedError("ember: to_sparse_csr supports 2-D tensors without dense "
                                  "dims only")
    _warn_beta("sparse_csr")
    if isinstance(a, SparseCOO):
        if a is self.arr:
            return apply(_COO_TO_CSR[_op], (self,))
        return _new(SparseCSR.from_coo(a.coalesce()), self.be)
    return apply(_op, (self,))


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None):
    """torch.sparse_csr_tensor (2-D, no dense dims)."""
    crow, col, values = as_tensors(crow_indices, col_indices, values, dtype, device)
    if crow.ndim != 1 or col.ndim != 1 or values.ndim != 1:
        raise NotImplementedError("ember: sparse_csr_tensor supports 2-D tensors without batch "
                                  "or dense dims only")
    if size is None:
        ncol = int(col.arr.max()) + 1 if col.numel() else 0
        size = (crow.shape[0] - 1, ncol)
    from ._coo import _CHECKS
    if check_invariants or check_invariants is None and _CHECKS[0]:
        validate_compressed(crow, col, col.shape[0], tuple(int(n) for n in size), "sparse_csr")
    _warn_beta("sparse_csr")
    if values.requires_grad and values.arr.dtype.kind == "c" and _grad.enabled:
        raise RuntimeError("sparse_compressed_tensor does not support automatic "
                           "differentiation for outputs with complex dtype.")
    t = apply(_csr_op, (values,), (crow.arr, col.arr, tuple(int(n) for n in size)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _need_csr(self, what):
    if type(self.arr) is not SparseCSR:
        from ._compressed import layout_name
        raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got "
                           f"{layout_name(self)}")
    return self.arr


def crow_indices(self):
    if type(self.arr) is SparseCompressed:
        from ._compressed import bsr_crow_indices
        return bsr_crow_indices(self)
    return _new(_need_csr(self, "crow_indices").crow, self.be)


def col_indices(self):
    if type(self.arr) is SparseCompressed:
        from ._compressed import bsr_col_indices
        return bsr_col_indices(self)
    return _new(_need_csr(self, "col_indices").col, self.be)


def csr_values(self):
    """A CSR tensor's values, differentiable (a CSR gradient at its pattern)."""
    return apply(_values_op, (self,))


@op("csr_to_dense_unmasked", saves=None, node="ToDenseBackward0")
def _to_dense_unmasked_op(xp, s):
    return s.to_dense(), ()


_to_dense_unmasked_op.vjp(lambda xp, g: (_from_dense(xp, g)[0],))     # grad.to_sparse_csr()


def csr_to_dense(self, unmasked=False):
    """A CSR tensor as a dense one, differentiable (torch's gradient masked at its pattern, or
    with `unmasked` the whole gradient's nonzero entries)."""
    return apply(_to_dense_unmasked_op if unmasked else _to_dense_op, (self,))


def sum_dims(input, dims, keepdim, dtype):
    """Tensor.sum over `dims` (sorted, wrapped) of a compressed tensor: torch's CSR kernel,
    kept dims only, a CSR result holding the rows (columns) that have entries (no autograd
    yet: a CSR input that requires grad is refused)."""
    import numpy as np
    a, xp = input.arr, input.be.xp
    if type(a) is not SparseCSR:
        from ._compressed import layout_name
        raise RuntimeError(f"Currently the only compressed sparse format supported for "
                           f"sum.dim_IntList is CSR, but got layout {layout_name(input)}")
    if a.dtype.kind == "b":
        from .._kernel_dtypes import not_implemented
        raise not_implemented("_sparse_csr_sum_cpu", a.dtype)
    if not keepdim:
        raise RuntimeError("reduction operations on CSR tensors with keepdim=False is "
                           "unsupported")
    if _grad.enabled and input.requires_grad:
        raise NotImplementedError("ember: sum over dims of a CSR tensor that requires grad")
    if dtype is None and a.dtype.kind in "iu":        # integers sum in int64, as torch
        dtype = np.int64
    values = a.values if dtype is None else a.values.astype(dtype)
    (R, C), idx = a.shape, a.crow.dtype
    if tuple(dims) == (1,):         # one entry per row that has entries, in column 0
        kept = xp.diff(a.crow) > 0
        sums = xp.zeros(R, values.dtype)
        _index_add(xp, sums, a.rows(), values)
        crow = xp.concatenate([xp.zeros(1, idx), xp.cumsum(kept).astype(idx)])
        out = SparseCSR(crow, xp.zeros(int(crow[-1]), idx), sums[kept], (R, 1), xp)
    elif tuple(dims) == (0,):       # one row: the columns that have entries
        cols = xp.unique(a.col)
        sums = xp.zeros(C, values.dtype)
        _index_add(xp, sums, a.col.astype(np.int64), values)
        out = SparseCSR(xp.asarray([0, cols.shape[0]], idx), cols, sums[cols], (1, C), xp)
    else:
        n = int(a.nnz > 0)
        out = SparseCSR(xp.asarray([0, n], idx), xp.zeros(n, idx),
                        values.sum(keepdims=True)[:n], (1, 1), xp)
    return _new(out, input.be)
