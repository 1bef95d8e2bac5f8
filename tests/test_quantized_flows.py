"""Quantization flows ordinary programs use, against torch 2.13 (CPU, x86 engine): dynamic
quantization (quantize_dynamic), eager static quantization (fuse_modules, prepare, calibration,
convert) and the quantized modules' forwards, saving and loading."""
import copy
import io
import re
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


# ---- eager static quantization ------------------------------------------------------------------
def _linear_model(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.fc1 = nn.Linear(6, 8)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(8, 3)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))
    lib.manual_seed(0)
    return M().eval()


def _calibrated(lib, build, qconfig, fuse, data):
    m = build(lib)
    m.qconfig = getattr(lib.ao.quantization, qconfig)
    fused = lib.ao.quantization.fuse_modules(m, fuse)
    prepared = lib.ao.quantization.prepare(fused)
    texts = [repr(fused), repr(prepared)]
    for x in data:
        prepared(lib.from_numpy(x))
    texts.append(repr(prepared))
    converted = lib.ao.quantization.convert(prepared)
    return texts, converted


def _take_torchs_qparams(ct, ce):
    """ce (converted by ember) given ct's state (converted by torch), after checking that their
    quantization parameters agree to float32 rounding: the float layers that calibrate differ
    from torch's (MKL's, oneDNN's) in the last bits."""
    st, se = ct.state_dict(), ce.state_dict()
    assert list(se) == list(st)
    for k in st:
        if k.endswith("scale"):
            np.testing.assert_allclose(se[k].numpy(), st[k].numpy(), rtol=1e-6)
    buf = io.BytesIO()
    torch.save(st, buf)
    buf.seek(0)
    ce.load_state_dict(ember.load(buf))
    assert [repr(v) for v in ce.state_dict().values()] == [repr(v) for v in st.values()]


@pytest.mark.parametrize("qconfig", ["default_qconfig", "default_per_channel_qconfig"])
def test_static_linear_flow_bit_for_bit(qconfig):
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((4, 6)).astype(np.float32) * s for s in (1, 2, 0.5)]
    (tt, ct), (te, ce) = [_calibrated(lib, _linear_model, qconfig, [["fc1", "relu"]], data)
                          for lib in (torch, ember)]
    assert te[:2] == tt[:2]
    assert type(ce.fc1) is ember.ao.nn.intrinsic.quantized.LinearReLU
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal((5, 6)).astype(np.float32) * 1.5
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))


def _conv_model(lib, pool):
    nn, aq = lib.nn, lib.ao.quantization

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 1, bias=False)
            self.ff = nn.quantized.FloatFunctional()
            self.pool = nn.AdaptiveAvgPool2d(1) if pool == "avg" else nn.MaxPool2d(8)
            self.fc = nn.Linear(4, 5)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.relu(self.bn(self.conv(self.quant(x))))
            x = self.ff.add(x, self.conv2(x))
            return self.dequant(self.fc(lib.flatten(self.pool(x), 1)))
    lib.manual_seed(0)
    m = M()
    m.bn.running_mean.uniform_(-0.5, 0.5)
    m.bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_static_conv_flow(pool):
    """fuse (conv-bn-relu folded), prepare and convert print as torch's; the converted model
    (given torch's quantization parameters: the float convolutions that calibrate differ from
    torch's in the last bits) computes torch's numbers bit for bit."""
    rng = np.random.default_rng(1)
    data = [rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(2)]
    (tt, ct), (te, ce) = [_calibrated(lib, lambda l: _conv_model(l, pool), "default_qconfig",
                                      [["conv", "bn", "relu"]], data) for lib in (torch, ember)]
    assert te[:2] == tt[:2]
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))
    qt = ct.quant(torch.from_numpy(x))
    qe = ce.quant(ember.from_numpy(x))
    _same_q(ct.conv(qt), ce.conv(qe))


