"""Sparse CSC, BSR and BSC tensors (2-D, no batch dims): construction, conversion from dense
tensors, index accessors. The arrays are SparseCompressed (ember/_sparse_compressed.py); CSR
keeps its own (ember/sparse/_csr.py), which torch.sparse_compressed_tensor hands CSR to."""
from .._sparse_compressed import INDEX_NAMES, SparseCompressed, csc_from_coo, from_dense
from .._sparse_coo import SparseCOO
from .._sparse_csr import SparseCSR
from .._tensor import Tensor, _new
from .._warnings import warn_once
from ._coo import warn_unchecked

_NAMES = {"sparse_csr": "CSR", "sparse_csc": "CSC", "sparse_bsr": "BSR", "sparse_bsc": "BSC"}


def as_tensors(compressed_indices, plain_indices, values, dtype, device):
    """A compressed sparse constructor's index arguments and values as tensors (the values in
    `dtype` when given)."""
    from ..ops.creation import tensor as _tensor
    compressed, plain = (t if isinstance(t, Tensor) else _tensor(t, device=device)
                         for t in (compressed_indices, plain_indices))
    if not isinstance(values, Tensor):
        values = _tensor(values, dtype=dtype, device=device)
    elif dtype is not None:
        values = values.to(dtype)
    return compressed, plain, values


_COUNTED = {"sparse_csr": "rows", "sparse_csc": "columns", "sparse_bsr": "row blocks",
            "sparse_bsc": "column blocks"}


def validate_compressed(compressed, plain, nnz, shape, layout, blocksize=(1, 1)):
    """torch's _validate_compressed_sparse_indices, in its order and words: the compressed
    index array's length, its first and last offsets, the plain indices in range, the row
    (column) lengths, and sorted distinct plain indices within each row (column)."""
    import numpy as np
    rows = layout in ("sparse_csr", "sparse_bsr")
    cname, pname = ("crow_indices", "col_indices") if rows else ("ccol_indices", "row_indices")
    outer, inner = ("nrows", "ncols") if rows else ("ncols", "nrows")
    n_rows, n_cols = shape[0] // blocksize[0], shape[1] // blocksize[1]
    n_outer, n_inner = (n_rows, n_cols) if rows else (n_cols, n_rows)
    c, p = (np.asarray(compressed.tolist(), np.int64), np.asarray(plain.tolist(), np.int64))
    if c.shape[0] != n_outer + 1:
        raise RuntimeError(f"{cname}.shape[-1] must be equal to the number of "
                           f"{_COUNTED[layout]} + 1 (={n_outer + 1}), but got {c.shape[0]}")

    def fail(condition):
        raise RuntimeError(f"`{condition}` is not satisfied.")
    if c[0] != 0:
        fail(f"{cname}[..., 0] == 0")
    if c[-1] != nnz:
        fail(f"{cname}[..., -1] == nnz")
    if ((p < 0) | (p >= n_inner)).any():
        fail(f"0 <= {pname} < {inner}")
    lengths = np.diff(c)
    if ((lengths < 0) | (lengths > n_inner)).any():
        fail(f"0 <= {cname}[..., 1:] - {cname}[..., :-1] <= {inner}")
    follows = np.ones(p.shape[0], bool)      # entries after another of their row (column)
    follows[c[:-1][c[:-1] < p.shape[0]]] = False
    if (p[1:][follows[1:]] <= p[:-1][follows[1:]]).any():
        fail(f"{pname}[..., {cname}[..., i - 1]:{cname}[..., i]] for all i = 1, ..., {outer} "
             f"are sorted and distinct along the last dimension values")


def _warn_beta(layout):
    """torch warns once per layout that its support is in beta."""
    warn_once(f"Sparse {_NAMES[layout]} tensor support is in beta state. If you miss a "
              "functionality in the sparse tensor support, please submit a feature request to "
              "https://github.com/pytorch/pytorch/issues.")


def layout_name(t):
    """torch's name of a tensor's layout in its messages: Strided, Sparse, SparseCsr, ..."""
    a = t.arr
    if isinstance(a, SparseCOO):
        return "Sparse"
    if type(a) is SparseCSR:
        return "SparseCsr"
    if type(a) is SparseCompressed:
        return c10_layout_name(a.layout)
    return "Strided"


def c10_layout_name(name):
    """torch's name of a layout (by ember's name, "sparse_csc") in its messages: SparseCsc."""
    if name == "sparse_coo":
        return "Sparse"
    if name.startswith("sparse_"):
        return "Sparse" + name[len("sparse_"):].capitalize()
    return name.strip("_").capitalize()


