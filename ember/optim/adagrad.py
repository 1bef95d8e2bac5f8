"""Adagrad (torch.optim.Adagrad)."""
from .._tensor import Tensor
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _check_fused_once, _effective_grad,
                        _eval_closure, _finish, _for_chunks, _full_like, _grad_array, _incr,
                        _real, _scalar_state, _sparse_add_, _use_grad_for_differentiable, _value,
                        _weight_decay, _number, _add_number_,
                        _with_number)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    _lr_number_error = "addcdiv_(): argument 'value' must be Number, not Tensor"
    _sparse_grads = True
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:          # torch creates Adagrad's state eagerly
            for p in group["params"]:
                self._init_state(self.state[p], p, group)

    def _init_state(self, state, p, group):
        fused = group["fused"]
        state["step"] = _scalar_state(0.0, p, bool(fused), fused)
        init = _number(self.defaults["initial_accumulator_value"],
                       "full_like(): argument 'fill_value' (position 2)")
        state["sum"] = _full_like(p, complex(init, init) if p.is_complex() else init)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            fused = group.setdefault("fused", None)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar_state(p_state["step"], p, bool(fused), fused)

    def share_memory(self):
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            _check_fused_once(self, group)
            if group["fused"] and any(p.grad is not None and (p.grad.is_sparse or p.is_complex())
                                      for p in group["params"]):
                raise RuntimeError("`fused` does not support sparse grad or complex param")
        self._step_each(None, self._init_state, adagrad_update)
        return loss


def adagrad_update(p, state, group):
    """One parameter's Adagrad step (torch's _single_tensor_adagrad)."""
    step = _incr(state["step"])
    if p.grad.is_sparse:
        return _sparse_adagrad(p, state, group, step)
    weight_decay = _weight_decay(group)
    _for_chunks(p.be.xp, _adagrad_kernel,
                (_real(p.arr), _real(_grad_array(p)), _real(state["sum"].arr)),
                _clr(group, step, "addcdiv_(): argument 'value'"), _value(group["eps"]),
                weight_decay, group["maximize"], bool(group["foreach"]))
    _finish(p, state, _BUMPS)


_BUMPS = (("sum", 1),)     # torch's state_sum.addcmul_


def _clr(group, step, what):
    """torch's `clr = lr / (1 + (step - 1) * lr_decay)`, passed as the Number argument `what`
    (its foreach step takes a tensor)."""
    lr_decay = _value(group["lr_decay"]) if group["foreach"] else \
        _number(group["lr_decay"], what)
    return _value(group["lr"]) / (1 + (step - 1) * lr_decay)


def _adagrad_kernel(xp, param, grad, state_sum, clr, eps, weight_decay, maximize, foreach):
    grad = _effective_grad(xp, grad, param, maximize, weight_decay)
    tmp = xp.empty_like(param)
    _addcmul_(xp, state_sum, grad, grad, 1, tmp)
    std = _add_number_(xp.sqrt(state_sum), eps)
    if foreach:     # torch's foreach path: numerator = grad * -clr, then addcdiv_ with value 1
        _addcdiv_(xp, param, _with_number(xp.multiply, grad, -clr), std, 1, tmp)
    else:
        _addcdiv_(xp, param, grad, std, -clr, tmp)


def _sparse_adagrad(p, state, group, step):
    """torch's sparse branch: the accumulator and the parameter change only at the gradient's
    (coalesced) indices."""
    if group["weight_decay"] != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    g = p.grad.arr
    g = (-g if group["maximize"] else g).coalesce()
    at, vals, state_sum = tuple(g.indices), g.values, state["sum"].arr
    _sparse_add_(state_sum, g._like(vals * vals))
    std = g.xp.sqrt(state_sum[at]) + _value(group["eps"])
    _sparse_add_(p.arr, g._like(vals / std), -_clr(group, step, "add_(): argument 'alpha'"))
    _finish(p, state, _BUMPS)      # (torch's state_sum.add_ of the sparse squares)
