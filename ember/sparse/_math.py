"""torch.sparse's functions: mm, addmm, sum, softmax, log_softmax, the invariant-check switch,
the legacy torch.sparse.FloatTensor constructors, and the products with a sparse result
(torch.smm, sspaddmm, hspmm)."""

import numpy as np

from .._sparse_coo import SparseCOO, _index_add, _index_max, not_implemented
from .._sparse_csr import SparseCSR
from .._tensor import Tensor
from .._warnings import warn_once
from ..ops._apply import apply
from ..ops._registry import op, refused_backward
from ._coo import _CHECKS, _grad, _is_sparse, _need_coo, _stamp, sparse_coo_tensor


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
    if needs[1] and type(s) is SparseCSR:      # (g @ d.T) at s's pattern, a CSR gradient
        gs = s._like((g[s.rows()] * d[s.col]).sum(-1))
    elif needs[1]:      # (g @ d.T) at s's coalesced pattern: torch's sparse_mask of the product
        c = s.coalesce()
        rows, cols = c.indices
        gs = _grad(c.indices, (g[rows] * d[cols]).sum(-1), s.shape, xp, seq)
    if needs[2]:
        gd = (s.to_coo() if type(s) is SparseCSR else s).swapaxes(0, 1).matmul(g)
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


def mm(mat1, mat2, reduce=None):
    """torch.sparse.mm: sparse (COO or CSR) @ dense with a sparse gradient for the sparse
    operand (its pattern); a dense mat1 is torch.mm. With `reduce` given (a CSR mat1 only):
    torch's _sparse_mm_reduce_impl, each output entry the sum, mean, amax or amin of the
    products of its row's stored entries."""
    if reduce is not None:
        return _mm_reduce(mat1, mat2, reduce)
    if not _is_sparse(mat1) and type(mat1.arr) is not SparseCSR:
        from ..ops.linalg import mm as _mm
        return _mm(mat1, mat2)
    if _is_sparse(mat2):
        from ..ops.linalg import mm as _mm
        return _mm(mat1, mat2)
    _check_mm(mat1, mat2)
    return apply(_sparse_addmm, (None, mat1, mat2), (0, 1))


def _mm_reduce(s, d, reduce):
    from .._kernel_dtypes import not_implemented as _dtype_not_implemented, tname
    if type(getattr(s, "arr", None)) is not SparseCSR:
        backend = "SparseCPU" if _is_sparse(s) else "CPU"
        raise NotImplementedError(f"Could not run 'aten::_sparse_mm_reduce_impl' with arguments "
                                  f"from the '{backend}' backend.")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)    # (torch's aliases)
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce == "prod":
        raise RuntimeError("sparse_mm_reduce: reduce type of prod has not been enabled.")
    if d.ndim != 2 or d.shape[0] != s.shape[1]:
        raise RuntimeError(f"Expected a tensor of dimension 2 and tensor.size[0] == "
                           f"{s.shape[1]} but got: dimension {d.ndim} and tensor.size[0] = "
                           f"{d.shape[0]}")
    dt = s.arr.values.dtype
    if d.arr.dtype != dt:
        raise RuntimeError(f"Expected tensor for argument #1 'other' to have scalar type "
                           f"{tname(dt)}; but got {d.type()} instead (while checking arguments "
                           "for sparse_mm_reduce)")
    if dt.kind not in "f" and dt.name != "bfloat16":
        raise _dtype_not_implemented("spmm_reduce_kernel", dt)
    return apply(_sparse_mm_reduce, (s, d), (reduce,))


@op("sparse_mm_reduce", saves="in", node="SparseMmReduceImplBackward0", needs_mask=True)
def _sparse_mm_reduce(xp, s, d, reduce):
    """out[i] = reduce over row i's stored j of s[i, j] * d[j] (0 for an empty row); amax and
    amin keep, per output entry, the first stored entry that attains it (for backward)."""
    rows, prod = s.rows(), s.values[:, None] * d[s.col]
    out = xp.zeros((s.shape[0], d.shape[1]), d.dtype)
    count = arg = None
    if reduce in ("sum", "mean"):
        _fma_rows(xp, out, rows, s.values, d[s.col])
        if reduce == "mean":
            count = xp.maximum(xp.diff(s.crow), 1).astype(d.dtype)[:, None]
            out /= count
    else:
        sign = 1 if reduce == "amax" else -1
        best = xp.full(out.shape, -xp.inf, d.dtype)
        _index_max(xp, best, rows, sign * prod)
        full = xp.diff(s.crow) > 0
        out[full] = sign * best[full]
        nnz = len(rows)
        which = xp.where(sign * prod == best[rows], -xp.arange(nnz)[:, None], -nnz)
        arg = xp.full(out.shape, -nnz, np.int64)
        _index_max(xp, arg, rows, which)    # (the first attaining entry: max of -j)
        arg = -arg
    return out, (s, d, count, arg)


