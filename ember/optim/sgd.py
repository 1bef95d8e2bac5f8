"""Stochastic gradient descent, optionally with (Nesterov) momentum: torch.optim.SGD."""
from .._tensor import Tensor, _new
from .optimizer import (Optimizer, _eval_closure, _finish, _grad_array,
                        _use_grad_for_differentiable, _value)

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p] if group["momentum"] != 0 else None
                    sgd_update(p, state, group)
        return loss


def sgd_update(p, state, group):
    """One parameter's SGD step (torch's _single_tensor_sgd); `state` is None without momentum."""
    xp, param = p.be.xp, p.arr
    lr, momentum = _value(group["lr"]), group["momentum"]
    weight_decay, dampening = _value(group["weight_decay"]), group["dampening"]
    grad = _grad_array(p, group)
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf_t = state.get("momentum_buffer")
        if buf_t is None:
            buf = grad.copy()
            state["momentum_buffer"] = _new(buf, p.be)
        else:
            buf = buf_t.arr
            buf *= momentum
            buf += (1 - dampening) * grad
        grad = grad + momentum * buf if group["nesterov"] else buf
    param += xp.multiply(grad, -lr)
    _finish(p)
