"""Tensor creation against torch: tensor()/as_tensor()/from_numpy() inference, conversion and
errors, the factories (zeros ... logspace, eye, *_like, full), random sampling (distributions
checked statistically on 10^5 samples, reproducibility under manual_seed/Generator), finfo/iinfo
and the default dtype."""
import math
import re
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import eval_both

# Each expression runs with L = torch and L = ember: same dtype and values, or the same
# exception class. Random results are compared by shape/dtype only (via .shape/.dtype/sort).
CASES = [
    "L.tensor([1, 2])", "L.tensor([1.0, 2])", "L.tensor([True, False])", "L.tensor([1, True])",
    "L.tensor([1+2j, 3])", "L.tensor([[1, 2], [3, 4]])", "L.tensor(((1, 2), (3, 4.5)))",
    "L.tensor(np.array([1, 2], dtype=np.int16))", "L.tensor(np.float64(1.5))",
    "L.tensor([np.float64(1.5), 2])", "L.tensor([np.float32(1.5)])", "L.tensor(np.int32(3))",
    "L.tensor([np.int32(3)])", "L.tensor(np.bool_(True))", "L.tensor([L.tensor(1), L.tensor(2)])",
    "L.tensor([L.tensor(1.5), L.tensor(2)])", "L.tensor([L.tensor([1, 2]), L.tensor([3, 4])])",
    "L.tensor(L.tensor([1, 2]))", "L.tensor('abc')", "L.tensor(['a', 'b'])",
    "L.tensor([[1, 2], [3]])", "L.tensor([[1, 2], 3])", "L.tensor([])", "L.tensor([[]])",
    "L.tensor([[], []])", "L.tensor(3)", "L.tensor(3.5)", "L.tensor(True)", "L.tensor(None)",
    "L.tensor([None])", "L.tensor([1, 2], requires_grad=True)",
    "L.tensor([1.7, -1.7], dtype=L.int64)", "L.tensor([300], dtype=L.uint8)",
    "L.tensor([-1], dtype=L.uint8)", "L.tensor([2**63])", "L.tensor([2**63 - 1])",
    "L.tensor([1.5], dtype=L.bool)", "L.tensor([0.5, 0], dtype=L.bool)",
    "L.tensor(1e300, dtype=L.float32)", "L.tensor([1, 2], dtype=L.float16)",
    "L.tensor([1, 2], dtype=L.bfloat16)", "L.tensor({1, 2})", "L.tensor(range(3))",
    "L.tensor([[1], [2.5]], dtype=L.float64)", "L.tensor(np.array(['a']))",
    "L.tensor(np.array([1, 2], dtype=object))", "L.as_tensor([1, 2])",
    "L.as_tensor([1, 2], dtype=L.float32)", "L.as_tensor(np.arange(3))", "L.zeros(2, 3)",
    "L.zeros((2, 3))", "L.zeros([2, 3])", "L.zeros(L.Size([2, 3]))", "L.zeros(())", "L.zeros([])",
    "L.zeros(0)", "L.zeros(2, 3, dtype=L.int32)", "L.zeros(-1)", "L.zeros(2.5)",
    "L.zeros((2, 3), (4,))", "L.ones(2, dtype=L.bool)", "L.empty(2, 3).shape",
    "L.ones(np.int64(3))", "L.zeros(L.tensor(3))", "L.full((2,), 1)", "L.full((2,), 1.5)",
    "L.full((2,), True)", "L.full((2,), 1+1j)", "L.full(2, 7)",
    "L.full([2, 2], 7, dtype=L.float64)", "L.full((), 3)", "L.full((2,), L.tensor(3.5))",
    "L.arange(5)", "L.arange(0, 1, 0.25)", "L.arange(1.0, 5)", "L.arange(5, dtype=L.float32)",
    "L.arange(0, 10, 3)", "L.arange(10, 0, -3)", "L.arange(0, 1, 0.1)", "L.arange(0.0, 1.0, 0.3)",
    "L.arange(0, 5, 0)", "L.arange(0, 5, -1)", "L.arange(5, 5)", "L.arange(-2.5, 2.5)",
    "L.arange(0, 1, 0.1, dtype=L.float64)", "L.arange(L.tensor(3))",
    "L.arange(1, 4, dtype=L.uint8)", "L.arange(0, 1.0, 1/3)", "L.arange(0, 2**40, 2**38)",
    "L.arange(2**63 - 3, 2**63 - 1)", "L.arange(-2**63, -2**63 + 2)", "L.arange(True, 4)",
    "L.arange(np.int32(2), 6)", "L.arange(-3, 3, dtype=L.uint8)", "L.arange(7, dtype=L.int8)",
    "L.full((2, np.int64(3)), 0.5)", "L.full([2, -1], 0.5)", "L.full((2, 2.0), 0.5)",
    "L.full((3,), 1e300)", "L.full((1,), 1e300, dtype=L.float16)", "L.full((2,), np.float32(2))",
    "L.full((2,), 1.1, dtype=L.bfloat16)", "L.full((2,), -1, dtype=L.uint8)",
    "L.linspace(0, 1, 5)", "L.linspace(-1, 1, 4)", "L.linspace(0, 10, 1)", "L.linspace(0, 10, 0)",
    "L.linspace(0, 10, 7, dtype=L.int64)", "L.linspace(3, -3, 6)", "L.linspace(0, 1, -1)",
    "L.linspace(0, 1, 11, dtype=L.float64)", "L.linspace(0, 1, 4, dtype=L.float16)",
    "L.linspace(L.tensor(0.), L.tensor(1.), 3)", "L.linspace(0, 1j, 3)", "L.logspace(0, 2, 3)",
    "L.logspace(0, 3, 4, base=2)", "L.logspace(-1, 1, 5, dtype=L.float64)",
    "L.logspace(0, 2, 3, dtype=L.int64)", "L.eye(3)", "L.eye(2, 3)", "L.eye(3, dtype=L.int64)",
    "L.eye(0)", "L.eye(-1)", "L.eye(3, 0)", "L.zeros_like(L.ones(2, 3, dtype=L.int32))",
    "L.ones_like(L.ones(2), dtype=L.float64)", "L.full_like(L.ones(2, dtype=L.int64), 2.7)",
    "L.empty_like(L.ones(2)).shape", "L.full_like(L.ones(2), 3, dtype=L.int16)",
    "L.zeros_like(L.ones(2), requires_grad=True)", "L.rand(2, 3).shape",
    "L.rand(2, 3, dtype=L.float64).dtype", "L.randn((2, 3)).dtype", "L.rand(2, dtype=L.int64)",
    "L.randn(2, dtype=L.int64)", "L.randint(0, 10, (3,)).dtype", "L.randint(10, (3,)).shape",
    "L.randint(3, 10, (2, 2), dtype=L.float32).dtype", "L.randint(0, 0, (3,))",
    "L.randint(5, (0,)).shape", "L.randperm(5).sort().values",
    "L.randperm(5, dtype=L.float32).dtype", "L.randperm(0)",
    "L.rand_like(L.ones(2, dtype=L.float64)).dtype", "L.rand_like(L.ones(2, dtype=L.int64))",
    "L.randn_like(L.ones(2)).shape", "L.randint_like(L.ones(2, 2), 5).dtype",
    "L.randint_like(L.ones(2, 2), 3, 5).shape", "L.normal(0.0, 1.0, (2, 3)).shape",
    "L.normal(L.zeros(3), 1.0).shape", "L.normal(L.zeros(3), L.ones(2, 1)).shape",
    "L.normal(0.0, L.ones(3, dtype=L.float64)).dtype", "L.normal(0.0, -1.0, (2,))",
    "L.normal(L.zeros(3), -1.0)", "L.normal(2.0, 0.0, (3,))", "L.bernoulli(L.full((3,), 1.0))",
    "L.bernoulli(L.zeros(3, dtype=L.float64))", "L.bernoulli(L.full((3,), 2.0))",
    "L.bernoulli(L.ones(3), 0.0)", "L.multinomial(L.tensor([0., 1., 0.]), 2)",
    "L.multinomial(L.tensor([0., 1., 0.]), 2, replacement=True)",
    "L.multinomial(L.tensor([[0., 1.], [1., 0.]]), 1)", "L.multinomial(L.tensor([1., 1.]), 3)",
    "L.multinomial(L.tensor([-1., 1.]), 1)", "L.multinomial(L.tensor([0., 0.]), 1)",
    "L.multinomial(L.tensor(1.), 1)", "L.ones(3).uniform_(2, 2)", "L.ones(3).normal_(5, 0)",
    "L.ones(3, dtype=L.int64).uniform_()", "L.ones(3).fill_(2)", "L.ones(3).zero_()",
    "L.ones(3, dtype=L.int32).fill_(2.7)", "L.ones(3).bernoulli_(1.0)",
    "L.ones(3).bernoulli_(0.0)", "L.ones(3).random_(1, 2)",
    "L.ones(3, dtype=L.int64).random_(5, 6)", "L.ones(3).exponential_().shape",
    "L.ones(3).fill_(L.tensor(2.5))", "L.ones(3).fill_(L.tensor([2.5]))",
    "L.ones(3).fill_(L.tensor([2.5, 1]))", "L.scalar_tensor(3)", "L.scalar_tensor(True)",
    "L.tensor([1, 2]).new_tensor([3.5])", "L.ones(2, dtype=L.int32).new_zeros(3)",
    "L.ones(2, dtype=L.int32).new_ones((2, 2))", "L.ones(2).new_full((2,), 3)",
    "L.ones(2, dtype=L.float64).new_empty(3).dtype", "L.complex(L.ones(2), L.zeros(2))",
    "L.polar(L.ones(2), L.zeros(2))", "L.zeros(2, 3, out=L.empty(1))",
    "L.arange(3, out=L.empty(1, dtype=L.int64))", "L.empty_strided((2, 3), (1, 2)).stride()",
    "L.tril_indices(3, 3)", "L.triu_indices(3, 4, 1)", "L.Tensor(2, 3).shape", "L.Tensor([1, 2])",
    "L.Tensor([1, 2]).dtype", "L.LongTensor([1, 2])", "L.FloatTensor(2).shape",
    "L.BoolTensor([1, 0])", "L.heaviside(L.tensor([-1., 0., 2.]), L.tensor([0.5]))",
    "L.full((2,), 1, dtype=L.bool)", "L.zeros(2, requires_grad=True)",
    "L.zeros(2, dtype=L.int64, requires_grad=True)",
    "L.tensor(np.arange(6).reshape(2, 3)[:, ::2])", "L.tensor(np.arange(3)[::-1])",
    "L.as_tensor(np.arange(3)[::-1])", "L.from_numpy(np.arange(3)[::-1])",
    "L.from_numpy(np.array(['a']))", "L.from_numpy([1, 2])",
    # uint64 takes Python ints in [0, 2**64), no floats (ember refused those >= 2**63)
    "L.tensor([2**63, 1], dtype=L.uint64)", "L.tensor(2**64 - 1, dtype=L.uint64)",
    "L.tensor([[1, 2**63]], dtype=L.uint64)", "L.tensor([-1, 2**63], dtype=L.uint64)",
    "L.tensor([2**64], dtype=L.uint64)", "L.tensor([2.0], dtype=L.uint64)",
    "L.tensor([True, 2**63], dtype=L.uint64)", "L.full((2,), 2**63, dtype=L.uint64)",
    "L.tensor([-1], dtype=L.uint32)", "L.tensor([2**32], dtype=L.uint32)",
    "L.tensor([[1, 2.5], [3, 4]])", "L.tensor([[1, 2], [3, 4.5]], dtype=L.int64)",
    "L.tensor([[True], [False]])", "L.tensor([[1j], [2]])", "L.tensor([[1], (2,)])",
    "L.tensor([[300], [2]], dtype=L.uint8)", "L.tensor([[1, None]])", "L.tensor([[2**63]])",
    "L.tensor([-129, 5], dtype=L.int8)", "L.tensor([2**40], dtype=L.int32)",
    "L.tensor((1, 2.5))", "L.tensor([1, 1+2j], dtype=L.float32)",
]