def _fma_rows(xp, out, index, scale, rows):
    """out[index[j]] += scale[j] * rows[j] for each j in order (index sorted), as torch's
    kernels accumulate: with fused multiply-adds (float32: each step computed in float64 from
    exact products; float64: the product's error added back, Dekker's and Knuth's way)."""
    wide = np.float64 if out.dtype == np.float32 else out.dtype
    starts = xp.searchsorted(index, index)      # each entry's place in its run of one index
    rank = xp.arange(len(index)) - starts
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        j = xp.nonzero(rank == k)[0]
        i = index[j]
        a, b, c = scale[j].astype(wide)[:, None], rows[j].astype(wide), out[i].astype(wide)
        out[i] = (_fma64(a, b, c) if out.dtype == np.float64 else a * b + c).astype(out.dtype)


def _fma64(a, b, c):
    """a * b + c rounded once (float64): the product's rounding error (Dekker's split) and the
    sum's (Knuth's two-sum) added back."""
    p = a * b
    t = 134217729.0 * a
    ah = t - (t - a)
    t = 134217729.0 * b
    bh = t - (t - b)
    al, bl = a - ah, b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    return s + (((p - (s - v)) + (c - v)) + e)


@_sparse_mm_reduce.vjp
def _(xp, g, s, d, count, arg, needs):
    rows = s.rows()
    g = g[rows]
    if arg is not None:     # amax / amin: only the attaining entry's product gets the gradient
        g = g * (arg[rows] == xp.arange(len(rows))[:, None])
    gs = gd = None
    if needs[0]:            # (mean: the dot product divided by the row's count, as torch's)
        v = (g * d[s.col]).sum(-1)
        gs = s._like(v if count is None else v / count[rows, 0])
    if needs[1]:            # s.T @ g, each column's entries in row order
        gd = xp.zeros_like(d)
        by_col = xp.argsort(s.col, kind="stable")
        scale = s.values if count is None else s.values / count[rows, 0]
        if arg is None:
            _fma_rows(xp, gd, s.col[by_col], scale[by_col], g[by_col])
        else:
            _index_add(xp, gd, s.col, scale[:, None] * g)
    return gs, gd


def _spmm(input, mat2):
    """torch.spmm: torch.mm for a sparse or dense first operand (a dense gradient)."""
    from ..ops.linalg import mm as _mm
    return _mm(input, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """torch.sparse.addmm: beta * mat + alpha * (mat1 @ mat2) for a sparse mat1."""
    if not _is_sparse(mat1) and type(mat1.arr) is not SparseCSR:
        from ..ops.linalg import addmm as _addmm
        return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)
    _check_mm(mat1, mat2, "addmm")
    return apply(_sparse_addmm, (mat, mat1, mat2), (beta, alpha))


def _sum_fwd(xp, s, dims):
    """The coalesced entries summed over `dims`: sparse while a sparse dim is left."""
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


_sparse_sum = op("sparse_sum", saves="in", node="SparseSumBackward0")(_sum_fwd)


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


@op("sum_dim_sparse", saves=None, node="SumBackward1")
def _sum_dim(xp, s, dims, keepdim):
    """Tensor.sum(dim) of a sparse tensor: torch.sparse.sum's result, the summed dims put back
    as size-1 dims for keepdim (as unsqueeze does)."""
    r = _sum_fwd(xp, s, dims)[0]
    if keepdim:
        for d in dims:
            r = r.expand_dims(d) if isinstance(r, SparseCOO) else xp.expand_dims(r, d)
    return r, (s.shape, dims, keepdim)


