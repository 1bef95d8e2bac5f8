"""RNN, LSTM, GRU, their cells and packed sequences against torch, weights copied from torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, host

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-10)}


def _pair(cls_name, dtype, *args, **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls_name)(*args, **kw).to(getattr(torch, dtype))
    e = getattr(ember.nn, cls_name)(*args, **kw).to(getattr(ember, dtype))
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _inputs(shape, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check_grads(e_mod, t_mod, e_ins, t_ins, tol):
    for (n, pe), (_, pt) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert_close(pe.grad, pt.grad, **tol)
    for a, b in zip(e_ins, t_ins):
        assert_close(a.grad, b.grad, **tol)


def _backward(outs_e, outs_t, dtype):
    rng = np.random.default_rng(7)
    le = lt = 0
    for oe, ot in zip(outs_e, outs_t):
        w = rng.standard_normal(tuple(ot.shape)).astype(dtype)
        le = le + (oe * ember.tensor(w)).sum()
        lt = lt + (ot * torch.tensor(w)).sum()
    le.backward()
    lt.backward()


CONFIGS = [
    ("RNN", dict()), ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("LSTM", dict()), ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=3, batch_first=True)), ("LSTM", dict(bias=False)),
    ("LSTM", dict(proj_size=2, num_layers=2, bidirectional=True)),
    ("LSTM", dict(bias=False, proj_size=3, batch_first=True)),
    ("GRU", dict()), ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=lambda c: str(c))
def test_rnn_matches_torch(name, kw, dtype):
    e_mod, t_mod = _pair(name, dtype, 4, 5, **kw)
    shape = (3, 6, 4) if kw.get("batch_first") else (6, 3, 4)
    xe, xt = _inputs(shape, dtype)
    oe, he = e_mod(xe)
    ot, ht = t_mod(xt)
    tol = TOL[dtype]
    assert_close(oe, ot, **tol)
    if name == "LSTM":
        assert_close(he[0], ht[0], **tol)
        assert_close(he[1], ht[1], **tol)
        _backward([oe, he[0], he[1]], [ot, ht[0], ht[1]], dtype)
    else:
        assert_close(he, ht, **tol)
        _backward([oe, he], [ot, ht], dtype)
    _check_grads(e_mod, t_mod, [xe], [xt], tol)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_initial_state_and_unbatched(name):
    e_mod, t_mod = _pair(name, "float64", 3, 4, num_layers=2)
    xe, xt = _inputs((5, 3), "float64")
    h0e, h0t = _inputs((2, 4), "float64", seed=1)
    if name == "LSTM":
        c0e, c0t = _inputs((2, 4), "float64", seed=2)
        oe, (he, ce) = e_mod(xe, (h0e, c0e))
        ot, (ht, ct) = t_mod(xt, (h0t, c0t))
        assert_close(ce, ct, **TOL["float64"])
        _backward([oe, ce], [ot, ct], "float64")
        _check_grads(e_mod, t_mod, [xe, h0e, c0e], [xt, h0t, c0t], TOL["float64"])
    else:
        oe, he = e_mod(xe, h0e)
        ot, ht = t_mod(xt, h0t)
        _backward([oe, he], [ot, ht], "float64")
        _check_grads(e_mod, t_mod, [xe, h0e], [xt, h0t], TOL["float64"])
    assert_close(oe, ot, **TOL["float64"])
    assert_close(he, ht, **TOL["float64"])


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(name):
    e_mod, t_mod = _pair(name, "float64", 3, 4)
    xe, xt = _inputs((2, 3), "float64")
    oe, ot = e_mod(xe), t_mod(xt)
    if name == "LSTMCell":
        assert_close(oe[0], ot[0], **TOL["float64"])
        assert_close(oe[1], ot[1], **TOL["float64"])
        _backward(list(oe), list(ot), "float64")
    else:
        assert_close(oe, ot, **TOL["float64"])
        _backward([oe], [ot], "float64")
    _check_grads(e_mod, t_mod, [xe], [xt], TOL["float64"])


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("name,kw", [("LSTM", {}), ("GRU", {}),
                                     ("LSTM", dict(proj_size=2, num_layers=2))])
def test_packed_sequences(name, kw, enforce_sorted):
    e_mod, t_mod = _pair(name, "float64", 3, 4, bidirectional=True, batch_first=True, **kw)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    xe, xt = _inputs((3, 5, 3), "float64")
    pe = ember.nn.utils.rnn.pack_padded_sequence(xe, lengths, batch_first=True,
                                                 enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True,
                                                 enforce_sorted=enforce_sorted)
    assert_close(pe.data, pt.data)
    assert host(pe.batch_sizes).tolist() == pt.batch_sizes.tolist()
    oe, he = e_mod(pe)
    ot, ht = t_mod(pt)
    ue, le = ember.nn.utils.rnn.pad_packed_sequence(oe, batch_first=True)
    ut, lt = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    assert host(le).tolist() == lt.tolist()
    assert_close(ue, ut, **TOL["float64"])
    he, ht = (he[0], ht[0]) if name == "LSTM" else (he, ht)
    assert_close(he, ht, **TOL["float64"])
    _backward([ue, he], [ut, ht], "float64")
    _check_grads(e_mod, t_mod, [xe], [xt], TOL["float64"])


def test_pad_and_pack_sequence_helpers():
    seqs = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) for n in (4, 2, 3)]
    e = ember.nn.utils.rnn.pad_sequence([ember.tensor(s) for s in seqs], batch_first=True,
                                        padding_value=-1.0)
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True,
                                        padding_value=-1.0)
    assert_close(e, t)
    pe = ember.nn.utils.rnn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    assert_close(pe.data, pt.data)
    assert host(pe.sorted_indices).tolist() == pt.sorted_indices.tolist()
    for a, b in zip(ember.nn.utils.rnn.unpack_sequence(pe),
                    torch.nn.utils.rnn.unpack_sequence(pt)):
        assert_close(a, b)


def test_bad_input_errors():
    m = ember.nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        m(ember.zeros(5, 2, 7))
    with pytest.raises(ValueError):
        m(ember.zeros(2, 3, 4, 3))
    with pytest.raises(RuntimeError, match="Expected hidden"):
        m(ember.zeros(5, 2, 3), (ember.zeros(1, 3, 4), ember.zeros(1, 3, 4)))
    with pytest.raises(ValueError):
        ember.nn.LSTM(3, 4, proj_size=5)


def test_repr_matches_torch():
    for args, kw in [((3, 4), {}), ((3, 4), dict(num_layers=2, bidirectional=True,
                                                 batch_first=True, dropout=0.5))]:
        assert repr(ember.nn.LSTM(*args, **kw)) == repr(torch.nn.LSTM(*args, **kw))
        assert repr(ember.nn.GRU(*args, **kw)) == repr(torch.nn.GRU(*args, **kw))
    assert repr(ember.nn.RNN(3, 4, nonlinearity="relu")) == repr(
        torch.nn.RNN(3, 4, nonlinearity="relu"))
    assert repr(ember.nn.LSTMCell(3, 4)) == repr(torch.nn.LSTMCell(3, 4))


def test_default_init_bounds():
    m = ember.nn.GRU(3, 16)
    for p in m.parameters():
        assert host(p).max() <= 0.25 and host(p).min() >= -0.25
        assert host(p).std() > 0.1


def test_packed_lstm_with_initial_state_gradients():
    e_mod, t_mod = _pair("LSTM", "float64", 3, 4, bidirectional=True)
    xe, xt = _inputs((5, 4, 3), "float64")
    h0e, h0t = _inputs((2, 4, 4), "float64", seed=1)
    c0e, c0t = _inputs((2, 4, 4), "float64", seed=2)
    lengths = [5, 4, 4, 1]
    pe = ember.nn.utils.rnn.pack_padded_sequence(xe, lengths)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths)
    oe, (he, ce) = e_mod(pe, (h0e, c0e))
    ot, (ht, ct) = t_mod(pt, (h0t, c0t))
    assert_close(oe.data, ot.data, **TOL["float64"])
    assert_close(he, ht, **TOL["float64"])
    assert_close(ce, ct, **TOL["float64"])
    _backward([oe.data, he, ce], [ot.data, ht, ct], "float64")
    _check_grads(e_mod, t_mod, [xe, h0e, c0e], [xt, h0t, c0t], TOL["float64"])


@pytest.mark.parametrize("kw", [{}, dict(proj_size=2, bidirectional=True)])
def test_lstm_gradcheck(kw):
    ember.manual_seed(0)
    m = ember.nn.LSTM(3, 4, **kw).double()
    x = ember.randn(4, 2, 3, dtype=ember.float64, requires_grad=True)
    h = ember.randn(2 if kw else 1, 2, kw.get("proj_size", 4), dtype=ember.float64,
                    requires_grad=True)
    c = ember.randn(2 if kw else 1, 2, 4, dtype=ember.float64, requires_grad=True)
    params = tuple(m.parameters())

    def f(x, h, c, *ps):
        out, (hn, cn) = ember.nn.utils.stateless.functional_call(
            m, dict(zip(dict(m.named_parameters()), ps)), (x, (h, c)))
        return out, hn, cn
    assert ember.autograd.gradcheck(f, (x, h, c) + params)


@pytest.mark.parametrize("kw", [{}, dict(bidirectional=True, batch_first=True)])
def test_lstm_double_backward_matches_torch(kw):
    """create_graph through whole-batch LSTM layers (the NumPy loops' fast paths step aside
    for the traced namespace, which reruns the forward): the gradient of a gradient."""
    e, t = _pair("LSTM", "float64", 3, 4, **kw)
    xe, xt = _inputs((2, 5, 3), "float64")
    grads = []
    for m, x, lib in ((e, xe, ember), (t, xt, torch)):
        g, = lib.autograd.grad(m(x)[0].sin().sum(), x, create_graph=True)
        (g * g).sum().backward()
        grads.append((g, x.grad, m.weight_hh_l0.grad, m.bias_ih_l0.grad))
    for a, b in zip(*grads):
        assert_close(a, b, **TOL["float64"])


def test_lstm_output_modified_in_place_raises():
    m = ember.nn.LSTM(3, 4)
    out, _ = m(ember.randn(5, 2, 3))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def _names(out):
    ts = out if isinstance(out, tuple) else (out,)
    ts = [t.data if hasattr(t, "batch_sizes") else t for t in ts]
    flat = []
    for t in ts:
        flat += list(t) if isinstance(t, tuple) else [t]
    return [(t.grad_fn.name(), type(t.grad_fn).__name__, repr(t.grad_fn).split(" object")[0])
            for t in flat]


GRAD_FN_CONFIGS = CONFIGS + [
    ("RNN", dict(batch_first=True)), ("GRU", dict(batch_first=True)),
    ("LSTM", dict(batch_first=True)), ("LSTM", dict(num_layers=2)),
    ("RNN", dict(bidirectional=True)), ("GRU", dict(num_layers=2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", GRAD_FN_CONFIGS, ids=lambda c: str(c))
def test_grad_fn_names_match_torch(name, kw, dtype, recwarn):
    """torch's output grad_fn classes: StackBackward0 for RNN / GRU (and LSTM off oneDNN:
    projections, float64), MkldnnRnnLayerBackward0 for float32 LSTM, CatBackward0 when
    bidirectional, TransposeBackward1 / TransposeBackward0 for batch_first RNN+GRU / LSTM."""
    e_mod, t_mod = _pair(name, dtype, 4, 5, **kw)
    shape = (3, 6, 4) if kw.get("batch_first") else (6, 3, 4)
    xe, xt = _inputs(shape, dtype)
    assert _names(e_mod(xe)) == _names(t_mod(xt))
    assert _names(e_mod(xe[0] if kw.get("batch_first") else xe[:, 0])) == \
        _names(t_mod(xt[0] if kw.get("batch_first") else xt[:, 0]))


@pytest.mark.parametrize("name,kw", [("RNN", {}), ("GRU", dict(bidirectional=True)), ("LSTM", {}),
                                     ("LSTM", dict(proj_size=2, num_layers=2))],
                         ids=lambda c: str(c))
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_grad_fn_names_match_torch(name, kw, enforce_sorted):
    e_mod, t_mod = _pair(name, "float32", 4, 5, **kw)
    xe, xt = _inputs((6, 3, 4), "float32")
    lengths = [6, 4, 2] if enforce_sorted else [2, 6, 4]
    pe = ember.nn.utils.rnn.pack_padded_sequence(xe, lengths, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    oe, ot = e_mod(pe), t_mod(pt)
    assert _names(oe) == _names(ot)
    _backward([oe[0].data], [ot[0].data], "float32")
    _check_grads(e_mod, t_mod, [xe], [xt], TOL["float32"])


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")),
                                     ("GRUCell", {}), ("LSTMCell", {}),
                                     ("LSTMCell", dict(bias=False))], ids=lambda c: str(c))
def test_cell_grad_fn_names_match_torch(name, kw):
    e_mod, t_mod = _pair(name, "float32", 4, 5, **kw)
    xe, xt = _inputs((3, 4), "float32")
    oe, ot = e_mod(xe), t_mod(xt)
    assert _names(oe) == _names(ot)
    assert _names(e_mod(xe[0])) == _names(t_mod(xt[0]))        # unbatched: SqueezeBackward1
    _backward(oe if isinstance(oe, tuple) else [oe], ot if isinstance(ot, tuple) else [ot],
              "float32")
    _check_grads(e_mod, t_mod, [xe], [xt], TOL["float32"])


def _amp_outputs(out):
    if hasattr(out, "batch_sizes"):
        return [out.data]
    if isinstance(out, tuple):
        return [t for o in out for t in _amp_outputs(o)]
    return [out]


AMP_CONFIGS = [
    ("LSTM", dict(), False), ("LSTM", dict(num_layers=2, bidirectional=True), False),
    ("LSTM", dict(batch_first=True), False), ("LSTM", dict(proj_size=3), False),
    ("LSTM", dict(), True), ("LSTM", dict(proj_size=3), True),
    ("GRU", dict(), False), ("GRU", dict(bidirectional=True), True),
    ("RNN", dict(), False), ("RNN", dict(nonlinearity="relu", num_layers=2), True),
]


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("name,kw,packed", AMP_CONFIGS, ids=lambda c: str(c))
def test_bfloat16_autocast_matches_torch(name, kw, packed):
    """CPU bfloat16 autocast: the oneDNN LSTM runs wholly in bfloat16; the other layers are
    composites whose linears autocast: RNN's state turns bfloat16, GRU's stays float32, the
    LSTM's cell state stays float32 (its output too, unless projected)."""
    e_mod, t_mod = _pair(name, "float32", 4, 6, **kw)
    shape = (3, 5, 4) if kw.get("batch_first") else (5, 3, 4)
    xe, xt = _inputs(shape, "float32")
    ie, it = xe, xt
    if packed:
        ie = ember.nn.utils.rnn.pack_padded_sequence(xe, [5, 3, 2])
        it = torch.nn.utils.rnn.pack_padded_sequence(xt, [5, 3, 2])
    if name == "LSTM" and not packed and "proj_size" not in kw and not ember._cpu.ONEDNN_BF16:
        # torch's oneDNN LSTM has no bfloat16 primitive on this CPU: both raise its error
        for lib, mod, i in ((ember, e_mod, ie), (torch, t_mod, it)):
            with lib.autocast("cpu", dtype=lib.bfloat16), \
                    pytest.raises(RuntimeError, match="could not create a primitive descriptor "
                                  "for the LSTM forward propagation primitive"):
                mod(i)
        return
    with ember.autocast("cpu", dtype=ember.bfloat16):
        oe = _amp_outputs(e_mod(ie))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ot = _amp_outputs(t_mod(it))
    assert [str(t.dtype) for t in oe] == [str(t.dtype) for t in ot]
    assert _names(tuple(oe)) == _names(tuple(ot))
    for a, b in zip(oe, ot):
        assert_close(a.float(), b.float(), rtol=3e-2, atol=3e-2)
    _backward([o.float() for o in oe], [o.float() for o in ot], "float32")
    for (_, pe), (_, pt) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert pe.grad.dtype == ember.float32
        assert_close(pe.grad, pt.grad, rtol=5e-2, atol=5e-2)
    assert_close(xe.grad, xt.grad, rtol=5e-2, atol=5e-2)


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_under_bfloat16_autocast_match_torch(name):
    """RNNCell's tanh(linear + linear) is bfloat16; GRUCell and LSTMCell combine the bfloat16
    gates with the float32 state, so they return float32."""
    e_mod, t_mod = _pair(name, "float32", 4, 5)
    xe, xt = _inputs((3, 4), "float32")
    with ember.autocast("cpu", dtype=ember.bfloat16):
        oe = _amp_outputs(e_mod(xe))
        oe1 = _amp_outputs(e_mod(xe[0]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ot = _amp_outputs(t_mod(xt))
        ot1 = _amp_outputs(t_mod(xt[0]))
    assert [str(t.dtype) for t in oe + oe1] == [str(t.dtype) for t in ot + ot1]
    assert _names(tuple(oe)) == _names(tuple(ot))
    for a, b in zip(oe, ot):
        assert_close(a.float(), b.float(), rtol=3e-2, atol=3e-2)


def test_lstm_projection_warning_matches_torch(monkeypatch):
    """torch warns once (TORCH_WARN_ONCE) that oneDNN has no projections, for float32 and
    bfloat16 unpacked input; not for float64 or packed input."""
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    m = ember.nn.LSTM(4, 5, proj_size=2)
    x = ember.randn(6, 3, 4)
    import warnings
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m.double()(x.double())
        m(ember.nn.utils.rnn.pack_padded_sequence(x.double(), [6, 4, 2]))
        assert not w
        m.float()(x)
        m(x)
    assert [str(i.message) for i in w] == ["LSTM with projections is not supported with oneDNN. "
                                           "Using default implementation."]
    assert w[0].category is UserWarning


# ---- torch.lstm / gru / rnn_tanh / rnn_relu: the ATen functions with flat weight lists ----------
FUNCTIONS = [
    ("lstm", "LSTM", dict(num_layers=2, bidirectional=True)), ("lstm", "LSTM", dict(bias=False)),
    ("lstm", "LSTM", dict(proj_size=2, batch_first=True)),
    ("gru", "GRU", dict(num_layers=2, batch_first=True)),
    ("rnn_tanh", "RNN", dict(bidirectional=True)),
    ("rnn_relu", "RNN", dict(nonlinearity="relu", bias=False, num_layers=2)),
]


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("fn,cls,kw", FUNCTIONS, ids=lambda c: str(c))
def test_rnn_functions_match_torch(fn, cls, kw, packed):
    """Outputs, grad_fn classes and gradients of the functions RNNBase.forward calls (_VF.lstm
    ...), with weights and states given as flat lists; packed: the (data, batch_sizes, ...)
    overload, whose output is the packed data."""
    e_mod, t_mod = _pair(cls, "float64", 4, 5, **kw)
    bf, dirs = kw.get("batch_first", False), 2 if kw.get("bidirectional") else 1
    n, hs = kw.get("num_layers", 1) * dirs, kw.get("proj_size") or 5
    hx = [_inputs((n, 3, hs), "float64", 1)]
    if cls == "LSTM":
        hx.append(_inputs((n, 3, 5), "float64", 2))
    tail = (kw.get("bias", True), kw.get("num_layers", 1), 0.0, False, dirs == 2)
    if packed:
        xe, xt = _inputs((9, 4), "float64")
        bse, bst = ember.tensor([3, 3, 2, 1]), torch.tensor([3, 3, 2, 1])
        lead_e, lead_t = (xe, bse), (xt, bst)
    else:
        xe, xt = _inputs((3, 6, 4) if bf else (6, 3, 4), "float64")
        lead_e, lead_t, tail = (xe,), (xt,), tail + (bf,)
    he = tuple(h[0] for h in hx) if cls == "LSTM" else hx[0][0]
    ht = tuple(h[1] for h in hx) if cls == "LSTM" else hx[0][1]
    oe = getattr(ember, fn)(*lead_e, he, e_mod._flat_weights, *tail)
    ot = getattr(torch, fn)(*lead_t, ht, t_mod._flat_weights, *tail)
    assert type(oe) is tuple and len(oe) == len(ot)
    for a, b in zip(oe, ot):
        assert_close(a, b, **TOL["float64"])
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    _backward(oe, ot, "float64")
    _check_grads(e_mod, t_mod, [xe] + [h[0] for h in hx], [xt] + [h[1] for h in hx],
                 TOL["float64"])


@pytest.mark.parametrize("case", ["one state", "params", "layers", "states", "dtype"])
def test_rnn_functions_errors_match_torch(case):
    def run(L):
        torch.manual_seed(0)
        w1 = [L.tensor(p.detach().numpy()) for p in torch.nn.GRU(3, 4)._flat_weights]
        w2 = [L.tensor(p.detach().numpy()) for p in torch.nn.GRU(3, 4, 2)._flat_weights]
        x, h = L.zeros(5, 2, 3, dtype=L.float64), L.zeros(1, 2, 4, dtype=L.float64)
        w1d = [w.double() for w in w1]
        args = {"one state": lambda: L.lstm(x, (h,), w1d + w1d[:4], True, 1, 0., False, False,
                                            False),
                "params": lambda: L.gru(x, h, w1d[:3], True, 1, 0., False, False, False),
                "layers": lambda: L.gru(x, h, [w.double() for w in w2], True, 1, 0., False,
                                        False, False),
                "states": lambda: L.gru(x, h.expand(2, 2, 4), w1d, True, 1, 0., False, False,
                                        False),
                "dtype": lambda: L.gru(x, h, w1, True, 1, 0., False, False, False)}[case]
        with pytest.raises(Exception) as info:
            args()
        return info
    e, t = run(ember), run(torch)
    assert (e.type, str(e.value)) == (t.type, str(t.value))
