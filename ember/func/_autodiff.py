"""torch.func's autodiff transforms on ember's tape: grad, grad_and_value, vjp, jvp, linearize,
jacrev, jacfwd, hessian.

torch.func wraps tensors per transform level; ember gets the same composability from its tape.
Each call makes the inputs it differentiates fresh graph entries (a detached leaf, or a view when
the input is itself being differentiated by an enclosing transform or by the caller's autograd),
runs the function under enable_grad, and calls autograd.grad. A result keeps its graph only when
grad mode was on at the call and the result depends on a tensor from outside the call: that is
what lets grad(grad(f)), jacfwd(jacrev(f)) and autograd through a transform work, while plain
calls return plain tensors and skip double backward. Forward mode (jvp, jacfwd) is reverse mode
applied twice (the double-vjp trick)."""
import functools

from .._tensor import Tensor
from ..autograd.function import transform as _transform
from ..autograd.functions import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.node import Leaf
from ..ops.creation import ones_like, zeros, zeros_like
from ..ops.shape import stack
from ..utils._pytree import tree_flatten, tree_map, tree_unflatten, treespec_pprint
from ._batching import carry
from ._vmap import check_randomness, randomness_guard

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian"]


class _Level:
    """The graph entries one transform call made, and whether its results may keep a graph."""

    def __init__(self):
        self.keep = is_grad_enabled()
        self.inner = set()                           # Leaf nodes of the entries made here

    def entry(self, x):
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if self.keep and x.requires_grad:
            return x.view_as(x)
        return self.leaf(x.detach()._requires_grad_())

    def leaf(self, x):
        self.inner.add(x._leaf_node())
        return x

    def outside(self, tensors):
        """Whether the graph of `tensors` reaches a leaf this level did not make."""
        todo = [t._edge() for t in tensors if isinstance(t, Tensor) and t.requires_grad]
        seen = set()
        while todo:
            node = todo.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            if type(node) is Leaf:
                if node not in self.inner:
                    return True
            else:
                todo.extend(node.next)
        return False

    def unwrap(self, tree):
        """Results (a pytree of Tensors) leave the level: detached unless they hang on a graph
        from outside."""
        def unwrap_one(t):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(t)}")
            if t.requires_grad and not (self.keep and self.outside([t])):
                return t.detach()
            return t
        return tree_map(unwrap_one, tree)

    def grad(self, outputs, inputs, grad_outputs, retain_graph=None, create_graph=None):
        """autograd.grad over the outputs that require grad; zeros for unreached inputs."""
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
        grads = (None,) * len(inputs)
        if pairs:
            outs, gos = zip(*pairs)
            if create_graph is None:
                create_graph = self.keep
            create_graph = create_graph and (self.outside(outs) or any(
                g is not None and g.requires_grad for g in gos))
            grads = _autograd_grad(outs, inputs, gos, retain_graph=retain_graph,
                                   create_graph=create_graph, allow_unused=True)
        return carry((outputs, inputs, grad_outputs), self.unwrap(
            [zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]))


# ---- argument handling ----------------------------------------------------------------------
def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if -num_args <= argnum < num_args:
        return argnum % num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _check_argnums(argnums, num_args):
    """argnums as validated non-negative int or tuple of ints."""
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    if not isinstance(argnums, tuple):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    argnums = tuple(_wrap_argnum(a, num_args) for a in argnums)
    if not argnums:
        raise RuntimeError("argnums must be non-empty")
    if len(set(argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return argnums


def _slice_argnums(args, argnums):
    """The argument(s) at argnums: one argument for an int, a tuple for a tuple."""
    argnums = _check_argnums(argnums, len(args))
    return args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)


def _differentiable(level, args, argnums):
    """(args with the ones at argnums made graph entries, those entries as one pytree)."""
    if argnums is None:
        diff = tree_map(level.entry, args)
        return diff, diff
    argnums = _check_argnums(argnums, len(args))
    picked = (argnums,) if isinstance(argnums, int) else argnums
    args = list(args)
    for i in picked:
        args[i] = tree_map(level.entry, args[i])
    return tuple(args), _slice_argnums(args, argnums)


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if "
                           "has_aux is True")
    return output


