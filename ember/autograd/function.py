"""Custom differentiable operations: torch.autograd.Function.

A Function subclass gets a node class `<Name>Backward` that is also the `ctx` its forward and
backward receive, as in torch. The node plugs into the engine like any op's node: its `bwd`
calls the user's backward on Tensors, and under create_graph that backward is recorded."""
import functools
import inspect
import weakref

from .._dtype import BF16_NUM
from .engine import FREED_MESSAGE, _FREED, modified_error
from .grad_mode import STATE, TRANSFORMS, no_grad   # (TRANSFORMS: func transforms running)
from .node import CLOCK, SAVED_HOOKS, Node, PackedTensor, out_slot, output_nr

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable",
           "InplaceFunction"]


class FunctionCtx:
    """The `ctx` of one call of a Function: forward/setup_context hand information to backward
    through it. User attributes live here, apart from the node's own fields (so `ctx.inputs`,
    `ctx.saved` or `ctx.next` are the user's), and read through the node too
    (`y.grad_fn.<attr>`, as in torch, where ctx is the node)."""

    def _graph_node(self):
        node = self.__dict__["_node"]()
        if node is None:
            raise RuntimeError("this ctx's graph node has been freed")
        return node

    def save_for_backward(self, *tensors):
        from .._tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._graph_node().to_save = tensors

    def save_for_forward(self, *tensors):
        self._graph_node().saved_for_forward = tensors

    def mark_dirty(self, *args):
        self._graph_node().dirty_tensors = args

    def mark_non_differentiable(self, *args):
        self._graph_node().non_differentiable = args

    def set_materialize_grads(self, value):
        self._graph_node().materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        return self._graph_node().saved_tensors

    saved_variables = saved_tensors

    @property
    def needs_input_grad(self):
        return self._graph_node().needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        self._graph_node().needs_input_grad = value

    @property
    def materialize_grads(self):
        return self._graph_node().materialize_grads

    @property
    def next_functions(self):
        return self._graph_node().next_functions

    def name(self):
        return self._graph_node().name()

    def register_hook(self, fn):
        return self._graph_node().register_hook(fn)

    def register_prehook(self, fn):
        return self._graph_node().register_prehook(fn)


def _double_backward(node, g):
    return _tensor_backward(node, g)


class _FnOp:
    """The Op-like record the engine reads for the nodes of one Function subclass."""
    __slots__ = ("name", "node_name", "saves_in", "saves_out", "needs_mask", "differentiable",
                 "n_out", "amp", "impl", "double_backward")
    refresh = frees = None      # (see Op.refresh, Op.frees)

    def __init__(self, name):
        self.name, self.node_name = name, name + "Backward"
        # saves_out: the engine frees `saved` after a backward (saved tensors check themselves)
        self.saves_in, self.saves_out, self.needs_mask = False, True, False
        self.differentiable, self.n_out, self.amp, self.impl = True, 1, None, ()
        self.double_backward = _double_backward


class BackwardCFunction(Node):
    """The node of one call of a Function; subclassed per Function as <Name>Backward. Its
    `ctx` (a FunctionCtx) is what the user's forward, setup_context, backward and jvp receive;
    attributes set on it read through the node."""
    _forward_cls = None
    op_node = False
    custom_function = True      # its outputs that are views refuse in-place writes

    def __repr__(self):
        return f"<torch.autograd.function.{type(self).__name__} object at {hex(id(self))}>"

    def __getattr__(self, name):
        # only reached when the node has no such field: the user's ctx attributes
        ctx = self.__dict__.get("ctx")
        if ctx is not None and name in ctx.__dict__:
            return ctx.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def next_functions(self):
        """One entry per Tensor argument of forward (torch leaves the others out)."""
        from .._tensor import Tensor
        return tuple((n.public() if n is not None else None, output_nr(n))
                     for n, a in zip(self.next, self.inputs) if isinstance(a, Tensor))

    def apply(self, *grads):
        return _user_backward(self._forward_cls)(self.ctx, *grads)

    @property
    def saved_tensors(self):
        saved = self.saved
        if saved is _FREED:
            raise RuntimeError(FREED_MESSAGE)
        out = []
        for entry, version in zip(saved, self._saved_versions):
            if entry is None:
                out.append(None)
                continue
            if type(entry) is PackedTensor:     # saved_tensors_hooks: unpacked on each use
                out.append(entry.unpack())
                continue
            t = entry.unpack(self) if type(entry) is _SavedOutput else entry
            vc = t._vc
            if vc is not None and vc[0] != version:
                creator = self if type(entry) is _SavedOutput else None
                raise modified_error(t if creator is None else None, vc[0], version,
                                     shape=t.shape, dtype=t.arr.dtype, creator=creator)
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors


