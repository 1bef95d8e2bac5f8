"""autograd.backward and autograd.grad: turn user arguments into an engine run.

Outputs and inputs may be Tensors or graph.GradientEdges; `inputs` may be a dict (grad then
returns a dict with the same keys). The argument checks and their messages follow
torch/autograd/__init__.py (_make_grads); is_grads_batched runs one backward per row of the
grad_outputs and stacks the results (what torch's vmap over the engine computes)."""
import warnings

from .. import _tensor as _T          # (partially initialised here: read at call time)
from .._torch_function import DISPATCH as _DISPATCH
from .._warnings import warn_once
from . import engine
from .grad_mode import set_grad
from .graph import GradientEdge, _edge_meta, _engine_node


def _seq(x, what):
    """Tensors or edges as a tuple; `what` names the function for the dict-type error."""
    if isinstance(x, (_T.Tensor, GradientEdge)):
        return (x,)
    if type(x) is dict:
        return tuple(x.values())
    from collections.abc import Mapping
    if isinstance(x, Mapping):
        raise TypeError(f"`inputs` argument to `{what}()` must be a dict, not "
                        f"{type(x).__name__}. Other Mapping types are not supported.")
    return tuple(x)


def _tensor_or_tensors_to_tuple(tensors, length):
    if tensors is None:
        return (None,) * length
    if isinstance(tensors, _T.Tensor):
        return (tensors,)
    return tuple(tensors)


def _is_edge(x):
    return isinstance(x, GradientEdge)


def _meta(out):
    """(shape, dtype, requires_grad) of an output Tensor or GradientEdge."""
    if _is_edge(out):
        shape, dtype = _edge_meta(out)
        return shape, dtype, True
    return out.arr.shape, out.dtype, out.requires_grad     # (a nested tensor's: NestedShape)


def _one(xp, a):
    """The implicit gradient of a one-element output array a: ones of its shape and dtype,
    contiguous (torch's ones_like in the legacy contiguous format); filled, not through
    ones_like, a Python function that costs three times as much."""
    g = xp.empty(a.shape, a.dtype)
    g.fill(1)
    return g


def _make_grads(outputs, grads, is_grads_batched):
    """torch's checks of grad_outputs against outputs; None becomes ones for a scalar output
    that requires grad. Returns Tensors (or None for outputs that do not require grad)."""
    Tensor, Size = _T.Tensor, _T.Size
    new = []
    for i, (out, grad) in enumerate(zip(outputs, grads)):
        if grad is None and type(out) is Tensor and out.numel() == 1 and out._rg and \
                out.arr.dtype.kind in "fV":                 # loss.backward()
            if _DISPATCH.stack:       # (torch's ones_like, handed to a TorchDispatchMode)
                from ..utils._dispatch_backward import root_grad
                new.append(root_grad(out))
                continue
            new.append(_T._new(_one(out.be.xp, out.arr), out.be))
            continue
        out_shape, out_dtype, out_rg = _meta(out)
        if isinstance(grad, Tensor):
            first = grad[0] if is_grads_batched else grad
            if first.arr.shape != out_shape:
                if is_grads_batched:
                    raise RuntimeError(
                        "If `is_grads_batched=True`, we interpret the first dimension of each "
                        "grad_output as the batch dimension. The sizes of the remaining "
                        "dimensions are expected to match the shape of corresponding output, "
                        f"but a mismatch was detected: grad_output[{i}] has a shape of "
                        f"{first.shape[1:]} and output[{i}] has a shape of {Size(out_shape)}. If "
                        "you only want some tensors in `grad_output` to be considered batched, "
                        "consider using vmap.")
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{grad.shape} and output[{i}] has a shape of "
                                   f"{Size(out_shape)}.")
            if out_dtype.is_complex != grad.dtype.is_complex:
                raise RuntimeError(
                    "For complex Tensors, both grad_output and output are required to have "
                    f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                    f"{grad.dtype} and output[{i}] has a dtype of {out_dtype}.")
            new.append(grad)
        elif grad is None:
            if not out_rg:
                new.append(None)
                continue
            n = 1
            for s in out_shape:
                n *= s
            if n != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out_dtype.is_floating_point:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs"
                                   f" but got {out_dtype}")
            if isinstance(out, Tensor):
                new.append(_T._new(_one(out.be.xp, out.arr), out.be))
            else:
                from ..ops.creation import ones
                new.append(ones(out_shape, dtype=out_dtype))
        else:
            raise TypeError("gradients can be either Tensors or None, but got "
                            f"{type(grad).__name__}")
    return new


def _roots(outputs, grads, create_graph):
    """Engine roots and their gradients (arrays, or Tensors when create_graph)."""
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    roots, root_grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if _is_edge(out):
            node = _engine_node(out, root=True)
        elif not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        else:
            node = out._edge()
        roots.append(node)
        root_grads.append(g if create_graph else g.arr)
    return roots, root_grads


