"""The backward engine: iterative reverse-topological walk, gradients freed as consumed."""
from .grad_mode import STATE
from .node import CLOCK as _clock, Leaf, OutSlot

_FREED = ("freed",)   # marks a node whose saved values were released by an earlier backward


def sum_to(xp, g, shape):
    """Reduce a broadcast gradient back to `shape` (the only place broadcasting is undone)."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead or g.shape != tuple(shape):
        g = g.reshape(shape)
    return g


def _reverse_topo(roots):
    """Nodes reachable from roots, every consumer before its producers (no recursion)."""
    post, seen = [], set(roots)
    for root in roots:
        stack = [(root, iter(root.next))]
        while stack:
            node, children = stack[-1]
            for c in children:
                if c is not None and c not in seen:
                    seen.add(c)
                    stack.append((c, iter(c.next)))
                    break
            else:
                stack.pop()
                post.append(node)
    post.reverse()
    return post


def _check_versions(node):
    op, epoch = node.op, node.epoch
    if op.saves_in:
        for i, t in enumerate(node.inputs):
            vc = getattr(t, "_vc", None)
            if vc is not None and vc[1] > epoch:
                _raise_modified(node, t, vc)
    if op.saves_out and node.out_vc is not None and node.out_vc[1] > epoch:
        _raise_modified(node, None, node.out_vc)


def _raise_modified(node, t, vc):
    what = "a tensor" if t is None else f"[torch.FloatTensor {list(t.shape)}]"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what}, which is output 0 of {node.name()}, is at version {vc[0]}; "
        f"expected version {vc[0] - 1} instead. Hint: enable anomaly detection to find the "
        "operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly"
        "(True).")


def run(roots, root_grads, retain_graph, create_graph, capture=None, accumulate=True):
    """Backpropagate `root_grads` (raw arrays, or Tensors when create_graph) from root nodes.

    With `capture` (a dict node -> None) the gradients arriving at those nodes are returned
    instead of being accumulated into leaves (autograd.grad)."""
    grads = {}
    for node, g in zip(roots, root_grads):
        prev = grads.get(node)
        grads[node] = g if prev is None else prev + g
    handed = set()
    for node in _reverse_topo(list(grads)):
        g = grads.pop(node, None)
        if g is None:
            continue
        if node.hooks:
            g = _run_prehooks(node, g, create_graph)
        if capture is not None and node in capture:
            capture[node] = g if capture[node] is None else capture[node] + g
            if not accumulate:
                continue
        tn = type(node)
        if tn is Leaf:
            if accumulate:
                _accumulate(node, g, handed, create_graph)
            continue
        if tn is OutSlot:
            parent = node.parent
            slots = grads.get(parent)
            if slots is None:
                slots = grads[parent] = [None] * len(parent.outs)
            slots[node.index] = g
            continue
        _run_node(node, g, grads, retain_graph, create_graph)


def _run_node(node, g, grads, retain_graph, create_graph):
    saved = node.saved
    if saved is _FREED:
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed). Saved intermediate values of the graph "
            "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
            "you need to backward through the graph a second time or if you need to access saved "
            "tensors after calling backward.")
    if node.epoch < _clock[0]:
        _check_versions(node)
    if node.outs is not None:
        g = _fill_outputs(node, g, create_graph)
    if create_graph:
        from .higher_order import differentiable_vjp
        gins = differentiable_vjp(node, g)
    elif node.op.needs_mask:
        gins = node.bwd(node.xp, g, *saved, tuple(n is not None for n in node.next))
    else:
        gins = node.bwd(node.xp, g, *saved)
    if STATE.anomaly:
        from .anomaly import check_grads
        check_grads(node, gins)
    if not retain_graph and saved:
        node.saved = _FREED
    xp = node.xp
    for nxt, gi, inp in zip(node.next, gins, node.inputs):
        if nxt is None or gi is None:
            continue
        a = inp.arr
        if gi.shape != a.shape:
            gi = sum_to(xp, gi, a.shape) if not create_graph else gi.sum_to_size(a.shape)
        if gi.dtype != a.dtype:
            gi = gi.astype(a.dtype) if not create_graph else gi.to(inp.dtype)
        prev = grads.get(nxt)
        grads[nxt] = gi if prev is None else prev + gi


def _fill_outputs(node, slots, create_graph):
    """Outputs that received no gradient contribute zeros (torch materialises them)."""
    out = []
    for g, (shape, dt) in zip(slots, node.outs):
        if g is None:
            g = node.xp.zeros(shape, dt)
            if create_graph:
                from .._tensor import _new
                g = _new(g, node.inputs[0].be)
        out.append(g)
    return tuple(out)


def _run_prehooks(node, g, create_graph):
    from .._tensor import _new, _PostAcc, Tensor
    for h in node.hooks:
        if type(h) is _PostAcc:
            continue
        if create_graph:
            r = h(g)
            if r is not None:
                g = r
            continue
        be = _backend_of(node)
        r = h(_new(g, be))
        if r is not None:
            g = r.arr if isinstance(r, Tensor) else r
    return g


def _backend_of(node):
    if type(node) is Leaf:
        return node.ref().be
    if type(node) is OutSlot:
        node = node.parent
    return node.inputs[0].be if node.inputs else None


def _accumulate(leaf, g, handed, create_graph):
    from .._tensor import _new, _PostAcc
    t = leaf.ref()
    if t is None:
        return
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    else:
        if g.dtype != t.arr.dtype:
            g = g.astype(t.arr.dtype)
        if t.grad is None:
            if id(g) in handed or not _owned(g):
                g = g.copy()
            handed.add(id(g))
            t.grad = _new(g, t.be)
        elif t.grad.requires_grad:
            t.grad = t.grad + _new(g, t.be)
        else:
            ga = t.grad.arr
            if ga.shape == g.shape and getattr(ga.flags, "writeable", True):
                ga += g
            else:
                t.grad = _new(ga + g, t.be)
    if leaf.hooks:
        for h in leaf.hooks:
            if type(h) is _PostAcc:
                h.fn(t)


def _owned(a):
    f = a.flags
    return f.owndata and getattr(f, "writeable", True) and f.c_contiguous

