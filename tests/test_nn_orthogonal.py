"""parametrizations.orthogonal against torch (every map, with and without the trivialization,
tall, wide, square, batched and complex weights: values, gradients, right_inverse, errors), and the
linalg pieces it needs: geqrf, householder_product (values and gradients) and matrix_exp."""
import numpy as np
import pytest
import torch
import torch.nn.utils.parametrizations as tpz

import ember
import ember.nn.utils.parametrizations as epz
from nn_oracle import raises_like, to_ember_state
from oracle import assert_close

TOL64 = dict(rtol=1e-9, atol=1e-10)


def _rand(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _both(a):
    return (ember.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True))


def _backward_both(e_out, t_out, seed=9):
    g = _rand(tuple(t_out.shape), str(t_out.dtype).replace("torch.", ""), seed)
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))


# ---- geqrf, householder_product, matrix_exp --------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (2, 6, 2), (3, 1, 4, 4)])
def test_geqrf(shape, dtype):
    a = _rand(shape, dtype)
    ours, theirs = ember.geqrf(ember.tensor(a)), torch.geqrf(torch.tensor(a))
    assert type(ours).__name__ == "geqrf" and ours._fields == ("a", "tau")
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else TOL64
    assert_close(ours.a, theirs.a, **tol)
    assert_close(ours.tau, theirs.tau, **tol)
    assert_close(ember.tensor(a).geqrf().tau, theirs.tau, **tol)


def test_geqrf_has_no_derivative():
    a = _rand((3, 3))
    raises_like(lambda: ember.geqrf(ember.tensor(a, requires_grad=True)).a.sum().backward(),
                lambda: torch.geqrf(torch.tensor(a, requires_grad=True)).a.sum().backward())


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((5, 3), 2), ((4, 4), 4), ((4, 4), 3),
                                     ((2, 6, 3), 3), ((2, 1, 4, 2), 1)])
def test_householder_product(shape, k, dtype):
    (ea, ta), (et, tt) = _both(_rand(shape, dtype, 1)), _both(_rand(shape[:-2] + (k,), dtype, 2))
    e_out = ember.linalg.householder_product(ea, et)
    t_out = torch.linalg.householder_product(ta, tt)
    assert_close(e_out, t_out, **TOL64)
    assert_close(ember.orgqr(ea, et), t_out, **TOL64)
    _backward_both(e_out, t_out)
    assert_close(ea.grad, ta.grad, **TOL64)
    assert_close(et.grad, tt.grad, **TOL64)
    assert e_out.grad_fn.name() == type(t_out.grad_fn).__name__


def test_householder_product_of_geqrf_is_q():
    a = _rand((6, 4), "float32", 3)
    h, tau = ember.geqrf(ember.tensor(a))
    q = ember.linalg.householder_product(h, tau)
    assert_close(q, torch.linalg.qr(torch.tensor(a)).Q, rtol=1e-5, atol=1e-5)


HOUSEHOLDER_ERRORS = {
    "wide": lambda lib: lib.linalg.householder_product(lib.ones(2, 3), lib.ones(2)),
    "long tau": lambda lib: lib.linalg.householder_product(lib.ones(3, 2), lib.ones(3)),
    "1d": lambda lib: lib.linalg.householder_product(lib.ones(3), lib.ones(1)),
    "batch": lambda lib: lib.linalg.householder_product(lib.ones(2, 3, 2), lib.ones(3, 2)),
    "dtype": lambda lib: lib.linalg.householder_product(lib.ones(3, 2),
                                                        lib.ones(2, dtype=lib.float64)),
    "tau ndim": lambda lib: lib.linalg.householder_product(lib.ones(3, 2), lib.ones(2, 1)),
    "int": lambda lib: lib.linalg.householder_product(lib.ones(3, 2, dtype=lib.int64),
                                                      lib.ones(2, dtype=lib.int64)),
    "geqrf 1d": lambda lib: lib.geqrf(lib.ones(3)),
}