def _qconv_case(lib, rng_seed, stride, padding, dilation, groups, wzp, per_channel, bias,
                dims=2):
    rng = np.random.default_rng(rng_seed)
    x = rng.standard_normal((2, 4, 9, 7) if dims == 2 else (2, 4, 5, 6, 4)).astype(np.float32)
    w = (rng.standard_normal((6, 4 // groups) + (3,) * dims) * 0.3).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xq = lib.quantize_per_tensor(lib.from_numpy(x), 0.031, 117, lib.quint8)
    if per_channel:
        wq = lib.quantize_per_channel(lib.from_numpy(w),
                                      lib.from_numpy(np.linspace(0.002, 0.02, 6)),
                                      lib.from_numpy(np.full(6, wzp)), 0, lib.qint8)
    else:
        wq = lib.quantize_per_tensor(lib.from_numpy(w), 0.0123, wzp, lib.qint8)
    conv = getattr(lib.ao.nn.quantized, f"Conv{dims}d")(
        4, 6, 3, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    conv.set_weight_bias(wq, lib.from_numpy(b) if bias else None)
    conv.scale, conv.zero_point = 0.0731, 101
    return conv, conv(xq)


@pytest.mark.parametrize("case", [(1, 1, 1, 1, 0, False, True), (2, 0, 1, 2, 0, True, True),
                                  (1, 1, 2, 1, 0, True, False), (1, 1, 1, 1, -3, False, True),
                                  (2, 1, 1, 1, 2, True, False)])
def test_quantized_conv2d_bit_for_bit(case):
    (mt, yt), (me, ye) = [_qconv_case(lib, 7, *case) for lib in (torch, ember)]
    assert repr(me) == repr(mt)
    _same_q(yt, ye)


@pytest.mark.parametrize("case", [(2, 0, 1, 2, 0, True, True), (1, 1, 2, 1, 0, True, False),
                                  (1, 1, 1, 1, -3, False, True)])
def test_quantized_conv3d_bit_for_bit(case):
    """quantized Conv3d (oneDNN's rounding for symmetric weights, fbgemm's otherwise): repr,
    output (channels last 3d), and its state_dict loaded both ways."""
    (mt, yt), (me, ye) = [_qconv_case(lib, 9, *case, dims=3) for lib in (torch, ember)]
    assert repr(me) == repr(mt)
    _same_q(yt, ye)
    _same_q_module_states(mt, me)


def _same_q_module_states(mt, me):
    """Each module given the other's state_dict (torch.save -> ember.load and back) is the
    other: repr, keys, values (quantized ones with their integers)."""
    buf = io.BytesIO()
    torch.save(mt.state_dict(), buf)
    buf.seek(0)
    me2 = copy.deepcopy(me)
    me2.load_state_dict(ember.load(buf))
    buf = io.BytesIO()
    ember.save(me.state_dict(), buf)
    buf.seek(0)
    mt2 = copy.deepcopy(mt)
    mt2.load_state_dict(torch.load(buf))
    assert repr(me2) == repr(mt2)
    st, se = mt2.state_dict(), me2.state_dict()
    assert list(se) == list(st)
    for k, v in st.items():
        assert repr(se[k]) == repr(v)
        if isinstance(v, torch.Tensor) and v.is_quantized:
            assert se[k].int_repr().tolist() == v.int_repr().tolist()


@pytest.mark.parametrize("n", [100, 1000, 40000])
@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
@pytest.mark.parametrize("scales", [(0.25, 0.125, 0.5), (0.02, 0.013, 0.037)])
def test_qfunctional_add_and_add_relu(n, dtype, scales):
    """Halfway cases round as torch's vectorized loop does (zero point added after rounding)
    and as its scalar tail does (before), thread by thread."""
    rng = np.random.default_rng(n)
    a = rng.integers(-20, 20, n).astype(np.float32) * 0.25
    b = rng.integers(-20, 20, n).astype(np.float32) * 0.125
    zps = (130, 61, 77) if dtype == "quint8" else (-3, 5, -61)
    out = []
    for lib in (torch, ember):
        f = lib.ao.nn.quantized.QFunctional()
        f.scale, f.zero_point = scales[2], zps[2]
        qa, qb = (lib.quantize_per_tensor(lib.from_numpy(v), s, z, getattr(lib, dtype))
                  for v, s, z in ((a, scales[0], zps[0]), (b, scales[1], zps[1])))
        out.append((repr(f), f.add(qa, qb), f.add_relu(qa, qb)))
    assert out[1][0] == out[0][0]
    _same_q(out[0][1], out[1][1])
    _same_q(out[0][2], out[1][2])


def test_static_model_saved_size_and_reload():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((4, 6)).astype(np.float32)]
    sizes, models = [], []
    for lib in (torch, ember):
        _, c = _calibrated(lib, _linear_model, "default_qconfig", [["fc1", "relu"]], data)
        buf = io.BytesIO()
        lib.save(c.state_dict(), buf)
        sizes.append(buf.tell())
        buf.seek(0)
        _, fresh = _calibrated(lib, _linear_model, "default_qconfig", [["fc1", "relu"]],
                               [d * 3 for d in data])
        fresh.load_state_dict(lib.load(buf))
        models.append(fresh)
    assert sizes[1] == sizes[0]
    x = rng.standard_normal((2, 6)).astype(np.float32)
    _same(models[0](torch.from_numpy(x)), models[1](ember.from_numpy(x)))


# ---- ops on quantized tensors -------------------------------------------------------------------
def _outcome(f):
    """f()'s quantized result as repr, integers and strides (a plain tensor as repr, a tuple
    item by item), or its exception's class and message."""
    try:
        r = f()
    except Exception as e:      # noqa: BLE001  (the class and message are compared)
        return type(e).__name__, str(e).split(" This could be")[0]
    if isinstance(r, tuple):
        return [_outcome(lambda v=v: v) for v in r]
    if not isinstance(r, (torch.Tensor, ember.Tensor)):
        return repr(r)
    if r.is_quantized:
        return repr(r), r.int_repr().tolist(), r.stride()
    return repr(r), r.stride()


_X = np.array([[-1.0, 0.3, 2.5, 0.7, 0.2, -0.4, 1.1, 3.0, 0.15, -0.05, 1.95, 2.05]] * 2,
              np.float32).reshape(2, 3, 2, 2) * np.array([1, -0.5], np.float32).reshape(2, 1, 1, 1)


def _q(lib, dtype="quint8", per_channel=False, channels_last=False):
    x = lib.from_numpy(_X.copy())
    if channels_last:
        x = x.contiguous(memory_format=lib.channels_last)
    if per_channel:
        return lib.quantize_per_channel(x, lib.tensor([0.1, 0.2, 0.05], dtype=lib.float64),
                                        lib.tensor([1, 2, 0]), 1, getattr(lib, dtype))
    return lib.quantize_per_tensor(x, 0.1, 10 if dtype == "quint8" else -3, getattr(lib, dtype))


def _float(lib, q, a):
    """Float tensor of `a` laid out as q (torch's result of a comparison with mixed layouts
    follows the first operand's; ember's the contiguous one's, for every dtype)."""
    t = lib.from_numpy(a.copy())
    if q.dim() == 4 and q.is_contiguous(memory_format=lib.channels_last) and \
            not q.is_contiguous():
        t = t.contiguous(memory_format=lib.channels_last)
    return t


_OPS = {
    "max_pool2d": lambda lib, q: lib.nn.functional.max_pool2d(q, 2),
    "max_pool2d_pad_ceil": lambda lib, q: lib.nn.functional.max_pool2d(q, 2, 1, 1,
                                                                       ceil_mode=True),
    "max_pool2d_indices": lambda lib, q: lib.nn.functional.max_pool2d(q, 2,
                                                                      return_indices=True),
    "MaxPool2d": lambda lib, q: lib.nn.MaxPool2d(2, stride=1)(q),
    "clamp": lambda lib, q: (lib.clamp(q, -0.5, 1.0),    # tensor bounds: refused as torch's
                             _outcome(lambda: lib.clamp(q, lib.tensor(0.1), lib.tensor(0.5)))),
    "clamp_max": lambda lib, q: q.clamp(max=0.55),
    "clamp_min": lambda lib, q: q.clamp(min=0.25),
    "hardtanh": lambda lib, q: lib.nn.functional.hardtanh(q),
    "relu6": lambda lib, q: lib.nn.functional.relu6(q),
    "ReLU6": lambda lib, q: lib.nn.ReLU6()(q),
    "sigmoid": lambda lib, q: lib.sigmoid(q),
    "tanh": lambda lib, q: lib.tanh(q),
    "tanh_": lambda lib, q: q.tanh_(),
    "hardsigmoid": lambda lib, q: lib.nn.functional.hardsigmoid(q),
    "hardsigmoid_": lambda lib, q: (lib.nn.functional.hardsigmoid(q, inplace=True), q),
    "leaky_relu": lambda lib, q: lib.nn.functional.leaky_relu(q, 0.1),
    "leaky_relu_": lambda lib, q: (lib.nn.functional.leaky_relu_(q, 0.3), q),
    "LeakyReLU": lambda lib, q: lib.nn.LeakyReLU(0.2, inplace=True)(q),
    "topk": lambda lib, q: lib.topk(q.reshape(-1), 5),
    "topk_smallest": lambda lib, q: lib.topk(q.reshape(2, -1), 4, largest=False),
    "eq_float": lambda lib, q: (q == _float(lib, q, _X),    # arithmetic: refused as torch's
                                _outcome(lambda: q + _float(lib, q, _X))),
    "ge_float_first": lambda lib, q: _float(lib, q, _X) >= q,
    "lt_double": lambda lib, q: q < _float(lib, q, _X.astype(np.float64) * 1.01),
    "ne_int": lambda lib, q: q != _float(lib, q, np.ones((2, 3, 2, 2), np.int64)),
    "gt_broadcast": lambda lib, q: lib.gt(q, lib.tensor([0.2, 0.0])),
    "eq_bad_shape": lambda lib, q: q == lib.zeros(3),
    "zeros_like": lambda lib, q: lib.zeros_like(q),
    "empty_like": lambda lib, q: (lambda e: (e.q_scale(), e.q_zero_point(), e.dtype,
                                             e.shape, e.stride()))(lib.empty_like(q)),
    "ones_like": lambda lib, q: lib.ones_like(q),
    "full_like": lambda lib, q: lib.full_like(q, 0.75),
    # in-place ops torch refuses where its out-of-place op computes (no quantized .out kernel)
    "sigmoid_": lambda lib, q: (q.sigmoid_(), q),
    "torch.sigmoid_": lambda lib, q: lib.sigmoid_(q),
    "clamp_": lambda lib, q: q.clamp_(-0.5, 1.0),
    "clamp_ints": lambda lib, q: q.clamp_(0, 1),
    "clamp_no_bounds": lambda lib, q: q.clamp_(),
    "torch.clip_": lambda lib, q: lib.clip_(q, max=1),
    "clamp_min_": lambda lib, q: q.clamp_min_(0.25),
    "clamp_min_int": lambda lib, q: q.clamp_min_(0),
    "clamp_max_int": lambda lib, q: q.clamp_max_(1),
    "nan_to_num_": lambda lib, q: q.nan_to_num_(),
    "nan_to_num": lambda lib, q: lib.nan_to_num(q),
    "index_fill_": lambda lib, q: q.index_fill_(1, lib.tensor([0, 2]), 0.5),
    "index_fill": lambda lib, q: q.index_fill(0, lib.tensor([1]), 0.5),
    "masked_fill_": lambda lib, q: q.masked_fill_(lib.from_numpy(_X > 1), 0.5),
    "masked_fill": lambda lib, q: q.masked_fill(lib.from_numpy(_X < 0), -0.25),
}


@pytest.mark.parametrize("name", sorted(_OPS))
@pytest.mark.parametrize("kind", ["quint8", "qint8", "per_channel", "channels_last"])
def test_ops_on_quantized_tensors(name, kind):
    def run(lib):
        q = _q(lib, "qint8" if kind == "qint8" else "quint8", kind == "per_channel",
               kind == "channels_last")
        return _outcome(lambda: _OPS[name](lib, q))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("fn", ["sigmoid", "tanh", "hardsigmoid"])
def test_quantized_fixed_range_functions_match_torch_over_the_range(fn):
    """Every integer of a few input scales, tiled past 32768 elements (torch's vector and
    scalar lanes, split among threads): the fixed output parameters and integers as torch's."""
    for dtype, zp, scale in (("quint8", 131, 0.071), ("qint8", 0, 0.071), ("quint8", 0, 0.0371),
                             ("qint8", -3, 0.021)):
        ints = np.arange(256) - (0 if dtype == "quint8" else 128)
        x = np.tile(((ints - zp) * scale).astype(np.float32), 160)
        got = [getattr(lib, fn, None) or getattr(lib.nn.functional, fn) for lib in (torch, ember)]
        got = [f(lib.quantize_per_tensor(lib.from_numpy(x), scale, zp, getattr(lib, dtype)))
               for f, lib in zip(got, (torch, ember))]
        _same_q(*got)


@pytest.mark.parametrize("fn", ["sigmoid", "tanh", "hardsigmoid"])
def test_quantized_fixed_range_functions_qint32(fn):
    """qint32 inputs: torch's fixed output parameters (steps of 2**-32 from 0 for sigmoid and
    hardsigmoid, 2**-31 for tanh; values from 0.5 (sigmoid) or 1 (tanh) up saturate at
    INT32_MAX), hardsigmoid's integers bit for bit; sigmoid's and tanh's to float32 rounding of
    the function (torch's exp / tanh and NumPy's differ in the last bit, which 2**32 steps
    show)."""
    x = np.linspace(-12, 12, 40, dtype=np.float32)
    got = []
    for lib in (torch, ember):
        f = getattr(lib, fn, None) or getattr(lib.nn.functional, fn)
        got.append(f(lib.quantize_per_tensor(lib.from_numpy(x), 0.01, 5, lib.qint32)))
    t, e = got
    assert (str(e.dtype), e.q_scale(), e.q_zero_point(), e.stride()) == \
        (str(t.dtype), t.q_scale(), t.q_zero_point(), t.stride())
    ti, ei = t.int_repr().numpy(), e.int_repr().numpy()
    if fn == "hardsigmoid":
        np.testing.assert_array_equal(ei, ti)
    else:
        np.testing.assert_allclose(ei, ti, rtol=2.5e-7, atol=0)
        assert (ei == ti).mean() > 0.5


# ---- histogram observer, default qconfigs, engines ----------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"reduce_range": True}, {"bins": 256},
                                {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}])
def test_histogram_observer(kw):
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 50)).astype(np.float32) * s + o
               for s, o in ((1, 0), (2, 0.5), (0.5, -1), (0.5, -1), (3, 0.2))]
    out = []
    for lib in (torch, ember):
        o = lib.ao.quantization.HistogramObserver(
            **{k: getattr(lib, v) if k in ("dtype", "qscheme") else v for k, v in kw.items()})
        texts = [repr(o)]
        for b in batches:
            o(lib.from_numpy(b))
        scale, zp = o.calculate_qparams()
        out.append((texts + [repr(o)], o.histogram.numpy().copy(), scale.numpy(), zp.numpy()))
    assert out[1][0] == out[0][0]
    for t, e in zip(out[0][1:], out[1][1:]):
        assert t.dtype == e.dtype
        np.testing.assert_array_equal(t, e)


