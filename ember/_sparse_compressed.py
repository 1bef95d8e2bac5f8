"""SparseCompressed: the array behind a 2-D sparse CSC, BSR or BSC tensor (torch.sparse_csc,
sparse_bsr, sparse_bsc layouts); CSR has its own SparseCSR (ember/_sparse_csr.py).

`compressed` holds one offset per row (BSR: per block row) or column (CSC, BSC: per column or
block column) plus one, `plain` the column (row) of each stored entry, `values` the entries:
(nnz,) for CSC, (nnz, block_rows, block_cols) for BSR and BSC. Like SparseCSR it stands in for
the ndarray in Tensor.arr: clone, .to, multiplication by a scalar, transposes, value-wise unary
ops and (CSC, BSR) matmul by a dense matrix run on it; anything else raises torch's errors for
the SparseCsrCPU backend (torch dispatches every compressed layout there). No batch dims."""
import numpy as np

from ._kernel_dtypes import not_implemented as dtype_not_implemented
from ._sparse_coo import SparseCOO, _FLAGS, _index_add
from ._sparse_csr import CompressedArray, SparseCSR

# the names of each layout's index arrays, as torch's repr and accessors call them
INDEX_NAMES = {"sparse_csc": ("ccol_indices", "row_indices"),
               "sparse_bsr": ("crow_indices", "col_indices"),
               "sparse_bsc": ("ccol_indices", "row_indices")}


