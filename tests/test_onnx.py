"""torch.onnx.export: ember's graphs run in onnxruntime and give the model's outputs (also at
other batch sizes where dynamic_axes says so), and carry the names torch's exporter gives
(inputs, outputs, initializers, dynamic dims). A value the tracer did not see is refused, never
stored as a wrong constant."""
import io
import warnings

import numpy as np
import pytest
import torch

import ember

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
nn = ember.nn


def _run(data, *arrays):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def _check(model, *args, again=None, rtol=1e-4, **kw):
    """Export, then compare onnxruntime with the model in eval mode (on `again` too: other
    inputs, or a list of them)."""
    data = _export(model, args, **kw)
    model.eval()
    for inputs in [args] + (again if isinstance(again, list) else [again] if again else []):
        with ember.no_grad():
            ref = model(*inputs)
        ref = list(_flat(ref))
        outs = _run(data, *[a.numpy() for a in inputs])
        assert len(outs) == len(ref)
        for o, r in zip(outs, ref):
            assert o.shape == tuple(r.shape) and o.dtype == r.numpy().dtype
            np.testing.assert_allclose(o, r.numpy(), rtol=rtol, atol=1e-5)
    return onnx.load_from_string(data)


def _flat(value):
    if isinstance(value, ember.Tensor):
        yield value
    else:
        for v in value:
            yield from _flat(v)


class _Block(nn.Module):
    def __init__(self, d=16, h=4):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d, d))
        self.h = h

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class _GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(50, 16), nn.Embedding(8, 16)
        self.blocks = nn.Sequential(_Block(), _Block())
        self.head = nn.Linear(16, 50, bias=False)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(ember.arange(idx.shape[1]))
        return self.head(self.blocks(x))[:, -1, :].log_softmax(-1)


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding="same"), nn.BatchNorm2d(4),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, stride=2),
                         nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(8, 5))


def test_mlp_runs_in_onnxruntime_with_torchs_names():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=-1))
    proto = _check(model, ember.randn(2, 4), again=(ember.randn(7, 4),), input_names=["x"],
                   output_names=["probs"], dynamic_axes={"x": {0: "batch"}, "probs": [0]},
                   dynamo=False)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3),
                                 torch.nn.Softmax(dim=-1))
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tmodel, (torch.randn(2, 4),), buf, dynamo=False, input_names=["x"],
                          output_names=["probs"], dynamic_axes={"x": {0: "batch"}, "probs": [0]})
    tproto = onnx.load_from_string(buf.getvalue())

    def names(p):
        shape = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa
        return ([(i.name, shape(i)) for i in p.graph.input],
                [(o.name, shape(o)) for o in p.graph.output],
                sorted(i.name for i in p.graph.initializer), p.opset_import[0].version,
                [n.op_type for n in p.graph.node])
    assert names(proto) == names(tproto)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(proto.SerializeToString(), x)[0],
                               _run(buf.getvalue(), x)[0], rtol=1e-5, atol=1e-6)


def test_cnn_with_batch_norm_inplace_relu_and_pooling():
    ember.manual_seed(0)
    model = _cnn()
    model.eval()
    model[1].running_mean.uniform_(-0.5, 0.5)
    model[1].running_var.uniform_(0.5, 2.0)
    model.train()
    _export(model, (ember.randn(3, 1, 16, 16),))
    assert model.training          # exported in eval mode, its own mode restored
    proto = _check(model, ember.randn(3, 1, 16, 16), again=(ember.randn(5, 1, 16, 16),),
                   dynamic_axes={"input": [0]}, opset_version=11)
    ops = [n.op_type for n in proto.graph.node]
    assert {"Conv", "BatchNormalization", "Relu", "MaxPool", "GlobalAveragePool"} <= set(ops)


@pytest.mark.parametrize("opset", [11, 12, 13, 17, 18, 20])
def test_transformer_at_each_opset(opset):
    """Its sizes come from its input (B, T, C = x.shape; view(B, T, h, C // h); arange(T);
    the causal mask of T by T): the graph takes other batch sizes and lengths."""
    ember.manual_seed(0)
    proto = _check(_GPT(), ember.randint(0, 50, (2, 8)),
                   again=[(ember.randint(0, 50, (3, 8)),), (ember.randint(0, 50, (1, 5)),)],
                   opset_version=opset, dynamic_axes={"idx": [0, 1]})
    assert proto.opset_import[0].version == opset


