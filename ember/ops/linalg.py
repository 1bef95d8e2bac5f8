"""Linear algebra: matrix products, einsum, decompositions and their gradients.

Contract (see _registry.py): `fwd(xp, *arrays, *static) -> (out, saved)`, `bwd(xp, g, *saved)`.
Only xp (NumPy/CuPy) functions are used. The engine sums batch-broadcast gradients; vjps skip
unneeded inputs (`needs_mask`). Decomposition gradients follow torch's FunctionsManual.cpp."""
import builtins
import math

import numpy as np

from .. import _dtype
from .._kernel_dtypes import cname, int_scalar, not_implemented
from .._sparse_coo import SparseCOO
from ..return_types import make as _return_type
from .._tensor import Tensor, _new, bump_version
from .._warnings import warn_once as _warn_once
from ..backends import cuda_blas
from ._norm2 import norm2, vector_norm as ordered_norm
from ..amp.state import AMP as _amp
from ..autograd.grad_mode import STATE as _grad
from ._apply import _finish, _finish_tuple, _fw, _fw_propagate, _node, _not_tensor, apply, \
    raise_not_tensor, view_out, tensor_args, tensor_elements, tensor_ndim, ureduce
from ._deprecated import beta_first
from ._dims import int_arg, unique_dims, wrap_dim
from ._view_geometry import torch_reshaped
from .shape import _reshape_copy, _swap_fwd, _t_fn, _view_fn, contiguous, expand, reshape, \
    _SQUEEZE_DIM, squeeze, t as _mat_t, transpose, unsqueeze
from ._registry import NESTED_IDX, c_order, column_major_outputs, contiguous_outputs, f_order, \
    holomorphic, op
from ..autograd.node import node_class as _node_class


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a RuntimeError raised when a matrix is singular or not
    positive-definite."""


# torch's class is torch._C._LinAlgError: that is the name tracebacks and type(e).__name__ show
LinAlgError.__name__ = LinAlgError.__qualname__ = "_LinAlgError"


def _check_same_dtype(a, b, name="m1", other="m2"):
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected {name} and {other} to have the same dtype, but got: "
                           f"{cname(a.dtype)} != {cname(b.dtype)}")


def _swap(a):
    return a.swapaxes(-1, -2)


def _mH(a):
    return a.swapaxes(-1, -2).conj() if a.dtype.kind == "c" else a.swapaxes(-1, -2)


# ---- matmul family ----------------------------------------------------------------------------
def _matmul_fwd(xp, a, b):
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
        _matmul_mismatch(a, b, ka, kb)
    if a.dtype != b.dtype:
        _product_dtype_error(a, b)
    if a.dtype == bool and (a.size and b.size or a.ndim == b.ndim == 1):   # torch: no kernel
        raise not_implemented(_bool_kernel(a, b), a.dtype)                # for empty products
    _check_batch(a.shape[:-2], b.shape[:-2])
    if a.ndim > 2 and b.ndim == 2:      # torch folds the batch into rows: one mm
        out = xp.matmul(_rows2d(a), b).reshape(a.shape[:-1] + b.shape[1:])
    else:
        out = xp.matmul(a, b)
    if out.ndim == 0 and type(out) is not type(a):
        out = xp.asarray(out)
    if out.dtype != a.dtype:        # bfloat16: ml_dtypes accumulates and returns float32
        out = out.astype(a.dtype)
    return out, (a, b)


def _product_dtype_error(a, b):
    """torch's error for a product of two dtypes: a sparse operand's kernel's (addmv for CSR @
    vector, else its scalar type check) or the dense one's."""
    from .._sparse_csr import SparseCSR
    from ._apply import _tname
    if type(a) is SparseCSR and b.ndim == 1:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_tname(b.dtype)}, {_tname(a.dtype)}, and {_tname(b.dtype)}")
    if type(b) is SparseCOO and a.ndim == 2:        # torch's (b^T a^T)^T
        a, b = b, a
    if type(a) in (SparseCOO, SparseCSR) or type(b) in (SparseCOO, SparseCSR):
        raise RuntimeError(f"expected scalar type {_tname(a.dtype)} but found {_tname(b.dtype)}")
    _check_same_dtype(a, b)


def _bool_kernel(a, b):
    """The CPU kernel torch's matmul reaches for these ranks (none is defined for bool)."""
    if b.ndim == 1:
        return "dot" if a.ndim == 1 else "addmv_impl_cpu"
    return "addmm_impl_cpu_" if max(a.ndim, b.ndim) <= 2 or _folds(a, b, False) else "bmm"


def _folds(a, b, small_grad):
    """torch's should_fold: the larger input (>= 3-D, the other 1-D or 2-D) is reshaped to a
    matrix when the smaller one requires grad, or tensor1 is not 2-D and the larger one's
    leading dims are contiguous."""
    larger = a.ndim >= b.ndim
    t1 = a if larger else _swap(b)
    if not (t1.ndim >= 3 and (b.ndim if larger else a.ndim) in (1, 2)):
        return False
    if small_grad:
        return True
    if a.ndim == 2:
        return False
    st = t1.strides
    return t1.size == 0 or all(st[i] == st[i + 1] * t1.shape[i + 1] for i in range(t1.ndim - 2))


def _matmul_mismatch(a, b, ka, kb, small_grad=False):
    """torch's error for inner sizes ka != kb, from the kernel its matmul dispatches to
    (`small_grad`: the input of fewer dims requires grad)."""
    if type(a) is SparseCOO or type(b) is SparseCOO:     # torch's sparse mv and addmm checks
        if type(a) is SparseCOO and b.ndim == 1:
            raise RuntimeError("mv: expected self.size(-1) == vec.size(-1)")
        if a.ndim <= 2 and b.ndim <= 2:
            want, got = (ka, kb) if type(a) is SparseCOO else (kb, ka)
            raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {want}, got "
                               f"{got}")
    if a.ndim == 1 and b.ndim == 1:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    if b.ndim == 1 and (a.ndim == 2 or _folds(a, b, small_grad)):  # mv
        raise RuntimeError(f"size mismatch, got input ({_rows(a)}), mat ({_rows(a)}x{ka}), "
                           f"vec ({b.shape[0]})")
    if a.ndim <= 2 and b.ndim >= 3 and _folds(a, b, small_grad):  # (b^T a^T)^T, b^T folded
        rows = _rows(_swap(b))
        if a.ndim == 1:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{kb}), vec "
                               f"({ka})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{kb} and "
                           f"{ka}x{a.shape[0]})")
    if b.ndim <= 2 and (a.ndim <= 2 or _folds(a, b, small_grad)):  # mm
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_rows(a)}x{ka} and "
                           f"{kb}x{b.shape[-1] if b.ndim > 1 else 1})")
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]                # bmm of the broadcast batches
    _check_batch(batch_a, batch_b)
    n = int(np.prod(np.broadcast_shapes(batch_a, batch_b)))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{n}, {ka}] but got: [{n}, {kb}].")


def _check_batch(sa, sb):
    for i in range(1, builtins.min(len(sa), len(sb)) + 1):
        if sa[-i] != sb[-i] and sa[-i] != 1 and sb[-i] != 1:
            raise RuntimeError(f"The size of tensor a ({sa[-i]}) must match the size of tensor b "
                               f"({sb[-i]}) at non-singleton dimension "
                               f"{builtins.max(len(sa), len(sb)) - i}")


def _rows(a):
    return int(np.prod(a.shape[:-1])) if a.ndim > 1 else 1


def _matmul_bwd(xp, g, a, b, needs):
    ga = gb = None
    flags = getattr(g, "flags", None)
    if flags is not None and not (flags.c_contiguous or flags.f_contiguous):
        g = xp.ascontiguousarray(g)     # e.g. broadcast by sum(): BLAS needs real strides
    if a.ndim == 1 and b.ndim == 1:
        return (g * b.conj() if needs[0] else None, g * a.conj() if needs[1] else None)
    if a.ndim == 1:                       # (k) @ (..., k, n) -> (..., n)
        if needs[0]:
            ga = xp.matmul(g[..., None, :], _mH(b))[..., 0, :]
        if needs[1]:
            gb = a.conj()[:, None] * g[..., None, :]
        return ga, gb
    if b.ndim == 1:                       # (..., m, k) @ (k) -> (..., m)
        if needs[0]:
            ga = g[..., :, None] * b.conj()
        if needs[1]:
            gb = xp.matmul(_mH(a), g[..., :, None])[..., 0]
        return ga, gb
    if needs[0]:
        ga = xp.matmul(g, _mH(b))
    if needs[1]:
        gb = xp.matmul(_mH(a), g)
    return ga, gb


def _product_op(name, node, amp="lower"):
    o = op(name, amp=amp, saves="in", node=node, needs_mask=True)(_matmul_fwd)
    return o.vjp(_matmul_bwd)


# (mv and dot are lowered on CUDA only: amp/autocast.py's POLICY)
_matmul = _product_op("matmul", "UnsafeViewBackward0")
_mm = _product_op("mm", "MmBackward0")
_mv = _product_op("mv", "MvBackward0", None)
_dot = _product_op("dot", "DotBackward0", None)
_vm = _product_op("vm", "SqueezeBackward4", None)
_bmm = _product_op("bmm", "BmmBackward0")
_BY_RANK = {(2, 2): _mm, (2, 1): _mv, (1, 1): _dot, (1, 2): _vm}
_matmul.frees = _vm.frees = True        # torch's last node is a view of mm's (see Op.frees)


def _product(o, a, b):
    """apply() specialised to two Tensors on one device (the matmul hot path)."""
    be = a.be
    if b.be is not be or _amp.enabled:
        return apply(o, (a, b))
    fwd, bwd = o.impl[be.idx]
    out, saved = fwd(be.xp, a.arr, b.arr)
    t = _new(out, be)
    if (a.requires_grad or b.requires_grad) and _grad.enabled:
        t._rg = True
        t.grad_fn = o.node_cls(o, bwd, be.xp, saved,
                               ((a.grad_fn or a._leaf_node()) if a.requires_grad else None,
                                (b.grad_fn or b._leaf_node()) if b.requires_grad else None),
                               (a, b), ())
    if _fw.level is not None:
        _fw_propagate(o, (a, b), (), t, saved)
    return t


def _uncast_out(fn, *args, out):
    """torch autocasts no out= variant: fn(*args, out=out) with autocast off."""
    from ..amp.autocast import uncast
    return uncast(fn, *args, out=out)


def matmul(input, other, *, out=None):
    tensor_args("matmul", ("input", 1, input), ("other", 2, other))
    if _amp.enabled and out is not None:
        return _uncast_out(matmul, input, other, out=out)
    if _amp.enabled:          # matmul's policy, not that of the op it picks
        from ..amp.autocast import cast_args
        input, other = cast_args(_matmul, (input, other))
    if input.arr.ndim == other.arr.ndim == 1 and input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_tn(input)} and {_tn(other)}")          # torch's matmul is dot
    a, b = input.arr, other.arr
    if (a.ndim > 2 or b.ndim > 2 or a.ndim < b.ndim) and out is None and _grad.enabled and \
            (input._rg or other._rg) and _records_like_torch(input, other):
        return _recorded_matmul(input, other)
    try:
        r = _product(_BY_RANK.get((a.ndim, b.ndim), _matmul), input, other)
    except RuntimeError:
        if a.ndim and b.ndim and not (input.is_nested or other.is_nested) and \
                a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            # torch's kernel for the error hangs on whether the smaller input requires grad
            small = other if a.ndim >= b.ndim else input
            _matmul_mismatch(a, b, a.shape[-1], b.shape[0 if b.ndim == 1 else -2],
                             small.requires_grad)
        raise
    return r if out is None else _finish(r, out, "matmul", "resize")


def _records_like_torch(input, other):
    """Whether matmul records torch's graph of the ops its _matmul_impl runs
    (_recorded_matmul): tensors of 1 or more dims on one dense backend that multiply, with
    broadcastable batches (the other cases keep matmul's single node and its errors)."""
    a, b = input.arr, other.arr
    if not (a.ndim and b.ndim and input.be is other.be and input.be.idx != NESTED_IDX and
            a.shape[-1] == b.shape[0 if b.ndim == 1 else -2] and a.dtype == b.dtype and
            a.dtype.kind != "b" and _fw.level is None and isinstance(a, input.be.xp.ndarray)
            and isinstance(b, input.be.xp.ndarray)):
        return False
    sa, sb = a.shape[:-2], b.shape[:-2]
    return sa == sb or not sa or not sb or all(
        x == y or x == 1 or y == 1 for x, y in zip(sa[::-1], sb[::-1]))


def _recorded_matmul(input, other):
    """torch's matmul of operands one of which requires grad, built of ember's ops so that it
    records torch's graph (_matmul_steps)."""
    return _matmul_steps(input, other, _Recording)


