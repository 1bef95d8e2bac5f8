"""Pooling against torch: max (indices, ceil_mode, padding, dilation, NaN and ties), average
(count_include_pad, divisor_override), adaptive, LP, fractional max (windows fixed by
`_random_samples`), max-unpool; functional and modules,
float32/float64 outputs and gradients, gradchecks, reprs and torch's exceptions."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import (DTYPES, Const, check_fn, check_module, gradcheck, pair, raises_like,
                       rand)
from oracle import assert_close

X4 = (2, 3, 9, 8)

MAX = {   # name -> (input shape, kwargs)
    "2d": (X4, dict(kernel_size=2)),
    "2d_pad_stride": (X4, dict(kernel_size=3, stride=2, padding=1)),
    "2d_all": (X4, dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1),
                        ceil_mode=True)),
    "2d_ceil_indices": (X4, dict(kernel_size=3, stride=2, ceil_mode=True, return_indices=True)),
    "2d_overlap_indices": (X4, dict(kernel_size=2, stride=1, return_indices=True)),
    "2d_unbatched": ((3, 9, 8), dict(kernel_size=2, return_indices=True)),
    "1d": ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                           return_indices=True)),
    "1d_unbatched": ((3, 9), dict(kernel_size=2)),
    "3d": ((2, 2, 5, 6, 5), dict(kernel_size=2, stride=(1, 2, 2), padding=1,
                                 return_indices=True)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MAX))
def test_max_pool(name, dtype):
    shape, kw = MAX[name]
    fn = f"max_pool{len(shape) - 2 if name[0] != '1' else 1}d"
    if "unbatched" in name:
        fn = f"max_pool{len(shape) - 1}d"
    check_fn(lambda x: getattr(F, fn)(x, **kw), lambda x: getattr(TF, fn)(x, **kw),
             [rand(shape, dtype)], dtype)


def test_max_pool_ties_nan_inf():
    cases = [[[[1., np.nan], [3., 2.]]], [[[np.nan, 1.], [np.nan, 2.]]], [[[3., 3.], [3., 2.]]],
             [[[-np.inf, -np.inf], [-np.inf, -np.inf]]], [[[0., 0.], [0., 0.]]]]
    for a in cases:
        x = np.array([a], np.float32)
        check_fn(lambda t: F.max_pool2d(t, 2, return_indices=True),
                 lambda t: TF.max_pool2d(t, 2, return_indices=True), [x])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(1, 2))])
def test_max_pool_signed_zeros(kw):
    """A window's first maximum gives its value on a -0.0/+0.0 tie, and a -0.0 gradient reaches
    the input as +0.0 (torch adds it into zeros), on the tiled path (kernel = stride) and off it."""
    x = np.zeros((2, 3, 6, 6), np.float32)
    x[:, :, ::2] = -0.0
    x[1, 2, 1, 1] = 1.0
    g = np.full((2, 3) + tuple(TF.max_pool2d(torch.tensor(x), **kw).shape[2:]), -0.0, np.float32)
    g[0, 0] = 2.0
    te, tt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = F.max_pool2d(te, **kw), TF.max_pool2d(tt, **kw)
    (ge,), (gt,) = ember.autograd.grad(ye, te, ember.tensor(g)), torch.autograd.grad(yt, tt,
                                                                                    torch.tensor(g))
    for a, b in ((ye, yt), (ge, gt)):
        bits = a.detach().numpy().view(np.int32)
        assert bits.tolist() == b.detach().numpy().view(np.int32).tolist()


def test_max_pool_int():
    x = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) % 7
    check_fn(lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: TF.max_pool2d(t, 3, 2, 1), [x],
             grad=False)


def test_max_pool_gradcheck():
    gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [rand(X4, "float64")])
    gradcheck(lambda x: F.max_pool2d(x, 2, 1), [rand(X4, "float64")])


AVG = {
    "2d": (X4, dict(kernel_size=2)),
    "2d_pad": (X4, dict(kernel_size=3, stride=2, padding=1)),
    "2d_no_count_pad_ceil": (X4, dict(kernel_size=3, stride=2, padding=1,
                                      count_include_pad=False, ceil_mode=True)),
    "2d_rect": (X4, dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True)),
    "2d_divisor": (X4, dict(kernel_size=3, divisor_override=5, padding=1)),
    "2d_unbatched": ((3, 9, 8), dict(kernel_size=2)),
    "1d": ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                           count_include_pad=False)),
    "3d": ((2, 2, 5, 6, 5), dict(kernel_size=2, stride=(1, 2, 2), padding=1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(AVG))
def test_avg_pool(name, dtype):
    shape, kw = AVG[name]
    nsp = len(shape) - (1 if "unbatched" in name else 2)
    fn = f"avg_pool{nsp}d"
    check_fn(lambda x: getattr(F, fn)(x, **kw), lambda x: getattr(TF, fn)(x, **kw),
             [rand(shape, dtype)], dtype)


def test_avg_pool_gradcheck():
    gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              [rand(X4, "float64")])


def test_avg_pool_int():
    x = np.arange(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) - 30
    check_fn(lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: TF.avg_pool2d(t, 3, 2, 1), [x],
             grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 3, (4, 5), (None, 2), (9, 8), (13, 11)])
def test_adaptive_pool_2d(size, dtype):
    x = rand(X4, dtype)
    check_fn(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size),
             [x], dtype)
    check_fn(lambda t: F.adaptive_max_pool2d(t, size, True),
             lambda t: TF.adaptive_max_pool2d(t, size, True), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_pool_1d_3d(dtype):
    x = rand((2, 3, 10), dtype)
    check_fn(lambda t: F.adaptive_avg_pool1d(t, 4), lambda t: TF.adaptive_avg_pool1d(t, 4), [x],
             dtype)
    check_fn(lambda t: F.adaptive_max_pool1d(t, 4, True),
             lambda t: TF.adaptive_max_pool1d(t, 4, True), [x], dtype)
    x = rand((2, 3, 5, 6, 7), dtype)
    check_fn(lambda t: F.adaptive_avg_pool3d(t, (2, 3, 4)),
             lambda t: TF.adaptive_avg_pool3d(t, (2, 3, 4)), [x], dtype)
    check_fn(lambda t: F.adaptive_max_pool3d(t, (2, 3, 4), True),
             lambda t: TF.adaptive_max_pool3d(t, (2, 3, 4), True), [x], dtype)
    x = rand((3, 7, 6), dtype)   # unbatched
    check_fn(lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: TF.adaptive_avg_pool2d(t, 3), [x],
             dtype)


def test_adaptive_gradcheck():
    gradcheck(lambda x: F.adaptive_avg_pool2d(x, (4, 3)), [rand(X4, "float64")])
    gradcheck(lambda x: F.adaptive_max_pool2d(x, (4, 3)), [rand(X4, "float64")])


def test_adaptive_max_nan():
    x = np.array([[[1., np.nan, 2., np.nan, 0.5]]], np.float32)
    check_fn(lambda t: F.adaptive_max_pool1d(t, 2, True),
             lambda t: TF.adaptive_max_pool1d(t, 2, True), [x])


FRACTIONAL = {   # name -> (input shape, kernel_size, kwargs); samples drawn per plane
    "2d": (X4, 2, dict(output_size=(4, 5))),
    "2d_rect_ratio": (X4, (3, 2), dict(output_ratio=(0.5, 0.7))),
    "2d_int_size": (X4, 2, dict(output_size=4)),
    "2d_unbatched": ((3, 9, 8), 2, dict(output_size=(5, 7))),
    "2d_full": (X4, (2, 3), dict(output_size=(8, 6))),       # windows overlap: grads add up
    "2d_one_out": (X4, 2, dict(output_size=(1, 3))),
    "3d": ((2, 2, 7, 6, 8), 2, dict(output_size=(3, 4, 5))),
    "3d_ratio": ((2, 2, 7, 6, 8), (2, 3, 1), dict(output_ratio=0.6)),
    "3d_unbatched": ((2, 7, 6, 8), 2, dict(output_size=(5, 2, 4))),
}


def _samples(shape, nsp, dtype="float32", seed=3):
    """torch's _random_samples layout: (batch, channels, nsp) in [0, 1)."""
    batch = shape[0] if len(shape) == nsp + 2 else 1
    return rand((batch, shape[-nsp - 1], nsp), dtype, seed, 0.0, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(FRACTIONAL))
