"""Quantization-aware training against torch 2.13 (CPU, x86 engine): the fused observer and
fake quantize op and module, the default QAT qconfigs, fuse_modules_qat, prepare_qat and the
QAT modules (training steps, reprs, state_dicts), and their conversion to quantized modules."""
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


def _outcome(f):
    """f()'s result (tensors as dtype, shape, repr and values) or its exception's class and
    message."""
    try:
        r = f()
    except Exception as e:      # noqa: BLE001  (the class and message are compared)
        return type(e).__name__, str(e)
    return _value(r)


def _value(r):
    if isinstance(r, (tuple, list)):
        return [_value(v) for v in r]
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        if r.is_quantized:
            return repr(r), r.int_repr().tolist()
        return str(r.dtype), tuple(r.shape), repr(r), r.detach().numpy().tobytes()
    return repr(r).replace("ember.", "torch.")


def _both(f):
    return _outcome(lambda: f(torch)), _outcome(lambda: f(ember))


_NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def _close_texts(got, want):
    """Two reprs the same but for their decimals (the float convolutions that train and
    calibrate differ from torch's in the last bits), which agree to float32 rounding."""
    assert _NUMBER.sub("#", got) == _NUMBER.sub("#", want)
    np.testing.assert_allclose([float(v) for v in _NUMBER.findall(got)],
                               [float(v) for v in _NUMBER.findall(want)], rtol=1e-5)


# ---- torch.fused_moving_avg_obs_fake_quant ------------------------------------------------------
@pytest.mark.parametrize("per_channel, symmetric, qmin, qmax", [
    (False, False, 0, 127), (False, True, -128, 127), (True, True, -128, 127),
    (True, False, 0, 255), (False, True, 0, 255), (True, True, -128, 127)])
def test_fused_moving_avg_obs_fake_quant(per_channel, symmetric, qmin, qmax):
    """Running min and max, scale and zero point (ChooseQuantizationParams' arithmetic, written
    in place only while fake quantizing), outputs and straight-through gradients, step by step
    with the observer or the fake quantization switched off in between."""
    rng = np.random.default_rng(qmax + symmetric)
    xs = [(rng.standard_normal((4, 3, 2)) * (i + 1) + (i - 1.5)).astype(np.float32)
          for i in range(4)]
    xs[3][1] = -np.abs(xs[3][1])            # a channel below zero

    def run(lib):
        shape = [0] if per_channel else []
        rmin, rmax = lib.full(shape, float("inf")), lib.full(shape, float("-inf"))
        scale, zp = lib.tensor([1.0]), lib.tensor([0], dtype=lib.int32)
        out = []
        for i, a in enumerate(xs):
            x = lib.from_numpy(a).requires_grad_()
            y = lib.fused_moving_avg_obs_fake_quant(
                x, lib.tensor([int(i != 2)]), lib.tensor([int(i != 1)]), rmin, rmax, scale,
                zp, 0.01 if i < 3 else 0.5, qmin, qmax, 0, per_channel, symmetric)
            y.backward(lib.arange(24.0).reshape(4, 3, 2))
            out += [y, x.grad, rmin.clone(), rmax.clone(), scale.clone(), zp.clone()]
        return out
    t, e = _both(run)
    assert t == e


