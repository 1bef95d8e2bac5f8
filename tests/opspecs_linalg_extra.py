"""Op table entries for ember/ops/linalg_extra.py (LU, lu_solve, LDL, triangular/cholesky
solvers, ormqr, nuclear/frobenius norms)."""
from opspecs import OpSpec, _mod, t

# gradcheck=False on the LU entries: the LU primitive has no double backward yet (its
# forward pivots with in-place row swaps); first-order gradients are still compared to torch.
F32_ORMQR = {"float32": dict(rtol=1e-4, atol=1e-4)}
SQ = [(t(3, 3),), (t(2, 4, 4),)]
RECT = [(t(3, 3),), (t(3, 5),), (t(5, 3),), (t(2, 4, 2),)]


def _lower(x):
    """A well-conditioned lower-triangular factor (diagonal kept away from zero)."""
    return x.tril() + 3 * _mod(x).eye(x.shape[-1], dtype=x.dtype, device=x.device)


def _herm(c):
    """torch's cholesky_inverse backward assumes a Hermitian cotangent (its output is)."""
    return c + c.mH


def _sym(x):
    return x + x.mT


def _lu(x):
    P, L, U = _mod(x).linalg.lu(x)
    return L.sum() + (U * U).sum() + P.sum()


SPECS = [
    OpSpec("linalg.lu", _lu, RECT, gradcheck=False),
    OpSpec("linalg.lu.U", lambda x: _mod(x).linalg.lu(x).U, RECT, gradcheck=False),
    OpSpec("linalg.lu_factor", lambda x: _mod(x).linalg.lu_factor(x).LU, RECT, gradcheck=False),
    OpSpec("linalg.lu_factor_ex", lambda x: _mod(x).linalg.lu_factor_ex(x)[0], SQ, gradcheck=False),
    OpSpec("lu", lambda x: _mod(x).lu(x)[0], SQ, gradcheck=False),
    OpSpec("lu_unpack", lambda x: _mod(x).lu_unpack(
        x, _mod(x).linalg.lu_factor(x.detach()).pivots).U, RECT),
    OpSpec("lu_unpack.L", lambda x: _mod(x).lu_unpack(
        x, _mod(x).linalg.lu_factor(x.detach()).pivots).L, RECT),
    OpSpec("linalg.lu_solve", lambda a, b: _mod(a).linalg.lu_solve(
        *_mod(a).linalg.lu_factor(a), b), [(t(3, 3), t(3, 2)), (t(2, 4, 4), t(4, 1))], gradcheck=False),
    OpSpec("linalg.lu_solve.adjoint", lambda a, b: _mod(a).linalg.lu_solve(
        *_mod(a).linalg.lu_factor(a), b, adjoint=True), [(t(3, 3), t(3, 2))], gradcheck=False),
    OpSpec("linalg.lu_solve.right", lambda a, b: _mod(a).linalg.lu_solve(
        *_mod(a).linalg.lu_factor(a), b, left=False), [(t(3, 3), t(2, 3))], gradcheck=False),
    OpSpec("linalg.lu_solve.right_adjoint", lambda a, b: _mod(a).linalg.lu_solve(
        *_mod(a).linalg.lu_factor(a), b, left=False, adjoint=True), [(t(3, 3), t(2, 3))], gradcheck=False),
    OpSpec("lu_solve", lambda a, b: b.lu_solve(*_mod(a).linalg.lu_factor(a)),
           [(t(3, 3), t(3, 2))], gradcheck=False),
    # LDL: torch has no derivatives for these (tests/test_ldl.py)
    OpSpec("linalg.ldl_factor", lambda x: _mod(x).linalg.ldl_factor(_sym(x)).LD, SQ,
           grad=False),
    OpSpec("linalg.ldl_factor.pivots", lambda x: _mod(x).linalg.ldl_factor(_sym(x)).pivots, SQ,
           grad=False),
    OpSpec("linalg.ldl_factor_ex", lambda x: _mod(x).linalg.ldl_factor_ex(_sym(x))[0], SQ,
           grad=False),
    OpSpec("linalg.ldl_solve", lambda a, b: _mod(a).linalg.ldl_solve(
        *_mod(a).linalg.ldl_factor(_sym(a)), b), [(t(3, 3), t(3, 2)), (t(2, 4, 4), t(2, 4, 1)),
                                                  (t(2, 4, 4), t(4, 3))], grad=False),
    OpSpec("triangular_solve", lambda b, a: b.triangular_solve(_lower(a).mT)[0],
           [(t(3, 2), t(3, 3)), (t(2, 3, 1), t(3, 3))]),
    OpSpec("triangular_solve.lower_t", lambda b, a: _mod(b).triangular_solve(
        b, _lower(a), upper=False, transpose=True)[0], [(t(3, 2), t(3, 3))]),
    OpSpec("triangular_solve.unit", lambda b, a: _mod(b).triangular_solve(
        b, a, unitriangular=True)[0].sum() + _mod(b).triangular_solve(b, a)[1].sum(),
           [(t(3, 2), t(3, 3))]),
    OpSpec("cholesky_solve", lambda b, l: b.cholesky_solve(_lower(l)),
           [(t(3, 2), t(3, 3)), (t(2, 4, 1), t(4, 4))]),
    OpSpec("cholesky_solve.upper", lambda b, l: _mod(b).cholesky_solve(
        b, _lower(l).mT, upper=True), [(t(3, 2), t(3, 3))]),
    OpSpec("cholesky_inverse", lambda l: _herm(_lower(l).cholesky_inverse()), SQ,
           grad=False),  # TODO: complex grads differ from torch's (real ones match)
    OpSpec("cholesky_inverse.upper", lambda l: _herm(_mod(l).cholesky_inverse(_lower(l).mT,
                                                                         upper=True)),
           [(t(3, 3),)], grad=False),
    OpSpec("ormqr", lambda a, tau, c: a.ormqr(tau, c),
           [(t(4, 3), t(3), t(4, 2)), (t(3, 3), t(3), t(3, 3))], tol=F32_ORMQR),
    OpSpec("ormqr.right_t", lambda a, tau, c: _mod(a).ormqr(a, tau, c, left=False,
                                                            transpose=True),
           [(t(4, 3), t(3), t(2, 4))], tol=F32_ORMQR),
    OpSpec("nuclear_norm", lambda x: _mod(x).nuclear_norm(x), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("nuclear_norm.dim", lambda x: _mod(x).nuclear_norm(x, (0, 2), True),
           [(t(3, 2, 4),)]),
    OpSpec("frobenius_norm", lambda x: _mod(x).frobenius_norm(x, (0, 1)), [(t(3, 4),)]),
    OpSpec("frobenius_norm.dim", lambda x: _mod(x).frobenius_norm(x, 1, keepdim=True),
           [(t(2, 3, 4),)]),
]
