"""Convolutions (1d/2d/3d, transposed, groups, dilation, stride, padding strings and modes),
unfold/fold: outputs, input and parameter gradients against torch in float32 and float64,
float64 gradchecks, state_dict/repr parity, default init bounds and torch's exceptions."""
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import DTYPES, check_fn, check_module, gradcheck, raises_like, rand

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

CONV = {   # name -> (nsp, input shape, weight shape, bias, kwargs)
    "1d": (1, (2, 4, 9), (6, 4, 3), True, {}),
    "1d_stride_pad": (1, (2, 4, 9), (6, 4, 3), True, dict(stride=3, padding=2)),
    "1d_same_dil": (1, (2, 4, 9), (6, 4, 4), False, dict(padding="same", dilation=2)),
    "1d_groups": (1, (2, 4, 9), (6, 2, 3), True, dict(groups=2, padding="valid")),
    "2d": (2, (2, 3, 8, 7), (4, 3, 3, 3), True, {}),
    "2d_all": (2, (2, 4, 9, 8), (6, 2, 3, 2), True,
               dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    "2d_same_even": (2, (2, 4, 9, 8), (6, 4, 4, 3), False, dict(padding="same", dilation=(1, 2))),
    "2d_depthwise": (2, (2, 4, 7, 7), (8, 1, 3, 3), True, dict(groups=4, padding=1)),
    "2d_1x1": (2, (2, 5, 4, 6), (3, 5, 1, 1), True, {}),
    "2d_1x1_stride": (2, (2, 5, 5, 6), (3, 5, 1, 1), True, dict(stride=2)),
    "2d_unbatched": (2, (3, 8, 7), (4, 3, 3, 3), True, dict(padding=1)),
    "3d": (3, (2, 2, 5, 6, 5), (3, 2, 2, 3, 2), True, dict(padding=1, stride=(1, 2, 1))),
    # few columns per group over a long output: the per-sample column layout
    "1d_wide": (1, (2, 2, 120), (3, 2, 3), True, dict(padding="same", dilation=2)),
    "2d_wide": (2, (2, 1, 20, 19), (4, 1, 3, 3), True, {}),
    "2d_wide_all": (2, (2, 4, 24, 23), (6, 2, 2, 3), True,
                    dict(stride=(1, 2), padding=(1, 2), dilation=(2, 1), groups=2)),
    "3d_wide": (3, (1, 1, 8, 9, 8), (2, 1, 2, 2, 2), False, dict(padding=1)),
    # depthwise at stride 1: taps as shifts of the flat image
    "1d_depthwise": (1, (2, 3, 20), (3, 1, 5), True, dict(padding=2, groups=3)),
    "2d_depthwise_dil": (2, (2, 4, 9, 8), (4, 1, 3, 2), True,
                         dict(padding=(1, 2), dilation=(2, 1), groups=4)),
    "2d_depthwise_valid": (2, (3, 5, 6, 7), (5, 1, 3, 3), False, dict(groups=5)),
    "2d_depthwise_unbatched": (2, (4, 6, 6), (4, 1, 3, 3), True, dict(padding=1, groups=4)),
    "3d_depthwise": (3, (2, 3, 5, 6, 7), (3, 1, 2, 3, 2), True, dict(padding=1, groups=3)),
}
SAMPLE_MAJOR = {"1d_wide", "2d_wide", "2d_wide_all", "3d_wide"}
FULL_WIDTH = {"2d_all", "2d_depthwise", "2d_1x1", "2d_unbatched", "3d"}   # input grad, full rows
DEPTHWISE = {"1d_depthwise", "2d_depthwise_dil", "2d_depthwise_valid", "2d_depthwise_unbatched",
             "3d_depthwise"}   # ("2d_depthwise" has two outputs a channel: the general path)


@pytest.mark.parametrize("name", list(CONV))
def test_conv_table_covers_both_column_layouts(name):
    """Each case runs the column layout it is listed for (the cases above test both)."""
    from ember.nn._conv_ops import _conv as conv_op
    nsp, xs, ws, bias, kw = CONV[name]
    x = ember.tensor(rand(xs), requires_grad=True)
    y = _conv(F, nsp)(x, ember.tensor(rand(ws)), **kw)
    node = y.grad_fn
    while node.name() != "ConvolutionBackward0":      # unbatched: through the squeeze
        node = node.next_functions[0][0]
    assert node.op is conv_op
    saved = node.saved[0]
    if name in DEPTHWISE:           # the flat padded image, (N, C * per-channel length)
        assert saved.ndim == 2 and saved.shape[0] == (xs[0] if len(xs) == nsp + 2 else 1)
    else:
        assert (saved.ndim == 4) == (name in SAMPLE_MAJOR)
    if saved.ndim == 3:
        from ember.nn._conv_ops import _full_width
        _, w, padded, _, stride, _, dilation, _, _ = node.saved
        out = y.shape[-nsp:]
        assert _full_width(np, w, padded, w.shape[2:], stride, dilation, out) == \
            (name in FULL_WIDTH)


def test_conv_input_grad_with_infinite_weight():
    """An infinite weight keeps the per-row input gradient (on full-width rows, its product
    with the zero columns would spread NaN): +inf where the tap reaches, as torch."""
    w = rand((3, 2, 3, 3))
    w[0, 0, 1, 1] = np.inf
    x, tx = ember.tensor(rand((2, 2, 9, 9)), requires_grad=True), \
        torch.tensor(rand((2, 2, 9, 9)), requires_grad=True)
    F.conv2d(x, ember.tensor(w)).sum().backward()
    TF.conv2d(tx, torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def _conv(lib, nsp):
    return getattr(lib, f"conv{nsp}d")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CONV))
