"""Regressions found by probe batch 10a (differential fuzzing of tensor printing, ember.linalg and
ember.fft), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome, _plain     # the shared comparison helpers

_ = _plain


def _signs(lib, t):
    """The tensor's repr (it shows the sign of every zero) and its parts' sign bits."""
    r = lib.view_as_real(t) if t.is_complex() else t
    return repr(t).replace("ember", "torch"), lib.signbit(r).tolist()


_ZERO_SIGNS = {
    "complex() of a -0.0 imaginary part": lambda t: t.complex(t.tensor([-0., 0., 1.]),
                                                                t.tensor([-0., -0., -0.])),
    "complex() broadcasting": lambda t: t.complex(t.ones(2, 1, dtype=t.float64),
                                                  t.tensor([-0., 1.], dtype=t.float64)),
    "sigmoid of a complex number on the real axis": lambda t: t.sigmoid(
        t.tensor([50 + 0j, -100 + 0j, 0j, 3 - 0j, 2 + 1j])),
    "sigmoid, 0-d complex": lambda t: t.sigmoid(t.tensor(3 - 0j)),
}


@pytest.mark.parametrize("case", list(_ZERO_SIGNS))
def test_signs_of_zeros_like_torch(case):
    assert _signs(ember, _ZERO_SIGNS[case](ember)) == _signs(torch, _ZERO_SIGNS[case](torch))


def _bits(lib, case):
    import numpy as np
    g = np.random.default_rng(3)
    a = (g.standard_normal((37, 23)) * 10.0 ** g.integers(-3, 8, (37, 23))).astype(np.float32)
    x = lib.tensor(a)
    r = {
        "x.T.sum()": lambda: x.T.sum(),
        "x.T.mean()": lambda: x.T.mean(),
        "x.T.sum(1)": lambda: x.T.sum(1),
        "x.T.sum(0, keepdim)": lambda: x.T.sum(0, keepdim=True),
        "x.T.sum((0, 1), keepdim)": lambda: x.T.sum((0, 1), keepdim=True),
        "permuted 3-d with a size-1 dim": lambda: x.reshape(1, 37, 23).permute(2, 0, 1).sum(2),
        "mT of a batch, double": lambda: x.double().reshape(37, 23, 1).mT.sum(-1),
    }[case]()
    return tuple(r.shape), r.double().tolist()


@pytest.mark.parametrize("case", ["x.T.sum()", "x.T.mean()", "x.T.sum(1)", "x.T.sum(0, keepdim)",
                                  "x.T.sum((0, 1), keepdim)", "permuted 3-d with a size-1 dim",
                                  "mT of a batch, double"])
def test_sums_of_transposed_tensors_add_in_torchs_order(case):
    # a permuted dense tensor is summed in memory order, as torch's iterator does: bit for bit
    assert _bits(ember, case) == _bits(torch, case)


_FFT = {
    "0-d input, default dim": lambda t: t.fft.fft(t.tensor(1 + 0j)),
    "0-d input, dim given": lambda t: t.fft.rfft(t.tensor(1.), dim=0),
    "0-d input, n-d dims": lambda t: t.fft.fftn(t.tensor(1.), dim=(1,)),
    "0-d half: the dtype is refused first": lambda t: t.fft.fft(t.tensor(1., dtype=t.half)),
    "n=-1 is refused by the one-dim transforms": lambda t: t.fft.fft(t.ones(3), n=-1),
    "irfft n=-1": lambda t: t.fft.irfft(t.ones(3, dtype=t.complex64), n=-1),
    "hfft2 s=(3, -1): -1 is the default 2 * (n - 1)": lambda t: t.fft.hfft2(
        t.ones(6, 5, dtype=t.complex64), s=(3, -1)),
    "irfftn s=(-1,)": lambda t: t.fft.irfftn(t.ones(2, 7, dtype=t.complex128), s=(-1,)),
    "empty dim to transform": lambda t: t.fft.ifftn(t.ones(0)),
    "empty dim, ifft2": lambda t: t.fft.ifft2(t.ones(7, 0, 5), dim=(1,)),
    "rfftn with no dims": lambda t: t.fft.rfftn(t.ones(2, 2), dim=()),
    "irfft2 with no dims": lambda t: t.fft.irfft2(t.ones(4, 3), s=(), dim=()),
    "hfftn of a 0-d input": lambda t: t.fft.hfftn(t.tensor(1.), norm="bad"),
    "fftn with no dims is a copy": lambda t: t.fft.fftn(t.arange(3.), dim=()),
    "dims checked before the norm": lambda t: t.fft.ifft(t.ones(5), norm="bad", dim=-3),
    "unique dims before the norm": lambda t: t.fft.hfft2(t.ones(3, 1, 1, 5), norm="bad",
                                                         dim=(0, -3, 0)),
    "shape checked before the dtype": lambda t: t.fft.rfftn(t.tensor(1., dtype=t.bfloat16),
                                                            s=(3, -1)),
    "ihfftn of complex: dims first": lambda t: t.fft.ihfftn(t.ones(7, 4, dtype=t.complex64),
                                                            dim=(-1, -1)),
    "ihfftn of complex: norm first": lambda t: t.fft.ihfftn(t.ones(3, dtype=t.complex64),
                                                            norm="bad"),
    "shape length with dims given": lambda t: t.fft.fftn(t.ones(2, 2), s=(1, 1, 1),
                                                         dim=(0, 1, 2)),
    "fftshift of a 0-d tensor": lambda t: t.fft.fftshift(t.tensor(1.)),
    "fftshift dim out of range": lambda t: t.fft.ifftshift(t.ones(4), dim=(1, 0)),
}


@pytest.mark.parametrize("case", list(_FFT))
def test_fft_arguments_checked_like_torch(case):
    assert _outcome(lambda: _FFT[case](ember)) == _outcome(lambda: _FFT[case](torch))


_FREQ = {
    "float32 values: a product with 1 / (n d)": lambda t: t.fft.fftfreq(33, 0.1),
    "float64": lambda t: t.fft.rfftfreq(10, 7.3, dtype=t.float64),
    "bfloat16: the scale rounded first": lambda t: t.fft.fftfreq(33, 0.1, dtype=t.bfloat16),
    "float16": lambda t: t.fft.rfftfreq(33, 0.1, dtype=t.float16),
    "d = 0": lambda t: t.fft.fftfreq(5, 0),
    "rfftfreq(0) is [nan]": lambda t: t.fft.rfftfreq(0),
    "rfftfreq(-1): C's n / 2": lambda t: t.fft.rfftfreq(-1, 3.),
    "rfftfreq(-4)": lambda t: t.fft.rfftfreq(-4),
    "fftfreq(-3)": lambda t: t.fft.fftfreq(-3, dtype=t.int64),
    "int dtype": lambda t: t.fft.fftfreq(5, 2, dtype=t.int64),
    "complex dtype": lambda t: t.fft.rfftfreq(5, dtype=t.complex64),
    "out's dtype": lambda t: t.fft.fftfreq(3, out=t.empty(3, dtype=t.float64)),
    "dtype and out differ": lambda t: t.fft.fftfreq(3, dtype=t.float32,
                                                    out=t.empty(3, dtype=t.float64)),
    "n must be an int": lambda t: t.fft.fftfreq(3.5),
}


@pytest.mark.parametrize("case", list(_FREQ))
def test_fftfreq_like_torch(case):
    def run(lib):
        r = _FREQ[case](lib)
        return str(r.dtype).replace("ember", "torch"), tuple(r.shape), repr(r.double().tolist())
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_ROLL = {
    "no shifts": lambda t: t.roll(t.arange(6).view(2, 3), [], [0]),
    "no shifts, no dims": lambda t: t.roll(t.arange(6).view(2, 3), [], None),
    "two shifts, no dims": lambda t: t.roll(t.arange(6).view(2, 3), [1, 2]),
    "one shift, empty dims: flattened": lambda t: t.roll(t.arange(6).view(2, 3), [1], []),
    "int shift, empty dims": lambda t: t.roll(t.arange(6).view(2, 3), 1, []),
}


@pytest.mark.parametrize("case", list(_ROLL))
def test_roll_arguments_like_torch(case):
    assert _outcome(lambda: _ROLL[case](ember)) == _outcome(lambda: _ROLL[case](torch))


def _sym(t):
    return t.tensor([[4., 1, 2], [0.5, 3, 0.1], [-1, 0.7, 5]])


_LINALG = {
    # values and dtypes
    "cholesky upper reads the upper triangle": lambda t: t.linalg.cholesky(_sym(t), upper=True),
    "cholesky_ex upper failing": lambda t: tuple(t.linalg.cholesky_ex(
        t.tensor([[1., 5], [0, 1]]), upper=True)),
    "cholesky upper, lower triangle not PD": lambda t: t.linalg.cholesky(
        t.tensor([[1., 0], [5, 1]]), upper=True),
    "cond of a singular matrix is inf": lambda t: t.linalg.cond(t.zeros(2, 2), 1),
    "cond fro of a batch with a singular matrix": lambda t: t.linalg.cond(
        t.stack([t.eye(2), t.tensor([[1., 2], [2, 4]])]), "fro"),
    "cond of empty matrices is 0": lambda t: t.linalg.cond(t.ones(2, 0, 0)),
    "cond -2 of empty matrices": lambda t: t.linalg.cond(t.ones(1, 2, 0, 0), -2),
    "cond nuc of empty complex matrices": lambda t: t.linalg.cond(
        t.ones(0, 2, 2, dtype=t.complex128), "nuc"),
    "matrix_norm 2 of empty matrices is 0": lambda t: t.linalg.matrix_norm(t.ones(2, 0, 3), 2),
    "matrix_norm 1 keepdim of empty": lambda t: t.linalg.matrix_norm(t.ones(2, 3, 0), 1,
                                                                     keepdim=True),
    "matrix_norm -2 of empty": lambda t: t.linalg.matrix_norm(t.ones(2, 0, 3), -2),
    "matrix_norm -inf of empty": lambda t: t.linalg.matrix_norm(t.ones(2, 0, 3), -float("inf")),
    "norm 2 of an empty matrix": lambda t: t.linalg.norm(t.ones(0, 1), 2),
    "matrix_power 1 is a copy": lambda t: (lambda a: (t.linalg.matrix_power(a, 1).add_(1), a))(
        t.eye(2)),
    "matrix_power 0 of an empty batch": lambda t: t.linalg.matrix_power(t.ones(0, 3, 3), 0),
    "lu of an empty batch": lambda t: tuple(t.linalg.lu(t.ones(0, 0, 1))),
    "lu_factor of empty matrices": lambda t: tuple(t.linalg.lu_factor(t.ones(0, 3))),
    "lu without pivoting of an empty batch": lambda t: tuple(t.linalg.lu(t.ones(0, 3, 3),
                                                                         pivot=False)),
    "lu_factor of an empty int batch": lambda t: tuple(t.linalg.lu_factor(
        t.ones(0, 2, 2, dtype=t.int32))),
    "amax names the dim as given": lambda t: t.ones(2, 0).amax(-1),
    "amin names the first empty dim given": lambda t: t.ones(2, 0).amin((0, -1)),
    # errors
    "vector_norm complex dtype for real input": lambda t: t.linalg.vector_norm(
        t.ones(2), dtype=t.complex128),
    "vector_norm int dtype": lambda t: t.linalg.vector_norm(t.ones(2), dtype=t.int64),
    "vector_norm real dtype for complex input": lambda t: t.linalg.vector_norm(
        t.ones(2, dtype=t.complex64), dtype=t.float32),
    "vector_norm -2 over a non-empty dim of an empty tensor": lambda t: t.linalg.vector_norm(
        t.ones(4, 0), -2, dim=0),
    "vector_norm -1 over an empty dim, named as given": lambda t: t.linalg.vector_norm(
        t.ones(3, 0), -1, dim=-1),
    "vector_norm inf over dims in order": lambda t: t.linalg.vector_norm(
        t.ones(0, 3), float("inf"), dim=(1, 0)),
    "matrix_norm low precision before the dims": lambda t: t.linalg.matrix_norm(
        t.ones(3, 3, dtype=t.half), "nuc", dim=(0,)),
    "matrix_norm dtype narrowing": lambda t: t.linalg.matrix_norm(t.ones(3, 3).double(), 1,
                                                                  dtype=t.float32),
    "matrix_norm complex dtype for real input": lambda t: t.linalg.matrix_norm(
        t.ones(3, 3), 1, dtype=t.complex64),
    "cond ord=-1 of non-square": lambda t: t.linalg.cond(t.ones(2, 3), -1),
    "cond ord=1.0 of non-square": lambda t: t.linalg.cond(t.ones(2, 3), 1.0),
    "cond fro of non-square": lambda t: t.linalg.cond(t.ones(2, 2, 3), "fro"),
    "cond of a vector": lambda t: t.linalg.cond(t.ones(3)),
    "cond int": lambda t: t.linalg.cond(t.ones(2, 2, dtype=t.int32), 1),
    "cond bfloat16": lambda t: t.linalg.cond(t.ones(2, 2, dtype=t.bfloat16), "fro"),
    "cond bad ord": lambda t: t.linalg.cond(t.eye(2), 3),
    "inv_ex names inv": lambda t: t.linalg.inv_ex(t.ones(2, 3)),
    "inv_ex int": lambda t: t.linalg.inv_ex(t.ones(2, 2, dtype=t.int64)),
    "cholesky_ex names cholesky": lambda t: t.linalg.cholesky_ex(t.ones(3)),
    "eigvalsh names eigh": lambda t: t.linalg.eigvalsh(t.ones(2, 3)),
    "eigvals of ints": lambda t: t.linalg.eigvals(t.ones(3, dtype=t.int64)),
    "eig of bool": lambda t: t.linalg.eig(t.ones(2, 2, dtype=t.bool)),
    "eigvals bfloat16": lambda t: t.linalg.eigvals(t.ones(2, 2, dtype=t.bfloat16)),
    "logdet shape first": lambda t: t.logdet(t.ones(2, 3, dtype=t.int32)),
    "logdet of a vector": lambda t: t.logdet(t.ones(3)),
    "matrix_rank of ints": lambda t: t.linalg.matrix_rank(t.ones(2, 2, dtype=t.int64), atol=0.1),
    "matrix_rank half, hermitian": lambda t: t.linalg.matrix_rank(
        t.ones(2, 2, dtype=t.half), hermitian=True),
    "matrix_rank ints with rtol given": lambda t: t.linalg.matrix_rank(
        t.ones(2, 2, dtype=t.int64), rtol=0.1),
    "matrix_rank hermitian non-square": lambda t: t.linalg.matrix_rank(t.ones(2, 3),
                                                                       hermitian=True),
    "matrix_rank of a vector": lambda t: t.linalg.matrix_rank(t.ones(3)),
    "matrix_power of a vector": lambda t: t.linalg.matrix_power(t.ones(3, dtype=t.int64), 2),
    "pinv hermitian non-square": lambda t: t.linalg.pinv(t.ones(2, 3), hermitian=True),
    "tensorinv shapes": lambda t: t.linalg.tensorinv(t.ones(2, 3, 3), ind=2),
    "tensorinv singular": lambda t: t.linalg.tensorinv(t.zeros(4, 2, 2), ind=1),
    "vander N=1": lambda t: t.linalg.vander(t.ones(3), N=1),
    "vander N=0": lambda t: t.linalg.vander(t.ones(3), N=0),
    "lu without pivoting": lambda t: t.linalg.lu(t.ones(3, 3), pivot=False),
    "lu_factor without pivoting": lambda t: t.linalg.lu_factor(t.ones(3, 3), pivot=False),
    "lu_solve of ints": lambda t: t.linalg.lu_solve(t.ones(0, 4, 4, dtype=t.int64),
                                                    t.ones(0, 4, dtype=t.int32),
                                                    t.ones(0, 4, 2, dtype=t.int64)),
    "lu_solve non-square": lambda t: t.linalg.lu_solve(t.ones(2, 3), t.ones(2, dtype=t.int32),
                                                       t.ones(2, 2)),
    "solve left=False with a vector": lambda t: t.linalg.solve(t.eye(3), t.ones(3), left=False),
    "solve left=False with a vector, 1x1": lambda t: t.linalg.solve(t.eye(1), t.ones(1),
                                                                     left=False),
    "solve with a 0-d B": lambda t: t.linalg.solve(t.eye(3), t.tensor(1.)),
    "solve of ints, non-square": lambda t: t.linalg.solve(t.ones(2, 3, dtype=t.int64),
                                                          t.ones(2, dtype=t.int64)),
}


@pytest.mark.parametrize("case", list(_LINALG))
def test_linalg_like_torch(case):
    assert _outcome(lambda: _LINALG[case](ember)) == _outcome(lambda: _LINALG[case](torch))


def _lstsq(t, driver, a=((1 + 1j, 2), (3, 4j), (5, 6))):
    return tuple(t.linalg.lstsq(t.tensor(a, dtype=t.complex128),
                                t.tensor([[1j], [2], [3 + 1j]], dtype=t.complex128),
                                driver=driver))


_LSTSQ_CASES = {
    "residuals of complex input are real": lambda t: _lstsq(t, "gelsd"),
    "the empty outputs have the real dtype": lambda t: _lstsq(t, "gelsy"),
    "gels": lambda t: _lstsq(t, "gels"),
    # (their values: of LAPACK's solution of a rank-deficient system, arbitrary)
    "gels gives residuals whatever the rank": lambda t: [
        _lstsq(t, "gels", ((1, 2), (2, 4), (3, 6)))[1].isfinite()],
    "gels of a matrix without columns: zero residuals": lambda t: tuple(t.linalg.lstsq(
        t.ones(2, 0, dtype=t.float64), t.ones(2, 3, dtype=t.float64), driver="gels")),
    "gelsd of a matrix without columns": lambda t: tuple(t.linalg.lstsq(
        t.ones(2, 0, dtype=t.float64), t.ones(2, 3, dtype=t.float64), driver="gelsd")),
    "gelss: none for a rank-deficient matrix": lambda t: _lstsq(t, "gelss", ((1, 2), (2, 4),
                                                                             (3, 6)))[1:],
}


@pytest.mark.parametrize("case", list(_LSTSQ_CASES))
def test_lstsq_outputs_like_torch(case):
    import numpy as np
    e, t = _LSTSQ_CASES[case](ember), _LSTSQ_CASES[case](torch)
    assert [(str(a.dtype).replace("ember", "torch"), tuple(a.shape)) for a in e] == \
        [(str(b.dtype), tuple(b.shape)) for b in t]
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


def _grads(lib, case):
    x = lib.tensor([[1., 2, 0], [3, 0, 4]], requires_grad=True)
    if case == "vector_norm ord=0 has no gradient":
        return lib.autograd.grad(lib.linalg.vector_norm(x, 0), x, allow_unused=True)
    if case == "householder_product of an empty batch has none":
        a, tau = lib.zeros(0, 3, 2, requires_grad=True), lib.zeros(0, 2, requires_grad=True)
        return lib.autograd.grad(lib.linalg.householder_product(a, tau).sum(), (a, tau),
                                 allow_unused=True)
    if case == "matrix_power 0 keeps the graph (zero gradient)":
        m = lib.ones(2, 3, 3, requires_grad=True)
        r = lib.linalg.matrix_power(m, 0)
        return r.requires_grad, type(r.grad_fn).__name__, lib.autograd.grad(r.sum(), m)
    if case == "matrix_norm 1 of an empty matrix has no graph":
        r = lib.linalg.matrix_norm(lib.ones(2, 0, requires_grad=True), 1)
        return r.requires_grad, r
    a = lib.tensor([[4., 1, 2], [0.5, 3, 0.1], [-1, 0.7, 5]], dtype=lib.float64,
                   requires_grad=True)
    return lib.autograd.grad(lib.linalg.cholesky(a, upper=True).sum(), a)[0].detach() \
        .numpy().round(12).tolist()


@pytest.mark.parametrize("case", ["vector_norm ord=0 has no gradient",
                                  "householder_product of an empty batch has none",
                                  "matrix_power 0 keeps the graph (zero gradient)",
                                  "matrix_norm 1 of an empty matrix has no graph",
                                  "cholesky upper"])
def test_linalg_gradients_like_torch(case):
    e, t = _grads(ember, case), _grads(torch, case)
    assert _outcome(lambda: e) == _outcome(lambda: t)


def test_multi_dot_multiplies_in_torchs_order():
    import numpy as np
    g = np.random.default_rng(1)
    for _ in range(40):
        n = int(g.integers(3, 7))
        dims = g.integers(1, 9, n + 1)
        arrs = [(g.standard_normal((dims[j], dims[j + 1])) * 3).astype(np.float16)
                for j in range(n)]
        e = ember.linalg.multi_dot([ember.tensor(a) for a in arrs])
        t = torch.linalg.multi_dot([torch.tensor(a) for a in arrs])
        assert np.array_equal(e.float().numpy(), t.float().numpy())   # half: the order shows


_DEPRECATED = {
    "cholesky": lambda t: t.cholesky(t.eye(2)),
    "lu": lambda t: t.lu(t.eye(2)),
    "lu_solve": lambda t: t.lu_solve(t.ones(2, 1), *t.linalg.lu_factor(t.eye(2))),
    "qr": lambda t: t.qr(t.eye(2)),
}


def _assert_warns_as_torch(call, monkeypatch):
    """call(lib) warns in ember what it warns in torch (both libraries' once-a-process
    warnings given again)."""
    import warnings
    from ember import _warnings
    monkeypatch.setattr(_warnings, "GIVEN", set())      # (torch warns once a process)

    def caught(lib):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            call(lib)
        return [(x.category, str(x.message).split(" (Triggered internally")[0]) for x in w]
    e = caught(ember)
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)         # (its once-a-process warnings, whatever ran before)
    try:
        assert e and e == caught(torch)
    finally:
        torch.set_warn_always(before)


@pytest.mark.parametrize("case", list(_DEPRECATED))
def test_deprecated_factorizations_warn_like_torch(case, monkeypatch):
    _assert_warns_as_torch(_DEPRECATED[case], monkeypatch)


def test_complex_to_real_casts_warn_only_as_torch():
    import warnings

    def run(lib):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x = lib.tensor([1 + 1j, 2j])
            r = [x.float(), x.double(), x.half(), x.long(), x.bool()]
            y = lib.zeros(2)
            y.copy_(x)
            b = lib.zeros(2, dtype=lib.bool)
            b[:] = x
            r += [y, b, lib.zeros(2, dtype=lib.bool).copy_(x)]
        return [_plain(v) for v in r], {x.category.__name__ for x in w}
    # the values (complex to bool is "nonzero") and no NumPy ComplexWarning
    e, t = run(ember), run(torch)
    assert e[0] == t[0] and e[1] <= t[1]


def _out(t, dtype):
    return t.empty(0, dtype=getattr(t, dtype))


_A2 = lambda t: t.tensor([[2., 1], [1, 3]])      # noqa: E731


_OUTS = {
    # structured kernels: resize_out's message with C++ type names
    "linalg.inv": lambda t, o: t.linalg.inv(_A2(t), out=o),
    "linalg.det": lambda t, o: t.linalg.det(_A2(t), out=o),
    "linalg.svdvals": lambda t, o: t.linalg.svdvals(_A2(t), out=o),
    "linalg.eigvalsh": lambda t, o: t.linalg.eigvalsh(_A2(t), out=o),
    "linalg.vector_norm": lambda t, o: t.linalg.vector_norm(_A2(t), out=o),
    "linalg.solve": lambda t, o: t.linalg.solve(_A2(t), t.ones(2, 1), out=o),
    "linalg.cholesky": lambda t, o: t.linalg.cholesky(_A2(t), out=o),
    "linalg.cross": lambda t, o: t.linalg.cross(t.ones(3), t.ones(3), out=o),
    "linalg.lu_solve": lambda t, o: t.linalg.lu_solve(*t.linalg.lu_factor(_A2(t)), t.ones(2, 1),
                                                      out=o),
    "linalg.ldl_solve": lambda t, o: t.linalg.ldl_solve(*t.linalg.ldl_factor(_A2(t)),
                                                        t.ones(2, 1), out=o),
    "linalg.qr": lambda t, o: t.linalg.qr(_A2(t), out=(o, t.empty(0)))[0],
    "linalg.lu_factor of a singular matrix": lambda t, o: t.linalg.lu_factor(
        t.ones(2, 2), out=(o, t.empty(0, dtype=t.int32)))[0],
    "linalg.lu": lambda t, o: t.linalg.lu(_A2(t), out=(t.empty(0), o, t.empty(0)))[1],
    "matmul": lambda t, o: t.matmul(_A2(t), _A2(t), out=o),
    "mm": lambda t, o: t.mm(_A2(t), _A2(t), out=o),
    "mv": lambda t, o: t.mv(_A2(t), t.ones(2), out=o),
    "addmm": lambda t, o: t.addmm(_A2(t), _A2(t), _A2(t), out=o),
    "torch.inverse": lambda t, o: t.inverse(_A2(t), out=o),
    "linalg.matrix_power": lambda t, o: t.linalg.matrix_power(_A2(t), 2, out=o),
    # their own messages
    "dot": lambda t, o: t.dot(t.ones(2), t.ones(2), out=o),
    "vdot": lambda t, o: t.vdot(t.ones(2), t.ones(2), out=o),
    "inner": lambda t, o: t.inner(t.ones(2), t.ones(2), out=o),
    "tensordot": lambda t, o: t.tensordot(_A2(t), _A2(t), out=o),
    "linalg.multi_dot": lambda t, o: t.linalg.multi_dot([_A2(t)] * 3, out=o),
    "chain_matmul": lambda t, o: t.chain_matmul(_A2(t), _A2(t), _A2(t), out=o),
    "linalg.norm": lambda t, o: t.linalg.norm(_A2(t), out=o),
    "linalg.matrix_norm": lambda t, o: t.linalg.matrix_norm(_A2(t), out=o),
    "linalg.vecdot": lambda t, o: t.linalg.vecdot(_A2(t), _A2(t), out=o),
    "linalg.solve_triangular": lambda t, o: t.linalg.solve_triangular(_A2(t), t.ones(2, 1),
                                                                      upper=True, out=o),
    # checkLinalgCompatibleDtype: any dtype the result casts to
    "linalg.pinv": lambda t, o: t.linalg.pinv(_A2(t), out=o),
    "linalg.cond": lambda t, o: t.linalg.cond(_A2(t), out=o),
    "linalg.tensorinv": lambda t, o: t.linalg.tensorinv(_A2(t), ind=1, out=o),
    "linalg.tensorsolve": lambda t, o: t.linalg.tensorsolve(_A2(t), t.ones(2), out=o),
    "linalg.householder_product": lambda t, o: t.linalg.householder_product(_A2(t), t.ones(1),
                                                                            out=o),
    "cholesky_inverse": lambda t, o: t.cholesky_inverse(_A2(t), out=o),
    "cholesky_solve": lambda t, o: t.cholesky_solve(t.ones(2, 1), _A2(t), out=o),
}


@pytest.mark.parametrize("dtype", ["int64", "float64", "complex64", "float32"])
@pytest.mark.parametrize("case", list(_OUTS))
def test_linalg_out_dtypes_like_torch(case, dtype):
    def run(t):
        o = _out(t, dtype)
        r = _OUTS[case](t, o)
        return r is o, _rounded(r)          # (the result is out itself, written)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def _rounded(r):
    """dtype, shape and values to 5 significant digits and 8 decimals, signs of zero aside
    (LAPACK's last bits aside)."""
    import numpy as np
    a = np.round(r.detach().resolve_conj().cdouble().numpy(), 8) + 0j
    return (str(r.dtype).replace("ember", "torch"), tuple(r.shape),
            repr(np.vectorize(lambda z: complex(float(f"{z.real:.5g}"),
                                                float(f"{z.imag:.5g}")))(a).tolist()
                 if a.size else []))


_BATCHES = {
    "solve": lambda t: t.linalg.solve(t.eye(3).expand(0, 3, 3), t.ones(2, 3, 1)),
    "solve_triangular": lambda t: t.linalg.solve_triangular(t.eye(2).expand(0, 2, 2),
                                                            t.ones(2, 2, 2), upper=True,
                                                            left=False),
    "solve_triangular: half after the shapes": lambda t: t.linalg.solve_triangular(
        t.eye(1, dtype=t.half).expand(0, 1, 1), t.ones(2, 1, 2, dtype=t.half), upper=False),
    "triangular_solve": lambda t: t.triangular_solve(t.ones(1, 2, 4, 2, dtype=t.int64),
                                                     t.ones(0, 4, 4, dtype=t.int64)),
    "cholesky_solve": lambda t: t.cholesky_solve(t.ones(1, 2, 1, 2), t.eye(1).expand(0, 1, 1),
                                                 upper=True),
    "lu_solve": lambda t: t.linalg.lu_solve(*t.linalg.lu_factor(t.eye(3).expand(2, 3, 3)),
                                            t.ones(3, 3, 1)),
    "linalg.cross": lambda t: t.linalg.cross(t.ones(0, 3), t.ones(2, 3)),
    "cross": lambda t: t.cross(t.ones(2, 3), t.ones(4, 3), dim=1),
    # B of A's batch shape minus one dim is a matrix here, not solve's vector
    "solve_triangular left=False, B the shape of A[0]": lambda t: t.linalg.solve_triangular(
        t.tensor([[[2., 1], [0, 3]], [[1., 1], [0, 1]]]), t.tensor([[1., 2], [3, 4]]),
        upper=True, left=False),
    "triangular_solve unitriangular, (1, 1) by (1, 1, 1)": lambda t: tuple(t.triangular_solve(
        t.ones(1, 1), t.ones(1, 1, 1) * 3, unitriangular=True)),
}


@pytest.mark.parametrize("case", list(_BATCHES))
def test_solver_batches_like_torch(case):
    def run(t):
        r = _BATCHES[case](t)
        return [_rounded(x) for x in r] if isinstance(r, tuple) else _rounded(r)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_PINV = {
    "rtol per matrix": lambda t, a: t.linalg.pinv(a, rtol=t.tensor([0.1, 0.2])),
    "0-d rtol, atol per matrix": lambda t, a: t.linalg.pinv(a, rtol=t.tensor(0.1),
                                                           atol=t.tensor([0.1, 0.5])),
    "atol per matrix (the default rtol where it is 0)": lambda t, a: t.linalg.pinv(
        a, atol=t.tensor([0.0, 0.5])),
    "0-d rtol": lambda t, a: t.linalg.pinv(a[0], rtol=t.tensor(0.1)),
}


@pytest.mark.parametrize("case", list(_PINV))
def test_pinv_tensor_tolerances_like_torch(case):
    def run(t):
        a = t.tensor([[[2., 0, 0], [0, 1, 0], [0, 0, 0.05]], [[1., 0, 0], [0, 0.3, 0],
                                                              [0, 0, 0.01]]])
        return _PINV[case](t, a)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("shape", [(0, 2, 3), (2, 0), (0, 1, 1), (2, 3, 0), (0, 0)])
@pytest.mark.parametrize("ord", [1, 2, float("inf")])
def test_matrix_norm_max_over_an_empty_dim_is_zero_without_graph(shape, ord):
    def run(t):
        r = t.linalg.matrix_norm(t.ones(shape, requires_grad=True), ord)
        return r, r.requires_grad, type(r.grad_fn).__name__
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_EIG_LOSSES = {
    "eigenvalues": lambda t, w, V: (w.real * t.arange(3.)).sum() + w.imag.sum(),
    "eigvals": None,
    "eigenvector moduli": lambda t, w, V: (V.abs() ** 2 * t.arange(3.)).sum() + w.real.sum(),
    "a phase-dependent loss": lambda t, w, V: V.real.sum(),
    "reconstruction": lambda t, w, V: (V @ t.diag_embed(w) @ t.linalg.inv(V)).real.sum(),
}


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("case", list(_EIG_LOSSES))
def test_eig_gradients_like_torch(case, dtype):
    import numpy as np
    g = np.random.default_rng(0)
    a = g.standard_normal((2, 3, 3)) + (1j * g.standard_normal((2, 3, 3))
                                        if dtype == "complex128" else 0)

    def run(t):
        A = t.tensor(a, dtype=getattr(t, dtype), requires_grad=True)
        if _EIG_LOSSES[case] is None:
            loss = t.linalg.eigvals(A).abs().sum()
        else:
            w, V = t.linalg.eig(A)
            loss = _EIG_LOSSES[case](t, w, V)
        return _rounded(t.autograd.grad(loss, A)[0])
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_FFT_OUT = {
    "fft": lambda t, o: t.fft.fft(t.ones(4), out=o),
    "fft of complex": lambda t, o: t.fft.fft(t.ones(4, dtype=t.complex64), out=o),
    "ifft of real (through conj_physical_out)": lambda t, o: t.fft.ifft(t.ones(4), out=o),
    "rfft": lambda t, o: t.fft.rfft(t.ones(4), out=o),
    "ihfft": lambda t, o: t.fft.ihfft(t.ones(4), out=o),
    "irfft": lambda t, o: t.fft.irfft(t.ones(4, dtype=t.complex64), out=o),
    "hfft": lambda t, o: t.fft.hfft(t.ones(4, dtype=t.complex64), out=o),
    "fft2": lambda t, o: t.fft.fft2(t.ones(2, 2), out=o),
    "rfftn": lambda t, o: t.fft.rfftn(t.ones(2, 2), out=o),
    "irfft2": lambda t, o: t.fft.irfft2(t.ones(2, 2, dtype=t.complex64), out=o),
    "hfftn": lambda t, o: t.fft.hfftn(t.ones(2, 2, dtype=t.complex64), out=o),
    "ihfft2": lambda t, o: t.fft.ihfft2(t.ones(2, 2), out=o),
    "irfft: the out kind before the norm": lambda t, o: t.fft.irfft(
        t.ones(4, dtype=t.complex64), norm="bad", out=o),
    "fft of complex: the norm first": lambda t, o: t.fft.fft(t.ones(4, dtype=t.complex64),
                                                            norm="bad", out=o),
}


@pytest.mark.parametrize("dtype", ["int64", "float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("case", list(_FFT_OUT))
def test_fft_out_like_torch(case, dtype):
    def run(t):
        o = _out(t, dtype)
        r = _FFT_OUT[case](t, o)
        return r is o, _rounded(r)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("dtype", ["int64", "float32", "complex128"])
def test_ihfftn_over_one_dim_checks_out_dtype_like_torch(dtype):
    # (only the refusals: torch's conj_physical_out call there has its arguments swapped and
    # leaves an out of the right dtype unwritten, which ember does not copy)
    def run(t):
        return t.fft.ihfftn(t.ones(4), out=_out(t, dtype))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("case", ["all", "dim 0", "keepdim", "complex128 dim 1"])
def test_mean_of_nothing_complex_is_nan_nanj_like_torch(case):
    def run(t):
        x = t.zeros(0, 3, dtype=t.complex64)
        r = {"all": lambda: x.mean(), "dim 0": lambda: x.mean(0),
             "keepdim": lambda: x.mean(0, keepdim=True),
             "complex128 dim 1": lambda: t.zeros(2, 0, dtype=t.complex128).mean(1)}[case]()
        return repr(r).replace("ember", "torch")
    assert run(ember) == run(torch)


_NORMS = {
    "dims must be different, named wrapped": lambda t: t.linalg.matrix_norm(t.ones(1, 3), -1,
                                                                            dim=[1, -1]),
    "nuclear_norm with an int dim (both dims)": lambda t: t.nuclear_norm(t.ones(2, 2), dim=1),
    "nuclear_norm of a 0-d tensor": lambda t: t.nuclear_norm(t.tensor(1.), dim=1),
    "nuclear_norm with dims": lambda t: t.nuclear_norm(t.ones(2, 3, 2), dim=[0, -1],
                                                       keepdim=True),
    "frobenius_norm of ints": lambda t: t.frobenius_norm(t.ones(3, dtype=t.int64), dim=(0,)),
    "frobenius_norm of three dims": lambda t: t.frobenius_norm(t.ones(2, 2, 2), dim=(0, 1, 2)),
    "torch.norm: dtype= before the dims": lambda t: t.norm(t.tensor(1 + 1j), p=float("inf"),
                                                           dim=(-2, -1), dtype=t.float64),
    "torch.norm: dtype= before repeated dims": lambda t: t.norm(
        t.ones(1, 2, dtype=t.complex128), 0, dim=(0, 0), dtype=t.float64),
}


@pytest.mark.parametrize("case", list(_NORMS))
def test_norm_variants_like_torch(case):
    assert _outcome(lambda: _NORMS[case](ember)) == _outcome(lambda: _NORMS[case](torch))


@pytest.mark.parametrize("case", ["nuclear_norm", "frobenius_norm"])
def test_deprecated_norms_warn_like_torch(case, monkeypatch):
    _assert_warns_as_torch(lambda lib: getattr(lib, case)(lib.ones(2, 2), dim=(0, 1)),
                           monkeypatch)


_TUPLE_OUTS = {
    "sort": lambda t: t.sort(t.tensor([3., 1, 2]), out=(t.empty(0), t.empty(0, dtype=t.long))),
    "max(dim)": lambda t: t.max(t.tensor([3., 1, 2]), 0, out=(t.empty(0),
                                                              t.empty(0, dtype=t.long))),
    "linalg.qr": lambda t: t.linalg.qr(t.eye(2) * 2, out=(t.empty(0), t.empty(0))),
    "linalg.eigh": lambda t: t.linalg.eigh(t.eye(2) * 2, out=(t.empty(0), t.empty(0))),
    "linalg.svd": lambda t: t.linalg.svd(t.eye(2) * 2, out=(t.empty(0), t.empty(0),
                                                            t.empty(0))),
    "linalg.slogdet": lambda t: t.linalg.slogdet(t.eye(2) * 2, out=(t.empty(0), t.empty(0))),
    "linalg.eig": lambda t: t.linalg.eig(t.eye(2) * 2, out=(t.empty(0, dtype=t.complex64),
                                                            t.empty(0, dtype=t.complex128))),
    "linalg.eig into reals": lambda t: t.linalg.eig(t.eye(2), out=(t.empty(0), t.empty(0))),
    "linalg.eigvals into reals": lambda t: t.linalg.eigvals(t.eye(2), out=t.empty(0)),
    "geqrf": lambda t: t.geqrf(t.eye(2) * 2, out=(t.empty(0, dtype=t.float64), t.empty(0))),
    "geqrf into longs": lambda t: t.geqrf(t.eye(2) * 2, out=(t.empty(0), t.empty(0,
                                                                              dtype=t.long))),
    "triangular_solve": lambda t: t.triangular_solve(t.ones(2, 1), t.eye(2) * 2,
                                                     out=(t.empty(0), t.empty(0))),
    "triangular_solve into doubles": lambda t: t.triangular_solve(
        t.ones(2, 1), t.eye(2) * 2, out=(t.empty(0, dtype=t.float64), t.empty(0))),
}


@pytest.mark.parametrize("case", list(_TUPLE_OUTS))
def test_out_tuples_like_torch(case):
    def run(t):
        r = _TUPLE_OUTS[case](t)
        return repr(r).replace("ember", "torch") if isinstance(r, tuple) else _rounded(r)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def _E(t, name="float32"):
    return t.empty(0, dtype=getattr(t, name))


_A4 = lambda t: t.tensor([[4., 1], [1, 3]])     # noqa: E731

_MORE_TUPLE_OUTS = {
    "linalg.cholesky_ex": lambda t, d: t.linalg.cholesky_ex(_A4(t), out=(_E(t, d),
                                                                         _E(t, "int32"))),
    "linalg.inv_ex": lambda t, d: t.linalg.inv_ex(_A4(t), out=(_E(t, d), _E(t, "int32"))),
    "linalg.inv_ex info": lambda t, d: t.linalg.inv_ex(_A4(t), out=(_E(t), _E(t, d))),
    "linalg.solve_ex": lambda t, d: t.linalg.solve_ex(_A4(t), t.ones(2, 1),
                                                      out=(_E(t, d), _E(t, "int32"))),
    "svd": lambda t, d: t.svd(_A4(t), out=(_E(t), _E(t, d), _E(t))),
    "qr": lambda t, d: t.qr(_A4(t), out=(_E(t, d), _E(t))),
    "lu_unpack": lambda t, d: t.lu_unpack(*t.linalg.lu_factor(_A4(t)), out=(_E(t), _E(t),
                                                                            _E(t, d))),
    "slogdet": lambda t, d: t.slogdet(_A4(t), out=(_E(t), _E(t, d))),
    "linalg.lstsq solution": lambda t, d: t.linalg.lstsq(_A4(t), t.ones(2, 1), out=(
        _E(t, d), _E(t), _E(t, "int64"), _E(t))),
    "linalg.lstsq residuals": lambda t, d: t.linalg.lstsq(_A4(t), t.ones(2, 1), out=(
        _E(t), _E(t, d), _E(t, "int64"), _E(t))),
    "linalg.lstsq rank": lambda t, d: t.linalg.lstsq(_A4(t), t.ones(2, 1), out=(
        _E(t), _E(t), _E(t, d), _E(t))),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "complex64"])
@pytest.mark.parametrize("case", list(_MORE_TUPLE_OUTS))
def test_more_out_tuples_are_written_like_torch(case, dtype):
    def run(t):
        r = _MORE_TUPLE_OUTS[case](t, dtype)
        return type(r).__name__, [_rounded(x) for x in r]
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_EMPTY_RANKS = {
    "matrix_rank of an empty int batch, no tolerance": lambda t: t.linalg.matrix_rank(
        t.ones(0, 2, 2, dtype=t.int32)),
    "matrix_rank of an empty int batch, rtol given": lambda t: t.linalg.matrix_rank(
        t.ones(0, 2, 2, dtype=t.int32), rtol=0.1),
    "matrix_rank hermitian of empty non-square": lambda t: t.linalg.matrix_rank(
        t.ones(0, 1, 4), hermitian=True),
    "matrix_rank hermitian of (2, 0, 4)": lambda t: t.linalg.matrix_rank(t.ones(2, 0, 4),
                                                                         hermitian=True),
    "pinv hermitian of empty non-square": lambda t: t.linalg.pinv(t.ones(0, 1, 4),
                                                                  hermitian=True),
    "pinv hermitian of (2, 0, 4)": lambda t: t.linalg.pinv(t.ones(2, 0, 4), hermitian=True),
}


@pytest.mark.parametrize("case", list(_EMPTY_RANKS))
def test_empty_ranks_and_pinvs_like_torch(case):
    assert _outcome(lambda: _EMPTY_RANKS[case](ember)) == _outcome(
        lambda: _EMPTY_RANKS[case](torch))
