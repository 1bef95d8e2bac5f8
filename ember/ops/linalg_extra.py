"""More linear algebra: LU (factor, unpack, solve), LDL (factor, solve: LAPACK's sytrf/sytrs via
SciPy), the deprecated torch.* solvers (triangular_solve, cholesky_solve, cholesky_inverse),
ormqr, nuclear/frobenius norms and the randomized svd_lowrank / pca_lowrank. Composites of
ember's differentiable ops where possible; LU itself is a primitive whose vjp is torch's
linalg_lu_backward (FunctionsManual.cpp)."""
import builtins
import math

import numpy as np

from .._tensor import Tensor
from .._warnings import warn_once as _warn_once
from ._apply import _finish, _finish_tuple, apply, raise_not_tensor, tensor_ndim
from ._registry import c_order, column_major_outputs, f_order, op
from ..autograd.node import node_class as _node_class
from .linalg import _bsolve, _check_batch, _cholesky_solve, _floating, _householder_product, \
    _mH, _return_type, _square_shape, _swap, _tn, _tri_solve, _triangle, _triangular_solve, \
    lapack_only

LU = _return_type("linalg_lu", ("P", "L", "U"))
LU_FACTOR = _return_type("linalg_lu_factor", ("LU", "pivots"))
LU_FACTOR_EX = _return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
LU_WITH_INFO = _return_type("_lu_with_info", ("LU", "pivots", "info"))
LU_UNPACK = _return_type("lu_unpack", ("P", "L", "U"))
TRIANGULAR_SOLVE = _return_type("triangular_solve", ("solution", "cloned_coefficient"))


# ---- LU with partial pivoting (LAPACK getrf's pivot choice) ----------------------------------
def _getrf(xp, a):
    """(packed LU, 1-based int32 pivots, int32 info) of a (..., m, n), batched over the rows."""
    m, n = a.shape[-2:]
    k = builtins.min(m, n)
    batch = a.shape[:-2]
    w = xp.array(a, copy=True).reshape((math.prod(batch), m, n))
    b = w.shape[0]
    piv = xp.zeros((b, k), dtype=xp.int32)
    info = xp.zeros((b,), dtype=xp.int32)
    rows = xp.arange(b)
    for j in range(k if w.size else 0):
        col = w[:, j:, j]
        mag = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)
        p = j + xp.argmax(mag, axis=1) if b else xp.zeros((0,), dtype=np.int64)
        piv[:, j] = p + 1
        rj = w[rows, j].copy()
        w[rows, j] = w[rows, p]
        w[rows, p] = rj
        d = w[:, j, j]
        zero = d == 0
        info[(info == 0) & zero] = j + 1
        if j + 1 < m:
            mult = w[:, j + 1:, j] / xp.where(zero, 1, d)[:, None]
            w[:, j + 1:, j] = mult
            w[:, j + 1:, j + 1:] -= mult[:, :, None] * w[:, j, None, j + 1:]
    return (w.reshape(batch + (m, n)), piv.reshape(batch + (k,)), info.reshape(batch))


def _perm_matrix(xp, piv, m, dtype):
    """P with A = P L U from getrf's sequential row swaps."""
    batch, k = piv.shape[:-1], piv.shape[-1]
    pv = xp.asarray(piv).reshape((math.prod(batch), k)).astype(np.int64) - 1
    b = pv.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (b, m)).copy()
    rows = xp.arange(b)
    for j in range(k):
        p = pv[:, j]
        pj = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = pj
    P = xp.zeros((b, m, m), dtype=dtype)
    P[rows[:, None], perm, xp.arange(m)[None, :]] = 1
    return P.reshape(batch + (m, m))


def _unpack_arrays(xp, lu):
    m, n = lu.shape[-2:]
    k = builtins.min(m, n)
    L = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
    return L, xp.triu(lu[..., :k, :])


def _right_solve_h(xp, g, T):
    """g T^{-H} (X T^H = g  <=>  T X^H = g^H)."""
    return _mH(_bsolve(xp, T, _mH(g)))


