"""The op registry: each op is a forward on raw arrays plus its vjp, registered once.

Contract for every op file:
- `fwd(xp, *arrays, *static) -> (out, saved)`: raw arrays in, raw array (or tuple) out; `saved`
  is exactly what backward needs; static arguments arrive already normalised.
- `bwd(xp, g, *saved) -> tuple`: one gradient per tensor input (None allowed). Gradients may have
  the broadcast shape: the engine sums them down. Never write into `g` or `saved`.
- `saves`: which tensors backward reads ("in", "out", "both", None), so that an in-place change
  of them after the forward is caught, as torch's version counters do.
"""
import re

N_BACKENDS = 4          # cpu=0, cuda=1, mock=2, nested=3
NESTED_IDX = 3          # nested tensors' slot: ember/nested/_ops.py fills it per op
OPS = {}


class Op:
    __slots__ = ("name", "impl", "amp", "differentiable", "saves_in", "saves_out", "_node_name",
                 "node_cls", "n_out", "needs_mask", "opmath", "keeps", "refresh", "tracks_out",
                 "frees")

    def __init__(self, name, fwd, amp, differentiable, saves, node_name, n_out, needs_mask):
        self.name, self.amp, self.differentiable = name, amp, differentiable
        self.saves_in = saves in ("in", "both")
        self.saves_out = saves in ("out", "both")
        # refresh(xp, saved, static) -> saved: for an op whose backward reads its output as a
        # shortcut where torch's reads only the input, the saved values recomputed from the
        # input once the output was changed in place (torch allows that change)
        self.refresh = None
        self.tracks_out = self.saves_out     # whether nodes follow the output's version
        # whether a backward frees what the nodes saved (a second one raises, as torch's):
        # None follows torch's node class of the node's name (autograd.node._frees); True for
        # an op fused from a chain of torch's nodes whose last one saves nothing (linear as
        # ViewBackward0 over addmm's)
        self.frees = None
        self.node_name = node_name or _default_node_name(name)
        self.n_out, self.needs_mask = n_out, needs_mask
        self.opmath = False     # float16/bfloat16 with a Python float: computed in float32
        from ..autograd._thin import KEEPS
        self.keeps = KEEPS.get(name)    # the inputs backward reads (None: all; see _thin.py)
        self.impl = [(fwd, None)] * NESTED_IDX + [(_no_nested(name), None)]

    @property
    def node_name(self):
        return self._node_name

    @node_name.setter
    def node_name(self, name):
        """torch's grad_fn class name; nodes are made as `node_cls`, a Node subclass of that
        name, so `type(t.grad_fn).__name__` is torch's (as graph tools such as torchviz read)."""
        from ..autograd.node import node_class
        self._node_name, self.node_cls = name, node_class(name)

    def node_class_by(self, pick):
        """Nodes of a class picked per recorded call: pick(args, static) gives torch's node
        class where it is not the op's (None: the op's), as torch's nested autograd kernels
        have other names. The pick runs only when a node is recorded."""
        own = self.node_cls

        def make(op, bwd, xp, saved, nxt, args, static):
            return (pick(args, static) or own)(op, bwd, xp, saved, nxt, args, static)
        self.node_cls = make

    def rerun_on_write(self):
        """For a one-input op whose backward reads its output where torch's reads only the
        input: nodes follow the output's version and, once it was written in place (which
        torch allows), re-run the forward on the saved input (saved[0]) for backward."""
        fwd = self.impl[0][0]
        self.refresh = lambda xp, saved, static: fwd(xp, saved[0], *static)[1]
        self.tracks_out = True
        return self

    def vjp(self, bwd):
        """Decorator: the backward rule for every backend slot not overridden."""
        self.impl = [(f, bwd if b is None else b) for f, b in self.impl]
        return self

    def __repr__(self):
        return f"<op {self.name}>"


def _no_nested(name):
    """The nested slot of an op with no nested kernel: torch's NotImplementedError."""
    def fwd(xp, *args):
        if any(getattr(getattr(a, "meta", None), "layout", None) == "jagged" for a in args):
            raise NotImplementedError(f"aten.{name}.default")     # torch's NestedTensor class
        from .._sparse_coo import not_implemented
        raise not_implemented(name, xp, "NestedTensor")
    return fwd


def _default_node_name(name):
    """torch's class name of an op's node: CamelCase, a letter after a digit capitalised too
    (special_xlog1py: SpecialXlog1PyBackward0)."""
    camel = "".join(p.capitalize() for p in name.split("_"))
    return re.sub(r"(?<=\d)[a-z]", lambda m: m.group().upper(), camel) + "Backward0"


