"""torch.autograd.forward_ad: dual tensors and forward-mode tangents.

A dual tensor carries `_fw = (level, tangent)` (a Tensor slot, unset on ordinary tensors). The
op entry points in ops/_apply.py (and the few ops that build their nodes by hand: matmul,
setitem/index_put_, copy_, device moves, in-place fills, autograd.Function) act on tangents
only while a dual level is open (`FW.level is not None`): with no level the hot path pays one
attribute test.

One general mechanism gives every op its tangent: an op's reverse rule is linear in the output
cotangent u, so J v = d/du <vjp(u), v>. `propagate` builds a private node for the op (fresh
detached inputs, nothing shared with the user's graph or .grad, no saved-tensor hooks), runs
its backward differentiably on a cotangent u of ones that requires grad
(higher_order.differentiable_vjp, the create_graph machinery; ones, not zeros, because some
rules branch on g == 0), and differentiates <vjp(u), v> with respect to u. For complex tensors
<a, b> is Re(sum(conj(a) b)), which with torch's conjugate-Wirtinger vjps gives the R-linear
tangent of non-holomorphic ops too (abs, angle, conj). View ops skip this and apply themselves
to the tangent, and outputs of multi-view ops (chunk, unbind) get tangents aliasing the base's,
so a view's tangent is a view of its base's tangent and in-place writes through views update
the base's tangent, as in torch. In-place ops write the new tangent into the existing tangent
storage (zeros where the written value has none). Forward AD is independent of grad mode:
tangents propagate under no_grad, as in torch.

Differences from torch: tangents are computed without recording a graph (a tangent that
requires grad does not make the output's tangent differentiable, so forward-over-reverse
through dual tensors is not available; ember.func.jvp/jacfwd keep their double-vjp and do
compose); an op whose backward cannot run differentiably (see higher_order.py: scatter_reduce,
svd with full_matrices on non-square input) raises a RuntimeError naming it; where torch's
forward rule disagrees with its own reverse rule (fmax at ties, triangular_solve with
transpose, an empty logsumexp) ember follows the reverse rule.

Cost: add, sub, mul, div, matmul, linear, neg, exp, tanh, sigmoid and relu have explicit rules
(`_RULES`, a few array operations); any other op's tangent costs about a differentiable backward
pass through that op. A small MLP forward with GELU (batch 32, 64-128-128-10) takes about
1-2 ms with a dual input against 0.1 ms without."""
import weakref
from typing import NamedTuple

from .._dtype import BF16_NUM
from .grad_mode import _Mode

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]


class _State:
    __slots__ = ("level",)


FW = _State()
FW.level = None         # the open _Level, or None (the hot path tests only this)


class _Level:
    __slots__ = ("n", "duals")

    def __init__(self, n):
        self.n, self.duals = n, []


_current_level = -1


def enter_dual_level():
    """Enter a new forward grad level (only one may be open at a time)."""
    global _current_level
    if FW.level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level += 1
    FW.level = _Level(_current_level)
    return _current_level


def exit_dual_level(*, level=None):
    """Exit the forward grad level, deleting every tangent associated with it."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    if level < 0 or FW.level is None:
        raise RuntimeError("Dual level must be a positive number.")
    lv, FW.level = FW.level, None
    for r in lv.duals:
        t = r()
        if t is not None and getattr(t, "_fw", None) is not None and t._fw[0] is lv:
            t._fw = None
    lv.duals = []
    _current_level = level - 1


class dual_level(_Mode):
    """Context manager (and decorator, through _Mode) for forward AD: tangents live until it
    exits."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback):
        exit_dual_level()


class UnpackedDualTensor(NamedTuple):
    """(primal, tangent) of a dual tensor, as returned by unpack_dual."""
    primal: object
    tangent: object


UnpackedDualTensor.__module__ = "torch.autograd.forward_ad"


def _level_obj(level, what):
    lv = FW.level
    if level is None:
        level = _current_level
    if lv is None or level != lv.n:
        raise RuntimeError(f"Invalid level given to {what}")
    return lv


def tangent_of(t):
    """The tangent of `t` at the open level, or None."""
    fw = getattr(t, "_fw", None)
    if fw is not None and fw[0] is FW.level:
        return fw[1]
    return None


