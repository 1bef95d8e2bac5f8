"""Linear algebra against torch: matmul over every rank combination, the add+product family,
einsum, ember.linalg (values, named tuples, errors incl. LinAlgError) and float64 gradchecks
of every decomposition's backward."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import ember
import opspecs  # noqa: F401  (imports opspecs_shape itself; import it first)
from opspecs_shape import run_both
from oracle import assert_close

RNG = np.random.default_rng(0)


def _pair(shape, dtype="float64"):
    a = RNG.standard_normal(shape).astype(dtype)
    return (torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True))


SHAPES = {1: [(4,)], 2: [(3, 4), (4, 2)], 3: [(2, 3, 4), (2, 4, 2), (1, 4, 2)],
          4: [(2, 1, 3, 4), (1, 2, 4, 2)]}


def _matmul_cases():
    for ra, rb in itertools.product(range(1, 5), repeat=2):
        for sa in SHAPES[ra]:
            for sb in SHAPES[rb]:
                if sa[-1] == (sb[0] if rb == 1 else sb[-2]):
                    yield sa, sb


@pytest.mark.parametrize("sa,sb", list(_matmul_cases()))
def test_matmul_every_rank(sa, sb):
    (ta, ea), (tb, eb) = _pair(sa), _pair(sb)
    rt, re_ = ta @ tb, ea @ eb
    assert_close(re_, rt)
    w = RNG.standard_normal(tuple(rt.shape))
    (rt * torch.tensor(w)).sum().backward()
    (re_ * ember.tensor(w)).sum().backward()
    assert_close(ea.grad, ta.grad)
    assert_close(eb.grad, tb.grad)
    assert re_.grad_fn.name() == type(rt.grad_fn).__name__ or rt.ndim > 2 or \
        (sa, sb) == ((4,), (2, 4, 2))


def test_matmul_needs_mask_skips_unneeded():
    a = ember.randn(3, 4, requires_grad=True)
    b = ember.randn(4, 2)
    (a @ b).sum().backward()
    assert b.grad is None and a.grad.shape == (3, 4)


MATMUL_ERRORS = [
    lambda lib: lib.tensor(1.0) @ lib.ones(3),
    lambda lib: lib.ones(3) @ lib.ones(4),
    lambda lib: lib.ones(2, 3) @ lib.ones(4, 2),
    lambda lib: lib.ones(2, 3) @ lib.ones(2, 3, dtype=lib.float64),
    lambda lib: lib.ones(2, 2, 3) @ lib.ones(3, 3, 2),
    lambda lib: lib.mm(lib.ones(3), lib.ones(3, 2)),
    lambda lib: lib.mm(lib.ones(2, 3), lib.ones(2, 3)),
    lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(2, 3)),
    lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(3, 3, 2)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(2)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, 1)),
    lambda lib: lib.dot(lib.ones(3), lib.ones(4)),
    lambda lib: lib.dot(lib.ones(3), lib.ones(3, 1)),
    lambda lib: lib.dot(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.outer(lib.ones(2, 2), lib.ones(2)),
    lambda lib: lib.vdot(lib.ones(2), lib.ones(3)),
    lambda lib: lib.addmm(lib.ones(3, 3), lib.ones(2, 3), lib.ones(3, 2)),
    lambda lib: lib.addmm(lib.ones(2), lib.ones(2, 3), lib.ones(4, 2)),
    lambda lib: lib.baddbmm(lib.ones(2, 2), lib.ones(2, 2, 3), lib.ones(3, 3, 2)),
    lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(3, 4), 1),
    lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(4, 3), ([0, 1], [0])),
    lambda lib: lib.tensordot(lib.ones(3, 4), lib.ones(4, 3), -1),
    lambda lib: lib.linalg.cross(lib.ones(3, 4), lib.ones(3, 4)),
    lambda lib: lib.cross(lib.ones(2, 4), lib.ones(2, 4)),
    lambda lib: lib.cross(lib.ones(3, 2), lib.ones(3, 2), dim=1),
    lambda lib: lib.trace(lib.ones(2, 2, 2)),
    lambda lib: lib.kron(lib.ones(2), "a"),
]


@pytest.mark.parametrize("i", range(len(MATMUL_ERRORS)))
def test_product_errors_match_torch(i):
    run_both(MATMUL_ERRORS[i])


def test_integer_products():
    run_both(lambda lib: lib.arange(6).reshape(2, 3) @ lib.arange(3))
    run_both(lambda lib: lib.arange(6).reshape(2, 3).mm(lib.arange(6).reshape(3, 2)))
    run_both(lambda lib: lib.einsum("ij,j->i", lib.arange(6).reshape(2, 3), lib.arange(3)))
    run_both(lambda lib: lib.arange(9).reshape(3, 3).trace())
    run_both(lambda lib: lib.kron(lib.arange(4).reshape(2, 2), lib.eye(2, dtype=lib.int64)))
    run_both(lambda lib: lib.outer(lib.arange(3), lib.arange(2)))
    run_both(lambda lib: lib.cross(lib.tensor([1, 0, 0]), lib.tensor([0, 1, 0]), dim=0))


def test_out_arguments():
    for lib in (torch, ember):
        out = lib.empty(2, 2)
        r = lib.matmul(lib.ones(2, 3), lib.ones(3, 2), out=out)
        assert r is out and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_matmul_float32_accuracy_large_k():
    """float32 with K = 4096: ember is at least as close to float64 as torch (+ slack)."""
    a = RNG.standard_normal((8, 4096)).astype(np.float32)
    b = RNG.standard_normal((4096, 8)).astype(np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    err_t = np.abs((torch.from_numpy(a) @ torch.from_numpy(b)).numpy() - ref).max()
    err_e = np.abs((ember.from_numpy(a) @ ember.from_numpy(b)).numpy() - ref).max()
    assert err_e <= 2 * err_t + 1e-5


# ---- einsum ----------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,jk", [(3, 4), (4, 2)]), ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("iij->ji", [(2, 2, 3)]),
    ("i,i->", [(4,), (4,)]), ("i,j->ij", [(2,), (3,)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 1)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("...ij->...ji", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]), ("...,...->...", [(3, 1), (4,)]), ("ij,ij->ij", [(3, 1), (1, 4)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]), ("abc,cd,a->bd", [(2, 3, 4), (4, 5), (2,)]),
    ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]), ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ba", [(3, 2)]), ("a b, b c -> a c", [(2, 3), (3, 2)]), ("ij,kl->ijkl", [(2, 1), (1, 3)]),
    ("Ab,bZ->AZ", [(2, 3), (3, 2)]), ("i,j", [(0,), (3,)]), ("ij,jk", [(2, 0), (0, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum(eq, shapes):
    pairs = [_pair(s) for s in shapes]
    rt = torch.einsum(eq, *[p[0] for p in pairs])
    re_ = ember.einsum(eq, *[p[1] for p in pairs])
    assert_close(re_, rt)
    w = RNG.standard_normal(tuple(rt.shape))
    (rt * torch.tensor(w)).sum().backward()
    (re_ * ember.tensor(w)).sum().backward()
    for pt, pe in pairs:
        assert_close(pe.grad, pt.grad)


EINSUM_ERRORS = [
    ("ij,jk->ik", [(3, 4), (3, 4)]), ("ij->k", [(3, 4)]), ("i", [(3, 4)]), ("ij", [(3,)]),
    ("ij,jk", [(3, 4)]), ("ij", [(3, 4), (4, 3)]), ("i->ii", [(3,)]), ("i1", [(3, 3)]),
    ("...ij,...jk", [(2, 3, 4), (3, 4, 2)]), ("ij->i", []),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_ERRORS)
def test_einsum_errors(eq, shapes):
    run_both(lambda lib: lib.einsum(eq, *[lib.ones(s) for s in shapes]))


# ---- ember.linalg ----------------------------------------------------------------------------
def _mat(lib, shape, kind="general", dtype=None):
    a = np.random.default_rng(3).standard_normal(shape)
    n = shape[-1]
    if kind == "spd":
        a = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    elif kind == "well":
        a = a + 3 * np.eye(n)
    t = lib.tensor(a)
    return t if dtype is None else t.to(getattr(lib, dtype))


LINALG = [
    lambda lib: lib.linalg.inv(_mat(lib, (2, 3, 3), "well")),
    lambda lib: lib.linalg.inv(_mat(lib, (0, 3, 3))),
    lambda lib: lib.linalg.det(_mat(lib, (2, 3, 3))),
    lambda lib: lib.linalg.det(lib.zeros(3, 3)),
    lambda lib: lib.linalg.slogdet(_mat(lib, (3, 3))),
    lambda lib: lib.linalg.slogdet(lib.zeros(2, 2)),
    lambda lib: lib.slogdet(_mat(lib, (3, 3))),
    lambda lib: lib.logdet(-lib.eye(3)),
    lambda lib: lib.linalg.solve(_mat(lib, (3, 3), "well"), _mat(lib, (3, 2))),
    lambda lib: lib.linalg.solve(_mat(lib, (2, 3, 3), "well"), _mat(lib, (2, 3))),
    lambda lib: lib.linalg.solve(_mat(lib, (3, 3), "well"), _mat(lib, (2, 3, 1))),
    lambda lib: lib.linalg.cholesky(_mat(lib, (2, 3, 3), "spd")),
    lambda lib: lib.linalg.cholesky(_mat(lib, (3, 3), "spd"), upper=True),
    lambda lib: lib.linalg.qr(_mat(lib, (4, 3))),
    lambda lib: lib.linalg.qr(_mat(lib, (3, 4)), mode="complete"),
    lambda lib: lib.linalg.qr(_mat(lib, (4, 3)), mode="r"),
    lambda lib: lib.linalg.qr(_mat(lib, (4, 3)), mode="complete"),
    lambda lib: lib.linalg.svdvals(_mat(lib, (2, 4, 3))),
    lambda lib: lib.linalg.eigvalsh(_mat(lib, (2, 3, 3), "spd")),
    lambda lib: lib.linalg.eigh(lib.diag(lib.tensor([3.0, 1.0, 2.0])))[0],
    lambda lib: lib.linalg.pinv(_mat(lib, (4, 3))),
    lambda lib: lib.linalg.pinv(lib.zeros(2, 3)),
    lambda lib: lib.linalg.pinv(_mat(lib, (3, 3)), rtol=0.5),
    lambda lib: lib.linalg.pinv(_mat(lib, (3, 3)), atol=1.0),
    lambda lib: lib.linalg.pinv(_mat(lib, (3, 3), "spd"), hermitian=True),
    lambda lib: lib.linalg.matrix_power(_mat(lib, (2, 3, 3)), 5),
    lambda lib: lib.linalg.matrix_power(_mat(lib, (3, 3), "well"), -3),
    lambda lib: lib.linalg.matrix_power(lib.arange(4).reshape(2, 2), 3),
    lambda lib: lib.linalg.matrix_power(_mat(lib, (3, 3)), 0),
    lambda lib: lib.linalg.norm(_mat(lib, (3, 4))),
    lambda lib: lib.linalg.norm(_mat(lib, (2, 3, 4)), dim=(0, 2)),
    lambda lib: lib.linalg.norm(_mat(lib, (2, 3, 4)), 2, dim=(2, 1), keepdim=True),
    lambda lib: lib.linalg.norm(_mat(lib, (4,)), 3.5),
    lambda lib: lib.linalg.norm(_mat(lib, (3, 4)), "nuc"),
    lambda lib: lib.linalg.norm(_mat(lib, (3, 4)), -1),
    lambda lib: lib.linalg.norm(_mat(lib, (2, 3, 4)), "fro"),
    lambda lib: lib.linalg.norm(_mat(lib, (3, 4)), "fro", dim=1),
    lambda lib: lib.linalg.vector_norm(_mat(lib, (2, 3, 4)), float("inf"), (0, 2)),
    lambda lib: lib.linalg.vector_norm(_mat(lib, (3, 4)), 0),
    lambda lib: lib.linalg.vector_norm(_mat(lib, (3, 4)), dtype=lib.float32),
    lambda lib: lib.linalg.vector_norm(lib.zeros(0, 3), dim=1),
    lambda lib: lib.linalg.vector_norm(lib.zeros(0, 3), float("inf")),
    lambda lib: lib.linalg.vector_norm(lib.zeros(0, 3), -1.0, dim=0),
    lambda lib: lib.linalg.vector_norm(lib.arange(3)),
    lambda lib: lib.linalg.matrix_norm(_mat(lib, (2, 3, 4)), float("inf")),
    lambda lib: lib.linalg.matrix_norm(_mat(lib, (3,))),
    lambda lib: lib.linalg.matrix_norm(_mat(lib, (3, 3)), 3),
    lambda lib: lib.linalg.matrix_rank(lib.ones(3, 3)),
    lambda lib: lib.linalg.matrix_rank(_mat(lib, (2, 3, 4))),
    lambda lib: lib.linalg.cond(_mat(lib, (3, 3))),
    lambda lib: lib.linalg.cond(_mat(lib, (3, 3), "well"), "fro"),
    lambda lib: lib.linalg.multi_dot([lib.ones(3), lib.ones(3, 2), lib.ones(2)]),
    lambda lib: lib.linalg.vecdot(_mat(lib, (2, 3)), _mat(lib, (3,)), dim=-1),
    lambda lib: lib.linalg.diagonal(_mat(lib, (2, 3, 3)), offset=1),
    lambda lib: lib.linalg.inv_ex(_mat(lib, (3, 3), "well")),
    lambda lib: lib.linalg.cholesky_ex(_mat(lib, (3, 3), "spd")),
    lambda lib: lib.linalg.solve_ex(_mat(lib, (3, 3), "well"), _mat(lib, (3,))),
    lambda lib: lib.inverse(_mat(lib, (3, 3), "well", "float32")),
    lambda lib: lib.pinverse(_mat(lib, (3, 2), dtype="float32")),
    lambda lib: lib.matrix_power(_mat(lib, (3, 3)), 2),
    lambda lib: lib.cholesky(_mat(lib, (3, 3), "spd"), upper=True),
    lambda lib: lib.qr(_mat(lib, (4, 3)), some=False),
    lambda lib: lib.svd(_mat(lib, (4, 3)), compute_uv=False)[1],
    lambda lib: lib.svd(_mat(lib, (4, 3)), compute_uv=False)[0],
]


@pytest.mark.parametrize("i", range(len(LINALG)))
def test_linalg_matches_torch(i):
    run_both(LINALG[i], rtol=1e-6, atol=1e-6)


LINALG_ERRORS = [
    lambda lib: lib.linalg.inv(lib.ones(3, 4)),
    lambda lib: lib.linalg.inv(lib.zeros(3, 3)),
    lambda lib: lib.linalg.inv(lib.ones(3)),
    lambda lib: lib.linalg.inv(lib.eye(3, dtype=lib.int64)),
    lambda lib: lib.linalg.det(lib.ones(3, 4)),
    lambda lib: lib.linalg.solve(lib.zeros(3, 3), lib.ones(3)),
    lambda lib: lib.linalg.solve(lib.eye(3), lib.ones(2, 3)),
    lambda lib: lib.linalg.solve(lib.eye(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.linalg.cholesky(-lib.eye(3)),
    lambda lib: lib.linalg.cholesky(lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: lib.linalg.eigh(lib.ones(3, 4)),
    lambda lib: lib.linalg.eigh(lib.eye(3), UPLO="X"),
    lambda lib: lib.linalg.qr(lib.ones(3), mode="reduced"),
    lambda lib: lib.linalg.qr(lib.ones(3, 3), mode="bad"),
    lambda lib: lib.linalg.svd(lib.ones(3)),
    lambda lib: lib.linalg.matrix_power(lib.ones(3, 4), 2),
    lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), "fro"),
    lambda lib: lib.linalg.norm(lib.ones(3), "fro", dim=0),
    lambda lib: lib.linalg.matrix_norm(lib.ones(3, 3), "bad"),
    lambda lib: lib.linalg.matrix_norm(lib.ones(3, 3), dim=(0, 0)),
    lambda lib: lib.linalg.pinv(lib.ones(3)),
    lambda lib: lib.linalg.multi_dot([lib.ones(3, 3)]),
]


@pytest.mark.parametrize("i", range(len(LINALG_ERRORS)))
def test_linalg_errors_match_torch(i):
    run_both(LINALG_ERRORS[i])


def test_linalg_error_class():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError, match="singular"):
        ember.linalg.inv(ember.zeros(2, 2))
    with pytest.raises(ember.linalg.LinAlgError, match="leading minor of order 2"):
        ember.linalg.cholesky(ember.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_named_tuples():
    a = ember.randn(4, 3)
    s = ember.linalg.slogdet(ember.randn(3, 3))
    assert s._fields == ("sign", "logabsdet") and type(s).__name__ == "linalg_slogdet"
    assert ember.linalg.qr(a)._fields == ("Q", "R")
    assert ember.linalg.svd(a)._fields == ("U", "S", "Vh")
    assert ember.svd(a)._fields == ("U", "S", "V")
    assert ember.linalg.eigh(ember.eye(2))._fields == ("eigenvalues", "eigenvectors")
    assert ember.slogdet(ember.eye(2))._fields == ("sign", "logabsdet")
    assert repr(s).startswith("torch.return_types.linalg_slogdet(\nsign=tensor(")


def test_reconstructions():
    a = ember.randn(2, 5, 3, dtype=ember.float64)
    ref = torch.tensor(a.numpy())
    u, s, vh = ember.linalg.svd(a, full_matrices=False)
    assert_close(u @ ember.diag_embed(s) @ vh, ref)
    q, r = ember.linalg.qr(a)
    assert_close(q @ r, ref)
    spd = a.mT @ a + ember.eye(3, dtype=ember.float64)
    L = ember.linalg.cholesky(spd)
    assert_close(L @ L.mT, torch.tensor(spd.numpy()))
    w, v = ember.linalg.eigh(spd)
    assert_close(v @ ember.diag_embed(w) @ v.mT, torch.tensor(spd.numpy()))


# ---- gradients: float64 gradcheck of every decomposition --------------------------------------
def _gc(fn, *shapes, kind="general"):
    from ember.autograd import gradcheck
    rng = np.random.default_rng(7)
    args = []
    for i, s in enumerate(shapes):
        a = rng.standard_normal(s)
        if kind == "well" and i == 0:
            a = a + 3 * np.eye(s[-1])
        args.append(ember.tensor(a, requires_grad=True))
    assert gradcheck(fn, tuple(args), eps=1e-6, atol=1e-5, rtol=1e-3)


def _sym(a):
    return a + a.mT


def _spd(a):
    return a @ a.mT + a.shape[-1] * ember.eye(a.shape[-1], dtype=a.dtype)


GRADCHECK = {
    "inv": (lambda a: ember.linalg.inv(a), [(2, 3, 3)], "well"),
    "det": (lambda a: ember.linalg.det(a), [(2, 3, 3)], "general"),
    "det_singular": (lambda a: ember.linalg.det(a[..., :1] * a[..., :1, :]), [(3, 3)],
                     "general"),
    "slogdet": (lambda a: ember.linalg.slogdet(a)[1], [(3, 3)], "well"),
    "solve": (lambda a, b: ember.linalg.solve(a, b), [(3, 3), (3, 2)], "well"),
    "solve_vec": (lambda a, b: ember.linalg.solve(a, b), [(2, 3, 3), (2, 3)], "well"),
    "solve_right": (lambda a, b: ember.linalg.solve(a, b, left=False), [(3, 3), (2, 3)],
                    "well"),
    "cholesky": (lambda a: ember.linalg.cholesky(_spd(a)), [(3, 3)], "general"),
    "cholesky_upper": (lambda a: ember.linalg.cholesky(_spd(a), upper=True), [(3, 3)],
                       "general"),
    "qr_tall": (lambda a: ember.linalg.qr(a), [(4, 3)], "general"),
    "qr_wide": (lambda a: ember.linalg.qr(a), [(3, 5)], "general"),
    "svd": (lambda a: _svd_invariant(a), [(4, 3)], "general"),
    "svd_wide": (lambda a: _svd_invariant(a), [(2, 3, 5)], "general"),
    "svdvals": (lambda a: ember.linalg.svdvals(a), [(4, 3)], "general"),
    "eigh": (lambda a: _eigh_invariant(_sym(a)), [(3, 3)], "general"),
    "eigvalsh": (lambda a: ember.linalg.eigvalsh(_sym(a)), [(2, 3, 3)], "general"),
    "pinv": (lambda a: ember.linalg.pinv(a), [(4, 3)], "general"),
    "pinv_wide": (lambda a: ember.linalg.pinv(a), [(3, 4)], "general"),
    "matrix_power": (lambda a: ember.linalg.matrix_power(a, -2), [(3, 3)], "well"),
    "vector_norm": (lambda a: ember.linalg.vector_norm(a, 3, dim=1), [(3, 4)], "general"),
    "matrix_norm_nuc": (lambda a: ember.linalg.matrix_norm(a, "nuc"), [(3, 4)], "general"),
    "einsum_diag": (lambda a, b: ember.einsum("iij,jk->ik", a, b), [(2, 2, 3), (3, 2)],
                    "general"),
    "cross": (lambda a, b: ember.linalg.cross(a, b), [(2, 3), (2, 3)], "general"),
    "addbmm": (lambda c, a, b: ember.addbmm(c, a, b, beta=0.5), [(3, 2), (2, 3, 4), (2, 4, 2)],
               "general"),
}


def _svd_invariant(a):
    u, s, vh = ember.linalg.svd(a, full_matrices=False)
    return s, u @ vh, u.abs()


def _eigh_invariant(a):
    w, v = ember.linalg.eigh(a)
    return w, v.abs()


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, shapes, kind = GRADCHECK[name]
    _gc(fn, *shapes, kind=kind)


COMPLEX = {
    "matmul": lambda L, x, y: x @ y,
    "inv": lambda L, x, y: L.linalg.inv(x),
    "solve": lambda L, x, y: L.linalg.solve(x, y),
    "einsum": lambda L, x, y: L.einsum("ij,jk->ik", x, y),
    "det": lambda L, x, y: L.linalg.det(x),
    "vector_norm": lambda L, x, y: L.linalg.vector_norm(x),
    "svdvals": lambda L, x, y: L.linalg.svdvals(x),
    "cross": lambda L, x, y: L.linalg.cross(x, x.flip(0)),
    "vdot": lambda L, x, y: L.vdot(x[0], x[1]),
    "index": lambda L, x, y: x[[0, 2]].t()[:, 1:],
}


@pytest.mark.parametrize("name", COMPLEX)
def test_complex_values_and_grads(name):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    out = []
    for lib in (torch, ember):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        r = COMPLEX[name](lib, x, y)
        loss = (r.abs() ** 2).sum() if r.is_complex() else r.sum()
        loss.backward()
        out.append((r.detach(), x.grad, y.grad))
    (rt, gxt, gyt), (re_, gxe, gye) = out
    assert_close(re_, rt)
    assert_close(gxe, gxt)
    if gyt is not None:
        assert_close(gye, gyt)


def test_bfloat16_products_stay_bfloat16_like_torch():
    A = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    B = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    Q = [np.random.default_rng(i).standard_normal((1, 2, 4, 8)).astype(np.float32)
         for i in range(3)]
    res = {}
    for L in (torch, ember):
        a, b = L.tensor(A).bfloat16(), L.tensor(B).bfloat16()
        q = [L.tensor(x).bfloat16() for x in Q]
        res[L] = [a @ b, L.mm(a, b), L.bmm(a[None], b[None]), L.einsum("ij,jk->ik", a, b),
                  L.tensordot(a, b, 1), L.nn.functional.linear(a, b.t()),
                  L.nn.functional.scaled_dot_product_attention(*q)]
    for t, e in zip(res[torch], res[ember]):
        assert str(e.dtype) == str(t.dtype) == "torch.bfloat16"
        np.testing.assert_allclose(e.float().numpy(), t.float().numpy(), atol=1e-2)


# ---- failed factorizations: info, LAPACK's leftovers, torch's messages ------------------------
def _failing(lib, kind, batched):
    e = lib.eye(3, dtype=lib.float64)
    bad = {"singular": lib.tensor([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]], dtype=lib.float64),
           "zero": lib.zeros(3, 3, dtype=lib.float64),
           "not_pd": lib.tensor([[1.0, 2, 3], [2, 1, 0], [3, 0, 5]], dtype=lib.float64),
           "negative": -e}[kind]
    return lib.stack([e, bad, e]) if batched else bad


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("fn,kind", [("inv", "singular"), ("inv", "zero"), ("solve", "zero"),
                                     ("solve_left", "singular"), ("cholesky", "not_pd"),
                                     ("cholesky_upper", "negative")])
def test_ex_functions_report_info_and_raise_as_torch(fn, kind, batched):
    def calls(lib):
        A = _failing(lib, kind, batched)
        B = lib.ones(A.shape[:-1] + (2,), dtype=lib.float64)
        plain = {"inv": lambda: lib.linalg.inv(A), "solve": lambda: lib.linalg.solve(A, B),
                 "solve_left": lambda: lib.linalg.solve(A, B.mT, left=False),
                 "cholesky": lambda: lib.linalg.cholesky(A),
                 "cholesky_upper": lambda: lib.linalg.cholesky(A, upper=True)}[fn]
        ex = {"inv": lambda c: lib.linalg.inv_ex(A, check_errors=c),
              "solve": lambda c: lib.linalg.solve_ex(A, B, check_errors=c),
              "solve_left": lambda c: lib.linalg.solve_ex(A, B.mT, left=False, check_errors=c),
              "cholesky": lambda c: lib.linalg.cholesky_ex(A, check_errors=c),
              "cholesky_upper": lambda c: lib.linalg.cholesky_ex(A, upper=True,
                                                                 check_errors=c)}[fn]
        return plain, ex
    (pe, xe), (pt, xt) = calls(ember), calls(torch)
    for e_call, t_call in ((pe, pt), (lambda: xe(True), lambda: xt(True))):
        with pytest.raises(torch.linalg.LinAlgError) as te:
            t_call()
        with pytest.raises(ember.linalg.LinAlgError) as ee:
            e_call()
        assert str(ee.value) == str(te.value)
    re, rt = xe(False), xt(False)
    assert type(re).__name__ == type(rt).__name__
    assert re.info.dtype is ember.int32 and re.info.tolist() == rt.info.tolist()
    ok = rt.info == 0
    np.testing.assert_allclose(re[0].numpy()[ok.numpy()], rt[0].numpy()[ok.numpy()], rtol=1e-12)
    if fn.startswith("cholesky"):            # LAPACK's partial factor, as torch returns it
        np.testing.assert_allclose(re.L.numpy(), rt.L.numpy(), rtol=1e-12)
    else:                                    # the failed matrices hold inf or nan, as torch's
        bad = ~ok.numpy()
        assert not np.isfinite(re[0].numpy()[bad]).all()


@pytest.mark.parametrize("case", ["upper", "lower", "right", "batched", "cholesky_solve",
                                  "cholesky_solve_upper", "triangular_solve"])
def test_singular_triangular_solves_give_torchs_inf_and_nan(case):
    """A zero on the diagonal: BLAS trsm / LAPACK potrs substitute through it (inf, nan)."""
    def run(L):
        U = L.tensor([[0.0, 1, 2], [0, 1, 3], [0, 0, 2]], dtype=L.float64)
        Lo = L.tensor([[1.0, 0, 0], [2, 0, 0], [1, 1, 3]], dtype=L.float64)
        B = L.tensor([[1.0, 2], [1, 0], [3, 1]], dtype=L.float64)
        if case == "upper":
            return L.linalg.solve_triangular(U, B, upper=True)
        if case == "lower":
            return L.linalg.solve_triangular(Lo, B, upper=False)
        if case == "right":
            return L.linalg.solve_triangular(U, B.mT, upper=True, left=False)
        if case == "batched":
            return L.linalg.solve_triangular(L.stack([U, U + 2 * L.eye(3, dtype=L.float64)]),
                                             B, upper=True)
        if case == "cholesky_solve":
            return L.cholesky_solve(B, Lo)
        if case == "cholesky_solve_upper":
            return L.cholesky_solve(B, Lo.mT, upper=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return L.triangular_solve(B, U).solution
    e, t = run(ember), run(torch)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=0)   # inf/nan in place


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_norms_of_half_precision_accumulate_in_float_as_torch(dtype):
    calls = ["t.linalg.vector_norm(x)", "t.linalg.vector_norm(x, 1)", "t.linalg.vector_norm(x, 3)",
             "t.linalg.vector_norm(x, float('inf'))", "t.linalg.norm(x)", "t.dist(x, x * 2)",
             "x.norm()", "t.linalg.vector_norm(x, dtype=t.float32)",
             "t.linalg.matrix_norm(x.reshape(2, 3))", "t.linalg.matrix_norm(x.reshape(2, 3), 1)"]
    data = np.array([1.0, 2.0, 3.3, -0.7, 40.0, 5.5])
    for call in calls:
        out = [eval(call, {"t": lib, "x": lib.tensor(data, dtype=getattr(lib, dtype))})
               for lib in (ember, torch)]
        assert str(out[0]) == str(out[1]), call
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Low precision dtypes not supported"):
            lib.linalg.matrix_norm(lib.ones(2, 2, dtype=getattr(lib, dtype)), "nuc")


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -float("inf")])
def test_matrix_exp_of_non_finite_matrices_as_torch(bad):
    """A matrix with an infinity or NaN gives NaN; the others of the batch are unaffected (ember
    raised an OverflowError for an infinity)."""
    a = [[[bad, 1.0], [0.0, 1.0]], [[1.0, 0.5], [0.0, 2.0]]]
    assert_close(ember.linalg.matrix_exp(ember.tensor(a)), torch.linalg.matrix_exp(torch.tensor(a)))
    assert_close(ember.linalg.matrix_exp(ember.tensor(a[0])),
                 torch.linalg.matrix_exp(torch.tensor(a[0])))


_NAN_MATRIX = [[float("nan"), 1.0], [1.0, 2.0]]


@pytest.mark.parametrize("call", [
    lambda L, A: L.linalg.svd(A), lambda L, A: L.linalg.svdvals(A), lambda L, A: L.linalg.pinv(A),
    lambda L, A: L.linalg.matrix_rank(A), lambda L, A: L.linalg.matrix_norm(A, 2),
    lambda L, A: L.linalg.cond(A), lambda L, A: L.linalg.eig(A), lambda L, A: L.linalg.eigh(A),
    lambda L, A: L.linalg.eigvalsh(A), lambda L, A: L.linalg.pinv(A, hermitian=True),
    lambda L, A: L.linalg.lstsq(A, L.ones(2, 1))])
def test_linalg_on_non_finite_input_as_torch(call):
    """torch's exception class and message (a LinAlgError is a RuntimeError), or its NaN
    results; NumPy's own LinAlgError leaked from several before."""
    def outcome(lib):
        try:
            return "ok", call(lib, lib.tensor(_NAN_MATRIX))
        except Exception as e:
            return type(e), str(e)
    (kind, ours), (their_kind, theirs) = outcome(ember), outcome(torch)
    if their_kind == "ok":
        assert kind == "ok"
        assert_close(ours, theirs)
    elif "INTERNAL ASSERT" in theirs:                  # torch's lstsq fails on an assert
        assert issubclass(kind, their_kind)
    else:
        assert (kind.__name__, ours) == (their_kind.__name__, theirs)
        assert issubclass(kind, RuntimeError)


