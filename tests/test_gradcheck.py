"""R3: ember.autograd.gradcheck in float64 over every differentiable entry of the op table, and
gradgradcheck over a representative subset; plus gradcheck's own API (torch's signature,
defaults, errors, fast mode). Where ember's gradcheck fails, torch's must fail on the same
inputs too (a non-differentiable point of the sample, not an ember bug)."""
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.autograd
from ember.autograd import gradcheck, gradgradcheck
from ember.autograd.gradcheck import GradcheckError
from opspecs import ALL_SPECS, materialize


@pytest.fixture(autouse=True)
def _once_warnings_left_unspent(monkeypatch):
    """The ops run here under ember alone: the once-a-process warnings they give are not spent
    for later tests in this process, which compare ember's warnings with torch's (a probe
    program's triangular_solve warning went missing after this file under pytest-xdist)."""
    monkeypatch.setattr(ember._warnings, "GIVEN", set(ember._warnings.GIVEN))


def _arrays(sample, domain, seed):
    """float64 arrays (or plain values) for one sample, as the op-table tests build them."""
    return materialize(sample, "float64", domain, seed)


def _args(lib, items):
    args = []
    for kind, val, grad in items:
        if kind == "v":
            args.append(val)
            continue
        t = ember.from_numpy(val.copy() if val.ndim else np.array(val)) if lib is ember else \
            torch.from_numpy(np.array(val, copy=True))
        if grad and val.dtype.kind == "f":
            t.requires_grad_(True)
        args.append(t)
    return tuple(args)


def _cases(specs):
    for spec in specs:
        if not (spec.grad and spec.gradcheck):
            continue
        for i in range(len(spec.samples)):
            yield pytest.param(spec, i, id=f"{spec.name}-{i}")


def _has_grad_input(args):
    return any(getattr(a, "requires_grad", False) for a in args)


def _check_like_torch(check, spec, i, **kw):
    items = _arrays(spec.samples[i], spec.domain, i)
    args = _args(ember, items)
    if not _has_grad_input(args):
        pytest.skip("no input requires grad in this sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            assert getattr(ember.autograd, check)(spec.fn, args, **kw)
        except GradcheckError as err:
            t_check = getattr(torch.autograd, check)
            with pytest.raises(Exception):          # torch disagrees: an ember bug
                t_check(spec.fn, _args(torch, items), **kw)
            assert "Jacobian mismatch" in str(err)


@pytest.mark.parametrize("spec, i", list(_cases(ALL_SPECS)))
def test_gradcheck_op_table(spec, i):
    _check_like_torch("gradcheck", spec, i)


# double backward: elementwise, reductions, matmul, shape ops, indexing, softmax-like
GRADGRAD = {
    "exp", "log", "sqrt", "rsqrt", "sin", "tanh", "sigmoid", "erf", "erfinv", "reciprocal",
    "square", "abs", "relu", "logit", "mul", "div", "pow", "atan2", "maximum", "hypot",
    "clamp", "where", "lerp", "addcdiv", "xlogy", "sum.dims", "mean.dim", "prod", "prod.dim",
    "amax", "max.dim", "var.dim", "std.correction", "logsumexp", "cumsum", "matmul", "bmm",
    "view", "permute", "expand", "cat", "stack", "split", "unbind", "narrow", "flip",
    "getitem.basic", "getitem.adv", "getitem.mix", "getitem.mask", "gather", "index_select",
    "masked_fill", "scatter_add", "index_put", "take_along_dim", "diagonal", "trace", "tril",
    "roll", "repeat", "unfold", "as_strided", "einsum.mm", "einsum.trace", "einsum.three",
    "norm.dim", "linalg.inv", "linalg.det",
    "linalg.solve", "linalg.cholesky", "linalg.vector_norm", "outer", "kron", "sort", "topk",
    "cummax", "cumprod", "median", "nan_to_num",
}


@pytest.mark.parametrize("spec, i", [c for c in _cases(ALL_SPECS)
                                     if c.values[0].name in GRADGRAD and c.values[1] == 0])
def test_gradgradcheck_subset(spec, i):
    _check_like_torch("gradgradcheck", spec, i)


def test_gradgradcheck_subset_is_present():
    names = {s.name for s in ALL_SPECS}
    assert GRADGRAD <= names, sorted(GRADGRAD - names)


# ---- gradcheck's own behaviour --------------------------------------------------------------
def _x(*shape):
    return ember.randn(*shape, dtype=ember.float64, requires_grad=True)


def test_detects_a_wrong_gradient():
    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g                   # should be 2 * x * g

    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0,\nnumerical:"):
        gradcheck(Wrong.apply, (_x(3),))
    assert gradcheck(Wrong.apply, (_x(3),), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="(?s)computed \nin fast mode.*recompute numerical "
                                             "and analytical jacobians in slow mode"):
        gradcheck(Wrong.apply, (_x(3),), fast_mode=True)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda x: Wrong.apply(x) * x, (_x(3),))


