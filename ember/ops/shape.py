"""Shape and view ops. Views share storage and the version counter with their base.

Contract (see _registry.py): `fwd(xp, *arrays, *static) -> (out, saved)`, `bwd(xp, g, *saved)`.
View ops are wrapped by `make_view` (the output aliases the input's storage); everything else
copies, as torch does (flip, roll, repeat, cat, tril ...)."""
from operator import index as _index
import builtins
import collections.abc
from math import prod as _prod

import numpy as np

from .. import _float8
from .._dtype import PROMOTE, to_dtype
from .._nested_array import NestedShape
from .. import _sparse_coo
from .._sparse_coo import SparseCOO
from .._sparse_coo import _FLAGS as _SPARSE_FLAGS
from .._layout import sparse_coo, strided
from .._tensor import Size, Tensor, _new, bump_version, dense_strides
from .._memory_format import is_channels_last, odd_units, preserve_format, relaid
from ..amp.state import AMP as _amp
from ..autograd.grad_mode import STATE as _grad
from ._apply import _overlaps, add_at
from ._apply import _fw, _fw_inplace, _fw_propagate, _missing_arg, _node, _can_write, \
    _finish as _finish_out, _tname as _type_name, apply, inplace, make_unary, \
    make_view, multi_view, raise_not_tensor, tensor_arg, tensor_args, tensor_elements, \
    tensor_ndim, view_out, write_into
from ._dims import int_arg, unique_dims, wrap_dim
from ._view_geometry import as_strided_arr as _as_strided_arr, as_torch_view, \
    torch_reshaped, torch_strided as _strided, torch_view
from ._overlap import check as check_overlap, check_out as check_out_overlap
from ._registry import NESTED_IDX, contiguous_outputs, no_complex_grad, op
from ._torch_sum import torch_sum
from ..autograd.node import node_class as _node_class
from ..autograd._thin import MIN_BYTES as _THIN_MIN


# ---- helpers ----------------------------------------------------------------------------------
def _shape_arg(shape, name="view"):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if type(s) is not int:
            break
    else:
        return shape                # the common case
    out = []
    for s in shape:
        try:
            out.append(s.__index__())
        except AttributeError:
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}") from None
    return tuple(out)


def _dims_arg(dims, fn="permute"):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    for d in dims:
        if type(d) is not int:
            return tuple([int_arg(d, fn, "dims", 1) for d in dims])
    return dims


_min = builtins.min


def infer_shape(shape, numel):
    known = _prod(shape)
    if known == numel and (not shape or _min(shape) >= 0):     # (no size negative: no -1)
        return shape
    if shape == (-1,):              # view(-1): the checks below pass
        return (numel,)
    if known < 0 and builtins.min(shape) == -1 and shape.count(-1) == 1 and not numel % known:
        i = shape.index(-1)         # (one -1, the other sizes positive: the checks below pass)
        return shape[:i] + (numel // -known,) + shape[i + 1:]
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for i, s in enumerate(shape):
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape "
                                   f"{list(shape)}")
            known *= s
    if neg:
        if known == 0 and numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        if known == 0:
            raise RuntimeError(f"cannot reshape tensor of {numel} elements into shape "
                               f"{list(shape)} because the unspecified dimension size -1 can be "
                               "any value and is ambiguous")
        if numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _reshape_nocopy(xp, a, shape):
    """`a` reshaped without copying, or None when its strides do not allow it."""
    if a.flags.c_contiguous:
        return a.reshape(shape)
    if xp is np:
        try:
            return np.reshape(a, shape, copy=False)
        except ValueError:
            return None
    r = a.view()
    try:
        r.shape = shape
    except AttributeError:
        return None
    return r


def _reshape_back(xp, g, shape):
    if 1 in shape and g.size and (1 in g.shape or not g.flags.c_contiguous):
        # a view of g where it is one (torch's strides at size-1 dims), else a copy
        r = g.reshape(shape) if g.flags.c_contiguous else _reshape_nocopy(xp, g, shape)
        if r is not None:
            return (torch_reshaped(xp, g, r),)
    return (g.reshape(shape),)


def _view_op(name, fwd, bwd, node=None):
    o = op(name, saves=None, node=node)(fwd)
    o.vjp(bwd)
    return make_view(o)


# ---- view / reshape ---------------------------------------------------------------------------
def _view_fwd(xp, x, shape):
    r = x.reshape(shape) if x.flags.c_contiguous else _reshape_nocopy(xp, x, shape)
    if r is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    if 1 in r.shape and x.size and (1 in x.shape or not x.flags.c_contiguous):
        r = torch_reshaped(xp, x, r)    # (torch's strides at size-1 dims)
    return r, (x.shape,)


_view_fn = _view_op("view", _view_fwd, _reshape_back)
# torch's reshape of a viewable but non-contiguous tensor (_reshape_alias)
_reshape_alias_fn = _view_op("reshape_alias", _view_fwd, _reshape_back, "ReshapeAliasBackward0")


@op("reshape_copy", saves=None, node="UnsafeViewBackward0")
def _reshape_copy(xp, x, shape):
    return x.reshape(shape), (x.shape,)


_reshape_copy.vjp(_reshape_back)
_reshape_copy_fn = make_unary(_reshape_copy)


_VIEW = _view_fn.op
_VIEW_IMPL = _VIEW.impl


def _contiguous_view(input, dims):
    """view (and reshape) to int sizes `dims` (none below -1) of a non-empty C-contiguous NumPy
    tensor: _view_fn's steps without their calls, NumPy's reshape resolving a -1 and checking
    the element count as infer_shape does; None for another tensor, sizes NumPy refuses (torch's
    errors are infer_shape's), or while the kernel is wrapped (profiler, FLOP counter)."""
    a = getattr(input, "arr", None)
    if type(a) is not np.ndarray or not a.flags.c_contiguous or not a.size or \
            _VIEW_IMPL[0][0] is not _view_fwd:
        return None
    try:
        r = a.reshape(dims)
    except (ValueError, OverflowError):
        return None
    if 1 in r.shape and 1 in a.shape:
        r = torch_reshaped(np, a, r)
    return view_out(_VIEW, _view_fn, input, r, (a.shape,), (r.shape,))


def _int_sizes(args):
    """view's, reshape's and expand's sizes given as ints (none below -1) or as one tuple or
    Size of them: that tuple; else None (the general argument parsing)."""
    dims = args[0] if len(args) == 1 and (args[0].__class__ is tuple or
                                          args[0].__class__ is Size) else args
    for s in dims:
        if type(s) is not int or s < -1:
            return None
    return dims


def view(input, *shape, size=None, dtype=None):
    if shape and size is None and dtype is None:
        dims = _int_sizes(shape)
        if dims is not None:        # ints, or a tuple of ints: the steps below
            t = _contiguous_view(input, dims)
            if t is not None:
                return t
            try:
                n = input.arr.size
            except AttributeError:
                n = None
            if n is not None:       # (a Size as a tuple, as _shape_arg gives it)
                return _view_fn(input, infer_shape(tuple(dims), n))
    if size is not None or dtype is not None:
        shape = (size if dtype is None else dtype,)
    elif not shape:
        raise TypeError("view() received an invalid combination of arguments - got (), but "
                        "expected one of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")
    if len(shape) == 1 and type(shape[0]) is not int and \
            not isinstance(shape[0], (int, tuple, list, Size)) and \
            not hasattr(shape[0], "__index__"):
        return _view_dtype(input, shape[0])
    try:
        size = input.arr.size
    except AttributeError:      # a nested tensor
        from ..nested._ops import view as nested_view
        return nested_view(input, shape)
    return _view_fn(input, infer_shape(_shape_arg(shape), size))


def _view_dtype(input, dtype):
    dt = to_dtype(dtype)
    a = input.arr
    if type(input._vc) is not list and input._vc is not None:  # a conjugate view or its imag
        from .elementwise import is_conj, is_neg
        what = ("conjugate view tensors" if is_conj(input) else
                "tensors with negative bit set" if is_neg(input) else None)
        if what:
            raise RuntimeError(f"torch.Tensor.view is not supported for {what} when converting "
                               "to a different dtype.")
    if dt.np.itemsize != a.itemsize:
        _check_view_dtype(input, dt.np)
    if input.be.name == "cuda" and _float8.is_float8(dt.np):
        _float8.refuse_on_cuda(dt.np)
    t = _new((a if a.size else _strided(a)).view(dt.np), input.be)
    vc = input._vc      # torch's dtype view shares the version counter but is no view for
    if vc is None:      # autograd (no _base): a recorded write into it leaves input untracked
        vc = input._vc = [0, 0]
    t._vc = vc
    return t


def _check_view_dtype(input, np_dtype):
    """torch's checks of a view as a dtype of another element size, in its order."""
    a = input.arr
    what = f"to view {_type_name(a.dtype)} as {_type_name(np_dtype)} (different element sizes)"
    if not a.ndim:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    ratio = np_dtype.itemsize // a.itemsize
    if ratio > 1 and a.shape[-1] % ratio:
        raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got "
                           f"{a.shape[-1]}")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if ratio > 1:
        if input.storage_offset() % ratio:
            raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, but "
                               f"got {input.storage_offset()}")
        for i, st in enumerate(strides[:-1]):
            if st % ratio:
                raise RuntimeError(f"self.stride({i}) must be divisible by {ratio} {what}, but "
                                   f"got {st}")


# ---- complex views: real, imag, view_as_real, view_as_complex --------------------------------
def _not_complex(name):
    return RuntimeError(f"{name} is only supported for complex tensors")


# (an empty x: torch's strides first, see _strided: NumPy's zeroed strides have no meaning)
_real_fn = _view_op("real", lambda xp, x: ((x.real if x.size else _strided(x).real), (x.dtype,)),
                    lambda xp, g, dt: (g.astype(dt),), node="SelectBackward0")
_imag_fn = _view_op("imag", lambda xp, x: ((x.imag if x.size else _strided(x).imag), (x.dtype,)),
                    lambda xp, g, dt: ((g * 1j).astype(dt, copy=False),), node="SelectBackward0")


def real(input):
    """The real part of a complex tensor (a view); a real tensor is returned as it is."""
    if getattr(getattr(input, "arr", None), "dtype", None) is not None and \
            input.arr.dtype.kind != "c":
        return input
    return _real_fn(input)


def imag(input):
    """The imaginary part of a complex tensor (a view)."""
    if getattr(getattr(input, "arr", None), "dtype", None) is not None and \
            input.arr.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _imag_fn(input)


def _view_as_real_fwd(xp, x):
    if x.dtype.kind != "c":
        raise _not_complex("view_as_real")
    if not x.size:
        x = _strided(x)
    return x[..., None].view(x.real.dtype), ()


