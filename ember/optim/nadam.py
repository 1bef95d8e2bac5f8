"""NAdam: Adam with Nesterov momentum (torch.optim.NAdam)."""
from .optimizer import (_check_moment_args, _scale_, _update_moments, Optimizer, _addcdiv_,
                        _effective_grad, _finish, _for_chunks, _grad_array, _incr, _real,
                        _scalar_state, _use_grad_for_differentiable, _value, _zeros_like,
                        _weight_decay, _in_scalar_state, _add_number_, _with_number)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    _capturable_check = (("params, mu_products and state_steps", True),
                         ("params, mu_products, and state_steps", False))

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_moment_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state({"maximize": False, "foreach": None, "capturable": False,
                             "differentiable": False, "decoupled_weight_decay": False},
                            ("step", "mu_product"))

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        return self._step_each(closure, _init_nadam, nadam_update)


def nadam_update(p, state, group):
    """One parameter's NAdam step (torch's _single_tensor_nadam). `mu_product` is a 0-d state
    tensor of the scalar dtype (float32 by default) and is multiplied in that precision."""
    step = _incr(state["step"])
    lr, weight_decay = _value(group["lr"]), _weight_decay(group)
    beta1, beta2 = _in_scalar_state(group["betas"][0]), _value(group["betas"][1])
    momentum_decay = _in_scalar_state(group["momentum_decay"])
    bias_correction2 = 1 - beta2 ** step
    decay = 1.0
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        decay, weight_decay = 1 - lr * weight_decay, 0
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product_arr = state["mu_product"].arr
    mu_product_arr *= mu
    mu_product = float(mu_product_arr)
    mu_product_next = mu_product * mu_next
    grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
    avg_coef = (-lr * mu_next) / (1.0 - mu_product_next)
    _for_chunks(p.be.xp, _nadam_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["exp_avg"].arr),
                 _real(state["exp_avg_sq"].arr)),
                beta1, beta2, bias_correction2, _value(group["eps"]), grad_coef, avg_coef,
                weight_decay, decay, group["maximize"], bool(group["foreach"]))
    _finish(p, state, _BUMPS[decay != 1.0])


# torch's mu_product *= mu, exp_avg.lerp_, exp_avg_sq.mul_().addcmul_(), the two
# param.addcdiv_ (and param.mul_(1 - lr * weight_decay) when decoupled)
_BUMPS = {decoupled: ((None, 2 if decoupled else 1), ("mu_product", 1),
                      ("exp_avg", 1), ("exp_avg_sq", 2)) for decoupled in (False, True)}


def _nadam_kernel(xp, param, grad, exp_avg, exp_avg_sq, beta1, beta2, bias_correction2, eps,
                  grad_coef, avg_coef, weight_decay, decay, maximize, foreach):
    if decay != 1.0:
        _scale_(param, decay)
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _update_moments(xp, grad, exp_avg, exp_avg_sq, beta1, beta2, tmp)
    if foreach:     # torch's _multi_tensor_nadam: sqrt(v) / sqrt(1 - beta2^t)
        denom = _with_number(xp.divide, xp.sqrt(exp_avg_sq), bias_correction2 ** 0.5)
    else:           # _single_tensor_nadam: sqrt(v / (1 - beta2^t))
        denom = _with_number(xp.divide, exp_avg_sq, bias_correction2)
        xp.sqrt(denom, out=denom)
    _add_number_(denom, eps)
    _addcdiv_(xp, param, grad, denom, grad_coef, tmp)
    _addcdiv_(xp, param, exp_avg, denom, avg_coef, tmp)


def _init_nadam(state, p, group):
    state["step"] = _scalar_state(0.0, p, group["capturable"])
    state["mu_product"] = _scalar_state(1.0, p, group["capturable"])
    state["exp_avg"] = _zeros_like(p)
    state["exp_avg_sq"] = _zeros_like(p)
