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


# ---- inference tensors ----

def _describe(v, lib):
    if isinstance(v, lib.Tensor):
        return ("T", v.is_inference(), v.requires_grad, v.tolist(),
                None if v.grad_fn is None else type(v.grad_fn).__name__)
    return v


def _inference_report(lib):
    out = []

    def r(f):
        try:
            out.append(_describe(f(), lib))
        except Exception as e:          # noqa: BLE001 - class and message are what is compared
            out.append((type(e).__name__, str(e)))

    w, n = lib.ones(3, requires_grad=True), lib.ones(3)
    with lib.inference_mode():
        x = lib.ones(3)
        xv, nv, y = x[1:], n[1:], n + 1
        for f in (lambda: x, lambda: y, lambda: n + w, lambda: nv, lambda: x.add_(1),
                  lambda: n.add_(0), lambda: n._version, lambda: x._version,
                  lambda: lib.ones(2).requires_grad_(), lambda: lib.ones(2, requires_grad=True),
                  lambda: lib.tensor([1.0]), lambda: lib.Tensor([1.0]),
                  lambda: lib.nn.Parameter(lib.ones(1)), lambda: lib.arange(2),
                  lambda: lib.is_inference_mode_enabled(), lambda: lib.is_grad_enabled()):
            r(f)
        with lib.inference_mode(False):
            for f in (lambda: lib.ones(2), lambda: x + 1, lambda: x.add_(1),
                      lambda: lib.is_inference_mode_enabled(), lambda: lib.is_grad_enabled()):
                r(f)
    for f in (lambda: x, lambda: xv, lambda: x.view(3), lambda: x.detach(), lambda: x + 1,
              lambda: x * w, lambda: x + w, lambda: w * x, lambda: x.exp(),
              lambda: w.exp() * x, lambda: lib.matmul(x.reshape(1, 3), w.reshape(3, 1)),
              lambda: x.add_(1), lambda: x, lambda: xv.add_(1), lambda: x.copy_(n), lambda: x,
              lambda: x.__setitem__(0, 5.0), lambda: x, lambda: x.zero_(), lambda: x,
              lambda: x.fill_(3), lambda: x.index_fill_(0, lib.tensor([1]), 9.0), lambda: x,
              lambda: n.copy_(x), lambda: x.requires_grad_(),
              lambda: setattr(x, "requires_grad", True), lambda: x.requires_grad_(False),
              lambda: x._version, lambda: x.clone(), lambda: lib.is_inference(x), lambda: nv,
              lambda: nv.add_(0), lambda: y, lambda: y.add_(0), lambda: x.is_leaf):
        r(f)
    with lib.no_grad():
        r(lambda: x.add_(1))
    with lib.inference_mode(False), lib.no_grad():
        r(lambda: lib.is_grad_enabled())
    return out


def test_inference_tensors_like_torch():
    assert _inference_report(ember) == _inference_report(torch)


def test_inference_mode_decorator_and_module_outputs():
    for lib in (torch, ember):
        m = lib.nn.Linear(3, 2)

        @lib.inference_mode()
        def run(v):
            return m(v)

        out = run(lib.ones(1, 3))
        assert out.is_inference() and not out.requires_grad and not m.weight.is_inference()
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
            out * m.bias
        m(out.clone().repeat(1, 2)[:, :3]).sum().backward()
        assert m.weight.grad.shape == (2, 3)


def test_inference_checks_cost_nothing_once_inference_tensors_are_gone():
    """Nodes check their saved inputs only in inference mode and while inference tensors live."""
    import gc
    node_mod = ember.autograd.node
    plain = node_mod.Node.__init__
    with ember.inference_mode():
        assert node_mod.Node.__init__ is not plain
        x = ember.ones(2)
    assert node_mod.Node.__init__ is not plain
    del x
    gc.collect()
    assert node_mod.Node.__init__ is plain
    assert ember._tensor._new.__code__ is ember._tensor._NEW_CODE