def _view_as_complex_fwd(xp, x):
    from ._apply import _tname
    if x.dtype not in (np.float32, np.float64):
        if x.dtype == np.float16:
            raise RuntimeError("view_as_complex: ComplexHalf (complex32) is not supported by ember")
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, "
                           f"but got a tensor of scalar type: {_tname(x.dtype)}")
    if not x.ndim:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    cd = np.complex64 if x.dtype == np.float32 else np.complex128
    if not x.size:              # torch's strides, checked as torch checks them
        st = dense_strides(x)
        if st[-1] != 1:
            raise RuntimeError("Tensor must have a last dimension with stride 1")
        if any(v % 2 for v in st[:-1]):
            raise RuntimeError("Tensor must have a stride divisible by 2 for all but last "
                               "dimension")
        y = xp.empty(x.shape[:-1], cd)
        return _as_strided_arr(xp, y, y.shape, tuple([v // 2 * y.itemsize for v in st[:-1]])), ()
    if x.strides[-1] != x.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s, n in zip(x.strides[:-1], x.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return x.view(cd)[..., 0], ()


_view_as_real_fn = _view_op("view_as_real", _view_as_real_fwd,
                            lambda xp, g: (g[..., 0] + 1j * g[..., 1],))
_view_as_complex_fn = _view_op("view_as_complex", _view_as_complex_fwd,
                               lambda xp, g: (xp.stack([g.real, g.imag], -1),))


def view_as_real(input):
    if isinstance(input, Tensor) and input.arr.dtype.kind == "c" and input.is_conj():
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To "
                           "resolve the conjugate tensor so you can view it as real, use "
                           "self.resolve_conj(); however, be warned that the resulting tensor "
                           "will NOT alias the original.")
    return _view_as_real_fn(input)


def view_as_complex(input):
    if isinstance(input, Tensor) and input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return _view_as_complex_fn(input)


def reshape(input, *args, shape=None):
    if args and shape is None:
        dims = _int_sizes(args)
        if dims is not None:        # of a contiguous NumPy tensor: the steps below
            t = _contiguous_view(input, dims)
            if t is not None:
                return t
    if not args and shape is None:
        raise _missing_arg("reshape", "shape")
    try:
        size = input.arr.size
    except AttributeError:
        if isinstance(input, Tensor):   # a nested tensor (no flat size): its view
            from ..nested._ops import view as nested_view
            return nested_view(input, args if shape is None else (shape,), "reshape")
        raise_not_tensor("reshape", ("input", 1, input))
    shape = infer_shape(_shape_arg(args if shape is None else (shape,), "reshape"), size)
    a = input.arr
    if type(a) is np.ndarray and a.flags.c_contiguous:    # (_reshape_nocopy's first case)
        return _view_fn(input, shape)
    recording = _grad.enabled and input._rg
    try:
        viewable = _reshape_nocopy(input.be.xp, a, shape) is not None
    except NotImplementedError:
        if isinstance(input.arr, SparseCOO):
            raise RuntimeError("reshape is not implemented for sparse tensors") from None
        raise
    if viewable:
        if recording and not input.arr.flags.c_contiguous:
            return _reshape_alias_fn(input, shape)
        return _view_fn(input, shape)
    if recording:       # torch's graph: a contiguous clone, then _unsafe_view
        input = input.contiguous()
    return _reshape_copy_fn(input, shape)


def view_as(input, other):
    if type(other) is not Tensor:
        tensor_args("view_as", ("other", 1, other))
    shp = other.arr.shape
    return view(input, *shp) if type(shp) is tuple and shp else view(input, other.shape)


def reshape_as(input, other):
    if type(other) is not Tensor:
        tensor_args("reshape_as", ("other", 1, other))
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    try:
        a = input.arr
        nd = a.ndim
    except AttributeError:
        raise_not_tensor("flatten", ("input", 1, input))
    if start_dim == 0 and end_dim == -1 and nd > 1 and type(a) is np.ndarray and \
            type(start_dim) is int and type(end_dim) is int and a.flags.c_contiguous and \
            _VIEW_IMPL[0][0] is _view_fwd:      # x.flatten(): the general code's result
        shape = (a.size,)
        r = a.reshape(shape)
        return view_out(_VIEW, _view_fn, input, torch_reshaped(np, a, r) if a.size == 1 else r,
                        (a.shape,), (shape,))
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if nd == 0:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = a.shape
    if type(shp) is NestedShape:        # (torch's refusals, before reshape's)
        from ..nested._ops import flatten_check
        flatten_check(a, s, e)
    shape = shp[:s] + (_prod(shp[s:e + 1]),) + shp[e + 1:]
    if type(a) is np.ndarray and a.flags.c_contiguous:    # (reshape's first case)
        return _view_fn(input, shape)
    return reshape(input, shape)


def ravel(input):
    return reshape(input, (-1,))


def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input.ndim)
    sizes = _shape_arg((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if not input.ndim:      # (torch's message goes on with its C++ stack)
        raise RuntimeError(f"unflatten got an unexpected error:\nDimension specified as {dim} "
                           "but tensor has no dimensions")
    shp = input.arr.shape
    n = shp[d]
    if -1 in sizes:         # (several -1s are infer_shape's error)
        known = _prod([s for s in sizes if s != -1])
        bad = sizes.count(-1) == 1 and (n % known if known else n)
    else:
        bad = _prod(sizes) != n
    if bad:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({n}) in the input tensor")
    if -1 in sizes:
        sizes = infer_shape(sizes, n)
    if type(shp) is tuple:      # (view's steps for a dense tensor's sizes, all ints)
        return _view_fn(input, infer_shape(shp[:d] + sizes + shp[d + 1:], input.arr.size))
    return view(input, input.shape[:d] + sizes + input.shape[d + 1:])


# ---- permutations -----------------------------------------------------------------------------
def _torch_strided(xp, y, st):
    """y, an empty NumPy view, with torch's strides `st` (in elements): NumPy zeroes a new
    empty array's strides, so its views' strides are not torch's."""
    st = tuple([v * y.itemsize for v in st])
    return y if st == y.strides else _as_strided_arr(xp, y, y.shape, st)


def _empty_permuted(xp, x, dims):
    y = x.transpose(dims)
    if xp is np:
        st = dense_strides(x)
        y = _torch_strided(xp, y, [st[d] for d in dims])
    return y


def _permute_fwd(xp, x, dims):
    return (x.transpose(dims) if x.size else _empty_permuted(xp, x, dims)), (dims,)


_permute_fn = _view_op("permute", _permute_fwd,
                       lambda xp, g, dims: (g.transpose(tuple(np.argsort(dims))),))
_PERMUTE = _permute_fn.op


# permute's dims (ints, as given) already checked -> wrapped: valid for len(dims) dimensions
_PERMS = {}


def permute(input, *args, dims=None):
    if not args and dims is None:
        raise _missing_arg("permute", "dims")
    dims = _dims_arg(args if dims is None else (dims,))
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("permute", ("input", 1, input))
    p = _PERMS.get(dims)
    if p is not None and len(p) == nd:
        a = input.arr
        if type(a) is np.ndarray and a.size and _PERMUTE.impl[0][0] is _permute_fwd:
            # (_permute_fn's steps inline)
            return view_out(_PERMUTE, _permute_fn, input, a.transpose(p), (p,), (p,))
        return _permute_fn(input, p)
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    p = tuple([d if type(d) is int and 0 <= d < nd else wrap_dim(d, nd) for d in dims])
    if len(set(p)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    if len(_PERMS) < 256:
        _PERMS[dims] = p
    return _permute_fn(input, p)


def _swap_fwd(xp, x, d0, d1):
    return ((x.swapaxes(d0, d1) if x.size else _empty_permuted(xp, x, _swapped(x.ndim, d0, d1)))
            if d0 != d1 else x[...]), (d0, d1)      # (a 0-d x: 0, 0)


def _swapped(n, d0, d1):
    dims = list(range(n))
    dims[d0], dims[d1] = d1, d0
    return dims


def _swap_bwd(xp, g, d0, d1):
    return (g.swapaxes(d0, d1) if d0 != d1 else g,)


_transpose_fn = _view_op("transpose", _swap_fwd, _swap_bwd)
_t_fn = _view_op("t", _swap_fwd, _swap_bwd, node="TBackward0")


def _swap_view(fn, input, d0, d1):
    """fn(input, d0, d1) for _transpose_fn or _t_fn, dims wrapped: for a non-empty NumPy tensor
    and two dims, _swap_fwd's array made here and its Tensor by view_out, without fn's and the
    forward's calls (fn's own while the kernel is wrapped: profiler, FLOP counter)."""
    o = fn.op
    a = input.arr
    if type(a) is np.ndarray and d0 != d1 and a.size and o.impl[0][0] is _swap_fwd:
        return view_out(o, fn, input, a.swapaxes(d0, d1), (d0, d1), (d0, d1))
    return fn(input, d0, d1)


def transpose(input, dim0, dim1):
    try:
        nd = input.arr.ndim
    except AttributeError:
        raise_not_tensor("transpose", ("input", 1, input))
    if type(dim0) is int and type(dim1) is int and -nd <= dim0 < nd and -nd <= dim1 < nd:
        return _swap_view(_transpose_fn, input, dim0 % nd, dim1 % nd)
    return _transpose_fn(input, wrap_dim(int_arg(dim0, "transpose", "dim0", 1), nd),
                         wrap_dim(int_arg(dim1, "transpose", "dim1", 2), nd))


swapaxes = swapdims = transpose


def t(input, name="t"):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor(name, ("input", 1, input))
    if nd > 2:
        raise RuntimeError(f"{name}() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return _swap_view(_t_fn, input, 0, 1) if nd == 2 else _t_fn(input, 0, 0) if nd == 1 else \
        _alias_fn(input, ())


def adjoint(input):
    return _matrix_transpose(input, "adjoint")


# name -> (how torch's messages call it, the 0-D deprecation's advice)
_MATRIX_T = {"mT": ("Tensor.mT", "This function is the identity in these cases."),
             "mH": ("Tensor.mH", "Consider using x.conj()."),
             "adjoint": ("adjoint()", "Consider using x.conj().")}


def _matrix_transpose(input, name):
    """x.mT, x.mH, x.adjoint(): the last two dims swapped (and conjugated, but for mT); 0-D
    tensors are deprecated (mT is the identity, the others conjugate), 1-D ones refused."""
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor(name, ("input", 1, input))
    if nd == 1:
        what = "tensor." + ("adjoint()" if name == "adjoint" else name)
        raise RuntimeError(f"{what} is only supported on matrices or batches of matrices. Got "
                           "1-D tensor.")
    if nd == 0:
        import warnings
        label, advice = _MATRIX_T[name]
        warnings.warn(f"{label} is deprecated on 0-D tensors. {advice}", UserWarning,
                      stacklevel=3)
        return input if name == "mT" else input.conj()
    t = transpose(input, -2, -1)
    return t if name == "mT" else t.conj()


def movedim(input, source, destination):
    nd = input.ndim
    if isinstance(source, int) != isinstance(destination, int):
        raise TypeError("movedim() received an invalid combination of arguments - got "
                        f"({type(source).__name__}, {type(destination).__name__}), but expected "
                        "(int source, int destination) or (tuple of ints source, tuple of ints "
                        "destination)")
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = [wrap_dim(d, nd) for d in src]
    dst = [wrap_dim(d, nd) for d in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    order = [None] * nd
    for s, d in zip(src, dst):
        if nd == 0:                 # a 0-d tensor's dim 0 (or -1) is itself
            break
        order[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, order)


moveaxis = movedim


# ---- squeeze / unsqueeze / expand ------------------------------------------------------------
def _squeeze_fwd(xp, x, dims):
    if not dims and type(x) is np.ndarray:      # nothing squeezed: an alias
        return x.reshape(x.shape), (x.shape, dims)
    return x.reshape([s for i, s in enumerate(x.shape) if i not in dims]), (x.shape, dims)


def _squeeze_back(xp, g, shape, dims):
    """SqueezeBackward's unsqueeze_to: g with the squeezed size-1 dims `dims` of `shape` put
    back, strided as torch's unsqueeze makes them (not as a view's)."""
    if not dims:
        return (g.reshape(shape),)
    return (_insert_units(xp, g, sorted(dims)),)


_squeeze_all = _view_op("squeeze", _squeeze_fwd, _squeeze_back)
_squeeze_dim = _view_op("squeeze_dim", _squeeze_fwd, _squeeze_back, node="SqueezeBackward1")
_squeeze_dims = _view_op("squeeze_dims", _squeeze_fwd, _squeeze_back, node="SqueezeBackward2")


_SQUEEZE_ALL, _SQUEEZE_DIM = _squeeze_all.op, _squeeze_dim.op


def squeeze(input, dim=None):
    a = getattr(input, "arr", None)
    if type(a) is np.ndarray and (dim is None or type(dim) is int):
        shp = a.shape       # (_squeeze_fwd's array made here: no unit dim, or an int dim)
        nd = len(shp)
        if dim is None:
            if _SQUEEZE_ALL.impl[0][0] is _squeeze_fwd:
                if 1 not in shp:
                    return view_out(_SQUEEZE_ALL, _squeeze_all, input, a.reshape(shp),
                                    (shp, ()), ((),))
                dims = tuple([i for i, s in enumerate(shp) if s == 1])
                return view_out(_SQUEEZE_ALL, _squeeze_all, input,
                                a.reshape(tuple([s for s in shp if s != 1])), (shp, dims),
                                (dims,))
        elif nd and -nd <= dim < nd and _SQUEEZE_DIM.impl[0][0] is _squeeze_fwd:
            d = dim + nd if dim < 0 else dim
            if shp[d] == 1:
                return view_out(_SQUEEZE_DIM, _squeeze_dim, input,
                                a.reshape(shp[:d] + shp[d + 1:]), (shp, (d,)), ((d,),))
            return view_out(_SQUEEZE_DIM, _squeeze_dim, input, a.reshape(shp), (shp, ()), ((),))
    try:
        nd, shp = input.ndim, input.arr.shape
    except AttributeError:
        raise_not_tensor("squeeze", ("input", 1, input))
    if dim is None:
        try:
            return _squeeze_all(input, tuple([i for i, s in enumerate(shp) if s == 1])
                                if type(shp) is not tuple or 1 in shp else ())
        except RuntimeError as e:
            if type(shp) is NestedShape and type(e) is RuntimeError:   # (a strided one's sizes)
                raise RuntimeError("squeeze(): For nested tensors, squeeze without the dim "
                                   "argument is not supported at the moment, however you can "
                                   "use squeeze(Tensor self, int dim) instead if you need this "
                                   "feature, please open an issue on github describing your "
                                   "use case.") from None
            raise
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, nd) for d in dim) if nd else ()
        if len(set(dims)) < len(dims):
            d = next(d for i, d in enumerate(dims) if d in dims[:i])
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return _squeeze_dims(input, tuple(d for d in dims if shp[d] == 1))
    d = wrap_dim(dim, nd)
    if nd and shp[d] == 1:
        return _squeeze_dim(input, (d,))
    # a no-op; but a nested tensor's batch dim goes to its kernel, which refuses it as torch
    return _squeeze_dim(input, (0,) if d == 0 and input.be.idx == NESTED_IDX else ())


def _insert_units(xp, a, positions):
    """`a` with new size-1 dims at `positions` (of the result), strided as torch's unsqueeze
    makes them: size * stride of the next dim, or 1 for a last dim. A no-copy reshape gives
    exactly that except for trailing dims, which are fixed up when needed."""
    shape = list(a.shape)
    if xp is np and a.size and a.flags.c_contiguous and \
            (1 not in shape or type(a) is not np.ndarray):    # (a QArray keeps its type)
        for p in positions:     # NumPy's own strides: torch's
            shape.insert(p, 1)
        return a.reshape(shape)
    item = a.itemsize
    st = list(a.strides) if a.size or xp is not np else [s * item for s in dense_strides(a)]
    for p in positions:
        st.insert(p, shape[p] * st[p] if p < len(shape) else item)
        shape.insert(p, 1)
    r = a.reshape(shape)
    st = tuple(st)
    return r if st == r.strides else _as_strided_arr(xp, r, r.shape, st)


def _unsqueeze_fwd(xp, x, d):
    xs = x.shape
    if xp is np and 1 not in xs and x.size and x.flags.c_contiguous:     # (_insert_units' first
        return x.reshape(xs[:d] + (1,) + xs[d:]), (d,)      # case, without its list)
    return _insert_units(xp, x, (d,)), (d,)


def _unsqueeze_bwd(xp, g, d):
    """torch's UnsqueezeBackward0: grad.squeeze(dim), a view (and SqueezeBackward1 under
    create_graph)."""
    return (xp.squeeze(g, d),)


_unsqueeze_fn = _view_op("unsqueeze", _unsqueeze_fwd, _unsqueeze_bwd)


_UNSQUEEZE = _unsqueeze_fn.op


def unsqueeze(input, dim):
    a = getattr(input, "arr", None)
    if type(a) is np.ndarray and type(dim) is int:
        xs = a.shape
        n = len(xs)
        if -n - 1 <= dim <= n and 1 not in xs and a.size and a.flags.c_contiguous and \
                _UNSQUEEZE.impl[0][0] is _unsqueeze_fwd:    # (_unsqueeze_fn's steps inline)
            d = dim + n + 1 if dim < 0 else dim
            return view_out(_UNSQUEEZE, _unsqueeze_fn, input, a.reshape(xs[:d] + (1,) + xs[d:]),
                            (d,), (d,))
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("unsqueeze", ("input", 1, input))
    d = wrap_dim(dim, nd + 1)
    try:
        return _unsqueeze_fn(input, d)
    except NotImplementedError:
        if not isinstance(input.arr, SparseCOO):
            raise
        return apply(_sparse_unsqueeze, (input,), (d,))       # torch's sparse kernel


def _sparse_not_strided(xp, g):
    """The backward of a sparse op that torch computes through as_strided (squeeze, narrow of
    the gradient): a sparse gradient has no kernel for it."""
    if isinstance(g, SparseCOO):
        raise _sparse_coo.not_implemented("as_strided", xp)


@op("sparse_unsqueeze", saves=None, node="UnsqueezeBackward0")
def _sparse_unsqueeze(xp, x, d):
    return x.expand_dims(d), (x.shape,)


@_sparse_unsqueeze.vjp
def _(xp, g, shape):
    _sparse_not_strided(xp, g)
    return (g.reshape(shape),)


def _expand_fwd(xp, x, shape):
    xs = x.shape
    lead = len(shape) - len(xs)
    same = shape[lead:] == xs
    if same and shape[:lead] == (1,) * lead:
        if x.size and xs and x.flags.c_contiguous and 1 not in xs:  # NumPy's strides: torch's
            return x.reshape(shape), ()     # nothing is repeated: a plain (writable) view
        if not xs:      # a 0-d tensor's new dims: stride 0 (torch's)
            return _as_strided_arr(xp, x, shape, (0,) * lead), ()
        return _insert_units(xp, x, range(lead)), ()
    xst = x.strides if x.size or xp is not np else \
        tuple([v * x.itemsize for v in dense_strides(x)])     # (torch's, see _torch_strided)
    strides = (0,) * lead + (xst if same else tuple(
        [0 if n != m else st for n, m, st in zip(xs, shape[lead:], xst)]))
    if 1 in shape[:lead]:   # a new dim of size 1 takes the size * stride of the next (torch's)
        strides = list(strides)
        for i in range(lead - 1, -1, -1):
            if shape[i] == 1:
                strides[i] = shape[i + 1] * strides[i + 1] if i + 1 < len(shape) else 0
    if xp is np and x.flags.c_contiguous:
        try:
            r = np.ndarray(shape, x.dtype, x, 0, strides)     # faster than np.broadcast_to
        except TypeError:       # a quantized tensor's array, whose dtype NumPy does not know
            return xp.broadcast_to(x, shape, subok=True), ()
        r.setflags(write=False)         # written-to elements would alias, as in torch
        return r, ()                    # (setflags: half the time of flags.writeable = ...)
    if type(x) is np.ndarray:   # (np.broadcast_to zeroes kept size-1 dims' strides)
        r = _as_strided_arr(xp, x, shape, tuple(strides))
        r.setflags(write=False)
        return r, ()
    return xp.broadcast_to(x, shape), ()


# the engine sums the gradient back to the input's shape
_expand_fn = _view_op("expand", _expand_fwd, lambda xp, g: (g,))
_EXPAND = _expand_fn.op


def expand(input, *sizes, size=None):
    if sizes and size is None:
        dims = sizes[0] if len(sizes) == 1 and (sizes[0].__class__ is tuple or
                                                sizes[0].__class__ is Size) else sizes
        a = getattr(input, "arr", None)
        if type(a) is np.ndarray:
            shp = a.shape
            lead = len(dims) - len(shp)
            if lead > 0 and dims[lead:] == shp and a.size and a.flags.c_contiguous and \
                    _EXPAND.impl[0][0] is _expand_fwd:
                for s in dims:
                    if type(s) is not int:
                        break
                else:
                    if _min(dims[:lead]) > 1:
                        # new leading dims, none of size 1, over a C-contiguous array:
                        # _expand_fwd's view, made here
                        r = np.ndarray(dims, a.dtype, a, 0, (0,) * lead + a.strides)
                        r.setflags(write=False)
                        return view_out(_EXPAND, _expand_fn, input, r, (),
                                        (dims if dims.__class__ is tuple else tuple(dims),))
    given = sizes if size is None else (size,)
    if not given:
        raise _missing_arg("expand", "size")
    try:
        sizes = _shape_arg(given, "expand")
        shp = input.arr.shape
        lead = len(sizes) - len(shp)
        if sizes == shp or lead > 0 and sizes[lead:] == shp and builtins.min(sizes[:lead]) >= 0:
            return _expand_fn(input, sizes)     # (new leading dims: expanded_sizes' result)
        return _expand_fn(input, expanded_sizes(input, shp, sizes))
    except (TypeError, RuntimeError, NotImplementedError):
        if getattr(input, "is_nested", False):      # (sizes with a nested int, its kernel)
            from ..nested._ops import expand as nested_expand
            return nested_expand(input, given)
        if type(getattr(input, "arr", None)) is SparseCOO:
            raise RuntimeError("expand is unsupported for Sparse tensors") from None
        raise


def expanded_sizes(tname, shape, sizes):
    """expand's target sizes (-1 resolved), raising torch's errors where `shape` cannot expand.
    `tname`: the type name the errors give, or the tensor expanded (named only on an error)."""
    nd = len(shape)
    if len(sizes) < nd:
        tname = _tname(tname) if isinstance(tname, Tensor) else tname
        raise RuntimeError(f"expand({tname}{{{list(shape)}}}, size={list(sizes)}"
                           f"): the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({nd})")
    lead = len(sizes) - nd
    if -1 not in sizes:         # the common case: sizes as they are, when nothing is refused
        for s, want in zip(shape, sizes[lead:]):
            if s != want and s != 1:
                break
        else:
            if not lead or builtins.min(sizes[:lead]) >= 0:
                return tuple(sizes)
    out = list(sizes)
    for i in reversed(range(nd)):           # torch checks from the last dimension
        s, want = shape[i], sizes[lead + i]
        if want == -1:
            out[lead + i] = s
        elif s != want and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}.  "
                               f"Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
    for i in reversed(range(lead)):
        s = out[i]
        if s < 0:
            raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                               f"leading, non-existing dimension {i}")
    return tuple(out)


def _tname(x):
    return f"torch.{_type_name(x.arr.dtype)}Tensor"


def expand_as(input, other):
    if type(other) is not Tensor:
        tensor_args("expand_as", ("other", 1, other))
    shp = other.arr.shape
    return expand(input, *shp) if type(shp) is tuple and shp else expand(input, other.shape)


def broadcast_to(input, size):
    try:
        return expand(input, size)
    except AttributeError:
        raise_not_tensor("broadcast_to", ("input", 1, input))


def broadcast_shapes(*shapes):
    """torch's _refs._broadcast_shapes: Nones skipped, ints as 1-d shapes, each shape checked
    against the common shape of those before it (the error names the shape as given)."""
    shapes = [(s,) if isinstance(s, int) else s for s in shapes if s is not None]
    for s in shapes:
        if not isinstance(s, collections.abc.Sequence):
            raise RuntimeError("Input shapes should be of type ints, a tuple of ints, or a list "
                               f"of ints, got {s}")
    out = [1] * builtins.max((len(s) for s in shapes), default=0)
    for k, s in enumerate(shapes):
        for i in range(-1, -1 - len(s), -1):
            if s[i] == out[i]:
                continue
            if out[i] == 1:
                if s[i] < 0:
                    raise ValueError("Attempting to broadcast a dimension with negative length!")
                out[i] = s[i]
            elif s[i] != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {s[i]} at {i}! "
                                   f"Mismatching argument at index {k} had {s}; but expected "
                                   f"shape should be broadcastable to {out}")
    return Size(out)


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensor_elements(tensors)
    shapes = [t.arr.shape for t in tensors]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        from .elementwise import _shape_error
        acc = shapes[0]       # torch's infer_size, folded over the tensors from the left
        for s in shapes[1:]:
            try:
                acc = np.broadcast_shapes(acc, s)
            except ValueError:
                raise _shape_error(np.broadcast_to(False, acc), np.broadcast_to(False, s)) from None
        raise
    return tuple(t if t.arr.shape == shape else _expand_fn(t, shape) for t in tensors)


# ---- copies -----------------------------------------------------------------------------------
def _dense_order(a):
    """'K' when `a` is non-overlapping and dense in some order (torch's preserve_format keeps
    such strides), else 'C'."""
    if a.flags.c_contiguous or a.flags.f_contiguous or a.strides is None:   # (None: nested)
        return "K"
    pairs = sorted((abs(st), n) for st, n in zip(a.strides, a.shape) if n != 1)
    expect = a.itemsize
    for st, n in pairs:
        if st != expect:
            return "C"
        expect *= n
    return "K"


@op("clone", saves=None)
def _clone(xp, x, order):
    if order == "P":        # torch's preserve_format strides (see clone)
        return relaid(x, x.copy(order="K")), ()
    return x.copy(order=order), ()


_clone.vjp(lambda xp, g: (g,))
_clone_fn = make_unary(_clone)


def clone(input, *, memory_format=None):
    try:
        a = input.arr
    except AttributeError:
        raise_not_tensor("clone", ("input", 1, input))
    if is_channels_last(memory_format):
        return _to_format(input, memory_format, copy=True)
    if memory_format is None or memory_format is preserve_format:
        order = _dense_order(a)
        if type(a) is np.ndarray and (order == "C" or 1 in a.shape and odd_units(a) or
                                        not a.size):
            order = "P"     # (where NumPy's copy places size-0 and size-1 dims its own way, or
            # lays out a non-dense tensor otherwise than torch)
    else:
        order = "C"
    return _clone_fn(input, order)


def contiguous(input, memory_format=None):
    if memory_format is not None and is_channels_last(memory_format):
        return _to_format(input, memory_format)
    a = input.arr
    flags = a.flags
    if flags is _SPARSE_FLAGS:              # (sparse arrays' flags read as contiguous)
        raise RuntimeError("unsupported memory format option Contiguous" if type(a) is SparseCOO
                           else f"Sparse {a.kind.upper()} tensors do not have is_contiguous")
    return input if flags.c_contiguous else _clone_fn(input, "C")


def is_contiguous(input, memory_format=None):
    return input.is_contiguous(memory_format)


@op("clone_format", saves=None, node="CloneBackward0")
def _clone_format(xp, x, fmt):
    from .._memory_format import as_format
    return as_format(x, fmt, force=True), ()


_clone_format.vjp(lambda xp, g: (g,))


@op("to_format", saves=None, node="ToCopyBackward0")
def _to_copy_format(xp, x, fmt):
    from .._memory_format import as_format
    return as_format(x, fmt, force=True), ()


_to_copy_format.vjp(lambda xp, g: (g,))


def _to_format(input, fmt, copy=False, alias=None):
    """input laid out in a channels-last memory format: torch's contiguous (itself when it is
    contiguous in that format), clone (copy) and to (itself when its strides read as that
    format: alias="suggest")."""
    from .._memory_format import _check, is_contiguous_as, strides_like_channels_last
    _check(fmt, input.ndim)
    if not copy:
        same = strides_like_channels_last(input.arr) if alias == "suggest" else \
            is_contiguous_as(input.arr, fmt)
        if same:
            return input
    return apply(_to_copy_format if alias == "suggest" else _clone_format, (input,), (fmt,))


@op("copy", saves=None, node="torch::autograd::CopyBackwards")
def _copy(xp, x, src):
    if src.dtype.kind == "c":
        from .index import warn_complex_to_real
        warn_complex_to_real(src.dtype, x.dtype)
    return xp.broadcast_to(src, x.shape).astype(x.dtype, copy=True), (src.dtype,)


@_copy.vjp
def _(xp, g, src_dtype):
    return None, g.astype(src_dtype, copy=False)


def _copy_out(input, src, non_blocking=False):
    tensor_arg("copy_", src, "src")
    if src.be is not input.be:
        from .creation import _to_device
        src = _to_device(src, input.be)
    _check_broadcast_into(src.arr.shape, input.arr.shape)
    return apply(_copy, (input, src))


def _check_broadcast_into(src, dst):
    """torch's errors when `src` does not broadcast to `dst` (copy_, masked_fill_): infer_size's
    (the last bad dim, numbered in the broadcast shape), then the output-shape check."""
    n = max(len(src), len(dst))
    for i in range(1, min(len(src), len(dst)) + 1):
        a, b = dst[-i], src[-i]
        if b != 1 and a != 1 and a != b:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {n - i}")
    if len(src) > len(dst) or any(b != 1 and a == 1 for a, b in zip(dst[::-1], src[::-1])):
        full = src[:n - len(dst)] + tuple(max(a, b) for a, b in zip(dst, src[n - len(dst):]))
        raise RuntimeError(f"output with shape {list(dst)} doesn't match the broadcast shape "
                           f"{list(full)}")


_copy_inplace = inplace(_copy_out, "copy")


def copy_(input, src, non_blocking=False):
    """Tensor.copy_: write `src` (broadcast, cast, moved) into input's storage."""
    if isinstance(src, (int, float, complex, np.number)) and isinstance(input, Tensor):
        # a number is a 0-dim tensor of its own type (int64, double, complex128, bool)
        if isinstance(src, int) and not -2 ** 63 <= src < 2 ** 63:
            raise OverflowError("int too big to convert")
        src = _new(input.be.xp.asarray(src), input.be)
    try:
        recording = _grad.enabled and (input.requires_grad or src.requires_grad)
    except AttributeError:
        raise_not_tensor("copy_", ("self", 0, input), ("other", 1, src))
    if not recording:
        arr = src.arr
        check_overlap(input, src)
        if src.be is not input.be:
            if src.be.idx == NESTED_IDX:        # a nested tensor into a dense one
                from ..nested._ops import copy_error
                raise copy_error(arr, input.arr)
            arr = input.be.from_host(src.be.to_host(arr))
        if arr.dtype.kind == "c":
            from .index import warn_complex_to_real
            warn_complex_to_real(arr.dtype, input.arr.dtype)
        try:
            write_into(input, arr, "copy")
        except ValueError:
            if input.be.idx != NESTED_IDX and 0 in input.arr.strides and input.arr.size > 1:
                # an expanded tensor
                raise RuntimeError(INTERNAL_OVERLAP) from None
            raise
        if _fw.level is not None:
            _fw_inplace(input, src)
        return input
    return _copy_inplace(input, src, non_blocking)


INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor "
                    "refers to a single memory location. Please clone() the tensor before "
                    "performing the operation.")


# ---- cat / stack ------------------------------------------------------------------------------
@op("cat", saves=None)
def _cat(xp, *arrays_and_dim):
    arrays, dim = arrays_and_dim[:-1], arrays_and_dim[-1]
    sizes = []
    for a in arrays:
        s = a.shape
        if len(s) == 1 and s[0] == 0:
            break
        sizes.append(s[dim])
    else:                           # (the common case: no legacy empty tensor skipped)
        return _dense(xp, xp.concatenate(arrays, dim), arrays[0]), (
            sizes, [False] * len(arrays), dim)
    skipped = [a.ndim == 1 and a.shape[0] == 0 for a in arrays]
    sizes = [0 if s else a.shape[dim] for a, s in zip(arrays, skipped)]
    kept = [a for a, s in zip(arrays, skipped) if not s] or arrays[:1]
    return _dense(xp, xp.concatenate(kept, axis=dim), kept[0]), (sizes, skipped, dim)


def _dense(xp, a, ref):
    """torch's cat/stack allocate a contiguous result unless the first input reads as channels
    last (NumPy follows the inputs' layout: transposed inputs give a transposed result)."""
    if a.flags.c_contiguous:
        return a
    from .._memory_format import _suggests_cl
    return a if _suggests_cl(ref) else xp.ascontiguousarray(a)


@_cat.vjp
def _(xp, g, sizes, skipped, dim):
    out, start = [], 0
    for n, skip in zip(sizes, skipped):
        if skip:
            out.append(xp.zeros((0,), g.dtype))
            continue
        idx = (slice(None),) * dim + (slice(start, start + n),)
        out.append(g[idx])
        start += n
    return tuple(out)


def _common(tensors, name):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    if not tensors:
        if name == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"torch.{name}(): expected a non-empty list of Tensors")
    try:
        t0 = tensors[0]
        d0, b0 = t0.arr.dtype, t0.be
        for t in tensors:
            if t.arr.dtype is not d0 or t.be is not b0:
                break
        else:
            return tensors                                  # the common case
    except AttributeError:
        pass
    dt = be = None
    tensor_elements(tensors)
    for t in tensors:
        dt = t.dtype if dt is None else PROMOTE[dt, t.dtype]
        if be is None:
            be = t.be
        elif t.be.device != be.device:     # (nested and dense ones: the nested kernel's error)
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {be.device} and {t.be.device}!")
    return [t if t.dtype is dt else t.to(dt) for t in tensors]


