"""RAdam: rectified Adam (torch.optim.RAdam)."""
import numpy as np

from .optimizer import (_check_moment_args, _scale_, _update_moments, Optimizer, _effective_grad,
                        _finish, _for_chunks, _grad_array, _incr, _real, _scalar_state,
                        _use_grad_for_differentiable, _value, _with_number, _zeros_like,
                        _weight_decay, _add_number_, _low_float)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_moment_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state({"foreach": None, "maximize": False, "differentiable": False,
                             "decoupled_weight_decay": False, "capturable": False})

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        return self._step_each(closure, _init_radam, radam_update)


def radam_update(p, state, group):
    """One parameter's RAdam step (torch's _single_tensor_radam)."""
    step = _incr(state["step"])
    lr, weight_decay = _value(group["lr"]), _weight_decay(group)
    beta1, beta2 = map(_value, group["betas"])
    decay = 1.0
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        decay, weight_decay = 1 - lr * weight_decay, 0
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    rect = None             # the variance is not tractable yet: an SGD-with-momentum step
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    _for_chunks(p.be.xp, _radam_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["exp_avg"].arr),
                 _real(state["exp_avg_sq"].arr)),
                beta1, beta2, lr, _value(group["eps"]), bias_correction1, bias_correction2, rect,
                weight_decay, decay, group["maximize"])
    _finish(p, state, _BUMPS[decay != 1.0])


# torch's exp_avg.lerp_, exp_avg_sq.mul_().addcmul_() (and param.mul_(1 - lr *
# weight_decay) when decoupled)
_BUMPS = {decoupled: (("exp_avg", 1), ("exp_avg_sq", 2))
          + (((None, 1),) if decoupled else ()) for decoupled in (False, True)}


def _radam_kernel(xp, param, grad, exp_avg, exp_avg_sq, beta1, beta2, lr, eps, bias_correction1,
                  bias_correction2, rect, weight_decay, decay, maximize):
    if decay != 1.0:
        _scale_(param, decay)
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _update_moments(xp, grad, exp_avg, exp_avg_sq, beta1, beta2, tmp)
    # torch's exp_avg / bias_correction1 * lr: each a number in float32 for float16/bfloat16
    update = _with_number(xp.multiply, _with_number(xp.divide, exp_avg, bias_correction1), lr)
    if rect is not None:
        # torch's `bias_correction2 ** 0.5 / (sqrt(v) + eps)` is Tensor.__rtruediv__: the
        # reciprocal, then times the number (float32 for float16/bfloat16, as the rect factor)
        adaptive_lr = _add_number_(xp.sqrt(exp_avg_sq, out=tmp), eps)
        if _low_float(adaptive_lr.dtype):
            adaptive_lr[...] = xp.reciprocal(adaptive_lr.astype(np.float32))
        else:
            xp.reciprocal(adaptive_lr, out=adaptive_lr)
        update *= _with_number(xp.multiply, adaptive_lr, bias_correction2 ** 0.5)
        update = _with_number(xp.multiply, update, rect)
    param -= update


def _init_radam(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["exp_avg"] = _zeros_like(p)
    state["exp_avg_sq"] = _zeros_like(p)
