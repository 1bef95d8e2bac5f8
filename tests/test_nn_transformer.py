"""MultiheadAttention and Transformer layers against torch, weights copied from torch."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close

TOL = dict(rtol=1e-9, atol=1e-10)


def _pair(cls_name, *args, **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls_name)(*args, **kw).double()
    e = getattr(ember.nn, cls_name)(*args, **kw).double()
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    t.eval()
    e.eval()
    return e, t


def _x(shape, seed=0, grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ember.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _grads_equal(e_mod, t_mod, pairs):
    for (n, pe), (_, pt) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        if pt.grad is None:
            assert pe.grad is None, n
            continue
        assert_close(pe.grad, pt.grad, **TOL)
    for a, b in pairs:
        assert_close(a.grad, b.grad, **TOL)


MHA = [dict(), dict(batch_first=True), dict(kdim=3, vdim=5), dict(add_bias_kv=True),
       dict(add_zero_attn=True), dict(bias=False)]


@pytest.mark.parametrize("kw", MHA, ids=str)
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention(kw, average):
    e, t = _pair("MultiheadAttention", 8, 2, **kw)
    L, S, N = 4, 6, 3
    q_shape = (N, L, 8) if kw.get("batch_first") else (L, N, 8)
    k_shape = (N, S, kw.get("kdim", 8)) if kw.get("batch_first") else (S, N, kw.get("kdim", 8))
    v_shape = k_shape[:-1] + (kw.get("vdim", 8),)
    (qe, qt), (ke, kt), (ve, vt) = _x(q_shape, 0), _x(k_shape, 1), _x(v_shape, 2)
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    attn = np.triu(np.ones((L, S), bool), 1)
    oe, we = e(qe, ke, ve, key_padding_mask=ember.tensor(kpm), attn_mask=ember.tensor(attn),
               average_attn_weights=average)
    ot, wt = t(qt, kt, vt, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(attn),
               average_attn_weights=average)
    assert_close(oe, ot, **TOL)
    assert_close(we, wt, **TOL)
    (oe.sum() + (we * we).sum()).backward()
    (ot.sum() + (wt * wt).sum()).backward()
    _grads_equal(e, t, [(qe, qt), (ke, kt), (ve, vt)])


def test_mha_float_mask_self_attention_no_weights():
    e, t = _pair("MultiheadAttention", 8, 4)
    xe, xt = _x((5, 2, 8))
    mask = np.random.default_rng(3).standard_normal((2 * 4, 5, 5))
    oe, we = e(xe, xe, xe, attn_mask=ember.tensor(mask), need_weights=False)
    ot, wt = t(xt, xt, xt, attn_mask=torch.tensor(mask), need_weights=False)
    assert we is None and wt is None
    assert_close(oe, ot, **TOL)
    oe.sum().backward()
    ot.sum().backward()
    _grads_equal(e, t, [(xe, xt)])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_decoder_layers(norm_first, activation):
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first, activation=activation,
              batch_first=True)
    e, t = _pair("TransformerEncoderLayer", 8, 2, **kw)
    xe, xt = _x((2, 5, 8))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    emask = ember.nn.Transformer.generate_square_subsequent_mask(5, dtype=ember.float64)
    assert_close(emask, mask)
    oe, ot = e(xe, src_mask=emask, is_causal=True), t(xt, src_mask=mask, is_causal=True)
    assert_close(oe, ot, **TOL)
    oe.sum().backward()
    ot.sum().backward()
    _grads_equal(e, t, [(xe, xt)])
    d_e, d_t = _pair("TransformerDecoderLayer", 8, 2, **kw)
    me, mt = _x((2, 3, 8), seed=5)
    oe, ot = d_e(xe, me, tgt_mask=emask), d_t(xt, mt, tgt_mask=mask)
    assert_close(oe, ot, **TOL)


def test_full_transformer():
    e, t = _pair("Transformer", d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                 dim_feedforward=16, dropout=0.0)
    (se, st), (te, tt) = _x((5, 2, 8)), _x((4, 2, 8), seed=1)
    oe, ot = e(se, te), t(st, tt)
    assert_close(oe, ot, **TOL)
    oe.sum().backward()
    ot.sum().backward()
    _grads_equal(e, t, [(se, st), (te, tt)])
    assert repr(e).replace("ember", "torch") == repr(t)


def _mha_args(lib, case, rng):
    def t(*shape, dtype=np.float64):
        return lib.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    E, H, L, S, N = 8, 2, 3, 5, 2
    q = t(L, N, E) if case != "unbatched" else t(L, E)
    k = t(S, N, E) if case != "unbatched" else t(S, E)
    v = t(S, N, E) if case != "unbatched" else t(S, E)
    kw = dict(training=False)
    args = [q, k, v, E, H, t(3 * E, E), t(3 * E), None, None, False, 0.0, t(E, E), t(E)]
    if case == "masks":
        kw["attn_mask"] = lib.tensor(rng.standard_normal((L, S)) > 1.0)
        kw["key_padding_mask"] = lib.tensor([[False] * 4 + [True], [False] * 5])
    if case == "separate":
        args[5] = None
        kw.update(use_separate_proj_weight=True, q_proj_weight=t(E, E), k_proj_weight=t(E, E),
                  v_proj_weight=t(E, E))
    if case == "static":
        kw.update(static_k=t(N * H, S, E // H), static_v=t(N * H, S, E // H))
    if case == "bias_zero":
        args[7], args[8], args[9] = t(1, 1, E), t(1, 1, E), True
    if case == "no_weights":
        kw.update(need_weights=False, attn_mask=lib.ones(L, S, dtype=lib.bool).triu(1),
                  is_causal=True)
    if case == "per_head":
        kw["average_attn_weights"] = False
    return args, kw


@pytest.mark.parametrize("case", ["plain", "unbatched", "masks", "separate", "static",
                                  "bias_zero", "no_weights", "per_head"])
def test_functional_multi_head_attention_forward(case):
    """F.multi_head_attention_forward against torch's: outputs, weights and gradients."""
    res = []
    for lib in (ember, torch):
        args, kw = _mha_args(lib, case, np.random.default_rng(0))
        out, w = lib.nn.functional.multi_head_attention_forward(*args, **kw)
        (out.sum() + (w.sum() if w is not None else 0)).backward()
        grads = [a.grad for a in args + list(kw.values()) if hasattr(a, "grad") and
                 a.requires_grad]
        res.append((out, w, grads))
    (eo, ew, eg), (to, tw, tg) = res
    assert_close(eo, to)
    assert (ew is None) == (tw is None)
    if tw is not None:
        assert_close(ew, tw)
    for a, b in zip(eg, tg):
        assert_close(a, b)