@_sum_dim.vjp
def _(xp, g, shape, dims, keepdim):
    """torch's sum_backward: the gradient expanded back, which a sparse one cannot be."""
    if isinstance(g, SparseCOO):
        raise RuntimeError("expand is unsupported for Sparse tensors")
    return (xp.broadcast_to(g if keepdim else xp.expand_dims(g, dims), shape),)


def sum_dim(input, dims, keepdim, dtype):
    """Tensor.sum / torch.sum over `dims` (sorted, wrapped) of a sparse COO tensor; integers
    sum in int64, as torch."""
    if dtype is not None or input.arr.dtype.kind in "biu":
        from .. import _dtype
        input = input.to(dtype or _dtype.int64)
    return apply(_sum_dim, (input,), (dims, keepdim))


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


_softmax_op = op("sparse_softmax", saves="both", node="SparseSoftmaxBackward0")(
    lambda xp, s, dim, raw: _softmax_fwd(xp, s, dim, False, raw)).vjp(_softmax_bwd)
_log_softmax_op = op("sparse_log_softmax", saves="both", node="SparseLogSoftmaxBackward0")(
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


class check_sparse_tensor_invariants:
    """torch.sparse.check_sparse_tensor_invariants: turn the invariant checks of the sparse
    constructors on (a context manager, a decorator, or enable()/disable())."""

    @staticmethod
    def is_enabled():
        return _CHECKS[0]

    @staticmethod
    def enable():
        _CHECKS[:] = True, True

    @staticmethod
    def disable():
        _CHECKS[:] = False, True

    def __init__(self, enable=True):
        self.state, self.saved_state = enable, None

    def __enter__(self):
        if self.saved_state is not None:
            raise RuntimeError("This context manager instance is already activated. Use a "
                               "different context manager instance for context nesting.")
        self.saved_state = _CHECKS[0]
        _CHECKS[:] = self.state, True

    def __exit__(self, *exc):
        _CHECKS[:] = self.saved_state, True
        self.saved_state = None

    def __call__(self, fn):
        def checked(*args, **kwargs):
            with type(self)(self.state):
                return fn(*args, **kwargs)
        return checked


def _legacy(name, dtype_name):
    """torch.sparse.FloatTensor(indices, values[, size]) / (*size): the legacy constructors."""
    def ctor(*args, device=None):
        from .. import _dtype
        from ..ops.creation import zeros
        dt = getattr(_dtype, dtype_name)
        if args and isinstance(args[0], Tensor):
            indices, values, *size = args
            shape = ", shape" if size else ""
            warn_once(f"torch.sparse.SparseTensor(indices, values{shape}, *, device=) is "
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


# ---- sparse results of sparse @ dense: sspaddmm, smm, hspmm ------------------------------------
def _rows_product(xp, s, d):
    """The rows of s (a 2-D COO) that hold entries, sorted, and those rows of s @ d."""
    rows = xp.unique(s.coalesce().indices[0])
    return rows, s.matmul(d)[rows]


@op("sspaddmm", saves=None, node="torch::autograd::NotImplemented")
def _sspaddmm(xp, c, s, d, beta, alpha):
    """beta * c's entries (as stored), then alpha * (s @ d) at every column of each row of s
    that holds entries, as torch's CPU kernel lays them out (not coalesced)."""
    rows, p = _rows_product(xp, s, d)
    k = d.shape[1]
    idx = xp.stack([xp.repeat(rows, k), xp.tile(xp.arange(k), rows.shape[0])])
    vals = (p * alpha if alpha != 1 else p).reshape(-1).astype(d.dtype, copy=False)
    cv = c.values * beta if beta != 1 else c.values
    out = SparseCOO(xp.concatenate([c.indices, idx], 1),
                    xp.concatenate([cv.astype(d.dtype, copy=False), vals]), c.shape, False, xp)
    return out, ()


_sspaddmm.vjp(refused_backward("sspaddmm"))


def _check_products(name, mat1, mat2, sparse_self=True):
    from ..ops._apply import _tname
    if _is_sparse(mat2) or type(mat2.arr).__name__ == "SparseCSR":
        raise RuntimeError(f"{name}: expected 'mat2' to have strided layout, got 'mat2' with "
                           "layout Sparse")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"{name}: Argument #3: Expected dim 0 size {mat1.shape[1]}, got "
                           f"{mat2.shape[0]}")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"expected scalar type {_tname(mat1.arr.dtype)} but found "
                           f"{_tname(mat2.arr.dtype)}")


