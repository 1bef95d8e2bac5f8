"""Shape and view ops. Views share storage and the version counter with their base."""
import builtins

import numpy as np

from .._dtype import PROMOTE
from .._tensor import Size, Tensor, _new
from ._apply import _share_version, apply, make_unary, make_view
from ._dims import wrap_dim
from ._registry import op


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        try:
            out.append(s.__index__())
        except AttributeError:
            raise TypeError(f"view(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}") from None
    return tuple(out)


def infer_shape(shape, numel):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


@op("view", saves=None)
def _view(xp, x, shape):
    r = x.reshape(shape)
    if x.size and r.size and (r.flags.owndata if hasattr(r.flags, "owndata") else False):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return r, (x.shape,)


@op("reshape", saves=None, node="ViewBackward0")
def _reshape(xp, x, shape):
    return x.reshape(shape), (x.shape,)


def _reshape_back(xp, g, shape):
    return (g.reshape(shape),)


_view.vjp(_reshape_back)
_reshape.vjp(_reshape_back)
_view_fn = make_view(_view)
_reshape_fn = make_view(_reshape)


def view(input, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)) and \
            not hasattr(shape[0], "__index__"):
        return _view_dtype(input, shape[0])
    return _view_fn(input, infer_shape(_shape_arg(shape), input.arr.size))


def _view_dtype(input, dtype):
    from .._dtype import to_dtype
    t = _new(input.arr.view(to_dtype(dtype).np), input.be)
    _share_version(t, input)
    return t


def reshape(input, *shape):
    return _reshape_fn(input, infer_shape(_shape_arg(shape), input.arr.size))


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input.shape
    return reshape(input, shp[:s] + (int(np.prod(shp[s:e + 1])),) + shp[e + 1:])


def ravel(input):
    return reshape(input, (-1,))


def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input.ndim)
    sizes = tuple(sizes)
    n = input.shape[d]
    sizes = infer_shape(sizes, n) if -1 in sizes else sizes
    if int(np.prod(sizes)) != n:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


@op("permute", saves=None)
def _permute(xp, x, dims):
    return x.transpose(dims), (dims,)


@_permute.vjp
def _(xp, g, dims):
    return (g.transpose(np.argsort(dims)),)


_permute_fn = make_view(_permute)


def permute(input, *dims):
    dims = _shape_arg(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute_fn(input, dims)


@op("transpose", saves=None)
def _transpose(xp, x, d0, d1):
    return xp.swapaxes(x, d0, d1), (d0, d1)


_transpose.vjp(lambda xp, g, d0, d1: (xp.swapaxes(g, d0, d1),))
_transpose_fn = make_view(_transpose)


def transpose(input, dim0, dim1):
    nd = input.ndim
    return _transpose_fn(input, wrap_dim(dim0, nd), wrap_dim(dim1, nd))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else view(input, input.shape)


def adjoint(input):
    return transpose(input, -2, -1).conj()


def movedim(input, source, destination):
    nd = input.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = [wrap_dim(d, nd) for d in src]
    dst = [wrap_dim(d, nd) for d in dst]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


@op("squeeze", saves=None)
def _squeeze(xp, x, dims):
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims)), (x.shape,)


_squeeze.vjp(_reshape_back)
_squeeze_fn = make_view(_squeeze)


def squeeze(input, dim=None):
    nd = input.ndim
    if dim is None:
        dims = tuple(i for i, s in enumerate(input.shape) if s == 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(wrap_dim(d, nd) for d in dims) if nd else ()
        dims = tuple(d for d in dims if input.shape[d] == 1)
    return _squeeze_fn(input, dims)


@op("unsqueeze", saves=None)
def _unsqueeze(xp, x, dim):
    return xp.expand_dims(x, dim), (x.shape,)


_unsqueeze.vjp(_reshape_back)
_unsqueeze_fn = make_view(_unsqueeze)


def unsqueeze(input, dim):
    return _unsqueeze_fn(input, wrap_dim(dim, input.ndim + 1))


@op("expand", saves=None)
def _expand(xp, x, shape):
    return xp.broadcast_to(x, shape), ()


_expand.vjp(lambda xp, g: (g,))        # the engine sums the gradient back to the input shape
_expand_fn = make_view(_expand)


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    nd = input.ndim
    if len(sizes) < nd:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(input.shape)}}}, size={list(sizes)}"
                           f"): the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({nd})")
    lead = len(sizes) - nd
    out = list(sizes)
    for i, s in enumerate(input.shape):
        want = sizes[lead + i]
        if want == -1:
            out[lead + i] = s
        elif s != want and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}.  "
                               f"Target sizes: {list(sizes)}.  Tensor sizes: {list(input.shape)}")
    if any(s < 0 for s in out[:lead]):
        raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, "
                           "non-existing dimension 0")
    return _expand_fn(input, tuple(out))


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, size):
    return expand(input, size)


