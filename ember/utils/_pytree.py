"""torch.utils._pytree: nested containers flattened to a list of leaves and a TreeSpec.

tuple, list, dict, OrderedDict, defaultdict, deque and every namedtuple are containers, and so
is any type given to register_pytree_node; everything else (tensors, numbers, None) is a leaf.
ember's return types (torch.max(x, 0), ...) stand in for torch's structseqs: each is a node of
its own type, registered the first time it is flattened."""
import dataclasses
import functools
import json
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from enum import Enum
from typing import Any, NamedTuple

__all__ = ["PyTree", "Context", "DumpableContext", "PyTreeSpec", "TreeSpec", "LeafSpec",
           "keystr", "key_get", "register_pytree_node", "tree_is_leaf", "tree_flatten",
           "tree_flatten_with_path", "tree_unflatten", "tree_iter", "tree_leaves",
           "tree_leaves_with_path", "tree_structure", "tree_map", "tree_map_with_path",
           "tree_map_", "tree_map_only", "tree_map_only_", "tree_all", "tree_any",
           "tree_all_only", "tree_any_only", "treespec_dumps", "treespec_loads",
           "treespec_pprint", "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance",
           "is_structseq", "is_structseq_class", "is_structseq_instance"]

PyTree = Context = DumpableContext = Any
DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1
NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"


class NodeDef(NamedTuple):
    type: type
    flatten_fn: Any
    unflatten_fn: Any
    flatten_with_keys_fn: Any


class _SerializeNodeDef(NamedTuple):
    typ: type
    serialized_type_name: str
    to_dumpable_context: Any
    from_dumpable_context: Any


SUPPORTED_NODES = {}
SUPPORTED_SERIALIZED_TYPES = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE = {}


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None):
    """Make `cls` a container: flatten_fn(obj) -> (children, context) and
    unflatten_fn(children, context) -> obj; flatten_with_keys_fn(obj) -> ([(key, child)],
    context) enables the *_with_path functions; the other keywords serve treespec_dumps."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    if (to_dumpable_context is None) ^ (from_dumpable_context is None):
        raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} must "
                         "be None or registered.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
    name = NO_SERIALIZED_TYPE_NAME_FOUND if serialized_type_name is None else serialized_type_name
    SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(cls, name, to_dumpable_context,
                                                        from_dumpable_context)
    SERIALIZED_TYPE_TO_PYTHON_TYPE[name] = cls


# ---- keys: one step of a path from the root to a leaf ----

@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True, slots=True)
class MappingKey:
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp):
    """A key path printed as Python would index it: "['a'][1].b"."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp):
    for k in kp:
        obj = k.get(obj)
    return obj


# ---- namedtuples and structseqs ----

def is_structseq_class(cls):
    """Whether `cls` is a C struct sequence (os.stat_result) or one of ember's return types."""
    return (isinstance(cls, type) and cls.__bases__ == (tuple,)
            and all(isinstance(getattr(cls, f, None), int)
                    for f in ("n_fields", "n_sequence_fields", "n_unnamed_fields")))


def is_structseq(obj):
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_instance(obj):
    return is_structseq_class(type(obj))


def is_namedtuple_class(cls):
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(field) is str for field in cls._fields)
            and callable(getattr(cls, "_make", None)) and callable(getattr(cls, "_asdict", None))
            and not is_structseq_class(cls))


def is_namedtuple(obj):
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj):
    return is_namedtuple_class(type(obj))


# ---- the built-in containers ----

def _seq_keys(values):
    return [(SequenceKey(i), v) for i, v in enumerate(values)]


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _dict_flatten_with_keys(d):
    return [(MappingKey(k), v) for k, v in d.items()], list(d)


def _namedtuple_flatten_with_keys(d):
    return [(GetAttrKey(f), v) for f, v in zip(d._fields, d)], type(d)


