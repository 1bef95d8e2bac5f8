"""Autograd of 2-D sparse CSR tensors against torch: sparse_csr_tensor, values(), to_dense(),
to_sparse_csr(), the products (torch.mm / @ / addmm give the CSR operand a dense gradient,
torch.sparse.mm / addmm a CSR one at its pattern), dense + CSR, and torch.sparse.sampled_addmm
with its errors. Each case is a function of the library `L` (ember or torch) returning its outputs and
the tensors whose .grad is compared (values, layout, pattern) after a weighted backward."""
import numpy as np
import pytest
import torch

import ember
from nn_oracle import raises_like, same_error
from oracle import assert_close

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support"),
              pytest.mark.filterwarnings("ignore:Sparse invariant checks")]

CROW, COL = [0, 2, 3, 5], [0, 2, 1, 0, 2]


def _values(L, dt, rg=True):
    return L.tensor([1., 2., 3., 4., 5.], dtype=getattr(L, dt), requires_grad=rg)


def _csr(L, dt, values=None):
    v = _values(L, dt, False) if values is None else values
    return L.sparse_csr_tensor(L.tensor(CROW), L.tensor(COL), v, (3, 3))


def _dense(L, dt, shape, start=0.):
    n = int(np.prod(shape))
    return (L.arange(n, dtype=getattr(L, dt)) * 0.5 + start).reshape(shape)


def _leaf(L, dt, shape, start=0.):
    return _dense(L, dt, shape, start).requires_grad_()


def _check(e, t):
    """Same layout, grad_fn name, pattern (CSR) and values."""
    assert repr(e.layout) == repr(t.layout), (e.layout, t.layout)
    tf, ef = t.grad_fn, e.grad_fn
    assert (None if tf is None else type(tf).__name__) == (None if ef is None else ef.name())
    if t.layout == torch.sparse_csr:
        assert e.crow_indices().tolist() == t.crow_indices().tolist()
        assert e.col_indices().tolist() == t.col_indices().tolist()
        e, t = e.values(), t.values()
    assert_close(e.detach(), t.detach())


def _weigh(L, out):
    """A scalar loss that weighs each entry of `out` (the values of a CSR one) differently."""
    x = out.values() if out.layout == L.sparse_csr else out
    w = (L.arange(x.numel(), dtype=x.dtype) + 1).reshape(x.shape)
    return (x * w).sum()


def _run(case, dt):
    results = []
    for L in (ember, torch):
        out, leaves = case(L, dt)
        _weigh(L, out).backward()
        results.append((out, leaves))
    (eo, el), (to, tl) = results
    _check(eo, to)
    assert len(el) == len(tl)
    for e, t in zip(el, tl):
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            _check(e.grad, t.grad)


def _from_values(op):
    """op on a CSR tensor built from values that require grad: (out, [values, *dense])."""
    def case(L, dt):
        v = _values(L, dt)
        d = _leaf(L, dt, (3, 2), 1.)
        return op(L, _csr(L, dt, v), d), [v, d]
    return case


def _from_leaf(op):
    """op on a CSR leaf (requires_grad_()): its .grad's layout is torch's (CSR or dense)."""
    def case(L, dt):
        s = _csr(L, dt).requires_grad_()
        d = _leaf(L, dt, (3, 2), 1.)
        return op(L, s, d), [s, d]
    return case


def _from_dense(op, convert):
    """op on dense.to_sparse_csr(): the gradient goes back to the dense tensor."""
    def case(L, dt):
        x = L.tensor([[1., 0., 2.], [0., 0., 3.], [4., 5., 0.]], dtype=getattr(L, dt),
                     requires_grad=True)
        d = _leaf(L, dt, (3, 2), 1.)
        return op(L, convert(L, x), d), [x, d]
    return case


OPS = {
    "values": lambda L, s, d: s.values() * 1,
    "to_dense": lambda L, s, d: s.to_dense(),
    "to_dense_matmul": lambda L, s, d: s.to_dense() @ d,
    "sparse.mm": lambda L, s, d: L.sparse.mm(s, d),
    "matmul_op": lambda L, s, d: s @ d,
    "mm": lambda L, s, d: L.mm(s, d),
    "matmul": lambda L, s, d: L.matmul(s, d),
    "addmm": lambda L, s, d: L.addmm(_dense(L, "float64", (3, 2)).to(d.dtype), s, d, beta=2.,
                                     alpha=3.),
    "sparse.addmm": lambda L, s, d: L.sparse.addmm(_dense(L, "float64", (3, 2)).to(d.dtype), s,
                                                   d, beta=2., alpha=3.),
    "sampled_addmm": lambda L, s, d: L.sparse.sampled_addmm(s, d, d.T, beta=0.5, alpha=2.),
    "sampled_addmm_mm": lambda L, s, d: L.sparse.sampled_addmm(s, d, d.T.exp()) @ d,
    "sampled_addmm_beta0": lambda L, s, d: L.sparse.sampled_addmm(s, d, d.T, beta=0),
}
CONVERT = {"to_sparse_csr": lambda L, x: x.to_sparse_csr(),
           "to_sparse_layout": lambda L, x: x.to_sparse(layout=L.sparse_csr)}


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", list(OPS))
def test_grads_through_constructor(name, dt):
    _run(_from_values(OPS[name]), dt)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", list(OPS))
def test_grads_of_csr_leaf(name, dt):
    _run(_from_leaf(OPS[name]), dt)