@pytest.mark.parametrize("backend", ["x86", "fbgemm", "qnnpack", "onednn"])
def test_get_default_qconfig(backend):
    assert repr(ember.ao.quantization.get_default_qconfig(backend)).replace("ember", "torch") == \
        repr(torch.ao.quantization.get_default_qconfig(backend))


def test_static_flow_with_the_x86_default_qconfig():
    """The tutorials' recipe: get_default_qconfig('x86') (histogram-observed activations,
    per-channel weights), prepare, calibrate, convert."""
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((8, 6)).astype(np.float32) * s for s in (1, 2)]
    out = []
    for lib in (torch, ember):
        m = _linear_model(lib)
        m.qconfig = lib.ao.quantization.get_default_qconfig("x86")
        p = lib.ao.quantization.prepare(m)
        texts = [repr(p)]
        for x in data:
            p(lib.from_numpy(x))
        out.append((texts, lib.ao.quantization.convert(p)))
    (tt, ct), (te, ce) = out
    assert te == tt
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))


@pytest.fixture
def _fbgemm():
    torch.backends.quantized.engine = ember.backends.quantized.engine = "fbgemm"
    yield
    torch.backends.quantized.engine = ember.backends.quantized.engine = "x86"


def test_fbgemm_engine_convolution(_fbgemm):
    """Under fbgemm, symmetric weights too requantize as fbgemm's kernels do (seed 27: an
    output oneDNN's rounding puts one step away; test_quantized_conv2d_x86_rounding)."""
    for case in ((1, 1, 1, 1, 0, False, True), (2, 0, 1, 2, 0, True, True)):
        (mt, yt), (me, ye) = [_qconv_case(lib, 27, *case) for lib in (torch, ember)]
        _same_q(yt, ye)


def test_quantized_conv2d_x86_rounding():
    (mt, yt), (me, ye) = [_qconv_case(lib, 27, 1, 1, 1, 1, 0, False, True)
                          for lib in (torch, ember)]
    _same_q(yt, ye)


