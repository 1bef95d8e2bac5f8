"""Fused CUDA kernels (CuPy ElementwiseKernel and RawModule), compiled on first use and cached.

Where the generic xp composition launches one kernel per NumPy-style step, these launch one or
two: softmax/log_softmax, causal attention weights (scale, mask and softmax), layer_norm,
cross_entropy (log_softmax + nll in one pass), GELU (erf and tanh), dropout (mask and scale),
sigmoid/tanh backward and the Adam/AdamW update.

Each override returns exactly the generic op's outputs and `saved` layout (so either backward
applies to either forward, and create_graph re-runs the generic rule), computes float16 and
bfloat16 in float32 inside the kernel, and hands every case it does not cover (other dtypes,
empty arrays, other layouts) back to the generic path, which stays the reference in tests:
`with unfused(): ...` runs it on CUDA, and EMBER_CUDA_FUSED=0 turns the overrides off.

The CUDA C sources live in cuda_sources.py: `_pointwise_specs` (ElementwiseKernels) and the
RawModule families softmax, layer_norm, cross_entropy (one block per row, or one thread per
strided line)."""
import contextlib
import functools
import math
import os

import numpy as np

from ..ops._registry import OPS, override
from .cuda_sources import _FAMILIES, _pointwise_specs, raw_source  # noqa: F401 (checks use them)

CUDA = 1


@functools.cache
def _k(name):
    import cupy
    in_params, out_params, operation, preamble = _pointwise_specs()[name]
    return cupy.ElementwiseKernel(in_params, out_params, operation, "ember_" + name,
                                  preamble=preamble)


@functools.cache
def _raw(family, dtype_name):
    import cupy
    return cupy.RawModule(code=raw_source(family, dtype_name))


def _fn(family, dtype, name):
    return _raw(family, dtype.name).get_function(name)


def _acc(dtype):
    """The NumPy type of a kernel's `A` argument for arrays of `dtype`."""
    return np.float64 if dtype.name == "float64" else np.float32


def _block(n):
    """Threads for one row of n: about 4 elements each, a multiple of 32, at most 1024."""
    return min(1024, max(32, 1 << max(0, (n - 1).bit_length() - 2)))


def _float_dtypes():
    try:
        import ml_dtypes
        extra = (np.dtype(ml_dtypes.bfloat16),)
    except ImportError:                 # pragma: no cover
        extra = ()
    return frozenset((np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)) + extra)


_FLOAT_DTYPES = _float_dtypes()


def _ok(*arrays):
    """Whether the fused kernels take these arrays: one floating dtype, real."""
    d = arrays[0].dtype
    return d in _FLOAT_DTYPES and all(a.dtype == d for a in arrays[1:])


def _capturing(xp):
    """Whether the current stream is capturing a CUDA graph (no host syncs then)."""
    try:
        return xp.cuda.get_current_stream().is_capturing()
    except Exception:
        return True