def test_conv_functional(name, dtype):
    nsp, xs, ws, bias, kw = CONV[name]
    inputs = [rand(xs, dtype, 1), rand(ws, dtype, 2, -0.5, 0.5)]
    if bias:
        inputs.append(rand(ws[0], dtype, 3))
    check_fn(lambda *a: _conv(F, nsp)(*a, **kw), lambda *a: _conv(TF, nsp)(*a, **kw), inputs,
             dtype)


CONV_T = {   # name -> (nsp, input shape, weight shape, bias, kwargs)
    "1d": (1, (2, 4, 5), (4, 3, 3), True, dict(stride=3, padding=1, output_padding=2)),
    "2d": (2, (2, 4, 5, 6), (4, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=1)),
    "2d_groups_dil": (2, (2, 4, 5, 6), (4, 3, 3, 2), True,
                      dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 0), groups=2,
                           dilation=(1, 2))),
    "2d_plain": (2, (2, 3, 4, 4), (3, 2, 2, 2), False, {}),
    "2d_unbatched": (2, (4, 5, 6), (4, 3, 3, 3), True, dict(stride=2)),
    "3d": (3, (2, 2, 3, 4, 3), (2, 3, 2, 3, 2), True, dict(stride=2, padding=(0, 1, 0))),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CONV_T))
def test_conv_transpose_functional(name, dtype):
    nsp, xs, ws, bias, kw = CONV_T[name]
    inputs = [rand(xs, dtype, 1), rand(ws, dtype, 2, -0.5, 0.5)]
    if bias:
        inputs.append(rand(ws[1] * kw.get("groups", 1), dtype, 3))
    name = f"conv_transpose{nsp}d"
    check_fn(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw),
             inputs, dtype)


def test_conv_only_needed_grads():
    """A frozen weight or an input without grad gets no gradient (needs_mask)."""
    x = ember.tensor(rand((2, 3, 6, 6)))
    w = ember.tensor(rand((4, 3, 3, 3)), requires_grad=True)
    b = ember.tensor(rand(4))
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None and w.grad is not None
    assert F.conv2d(x, w).grad_fn.name() == "ConvolutionBackward0"


def test_conv_on_device(device):
    x = ember.tensor(rand((2, 3, 6, 5)), device=device, requires_grad=True)
    w = ember.tensor(rand((4, 3, 3, 3)), device=device, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.device == x.device
    y.sum().backward()
    tx, tw = torch.tensor(rand((2, 3, 6, 5)), requires_grad=True), \
        torch.tensor(rand((4, 3, 3, 3)), requires_grad=True)
    TF.conv2d(tx, tw, padding=1).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["2d_all", "1d_same_dil", "3d", "2d_wide_all", "3d_wide",
                                  "2d_depthwise_dil", "3d_depthwise"])
def test_conv_gradcheck(name):
    nsp, xs, ws, bias, kw = CONV[name]
    gradcheck(lambda x, w, b: _conv(F, nsp)(x, w, b, **kw),
              [rand(xs, "float64"), rand(ws, "float64"), rand(ws[0], "float64")])