def test_fractional_max_pool(name, dtype):
    shape, k, kw = FRACTIONAL[name]
    nsp = int(name[0])
    for ret in (True, False):
        fn = f"fractional_max_pool{nsp}d"
        check_fn(lambda x, s: getattr(F, fn)(x, k, return_indices=ret, _random_samples=s, **kw),
                 lambda x, s: getattr(TF, fn)(x, k, return_indices=ret, _random_samples=s, **kw),
                 [rand(shape, dtype), Const(_samples(shape, nsp))], dtype)
    fn = f"fractional_max_pool{nsp}d_with_indices"
    check_fn(lambda x, s: getattr(F, fn)(x, k, _random_samples=s, **kw),
             lambda x, s: getattr(TF, fn)(x, k, _random_samples=s, **kw),
             [rand(shape, dtype), Const(_samples(shape, nsp))], dtype)


def test_fractional_max_pool_nan_inf_and_empty_windows():
    x = np.array([[[[1., np.nan, 2., np.nan], [3., -np.inf, 0., 5.], [np.nan, 4., 4., 1.],
                    [-np.inf, -np.inf, 2., 2.]]]], np.float32)
    s = np.array([[[0.3, 0.8]]], np.float32)
    for k, out in ((2, (2, 3)), (0, (2, 2)), (2, (0, 2))):
        check_fn(lambda t, r: F.fractional_max_pool2d(t, k, out, return_indices=True,
                                                      _random_samples=r),
                 lambda t, r: TF.fractional_max_pool2d(t, k, out, return_indices=True,
                                                       _random_samples=r), [x, Const(s)],
                 grad=False)


