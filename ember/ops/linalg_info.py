"""What LAPACK reports when a factorization fails, and torch's words for it.

`info` is LAPACK's: the 1-based index of the first zero pivot of an LU factorization (getrf), or
the order of the first leading minor that is not positive-definite (potrf); 0 where the
factorization succeeded. torch's errors name the first failing matrix of a batch as
"(Batch element i): ". The *_ex functions return info instead of raising, with the results
LAPACK leaves: the partial Cholesky factor, and inf/nan from solving with a zero pivot.

These run on the host and only after a factorization has failed."""
import numpy as np

SINGULAR_INV = ("The diagonal element {} is zero, the inversion could not be completed because "
                "the input matrix is singular.")
SINGULAR_SOLVE = "The solver failed because the input matrix is singular."
NOT_PD = ("The factorization could not be completed because the input is not positive-definite "
          "(the leading minor of order {} is not positive-definite).")


def host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def message(name, ndim, info, template):
    """torch's error for the first failing matrix (`info` flat over the batch)."""
    bad = np.flatnonzero(info)
    i = int(bad[0]) if bad.size else 0
    prefix = f"(Batch element {i}): " if ndim > 2 else ""
    return f"{name}: {prefix}{template.format(int(info[i]) if bad.size else 1)}"


def lu_info(a):
    """getrf's info for each matrix of a (..., n, n), flat."""
    from .linalg_extra import _getrf
    return _getrf(np, host(a))[2].reshape(-1)


def cholesky_partial(a):
    """(L, info) as LAPACK's unblocked potf2 leaves them, for each matrix of a (..., n, n):
    L is the factor up to the failing column, whose diagonal holds the non-positive value found,
    and the rest of the lower triangle as it was; the upper triangle zero."""
    a = host(a)
    mats = np.tril(a).reshape((-1,) + a.shape[-2:]).copy()
    info = np.zeros(len(mats), np.int32)
    for m, w in enumerate(mats):
        for j in range(w.shape[-1]):
            row = w[j, :j]
            d = w[j, j].real - np.vdot(row, row).real
            if not d > 0:
                w[j, j] = d
                info[m] = j + 1
                break
            w[j, j] = d = np.sqrt(d)
            w[j + 1:, j] = (w[j + 1:, j] - w[j + 1:, :j] @ row.conj()) / d
    return mats.reshape(a.shape), info


def lu_solve_host(a, b):
    """Solve a x = b for each matrix (b: (..., n, k)) through getrf's P L U, substituting
    through zero pivots too (inf and nan, as LAPACK's getrs gives)."""
    from .linalg_extra import _getrf, _perm_matrix
    lu, piv, _ = _getrf(np, host(a))
    n = lu.shape[-1]
    lower = np.tril(lu, -1) + np.eye(n, dtype=lu.dtype)
    pb = np.matmul(_perm_matrix(np, piv, n, lu.dtype).swapaxes(-1, -2), host(b))
    return tri_solve_host(np.triu(lu), tri_solve_host(lower, pb, upper=False), upper=True)


def tri_solve_host(t, b, upper):
    """Solve t x = b with t triangular (..., n, n), by substitution as BLAS's trsm does, also
    through zero diagonal entries (inf and nan)."""
    t, b = host(t), host(b)
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    t = np.broadcast_to(t, batch + t.shape[-2:])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(t, b))
    n = t.shape[-1]
    with np.errstate(all="ignore"):
        for i in (reversed(range(n)) if upper else range(n)):
            done = slice(i + 1, n) if upper else slice(0, i)
            x[..., i, :] -= np.einsum("...j,...jk->...k", t[..., i, done], x[..., done, :])
            x[..., i, :] /= t[..., i, i, None]
    return x