# ---- softmax / log_softmax ---------------------------------------------------------------
def _lines(xp, name, arrays, dim, mode):
    """Launch softmax-family `name` over axis `dim` of same-shape arrays; returns the output.

    The last dim runs one block per row; another dim runs one thread per line (stride `inner`),
    so neither moves the axis nor copies."""
    arrays = [xp.ascontiguousarray(a) for a in arrays]
    out = xp.empty_like(arrays[0])
    shape = out.shape
    dim %= len(shape)
    outer, n, inner = math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])
    i64 = np.int64
    if inner == 1:
        _fn("softmax", out.dtype, name + "_rows")(
            (outer,), (_block(n),), (*arrays, out, i64(n), np.int32(mode)))
    else:
        lines = outer * inner
        _fn("softmax", out.dtype, name + "_lines")(
            ((lines + 255) // 256,), (256,),
            (*arrays, out, i64(lines), i64(n), i64(inner), np.int32(mode)))
    return out


def _softmax_fwd(xp, x, dim, masked=False):
    if x.ndim == 0 or x.size == 0 or not _ok(x):
        return _generic("softmax")[0](xp, x, dim, masked)
    y = _lines(xp, "softmax", (x,), dim, 2 if masked else 0)
    return y, (y, dim)


def _log_softmax_fwd(xp, x, dim):
    if x.ndim == 0 or x.size == 0 or not _ok(x):
        return _generic("log_softmax")[0](xp, x, dim)
    y = _lines(xp, "softmax", (x,), dim, 1)
    return y, (y, dim)


def _softmax_grad(op_name, mode):
    def bwd(xp, g, y, dim):
        if dim is None or y.size == 0 or g.shape != y.shape or not _ok(g, y):
            return _generic(op_name)[1](xp, g, y, dim)
        return (_lines(xp, "softmax_grad", (g, y), dim, mode),)
    return bwd


# ---- causal attention weights (scaled_causal_softmax): scale, mask and softmax in one pass ----
def _causal_softmax_fwd(xp, x, scale):
    if x.ndim < 2 or x.size == 0 or not _ok(x):
        return _generic("scaled_causal_softmax")[0](xp, x, scale)
    x = xp.ascontiguousarray(x)
    y = xp.empty_like(x)
    n = x.shape[-1]
    _fn("softmax", x.dtype, "causal_softmax_rows")(
        (x.size // n,), (_block(n),), (x, y, np.int64(n), np.int64(x.shape[-2]),
                                       _acc(x.dtype)(scale)))
    return y, (y, scale)


def _causal_softmax_bwd(xp, g, y, scale):
    if y.ndim < 2 or y.size == 0 or g.shape != y.shape or not _ok(g, y):
        return _generic("scaled_causal_softmax")[1](xp, g, y, scale)
    g, y = xp.ascontiguousarray(g), xp.ascontiguousarray(y)
    gx = xp.empty_like(y)
    n = y.shape[-1]
    _fn("softmax", y.dtype, "scaled_softmax_grad_rows")(
        (y.size // n,), (_block(n),), (g, y, gx, np.int64(n), _acc(y.dtype)(scale)))
    return (gx,)


# ---- layer_norm (the native_layer_norm op) ------------------------------------------------
def _layer_norm_fwd(xp, x, w, b, view, axes, wshape, eps, stats, frozen):
    affine = [a for a in (w, b) if a is not None]
    k = len(axes)
    if (view is not None or stats is not None or frozen or x.size == 0 or not _ok(x, *affine)
            or tuple(axes) != tuple(range(x.ndim - k, x.ndim))):
        return _generic("native_layer_norm")[0](xp, x, w, b, view, axes, wshape, eps, stats,
                                                frozen)
    shape = x.shape
    n = math.prod(shape[x.ndim - k:])
    rows = x.size // n
    x = xp.ascontiguousarray(x)
    flags = (w is not None) | (b is not None) << 1
    y = xp.empty_like(x)
    xhat = xp.empty_like(x) if flags else y
    rstd = xp.empty(shape[:x.ndim - k] + (1,) * k, x.dtype)
    w_arg = x if w is None else xp.ascontiguousarray(w)
    b_arg = x if b is None else xp.ascontiguousarray(b)
    _fn("layer_norm", x.dtype, "layer_norm_fwd")(
        (rows,), (_block(n),),
        (x, w_arg, b_arg, y, xhat, rstd, np.int64(n), _acc(x.dtype)(eps),
         np.int32(flags | (4 if flags else 0))))
    return y, (xhat, rstd, w, None if b is None else b.shape, shape, axes, wshape, frozen)


def _layer_norm_bwd(xp, g, xhat, invstd, w, b_shape, shape, axes, wshape, frozen, needs):
    if (frozen or xhat.size == 0 or g.size != xhat.size
            or not _ok(g, xhat, invstd, *([] if w is None else [w]))):
        return _generic("native_layer_norm")[1](xp, g, xhat, invstd, w, b_shape, shape, axes,
                                                wshape, frozen, needs)
    n = math.prod(shape[len(shape) - len(axes):])
    rows = xhat.size // n
    g = xp.ascontiguousarray(g).reshape(xhat.shape)
    xhat, invstd = xp.ascontiguousarray(xhat), xp.ascontiguousarray(invstd)
    w_arg = g if w is None else xp.ascontiguousarray(w)
    gx = gw = gb = None
    if needs[0]:
        gx = xp.empty_like(g)
        _fn("layer_norm", g.dtype, "layer_norm_grad_x")(
            (rows,), (_block(n),),
            (g, xhat, w_arg, invstd, gx, np.int64(n), np.int32(w is not None)))
        gx = gx.reshape(shape)
    want_w, want_b = w is not None and needs[1], b_shape is not None and needs[2]
    if want_w or want_b:
        pw, pb = _layer_norm_wb_partials(xp, g, xhat, rows, n)
        if want_w:
            gw = pw.sum(axis=0).astype(g.dtype).reshape(w.shape)
        if want_b:
            gb = pb.sum(axis=0).astype(g.dtype).reshape(b_shape)
    return gx, gw, gb


def _layer_norm_wb_partials(xp, g, xhat, rows, n):
    """Per-chunk column sums of g * xhat and g: (chunks, n) arrays in the accumulation type."""
    chunk = max(32, -(-rows // 65535))
    chunks = -(-rows // chunk)
    acc = _acc(g.dtype)
    pw, pb = xp.empty((chunks, n), acc), xp.empty((chunks, n), acc)
    _fn("layer_norm", g.dtype, "layer_norm_grad_wb")(
        ((n + 255) // 256, chunks), (256,),
        (g, xhat, pw, pb, np.int64(rows), np.int64(n), np.int64(chunk)))
    return pw, pb


# ---- cross_entropy with class indices (log_softmax + nll_loss in one pass) ----------------
# Raising torch's IndexError for an out-of-range target reads a flag back from the GPU: one
# host sync per call, as the generic path's check. False skips it (the loss is NaN instead),
# which keeps the host running ahead of the GPU; graph captures always skip it.
CHECK_TARGETS = True


def _cross_entropy_fwd(xp, x, target, weight, reduction, ignore_index, smoothing):
    from ..nn._ops import _reduce
    if (x.ndim != 2 or x.size == 0 or target.dtype.kind not in "iu"
            or not _ok(x, *([] if weight is None else [weight]))):
        return _generic("cross_entropy")[0](xp, x, target, weight, reduction, ignore_index,
                                            smoothing)
    rows, n = x.shape
    x = xp.ascontiguousarray(x)
    target = xp.ascontiguousarray(target.astype(np.int64, copy=False))
    p = xp.empty_like(x)
    loss, w_t = xp.empty(rows, x.dtype), xp.empty(rows, x.dtype)
    t, mask, bad = xp.empty(rows, np.int64), xp.empty(rows, np.bool_), xp.zeros(1, np.int32)
    flags = (weight is not None) | (smoothing > 0) << 1
    _fn("cross_entropy", x.dtype, "cross_entropy_fwd")(
        (rows,), (_block(n),),
        (x, target, x if weight is None else xp.ascontiguousarray(weight), p, loss, t, mask,
         w_t, bad, np.int64(n), np.int64(ignore_index), _acc(x.dtype)(smoothing),
         np.int32(flags)))
    if CHECK_TARGETS and not _capturing(xp) and int(bad[0]):   # generic raises the IndexError
        return _generic("cross_entropy")[0](xp, x, target, weight, reduction, ignore_index,
                                            smoothing)
    denom = w_t.sum()
    saved = (p, t[:, None], w_t, mask, weight, smoothing, denom, reduction)
    return _reduce(xp, loss, denom, reduction), saved


def _cross_entropy_bwd(xp, g, p, t1, w_t, mask, weight, smoothing, denom, reduction,
                       logp=False):
    rows = p.shape[0] if p.ndim == 2 else -1
    if logp:        # (a CPU forward's log-probabilities: its own backward)
        return _generic("cross_entropy")[1](xp, g, p, t1, w_t, mask, weight, smoothing, denom,
                                            reduction, logp)
    if (p.ndim != 2 or p.size == 0 or t1.dtype != np.int64
            or g.shape != (() if reduction != "none" else (rows,))
            or not _ok(p, g, w_t, denom, *([] if weight is None else [weight]))):
        return _generic("cross_entropy")[1](xp, g, p, t1, w_t, mask, weight, smoothing, denom,
                                            reduction)
    n = p.shape[1]
    flags = (weight is not None) | (smoothing > 0) << 1 | (reduction == "mean") << 2
    total_w = xp.asarray(weight.sum()) if weight is not None and smoothing > 0 else p
    g = xp.ascontiguousarray(g)
    dx = xp.empty_like(p)
    blocks = min(-(-p.size // 256), 1 << 16)
    _fn("cross_entropy", p.dtype, "cross_entropy_bwd")(
        (blocks,), (256,),
        (xp.ascontiguousarray(p), xp.ascontiguousarray(t1.reshape(rows)),
         xp.ascontiguousarray(w_t), xp.ascontiguousarray(mask),
         p if weight is None else xp.ascontiguousarray(weight), g,
         np.int64(1 if reduction == "none" else 0), xp.asarray(denom), total_w, dx,
         np.int64(rows), np.int64(n), _acc(p.dtype)(smoothing), np.int32(flags)))
    return dx, None, None


# ---- GELU, dropout, sigmoid, tanh (pointwise) ---------------------------------------------
def _gelu_fwd(xp, x, approximate):
    if not _ok(x):
        return _generic("gelu")[0](xp, x, approximate)
    y = _k("gelu_tanh" if approximate == "tanh" else "gelu_erf")(x)
    return y, (x, y, (approximate,))


def _gelu_bwd(xp, g, x, y, params):
    if not _ok(g, x):
        return _generic("gelu")[1](xp, g, x, y, params)
    name = "gelu_tanh_grad" if params[0] == "tanh" else "gelu_erf_grad"
    return (_k(name)(g, x),)


def _dropout_fwd(xp, x, p, mask_shape, rng):
    if tuple(mask_shape) != x.shape or x.size == 0 or not _ok(x):
        return _generic("dropout")[0](xp, x, p, mask_shape, rng)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    u = rng.uniform(mask_shape, dtype)               # the generic path's draw, bit for bit
    scale = 1.0 / (1.0 - p)
    y, keep = _k("dropout")(x, u, p, scale)
    return y, (keep, scale)


def _dropout_bwd(xp, g, keep, scale):
    if not _ok(g):
        return _generic("dropout")[1](xp, g, keep, scale)
    return (_k("dropout_grad")(g, keep, scale),)


def _sigmoid_fwd(xp, x):
    if not _ok(x):
        return _generic("sigmoid")[0](xp, x)
    y = _k("sigmoid")(x)
    return y, (x, y)


def _sigmoid_bwd(xp, g, x, y):
    if not _ok(g, y):
        return _generic("sigmoid")[1](xp, g, x, y)
    return (_k("sigmoid_grad")(g, y),)


def _tanh_bwd(xp, g, x, y):
    if not _ok(g, y):
        return _generic("tanh")[1](xp, g, x, y)
    return (_k("tanh_grad")(g, y),)


# ---- installation and the unfused reference -----------------------------------------------
def _overrides():
    """op name -> (fused fwd or None, fused bwd or None)."""
    return {
        "sigmoid": (_sigmoid_fwd, _sigmoid_bwd),
        "tanh": (None, _tanh_bwd),
        "gelu": (_gelu_fwd, _gelu_bwd),
        "softmax": (_softmax_fwd, _softmax_grad("softmax", 0)),
        "log_softmax": (_log_softmax_fwd, _softmax_grad("log_softmax", 1)),
        "scaled_causal_softmax": (_causal_softmax_fwd, _causal_softmax_bwd),
        "native_layer_norm": (_layer_norm_fwd, _layer_norm_bwd),
        "cross_entropy": (_cross_entropy_fwd, _cross_entropy_bwd),
        "dropout": (_dropout_fwd, _dropout_bwd),
    }


_GENERIC = {}       # op name -> the generic (fwd, bwd) on CUDA, recorded before overriding
_FUSED = {}         # op name -> the fused (fwd, bwd) installed in its place
_BACKENDS = []      # CUDA backends whose `kernels` hold the fused Adam


def _generic(name):
    return _GENERIC[name]


def _adam(*args):
    return _k("adam")(*args)


def _adam_capturable(*args):
    return _k("adam_capturable")(*args)


def enabled():
    return os.environ.get("EMBER_CUDA_FUSED", "1").lower() not in ("0", "false", "off", "no")


def install(be):
    """Register the fused kernels for backend `be` (the op overrides once for all devices)."""
    if any(b is be for b in _BACKENDS):
        return
    _BACKENDS.append(be)
    if not enabled():
        return
    be.kernels["adam"] = _adam
    be.kernels["adam_capturable"] = _adam_capturable
    if _FUSED:
        return
    import ember.nn  # noqa: F401  registers the nn ops (softmax, layer_norm, ...) overridden here
    for name, (fwd, bwd) in _overrides().items():
        if name in OPS:
            o = OPS[name]
            _GENERIC[name] = o.impl[CUDA]
            override(o, CUDA, fwd=fwd, bwd=bwd)
            _FUSED[name] = o.impl[CUDA]


@contextlib.contextmanager
def unfused():
    """Run the generic (xp-composed) path on CUDA inside the block: the reference in tests.

    Nodes recorded inside keep the generic backward; the fused Adam is off as well."""
    kernels = [(be, name, be.kernels.pop(name, None)) for be in _BACKENDS
               for name in ("adam", "adam_capturable")]
    for name, impl in _GENERIC.items():
        OPS[name].impl[CUDA] = impl
    try:
        yield
    finally:
        for name, impl in _FUSED.items():
            OPS[name].impl[CUDA] = impl
        for be, name, k in kernels:
            if k is not None:
                be.kernels[name] = k