def _namedtuple_serialize(context):
    name = getattr(SUPPORTED_SERIALIZED_TYPES.get(context), "serialized_type_name",
                   NO_SERIALIZED_TYPE_NAME_FOUND)
    if name == NO_SERIALIZED_TYPE_NAME_FOUND:
        how = ("didn't register a serializated_type_name" if context not in
               SUPPORTED_SERIALIZED_TYPES else "couldn't find a serializated_type_name")
        raise NotImplementedError(f"Can't serialize TreeSpec of namedtuple class {context} "
                                  f"because we {how}. Please register using "
                                  "`_register_namedtuple`.")
    return name


def _namedtuple_deserialize(name):
    if name not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Can't deserialize TreeSpec of namedtuple class {name} "
                                  "because we couldn't find a serializated name.")
    return SERIALIZED_TYPE_TO_PYTHON_TYPE[name]


def _register_namedtuple(cls, *, serialized_type_name):
    """Give the namedtuple `cls` a name, so that treespec_dumps can write specs holding it."""
    SUPPORTED_NODES.pop(cls, None)
    register_pytree_node(cls, SUPPORTED_NODES[namedtuple].flatten_fn, _namedtuple_unflatten,
                         serialized_type_name=serialized_type_name,
                         to_dumpable_context=_namedtuple_serialize,
                         from_dumpable_context=_namedtuple_deserialize,
                         flatten_with_keys_fn=_namedtuple_flatten_with_keys)


def _namedtuple_unflatten(values, context):
    return context(*values)


def _defaultdict_serialize(context):
    factory, keys = context
    return {"default_factory_module": factory.__module__,
            "default_factory_name": factory.__qualname__, "dict_context": keys}


def _defaultdict_deserialize(dumpable):
    import importlib
    module = importlib.import_module(dumpable["default_factory_module"])
    return [getattr(module, dumpable["default_factory_name"]), dumpable["dict_context"]]


register_pytree_node(tuple, lambda d: (list(d), None), lambda values, _: tuple(values),
                     serialized_type_name="builtins.tuple",
                     flatten_with_keys_fn=lambda d: (_seq_keys(d), None))
register_pytree_node(list, lambda d: (d, None), lambda values, _: list(values),
                     serialized_type_name="builtins.list",
                     flatten_with_keys_fn=lambda d: (_seq_keys(d), None))
register_pytree_node(dict, _dict_flatten, lambda values, keys: dict(zip(keys, values)),
                     serialized_type_name="builtins.dict",
                     flatten_with_keys_fn=_dict_flatten_with_keys)
register_pytree_node(namedtuple, lambda d: (list(d), type(d)), _namedtuple_unflatten,
                     serialized_type_name="collections.namedtuple",
                     to_dumpable_context=_namedtuple_serialize,
                     from_dumpable_context=_namedtuple_deserialize,
                     flatten_with_keys_fn=_namedtuple_flatten_with_keys)
register_pytree_node(OrderedDict, _dict_flatten,
                     lambda values, keys: OrderedDict(zip(keys, values)),
                     serialized_type_name="collections.OrderedDict",
                     flatten_with_keys_fn=_dict_flatten_with_keys)
register_pytree_node(defaultdict,
                     lambda d: (list(d.values()), [d.default_factory, list(d)]),
                     lambda values, ctx: defaultdict(ctx[0], zip(ctx[1], values)),
                     serialized_type_name="collections.defaultdict",
                     to_dumpable_context=_defaultdict_serialize,
                     from_dumpable_context=_defaultdict_deserialize,
                     flatten_with_keys_fn=lambda d: (_dict_flatten_with_keys(d)[0],
                                                     [d.default_factory, list(d)]))
register_pytree_node(deque, lambda d: (list(d), d.maxlen),
                     lambda values, maxlen: deque(values, maxlen=maxlen),
                     serialized_type_name="collections.deque",
                     flatten_with_keys_fn=lambda d: (_seq_keys(d), d.maxlen))


