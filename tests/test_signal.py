"""Window functions, stft/istft, histogram(dd), gradient, binomial, igamma and mvlgamma
against torch (the op table has the gradient checks: tests/opspecs_signal.py)."""
import numpy as np
import pytest
import torch
from oracle import assert_close

import ember

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 17])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_window_values(name, length, periodic, dtype):
    e = getattr(ember, name)(length, periodic, dtype=getattr(ember, dtype))
    t = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
    assert_close(e, t)


@pytest.mark.parametrize("name", WINDOWS)
def test_window_defaults(name):
    assert_close(getattr(ember, name)(10), getattr(torch, name)(10))
    e = getattr(ember, name)(6, requires_grad=True)
    assert e.requires_grad and e.is_leaf and e.dtype == ember.float32
    assert not hasattr(ember.Tensor, name)


def test_window_extra_parameters():
    assert_close(ember.hamming_window(9, False, 0.5, 0.3), torch.hamming_window(9, False, 0.5,
                                                                                0.3))
    assert_close(ember.kaiser_window(9, True, 4.0), torch.kaiser_window(9, True, 4.0))
    assert_close(ember.kaiser_window(8, periodic=False, beta=0.5, dtype=ember.float64),
                 torch.kaiser_window(8, periodic=False, beta=0.5, dtype=torch.float64))


def test_window_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.hann_window(4, dtype=ember.int64)
    with pytest.raises(RuntimeError):
        torch.hann_window(4, dtype=torch.int64)
    with pytest.raises(RuntimeError):
        ember.hann_window(-1)


def _pair(a):
    return ember.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("kw", [dict(n_fft=16), dict(n_fft=16, hop_length=5, win_length=10),
                                dict(n_fft=15, hop_length=4, center=False, normalized=True),
                                dict(n_fft=16, onesided=False), dict(n_fft=9, hop_length=3)])
