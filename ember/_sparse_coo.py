"""SparseCOO: the array behind a sparse COO tensor (torch.sparse_coo layout).

A sparse Tensor is an ordinary ember Tensor whose `arr` is a SparseCOO instead of an ndarray.
SparseCOO answers what the generic machinery reads from an array (shape, dtype, ndim, size,
nbytes, astype, copy, swapaxes) and implements the array operations that have a sparse
meaning in torch (+, -, *, / by a scalar or a broadcast dense tensor, ** a number, @ a dense or
sparse matrix, take, integer indexing, concatenate/stack), so the existing ops (add, mul, neg,
div, pow, mm, matmul, addmm, transpose, index_select, select, cat, stack, clone, .to) and their
backward rules run unchanged on sparse operands with torch's grad_fn names; the zero-preserving
unary ops run on the coalesced values (see UNARY_OPS). Anything else a dense kernel tries on it
raises torch's NotImplementedError for the SparseCPU backend; the dense hot path carries no
check.

Layout: `indices` (sparse_dim, nnz) int64, `values` (nnz, *dense_shape), `shape` the full size,
`coalesced` torch's flag (sorted, unique indices). Written against `xp` (NumPy or CuPy)."""
import numpy as np

_ZEROS = {}


class _Flags:
    __slots__ = ()
    owndata = True
    writeable = False           # the engine copies a sparse gradient before keeping it
    c_contiguous = True
    f_contiguous = False


_FLAGS = _Flags()


def backend_name(xp, kind="Sparse"):
    return kind + ("CUDA" if xp.__name__.startswith("cupy") else "CPU")


def not_implemented(op, xp=np, kind="Sparse"):
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend_name(xp, kind)}' "
        "backend. This "
        "could be because the operator doesn't exist for this backend, or was omitted during "
        "the selective/custom build process (if using custom build). If you are a Facebook "
        "employee using PyTorch on mobile, please visit https://fburl.com/ptmfixes for possible "
        f"resolutions. 'aten::{op}' is only available for these backends: [...].")


# what torch says reading a sparse tensor's data (tolist, data_ptr): it has no storage
NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"


# NumPy ufunc / function name -> aten op name, for the NotImplementedError message
_ATEN = {"exp": "exp", "log": "log", "equal": "eq.Tensor", "maximum": "maximum",
         "reshape": "view", "sum": "sum", "mean": "mean.dim", "amax": "max", "max": "max",
         "less": "lt.Scalar", "greater": "gt.Scalar", "absolute": "abs", "tolist": "tolist",
         "logical_not": "logical_not.out", "isfinite": "ne.Scalar"}


_COMPARISONS = {"equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le",
                "greater": "gt", "greater_equal": "ge"}


# the zero-preserving unary ops torch has sparse COO kernels for: out of place on the coalesced
# values, in place on a coalesced tensor only
UNARY_OPS = frozenset((
    "abs", "sgn", "sign", "signbit", "ceil", "floor", "trunc", "frac", "expm1", "log1p", "sin",
    "sinh", "tan", "tanh", "asin", "asinh", "atan", "atanh", "erf", "erfinv", "sqrt", "relu",
    "isnan", "isinf", "isposinf", "isneginf", "pow", "square", "deg2rad", "rad2deg", "round",
    "nan_to_num"))