def test_slogdet_and_det_of_nan_matrices_as_torch():
    """No sign for a NaN determinant, and no NumPy warning."""
    nan, inf = float("nan"), float("inf")
    for m in ([[nan, 1.], [1., 2.]], [[inf, inf], [1., 1.]], [[inf, 1.], [1., 2.]],
              [[-inf, 1.], [1., 2.]], [[1., 2.], [2., 4.]]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            e = (ember.linalg.slogdet(ember.tensor(m)), ember.linalg.det(ember.tensor(m)))
        assert_close(tuple(e[0]) + (e[1],), tuple(torch.linalg.slogdet(torch.tensor(m))) +
                     (torch.linalg.det(torch.tensor(m)),))


@pytest.mark.parametrize("f", [
    lambda L, A, B, x: L.cross(x, x.flip(0), dim=0),
    lambda L, A, B, x: L.linalg.solve(A, B, left=False),
    lambda L, A, B, x: L.linalg.lu_solve(*L.linalg.lu_factor(A), B, left=False, adjoint=True),
], ids=["cross_dim0", "solve_right", "lu_solve_right_adjoint"])
def test_results_contiguous_as_torchs(f):
    """torch allocates these results contiguous (NumPy's followed a transposed operand, so
    a .view(-1) of them raised in ember only)."""
    def run(L):
        A = L.tensor([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 5.0]])
        r = f(L, A, L.arange(6.0).reshape(2, 3), L.arange(12.0).reshape(3, 4))
        return r.stride(), r.is_contiguous(), r.view(-1).shape
    assert run(ember) == run(torch)