def _lu_grad(xp, gL, gU, P, L, U):
    """torch's linalg_lu_backward: A = P L U, L unit lower (m x k), U upper (k x n)."""
    m, n = L.shape[-2], U.shape[-1]
    k = builtins.min(m, n)
    if m == n:
        ga = xp.tril(xp.matmul(_mH(L), gL), -1) + xp.triu(xp.matmul(gU, _mH(U)))
        ga = _bsolve(xp, _mH(L), _right_solve_h(xp, ga, U))
    elif m < n:
        U1 = U[..., :, :k]
        ga = xp.tril(xp.matmul(_mH(L), gL) - xp.matmul(xp.triu(gU), _mH(U)), -1)
        ga = _right_solve_h(xp, ga, U1)
        ga = xp.concatenate([ga + xp.triu(gU[..., :, :k]), gU[..., :, k:]], axis=-1)
        ga = _bsolve(xp, _mH(L), ga)
    else:
        L1 = L[..., :k, :]
        ga = xp.triu(xp.matmul(gU, _mH(U)) - xp.matmul(_mH(L), xp.tril(gL, -1)))
        ga = _bsolve(xp, _mH(L1), ga)
        ga = xp.concatenate([ga + xp.tril(gL[..., :k, :], -1), gL[..., k:, :]], axis=-2)
        ga = _right_solve_h(xp, ga, U)
    return (xp.matmul(P, ga),)


@op("linalg_lu", saves="out", n_out=2, node="LinalgLuBackward0")
def _lu(xp, a, lu, piv):
    L, U = _unpack_arrays(xp, lu)
    return (L, U), (_perm_matrix(xp, piv, a.shape[-2], a.dtype), L, U)


@_lu.vjp
def _(xp, g, P, L, U):
    return _lu_grad(xp, g[0], g[1], P, L, U)


@op("linalg_lu_factor_ex", saves="out", node="LinalgLuFactorExBackward0")
def _lu_factor(xp, a, lu, piv):
    L, U = _unpack_arrays(xp, lu)
    return lu.copy(), (_perm_matrix(xp, piv, a.shape[-2], a.dtype), L, U)


@_lu_factor.vjp
def _(xp, g, P, L, U):
    gL, gU = _unpack_arrays(xp, g)
    return _lu_grad(xp, gL - xp.eye(*gL.shape[-2:], dtype=g.dtype), gU, P, L, U)


def _check_lu_input(A, pivot, name):
    if tensor_ndim(name.replace(".", "_"), A, "A") < 2:
        what = "linalg.lu" if name == "linalg.lu" else "torch.lu_factor"
        raise RuntimeError(f"{what}: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(A.shape)} instead")
    if not A.arr.size:      # (torch's kernel, which checks the dtype and the pivoting, not run)
        return
    if A.arr.dtype.kind not in "fc":
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{_tn(A)}'")
    _floating(A, name)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _factor(A, pivot, name):
    from .._tensor import _new
    _check_lu_input(A, pivot, name)
    xp = A.be.xp
    lu, piv, info = _getrf(xp, A.arr)
    return lu, _new(piv, A.be), _new(info, A.be)


def _linalg_lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    lu, piv, info = _factor(A, pivot, "linalg.lu_factor_ex")
    r = _finish_tuple((apply(_lu_factor, (A,), (lu, piv.arr)), piv, info), out,
                      "linalg_lu_factor_ex", LU_FACTOR_EX, "resize")
    if check_errors:
        _raise_info(info, "torch.linalg.lu_factor_ex")
    return r


def _raise_info(info, name):
    """torch's lu_factor check (a RuntimeError, not a LinAlgError), naming the batch element."""
    bad = info.arr.reshape(-1)
    if bad.size and bool((bad > 0).any()):
        k = int(np.flatnonzero(bad > 0)[0])
        i = int(bad[k])
        where = f"(Batch element {k}): " if info.ndim else ""
        raise RuntimeError(f"{name}: {where}U[{i},{i}] is zero and using it on lu_solve would "
                           "result in a division by zero. If you still want to perform the "
                           "factorization, consider calling linalg.lu(A, pivot) or "
                           "linalg.lu_factor_ex(A, pivot)")