class _SavedOutput:
    """An output saved for backward, kept without a reference to its node (no cycle); unpacking
    gives a Tensor whose grad_fn is the node again, so create_graph can differentiate it."""
    __slots__ = ("arr", "be", "vc", "index", "requires_grad")

    def __init__(self, t, index):
        if t._vc is None:
            t._vc = [0, 0]                 # shared from now on: later writes are seen
        self.arr, self.be, self.vc, self.index = t.arr, t.be, t._vc, index
        self.requires_grad = t.requires_grad

    def unpack(self, node):
        from .._tensor import _new
        t = _new(self.arr, self.be)
        t._vc = self.vc
        if self.requires_grad:
            t._rg = True
            t.grad_fn = node if self.index is None else out_slot(node, self.index)
        return t


class FunctionMeta(type):
    """Gives every Function subclass its node class `<Name>Backward`."""

    def __init__(cls, name, bases, attrs):
        node_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        node_cls.__module__ = "torch.autograd.function"    # torch's, whatever the Function's
        node_cls._op = _FnOp(name)
        cls._backward_cls = node_cls
        super().__init__(name, bases, attrs)


class Function(FunctionCtx, metaclass=FunctionMeta):
    """Base class for custom differentiable operations (static forward/backward + apply)."""

    def __init__(self, *args, **kwargs):
        import warnings
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: https://pytorch.org/docs/stable/"
                           "autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    # torch.vmap support (ember's vmap loops over samples: a rule is checked for, not run)
    generate_vmap_rule = False

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError("To use autograd.Function with vmap, you must either override "
                                  "the vmap staticmethod or set generate_vmap_rule=True.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        new_style = cls.setup_context is not Function.setup_context
        if kwargs or new_style:          # torch binds defaults for new-style forwards
            args = _bind(cls.forward, args, kwargs, skip_ctx=not new_style)
        return _apply(cls, new_style, args)


class InplaceFunction(Function):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


from .forward_ad import FW as _FW  # noqa: E402


def _bind(forward, args, kwargs, skip_ctx):
    """The positional arguments Function.apply hands forward, as torch: a new-style forward's
    (setup_context overridden) bound with their defaults; an old-style one's keywords placed
    by its positional parameters, no further than the last given (torch's C++ apply). Keywords
    left over (keyword-only parameters, **kwargs) are refused."""
    sig = inspect.signature(forward)
    if not skip_ctx:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.kwargs:
            raise TypeError(f"forward() got an unexpected keyword argument "
                            f"'{next(iter(bound.kwargs))}'")
        return bound.args
    names = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    slots = {}
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"forward() got an unexpected keyword argument '{k}'")
        i = names.index(k)
        if i < len(args):
            raise TypeError(f"forward() got multiple values for argument '{k}'")
        slots[i] = v
    out = list(args)
    for i in range(len(args), max(slots) + 1):
        if i not in slots:
            raise TypeError(f"forward() missing required argument: '{names[i]}' (position {i})")
        out.append(slots[i])
    return tuple(out)


_FUNC_NOTES = "For more details, please see https://pytorch.org/docs/main/notes/extending.func.html"


def _check_transforms(cls, new_style):
    """torch's checks on a Function called under torch.func transforms."""
    if not new_style:
        raise RuntimeError("In order to use an autograd.Function with functorch transforms (vmap, "
                           "grad, jvp, jacrev, ...), it must override the setup_context "
                           f"staticmethod. {_FUNC_NOTES}")
    if "vmap" in TRANSFORMS:
        rule = cls.vmap is not Function.vmap
        if cls.generate_vmap_rule and rule:
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it has both "
                               "generate_vmap_rule=True and an overridden vmap staticmethod. "
                               "Please set generate_vmap_rule=False or delete the overridden "
                               f"vmap staticmethod to avoid ambiguity. {_FUNC_NOTES}")
        if not (cls.generate_vmap_rule or rule):
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap "
                               "support. Please override and implement the vmap staticmethod or "
                               f"set generate_vmap_rule=True. {_FUNC_NOTES}")
    if "jvp" in TRANSFORMS and cls.jvp is Function.jvp:    # forward mode needs the user's jvp
        Function.jvp(None)


class transform:
    """Context manager: a torch.func transform of `kind` is running."""
    __slots__ = ("kind",)

    def __init__(self, kind):
        self.kind = kind

    def __enter__(self):
        TRANSFORMS.append(self.kind)

    def __exit__(self, *exc):
        TRANSFORMS.pop()