def _promoted(tensors, o):
    """cat's and stack's autocast policy (torch's promote), before their own dtype promotion."""
    if not o.amp or isinstance(tensors, Tensor):
        return tensors
    from ..amp.autocast import cast_args
    return cast_args(o, tuple(tensors))


_CAT_FWD = _cat.impl[0][0]


def _joined(o, fwd, tensors, dim, nd):
    """cat (o: _cat, nd 0) or stack (o: _stack, nd 1) of a list or tuple of NumPy tensors of
    one dtype, shapes agreeing as `o` needs them, dim an int in range (no legacy (0,) shape in
    a cat): apply's and the forward's steps inline, without their calls and general checks;
    None for anything else (or while the kernel is wrapped: profiler, FLOP counter), which the
    general code takes."""
    try:
        t0 = tensors[0]
        a0, be = t0.arr, t0.be
    except (AttributeError, IndexError, TypeError):
        return None
    if type(a0) is not np.ndarray or o.impl[0][0] is not fwd:
        return None
    ref = a0.shape
    n = len(ref) + nd
    if not -n <= dim < n or not nd and ref == (0,):
        return None
    d = dim + n if dim < 0 else dim
    dt = a0.dtype
    if nd and d < len(ref) and len(tensors) > _MANY:
        arrays, rg = _stackable_many(tensors, be, dt, ref)
        if arrays is None:
            return None
        out = _stacked_bytes(arrays, dt, ref) if d == 0 else None
        if out is None:
            # stacking along d is concatenating along d, seen with dim d split in two
            out = np.concatenate(arrays, d).reshape(ref[:d] + (len(arrays),) + ref[d:])
        return _joined_result(o, tensors, arrays, out, a0, be, rg, d, nd)
    arrays = []
    rg = False
    for t in tensors:
        try:
            a = t.arr
            if type(a) is not np.ndarray or a.dtype is not dt or t.be is not be:
                return None
        except AttributeError:
            return None
        s = a.shape
        if s != ref and (nd or len(s) != n or s == (0,) or s[:d] != ref[:d] or
                         s[d + 1:] != ref[d + 1:]):
            return None
        arrays.append(a)
        rg = rg or t._rg
    if nd:                      # (np.stack's steps)
        sl = (slice(None),) * d + (None,)
        out = np.concatenate([a[sl] for a in arrays], d)
    else:
        out = np.concatenate(arrays, d)
    return _joined_result(o, tensors, arrays, out, a0, be, rg, d, nd)


