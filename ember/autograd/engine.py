"""The backward engine: iterative reverse-topological walk, gradients freed as consumed."""
import math
import re
import weakref
from sys import getrefcount

import numpy as np

from .. import _tensor as _T     # (partly imported here: its names are read at call time)
from .._dtype import OF_NP
from .._torch_function import DISPATCH as _DISPATCH
from .._nested_array import NestedArray, NestedShape
from .._sparse_coo import SparseCOO
from .._sparse_csr import CompressedArray
from ..backends.cuda_blas import gemv_sums, host_sum, sum_rows
from .grad_mode import STATE, is_grad_layout_enforced as _is_grad_layout_enforced
from .node import CLOCK as _clock, STUB, Leaf, OutSlot, PackedSaved, RetainGrad, \
    _NodePreHook, out_slot, output_nr, torch_edges

_FREED = ("freed",)   # marks a node whose saved values were released by an earlier backward


def sum_to(xp, g, shape):
    """Reduce a broadcast gradient back to `shape` (the only place broadcasting is undone)."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and g.shape[i + lead] != 1)
    k = len(axes)
    if axes and gemv_sums(xp) and axes == tuple(range(k)) and g.flags.c_contiguous:
        rest = g.shape[k:]                                  # leading dims on a GPU: a GEMV
        g = sum_rows(xp, g.reshape(math.prod(g.shape[:k]), math.prod(rest))).reshape(
            (1,) * k + rest)
    elif axes:
        g = host_sum(g, axes, True)
    if lead or g.shape != tuple(shape):
        g = g.reshape(shape)
    return g


def sum_to_size(t, size):
    """Tensor.sum_to_size: sum a Tensor down to `size` with recorded (differentiable) ops."""
    shape = tuple(t.shape)
    size = tuple(size)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    if not size:        # torch's sum_to: a plain sum, even of a 0-d one (bool sums to long)
        return t.sum()
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(size)
                                      if s == 1 and shape[i + lead] != 1)
    if axes:
        t = t.sum(axes, keepdim=True)
    if lead:
        t = t.reshape(size)
    return t


def _reverse_topo(roots, needed=None):
    """The nodes reachable from roots in the order torch's engine runs them (every consumer
    before its producers): a node is ready once every edge into it has delivered, and the
    ready node made last (the highest sequence number) runs first, an AccumulateGrad (Leaf)
    before any other. The ready queue is torch's binary heap (std::priority_queue: equal
    priorities, the ready leaves, leave it in its order, not in edge order). The outputs of a
    multi-output node (OutSlot edges) run right before their node, as torch runs their tensor
    hooks. With `needed` (a set), only those nodes are queued (torch's exec_info)."""
    deps = {}
    stack = []
    for root in roots:
        if root in deps:                # a root reachable from another root waits for it
            deps[root] += 1
        else:
            deps[root] = 1
            stack.append(root)
    while stack:
        for c in stack.pop().next:
            if c is not None:
                if c in deps:
                    deps[c] += 1
                else:
                    deps[c] = 1
                    stack.append(c)
    order, keys, heap, slots = [], [], [], {}
    ready = list(roots)         # torch's GraphRoot (a single root runs at once: the same)
    while True:
        # the one node made ready while the heap is empty is not pushed until a second one
        # comes: alone, it is the next to run (the heap's pushes and pops are otherwise
        # torch's, in its order)
        lone = None
        for c in ready:
            if c is None:
                continue
            d = deps[c] - 1
            deps[c] = d
            if d or needed is not None and c not in needed:
                continue
            if isinstance(c, OutSlot):          # (it delivers to its node at once)
                parent = c.parent
                if needed is not None and parent not in needed:
                    order.append(c)             # (a captured output of a node not run)
                    continue
                s = slots.get(parent)
                if s is None:
                    slots[parent] = [c]
                else:
                    s.append(c)
                d = deps[parent] - 1
                deps[parent] = d
                if d:
                    continue
                c = parent
            if lone is None and not heap:
                lone = c
                continue
            if lone is not None:
                _push(keys, heap, lone.seq, lone)
                lone = None
            _push(keys, heap, c.seq, c)
        if lone is not None:
            node = lone
        elif heap:
            node = _pop(keys, heap)
        else:
            break
        if slots and node in slots:
            order.extend(sorted(slots.pop(node), key=_slot_index))
        order.append(node)
        ready = node.next
    return order


def _slot_index(slot):
    return slot.index


def _push(keys, heap, key, node):
    """std::push_heap of (key, node) onto the max-heap `keys`/`heap` (libstdc++'s sift-up)."""
    keys.append(key)
    heap.append(node)
    _sift_up(keys, heap, len(keys) - 1, key, node)


def _pop(keys, heap):
    """std::pop_heap then pop_back: the top node (libstdc++'s __adjust_heap: the hole moves
    to a leaf along the larger children, the last element is then sifted up from there)."""
    top = heap[0]
    key, node = keys.pop(), heap.pop()
    n = len(keys)
    if not n:
        return top
    hole = child = 0
    while child < (n - 1) >> 1:
        child = 2 * (child + 1)
        if keys[child] < keys[child - 1]:
            child -= 1
        keys[hole], heap[hole] = keys[child], heap[child]
        hole = child
    if not n & 1 and child == (n - 2) >> 1:
        child = 2 * (child + 1)
        keys[hole], heap[hole] = keys[child - 1], heap[child - 1]
        hole = child - 1
    _sift_up(keys, heap, hole, key, node)
    return top


def _sift_up(keys, heap, hole, key, node):
    """libstdc++'s __push_heap: (key, node) moves up from `hole` past smaller parents."""
    while hole:
        parent = (hole - 1) >> 1
        if keys[parent] >= key:
            break
        keys[hole], heap[hole] = keys[parent], heap[parent]
        hole = parent
    keys[hole], heap[hole] = key, node


def _prune(order, capture):
    """Only nodes on a path to a captured node run (torch's exec_info). Returns that order and
    the set of nodes whose backward must run (a captured node with nothing needed below it
    only records its gradient)."""
    needed, below = set(), set()
    for node in reversed(order):          # producers first
        if any(c in needed for c in node.next if c is not None):
            below.add(node)
            needed.add(node)
        elif node in capture:
            needed.add(node)
    return [n for n in order if n in needed], below


# ---- version counters ------------------------------------------------------------------------
def _cross(node):
    """mul/matmul save input i only for the gradient of the other input (derivatives.yaml)."""
    return tuple(i for i in (0, 1) if node.next[1 - i] is not None)


# op name -> indices of the inputs its backward actually reads (default: every input)
_SAVED_INPUTS = {
    "mul": _cross,
    "matmul": _cross,
    "mm": _cross,
    "bmm": _cross,
    "div": lambda node: (0, 1) if node.next[1] is not None else (1,),
    "linear_mm": _cross,                        # linear's mm(input, weight.t())
    "linear_addmm": lambda node: tuple(i for i, other in ((1, 2), (2, 1))    # (its addmm)
                                       if node.next[other] is not None),
    "where": lambda node: (0,),
    "linalg_solve_ex": lambda node: (0,),      # A (and the result), not B
    "linalg_solve_triangular": lambda node: (0,),
    "linalg_lu_solve": lambda node: (0, 1),     # LU and pivots (and the result), not B
    "put": lambda node: (1, 2),                 # index and source, not input
    "ldexp": lambda node: (1,) if node.next[0] is not None else (),    # other (and result)
    "addr": lambda node: tuple(i for i, other in ((1, 2), (2, 1)) if node.next[other] is not None),
}


# ops whose backward reads their index / mask tensors (torch saves those whatever the op saves
# otherwise): an integer or bool input changed in place since then raises torch's error
_SAVES_INDEX = frozenset((
    "index", "index_put", "index_select", "index_add", "index_copy", "index_fill", "gather",
    "scatter", "scatter_add", "scatter_reduce", "masked_fill", "masked_select", "masked_scatter",
    "take", "put", "index_reduce", "linalg_lu_solve"))


# torch's nodes that save inputs ember's backward does not read, by class name: (input, when)
# pairs, input i checked when input `when` takes a gradient (None: always), as torch saves
# what the formulas of the gradients it computes read (derivatives.yaml)
_TORCH_SAVES = {
    "DivBackward2": ((1, 0), (0, 1), (1, 1)),
    "ComplexBackward0": ((0, None), (1, None)),
    "FftR2CBackward0": ((0, None),),
    "GatherBackward0": ((0, None),),
    "TakeBackward0": ((0, None),),
    "MaskedSelectBackward0": ((0, None),),
    "IndexAddBackward0": ((2, 2),),
    "IndexCopyBackward0": ((2, 2),),
    **{f"{kind}Pad{n}DBackward0": ((0, None),) for kind in ("Reflection", "Replication")
       for n in (1, 2, 3)},
}


# node -> the index tensors an indexing op took as arrays (x[i], y[m] = v): torch saves them
_WATCHED = weakref.WeakKeyDictionary()


def watch_indices(node, tensors):
    """Remember the Tensors of an index expression for node's version check."""
    _WATCHED[node] = tensors


_SAVED_OUTS = weakref.WeakKeyDictionary()      # node -> ((i, version of output i), ...)


def watch_outputs(node, outs, arrays, saved):
    """A multi-output node that saves outputs after its first (aminmax's max, lu's L and U):
    their versions, checked as the first output's is (node.out_vc)."""
    watched = []
    for i in range(1, len(outs)):
        a = arrays[i]
        for v in saved:
            if v is a:
                o = outs[i]
                if o._vc is None:
                    o._vc = [0, 0]
                watched.append((i, o._vc))
                break
    if watched:
        _SAVED_OUTS[node] = tuple(watched)


def _check_versions(node):
    op, epoch = node.op, node.epoch
    if op.name in _SAVES_INDEX:
        for t in (*node.inputs, *_WATCHED.get(node, ())):
            vc = getattr(t, "_vc", None)
            if vc is not None and vc[1] > epoch and t.arr.dtype.kind in "biu":
                raise modified_error(t, vc[0], vc[0] - 1)
    for i, when in _TORCH_SAVES.get(type(node).__name__, ()):
        vc = getattr(node.inputs[i], "_vc", None)
        if vc is not None and vc[1] > epoch and (when is None or node.next[when] is not None):
            raise modified_error(node.inputs[i], vc[0], vc[0] - 1)
    if op.saves_in and _holds_saved(node, op):
        which = _SAVED_INPUTS.get(op.name)
        inputs = node.inputs
        for i in (range(len(inputs)) if which is None else which(node)):
            vc = getattr(inputs[i], "_vc", None)
            if vc is not None and vc[1] > epoch:
                t = inputs[i]
                if i == 1 and op.name == "prelu" and t._base is not None:
                    t = t._base         # (F.prelu reshaped the weight torch saves as it is)
                else:
                    shape = _folded_shape(op.name, i, inputs)
                    if shape is not None:       # torch folds the input into a view it saves
                        raise modified_error(None, vc[0], vc[0] - 1, shape=shape,
                                             dtype=t.arr.dtype,
                                             creator="AsStrided" if t._rg else None)
                raise modified_error(t, vc[0], vc[0] - 1)
    for i, vc in _SAVED_OUTS.get(node, ()):
        if vc[1] > epoch:
            shape, dtype = node.outs[i]
            raise modified_error(None, vc[0], vc[0] - 1, shape=shape, dtype=dtype,
                                 creator=out_slot(node, i))
    if op.refresh is not None and node.out_vc is not None and node.out_vc[1] > epoch:
        node.saved = op.refresh(node.xp, node.saved, node.static)
    elif node.out_vc is not None and node.out_vc[1] > epoch:     # (a saved result)
        shape, dtype = _output_meta(node)
        v = node.out_vc[0]
        raise modified_error(None, v, v - 1, shape=shape, dtype=dtype, creator=node)


def _folded_shape(name, i, inputs):
    """The shape of the view torch's matmul saves of input i when it folds batch
    dimensions (N-d @ 2-d: into rows; batched @ batched of one batch shape: into one batch
    dimension), else None."""
    t = inputs[i]
    if i == 0 and t.ndim > 2 and name == "matmul" and inputs[1].ndim <= 2:
        return t.numel() // t.shape[-1], t.shape[-1]
    if name == "matmul" and inputs[0].ndim > 2 and inputs[1].ndim > 2 and \
            inputs[0].shape[:-2] == inputs[1].shape[:-2]:
        return math.prod(t.shape[:-2]), *t.shape[-2:]
    return None


def _holds_saved(node, op):
    """Whether the node holds saved values as torch's node does: torch's class of that name
    (node.frees), else the op's word (Op.frees), else what the op declared it saves."""
    frees = node.frees if op.frees is None else op.frees
    return op.saves_in or op.saves_out if frees is None else frees


def _output_meta(node):
    """Shape and dtype of the saved output: a multi-output node's first output, a single-output
    node's result (the saved array that is no input)."""
    if node.outs is not None:
        return node.outs[0]
    ins = [getattr(a, "arr", None) for a in node.inputs]
    saved = node.saved if type(node.saved) is tuple else ()
    for s in saved:
        if hasattr(s, "shape") and hasattr(s, "dtype") and all(s is not a for a in ins):
            return s.shape, s.dtype
    a = next(a for a in ins if a is not None)
    return a.shape, a.dtype


def strip_backward(name):
    """The creator's name in torch's version-counter message (its forward_op_name): "Exp" for
    ExpBackward0, "Elu1" for EluBackward1."""
    if name.startswith("torch::"):
        return name
    return re.sub(r"Backward(\d*)$", lambda m: "" if m[1] == "0" else m[1], name)


def modified_error(t, version, expected, shape=None, dtype=None, creator=None):
    """torch's error for a saved tensor changed in place after it was saved; `creator`: the
    node whose output it is, or the name of torch's forward op."""
    _TYPE_NAMES = _T._TYPE_NAMES
    if t is not None:
        shape, dtype, creator = t.shape, t.arr.dtype, t.grad_fn
        if creator is not None and t._base is not None:
            creator = "AsStrided"   # torch regenerates the grad_fn of a view whose base changed
    name = OF_NP[dtype.num].name
    if name in ("bool", "bfloat16", "complex64", "complex128"):
        from ..ops._apply import _tname      # no legacy tensor type: torch names the backend's
        kind = f"CPU{_tname(dtype)}Type"
    else:
        kind = _TYPE_NAMES.get(name, "torch.Tensor")
    what = f"[{kind} {list(shape)}]"
    if type(creator) is str:
        what += f", which is output 0 of {creator},"
    elif creator is not None:
        what += (f", which is output {output_nr(creator)} of "
                 f"{strip_backward(creator.name())},")
    hint = ("Hint: the backtrace further above shows the operation that failed to compute its "
            "gradient. The variable in question was changed in there or anywhere later. Good "
            "luck!" if STATE.anomaly else
            "Hint: enable anomaly detection to find the operation that failed to compute its "
            "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what} is at version {version}; expected version {expected} instead. "
        + hint)


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


# ---- the walk --------------------------------------------------------------------------------
class _Task:
    """The backward call in progress (torch's graph task), for register_multi_grad_hook and
    the reentrant checkpoint."""
    __slots__ = ("order", "nodes", "is_grad", "checkpoint_valid", "handed", "callbacks", "id")

    def __init__(self, order, is_grad, checkpoint_valid):
        self.order, self.nodes, self.is_grad = order, None, is_grad
        self.checkpoint_valid = checkpoint_valid
        self.handed = None      # ids of the arrays that the caller or a hook may hold
        self.callbacks = []     # queue_callback's, run when the walk is done
        _TASK_IDS[0] += 1
        self.id = _TASK_IDS[0]


_CURRENT = [None]
_TASK_IDS = [-1]


def queue_callback(callback):
    """torch's Variable._execution_engine.queue_callback: `callback()` runs once the backward
    in progress has finished (in the order queued; callbacks may queue more)."""
    task = _CURRENT[0]
    if task is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    task.callbacks.append(callback)


def current_task_id():
    """torch._C._current_graph_task_id: -1 outside a backward."""
    task = _CURRENT[0]
    return -1 if task is None else task.id


def current_task():
    return _CURRENT[0]


def checkpoint_valid():
    """torch.autograd._is_checkpoint_valid: False inside a backward that captures gradients
    for given inputs (autograd.grad, backward(inputs=...)), where a reentrant checkpoint's
    inner backward could not deliver them."""
    task = _CURRENT[0]
    return task is None or task.checkpoint_valid


def will_execute(task, node):
    """Whether this backward runs `node` (torch's _will_engine_execute_node)."""
    if task.is_grad and type(node) is Leaf:
        raise RuntimeError("A leaf node was passed to _will_engine_execute_node but we are "
                           "currently running autograd.grad(). This is currently not supported.")
    if task.nodes is None:
        task.nodes = set(task.order)
    return node in task.nodes


def run(roots, root_grads, retain_graph, create_graph, capture=None, accumulate=True,
        grad_call=None):
    """Backpropagate `root_grads` (raw arrays, or Tensors when create_graph) from root nodes.

    With `capture` (a dict node -> None) the gradients arriving at those nodes are returned
    instead of being accumulated into leaves (autograd.grad); only nodes on a path to a
    captured node run. `grad_call`: whether this is autograd.grad (default: not accumulate)."""
    grads = {}
    for node, g in zip(roots, root_grads):
        prev = grads.get(node)
        grads[node] = g if prev is None else prev + g
    order = _reverse_topo(list(grads))
    if capture is not None:
        order, below = _prune(order, capture)
    task = _Task(order, not accumulate if grad_call is None else grad_call, capture is None)
    prev_task, _CURRENT[0] = _CURRENT[0], task
    try:
        out = _walk(order, grads, root_grads, retain_graph, create_graph, capture, accumulate,
                    below if capture is not None else None)
        callbacks = task.callbacks
        i = 0
        while i < len(callbacks):       # (a callback may queue another)
            callbacks[i]()
            i += 1
        return out
    finally:
        _CURRENT[0] = prev_task


def _walk(order, grads, root_grads, retain_graph, create_graph, capture, accumulate, below):
    run_node = _run_node_anomaly if STATE.anomaly else _run_node
    into_leaf = _accumulate
    if _DISPATCH.stack and not create_graph and not STATE.anomaly:
        # a TorchDispatchMode is handed torch's backward calls
        from ..utils._dispatch_backward import accumulate as into_leaf, run_node
    # arrays the caller or a user hook may hold: copied before a leaf keeps one as its .grad
    handed = _CURRENT[0].handed = {id(g) for g in root_grads}
    is_grad = capture is not None and _CURRENT[0].is_grad
    needed = None if capture is None else set(order)    # (gradients for other inputs: skipped)
    for node in order:
        g = grads.pop(node, None)
        if g is None:
            continue
        if node.hooks:
            # autograd.grad runs no captured node that has nothing to do below: nor its
            # Node.register_prehook hooks (tensor hooks do run)
            skip = is_grad and node in capture and node not in below
            g = _run_prehooks(node, g, create_graph, handed, skip)
        if capture is not None and node in capture:
            capture[node] = g if capture[node] is None else capture[node] + g
            if node not in below:
                continue
        tn = type(node)
        if tn is Leaf:
            if accumulate:
                into_leaf(node, g, handed, create_graph)
            continue
        if isinstance(node, OutSlot):
            parent = node.parent
            slots = grads.get(parent)
            if slots is None:
                slots = grads[parent] = [None] * len(parent.outs)
            prev = slots[node.index]
            slots[node.index] = g if prev is None else prev + g
            continue
        run_node(node, g, grads, retain_graph, create_graph, needed)


def _run_node(node, g, grads, retain_graph, create_graph, needed=None):
    saved = node.saved
    if saved is _FREED and not getattr(node, "custom_function", False):
        raise RuntimeError(FREED_MESSAGE)   # (a Function's backward runs: ctx.saved_tensors
    op = node.op                            # raises when it reads them, as torch's)
    if type(saved) is PackedSaved:          # saved_tensors_hooks: unpack on use (torch checks
        saved = saved.unpack()              # no version of what the hooks packed)
    elif node.epoch < _clock[0]:
        _check_versions(node)
        saved = node.saved
    slots = g
    if node.outs is not None:
        g = _fill_outputs(node, g, create_graph)
    elif isinstance(g, np.generic):     # 0-d arithmetic gives NumPy scalars: rules write into g
        g = np.asarray(g)
    if create_graph:
        from .higher_order import differentiable_vjp
        gins = differentiable_vjp(node, g)
    else:
        if op.needs_mask:
            mask = tuple(n is not None for n in node.next) if needed is None else \
                tuple(n is not None and n in needed for n in node.next)
            args = (node.xp, g, *saved, mask)
        else:
            args = (node.xp, g, *saved)
        try:
            gins = node.bwd(*args)
        except RuntimeWarning:          # a user's "error" filter on NumPy's warnings
            from ..ops._apply import quiet
            gins = quiet(node.bwd, *args)
    if node.post is not None:
        # (an op's node with several outputs: None for an output without a gradient, as torch)
        gins = _run_posthooks(node, gins, slots if node.outs is not None and node.op_node
                              else g, create_graph)
    if STATE.anomaly and STATE.anomaly_nan:
        from .anomaly_mode import check_grads
        check_grads(node, gins, needed)
    if not retain_graph and saved:
        frees = node.frees if op.frees is None else op.frees    # (_holds_saved, inlined)
        if frees or frees is None and (op.saves_in or op.saves_out):
            node.saved = _FREED
    xp = node.xp
    big = False
    for nxt, gi, inp in zip(node.next, gins, node.inputs):
        if nxt is None or gi is None or needed is not None and nxt not in needed:
            continue
        a = inp.arr
        big = big or a.nbytes >= _KEEP_BYTES
        if create_graph:
            if tuple(gi.shape) != a.shape:
                gi = gi.sum_to_size(a.shape)
            if gi.arr.dtype != a.dtype:
                gi = _cast_grad_tensor(gi, inp.dtype)
        else:
            if gi.shape != a.shape:
                gi = sum_to(xp, gi, a.shape)
            if gi.dtype != a.dtype:
                gi = _cast_grad(gi, a.dtype)
        prev = grads.get(nxt)
        if prev is None:
            grads[nxt] = gi
        elif type(prev) is np.ndarray and getrefcount(prev) == 3 and _stealable(prev, gi):
            np.add(prev, gi, out=prev)
        else:
            grads[nxt] = prev + gi
    if big and not retain_graph and getattr(node, "op_node", False) and \
            (node.saved is _FREED or not (op.saves_in or op.saves_out)):
        _release_inputs(node)       # (inputs that a kept `saved` reads stay)


_KEEP_BYTES = 1 << 16


def _stealable(prev, gi):
    """Whether the gradient `prev` gathered so far, which nothing but the engine holds (its
    reference count), may take `gi` in place, as torch's InputBuffer accumulates into a buffer
    it alone holds: an array of its own memory, C-contiguous as gi is (prev + gi would be laid
    out so: the same values in the same layout, without a new array)."""
    f = prev.flags
    return f.owndata and f.writeable and f.c_contiguous and type(gi) is np.ndarray and \
        gi.strides == prev.strides and gi.shape == prev.shape and gi.dtype == prev.dtype


def _release_inputs(node):
    """After a backward that does not retain the graph, a node needs of its big differentiable
    inputs only their shape and dtype (a second backward through it reads no values: an op
    that reads them declared it saves them, and those are freed). Drop those arrays, from the
    inputs and from what the node saved for their shapes, as torch frees what it saved: a
    graph still referenced (a `loss` kept until the next step) then holds no activations.
    Inputs off the gradient path (indices, masks) stay while backward may read them (a node
    whose saved values were freed can run no backward: its floating inputs go too)."""
    Tensor = _T.Tensor
    freed = node.saved is _FREED            # no backward can read any input again
    stubs = {}
    for a, nxt in zip(node.inputs, node.next):
        if type(a) is Tensor and (nxt is not None or freed and a.arr.dtype.kind in "fcV") and \
                a._leaf is not STUB and a.arr.nbytes >= _KEEP_BYTES and \
                type(a.arr) is not NestedArray:      # (whose components the node holds)
            from ._thin import stub
            stubs[id(a.arr)] = (a.arr, stub(a.arr, a.be))
    if not stubs:
        return
    node.inputs = tuple(stubs[id(a.arr)][1] if type(a) is Tensor and id(a.arr) in stubs
                        else a for a in node.inputs)
    if type(node.saved) is tuple and node.saved is not _FREED:
        node.saved = tuple(stubs[id(v)][1].arr if id(v) in stubs and stubs[id(v)][0] is v
                           else v for v in node.saved)


def _cast_grad(g, dtype):
    """A gradient to its input's dtype: a real input of a complex computation gets the real
    part (torch's handle_r_to_c), without NumPy's ComplexWarning."""
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    return g.astype(dtype)


def _cast_grad_tensor(g, dtype):
    if g.is_complex() and not dtype.is_complex:
        from ..ops.shape import real
        g = real(g)
    return g.to(dtype)


def _run_node_anomaly(node, g, grads, retain_graph, create_graph, needed=None):
    """Under detect_anomaly: any error in a node's backward first shows its forward trace."""
    try:
        _run_node(node, g, grads, retain_graph, create_graph, needed)
    except Exception:
        from .anomaly_mode import warn_forward_trace
        warn_forward_trace(node)
        raise


def _fill_outputs(node, slots, create_graph):
    """Outputs that received no gradient contribute zeros (torch materialises them), unless
    an autograd.Function turned that off with ctx.set_materialize_grads(False)."""
    materialize = getattr(node, "materialize_grads", True)
    out = []
    for g, (shape, dt) in zip(slots, node.outs):
        if g is None and materialize:
            g = shape.zeros(dt) if type(shape) is NestedShape else node.xp.zeros(shape, dt)
            if create_graph:
                _new = _T._new
                g = _new(g, _backend_of(node))
        out.append(g)
    return tuple(out)


def _run_prehooks(node, g, create_graph, handed, skip_node_hooks):
    """Tensor hooks in registration order (a returned Tensor replaces the gradient), then
    retain_grad's, then nothing else: post-accumulate hooks run in _accumulate. The arrays a
    user hook saw go into `handed` (it may keep them: no leaf may then own one as its .grad)."""
    _new, _PostAcc = _T._new, _T._PostAcc
    hooks = [h for h in node.hooks if type(h) is not _PostAcc and type(h) is not RetainGrad
             and not (skip_node_hooks and type(h) is _NodePreHook)]
    retain = [h for h in node.hooks if type(h) is RetainGrad]
    be = None if create_graph else _backend_of(node)
    for h in hooks:
        if type(g) is list:     # a multi-output node's (Node.register_prehook's hooks only)
            g = _multi_prehook(h, g, be, create_graph, handed)
            continue
        handed.add(id(g))
        r = h(g if create_graph else _new(g, be))
        if r is not None:
            g = _hook_result(h, r, g, be, create_graph)
            handed.add(id(g))
    for h in retain:
        h(g if create_graph else _new(g, be))
    return g


def _multi_prehook(h, g, be, create_graph, handed):
    """Node.register_prehook's fn(grad_outputs) on a multi-output node: one gradient per output
    (None for one without); a returned tuple replaces them."""
    handed.update(id(a) for a in g if a is not None)
    r = h.all(tuple(a if a is None or create_graph else _T._new(a, be) for a in g))
    if r is None:
        return g
    g = [a if a is None or create_graph else a.arr for a in r]
    handed.update(id(a) for a in g if a is not None)
    return g


def _hook_result(h, r, g, be, create_graph):
    """The gradient a tensor hook returned, checked as torch does: a Tensor of the same type
    (dtype and device type) and size."""
    Tensor = _T.Tensor
    if type(g) is list or type(g) is tuple:     # a multi-output node's own prehooks
        return r
    if not isinstance(r, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    if create_graph:
        be, g = g.be, g.arr
    ra = r.arr
    if ra.dtype != g.dtype or r.be.name != be.name:
        from .._kernel_dtypes import type_string
        raise RuntimeError(f"hook '{_hook_name(h)}' has changed the type of value (was "
                           f"{type_string(g.dtype, be.name)} got "
                           f"{type_string(ra.dtype, r.be.name)})")
    if ra.shape != g.shape:
        raise RuntimeError(f"hook '{_hook_name(h)}' has changed the size of value")
    return r if create_graph else ra


def _hook_name(h):
    return getattr(h, "__name__", "<unknown>")


def _run_posthooks(node, gins, g, create_graph):
    """Node.register_hook's hooks: fn(grad_inputs, grad_outputs), a returned tuple replacing
    grad_inputs (torch checks its length). The hooks see each gradient summed to its input's
    shape and cast to its dtype (torch's validate_outputs runs before them)."""
    Tensor, _new = _T.Tensor, _T._new
    be = None if create_graph else _backend_of(node)
    gins = tuple(a if a is None or nxt is None else _fit(node.xp, a, inp, create_graph)
                 for a, nxt, inp in zip(gins, node.next, node.inputs))

    def wrap(a):
        return a if a is None or create_graph else _new(a, be)
    outs = tuple(g) if node.outs is not None else (g,)
    grad_outputs = tuple(wrap(a) for a in outs)
    grad_inputs = tuple(None if nxt is None else wrap(a) for a, nxt in zip(gins, node.next))
    kept = torch_edges(node) if node.op_node else None
    if kept is not None:            # one per edge of torch's node (see Node.next_functions)
        full, grad_inputs = grad_inputs, tuple(grad_inputs[i] for i in kept)
    _CURRENT[0].handed.update(id(a) for a in gins if a is not None)
    for fn in node.post:
        r = _post_result(fn, fn(grad_inputs, grad_outputs), grad_inputs)
        if r is not None:
            grad_inputs = r
    if kept is not None:
        full = list(full)
        for i, x in zip(kept, grad_inputs):
            full[i] = x
        grad_inputs = tuple(full)
    if create_graph:
        return grad_inputs
    gins = tuple(x.arr if isinstance(x, Tensor) else x for x in grad_inputs)
    _CURRENT[0].handed.update(id(a) for a in gins if a is not None)
    return gins


def _fit(xp, gi, inp, create_graph):
    """gi summed to the shape of input inp and cast to its dtype (a Tensor under
    create_graph, an array otherwise)."""
    a = inp.arr
    if create_graph:
        if tuple(gi.shape) != a.shape:
            gi = gi.sum_to_size(a.shape)
        return gi if gi.arr.dtype == a.dtype else _cast_grad_tensor(gi, inp.dtype)
    if gi.shape != a.shape:
        gi = sum_to(xp, gi, a.shape)
    return gi if gi.dtype == a.dtype else _cast_grad(gi, a.dtype)


def _post_result(fn, r, grad_inputs):
    """What a node post-hook returned, checked as torch does: None, or a tuple as long as
    grad_inputs that puts no gradient where there was none."""
    if r is None:
        return None
    if not isinstance(r, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
    if len(r) != len(grad_inputs):
        raise RuntimeError(f"hook '{getattr(fn, '__name__', fn)}' has returned an incorrect "
                           f"number of values (got {len(r)}, but expected {len(grad_inputs)})")
    if any(old is None and new is not None for old, new in zip(grad_inputs, r)):
        raise RuntimeError("can't replace a None gradient with a non-None value")
    return r


def _backend_of(node):
    if type(node) is Leaf:
        return node.ref().be
    if isinstance(node, OutSlot):
        node = node.parent
    Tensor = _T.Tensor
    return next(a.be for a in node.inputs if isinstance(a, Tensor))


def _accumulate(leaf, g, handed, create_graph):
    _new, _PostAcc, SAME_DTYPE = _T._new, _T._PostAcc, _T.SAME_DTYPE
    t = leaf.ref()
    if t is None:
        return
    fresh = t._grad is None
    want = t.arr.dtype if t._grad_dtype is SAME_DTYPE else \
        None if t._grad_dtype is None else t._grad_dtype.np
    if create_graph:
        if want is not None and g.arr.dtype != want:
            g = _cast_grad_tensor(g, OF_NP[want.num])
        t._grad = g if t._grad is None else t._grad + g
    else:
        if want is not None and g.dtype != want:
            g = _cast_grad(g, want)
        if isinstance(g, np.generic):   # a 0-d leaf's .grad is an array (zero_(), add_())
            g = np.array(g)
        if t._grad is None:
            dense = g.ndim > 1 and not isinstance(g, _UNSTRIDED) and \
                not isinstance(t.arr, _UNSTRIDED)
            enforce = _is_grad_layout_enforced()   # (enforce_grad_layout_policy)
            if dense and g.strides != t.arr.strides and (
                    id(g) in handed or enforce and not t.arr.flags.c_contiguous):
                g = _like_param(g, t.arr)
            elif id(g) in handed or not _owned(g):
                fresh_sparse = type(g) is SparseCOO
                if not dense or (enforce and 1 not in g.shape and t.arr.flags.c_contiguous):
                    g = g.copy()        # (C order: the leaf's layout and torch's)
                else:   # a fresh gradient laid out as torch's kernels allocate it (channels
                    # last at size-1 dims) keeps its strides: torch's AccumulateGrad steals it
                    g = _like_param(g, g if not enforce or _obeys(g, t.arr) else t.arr)
                if fresh_sparse:    # an op's sparse result (a _GradCOO carries its own flag):
                    g.coalesced = g.nnz < 2     # torch's AccumulateGrad takes over its arrays
            handed.add(id(g))
            t._grad = _new(g, t.be)
        elif t._grad._rg:
            t._grad = t._grad + _new(g, t.be)
        else:
            ga = t._grad.arr
            if ga.shape == g.shape and getattr(ga.flags, "writeable", True):
                ga += g
                _T.bump_version(t._grad)    # (torch's AccumulateGrad: variable_grad += new_grad)
            else:
                t._grad = _new(ga + g, t.be)
    if leaf.hooks:
        for h in leaf.hooks:
            if type(h) is _PostAcc:
                h.fn(t)
    if leaf.post:                   # AccumulateGrad.register_hook
        # torch's grad_outputs: the new .grad itself when it was None, else the incoming grad
        grad_outputs = (t._grad if fresh else g if create_graph else _new(g, t.be),)
        for fn in leaf.post:
            _post_result(fn, fn((), grad_outputs), ())


_UNSTRIDED = (SparseCOO, CompressedArray, NestedArray)    # (no layout contract to keep)


def _obeys(g, p):
    """torch's obeys_layout_contract for a dense leaf p: g's strides are p's at every dim
    longer than 1."""
    return all(a == b or n == 1 for a, b, n in zip(g.strides, p.strides, p.shape))


def _like_param(g, p):
    """torch's AccumulateGrad layout contract: the first .grad of a dense, non-contiguous leaf
    (a channels-last or transposed parameter) takes the leaf's strides."""
    from ..ops.shape import _dense_order
    if _dense_order(p) != "K":
        return g.copy()
    if isinstance(p, np.ndarray):   # p's strides exactly, size-1 dims included (empty_like's
        if min(p.strides, default=0) < 0:       # order 'K' would normalise those)
            out = np.empty_like(p, dtype=g.dtype)
        else:
            out = np.lib.stride_tricks.as_strided(
                np.empty(p.size, g.dtype), p.shape,
                tuple(st // p.itemsize * g.itemsize for st in p.strides))
    else:
        out = p.copy()                          # (CuPy: p's layout)
    out[...] = g
    return out


def _owned(a):
    f = a.flags
    return f.owndata and getattr(f, "writeable", True) and f.c_contiguous