def _into(out, result):
    """`out=` of the products with a sparse result: a sparse COO `out` takes the result."""
    if out is None:
        return result
    if not _is_sparse(out):
        raise RuntimeError('self.is_sparse() INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/aten/'
                           'src/ATen/native/SparseTensorUtils.h":28, please report a bug to '
                           'PyTorch. _internal_get_SparseTensorImpl: not a sparse tensor')
    from .._tensor import bump_version
    out.arr = result.arr
    bump_version(out)
    return out


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """torch.sspaddmm: beta * input + alpha * (mat1 @ mat2) as a sparse COO tensor, for sparse
    input and mat1 and a dense mat2."""
    if not _is_sparse(input):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    if not _is_sparse(mat1):
        raise RuntimeError("sspaddmm: expected 'mat1' to have sparse layout, got 'mat1' with "
                           "layout Strided")
    _check_products("sspaddmm", mat1, mat2)
    if input.shape[0] != mat1.shape[0]:
        raise RuntimeError(f"sspaddmm: Argument #1: Expected dim 0 size {mat1.shape[0]}, got "
                           f"{input.shape[0]}")
    if input.shape[1] != mat2.shape[1]:
        raise RuntimeError(f"sspaddmm: Argument #1: Expected dim 1 size {mat2.shape[1]}, got "
                           f"{input.shape[1]}")
    return _into(out, apply(_sspaddmm, (input, mat1, mat2), (beta, alpha)))


def smm(input, mat2):
    """torch.smm: sparse input @ dense mat2 as a sparse COO tensor (sspaddmm onto zeros)."""
    if not _is_sparse(input):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    zeros = sparse_coo_tensor(input.new_zeros((2, 0), dtype=None).long(),
                              input.new_zeros((0,), dtype=mat2.dtype),
                              (input.shape[0], mat2.shape[1]))
    return sspaddmm(zeros, input, mat2, beta=0, alpha=1)


@op("hspmm", saves=None, node="torch::autograd::NotImplemented")
def _hspmm(xp, s, d):
    rows, p = _rows_product(xp, s, d)
    return SparseCOO(rows[None], p.astype(d.dtype, copy=False), (s.shape[0], d.shape[1]),
                     False, xp), ()


_hspmm.vjp(refused_backward("hspmm"))


def hspmm(mat1, mat2, *, out=None):
    """torch.hspmm: sparse mat1 @ dense mat2 as a hybrid COO tensor: the rows of mat1 holding
    entries are its one sparse dim, the product's rows its dense values."""
    if not _is_sparse(mat1):
        raise not_implemented("hspmm", mat1.be.xp, "")
    _check_products("hspmm", mat1, mat2)
    return _into(out, apply(_hspmm, (mat1, mat2)))


@op("sparse_sampled_addmm", saves="in", node="SparseSampledAddmmBackward0", needs_mask=True)
def _sampled_addmm(xp, s, m1, m2, beta, alpha):
    rows = s.rows()
    p = (m1[rows] * m2.T[s.col]).sum(-1)
    vals = alpha * p if beta == 0 else beta * s.values + alpha * p
    return s._like(vals.astype(s.dtype, copy=False)), (s._like(None), m1, m2, beta, alpha)


