"""torch's quantized tensors and fake quantization against torch 2.13 (CPU): dtypes, rounding
bit for bit, printing, views, refusals, saving and loading, gradients."""
import copy
import io
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember

QDTYPES = ["quint8", "qint8", "qint32", "quint4x2", "quint2x4"]
SCHEMES = ["per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
           "per_channel_symmetric", "per_channel_affine_float_qparams"]
RANGES = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-1000, 1000), "quint4x2": (0, 15),
          "quint2x4": (0, 3)}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch's (and ember's) deprecation of quint8 & co.
        yield


def _outcome(f):
    """What f() gives: quantized tensors as their repr, integers and parameters, other
    tensors as dtype, shape and values, exceptions as their class and message."""
    try:
        r = f()
    except Exception as e:      # noqa: BLE001  (the class and message are compared)
        return type(e).__name__, str(e).split(" This could be")[0]
    return _value(r)


def _value(r):
    if isinstance(r, (tuple, list)):
        return type(r).__name__, [_value(v) for v in r]
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        if r.is_quantized:
            return "q", repr(r), r.int_repr().tolist(), str(r.dtype), r.stride()
        return str(r.dtype), tuple(r.shape), repr(r.tolist())
    return repr(r)


def _both(f):
    return _outcome(lambda: f(torch)), _outcome(lambda: f(ember))


def _pair(a):
    return torch.from_numpy(a.copy()), ember.from_numpy(a.copy())


# ---- dtypes and schemes -------------------------------------------------------------------------
@pytest.mark.parametrize("name", QDTYPES)
def test_dtype_attributes(name):
    t, e = getattr(torch, name), getattr(ember, name)
    assert (repr(e), str(e), e.is_floating_point, e.is_complex, e.itemsize) == \
        (repr(t), str(t), t.is_floating_point, t.is_complex, t.itemsize)
    assert e.to_real() is e
    for f in (lambda m, d: d.is_signed, lambda m, d: d.to_complex(),
              lambda m, d: (m.iinfo(d).bits, m.iinfo(d).min, m.iinfo(d).max),
              lambda m, d: m.iinfo(d).dtype, lambda m, d: repr(m.iinfo(d)),
              lambda m, d: m.finfo(d), lambda m, d: m.promote_types(d, m.float32),
              lambda m, d: m.promote_types(d, d)):
        a, b = _both(lambda m: f(m, getattr(m, name)))
        assert a == b


@pytest.mark.parametrize("name", SCHEMES)
def test_qscheme(name):
    t, e = getattr(torch, name), getattr(ember, name)
    assert (repr(e), str(e), type(e).__name__) == (repr(t), str(t), type(t).__name__)


# ---- rounding, bit for bit ----------------------------------------------------------------------
def _tricky(rng, n, scale):
    """Values at, next to and between quantization ties, out of range, and non-finite."""
    k = rng.integers(-400, 400, n).astype(np.float64)
    frac = rng.choice([0.5, -0.5, 0.4999999, 0.5000001, 0.0, 0.25], n)
    x = ((k + frac) * scale).astype(np.float32)
    x[rng.random(n) < 0.05] = np.float32(rng.choice([np.nan, np.inf, -np.inf, 1e10, -1e10]))
    return x


@pytest.mark.parametrize("name", QDTYPES)
def test_quantize_per_tensor_rounding(name):
    rng = np.random.default_rng(QDTYPES.index(name))
    lo, hi = RANGES[name]
    for trial in range(15):
        scale = float(rng.choice([0.5, 0.1, 0.25, 1 / 3, 0.0123, rng.uniform(1e-3, 3)]))
        zp = int(rng.integers(lo, hi + 1))
        n = int(rng.integers(1, 70))
        x, y = _pair(_tricky(rng, n, scale))
        t = torch.quantize_per_tensor(x, scale, zp, getattr(torch, name))
        e = ember.quantize_per_tensor(y, scale, zp, getattr(ember, name))
        assert e.int_repr().tolist() == t.int_repr().tolist(), (scale, zp)
        assert e.dequantize().numpy().tobytes() == t.dequantize().numpy().tobytes()
        assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())