def test_fractional_max_pool_gradcheck():
    s = ember.tensor(_samples(X4, 2, "float64"))
    gradcheck(lambda x: F.fractional_max_pool2d(x, 3, (5, 4), _random_samples=s),
              [rand(X4, "float64")])


@pytest.mark.parametrize("dtype", DTYPES)
def test_lp_pool(dtype):
    x = rand(X4, dtype, low=0.1)
    check_fn(lambda t: F.lp_pool2d(t, 2, 2), lambda t: TF.lp_pool2d(t, 2, 2), [x], dtype)
    check_fn(lambda t: F.lp_pool2d(t, 3, (3, 2), stride=(2, 1), ceil_mode=True),
             lambda t: TF.lp_pool2d(t, 3, (3, 2), stride=(2, 1), ceil_mode=True), [x], dtype)
    check_fn(lambda t: F.lp_pool1d(t, 1.5, 3, 2), lambda t: TF.lp_pool1d(t, 1.5, 3, 2),
             [rand((2, 3, 9), dtype, low=0.1)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_unpool(dtype):
    xt = torch.tensor(rand((2, 3, 8, 7), dtype))
    y, i = TF.max_pool2d(xt, 2, return_indices=True)
    check_fn(lambda a, b: F.max_unpool2d(a, b, 2, output_size=(8, 7)),
             lambda a, b: TF.max_unpool2d(a, b, 2, output_size=(8, 7)),
             [y.numpy(), i.numpy()], dtype)
    y, i = TF.max_pool1d(xt[0], 3, 2, 1, return_indices=True)
    check_fn(lambda a, b: F.max_unpool1d(a, b, 3, 2, 1),
             lambda a, b: TF.max_unpool1d(a, b, 3, 2, 1), [y.numpy(), i.numpy()], dtype)
    x5 = torch.tensor(rand((1, 2, 4, 4, 4), dtype))
    y, i = TF.max_pool3d(x5, 2, return_indices=True)
    check_fn(lambda a, b: F.max_unpool3d(a, b, 2), lambda a, b: TF.max_unpool3d(a, b, 2),
             [y.numpy(), i.numpy()], dtype)


def test_pool_grad_fn_names():
    x, t = pair(rand(X4), True)
    for fn in (lambda f, a: f.max_pool2d(a, 2), lambda f, a: f.avg_pool2d(a, 2),
               lambda f, a: f.adaptive_avg_pool2d(a, 3), lambda f, a: f.max_pool1d(a[0], 2),
               lambda f, a: f.max_pool2d(a, 2, return_indices=True)[0],
               lambda f, a: f.fractional_max_pool2d(a[0], 2, 3),
               lambda f, a: f.fractional_max_pool3d(a, 2, 1)):
        assert fn(F, x).grad_fn.name() == type(fn(TF, t).grad_fn).__name__


def test_pool_on_device(device):
    x = ember.tensor(rand(X4), device=device, requires_grad=True)
    y, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    s = _samples(X4, 2)
    z = F.avg_pool2d(x, 2).sum() + y.sum() + F.adaptive_avg_pool2d(x, 3).sum() + \
        F.fractional_max_pool2d(x, 2, 4, _random_samples=ember.tensor(s, device=device)).sum()
    z.backward()
    t = torch.tensor(rand(X4), requires_grad=True)
    yt, it = TF.max_pool2d(t, 3, 2, 1, return_indices=True)
    (TF.avg_pool2d(t, 2).sum() + yt.sum() + TF.adaptive_avg_pool2d(t, 3).sum()
     + TF.fractional_max_pool2d(t, 2, 4, _random_samples=torch.tensor(s)).sum()).backward()
    assert x.grad.device == x.device
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(i.cpu().numpy(), it.numpy())


# ---- modules --------------------------------------------------------------------------------
MODULES = {
    "MaxPool1d": ((3,), dict(stride=2, padding=1, return_indices=True), (2, 3, 9)),
    "MaxPool2d": ((2,), {}, X4),
    "MaxPool2d_all": (((2, 3), 1, 1, 2, True, True), {}, X4),
    "MaxPool3d": ((2,), dict(ceil_mode=True), (2, 2, 5, 5, 5)),
    "AvgPool1d": ((3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9)),
    "AvgPool2d": ((3, 2, 1, True, False, 4), {}, X4),
    "AvgPool3d": ((2,), dict(padding=1), (2, 2, 5, 5, 5)),
    "LPPool1d": ((2, 3, 2), {}, (2, 3, 9)),
    "LPPool2d": ((2, 3), dict(stride=(2, 1)), X4),
    "AdaptiveAvgPool1d": ((4,), {}, (2, 3, 9)),
    "AdaptiveAvgPool2d": (((2, None),), {}, X4),
    "AdaptiveAvgPool3d": ((2,), {}, (2, 2, 5, 5, 5)),
    "AdaptiveMaxPool1d": ((4,), dict(return_indices=True), (2, 3, 9)),
    "AdaptiveMaxPool2d": ((3,), dict(return_indices=True), X4),
    "AdaptiveMaxPool3d": (((2, 3, 2),), {}, (2, 2, 5, 5, 5)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODULES))
def test_pool_module(name, dtype):
    args, kw, shape = MODULES[name]
    cls = name.split("_")[0]
    e, t = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict()) == []
    low = 0.1 if cls.startswith("LP") else -2.0
    check_module(e, t, [rand(shape, dtype, low=low)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,args,kw,shape", [
    ("FractionalMaxPool2d", (2,), dict(output_size=(4, 3)), X4),
    ("FractionalMaxPool2d", ((3, 2),), dict(output_ratio=0.5, return_indices=True), X4),
    ("FractionalMaxPool3d", (2, (2, 3, 2)), dict(return_indices=True), (2, 2, 5, 5, 5)),
    ("FractionalMaxPool3d", ((1, 2, 2),), dict(output_ratio=(0.5, 0.6, 0.5)), (2, 2, 5, 5, 5))])
def test_fractional_max_pool_module(cls, args, kw, shape, dtype):
    e, t = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict()) == []
    samples = _samples(shape, int(cls[-2]), dtype)
    t._random_samples = torch.tensor(samples)
    e._random_samples = ember.zeros(samples.shape)      # a buffer: check_module loads torch's
    check_module(e, t, [rand(shape, dtype)], dtype)


