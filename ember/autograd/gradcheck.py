"""gradcheck / gradgradcheck: analytical gradients against central finite differences, as
torch's.

Slow mode (torch's default) compares full Jacobians; fast mode compares the random projections
vᵀ·J·u (pytorch/pytorch#53876), with u and v drawn as torch draws them (rand from a fresh
generator: torch's default seed, so the same vectors), its tolerance and its report. Complex
outputs are checked through their imaginary, then their real parts, as torch does; complex
inputs through d/d real + i d/d imag (the conjugate Wirtinger convention: the gradient of a
real loss L). check_forward_ad compares forward-mode Jacobians; batched checks are not
available."""
import warnings

import numpy as np

from .functions import grad as _grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Error raised by gradcheck and gradgradcheck."""


def _tensor_cls():
    from .._tensor import Tensor
    return Tensor


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _check_inputs(inputs):
    Tensor = _tensor_cls()
    any_rg = False
    for idx, inp in enumerate(inputs):
        if isinstance(inp, Tensor) and inp.requires_grad:
            if inp.arr.dtype not in (np.float64, np.complex128):
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision "
                              "floating point or complex. This check will likely fail if all "
                              "the inputs are not of double precision floating point or "
                              "complex. ", stacklevel=3)
            if inp.numel() and not all(st > 0 or sz <= 1
                                       for st, sz in zip(inp.stride(), inp.shape)):
                raise RuntimeError(f"The {idx}th input has a dimension with stride 0. gradcheck "
                                   "only supports inputs that are non-overlapping to be able "
                                   "to compute the numerical gradients correctly. You should "
                                   "call .contiguous on the input before passing it to "
                                   "gradcheck.")
            any_rg = True
    if not any_rg:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")


def _outputs(func, inputs):
    """All Tensor outputs (host copies are taken by the callers)."""
    Tensor = _tensor_cls()
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _host(t):
    """float64 host values; a complex tensor as its (real, imag) pairs, as view_as_real gives.
    Jacobians of complex functions are those of these real representations: a complex input
    contributes two rows per element (d/d real, d/d imag), a complex output two columns."""
    a = np.asarray(t.be.to_host(t.arr))
    if a.dtype.kind == "c":
        return np.stack([a.real, a.imag], -1).astype(np.float64)
    return a.astype(np.float64)


def _eval(func, inputs):
    return [_host(o.detach()) for o in _outputs(func, inputs)]


def _units(t):
    """The directions of one element: 1, and i for complex tensors."""
    return (1, 1j) if t.arr.dtype.kind == "c" else (1,)


# ---- slow mode: full Jacobians -----------------------------------------------------------------
def _numerical_jacobians(func, inputs, diff_idx, eps):
    """jac[i][j]: (real numel of input i, real numel of output j), by central differences."""
    sizes = [o.size for o in _eval(func, inputs)]
    jac = []
    for i in diff_idx:
        a = inputs[i].arr
        units = _units(inputs[i])
        cols = [np.zeros((a.size * len(units), n)) for n in sizes]
        for row, idx in enumerate(np.ndindex(*a.shape)):
            orig = a[idx].item()
            for k, unit in enumerate(units):
                a[idx] = orig - eps * unit
                minus = _eval(func, inputs)
                a[idx] = orig + eps * unit
                plus = _eval(func, inputs)
                a[idx] = orig
                for j, (p, m) in enumerate(zip(plus, minus)):
                    cols[j][row * len(units) + k] = ((p - m) / (2 * eps)).reshape(-1)
        jac.append(cols)
    return jac


def _analytical_jacobians(outputs, inputs, diff_idx, check_grad_dtypes):
    """jac[i][j] like the numerical one, from one backward per real output coordinate: the
    gradient for grad_output 1 (or i) at one element is, in torch's convention, the real
    (d/d real + i d/d imag) gradient of that element's real (or imaginary) part."""
    from .._tensor import _new
    diff_inputs = [inputs[i] for i in diff_idx]
    jac = [[np.zeros((_host(inputs[i]).size, _host(o).size)) for o in outputs]
           for i in diff_idx]
    for j, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        xp = out.be.xp
        units = _units(out)
        for m in range(out.numel()):
            for k, unit in enumerate(units):
                onehot = xp.zeros(out.arr.shape, out.arr.dtype)
                onehot.reshape(-1)[m] = unit
                grads = _grad((out,), diff_inputs, (_new(onehot, out.be),), retain_graph=True,
                              allow_unused=True)
                for n, g in enumerate(grads):
                    if g is None:
                        continue
                    if check_grad_dtypes and g.dtype is not diff_inputs[n].dtype:
                        raise GradcheckError("Gradient has dtype mismatch")
                    if tuple(g.shape) != tuple(diff_inputs[n].shape):
                        raise GradcheckError("Analytical gradient has incorrect size")
                    jac[n][j][:, m * len(units) + k] = _host(g).reshape(-1)
    return jac


