"""ember.linalg: torch.linalg's functions (implementations live in ember/ops/linalg.py)."""
from .ops.linalg import (LinAlgError, _linalg_cholesky as cholesky, _linalg_cross as cross,
                         _linalg_det as det, _linalg_eigh as eigh,
                         _linalg_eigvalsh as eigvalsh, _linalg_inv as inv,
                         _linalg_matrix_power as matrix_power, _linalg_pinv as pinv,
                         _linalg_qr as qr, _linalg_slogdet as slogdet, _linalg_solve as solve,
                         _linalg_svd as svd, _linalg_svdvals as svdvals,
                         _linalg_vector_norm as vector_norm,
                         _linalg_householder_product as householder_product, matmul,
                         matrix_exp, _square, _floating)
from .ops import linalg as _ops
from ._dtype import bfloat16 as _bfloat16, bool_ as _bool, float16 as _float16, \
    float32 as _float32, float64 as _float64
from .return_types import make as _return_type
from ._torch_function import namespaced as _namespaced
from .ops._apply import _missing_arg, raise_not_tensor as _raise_not_tensor, \
    tensor_elements as _tensor_elements, tensor_ndim as _tensor_ndim

_LSTSQ = _return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_EIG = _return_type("linalg_eig", ("eigenvalues", "eigenvectors"))
_INV_EX = _return_type("linalg_inv_ex", ("inverse", "info"))
_CHOLESKY_EX = _return_type("linalg_cholesky_ex", ("L", "info"))
_SOLVE_EX = _return_type("linalg_solve_ex", ("result", "info"))

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "householder_product", "inv", "inv_ex", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_ex", "svd", "svdvals", "vecdot", "vector_norm"]

_INF = float("inf")
# torch.linalg's matmul and matrix_exp are builtins of their own (not torch.matmul)
matmul = _namespaced(matmul, "matmul", __name__)
matrix_exp = _namespaced(matrix_exp, "matrix_exp", __name__)


def _amax_or_zeros(r, dim, keepdim):
    """torch's matrix norms take the max over an empty dim as 0, without a graph (the min is
    amin's error)."""
    from .ops.creation import zeros
    if r.shape[dim]:
        return r.amax(dim, keepdim)
    d = dim % r.ndim
    return zeros([1 if i == d else n for i, n in enumerate(r.shape) if keepdim or i != d],
                 dtype=r.dtype, device=r.device)