def _outcome(lib, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = eval(expr, {"L": lib, "np": np})
        except Exception as e:      # noqa: BLE001 - the class is what we compare
            return ("err", type(e).__name__)
    if isinstance(r, (lib.Tensor,)):
        a = np.array(r.tolist(), dtype=np.complex128 if r.is_complex() else np.float64)
        return ("ok", str(r.dtype).replace("torch.", ""), tuple(r.shape), a)
    return ("ok", repr(tuple(r) if isinstance(r, tuple) else r).replace("torch.", ""))


@pytest.mark.parametrize("expr", CASES)
def test_creation_matches_torch(expr):
    t, e = _outcome(torch, expr), _outcome(ember, expr)
    assert e[:3] == t[:3], (e[:3], t[:3])
    if len(t) == 4 and "rand" not in expr and "normal" not in expr and "empty" not in expr and \
            "bernoulli" not in expr and "multinomial" not in expr:
        np.testing.assert_allclose(e[3], t[3], rtol=1e-6, atol=1e-6, equal_nan=True)


def test_bernoulli_and_multinomial_degenerate_values():
    assert ember.bernoulli(ember.full((4,), 1.0)).tolist() == [1.0] * 4
    assert ember.bernoulli(ember.zeros(4, dtype=ember.float64)).tolist() == [0.0] * 4
    assert ember.multinomial(ember.tensor([0., 1., 0.]), 1).tolist() == [1]
    assert ember.multinomial(ember.tensor([[0., 1.], [1., 0.]]), 1).tolist() == [[1], [0]]


def test_unsupported_numpy_dtypes_raise_type_error():
    """NumPy dtypes torch has no counterpart for: TypeError."""
    for dt in (np.object_, np.str_, np.datetime64):
        with pytest.raises(TypeError):
            ember.from_numpy(np.zeros(2, dt))
        with pytest.raises(TypeError):
            ember.tensor(np.zeros(2, dt))


# ---- memory sharing --------------------------------------------------------------------------
def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ember.from_numpy(a)
    a[0, 0] = 100
    assert t[0, 0].item() == 100
    t[1, 2] = -5
    assert a[1, 2] == -5
    t.add_(1)
    assert a[0, 1] == 2
    assert t.numpy() is a or np.shares_memory(t.numpy(), a)


def test_as_tensor_shares_and_tensor_copies():
    a = np.arange(3, dtype=np.int64)
    shared, copied = ember.as_tensor(a), ember.tensor(a)
    a[0] = 7
    assert shared[0].item() == 7 and copied[0].item() == 0
    assert ember.as_tensor(a, dtype=ember.float32)[0].item() == 7.0     # converted: a copy
    t = ember.ones(2)
    assert ember.as_tensor(t) is t
    assert ember.as_tensor(t, dtype=ember.float64).dtype is ember.float64


def test_from_numpy_errors_and_readonly_warning(monkeypatch):
    monkeypatch.setattr(ember._warnings, "GIVEN", set())    # (torch warns once a process)
    with pytest.raises(ValueError):
        ember.from_numpy(np.arange(3)[::-1])
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.warns(UserWarning):
        ember.from_numpy(ro)


def test_tensor_of_tensor_warns_and_copies():
    src = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="detach"):
        t = ember.tensor(src)
    assert not t.requires_grad and t.tolist() == [1.0, 2.0]
    t[0] = 5
    assert src[0].item() == 1.0


