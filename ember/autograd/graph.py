"""torch.autograd.graph: the Node ABC, gradient edges, increment_version, saved tensors hooks
and multi-grad hooks.

saved_tensors_hooks(pack, unpack) / save_on_cpu / disable_saved_tensors_hooks: while hooks are
active, each new node packs the tensors its op declares it saves (ops/_registry.py `saves`):
inputs the backward reads, packed as the very input Tensors (mul packs only the operand the
other side's gradient needs), results as new Tensors over the result; autograd.Function packs
what it gave save_for_backward. The engine calls unpack each time a backward reads them. This
matches torch's saved set for the common ops (pow/sin/log save the input, exp/tanh/sigmoid/
relu/softmax the result, mul/div/matmul both operands, add/sum/views nothing). Differences from
torch: pack sees a new Tensor, not the output object itself, for saved results; max(dim),
sort and the like save indices that ember keeps unpacked; ember nodes still reference their
input Tensors (for shapes and version checks), so packing to disk does not free the inputs'
memory, only intermediates'.

register_multi_grad_hook(tensors, fn, mode="all"|"any") follows torch's implementation on top of
tensor hooks and the engine's record of the backward in progress (engine.current_task).
Node.register_prehook takes torch's fn(grad_outputs); Node.register_hook fn(grad_inputs,
grad_outputs).

allow_mutation_on_saved_tensors copies saved tensors when they are saved (torch: before their
first in-place change). GradientEdges work as outputs and inputs of autograd.grad / backward;
an edge used as an output needs its tensor's shape, known for leaves, multi-output nodes and
edges made by get_gradient_edge.

Not provided: Node._input_metadata / _sequence_nr."""
import abc
import contextlib
import functools
import weakref
from typing import NamedTuple

from .node import Leaf as _Leaf, Node as _Node, OutSlot as _OutSlot, output_nr as _output_nr

__all__ = ["Node", "GradientEdge", "get_gradient_edge", "increment_version",
           "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook", "allow_mutation_on_saved_tensors",
           "region_activation_memory_budget"]


class Node(abc.ABC):
    """isinstance(t.grad_fn, graph.Node) holds for every ember graph node."""

    @abc.abstractmethod
    def name(self):
        ...

    @property
    @abc.abstractmethod
    def next_functions(self):
        ...


for _cls in (_Node, _Leaf, _OutSlot):
    Node.register(_cls)

class GradientEdge(NamedTuple):
    """An edge of the graph: a node and the index of one of its outputs (torch's
    ownership_token keeps a C++ graph alive; ember's nodes hold their graph themselves)."""
    node: object
    output_nr: int
    ownership_token: object = None


# node -> {output_nr: (shape, dtype)} of the tensors get_gradient_edge was asked about, for
# edges used as outputs of autograd.grad / backward (torch's Node._input_metadata)
_EDGE_META = weakref.WeakKeyDictionary()


def get_gradient_edge(tensor):
    """The edge a gradient for `tensor` flows through (AccumulateGrad for a leaf)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    edge = tensor._edge()
    node, nr = edge.public(), _output_nr(edge)
    _EDGE_META.setdefault(node, {})[nr] = (tuple(tensor.shape), tensor.dtype)
    return GradientEdge(node, nr)


def _edge_meta(edge):
    """(shape, dtype) of the tensor whose gradient `edge` carries."""
    node, nr = edge.node, edge.output_nr
    if isinstance(node, _Leaf):
        t = node.variable
        return tuple(t.shape), t.dtype
    meta = _EDGE_META.get(node, {}).get(nr)
    if meta is None and isinstance(node, _Node) and node.outs is not None:
        from .._dtype import OF_NP
        shape, dt = node.outs[nr]
        meta = tuple(shape), OF_NP[dt.num]
    if meta is None:
        raise RuntimeError("ember knows the shape of a GradientEdge's tensor only for edges "
                           "from get_gradient_edge")
    return meta


def _engine_node(edge, root=False, roots=()):
    """The engine's node for a GradientEdge: for output k of a multi-output node, the OutSlot
    that routes it (a new one for a root; the graph's own, found from `roots`, for an input)."""
    node, nr = edge.node, edge.output_nr
    if not isinstance(node, _Node) or node.outs is None:
        return node
    if root:
        from .node import out_slot
        return out_slot(node, nr)
    from .engine import _reverse_topo
    for n in _reverse_topo(list(roots)):
        if isinstance(n, _OutSlot) and n.parent is node and n.index == nr:
            return n
    return node       # not reached from the outputs: no gradient (allow_unused decides)


def increment_version(tensor):
    """Bump the version counter of `tensor` (for writes ember cannot see)."""
    from .._tensor import bump_version
    for t in (tensor if isinstance(tensor, (list, tuple)) else (tensor,)):
        bump_version(t)


# ---- saved tensors hooks ---------------------------------------------------------------------
_DISABLED = [None]      # the error message while disable_saved_tensors_hooks is active


class saved_tensors_hooks:
    """pack_hook(tensor) -> anything when a node saves a tensor for backward, unpack_hook(that)
    -> Tensor each time backward reads it (see ember.autograd.node.pack_saved for which arrays
    of an ember node count as saved tensors)."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        from .node import SAVED_HOOKS, refresh_init
        if _DISABLED[0] is not None:
            raise RuntimeError(_DISABLED[0])
        SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        refresh_init()

    def __exit__(self, *args):
        from .node import SAVED_HOOKS, refresh_init
        SAVED_HOOKS.pop()
        refresh_init()


class save_on_cpu(saved_tensors_hooks):
    """Tensors saved for backward are kept on the CPU and moved back to their device when
    backward uses them (no copy for CPU tensors). `pin_memory` is accepted; ember's host copies
    are plain NumPy arrays."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(tensor):
            return (tensor.device, tensor.cpu())

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)
        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    """Entering saved_tensors_hooks (or save_on_cpu) inside raises RuntimeError(error_message);
    so does entering this while such hooks are active."""
    from .node import SAVED_HOOKS
    if SAVED_HOOKS:
        raise RuntimeError(error_message)
    prev = _DISABLED[0]
    try:
        _DISABLED[0] = error_message
        yield
    finally:
        _DISABLED[0] = prev