def test_quantized_engine_setting():
    e = ember.backends.quantized
    assert e.engine == torch.backends.quantized.engine == "x86"
    assert e.supported_engines == torch.backends.quantized.supported_engines
    with pytest.raises(RuntimeError, match="foo is not a valid value for quantized engine"):
        e.engine = "foo"


# ---- dynamic LSTM and GRU ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True}])
def test_dynamic_lstm(kw, mode):
    """Prints, draws from the RNG and keys its state as torch's; the outputs agree to float32
    rounding (ember's sigmoid and tanh differ from torch's vectorized ones in the last bit)."""
    x = np.random.default_rng(0).standard_normal((12, 3, 5)).astype(np.float32)
    out = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        rnn = getattr(lib.nn, mode)
        m = lib.nn.Sequential(rnn(5, 7, **kw), lib.nn.Linear(7 * (1 + ("bidirectional"
                                                                      in kw)), 2))
        q = lib.ao.quantization.quantize_dynamic(m, {rnn, lib.nn.Linear}, dtype=lib.qint8)
        after = lib.rand(3)
        y, hidden = q[0](lib.from_numpy(x))
        hidden = hidden if mode == "LSTM" else (hidden,)
        out.append((repr(q), list(q.state_dict()), after.numpy(),
                    [v.detach().numpy() for v in (y, *hidden, q[1](y))]))
    (rt, kt, at, vt), (re_, ke, ae, ve) = out
    assert (re_, ke) == (rt, kt)
    np.testing.assert_array_equal(ae, at)
    for t, e in zip(vt, ve):
        assert t.shape == e.shape
        np.testing.assert_allclose(e, t, rtol=0, atol=1e-6)


def test_dynamic_gru_state_and_errors():
    """quantize_dynamic's default specification takes GRUs; hidden state given, wrong sizes
    refused in torch's words."""
    x = np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32)
    h0 = np.random.default_rng(2).standard_normal((2, 2, 5)).astype(np.float32)

    def run(lib):
        lib.manual_seed(0)
        q = lib.ao.quantization.quantize_dynamic(lib.nn.Sequential(lib.nn.GRU(3, 5, 2)))
        y, h = q[0](lib.from_numpy(x), lib.from_numpy(h0))
        errors = []
        for bad in (lambda: q[0](lib.from_numpy(x), lib.zeros(1, 2, 5)),
                    lambda: q[0](lib.from_numpy(x[0]))):
            try:
                bad()
            except RuntimeError as e:
                errors.append(str(e))
        return repr(q), y.detach().numpy(), h.detach().numpy(), errors
    (rt, yt, ht, et), (re_, ye, he, ee) = run(torch), run(ember)
    assert (re_, ee) == (rt, et)
    np.testing.assert_allclose(ye, yt, rtol=0, atol=1e-6)
    np.testing.assert_allclose(he, ht, rtol=0, atol=1e-6)


def test_dynamic_lstm_save_load():
    ember.manual_seed(0)
    q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.LSTM(4, 6)))
    buf = io.BytesIO()
    ember.save(q.state_dict(), buf)
    buf.seek(0)
    ember.manual_seed(1)
    fresh = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.LSTM(4, 6)))
    fresh.load_state_dict(ember.load(buf, weights_only=False))
    x = ember.randn(5, 2, 4)
    _same(q(x)[0], fresh(x)[0])


def test_dynamic_lstm_state_dict_between_torch_and_ember():
    """ember saves the packed cell parameters as torch's TorchScript objects (torch.load reads
    them, nothing of ember in the file) and reads torch's; each side's model given the other's
    state computes as it does with its own; weights-only loads refuse them as torch does."""
    def build(lib, seed):
        lib.manual_seed(seed)
        m = lib.nn.Sequential(lib.nn.LSTM(3, 4, bidirectional=True))
        return lib.ao.quantization.quantize_dynamic(m, {lib.nn.LSTM}, dtype=lib.qint8)
    x = np.random.default_rng(0).standard_normal((3, 2, 3)).astype(np.float32)
    saved = {}
    for lib in (torch, ember):
        buf = io.BytesIO()
        lib.save(build(lib, 0).state_dict(), buf)
        saved[lib] = buf.getvalue()
    assert b"ember" not in saved[ember]
    for lib, other in ((torch, ember), (ember, torch)):
        own, loaded = build(lib, 0), build(lib, 1)
        loaded.load_state_dict(lib.load(io.BytesIO(saved[other]), weights_only=False))
        _same(loaded(lib.from_numpy(x))[0], own(lib.from_numpy(x))[0])
        assert repr(loaded) == repr(own)
        with pytest.raises(Exception) as refused:
            lib.load(io.BytesIO(saved[other]))
        assert "Unsupported global: GLOBAL torch.ScriptObject" in str(refused.value)


def test_torch_saved_dynamic_model_loads_whole():
    """torch's whole-model pickle of a dynamic quantized model (its packed parameters
    TorchScript objects) loads into ember's modules, computing torch's numbers."""
    torch.manual_seed(0)
    m = torch.ao.quantization.quantize_dynamic(
        torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LSTM(2, 3)))
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    e = ember.load(buf, weights_only=False)
    assert repr(e) == repr(m)
    assert type(e[1]) is ember.ao.nn.quantized.dynamic.LSTM
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    _same(m[0](torch.from_numpy(x)), e[0](ember.from_numpy(x)))


@pytest.mark.parametrize("cell, kw", [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}),
                                      ("RNNCell", {"nonlinearity": "relu"})])
