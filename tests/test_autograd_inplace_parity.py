"""In-place fills and autograd bookkeeping against torch: zero_/fill_/the random fills record
nodes (and raise on leaves) like any in-place op, copy_ and set_ under autograd, the checked
setters of requires_grad and grad, np.asarray of a tensor that requires grad, tensor hooks that
change the gradient's size or type, autograd.grad's empty inputs, and views made in no_grad
mode. Every case runs the same code on torch and on ember."""
import functools

import numpy as np
import pytest
import torch

import ember


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return np.array(t.numpy())


def run(lib, fn):
    try:
        return "ok", fn(lib)
    except Exception as e:            # noqa: BLE001 - the class is part of the comparison
        return type(e).__name__, str(e)


def same(fn):
    """fn(lib) on torch and ember: the same outcome (values, or exception class and text)."""
    t, e = run(torch, fn), run(ember, fn)
    assert e[0] == t[0], (e, t)
    if t[0] != "ok":
        assert e[1] == t[1]
        return
    _assert_same(e[1], t[1])


def _assert_same(e, t):
    if isinstance(t, (list, tuple)):
        assert isinstance(e, (list, tuple)) and len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            _assert_same(a, b)
    elif isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), e
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-7)
    else:
        assert e == t, (e, t)


def name(t):
    """grad_fn's name without torch's C++ namespace (torch::autograd::CopySlices)."""
    return None if t.grad_fn is None else t.grad_fn.name().replace("torch::autograd::", "")


def next_names(t):
    return [None if n is None else n.name().replace("torch::autograd::", "")
            for n, _ in t.grad_fn.next_functions]


# ---- A1: zero_, fill_ and the random fills under autograd --------------------------------------
FILLS = [("zero_", ()), ("fill_", (3.0,)), ("uniform_", ()), ("uniform_", (-1.0, 2.0)),
         ("normal_", ()), ("normal_", (1.0, 0.5)), ("bernoulli_", ()), ("bernoulli_", (0.3,)),
         ("random_", ()), ("random_", (5,)), ("random_", (1, 5)), ("exponential_", ()),
         ("geometric_", (0.5,)), ("log_normal_", ()), ("cauchy_", ())]
FILL_IDS = [f"{n}{len(a)}" for n, a in FILLS]


@pytest.mark.parametrize("method,args", FILLS, ids=FILL_IDS)
def test_fill_on_non_leaf_records_a_node(method, args):
    def fn(L):
        a = L.ones(3, requires_grad=True)
        x = a * 2
        getattr(x, method)(*args)
        names = name(x), next_names(x), x.requires_grad, x.is_leaf, x._version
        x.sum().backward()
        return names, a.grad
    same(fn)