def test_fused_moving_avg_obs_fake_quant_edges():
    def call(lib, x, ch_axis, per_channel, observe=1):
        return lib.fused_moving_avg_obs_fake_quant(
            x, lib.tensor([observe]), lib.tensor([1]), lib.tensor([]), lib.tensor([]),
            lib.tensor([1.0]), lib.tensor([0], dtype=lib.int32), 0.01, -128, 127, ch_axis,
            per_channel, True)
    cases = [
        lambda lib: call(lib, lib.ones(2, 3), 2, True),
        lambda lib: call(lib, lib.ones(2, 3), 1, True),
        lambda lib: call(lib, lib.zeros(0, 3), 0, True),
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


# ---- qconfigs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["x86", "fbgemm", "qnnpack", "onednn", "cuda"])
@pytest.mark.parametrize("version", [0, 1, 2])
def test_get_default_qat_qconfig(backend, version):
    t, e = _both(lambda lib: lib.ao.quantization.get_default_qat_qconfig(backend, version))
    assert t == e


def test_default_qat_qconfig_v2():
    t, e = _both(lambda lib: lib.ao.quantization.qconfig.default_qat_qconfig_v2)
    assert t == e


# ---- the QAT flow -------------------------------------------------------------------------------
def _model(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(4)
            self.conv3 = nn.Conv2d(4, 4, 3, padding=1, stride=2)
            self.relu3 = nn.ReLU()
            self.conv4 = nn.Conv2d(4, 2, 1)
            self.fc = nn.Linear(2 * 4 * 4, 5)
            self.relu2 = nn.ReLU()
            self.fc2 = nn.Linear(5, 3)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.relu(self.bn(self.conv(self.quant(x))))
            x = self.conv4(self.relu3(self.conv3(self.bn2(self.conv2(x)))))
            return self.dequant(self.fc2(self.relu2(self.fc(lib.flatten(x, 1)))))
    lib.manual_seed(0)
    return M().train()


_FUSE = [["conv", "bn", "relu"], ["conv2", "bn2"], ["conv3", "relu3"], ["fc", "relu2"]]


def _trained(lib, backend, version, data):
    """(reprs of the fused, prepared and trained model, losses, the trained model)."""
    aq = lib.ao.quantization
    m = _model(lib)
    m.qconfig = aq.get_default_qat_qconfig(backend, version)
    fused = aq.fuse_modules_qat(m, _FUSE)
    prepared = aq.prepare_qat(fused)
    texts = [repr(fused), repr(prepared)]
    opt = lib.optim.SGD(prepared.parameters(), lr=0.05)
    losses = []
    for x, target in data:
        loss = lib.nn.functional.mse_loss(prepared(lib.from_numpy(x)), lib.from_numpy(target))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    prepared.apply(aq.disable_observer)
    prepared.apply(lib.ao.nn.intrinsic.qat.freeze_bn_stats)
    texts.append(repr(prepared))
    return texts, losses, prepared


def _loaded(st, model):
    """model given the state_dict st of torch's, through torch.save and ember.load."""
    buf = io.BytesIO()
    torch.save(st, buf)
    buf.seek(0)
    model.load_state_dict(ember.load(buf))
    return model


def _same_state(st, se):
    assert list(se) == list(st)
    for k, v in st.items():
        assert _value(se[k]) == _value(v), k


@pytest.mark.parametrize("backend, version", [("x86", 1), ("qnnpack", 1), ("x86", 0)])
def test_qat_flow(backend, version):
    """fuse_modules_qat, prepare_qat, training steps, disable_observer and freeze_bn_stats
    print as torch's, with losses equal to float32 rounding (the float convolutions differ from
    torch's in the last bits); given torch's trained state, the QAT model computes torch's
    numbers bit for bit, and convert makes torch's quantized model: repr, state_dict (batch norms
    folded), outputs."""
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((2, 3, 8, 8)).astype(np.float32),
             rng.standard_normal((2, 3)).astype(np.float32)) for _ in range(3)]
    (tt, lt, pt), (te, le, pe) = [_trained(lib, backend, version, data)
                                  for lib in (torch, ember)]
    assert te[:2] == tt[:2]
    _close_texts(te[2], tt[2])
    np.testing.assert_allclose(le, lt, rtol=1e-5)
    _loaded(pt.state_dict(), pe)
    _same_state(pt.state_dict(), pe.state_dict())
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    assert _value(pe(ember.from_numpy(x))) == _value(pt(torch.from_numpy(x)))
    ct = torch.ao.quantization.convert(pt.eval())
    ce = ember.ao.quantization.convert(pe.eval())
    assert repr(ce) == repr(ct)
    _same_state(ct.state_dict(), ce.state_dict())
    assert _value(ce(ember.from_numpy(x))) == _value(ct(torch.from_numpy(x)))


def test_quantize_qat():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)

    def run(lib):
        def train(model, data):
            model(lib.from_numpy(data))
        m = lib.ao.quantization.fuse_modules_qat(_model(lib), _FUSE)
        m.qconfig = lib.ao.quantization.get_default_qat_qconfig("x86")
        q = lib.ao.quantization.quantize_qat(m, train, [x])
        return repr(q), type(q.conv).__name__, q.training
    t, e = _both(run)
    assert t[1:] == e[1:]
    _close_texts(e[0], t[0])


