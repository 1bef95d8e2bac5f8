"""Nested kernels: each op's nested slot (op.impl[NESTED_IDX]) runs the op's own dense kernel
on every component, so its numbers, dtypes and backward rule are the dense op's.

`lift(name, per_part)` builds that (fwd, bwd) pair. The forward calls the dense fwd once per
component, with NestedArray arguments replaced by their component and the static arguments
made to fit it by `per_part(args)` (dims shift down by one: the batch dim is gone); it saves
each component's `saved`. The backward calls the dense bwd per component and gives a nested
input a NestedArray gradient, a dense input (a weight) the sum of its components'.

The ops that cross between nested and dense tensors (construction, unbind, values, padding)
are built here too, as nodes whose backward hands the gradient back across."""
import math
import weakref

import numpy as np

from .._tensor import Tensor as _Tensor, _new
from ..autograd.engine import sum_to
from ..autograd.grad_mode import STATE as _grad
from ..autograd.node import node_class, out_slot
from ..backends import CPU, Backend, device
from ..ops._apply import apply
from ..ops._registry import NESTED_IDX, OPS, op, override
from .._nested_array import Meta, NestedArray, NestedShape, SIZES_ERROR, nested_int, \
    refuse_cuda

NESTED = Backend("cpu", NESTED_IDX, np, device("cpu"))


def _structure(name, args, pointwise):
    """The first nested argument, after torch's checks of the others: a pointwise op takes
    nested operands of one structure (strided: the same component shapes; jagged: one nested
    int, the rest broadcast by the dense op), and a strided tensor takes no dense operand but
    a 0-d one (nor does its matmul)."""
    x = next(a for a in args if type(a) is NestedArray)
    for a in args:
        if type(a) is NestedArray:
            if pointwise and a is not x and (a.meta.nid is not x.meta.nid or (
                    a.ndim != x.ndim or a.meta.ragged != x.meta.ragged if x.meta.nid else [
                        p.shape for p in a.parts] != [p.shape for p in x.parts])):
                if x.meta.layout == "strided":
                    raise RuntimeError(f"{name} does not support broadcasting when given a "
                                       "NestedTensor")
                raise RuntimeError(f"cannot call binary pointwise function {name}.Tensor with "
                                   f"inputs of shapes {tuple(x.shape)} and {tuple(a.shape)}")
        elif x.meta.layout == "strided" and pointwise is not None and \
                isinstance(a, np.ndarray) and a.ndim:
            sides = "a nested self and non-nested other" if args[0] is x else \
                "a non-nested self and nested other"
            raise RuntimeError(f"Expected both {'self and other ' if pointwise else ''}to be "
                               f"nested, but got {sides}")
    if pointwise is False and x.meta.layout == "jagged" and (
            type(args[1]) is NestedArray or getattr(args[1], "ndim", 0) == 1):
        raise RuntimeError(f"matmul(): not supported between inputs of shapes "
                           f"({', '.join(map(str, x.shape))}) and "
                           f"torch.Size([{', '.join(map(str, args[1].shape))}])")
    return x


_TENSOR_OVERLOADS = {"add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge"}


def _mismatch(name, args, x):
    """torch's error where a binary op's dense operand does not broadcast with jagged x's
    values (None for other ops and errors)."""
    if name not in _TENSOR_OVERLOADS or x.meta.layout != "jagged" or not any(
            isinstance(a, np.ndarray) and a.ndim for a in args):
        return None
    return RuntimeError(f"cannot call binary pointwise function {name}.Tensor with inputs of "
                        "shapes " + " and ".join("torch.Size([" + ", ".join(map(str, a.shape)) +
                                                  "])" for a in args[:2]))


class _Batched:
    """A dense operand of a nested matmul whose first dim is the batch (of size B, or 1
    broadcast): component i takes its slice i, as torch's jagged matmul."""
    __slots__ = ("shape", "a")

    def __init__(self, a, b):
        if a.shape[0] not in (1, b):
            raise RuntimeError(f"The size of tensor a ({b}) must match the size of tensor b "
                               f"({a.shape[0]}) at non-singleton dimension 0")
        self.shape, self.a = a.shape, a

    def at(self, i):
        return self.a[i if self.shape[0] > 1 else 0]

    def gather(self, grads):
        """Its gradient from the components' gradients of their slices."""
        g = np.stack([sum_to(np, gp, self.shape[1:]) for gp in grads])
        return g if self.shape[0] > 1 else g.sum(0, keepdims=True)


class _Whole:
    """What a lifted op run once on the values of jagged tensors with holes saves: the dense
    op's saved and its outputs' shapes."""
    __slots__ = ("saved", "shapes")

    def __init__(self, saved, shapes):
        self.saved, self.shapes = saved, shapes


def _on_values(args, x):
    """Whether an op of jagged x with holes runs on the values, as torch's: every nested
    operand has its values, no dense one has a batch dim."""
    return all(a.buffer is not None if type(a) is NestedArray else
               not isinstance(a, np.ndarray) or a.ndim < x.ndim for a in args)


def lift(name, per_part=None, meta=None, kernel=None, pointwise=None, strided=True,
         grad_error=None, on_values=True):
    """The nested (fwd, bwd) of op `name` from its dense pair (or `kernel`'s): `per_part(args)`
    turns one component's arguments into the dense op's; `meta(meta, args)` checks them and
    gives the result's structure (a transpose's moves the ragged dim). `pointwise`: True for
    elementwise ops, False for matmuls (torch's checks of their operands, _structure);
    `strided`: False, or the aten name torch refuses for a strided tensor; `grad_error(layout)`:
    the error of torch's backward where it fails on nested tensors of that layout (else None).
    On jagged tensors with holes
    the op runs once on the whole values (`on_values`), holes too, as torch's."""
    o = OPS[name]
    fwd, bwd = OPS[kernel or name].impl[0]

    def nfwd(xp, *args):
        x = _structure(name, args, pointwise)
        if strided is not True and x.meta.layout == "strided":
            from .._sparse_coo import not_implemented
            raise not_implemented(strided, xp, "NestedTensor")
        m = x.meta if meta is None else meta(x.meta, args)
        if x.buffer is not None and on_values and _on_values(args, x):
            whole = [a.buffer if type(a) is NestedArray else a for a in args]
            y, s = fwd(xp, *(per_part(whole) if per_part else whole))
            ys = y if type(y) is tuple else (y,)
            kinds = tuple([a.meta, a.buffer.shape] if type(a) is NestedArray else
                          a.shape if isinstance(a, np.ndarray) else None for a in args)
            outs = tuple(NestedArray.over(yi, m) for yi in ys)
            return (outs if type(y) is tuple else outs[0]), (_Whole(s, [yi.shape for yi in ys]),
                                                             kinds)
        if pointwise is False:          # (a dense operand with a batch dim: one per component)
            args = tuple(_Batched(a, len(x.parts)) if isinstance(a, np.ndarray) and
                         a.ndim == x.ndim else a for a in args)
        outs, saves = [], []
        for i in range(len(x.parts)):
            part = [a.parts[i] if type(a) is NestedArray else a.at(i) if type(a) is _Batched
                    else a for a in args]
            try:
                y, s = fwd(xp, *(per_part(part) if per_part else part))
            except RuntimeError as e:
                raise _mismatch(name, args, x) or e
            outs.append(y)
            saves.append(s)
        # what each gradient takes: [structure, component shapes] | a dense shape | _Batched
        # | None
        kinds = tuple([a.meta, [p.shape for p in a.parts]] if type(a) is NestedArray else
                      a.shape if isinstance(a, np.ndarray) else
                      a if type(a) is _Batched else None for a in args)
        if not outs:                    # (no components: the input's dtype)
            return NestedArray(outs, m, x.dtype), (saves, kinds)
        if type(outs[0]) is tuple:      # a multi-output op: a nested tensor per output
            return tuple(NestedArray(ys, m) for ys in zip(*outs)), (saves, kinds)
        return NestedArray(outs, m), (saves, kinds)

    def nbwd(xp, g, saves, kinds, *needs):
        if grad_error is not None:
            error = grad_error(next(k[0].layout for k in kinds if type(k) is list))
            if error is not None:
                raise error
        if type(saves) is _Whole:       # (run on the values: its gradient, holes too)
            gw = tuple(gi.whole(sh) for gi, sh in zip(g, saves.shapes)) if type(g) is tuple \
                else g.whole(saves.shapes[0])
            return tuple(None if gi is None or k is None else
                         NestedArray.over(sum_to(xp, gi, k[1]), k[0]) if type(k) is list else
                         sum_to(xp, gi, k) for gi, k in zip(bwd(xp, gw, *saves.saved, *needs),
                                                            kinds))
        gparts = zip(*(gi.parts for gi in g)) if type(g) is tuple else g.parts
        per = [bwd(xp, gp, *s, *needs) for gp, s in zip(gparts, saves)]
        grads = []
        for j, gs in enumerate(zip(*per)):
            k = kinds[j]
            if gs[0] is None or k is None:
                grads.append(None)
            elif type(k) is list:
                grads.append(NestedArray([gp if gp.shape == s else sum_to(xp, gp, s)
                                          for gp, s in zip(gs, k[1])], k[0]))
            elif type(k) is _Batched:
                grads.append(k.gather(gs))
            else:
                grads.append(sum(sum_to(xp, gp, k) for gp in gs))
        return tuple(grads)
    override(o, NESTED_IDX, nfwd, nbwd)


