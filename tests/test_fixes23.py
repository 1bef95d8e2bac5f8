"""Mismatches with torch fixed in round 23, compared with torch bit for bit: nan_to_num's
replacements in the narrow floats, the float 2-norm's reduction order, embedding's max_norm
renormalisation, bfloat16 batch norm in training mode."""
import warnings

import numpy as np
import pytest
import torch

import ember


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind != "c" else \
        a.view(np.dtype(f"u{a.dtype.itemsize // 2}"))


def _same(e, t):
    """Same dtype, shape and bits (NaNs with their payloads)."""
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    ea, ta = e.detach(), t.detach()
    if t.dtype == torch.bfloat16:
        ea, ta = ea.view(ember.int16), ta.view(torch.int16)
    np.testing.assert_array_equal(_bits(ea.numpy()), _bits(ta.numpy()))


# ---- nan_to_num: replacements cast to the dtype as torch casts them --------------------------

_FILLS = [65519.999999999, 2049.0000000001, 1.0009765625000001, 1e39, 1e6, 3.4028235e38,
          3.40282356779733661637539395458142568448e38, 1e-50, 3]


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64", "complex64",
                                "complex128"])
def test_nan_to_num_fills_cast_silently_as_torch(dt):
    """torch casts each replacement double to the dtype through float (a float16 2049 + 1e-10
    is 2048, 65519.999999999 is inf) and out of range to inf without a warning; ember cast
    the double straight to float16 (2050, 65504) and NumPy warned of the overflow."""
    x = [float("nan"), float("inf"), -float("inf"), 2.0]
    if dt.startswith("complex"):
        x = [complex(float("nan"), float("inf")), complex(-float("inf"), 1)]
    for v in _FILLS + [None]:
        kw = {} if v is None else dict(nan=v, posinf=v, neginf=-v)
        t = torch.nan_to_num(torch.tensor(x, dtype=getattr(torch, dt)), **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            e = ember.nan_to_num(ember.tensor(x, dtype=getattr(ember, dt)), **kw)
        assert not caught, [str(w.message) for w in caught]
        _same(e, t)


# ---- bfloat16 batch norm in training mode --------------------------------------------------

def _bn_run(lib, x, go, params, momentum):
    dt = lib.bfloat16
    w, b, rm, rv = (lib.tensor(p).to(dt) for p in params)
    w.requires_grad_()
    b.requires_grad_()
    xx = lib.tensor(x).to(dt).requires_grad_()
    y = lib.nn.functional.batch_norm(xx, rm, rv, w, b, training=True, momentum=momentum)
    y.backward(lib.tensor(go).to(dt))
    return y, xx.grad, w.grad, b.grad, rm, rv


def test_bfloat16_batch_norm_training_like_torch():
    """torch keeps bfloat16 statistics in bfloat16: mean and sum of squared deviations
    rounded (the deviations from the rounded mean for (N, C) input), var = sum /
    bfloat16(n) rounded, invstd rounded; the running statistics updated in bfloat16
    arithmetic with momentum rounded to bfloat16. ember normalized with the float32
    statistics: about a third of the outputs and input gradients were an ulp off, and a
    third of the running statistics."""
    from test_probe17_programs import _one_torch_thread
    g = np.random.default_rng(0)
    with _one_torch_thread():
        for _ in range(40):
            nd = int(g.integers(2, 6))
            c = int(g.integers(1, 6))
            shape = (int(g.integers(2, 9)), c) + tuple(int(s) for s in g.integers(1, 9, nd - 2))
            x = (g.standard_normal(shape) * g.uniform(0.1, 5) + g.uniform(-3, 3)).astype(
                np.float32)
            go = g.standard_normal(shape).astype(np.float32)
            params = (g.standard_normal(c), g.standard_normal(c), g.standard_normal(c),
                      g.uniform(0.5, 2, c))
            params = tuple(p.astype(np.float32) for p in params)
            momentum = float(g.choice([0.1, 0.3, 0.01]))
            for e, t in zip(_bn_run(ember, x, go, params, momentum),
                            _bn_run(torch, x, go, params, momentum)):
                _same(e, t)


# ---- the 2-norm over dims in torch's order ---------------------------------------------------

def _norm_cases(seed, n):
    g = np.random.default_rng(seed)
    for _ in range(n):
        dt = str(g.choice(["float32", "float64", "float16", "bfloat16"]))
        nd = int(g.integers(1, 4))
        shape = tuple(int(s) for s in g.integers(1, 12, nd))
        if g.random() < 0.6:
            shape = shape[:-1] + (int(g.integers(1, 301)),)
        x = (g.standard_normal(shape) * g.choice([1e-3, 1, 1e3])).astype(np.float32)
        tx, ex = torch.tensor(x).to(getattr(torch, dt)), ember.tensor(x).to(getattr(ember, dt))
        if g.random() < 0.3 and nd >= 2:
            tx, ex = tx.transpose(0, -1), ex.transpose(0, -1)
        yield g, tx, ex


@pytest.mark.parametrize("seed", range(3))
def test_norm2_over_dims_bit_for_bit(seed):
    """torch's CPU 2-norm: rows innermost in memory (float32/64, bfloat16) go through its
    vectorised kernel (squares into 32-byte lanes in order, the lanes in order, the leftover
    values in fours, the last ones fused: fma(x, x, acc)); the rest one value after another in
    memory order. ember summed NumPy's way: 10-20% of float32/64 rows an ulp off."""
    for g, tx, ex in _norm_cases(seed, 120):
        d = int(g.integers(-tx.ndim, tx.ndim))
        _same(ex.norm(dim=d), tx.norm(dim=d))
        _same(ember.linalg.vector_norm(ex, dim=-1, keepdim=True),
              torch.linalg.vector_norm(tx, dim=-1, keepdim=True))
        _same(ex.norm(), tx.norm())
        _same(ember.nn.functional.normalize(ex, dim=d), torch.nn.functional.normalize(tx, dim=d))
        if tx.ndim >= 2:
            dd = tuple(sorted(g.choice(tx.ndim, 2, replace=False).tolist()))
            _same(ember.linalg.vector_norm(ex, dim=dd), torch.linalg.vector_norm(tx, dim=dd))


@pytest.mark.parametrize("dt", ["complex64", "complex128"])
def test_complex_norm2_bit_for_bit(dt):
    """A complex 2-norm: torch's kernel adds |z|^2 one value after another in memory order,
    |z| its std::abs (glibc's hypot); over one element torch.abs (complex128: Sleef's hypot,
    correctly rounded). ember took NumPy's pairwise sum of NumPy's |z|: 30% of values off."""
    g = np.random.default_rng(1)
    for _ in range(60):
        nd = int(g.integers(1, 4))
        shape = tuple(int(s) for s in g.integers(1, 12, nd))
        if g.random() < 0.5:
            shape = shape[:-1] + (int(g.integers(1, 301)),)
        x = (g.standard_normal(shape) + 1j * g.standard_normal(shape)) * g.choice([1e-3, 1, 1e3])
        tx, ex = torch.tensor(x).to(getattr(torch, dt)), ember.tensor(x).to(getattr(ember, dt))
        if g.random() < 0.3 and nd >= 2:
            tx, ex = tx.transpose(0, -1), ex.transpose(0, -1)
        d = int(g.integers(-tx.ndim, tx.ndim))
        _same(ex.norm(dim=d), tx.norm(dim=d))
        _same(ex.norm(), tx.norm())
        _same(ember.linalg.vector_norm(ex, dim=-1), torch.linalg.vector_norm(tx, dim=-1))
        _same(ember.nn.functional.normalize(ex, dim=d), torch.nn.functional.normalize(tx, dim=d))


def test_norm2_special_values_bit_for_bit():
    """Exact squares and sums (the fused add's exact path), subnormal and overflowing squares,
    infinities and NaNs: as torch, and without NumPy's overflow warning."""
    g = np.random.default_rng(5)
    for trial in range(120):
        dt = ["float32", "float64", "bfloat16", "float16"][trial % 4]
        r, n = int(g.integers(1, 20)), int(g.integers(1, 40))
        x = [g.integers(-5, 6, (r, n)) / 2, g.standard_normal((r, n)) * 1e-22,
             g.standard_normal((r, n)) * 1e19, g.standard_normal((r, n)),
             1 + g.integers(0, 2 ** 12, (r, n)) * 2.0 ** -12][trial % 5]
        if trial % 5 == 3:
            x[g.random((r, n)) < 0.1] = np.inf
            x[g.random((r, n)) < 0.05] = np.nan
        x = x.astype(np.float32) if dt != "float64" else x
        tx, ex = torch.tensor(x).to(getattr(torch, dt)), ember.tensor(x).to(getattr(ember, dt))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = [ex.norm(dim=1), ex.norm(dim=0), ex.norm()]
        for e, t in zip(got, [tx.norm(dim=1), tx.norm(dim=0), tx.norm()]):
            _same(e, t)


# ---- embedding's max_norm renormalisation ----------------------------------------------------

@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
def test_embedding_max_norm_renorms_as_torch(dt, p):
    """torch's embedding_renorm_: each used row's norm by its norm kernel, in the weight's
    dtype, scale = max_norm / (norm + 1e-7) in double, then the row times the scale in the
    weight's dtype. ember summed the norm its own way (inf: |x| ** inf summed) and scaled in
    the weight's dtype: rows an ulp off (all of them for inf)."""
    g = np.random.default_rng(0)
    for _ in range(6):
        n, d = 50, int(g.integers(1, 40))
        w = (g.standard_normal((n, d)) * 3).astype(np.float32)
        idx = g.integers(0, n, size=(5, 6))          # duplicates among them
        max_norm = float(g.choice([0.5, 1.5, 8.0]))
        tw, ew = torch.tensor(w).to(getattr(torch, dt)), ember.tensor(w).to(getattr(ember, dt))
        to = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=max_norm,
                                           norm_type=p)
        eo = ember.nn.functional.embedding(ember.tensor(idx), ew, max_norm=max_norm,
                                           norm_type=p)
        _same(ew, tw)
        _same(eo, to)
    tm = torch.nn.Embedding(20, 7, max_norm=1.0, norm_type=p).to(getattr(torch, dt))
    em = ember.nn.Embedding(20, 7, max_norm=1.0, norm_type=p).to(getattr(ember, dt))
    with torch.no_grad(), ember.no_grad():
        em.weight.copy_(ember.tensor(tm.weight.detach().float().numpy()))
    idx = g.integers(0, 20, size=(12,))
    _same(em(ember.tensor(idx)), tm(torch.tensor(idx)))
    _same(em.weight, tm.weight)


