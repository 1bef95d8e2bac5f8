"""Rprop: resilient backpropagation, per-element step sizes from gradient signs
(torch.optim.Rprop)."""
from .._tensor import Tensor
from .optimizer import (_PerParameter, _finish, _for_chunks, _full_like, _grad_array, _incr, _real,
                        _scalar_state, _value, _zeros_like)

__all__ = ["Rprop"]


class Rprop(_PerParameter):
    _capturable_check = (("params and state_steps", True),) * 2

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)


def rprop_update(p, state, group):
    """One parameter's Rprop step (torch's _single_tensor_rprop)."""
    _incr(state["step"])
    etaminus, etaplus = map(_value, group["etas"])
    lo, hi = map(_value, group["step_sizes"])
    _for_chunks(p.be.xp, _rprop_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["prev"].arr),
                 _real(state["step_size"].arr)),
                etaminus, etaplus, lo, hi, group["maximize"])
    _finish(p, state, _BUMPS[bool(group["foreach"]), group["maximize"]])


# torch's step_size.mul_().clamp_(), prev.copy_(grad) (its foreach step: prev
# written by the sign product's zeroing and the copy, and negated first for maximize)
_BUMPS = {(foreach, maximize): (("step_size", 2),
                                ("prev", 2 + maximize if foreach else 1))
          for foreach in (False, True) for maximize in (False, True)}


def _rprop_kernel(xp, param, grad, prev, step_size, etaminus, etaplus, lo, hi, maximize):
    grad = -grad if maximize else grad.copy()
    sign = xp.sign(grad * prev)
    factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1)).astype(param.dtype)
    step_size *= factor
    xp.clip(step_size, lo, hi, out=step_size)
    grad[factor == etaminus] = 0            # a sign change: no step, and no memory of it
    param -= xp.sign(grad) * step_size
    prev[...] = grad


def _init_rprop(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["prev"] = _zeros_like(p)
    lr = group["lr"]
    if getattr(lr, "requires_grad", False):     # torch's full_like refuses it, grad mode or not
        raise TypeError("full_like(): argument 'fill_value' (position 2) must be Number, "
                        "not Tensor")
    lr = _value(lr)
    # torch's full_like(grad, lr): the gradient's layout
    state["step_size"] = _full_like(p.grad, complex(lr, lr) if p.arr.dtype.kind == "c" else lr)


Rprop._init_state, Rprop._update = staticmethod(_init_rprop), staticmethod(rprop_update)