_MANY = 8           # stacks of more tensors check them and join them in whole-list steps


def _stackable_many(tensors, be, dt, ref):
    """(the arrays, whether any tensor requires grad) of `tensors` when all are NumPy tensors on
    `be` of dtype dt and shape ref (a batch's samples); (None, False) otherwise."""
    try:
        arrays = [t.arr for t in tensors]
        if {t.be for t in tensors} != {be} or {type(a) for a in arrays} != {np.ndarray} or \
                {a.dtype for a in arrays} != {dt} or {a.shape for a in arrays} != {ref}:
            return None, False
        return arrays, any(t._rg for t in tensors)
    except (AttributeError, TypeError):
        return None, False


def _stacked_bytes(arrays, dt, ref):
    """The stack along dim 0 of C-contiguous arrays of one dtype and shape as their bytes
    joined (a third of np.concatenate's time for a batch's samples: no per-array conversion);
    None when one is not C-contiguous."""
    try:
        joined = bytearray().join(arrays)
    except TypeError:                   # (NumPy exports C-contiguous buffers only)
        return None
    return np.frombuffer(joined, dt).reshape((len(arrays),) + ref)


def _joined_result(o, tensors, arrays, out, a0, be, rg, d, nd):
    """_joined's tensor from its joined array: dense, with the op's node where it records."""
    if not out.flags.c_contiguous:
        out = _dense(np, out, a0)
    r = _new(out, be)
    record = rg and _grad.enabled
    if record or _fw.level is not None:     # (the forward's saved values)
        saved = (d, len(arrays)) if nd else \
            ([a.shape[d] for a in arrays], [False] * len(arrays), d)
        if record:
            r._rg = True
            # (inputs no bigger than their small result: none for autograd's _thin to stub)
            big = (arrays, out) if out.nbytes >= _THIN_MIN else ()
            r.grad_fn = _node(o, o.impl[0][1], be, saved, tuple(tensors), (d,), *big)
        if _fw.level is not None:
            _fw_propagate(o, tuple(tensors), (d,), r, saved)
    return r


def cat(tensors, dim=0, *, out=None):
    if out is None and not _amp.enabled and type(dim) is int and \
            (tensors.__class__ is list or tensors.__class__ is tuple):
        t = _joined(_cat, _CAT_FWD, tensors, dim, 0)
        if t is not None:
            return t
    if out is not None:
        check_out_overlap(out, tuple(tensors) if isinstance(tensors, (list, tuple)) else (), {},
                          True)
    if _amp.enabled and out is None:
        tensors = _promoted(tensors, _cat)
    tensors = _common(tensors, "cat")
    shapes = [t.arr.shape for t in tensors]
    ref = shapes[0]
    n = len(ref)
    if type(dim) is int and -n <= dim < n and ref != (0,) and \
            (shapes.count(ref) == len(shapes) or _equal_but_in(shapes, ref, dim % n)):
        # the common case: dim in range, no 0-d, shapes equal but in dim d
        t = apply(_cat, tuple(tensors), (dim % n,))
        return t if out is None else _cat_out(t, out, "cat")
    legacy = [s == (0,) for s in shapes]          # 1-D empty tensors may sit beside any shape
    ref = next((s for s, skip in zip(shapes, legacy) if not skip), shapes[0])
    for i, s in enumerate(shapes):
        if not s:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    d = 0 if builtins.all(legacy) else wrap_dim(dim, len(ref))
    pre, post = ref[:d], ref[d + 1:]
    for i, s in enumerate(shapes):
        if legacy[i] or (len(s) == len(ref) and s[:d] == pre and s[d + 1:] == post):
            continue
        if type(s) is NestedShape or type(ref) is NestedShape:
            # nested tensors: their kernel's checks (torch's), the dim the first one's
            d = wrap_dim(dim, len(next(n for n in shapes if type(n) is NestedShape)))
            break
        if isinstance(tensors[0].arr, SparseCOO):       # torch's sparse kernel's words
            raise RuntimeError(f"All tensors must have the same shape: {list(ref)} (except in "
                               f"the concatenating dimension), but found shape: {list(s)} at "
                               f"position {i}.")
        if len(s) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} "
                               f"and {len(s)}")
        j = next(j for j in range(len(ref)) if j != d and s[j] != ref[j])
        raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                           f"size {ref[j]} but got size {s[j]} for tensor number {i} in the "
                           "list.")
    return _cat_out(apply(_cat, tuple(tensors), (d,)), out, "cat")


concat = concatenate = cat


def _equal_but_in(shapes, ref, d):
    """Whether each shape is `ref` but in dim d."""
    n, pre, post = len(ref), ref[:d], ref[d + 1:]
    for s in shapes:
        if len(s) != n or s[:d] != pre or s[d + 1:] != post:
            return False
    return True


def _cat_out(result, out, name):
    """cat/stack's `out=`: the shared `_finish`, but a dtype the result can't be cast to is
    torch's TypeError (after the autograd check, as torch orders them)."""
    if isinstance(out, Tensor) and not result.requires_grad and \
            not (out.requires_grad and _grad.enabled) and \
            not _can_write(result.arr.dtype, out.arr.dtype):
        raise TypeError(f"torch.cat(): input types can't be cast to the desired output type "
                        f"{_type_name(out.arr.dtype)}")
    return _finish_out(result, out, name)


