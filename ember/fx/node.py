"""torch.fx.Node: one operation of a Graph, in a doubly linked list, with its users counted.

A Node's `args`/`kwargs` hold other Nodes (anywhere inside tuples, lists, dicts and slices);
assigning them keeps every input's `users` up to date, as torch's C++ _NodeBase does."""
import builtins
import operator
import types

from .._C import NN_BUILTINS
from .._torch_function import torch_function_name

__all__ = ["Node", "map_arg", "map_aggregate", "has_side_effect"]

_LEGAL_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr",
              "output", "root")


def _ember_namespaces():
    import ember
    import ember.nn.functional
    return (ember, ember.nn.functional, ember.linalg, ember.fft, ember.special)


# torch.nn.functional's functions that are C builtins of torch._C._nn or torch (F.linear is
# torch._C._nn.linear, F.conv2d torch.conv2d): the names torch's printouts and code give them
_F_BUILTINS = {
    **{f: "torch._C._nn." + n for f, n in NN_BUILTINS.items()},
    **{n: "torch." + n for n in (
        "adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu_", "channel_shuffle", "conv1d",
        "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "cosine_similarity", "hardshrink", "native_channel_shuffle",
        "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_",
        "rrelu_", "selu_", "threshold_")}}


# torch.linalg, torch.fft and torch.special hand out C builtins: torch.linalg.norm is
# torch._C._linalg.linalg_norm
_C_NAMESPACES = {"torch.linalg.": "torch._C._linalg.linalg_", "torch.fft.": "torch._C._fft.fft_",
                 "torch.special.": "torch._C._special.special_"}


# torch.functional lists these, which torch defines elsewhere (istft is a builtin)
_DEFINED_ELSEWHERE = {"torch.functional.istft": "torch.istft",
                      "torch.functional.pca_lowrank": "torch._lowrank.pca_lowrank",
                      "torch.functional.svd_lowrank": "torch._lowrank.svd_lowrank"}


def _qualified_name(func):
    """The name torch gives `func` in printouts and generated code ("torch.relu",
    "torch.nn.functional.gelu", "torch._C._nn.linear", "torch._C._linalg.linalg_norm",
    "torch.Tensor.add"; "operator.add" is handled by the callers). ember's public functions get
    torch's names: generated code runs with `torch` bound to ember (whose _C has torch's
    builtin modules)."""
    q = _ember_qualified_name(func)
    q = _DEFINED_ELSEWHERE.get(q, q)
    if q.startswith("torch.nn.functional."):
        return _F_BUILTINS.get(q[20:], q)
    for ns, builtin in _C_NAMESPACES.items():
        if q.startswith(ns):
            return builtin + q[len(ns):]
    return q


def _ember_qualified_name(func):
    name = func.__name__
    if getattr(builtins, name, None) is func:
        return name
    torch_name = getattr(func, "torch_name", None)      # a __torch_function__ dispatcher
    if torch_name is not None and not torch_name.startswith("torch.Tensor.__"):
        return torch_name
    module = getattr(func, "__module__", None) or ""
    if module == "torch" or module.startswith("ember"):
        import ember
        for ns in _ember_namespaces():
            # (ember's lazily imported functions, ember.cdist, are under their name there too)
            found = getattr(ns, name, None) if ns is ember else vars(ns).get(name)
            if found is func or getattr(found, "__wrapped__", None) is func:
                if ns is ember:
                    return torch_function_name(name)
                return "torch" + ns.__name__[len("ember"):] + "." + name
        for ns in _ember_namespaces():      # published under another name (linalg.inv is
            for attr, found in vars(ns).items():    # ops.linalg's _linalg_inv)
                if (found is func or getattr(found, "__wrapped__", None) is func) and \
                        not attr.startswith("_"):
                    return "torch" + ns.__name__[len("ember"):] + "." + attr
        if getattr(ember.Tensor, name, None) is func:
            return f"torch.Tensor.{name}"
        if module.startswith("ember"):
            module = "torch" + module[len("ember"):]
    return f"{module}.{name}"


def _type_repr(obj):
    """repr of a type annotation, as torch's (the typing module's) _type_repr."""
    if isinstance(obj, type) and not isinstance(obj, types.GenericAlias):
        if obj.__module__ == "builtins":
            return obj.__qualname__
        return _qualified_name(obj)
    if obj is ...:
        return "..."
    if isinstance(obj, types.FunctionType):
        return obj.__name__
    return repr(obj)


def _format_arg(arg):
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, tuple):
        return "(" + ", ".join(_format_arg(a) for a in arg) + ("," if len(arg) == 1 else "") + ")"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    if isinstance(arg, Node):
        return "%" + str(arg)
    return str(arg)


