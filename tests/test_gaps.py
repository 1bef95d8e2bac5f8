"""Gaps closed against torch: torch.utils._pytree, inference tensors, the conjugate bit and
nn.Parameter of a tensor subclass."""
import collections
import warnings

import pytest
import torch

import ember
from ember.utils import _pytree as ember_pytree
from torch.utils import _pytree as torch_pytree

PYTREE = {torch: torch_pytree, ember: ember_pytree}
Pt = collections.namedtuple("Pt", "a b")


def _trees(lib):
    return [1, None, [], (), {}, [1, (2, 3)], {"a": (1, 2), "b": [3]},
            collections.OrderedDict(x=1, y=[2]), collections.defaultdict(list, {"a": 1}),
            collections.deque([1, 2], maxlen=3), Pt(1, (2, 3)), {"k": Pt([1], {"z": 2})},
            lib.max(lib.ones(2, 2), 0)]


def _raised(fn):
    try:
        return fn()
    except Exception as e:          # noqa: BLE001 - class and message are what is compared
        return type(e).__name__, str(e)


def _spec_report(lib):
    P, out = PYTREE[lib], []
    for tree in _trees(lib):
        leaves, spec = P.tree_flatten(tree)
        again = P.tree_unflatten(leaves, spec)
        out += [len(leaves), repr(spec), str(spec), spec.num_nodes, spec.num_leaves,
                spec.num_children, spec.is_leaf(), repr(spec.context), type(again).__name__,
                spec == P.tree_structure(tree), hash(spec) == hash(P.tree_structure(tree)),
                P.treespec_pprint(spec), _raised(lambda: P.treespec_dumps(spec)),
                [(P.keystr(k), getattr(v, "tolist", lambda: v)())
                 for k, v in P.tree_flatten_with_path(tree)[0]]]
        assert type(again) is type(tree)
        assert all(a is b for a, b in zip(P.tree_leaves(again), leaves, strict=True))
    return out


def test_pytree_specs_print_and_serialize_like_torch():
    assert _spec_report(ember) == _spec_report(torch)


def _map_report(lib):
    P = PYTREE[lib]
    out = [P.tree_map(lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]]),
           P.tree_map(lambda x, y: x + y, {"a": 1, "b": 2}, collections.OrderedDict(b=10, a=20))]
    out += [_raised(lambda: P.tree_map(lambda x, y: x, [1, 2], bad)) for bad in ([[1]], (1, 2))]
    out.append(_raised(lambda: P.tree_map(lambda x, y: x, {"a": 1}, {"c": 1})))
    out.append(P.tree_map_only(int, lambda x: x * 10, [1, 2.0, (3, "s")]))
    out.append(P.tree_map_only((int, str), lambda x: x * 2, [1, 2.0, (3, "s")]))
    out.append(P.tree_map_only(lambda x: x == 2.0, lambda x: -x, [1, 2.0]))
    seen, tree = [], {"a": [1, 2.5], "b": "x"}
    out += [P.tree_map_only_((int, float), seen.append, tree) is tree, seen]
    out += [P.tree_leaves({"a": [1, (2,)], "b": None}),
            P.tree_all(lambda x: x > 0, [1, (2, 3)]), P.tree_any(lambda x: x > 2, [1, (2,)]),
            P.tree_all_only(int, lambda x: x > 0, [1, "a", -1.0]),
            P.tree_any_only(str, lambda x: x == "b", [1, "a"]),
            P.tree_leaves([1, [2, [3]]], is_leaf=lambda x: isinstance(x, list) and len(x) == 1),
            P.tree_map(lambda x: x * 2, Pt(1, {"q": 2}))]
    return out


def test_pytree_map_family_like_torch():
    assert _map_report(ember) == _map_report(torch)


def _registry_report(lib):
    P = PYTREE[lib]

    class Box:
        def __init__(self, v, tag):
            self.v, self.tag = v, tag

    P.register_pytree_node(Box, lambda b: ([b.v], b.tag), lambda vals, tag: Box(vals[0], tag),
                           serialized_type_name="m.Box",
                           flatten_with_keys_fn=lambda b: ([(P.GetAttrKey("v"), b.v)], b.tag))
    leaves, spec = P.tree_flatten({"b": Box((1, 2), "t")})
    rebuilt = P.tree_unflatten([5, 6], spec)["b"]
    out = [leaves, repr(spec).replace(Box.__qualname__, "Box"), rebuilt.v, rebuilt.tag,
           P.treespec_dumps(spec), P.treespec_loads(P.treespec_dumps(spec)) == spec,
           P.tree_map_with_path(lambda k, v: P.keystr(k) + str(v), {"b": Box((1, 2), "t")})["b"].v,
           _raised(lambda: P.register_pytree_node(Box, None, None)).__class__]
    spec = P.tree_structure([1, (2, 3)])
    out += [P.treespec_loads(P.treespec_dumps(spec)) == spec, spec.unflatten([7, 8, 9]),
            repr(spec.children()), repr(spec.child(1)), _raised(lambda: spec.unflatten([1])),
            P.TreeSpec(tuple, None, [P.treespec_leaf()] * 2) == P.tree_structure((1, 2)),
            repr(P.treespec_tuple([P.treespec_leaf()])), repr(P.treespec_dict(a=P.treespec_leaf())),
            P.is_namedtuple(Pt), P.is_namedtuple(Pt(1, 2)), P.is_namedtuple((1,)),
            P.is_structseq(lib.max(lib.ones(2, 2), 0)),
            P.is_namedtuple_class(type(lib.max(lib.ones(2, 2), 0))),
            P.tree_structure(1) is P.tree_structure(2), P.tree_is_leaf([1]),
            P.tree_is_leaf((1,), is_leaf=lambda x: True),
            P._broadcast_to_and_flatten(0, spec), P._broadcast_to_and_flatten([0, 1], spec),
            P._broadcast_to_and_flatten([0, 1, 2], spec),
            repr(P.tree_flatten_with_path([1, {"a": 2}])[0][1][0]),
            _raised(lambda: P.tree_unflatten([1], [1])), P.tree_unflatten(spec, [4, 5, 6])]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out += [repr(spec.children_specs), repr(P.LeafSpec())]
    return out + [(x.category, str(x.message)) for x in w]


def test_pytree_registry_keys_and_treespec_api_like_torch():
    assert _registry_report(ember) == _registry_report(torch)


def test_func_transforms_use_the_public_pytree():
    """vmap's structure errors print torch's TreeSpec."""
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(ValueError) as e:
            lib.func.vmap(lambda x, y: x, in_dims=((0, 0),))(lib.ones(2), lib.ones(2))
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]
    assert ember.utils._pytree is ember_pytree
