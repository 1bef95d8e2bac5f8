"""SparseCSR: the array behind a 2-D sparse CSR tensor (torch.sparse_csr layout).

Like SparseCOO (ember/_sparse_coo.py) it stands in for the ndarray in Tensor.arr: the generic
mm / matmul / mul-by-scalar / .to / clone ops run on it; anything else raises torch's
NotImplementedError for the SparseCsrCPU backend. Only 2-D tensors without dense dims."""
import numpy as np

from ._sparse_coo import SparseCOO, _FLAGS, _index_add, _is_array, not_implemented


class CompressedArray:
    """What SparseCSR and SparseCompressed (CSC, BSR, BSC) share: multiplication by a scalar,
    division and negation of the values, and NumPy's protocols refusing anything else with
    torch's SparseCsrCPU errors."""
    __slots__ = ()
    kind = "Csr"            # torch's Sparse<kind> layout name in messages

    def __mul__(self, other):
        if hasattr(other, "shape") and getattr(other, "ndim", 0) != 0:
            raise not_implemented("mul.Tensor", self.xp, "SparseCsr")
        return self._like(self.values * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._like(self.values / other)

    def __neg__(self):
        return self._like(-self.values)

    def plus_dense(self, dense, out=None):
        raise not_implemented("add", self.xp, "SparseCsr")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if (method == "__call__" and ufunc is np.add and set(kwargs) <= {"out"}
                and type(inputs[0]) is not type(inputs[1])):    # dense + CSR, dense += CSR
            a, b = inputs
            out = kwargs.get("out", (None,))[0]
            return self.plus_dense(b if a is self else a, None if out is None else out)
        if method == "__call__" and "out" not in kwargs:
            a, b = (inputs + (None,))[:2]
            if ufunc is np.matmul and a is self:
                return self.matmul(b)
            if ufunc is np.multiply:
                return a * b if a is self else b * a
            if ufunc is np.negative:
                return -a
        raise not_implemented(ufunc.__name__, self.xp, "SparseCsr")

    def __array_function__(self, func, types, args, kwargs):
        raise not_implemented(func.__name__, self.xp, "SparseCsr")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"can't convert Sparse{self.kind} layout tensor to numpy. Use "
                        "Tensor.to_dense() first.")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise not_implemented(name, object.__getattribute__(self, "xp"), "SparseCsr")


class SparseCSR(CompressedArray):
    __slots__ = ("crow", "col", "values", "shape", "xp")
    flags = _FLAGS

    def __init__(self, crow, col, values, shape, xp):
        self.crow, self.col, self.values, self.shape, self.xp = crow, col, values, tuple(shape), xp

    dtype = property(lambda self: self.values.dtype)
    ndim = property(lambda self: len(self.shape))
    itemsize = property(lambda self: self.values.dtype.itemsize)
    nnz = property(lambda self: self.col.shape[0])
    size = property(lambda self: self.shape[0] * self.shape[1])
    nbytes = property(lambda self: self.crow.nbytes + self.col.nbytes + self.values.nbytes)

    def _like(self, values):
        return SparseCSR(self.crow, self.col, values, self.shape, self.xp)

    def copy(self, order=None):
        return SparseCSR(self.crow.copy(), self.col.copy(), self.values.copy(), self.shape,
                         self.xp)

    def astype(self, dtype, copy=True):
        return self._like(self.values.astype(dtype, copy=copy))

    def rows(self):
        xp = self.xp
        return xp.repeat(xp.arange(self.shape[0], dtype=np.int64),
                         xp.diff(self.crow).astype(np.int64))

    def to_coo(self):
        xp = self.xp
        idx = xp.stack([self.rows(), self.col.astype(np.int64)])
        return SparseCOO(idx, self.values, self.shape, True, xp)

    @staticmethod
    def from_coo(s, index_dtype=np.int64):
        """A coalesced 2-D COO array in CSR form."""
        xp = s.xp
        rows, cols = s.indices
        counts = xp.bincount(rows, minlength=s.shape[0]) if s.nnz else \
            xp.zeros(s.shape[0], np.int64)
        crow = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(counts)]).astype(index_dtype)
        return SparseCSR(crow, cols.astype(index_dtype), s.values, s.shape, xp)

    def to_dense(self):
        return self.to_coo().to_dense()

    def at_pattern(self, g):
        """g's entries at self's positions (torch's g.sparse_mask(self)): g dense or CSR."""
        if type(g) is SparseCSR:
            if g.crow is self.crow and g.col is self.col:
                return g.values
            return self.to_coo().lookup(g.to_coo())[0]
        return g[self.rows(), self.col]

    def swapaxes(self, d0, d1):
        return self.to_coo().swapaxes(d0, d1)

    def conj(self):
        return self._like(self.values.conj()) if self.dtype.kind == "c" else self

    def matmul(self, dense):
        return self.to_coo().matmul(dense)

    def __add__(self, other):
        if type(other) is not SparseCSR:
            if _is_array(other):
                return self.plus_dense(other)
            raise not_implemented("add.Tensor", self.xp, "SparseCsr")
        if other.shape != self.shape:
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self "
                               f"has size {list(self.shape)} while other has size "
                               f"{list(other.shape)}")
        r = self.to_coo().add_sparse(other.to_coo())
        return SparseCSR.from_coo(r, self.crow.dtype)

    __radd__ = __add__

    def plus_dense(self, dense, out=None):
        """dense + self: a dense result, as torch's add of a strided and a CSR tensor (in
        either order: torch's message names the dense one self); into `out` when given (the
        autograd engine's dense .grad += a CSR gradient)."""
        if tuple(dense.shape) != self.shape:
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self "
                               f"has size {list(dense.shape)} while other has size "
                               f"{list(self.shape)} (FYI: op2-sparse addition does not "
                               "currently support broadcasting)")
        if out is None:
            out = dense.astype(np.result_type(dense.dtype, self.dtype), copy=True)
        elif out is not dense:
            out[...] = dense
        _index_add(self.xp, out, (self.rows(), self.col), self.values.astype(out.dtype,
                                                                             copy=False))
        return out

    def sum(self, axis=None, keepdims=False, **kwargs):
        if axis is not None or keepdims:
            raise not_implemented("sum.dim_IntList", self.xp, "SparseCsr")
        return self.values.sum(**kwargs)

    def __reduce__(self):
        return _rebuild_csr, (self.crow, self.col, self.values, self.shape, self.xp.__name__)


def _rebuild_csr(crow, col, values, shape, xp_name):
    import importlib
    return SparseCSR(crow, col, values, shape, importlib.import_module(xp_name))
