"""gradcheck / gradgradcheck: analytical gradients against central finite differences.

Slow mode (torch's default) compares full Jacobians; fast mode compares the random projections
vᵀ·J·u, one backward and two forwards per input (pytorch/pytorch#53876). Forward-mode and
batched checks are not available (ember has no forward AD and no vmap). Complex inputs and
outputs are checked as torch does, through their real and imaginary parts (conjugate Wirtinger
convention: the gradient of a real loss L is dL/d(real) + i dL/d(imag))."""
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


def _parts(t):
    """(name, slice of the real representation) for each part torch checks separately."""
    if t.arr.dtype.kind != "c":
        return ((None, slice(None)),)
    return (("real", slice(0, None, 2)), ("imaginary", slice(1, None, 2)))


def _first_mismatch(a, n, out, inp, rtol, atol):
    """torch checks the real and imaginary parts of complex outputs, then of complex inputs,
    separately; the note names the part that fails first (None: no mismatch)."""
    for what, t, axis in (("outputs", out, 1), ("inputs", inp, 0)):
        for part, sl in _parts(t):
            idx = (slice(None), sl) if axis else (sl, slice(None))
            if not np.allclose(a[idx], n[idx], rtol=rtol, atol=atol):
                note = "" if part is None else \
                    f"While considering the {part} part of complex {what} only, "
                return note, a[idx], n[idx]
    return None


def _slow_check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes):
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)
    for j, out in enumerate(outputs):
        if not out.requires_grad:
            for k in range(len(diff_idx)):
                if np.abs(numerical[k][j]).max(initial=0) > 0:
                    raise GradcheckError("Numerical gradient for function expected to be zero")
    diff_out = [j for j, o in enumerate(outputs) if o.requires_grad]
    first = _analytical_jacobians(outputs, inputs, diff_idx, check_dtypes)
    second = _analytical_jacobians(outputs, inputs, diff_idx, check_dtypes)
    for oi, j in enumerate(diff_out):
        for k in range(len(diff_idx)):
            a, n = first[k][j], numerical[k][j]
            bad = _first_mismatch(a, n, outputs[j], inputs[diff_idx[k]], rtol, atol)
            if bad is not None:
                raise GradcheckError(bad[0] + _mismatch(
                    oi, k, bad[2], bad[1], n_dtype=_real(outputs[j]),
                    a_dtype=_real(inputs[diff_idx[k]])))
            if np.abs(a - second[k][j]).max(initial=0) > nondet_tol:
                raise GradcheckError(_NONDET.format(nondet_tol))


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


def _mismatch(out_idx, in_idx, numerical, analytical, fast=False, n_dtype=None, a_dtype=None):
    """torch's message; its numerical Jacobian has the output's dtype, its analytical one the
    input's (float64 in fast mode and for complex tensors' parts)."""
    from ..ops.creation import tensor
    msg = (f"Jacobian mismatch for output {out_idx:d} with respect to input {in_idx:d},\n"
           f"numerical:{tensor(numerical, dtype=n_dtype or _f64())}\n"
           f"analytical:{tensor(analytical, dtype=a_dtype or _f64())}\n")
    if fast:
        msg += ("\nThe above quantities relating the numerical and analytical jacobians are "
                "computed in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 "
                "for more background about fast mode. Rerun with fast_mode=False to see the "
                "full jacobians.\n")
    return msg


def _real(t):
    """A real tensor's dtype (None for a complex one)."""
    return None if t.is_complex() else t.dtype


def _f64():
    from .._dtype import float64
    return float64


_NONDET = ("Backward is not reentrant, i.e., running backward with same input and grad_output "
           "multiple times gives different values, although analytical gradient matches "
           "numerical gradient.The tolerance for nondeterminism was {}.")


# ---- fast mode: vᵀ·J·u ---------------------------------------------------------------------
def _unit(rng, shape):
    v = rng.standard_normal(shape)
    n = np.linalg.norm(v)
    return v / n if n else v


def _as_complex(t, v):
    """A real-representation vector as an array of t's kind (pairs -> complex numbers)."""
    return v[..., 0] + 1j * v[..., 1] if t.arr.dtype.kind == "c" else v


def _fast_check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes):
    from .._tensor import _new
    rng = np.random.default_rng(0)
    us = [_unit(rng, _host(inputs[i]).shape) for i in diff_idx]
    diff_out = [o for o in outputs if o.requires_grad]
    vs = [_unit(rng, _host(o).shape) for o in outputs]
    numerical = []                    # numerical[k][j] = vⱼᵀ (J u_k)
    for k, i in enumerate(diff_idx):
        a = inputs[i].arr
        orig = a.copy()
        step = (eps * _as_complex(inputs[i], us[k])).astype(a.dtype)
        a[...] = orig - step
        minus = _eval(func, inputs)
        a[...] = orig + step
        plus = _eval(func, inputs)
        a[...] = orig
        numerical.append([float(np.sum(v * (p - m) / (2 * eps)))
                          for v, p, m in zip(vs, plus, minus)])
    diff_inputs = [inputs[i] for i in diff_idx]
    for oi, out in enumerate(diff_out):
        j = next(n for n, o in enumerate(outputs) if o is out)
        v = _new(out.be.xp.asarray(_as_complex(out, vs[j]), dtype=out.arr.dtype), out.be)
        results = []
        for _ in range(2):            # twice: the second run checks reentrancy
            grads = _grad((out,), diff_inputs, (v,), retain_graph=True, allow_unused=True)
            results.append([0.0 if g is None else float(np.sum(_host(g) * u))
                            for g, u in zip(grads, us)])
            if check_dtypes:
                for g, x in zip(grads, diff_inputs):
                    if g is not None and g.dtype is not x.dtype:
                        raise GradcheckError("Gradient has dtype mismatch")
        for k in range(len(diff_idx)):
            a, n = results[0][k], numerical[k][j]
            if not abs(a - n) <= atol + rtol * abs(n):
                raise GradcheckError(_mismatch(oi, k, n, a, fast=True))
            if abs(a - results[1][k]) > nondet_tol:
                raise GradcheckError(_NONDET.format(nondet_tol))
    for j, out in enumerate(outputs):
        if not out.requires_grad and any(abs(numerical[k][j]) > 0 for k in range(len(diff_idx))):
            raise GradcheckError("Numerical gradient for function expected to be zero")


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
            check = _fast_check if fast_mode else _slow_check
            check(func, tupled, outputs, diff_idx, eps, atol, rtol, nondet_tol,
                  check_grad_dtypes)
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
