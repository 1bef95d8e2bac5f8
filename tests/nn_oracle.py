"""Helpers for the nn tests: run the same layer / function on ember and torch and compare
outputs, input gradients and parameter gradients (random cotangents, never all-ones)."""
import numpy as np
import torch

import ember
import ember.nn  # noqa: F401
from oracle import assert_close

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-7, atol=1e-9)}
DTYPES = ("float32", "float64")


def rand(shape, dtype="float32", seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def pair(a, requires_grad=False, device="cpu"):
    """The same values as (ember tensor on `device`, torch tensor on the CPU)."""
    a = np.asarray(a)
    e = ember.tensor(a.copy(), device=device)
    t = torch.from_numpy(a.copy())
    if requires_grad:
        e.requires_grad_(True)
        t.requires_grad_(True)
    return e, t


def to_ember_state(sd):
    return {k: ember.tensor(v.detach().numpy().copy()) for k, v in sd.items()}


def copy_weights(e_mod, t_mod):
    """Load torch's weights into the ember module (and check the key lists match first)."""
    e_keys, t_keys = list(e_mod.state_dict()), list(t_mod.state_dict())
    assert e_keys == t_keys, (e_keys, t_keys)
    for (k, e), (_, t) in zip(e_mod.state_dict().items(), t_mod.state_dict().items()):
        assert tuple(e.shape) == tuple(t.shape), (k, e.shape, t.shape)
    result = e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    assert not result.missing_keys and not result.unexpected_keys


def _tensors(x):
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _tensors(item)]
    return [x] if isinstance(x, (ember.Tensor, torch.Tensor)) else []


def backward_both(e_out, t_out, seed=1, device="cpu"):
    """Backpropagate the same random cotangent through every floating output."""
    e_outs, t_outs = _tensors(e_out), _tensors(t_out)
    e_roots, t_roots, grads = [], [], []
    for i, (e, t) in enumerate(zip(e_outs, t_outs)):
        if t.requires_grad and t.is_floating_point():
            w = np.random.default_rng(seed + i).standard_normal(tuple(t.shape)).astype(
                str(t.dtype).replace("torch.", ""))
            e_roots.append(e)
            t_roots.append(t)
            grads.append(w)
    if not t_roots:
        return False
    torch.autograd.backward(t_roots, [torch.from_numpy(w) for w in grads])
    ember.autograd.backward(e_roots, [ember.tensor(w, device=device) for w in grads])
    return True


def check_module(e_mod, t_mod, inputs, dtype="float32", train=True, grad=True, tol=None,
                 grad_inputs=True, device="cpu"):
    """Same weights, same inputs: outputs, input grads and parameter grads must match torch
    (ember's module and inputs on `device`, torch's on the CPU)."""
    t_mod = t_mod.to(getattr(torch, dtype))
    copy_weights(e_mod, t_mod)
    e_mod.to(device=device, dtype=getattr(ember, dtype))
    e_mod.train(train)
    t_mod.train(train)
    tol = tol or TOL[dtype]
    e_in, t_in = [], []
    for a in inputs:
        a = np.asarray(a)
        rg = grad and grad_inputs and a.dtype.kind == "f"
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        e, t = pair(a, rg, device)
        e_in.append(e)
        t_in.append(t)
    e_out, t_out = e_mod(*e_in), t_mod(*t_in)
    assert all(o.device.type == device for o in _tensors(e_out)), "output on another device"
    assert_close(e_out, t_out, **tol)
    if grad and backward_both(e_out, t_out, device=device):
        for e, t in zip(e_in, t_in):
            if t.requires_grad:
                assert e.grad.device.type == device
                assert_close(e.grad, t.grad, **tol)
        e_params = dict(e_mod.named_parameters())
        for name, tp in t_mod.named_parameters():
            if tp.grad is None:
                assert e_params[name].grad is None, name
            else:
                assert e_params[name].grad.device.type == device, name
                assert_close(e_params[name].grad, tp.grad, **tol)
    return e_out, t_out


class Const:
    """An array input that never requires grad (torch refuses grad for some arguments)."""

    def __init__(self, a):
        self.a = np.asarray(a)


def check_fn(e_fn, t_fn, inputs, dtype="float32", tol=None, grad=True, kwargs=None):
    """Same function on both libraries: output and gradients of every float input."""
    tol = tol or TOL[dtype]
    kwargs = kwargs or {}
    e_in, t_in = [], []
    for a in inputs:
        const = isinstance(a, Const)
        if const:
            a = a.a
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                a = a.astype(dtype)
            e, t = pair(a, grad and a.dtype.kind == "f" and not const)
            e_in.append(e)
            t_in.append(t)
        else:
            e_in.append(a)
            t_in.append(a)
    e_out, t_out = e_fn(*e_in, **kwargs), t_fn(*t_in, **kwargs)
    assert_close(e_out, t_out, **tol)
    if grad and backward_both(e_out, t_out):
        for e, t in zip(e_in, t_in):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                if t.grad is None:
                    assert e.grad is None or not np.any(e.grad.numpy())
                else:
                    assert_close(e.grad, t.grad, **tol)
    return e_out, t_out


def raises_like(e_call, t_call):
    """Both calls raise the same exception class; returns (ember message, torch message)."""
    try:
        t_call()
    except Exception as ex:     # noqa: BLE001
        t_exc = ex
    else:
        raise AssertionError("torch did not raise")
    try:
        e_call()
    except Exception as ex:     # noqa: BLE001
        assert type(ex) is type(t_exc), (type(ex), type(t_exc), str(ex), str(t_exc))
        return str(ex), str(t_exc)
    raise AssertionError(f"ember did not raise; torch raised {type(t_exc).__name__}: {t_exc}")


def same_error(e_call, t_call):
    """Both calls raise the same exception class with the same message."""
    e_msg, t_msg = raises_like(e_call, t_call)
    assert e_msg == t_msg, (e_msg, t_msg)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Directional float64 gradcheck: <grad(v.f), u> against v.(f(x+eps u) - f(x-eps u))/2eps."""
    rng = np.random.default_rng(seed)
    xs = [ember.tensor(np.asarray(a, np.float64), requires_grad=True) for a in inputs]
    out = fn(*xs)
    v = rng.standard_normal(tuple(out.shape))
    (out * ember.tensor(v)).sum().backward()
    us = [rng.standard_normal(x.shape) for x in xs]
    analytic = sum(float((x.grad.numpy() * u).sum()) for x, u in zip(xs, us)
                   if x.grad is not None)
    with ember.no_grad():
        plus = fn(*[ember.tensor(x.detach().numpy() + eps * u) for x, u in zip(xs, us)])
        minus = fn(*[ember.tensor(x.detach().numpy() - eps * u) for x, u in zip(xs, us)])
    numeric = float((v * (plus.numpy() - minus.numpy())).sum() / (2 * eps))
    assert abs(analytic - numeric) <= atol + rtol * abs(numeric), (analytic, numeric)