def _linalg_lu_factor(A, *, pivot=True, out=None):
    try:
        r = _linalg_lu_factor_ex(A, pivot=pivot)
    except TypeError:
        raise_not_tensor("linalg_lu_factor", ("A", 1, A))
    r_ = _finish_tuple((r.LU, r.pivots), out, "linalg_lu_factor", LU_FACTOR, "resize")
    _raise_info(r.info, "torch.linalg.lu_factor")     # (torch: after writing out)
    return r_


def _linalg_lu(A, *, pivot=True, out=None):
    from .._tensor import _new
    from .creation import empty
    lu, piv, _ = _factor(A, pivot, "linalg.lu")
    L, U = apply(_lu, (A,), (lu, piv.arr))
    P = empty(0, dtype=A.dtype, device=A.device) if not pivot else _new(    # (an empty A:
        _perm_matrix(A.be.xp, piv.arr, A.shape[-2], A.arr.dtype), A.be)    # torch's P empty)
    return _finish_tuple((P, L, U), out, "linalg_lu", LU, "resize")


def lu(A, pivot=True, get_infos=False, out=None):
    if isinstance(A, Tensor):   # (from torch/functional.py's _lu_with_info call: lands here)
        _warn_once("torch.lu is deprecated in favor of torch.linalg.lu_factor / "
                   "torch.linalg.lu_factor_ex and will be removed in a future PyTorch release.\n"
                   "LU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\nLU, "
                   "pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info "
                   "= torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\nLU, "
                   "pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)", stacklevel=1)
    try:
        r = _linalg_lu_factor_ex(A, pivot=pivot)
    except TypeError:
        raise_not_tensor("_lu_with_info", ("input", 1, A))
    r = tuple(r) if get_infos else (r.LU, r.pivots)
    if out is None:
        return LU_WITH_INFO(*r) if get_infos else r
    if len(out) != len(r):      # torch/functional.py's _check_list_size
        raise TypeError(f"expected tuple of {len(r)} elements but got {len(out)}")
    for o, t in zip(out, r):    # resize_as_ + copy_, then `out` itself
        o.resize_as_(t).copy_(t)
    return out


@op("lu_unpack", saves=None, n_out=2)
def _lu_unpack(xp, lu):
    """(L, U): the outputs of torch's node (P, its first output, is not differentiable, and
    torch numbers L and U 0 and 1)."""
    return _unpack_arrays(xp, lu), (lu.shape,)


@_lu_unpack.vjp
def _(xp, g, shape):
    """torch's lu_unpack_backward: L's strict lower part and U's upper part, in LU's shape."""
    gl, gu = g
    m, n = shape[-2:]
    k = builtins.min(m, n)
    ga = xp.zeros(gl.shape[:-2] + (m, n), gl.dtype)
    ga[..., :, :k] += xp.tril(gl, -1)
    ga[..., :k, :] += xp.triu(gu)
    return (ga,)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    from .._tensor import _new
    from .creation import empty
    if tensor_ndim("lu_unpack", LU_data, "LU_data") < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(LU_data.shape)} instead")
    if LU_pivots.dtype.__str__() != "torch.int32":
        raise RuntimeError("lu_unpack: LU_pivots is expected to be a contiguous tensor of "
                           "torch.int32 dtype.\nNote: this function is intended to be used "
                           "with the output produced by torch.linalg.lu_factor")
    none = empty(0, dtype=LU_data.dtype, device=LU_data.device)
    L = U = P = none
    if unpack_data:
        L, U = apply(_lu_unpack, (LU_data,))
    if unpack_pivots:
        P = _new(_perm_matrix(LU_data.be.xp, LU_pivots.arr, LU_data.shape[-2],
                              LU_data.arr.dtype), LU_data.be)
    return _finish_tuple((P, L, U), out, "lu_unpack", LU_UNPACK, "resize")


def _lu_solve_arrays(xp, P, L, U, b, left, adjoint):
    """X with op(A) X = B (X op(A) = B unless left), A = P L U, op(A) = A or A^H (adjoint)."""
    if left and not adjoint:            # X = U^-1 L^-1 P^T B
        return _tri_solve(xp, U, _tri_solve(xp, L, xp.matmul(_swap(P), b), False), True)
    if left:                            # X = P L^-H U^-H B
        return xp.matmul(P, _tri_solve(xp, _mH(L), _tri_solve(xp, _mH(U), b, False), True))
    if not adjoint:                     # X = B U^-1 L^-1 P^T
        y = _tri_solve(xp, U, b, True, left=False)
        return xp.matmul(_tri_solve(xp, L, y, False, left=False), _swap(P))
    y = _tri_solve(xp, _mH(L), xp.matmul(b, P), True, left=False)
    return _tri_solve(xp, _mH(U), y, False, left=False)


