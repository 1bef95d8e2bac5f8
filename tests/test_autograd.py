"""The autograd engine against torch: gradients, accumulation, freed graphs, grad modes, hooks,
retain_grad, backward(inputs=...), autograd.grad's options, graph introspection, and a
100,000-op chain (no recursion)."""
import time
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.autograd
from ember.autograd import graph


def _np(t):
    return None if t is None else np.array(t.detach().numpy())


def run(lib, fn):
    try:
        return "ok", fn(lib)
    except Exception as e:            # noqa: BLE001 - the class is part of the comparison
        return type(e).__name__, str(e)


def same(fn, rtol=1e-6):
    """fn(lib) on torch and ember: the same outcome (values, or exception class and text)."""
    t, e = run(torch, fn), run(ember, fn)
    assert e[0] == t[0], (e, t)
    if t[0] != "ok":
        assert e[1] == t[1]
        return
    _assert_same(e[1], t[1], rtol)


def _assert_same(e, t, rtol):
    if isinstance(t, (list, tuple)):
        assert isinstance(e, (list, tuple)) and len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            _assert_same(a, b, rtol)
    elif isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), e
        np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=1e-7)
    else:
        assert e == t


def v(L, *values, rg=True, dtype=None):
    return L.tensor(list(values), dtype=dtype or L.float32, requires_grad=rg)


# ---- gradients and accumulation ---------------------------------------------------------------
def test_tutorial():
    a = ember.tensor([1.0, 2, 3], requires_grad=True)
    (a * 2).mean().backward()
    assert repr(a.grad) == "tensor([0.6667, 0.6667, 0.6667])"


def test_mlp_broadcast_and_shared_subexpressions():
    def fn(L):
        g = np.random.default_rng(0)
        x = L.tensor(g.standard_normal((4, 3)), requires_grad=True)
        w = L.tensor(g.standard_normal((3, 5)), requires_grad=True)
        b = L.tensor(g.standard_normal(5), requires_grad=True)
        h = (x @ w + b).tanh()
        s = h * h                      # h used twice: its gradient is summed before tanh's
        loss = (s.sum(1) * h.mean(1)).sum() + (b * 2).sum()
        loss.backward()
        return x.grad, w.grad, b.grad
    same(fn)


def test_accumulation_over_calls():
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0)
        for k in range(3):
            (x * x * k).sum().backward()
        return x.grad
    same(fn)


def test_gradient_dtype_follows_leaf():
    def fn(L):
        x = v(L, 1.0, 2.0)
        y = (x.double() * 3).sum()
        y.backward()
        return x.grad, str(x.grad.dtype)
    t, e = run(torch, fn), run(ember, fn)
    assert e[1][1] == t[1][1] == "torch.float32"


def test_unused_leaf_keeps_none():
    def fn(L):
        x, unused = v(L, 1.0), v(L, 2.0)
        (x * 2).sum().backward()
        return x.grad, unused.grad
    same(fn)


def test_non_scalar_gradient_argument():
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0)
        y = x * x
        y.backward(L.tensor([1.0, 0.5, 2.0]), retain_graph=True)
        y.backward(L.tensor([1.0, 0.5, 2.0]))
        return x.grad
    same(fn)


def test_root_gradient_is_copied():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    g = ember.tensor([3.0, 4.0])
    x.clone().backward(g)
    x.grad.mul_(10)
    assert g.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("case", ["shape", "implicit", "no_grad_fn", "type"])
def test_backward_argument_errors(case):
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0, rg=case != "no_grad_fn")
        y = x * 2
        if case == "shape":
            y.backward(L.tensor([1.0, 1.0]))
        elif case == "implicit":
            y.backward()
        elif case == "no_grad_fn":
            y.sum().backward()
        else:
            y.backward([1.0, 1.0, 1.0])
    t, e = run(torch, fn), run(ember, fn)
    if case == "type":
        assert t[0] == e[0] == "TypeError"
    else:
        assert e == t


# ---- freed graphs -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda L, x: (x * 2).sum(),             # saves the scalar operand: freed
    lambda L, x: (x * x).sum(),
    lambda L, x: x.exp().sum(),
    lambda L, x: x.sum(),                   # saves nothing: a second backward is allowed
    lambda L, x: (x + 1).sum(),
    lambda L, x: x.view(3).sum(),
], ids=["mul_scalar", "mul", "exp", "sum", "add", "view"])
def test_second_backward_like_torch(make):
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0)
        y = make(L, x)
        y.backward()
        y.backward()
        return x.grad
    same(fn)


def test_retain_graph_allows_second_backward():
    def fn(L):
        x = v(L, 1.0, 2.0)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    same(fn)


