"""Losses that are one node each in torch (MseLossBackward0, SmoothL1LossBackward0,
HuberLossBackward0, SoftMarginLossBackward0): the elementwise loss reduced as ember's sum and
mean reduce (torch's order), the gradient by torch's CPU kernel formula, `norm * d * grad` with
norm = 1/numel (2/numel for mse) under mean. Input and target arrive broadcast to one shape."""
import numpy as np

from ..ops._apply import apply
from ..ops._registry import op
from ..ops.reduce import _sum_arrays


def _reduce(xp, loss, reduction):
    if reduction == "none":
        return loss
    total = _sum_arrays(xp, loss, None, False)      # 2-byte floats: a float32 sum
    if reduction == "sum":
        return total.astype(loss.dtype, copy=False)
    if not loss.size:
        return xp.full((), np.nan, loss.dtype)
    return (total / loss.size).astype(loss.dtype, copy=False)


def _norm(x, reduction, scale=1.0):
    """torch's `norm` in the kernel's compute type."""
    n = scale / x.size if reduction == "mean" and x.size else scale
    return x.dtype.type(n)


def _mse(xp, x, y):
    d = x - y
    return d * d


def _mse_grad(xp, x, y, reduction):
    return _norm(x, reduction, 2.0) * (x - y)


def _smooth_l1(xp, x, y, beta):
    z = xp.abs(x - y)
    return xp.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def _smooth_l1_grad(xp, x, y, reduction, beta):
    d = x - y
    sign = xp.where(d > 0, 1.0, -1.0).astype(d.dtype)
    return _norm(x, reduction) * xp.where(xp.abs(d) >= beta, sign, d / beta)


def _huber(xp, x, y, delta):
    z = xp.abs(x - y)
    return xp.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


def _huber_grad(xp, x, y, reduction, delta):
    d = x - y
    sign = xp.where(d > 0, 1.0, -1.0).astype(d.dtype)
    return _norm(x, reduction) * xp.where(xp.abs(d) >= delta, sign * delta, d)


def _f32(*arrays):
    return tuple(a.astype(np.float32) for a in arrays)


def _soft_margin(xp, x, y):
    return xp.log1p(xp.exp(-x * y))


def _soft_margin_grad(xp, x, y, reduction):
    z = xp.exp(-y * x)
    return y * z * -_norm(x, reduction) / (z + 1)


def _loss_op(name, node, loss, grad, half_fwd_f32, half_bwd_f32, target_grad=True):
    """On float16/bfloat16 torch's kernels differ: some compute the whole formula in float32
    and round once (`half_*_f32`), others round after every operation, as NumPy's own
    float16 arithmetic does."""
    @op(name, node=node)
    def fwd(xp, x, y, reduction, *params):
        dt = x.dtype
        if dt.itemsize == 2 and half_fwd_f32:
            elementwise = loss(xp, *_f32(x, y), *params).astype(dt)
        else:
            elementwise = loss(xp, x, y, *params)
        return _reduce(xp, elementwise, reduction), (x, y, reduction, params)

    @fwd.vjp
    def _(xp, g, x, y, reduction, params):
        # the target's gradient is the kernel run with input and target swapped, as torch's
        dt = x.dtype
        if dt.itemsize == 2 and half_bwd_f32:
            x, y, g = _f32(x, y, g)
        gx = (grad(xp, x, y, reduction, *params) * g).astype(dt, copy=False)
        if not target_grad:
            return gx, None
        return gx, (grad(xp, y, x, reduction, *params) * g).astype(dt, copy=False)

    return lambda x, y, reduction, *params: apply(fwd, (x, y), (reduction, *params))


mse_loss = _loss_op("mse_loss", "MseLossBackward0", _mse, _mse_grad, False, False)
smooth_l1_loss = _loss_op("smooth_l1_loss", "SmoothL1LossBackward0", _smooth_l1, _smooth_l1_grad,
                          False, True)
huber_loss = _loss_op("huber_loss", "HuberLossBackward0", _huber, _huber_grad, True, False)
soft_margin_loss = _loss_op("soft_margin_loss", "SoftMarginLossBackward0", _soft_margin,
                            _soft_margin_grad, False, False, target_grad=False)