@pytest.mark.parametrize("method,args", FILLS, ids=FILL_IDS)
def test_fill_through_a_view_is_copy_slices(method, args):
    def fn(L):
        a = L.ones(3, requires_grad=True)
        x = a * 2
        v = x[1:]
        getattr(v, method)(*args)
        names = name(x), name(v)
        (x * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        return names, a.grad
    same(fn)


@pytest.mark.parametrize("method,args", FILLS, ids=FILL_IDS)
def test_fill_on_leaf_or_view_of_leaf_raises(method, args):
    same(lambda L: getattr(L.ones(3, requires_grad=True), method)(*args))
    same(lambda L: getattr(L.ones(3, requires_grad=True)[1:], method)(*args))


@pytest.mark.parametrize("method,args", FILLS, ids=FILL_IDS)
def test_fill_under_no_grad_just_writes(method, args):
    def fn(L):
        a = L.ones(3, requires_grad=True)
        with L.no_grad():
            getattr(a, method)(*args)
            getattr(a[1:], method)(*args)
        b = L.ones(3)
        getattr(b, method)(*args)
        return a.requires_grad, a.grad_fn is None, a._version, b.requires_grad, b._version
    same(fn)


@pytest.mark.parametrize("method,args", FILLS, ids=FILL_IDS)
def test_fill_then_double_backward(method, args):
    def fn(L):
        a = L.ones(3, requires_grad=True)
        x = a * a
        getattr(x, method)(*args)
        g, = L.autograd.grad((x * a).sum(), a, create_graph=True)
        return g.requires_grad, name(g) is not None
    same(fn)


def test_fill_errors_come_after_the_leaf_check():
    same(lambda L: L.ones(2, requires_grad=True).uniform_(2, 1))
    same(lambda L: L.ones(2, requires_grad=True).fill_(L.ones(2)))
    same(lambda L: (L.ones(2, requires_grad=True) * 2).uniform_(2, 1))
    same(lambda L: (L.ones(2, requires_grad=True) * 2).fill_(L.ones(2)))
    same(lambda L: (L.ones(2, requires_grad=True) * 2).random_(5, 1))


def test_fill_with_a_tensor_value_that_requires_grad():
    def non_leaf(L):
        a = L.ones(2, requires_grad=True)
        v = L.tensor(3.0, requires_grad=True)
        x = a * 2
        x.fill_(v)
        names = name(x), next_names(x)
        (x * L.tensor([1.0, 2.0])).sum().backward()
        return names, x, a.grad, v.grad

    def view(L):
        a = L.ones(3, requires_grad=True)
        v = L.tensor(3.0, requires_grad=True)
        x = a * 2
        x[1:].fill_(v)
        (x * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        return name(x), a.grad, v.grad

    def plain_self(L):
        b = L.ones(2)
        b.fill_(L.tensor(3.0, requires_grad=True))
        return b, b.requires_grad, b.is_leaf, name(b)

    def plain_view(L):
        b = L.ones(3)
        b[1:].fill_(L.tensor(3.0, requires_grad=True))
        return b, b.requires_grad, name(b)

    def double_value(L):
        x = L.ones(2, 3)
        v = L.tensor(2.0, dtype=L.float64, requires_grad=True)
        x.fill_(v)
        (x * L.arange(6.0).view(2, 3)).sum().backward()
        return x, v.grad

    def second_order(L):
        a = L.ones(3, requires_grad=True)
        v = L.tensor(2.0, requires_grad=True)
        x = a * a
        x[1:].fill_(v * v)
        g = L.autograd.grad((x * a).sum(), [a, v], create_graph=True)
        return g, L.autograd.grad(g[1], v)

    for fn in (non_leaf, view, plain_self, plain_view, double_value, second_order):
        same(fn)


def test_fill_value_conversion_checks():
    for dt in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
               "uint8", "bool", "complex64"):
        for value in (1j, 300, 1 + 0j, -1, -255, -256, -1.0, 2.5):
            same(lambda L, dt=dt, value=value: L.ones(2, dtype=getattr(L, dt)).fill_(value))
    same(lambda L: L.ones(2, dtype=L.int8).fill_(-2.7))
    same(lambda L: L.ones(2, dtype=L.float16).fill_(1e6))
    same(lambda L: L.ones(2, dtype=L.float16).fill_(float("inf")))
    same(lambda L: L.ones(2, dtype=L.int64).fill_(float("nan")))
    same(lambda L: L.ones(2, dtype=L.int64).fill_(2 ** 63))
    same(lambda L: L.ones(2).fill_(L.tensor([2.0])))
    same(lambda L: (L.ones(2, requires_grad=True) * 1).fill_(1j))


def test_bernoulli_with_a_probability_tensor():
    def fn(L):
        a = L.ones(3, requires_grad=True)
        p = L.full((3,), 0.5, requires_grad=True)
        x = a * 2
        x.bernoulli_(p)
        names = name(x), next_names(x)
        x.sum().backward()
        return names, a.grad, p.grad
    same(fn)


def test_torch_fill_out_of_place():
    def scalar(L):
        a = L.ones(2, requires_grad=True)
        y = L.fill(a * 2, 0.5)
        names = name(y), next_names(y)
        y.sum().backward()
        return names, y, a.grad

    def tensor(L):
        a = L.ones(2, requires_grad=True)
        v = L.tensor(2.0, requires_grad=True)
        y = L.fill(a, v)
        names = name(y), next_names(y)
        y.sum().backward()
        return names, y, a.grad, v.grad

    def plain(L):
        a = L.ones(2, dtype=L.int32)
        y = L.fill(a, 2.7)
        y[0] = 5                    # a new tensor, not an alias of anything
        return y, a, y.requires_grad
    for fn in (scalar, tensor, plain):
        same(fn)


def test_fills_and_versions_of_saved_tensors():
    def saved_input(L):
        a = L.ones(2, requires_grad=True)
        x = a * 1
        y = x * x                       # saves x
        x.zero_()
        y.sum().backward()

    def saved_output(L):
        a = L.ones(2, requires_grad=True)
        x = a.exp()                     # saves its output
        x.fill_(2.0)
        x.sum().backward()

    def other_views_follow(L):
        a = L.ones(4, requires_grad=True)
        x = a * 2
        v = x[1:3]
        x.zero_()
        names = name(v)
        (v * L.arange(2.0)).sum().backward()
        return names, a.grad
    for fn in (saved_input, saved_output, other_views_follow):
        same(fn)


def test_parameter_initialisation_and_zero_grad_still_work():
    def fn(L):
        lin = L.nn.Linear(3, 2)
        L.nn.init.normal_(lin.weight)
        L.nn.init.zeros_(lin.bias)
        L.nn.init.constant_(lin.bias, 0.5)
        lin.reset_parameters()
        opt = L.optim.SGD(lin.parameters(), lr=0.1)
        lin(L.ones(1, 3)).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        lin.weight.grad.zero_()
        return (lin.weight.requires_grad, lin.weight.is_leaf, lin.weight.grad,
                lin.bias.grad, lin.weight.grad.requires_grad)
    same(fn)


# ---- A5: requires_grad and grad setters, np.asarray ---------------------------------------------
@pytest.mark.parametrize("case", [
    lambda L: setattr(L.tensor([1, 2]), "requires_grad", True),
    lambda L: setattr(L.tensor([1, 2]), "requires_grad", False),
    lambda L: setattr(L.ones(2, requires_grad=True) * 2, "requires_grad", False),
    lambda L: setattr(L.ones(2), "requires_grad", 1),
    lambda L: setattr(L.ones(2), "requires_grad", None),
    lambda L: setattr(L.ones(2), "requires_grad", np.bool_(True)),
    lambda L: L.tensor([1, 2]).requires_grad_(),
    lambda L: (L.ones(2, requires_grad=True) * 2).requires_grad_(False),
    lambda L: (L.ones(2, requires_grad=True) * 2).requires_grad_(True).requires_grad,
    lambda L: L.tensor([1, 2], requires_grad=True),
    lambda L: L.ones(2, dtype=L.int64, requires_grad=True),
    lambda L: L.arange(3, requires_grad=True),
    lambda L: L.ones(2, dtype=L.complex64, requires_grad=True).requires_grad,
], ids=["int", "int-false", "non-leaf-false", "int-value", "none", "numpy-bool", "method-int",
        "method-non-leaf", "method-non-leaf-true", "factory-tensor", "factory-ones",
        "factory-arange", "factory-complex"])
def test_requires_grad_setter(case):
    same(case)


def test_requires_grad_setter_on_a_leaf():
    def fn(L):
        a = L.ones(2, dtype=L.float64)
        a.requires_grad = True
        (a * 2).sum().backward()
        a.requires_grad = False
        c = L.ones(2, dtype=L.complex64)
        c.requires_grad = True
        return a.grad, a.requires_grad, a.is_leaf, c.requires_grad
    same(fn)


GRADS = {"size": lambda L: L.ones(3), "size-2d": lambda L: L.ones(2, 1),
         "dtype": lambda L: L.ones(2, dtype=L.float64), "long": lambda L: L.ones(2, dtype=L.int64),
         "half": lambda L: L.ones(2, dtype=L.float16),
         "bfloat16": lambda L: L.ones(2, dtype=L.bfloat16),
         "uint8": lambda L: L.ones(2, dtype=L.uint8), "bool": lambda L: L.ones(2, dtype=L.bool),
         "cfloat": lambda L: L.ones(2, dtype=L.complex64),
         "dtype-and-size": lambda L: L.ones(3, dtype=L.float64), "list": lambda L: [1.0, 2.0],
         "ndarray": lambda L: np.ones(2), "float": lambda L: 1.0, "none": lambda L: None,
         "ok": lambda L: L.full((2,), 3.0), "requires-grad": lambda L: L.ones(2, requires_grad=True)}


@pytest.mark.parametrize("kind", list(GRADS))
def test_grad_setter(kind):
    def fn(L):
        x = L.ones(2, requires_grad=True)
        x.grad = GRADS[kind](L)
        return x.grad
    same(fn)


def test_grad_setter_special_cases():
    def own(L):
        x = L.ones(2, requires_grad=True)
        x.grad = x

    def delete(L):
        x = L.ones(2, requires_grad=True)
        x.grad = L.ones(2)
        del x.grad
        return x.grad

    def integer(L):
        x = L.ones(2, dtype=L.int64)
        x.grad = L.ones(2, dtype=L.int64)
        return x.grad

    def then_backward(L):
        x = L.ones(2, requires_grad=True)
        x.grad = L.full((2,), 5.0)
        (x * 2).sum().backward()
        return x.grad
    for fn in (own, delete, integer, then_backward):
        same(fn)


@pytest.mark.parametrize("case", [
    lambda L: np.asarray(L.ones(2, requires_grad=True)),
    lambda L: np.asarray(L.ones(2, requires_grad=True), dtype=np.float64),
    lambda L: np.asarray(L.ones(2, requires_grad=True) * 2),
    lambda L: np.asarray(L.ones(2, requires_grad=True).detach()).tolist(),
    lambda L: L.ones(2, requires_grad=True).numpy(),
    lambda L: L.ones(2, requires_grad=True).tolist(),
], ids=["leaf", "dtype", "non-leaf", "detached", "numpy", "tolist"])
def test_asarray_of_a_tensor_that_requires_grad(case):
    same(case)


def test_asarray_and_numpy_under_no_grad():
    def fn(L):
        x = L.ones(2, requires_grad=True)
        with L.no_grad():
            return np.asarray(x).tolist(), x.numpy().tolist()
    same(fn)


# ---- A6: hooks, autograd.grad, copy_, set_, views made in no_grad mode ------------------------
def _named_hook(L):
    def myhook(g):
        return L.ones(3)
    return myhook


class _CallableHook:
    def __init__(self, L):
        self.L = L

    def __call__(self, g):
        return self.L.ones(3)


HOOKS = {"size": lambda L: (lambda g: L.ones(3)), "size-0d": lambda L: (lambda g: L.ones(())),
         "expand": lambda L: (lambda g: g.expand(2, 2)),
         "dtype": lambda L: (lambda g: L.ones(2, dtype=L.float64)),
         "long": lambda L: (lambda g: L.ones(2, dtype=L.int64)),
         "cfloat": lambda L: (lambda g: L.ones(2, dtype=L.complex64)),
         "dtype-and-size": lambda L: (lambda g: L.ones(3, dtype=L.float64)),
         "float": lambda L: (lambda g: 3.0), "list": lambda L: (lambda g: [1.0, 2.0]),
         "named": _named_hook, "callable": _CallableHook,
         "partial": lambda L: functools.partial(lambda g, k: L.ones(k), k=3),
         "ok": lambda L: (lambda g: g * 3), "none": lambda L: (lambda g: None)}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
@pytest.mark.parametrize("hook", list(HOOKS))
def test_hook_result_checks(hook, leaf, create_graph):
    def fn(L):
        a = L.ones(2, requires_grad=True)
        t = a if leaf else a * 2
        t.register_hook(HOOKS[hook](L))
        if create_graph:
            return L.autograd.grad((t * t).sum(), a, create_graph=True)
        t.sum().backward()
        return a.grad
    same(fn)


def test_hook_result_checks_elsewhere():
    def multi_output(L):
        a = L.ones(4, requires_grad=True)
        s = (a * 1).split(2)
        s[0].register_hook(lambda g: L.ones(3))
        (s[0].sum() + s[1].sum()).backward()

    def double_leaf(L):
        a = L.ones(2, dtype=L.float64, requires_grad=True)
        a.register_hook(lambda g: g.float())
        (a * 2).sum().backward()

    def autograd_grad(L):
        a = L.ones(2, requires_grad=True)
        a.register_hook(lambda g: L.ones(3))
        L.autograd.grad((a * 2).sum(), a)

    def retain_grad(L):
        a = L.ones(2, requires_grad=True)
        y = a * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 3)
        y.sum().backward()
        return y.grad, a.grad
    for fn in (multi_output, double_leaf, autograd_grad, retain_grad):
        same(fn)