def _matmul_steps(a, b, ops):
    """torch's matmul (_matmul_impl) of tensors of 1 or more dims that multiply, as the ops it
    runs, each done by `ops` (ember's ops recording torch's graph: _Recording; the ATen calls
    a TorchDispatchMode is handed: utils/_python_dispatch.py's):
    - vector @ vector: dot; matrix @ vector: mv; matrix @ matrix: mm; vector @ matrix: mm of
      the vector unsqueezed, squeezed in place;
    - two 3-d operands of different batches, one of batch 1 that requires grad (any, under a
      dispatch mode: torch's isTensorSubclassLike, ops.subclass_like): that one squeezed to a
      matrix, then as below;
    - should_fold's tensor2.mT() where the right operand has more dims (ops.fold_probe);
    - when should_fold holds (_folds): the operand of 3 or more dims reshaped to rows
      (transposed first when it is the right one, the left then t() if a matrix), mm or mv,
      _unsafe_view to the output's shape (then transposed back and made contiguous);
    - else each operand expanded to the broadcast batch and reshaped to one batch dim (a vector
      right operand unsqueezed to a column), bmm, _unsafe_view."""
    da, db = a.ndim, b.ndim
    if da <= 2 and db <= 2:
        if da == 1:
            return ops.dot(a, b) if db == 1 else ops.squeeze_row(ops.mm(ops.unsqueeze(a, 0), b))
        return ops.mv(a, b) if db == 1 else ops.mm(a, b)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if da == db == 3 and sa[0] != sb[0]:
        if sa[0] == 1 and (ops.subclass_like or a.requires_grad):
            return _matmul_steps(ops.squeeze(a, 0), b, ops)
        if sb[0] == 1 and (ops.subclass_like or b.requires_grad):
            return _matmul_steps(a, ops.squeeze(b, 0), ops)
    if db > da:
        ops.fold_probe(b)
    if _folds(a.arr, b.arr, (b if da >= db else a).requires_grad):
        flip = db > da
        if flip:
            t1, t2 = ops.transpose(b, -2, -1), ops.t(a) if da == 2 else a
        else:
            t1, t2 = a, b
        shape = tuple(t1.shape[:-1])
        folded = ops.reshape(t1, (math.prod(shape), t1.shape[-1]))
        if t2.ndim == 1:
            return ops.unsafe_view(ops.mv(folded, t2), shape)
        y = ops.unsafe_view(ops.mm(folded, t2), shape + tuple(t2.shape[1:]))
        return ops.contiguous(ops.transpose(y, -2, -1)) if flip else y
    n = sa[-2] if da > 1 else 1
    m = sb[-2] if db > 1 else sb[0]
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    nb = math.prod(batch)
    a3 = ops.reshape(ops.expand(a, batch + (n, sa[-1])), (nb, n, sa[-1]))
    if db == 1:
        y = ops.squeeze(ops.bmm(a3, ops.unsqueeze(ops.reshape(ops.expand(b, batch + (m,)),
                                                              (nb, m)), 2)), -1)
    else:
        y = ops.bmm(a3, ops.reshape(ops.expand(b, batch + sb[-2:]), (nb,) + sb[-2:]))
    return ops.unsafe_view(y, batch + sa[-2:-1] * (da > 1) + sb[-1:] * (db > 1))


def _squeezed_row(y):
    """torch's y.squeeze_(0) of a (1, n) y that requires grad: its node SqueezeBackward4 (the
    in-place squeeze's), the version bumped."""
    be = y.be
    r = _new(y.arr.reshape(y.arr.shape[1:]), be)
    r._rg = True
    r.grad_fn = _node(_SQUEEZE_DIM, _SQUEEZE_DIM.impl[be.idx][1], be, (y.arr.shape, (0,)),
                      (y,), ((0,),))
    r.grad_fn.__class__ = _SQUEEZE_INPLACE
    bump_version(r)
    return r


def _unsafe_view(y, shape):
    """torch's _unsafe_view of y (which requires grad) to shape: UnsafeViewBackward0."""
    be = y.be
    r = _new(y.arr.reshape(shape), be)
    r._rg = True
    r.grad_fn = _node(_UNSAFE_VIEW_OP, _UNSAFE_VIEW_OP.impl[be.idx][1], be, (y.arr.shape,),
                      (y,), (shape,))
    return r


class _Recording:
    """_matmul_steps' ops as ember's, recording torch's graph."""
    subclass_like = False
    def dot(a, b):
        return _product(_dot, a, b)

    def mv(a, b):
        return _product(_mv, a, b)

    def mm(a, b):
        return _product(_mm, a, b)

    def bmm(a, b):
        return _product(_bmm, a, b)

    def fold_probe(b):
        pass            # (torch's discarded mT: no node)

    unsqueeze, squeeze, transpose, t, reshape, expand, contiguous = (
        unsqueeze, squeeze, transpose, _mat_t, reshape, expand, contiguous)
    squeeze_row, unsafe_view = _squeezed_row, _unsafe_view


def mm(input, mat2, *, out=None):
    tensor_args("mm", ("input", 1, input), ("mat2", 2, mat2))
    if _amp.enabled and out is not None:
        return _uncast_out(mm, input, mat2, out=out)
    if input.ndim != 2:
        if input.is_nested:     # (torch's nested tensors have no mm)
            from .._nested_array import SIZES_ERROR
            if input.arr.meta.layout == "strided":
                raise RuntimeError(SIZES_ERROR)
            raise NotImplementedError("aten.mm.default")
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return _finish(_product(_mm, input, mat2), out, "mm", "resize")


def bmm(input, mat2, *, out=None):
    tensor_args("bmm", ("input", 1, input), ("mat2", 2, mat2))
    if _amp.enabled and out is not None:
        return _uncast_out(bmm, input, mat2, out=out)
    try:
        if input.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if mat2.ndim != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        a, b = input.arr.shape, mat2.arr.shape      # (a nested tensor's: no torch.Size)
        if a[0] != b[0] or a[2] != b[1]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{input.shape[0]}, {input.shape[2]}] but got: "
                               f"[{mat2.shape[0]}, {mat2.shape[1]}].")
        if input.arr.dtype.kind == "b" and not _amp.enabled:    # its kernel dispatch first
            raise not_implemented("bmm", input.arr.dtype)
        _expect_scalar_type(input, mat2)
        r = _product(_bmm, input, mat2)
    except (RuntimeError, NotImplementedError):
        # a sparse COO operand (no dense kernel takes one): torch's bmm_sparse and its checks
        if type(input.arr) is not SparseCOO and type(mat2.arr) is not SparseCOO:
            raise
        from ..sparse._math import bmm as sparse_bmm
        r = sparse_bmm(input, mat2)
    return _finish(r, out, "bmm", "resize")


def _expect_scalar_type(a, b):
    """torch's TensorIterator-style dtype check of bmm, baddbmm, cross, einsum (under autocast
    the inputs are cast first, and the kernels check)."""
    if a.dtype != b.dtype and not _amp.enabled:
        raise RuntimeError(f"expected scalar type {_tn(a)} but found {_tn(b)}")


def mv(input, vec, *, out=None):
    tensor_args("mv", ("input", 1, input), ("vec", 2, vec))
    _size(input, 0)                 # torch's mv is addmv into a zeros(input.size(0))
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    _addmv_dtypes(vec, input, vec)      # torch's mv is addmv into a result of vec's dtype
    return _finish(apply(_mv, (input, vec)), out, "mv", "resize")


def _addmv_dtypes(input, mat, vec):
    if not input.dtype == mat.dtype == vec.dtype and not (_amp.enabled and _mv.amp):
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_tn(input)}, {_tn(mat)}, and {_tn(vec)}")


def dot(input, other, *, out=None):
    tensor_args("dot", ("input", 1, input), ("tensor", 2, other))
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_tn(input)} and {_tn(other)}")
    return _finish(apply(_dot, (input, other)), out, "dot",
                   "result dtype {out} does not match input dtype {result}")


def _tn(t):
    from ._apply import _tname
    return _tname(t.arr.dtype)


def _tname_of(dtype):
    from ._apply import _tname
    return _tname(np.dtype(dtype.np))


@op("vdot", saves="in")
def _vdot(xp, a, b):
    return xp.asarray(xp.vdot(a, b)), (a, b)


_vdot.vjp(lambda xp, g, a, b: (xp.conj(g) * b if a.dtype.kind == "c" else g * b, g * a))


def vdot(input, other, *, out=None):
    tensor_args("vdot", ("input", 1, input), ("other", 2, other))
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.arr.dtype == bool:
        raise not_implemented("dot", input.arr.dtype)
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_tn(input)} and {_tn(other)}")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and "
                           f"src [{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return _finish(apply(_vdot, (input, other)), out, "vdot",
                   "result dtype {out} does not match input dtype {result}")


def inner(input, other, *, out=None):
    tensor_args("inner", ("input", 1, input), ("other", 2, other))
    if input.ndim == 0 or other.ndim == 0:
        return _finish(input * other, out, "inner")
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]), out=out)


def outer(input, vec2, *, out=None):
    tensor_args("outer", ("input", 1, input), ("vec2", 2, vec2))
    from .shape import unsqueeze
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return _finish(unsqueeze(input, 1) * vec2, out, "outer")


ger = outer