# ---- the conjugate bit ----

def _conj_report(lib):
    out = []

    def r(f):
        try:
            v = f()
            if isinstance(v, lib.Tensor):
                v = (v.tolist(), str(v.dtype), v.is_conj(), v.is_neg(), v.requires_grad,
                     None if v.grad_fn is None else type(v.grad_fn).__name__, v._is_view())
            out.append(v)
        except Exception as e:          # noqa: BLE001 - class and message are what is compared
            out.append((type(e).__name__, str(e)))

    x = lib.tensor([1 + 2j, 3 - 4j])
    c = x.conj()
    for f in (lambda: c, lambda: repr(c), lambda: c._base is x, lambda: c.imag, lambda: c.real,
              lambda: c.resolve_conj(), lambda: c.resolve_conj() is c,
              lambda: x.resolve_conj() is x, lambda: c.conj(), lambda: c.conj() is x,
              lambda: c.conj()._base is x, lambda: c.conj_physical(), lambda: x.conj_physical(),
              lambda: lib.conj(x), lambda: lib.is_conj(c), lambda: c * 2, lambda: c + c,
              lambda: c.clone(), lambda: c.contiguous(), lambda: c.imag.is_neg(), lambda: c[0],
              lambda: lib.view_as_real(c), lambda: c.numpy(), lambda: c.add_(1), lambda: x,
              lambda: c.__setitem__(0, 5j), lambda: x, lambda: c.copy_(lib.tensor([1j, 2j])),
              lambda: x, lambda: (c._version, x._version), lambda: c.imag.add_(1), lambda: x,
              lambda: c.imag.resolve_neg(), lambda: c[1:].conj().mul_(2),
              lambda: (x.tolist(), c.tolist()),
              lambda: x[1:].conj(), lambda: x.conj().conj().is_conj(),
              lambda: lib.tensor([[1 + 1j]]).conj().t(), lambda: c.reshape(2, 1),
              lambda: c.unsqueeze(0), lambda: c.flip(0), lambda: c.sum(),
              lambda: lib.equal(c, x.conj_physical()), lambda: c.to(lib.complex128),
              lambda: c.detach(), lambda: str(lib.tensor([1 + 1j]).conj()),
              lambda: lib.ones(2, 2, dtype=lib.complex64).mH, lambda: x.adjoint()):
        r(f)
    f, i = lib.tensor([1.0, 2.0]), lib.tensor([1, 2])
    for g in (lambda: f.conj(), lambda: f.conj() is f, lambda: f.is_conj(), lambda: f.is_neg(),
              lambda: f.conj_physical() is f, lambda: i.conj() is i, lambda: f.resolve_neg() is f):
        r(g)
    y = lib.tensor([1 + 1j, 2 - 1j])
    r(lambda: y.conj_physical_())
    r(lambda: lib.conj_physical_(y))
    z = lib.tensor([1 + 1j, 2 - 1j], requires_grad=True)
    for g in (lambda: z.conj(), lambda: z.conj_physical(), lambda: z.conj().resolve_conj(),
              lambda: z.conj().imag.resolve_neg(), lambda: (z * 1).conj_physical_(),
              lambda: lib.autograd.grad((z.conj_physical() * lib.tensor([1 + 2j, 3j])).real.sum(),
                                        z)[0]):
        r(g)
    g = lib.autograd.grad((z.conj() * lib.tensor([1 + 2j, 3j])).real.sum(), z)[0]
    out.append(g.tolist())          # (torch's gradient is itself a conjugate view; ember's not)
    return out


def test_conjugate_views_like_torch():
    assert _conj_report(ember) == _conj_report(torch)


def test_conjugate_view_reads_and_numpy():
    for lib in (torch, ember):
        c = lib.tensor([1 + 2j]).conj()
        with pytest.raises(RuntimeError, match="conjugate bit set"):
            c.numpy()
        with pytest.raises(RuntimeError, match="conjugate bit set"):
            import numpy as np
            np.asarray(c)
        assert c.tolist() == [1 - 2j] and c.resolve_conj().numpy().tolist() == [1 - 2j]


