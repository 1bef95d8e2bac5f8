"""Regressions found by running ordinary PyTorch programs (DCGAN, CTC speech models, SimCLR,
RL, diffusion, PointNet, TabTransformer, distillation... training scripts) under ember and torch
and comparing what they print."""
import os
import warnings

import numpy as np
import pytest
import torch

import ember


def _run(lib, program, *args):
    lib.manual_seed(0)
    try:
        return program(lib, *args)
    except Exception as e:      # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e).replace("ember", "torch")


def _same(got, want, rtol=1e-5, atol=1e-6):
    """Equal structure, exceptions, dtypes and shapes; tensors equal to float32 rounding."""
    if isinstance(want, (list, tuple)):
        assert type(got).__name__ == type(want).__name__ and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _same(g, w, rtol, atol)
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, ember.Tensor), got
        assert (str(got.dtype), got.shape) == (str(want.dtype),
                                               want.shape)
        np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=atol)
    else:
        assert got == want


def _np(t):
    t = t.detach()
    return (t if t.is_complex() else t.double()).numpy()


def _both(program, *args, **tol):
    """`program(lib, *args)` under ember and torch from the same seed give the same results."""
    _same(_run(ember, program, *args), _run(torch, program, *args), **tol)


# ---- dropout between the layers of a packed RNN drops the packed rows ----------------------

def _packed_rnn_dropout(L, mode, bidirectional):
    rnnu = L.nn.utils.rnn
    rnn = getattr(L.nn, mode)(3, 4, num_layers=3, dropout=0.5, bidirectional=bidirectional)
    x = L.randn(5, 3, 3, requires_grad=True)
    packed = rnnu.pack_padded_sequence(x, L.tensor([5, 2, 4]), enforce_sorted=False)
    out = rnn(packed)[0].data
    out.pow(2).sum().backward()
    return out, x.grad, L.randn(2)      # the random stream after the masks


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", ["GRU", "LSTM", "RNN"])
def test_packed_rnn_dropout(mode, bidirectional):
    # torch drops out the PackedSequence data (sum(lengths) rows), not the padded layout
    _both(_packed_rnn_dropout, mode, bidirectional)


# ---- warnings land in the library file torch's land in --------------------------------------

def _warned(call):
    """(file name, category, message) of each warning `call` gives; torch's C++ warnings' site
    suffix dropped."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [(os.path.basename(w.filename), w.category.__name__,
             str(w.message).split(" (Triggered internally")[0]) for w in seen]


def _encoder(L, nested):
    layer = L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    return L.nn.TransformerEncoder(layer, 2, enable_nested_tensor=nested).eval()


_SITES = {
    # torch's @deprecated WeightNorm.apply warns at weight_norm's line, in weight_norm.py
    "weight_norm": lambda L: L.nn.utils.weight_norm(L.nn.Linear(3, 2)),
    # _canonical_mask's stacklevel=2: the encoder's forward, in transformer.py
    "encoder mismatched masks": lambda L: _encoder(L, False)(
        L.randn(2, 3, 4), mask=L.zeros(3, 3), src_key_padding_mask=L.tensor([[False] * 3] * 2)),
    "layer mismatched masks": lambda L: _encoder(L, False).layers[0](
        L.randn(2, 3, 4), src_mask=L.zeros(3, 3),
        src_key_padding_mask=L.tensor([[False] * 3] * 2)),
}


def _sgd(L):
    return L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=0.1, momentum=0.9)


_SCHEDULERS = {
    "StepLR": lambda L, o: L.optim.lr_scheduler.StepLR(o, 2),
    "MultiStepLR": lambda L, o: L.optim.lr_scheduler.MultiStepLR(o, [1]),
    "ConstantLR": lambda L, o: L.optim.lr_scheduler.ConstantLR(o),
    "LinearLR": lambda L, o: L.optim.lr_scheduler.LinearLR(o),
    "ExponentialLR": lambda L, o: L.optim.lr_scheduler.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda L, o: L.optim.lr_scheduler.PolynomialLR(o),
    "CosineAnnealingLR": lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, 3),
    "LambdaLR": lambda L, o: L.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5),
    "MultiplicativeLR": lambda L, o: L.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.5),
    "CyclicLR": lambda L, o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1),
    "OneCycleLR": lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=5),
    "CosineAnnealingWarmRestarts":
        lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2),
    "SWALR": lambda L, o: L.optim.swa_utils.SWALR(o, 0.05),
}
for _name, _make in _SCHEDULERS.items():
    # torch's _warn_get_lr_called_within_step(stacklevel=2): at get_lr's line in
    # lr_scheduler.py (SWALR warns itself with stacklevel=2: at the caller's)
    _SITES[f"{_name}.get_lr outside step"] = \
        lambda L, make=_make: make(L, _sgd(L)).get_lr()


@pytest.mark.parametrize("case", sorted(_SITES))
def test_warning_file(case):
    assert _warned(lambda: _SITES[case](ember)) == _warned(lambda: _SITES[case](torch))


def _nested_encoder(L):
    enc = _encoder(L, True)
    kpm = L.tensor([[False] * 5, [False, False, False, True, True]])
    with L.no_grad():
        return enc(L.randn(2, 5, 4) * 10, src_key_padding_mask=kpm)


def _warned_once(program):
    """The warnings of `program(lib)`'s first call under ember (its once-only warnings reset),
    and of its call under torch, whose TORCH_WARN_ONCE may have fired earlier in the process:
    then only the warnings torch still gives, and ember's first-call list, are returned."""
    from ember import _warnings
    given = set(_warnings.GIVEN)
    _warnings.GIVEN.clear()
    try:
        got = _warned(lambda: program(ember))
        again = _warned(lambda: program(ember))
    finally:
        _warnings.GIVEN |= given
    return got, again, _warned(lambda: program(torch))


