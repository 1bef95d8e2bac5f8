"""CopySlices: an in-place write through a view of a tensor that takes part in autograd.

As torch does, the base's history is rebased: it gets a CopySlices node (the old base with the
view's region replaced by the in-place result) and the view becomes a strided view of the new
base (AsStridedBackward0). Positions are found from the arrays' memory addresses, so any view
(slices, select, diagonal, transpose, unfold ...) works."""

import math
import re

import numpy as np

from .._tensor import _new
from ..autograd.node import OutSlot, move_retain, node_class
from ._registry import N_BACKENDS, op, override
from ._apply import NO_GRAD_VIEW_ERROR, MultiRef
from .elementwise import ConjVersion, _conj_fn
from .shape import _copy, _element_offsets, _ptr


def _copy_vjp(xp, g, src_dtype):
    """torch's CopyBackwards: `self`'s old values are overwritten, so they get a zero gradient
    (not none: `x = a * 2; x.copy_(src)` gives a.grad == 0, as in torch)."""
    return xp.zeros_like(g), g.astype(src_dtype, copy=False)


# copy_'s op lives in shape.py; its backward rule for `self` is set here with the other rules
# of in-place writes
for _i in range(N_BACKENDS):
    override(_copy, _i, bwd=_copy_vjp)


@op("copy_slices", saves=None, node="torch::autograd::CopySlices", needs_mask=True)
def _copy_slices(xp, base, src, pos):
    raise AssertionError("copy_slices nodes are built by rebase_view, never applied")


@_copy_slices.vjp
def _(xp, g, pos, shared, needs):
    """The base's gradient with the written region zeroed, and the region's (read at each
    element's location); where elements of the region share memory (a write into an expanded
    tensor), torch copies the write's gradient back into that region, which it refuses: only
    when the base's old history takes a gradient."""
    gb = None
    if type(pos) is tuple:              # a dtype view's write (see _positions)
        return _dtype_view_slices(xp, g, *pos, needs)
    if needs[0]:
        if shared:
            from ._apply import _OVERLAP
            raise RuntimeError(_OVERLAP)
        gb = g.copy()
        gb.reshape(-1)[pos.reshape(-1)] = 0
    return gb, g.reshape(-1)[pos]


def _dtype_view_slices(xp, g, mode, pos, needs):
    """copy_slices' gradients where the written view reinterprets the base's dtype."""
    flat = _parts(xp, g) if mode == "real" else g.reshape(-1)
    if mode == "real":
        region = flat[pos]
    else:
        region = flat[pos[..., 0]] + 1j * flat[pos[..., 1]]
    gb = None
    if needs[0]:
        gb = xp.ascontiguousarray(g).copy()
        target = _parts(xp, gb) if mode == "real" else gb.reshape(-1)
        target[pos.reshape(-1)] = 0
    return gb, region


@op("rebased_view", saves=None, node="AsStridedBackward0")
def _rebased_view(xp, base, pos):
    raise AssertionError("rebased_view nodes are built by rebase_view, never applied")


@_rebased_view.vjp
def _(xp, g, pos, shape, shared):
    if type(pos) is tuple:              # a dtype view (see _positions)
        mode, pos = pos
        if mode == "real":
            out = xp.zeros(shape, xp.result_type(g.dtype, np.complex64))
            _parts(xp, out)[pos.reshape(-1)] = g.reshape(-1)     # (out is contiguous: a view)
        else:
            out = xp.zeros(shape, g.real.dtype)
            out.reshape(-1)[pos[..., 0].reshape(-1)] = g.real.reshape(-1)
            out.reshape(-1)[pos[..., 1].reshape(-1)] = g.imag.reshape(-1)
        return (out,)
    out = xp.zeros(shape, g.dtype)
    if shared:      # elements of the view share memory (an expand): their gradients add up
        from ._apply import add_at
        add_at(xp, out.reshape(-1), pos.reshape(-1), g.reshape(-1))
    else:
        out.reshape(-1)[pos.reshape(-1)] = g.reshape(-1)
    return (out,)


def _shares(xp, pos):
    """Whether flat positions repeat: elements of the view share memory (an expand)."""
    if type(pos) is tuple:      # (a dtype view's: its own strides never overlap here)
        pos = pos[1]
    flat = xp.sort(pos.reshape(-1))
    return bool((flat[1:] == flat[:-1]).any())