def test_autograd_grad_with_no_inputs():
    same(lambda L: L.autograd.grad((L.ones(2, requires_grad=True) * 2).sum(), []))
    same(lambda L: L.autograd.grad((L.ones(2, requires_grad=True) * 2).sum(), ()))
    same(lambda L: L.autograd.grad([], [L.ones(2, requires_grad=True)]))


def test_copy_into_a_non_leaf_gives_self_a_zero_gradient():
    def whole(L):
        a = L.ones(2, requires_grad=True)
        x = a * 2
        x.copy_(L.zeros(2))
        names = name(x)
        x.sum().backward()
        return names, a.grad

    def view(L):
        a = L.ones(3, requires_grad=True)
        x = a * 2
        x[1:].copy_(L.zeros(2))
        names = name(x)
        x.sum().backward()
        return names, a.grad

    def source_requires_grad(L):
        a = L.ones(2, requires_grad=True)
        s = L.full((2,), 3.0, requires_grad=True)
        x = a * 2
        x.copy_(s * s)
        x.sum().backward()
        return a.grad, s.grad

    def double_backward(L):
        a = L.ones(2, requires_grad=True)
        x = a * a
        x.copy_(a * 3)
        g, = L.autograd.grad((x * a).sum(), a, create_graph=True)
        return g, L.autograd.grad(g.sum(), a)
    for fn in (whole, view, source_requires_grad, double_backward):
        same(fn)


