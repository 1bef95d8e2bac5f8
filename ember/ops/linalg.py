"""Matrix products. The engine sums batch-broadcast gradients; vjps skip unneeded inputs."""
import numpy as np

from .._tensor import Tensor
from ._apply import apply
from ._registry import op


def _check_same_dtype(a, b, name="m1", other="m2"):
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected {name} and {other} to have the same dtype, but got: "
                           f"{_short(a.dtype)} != {_short(b.dtype)}")


def _short(d):
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "bfloat16": "c10::BFloat16", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}.get(d.name, d.name)


def _swap(a):
    return a.swapaxes(-1, -2)


@op("matmul", amp="lower", saves="in", node="MmBackward0", needs_mask=True)
def _matmul(xp, a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                               f"[{b.shape[0]}] to have the same number of elements, but got "
                               f"{a.shape[0]} and {b.shape[0]} elements respectively")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ("
                           f"{_rows(a)}x{ka} and {kb}x{b.shape[-1] if b.ndim > 1 else 1})")
    _check_same_dtype(a, b)
    out = xp.matmul(a, b)
    if out.ndim == 0 and type(out) is not type(a):
        out = xp.asarray(out)
    return out, (a, b)


def _rows(a):
    return int(np.prod(a.shape[:-1])) if a.ndim > 1 else 1


@_matmul.vjp
def _(xp, g, a, b, needs):
    ga = gb = None
    if not g.flags.c_contiguous:      # e.g. a broadcast from sum(): BLAS needs real strides
        g = xp.ascontiguousarray(g)
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if needs[0] else None, g * a if needs[1] else None)
    if a.ndim == 1:                       # (k) @ (..., k, n) -> (..., n)
        if needs[0]:
            ga = xp.matmul(g[..., None, :], _swap(b))[..., 0, :]
        if needs[1]:
            gb = a[:, None] * g[..., None, :]
        return ga, gb
    if b.ndim == 1:                       # (..., m, k) @ (k) -> (..., m)
        if needs[0]:
            ga = g[..., :, None] * b
        if needs[1]:
            gb = xp.matmul(_swap(a), g[..., :, None])[..., 0]
        return ga, gb
    if needs[0]:
        ga = xp.matmul(g, _swap(b))
    if needs[1]:
        gb = xp.matmul(_swap(a), g)
    return ga, gb


def matmul(input, other, *, out=None):
    return apply(_matmul, (input, other))


def mm(input, mat2, *, out=None):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    return matmul(input, mat2)


def bmm(input, mat2, *, out=None):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor" if input.ndim != 3 else
                           "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, "
                           f"{mat2.shape[1]}].")
    return matmul(input, mat2)


def mv(input, vec, *, out=None):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def dot(input, other, *, out=None):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    _check_same_dtype(input, other, "self", "other")
    return matmul(input, other)


inner_1d = dot


def vdot(input, other, *, out=None):
    return dot(input.conj(), other)


def outer(input, vec2, *, out=None):
    from .shape import unsqueeze
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


ger = outer


@op("linear", amp="lower", saves="in", node="AddmmBackward0", needs_mask=True)
def _linear(xp, x, w, b):
    if x.shape[-1] != w.shape[-1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_rows(x)}x{x.shape[-1]} "
                           f"and {w.shape[-1]}x{w.shape[0] if w.ndim > 1 else 1})")
    _check_same_dtype(x, w, "mat1", "mat2")
    y = xp.matmul(x, w.T)
    if b is not None:
        y += b
    return y, (x, w, b is not None)


@_linear.vjp
def _(xp, g, x, w, has_b, needs):
    gx = xp.matmul(g, w) if needs[0] else None
    gw = gb = None
    if needs[1]:
        g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gw = xp.matmul(g2.T, x2) if w.ndim == 2 else xp.matmul(g2.T, x2).reshape(w.shape)
    if has_b and needs[2]:
        gb = g.reshape(-1, g.shape[-1]).sum(0) if g.ndim > 1 else g
    return gx, gw, gb


def linear(input, weight, bias=None):
    return apply(_linear, (input, weight, bias))


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return (input if beta == 1 else input * beta) + prod


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    prod = mv(mat, vec)
    return (input if beta == 1 else input * beta) + (prod if alpha == 1 else prod * alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    prod = bmm(batch1, batch2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return (input if beta == 1 else input * beta) + prod


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    prod = bmm(batch1, batch2).sum(0)
    return (input if beta == 1 else input * beta) + (prod if alpha == 1 else prod * alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    prod = outer(vec1, vec2)
    return (input if beta == 1 else input * beta) + (prod if alpha == 1 else prod * alpha)


def is_tensor_like(x):
    return isinstance(x, Tensor)