def _view_node(be, pos, shape, prev, old, shared=None):
    """The AsStridedBackward0 node of a view (at flat positions `pos` of its base) regenerated
    from the base's history `prev`."""
    if shared is None:
        shared = _shares(be.xp, pos)
    cls = _rebased_view.node_cls
    if type(pos) is tuple and pos[1].size == math.prod(shape) * (2 if pos[0] == "real" else 1):
        # the whole base reinterpreted: torch replays the view op itself
        cls = node_class("ViewAsRealBackward0" if pos[0] == "real" else "ViewAsComplexBackward0")
    return cls(_rebased_view, _rebased_view.impl[be.idx][1], be.xp, (pos, shape, shared),
               (prev,), (old,), ())


def check_inplace_view(view):
    """torch refuses in-place writes to views a custom Function returned (or an input it returned
    as is) and to views returned by multi-output view ops (split ...)."""
    if view._base is None:
        return
    fn = view.grad_fn
    if fn is None and not view._rg:
        _check_meta_without_grad(view)
        return
    if not isinstance(fn, OutSlot) and getattr(fn, "custom_function", False):
        name = re.sub(r"Backward\d*$", "", fn.name())
        raise RuntimeError(
            f"Output 0 of {name} is a view and is being modified inplace. This view was created "
            "inside a custom Function (or because an input was returned as-is) and the autograd "
            "logic to handle view+inplace would override the custom backward associated with the "
            "custom Function, leading to incorrect gradients. This behavior is forbidden. You can "
            "fix this by cloning the output of the custom Function.")
    if isinstance(fn, OutSlot) or _from_multi_view(view):
        # (a custom Function's outputs too, when it has several; torch names the last view op)
        name = re.sub(r"Backward\d*$", "", view.grad_fn.name())
        raise RuntimeError(
            f"Output {getattr(fn, 'index', 0)} of {name} is a view and is being modified inplace."
            + _MULTI_VIEW_ADVICE)


_MULTI_VIEW_ADVICE = (
    " This view is the output of a function that returns multiple views. Such functions do not "
    "allow the output views to be modified inplace. You should replace the inplace operation by "
    "an out-of-place one.")


def _check_meta_without_grad(view):
    """torch's creation-meta checks for a view of a tensor that did not require grad, which ember
    reads off the base's list of views made in grad mode: a view missing from it was made in
    no_grad mode, one registered by a MultiRef was returned by a multi-output view op. (Not
    seen: the meta a view of such a view inherits, and inference mode's own message.)"""
    vc = view._vc
    if type(vc) is not list:
        return
    ref = next((r for r in vc[2] if r() is view), None) if len(vc) > 2 else None
    if ref is None:
        raise RuntimeError(NO_GRAD_VIEW_ERROR)
    if type(ref) is MultiRef:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace "
                           "with grad mode enabled." + _MULTI_VIEW_ADVICE)


def _from_multi_view(view):
    """Whether a view op between `view` and its base returned several views (split ...): its
    views, and views of them, inherit torch's MULTI_OUTPUT_NODE creation meta."""
    stop = view._base.grad_fn
    node = view.grad_fn
    for _ in range(64):         # the chain of view ops back to the base
        if node is None or node is stop:
            return False
        if isinstance(node, OutSlot):
            return True
        nxt = getattr(node, "next", None)
        node = nxt[0] if nxt else None
    return False


def _positions(xp, base, view):
    """C-order flat positions in `base` of the elements of `view` (which aliases it). For a
    real view of a complex base (view_as_real), ("real", positions among the base's real
    parts 2k, imaginary parts 2k + 1); for a complex view of a real base (view_as_complex),
    ("complex", positions of each element's real and imaginary parts, stacked last)."""
    ov = _element_offsets(xp, view.shape, view.strides, _ptr(view) - _ptr(base))
    ob = _element_offsets(xp, base.shape, base.strides, 0).reshape(-1)
    if base.itemsize == view.itemsize:
        return _match(xp, ob, ov)
    unit = min(base.itemsize, view.itemsize)
    if base.dtype.kind == "c" and view.dtype.kind != "c" and base.itemsize == 2 * unit:
        parts = xp.stack([ob, ob + unit], -1).reshape(-1)
        return "real", _match(xp, parts, ov)
    if view.dtype.kind == "c" and base.dtype.kind != "c" and view.itemsize == 2 * unit:
        return "complex", xp.stack([_match(xp, ob, ov), _match(xp, ob, ov + unit)], -1)
    raise NotImplementedError("in-place modification of a dtype view that requires grad")