_MATRIX_NORM_OUT = "linalg.matrix_norm expected out tensor dtype {result} but got: {out}"


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """torch's linalg_matrix_norm, its checks in its order."""
    from .ops.shape import movedim
    if ord not in ("fro", "nuc") if isinstance(ord, str) else abs(ord) not in (1, 2, _INF):
        shown = int(ord) if isinstance(ord, float) and ord.is_integer() else ord   # C++'s double
        raise RuntimeError(f"linalg.matrix_norm: Order {shown} not supported.")
    if _tensor_ndim("linalg_matrix_norm", A, "input") < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if not A.dtype.is_floating_point and not A.dtype.is_complex:
        _floating(A, "linalg.matrix_norm")
    if A.dtype.itemsize <= 2 and (ord == "nuc" or ord in (2, -2)):     # (float8s too)
        raise RuntimeError("linalg.matrix_norm: Low precision dtypes not supported. Got "
                           f"{_ops._tn(A)}")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dim)}")
    from .ops._dims import wrap_dim
    d0, d1 = (wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if dtype is not None:
        A = A.to(_ops._norm_dtype(A, dtype, "linalg.matrix_norm"))
    if ord == "fro":
        return _ops._finish(vector_norm(A, 2, (d0, d1), keepdim), out, "linalg_matrix_norm",
                            _MATRIX_NORM_OUT)
    if ord == "nuc" or ord in (2, -2):
        s = svdvals(movedim(A, (d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else _amax_or_zeros(s, -1, False) if ord == 2 else \
            s.amin(-1)
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return _ops._finish(r, out, "linalg_matrix_norm", _MATRIX_NORM_OUT)
    # 1, -1, inf, -inf as torch's: a 1-norm of columns (rows), then max/min
    sum_dim, red_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
    if not keepdim and sum_dim < red_dim:
        red_dim -= 1
    r = vector_norm(A, 1, sum_dim, keepdim)
    r = _amax_or_zeros(r, red_dim, keepdim) if ord > 0 else r.amin(red_dim, keepdim)
    return _ops._finish(r, out, "linalg_matrix_norm", _MATRIX_NORM_OUT)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """torch's linalg_norm: a string ord is always a matrix norm; a number is one over two dims
    (or a 2-D input without dim); anything else is a vector norm."""
    if isinstance(dim, int):
        dim = (dim,)
    try:
        if dim is not None:
            if len(dim) not in (1, 2):
                raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or "
                                   f"2. Got {list(dim)}")
        elif ord is not None and A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A.ndim}D.")
        if ord is not None and (isinstance(ord, str) or (len(dim) == 2 if dim is not None else
                                                         A.ndim == 2)):
            r = matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
        else:
            r = vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    except (AttributeError, TypeError):
        _raise_not_tensor("linalg_norm", ("input", 1, A))
    return _ops._finish(r, out, "linalg_norm",
                        "linalg.norm expected out tensor dtype {result} but got: {out}")


def _ex(name, result_type, compute, failed, A, check_errors, template, out):
    """A *_ex function: compute() with info 0, or, where LAPACK fails, failed() -> (host
    result, info) with LAPACK's leftovers (not differentiable), raising with check_errors
    (after writing out=, as torch)."""
    from ._dtype import int32
    from .ops import linalg_info as _info
    from .ops.creation import tensor, zeros
    try:
        return _ops._finish_tuple((compute(), zeros(A.shape[:-2], dtype=int32, device=A.device)),
                                  out, result_type.__name__, result_type, "resize")
    except LinAlgError:
        result, info = failed()
    r = _ops._finish_tuple((tensor(result, device=A.device),
                            tensor(info.reshape(A.shape[:-2]), device=A.device)),
                           out, result_type.__name__, result_type, "resize")
    if check_errors:
        raise LinAlgError(_info.message(name, A.ndim, info, template)) from None
    return r


def inv_ex(A, *, check_errors=False, out=None):
    from .ops import linalg_info as _info
    from .ops.creation import eye
    _square(A, "linalg.inv")           # (torch's checks are inv's)

    def failed():
        ident = _info.host(eye(A.shape[-1], dtype=A.dtype).arr)
        return _info.lu_solve_host(A.arr, ident), _info.lu_info(A.arr)
    return _ex("linalg.inv_ex", _INV_EX, lambda: inv(A), failed, A, check_errors,
               _info.SINGULAR_INV, out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    from .ops import linalg_info as _info
    _square(A, "linalg.cholesky")      # (torch's checks are cholesky's)

    def failed():       # (upper: the upper triangle, as torch's LAPACK call reads it)
        L, info = _info.cholesky_partial(A.mH.arr if upper else A.arr)
        return (L.swapaxes(-1, -2).conj() if upper else L), info
    return _ex("linalg.cholesky_ex", _CHOLESKY_EX, lambda: cholesky(A, upper=upper), failed, A,
               check_errors, _info.NOT_PD, out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    from .ops import linalg_info as _info

    def failed():
        a, b = _info.host(A.arr), _info.host(B.arr)
        if not left:                        # X A = B  <=>  A^T X^T = B^T
            return _info.lu_solve_host(a.swapaxes(-1, -2), b.swapaxes(-1, -2)).swapaxes(
                -1, -2), _info.lu_info(a)
        vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
        x = _info.lu_solve_host(a, b[..., None] if vector else b)
        return (x[..., 0] if vector else x), _info.lu_info(a)
    return _ex("torch.linalg.solve_ex", _SOLVE_EX, lambda: solve(A, B, left=left),
               failed, A, check_errors, _info.SINGULAR_SOLVE, out)


def multi_dot(tensors, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got 0")
    _tensor_elements(tensors)
    if len(tensors) == 1:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got 1")
    first_1d, last_1d = tensors[0].ndim == 1, tensors[-1].ndim == 1
    for which, t in (("first", tensors[0]), ("last", tensors[-1])):
        if t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                               f"{t.ndim}D")
    ts = list(tensors)
    if first_1d:
        ts[0] = ts[0].unsqueeze(0)
    if last_1d:
        ts[-1] = ts[-1].unsqueeze(1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    for i, t in enumerate(ts[1:], 1):
        if t.dtype != ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor "
                               f"0 is {_ops.cname(ts[0].dtype.np)} and tensor {i} "
                               f"{_ops.cname(t.dtype.np)}")
        if ts[i - 1].shape[-1] != t.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes "
                               f"{list(tensors[i - 1].shape)} and {list(tensors[i].shape)} cannot "
                               "be multiplied")
    r = _chain(ts)
    if first_1d:
        r = r.squeeze(0)
    if last_1d:
        r = r.squeeze(-1)
    return _ops._finish(r, out, "linalg_multi_dot", _ops._MULTI_DOT_OUT)


def _chain(ts):
    """The product of 2-D tensors in torch's order (rounding differs with the order): two or
    three by comparing the costs, more by its matrix-chain dynamic programme (Cormen et al.),
    the first cheapest split winning."""
    n = len(ts)
    if n <= 3:
        if n == 3:
            a, b, c, d = ts[0].shape[0], ts[1].shape[0], ts[2].shape[0], ts[2].shape[1]
            if (a * c) * (b + d) > (b * d) * (a + c):
                return _ops.mm(ts[0], _ops.mm(ts[1], ts[2]))
        r = ts[0]
        for t in ts[1:]:
            r = _ops.mm(r, t)
        return r
    p = [t.shape[0] for t in ts] + [ts[-1].shape[1]]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k

    def product(i, j):
        return ts[i] if i == j else _ops.mm(product(i, split[i][j]), product(split[i][j] + 1, j))
    return product(0, n - 1)


def vecdot(x, y, *, dim=-1, out=None):
    try:
        if not (x.dtype.is_floating_point or x.is_complex()):
            raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as "
                               f"input. Got {_ops._tn(x)}")
        if x.ndim == y.ndim == 1 and out is None:       # torch's vdot of two vectors
            from .ops.linalg import vdot
            return vdot(x, y)
        prod = x.conj() * y if x.is_complex() else x * y
    except (AttributeError, TypeError):
        _raise_not_tensor("linalg_vecdot", ("x", 1, x), ("y", 2, y))
    return _ops._finish(prod.sum(dim), out, "linalg_vecdot",
                        "linalg.vecdot: Expected out of dtype{result} but found {out}")


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    from .ops.shape import diagonal as diag
    return diag(A, offset, dim1, dim2)


_MATRIX_RANK_OVERLOADS = (
    " * (Tensor input, *, Tensor atol = None, Tensor rtol = None, bool hermitian = False, "
    "Tensor out = None)\n * (Tensor input, *, float atol = None, float rtol = None, bool "
    "hermitian = False, Tensor out = None)\n * (Tensor input, Tensor tol, bool hermitian = "
    "False, *, Tensor out = None)\n * (Tensor input, float tol, bool hermitian = False, *, "
    "Tensor out = None)\n")


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """torch's: the default rtol needs the dtype's eps (float and double only); the checks of
    the decomposition used follow. `tol` is torch's older overload: atol=tol, rtol=0."""
    import numpy as np
    if tol is not None:
        if atol is not None or rtol is not None:
            got = ", ".join(["Tensor"] + [f"{k}={type(v).__name__}" for k, v in
                                          (("atol", atol), ("rtol", rtol), ("tol", tol))
                                          if v is not None])
            raise TypeError("linalg_matrix_rank() received an invalid combination of arguments "
                            f"- got ({got}), but expected one of:\n{_MATRIX_RANK_OVERLOADS}")
        atol, rtol = tol, 0.0
    if _tensor_ndim("linalg_matrix_rank", A, "input") < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 "
                           "dimensions.")
    _ops._complex_tol(atol, "matrix_rank", "atol")
    _ops._complex_tol(rtol, "matrix_rank", "rtol")
    if rtol is None and not (A.dtype in (_float32, _float64) or A.is_complex()):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if not A.numel():                       # (torch's early return, before any dtype check)
        from ._dtype import int64
        from .ops.creation import zeros
        return _ops._finish(zeros(A.shape[:-2], dtype=int64, device=A.device), out)
    from ._dtype import float64
    from .ops.creation import tensor
    from .ops.elementwise import maximum, where
    with _no_grad():
        s = eigvalsh(A).abs() if hermitian else svdvals(A)
        smax = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
        # torch's tol = max(atol, rtol * smax), atol and rtol as (double) tensors
        atol_t = tensor(0.0 if atol is None else atol, dtype=float64, device=A.device) \
            if not isinstance(atol, _ops.Tensor) else atol
        if rtol is None:
            eps = max(A.shape[-2:]) * float(np.finfo(A.arr.dtype.type(0).real.dtype).eps)
            rtol = eps if atol is None else where(atol_t > 0, 0.0, eps)
        rtol_t = rtol if isinstance(rtol, _ops.Tensor) else \
            tensor(rtol, dtype=float64, device=A.device)
        tol = maximum(atol_t.unsqueeze(-1), rtol_t.unsqueeze(-1) * smax)
        return _ops._finish((s > tol).sum(-1), out)


def cond(A, p=None, *, out=None):
    """torch's linalg_cond: 0 for empty matrices; the 2-norms from the singular values, the
    others through inv_ex, a singular matrix's inverse taken as inf (its condition number inf)."""
    from .ops.creation import zeros
    if isinstance(p, str):                  # (torch checks the matrices first)
        _tensor_ndim("linalg_cond", A, "input")
        _ops._square_shape(A, f"linalg.cond(ord={p})")
    elif _tensor_ndim("linalg_cond", A, "input") < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    p_ = 2 if p is None else p
    if p_ not in ("fro", "nuc") if isinstance(p, str) else abs(p_) not in (1, 2, _INF):
        shown = int(p_) if isinstance(p_, float) and p_.is_integer() else p_
        raise RuntimeError(f"linalg.cond got an invalid norm type: {shown}")
    if not A.numel():
        r = zeros(A.shape[:-2], dtype=A.dtype.to_real(), device=A.device)
    elif p_ in (2, -2):
        s = svdvals(A)
        smax, smin = s[..., 0], s[..., -1]
        r = smin / smax if p_ == -2 else smax / smin
    elif p == "nuc":
        s = svdvals(A)
        r = s.sum(-1) * s.reciprocal().sum(-1)
    else:
        if not isinstance(p, str):          # (C++'s to_string of the order: 1, 1.000000, inf)
            _ops._square_shape(A, f"linalg.cond(ord={p if isinstance(p, int) else '%f' % p})")
        inverse, info = inv_ex(A)
        inverse = inverse.masked_fill((info > 0)[..., None, None], _INF)
        r = (matrix_norm(A, p) * matrix_norm(inverse, p)).nan_to_num(_INF, _INF, -_INF)
    return _ops._finish(r, out, castable="linalg.cond")


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def solve_triangular(A, B, *, upper=None, left=True, unitriangular=False, out=None):
    """Triangular solve: the unused triangle of A is ignored (and masked out of A's gradient),
    as torch does; one LinalgSolveTriangularBackward0 node, saving A and the result."""
    if upper is None:
        raise _missing_arg("linalg_solve_triangular", "upper")
    _tensor_ndim("linalg_solve_triangular", A, "input")
    _ops._square_shape(A, "linalg.solve_triangular")
    if _tensor_ndim("linalg_solve_triangular", B, "B", 2) < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the "
                           f"equation {'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    _ops._check_batch(B.shape[:-2], A.shape[:-2])
    _floating(A, "linalg.solve_triangular")
    if B.dtype != A.dtype:          # torch casts B to A's dtype (float64 and complex too)
        B = B.to(A.dtype)
    X = _ops.apply(_ops._solve_triangular, (A, B), (bool(upper), bool(left),
                                                    bool(unitriangular)))
    return _ops._finish(X, out, "linalg_solve_triangular",
                        "expected scalar type {result} but found {out}")


def lstsq(A, B, rcond=None, *, driver=None, out=None):
    import numpy as np
    from .ops.creation import empty
    b_ndim = _tensor_ndim("linalg_lstsq", B, "b", 2)
    if _tensor_ndim("linalg_lstsq", A, "input") < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if b_ndim < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if B.dtype is not A.dtype:
        raise RuntimeError("torch.linalg.lstsq: Expected input and other to have the same dtype, "
                           f"but got input's dtype {_ops._tn(A)} and other's dtype {_ops._tn(B)}")
    if A.ndim - b_ndim not in (0, 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to "
                           "other.dim() and (input.dim() - other.dim()) <= 1")
    # (torch's checks, in its order: a right side of one dimension fewer is a batch of vectors
    # for the batch check, but vectors for the row check only if its shape is A's but the last)
    vector = b_ndim == 1 or (b_ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    m, n = A.shape[-2:]
    if (B.shape[-1] if vector else B.shape[-2]) != m:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size"
                           f"({-1 if vector else -2})")
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           "gelsy, gelsd, gelss)")
    if not (A.dtype in (_float32, _float64) or A.is_complex()):
        raise RuntimeError("This function doesn't handle types other than float and double")
    _ops._check_batch(A.shape[:-2], B.shape[:-1] if b_ndim < A.ndim else B.shape[:-2])
    vector = b_ndim == A.ndim - 1
    eps = float(np.finfo(A.arr.dtype).eps)
    rtol = max(m, n) * eps if rcond is None else rcond
    s = svdvals(A.detach())
    smax = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    rank = (s > smax * rtol).sum(-1)
    driver = driver or "gelsy"
    none = empty(0, dtype=A.dtype.to_real(), device=A.device)     # (the real dtype of s)
    # torch: gelsd and gelss give residuals only if every matrix has full rank; gels always
    full = driver == "gels" or bool((rank == n).all())
    residuals = None if driver == "gelsy" or m <= n or not full else \
        "zero" if driver == "gels" and n == 0 else "sum"
    solution, residuals = _ops.apply(_ops._lstsq, (A, B), (rtol, vector, residuals))
    return _ops._finish_tuple((
        solution, residuals, rank if driver != "gels" else empty(0, dtype=rank.dtype),
        s if driver in ("gelsd", "gelss") else none), out, "linalg_lstsq", _LSTSQ,
        castable=tuple(("torch.linalg.lstsq", what) for what in   # (torch's names)
                       ("solution", "solution", "rank", "singular_values")))


