"""Stochastic gradient descent, optionally with (Nesterov) momentum: torch.optim.SGD."""
from .._tensor import Tensor, _new, bump_version
from ._op_steps import foreach_step
from .optimizer import (_scale_, Optimizer, _add, _check_fused_once, _effective_grad,
                        _eval_closure, _finish, _for_chunks, _fused_versions, _grad_array,
                        _sparse_add_, _use_grad_for_differentiable, _value, _weight_decay, _number,
                        _low_float)

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
            _check_fused_once(self, group)
            update = _differentiable_sgd if group["differentiable"] else \
                foreach_step(self, group, sgd_update)
            if group["fused"]:
                update = _fused_versions(_fused(update, group))
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p] if group["momentum"] != 0 else None
                    update(p, state, group)
        return loss


def sgd_update(p, state, group):
    """One parameter's SGD step (torch's _single_tensor_sgd); `state` is None without momentum."""
    if p.grad.is_sparse:
        return _sparse_sgd(p, state, group)
    weight_decay = _weight_decay(group)
    buf, first = None, False
    momentum, dampening = _value(group["momentum"]), _value(group["dampening"])
    if momentum != 0:
        buf_t = state.get("momentum_buffer")
        first = buf_t is None
        if not first:       # torch's buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            dampening = _number(group["dampening"], "add_(): argument 'alpha'")
        if group["nesterov"]:   # torch's grad.add(buf, alpha=momentum)
            momentum = _number(group["momentum"], "add(): argument 'alpha'")
        if first:
            # torch's clone(grad): the buffer takes the gradient's layout
            buf_t = state["momentum_buffer"] = _new(p.be.xp.empty_like(p.grad.arr), p.be)
        buf = buf_t.arr
    # torch's foreach nesterov step adds the momentum into the gradient list: p.grad itself
    # where no maximize or weight decay made a copy of it
    into_grad = group["nesterov"] and group["foreach"] and not group["maximize"] and \
        weight_decay == 0
    _for_chunks(p.be.xp, _sgd_kernel, (p.arr, _grad_array(p), buf), _value(group["lr"]),
                momentum, dampening, weight_decay, group["nesterov"], group["maximize"], first,
                into_grad)
    if into_grad:
        bump_version(p.grad)
    _finish(p, state, () if first or buf is None else _SGD_BUMPS)


_SGD_BUMPS = (("momentum_buffer", 2),)


def _fused(update, group):
    """`update` as torch's fused kernel runs it: dense gradients and real parameters only."""
    if any(p.grad is not None and p.grad.is_sparse for p in group["params"]):
        raise RuntimeError("`_fused_sgd` does not support sparse gradients")

    def run(p, state, group):
        if p.is_complex():
            name = "ComplexFloat" if p.dtype.itemsize == 8 else "ComplexDouble"
            raise NotImplementedError(f'"fused_sgd_kernel" not implemented for \'{name}\'')
        update(p, state, group)
    return run


def _differentiable_sgd(p, state, group):
    """torch's _single_tensor_sgd in recorded tensor ops (differentiable=True): the step is part
    of the autograd graph; the first momentum buffer is a detached copy of the gradient. A
    sparse gradient's momentum steps unrecorded."""
    if p.grad.is_sparse and group["momentum"] != 0:
        return sgd_update(p, state, group)
    grad = -p.grad if group["maximize"] else p.grad
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if _requires_grad(weight_decay):        # as torch: into the gradient, in place
            grad = grad.addcmul_(p.clone(), weight_decay)
        else:
            grad = grad.add(p, alpha=_value(weight_decay))
    momentum = group["momentum"]
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.detach().clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
        grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
    lr = group["lr"]
    if _requires_grad(lr):
        p.addcmul_(grad, lr, value=-1)
    else:
        p.add_(grad, alpha=-_value(lr))


def _requires_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


def _sgd_kernel(xp, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                maximize, first, into_grad):
    # float32/float64: temporaries reused where grad is a new array (maximize, weight decay),
    # with the numbers _add makes; float16/bfloat16's rounding follows the operands' layout
    # (ops.elementwise._scalar_tails), so their temporaries stay as torch makes them
    own = (maximize or weight_decay != 0) and not _low_float(param.dtype)
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    step = grad
    if buf is not None:
        if first:                               # the buffer starts as a copy of the gradient
            buf[...] = grad
        else:
            _scale_(buf, momentum)
            if dampening:
                _add(xp, buf, grad, 1 - dampening, buf)
            else:
                buf += grad
        if nesterov:
            step = _add(xp, grad, buf, momentum, grad if into_grad or own else None)
            own = not into_grad and not _low_float(param.dtype)
        else:
            step, own = buf, False
    if own:     # param + step * -lr as _add computes it, the product made in step's array
        step *= -lr
        param += step
    else:
        _add(xp, param, step, -lr, param)


def _sparse_sgd(p, state, group):
    """torch's SGD with a sparse gradient: the momentum buffer is itself sparse (a clone of the
    first gradient, then buf * momentum + (1 - dampening) * grad, merged as torch's sparse
    add); a weight decay raises torch's add(sparse, dense) error."""
    grad = p.grad.arr
    if group["maximize"]:
        grad = -grad
    wd = _value(group["weight_decay"])
    if wd != 0:
        grad = grad + p.arr * wd        # raises as torch's grad.add(param, alpha=wd)
    momentum = _value(group["momentum"])
    if momentum != 0:
        buf_t = state.get("momentum_buffer")
        if buf_t is None:
            buf = grad.copy()
            state["momentum_buffer"] = _new(buf, p.be)
        else:
            buf = (buf_t.arr * momentum).add_sparse(grad, 1 - _value(group["dampening"]))
            buf_t.arr = buf
        grad = grad.add_sparse(buf, momentum) if group["nesterov"] else buf
    _sparse_add_(p.arr, grad, -_value(group["lr"]))
    _finish(p)