def _rows2d(a):
    """(..., k) -> (rows, k), also when k or a leading dim is 0."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def _linear_checks(x, w, b):
    if x.shape[-1:] != w.shape[-1:] or w.ndim != 2:
        _check_linear(x, w, b)
    _check_same_dtype(x, w)
    if x.dtype.kind == "b":
        raise not_implemented("addmm_impl_cpu_", x.dtype)


def _linear_fwd(xp, x, w, b):
    _linear_checks(x, w, b)
    low = x.dtype if x.dtype.itemsize == 2 and x.dtype.kind in "fV" else None
    if low is not None:             # torch: float accumulation, the bias too, one rounding
        x, w = x.astype(np.float32), w.astype(np.float32)
    # one 2-D BLAS call over all leading dims (NumPy's stacked matmul is slower)
    y = xp.matmul(_rows2d(x), w.T) if x.ndim > 2 else xp.matmul(x, w.T)
    if b is not None:
        y += b
    if low is not None:
        y = y.astype(low)
    if x.ndim > 2:
        y = y.reshape(x.shape[:-1] + (w.shape[0],))
    return y, (x, w, b is not None)


# linear's kernel. It records a node itself only for nested tensors (torch's LinearBackward0);
# on dense tensors `linear` records torch's graph of it (_linear_graph)
_linear = op("linear", amp="lower", saves="in", node="LinearBackward0",
             needs_mask=True)(_linear_fwd)


def _check_linear(x, w, b):
    """torch's linear refusals, in its order (a 2-D weight of the input's width passes)."""
    if not x.ndim or not w.ndim:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    if w.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {w.ndim}D")
    if x.ndim == 2 and b is not None and w.ndim == 1:
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    if x.shape[-1] != w.shape[-1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_rows(x)}x{x.shape[-1]} "
                           f"and {w.shape[-1]}x{w.shape[0] if w.ndim > 1 else 1})")


@_linear.vjp
@holomorphic
def _(xp, g, x, w, has_b, needs):
    gx = gw = gb = None
    if needs[0]:
        gx = xp.matmul(_rows2d(g), w).reshape(x.shape) if g.ndim > 2 else xp.matmul(g, w)
    if needs[1]:
        g2, x2 = _rows2d(g), _rows2d(x)
        gw = xp.matmul(g2.T, x2) if w.ndim == 2 else xp.matmul(g2.T, x2).reshape(w.shape)
    if has_b and needs[2]:
        gb = cuda_blas.sum_rows(xp, _rows2d(g)) if g.ndim > 1 else g
    return gx, gw, gb


_linear.frees = True        # (torch's LinearBackward0 saves input and weight)


# ---- linear's graph: torch's addmm(bias, input, weight.t()) / mm(input, weight.t()) ----------
def _mm_t_grads(xp, g, x, wt, needs):
    """The gradients of x @ wt for a 2-D x and wt = weight.t() (F-ordered): that of wt as the
    transpose of a C-ordered weight gradient, as torch's mm_mat2_backward gives it for a
    column-major mat2 (TBackward0 hands the weight its C-ordered array)."""
    if x.dtype.itemsize == 2 and x.dtype.kind in "fV":      # float accumulation, as forward
        x, wt = x.astype(np.float32), wt.astype(np.float32)
    return (xp.matmul(g, wt.T) if needs[0] else None,
            xp.matmul(g.T, x).T if needs[1] else None)


def _product_t_fwd(xp, b, x, wt):
    y, _ = _linear_fwd(xp, x, wt.T, b)
    return y, (x, wt, () if b is None else b.shape)


@op("linear_addmm", saves="in", node="AddmmBackward0", needs_mask=True)
def _linear_addmm(xp, b, x, wt):
    return _product_t_fwd(xp, b, x, wt)


@_linear_addmm.vjp
@holomorphic
def _(xp, g, x, wt, bshape, needs):
    gb = None
    if needs[0]:    # (a broadcast bias of another shape: the engine sums g down to it)
        gb = cuda_blas.sum_rows(xp, g) if len(bshape) == 1 else g
    return (gb,) + _mm_t_grads(xp, g, x, wt, needs[1:])


@op("linear_mm", saves="in", node="MmBackward0", needs_mask=True)
def _linear_mm(xp, x, wt):
    y, (x, wt, _) = _product_t_fwd(xp, None, x, wt)
    return y, (x, wt)


_linear_mm.vjp(holomorphic(_mm_t_grads))


def linear(input, weight, bias=None):
    if _grad.enabled and (input._rg or weight._rg or bias is not None and bias._rg):
        be = input.be
        if weight.be is be and (bias is None or bias.be is be) and be.idx != NESTED_IDX and \
                weight.arr.ndim == 2:
            return _linear_graph(input, weight, bias)
    return apply(_linear, (input, weight, bias))


def _linear_graph(x, w, b):
    """linear recording torch's graph of it: addmm(bias, input, weight.t()) for a 2-D input
    (mm without bias); for a contiguous 1-D or N-D one that product of its rows (a view), the
    result viewed back (_unsafe_view without bias); else matmul(input, weight.t()) plus the
    bias in place. One kernel computes the values (torch's profiler event aten::linear)."""
    if _amp.enabled:
        from ..amp.autocast import cast_args
        x, w, b = cast_args(_linear, (x, w, b))
    be = x.be
    xp, xa = be.xp, x.arr
    nd = xa.ndim
    folded = nd == 2 or nd and xa.flags.c_contiguous and (b is None and nd > 2 or b is not None
                                                          and (nd == 3 or b.arr.ndim == 1))
    if not folded and not (nd == 1 and b is None):
        _linear_checks(xa, w.arr, None if b is None else b.arr)
    # the views are made as the kernel's event's part (the profiler's aten::linear has torch's
    # aten::t, view, addmm inside): their Tensors from view_out, no op called
    if folded and nd != 2:
        rows, n = math.prod(xa.shape[:-1]), w.arr.shape[0]
        shape = (rows, xa.shape[-1])
        xv = xa.reshape(shape)
        if 1 in shape and 1 in xa.shape:    # (torch's strides at size-1 dims)
            xv = torch_reshaped(xp, xa, xv)
        if b is not None:   # torch's _flatten_nd_linear views the input before weight.t()
            x2 = view_out(_VIEW_OP, _view_fn, x, xv, (xa.shape,), (shape,))
    wta, wts = _swap_fwd(xp, w.arr, 0, 1)
    wt = view_out(_T_VIEW, _t_fn, w, wta, wts, wts)     # TBackward0 if the weight requires grad
    if not folded and not (nd == 1 and b is None):      # torch's matmul, then the bias
        out = matmul(x, wt)
        if b is not None:
            out.add_(b)
        return out
    args = (xp, xa, w.arr, None if b is None else b.arr)
    try:
        y, saved = _linear.impl[be.idx][0](*args)
    except RuntimeWarning:
        from ._apply import quiet
        y, saved = quiet(_linear.impl[be.idx][0], *args)
    if nd == 2:
        out = _product_t(b, x, wt, y)
    elif folded:
        if b is None:       # (torch's matmul views the input after weight.t())
            x2 = view_out(_VIEW_OP, _view_fn, x, xv, (xa.shape,), (shape,))
        y2 = _product_t(b, x2, wt, y.reshape(rows, n))
        if b is not None:
            out = view_out(_VIEW_OP, _view_fn, y2, y, (y2.arr.shape,), (y.shape,))
        else:                                   # _unsafe_view: no view of y2
            out = _new(y, be)
            out._rg = y2._rg
            if y2._rg:
                out.grad_fn = _node(_UNSAFE_VIEW_OP, _UNSAFE_VIEW_OP.impl[be.idx][1], be,
                                    (y2.arr.shape,), (y2,), (y.shape,))
    else:                                       # matmul's vector-matrix product
        out = _product_t(None, unsqueeze(x, 0), wt, y.reshape(1, -1)).squeeze_(0)
    if _fw.level is not None:
        _fw_propagate(_linear, (x, w, b), (), out, saved)
    return out


_T_VIEW, _VIEW_OP, _UNSAFE_VIEW_OP = _t_fn.op, _view_fn.op, _reshape_copy


def _product_t(b, x, wt, y):
    """The Tensor of y = [b +] x @ wt (2-D) with linear's AddmmBackward0 or MmBackward0 node."""
    be = x.be
    t = _new(y, be)
    if b is None:
        if x._rg or wt._rg:
            t._rg = True
            t.grad_fn = _linear_mm.node_cls(
                _linear_mm, _linear_mm.impl[be.idx][1], be.xp, (x.arr, wt.arr),
                (_edge(x), _edge(wt)), (x, wt), ())
    elif x._rg or wt._rg or b._rg:
        t._rg = True
        t.grad_fn = _linear_addmm.node_cls(
            _linear_addmm, _linear_addmm.impl[be.idx][1], be.xp, (x.arr, wt.arr, b.arr.shape),
            (_edge(b), _edge(x), _edge(wt)), (b, x, wt), ())
    return t


def _edge(t):
    return (t.grad_fn or t._leaf_node()) if t._rg else None


# ---- add + product (addmm, addmv, baddbmm, addbmm, addr) --------------------------------------
def _addprod_fwd(xp, c, a, b, beta, alpha, kind):
    low = c.dtype if c.dtype.itemsize == 2 and c.dtype.kind in "fV" else None
    if low is not None:     # float16/bfloat16: torch's CPU kernels compute in float, round once
        c, a, b = (t.astype(np.float32) for t in (c, a, b))
        if kind == "addbmm" and a.shape[0]:     # ... once per batch (a loop of addmm_)
            out = xp.broadcast_to(c, np.broadcast_shapes(c.shape, (a.shape[1], b.shape[2])))
            for i in range(a.shape[0]):
                p = xp.matmul(a[i], b[i])
                p = p * alpha if alpha != 1 else p
                out = (p if beta == 0 and i == 0 else (out * beta if i == 0 and beta != 1
                                                        else out) + p)
                out = out.astype(low).astype(np.float32)
            return out.astype(low), (a.astype(low), b.astype(low), beta, alpha, kind)
        out, saved = _addprod_fwd(xp, c, a, b, beta, alpha, kind)
        return out.astype(low), (saved[0].astype(low), saved[1].astype(low)) + saved[2:]
    p = xp.matmul(a, b)
    if kind == "addbmm":
        p = p.sum(0)
    if alpha != 1:
        p = p * alpha
    if beta == 0:
        out = xp.broadcast_to(p, np.broadcast_shapes(p.shape, c.shape)).copy()
    else:
        out = (c * beta if beta != 1 else c) + p
    return out.astype(c.dtype, copy=False), (a, b, beta, alpha, kind)


def _addprod_bwd(xp, g, a, b, beta, alpha, kind, needs):
    beta, alpha = beta.conjugate(), alpha.conjugate()       # complex scalars (torch: conj)
    gc = (g * beta if beta != 1 else g) if needs[0] else None
    ga = gb = None
    if kind == "addbmm":
        g = xp.broadcast_to(g, (a.shape[0],) + g.shape)
    if alpha != 1:
        g = g * alpha
    if needs[1]:
        ga = g[..., :, None] * b.conj() if kind == "addmv" else xp.matmul(g, _mH(b))
    if needs[2]:
        gb = xp.matmul(_mH(a), g[..., :, None])[..., 0] if kind == "addmv" else \
            xp.matmul(_mH(a), g)
    return gc, ga, gb


def _addprod_op(kind, node):
    amp = None if kind == "addmv" else "lower"
    o = op(kind, amp=amp, saves="in", node=node, needs_mask=True)(_addprod_fwd)
    return o.vjp(_addprod_bwd)


_ADDPROD = {k: _addprod_op(k, n) for k, n in (
    ("addmm", "AddmmBackward0"), ("addmv", "AddmvBackward0"), ("baddbmm", "BaddbmmBackward0"),
    ("addbmm", "AddbmmBackward0"))}


def _addprod_dtypes(kind, input, a, b):
    """Each add+product checks its dtypes in its own words (autocast casts them first)."""
    if _amp.enabled and _ADDPROD[kind].amp:
        return
    if kind == "addmv":
        _addmv_dtypes(input, a, b)
    elif kind == "baddbmm":
        if input.dtype != a.dtype:
            raise RuntimeError(f"Input dtypes must be the same, got: input "
                               f"{cname(input.dtype.np)}, "
                               f"batch1: {cname(a.dtype.np)}, batch2: {cname(b.dtype.np)}")
        _expect_scalar_type(a, b)
    else:                                   # addmm, addbmm
        for name, m in (("self", input), ("mat1", a)):
            if m.dtype != b.dtype:
                raise RuntimeError(f"{name} and mat2 must have the same dtype, but got "
                                   f"{_tn(m)} and {_tn(b)}")


_ADDPROD_KERNELS = {"addmm": "addmm_impl_cpu_", "addbmm": "addmm_impl_cpu_",
                    "addmv": "addmv_impl_cpu", "baddbmm": "baddbmm"}


def _addprod(kind, input, a, b, beta, alpha, out):
    if _amp.enabled and out is not None:
        return _uncast_out(_addprod, kind, input, a, b, beta, alpha, out=out)
    _addprod_dtypes(kind, input, a, b)
    dt = a.arr.dtype
    if dt.kind in "iub":
        if dt.kind == "b":
            raise not_implemented(_ADDPROD_KERNELS[kind], dt)
        # an integer kernel takes beta and alpha in its own type (truncated, checked)
        beta, alpha = int_scalar(beta, dt), int_scalar(alpha, dt)
    ka, kb = a.shape[-1], b.shape[0 if kind == "addmv" else -2]
    if ka != kb:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2]}x{ka} and "
                           f"{kb}x{b.shape[-1] if b.ndim > 1 else 1})")
    if input.dtype != a.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype} but found {a.dtype}")
    shape = (a.shape[-2],) if kind == "addmv" else (a.shape[-2], b.shape[-1])
    if kind == "baddbmm":
        shape = (a.shape[0],) + shape
    try:
        ok = np.broadcast_shapes(input.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        input.expand(shape)         # raises torch's error: its kernels expand the input
    return _finish(apply(_ADDPROD[kind], (input, a, b), (beta, alpha, kind)), out, kind, "resize")


def addmm(input, mat1, mat2, *deprecated, beta=1, alpha=1, out=None):
    if deprecated:          # torch's deprecated addmm(Number beta, ...)
        input, mat1, mat2, beta, alpha = beta_first("addmm", (input, mat1, mat2) + deprecated,
                                              ("mat1", "mat2"))
    tensor_args("addmm", ("input", 1, input), ("mat1", 2, mat1), ("mat2", 3, mat2))
    if mat1.ndim != 2 or mat2.ndim != 2:
        nested = next((t for t in (input, mat1, mat2) if t.is_nested), None)
        if nested is not None:      # (torch has no nested addmm)
            from ..nested._ops import _missing
            raise _missing(nested.arr, "addmm", "addmm.default")
        raise RuntimeError(f"{'mat1' if mat1.ndim != 2 else 'mat2'} must be a matrix, got "
                           f"{mat1.ndim if mat1.ndim != 2 else mat2.ndim}-D tensor")
    return _addprod("addmm", input, mat1, mat2, beta, alpha, out)


def addmv(input, mat, vec, *deprecated, beta=1, alpha=1, out=None):
    if deprecated:          # torch's deprecated addmv(Number beta, ...)
        input, mat, vec, beta, alpha = beta_first("addmv", (input, mat, vec) + deprecated,
                                              ("mat", "vec"))
    tensor_args("addmv", ("input", 1, input), ("mat", 2, mat), ("vec", 3, vec))
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    n = input.numel()
    if mat.shape[1] != vec.shape[0] or (mat.shape[0] != n and n != 1):
        if not input.ndim:      # torch's message takes input.size(0)
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({mat.shape[0]}x"
                           f"{mat.shape[1]}), vec ({vec.shape[0]})")
    return _addprod("addmv", input, mat, vec, beta, alpha, out)


def baddbmm(input, batch1, batch2, *deprecated, beta=1, alpha=1, out=None):
    if deprecated:          # torch's deprecated baddbmm(Number beta, ...)
        input, batch1, batch2, beta, alpha = beta_first("baddbmm", (input, batch1, batch2) + deprecated,
                                              ("batch1", "batch2"))
    tensor_args("baddbmm", ("input", 1, input), ("batch1", 2, batch1), ("batch2", 3, batch2))
    _check_batches(input, batch1, batch2, ((batch1, 0), (batch1, 1), (batch2, 2)))
    b, k = batch1.shape[0], batch1.shape[2]
    if batch2.shape[:2] != (b, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {k}] but got: [{batch2.shape[0]}, {batch2.shape[1]}].")
    return _addprod("baddbmm", input, batch1, batch2, beta, alpha, out)


def addbmm(input, batch1, batch2, *deprecated, beta=1, alpha=1, out=None):
    if deprecated:          # torch's deprecated addbmm(Number beta, ...)
        input, batch1, batch2, beta, alpha = beta_first("addbmm", (input, batch1, batch2) + deprecated,
                                              ("batch1", "batch2"))
    tensor_args("addbmm", ("input", 1, input), ("batch1", 2, batch1), ("batch2", 3, batch2))
    _check_batches(input, batch1, batch2, ((batch1, 1), (batch2, 2)))
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1.shape[0]} and {batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1.shape[1]}x"
                           f"{batch1.shape[2]} and {batch2.shape[1]}x{batch2.shape[2]})")
    return _addprod("addbmm", input, batch1, batch2, beta, alpha, out)


def _size(t, d):
    """t.size(d) with torch's IndexError where t has no such dim."""
    if t.ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    return t.shape[wrap_dim(d, t.ndim)]


def _check_batches(input, b1, b2, sizes_read):
    """torch reads the result's sizes (`sizes_read`: (tensor, dim) pairs) and expands `input`
    to them before it checks that both batches are 3-D."""
    from .shape import expand
    expand(input, [_size(t, d) for t, d in sizes_read])
    if b1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")


@op("addr", saves="in")
def _addr(xp, x, v1, v2, beta, alpha):
    prod = xp.expand_dims(v1 if alpha == 1 else v1 * alpha, 1) * v2    # torch's (alpha v1) v2
    if beta == 0:                   # input is ignored: its nan and inf do not propagate
        return prod + xp.zeros_like(x), (v1, v2, beta, alpha)
    return (x if beta == 1 else x * beta) + prod, (v1, v2, beta, alpha)


@_addr.vjp
def _(xp, g, v1, v2, beta, alpha):
    """torch's AddrBackward0: g beta, (g v2^*) alpha, (g^T v1^*) alpha."""
    return (g if beta == 1 else g * beta, xp.matmul(g, v2.conj()) * alpha,
            xp.matmul(_swap(g), v1.conj()) * alpha)


def _addr_node(x, v1, v2, beta, alpha):
    """Whether addr is one AddrBackward0 node: tensors of one floating dtype, vectors, an
    input that broadcasts to their outer product, real numbers for beta and alpha (other
    calls go through addr's general path, with its checks and dtype rules)."""
    if not (type(x) is Tensor and type(v1) is Tensor and type(v2) is Tensor and
            v1.arr.ndim == 1 and v2.arr.ndim == 1 and x.arr.ndim <= 2 and
            x.arr.dtype == v1.arr.dtype == v2.arr.dtype and x.arr.dtype.kind in "fc" and
            type(beta) in (int, float) and type(alpha) in (int, float)):
        return False
    shape = (v1.arr.shape[0], v2.arr.shape[0])
    return all(a in (1, b) for a, b in zip(x.arr.shape[::-1], shape[::-1]))


def addr(input, vec1, vec2, *deprecated, beta=1, alpha=1, out=None):
    if deprecated:          # torch's deprecated addr(Number beta, ...)
        input, vec1, vec2, beta, alpha = beta_first("addr", (input, vec1, vec2) + deprecated,
                                              ("vec1", "vec2"))
    if _addr_node(input, vec1, vec2, beta, alpha):
        if input.arr.dtype.itemsize == 2:       # the kernel's scalars are of its dtype
            beta, alpha = (float(np.asarray(v, input.arr.dtype).astype(np.float32))
                           for v in (beta, alpha))
        return _finish(apply(_addr, (input, vec1, vec2), (beta, alpha)), out, "addr")
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if isinstance(v, Tensor) and v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    try:
        prod = outer(vec1, vec2)
    except TypeError:
        raise_not_tensor("addr", ("vec1", 2, vec1), ("vec2", 3, vec2))
    if isinstance(input, Tensor) and input.shape != prod.shape:
        input.expand(prod.shape)    # raises torch's error where its kernel cannot expand input
    dt = prod.arr.dtype
    if dt.itemsize == 2 and dt.kind in "fV":    # the kernel's scalars are of its dtype
        beta, alpha = (float(np.asarray(v, dt).astype(np.float32)) if isinstance(
            v, (int, float)) else v for v in (beta, alpha))
    if alpha != 1 and isinstance(vec1, Tensor) and dt != np.bool_:
        prod = outer(vec1 * alpha, vec2)    # torch's order: (alpha * vec1) * vec2
        alpha = 1
    if prod.arr.dtype == np.bool_ and getattr(input, "arr", prod.arr).dtype == np.bool_:
        # torch's bool kernel: (beta and input) or (alpha and vec1 outer vec2)
        from .creation import zeros_like
        from .elementwise import logical_or
        kept = [t if c else zeros_like(t) for t, c in ((input, beta), (prod, alpha))]
        return _finish(logical_or(*kept), out, "addr")
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:                   # input is ignored: its nan and inf do not propagate
        from .creation import zeros_like
        return _finish(prod + zeros_like(input), out, "addr")
    return _finish((input if beta == 1 else input * beta) + prod, out, "addr")