class SparseCompressed(CompressedArray):
    __slots__ = ("compressed", "plain", "values", "shape", "layout", "xp")
    flags = _FLAGS
    INDEX = ("compressed", "plain")

    def __init__(self, compressed, plain, values, shape, layout, xp):
        self.compressed, self.plain, self.values = compressed, plain, values
        self.shape, self.layout, self.xp = tuple(shape), layout, xp

    dtype = property(lambda self: self.values.dtype)
    ndim = property(lambda self: len(self.shape))
    itemsize = property(lambda self: self.values.dtype.itemsize)
    nnz = property(lambda self: self.plain.shape[0])
    size = property(lambda self: self.shape[0] * self.shape[1])
    nbytes = property(lambda self: self.compressed.nbytes + self.plain.nbytes +
                      self.values.nbytes)
    row_major = property(lambda self: self.layout == "sparse_bsr")
    blocksize = property(lambda self: tuple(self.values.shape[1:3])
                         if self.layout != "sparse_csc" else (1, 1))
    kind = property(lambda self: self.layout[len("sparse_"):].capitalize())

    def _like(self, values):
        return SparseCompressed(self.compressed, self.plain, values, self.shape, self.layout,
                                self.xp)

    def copy(self, order=None):
        return SparseCompressed(self.compressed.copy(), self.plain.copy(), self.values.copy(),
                                self.shape, self.layout, self.xp)

    def astype(self, dtype, copy=True):
        return self._like(self.values.astype(dtype, copy=copy))

    def blocks(self):
        """(block row, block column) of each stored entry, in storage order."""
        xp = self.xp
        n = self.compressed.shape[0] - 1
        outer = xp.repeat(xp.arange(n, dtype=np.int64),
                          xp.diff(self.compressed).astype(np.int64))
        inner = self.plain.astype(np.int64)
        return (outer, inner) if self.row_major else (inner, outer)

    def to_dense(self):
        xp = self.xp
        (bh, bw), (R, C) = self.blocksize, self.shape
        br, bc = self.blocks()
        out = xp.zeros((R // bh * (C // bw), bh, bw), self.dtype)
        _index_add(xp, out, br * (C // bw) + bc, self.values.reshape(-1, bh, bw))
        return out.reshape(R // bh, C // bw, bh, bw).transpose(0, 2, 1, 3).reshape(R, C)

    def to_coo(self):
        """The entries in storage order, each block's elements row by row (torch's order)."""
        xp = self.xp
        bh, bw = self.blocksize
        br, bc = self.blocks()
        shape = (br.shape[0], bh, bw)
        rows = xp.broadcast_to(br[:, None, None] * bh + xp.arange(bh)[:, None], shape)
        cols = xp.broadcast_to(bc[:, None, None] * bw + xp.arange(bw), shape)
        idx = xp.stack([rows.reshape(-1), cols.reshape(-1)])
        return SparseCOO(idx, self.values.reshape(-1), self.shape, False, xp)

    def swapaxes(self, d0, d1):
        """The transpose: the same index arrays in the other orientation (CSC -> CSR,
        BSR <-> BSC, each block transposed), as torch's."""
        shape = self.shape[::-1]
        if self.layout == "sparse_csc":
            return SparseCSR(self.compressed, self.plain, self.values, shape, self.xp)
        layout = "sparse_bsc" if self.layout == "sparse_bsr" else "sparse_bsr"
        return SparseCompressed(self.compressed, self.plain, self.values.swapaxes(1, 2), shape,
                                layout, self.xp)

    def as_csr(self):
        """A BSR array of 1x1 blocks as the CSR array it is."""
        return SparseCSR(self.compressed, self.plain, self.values.reshape(-1), self.shape,
                         self.xp)

    def __add__(self, other):
        """x + x (torch doubles the values); of two BSR tensors of 1x1 blocks the union of
        their entries (as CSR); torch has no other kernel adding two CSC, BSC or BSR tensors
        (its errors below)."""
        if type(other) is SparseCompressed and self.shares_pattern(other):
            return self._like(self.values + other.values)
        if hasattr(other, "shape") and not isinstance(other, CompressedArray):
            return self.plus_dense(other)
        if self.layout != "sparse_bsr":
            raise RuntimeError(f"crow_indices expected sparse row compressed tensor layout but "
                               f"got Sparse{self.kind}")
        if self.dtype.kind in "biu":
            raise dtype_not_implemented("add_out_sparse_csr_impl_mkl", self.dtype)
        if self.blocksize == other.blocksize == (1, 1):     # MKL adds them as CSR
            r = self.as_csr() + other.as_csr()
            return SparseCompressed(r.crow, r.col, r.values.reshape(-1, 1, 1), self.shape,
                                    self.layout, self.xp)
        letter = {"f4": "s", "f8": "d", "c8": "c", "c16": "z"}[self.dtype.str[1:]]
        values = ("reinterpret_cast<MKL_Complex{}**>(values)".format(
            16 if letter == "z" else 8) if letter in "cz" else "values")
        raise RuntimeError(f"MKL error: SPARSE_STATUS_INVALID_VALUE when calling `mkl_sparse_"
                           f"{letter}_export_csr( source, indexing, rows, cols, rows_start, "
                           f"rows_end, col_indx, {values})`")

    __radd__ = __add__

    def matmul(self, dense):
        if self.layout == "sparse_bsc":
            raise RuntimeError("addmm: computation on CPU is not implemented for Strided + "
                               "SparseBsc @ Strided")
        if self.dtype.kind in "iu":     # (torch's compressed kernels are MKL's: floating point)
            raise dtype_not_implemented("addmm_out_sparse_csr_impl_mkl", self.dtype)
        bh, bw = self.blocksize
        if bh != bw:
            raise RuntimeError("MKL Sparse doesn't support matrices with non-square blocks.")
        return self.to_coo().matmul(dense)

    def __reduce__(self):
        return _rebuild, (self.compressed, self.plain, self.values, self.shape, self.layout,
                          self.xp.__name__)


def _rebuild(compressed, plain, values, shape, layout, xp_name):
    import importlib
    return SparseCompressed(compressed, plain, values, shape, layout,
                            importlib.import_module(xp_name))


def csc_from_coo(s):
    """The CSC array of a 2-D COO array: its coalesced entries, column by column."""
    xp = s.xp
    c = s.coalesce()
    rows, cols = c.indices
    order = xp.argsort(cols, kind="stable")
    counts = xp.bincount(cols, minlength=s.shape[1]) if c.nnz else xp.zeros(s.shape[1], np.int64)
    compressed = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(counts)]).astype(np.int64)
    return SparseCompressed(compressed, rows[order], c.values[order], s.shape, "sparse_csc", xp)


def from_dense(xp, a, layout, blocksize):
    """The CSC / BSR / BSC array of a 2-D dense array: the blocks holding a nonzero element,
    row-major (BSR) or column-major (CSC, BSC)."""
    (bh, bw), (R, C) = blocksize, a.shape
    blocks = a.reshape(R // bh, bh, C // bw, bw).transpose(0, 2, 1, 3)     # (R/bh, C/bw, bh, bw)
    row_major = layout == "sparse_bsr"
    if not row_major:
        blocks = blocks.transpose(1, 0, 2, 3)
    keep = (blocks != 0).any((2, 3))
    outer, inner = xp.nonzero(keep)
    counts = keep.sum(1)
    compressed = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(counts)]).astype(np.int64)
    values = blocks[outer, inner]
    if layout == "sparse_csc":
        values = values.reshape(-1)
    return SparseCompressed(compressed, inner.astype(np.int64), values, a.shape, layout, xp)