# ---- grad modes -----------------------------------------------------------------------------
def test_grad_modes_as_context_managers_and_decorators():
    def fn(L):
        x = v(L, 1.0)
        out = []

        @L.no_grad()
        def f(a):
            return a * 2

        @L.no_grad
        def f_bare(a):
            return a * 2

        @L.enable_grad()
        def g(a):
            return a * 2

        @L.inference_mode()
        def h(a):
            return a * 2

        @L.inference_mode(False)
        def h_off(a):
            return a * 2

        @L.set_grad_enabled(False)
        def s(a):
            return a * 2

        out += [f(x).requires_grad, f_bare(x).requires_grad, h(x).requires_grad,
                h_off(x).requires_grad, s(x).requires_grad, L.is_grad_enabled()]
        with L.no_grad():
            out += [g(x).requires_grad, (x * 2).requires_grad, L.is_grad_enabled()]
            with L.enable_grad():
                out.append((x * 2).requires_grad)
        with L.set_grad_enabled(False):
            out.append((x * 2).requires_grad)
        L.set_grad_enabled(False)
        out.append((x * 2).requires_grad)
        L.set_grad_enabled(True)
        with L.inference_mode():
            out += [(x * 2).requires_grad, L.is_inference_mode_enabled()]
        out += [L.is_inference_mode_enabled(), L.is_grad_enabled(), (x * 2).requires_grad]
        return out
    same(fn)


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


# ---- hooks and retain_grad ------------------------------------------------------------------
def test_hooks_replace_gradients_on_leaves_and_non_leaves():
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0)
        calls = []
        x.register_hook(lambda g: g + 1)
        y = x * 2
        y.register_hook(lambda g: calls.append(_np(g).tolist()))
        y.register_hook(lambda g: g * 3)
        h = y.register_hook(lambda g: g * 100)
        h.remove()
        (y * y).sum().backward()
        return x.grad, calls
    same(fn)


@pytest.mark.parametrize("order", ["retain_first", "hook_first"])
def test_retain_grad_sees_hooked_gradient(order):
    def fn(L):
        x = v(L, 1.0, 2.0, 3.0)
        y = x * 2
        if order == "retain_first":
            y.retain_grad()
            y.register_hook(lambda g: g * 3)
        else:
            y.register_hook(lambda g: g * 3)
            y.retain_grad()
        (y * y).sum().backward()
        return x.grad, y.grad, y.retains_grad, x.retains_grad
    same(fn)


def test_retain_grad_accumulates_and_errors():
    def fn(L):
        x = v(L, 1.0, 2.0)
        y = x * 3
        y.retain_grad()
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        return y.grad
    same(fn)

    def no_grad(L):
        L.tensor([1.0]).retain_grad()
    same(no_grad)


def test_post_accumulate_grad_hook():
    def fn(L):
        x = v(L, 1.0, 2.0)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(_np(t.grad).tolist()))
        (x * x).sum().backward()
        (x * 3).sum().backward()
        return seen
    same(fn)

    def non_leaf(L):
        (v(L, 1.0) * 2).register_post_accumulate_grad_hook(lambda t: None)
    same(non_leaf)


def test_hook_on_tensor_without_grad_raises():
    same(lambda L: L.tensor([1.0]).register_hook(lambda g: g))