def _shift(d):
    if d == 0:
        raise RuntimeError("NestedTensor does not support operations over the batch dim")
    return d - 1


def _dims(dims):
    return None if dims is None else tuple(_shift(d) for d in dims)


def _transposed(meta, args):
    d0, d1 = args[1], args[2]
    if 0 in (d0, d1) and d0 != d1:
        if meta.layout == "jagged":
            raise ValueError("Transpose is not supported on the batch dimension for jagged NT")
        raise RuntimeError("Nested tensor dimension 0 cannot be transposed")
    r = meta.ragged
    return meta.with_ragged(d1 if r == d0 else d0 if r == d1 else r)


def _unsqueezed(meta, args):
    d = args[1]
    if d == 0:
        raise RuntimeError("unsqueeze(): For nested tensors, unsqueezing dimension 0 is not "
                           "supported at the moment if you need this feature, please open an "
                           "issue on github describing your use case." if meta.layout == "strided"
                           else "unsqueeze(): not supported for NestedTensor on dim=0")
    return meta.with_ragged(meta.ragged + (d <= meta.ragged))


def _squeezed(meta, args):
    if 0 in args[1]:
        raise RuntimeError("squeeze(): For nested tensors, squeezing dimension 0 is not "
                           "supported at the moment if you need this feature, please open an "
                           "issue on github describing your use case." if meta.layout == "strided"
                           else "squeeze(): not supported for NestedTensor on dim=0")
    return meta.with_ragged(meta.ragged - sum(d < meta.ragged for d in args[1]))


def _permuted(meta, args):
    dims = args[1]
    if dims[0] != 0:
        raise ValueError("Permute is not supported on the batch dimension for jagged NT")
    return meta.with_ragged(dims.index(meta.ragged))


def _normed(meta, args):
    if meta.layout == "strided" and (args[1] is None or args[2] is None):
        raise ValueError("NestedTensor layer_norm requires weight and bias")
    return meta


def _one_bound(meta, args):
    """torch's jagged clamp takes one tensor bound (its clamp_min / clamp_max), not two."""
    if args[1] is not None and args[2] is not None:
        raise NotImplementedError("aten.clamp.Tensor")
    return meta


def _values_rows(a):
    """The rows of a jagged tensor's values as a matrix (torch's matmul messages name them)."""
    return sum(p.size // p.shape[-1] for p in a.parts)


def _mm_checked(meta, args):
    """torch's jagged matmul with a dense matrix multiplies its values: their rows in its
    error."""
    x, w = args[0], args[1]
    if meta.layout == "jagged" and isinstance(w, np.ndarray) and w.ndim == 2 and \
            x.parts[0].shape[-1] != w.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_values_rows(x)}x"
                           f"{x.parts[0].shape[-1]} and {w.shape[0]}x{w.shape[1]})")
    return meta


def _linear_checked(meta, args):
    """torch's strided linear takes a (B, *, D) tensor and a 2-d weight of its width only, its
    jagged one no tensor with holes (and multiplies its values)."""
    if meta.lengths is not None:
        raise ValueError("NestedTensor linear_default(input: jt, weight: t, bias: t?): expected "
                         "input to be a contiguous jagged layout NestedTensor")
    x, w = args[0], args[1]
    if meta.layout == "jagged" and w.ndim == 2 and x.parts[0].shape[-1] != w.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_values_rows(x)}x"
                           f"{x.parts[0].shape[-1]} and {w.shape[1]}x{w.shape[0]})")
    if meta.layout == "strided" and x.ndim == 3 and w.ndim == 2 and \
            x.parts[0].shape[-1] != w.shape[1]:
        raise RuntimeError(f"Shape mismatch for NestedTensor Linear: Expected input's (a nested "
                           f"tensor) 'last_dim' to equal 'weight.size(1), but got: last_dim = "
                           f"{x.parts[0].shape[-1]}, and weight.size(1) = {w.shape[1]}")
    if meta.layout == "strided" and (args[0].ndim != 3 or args[1].ndim != 2):
        raise RuntimeError(f"Linear requires nested_tensor.dim == 3 and dense_matrix.dim == 2. "
                           f"Nested tensor dim: {args[0].ndim}. Dense tensor dim: "
                           f"{args[1].ndim}")
    return meta


def _expanded(meta, args):
    """expand's sizes of the components (from nested.expand); dense sizes from the dense path
    go back to it (raising NotImplementedError), which calls nested.expand."""
    if len(args[1]) != args[0].ndim - 1:
        raise NotImplementedError("aten.expand.default")
    return meta


def _strided_refusal(*tests):
    """A meta hook raising torch's RuntimeError for a strided tensor's arguments: `tests` are
    (test(args), message) pairs, in torch's order."""
    def check(meta, args):
        if meta.layout == "strided":
            for test, message in zip(tests[::2], tests[1::2]):
                if test(args):
                    raise RuntimeError(message)
        return meta
    return check


def _scalar_filled(meta, args):
    """torch's nested masked_fill takes a number only (a tensor value: masked_fill.Tensor)."""
    if type(args[2]) is np.ndarray:
        raise _missing(args[0], "masked_fill.Tensor", "masked_fill.Tensor")
    return meta


def _nested_condition(fwd, bwd):
    """where's nested kernel: torch's refusal of a dense condition first (a jagged tensor's
    where takes a jagged one)."""
    def checked(xp, cond, *args):
        if type(cond) is not NestedArray:
            if next(a for a in args if type(a) is NestedArray).meta.layout == "strided":
                raise RuntimeError("condition must be nested")
            raise ValueError("NestedTensor where_self(condition: jt_all, self: any, other: "
                             "any): expected condition to be a jagged layout NestedTensor")
        return fwd(xp, cond, *args)
    return checked, bwd


def _no_masked_select(xp, x, mask):
    """torch's refusals of masked_select of a nested tensor (a jagged one's past 2 dims)."""
    if x.meta.layout == "jagged" and x.ndim != 2:
        raise RuntimeError("masked_select only support 2-D selections currently")
    raise _missing(x, "masked_select", "masked_select.default")


def _softmaxed(meta, args):
    if args[1] == 0:
        raise RuntimeError("Cannot apply softmax across nested dimension 0"
                           if meta.layout == "strided" else "softmax(): not supported when "
                           "reducing across the batch dimension for NestedTensor")
    if args[1] == meta.ragged and meta.lengths is not None:
        raise RuntimeError("softmax(): not supported where lengths is not None if reducing "
                           "across the ragged dimension for NestedTensor")
    return meta


def _reduced(name):
    """torch's refusals of a reduction over dims of a nested tensor, and its result's
    structure (dims before the ragged one reduced away move it). A jagged tensor's reductions
    over its ragged dim, which torch gives dense, raise NotImplementedError for the caller's
    dense_reduction."""
    def check(meta, args):
        dims = args[1] if type(args[1]) is int else args[1] or ()     # (max / min: one dim)
        dims = (dims,) if type(dims) is int else dims
        if meta.layout == "strided":
            if name == "mean":
                from .._sparse_coo import not_implemented
                raise not_implemented("mean.dim", np, "NestedTensor")
            if len(dims) > 1:
                raise RuntimeError("NestedTensor only allows reduction of a single dimension for "
                                   "now.")
            if dims != (args[0].ndim - 1,):
                raise RuntimeError(f"NestedTensor can only be reduced across the last dimension "
                                   f"for now got dimension {dims[0]} instead.")
            if not args[2]:
                raise RuntimeError("NestedTensor always requires keepdim=True for now.")
            return meta
        r = meta.ragged
        if r in dims:
            if 0 not in dims and len(dims) > 1:
                if name == "mean":
                    raise AssertionError("Cannot reduce on both ragged and non-batch dimensions "
                                         "without also reducing on batch")
                raise RuntimeError(f"{name}(): reducing along a ragged and non-batch dimension "
                                   "is not supported for nested tensors")
            raise NotImplementedError(f"aten.{name}.dim")
        if 0 in dims:
            raise RuntimeError(f"{name}(): reducing along the batch dimension but not the ragged "
                               "dimension is not supported for nested tensors")
        return meta if args[2] else meta.with_ragged(r - sum(d < r for d in dims))
    return check


def _catted(meta, args):
    d = args[-1]
    if d == 0 or d == meta.ragged:
        raise RuntimeError(f"cat(): not supported for NestedTensor on "
                           f"{'dim=0' if d == 0 else 'ragged dim'}")
    return meta


