"""Adamax: Adam with the infinity norm (torch.optim.Adamax)."""
from .optimizer import (_check_moment_args, _scale_, _PerParameter, _addcdiv_, _effective_grad,
                        _finish, _for_chunks, _grad_array, _incr, _lerp_, _real, _scalar_state,
                        _value, _zeros_like, _weight_decay, _add_number_)

__all__ = ["Adamax"]


class Adamax(_PerParameter):
    _lr_number_error = "addcdiv_(): argument 'value' must be Number, not Tensor"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_moment_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)


def adamax_update(p, state, group):
    """One parameter's Adamax step (torch's _single_tensor_adamax)."""
    step = _incr(state["step"])
    beta1, beta2 = map(_value, group["betas"])
    clr = _value(group["lr"]) / (1 - beta1 ** step)
    _for_chunks(p.be.xp, _adamax_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["exp_avg"].arr),
                 _real(state["exp_inf"].arr)),
                beta1, beta2, _value(group["eps"]), clr, _weight_decay(group), group["maximize"])
    _finish(p, state, _BUMPS)


# torch's exp_avg.lerp_, exp_inf.mul_ then torch.maximum(..., out=exp_inf)
_BUMPS = (("exp_avg", 1), ("exp_inf", 2))


def _adamax_kernel(xp, param, grad, exp_avg, exp_inf, beta1, beta2, eps, clr, weight_decay,
                   maximize):
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _lerp_(xp, exp_avg, grad, 1 - beta1, tmp)
    _scale_(exp_inf, beta2)
    norm = _add_number_(xp.abs(grad, out=tmp), eps)
    xp.maximum(exp_inf, norm, out=exp_inf)
    _addcdiv_(xp, param, exp_avg, exp_inf, -clr, tmp)


def _init_adamax(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["exp_avg"] = _zeros_like(p)
    state["exp_inf"] = _zeros_like(p)


Adamax._init_state, Adamax._update = staticmethod(_init_adamax), staticmethod(adamax_update)