@pytest.mark.parametrize("cls,args", [("MaxUnpool1d", (3,)), ("MaxUnpool2d", ((2, 3), 1, 1)),
                                      ("MaxUnpool3d", (2,)), ("MaxUnpool2d", (2,))])
def test_max_unpool_module(cls, args):
    e, t = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(e) == repr(t)
    nsp = int(cls[-2])
    pool = getattr(torch.nn, f"MaxPool{nsp}d")(*args, return_indices=True)
    y, i = pool(torch.tensor(rand((2, 3) + (6,) * nsp)))
    ye = e(ember.tensor(y.numpy()), ember.tensor(i.numpy()))
    assert_close(ye, t(y, i))


# ---- errors ---------------------------------------------------------------------------------
def _x(*shape):
    return rand(shape)


ERRORS = {
    "max_rank": lambda f, T: f.max_pool2d(T(_x(8, 8)), 2),
    "max_rank5": lambda f, T: f.max_pool2d(T(_x(2, 3, 4, 8, 8)), 2),
    "max_pad": lambda f, T: f.max_pool2d(T(_x(2, 3, 8, 8)), 2, padding=2),
    "max_too_small": lambda f, T: f.max_pool2d(T(_x(2, 3, 8, 8)), 9),
    "max_stride0": lambda f, T: f.max_pool2d(T(_x(2, 3, 8, 8)), 2, stride=0),
    "max_dilation_too_small": lambda f, T: f.max_pool2d(T(_x(2, 3, 8, 8)), 3, dilation=4),
    "max1d_rank": lambda f, T: f.max_pool1d(T(_x(2, 3, 8, 8)), 2),
    "max1d_rank1": lambda f, T: f.max_pool1d(T(_x(8)), 2),
    "avg_pad": lambda f, T: f.avg_pool2d(T(_x(2, 3, 8, 8)), 2, padding=2),
    "avg_rank": lambda f, T: f.avg_pool2d(T(_x(2, 3, 4, 8, 8)), 2),
    "avg1d_rank": lambda f, T: f.avg_pool1d(T(_x(2, 3, 4, 8)), 2),
    "avg_too_small": lambda f, T: f.avg_pool2d(T(_x(2, 3, 8, 8)), 9),
    "adaptive_avg_rank": lambda f, T: f.adaptive_avg_pool2d(T(_x(2, 3, 4, 8, 8)), 2),
    "adaptive_max_rank": lambda f, T: f.adaptive_max_pool2d(T(_x(2, 3, 4, 8, 8)), 2),
    "adaptive_avg1d_rank": lambda f, T: f.adaptive_avg_pool1d(T(_x(2, 3, 4, 8)), 2),
    "unpool_index": lambda f, T: f.max_unpool2d(T(_x(2, 3, 4, 4)),
                                                T(np.full((2, 3, 4, 4), 100)), 2),
    "unpool_size": lambda f, T: f.max_unpool2d(T(_x(2, 3, 4, 4)),
                                               T(np.zeros((2, 3, 4, 4), np.int64)), 2,
                                               output_size=(3, 3)),
    "fractional_no_size": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), 2),
    "fractional_ratio_len": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), 2,
                                                                 output_ratio=(0.5,) * 3),
    "fractional_ratio_float": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), 2,
                                                                   output_ratio=0.5),
    "fractional3d_ratio_len": lambda f, T: f.fractional_max_pool3d(T(_x(2, 3, 8, 8, 8)), 2,
                                                                   output_ratio=(0.5, 0.5)),
    "fractional_kernel_len": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), (2, 2, 2),
                                                                  4),
    "fractional3d_size_len": lambda f, T: f.fractional_max_pool3d(T(_x(2, 3, 8, 8, 8)), 2,
                                                                  (2, 2)),
    "fractional_rank": lambda f, T: f.fractional_max_pool2d(T(_x(1, 2, 3, 8, 8)), 2, 4),
    "fractional_rank2": lambda f, T: f.fractional_max_pool2d(T(_x(8, 8)), 2, 4),
    "fractional3d_rank": lambda f, T: f.fractional_max_pool3d(T(_x(1, 2, 3, 4, 4, 4)), 2, 2),
    "fractional_empty": lambda f, T: f.fractional_max_pool2d(T(_x(2, 0, 4, 4)), 2, 2),
    "fractional_height": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), 2, (8, 4)),
    "fractional_width": lambda f, T: f.fractional_max_pool2d(T(_x(2, 3, 8, 8)), 2, (4, 8)),
    "fractional3d_time": lambda f, T: f.fractional_max_pool3d(T(_x(2, 3, 4, 4, 4)), 2, (3, 2, 2)),
    "fractional_samples_dim": lambda f, T: f.fractional_max_pool2d(
        T(_x(2, 3, 8, 8)), 2, 4, _random_samples=T(_x(2, 3))),
    "fractional_samples_batch": lambda f, T: f.fractional_max_pool2d(
        T(_x(2, 3, 8, 8)), 2, 4, _random_samples=T(_x(1, 3, 2))),
    "fractional_samples_channels": lambda f, T: f.fractional_max_pool2d(
        T(_x(2, 3, 8, 8)), 2, 4, _random_samples=T(_x(2, 2, 2))),
    "fractional3d_samples_last": lambda f, T: f.fractional_max_pool3d(
        T(_x(2, 3, 8, 8, 8)), 2, 4, _random_samples=T(_x(2, 3, 2))),
    "fractional_samples_dtype": lambda f, T: f.fractional_max_pool2d(
        T(_x(2, 3, 8, 8)), 2, 4, _random_samples=T(_x(2, 3, 2).astype(np.float64))),
    "fractional_int": lambda f, T: f.fractional_max_pool2d(
        T(np.zeros((2, 3, 8, 8), np.int32)), 2, 4, _random_samples=T(np.zeros((2, 3, 2),
                                                                              np.int32))),
    "fractional_int_draw": lambda f, T: f.fractional_max_pool2d(
        T(np.zeros((2, 3, 8, 8), np.int32)), 2, 4),
    "fractional_complex": lambda f, T: f.fractional_max_pool2d(
        T(np.zeros((2, 3, 8, 8), np.complex64)), 2, 4),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_pool_errors(name):
    e_msg, t_msg = raises_like(lambda: ERRORS[name](F, ember.tensor),
                               lambda: ERRORS[name](TF, torch.tensor))
    assert e_msg == t_msg


@pytest.mark.parametrize("make", [
    lambda lib: lib.FractionalMaxPool2d(2), lambda lib: lib.FractionalMaxPool3d(2, 3, 0.5),
    lambda lib: lib.FractionalMaxPool2d(2, output_ratio=1.5),
    lambda lib: lib.FractionalMaxPool3d(0, output_ratio=0.5),
    lambda lib: lib.FractionalMaxPool3d((2, 0, 2), output_ratio=0.5)])
def test_pool_module_errors(make):
    e_msg, t_msg = raises_like(lambda: make(nn), lambda: make(torch.nn))
    assert e_msg == t_msg
