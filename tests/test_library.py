"""ember.library.custom_op against torch.library.custom_op: the same results and gradients for
an op defined outside autograd (NumPy inside), torch's errors (missing annotations, unknown
mutated args, backward without a formula, aliased outputs, a device without a kernel), keyword-
only arguments reaching setup_context, kernels per device, autocast registration, and
ember.ops.<ns>.<name> as torch.ops.<ns>.<name>."""
import numpy as np
import pytest
import torch

import ember

_COUNT = [0]


def _name(base):
    """A fresh op name per definition (both libraries keep a global registry)."""
    _COUNT[0] += 1
    return f"embertest::{base}{_COUNT[0]}"


def _numpy_sin(lib, with_autograd=True):
    @lib.library.custom_op(_name("sin"), mutates_args=())
    def numpy_sin(x: lib.Tensor, scale: float = 1.0) -> lib.Tensor:
        return lib.from_numpy(np.sin(x.detach().numpy()) * scale)

    if with_autograd:
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x)
            ctx.scale = scale

        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.cos() * ctx.scale, None
        numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


def test_values_gradients_and_node_name_match_torch():
    x = np.random.default_rng(0).standard_normal(5)
    res = []
    for lib in (ember, torch):
        op = _numpy_sin(lib)
        t = lib.tensor(x, requires_grad=True)
        y = op(t, 2.0)
        y.sum().backward()
        res.append((y.detach().numpy(), t.grad.numpy(), type(y.grad_fn).__name__.split("_")[-1]))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2] == "defaultBackward"
    e = _numpy_sin(ember)
    assert ember.ops.embertest.__getattr__(e._name) is e


def test_backward_without_formula_raises_as_torch():
    msgs = []
    for lib in (ember, torch):
        op = _numpy_sin(lib, with_autograd=False)
        y = op(lib.ones(2, dtype=lib.float64, requires_grad=True))
        assert y.requires_grad
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        msgs.append(str(e.value).replace(op._name, "OP"))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("case", ["no_annotation", "no_return", "unknown_mutated",
                                  "no_mutates_args"])
def test_definition_errors_match_torch(case):
    def define(lib):
        T = lib.Tensor
        if case == "no_annotation":
            def f(x):
                return x
        elif case == "no_return":
            def f(x: T):
                return x
        else:
            def f(x: T) -> T:
                return x
        kw = {"no_mutates_args": {}, "unknown_mutated": {"mutates_args": ("y",)}}.get(
            case, {"mutates_args": ()})
        return lambda: lib.library.custom_op(_name("bad"), f, **kw)
    with pytest.raises(Exception) as te:
        define(torch)()
    with pytest.raises(type(te.value)) as ee:
        define(ember)()
    clean = (lambda s: s.replace("torch.Tensor", "T").replace("ember._tensor.Tensor", "T")
             .replace("Tensor", "T"))
    assert clean(str(ee.value)) == clean(str(te.value))


def test_aliasing_output_is_refused_as_torch():
    msgs = []
    for lib in (ember, torch):
        @lib.library.custom_op(_name("alias"), mutates_args=())
        def alias(x: lib.Tensor) -> lib.Tensor:
            return x.view(-1)
        with pytest.raises(RuntimeError) as e:
            alias(lib.ones(2))
        msgs.append(str(e.value).split("): ", 1)[1])
    assert msgs[0] == msgs[1]


def test_mutating_op_and_keyword_only_inputs():
    seen = []
    for lib in (ember, torch):
        @lib.library.custom_op(_name("addto"), mutates_args={"x"})
        def addto(x: lib.Tensor, y: lib.Tensor) -> None:
            x.add_(y)
        a = lib.zeros(2)
        assert addto(a, lib.ones(2)) is None and a.tolist() == [1.0, 1.0]

        @lib.library.custom_op(_name("kw"), mutates_args=())
        def scaled(x: lib.Tensor, *, k: float = 2.0) -> lib.Tensor:
            return x * k

        def setup_context(ctx, inputs, keyword_only_inputs, output):
            seen.append((len(inputs), dict(keyword_only_inputs)))
            ctx.k = keyword_only_inputs["k"]
        scaled.register_autograd(lambda ctx, g: g * ctx.k, setup_context=setup_context)
        x = lib.ones(2, requires_grad=True)
        scaled(x, k=3.0).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]
    assert seen[0] == seen[1] == (1, {"k": 3.0})