def test_set_under_autograd():
    def non_leaf(L):
        a = L.ones(2, requires_grad=True)
        x = a * 2
        x.set_(L.zeros(3))
        return name(x), x.requires_grad, x.is_leaf, x

    def non_leaf_backward(L):
        a = L.ones(2, requires_grad=True)
        x = a * 2
        x.set_(L.zeros(3))
        x.sum().backward()

    def empty(L):
        a = L.ones(2, requires_grad=True)
        x = a * 2
        x.set_()
        return name(x), tuple(x.shape)

    def storage(L):
        a = L.ones(2, requires_grad=True)
        x = a * 2
        x.set_(L.zeros(2).untyped_storage())
        return name(x), tuple(x.shape)

    def source_requires_grad(L):
        b = L.ones(2)
        b.set_(L.zeros(2, requires_grad=True))
        return name(b), b.requires_grad

    def source_requires_grad_backward(L):
        b = L.ones(2)
        b.set_(L.zeros(2, requires_grad=True))
        b.sum().backward()

    def leaf(L):
        L.ones(2, requires_grad=True).set_(L.zeros(2))

    def leaf_no_grad(L):
        a = L.ones(2, requires_grad=True)
        with L.no_grad():
            a.set_(L.zeros(3))
        return a, a.requires_grad, name(a)
    for fn in (non_leaf, non_leaf_backward, empty, storage, source_requires_grad,
               source_requires_grad_backward, leaf, leaf_no_grad):
        same(fn)


