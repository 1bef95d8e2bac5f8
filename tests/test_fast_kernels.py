"""The faster NumPy formulations of hot kernels keep torch's numbers: clamp/relu through np.clip
(bit for bit, signed zeros and NaN included), softmax over many short rows on the transposed
layout (the same bits as the in-layout algorithm), sigmoid/silu as torch's 1 / (1 + exp(-x)),
and 2-byte floats computed in float32 and rounded once as torch's kernels do."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn import _ops

SPECIAL = [np.nan, -np.nan, -0.0, 0.0, -1.0, 1.0, np.inf, -np.inf, 0.3, -0.5, 0.5, 1e-40, -1e-40]
BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _values(dtype, n=3000):
    rng = np.random.default_rng(0)
    v = np.concatenate([np.array(SPECIAL * 8), rng.standard_normal(n) * 4])
    return v.astype(dtype)


def _same_bits(a, b):
    """Equal bit patterns (so -0.0 != 0.0), any NaN equal to any NaN."""
    a, b = np.asarray(a), np.asarray(b)
    nan = np.isnan(a)
    if a.dtype != b.dtype or not np.array_equal(nan, np.isnan(b)):
        return False
    ib = BITS[a.itemsize]
    return np.array_equal(a[~nan].view(ib), b[~nan].view(ib))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_and_clamp_are_torchs_bits(dtype):
    v = _values(dtype)
    g = np.random.default_rng(1).standard_normal(v.shape).astype(dtype)
    te, tt = ember.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    assert _same_bits(ember.relu(te).detach().numpy(), torch.relu(tt).detach().numpy())
    for lo, hi in itertools.product([None, -0.0, 0.0, -0.5, 1.0, np.nan], repeat=2):
        if lo is None and hi is None:
            continue
        ye, yt = te.clamp(lo, hi), tt.clamp(lo, hi)
        assert _same_bits(ye.detach().numpy(), yt.detach().numpy()), (lo, hi)
        ge, = ember.autograd.grad(ye, te, ember.tensor(g))
        gt, = torch.autograd.grad(yt, tt, torch.tensor(g))
        assert _same_bits(ge.numpy(), gt.numpy()), (lo, hi)
    for fe, ft in [(ember.nn.functional.relu6, torch.nn.functional.relu6),
                   (ember.nn.functional.hardtanh, torch.nn.functional.hardtanh)]:
        assert _same_bits(fe(te).detach().numpy(), ft(tt).detach().numpy())


def _in_layout_softmax(x):
    """torch's last-dim float32 softmax computed in x's own layout: the reference for the
    transposed computation."""
    e = np.exp(x - x.max(axis=-1, keepdims=True), dtype=np.float64).astype(np.float32)
    e *= np.float32(1) / _ops._lane_rowsum(e)
    return e


@pytest.mark.parametrize("shape", [(4096, 3), (700, 15), (640, 16), (300, 17), (64, 64),
                                   (16, 4, 64, 64), (500, 100), (200, 255), (100, 256),
                                   (3, 1000), (10, 7)])
def test_softmax_layouts_agree_bit_for_bit(shape):
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32) * 5
    x.reshape(-1)[::11] = -np.inf                  # masked entries, as causal attention has
    got = _ops._softmax_lastdim_f32(x)
    assert got.shape == x.shape and got.flags.c_contiguous
    assert _same_bits(got, _in_layout_softmax(x))
    ref = torch.softmax(torch.tensor(x), -1).numpy()
    assert np.allclose(got, ref, rtol=1e-6, atol=1e-37)
    if x.size >= 64 * shape[-1]:                   # enough rows for a rate
        assert np.mean(got != ref) < 0.2           # an ulp off in a few rows, not more


def test_causal_attention_softmax_matches_torch():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(4, 2, 64, 16, generator=g) for _ in range(3))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    got = ember.nn.functional.scaled_dot_product_attention(
        *(ember.tensor(t.numpy()) for t in (q, k, v)), is_causal=True)
    assert np.allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_flash_attention_backward_kept_or_recomputed(keep, mask, monkeypatch):
    """The flash node's backward from the forward's probabilities (kept when small) and from
    recomputed scores (as torch's kernel) both give torch's gradients, a fully masked query
    row (zeros) included."""
    from ember.nn import _attention
    if not keep:
        monkeypatch.setattr(_attention, "_KEEP_PROBS_BYTES", 0)
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 6, 4)) for _ in range(3))
    g = rng.standard_normal((2, 3, 6, 4))
    m = rng.random((6, 6)) > 0.3
    m[2] = False                                    # a query row every key is masked from
    grads = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        am = None if mask is None else lib.tensor(m) if mask == "bool" else \
            lib.tensor(np.where(m, 0.0, -np.inf))
        out = lib.nn.functional.scaled_dot_product_attention(*ts, attn_mask=am,
                                                             is_causal=mask is None)
        out.backward(lib.tensor(g))
        grads.append([t.grad.numpy() for t in ts] + [out.detach().numpy()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", ["contiguous", "heads_transposed", "qkv_split", "head_slice"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_flash_attention_gradients_in_torchs_layout(layout, dtype):
    """torch's flash backward writes the gradients of query, key and value laid out (B, L, H, D)
    whatever the inputs' layout: a hook sees those strides, and the head split's view of a
    GPT block (qkv.split, view, transpose) takes them back without a copy."""
    x = np.random.default_rng(4).standard_normal((2, 6, 24, 8))
    strides = []
    for lib in (ember, torch):
        base = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        if layout == "contiguous":
            ts = [base[:, :, :4].contiguous().transpose(1, 2).contiguous() for _ in range(3)]
        elif layout == "heads_transposed":
            ts = [base[:, :, i * 4:i * 4 + 4].contiguous().transpose(1, 2) for i in range(3)]
        elif layout == "qkv_split":
            ts = [t.reshape(2, 6, 4, 8).transpose(1, 2)
                  for t in base.reshape(2, 6, 192).split(32, dim=2)[:3]]
        else:
            ts = [base[..., :4].transpose(1, 2) for _ in range(3)]
        seen = []
        for t in ts:
            t.register_hook(lambda g: seen.append(g.stride()))
        out = lib.nn.functional.scaled_dot_product_attention(*ts, is_causal=True)
        out.sum().backward()
        strides.append((seen, base.grad.stride()))
    assert strides[0] == strides[1]


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 5, 4), (2, 3, 1, 4), (2, 3, 5, 1)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_flash_attention_output_in_torchs_layout(shape, dtype):
    """torch's flash kernel lays its output out as a preserve_format copy of the query (the
    query made contiguous first where D's stride is not 1): a GPT block's head split, a
    non-dense (B, L, H, D) query, gives a (B, L, H, D) output, whose transpose back is
    contiguous (a view, no CloneBackward0). Every memory order of the query, dense or sliced
    along one dim; the values as torch's."""
    for perm in itertools.permutations(range(4)):
        inv = [perm.index(i) for i in range(4)]
        for cut in (None, 0, 2, 3):
            base = [shape[p] for p in perm]
            if cut is not None:
                base[cut] *= 2
            x = np.random.default_rng(5).standard_normal(base)
            seen = []
            for lib in (ember, torch):
                b = lib.tensor(x, dtype=getattr(lib, dtype))
                if cut is not None:
                    b = b[(slice(None),) * cut + (slice(None, None, 2),)]
                q = b.permute(*inv)
                y = lib.nn.functional.scaled_dot_product_attention(q, q * 0.5, q, is_causal=True)
                seen.append((q.stride(), y.stride(), y.float().numpy()))
            assert seen[0][:2] == seen[1][:2], (perm, cut)
            np.testing.assert_allclose(seen[0][2], seen[1][2], rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flash_attention_values_independent_of_head_split_layout(dtype):
    """A GPT block's head split ((B, L, H, D) memory: output and gradients in that layout) and
    the same heads made contiguous give the same output and gradients bit for bit: the
    backward's row sums of grad * out add each row as for C-ordered arrays."""
    x = np.random.default_rng(3).standard_normal((2, 6, 96))
    gz = np.random.default_rng(4).standard_normal((2, 6, 32))
    got = []
    for contiguous in (False, True):
        base = ember.tensor(x, dtype=getattr(ember, dtype), requires_grad=True)
        q, k, v = (t.reshape(2, 6, 4, 8).transpose(1, 2) for t in base.split(32, dim=2))
        if contiguous:
            q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        y = ember.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.transpose(1, 2).reshape(2, 6, 32).backward(ember.tensor(gz, dtype=y.dtype))
        got.append((y.detach().numpy(), base.grad.numpy()))
    for a, b in zip(*got):
        assert _same_bits(a, b)


@pytest.mark.parametrize("name", ["sigmoid", "silu"])
def test_sigmoid_family_follows_torchs_formula(name):
    fe, ft = getattr(ember.nn.functional, name), getattr(torch.nn.functional, name)
    v16 = _values(np.float16)
    assert np.mean(fe(ember.tensor(v16)).numpy() != ft(torch.tensor(v16)).numpy()) < 0.01
    for dtype, ulps in [(np.float32, 4), (np.float64, 4)]:
        v = _values(dtype)[len(SPECIAL) * 8:]
        ye, yt = fe(ember.tensor(v)).numpy(), ft(torch.tensor(v)).numpy()
        ib = BITS[np.dtype(dtype).itemsize]
        assert np.max(np.abs(ye.view(ib) - yt.view(ib))) <= ulps
        assert np.mean(ye != yt) < 0.2


def test_sigmoid_and_silu_saturate_silently():
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0, np.inf, -np.inf], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ember.sigmoid(ember.tensor(x)).numpy()
        u = ember.nn.functional.silu(ember.tensor(x)).numpy()
    assert np.array_equal(s, torch.sigmoid(torch.tensor(x)).numpy())
    assert np.array_equal(u, torch.nn.functional.silu(torch.tensor(x)).numpy(), equal_nan=True)


def test_half_gelu_computes_in_float32():
    v = _values(np.float16)[len(SPECIAL) * 8:]
    te, tt = ember.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    ye, yt = ember.nn.functional.gelu(te), torch.nn.functional.gelu(tt)
    assert ye.dtype == ember.float16
    assert np.mean(ye.detach().numpy() != yt.detach().numpy()) < 0.15
    ge, = ember.autograd.grad(ye.sum(), te)
    gt, = torch.autograd.grad(yt.sum(), tt)
    assert ge.dtype == ember.float16
    assert np.allclose(ge.numpy().astype(np.float32), gt.numpy().astype(np.float32),
                       rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("n_rows, width, n, dist", [
    (1000, 128, 4096, "uniform"), (65, 128, 1024, "uniform"), (10, 128, 4096, "uniform"),
    (1000, 64, 8192, "zipf"), (7, 3, 5, "uniform"), (50, 1, 9000, "uniform"),
    (300, 40, 3000, "negative")])
def test_index_add_rows_adds_in_add_at_order(n_rows, width, n, dist):
    from ember.ops.index import index_add_rows
    rng = np.random.default_rng(n)
    if dist == "zipf":
        idx = np.minimum(rng.zipf(1.5, n) - 1, n_rows - 1)
    else:
        idx = rng.integers(0, n_rows, n)
    if dist == "negative":
        idx = np.where(rng.random(n) < 0.5, idx - n_rows, idx)
    vals = rng.standard_normal((n, width)).astype(np.float32)
    ref = np.zeros((n_rows, width), np.float32)
    np.add.at(ref, idx, vals)
    assert np.array_equal(index_add_rows(np, n_rows, idx, vals), ref)


@pytest.mark.parametrize("case", ["index_select0", "index_select1", "take", "embedding"])
def test_scatter_gradients_are_torchs_bits(case):
    g = torch.Generator().manual_seed(3)
    w = torch.randn(500, 96, generator=g)
    i = torch.randint(0, 500, (4000,), generator=g)
    fns = {"index_select0": lambda lib, x, i: x.index_select(0, i),
           "index_select1": lambda lib, x, i: x.index_select(1, i % 96),
           "take": lambda lib, x, i: x.take(i),
           "embedding": lambda lib, x, i: lib.nn.functional.embedding(i.reshape(40, 100), x)}
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(w.numpy(), requires_grad=True)
        y = fns[case](lib, x, lib.tensor(i.numpy()))
        up = lib.tensor(torch.randn(*y.shape, generator=torch.Generator().manual_seed(4)).numpy())
        grads.append(lib.autograd.grad(y, x, up)[0].numpy())
    assert np.array_equal(grads[0], grads[1])


HALF_EXACT = {
    "elu": lambda F, t: F.elu(t), "celu": lambda F, t: F.celu(t, 0.5),
    "selu": lambda F, t: F.selu(t), "leaky_relu": lambda F, t: F.leaky_relu(t, 0.23),
    "rrelu": lambda F, t: F.rrelu(t), "silu": lambda F, t: F.silu(t),
    "softplus": lambda F, t: F.softplus(t), "hardswish": lambda F, t: F.hardswish(t),
    "hardsigmoid": lambda F, t: F.hardsigmoid(t), "hardtanh": lambda F, t: F.hardtanh(t),
    "sigmoid": lambda F, t: F.sigmoid(t), "softsign": lambda F, t: F.softsign(t),
    "tanhshrink": lambda F, t: F.tanhshrink(t), "logsigmoid": lambda F, t: F.logsigmoid(t)}


@pytest.mark.parametrize("name", list(HALF_EXACT))
def test_float16_activations_are_torchs_bits(name):
    # torch's activation kernels compute float16 in float32 and round once (its composites,
    # softsign and tanhshrink, round after every operation)
    x = (np.random.default_rng(0).standard_normal(4096) * 3).astype(np.float16)
    res = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        y = HALF_EXACT[name](lib.nn.functional, t)
        g, = lib.autograd.grad(y, t, lib.tensor(np.full(y.shape, 0.7, np.float16)))
        res.append((y.detach().numpy(), g.numpy()))
    assert res[1][0].dtype == np.float16
    if name == "silu":          # x / (1 + exp(-x)): one element in a thousand an ulp off
        assert np.mean(res[0][0] != res[1][0]) < 0.005
    else:
        assert np.array_equal(res[0][0], res[1][0])
    if name in ("softsign", "tanhshrink", "logsigmoid"):    # backward: some ulps off here
        assert np.allclose(res[0][1].astype(np.float32), res[1][1].astype(np.float32),
                           rtol=1e-2, atol=2e-3)
    else:
        assert np.array_equal(res[0][1], res[1][1])


@pytest.mark.parametrize("name", ["rsqrt", "tanh", "softmax", "sigmoid", "exp"])
def test_float16_kernels_round_once(name):
    # torch's float16 kernels compute in float32 and round once (rsqrt is not 1 / sqrt
    # rounded twice; softmax's exp-sum-divide is in float32); sigmoid's backward rounds per
    # step in torch, so it does here too
    fns = {"rsqrt": lambda t: (t.abs() + 0.1).rsqrt(), "tanh": lambda t: t.tanh(),
           "softmax": lambda t: t.reshape(64, 64).softmax(-1), "sigmoid": lambda t: t.sigmoid(),
           "exp": lambda t: t.exp()}
    x = (np.random.default_rng(0).standard_normal(4096) * 2).astype(np.float16)
    res = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        y = fns[name](t)
        g, = lib.autograd.grad(y, t, lib.tensor(np.full(y.shape, 0.7, np.float16)))
        res.append((y.detach().numpy(), g.numpy()))
    assert res[1][0].dtype == np.float16 and np.array_equal(res[0][0], res[1][0])
    if name == "softmax":
        assert np.mean(res[0][1] != res[1][1]) < 0.03
    elif name != "rsqrt":       # rsqrt's backward is torch's composite of float16 steps
        assert np.array_equal(res[0][1], res[1][1])


@pytest.mark.parametrize("idx_shape", [(4000,), (50, 80)])
def test_integer_index_gradient_is_add_at(idx_shape):
    # x[int_tensor]'s gradient sums repeated rows in order (torch's CPU kernel may reorder
    # them across threads; NumPy's add.at is the sequential reference)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 40)).astype(np.float32)
    idx = rng.integers(-300, 300, idx_shape)
    up = rng.standard_normal(idx_shape + (40,)).astype(np.float32)
    t = ember.tensor(x, requires_grad=True)
    g, = ember.autograd.grad(t[ember.tensor(idx)], t, ember.tensor(up))
    ref = np.zeros_like(x)
    np.add.at(ref, idx, up)
    assert np.array_equal(g.numpy(), ref)
    tt = torch.tensor(x, requires_grad=True)
    gt, = torch.autograd.grad(tt[torch.tensor(idx)], tt, torch.tensor(up))
    assert np.allclose(g.numpy(), gt.numpy(), rtol=1e-5, atol=1e-5)


def _gelu_sample():
    import math
    x = (np.random.default_rng(0).standard_normal(40000) * 3).astype(np.float32)
    x[:6] = [-100.0, -6.0, -5.6, -4.1, 0.0, 100.0]
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    got = ember.nn.functional.gelu(ember.tensor(x)).numpy().astype(float)
    ref = torch.nn.functional.gelu(torch.tensor(x)).numpy().astype(float)
    return x, exact, got, ref


def test_float32_gelu_sign():
    # the folded erf rational keeps Phi in [0, 1], so negative inputs never give positive
    # outputs (they did at x < -4)
    x, _, got, _ = _gelu_sample()
    assert np.all(got[x < 0] <= 0) and np.all(got[x > 0] > 0)
    assert ember.nn.functional.gelu(ember.tensor([-np.inf], dtype=ember.float32)).isnan().item()


@pytest.mark.xfail(not ember._cpu.ONEDNN_AVX512, strict=True,
                   reason="torch's GELU is oneDNN's, whose AVX2 kernel (Abramowitz and Stegun) "
                   "is more accurate than its avx512_core one and than ember's float32 "
                   "rational (worst 3.7e-7 against 9.8e-7 near x = 4.8); ember keeps the "
                   "float32 evaluation for speed")
def test_float32_gelu_accuracy():
    # the folded erf rational: as accurate as torch's kernel against the exact value
    x, exact, got, ref = _gelu_sample()
    assert np.abs(got - exact).max() <= 1.5 * np.abs(ref - exact).max()
    big = np.abs(exact) > 1e-3
    rel = [np.max(np.abs(y - exact)[big] / np.abs(exact[big])) for y in (got, ref)]
    assert rel[0] <= 1.5 * rel[1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_backward_product_in_its_own_array(dtype):
    """gelu's backward writes g * dgelu into the derivative array it has just made: the
    gradient a hook sees is a new array (not the incoming one, not what the node saved), a
    second backward through the retained graph gives the same bits, and torch's gradient."""
    x = np.random.default_rng(7).standard_normal((64, 48)) * 3
    got = []
    for lib in (ember, torch):
        t = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        y = lib.nn.functional.gelu(t)
        g = lib.tensor(x[::-1].copy(), dtype=getattr(lib, dtype))
        kept = g.clone()
        seen = []
        t.register_hook(lambda gr: seen.append(gr.clone()))
        y.backward(g, retain_graph=True)
        y.backward(g)
        assert lib.equal(g, kept)
        assert lib.equal(seen[0], seen[1])
        got.append(seen[0].numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6 if dtype == "float32" else 1e-13)


# ---- selection, gather/scatter, einsum and sign: the faster NumPy paths ------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("data", ["distinct", "ties", "nan"])
def test_topk_partition_path_picks_torchs_positions(dtype, data):
    """topk through partition (distinct values around the k-th) and through the full sort with
    torch's own choice among equal values pick torch's positions in torch's order."""
    rng = np.random.default_rng(3)
    for trial in range(60):
        # (ties: below the 65536 elements up to which ember follows torch's choice among them)
        top = 40 if data == "ties" else 70
        shape = tuple(int(s) for s in rng.integers(8, top, size=int(rng.integers(1, 4))))
        a = rng.standard_normal(shape) if data != "ties" else rng.integers(-6, 6, shape)
        a = a.astype(dtype)
        if data == "nan":
            a.reshape(-1)[rng.integers(0, a.size, 3)] = np.nan
        if trial % 3 == 0:                      # a non-contiguous input
            a = np.ascontiguousarray(np.swapaxes(a, 0, -1)).swapaxes(0, -1)
        dim = int(rng.integers(0, a.ndim))
        k, largest = int(rng.integers(1, a.shape[dim] // 4 + 1)), bool(trial % 2)
        e = ember.topk(ember.tensor(a), k, dim, largest)
        t = torch.topk(torch.tensor(a), k, dim, largest)
        assert np.array_equal(e.indices.numpy(), t.indices.numpy())
        assert np.array_equal(e.values.numpy(), t.values.numpy(), equal_nan=True)
        if data == "distinct":                  # no ties: the stable sort's first k
            ref = np.take(np.argsort(-a if largest else a, axis=dim, kind="stable"),
                          np.arange(k), axis=dim)
            assert np.array_equal(e.indices.numpy(), ref)


@pytest.mark.parametrize("data", ["float32", "float64", "int64", "float_ties"])
def test_median_and_kthvalue_partition_path(data):
    rng = np.random.default_rng(4)
    for trial in range(60):
        shape = tuple(int(s) for s in rng.integers(1, 30, size=int(rng.integers(1, 4))))
        a = rng.integers(-3, 3, shape) if data in ("int64", "float_ties") else \
            rng.standard_normal(shape)
        a = a.astype("float32" if data == "float_ties" else data)
        dim = int(rng.integers(0, a.ndim))
        n = a.shape[dim]
        order = np.argsort(a, axis=dim, kind="stable")
        k = int(rng.integers(1, n + 1))
        for got, rank, want in (
                (ember.median(ember.tensor(a), dim), (n - 1) // 2,
                 torch.median(torch.tensor(a), dim)),
                (ember.kthvalue(ember.tensor(a), k, dim, keepdim=True), k - 1,
                 torch.kthvalue(torch.tensor(a), k, dim, keepdim=True))):
            assert np.array_equal(got.indices.numpy(), want.indices.numpy())
            if data in ("float32", "float64"):      # distinct values: the stable sort's rank
                ref = np.take(order, [rank], axis=dim)
                assert np.array_equal(got.indices.numpy().reshape(ref.shape), ref)
            assert np.array_equal(got.values.numpy(), want.values.numpy())
            assert got.values.shape == want.values.shape


def test_median_with_nan_keeps_torchs_rule():
    a = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 1.0, 0.0, 4.0]], np.float32)
    e, t = ember.median(ember.tensor(a), 1), torch.median(torch.tensor(a), 1)
    assert np.array_equal(e.values.numpy(), t.values.numpy(), equal_nan=True)
    assert e.indices.tolist() == t.indices.tolist()


_GATHER = {   # name -> (input shape, index shape, dim, transpose the input)
    "rows": ((40, 50), (40, 50), 1, False),
    "cols": ((40, 50), (30, 50), 0, False),
    "smaller_index": ((20, 30, 10), (15, 7, 10), 1, False),
    "last_of_3d": ((6, 7, 40), (5, 7, 9), 2, False),
    "non_contiguous": ((30, 40), (30, 25), 1, True),
}


@pytest.mark.parametrize("name", list(_GATHER))
def test_gather_and_scatter_flat_addressing(name):
    """gather, scatter, scatter_add and scatter_reduce (and their gradients) through flat
    positions equal torch's, for indices smaller than the input and transposed inputs."""
    xs, js, dim, transposed = _GATHER[name]
    rng = np.random.default_rng(5)
    base = rng.standard_normal(xs[::-1] if transposed else xs)    # the leaf's own layout
    idx = rng.integers(0, xs[dim], js)
    src = rng.standard_normal(js)
    w_idx, w_x = rng.standard_normal(js), rng.standard_normal(xs)
    outs = {}
    for lib in (ember, torch):
        leaf = lib.tensor(base, requires_grad=True)
        x = leaf.t() if transposed else leaf
        ts, ti = lib.tensor(src, requires_grad=True), lib.tensor(idx)
        res = [x.gather(dim, ti), x.scatter(dim, ti, ts), x.scatter_add(dim, ti, ts),
               x.scatter_reduce(dim, ti, ts, "mean", include_self=False), x.scatter(dim, ti, 2.5)]
        loss = (res[0] * lib.tensor(w_idx)).sum() + sum((r * lib.tensor(w_x)).sum()
                                                        for r in res[1:])
        loss.backward()
        outs[lib] = [r.detach().numpy() for r in res] + [leaf.grad.numpy(), ts.grad.numpy()]
    for e, t in zip(outs[ember], outs[torch]):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


def test_scatter_add_repeated_indices_accumulate_in_order():
    rng = np.random.default_rng(6)
    x = np.zeros((3, 8), np.float32)
    idx = rng.integers(0, 8, (3, 500))
    src = rng.standard_normal((3, 500)).astype(np.float32)
    e = ember.tensor(x).scatter_add(1, ember.tensor(idx), ember.tensor(src))
    t = torch.tensor(x).scatter_add(1, torch.tensor(idx), torch.tensor(src))
    assert np.array_equal(e.numpy(), t.numpy())


_EINSUM = {   # equation -> operand shapes (all large enough for the planned, BLAS path)
    "ij,jk->ik": [(70, 80), (80, 60)],
    "bhqd,bhkd->bhqk": [(2, 3, 40, 16), (2, 3, 50, 16)],
    "bij,bjk->bik": [(5, 30, 40), (5, 40, 20)],
    "ij,kj->ik": [(64, 100), (70, 100)],
    "i,ij,j->": [(50,), (50, 60), (60,)],
    "bi,bi->b": [(600, 200), (600, 200)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("eq", list(_EINSUM))
def test_large_einsum_matches_torch(eq, dtype):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s).astype(dtype) for s in _EINSUM[eq]]
    res = {}
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = lib.einsum(eq, *ts)
        (y * y).sum().backward()
        res[lib] = [y.detach().numpy()] + [t.grad.numpy() for t in ts]
    tol = 2e-5 if dtype == "float32" else 1e-12
    for e, t in zip(res[ember], res[torch]):
        assert e.dtype == t.dtype and e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_sign_is_torchs_bits(dtype):
    v = [np.nan, -0.0, 0.0, -2.0, 3.0, np.inf, -np.inf, 1e-30, -1e-30]
    e = ember.sign(ember.tensor(v, dtype=getattr(ember, dtype))).float().numpy()
    t = torch.sign(torch.tensor(v, dtype=getattr(torch, dtype))).float().numpy()
    assert _same_bits(e, t)


# ---- scans: torch accumulates float32/complex64 in double, 2-byte floats in float ----------------
_SCAN_CASES = [((64, 300), -1), ((300, 200), 0), ((8, 50, 90), 1), ((1000,), 0), ((40, 2000), 1),
               ((3, 4), 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "complex64",
                                   "int32"])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_are_torchs_bits(name, dtype):
    rng = np.random.default_rng(8)
    for shape, dim in _SCAN_CASES:
        a = rng.standard_normal(shape) * 3
        if dtype.startswith("complex"):
            a = a + 1j * rng.standard_normal(shape)
        if name == "cumprod":
            a = np.clip(np.round(a), -1, 1) if dtype == "int32" else 1 + a * 0.01
        elif dtype == "int32":
            a = np.round(a)
        res = []
        for lib in (torch, ember):
            # both libraries make the 2-byte input the same way: through float32
            x = lib.tensor(a.astype(np.float32) if dtype in ("float16", "bfloat16") else a)
            x = x.to(getattr(lib, dtype))
            y = getattr(x, name)(dim)
            res.append((str(y.dtype).split(".")[-1], y.to(lib.complex128 if y.is_complex() else
                                                         lib.float64).numpy()))
        assert res[0][0] == res[1][0]
        e, t = res[1][1], res[0][1]
        if name == "cumprod" and dtype == "complex64":    # torch's complex product may fuse
            np.testing.assert_allclose(e, t, rtol=1e-6)     # a multiply-add: an ulp at times
            continue
        assert _same_bits(e.real, t.real) and _same_bits(e.imag, t.imag), (shape, dim)


def test_cumsum_gradient_is_torchs_bits():
    rng = np.random.default_rng(9)
    a, g = rng.standard_normal((64, 3000)).astype(np.float32), \
        rng.standard_normal((64, 3000)).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        x.cumsum(1).backward(lib.tensor(g))
        grads.append(x.grad.numpy())
    assert _same_bits(grads[1], grads[0])


def _lane_order_sum(e):
    """The lane-order row sum written out: the lanes of one vector of torch's kernel (16 float32
    on AVX512, 8 on AVX2: ember._cpu.VEC_BYTES) fed block after block, the tail into the first
    lanes, then the lanes folded in halves."""
    n, lanes = e.shape[-1], ember._cpu.VEC_BYTES // e.dtype.itemsize
    nb = n // lanes
    acc = e[..., :lanes].copy()
    for b in range(1, nb):
        acc += e[..., b * lanes:(b + 1) * lanes]
    acc[..., :n - nb * lanes] += e[..., nb * lanes:]
    while acc.shape[-1] > 1:
        h = acc.shape[-1] // 2
        acc = acc[..., :h] + acc[..., h:]
    return acc


@pytest.mark.parametrize("shape", [(512, 512), (64, 4096), (1024, 65), (16, 4, 64, 64),
                                   (7, 16), (3, 33), (200, 40), (1000, 32), (2, 75, 48)])
def test_lane_rowsum_adds_in_lane_order(shape):
    e = np.exp(np.random.default_rng(11).standard_normal(shape) * 4).astype(np.float32)
    assert _same_bits(_ops._lane_rowsum(e), _lane_order_sum(e))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "complex64",
                                   "complex128", "int64", "int32"])