@pytest.mark.parametrize("name", ["quint8", "qint8", "qint32"])
def test_quantize_per_channel_rounding(name):
    rng = np.random.default_rng(10 + QDTYPES.index(name))
    lo, hi = RANGES[name]
    for axis in (0, 1, 2):
        shape = [3, 4, 5]
        n = shape[axis]
        scales = rng.choice([0.5, 0.1, 1 / 3, 0.0123, 2.0], n)
        zps = rng.integers(lo, hi + 1, n)
        bshape = [1, 1, 1]
        bshape[axis] = n
        a = ((rng.integers(-300, 300, shape) + rng.choice([0.5, 0.4999999, 0.0], shape)) *
             scales.reshape(bshape)).astype(np.float32)
        x, y = _pair(a)
        t = torch.quantize_per_channel(x, torch.from_numpy(scales), torch.from_numpy(zps), axis,
                                       getattr(torch, name))
        e = ember.quantize_per_channel(y, ember.from_numpy(scales), ember.from_numpy(zps), axis,
                                       getattr(ember, name))
        assert e.int_repr().tolist() == t.int_repr().tolist()
        assert e.dequantize().numpy().tobytes() == t.dequantize().numpy().tobytes()
        assert repr(e) == repr(t)


def test_quantize_per_channel_nan_and_infinities():
    a = np.array([[np.nan, np.inf, -np.inf, 1e10, -1e10, 0.25]], np.float32)
    for name in ("quint8", "qint8", "qint32"):
        t, e = _both(lambda m: m.quantize_per_channel(
            m.from_numpy(a.copy()), m.tensor([0.5], dtype=m.float64), m.tensor([3]), 0,
            getattr(m, name)))
        assert t == e and t[0] == "q"


@pytest.mark.parametrize("name", ["quint8", "qint8", "qint32"])
def test_dequantize_bits(name):
    rng = np.random.default_rng(20)
    lo, hi = RANGES[name]
    np_dtype = {"quint8": np.uint8, "qint8": np.int8, "qint32": np.int32}[name]
    for trial in range(8):
        ints = rng.integers(lo, hi + 1, 37).astype(np_dtype)
        scale, zp = float(rng.uniform(1e-4, 3)), int(rng.integers(lo, hi + 1))
        x, y = _pair(ints)
        t = torch._make_per_tensor_quantized_tensor(x, scale, zp)
        e = ember._make_per_tensor_quantized_tensor(y, scale, zp)
        assert e.dequantize().numpy().tobytes() == t.dequantize().numpy().tobytes()
        s, z = rng.uniform(1e-4, 3, 37), rng.integers(lo, hi + 1, 37)
        t = torch._make_per_channel_quantized_tensor(x, torch.from_numpy(s), torch.from_numpy(z),
                                                     0)
        e = ember._make_per_channel_quantized_tensor(y, ember.from_numpy(s), ember.from_numpy(z),
                                                     0)
        assert e.dequantize().numpy().tobytes() == t.dequantize().numpy().tobytes()
        assert repr(e) == repr(t)


@pytest.mark.parametrize("values", [[-1.0, 0.5, 3.0], [0.2, 0.7, 1.9], [-3.0, -0.1], [0.0, 0.0],
                                    [1e-6, 2e-6], [-2e-6, 1e-6], [-5.0, 1e-6], [7.25]])
@pytest.mark.parametrize("name", ["quint8", "qint8"])
@pytest.mark.parametrize("reduce_range", [False, True])
def test_quantize_per_tensor_dynamic(values, name, reduce_range):
    a = np.array(values, np.float32)
    t, e = _both(lambda m: m.quantize_per_tensor_dynamic(m.from_numpy(a.copy()), getattr(m, name),
                                                         reduce_range))
    assert t == e


def test_quantize_overloads_and_shapes():
    x = np.array([[-1.0, 0.0, 0.25], [0.5, 1.5, 2.5]], np.float32)
    cases = [
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()), m.tensor(0.5), m.tensor(3),
                                        m.qint8),
        lambda m: m.quantize_per_tensor([m.from_numpy(x.copy()), m.from_numpy(x.copy())],
                                        m.tensor([0.5, 1.0]), m.tensor([3, 4]), m.qint32),
        lambda m: m.quantize_per_tensor(m.tensor(1.0), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.tensor(1.0), 0.5, 3, m.quint4x2),
        lambda m: m.quantize_per_tensor(m.tensor(1.0), 0.5, 3, m.qint32),
        lambda m: m.quantize_per_tensor(m.tensor([]), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.zeros(2, 0), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.arange(2000.).reshape(40, 50), 0.5, 3, m.qint32),
        lambda m: m.quantize_per_tensor(m.tensor([0., 0.05, 0.15, 0.25, 1.0, -1.0, 100., 0.35]),
                                        0.1, 1, m.quint4x2),
        lambda m: m.quantize_per_tensor(m.tensor([0., 0.05, 0.15, 0.25, 1.0, -1.0, 100.]), 0.1,
                                        1, m.quint2x4),
        lambda m: m._make_per_tensor_quantized_tensor(m.tensor([1, 2], dtype=m.int8), 0.1, 2),
        lambda m: m._make_per_channel_quantized_tensor(m.tensor([[1, 2]], dtype=m.uint8),
                                                       m.tensor([0.1]), m.tensor([2]), 0),
        lambda m: m.dequantize([m.quantize_per_tensor(m.from_numpy(x.copy()), 0.5, 3, m.quint8),
                                m.from_numpy(x.copy())]),
        lambda m: m.from_numpy(x.copy()).dequantize(),
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()).t(), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.ones(1, 3, 2, 2).to(memory_format=m.channels_last),
                                        0.5, 3, m.quint8),
        lambda m: m.quantize_per_channel(m.from_numpy(x.copy()).t(), m.ones(3),
                                         m.zeros(3, dtype=m.long), 0, m.quint8),
        lambda m: m.quantize_per_tensor_dynamic(m.from_numpy(x.copy()), m.float16, False),
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