def test_views_made_in_no_grad_mode():
    def flags(L):
        a = L.ones(4, requires_grad=True)
        y = a * 2
        with L.no_grad():
            v, s, u = y[1:3], y.split(2), y.unbind()
            vi, e, r = y.view(L.int32), y.expand(2, 4), y.reshape(2, 2)
        return (v.requires_grad, v.is_leaf, name(v), s[0].requires_grad, u[0].requires_grad,
                vi.requires_grad, e.requires_grad, r.requires_grad)
    same(flags)

    def modified(make, change):
        def fn(L):
            a = L.ones(4, requires_grad=True)
            base = make(a)
            with L.no_grad():
                v = base[1:3]
            change(L, v)
        return fn
    changes = [lambda L, v: v.mul_(2), lambda L, v: v.zero_(), lambda L, v: v.fill_(1.0),
               lambda L, v: v.normal_(), lambda L, v: v.copy_(L.zeros(2)),
               lambda L, v: v.add_(L.ones(2, requires_grad=True))]
    for make in (lambda a: a, lambda a: a * 2):
        for change in changes:
            same(modified(make, change))

    def split_output(L):
        a = L.ones(4, requires_grad=True)
        y = a * 2
        with L.no_grad():
            s = y.split(2)
        s[0].mul_(2)

    def inside_no_grad(L):
        a = L.ones(4, requires_grad=True)
        y = a * 2
        with L.no_grad():
            v = y[1:3]
            v.mul_(2)
        y.sum().backward()
        return y, a.grad
    same(split_output)
    same(inside_no_grad)


