"""Custom autograd.Function against torch: the same Function body runs on both libraries and
must give the same outputs, gradients, ctx behaviour and error messages."""
import numpy as np
import pytest
import torch

import ember
import ember.autograd
from ember.autograd import gradcheck, gradgradcheck


def _np(t):
    return None if t is None else np.array(t.detach().numpy())


def _close(e, t):
    assert (e is None) == (t is None)
    if e is not None:
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-7)


def both(build):
    """Run build(lib) on torch and ember; return the two results."""
    return build(torch), build(ember)


def _raises_like_torch(build):
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:
            build(lib)
        msgs.append((type(info.value).__name__, str(info.value)))
    assert msgs[1] == msgs[0]


def make_exp(L):
    class Exp(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y
    return Exp


def test_forward_backward_and_node():
    def build(L):
        x = L.tensor([0.5, 1.0, -1.0], dtype=L.float64, requires_grad=True)
        Exp = make_exp(L)
        y = Exp.apply(x)
        (y * y).sum().backward()
        return y, x.grad, y.grad_fn.name(), type(y.grad_fn).__name__, y.requires_grad
    t, e = both(build)
    _close(e[0], t[0])
    _close(e[1], t[1])
    assert e[2:] == t[2:] == ("ExpBackward", "ExpBackward", True)


def test_ctx_fields_and_next_functions():
    def build(L):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, a, k, b):
                ctx.k = k
                ctx.save_for_backward(a, b)
                return a * k + b

            @staticmethod
            def backward(ctx, g):
                assert len(ctx.saved_tensors) == 2
                return g * ctx.k, None, g
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = L.tensor([3.0, 4.0])
        y = F.apply(a, 3, b)
        saved = [_np(s).tolist() for s in y.grad_fn.saved_tensors]
        y.sum().backward()
        return (y.grad_fn.needs_input_grad, [n is None for n, _ in y.grad_fn.next_functions],
                _np(a.grad).tolist(), saved)
    t, e = both(build)
    assert e == t


