"""autograd.backward and autograd.grad: turn user arguments into an engine run."""
from . import engine
from .grad_mode import STATE


def _as_list(x):
    if x is None:
        return None
    from .._tensor import Tensor
    return [x] if isinstance(x, Tensor) else list(x)


def _root_grads(outputs, grad_outputs, create_graph):
    from .._tensor import Tensor, _new
    if grad_outputs is not None and len(grad_outputs) < len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    grads = []
    for i, t in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        if g is None:
            if t.arr.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _new(t.be.xp.ones_like(t.arr), t.be)
        elif not isinstance(g, Tensor):
            raise TypeError("gradients can be either Tensors or None")
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{g.shape} and output[{i}] has a shape of {t.shape}.")
        grads.append(g if create_graph else g.arr)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of `tensors` into the .grad of the graph's leaves (or of
    `inputs` only)."""
    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [t._edge() if t.requires_grad else None for t in tensors]
    grads = _root_grads(tensors, grad_tensors, create_graph)
    with _GradMode(create_graph):
        if inputs is not None:
            inputs = _as_list(inputs)
            if not inputs:
                raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
            capture = {t._edge(): None for t in inputs}
            engine.run(roots, grads, retain_graph, create_graph, capture, accumulate=False,
                       grad_call=False)
            handed = {id(g) for g in grads}
            for t in inputs:
                g = capture[t._edge()]
                if g is not None:
                    engine._accumulate(t._leaf_node() if t.grad_fn is None else _Sink(t), g,
                                       handed, create_graph)
        else:
            engine.run(roots, grads, retain_graph, create_graph)


class _Sink:
    """Accumulation target for a non-leaf tensor named in backward(inputs=...)."""
    __slots__ = ("t", "hooks")

    def __init__(self, t):
        self.t, self.hooks = t, None

    def ref(self):
        return self.t


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, returned instead of accumulated."""
    from .._tensor import Tensor, _new
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grad_outputs = _as_list(grad_outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = [t._edge() for t in outputs]
    grads = _root_grads(outputs, grad_outputs, create_graph)
    capture = {t._edge(): None for t in inputs}
    with _GradMode(create_graph):
        engine.run(roots, grads, retain_graph, create_graph, capture, accumulate=False)
    result = []
    for i, t in enumerate(inputs):
        g = capture[t._edge()]
        if g is None:
            if materialize_grads:
                g = t.be.xp.zeros_like(t.arr)
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            else:
                result.append(None)
                continue
        if not isinstance(g, Tensor):
            if g.dtype != t.arr.dtype:
                g = g.astype(t.arr.dtype)
            # never hand out read-only broadcast views or arrays another result shares
            g = _new(g if engine._owned(g) and all(g is not r.arr for r in result if r is not None)
                     else g.copy(), t.be)
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """is_grads_batched: a backward per slice of the grad_outputs' leading dim (torch vmaps
    over it; the numbers are the same), the results stacked."""
    from ..ops.shape import stack
    grad_outputs = _as_list(grad_outputs)
    n = grad_outputs[0].shape[0]
    rows = [grad(outputs, inputs, [g[i] for g in grad_outputs],
                 retain_graph=True if i < n - 1 else retain_graph, create_graph=create_graph,
                 allow_unused=allow_unused, materialize_grads=materialize_grads)
            for i in range(n)]
    return tuple(None if col[0] is None else stack(col) for col in zip(*rows))


class _GradMode:
    """Backward runs with grad mode = create_graph (so double-backward graphs are recorded)."""
    __slots__ = ("mode", "prev")

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.prev, STATE.enabled = STATE.enabled, self.mode

    def __exit__(self, *exc):
        STATE.enabled = self.prev