_MULTI_DOT_OUT = "multi_dot(): expected out tensor to have dtype {cresult} but got {cout}"


def chain_matmul(*matrices, out=None):
    from .. import linalg
    for i, m in enumerate(matrices):    # (the argument parser's check, before the C++ op)
        if not isinstance(m, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(m).__name__}")
    # torch's C++ warning, from the _VF call in torch/functional.py: it lands here
    _warn_once("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
               "release. Use torch.linalg.multi_dot instead, which accepts a list of two or more "
               "tensors rather than multiple parameters.", stacklevel=1)
    for m in matrices:          # (torch's checks: every one a matrix, then one at least)
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:
        return _finish(matrices[0].clone(), out, "chain_matmul", _MULTI_DOT_OUT)
    return _finish(linalg.multi_dot(matrices), out, "chain_matmul", _MULTI_DOT_OUT)


# ---- einsum -----------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation, shapes):
    """Normalise an equation: explicit output, ellipses replaced by letters, and for each
    operand the shape it is broadcast to. Returns (in_subs, out_sub, full_shapes, sizes)."""
    eq = equation.replace(" ", "")
    raw_lhs, arrow, raw_rhs = equation.partition("->")
    lhs, rhs = raw_lhs.replace(" ", ""), raw_rhs if arrow else None
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation" if len(subs) < len(shapes) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    _check_einsum_labels(equation.split("->")[0])
    used = set(c for c in eq if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for i, (s, shp) in enumerate(zip(subs, shapes)):
        nl = len(s.replace("...", ""))
        if "..." in s:
            if nl > len(shp):
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) is "
                                   f"more than the number of dimensions ({len(shp)}) for operand "
                                   f"{i}")
            n_ell = builtins.max(n_ell, len(shp) - nl)
        elif nl != len(shp):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) does "
                               f"not match the number of dimensions ({len(shp)}) for operand {i}"
                               " and no ellipsis was given")
    ell = "".join(free[:n_ell])
    new_subs = []
    for s, shp in zip(subs, shapes):
        if "..." in s:
            k = len(shp) - len(s.replace("...", ""))
            pre = s.index("...")
            s = s[:pre] + ell[n_ell - k:] + s[pre + 3:]
        new_subs.append(s)
    sizes = {}
    for i, (s, shp) in enumerate(zip(new_subs, shapes)):
        here = {}
        for j, (c, n) in enumerate(zip(s, shp)):
            if c in here:           # a repeated subscript takes a diagonal: equal sizes only
                if n != here[c]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but "
                                       f"the sizes don't match, {n} != {here[c]}")
                continue
            here[c] = n
            prev = sizes.get(c, 1)
            if n != 1 and prev != 1 and n != prev:
                raise RuntimeError(f"einsum(): dimension {j} covered by ellipsis in operand {i}"
                                   f"has size {n} which does not broadcast with previously seen "
                                   "ellipsis with size {prev} for the respective dimension"
                                   .replace("{prev}", str(prev)) if c in ell else
                                   f"einsum(): subscript {c} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {prev}")
            sizes[c] = prev if n == 1 else n
    if rhs is None:
        counts = {}
        for s in new_subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    else:       # torch's scan of the output, character by character (spaces skipped)
        out, i = "", 0
        while i < len(rhs):
            c = rhs[i]
            if c == ".":
                if "..." in rhs[:i]:
                    raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was "
                                       "already found")
                if rhs[i:i + 3] != "...":
                    raise RuntimeError("einsum(): found '.' for output that is not part of any "
                                       "ellipsis (...)")
                out, i = out + ell, i + 3       # (an output without "..." sums those dims)
                continue
            if c != " ":
                if c not in _LETTERS:
                    raise RuntimeError(f"einsum(): invalid subscript given at index "
                                       f"{len(raw_lhs) + 2 + i} in the equation string, "
                                       "subscripts must be in [a-zA-Z]")
                if c in out:
                    raise RuntimeError(f"einsum(): output subscript {c} appears more than once "
                                       "in the output")
                if c not in sizes:
                    raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                       "equation for any input operand")
                out += c
            i += 1
    full = [tuple(sizes.get(c, 1) if n == 1 else n for c, n in zip(s, shp))
            for s, shp in zip(new_subs, shapes)]
    return tuple(new_subs), out, tuple(full), sizes


def _check_einsum_labels(lhs):
    """torch's scan of the operands' subscripts: letters, spaces, commas and one "..." each."""
    op, found, i = 0, False, 0
    while i < len(lhs):
        c = lhs[i]
        if c == ".":
            if found:
                raise RuntimeError(f"einsum(): found '.' for operand {op} for which an ellipsis "
                                   "was already found")
            if lhs[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {op} that is not part of "
                                   "any ellipsis")
            found, i = True, i + 3
            continue
        if c == ",":
            op, found = op + 1, False
        elif c != " " and c not in _LETTERS:
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               "string, subscripts must be in [a-zA-Z]")
        i += 1


def _einsum_optimize(subs, operands):
    """Whether NumPy's einsum should plan the contraction (BLAS through tensordot): always for
    three or more operands; for two float32/64 or complex operands when a label they share is
    summed and there are at least 2^16 multiply-adds (the planning costs ~15 us; its plain C
    loops run a 512^3 product 10x slower than BLAS)."""
    if len(operands) > 2:
        return True
    if len(operands) < 2 or operands[0].dtype.itemsize < 4 or operands[0].dtype.kind not in "fc":
        return False
    sizes = {}
    for sub, a in zip(subs, operands):
        sizes.update(zip(sub, a.shape))
    return bool(set(subs[0]) & set(subs[1]) - set(subs[2] if len(subs) > 2 else "")) and \
        math.prod(sizes.values()) >= 1 << 16


@op("einsum", saves="in", needs_mask=True)
def _einsum(xp, *arrays_and_static):
    *arrays, subs, out_sub, full = arrays_and_static
    ops_ = [a if a.shape == f else xp.broadcast_to(a, f) for a, f in zip(arrays, full)]
    # NumPy's einsum has no bfloat16 loops, and its float16 ones round as they go: torch's
    # einsum (bmm and sums) accumulates both in float32 and rounds once
    low = ops_[0].dtype.name in ("bfloat16", "float16")
    if low:
        ops_ = [a.astype(np.float32) for a in ops_]
    eq = ",".join(subs) + "->" + out_sub
    with np.errstate(all="ignore"):     # (NumPy's own module warns, past ember's filter)
        res = xp.asarray(xp.einsum(eq, *ops_,
                                   optimize=_einsum_optimize(list(subs) + [out_sub], ops_)))
    return res.astype(arrays[0].dtype) if low else res, (tuple(arrays), subs, out_sub, full)


@_einsum.vjp
def _(xp, g, arrays, subs, out_sub, full, needs):
    grads = []
    ops_ = [a if a.shape == f else xp.broadcast_to(a, f) for a, f in zip(arrays, full)]
    for k, (a, s) in enumerate(zip(arrays, subs)):
        if not needs[k]:
            grads.append(None)
            continue
        others = [(o.conj() if o.dtype.kind == "c" else o, t)
                  for j, (o, t) in enumerate(zip(ops_, subs)) if j != k]
        uniq = "".join(dict.fromkeys(s))
        present = set(out_sub).union(*[set(t) for _, t in others])
        keep = "".join(c for c in uniq if c in present)
        eq = ",".join([out_sub] + [t for _, t in others]) + "->" + keep
        with np.errstate(all="ignore"):
            gk = xp.einsum(eq, g, *[o for o, _ in others],
                           optimize=_einsum_optimize([out_sub] + [t for _, t in others] + [keep],
                                                     [g] + [o for o, _ in others]))
        gk = xp.asarray(gk)
        sizes = dict(zip(s, full[k]))
        if keep != uniq:                # letters only in this operand: broadcast over them
            shape = tuple(sizes[c] if c in keep else 1 for c in uniq)
            gk = xp.broadcast_to(gk.reshape(shape), tuple(sizes[c] for c in uniq))
        if len(uniq) != len(s):         # repeated letters: the gradient lives on a diagonal
            gfull = xp.zeros(full[k], gk.dtype)
            strides = tuple(builtins.sum(gfull.strides[i] for i, c in enumerate(s) if c == u)
                            for u in uniq)
            from .shape import _as_strided_arr
            _as_strided_arr(xp, gfull, gk.shape, strides)[...] = gk
            gk = gfull
        grads.append(_unbroadcast(xp, gk, a.shape))
    return tuple(grads)


def _unbroadcast(xp, g, shape):
    """Sum a gradient over the dims an operand was broadcast along (same rank)."""
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def einsum(*args):
    if len(args) < 1 or not isinstance(args[0], str):
        if len(args) >= 2 and isinstance(args[0], Tensor):      # sublist format
            return _einsum_sublist(args)
        raise TypeError("einsum(): argument 'equation' must be str")
    equation, operands = args[0], args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensor_elements(operands, 1)
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    from .shape import _common
    if _amp.enabled and _einsum.amp:        # CUDA autocast lowers einsum as a whole
        from ..amp.autocast import cast_args
        operands = cast_args(_einsum, operands)
    elif _amp.enabled or len({t.arr.dtype for t in operands}) > 1:
        # torch's einsum has no common dtype: its sums, products and bmm's each follow their
        # own rules (promoting, making integers int64, or refusing; CPU autocast lowers just
        # its bmm's), so take its path
        _common([t.detach() for t in operands], "einsum")        # the devices
        subs, out_sub, _, _ = _parse_einsum(equation, [t.arr.shape for t in operands])
        return _einsum_recorded(equation, operands, subs, out_sub)
    operands = _common(operands, "einsum")
    subs, out_sub, full, _ = _parse_einsum(equation, [t.arr.shape for t in operands])
    if operands[0].arr.dtype.kind in "biu" or _grad.enabled and any(t._rg for t in operands):
        # (integers: its sums make int64 and its bmm has no Bool kernel)
        return _einsum_recorded(equation, operands, subs, out_sub)
    return apply(_einsum, tuple(operands), (subs, out_sub, full))


def _einsum_recorded(equation, operands, subs, out_sub):
    """einsum as torch computes it (aten's einsum), so that the recorded graph is torch's:
    each operand takes diagonals for repeated labels, gets size-1 dims for the labels it
    lacks and is permuted to (output labels, contracted labels); operands are then contracted
    left to right, each pair by _sumproduct_pair (a bmm between permutes and views), after
    summing the dims that no later operand has. Untracked einsums use the fused kernel."""
    ell = sorted({c for c in "".join(subs) if c not in equation}, key=_LETTERS.index)
    order = list(out_sub) + [c for c in ell if c not in out_sub]
    order += sorted({c for c in "".join(subs) if c not in order}, key=lambda c: (c.islower(), c))
    where = {c: k for k, c in enumerate(order)}
    n_out, n_all = len(out_sub), len(order)
    counts = [0] * n_all
    ops_ = []
    for t, sub in zip(operands, subs):
        perm = [-1] * n_all
        dim = 0
        for c in sub:
            k = where[c]
            if perm[k] == -1:
                if t.shape[dim] != 1:
                    counts[k] += 1
                perm[k] = dim
                dim += 1
            else:                               # a repeated label: its diagonal
                t = t.diagonal(0, perm[k], dim).movedim(-1, perm[k])
        for k in range(n_all):
            if perm[k] == -1:
                t = t.unsqueeze(dim)
                perm[k] = dim
                dim += 1
        ops_.append(t.permute(perm))
    while len(ops_) > 1:
        a, b = ops_.pop(0), ops_.pop(0)
        pair, only_a, only_b = [], [], []
        for d in range(n_out, n_all):
            if a.shape[d] != 1 and b.shape[d] != 1:
                counts[d] -= 1
                if counts[d] == 1:
                    pair.append(d)
                    counts[d] = 0
            elif counts[d] == 1:
                if a.shape[d] != 1:
                    only_a.append(d)
                    counts[d] = 0
                elif b.shape[d] != 1:
                    only_b.append(d)
                    counts[d] = 0
        if only_a:
            a = a.sum(only_a, True)
        if only_b:
            b = b.sum(only_b, True)
        ops_.insert(0, _sumproduct_pair(a, b, pair))
    result = ops_[0]
    if n_all > n_out:
        if len(operands) > 1:
            return result.view(result.shape[:n_out])
        return result.sum(list(range(n_out, n_all)))
    return result


def _sumproduct_pair(left, right, sum_dims):
    """(left * right).sum(sum_dims, keepdim=True) through one bmm, as aten computes it."""
    if not sum_dims:
        return left * right
    lro, lo, ro = [], [], []
    lro_size = lo_size = ro_size = sum_size = 1
    for i in range(left.dim()):
        sl, sr = left.shape[i] != 1, right.shape[i] != 1
        if i in sum_dims:
            if sl and sr:
                sum_size *= left.shape[i]
            elif sl:
                left = left.sum(i, True)
            elif sr:
                right = right.sum(i, True)
        elif sl and sr:
            lro.append(i)
            lro_size *= left.shape[i]
        elif sl:
            lo.append(i)
            lo_size *= left.shape[i]
        else:
            ro.append(i)
            ro_size *= right.shape[i]
    out_size = [left.shape[d] for d in lro + lo] + [1] * len(sum_dims) + \
        [right.shape[d] for d in ro]
    back = [0] * len(out_size)
    for k, d in enumerate(lro + lo + sum_dims + ro):
        back[d] = k
    left = left.permute(lro + lo + sum_dims + ro).reshape(lro_size, lo_size, sum_size)
    right = right.permute(lro + sum_dims + ro + lo).reshape(lro_size, sum_size, ro_size)
    return bmm(left, right).view(out_size).permute(back)


