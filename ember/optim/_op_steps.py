"""Optimizer steps written in ember's tensor ops, where torch's arithmetic is its ops' own:
the steps with foreach=True of float16/bfloat16 parameters (torch's _multi_tensor_* functions,
one parameter at a time; see foreach_step) and
Adam's single-tensor step with tensor betas (their powers and bias corrections float32
tensors, beta1 cast to the parameter's dtype).

torch's CPU `_foreach_*` ops run the per-tensor op on each tensor, so a foreach step is its
op sequence applied to each parameter; that sequence differs from the single-tensor step's
(Adam's `sqrt(v) / bc2_sqrt + eps` against its lerp/addcmul order, RAdam's reciprocal of
`(sqrt(v) + eps) / (bc2_sqrt * lr * rect / bc1)`, SGD's nesterov step written into the
gradient itself...). Each function below is torch's code (capturable=False) with the lists
taken apart; the ops are ember's, which round as torch's kernels do."""
from functools import partial

from .._foreach import in_dtype as _in_dtype
from ..ops.creation import as_tensor as _as_tensor
from ..ops.elementwise import where as _where
from ..ops.shape import view_as_real as _view_as_real
from .optimizer import _incr, _low_float, _to_scalar, _value, _weight_decay

__all__ = ["foreach_step"]


def _real(*ts):
    """torch's _view_as_real: complex tensors as real pairs."""
    return [_view_as_real(t) if t is not None and t.is_complex() else t for t in ts]


def _mul_(t, number):
    """torch's in-place `_foreach_mul_(tensors, number)`: unlike t.mul_(number), it rounds the
    number to a float16/bfloat16 tensor's dtype first."""
    return t.mul_(_in_dtype(t, number))


def _grad(p, group, wd=None, real=True):
    """The gradient the step uses (viewed as real pairs with `real`): negated for maximize,
    the coupled weight decay added (torch writes it into the negated copy, else makes a new
    tensor: the same numbers)."""
    g, param = (_real(p.grad, p) if real else (p.grad, p))
    if group["maximize"]:
        g = g.neg()
    wd = _weight_decay(group) if wd is None else wd
    if wd != 0:
        g = g.add(param, alpha=wd)
    return g


def _decay(group):
    """(coupled weight decay, decoupled factor or None) of the Adam family."""
    wd = _weight_decay(group)
    if wd != 0 and group.get("decoupled_weight_decay"):
        return 0, 1 - _value(group["lr"]) * wd
    return wd, None


def sgd(p, state, group, every=True):
    """every: whether all the group's parameters stepped had a momentum buffer (torch's
    foreach multiply then, else each buffer's own mul_)."""
    g = _grad(p, group, real=False)     # (torch's foreach SGD keeps complex tensors)
    momentum = _value(group["momentum"])
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.detach().clone()
        else:
            (_mul_(buf, momentum) if every else buf.mul_(momentum)).add_(
                g, alpha=1 - _value(group["dampening"]))
        if group["nesterov"]:       # into the gradient itself, where it is p.grad
            g.add_(buf, alpha=momentum)
        else:
            g = buf
    p.add_(g, alpha=-_value(group["lr"]))


def adam(p, state, group):
    step = _incr(state["step"])
    wd, decay = _decay(group)
    lr, eps = _value(group["lr"]), _value(group["eps"])
    beta1, beta2 = (_value(b) for b in group["betas"])
    param, exp_avg, exp_avg_sq, max_sq = _real(p, state["exp_avg"], state["exp_avg_sq"],
                                               state.get("max_exp_avg_sq"))
    g = _grad(p, group, wd)
    if decay is not None:
        _mul_(param, decay)
    exp_avg.lerp_(g, 1 - beta1)
    _mul_(exp_avg_sq, beta2).addcmul_(g, g, value=1 - beta2)
    step_size = (lr / (1 - beta1 ** step)) * -1
    if group["amsgrad"]:
        max_sq.copy_(max_sq.maximum(exp_avg_sq))
        denom = max_sq.sqrt()
    else:
        denom = exp_avg_sq.sqrt()
    denom.div_((1 - beta2 ** step) ** 0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=step_size)


