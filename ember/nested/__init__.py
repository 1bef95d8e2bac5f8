"""torch.nested: tensors of components of different lengths, in torch's two layouts.

`strided` (torch's NestedTensorImpl) prints its components and has no sizes; `jagged` (torch's
NestedTensor subclass) has a ragged dim named by a nested int (`j1`) and its values and offsets.
Both are ember Tensors over a NestedArray (ember/_nested_array.py); ops run their dense kernels
on each component (_ops.py), so gradients reach the components through the usual graph."""
import weakref

import numpy as np

from .._layout import jagged, strided
from .._tensor import Tensor, _new
from .._warnings import warn_once
from .._nested_array import Meta, NestedArray, STRIDED, nested_int, refuse_cuda
from ._ops import NESTED, from_jagged, from_parts, to_padded, _install

__all__ = ["nested_tensor", "as_nested_tensor", "to_padded_tensor", "nested_tensor_from_jagged",
           "narrow", "masked_select"]

_install()

_PROTOTYPE = ("The PyTorch API of nested tensors is in prototype stage and will change in the "
              "near future. We recommend specifying layout=torch.jagged when constructing a "
              "nested tensor, as this layout receives active development, has better operator "
              "coverage, and works with torch.compile.")


def _meta(layout, parts):
    """The structure of a new tensor of these components (jagged: new offsets, a new j), after
    torch's checks of them."""
    if layout is None or layout is strided:
        warn_once(_PROTOTYPE, stacklevel=3)      # (torch's TORCH_WARN_ONCE)
        for i in range(1, len(parts)):
            if parts[i].ndim != parts[i - 1].ndim:
                raise RuntimeError(f"All Tensors given to nested_tensor must have the same "
                                   f"dimension. Found dimension {parts[i].ndim} for Tensor at "
                                   f"index {i} and dimension {parts[i - 1].ndim} for Tensor at "
                                   f"index {i - 1}.")
        return STRIDED
    if layout is not jagged:
        raise RuntimeError(f"Specified layout is unsupported for nested tensors: {layout}")
    if not parts:
        raise RuntimeError("Cannot construct a nested tensor from an empty tensor list")
    if not parts[0].ndim:
        raise RuntimeError("Cannot construct a nested tensor from a list of zero-dim tensors")
    for what, name in (("ndim", "dim"), ("dtype", "dtype")):
        if any(getattr(p, what) != getattr(parts[0], what) for p in parts):
            raise RuntimeError(f"When constructing a nested tensor, all tensors in list must "
                               f"have the same {name}")
    if len({p.shape[1:] for p in parts}) > 1:
        raise RuntimeError("Cannot represent given tensor list as a nested tensor with the jagged "
                           "layout. Note that the jagged layout only allows for a single ragged "
                           "dimension. For example: (B, *, D_0, D_1, ..., D_N), with ragged * "
                           "dim.")
    lens = [p.shape[0] for p in parts]
    offsets = _new(np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), parts[0].be)
    # (torch caches the min and max lengths of a tensor built from a list)
    return Meta("jagged", offsets, None, nested_int(offsets.arr), 1, (min(lens), max(lens)))


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """A leaf nested tensor of copies of the components (tensors or nested lists)."""
    from ..ops.creation import as_tensor
    if isinstance(tensor_list, Tensor) and layout is not jagged:
        raise TypeError("Only lists (List[Tensor] and List[List...[Scalar]]) are accepted in "
                        "nested_tensor")
    parts = [t.detach() if isinstance(t, Tensor) else as_tensor(t) for t in tensor_list]
    refuse_cuda(parts)
    meta = _meta(layout, parts)
    if dtype is None and parts:     # (a strided tensor's: the first component's)
        dtype = parts[0].dtype
    parts = [t.to(device=device, dtype=dtype, copy=True) for t in parts]
    refuse_cuda(parts)
    out = _new(NestedArray([t.arr for t in parts], meta, None if dtype is None or parts else
                           dtype.np), NESTED)
    if layout is jagged:
        out.arr.view = weakref.ref(out)
    return out.requires_grad_(requires_grad)


def as_nested_tensor(ts, dtype=None, device=None, layout=None):
    """A nested tensor of these tensors (or of a tensor's slices along dim 0) that keeps the
    autograd graph to them."""
    if isinstance(ts, Tensor) and ts.is_nested:
        if layout is not ts.layout:     # (layout=None too, as torch's)
            raise RuntimeError("as_nested_tensor(): Converting between nested tensor layouts is "
                               "not supported")
        return ts.to(device=device, dtype=dtype)
    if isinstance(ts, Tensor):
        if ts.dim() < 2:
            raise RuntimeError("as_nested_tensor(): Expected tensor argument to have dim() > 1")
        ts = ts.unbind(0)
    elif not (isinstance(ts, (list, tuple)) and all(isinstance(t, Tensor) for t in ts)):
        raise TypeError("as_nested_tensor(): Expected first argument to be a tensor or a list / "
                        "tuple of tensors ")
    parts = [t.to(device=device, dtype=dtype) for t in ts]
    out = from_parts(parts, _meta(layout, parts))
    if not parts and dtype is not None:     # (no components: the dtype given)
        out.arr.dtype = dtype.np
    return out


def to_padded_tensor(input, padding, output_size=None):
    if not getattr(input, "is_nested", True):      # (a dense tensor: no kernel, as torch)
        from .._sparse_coo import not_implemented
        raise not_implemented("to_padded_tensor", input.be.xp, kind="")
    return to_padded(input, padding, output_size)