@pytest.mark.parametrize("bad", ["embed_dim", "causal_no_mask", "mask_shape", "kv_shape",
                                 "kv_dims", "query_dims", "padding_dims"])
def test_functional_mha_errors_as_torch(bad):
    def call(lib):
        args, kw = _mha_args(lib, "plain", np.random.default_rng(0))
        if bad == "embed_dim":
            args[3] = 6
        elif bad == "causal_no_mask":
            kw["is_causal"] = True
        elif bad == "mask_shape":
            kw["attn_mask"] = lib.zeros(2, 2)
        elif bad == "kv_dims":
            args[1] = args[1][0]
        elif bad == "query_dims":
            args[0] = args[0][None]
        elif bad == "padding_dims":
            kw["key_padding_mask"] = lib.zeros(2, dtype=lib.bool)
        else:
            args[2] = args[2][:2]
        return lambda: lib.nn.functional.multi_head_attention_forward(*args, **kw)
    with pytest.raises(Exception) as te:
        call(torch)()
    with pytest.raises(type(te.value)) as ee:
        call(ember)()
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True),
                                dict(batch_first=True, norm_first=True),
                                dict(batch_first=True, activation=lambda x: x),
                                dict(batch_first=True, nhead=1)])
def test_encoder_nested_tensor_and_mask_warnings_as_torch(kw):
    """torch warns why an encoder cannot use nested tensors, and about masks of mixed types."""
    kw = dict(kw)
    nhead = kw.pop("nhead", 2)
    seen = []
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            enc = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, nhead, 16, **kw), 1)
            x = lib.zeros(5, 2, 8) if not kw.get("batch_first") else lib.zeros(2, 5, 8)
            enc(x, mask=lib.nn.Transformer.generate_square_subsequent_mask(5),
                src_key_padding_mask=lib.zeros(2, 5, dtype=lib.bool))
        seen.append([str(m.message) for m in w if "Triggered internally" not in str(m.message)])
    assert seen[0] == seen[1]


