"""Sparse CSR tensors (2-D, no dense dims): construction, conversion, index accessors."""

from .._sparse_coo import SparseCOO
from .._sparse_compressed import SparseCompressed
from .._sparse_csr import SparseCSR
from .._tensor import _new
from ._coo import _to_sparse_op
from ._compressed import _warn_beta, as_tensors


def to_sparse_csr(self, dense_dim=None):
    """torch.Tensor.to_sparse_csr for a 2-D dense or COO tensor (no autograd)."""
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
    coo = a.coalesce() if isinstance(a, SparseCOO) else _to_sparse_op.impl[0][0](
        self.be.xp, a, 2)[0]
    _warn_beta("sparse_csr")
    return _new(SparseCSR.from_coo(coo), self.be)


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
    _warn_beta("sparse_csr")
    t = _new(SparseCSR(crow.arr, col.arr, values.arr, tuple(int(n) for n in size),
                       values.be.xp), values.be)
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