def _complex_rows(m, x):
    """A Jacobian's rows for input x in torch's form: a complex input's pairs of rows (d/d real,
    d/d imag) joined as d/d real + i d/d imag."""
    return m[0::2] + 1j * m[1::2] if x.is_complex() else m


def _part_prefix(j, complex_outputs, imag):
    if j not in complex_outputs:
        return ""
    return f"While considering the {'imaginary' if imag else 'real'} part of complex outputs only, "


def _slow_check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes,
                complex_outputs=(), imag=False):
    """torch's _slow_gradcheck on real outputs: full Jacobians, output by output (each
    output's backward run twice first: reentrancy)."""
    diff_out = [o for o in outputs if o.requires_grad]
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)
    if not diff_out:
        if any(np.any(m != 0) for row in numerical for m in row):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    diff_j = [j for j, o in enumerate(outputs) if o.requires_grad]
    first = _analytical_jacobians(outputs, inputs, diff_idx, check_dtypes)
    second = _analytical_jacobians(outputs, inputs, diff_idx, check_dtypes)
    for oi, j in enumerate(diff_j):
        if any(np.abs(first[k][j] - second[k][j]).max(initial=0) > nondet_tol
               for k in range(len(diff_idx))):
            raise GradcheckError(_NONDET.format(nondet_tol))
        for k, i in enumerate(diff_idx):
            x = inputs[i]
            a, n = (_complex_rows(m[k][j], x) for m in (first, numerical))
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(_part_prefix(oi, complex_outputs, imag) + _mismatch(
                    oi, k, n, a, n_dtype=x.dtype if x.is_complex() else outputs[j].dtype,
                    a_dtype=x.dtype))


def _forward_jacobians(func, inputs, diff_idx):
    """jac[i][j] like the numerical one, one forward-AD pass per real input coordinate: the
    tangent 1 (or i) at one element of input i, the columns its output tangents."""
    from . import forward_ad as fwad
    from .._tensor import _new
    sizes = [o.size for o in _eval(func, inputs)]
    jac = []
    for i in diff_idx:
        x = inputs[i]
        units = _units(x)
        rows = [np.zeros((x.numel() * len(units), n)) for n in sizes]
        xp = x.be.xp
        for m in range(x.numel()):
            for k, unit in enumerate(units):
                tan = xp.zeros(x.arr.shape, x.arr.dtype)
                tan.reshape(-1)[m] = unit
                with fwad.dual_level():
                    args = list(inputs)
                    args[i] = fwad.make_dual(x.detach(), _new(tan, x.be))
                    for j, o in enumerate(_outputs(func, tuple(args))):
                        t = fwad.unpack_dual(o).tangent
                        if t is not None:
                            rows[j][m * len(units) + k] = _host(t).reshape(-1)
        jac.append(rows)
    return jac