# ---- other p-norms over dims in torch's order -------------------------------------------------

def _p_norm_check(p, seed):
    g = np.random.default_rng(seed)
    for _ in range(60):
        dt = str(g.choice(["float32", "float64", "float16", "bfloat16"]))
        nd = int(g.integers(1, 4))
        shape = tuple(int(s) for s in g.integers(1, 12, nd))
        if g.random() < 0.5:
            shape = shape[:-1] + (int(g.integers(1, 301)),)
        x = g.standard_normal(shape).astype(np.float32)
        tx, ex = torch.tensor(x).to(getattr(torch, dt)), ember.tensor(x).to(getattr(ember, dt))
        if g.random() < 0.3 and nd >= 2:
            tx, ex = tx.transpose(0, -1), ex.transpose(0, -1)
        d = int(g.integers(-tx.ndim, tx.ndim))
        _same(ex.norm(p, dim=d), tx.norm(p, dim=d))
        _same(ex.norm(p), tx.norm(p))
        _same(ember.nn.functional.normalize(ex, p, dim=d),
              torch.nn.functional.normalize(tx, p, dim=d))


@pytest.mark.parametrize("p", [1, 1.5, 3])
def test_p_norms_over_dims_bit_for_bit(p):
    """torch's p-norm kernel (binary_kernel_reduce): acc + |x| ** p one value after another in
    memory order, in float for the 2-byte floats, then acc ** (1 / p). ember summed NumPy's
    way (pairwise along the last dim): for p = 3, 7621 of 16127 float32 normalize outputs
    off."""
    _p_norm_check(p, 3)


@pytest.mark.xfail(strict=True, reason="p = 0.5 and p = -1 norms: about 1 value in 500 "
                   "(float32/float64) differs from torch's by an ulp; the order is torch's, "
                   "libm's pow through NumPy is not the cause found (not followed further)")
def test_p_norms_below_one_bit_for_bit():
    for seed in range(3):
        _p_norm_check(0.5, seed)
        _p_norm_check(-1, seed)
