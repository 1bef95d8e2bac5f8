"""Regressions found by running torch's OpInfo samples (common_methods_invocations.op_db:
sample_inputs as given and made non-contiguous, in-place and method variants, float64 gradients)
through ember with tests/opinfo_driver.py, plus a live run of the driver over the OpInfos of the
ops mended here."""
import functools

import numpy as np
import pytest
import torch

import ember
import opinfo_driver
from test_probe7 import _outcome

_Z = "L.zeros(1).as_strided((3,), (0,))"      # elements sharing one memory location
_CALLS = [
    # as_strided views whose elements share memory are written as expanded tensors are:
    # fills once per location, any other write refused (torch's internal-overlap check)
    _Z + ".add_(1)", _Z + ".mul_(2)", _Z + ".exp_()", _Z + ".clamp_(0, 1)",
    _Z + ".copy_(L.ones(3))", _Z + ".copy_(L.ones(1))", _Z + ".uniform_().shape",
    _Z + ".fill_(3)", _Z + ".zero_()",
    "(lambda z: (z.__setitem__(slice(None), 5.), z)[1])(%s)" % _Z,
    "(lambda z: (z.__setitem__(0, 5.), z)[1])(%s)" % _Z,
    "(lambda z: (z[1:].add_(1), z)[1])(%s)" % _Z, "(lambda z: (z[1].add_(1), z)[1])(%s)" % _Z,
    "L.add(L.ones(3), 1, out=%s)" % _Z, "L.sin(L.ones(3), out=%s)" % _Z,
    "L.zeros(3, out=%s)" % _Z, "L.zeros(4).as_strided((3,), (0,), 1).add_(1)",
    "L.zeros(4).as_strided((1, 3), (0, 1)).add_(1)",
    "(lambda z: (z.as_strided_((3,), (0,)), z.add_(1))[1])(L.zeros(3))",
    _Z + ".masked_fill_(L.tensor([True, False, True]), 2.)",
    _Z + ".index_fill_(0, L.tensor([1]), 2.)", _Z + " + 1",
    # index_put_ into an expanded tensor writes each location (it refused a 1-element value)
    _Z + ".index_put_((L.tensor([1]),), L.tensor([2.]))",
    "L.zeros(1).expand(3).index_put_((L.tensor([1]),), L.tensor(2.))",
    "L.zeros(1).expand(3).index_put_((L.tensor([1, 2]),), L.tensor([2., 3.]))",
    "L.zeros(1).expand(3).index_put_((L.tensor([1, 2]),), L.tensor([2., 3.]), "
    "accumulate=True)",
    "L.zeros(2, 1).expand(2, 3).index_put_((L.tensor([1, 0]), L.tensor([2, 1])), "
    "L.tensor([2., 3.]))",
    "L.zeros(2, 1).expand(2, 3).index_put_((L.tensor([1, 0]),), L.tensor([2., 3., 4.]))",
    # eye and randperm into an out= whose elements share memory: the largest value written
    # over each location stays (eye: zero_ then the diagonal's fill_(1); randperm: 0 .. n-1)
    "L.eye(3, out=L.zeros(1).expand(3, 3))", "L.eye(3, out=L.zeros(1, 3).expand(3, 3))",
    "L.eye(2, 3, out=L.zeros(1, 3).expand(2, 3))",
    "L.eye(3, 2, out=L.zeros(3, 1, dtype=L.bool).expand(3, 2))",
    "L.eye(3, out=L.zeros(1).as_strided((3, 3), (0, 0)))", "L.eye(0, out=L.zeros(1).expand(3, 3))",
    "L.randperm(3, out=L.zeros(1, dtype=L.long).expand(3))",
    "L.randperm(5, out=L.zeros(1).expand(5))",
    "L.randperm(3, out=L.zeros(1, dtype=L.int8).expand(3))",
    # constant_pad_nd takes any Number (a complex one for a complex tensor), converted as fill_
    # converts it where there is padding; F.pad takes a float
    "L.constant_pad_nd(L.ones(1, 3, dtype=L.complex64), (1, 2), 1+2j)",
    "L.constant_pad_nd(L.ones(1, 3), (1, 2), 1+2j)",
    "L.constant_pad_nd(L.ones(1, 3), (1, 1), None)",
    "L.constant_pad_nd(L.ones(1, 3), (1, 1), 'a')",
    "L.constant_pad_nd(L.ones(3, dtype=L.uint8), (1, 1), -1)",
    "L.constant_pad_nd(L.ones(3, dtype=L.uint8), (0, 0), -1)",
    "L.constant_pad_nd(L.ones(3, dtype=L.half), (1, 1), 1e6)",
    "L.constant_pad_nd(L.ones(3, dtype=L.long), (-1, 0), float('inf'))",
    "L.constant_pad_nd(L.ones(3, dtype=L.int8), (1, 0), 200)",
    "L.constant_pad_nd(L.ones(1, 3, dtype=L.long), (1, 1), 2 ** 60 + 1)",
    "L.nn.functional.pad(L.ones(1, 3, dtype=L.long), (1, 1), value=float('inf'))",
    "L.nn.functional.pad(L.ones(1, 3), (1, 1), value=1e300)",
    "L.nn.functional.pad(L.ones(1, 3, dtype=L.uint8), (1, 1), value=-1)",
    "L.nn.functional.pad(L.ones(1, 3, dtype=L.long), (1, 1), value=2 ** 60 + 1)",
    "L.nn.functional.pad(L.ones(2, 3, dtype=L.bfloat16), (1, 1), value=1 / 3)",
    "L.nn.functional.pad(L.ones(1, 3, dtype=L.complex64), (1, 2), value=1+2j)",
    # native_group_norm refuses an input not contiguous in its suggested memory format
    "L.native_group_norm(L.ones(2, 3, 6).transpose(1, 2), None, None, 2, 6, 3, 2, 1e-5)",
    "L.native_group_norm(L.ones(6, 2).t(), None, None, 2, 6, 1, 2, 1e-5)",
    "L.native_group_norm(L.ones(2, 6, 3, 3).transpose(2, 3), None, None, 2, 6, 9, 2, 1e-5)",
    "L.native_group_norm(L.ones(2, 6, 3, 3).to(memory_format=L.channels_last), None, None, 2, 6,"
    " 9, 2, 1e-5)[0].stride()",
    # as_strided_scatter of a view: the whole storage cloned, the offset counted in it
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5.]), (1,), (1,), 0)",
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5.]), (1,), (1,), 1)",
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5.]), (1,), (1,))",
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5.]), (1,), (1,), 3).stride()",
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5.]), (1,), (1,), 4)",
    "L.as_strided_scatter(L.zeros(4)[1:3], L.tensor([5., 6.]), (2,), (1,), 0)",
    "L.as_strided_scatter(L.zeros(4)[1::2], L.tensor([5., 6.]), (2,), (0,), 0)",
    "L.as_strided_scatter(L.zeros(4, requires_grad=True)[1::2], L.tensor([5.]), (1,), (1,), 0)",
    # cholesky of an empty matrix still records its node under autograd (torch's early return
    # is inside the kernel)
    "(lambda x: (type(L.cholesky(x).grad_fn).__name__, L.autograd.grad(L.cholesky(x).sum(), "
    "[x])[0].shape))(L.zeros(2, 0, 0, dtype=L.float64, requires_grad=True))",
    "L.cholesky(L.zeros(0, 3, requires_grad=True)).shape",
    # histogram's weights add up in the input's dtype in element order, as torch's kernel
    # (bit for bit; ember summed them in float64)
    "(lambda r: L.histogram(L.tensor(r.standard_normal(125).astype(np.float32) * 3), 4, "
    "weight=L.tensor(r.standard_normal(125).astype(np.float32) * 9), density=True))("
    "np.random.default_rng(0))",
    # an out= sharing memory with the index: take and index_select refuse any overlap, gather
    # a partial one (the error inputs, with the driver keeping their shared storage)
    "(lambda i: L.take(L.tensor([5, 6, 7]), i[1:], out=i[:2]))(L.tensor([2, 1, 0]))",
    "(lambda i: L.gather(L.tensor([5, 6, 7]), 0, i[1:], out=i[:2]))(L.tensor([2, 1, 0]))",
    "(lambda i: L.index_select(L.tensor([5, 6, 7]), 0, i[1:], out=i[:2]))(L.tensor([2, 1, 0]))",
    "(lambda i: L.take(L.tensor([5, 6, 7]), i, out=i))(L.tensor([2, 1, 0]))",
    "(lambda i: L.gather(L.tensor([5, 6, 7]), 0, i, out=i))(L.tensor([2, 1, 0]))",
    "(lambda i: L.index_select(L.tensor([5, 6, 7]), 0, i, out=i))(L.tensor([2, 1, 0]))",
]