def test_multiple_outputs_and_non_differentiable():
    def build(L):
        class SortF(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                v, i = x.sort()
                ctx.mark_non_differentiable(i)
                ctx.save_for_backward(i)
                return v, i

            @staticmethod
            def backward(ctx, gv, gi):
                i, = ctx.saved_tensors
                out = L.zeros_like(gv)
                out[i] = gv
                return out
        x = L.tensor([3.0, 1.0, 2.0], requires_grad=True)
        v, i = SortF.apply(x)
        (v * L.tensor([1.0, 10.0, 100.0])).sum().backward()
        return _np(x.grad).tolist(), i.requires_grad, v.requires_grad, _np(i).tolist()
    t, e = both(build)
    assert e == t


def test_unused_output_gets_zeros_or_none():
    def build(L, materialize):
        seen = []

        class Two(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append(None if g2 is None else _np(g2).tolist())
                return g1 * 2 + (0 if g2 is None else g2 * 3)
        x = L.tensor([1.0, 2.0], requires_grad=True)
        a, _ = Two.apply(x)
        a.sum().backward()
        return seen, _np(x.grad).tolist()
    for materialize in (True, False):
        assert build(ember, materialize) == build(torch, materialize)


def test_new_style_setup_context_and_kwargs():
    def build(L):
        class Scale(L.autograd.Function):
            @staticmethod
            def forward(x, scale=2.0):
                return x * scale

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.scale = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g * ctx.scale, None
        x = L.tensor([1.0, 2.0], requires_grad=True)
        Scale.apply(x, scale=5.0).sum().backward()
        y = Scale.apply(x)
        return _np(x.grad).tolist(), _np(y).tolist()
    t, e = both(build)
    assert e == t


def test_mark_dirty():
    def build(L):
        class Double(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = L.tensor([1.0, 2.0], requires_grad=True)
        b = x * 1
        c = Double.apply(b)
        (c * c).sum().backward()
        return c is b, c.grad_fn.name(), b._version, _np(x.grad).tolist()
    t, e = both(build)
    assert e == t

    def leaf_dirty(L):
        class Double(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2
        Double.apply(L.tensor([1.0, 2.0], requires_grad=True))
    _raises_like_torch(leaf_dirty)


def test_returning_an_input_gives_a_view():
    def build(L):
        class Id(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 3
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = Id.apply(x)
        y.sum().backward()
        return y is x, y._base is x, y.grad_fn.name(), _np(x.grad).tolist()
    t, e = both(build)
    assert e == t


def test_no_grad_apply_records_nothing():
    def build(L):
        Exp = make_exp(L)
        x = L.tensor([1.0], requires_grad=True)
        with L.no_grad():
            y = Exp.apply(x)
        return y.requires_grad, y.grad_fn is None
    t, e = both(build)
    assert e == t == (False, True)


def test_saved_tensor_modified_raises_like_torch():
    def case(L):
        Exp = make_exp(L)
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = Exp.apply(x)
        y.add_(1)
        y.sum().backward()
    _raises_like_torch(case)

    def case_input(L):
        class Sq(L.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            def backward(ctx, g):
                a, = ctx.saved_tensors
                return 2 * g * a
        x = L.tensor([1.0, 2.0], requires_grad=True)
        b = x * 1
        c = Sq.apply(b)
        b.add_(1)
        c.sum().backward()
    _raises_like_torch(case_input)


def test_second_backward():
    def saved(L):
        y = make_exp(L).apply(L.tensor([1.0], requires_grad=True))
        y.backward()
        y.backward()
    _raises_like_torch(saved)

    def nothing_saved(L):
        class Twice(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = L.tensor([1.0], requires_grad=True)
        y = Twice.apply(x)
        y.backward()
        y.backward()
        return _np(x.grad).tolist()
    t, e = both(nothing_saved)
    assert e == t == [4.0]


@pytest.mark.parametrize("bad", ["count", "shape", "non_tensor_input", "no_backward", "both"])
def test_errors_like_torch(bad):
    def build(L):
        class Bad(L.autograd.Function):
            @staticmethod
            def forward(ctx, a, k):
                return a * k

        if bad == "count":
            Bad.backward = staticmethod(lambda ctx, g: (g, None, g))
        elif bad == "shape":
            Bad.backward = staticmethod(lambda ctx, g: (g[:1], None))
        elif bad == "non_tensor_input":
            Bad.backward = staticmethod(lambda ctx, g: (g, g))
        elif bad == "both":
            Bad.backward = staticmethod(lambda ctx, g: (g, None))
            Bad.vjp = staticmethod(lambda ctx, g: (g, None))
        x = L.tensor([1.0, 2.0], requires_grad=True)
        Bad.apply(x, 2.0).sum().backward()
    _raises_like_torch(build)


def test_extra_none_gradients_are_dropped():
    def build(L):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2, None, None
        x = L.tensor([1.0], requires_grad=True)
        F.apply(x).backward()
        return _np(x.grad).tolist()
    t, e = both(build)
    assert e == t


def test_double_backward_through_function():
    def build(L):
        class Cube(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * g * x * x
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        g, = L.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        h, = L.autograd.grad(g.sum(), x)
        return _np(g).tolist(), _np(h).tolist()
    t, e = both(build)
    assert e == t == ([3.0, 12.0], [6.0, 12.0])


def test_double_backward_of_saved_output():
    def build(L):
        x = L.tensor([0.5, 1.0], dtype=L.float64, requires_grad=True)
        g, = L.autograd.grad(make_exp(L).apply(x).sum(), x, create_graph=True)
        h, = L.autograd.grad(g.sum(), x)
        return _np(h).tolist()
    t, e = both(build)
    np.testing.assert_allclose(e, t)


def test_once_differentiable():
    def build(L):
        class Sq(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @L.autograd.function.once_differentiable
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * g * x
        x = L.tensor([1.0, 3.0], requires_grad=True)
        Sq.apply(x).sum().backward()
        first = _np(x.grad).tolist()
        g, = L.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        assert not g.requires_grad          # nothing that backward received required grad
        g, = L.autograd.grad(Sq.apply(x), x, L.ones(2, requires_grad=True), create_graph=True)
        return first, g.requires_grad, g
    t, e = both(build)
    assert e[:2] == t[:2] == ([2.0, 6.0], True)
    msgs = []
    for g in (t[2], e[2]):
        with pytest.raises(RuntimeError) as info:
            g.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_gradcheck_and_gradgradcheck_on_function():
    class Tanh(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.tanh()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * (1 - y * y)
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert gradcheck(Tanh.apply, (x,))
    assert gradgradcheck(Tanh.apply, (x,))


def test_legacy_call_raises():
    class F(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x
    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        F()(ember.ones(1))


def test_ctx_of_multi_output_is_reachable_from_each_output():
    class Two(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.tag = "two"
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3
    x = ember.tensor([1.0], requires_grad=True)
    a, b = Two.apply(x)
    assert a.grad_fn.name() == b.grad_fn.name() == "TwoBackward"
    assert a.grad_fn.tag == "two" and b.grad_fn.saved_tensors[0] is x
    (a + b).backward()
    assert x.grad.tolist() == [5.0]


def test_ctx_attributes_with_node_field_names_are_the_users():
    """ctx.inputs, ctx.saved, ctx.next, ctx.op, ... (names of ember's node fields) hold what the
    user stored, in forward, setup_context and backward, as in torch (torch's own reentrant
    checkpoint keeps ctx.inputs); other attributes also read through grad_fn."""
    def run(lib):
        seen_in_backward = []

        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.inputs, ctx.saved, ctx.next, ctx.op, ctx.outs = [x, k], "s", 3, "op", 1
                ctx.hooks, ctx.meta, ctx.epoch, ctx.static, ctx.scale = [], 5, 6, 7, k
                ctx.save_for_backward(x)
                return x * k

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                seen_in_backward.append((ctx.saved, ctx.next, ctx.op, ctx.outs, ctx.hooks,
                                         ctx.meta, ctx.epoch, ctx.static))
                return g * ctx.inputs[1] + 0 * x, None

        class G(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x.exp()

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(output)
                ctx.inputs = inputs

            @staticmethod
            def backward(ctx, g):
                r, = ctx.saved_tensors
                return g * r * len(ctx.inputs)

        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = F.apply(x, 2.0)
        seen = (type(y.grad_fn).__name__, len(y.grad_fn.next_functions), y.grad_fn.scale)
        (y.sum() + G.apply(x).sum()).backward()
        return seen, seen_in_backward, x.grad.tolist()
    assert run(ember) == run(torch)