def test_encoder_nested_path():
    # inference with a key padding mask runs torch's layers on a nested tensor, padded back
    # with +0.0 (ember zeroed the padding by a multiplication, giving -0.0 for negatives), and
    # torch warns once per process that nested tensors are a prototype
    got, again, want = _warned_once(_nested_encoder)
    assert (got[:len(want)] if want else got[1:]) == want and again == []
    assert len(got) == 1 and got[0][0] == "transformer.py" and \
        got[0][2].startswith("The PyTorch API of nested tensors is in prototype stage")
    out = _run(ember, _nested_encoder)
    _same(out, _run(torch, _nested_encoder))
    assert np.signbit(out[1, 3:].numpy()).sum() == 0


# ---- torch.nn.modules.utils -----------------------------------------------------------------

def _prefixed_state_dict(L):
    sd = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm1d(2)).state_dict()
    sd = type(sd)(("module." + k, v) for k, v in sd.items())
    sd._metadata = {"": {}, "module": {"version": 1}, "module.1": {"version": 2}}
    L.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
    return list(sd), sd._metadata


_MODULE_UTILS = {
    "consume_prefix": _prefixed_state_dict,
    "_pair int": lambda L: L.nn.modules.utils._pair(3),
    "_triple list": lambda L: L.nn.modules.utils._triple([1, 2, 3]),
    "_single range": lambda L: L.nn.modules.utils._single(range(2)),
    "_quadruple name": lambda L: L.nn.modules.utils._quadruple.__name__,
    "_reverse_repeat_tuple": lambda L: L.nn.modules.utils._reverse_repeat_tuple((1, 2, 3), 2),
    "_list_with_default": lambda L: L.nn.modules.utils._list_with_default([None, 4], [1, 2, 3]),
    "_list_with_default int": lambda L: L.nn.modules.utils._list_with_default(5, [1, 2]),
    "_list_with_default short": lambda L: L.nn.modules.utils._list_with_default([1, 2], [3, 4]),
    "__all__": lambda L: L.nn.modules.utils.__all__,
    "Conv2d iterable kernel": lambda L: L.nn.Conv2d(1, 1, range(2, 4)).weight.shape,
}


@pytest.mark.parametrize("case", sorted(_MODULE_UTILS))
def test_nn_modules_utils(case):
    # `from torch.nn.modules.utils import _pair` in user layers; consume_prefix... for
    # DataParallel checkpoints
    _same(_run(ember, _MODULE_UTILS[case]), _run(torch, _MODULE_UTILS[case]))


# ---- affine_grid is one AffineGridGeneratorBackward0 node -----------------------------------

