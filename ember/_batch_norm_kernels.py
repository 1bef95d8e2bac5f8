"""The kernels torch's SyncBatchNorm is built from (torch.batch_norm_stats, _elemt,
_gather_stats[_with_counts], _backward_reduce, _backward_elemt), batch_norm_update_stats, and
torch.native_norm.

torch has the SyncBatchNorm kernels for CUDA only: on CPU they raise its dispatcher's
NotImplementedError, and so do ember's; elsewhere (CUDA, the mock device) they compute what
torch's CUDA kernels compute (Normalization.cuh): statistics over every dim but 1, in float32
for float16 / bfloat16 input. batch_norm_update_stats runs on CPU too. native_norm has only
sparse kernels: the norm of a sparse COO tensor's values (full reductions only).

None of these has a derivative in torch: with an input that requires grad their outputs get
torch's NotImplemented node, whose backward refuses."""
import numpy as np

from ._kernel_dtypes import is_reduced, not_implemented, tname
from ._sparse_coo import not_implemented as no_kernel
from ._tensor import bump_version
from .ops._apply import apply
from .ops._dims import wrap_dim
from .ops._registry import op, refused_backward


def _kernel(name, n_out):
    """Register `fwd` as an op with torch's NotImplemented node."""
    def register(fwd):
        return op(name, saves=None, n_out=n_out, node="torch::autograd::NotImplemented")(fwd) \
            .vjp(refused_backward(name))
    return register


def _cuda_only(name, t):
    if t.be.name == "cpu":
        raise no_kernel(name, kind="")


def _acc(dt):
    return np.dtype(np.float32) if is_reduced(dt) else dt


def _channel(a, ndim):
    """A per-channel (C,) array shaped to broadcast against (N, C, *)."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _reduce_dims(ndim):
    return (0,) + tuple(range(2, ndim))


# ---- forward statistics ----------------------------------------------------------------------
@_kernel("batch_norm_stats", 2)
def _stats(xp, x, eps):
    acc = _acc(x.dtype)
    x = x.astype(acc, copy=False)
    dims = _reduce_dims(x.ndim)
    mean = x.mean(dims)
    var = ((x - _channel(mean, x.ndim)) ** 2).mean(dims)
    return (xp.asarray(mean), xp.asarray(1 / xp.sqrt(var + eps)).astype(acc, copy=False)), ()


def batch_norm_stats(input, eps):
    """(mean, invstd) per channel (dim 1): invstd = 1 / sqrt(biased var + eps)."""
    _cuda_only("batch_norm_stats", input)
    wrap_dim(1, input.dim())
    return apply(_stats, (input,), (eps,))


@_kernel("batch_norm_elemt", 1)
def _elemt(xp, x, weight, bias, mean, invstd):
    n = x.ndim
    y = (x - _channel(mean, n)) * _channel(invstd, n)
    if weight is not None:
        y = y * _channel(weight, n)
    if bias is not None:
        y = y + _channel(bias, n)
    return y.astype(x.dtype, copy=False), ()


def batch_norm_elemt(input, weight, bias, mean, invstd, eps):
    """(input - mean) * invstd * weight + bias, per channel."""
    _cuda_only("batch_norm_elemt", input)
    return apply(_elemt, (input, weight, bias, mean, invstd))


@_kernel("batch_norm_gather_stats_with_counts", 2)
def _gather(xp, mean, invstd, running_mean, running_var, counts, momentum, eps):
    """Welford's merge of the per-process (mean, invstd, count), one process at a time, as
    torch's batch_norm_reduce_statistics_kernel."""
    avg = xp.zeros(mean.shape[1], mean.dtype)
    var_n = xp.zeros_like(avg)
    n = 0.0
    for j in range(mean.shape[0]):
        count = float(counts[j])
        v = 1 / invstd[j]
        v = (v * v - eps) * count
        factor = 1 / (n + count)
        var_n = var_n + v + (avg - mean[j]) ** 2 * n * count * factor
        avg = n * factor * avg + count * factor * mean[j]
        n += count
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * avg
    if running_var is not None:
        running_var[...] = (1 - momentum) * running_var + momentum * (var_n / (n - 1))
    return (avg, (1 / xp.sqrt(var_n / n + eps)).astype(mean.dtype, copy=False)), ()


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                        momentum, eps, counts):
    """The global (mean, invstd) from each process's (mean, invstd) rows and element counts;
    running_mean and running_var (unbiased) are updated in place with `momentum`."""
    _cuda_only("batch_norm_gather_stats_with_counts", input)
    for r in (running_mean, running_var):
        if r is not None:
            bump_version(r)
    rm, rv = (None if r is None else r.detach() for r in (running_mean, running_var))
    return apply(_gather, (mean, invstd, rm, rv, counts.detach()), (momentum, eps))


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum, eps,
                            count):
    """batch_norm_gather_stats_with_counts with every process counting `count` elements."""
    _cuda_only("batch_norm_gather_stats", input)
    from .ops.creation import full
    counts = full((mean.shape[0],), count, dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                               momentum, eps, counts)