def _einsum_sublist(args):
    args = list(args)
    out = args.pop() if len(args) % 2 else None
    ops_, parts = args[0::2], []
    for sub in args[1::2]:
        parts.append("".join("..." if s is Ellipsis else _LETTERS[s] for s in sub))
    eq = ",".join(parts)
    if out is not None:
        eq += "->" + "".join("..." if s is Ellipsis else _LETTERS[s] for s in out)
    return einsum(eq, *ops_)


def tensordot(a, b, dims=2, out=None):
    from .shape import permute, reshape
    tensor_args("tensordot", ("input", 1, a), ("other", 2, b))
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da = list(range(-dims, 0))          # as torch's, which its messages name
        db = list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    from .reduce import sum as _sum
    for x, y in zip(da, db):
        sx, sy = a.shape[wrap_dim(x, a.ndim)], b.shape[wrap_dim(y, b.ndim)]
        if sy == 1:             # a broadcast dim is summed away first, as torch's does
            a = _sum(a, x, True, dtype=a.dtype)
        elif sx == 1:
            b = _sum(b, y, True, dtype=b.dtype)
        elif sx != sy:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sx} in "
                               f"dim {x} and second has size {sy} in dim {y}")
    da = [wrap_dim(d, a.ndim) for d in da]
    db = [wrap_dim(d, b.ndim) for d in db]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = int(np.prod([a.shape[d] for d in da]))
    am = reshape(permute(a, fa + da), (-1, k))
    bm = reshape(permute(b, db + fb), (k, -1))
    # a full contraction is torch's dot, which CPU autocast leaves alone; else its mm
    from ..amp.autocast import uncast
    prod = uncast(mm, am, bm) if not (fa or fb) else mm(am, bm)
    res = reshape(prod, [a.shape[d] for d in fa] + [b.shape[d] for d in fb])
    return _finish(res, out, "tensordot",
                   "tensordot: Expected the output tensor to have dtype {result}, but got an "
                   "output tensor with dtype {out}")


def kron(input, other, *, out=None):
    from .shape import reshape
    tensor_args("kron", ("input", 1, input), ("other", 2, other))
    nd = builtins.max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (nd - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (nd - other.ndim) + tuple(other.shape))
    sa, sb = [], []
    for i in range(nd):
        sa += [a.shape[i], 1]
        sb += [1, b.shape[i]]
    prod = reshape(a, sa) * reshape(b, sb)
    r = reshape(prod, [a.shape[i] * b.shape[i] for i in range(nd)])
    if r.grad_fn is not None and type(r.grad_fn) is _VIEW:
        r.grad_fn.__class__ = _UNSAFE_VIEW       # torch's kron ends in _unsafe_view
    return _finish(r, out, "kron")


_VIEW, _UNSAFE_VIEW = _node_class("ViewBackward0"), _node_class("UnsafeViewBackward0")
_SQUEEZE_INPLACE = _node_class("SqueezeBackward4")


@op("linalg_cross", saves="in")
def _cross(xp, a, b, dim):
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = xp.broadcast_to(a, shape), xp.broadcast_to(b, shape)
    with np.errstate(all="ignore"):     # (NumPy's own module warns, past ember's filter)
        return xp.cross(a, b, axis=dim), (a, b, dim)


@_cross.vjp
def _(xp, g, a, b, dim):
    with np.errstate(all="ignore"):
        return xp.cross(b.conj(), g, axis=dim), xp.cross(g, a.conj(), axis=dim)


def _cross_dims(input, other, dim, name):
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    _check_batch(input.shape, other.shape)     # (torch's infer_size message)
    return d


def cross(input, other, dim=None, *, out=None):
    tensor_args("cross", ("input", 1, input), ("other", 2, other))
    if dim is None:     # torch's TORCH_WARN_ONCE, at the caller's line
        from .._warnings import warn_once
        warn_once("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                  "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                  "default value of dim will change to agree with that of linalg.cross in a "
                  "future release.")
        shape = np.broadcast_shapes(input.shape, other.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return _finish(_linalg_cross(input, other, dim=dim), out, "cross", "resize")


def _linalg_cross(input, other, *, dim=-1, out=None):
    tensor_args("linalg_cross", ("input", 1, input), ("other", 2, other))
    d = _cross_dims(input, other, dim, "linalg.cross")
    _expect_scalar_type(input, other)
    if input.arr.dtype == bool:
        raise not_implemented("cross", input.arr.dtype)
    return _finish(apply(_cross, (input, other), (d,)), out, "linalg_cross", "resize")


# ---- decompositions and solvers (public in ember.linalg; torch.* aliases below) ---------------
def _square(A, name, what="A"):
    """A: batches of square floating matrices (`name` as linalg.det; `what`: torch's name of
    the argument)."""
    if tensor_ndim(name.replace(".", "_"), A, what) < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    _floating(A, name)


# What torch says to a 2-byte float (which passes its floating-point check): the LAPACK kernel's
# dispatch error, or the function's own low-precision check
_LOW_KERNELS = {"linalg.lu": "lu_cpu", "linalg.lu_factor_ex": "lu_cpu", "linalg.det": "lu_cpu",
                "linalg.solve": "lu_cpu", "linalg.cholesky": "cholesky_cpu",
                "linalg.cholesky_ex": "cholesky_cpu", "linalg.qr": "geqrf_cpu",
                "linalg.svd": "linalg_svd_cpu",
                "linalg.svdvals": "linalg_svd_cpu", "linalg.cond": "linalg_svd_cpu",
                "linalg.eigh": "linalg_eigh_cpu",
                "linalg.eig": "linalg_eig_out_cpu", "linalg.solve_triangular":
                "triangular_solve_cpu"}
_NO_FLOAT_CHECK = {"linalg.eigh", "linalg.solve_triangular"}   # any dtype
_LOW_OWN_CHECK = {"linalg.inv_ex": "linalg.inv", "linalg.inv": "linalg.inv",
                  "linalg.slogdet": "linalg.slogdet", "logdet": "logdet"}


def lapack_only(A, kernel):
    """torch's LAPACK kernels dispatch on float, double and their complex types only."""
    dt = A.arr.dtype
    if dt.kind not in "fc" or dt.itemsize < 4:
        raise not_implemented(kernel, dt)


def _floating(A, name):
    try:
        dt = A.arr.dtype
    except AttributeError:      # torch.linalg's functions call their matrix A, the others input
        raise _not_tensor(name.replace(".", "_"), A, "A" if "." in name else "input") from None
    if dt.kind in "fc" and dt.itemsize >= 4:
        return
    if name == "linalg.pinv":
        raise RuntimeError(f"linalg.pinv({_tn(A)}{{{list(A.shape)}}}): expected a tensor with 2 "
                           "or more dimensions of float, double, cfloat or cdouble types")
    if name == "linalg.matrix_rank" and dt.kind in "fV":
        raise RuntimeError("This function doesn't handle types other than float and double")
    if dt.kind in "fV" or name in _NO_FLOAT_CHECK:
        if name in _LOW_KERNELS:
            raise not_implemented(_LOW_KERNELS[name], dt)
        if name in _LOW_OWN_CHECK:
            raise RuntimeError(f"{_LOW_OWN_CHECK[name]}: Low precision dtypes not supported. Got "
                               f"{_tn(A)}")
    raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                       f"{_tn(A)}")


def _lapack(fn, name, what):
    """Run a NumPy/CuPy linalg call, turning its LinAlgError into torch's."""
    try:
        return fn()
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{name}: {what}") from None


_SVD_FAILED = ("linalg.svd: The algorithm failed to converge because the input matrix "
               "is ill-conditioned or has too many repeated singular values.")


def _svd_of(xp, a, full_matrices):
    """xp.linalg.svd, its LinAlgError torch's, saying why as torch does (a non-finite input)."""
    try:
        return xp.linalg.svd(a, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        if not bool(xp.isfinite(a).all()):
            raise LinAlgError("linalg.svd: The algorithm failed to converge because the input "
                              "matrix contained non-finite values.") from None
        raise LinAlgError(_SVD_FAILED) from None


def _is_cupy(xp):
    return xp is not np and getattr(xp, "__name__", "") == "cupy"


def _check_finite_result(xp, r, name, what):
    """CuPy returns NaNs instead of raising for singular input."""
    if _is_cupy(xp) and not bool(xp.isfinite(r).all()):
        raise LinAlgError(f"{name}: {what}")


def _factorized(xp, fn, name, a, kind):
    """fn() (an inverse, solve or Cholesky factor of `a`), or torch's LinAlgError naming the
    first failing matrix and its pivot / minor (worked out only after a failure)."""
    from . import linalg_info as info
    try:
        r = fn()
        # CuPy never raises, NumPy's Cholesky not for a NaN: LAPACK's potrf stops at one
        if not (_is_cupy(xp) or kind == "cholesky") or bool(xp.isfinite(r).all()):
            return r
    except np.linalg.LinAlgError:
        r = None
    if kind == "cholesky":
        infos, template = info.cholesky_partial(a)[1], info.NOT_PD
    else:
        infos = info.lu_info(a)
        template = info.SINGULAR_INV if kind == "inv" else info.SINGULAR_SOLVE
    if r is not None and not infos.any():       # nan/inf came in, nothing failed
        return r
    raise LinAlgError(info.message(name, a.ndim, infos, template)) from None


_SINGULAR = ("The diagonal element is zero, the inversion could not be completed because the "
             "input matrix is singular.")


@op("linalg_inv_ex", saves="out", node="LinAlgInvExBackward0")
def _inv(xp, a):
    y = _factorized(xp, lambda: xp.linalg.inv(a), "linalg.inv", a, "inv")
    return y, (y,)


@_inv.vjp
def _(xp, g, y):
    yh = _mH(y)
    return (-xp.matmul(yh, xp.matmul(g, yh)),)


_inv.node_name = "LinalgInvExBackward0"


def _linalg_inv(A, *, out=None):
    _square(A, "linalg.inv")
    return _finish(apply(_inv, (A,)), out, "linalg_inv", "resize")


@op("linalg_det", saves="both")
def _det(xp, a):
    with np.errstate(invalid="ignore"):
        d = xp.asarray(xp.linalg.det(a))
    if a.shape[-1] and d.dtype.kind == "f" and not d.all():
        d = _signed_zeros(xp, a, d)
    return d, (a, d)


def _signed_zeros(xp, a, d):
    """torch's det of a singular matrix is the diagonal product of A^T's LU times the pivots'
    sign, a signed zero (NumPy's is sign * exp(logdet), +0)."""
    from .linalg_extra import _getrf
    lu, piv, _ = _getrf(xp, xp.swapaxes(a, -1, -2))
    n = a.shape[-1]
    swaps = (piv != xp.arange(1, n + 1, dtype=piv.dtype)).sum(-1)
    lu_det = xp.diagonal(lu, axis1=-2, axis2=-1).prod(-1)
    lu_det = xp.where(swaps % 2 == 1, -lu_det, lu_det)
    return xp.where(d == 0, xp.copysign(xp.zeros_like(d), lu_det), d)


@_det.vjp
def _(xp, g, a, d):
    return (_det_grad(xp, g, a, d),)


def _det_grad(xp, g, a, d):
    """d det(A) / dA = det(A) A^{-H}; through the SVD where A is singular (adjugate)."""
    if a.shape[-1] == 0:
        return xp.zeros(a.shape, g.dtype)
    gd = (g * d.conj())[..., None, None]
    if bool((d != 0).all()):
        try:
            return gd * _mH(xp.linalg.inv(a))
        except np.linalg.LinAlgError:
            pass
    u, s, vh = xp.linalg.svd(a)
    n = s.shape[-1]
    # adj(A)^H = det(U V^H)^* U diag(prod_{j != i} s_j) V^H
    prods = xp.stack([xp.prod(xp.concatenate([s[..., :i], s[..., i + 1:]], axis=-1), axis=-1)
                      for i in range(n)], axis=-1)
    sign = (xp.linalg.det(u) * xp.linalg.det(vh)).conj()
    adj_h = xp.matmul(u * prods[..., None, :], vh) * sign[..., None, None]
    return g[..., None, None] * adj_h


def _linalg_det(A, *, out=None):
    _square(A, "linalg.det")
    return _finish(apply(_det, (A,)), out, "linalg_det", "resize")


@op("linalg_slogdet", saves="both", n_out=2)
def _slogdet(xp, a):
    with np.errstate(invalid="ignore"):
        sign, lad = xp.linalg.slogdet(a)
    sign, lad = xp.asarray(sign), xp.asarray(lad)
    if bool(xp.isnan(lad).any()):              # torch: no sign for a NaN determinant
        sign = xp.where(xp.isnan(lad), 0, sign).astype(sign.dtype)
    if a.shape[-1] and sign.dtype.kind == "f" and not sign.all():
        sign = _signed_zeros(xp, a, sign)
    return (sign, lad), (a, sign)


@_slogdet.vjp
def _(xp, g, a, sign):
    g_sign, g_lad = g
    if a.dtype.kind == "c":     # torch: the phase of a complex sign contributes too
        g_lad = g_lad + 1j * (g_sign * sign.conj()).imag
    if a.shape[-1] == 0:
        return (xp.zeros(a.shape, g_lad.dtype),)
    if bool((sign != 0).all()):
        try:
            return (g_lad[..., None, None] * _mH(xp.linalg.inv(a)),)
        except np.linalg.LinAlgError:
            pass
    return (_singular_slogdet_grad(xp, g_lad, a),)


def _singular_slogdet_grad(xp, g_lad, a):
    """g A^{-H} for a singular A as torch finds it: solved with the LU factors (of A^T, its
    column-major view of A) whatever their zero pivots, the inf and nan they give kept (a
    complex division by zero is nan + nanj in its kernel)."""
    from .linalg_extra import _getrf, _lu_factors, _lu_solve_arrays
    with np.errstate(all="ignore"):
        lu, piv, _ = _getrf(xp, _swap(a))
        g = g_lad.conj()[..., None, None] * xp.eye(a.shape[-1], dtype=a.dtype)
        x = _lu_solve_arrays(xp, *_lu_factors(xp, lu, piv), g, True, False).conj()
    if x.dtype.kind == "c":
        x = xp.where(xp.isfinite(x), x, complex("nan+nanj"))
    return x


def _linalg_slogdet(A, *, out=None):
    _square(A, "linalg.slogdet")
    return _finish_tuple(apply(_slogdet, (A,)), out, "linalg_slogdet", SLOGDET, "resize")


def logdet(input):
    from .elementwise import log, where
    _square(input, "logdet", "input")
    sign, lad = _linalg_slogdet(input)
    if sign.is_complex():       # torch: log(sign) + log|det|
        return log(sign) + lad
    return where(sign < 0, float("nan"), lad)


def _is_vector_rhs(A, B):
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])