class _AllowMutationOnSavedContext:
    """What allow_mutation_on_saved_tensors yields (torch's keeps its clones here; ember's
    saved copies live in the graph's nodes)."""

    def clear(self):
        pass


_MUTATION_ALLOWED = [False]


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Tensors saved for backward inside may be changed in place: backward reads the values
    they had when saved, and must run inside the same context. Where torch copies a saved
    tensor just before its first in-place change, ember copies every saved tensor when it is
    saved (same gradients, more memory)."""
    if _MUTATION_ALLOWED[0]:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    from .grad_mode import no_grad

    def pack(tensor):
        with no_grad():
            return tensor.detach().clone()

    def unpack(copy):
        if not _MUTATION_ALLOWED[0]:
            raise AssertionError("Trying to backward outside of the "
                                 "'allow_mutation_on_saved_tensors' contextin which the graph "
                                 "was originally recorded.")
        return copy
    ctx = _AllowMutationOnSavedContext()
    with saved_tensors_hooks(pack, unpack):
        _MUTATION_ALLOWED[0] = True
        try:
            yield ctx
        finally:
            _MUTATION_ALLOWED[0] = False
            ctx.clear()


# ---- multi-grad hooks ------------------------------------------------------------------------
class _MultiHandle:
    __slots__ = ("handles",)

    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """mode "all": fn(grads) once per backward after the gradients of every tensor of `tensors`
    that this backward computes have arrived (None for the others); mode "any": fn(grad) with
    the first gradient to arrive. Returns a handle whose remove() removes the hook."""
    from .engine import current_task, will_execute
    supported_modes = ("all", "any")
    if mode not in supported_modes:
        raise ValueError(f"Expects mode to be one of {supported_modes} but got {mode}")
    tensors = tuple(tensors)
    if mode == "all":
        count, buffer, nb_calls = {}, {}, {}
        grad_fns = [t._edge() if t.requires_grad else None for t in tensors]

        def get_inner_hook(idx):
            def inner_hook(grad):
                task = current_task()
                if task is None:
                    raise AssertionError("expected this hook to be called inside a backward "
                                         "call")
                tid = id(task)
                c = count.get(tid, 0)
                count[tid] = c + 1
                buf = buffer.setdefault(tid, [None] * len(tensors))
                if c == 0:
                    nb_calls[tid] = sum(1 for n in grad_fns
                                        if n is not None and will_execute(task, n))
                buf[idx] = grad
                if c == nb_calls[tid] - 1:
                    del count[tid], buffer[tid], nb_calls[tid]
                    fn(buf)
            return inner_hook
        handles = tuple(t.register_hook(get_inner_hook(i)) for i, t in enumerate(tensors))
    else:
        ran = {}

        @functools.wraps(fn)
        def wrapped_fn(grad):
            task = current_task()
            if task is None:
                raise AssertionError("expected this hook to be called inside a backward call")
            if ran.get(id(task)) is task:
                return
            ran.clear()
            ran[id(task)] = task
            fn(grad)
        handles = tuple(t.register_hook(wrapped_fn) for t in tensors if t.requires_grad)
    return _MultiHandle(handles)


def region_activation_memory_budget(budget):
    """torch's activation memory budget for a compiled region's partitioner: ember compiles
    nothing (torch.compile runs the function as it is), so inside a compiled region it is a
    context manager that does nothing; outside one torch refuses it, and so does ember."""
    from ..compiler import is_compiling
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError(f"torch.autograd.graph.region_activation_memory_budget: expects a "
                        f"float, got {type(budget).__name__}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"torch.autograd.graph.region_activation_memory_budget: must be in "
                         f"[0, 1], got {budget}")
    if not is_compiling():
        raise RuntimeError("torch.autograd.graph.region_activation_memory_budget can only be "
                           "used inside a torch.compile region; it has no effect in eager mode.")
    return contextlib.nullcontext()