def _lu_factors(xp, lu, piv):
    return (_perm_matrix(xp, piv, lu.shape[-1], lu.dtype), _triangle(xp, lu, False, True),
            _triangle(xp, lu, True, False))


@op("linalg_lu_solve", saves="both")
def _lu_solve(xp, lu, piv, b, left, adjoint):
    x = _lu_solve_arrays(xp, *_lu_factors(xp, lu, piv), b, left, adjoint)
    x = f_order(xp, x) if left else c_order(xp, x)      # (torch's layouts of the two ways)
    return x, (lu, piv, x, left, adjoint)


@_lu_solve.vjp
def _(xp, g, lu, piv, x, left, adjoint):
    """B's gradient solves with op(A)^H; A's (-gB X^H and its three mirror images) goes to the
    packed factors: tril(P^T gA U^H, -1) + triu(L^H P^T gA), as torch's linalg_lu_solve_LU."""
    P, L, U = _lu_factors(xp, lu, piv)
    gb = _lu_solve_arrays(xp, P, L, U, g, left, not adjoint)
    if left:
        ga = -xp.matmul(x, _mH(gb)) if adjoint else -xp.matmul(gb, _mH(x))
    else:
        ga = -xp.matmul(_mH(gb), x) if adjoint else -xp.matmul(_mH(x), gb)
    pga = xp.matmul(_swap(P), ga)
    return xp.tril(xp.matmul(pga, _mH(U)), -1) + xp.triu(xp.matmul(_mH(L), pga)), None, gb




def _linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    tensor_ndim("linalg_lu_solve", B, "B", 3)
    tensor_ndim("linalg_lu_solve", LU, "LU")
    if LU.arr.dtype.kind not in "fcV":      # (torch's meta function: dtypes, then shapes)
        raise RuntimeError("torch.linalg.lu_solve: Expected a floating point or complex tensor "
                           f"as input. Got {_tn(LU)}")
    if B.dtype != LU.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found "
                           f"LU of type {_tn(LU)} and B of type {_tn(B)} instead")
    _square_shape(LU, "torch.linalg.lu_solve")
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    _check_batch(B.shape[:-2], LU.shape[:-2])
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x"
                           f"{B.shape[-1]})")
    return _finish(apply(_lu_solve, (LU, pivots, B), (bool(left), bool(adjoint))), out,
                   "linalg_lu_solve", "resize")


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    if all(isinstance(t, Tensor) for t in (b, LU_data, LU_pivots)):
        _warn_once("torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be "
                   "removed in a future PyTorch release.\nNote that torch.linalg.lu_solve has its "
                   "arguments reversed.\nX = torch.lu_solve(B, LU, pivots)\nshould be replaced "
                   "with\nX = torch.linalg.lu_solve(LU, pivots, B)")
    return _linalg_lu_solve(LU_data, LU_pivots, b, out=out)


# ---- LDL (Bunch-Kaufman) in LAPACK's compact form: sytrf / hetrf and sytrs / hetrs ------------
LDL_FACTOR = _return_type("linalg_ldl_factor", ("LD", "pivots"))
LDL_FACTOR_EX = _return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))
_NOT_IMPLEMENTED = "torch::autograd::NotImplemented"     # torch's node where it has no derivative


def _lapack_ldl(routine, dtype, hermitian):
    """SciPy's LAPACK ?sytrf / ?hetrf (`routine` "trf") or ?sytrs / ?hetrs ("trs"); NumPy
    has no Bunch-Kaufman factorization."""
    try:
        from scipy.linalg import lapack
    except ImportError:
        raise RuntimeError("torch.linalg.ldl_factor and ldl_solve need LAPACK's sytrf/sytrs, "
                           "which ember takes from SciPy: pip install scipy") from None
    prefix = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}[dtype.name]
    return getattr(lapack, prefix + ("he" if hermitian and dtype.kind == "c" else "sy") + routine)