def _apply(cls, new_style, args):
    from .._tensor import Tensor
    if TRANSFORMS:
        _check_transforms(cls, new_style)
    from ..backends import CPU
    tensors = [a for a in args if isinstance(a, Tensor)]
    record = STATE.enabled and any(t.requires_grad for t in tensors)
    be = tensors[0].be if tensors else CPU
    nxt = tuple((a.grad_fn or a._leaf_node()) if isinstance(a, Tensor) and a.requires_grad
                and record else None for a in args)
    node = cls._backward_cls(cls._backward_cls._op, None, be.xp, (), nxt, args, ())
    node.bwd = functools.partial(_raw_backward, weakref.ref(node))
    node.ctx = ctx = FunctionCtx()
    ctx._node = weakref.ref(node)
    node.to_save, node.dirty_tensors, node.non_differentiable = None, (), ()
    node.materialize_grads = True
    node.needs_input_grad = tuple(n is not None for n in nxt)
    level = _FW.level
    _FW.level = None            # the forward sees plain tensors (torch unpacks the duals)
    try:
        with no_grad():
            if new_style:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
    finally:
        _FW.level = level
    node.epoch = CLOCK[0]
    is_tuple = isinstance(out, tuple)
    saved = ()
    if new_style:               # what setup_context saved (torch's to_save_if_setup_context)
        saved = {id(t) for t in (node.to_save or ()) + tuple(
            getattr(node, "saved_for_forward", None) or ())}
    outs = _process_outputs(node, args, out if is_tuple else (out,), record, saved)
    if node.to_save is not None:
        _save(node, outs, is_tuple)
    if level is not None:
        _forward_ad(cls, node, args, outs)
    return outs if is_tuple else outs[0]


def _forward_ad(cls, node, args, outs):
    """Forward mode through a custom Function: its jvp(ctx, *input_tangents) gives the output
    tangents (zeros for floating tensor inputs without one unless the ctx turned off
    materialize_grads, None for the rest), as torch calls it."""
    from .._tensor import Tensor
    from .forward_ad import set_tangent, tangent_of
    tans = [tangent_of(a) if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in tans):
        return
    if node.materialize_grads:
        tans = [a.new_zeros(a.shape) if t is None and isinstance(a, Tensor) and _floating(a)
                else t for a, t in zip(args, tans)]
    # in jvp, ctx.saved_tensors are those given to ctx.save_for_forward (torch)
    fwd_saved = tuple(getattr(node, "saved_for_forward", None) or ())
    prev = node.saved, getattr(node, "_saved_versions", ())
    node.saved, node._saved_versions = fwd_saved, tuple(
        None if t is None else t._version for t in fwd_saved)
    level, _FW.level = _FW.level, None
    try:
        with no_grad():
            r = cls.jvp(node.ctx, *tans)
    finally:
        _FW.level = level
        node.saved, node._saved_versions = prev
    rs = r if isinstance(r, tuple) else (r,)
    tensor_outs = [o for o in outs if isinstance(o, Tensor)]
    if len(rs) != len(tensor_outs):
        raise RuntimeError(f"jvp() returned an incorrect number of values (got {len(rs)}, but "
                           f"expected {len(tensor_outs)})")
    for o, t in zip(tensor_outs, rs):
        if t is None or not _floating(o):
            continue
        if tuple(t.shape) != tuple(o.shape):
            raise RuntimeError(f"Trying to set a forward gradient that has a different size "
                               f"than that of the original Tensor, this is not supported. "
                               f"Tensor is of size {list(o.shape)} while the given forward "
                               f"gradient is of size {list(t.shape)}.")
        set_tangent(o, t)


_SAVED_AS_IS = ("An input that has been returned as-is as output is being saved for backward. "
                "This is not supported if you override setup_context. You should return and "
                "save a view of the input instead, e.g. with x.view_as(x) or setup ctx inside "
                "the forward function itself.")


def _process_outputs(node, args, outs, record, saved=()):
    from .._tensor import Tensor, _new, bump_version
    dirty = {id(t) for t in node.dirty_tensors}
    nondiff = {id(t) for t in node.non_differentiable}
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    result, positions = [], []
    for i, o in enumerate(outs):
        if isinstance(o, Tensor):
            if id(o) in dirty:
                if record and o.requires_grad and o.grad_fn is None:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation.")
                bump_version(o)
            elif id(o) in inputs:          # an input returned as is: a view of it, as torch
                # torch refuses one setup_context saved, but for a non-differentiable output
                # of an input that requires grad (which torch detaches instead); under a
                # torch.func transform its inner call sees inputs that do not
                if id(o) in saved and (TRANSFORMS or not o.requires_grad or (
                        record and id(o) not in nondiff and _floating(o))):
                    raise RuntimeError(_SAVED_AS_IS)
                alias = _new(o.arr, o.be)
                if o._vc is None:
                    o._vc = [0, 0]
                alias._vc, alias._base = o._vc, o if o._base is None else o._base
                o = alias
            positions.append(i)
        result.append(o)
    if dirty - {id(o) for o in outs}:
        raise RuntimeError("Some elements marked as dirty during the forward method were not "
                           "returned as output. The inputs that are modified inplace must all be "
                           "outputs of the Function.")
    node._n_outputs, node._out_pos = len(outs), tuple(positions)
    if not record:
        return tuple(result)
    diff = [i for i in positions if id(outs[i]) not in nondiff and _floating(result[i])]
    multi = len(outs) > 1 or len(positions) != 1
    if multi:
        node.outs = tuple((result[i].arr.shape, result[i].arr.dtype) for i in positions)
    for k, i in enumerate(positions):
        o = result[i]
        if i in diff:
            o._rg = True
            o.grad_fn = out_slot(node, k) if multi else node
    return tuple(result)


