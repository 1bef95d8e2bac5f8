"""Muon: momentum orthogonalised by a Newton-Schulz iteration, for 2-D parameters
(torch.optim.Muon)."""
import math

import numpy as np

from .._dtype import BF16_NUM
from .._tensor import Tensor
from .optimizer import _scale_, _PerParameter, _finish, _grad_array, _lerp_, _value, _zeros_like

__all__ = ["Muon"]

# Keller Jordan's constants, as torch.optim._muon has them
EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


class Muon(_PerParameter):
    _UPGRADE = {}

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS,
                 ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")


def _init_muon(state, p, group):
    if p.is_complex():
        raise RuntimeError("Muon does not support complex parameters")
    state["momentum_buffer"] = _zeros_like(p.grad)


def muon_update(p, state, group):
    """One parameter's Muon step (torch's _single_tensor_muon)."""
    xp = p.be.xp
    grad = _grad_array(p)
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    momentum = _value(group["momentum"])
    buf = _lerp_(xp, state["momentum_buffer"].arr, grad, 1 - momentum)
    update = _lerp_(xp, grad.copy(), buf, momentum) if group["nesterov"] else buf
    # torch's update without nesterov is the buffer, whose .bfloat16() is itself for a bfloat16
    # parameter: the iteration's in-place normalisation then rewrites the buffer
    aliased = update is buf and buf.dtype.num == BF16_NUM
    update = _zeropower_via_newtonschulz(xp, update, group["ns_coefficients"],
                                         group["ns_steps"], _value(group["eps"]),
                                         buf if aliased else None)
    lr = _value(group["lr"])
    param = p.arr
    _scale_(param, 1 - lr * _value(group["weight_decay"]))
    param -= _adjust_lr(lr, group["adjust_lr_fn"], param.shape) * update.astype(param.dtype)
    _finish(p, state, _ALIASED_BUMPS if aliased else _BUMPS)


# torch's buf.lerp_ and param.mul_(1 - lr * weight_decay) before param.add_
_BUMPS = (("momentum_buffer", 1), (None, 1))
_ALIASED_BUMPS = (("momentum_buffer", 2), (None, 1))        # (and the buffer's div_)


def _bfloat16(xp, a):
    """Round to the nearest bfloat16 (ties to even), kept as float32: torch's NS iteration runs in
    bfloat16, and its CPU kernels compute each op in float32 and round the result once."""
    a = a.astype(np.float32)
    bits = a.view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))
               & np.uint32(0xFFFF0000)).view(np.float32)
    return xp.where(xp.isnan(a), a, rounded)


def _zeropower_via_newtonschulz(xp, grad, ns_coefficients, ns_steps, eps, aliased=None):
    """torch's quintic Newton-Schulz iteration towards the orthogonal factor of `grad`, on
    bfloat16 values; `aliased` (grad's bfloat16 array, torch's grad.bfloat16() itself) receives
    the normalised values as torch's div_ writes them."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in ns_coefficients)
    tall = grad.shape[0] > grad.shape[1]
    x = _bfloat16(xp, grad.T if tall else grad)
    norm = _bfloat16(xp, xp.linalg.norm(x.ravel()))
    x = _bfloat16(xp, x / xp.maximum(norm, _bfloat16(xp, xp.asarray(eps))))
    if aliased is not None:
        aliased[...] = (x.T if tall else x).astype(aliased.dtype)
    for _ in range(ns_steps):
        gram = _bfloat16(xp, x @ x.T)
        gram_update = _bfloat16(xp, b * gram + c * (gram @ gram))
        x = _bfloat16(xp, a * x + gram_update @ x)
    return x.T if tall else x


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    """Muon's learning-rate scaling for an A x B matrix ("original": Keller Jordan's)."""
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


Muon._init_state, Muon._update = staticmethod(_init_muon), staticmethod(muon_update)