@_sampled_addmm.vjp
def _(xp, g, pattern, m1, m2, beta, alpha, needs):
    # torch: self beta * grad; mat1 / mat2 conj(alpha) * grad.sparse_mask(self) @ mat2^H, and
    # mat1^H @ grad.sparse_mask(self)
    gs = g * beta.conjugate() if needs[0] else None
    gm1 = gm2 = None
    if needs[1] or needs[2]:
        masked = pattern._like(pattern.at_pattern(g) * alpha.conjugate()).to_coo()
        if needs[1]:
            gm1 = masked.matmul(m2.conj().T).astype(m1.dtype, copy=False)
        if needs[2]:
            gm2 = masked.swapaxes(0, 1).matmul(m1.conj()).T.astype(m2.dtype, copy=False)
    return gs, gm1, gm2


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0):
    """torch.sparse.sampled_addmm: beta * input + alpha * (mat1 @ mat2) at input's pattern, for
    a 2-D sparse CSR input and dense mat1, mat2 (a CSR result)."""
    from ._compressed import layout_name
    from ..ops._apply import _tname
    kind = layout_name(input)
    if kind in ("Strided", "Sparse"):
        raise not_implemented("sparse_sampled_addmm", input.be.xp, "" if kind == "Strided"
                              else "Sparse")
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if layout_name(m) != "Strided":
            raise RuntimeError(f"sampled_addmm: Expected {name} to have strided layout, but got "
                               f"{layout_name(m)}")
    if kind != "SparseCsr":
        raise RuntimeError(f"sampled_addmm: Expected result to have sparse csr layout, but got "
                           f"{kind}")
    a, b, s = mat1.arr.dtype, mat2.arr.dtype, input.arr.dtype
    if a != b:
        raise RuntimeError(f"sampled_addmm: Expected mat1 and mat2 to have the same dtype, but "
                           f"got {_tname(a)} and {_tname(b)}")
    if a != s:
        raise RuntimeError(f"sampled_addmm: Expected mat1 and self to have the same dtype, but "
                           f"got {_tname(a)} and {_tname(s)}")
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.ndim < 2:
            raise RuntimeError(f"sampled_addmm: Expected {name} to be a matrix, got {m.ndim}-D "
                               "tensor")
    if mat1.ndim > 2 or mat2.ndim > 2:
        raise NotImplementedError("ember: torch.sparse.sampled_addmm supports 2-D matrices only")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1.shape[0]}x{mat1.shape[1]} and {mat2.shape[0]}x"
                           f"{mat2.shape[1]})")
    if input.shape[0] != mat1.shape[0]:
        raise RuntimeError("sampled_addmm: self.shape[-2] must match mat1.shape[-2]")
    if input.shape[1] != mat2.shape[1]:
        raise RuntimeError("sampled_addmm: self.shape[-1] must match mat2.shape[-1]")
    if s.kind not in "fc" or s.itemsize < 4 + 4 * (s.kind == "c"):
        raise RuntimeError(f"sparse_sampled_addmm: Expected self to be a floating-point or "
                           f"complex tensor, but got {_tname(s)}")
    return apply(_sampled_addmm, (input, mat1, mat2), (beta, alpha))


# ---- norm and bmm of a sparse COO tensor ------------------------------------------------------
@op("norm_sparse", saves="in", node="NormBackward1")
def _norm_sparse(xp, s, p, dims_given):
    from ..ops.linalg import _vector_norm
    c = s.coalesce()
    r = _vector_norm.impl[0][0](xp, c.values, p, None, False)[0]
    return r, (c, p, dims_given, _stamp())


@_norm_sparse.vjp
def _(xp, g, c, p, dims_given, seq):
    """torch's norm_backward on a sparse input: only p = 1 (and 0, no gradient) get through its
    dense formulas."""
    if p == 0:
        return (None,)
    if p == 1:
        return (_grad(c.indices, xp.sign(c.values) * g, c.shape, xp, seq),)
    if p == 2 and dims_given:           # self / norm.unsqueeze(dims)
        raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor divisor "
                           f"(got shape {[1] * len(c.shape)} for divisor)")
    if p == 2:
        raise not_implemented("masked_fill_.Scalar", xp)
    raise not_implemented("eq.Tensor" if abs(p) == float("inf") else "pow_.Scalar", xp)


def norm_sparse_checks(input, dims, keepdim, dtype):
    """torch's norm_sparse refusals: a reduction over some dims only, keepdim, a dtype."""
    from ..ops._dims import wrap_dim
    nd = input.ndim
    if dims:
        if len(dims) != nd or len({wrap_dim(d, nd) for d in dims}) != nd:
            raise RuntimeError("norm_sparse currently only supports full reductions, so 'dim' "
                               "must either be empty or contain all dimensions of the input")
    if keepdim:
        raise RuntimeError("norm_sparse currently does not support keepdim=True")
    if dtype is not None:
        raise RuntimeError("norm_sparse currently does not support 'dtype' argument")


