"""Adafactor: Adam-like steps from a factored second moment (row and column means of the squared
gradient for matrices) with relative step sizes (torch.optim.Adafactor)."""
from .._dtype import finfo
from .._tensor import Tensor, _new
from .optimizer import (_scale_, _PerParameter, _finish, _grad_array, _incr, _lerp_, _scalar_state,
                        _number, _value, _zeros_like)

__all__ = ["Adafactor"]


class Adafactor(_PerParameter):
    _UPGRADE = {"foreach": None}

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)


def _init_adafactor(state, p, group):
    if p.is_complex():
        raise RuntimeError("Adafactor does not support complex parameters")
    state["step"] = _scalar_state(0.0)
    grad = p.grad
    if grad.dim() > 1:              # row and column factors of the second moment
        xp = grad.be.xp
        state["row_var"] = _new(xp.zeros(grad.shape[:-1] + (1,), grad.arr.dtype), grad.be)
        state["col_var"] = _new(xp.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:],
                                         grad.arr.dtype), grad.be)
    else:
        state["variance"] = _zeros_like(grad)


def adafactor_update(p, state, group):
    """One parameter's Adafactor step (torch's _single_tensor_adafactor)."""
    xp = p.be.xp
    param, grad = p.arr, _grad_array(p)
    if group["maximize"]:
        grad = -grad
    lr, weight_decay = _value(group["lr"]), _value(group["weight_decay"])
    eps1, eps2 = map(_value, group["eps"])
    if eps1 is None:
        eps1 = finfo(p.dtype).eps
    step = _incr(state["step"])
    one_minus_beta2_t = step ** _value(group["beta2_decay"])
    rho_t = min(lr, 1 / (step ** 0.5))
    alpha = max(eps2, _norm(xp, param) / (param.size ** 0.5)) * rho_t
    if weight_decay != 0:
        _scale_(param, 1 - lr * weight_decay)
    if grad.ndim > 1:
        row_var, col_var = state["row_var"].arr, state["col_var"].arr
        _lerp_(xp, row_var, _mean_square(xp, grad, -1), one_minus_beta2_t)
        _lerp_(xp, col_var, _mean_square(xp, grad, -2), one_minus_beta2_t)
        var_estimate = row_var @ col_var
        var_estimate /= xp.maximum(row_var.mean(-2, keepdims=True), eps1)
    else:
        var_estimate = _lerp_(xp, state["variance"].arr, grad * grad, one_minus_beta2_t).copy()
    update = xp.maximum(var_estimate, eps1 * eps1, out=var_estimate)     # rsqrt_, then * grad
    xp.sqrt(update, out=update)
    xp.reciprocal(update, out=update)
    update *= grad
    # torch's single-tensor step passes alpha / denom as a Number, its foreach step as a tensor
    d = _value(group["d"]) if group["foreach"] else _number(group["d"], "add_(): argument 'alpha'")
    denom = max(1.0, _norm(xp, update) / ((update.size ** 0.5) * d))
    param -= (alpha / denom) * update
    _finish(p, state, _BUMPS[grad.ndim > 1, weight_decay != 0])


# torch's row_var.lerp_ and col_var.lerp_ (or variance.lerp_), and param.mul_(1 - lr *
# weight_decay)
_BUMPS = {(factored, decay): ((("row_var", 1), ("col_var", 1)) if factored
                              else (("variance", 1),))
          + (((None, 1),) if decay else ())
          for factored in (False, True) for decay in (False, True)}


def _norm(xp, a):
    """The 2-norm of an array as a Python float."""
    return float(xp.linalg.norm(a.ravel()))


def _mean_square(xp, grad, axis):
    """torch's `norm(grad, dim=axis, keepdim=True).square_().div_(grad.size(axis))`."""
    norm = xp.sqrt(xp.sum(xp.square(grad), axis, keepdims=True))
    return xp.square(norm, out=norm) / grad.shape[axis]


Adafactor._init_state = staticmethod(_init_adafactor)
Adafactor._update = staticmethod(adafactor_update)