def test_conv_transpose_gradcheck():
    nsp, xs, ws, _, kw = CONV_T["2d_groups_dil"]
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
              [rand(xs, "float64"), rand(ws, "float64"), rand(6, "float64")])


@pytest.mark.parametrize("fn", [
    lambda f, x: f.conv2d(x, x.new_ones((4, 3, 3, 3))),
    lambda f, x: f.conv_transpose2d(x, x.new_ones((3, 4, 3, 3))),
    lambda f, x: f.unfold(x, 2), lambda f, x: f.max_pool2d(x, 2, return_indices=True)[1],
    lambda f, x: f.adaptive_max_pool2d(x, 2), lambda f, x: f.group_norm(x, 3),
    lambda f, x: f.interpolate(x, scale_factor=2, mode="bilinear")])
def test_empty_batch(fn):
    e, t = fn(F, ember.zeros(0, 3, 5, 5)), fn(TF, torch.zeros(0, 3, 5, 5))
    assert tuple(e.shape) == tuple(t.shape) and e.dtype == getattr(ember, str(t.dtype)[6:])


def test_integer_conv():
    x, w = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5), np.ones((2, 3, 2, 2), np.int64)
    check_fn(F.conv2d, TF.conv2d, [x, w], grad=False)


# ---- unfold / fold --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(2, 1),
                                                          padding=1, stride=(1, 2))])
def test_unfold(kw, dtype):
    check_fn(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw),
             [rand((2, 3, 7, 8), dtype)], dtype)
    check_fn(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw),
             [rand((3, 7, 8), dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fold(dtype):
    kw = dict(output_size=(5, 6), kernel_size=2, padding=(0, 1), stride=(1, 2))
    check_fn(lambda x: F.fold(x, **kw), lambda x: TF.fold(x, **kw), [rand((2, 12, 16), dtype)],
             dtype)
    check_fn(lambda x: F.fold(x, **kw), lambda x: TF.fold(x, **kw), [rand((12, 16), dtype)],
             dtype)
    gradcheck(lambda x: F.fold(x, **kw), [rand((2, 12, 16), "float64")])


def test_fold_modules():
    for e, t, shape in ((nn.Unfold((2, 3), padding=1), torch.nn.Unfold((2, 3), padding=1),
                         (2, 3, 5, 5)),
                        (nn.Fold((4, 5), 2), torch.nn.Fold((4, 5), 2), (2, 8, 12))):
        assert repr(e) == repr(t)
        check_module(e, t, [rand(shape)])


# ---- modules --------------------------------------------------------------------------------
MODULES = {   # name -> (constructor args, kwargs, input shape)
    "Conv1d": ((4, 6, 3), dict(stride=2, padding=1), (2, 4, 9)),
    "Conv2d": ((3, 4, 3), {}, (2, 3, 7, 6)),
    "Conv2d_all": ((4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 2), dilation=2, groups=2,
                                        bias=False), (2, 4, 9, 8)),
    "Conv2d_reflect": ((3, 4, 3), dict(padding=(1, 2), padding_mode="reflect"), (2, 3, 7, 6)),
    "Conv2d_replicate": ((3, 4, 3), dict(padding=2, padding_mode="replicate"), (2, 3, 7, 6)),
    "Conv2d_circular": ((3, 4, 3), dict(padding=1, padding_mode="circular", stride=2),
                        (2, 3, 7, 6)),
    "Conv2d_same_circular": ((3, 4, 4), dict(padding="same", padding_mode="circular"),
                             (2, 3, 7, 6)),
    "Conv1d_same_reflect": ((3, 4, 4), dict(padding="same", padding_mode="reflect",
                                            dilation=2), (2, 3, 9)),
    "Conv2d_unbatched": ((3, 4, 3), dict(padding=1), (3, 5, 6)),
    "Conv3d": ((2, 3, 2), dict(padding=1, padding_mode="replicate"), (2, 2, 4, 5, 4)),
    "ConvTranspose1d": ((4, 3, 3), dict(stride=2, output_padding=1), (2, 4, 5)),
    "ConvTranspose2d": ((4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=1), (2, 4, 5, 6)),
    "ConvTranspose2d_nobias": ((3, 2, (2, 3)), dict(bias=False, dilation=(2, 1)), (2, 3, 4, 4)),
    "ConvTranspose3d": ((2, 3, 2), dict(stride=2), (2, 2, 3, 3, 2)),
}


def _pair_modules(name):
    args, kw, shape = MODULES[name]
    cls = name.split("_")[0]
    return getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw), shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODULES))