def test_dynamic_rnn_cells(cell, kw):
    """quantize_dynamic's default specification takes the cells: reprs, RNG draws, state keys,
    hidden-state checks as torch's; outputs to float32 rounding; their state_dicts load on the
    other side."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    h0 = rng.standard_normal((4, 5)).astype(np.float32)

    def run(lib):
        lib.manual_seed(0)
        q = lib.ao.quantization.quantize_dynamic(
            lib.nn.Sequential(getattr(lib.nn, cell)(3, 5, **kw)))
        after = lib.rand(2)
        hx = lib.from_numpy(h0)
        outs = [q[0](lib.from_numpy(x)), q[0](lib.from_numpy(x), (hx, hx * 2) if cell ==
                                               "LSTMCell" else hx)]
        errors = []
        for bad in (lambda: q[0](lib.from_numpy(x[:, :2])),
                    lambda: q[0](lib.from_numpy(x), (hx[:2], hx) if cell == "LSTMCell" else
                                 hx[:2]),
                    lambda: q[0](lib.from_numpy(x), (hx, hx[:, :3]) if cell == "LSTMCell"
                                 else hx[:, :3])):
            try:
                bad()
            except RuntimeError as e:
                errors.append(str(e))
        values = [v.detach().numpy() for o in outs for v in (o if isinstance(o, tuple)
                                                             else (o,))]
        buf = io.BytesIO()
        lib.save(q.state_dict(), buf)
        return q, (repr(q), list(q.state_dict()), after.numpy().tolist(), errors), values, \
            buf.getvalue()
    (qt, ft, vt, st), (qe, fe, ve, se) = run(torch), run(ember)
    assert fe == ft
    for a, b in zip(vt, ve):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    for lib, q, other in ((torch, qt, se), (ember, qe, st)):
        before = q[0](lib.from_numpy(h0[:, :3]))
        lib.manual_seed(1)
        fresh = lib.ao.quantization.quantize_dynamic(
            lib.nn.Sequential(getattr(lib.nn, cell)(3, 5, **kw)))
        fresh.load_state_dict(lib.load(io.BytesIO(other), weights_only=False))
        after = fresh[0](lib.from_numpy(h0[:, :3]))
        for a, b in zip(*((v,) if cell != "LSTMCell" else v for v in (before, after))):
            _same(a, b)


# ---- quantized Conv1d ---------------------------------------------------------------------------
def _conv1d_model(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv1d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm1d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv1d(4, 6, 2, stride=2, dilation=2, groups=2, bias=False)
            self.relu2 = nn.ReLU()
            self.conv3 = nn.Conv1d(6, 2, 1)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.relu(self.bn(self.conv(self.quant(x))))
            return self.dequant(self.conv3(self.relu2(self.conv2(x))))
    lib.manual_seed(0)
    m = M()
    m.bn.running_mean.uniform_(-0.5, 0.5)
    return m.eval()


@pytest.mark.parametrize("qconfig", ["default_qconfig", "default_per_channel_qconfig"])
def test_static_conv1d_flow(qconfig):
    """Conv1d (and its BatchNorm1d and ReLU fusions) quantized as torch's: fused, prepared and
    converted models print as torch's; given torch's parameters, the same state_dict and the
    same numbers bit for bit, channels last as torch's."""
    rng = np.random.default_rng(2)
    data = [rng.standard_normal((2, 3, 9)).astype(np.float32) for _ in range(2)]
    (tt, ct), (te, ce) = [_calibrated(lib, _conv1d_model, qconfig,
                                      [["conv", "bn", "relu"], ["conv2", "relu2"]], data)
                          for lib in (torch, ember)]
    assert te[:2] == tt[:2]
    assert type(ce.conv3) is ember.ao.nn.quantized.Conv1d
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    _same_q(ct.conv2.weight(), ce.conv2.weight())
    x = rng.standard_normal((3, 3, 9)).astype(np.float32)
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))
    _same_q(ct.conv(ct.quant(torch.from_numpy(x))), ce.conv(ce.quant(ember.from_numpy(x))))
    with pytest.raises(ValueError, match=r"Input shape must be `\(N, C, L\)`!"):
        ce.conv(ce.quant(ember.from_numpy(x[0])))


# ---- quantized ReLU6, Hardswish, LeakyReLU, ELU and Dropout -------------------------------------
def _relu6_model(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.act = nn.ReLU6(inplace=True)
            self.hs = nn.Hardswish()
            self.leaky = nn.LeakyReLU(0.2)
            self.elu = nn.ELU(0.7)
            self.drop = nn.Dropout(0.2)
            self.fc = nn.Linear(4, 2)
            self.act2 = nn.ReLU6()
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.drop(self.elu(self.leaky(self.hs(self.act(self.conv(self.quant(x)))))))
            return self.dequant(self.act2(self.fc(x.mean((2, 3)))))
    lib.manual_seed(0)
    return M().eval()


def test_static_activations_and_dropout():
    """convert makes QuantizedReLU6 (the integers clamped to the zero point and q(6)),
    QuantizedHardswish, QuantizedLeakyReLU, QuantizedELU and QuantizedDropout (the identity)
    of the float ones, as torch's; prepare observes the activations."""
    rng = np.random.default_rng(4)
    data = [rng.standard_normal((2, 3, 5, 5)).astype(np.float32) * 4 for _ in range(2)]
    texts, models = [], []
    for lib in (torch, ember):
        m = _relu6_model(lib)
        m.qconfig = lib.ao.quantization.default_qconfig
        prepared = lib.ao.quantization.prepare(m)
        for x in data:
            prepared(lib.from_numpy(x))
        texts.append(re.sub(r"\d+\.\d+", "#", repr(prepared)))
        models.append(lib.ao.quantization.convert(prepared))
    assert texts[1] == texts[0]
    ct, ce = models
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal((3, 3, 5, 5)).astype(np.float32) * 4
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))
    _same_q(ct.act(ct.conv(ct.quant(torch.from_numpy(x)))),
            ce.act(ce.conv(ce.quant(ember.from_numpy(x)))))
    _same_q(ct.elu(ct.leaky(ct.hs(ct.act(ct.conv(ct.quant(torch.from_numpy(x))))))),
            ce.elu(ce.leaky(ce.hs(ce.act(ce.conv(ce.quant(ember.from_numpy(x))))))))


@pytest.mark.parametrize("dtype, zp, out_scale, out_zp", [("quint8", 131, 0.0371, 17),
                                                          ("qint8", 0, 0.05, -100)])
@pytest.mark.parametrize("module", ["Hardswish", "LeakyReLU", "ELU"])
def test_quantized_activations_over_the_range(dtype, zp, out_scale, out_zp, module):
    """torch's vectorized and scalar lanes (past 32768 elements, split among threads); the
    functional leaky_relu (out of place and in place) keeps the input's parameters."""
    x = np.linspace(-9, 9, 40001).astype(np.float32)
    got = []
    for lib in (torch, ember):
        q = lib.quantize_per_tensor(lib.from_numpy(x), 0.071, zp, getattr(lib, dtype))
        m = getattr(lib.ao.nn.quantized, module)(out_scale, out_zp)
        got.append([m(q), repr(m), list(m.state_dict().items())])
        if module == "LeakyReLU":
            inplace = q.clone()
            lib.nn.functional.leaky_relu_(inplace, 0.3)
            got[-1] += [lib.nn.functional.leaky_relu(q, 0.2), inplace]
    for t, e in zip(*got):
        if isinstance(t, torch.Tensor):
            _same_q(t, e)
        else:
            assert repr(e) == repr(t)


# ---- quantized batch norm and max pooling --------------------------------------------------------
@pytest.mark.parametrize("shape, dtype, zp", [
    ((2, 3), "quint8", 100), ((2, 5, 4), "qint8", -3), ((2, 3, 4, 5), "quint8", 100),
    ((2, 3, 4, 5), "qint32", 7), ((2, 3, 2, 3, 4), "qint8", -3), ((3, 70, 2, 3), "quint8", 100),
    ((3, 70, 2, 3), "qint32", 7), ((2, 130, 5), "qint8", -3), ((2, 0, 3, 3), "quint8", 100)])
def test_quantized_batch_norm(shape, dtype, zp):
    """torch.quantized_batch_norm bit for bit (channels past whole 64-byte vectors: C = 70, 130),
    2-d and 3-d inputs contiguous, 4-d and 5-d channels last."""
    rng = np.random.default_rng(len(shape))
    c = shape[1]
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    w, b, m = (rng.standard_normal(c).astype(np.float32) for _ in range(3))
    v = rng.random(c).astype(np.float32) * 2

    def run(lib):
        qx = lib.quantize_per_tensor(lib.from_numpy(x), 0.037, zp, getattr(lib, dtype))
        return lib.quantized_batch_norm(qx, *(lib.from_numpy(t) for t in (w, b, m, v)), 1e-5,
                                        0.0213, zp + 3)
    _same_q(run(torch), run(ember))


