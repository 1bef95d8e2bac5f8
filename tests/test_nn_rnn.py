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


def test_lstm_output_modified_in_place_raises():
    m = ember.nn.LSTM(3, 4)
    out, _ = m(ember.randn(5, 2, 3))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