def test_multihead_attention_traced_through_its_parts():
    ember.manual_seed(0)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(16, 4, batch_first=True)

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0] + self.mha(x, x, x)[0], \
                self.mha(x, x, x)[1]        # with the weights: bmm, baddbmm and softmax
    _check(M(), ember.randn(2, 5, 16))


def test_vision_transformer_with_class_token():
    class ViT(nn.Module):
        def __init__(self, d=32, p=4):
            super().__init__()
            self.patch = nn.Conv2d(3, d, p, stride=p)
            self.cls, self.pos = nn.Parameter(ember.randn(1, 1, d)), nn.Parameter(
                ember.randn(1, 17, d))
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(
                d, 4, 64, batch_first=True, dropout=0.0), 2)
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = ember.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
            return self.head(self.enc(x)[:, 0])
    ember.manual_seed(0)
    _check(ViT(), ember.randn(2, 3, 16, 16), again=[(ember.randn(5, 3, 16, 16),),
                                                     (ember.randn(1, 3, 16, 16),)],
           dynamic_axes={"x": [0]})


def test_tensor_methods_and_operators():
    class M(nn.Module):
        def forward(self, x, y):
            z = (x * 2 - y / 3).clamp(min=-1.0) ** 2 + 1
            w = z.permute(0, 2, 1).reshape(x.shape[0], -1).unsqueeze(1)
            m = z.mean(dim=1, keepdim=True) + z.sum(-1, keepdim=True) - z.amax(1, True)
            v, i = z.max(dim=2)
            c = ember.cat([z, m.expand_as(z)], dim=1)
            s = ember.where(z > 1, z, -z).masked_fill(z < 0.5, 0.25)
            return w.squeeze(1), c[:, 1:, :2], v, i, s.sqrt().tanh()[..., None], x[:, 0]
    ember.manual_seed(0)
    _check(M(), ember.randn(2, 3, 4), ember.randn(2, 3, 4))


def test_export_to_a_path_returns_a_program(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    x = ember.randn(4, 3)
    path = tmp_path / "m.onnx"
    program = ember.onnx.export(model, (x,), str(path))
    assert isinstance(program, ember.onnx.ONNXProgram)
    np.testing.assert_allclose(_run(path.read_bytes(), x.numpy())[0],
                               model(x).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(program(x)[0].numpy(), model(x).detach().numpy(), rtol=1e-5)
    assert ember.onnx.export(model, (x,), io.BytesIO(), dynamo=False) is None
    assert not ember.onnx.is_in_onnx_export()
    with pytest.raises(ember.onnx.OnnxExporterError, match="opset 11 and above"):
        ember.onnx.export(model, (x,), io.BytesIO(), opset_version=9)


def test_export_params_false_makes_parameters_inputs():
    model = nn.Linear(3, 2)
    proto = onnx.load_from_string(_export(model, (ember.randn(1, 3),), export_params=False))
    assert [i.name for i in proto.graph.input] == ["input", "weight", "bias"]
    assert not proto.graph.initializer


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.LSTM(4, 8, batch_first=True), (2, 5, 4)),
    (lambda: nn.LSTM(4, 8, num_layers=2, bidirectional=True), (5, 2, 4)),
    (lambda: nn.GRU(4, 6, batch_first=True, num_layers=2), (3, 5, 4)),
    (lambda: nn.RNN(4, 6, nonlinearity="relu", bidirectional=True, bias=False), (5, 2, 4)),
])
def test_recurrent_layers_as_onnx_rnn_nodes(make, shape):
    ember.manual_seed(0)
    proto = _check(make(), ember.randn(*shape))
    assert {"LSTM", "GRU", "RNN"} & {n.op_type for n in proto.graph.node}


def test_lstm_tagger_with_initial_state():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(20, 8), nn.Linear(16, 3)
            self.rnn = nn.LSTM(8, 8, batch_first=True, bidirectional=True)

        def forward(self, ids, h, c):
            out, (hn, cn) = self.rnn(self.emb(ids), (h, c))
            return self.fc(out).log_softmax(-1), hn, cn
    ember.manual_seed(0)
    model = Tagger()
    _check(model, ember.randint(0, 20, (2, 6)), ember.randn(2, 2, 8), ember.randn(2, 2, 8))
    assert "forward" not in vars(model.rnn)         # its own forward is back