def test_quantize_errors():
    x = np.array([1.0, 2.0], np.float32)
    cases = [
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()), 0.5, 300, m.quint8),
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()), 0.5, -1, m.quint8),
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()).double(), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()).int(), 0.5, 3, m.quint8),
        lambda m: m.quantize_per_tensor(m.from_numpy(x.copy()), 0.5, 3, m.float32),
        lambda m: m.quantize_per_channel(m.ones(2, 3), m.tensor([0.1, 0.2]), m.tensor([0, 1]),
                                         1, m.qint8),
        lambda m: m.quantize_per_channel(m.ones(2, 3), m.tensor([0.1, 0.2]), m.tensor([0]), 0,
                                         m.qint8),
        lambda m: m.quantize_per_channel(m.ones(2, 3), m.tensor([0.1, 0.2]), m.tensor([0, 300]),
                                         0, m.qint8),
        lambda m: m.quantize_per_channel(m.ones(2, 3), m.tensor([0.1, 0.2]), m.tensor([0, 1]), 2,
                                         m.qint8),
        lambda m: m.quantize_per_channel(m.ones(2, 3), m.tensor([0.1, 0.2]), m.tensor([0, 1]), 0,
                                         m.quint4x2),
        lambda m: m.quantize_per_tensor_dynamic(m.tensor([]), m.quint8, False),
        lambda m: m.quantize_per_tensor_dynamic(m.tensor([1.0, float("nan")]), m.qint8, False),
        lambda m: m.quantize_per_tensor_dynamic(m.tensor([1.0]), m.qint32, False),
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


# ---- accessors, printing, views -----------------------------------------------------------------
def _q(m):
    x = m.tensor([[-1.0, 0.0, 0.25, 7.0], [0.5, 1.5, 2.5, -3.0], [9.0, 0.75, -0.25, 1.0]])
    return m.quantize_per_tensor(x, 0.5, 3, m.quint8)


def _qc(m):
    w = m.arange(24.).reshape(2, 3, 4) / 10 - 1
    return m.quantize_per_channel(w, m.tensor([0.1, 0.2, 0.3]), m.tensor([0, 1, -2]), 1, m.qint8)


ACCESSORS = [
    lambda m: _q(m).q_scale(), lambda m: _q(m).q_zero_point(), lambda m: _q(m).qscheme(),
    lambda m: _q(m).is_quantized, lambda m: m.ones(2).is_quantized, lambda m: _q(m).dtype,
    lambda m: _q(m).int_repr(), lambda m: _q(m).dequantize(), lambda m: m.dequantize(_q(m)),
    lambda m: _qc(m).q_per_channel_scales(), lambda m: _qc(m).q_per_channel_zero_points(),
    lambda m: _qc(m).q_per_channel_axis(), lambda m: _qc(m).qscheme(), lambda m: _qc(m),
    lambda m: _qc(m).q_scale(), lambda m: _qc(m).q_zero_point(),
    lambda m: _q(m).q_per_channel_scales(), lambda m: _q(m).q_per_channel_axis(),
    lambda m: m.ones(2).int_repr(), lambda m: m.ones(2).q_scale(), lambda m: m.ones(2).qscheme(),
    lambda m: _q(m).type(), lambda m: _q(m).is_floating_point(), lambda m: _q(m).element_size(),
    lambda m: _q(m).nbytes, lambda m: _q(m).stride(), lambda m: _q(m).is_contiguous(),
    lambda m: _q(m)[0, 0].item(), lambda m: _q(m).item(), lambda m: str(_q(m)),
    lambda m: m.quantize_per_tensor(m.arange(3000.) / 7, 0.25, 1, m.qint32),
    lambda m: m.quantize_per_tensor(m.tensor([1e6, -2e-4, 3.0]), 1e-4, 0, m.qint32),
    lambda m: m.quantize_per_tensor(m.tensor([1.0, 2.0]), 0.5, 0, m.quint8).requires_grad,
]


