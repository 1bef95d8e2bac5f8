"""Op table entries for ember.fft: every transform with sizes that pad and trim, each norm, odd
and even lengths; complex results compared through view_as_real, complex inputs built from the
real sample (so gradients reach it through both parts)."""
from opspecs import OpSpec, _mod, t

FFT_TOL = {"float32": dict(rtol=1e-4, atol=1e-4)}


def _vr(y):
    return _mod(y).view_as_real(y.resolve_conj())


def _c(x):
    """A complex input whose real and imaginary parts both depend on x."""
    m = _mod(x)
    return m.complex(x, x.flip(-1) * 0.5 - 0.25)


def _f(name, *args, **kw):
    return lambda x: getattr(_mod(x).fft, name)(x, *args, **kw)


def _spec(name, fn, samples, **kw):
    return OpSpec("fft." + name, fn, samples, tol=FFT_TOL, **kw)


M = [(t(4, 6),), (t(7),)]
SPECS = [
    _spec("fft", lambda x: _vr(_f("fft")(x)), M),
    _spec("fft.pad_ortho", lambda x: _vr(_f("fft", 8, 0, "ortho")(x)), [(t(5, 3),)]),
    _spec("fft.trim", lambda x: _vr(_f("fft", 3)(x)), M),
    _spec("ifft.complex_forward", lambda x: _vr(_f("ifft", norm="forward")(_c(x))), M),
    _spec("fft2.complex_s", lambda x: _vr(_f("fft2", (3, 7))(_c(x))), [(t(4, 5),)]),
    _spec("ifftn.dims", lambda x: _vr(_f("ifftn", dim=(0, 2))(_c(x))), [(t(3, 4, 5),)]),
    _spec("rfft", lambda x: _vr(_f("rfft")(x)), M),
    _spec("rfft.pad_forward", lambda x: _vr(_f("rfft", 9, norm="forward")(x)), M),
    _spec("rfft2", lambda x: _vr(_f("rfft2")(x)), [(t(4, 5),), (t(2, 3, 6),)]),
    _spec("rfftn.s_ortho", lambda x: _vr(_f("rfftn", (3, 6), norm="ortho")(x)), [(t(4, 5),)]),
    _spec("irfft", lambda x: _f("irfft")(_c(x)), [(t(4, 5),), (t(6),)]),
    _spec("irfft.odd_n", lambda x: _f("irfft", 7)(_c(x)), M),
    _spec("irfft2.s", lambda x: _f("irfft2", (4, 6))(_c(x)), [(t(3, 5),)]),
    _spec("irfftn.ortho", lambda x: _f("irfftn", norm="ortho")(_c(x)), [(t(3, 4, 5),)]),
    _spec("hfft", lambda x: _f("hfft")(_c(x)), M),
    _spec("hfft.n_forward", lambda x: _f("hfft", 5, norm="forward")(_c(x)), M),
    _spec("ihfft", lambda x: _vr(_f("ihfft")(x)), M),
    _spec("ihfft2", lambda x: _vr(_f("ihfft2")(x)), [(t(4, 6),)]),
    _spec("hfftn.s", lambda x: _f("hfftn", (3, 4))(_c(x)), [(t(4, 5),)]),
    _spec("fftshift", _f("fftshift"), M),
    _spec("ifftshift.dim", _f("ifftshift", dim=0), M),
]
