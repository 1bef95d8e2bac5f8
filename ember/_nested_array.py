"""NestedArray: the array behind a nested tensor (torch.nested, layouts strided and jagged).

A nested tensor is an ordinary ember Tensor whose `arr` is a NestedArray and whose backend is
NESTED (the CPU device, op slot NESTED_IDX). Ops reach their nested kernels through that slot
(`op.impl[be.idx]`, ember/nested/_ops.py), so the dense hot path carries no check. A
NestedArray is a list of component arrays (`parts`, one per batch entry, all of one ndim and
dtype) plus a `Meta`: the layout, and for jagged tensors the offsets, the nested int (`j1`)
naming the ragged size, and which dim is ragged. It answers what the generic machinery (the
autograd engine, Tensor's metadata properties) reads from an array: shape, ndim, dtype, nbytes,
flags, astype, copy and `+` (gradient accumulation); `numel` stands for a flat `size`, which
it lacks so that view and reshape fail over to their nested path."""
import weakref

import numpy as np


class NestedInt:
    """torch's nested int: the size of a jagged tensor's ragged dim, printed `j1`, `j2`, ...
    One per offsets array; tensors sharing offsets share it (and may be added together)."""
    __slots__ = ("n", "__weakref__")
    _count = 0

    def __init__(self):
        NestedInt._count += 1
        self.n = NestedInt._count

    def __repr__(self):
        return f"j{self.n}"

    def __mul__(self, k):
        return self if k == 1 else ScaledNestedInt(k, self)

    __rmul__ = __mul__


class ScaledNestedInt:
    """k * j1, printed `12*j1` as torch's SymInt (a jagged tensor's batch stride)."""
    __slots__ = ("k", "nid")

    def __init__(self, k, nid):
        self.k, self.nid = k, nid

    def __repr__(self):
        return f"{self.k}*{self.nid}"

    def __mul__(self, k):
        return self.nid * (self.k * k)

    __rmul__ = __mul__

    def __eq__(self, other):
        return type(other) is ScaledNestedInt and (self.k, self.nid) == (other.k, other.nid)

    def __hash__(self):
        return hash((self.k, self.nid))


_NIDS = {}      # id(offsets array) -> (weakref to it, its NestedInt), as torch's registry


def nested_int(offsets):
    """The nested int of an offsets array (made on first sight, as torch's get_tensor_symint)."""
    hit = _NIDS.get(id(offsets))
    if hit is not None and hit[0]() is offsets:
        return hit[1]
    nid = NestedInt()
    key = id(offsets)
    _NIDS[key] = (weakref.ref(offsets, lambda _: _NIDS.pop(key, None)), nid)
    return nid


class Meta:
    """What a nested tensor is besides its components: `layout` ("strided" | "jagged"); for
    jagged, `offsets` (B + 1,) int64, `lengths` (None, or torch's lengths of a tensor with holes),
    `nid` the NestedInt of the ragged dim and `ragged` its index (1 unless transposed);
    `seqlens` (min, max) as given to nested_tensor_from_jagged (None: computed), which torch
    keeps through ops."""
    __slots__ = ("layout", "offsets", "lengths", "nid", "ragged", "seqlens")

    def __init__(self, layout, offsets=None, lengths=None, nid=None, ragged=1,
                 seqlens=(None, None)):
        self.layout, self.offsets, self.lengths = layout, offsets, lengths
        self.nid, self.ragged, self.seqlens = nid, ragged, seqlens

    def with_ragged(self, ragged):
        return Meta(self.layout, self.offsets, self.lengths, self.nid, ragged, self.seqlens)


STRIDED = Meta("strided")
SIZES_ERROR = "Internal error: NestedTensorImpl doesn't support sizes. Please file an issue."
STRIDES_ERROR = "Internal error: NestedTensorImpl doesn't support strides. Please file an issue."


# ember's nested tensors hold host (NumPy) components on the CPU device: nested tensors of CUDA
# tensors (which torch has) are refused, not made into CPU tensors of GPU arrays
CUDA_ERROR = ("ember's nested tensors are CPU-only: nested tensors of CUDA tensors are not "
              "supported. Build the nested tensor from CPU tensors (Tensor.cpu()).")