def test_lstm_with_zero_initial_state_made_in_forward_takes_any_batch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.LSTM(4, 8, num_layers=2), nn.Linear(8, 2)

        def forward(self, x):
            h0 = ember.zeros(2, x.size(1), 8)
            out, _ = self.rnn(x, (h0, ember.zeros(2, x.size(1), 8)))
            return self.fc(out[-1])
    ember.manual_seed(0)
    _check(Net(), ember.randn(5, 2, 4), again=(ember.randn(5, 7, 4),),
           dynamic_axes={"x": {1: "batch"}})


def test_an_operation_the_tracer_cannot_see_is_refused():
    """A packed sequence's rows are gathered outside the traced functions: using them is
    refused, not baked in as a constant."""
    from ember.nn.utils.rnn import pack_padded_sequence

    class Packed(nn.Module):
        def forward(self, x):
            return pack_padded_sequence(x, [3, 2], batch_first=True).data * 2
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="was not traced"):
        _export(Packed(), (ember.randn(2, 3, 4),))
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError):
        _export(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), (ember.randn(2, 4),),
                training=ember.onnx.TrainingMode.TRAINING)


class _PackedTagger(nn.Module):
    def __init__(self, rnn, sort=True):
        super().__init__()
        self.rnn, self.sort = rnn, sort     # sorted: padded to the input's length

    def forward(self, x, lengths, h0):
        from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=self.sort)
        out, state = self.rnn(packed, h0 if isinstance(self.rnn, nn.GRU) else (h0, h0 * 2))
        y, lens = pad_packed_sequence(out, batch_first=True,
                                      total_length=x.size(1) if self.sort else None)
        return y, state, lens


@pytest.mark.parametrize("opset", [11, 18])
@pytest.mark.parametrize("make, sort", [
    (lambda: nn.LSTM(4, 8, batch_first=True, num_layers=2, bidirectional=True), False),
    (lambda: nn.GRU(4, 6, batch_first=True), True)])
def test_packed_sequences_as_sequence_lens_of_the_recurrent_node(make, sort, opset):
    """pack_padded_sequence -> RNN -> pad_packed_sequence: ONNX's sequence_lens, as torch's
    exporter does it; the output is cut to the longest length."""
    ember.manual_seed(0)
    model = _PackedTagger(make(), sort)
    layers = model.rnn.num_layers * (2 if model.rnn.bidirectional else 1)
    h = model.rnn.hidden_size
    lengths = [ember.tensor(v) for v in ([5, 3, 2], [2, 5, 3], [4, 6], [7, 4])]
    if sort:
        lengths = [ember.sort(v, descending=True).values for v in lengths]
    _check(model, ember.randn(3, 5, 4), lengths[0], ember.randn(layers, 3, h),
           again=[(ember.randn(3, 5, 4), lengths[1], ember.randn(layers, 3, h)),
                  (ember.randn(2, 7, 4), lengths[2], ember.randn(layers, 2, h)),
                  (ember.randn(2, 7, 4), lengths[3], ember.randn(layers, 2, h))],
           input_names=["x", "lengths", "h0"], opset_version=opset,
           dynamic_axes={"x": [0, 1], "lengths": [0], "h0": [1]})


def test_advanced_indexing_that_one_gather_per_index_gets_wrong_is_refused():
    """torch pairs index tensors, and puts their dims first when ints stand apart from them."""
    idx = ember.tensor([1, 0])
    for fn in (lambda m, x: x[idx, idx], lambda m, x: x[0, :, idx]):
        with pytest.raises(ember.onnx.UnsupportedOperatorError, match="several index tensors"):
            _export(_Fn(fn), (ember.randn(2, 3, 4),))
    _check(_Fn(lambda m, x: (x[idx, 0], x[:, 1, idx], x[..., idx, None])), ember.randn(2, 3, 4))


def test_lstm_with_projections_is_refused_in_words():
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="ONNX's LSTM has no "
                       "projection"):
        _export(nn.LSTM(4, 8, proj_size=3), (ember.randn(5, 2, 4),))


def test_missing_onnx_package_is_named(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"ember\[onnx\]"):
        _export(nn.Linear(2, 2), (ember.randn(1, 2),))


