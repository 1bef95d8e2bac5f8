"""torch.sparse and the sparse tensor API (sparse_coo_tensor, to_sparse, to_dense, indices,
values, coalesce, sparse.mm / addmm / sum / softmax; 2-D CSR, CSC, BSR, BSC).

A sparse tensor is an ember Tensor whose `arr` is a SparseCOO (ember/_sparse_coo.py) or a
SparseCSR (ember/_sparse_csr.py): generic ops that have a sparse meaning (add, sub, mul, div by
a scalar, neg, mm, matmul, addmm, transpose, t, clone, .to) run through their usual code and
backward rules; the functions here are the ones torch defines for sparse tensors only."""
from .._tensor import Tensor
# re-exported: the constructors, torch.sparse's names, and _grad/_stamp for ember.nn
from ._coo import (_coalesced_, _grad, _indices, _nnz, _stamp, _values,  # noqa: F401
                   coalesce, dense_dim, indices, is_coalesced, sparse_coo_tensor, sparse_dim,
                   sparse_mask, spdiags, to_dense, to_sparse, values)
from ._csr import col_indices, crow_indices, sparse_csr_tensor, to_sparse_csr  # noqa: F401
from ._compressed import (ccol_indices, row_indices, sparse_bsc_tensor,  # noqa: F401
                          sparse_bsr_tensor, sparse_compressed_tensor, sparse_csc_tensor,
                          to_sparse_bsc, to_sparse_bsr, to_sparse_csc)
from ._gradcheck import as_sparse_gradcheck
from ._math import (BFloat16Tensor, ByteTensor, CharTensor, DoubleTensor,  # noqa: F401
                    FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor, _spmm, addmm,
                    check_sparse_tensor_invariants, hspmm, log_softmax, mm, sampled_addmm, smm,
                    softmax, sspaddmm, sum)

__all__ = ["addmm", "check_sparse_tensor_invariants", "log_softmax", "mm", "softmax", "spdiags",
           "sum", "as_sparse_gradcheck"]


def _to_sparse_coo(self):
    """Tensor.to_sparse_coo: to_sparse(), as torch's (which __torch_function__ sees)."""
    return self.to_sparse()


METHODS = {"to_dense": to_dense, "to_sparse": to_sparse, "to_sparse_coo": _to_sparse_coo,
           "values": values, "indices": indices, "_values": _values, "_indices": _indices,
           "coalesce": coalesce, "is_coalesced": is_coalesced, "_coalesced_": _coalesced_,
           "sparse_dim": sparse_dim, "dense_dim": dense_dim, "_nnz": _nnz,
           "sparse_mask": sparse_mask, "to_sparse_csr": to_sparse_csr,
           "crow_indices": crow_indices, "col_indices": col_indices, "smm": smm,
           "sspaddmm": sspaddmm, "to_sparse_csc": to_sparse_csc, "to_sparse_bsr": to_sparse_bsr,
           "to_sparse_bsc": to_sparse_bsc, "ccol_indices": ccol_indices,
           "row_indices": row_indices}

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