def _flat_tensor_output(output, api):
    flat, spec = tree_flatten(output)
    if not flat or (len(flat) == 1 and flat[0] is None):
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output (got "
                           f"output = {flat})")
    for out in flat:
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(out)}")
    return flat, spec


def _error_if_complex(api, tree, is_input):
    for i, t in enumerate(tree_flatten(tree)[0]):
        if isinstance(t, Tensor) and t.is_complex():
            raise RuntimeError(f"{api}: Expected all {'inputs' if is_input else 'outputs'} to "
                               f"be real but received complex tensor at flattened input idx: {i}")


# ---- reverse mode ---------------------------------------------------------------------------
def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of func's scalar output w.r.t. args[argnums], output);
    with has_aux, func returns (output, aux) and the result is (gradient, (output, aux))."""
    api = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        level = _Level()
        with enable_grad(), _transform("grad"):
            args, diff = _differentiable(level, args, argnums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, api)
            if not isinstance(output, Tensor):
                raise RuntimeError(f"{api}: Expected f(*args) to return a Tensor, got "
                                   f"{type(output)}")
            if output.dim() != 0:
                raise RuntimeError(f"{api}: Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {output.dim()} dims. Maybe you wanted to use "
                                   "the vjp or jacrev APIs instead?")
            flat_diff, spec = tree_flatten(diff)
            grads = tree_unflatten(level.grad([output], flat_diff, [None]), spec)
        output = level.unwrap(output)
        return (grads, (output, level.unwrap(aux))) if has_aux else (grads, output)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of func's scalar output w.r.t. args[argnums] (a
    pytree of Tensors like args[argnums]; a tuple of them for a tuple of argnums). The inputs
    need not require grad."""
    grad_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = grad_value(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


def _vjp(func, args, argnums, has_aux):
    api = "vjp(f, *primals)"
    level = _Level()
    with enable_grad(), _transform("vjp"):
        args, diff = _differentiable(level, args, argnums)
        output, aux = _split_aux(func(*args), has_aux, api)
        flat_out, out_spec = _flat_tensor_output(output, api)
        for out in flat_out:
            if not (out.is_floating_point() or out.is_complex()):
                raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {out.dtype}")
        flat_diff, diff_spec = tree_flatten(diff)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function. cotangents: "
                               f"{treespec_pprint(cot_spec)}, primal output: "
                               f"{treespec_pprint(out_spec)}")
        if create_graph is None:
            create_graph = is_grad_enabled()
        grads = level.grad(flat_out, flat_diff, flat_cot, retain_graph, create_graph)
        return tree_unflatten(grads, diff_spec)
    return level.unwrap(output), vjp_fn, level.unwrap(aux) if has_aux else None


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]); vjp_fn(cotangents) returns the tuple of vector-Jacobian
    products with respect to each primal, and can be called repeatedly."""
    output, vjp_fn, aux = _vjp(func, primals, None, has_aux)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def _primals(args, argnums):
    """The arguments at argnums as a tuple (one element for an int argnums)."""
    picked = _slice_argnums(args, argnums)
    return (picked,) if isinstance(argnums, int) else picked


def _basis(tensors):
    """One-hot directions over the elements of `tensors` taken together, in flat order: for
    each position k, a list shaped like `tensors`, zero but for a 1 at position k."""
    for j, t in enumerate(tensors):
        for k in range(t.numel()):
            flat = zeros(t.numel(), dtype=t.dtype, device=t.device)
            flat[k] = 1
            row = [zeros_like(u) for u in tensors]
            row[j] = flat.reshape(t.shape)
            yield row


def _assemble(blocks, argnums, in_spec, out_spec):
    """Jacobian blocks [output][input] -> the output structure holding, per output, the
    structure of the differentiated arguments (just the block for an int argnums)."""
    per_out = tuple(tree_unflatten(row, in_spec) for row in blocks)
    if isinstance(argnums, int):
        per_out = tuple(row[0] for row in per_out)
    return tree_unflatten(per_out, out_spec)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """Jacobian of func w.r.t. args[argnums] by reverse mode: one vjp per output element.
    chunk_size is validated, but rows are always computed one at a time."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args):
        _error_if_complex("jacrev", args, is_input=True)
        output, vjp_fn, aux = _vjp(func, args, argnums, has_aux)
        flat_out, out_spec = tree_flatten(output)
        _error_if_complex("jacrev", flat_out, is_input=False)
        flat_in, in_spec = tree_flatten(_primals(args, argnums))
        rows = [tree_flatten(vjp_fn(tree_unflatten(direction, out_spec)))[0]
                for direction in _basis(flat_out)]
        numels = [o.numel() for o in flat_out]
        per_in = [stack([row[i] for row in rows]).split(numels) if rows else None
                  for i in range(len(flat_in))]
        blocks = [[per_in[i][j].reshape((*o.shape, *x.shape)) if rows else   # no outputs:
                   x.new_zeros((*o.shape, *x.shape)) for i, x in enumerate(flat_in)]  # empty
                  for j, o in enumerate(flat_out)]
        jac = carry((args, flat_out), _assemble(blocks, argnums, in_spec, out_spec))
        return (jac, aux) if has_aux else jac
    return wrapper


