"""Just enough of torch.utils._pytree for the function transforms: nested tuples, lists, dicts
and namedtuples are containers; everything else (Tensors, numbers, None) is a leaf."""
from collections import OrderedDict, namedtuple

__all__ = ["TreeSpec", "LEAF", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix"]

TreeSpec = namedtuple("TreeSpec", ["type", "context", "children", "num_leaves"])
TreeSpec.__repr__ = lambda s: ("*" if s.type is None else
                               f"{s.type.__name__}({', '.join(map(repr, s.children))})")
LEAF = TreeSpec(None, None, (), 1)


def _node(tree):
    """(type, context, children) of a container; None for a leaf."""
    kind = type(tree)
    if kind is dict or kind is OrderedDict:
        keys = list(tree)
        return kind, keys, [tree[k] for k in keys]
    if kind is tuple or kind is list or (isinstance(tree, tuple) and hasattr(tree, "_fields")):
        return kind, None, list(tree)
    return None


def tree_flatten(tree):
    """(leaves, spec): the leaves in order and the structure to rebuild `tree` from them."""
    node = _node(tree)
    if node is None:
        return [tree], LEAF
    kind, context, children = node
    leaves, specs = [], []
    for child in children:
        child_leaves, spec = tree_flatten(child)
        leaves += child_leaves
        specs.append(spec)
    return leaves, TreeSpec(kind, context, tuple(specs), len(leaves))


def tree_unflatten(leaves, spec):
    return _build(iter(leaves), spec)


def _build(leaves, spec):
    if spec.type is None:
        return next(leaves)
    children = [_build(leaves, s) for s in spec.children]
    if spec.context is not None:
        return spec.type(zip(spec.context, children))
    if spec.type is tuple or spec.type is list:
        return spec.type(children)
    return spec.type(*children)                      # namedtuple


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(leaf) for leaf in leaves], spec)


def broadcast_prefix(prefix, spec):
    """One value per leaf of `spec`: a leaf of `prefix` covers the whole subtree at its place
    (vmap's in_dims/out_dims). None where `prefix` is not a prefix of the structure."""
    node = _node(prefix)
    if node is None:
        return [prefix] * spec.num_leaves
    kind, context, children = node
    if kind is not spec.type or context != spec.context or len(children) != len(spec.children):
        return None
    flat = []
    for child, child_spec in zip(children, spec.children):
        values = broadcast_prefix(child, child_spec)
        if values is None:
            return None
        flat += values
    return flat
