"""torch.lobpcg against torch (same seed: the same random start, so the same iterates) and
against eigh, with its gradient for a dense A."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


def _spd(m, seed, batch=()):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal(batch + (m, m)))
    return (q * np.linspace(1, 20, m)) @ np.swapaxes(q, -1, -2)


def _both(fn, *arrays, seed=3, **kw):
    out = []
    for L in (ember, torch):
        L.manual_seed(seed)
        out.append(fn(L, *(None if a is None else L.tensor(a) for a in arrays), **kw))
    return out


def _same_pairs(e, t, atol=1e-8):
    """Eigenvalues equal; eigenvectors equal up to sign."""
    assert_close(e[0], t[0], rtol=1e-9, atol=atol)
    xe, xt = e[1].numpy(), t[1].numpy()
    assert xe.shape == xt.shape and str(e[1].dtype) == str(t[1].dtype)
    np.testing.assert_allclose(np.abs(xe), np.abs(xt), atol=max(atol, 1e-6))


@pytest.mark.parametrize("method", ["ortho", "basic"])
@pytest.mark.parametrize("largest", [None, True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_lobpcg_matches_torch_and_eigh(method, largest, k):
    A = _spd(12, 0)
    e, t = _both(lambda L, A: L.lobpcg(A, k=k, method=method, largest=largest), A)
    _same_pairs(e, t)
    ev = np.linalg.eigvalsh(A)
    ref = ev[::-1][:k] if largest in (None, True) else ev[:k]
    np.testing.assert_allclose(e[0].numpy(), ref, rtol=1e-9)


@pytest.mark.parametrize("case", ["B", "batched", "X", "iK", "n", "float32", "niter", "drop",
                                  "sparse"])
def test_lobpcg_options_match_torch(case):
    A, B = _spd(12, 0), _spd(12, 1)
    X = np.random.default_rng(2).standard_normal((12, 2))
    fn, args = {
        "B": (lambda L, A, B: L.lobpcg(A, 2, B), (A, B)),
        "batched": (lambda L, A: L.lobpcg(A, 2, largest=False), (_spd(12, 4, (2,)),)),
        "X": (lambda L, A, X: L.lobpcg(A, X=X, method="basic"), (A, X)),
        "iK": (lambda L, A, K: L.lobpcg(A, 2, iK=K), (A, np.linalg.inv(A + np.eye(12)))),
        "n": (lambda L, A: L.lobpcg(A, 1, n=3, largest=False), (A,)),
        "float32": (lambda L, A: L.lobpcg(A, 2), (A.astype(np.float32),)),
        "niter": (lambda L, A: L.lobpcg(A, 2, niter=2, tol=1e-30), (A,)),
        "drop": (lambda L, A: L.lobpcg(A, 2, ortho_bparams={"ortho_use_drop": True},
                                       ortho_iparams={"ortho_i_max": 2}), (A,)),
        "sparse": (lambda L, A: L.lobpcg(A.to_sparse(), 2), (A,)),
    }[case]
    e, t = _both(fn, *args)
    _same_pairs(e, t, atol=1e-4 if case == "float32" else 1e-8)


def test_lobpcg_tracker_sees_torchs_iterations():
    seen = {ember: [], torch: []}

    def run(L, A):
        def tracker(worker):
            seen[L].append((worker.ivars["istep"], worker.ivars["converged_count"]))
        return L.lobpcg(A, 2, tracker=tracker)
    _both(run, _spd(12, 0))
    assert seen[ember] == seen[torch] and len(seen[ember]) > 1


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_gradient_matches_torch(k, largest):
    A = _spd(12, 0)
    grads = []
    for L in (ember, torch):
        L.manual_seed(3)
        a = L.tensor(A, requires_grad=True)
        E, X = L.lobpcg(a, k, largest=largest)
        assert type(E.grad_fn).__name__ == "LOBPCGAutogradFunctionBackward"
        w = L.tensor(np.random.default_rng(5).standard_normal(12 * k).reshape(12, k))
        (E.sum() + (X * X * w).sum()).backward()
        grads.append(a.grad)
    assert_close(grads[0], grads[1], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("case", ["too many pairs", "not square", "B shape", "B backward"])
def test_lobpcg_errors_match_torch(case):
    A = _spd(6, 0)

    def run(L):
        a = L.tensor(A)
        f = {"too many pairs": lambda: L.lobpcg(a, 3),
             "not square": lambda: L.lobpcg(a[:5]),
             "B shape": lambda: L.lobpcg(a, 1, B=a[:5, :5]),
             "B backward": lambda: L.lobpcg(a.requires_grad_(), 1, B=a.detach())[0].sum()
             .backward()}[case]
        with pytest.raises(Exception) as info:
            f()
        return info
    e, t = run(ember), run(torch)
    assert (e.type, str(e.value)) == (t.type, str(t.value))
