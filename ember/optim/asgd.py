"""ASGD: averaged stochastic gradient descent (torch.optim.ASGD)."""
import numpy as np

from .._cpu import libm_loop
from .._dtype import get_default_dtype
from .._tensor import Tensor
from .optimizer import (_scale_, _PerParameter, _add, _effective_grad, _finish, _get_scalar_dtype,
                        _grad_array, _incr, _real, _value, _zeros_like, _weight_decay,
                        _in_scalar_state)

__all__ = ["ASGD"]


class ASGD(_PerParameter):
    _recorded_hyperparameters = ("weight_decay",)   # lr reaches the step through eta, detached
    _capturable_check = (("params, mus, etas, and state_steps", True),
                         ("params, mus, etas, and state_steps", False))

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)


def asgd_update(p, state, group):
    """One parameter's ASGD step: torch's _single_tensor_asgd (capturable=False), or with
    foreach=True its _multi_tensor_asgd, which rounds differently."""
    xp = p.be.xp
    param, ax = _real(p.arr), _real(state["ax"].arr)
    lr, lambd, alpha, t0 = (_value(group[k]) for k in ("lr", "lambd", "alpha", "t0"))
    step = _incr(state["step"])
    grad = _effective_grad(xp, _real(_grad_array(p)), param, group["maximize"],
                           _weight_decay(group))
    eta, mu = state["eta"], state["mu"]
    # torch.as_tensor(value) first: rounded to the default dtype, then copied into the state
    rounded = get_default_dtype().np.type
    if group["foreach"]:
        param -= (grad + param * lambd) * eta.arr.astype(param.dtype)
        ax += (param - ax) * mu.arr.astype(ax.dtype)
        # eta from the float32 step tensor in float32 ops, the division as torch's
        # Tensor.__rtruediv__ (reciprocal times lr); the 0-d pow is torch's scalar code: libm's
        f = state["step"].arr.dtype.type
        power = libm_loop(np.power, f(1) + state["step"].arr * f(lambd * lr), f(alpha))
        eta.arr[...] = f(1) / power * f(lr)
    else:
        eta_value = float(eta.item())
        _scale_(param, 1 - lambd * eta_value)                         # decay term
        _add(xp, param, grad, -eta_value, param)
        if float(mu.item()) != 1:                               # averaging
            ax += (param - ax) * mu.arr.astype(ax.dtype)
        else:
            ax[...] = param
        _in_scalar_state(group["lambd"]), _in_scalar_state(group["alpha"])
        eta.arr[...] = rounded(lr / ((1 + lambd * lr * step) ** alpha))
    mu.arr[...] = rounded(1 / max(1, step - t0))
    _finish(p, state, _BUMPS[bool(group["foreach"])])


# torch's ax.add_ (or copy_), eta.copy_, mu.copy_, and its single-tensor step's
# param.mul_(1 - lambd * eta) before param.add_ (its foreach step: one _foreach_addcmul_)
_BUMPS = {foreach: (("ax", 1), ("eta", 1), ("mu", 1))
          + (() if foreach else ((None, 1),)) for foreach in (False, True)}


def _init_asgd(state, p, group):
    from ..ops.creation import ones, tensor, zeros
    dt = _get_scalar_dtype()
    state["step"] = zeros((), dtype=dt, device=p.device)
    state["eta"] = tensor(float(_value(group["lr"])), dtype=dt, device=p.device)
    state["mu"] = ones((), dtype=dt, device=p.device)
    state["ax"] = _zeros_like(p)


ASGD._init_state, ASGD._update = staticmethod(_init_asgd), staticmethod(asgd_update)
