"""Adadelta (torch.optim.Adadelta)."""
from .._tensor import Tensor
from .optimizer import (_scale_, _PerParameter, _addcmul_, _effective_grad, _finish, _for_chunks,
                        _grad_array, _incr, _real, _scalar_state, _value, _zeros_like,
                        _weight_decay, _number, _with_number, _add)

__all__ = ["Adadelta"]


class Adadelta(_PerParameter):
    _lr_number_error = "add_(): argument 'alpha' must be Number, not Tensor"
    _capturable_check = (("params and state_steps", False),) * 2

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)


def adadelta_update(p, state, group):
    """One parameter's Adadelta step (torch's _single_tensor_adadelta)."""
    _incr(state["step"])
    _for_chunks(p.be.xp, _adadelta_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["square_avg"].arr),
                 _real(state["acc_delta"].arr)),
                _value(group["lr"]), _number(group["rho"], "addcmul_(): argument 'value'"),
                _value(group["eps"]),
                _weight_decay(group),
                group["maximize"])
    _finish(p, state, _BUMPS)


# torch's square_avg.mul_().addcmul_(), acc_delta.mul_().addcmul_()
_BUMPS = (("square_avg", 2), ("acc_delta", 2))


def _adadelta_kernel(xp, param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay,
                     maximize):
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _scale_(square_avg, rho)
    _addcmul_(xp, square_avg, grad, grad, 1 - rho, tmp)
    std = _with_number(xp.add, square_avg, eps)
    xp.sqrt(std, out=std)
    delta = _with_number(xp.add, acc_delta, eps)
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= grad
    _scale_(acc_delta, rho)
    _addcmul_(xp, acc_delta, delta, delta, 1 - rho, tmp)
    _add(xp, param, delta, -lr, param)     # torch's param.add_(delta, alpha=-lr)


def _init_adadelta(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["square_avg"] = _zeros_like(p)
    state["acc_delta"] = _zeros_like(p)


Adadelta._init_state, Adadelta._update = staticmethod(_init_adadelta), staticmethod(adadelta_update)