def test_conv_module(name, dtype):
    e, t, shape = _pair_modules(name)
    assert repr(e) == repr(t)
    check_module(e, t, [rand(shape, dtype)], dtype)


@pytest.mark.parametrize("name", list(MODULES))
def test_conv_module_state_and_init(name):
    e, t, _ = _pair_modules(name)
    e_sd, t_sd = e.state_dict(), t.state_dict()
    assert list(e_sd) == list(t_sd)
    for k in t_sd:
        assert tuple(e_sd[k].shape) == tuple(t_sd[k].shape)
        assert e_sd[k].dtype == ember.float32
    w = e.weight.detach().numpy()
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    bound = 1 / math.sqrt(fan_in)        # kaiming_uniform_(a=sqrt(5))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert abs(w.mean()) < 0.5 * bound
    if e.bias is not None:
        assert np.abs(e.bias.detach().numpy()).max() <= bound
    assert e.weight.requires_grad and isinstance(e.weight, nn.Parameter)


def test_conv_transpose_output_size():
    e, t = nn.ConvTranspose2d(3, 2, 3, stride=2), torch.nn.ConvTranspose2d(3, 2, 3, stride=2)
    check_module(e, t, [rand((1, 3, 4, 4))])
    x = rand((1, 3, 4, 4))
    ye = e(ember.tensor(x), output_size=[10, 10])
    yt = t(torch.tensor(x), output_size=[10, 10])
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    raises_like(lambda: e(ember.tensor(x), output_size=[12, 12]),
                lambda: t(torch.tensor(x), output_size=[12, 12]))


def test_conv_module_dtype_device():
    m = nn.Conv2d(2, 3, 3, dtype=ember.float64)
    assert m.weight.dtype == ember.float64 and m.bias.dtype == ember.float64
    assert m(ember.zeros(1, 2, 4, 4, dtype=ember.float64)).dtype == ember.float64


# ---- errors ---------------------------------------------------------------------------------
def _x(*shape):
    return rand(shape)