def _host(xp, a):
    return a if xp is np else xp.asnumpy(a)


@op("linalg_ldl_factor_ex", saves=None, n_out=3, node=_NOT_IMPLEMENTED)
def _ldl_factor(xp, a, hermitian):
    """(LD: sytrf's lower triangle, 1-based int32 pivots, int32 info), batched in a loop."""
    h = _host(xp, a)
    n = h.shape[-1]
    mats = h.reshape((math.prod(h.shape[:-2]), n, n))
    ld, piv = np.zeros_like(mats), np.zeros(mats.shape[:2], np.int32)
    info = np.zeros(len(mats), np.int32)
    if n and len(mats):
        trf = _lapack_ldl("trf", h.dtype, hermitian)
        lwork = int(_lapack_ldl("trf_lwork", h.dtype, hermitian)(n, lower=1)[0].real)
        for i, m in enumerate(mats):        # the workspace query gives LAPACK's blocked code
            ld[i], piv[i], info[i] = trf(m, lower=1, lwork=lwork)
    out = (np.tril(ld).reshape(h.shape), piv.reshape(h.shape[:-1]), info.reshape(h.shape[:-2]))
    return tuple(xp.asarray(o) for o in out), ()


@_ldl_factor.vjp
def _(xp, g):
    raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


def _ldl_check(A, name):
    if tensor_ndim(name.replace("torch.linalg.", "linalg_"), A, "input") < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if A.arr.dtype.kind in "fV" and A.arr.dtype.itemsize < 4:
        raise NotImplementedError(f"\"ldl_factor_kernel_cpu\" not implemented for '{_tn(A)}'")
    _floating(A, name)


def _linalg_ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    _ldl_check(A, "torch.linalg.ldl_factor_ex")
    r = apply(_ldl_factor, (A,), (hermitian,))
    if check_errors:
        _ldl_raise(r[2], "torch.linalg.ldl_factor_ex")
    return _finish_tuple(r, out, "linalg_ldl_factor_ex", LDL_FACTOR_EX)


def _ldl_raise(info, name):
    """torch raises a plain RuntimeError where sytrf finds an exactly zero pivot block."""
    bad = info.arr.reshape(-1)
    if bad.size and bool((bad != 0).any()):
        i = int(bad[bad != 0][0])
        raise RuntimeError(f"{name}: D[{i},{i}] is exactly zero (LAPACK sytrf's error code {i}): "
                           "the matrix is singular. Use linalg.ldl_factor_ex to get the "
                           "factorization anyway.")


def _linalg_ldl_factor(A, *, hermitian=False, out=None):
    _ldl_check(A, "torch.linalg.ldl_factor_ex")        # (torch's checks are ldl_factor_ex's)
    LD, pivots, info = apply(_ldl_factor, (A,), (hermitian,))
    _ldl_raise(info, "torch.linalg.ldl_factor")
    return _finish_tuple((LD, pivots), out, "linalg_ldl_factor", LDL_FACTOR)


@op("linalg_ldl_solve", saves=None, node=_NOT_IMPLEMENTED)
def _ldl_solve(xp, ld, piv, b, hermitian):
    """sytrs on each matrix of the batch (LD and pivots broadcast against B's batch)."""
    n, k = b.shape[-2:]
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    size = math.prod(batch)
    lds = np.broadcast_to(_host(xp, ld), batch + (n, n)).reshape((size, n, n))
    pivs = np.broadcast_to(_host(xp, piv), batch + (n,)).reshape((size, n)).astype(np.int32)
    bs = np.broadcast_to(_host(xp, b), batch + (n, k)).reshape((size, n, k))
    x = np.zeros(bs.shape, b.dtype)
    if n and k:
        trs = _lapack_ldl("trs", b.dtype, hermitian)
        for i in range(len(bs)):
            x[i] = trs(lds[i], pivs[i], bs[i], lower=1)[0]
    return xp.asarray(x.reshape(batch + (n, k))), ()


@_ldl_solve.vjp
def _(xp, g):
    raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