def _norm_full(input, p, dims, keepdim, dtype):
    """torch's norm_sparse: the norm of the coalesced values, for a full reduction only."""
    from ..ops._apply import _tname
    norm_sparse_checks(input, dims, keepdim, dtype)
    if input.arr.dtype.kind not in "fcV":
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {_tname(input.arr.dtype)} instead.")
    return apply(_norm_sparse, (input,), (2.0 if p is None else p, bool(dims)))


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm of a sparse COO tensor, along torch.functional.norm's path for layouts other
    than strided: frobenius_norm or norm over all dims, no out=."""
    nd = input.ndim
    if dim is None and out is None and dtype is None and p is not None:
        if p == "fro":
            return _norm_full(input, 2.0, (), keepdim, None)
        if not isinstance(p, str):
            return _norm_full(input, p, tuple(range(nd)), keepdim, None)
    dims = None if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if isinstance(p, str) and p != "fro":
        raise RuntimeError(f"only valid string values are 'fro' and 'nuc', found {p}")
    if p == "fro" and dtype is not None:
        raise ValueError("dtype argument is not supported in frobenius norm")
    dims = tuple(range(nd)) if dims is None else dims
    if p == "fro" and len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions "
                           "instead.")
    if out is not None:
        raise not_implemented("norm.out", input.be.xp)
    return _norm_full(input, 2.0 if p == "fro" else p, dims, keepdim, dtype)


@op("sparse_bmm", saves="in", node="BmmBackward0", needs_mask=True)
def _sparse_bmm(xp, s, d):
    """Batch by batch, each coalesced entry (b, i, k) adds its value times d[b, k] to row i of
    batch b, in order (torch's CPU kernel)."""
    c = s.coalesce()
    out = xp.zeros(s.shape[:2] + d.shape[2:], d.dtype)
    if c.nnz:
        b, i, k = c.indices
        _index_add(xp, out, (b, i), c.values[:, None] * d[b, k])
    return out, (c, d)


@_sparse_bmm.vjp
def _(xp, g, c, d, needs):
    gs = gd = None
    if needs[0]:                # torch's grad.bmm(mat2^H): a dense gradient
        gs = xp.matmul(g, d.swapaxes(1, 2).conj())
    if needs[1]:
        gd = xp.zeros(d.shape, d.dtype)
        if c.nnz:
            b, i, k = c.indices
            _index_add(xp, gd, (b, k), c.values.conj()[:, None] * g[b, i])
    return gs, gd


def bmm(input, mat2):
    """torch.bmm with a sparse COO first operand (three sparse dims) and a dense second one:
    a dense result; BmmBackward0 gives the sparse operand a dense gradient, as torch's."""
    from ..ops._apply import _tname
    if _is_sparse(mat2):
        raise RuntimeError("bmm_sparse: Tensor 'mat2' must be dense")
    s = input.arr
    if s.ndim != s.sparse_dim:
        raise RuntimeError(f"bmm_sparse: Tensor 'self' must have 0 dense dims, but has "
                           f"{s.ndim - s.sparse_dim}")
    if s.sparse_dim != 3:
        raise RuntimeError(f"bmm_sparse: Tensor 'self' must have 3 sparse dims, but has "
                           f"{s.sparse_dim}")
    if mat2.ndim != 3:
        raise RuntimeError(f"bmm_sparse: Tensor 'mat2' must have 3 dims, but has {mat2.ndim}")
    if s.shape[0] != mat2.shape[0]:
        raise RuntimeError("bmm_sparse: 'self.size(0)' and 'mat2.size(0)' must match")
    if s.shape[2] != mat2.shape[1]:
        raise RuntimeError("bmm_sparse: 'self.size(2)' and 'mat2.size(1)' must match")
    if s.dtype != mat2.arr.dtype:
        raise RuntimeError(f"expected scalar type {_tname(s.dtype)} but found "
                           f"{_tname(mat2.arr.dtype)}")
    if s.dtype.kind == "b" or s.dtype.itemsize == 2 and s.dtype.kind in "fV":
        raise NotImplementedError(f"\"bmm_sparse_dense\" not implemented for '{_tname(s.dtype)}'")
    return apply(_sparse_bmm, (input, mat2))