# ---- forward mode by the double-vjp trick ---------------------------------------------------
_JVP = "jvp(f, primals, tangents)"


def _linearize(func, args, argnums, has_aux, strict=False):
    """Run func once; return (flat outputs, their spec, jvp_fn: flat tangents -> flat output
    tangents, aux). With dummy cotangents u, g = J^T u is linear in u, and the vjp of g with
    respect to u along a tangent t is J t."""
    for p in tree_flatten(args if argnums is None else _primals(args, argnums))[0]:
        _check_dual(p, "primal")
    level = _Level()
    with enable_grad(), _transform("jvp"):
        args, diff = _differentiable(level, args, argnums)
        output, aux = _split_aux(func(*args), has_aux, _JVP)
        flat_out, out_spec = _flat_tensor_output(output, _JVP)
        if strict and not all(o.requires_grad for o in flat_out):
            raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is "
                               "independent of the inputs. This is not allowed with "
                               "strict=True.")
        diff_outs = [o for o in flat_out if o.requires_grad]
        # any u works (J^T u is linear in u); ones keep clear of rules' `g == 0` branches
        dummies = [level.leaf(ones_like(o)._requires_grad_()) for o in diff_outs]
        vjps = _autograd_grad(diff_outs, tree_flatten(diff)[0], dummies, create_graph=True,
                              allow_unused=True) if diff_outs else ()

    def jvp_fn(flat_tangents):
        pairs = [(v, t) for v, t in zip(vjps, flat_tangents) if v is not None]
        tangents = iter(level.grad([v for v, _ in pairs], dummies, [t for _, t in pairs],
                                   retain_graph=True))
        return carry((args, flat_tangents, flat_out), [
            next(tangents) if o.requires_grad else zeros_like(o) for o in flat_out])
    return level.unwrap(flat_out), out_spec, jvp_fn, level.unwrap(aux) if has_aux else None


def _check_dual(t, what):
    """forward AD's make_dual refuses a primal or tangent that is not floating or complex."""
    if isinstance(t, Tensor) and not (t.is_floating_point() or t.is_complex()):
        raise ValueError(f"Expected {what} to be floating point or complex, but got: {t.dtype}")


def _check_tangents(flat_primals, flat_tangents):
    """make_dual's checks, pair by pair, as jvp meets them."""
    for p, t in zip(flat_primals, flat_tangents):
        _check_dual(p, "primal")
        _check_dual(t, "tangent")
        if t.shape != p.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than "
                               "that of the original Tensor, this is not supported. Tensor is "
                               f"of size {list(p.shape)} while the given forward gradient is of "
                               f"size {list(t.shape)}.")