def _match(xp, ob, ov):
    """Where each offset of ov is among the offsets ob."""
    order = xp.argsort(ob, kind="stable")
    pos = order[xp.clip(xp.searchsorted(ob[order], ov), 0, max(ob.size - 1, 0))]
    if ov.size and not bool((ob[pos] == ov).all()):
        raise NotImplementedError("in-place modification of a view that does not lie inside its "
                                  "base")
    return pos


def _parts(xp, a):
    """A complex array's real and imaginary parts as one flat real array (2k, 2k + 1)."""
    return xp.ascontiguousarray(a).reshape(-1).view(a.real.dtype)


def rebase_view(view, out):
    """`view` was just overwritten in place with `out` (which carries the new history)."""
    if type(view._vc) is ConjVersion:
        return _rebase_through_conj(view, out)
    base = view._base
    be = base.be
    xp = be.xp
    pos = _positions(xp, base.arr, view.arr)
    old = _new(base.arr, be)            # records the base's shape and dtype for the engine
    prev = base.grad_fn or (base._leaf_node() if base._rg else None)
    shared = _shares(xp, pos)
    node = _slices_node(be, old, prev, out, pos, shared)
    base.grad_fn, base._rg = node, True
    if base._retain:
        move_retain(base, prev)
    view.grad_fn = _view_node(be, pos, base.arr.shape, node, old, shared)
    view._rg = True
    refresh_views(base, skip=view)


def _slices_node(be, old, prev, out, pos, shared=False):
    """A CopySlices node: `old` (history `prev`) with its elements at `pos` taken from `out`;
    `shared`: some positions repeat (a fill of an expanded tensor), whose backward torch
    refuses."""
    return _copy_slices.node_cls(_copy_slices, _copy_slices.impl[be.idx][1], be.xp,
                                 (pos, shared),
                                 (prev, out.grad_fn), (old, out), ())


def _rebase_through_conj(view, out):
    """`view` is a conjugate view, or a view of one: its write reached the conjugate view's
    source conjugated. The conjugate view's history becomes its old one with `view`'s region
    replaced by `out`; the source takes the conjugate of that (a view's rebased in turn), and
    the conjugate view is regenerated from the source, as torch does."""
    vc, be = view._vc, view.be
    src, buf, xp = vc.src, vc.buf, be.xp
    old = _new(src.arr, be)             # the source's history before the write
    old._rg, old.grad_fn, old._leaf = src._rg, src.grad_fn, src._leaf
    before = _conj_fn(old)
    new = _new(buf, be)
    new.grad_fn = _slices_node(be, before, before.grad_fn, out, _positions(xp, buf, view.arr))
    new._rg = True
    src_new = _conj_fn(new)
    if src._base is not None:
        rebase_view(src, src_new)
    else:
        prev = src.grad_fn or (src._leaf_node() if src._rg else None)
        src.grad_fn = _slices_node(be, old, prev, src_new, _positions(xp, src.arr, src.arr))
        src._rg = True
        refresh_views(src)
    owner = vc.owner()
    if owner is not None:
        old.grad_fn, old._rg = src.grad_fn, True
        owner.grad_fn, owner._rg = _conj_fn(old).grad_fn, True


def refresh_views(base, skip=None):
    """The base's history changed in place: every other live view of it now reads the new
    history through a strided view (torch regenerates a view's grad_fn the same way)."""
    vc = base._vc
    if vc is None or len(vc) < 3:
        return
    be = base.be
    old = None
    for r in vc[2]:
        v = r()
        if v is None or v is skip or v is base or v._base is not base:
            continue
        if old is None:
            old = _new(base.arr, be)
        pos = _positions(be.xp, base.arr, v.arr)
        before = v.grad_fn
        v.grad_fn = _view_node(be, pos, base.arr.shape, base.grad_fn, old)
        v._rg = True
        if v._retain:
            move_retain(v, before)