@pytest.mark.parametrize("case", list(HOUSEHOLDER_ERRORS))
def test_householder_product_errors(case):
    e_msg, t_msg = raises_like(lambda: HOUSEHOLDER_ERRORS[case](ember),
                               lambda: HOUSEHOLDER_ERRORS[case](torch))
    assert e_msg == t_msg


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_matrix_exp_spellings(dtype):
    ea, ta = _both(_rand((2, 3, 3), dtype, 4))
    e_out, t_out = ember.matrix_exp(ea), torch.matrix_exp(ta)
    assert_close(e_out, t_out, rtol=1e-7, atol=1e-7)
    assert_close(ea.matrix_exp(), t_out, rtol=1e-7, atol=1e-7)
    # (torch's two spellings are distinct bindings: compare what the linalg one computes, which
    # stays true once __torch_function__ dispatch wraps each module's functions separately)
    assert_close(ember.linalg.matrix_exp(ea), t_out, rtol=1e-7, atol=1e-7)
    _backward_both(e_out, t_out)
    assert_close(ea.grad, ta.grad, rtol=1e-7, atol=1e-7)


# ---- orthogonal ------------------------------------------------------------------------------
class Batched:
    """A module whose weight is a batch of matrices (built for either library)."""

    @staticmethod
    def make(lib, shape, dtype):
        m = lib.nn.Module()
        m.weight = lib.nn.Parameter(lib.tensor(_rand(shape, dtype, 5)))
        return m


def _modules(shape, dtype="float64"):
    if len(shape) == 2 and dtype == "float64":
        torch.manual_seed(0)
        t_mod = torch.nn.Linear(shape[1], shape[0]).double()
        e_mod = ember.nn.Linear(shape[1], shape[0]).double()
    else:
        t_mod, e_mod = Batched.make(torch, shape, dtype), Batched.make(ember, shape, dtype)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    return e_mod, t_mod


def _is_orthogonal(w):
    w = w.detach().numpy()
    if w.shape[-2] < w.shape[-1]:
        w = np.swapaxes(w, -1, -2)
    eye = np.eye(w.shape[-1])
    return np.allclose(np.swapaxes(w, -1, -2).conj() @ w, eye, atol=1e-10)


def _forward(mod, lib, shape, dtype):
    if isinstance(mod, (torch.nn.Linear, ember.nn.Linear)):
        x = _rand((3, shape[1]), dtype, 6)
        return mod(lib.tensor(x))
    return mod.weight * lib.tensor(_rand(shape, dtype, 6))


CASES = [((4, 4), None, True), ((6, 3), None, True), ((3, 6), None, True),
         ((4, 4), "cayley", True), ((6, 3), "matrix_exp", True), ((3, 6), "cayley", True),
         ((4, 4), "householder", True), ((6, 3), "householder", False),
         ((3, 6), "householder", False), ((4, 4), "matrix_exp", False),
         ((6, 3), "cayley", False), ((2, 5, 3), None, True), ((2, 3, 3), "cayley", False),
         ((2, 3, 5), "householder", False)]


@pytest.mark.parametrize("shape,orth_map,triv", CASES)
def test_orthogonal_matches_torch(shape, orth_map, triv):
    e_mod, t_mod = _modules(shape)
    assert epz.orthogonal(e_mod, orthogonal_map=orth_map, use_trivialization=triv) is e_mod
    tpz.orthogonal(t_mod, orthogonal_map=orth_map, use_trivialization=triv)
    e_orth, t_orth = e_mod.parametrizations.weight[0], t_mod.parametrizations.weight[0]
    assert e_orth.orthogonal_map.name == t_orth.orthogonal_map.name
    assert type(e_mod).__name__ == type(t_mod).__name__
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert _is_orthogonal(e_mod.weight)
    if triv and shape[-1] == shape[-2]:     # deterministic (no random completion of the base)
        assert_close(e_mod.weight, t_mod.weight, **TOL64)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    assert_close(e_mod.weight, t_mod.weight, **TOL64)
    e_out, t_out = _forward(e_mod, ember, shape, "float64"), _forward(t_mod, torch, shape,
                                                                        "float64")
    assert_close(e_out, t_out, **TOL64)
    _backward_both(e_out, t_out)
    e_params = dict(e_mod.named_parameters())
    for name, tp in t_mod.named_parameters():
        assert_close(e_params[name].grad, tp.grad, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("orth_map", [None, "cayley"])
def test_orthogonal_complex(orth_map):
    shape = (2, 4, 3)
    e_mod, t_mod = _modules(shape, "complex128")
    epz.orthogonal(e_mod, orthogonal_map=orth_map)
    tpz.orthogonal(t_mod, orthogonal_map=orth_map)
    assert e_mod.parametrizations.weight[0].orthogonal_map.name == \
        t_mod.parametrizations.weight[0].orthogonal_map.name
    assert _is_orthogonal(e_mod.weight)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    e_out, t_out = _forward(e_mod, ember, shape, "complex128"), _forward(t_mod, torch, shape,
                                                                           "complex128")
    assert_close(e_out, t_out, **TOL64)
    e_loss, t_loss = (e_out * e_out.conj()).real.sum(), (t_out * t_out.conj()).real.sum()
    e_loss.backward()
    t_loss.backward()
    assert_close(e_mod.parametrizations.weight.original.grad,
                 t_mod.parametrizations.weight.original.grad, rtol=1e-8, atol=1e-9)


def test_orthogonal_float32_linear():
    torch.manual_seed(1)
    t_mod, e_mod = torch.nn.Linear(5, 5), ember.nn.Linear(5, 5)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    epz.orthogonal(e_mod)
    tpz.orthogonal(t_mod)
    assert_close(e_mod.weight, t_mod.weight, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,orth_map,triv", [((4, 4), None, True), ((6, 3), None, True),
                                                 ((3, 6), "householder", False),
                                                 ((4, 4), "householder", False)])