def test_qat_modules():
    """The QAT modules made directly: reprs, parameters, their forward with the fake-quantized
    weight, gradients, to_float and the batch norm switches."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    xl = rng.standard_normal((4, 6)).astype(np.float32)

    def run(lib):
        qat, iqat = lib.ao.nn.qat, lib.ao.nn.intrinsic.qat
        qc = lib.ao.quantization.get_default_qat_qconfig("x86")
        lib.manual_seed(0)
        mods = [qat.Conv2d(3, 4, 3, padding=1, qconfig=qc),
                iqat.ConvBn2d(3, 4, 3, stride=2, bias=True, qconfig=qc),
                iqat.ConvBnReLU2d(3, 4, 1, qconfig=qc),
                iqat.ConvReLU2d(3, 4, 3, qconfig=qc)]
        lin = [qat.Linear(6, 3, qconfig=qc), iqat.LinearReLU(6, 3, bias=False, qconfig=qc)]
        other = [(qat.Conv1d(3, 2, 3, stride=2, qconfig=qc), x[:, :, 0]),
                 (qat.Conv3d(3, 2, (1, 2, 2), bias=False, qconfig=qc), x[:, :, None])]
        texts, values = [], []
        for m, a in [(m, x) for m in mods] + [(m, xl) for m in lin] + other:
            inp = lib.from_numpy(a).requires_grad_()
            y = m(inp)
            y.sum().backward()
            texts += [repr(m), list(m.state_dict()), repr(m.to_float())]
            values += [y, inp.grad] + [p.grad for p in m.parameters()]
        bn = mods[1]
        texts += [bn.freeze_bn, bn.bn.training, bn.train().bn.training, bn.eval().bn.training]
        bn.freeze_bn_stats()
        texts += [bn.freeze_bn, bn.train().bn.training]
        iqat.update_bn_stats(bn)
        texts += [bn.freeze_bn, bn.bn.training]
        return texts, [v.detach().numpy() for v in values]
    (tt, vt), (te, ve) = run(torch), run(ember)
    assert te == tt
    # (the float convolutions differ from torch's in the last bits)
    for a, b in zip(vt, ve):
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_qat_errors():
    def model(lib, **bn):
        m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 1), lib.nn.BatchNorm2d(**bn),
                              lib.nn.ReLU())
        m.qconfig = lib.ao.quantization.get_default_qat_qconfig("x86")
        return m
    cases = [
        lambda lib: lib.ao.quantization.prepare_qat(model(lib, num_features=4).eval()),
        lambda lib: lib.ao.quantization.fuse_modules_qat(model(lib, num_features=5),
                                                         [["0", "1"]]),
        lambda lib: lib.ao.quantization.fuse_modules_qat(model(lib, num_features=5),
                                                         [["0", "1", "2"]]),
        lambda lib: lib.ao.quantization.fuse_modules_qat(
            model(lib, num_features=4, affine=False), [["0", "1"]]),
        lambda lib: lib.ao.quantization.fuse_modules_qat(
            model(lib, num_features=4, track_running_stats=False), [["0", "1"]]),
        lambda lib: lib.ao.nn.qat.Linear(2, 3),
        lambda lib: lib.ao.nn.intrinsic.qat.ConvBn2d(2, 3, 1),
        lambda lib: lib.ao.nn.qat.Conv2d.from_float(lib.nn.Linear(2, 3)),
        lambda lib: lib.ao.nn.qat.Linear.from_float(model(lib, num_features=4)[0]),
        lambda lib: lib.ao.nn.intrinsic.qat.ConvBn2d.from_float(lib.nn.Conv2d(2, 3, 1)),
        lambda lib: lib.ao.quantization.FusedMovingAvgObsFakeQuantize(
            observer=lib.ao.quantization.MinMaxObserver),
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


# ---- 1-d and 3-d convolutions, Linear-BatchNorm1d ----------------------------------------------
_SHAPES = {1: (2, 3, 8), 3: (2, 3, 3, 4, 4)}


def _model_nd(lib, dims):
    nn, aq = lib.nn, lib.ao.quantization
    conv, bn = getattr(nn, f"Conv{dims}d"), getattr(nn, f"BatchNorm{dims}d")

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv, self.bn, self.relu = conv(3, 4, 3, padding=1), bn(4), nn.ReLU()
            self.conv2, self.bn2 = conv(4, 4, 1, bias=False), bn(4)
            self.fc, self.bn3 = nn.Linear(4, 5), nn.BatchNorm1d(5)
            self.dequant = aq.DeQuantStub()

        def features(self, x):
            return self.bn2(self.conv2(self.relu(self.bn(self.conv(self.quant(x))))))

        def forward(self, x):
            x = self.features(x)
            return self.dequant(self.bn3(self.fc(x.mean(dim=tuple(range(2, x.dim()))))))
    lib.manual_seed(0)
    return M().train()


def _trained_nd(lib, dims, data):
    aq = lib.ao.quantization
    m = _model_nd(lib, dims)
    m.qconfig = aq.get_default_qat_qconfig("x86")
    fused = aq.fuse_modules_qat(m, [["conv", "bn", "relu"], ["conv2", "bn2"], ["fc", "bn3"]])
    prepared = aq.prepare_qat(fused)
    texts = [repr(fused), repr(prepared)]
    opt = lib.optim.SGD(prepared.parameters(), lr=0.05)
    losses = []
    for x in data:
        loss = prepared(lib.from_numpy(x)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    prepared.apply(lib.ao.nn.intrinsic.qat.freeze_bn_stats)
    texts += [prepared.conv.freeze_bn, prepared.conv2.freeze_bn, prepared.fc.freeze_bn,
              repr(prepared.conv.to_float()), repr(prepared.conv2.to_float()),
              repr(prepared.fc.to_float())]
    return texts, losses, prepared


@pytest.mark.parametrize("dims", [1, 3])
def test_qat_flow_conv_bn_nd(dims):
    """ConvBn(ReLU)1d / 3d and LinearBn1d through fuse_modules_qat, prepare_qat, training
    (losses to float32 rounding), freeze_bn_stats (LinearBn1d's statistics keep training, as
    torch's) and to_float; given torch's trained state, the QAT outputs bit for bit, and convert
    folds the batch norms into torch's quantized Conv / ConvReLU / Linear: repr, state_dict,
    outputs (int_repr, scale, zero point)."""
    rng = np.random.default_rng(dims)
    # (one step: a fake-quantized value a float32 rounding away from a step apart would
    # change the next losses)
    data = [rng.standard_normal(_SHAPES[dims]).astype(np.float32)]
    (tt, lt, pt), (te, le, pe) = [_trained_nd(lib, dims, data) for lib in (torch, ember)]
    assert te[:5] == tt[:5]
    for a, b in zip(te[5:], tt[5:]):
        _close_texts(a, b)
    np.testing.assert_allclose(le, lt, rtol=1e-5)
    _loaded(pt.state_dict(), pe)
    _same_state(pt.state_dict(), pe.state_dict())
    x = rng.standard_normal(_SHAPES[dims]).astype(np.float32)
    # (in eval mode: LinearBn1d's batch norm would update its running statistics, which
    # ember's BatchNorm1d rounds differently from torch's for some batch sizes)
    pt.eval()
    pe.eval()
    assert _value(pe(ember.from_numpy(x))) == _value(pt(torch.from_numpy(x)))
    ct = torch.ao.quantization.convert(pt)
    ce = ember.ao.quantization.convert(pe)
    assert repr(ce) == repr(ct)
    _same_state(ct.state_dict(), ce.state_dict())
    assert _value(ce.features(ember.from_numpy(x))) == _value(ct.features(torch.from_numpy(x)))
    assert _value(ce(ember.from_numpy(x))) == _value(ct(torch.from_numpy(x)))
    _loaded(ct.state_dict(), ember.ao.quantization.convert(pe))   # (torch's state loads back)


def test_qat_modules_nd():
    """The QAT modules of 1-d and 3-d convolutions made directly, and LinearBn1d: reprs,
    state_dict keys, to_float, from_float's and the fused modules' checks."""
    def run(lib):
        iqat, nni = lib.ao.nn.intrinsic.qat, lib.ao.nn.intrinsic
        qc = lib.ao.quantization.get_default_qat_qconfig("x86")
        lib.manual_seed(0)
        mods = [iqat.ConvBn1d(3, 4, 3, stride=2, qconfig=qc),
                iqat.ConvBnReLU1d(3, 4, 1, bias=True, qconfig=qc),
                iqat.ConvReLU1d(3, 4, 2, qconfig=qc),
                iqat.ConvBn3d(3, 4, (1, 2, 2), qconfig=qc),
                iqat.ConvBnReLU3d(3, 4, 1, padding=1, qconfig=qc),
                iqat.ConvReLU3d(3, 4, 1, bias=False, qconfig=qc),
                iqat.LinearBn1d(3, 4, bias=False, qconfig=qc)]
        texts = []
        for m in mods:
            texts += [repr(m), list(m.state_dict()), repr(m.to_float()), m.freeze_bn
                      if hasattr(m, "freeze_bn") else None]
        for f in [lambda: nni.ConvBn3d(lib.nn.Conv3d(1, 2, 1), lib.nn.BatchNorm2d(2)),
                  lambda: nni.ConvBnReLU1d(lib.nn.Conv1d(1, 2, 1), lib.nn.BatchNorm1d(2),
                                           lib.nn.Tanh()),
                  lambda: nni.LinearBn1d(lib.nn.Linear(1, 2), lib.nn.BatchNorm2d(2)),
                  lambda: iqat.ConvBn3d.from_float(lib.nn.Conv3d(1, 2, 1)),
                  lambda: iqat.LinearBn1d.from_float(lib.nn.Linear(1, 2)),
                  lambda: iqat.LinearBn1d(2, 3),
                  lambda: lib.ao.quantization.fuse_modules_qat(
                      lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(4)),
                      ["0", "1"]),
                  lambda: lib.ao.quantization.fuse_modules_qat(
                      lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3).eval()),
                      ["0", "1"]),
                  lambda: lib.ao.quantization.fuse_modules_qat(
                      lib.nn.Sequential(lib.nn.ConvTranspose2d(2, 3, 1), lib.nn.BatchNorm2d(3)),
                      ["0", "1"])]:
            texts.append(_outcome(f))
        return texts
    t, e = run(torch), run(ember)
    assert len(e) == len(t)
    for a, b in zip(e, t):
        if isinstance(a, str):
            _close_texts(a, b)
        else:
            assert a == b


def test_fuse_modules_eval_nd():
    """fuse_modules (eval): Conv3d-BatchNorm3d(-ReLU), Conv3d-ReLU, Linear-BatchNorm1d,
    BatchNorm3d-ReLU and ConvTranspose1d-BatchNorm1d, with the batch norm folded (to float32
    rounding)."""
    def run(lib):
        nn = lib.nn
        lib.manual_seed(0)
        m = nn.Sequential(nn.Conv3d(2, 3, 1), nn.BatchNorm3d(3), nn.ReLU(), nn.Conv3d(3, 3, 1),
                          nn.BatchNorm3d(3), nn.Conv3d(3, 2, 1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(16, 4), nn.BatchNorm1d(4)).eval()
        for i in (1, 4, 9):
            m[i].running_mean.uniform_(-1, 1)
            m[i].running_var.uniform_(0.5, 2)
        f = lib.ao.quantization.fuse_modules(m, [["0", "1", "2"], ["3", "4"], ["5", "6"],
                                                 ["8", "9"]])
        bnrelu = lib.ao.quantization.fuse_modules(
            nn.Sequential(nn.BatchNorm3d(2), nn.ReLU(), nn.ConvTranspose1d(2, 3, 2),
                          nn.BatchNorm1d(3)).eval(), [["0", "1"], ["2", "3"]])
        x = lib.from_numpy(np.linspace(-1, 1, 32, dtype=np.float32)
                           .reshape(2, 2, 2, 2, 2))
        return repr(f) + repr(bnrelu), f(x).detach().numpy()
    (tt, yt), (te, ye) = run(torch), run(ember)
    assert te == tt
    np.testing.assert_allclose(ye, yt, rtol=1e-5, atol=1e-6)


# ---- Embedding and EmbeddingBag ------------------------------------------------------------------
def test_fake_quantize_float_qparams():
    """fake_quantize_per_channel_affine with float zero points (per_channel_affine_float_qparams):
    lrint(zero_point + x * inv_scale), (q - zero_point) * scale in double; NaN and infinities
    to quant_min; no range check of the zero points; the straight-through gradient."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((6, 3000)) * 2).astype(np.float32)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    s = (rng.random(6) * 0.05 + 0.005).astype(np.float32)
    z = (rng.standard_normal(6) * 80 + 128).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)

    def run(lib, dtype):
        xi = lib.from_numpy(x).to(getattr(lib, dtype)).requires_grad_()
        y = lib.fake_quantize_per_channel_affine(xi, lib.from_numpy(s), lib.from_numpy(z), 0,
                                                 0, 255)
        y.backward(lib.from_numpy(g).to(getattr(lib, dtype)))
        return str(y.dtype), y.detach().numpy().tobytes(), xi.grad.numpy().tobytes()
    for dtype in ("float32", "float64"):
        assert run(ember, dtype) == run(torch, dtype)