def test_accessors_and_repr():
    for f in ACCESSORS:
        t, e = _both(f)
        assert t == e


VIEWS = [
    lambda q: q[0], lambda q: q[:, 1:], lambda q: q[1:, ::2], lambda q: q[..., 0],
    lambda q: q[[0, 2]], lambda q: q[q.int_repr() > 4], lambda q: q.t()[[0, 3]],
    lambda q: q.view(4, 3), lambda q: q.view(-1), lambda q: q.reshape(2, 6),
    lambda q: q.permute(1, 0), lambda q: q.t(), lambda q: q.transpose(0, 1).contiguous(),
    lambda q: q.t().reshape(-1), lambda q: q.clone(), lambda q: q.detach(), lambda q: q.to("cpu"),
    lambda q: q.cpu(), lambda q: q.flatten(), lambda q: q.unsqueeze(0), lambda q: q[None],
    lambda q: q.unsqueeze(1).squeeze(), lambda q: q.expand(2, 3, 4), lambda q: q.narrow(1, 1, 2),
    lambda q: q.select(0, 1), lambda q: q.split(2), lambda q: q.chunk(2, 1), lambda q: q.unbind(1),
    lambda q: list(q), lambda q: len(q), lambda q: q.data, lambda q: q.t().is_contiguous(),
    lambda q: q[1:].storage_offset(),
]


@pytest.mark.parametrize("i", range(len(VIEWS)))
def test_views(i):
    t, e = _both(lambda m: VIEWS[i](_q(m)))
    assert t == e


def _q8(m):
    x = m.tensor([[-1.0, 0.0, 0.25, 7.0], [0.5, -1.5, 2.5, -3.0], [9.0, 0.75, -0.25, 1.0]])
    return m.quantize_per_tensor(x, 0.25, -3, m.qint8)


QOPS = [
    lambda m, q: m.relu(q), lambda m, q: q.relu(), lambda m, q: m.nn.functional.relu(q),
    lambda m, q: q.flip(0), lambda m, q: q.flip((0, 1)), lambda m, q: q.repeat(2, 1),
    lambda m, q: q.index_select(1, m.tensor([3, 0, 0])), lambda m, q: q.max(),
    lambda m, q: q.min(), lambda m, q: q.sort(), lambda m, q: q.sort(0, descending=True),
    lambda m, q: q.masked_fill(m.arange(12).reshape(3, 4) % 2 == 0, -0.3),
    lambda m, q: q.mean(), lambda m, q: q.mean(1), lambda m, q: q.mean(0),
    lambda m, q: q.t().mean(1), lambda m, q: q.mean((0, 1), keepdim=True),
]


@pytest.mark.parametrize("make", [_q, _q8])
@pytest.mark.parametrize("i", range(len(QOPS)))
def test_quantized_kernels(make, i):
    """The ops torch runs on quantized tensors: rearranging or picking integers, and relu."""
    t, e = _both(lambda m: QOPS[i](m, make(m)))
    assert t == e


def _qc2(m):
    return m.quantize_per_channel(m.tensor([[1.0, 2, 3], [4, 5, 6]]), m.tensor([0.1, 0.2]),
                                  m.tensor([0, 1]), 0, m.qint8)


@pytest.mark.parametrize("f", [
    lambda m: m.relu(_qc2(m)), lambda m: _qc2(m).flip(1), lambda m: _qc2(m).repeat(2, 1),
    lambda m: _qc2(m).index_select(1, m.tensor([0])), lambda m: _qc2(m).max(),
    lambda m: _qc2(m).min(), lambda m: _qc2(m).sort(), lambda m: _qc2(m).permute(1, 0),
    lambda m: _qc2(m).mean(),
    lambda m: _qc2(m).t(), lambda m: _qc2(m).transpose(0, 1)])
def test_per_channel_refusals(f):
    t, e = _both(f)
    assert t == e


