"""Gradient clipping: clip_grad_norm_ (any p, inf included) and clip_grad_value_."""
import types
import warnings

import numpy as np

from ..._kernel_dtypes import check_fits, cname
from ..._tensor import Tensor, _new, bump_version as _bump
from ...backends import cuda_blas
from ...ops._norm2 import norm2, squares_norm2
from ...ops._special import clip_ufunc as _clip_ufunc
from ...ops.linalg import norm2_all
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _norm_arr(xp, a, norm_type):
    if norm_type == 2 and a.dtype.kind == "f":      # torch's order where it can be followed
        r = norm2_all(xp, a)
        return xp.sqrt((a * a).sum()) if r is None else r
    a = xp.abs(a)
    if norm_type == float("inf"):
        return a.max() if a.size else xp.zeros((), a.dtype)
    if norm_type == float("-inf"):
        return a.min() if a.size else xp.asarray(float("inf"), a.dtype)
    if norm_type == 0:
        return (a != 0).sum().astype(a.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:          # torch's order where it can be followed
        r = norm2_all(xp, a)
        return xp.sqrt((a * a).sum()) if r is None else r
    return (a ** norm_type).sum() ** (1.0 / norm_type)


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ...ops.creation import tensor
        return tensor(0.0)
    first = tensors[0]
    xp = first.be.xp
    dt = first.arr.dtype
    if norm_type == 2 and xp is not np and dt in _FLAT_DTYPES and \
            all(t.be is first.be and t.arr.dtype == dt for t in tensors):
        if cuda_blas.CAPTURING:     # CuPy's many-array concatenate copies from the host
            sq = [(t.arr * t.arr).sum() for t in tensors]
            total = sq[0]
            for s in sq[1:]:
                total = total + s
        else:   # on a GPU: one concatenation and one reduction, not 4 launches per tensor
            flat = xp.concatenate([t.arr.ravel() for t in tensors])
            total = (flat * flat).sum()
        return _finite_total(xp.sqrt(total), first, norm_type, error_if_nonfinite)
    if norm_type == 2 and xp is np:
        groups = _grouped_norms2(tensors, first.be)
        if sum(len(rows) for rows, _ in groups) == len(tensors) and \
                len({r.dtype for _, r in groups}) == 1:   # every norm grouped, of one dtype:
            stacked = np.empty(len(tensors), groups[0][1].dtype)    # into their array
            for rows, r in groups:
                stacked[rows] = r
            return _finite_total(norm2_all(np, stacked), first, norm_type, error_if_nonfinite)
        small = {i: n for rows, r in groups for i, n in zip(rows, r)}
    else:
        small = {}
    norms = [first.be.from_host(t.be.to_host(xp.asarray(_norm_arr(t.be.xp, t.arr, norm_type))))
             if t.be is not first.be else small[i] if i in small else
             _norm_arr(xp, t.arr, norm_type) for i, t in enumerate(tensors)]
    dtype = np.result_type(*[n.dtype for n in norms])
    # (on the host one conversion of the list, not a cast per norm and a stack: the same values)
    stacked = np.array(norms, dtype) if xp is np and dtype in _FLAT_DTYPES else \
        xp.stack([n.astype(dtype) for n in norms])
    total = xp.asarray(_norm_arr(xp, stacked, norm_type))
    return _finite_total(total, first, norm_type, error_if_nonfinite)


_FLAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_SMALL = 8192       # gradients of at most this many values are normed in stacks


def _small_norms2(tensors, be):
    """{index: 2-norm} of the gradients _grouped_norms2 norms."""
    return {i: n for rows, r in _grouped_norms2(tensors, be) for i, n in zip(rows, r)}


def _grouped_norms2(tensors, be):
    """[(indices, their 2-norms)] for the C-contiguous float32/float64 NumPy gradients on `be`
    that share their size and dtype with another, or have a size that is a multiple of 4:
    each group's rows normed in one call of the last-dim kernel, which reduces every row as
    norm2_all the flat array (the same bits). Sizes that are a multiple of 4 (no fused tail)
    have their squares written into one array, the kernel's first step (no stacking copy);
    others are stacked when small. A model's biases and norm weights cost the per-call
    overhead of a norm each, its weight matrices that and more (get_total_norm of the GPT
    benchmark's 53 gradients: 1.06 -> 0.85 ms stacking the small ones, -> 0.58 ms with the
    squares of all groups)."""
    groups = {}
    for i, t in enumerate(tensors):
        a = t.arr
        if type(a) is np.ndarray and a.dtype in _FLAT_DTYPES and a.size and \
                t.be is be and a.flags.c_contiguous:
            n = a.size
            if n & 3 == 0 or n <= _SMALL:
                key = a.dtype, n
                rows = groups.get(key)
                if rows is None:
                    groups[key] = [i]
                else:
                    rows.append(i)
    out = []
    for (dt, n), rows in groups.items():
        if n & 3 == 0:
            sq = np.empty((len(rows), n), dt)
            for row, i in zip(sq, rows):
                a = tensors[i].arr.reshape(n)
                np.multiply(a, a, out=row)
            out.append((rows, squares_norm2(sq)))
        elif len(rows) > 1:
            out.append((rows, norm2(np.stack([tensors[i].arr.reshape(n) for i in rows]), (1,))))
    return out


def _finite_total(total, first, norm_type, error_if_nonfinite):
    xp = first.be.xp
    total = xp.asarray(total)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return _new(total, first.be)


@no_grad()
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    grads = [g for p in _as_list(parameters) if (g := p.grad) is not None]
    if not grads:
        return
    xp, total = total_norm.be.xp, total_norm.arr
    # a Python scalar operand, not xp.asarray(max_norm): no host-to-device copy (graphs);
    # torch's `max_norm / tensor` is tensor.reciprocal() * max_norm, rounded as such
    coef = xp.asarray(xp.minimum(xp.reciprocal(total + 1e-6) * float(max_norm), 1.0))
    cast = {}           # (backend, dtype) -> coef there: no host round trip on one device
    for g in grads:
        key = g.be, g.arr.dtype
        if key not in cast:
            c = coef if g.be is total_norm.be else g.be.from_host(total_norm.be.to_host(coef))
            cast[key] = c.astype(g.arr.dtype, copy=False)
        g.arr *= cast[key]
        _bump(g)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients so that their joint `norm_type` norm is at most max_norm; returns
    the norm before clipping."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [g for p in parameters if (g := p.grad) is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    clip_value = float(clip_value)
    grads = [g for p in _as_list(parameters) if (g := p.grad) is not None]
    if not grads:       # torch groups the gradients by device first: it refuses an empty list
        raise RuntimeError("Expected !nested_tensorlist[0].empty() to be true, but got false.  "
                           "(Could this error message be improved?  If so, please report an "
                           "enhancement request to PyTorch.)")
    for dt in {g.arr.dtype for g in grads}:
        _check_clip_value(dt, clip_value)
    lo = -clip_value
    # torch clamps with _foreach_clamp_min_ and _foreach_clamp_max_ (two writes to each
    # gradient) unless foreach=False, which runs one clamp_ per gradient
    writes = 1 if foreach is False else 2
    for g in grads:
        a = g.arr
        if type(a) is np.ndarray and a.dtype.kind == "f":   # np.clip's own call, without its
            _clip_ufunc(a, lo, clip_value, out=a)           # wrapper (half the time of 53)
        else:
            g.be.xp.clip(a, lo, clip_value, out=a)
        _bump(g, writes)


def _check_clip_value(dt, clip_value):
    """torch's errors of clamping gradients of dtype `dt` to +-clip_value (a Python float)."""
    if dt.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if dt.kind in "biu":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{cname(dt)}")
    check_fits(dt, clip_value)       # (torch converts the clip value to dt, checked)