@pytest.mark.parametrize("conv", list(CONVERT))
@pytest.mark.parametrize("name", ["values", "to_dense", "sparse.mm", "matmul_op",
                                  "sampled_addmm"])
def test_grads_to_dense_source(name, conv):
    _run(_from_dense(OPS[name], CONVERT[conv]), "float64")


def test_constructor_records_grad():
    for L in (ember, torch):
        v = _values(L, "float32")
        s = _csr(L, "float32", v)
        assert s.requires_grad and not s.is_leaf
    e, t = _csr(ember, "float32", _values(ember, "float32")), \
        _csr(torch, "float32", _values(torch, "float32"))
    assert e.grad_fn.name() == type(t.grad_fn).__name__


def test_leaf_grad_accumulates():
    grads = []
    for L in (ember, torch):
        s = _csr(L, "float64").requires_grad_()
        _weigh(L, s.to_dense()).backward()
        _weigh(L, s.values()).backward()
        grads.append(s.grad)
    _check(*grads)


def _complex_values(L):
    return L.tensor([1 + 1j, 2, 3j, 4, 5 - 2j], dtype=L.complex128)


def test_sampled_addmm_complex():
    def case(L, dt):
        s = _csr(L, dt, _complex_values(L)).requires_grad_()
        m1 = (_dense(L, "float64", (3, 2)) * (1 + 0.5j)).requires_grad_()
        m2 = (_dense(L, "float64", (2, 3), 1.) * (2 - 1j)).requires_grad_()
        out = L.sparse.sampled_addmm(s, m1, m2, beta=1 - 1j, alpha=0.5 + 2j)
        return L.view_as_real(out.to_dense()), [s, m1, m2]
    _run(case, "complex128")


def test_constructor_refuses_complex_grad():
    same_error(lambda: _csr(ember, "", _complex_values(ember).requires_grad_()),
               lambda: _csr(torch, "", _complex_values(torch).requires_grad_()))
    for L in (ember, torch):
        with L.no_grad():
            assert not _csr(L, "", _complex_values(L).requires_grad_()).requires_grad


def _mats(L, a=(3, 2), b=(2, 3), dt="float32"):
    return _dense(L, dt, a), _dense(L, dt, b)


ERRORS = [
    lambda L: L.sparse.sampled_addmm(_dense(L, "float32", (3, 3)), *_mats(L)),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32").to_sparse(), *_mats(L)),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32").to_sparse_csc(), *_mats(L)),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), *_mats(L, (3, 2), (3, 2))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), *_mats(L, (4, 2), (2, 3))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), *_mats(L, (3, 2), (2, 4))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), _dense(L, "float32", (3,)),
                                     _dense(L, "float32", (2, 3))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), _dense(L, "float32", (3, 2)),
                                     _dense(L, "float32", (2, 3)).to_sparse_csr()),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32"), _dense(L, "float32", (3, 2)),
                                     _dense(L, "float64", (2, 3))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float64"), *_mats(L)),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32").long(), *_mats(L, dt="int64")),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float32").long(),
                                     _dense(L, "int64", (3,)), _dense(L, "int64", (2, 3))),
    lambda L: L.sparse.sampled_addmm(_csr(L, "float16"), *_mats(L, dt="float16")),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_sampled_addmm_errors(i):
    e, t = raises_like(lambda: ERRORS[i](ember), lambda: ERRORS[i](torch))
    # (torch's NotImplementedError lists its dispatch keys after the "[")
    assert e.split("[")[0] == t.split("[")[0], (e, t)


def test_sampled_addmm_forward():
    for beta, alpha in ((1, 1), (0.5, -2.), (0, 3.)):
        e, t = (L.sparse.sampled_addmm(_csr(L, "float64"), *_mats(L, dt="float64"), beta=beta,
                                       alpha=alpha) for L in (ember, torch))
        _check(e, t)


MIXED = {   # a CSR leaf reached both by a CSR gradient and by a dense one: a dense .grad
    "to_dense+mm": lambda L, s, d: s.to_dense() + s @ d[:, :1].expand(3, 3),
    "mm+to_dense": lambda L, s, d: (s @ d)[:, :1] + s.to_dense(),
    "sparse.mm+values": lambda L, s, d: L.sparse.mm(s, d).sum(1) + s.values()[:3],
    "values+to_dense": lambda L, s, d: s.values()[:3] + s.to_dense()[0],
}


@pytest.mark.parametrize("name", list(MIXED))
def test_mixed_gradients(name):
    _run(_from_leaf(MIXED[name]), "float64")
    _run(_from_values(MIXED[name]), "float64")     # (summed CSR gradients: a new pattern)


def test_dense_grad_then_csr_grad_accumulate():
    grads = []
    for L in (ember, torch):
        s = _csr(L, "float32").requires_grad_()
        _weigh(L, s @ _dense(L, "float32", (3, 2))).backward()
        _weigh(L, s.to_dense()).backward()
        grads.append(s.grad)
    _check(*grads)


ADDS = [lambda L: _csr(L, "float32") + _dense(L, "float32", (3, 3)),
        lambda L: _dense(L, "float64", (3, 3)) + _csr(L, "float32"),
        lambda L: _dense(L, "float32", (3, 3)).add(_csr(L, "float32"), alpha=2)]


@pytest.mark.parametrize("i", range(len(ADDS)))
def test_add_dense_and_csr(i):
    _check(ADDS[i](ember), ADDS[i](torch))


def test_add_dense_and_csr_sizes():
    same_error(lambda: _csr(ember, "float32") + ember.ones(3),
               lambda: _csr(torch, "float32") + torch.ones(3))