def _embedding_model(lib):
    nn = lib.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(12, 4, padding_idx=0)
            self.bag = nn.EmbeddingBag(12, 4, mode="sum")
            self.fc = nn.Linear(8, 2)

        def forward(self, idx, offsets):
            return self.fc(lib.cat([self.emb(idx).mean(1), self.bag(idx.reshape(-1), offsets)
                                    [:idx.shape[0]]], 1))
    lib.manual_seed(0)
    m = M().train()
    m.emb.qconfig = m.bag.qconfig = lib.ao.quantization.default_embedding_qat_qconfig
    return m


def test_embedding_qat_flow():
    """prepare_qat with the embedding QAT mappings: reprs, training steps (the embeddings'
    fake-quantized weights bit for bit, losses to float32 rounding), state_dicts (float zero
    points) both ways through torch.save / ember.load; QAT modules' own checks."""
    idx = np.array([[1, 2, 4], [4, 3, 11]])
    offsets = np.array([0, 3])

    def run(lib):
        aq = lib.ao.quantization
        p = aq.prepare_qat(_embedding_model(lib), aq.get_embedding_qat_module_mappings())
        opt = lib.optim.SGD(p.parameters(), lr=0.5)
        losses = []
        for _ in range(3):
            loss = p(lib.from_numpy(idx), lib.from_numpy(offsets)).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return repr(p), losses, p
    (rt, lt, pt), (re_, le, pe) = run(torch), run(ember)
    _close_texts(re_, rt)
    np.testing.assert_allclose(le, lt, rtol=1e-6)
    _loaded(pt.state_dict(), pe)
    _same_state(pt.state_dict(), pe.state_dict())
    assert [m.weight_fake_quant(m.weight).detach().numpy().tobytes()
            for m in (pe.emb, pe.bag)] == [m.weight_fake_quant(m.weight).detach().numpy()
                                           .tobytes() for m in (pt.emb, pt.bag)]
    buf = io.BytesIO()
    ember.save(pe.state_dict(), buf)
    buf.seek(0)
    pt.load_state_dict(torch.load(buf))
    _same_state(pe.state_dict(), pt.state_dict())