def test_hook_on_one_output_of_a_multi_output_op():
    def fn(L):
        x = v(L, 3.0, 1.0, 2.0)
        vals, _ = x.sort()
        vals.register_hook(lambda g: g * 5)
        (vals * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        return x.grad
    same(fn)


# ---- backward(inputs=...) and autograd.grad ---------------------------------------------------
def test_backward_inputs():
    def fn(L):
        x, w = v(L, 1.0, 2.0, 3.0), v(L, 0.5, 0.5, 0.5)
        y = x * w
        z = y.exp().sum()
        z.backward(inputs=[y, x])          # x lies upstream of y: both get gradients
        return x.grad, w.grad, y.grad
    same(fn)

    def empty(L):
        x = v(L, 1.0)
        (x * 2).sum().backward(inputs=[])
    same(empty)


def test_grad_multiple_outputs_inputs_and_grad_outputs():
    def fn(L):
        x, y = v(L, 1.0, 2.0, 3.0), v(L, 4.0, 5.0, 6.0)
        outs = [(x * y).sum(), x * x]
        return L.autograd.grad(outs, [x, y], grad_outputs=[L.tensor(2.0), L.ones(3)])
    same(fn)


def test_grad_does_not_touch_dot_grad_and_frees_graph():
    def fn(L):
        x = v(L, 1.0, 2.0)
        y = (x * x).sum()
        g, = L.autograd.grad(y, x)
        return g, x.grad, run(L, lambda _: L.autograd.grad(y, x))[0]
    same(fn)


@pytest.mark.parametrize("kw", [dict(), dict(allow_unused=True), dict(materialize_grads=True),
                                dict(allow_unused=False, materialize_grads=True)])
def test_grad_unused_inputs(kw):
    def fn(L):
        x, y = v(L, 1.0, 2.0), v(L, 3.0, 4.0)
        return L.autograd.grad((x * 2).sum(), [x, y], **kw)
    t, e = run(torch, fn), run(ember, fn)
    assert e[0] == t[0]
    if t[0] == "ok":
        _assert_same(e[1], t[1], 1e-6)
    elif t[0] == "RuntimeError":
        assert e[1] == t[1]


def test_grad_input_without_requires_grad():
    same(lambda L: L.autograd.grad((v(L, 1.0) * 2).sum(), [L.tensor([1.0])]))


def test_grad_results_are_writable_and_independent():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor([3.0, 4.0], requires_grad=True)
    gx, gy = ember.autograd.grad((x + y).sum(), [x, y])
    gx.add_(1)
    assert gy.tolist() == [1.0, 1.0] and gx.tolist() == [2.0, 2.0]


def test_autograd_backward_function():
    def fn(L):
        x = v(L, 1.0, 2.0)
        L.autograd.backward([(x * x).sum(), x * 3], [None, L.tensor([1.0, 2.0])])
        return x.grad
    same(fn)


def test_grad_prunes_unneeded_branches():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    calls = []
    a = x * 2
    b = w.exp()
    b.register_hook(lambda g: calls.append(1))
    ember.autograd.grad((a * 3 + b).sum(), x)
    assert calls == []                 # w's branch does not lead to x: it never runs


# ---- graph introspection ----------------------------------------------------------------------
def test_next_functions_and_names():
    def fn(L):
        x = v(L, 1.0, 2.0)
        y = (x * 2).sum()
        nf = y.grad_fn.next_functions
        inner = nf[0][0].next_functions
        return (y.grad_fn.name(), len(nf), nf[0][0].name(), nf[0][1],
                [(None if n is None else n.name(), i) for n, i in inner],
                inner[0][0].variable is x)
    same(fn)


def test_graph_module():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v0, _ = x.sort()
    assert isinstance(y.grad_fn, graph.Node) and isinstance(x._leaf_node(), graph.Node)
    edge = graph.get_gradient_edge(x)
    assert edge.node.name() == "torch::autograd::AccumulateGrad" and edge.output_nr == 0
    assert graph.get_gradient_edge(v0).node is v0.grad_fn.public()
    before = y._version
    graph.increment_version(y)
    assert y._version == before + 1
    with pytest.raises(RuntimeError):
        graph.get_gradient_edge(ember.ones(1))


def test_legacy_variable():
    # Variable(t) is a new leaf sharing t's storage (t.detach()), as torch's: t itself is
    # left alone, a non-leaf's graph is cut
    for lib in (ember, torch):
        t = lib.ones(2)
        v = lib.autograd.Variable(t, requires_grad=True)
        assert v is not t and v.requires_grad and not t.requires_grad and v.is_leaf
        assert v.data_ptr() == t.data_ptr()
        assert isinstance(t, lib.autograd.Variable)
        y = lib.ones(2, requires_grad=True) * 2
        w = lib.autograd.Variable(y)
        assert w.grad_fn is None and not w.requires_grad and w.is_leaf


# ---- no recursion -----------------------------------------------------------------------------
def test_chain_of_100000_ops():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0
        y = y + 0.0
    start = time.perf_counter()
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    assert time.perf_counter() - start < 20
    del y                              # freeing the chain must not recurse either


def test_cast_to_integer_or_bool_carries_no_gradient():
    import torch
    for name in ("int", "long", "bool", "short", "char", "byte"):
        e = getattr(ember.randn(3, requires_grad=True), name)()
        t = getattr(torch.randn(3, requires_grad=True), name)()
        assert (e.requires_grad, e.grad_fn is None) == (t.requires_grad, t.grad_fn is None)
    for dt in ("float64", "float16", "complex64"):
        x = ember.randn(3, requires_grad=True)
        assert x.to(getattr(ember, dt)).requires_grad


@pytest.mark.parametrize("case", ["observe", "replace", "wrong_count", "removed", "function",
                                  "multi_output"])
def test_node_post_hooks_match_torch(case):
    """grad_fn.register_hook(fn): fn(grad_inputs, grad_outputs) after the node runs; a tuple it
    returns replaces grad_inputs."""
    def run(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0])
        seen = []

        def record(gi, go):
            seen.append(([None if x is None else x.tolist() for x in gi],
                         [None if x is None else x.tolist() for x in go]))
        if case == "multi_output":
            parts = (a * b).unbind()
            parts[0].grad_fn.register_hook(record)
            (parts[0] * 2 + parts[1]).backward()
            return seen, a.grad.tolist()
        if case == "function":              # the node of a custom autograd.Function
            class Triple(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x, w):
                    return x * w * 3

                @staticmethod
                def backward(ctx, g):
                    return g * 3, None
            y = Triple.apply(a, b)
        else:
            y = a * b
        if case == "observe" or case == "function":
            y.grad_fn.register_hook(record)
        elif case == "replace":
            y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, gi[1]))
        elif case == "wrong_count":
            y.grad_fn.register_hook(lambda gi, go: (gi[0],))
        else:
            y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, gi[1])).remove()
        try:
            y.sum().backward()
        except RuntimeError as e:
            return str(e)
        return seen, a.grad.tolist()
    assert run(ember) == run(torch)