def _stacked(meta, args):
    """torch's checks of a jagged stack (in its order), and the result's structure: each
    component's stack along a dim past the batch and ragged ones."""
    *arrays, d = args
    if any(type(a) is not NestedArray for a in arrays):
        raise RuntimeError("stack(): expected all nested tensors inputs")
    if any(a.meta.nid is not meta.nid for a in arrays):
        raise RuntimeError("stack(): expected all nested tensors to have the same nested "
                           "structure")
    if any(a.ndim != arrays[0].ndim for a in arrays):
        raise RuntimeError("stack(): expected all nested tensors to have the same dim")
    if d == 0 or d == meta.ragged:
        raise RuntimeError(f"stack(): not supported for NestedTensor on "
                           f"{'dim=0' if d == 0 else 'ragged dim'}")
    first = _values_size(arrays[0])
    for i, a in enumerate(arrays):
        if _values_size(a) != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {first} at "
                               f"entry 0 and {_values_size(a)} at entry {i}")
    return meta.with_ragged(meta.ragged + (d <= meta.ragged))


def _strided_cat(jagged_fwd, jagged_bwd):
    """cat's nested kernel: a jagged tensor's (jagged_fwd), or torch's cat of strided tensors:
    along the batch dim, the components one list after the other; along another, each
    component's cat (the tensors' components alike but in that dim)."""
    def fwd(xp, *arrays_and_dim):
        *arrays, d = arrays_and_dim
        if not all(type(a) is NestedArray and a.meta.layout == "strided" for a in arrays):
            first = next(a for a in arrays if type(a) is NestedArray)
            if first.meta.layout == "jagged":   # (a dense tensor: expanded as the first's values)
                arrays = [a if type(a) is NestedArray else _unpacked(
                    _new(a, CPU).expand(_values_size(first)).arr, first) for a in arrays]
                arrays_and_dim = (*arrays, d)
                try:
                    out, saved = jagged_fwd(xp, *arrays_and_dim)
                except (ValueError, IndexError):    # torch's error: its cat of the values
                    from ..ops.shape import cat
                    cat([_new(_packed(a) if type(a) is NestedArray else a, CPU)
                         for a in arrays], d - 1)
                    raise
                # (torch's: the values' cat, packed; with holes, all the values')
                return (out if out.flags.c_contiguous or out.buffer is not None else
                        out.copy()), saved
            raise RuntimeError("Expected each tensor in given list to be nested.")
        if not all(a.flags.c_contiguous for a in arrays):
            raise RuntimeError("cat(): only contiguous nested tensors are supported")
        if d == 0:
            return NestedArray([p for a in arrays for p in a.parts], arrays[0].meta), \
                (None, 0, [len(a.parts) for a in arrays])
        shapes = [[p.shape[:d - 1] + p.shape[d:] for p in a.parts] for a in arrays]
        if any(s != shapes[0] for s in shapes):
            raise RuntimeError("cat(): expected all nested tensors to have matching ragged "
                               "structures outside of the concatenated dim")
        sizes = [[p.shape[d - 1] for p in a.parts] for a in arrays]
        parts = [np.concatenate(ps, axis=d - 1) for ps in zip(*(a.parts for a in arrays))]
        return NestedArray(parts, arrays[0].meta), (None, d, sizes)

    def bwd(xp, g, *saved):
        if saved[0] is not None:        # (a jagged tensor's: the lifted kernel's)
            return jagged_bwd(xp, g, *saved)
        _, d, sizes = saved
        if d == 0:          # (the batch: each tensor's run of components)
            bounds = np.cumsum([0] + sizes)
            return tuple(g.like(g.parts[a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
        cuts = [np.cumsum(n)[:-1] for n in zip(*sizes)]
        pieces = [np.split(gp, c, axis=d - 1) for gp, c in zip(g.parts, cuts)]
        return tuple(g.like(list(ps)) for ps in zip(*pieces))
    return fwd, bwd


def _extremed(name):
    """amax / amin's checks: _reduced's, and all dims (a dense result) left to
    dense_reduction."""
    check = _reduced(name)

    def meta(meta, args):
        if args[1] is None:
            raise NotImplementedError(f"aten.{name}.default")
        return check(meta, args)
    return meta


def _missing(a, strided, jagged):
    """torch's NotImplementedError for an op without a kernel for nested tensor `a`, under
    its aten names for the strided layout and the jagged one."""
    return _missing_kernel(strided) if a.meta.layout == "strided" else \
        NotImplementedError(f"aten.{jagged}")


def _refused(strided, jagged):
    """The nested slot of an op torch has no nested kernel of (or one outside it): its
    _missing error."""
    def fwd(xp, x, *static):
        raise _missing(x, strided, jagged)
    return fwd, None


# torch's jagged kernels that take a contiguous tensor only (its "jt" schema), by op
_JT = {"split": "split_tensor(self: jt, split_size: any, dim: any?)",
       "split_with_sizes": "split_with_sizes_default(self: jt, split_sizes: any, dim: any?)",
       "chunk": "chunk_default(self: jt, chunks: any, dim: any?)",
       "narrow": "narrow(self: jt, dim: any, start: any, length: any)",
       "slice": "slice_tensor(self: jt, dim: any?, start: any?, end: any?, step: any?)"}


def _jt(meta, name):
    """torch's refusal of a jagged tensor that is transposed or has holes."""
    if meta.lengths is not None or meta.ragged != 1:
        raise ValueError(f"NestedTensor {_JT[name]}: expected self to be a contiguous jagged "
                         "layout NestedTensor")


def _split_checks(x, d, chunks, name):
    """torch's checks of split / split_with_sizes / chunk (`chunks` given) of a nested tensor
    along dim d (a size the dense code could read: not a ragged or irregular dim)."""
    if chunks is not None:
        name = "chunk"
    if x.meta.layout == "strided":
        last = x.ndim - 1
        if name == "split":
            from .._sparse_coo import not_implemented
            raise not_implemented("split.Tensor", np, "NestedTensor")
        if name == "chunk":
            if d != last:
                raise RuntimeError("Chunk for nested tensors is currently only supported for "
                                   "the last dimension.")
            n = x.parts[0].shape[-1]
            if n % chunks:
                raise RuntimeError(f"Chunk for nested tensors is only supported for nested "
                                   f"tensors with trailing dimension divisible by chunks, got: "
                                   f"{n} % {chunks} != 0")
        elif d != last:
            raise RuntimeError("split_with_sizes for nested tensors is currently only supported "
                               "for the last dimension.")
        return
    _jt(x.meta, name)
    if d == 0 and name != "chunk":
        raise RuntimeError(f"{name}(): not supported for NestedTensor on dim=0")


def split_error(nt, size, dim):
    """Raise torch's error for split (size an int), split_with_sizes (a list) or chunk (None)
    of a nested tensor along dim, where the dense code could not size the dim (a ragged or
    irregular one, or one out of range) or refused the sizes; return where the dense error
    stands."""
    a = nt.arr
    name = "chunk" if size is None else "split" if isinstance(size, int) else \
        "split_with_sizes"
    if a.meta.layout == "strided" and name == "split":     # (torch has no kernel: any dim)
        if _grad.enabled and nt._rg:   # (torch's autograd reads the sizes first)
            raise RuntimeError(SIZES_ERROR)
        _split_checks(a, dim, None, name)
    from ..ops._dims import wrap_dim
    d = wrap_dim(dim, a.ndim)
    if a.meta.layout == "strided":
        if name == "split_with_sizes" and d == a.ndim - 1:
            return                                  # (the dense message, as torch's)
        _split_checks(a, d, 1 if size is None else None, name)
    else:
        _jt(a.meta, name)
        if d == a.meta.ragged:
            raise RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim")
        if size is not None:        # the sizes' error, naming the dim of the values
            from ..ops.shape import _piece_bounds
            _piece_bounds(a.parts[0].shape[d - 1], d - 1, size)


def _split_kernel(name, split_fwd, split_bwd):
    """The nested kernel of split / split_with_sizes / chunk: each component's pieces, or a
    jagged tensor's chunks of its batch (new offsets each)."""
    def fwd(xp, x, d, bounds, chunks=None):
        _split_checks(x, d, chunks, name)
        if d:
            outs, saves = zip(*(split_fwd(xp, p, d - 1, bounds) for p in x.parts))
            return tuple(NestedArray(ps, x.meta) for ps in zip(*outs)), (saves, None)
        lengths = [p.shape[0] for p in x.parts]
        outs = []
        for lo, hi in bounds:
            offsets = _new(np.concatenate([[0], np.cumsum(lengths[lo:hi])]).astype(np.int64),
                           CPU)
            outs.append(NestedArray(x.parts[lo:hi], Meta("jagged", offsets, None,
                                                         nested_int(offsets.arr))))
        return tuple(outs), (None, x.meta)

    def bwd(xp, gs, saves, meta):
        if saves is None:       # (the batch's chunks)
            return (NestedArray([p for g in gs for p in g.parts], meta),)
        return (gs[0].like([split_bwd(xp, g, *s)[0] for g, s in zip(zip(*(g.parts for g in gs)),
                                                                    saves)]),)
    return fwd, bwd


def _clone(xp, x, order):
    """clone / contiguous: a contiguous copy ("C") of a jagged tensor packs its components
    in one values array, as torch's; a clone of one with holes copies its whole values."""
    if order == "C":
        return x.copy(), ()
    if x.buffer is not None:
        return NestedArray.over(x.buffer.copy(), x.meta), ()
    return x.like([p.copy(order=order) for p in x.parts]), ()


def _dropout(xp, x, p, mask_shape, rng):
    """torch's CPU dropout over a nested tensor's buffer: one Bernoulli draw per element, the
    components in order, x * keep / (1 - p)."""
    acc = np.float64 if x.dtype == np.float64 else np.float32
    keep = rng.bernoulli((x.numel,), 1 - p)
    noise = (keep.astype(acc) / acc(1 - p)).astype(x.dtype, copy=False)
    cuts = np.cumsum([q.size for q in x.parts])[:-1]
    noise = [n.reshape(q.shape) for n, q in zip(np.split(noise, cuts), x.parts)]
    return x.like([q * n for q, n in zip(x.parts, noise)]), (noise,)


def _dropout_bwd(xp, g, noise):
    return (g.like([q * n for q, n in zip(g.parts, noise)]),)


def _missing_kernel(name):
    """torch's NotImplementedError for aten op `name` on a strided nested tensor."""
    from .._sparse_coo import not_implemented
    return not_implemented(name, np, "NestedTensor")


def _symint_error(where):
    """The error of torch's generated kernels (`where`: file and line) reading a jagged tensor's
    sizes in a backward formula."""
    return RuntimeError(f"/__w/pytorch/pytorch/build/aten/src/ATen/{where}: SymIntArrayRef "
                        "expected to contain only concrete integers")


# a jagged tensor's reductions torch gives dense: its node (None: the dense op's) over all dims,
# and over the ragged dim (which torch's backward refuses: the error, given nt, None if it
# computes)
_DENSE_NODES = {
    "sum": ("SumBackwardAutogradNestedTensor0", "SumBackwardAutogradNestedTensor1",
            lambda nt: NotImplementedError("aten._nested_sum_backward.default")),
    "mean": ("MeanBackwardAutogradNestedTensor0", "MeanBackward1",
             lambda nt: _symint_error("RegisterCompositeExplicitAutograd_0.cpp:4963")),
    "prod": (None, "ProdBackward1",
             lambda nt: AttributeError("'NestedIntNode' object has no attribute 'sub'")),
    "amax": (None, "AmaxBackward0", None), "amin": (None, "AminBackward0", None),
    "max": (None, None, lambda nt: _symint_error("RegisterCPU_1.cpp:2398")),
    "min": (None, None, lambda nt: _symint_error("RegisterCPU_1.cpp:2398"))}


def _refuse_grad(node, error):
    """Make a recorded node's backward raise error() (torch's backward of it fails)."""
    def bwd(*args):
        raise error()
    node.bwd = bwd


def dense_reduction(name, nt, dims, keepdim, dtype):
    """sum / mean / amax / amin / max / min / argmax / argmin of a jagged tensor that torch
    gives dense (see _dense_reduction), recorded as torch records it."""
    out = _dense_reduction(name, nt, dims, keepdim, dtype)
    t = out[0] if isinstance(out, tuple) else out
    if t is None or t.grad_fn is None or name not in _DENSE_NODES:
        return out
    node = getattr(t.grad_fn, "parent", t.grad_fn)      # (max / min: the values' OutSlot)
    whole, ragged, error = _DENSE_NODES[name]
    cls = whole if dims is None else ragged
    if cls is not None:
        node.__class__ = node_class(cls)
    if dims is None and name == "prod":     # torch's backward views the nested tensor flat
        shape = "(" + ", ".join(map(str, nt.shape)) + ")"
        _refuse_grad(node, lambda: RuntimeError(f"view(): cannot view shape {shape} as [-1]"))
    elif dims is not None and error is not None:
        _refuse_grad(node, lambda: error(nt))
    return out


def _dense_reduction(name, nt, dims, keepdim, dtype):
    """dense_reduction's result: of all the values, over the batch and ragged dims (of the
    values), or over the ragged dim (one row per component; max, min and the arg ones, as
    torch's, of the padded tensor); None for the others."""
    a = nt.arr
    if a.meta.layout != "jagged":
        return None
    kw = {} if dtype is None else {"dtype": dtype}
    r = a.meta.ragged
    if dims is None:        # (keepdim: argmax's and argmin's, as torch's)
        return getattr(values(nt), name)(None, True).unsqueeze(r) if keepdim else \
            getattr(values(nt), name)(**kw)
    if r not in dims:
        return None
    if a.meta.lengths is not None:
        raise RuntimeError(f"{name}(): reducing across the ragged dimension is not supported for "
                           "non-contiguous nested tensors with holes")
    if 0 in dims:
        inner = tuple(dict.fromkeys(r - 1 if d == 0 else d - 1 for d in dims))
        out = getattr(values(nt), name)(inner, keepdim=keepdim, **kw)
        return out.unsqueeze(0) if keepdim else out
    if name in ("sum", "mean", "amax", "amin", "prod", "any", "all"):
        from ..ops.shape import stack
        return stack([getattr(c, name)(r - 1, keepdim=keepdim, **kw) for c in unbind(nt)])
    info = np.finfo if a.dtype.kind in "fV" else np.iinfo
    pad = info(a.dtype).min if name in ("max", "argmax") else info(a.dtype).max
    return getattr(to_padded(nt, pad), name)(r, keepdim=keepdim)


def arg_reduction(name, nt, dim, keepdim):
    """argmax / argmin of a nested tensor, as torch's (a strided one has none)."""
    if nt.arr.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented(name, np, "NestedTensor")
    return _part_reduction(name, nt, dim, keepdim)


def _part_reduction(name, nt, dim, keepdim):
    """A jagged tensor's reduction `name` (a Tensor method) without a gradient: over dims past
    the batch and ragged ones, each component's (a nested result); else dense_reduction's."""
    a = nt.arr
    if dim is None:
        return dense_reduction(name, nt, None, keepdim, None)
    from ..ops._dims import wrap_dim
    dims = tuple(wrap_dim(d, a.ndim) for d in dim) if isinstance(dim, (tuple, list)) else \
        wrap_dim(dim, a.ndim)
    try:
        m = _reduced(name)(a.meta, (a, dims, keepdim))
    except NotImplementedError:     # (the ragged dim)
        return dense_reduction(name, nt, dims if type(dims) is tuple else (dims,), keepdim, None)
    inner = tuple(d - 1 for d in dims) if type(dims) is tuple else dims - 1
    return _new(NestedArray([getattr(_new(p, CPU), name)(inner, keepdim).arr
                             for p in a.parts], m), NESTED)


def bool_reduction(name, nt, dim, keepdim):
    """any / all of a nested tensor, as torch's: a jagged one's as its other reductions; a
    strided one's all over one dim past the batch of a bool tensor, each component's."""
    a = nt.arr
    if a.meta.layout == "jagged":
        return _part_reduction(name, nt, dim, keepdim)
    from .._sparse_coo import not_implemented
    if name == "any" or not isinstance(dim, int):
        raise not_implemented(name if dim is None else name + (
            ".dim" if isinstance(dim, int) else ".dims"), np, "NestedTensor")
    from ..ops._dims import wrap_dim
    d = wrap_dim(dim, a.ndim)
    if d == 0:
        raise RuntimeError("Cannot apply all across nested dimension 0")
    if a.dtype != np.bool_:
        from .._kernel_dtypes import tname
        raise RuntimeError(f"all only supports bool tensor for result, got: {tname(a.dtype)}")
    return _new(a.like([p.all(axis=d - 1, keepdims=keepdim) for p in a.parts]), NESTED)


def like(make, nt, requires_grad, name):
    """zeros_like, ones_like, ... (the function `name`) of a nested tensor: make(shape) for each
    component, the structure (and a jagged tensor's nested int) kept; torch has no strided
    full_like."""
    a = nt.arr
    if name == "full_like" and a.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented(name, np, "NestedTensor")
    out = _new(a.like([make(p.shape, False).arr for p in a.parts]), NESTED)
    return out.requires_grad_(True) if requires_grad else out


def expand(nt, sizes):
    """expand of a nested tensor as torch's: a jagged one's sizes are its own up to its ragged
    dim (or -1), its components expand along the dims past it; a strided one has none."""
    from .._tensor import Size
    a = nt.arr
    if a.meta.layout == "strided":
        if any(type(s) is NestedShape for s in sizes):      # (expand_as a strided tensor)
            raise RuntimeError(SIZES_ERROR)
        from .._sparse_coo import not_implemented
        raise not_implemented("expand", np, "NestedTensor")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size, NestedShape)):
        sizes = tuple(sizes[0])
    own, r = tuple(a.shape), a.meta.ragged
    if len(sizes) != len(own) or not all(s == -1 or s is o or s == o
                                         for s, o in zip(sizes[:r + 1], own)):
        raise RuntimeError(f"expand(): cannot expand shape ({', '.join(map(str, own))}) -> "
                           f"{list(sizes)}")
    from ..ops.shape import expanded_sizes
    target = tuple(-1 if d == r else sizes[d] for d in range(1, len(own)))
    expanded_sizes("", tuple(_values_size(a)), target)      # (torch's checks, of its values)
    return apply(OPS["expand"], (nt,), (target,))


def flatten_check(a, start, end):
    """torch's refusals of flatten(start, end) of a nested tensor: a strided one's sizes, a
    jagged one's batch or ragged dim."""
    if a.meta.layout == "strided":
        raise RuntimeError(SIZES_ERROR)
    if start == 0 or start <= a.meta.ragged <= end:
        raise RuntimeError(f"flatten(): not supported for NestedTensor on "
                           f"{'dim=0' if start == 0 else 'ragged dim'}")


def new_factory_check(a, name, size):
    """torch's refusals of new_zeros / new_ones / new_empty / new_full (name: zeros, ...) of a
    nested tensor: a strided one has none; a jagged one makes a 0-d tensor only, never by
    new_full."""
    if a.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented("new_" + name, np, "NestedTensor")
    if name == "full":
        raise NotImplementedError("aten.new_full.default")
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    if len(size):
        raise RuntimeError("new_empty() not supported for NJT with shape != ()")


_VIEW = op("nested_view", saves=None, node="ViewBackwardAutogradNestedTensor0")(None)


def _component_sizes(part, old, numel, shape):
    """A strided nested view's new shape for one component, as torch's
    NestedTensor_compute_size_stride: a -1 at one of the component's own dims keeps that dim's
    size (nothing is inferred); a dim past them may not be -1."""
    new = list(part)
    grows, seen, infer = len(new) > len(old), False, False
    for i, s in enumerate(new):
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
        if s != -1:
            continue
        if grows and (i >= len(old) and infer or i < len(old) and seen):
            raise RuntimeError("only one dimension can be inferred")
        if i >= len(old):
            infer = True
        else:
            seen = grows
            new[i] = old[i]
    if infer:
        raise RuntimeError("nested tensor does not infer shape")
    if math.prod(new) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return new


def view(nt, shape, name="view"):
    """view / reshape of a nested tensor: the batch size first, then the components' new shape,
    with -1 (or the nested int) where their lengths differ."""
    from .._tensor import Size
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    a = nt.arr
    part = tuple(-1 if s is a.meta.nid else s for s in shape[1:])
    if a.meta.layout == "strided":
        if not shape or shape[0] != len(a.parts):
            raise RuntimeError(f"{name}: For now nested {name} cannot change or infer the "
                               "implicit batch dimension")
        sizes = [_component_sizes(part, p.shape, p.size, shape) for p in a.parts]
        # each component's own sizes; -1 (inferred by the view) where they differ
        part = tuple(c[0] if all(c[0] == n for n in c) else -1 for c in zip(*sizes))
        return apply(_VIEW, (nt,), (part,))
    r = a.meta.ragged
    if not (1 < len(shape) > r and shape[0] == len(a.parts) and shape[r] in (-1, a.meta.nid)
            and all(type(s) is int for s in part)):
        got = "(" + ", ".join(map(str, a.shape)) + ")"
        raise RuntimeError(f"view(): cannot view shape {got} as {list(shape)}")  # (reshape's too)
    return apply(_VIEW, (nt,), (part,))


def _install():
    from ..nn import _act_ops, _norm_ops, _ops     # noqa: F401 (registers the nn ops)
    for name in ("relu", "neg", "abs", "sqrt", "sin", "cos", "gelu", "silu", "to_copy"):
        lift(name)
    lift("tanh", grad_error=lambda layout: _missing_kernel("tanh_backward")
         if layout == "strided" else None)
    override(OPS["clone"], NESTED_IDX, _clone, lambda xp, g: (g,))
    # pointwise ops torch runs on jagged tensors only (the strided one's aten name)
    for name, aten in (("exp", "exp"), ("log", "log"), ("sigmoid", "sigmoid"),
                       ("rsqrt", "rsqrt"), ("reciprocal", "reciprocal"),
                       ("elu", "elu"), ("hardtanh", "hardtanh"),
                       ("softplus", "softplus"), ("mish", "mish"),
                       ("clamp", "clamp"), ("clamp_min", "clamp"), ("clamp_max", "clamp"),
                       ("square", "pow.Tensor_Scalar"), ("sign", "sign"), ("floor", "floor"),
                       ("nan_to_num", "nan_to_num")):
        lift(name, strided=aten)
    for name in ("exp2", "expm1", "log1p", "log2", "log10", "tan", "atan", "asin", "acos", "sinh",
                 "cosh", "asinh", "atanh", "erf", "erfc", "ceil", "round", "trunc", "frac"):
        lift(name, strided=name)
    lift("leaky_relu", strided="leaky_relu",
         grad_error=lambda _: NotImplementedError("aten.leaky_relu_backward.default"))
    for name in ("maximum", "minimum"):     # (their backward's masked_fill_ has no nested kernel)
        lift(name, pointwise=True, strided=name,
             grad_error=lambda _: NotImplementedError("aten.masked_fill_.Scalar"))
    for name in ("fmax", "fmin"):
        lift(name, pointwise=True, strided=name)
    lift("clamp_tensor", strided="clamp.Tensor", meta=_one_bound)
    for name in ("std", "var", "addmm"):      # (torch's aten names of the first two)
        override(OPS[name], NESTED_IDX, *_refused(*(2 * (name + ".correction",) if name != "addmm"
                                                    else ("addmm", "addmm.default"))))
    lift("expand", lambda a: (a[0], tuple(n if s == -1 else s for n, s in zip(a[0].shape,
                                                                          a[1]))), _expanded)
    lift("embedding")
    for name in ("add", "sub", "mul", "div", "gt", "ge"):
        lift(name, pointwise=True)
    lift("masked_fill", pointwise=True, meta=_scalar_filled)
    for name, aten in (("rsub", "rsub.Scalar"), ("pow", "pow.Tensor_Scalar"),
                       ("lt", "lt.Scalar"), ("le", "le.Scalar"), ("ne", "ne.Scalar")):
        lift(name, pointwise=True, strided=aten)
    lift("eq", pointwise=True, meta=_strided_refusal(lambda a: type(a[1]) is NestedArray,
                                                      "eq does not support nested tensor as "
                                                      "other value."))
    lift("where", pointwise=True, meta=_strided_refusal(
        lambda a: type(a[2]) is not NestedArray, "other must be nested",
        lambda a: type(a[1]) is NestedArray, "self must not be nested"))
    override(OPS["where"], NESTED_IDX, *_nested_condition(*OPS["where"].impl[NESTED_IDX]))
    lift("cat", lambda a: (*a[:-1], a[-1] - 1), _catted)
    lift("stack", lambda a: (*a[:-1], a[-1] - 1), _stacked, strided="stack")
    override(OPS["cat"], NESTED_IDX, *_strided_cat(*OPS["cat"].impl[NESTED_IDX]))
    lift("linear", meta=_linear_checked)
    for name in ("matmul", "mm"):
        lift(name, pointwise=False, meta=_mm_checked)
    lift("bmm", kernel="matmul", pointwise=False)
    lift("softmax", lambda a: (a[0], _shift(a[1]), *a[2:]), _softmaxed)
    lift("log_softmax", lambda a: (a[0], _shift(a[1]), *a[2:]), _softmaxed,
         strided="_log_softmax")
    lift("transpose", lambda a: (a[0], _shift(a[1]), _shift(a[2])), _transposed)
    lift("nested_view", kernel="reshape_copy", on_values=False)    # (torch's packs them)
    lift("unsqueeze", lambda a: (a[0], a[1] - 1), _unsqueezed)
    lift("squeeze_dim", lambda a: (a[0], _dims(a[1])), _squeezed)
    lift("permute", lambda a: (a[0], tuple(d - 1 for d in a[1][1:])), _permuted,
         strided="permute")
    lift("sum_dim", lambda a: (a[0], _dims(a[1]), *a[2:]), _reduced("sum"),
         grad_error=lambda layout: NotImplementedError("aten._nested_sum_backward.default")
         if layout == "jagged" else None)
    lift("mean_dim", lambda a: (a[0], _dims(a[1]), *a[2:]), _reduced("mean"))
    for name in ("amax", "amin"):
        lift(name, lambda a: (a[0], _dims(a[1]), a[2]), _extremed(name), strided=name)
    lift("prod_dim", lambda a: (a[0], _dims(a[1]), *a[2:]), _reduced("prod"),
         strided="prod.dim_int",
         grad_error=lambda _: _symint_error("RegisterCompositeExplicitAutograd_0.cpp:8236"))
    for name in ("max", "min"):
        # (a jagged tensor's: left to dense_reduction, a dense result)
        override(OPS[name + "_all"], NESTED_IDX, *_refused(name, name + ".default"))
        lift(name + "_dim", lambda a: (a[0], a[1] - 1, a[2]), _reduced(name),
             strided=name + ".dim")
    override(OPS["dropout"], NESTED_IDX, _dropout, _dropout_bwd)
    override(OPS["masked_select"], NESTED_IDX, _no_masked_select, None)
    for name in ("uniform_", "normal_"):    # (rand_like, randn_like: values drawn beforehand)
        override(OPS[name], NESTED_IDX, OPS[name].impl[0][0],
                 lambda xp, g: (g.like([np.zeros_like(p) for p in g.parts]),))
    override(OPS["vector_norm"], NESTED_IDX, *_refused("linalg_vector_norm",    # (normalize's)
                                                       "norm.ScalarOpt_dim"))
    for name in ("split", "split_with_sizes"):
        override(OPS[name], NESTED_IDX, *_split_kernel(name, *OPS[name].impl[0]))
    # torch's nested nodes of chunk (split's op with a count) and split_with_sizes
    chunk = node_class("ChunkBackwardAutogradNestedTensor0")
    OPS["split"].node_class_by(lambda args, static: chunk if len(static) == 3 and args[
        0].be.idx == NESTED_IDX else None)
    _nested_node("split_with_sizes", "SplitWithSizesBackwardAutogradNestedTensor0")
    for name, node in (("matmul", "MatmulBackward0"),    # (the dense op's UnsafeViewBackward0)
                       ("sum_dim", "SumBackwardAutogradNestedTensor1"),
                       ("squeeze_dim", "SqueezeBackwardAutogradNestedTensor0")):
        _nested_node(name, node)
    lift("native_layer_norm",
         lambda a: (*a[:3], a[3], _dims(a[4]), a[5][1:], *a[6:]), _normed)


def _nested_node(name, node):
    """Op `name`'s nodes over a nested first input of torch's class `node`."""
    cls = node_class(node)
    OPS[name].node_class_by(lambda args, static: cls if args[0].be.idx == NESTED_IDX else None)


# ---- the ops between nested and dense tensors ------------------------------------------------
def _node(o, bwd, saved, inputs, out):
    """Record `o` on `out` (a Tensor, or a tuple of them: unbind's), as apply() does."""
    if not (_grad.enabled and any(t._rg for t in inputs)):
        return out
    nxt = tuple(t._edge() if t._rg else None for t in inputs)
    node = o.node_cls(o, bwd, np, saved, nxt, tuple(inputs), ())
    if type(out) is tuple:
        node.outs = tuple((t.arr.shape, t.arr.dtype) for t in out)
        for i, t in enumerate(out):
            t._rg, t.grad_fn = True, out_slot(node, i)
    else:
        out._rg, out.grad_fn = True, node
    return out


_AS_NESTED = {"strided": op("nested_from_list", saves=None,
                             node="NestedTensorFromTensorListBackward0")(None),
              "jagged": op("nested_view_from_list", saves=None,
                           node="NestedViewFromJaggedBackward0")(None)}
_UNBIND = op("nested_unbind", saves=None, node="UnbindBackwardAutogradNestedTensor0",
             n_out=-1)(None)
_SELECT_COMPONENT = op("nested_select_component", saves=None,
                       node="SelectBackwardAutogradNestedTensor0")(None)
_VALUES = {"jagged": op("nested_values", saves=None, node="NestedGetValuesBackward0")(None),
           "strided": op("nested_buffer", saves=None,
                         node="ValuesBackwardAutogradNestedTensor0")(None)}
_FROM_JAGGED = op("nested_view_from_jagged", saves=None,
                  node="NestedViewFromJaggedBackward0")(None)
_PADDED = op("to_padded_tensor", saves=None, node="ToPaddedTensorBackward0")(None)
VIEW_FROM_BUFFER = op("nested_view_from_buffer", saves=None,          # (a strided tensor's,
                      node="NestedViewFromBufferBackward0")(None)     # as torch loads it)


_DROPOUT_EVAL = op("nested_dropout_eval", saves=None, node="NativeDropoutBackward0")(None)


def dropout_identity(nt):
    """dropout of a nested tensor that keeps every element (not training, or p=0): torch runs
    native_dropout all the same, a copy whose node passes the gradient through."""
    return _node(_DROPOUT_EVAL, lambda xp, g: (g,), (), (nt,), _new(nt.arr.copy(), NESTED))


_SELECT = op("nested_select", saves=None, node="SelectBackwardAutogradNestedTensor0")(None)


_SLICE = op("nested_slice", saves=None, node="SliceBackward0")(None)
_NARROW = op("nested_narrow", saves=None, node="NotImplemented")(None)      # (torch's name)
_UNSQUEEZE = op("nested_unsqueeze_index", saves=None, node="UnsqueezeBackward0")(None)


def _part_view(nt, o, index, ragged):
    """Each component's view p[index] (not reaching the ragged dim), as a nested tensor of nt's
    structure with its ragged dim at `ragged`, through a node of op `o` (None: none) that puts
    the gradient back."""
    a = nt.arr
    meta, shapes = a.meta, [p.shape for p in a.parts]
    out = _new(NestedArray([p[index] for p in a.parts], meta.with_ragged(ragged), a.dtype),
               NESTED)

    def bwd(xp, g):
        if meta.layout == "jagged":         # torch's select and slice have no nested backward
            if o is _SELECT:
                raise ValueError("NestedTensor _nested_select_backward_default(grad_output: t, "
                                 "self: jt_all, dim: any, index: any): expected grad_output to "
                                 "be a tensor")
            if o is _SLICE:
                raise NotImplementedError("aten.slice_backward.default")
        grads = [np.zeros(s, g.dtype) for s in shapes]
        for z, gp in zip(grads, g.parts):
            z[index] = gp
        return (NestedArray(grads, meta),)
    return out if o is None else _node(o, bwd, (), (nt,), out)


def _values_size(a):
    """A jagged tensor's values' shape, as torch's messages name it."""
    r, p0 = a.meta.ragged - 1, a.parts[0]
    return list(p0.shape[:r]) + [sum(p.shape[r] for p in a.parts)] + list(p0.shape[r + 1:])


def _check_select(a, d, index):
    """torch's checks of a jagged tensor's select(d, index) of a dim past the batch."""
    if d == a.meta.ragged:
        raise RuntimeError("select(): not supported for NestedTensor on ragged dim")
    if a.meta.lengths is not None:
        raise ValueError("select(): not yet supported on dim != 0 for non-contiguous nested "
                         "tensor with holes")
    n = a.parts[0].shape[d - 1]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{_values_size(a)} at dimension {d - 1}")
    return index % n


def select(nt, dim, index):
    """select of a nested tensor: of the batch dim, that component; of another, each
    component's (a jagged tensor's: not of its ragged dim)."""
    from ..ops._dims import wrap_dim
    a = nt.arr
    d, index, b = wrap_dim(dim, a.ndim), index.__index__(), len(a.parts)
    if d == 0:
        if a.meta.layout == "strided" and not -b <= index < b:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {b}")
        return nt.unbind()[index]       # (a jagged tensor's: a tuple's IndexError)
    if a.meta.layout == "strided":
        for i, p in enumerate(a.parts):
            n = p.shape[d - 1]
            if not -n <= index < n:
                raise IndexError(f"index {index} is out of bounds for dimension {d - 1} of the "
                                 f"{i}th constituent tensor with size {n}")
        index %= n
    else:
        index = _check_select(a, d, index)
    r = a.meta.ragged
    return _part_view(nt, _SELECT, (slice(None),) * (d - 1) + (index,), r - (d < r))


def _no_narrow_grad(xp, g):
    raise RuntimeError("derivative for aten::narrow is not implemented")


def narrow(nt, dim, start, length):
    """narrow of a nested tensor: a strided one's components start .. start + length; a
    jagged one's view of each component along a dim past the ragged one. (torch has no
    derivative of either.)"""
    from ..ops._dims import wrap_dim
    from ..ops.shape import narrow as dense_narrow
    a = nt.arr
    d = wrap_dim(dim, a.ndim)
    if a.meta.layout == "strided":
        if d != 0:
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: "
                               f"{dim}")
        keep = dense_narrow(_new(np.arange(len(a.parts)), CPU), 0, start, length).arr
        out = _new(NestedArray([a.parts[i] for i in keep], a.meta, a.dtype), NESTED)
        return _node(_NARROW, _no_narrow_grad, (), (nt,), out)
    _jt(a.meta, "narrow")
    if d in (0, a.meta.ragged):
        raise RuntimeError(f"narrow(): not supported for NestedTensor on "
                           f"{'dim=0' if d == 0 else 'ragged dim'}")
    cut = dense_narrow(_new(np.arange(a.parts[0].shape[d - 1]), CPU), 0, start, length).arr
    index = (slice(None),) * (d - 1) + (slice(cut[0], cut[-1] + 1) if len(cut) else
                                        slice(0, 0),)
    return _node(_NARROW, _no_narrow_grad, (), (nt,), _part_view(nt, None, index,
                                                                 a.meta.ragged))