def _affine_grid(L, size, align_corners):
    theta = L.randn(size[0], len(size) - 2, len(size) - 1, dtype=L.float64, requires_grad=True)
    grid = L.nn.functional.affine_grid(theta, size, align_corners=align_corners)
    w = L.randn(grid.shape, dtype=L.float64)
    g, = L.autograd.grad((grid * w).pow(2).sum(), theta, create_graph=True)
    gg, = L.autograd.grad(g.pow(2).sum(), theta)
    return grid, grid.grad_fn.name(), g, g.grad_fn.name(), gg


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 1, 3, 4), (1, 2, 2, 3, 2)])
def test_affine_grid_node(size, align_corners):
    # the spatial-transformer tutorial prints the grid: torch's grad_fn is the generator's own
    # node (ember's was the ViewBackward0 of a matmul), and it differentiates twice
    _both(_affine_grid, size, align_corners)


# ---- once-only warnings from torch's C++, where they land ----------------------------------

def _stft(L, **kw):
    x = L.sin(L.arange(256.0) / 5)
    return L.stft(x, 64, **kw)


_ONCE = {
    "stft no window": lambda L: _stft(L, return_complex=True),
    "stft return_complex=False": lambda L: _stft(L, window=L.hann_window(64),
                                                 return_complex=False),
    "stft both": lambda L: _stft(L, return_complex=False),
    "istft no window": lambda L: L.istft(_stft(L, window=L.hann_window(64), return_complex=True),
                                         64),
    "chain_matmul": lambda L: L.chain_matmul(L.eye(2), L.ones(2, 2)),
    "lu": lambda L: L.lu(L.tensor([[1.0, 2.0], [3.0, 4.0]])),
}


@pytest.mark.parametrize("case", sorted(_ONCE))
def test_once_only_warnings(case):
    # the TORCH_WARN_ONCEs of torch.stft, chain_matmul and lu fire in the _VF call inside
    # torch/functional.py (ember: in its own function, not at the caller's line); stft's
    # return_complex=False deprecation and istft's rectangular window ones were missing
    got, again, want = _warned_once(_ONCE[case])

    def sites(ws):
        return [(f == os.path.basename(__file__), c, m) for f, c, m in ws]
    assert again == [] and got
    if want:        # (else torch gave them earlier in this process)
        assert sites(got)[-len(want):] == sites(want)
    _both(_ONCE[case], atol=1e-5)       # (float32 FFTs: torch rounds differently)


# ---- stft / istft: torch's argument errors name the call; align_to_window --------------------

def _sig(L):
    return L.arange(64.0) / 10


_SPECTRAL = {
    "n_fft > length": lambda L: L.stft(L.ones(64), 100, win_length=8, return_complex=True,
                                       center=False),
    "2-d window": lambda L: L.stft(L.ones(64), 16, window=L.ones(2, 8), return_complex=True,
                                   center=False),
    "hop 0": lambda L: L.stft(L.ones(64), 16, hop_length=0, return_complex=True),
    "win_length > n_fft": lambda L: L.stft(L.ones(64), 16, win_length=20, return_complex=True),
    "3-d input": lambda L: L.stft(L.ones(2, 3, 64), 16, return_complex=True),
    "0-d input": lambda L: L.stft(L.ones(()), 16, return_complex=True, center=False),
    "int input": lambda L: L.stft(L.ones(64, dtype=L.long), 16, return_complex=True),
    "bfloat16 window": lambda L: L.stft(L.ones(64, dtype=L.bfloat16), 16, hop_length=-1,
                                        window=L.ones(16, dtype=L.bfloat16),
                                        return_complex=True),
    "reflect too short": lambda L: L.stft(L.ones(4), 16, return_complex=True),
    "align_to_window": lambda L: L.stft(_sig(L), 16, win_length=7,
                                        window=L.arange(1.0, 8.0), center=False,
                                        return_complex=True, align_to_window=True),
    "align_to_window short": lambda L: L.stft(_sig(L)[:63], 16, win_length=7, center=False,
                                              return_complex=True, align_to_window=True),
    "align_to_window centred": lambda L: L.stft(_sig(L), 16, return_complex=True,
                                                align_to_window=False),
    "istft empty": lambda L: L.istft(L.ones(9, 0, dtype=L.complex64), 16),
    "istft hop 0": lambda L: L.istft(L.ones(9, 5, dtype=L.complex64), 16, hop_length=0,
                                     window=L.ones(16)),
    "istft 4-d": lambda L: L.istft(L.ones(1, 1, 9, 5, dtype=L.complex64), 16),
    "istft 1-d": lambda L: L.istft(L.ones(9, dtype=L.complex64), 16),
    "istft frequencies": lambda L: L.istft(L.ones(9, 5, dtype=L.complex64), 16, onesided=False),
    "istft window shape": lambda L: L.istft(L.ones(9, 5, dtype=L.complex64), 16,
                                            window=L.ones(10)),
    "istft NOLA": lambda L: L.istft(L.ones(9, 5, dtype=L.complex64), 16, hop_length=16,
                                    window=L.hann_window(16), center=False),
}