def vander(x, *, N=None):
    from .ops.creation import ones
    from .ops.shape import cat
    _tensor_ndim("linalg_vander", x, "x")
    if x.dtype in (_bool, _float16, _bfloat16):
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, "
                           f"but got {_ops._tn(x)}")
    if not x.ndim:
        x = x.unsqueeze(-1)     # (torch: a 0-d x is one point)
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)     # (torch's order)
    return cat([ones((*x.shape, 1), dtype=x.dtype, device=x.device), powers], -1)


def tensorinv(A, ind=2, *, out=None):
    import math
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    _tensor_ndim("linalg_tensorinv", A, "input")
    left, right = A.shape[:ind], A.shape[ind:]
    if math.prod(right) != math.prod(left):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(right)} != "
                           f"{math.prod(left)}")
    try:
        inv_ = inv(A.reshape(math.prod(left), math.prod(right)))
    except LinAlgError as e:        # (torch names the failing function inv)
        raise LinAlgError(str(e).replace("linalg.inv:", "inv:", 1)) from None
    return _ops._finish(inv_.reshape((*right, *left)), out, castable="tensorinv")


def tensorsolve(A, B, dims=None, *, out=None):
    import math
    _tensor_ndim("linalg_tensorsolve", A, "input")
    _tensor_ndim("linalg_tensorsolve", B, "other", 2)
    if dims is not None:
        from .ops.shape import movedim
        dims = [d % A.ndim for d in dims]
        A = movedim(A, dims, list(range(A.ndim - len(dims), A.ndim)))
    rest = A.shape[B.ndim:]
    if math.prod(rest) != math.prod(A.shape[:B.ndim]):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
                           "== prod(self.shape[:other.ndim]), but got "
                           f"{math.prod(rest)} != {math.prod(A.shape[:B.ndim])}")
    X = solve(A.reshape(B.numel(), math.prod(rest)), B.reshape(-1))
    return _ops._finish(X.reshape(tuple(rest)), out, castable="tensorsolve")