def test_kernels_per_device():
    ops = {}
    for lib in (ember, torch):
        @lib.library.custom_op(_name("dev"), mutates_args=(), device_types="cuda")
        def only_cuda(x: lib.Tensor) -> lib.Tensor:
            return x.clone()
        with pytest.raises(NotImplementedError, match="with arguments from the 'CPU' backend"):
            only_cuda(lib.ones(2))

        @only_cuda.register_kernel("cpu")
        def _(x):
            return x * 10
        assert only_cuda(lib.ones(2)).tolist() == [10.0, 10.0]
        ops[lib] = only_cuda
    ops[ember].register_kernel("mock", lambda x: x * 100)     # ember's test device
    assert ops[ember](ember.ones(2, device="mock")).tolist() == [100.0, 100.0]


def test_register_autocast_casts_inputs():
    dtypes = []
    for lib in (ember, torch):
        @lib.library.custom_op(_name("ac"), mutates_args=())
        def mm(a: lib.Tensor, b: lib.Tensor) -> lib.Tensor:
            dtypes.append(str(a.dtype).replace("torch.", ""))
            return a.mm(b)
        lib.library.register_autocast(mm, "cpu", lib.float64)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = mm(lib.ones(2, 2), lib.ones(2, 2))
        dtypes.append(str(out.dtype).replace("torch.", ""))
    assert dtypes[:2] == dtypes[2:] == ["float64", "float64"]


def _tensor_list_ops(lib, seen):
    """torch's custom_op_db numpy_cat / numpy_split_copy pair: Tensor[] arguments and returns,
    each tensor of a list its own input or output of the autograd node."""
    from typing import List, Sequence

    @lib.library.custom_op(_name("cat"), mutates_args=())
    def cat(xs: Sequence[lib.Tensor], dim: int) -> lib.Tensor:
        return lib.from_numpy(np.concatenate([x.detach().numpy() for x in xs], axis=dim))

    @lib.library.custom_op(_name("split"), mutates_args=())
    def split(x: lib.Tensor, splits: Sequence[int], dim: int) -> tuple[List[lib.Tensor], int]:
        return [lib.from_numpy(a.copy()) for a in np.split(x.detach().numpy(), splits, dim)], 7

    def cat_setup(ctx, inputs, output):
        xs, dim = inputs
        seen.append(("cat setup", type(xs).__name__, len(xs)))
        ctx.sizes, ctx.dim = [x.shape[dim] for x in xs], dim

    def cat_backward(ctx, grad):
        seen.append(("cat needs", ctx.needs_input_grad))
        parts, _ = split(grad, list(np.cumsum(ctx.sizes)[:-1]), ctx.dim)
        return [p * (i + 1) for i, p in enumerate(parts)], None

    def split_setup(ctx, inputs, output):
        seen.append(("split setup", type(output).__name__, type(output[0]).__name__))
        ctx.dim = inputs[2]

    def split_backward(ctx, grads, _):
        seen.append(("split grads", type(grads).__name__, len(grads)))
        return cat(grads, ctx.dim), None, None

    cat.register_autograd(cat_backward, setup_context=cat_setup)
    split.register_autograd(split_backward, setup_context=split_setup)
    return cat, split


def test_tensor_list_arguments_and_returns():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    res = []
    for lib in (ember, torch):
        seen = []
        cat, split = _tensor_list_ops(lib, seen)
        xs = [lib.tensor(a, requires_grad=i != 1) for i, a in enumerate(arrays)]
        y = cat(xs, 0)
        parts, k = split(y * 1, [1, 5], 0)
        (parts[0].sum() + 2 * parts[1].sum() + 3 * parts[2].sum()).backward()
        cat(xs, 0).sum().backward()
        with lib.no_grad():
            plain = cat(xs, 0)              # no setup_context without a graph
        res.append((seen, k, [type(p).__name__ for p in parts], [p.requires_grad for p in parts],
                    y.numpy(force=True).tolist() if lib is torch else y.detach().numpy().tolist(),
                    [None if x.grad is None else x.grad.numpy().tolist() for x in xs],
                    plain.requires_grad))
    assert res[0] == res[1]