def test_detects_a_wrong_second_derivative():
    class WrongTwice(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * g * x.detach() ** 2          # right value, no second derivative

    assert gradcheck(WrongTwice.apply, (_x(3),))
    with pytest.raises(GradcheckError):
        gradgradcheck(WrongTwice.apply, (_x(3),))


def test_nondeterministic_backward_is_reported():
    class Noisy(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g + ember.randn(g.shape, dtype=g.dtype) * 1e-9

    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(Noisy.apply, (_x(3),))
    assert gradcheck(Noisy.apply, (_x(3),), nondet_tol=1e-6)


def test_signature_and_defaults_match_torch():
    import inspect
    for name in ("gradcheck", "gradgradcheck"):
        e = inspect.signature(getattr(ember.autograd, name)).parameters
        t = inspect.signature(getattr(torch.autograd, name)).parameters
        assert list(e) == list(t)
        for p in ("eps", "atol", "rtol", "raise_exception", "fast_mode", "nondet_tol"):
            assert e[p].default == t[p].default


def test_input_checks_like_torch():
    def errors(lib, make):
        try:
            lib.autograd.gradcheck(lambda x: x * 2, (make(lib),))
        except Exception as e:         # noqa: BLE001
            return type(e).__name__, str(e)
    assert errors(ember, lambda L: L.ones(3, dtype=L.float64)) == \
        errors(torch, lambda L: L.ones(3, dtype=L.float64))
    expanded = lambda L: L.ones(1, dtype=L.float64, requires_grad=True).expand(3)  # noqa: E731
    assert errors(ember, expanded) == errors(torch, expanded)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double "
                                         "precision floating point"):
        gradcheck(lambda x: x * 2, (ember.ones(3, requires_grad=True),), eps=1e-3, atol=1e-2)


def test_multiple_inputs_outputs_and_non_tensor_arguments():
    a, b = _x(2, 3), _x(3)

    def f(a, k, b):
        return (a * b * k).sum(1), a.exp(), a.argmax(1)
    assert gradcheck(f, (a, 2.0, b))
    assert gradcheck(f, (a, 2.0, b), fast_mode=True)
    assert gradgradcheck(f, (a, 2.0, b))
    assert gradgradcheck(f, (a, 2.0, b), fast_mode=True, gen_non_contig_grad_outputs=True)


def test_unsupported_modes_say_so():
    assert gradcheck(lambda x: x, (_x(2),), check_forward_ad=True)    # supported since forward_ad
    with pytest.raises(NotImplementedError):
        gradcheck(lambda x: x, (_x(2),), check_batched_grad=True)


def _function(lib, fwd, bwd):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return fwd(x, y)

        @staticmethod
        def backward(ctx, g):
            return bwd(lib, g, *ctx.saved_tensors)
    return F.apply


_F64 = "dtype=L.float64, requires_grad=True"
_C128 = "dtype=L.complex128, requires_grad=True"
FAST_CASES = {
    "right": ("lambda x, y: x * y", "lambda L, g, x, y: (g * y, g * x)",
              f"L.linspace(1, 2, 3, {_F64}), L.linspace(-1, 1, 3, {_F64})"),
    "second_input_wrong": ("lambda x, y: x * y", "lambda L, g, x, y: (g * y, g * x * 2)",
                           f"L.linspace(1, 2, 3, {_F64}), L.linspace(-1, 1, 3, {_F64})"),
    "complex_wrong": ("lambda x, y: x * y", "lambda L, g, x, y: (g * y, g * x.conj() * 1j)",
                      f"L.tensor([1+1j, 2-1j], {_C128}), L.tensor([0.5-1j, 1j], {_C128})"),
    "complex_output": ("lambda x, y: x * 1j + y", "lambda L, g, x, y: (g.real * 2, g.imag)",
                       f"L.ones(2, {_F64}), L.ones(2, {_F64})"),
    "nondeterministic": ("lambda x, y: x + y",
                         "lambda L, g, x, y: (g * (1 + L.rand(()) * 1e-3), g)",
                         f"L.ones(2, {_F64}), L.ones(2, {_F64})"),
    "float32": ("lambda x, y: x * y", "lambda L, g, x, y: (g * y, g * x)",
                "L.ones(2, requires_grad=True), L.ones(2, requires_grad=True)"),
    "float32_output": ("lambda x, y: (x * y).float()", "lambda L, g, x, y: (g * y, g * x)",
                       f"L.ones(2, {_F64}), L.ones(2, {_F64})"),
    "no_differentiable_output": ("lambda x, y: (x * y).detach()",
                                 "lambda L, g, x, y: (g, g)",
                                 f"L.ones(2, {_F64}), L.ones(2, {_F64})"),
}


@pytest.mark.parametrize("name", FAST_CASES)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "slow"])
def test_outcome_and_message_like_torch(name, fast):
    """Fast mode draws torch's random vectors (rand from a fresh generator, torch's seed), so
    its vᵀ·J·u, tolerance and report, with the slow-mode recomputation, are torch's."""
    fwd, bwd, args = FAST_CASES[name]

    def run(L):
        L.manual_seed(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return repr(gradcheck_of(L)(_function(L, eval(fwd), eval(bwd)),
                                            eval(f"({args})", {"L": L}), fast_mode=fast))
        except Exception as e:
            return f"{type(e).__name__}: {e}"
    assert run(ember) == run(torch)


def gradcheck_of(lib):
    return lib.autograd.gradcheck