def _forward_check(func, inputs, outputs, diff_idx, eps, atol, rtol):
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)
    forward = _forward_jacobians(func, inputs, diff_idx)
    for j in range(len(outputs)):
        for k in range(len(diff_idx)):
            a, n = forward[k][j], numerical[k][j]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                from ..ops.creation import tensor
                raise GradcheckError(
                    f"Jacobian computed with forward mode mismatch for output {j:d} with "
                    f"respect to input {k:d},\nnumerical:{tensor(n.T, dtype=_f64())}\n"
                    f"analytical:{tensor(a.T, dtype=_f64())}\n")


def _mismatch(out_idx, in_idx, numerical, analytical, n_dtype=None, a_dtype=None):
    """torch's message; its numerical Jacobian has the output's dtype, its analytical one the
    input's (float64 for complex tensors' parts)."""
    from ..ops.creation import tensor
    return (f"Jacobian mismatch for output {out_idx:d} with respect to input {in_idx:d},\n"
            f"numerical:{tensor(numerical, dtype=n_dtype or _f64())}\n"
            f"analytical:{tensor(analytical, dtype=a_dtype or _f64())}\n")


def _f64():
    from .._dtype import float64
    return float64


_NONDET = ("Backward is not reentrant, i.e., running backward with same input and grad_output "
           "multiple times gives different values, although analytical gradient matches "
           "numerical gradient.The tolerance for nondeterminism was {}." """

NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
""")


# ---- fast mode: vᵀ·J·u, as torch's _fast_gradcheck ------------------------------------------
_FAST_FAIL_SLOW_OK = """
Fast gradcheck failed but element-wise differences are small. This means that the
test might've passed in slow_mode!

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `fast_mode=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_fast_mode=False`
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_fast_mode=False`
"""


def _unit_vector(t, generator, downcast_complex=False):
    """torch's random unit vector for `t`: rand from gradcheck's own generator (torch's default
    seed, so the same numbers), in t's dtype (its real dtype with downcast_complex)."""
    from ..ops.creation import rand
    dtype = t.real.dtype if downcast_complex and t.is_complex() else t.dtype
    v = rand(t.numel(), generator=generator).to(dtype=dtype, device=t.device)
    return v / v.norm()


def _float_outputs(func, inputs):
    Tensor = _tensor_cls()
    return [o.detach().clone() for o in _as_tuple(func(*inputs))
            if isinstance(o, Tensor) and (o.is_floating_point() or o.is_complex())]


def _numerical_jvps(func, inputs, i, u, eps):
    """J·u for input i by central differences (u scaled by eps), one per float output; for a
    complex input (u a pair) the real direction plus i times the imaginary one."""
    entry = inputs[i].data              # (its own version counter: the graph stays valid)

    def jvp(delta):
        orig = entry.clone()
        entry.copy_(orig - delta)
        minus = _float_outputs(func, inputs)
        entry.copy_(orig + delta)
        plus = _float_outputs(func, inputs)
        entry.copy_(orig)
        return [((b - a) / (2 * eps)).reshape(-1) for a, b in zip(minus, plus)]
    shape = tuple(entry.shape)
    if isinstance(u, tuple):
        dx = jvp(u[0].reshape(shape) * eps)
        dy = jvp(u[1].reshape(shape) * eps * 1j)
        return [a + b * 1j for a, b in zip(dx, dy)]
    return jvp(u.reshape(shape) * eps)