def test_linspace_is_torchs_bits(dtype):
    """Each half computed on its own (start + step * i, end - step * (steps - 1 - i)), complex
    steps divided part by part as torch's kernel does."""
    for a, b, n in [(0, 1, 10001), (-3.3, 7.1, 1000), (5, -2, 7), (0, 1, 2), (1e-3, 1e3, 999),
                    (0, 10, 0), (0.1, 0.7, 13), (2 + 1j, 5 - 3j, 11), (-1.7 + 0.3j, 2.2 - 0.9j, 101)]:
        if isinstance(a, complex) and not dtype.startswith("complex"):
            continue
        t = torch.linspace(a, b, n, dtype=getattr(torch, dtype))
        e = ember.linspace(a, b, n, dtype=getattr(ember, dtype))
        assert str(e.dtype) == str(t.dtype)
        assert np.array_equal(e.to(ember.complex128).numpy(), t.to(torch.complex128).numpy()), \
            (a, b, n)


# ---- sums in torch's order: any size for reductions to several numbers ------------------------
_SUMS = [((1000, 64), (0,)), ((4096, 256), (0,)), ((8, 1000, 64), (1,)), ((64, 32, 26, 26), (1,)),
         ((64, 32, 26, 26), (0,)), ((512, 512), (0,)), ((100, 3, 1000), (0,)), ((64, 500), (1,)),
         ((16, 64, 128), (0, 1)), ((4, 8, 50, 32), (1, 2)), ((6, 7, 40), (0, 1, 2)),
         ((300,), (0,)), ((32, 64), (0,)), ((48, 33), (0,)), ((160, 40), (0,))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dims", _SUMS)
def test_sums_are_torchs_bits(shape, dims, dtype):
    """Outer reductions follow torch's kernel order at any size (torch splits reductions to
    several numbers by output, so its order does not depend on its thread count)."""
    x = np.random.default_rng(12).standard_normal(shape).astype(dtype)
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            for keepdim in (False, True):
                t = torch.from_numpy(x).sum(dims, keepdim=keepdim).numpy()
                e = ember.tensor(x).sum(dims, keepdim=keepdim).numpy()
                assert e.shape == t.shape and _same_bits(e, t)
                t = torch.from_numpy(x).mean(dims).numpy()
                assert _same_bits(ember.tensor(x).mean(dims).numpy(), t)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_short_row_sums_are_torchs_bits(dtype):
    """Rows of fewer than 64 vectors (_torch_sum._short_rows: the accumulators by einsum, the
    lanes down a transposed copy), with and without leftover vectors and elements, one row
    and several, magnitudes spread so that another order would show."""
    rng = np.random.default_rng(14)
    for n in [*range(1, 70), 95, 127, 128, 129, 200, 255, 256, 257, 300, 511, 512, 513]:
        for rows in (1, 3, 32):
            x = (rng.standard_normal((rows, n)) * 10.0 ** rng.integers(-6, 7, (rows, n))) \
                .astype(dtype)
            t = torch.from_numpy(x).sum(1).numpy()
            e = ember.tensor(x).sum(1)
            assert e.is_contiguous() and _same_bits(e.numpy(), t), (n, rows)
            assert _same_bits(ember.tensor(x).mean(1).numpy(), torch.from_numpy(x).mean(1).numpy())


@pytest.mark.parametrize("shape", [(256, 1024), (16, 64, 384), (64, 128)])
def test_bias_gradients_are_torchs_bits(shape):
    """A bias gradient is an outer sum of the output gradient (linear's vjp, undone
    broadcasts): torch's order, not NumPy's."""
    rng = np.random.default_rng(13)
    g = rng.standard_normal(shape).astype(np.float32)
    x = rng.standard_normal(shape[:-1] + (32,)).astype(np.float32)
    w = rng.standard_normal((shape[-1], 32)).astype(np.float32)
    b = rng.standard_normal(shape[-1]).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        tb, tb2 = lib.tensor(b, requires_grad=True), lib.tensor(b, requires_grad=True)
        lib.nn.functional.linear(lib.tensor(x), lib.tensor(w), tb).backward(lib.tensor(g))
        (lib.tensor(g) * 2 + tb2).backward(lib.tensor(g))
        grads.append((tb.grad.numpy(), tb2.grad.numpy()))
    for e, t in zip(grads[1], grads[0]):
        assert _same_bits(e, t)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_full_sums_split_like_torchs_threads(threads):
    """A sum to one number above 32768 elements: torch's chunk a thread, summed in order."""
    from ember import _threads
    saved_e, saved_t = _threads._STATE["n"], torch.get_num_threads()
    default = ember.get_num_threads()
    rng = np.random.default_rng(14)
    try:
        ember.set_num_threads(threads)
        torch.set_num_threads(threads)
        for n in (1000, 32768, 32769, 100000, 262144, 1000001):
            for dtype in ("float32", "float64"):
                x = rng.standard_normal(n).astype(dtype)
                assert _same_bits(ember.tensor(x).sum().numpy(), torch.from_numpy(x).sum().numpy())
                m = x.reshape(-1, 1) if n % 2 else x.reshape(2, -1)
                assert _same_bits(ember.tensor(m).mean().numpy(), torch.from_numpy(m).mean().numpy())
        y = rng.standard_normal((300, 400)).astype(np.float32)
        assert _same_bits(ember.nn.functional.mse_loss(ember.tensor(y), ember.tensor(y * 0.5)).numpy(),
                          torch.nn.functional.mse_loss(torch.tensor(y), torch.tensor(y * 0.5)).numpy())
    finally:
        ember.set_num_threads(default)
        _threads._STATE["n"] = saved_e          # back to torch's default count
        torch.set_num_threads(saved_t)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "complex64"])