def refuse_cuda(tensors):
    for t in tensors:
        if t.be.name == "cuda":
            raise NotImplementedError(CUDA_ERROR)


class NestedShape:
    """A nested tensor's shape. Jagged: (B, ..., j1, ...), the ragged dim a NestedInt. Strided:
    torch has no sizes (iterating raises its error), only size(i) of the regular dims. Two
    shapes are equal when their components' shapes are (the engine compares gradients')."""
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def _dims(self):
        a = self.a
        shapes = [p.shape for p in a.parts]
        dims = [len(shapes)]
        for d in range(a.ndim - 1):
            sizes = {s[d] for s in shapes}
            dims.append(sizes.pop() if len(sizes) == 1 else None)
        if a.meta.layout == "jagged":
            dims[a.meta.ragged] = a.meta.nid
        return dims

    def __iter__(self):
        if self.a.meta.layout == "strided":
            raise RuntimeError(SIZES_ERROR)
        return iter(self._dims())

    def __len__(self):
        return self.a.ndim

    def __getitem__(self, i):
        dims = self._dims()
        if isinstance(i, slice):        # (irregular dims of a strided tensor: None)
            return tuple(dims[i])
        d = dims[i]
        if d is None:
            raise RuntimeError(f"Given dimension {i % len(dims)} is irregular and does not have "
                               "a size.")
        return d

    def __eq__(self, other):
        return type(other) is NestedShape and \
            [p.shape for p in self.a.parts] == [p.shape for p in other.a.parts]

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return "(" + ", ".join("?" if d is None else str(d) for d in self._dims()) + ")"

    def zeros(self, dtype):
        """Zeros of this shape (a multi-output node's missing gradient)."""
        return self.a.like([np.zeros(p.shape, dtype) for p in self.a.parts])


class _Flags:
    __slots__ = ("c_contiguous",)
    owndata = True
    writeable = f_contiguous = False     # gradients are summed into new arrays, never in place

    def __init__(self, contiguous):
        self.c_contiguous = contiguous


_FLAGS = {True: _Flags(True), False: _Flags(False)}


