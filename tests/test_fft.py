"""ember.fft beyond the op table (tests/opspecs_fft.py): result dtypes, integer inputs, out=,
the frequency helpers, and torch's errors for bad arguments."""
import re

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


def _pair(a):
    return ember.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "complex64", "complex128"])
@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn",
                                  "rfftn", "irfftn"])
def test_result_dtype_and_values(name, dtype):
    a = np.random.default_rng(0).uniform(-2, 2, (4, 6))
    if dtype.startswith("complex"):
        a = a + 0.5j * a[::-1]
    e, t = _pair(a.astype(dtype))
    try:
        want = getattr(torch.fft, name)(t)
    except RuntimeError as err:         # a real-input transform given a complex tensor
        with pytest.raises(RuntimeError, match=re.escape(str(err))):
            getattr(ember.fft, name)(e)
        return
    got = getattr(ember.fft, name)(e)
    assert got.dtype == getattr(ember, str(want.dtype).split(".")[1])
    assert_close(got.resolve_conj(), want.resolve_conj(), rtol=1e-5, atol=1e-5)


def test_out_and_frequencies():
    e, t = _pair(np.arange(8.0))
    out = ember.empty(0, dtype=ember.complex128)
    assert ember.fft.fft(e, out=out) is out
    assert_close(out, torch.fft.fft(t))
    for name, args in [("fftfreq", (7,)), ("fftfreq", (8, 0.25)), ("rfftfreq", (9, 2.0))]:
        assert_close(getattr(ember.fft, name)(*args), getattr(torch.fft, name)(*args))
    f = ember.fft.fftfreq(4, dtype=ember.float64, requires_grad=True)
    assert f.dtype == ember.float64 and f.requires_grad
    s = ember.fft.fftshift(ember.arange(12).reshape(3, 4), dim=(0, 1))
    assert_close(s, torch.fft.fftshift(torch.arange(12).reshape(3, 4), dim=(0, 1)))


def test_real_input_gradient_through_fft():
    a = np.random.default_rng(1).standard_normal(6)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (ember.fft.fft(e).abs() ** 2).sum().backward()
    (torch.fft.fft(t).abs() ** 2).sum().backward()
    assert e.grad.dtype == ember.float64
    assert_close(e.grad, t.grad)


@pytest.mark.parametrize("call", [
    lambda m, x: m.fft.rfft(x.to(m.complex64)),
    lambda m, x: m.fft.rfftn(x.to(m.complex128)),
    lambda m, x: m.fft.ihfft2(x.to(m.complex64)),
    lambda m, x: m.fft.fft(x.to(m.float16)),
    lambda m, x: m.fft.fft(x, n=0),
    lambda m, x: m.fft.irfft(x[:, :1].to(m.complex64)),
    lambda m, x: m.fft.fftn(x, dim=(0, 0)),
    lambda m, x: m.fft.fft(x, norm="bad"),
    lambda m, x: m.fft.fftn(x, s=(2, 2, 2)),
    lambda m, x: m.fft.fftn(x, s=(2,), dim=(0, 1)),
    lambda m, x: m.fft.fft(x, dim=2),
    lambda m, x: m.fft.rfft2([1.0, 2.0]),
])
def test_bad_arguments_raise_like_torch(call):
    e, t = _pair(np.ones((4, 3)))
    with pytest.raises(Exception) as want:
        call(torch, t)
    with pytest.raises(want.type) as got:
        call(ember, e)
    assert str(got.value).split(" (")[0] == str(want.value).split(" (")[0]


def _one_dim_argument_errors(lib):
    x, out = lib.ones(4), []
    for kw in [dict(n=3.5), dict(n=True), dict(dim=True), dict(dim="a"), dict(n=[3]),
               dict(dim=0.0), dict(dim=(0, 0))]:
        for f in (lib.fft.fft, lib.fft.rfft, lib.fft.irfft, lib.fft.ihfft, lib.fft.hfft):
            for inp in (x, x.half(), x * 1j):
                try:
                    out.append(tuple(f(inp, **kw).shape))
                except (TypeError, RuntimeError) as e:
                    out.append((type(e).__name__, str(e)))
    return out


def test_one_dim_transforms_check_n_and_dim_as_torchs_parser():
    """n and dim of fft/ifft/rfft/irfft/hfft/ihfft are ints to torch's argument parser, checked
    before the dtype ('fft_rfft(): argument 'n' must be int, not float'); ember failed later
    (a narrow() message, a list compared with an int, a half input's dtype error first)."""
    assert _one_dim_argument_errors(ember) == _one_dim_argument_errors(torch)