@pytest.mark.parametrize("case", sorted(_SPECTRAL))
def test_stft_istft_errors(case):
    # an audio pipeline's mistakes: torch's messages begin with the call's arguments
    # ("stft(torch.FloatTensor[80], n_fft=16, ...) : expected ..."; the shape after centring)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(_run(ember, _SPECTRAL[case]), _run(torch, _SPECTRAL[case]), atol=1e-4)


def _hooked_type(L, dtype, hook_dtype):
    x = L.ones(2, dtype=dtype, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.to(hook_dtype))
    y.sum().backward()


@pytest.mark.parametrize("dtype,hook_dtype", [("bfloat16", "float64"), ("float32", "bfloat16"),
                                              ("float32", "bool")])
def test_hook_type_change_message(dtype, hook_dtype):
    # torch names the eight legacy types torch.FloatTensor..., the others CPUBFloat16Type...
    _both(lambda L: _hooked_type(L, getattr(L, dtype), getattr(L, hook_dtype)))


# ---- the translation tutorial's masks: the encoder makes both additive -----------------------

def _translation_step(L, layer_only=False):
    S, T, B, D = 4, 3, 2, 8
    src, tgt = L.randn(S, B, D), L.randn(T, B, D)
    src_mask = L.zeros(S, S).type(L.bool)
    src_pad = L.tensor([[False] * S, [False, False, True, True]])
    tgt_mask = L.nn.Transformer.generate_square_subsequent_mask(T)
    tgt_pad = L.tensor([[False] * T, [False, False, True]])
    if layer_only:
        layer = L.nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0)
        return layer(src, src_mask=src_mask, src_key_padding_mask=src_pad)
    model = L.nn.Transformer(D, 2, 1, 1, 16, dropout=0.0)
    return model(src, tgt, src_mask, tgt_mask, None, src_pad, tgt_pad, src_pad)