class SparseCOO:
    __slots__ = ("indices", "values", "shape", "coalesced", "xp")
    # CuPy's operators (its arrays' priority is 100) defer to the reflected ones then, as
    # NumPy's do through __array_ufunc__: `cuda_dense + sparse`
    __array_priority__ = 1000

    def __init__(self, indices, values, shape, coalesced, xp):
        self.indices, self.values, self.shape = indices, values, tuple(shape)
        self.coalesced, self.xp = coalesced, xp

    # ---- what generic code reads from an array ----------------------------------------------
    dtype = property(lambda self: self.values.dtype)
    ndim = property(lambda self: len(self.shape))
    itemsize = property(lambda self: self.values.dtype.itemsize)
    flags = _FLAGS

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self):
        return self.indices.nbytes + self.values.nbytes

    @property
    def sparse_dim(self):
        return self.indices.shape[0]

    @property
    def nnz(self):
        return self.indices.shape[1]

    def _like(self, values, indices=None, coalesced=None):
        return SparseCOO(self.indices if indices is None else indices, values, self.shape,
                         self.coalesced if coalesced is None else coalesced, self.xp)

    def copy(self, order=None):
        return SparseCOO(self.indices.copy(), self.values.copy(), self.shape, self.coalesced,
                         self.xp)

    def astype(self, dtype, copy=True):
        return self._like(self.values.astype(dtype, copy=copy))

    real = property(lambda self: self._like(self.values.real))     # (casts to a real dtype too)
    imag = property(lambda self: self._like(self.values.imag))

    def any(self, axis=None, keepdims=False):
        """any() of all elements: of the stored values (torch's sparse kernel; no dims)."""
        if axis is not None or keepdims:
            raise not_implemented("any.dim", self.xp)
        return self.values.any()

    def conj(self):
        return self._like(self.values.conj()) if self.dtype.kind == "c" else self

    def swapaxes(self, d0, d1):
        """transpose of two sparse dims (uncoalesced)."""
        sd = self.sparse_dim
        if d0 >= sd or d1 >= sd:
            raise RuntimeError(f"sparse transpose: transposed dimensions must be sparse Got "
                               f"sparse_dim: {sd}, d0: {d0}, d1: {d1}")
        perm = _swapped(self.ndim, d0, d1)
        return SparseCOO(self.indices[list(perm[:sd])], self.values,
                         tuple(self.shape[d] for d in perm), False, self.xp)

    def transpose(self, dims):
        """permute: the sparse dims among themselves, the dense ones (the values') among
        themselves; torch keeps the coalesced flag while dim 0 stays first."""
        sd, dims = self.sparse_dim, tuple(dims)
        if sorted(dims[:sd]) != list(range(sd)):
            raise RuntimeError("permute(sparse_coo): transpositions between sparse and dense "
                               "dimensions are not allowed.Only transpositions within sparse and "
                               "dense dimensions are supported.")
        values = self.values
        if dims[sd:] != tuple(range(sd, self.ndim)):
            values = values.transpose((0,) + tuple(d - sd + 1 for d in dims[sd:]))
        return SparseCOO(self.indices[list(dims[:sd])], values,
                         tuple(self.shape[d] for d in dims),
                         self.coalesced and (not dims or dims[0] == 0), self.xp)

    # ---- sparse kernels ---------------------------------------------------------------------
    def linear_index(self):
        """Row-major linear index of each entry over the sparse dims (int64)."""
        xp, sd = self.xp, self.sparse_dim
        lin = xp.zeros(self.nnz, np.int64)
        for d in range(sd):
            lin = lin * self.shape[d] + self.indices[d]
        return lin

    def unravel(self, lin):
        xp, sd = self.xp, self.sparse_dim
        rows = []
        for d in range(sd - 1, -1, -1):
            rows.append(lin % self.shape[d])
            lin = lin // self.shape[d]
        return xp.stack(rows[::-1]) if rows else xp.zeros((0, lin.shape[0]), np.int64)

    def coalesce(self):
        """Sorted unique indices, duplicates summed in their order of appearance (as torch)."""
        if self.coalesced:
            return self
        xp = self.xp
        lin = self.linear_index()
        uniq, inv = xp.unique(lin, return_inverse=True)
        vals = xp.zeros((uniq.shape[0],) + self.values.shape[1:], self.dtype)
        _index_add(xp, vals, inv.reshape(-1), self.values)
        return SparseCOO(self.unravel(uniq), vals, self.shape, True, xp)

    def to_dense(self):
        xp = self.xp
        out = xp.zeros(self.shape, self.dtype)
        if self.nnz:
            _index_add(xp, out, tuple(self.indices), self.values)
        return out

    def mask_of(self, dense):
        """torch's dense.sparse_mask(self): dense's entries at self's coalesced indices (the
        result keeps torch's uncoalesced flag)."""
        c = self.coalesce()
        return SparseCOO(c.indices, dense[tuple(c.indices)], self.shape, False, self.xp)

    def lookup(self, other):
        """other's (coalesced) values at each of self's indices, zero where other has none."""
        xp, c = self.xp, other.coalesce()
        key, lin = c.linear_index(), self.linear_index()
        pos = xp.searchsorted(key, lin)
        pos = xp.minimum(pos, max(key.shape[0] - 1, 0))
        found = (key[pos] == lin) if key.shape[0] else xp.zeros(lin.shape, bool)
        vals = c.values[pos] if key.shape[0] else xp.zeros(self.values.shape, c.dtype)
        return vals * found.reshape((-1,) + (1,) * (vals.ndim - 1)), found

    def matmul(self, dense):
        """self (2 sparse dims) @ dense (k, n) or (k,): coalesced rows, entries accumulated in
        order as torch's CPU kernel does."""
        xp = self.xp
        if self.sparse_dim != 2 or self.ndim != 2:
            raise RuntimeError(f"addmm: matrices expected, got {self.sparse_dim}D tensor")
        if isinstance(dense, SparseCOO):
            return self.sparse_matmul(dense)
        c = self.coalesce()
        out = xp.zeros((self.shape[0],) + dense.shape[1:], np.result_type(self.dtype,
                                                                          dense.dtype))
        if c.nnz:
            rows, cols = c.indices
            v = c.values.reshape((-1,) + (1,) * (dense.ndim - 1))
            _index_add(xp, out, rows, v * dense[cols])
        return out

    def take(self, index, axis):
        """index_select (np.take along `axis`) as torch's CPU kernel selects for the sizes it
        brute-forces: the pairs (entry k, position j) with k's index along `axis` equal to
        index[j], the longer of the two sequences running in the inner loop. The result is
        uncoalesced once it holds two entries."""
        xp, sd = self.xp, self.sparse_dim
        shape = self.shape[:axis] + (index.shape[0],) + self.shape[axis + 1:]
        if axis >= sd:
            return SparseCOO(self.indices, xp.take(self.values, index, axis=axis - sd + 1),
                             shape, self.nnz < 2, xp)
        along = self.indices[axis]
        if self.nnz >= index.shape[0]:
            j, k = _matches(xp, index, along)
        else:
            k, j = _matches(xp, along, index)
        indices = self.indices[:, k]
        indices[axis] = j
        return SparseCOO(indices, self.values[k], shape, k.shape[0] < 2, xp)

    def expand_dims(self, axis):
        """unsqueeze: a new sparse dim at `axis` (its index 0 for every entry) up to the sparse
        dims' end, else a new dense dim of the values."""
        xp, sd = self.xp, self.sparse_dim
        shape = self.shape[:axis] + (1,) + self.shape[axis:]
        if axis <= sd:
            ind = xp.concatenate([self.indices[:axis], xp.zeros((1, self.nnz), np.int64),
                                  self.indices[axis:]])
            return SparseCOO(ind, self.values, shape, self.nnz < 2, xp)
        return SparseCOO(self.indices, xp.expand_dims(self.values, axis - sd + 1), shape,
                         self.nnz < 2, xp)

    def sparse_matmul(self, other):
        """self @ other, both 2-D sparse: a coalesced result holding every (i, j) that some
        pair of entries (i, k), (k, j) reaches, each sum accumulated over k in ascending order
        (torch's row-by-row CSR product)."""
        xp = self.xp
        if other.sparse_dim != 2 or other.ndim != 2:
            raise RuntimeError(f"addmm: matrices expected, got {other.sparse_dim}D tensor")
        if self.shape[1] != other.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({self.shape[0]}x"
                               f"{self.shape[1]} and {other.shape[0]}x{other.shape[1]})")
        a, b = self.coalesce(), other.coalesce()
        pa, pb = _matches(xp, a.indices[1], b.indices[0])       # a's column k = b's row k
        rows, cols = a.indices[0][pa], b.indices[1][pb]
        values = a.values[pa] * b.values[pb]
        dtype = np.result_type(self.dtype, other.dtype)
        shape = (self.shape[0], other.shape[1])
        lin = rows * shape[1] + cols
        uniq, inv = xp.unique(lin, return_inverse=True)
        out = xp.zeros(uniq.shape[0], dtype)
        _index_add(xp, out, inv.reshape(-1), values.astype(dtype, copy=False))
        return SparseCOO(xp.stack([uniq // shape[1], uniq % shape[1]]), out, shape, True, xp)

    def add_sparse(self, other, alpha=1):
        """torch.add(sparse, sparse): a two-pointer merge of the entries by linear index, equal
        ones summed (torch's CPU kernel; for coalesced inputs this is the sorted union)."""
        xp = self.xp
        ov = other.values if alpha == 1 else other.values * alpha
        if ov.dtype != self.dtype:
            ov = ov.astype(self.dtype)
        a, b = self.linear_index(), other.linear_index()
        if self.coalesced and other.coalesced:
            lin = xp.concatenate([a, b])
            uniq, inv = xp.unique(lin, return_inverse=True)
            vals = xp.zeros((uniq.shape[0],) + self.values.shape[1:], self.dtype)
            _index_add(xp, vals, inv.reshape(-1), xp.concatenate([self.values, ov]))
            return SparseCOO(self.unravel(uniq), vals, self.shape, True, xp)
        ah, bh = _host(a).tolist(), _host(b).tolist()
        src, lins = [], []          # (which, position) pairs of the merge, summed on ties
        i = j = 0
        while i < len(ah) and j < len(bh):
            take_a, take_b = ah[i] <= bh[j], bh[j] <= ah[i]
            src.append((i if take_a else -1, j if take_b else -1))
            lins.append(ah[i] if take_a else bh[j])
            i += take_a
            j += take_b
        src += [(k, -1) for k in range(i, len(ah))] + [(-1, k) for k in range(j, len(bh))]
        lins += ah[i:] + bh[j:]
        ia = xp.asarray(np.array([s[0] for s in src], np.int64))
        ib = xp.asarray(np.array([s[1] for s in src], np.int64))
        zero = xp.zeros((1,) + self.values.shape[1:], self.dtype)
        va = xp.concatenate([self.values, zero])[ia]
        vb = xp.concatenate([ov, zero])[ib]
        lin = xp.asarray(np.array(lins, np.int64))
        return SparseCOO(self.unravel(lin), va + vb, self.shape, False, xp)

    def concat(self, other):
        """Entries of both, unmerged: how torch's autograd accumulates sparse gradients."""
        xp = self.xp
        ov = other.values if other.dtype == self.dtype else other.values.astype(self.dtype)
        return SparseCOO(xp.concatenate([self.indices, other.indices], 1),
                         xp.concatenate([self.values, ov]), self.shape, False, xp)

    # ---- arithmetic (what ember's add/sub/mul/div/neg kernels call) ----------------------------
    def __add__(self, other):
        if isinstance(other, SparseCOO):
            _same_size(self, other)
            return self.add_sparse(other)
        if _is_array(other) or isinstance(other, _NUMBERS):     # (a number: a 0-d dense tensor)
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        return NotImplemented

    def __radd__(self, other):            # dense + sparse: a dense result
        if _is_array(other):
            return _dense_plus(self.xp, other, self)
        if isinstance(other, _NUMBERS):   # torch's 1 + sparse is sparse.add(1)
            return self + other
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, SparseCOO):
            _same_size(self, other)
            return self.add_sparse(other, -1)
        if isinstance(other, _NUMBERS):   # (torch's sparse - 1 is sparse.add(-1))
            return self + other
        if _is_array(other):
            raise RuntimeError("sub(sparse, dense) is not supported. Use sub(dense, sparse) "
                               "instead.")
        return NotImplemented

    def __rsub__(self, other):
        if _is_array(other):
            return _dense_plus(self.xp, other, -self)
        if isinstance(other, _NUMBERS):   # torch's 1 - sparse: a 0-d dense tensor + (-sparse)
            return _dense_plus(self.xp, self.xp.asarray(other), -self)
        return NotImplemented

    def __neg__(self):
        return self._like(-self.values)

    def __mul__(self, other):
        if isinstance(other, SparseCOO):
            return _mul_sparse(self, other)
        if _is_array(other):
            if other.ndim == 0:
                return self._like(self.values * other)
            if tuple(other.shape) != self.shape:       # a dense operand broadcast to self's size
                try:
                    other = self.xp.broadcast_to(other, self.shape)
                except ValueError:
                    from .ops._apply import _infer_size_error
                    raise _infer_size_error(other.shape, self.shape) from None
            return self._like(self.values * other[tuple(self.indices)])
        return self._like(self.values * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, SparseCOO) or (_is_array(other) and other.ndim != 0):
            raise RuntimeError("Sparse division requires a scalar or zero-dim dense tensor "
                               "divisor (got shape " + str(list(other.shape)) + " for divisor)")
        return self._like(self.values / other)

    def __floordiv__(self, other):
        """sparse // a number or a 0-d tensor: the coalesced values floor-divided (torch's
        div(rounding_mode='floor'); torch.floor_divide says 'floor division')."""
        return self._floor_divide(other, "division")

    def _floor_divide(self, other, what):
        if isinstance(other, SparseCOO) or (_is_array(other) and other.ndim != 0):
            raise RuntimeError(f"Sparse {what} requires a scalar or zero-dim dense tensor divisor "
                               f"(got shape {list(other.shape)} for divisor)")
        c = self.coalesce()
        return SparseCOO(c.indices, c.values // other, self.shape, True, self.xp)

    def __matmul__(self, other):
        return self.matmul(other)

    def rmatmul(self, dense):
        """dense (..., k) @ self (k, n): (self.T @ dense.T).T."""
        t = self.swapaxes(0, 1)
        if dense.ndim == 1:
            return t.matmul(dense)
        return t.matmul(dense.swapaxes(-1, -2)).swapaxes(-1, -2)

    def sum(self, axis=None, keepdims=False, **kwargs):
        """Tensor.sum() of a sparse tensor: the sum of its values (0-d dense)."""
        if axis is not None or keepdims:
            raise not_implemented("sum.dim_IntList", self.xp)
        return self.values.sum(**kwargs)

    def __getitem__(self, index):
        """Integer indexing, dim after dim (select; a slice that is not the whole dim has no
        sparse kernel, as torch's as_strided)."""
        index = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis for i in index):
            at = next(p for p, i in enumerate(index) if i is Ellipsis)
            index = index[:at] + (slice(None),) * (self.ndim - len(index) + 1) + index[at + 1:]
        out, dropped = self, 0
        for d, key in enumerate(index):
            if isinstance(key, slice) and key == slice(None):
                continue
            if not isinstance(key, (int, np.integer)) or not isinstance(out, SparseCOO):
                raise not_implemented("as_strided", self.xp)
            out = out.select(d - dropped, int(key))
            dropped += 1
        return out

    def select(self, dim, k):
        """The entries at index k of `dim`, that dim dropped (uncoalesced from two entries); with
        no sparse dim left, the dense sum of their values."""
        xp, sd = self.xp, self.sparse_dim
        n = self.shape[dim]
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
        k %= n
        shape = self.shape[:dim] + self.shape[dim + 1:]
        if dim >= sd:
            return SparseCOO(self.indices, xp.take(self.values, k, axis=dim - sd + 1), shape,
                             self.nnz < 2, xp)
        keep = xp.nonzero(self.indices[dim] == k)[0]
        if sd == 1:
            return xp.asarray(self.values[keep].sum(0, dtype=self.dtype))
        return SparseCOO(xp.delete(self.indices[:, keep], dim, axis=0), self.values[keep], shape,
                         keep.shape[0] < 2, xp)

    def narrow(self, dim, start, length):
        """narrow_copy: the entries with start <= index < start + length along `dim`, shifted
        to start at 0 (a dense dim narrows the values); the coalesced flag kept."""
        xp, sd = self.xp, self.sparse_dim
        shape = self.shape[:dim] + (length,) + self.shape[dim + 1:]
        if dim >= sd:
            vd = dim - sd + 1
            return SparseCOO(self.indices, self.values[(slice(None),) * vd +
                                                       (slice(start, start + length),)],
                             shape, self.coalesced, xp)
        along = self.indices[dim]
        keep = xp.nonzero((along >= start) & (along < start + length))[0]
        indices = self.indices[:, keep]
        indices[dim] -= start
        return SparseCOO(indices, self.values[keep], shape, self.coalesced, xp)

    def __setitem__(self, index, value):
        """`arr[...] = 0` (Tensor.zero_, zero_grad(set_to_none=False)): torch empties a sparse
        tensor in place; any other write has no sparse kernel."""
        if index is Ellipsis and not hasattr(value, "shape") and value == 0:
            xp = self.xp
            self.indices = xp.zeros((self.sparse_dim, 0), np.int64)
            self.values = xp.zeros((0,) + self.values.shape[1:], self.dtype)
            self.coalesced = True
            return
        raise not_implemented("fill_.Scalar", self.xp)

    def _compare(op):
        def compare(self, other):       # torch's overload: .Tensor, or .Scalar for a number
            raise not_implemented(f"{op}.{'Tensor' if hasattr(other, 'shape') else 'Scalar'}",
                                  self.xp)
        return compare

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = map(_compare, ("eq", "ne", "lt", "le",
                                                                    "gt", "ge"))
    del _compare
    __hash__ = object.__hash__

    def __rtruediv__(self, other):         # 1 / sparse (reciprocal): a dense result
        raise not_implemented("reciprocal", self.xp)

    def __pow__(self, other):
        """sparse ** number: the coalesced values raised (zero stays zero, also for a negative
        exponent, as torch's kernel has it); no zeroth power."""
        if hasattr(other, "shape"):
            raise not_implemented("pow.Tensor_Tensor", self.xp)
        if other == 0:
            raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make "
                               "the result tensor dense")
        c = self.coalesce()
        return SparseCOO(c.indices, c.values ** other, self.shape, True, self.xp)

    # ---- NumPy protocols: the whitelisted ufuncs, torch's error for the rest ----------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if method == "__call__" and ufunc is np.add and out is not None and len(inputs) == 2:
            dense, sparse = inputs      # the engine's `dense_grad += sparse_grad`
            if out[0] is dense and isinstance(sparse, SparseCOO) and _is_array(dense):
                sparse = sparse.coalesce()          # torch sums repeated entries first
                if sparse.nnz:
                    _index_add(self.xp, dense, tuple(sparse.indices), sparse.values)
                return dense
        if method == "__call__" and out is None:
            a, b = (inputs + (None,))[:2]
            if ufunc is np.matmul:
                return a.matmul(b) if isinstance(a, SparseCOO) else b.rmatmul(a)
            if ufunc is np.add:
                return a + b if isinstance(a, SparseCOO) else b.__radd__(a)
            if ufunc is np.subtract:
                return a - b if isinstance(a, SparseCOO) else b.__rsub__(a)
            if ufunc is np.multiply:
                return a * b if isinstance(a, SparseCOO) else b * a
            if ufunc is np.true_divide and isinstance(a, SparseCOO):
                return a / b
            if ufunc is np.negative:
                return -a
            if ufunc is np.floor_divide and isinstance(a, SparseCOO):
                return a._floor_divide(b, "floor division")
            if ufunc is np.sign:        # (abs's backward): on the coalesced values
                c = a.coalesce()
                return SparseCOO(c.indices, a.xp.sign(c.values), a.shape, True, a.xp)
            if ufunc is np.conjugate:
                return a.conj()
        if method == "__call__" and ufunc.__name__ in _COMPARISONS and len(inputs) == 2 and \
                all(hasattr(x, "shape") for x in inputs):      # (a dense tensor op sparse)
            raise not_implemented(_COMPARISONS[ufunc.__name__] + ".Tensor", self.xp)
        raise not_implemented(_ATEN.get(ufunc.__name__, ufunc.__name__), self.xp)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.swapaxes:
            return args[0].swapaxes(*args[1:], **kwargs)
        if func is np.round and (args[1] if args[1:] else kwargs.get("decimals", 0)):
            raise not_implemented("round.decimals", self.xp)
        if func is np.zeros_like:       # (a zero gradient): no entries, as torch's zeros_like
            a, xp = args[0], args[0].xp
            return SparseCOO(xp.zeros((a.sparse_dim, 0), np.int64),
                             xp.zeros((0,) + a.values.shape[1:], a.dtype), a.shape, True, xp)
        if func is np.take and isinstance(args[0], SparseCOO):
            return args[0].take(*args[1:], **kwargs)
        if func is np.concatenate:
            return concatenate(*args, **kwargs)
        if func is np.stack:
            arrays, axis = (list(args[0]), kwargs.get("axis", args[1] if len(args) > 1 else 0))
            _all_sparse(arrays)
            return concatenate([a.expand_dims(axis) for a in arrays], axis)
        raise not_implemented(_ATEN.get(func.__name__, func.__name__), self.xp)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def tolist(self):
        raise RuntimeError(NO_STORAGE)

    def __getattr__(self, name):
        # a dense kernel reaching for an ndarray method (reshape, sum, ...): torch's error
        if name.startswith("_"):
            raise AttributeError(name)
        raise not_implemented(_ATEN.get(name, name), object.__getattribute__(self, "xp"))

    def __repr__(self):
        return f"SparseCOO(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"

    def __reduce__(self):           # pickle / deepcopy: the module by name
        return _rebuild_coo, (self.indices, self.values, self.shape, self.coalesced,
                              self.xp.__name__)


def _rebuild_coo(indices, values, shape, coalesced, xp_name):
    import importlib
    return SparseCOO(indices, values, shape, coalesced, importlib.import_module(xp_name))


_NUMBERS = (int, float, complex, np.number)


def _swapped(n, d0, d1):
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return tuple(dims)


def _is_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, SparseCOO)


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def _same_size(a, b):
    if a.shape != b.shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a.shape)} while other has size {list(b.shape)} (FYI: "
                           "op2-sparse addition does not currently support broadcasting)")