# ---- factories -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_shape_forms(name):
    f = getattr(ember, name)
    for args in [(2, 3), ((2, 3),), ([2, 3],), (ember.Size([2, 3]),), (np.int64(2), 3)]:
        t = f(*args)
        assert t.shape == (2, 3) and t.dtype is ember.float32
    assert f(()).shape == () and f(0).shape == (0,)
    assert f(2, dtype=ember.float64).dtype is ember.float64
    t = f(2, 3, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert f(2, device="mock").device == ember.device("mock", 0)
    with pytest.raises(RuntimeError):
        f(-1)
    with pytest.raises(TypeError):
        f(2.5)


@pytest.mark.parametrize("code", ["zeros()", "ones()", "empty()", "rand()", "randn()",
                                  "zeros(dtype=t.float64)", "ones(1).new_zeros()",
                                  "ones(1).new_ones()", "ones(1).new_empty()"])
def test_factories_without_a_size_raise_as_torch(code):
    """No size is torch's TypeError (a 0-d tensor is f(())), with torch's message. (ember's
    rand(dtype=...) keeps rand()'s message where torch's says the size is missing.)"""
    messages = []
    for lib in (ember, torch):
        with pytest.raises(TypeError) as err:
            eval("t." + code, {"t": lib})
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    with pytest.raises(TypeError):
        ember.rand(dtype=ember.float64)


def test_like_factories_keep_dtype_and_device():
    x = ember.ones(2, 3, dtype=ember.float64, device="mock")
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        y = getattr(ember, name)(x)
        assert y.shape == x.shape and y.dtype is x.dtype and y.device == x.device
        assert getattr(ember, name)(x, dtype=ember.float32).dtype is ember.float32
    assert ember.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    assert ember.randint_like(x, 5).dtype is ember.float64
    assert ember.zeros_like(x, requires_grad=True).requires_grad


def test_factories_write_into_out():
    out = ember.empty(1)
    r = ember.zeros(2, 3, out=out)
    assert r is out and out.shape == (2, 3) and out.sum().item() == 0
    out = ember.empty(0, dtype=ember.int64)
    assert ember.arange(4, out=out) is out and out.tolist() == [0, 1, 2, 3]


def test_legacy_typed_constructors():
    assert ember.FloatTensor(2, 3).shape == (2, 3)
    assert ember.LongTensor([1, 2]).dtype is ember.int64
    assert ember.BoolTensor([1, 0]).tolist() == [True, False]
    assert ember.Tensor([1, 2]).dtype is ember.float32
    assert ember.DoubleTensor([1]).dtype is ember.float64


# ---- random sampling -------------------------------------------------------------------------
N = 100_000


def _stats(t):
    a = t.double().numpy()
    return a.mean(), a.std()


def test_rand_and_randn_distributions():
    ember.manual_seed(1)
    u = ember.rand(N)
    assert u.dtype is ember.float32 and float(u.min()) >= 0 and float(u.max()) < 1
    m, s = _stats(u)
    assert abs(m - 0.5) < 0.01 and abs(s - math.sqrt(1 / 12)) < 0.01
    n = ember.randn(N, dtype=ember.float64)
    m, s = _stats(n)
    assert n.dtype is ember.float64 and abs(m) < 0.02 and abs(s - 1) < 0.02
    c = ember.randn(N, dtype=ember.complex64)
    assert c.dtype is ember.complex64
    assert abs(float(c.abs().pow(2).mean()) - 1) < 0.03      # E|z|^2 = 1 as in torch
    h = ember.rand(1000, dtype=ember.float16)
    assert h.dtype is ember.float16 and float(h.max()) <= 1


def test_randint_randperm():
    ember.manual_seed(2)
    r = ember.randint(-3, 4, (N,))
    assert r.dtype is ember.int64 and r.min().item() == -3 and r.max().item() == 3
    counts = np.bincount(r.numpy() + 3)
    assert counts.min() > N / 7 * 0.9 and counts.max() < N / 7 * 1.1
    assert ember.randint(5, (3, 2)).shape == (3, 2)
    assert ember.randint(0, 2, (4,), dtype=ember.bool).dtype is ember.bool
    p = ember.randperm(50)
    assert p.dtype is ember.int64 and sorted(p.tolist()) == list(range(50))
    assert p.tolist() != list(range(50))
    with pytest.raises(RuntimeError):
        ember.randint(3, 3, (2,))


def test_normal_variants():
    ember.manual_seed(3)
    m, s = _stats(ember.normal(2.0, 3.0, (N,)))
    assert abs(m - 2) < 0.05 and abs(s - 3) < 0.05
    mean = ember.full((N,), -1.0)
    t = ember.normal(mean, 0.5)
    assert t.shape == (N,) and abs(_stats(t)[0] + 1) < 0.02 and abs(_stats(t)[1] - 0.5) < 0.02
    t = ember.normal(0.0, ember.full((N,), 2.0, dtype=ember.float64))
    assert t.dtype is ember.float64 and abs(_stats(t)[1] - 2) < 0.05
    assert ember.normal(ember.zeros(3), ember.ones(2, 1)).shape == (2, 3)
    assert not ember.normal(ember.zeros(3, requires_grad=True), 1.0).requires_grad


def test_bernoulli_multinomial_statistics():
    ember.manual_seed(4)
    p = ember.full((N,), 0.3)
    b = ember.bernoulli(p)
    assert b.dtype is ember.float32 and set(b.unique().tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.01
    assert abs(ember.bernoulli(ember.zeros(N), 0.7).mean().item() - 0.7) < 0.01
    probs = ember.tensor([0.1, 0.2, 0.7])
    draws = ember.multinomial(probs, N, replacement=True)
    freq = np.bincount(draws.numpy(), minlength=3) / N
    assert np.allclose(freq, [0.1, 0.2, 0.7], atol=0.01)
    rows = ember.multinomial(ember.tensor([[1.0, 1, 1, 1], [0, 0, 5, 1]]), 2)
    assert rows.shape == (2, 2) and rows.dtype is ember.int64
    assert len(set(rows[0].tolist())) == 2 and set(rows[1].tolist()) == {2, 3}
    # without replacement: the first draw follows the weights
    first = np.bincount([ember.multinomial(probs, 3)[0].item() for _ in range(3000)],
                        minlength=3) / 3000
    assert np.allclose(first, [0.1, 0.2, 0.7], atol=0.04)
    with pytest.raises(RuntimeError):
        ember.multinomial(probs, 4)


def test_inplace_random_fills():
    ember.manual_seed(5)
    x = ember.empty(N)
    assert x.uniform_(-2, 3) is x
    assert float(x.min()) >= -2 and float(x.max()) < 3 and abs(x.mean().item() - 0.5) < 0.03
    m, s = _stats(x.normal_(1.0, 2.0))
    assert abs(m - 1) < 0.03 and abs(s - 2) < 0.03
    assert abs(x.exponential_(2.0).mean().item() - 0.5) < 0.01
    assert abs(x.bernoulli_(0.25).mean().item() - 0.25) < 0.01
    g = x.geometric_(0.5)
    assert float(g.min()) >= 1 and abs(g.mean().item() - 2) < 0.05
    assert abs(np.median(x.cauchy_(1.0, 1.0).numpy()) - 1) < 0.05
    ln = x.log_normal_(0.0, 0.5)
    assert abs(np.log(ln.numpy()).mean()) < 0.02
    r = ember.empty(N, dtype=ember.int64).random_(0, 10)
    assert r.min().item() == 0 and r.max().item() == 9
    assert ember.empty(N).random_(5).max().item() <= 4
    i8 = ember.empty(1000, dtype=ember.int8).random_()
    assert i8.min().item() >= 0 and i8.dtype is ember.int8
    with pytest.raises(NotImplementedError):
        ember.empty(3, dtype=ember.int64).normal_()
    y = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        y.uniform_()
    assert y.requires_grad and y.grad_fn is None


def test_manual_seed_reproducibility():
    fns = [lambda g: ember.rand(5, generator=g), lambda g: ember.randn(2, 3, generator=g),
           lambda g: ember.randint(0, 100, (6,), generator=g),
           lambda g: ember.randperm(8, generator=g),
           lambda g: ember.normal(0.0, 1.0, (4,), generator=g),
           lambda g: ember.bernoulli(ember.full((6,), 0.5), generator=g),
           lambda g: ember.multinomial(ember.ones(5), 3, generator=g),
           lambda g: ember.empty(4).uniform_(generator=g),
           lambda g: ember.empty(4).normal_(generator=g)]
    for f in fns:
        ember.manual_seed(123)
        a = f(None)
        ember.manual_seed(123)
        assert f(None).tolist() == a.tolist()
        g = ember.Generator().manual_seed(7)
        b = f(g)
        ember.manual_seed(0)                    # the global seed does not touch g
        assert f(ember.Generator().manual_seed(7)).tolist() == b.tolist()


def test_generator_state_and_seeds():
    ember.manual_seed(42)
    assert ember.initial_seed() == 42
    state = ember.get_rng_state()
    assert isinstance(state, ember.Tensor) and state.dtype is ember.uint8
    a = ember.rand(5)
    ember.set_rng_state(state)
    assert ember.rand(5).tolist() == a.tolist()
    g = ember.Generator()
    assert g.manual_seed(9) is g and g.initial_seed() == 9 and g.device == ember.device("cpu")
    st = g.get_state()
    x = ember.randn(3, generator=g)
    assert g.set_state(st) is g
    assert ember.randn(3, generator=g).tolist() == x.tolist()
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s
    assert ember.manual_seed(5) is ember.default_generator
    ember.manual_seed(-1)                       # negative seeds are accepted, as in torch
    with pytest.raises(ValueError):
        ember.manual_seed(2 ** 64)


def test_random_on_mock_device_is_reproducible():
    ember.manual_seed(11)
    a = ember.rand(4, device="mock")
    ember.manual_seed(11)
    assert a.device == ember.device("mock", 0) and ember.rand(4, device="mock").tolist() == \
        a.tolist()


# ---- finfo / iinfo / default dtype -------------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64",
                                  "complex128"])
