"""Adam (and, with decoupled weight decay, AdamW): torch.optim.Adam."""
import functools

import numpy as np

from .._tensor import Tensor, bump_version
from ._op_steps import adam_tensor_betas
from .optimizer import (_check_moment_args, _scale_, _update_moments, Optimizer, _addcdiv_,
                        _device_dtype_check_for_fused, _effective_grad, _finish, _for_chunks,
                        _grad_array, _incr, _real, _scalar_state, _to_scalar,
                        _use_grad_for_differentiable, _value, _zeros_like, _weight_decay,
                        _low_float, _with_number, _step_small_together)

__all__ = ["Adam", "adam_update"]


def _check_adam_args(lr, betas, eps, weight_decay, foreach, capturable):
    if isinstance(lr, Tensor):
        if foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
    _check_moment_args(lr, betas, eps, weight_decay)
    if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, b in enumerate(betas):
        if isinstance(b, Tensor):
            if foreach and not capturable:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False "
                                 "and foreach=True")
            if b.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay, foreach, capturable)
        defaults = dict(lr=lr, betas=tuple(map(_to_scalar, betas)), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            fused = group.setdefault("fused", None)
            on_device = group["capturable"] or bool(fused)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar_state(p_state["step"], p, on_device, fused)

    def _init_state(self, state, p, group):
        fused = group["fused"]
        if fused:
            _device_dtype_check_for_fused(p)
        state["step"] = _scalar_state(0.0, p, group["capturable"] or bool(fused), fused)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        return self._step_each(closure, self._init_state, adam_update, _adam_batched)

    def _differentiable_rule(self, update, group):
        # real parameters with number betas: torch's differentiable branch in tensor ops
        recorded = super()._differentiable_rule(update, group)
        if isinstance(group["betas"][0], Tensor) or update is not adam_update:
            return recorded

        def run(p, state, group):
            (recorded if p.is_complex() or p.grad.is_sparse else _differentiable_adam)(
                p, state, group)
        return run


def adam_update(p, state, group):
    """One parameter's Adam/AdamW step (torch's _single_tensor_adam), in place on the arrays.

    A backend may register a fused kernel, `kernels["adam"](grad, step_size_hat, beta1, beta2,
    eps_hat, weight_decay, param, exp_avg, exp_avg_sq)` (see ember/backends/cuda_kernels.py):
    one launch doing the (coupled) weight decay, both moment updates and
    `param -= step_size_hat * m / (sqrt(v) + eps_hat)`, where `step_size_hat = lr *
    sqrt(bc2) / bc1` and `eps_hat = eps * sqrt(bc2)`: torch's update, rearranged."""
    if isinstance(group["betas"][0], Tensor) and not group["capturable"]:
        adam_tensor_betas(p, state, group)
        return
    xp = p.be.xp
    param, grad = _real(p.arr), _real(_grad_array(p))
    exp_avg, exp_avg_sq = _real(state["exp_avg"].arr), _real(state["exp_avg_sq"].arr)
    lr, eps, weight_decay = _value(group["lr"]), _value(group["eps"]), _weight_decay(group)
    beta1, beta2 = (_value(b) for b in group["betas"])
    decay = 1.0            # decoupled weight decay scales the parameter first
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        decay, weight_decay = 1 - lr * weight_decay, 0
    step_t = state["step"]
    on_device = p.be.kernels.get("adam_capturable")
    if on_device is not None and step_t.be is p.be and not group["amsgrad"]:
        step_t.arr += 1     # capturable: the step count never leaves the GPU
        bump_version(step_t)
        if decay != 1.0:
            _scale_(param, decay)
        on_device(-grad if group["maximize"] else grad, step_t.arr, lr, beta1, beta2, eps,
                  weight_decay, param, exp_avg, exp_avg_sq)
        _finish(p, state, _ADAM_BUMPS[False, decay != 1.0])
        return
    step = _incr(step_t)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    fused = p.be.kernels.get("adam")
    if fused is not None and not group["amsgrad"]:
        if decay != 1.0:
            _scale_(param, decay)
        fused(-grad if group["maximize"] else grad, step_size * bias_correction2_sqrt, beta1,
              beta2, eps * bias_correction2_sqrt, weight_decay, param, exp_avg, exp_avg_sq)
    else:
        max_exp_avg_sq = _real(state["max_exp_avg_sq"].arr) if group["amsgrad"] else None
        _for_chunks(xp, _adam_kernel, (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq),
                    beta1, beta2, step_size, bias_correction2_sqrt, eps, weight_decay, decay,
                    group["maximize"])
    _finish(p, state, _ADAM_BUMPS[group["amsgrad"], decay != 1.0])


def _adam_batched(pairs, group):
    """Adam's batch hook (optimizer._step_small_together): number betas, no amsgrad."""
    if group["amsgrad"] or isinstance(group["betas"][0], Tensor):
        return pairs
    return _step_small_together(pairs, ("exp_avg", "exp_avg_sq"),
                                functools.partial(_adam_together, group), by_step=True)


def _adam_together(group, items, param, grad, exp_avg, exp_avg_sq):
    """adam_update of each (parameter, state) of `items`, on their concatenated arrays."""
    lr, eps, weight_decay = _value(group["lr"]), _value(group["eps"]), _weight_decay(group)
    beta1, beta2 = (_value(b) for b in group["betas"])
    decay = 1.0
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        decay, weight_decay = 1 - lr * weight_decay, 0
    for _, state in items:
        step = _incr(state["step"])
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    _for_chunks(np, _adam_kernel, (param, grad, exp_avg, exp_avg_sq, None), beta1, beta2,
                lr / bias_correction1, bias_correction2_sqrt, eps, weight_decay, decay,
                group["maximize"])
    bumps = _ADAM_BUMPS[False, decay != 1.0]
    for p, state in items:
        _finish(p, state, bumps)


# torch's exp_avg.lerp_, exp_avg_sq.mul_().addcmul_(), torch.maximum(..., out=max_exp_avg_sq)
# with amsgrad, and param.mul_(1 - lr * weight_decay) when decoupled (_incr counts step_t += 1)
_ADAM_BUMPS = {(amsgrad, decoupled): (("exp_avg", 1), ("exp_avg_sq", 2))
               + ((("max_exp_avg_sq", 1),) if amsgrad else ())
               + (((None, 1),) if decoupled else ())
               for amsgrad in (False, True) for decoupled in (False, True)}


def _adam_kernel(xp, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, step_size,
                 bias_correction2_sqrt, eps, weight_decay, decay, maximize):
    if decay != 1.0:
        _scale_(param, decay)
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _update_moments(xp, grad, exp_avg, exp_avg_sq, beta1, beta2, tmp)
    if max_exp_avg_sq is not None:                  # amsgrad
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = xp.sqrt(max_exp_avg_sq)
    else:
        denom = xp.sqrt(exp_avg_sq)
    if _low_float(denom.dtype):     # (torch divides and adds the numbers in float32)
        denom = _with_number(np.add, _with_number(np.divide, denom, bias_correction2_sqrt), eps)
    else:
        denom /= bias_correction2_sqrt
        denom += eps
    _addcdiv_(xp, param, exp_avg, denom, -step_size, tmp)


def _differentiable_adam(p, state, group):
    """torch's _single_tensor_adam for differentiable=True (real parameter, number betas), in
    recorded tensor ops: the bias corrections are float32 tensor arithmetic on the step count
    (1 - beta1 ** step_t), and the update is exp_avg / (sqrt(v) / (bc2_sqrt * -step_size) +
    eps / -step_size), as torch's."""
    lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    grad = -p.grad if group["maximize"] else p.grad
    exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
    step_t += 1
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        elif isinstance(wd, Tensor) and wd.requires_grad:
            grad = grad.addcmul_(p.clone(), wd)
        else:
            grad = grad.add(p, alpha=_value(wd))
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1 ** step_t
    bias_correction2 = 1 - beta2 ** step_t
    step_size_neg = (lr / bias_correction1).neg()
    bias_correction2_sqrt = bias_correction2.sqrt()
    if group["amsgrad"]:
        max_sq = state["max_exp_avg_sq"]
        max_sq.copy_(max_sq.clone().maximum(exp_avg_sq))
        exp_avg_sq = max_sq
    denom = (exp_avg_sq.sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(
        eps / step_size_neg)
    p.addcdiv_(exp_avg.clone(), denom)