def _bsolve(xp, a, b):
    """xp.linalg.solve with NumPy's batch broadcasting (CuPy wants equal batch shapes)."""
    if getattr(xp, "__name__", "") == "cupy" and a.shape[:-2] != b.shape[:-2]:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = xp.broadcast_to(a, batch + a.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
    return xp.linalg.solve(a, b)


@op("linalg_solve_ex", saves="both")
def _solve(xp, a, b, vector, left):
    if not left:                        # X A = B  <=>  A^T X^T = B^T
        fn = lambda: _swap(_bsolve(xp, _swap(a), _swap(b)))          # noqa: E731
    elif vector:
        fn = lambda: _bsolve(xp, a, b[..., None])[..., 0]             # noqa: E731
    else:
        fn = lambda: _bsolve(xp, a, b)                                # noqa: E731
    x = _factorized(xp, fn, "torch.linalg.solve", a, "solve")
    x = f_order(xp, x) if left else c_order(xp, x)      # (torch's layouts of the two ways)
    return x, (a, x, vector, left)


@_solve.vjp
def _(xp, g, a, x, vector, left):
    if not left:                        # X = B A^{-1}: gB = g A^{-H}, gA = -X^H gB
        gb = _swap(_bsolve(xp, _swap(_mH(a)), _swap(g)))
        return -xp.matmul(_mH(x), gb), gb
    if vector:
        gb = _bsolve(xp, _mH(a), g[..., None])[..., 0]
        return -gb[..., :, None] * x.conj()[..., None, :], gb
    gb = _bsolve(xp, _mH(a), g)
    return -xp.matmul(gb, _mH(x)), gb


def _triangle(xp, a, upper, unit):
    """The triangle of `a` that torch's triangular kernels read (unit: ones on the diagonal)."""
    if not unit:
        return xp.triu(a) if upper else xp.tril(a)
    t = xp.triu(a, 1) if upper else xp.tril(a, -1)
    return t + xp.eye(a.shape[-1], dtype=a.dtype)


def _tri_solve(xp, t, b, upper, left=True):
    """X with t X = b (X t = b unless `left`), t triangular: solved as a general system, or
    by substitution through a zero on the diagonal (trsm's inf and nan)."""
    if t.shape[:-2] != b.shape[:-2]:      # (b is a matrix, whatever its shape)
        batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
        t, b = xp.broadcast_to(t, batch + t.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
    try:
        return _bsolve(xp, t, b) if left else _swap(_bsolve(xp, _swap(t), _swap(b)))
    except np.linalg.LinAlgError:
        from . import linalg_info as info
        x = info.tri_solve_host(t, b, upper) if left else \
            _swap(info.tri_solve_host(_swap(t), _swap(b), not upper))
        return xp.asarray(x)


@op("linalg_solve_triangular", saves="both")
def _solve_triangular(xp, a, b, upper, left, unit):
    x = _tri_solve(xp, _triangle(xp, a, upper, unit), b, upper, left)
    return x, (a, x, upper, left, unit)


@_solve_triangular.vjp
def _(xp, g, a, x, upper, left, unit):
    """torch's linalg_solve_triangular_backward: gB = op(A)^{-H} g, gA = -gB X^H (X^H gB when
    solving from the right) on A's triangle."""
    gb = _tri_solve(xp, _mH(_triangle(xp, a, upper, unit)), g, not upper, left)
    ga = -xp.matmul(gb, _mH(x)) if left else -xp.matmul(_mH(x), gb)
    return (xp.triu(ga, int(unit)) if upper else xp.tril(ga, -int(unit))), gb


@op("triangular_solve", saves="both", n_out=2)
def _triangular_solve(xp, b, a, upper, transpose, unit):
    t = _triangle(xp, a, upper, unit)
    x = _tri_solve(xp, _swap(t) if transpose else t, b, upper != transpose)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (x, xp.broadcast_to(a, batch + a.shape[-2:]).copy()), (a, x, upper, transpose, unit)


@_triangular_solve.vjp
def _(xp, g, a, x, upper, transpose, unit):
    """torch's triangular_solve_backward; the cloned coefficient's gradient goes to A whole."""
    gx, gm = g
    t = _triangle(xp, a, upper, unit)
    gb = _tri_solve(xp, t.conj() if transpose else _mH(t), gx, upper == transpose)
    ga = -xp.matmul(x.conj(), _swap(gb)) if transpose else -xp.matmul(gb, _mH(x))
    ga = xp.triu(ga, int(unit)) if upper else xp.tril(ga, -int(unit))
    return gb, ga + gm


def _chol_solve(xp, b, f, upper):
    """X with A X = B for A = U^H U (upper) or L L^H, from the one triangle of f."""
    t = _triangle(xp, f, upper, False)
    lo = _mH(t) if upper else t
    return _tri_solve(xp, _mH(lo), _tri_solve(xp, lo, b, False), True)


@op("cholesky_solve", saves="both")
def _cholesky_solve(xp, b, f, upper):
    x = _chol_solve(xp, b, f, upper)
    return x, (f, x, upper)


@_cholesky_solve.vjp
def _(xp, g, f, x, upper):
    """torch's cholesky_solve_backward, through all of f (not only its triangle)."""
    gb = _chol_solve(xp, g, f, upper)
    common = xp.matmul(gb, _mH(x))
    common = common + _mH(common)
    return gb, -(xp.matmul(f, common) if upper else xp.matmul(common, f))


def _linalg_solve(A, B, *, left=True, out=None):
    tensor_args("linalg_solve", ("A", 1, A), ("B", 2, B))
    if A.arr.dtype.kind not in "fcV":       # (torch's meta function's order of checks)
        _floating(A, "linalg.solve")
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A "
                           f"of type {_tn(A)} and B of type {_tn(B)} instead")
    vector = _is_vector_rhs(A, B)
    bs = B.shape + (1,) if vector else B.shape          # B as the matrix torch checks
    _square(A, "linalg.solve")
    if len(bs) < 2:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    n = A.shape[-1]
    if bs[-2 if left else -1] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {bs[-2]}x{bs[-1]})")
    _check_batch(bs[:-2], A.shape[:-2])         # (torch: B's batch as tensor a)
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                           "supported for left=False. In this case linalg.solve is equivalent "
                           "to B / A.squeeze(-1)")
    return _finish(apply(_solve, (A, B), (vector and left, left)), out, "linalg_solve", "resize")


def _cholesky_fwd(name):
    """The factorization, its errors named `name` (linalg.cholesky, or the deprecated
    torch.cholesky's cholesky)."""
    def fwd(xp, a, upper):
        # upper: LAPACK's 'U' reads A's upper triangle, the lower one of A^H
        h = _mH(a) if upper else a
        L = _factorized(xp, lambda: xp.linalg.cholesky(h), name, h, "cholesky")
        return (_mH(L) if upper else L), (L, upper)
    return fwd


def _cholesky_bwd(xp, g, L, upper):
    gl = _mH(g) if upper else g
    p = xp.tril(xp.matmul(_mH(L), gl))
    p = 0.5 * (p + _mH(xp.tril(p, -1)))
    # gA = L^{-H} P L^{-1}
    t = _bsolve(xp, _mH(L), p)
    return (_mH(_bsolve(xp, _mH(L), _mH(t))),)


_cholesky = op("linalg_cholesky_ex", saves="out")(_cholesky_fwd("linalg.cholesky")) \
    .vjp(_cholesky_bwd)
# torch.cholesky: the same factor and rule in torch's own node, CholeskyBackward0
_cholesky_deprecated = op("cholesky", saves="out")(_cholesky_fwd("cholesky")).vjp(_cholesky_bwd)


def _linalg_cholesky(A, *, upper=False, out=None, _op=_cholesky, _name="linalg.cholesky"):
    _square(A, _name, "input")
    return _finish(apply(_op, (A,), (bool(upper),)), out, "linalg_cholesky", "resize")


@op("linalg_qr", saves="out", n_out=2)
def _qr(xp, a, mode):
    if mode == "r":
        r = xp.linalg.qr(a, mode="r")
        return (xp.zeros((0,), a.dtype), r), (None, None, mode)
    q, r = xp.linalg.qr(a, mode=mode)
    return (q, r), (q, r, mode)


@_qr.vjp
def _(xp, g, q, r, mode):
    if q is None:
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    gq, gr = g
    m, n = q.shape[-2], r.shape[-1]
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    if m >= n:
        return (_qr_grad_tall(xp, gq, gr, q, r),)
    # A = Q [R1 | R2] with A1 = Q R1 square: R2 = Q^H A2
    r1, gr1, gr2 = r[..., :, :m], gr[..., :, :m], gr[..., :, m:]
    a2 = xp.matmul(q, r[..., :, m:])
    gq2 = gq + xp.matmul(a2, _mH(gr2))
    ga1 = _qr_grad_tall(xp, gq2, gr1, q, r1)
    return (xp.concatenate([ga1, xp.matmul(q, gr2)], axis=-1),)


def _qr_grad_tall(xp, gq, gr, q, r):
    """gA = (gQ + Q syminvadj(triu(gR R^H - Q^H gQ))) R^{-H}   (m >= n)."""
    m_ = xp.matmul(gr, _mH(r)) - xp.matmul(_mH(q), gq)
    m_ = xp.triu(m_)
    s = m_ + _mH(m_)
    n = s.shape[-1]
    idx = xp.arange(n)
    s[..., idx, idx] *= 0.5
    ga = xp.matmul(q, s) + gq
    # right-solve with R^H: X R^H = ga  <=>  R X^H = ga^H
    return _mH(_bsolve(xp, r, _mH(ga)))


def _linalg_qr(A, mode="reduced", *, out=None):
    if tensor_ndim("linalg_qr", A, "A") < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    return _finish_tuple(apply(_qr, (A,), (mode,)), out, "linalg_qr", QR, "resize")


# ---- geqrf and householder_product: QR in LAPACK's compact form, and its Q ---------------------
@op("geqrf", saves=None, n_out=2)
def _geqrf(xp, a):
    h, tau = xp.linalg.qr(a, mode="raw")
    return (_swap(h).copy(), tau), ()


@_geqrf.vjp
def _(xp, g):
    raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def _reflectors(xp, a, k):
    """The Householder vectors v_i of geqrf's compact form: unit diagonal, a's column below."""
    v = xp.tril(a[..., :k], -1)
    idx = xp.arange(k)
    v[..., idx, idx] = 1
    return v


def _reflect(xp, x, v, tau):
    """(I - tau v v^H) x for one reflector v (..., m) and x (..., m, n)."""
    w = xp.matmul(xp.conj(v)[..., None, :], x)
    return x - (tau[..., None, None] * v[..., :, None]) * w


def _eye_like(xp, a):
    return xp.broadcast_to(xp.eye(a.shape[-2], a.shape[-1], dtype=a.dtype), a.shape)


@op("linalg_householder_product")
def _householder_product(xp, a, tau):
    v = _reflectors(xp, a, tau.shape[-1])
    q = _eye_like(xp, a).copy()
    for i in reversed(range(tau.shape[-1])):
        q = _reflect(xp, q, v[..., i], tau[..., i])
    return q, (v, tau)


@_householder_product.vjp
def _(xp, g, v, tau):
    """Q = H_0 H_1 ... H_{k-1} I: walk the reflectors from the left, with the input X_i of
    each H_i = I - tau_i v_i v_i^H recomputed from the right."""
    k = tau.shape[-1]
    if not v.size:              # (torch: no gradients for an empty input)
        return None, None
    xs = [_eye_like(xp, g)]
    for i in range(k - 1, 0, -1):
        xs.append(_reflect(xp, xs[-1], v[..., i], tau[..., i]))
    xs.reverse()
    gv, gtau = xp.zeros(v.shape, g.dtype), xp.zeros(tau.shape, g.dtype)
    for i in range(k):
        vh, t = xp.conj(v[..., i])[..., None, :], tau[..., i]
        w, u = xp.matmul(vh, xs[i]), xp.matmul(vh, g)       # v^H X_i, v^H G_i
        gtau[..., i] = -(u * xp.conj(w)).sum((-2, -1))
        gv[..., i] = -(xp.conj(t)[..., None] * xp.matmul(g, _mH(w))[..., 0]
                       + t[..., None] * xp.matmul(xs[i], _mH(u))[..., 0])
        g = g - (xp.conj(t)[..., None, None] * v[..., i][..., :, None]) * u
    ga = xp.zeros(g.shape, g.dtype)
    ga[..., :k] = xp.tril(gv, -1)
    return ga, gtau


def _linalg_householder_product(A, tau, *, out=None):
    name = "torch.linalg.householder_product"
    if tensor_ndim("linalg_householder_product", A, "input") < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    tau_ndim = tensor_ndim("linalg_householder_product", tau, "tau", 2)
    if A.shape[-2] < A.shape[-1]:       # (torch's order: the shapes, then the ranks)
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if not tau_ndim:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tau_ndim != A.ndim - 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but "
                           f"got tau.ndim equal to {tau.ndim} and input.ndim is equal to "
                           f"{A.ndim}")
    if tau.shape[:-1] != A.shape[:-2]:
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(tau.shape[:-1])}")
    if tau.dtype != A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_tn(tau)} does not match input dtype {_tn(A)}")
    lapack_only(A, "orgqr_cpu")
    return _finish(apply(_householder_product, (A, tau)), out, "linalg_householder_product",
                   castable="torch.linalg.householder_product")


