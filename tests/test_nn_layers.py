"""Every layer of this part of ember.nn against torch: weights copied from torch through
load_state_dict, then outputs, input gradients and parameter gradients in float32 and float64,
train and eval; state_dict keys/shapes/order and repr identical to torch's."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import ember
import ember.nn as nn
from nn_oracle import DTYPES, check_module, pair, raises_like, rand
from oracle import assert_close

X34 = rand((3, 4))
X4D = rand((2, 3, 4, 5))

# (id, class name, args, kwargs, inputs)
LAYERS = [
    ("Linear", "Linear", (4, 5), {}, [X34]),
    ("Linear_nobias", "Linear", (4, 5), {"bias": False}, [rand((2, 3, 4))]),
    ("Linear_1d_input", "Linear", (4, 2), {}, [rand((4,))]),
    ("Bilinear", "Bilinear", (4, 3, 5), {}, [X34, rand((3, 3), seed=1)]),
    ("Bilinear_nobias", "Bilinear", (4, 3, 2), {"bias": False},
     [rand((2, 3, 4)), rand((2, 3, 3), seed=1)]),
    ("Identity", "Identity", (3,), {"unused": 1}, [X34]),
    ("Flatten", "Flatten", (), {}, [X4D]),
    ("Flatten_range", "Flatten", (0, 2), {}, [X4D]),
    ("Unflatten", "Unflatten", (1, (2, 2)), {}, [X34]),
    ("Embedding", "Embedding", (10, 3), {"padding_idx": 2}, [np.array([[1, 2, 9], [0, 2, 2]])]),
    ("Embedding_maxnorm", "Embedding", (10, 3), {"max_norm": 1.0, "norm_type": 1.0},
     [np.array([1, 2, 9])]),
    ("EmbeddingBag", "EmbeddingBag", (10, 3), {"mode": "sum"},
     [np.array([[1, 2, 9], [0, 2, 2]])]),
    ("EmbeddingBag_max", "EmbeddingBag", (10, 3), {"mode": "max", "padding_idx": 0},
     [np.array([[1, 2, 9], [0, 2, 2]])]),
    ("PairwiseDistance", "PairwiseDistance", (), {"p": 3.0}, [X34, rand((3, 4), seed=1)]),
    ("CosineSimilarity", "CosineSimilarity", (), {"dim": 0}, [X34, rand((3, 4), seed=1)]),
    ("PReLU", "PReLU", (), {}, [X4D]),
    ("PReLU_channels", "PReLU", (3,), {"init": 0.1}, [X4D]),
    ("AdaptiveLogSoftmaxWithLoss", "AdaptiveLogSoftmaxWithLoss", (8, 12, [3, 7]),
     {"div_value": 2.0}, [rand((6, 8)), np.array([0, 4, 11, 2, 8, 5])]),
    ("AdaptiveLogSoftmaxWithLoss_one_row_clusters", "AdaptiveLogSoftmaxWithLoss",
     (8, 20, (2, 6, 15)), {"head_bias": True, "div_value": 2.0},
     [rand((4, 8)), np.array([1, 3, 19, 0])]),
    ("AdaptiveLogSoftmaxWithLoss_unbatched", "AdaptiveLogSoftmaxWithLoss", (8, 12, [3]), {},
     [rand((8,)), np.array(9)]),
]

ACTIVATION_LAYERS = [
    ("ReLU", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), {"alpha": 0.5}),
    ("SELU", (), {}), ("CELU", (1.5,), {}), ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}), ("Mish", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Hardtanh", (-0.5, 0.5), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}),
    ("Softplus", (), {"beta": 2.0}), ("Softsign", (), {}), ("Softshrink", (0.3,), {}),
    ("Hardshrink", (), {}), ("Tanhshrink", (), {}), ("Threshold", (0.1, 20.0), {}),
    ("LogSigmoid", (), {}), ("GLU", (), {"dim": 1}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 0}), ("Softmax2d", (), {}),
    ("RReLU", (0.1, 0.3), {}),
]


def _make(lib, cls, args, kwargs):
    return getattr(lib, cls)(*args, **kwargs)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer(case, dtype, train):
    _, cls, args, kwargs, inputs = case
    torch.manual_seed(0)
    e_mod, t_mod = _make(nn, cls, args, kwargs), _make(tnn, cls, args, kwargs)
    assert repr(e_mod) == repr(t_mod)
    check_module(e_mod, t_mod, inputs, dtype, train=train)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ACTIVATION_LAYERS,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(ACTIVATION_LAYERS)])
def test_activation_layer(case, dtype):
    cls, args, kwargs = case
    e_mod, t_mod = _make(nn, cls, args, kwargs), _make(tnn, cls, args, kwargs)
    assert repr(e_mod) == repr(t_mod)
    check_module(e_mod, t_mod, [rand((2, 4, 3, 2), seed=4)], dtype, train=cls != "RReLU")


@pytest.mark.parametrize("cls", ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU",
                                 "Mish", "Hardtanh", "Hardsigmoid", "Hardswish", "Threshold",
                                 "RReLU"])
def test_inplace_repr(cls):
    args = (0.1, 2.0) if cls == "Threshold" else ()
    assert repr(getattr(nn, cls)(*args, inplace=True)) == \
        repr(getattr(tnn, cls)(*args, inplace=True))


def test_rrelu_training_slopes_within_bounds():
    x = ember.tensor(-np.ones((100, 100), np.float32), requires_grad=True)
    y = nn.RReLU(0.1, 0.3)(x)
    a = -y.detach().numpy()
    assert 0.1 <= a.min() and a.max() <= 0.3 and a.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a, rtol=1e-6)


@pytest.mark.parametrize("cls", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                 "AlphaDropout", "FeatureAlphaDropout"])
def test_dropout_layers(cls):
    shapes = {"Dropout1d": (4, 8, 10), "Dropout3d": (2, 4, 3, 3, 3)}
    shape = shapes.get(cls, (2, 4, 5, 6))
    e_mod, t_mod = getattr(nn, cls)(0.3), getattr(tnn, cls)(0.3)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == []
    check_module(e_mod, t_mod, [rand(shape)], "float32", train=False)
    e_mod.train()
    x = ember.ones(*shape)
    y = e_mod(x).numpy()
    assert not np.allclose(y, 1.0)
    raises_like(lambda: getattr(nn, cls)(1.5), lambda: getattr(tnn, cls)(1.5))


def test_dropout_module_inplace_repr():
    assert repr(nn.Dropout(0.2, inplace=True)) == repr(tnn.Dropout(0.2, inplace=True))


def test_lazy_linear():
    e_mod = nn.LazyLinear(5)
    assert repr(e_mod) == repr(tnn.LazyLinear(5))
    x = ember.tensor(X34)
    y = e_mod(x)
    assert type(e_mod) is nn.Linear and e_mod.in_features == 4
    assert tuple(y.shape) == (3, 5)
    t_mod = tnn.Linear(4, 5)
    check_module(e_mod, t_mod, [X34])
    lazy = nn.LazyLinear(5)
    lazy.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                          t_mod.state_dict().items()})
    assert tuple(lazy.weight.shape) == (5, 4)


LAZY = [("LazyConv1d", (4, 3), dict(padding=1), (2, 3, 9)),
        ("LazyConv2d", (6, 3), dict(stride=2, groups=3), (2, 3, 8, 8)),
        ("LazyConv3d", (2, 2), {}, (1, 2, 4, 4, 4)),
        ("LazyConvTranspose1d", (2, 3), dict(stride=2), (2, 4, 5)),
        ("LazyConvTranspose2d", (2, 3), dict(output_padding=1, stride=2), (1, 3, 4, 4)),
        ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 3, 3, 3)),
        ("LazyBatchNorm1d", (), {}, (4, 3, 5)),
        ("LazyBatchNorm2d", (), dict(momentum=0.3), (2, 3, 4, 4)),
        ("LazyBatchNorm3d", (), dict(affine=False), (2, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), {}, (4, 3, 5)),
        ("LazyInstanceNorm2d", (), dict(track_running_stats=False), (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name,args,kw,shape", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_layers_become_their_eager_class_like_torch(name, args, kw, shape):
    e_mod, t_mod = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(e_mod) == repr(t_mod)
    x = rand(shape)
    e_mod(ember.tensor(x))
    t_mod(torch.tensor(x))
    assert type(e_mod).__name__ == type(t_mod).__name__ == name.replace("Lazy", "")
    assert repr(e_mod) == repr(t_mod)
    assert {k: tuple(v.shape) for k, v in e_mod.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t_mod.state_dict().items()}
    fresh = getattr(tnn, name)(*args, **kw)
    fresh(torch.tensor(x))
    check_module(e_mod, fresh, [x])              # torch's weights, then outputs and gradients
    lazy = getattr(nn, name)(*args, **kw)        # a lazy layer loads a materialised state
    lazy.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                          fresh.state_dict().items()})
    assert {k: tuple(v.shape) for k, v in lazy.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in fresh.state_dict().items()}


def test_channel_shuffle_like_torch():
    assert repr(nn.ChannelShuffle(2)) == repr(tnn.ChannelShuffle(2))
    x = rand((2, 6, 3, 2))
    assert_close(nn.functional.channel_shuffle(ember.tensor(x), 2),
                 tnn.functional.channel_shuffle(torch.tensor(x), 2))
    for shape, groups in (((1, 5, 2), 2), ((1, 4), 2), ((1, 4, 2), 0), ((4,), 2)):
        raises_like(lambda: nn.functional.channel_shuffle(ember.ones(*shape), groups),
                    lambda: tnn.functional.channel_shuffle(torch.ones(*shape), groups))


def test_lazy_conv_errors_like_torch():
    raises_like(lambda: nn.LazyConv2d(4, 3)(ember.ones(2, 3)),
                lambda: tnn.LazyConv2d(4, 3)(torch.ones(2, 3)))
    raises_like(lambda: nn.LazyConv2d(4, 3, groups=2)(ember.ones(1, 3, 5, 5)),
                lambda: tnn.LazyConv2d(4, 3, groups=2)(torch.ones(1, 3, 5, 5)))


def test_embedding_from_pretrained_and_errors():
    w = rand((5, 3), seed=2)
    e_mod = nn.Embedding.from_pretrained(ember.tensor(w), padding_idx=1)
    t_mod = tnn.Embedding.from_pretrained(torch.from_numpy(w), padding_idx=1)
    assert repr(e_mod) == repr(t_mod)
    assert not e_mod.weight.requires_grad
    ei, ti = pair(np.array([0, 1, 4]))
    assert_close(e_mod(ei), t_mod(ti))
    raises_like(lambda: nn.Embedding(3, 2, padding_idx=3), lambda: tnn.Embedding(3, 2,
                                                                                 padding_idx=3))
    raises_like(lambda: e_mod(ember.tensor([5])), lambda: t_mod(torch.tensor([5])))
    bag = nn.EmbeddingBag.from_pretrained(ember.tensor(w), mode="max")
    tbag = tnn.EmbeddingBag.from_pretrained(torch.from_numpy(w), mode="max")
    assert repr(bag) == repr(tbag)


def test_embedding_default_init_and_padding_row():
    m = nn.Embedding(1000, 16, padding_idx=3)
    w = m.weight.detach().numpy()
    assert not w[3].any()
    assert abs(w.std() - 1) < 0.02 and abs(w.mean()) < 0.02


@pytest.mark.parametrize("cls,args", [("Linear", (30, 40)), ("Bilinear", (30, 20, 10))])
def test_default_init_bounds(cls, args):
    m = getattr(nn, cls)(*args)
    bound = 1 / np.sqrt(args[0])
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_layer_dtype_device_kwargs():
    m = nn.Linear(3, 4, dtype=ember.float64)
    assert m.weight.dtype == ember.float64 and m.bias.dtype == ember.float64
    e = nn.Embedding(3, 4, dtype=ember.float64)
    assert e.weight.dtype == ember.float64


def test_wrong_input_shapes_raise_like_torch():
    e_mod, t_mod = nn.Linear(4, 5), tnn.Linear(4, 5)
    raises_like(lambda: e_mod(ember.ones(3, 3)), lambda: t_mod(torch.ones(3, 3)))
    e_mod, t_mod = nn.Bilinear(4, 3, 5), tnn.Bilinear(4, 3, 5)
    raises_like(lambda: e_mod(ember.ones(3, 4), ember.ones(3, 4)),
                lambda: t_mod(torch.ones(3, 4), torch.ones(3, 4)))
    raises_like(lambda: nn.Softmax2d()(ember.ones(3, 4)), lambda: tnn.Softmax2d()(
        torch.ones(3, 4)))
    raises_like(lambda: nn.Unflatten(1, 3), lambda: tnn.Unflatten(1, 3))
    raises_like(lambda: nn.Hardtanh(1.0, 0.0), lambda: tnn.Hardtanh(1.0, 0.0))


def test_adaptive_log_softmax_log_prob_and_predict():
    torch.manual_seed(0)
    t_mod = tnn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=True)
    e_mod = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=True)
    x = rand((9, 8), seed=5)
    for head_bias in ([0.0] * 5, [5.0] * 3 + [0.0, 0.0], [0.0] * 3 + [9.0, 9.0],
                      [0.5, 0.0, 0.0, 0.6, 0.4]):  # shortlist wins, clusters win, mixed rows
        with torch.no_grad():
            t_mod.head.bias.copy_(torch.tensor(head_bias))
        check_module(e_mod, t_mod, [x, np.arange(9)])
        assert_close(e_mod.log_prob(ember.tensor(x)), t_mod.log_prob(torch.tensor(x)))
        assert_close(e_mod.predict(ember.tensor(x)), t_mod.predict(torch.tensor(x)))


@pytest.mark.parametrize("make,inputs", [
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, []), None),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [5, 3]), None),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 12]), None),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 3.5]), None),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3]), (rand((4, 8)), np.arange(3))),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3]), (rand((4, 2, 8)), np.arange(4))),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3]), (rand((4, 8)), np.array(3))),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3]), (rand((4, 8)), np.ones((4, 1), int))),
    (lambda n: n.AdaptiveLogSoftmaxWithLoss(8, 12, [3]), (rand((2, 8)), np.array([1, 12]))),
])
def test_adaptive_log_softmax_errors(make, inputs):
    if inputs is None:
        e_msg, t_msg = raises_like(lambda: make(nn), lambda: make(tnn))
    else:
        e_msg, t_msg = raises_like(lambda: make(nn)(*map(ember.tensor, inputs)),
                                   lambda: make(tnn)(*map(torch.tensor, inputs)))
    assert e_msg == t_msg


@pytest.mark.skipif(ember.cuda.is_available(), reason="the oracle (torch's CPU build) has no GPU")
def test_data_parallel_without_accelerator_wraps_the_module():
    """torch without GPUs: DataParallel forwards to the module; state_dict keys gain `module.`."""
    torch.manual_seed(0)
    t_mod = tnn.DataParallel(tnn.Sequential(tnn.Linear(4, 3), tnn.BatchNorm1d(3)),
                             device_ids=[0, 1], dim=1)
    e_mod = nn.DataParallel(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)),
                            device_ids=[0, 1], dim=1)
    assert repr(e_mod) == repr(t_mod) and e_mod.device_ids == t_mod.device_ids == []
    assert list(e_mod.state_dict())[0] == "module.0.weight"
    check_module(e_mod, t_mod, [X34])
    inner = nn.Linear(4, 3)
    wrapped = nn.DataParallel(inner)
    assert wrapped.module is inner
    np.testing.assert_array_equal(wrapped(input=ember.tensor(X34)).detach().numpy(),
                                  inner(ember.tensor(X34)).detach().numpy())


def test_data_parallel_device_handling_with_an_accelerator(monkeypatch):
    """With an accelerator (here ember's `mock` device standing in for CUDA): device_ids default
    to every device, the module moves to device_ids[0] (one id), inputs follow it, and a module
    left elsewhere raises torch's error."""
    from ember.nn.modules import data_parallel
    monkeypatch.setattr(data_parallel, "_device_type", lambda: "mock")
    monkeypatch.setattr(data_parallel, "_device_count", lambda t: 1)
    inner = nn.Linear(4, 3)
    ref = inner(ember.tensor(X34)).detach().numpy()
    dp = nn.DataParallel(inner)
    assert dp.device_ids == [0] and dp.output_device == 0
    assert inner.weight.device == ember.device("mock", 0)
    out = dp(ember.tensor(X34))                          # a CPU input follows the module
    assert out.device == ember.device("mock", 0)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref, rtol=1e-6)
    two = nn.DataParallel(nn.Linear(4, 3), device_ids=[0, 1])   # more ids: the module stays
    with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on "
                                           r"device mock:0 \(device_ids\[0\]\) but found one "
                                           r"of them on device: cpu"):
        two(ember.tensor(X34))