@op("stack", saves=None)
def _stack(xp, *arrays_and_dim):
    *arrays, dim = arrays_and_dim
    return _dense(xp, xp.stack(arrays, axis=dim), arrays[0]), (dim, len(arrays))


_STACK_FWD = _stack.impl[0][0]


@_stack.vjp
def _(xp, g, dim, n):
    if type(g) is np.ndarray and g.ndim > 1:    # (its views by iteration: 3x faster)
        return tuple(np.moveaxis(g, dim, 0) if dim else g)
    return tuple(g[(slice(None),) * dim + (i,)] for i in range(n))


def stack(tensors, dim=0, *, out=None):
    if out is None and not _amp.enabled and type(dim) is int and \
            (tensors.__class__ is list or tensors.__class__ is tuple):
        t = _joined(_stack, _STACK_FWD, tensors, dim, 1)
        if t is not None:
            return t
    if out is not None:
        check_out_overlap(out, tuple(tensors) if isinstance(tensors, (list, tuple)) else (), {},
                          True)
    if _amp.enabled and out is None:
        tensors = _promoted(tensors, _stack)
    tensors = _common(tensors, "stack")
    shape = tensors[0].arr.shape
    try:
        d = wrap_dim(dim, len(shape) + 1)
    except IndexError:
        d = _nested_stack_dim(tensors, dim)
    for i, t in enumerate(tensors):
        if t.arr.shape != shape:
            if t.is_nested or tensors[0].is_nested:
                break                   # (the nested kernel's checks, as torch's)
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    return _cat_out(apply(_stack, tuple(tensors), (d,)), out, "stack")


def _nested_stack_dim(tensors, dim):
    """In an except block: stack's dim wrapped as torch's nested kernels wrap it (a jagged
    tensor's by its own dims; a strided one's refused first), else the error re-raised."""
    nested = [t for t in tensors if t.is_nested]
    if not nested:
        raise
    if nested[0].arr.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented("stack", np, "NestedTensor")
    return wrap_dim(dim, nested[0].ndim + 1)


def atleast_1d(*tensors):
    return _atleast(tensors, _up1, "atleast_1d")


def atleast_2d(*tensors):
    return _atleast(tensors, _up2, "atleast_2d")


def atleast_3d(*tensors):
    return _atleast(tensors, _up3, "atleast_3d")


def _up1(t):
    return t if t.ndim >= 1 else reshape(t, (1,))


def _up2(t):
    return t if t.ndim >= 2 else reshape(t, (1, -1))


def _up3(t):
    if t.ndim >= 3:
        return t
    return reshape(t, (1, 1, 1)) if t.ndim == 0 else reshape(t, (1, -1, 1)) if t.ndim == 1 \
        else unsqueeze(t, 2)


def _atleast(tensors, up, name):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return up(tensors[0])
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(tensors[0]).__name__})")
    seq = tensors[0] if len(tensors) == 1 else tensors
    tensor_elements(seq)
    return tuple(up(t) for t in seq)


def _non_empty(tensors, name):
    if not len(tensors):
        raise RuntimeError(f"{name} expects a non-empty TensorList")


def hstack(tensors, *, out=None):
    tensor_elements(tensors)
    _non_empty(tensors, "hstack")
    tensors = [_up1(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    tensor_elements(tensors)
    _non_empty(tensors, "vstack")
    return cat([_up2(t) for t in tensors], 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    tensor_elements(tensors)
    _non_empty(tensors, "dstack")
    return cat([_up3(t) for t in tensors], 2, out=out)


def column_stack(tensors, *, out=None):
    tensor_elements(tensors)
    _non_empty(tensors, "column_stack")
    return cat([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1, out=out)


# ---- slicing views ----------------------------------------------------------------------------
def _idx_fwd(xp, x, idx):
    if None in idx:
        if len(idx) == 2 and idx[0] is None and idx[1] is Ellipsis:    # x[None]: unsqueeze(0)
            out = _unsqueeze_fwd(xp, x, 0)[0]
        elif type(x) is not np.ndarray:     # (CuPy, a QArray: their own strides)
            out = _insert_units(xp, x[tuple([i for i in idx if i is not None])],
                                _none_positions(idx))
        elif _units_on_whole_dims(idx):
            out = _insert_units(xp, x[tuple([i for i in idx if i is not None])],
                                _none_positions(idx))
            if not out.size:
                out = _as_torch(x, idx)
        else:   # a None before a dim indexed or sliced: torch's left-to-right unsqueezes
            out = _as_torch(x, idx)
    else:
        out = x[idx]
        if not out.size and type(x) is np.ndarray:  # an empty slice placed as torch's
            out = _as_torch(x, idx)
    return out, (x.shape, idx)


def _as_torch(x, idx):
    """The NumPy view x[idx] sized, strided and placed as torch's."""
    out = torch_view(x, idx)
    if out is None:
        out = as_torch_view(x, idx, x[tuple([i for i in idx if i is not None])])
    return out


_WHOLE = slice(None)


def _units_on_whole_dims(idx):
    """Whether each None of idx comes before a whole dim (`:`), an Ellipsis or the end, where
    unsqueezing after the other items (_insert_units) strides as torch's unsqueezing first."""
    after = False
    for i in idx:
        if i is None:
            after = True
        elif after:
            if i is not Ellipsis and i != _WHOLE:
                return False
            after = False
    return True


def _none_positions(idx):
    pos, p = [], 0
    for i in idx:
        if i is None:
            pos.append(p)
            p += 1
        elif type(i) is slice:
            p += 1
        elif i is Ellipsis:
            break
    return pos


def _idx_bwd(xp, g, shape, idx):
    out = xp.zeros(shape, g.dtype)
    try:
        out[idx] = g
    except TypeError:
        if isinstance(g, SparseCOO):    # (a sparse tensor's select)
            raise _sparse_coo.not_implemented("select_backward", xp) from None
        raise
    return (out,)


# Basic indexing views, one op per torch node name (the backward is the same).
_slice_fn = _view_op("slice", _idx_fwd, _idx_bwd)
_select_fn = _view_op("select", _idx_fwd, _idx_bwd)
def _unsqueeze_idx_bwd(xp, g, shape, idx):
    """x[:, None] and the like (Nones among whole dims): torch's unsqueezes, whose backward is
    grad.squeeze(dim), a view (SqueezeBackward1 under create_graph); else _idx_bwd."""
    if not all(i is None or i is Ellipsis or i == _WHOLE for i in idx) or \
            idx.count(Ellipsis) > 1:
        return _idx_bwd(xp, g, shape, idx)
    k = idx.index(Ellipsis) if Ellipsis in idx else len(idx)
    tail = idx[k + 1:]
    axes = [p for p, i in enumerate(idx[:k]) if i is None] + \
        [g.ndim - len(tail) + p for p, i in enumerate(tail) if i is None]
    for a in reversed(axes):    # (torch's chain of unsqueezes, undone last first)
        g = xp.squeeze(g, a)
    return (g,)


_unsqueeze_idx_fn = _view_op("unsqueeze_index", _idx_fwd, _unsqueeze_idx_bwd,
                             node="UnsqueezeBackward0")
_alias_fn = _view_op("alias", lambda xp, x, idx: (x[...], ()), lambda xp, g: (g,))
_UNSQUEEZE_IDX = _unsqueeze_idx_fn.op
_NONE_KEY = (None, Ellipsis)       # index._parse_basic(None, shape)[0]


def _index_view(fn, input, key):
    """fn(input, key) for _select_fn or _slice_fn and a basic index without None: for a NumPy
    tensor, _idx_fwd's array a[key] made here and its Tensor by view_out when it is non-empty
    (NumPy's strides and offset are then torch's), without fn's and the forward's calls (fn's
    own while the kernel is wrapped: profiler, FLOP counter)."""
    o = fn.op
    a = input.arr
    if type(a) is np.ndarray and o.impl[0][0] is _idx_fwd:
        out = a[key]
        if out.size:
            return view_out(o, fn, input, out, (a.shape, key), (key,))
    return fn(input, key)


def _none_index(input):
    """input[None] of a NumPy tensor: for a C-contiguous one without unit dims (NumPy's strides
    are torch's), _idx_fwd's array made here, without its calls."""
    a = input.arr
    xs = a.shape
    if 1 not in xs and a.size and a.flags.c_contiguous and \
            _UNSQUEEZE_IDX.impl[0][0] is _idx_fwd:      # (not wrapped: profiler, FLOP counter)
        return view_out(_UNSQUEEZE_IDX, _unsqueeze_idx_fn, input, a.reshape((1,) + xs),
                        (xs, _NONE_KEY), (_NONE_KEY,))
    return _unsqueeze_idx_fn(input, _NONE_KEY)


def _narrow_range(input, d, start, length, copy=False):
    """narrow's checks of start and length along dim d: (start, length), start wrapped
    (narrow_copy's, `copy`, refuse a negative length as too long)."""
    n = input.arr.shape[d]
    if isinstance(start, Tensor):     # torch's narrow.Tensor overload
        if start.ndim or start.arr.dtype.kind not in "iu":
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start.item())
    start = int_arg(start, "narrow", "start", 2)
    length = int_arg(length, "narrow", "length", 3)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                         f"got {start})")
    if start < 0:
        start += n
    if length < 0 and not copy:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({n}).")
    return start, length


@op("narrow_copy", saves=None)
def _narrow_copy(xp, x, d, start, length):
    part = x[(slice(None),) * d + (slice(start, start + length),)]
    return xp.ascontiguousarray(part), (x.shape, d, start, length)


@_narrow_copy.vjp
def _(xp, g, shape, d, start, length):
    out = xp.zeros(shape, g.dtype)
    out[(slice(None),) * d + (slice(start, start + length),)] = g
    return (out,)


def narrow(input, dim, start, length):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("narrow", ("input", 1, input))
    if not nd:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    try:
        start, length = _narrow_range(input, d, start, length)
        return _index_view(_slice_fn, input, (slice(None),) * d + (slice(start, start + length),))
    except (TypeError, RuntimeError, IndexError, NotImplementedError):
        if input.be.idx != NESTED_IDX:
            raise
        from ..nested._ops import narrow as nested_narrow     # (torch's checks, in its order)
        return nested_narrow(input, dim, start, length)


def select(input, dim, index):
    d = wrap_dim(dim, input.ndim)
    try:
        n = input.arr.shape[d]
        index = index.__index__()
        if not -n <= index < n:
            raise IndexError(f"select(): index {index} out of range for tensor of size "
                             f"{list(input.shape)} at dimension {d}")
        # (the trailing ... keeps a 0-d result a view: NumPy gives a scalar for all-int indices)
        return _index_view(_select_fn, input, (slice(None),) * d +
                           (index + n if index < 0 else index, Ellipsis))
    except (TypeError, RuntimeError, IndexError, NotImplementedError):
        if input.be.idx != NESTED_IDX:
            raise
        from ..nested._ops import select as nested_select     # (torch's checks, in its order)
        return nested_select(input, dim, index)
    except AttributeError:
        if not hasattr(index, "__index__"):     # (Tensor.select's position)
            raise TypeError("select(): argument 'index' (position 2) must be int, not "
                            f"{type(index).__name__}") from None
        raise


def _split_fwd(xp, x, dim, bounds, chunks=None):
    """(chunks: chunk's count, which a nested tensor's kernel checks as torch's)"""
    if not x.size:      # (torch's strides, so that the pieces' offsets are torch's)
        x = _strided(x)
    if not dim:
        return tuple([x[a:b] for a, b in bounds]), (x.shape, dim, bounds)
    pre = (slice(None),) * dim
    return tuple([x[pre + (slice(a, b),)] for a, b in bounds]), (x.shape, dim, bounds)


def _split_bwd(xp, g, shape, dim, bounds):
    return (xp.concatenate(g, axis=dim),)


# n_out=-1: as many outputs as the call makes. split and split_with_sizes are multi-output views
# (torch refuses in-place writes to their outputs); unsafe_split's outputs alias the input
# without being views for autograd.
_split = op("split", saves=None, n_out=-1)(_split_fwd)
_split_sizes = op("split_with_sizes", saves=None, n_out=-1)(_split_fwd)
_unsafe_split = op("unsafe_split", saves=None, n_out=-1)(_split_fwd)
_unsafe_split_sizes = op("unsafe_split_with_sizes", saves=None, n_out=-1)(_split_fwd)
for _o in (_split, _split_sizes, _unsafe_split, _unsafe_split_sizes):
    _o.vjp(_split_bwd)


def _bounds(sizes):
    out, start = [], 0
    for n in sizes:
        out.append((start, start + n))
        start += n
    return tuple(out)


@op("unbind", saves=None, n_out=-1)
def _unbind(xp, x, dim):
    if not x.size:
        x = _strided(x)
    if type(x) is np.ndarray and x.ndim > 1:    # its rows, with dim made the first: x[..., i]
        if dim:
            x = x.transpose((dim,) + tuple([i for i in range(x.ndim) if i != dim]))
        return tuple(x), (dim,)
    # (the trailing ... keeps the pieces of a 1-d array 0-d views: NumPy gives scalars, copies)
    pre = (slice(None),) * dim
    return tuple([x[pre + (i, Ellipsis)] for i in range(x.shape[dim])]), (dim,)


@_unbind.vjp
def _(xp, g, dim):
    if xp is np and g[0].dtype.kind in "fc":
        # (np.array copies the gradients into one contiguous array, as stack's result is: a
        # third of np.stack's time)
        a = np.array(g)
        return (np.ascontiguousarray(np.moveaxis(a, 0, dim)) if dim else a,)
    return (xp.stack(g, axis=dim),)


def split(tensor, split_size_or_sections=None, dim=0, *, split_size=None):
    if split_size is not None:          # Tensor.split's name for it
        split_size_or_sections = split_size
    if type(split_size_or_sections) is not int:
        split_size_or_sections = _split_sizes_arg(split_size_or_sections)
    try:
        d, bounds = _split_bounds(tensor, split_size_or_sections, dim)
    except (TypeError, RuntimeError, IndexError):   # (a nested tensor: a ragged dim, ...)
        if tensor.be.idx == NESTED_IDX:
            from ..nested._ops import split_error
            split_error(tensor, split_size_or_sections, dim)
        raise
    o = _split if isinstance(split_size_or_sections, int) else _split_sizes
    return multi_view(o, tensor, (d, bounds))


def _split_sizes_arg(sizes):
    """split's sizes as torch's parser takes them: a sequence of ints, or an int (a 0-d tensor
    too); anything else is its TypeError."""
    head = "split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, "
    if isinstance(sizes, (list, tuple)):
        for i, v in enumerate(sizes):
            if not hasattr(v, "__index__"):
                raise TypeError(f"{head}but found element of type {type(v).__name__} at pos "
                                f"{i}")
        return sizes
    try:
        return _index(sizes)
    except TypeError:
        raise TypeError(f"{head}not {type(sizes).__name__}") from None


def _split_bounds(tensor, split_size_or_sections, dim):
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor.ndim)
    return d, _piece_bounds(tensor.arr.shape[d], d, split_size_or_sections)


def _piece_bounds(n, d, split_size_or_sections):
    """The (start, end) of each piece of a dim of size n split as split() splits it."""
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0 or (step == 0 and n):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}" if step == 0 else
                               f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if n:   # (_bounds of the sizes min(step, n - s))
            return tuple([(s, s + step if s + step < n else n) for s in range(0, n, step)])
        sizes = [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or builtins.min(sizes, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
    return _bounds(sizes)


def split_with_sizes(input, split_sizes, dim=0):
    return split(input, list(split_sizes), dim)


def tensor_split(input, indices_or_sections, dim=0):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("tensor_split", ("input", 1, input))
    if not nd:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    if isinstance(indices_or_sections, Tensor):     # (checked before dim, as torch)
        t = indices_or_sections.arr
        if t.dtype != np.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_type_name(t.dtype)}")
        if t.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {t.ndim} dims")
        indices_or_sections = indices_or_sections.tolist()
    d = wrap_dim(dim, nd)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        bounds = _bounds([q + 1] * r + [q] * (k - r))
    else:
        cuts = [builtins.min(builtins.max(int(i) + (n if int(i) < 0 else 0), 0), n)
                for i in indices_or_sections]
        starts, ends = [0] + cuts, cuts + [n]
        bounds = tuple((a, builtins.max(a, b)) for a, b in zip(starts, ends))
    # torch's tensor_split is slices (a SliceBackward0 each, views one may write in place)
    return tuple(narrow(input, d, a, b - a) for a, b in bounds)


def chunk(input, chunks, dim=0):
    try:
        nd = input.arr.ndim
    except AttributeError:
        raise_not_tensor("chunk", ("input", 1, input))
    if nd == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = dim if type(dim) is int and 0 <= dim < nd else wrap_dim(dim, nd)
    try:
        n = input.arr.shape[d]
        step = -(-n // chunks)
    except (TypeError, RuntimeError):       # a nested tensor's ragged or irregular dim
        from ..nested._ops import split_error
        split_error(input, None, d)
        raise
    if n == 0:      # (torch's chunk of an empty dim: split_with_sizes, of zeros)
        return multi_view(_split_sizes, input, (d, ((0, 0),) * chunks))
    if type(chunks) is not int:
        return multi_view(_split, input, (d, _piece_bounds(n, d, step), chunks))
    static = _CHUNKS.get((d, n, chunks))
    if static is None:      # (_piece_bounds' for an int step of at least 1)
        static = (d, tuple([(s, s + step if s + step < n else n) for s in range(0, n, step)]),
                  chunks)
        if len(_CHUNKS) >= 256:
            _CHUNKS.clear()
        _CHUNKS[d, n, chunks] = static
    return multi_view(_split, input, static)


_CHUNKS = {}    # (dim, its size, chunks: an int) -> chunk's static arguments to split


def unsafe_chunk(input, chunks, dim=0):
    """chunk without torch's view-safety checks, which ember's views never needed."""
    return chunk(input, chunks, dim)


def unsafe_split(input, split_size, dim=0):
    return apply(_unsafe_split, (input,), _split_bounds(input, split_size, dim))


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return apply(_unsafe_split_sizes, (input,), _split_bounds(input, list(split_sizes), dim))


def unbind(input, dim=0):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("unbind", ("input", 1, input))
    if not nd:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, nd)
    if input.be.idx == NESTED_IDX:      # a nested tensor's components (dense tensors)
        from ..nested._ops import unbind as nested_unbind
        return nested_unbind(input, d, dim)
    return multi_view(_unbind, input, (d,))


def hsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 1, 1, "hsplit")


def vsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 2, 0, "vsplit")


def dsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 3, 2, "dsplit")


def _nsplit(input, sections, rank, dim, name):
    """torch's hsplit/vsplit/dsplit: the argument's type, the input's rank (at least `rank`),
    then an int's divisibility, along `dim` (hsplit of a 1-d tensor: 0)."""
    nd = tensor_ndim(name, input)
    if not isinstance(sections, (int, list, tuple)) or isinstance(sections, bool):
        t = type(sections).__name__
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got (Tensor, {t}), but "
            f"expected one of:\n * (Tensor input, int sections)\n      didn't match because "
            f"some of the arguments have invalid types: (Tensor, !{t}!)\n * (Tensor input, tuple "
            f"of ints indices)\n      didn't match because some of the arguments have invalid "
            f"types: (Tensor, !{t}!)\n")
    if nd < rank:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {rank} dimension, but "
                           f"got a tensor with {nd} dimensions!")
    dim = 0 if nd == 1 else dim
    if isinstance(sections, int) and (sections == 0 or input.shape[dim] % sections):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size "
                           f"of the dimension {input.shape[dim]} is not divisible by the split_"
                           f"size {sections}!")
    return tensor_split(input, sections, dim)


# ---- diagonal family --------------------------------------------------------------------------
def _diag_view(xp, a, offset, d1, d2):
    """The (writable) diagonal view of `a` over dims d1, d2, as a new last dim."""
    n1, n2 = a.shape[d1], a.shape[d2]
    if offset >= 0:
        length = builtins.max(builtins.min(n1, n2 - offset), 0)
        start = (slice(None),) * d2 + (slice(builtins.min(offset, n2), None),)
    else:
        length = builtins.max(builtins.min(n1 + offset, n2), 0)
        start = (slice(None),) * d1 + (slice(builtins.min(-offset, n1), None),)
    b = a[start] if length else a       # (torch moves an empty diagonal's offset nowhere)
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(a.shape[i] for i in keep) + (length,)
    strides = tuple(b.strides[i] for i in keep) + (b.strides[d1] + b.strides[d2],)
    return _as_strided_arr(xp, b, shape, strides)


def _diagonal_fwd(xp, x, offset, d1, d2):
    return _diag_view(xp, x if x.size else _strided(x), offset, d1, d2), (x.shape, offset, d1, d2)


def _diagonal_bwd(xp, g, shape, offset, d1, d2):
    out = xp.zeros(shape, g.dtype)
    _diag_view(xp, out, offset, d1, d2)[...] = g
    return (out,)


_diagonal_fn = _view_op("diagonal", _diagonal_fwd, _diagonal_bwd)


def diagonal(input, offset=0, dim1=0, dim2=1):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("diagonal", ("input", 1, input))
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diagonal_fn(input, int_arg(offset, "diagonal", "offset"), d1, d2)


@op("diag_embed", saves=None)
def _diag_embed(xp, x, offset, d1, d2):
    n = x.shape[-1] + abs(offset)
    nd = x.ndim + 1
    rest = list(x.shape[:-1])
    shape = [0] * nd
    it = iter(rest)
    for i in range(nd):
        shape[i] = n if i in (d1, d2) else next(it)
    out = xp.zeros(shape, x.dtype)
    _diag_view(xp, out, offset, d1, d2)[...] = x
    return out, (offset, d1, d2)


@_diag_embed.vjp
def _(xp, g, offset, d1, d2):
    return (_diag_view(xp, g, offset, d1, d2),)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    nd = tensor_ndim("diag_embed", input) + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(_diag_embed, (input,), (int(offset), d1, d2))


@op("diag_copy", saves=None, node="DiagonalBackward0_copy")     # torch: diagonal_copy
def _diag_copy(xp, x, offset):
    return _diag_view(xp, x, offset, 0, 1).copy(), (x.shape, offset)


_diag_copy.vjp(lambda xp, g, shape, offset: _diagonal_bwd(xp, g, shape, offset, 0, 1))


def diag(input, diagonal=0, *, out=None):
    if out is not None:     # torch's diag(out=) neither records nor refuses inputs requiring grad
        return _finish_out(diag(input.detach(), diagonal), out, "diag", exact=True)
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("diag", ("input", 1, input))
    if nd == 1:
        return apply(_diag_embed, (input,), (int(diagonal), 0, 1))
    if nd == 2:
        return apply(_diag_copy, (input,), (int(diagonal),))
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")


def diagflat(input, offset=0):
    try:
        flat = reshape(input, (-1,))
    except TypeError:
        raise_not_tensor("diagflat", ("input", 1, input))
    return diag(flat, offset)


def _tri(name, f):
    o = op(name, saves=None)(lambda xp, x, k: (getattr(xp, f)(x, k), (k,)))
    o.vjp(lambda xp, g, k: (getattr(xp, f)(g, k),))
    fn = make_unary(o)

    def public(input, diagonal=0, *, out=None):
        try:
            nd = input.ndim
        except AttributeError:
            raise_not_tensor(name, ("input", 1, input))
        if nd < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return _finish_out(fn(input, int_arg(diagonal, name, "diagonal", 1)), out, name,
                           exact=True)
    public.__name__ = public.__qualname__ = name
    return public


tril = _tri("tril", "tril")
triu = _tri("triu", "triu")
contiguous_outputs("tril", "triu")      # torch allocates them contiguous


def trace(input):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("trace", ("input", 1, input))
    if input.arr.dtype == bool:     # (torch's dtype dispatch comes first)
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    if nd != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.ndim))
    return apply(_trace, (input,))


@op("trace", saves=None)
def _trace(xp, x):
    # torch adds float32 (complex64) diagonals in double, float16/bfloat16 ones in float32
    acc = _TRACE_ACC.get(x.dtype.char)
    if acc is None:
        return xp.asarray(xp.trace(x), dtype=_sum_dtype(x.dtype)), (x.shape,)
    return xp.asarray(xp.trace(x, dtype=acc)).astype(x.dtype), (x.shape,)


_TRACE_ACC = {"f": np.float64, "F": np.complex128, "e": np.float32, "E": np.float32}


@_trace.vjp
def _(xp, g, shape):
    out = xp.zeros(shape, g.dtype)
    _diag_view(xp, out, 0, 0, 1)[...] = g
    return (out,)


def _sum_dtype(dt):
    return np.int64 if dt.kind in "biu" else dt


# ---- flip / roll / repeat ---------------------------------------------------------------------
@op("flip", saves=None)
def _flip(xp, x, dims):
    if not dims or xp is not np or x.flags.c_contiguous and x.size and 1 not in x.shape:
        return (xp.flip(x, dims) if dims else x).copy(), (dims,)    # torch's flip copies (a
        # 0-d array's flip is NumPy's scalar)
    # torch's flip allocates empty_like(self, preserve_format): a transposed input's layout
    return relaid(x, xp.flip(x, dims).copy(order="K")), (dims,)


_flip.vjp(lambda xp, g, dims: (xp.flip(g, dims) if dims else g,))
_flip_fn = make_unary(_flip)


def flip(input, *args, dims=None):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("flip", ("input", 1, input))
    if not args and dims is None:
        raise _missing_arg("flip", "dims")
    dims = unique_dims(_dims_arg(args if dims is None else (dims,), "flip"), nd)
    return _flip_fn(input, dims if nd else ())


def fliplr(input):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("fliplr", ("input", 1, input))
    if nd < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("flipud", ("input", 1, input))
    if nd < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def rot90(input, k=1, dims=(0, 1)):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("rot90", ("input", 1, input))
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return flip(transpose(input, d0, d1), d1)
    from .._memory_format import contiguous_format
    return clone(input, memory_format=contiguous_format)    # (torch's k == 0: a contiguous copy)