def _register_size():
    """torch.Size is a node (torch's proxy_tensor registers it when torch is imported): its ints
    are leaves, and it unflattens to a plain tuple, as torch's does."""
    from .._tensor import Size
    register_pytree_node(Size, lambda xs: (list(xs), None), lambda xs, _: tuple(xs),
                         serialized_type_name="torch.Size",
                         flatten_with_keys_fn=lambda xs: (_seq_keys(xs), None))


_register_size()

STANDARD_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})
BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})


def _register_structseq(cls):
    register_pytree_node(cls, lambda d: (list(d), None), lambda values, _: cls(*values),
                         flatten_with_keys_fn=lambda d: (_seq_keys(d), None))


def _get_node_type(tree):
    kind = type(tree)
    if is_namedtuple_class(kind):        # even one registered on its own
        return namedtuple
    if (kind not in SUPPORTED_NODES and kind.__module__ == "torch.return_types"
            and is_structseq_class(kind)):
        _register_structseq(kind)
    return kind


def tree_is_leaf(tree, is_leaf=None):
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


# ---- TreeSpec ----

@dataclasses.dataclass(init=False, frozen=True, eq=False, repr=False, slots=True)
class TreeSpec:
    """The structure of a pytree: the root's type and context and one spec per child."""
    type: Any
    _context: Any
    _children: list
    num_nodes: int = dataclasses.field(init=False)
    num_leaves: int = dataclasses.field(init=False)
    num_children: int = dataclasses.field(init=False)

    def __init__(self, type, context, children_specs):
        if type is None and (context is not None or children_specs):
            raise AssertionError("leaf node should not have a context"
                                 if context is not None else "leaf node should not have children")
        setattr_ = object.__setattr__
        setattr_(self, "type", type)
        setattr_(self, "_context", context)
        setattr_(self, "_children", children_specs)
        setattr_(self, "num_nodes", 1 + sum(c.num_nodes for c in children_specs))
        setattr_(self, "num_leaves",
                 1 if type is None else sum(c.num_leaves for c in children_specs))
        setattr_(self, "num_children", len(children_specs))

    def __repr__(self, indent=0):
        indent += 2
        children = (",\n" + " " * indent).join(c.__repr__(indent) for c in self._children)
        return f"TreeSpec({self.type.__name__}, {self._context}, [{children}])"

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (str(self.type) == str(other.type) and self._context == other._context
                and self._children == other._children)

    def __hash__(self):
        kind, context = self.type, self._context
        if kind is defaultdict:
            context = (context[0], tuple(context[1]))
        elif kind in (dict, OrderedDict):
            context = tuple(context)
        elif kind is not None and kind not in BUILTIN_TYPES:
            context = None               # a user type's context need not be hashable
        return hash((kind, context, tuple(self._children)))

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self):
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to "
                      "access a single child, or `treespec.children()` to get all children.",
                      FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self):
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self):
        return self._children.copy()

    def child(self, index):
        return self._children[index]

    def flatten_up_to(self, tree):
        """The subtrees of `tree` at this spec's leaves; ValueError where `tree` does not have
        this spec's structure down to them."""
        subtrees = []
        self._flatten_up_to(tree, subtrees)
        return subtrees

    def _flatten_up_to(self, node, subtrees):
        if self.is_leaf():
            subtrees.append(node)
            return
        kind = _get_node_type(node)
        if self.type not in BUILTIN_TYPES:
            if kind != self.type:
                raise ValueError(f"Type mismatch; expected {self.type!r}, but got {kind!r}.")
            children, context = SUPPORTED_NODES[kind].flatten_fn(node)
            if len(children) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                                 f"{len(children)}.")
            if context != self._context:
                raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        else:
            dicts = self.type in STANDARD_DICT_TYPES and kind in STANDARD_DICT_TYPES
            if not dicts and kind != self.type:
                raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {kind!r}.")
            if len(node) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                                 f"{len(node)}.")
            if dicts:                    # any dict kind matches; the keys must
                keys = self._context[1] if self.type is defaultdict else self._context
                missing, extra = set(keys) - set(node), set(node) - set(keys)
                if missing or extra:
                    raise ValueError("Node keys mismatch"
                                     + (f"; missing key(s): {missing}" if missing else "")
                                     + (f"; extra key(s): {extra}" if extra else "") + ".")
                children = [node[key] for key in keys]
            else:
                children, context = SUPPORTED_NODES[kind].flatten_fn(node)
                if kind is not deque and context != self._context:
                    raise ValueError(f"Node context mismatch for node type {self.type!r}; "
                                     f"expected {self._context!r}, but got {context!r}.")
        for child, spec in zip(children, self._children):
            spec._flatten_up_to(child, subtrees)

    def unflatten(self, leaves):
        """The pytree of this structure holding `leaves`."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but "
                             f"the spec refers to a pytree that holds {self.num_leaves} items "
                             f"({self}).")
        return self._build(iter(leaves))

    def _build(self, leaves):
        if self.type is None:
            return next(leaves)
        children = [spec._build(leaves) for spec in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self._context)


PyTreeSpec = TreeSpec


@dataclasses.dataclass(init=False, frozen=True, eq=False, repr=False, slots=True)
class LeafSpec(TreeSpec):
    """The spec of a leaf (deprecated in torch: test `spec.is_leaf()` instead)."""

    def __init__(self):
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use "
                      "`isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead.",
                      FutureWarning, stacklevel=2)
        TreeSpec.__init__(self, None, None, [])

    def __repr__(self, indent=0):
        return "*"


with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    _LEAF_SPEC = LeafSpec()          # all leaves share one spec


def treespec_leaf():
    return _LEAF_SPEC


def treespec_tuple(iterable=(), /):
    children = list(iterable)
    if any(not isinstance(child, TreeSpec) for child in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping=(), /, **kwargs):
    dct = dict(mapping, **kwargs)
    if any(not isinstance(child, TreeSpec) for child in dct.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {dct!r}.")
    return TreeSpec(dict, list(dct), list(dct.values()))


# ---- flatten, unflatten, map ----

def tree_flatten(tree, is_leaf=None):
    """(leaves, spec): the leaves in order and the structure to rebuild `tree` from them."""
    leaves = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(node, leaves, is_leaf):
    if tree_is_leaf(node, is_leaf):
        leaves.append(node)
        return _LEAF_SPEC
    kind = _get_node_type(node)
    children, context = SUPPORTED_NODES[kind].flatten_fn(node)
    return TreeSpec(kind, context, [_flatten(child, leaves, is_leaf) for child in children])


def tree_unflatten(leaves, treespec):
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item "
                            f"of type {type(treespec)}.")
        leaves, treespec = treespec, leaves
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    for child in SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)[0]:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree, is_leaf=None):
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def arg_tree_leaves(*args, **kwargs):
    return tree_leaves(list(args) + list(kwargs.values()))


def tree_map(func, tree, *rests, is_leaf=None):
    """`tree` with each leaf x replaced by func(x, *xs), xs the subtrees of `rests` at x's place
    (each of `rests` has `tree`'s structure down to its leaves)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    return spec.unflatten(map(func, leaves, *[spec.flatten_up_to(r) for r in rests]))


def tree_map_(func, tree, *rests, is_leaf=None):
    """func on each leaf for its side effect; returns `tree`."""
    leaves, spec = tree_flatten(tree, is_leaf)
    deque(map(func, leaves, *[spec.flatten_up_to(r) for r in rests]), maxlen=0)
    return tree


def map_only(type_or_types_or_pred, /):
    """A decorator: the function applies to leaves of the given types (or passing the
    predicate) and leaves the others as they are."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x):
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func):
        @functools.wraps(func)
        def wrapped(x):
            return func(x) if pred(x) else x
        return wrapped
    return wrapper


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None):
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None):
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None):
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None):
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def _broadcast_to_and_flatten(tree, treespec, is_leaf=None):
    """One value per leaf of `treespec`: a leaf of `tree` covers the whole subtree at its
    place (vmap's in_dims and out_dims). None where `tree` is not a prefix of the structure."""
    full = treespec.unflatten([0] * treespec.num_leaves)
    try:
        prefix, spec = tree_flatten(tree, is_leaf)
        subtrees = spec.flatten_up_to(full)
    except ValueError:
        return None
    return [x for x, sub in zip(prefix, subtrees)
            for _ in range(tree_structure(sub, is_leaf).num_leaves)]


# ---- key paths ----

def tree_flatten_with_path(tree, is_leaf=None):
    """([(key path, leaf)], spec)."""
    return list(_key_paths((), tree, is_leaf)), tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    return list(_key_paths((), tree, is_leaf))


def _key_paths(path, tree, is_leaf):
    if is_leaf and is_leaf(tree):
        yield path, tree
        return
    kind = _get_node_type(tree)
    node = SUPPORTED_NODES.get(kind)
    if node is None:
        yield path, tree
        return
    if node.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {kind}. Please pass a "
                         "flatten_with_keys_fn argument to register_pytree_node.")
    for key, child in node.flatten_with_keys_fn(tree)[0]:
        yield from _key_paths((*path, key), child, is_leaf)


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """Like tree_map; func also gets each leaf's key path, as its first argument."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    return spec.unflatten(map(func, *zip(*pairs), *[spec.flatten_up_to(r) for r in rests])
                          if pairs else [])


# ---- serialization ----

class EnumEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, Enum):
            return {"__enum__": True,
                    "fqn": f"{obj.__class__.__module__}:{obj.__class__.__qualname__}",
                    "name": obj.name}
        return super().default(obj)


def _enum_object_hook(obj):
    if "__enum__" not in obj:
        return obj
    import importlib
    module, _, qualname = obj["fqn"].partition(":")
    cls = importlib.import_module(module)
    for attr in qualname.split("."):
        cls = getattr(cls, attr)
    return cls[obj["name"]]


def _treespec_to_json(spec):
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    if spec.type not in SUPPORTED_SERIALIZED_TYPES:
        raise NotImplementedError(f"Serializing {spec.type} in pytree is not registered.")
    node = SUPPORTED_SERIALIZED_TYPES[spec.type]
    if node.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(f"No registered serialization name for {spec.type} found. "
                                  "Please update your _register_pytree_node call with a "
                                  "`serialized_type_name` kwarg.")
    if node.to_dumpable_context is None:
        try:
            context = json.dumps(spec._context, cls=EnumEncoder)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json "
                            "dump-able, or register a custom serializer using "
                            "_register_pytree_node.") from e
    else:
        context = node.to_dumpable_context(spec._context)
    return {"type": node.serialized_type_name, "context": context,
            "children_spec": [_treespec_to_json(c) for c in spec._children]}


def _json_to_treespec(schema):
    if schema["type"] is None and schema["context"] is None and not schema["children_spec"]:
        return _LEAF_SPEC
    if schema["type"] not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Deserializing {schema['type']} in pytree is not registered.")
    kind = SERIALIZED_TYPE_TO_PYTHON_TYPE[schema["type"]]
    node = SUPPORTED_SERIALIZED_TYPES[kind]
    context = (json.loads(schema["context"], object_hook=_enum_object_hook)
               if node.from_dumpable_context is None
               else node.from_dumpable_context(schema["context"]))
    return TreeSpec(kind, context, [_json_to_treespec(c) for c in schema["children_spec"]])


def treespec_dumps(treespec, protocol=None):
    """The spec as a JSON string (each node type needs a serialized_type_name)."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL if protocol is None else protocol
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return json.dumps((protocol, _treespec_to_json(treespec)), cls=EnumEncoder)


@functools.lru_cache
def treespec_loads(serialized):
    protocol, schema = json.loads(serialized)
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return _json_to_treespec(schema)


class _Asterisk(str):
    __slots__ = ()

    def __repr__(self):
        return "*"


def treespec_pprint(treespec):
    """The structure printed as a pytree with * for each leaf: "{'a': [*, (*,)]}"."""
    return repr(treespec.unflatten([_Asterisk("*")] * treespec.num_leaves))