def _layout_cases(lib, batch):
    """LAPACK-backed results, whose layout torch keeps: each matrix column-major."""
    L = lib.linalg
    lib.manual_seed(0)

    def mk(*s):
        return lib.randn(*batch, *s, dtype=lib.float64)
    a, b, bt, r, v = mk(3, 3), mk(3, 2), mk(2, 3), mk(4, 3), mk(3)
    spd = a @ a.mT + lib.eye(3, dtype=lib.float64)
    u = lib.triu(a)
    return {
        "inv": lambda: L.inv(a), "inv_ex": lambda: L.inv_ex(a), "inv_T": lambda: L.inv(a.mT),
        "inv_complex": lambda: L.inv(a.to(lib.complex128)), "inverse": lambda: lib.inverse(a),
        "cholesky": lambda: L.cholesky(spd), "cholesky_upper": lambda: L.cholesky(spd, upper=True),
        "cholesky_ex": lambda: L.cholesky_ex(spd), "torch.cholesky": lambda: lib.cholesky(spd),
        "solve": lambda: L.solve(a, b), "solve_ex": lambda: L.solve_ex(a, b),
        "solve_vec": lambda: L.solve(a, v), "solve_vec1": lambda: L.solve(a, v[..., None]),
        "solve_left_false": lambda: L.solve(a, bt, left=False),
        "solve_bcast": lambda: L.solve(a, lib.randn(3, 2, dtype=lib.float64)),
        "solve_triangular": lambda: L.solve_triangular(u, b, upper=True),
        "solve_triangular_left_false": lambda: L.solve_triangular(u, bt, upper=True, left=False),
        "triangular_solve": lambda: lib.triangular_solve(b, u),
        "cholesky_solve": lambda: lib.cholesky_solve(b, L.cholesky(spd)),
        "cholesky_inverse": lambda: lib.cholesky_inverse(L.cholesky(spd)),
        "qr": lambda: L.qr(a), "qr_r": lambda: L.qr(r, mode="r"),
        "qr_complete": lambda: L.qr(r, mode="complete"), "torch.qr": lambda: lib.qr(a),
        "geqrf": lambda: lib.geqrf(r), "householder_product": lambda: L.householder_product(
            *lib.geqrf(r)), "ormqr": lambda: lib.ormqr(*lib.geqrf(a), b),
        "ormqr_left_false": lambda: lib.ormqr(*lib.geqrf(a), bt, left=False),
        "svd": lambda: L.svd(a), "svd_thin": lambda: L.svd(r, full_matrices=False),
        "torch.svd": lambda: lib.svd(r, some=False),
        "torch.svd_no_uv": lambda: lib.svd(a, compute_uv=False),
        "eigh": lambda: L.eigh(spd), "eigh_f32": lambda: L.eigh(spd.float()),
        "eig": lambda: L.eig(a),
        "lu_factor": lambda: L.lu_factor(a), "lu_factor_ex": lambda: L.lu_factor_ex(a),
        "lu": lambda: L.lu(a), "lu_solve": lambda: L.lu_solve(*L.lu_factor(a), b),
        "lu_solve_left_false": lambda: L.lu_solve(*L.lu_factor(a), bt, left=False),
        "lu_solve_adjoint": lambda: L.lu_solve(*L.lu_factor(a), b, adjoint=True),
        "ldl_factor": lambda: L.ldl_factor(spd), "ldl_solve": lambda: L.ldl_solve(
            *L.ldl_factor(spd), b),
        "lstsq": lambda: L.lstsq(r, mk(4, 2)).solution,
        "lstsq_wide": lambda: L.lstsq(mk(2, 3), mk(2, 2)).solution,
        "pinv": lambda: L.pinv(a), "matrix_power": lambda: L.matrix_power(a, -2),
    }


@pytest.mark.parametrize("batch", [(), (2,)])
def test_lapack_results_are_column_major_as_torchs(batch):
    def layouts(lib):
        out = {}
        for name, f in _layout_cases(lib, batch).items():
            r = f()
            items = list(r) if isinstance(r, tuple) else [r]
            out[name] = [(tuple(i.shape), i.stride(), i.is_contiguous()) for i in items]
        return out
    mine, torchs = layouts(ember), layouts(torch)
    assert {k: v for k, v in mine.items() if v != torchs[k]} == {}
    assert mine["inv"][0][1] == ((1, 3) if not batch else (9, 1, 3))