class Node:
    """One operation: `op` is placeholder, get_attr, call_function, call_method, call_module
    or output; `target` what it calls (a callable for call_function, a name otherwise)."""

    def __init__(self, graph, name, op, target, args, kwargs, return_type=None):
        if op == "call_function":
            if not callable(target):
                raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                                 f"type {type(target).__name__} but a Callable is expected")
        elif op not in _LEGAL_OPS or not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target).__name__} but a str is expected")
        self.graph, self.name, self.op, self.target, self.type = graph, name, op, target, \
            return_type
        self._prev = self._next = self
        self._erased = False
        self._input_nodes = {}
        self.users = {}
        self.meta = {}
        self._repr_fn = None
        self._args, self._kwargs = (), {}
        self._update_args_kwargs(args, kwargs)

    # ---- the linked list ----------------------------------------------------------------
    @property
    def next(self):
        return self._next

    @property
    def prev(self):
        return self._prev

    def prepend(self, x):
        """Move `x` to just before this node."""
        if x is self:
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev, x._next, self._prev = x, p, self, x

    def append(self, x):
        """Move `x` to just after this node."""
        self._next.prepend(x)

    def _remove_from_list(self):
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # ---- arguments and uses -------------------------------------------------------------
    @property
    def args(self):
        return self._args

    @args.setter
    def args(self, a):
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self):
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k):
        self._update_args_kwargs(self._args, k)

    @property
    def all_input_nodes(self):
        return list(self._input_nodes)

    def update_arg(self, idx, arg):
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx, arg):
        self.args = self.args[:idx] + (arg,) + self.args[idx:]

    def update_kwarg(self, key, arg):
        self.kwargs = {**self.kwargs, key: arg}

    def _update_args_kwargs(self, args, kwargs):
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = {}
        self._args = map_arg(args, self._add_input)
        self._kwargs = map_arg(kwargs, self._add_input)

    def _add_input(self, n):
        self._input_nodes.setdefault(n)
        n.users.setdefault(self)
        return n

    def replace_all_uses_with(self, replace_with, delete_user_cb=None, *, propagate_meta=False):
        """Make every user of this node use `replace_with` instead; returns the users
        changed."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError("Called node.replace_all_uses_with(replace_with, "
                                     "propagate_meta=True), but replace_with already has "
                                     ".meta keys")
            replace_with.meta.update(self.meta)
        changed = []
        for user in list(self.users):
            if delete_user_cb is not None and not delete_user_cb(user):
                continue
            changed.append(user)
            user.replace_input_with(self, replace_with)
        return changed

    def replace_input_with(self, old_input, new_input):
        swap = lambda n: new_input if n is old_input else n     # noqa: E731
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    # ---- printing -----------------------------------------------------------------------
    @property
    def stack_trace(self):
        return self.meta.get("stack_trace")

    def __repr__(self):
        return self._repr_fn(self) if self._repr_fn else self.name

    @staticmethod
    def _pretty_print_target(target):
        if isinstance(target, str):
            return target
        module = getattr(target, "__module__", None)
        if module == "builtins":
            return f"builtins.{target.__name__}"
        if module == "_operator":
            return f"operator.{target.__name__}"
        return _qualified_name(target)

    def format_node(self, placeholder_names=None, maybe_return_typename=None):
        """The line Graph.__str__ prints for this node (torch's format)."""
        typename = f"{_type_repr(self.type)} " if self.type is not None else ""
        head = f"%{self.name} : {typename}[num_users={len(self.users)}] = {self.op}"
        if self.op == "placeholder":
            default = f"(default={self.args[0]})" if self.args else ""
            return f"{head}[target={self.target}]{default}"
        if self.op == "get_attr":
            return f"{head}[target={self._pretty_print_target(self.target)}]"
        if self.op == "output":
            if self.type and maybe_return_typename:
                maybe_return_typename[0] = f" -> {_type_repr(self.type)}"
            return f"return {self.args[0]}"
        return (f"{head}[target={self._pretty_print_target(self.target)}](args = "
                f"{_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")

    def is_impure(self):
        """Whether dead-code elimination must keep this node: inputs, the output, asserts,
        setitem and has_side_effect's functions, and calls of modules marked `_is_impure`
        (torch's rules, less its random-op and operator-schema checks)."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_module":
            return getattr(self.graph.owning_module.get_submodule(self.target), "_is_impure",
                           False)
        if self.op == "call_function":
            return self.target in _side_effectful_functions or \
                getattr(self.target, "__name__", "") in ("_assert", "_assert_is_none")
        return False


_side_effectful_functions = {operator.setitem}     # (and has_side_effect's)


def has_side_effect(fn):
    """torch.fx.has_side_effect: dead-code elimination keeps the calls of `fn`."""
    _side_effectful_functions.add(fn)
    return fn

def map_aggregate(a, fn):
    """Apply `fn` to every value inside `a` (tuples, namedtuples, lists, dicts and slices
    keep their structure; torch.return_types' structseqs, no namedtuples in torch, become
    tuples)."""
    t = type(a)
    if t is tuple or isinstance(a, tuple):
        items = [map_aggregate(e, fn) for e in a]
        if hasattr(a, "_fields"):
            return tuple(items) if t.__module__ == "torch.return_types" else t(*items)
        return t(items)
    if isinstance(a, list):
        return [map_aggregate(e, fn) for e in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn):
    """Apply `fn` to every Node inside `a`."""
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)
