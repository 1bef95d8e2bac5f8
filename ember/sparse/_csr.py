"""Sparse CSR tensors (2-D, no dense dims): construction, conversion, index accessors."""

from .._sparse_coo import SparseCOO
from .._sparse_csr import SparseCSR
from .._tensor import Tensor, _new
from .._warnings import warn_once
from ._coo import _to_sparse_op


def _warn_csr():
    """torch warns once per process that sparse CSR support is in beta."""
    warn_once("Sparse CSR tensor support is in beta state. If you miss a functionality in the "
              "sparse tensor support, please submit a feature request to "
              "https://github.com/pytorch/pytorch/issues.")


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