def test_backward_frees_activations_the_graph_still_references():
    """After backward (without retain_graph) a node keeps only the shapes of its big inputs,
    as torch frees what it saved: a `loss` held until the next step holds no activations. A
    second backward through ops that saved nothing still works, as in torch."""
    import gc
    import weakref
    x = ember.randn(256, 256, requires_grad=True)
    h = x * 2
    ref = weakref.ref(h.arr)
    loss = (h + 1).sum()
    del h
    loss.backward()
    gc.collect()
    assert ref() is None and loss.grad_fn is not None
    kept = x * 3                            # retain_graph keeps what backward reads
    ref = weakref.ref(kept.arr)
    loss2 = kept.sin().sum()
    del kept
    loss2.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    for lib in (ember, torch):                          # twice through add and sum
        a = lib.ones(300, 300, requires_grad=True)
        y = (a + 1).sum()
        y.backward()
        y.backward()
        assert a.grad[0, 0].item() == 2.0


@pytest.mark.parametrize("code", ["(x * 2).tanh().sum()", "x[0:2].exp()", "x @ x", "x.view(3, 1)",
                                  "torch.nn.functional.relu(x).mean()", "x.clone().add_(1)",
                                  # multi-output ops: each output's grad_fn is the op's node
                                  "x.split(2)[1] * 2", "x.chunk(3)[2]", "x.unbind()[0]",
                                  "x.view(1, 3).max(1)[0]", "x.sort()[0].exp()",
                                  "x.topk(2)[0] + x.min(0)[0]"])
def test_grad_fn_classes_carry_torchs_names(code):
    """type(t.grad_fn).__name__ is torch's node name, down the graph (torchviz reads it)."""
    def names(lib):
        y = eval(code, {"torch": lib, "x": lib.ones(3, requires_grad=True)})
        out, stack = [], [y.grad_fn]
        while stack:
            n = stack.pop()
            if n is not None:
                out.append(type(n).__name__)
                stack.extend(f for f, _ in n.next_functions)
        return out
    assert names(ember) == names(torch)


def test_non_leaf_requires_grad_flag_and_grad_read_as_torch():
    """Setting requires_grad on a non-leaf raises (either value), and reading a non-leaf's
    .grad warns unless it retains its gradient, as in torch."""
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        for value, hint in ((True, False), (False, True)):
            with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf") as e:
                y.requires_grad = value
            assert ("detach" in str(e.value)) == hint
        with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
            assert y.grad is None
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y.grad is None and x.grad is None


def test_gradients_accumulate_in_place_only_into_arrays_nobody_holds():
    """The engine adds a second gradient into the first in place (torch's InputBuffer) only
    when nothing else holds it: a gradient given to backward, or kept by a hook, keeps its
    values, and every .grad is torch's."""
    x0 = np.random.default_rng(5).standard_normal((3, 4))
    g0 = np.random.default_rng(6).standard_normal((3, 4))
    results = []
    for lib in (ember, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 1.5
        kept = []
        r = (y * 2).relu()
        r.register_hook(lambda g: kept.append(g))     # (the array y's gradient starts as)
        z = y + r
        w = z + (z * 3).tanh()
        gw = lib.tensor(g0)
        w.backward(gw)
        results.append((x.grad.numpy().copy(), gw.numpy().copy(),
                        [k.numpy().copy() for k in kept]))
    (xe, ge, ke), (xt, gt, kt) = results
    np.testing.assert_allclose(xe, xt, rtol=1e-12)
    assert np.array_equal(ge, g0) and np.array_equal(gt, g0)
    assert len(ke) == len(kt) == 1
    np.testing.assert_allclose(ke[0], kt[0], rtol=1e-12)