class NestedArray:
    # view: a weak reference to the tensor that torch makes a view of its values (a jagged
    # tensor made by nested_tensor, as_nested_tensor or from its values), or None; buffer: a
    # jagged tensor with holes' whole values array, its holes too, whose views the components
    # are (None: the components packed are the values)
    __slots__ = ("parts", "meta", "dtype", "view", "buffer")

    def __init__(self, parts, meta, dtype=None):
        self.parts, self.meta, self.view, self.buffer = list(parts), meta, None, None
        if dtype is None:       # (no components: the default dtype's, as torch's)
            from ._dtype import get_default_dtype
            dtype = self.parts[0].dtype if self.parts else get_default_dtype().np
        self.dtype = dtype

    @classmethod
    def over(cls, buffer, meta):
        """The jagged array of meta's components (from its offsets, for its lengths) viewing
        `buffer`, which it keeps (a tensor with holes)."""
        o = meta.offsets.arr
        ends = o[1:] if meta.lengths is None else o[:-1] + meta.lengths.arr
        cut = (slice(None),) * (meta.ragged - 1)
        out = cls([buffer[cut + (slice(s, e),)] for s, e in zip(o[:-1], ends)], meta,
                  buffer.dtype)
        out.buffer = buffer
        return out

    def is_view(self, t):
        """Whether tensor t over this array is a view in torch (of its values)."""
        return self.view is not None and self.view() is t

    ndim = property(lambda self: self.parts[0].ndim + 1 if self.parts else 1)
    shape = property(NestedShape)
    # no flat `size`: code that reshapes by it (view, reshape) fails over to the nested path
    numel = property(lambda self: sum(p.size for p in self.parts))
    nbytes = property(lambda self: sum(p.nbytes for p in self.parts))
    itemsize = property(lambda self: self.dtype.itemsize)
    strides = None

    @property
    def flags(self):
        """Contiguous as torch's nested tensors are: a jagged one's components the pieces of one
        contiguous values array along the ragged dim, without holes (a transpose, or a slice
        of a non-ragged dim, is not); a strided one's components untransposed."""
        m = self.meta
        if m.layout == "jagged":
            return _FLAGS[m.lengths is None and self._packed_contiguous()]
        return _FLAGS[all(p.flags.c_contiguous for p in self.parts)]

    def _packed_contiguous(self):
        """Whether each component has the strides of a slice of a C-contiguous values array
        (the components packed along the ragged dim; dims of size 0 or 1 have any stride)."""
        r, p0 = self.meta.ragged - 1, self.parts[0]
        shape = list(p0.shape)
        shape[r] = sum(p.shape[r] for p in self.parts)
        expected, step = [0] * len(shape), p0.itemsize
        for d in range(len(shape) - 1, -1, -1):
            expected[d], step = step, step * shape[d]
        return all(n < 2 or p.strides[d] == expected[d] for p in self.parts
                   for d, n in enumerate(p.shape))

    def like(self, parts):
        """A NestedArray of these components with this one's structure."""
        return NestedArray(parts, self.meta)

    def astype(self, dtype, copy=True):
        return NestedArray([p.astype(dtype, copy=copy) for p in self.parts], self.meta,
                           np.dtype(dtype))

    def copy(self, order="C"):
        """A copy; a jagged one's components views of one new contiguous values array."""
        if self.meta.layout == "jagged":
            r, p0 = self.meta.ragged - 1, self.parts[0]
            shape = p0.shape[:r] + (sum(p.shape[r] for p in self.parts),) + p0.shape[r + 1:]
            values = np.concatenate(self.parts, axis=r, out=np.empty(shape, self.dtype))
            return self.like(np.split(values, np.cumsum([p.shape[r] for p in self.parts])[:-1],
                                      axis=r))
        return self.like([p.copy() for p in self.parts])

    def __add__(self, other):
        if self.buffer is not None or other.buffer is not None:    # (gradients with holes)
            shape = (self.buffer if other.buffer is None else other.buffer).shape
            return NestedArray.over(self.whole(shape) + other.whole(shape), self.meta)
        return self.like([p + q for p, q in zip(self.parts, other.parts)])

    def whole(self, shape):
        """A jagged array's buffer, or (one without) its components at their offsets in zeros
        of that shape."""
        if self.buffer is not None:
            return self.buffer
        whole = NestedArray.over(np.zeros(shape, self.dtype), self.meta)
        whole.write(self)
        return whole.buffer

    def __setitem__(self, index, value):
        """`a[...] = value` (zero_, fill_): every component's elements."""
        for p in self.parts:
            p[index] = value

    def write(self, src):
        """An in-place op's result written into the components (write_into's nested case)."""
        for p, q in zip(self.parts, src.parts):
            np.copyto(p, q, casting="unsafe")

    def stride(self):
        """torch's strides of a jagged tensor: its values' (each component's), the batch's
        the ragged dim's times its nested int; a strided tensor has none."""
        if self.meta.layout == "strided":
            raise RuntimeError(STRIDES_ERROR)
        from ._tensor import dense_strides
        st = dense_strides(self.parts[0])
        return (st[self.meta.ragged - 1] * self.meta.nid,) + st

    def tolist(self):
        raise RuntimeError(STRIDES_ERROR if self.meta.layout == "strided" else
                           ".tolist() is not supported for tensor subclasses, got NestedTensor")

    def padded_shape(self):
        """(B, the longest size of each component dim)."""
        return (len(self.parts),) + tuple(max(s) for s in zip(*(p.shape for p in self.parts)))

    def padded(self, padding, shape):
        """The components in one dense array of `shape`, each at the front of its slot,
        `padding` around."""
        out = np.full(shape, padding, self.dtype)
        for i, p in enumerate(self.parts):
            out[(i,) + tuple(slice(0, n) for n in p.shape)] = p[tuple(slice(0, n)
                                                                      for n in shape[1:])]
        return out