def _trailing(nt, rest):
    """A jagged tensor's nt[..., *rest] (ints, slices, None over its last dims): each
    component's view, as torch's select / slice / unsqueeze of its values, or torch's refusal
    of the ragged dim. None where rest reaches the batch dim."""
    a = nt.arr
    d = a.ndim - sum(i is not None for i in rest)      # the first dim indexed
    if d == 0 or any(type(i) not in (int, slice) and i is not None for i in rest):
        return None
    index, r = [], a.meta.ragged
    for i in rest:
        if type(i) is int:
            i = _check_select(a, d, i)
            r -= d < a.meta.ragged
        elif type(i) is slice:
            _jt(a.meta, "slice")
            if d == a.meta.ragged:
                raise RuntimeError("slice(): not supported for NestedTensor on ragged dim")
        index.append(i)
        d += i is not None
    last = rest[-1]
    o = _UNSQUEEZE if last is None else _SELECT if type(last) is int else _SLICE
    return _part_view(nt, o, (Ellipsis, *index), r)


def getitem(nt, idx):
    """nt[idx] where the dense indexing failed: an int first (that component, indexed by the
    rest), a jagged tensor's nt[..., *rest] of its last dims, a strided tensor's nt[..., None]
    and nt[..., k] (each component's select of its last dim), torch's refusal of a slice (of
    the batch dim, or any of a strided tensor's). None for the others."""
    a = nt.arr
    idx = idx if type(idx) is tuple else (idx,)
    first = idx[0] if idx else None
    if type(first) is int:
        return select_component(nt, first)[idx[1:]]
    if type(first) is not slice and any(isinstance(i, _Tensor) for i in idx):
        raise _missing(a, "index.Tensor", "index.Tensor")   # (no nested advanced indexing)
    if first is Ellipsis and len(idx) > 1 and a.meta.layout == "jagged":
        return _trailing(nt, idx[1:])
    if first is Ellipsis and a.meta.layout == "strided" and all(i is None for i in idx[1:]):
        for _ in idx[1:]:
            nt = nt.unsqueeze(-1)
        return nt
    if type(first) is slice or first is Ellipsis and any(type(i) is slice for i in idx[1:]):
        if a.meta.layout == "jagged":
            _jt(a.meta, "slice")
            raise RuntimeError("slice(): not supported for NestedTensor on dim=0")
        if _grad.enabled and nt._rg:   # (torch's autograd reads the sizes first)
            raise RuntimeError(SIZES_ERROR)
        from .._sparse_coo import not_implemented
        raise not_implemented("slice.Tensor", np, "NestedTensor")
    if first is Ellipsis and len(idx) == 2 and type(idx[1]) is int and \
            a.meta.layout == "strided" and a.ndim > 2:
        k, n = idx[1], a.parts[0].shape[-1]
        if not 0 <= k < n:      # (no negative index)
            raise IndexError(f"index {k} is out of bounds for dimension {a.ndim - 2} of the 0th "
                             f"constituent tensor with size {n}")
        out = _new(a.like([p[..., k] for p in a.parts]), NESTED)

        def bwd(xp, g):         # torch's backward needs a contiguous result, which it is not
            raise RuntimeError("NestedTensor must be contiguous to get buffer.")
        return _node(_SELECT, bwd, (), (nt,), out)
    return None