@op("roll", saves=None)
def _roll(xp, x, shifts, dims):
    return _dense(xp, xp.roll(x, shifts, dims), x), (shifts, dims)


_roll.vjp(lambda xp, g, shifts, dims: (xp.roll(g, tuple(-s for s in shifts), dims),))
_roll_fn = make_unary(_roll)


def roll(input, shifts, dims=None):
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("roll", ("input", 1, input))
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    dims = () if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    if not shifts:      # (torch's roll_common: no dims with one shift rolls the flattened input)
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) == 1:
        # one roll of the flattened input (NumPy's axis None), recorded as one RollBackward0
        return _roll_fn(input, shifts, None)
    if len(dims) != len(shifts):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    if not nd:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return _roll_fn(input, shifts, tuple(wrap_dim(d, nd) for d in dims))


@op("repeat", saves=None)
def _repeat(xp, x, reps):
    lead = len(reps) - x.ndim
    shape = (1,) * lead + x.shape
    return xp.tile(x.reshape(shape), reps), (x.shape, reps)


@_repeat.vjp
def _(xp, g, shape, reps):
    """torch's repeat_backward: the new leading dims summed away one at a time, then one sum
    over the repeat dims of a reshape that splits each repeated dim (not those repeated once),
    added in torch's order where _torch_sum reproduces it."""
    lead = len(reps) - len(shape)
    for _ in range(lead):
        g = _summed(g, (0,))
    split, dims = [], []
    for r, s in zip(reps[lead:], shape):
        if r != 1:
            dims.append(len(split))
            split.append(r)
        split.append(s)
    return (_summed(g.reshape(split), tuple(dims)) if dims else g,)


def _summed(a, dims):
    r = torch_sum(a, dims, False)
    return a.sum(axis=dims) if r is None else r


def repeat(input, *sizes, repeats=None):
    if not sizes and repeats is None:
        raise _missing_arg("repeat", "repeats")
    reps = _shape_arg(sizes if repeats is None else (repeats,), "repeat")
    if len(reps) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if builtins.min(reps, default=0) < 0:      # torch names the sizes the result would have
        sizes = [r * s for r, s in zip(reps, (1,) * (len(reps) - input.ndim) + input.shape)]
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{next(v for v in sizes if v < 0)}: {sizes}")
    if type(input.arr) is SparseCOO:    # (torch's repeat expands a view of it)
        raise RuntimeError("expand is unsupported for Sparse tensors")
    return apply(_repeat, (input,), (reps,))


def tile(input, *args, dims=None):
    if not args and dims is None:
        raise _missing_arg("tile", "dims")
    dims = _shape_arg(args if dims is None else (dims,), "tile")
    try:
        nd = input.ndim
    except AttributeError:
        raise_not_tensor("tile", ("input", 1, input))
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:             # torch.repeat_interleave(repeats): repeats the indices
        rep = input
        try:
            nd = rep.ndim
        except AttributeError:
            raise_not_tensor("repeat_interleave", ("repeats", 1, rep))
        _repeats_dtype_check(rep)
        if nd != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        from .creation import arange
        return repeat_interleave(arange(rep.arr.shape[0], dtype=rep.dtype, device=rep.device),
                                 rep, 0, output_size=output_size)
    if isinstance(repeats, Tensor):
        _repeats_dtype_check(repeats)
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if dim is None:
        input = reshape(input, (-1,))
        dim = 0
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if isinstance(repeats, Tensor) and repeats.ndim == 1 and repeats.arr.shape[0] != 1:
        if repeats.arr.shape[0] != n:
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {repeats.arr.shape[0]} and input.size({d}) "
                               f"= {n}")
        reps = repeats.be.to_host(repeats.arr)
        if (reps < 0).any():
            raise RuntimeError("repeats can not be negative")
        _repeat_output_size(output_size, int(reps.sum()), True)
        xp = input.be.xp
        idx = _new(xp.asarray(np.repeat(np.arange(n), reps)), input.be)
        from .index import index_select
        return index_select(input, d, idx)
    r = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if r < 0:
        raise RuntimeError("repeats can not be negative")
    if input.ndim == 0:
        input = reshape(input, (1,))
    shp = input.shape
    _repeat_output_size(output_size, shp[d] * r, isinstance(repeats, Tensor))
    x = unsqueeze(input, d + 1)
    x = expand(x, shp[:d + 1] + (r,) + shp[d + 1:])
    return view(_clone_fn(x, "C"), shp[:d] + (shp[d] * r,) + shp[d + 1:])


def _repeat_output_size(given, size, tensor_repeats):
    """repeat_interleave's output_size must be the result's size along dim: torch's error for
    a number of repeats, or for a tensor of them its kernel's."""
    if given is None or given == size:
        return
    if not tensor_repeats:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {size} but got "
                           f"{given}")
    if given < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {given}: [{given}]")
    raise RuntimeError("allocated size does not match required size")


def _repeats_dtype_check(rep):
    """torch's repeat_interleave kernel takes int32 and int64 repeats only."""
    if rep.arr.dtype not in (np.int32, np.int64):
        raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                  f"'{_type_name(rep.arr.dtype)}'")


# ---- strided views ----------------------------------------------------------------------------
def _storage_root(a):
    """(root, byte_offset): the outermost array owning `a`'s memory and `a`'s offset in it.
    (NumPy's as_strided puts a non-array wrapper in the `base` chain: look through it.)"""
    if type(a) is np.ndarray and a.base is None:    # (an array owning its memory)
        return a, 0
    kind, root, cur = type(a), a, a
    while getattr(cur, "base", None) is not None:
        cur = cur.base
        if isinstance(cur, kind):
            root = cur
    return root, _ptr(a) - _ptr(root)


def _ptr(a):
    if hasattr(a, "__array_interface__"):
        return a.__array_interface__["data"][0]
    return a.data.ptr


def _storage_flat(a):
    """A 1-D byte view of the whole storage behind `a`, and a's byte offset in it."""
    root, off = _storage_root(a)
    if not root.flags.c_contiguous:
        raise RuntimeError("as_strided: the storage of this tensor is not contiguous")
    return root.reshape(-1).view(np.uint8), off