def test_fast_path_activation_flag_survives_torch_function_dispatch():
    """A Tensor subclass installs ember's __torch_function__ dispatchers, which wrap F.relu and
    F.gelu: a layer's relu/gelu must still be recognised (torch's activation_relu_or_gelu)."""
    class Sub(ember.Tensor):
        pass
    for act in ("relu", "gelu", None, "module"):
        flags = []
        for lib in (ember, torch):
            kw = {} if act is None else {"activation": lib.nn.GELU() if act == "module" else act}
            flags.append(lib.nn.TransformerEncoderLayer(8, 2, 16, **kw).activation_relu_or_gelu)
        assert flags[0] == flags[1]
    assert isinstance(ember.ones(1).as_subclass(Sub), Sub)


def _encoder_outputs(lib, batch_first, norm_first, nested, activation):
    """An encoder in inference with key padding masks: torch runs it on nested tensors (padded
    positions come out zero before the final norm) where its fast-path conditions hold."""
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first,
                                           norm_first=norm_first, activation=activation)
    enc = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8),
                                    enable_nested_tensor=nested).double().eval()
    x = lib.randn(3, 5, 8, dtype=lib.float64)
    pad = lib.zeros(3, 5, dtype=lib.bool)
    pad[0, 3:] = True
    pad[2, 1:] = True
    gap = pad.clone()
    gap[1, 0] = True                    # not left-aligned
    if not batch_first:
        x = x.transpose(0, 1)
    out = []
    with lib.no_grad():
        out += [enc(x, src_key_padding_mask=pad), enc(x, src_key_padding_mask=pad * -1e9),
                enc(x, src_key_padding_mask=gap)]
        lib.backends.mha.set_fastpath_enabled(False)
        try:
            out.append(enc(x, src_key_padding_mask=pad))
        finally:
            lib.backends.mha.set_fastpath_enabled(True)
        enc.mask_check = False          # torch then takes each row's first tokens
        out.append(enc(x, src_key_padding_mask=gap))
    out.append(enc(x, src_key_padding_mask=pad).detach())      # grad on: no fast path

    class Through(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))
    with lib.no_grad(), Through():      # a mode: has_torch_function, no fast path
        out.append(enc(x, src_key_padding_mask=pad))
    return [o.numpy() for o in out]


@pytest.mark.parametrize("batch_first,norm_first,nested,activation", [
    (True, False, True, "relu"), (False, False, True, "relu"), (True, True, True, "gelu"),
    (True, False, False, "relu"), (True, False, True, "tanh")])
def test_encoder_inference_zeroes_padding_as_torch_nested_path(batch_first, norm_first, nested,
                                                                activation):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        act = {"tanh": lambda lib: lib.tanh}.get(activation, lambda lib: activation)
        got = _encoder_outputs(ember, batch_first, norm_first, nested, act(ember))
        want = _encoder_outputs(torch, batch_first, norm_first, nested, act(torch))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10)