def adam_tensor_betas(p, state, group):
    """torch's _single_tensor_adam (capturable=False) with tensor betas."""
    step = _incr(state["step"])
    lr, eps, wd = _to_scalar(group["lr"]), _value(group["eps"]), _weight_decay(group)
    beta1, beta2 = group["betas"]
    grad = p.grad.neg() if group["maximize"] else p.grad
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        else:
            grad = grad.add(p, alpha=wd)
    param, grad, exp_avg, exp_avg_sq, max_sq = _real(p, grad, state["exp_avg"],
                                                     state["exp_avg_sq"],
                                                     state.get("max_exp_avg_sq"))
    exp_avg.lerp_(grad, 1 - beta1.to(dtype=param.dtype))
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if group["amsgrad"]:
        max_sq.copy_(max_sq.maximum(exp_avg_sq))
        exp_avg_sq = max_sq
    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


def radam(p, state, group):
    step = _incr(state["step"])
    wd, decay = _decay(group)
    lr, eps = _value(group["lr"]), _value(group["eps"])
    beta1, beta2 = (_value(b) for b in group["betas"])
    param, exp_avg, exp_avg_sq = _real(p, state["exp_avg"], state["exp_avg_sq"])
    g = _grad(p, group, wd)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / (1 - beta2 ** step)
    if decay is not None:
        _mul_(param, decay)
    exp_avg.lerp_(g, 1 - beta1)
    _mul_(exp_avg_sq, beta2).addcmul_(g, g, value=1 - beta2)
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) \
        ** 0.5 if rho_t > 5 else 0
    bc1 = 1 - beta1 ** step
    unrect_step_size = (lr * (0 if rect > 0 else 1.0) / bc1) * -1
    bc2 = ((1 - beta2 ** step) ** 0.5) * (lr * rect / bc1) * -1
    buffer = exp_avg_sq.sqrt().add_(eps).div_(bc2).reciprocal_().add_(unrect_step_size)
    param.addcmul_(exp_avg, buffer)


def nadam(p, state, group):
    step = _incr(state["step"])
    wd, decay = _decay(group)
    lr, eps = _value(group["lr"]), _value(group["eps"])
    beta1, beta2 = (_value(b) for b in group["betas"])
    momentum_decay = _value(group["momentum_decay"])
    param, exp_avg, exp_avg_sq = _real(p, state["exp_avg"], state["exp_avg_sq"])
    g = _grad(p, group, wd)
    if decay is not None:
        _mul_(param, decay)
    exp_avg.lerp_(g, 1 - beta1)
    _mul_(exp_avg_sq, beta2).addcmul_(g, g, value=1 - beta2)
    denom = exp_avg_sq.sqrt()
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product = state["mu_product"]
    mu_product.mul_(mu)
    denom.div_((1 - beta2 ** step) ** 0.5).add_(eps)
    mp = mu_product.item()
    param.addcdiv_(g, denom, value=(lr * (1.0 - mu) / (1.0 - mp)) * -1)
    param.addcdiv_(exp_avg, denom, value=(lr * mu_next / (1.0 - mp * mu_next)) * -1)


def adamax(p, state, group):
    step = _incr(state["step"])
    lr, eps = _value(group["lr"]), _value(group["eps"])
    beta1, beta2 = (_value(b) for b in group["betas"])
    param, exp_avg, exp_inf = _real(p, state["exp_avg"], state["exp_inf"])
    g = _grad(p, group)
    exp_avg.lerp_(g, 1 - beta1)
    _mul_(exp_inf, beta2)
    g = g.abs().add_(eps)
    exp_inf.copy_(exp_inf.maximum(g))
    param.addcdiv_(exp_avg, exp_inf, value=(lr / (1 - beta1 ** step)) * -1)


def adagrad(p, state, group):
    step = _incr(state["step"])
    lr, lr_decay = _value(group["lr"]), _value(group["lr_decay"])
    param, state_sum = _real(p, state["sum"])
    g = _grad(p, group)
    minus_clr = -lr / (1 + (step - 1) * lr_decay)
    state_sum.addcmul_(g, g, value=1)
    std = state_sum.sqrt().add_(_value(group["eps"]))
    # (torch multiplies in place where g is its own copy: the number rounded, see _mul_)
    own = _weight_decay(group) != 0 or group["maximize"]
    param.addcdiv_(_mul_(g, minus_clr) if own else g.mul(minus_clr), std)


