"""Quantization flows ordinary programs use, against torch 2.13 (CPU, x86 engine): dynamic
quantization (quantize_dynamic), eager static quantization (fuse_modules, prepare, calibration,
convert) and the quantized modules' forwards, saving and loading."""
import io
import warnings

import numpy as np
import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch's (and ember's) deprecations of quantization
        yield


def _same(a, b):
    """Two float tensors with the same values, bit for bit."""
    assert (str(a.dtype), tuple(a.shape)) == (str(b.dtype), tuple(b.shape))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _same_q(a, b):
    """Two quantized tensors: repr, integers, parameters."""
    assert repr(a) == repr(b)
    assert a.int_repr().tolist() == b.int_repr().tolist()
    assert a.stride() == b.stride()


# ---- dynamic quantization -----------------------------------------------------------------------
def _mlp(lib, sizes=(6, 5, 3), bias=True, seed=0):
    lib.manual_seed(seed)
    nn = lib.nn
    return nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(),
                         nn.Linear(sizes[1], sizes[2], bias=bias))


def _dynamic(lib, qconfig=None, **kw):
    m = _mlp(lib, **kw)
    spec = {lib.nn.Linear} if qconfig is None else {
        lib.nn.Linear: getattr(lib.ao.quantization, qconfig)}
    return lib.ao.quantization.quantize_dynamic(m, spec, dtype=lib.qint8)


def test_quantize_dynamic_module_repr_weight_and_bias():
    t, e = _dynamic(torch, bias=False), _dynamic(ember, bias=False)
    assert repr(e) == repr(t)
    assert type(e[0]) is ember.ao.nn.quantized.dynamic.Linear
    for i in (0, 2):
        _same_q(t[i].weight(), e[i].weight())
    assert repr(e[0].bias()) == repr(t[0].bias())
    assert e[2].bias() is None and t[2].bias() is None
    assert isinstance(e[1], ember.nn.ReLU)


def test_quantize_dynamic_state_dict():
    t, e = _dynamic(torch), _dynamic(ember)
    st, se = t.state_dict(), e.state_dict()
    assert list(se) == list(st)
    for k in st:
        if isinstance(st[k], tuple):
            assert repr(se[k]) == repr(st[k])
        else:
            assert repr(se[k]) == repr(st[k]), k


@pytest.mark.parametrize("shape,sizes,scale", [((5, 6), (6, 5, 3), 1.0),
                                               ((2, 3, 6), (6, 5, 3), 4.0),
                                               ((33, 70), (70, 40, 9), 0.3),
                                               ((1, 6), (6, 5, 3), 1e-3)])
@pytest.mark.parametrize("qconfig", [None, "per_channel_dynamic_qconfig"])
def test_dynamic_linear_forward_bit_for_bit(shape, sizes, scale, qconfig):
    t, e = _dynamic(torch, qconfig, sizes=sizes), _dynamic(ember, qconfig, sizes=sizes)
    x = (np.random.default_rng(sum(shape)).standard_normal(shape) * scale + 0.1).astype(
        np.float32)
    _same(t(torch.from_numpy(x)), e(ember.from_numpy(x)))


def test_dynamic_linear_nonnegative_and_constant_inputs():
    t, e = _dynamic(torch), _dynamic(ember)
    for x in (np.abs(np.random.default_rng(3).standard_normal((4, 6))),
              np.zeros((2, 6)), np.full((2, 6), -2.5)):
        x = x.astype(np.float32)
        _same(t(torch.from_numpy(x)), e(ember.from_numpy(x)))


def test_dynamic_state_dict_round_trips_between_torch_and_ember():
    t, e = _dynamic(torch), _dynamic(ember)
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    for src, src_lib, dst_lib in ((t, torch, ember), (e, ember, torch)):
        buf = io.BytesIO()
        src_lib.save(src.state_dict(), buf)
        buf.seek(0)
        fresh = _dynamic(dst_lib, sizes=(6, 5, 3), seed=7)
        fresh.load_state_dict(dst_lib.load(buf))
        _same(t(torch.from_numpy(x)), fresh(dst_lib.from_numpy(x)))


def test_dynamic_whole_model_save_load():
    e = _dynamic(ember)
    buf = io.BytesIO()
    ember.save(e, buf)
    buf.seek(0)
    back = ember.load(buf, weights_only=False)
    x = ember.randn(2, 6)
    _same(e(x), back(x))
    assert repr(back) == repr(e)


def test_old_names_and_deprecation_warning():
    assert ember.quantization.quantize_dynamic is ember.ao.quantization.quantize_dynamic
    assert ember.nn.quantized.dynamic.Linear is ember.ao.nn.quantized.dynamic.Linear
    assert ember.nn.quantized.Linear is ember.ao.nn.quantized.Linear
    got = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _dynamic(lib)
        got.append([(x.category, str(x.message)) for x in w
                    if issubclass(x.category, DeprecationWarning)])
    assert got[1] == got[0] and got[0]
