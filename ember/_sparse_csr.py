"""SparseCSR: the array behind a 2-D sparse CSR tensor (torch.sparse_csr layout).

Like SparseCOO (ember/_sparse_coo.py) it stands in for the ndarray in Tensor.arr: the generic
mm / matmul / mul-by-scalar / .to / clone / transpose / sum / select ops run on it, and the
value-wise unary ops of UNARY_OPS on its values (ops/elementwise.py's _sparse_unary); anything
else raises torch's errors for the SparseCsrCPU backend. Only 2-D tensors without dense dims."""
import numpy as np

from ._kernel_dtypes import not_implemented as dtype_not_implemented
from ._sparse_coo import NO_STORAGE, SparseCOO, _FLAGS, _index_add, _is_array, _mul_sparse, \
    not_implemented

# the unary ops torch maps over a compressed tensor's values (zero stays zero); the others
# raise its unsupported-layout error
UNARY_OPS = frozenset((
    "abs", "angle", "asin", "asinh", "atan", "atanh", "ceil", "conj_physical", "deg2rad",
    "erf", "erfinv", "expm1", "floor", "frac", "isinf", "isnan", "isneginf", "isposinf",
    "log1p", "neg", "rad2deg", "relu", "round", "sgn", "sign", "signbit", "sin", "sinh", "sqrt",
    "tan", "tanh", "trunc"))


class CompressedArray:
    """What SparseCSR and SparseCompressed (CSC, BSR, BSC) share: multiplication by a scalar,
    division and negation of the values, and NumPy's protocols refusing anything else with
    torch's SparseCsrCPU errors."""
    __slots__ = ()
    # CuPy's operators (its arrays' priority is 100) defer to the reflected ones then, as
    # NumPy's do through __array_ufunc__: `cuda_dense + sparse`
    __array_priority__ = 1000
    kind = "Csr"            # torch's Sparse<kind> layout name in messages

    def __mul__(self, other):
        if hasattr(other, "shape") and getattr(other, "ndim", 0) != 0:
            if type(other) is type(self) is SparseCSR:      # CSR * CSR: the common entries
                if self.dtype.kind == "b":
                    raise dtype_not_implemented("mul_out_sparse", self.dtype)
                return SparseCSR.from_coo(_mul_sparse(self.to_coo(), other.to_coo()),
                                          self.crow.dtype)
            if isinstance(other, CompressedArray):
                if self.values.ndim > 1:
                    raise RuntimeError(f"empty_sparse_compressed expected sparse compressed "
                                       f"(non-block) tensor layout but got Sparse{self.kind}")
                raise RuntimeError("Expected result Tensor to be of format CSR")
            raise not_implemented("mul.Tensor", self.xp, "SparseCsr")
        return self._like(self.values * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        raise RuntimeError(f"unsupported tensor layout: Sparse{self.kind}")

    def __neg__(self):
        return self._like(-self.values)

    def plus_dense(self, dense, out=None):
        raise not_implemented("add", self.xp, "SparseCsr")

    def __rtruediv__(self, other):         # (reciprocal)
        raise not_implemented("reciprocal", self.xp, "SparseCsr")

    def __invert__(self):
        raise not_implemented("bitwise_not", self.xp, "SparseCsr")

    @property
    def real(self):             # (a complex tensor cast to a real dtype)
        return self._like(self.values.real)

    def shares_pattern(self, other):
        """Whether `other` holds this array's index arrays (x itself, or a value-wise op's
        result of it)."""
        return all(getattr(other, n) is getattr(self, n) for n in self.INDEX)

    def assign(self, other):
        """An in-place op's result written into this array: into the values where it kept the
        index arrays (value-wise ops), else its arrays taken over."""
        if self.shares_pattern(other):
            self.xp.copyto(self.values, other.values, casting="unsafe")
            return
        for n in self.INDEX:
            setattr(self, n, getattr(other, n))
        self.values = other.values.astype(self.dtype, copy=False)

    def __getitem__(self, index):
        """Integer indexing (select) of a CSR or CSC tensor: torch's sparse COO results."""
        keys = index if isinstance(index, tuple) else (index,)
        if any(isinstance(k, slice) and k != slice(None) for k in keys):
            raise RuntimeError(f"Sparse {self.kind.upper()} tensors do not have strides")
        out = self.to_coo()[index]          # (an index out of range: IndexError first)
        if self.values.shape[1:] not in ((), (1, 1)):        # (BSR, BSC: blocks of one only)
            raise RuntimeError("select(): no view exists for the given input, consider using "
                               "torch.select_copy.")
        if isinstance(out, SparseCOO):
            out.coalesced = True        # (the entries of a row or column stay sorted, unique)
        return out

    def __setitem__(self, index, value):
        """`arr[...] = 0` (Tensor.zero_): torch empties the tensor in place, as a COO one."""
        if index is Ellipsis and not hasattr(value, "shape") and value == 0:
            xp = self.xp
            compressed, plain = self.INDEX
            setattr(self, compressed, xp.zeros_like(getattr(self, compressed)))
            setattr(self, plain, getattr(self, plain)[:0])
            self.values = self.values[:0].copy()
            return
        raise not_implemented("fill_.Scalar", self.xp, "SparseCsr")

    def _compare(self, other):      # (a dense kernel's comparison: sign, isnan, relu, ...)
        raise not_implemented("eq.Tensor", self.xp, "SparseCsr")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _compare
    __hash__ = object.__hash__

    def sum(self, axis=None, keepdims=False, **kwargs):
        if axis is not None or keepdims:
            raise not_implemented("sum.dim_IntList", self.xp, "SparseCsr")
        return self.values.sum(**kwargs)

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

    def tolist(self):
        raise RuntimeError(NO_STORAGE)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise not_implemented("as_strided" if name == "transpose" else name,   # (permute)
                              object.__getattribute__(self, "xp"), "SparseCsr")


class SparseCSR(CompressedArray):
    __slots__ = ("crow", "col", "values", "shape", "xp")
    flags = _FLAGS
    INDEX = ("crow", "col")
    layout = "sparse_csr"

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
        """The transpose: the CSC array of the same index arrays, as torch's."""
        from ._sparse_compressed import SparseCompressed
        return SparseCompressed(self.crow, self.col, self.values, self.shape[::-1],
                                "sparse_csc", self.xp)

    def conj(self):
        return self._like(self.values.conj()) if self.dtype.kind == "c" else self

    def matmul(self, dense):
        if self.dtype.kind in "iu":     # (torch's CSR kernel is MKL's: floating point only)
            raise dtype_not_implemented("addmm_out_sparse_csr_impl_mkl", self.dtype)
        return self.to_coo().matmul(dense)

    def __add__(self, other):
        if type(other) is SparseCSR and self.shares_pattern(other):     # (x + x)
            return self._like(self.values + other.values)
        if type(other) is not SparseCSR:
            if _is_array(other):
                return self.plus_dense(other)
            raise not_implemented("add.Tensor", self.xp, "SparseCsr")
        if other.shape != self.shape:
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self "
                               f"has size {list(self.shape)} while other has size "
                               f"{list(other.shape)}")
        if self.dtype.kind in "biu":     # (torch's kernel is MKL's: floating point only)
            raise dtype_not_implemented("add_out_sparse_csr_impl_mkl", self.dtype)
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

    def __reduce__(self):
        return _rebuild_csr, (self.crow, self.col, self.values, self.shape, self.xp.__name__)


def _rebuild_csr(crow, col, values, shape, xp_name):
    import importlib
    return SparseCSR(crow, col, values, shape, importlib.import_module(xp_name))