@pytest.mark.parametrize("shape,dims", [((64, 1000), 1), ((64, 1000), 0), ((1000,), None),
                                        ((8, 30, 40), (0, 2)), ((5,), 0)])
def test_var_is_torchs_bits(shape, dims, dtype):
    """torch's var accumulates in double (Welford): two passes in double round to the same
    result for narrower inputs; complex variance is the parts' variances added. float32 std
    takes its root in double as well (complex std's float32 root is torch's vectorised sqrt,
    an ulp off the correctly rounded one in 10-20% of elements: not compared)."""
    a = np.random.default_rng(15).standard_normal(shape) * 3 + 1
    if dtype == "complex64":
        a = a + 1j * np.random.default_rng(16).standard_normal(shape)
    out = []
    for lib in (torch, ember):
        x = lib.tensor(a).to(getattr(lib, dtype))
        v = x.var(dims) if dims is not None else x.var()
        s = x.std(dims) if dims is not None else x.std()
        out.append((v.to(lib.float64).numpy(), s.to(lib.float64).numpy()))
    assert _same_bits(out[1][0], out[0][0])
    if dtype != "complex64":
        assert _same_bits(out[1][1], out[0][1])


@pytest.mark.parametrize("shape,dims", [((64, 1000), 1), ((64, 1000), 0), ((1000,), None)])
def test_var_gradient_is_torchs_bits(shape, dims):
    a = np.random.default_rng(17).standard_normal(shape).astype(np.float32) * 3 + 1
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        v = x.var(dims) if dims is not None else x.var()
        s = x.std(dims) if dims is not None else x.std()
        g = lib.full(tuple(v.shape), 0.7)
        grads.append([lib.autograd.grad(v, x, g)[0].numpy(),
                      lib.autograd.grad(s, x, g)[0].numpy()])
    for e, t in zip(grads[1], grads[0]):
        assert _same_bits(e, t)