@op("linalg_svd", saves="out", n_out=3)
def _svd(xp, a, full_matrices):
    u, s, vh = _svd_of(xp, a, full_matrices)
    return (u, s, vh), (u, s, vh, full_matrices)


@_svd.vjp
def _(xp, g, u, s, vh, full_matrices):
    gu, gs, gvh = g
    k = s.shape[-1]
    if full_matrices and (u.shape[-1] != k or vh.shape[-2] != k):
        if bool(gu[..., k:].any()) or bool(gvh[..., k:, :].any()):
            raise RuntimeError("linalg_svd_backward: The singular vectors in the complex case "
                               "are specified up to multiplication by e^{i phi}... (not "
                               "differentiable for full_matrices=True with m != n)")
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
    return (_svd_grad(xp, gu, gs, gvh, u, s, vh),)


def _svd_grad(xp, gu, gs, gvh, u, s, vh):
    """torch's svd_backward (real and complex, full_matrices=False)."""
    m, n = u.shape[-2], vh.shape[-1]
    if gu is None and gvh is None:
        return xp.matmul(u * gs[..., None, :], vh)
    v, gv = _mH(vh), _mH(gvh)
    uhgu = xp.matmul(_mH(u), gu)
    vhgv = xp.matmul(vh, gv)
    uhgu = uhgu - _mH(uhgu)
    vhgv = vhgv - _mH(vhgv)
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None]
    idx = xp.arange(s.shape[-1])
    e[..., idx, idx] = 1
    ga = (uhgu * s[..., None, :] + s[..., :, None] * vhgv) / e
    ga[..., idx, idx] = ga[..., idx, idx] + gs
    if u.dtype.kind == "c":
        du, dv = uhgu[..., idx, idx], vhgv[..., idx, idx]
        _check_phase_invariant(xp, du.imag + dv.imag, dv.imag, "svd_backward: The singular "
                               "vectors in the complex case are specified up to multiplication "
                               "by e^{i phi}. The specified loss function depends on this phase "
                               "term, making it ill-defined.")
        ga[..., idx, idx] = ga[..., idx, idx] + du / (2 * s)
    if m > n:
        ga = xp.matmul(u, ga)
        gusinv = gu / s[..., None, :]
        ga = ga + gusinv - xp.matmul(u, xp.matmul(_mH(u), gusinv))
        return xp.matmul(ga, vh)
    if m < n:
        ga = xp.matmul(ga, vh)
        sinvgvh = _mH(gv) / s[..., :, None]
        ga = ga + sinvgvh - xp.matmul(xp.matmul(sinvgvh, v), vh)
        return xp.matmul(u, ga)
    return xp.matmul(u, xp.matmul(ga, vh))


def _cpu_driver(A, driver, name):
    if driver is not None and A.be.name != "cuda":
        raise RuntimeError(f"torch.linalg.{name}: keyword argument `driver=` is only supported "
                           "on CUDA inputs with cuSOLVER backend.")


def _linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    if tensor_ndim("linalg_svd", A, "A") < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.svd")
    _cpu_driver(A, driver, "svd")
    return _finish_tuple(apply(_svd, (A,), (bool(full_matrices),)), out, "linalg_svd", SVD,
                         "resize")


@op("linalg_svdvals", saves="out", node="LinalgSvdBackward0")
def _svdvals(xp, a):
    u, s, vh = _svd_of(xp, a, False)
    return s, (u, vh)


_svdvals.vjp(lambda xp, g, u, vh: (xp.matmul(u * g[..., None, :], vh),))


def _linalg_svdvals(A, *, driver=None, out=None):
    if tensor_ndim("linalg_svdvals", A, "A") < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.svd")         # (torch's svdvals checks as svd)
    _cpu_driver(A, driver, "svd")     # (torch names svd)
    return _finish(apply(_svdvals, (A,)), out, "linalg_svdvals", "resize")


_EIGH_FAILED = ("The algorithm failed to converge because the input matrix is ill-conditioned "
                "or has too many repeated eigenvalues.")


@op("linalg_eigh", saves="out", n_out=2)
def _eigh(xp, a, uplo):
    L, V = _lapack(lambda: xp.linalg.eigh(a, UPLO=uplo), "linalg.eigh", _EIGH_FAILED)
    return (L, V), (L, V)


@_eigh.vjp
def _(xp, g, L, V):
    gl, gv = g
    return (_eigh_grad(xp, gl, gv, L, V),)


def _check_phase_invariant(xp, diff, ref, msg):
    """torch's check that a loss does not depend on the phases of complex singular vectors or
    eigenvectors: allclose(diff, 0) with its lax rtol = atol = 1e-2 (relative to `ref`)."""
    if not bool((xp.abs(diff) <= 1e-2 + 1e-2 * xp.abs(ref)).all()):
        raise RuntimeError(msg)


def _eigh_grad(xp, gl, gv, L, V):
    """torch's linalg_eig_backward for Hermitian input."""
    if gv is None:
        return xp.matmul(V * gl[..., None, :], _mH(V))
    vhgv = xp.matmul(_mH(V), gv)
    if V.dtype.kind == "c":
        d = vhgv[..., xp.arange(L.shape[-1]), xp.arange(L.shape[-1])].imag
        _check_phase_invariant(xp, d, 0 * d, "linalg_eigh_backward: The eigenvectors in the "
                               "complex case are specified up to multiplication by e^{i phi}. The "
                               "specified loss function depends on this quantity, so it is "
                               "ill-defined.")
    vhgv = 0.5 * (vhgv - _mH(vhgv))
    e = L[..., None, :] - L[..., :, None]
    idx = xp.arange(L.shape[-1])
    e[..., idx, idx] = 1
    ga = vhgv / e
    ga[..., idx, idx] = gl
    return xp.matmul(V, xp.matmul(ga, _mH(V)))


def _linalg_eigh(A, UPLO="L", *, out=None):
    _square(A, "linalg.eigh", "input")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _finish_tuple(apply(_eigh, (A,), (UPLO,)), out, "linalg_eigh", EIGH, "resize")


@op("linalg_eig", saves="out", n_out=2, node="LinalgEigBackward0")
def _eig(xp, a):
    if not bool(xp.isfinite(a).all()):
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
    w, v = xp.linalg.eig(a)
    ct = np.complex128 if a.dtype.char in "dD" else np.complex64
    w, v = w.astype(ct, copy=False), v.astype(ct, copy=False)
    return (w, v), (w, v)


@_eig.vjp
def _(xp, g, L, V):
    """torch's linalg_eig_backward: V^{-H} (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / E*)
    V^H, E_ij = L_j - L_i; a loss depending on the eigenvectors' phases is refused."""
    gL, gV = g
    Vh = _mH(V)
    VhgV = xp.matmul(Vh, gV)
    diag = xp.diagonal(VhgV, 0, -2, -1)
    if not bool(xp.allclose(diag.imag, 0, rtol=1e-2, atol=1e-2)):
        raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are "
                           "specified up to multiplication by e^{i phi}. The specified loss "
                           "function depends on this quantity, so it is ill-defined.")
    ret = VhgV - xp.matmul(Vh, V * diag.real[..., None, :])
    Lc = xp.conj(L)
    E = Lc[..., None, :] - Lc[..., :, None]
    n = L.shape[-1]
    E[..., range(n), range(n)] = 1
    ret = ret / E
    ret[..., range(n), range(n)] = gL
    return (_bsolve(xp, Vh, xp.matmul(ret, Vh)),)


@op("linalg_eigvalsh", saves="out", node="LinalgEighBackward0")
def _eigvalsh(xp, a, uplo):
    L, V = _lapack(lambda: xp.linalg.eigh(a, UPLO=uplo), "linalg.eigh", _EIGH_FAILED)
    return L, (V,)


_eigvalsh.vjp(lambda xp, g, V: (xp.matmul(V * g[..., None, :], _mH(V)),))


def _linalg_eigvalsh(A, UPLO="L", *, out=None):
    tensor_ndim("linalg_eigvalsh", A, "input")
    _square(A, "linalg.eigh")           # (torch's checks are eigh's)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _finish(apply(_eigvalsh, (A,), (UPLO,)), out, "linalg_eigvalsh", "resize")


def _pinv_fwd(xp, a, atol, rtol, hermitian):
    if not a.size:
        p = xp.zeros(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)
        return p, (a, p)
    if hermitian:
        L, V = _lapack(lambda: xp.linalg.eigh(a), "linalg.eigh", _EIGH_FAILED)
        absl = xp.abs(L)
        smax = absl.max(axis=-1, keepdims=True)
        tol = xp.maximum(atol, rtol * smax)
        linv = xp.where(absl > tol, 1 / xp.where(absl > tol, L, 1), 0).astype(L.dtype)
        p = xp.matmul(V * linv[..., None, :], _mH(V))
    else:
        u, s, vh = _svd_of(xp, a, False)
        smax = s.max(axis=-1, keepdims=True)
        tol = xp.maximum(atol, rtol * smax)
        sinv = xp.where(s > tol, 1 / xp.where(s > tol, s, 1), 0).astype(s.dtype)
        p = xp.matmul(_mH(vh) * sinv[..., None, :], _mH(u))
    return p.astype(a.dtype, copy=False), (a, p)


def _pinv_bwd(xp, g, a, p):
    """torch's pinv_backward."""
    m, n = a.shape[-2], a.shape[-1]
    ph, gh = _mH(p), _mH(g)
    mm_ = xp.matmul
    if m <= n:
        k = mm_(gh, p)
        kph = mm_(k, ph)
        return (-_mH(mm_(p, k)) + kph - mm_(mm_(a, p), kph) + mm_(mm_(ph, p), gh - mm_(k, a)),)
    k = mm_(p, gh)
    phk = mm_(ph, k)
    return (-_mH(mm_(k, p)) + mm_(mm_(gh - mm_(a, k), p), ph) + phk - mm_(mm_(phk, p), a),)


_pinv = op("linalg_pinv", saves="both")(_pinv_fwd).vjp(_pinv_bwd)


@op("linalg_lstsq", saves="both", n_out=2)
def _lstsq(xp, a, b, rtol, vector, residuals):
    """(solution, residuals) of min |A X - B| by A's pseudo-inverse (rtol as lstsq's rcond);
    residuals (None, "sum" or "zero"): the squared residual of each column, or empty."""
    p = _pinv_fwd(xp, a, 0.0, rtol, False)[0]
    bm = b[..., None] if vector else b
    x = xp.matmul(p, bm)
    if residuals:
        r = xp.matmul(a, x) - bm
        res = (r.real * r.real + r.imag * r.imag if r.dtype.kind == "c" else r * r).sum(-2)
        res = res[..., 0] if vector else res
        if residuals == "zero":     # (LAPACK's gels zeroes B when A has no columns)
            res = res * 0
    else:
        res = xp.zeros((0,), a.real.dtype)
    sol = x[..., 0] if vector else _in_lapack_buffer(xp, x, max(a.shape[-2:]))
    return (sol, res), (a, b, sol, vector, rtol)


def _in_lapack_buffer(xp, x, rows):
    """x (n, k) as the first rows of a column-major (rows, k) buffer: gels' solution, as
    torch hands it back (strides (1, rows))."""
    buf = xp.swapaxes(xp.empty(x.shape[:-2] + (x.shape[-1], rows), x.dtype), -1, -2)
    buf[..., :x.shape[-2], :] = x
    return buf[..., :x.shape[-2], :]


@_lstsq.vjp
def _(xp, g, a, b, sol, vector, rtol):
    """torch's linalg_lstsq_backward: through pinv(A) (its default tolerance) for the
    solution; the residuals' 2 (A X - B) gL X^H for A and -2 (A X - B) gL for B."""
    gx, gl = g
    m, n = a.shape[-2:]
    default = max(m, n) * float(np.finfo(a.real.dtype).eps)
    p = _pinv_fwd(xp, a, 0.0, default, False)[0]
    bm, x = (b[..., None], sol[..., None]) if vector else (b, sol)
    gx = gx[..., None] if vector else gx
    ga = _pinv_bwd(xp, xp.matmul(gx, _mH(bm)), a, p)[0]
    gb = xp.matmul(_mH(p), gx)
    if gl.size:
        r = xp.matmul(a, x) - bm
        rg = 2 * r * (gl[..., None, None] if vector else gl[..., None, :])
        ga = ga + xp.matmul(rg, _mH(x))
        gb = gb - rg
    return ga, (gb[..., 0] if vector else gb)


def _linalg_pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """torch.linalg.pinv; `rcond` is torch's older overload (atol 0, rtol rcond)."""
    if rcond is not None:
        _complex_tol(rcond, "pinv", "rcond")
        atol, rtol = 0.0, rcond
    if tensor_ndim("linalg_pinv", A, "A") < 2:
        raise RuntimeError("linalg.pinv(" + _tn(A) + "{" + str(list(A.shape)) + "}): expected a "
                           "tensor with 2 or more dimensions of float, double, cfloat or cdouble "
                           "types")
    _floating(A, "linalg.pinv")
    _complex_tol(atol, "pinv", "atol")
    _complex_tol(rtol, "pinv", "rtol")
    if hermitian and A.numel():         # (through eigh, whose checks torch's are; torch
        _square_shape(A, "linalg.eigh")     # returns early for an empty A)
    atol, rtol = (_pinv_tol(A, t) for t in (atol, rtol))
    if rtol is None:            # (torch: the default where atol is not positive)
        default = builtins.max(A.shape[-2:]) * float(np.finfo(A.arr.dtype).eps)
        rtol = default if atol is None else (0.0 if atol > 0 else default) if isinstance(
            atol, float) else A.be.xp.where(atol > 0, 0.0, default)
    atol = 0.0 if atol is None else atol
    return _finish(apply(_pinv, (A,), (atol, rtol, bool(hermitian))), out, "linalg_pinv",
                   castable="linalg.pinv")


def _complex_tol(tol, fn, name):
    """torch refuses a complex tolerance tensor (pinv's and matrix_rank's)."""
    if isinstance(tol, Tensor) and tol.arr.dtype.kind == "c":
        raise RuntimeError(f"torch.linalg.{fn}: {name} tensor of complex type is not supported. "
                           f"Got {_tn(tol)}")