def _targets(inputs, roots):
    """The engine node each input's gradient is captured at."""
    nodes = []
    for t in inputs:
        if _is_edge(t):
            nodes.append(_engine_node(t, roots=roots))
        elif not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        else:
            nodes.append(t._edge())
    return nodes


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of `tensors` into the .grad of the graph's leaves (or of
    `inputs` only)."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both "
                               "passed to `backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    inputs = None if inputs is None else _seq(inputs, "backward")
    if inputs is not None and not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    tensors = _seq(tensors, "backward")
    grads = _make_grads(tensors, _tensor_or_tensors_to_tuple(grad_tensors, len(tensors)), False)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warn_once("Using backward() with create_graph=True will create a reference cycle "
                  "between the parameter and its gradient which can cause a memory leak. We "
                  "recommend using autograd.grad when creating the graph to avoid this. If you "
                  "have to use this function, make sure to reset the .grad fields of your "
                  "parameters to None after use to break the cycle and avoid the leak.")
    roots, root_grads = _roots(tensors, grads, create_graph)
    with _GradMode(create_graph):
        if inputs is None:
            engine.run(roots, root_grads, retain_graph, create_graph)
            return
        for t in inputs:        # (torch retains every input's grad first)
            if not _is_edge(t) and not t.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        targets = _targets(inputs, roots)
        for t in inputs:        # torch: a non-leaf tensor input retains its grad from now on
            if not _is_edge(t) and t.grad_fn is not None:
                t.retain_grad()
        capture = dict.fromkeys(targets)
        engine.run(roots, root_grads, retain_graph, create_graph, capture, accumulate=False,
                   grad_call=False)
        handed = {id(g) for g in root_grads}
        for node in targets:
            g = capture[node]
            if g is not None and type(node) is engine.Leaf:
                engine._accumulate(node, g, handed, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, returned instead of accumulated."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _seq(outputs, "grad")
    named = inputs if type(inputs) is dict else None
    inputs = _seq(inputs, "grad")
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). "
                      "To accumulate gradient for other parts of the graph, please use "
                      "torch.autograd.backward.", FutureWarning, stacklevel=2)
    grads = _make_grads(outputs, _tensor_or_tensors_to_tuple(grad_outputs, len(outputs)),
                        is_grads_batched)
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        result = _batched(outputs, inputs, grads, retain_graph, create_graph, allow_unused)
    else:
        result = _run_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused)
    if materialize_grads:
        if any(r is None and _is_edge(t) for r, t in zip(result, inputs)):
            raise RuntimeError("materialize_grads cannot be used when the given input is a "
                               "GradientEdge")
        from ..ops.creation import zeros_like
        result = tuple(r if r is not None else zeros_like(t, requires_grad=create_graph)
                       for r, t in zip(result, inputs))
    return dict(zip(named, result)) if named is not None else result


def _run_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused):
    Tensor, _new = _T.Tensor, _T._new
    roots, root_grads = _roots(outputs, grads, create_graph)
    targets = _targets(inputs, roots)
    capture = dict.fromkeys(targets)
    with _GradMode(create_graph):
        engine.run(roots, root_grads, retain_graph, create_graph, capture, accumulate=False)
    result = []
    for i, (t, node) in enumerate(zip(inputs, targets)):
        g = capture[node]
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            result.append(None)
            continue
        if not isinstance(g, Tensor):
            be = engine._backend_of(node)
            if not _is_edge(t) and g.dtype != t.arr.dtype:
                g = g.astype(t.arr.dtype)
            # never hand out read-only broadcast views or arrays another result shares
            g = _new(g if engine._owned(g) and all(g is not r.arr for r in result if r is not None)
                     else g.copy(), be)
        result.append(g)
    return tuple(result)


def _batched(outputs, inputs, grads, retain_graph, create_graph, allow_unused):
    """is_grads_batched: one backward per index of the grad_outputs' first dimension."""
    from ..ops.shape import stack
    sizes = []
    for g in grads:
        if g is not None:
            if g.dim() == 0:
                raise ValueError("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some "
                                 "input, but that input is a Tensor of dimensionality 0 so "
                                 "expected in_dim to satisfy 0 <= in_dim < 0.")
            sizes.append(g.shape[0])
    if len(set(sizes)) > 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    n = sizes[0] if sizes else 0
    rows = [_run_grad(outputs, inputs, [None if g is None else g[b] for g in grads],
                      retain_graph or b < n - 1, create_graph, allow_unused) for b in range(n)]
    return tuple(None if rows[0][j] is None else stack([r[j] for r in rows])
                 for j in range(len(inputs)))


class _GradMode:
    """Backward runs with grad mode = create_graph (so double-backward graphs are recorded)."""
    __slots__ = ("mode", "prev")

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.prev = set_grad(self.mode)

    def __exit__(self, *exc):
        set_grad(self.prev)