def _linalg_ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    name = "torch.linalg.ldl_solve"
    if tensor_ndim("linalg_ldl_solve", LD, "LD") < 2 or LD.shape[-1] != LD.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{LD.shape[-2] if LD.ndim > 1 else 1} by {LD.shape[-1]} matrices")
    if tensor_ndim("linalg_ldl_solve", B, "B", 3) < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "-2)")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, "
                           f"but got pivots with shape {list(pivots.shape)} instead")
    if pivots.arr.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: Expected pivots to be integers. Got {_tn(pivots)}")
    _linear_solve_check(B, LD, name)     # (LD is square: checked above)
    _floating(LD, name)
    return _finish(apply(_ldl_solve, (LD, pivots, B), (hermitian,)), out, "linalg_ldl_solve",
                   "resize")


# ---- the deprecated torch.* solvers ----------------------------------------------------------
def _linear_solve_check(b, A, name):
    """torch's linearSolveCheckInputs."""
    if b.dtype != A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{_tn(b)} and A of type {_tn(A)} instead.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if A.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {A.shape[-1]} "
                           f"by {A.shape[-1]} but each b matrix is {b.shape[-2]} by "
                           f"{b.shape[-1]}")


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    if tensor_ndim("triangular_solve", b, "input") < 2 or \
            tensor_ndim("triangular_solve", A, "A", 2) < 2:
        raise RuntimeError("torch.triangular_solve: Expected b to have at least 2 dimensions, "
                           f"but it has {b.ndim} dimensions instead")
    _linear_solve_check(b, A, "triangular_solve")
    _check_batch(b.shape[:-2], A.shape[:-2])
    _warn_once("torch.triangular_solve is deprecated in favor of "
               "torch.linalg.solve_triangularand will be removed in a future PyTorch release.\n"
               "torch.linalg.solve_triangular has its arguments reversed and does not return a "
               "copy of one of the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be "
               "replaced with\nX = torch.linalg.solve_triangular(A, B).")
    lapack_only(A, "triangular_solve_cpu")
    return _finish_tuple(apply(_triangular_solve, (b, A), (bool(upper), bool(transpose),
                                                          bool(unitriangular))),
                         out, "triangular_solve", TRIANGULAR_SOLVE, "resize")


def _gram(L, upper):
    """L L^H (or U^H U), with the unused triangle's gradient kept as torch's (full) formula
    has it: the value reads one triangle, the gradient flows to every entry."""
    used = L.triu() if upper else L.tril()
    rest = L - used
    T = used + (rest - rest.detach())
    return T.mH @ T if upper else T @ T.mH


def cholesky_solve(B, L, upper=False, *, out=None):
    if tensor_ndim("cholesky_solve", B, "input") < 2 or \
            tensor_ndim("cholesky_solve", L, "input2", 2) < 2:
        raise RuntimeError("b should have at least 2 dimensions, but has "
                           f"{B.ndim} dimensions instead")
    _linear_solve_check(B, L, "cholesky_solve")
    _check_batch(B.shape[:-2], L.shape[:-2])
    lapack_only(L, "cholesky_solve_cpu")
    return _finish(apply(_cholesky_solve, (B, L), (bool(upper),)), out, "cholesky_solve",
                   castable="cholesky_solve")


def cholesky_inverse(L, upper=False, *, out=None):
    from .. import linalg as la
    if tensor_ndim("cholesky_inverse", L, "input") < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 "
                           "dimensions.")
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError("cholesky_inverse: A must be batches of square matrices, but they are "
                           f"{L.shape[-2]} by {L.shape[-1]} matrices")
    lapack_only(L, "cholesky_inverse_out_cpu")
    return _finish(la.inv(_gram(L, upper)), out, "cholesky_inverse", castable="cholesky_inverse")


def _ormqr_q(xp, a, tau):
    """(Q, saved) of householder_product over a's first m columns (zero-padded to m)."""
    m, n = a.shape[-2:]
    sq = a[..., :m] if n >= m else xp.concatenate([a, xp.zeros(a.shape[:-1] + (m - n,),
                                                                a.dtype)], -1)
    return _householder_product.impl[0][0](xp, sq, tau)


@op("ormqr", saves="both")
def _ormqr(xp, a, tau, c, left, transpose):
    """op(Q) C (C op(Q) unless left) for Q of geqrf's reflectors, op(Q) = Q or Q^H."""
    q = _ormqr_q(xp, a, tau)[0]
    q = _mH(q) if transpose else q
    return (xp.matmul(q, c) if left else xp.matmul(c, q)), (a, tau, c, left, transpose)