def nested_tensor_from_jagged(values, offsets=None, lengths=None, jagged_dim=None,
                              min_seqlen=None, max_seqlen=None):
    """A jagged tensor viewing `values`, whose dim jagged_dim - 1 packs the components one after
    another, each from its offset (to the next one, or for `lengths` of them)."""
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or lengths "
                               "is required.")
        from ..nn.functional import pad
        offsets, lengths = pad(lengths.cumsum(0), (1, 0)), None
    if jagged_dim is None:
        jagged_dim = 1
    elif jagged_dim < 1:
        raise ValueError(f"Expected jagged_dim >=1, but got {jagged_dim}.")
    return from_jagged(values, offsets, lengths, jagged_dim, nested_int(offsets.arr),
                       (min_seqlen, max_seqlen))


def narrow(tensor, dim, start, length, layout=strided):
    """The slices tensor[i, start_i:start_i + length_i] as a nested tensor (jagged: a view of
    tensor with holes; start and length ints or one per batch entry)."""
    from ..ops.creation import tensor as _tensor
    if not isinstance(start, (int, Tensor)):
        raise RuntimeError("start must be an integer or a tensor")
    if not isinstance(length, (int, Tensor)):
        raise RuntimeError("length must be an integer or a tensor")
    if layout is strided:
        if isinstance(start, Tensor) or isinstance(length, Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT impl")
        if dim != 0:
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: {dim}")
        return as_nested_tensor(list(tensor.unbind(0))[start:start + length], layout=strided)
    if layout is not jagged:
        raise RuntimeError(f"Specified layout is unsupported for nested narrow: {layout}")
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    refuse_cuda([tensor] + [t for t in (start, length) if isinstance(t, Tensor)])
    b, n = tensor.shape[0], tensor.shape[1]
    start = _tensor([start]) if isinstance(start, int) else start
    length = _tensor([length]) if isinstance(length, int) else length
    starts = np.arange(b) * n + np.broadcast_to(start.arr, (b,))
    lengths = _tensor(np.broadcast_to(length.arr, (b,)).copy())
    offsets = _tensor(np.append(starts, starts[-1] + lengths.arr[-1]))
    return from_jagged(tensor.reshape(b * n, *tensor.shape[2:]), offsets, lengths, 1,
                       nested_int(offsets.arr))


def masked_select(tensor, mask):
    """The elements of each row (the last dim) of a dense tensor where mask is True, as a
    jagged tensor (B, j) over tensor.masked_select(mask)."""
    if tensor.layout is not strided:
        raise RuntimeError(f"torch.nested.masked_select requires a strided tensor, given "
                           f"{tensor.layout}")
    if mask.layout is not strided:
        raise RuntimeError(f"torch.nested.masked_select requires a strided mask, given: "
                           f"{mask.layout}")
    from ..nn.functional import pad
    lengths = mask.expand(tensor.shape).sum(dim=tensor.ndim - 1).view(-1)
    return nested_tensor_from_jagged(tensor.masked_select(mask), pad(lengths.cumsum(dim=0),
                                                                    (1, 0)))


# ---- the Tensor methods of nested tensors ---------------------------------------------------
class _JaggedOnly:
    """An attribute of jagged tensors only (torch's live on its NestedTensor subclass): other
    tensors have no such attribute, as torch's plain tensors have none. get(array) gives it."""

    def __init__(self, name, get):
        self.name, self.get = name, get

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        a = obj.arr
        if type(a) is not NestedArray or a.meta.layout != "jagged":
            raise AttributeError(f"'Tensor' object has no attribute '{self.name}'")
        return self.get(a)


def _seqlens(a):
    return [p.shape[a.meta.ragged - 1] for p in a.parts]


Tensor.offsets = _JaggedOnly("offsets", lambda a: lambda: a.meta.offsets)
Tensor.lengths = _JaggedOnly("lengths", lambda a: lambda: a.meta.lengths)
Tensor._size = _JaggedOnly("_size", lambda a: tuple(a.shape))     # (B, j1, ...)
Tensor._ragged_idx = _JaggedOnly("_ragged_idx", lambda a: a.meta.ragged)


def _cached_seqlen(i, f):
    """torch's _min_seqlen (i 0) / _max_seqlen (1): the one cached, else f of the lengths,
    cached then in this tensor's metadata (to_padded_tensor pads to the max once known)."""
    def get(a):
        m = a.meta
        if m.seqlens[i] is None:
            seqlens = list(m.seqlens)
            seqlens[i] = f(_seqlens(a))
            a.meta = Meta(m.layout, m.offsets, m.lengths, m.nid, m.ragged, tuple(seqlens))
        return a.meta.seqlens[i]
    return get


Tensor._max_seqlen = _JaggedOnly("_max_seqlen", _cached_seqlen(1, max))
Tensor._min_seqlen = _JaggedOnly("_min_seqlen", _cached_seqlen(0, min))


def _per_component(name, get):
    """A strided nested tensor's metadata method `name`: an int64 tensor of get(components)
    (torch's _nested_tensor_size & co.), which other tensors have no kernel of."""
    def method(self):
        a = self.arr
        if type(a) is not NestedArray or a.meta.layout == "jagged":
            from .._sparse_coo import not_implemented
            raise not_implemented(name, self.be.xp, "") if type(a) is not NestedArray else \
                NotImplementedError(f"aten.{name}.default")
        from ..ops.creation import tensor
        return tensor(get(a.parts), dtype=np.int64)
    method.__name__ = name
    return method


Tensor._nested_tensor_size = _per_component("_nested_tensor_size",
                                            lambda ps: [p.shape for p in ps])
Tensor._nested_tensor_strides = _per_component(
    "_nested_tensor_strides", lambda ps: [[s // p.itemsize for s in p.strides] for p in ps])
Tensor._nested_tensor_storage_offsets = _per_component(
    "_nested_tensor_storage_offsets", lambda ps: np.cumsum([0] + [p.size for p in ps[:-1]]))