# ---- backward --------------------------------------------------------------------------------
@_kernel("batch_norm_backward_reduce", 4)
def _backward_reduce(xp, dy, x, mean, invstd, weight, input_g, weight_g, bias_g):
    n = x.ndim
    dims = _reduce_dims(n)
    acc = mean.dtype
    dy32 = dy.astype(acc, copy=False)
    sum_dy = xp.asarray(dy32.sum(dims))
    sum_dy_xmu = xp.asarray((dy32 * (x.astype(acc, copy=False) - _channel(mean, n))).sum(dims))
    wd = acc if weight is None else weight.dtype
    grad_weight = (sum_dy_xmu * invstd).astype(wd, copy=False) if weight_g else None
    grad_bias = sum_dy.astype(wd, copy=False) if bias_g else None
    if not input_g:
        sum_dy = sum_dy_xmu = None
    return (sum_dy, sum_dy_xmu, grad_weight, grad_bias), ()


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g,
                               bias_g):
    """(sum_dy, sum_dy_xmu, grad_weight, grad_bias) per channel: the sums of grad_out and of
    grad_out * (input - mean) (None unless input_g), sum_dy_xmu * invstd (None unless
    weight_g) and sum_dy (None unless bias_g)."""
    _cuda_only("batch_norm_backward_reduce", input)
    outs = apply(_backward_reduce, (grad_out, input, mean, invstd, weight),
                 (input_g, weight_g, bias_g))
    return tuple(None if t.arr is None else t for t in outs)     # torch's undefined outputs


@_kernel("batch_norm_backward_elemt", 1)
def _backward_elemt(xp, dy, x, mean, invstd, weight, sum_dy, sum_dy_xmu, count):
    n = x.ndim
    norm = 1 / float(count.sum())
    grad_mean = sum_dy * norm
    proj = invstd * invstd * sum_dy_xmu * norm
    scale = invstd if weight is None else invstd * weight
    gi = (dy - _channel(grad_mean, n) - (x - _channel(mean, n)) * _channel(proj, n)) \
        * _channel(scale, n)
    return gi.astype(x.dtype, copy=False), ()


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu,
                              count):
    """grad_input = (grad_out - sum_dy / N - (input - mean) * invstd^2 * sum_dy_xmu / N)
    * invstd * weight, with N = count.sum() (the elements every process counted)."""
    _cuda_only("batch_norm_backward_elemt", input)
    return apply(_backward_elemt, (grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu,
                                   count.detach()))


# ---- running statistics (CPU too) ------------------------------------------------------------
@_kernel("batch_norm_update_stats", 2)
def _update_stats(xp, x, running_mean, running_var, momentum, acc):
    x = x.astype(acc, copy=False)
    dims = _reduce_dims(x.ndim)
    mean = xp.asarray(x.mean(dims))
    var = xp.asarray(((x - _channel(mean, x.ndim)) ** 2).mean(dims))
    count = x.size // mean.size
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * mean
    if running_var is not None:
        running_var[...] = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    return (mean, var), ()


def _mixed_dtype(input, params):
    """torch's CPU check of a (float16 / bfloat16) input with float32 running statistics: the
    accumulation dtype, or its RuntimeError."""
    dt = input.arr.dtype
    defined = [p.arr.dtype for p in params if p is not None]
    if not defined or defined[0] == dt:
        for p in defined:
            if p != dt:
                raise RuntimeError(f"expected scalar type {tname(dt)} but found {tname(p)}")
        return _acc(dt) if defined else dt
    if any(p != np.float32 for p in defined):
        raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
    if not is_reduced(dt):
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    return np.dtype(np.float32)


def batch_norm_update_stats(input, running_mean, running_var, momentum):
    """(mean, biased var) per channel; running_mean and running_var (unbiased) are updated in
    place with `momentum`."""
    wrap_dim(1, input.dim())
    dt = input.arr.dtype
    if not (dt.kind == "f" or dt.name == "bfloat16"):
        raise not_implemented("batch_norm_update_stats_cpu", dt)
    if input.numel() == 0:
        raise RuntimeError(f"input tensor must have at least one element, but got input_sizes "
                           f"= {list(input.shape)}")
    acc = _mixed_dtype(input, (running_mean, running_var)) if input.be.name == "cpu" \
        else _acc(dt)
    for r in (running_mean, running_var):
        if r is not None:
            bump_version(r)
    rm, rv = (None if r is None else r.detach() for r in (running_mean, running_var))
    return apply(_update_stats, (input, rm, rv), (momentum, acc))


# ---- native_norm -----------------------------------------------------------------------------
@_kernel("native_norm", 1)
def _native_norm(xp, values, p):
    a = xp.abs(values)
    if p == float("inf"):
        out = a.max(initial=0)
    elif p == -float("inf"):
        out = a.min(initial=float("inf"))
    elif p == 0:
        out = (a != 0).sum().astype(a.dtype)
    else:
        out = (a ** p).sum() ** (1 / p)
    return xp.asarray(out, a.dtype), ()


def native_norm(input, p=2, dim=None, keepdim=False, dtype=None):
    """The p-norm of a sparse COO tensor's values (torch has no dense kernel). The overload
    with `dim` takes only full reductions, without keepdim or dtype."""
    from ._layout import sparse_coo
    if input.layout is not sparse_coo:
        raise no_kernel("native_norm" if dim is None else "native_norm.ScalarOpt_dim_dtype",
                        input.be.xp, "")
    if dim is not None:
        from .sparse._math import norm_sparse_checks
        norm_sparse_checks(input, tuple(dim), keepdim, dtype)
    return apply(_native_norm, (input.coalesce().values(),), (2 if p is None else float(p),))