class _Fn(nn.Module):
    def __init__(self, fn, *mods):
        super().__init__()
        self.fn, self.mods = fn, nn.ModuleList(mods)

    def forward(self, *xs):
        return self.fn(self, *xs)


F = nn.functional
_ZOO = {
    "conv1d+avgpool": (lambda: _Fn(lambda m, x: F.avg_pool1d(m.mods[0](x), 2, ceil_mode=True),
                                   nn.Conv1d(2, 3, 3, dilation=2)), [(2, 2, 11)]),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                    output_padding=1), [(1, 2, 5, 5)]),
    "grouped conv + instance norm": (lambda: nn.Sequential(
        nn.Conv2d(4, 4, 3, groups=2, padding=2, dilation=2), nn.InstanceNorm2d(4, affine=True),
        nn.LeakyReLU(0.2)), [(2, 4, 6, 6)]),
    "group norm + silu + softplus": (lambda: nn.Sequential(
        nn.GroupNorm(2, 4), nn.SiLU(), nn.Softplus(beta=2.0), nn.Hardswish(), nn.ELU()),
        [(2, 4, 3, 3)]),
    "pad and interpolate": (lambda: _Fn(lambda m, x: F.interpolate(
        F.pad(x, (1, 2, 0, 1), mode="reflect"), scale_factor=2, mode="bilinear",
        align_corners=False) + F.interpolate(F.pad(x, (1, 2, 0, 1)), scale_factor=2)),
        [(1, 2, 4, 4)]),
    "embedding and int inputs": (lambda: _Fn(lambda m, i: m.mods[0](i).mean(1) *
                                             (i > 2).float().sum(-1, keepdim=True),
                                             nn.Embedding(10, 4)), ["ids"]),
    "comparisons": (lambda: _Fn(lambda m, x: ((x > 0.5) & (x <= 1.5)).float() +
                                (x == x).float() * (x != 0).float() - (x >= -1).float()),
                    [(3, 4)]),
    "activations": (lambda: nn.Sequential(nn.Hardtanh(-0.5, 0.5), nn.ReLU6(), nn.Sigmoid(),
                                          nn.Tanh(), nn.Softsign(), nn.LogSigmoid(),
                                          nn.PReLU(), nn.CELU(), nn.Mish(), nn.Hardsigmoid()),
                    [(2, 5)]),
    "reductions and indexing": (lambda: _Fn(lambda m, x: (
        x.argmax(-1), x.topk(2, dim=1).values, x.cumsum(1), x.triu(), x.prod(1),
        x.amin(0), x[1:, ::2], x.t() @ x, x.chunk(2, dim=1)[1], x.unbind(0)[0],
        ember.stack([x, x], 1).flatten(1), x.repeat(2, 1), x.gather(1, ember.tensor([[0], [1],
                                                                                     [2]])),
        F.normalize(x, dim=1), x.clamp(max=0.5) - x.clamp_min(0.1), x.log_softmax(0))),
        [(3, 4)]),
    "statistics and rearrangements": (lambda: _Fn(lambda m, x: (
        x.std(dim=-1, keepdim=True), x.var(1, correction=0), x.norm(dim=1), x.norm(),
        F.one_hot(x.argmax(-1), 4), x.abs().log1p(), x.expm1().square(), x.sort(dim=-1).values,
        x.flip(1), x.roll(1, 1), x.roll(2), F.glu(x, -1), x.abs().log2())), [(3, 4)]),
    "pixel shuffle": (lambda: nn.Sequential(nn.Conv2d(1, 9, 3, padding=1), nn.PixelShuffle(3)),
                      [(1, 1, 4, 4)]),
    "fills shaped like the input": (lambda: _Fn(lambda m, x: ember.zeros_like(x) + x.new_ones(
        4) * ember.full_like(x, 2.5) - ember.ones_like(x, dtype=ember.float64).float()),
        [(3, 4)]),
    "einsum and sdpa with a mask": (lambda: _Fn(lambda m, q, k: F.scaled_dot_product_attention(
        q, k, k, attn_mask=ember.einsum("bik,bjk->bij", q, k) > 0)), [(2, 3, 4), (2, 5, 4)]),
}