def _dense_plus(xp, dense, sparse):
    if tuple(dense.shape) != sparse.shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(dense.shape)} while other has size {list(sparse.shape)}"
                           " (FYI: dense-sparse addition does not currently support "
                           "broadcasting)")
    out = dense.astype(np.result_type(dense.dtype, sparse.dtype), copy=True)
    sparse = sparse.coalesce()
    if sparse.nnz:
        _index_add(xp, out, tuple(sparse.indices), sparse.values)
    return out


def _mul_sparse(a, b):
    """sparse * sparse: the intersection for coalesced operands; otherwise the entries of the
    uncoalesced operand times the other's coalesced values (torch's CPU kernel)."""
    if a.shape != b.shape:
        raise RuntimeError("mul operands have incompatible sizes")
    if a.coalesced and b.coalesced:
        vals, found = a.lookup(b)
        xp = a.xp
        keep = xp.nonzero(found)[0]
        return SparseCOO(a.indices[:, keep], a.values[keep] * vals[keep], a.shape, True, xp)
    base, other = (a, b) if not a.coalesced else (b, a)
    vals, _ = base.lookup(other)
    return base._like(base.values * vals, coalesced=False)


def _all_sparse(arrays):
    for i, a in enumerate(arrays):
        if not isinstance(a, SparseCOO):
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at "
                               f"position {i}.")