COPIES = [
    lambda m: copy.deepcopy(_q(m)), lambda m: copy.deepcopy(_qc(m)),
    lambda m: pickle.loads(pickle.dumps(_q(m))), lambda m: pickle.loads(pickle.dumps(_qc(m))),
    lambda m: _q(m).copy_(_q8(m)), lambda m: _q(m).copy_(m.ones(3, 4) / 3),
    lambda m: _q(m).copy_(m.tensor([0.25, 1.0, 9.0, -2.0])), lambda m: m.ones(3, 4).copy_(_q(m)),
    lambda m: _q(m).copy_(m.ones(3, 4).double()), lambda m: _q(m).copy_(_q(m)[1]),
    lambda m: _qc(m).copy_(m.ones(2, 3, 4) / 7), lambda m: m.tensor(_q(m)),
    lambda m: _q(m).clone(memory_format=m.contiguous_format), lambda m: _qc(m).fill_(1.0),
]


@pytest.mark.parametrize("i", range(len(COPIES)))
def test_copies(i):
    """deepcopy, pickle and copy_: another quantized tensor's integers and parameters, or float
    values quantized with the destination's parameters."""
    t, e = _both(COPIES[i])
    assert t == e


@pytest.mark.parametrize("f", [
    lambda q: q[0], lambda q: q[1:], lambda q: q[:, 1:], lambda q: q[:, ::2], lambda q: q[:, ::-1],
    lambda q: q[..., 1:3], lambda q: q[None], lambda q: q.unsqueeze(0), lambda q: q.unsqueeze(2),
    lambda q: q.unsqueeze(-1), lambda q: q.view(2, 3, 2, 2), lambda q: q.flatten(2),
    lambda q: q.narrow(1, 1, 2), lambda q: q[:, 1], lambda q: q.select(1, 0),
    lambda q: q[:, 2:3], lambda q: q[1, 2], lambda q: q[1, 2, 3], lambda q: q[:1].squeeze(0),
    lambda q: q[1, 2, 3].item()])
def test_per_channel_views(f):
    """Views of a per-channel tensor keep the parameters of the channels they keep, along the
    dim the channels went to (one channel: per tensor), as torch's."""
    t, e = _both(lambda m: f(_qc(m)))
    assert t == e


def _written(f):
    def run(m):
        q = _q(m)
        f(m, q)
        return q
    return run


WRITES = [
    lambda m, q: q.fill_(0.25), lambda m, q: q.fill_(1e9), lambda m, q: q.fill_(float("nan")),
    lambda m, q: q.__setitem__(0, 1.25), lambda m, q: q.__setitem__((0, 2), -0.75),
    lambda m, q: q.__setitem__(m.tensor([True, False, True]), 0.75),
    lambda m, q: q.__setitem__(0, _q(m)[1]), lambda m, q: q.zero_(),
    lambda m, q: q.__setitem__(0, m.arange(4.0, dtype=m.float64)),
    lambda m, q: q.masked_fill_(m.arange(12).reshape(3, 4) % 3 == 0, 0.75),
]


@pytest.mark.parametrize("i", range(len(WRITES)))
def test_writes(i):
    """fill_, setitem and masked_fill quantize the value with the tensor's parameters."""
    t, e = _both(_written(WRITES[i]))
    assert t == e


