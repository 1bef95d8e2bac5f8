"""RMSprop, optionally centered and with momentum (torch.optim.RMSprop)."""
import numpy as np

from .._tensor import Tensor
from .optimizer import (_scale_, Optimizer, _add, _addcdiv_, _addcmul_, _effective_grad, _finish,
                        _for_chunks, _grad_array, _incr, _lerp_, _real, _scalar_state,
                        _use_grad_for_differentiable, _value, _zeros_like, _weight_decay, _number,
                        _add_number_, _step_small_together)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    _lr_number_error = "addcdiv_(): argument 'value' must be Number, not Tensor"
    _capturable_check = (("params and state_steps", True),) * 2

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state({"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                             "differentiable": False, "capturable": False})

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        return self._step_each(closure, _init_rmsprop, rmsprop_update, _rmsprop_batched)


def rmsprop_update(p, state, group):
    """One parameter's RMSprop step (torch's _single_tensor_rmsprop)."""
    _incr(state["step"])
    grad_avg = state["grad_avg"].arr if group["centered"] else None
    buf = state["momentum_buffer"].arr if group["momentum"] > 0 else None
    _for_chunks(p.be.xp, _rmsprop_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["square_avg"].arr),
                 None if grad_avg is None else _real(grad_avg),
                 None if buf is None else _real(buf)),
                _value(group["lr"]), _number(group["alpha"], "addcmul_(): argument 'value'"),
                _value(group["eps"]),
                _weight_decay(group), _value(group["momentum"]), group["maximize"])
    _finish(p, state, _BUMPS[grad_avg is not None, buf is not None])


def _rmsprop_batched(pairs, group):
    """RMSprop's batch hook (optimizer._step_small_together)."""
    try:
        scalars = (_value(group["lr"]), _number(group["alpha"], "addcmul_(): argument 'value'"),
                   _value(group["eps"]), _weight_decay(group), _value(group["momentum"]),
                   group["maximize"])
    except Exception:       # (rmsprop_update raises it, after its first step count)
        return pairs
    centered, momentum = bool(group["centered"]), bool(group["momentum"] > 0)
    keys = ("square_avg",) + (("grad_avg",) if centered else ()) + \
        (("momentum_buffer",) if momentum else ())

    def together(items, param, grad, square_avg, *more):
        for _, state in items:
            _incr(state["step"])
        _for_chunks(np, _rmsprop_kernel, (param, grad, square_avg,
                                          more[0] if centered else None,
                                          more[-1] if momentum else None), *scalars)
        for p, state in items:
            _finish(p, state, _BUMPS[centered, momentum])
    return _step_small_together(pairs, keys, together)


# torch's square_avg.mul_().addcmul_(), grad_avg.lerp_ (centered) and
# buf.mul_().addcdiv_() (momentum)
_BUMPS = {(centered, momentum): (("square_avg", 2),)
          + ((("grad_avg", 1),) if centered else ())
          + ((("momentum_buffer", 2),) if momentum else ())
          for centered in (False, True) for momentum in (False, True)}


def _rmsprop_kernel(xp, param, grad, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay,
                    momentum, maximize):
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _scale_(square_avg, alpha)
    _addcmul_(xp, square_avg, grad, grad, 1 - alpha, tmp)
    if grad_avg is not None:                        # centered
        _lerp_(xp, grad_avg, grad, 1 - alpha, tmp)
        avg = square_avg.copy()
        _addcmul_(xp, avg, grad_avg, grad_avg, -1, tmp)
        xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(square_avg)
    _add_number_(avg, eps)
    if buf is not None:                             # momentum > 0
        _scale_(buf, momentum)
        _addcdiv_(xp, buf, grad, avg, 1, tmp)
        _add(xp, param, buf, -lr, param)
    else:
        _addcdiv_(xp, param, grad, avg, -lr, tmp)


def _init_rmsprop(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["square_avg"] = _zeros_like(p)
    if group["momentum"] > 0:
        state["momentum_buffer"] = _zeros_like(p)
    if group["centered"]:
        state["grad_avg"] = _zeros_like(p)