_COPY_SLICES = op("nested_copy_slices", saves=None, node="torch::autograd::CopySlices")(None)


def _no_copy_slices_grad(*args):
    raise NotImplementedError("aten.new_empty_strided.default")     # (torch's backward's)


def setitem(nt, idx, value):
    """nt[idx] = value where the dense write failed, as torch's: a jagged tensor's nt[i, ...]
    writes into component i, recorded as torch's CopySlices (whose backward fails: its
    new_empty_strided has no jagged kernel); its refusals of index tensors and of the other
    indices; a strided tensor's sizes error. False where ember has no answer."""
    a = nt.arr
    idx = idx if type(idx) is tuple else (idx,)
    if any(isinstance(i, _Tensor) for i in idx):
        if a.meta.layout == "strided":
            from .._sparse_coo import not_implemented
            raise not_implemented("index_put_", np, "NestedTensor")
        raise ValueError("NestedTensor index_put_(input: jt_all, indices: any, values: t, "
                         "accumulate: any?): expected input to be a jagged layout NestedTensor")
    first = idx[0] if idx else None
    if a.meta.layout == "strided":
        if type(first) is slice:
            from .._sparse_coo import not_implemented
            raise not_implemented("slice.Tensor", np, "NestedTensor")
        raise RuntimeError(SIZES_ERROR)
    if type(first) is slice:
        raise RuntimeError("slice(): not supported for NestedTensor on dim=0")
    if first is Ellipsis:
        raise NotImplementedError("aten.fill_.Tensor")
    if type(first) is not int:
        return False
    b = len(a.parts)
    if not -b <= first < b:
        raise IndexError(f"index {first} is out of bounds for dimension 0 with size {b}")
    v = value if isinstance(value, _Tensor) else None
    record = _grad.enabled and (nt._rg or v is not None and v._rg)
    if record and a.is_view(nt):        # (torch's jagged view of its values, made without grad)
        from ..ops._apply import NO_GRAD_VIEW_ERROR
        if nt._rg:      # (the view written: the last select or slice of the component)
            last = [i for i in idx[1:] if type(i) is int or type(i) is slice and
                    i != slice(None)]
            view = ("Select" if type(last[-1]) is int else "Slice") if last else \
                "SelectBackwardAutogradNestedTensor0"
            raise RuntimeError(f"Output 0 of {view} is a view of a view which was created in "
                               "no_grad mode and is being modified inplace with grad mode "
                               "enabled." + NO_GRAD_VIEW_ERROR.partition("grad mode enabled.")[2])
        raise RuntimeError(NO_GRAD_VIEW_ERROR)
    _new(a.parts[first], CPU)[idx[1:]] = value.detach() if record and v is not None else value
    from .._tensor import bump_version
    bump_version(nt)
    if record:
        nxt = (nt._edge() if nt._rg else None, v._edge() if v is not None and v._rg else None)
        nt.grad_fn = _COPY_SLICES.node_cls(_COPY_SLICES, _no_copy_slices_grad, np, (), nxt,
                                           (nt, v if v is not None else nt), ())
        nt._rg = True
    return True