def test_cat_stack_equal_compare():
    def q2(m):
        return m.quantize_per_tensor(m.tensor([[0.5, -0.25, 3.0, 1.0]]), 0.25, 1, m.quint8)
    cases = [
        lambda m: m.cat([_q(m), _q(m)]), lambda m: m.cat([_q(m), _q(m)], 1),
        lambda m: m.cat([_q(m), q2(m)]), lambda m: m.stack([_q(m), _q(m)]),
        lambda m: m.cat([_qc(m), _qc(m)]),
        lambda m: m.equal(_q(m), _q(m)), lambda m: m.equal(_q(m)[:1], q2(m)),
        lambda m: m.equal(_q(m), _q(m).dequantize()), lambda m: m.equal(_q(m).dequantize(), _q(m)),
        lambda m: m.equal(_qc(m), _qc(m)), lambda m: m.equal(_q(m), _q(m).clone()),
        lambda m: _q(m) == _q(m), lambda m: _q(m)[:1] != q2(m), lambda m: _q(m) < 1.0,
        lambda m: _q(m) >= 0.5,
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


REFUSED = [
    lambda m, q: q + q, lambda m, q: q - q, lambda m, q: q * q, lambda m, q: -q,
    lambda m, q: q.exp(), lambda m, q: q.abs(), lambda m, q: q.sum(), lambda m, q: q.sum(0),
    lambda m, q: q + 1, lambda m, q: q * 2, lambda m, q: q / 2, lambda m, q: q + q.dequantize(),
    lambda m, q: q.dequantize() + q, lambda m, q: q.float(), lambda m, q: q.double(),
    lambda m, q: q.to(m.float32), lambda m, q: q.numpy(), lambda m, q: q.tolist(),
    lambda m, q: q.requires_grad_(), lambda m, q: m.ones(2).to(m.quint8),
    lambda m, q: q.add_(q), lambda m, q: q.mul_(2), lambda m, q: q @ q.t(),
    lambda m, q: q.cumsum(0), lambda m, q: q.round(),
    lambda m, q: m.tensor([1], dtype=m.quint8).dtype,
]


@pytest.mark.parametrize("i", range(len(REFUSED)))
def test_refusals(i):
    """The ops torch refuses on quantized tensors raise its exception class and message (up to
    the list of backends)."""
    t, e = _both(lambda m: REFUSED[i](m, _q(m)))
    assert t[0] == e[0] and t[0].endswith("Error")
    if i != len(REFUSED) - 1:       # (torch: "store_scalar: invalid type"; ember: no dtype)
        assert t == e


def test_deprecation_warning():
    from ember._warnings import GIVEN
    from ember._quantized import _DEPRECATED
    GIVEN.discard(_DEPRECATED)
    out = {}
    for m in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m.quantize_per_tensor(m.ones(2), 0.5, 3, m.quint8)
            m.quantize_per_tensor(m.ones(2), 0.5, 3, m.quint8)
        out[m] = [(x.category, str(x.message)) for x in w]
    assert len(out[ember]) == 1 and out[ember][0] == (UserWarning, _DEPRECATED)
    assert out[torch] in ([], out[ember])   # (torch warns once per process)


# ---- saving and loading -------------------------------------------------------------------------
def _saved(m):
    q = _q(m)
    return {"q": q, "qt": q.t(), "tail": q[1:], "qc": _qc(m), "q32": m.quantize_per_tensor(
        m.tensor([1.0, -2.5, 1e3]), 0.01, -7, m.qint32), "x": m.ones(2)}


@pytest.mark.parametrize("weights_only", [True, False])
def test_save_load_both_ways(weights_only):
    buf = io.BytesIO()
    ember.save(_saved(ember), buf)
    buf.seek(0)
    got = torch.load(buf, weights_only=weights_only)
    want = _saved(torch)
    assert all(torch.equal(got[k], want[k]) and got[k].stride() == want[k].stride()
               for k in want)
    buf = io.BytesIO()
    torch.save(want, buf)
    buf.seek(0)
    got = ember.load(buf, weights_only=weights_only)
    assert {k: _value(v) for k, v in got.items()} == {k: _value(v) for k, v in want.items()}
    assert got["q"].untyped_storage().data_ptr() == got["tail"].untyped_storage().data_ptr()


# ---- fake quantization --------------------------------------------------------------------------
def _fq_pair(a, dtype):  # (leaves of the dtype)
    x, y = _pair(a)
    return (x.to(getattr(torch, dtype)).detach().requires_grad_(),
            y.to(getattr(ember, dtype)).detach().requires_grad_())


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_fake_quantize_per_tensor(dtype):
    rng = np.random.default_rng(30)
    for trial in range(8):
        scale = float(rng.choice([0.5, 0.1, 1 / 3, 0.0123, rng.uniform(1e-3, 2)]))
        qmin, qmax = [(0, 255), (-128, 127), (0, 15), (-7, 7)][trial % 4]
        zp = int(rng.integers(qmin, qmax + 1))
        a = _tricky(rng, 50, scale)
        for tensor_qparams in (False, True):
            x, y = _fq_pair(a, dtype)
            if tensor_qparams:
                args = [(m.tensor(scale), m.tensor(zp, dtype=m.int32)) for m in (torch, ember)]
            else:
                args = [(scale, zp)] * 2
            t = torch.fake_quantize_per_tensor_affine(x, *args[0], qmin, qmax)
            e = ember.fake_quantize_per_tensor_affine(y, *args[1], qmin, qmax)
            assert e.detach().numpy().tobytes() == t.detach().numpy().tobytes()
            assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
            g = rng.standard_normal(a.shape).astype(np.float32)
            t.backward(torch.from_numpy(g).to(t.dtype))
            e.backward(ember.from_numpy(g).to(e.dtype))
            assert y.grad.numpy().tobytes() == x.grad.numpy().tobytes()


@pytest.mark.parametrize("axis", [0, 1])
def test_fake_quantize_per_channel(axis):
    rng = np.random.default_rng(40 + axis)
    a = _tricky(rng, 60, 0.1).reshape(6, 10)
    for dtype in ("float32", "float64"):
        n = a.shape[axis]
        s = rng.choice([0.5, 0.1, 1 / 3, 0.0123], n).astype(np.float32)
        z = rng.integers(0, 16, n).astype(np.int32)
        x, y = _fq_pair(a, dtype)
        t = torch.fake_quantize_per_channel_affine(x, torch.from_numpy(s), torch.from_numpy(z),
                                                   axis, 0, 15)
        e = ember.fake_quantize_per_channel_affine(y, ember.from_numpy(s), ember.from_numpy(z),
                                                   axis, 0, 15)
        assert e.detach().numpy().tobytes() == t.detach().numpy().tobytes()
        assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
        t.sum().backward()
        e.sum().backward()
        assert y.grad.numpy().tobytes() == x.grad.numpy().tobytes()


def test_fake_quantize_errors():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    cases = [
        lambda m: m.fake_quantize_per_tensor_affine(m.from_numpy(x.copy()), 0.5, 3, 7, 0),
        lambda m: m.fake_quantize_per_tensor_affine(m.from_numpy(x.copy()), 0.5, 9, 0, 7),
        lambda m: m.fake_quantize_per_tensor_affine(m.from_numpy(x.copy()).int(), 0.5, 3, 0, 7),
        lambda m: m.fake_quantize_per_tensor_affine(m.from_numpy(x.copy()), m.tensor(0.5),
                                                    m.tensor(3), 0, 7),
        lambda m: m.fake_quantize_per_channel_affine(m.from_numpy(x.copy()), m.tensor([.5, .2]),
                                                     m.tensor([3, 1]), 0, 0, 7),
        lambda m: m.fake_quantize_per_channel_affine(
            m.from_numpy(x.copy()), m.tensor([.5, .2]).double(), m.tensor([3, 1], dtype=m.int32),
            0, 0, 7),
        lambda m: m.fake_quantize_per_channel_affine(
            m.from_numpy(x.copy()), m.tensor([.5, .2, .1]), m.tensor([3, 1, 1], dtype=m.int32),
            0, 0, 7),
    ]
    for f in cases:
        t, e = _both(f)
        assert t == e


def test_fake_quantize_learnable_per_tensor():
    """LSQ's fake quantization: its output and the gradients of x, scale and zero point, bit
    for bit (x's straight through; gradcheck does not apply, as in torch: rounding is flat)."""
    rng = np.random.default_rng(50)
    for trial in range(8):
        scale = np.float32(rng.choice([0.5, 0.1, 1 / 3, rng.uniform(1e-3, 2)]))
        qmin, qmax = [(0, 255), (-128, 127), (0, 15), (-7, 7)][trial % 4]
        zp = np.float32(rng.choice([rng.uniform(qmin, qmax), np.floor(rng.uniform(qmin, qmax)) +
                                    0.5, 2.0, qmax + 3.0]))
        grad_factor = float(rng.choice([1.0, 0.5, 1 / 3]))
        a = _tricky(rng, 50, float(scale))
        g = rng.standard_normal(50).astype(np.float32)
        out = []
        for m in (torch, ember):
            x = m.from_numpy(a.copy()).requires_grad_()
            s = m.tensor([scale]).requires_grad_()
            z = m.tensor([zp]).requires_grad_()
            y = m._fake_quantize_learnable_per_tensor_affine(x, s, z, qmin, qmax, grad_factor)
            y.backward(m.from_numpy(g.copy()))
            out.append([type(y.grad_fn).__name__] + [
                v.detach().numpy().tobytes() for v in (y, x.grad, s.grad, z.grad)])
        assert out[0] == out[1]


def test_fake_quantize_learnable_errors():
    def run(m, lo=0, dtype="float32", scale=(0.5,)):
        x = m.tensor([1.0, 2.0, 30.0], dtype=getattr(m, dtype)).requires_grad_()
        s = m.tensor(scale).requires_grad_()
        y = m._fake_quantize_learnable_per_tensor_affine(x, s, m.tensor([2.6]), lo, 7, 1.0)
        y.sum().backward()
        return s.grad
    for kw in ({"lo": 1}, {"dtype": "float64"}, {"scale": 0.5}):
        t, e = _both(lambda m: run(m, **kw))
        assert t == e


# ---- torch.ao.quantization ----------------------------------------------------------------------
def _inputs(m):
    return [m.arange(24.).reshape(4, 6) / 7 - 1, m.arange(24.).reshape(4, 6) / 3 - 2,
            m.tensor([[0.5, -0.25, 3.0, 1.0, 2.0, 9.0]] * 4)]


OBSERVERS = [
    lambda q, m: q.MinMaxObserver(), lambda q, m: q.MovingAverageMinMaxObserver(),
    lambda q, m: q.default_observer(), lambda q, m: q.default_weight_observer(),
    lambda q, m: q.PerChannelMinMaxObserver(),
    lambda q, m: q.default_per_channel_weight_observer(),
    lambda q, m: q.MovingAveragePerChannelMinMaxObserver(ch_axis=1, averaging_constant=0.5),
    lambda q, m: q.MinMaxObserver(dtype=m.qint8, qscheme=m.per_tensor_symmetric,
                                  reduce_range=True),
    lambda q, m: q.MinMaxObserver(quant_min=0, quant_max=15),
    lambda q, m: q.MinMaxObserver(qscheme=m.per_tensor_symmetric),
]


@pytest.mark.parametrize("i", range(len(OBSERVERS)))
def test_observers(i):
    def run(m):
        obs = OBSERVERS[i](m.ao.quantization, m)
        out = [obs.calculate_qparams()]
        for x in _inputs(m):
            obs(x)
            out += [obs.calculate_qparams(), repr(obs)]
        return out
    t, e = _both(run)
    assert t == e


@pytest.mark.parametrize("name", ["FakeQuantize", "default_fake_quant",
                                  "default_weight_fake_quant",
                                  "default_per_channel_weight_fake_quant",
                                  "FusedMovingAvgObsFakeQuantize", "default_fused_act_fake_quant",
                                  "default_fused_wt_fake_quant",
                                  "default_fused_per_channel_wt_fake_quant"])
def test_fake_quantize_module(name):
    def run(m):
        q = m.ao.quantization
        fq = getattr(q, name)()
        out = []
        for x in _inputs(m):
            x = x.clone().requires_grad_()
            y = fq(x)
            y.sum().backward()
            out += [y, x.grad, fq.scale, fq.zero_point]
        out += [repr(fq), sorted(fq.state_dict())]
        fq.apply(q.disable_observer)
        fq.apply(q.disable_fake_quant)
        return out + [fq(_inputs(m)[0]), fq.observer_enabled, fq.fake_quant_enabled,
                      q.default_qconfig.activation().quant_max,
                      q.default_qat_qconfig.weight().qscheme]
    t, e = _both(run)
    assert t == e


def test_observer_errors():
    cases = [
        lambda q, m: q.MinMaxObserver(qscheme=m.per_channel_affine),
        lambda q, m: q.MinMaxObserver(quant_min=1, quant_max=5),
        lambda q, m: q.FakeQuantize(quant_min=0, quant_max=300),
        lambda q, m: q.QConfig(activation=q.MinMaxObserver(), weight=q.MinMaxObserver),
    ]
    for f in cases:
        t, e = _both(lambda m: f(m.ao.quantization, m))
        assert t == e


def test_with_callable_args():
    """with_callable_args calls its factories per construction, only for arguments not given."""
    def run(m):
        calls = []

        def eps():
            calls.append(1)
            return 0.5
        make = m.ao.quantization.MinMaxObserver.with_callable_args(eps=eps)
        return [make().eps, make(eps=0.25).eps, len(calls)]
    t, e = _both(run)
    assert t == e


def test_functional_forms_of_the_quantizer_accessors():
    """torch.q_scale, torch.int_repr & co.: the methods' values, torch's errors for a tensor
    that is not quantized and for a non-tensor."""
    def run(L):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = L.quantize_per_tensor(L.tensor([1.0, 2.0]), 0.1, 0, L.quint8)
            qc = L.quantize_per_channel(L.ones(2, 2), L.tensor([0.1, 0.2]), L.tensor([0, 1]),
                                        0, L.quint8)
        out = [L.q_scale(q), L.int_repr(q).tolist(), L.q_zero_point(q),
               L.q_per_channel_scales(qc).tolist(), L.q_per_channel_zero_points(qc).tolist(),
               L.q_per_channel_axis(qc)]
        for bad in (lambda: L.q_scale(1), lambda: L.int_repr(L.ones(2))):
            try:
                bad()
            except (TypeError, NotImplementedError) as e:
                out.append((type(e).__name__, str(e).split(".")[0]))
        return out
    assert run(ember) == run(torch)
