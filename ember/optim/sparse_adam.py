"""SparseAdam (torch.optim.SparseAdam): Adam whose moments move only at the rows a sparse
gradient touches (lazy Adam), with torch's arithmetic order."""
import math

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from .optimizer import Optimizer, _eval_closure, _finish, _sparse_add_, _value

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse_params.append([index, d_index])
                if p.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             "dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    @no_grad()
    def step(self, closure=None):
        """Perform a single optimization step."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not p.grad.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please "
                                       "consider Adam instead")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0           # a plain int in torch's SparseAdam
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                state["step"] += 1
                sparse_adam_update(p, state, group)
        return loss


def sparse_adam_update(p, state, group):
    """torch.optim._functional.sparse_adam for one parameter."""
    beta1, beta2 = map(_value, group["betas"])
    grad = p.grad.arr
    grad = (-grad if group.get("maximize", False) else grad).coalesce()
    vals = grad.values
    if vals.size == 0:
        return
    at = tuple(grad.indices)
    m, v = state["exp_avg"].arr, state["exp_avg_sq"].arr
    old_m = m[at]
    m_update = (vals - old_m) * (1 - beta1)
    _sparse_add_(m, grad._like(m_update))
    old_v = v[at]
    v_update = (vals * vals - old_v) * (1 - beta2)
    _sparse_add_(v, grad._like(v_update))
    numer = m_update + old_m
    denom = grad.xp.sqrt(v_update + old_v) + _value(group["eps"])
    step = state["step"]
    step_size = _value(group["lr"]) * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    _sparse_add_(p.arr, grad._like(-step_size * (numer / denom)))
    _finish(p, state, _BUMPS)


_BUMPS = (("exp_avg", 1), ("exp_avg_sq", 1))     # torch's exp_avg.add_, exp_avg_sq.add_