def no_rand_like(nt):
    """torch's refusal of rand_like of a strided nested tensor."""
    if nt.arr.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented("rand_like", np, "NestedTensor")


def copy_error(src, dst):
    """torch's error for copy_ between a nested and a dense tensor (either way)."""
    nested = dst if type(dst) is NestedArray else src
    if nested.meta.layout == "strided":
        return RuntimeError("get_nested_tensor_impl requires a NestedTensor.")
    return ValueError(f"NestedTensor copy_default(self: jt_all, src: jt_all, non_blocking: any?): "
                      f"expected {'src' if nested is dst else 'self'} to be a jagged layout "
                      "NestedTensor")


def no_item(a):
    """torch's error for item() of a nested tensor (any number of elements)."""
    if a.numel == 1:
        from .._sparse_coo import not_implemented
        return not_implemented("_local_scalar_dense", np, "NestedTensor") \
            if a.meta.layout == "strided" else \
            NotImplementedError("aten._local_scalar_dense.default")
    return RuntimeError(f"a Tensor with {a.numel} elements cannot be converted to Scalar")


def from_parts(tensors, meta, o=None):
    """A nested tensor of these dense component Tensors (the graph kept to each, through a
    node of op `o`)."""
    refuse_cuda(tensors)
    out = _new(NestedArray([t.arr for t in tensors], meta), NESTED)
    if o is None and meta.layout == "jagged":       # (as_nested_tensor's: a view of its values)
        out.arr.view = weakref.ref(out)
    return _node(o or _AS_NESTED[meta.layout], lambda xp, g: tuple(g.parts), (), tensors, out)


