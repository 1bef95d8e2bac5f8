"""Graph nodes. A Node holds the op's backward rule, what it saved, and edges to its inputs'
nodes; a Leaf (torch's AccumulateGrad) is the edge into a leaf tensor; an OutSlot routes the
gradient of one output of a multi-output op into its parent node."""
import weakref

from .._hooks import RemovableHandle

# The in-place clock: every in-place op ticks it and stamps the modified storage's version
# counter, so backward can tell whether a saved tensor changed after its node was recorded.
CLOCK = [0]


def _init(self, op, bwd, xp, saved, next, inputs, static):
    self.op, self.bwd, self.xp, self.saved = op, bwd, xp, saved
    self.next, self.inputs, self.static = next, inputs, static
    self.epoch = CLOCK[0]
    self.out_vc = self.hooks = self.post = self.outs = self.meta = None


def _init_traced(self, op, bwd, xp, saved, next, inputs, static):
    _init(self, op, bwd, xp, saved, next, inputs, static)
    from .anomaly_mode import forward_trace
    self.meta = {"traceback_": forward_trace()}


def set_tracing(on):
    """Anomaly mode: every new Node records the forward traceback (no cost while off)."""
    Node.__init__ = _init_traced if on else _init


_CLASSES = {}


def node_class(name):
    """The Node subclass called `name` (one per torch node name, made once)."""
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (Node,), {"__slots__": (), "__module__": "torch"})
    return cls


class Node:
    __slots__ = ("op", "bwd", "xp", "saved", "next", "inputs", "static", "epoch", "out_vc",
                 "hooks", "post", "outs", "meta", "__weakref__")
    op_node = True      # a built-in op's node (custom Function nodes keep their own state)

    __init__ = _init

    def name(self):
        return self.op.node_name

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        return tuple((n.public(), output_nr(n)) if n is not None else (None, 0)
                     for n in self.next)

    def public(self):
        return self

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after the node's backward (a returned tuple replaces
        grad_inputs, the gradients for its inputs)."""
        self.post = (self.post or []) + [fn]
        return _HookHandle(self, fn, "post")

    def register_prehook(self, fn):
        self.hooks = (self.hooks or []) + [fn]
        return _HookHandle(self, fn)

    @property
    def metadata(self):
        if self.meta is None:
            self.meta = {}
        return self.meta


def output_nr(edge):
    """Which output of its node an edge carries the gradient of (torch's output_nr)."""
    return edge.index if isinstance(edge, OutSlot) else 0


class AccumulateGrad:
    """The gradient sink of a leaf tensor (held weakly: no tensor<->node cycle)."""
    __slots__ = ("ref", "hooks", "__weakref__")
    next = ()

    def __init__(self, t):
        self.ref, self.hooks = weakref.ref(t), None

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def public(self):
        return self

    next_functions = ()

    @property
    def variable(self):
        return self.ref()


Leaf = AccumulateGrad      # the name ember's engine uses


class OutSlot:
    """Edge to output `index` of a multi-output node; shows itself as the parent node."""
    __slots__ = ("parent", "index", "next", "hooks", "__weakref__")

    def __init__(self, parent, index):
        self.parent, self.index, self.next, self.hooks = parent, index, (parent,), None

    def name(self):
        return self.parent.name()

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self.parent))}>"

    @property
    def next_functions(self):
        return self.parent.next_functions

    def public(self):
        return self.parent

    def __getattr__(self, name):
        # ctx attributes of an autograd.Function (saved_tensors, needs_input_grad, ...) and
        # the node API (metadata, register_hook) are the parent's
        return getattr(self.parent, name)

    def register_prehook(self, fn):
        self.hooks = (self.hooks or []) + [fn]
        return _HookHandle(self, fn)


_SLOT_CLASSES = {}


def out_slot(parent, index):
    """The edge to output `index` of the multi-output node `parent`. Its class carries the
    parent's class name, so `type(t.grad_fn).__name__` reads as torch's (whose outputs of one
    op share the op's node)."""
    cls = _SLOT_CLASSES.get(type(parent))
    if cls is None:
        cls = _SLOT_CLASSES[type(parent)] = type(type(parent).__name__, (OutSlot,),
                                                 {"__slots__": (), "__module__": "torch"})
    return cls(parent, index)


class RetainGrad:
    """The hook behind Tensor.retain_grad: stores the gradient in .grad. The engine runs it
    after the tensor's other hooks, so .grad holds the gradient they produced (torch's order)."""
    __slots__ = ("ref",)

    def __init__(self, t):
        self.ref = weakref.ref(t)

    def __call__(self, g):
        t = self.ref()
        if t is not None:
            t._grad = g.clone() if t._grad is None else t._grad + g


class _HookHandle(RemovableHandle):
    """The handle of a tensor or node hook (a torch.utils.hooks.RemovableHandle)."""

    def __init__(self, owner, fn, attr="hooks"):
        self.owner, self.fn, self.attr = owner, fn, attr

    def remove(self):
        hooks = getattr(self.owner, self.attr)
        if hooks and self.fn in hooks:
            hooks = [h for h in hooks if h is not self.fn]
            setattr(self.owner, self.attr, hooks or None)