def concatenate(arrays, axis=0):
    """torch.cat of sparse COO tensors: along a sparse dim, the entries one after another with
    their indices shifted; along a dense dim, each tensor's values in its slice of zeros. The
    result is uncoalesced once it holds two entries."""
    arrays = list(arrays)
    _all_sparse(arrays)
    first = arrays[0]
    xp, sd, dd = first.xp, first.sparse_dim, first.ndim - first.sparse_dim
    for i, a in enumerate(arrays):
        if (a.sparse_dim, a.ndim - a.sparse_dim) != (sd, dd):
            raise RuntimeError(f"All tensors must have the same sparse_dim and dense_dim: {sd}, "
                               f"{dd}, but tensor at position {i} has {a.sparse_dim}, "
                               f"{a.ndim - a.sparse_dim}.")
    sizes = [a.shape[axis] for a in arrays]
    starts = np.cumsum([0] + sizes[:-1])
    dtype = np.result_type(*(a.dtype for a in arrays))
    if axis < sd:
        indices = []
        for a, start in zip(arrays, starts):
            ind = a.indices.copy()
            ind[axis] += int(start)
            indices.append(ind)
        values = [a.values.astype(dtype, copy=False) for a in arrays]
    else:
        indices, values, vd = [a.indices for a in arrays], [], axis - sd + 1
        for a, start in zip(arrays, starts):
            v = xp.zeros(a.values.shape[:vd] + (sum(sizes),) + a.values.shape[vd + 1:], dtype)
            v[(slice(None),) * vd + (slice(int(start), int(start) + a.shape[axis]),)] = a.values
            values.append(v)
    shape = first.shape[:axis] + (sum(sizes),) + first.shape[axis + 1:]
    nnz = sum(a.nnz for a in arrays)
    return SparseCOO(xp.concatenate(indices, axis=1), xp.concatenate(values), shape, nnz < 2,
                     xp)


def _matches(xp, outer, inner):
    """The pairs (i, j) with outer[i] == inner[j], i-major and j ascending within each i."""
    order = xp.argsort(inner, kind="stable")
    ordered = inner[order]
    lo = xp.searchsorted(ordered, outer, side="left")
    counts = xp.searchsorted(ordered, outer, side="right") - lo
    i = xp.repeat(xp.arange(outer.shape[0]), counts)
    starts = xp.repeat(lo - (xp.cumsum(counts) - counts), counts)
    return i, order[starts + xp.arange(i.shape[0])]


def _index_add(xp, out, index, values):
    """out[index] += values with repeated indices accumulated (np.add.at / cupyx scatter_add)."""
    if xp is np:
        np.add.at(out, index, values)
    else:
        import cupyx
        cupyx.scatter_add(out, index, values)


def _index_max(xp, out, index, values):
    """out[index] = max(out[index], values), repeated indices included."""
    if xp is np:
        np.maximum.at(out, index, values)
    else:
        import cupyx
        cupyx.scatter_max(out, index, values)