@_ormqr.vjp
def _(xp, g, a, tau, c, left, transpose):
    """C's gradient through the product, a's and tau's through householder_product's rule."""
    q, (v, t) = _ormqr_q(xp, a, tau)
    op_q = _mH(q) if transpose else q
    gc = xp.matmul(_mH(op_q), g) if left else xp.matmul(g, _mH(op_q))
    gop = xp.matmul(g, _mH(c)) if left else xp.matmul(_mH(c), g)
    gsq, gtau = _householder_product.impl[0][1](xp, _mH(gop) if transpose else gop, v, t)
    if gsq is None:
        return None, None, gc
    m, n = a.shape[-2:]
    ga = gsq[..., :n] if n <= m else xp.concatenate([gsq, xp.zeros(gsq.shape[:-1] + (n - m,),
                                                                   gsq.dtype)], -1)
    return ga, gtau, gc


def _ormqr_check(input, tau, other, left):
    """torch's checks of ormqr's shapes and dtypes, in its order."""
    nd, lc = input.ndim, -2 if left else -1
    for t, name in ((input, "input"), (other, "other")):
        if t.ndim < 2:
            raise RuntimeError(f"torch.ormqr: {name} must have at least 2 dimensions.")
    if other.shape[lc] != input.shape[-2]:
        raise RuntimeError(f"torch.ormqr: other.shape[{lc}] must be equal to input.shape[-2]")
    if not tau.ndim:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if tau.shape[-1] != min(other.shape[lc], input.shape[-1]):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be equal to min(other.shape[{lc}], "
                           "input.shape[-1])")
    if tau.ndim != nd - 1:
        raise RuntimeError("torch.ormqr: Expected tau to have one dimension less than input, "
                           f"but got tau.ndim equal to {tau.ndim} and input.ndim is equal to {nd}")
    if other.ndim != nd:
        raise RuntimeError("torch.ormqr: Expected other to have the same number of dimensions "
                           f"as input, but got other.ndim equal to {other.ndim} and input.ndim "
                           f"is equal to {nd}")
    for t, name, batch in ((tau, "tau", tau.shape[:-1]), (other, "other", other.shape[:-2])):
        if batch != input.shape[:-2]:
            raise RuntimeError(f"torch.ormqr: Expected batch dimensions of {name} to be equal to "
                               f"input.shape[:-2], but got {list(batch)}")
    for t, name in ((tau, "tau"), (other, "other")):
        if t.arr.dtype != input.arr.dtype:
            raise RuntimeError(f"torch.ormqr: Expected input and {name} to have the same dtype, "
                               f"but input has dtype{_tn(input)} and {name} has dtype {_tn(t)}")


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    tensor_ndim("ormqr", input, "input")
    tensor_ndim("ormqr", tau, "input2", 2)
    tensor_ndim("ormqr", other, "input3", 3)
    _ormqr_check(input, tau, other, left)
    lapack_only(input, "ormqr_cpu")
    return _finish(apply(_ormqr, (input, tau, other), (bool(left), bool(transpose))), out,
                   "ormqr", "torch.ormqr: Expected input and result to have the same dtype, but "
                   "input has dtype{result} and result has dtype {out}")


# ---- norms and the deprecated matrix_rank --------------------------------------------------
def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    from .. import linalg as la
    tensor_ndim("nuclear_norm", input, "input")
    _warn_once("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It "
               "will be removed in a future PyTorch release. Please use "
               "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead")
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    # (torch's int[2] argument: an int stands for both dims)
    dim = (-2, -1) if dim is None else (dim, dim) if isinstance(dim, int) else tuple(dim)
    return la.matrix_norm(input, "nuc", dim, keepdim, out=out)