def set_tangent(t, tangent):
    lv = FW.level
    if tangent is None:
        t._fw = None
        return
    t._fw = (lv, tangent)
    lv.duals.append(weakref.ref(t))


def make_dual(tensor, tangent, *, level=None):
    """A new tensor aliased to `tensor` (a view of it) with `tangent` as its forward gradient."""
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    _level_obj(level, "_make_dual")
    if tangent_of(tensor) is not None:
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {level} is not supported.")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                           f"that of the original Tensor, this is not supported. Tensor is of "
                           f"size {list(tensor.shape)} while the given forward gradient is of "
                           f"size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"Trying to set a forward gradient that has a different device than "
                           f"that of the original Tensor: {tensor.device} vs {tangent.device}.")
    out = tensor.view_as(tensor)
    set_tangent(out, tangent.detach() if tangent.requires_grad else tangent)
    return out


def unpack_dual(tensor, *, level=None):
    """(primal, tangent): a view of the primal without tangent, and the tangent as is."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    lv = FW.level
    if lv is None or level != lv.n:
        return UnpackedDualTensor(tensor, None)
    tan = tangent_of(tensor)
    if tan is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(fw_primal(tensor, level), tan)


def fw_primal(tensor, level=0):
    """Tensor._fw_primal(level): a view of `tensor` without its tangent at `level`."""
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    saved = getattr(tensor, "_fw", None)
    tensor._fw = None           # the view op must not copy the tangent
    try:
        out = tensor.view_as(tensor)
    finally:
        tensor._fw = saved
    return out


# ---- propagation ------------------------------------------------------------------------------
def _float(a):
    k = a.dtype.kind
    return k == "f" or k == "c" or a.dtype.num == BF16_NUM


def _jvp_error(op, e):
    return RuntimeError(f"Trying to use forward AD with {op.name} that does not support it "
                        f"because its reverse rule cannot run differentiably in ember: {e}")


# ops whose forward AD torch has not implemented: their aten names (None: a custom Function)
_NOT_IMPLEMENTED = {"multi_margin_loss": "multi_margin_loss",
                    "multilabel_margin_loss": "multilabel_margin_loss_forward",
                    "scaled_dot_product_flash_attention_for_cpu":
                        "_scaled_dot_product_flash_attention_for_cpu",
                    "segment_sum": "_embedding_bag", "segment_max": "_embedding_bag",
                    "ctc_loss": "_ctc_loss", "grid_sampler_2d": "grid_sampler_2d",
                    "pdist": "_pdist_forward", "cdist": "_cdist_forward",
                    "cross_map_lrn2d": None}


def _not_implemented(name, static):
    aten = _NOT_IMPLEMENTED[name]
    if name == "cdist" and static[1]:
        aten = "_euclidean_dist"            # (torch's matmul path for p = 2)
    if aten is None:
        return NotImplementedError("You must implement the jvp function for custom "
                                   "autograd.Function to use it with forward mode AD.")
    return NotImplementedError(
        f"Trying to use forward AD with {aten} that does not support it because it has not "
        "been implemented yet.\nPlease file an issue to PyTorch at https://github.com/pytorch/"
        "pytorch/issues/new?template=feature-request.yml so that we can prioritize its "
        "implementation or submit a PR adding the implementation to derivatives.yaml")


def propagate(op, args, static, out, saved):
    """Give `out` (a Tensor or tuple of Tensors computed by `op` from `args`) its tangent when
    some Tensor in `args` has one at the open level."""
    lv = FW.level
    tans = []
    any_t = False
    from .._tensor import Tensor
    for a in args:
        if isinstance(a, Tensor):
            fw = getattr(a, "_fw", None)
            if fw is not None and fw[0] is lv:
                tans.append(fw[1])
                any_t = True
                continue
        tans.append(None)
    if not any_t or not op.differentiable:
        return
    outs = out if type(out) is tuple else (out,)
    if not any(_float(o.arr) for o in outs):
        return
    if op.name in _NOT_IMPLEMENTED:
        raise _not_implemented(op.name, static)
    rule = _RULES.get(op.name)
    if static and rule not in _STATIC_SAFE:     # (add/sub with alpha: generic rule)
        rule = None
    if rule is not None and len(outs) == 1:
        t = _fast(rule, args, tans, outs[0])
        if t is not None:
            set_tangent(outs[0], t)
            return
    try:
        jv = _generic_jvp(op, args, static, outs, saved, tans)
    except RuntimeError as e:
        if "double backward" in str(e):
            raise _jvp_error(op, e) from None
        raise
    for o, t in zip(outs, jv):
        if t is not None:
            set_tangent(o, t)


# ---- explicit rules for the commonest ops (the generic rule costs a backward pass) -------------
# rule(xp, arrays, tangent arrays (None: no tangent), output array) -> tangent array or None
def _sum_t(*terms):
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


def _rule_add(xp, a, ta, y):
    return _sum_t(ta[0], ta[1])


def _rule_sub(xp, a, ta, y):
    return _sum_t(ta[0], None if ta[1] is None else -ta[1])


def _rule_mul(xp, a, ta, y):
    return _sum_t(None if ta[0] is None else ta[0] * a[1],
                  None if ta[1] is None else a[0] * ta[1])


def _rule_div(xp, a, ta, y):
    return _sum_t(None if ta[0] is None else ta[0] / a[1],
                  None if ta[1] is None else -(y * ta[1]) / a[1])


def _rule_matmul(xp, a, ta, y):
    return _sum_t(None if ta[0] is None else xp.matmul(ta[0], a[1]),
                  None if ta[1] is None else xp.matmul(a[0], ta[1]))


def _rule_linear(xp, a, ta, y):
    x, w = a[0], a[1]
    return _sum_t(None if ta[0] is None else xp.matmul(ta[0], w.T),
                  None if ta[1] is None else xp.matmul(x, ta[1].T),
                  ta[2] if len(ta) > 2 else None)


def _rule_where(xp, a, ta, y):
    """torch's where(cond, self_t, other_t): the tangent picked, not a sum of the two (the
    generic rule's 0 + -0 lost a -0.0 tangent)."""
    if ta[1] is None and ta[2] is None:
        return None
    return xp.where(a[0], 0 if ta[1] is None else ta[1], 0 if ta[2] is None else ta[2])


