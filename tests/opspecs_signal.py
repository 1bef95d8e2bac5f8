"""Op table entries for ember/ops/signal.py (stft/istft, histogram, gradient, igamma, mvlgamma)."""
from opspecs import F32_LOOSE, OpSpec, _mod, t

STFT_TOL = {"float32": dict(rtol=1e-4, atol=1e-4)}


def _stft(x, *args, **kw):
    m = _mod(x)
    return m.view_as_real(m.stft(x, *args, return_complex=True, **kw))


def _grad(x, **kw):
    m = _mod(x)
    return m.stack(m.gradient(x, **kw))


def _cat(pair):
    return _mod(pair[0]).cat(list(pair))


def _hann(x, n):
    return _mod(x).hann_window(n, dtype=x.real.dtype, device=x.device)


def _roundtrip(x, n_fft, hop, **kw):
    """istft(stft(x)) with a complex spectrum that requires grad through x."""
    m = _mod(x)
    s = m.stft(x, n_fft, hop, window=_hann(x, n_fft), return_complex=True, **kw)
    return m.istft(s * 1.5, n_fft, hop, window=_hann(x, n_fft), length=x.shape[-1])


def _istft_spec(re, im, n_fft, hop, **kw):
    m = _mod(re)
    return m.istft(re + 1j * im, n_fft, hop, window=_hann(re, n_fft), **kw)


SPECS = [
    OpSpec("stft", lambda x: _stft(x, 8, window=_mod(x).ones(8, dtype=x.real.dtype,
                                                         device=x.device)),
           [(t(32),), (t(2, 20),)], tol=STFT_TOL),
    OpSpec("stft.window", lambda x, w: _stft(x, 16, 5, 12, w),
           [(t(40), t(12, low=0.5, high=1.5))], tol=STFT_TOL),
    OpSpec("stft.hann_normalized", lambda x: _stft(x, 16, 4, window=_hann(x, 16),
                                                   normalized=True),
           [(t(2, 48),)], tol=STFT_TOL),
    OpSpec("stft.not_centered", lambda x: _stft(x, 15, 4, window=_hann(x, 15), center=False),
           [(t(37),)], tol=STFT_TOL),
    OpSpec("stft.pad_constant", lambda x: _stft(x, 8, window=_hann(x, 8), pad_mode="constant",
                                                      onesided=False),
           [(t(20),)], tol=STFT_TOL),
    OpSpec("stft.method", lambda x: _mod(x).view_as_real(x.stft(8, 3, window=_hann(x, 8),
                                                                       return_complex=True)),
           [(t(3, 24, nc=True),)], tol=STFT_TOL),
    OpSpec("istft", lambda x: _roundtrip(x, 16, 4), [(t(48),), (t(2, 40),)], tol=STFT_TOL),
    OpSpec("istft.odd", lambda x: _roundtrip(x, 15, 5), [(t(41),)], tol=STFT_TOL),
    OpSpec("istft.spectrum", lambda re, im: _istft_spec(re, im, 16, 4), [(t(9, 7), t(9, 7))],
           tol=STFT_TOL),
    OpSpec("istft.two_sided", lambda re, im: _istft_spec(re, im, 8, 2, onesided=False,
                                                          length=20),
           [(t(2, 8, 9), t(2, 8, 9))], tol=STFT_TOL),
    OpSpec("gradient", lambda x: _grad(x), [(t(5),), (t(4, 5),), (t(3, 4, nc=True),)]),
    OpSpec("gradient.spacing", lambda x: _grad(x, spacing=2.0, dim=1, edge_order=2),
           [(t(4, 5),)]),
    OpSpec("gradient.spacings", lambda x: _grad(x, spacing=[0.5, 3.0]),
           [(t(4, 5),)]),
    OpSpec("gradient.coords", lambda x, c: _grad(x, spacing=(c.cumsum(0),), dim=0),
           [(t(5, 3), t(5, low=0.5, high=1.5, grad=False))]),
    OpSpec("gradient.coords_order2",
           lambda x, c: _grad(x, spacing=[c.cumsum(0)], dim=-1, edge_order=2),
           [(t(3, 6), t(6, low=0.5, high=1.5, grad=False))]),
    OpSpec("histogram", lambda x: _cat(_mod(x).histogram(x, 7)), [(t(30),), (t(4, 5),)],
           grad=False),
    OpSpec("histogram.range_density",
           lambda x, w: _cat(x.histogram(5, range=(-1.0, 1.0), weight=w, density=True)),
           [(t(40), t(40, low=0.1, high=1.0))], grad=False),
    OpSpec("histogramdd", lambda x: _mod(x).histogramdd(x, [3, 4]).hist, [(t(30, 2),)],
           grad=False),
    OpSpec("igamma", lambda a, x: a.igamma(x), [(t(3, 4, grad=False), t(3, 4)),
                                                (t(4, 1, grad=False), t(5))], domain=(0.2, 3.0),
           tol=F32_LOOSE),
    OpSpec("igammac", lambda a, x: _mod(a).igammac(a, x), [(t(3, 4, grad=False), t(3, 4))],
           domain=(0.2, 3.0), tol=F32_LOOSE),
    OpSpec("mvlgamma", lambda x: x.mvlgamma(3), [(t(3, 4),), (t(),)], domain=(1.5, 4.0),
           tol=F32_LOOSE),
    OpSpec("mvlgamma.p1", lambda x: _mod(x).mvlgamma(x, p=1), domain=(0.5, 3.0), tol=F32_LOOSE),
]