def _check_tensor_list(flat, argname):
    if not flat:
        raise RuntimeError(f"{_JVP}: Expected {argname} to contain at least one Tensor.")
    for t in flat:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{_JVP}: Expected {argname} to only contain Tensors, got "
                               f"{type(t)}")


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J·tangents[, aux]): the Jacobian-vector product, computed with two
    reverse passes (ember has no forward-mode AD)."""
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid "
                           "to call f(*primals).")
    flat_primals, primals_spec = tree_flatten(primals)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           "tangents also must be. Got primals with structure "
                           f"{primals_spec} and tangents with structure {tangents_spec}")
    _check_tensor_list(flat_primals, "primals")
    _check_tensor_list(flat_tangents, "tangents")
    _check_tangents(flat_primals, flat_tangents)
    flat_out, out_spec, jvp_fn, aux = _linearize(func, primals, None, has_aux, strict)
    result = (tree_unflatten(flat_out, out_spec), tree_unflatten(jvp_fn(flat_tangents), out_spec))
    return result + (aux,) if has_aux else result


def linearize(func, *primals):
    """(func(*primals), jvp_fn): jvp_fn(*tangents) is the jvp at primals, reusing one run."""
    flat_primals, primals_spec = tree_flatten(primals)
    flat_out, out_spec, flat_jvp, _ = _linearize(func, primals, None, False)

    def jvp_fn(*tangents):
        flat_tangents, tangents_spec = tree_flatten(tangents)
        if tangents_spec != primals_spec:
            raise RuntimeError(f"Expected the tangents {tangents_spec} to have the same argspec "
                               f"as the primals {primals_spec}")
        for i, (p, t) in enumerate(zip(flat_primals, flat_tangents)):
            for what in ("shape", "device", "dtype"):
                if getattr(t, what) != getattr(p, what):
                    raise RuntimeError(f"tangent:{i} with {what} {getattr(t, what)} in "
                                       f"flattened pytree doesn't match the {what} "
                                       f"{getattr(p, what)} of the corresponding primal.")
        return tree_unflatten(flat_jvp(flat_tangents), out_spec)
    return tree_unflatten(flat_out, out_spec), jvp_fn


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """Jacobian of func w.r.t. args[argnums], one jvp per input element (func runs once: a
    random op is an error under randomness="error", else drawn once for all columns)."""

    @functools.wraps(func)
    def wrapper(*args):
        check_randomness(randomness)
        _error_if_complex("jacfwd", args, is_input=True)
        flat_in, in_spec = tree_flatten(_primals(args, argnums))
        with _transform("vmap"), randomness_guard(randomness):  # torch's jacfwd vmaps its
            flat_out, out_spec, jvp_fn, aux = _linearize(func, args, argnums, has_aux)  # jvp
        _error_if_complex("jacfwd", flat_out, is_input=False)
        cols = [jvp_fn(direction) for direction in _basis(flat_in)]
        numels = [x.numel() for x in flat_in]
        # torch's vmap stacks the columns first, then moves that dimension last (its strides)
        per_out = [stack([col[j] for col in cols]).movedim(0, -1).split(numels, -1) if cols
                   else None for j in range(len(flat_out))]
        blocks = [[_unflatten_last(per_out[j][i], x.shape) if cols else   # no inputs:
                   o.new_zeros((*o.shape, *x.shape)) for i, x in enumerate(flat_in)]  # empty
                  for j, o in enumerate(flat_out)]
        jac = carry((args, flat_out), _assemble(blocks, argnums, in_spec, out_spec))
        return (jac, aux) if has_aux else jac
    return wrapper


def _unflatten_last(t, shape):
    """torch's safe_unflatten of the last dimension (a 0-d input's: squeezed)."""
    return t.unflatten(-1, shape) if len(shape) else t.squeeze(-1)


def hessian(func, argnums=0):
    """Hessian of a scalar function: jacfwd(jacrev(func, argnums), argnums)."""
    return jacfwd(jacrev(func, argnums), argnums)