def _vjp_dot_u(out, diff_inputs, v, us, nondet_tol, check_dtypes):
    """vᵀ·J·u for each differentiable input, from one backward with grad_output v (run twice:
    the second checks reentrancy)."""
    from ..ops.creation import zeros
    runs = []
    for _ in range(2):
        grads = _grad((out,), diff_inputs, (v.reshape(tuple(out.shape)),), retain_graph=True,
                      allow_unused=True)
        row = []
        for g, x in zip(grads, diff_inputs):
            if g is not None and tuple(g.shape) != tuple(x.shape):
                raise GradcheckError("Analytical gradient has incorrect size")
            if g is not None and g.dtype is not x.dtype and check_dtypes:
                raise GradcheckError("Gradient has dtype mismatch")
            row.append(zeros(x.numel(), dtype=x.dtype, device=x.device) if g is None
                       else g.detach().to(x.dtype).reshape(-1))
        runs.append(row)
    for a, b in zip(*runs):
        if a.numel() and float((a - b).abs().max()) > nondet_tol:
            raise GradcheckError(_NONDET.format(nondet_tol))
    out = []
    for vj, u in zip(runs[0], us):
        if vj.is_complex():
            parts = vj.resolve_conj()
            out.append(parts.real.dot(u[0]) + 1j * parts.imag.dot(u[1]))
        else:
            out.append(vj.dot(u))
    return out


def _adjusted_atol(atol, u, v):
    sum_u = float(u[0].sum()) + float(u[1].sum()) if isinstance(u, tuple) else float(u.sum())
    return atol * sum_u * (1.0 if v is None else float(v.sum()))


def _slow_mode_report(func, inputs, outputs, diff_idx, k, j, eps, atol, rtol):
    """torch's recomputation, in slow mode, of the Jacobians a fast check found apart."""
    from ..ops.creation import tensor
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)[k][j]
    analytical = _analytical_jacobians(outputs, inputs, diff_idx, False)[k][j]
    x = inputs[diff_idx[k]]
    if x.is_complex():          # (rows d/d real, d/d imag -> torch's d/d real + i d/d imag)
        numerical, analytical = (m[0::2] + 1j * m[1::2] for m in (numerical, analytical))
    n = tensor(numerical, dtype=x.dtype if x.is_complex() else outputs[j].dtype)
    a = tensor(analytical, dtype=x.dtype)
    close = a.allclose(n, rtol, atol)          # (torch's: its dtypes must agree)
    msg = ("\nThe above quantities relating the numerical and analytical jacobians are computed "
           "\nin fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more "
           "background \nabout fast mode. Below, we recompute numerical and analytical "
           f"jacobians in slow mode:\n\nNumerical:\n {n}\nAnalytical:\n{a}\n\n"
           f"The max per-element difference (slow mode) is: {(n - a).abs().max().item()}.\n")
    if close:
        msg += _FAST_FAIL_SLOW_OK
    return msg


def _fast_check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes,
                complex_outputs=(), imag=False):
    from ..ops.random import Generator
    generator = Generator()
    diff_inputs = [inputs[i] for i in diff_idx]
    us = [(_unit_vector(x, generator, True), _unit_vector(x, generator, True))
          if x.is_complex() else _unit_vector(x, generator, True) for x in diff_inputs]
    diff_out = [o for o in outputs if o.requires_grad]
    vs = [_unit_vector(o, generator) for o in diff_out]
    numerical = []                  # numerical[k][j] = vⱼᵀ·(J u_k), torch's pairing of v and J u
    for k, i in enumerate(diff_idx):
        jvps = _numerical_jvps(func, inputs, i, us[k], eps)
        if not diff_out:
            if any(jvp.numel() and float(jvp.abs().max()) > nondet_tol for jvp in jvps):
                raise GradcheckError("Numerical gradient for function expected to be zero")
            continue
        numerical.append([(v * jvp).sum() for v, jvp in zip(vs, jvps)])
    analytical = [_vjp_dot_u(o, diff_inputs, v, us, nondet_tol, check_dtypes)
                  for o, v in zip(diff_out, vs)]
    for k, row in enumerate(numerical):
        for j, n in enumerate(row):
            a = analytical[j][k]
            tol = _adjusted_atol(atol, us[k], vs[j])
            if not _allclose_promoted(a, n, rtol, tol):
                raise GradcheckError(
                    f"{_part_prefix(j, complex_outputs, imag)}Jacobian mismatch for output "
                    f"{j:d} with respect to input {k:d},\n"
                    f"numerical:{n.item()}\nanalytical:{a.item()}\n" + _slow_mode_report(
                        func, inputs, diff_out, diff_idx, k, j, eps, atol, rtol))