@pytest.mark.parametrize("shape", [(50,), (2, 50)])
def test_stft_istft_match_torch_and_round_trip(kw, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    ex, tx = _pair(x)
    wl = kw.get("win_length", kw["n_fft"])
    ew, tw = ember.hann_window(wl, dtype=ember.float64), torch.hann_window(wl,
                                                                          dtype=torch.float64)
    if not kw.get("center", True):      # a hann window is 0 at the ends: use a positive one
        ew, tw = ew + 0.1, tw + 0.1
    es = ember.stft(ex, window=ew, return_complex=True, **kw)
    ts = torch.stft(tx, window=tw, return_complex=True, **kw)
    assert_close(es, ts)
    for length in (None, 50):
        ey = ember.istft(es, window=ew, length=length, **kw)
        ty = torch.istft(ts, window=tw, length=length, **kw)
        assert_close(ey, ty)
    y = ember.istft(es, window=ew, length=50, **kw).numpy()
    n = 50 if kw.get("center", True) else \
        kw["n_fft"] + kw.get("hop_length", kw["n_fft"] // 4) * (es.shape[-1] - 1)
    np.testing.assert_allclose(y[..., :n], x[..., :n], atol=1e-10)     # the frames' span


def test_stft_options():
    x = np.random.default_rng(1).standard_normal(40).astype(np.float32)
    ex, tx = _pair(x)
    with pytest.raises(RuntimeError, match="return_complex"):
        ember.stft(ex, 8)
    with pytest.raises(RuntimeError, match="return_complex"):
        torch.stft(tx, 8)
    for mode in ("reflect", "constant", "replicate", "circular"):
        assert_close(ember.stft(ex, 8, window=ember.ones(8), pad_mode=mode,
                                return_complex=True),
                     torch.stft(tx, 8, window=torch.ones(8), pad_mode=mode,
                                return_complex=True))
    assert_close(ember.stft(ex, 8, window=ember.ones(8), return_complex=False),
                 torch.view_as_real(torch.stft(tx, 8, window=torch.ones(8),
                                               return_complex=True)))
    es, ts = ex.stft(8, return_complex=True), tx.stft(8, return_complex=True)
    assert_close(es, ts)
    assert_close(es.istft(8), ts.istft(8))


def test_stft_complex_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(40) + 1j * rng.standard_normal(40)
    ex, tx = _pair(x)
    es, ts = ember.stft(ex, 8, window=ember.ones(8, dtype=ember.float64)), \
        torch.stft(tx, 8, window=torch.ones(8, dtype=torch.float64))
    assert_close(es, ts)
    assert_close(ember.istft(es, 8, return_complex=True), torch.istft(ts, 8,
                                                                      return_complex=True))
    with pytest.raises(RuntimeError, match="onesided"):
        ember.stft(ex, 8, onesided=True, return_complex=True)


def test_istft_window_overlap_error():
    ex = ember.randn(40)
    es = ember.stft(ex, 8, 4, window=ember.hann_window(8), center=False, return_complex=True)
    with pytest.raises(RuntimeError, match="window overlap add min"):
        ember.istft(es, 8, 4, window=ember.hann_window(8), center=False)


def test_histogram():
    x = np.random.default_rng(3).standard_normal(100)
    w = np.random.default_rng(4).random(100)
    ex, tx = _pair(x)
    ew, tw = _pair(w)
    cases = [((10,), {}), ((5,), dict(range=(-1.0, 1.0))), ((7,), dict(density=True)),
             ((4,), dict(weight=True, density=True))]
    for args, kw in cases:
        ek, tk = dict(kw), dict(kw)
        if "weight" in kw:
            ek["weight"], tk["weight"] = ew, tw
        e, t = ember.histogram(ex, *args, **ek), torch.histogram(tx, *args, **tk)
        assert_close(tuple(e), tuple(t))
        assert_close(e.hist, t.hist)
        assert_close(e.bin_edges, t.bin_edges)
    eb, tb = _pair(np.array([-1.0, 0.0, 0.5, 2.0]))
    assert_close(tuple(ember.histogram(ex, eb, weight=ew)), tuple(torch.histogram(tx, tb,
                                                                                  weight=tw)))
    assert_close(tuple(ex.histogram(eb)), tuple(tx.histogram(tb)))
    assert_close(tuple(ember.histogram(ember.tensor([1.0, 1.0]), 3)),
                 tuple(torch.histogram(torch.tensor([1.0, 1.0]), 3)))
    assert "torch.return_types.histogram(" in repr(ember.histogram(ex, 3))
    with pytest.raises(RuntimeError):
        ember.histogram(ex, ember.tensor([0.0, 1.0]))       # float32 edges, float64 input
    with pytest.raises(RuntimeError):
        ember.histogram(ember.tensor([1, 2]), 3)


def test_histogramdd():
    x = np.random.default_rng(5).standard_normal((30, 2)).astype(np.float32)
    ex, tx = _pair(x)
    for kw in [dict(bins=3), dict(bins=[2, 4], density=True),
               dict(bins=[2, 3], range=[-1.0, 1.0, -2.0, 2.0])]:
        e, t = ember.histogramdd(ex, **kw), torch.histogramdd(tx, **kw)
        assert_close(e.hist, t.hist)
        assert isinstance(e.bin_edges, tuple)
        assert_close(e.bin_edges, t.bin_edges)
    eb = [ember.tensor([-3.0, 0.0, 3.0]), ember.tensor([-1.0, 1.0])]
    tb = [torch.tensor([-3.0, 0.0, 3.0]), torch.tensor([-1.0, 1.0])]
    assert_close(ember.histogramdd(ex, eb).hist, torch.histogramdd(tx, tb).hist)


def test_gradient():
    f = np.random.default_rng(6).standard_normal((5, 6))
    ef, tf = _pair(f)
    coords = np.array([0.0, 1.0, 3.0, 4.0, 7.0])
    cases = [{}, dict(spacing=2.0), dict(dim=1, edge_order=2), dict(spacing=[0.5, 3.0]),
             dict(dim=0, spacing=["c"]), dict(dim=0, edge_order=2, spacing=("c",)),
             dict(dim=[-1], spacing=3)]
    for kw in cases:
        ek, tk = dict(kw), dict(kw)
        if "spacing" in kw and isinstance(kw["spacing"], (list, tuple)):
            ek["spacing"] = [ember.tensor(coords) if s == "c" else s for s in kw["spacing"]]
            tk["spacing"] = [torch.tensor(coords) if s == "c" else s for s in kw["spacing"]]
        e, t = ember.gradient(ef, **ek), torch.gradient(tf, **tk)
        assert isinstance(e, tuple)
        assert_close(e, t)
    assert_close(ember.gradient(ember.tensor([1, 2, 4, 8])),
                 torch.gradient(torch.tensor([1, 2, 4, 8])))
    with pytest.raises(RuntimeError):
        ember.gradient(ember.ones(2), edge_order=2)
    with pytest.raises(RuntimeError):
        ember.gradient(ef, spacing=[1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError):
        ember.gradient(ef, edge_order=3)
    assert not hasattr(ember.Tensor, "gradient")


def test_binomial():
    count, prob = ember.full((4000,), 10.0), ember.full((4000,), 0.3)
    ember.manual_seed(0)
    s = ember.binomial(count, prob)
    ember.manual_seed(0)
    assert bool((ember.binomial(count, prob) == s).all())
    assert s.dtype == ember.float32 and s.shape == (4000,)
    a = s.numpy()
    assert a.min() >= 0 and a.max() <= 10 and np.all(a == np.round(a))
    assert abs(a.mean() - 3.0) < 0.15
    assert ember.binomial(ember.tensor([0.0, 5.0]), ember.tensor([0.5, 1.0])).tolist() == \
        [0.0, 5.0]


def test_igamma():
    rng = np.random.default_rng(7)
    a, x = rng.random((3, 4)) * 3 + 0.2, rng.random((3, 4)) * 3
    for name in ("igamma", "igammac"):
        ea, ta = _pair(a)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        e, t = getattr(ember, name)(ea, ex), getattr(torch, name)(ta, tx)
        assert_close(e, t)
        e.sum().backward()
        t.sum().backward()
        assert_close(ex.grad, tx.grad)
    ea = ember.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for 'igamma: input'"):
        ember.igamma(ea, ember.tensor(x)).sum().backward()
    assert_close(ember.igamma(ember.tensor([1, 2]), ember.tensor([1.0, 2.0])),
                 torch.igamma(torch.tensor([1, 2]), torch.tensor([1.0, 2.0])))


def test_igamma_without_scipy(monkeypatch):
    from ember.ops import _special
    monkeypatch.setitem(_special._CACHE, id(np), None)
    with pytest.raises(RuntimeError, match="scipy"):
        ember.igamma(ember.tensor([1.0]), ember.tensor([1.0]))


def test_mvlgamma():
    x = np.array([0.1, 0.6, 2.0, 5.5])
    for p in (1, 2, 3):
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        e, t = ember.mvlgamma(ex, p), torch.mvlgamma(tx, p)
        assert_close(e, t)
        e.sum().backward()
        t.sum().backward()
        assert_close(ex.grad, tx.grad)
    assert_close(ember.tensor(x).mvlgamma(p=2), torch.tensor(x).mvlgamma(p=2))
    with pytest.raises(RuntimeError):
        ember.mvlgamma(ember.tensor(x), 0)