@pytest.mark.parametrize("shape", [(64, 1000), (256, 65), (32, 512), (4, 5, 300)])
def test_log_softmax_follows_torchs_lastdim_kernel(shape):
    """float32 log_softmax over the last dim as torch's kernel: exp nearly correctly rounded,
    the lane-order sum, its log subtracted from x - max; backward g - exp(y) * sum(g) with one
    rounding. (torch's vectorised exp is itself an ulp off the correctly rounded value at
    times: a few elements in a thousand may differ, no more.)"""
    rng = np.random.default_rng(18)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    out = []
    for lib in (torch, ember):
        tx = lib.tensor(x, requires_grad=True)
        y = lib.log_softmax(tx, -1)
        out.append((y.detach().numpy(), lib.autograd.grad(y, tx, lib.tensor(g))[0].numpy()))
    for e, t in zip(out[1], out[0]):
        np.testing.assert_allclose(e, t, rtol=2e-6, atol=1e-6)
        assert np.mean(e != t) < 0.015


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nll_and_cross_entropy_sums_are_torchs(reduction, dtype):
    """nll_loss sums the batch in torch's cascade (8 levels of 2^p samples, carried after kept
    samples only), the weights too; cross_entropy's log-probabilities are log_softmax's."""
    rng = np.random.default_rng(19)
    same = total = 0
    for trial in range(60):
        n = int(rng.integers(1, 3000)) if trial % 3 == 0 else int(rng.integers(1, 300))
        c = int(rng.integers(2, 200))
        x = (rng.standard_normal((n, c)) * rng.uniform(0.1, 5)).astype(dtype)
        y = rng.integers(0, c, n)
        if trial % 5 == 0:
            y[rng.random(n) < 0.2] = -100
        w = rng.uniform(0.1, 2, c).astype(dtype) if trial % 2 else None
        lp = torch.log_softmax(torch.from_numpy(x), 1)
        args = lambda lib: dict(weight=None if w is None else lib.tensor(w), reduction=reduction)
        t = torch.nn.functional.nll_loss(lp, torch.from_numpy(y), **args(torch)).item()
        e = ember.nn.functional.nll_loss(ember.tensor(lp.numpy()), ember.tensor(y),
                                         **args(ember)).item()
        assert e == t or (np.isnan(e) and np.isnan(t))
        t = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(y),
                                              **args(torch)).item()
        e = ember.nn.functional.cross_entropy(ember.tensor(x), ember.tensor(y), **args(ember)).item()
        np.testing.assert_allclose(e, t, rtol=1e-6)
        same += e == t or (np.isnan(e) and np.isnan(t))
        total += 1
    assert same >= total - 3       # torch's vectorised exp is an ulp off at times


