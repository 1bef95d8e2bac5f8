"""Graph nodes. A Node holds the op's backward rule, what it saved, and edges to its inputs'
nodes; a Leaf (torch's AccumulateGrad) is the edge into a leaf tensor; an OutSlot routes the
gradient of one output of a multi-output op into its parent node."""
import itertools
import weakref

from .._hooks import RemovableHandle
from .grad_mode import STATE as _GRAD

# the `_leaf` mark of a stub: the shape-and-dtype stand-in autograd/_thin.py makes for an input a
# node no longer reads
STUB = type("Stub", (), {"__repr__": lambda self: "<stub>"})()

# The in-place clock: every in-place op ticks it and stamps the modified storage's version
# counter, so backward can tell whether a saved tensor changed after its node was recorded.
CLOCK = [0]

INFERENCE_INPLACE_ERROR = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details.")
INFERENCE_SAVED_ERROR = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`.")


class InferenceVersion(list):
    """The version counter ([version, clock stamp]) of a tensor made in inference mode, shared
    by its views as every version counter is: its type marks them all as inference tensors.
    Outside inference mode it refuses the version bump of an in-place write. Made by
    new_inference_version, which counts them: while any is alive, new Nodes refuse inference
    tensors among the inputs they save (see refresh_init)."""
    __slots__ = ()

    def __del__(self):
        _INFERENCE_LIVE[0] -= 1
        if not _INFERENCE_LIVE[0] and not _GRAD.inference:
            refresh_init()

    def __setitem__(self, i, value):
        if not _GRAD.inference:
            raise RuntimeError(INFERENCE_INPLACE_ERROR)
        list.__setitem__(self, i, value)


# each new Node's sequence number (torch's sequence_nr): the engine runs the ready node made last
# first
_SEQ = itertools.count()
_next_seq = _SEQ.__next__


def _init(self, op, bwd, xp, saved, next, inputs, static):
    self.op, self.bwd, self.xp, self.saved = op, bwd, xp, saved
    self.next, self.inputs, self.static = next, inputs, static
    self.epoch = CLOCK[0]
    self.seq = _next_seq()
    self.out_vc = self.hooks = self.post = self.outs = self.meta = None


def _init_traced(self, op, bwd, xp, saved, next, inputs, static):
    _init(self, op, bwd, xp, saved, next, inputs, static)
    from .anomaly_mode import forward_trace
    self.meta = {"traceback_": forward_trace()}


_TRACING = [False]
# the number of live InferenceVersions: in inference mode and while there are some, every new
# Node checks its saved inputs (Node.__init__ is swapped, so nothing is paid otherwise)
_INFERENCE_LIVE = [0]
# saved_tensors_hooks: a stack of (pack, unpack), the innermost last; while it is non-empty every
# new Node packs what it saved (Node.__init__ is swapped, so nothing is paid while it is empty)
SAVED_HOOKS = []


def set_tracing(on):
    """Anomaly mode: every new Node records the forward traceback (no cost while off)."""
    _TRACING[0] = on
    refresh_init()


def new_inference_version(zero=(0, 0)):
    _INFERENCE_LIVE[0] += 1
    return InferenceVersion(zero)


def refresh_init():
    base = _INITS[_TRACING[0], _GRAD.inference or _INFERENCE_LIVE[0] > 0]
    Node.__init__ = _packing(base) if SAVED_HOOKS else base


def _refusing_inference(base):
    def init(self, op, bwd, xp, saved, next, inputs, static):
        base(self, op, bwd, xp, saved, next, inputs, static)
        if op.saves_in:
            for i, a in enumerate(inputs):
                if type(getattr(a, "_vc", None)) is InferenceVersion:
                    needed = _saved_inputs(self)
                    if needed is None or i in needed:
                        raise RuntimeError(INFERENCE_SAVED_ERROR)
    return init


# (tracing, inference tensors about) -> Node.__init__ without saved-tensor hooks
_INITS = {(False, False): _init, (True, False): _init_traced,
          (False, True): _refusing_inference(_init),
          (True, True): _refusing_inference(_init_traced)}


def _packing(base):
    def init(self, op, bwd, xp, saved, next, inputs, static):
        base(self, op, bwd, xp, saved, next, inputs, static)
        if saved and type(saved) is tuple:
            self.saved = pack_saved(self, saved)
    return init


class suspend_saved_hooks:
    """No packing inside (ember's private graphs, such as forward AD's, are not the user's)."""
    def __enter__(self):
        self.prev = SAVED_HOOKS[:]
        if self.prev:
            SAVED_HOOKS.clear()
            refresh_init()

    def __exit__(self, *exc):
        if self.prev:
            SAVED_HOOKS[:] = self.prev
            refresh_init()


class PackedSaved(tuple):
    """A node's saved values with the tensors among them packed by saved_tensors_hooks; the
    engine unpacks them (calling the unpack hook) each time backward reads them."""
    __slots__ = ()

    def unpack(self):
        """The saved values, unpacked in the order they were packed (torch's backward unpacks
        its saved variables in the order it saved them)."""
        out = list(self)
        for k in sorted((k for k, e in enumerate(self) if type(e) is _Packed),
                        key=lambda k: self[k].order):
            out[k] = self[k].unpack()
        return tuple(out)


class _Packed:
    """One packed saved array: `which` is the input it came from (None: the result); `order`:
    its place among the node's packed values in the order the pack hook saw them."""
    __slots__ = ("obj", "unpack_hook", "be", "dtype", "which", "order")

    def __init__(self, obj, unpack_hook, be, dtype, which=None, order=0):
        self.obj, self.unpack_hook, self.be, self.dtype = obj, unpack_hook, be, dtype
        self.which, self.order = which, order

    def unpack(self):
        from .._tensor import Tensor
        t = self.unpack_hook(self.obj)
        if not isinstance(t, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        a = t.arr
        if t.be is not self.be:
            a = self.be.from_host(t.be.to_host(a)) if t.be.name != self.be.name else \
                self.be.xp.asarray(a)
        return a


class PackedTensor:
    """A tensor an autograd.Function saved (save_for_backward) under saved_tensors_hooks."""
    __slots__ = ("obj", "unpack_hook", "entry")

    def __init__(self, entry, pack, unpack_hook, tensor):
        self.entry, self.obj, self.unpack_hook = entry, pack(tensor), unpack_hook

    def unpack(self):
        from .._tensor import Tensor
        t = self.unpack_hook(self.obj)
        if not isinstance(t, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        return t


def _saved_inputs(node):
    """Indices of the inputs whose values the node's backward reads (torch saves only those)."""
    from .engine import _SAVED_INPUTS
    which = _SAVED_INPUTS.get(node.op.name)
    return None if which is None else set(which(node))


def pack_saved(node, saved):
    """Apply the innermost pack hook to the arrays of `saved` that torch would save as tensors,
    read from the op's `saves` declaration: for "in", the inputs' arrays (each packed as the input
    Tensor itself, as torch hands pack the very tensor; only the inputs the backward reads, so
    mul packs its other operand when one side requires grad); for "out", the arrays that are no
    input (the result, packed as a new Tensor over it); both for "both"; nothing for ops that
    save only shapes. Arrays left unpacked (shapes, masks, intermediates of "in" ops) stay as
    they are."""
    from .._tensor import Tensor, _new
    op = node.op
    if not (op.saves_in or op.saves_out):
        return saved
    pack, unpack = SAVED_HOOKS[-1]
    be = next((a.be for a in node.inputs if isinstance(a, Tensor)), None)
    if be is None:
        return saved
    xp = be.xp
    by_arr = {id(a.arr): (i, a) for i, a in enumerate(node.inputs) if isinstance(a, Tensor)}
    needed = _saved_inputs(node) if op.saves_in else None
    out, todo = list(saved), []
    for k, s in enumerate(saved):
        t = which = None
        if isinstance(s, xp.ndarray):
            hit = by_arr.get(id(s))
            if hit is not None:
                if op.saves_in and (needed is None or hit[0] in needed):
                    which, t = hit
            elif op.saves_out:          # the result, as torch packs it: with its history
                t = _new(s, be)
                t._rg, t.grad_fn = True, node
        if t is not None:
            todo.append((k, t, which))
    if not todo:
        return saved
    if op.name in _OTHER_FIRST and len(todo) > 1 and todo[1][2] is not None:
        todo[0], todo[1] = todo[1], todo[0]
    for n, (k, t, which) in enumerate(todo):    # x * x: once per slot
        out[k] = _Packed(pack(t), unpack, be, saved[k].dtype, which, n)
    return PackedSaved(out)


# Ops whose torch node saves its second input before its first (the derivative formula of the
# first input names the second first: MulBackward0 packs other, then self): pack_saved calls
# the pack hook in that order.
_OTHER_FIRST = frozenset((
    "mul", "div", "div_floor", "div_trunc", "mm", "bmm", "pow_tensor", "atan2",
    "maximum", "minimum", "fmax", "fmin", "hypot", "lerp_tensor", "xlogy", "remainder", "fmod",
    "logaddexp", "logaddexp2"))


_CLASSES = {}


# ops whose integer or bool tensor inputs are indices, masks or targets (no edge in torch):
# op name -> the input positions with edges (None: all but those)
_INDEXED = dict.fromkeys((
    "gather", "index_select", "take", "take_along_dim", "masked_fill", "where", "scatter",
    "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "index_put",
    "index_reduce", "masked_select", "masked_scatter", "embedding", "index", "put",
    "linalg_lu_solve"))
_INDEXED.update(dict.fromkeys(("cross_entropy", "nll_loss", "nll_loss2d", "multi_margin_loss",
                               "multilabel_margin_loss"), (0,)))
_INDEXED.update(dict.fromkeys(("pow", "rpow", "rsub", "fmod", "remainder"), "scalar"))
# torch's flash attention node has edges for query, key and value only (its CPU kernel takes
# no mask requiring grad); binary_cross_entropy_with_logits' for input and target
_INDEXED["scaled_dot_product_flash_attention_for_cpu"] = (0, 1, 2)
_INDEXED["binary_cross_entropy_with_logits"] = (0, 1)
# the Scalar overloads torch's C++ composites record (retype): no edge for the number
_SCALAR_NODES = frozenset(("AddBackward1", "MulBackward1", "DivBackward1"))


def _no_edge(a):
    """A Python scalar, None, or an integer or bool tensor."""
    arr = getattr(a, "arr", None)
    return arr is None or getattr(arr, "dtype", None) is None or arr.dtype.kind in "biu"


def torch_edges(node):
    """The positions of node's inputs that have an edge in torch's node (None: all of them):
    torch's edges are the op's differentiable inputs only, none for its index, mask or
    class-target tensors, nor a Python scalar fill value (an integer operand of mul keeps its
    None edge, as torch's); a loss's class weights have none either."""
    nxt, ins = node.next, node.inputs
    keep = _INDEXED.get(getattr(node.op, "name", None), False)
    if keep is False and type(node).__name__ in _SCALAR_NODES:
        keep = "scalar"
    if keep is False or len(ins) != len(nxt):
        return None
    if keep == "scalar":        # torch's Scalar overloads: no edge for a Python number
        return [i for i, (n, a) in enumerate(zip(nxt, ins)) if n is not None or hasattr(a, "arr")]
    return [i for i, (n, a) in enumerate(zip(nxt, ins))
            if (keep is None or i in keep) and (n is not None or not _no_edge(a))]


def short_name(name):
    """A node's class name: its name() without torch's C++ namespace (torch::autograd::)."""
    return name.rpartition("::")[2]


def node_class(name):
    """The Node subclass called `name` (one per torch node name, made once)."""
    cls = _CLASSES.get(name)
    if cls is None:
        # the class knows its name: an op whose node torch names by case (linear) retypes its
        # node to another of these classes (see ops.linalg.linear)
        cls = _CLASSES[name] = type(short_name(name), (Node,), {
            "__slots__": (), "__module__": "torch", "name": lambda self: name,
            "frees": _frees(short_name(name))})
    return cls


def retype(t, name):
    """t with its node of torch's class `name` (an overload torch records under another node
    class with the same backward: MulBackward1 for mul.Scalar); t as it is without a node."""
    if t.grad_fn is not None:
        t.grad_fn.__class__ = node_class(name)
    return t


def _frees(name):
    """Whether torch's node class `name` holds saved tensors, which its backward frees (a
    second backward through it raises): True or False for torch's classes, None for a name
    torch lacks (the op's `saves` decides)."""
    from ._torch_saved import PLAIN, SAVES
    return True if name in SAVES else False if name in PLAIN else None


class Node:
    __slots__ = ("op", "bwd", "xp", "saved", "next", "inputs", "static", "epoch", "seq",
                 "out_vc", "hooks", "post", "outs", "meta", "__weakref__")
    op_node = True      # a built-in op's node (custom Function nodes keep their own state)
    frees = None        # see _frees

    __init__ = _init

    def name(self):
        return self.op.node_name

    def __repr__(self):
        return f"<{short_name(self.name())} object at {hex(id(self))}>"

    def __call__(self, *grads):
        """torch's Node.__call__: the node's backward on `grads` (one per output), recorded
        in grad mode; a Tensor for a node with one input, else a tuple (None for an input
        that takes no gradient)."""
        from .engine import FREED_MESSAGE, _FREED
        from .higher_order import differentiable_vjp
        n_out = 1 if self.outs is None else len(self.outs)
        if len(grads) != n_out:
            raise TypeError(f"expected {n_out} arguments, got {len(grads)} instead")
        if self.saved is _FREED:
            raise RuntimeError(FREED_MESSAGE)
        gins = differentiable_vjp(self, grads[0] if self.outs is None else grads)
        gins = tuple(None if n is None else g for n, g in zip(self.next, gins))
        return gins[0] if len(gins) == 1 else gins

    def __getattr__(self, name):
        # only reached for names the node lacks: torch's _saved_<x> / _raw_saved_<x> fields,
        # read on demand (see saved.py)
        if name.startswith(("_saved_", "_raw_saved_")):
            from .saved import saved_attr
            return saved_attr(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):
        from .saved import saved_names
        return sorted(set(object.__dir__(self)) | set(saved_names(self)))

    @property
    def next_functions(self):
        nxt, kept = self.next, torch_edges(self)
        if kept is not None:
            nxt = [nxt[i] for i in kept]
        return tuple((n.public(), output_nr(n)) if n is not None else (None, 0) for n in nxt)

    def public(self):
        return self

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after the node's backward (a returned tuple replaces
        grad_inputs, the gradients for its inputs)."""
        self.post = (self.post or []) + [fn]
        return _HookHandle(self, fn, "post")

    def register_prehook(self, fn):
        """torch's Node.register_prehook: fn(grad_outputs) before the node runs; a returned
        tuple replaces grad_outputs."""
        return self.add_tensor_hook(_NodePreHook(fn))

    def add_tensor_hook(self, fn):
        """A hook on the gradient of the tensor this node produced (Tensor.register_hook)."""
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
    __slots__ = ("ref", "hooks", "post", "meta", "__weakref__")
    next = ()
    seq = (1 << 64) - 1     # torch's UINT64_MAX: the engine runs a ready one before any other

    def __init__(self, t):
        self.ref, self.hooks, self.post, self.meta = weakref.ref(t), None, None, None

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after the gradient was accumulated into .grad (an
        AccumulateGrad has no grad_inputs: fn gets () and must return None or ())."""
        self.post = (self.post or []) + [fn]
        return _HookHandle(self, fn, "post")

    def register_prehook(self, fn):
        """torch's Node.register_prehook: fn(grad_outputs) before the gradient is accumulated;
        a returned tuple replaces it."""
        h = _NodePreHook(fn)
        self.hooks = (self.hooks or []) + [h]
        return _HookHandle(self, h)

    @property
    def metadata(self):
        if self.meta is None:
            self.meta = {}
        return self.meta

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
        return repr(self.parent)

    @property
    def next_functions(self):
        return self.parent.next_functions

    def public(self):
        return self.parent

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(dir(self.parent)))

    def __call__(self, *grads):
        return self.parent(*grads)

    def __getattr__(self, name):
        # ctx attributes of an autograd.Function (saved_tensors, needs_input_grad, ...) and
        # the node API (metadata, register_hook) are the parent's
        return getattr(self.parent, name)

    def register_prehook(self, fn):
        """torch's Node.register_prehook, seeing this output's gradient as grad_outputs."""
        return self.add_tensor_hook(_NodePreHook(fn))

    def add_tensor_hook(self, fn):
        self.hooks = (self.hooks or []) + [fn]
        return _HookHandle(self, fn)


_SLOT_CLASSES = {}


def out_slot(parent, index):
    """The edge to output `index` of the multi-output node `parent`. Its class carries the
    parent's class name, so `type(t.grad_fn).__name__` reads as torch's (whose outputs of one
    op share the op's node)."""
    return slot_class(parent)(parent, index)


def slot_class(parent):
    """The class of out_slot's edges to the outputs of `parent` (called as cls(parent, index):
    one look-up for all of a node's outputs)."""
    cls = _SLOT_CLASSES.get(type(parent))
    if cls is None:
        cls = _SLOT_CLASSES[type(parent)] = type(type(parent).__name__, (OutSlot,),
                                                 {"__slots__": (), "__module__": "torch"})
    return cls


class _NodePreHook:
    """Adapts fn(grad_outputs) -> tuple | None to the engine's per-gradient tensor hooks."""
    __slots__ = ("fn", "__name__")

    def __init__(self, fn):
        self.fn, self.__name__ = fn, getattr(fn, "__name__", "<unknown>")

    def __call__(self, g):
        r = self.all((g,))
        return None if r is None else r[0]

    def all(self, grads):
        """fn on the gradients of all the node's outputs: None or a tuple of as many."""
        r = self.fn(grads)
        if r is None:
            return None
        if not isinstance(r, tuple):
            raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
        if len(r) != len(grads):
            raise RuntimeError(f"hook '{self.__name__}' has returned an incorrect number of "
                               f"values (got {len(r)}, but expected {len(grads)})")
        return r


class RetainGrad:
    """The hook behind Tensor.retain_grad: stores the gradient in .grad. The engine runs it
    after the tensor's other hooks, so .grad holds the gradient they produced (torch's order)."""
    __slots__ = ("ref",)

    def __init__(self, t):
        self.ref = weakref.ref(t)

    def __call__(self, g):
        t = self.ref()
        if t is None:
            return
        if t._grad is None:     # a dense gradient's first copy is contiguous, as torch's hook
            from .. import _layout, _memory_format
            t._grad = g.clone() if g.layout is not _layout.strided else \
                g.clone(memory_format=_memory_format.contiguous_format)
        else:
            t._grad = t._grad + g


def move_retain(t, old):
    """After an in-place change gave `t` a new grad_fn: its retain_grad hook leaves `old` for
    the new node (torch moves only that hook; t's other hooks stay with the old node)."""
    new = t.grad_fn
    if old is new or new is None:
        return
    if old is not None and old.hooks:
        old.hooks = [h for h in old.hooks if type(h) is not RetainGrad or h.ref() is not t] \
            or None
    new.add_tensor_hook(RetainGrad(t))


class _HookHandle(RemovableHandle):
    """The handle of a tensor or node hook (a torch.utils.hooks.RemovableHandle)."""

    def __init__(self, owner, fn, attr="hooks"):
        self.owner, self.fn, self.attr = owner, fn, attr

    def remove(self):
        hooks = getattr(self.owner, self.attr)
        if hooks and self.fn in hooks:
            hooks = [h for h in hooks if h is not self.fn]
            setattr(self.owner, self.attr, hooks or None)