def _allclose_promoted(a, b, rtol, atol):
    from .._dtype import promote_types
    dtype = promote_types(a.dtype, b.dtype)
    return bool(a.to(dtype).allclose(b.to(dtype), rtol, atol))


def _by_parts(check, func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol,
              check_dtypes):
    """torch checks complex outputs through their imaginary, then their real parts."""
    complex_outputs = [j for j, o in enumerate(o for o in outputs if o.requires_grad)
                       if o.is_complex()]
    if not any(o.is_complex() for o in outputs):
        return check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes)
    for part, imag in (("imag", True), ("real", False)):
        def part_fn(*args, part=part):
            return tuple(getattr(o, part) if o.is_complex() else o
                         for o in _as_tuple(func(*args)))
        check(part_fn, inputs, _outputs(part_fn, inputs), diff_idx, eps, atol, rtol, nondet_tol,
              check_dtypes, complex_outputs, imag)


# ---- public API ------------------------------------------------------------------------------
def gradcheck(func, inputs, *, eps=1e-06, atol=1e-05, rtol=0.001, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func` at `inputs` (Tensors, float64 or complex128 advised)
    against finite differences. Returns True, or raises GradcheckError (False if
    raise_exception=False).

    `check_undefined_grad` is accepted and has no effect: ember's engine always materialises
    missing output gradients as zeros."""
    if check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("ember's gradcheck has no batched checks")
    tupled = _as_tuple(inputs)
    _check_inputs(tupled)
    Tensor = _tensor_cls()
    diff_idx = [i for i, x in enumerate(tupled) if isinstance(x, Tensor) and x.requires_grad]
    try:
        outputs = _outputs(func, tupled)
        if check_backward_ad and outputs:
            _by_parts(_fast_check if fast_mode else _slow_check, func, tupled, outputs,
                      diff_idx, eps, atol, rtol, nondet_tol, check_grad_dtypes)
        if check_forward_ad and outputs:
            _forward_check(func, tupled, outputs, diff_idx, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-06, atol=1e-05, rtol=0.001,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """gradcheck of the gradient of `func` (with respect to its inputs and grad_outputs):
    checks second derivatives computed with create_graph=True."""
    if check_fwd_over_rev or check_batched_grad:
        raise NotImplementedError("ember's gradgradcheck has no forward-mode or batched checks")
    Tensor = _tensor_cls()
    tupled = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = [o for o in _outputs(func, tupled) if o.requires_grad]
        grad_outputs = tuple(_random_like(o, gen_non_contig_grad_outputs) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_out = len(grad_outputs)

    def new_func(*args):
        input_args, gouts = args[:-n_out], args[-n_out:]
        outs = [o for o in _outputs(func, input_args) if o.requires_grad]
        diff_inputs = tuple(x for x in input_args if isinstance(x, Tensor) and x.requires_grad)
        grads = _grad(outs, diff_inputs, gouts, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    if not check_rev_over_rev:
        return True
    return gradcheck(new_func, tupled + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode)


def _random_like(t, noncontiguous):
    from .._dtype import float64
    from ..ops.creation import rand
    dtype = t.dtype if t.is_floating_point() or t.is_complex() else float64
    if noncontiguous and t.ndim:
        big = rand(tuple(t.shape) + (2,), dtype=dtype, device=t.device) * 2 - 1
        g = big[..., 0].detach()
    else:
        g = (rand(tuple(t.shape), dtype=dtype, device=t.device) * 2 - 1).detach()
    if not isinstance(g.arr, g.be.xp.ndarray):      # a 0-d result may be a NumPy scalar
        from .._tensor import _new
        g = _new(g.be.xp.asarray(g.arr), g.be)
    return g.requires_grad_(True)