# ---- construction ------------------------------------------------------------------------------
def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *,
                             dtype=None, layout=None, device=None, pin_memory=False,
                             requires_grad=False, check_invariants=None):
    """torch.sparse_compressed_tensor: a CSR, CSC, BSR or BSC tensor (2-D, no batch dims) from
    its compressed and plain index arrays and its values."""
    name = getattr(layout, "name", None)
    if name == "sparse_csr":
        from ._csr import sparse_csr_tensor
        return sparse_csr_tensor(compressed_indices, plain_indices, values, size, dtype=dtype,
                                 device=device, requires_grad=requires_grad,
                                 check_invariants=check_invariants)
    if name not in INDEX_NAMES:
        got = "none" if layout is None else {"sparse_coo": "Sparse", "strided": "Strided"}.get(
            name, name)
        raise RuntimeError(f"sparse_compressed_tensor expected sparse compressed tensor layout "
                           f"but got {got}")
    compressed, plain, values = as_tensors(compressed_indices, plain_indices, values, dtype,
                                           device)
    if compressed.ndim != 1 or plain.ndim != 1 or values.ndim != (1 if name == "sparse_csc"
                                                                   else 3):
        raise NotImplementedError("ember: sparse compressed tensors have no batch or dense "
                                  "dims")
    if size is None:        # torch's inference: the blocks' extent
        bh, bw = (1, 1) if name == "sparse_csc" else tuple(values.shape[1:3])
        n_plain = int(plain.arr.max()) + 1 if plain.numel() else 0
        n_comp = compressed.shape[0] - 1
        size = (n_comp * bh, n_plain * bw) if name == "sparse_bsr" else (n_plain * bh,
                                                                          n_comp * bw)
    from ._coo import _CHECKS
    if check_invariants is None and not _CHECKS[0]:
        warn_unchecked()
    if check_invariants or check_invariants is None and _CHECKS[0]:
        bs = (1, 1) if name == "sparse_csc" else tuple(values.shape[1:3])
        validate_compressed(compressed, plain, plain.shape[0], tuple(int(n) for n in size), name,
                          bs)
    _warn_beta(name)
    xp = values.be.xp
    t = _new(SparseCompressed(xp.asarray(compressed.arr), xp.asarray(plain.arr), values.arr,
                              tuple(int(n) for n in size), name, xp), values.be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _constructor(layout_attr):
    def fn(compressed_indices, plain_indices, values, size=None, *, dtype=None, device=None,
           pin_memory=False, requires_grad=False, check_invariants=None):
        from .. import _layout
        return sparse_compressed_tensor(compressed_indices, plain_indices, values, size,
                                        dtype=dtype, layout=getattr(_layout, layout_attr),
                                        device=device, requires_grad=requires_grad,
                                        check_invariants=check_invariants)
    fn.__name__ = fn.__qualname__ = layout_attr + "_tensor"
    fn.__doc__ = f"torch.{layout_attr}_tensor (2-D, no batch dims)."
    return fn


sparse_csc_tensor = _constructor("sparse_csc")
sparse_bsr_tensor = _constructor("sparse_bsr")
sparse_bsc_tensor = _constructor("sparse_bsc")


# ---- conversion --------------------------------------------------------------------------------
def _convert(self, layout, blocksize, what):
    a = self.arr
    if type(a) is SparseCompressed and a.layout == layout and (
            blocksize is None or tuple(blocksize) == a.blocksize):
        return self
    if self.ndim != 2:
        raise NotImplementedError(f"ember: {what} supports 2-D tensors only")
    if layout == "sparse_csc" and isinstance(a, (SparseCOO, SparseCSR, SparseCompressed)):
        if type(a) is SparseCompressed and a.layout != "sparse_csc":
            raise RuntimeError(f"sparse_compressed_to_sparse_csc: expected SparseCsr or "
                               f"SparseCsc layout but got {layout_name(self)}")
        if isinstance(a, SparseCOO):        # torch goes through a CSR tensor
            _warn_beta("sparse_csr")
        _warn_beta(layout)      # the stored entries, explicit zeros included
        return _new(csc_from_coo(a if isinstance(a, SparseCOO) else a.to_coo()), self.be)
    if isinstance(a, (SparseCOO, SparseCSR, SparseCompressed)):
        a = a.to_dense()        # (blocked from sparse: explicitly stored zeros are not kept)
    bs = (1, 1) if blocksize is None else tuple(int(b) for b in blocksize)
    if self.shape[0] % bs[0] or self.shape[1] % bs[1]:
        raise RuntimeError(f"dense_to_{layout}: tensor sparse size ({self.shape[0]},"
                           f"{self.shape[1]}) must be divisible by given blocksize ({bs[0]},"
                           f"{bs[1]})")
    _warn_beta(layout)
    return _new(from_dense(self.be.xp, a, layout, bs), self.be)


def _blocksize(blocksize, what):
    if blocksize is None:       # torch's argument parser: blocksize is required
        from ..ops._apply import _missing_arg
        raise _missing_arg(what, "blocksize")
    return (blocksize, blocksize) if isinstance(blocksize, int) else blocksize


def to_sparse_csc(self, dense_dim=None):
    """torch.Tensor.to_sparse_csc for a 2-D tensor (no autograd)."""
    return _convert(self, "sparse_csc", None, "to_sparse_csc")


def to_sparse_bsr(self, blocksize=None, dense_dim=None):
    """torch.Tensor.to_sparse_bsr for a 2-D tensor (no autograd); blocksize is required."""
    return _convert(self, "sparse_bsr", _blocksize(blocksize, "to_sparse_bsr"), "to_sparse_bsr")


def to_sparse_bsc(self, blocksize=None, dense_dim=None):
    """torch.Tensor.to_sparse_bsc for a 2-D tensor (no autograd); blocksize is required."""
    return _convert(self, "sparse_bsc", _blocksize(blocksize, "to_sparse_bsc"), "to_sparse_bsc")


# ---- index accessors ---------------------------------------------------------------------------
def _index(self, accessor, kind, layouts):
    a = self.arr
    if type(a) is SparseCompressed and a.layout in layouts:
        return _new(a.compressed if accessor in ("crow_indices", "ccol_indices") else a.plain,
                    self.be)
    raise RuntimeError(f"{accessor} expected sparse {kind} compressed tensor layout but got "
                       f"{layout_name(self)}")


def ccol_indices(self):
    return _index(self, "ccol_indices", "column", ("sparse_csc", "sparse_bsc"))


def row_indices(self):
    return _index(self, "row_indices", "column", ("sparse_csc", "sparse_bsc"))


def bsr_crow_indices(self):
    return _index(self, "crow_indices", "row", ("sparse_bsr",))


def bsr_col_indices(self):
    return _index(self, "col_indices", "row", ("sparse_bsr",))