def adadelta(p, state, group):
    _incr(state["step"])
    rho, eps = _value(group["rho"]), _value(group["eps"])
    param, square_avg, acc_delta = _real(p, state["square_avg"], state["acc_delta"])
    g = _grad(p, group)
    _mul_(square_avg, rho).addcmul_(g, g, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    deltas = acc_delta.add(eps).sqrt_().div_(std).mul_(g)
    _mul_(acc_delta, rho).addcmul_(deltas, deltas, value=1 - rho)
    param.add_(deltas, alpha=-_value(group["lr"]))


def rmsprop(p, state, group):
    _incr(state["step"])
    alpha, eps, lr = _value(group["alpha"]), _value(group["eps"]), _value(group["lr"])
    param, square_avg = _real(p, state["square_avg"])
    g = _grad(p, group)
    _mul_(square_avg, alpha).addcmul_(g, g, value=1 - alpha)
    if group["centered"]:
        grad_avg, = _real(state["grad_avg"])
        grad_avg.lerp_(g, 1 - alpha)
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_().add_(eps)
    else:
        avg = square_avg.sqrt().add_(eps)
    if _value(group["momentum"]) > 0:
        buf, = _real(state["momentum_buffer"])
        _mul_(buf, _value(group["momentum"])).addcdiv_(g, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(g, avg, value=-lr)


def asgd(p, state, group):
    step_t = state["step"]
    _incr(step_t)
    lr, lambd, alpha, t0 = (_value(group[k]) for k in ("lr", "lambd", "alpha", "t0"))
    param, ax = _real(p, state["ax"])
    g = _grad(p, group)
    g = g.add(param, alpha=lambd)
    param.addcmul_(g, state["eta"], value=-1)
    ax.addcmul_(param.sub(ax), state["mu"])
    # the step tensor's own (float32) arithmetic, then torch.as_tensor: the default dtype
    state["eta"].copy_(_as_tensor(lr / ((1 + lambd * lr * step_t) ** alpha)))
    state["mu"].copy_(_as_tensor(1 / max(1, step_t.item() - t0)))


def rprop(p, state, group):
    _incr(state["step"])
    etaminus, etaplus = map(_value, group["etas"])
    lo, hi = map(_value, group["step_sizes"])
    param, g, prev, step_size = _real(p, p.grad, state["prev"], state["step_size"])
    signs = g.mul(prev)
    if group["maximize"]:
        signs.neg_()
    prev.copy_(g)
    if group["maximize"]:
        prev.neg_()
    signs.sign_()
    signs[signs.gt(0)] = etaplus
    signs[signs.lt(0)] = etaminus
    signs[signs.eq(0)] = 1
    step_size.mul_(signs).clamp_(lo, hi)
    prev.copy_(_where(signs.eq(etaminus), 0, prev))
    param.addcmul_(prev.sign(), step_size, value=-1)


_STEPS = {"SGD": sgd, "Adam": adam, "AdamW": adam, "RAdam": radam, "NAdam": nadam,
          "Adamax": adamax, "Adagrad": adagrad, "Adadelta": adadelta, "RMSprop": rmsprop,
          "ASGD": asgd, "Rprop": rprop}


def foreach_step(optimizer, group, update):
    """The per-parameter step of `group`: torch's foreach step for float16/bfloat16 parameters
    where torch runs one (foreach asked for, not differentiable, not capturable: torch's
    capturable step computes its numbers in tensors, not done here), else `update`.

    float32/float64 parameters keep the single-tensor arithmetic: in tensor ops, with float32's
    fused multiply-adds through float64, a foreach step cost 3.5-5x the update's (Adam on a
    784-256-256-10 MLP: 2.3 ms against 0.67 ms), and those dtypes' steps differ from torch's in
    the last bit anyway (see optimizer._add). Sparse gradients always take `update`."""
    if not group.get("foreach") or group.get("differentiable") or group.get("capturable"):
        return update
    step = next((_STEPS[c.__name__] for c in type(optimizer).__mro__ if c.__name__ in _STEPS),
                None)
    if step is None:
        return update

    if step is sgd and _value(group["momentum"]) != 0:
        step = partial(sgd, every=all(optimizer.state[p].get("momentum_buffer") is not None
                                      for p in group["params"] if p.grad is not None))

    def run(p, state, group):
        (step if _low_float(p.arr.dtype) and not p.grad.is_sparse else update)(p, state, group)
    return run