# the last node of torch's nested attention: a strided tensor's matmul (its math kernel); a jagged
# tensor's view of its values, transposed back to (B, H, j, D) where the heads come first
_SDPA = {"strided": op("nested_sdpa", saves=None, node="MatmulBackward0")(None),
         1: _AS_NESTED["jagged"],
         2: op("nested_sdpa_heads", saves=None, node="TransposeBackward0")(None)}


def sdpa(q, k, v, attn_mask, dropout_p, is_causal, scale):
    """scaled_dot_product_attention of nested q, k, v: dense attention within each component
    (a sequence), as torch's jagged kernels compute it. torch takes no mask nor is_causal."""
    m = q.arr.meta
    if not (k.is_nested and v.is_nested):
        if m.layout == "strided":       # (its matmuls')
            raise RuntimeError("Expected both to be nested, but got a nested self and "
                               "non-nested other")
        raise ValueError(f"Expected query, key, and value to be nested tensors, but got "
                         f"query.is_nested: True, key.is_nested: {k.is_nested}, and "
                         f"value.is_nested: {v.is_nested} instead.")
    if m.layout == "jagged" and min(q.ndim, k.ndim, v.ndim) < 3:
        raise ValueError(f"Expected query, key, and value to all be at least 3 dimensional, but "
                         f"got query.dim: {q.ndim}, key.dim: {k.ndim} and value.dim: {v.ndim} "
                         "instead.")
    if m.layout == "jagged" and not m.ragged == k.arr.meta.ragged == v.arr.meta.ragged:
        raise ValueError(f"Expected query, key, and value to all be ragged on the same "
                         f"dimension, but got ragged dims {m.ragged}, {k.arr.meta.ragged}, and "
                         f"{v.arr.meta.ragged}, respectively.")
    if attn_mask is not None:
        raise ValueError("Masks are not yet supported!")
    if is_causal:
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found.")
    if q.arr.meta.layout == "strided" and not all(
            p.flags.c_contiguous for t in (q, k, v) for p in t.arr.parts):   # (transposed)
        raise RuntimeError("scaled_dot_product_attention: If inputs are nested tensors they "
                           "must be contiguous")
    from ..nn.functional import scaled_dot_product_attention as attention
    # (ragged 1 past 3 dims: attention over the values, torch's path of such tensors)
    heads = m.layout == "jagged" and (m.ragged != 1 or q.ndim == 3)
    if heads and not all(_transposed_contiguous(t.arr) for t in (q, k, v)):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found.")
    outs = [attention(a, b, c, dropout_p=dropout_p, scale=scale)
            for a, b, c in zip(q.unbind(), k.unbind(), v.unbind())]
    out = from_parts(outs, m, _SDPA["strided" if m.layout == "strided" else m.ragged])
    if heads:       # torch's result views (sum j, H, D) values, transposed
        swapped = NestedArray([p.swapaxes(0, 1) for p in out.arr.parts], m.with_ragged(1))
        out.arr.parts = [p.swapaxes(0, 1) for p in swapped.copy().parts]
    return out


