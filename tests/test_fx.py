"""ember.fx against torch.fx: each model and pass is written once against a library `L` and run
with torch and with ember; graphs (str), generated code, node names/targets/users, outputs,
errors and module plumbing must agree. torch prints its C functional `F.gelu` as
`torch._C._nn.gelu` where ember says `torch.nn.functional.gelu`; `_norm` maps one to the other."""
import copy
import math
import operator
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.fx
from ember import _torch_function


def scaled_sign(x, k):
    """A leaf function for fx.wrap: its data-dependent branch cannot be traced through."""
    return x * k if bool(x.sum() > 0) else -x


torch.fx.wrap("scaled_sign")
ember.fx.wrap("scaled_sign")


@pytest.fixture(autouse=True)
def _plain_functions_afterwards():
    """A test that defines a Tensor subclass switches dispatch on; the suite runs without it."""
    yield
    _torch_function.disable()


def _norm(s):
    return s.replace("torch._C._nn.", "torch.nn.functional.")


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _nodes(graph):
    return [(n.op, n.name, _norm(str(n._pretty_print_target(n.target))), len(n.users),
             sorted(u.name for u in n.users)) for n in graph.nodes]


def _summary(gm, *inputs):
    """Everything comparable about a traced module: graph, code, nodes and its outputs next to
    the eager ones."""
    return {"graph": _norm(str(gm.graph)), "code": _norm(gm.code), "nodes": _nodes(gm.graph)}


def _both(program):
    t, e = program(torch), program(ember)
    assert _norm(repr(e)) == _norm(repr(t))
    return t, e


def _assert_close(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_close(x, y)
    else:
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6)


# ---- models, written once against L ---------------------------------------------------------
def _mlp(L):
    nn, F = L.nn, L.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(12, 16)
            self.fc2 = nn.Linear(16, 4)

        def forward(self, x):
            x = x.view(x.size(0), -1)
            h = L.relu(self.fc1(x))
            h = F.relu(h) * x.shape[1] + 1
            return F.softmax(self.fc2(h), dim=-1).relu()
    return MLP()


def _cnn(L):
    nn, F = L.nn, L.nn.functional

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return F.relu(self.conv2(out) + x)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
            self.layer1 = Block(4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 5)
            self.register_buffer("scale", L.ones(5) * 2)

        def forward(self, x):
            x = self.layer1(self.stem(x))
            x = L.flatten(self.pool(x), 1)
            return self.fc(x) * self.scale
    return CNN().eval()


def test_mlp_graph_code_and_outputs():
    def program(L):
        L.manual_seed(0)
        m = _mlp(L)
        gm = L.fx.symbolic_trace(m)
        x = L.randn(3, 3, 4)
        _assert_close(gm(x), m(x))
        return (_summary(gm), type(gm).__name__, gm._get_name(), _norm(str(gm)),
                [n.name for n in gm.graph.nodes if n.op == "placeholder"])
    _both(program)


def test_cnn_residual_state_dict_and_print_readable():
    def program(L):
        L.manual_seed(0)
        m = _cnn(L)
        gm = L.fx.symbolic_trace(m)
        x = L.randn(1, 3, 6, 6)
        _assert_close(gm(x), m(x))
        shared = [gm.get_parameter(k) is p for k, p in m.named_parameters()]
        sd, msd = gm.state_dict(), m.state_dict()
        with L.no_grad():
            m.fc.bias += 1          # the GraphModule holds the very same parameters
        _assert_close(gm(x), m(x))
        return (_summary(gm), list(sd) == list(msd), shared,
                _norm(gm.print_readable(print_output=False)),
                [n for n, _ in gm.named_modules()])
    _both(program)


def test_functional_calls_operators_and_constants():
    def program(L):
        F = L.nn.functional

        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = L.nn.Parameter(L.randn(6, 6))
                self.register_buffer("mask", L.ones(6))
                self.table = L.arange(6.0)        # a plain tensor attribute

            def forward(self, x, y=None):
                a = F.dropout(F.layer_norm(x, (6,)), 0.2, training=False)
                a = F.max_pool2d(a.unsqueeze(0), 1).squeeze(0)
                b = F.pad(x, (1, 1))[:, 1:-1] @ self.w + self.mask - self.table
                c = 2 - (-b) ** 2 / abs(a) + L.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
                first, second = c.chunk(2, dim=1)
                d = L.cat([second, first], 1).sum(dim=0, keepdim=True)
                e = F.gelu(d) / math.sqrt(x.shape[-1]) + F.softmax(x, 1).mean()
                return e, L.stack((a[0], b[1])), x.size()
        L.manual_seed(0)
        m = M()
        gm = L.fx.symbolic_trace(m)
        x = L.randn(4, 6)
        out = gm(x)
        _assert_close(out[:2], m(x)[:2])
        return _summary(gm), tuple(out[2]), sorted(n for n, _ in gm.named_buffers())
    _both(program)


