"""Complex gradients against torch, driven by the op table (opspecs*.py) plus the complex-only
ops below: every differentiable entry runs on complex128 and complex64 inputs (random real and
imaginary parts in the op's domain), backward with a random complex cotangent, and ember's input
gradients must equal torch's (values and dtype; torch's conjugate Wirtinger convention). Where
torch refuses (a forward without complex kernels, no complex derivative, a phase-dependent loss
of complex singular vectors ...) ember must raise the same exception class. Then
ember.autograd.gradcheck / gradgradcheck in complex128 on a representative subset."""
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.autograd
from ember.autograd.gradcheck import GradcheckError
from opspecs import ALL_SPECS, OpSpec, T, _mod, materialize, t
from opspecs_shape import error_kind
from oracle import assert_close, host

# ---- complex-only ops (the table's entries are written for real inputs) ---------------------
SQ = [(t(3, 3),)]
EXTRA = [
    OpSpec("c.angle", lambda x: x.angle(), [(t(3, 4),), (t(),), (t(3, 4, nc=True),)]),
    OpSpec("c.angle.fn", lambda x: _mod(x).angle(x) * x.abs()),
    OpSpec("c.real", lambda x: x.real * 2, [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("c.imag", lambda x: x.imag, [(t(3, 4),), (t(),)]),
    OpSpec("c.real_imag.fn", lambda x: _mod(x).real(x) * _mod(x).imag(x)),
    OpSpec("c.conj", lambda x: x.conj() * x),
    OpSpec("c.conj.fn", lambda x: _mod(x).conj(x).exp()),
    OpSpec("c.conj_physical", lambda x: _mod(x).conj_physical(x) + x.resolve_conj()),
    OpSpec("c.H", lambda x: x.mH @ x, [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("c.view_as_real", lambda x: _mod(x).view_as_real(x) ** 2,
           [(t(3, 4),), (t(),), (t(3, 4, nc=True),)]),
    OpSpec("c.view_as_complex", lambda x: _mod(x).view_as_complex(
        _mod(x).view_as_real(x.exp()).flip(-1).contiguous()) * x),
    OpSpec("c.polar", lambda x: _mod(x).polar(x.abs(), x.angle() * 2)),
    OpSpec("c.complex", lambda x: _mod(x).complex(x.real * 2, x.imag.exp())),
    OpSpec("c.real_times_complex", lambda x, y: x.real * y + y.abs(), [(t(3, 4), t(3, 4))]),
    OpSpec("c.to_complex", lambda x: x.abs().to(x.dtype) * x),
    OpSpec("c.mul_imag_unit", lambda x: x * 1j + (2 - 1j) * x),
    OpSpec("c.div_scalar", lambda x: (1 + 2j) / x + x / (0.5 - 1j), domain=(0.5, 2.0)),
    OpSpec("c.pow_complex_exp", lambda x: x ** (0.5 + 1j) + (1.5 - 0.5j) ** x,
           domain=(0.5, 2.0)),
    OpSpec("c.abs.zero", lambda x: _mod(x).where(x.real > 1, x * 0, x).abs()),
    OpSpec("c.sgn.zero", lambda x: _mod(x).where(x.real > 1, x * 0, x).sgn()),
    OpSpec("c.where", lambda x, y: _mod(x).where(x.real > 0, x, y * 2j), [(t(3, 4), t(4))]),
    OpSpec("c.masked_fill", lambda x: x.masked_fill(x.imag > 0, 1 + 2j)),
    OpSpec("c.abs_sq", lambda x: (x * x.conj()).real + x.abs() ** 2),
    OpSpec("c.norm", lambda x: _mod(x).stack([x.norm(), _mod(x).linalg.vector_norm(x, 3),
                                              _mod(x).linalg.vector_norm(x, 1)]), SQ),
    OpSpec("c.var_std", lambda x: x.var(0) + x.std(1), SQ),
    OpSpec("c.vecdot", lambda x, y: _mod(x).linalg.vecdot(x, y), [(t(3, 4), t(4))]),
    OpSpec("c.logdet", lambda x: _mod(x).logdet(x + 3 * _mod(x).eye(3, dtype=x.dtype)), SQ),
    OpSpec("c.eigh", lambda x: _mod(x).linalg.eigh(x @ x.mH)[0], SQ),
    OpSpec("c.eigh.invariant", lambda x: (lambda L, V: (V * L) @ V.mH)(
        *_mod(x).linalg.eigh(x @ x.mH)), SQ),
    OpSpec("c.svd.invariant", lambda x: (lambda U, S, Vh: (U * S) @ Vh + U @ Vh)(
        *_mod(x).linalg.svd(x, full_matrices=False)), [(t(4, 3),), (t(3, 4),)]),
    OpSpec("c.svd.phase", lambda x: _mod(x).linalg.svd(x)[0], SQ),
    OpSpec("c.cholesky", lambda x: _mod(x).linalg.cholesky(
        x @ x.mH + 3 * _mod(x).eye(3, dtype=x.dtype)), SQ),
    OpSpec("c.addmm.scalars", lambda c, a, b: _mod(c).addmm(c, a, b, beta=0.5j, alpha=2 - 1j),
           [(t(3, 2), t(3, 4), t(4, 2))]),
    OpSpec("c.linear", lambda x, w, b: _mod(x).nn.functional.linear(x, w, b),
           [(t(2, 3, 4), t(5, 4), t(5))]),
    OpSpec("c.conv1d", lambda x, w, b: _mod(x).nn.functional.conv1d(x, w, b, padding=1),
           [(t(2, 3, 6), t(4, 3, 3), t(4))]),
    OpSpec("c.conv_transpose1d", lambda x, w: _mod(x).nn.functional.conv_transpose1d(
        x, w, stride=2), [(t(2, 3, 5), t(3, 2, 3))]),
    OpSpec("c.sort", lambda x: x.sort()[0], SQ),
    OpSpec("c.scatter_reduce", lambda x: x.scatter_reduce(0, _mod(x).tensor([[0, 1, 0]]),
                                                          x[:1] * 2, "sum"), SQ),
]

# Known differences: ember maps an in-place op onto its out-of-place one, so where torch treats
# the two differently for complex tensors ember cannot follow (see the report in the commit).
KNOWN = {
    "nan_to_num": "torch has no complex derivative for nan_to_num (but has one for "
                  "nan_to_num_, which ember builds from nan_to_num)",
    "nan_to_num.args": "as nan_to_num",
}

DTYPES = {"complex128": "float64", "complex64": "float32"}
SPECS = [s for s in ALL_SPECS + EXTRA
         if s.grad and any(isinstance(a, T) and a.grad for smp in s.samples for a in smp)]


def _items(sample, dtype, domain, seed):
    return materialize(sample, dtype, domain, seed, complex_parts=True)


def _args(lib, items):
    args = []
    for kind, v, grad in items:
        if kind == "v":
            args.append(v)
            continue
        x = lib.from_numpy(np.array(v, copy=True))
        if grad and v.dtype.kind == "c":
            x.requires_grad_(True)
        args.append(x)
    return args


def _both(fn, *argsets):
    """fn on torch's and on ember's arguments: ("ok", result) or ("err", exception) each."""
    out = []
    for args in argsets:
        try:
            out.append(("ok", fn(*args)))
        except Exception as e:          # noqa: BLE001 - the class is what we compare
            out.append(("err", e))
    return out


def _same_failure(t_res, e_res, what):
    (kt, rt), (ke, re_) = t_res, e_res
    assert kt == ke, f"{what}: torch {rt!r}, ember {re_!r}"
    if kt == "err":
        assert error_kind(rt) is error_kind(re_), f"{what}: torch raised {rt!r}, ember {re_!r}"
    return kt == "ok"


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_complex_grads_match_torch(spec, dtype):
    if spec.name in KNOWN:
        pytest.xfail(KNOWN[spec.name])
    tol = spec.tol.get(DTYPES[dtype], {})
    checked = 0
    for i, sample in enumerate(spec.samples):
        if dtype == "complex64" and checked:
            break               # complex64: dtypes and precision, on one sample is enough
        items = _items(sample, dtype, spec.domain, i)
        t_args, e_args = _args(torch, items), _args(ember, items)
        if not any(getattr(a, "requires_grad", False) for a in t_args):
            continue
        checked += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_fwd, e_fwd = _both(spec.fn, t_args, e_args)
            if not _same_failure(t_fwd, e_fwd, f"{spec.name}[{i}] forward"):
                continue
            t_out, e_out = t_fwd[1], e_fwd[1]
            assert_close(e_out, t_out, **tol)
            if not t_out.requires_grad:
                continue
            rng = np.random.default_rng(100 + i)
            w = rng.standard_normal(tuple(t_out.shape))
            if t_out.is_complex():
                w = w + 1j * rng.standard_normal(tuple(t_out.shape))
            w = np.asarray(w).astype(str(t_out.dtype).replace("torch.", ""))
            t_bwd, e_bwd = _both(lambda o, g: o.backward(g), (t_out, torch.from_numpy(w.copy())),
                                 (e_out, ember.from_numpy(w.copy())))
            if not _same_failure(t_bwd, e_bwd, f"{spec.name}[{i}] backward"):
                continue
        for e, tt in zip(e_args, t_args):
            if isinstance(tt, torch.Tensor) and tt.requires_grad:
                if tt.grad is None:
                    assert e.grad is None or not host(e.grad).any()
                    continue
                assert e.grad is not None, f"{spec.name}[{i}]: missing gradient"
                assert_close(e.grad, tt.grad.resolve_conj(), **tol)


# ---- gradcheck in complex128 -----------------------------------------------------------------
GRADCHECK = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "reciprocal", "square",
             "abs", "sgn", "add", "sub", "mul", "div", "pow", "pow.scalar", "rpow", "lerp.tensor",
             "addcdiv", "sum.dim", "mean.dims", "prod.dim", "cumprod", "logsumexp", "var.dim",
             "norm", "matmul", "mm", "bmm", "vdot", "einsum.batch", "linalg.inv", "linalg.det",
             "linalg.solve", "linalg.slogdet", "linalg.svdvals", "linalg.vector_norm.ord", "cat",
             "stack", "getitem.adv", "getitem.steps", "reshape",
             "permute", "index_put", "gather", "c.angle", "c.real", "c.imag",
             "c.conj", "c.view_as_real", "c.view_as_complex", "c.polar", "c.complex",
             "c.real_times_complex", "c.abs_sq", "c.svd.invariant", "c.eigh.invariant",
             "c.logdet", "c.addmm.scalars", "c.linear"]
_BY_NAME = {s.name: s for s in SPECS}


def _gc_args(lib, spec, i):
    args = _args(lib, _items(spec.samples[i], "complex128", spec.domain, i))
    return args


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_complex(name):
    """The first sample with an input that requires grad (and no empty tensor: torch's gradcheck
    refuses their zero strides): torch's gradcheck passes, ember's slow and fast modes too."""
    spec = _BY_NAME[name]
    for i in range(len(spec.samples)):
        args = _gc_args(ember, spec, i)
        tensors = [a for a in args if isinstance(a, ember.Tensor)]
        if any(a.requires_grad for a in tensors) and all(a.numel() for a in tensors):
            break
    assert torch.autograd.gradcheck(spec.fn, _gc_args(torch, spec, i))
    assert ember.autograd.gradcheck(spec.fn, args)
    assert ember.autograd.gradcheck(spec.fn, args, fast_mode=True)


@pytest.mark.parametrize("name", ["exp", "mul", "div", "sigmoid", "abs", "sgn", "prod.dim",
                                  "matmul", "c.conj", "c.angle", "c.view_as_complex", "c.complex",
                                  "c.real_times_complex", "c.logdet"])
def test_gradgradcheck_complex(name):
    spec = _BY_NAME[name]
    args = _gc_args(ember, spec, 0)
    assert torch.autograd.gradgradcheck(spec.fn, _gc_args(torch, spec, 0))
    assert ember.autograd.gradgradcheck(spec.fn, args)


def _scaled(lib, conjugate):
    """z * c with a hand-written backward: right (conj(c)) or with torch's convention broken."""
    c = 1 + 2j

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * c

        @staticmethod
        def backward(ctx, g):
            return g * (c.conjugate() if conjugate else c)
    return Scale.apply


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_catches_a_wrong_complex_convention(fast):
    for lib in (torch, ember):
        x = lib.tensor([1 + 1j, 2 - 1j], dtype=lib.complex128, requires_grad=True)
        assert lib.autograd.gradcheck(_scaled(lib, True), (x,), fast_mode=fast)
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            lib.autograd.gradcheck(_scaled(lib, False), (x,), fast_mode=fast)
    assert not ember.autograd.gradcheck(_scaled(ember, False), (x,), raise_exception=False)
    assert issubclass(GradcheckError, RuntimeError)


# ---- the complex-only API --------------------------------------------------------------------
def test_complex_views_share_storage_and_follow_torch():
    for lib in (torch, ember):
        z = lib.tensor([1 + 2j, 3 - 4j], dtype=lib.complex64)
        z.real.mul_(3)
        z.imag[0] = 5
        r = lib.view_as_real(z)
        r[1, 1] = 7
        assert z.tolist() == [3 + 5j, 9 + 7j]
        z.real = lib.zeros(2)
        assert z.tolist() == [5j, 7j]
        x = lib.tensor([1.0, -2.0])
        assert x.real is x and x.conj() is x and lib.conj_physical(x) is x
        assert z.conj().is_conj() and not z.conj().conj().is_conj()
        assert lib.view_as_complex(lib.ones(3, 2)).dtype is lib.complex64
    for bad in [lambda L: L.imag(L.ones(2)), lambda L: L.view_as_real(L.ones(2)),
                lambda L: L.view_as_complex(L.ones(3, 3)),
                lambda L: L.view_as_complex(L.ones(2, 3).t()),
                lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.int64)),
                lambda L: L.view_as_complex(L.ones(())),
                lambda L: L.view_as_complex(L.ones(5)[1:].reshape(2, 2))]:
        _same_failure(*_both(bad, (torch,), (ember,)), "complex view errors")


def test_angle_of_real_and_integer_tensors():
    vals = [1.0, -2.0, float("nan"), 0.0, -0.0, float("-inf")]
    for dtype in ("float32", "float64", "int64"):
        a = np.array(vals[:2] if dtype == "int64" else vals).astype(dtype)
        assert_close(ember.angle(ember.from_numpy(a)), torch.angle(torch.from_numpy(a)))
    xt = torch.tensor([1.0, -2.0], requires_grad=True)
    xe = ember.tensor([1.0, -2.0], requires_grad=True)
    torch.angle(xt).sum().backward()
    ember.angle(xe).sum().backward()
    assert_close(xe.grad, xt.grad)


def test_real_input_of_a_complex_graph_gets_the_real_part_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = []
        for lib in (torch, ember):
            x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
            y = (x * (2 - 3j)).exp()
            (g,) = lib.autograd.grad(y, x, lib.tensor([1 + 1j, 2 - 1j]), create_graph=True)
            g.sum().backward()
            out.append((g, x.grad))
    assert_close(out[1][0], out[0][0])
    assert_close(out[1][1], out[0][1])
