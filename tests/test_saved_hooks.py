"""torch.autograd.graph.saved_tensors_hooks / save_on_cpu / disable_saved_tensors_hooks and
register_multi_grad_hook against torch 2.13."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close

_A = np.random.default_rng(0).standard_normal((3, 4))
_B = np.random.default_rng(1).uniform(0.5, 2.0, (3, 4))
_W = np.random.default_rng(2).standard_normal((5, 4))

# name -> fn(lib, a, b, w): the tensors torch saves for these ops are those ember packs
OPS = {
    "pow2": lambda lib, a, b, w: a.pow(2),
    "mul": lambda lib, a, b, w: a * b,
    "mul_const_other": lambda lib, a, b, w: a * b.detach(),
    "square_self": lambda lib, a, b, w: a * a,
    "sin": lambda lib, a, b, w: a.sin(),
    "exp": lambda lib, a, b, w: a.exp(),
    "tanh": lambda lib, a, b, w: a.tanh(),
    "sigmoid": lambda lib, a, b, w: a.sigmoid(),
    "relu": lambda lib, a, b, w: a.relu(),
    "log": lambda lib, a, b, w: b.log(),
    "div": lambda lib, a, b, w: a / b,
    "add": lambda lib, a, b, w: a + b,
    "sum": lambda lib, a, b, w: a.sum(1),
    "view": lambda lib, a, b, w: a.view(12),
    "matmul": lambda lib, a, b, w: a @ w.t(),
    "softmax": lambda lib, a, b, w: a.softmax(-1),
}


def _inputs(lib):
    return (lib.tensor(_A, requires_grad=True), lib.tensor(_B, requires_grad=True),
            lib.tensor(_W, requires_grad=True))


def _record(lib, name):
    """What pack saw (count, input identity, shapes) and the events in order."""
    a, b, w = _inputs(lib)
    events, packed = [], []

    def pack(t):
        events.append("pack")
        packed.append(t)
        return t

    def unpack(t):
        events.append("unpack")
        return t
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = OPS[name](lib, a, b, w)
    events.append("forward done")
    y.sum().backward()
    ids = [("a" if p is a else "b" if p is b else "w" if p is w else "other", tuple(p.shape))
           for p in packed]
    return events, sorted(ids), a.grad


@pytest.mark.parametrize("name", list(OPS))
def test_pack_in_forward_unpack_in_backward(name):
    e_events, e_ids, e_grad = _record(ember, name)
    t_events, t_ids, t_grad = _record(torch, name)
    assert e_ids == t_ids
    assert e_events == t_events
    assert_close(e_grad, t_grad)


@pytest.mark.parametrize("name", [n for n in OPS if n not in ("add", "sum", "view")])
def test_backward_reads_what_was_unpacked(name):
    """An unpack hook that returns other values changes the gradient exactly as in torch: ember's
    backward reads the unpacked tensors, not private copies."""
    grads = []
    for lib in (ember, torch):
        a, b, w = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t * 1.5):
            y = OPS[name](lib, a, b, w)
        y.sum().backward()
        grads.append(a.grad)
    assert_close(grads[0], grads[1])


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))


def _grads(lib, ctx):
    torch.manual_seed(0)
    m = _mlp(torch)
    em = _mlp(ember)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in m.state_dict().items()})
    model = em if lib is ember else m
    x = lib.tensor(_A.astype(np.float32))
    with ctx():
        loss = (model(x).exp() * 0.5).sum()
    loss.backward()
    return [p.grad for p in model.parameters()]


def test_save_on_cpu_gradients_unchanged():
    plain = _grads(ember, lambda: ember.autograd.graph.saved_tensors_hooks(lambda t: t,
                                                                         lambda t: t))
    cpu = _grads(ember, ember.autograd.graph.save_on_cpu)
    ref = _grads(torch, torch.autograd.graph.save_on_cpu)
    for p, c, r in zip(plain, cpu, ref):
        assert_close(c, r, rtol=1e-5, atol=1e-6)
        assert np.array_equal(p.numpy(), c.numpy())


def test_hooks_can_store_to_disk(tmp_path):
    counter = [0]

    def pack(t):
        counter[0] += 1
        path = str(tmp_path / f"{counter[0]}.pt")
        ember.save(t, path)
        return path

    def unpack(path):
        return ember.load(path)

    class Disk(ember.autograd.graph.saved_tensors_hooks):
        def __init__(self):
            super().__init__(pack, unpack)
    on_disk = _grads(ember, Disk)
    assert counter[0] > 0 and len(list(tmp_path.iterdir())) == counter[0]
    ref = _grads(torch, torch.autograd.graph.save_on_cpu)
    for d, r in zip(on_disk, ref):
        assert_close(d, r, rtol=1e-5, atol=1e-6)


def test_unpack_per_backward_and_freed_after():
    for lib in (ember, torch):
        a, b, _ = _inputs(lib)
        n = {"pack": 0, "unpack": 0}

        def pack(t):
            n["pack"] += 1
            return t

        def unpack(t):
            n["unpack"] += 1
            return t
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (a * b).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert n == {"pack": 2, "unpack": 4}, (lib.__name__, n)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()


def test_innermost_hooks_win_and_exit_restores():
    for lib in (ember, torch):
        seen = []
        a, _, _ = _inputs(lib)
        g = lib.autograd.graph
        with g.saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
            with g.saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
                a.sin()
            a.cos()
        a.exp()
        assert seen == ["inner", "outer"]


def test_unpack_must_return_a_tensor():
    msgs = []
    for lib in (ember, torch):
        a, b, _ = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            y = (a * b).sum()
        with pytest.raises(TypeError) as e:
            y.backward()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_disable_saved_tensors_hooks():
    msgs = []
    for lib in (ember, torch):
        g = lib.autograd.graph
        with g.disable_saved_tensors_hooks("hooks are off here"):
            with pytest.raises(RuntimeError) as e:
                with g.save_on_cpu():
                    pass
            with pytest.raises(RuntimeError):
                with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        msgs.append(str(e.value))
        with g.saved_tensors_hooks(lambda t: t, lambda t: t):     # enabled again after
            pass
    assert msgs == ["hooks are off here"] * 2


def test_custom_function_saved_tensors_are_packed():
    def make(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x ** 3
                ctx.save_for_backward(x, y)
                return y

            @staticmethod
            def backward(ctx, g):
                x, y = ctx.saved_tensors
                return 3 * y / x * g
        return Cube
    res = []
    for lib in (ember, torch):
        a = lib.tensor(_B, requires_grad=True)
        n = {"pack": 0, "unpack": 0}

        def pack(t):
            n["pack"] += 1
            return t * 2

        def unpack(t):
            n["unpack"] += 1
            return t
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = make(lib).apply(a)
        y.sum().backward()
        res.append((dict(n), a.grad))
    assert res[0][0] == res[1][0]
    assert_close(res[0][1], res[1][1])


def test_no_hooks_no_packing_cost():
    """Outside the context nodes keep their plain tuples (Node.__init__ is swapped back)."""
    from ember.autograd.node import PackedSaved
    a, b, _ = _inputs(ember)
    with ember.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        inside = a * b
    outside = a * b
    assert type(inside.grad_fn.saved) is PackedSaved
    assert type(outside.grad_fn.saved) is tuple


def test_forward_ad_does_not_call_pack():
    seen = []
    a = ember.tensor(_A, requires_grad=True)
    fw = ember.autograd.forward_ad
    with fw.dual_level(), ember.autograd.graph.saved_tensors_hooks(
            lambda t: seen.append(t) or t, lambda t: t):
        d = fw.make_dual(a, ember.ones(3, 4, dtype=a.dtype))
        y = d.sin()
        tangent = fw.unpack_dual(y).tangent
    assert len(seen) == 1          # the user's SinBackward node only
    assert_close(tangent, torch.tensor(_A).cos())


# ---- register_multi_grad_hook ----------------------------------------------------------------
def _multi(lib, mode, calls):
    a = lib.tensor(_A, requires_grad=True)
    b = lib.tensor(_B, requires_grad=True)
    c = a * b
    d = a * b
    out = []

    def fn(grads):
        if mode == "all":
            out.append([g is not None for g in grads])
        else:
            out.append(tuple(grads.shape))
    h = lib.autograd.graph.register_multi_grad_hook((a, b, c, d), fn, mode=mode)
    try:
        _calls(lib, calls, a, b, c, d, h)
    except RuntimeError as e:
        out.append(str(e))
    return out


def _calls(lib, calls, a, b, c, d, h):
    for call in calls:
        if call == "c":
            c.sum().backward(retain_graph=True)
        elif call == "c_inputs_a":
            c.sum().backward(inputs=(a,), retain_graph=True)
        elif call == "grad_d_b":
            lib.autograd.grad(d.sum(), (b,), retain_graph=True)
        elif call == "both":
            (c + d).sum().backward(retain_graph=True)
        elif call == "remove":
            h.remove()


@pytest.mark.parametrize("mode", ["all", "any"])
@pytest.mark.parametrize("calls", [("c",), ("c", "c_inputs_a"), ("grad_d_b",), ("both", "c"),
                                   ("c", "remove", "c")], ids=lambda c: "+".join(c))
def test_multi_grad_hook_matches_torch(mode, calls):
    assert _multi(ember, mode, calls) == _multi(torch, mode, calls)


def test_multi_grad_hook_bad_mode():
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(ValueError) as e:
            lib.autograd.graph.register_multi_grad_hook((lib.ones(1, requires_grad=True),),
                                                        print, mode="some")
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_node_prehook_and_hook():
    for lib in (ember, torch):
        a = lib.tensor(_A, requires_grad=True)
        y = a.exp()
        seen = []
        y.grad_fn.register_prehook(lambda go: seen.append("pre") or (go[0] * 2,))
        y.grad_fn.register_hook(lambda gi, go: seen.append("post"))
        y.sum().backward()
        assert seen == ["pre", "post"]
        assert np.allclose(a.grad.detach().numpy(), np.exp(_A) * 2)


def test_accumulate_grad_prehook_and_metadata():
    res = []
    for lib in (ember, torch):
        a = lib.tensor(_A, requires_grad=True)
        acc = a.sin().grad_fn.next_functions[0][0]
        acc.metadata["k"] = 1
        assert acc.metadata == {"k": 1}
        h = acc.register_prehook(lambda go: (go[0] * 3,))
        a.sin().sum().backward()
        h.remove()
        a.sin().sum().backward()
        res.append(a.grad.detach().numpy())
    assert np.allclose(res[0], res[1])


def test_double_backward_under_hooks():
    """create_graph backward reads unpacked values too (ember re-runs forwards for double
    backward, so it packs more often than torch: only the gradients are compared)."""
    res = []
    for lib in (ember, torch):
        x = lib.tensor(np.array([0.3, 1.2]), requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 1.0, lambda t: t):
            y = (x.sin() * x).sum()
            g, = lib.autograd.grad(y, x, create_graph=True)
            g.sum().backward()
        res.append(x.grad.detach().numpy())
    assert np.allclose(res[0], res[1])