def test_finfo(name):
    t, e = torch.finfo(getattr(torch, name)), ember.finfo(getattr(ember, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    t, e = torch.iinfo(getattr(torch, name)), ember.iinfo(getattr(ember, name))
    assert (e.bits, e.min, e.max, e.dtype) == (t.bits, t.min, t.max, t.dtype)
    assert repr(e) == repr(t)


def test_finfo_iinfo_errors_and_default():
    assert repr(ember.finfo()) == repr(torch.finfo())
    for bad in ("finfo(L.int32)", "iinfo(L.float32)", "iinfo(L.bool)"):
        with pytest.raises(TypeError):
            eval("L." + bad, {"L": torch})
        with pytest.raises(TypeError):
            eval("L." + bad, {"L": ember})


def test_set_default_dtype_effects():
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.get_default_dtype() is ember.float64
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.tensor([1 + 1j]).dtype is ember.complex128
        for f in (ember.zeros, ember.ones, ember.empty, ember.rand, ember.randn):
            assert f(2).dtype is ember.float64
        assert ember.arange(0.0, 1.0, 0.5).dtype is ember.float64
        assert ember.arange(3).dtype is ember.int64
        assert ember.linspace(0, 1, 3).dtype is ember.float64
        assert ember.full((2,), 1.5).dtype is ember.float64
        assert (ember.arange(3) * 0.5).dtype is ember.float64
        assert (ember.arange(3) / 2).dtype is ember.float64
        assert ember.finfo().dtype == "float64"
        assert ember.ones(2, dtype=ember.float32).mul(2.5).dtype is ember.float32
    finally:
        ember.set_default_dtype(ember.float32)
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)
    assert ember.tensor([1.0]).dtype is ember.float32


@pytest.mark.parametrize("args", [
    lambda m: (m.ones(2, dtype=m.int64), m.ones(2)),
    lambda m: (m.ones(2), m.ones(2, dtype=m.float64)),
    lambda m: (m.ones(2, dtype=m.bfloat16), m.ones(2, dtype=m.bfloat16)),
    lambda m: (m.ones(2, dtype=m.complex64), m.ones(2, dtype=m.complex64)),
    lambda m: (m.ones(2), m.ones(3)),
    lambda m: (1.0, m.ones(2)),
])
def test_complex_rejects_what_torch_rejects(args):
    with pytest.raises(Exception) as want:
        torch.complex(*args(torch))
    with pytest.raises(want.type, match=re.escape(str(want.value))):
        ember.complex(*args(ember))


def test_complex_broadcasts_and_differentiates():
    re_, im = ember.tensor([1.0, 2.0], requires_grad=True), ember.tensor([[3.0], [4.0]])
    z = ember.complex(re_, im)
    assert tuple(z.shape) == (2, 2) and z.dtype == ember.complex64
    z.real.sum().backward()
    np.testing.assert_array_equal(re_.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("start,end,steps", [(-1, 1, 7), (0.1, 2.7, 33), (0, 1, 100),
                                             (-3.3, 7.1, 1000), (2.5, -1.25, 57)])
def test_linspace_is_torchs_bit_for_bit(start, end, steps, dtype):
    """torch's kernel computes start + step * i (or end - step * (n - 1 - i)) as one fused
    multiply-add; ember emulates it (linspace(-1, 1, 7)[3] is -2.98e-08 in both, not 0)."""
    e = ember.linspace(start, end, steps, dtype=getattr(ember, dtype)).numpy()
    t = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    np.testing.assert_array_equal(e, t)


def _bits(t):
    return t.float().numpy() if str(t.dtype) in ("torch.float16", "torch.bfloat16") else t.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_arange_and_range_values_are_torchs_bit_for_bit(dtype):
    """torch's CPU kernel rounds per vector block and fuses start + step * i; 200 random
    ranges (several vector blocks, tails, negative steps) match it exactly."""
    rng = np.random.default_rng(7)
    te, tt = getattr(ember, dtype), getattr(torch, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(200):
            start = float(rng.uniform(-50, 50))
            step = float(rng.choice([-1, 1]) * rng.uniform(0.01, 3))
            end = start + step * int(rng.integers(1, 300)) * float(rng.uniform(0.5, 1.5))
            want = _bits(torch.arange(start, end, step, dtype=tt))
            np.testing.assert_array_equal(_bits(ember.arange(start, end, step, dtype=te)), want)
            want = _bits(torch.range(start, end, step, dtype=tt))
            np.testing.assert_array_equal(_bits(ember.range(start, end, step, dtype=te)), want)


class _threads:
    """torch's intra-op thread count set to ember's for the block: long ranges are split
    into one chunk per thread, and each chunk restarts the vector blocks."""
    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


@pytest.mark.parametrize("n", [40000, 70001])
def test_long_arange_splits_like_torchs_threads(n):
    with _threads(ember.get_num_threads()):
        for dtype in ("float32", "float64"):
            want = torch.arange(0.1, 0.1 + n * 0.37, 0.37, dtype=getattr(torch, dtype)).numpy()
            got = ember.arange(0.1, 0.1 + n * 0.37, 0.37, dtype=getattr(ember, dtype)).numpy()
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("args,dtype", [
    ((0, 10, 1.5), "int64"), ((0, 10, 1.5), "int32"), ((0.5, 10, 2), "int64"),
    ((0, 10, 2.5), "uint8"), ((-5, 5, 1.7), "int16"), ((10, 0, -1.5), "int64"),
    ((10, 0, -1.5), "int32"), ((-3.7, 4.2, 1), "int64"), ((0, 300, 7), "uint8"),
    ((5, -3, -2), "int8"), ((0, 5, 0.5), "int32"), ((0, 5, 0.5), "int64"),
    ((0, 5, -1.0), "float32"), ((0, -5, 0.5), "int32"), ((0, 5), "complex64"), ((0, 5), "bool"),
])
def test_arange_integer_rules_and_errors(args, dtype):
    """Integer aranges truncate start/end/step (int64 sizes itself on the truncated values);
    errors are torch's classes and messages."""
    def run(lib):
        try:
            return lib.arange(*args, dtype=getattr(lib, dtype)).tolist()
        except Exception as e:      # noqa: BLE001 - class and message are compared
            return type(e).__name__, str(e)
    assert run(ember) == run(torch)


def test_range_warns_as_torch():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        got = ember.range(0, 3, 1.5, dtype=ember.int64).tolist()
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        assert got == torch.range(0, 3, 1.5, dtype=torch.int64).tolist() == [0, 1, 2, 3]


SCALAR_CONVERSIONS = [
    # full's fill value: torch's checked conversion (bool takes any number)
    "t.full((2,), 1 + 2j, dtype=t.bool)", "t.full((2,), 2 ** 40, dtype=t.float16)",
    "t.full((2,), 300, dtype=t.uint8)", "t.full((2,), -1, dtype=t.uint8)",
    "t.full((2,), 1e300, dtype=t.float32)", "t.full((2,), 1 + 2j, dtype=t.float32)",
    "t.full_like(t.ones(2), 1 + 2j)", "t.full((2,), np.float64(2.5), dtype=t.int32)",
    # NumPy complex scalars give a float their real part; an int refuses them
    "t.tensor(np.complex64(0.5 + 1j), dtype=t.float32)", "t.tensor([np.complex64(1 + 1j)])",
    "t.tensor([np.complex64(1 + 1j)], dtype=t.float64)",
    "t.tensor(np.complex128(2 + 1j), dtype=t.int64)", "t.tensor([1 + 2j], dtype=t.int32)",
    # integral linspace/logspace: the converted ends, torch's halves, C's double-to-int casts
    "t.linspace(-1, -3, 7, dtype=t.uint8)", "t.linspace(-1, 3, 3, dtype=t.uint8)",
    "t.linspace(0.5, 300.7, 5, dtype=t.uint8)", "t.logspace(-1, 1, 4, base=2.5, dtype=t.uint8)",
    "t.logspace(0, 40, 3, base=2, dtype=t.int32)", "t.logspace(0, 70, 3, base=2, dtype=t.int64)",
    "t.linspace(2.5, 1, 2, dtype=t.bool)", "t.logspace(2, -2, 4, base=2, dtype=t.bool)",
    "t.linspace(1 + 1j, 10, 5, dtype=t.bool)", "t.logspace(1 + 1j, 2, 3, dtype=t.float32)",
    "t.logspace(0, 2, 3, out=t.empty(3))",
    # bool runs no kernel for 0 or 1 steps (a fill)
    "t.linspace(0, 10, 0, dtype=t.bool)", "t.linspace(2, 10, 1, dtype=t.bool)",
    "t.logspace(-1, 1, 1, dtype=t.bool)",
    # a one-element float16/bfloat16 fill takes torch's unchecked fast path (inf)
    "t.full((), 1e10, dtype=t.float16)", "t.zeros((1, 1), dtype=t.float16).fill_(70000)",
    "t.full((2,), 1e10, dtype=t.float16)", "t.full((), 1e39, dtype=t.bfloat16)",
    "t.full((), 1e300, dtype=t.float32)",
]


@pytest.mark.parametrize("code", SCALAR_CONVERSIONS)
def test_scalar_conversions_in_factories_as_torch(code):
    e, t = eval_both(code)
    assert e == t


def _uninitialized_memory(L):
    """Under use_deterministic_algorithms(True), torch.empty's memory (and resize_'s growth) is
    filled: NaN (NaN+0j), the largest integer, True; fill_uninitialized_memory turns it off."""
    def show(t):
        if t.is_complex():
            t = t.view(L.float32 if t.dtype == L.complex64 else L.float64)
        return str(t.dtype).split(".")[1], str(t.tolist())     # (nan != nan)

    def run():
        out = [show(L.empty(2, dtype=d)) for d in (
            L.float32, L.float64, L.float16, L.bfloat16, L.complex64, L.complex128, L.int8,
            L.uint8, L.int16, L.int32, L.int64, L.uint16, L.uint32, L.uint64, L.bool)]
        out += [show(L.empty_like(L.ones(2, dtype=L.int64))), show(L.empty_strided((2, 2), (1, 2))),
                show(L.ones(2).new_empty(3)), show(L.ones(2).new_empty_strided((2,), (2,))),
                show(L.empty(2, out=L.ones(3)))]
        for dtype in (L.float32, L.int32):
            x = L.zeros(1, dtype=dtype)
            out.append(show(x.resize_(3)))
        x = L.zeros(4)
        out.append(show(x.resize_(2).resize_(4)))       # within its storage: nothing new
        return out

    det = L.utils.deterministic
    try:
        L.use_deterministic_algorithms(True)
        filled = run()
        det.fill_uninitialized_memory = False
        off = (det.fill_uninitialized_memory, L.zeros(1).resize_(3)[0].item())
    finally:
        det.fill_uninitialized_memory = True
        L.use_deterministic_algorithms(False)
    try:
        det.fill_uninitialized_memory = 1
    except RuntimeError as e:
        refused = str(e)
    return filled, off, refused


def test_deterministic_fill_of_uninitialized_memory():
    assert _uninitialized_memory(ember) == _uninitialized_memory(torch)


def _asarray_of_tensors(lib):
    """torch.asarray of a leaf / non-leaf / plain tensor under each requires_grad and copy:
    identity, requires_grad, grad_fn, leafness, shared memory and warnings."""
    out = []
    for kind in ("leaf", "nonleaf", "plain"):
        for rg in ("unset", False, True):
            for copy in (None, True, False):
                obj = lib.ones(2, requires_grad=kind != "plain")
                obj = obj * 2 if kind == "nonleaf" else obj
                kw = {} if rg == "unset" else {"requires_grad": rg}
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    t = lib.asarray(obj, copy=copy, **kw)
                out.append((t is obj, t.requires_grad, type(t.grad_fn).__name__, t.is_leaf,
                            t.data_ptr() == obj.data_ptr(), len(w) > 0 and kind != "leaf"))
    return out


def test_asarray_of_a_tensor_keeps_or_drops_autograd_as_torch():
    """torch 2.13: requires_grad=False detaches (a leaf in place), unset keeps obj's graph,
    copy=True is a differentiable clone (ember detached copies and kept graphs on False)."""
    assert _asarray_of_tensors(ember) == _asarray_of_tensors(torch)


@pytest.mark.parametrize("dtype", ["bool", "int64", "float16", "bfloat16", "float32", "float64",
                                   "complex64"])
def test_bernoulli_out_and_dtypes_as_torch(dtype):
    """bernoulli's out= is written (resized to the result; ember returned a new tensor and left
    `out` as it was), and its dtype refusals are torch's: probabilities of a floating dtype,
    into a real tensor."""
    codes = ("x.bernoulli(0.5)", "L.bernoulli(x)", "L.bernoulli(L.full((3,), 0.5), out=x)",
             "L.bernoulli(L.full((5,), 0.5, dtype=L.float64), out=x)", "x.bernoulli_()",
             "L.bernoulli(x, 0.3)")
    results = []
    for L in (ember, torch):
        out = []
        for code in codes:
            L.manual_seed(3)
            x = L.full((3,), 0.5).to(getattr(L, dtype))
            try:
                r = eval(code, {"x": x, "L": L})
                out.append((str(r.dtype)[6:], r.tolist(), x.tolist(), r is x))
            except Exception as e:      # noqa: BLE001 - class and message are compared
                out.append((type(e).__name__, str(e)))
        results.append(out)
    assert results[0] == results[1]


def test_tensor_of_a_number_like_torch():
    """tensor(number) (its quick path): the value, dtype and layout as torch's for floats at
    float32's edges, ints at int64's, bools, both default dtypes, inference mode, and the
    refusals."""
    values = [3.0, -0.0, float("nan"), -float("inf"), 1e300, -1e-46, 3.4028235e38, 7,
              -(1 << 63), (1 << 63) - 1, 1 << 63, True]

    def run(L):
        out = []
        for default in (L.float32, L.float64):
            L.set_default_dtype(default)
            try:
                for v in values:
                    try:
                        t = L.tensor(v)
                        out.append((repr(t), str(t.dtype), t.stride(), t.requires_grad,
                                    t.is_leaf))
                    except Exception as e:
                        out.append((type(e).__name__, str(e)))
            finally:
                L.set_default_dtype(L.float32)
        with L.inference_mode():
            out.append(L.tensor(2.0).is_inference())
        out.append(L.tensor(2.0, requires_grad=True).requires_grad)
        return out
    assert run(ember) == run(torch)