def test_leaf_module_custom_tracer_and_submodule_plumbing():
    def program(L):
        nn = L.nn

        class Inner(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 4)
                self.spare = nn.Linear(2, 2)

            def forward(self, x):
                return self.lin(x).tanh() + 1

        class Outer(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = Inner()
                self.head = nn.Sequential(nn.Linear(4, 3), nn.ReLU())

            def forward(self, x):
                return self.head(self.inner(x) + self.inner(x * 2))

        class LeafTracer(L.fx.Tracer):
            def is_leaf_module(self, m, qualname):
                return isinstance(m, Inner) or super().is_leaf_module(m, qualname)

        L.manual_seed(0)
        m = Outer()
        x = L.randn(2, 4)
        graph = LeafTracer().trace(m)
        gm = L.fx.GraphModule(m, graph, "Outer")
        _assert_close(gm(x), m(x))
        before = [n for n, _ in gm.named_modules()]
        plain = L.fx.symbolic_trace(m)
        stacks = [(n.name, [(k, v[0]) for k, v in n.meta.get("nn_module_stack", {}).items()])
                  for n in plain.graph.nodes]
        plain.delete_all_unused_submodules()
        after_plain = [n for n, _ in plain.named_modules()]
        added = gm.add_submodule("extra.proj", nn.Linear(3, 3))
        deleted = (gm.delete_submodule("extra.proj"), gm.delete_submodule("nothing.here"))
        return (type(graph).__name__, _norm(str(graph)), gm.code, before, _summary(plain),
                stacks, after_plain, added, deleted, [n for n, _ in gm.named_modules()])
    _both(program)


def test_concrete_args():
    def program(L):
        class M(L.nn.Module):
            def forward(self, x, flag: bool = True, scale=None, mode="sum"):
                if flag:
                    x = x.relu()
                if scale is not None:
                    x = x * scale
                return x.sum() if mode == "sum" else x.mean()
        m = M()
        gm = L.fx.symbolic_trace(m, concrete_args={"flag": True, "scale": None, "mode": "sum"})
        x = L.randn(5)
        _assert_close(gm(x), m(x))
        with pytest.raises(AssertionError) as info:
            gm(x, False)
        gm2 = L.fx.symbolic_trace(m, concrete_args={"flag": False, "scale": L.fx.PH,
                                                   "mode": "mean"})
        _assert_close(gm2(x, False, 3.0, "mean"), m(x, False, 3.0, "mean"))
        return _summary(gm), str(info.value), _summary(gm2)
    _both(program)


def test_wrapped_leaf_function():
    def program(L):
        class M(L.nn.Module):
            def forward(self, x):
                return scaled_sign(x + 1, 3).relu()
        m = M()
        gm = L.fx.symbolic_trace(m)
        x = L.randn(4)
        _assert_close(gm(x), m(x))
        _assert_close(gm(-x - 5), m(-x - 5))
        node = next(n for n in gm.graph.nodes if n.target is scaled_sign)
        return _summary(gm), node.meta.get("is_wrapped")
    _both(program)


def test_rewrite_pass_relu_to_gelu():
    """A graph rewrite replacing every relu (function, functional, method, module) by gelu."""
    def program(L):
        F = L.nn.functional
        L.manual_seed(0)
        m = _cnn(L)
        gm = L.fx.symbolic_trace(m)
        graph = gm.graph
        replaced = []
        for node in graph.nodes:
            if node.op == "call_module" and isinstance(gm.get_submodule(node.target), L.nn.ReLU):
                with graph.inserting_after(node):
                    new = graph.call_function(F.gelu, node.args)
            elif node.op == "call_function" and node.target in (L.relu, F.relu):
                with graph.inserting_before(node):
                    new = graph.call_function(F.gelu, node.args[:1])
            else:
                continue
            replaced.append(sorted(u.name for u in node.replace_all_uses_with(new)))
            graph.erase_node(node)
        graph.lint()
        gm.recompile()
        gm.delete_all_unused_submodules()

        def reference(x):
            x = F.gelu(m.stem[0](x))
            out = F.gelu(m.layer1.bn1(m.layer1.conv1(x)))
            x = F.gelu(m.layer1.conv2(out) + x)
            return m.fc(L.flatten(m.pool(x), 1)) * m.scale
        x = L.randn(1, 3, 6, 6)
        _assert_close(gm(x), reference(x))
        return _summary(gm), replaced, [n for n, _ in gm.named_modules()]
    _both(program)


def test_interpreter_records_shapes():
    def program(L):
        class ShapeRecorder(L.fx.Interpreter):
            def run_node(self, n):
                result = super().run_node(n)
                if isinstance(result, L.Tensor):
                    n.meta["shape"] = tuple(result.shape)
                return result

            def call_function(self, target, args, kwargs):
                self.calls = getattr(self, "calls", 0) + 1
                return super().call_function(target, args, kwargs)
        L.manual_seed(0)
        m = _mlp(L)
        gm = L.fx.symbolic_trace(m)
        x = L.randn(3, 3, 4)
        interp = ShapeRecorder(gm)
        out = interp.run(x)
        _assert_close(out, m(x))
        _assert_close(L.fx.Interpreter(gm).run(x), m(x))
        return [(n.name, n.meta.get("shape")) for n in gm.graph.nodes], interp.calls
    _both(program)


def test_transformer_rewrites():
    def program(L):
        class Swap(L.fx.Transformer):
            def call_function(self, target, args, kwargs):
                if target is operator.add:
                    target = operator.sub
                return super().call_function(target, args, kwargs)

            def call_method(self, target, args, kwargs):
                return super().call_method("sigmoid" if target == "relu" else target, args,
                                           kwargs)
        L.manual_seed(0)
        m = _mlp(L)
        gm = L.fx.symbolic_trace(m)
        new = Swap(gm).transform()
        x = L.randn(3, 12)
        F = L.nn.functional
        ref = F.softmax(m.fc2(F.relu(L.relu(m.fc1(x))) * 12 - 1), dim=-1).sigmoid()
        _assert_close(new(x), ref)
        return _summary(new), new.fc1.weight is m.fc1.weight
    _both(program)


def test_varargs_errors_and_hand_built_graphs(capsys):
    def program(L):
        out = []

        def f(a, *args, **kw):
            return a + args[0] * kw["k"]
        gf = L.fx.symbolic_trace(f)
        out.append(_summary(gf))
        out.append(_np(gf(L.ones(2), L.full((2,), 2.0), k=L.full((2,), 3.0))).tolist())
        for bad in (lambda x: x if x.sum() > 0 else -x, lambda x: x * len(x),
                    lambda x: [v for v in x]):
            with pytest.raises(Exception) as info:
                L.fx.symbolic_trace(bad)
            out.append((type(info.value).__name__, str(info.value)))

        g = L.fx.Graph()
        x = g.placeholder("x")
        y = g.call_function(L.add, (x, 1.5))
        dead = g.call_method("neg", (y,))
        z = g.call_function(operator.mul, (y, y), name="prod")
        g.output(z)
        with pytest.raises(RuntimeError) as info:
            g.erase_node(y)
        out.append(str(info.value))
        out.append((str(g), g.eliminate_dead_code(), str(g), dead.next is z))
        gm = L.fx.GraphModule(L.nn.Module(), g)
        out.append((gm.code, _np(gm(L.tensor([1.0, 2.0]))).tolist()))
        gm.graph = g                                # reassigning recompiles
        with pytest.raises(ImportError):
            g.print_tabular()
        out.append(capsys.readouterr().out)
        gm2 = copy.deepcopy(gm)
        out.append((gm2.code == gm.code, gm2.graph is not gm.graph))
        return out
    _both(program)


def test_deepcopy_is_independent():
    def program(L):
        L.manual_seed(0)
        gm = L.fx.symbolic_trace(_mlp(L))
        gm2 = copy.deepcopy(gm)
        x = L.randn(2, 12)
        _assert_close(gm2(x), gm(x))
        return (gm2.code, gm2.fc1.weight is gm.fc1.weight, type(gm2).__name__,
                str(gm2.graph) == str(gm.graph))
    _both(program)


def test_targets_are_the_public_functions():
    """Passes compare node.target with the library's functions; that holds whether or not
    dispatch was on before tracing (a Tensor subclass switches it on), and a trace leaves
    ember's functions as it found them (no dispatch cost afterwards)."""
    def program(L):
        F = L.nn.functional

        def f(x):
            return F.relu(L.relu(x)) + L.cat([x, x]).sum()
        def public(targets):
            return [t is L.relu or t is F.relu or t is L.cat for t in targets]
        before = L.relu
        first = public(n.target for n in L.fx.symbolic_trace(f).graph.nodes)
        kept = L.relu is before

        class Sub(L.Tensor):
            pass
        second = public(n.target for n in L.fx.symbolic_trace(f).graph.nodes)
        return first, kept, second
    _both(program)


def test_replace_pattern():
    def program(L):
        F = L.nn.functional

        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = L.nn.Linear(4, 4)

            def forward(self, x, w):
                a = L.relu(x + w) * 2
                b = L.relu(self.lin(a) + w) * 2
                c = L.relu(b + 1.0) * 2
                return L.relu(a + b) * 2 + c + (x.sigmoid() * x).sum()

        def pattern(x, y):
            return L.relu(x + y) * 2

        def replacement(x, y):
            return F.gelu(x - y)

        def silu_pattern(x):
            return x.sigmoid() * x

        def silu(x):
            return F.silu(x)
        L.manual_seed(0)
        m = M()
        gm = L.fx.symbolic_trace(m)
        matches = L.fx.replace_pattern(gm, pattern, replacement)
        matches += L.fx.replace_pattern(gm, silu_pattern, L.fx.symbolic_trace(silu))
        x, w = L.randn(3, 4), L.randn(3, 4)
        a = F.gelu(x - w)
        b = F.gelu(m.lin(a) - w)
        _assert_close(gm(x, w), F.gelu(a - b) + F.gelu(b - 1.0) + F.silu(x).sum())
        return _summary(gm), [(mt.anchor.name, sorted((k.name, str(v)) for k, v in
                                                      mt.nodes_map.items())) for mt in matches]
    _both(program)


_PYTHON_FUNCTIONS = {   # torch's Python functions: their names and what they hand on
    "atleast_2d": lambda L, x: L.atleast_2d(x, x),
    "block_diag": lambda L, x: L.block_diag(x, x),
    "cdist": lambda L, x: L.cdist(x, x),
    "einsum": lambda L, x: L.einsum("ij->i", x),
    "einsum list": lambda L, x: L.einsum("ij,jk->ik", [x, x.t()]),
    "lu": lambda L, x: L.lu(x[:, :2]),
    "norm": lambda L, x: L.norm(x, 2, 1),
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1], indexing="ij"),
    "pca_lowrank": lambda L, x: L.pca_lowrank(x, 2)[1],
    "split": lambda L, x: L.split(x, 1, 1),
    "stft": lambda L, x: L.stft(x, 4, return_complex=True).abs(),
    "istft": lambda L, x: L.istft(L.stft(x, 4, return_complex=True, window=L.ones(4)), 4,
                                  window=L.ones(4)),
    "tensordot": lambda L, x: L.tensordot(x, x.t(), ([1], [0])),
    "unique": lambda L, x: L.unique(x, return_counts=True),
    "unique_consecutive": lambda L, x: L.unique_consecutive(x, dim=0),
    "unravel_index": lambda L, x: L.unravel_index(L.tensor(5), (3, 4)),
    "max_pool1d indices": lambda L, x: L.nn.functional.max_pool1d(x[None], 2,
                                                                   return_indices=True),
    "adaptive_max_pool1d indices": lambda L, x: L.nn.functional.adaptive_max_pool1d(
        x[None], 2, True),
    "F.sigmoid": lambda L, x: L.nn.functional.sigmoid(x),
    "F.upsample": lambda L, x: L.nn.functional.upsample(x[None], scale_factor=2),
}