@pytest.mark.parametrize("write", ["whole", "part", "conj_of_conj"])
def test_writes_through_conjugate_views_rebase_history_like_torch(write):
    seen = []
    for lib in (torch, ember):
        z = lib.tensor([1 + 2j, 3 - 1j, 2 + 2j], requires_grad=True)
        w = z * 1
        c = w.conj()
        k = lib.tensor([2 + 1j, 1j, 3])
        {"whole": lambda: c.mul_(k), "part": lambda: c[1:].mul_(k[1:]),
         "conj_of_conj": lambda: c.conj().mul_(k)}[write]()
        row = [w.tolist(), c.tolist(), w.grad_fn.name().endswith("CopySlices"),
               c.grad_fn.name(), c.is_conj()]
        (w * lib.tensor([1 + 1j, 2, 1j])).real.sum().backward(retain_graph=True)
        row.append(z.grad.tolist())
        z.grad = None
        (c * lib.tensor([1 + 1j, 2, 1j])).real.sum().backward()
        seen.append(row + [z.grad.tolist()])
    assert seen[0] == seen[1]


# ---- nn.Parameter of a tensor subclass ----

def _subclass_parameter_report(lib):
    nn = lib.nn

    class MyT(lib.Tensor):
        pass

    class Tagged(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs or {})

    def info(p):
        return (type(p).__name__, isinstance(p, nn.Parameter), getattr(p, "_is_param", None),
                p.requires_grad, p.is_leaf, repr(p))

    out = []
    for cls in (MyT, Tagged):
        d = lib.ones(2).as_subclass(cls)
        p = nn.Parameter(d)
        out += [info(p), p is d, info(nn.Parameter(d, requires_grad=False)),
                nn.Parameter(p) is p, getattr(nn.Parameter(d).detach(), "_is_param", None),
                isinstance(d, nn.Parameter), isinstance(lib.ones(1), nn.Parameter)]
        m = nn.Linear(2, 2)
        m.weight = nn.Parameter(lib.ones(2, 2).as_subclass(cls))
        m.double()
        out += [type(m.weight).__name__, str(m.weight.dtype), isinstance(m.weight, nn.Parameter)]
        m.float()
        out.append({k: type(v).__name__ for k, v in m.state_dict().items()})
        m.load_state_dict({"weight": lib.full((2, 2), 3.0), "bias": lib.zeros(2)})
        opt = lib.optim.SGD(m.parameters(), lr=0.5)
        m(lib.ones(1, 2)).sum().backward()
        opt.step()
        out += [type(m.weight).__name__, m.weight.tolist(), type(m.weight.grad).__name__,
                repr(m.weight), [type(q).__name__ for q in m.parameters()]]
        m2 = nn.Module()
        m2.register_parameter("x", nn.Parameter(d))
        m2.y = d                                    # a plain tensor attribute, no parameter
        out += [list(dict(m2.named_parameters())), type(m2.x).__name__,
                type(nn.ParameterList([nn.Parameter(d)])[0]).__name__,
                type(nn.ParameterDict({"a": nn.Parameter(d)})["a"]).__name__]
    out += [type(nn.Parameter(nn.Buffer(lib.ones(2)))).__name__,
            type(nn.Parameter(nn.Parameter(lib.ones(1)))).__name__,
            getattr(nn.Parameter(lib.ones(1)), "_is_param", None)]
    return out


def test_parameter_of_a_tensor_subclass_like_torch():
    try:
        assert _subclass_parameter_report(ember) == _subclass_parameter_report(torch)
    finally:
        # defining a subclass installs the __torch_function__ dispatchers process-wide; the
        # rest of the suite runs without them (as tests/test_torch_function.py does)
        ember._torch_function.disable()