def op(name, amp=None, differentiable=True, saves="in", node=None, n_out=1, needs_mask=False):
    """Register `fwd` as op `name`; returns the Op (use `.vjp` to add its backward).

    With `needs_mask`, backward receives a last argument: a tuple of booleans saying which
    inputs need a gradient (derivatives.yaml's grad_input_mask), to skip expensive ones."""
    def register(fwd):
        assert name not in OPS, f"duplicate op {name}"
        OPS[name] = o = Op(name, fwd, amp, differentiable, saves, node, n_out, needs_mask)
        return o
    return register


def refused_backward(aten):
    """A backward that refuses in the words of torch's NotImplemented node for `aten` (ops
    torch records a node for but has no derivative of)."""
    def bwd(*args):
        raise RuntimeError(f"derivative for aten::{aten} is not implemented")
    bwd.aten = aten         # (an in-place call refuses as aten's in-place op: _apply.inplace)
    return bwd


def contiguous_outputs(*names):
    """torch allocates these ops' outputs contiguous (softmax, scans, selections along a dim)
    where NumPy follows the input's layout: their kernels hand back C-ordered arrays."""
    for name in names:
        o = OPS[name]
        o.impl[:] = [(_c_ordered(f), b) for f, b in o.impl]    # in place: fast paths hold it


def _c_ordered(fwd):
    def run(xp, *args):
        out, saved = fwd(xp, *args)
        if isinstance(out, tuple):
            return tuple(c_order(xp, a) for a in out), saved
        return c_order(xp, out), saved
    return run


def column_major_outputs(*names, which=(0,)):
    """torch's LAPACK-backed results keep LAPACK's layout: each matrix column-major (strides
    (1, rows), batches outermost), where NumPy's are C-ordered: the outputs at `which`."""
    for name in names:
        o = OPS[name]
        o.impl[:] = [(_column_major(f, which), b) for f, b in o.impl]


def _column_major(fwd, which):
    def run(xp, *args):
        out, saved = fwd(xp, *args)
        if isinstance(out, tuple):
            return tuple(f_order(xp, a) if i in which else a for i, a in enumerate(out)), saved
        return f_order(xp, out), saved
    return run


def f_order(xp, a):
    """a with each matrix (its last two dims) column-major, batches outermost (exact strides,
    size-1 dims too: torch's (3, 1) result has strides (1, 3))."""
    if a.ndim < 2 or not hasattr(a, "flags"):      # (create_graph's namespace: values only)
        return a
    t = xp.swapaxes(a, -1, -2)
    if not t.flags.c_contiguous or t.strides != _c_strides(t.shape, t.itemsize):
        t = t.copy(order="C")
    return xp.swapaxes(t, -1, -2)


def _c_strides(shape, itemsize):
    strides = []
    for n in reversed(shape):
        strides.append(itemsize)
        itemsize *= n
    return tuple(reversed(strides))


def c_order(xp, a):
    """a C-contiguous (a itself when it already is; a copy keeps its array type)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def holomorphic(bwd):
    """The complex vjp of an op whose backward rule is written as for real inputs (g times the
    derivative, or the transposed Jacobian). For complex inputs torch's convention (conjugate
    Wirtinger) is g * conj(f'(z)) = conj(bwd(conj(g))); real gradients take the plain rule.
    Wrap only complex-differentiable (holomorphic) ops: abs, angle, real, ... need their own."""
    def vjp(xp, g, *saved):
        if g.dtype.kind != "c":
            return bwd(xp, g, *saved)
        return tuple(None if r is None else xp.conj(r) for r in bwd(xp, xp.conj(g), *saved))
    vjp.__name__ = vjp.__qualname__ = getattr(bwd, "__name__", "vjp")
    return vjp


def no_complex_grad(result, name):
    """torch's autograd has no complex derivative for some ops (those outside its
    GRADIENT_IMPLEMENTED_FOR_COMPLEX): recording one with a complex output raises."""
    if result.requires_grad and result.arr.dtype.kind == "c":
        raise RuntimeError(f"{name} does not support automatic differentiation for outputs with "
                           "complex dtype.")
    return result


def override(o, idx, fwd=None, bwd=None):
    """Backend-specific kernels (fused CUDA) keep the generic `saved` layout."""
    f0, b0 = o.impl[idx]
    o.impl[idx] = (fwd or f0, bwd or b0)