# operators called unbound on a self that is not a tensor: torch's C methods refuse it as
# Python's method descriptors do, its Python ones (torch/_tensor.py) run their bodies
_DUNDERS = """__add__ __radd__ __iadd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__
    __rtruediv__ __div__ __rdiv__ __idiv__ __itruediv__ __floordiv__ __rfloordiv__ __mod__
    __rmod__ __pow__ __rpow__ __ipow__ __matmul__ __rmatmul__ __and__ __rand__ __or__ __ror__
    __xor__ __rxor__ __lshift__ __rlshift__ __rshift__ __rrshift__ __eq__ __lt__""".split()
_SELVES = ["1, 2", "2, L.ones(2, dtype=L.long)", "2.5, L.ones(2)", "None, 2",
           "L.ones(2), 2"]


@pytest.mark.parametrize("call", _CALLS)
def test_calls_like_torch(call):
    assert _outcome(lambda: eval(call, {"L": ember, "np": np})) == _outcome(
        lambda: eval(call, {"L": torch, "np": np}))


def test_chalf_refuses_as_to_complex32():
    """Tensor.chalf exists (torch's) and refuses as .to(complex32) does: ember has no complex32
    arrays (it was an AttributeError)."""
    for call in (lambda: ember.ones(2).chalf(), lambda: ember.ones(2).to(ember.complex32),
                 lambda: ember.ones(2).chalf(memory_format=ember.preserve_format)):
        with pytest.raises(TypeError, match="ember has no complex32 tensors"):
            call()