def _rule_atan2(xp, a, ta, y):
    """torch's forward formula (-self * other_t + other * self_t) / (self^2 + other^2), rounded
    as written (the double-vjp's grad * other * recip rounds apart)."""
    if ta[0] is None and ta[1] is None:
        return None
    x, o = a[0], a[1]
    return (-x * (0 if ta[1] is None else ta[1]) + o * (0 if ta[0] is None else ta[0])) / \
        (x * x + o * o)


# rules that hold whatever static arguments the op got (where's are its dtype and device)
_STATIC_SAFE = (_rule_where,)

_RULES = {
    "where": _rule_where, "atan2": _rule_atan2,
    "add": _rule_add, "sub": _rule_sub, "mul": _rule_mul, "div": _rule_div,
    "matmul": _rule_matmul, "mm": _rule_matmul, "bmm": _rule_matmul, "linear": _rule_linear,
    "neg": lambda xp, a, ta, y: -ta[0],
    "exp": lambda xp, a, ta, y: ta[0] * y,
    "tanh": lambda xp, a, ta, y: ta[0] * (1 - y * y),
    "sigmoid": lambda xp, a, ta, y: ta[0] * (y * (1 - y)),
    "relu": lambda xp, a, ta, y: xp.where(y > 0, ta[0], 0),
}