@pytest.mark.parametrize("name", list(_PYTHON_FUNCTIONS))
def test_torch_python_functions_are_named_and_passed_as_torchs(name):
    """torch.functional's functions are recorded under that module (pca_lowrank under
    torch._lowrank, istft as the builtin), with the arguments each hands on; F's boolean
    dispatch records the *_with_indices function; F.sigmoid the method it calls."""
    def program(L):
        call = _PYTHON_FUNCTIONS[name]

        class M(L.nn.Module):
            def forward(self, x):
                return call(L, x)
        x = L.arange(24.0).view(3, 8) % 5
        gm = L.fx.symbolic_trace(M())
        L.manual_seed(0)
        out = gm(x)
        L.manual_seed(0)
        _assert_close(out, M()(x))
        return _summary(gm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _both(program)


def _fx_logged(x):
    return x


torch.fx.wrap("_fx_logged")
ember.fx.wrap("_fx_logged")


def test_has_side_effect_keeps_calls_from_dead_code_elimination():
    def program(L):
        class M(L.nn.Module):
            def forward(self, x):
                _fx_logged(x + 1)
                return x * 2
        gm = L.fx.symbolic_trace(M())
        before = _summary(gm)
        kept = L.fx.has_side_effect(_fx_logged)
        changed = gm.graph.eliminate_dead_code()
        gm.recompile()
        return before, kept is _fx_logged, changed, _summary(gm)
    _both(program)