@pytest.mark.parametrize("op", ["amax", "amin", "cumsum", "cumprod", "sum", "logsumexp"])
def test_reductions_of_permuted_inputs_are_contiguous_as_torchs(op):
    """torch's reductions and scans write C-order results, so .view() works on them."""
    a = np.random.default_rng(20).standard_normal((2, 3, 4, 5)).astype(np.float32)
    out = []
    for lib in (torch, ember):
        t = lib.tensor(a).permute(0, 3, 1, 2)
        r = getattr(t, op)(1)
        out.append((r.stride(), r.view(-1).shape))
    assert out[0] == out[1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_two_norms_are_torchs_bits(dtype):
    """The 2-norm of a whole tensor (what clip_grad_norm_ takes of every gradient) in torch's
    lane order: exact when the size fills whole 32-byte vectors; torch adds the leftover squares
    of other sizes in an order not followed here, which a few in a thousand show."""
    rng = np.random.default_rng(21)
    same = total = 0
    for trial in range(120):
        shape = tuple(int(v) for v in rng.integers(4, 200, size=int(rng.integers(1, 4))))
        x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3)).astype(dtype)
        if x.size < 64:
            continue
        for keepdim in (False, True):
            t = torch.linalg.vector_norm(torch.from_numpy(x), keepdim=keepdim).numpy()
            e = ember.linalg.vector_norm(ember.tensor(x), keepdim=keepdim).numpy()
            assert e.shape == t.shape
            if x.size % (32 // x.itemsize) == 0:
                assert _same_bits(e, t)
            np.testing.assert_allclose(e, t, rtol=1e-6 if dtype == "float32" else 1e-14)
            same += _same_bits(e, t)
            total += 1
    assert same >= total * 0.97


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_spatial_nll_sums_are_torchs(reduction):
    """nll_loss over (N, C, H, W): torch's nll_loss2d cascade over the flat (n, h, w) index."""
    rng = np.random.default_rng(22)
    for trial in range(40):
        n, c, h, w = (int(v) for v in (rng.integers(1, 40), rng.integers(2, 12),
                                       rng.integers(1, 25), rng.integers(1, 25)))
        lp = torch.log_softmax(torch.from_numpy(rng.standard_normal((n, c, h, w)).astype(
            np.float32) * 2), 1)
        t = rng.integers(0, c, (n, h, w))
        if trial % 3 == 0:
            t[rng.random((n, h, w)) < 0.1] = -100
        wt = rng.uniform(0.5, 2, c).astype(np.float32) if trial % 2 else None
        kw = lambda lib: dict(weight=None if wt is None else lib.tensor(wt), reduction=reduction)
        want = torch.nn.functional.nll_loss(lp, torch.from_numpy(t), **kw(torch)).item()
        got = ember.nn.functional.nll_loss(ember.tensor(lp.numpy()), ember.tensor(t),
                                           **kw(ember)).item()
        assert got == want or (np.isnan(got) and np.isnan(want))


def test_bce_logs_are_nearly_torchs():
    """binary_cross_entropy of float32 with correctly rounded logs, as torch's (nearly so):
    97% of elements torch's bits (NumPy's float32 log: 70%)."""
    rng = np.random.default_rng(23)
    x = (1 / (1 + np.exp(-rng.standard_normal(100000) * 3))).astype(np.float32)
    x[:4] = [0.0, 1.0, 1e-30, 0.5]
    y = (rng.random(100000) > 0.5).astype(np.float32)
    t = torch.nn.functional.binary_cross_entropy(torch.from_numpy(x), torch.from_numpy(y),
                                                 reduction="none").numpy()
    e = ember.nn.functional.binary_cross_entropy(ember.tensor(x), ember.tensor(y),
                                                 reduction="none").numpy()
    np.testing.assert_allclose(e, t, rtol=1e-6)
    assert _same_bits(e[:4], t[:4]) and np.mean(e == t) > 0.95


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [6, 5000])
def test_where_quick_path_is_torchs(dtype, n):
    """where(cond, x, number), where(cond, number, x), where(cond, x, y) and masked_fill of plain
    float tensors blend directly when nothing records: torch's bits (signed zeros, NaN, a
    number rounded to float32), its errors (a float32 scalar out of range, a mask of another
    shape or dtype), and the general path's graph when one requires grad."""
    vals = np.array(SPECIAL * (n // len(SPECIAL) + 1))[:n].reshape(2, -1).astype(dtype)
    mask = np.random.default_rng(n).random(vals.shape) < 0.5

    def run(L):
        x, y, m = L.tensor(vals), L.tensor(vals[:, ::-1].copy()), L.tensor(mask)
        out = [L.where(m, x, s) for s in (0.0, -0.0, 0.1, float("nan"), -float("inf"), 1e300)
               if dtype == "float64" or abs(s) < 1e39]
        out += [L.where(m, 0.1, x), L.where(m, x, y), x.where(m, y), x.where(m, 2.5),
                L.where(m, x, 3), L.where(m, -(1 << 24), x), L.where(m, x, (1 << 24) + 1)]
        out += [x.masked_fill(m, v) for v in (0, -1e9, float("-inf"), -0.0, 16777217)]
        out = [_bits(o.numpy()) for o in out]
        for bad in (lambda: L.where(m, x, 1e39), lambda: L.where(m, x, 1 << 70),
                    lambda: x.masked_fill(m, 1e39), lambda: x.masked_fill(m, 1 << 70),
                    lambda: x.masked_fill(m[:, :1], 1.0), lambda: x.masked_fill(m.float(), 1.0)):
            try:
                out.append(bad().dtype)
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        g = L.tensor(vals, requires_grad=True)
        r = L.where(m, g, 0.5)
        r.sum().backward()
        out += [type(r.grad_fn).__name__, g.grad.numpy().tolist()]
        return out
    assert str(run(ember)) == str(run(torch))


def _bits(a):
    return a.view(BITS[a.itemsize]).tolist()