ERRORS = {
    "channels": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 2, 3, 3))),
    "groups_channels": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)), groups=2),
    "groups_out": lambda f, T: f.conv2d(T(_x(2, 4, 8, 8)), T(_x(3, 2, 3, 3)), groups=2),
    "rank_5d": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8, 1)), T(_x(4, 3, 3, 3))),
    "rank_1d": lambda f, T: f.conv2d(T(_x(8)), T(_x(4, 3, 3, 3))),
    "rank_conv1d": lambda f, T: f.conv1d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3))),
    "kernel_too_big": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 9, 9))),
    "stride0": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)), stride=0),
    "neg_padding": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)), padding=-1),
    "same_strided": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)),
                                          padding="same", stride=2),
    "bad_padding_string": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)),
                                                padding="foo"),
    "bias_size": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)), T(_x(3))),
    "dilation0": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3)), dilation=0),
    "dtype_mismatch": lambda f, T: f.conv2d(T(_x(2, 3, 8, 8)), T(_x(4, 3, 3, 3).astype(
        np.float64))),
    "transpose_channels": lambda f, T: f.conv_transpose2d(T(_x(2, 3, 8, 8)),
                                                          T(_x(4, 3, 3, 3))),
    "transpose_output_padding": lambda f, T: f.conv_transpose2d(
        T(_x(2, 3, 8, 8)), T(_x(3, 3, 3, 3)), output_padding=2),
    "transpose_padding_str": lambda f, T: f.conv_transpose2d(
        T(_x(2, 3, 8, 8)), T(_x(3, 3, 3, 3)), padding="same"),
    "transpose_groups": lambda f, T: f.conv_transpose2d(T(_x(2, 3, 8, 8)), T(_x(3, 3, 3, 3)),
                                                        groups=2),
    "zero_out_channels": lambda f, T: f.conv2d(T(_x(2, 3, 5, 5)), T(_x(0, 3, 3, 3))),
    "unfold_rank": lambda f, T: f.unfold(T(_x(2, 3, 4, 4, 4)), 2),
    "unfold_blocks": lambda f, T: f.unfold(T(_x(2, 3, 8, 8)), 9),
    "fold_blocks": lambda f, T: f.fold(T(_x(2, 12, 8)), (4, 4), 2),
    "fold_divisible": lambda f, T: f.fold(T(_x(2, 13, 9)), (4, 4), 2),
    "fold_rank": lambda f, T: f.fold(T(_x(1, 2, 12, 9)), (4, 4), 2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_conv_errors(name):
    e_msg, t_msg = raises_like(lambda: ERRORS[name](F, ember.tensor),
                               lambda: ERRORS[name](TF, torch.tensor))
    assert e_msg == t_msg


MODULE_ERRORS = {
    "in_groups": lambda n: n.Conv2d(3, 4, 3, groups=2),
    "out_groups": lambda n: n.Conv2d(4, 3, 3, groups=2),
    "groups0": lambda n: n.Conv2d(4, 4, 3, groups=0),
    "padding_mode": lambda n: n.Conv2d(4, 4, 3, padding_mode="foo"),
    "same_strided": lambda n: n.Conv2d(4, 4, 3, padding="same", stride=2),
    "padding_string": lambda n: n.Conv2d(4, 4, 3, padding="full"),
    "transpose_mode": lambda n: n.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
}


def _sorted_sets(msg):
    """torch prints Python sets, whose order depends on the process: compare them sorted."""
    return re.sub(r"\{([^}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
                  msg)


@pytest.mark.parametrize("name", list(MODULE_ERRORS))
def test_conv_module_errors(name):
    e_msg, t_msg = raises_like(lambda: MODULE_ERRORS[name](nn),
                               lambda: MODULE_ERRORS[name](torch.nn))
    assert _sorted_sets(e_msg) == _sorted_sets(t_msg)


def test_conv_module_wrong_input():
    e, t = nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    for shape in ((2, 5, 8, 8), (2, 3, 8), (3, 8)):
        e_msg, t_msg = raises_like(lambda: e(ember.tensor(_x(*shape))),
                                   lambda: t(torch.tensor(_x(*shape))))
        assert e_msg == t_msg


# ---- double backward (create_graph) through the fused primitives of this family ---------------
DOUBLE = {
    "conv2d": (lambda f, x, w: f.conv2d(x, w, padding=1, stride=2, groups=1), [(2, 3, 5, 5),
                                                                              (4, 3, 3, 3)]),
    "conv2d_wide": (lambda f, x, w: f.conv2d(x, w, padding=1, groups=2), [(2, 4, 12, 12),
                                                                           (4, 2, 2, 2)]),
    "conv2d_depthwise": (lambda f, x, w: f.conv2d(x, w, padding=(1, 0), groups=3),
                         [(2, 3, 5, 6), (3, 1, 3, 2)]),
    "conv_transpose2d": (lambda f, x, w: f.conv_transpose2d(x, w, stride=2), [(2, 3, 4, 4),
                                                                              (3, 2, 3, 3)]),
    "unfold": (lambda f, x: f.unfold(x, 2, padding=1), [(2, 3, 4, 4)]),
    "max_pool2d": (lambda f, x: f.max_pool2d(x, 2), [(2, 3, 4, 4)]),
    "avg_pool2d": (lambda f, x: f.avg_pool2d(x, 3, 1, 1), [(2, 3, 4, 4)]),
    "adaptive_avg": (lambda f, x: f.adaptive_avg_pool2d(x, 3), [(2, 3, 4, 4)]),
    "layer_norm": (lambda f, x, w: f.layer_norm(x, (4,), w), [(2, 3, 4, 4), (4,)]),
    "batch_norm": (lambda f, x, w: f.batch_norm(x, None, None, w, None, True), [(2, 3, 4, 4),
                                                                                (3,)]),
    "group_norm": (lambda f, x, w: f.group_norm(x, 3, w), [(2, 3, 4, 4), (3,)]),
    "bicubic": (lambda f, x: f.interpolate(x, scale_factor=2, mode="bicubic"), [(2, 3, 4, 4)]),
    "reflect_pad": (lambda f, x: f.pad(x, (1, 2, 2, 1), mode="reflect"), [(2, 3, 4, 4)]),
}


@pytest.mark.parametrize("name", list(DOUBLE))
def test_double_backward(name):
    fn, shapes = DOUBLE[name]
    arrays = [rand(s, "float64", i) for i, s in enumerate(shapes)]
    grads = []
    for lib, f in ((ember, F), (torch, TF)):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        gs = lib.autograd.grad((fn(f, *xs) ** 3).sum(), xs, create_graph=True)
        sum((g * g).sum() for g in gs).backward()
        grads.append([x.grad for x in xs])
    for e, t in zip(*grads):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-9, atol=1e-9)