@op("as_strided", saves=None)
def _as_strided(xp, x, size, stride, offset):
    root, xoff = _storage_root(x)
    if not root.flags.c_contiguous:
        raise RuntimeError("as_strided: the storage of this tensor is not contiguous")
    nbytes = root.nbytes if type(root) is np.ndarray else _storage_flat(x)[0].shape[0]
    item = x.itemsize
    start = xoff if offset is None else offset * item
    span = (builtins.sum([(n - 1) * s for n, s in zip(size, stride)]) + 1) * item \
        if all(size) else 0
    if start < 0 or start + span > nbytes:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {start // item}, and itemsize {item} requiring a storage "
                           f"size of {start + span} are out of bounds for storage of size "
                           f"{nbytes}")
    strides = tuple([s * item for s in stride])
    out = None
    if type(root) is np.ndarray:    # straight over the storage's buffer (an empty view too: a
        # slice of it would lose its offset)
        try:
            out = np.ndarray(size, x.dtype, root, start, strides)
        except (TypeError, ValueError):
            pass
    if out is None:
        base = _storage_flat(x)[0][start:start + builtins.max(span, item)].view(x.dtype)
        out = _as_strided_arr(xp, base, size, strides)
    if 0 in stride and type(out) is np.ndarray and _overlaps(out):
        out.setflags(write=False)   # elements share memory: written as an expanded tensor is
        # (a fill once per location, torch's internal-overlap refusal for any other write)
    in_off = (xoff - start) // item
    return out, (x.shape, tuple([s // item for s in x.strides]), in_off, size, stride)


@_as_strided.vjp
def _(xp, g, shape, strides, in_off, size, stride):
    # Scatter the gradient onto the storage the output reads, then read it back the way the
    # input is laid out (averaging over input elements that share a memory location).
    out_idx = _element_offsets(xp, size, stride, 0).reshape(-1)
    in_idx = _element_offsets(xp, shape, strides, in_off).reshape(-1)
    if not out_idx.size or not in_idx.size:
        return (xp.zeros(shape, g.dtype),)
    lo = builtins.min(0, int(in_idx.min()))
    n = builtins.max(int(out_idx.max()), int(in_idx.max())) - lo + 1
    storage = xp.zeros(n, g.dtype)
    add_at(xp, storage, out_idx - lo, g.reshape(-1))
    counts = xp.bincount(in_idx - lo, minlength=n)
    gi = storage[in_idx - lo]
    if int(counts.max()) > 1:
        gi = gi / counts[in_idx - lo]
    return (gi.reshape(shape),)


def _element_offsets(xp, shape, strides, base):
    off = xp.full(shape, base, np.int64)
    for i, (n, s) in enumerate(zip(shape, strides)):
        off = off + (xp.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - i - 1))
    return off


_as_strided_fn = make_view(_as_strided)


def as_strided(input, size, stride, storage_offset=None):
    size, stride = _shape_arg((size,), "as_strided"), _shape_arg((stride,), "as_strided")
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if builtins.min(stride, default=0) < 0:
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    return _as_strided_fn(input, size, stride, storage_offset)


def _unfold_fwd(xp, x, dim, size, step):
    if x.ndim == 0:
        return x.reshape(1), (x.shape, dim, size, step, 1)
    n = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (n,) + x.shape[dim + 1:] + (size,)
    st = x.strides if x.size else _strided(x).strides
    strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
    return _as_strided_arr(xp, x, shape, strides), (x.shape, dim, size, step, n)


def _unfold_bwd(xp, g, shape, dim, size, step, n):
    if len(shape) == 0:
        return (g.reshape(()),)
    out = xp.zeros(shape, g.dtype)
    gm = xp.moveaxis(g, dim, -2)             # (..., n, size)
    om = xp.moveaxis(out, dim, -1)           # (..., N) view of out
    for k in range(size):
        om[..., k:k + step * (n - 1) + 1:step] += gm[..., :, k]
    return (out,)


_unfold_fn = _view_op("unfold", _unfold_fwd, _unfold_bwd)


def unfold(input, dimension, size, step):
    nd = input.ndim
    d = wrap_dim(dimension, nd)
    n = input.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    return _unfold_fn(input, d, size, step)


# ---- in-place shape ops (metadata changes of `self`) ------------------------------------------
def _meta_inplace(self, fn, *args):
    if _grad.enabled and self.requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    src = _new(self.arr, self.be)       # the node keeps the old shape through this alias
    src.requires_grad, src.grad_fn, src._leaf, src._vc = self.requires_grad, self.grad_fn, \
        self._leaf, self._vc
    if _fw.level is not None:
        src._fw = getattr(self, "_fw", None)
    out = fn(src, *args)
    self.arr = out.arr
    if _fw.level is not None:
        self._fw = getattr(out, "_fw", None)
    if out.requires_grad:
        node = self.grad_fn = out.grad_fn
        cls = _INPLACE_NODES.get(type(node).__name__)
        if cls is not None:             # torch's in-place overloads' node classes
            node.__class__ = cls
    bump_version(self)
    return self


_INPLACE_NODES = {a: _node_class(b) for a, b in (
    ("TBackward0", "TBackward1"), ("TransposeBackward0", "TransposeBackward1"),
    ("SqueezeBackward0", "SqueezeBackward3"), ("SqueezeBackward1", "SqueezeBackward4"),
    ("SqueezeBackward2", "SqueezeBackward5"), ("UnsqueezeBackward0", "UnsqueezeBackward1"),
    ("AsStridedBackward0", "AsStridedBackward1"))}


def _inplace_transposable(input):
    if input.layout not in (strided, sparse_coo):
        from ..sparse._compressed import layout_name
        raise RuntimeError(f"torch.transpose_: in-place transposition is not supported for "
                           f"{layout_name(input)} layout")


def t_(input):
    _inplace_transposable(input)
    return _meta_inplace(input, t, "t_")


def transpose_(input, dim0, dim1):
    _inplace_transposable(input)
    return _meta_inplace(input, transpose, dim0, dim1)


swapaxes_ = swapdims_ = transpose_


def squeeze_(input, dim=None):
    return _meta_inplace(input, squeeze, dim)


def unsqueeze_(input, dim):
    return _meta_inplace(input, unsqueeze, dim)


def as_strided_(input, size, stride, storage_offset=None):
    return _meta_inplace(input, as_strided, size, stride, storage_offset)


def resize_(input, *sizes, memory_format=None):
    """torch's resize_: the same storage seen with contiguous strides (or channels-last ones,
    for that memory_format) while it is big enough, else a new storage holding the old one's
    contents. Without a memory_format, the same size leaves the tensor as it is."""
    shape = _shape_arg(sizes, "resize_")
    if input.requires_grad and _grad.enabled:
        raise RuntimeError("cannot resize variables that require grad")
    prod, over = 1, False
    for size in shape:      # torch's safe_compute_numel: the sizes multiplied as uint64 (a
        prod *= size % 2 ** 64      # negative one 2**64 less it), an overflow sticky, and the
        over |= prod >= 2 ** 64     # product at most int64's maximum
        prod %= 2 ** 64
    if over or prod >= 2 ** 63:
        raise RuntimeError("numel: integer multiplication overflow")
    order = None
    if memory_format is not None:
        from .._memory_format import _INV, _ORDER, _check, is_channels_last, preserve_format
        if memory_format is preserve_format:
            raise RuntimeError("Unsupported memory formatPreserve")
        _check(memory_format, len(shape))
        if is_channels_last(memory_format):
            order = _ORDER[len(shape)]
    elif tuple(shape) == input.arr.shape:
        return input
    stored = shape if order is None else tuple(shape[d] for d in order)   # in memory order
    n = int(np.prod(shape))
    a = input.arr
    xp = input.be.xp
    root, off = _storage_root(a)
    item = a.itemsize
    new = None
    if root.flags.c_contiguous:
        flat = root.reshape(-1).view(np.uint8)
        if off + n * item <= flat.shape[0]:
            new = flat[off:off + n * item].view(a.dtype).reshape(stored)
        else:
            old = flat[off:].view(np.uint8)
            keep = old.shape[0] - old.shape[0] % item
            old = old[:keep].view(a.dtype)
    else:
        old = a.reshape(-1)
    if new is None:
        from .._storage import NOT_RESIZABLE, resizable
        if not resizable(root):
            raise RuntimeError(NOT_RESIZABLE)
        from .creation import _uninitialized_fill
        fill = _uninitialized_fill(a.dtype)     # (torch's new memory is uninitialised)
        new = xp.zeros(stored, a.dtype) if fill is None else xp.full(stored, fill, a.dtype)
        k = builtins.min(n, old.shape[0])
        new.reshape(-1)[:k] = old[:k]
    input.arr = new if order is None else new.transpose(_INV[len(shape)])
    bump_version(input)
    return input


def resize_as_(input, other, memory_format=None):
    try:
        shape = other.shape
    except AttributeError:
        raise_not_tensor("resize_as_", ("the_template", 2, other))
    return resize_(input, shape)


# ---- misc -------------------------------------------------------------------------------------
def numel(input):
    try:
        return input.numel()
    except AttributeError:
        raise_not_tensor("numel", ("input", 1, input))


def is_tensor(obj):
    return isinstance(obj, Tensor)


def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensor_elements(tensors)
    if indexing is None:
        # torch's TORCH_WARN_ONCE, from the C++ call in torch/functional.py: it lands there
        from .._warnings import warn_once
        warn_once("torch.meshgrid: in an upcoming release, it will be required to pass the "
                  "indexing argument.", stacklevel=1)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    ts = [reshape(t, (-1,)) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2       # xy: the first two dims are swapped
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = []
    for i, t in enumerate(ts):
        s = [1] * len(ts)
        s[i] = -1
        out.append(expand(view(t, s), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


@op("block_diag", saves=None)
def _block_diag(xp, *arrays):
    mats = [a.reshape(1, -1) if a.ndim <= 1 else a for a in arrays]
    out = xp.zeros((builtins.sum(m.shape[0] for m in mats),
                    builtins.sum(m.shape[1] for m in mats)), mats[0].dtype)
    r = c = 0
    for m in mats:
        out[r:r + m.shape[0], c:c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out, (tuple(a.shape for a in arrays),)


@_block_diag.vjp
def _(xp, g, shapes):
    out, r, c = [], 0, 0
    for s in shapes:
        h, w = s if len(s) == 2 else (1, _prod(s))
        out.append(g[r:r + h, c:c + w].reshape(s))
        r, c = r + h, c + w
    return tuple(out)


def block_diag(*tensors):
    tensor_elements(tensors)
    for i, m in enumerate(tensors):
        if m.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {m.ndim} dimensions")
    if not tensors:
        from .creation import empty
        return empty(1, 0)
    return apply(_block_diag, tuple(_common(tensors, "block_diag")))


def cartesian_prod(*tensors):
    tensor_elements(tensors)
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    _tri_indices_check(row, col, dtype, "tril_indices")
    return _tri_indices(np.tril_indices(row, offset, col), dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    _tri_indices_check(row, col, dtype, "triu_indices")
    return _tri_indices(np.triu_indices(row, offset, col), dtype, device)


def _tri_indices_check(row, col, dtype, name):
    """torch's checks: non-negative sizes (its message has no space), integer dtypes only."""
    for what, v in (("row", row), ("col", col)):
        if v < 0:
            raise RuntimeError(f"{what} must be non-negative, got{v}")
    if dtype is not None:
        from .._dtype import FEW_KERNELS, to_dtype
        d = to_dtype(dtype)
        if d.np.kind not in "iu" or d.np.num in FEW_KERNELS:       # (not uint16/32/64)
            raise NotImplementedError(f"\"{name}\" not implemented for '{_type_name(d.np)}'")


def _tri_indices(ij, dtype, device):
    from .creation import tensor
    from .._dtype import int64
    arr = np.stack(ij).astype(np.int64) if ij[0].size else np.zeros((2, 0), np.int64)
    return tensor(arr, dtype=dtype or int64, device=device)


# ---- scatter-into-view ops and in-place variants -------------------------------------------
def _region_put(xp, x, src, region):
    out = x.copy()
    _region(xp, out, region)[...] = src
    return out, (region,)


def _region(xp, a, region):
    kind, args = region
    return _diag_view(xp, a, *args) if kind == "diag" else a[args]


def _region_grads(xp, g, region):
    gx = g.copy()
    _region(xp, gx, region)[...] = 0
    return gx, _region(xp, g, region)


def _scatter_op(name):
    return op(name, saves=None)(_region_put).vjp(_region_grads)


_slice_scatter = _scatter_op("slice_scatter")
_select_scatter = _scatter_op("select_scatter")
_diagonal_scatter = _scatter_op("diagonal_scatter")


def _scatter_into(o, input, src, region, view):
    if tuple(src.shape) != tuple(view.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size "
                           f"= {list(src.shape)}, slice size = {list(view.shape)}")
    if src.arr.dtype != input.arr.dtype:
        src = src.to(input.dtype)
    return apply(o, (input, src), (region,))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    tensor_args("slice_scatter", ("input", 1, input), ("src", 2, src))
    d = wrap_dim(dim, input.ndim)
    region = ("basic", (slice(None),) * d + (slice(start, end, step),) + (Ellipsis,))
    return no_complex_grad(_scatter_into(_slice_scatter, input, src, region,
                                         input.arr[region[1]]), "slice_scatter")


def select_scatter(input, src, dim, index):
    tensor_args("select_scatter", ("input", 1, input), ("src", 2, src))
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select_scatter(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    region = ("basic", (slice(None),) * d + (index % n,) + (Ellipsis,))
    return no_complex_grad(_scatter_into(_select_scatter, input, src, region,
                                         input.arr[region[1]]), "select_scatter")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    tensor_args("diagonal_scatter", ("input", 1, input), ("src", 2, src))
    nd = input.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    region = ("diag", (int(offset), d1, d2))
    return _scatter_into(_diagonal_scatter, input, src, region,
                         _diag_view(input.be.xp, input.arr, int(offset), d1, d2))


def _laid_out(xp, a, perm):
    """A copy of `a` whose memory runs over its dims in the order `perm`."""
    return xp.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))


def _strided_region(xp, a, size, stride, offset, perm):
    """as_strided(size, stride, offset) of an array laid out in the order `perm`: a view."""
    flat = a.transpose(perm).reshape(-1)
    return _as_strided_arr(xp, flat[offset:], size, tuple(st * a.itemsize for st in stride))


@op("as_strided_scatter", saves=None)
def _as_strided_scatter(xp, x, src, size, stride, offset, perm):
    out = _laid_out(xp, x, perm)
    _strided_region(xp, out, size, stride, offset, perm)[...] = src
    return out, (size, stride, offset, perm)


@_as_strided_scatter.vjp
def _(xp, g, size, stride, offset, perm):
    gx = _laid_out(xp, g, perm)
    region = _strided_region(xp, gx, size, stride, offset, perm)
    gsrc = region.copy()
    region[...] = 0
    return gx, gsrc


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """input's clone (its layout kept where dense, as torch's clone) with the elements
    as_strided(size, stride, storage_offset) reads of it replaced by src."""
    tensor_args("as_strided_scatter", ("input", 1, input), ("src", 2, src))
    size = _shape_arg((size,), "as_strided_scatter")
    stride = _shape_arg((stride,), "as_strided_scatter")
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if builtins.min(stride, default=0) < 0:
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    item = input.arr.itemsize
    n = input.untyped_storage().nbytes() // item
    whole = n == input.arr.size and not input.storage_offset()
    if not whole and input.requires_grad and _grad.enabled and not input.is_contiguous():
        raise RuntimeError("!self.requires_grad() || self.is_contiguous() INTERNAL ASSERT FAILED "
                           "at \"/__w/pytorch/pytorch/aten/src/ATen/native/TensorShape.cpp\":"
                           "4754, please report a bug to PyTorch. as_strided_scatter is currently "
                           "only supported for contiguous inputs")
    offset = int(input.storage_offset() if storage_offset is None else storage_offset)
    span = builtins.sum((k - 1) * st for k, st in zip(size, stride)) + 1 if all(size) else 0
    if offset < 0 or offset + span > n:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{(offset + span) * item} are out of bounds for storage of size "
                           f"{n * item}")
    if tuple(src.shape) != tuple(size):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size "
                           f"= {list(src.shape)}, slice size = {list(size)}")
    pos = _element_offsets(np, size, stride, offset).reshape(-1)
    if np.unique(pos).size != pos.size:
        from ._apply import _OVERLAP
        raise RuntimeError(_OVERLAP)
    if not whole:
        # a view of a larger storage: torch's clone_preserve_strides clones the whole storage,
        # scatters into it at the storage offset given, and views it as input is
        out = as_strided(input, (n,), (1,), 0).clone()
        as_strided(out, size, stride, offset).copy_(src)
        return as_strided(out, tuple(input.shape), input.stride(), input.storage_offset())
    a = input.arr
    perm = tuple(sorted(range(a.ndim), key=lambda d: -a.strides[d]))
    if not a.transpose(perm).flags.c_contiguous:
        perm = tuple(range(a.ndim))     # (not dense: torch's clone is contiguous)
    if src.arr.dtype != a.dtype:
        src = src.to(input.dtype)
    return apply(_as_strided_scatter, (input, src), (size, stride, offset, perm))


@op("fill_diagonal", saves=None, node="FillBackward1")
def _fill_diagonal(xp, x, value, pos):
    flat = x.reshape(-1).copy()
    flat[pos] = value
    return flat.reshape(x.shape), (pos, x.shape)


@_fill_diagonal.vjp
def _(xp, g, pos, shape):
    gf = g.reshape(-1).copy()
    gf[pos] = 0
    return gf.reshape(shape), None


def _fill_diagonal_out(input, fill_value, wrap=False):
    """Flat positions as NumPy's fill_diagonal computes them (torch follows it)."""
    shape = input.arr.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = _prod(shape)
    if len(shape) == 2:
        step = shape[1] + 1
        end = n if wrap else builtins.min(n, shape[1] * shape[1])
    else:
        step = 1 + builtins.sum(_prod(shape[i + 1:]) for i in range(len(shape) - 1))
        end = n
    pos = input.be.xp.arange(0, end, step)
    return apply(_fill_diagonal, (input, fill_value), (pos,))


fill_diagonal_ = inplace(_fill_diagonal_out, "fill_diagonal")
tril_ = inplace(tril, "tril")
triu_ = inplace(triu, "triu")


@op("sparse_narrow_copy", saves=None, node="NarrowCopyBackward0")
def _sparse_narrow_copy(xp, x, dim, start, length):
    return x.narrow(dim, start, length), (x.shape, dim, start)


@_sparse_narrow_copy.vjp
def _(xp, g, shape, dim, start):
    _sparse_not_strided(xp, g)
    out = xp.zeros(shape, g.dtype)
    out[(slice(None),) * dim + (slice(start, start + g.shape[dim]),)] = g
    return (out,)


def narrow_copy(input, dim, start, length, *, out=None):
    if not tensor_ndim("narrow_copy", input):
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if isinstance(dim, int) and dim >= tensor_ndim("narrow_copy", input):
        raise RuntimeError("Expected dim < static_cast<int64_t>(self_sizes.size()) to be true, "
                           "but got false.  (Could this error message be improved?  If so, please "
                           "report an enhancement request to PyTorch.)")
    if isinstance(input.arr, SparseCOO):     # torch's sparse kernel (narrow views have none)
        if not 0 <= dim < input.ndim:
            raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {input.ndim}.")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start < 0 or start + length > input.shape[dim]:
            raise RuntimeError(f"Invalid range to narrow. range(start, start+length) must be a "
                               f"subset of range(0, {input.shape[dim]}).")
        return _finish_out(apply(_sparse_narrow_copy, (input,), (dim, start, length)), out,
                           "narrow_copy", exact=True)
    if input.be.idx == NESTED_IDX:
        return _finish_out(_clone_fn(narrow(input, dim, start, length), "C"), out,
                           "narrow_copy", exact=True)
    d = wrap_dim(dim, input.ndim)
    start, length = _narrow_range(input, d, start, length, True)
    return _finish_out(apply(_narrow_copy, (input,), (d, start, length)), out, "narrow_copy",
                       exact=True)