@pytest.mark.parametrize("layer_only", [False, True])
def test_bool_src_mask_with_bool_padding(layer_only):
    # a bool src_mask beside a bool key padding mask: torch's encoder and encoder layer turn
    # both into additive masks, so only the decoder's self-attention (bool padding, float
    # causal mask) warns; ember left src_mask bool and warned twice more per step
    def messages(L):
        return [(c, m) for _, c, m in _warned(lambda: _run(L, _translation_step, layer_only))]
    assert messages(ember) == messages(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _both(_translation_step, layer_only, atol=1e-5)


# ---- torch.backends.cuda.matmul.allow_tf32 is the float32 matmul precision ------------------

def _tf32_switches(L, steps):
    m = L.backends.cuda.matmul
    seen = []
    try:
        for kind, value in steps:
            if kind == "tf32":
                m.allow_tf32 = value
            else:
                L.set_float32_matmul_precision(value)
            seen.append((m.allow_tf32, L.get_float32_matmul_precision()))
    finally:
        L.set_float32_matmul_precision("highest")
    return seen


_TF32 = {
    "allow_tf32 on, off": [("tf32", True), ("tf32", False)],
    "precision high": [("precision", "high")],
}


@pytest.mark.parametrize("case", sorted(_TF32))
def test_allow_tf32_is_matmul_precision(case):
    # nanoGPT sets torch.backends.cuda.matmul.allow_tf32 = True, which makes
    # get_float32_matmul_precision() 'high' (ember kept the two apart)
    _both(_tf32_switches, _TF32[case])


_MATMUL_ATTRS = {
    "unknown get": lambda L: L.backends.cuda.matmul.foo,
    "unknown set": lambda L: setattr(L.backends.cuda.matmul, "foo", 1),
    "bad precision warning": lambda L: _warned(lambda: L.set_float32_matmul_precision("bogus"))[
        0][1:],
}


@pytest.mark.parametrize("case", sorted(_MATMUL_ATTRS))
def test_cuda_matmul_attributes(case):
    _both(_MATMUL_ATTRS[case])


# ---- reduced-precision gradients summed over broadcast dims in float, rounded once -----------

def _autocast_linear_bias_grad(L):
    lin = L.nn.Linear(16, 48)
    x = L.randn(4, 16, 16)
    with L.amp.autocast("cpu", dtype=L.bfloat16):
        y = lin(x)
    y.float().pow(2).sum().backward()
    return lin.bias.grad


def _broadcast_grad(L, dtype):
    x = L.randn(64, 32).to(dtype)
    b = L.randn(32).to(dtype).requires_grad_()
    w = L.randn(64, 32).to(dtype)
    ((x + b) * w).sum().backward()
    return b.grad


@pytest.mark.parametrize("case", ["autocast linear bias", "bfloat16", "float16"])
def test_reduced_precision_grad_sums(case):
    # nanoGPT's bf16 autocast step: torch sums a bias's (or any broadcast input's) half/bfloat16
    # gradient in float and rounds once; ember's NumPy sum rounded after every addition
    if case == "autocast linear bias":
        _both(_autocast_linear_bias_grad, rtol=0, atol=0)
    else:
        _both(lambda L: _broadcast_grad(L, getattr(L, case)), rtol=0, atol=0)


# ---- an in-place change of an op's output: torch's saved values, not the changed output -----

def _inplace_after(L, name):
    F = L.nn.functional
    ops = {
        "layer_norm": lambda x: F.layer_norm(x, x.shape[-1:]),
        "group_norm": lambda x: F.group_norm(x, 2),
        "instance_norm": lambda x: F.instance_norm(x),
        "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
        "InstanceNorm2d + ReLU(inplace)": lambda x: L.nn.ReLU(inplace=True)(
            L.nn.InstanceNorm2d(4)(x)),
        "gelu": F.gelu,
        "std": lambda x: x.std(-1),
        "std all": lambda x: x.std(),
        "std_mean": lambda x: L.std_mean(x, -1)[0],
        "special.entr": lambda x: L.special.entr(x.abs()),
        "erfinv": lambda x: L.erfinv(x.tanh()),
    }
    x = L.randn(2, 4, 3, 5, requires_grad=True)
    y = ops[name](x)
    y.mul_(L.arange(y.numel()).view(y.shape).float() / 10)
    y.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", ["layer_norm", "group_norm", "instance_norm", "batch_norm",
                                  "InstanceNorm2d + ReLU(inplace)", "gelu", "std", "std all",
                                  "std_mean", "special.entr", "erfinv"])
def test_inplace_change_of_output(name):
    # CycleGAN's InstanceNorm2d then ReLU(inplace=True): a norm without weight and bias
    # returned the array its backward reads, and gelu's backward read its output, so the
    # in-place change silently gave wrong gradients (torch saves only the input there). std
    # saves its result in torch, which then refuses the backward (ember's full-reduction
    # std was a NumPy scalar that mul_ could not write into)
    _both(_inplace_after, name, atol=1e-4)


def _write_after_inplace(L, name):
    F = L.nn.functional
    acts = {
        "relu_": lambda y: y.relu_(),
        "ReLU(inplace=True)": lambda y: L.nn.ReLU(inplace=True)(y),
        "sigmoid_": lambda y: y.sigmoid_(),
        "exp_": lambda y: y.exp_(),
        "leaky_relu inplace": lambda y: F.leaky_relu(y, inplace=True),
        "elu inplace": lambda y: F.elu(y, inplace=True),
        "pow tensor exponent": lambda y: y.abs().pow(L.arange(1.0, 5.0)),
    }
    x = L.randn(3, 4, requires_grad=True)
    y = acts[name](x * 1)
    y.mul_(L.arange(12.0).view(3, 4))
    y.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", ["relu_", "ReLU(inplace=True)", "sigmoid_", "exp_",
                                  "leaky_relu inplace", "elu inplace", "pow tensor exponent"])
def test_write_after_inplace_activation(name):
    # torch's in-place activations save their result, self: writing to it again makes the
    # backward fail (ember computed from a private copy and went on); the message names the
    # node as torch's forward_op_name does ("Elu1", "Pow1": only a trailing Backward0 goes)
    _both(_write_after_inplace, name)