def test_device_type_checks_on_another_device():
    """torch's wording with ember's mock device (torch's own check names cuda the same way)."""
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="^attempting to assign a gradient with device type "
                                           "'mock' to a tensor with device type 'cpu'. Please "
                                           "ensure that the gradient and the tensor are on the "
                                           "same device$"):
        x.grad = ember.ones(2, device="mock")
    t = x * 2
    t.register_hook(lambda g: ember.ones(2, device="mock"))
    with pytest.raises(RuntimeError, match=r"^hook '<lambda>' has changed the type of value "
                                           r"\(was torch.FloatTensor got "
                                           r"torch.mock.FloatTensor\)$"):
        t.sum().backward()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_through_dtype_views(dtype):
    """Writes through view_as_real of a complex tensor and view_as_complex of a real one that
    take part in autograd (ember raised NotImplementedError): the gradients of the base and
    of views taken before and after, as torch's."""
    def fn(L):
        dt = getattr(L, dtype)
        w = L.tensor([1.0, 2.0, 3.0, 4.0], dtype=dt, requires_grad=True)
        z = L.complex(w[:2] * 1, w[2:] * 1)
        r = L.view_as_real(z)
        r[:, 1].mul_(3)
        s = L.view_as_real(z)
        loss = (r * L.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dt)).sum() + \
            (z.abs() ** 2).sum() + s[0, 1]
        a = L.tensor([1.0, -2.0, 0.5, 4.0], dtype=dt, requires_grad=True)
        c = L.view_as_complex((a * 1).view(2, 2))
        L.view_as_real(c).add_(a.view(2, 2) * 2)
        c.mul_(1j)
        loss = loss + (c * (1 + 2j)).real.sum()
        loss.backward()
        return w.grad, a.grad, name(z), name(c)
    same(fn)