def test_assigning_an_orthogonal_matrix(shape, orth_map, triv):
    e_mod, t_mod = _modules(shape)
    epz.orthogonal(e_mod, orthogonal_map=orth_map, use_trivialization=triv)
    tpz.orthogonal(t_mod, orthogonal_map=orth_map, use_trivialization=triv)
    wide = shape[0] < shape[1]
    q = torch.linalg.qr(torch.tensor(_rand(shape[::-1] if wide else shape, seed=7))).Q
    q = q.mT if wide else q
    e_mod.weight = ember.tensor(q.numpy())
    t_mod.weight = q
    assert_close(e_mod.weight, q, **TOL64)
    assert_close(e_mod.parametrizations.weight.original, t_mod.parametrizations.weight.original,
                 **TOL64)


def test_assigning_a_non_orthogonal_square_matrix_orthogonalizes_it():
    e_mod, t_mod = _modules((4, 4))
    epz.orthogonal(e_mod)
    tpz.orthogonal(t_mod)
    w = _rand((4, 4), seed=8)
    e_mod.weight = ember.tensor(w)
    t_mod.weight = torch.tensor(w)
    assert _is_orthogonal(e_mod.weight)
    assert_close(e_mod.weight, t_mod.weight, **TOL64)
    assert_close(e_mod.parametrizations.weight[0].base, t_mod.parametrizations.weight[0].base,
                 **TOL64)


def test_sgd_steps_stay_orthogonal_and_follow_torch():
    e_mod, t_mod = _modules((5, 3))
    epz.orthogonal(e_mod, orthogonal_map="cayley")
    tpz.orthogonal(t_mod, orthogonal_map="cayley")
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    e_opt = ember.optim.SGD(e_mod.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(t_mod.parameters(), lr=0.1)
    x = _rand((4, 3), seed=10)
    for _ in range(3):
        for mod, opt, lib in ((e_mod, e_opt, ember), (t_mod, t_opt, torch)):
            opt.zero_grad()
            (mod(lib.tensor(x)) ** 2).sum().backward()
            opt.step()
    assert _is_orthogonal(e_mod.weight)
    assert_close(e_mod.weight, t_mod.weight, rtol=1e-8, atol=1e-9)


def _orth_errors():
    def on(make, **kw):
        return lambda lib, pz: pz.orthogonal(make(lib), **kw)

    def assign(make, value, **kw):
        def run(lib, pz):
            m = pz.orthogonal(make(lib), **kw)
            m.weight = value(lib)
        return run
    linear = lambda lib: lib.nn.Linear(3, 4)   # noqa: E731
    return {
        "1d": on(lambda lib: Batched.make(lib, (4,), "float32")),
        "bad map": on(linear, orthogonal_map="qr"),
        "no such tensor": on(linear, name="nope"),
        "complex householder": on(lambda lib: Batched.make(lib, (4, 3), "complex64"),
                                  orthogonal_map="householder"),
        "wrong shape": assign(linear, lambda lib: lib.eye(4)),
        "assign matrix_exp no triv": assign(linear, lambda lib: lib.eye(4, 3),
                                            orthogonal_map="matrix_exp",
                                            use_trivialization=False),
        "assign cayley no triv": assign(linear, lambda lib: lib.eye(4, 3),
                                        orthogonal_map="cayley", use_trivialization=False),
    }


@pytest.mark.parametrize("case", list(_orth_errors()))
def test_orthogonal_errors(case):
    fn = _orth_errors()[case]
    raises_like(lambda: fn(ember, epz), lambda: fn(torch, tpz))