def _transposed_contiguous(a):
    """Whether a jagged (B, H, j, D) tensor's transpose(1, 2) is contiguous: torch's math
    attention takes no other."""
    r = a.meta.ragged
    return NestedArray([p.swapaxes(0, 1) for p in a.parts],
                       a.meta.with_ragged(3 - r if r < 3 else r)).flags.c_contiguous


def select_component(nt, i):
    """nt[i]: component i (in range), its gradient the nested one of zeros but there."""
    a = nt.arr
    i = i + len(a.parts) if i < 0 else i
    out = _new(a.parts[i], CPU)

    def bwd(xp, g):
        return (a.like([g if k == i else np.zeros_like(p) for k, p in enumerate(a.parts)]),)
    return _node(_SELECT_COMPONENT, bwd, (), (nt,), out)


def unbind(nt, dim=0, given=None):
    """The components, as dense tensors (dim: wrapped; torch's message names the dim given)."""
    a = nt.arr
    if dim != 0:
        raise RuntimeError(f"NestedTensor can only be unbound along dimension 0 got dimension "
                           f"{dim if given is None else given} instead."
                           if a.meta.layout == "strided" else
                           "unbind(): only supported for NestedTensor on dim=0")
    outs = tuple(_new(p, CPU) for p in a.parts)
    return _node(_UNBIND, lambda xp, g: (a.like(list(g)),), (), (nt,), outs)


def _packed(a):
    """A jagged tensor's components in one values array, packed along the ragged dim, and
    back."""
    return np.concatenate(a.parts, axis=a.meta.ragged - 1)


def _unpacked(values, a):
    bounds = np.cumsum([p.shape[a.meta.ragged - 1] for p in a.parts])[:-1]
    return a.like(np.split(values, bounds, axis=a.meta.ragged - 1))


def values(nt):
    a = nt.arr
    if a.meta.layout == "strided":      # the components' buffer, flat
        out = _new(np.concatenate([p.reshape(-1) for p in a.parts]), CPU)
        return _node(_VALUES["strided"], lambda xp, g: (a.like(np.split(g, np.cumsum(
            [p.size for p in a.parts])[:-1])),), (), (nt,), out)
    if a.buffer is not None:        # a tensor with holes viewing its values: all of them
        return _node(_VALUES["jagged"], lambda xp, g: (NestedArray.over(g, a.meta),), (),
                     (nt,), _new(a.buffer, CPU))
    out = _new(_packed(a), CPU)
    return _node(_VALUES["jagged"], lambda xp, g: (_unpacked(g, a),), (), (nt,), out)


def from_jagged(values_t, offsets, lengths, ragged, nid, seqlens=(None, None)):
    """A jagged tensor viewing `values`, its dim ragged - 1 split at `offsets` (`lengths`:
    each component's length from its offset, a tensor with holes; `seqlens`: the (min, max)
    given)."""
    refuse_cuda((values_t, offsets) if lengths is None else (values_t, offsets, lengths))
    v = values_t.arr
    meta = Meta("jagged", offsets, lengths, nid, ragged, seqlens)
    out = _new(NestedArray.over(v, meta), NESTED)
    if lengths is None:
        out.arr.buffer = None       # (its components packed are its values)
    out.arr.view = weakref.ref(out)
    # (the holes take a gradient through values() only)
    return _node(_FROM_JAGGED, lambda xp, g: (g.whole(v.shape),), (), (values_t,), out)


def to_padded(nt, padding, output_size=None):
    a = nt.arr
    if a.meta.lengths is not None:
        raise RuntimeError("to_padded_tensor(): not supported for nested tensors with holes")
    if a.meta.layout == "strided" and not a.flags.c_contiguous:
        raise RuntimeError("for now to_padded_tensor only supports contiguous nested tensor")
    shape = a.padded_shape()
    if output_size is not None and a.meta.layout == "strided":
        if len(output_size) != len(shape):
            raise RuntimeError("Length of output_size does not match NestedTensor dims. "
                               "Broadcasting is not supported.")
        if any(o < n for o, n in zip(output_size, shape)):
            raise RuntimeError("Value in output_size is less than NestedTensor padded size. "
                               "Truncation is not supported.")
        shape = tuple(output_size)
    elif a.meta.layout == "jagged":     # the ragged dim's size (cut or padded): output_size's,
        r = a.meta.ragged               # else the max length cached, else torch's values.size(0)
        n = output_size[r] if output_size is not None else a.meta.seqlens[1]
        if n is None:
            n = sum(p.shape[0] for p in a.parts) if r == 1 else a.parts[0].shape[0]
        shape = shape[:r] + (n,) + shape[r + 1:]
    out = _new(a.padded(padding, shape), CPU)

    def bwd(xp, g):
        return (a.like([g[(i,) + tuple(slice(0, n) for n in p.shape)]
                        for i, p in enumerate(a.parts)]),)
    return _node(_PADDED, bwd, (), (nt,), out)


def reduce_nested(nt):
    """pickle's reduction of a nested tensor: its layout, components (a jagged tensor's values,
    offsets and ragged dim, packed) and requires_grad."""
    a = nt.arr
    if a.meta.layout == "strided":
        return unpickle_nested, ("strided", [p.copy() for p in a.parts], nt.requires_grad)
    d = nt.detach().contiguous() if a.meta.lengths is not None else nt.detach()
    return unpickle_nested, ("jagged", (values(d).arr, a.meta.offsets.arr if
                                        a.meta.lengths is None else d.arr.meta.offsets.arr,
                                        a.meta.ragged), nt.requires_grad)


def unpickle_nested(layout, data, requires_grad):
    if layout == "strided":
        out = _new(NestedArray(data, Meta("strided")), NESTED)
    else:
        v, o, ragged = data
        offsets = _new(o, CPU)
        out = from_jagged(_new(v, CPU), offsets, None, ragged, nested_int(offsets.arr))
    return out.requires_grad_(requires_grad)


def deepcopy_nested(nt):
    """copy.deepcopy of a nested tensor: a jagged one's copy (new offsets, as torch's); torch
    has no new_empty for a strided one."""
    if nt.arr.meta.layout == "strided":
        from .._sparse_coo import not_implemented
        raise not_implemented("new_empty", np, "NestedTensor")
    return unpickle_nested(*reduce_nested(nt)[1])