def test_quantized_batch_norm_errors():
    def q(lib, shape=(2, 3, 4, 4)):
        return lib.quantize_per_tensor(lib.ones(shape), 0.1, 3, lib.quint8)
    cases = [
        lambda lib: lib.quantized_batch_norm(q(lib), None, lib.ones(3), lib.ones(3),
                                             lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(q(lib), lib.ones(3), None, lib.ones(3),
                                             lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(q(lib), lib.ones(4), lib.ones(4), lib.ones(3),
                                             lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(q(lib), lib.ones(3), lib.ones(3), lib.ones(2),
                                             lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(q(lib), lib.ones(3), lib.ones(3), lib.ones(3),
                                             lib.ones(2), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(q(lib, (3,)), lib.ones(3), lib.ones(3),
                                             lib.ones(3), lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(lib.ones(2, 3), lib.ones(3), lib.ones(3),
                                             lib.ones(3), lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.quantized_batch_norm(
            lib.quantize_per_channel(lib.ones(2, 3), lib.ones(3), lib.zeros(3, dtype=lib.long),
                                     1, lib.quint8),
            lib.ones(3), lib.ones(3), lib.ones(3), lib.ones(3), 1e-5, 0.1, 2),
        lambda lib: lib.ao.nn.quantized.BatchNorm2d(3)(q(lib, (2, 3, 4))),
        lambda lib: lib.ao.nn.quantized.BatchNorm3d(3)(q(lib)),
        lambda lib: lib.ao.nn.intrinsic.quantized.BNReLU2d(3)(q(lib, (2, 3, 4))),
        lambda lib: lib.ao.nn.intrinsic.quantized.BNReLU3d(3)(q(lib)),
    ]
    for f in cases:
        t, e = _outcome(lambda: f(torch)), _outcome(lambda: f(ember))
        assert t[0] == e[0]
        if t[0] != "NotImplementedError":
            assert t == e


def _bn_model(lib, dims):
    nn, aq = lib.nn, lib.ao.quantization
    bn = getattr(nn, f"BatchNorm{dims}d")

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.bn, self.relu, self.bn2 = bn(3), nn.ReLU(), bn(3)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.bn2(self.relu(self.bn(self.quant(x)))))
    lib.manual_seed(0)
    m = M()
    for b in (m.bn, m.bn2):
        b.running_mean.uniform_(-1, 1)
        b.running_var.uniform_(0.5, 2)
        b.weight.data.uniform_(0.5, 2)
        b.bias.data.uniform_(-1, 1)
    return m.eval()


@pytest.mark.parametrize("dims", [2, 3])
def test_static_batch_norm_flow(dims):
    """BatchNorm2d / 3d and their ReLU fusions quantized as torch's (nnq.BatchNorm2d/3d,
    nniq.BNReLU2d/3d): fused and prepared reprs; given torch's quantization parameters, repr,
    state_dict and outputs bit for bit; the state_dicts load both ways."""
    rng = np.random.default_rng(dims)
    shape = (2, 3, 4, 5) if dims == 2 else (2, 3, 2, 3, 4)
    data = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    (tt, ct), (te, ce) = [_calibrated(lib, lambda l: _bn_model(l, dims), "default_qconfig",
                                      [["bn", "relu"]], data) for lib in (torch, ember)]
    assert te[:2] == tt[:2]
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal(shape).astype(np.float32)
    qt, qe = ct.bn(ct.quant(torch.from_numpy(x))), ce.bn(ce.quant(ember.from_numpy(x)))
    _same_q(qt, qe)
    _same_q(ct.bn2(qt), ce.bn2(qe))
    _same_q_module_states(ct, ce)


@pytest.mark.parametrize("args, kind", [
    (([2, 2],), "quint8"), (([3, 2], [1, 2], [1, 1], [1, 1], True), "quint8"),
    (([2, 2], [], 0, 1, False), "qint8_cl"), (([7, 2],), "quint8"),
    (([2, 2], [1, 1], 2), "quint8"), (([2, 2], 0), "quint8"), (([2, 2], [1, 1], 0, 0), "rank2"),
    (([2, 2], [1, 1], -1), "quint8"), (([3, 2], [1, 2], [1, 1], [1, 1], True), "qint8_cl"),
    (([2, 2],), "unbatched"), (([2, 2],), "rank2")])
def test_quantized_max_pool2d(args, kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    x = {"unbatched": x[0], "rank2": x[0, 0]}.get(kind, x)

    def run(lib):
        qx = lib.quantize_per_tensor(lib.from_numpy(x), 0.05, 10,
                                     getattr(lib, {"qint8_cl": "qint8"}.get(kind, "quint8")))
        if kind.endswith("cl"):
            qx = qx.contiguous(memory_format=lib.channels_last)
        return lib.quantized_max_pool2d(qx, *args)
    t, e = _outcome(lambda: run(torch)), _outcome(lambda: run(ember))
    assert e == t


@pytest.mark.parametrize("args, shape", [
    (([2],), (3, 5, 6)), (([3], [2], [1], [1], True), (3, 5, 6)),
    (([3], [2], [1], [2], False), (5, 6)), ((2,), (5, 6)), (([2],), (6,))])
def test_quantized_max_pool1d(args, shape):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)

    def run(lib):
        qx = lib.quantize_per_tensor(lib.from_numpy(x), 0.05, 10, lib.quint8)
        return lib.quantized_max_pool1d(qx, *args)
    t, e = _outcome(lambda: run(torch)), _outcome(lambda: run(ember))
    assert e == t


# ---- quantized ConvTranspose1d / 2d / 3d ---------------------------------------------------------
_CT_SHAPES = {1: (2, 4, 5), 2: (2, 4, 5, 6), 3: (2, 4, 3, 4, 3)}


@pytest.mark.parametrize("dims, kw, wzp", [
    (1, {}, 0), (2, {"stride": 2, "dilation": 2, "bias": False, "groups": 2}, 0),
    (3, {}, 0), (2, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, 0),
    (1, {"padding": 1}, 3)])
def test_quantized_conv_transpose(dims, kw, wzp):
    """ConvTranspose{1,2,3}d: repr, outputs bit for bit (oneDNN's rounding for symmetric
    weights without output padding, fbgemm's otherwise), channels last, and the state_dicts
    both ways."""
    rng = np.random.default_rng(dims)
    x = rng.standard_normal(_CT_SHAPES[dims]).astype(np.float32)
    groups = kw.get("groups", 1)
    w = (rng.standard_normal((4, 6 // groups) + (3,) * dims) * 0.3).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)

    def run(lib):
        m = getattr(lib.ao.nn.quantized, f"ConvTranspose{dims}d")(4, 6, 3, **kw)
        m.set_weight_bias(lib.quantize_per_tensor(lib.from_numpy(w), 0.0123, wzp, lib.qint8),
                          lib.from_numpy(b) if kw.get("bias", True) else None)
        m.scale, m.zero_point = 0.0731, 101
        return m, m(lib.quantize_per_tensor(lib.from_numpy(x), 0.031, 117, lib.quint8))
    (mt, yt), (me, ye) = run(torch), run(ember)
    assert repr(me) == repr(mt)
    _same_q(yt, ye)
    _same_q_module_states(mt, me)


def test_quantized_conv_transpose_flow_and_errors():
    """ConvTranspose2d and 1d through prepare / convert (default qconfig, symmetric weights: the
    x86 engine's oneDNN path; given torch's parameters), and torch's refusals: per-channel
    weights, other padding modes, input ranks."""
    rng = np.random.default_rng(5)
    data = [rng.standard_normal((2, 3, 4, 4)).astype(np.float32) for _ in range(2)]

    def build(lib):
        nn, aq = lib.nn, lib.ao.quantization
        lib.manual_seed(0)
        return nn.Sequential(aq.QuantStub(), nn.ConvTranspose2d(3, 4, 3, stride=2),
                             nn.ConvTranspose1d(4, 2, 2), aq.DeQuantStub()).eval()

    def flat(lib):
        m = build(lib)

        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.quant, self.up, self.up1, self.dequant = m[0], m[1], m[2], m[3]

            def forward(self, x):
                y = self.up(self.quant(x))
                return self.dequant(self.up1(y.reshape(y.shape[0], 4, -1)))
        return M().eval()
    def calibrated(lib):
        m = flat(lib)
        m.qconfig = lib.ao.quantization.default_qconfig
        prepared = lib.ao.quantization.prepare(m)
        for x in data:
            prepared(lib.from_numpy(x))
        return repr(prepared), lib.ao.quantization.convert(prepared)
    (tt, ct), (te, ce) = calibrated(torch), calibrated(ember)
    number = re.compile(r"-?\d+\.\d+")        # (the observers' float32 ranges: to rounding)
    assert number.sub("#", te) == number.sub("#", tt)
    np.testing.assert_allclose([float(v) for v in number.findall(te)],
                               [float(v) for v in number.findall(tt)], rtol=1e-6)
    _take_torchs_qparams(ct, ce)
    assert repr(ce) == repr(ct)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    _same(ct(torch.from_numpy(x)), ce(ember.from_numpy(x)))
    cases = [
        lambda lib: lib.ao.nn.quantized.ConvTranspose2d(2, 2, 1).set_weight_bias(
            lib.quantize_per_channel(lib.ones(2, 2, 1, 1), lib.ones(2) / 10,
                                     lib.zeros(2, dtype=lib.long), 0, lib.qint8), None),
        lambda lib: lib.ao.nn.quantized.ConvTranspose2d(2, 2, 1, padding_mode="reflect"),
        lambda lib: lib.ao.nn.quantized.ConvTranspose3d(2, 2, 1)(
            lib.quantize_per_tensor(lib.ones(1, 2, 2, 2), 0.1, 0, lib.quint8)),
        lambda lib: lib.ao.nn.quantized.ConvTranspose1d(2, 2, 1)(
            lib.quantize_per_tensor(lib.ones(1, 2, 2, 2), 0.1, 0, lib.quint8)),
        lambda lib: lib.ao.nn.quantized.ConvTranspose2d.from_float(lib.nn.Conv2d(2, 2, 1)),
    ]
    for f in cases:
        assert _outcome(lambda: f(ember)) == _outcome(lambda: f(torch))


# ---- pooling, resampling and torch.ao.nn.quantized.functional ------------------------------------
def _qin(lib, shape, dtype, cl=False, seed=0):
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(np.float32)
    zp = 3 + (128 if dtype == "quint8" else 0)
    q = lib.quantize_per_tensor(lib.from_numpy(x), 0.05, zp, getattr(lib, dtype))
    if cl:
        q = q.contiguous(memory_format=lib.channels_last if len(shape) == 4 else
                         lib.channels_last_3d)
    return q


@pytest.mark.parametrize("shape, cl, args, dtype", [
    ((2, 3, 6, 7), False, (2,), "quint8"), ((2, 3, 6, 7), False, (3, 2, 1, True, False), "qint8"),
    ((2, 3, 5, 6), False, (3, 1, 1, False, True, 5), "qint32"),
    ((2, 20, 5, 6), True, (2, 1, 1), "quint8"), ((2, 20, 5, 6), True, (2, 1, 1), "qint32"),
    ((2, 70, 4, 5), True, (3, 2, 1, False, False), "qint8"), ((3, 5, 6), False, (2,), "quint8"),
    ((2, 20, 3, 4, 5), False, ((1, 2, 2),), "qint8"),
    ((4, 20, 2, 6, 6), True, ((1, 2, 3),), "qint8"),
    ((4, 3, 2, 6, 6), True, ((1, 2, 3),), "qint32")])
def test_quantized_avg_pool(shape, cl, args, dtype):
    """avg_pool2d / 3d of quantized tensors bit for bit: contiguous ones round sum * (1 / n) +
    zero_point, channels-last ones (and all 3-d ones, whose output is channels last) split
    8-bit channels into vectors of 16 (zero point added after rounding) and the rest (ties:
    even divisors, 2x3 windows)."""
    def run(lib):
        f = lib.nn.functional.avg_pool3d if len(shape) == 5 else lib.nn.functional.avg_pool2d
        return f(_qin(lib, shape, dtype, cl), *args)
    _same_q(run(torch), run(ember))


@pytest.mark.parametrize("shape, cl, size, dtype", [
    ((2, 3, 5, 7), False, (2, 3), "quint8"), ((3, 5, 7), False, 4, "qint8"),
    ((2, 20, 5, 7), True, (3, 4), "qint8"), ((2, 70, 5, 7), True, (2, 3), "quint8"),
    ((2, 3, 3, 5, 7), False, (2, 2, 3), "qint32"), ((2, 20, 3, 5, 7), True, (2, 3, 4), "qint8"),
    ((4, 20, 6, 6), True, (3, 2), "qint32"), ((4, 20, 2, 6, 6), True, (2, 3, 2), "qint8")])
def test_quantized_adaptive_avg_pool(shape, cl, size, dtype):
    def run(lib):
        f = lib.nn.functional.adaptive_avg_pool3d if len(shape) == 5 else \
            lib.nn.functional.adaptive_avg_pool2d
        return f(_qin(lib, shape, dtype, cl), size)
    _same_q(run(torch), run(ember))


@pytest.mark.parametrize("shape, cl, kw, dtype", [
    ((2, 3, 5, 6), False, {"scale_factor": 2}, "quint8"),
    ((2, 3, 5, 6), True, {"size": (4, 9)}, "qint8"),
    ((2, 3, 5, 6), False, {"size": (7, 13), "mode": "nearest-exact"}, "qint32"),
    ((2, 3, 2, 3, 4), False, {"scale_factor": (1, 2, 1.5)}, "quint8"),
    ((2, 3, 5, 6), False, {"size": (11, 13), "mode": "bilinear"}, "quint8"),
    ((2, 3, 5, 6), False, {"size": (11, 13), "mode": "bilinear"}, "qint32"),
    ((2, 20, 5, 6), False, {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
     "qint8"),
    ((2, 3, 5), False, {"scale_factor": 2}, "quint8")])
def test_quantized_interpolate(shape, cl, kw, dtype):
    t, e = [_outcome(lambda lib=lib: lib.nn.functional.interpolate(
        _qin(lib, shape, dtype, cl), **kw)) for lib in (torch, ember)]
    assert e[0] == t[0] if t[0] == "NotImplementedError" else e == t


def _qfunctional_cases():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 4, 6, 7)) * 2).astype(np.float32)
    w = (rng.standard_normal((6, 4, 3, 3)) * 0.3).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    wl = np.ascontiguousarray(np.tile(w[:, 0, 0, :], (1, 3))[:, :7])

    def qx(lib, a=x, dt="quint8"):
        return lib.quantize_per_tensor(lib.from_numpy(a), 0.05, 3 + 128 * (dt == "quint8"),
                                       getattr(lib, dt))

    def qw(lib, a):
        return lib.quantize_per_tensor(lib.from_numpy(a), 0.01, 0, lib.qint8)
    return {
        "conv2d": lambda lib, F: F.conv2d(qx(lib), qw(lib, w), lib.from_numpy(b), padding=1,
                                          scale=0.2, zero_point=100),
        "conv1d": lambda lib, F: F.conv1d(qx(lib, x[:, :, 0]), qw(lib, w[:, :, 0]), None,
                                          stride=2, scale=0.2, zero_point=100),
        "conv3d": lambda lib, F: F.conv3d(qx(lib, x[:, :, None]), qw(lib, w[:, :, None]),
                                          lib.from_numpy(b), padding=(0, 1, 1), scale=0.2,
                                          zero_point=100),
        "conv2d_qint8_input": lambda lib, F: F.conv2d(qx(lib, dt="qint8"), qw(lib, w), None),
        "conv2d_rank": lambda lib, F: F.conv2d(qx(lib, x[0]), qw(lib, w), None),
        "conv2d_reflect": lambda lib, F: F.conv2d(qx(lib), qw(lib, w), None,
                                                  padding_mode="reflect"),
        "linear": lambda lib, F: F.linear(qx(lib, x[0, 0]), qw(lib, wl), lib.from_numpy(b)),
        "linear_scale": lambda lib, F: F.linear(qx(lib, x[0, 0]), qw(lib, wl), None, 0.3, 120),
        "avg_pool2d": lambda lib, F: F.avg_pool2d(qx(lib), 2),
        "avg_pool2d_float": lambda lib, F: F.avg_pool2d(lib.from_numpy(x), 2),
        "avg_pool3d": lambda lib, F: F.avg_pool3d(qx(lib, x[:, :, None]), (1, 2, 2)),
        "adaptive_avg_pool2d": lambda lib, F: F.adaptive_avg_pool2d(qx(lib), (2, 3)),
        "adaptive_avg_pool3d": lambda lib, F: F.adaptive_avg_pool3d(qx(lib, x[:, :, None]),
                                                                    (1, 2, 3)),
        "interpolate": lambda lib, F: F.interpolate(qx(lib), scale_factor=2),
        "upsample_bilinear": lambda lib, F: F.upsample_bilinear(qx(lib), size=(9, 11)),
        "upsample_nearest": lambda lib, F: F.upsample_nearest(qx(lib), size=(9, 11)),
        "upsample": lambda lib, F: F.upsample(qx(lib), size=(9, 11), mode="bilinear"),
        "max_pool1d": lambda lib, F: F.max_pool1d(qx(lib, x[0]), 2),
        "max_pool1d_indices": lambda lib, F: F.max_pool1d(qx(lib, x[0]), 2,
                                                          return_indices=True),
        "max_pool2d": lambda lib, F: F.max_pool2d(qx(lib), 3, 2, 1),
        "celu": lambda lib, F: F.celu(qx(lib), 0.03, 70, 1.5),
        "elu": lambda lib, F: F.elu(qx(lib, dt="qint8"), 0.03, -5, 0.7),
        "leaky_relu": lambda lib, F: F.leaky_relu(qx(lib), 0.2),
        "leaky_relu_scale": lambda lib, F: F.leaky_relu(qx(lib), 0.2, scale=0.02,
                                                        zero_point=50),
        "leaky_relu_scale_inplace": lambda lib, F: F.leaky_relu(qx(lib), 0.2, True, 0.02, 50),
        "hardtanh": lambda lib, F: F.hardtanh(qx(lib), -0.5, 0.7),
        "hardtanh_float": lambda lib, F: F.hardtanh(lib.from_numpy(x)),
        "hardswish": lambda lib, F: F.hardswish(qx(lib), 0.02, 20),
        "threshold": lambda lib, F: F.threshold(qx(lib), 0.3, -1.0),
        "threshold_none": lambda lib, F: F.threshold(qx(lib), None, -1.0),
        "hardsigmoid": lambda lib, F: F.hardsigmoid(qx(lib)),
        "clamp": lambda lib, F: F.clamp(qx(lib), -0.3, 0.4),
        "clamp_float": lambda lib, F: F.clamp(lib.from_numpy(x), -0.3, 0.4),
    }


@pytest.mark.parametrize("name", sorted(_qfunctional_cases()))
def test_quantized_functional(name):
    """torch.ao.nn.quantized.functional (and torch.nn.quantized.functional) bit for bit, with
    torch's refusals."""
    f = _qfunctional_cases()[name]
    t = _outcome(lambda: f(torch, torch.ao.nn.quantized.functional))
    assert _outcome(lambda: f(ember, ember.ao.nn.quantized.functional)) == t
    assert _outcome(lambda: f(ember, ember.nn.quantized.functional)) == t


def test_quantized_functional_names():
    names = {n for n in dir(torch.ao.nn.quantized.functional) if not n.startswith("_")}
    assert names - set(ember.ao.nn.quantized.functional.__all__) == {
        "BroadcastingList2", "Tensor", "torch", "warnings"}


@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
def test_quantized_threshold_and_max_pool1d(dtype):
    def run(lib):
        q = _qin(lib, (2, 3, 9), dtype)
        F = lib.nn.functional
        return [_outcome(lambda: F.threshold(q, 0.4, 2.0)),
                _outcome(lambda: F.max_pool1d(q, 3, 2, 1, ceil_mode=True)),
                _outcome(lambda: lib.nn.MaxPool1d(2)(q[0]))]
    assert run(ember) == run(torch)


def test_in_place_refusals_survive_torch_function_dispatch_switched_off():
    """The quantized kernels wrap Tensor.clamp_ & co. when the first quantized tensor is made;
    made while __torch_function__ dispatch was on (a Tensor subclass defined, an fx trace),
    the wrappers were lost when dispatch went off again (fx's tests do that), and
    q.clamp_(-0.5, 1.0) then ran where torch raises (the suite failed in that order)."""
    import subprocess
    import sys
    code = """if True:
        import ember
        class Sub(ember.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return super().__torch_function__(func, types, args, kwargs or {})
        q = ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
        ember._torch_function.disable()
        try:
            q.clamp_(-0.5, 1.0)
        except RuntimeError as e:
            print(str(e))
        """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.startswith("promoteTypes with quantized numbers is not handled yet"), \
        out.stdout + out.stderr