def eigvals(A, *, out=None):
    _eig_checks(A, "linalg.eigvals")
    return _ops._finish(eig(A)[0], out, "linalg_eigvals",
                        castable=("torch.linalg.eigvals", "eigenvalues"))


def _eig_checks(A, name):
    _tensor_ndim(name.replace(".", "_"), A, "input")
    if A.arr.dtype.kind in "biu":           # (torch looks for the complex type first)
        raise RuntimeError(f"Unknown Complex ScalarType for {_ops._tn(A)}")
    _ops._square_shape(A, name)


def eig(A, *, out=None):
    """Eigen-decomposition of general matrices (complex results), differentiable as torch's."""
    _eig_checks(A, "linalg.eig")
    _square(A, "linalg.eig")
    return _ops._finish_tuple(_ops.apply(_ops._eig, (A,)), out, "linalg_eig", _EIG, castable=(
        ("torch.linalg.eig", "eigenvalues"), ("torch.linalg.eig", "eigenvectors")))


__all__ += ["solve_triangular", "lstsq", "matrix_exp", "vander", "tensorinv", "tensorsolve",
            "eig", "eigvals"]


from .ops.linalg_extra import (_linalg_lu as lu, _linalg_lu_factor as lu_factor,  # noqa: E402
                               _linalg_lu_factor_ex as lu_factor_ex,
                               _linalg_lu_solve as lu_solve,
                               _linalg_ldl_factor as ldl_factor,
                               _linalg_ldl_factor_ex as ldl_factor_ex,
                               _linalg_ldl_solve as ldl_solve)
__all__ += ["lu", "lu_factor", "lu_factor_ex", "lu_solve", "ldl_factor", "ldl_factor_ex",
            "ldl_solve"]


def _autocast_fp32():
    """The decompositions and solvers torch's CPU autocast runs in float32."""
    from .amp.autocast import fp32_function
    g = globals()
    for name in ("cholesky", "cholesky_ex", "eigh", "eigvalsh", "inv", "inv_ex", "qr", "solve",
                 "solve_ex", "svd", "svdvals", "householder_product", "lstsq", "eig", "eigvals",
                 "matrix_rank"):
        if callable(g.get(name)):
            g[name] = fp32_function("linalg_" + name, g[name])
    g["vecdot"] = fp32_function("linalg_vecdot", g["vecdot"])       # (autocast dtype)


_autocast_fp32()
