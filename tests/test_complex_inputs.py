"""Complex inputs to torch.nn.functional and the activation modules, against torch: every public
function of ember.nn.functional (and every activation module) runs on small complex64 inputs;
where torch raises, ember must raise the same exception class, and where torch computes, ember
must return the same values (dtype included). Never a silent result torch would not give."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as EF
from oracle import assert_close, host


def error_kind(exc):
    """The builtin exception class torch users catch (LinAlgError -> RuntimeError ...)."""
    import builtins
    return next(c for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c)


def _data(shape, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "c":
        return (rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)).astype(np.complex64)
    if kind == "r":
        return rng.uniform(0.1, 0.9, shape).astype(np.float32)
    return rng.integers(0, 3, shape).astype(np.int64)


class _Mk:
    """Argument makers bound to one library: c complex64, r float32 in (0, 1), i int64 in
    [0, 3); each call with the same (shape, seed) gives the same data in both libraries."""
    def __init__(self, lib):
        self.lib = lib

    def _t(self, kind, shape, seed):
        return self.lib.from_numpy(_data(shape, seed, kind).copy())

    def c(self, *shape, seed=0):
        return self._t("c", shape, seed)

    def r(self, *shape, seed=1):
        return self._t("r", shape, seed)

    def i(self, *shape, seed=2):
        return self._t("i", shape, seed)


# name -> call(F, m): one complex call of torch.nn.functional.<name> (F is the functional module
# of torch or ember, m its argument maker)
CALLS = {
    "adaptive_avg_pool1d": lambda F, m: F.adaptive_avg_pool1d(m.c(2, 3, 4), 2),
    "adaptive_avg_pool2d": lambda F, m: F.adaptive_avg_pool2d(m.c(1, 2, 4, 4), 2),
    "adaptive_avg_pool3d": lambda F, m: F.adaptive_avg_pool3d(m.c(1, 2, 4, 4, 4), 2),
    "adaptive_max_pool1d": lambda F, m: F.adaptive_max_pool1d(m.c(2, 3, 4), 2),
    "adaptive_max_pool1d_with_indices":
        lambda F, m: F.adaptive_max_pool1d_with_indices(m.c(2, 3, 4), 2),
    "adaptive_max_pool2d": lambda F, m: F.adaptive_max_pool2d(m.c(1, 2, 4, 4), 2),
    "adaptive_max_pool2d_with_indices":
        lambda F, m: F.adaptive_max_pool2d_with_indices(m.c(1, 2, 4, 4), 2),
    "adaptive_max_pool3d": lambda F, m: F.adaptive_max_pool3d(m.c(1, 2, 4, 4, 4), 2),
    "adaptive_max_pool3d_with_indices":
        lambda F, m: F.adaptive_max_pool3d_with_indices(m.c(1, 2, 4, 4, 4), 2),
    "affine_grid": lambda F, m: F.affine_grid(m.c(1, 2, 3), [1, 1, 2, 2], align_corners=False),
    "alpha_dropout": lambda F, m: F.alpha_dropout(m.c(2, 3, 4), 0.5, training=False),
    "avg_pool1d": lambda F, m: F.avg_pool1d(m.c(2, 3, 4), 2),
    "avg_pool2d": lambda F, m: F.avg_pool2d(m.c(1, 2, 4, 4), 2),
    "avg_pool3d": lambda F, m: F.avg_pool3d(m.c(1, 2, 4, 4, 4), 2),
    "batch_norm": lambda F, m: F.batch_norm(m.c(2, 3, 4), None, None, training=True),
    "bilinear": lambda F, m: F.bilinear(m.c(2, 3), m.c(2, 4, seed=1), m.c(5, 3, 4, seed=2)),
    "binary_cross_entropy": lambda F, m: F.binary_cross_entropy(m.c(2, 3), m.c(2, 3, seed=1)),
    "binary_cross_entropy_with_logits":
        lambda F, m: F.binary_cross_entropy_with_logits(m.c(2, 3), m.c(2, 3, seed=1)),
    "celu": lambda F, m: F.celu(m.c(2, 3, 4)),
    "celu_": lambda F, m: F.celu_(m.c(2, 3, 4)),
    "conv1d": lambda F, m: F.conv1d(m.c(2, 3, 4), m.c(2, 3, 2, seed=1)),
    "conv2d": lambda F, m: F.conv2d(m.c(1, 2, 4, 4), m.c(3, 2, 2, 2, seed=1)),
    "conv3d": lambda F, m: F.conv3d(m.c(1, 2, 3, 3, 3), m.c(2, 2, 2, 2, 2, seed=1)),
    "conv_transpose1d": lambda F, m: F.conv_transpose1d(m.c(2, 3, 4), m.c(3, 2, 2, seed=1)),
    "conv_tbc": lambda F, m: F.conv_tbc(m.c(5, 2, 3), m.c(3, 3, 4, seed=1), m.c(4, seed=2), 1),
    "conv_transpose2d":
        lambda F, m: F.conv_transpose2d(m.c(1, 2, 3, 3), m.c(2, 3, 2, 2, seed=1)),
    "conv_transpose3d":
        lambda F, m: F.conv_transpose3d(m.c(1, 2, 2, 2, 2), m.c(2, 2, 2, 2, 2, seed=1)),
    "cosine_embedding_loss": lambda F, m: F.cosine_embedding_loss(
        m.c(2, 3), m.c(2, 3, seed=1), m.lib.tensor([1.0, -1.0])),
    "cosine_similarity": lambda F, m: F.cosine_similarity(m.c(2, 3), m.c(2, 3, seed=1)),
    "cross_entropy": lambda F, m: F.cross_entropy(m.c(4, 3), m.i(4)),
    "cross_entropy.probs": lambda F, m: F.cross_entropy(m.c(4, 3), m.c(4, 3, seed=1)),
    "ctc_loss": lambda F, m: F.ctc_loss(m.c(5, 2, 3), m.lib.tensor([[1, 2], [2, 1]]),
                                        m.lib.tensor([5, 5]), m.lib.tensor([2, 2])),
    "dropout": lambda F, m: F.dropout(m.c(2, 3, 4), 0.5, training=False),
    "dropout.train": lambda F, m: F.dropout(m.c(2, 3, 4), 0.0),
    "dropout1d": lambda F, m: F.dropout1d(m.c(2, 3, 4), 0.0),
    "dropout2d": lambda F, m: F.dropout2d(m.c(1, 2, 4, 4), 0.0),
    "dropout3d": lambda F, m: F.dropout3d(m.c(1, 2, 2, 2, 2), 0.0),
    "elu": lambda F, m: F.elu(m.c(2, 3, 4)),
    "elu_": lambda F, m: F.elu_(m.c(2, 3, 4)),
    "embedding": lambda F, m: F.embedding(m.i(2, 3), m.c(4, 5)),
    "embedding_bag": lambda F, m: F.embedding_bag(m.i(2, 3), m.c(4, 5)),
    "feature_alpha_dropout":
        lambda F, m: F.feature_alpha_dropout(m.c(2, 3, 4), 0.5, training=False),
    "fold": lambda F, m: F.fold(m.c(1, 4, 4), (3, 3), (2, 2)),
    "gaussian_nll_loss":
        lambda F, m: F.gaussian_nll_loss(m.c(2, 3), m.c(2, 3, seed=1), m.r(2, 3)),
    "gelu": lambda F, m: F.gelu(m.c(2, 3, 4)),
    "gelu.tanh": lambda F, m: F.gelu(m.c(2, 3, 4), approximate="tanh"),
    "glu": lambda F, m: F.glu(m.c(2, 3, 4)),
    "grid_sample": lambda F, m: F.grid_sample(m.c(1, 1, 3, 3), m.c(1, 2, 2, 2, seed=1),
                                              align_corners=False),
    "group_norm": lambda F, m: F.group_norm(m.c(2, 4, 3), 2),
    "gumbel_softmax": lambda F, m: F.gumbel_softmax(m.c(2, 3)),
    "hardshrink": lambda F, m: F.hardshrink(m.c(2, 3, 4)),
    "hardsigmoid": lambda F, m: F.hardsigmoid(m.c(2, 3, 4)),
    "hardswish": lambda F, m: F.hardswish(m.c(2, 3, 4)),
    "hardtanh": lambda F, m: F.hardtanh(m.c(2, 3, 4)),
    "hardtanh_": lambda F, m: F.hardtanh_(m.c(2, 3, 4)),
    "hinge_embedding_loss":
        lambda F, m: F.hinge_embedding_loss(m.c(2, 3), m.lib.tensor([[1.0, -1, 1]] * 2)),
    "huber_loss": lambda F, m: F.huber_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "instance_norm": lambda F, m: F.instance_norm(m.c(2, 3, 4)),
    "interpolate": lambda F, m: F.interpolate(m.c(1, 2, 4), scale_factor=2),
    "interpolate.linear":
        lambda F, m: F.interpolate(m.c(1, 2, 4), scale_factor=2, mode="linear"),
    "kl_div": lambda F, m: F.kl_div(m.c(2, 3), m.c(2, 3, seed=1), reduction="batchmean"),
    "l1_loss": lambda F, m: F.l1_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "layer_norm": lambda F, m: F.layer_norm(m.c(2, 3, 4), (4,)),
    "leaky_relu": lambda F, m: F.leaky_relu(m.c(2, 3, 4)),
    "leaky_relu_": lambda F, m: F.leaky_relu_(m.c(2, 3, 4)),
    "linear": lambda F, m: F.linear(m.c(2, 3), m.c(4, 3, seed=1), m.c(4, seed=2)),
    "linear_cross_entropy": lambda F, m: F.linear_cross_entropy(m.c(2, 3), m.c(4, 3, seed=1),
                                                                m.i(2)),
    "linear_cross_entropy.options": lambda F, m: F.linear_cross_entropy(
        m.c(2, 3), m.c(4, 3, seed=1), m.i(2), options=m.lib.nn.LinearCrossEntropyOptions()),
    "local_response_norm": lambda F, m: F.local_response_norm(m.c(2, 3, 4), 2),
    "log_softmax": lambda F, m: F.log_softmax(m.c(2, 3, 4), 1),
    "logsigmoid": lambda F, m: F.logsigmoid(m.c(2, 3, 4)),
    "lp_pool1d": lambda F, m: F.lp_pool1d(m.c(2, 3, 4), 2, 2),
    "lp_pool2d": lambda F, m: F.lp_pool2d(m.c(1, 2, 4, 4), 2, 2),
    "lp_pool3d": lambda F, m: F.lp_pool3d(m.c(1, 2, 4, 4, 4), 2, 2),
    "margin_ranking_loss": lambda F, m: F.margin_ranking_loss(
        m.c(3), m.c(3, seed=1), m.lib.tensor([1.0, -1, 1])),
    "max_pool1d": lambda F, m: F.max_pool1d(m.c(2, 3, 4), 2),
    "max_pool1d_with_indices": lambda F, m: F.max_pool1d_with_indices(m.c(2, 3, 4), 2),
    "fractional_max_pool2d": lambda F, m: F.fractional_max_pool2d(
        m.c(1, 2, 4, 4), 2, output_size=2, _random_samples=m.r(1, 2, 2)),
    "fractional_max_pool2d_with_indices": lambda F, m: F.fractional_max_pool2d_with_indices(
        m.c(1, 2, 4, 4), 2, output_size=2, _random_samples=m.r(1, 2, 2)),
    "fractional_max_pool3d": lambda F, m: F.fractional_max_pool3d(
        m.c(1, 2, 4, 4, 4), 2, output_size=2, _random_samples=m.r(1, 2, 3)),
    "fractional_max_pool3d_with_indices": lambda F, m: F.fractional_max_pool3d_with_indices(
        m.c(1, 2, 4, 4, 4), 2, output_size=2, _random_samples=m.r(1, 2, 3)),
    "multi_head_attention_forward": lambda F, m: F.multi_head_attention_forward(
        m.c(3, 2, 4), m.c(3, 2, 4), m.c(3, 2, 4), 4, 2, m.c(12, 4), m.c(12), None, None, False,
        0.0, m.c(4, 4), m.c(4)),
    "max_pool2d": lambda F, m: F.max_pool2d(m.c(1, 2, 4, 4), 2),
    "max_pool2d_with_indices": lambda F, m: F.max_pool2d_with_indices(m.c(1, 2, 4, 4), 2),
    "max_pool3d": lambda F, m: F.max_pool3d(m.c(1, 2, 4, 4, 4), 2),
    "max_pool3d_with_indices":
        lambda F, m: F.max_pool3d_with_indices(m.c(1, 2, 4, 4, 4), 2),
    "max_unpool1d": lambda F, m: F.max_unpool1d(m.c(1, 1, 2), m.lib.tensor([[[1, 2]]]), 2),
    "max_unpool2d": lambda F, m: F.max_unpool2d(m.c(1, 1, 1, 1), m.lib.tensor([[[[3]]]]), 2),
    "max_unpool3d":
        lambda F, m: F.max_unpool3d(m.c(1, 1, 1, 1, 1), m.lib.tensor([[[[[5]]]]]), 2),
    "mish": lambda F, m: F.mish(m.c(2, 3, 4)),
    "mse_loss": lambda F, m: F.mse_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "multi_margin_loss": lambda F, m: F.multi_margin_loss(m.c(4, 3), m.i(4)),
    "multilabel_margin_loss":
        lambda F, m: F.multilabel_margin_loss(m.c(2, 3), m.lib.tensor([[1, 0, -1], [2, -1, 0]])),
    "multilabel_soft_margin_loss":
        lambda F, m: F.multilabel_soft_margin_loss(m.c(2, 3), m.i(2, 3)),
    "nll_loss": lambda F, m: F.nll_loss(m.c(4, 3), m.i(4)),
    "normalize": lambda F, m: F.normalize(m.c(2, 3, 4)),
    "one_hot": lambda F, m: F.one_hot(m.c(3)),
    "pad": lambda F, m: F.pad(m.c(2, 3, 4), (1, 2)),
    "pad.reflect": lambda F, m: F.pad(m.c(2, 3, 4), (1, 2), mode="reflect"),
    "pad.replicate": lambda F, m: F.pad(m.c(2, 3, 4), (1, 2), mode="replicate"),
    "pad.circular": lambda F, m: F.pad(m.c(2, 3, 4), (1, 2), mode="circular"),
    "pairwise_distance": lambda F, m: F.pairwise_distance(m.c(2, 3), m.c(2, 3, seed=1)),
    "pdist": lambda F, m: F.pdist(m.c(3, 4)),
    "pixel_shuffle": lambda F, m: F.pixel_shuffle(m.c(1, 4, 2, 2), 2),
    "pixel_unshuffle": lambda F, m: F.pixel_unshuffle(m.c(1, 1, 4, 4), 2),
    "channel_shuffle": lambda F, m: F.channel_shuffle(m.c(1, 4, 3), 2),
    "native_channel_shuffle": lambda F, m: F.native_channel_shuffle(m.c(2, 6, 2), 3),
    "poisson_nll_loss": lambda F, m: F.poisson_nll_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "prelu": lambda F, m: F.prelu(m.c(2, 3, 4), m.c(1, seed=1)),
    "prelu.real_weight": lambda F, m: F.prelu(m.c(2, 3, 4), m.r(1)),
    "relu": lambda F, m: F.relu(m.c(2, 3, 4)),
    "relu6": lambda F, m: F.relu6(m.c(2, 3, 4)),
    "relu_": lambda F, m: F.relu_(m.c(2, 3, 4)),
    "rms_norm": lambda F, m: F.rms_norm(m.c(2, 3, 4), (4,)),
    "rrelu": lambda F, m: F.rrelu(m.c(2, 3, 4)),
    "rrelu_": lambda F, m: F.rrelu_(m.c(2, 3, 4)),
    "scaled_dot_product_attention": lambda F, m: F.scaled_dot_product_attention(
        m.c(1, 2, 3), m.c(1, 2, 3, seed=1), m.c(1, 2, 3, seed=2)),
    "selu": lambda F, m: F.selu(m.c(2, 3, 4)),
    "selu_": lambda F, m: F.selu_(m.c(2, 3, 4)),
    "sigmoid": lambda F, m: F.sigmoid(m.c(2, 3, 4)),
    "silu": lambda F, m: F.silu(m.c(2, 3, 4)),
    "smooth_l1_loss": lambda F, m: F.smooth_l1_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "soft_margin_loss": lambda F, m: F.soft_margin_loss(m.c(2, 3), m.c(2, 3, seed=1)),
    "softmax": lambda F, m: F.softmax(m.c(2, 3, 4), 1),
    "softmin": lambda F, m: F.softmin(m.c(2, 3, 4), 1),
    "softplus": lambda F, m: F.softplus(m.c(2, 3, 4)),
    "softshrink": lambda F, m: F.softshrink(m.c(2, 3, 4)),
    "softsign": lambda F, m: F.softsign(m.c(2, 3, 4)),
    "tanh": lambda F, m: F.tanh(m.c(2, 3, 4)),
    "tanhshrink": lambda F, m: F.tanhshrink(m.c(2, 3, 4)),
    "threshold": lambda F, m: F.threshold(m.c(2, 3, 4), 0.1, 2.0),
    "threshold_": lambda F, m: F.threshold_(m.c(2, 3, 4), 0.1, 2.0),
    "triplet_margin_loss": lambda F, m: F.triplet_margin_loss(
        m.c(2, 3), m.c(2, 3, seed=1), m.c(2, 3, seed=2)),
    "triplet_margin_with_distance_loss": lambda F, m: F.triplet_margin_with_distance_loss(
        m.c(2, 3), m.c(2, 3, seed=1), m.c(2, 3, seed=2)),
    "unfold": lambda F, m: F.unfold(m.c(1, 1, 3, 3), 2),
    "upsample": lambda F, m: F.upsample(m.c(1, 2, 4), scale_factor=2),
    "upsample_bilinear": lambda F, m: F.upsample_bilinear(m.c(1, 1, 2, 2), scale_factor=2),
    "upsample_nearest": lambda F, m: F.upsample_nearest(m.c(1, 1, 2, 2), scale_factor=2),
    # torch.cdist (ember also has it as F.cdist)
    "cdist": lambda F, m: (torch.cdist if m.lib is torch else ember.cdist)(
        m.c(2, 3), m.c(4, 3, seed=1)),
}

# random results: compare the outcome, the dtype and the shape, not the values
RANDOM = {"gumbel_softmax", "rrelu", "rrelu_"}


def _public_functions():
    names = []
    for n in dir(EF):
        f = getattr(EF, n)
        if n.startswith("_") or not callable(f) or inspect.isclass(f) or inspect.ismodule(f):
            continue
        names.append(n)
    return names


def test_every_functional_is_swept():
    missing = sorted(set(_public_functions()) - {k.split(".")[0] for k in CALLS})
    assert not missing, f"add a complex call for: {missing}"


def _outcome(call, lib, F):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", call(F, _Mk(lib))
        except Exception as e:          # noqa: BLE001 - the class is what we compare
            return "err", e


def _compare(t_res, e_res, what, values=True):
    (kt, rt), (ke, re_) = t_res, e_res
    assert kt == ke, f"{what}: torch {rt!r}, ember {re_!r}"
    if kt == "err":
        assert error_kind(rt) is error_kind(re_), f"{what}: torch raised {rt!r}, ember {re_!r}"
        return
    if values:
        assert_close(re_, rt)
        return
    for a, b in zip(re_ if isinstance(re_, tuple) else (re_,),
                    rt if isinstance(rt, tuple) else (rt,)):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype), what


@pytest.mark.parametrize("name", sorted(CALLS))
def test_functional_complex_matches_torch(name):
    call = CALLS[name]
    torch.manual_seed(0)
    ember.manual_seed(0)
    _compare(_outcome(call, torch, torch.nn.functional), _outcome(call, ember, EF), name,
             values=name not in RANDOM)


# ---- activation modules ----------------------------------------------------------------------
MODULE_ARGS = {"Threshold": (0.1, 2.0), "Softmax": (1,), "Softmin": (1,), "LogSoftmax": (1,)}


def _activation_modules():
    import ember.nn.modules.activation as A
    return sorted(n for n, c in vars(A).items()
                  if inspect.isclass(c) and c.__module__ == A.__name__ and not n.startswith("_")
                  and n != "MultiheadAttention")


@pytest.mark.parametrize("name", _activation_modules())
def test_activation_module_complex_matches_torch(name):
    args = MODULE_ARGS.get(name, ())
    shape = (1, 2, 3, 4) if name == "Softmax2d" else (2, 3, 4)

    def call(lib):
        torch.manual_seed(0)
        ember.manual_seed(0)
        mod = getattr(lib.nn, name)(*args)
        return mod(_Mk(lib).c(*shape))
    t_res = _outcome(lambda F, m: call(torch), torch, None)
    e_res = _outcome(lambda F, m: call(ember), ember, None)
    _compare(t_res, e_res, name, values=name not in RANDOM | {"RReLU"})


# ---- in-place ops torch refuses on complex tensors -------------------------------------------
@pytest.mark.parametrize("name", ["abs_", "absolute_"])
def test_inplace_abs_complex_refused(name):
    for lib in (torch, ember):
        x = lib.tensor([1 + 2j, -3j])
        with pytest.raises(RuntimeError, match="In-place abs is not supported for complex"):
            getattr(x, name)()
        assert x[0].item() == 1 + 2j


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (2,), (1, 1)])
@pytest.mark.parametrize("fn", ["cummax", "cummin"])
@pytest.mark.parametrize("rg", [False, True])
def test_cummax_complex(fn, shape, rg):
    res = []
    for lib in (torch, ember):
        x = lib.from_numpy(np.asarray(_data(shape, 0, "c"))).requires_grad_(rg)
        res.append(_outcome(lambda F, m: getattr(lib, fn)(x, 0), lib, None))
    (kt, rt), (ke, re_) = res
    assert kt == ke, (rt, re_)
    if kt == "err":
        assert type(rt) is type(re_) and str(rt) == str(re_)
    else:
        assert_close(tuple(re_), tuple(rt))


@pytest.mark.parametrize("name,args", [("uniform_", (1.0, 3.0)), ("normal_", (3.0, 2.0)),
                                       ("bernoulli_", ()), ("random_", ()),
                                       ("exponential_", ()), ("geometric_", (0.5,)),
                                       ("log_normal_", ()), ("cauchy_", ())])
def test_random_fills_of_complex_tensors(name, args):
    outcome = {}
    for L in (torch, ember):
        x = L.zeros(20000, dtype=L.complex128)
        try:
            getattr(x, name)(*args)
            outcome[L] = x
        except (RuntimeError, NotImplementedError) as e:
            outcome[L] = type(e)
    if isinstance(outcome[torch], type):
        assert outcome[ember] is outcome[torch]
        return
    e = host(outcome[ember])
    for part in (e.real, e.imag):               # both parts drawn, as torch draws them
        if name == "uniform_":
            assert part.min() >= 1.0 and part.max() < 3.0 and part.std() > 0.5
        else:                                   # mean 3, each part's std 2 / sqrt(2)
            assert abs(part.mean() - 3.0) < 0.05 and abs(part.std() - 2 / np.sqrt(2)) < 0.05