def _pinv_tol(A, tol):
    """A pinv tolerance: a number, or a tensor of (a shape broadcasting to) A's batch shape,
    as an array against the singular values (..., 1)."""
    if not isinstance(tol, Tensor):
        return None if tol is None else float(tol)
    if not tol.ndim:
        return float(tol.item())
    if np.broadcast_shapes(tol.shape, A.shape[:-2]) != A.shape[:-2]:
        raise NotImplementedError("linalg.pinv: tolerances broadcasting beyond the batch of A "
                                  "are not supported")
    return A.be.xp.asarray(tol.detach().arr, dtype=np.float64)[..., None]


def pinverse(input, rcond=1e-15):
    return _linalg_pinv(input, rtol=rcond)


def _linalg_matrix_power(A, n, *, out=None):
    tensor_ndim("linalg_matrix_power", A, "input")
    _square(A, "linalg.matrix_power") if A.arr.dtype.kind in "fc" and A.arr.dtype.itemsize > 2 \
        else \
        _square_shape(A, "linalg.matrix_power")
    n = int_arg(n, "linalg_matrix_power", "n", 2)
    if n in (0, 1):     # torch: a clone of A (overwritten by the identity: CopyBackwards)
        from .creation import eye
        r = A.clone()
        if n == 0:
            r = r.copy_(eye(A.shape[-1], dtype=A.dtype, device=A.device))
        return _finish(r, out, "linalg_matrix_power", castable="matrix_power")
    if n < 0:
        A = _linalg_inv(A)
        n = -n
    result, z = None, A
    while n:
        if n & 1:
            result = z if result is None else matmul(result, z)
        n >>= 1
        if n:
            z = matmul(z, z)
    return _finish(result, out, "linalg_matrix_power", "resize", castable="matrix_power")


def _square_shape(A, name):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


# ---- vector norm (the primitive behind linalg.norm / matrix_norm 'fro') -----------------------
@op("linalg_vector_norm", saves="both")
def _vector_norm(xp, x, ord, dims, keepdim):
    r = ordered_norm(x, ord, dims, keepdim) if xp is np else None      # torch's order
    if r is not None:
        return r, (x, r, ord, dims, keepdim)
    a = xp.abs(x)
    out_dtype = a.dtype
    if a.dtype.itemsize == 2:           # half and bfloat16 accumulate in float, as torch
        a = a.astype(np.float32)
    if ord == 2:
        r = xp.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
    elif ord == float("inf"):
        r = a.max(axis=dims, keepdims=keepdim) if a.size else xp.zeros(
            _kept_shape(a.shape, dims, keepdim), a.dtype)
    elif ord == -float("inf"):
        r = a.min(axis=dims, keepdims=keepdim)
    elif ord == 0:
        r = (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)
    elif ord == 1:
        r = ureduce("add", a, dims, keepdim)
    else:
        r = ureduce("add", a ** ord, dims, keepdim) ** (1.0 / ord)
    r = xp.asarray(r).astype(out_dtype, copy=False)
    return r, (x, r, ord, dims, keepdim)


def norm2_all(xp, x):
    """torch's 2-norm of all of a contiguous float32/64 NumPy array (its last-dim kernel on the
    flattened array, _norm2). None elsewhere (torch's other reductions of norms take other
    orders)."""
    if xp is not np or x.dtype.char not in "fd" or not x.flags.c_contiguous or not x.size:
        return None
    return norm2(x.reshape(-1), None)


def _kept_shape(shape, dims, keepdim):
    dims = range(len(shape)) if dims is None else dims
    return tuple(1 if i in dims else s for i, s in enumerate(shape) if keepdim or i not in dims)


@_vector_norm.vjp
def _(xp, g, x, r, p, dims, keepdim):
    """torch's linalg_vector_norm_backward."""
    if not keepdim and x.ndim:
        axes = tuple(range(x.ndim)) if dims is None else dims
        g, r = xp.expand_dims(g, axes), xp.expand_dims(r, axes)
    sgn = xp.sign(x) if x.dtype.kind != "c" else x / xp.where(x == 0, 1, xp.abs(x))
    zero = xp.zeros((), g.dtype)
    if p == 0:                  # (torch: no gradient at all, not zeros)
        return (None,)
    if p == 1:
        return (sgn * g,)
    if p == 2:
        return (g * xp.where(r == 0, zero, x / xp.where(r == 0, 1, r)),)
    if p in (float("inf"), -float("inf")):
        a = xp.abs(x)
        mask = ((a == r) | xp.isnan(a)).astype(g.dtype)
        count = mask.sum(axis=dims, keepdims=True)
        return (sgn * (g / count) * mask,)
    a = xp.abs(x)
    if p < 1:
        scaled = sgn * xp.where(x == 0, zero, a ** (p - 1))
        return (scaled * g * r ** (1 - p),)
    scaled = sgn * a ** (p - 1) if p < 2 else x * a ** (p - 2)
    scale = xp.where(r == 0, zero, g / xp.where(r == 0, 1, r ** (p - 1)))
    return (scaled * scale,)


@op("dist", saves="in", node="DistBackward0")
def _dist(xp, x, y, ord):
    """torch.dist: the norm of x - y over all elements, one node with both inputs' edges."""
    d = x - y
    r, (_, r, ord, dims, keepdim) = _vector_norm.impl[0][0](xp, d, ord, None, False)
    return r, (d, r, ord)


@_dist.vjp
def _(xp, g, d, r, ord):
    gd, = _vector_norm.impl[0][1](xp, g, d, r, ord, None, False)
    return gd, -gd


def dist(input, other, p=2):
    if input.dtype != other.dtype:
        return _linalg_vector_norm(input - other, p)
    return apply(_dist, (input, other), (float(p),))


def _norm_dtype(x, dtype, name):
    """A norm's dtype= as torch's check_linalg_norm_dtype checks it."""
    from .._dtype import promote_types, to_dtype
    dtype = to_dtype(dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"{name}: dtype should be floating point or complex, but got "
                           f"{_tname_of(dtype)}")
    if dtype.is_complex != x.dtype.is_complex:
        kind = "complex" if x.dtype.is_complex else "real"
        raise RuntimeError(f"{name}: dtype should be {kind} for {kind} inputs, but got "
                           f"{_tname_of(dtype)}")
    if promote_types(x.dtype, dtype) != dtype:
        raise RuntimeError(f"{name}: the dtype of the input ({_tn(x)}) should be convertible "
                           f"without narrowing to the specified dtype ({_tname_of(dtype)})")
    return dtype


def _linalg_vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    try:
        real = not (x.dtype.is_floating_point or x.dtype.is_complex)
    except AttributeError:
        raise _not_tensor("linalg_vector_norm", x) from None
    if real:
        _floating(x, "linalg.vector_norm")
    given = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if x.numel() == 0 and (ord < 0 or ord == float("inf")):    # (torch's meta function)
        shown = int(ord) if isinstance(ord, float) and ord.is_integer() else ord
        if not given:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {shown} norm on an empty "
                               "tensor because the operation does not have an identity")
        for d in given:
            if x.shape[wrap_dim(d, x.ndim)] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {shown} norm on the "
                                   f"dimension {d}because this dimension is empty and the "
                                   "operation does not have an identity")
    if dtype is not None:
        x = x.to(_norm_dtype(x, dtype, "linalg.vector_norm"))
    if isinstance(dim, int):
        dim = (dim,)
    dims = None if dim is None else tuple(sorted(unique_dims(dim, x.ndim)))
    if not x.ndim:
        dims = None
    if dims is not None and not dims:
        dims = None
    ord = float(ord)
    return _finish(apply(_vector_norm, (x,), (ord, dims, bool(keepdim))), out,
                   "linalg_vector_norm", "resize")


SLOGDET = _return_type("linalg_slogdet", ("sign", "logabsdet"))
QR = _return_type("linalg_qr", ("Q", "R"))
SVD = _return_type("linalg_svd", ("U", "S", "Vh"))
EIGH = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_TORCH_SVD = _return_type("svd", ("U", "S", "V"))
_TORCH_QR = _return_type("qr", ("Q", "R"))
_TORCH_SLOGDET = _return_type("slogdet", ("sign", "logabsdet"))
_GEQRF = _return_type("geqrf", ("a", "tau"))


def is_tensor_like(x):
    return isinstance(x, Tensor)


# ---- torch.* and Tensor.* spellings (ember.linalg holds the torch.linalg ones) --------------
def inverse(input, *, out=None):
    return _linalg_inv(input, out=out)


def det(input):
    return _linalg_det(input)


def slogdet(input, *, out=None):
    return _finish_tuple(tuple(_linalg_slogdet(input)), out, "slogdet", _TORCH_SLOGDET,
                         "resize")


def cholesky(input, upper=False, *, out=None):
    tensor_ndim("cholesky", input)
    _warn_once("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be "
               "removed in a future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced "
               "with\nL = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\n"
               "should be replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform will "
               "produce equivalent results for all valid (symmetric positive definite) inputs.")
    if not input.numel() and not (input.requires_grad and _grad.enabled and input.ndim >= 2 and
                                  input.shape[-1] == input.shape[-2]):
        # (torch's early return, before any check; under autograd still a CholeskyBackward0)
        from .creation import empty_like
        return _finish(empty_like(input), out, "cholesky")
    _square_shape(input, "cholesky")
    lapack_only(input, "cholesky_cpu")
    return _linalg_cholesky(input, upper=upper, out=out, _op=_cholesky_deprecated,
                            _name="cholesky")


def qr(input, some=True, *, out=None):
    _warn_once("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
               "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
               "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\nQ, R = "
               "torch.linalg.qr(A, 'reduced' if some else 'complete')")
    return _finish_tuple(tuple(_linalg_qr(input, "reduced" if some else "complete")), out, "qr",
                         _TORCH_QR, "resize")


def geqrf(input, *, out=None):
    if tensor_ndim("geqrf", input) < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    lapack_only(input, "geqrf_cpu")
    return _finish_tuple(apply(_geqrf, (input,)), out, "geqrf", _GEQRF,
                         castable=(("torch.geqrf", "a"), ("torch.geqrf", "tau")))


def orgqr(input, tau):
    return _linalg_householder_product(input, tau)


def _expm(xp, a):
    """exp(A) by scaling and squaring of a degree-18 Taylor polynomial (one scaling for the
    whole batch)."""
    n = a.shape[-1]
    norms = xp.abs(a).sum(axis=-2).max(axis=-1)
    finite = xp.isfinite(norms)            # a matrix with an infinity or NaN gives NaN (torch)
    norm = float(xp.where(finite, norms, 0).max()) if norms.size else 0.0
    s = builtins.max(0, int(math.ceil(math.log2(norm))) + 1) if norm > 0 else 0
    x = a / (2 ** s) if s else a
    ident = xp.broadcast_to(xp.eye(n, dtype=a.dtype), a.shape)
    term, result = ident, ident
    for k in range(1, 19):
        term = xp.matmul(term, x) / k
        result = result + term
    for _ in range(s):
        result = xp.matmul(result, result)
    if not bool(finite.all()):
        result = xp.where(finite[..., None, None], result, np.nan)
    return result


@op("linalg_matrix_exp", saves="in", node="LinalgMatrixExpBackward0")
def _matrix_exp(xp, a):
    return _expm(xp, a), (a,)


@_matrix_exp.vjp
def _(xp, g, a):
    """torch's differential_analytic_matrix_function: the upper right block of
    exp([[A^H, G], [0, A^H]])."""
    n = a.shape[-1]
    ah = xp.conj(xp.swapaxes(a, -1, -2)) if a.dtype.kind == "c" else xp.swapaxes(a, -1, -2)
    z = xp.zeros(a.shape, a.dtype)
    block = xp.concatenate((xp.concatenate((ah, g), axis=-1),
                            xp.concatenate((z, ah), axis=-1)), axis=-2)
    if block.dtype in (np.float32, np.complex64):      # closer to torch's than float32's own
        return (_expm(xp, block.astype(np.complex128 if block.dtype.kind == "c" else
                                       np.float64))[..., :n, n:].astype(block.dtype),)
    return (_expm(xp, block)[..., :n, n:],)


def matrix_exp(input):
    tensor_ndim("linalg_matrix_exp", input, "input")
    if input.dtype in (_dtype.float16, _dtype.bfloat16):     # no LAPACK: in float32, rounded
        return matrix_exp(input.float()).to(input.dtype)
    _square(input, "linalg.matrix_exp")
    if input.numel() == 0:
        return input.clone()
    return apply(_matrix_exp, (input,))


def svd(input, some=True, compute_uv=True, *, out=None):
    tensor_ndim("svd", input)
    if not compute_uv:
        from .creation import zeros
        s = _linalg_svdvals(input)
        m, n = input.shape[-2:]
        z = input.shape[:-2]
        return _finish_tuple((zeros((*z, m, m), dtype=input.dtype, device=input.device), s,
                              zeros((*z, n, n), dtype=input.dtype, device=input.device).mT),
                             out, "svd", _TORCH_SVD, "resize")
    u, s, vh = _linalg_svd(input, full_matrices=not some)
    from .shape import transpose
    v = transpose(vh, -2, -1)
    return _finish_tuple((u, s, v.conj() if v.is_complex() else v), out, "svd", _TORCH_SVD,
                         "resize")


def matrix_power(input, n):
    return _linalg_matrix_power(input, n)


def _inplace_products():
    from ._apply import inplace
    return (inplace(addmm, "addmm"), inplace(addmv, "addmv"), inplace(baddbmm, "baddbmm"),
            inplace(addbmm, "addbmm"), inplace(addr, "addr"))


addmm_, addmv_, baddbmm_, addbmm_, addr_ = _inplace_products()


contiguous_outputs("linalg_vector_norm")       # torch allocates norms along dims contiguous
# torch's cross results, and solve's for left=False, are contiguous where NumPy's follow a
# permuted operand (a .view() of them worked in torch only)
contiguous_outputs("linalg_cross")
# LAPACK's results are column-major in torch (solve_ex's: for left=True, in its forward)
column_major_outputs("linalg_inv_ex", "linalg_cholesky_ex", "cholesky", "linalg_solve_triangular",
                     "cholesky_solve", "linalg_householder_product")
column_major_outputs("linalg_qr", "triangular_solve", which=(0, 1))
column_major_outputs("linalg_svd", which=(0, 2))
column_major_outputs("linalg_eigh", "linalg_eig", which=(1,))
column_major_outputs("geqrf", which=(0,))