@pytest.mark.parametrize("name", _DUNDERS)
def test_unbound_operators(name):
    for args in _SELVES:
        call = f"L.Tensor.{name}({args})"
        assert _outcome(lambda: eval(call, {"L": ember})) == _outcome(
            lambda: eval(call, {"L": torch})), call


def _grads(L, fn, *shapes):
    """fn's value and the float64 gradients of its inputs (seeded values of `shapes`)."""
    g = torch.Generator().manual_seed(0)
    ins = [L.tensor(torch.rand(s, generator=g, dtype=torch.float64).numpy() * 4 - 2,
                    requires_grad=True) for s in shapes]
    out = fn(L, *ins)
    w = L.cos(L.arange(out.numel(), dtype=L.float64)).reshape(out.shape)
    return [out.detach().numpy()] + [None if x is None else x.numpy() for x in L.autograd.grad(
        (out * w).sum(), ins, allow_unused=True)]


_GRADS = {
    # (layer norm without a weight gave its bias's gradient a 1-d shape)
    "layer_norm, bias alone": (lambda L, x, b: L.nn.functional.layer_norm(
        x, (1, 2, 3), None, b, 0.5), (1, 2, 3), (1, 2, 3)),
    "native_layer_norm, bias alone": (lambda L, x, b: L.native_layer_norm(
        x, (2, 3), None, b, 1e-5)[0], (4, 2, 3), (2, 3)),
    # quantile's linear interpolation differentiates through q (torch's is composite)
    "quantile, q": (lambda L, x, q: L.quantile(x, q.abs() / 2), (7,), (3,)),
    "quantile, 0-d q, dim": (lambda L, x, q: L.quantile(x, q.abs() / 2, dim=1, keepdim=True),
                             (3, 5), ()),
    "nanquantile, q": (lambda L, x, q: L.nanquantile(
        L.where(x > 1, float("nan"), x), q.abs() / 2, dim=0), (6, 2), (2,)),
    "quantile with NaN rows, q": (lambda L, x, q: L.quantile(
        L.where(x > 1.5, float("nan"), x), q.abs() / 2, dim=1), (4, 6), (2,)),
    "quantile, lower, q": (lambda L, x, q: L.quantile(x, q.abs() / 2, interpolation="lower"),
                           (7,), (3,)),
}


@pytest.mark.parametrize("case", list(_GRADS))
def test_grads_like_torch(case):
    fn, *shapes = _GRADS[case]
    e, t = _grads(ember, fn, *shapes), _grads(torch, fn, *shapes)
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@functools.lru_cache(None)
def _op(name):
    return opinfo_driver.by_name([name])


# the OpInfos of the ops mended here, with the kinds of sample that found each
_LIVE = [("constant_pad_nd", ("sample", "noncontig")), ("quantile", ("grad",)),
         ("nanquantile", ("grad",)), ("native_layer_norm", ("grad",)),
         ("native_group_norm", ("sample", "noncontig")),
         ("as_strided_scatter", ("sample", "noncontig")),
         ("__radd__", ("sample",)), ("__rmul__", ("sample",)), ("__rand__", ("sample",)),
         ("take", ("error",)), ("index_select", ("error",))]


@pytest.mark.parametrize("name,kinds", _LIVE, ids=[n for n, _ in _LIVE])
def test_opinfo_samples(name, kinds):
    ops = _op(name)
    assert ops
    for op in ops:
        results = opinfo_driver.run(op, kinds, dtypes=(torch.float32, torch.float64,
                                                       torch.int64, torch.complex64))
        assert results
        assert [r for r in results if r[3]] == []