@pytest.mark.parametrize("opset", [11, 18])
@pytest.mark.parametrize("case", sorted(_ZOO))
def test_module_zoo_runs_in_onnxruntime(case, opset):
    make, shapes = _ZOO[case]
    ember.manual_seed(0)
    args = tuple(ember.randint(0, 10, (2, 5)) if s == "ids" else ember.randn(*s)
                 for s in shapes)
    if opset < 14 and case.startswith(("reductions", "einsum")):
        with pytest.raises(ember.onnx.UnsupportedOperatorError):    # Trilu, Einsum
            _export(make(), args, opset_version=opset)
        return
    _check(make(), *args, opset_version=opset)


def test_python_values_of_traced_tensors_warn_as_torchs_tracer():
    def caught(lib):
        class M(lib.nn.Module):
            def forward(self, x):
                if x.sum() > 0:
                    return x * float(x.max()) + x[0].item() + int(x.argmax()) + len(x.tolist())
                return x
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.onnx.export(M(), (lib.ones(3),), io.BytesIO(), dynamo=False)
        return [(x.category.__name__, str(x.message)) for x in w
                if x.category.__name__ == "TracerWarning" or x.category is UserWarning]
    expected = caught(torch)
    assert len(expected) == 5 and caught(ember) == expected


class _MinGPTBlock(nn.Module):
    """minGPT's attention: a mask buffer cut to T by T, position ids from arange(T)."""

    def __init__(self, d=16, h=4, n=16):
        super().__init__()
        self.tok, self.pos = nn.Embedding(20, d), nn.Embedding(n, d)
        self.qkv, self.proj, self.h = nn.Linear(d, 3 * d), nn.Linear(d, d), h
        self.register_buffer("bias", ember.tril(ember.ones(n, n)).view(1, 1, n, n))

    def forward(self, idx):
        b, t = idx.size()
        x = self.tok(idx) + self.pos(ember.arange(0, t, dtype=ember.long).unsqueeze(0))
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (z.view(B, T, self.h, C // self.h).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / k.size(-1) ** 0.5)
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)[:, -1, :]


@pytest.mark.parametrize("opset", [11, 18])
def test_gpt_block_with_mask_buffer_follows_batch_and_length(opset):
    ember.manual_seed(0)
    _check(_MinGPTBlock(), ember.randint(0, 20, (2, 8)),
           again=[(ember.randint(0, 20, (3, 5)),), (ember.randint(0, 20, (1, 16)),)],
           dynamic_axes={"idx": {0: "batch", 1: "time"}}, opset_version=opset)


def test_cnn_flattened_by_its_batch_size():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            x = F.max_pool2d(self.conv(x), 2)
            return self.fc(x.view(x.size(0), -1)) + self.fc(x.reshape(x.shape[0], -1)) + \
                self.fc(ember.flatten(x, 1)) + ember.zeros(x.size(0), 3) + x.numel()
    ember.manual_seed(0)
    _check(Net(), ember.randn(2, 1, 8, 8), again=[(ember.randn(5, 1, 8, 8),)],
           dynamic_axes={"x": [0]})


@pytest.mark.parametrize("opset", [11, 18])
def test_sizes_and_their_arithmetic_follow_dynamic_axes(opset):
    def fn(m, x):
        n = x.size(1)
        return (x.narrow(1, 1, n - 2), x[:, : n // 2] + x[:, n - n // 2:], x[:, -n:],
                x.new_zeros(x.shape[0], 2) + x.new_full((x.size(0), 2), 3.0),
                ember.full((x.size(0), n), 1.5) * x + ember.ones(x.shape) - x.new_ones(x.size()),
                x.sort(dim=1).values, x.repeat(1, 2)[:, :n] + x.unflatten(1, (n, 1)).sum(-1),
                x.expand_as(x) * n + n % 3 - (-n) * 2, x.view_as(x[:, :, None]).sum(-1),
                ember.arange(n, dtype=ember.float32) * x + ember.arange(1, n + 1, 2).sum(),
                x.new_zeros(x.shape[0] * n, 1) + x.unsqueeze(0).expand(n, -1, -1).sum(),
                x.view(x.size()[:-1] + (n // 2, 2)), x.reshape(ember.Size([x.size(0), n])),
                *x.split([1, n - 1], dim=1), *x.split(n - 1, dim=1), x.roll(1, 1), x.roll(-2))
    ember.manual_seed(0)
    _check(_Fn(fn), ember.randn(2, 6), again=[(ember.randn(3, 8),), (ember.randn(1, 4),)],
           input_names=["x"], dynamic_axes={"x": [0, 1]}, opset_version=opset)


@pytest.mark.parametrize("opset", [11, 18])
def test_resizing_and_statistics_follow_dynamic_spatial_dims(opset):
    def fn(m, x, y):
        return (F.interpolate(x, scale_factor=2, mode="bilinear"), F.interpolate(
            x, scale_factor=1.5), F.interpolate(x, size=y.shape[2:]), x.var(dim=-1),
            x.std(dim=(2, 3), keepdim=True), x.var())
    ember.manual_seed(0)
    _check(_Fn(fn), ember.randn(1, 2, 4, 5), ember.randn(1, 1, 7, 9),
           again=[(ember.randn(2, 2, 6, 3), ember.randn(1, 1, 5, 4))], input_names=["x", "y"],
           dynamic_axes={"x": [0, 2, 3], "y": [2, 3]}, opset_version=opset)


def test_transformer_masks_follow_the_length():
    """generate_square_subsequent_mask(T) and a key padding mask given as input."""
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Transformer(16, 4, 1, 1, 32, dropout=0.0, batch_first=True)

        def forward(self, src, tgt, pad):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            return self.model(src, tgt, tgt_mask=mask, src_key_padding_mask=pad,
                              memory_key_padding_mask=pad)
    ember.manual_seed(0)
    pad = lambda *rows: ember.tensor([[i >= n for i in range(rows[0])] for n in rows[1:]])  # noqa
    _check(Seq2Seq(), ember.randn(2, 5, 16), ember.randn(2, 3, 16), pad(5, 5, 3),
           again=[(ember.randn(3, 4, 16), ember.randn(3, 6, 16), pad(4, 4, 2, 1))],
           input_names=["src", "tgt", "pad"], opset_version=17,
           dynamic_axes={"src": [0, 1], "tgt": [0, 1], "pad": [0, 1]})


@pytest.mark.parametrize("opset", [11, 13])
def test_chunks_of_a_dynamic_dim(opset):
    """chunk's sizes follow the dim's (ceil(n / k), the last part the rest)."""
    ember.manual_seed(0)
    _check(_Fn(lambda m, x: x.chunk(2, dim=1)), ember.randn(2, 6),
           again=[(ember.randn(3, 8),), (ember.randn(1, 5),), (ember.randn(1, 3),)],
           input_names=["x"], dynamic_axes={"x": [0, 1]}, opset_version=opset)


def test_a_size_of_a_dynamic_axis_taken_as_a_constant_is_refused():
    class Noisy(nn.Module):
        def forward(self, x):
            return x + ember.randn(x.size(0), 1)
    with pytest.raises(ember.onnx.UnsupportedOperatorError,
                       match="torch.randn with a size that follows a dynamic axis"):
        _export(Noisy(), (ember.randn(2, 3),), dynamic_axes={"x": [0]})
    _export(Noisy(), (ember.randn(2, 3),), dynamic_axes={"x": [1]})    # a static size: fine
    pool = nn.AdaptiveAvgPool2d(2)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="adaptive_avg_pool2d to a "
                       "size other than 1 with a size that follows a dynamic axis"):
        _export(pool, (ember.randn(1, 2, 4, 4),), dynamic_axes={"input": [2, 3]})
    _check(pool, ember.randn(1, 2, 4, 4), again=(ember.randn(3, 2, 4, 4),),
           dynamic_axes={"input": [0]})


def test_output_dims_and_len_warning_as_torchs_exporter():
    def export(lib):
        class M(lib.nn.Module):
            def forward(self, x):
                return x.sum(1) * len(x), x[:, 0] + x.size(2)
        buf = io.BytesIO()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.onnx.export(M(), (lib.ones(2, 3, 4),), buf, dynamo=False, input_names=["x"],
                            dynamic_axes={"x": [0, 2]})
        outs = onnx.load_from_string(buf.getvalue()).graph.output
        return ([[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
                 for o in outs], [str(x.message) for x in w if x.category.__name__ ==
                                  "TracerWarning"])
    assert export(ember) == export(torch)
