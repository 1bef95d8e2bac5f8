"""gradcheck / gradgradcheck: analytical gradients against central finite differences.

Slow mode (torch's default) compares full Jacobians; fast mode compares the random projections
vᵀ·J·u, one backward and two forwards per input (pytorch/pytorch#53876). Forward-mode and
batched checks are not available (ember has no forward AD and no vmap)."""
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
            if inp.is_complex():
                raise NotImplementedError("ember's gradcheck does not support complex inputs")
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
    """All float Tensor outputs (host copies are taken by the callers)."""
    Tensor = _tensor_cls()
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _host(t):
    return np.array(t.be.to_host(t.arr), dtype=np.float64 if t.arr.dtype.kind != "c" else None)


def _eval(func, inputs):
    return [_host(o.detach()) for o in _outputs(func, inputs)]


# ---- slow mode: full Jacobians -----------------------------------------------------------------
def _numerical_jacobians(func, inputs, diff_idx, eps):
    """jac[i][j]: (numel of input i, numel of output j), by central differences."""
    sizes = [o.size for o in _eval(func, inputs)]
    jac = []
    for i in diff_idx:
        a = inputs[i].arr
        cols = [np.zeros((a.size, n)) for n in sizes]
        for row, idx in enumerate(np.ndindex(*a.shape)):
            orig = a[idx].item()
            a[idx] = orig - eps
            minus = _eval(func, inputs)
            a[idx] = orig + eps
            plus = _eval(func, inputs)
            a[idx] = orig
            for j, (p, m) in enumerate(zip(plus, minus)):
                cols[j][row] = ((p - m) / (2 * eps)).reshape(-1)
        jac.append(cols)
    return jac


def _analytical_jacobians(outputs, inputs, diff_idx, check_grad_dtypes):
    """jac[i][j] like the numerical one, from one backward per output element."""
    from .._tensor import _new
    diff_inputs = [inputs[i] for i in diff_idx]
    jac = [[np.zeros((inputs[i].numel(), o.numel())) for o in outputs] for i in diff_idx]
    for j, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        xp = out.be.xp
        for m in range(out.numel()):
            onehot = xp.zeros(out.arr.shape, out.arr.dtype)
            onehot.reshape(-1)[m] = 1
            grads = _grad((out,), diff_inputs, (_new(onehot, out.be),), retain_graph=True,
                          allow_unused=True)
            for k, g in enumerate(grads):
                if g is None:
                    continue
                if check_grad_dtypes and g.dtype is not diff_inputs[k].dtype:
                    raise GradcheckError("Gradient has dtype mismatch")
                if tuple(g.shape) != tuple(diff_inputs[k].shape):
                    raise GradcheckError("Analytical gradient has incorrect size")
                jac[k][j][:, m] = _host(g).reshape(-1)
    return jac


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
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(_mismatch(oi, k, n, a))
            if np.abs(a - second[k][j]).max(initial=0) > nondet_tol:
                raise GradcheckError(_NONDET.format(nondet_tol))


def _mismatch(out_idx, in_idx, numerical, analytical, fast=False):
    from ..ops.creation import tensor
    msg = (f"Jacobian mismatch for output {out_idx:d} with respect to input {in_idx:d},\n"
           f"numerical:{tensor(numerical, dtype=_f64())}\n"
           f"analytical:{tensor(analytical, dtype=_f64())}\n")
    if fast:
        msg += ("\nThe above quantities relating the numerical and analytical jacobians are "
                "computed in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 "
                "for more background about fast mode. Rerun with fast_mode=False to see the "
                "full jacobians.\n")
    return msg


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


def _fast_check(func, inputs, outputs, diff_idx, eps, atol, rtol, nondet_tol, check_dtypes):
    from .._tensor import _new
    rng = np.random.default_rng(0)
    us = [_unit(rng, inputs[i].arr.shape) for i in diff_idx]
    diff_out = [o for o in outputs if o.requires_grad]
    vs = [_unit(rng, o.arr.shape) for o in outputs]
    numerical = []                    # numerical[k][j] = vⱼᵀ (J u_k)
    for k, i in enumerate(diff_idx):
        a = inputs[i].arr
        orig = a.copy()
        step = (eps * us[k]).astype(a.dtype)
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
        v = _new(out.be.xp.asarray(vs[j], dtype=out.arr.dtype), out.be)
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
    """Check the gradients of `func` at `inputs` (Tensors, float64 advised) against finite
    differences. Returns True, or raises GradcheckError (False if raise_exception=False).

    `check_undefined_grad` is accepted and has no effect: ember's engine always materialises
    missing output gradients as zeros."""
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("ember's gradcheck has no forward-mode or batched checks")
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
    dtype = t.dtype if t.is_floating_point() else float64
    if noncontiguous and t.ndim:
        big = rand(tuple(t.shape) + (2,), dtype=dtype, device=t.device) * 2 - 1
        g = big[..., 0].detach()
    else:
        g = (rand(tuple(t.shape), dtype=dtype, device=t.device) * 2 - 1).detach()
    return g.requires_grad_(True)