def _floating(t):
    return t.arr.dtype.kind in "fc" or t.arr.dtype.num == BF16_NUM


def _save(node, outs, is_tuple):
    from .._tensor import Tensor
    out_index = {id(o): k for k, o in enumerate(o for o in outs if isinstance(o, Tensor))}
    multi = node.outs is not None
    saved, versions = [], []
    for t in node.to_save:
        if t is None:
            saved.append(None)
            versions.append(None)
            continue
        k = out_index.get(id(t))
        entry = t if k is None else _SavedOutput(t, k if multi else None)
        if SAVED_HOOKS:
            pack, unpack = SAVED_HOOKS[-1]
            entry = PackedTensor(entry, pack, unpack, t)
        saved.append(entry)
        versions.append(t._version)
    node.saved, node._saved_versions = tuple(saved), tuple(versions)
    node.to_save = None


def _user_backward(cls):
    backward, vjp = cls.backward, cls.vjp
    if backward is not Function.backward and vjp is not Function.vjp:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is "
                           "not allowed. You should only implement one of them.")
    return vjp if vjp is not Function.vjp else backward


def _raw_backward(ref, xp, g, *saved):
    """The engine's bwd for a Function node: raw arrays in and out."""
    from .._tensor import _new
    node = ref()
    be = next(a.be for a in node.inputs if hasattr(a, "be"))
    if node.outs is None:
        grads = (_new(g, be),)
    else:
        grads = tuple(None if a is None else _new(a, be) for a in g)
    return tuple(None if r is None else r.arr for r in _call_backward(node, grads))


def _tensor_backward(node, g):
    """create_graph: the user's backward runs on Tensors with grad mode on, so it is recorded."""
    return _call_backward(node, g if node.outs is not None else (g,))


def _call_backward(node, grads):
    from .._tensor import Tensor
    full = [None] * node._n_outputs
    for pos, gr in zip(node._out_pos, grads):
        full[pos] = gr
    res = _user_backward(node._forward_cls)(node.ctx, *full)
    if not isinstance(res, tuple):
        res = (res,)
    n_in, name = len(node.inputs), node.name()
    if len(res) != n_in:
        if len(res) > n_in and all(r is None for r in res[n_in:]):
            res = res[:n_in]
        else:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(res)})")
    out = []
    for i, (r, inp) in enumerate(zip(res, node.inputs)):
        if r is None:
            out.append(None)
            continue
        if not isinstance(inp, Tensor):
            raise RuntimeError(f"function {name} returned a gradient different than None at "
                               f"position {i + 1}, but the corresponding forward input was not "
                               "a Variable")
        if not isinstance(r, Tensor):
            raise TypeError(f"function {name} returned an object of type {type(r).__name__} as "
                            f"gradient {i}; expected a Tensor or None")
        if node.next[i] is None:
            out.append(None)
            continue
        if tuple(r.shape) != tuple(inp.shape) and not _expandable(inp.shape, r.shape):
            raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                               f"{list(r.shape)} but expected shape compatible with "
                               f"{list(inp.shape)}")
        out.append(r)
    return tuple(out)


def _expandable(shape, to):
    """Whether `shape` broadcasts to `to` (then the gradient is summed down to `shape`)."""
    if len(shape) > len(to):
        return False
    lead = len(to) - len(shape)
    return all(s == 1 or s == to[lead + i] for i, s in enumerate(shape))


class _DelayedError(Function):
    """Aliases of once_differentiable outputs whose backward refuses to run."""

    @staticmethod
    def forward(ctx, *inputs):
        return inputs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


_DelayedError._backward_cls._op.node_name = "Error"          # torch's node name


def once_differentiable(fn):
    """Decorator for a backward that cannot itself be differentiated: it runs without
    recording, and differentiating its result again raises."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        from .._tensor import Tensor
        with no_grad():
            outputs = fn(ctx, *args)
        if not STATE.enabled:
            return outputs
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        fake = tuple(o.detach()._requires_grad_(True) if isinstance(o, Tensor) and _floating(o)
                     else o for o in outs)
        err = _DelayedError.apply(*fake)
        return err[0] if single else err
    return wrapper