def frobenius_norm(input, dim, keepdim=False, *, out=None):
    """at::frobenius_norm: at::norm(input, 2, dim) (whose dtype check is its own)."""
    from .. import linalg as la
    tensor_ndim("frobenius_norm", input, "input")
    _warn_once("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It "
               "will be removed in a future PyTorch release. Please use "
               "`linalg.vector_norm(A, 2., dim, keepdim)` instead")
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions "
                           "instead.")
    if input.arr.dtype.kind not in "fcV":
        raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                           f"Got {_tn(input)} instead.")
    r = la.vector_norm(input, 2, dim, keepdim, out=out)
    if out is None and r.grad_fn is not None:
        r.grad_fn.__class__ = _NORM_SCALAR_OPT_DIM      # torch's at::norm node (same saves)
    return r


_NORM_SCALAR_OPT_DIM = _node_class("NormBackward1")


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed.\n"
                       "Please use the `torch.linalg.matrix_rank` function instead. The "
                       "parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to "
                       "'hermitian'.")


# torch's functions removed in 1.9: each raises, naming its torch.linalg replacement
_REMOVED = {
    "eig": "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than "
           "real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced "
           "with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
           "eigenvectors=True) should be replaced with:\nL_complex, V_complex = "
           "torch.linalg.eig(A)",
    "lstsq": "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` "
             "has reversed arguments and does not return the QR decomposition in the returned "
             "tuple (although it returns other information about the problem).\n\nTo get the QR "
             "decomposition consider using `torch.linalg.qr`.\n\nThe returned solution in "
             "`torch.lstsq` stored the residuals of the solution in the last m - n columns of the "
             "returned value whenever m > n. In torch.linalg.lstsq, the residuals are in the "
             "field 'residuals' of the returned named tuple.\n\nThe unpacking of the solution, "
             "as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = "
             "torch.linalg.lstsq(A, B).solution",
    "solve": "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` "
             "has its arguments reversed and does not return the LU factorization.\n\nTo get the "
             "LU factorization see `torch.lu`, which can be used with `torch.lu_solve` or "
             "`torch.lu_unpack`.\nX = torch.solve(B, A).solution should be replaced with:\nX = "
             "torch.linalg.solve(A, B)",
    "symeig": "The default behavior has changed from using the upper triangular portion of the "
              "matrix by default to using the lower triangular portion.\n\nL, _ = "
              "torch.symeig(A, upper=upper) should be replaced with:\nL = "
              "torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = "
              "torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = "
              "torch.linalg.eigh(A, UPLO='U' if upper else 'L')"}


def _removed(name):
    def fn(*args, **kwargs):
        raise RuntimeError("This function was deprecated since version 1.9 and is now removed. "
                           + _REMOVED[name])
    fn.__name__ = fn.__qualname__ = name
    return fn


eig, lstsq, solve, symeig = (_removed(n) for n in ("eig", "lstsq", "solve", "symeig"))


# ---- randomized low-rank SVD / PCA (torch/_lowrank.py, Halko et al. 2009) ------------------
def _approximate_basis(A, q, niter, M):
    from .. import linalg as la
    from .creation import randn
    R = randn(A.shape[-1], q, dtype=A.dtype, device=A.device)
    X = A @ R if M is None else A @ R - M @ R
    Q = la.qr(X).Q
    for _ in range(niter):
        X = A.mH @ Q if M is None else A.mH @ Q - M.mH @ Q
        Q = la.qr(X).Q
        X = A @ Q if M is None else A @ Q - M @ Q
        Q = la.qr(X).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    from .. import linalg as la
    q = 6 if q is None else q
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:
        A = A.mH
        M = None if M is None else M.mH
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M
    U, S, Vh = la.svd(B, full_matrices=False)
    V, U = Vh.mH, Q @ U
    return (V, S, U) if m < n else (U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    m, n = A.shape[-2:]
    if q is None:
        q = builtins.min(6, m, n)
    elif not (0 <= q <= builtins.min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)="
                         f"{builtins.min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter)
    return svd_lowrank(A - A.mean(-2, keepdim=True), q, niter=niter)


# torch has no Tensor method for these (ember/_bind.py skips them)
FUNCTIONS_ONLY = frozenset({"lu_unpack", "nuclear_norm", "frobenius_norm", "matrix_rank",
                            "svd_lowrank", "pca_lowrank"})


# LAPACK's results are column-major in torch
column_major_outputs("linalg_lu_factor_ex", "linalg_ldl_solve", "ormqr")
column_major_outputs("linalg_ldl_factor_ex", which=(0,))