def test_embedding_qat_modules():
    def run(lib):
        nn, aq = lib.nn, lib.ao.quantization
        lib.manual_seed(0)
        qc = aq.default_embedding_qat_qconfig
        e = lib.ao.nn.qat.Embedding(10, 4, padding_idx=1, qconfig=qc)
        b = lib.ao.nn.qat.EmbeddingBag(10, 4, mode="sum", qconfig=qc)
        m = nn.EmbeddingBag(10, 4, mode="max")
        m.qconfig = qc
        b2 = lib.ao.nn.qat.EmbeddingBag.from_float(m)
        out = [repr(e), repr(b), repr(b2), list(e.state_dict()),
               repr(aq.float_qparams_weight_only_qconfig)]
        idx = lib.tensor([[1, 2, 4], [4, 3, 9]])
        for mod, args in ((e, (idx,)), (b, (idx,)),
                          (b2, (lib.tensor([1, 2, 4, 4, 3]), lib.tensor([0, 2])))):
            y = mod(*args)
            y.sum().backward()
            out += [y.detach().numpy().tobytes(), mod.weight.grad.numpy().tobytes(),
                    repr(mod.weight_fake_quant), repr(mod.to_float())]
        for f in (lambda: lib.ao.nn.qat.Embedding(3, 2, qconfig=aq.default_qat_qconfig),
                  lambda: lib.ao.nn.qat.EmbeddingBag(3, 2, qconfig=aq.default_qat_qconfig),
                  lambda: lib.ao.nn.qat.Embedding(3, 2),
                  lambda: lib.ao.nn.qat.EmbeddingBag.from_float(nn.Embedding(2, 2)),
                  lambda: lib.ao.nn.qat.Embedding.from_float(nn.Embedding(2, 2)),
                  lambda: aq.NoopObserver().calculate_qparams()):
            out.append(_outcome(f))
        return [o.replace("ember", "torch") if isinstance(o, str) else o for o in out]
    assert run(ember) == run(torch)