def _declared_ops(L):
    """Library / define / impl: ops declared by their schema strings, kernels by dispatch key."""
    import warnings
    ns = _name("lib").split("::")[1]
    seen = []

    def note(fn):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                r = fn()
                r = r.tolist() if hasattr(r, "tolist") else r
            except Exception as e:          # noqa: BLE001 (the class and message are compared)
                r = (type(e).__name__, str(e).split(" Duplicate registration")[0]
                     .split(" Previous registration")[0].split(" This could be")[0].rstrip())
        seen.append((r, [str(x.message)[:80] for x in w]))

    lib = L.library.Library(ns, "DEF")
    seen.append((repr(lib), lib.define("foo(Tensor x, int k=2, *, float a=1.5) -> Tensor")))
    lib.impl("foo", lambda x, k=2, *, a=1.5: x * k + a, "CPU")
    x = L.ones(2, dtype=L.float64, requires_grad=True)
    y = getattr(L.ops, ns).foo(x, 3)
    seen.append((y.tolist(), type(y.grad_fn).__name__))
    note(lambda: y.sum().backward())        # the autograd fallback's warning
    seen.append(x.grad.tolist())
    L.library.define(f"{ns}::bar", "(Tensor x, *, Tensor? w=None) -> (Tensor, Tensor)")
    L.library.impl(f"{ns}::bar", "cpu")(lambda x, *, w=None: (x.sin(), x * 2 if w is None else w))
    note(lambda: [t.tolist() for t in getattr(L.ops, ns).bar(x.detach())])
    note(lambda: lib.define("foo(Tensor x) -> Tensor"))
    note(lambda: L.library.Library(ns, "DEF"))
    note(lambda: L.library.Library(ns, "BAD"))
    frag = L.library.Library(ns, "FRAGMENT")
    frag.define('two(Tensor x, int[2] k=[1, 2], str mode="mean", Tensor? w=None) -> Tensor')
    frag.impl("two", lambda x, k=(1, 2), mode="mean", w=None: x * k[0] + k[1],
              "CompositeImplicitAutograd")
    x.grad = None
    z = getattr(L.ops, ns).two(x, [3, 4])
    note(lambda: z.sum().backward())        # composite: no warning
    seen.append((z.tolist(), x.grad.tolist()))
    note(lambda: getattr(L.ops, ns).two(x, 1, 2, 3, 4))
    note(lambda: getattr(L.ops, ns).two())
    foo = getattr(L.ops, ns).foo                # (Tensor x, int k=2, *, float a=1.5)
    for args, kwargs in (((x, 2, 3), {}), ((x, 2, 3, 4), {}), ((x,), {"b": 1}),
                         ((x,), {"x": x}), ((x,), {"a": 2.0})):
        note(lambda: foo(*args, **kwargs))
    frag.define("nok(Tensor x) -> Tensor")
    note(lambda: getattr(L.ops, ns).nok(x))
    frag.define("sq(Tensor x) -> Tensor")
    frag.impl("sq", lambda x: x.detach() ** 2, "CPU")
    L.library.register_autograd(f"{ns}::sq", lambda ctx, g: g * 2 * ctx.x,
                                setup_context=lambda ctx, inputs, output:
                                setattr(ctx, "x", inputs[0]))
    x.grad = None
    s = getattr(L.ops, ns).sq(x * 3)
    s.sum().backward()
    seen.append((s.tolist(), x.grad.tolist(), type(s.grad_fn).__name__.split("_")[-1]))
    lib._destroy()
    note(lambda: getattr(L.ops, ns).foo)
    return seen


def test_ops_declared_by_schema():
    assert _strip_ns(_declared_ops(ember)) == _strip_ns(_declared_ops(torch))


def _strip_ns(seen):
    """The namespaces differ between the two runs (a fresh one per call)."""
    import re
    return [re.sub(r"lib\d+", "lib", repr(x)) for x in seen]
