"""Regressions found by probe batch 10a (differential fuzzing of tensor printing, ember.linalg and
ember.fft), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome, _plain     # the shared comparison helpers

_ = _plain


def _signs(lib, t):
    """The tensor's repr (it shows the sign of every zero) and its parts' sign bits."""
    r = lib.view_as_real(t) if t.is_complex() else t
    return repr(t).replace("ember", "torch"), lib.signbit(r).tolist()


_ZERO_SIGNS = {
    "complex() of a -0.0 imaginary part": lambda t: t.complex(t.tensor([-0., 0., 1.]),
                                                                t.tensor([-0., -0., -0.])),
    "complex() broadcasting": lambda t: t.complex(t.ones(2, 1, dtype=t.float64),
                                                  t.tensor([-0., 1.], dtype=t.float64)),
    "sigmoid of a complex number on the real axis": lambda t: t.sigmoid(
        t.tensor([50 + 0j, -100 + 0j, 0j, 3 - 0j, 2 + 1j])),
    "sigmoid, 0-d complex": lambda t: t.sigmoid(t.tensor(3 - 0j)),
}


@pytest.mark.parametrize("case", list(_ZERO_SIGNS))
def test_signs_of_zeros_like_torch(case):
    assert _signs(ember, _ZERO_SIGNS[case](ember)) == _signs(torch, _ZERO_SIGNS[case](torch))


def _bits(lib, case):
    import numpy as np
    g = np.random.default_rng(3)
    a = (g.standard_normal((37, 23)) * 10.0 ** g.integers(-3, 8, (37, 23))).astype(np.float32)
    x = lib.tensor(a)
    r = {
        "x.T.sum()": lambda: x.T.sum(),
        "x.T.mean()": lambda: x.T.mean(),
        "x.T.sum(1)": lambda: x.T.sum(1),
        "x.T.sum(0, keepdim)": lambda: x.T.sum(0, keepdim=True),
        "x.T.sum((0, 1), keepdim)": lambda: x.T.sum((0, 1), keepdim=True),
        "permuted 3-d with a size-1 dim": lambda: x.reshape(1, 37, 23).permute(2, 0, 1).sum(2),
        "mT of a batch, double": lambda: x.double().reshape(37, 23, 1).mT.sum(-1),
    }[case]()
    return tuple(r.shape), r.double().tolist()


@pytest.mark.parametrize("case", ["x.T.sum()", "x.T.mean()", "x.T.sum(1)", "x.T.sum(0, keepdim)",
                                  "x.T.sum((0, 1), keepdim)", "permuted 3-d with a size-1 dim",
                                  "mT of a batch, double"])
def test_sums_of_transposed_tensors_add_in_torchs_order(case):
    # a permuted dense tensor is summed in memory order, as torch's iterator does: bit for bit
    assert _bits(ember, case) == _bits(torch, case)


_FFT = {
    "0-d input, default dim": lambda t: t.fft.fft(t.tensor(1 + 0j)),
    "0-d input, dim given": lambda t: t.fft.rfft(t.tensor(1.), dim=0),
    "0-d input, n-d dims": lambda t: t.fft.fftn(t.tensor(1.), dim=(1,)),
    "0-d half: the dtype is refused first": lambda t: t.fft.fft(t.tensor(1., dtype=t.half)),
    "n=-1 is refused by the one-dim transforms": lambda t: t.fft.fft(t.ones(3), n=-1),
    "irfft n=-1": lambda t: t.fft.irfft(t.ones(3, dtype=t.complex64), n=-1),
    "hfft2 s=(3, -1): -1 is the default 2 * (n - 1)": lambda t: t.fft.hfft2(
        t.ones(6, 5, dtype=t.complex64), s=(3, -1)),
    "irfftn s=(-1,)": lambda t: t.fft.irfftn(t.ones(2, 7, dtype=t.complex128), s=(-1,)),
    "empty dim to transform": lambda t: t.fft.ifftn(t.ones(0)),
    "empty dim, ifft2": lambda t: t.fft.ifft2(t.ones(7, 0, 5), dim=(1,)),
    "rfftn with no dims": lambda t: t.fft.rfftn(t.ones(2, 2), dim=()),
    "irfft2 with no dims": lambda t: t.fft.irfft2(t.ones(4, 3), s=(), dim=()),
    "hfftn of a 0-d input": lambda t: t.fft.hfftn(t.tensor(1.), norm="bad"),
    "fftn with no dims is a copy": lambda t: t.fft.fftn(t.arange(3.), dim=()),
    "dims checked before the norm": lambda t: t.fft.ifft(t.ones(5), norm="bad", dim=-3),
    "unique dims before the norm": lambda t: t.fft.hfft2(t.ones(3, 1, 1, 5), norm="bad",
                                                         dim=(0, -3, 0)),
    "shape checked before the dtype": lambda t: t.fft.rfftn(t.tensor(1., dtype=t.bfloat16),
                                                            s=(3, -1)),
    "ihfftn of complex: dims first": lambda t: t.fft.ihfftn(t.ones(7, 4, dtype=t.complex64),
                                                            dim=(-1, -1)),
    "ihfftn of complex: norm first": lambda t: t.fft.ihfftn(t.ones(3, dtype=t.complex64),
                                                            norm="bad"),
    "shape length with dims given": lambda t: t.fft.fftn(t.ones(2, 2), s=(1, 1, 1),
                                                         dim=(0, 1, 2)),
    "fftshift of a 0-d tensor": lambda t: t.fft.fftshift(t.tensor(1.)),
    "fftshift dim out of range": lambda t: t.fft.ifftshift(t.ones(4), dim=(1, 0)),
}


@pytest.mark.parametrize("case", list(_FFT))
def test_fft_arguments_checked_like_torch(case):
    assert _outcome(lambda: _FFT[case](ember)) == _outcome(lambda: _FFT[case](torch))


_FREQ = {
    "float32 values: a product with 1 / (n d)": lambda t: t.fft.fftfreq(33, 0.1),
    "float64": lambda t: t.fft.rfftfreq(10, 7.3, dtype=t.float64),
    "bfloat16: the scale rounded first": lambda t: t.fft.fftfreq(33, 0.1, dtype=t.bfloat16),
    "float16": lambda t: t.fft.rfftfreq(33, 0.1, dtype=t.float16),
    "d = 0": lambda t: t.fft.fftfreq(5, 0),
    "rfftfreq(0) is [nan]": lambda t: t.fft.rfftfreq(0),
    "rfftfreq(-1): C's n / 2": lambda t: t.fft.rfftfreq(-1, 3.),
    "rfftfreq(-4)": lambda t: t.fft.rfftfreq(-4),
    "fftfreq(-3)": lambda t: t.fft.fftfreq(-3, dtype=t.int64),
    "int dtype": lambda t: t.fft.fftfreq(5, 2, dtype=t.int64),
    "complex dtype": lambda t: t.fft.rfftfreq(5, dtype=t.complex64),
    "out's dtype": lambda t: t.fft.fftfreq(3, out=t.empty(3, dtype=t.float64)),
    "dtype and out differ": lambda t: t.fft.fftfreq(3, dtype=t.float32,
                                                    out=t.empty(3, dtype=t.float64)),
    "n must be an int": lambda t: t.fft.fftfreq(3.5),
}


@pytest.mark.parametrize("case", list(_FREQ))
def test_fftfreq_like_torch(case):
    def run(lib):
        r = _FREQ[case](lib)
        return str(r.dtype).replace("ember", "torch"), tuple(r.shape), repr(r.double().tolist())
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_ROLL = {
    "no shifts": lambda t: t.roll(t.arange(6).view(2, 3), [], [0]),
    "no shifts, no dims": lambda t: t.roll(t.arange(6).view(2, 3), [], None),
    "two shifts, no dims": lambda t: t.roll(t.arange(6).view(2, 3), [1, 2]),
    "one shift, empty dims: flattened": lambda t: t.roll(t.arange(6).view(2, 3), [1], []),
    "int shift, empty dims": lambda t: t.roll(t.arange(6).view(2, 3), 1, []),
}


@pytest.mark.parametrize("case", list(_ROLL))
def test_roll_arguments_like_torch(case):
    assert _outcome(lambda: _ROLL[case](ember)) == _outcome(lambda: _ROLL[case](torch))