def broadcast_shapes(*shapes):
    try:
        return Size(np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,)
                                          for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape") \
            from None


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


@op("clone", saves=None)
def _clone(xp, x):
    return x.copy(), ()


_clone.vjp(lambda xp, g: (g,))
_clone_fn = make_unary(_clone)


def clone(input, *, memory_format=None):
    return _clone_fn(input)


def contiguous(input, memory_format=None):
    return input if input.arr.flags.c_contiguous else _clone_fn(input)


@op("cat", saves=None)
def _cat(xp, *arrays_and_dim):
    *arrays, dim = arrays_and_dim
    sizes = [a.shape[dim] if a.ndim else 0 for a in arrays]
    kept = [a for a in arrays if not (a.ndim == 1 and a.shape[0] == 0)] or arrays[:1]
    return xp.concatenate(kept, axis=dim), (sizes, [a.ndim == 1 and a.shape[0] == 0
                                                    for a in arrays], dim)


@_cat.vjp
def _(xp, g, sizes, skipped, dim):
    out, start = [], 0
    for n, skip in zip(sizes, skipped):
        if skip:
            out.append(None)
            continue
        idx = [slice(None)] * g.ndim
        idx[dim] = slice(start, start + n)
        out.append(g[tuple(idx)])
        start += n
    return tuple(out)


def _common(tensors, name):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}(): expected a non-empty list of Tensors")
    dt = None
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {tensors.index(t)} in argument 0, but "
                            f"got {type(t).__name__}")
        dt = t.dtype if dt is None else PROMOTE[dt, t.dtype]
    return [t if t.dtype is dt else t.to(dt) for t in tensors]


def cat(tensors, dim=0, *, out=None):
    tensors = _common(tensors, "cat")
    ref = next((t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for j in range(ref.ndim):
            if j != d and t.shape[j] != ref.shape[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[j]} but got size {t.shape[j]} for "
                                   f"tensor number {i} in the list.")
    return apply(_cat, tuple(tensors), (d,))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = _common(tensors, "stack")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t.ndim >= 2 else reshape(t, (1, -1)) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    out = []
    for t in tensors:
        if t.ndim == 0:
            t = reshape(t, (1, 1, 1))
        elif t.ndim == 1:
            t = reshape(t, (1, -1, 1))
        elif t.ndim == 2:
            t = unsqueeze(t, 2)
        out.append(t)
    return cat(out, 2)


def column_stack(tensors):
    return cat([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1)


@op("narrow", saves=None, node="SliceBackward0")
def _narrow(xp, x, dim, start, length):
    idx = (slice(None),) * dim + (slice(start, start + length),)
    return x[idx], (x.shape, x.dtype, idx)


@_narrow.vjp
def _(xp, g, shape, dtype, idx):
    out = xp.zeros(shape, g.dtype)
    out[idx] = g
    return (out,)


_narrow_fn = make_view(_narrow)


def narrow(input, dim, start, length):
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _narrow_fn(input, d, start, length)


def split(tensor, split_size_or_sections, dim=0):
    d = wrap_dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(_narrow_fn(tensor, d, start, s))
        start += s
    return tuple(out)


def tensor_split(input, indices_or_sections, dim=0):
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i), 0), n) for i in indices_or_sections]
        bounds.append(n)
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    out, start = [], 0
    for s in sizes:
        out.append(_narrow_fn(input, d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input.shape[wrap_dim(dim, input.ndim)]
    step = -(-n // chunks) if n else 1
    return split(input, step, dim)


@op("select", saves=None)
def _select(xp, x, dim, index):
    return x[(slice(None),) * dim + (index,)], (x.shape, dim, index)


@_select.vjp
def _(xp, g, shape, dim, index):
    out = xp.zeros(shape, g.dtype)
    out[(slice(None),) * dim + (index,)] = g
    return (out,)


_select_fn = make_view(_select)


def select(input, dim, index):
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return _select_fn(input, d, index + n if index < 0 else index)


def unbind(input, dim=0):
    d = wrap_dim(dim, input.ndim)
    return tuple(_select_fn(input, d, i) for i in range(input.shape[d]))


@op("flip", saves=None)
def _flip(xp, x, dims):
    return xp.flip(x, dims).copy(), (dims,)      # torch's flip copies


_flip.vjp(lambda xp, g, dims: (xp.flip(g, dims),))
_flip_fn = make_unary(_flip)


def flip(input, *dims):
    dims = _shape_arg(dims)
    return _flip_fn(input, tuple(wrap_dim(d, input.ndim) for d in dims))


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)