def _fast(rule, args, tans, out):
    """Apply an explicit rule to real float32/float64 operands; None: use the generic rule."""
    from .._tensor import Tensor, _new
    y = out.arr
    if y.dtype.kind != "f" or y.dtype.itemsize < 4:
        return None
    xp = out.be.xp
    arrs, tarrs = [], []
    for a, t in zip(args, tans):
        if isinstance(a, Tensor):
            if a.arr.dtype.kind not in "fiub" or a.be is not out.be:
                return None
            arrs.append(a.arr)
            if t is not None:
                if t.be is not out.be or t.arr.dtype.kind != "f":
                    return None
                tarrs.append(t.arr)
            else:
                tarrs.append(None)
        elif a is None or type(a) in (int, float, bool):
            arrs.append(a)
            tarrs.append(None)
        else:
            return None
    r = rule(xp, arrs, tarrs, y)
    if r is None:
        return None
    if not isinstance(r, xp.ndarray):       # NumPy gives scalars for 0-d operands
        r = xp.array(r, dtype=y.dtype)
    if r.shape != y.shape:
        r = xp.broadcast_to(r, y.shape)
    if r.dtype != y.dtype or not r.flags.owndata or any(r is t for t in tarrs) or \
            not getattr(r.flags, "writeable", True):
        r = r.astype(y.dtype, copy=True)
    return _new(xp.ascontiguousarray(r) if not r.flags.c_contiguous and r.ndim else r, out.be)


def _generic_jvp(op, args, static, outs, saved, tans):
    """J v by the double-vjp trick on a private one-node graph."""
    from .._tensor import Tensor, _new
    from .node import suspend_saved_hooks
    inputs, nxt = [], []
    be = None
    for a, v in zip(args, tans):
        if isinstance(a, Tensor):
            p = _new(a.arr, a.be)
            be = be or a.be
            if v is not None and _float(a.arr):
                p._rg = True
                nxt.append(p._leaf_node())
            else:
                nxt.append(None)
            inputs.append(p)
        else:
            inputs.append(a)
            nxt.append(None)
    fwd, bwd = op.impl[be.idx]
    with suspend_saved_hooks():
        node = op.node_cls(op, bwd, be.xp, saved, tuple(nxt), tuple(inputs), static)
        return _jvp_of_node(node, be, inputs, outs, tans, op)


def _jvp_of_node(node, be, inputs, outs, tans, op):
    from .._tensor import Tensor, _new
    from . import grad_mode
    from .engine import run
    from .higher_order import differentiable_vjp
    multi = len(outs) > 1 or op.n_out != 1
    us = []
    for o in outs:
        # any point works (the rule is linear in u); ones keep clear of rules' `g == 0` branches
        u = _new(be.xp.ones(o.arr.shape, o.arr.dtype), be)
        if _float(o.arr):
            u._rg = True
        us.append(u)
    if multi:
        node.outs = tuple((o.arr.shape, o.arr.dtype) for o in outs)
    prev = grad_mode.STATE.enabled
    grad_mode.STATE.enabled = True
    lv, FW.level = FW.level, None       # nothing below carries tangents
    try:
        gins = differentiable_vjp(node, tuple(us) if multi else us[0], static_constants=True)
        s = None
        for gi, p, v in zip(gins, inputs, tans):
            if gi is None or v is None or not isinstance(p, Tensor) or not p._rg:
                continue
            if gi.is_complex() and not p.is_complex():
                gi = gi.real
            if gi.is_complex():     # the real inner product Re<vjp(u), v> = Re<u, J v>
                term = (gi.conj() * v.to(gi.dtype)).real.sum()
            else:
                term = (gi * v.to(gi.dtype)).sum()
            s = term if s is None else s + term
        res = [None] * len(outs)
        if s is not None and s._rg:
            roots = [u._leaf_node() for u in us if u._rg]
            cap = {r: None for r in roots}
            run([s.grad_fn], [be.xp.ones((), s.arr.dtype)], False, False, capture=cap)
            k = 0
            for i, u in enumerate(us):
                if u._rg:
                    g = cap[roots[k]]
                    k += 1
                    if g is None:
                        g = be.xp.zeros(u.arr.shape, u.arr.dtype)
                    elif not isinstance(g, be.xp.ndarray) or not getattr(
                            g.flags, "writeable", True) or not g.flags.owndata:
                        g = be.xp.array(g, copy=True)
                    res[i] = _new(g, be)
        for i, (o, u) in enumerate(zip(outs, us)):
            if res[i] is None and u._rg:
                res[i] = _new(be.xp.zeros(o.arr.shape, o.arr.dtype), be)
            if res[i] is not None and res[i].arr.dtype != o.arr.dtype:
                res[i] = _new(res[i].arr.astype(o.arr.dtype), be)
    finally:
        FW.level = lv
        grad_mode.STATE.enabled = prev
    return res
