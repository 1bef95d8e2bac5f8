"""torch.linalg.ldl_factor / ldl_factor_ex / ldl_solve beyond the op table: LAPACK's compact
format (2x2 pivot blocks, complex symmetric and Hermitian), batches, singular inputs, errors,
out=, and torch's missing derivatives."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


def _rand(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _sym(shape, dtype="float64", seed=0, hermitian=False):
    a = _rand(shape, dtype, seed)
    return a + (np.conj(a.swapaxes(-1, -2)) if hermitian else a.swapaxes(-1, -2))


def _run(fn, *arrays, **kw):
    out = []
    for lib in (ember, torch):
        args = [lib.from_numpy(np.array(a)) for a in arrays]
        out.append(fn(lib, *args, **kw))
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("hermitian", [False, True])
def test_factor_and_solve_match_torch(dtype, hermitian):
    a = _sym((3, 5, 5), dtype, hermitian=hermitian)
    b = _rand((3, 5, 2), dtype, seed=1)
    e, t = _run(lambda L, A, B: (L.linalg.ldl_factor_ex(A, hermitian=hermitian),
                                 L.linalg.ldl_solve(*L.linalg.ldl_factor(A, hermitian=hermitian),
                                                    B, hermitian=hermitian)), a, b)
    assert type(e[0]).__name__ == "linalg_ldl_factor_ex"
    assert_close(tuple(e[0]), tuple(t[0]))
    assert (t[0].pivots < 0).any()                          # 2x2 blocks were exercised
    assert_close(e[1], t[1], **({"rtol": 1e-4, "atol": 1e-4} if "64" not in dtype or
                                dtype == "complex64" else {}))


def test_only_the_lower_triangle_is_read_and_returned():
    a = _sym((4, 4))
    e, t = _run(lambda L, A: L.linalg.ldl_factor(A.tril() + 7 * A.triu(1)), a)
    assert_close(tuple(e), tuple(t))
    assert not np.triu(e.LD.numpy(), 1).any()


def test_batches_broadcasting_and_empty():
    a, b = _sym((2, 3, 3)), _rand((3, 2), seed=2)
    e, t = _run(lambda L, A, B: L.linalg.ldl_solve(*L.linalg.ldl_factor(A), B), a, b)
    assert_close(e, t)                       # B's batch broadcast against LD's
    for shape in ((2, 0, 0), (0, 3, 3)):
        e, t = _run(lambda L, A: L.linalg.ldl_factor_ex(A), np.zeros(shape))
        assert_close(tuple(e), tuple(t))
    e, t = _run(lambda L, A, P, B: L.linalg.ldl_solve(A, P, B), np.zeros((0, 0)),
                np.zeros(0, np.int32), np.zeros((0, 2)))
    assert_close(e, t)


def test_singular_inputs():
    a = np.stack([_sym((3, 3)), np.zeros((3, 3))])
    e, t = _run(lambda L, A: L.linalg.ldl_factor_ex(A), a)
    assert_close(tuple(e), tuple(t))                        # info = [0, 1]
    for lib in (ember, torch):
        A = lib.from_numpy(a.copy())
        for call in (lambda: lib.linalg.ldl_factor(A),
                     lambda: lib.linalg.ldl_factor_ex(A, check_errors=True)):
            with pytest.raises(RuntimeError) as err:
                call()
            assert not isinstance(err.value, torch.linalg.LinAlgError)


def test_errors_like_torch():
    f64 = lambda L: L.float64                               # noqa: E731
    cases = [
        (RuntimeError, lambda L: L.linalg.ldl_factor(L.ones(2, 3)), "square matrices"),
        (RuntimeError, lambda L: L.linalg.ldl_factor(L.ones(3)), "at least 2 dimensions"),
        (RuntimeError, lambda L: L.linalg.ldl_factor(L.ones(3, 3, dtype=L.int64)),
         "floating point or complex"),
        (NotImplementedError, lambda L: L.linalg.ldl_factor(L.ones(3, 3, dtype=L.float16)),
         "ldl_factor_kernel_cpu"),
        (RuntimeError, lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(2, dtype=L.int32),
                                                    L.ones(3, 1)), "pivots.shape"),
        (RuntimeError, lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(3), L.ones(3, 1)),
         "pivots to be integers"),
        (RuntimeError, lambda L: L.linalg.ldl_solve(L.eye(3, dtype=f64(L)),
                                                    L.ones(3, dtype=L.int32), L.ones(3, 1)),
         "same dtype"),
        (RuntimeError, lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(3, dtype=L.int32),
                                                    L.ones(2, 1)), "Incompatible matrix sizes"),
        (IndexError, lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(3, dtype=L.int32),
                                                  L.ones(3)), "out of range"),
        (RuntimeError, lambda L: L.linalg.ldl_factor(
            L.eye(2), out=(L.empty(0), L.empty(0, dtype=L.int64))), "dtype"),
    ]
    for exc, call, match in cases:
        for lib in (torch, ember):
            with pytest.raises(exc, match=match):
                call(lib)


def test_out_and_int64_pivots():
    a, b = _sym((4, 4)), _rand((4, 2), seed=3)
    res = []
    for lib in (ember, torch):
        A, B = lib.from_numpy(a.copy()), lib.from_numpy(b.copy())
        ld, piv = lib.empty(0, dtype=lib.float64), lib.empty(0, dtype=lib.int32)
        info = lib.empty(0, dtype=lib.int32)
        r = lib.linalg.ldl_factor_ex(A, out=(ld, piv, info))
        assert r[0] is ld and r.pivots is piv
        x = lib.empty(0, dtype=lib.float64)
        assert lib.linalg.ldl_solve(ld, piv.long(), B, out=x) is x
        res.append((ld, piv, info, x))
    assert_close(res[0], res[1])


def test_no_derivatives():
    a, b = _sym((3, 3)), _rand((3, 2), seed=4)
    for lib in (torch, ember):
        A = lib.from_numpy(a.copy()).requires_grad_()
        LD, piv, info = lib.linalg.ldl_factor_ex(A)
        assert LD.requires_grad and not piv.requires_grad and not info.requires_grad
        assert LD.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is "
                                               "not implemented"):
            LD.sum().backward()
        B = lib.from_numpy(b.copy()).requires_grad_()
        X = lib.linalg.ldl_solve(LD.detach(), piv, B)
        assert X.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not "
                                               "implemented"):
            X.sum().backward()


def test_missing_scipy_names_the_fix(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)
    with pytest.raises(RuntimeError, match="pip install scipy"):
        ember.linalg.ldl_factor(ember.eye(2))
