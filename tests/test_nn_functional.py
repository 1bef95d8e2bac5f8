"""nn.functional against torch: activations, softmax family, dropout statistics, embedding,
distances, attention, one_hot; float32 and float64 gradients and float64 gradchecks."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from nn_oracle import DTYPES, check_fn, gradcheck, pair, raises_like, rand
from oracle import assert_close

# name -> (call with the library's functional module, input domain)
ACTIVATIONS = {
    "relu": (lambda f, x: f.relu(x), None),
    "relu6": (lambda f, x: f.relu6(x * 4), None),
    "leaky_relu": (lambda f, x: f.leaky_relu(x, 0.2), None),
    "elu": (lambda f, x: f.elu(x, 0.7), None),
    "selu": (lambda f, x: f.selu(x), None),
    "celu": (lambda f, x: f.celu(x, 1.3), None),
    "gelu": (lambda f, x: f.gelu(x), None),
    "gelu_tanh": (lambda f, x: f.gelu(x, approximate="tanh"), None),
    "silu": (lambda f, x: f.silu(x), None),
    "mish": (lambda f, x: f.mish(x), None),
    "sigmoid": (lambda f, x: f.sigmoid(x), None),
    "tanh": (lambda f, x: f.tanh(x), None),
    "hardtanh": (lambda f, x: f.hardtanh(x, -0.5, 0.7), None),
    "hardsigmoid": (lambda f, x: f.hardsigmoid(x * 3), None),
    "hardswish": (lambda f, x: f.hardswish(x * 3), None),
    "softplus": (lambda f, x: f.softplus(x, beta=2, threshold=1.5), None),
    "softsign": (lambda f, x: f.softsign(x), None),
    "softshrink": (lambda f, x: f.softshrink(x, 0.4), None),
    "hardshrink": (lambda f, x: f.hardshrink(x, 0.4), None),
    "tanhshrink": (lambda f, x: f.tanhshrink(x), None),
    "threshold": (lambda f, x: f.threshold(x, 0.3, -2.0), None),
    "logsigmoid": (lambda f, x: f.logsigmoid(x * 10), None),
    "glu": (lambda f, x: f.glu(x, 1), None),
    "glu_last": (lambda f, x: f.glu(x), None),
    "softmax": (lambda f, x: f.softmax(x, 1), None),
    "softmax_neg": (lambda f, x: f.softmax(x * 30, -1), None),
    "log_softmax": (lambda f, x: f.log_softmax(x * 30, 0), None),
    "softmin": (lambda f, x: f.softmin(x, dim=1), None),
    "softmax_dtype": (lambda f, x: f.softmax(x, 1, dtype=torch.float64 if f is TF
                                             else ember.float64), None),
    "rrelu_eval": (lambda f, x: f.rrelu(x, 0.1, 0.3, training=False), None),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name, dtype):
    fn, _ = ACTIVATIONS[name]
    x = rand((4, 6), dtype, seed=3)
    check_fn(lambda a: fn(F, a), lambda a: fn(TF, a), [x], dtype)


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "selu", "celu",
                                  "hardtanh", "hardsigmoid", "hardswish", "softshrink",
                                  "hardshrink", "threshold", "softplus", "gelu", "silu"])
def test_activation_kinks(name):
    """Gradients exactly at the thresholds follow torch's kernels."""
    fn, _ = ACTIVATIONS[name]
    x = np.array([-6, -3, -1, -0.5, -0.4, 0, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 3, 6],
                 np.float64) / np.array(4.0 if name == "relu6" else 3.0 if name in (
                     "hardsigmoid", "hardswish") else 1.0)
    check_fn(lambda a: fn(F, a), lambda a: fn(TF, a), [x], "float64")


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish", "elu", "softplus",
                                  "logsigmoid", "softmax", "log_softmax", "glu", "softsign"])
def test_activation_gradcheck(name):
    fn, _ = ACTIVATIONS[name]
    gradcheck(lambda a: fn(F, a), [rand((3, 4), "float64", seed=5)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsigmoid_backward_keeps_small_slopes_like_torch(dtype):
    """log_sigmoid's slope at large x is exp(-x) / (1 + exp(-x)), as torch computes it: ember's
    1 - sigmoid(x) gave 0 in float32 from x = 17 on (torch: 2.1e-9 at 20, 1.4e-11 at 25) and
    lost digits in float64."""
    x = np.array([-30.0, -20.0, -5.0, -0.5, 0.0, 0.5, 5.0, 17.0, 20.0, 25.0, 60.0, 100.0])
    got, want = [], []
    for lib, fn, out in ((ember, F, got), (torch, TF, want)):
        t = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        fn.logsigmoid(t).backward(lib.ones_like(t))
        out.append(t.grad.numpy())
    # (within an ulp, relatively: NumPy's exp and torch's round apart on a few values)
    np.testing.assert_allclose(got[0], want[0], rtol=3e-7 if dtype == "float32" else 3e-16,
                               atol=0)


def test_activation_grad_fn_names():
    x = ember.randn(3, 4, requires_grad=True)
    assert F.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert F.log_softmax(x, 1).grad_fn.name() == "LogSoftmaxBackward0"
    assert F.gelu(x).grad_fn.name() == "GeluBackward0"


def test_inplace_activations():
    for name in ("relu", "leaky_relu", "elu", "hardtanh", "silu", "selu", "hardswish"):
        x = rand((3, 4), seed=1)
        e, t = pair(x)
        fe, ft = getattr(F, name), getattr(TF, name)
        re, rt = fe(e, inplace=True), ft(t, inplace=True)
        assert re is e and rt is t
        assert_close(e, t)


def test_inplace_activation_on_nonleaf_keeps_gradient():
    x = rand((3, 4), seed=2)
    e, t = pair(x, requires_grad=True)
    ye, yt = e * 2, t * 2
    F.relu(ye, inplace=True)
    TF.relu(yt, inplace=True)
    w = rand((3, 4), seed=9)
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    assert_close(e.grad, t.grad)


def test_inplace_on_leaf_requiring_grad_raises():
    raises_like(lambda: F.relu(ember.ones(3, requires_grad=True), inplace=True),
                lambda: TF.relu(torch.ones(3, requires_grad=True), inplace=True))


def test_softmax_stability_and_implicit_dim():
    x = np.array([[1000.0, 1001.0, -1000.0], [-1e30, 0.0, 1e30]], np.float32)
    e, t = pair(x)
    assert_close(F.softmax(e, 1), TF.softmax(t, 1))
    assert_close(F.log_softmax(e, 1), TF.log_softmax(t, 1))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        assert_close(F.softmax(e), TF.softmax(t, 1))
    assert any("Implicit dimension" in str(w.message) for w in rec)
    e3, t3 = pair(rand((2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(F.log_softmax(e3), TF.log_softmax(t3))


def test_softmax_edge_cases():
    e, t = pair(np.float32(2.0))
    assert_close(F.softmax(e, 0), TF.softmax(t, 0))
    e, t = pair(np.zeros((0, 3), np.float32))
    assert_close(F.softmax(e, 1), TF.softmax(t, 1))
    raises_like(lambda: F.softmax(ember.tensor([1, 2]), 0),
                lambda: TF.softmax(torch.tensor([1, 2]), 0))
    raises_like(lambda: F.softmax(ember.ones(2, 3), 2), lambda: TF.softmax(torch.ones(2, 3), 2))


def test_gumbel_softmax_shapes():
    x = ember.randn(5, 7)
    y = F.gumbel_softmax(x, tau=0.5)
    np.testing.assert_allclose(y.numpy().sum(1), 1, rtol=1e-5)
    h = F.gumbel_softmax(x, hard=True)
    assert set(np.unique(h.numpy())) <= {0.0, 1.0} and (h.numpy().sum(1) == 1).all()


def test_prelu():
    for shape, n in (((3, 4, 5), 4), ((3, 4), 1), ((6,), 1), ((2, 3, 2, 2), 3)):
        x = rand(shape, seed=1)
        w = rand((n,), seed=2, low=0.0, high=0.5)
        check_fn(F.prelu, TF.prelu, [x, w], "float64")
    raises_like(lambda: F.prelu(ember.ones(2, 3), ember.ones(2)),
                lambda: TF.prelu(torch.ones(2, 3), torch.ones(2)))


def test_glu_odd_dim_raises():
    raises_like(lambda: F.glu(ember.ones(3, 5)), lambda: TF.glu(torch.ones(3, 5)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_and_bilinear(dtype):
    check_fn(F.linear, TF.linear, [rand((4, 3)), rand((5, 3), seed=1), rand((5,), seed=2)],
             dtype)
    check_fn(F.linear, TF.linear, [rand((2, 4, 3)), rand((5, 3), seed=1)], dtype)
    check_fn(F.bilinear, TF.bilinear, [rand((4, 3)), rand((4, 2), seed=1),
                                       rand((5, 3, 2), seed=2), rand((5,), seed=3)], dtype)
    check_fn(F.bilinear, TF.bilinear, [rand((2, 4, 3)), rand((2, 4, 2), seed=1),
                                       rand((5, 3, 2), seed=2)], dtype)


def test_linear_shape_errors():
    raises_like(lambda: F.linear(ember.ones(3, 4), ember.ones(5, 3)),
                lambda: TF.linear(torch.ones(3, 4), torch.ones(5, 3)))


# ---- dropout -------------------------------------------------------------------------------
def test_dropout_train_statistics_and_gradient():
    x = ember.ones(200, 500, requires_grad=True)
    y = F.dropout(x, 0.3)
    a = y.detach().numpy()
    kept = a != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)
    # torch's CPU dropout is input * mask / (1 - p) (its fused native_dropout is CUDA's)
    assert y.grad_fn.name() == TF.dropout(torch.ones(2, 3, requires_grad=True), 0.3).grad_fn.name()


def test_dropout_eval_p0_p1_and_errors():
    x = ember.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    raises_like(lambda: F.dropout(x, 1.5), lambda: TF.dropout(torch.ones(2), 1.5))
    raises_like(lambda: F.dropout(x, -0.1), lambda: TF.dropout(torch.ones(2), -0.1))


def test_dropout_inplace():
    x = ember.ones(100, 100)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and abs((x.numpy() == 0).mean() - 0.5) < 0.05


@pytest.mark.parametrize("fn,shape", [("dropout1d", (4, 30, 50)), ("dropout2d", (4, 30, 5, 6)),
                                      ("dropout3d", (4, 30, 2, 3, 4))])
def test_feature_dropout_zeroes_whole_channels(fn, shape):
    x = ember.ones(*shape)
    y = getattr(F, fn)(x, 0.5).numpy().reshape(shape[0], shape[1], -1)
    per_channel = y.min(-1) == y.max(-1)
    assert per_channel.all()
    assert 0.3 < (y[..., 0] == 0).mean() < 0.7


def test_feature_dropout_rank_errors():
    raises_like(lambda: F.dropout1d(ember.ones(2, 3, 4, 5)),
                lambda: TF.dropout1d(torch.ones(2, 3, 4, 5)))


def test_alpha_dropout_keeps_mean_and_std():
    x = ember.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.03
    assert F.alpha_dropout(x, 0.2, training=False) is x
    z = F.feature_alpha_dropout(ember.randn(50, 60, 8), 0.3, training=True).numpy()
    assert (z.min(-1) == z.max(-1)).sum() == 0 or z.shape == (50, 60, 8)


# ---- embedding -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding(dtype):
    idx = np.array([[1, 2, 4], [4, 3, 1]])
    w = rand((6, 3), seed=1)
    check_fn(F.embedding, TF.embedding, [idx, w], dtype)
    check_fn(lambda i, w: F.embedding(i, w, padding_idx=1),
             lambda i, w: TF.embedding(i, w, padding_idx=1), [idx, w], dtype)
    check_fn(lambda i, w: F.embedding(i, w, padding_idx=-2, scale_grad_by_freq=True),
             lambda i, w: TF.embedding(i, w, padding_idx=-2, scale_grad_by_freq=True),
             [idx, w], dtype)


def test_embedding_max_norm_renormalises_in_place():
    w = rand((6, 3), seed=1, low=-3, high=3)
    ew, tw = pair(w)
    idx = np.array([0, 2, 2, 5])
    ei, ti = pair(idx)
    assert_close(F.embedding(ei, ew, max_norm=1.0), TF.embedding(ti, tw, max_norm=1.0))
    assert_close(ew, tw)


def test_embedding_errors():
    raises_like(lambda: F.embedding(ember.tensor([6]), ember.ones(6, 2)),
                lambda: TF.embedding(torch.tensor([6]), torch.ones(6, 2)))
    raises_like(lambda: F.embedding(ember.tensor([-1]), ember.ones(6, 2)),
                lambda: TF.embedding(torch.tensor([-1]), torch.ones(6, 2)))
    raises_like(lambda: F.embedding(ember.tensor([1.0]), ember.ones(6, 2)),
                lambda: TF.embedding(torch.tensor([1.0]), torch.ones(6, 2)))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    w = rand((10, 3), seed=1)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = np.array([0, 2, 2, 5])
    check_fn(lambda i, w, o: F.embedding_bag(i, w, o, mode=mode),
             lambda i, w, o: TF.embedding_bag(i, w, o, mode=mode), [idx, w, offsets], "float64")
    idx2 = np.array([[1, 2, 4], [4, 3, 2]])
    check_fn(lambda i, w: F.embedding_bag(i, w, mode=mode, padding_idx=2),
             lambda i, w: TF.embedding_bag(i, w, mode=mode, padding_idx=2), [idx2, w],
             "float64")
    check_fn(lambda i, w, o: F.embedding_bag(i, w, o, mode=mode, include_last_offset=True),
             lambda i, w, o: TF.embedding_bag(i, w, o, mode=mode, include_last_offset=True),
             [idx, w, np.array([0, 2, 5, 8])], "float64")


def test_embedding_bag_per_sample_weights():
    w = rand((10, 3), seed=1)
    idx, off, psw = np.array([1, 2, 4, 5, 4]), np.array([0, 3]), rand((5,), seed=4)
    check_fn(lambda i, w, o, p: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=p),
             lambda i, w, o, p: TF.embedding_bag(i, w, o, mode="sum", per_sample_weights=p),
             [idx, w, off, psw], "float64")
    raises_like(lambda: F.embedding_bag(ember.tensor(idx), ember.ones(10, 3),
                                        ember.tensor(off), mode="mean",
                                        per_sample_weights=ember.ones(5)),
                lambda: TF.embedding_bag(torch.tensor(idx), torch.ones(10, 3),
                                         torch.tensor(off), mode="mean",
                                         per_sample_weights=torch.ones(5)))


def test_one_hot():
    for a, n in ((np.array([0, 3, 1]), -1), (np.array([[0, 2], [1, 1]]), 4),
                 (np.array(2), 3)):
        e, t = pair(a)
        assert_close(F.one_hot(e, n), TF.one_hot(t, n))
    raises_like(lambda: F.one_hot(ember.tensor([5]), 3), lambda: TF.one_hot(torch.tensor([5]), 3))
    raises_like(lambda: F.one_hot(ember.tensor([-1]), 3),
                lambda: TF.one_hot(torch.tensor([-1]), 3))
    raises_like(lambda: F.one_hot(ember.tensor([1.0]), 3),
                lambda: TF.one_hot(torch.tensor([1.0]), 3))


# ---- distances ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pairwise_distance_and_normalize(p, dtype):
    a, b = rand((5, 4), seed=1), rand((5, 4), seed=2)
    check_fn(lambda x, y: F.pairwise_distance(x, y, p), lambda x, y: TF.pairwise_distance(x, y, p),
             [a, b], dtype)
    check_fn(lambda x, y: F.pairwise_distance(x, y, p, keepdim=True),
             lambda x, y: TF.pairwise_distance(x, y, p, keepdim=True), [a, b[:1]], dtype)
    check_fn(lambda x: F.normalize(x, p, dim=0), lambda x: TF.normalize(x, p, dim=0), [a],
             dtype)


def test_normalize_zero_vector_has_zero_grad():
    check_fn(lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1),
             [np.array([[0.0, 0.0], [3.0, 4.0]])], "float64")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity(dtype):
    check_fn(F.cosine_similarity, TF.cosine_similarity, [rand((4, 5)), rand((4, 5), seed=1)],
             dtype)
    check_fn(lambda x, y: F.cosine_similarity(x, y, dim=-1),
             lambda x, y: TF.cosine_similarity(x, y, dim=-1),
             [rand((3, 1, 5)), rand((4, 5), seed=1)], dtype)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 1.5, float("inf")])
def test_cdist_and_pdist(p):
    a, b = rand((2, 5, 3), seed=1), rand((2, 4, 3), seed=2)
    check_fn(lambda x, y: F.cdist(x, y, p), lambda x, y: torch.cdist(x, y, p), [a, b],
             "float64")
    check_fn(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), [rand((5, 3), seed=3)],
             "float64")


def test_cdist_matmul_path_matches_torch():
    a, b = rand((30, 8), seed=1), rand((40, 8), seed=2)
    check_fn(F.cdist, torch.cdist, [a, b], "float32", tol=dict(rtol=1e-4, atol=1e-4))
    assert ember.cdist is F.cdist or ember.cdist(ember.tensor(a), ember.tensor(b)) is not None
    raises_like(lambda: F.cdist(ember.ones(3, 2), ember.ones(4, 3)),
                lambda: torch.cdist(torch.ones(3, 2), torch.ones(4, 3)))


def test_distance_gradchecks():
    gradcheck(lambda a, b: F.pairwise_distance(a, b, 3.0), [rand((3, 4)), rand((3, 4), seed=1)])
    gradcheck(lambda a, b: F.cosine_similarity(a, b), [rand((3, 4)), rand((3, 4), seed=1)])
    gradcheck(lambda a, b: F.cdist(a, b), [rand((3, 4)), rand((5, 4), seed=1)])


# ---- attention -----------------------------------------------------------------------------
def _qkv(b=2, h=3, lq=4, lk=5, d=6, hk=None, seed=0):
    hk = hk or h
    return (rand((b, h, lq, d), seed=seed), rand((b, hk, lk, d), seed=seed + 1),
            rand((b, hk, lk, d), seed=seed + 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["plain", "causal", "causal_square", "causal_tall",
                                     "bool_mask", "float_mask", "scale", "gqa"])
def test_scaled_dot_product_attention(variant, dtype):
    q, k, v = _qkv()
    kwargs, extra = {}, []
    if variant == "causal":
        kwargs["is_causal"] = True
    elif variant in ("causal_square", "causal_tall"):
        q, k, v = _qkv(lq=5, lk=5) if variant == "causal_square" else _qkv(lq=7, lk=3)
        kwargs["is_causal"] = True
        kwargs["scale"] = 0.7
    elif variant == "bool_mask":
        mask = np.random.default_rng(3).random((4, 5)) > 0.3
        mask[:, 0] = True
        extra = [mask]
    elif variant == "float_mask":
        extra = [rand((2, 1, 4, 5), seed=7)]
    elif variant == "scale":
        kwargs["scale"] = 0.3
    elif variant == "gqa":
        q, k, v = _qkv(h=6, hk=2)
        kwargs["enable_gqa"] = True

    def run(lib):
        def f(q, k, v, *m):
            return lib.scaled_dot_product_attention(q, k, v, *m, **kwargs)
        return f
    check_fn(run(F), run(TF), [q, k, v] + extra, dtype)


def test_sdpa_dropout_and_errors():
    q, k, v = (ember.tensor(a) for a in _qkv())
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert tuple(out.shape) == (2, 3, 4, 6)
    tq, tk, tv = (torch.from_numpy(a) for a in _qkv())
    raises_like(lambda: F.scaled_dot_product_attention(q, k[..., :5], v),
                lambda: TF.scaled_dot_product_attention(tq, tk[..., :5], tv))


@pytest.mark.parametrize("float_mask", [False, True])
def test_sdpa_causal_with_mask_and_fully_masked_rows(float_mask):
    mask = np.random.default_rng(3).random((4, 5)) > 0.3
    mask[2] = False                       # a row that nothing may attend to: zeros, not nan
    if float_mask:
        mask = np.where(mask, 0.0, -np.inf).astype(np.float32)
    q, k, v = _qkv()
    e_mask, t_mask = pair(mask)

    def run(lib, m):
        return lambda q, k, v: lib.scaled_dot_product_attention(q, k, v, m, is_causal=True)
    check_fn(run(F, e_mask), run(TF, t_mask), [q, k, v], "float32")


# ---- every test device (cpu, mock, and cuda where CuPy sees a GPU) --------------------------
_R = np.random.default_rng(0)
_X = _R.uniform(-3, 3, (6, 5))
_Y = _R.integers(0, 5, 6)
DEVICE_CASES = {
    "gelu_silu_mish": (lambda f, lib, x: f.gelu(x) + f.silu(x) + f.mish(x) + f.elu(x), [_X]),
    "softmax_family": (lambda f, lib, x: f.softmax(x * 9, 1) + f.log_softmax(x, 0), [_X]),
    "cross_entropy": (lambda f, lib, x, y: f.cross_entropy(x, y, label_smoothing=0.1,
                                                           ignore_index=2), [_X, _Y]),
    "nll_bce": (lambda f, lib, x, y: f.nll_loss(x, y) + f.binary_cross_entropy_with_logits(
        x, x.detach().sigmoid()), [_X, _Y]),
    "embedding_bag": (lambda f, lib, i, w, o: f.embedding_bag(i, w, o, mode="mean") +
                      f.embedding(i[:3], w).sum(0), [np.array([0, 1, 3, 3, 2, 2]),
                                                     _R.uniform(size=(4, 3)), np.array([0, 2, 2])]),
    "attention": (lambda f, lib, q, k, v: f.scaled_dot_product_attention(q, k, v,
                                                                         is_causal=True),
                  [_R.uniform(size=(2, 3, 4, 8)), _R.uniform(size=(2, 3, 6, 8)),
                   _R.uniform(size=(2, 3, 6, 8))]),
    "distances": (lambda f, lib, a, b: f.pairwise_distance(a, b) + f.cosine_similarity(a, b) +
                  lib.cdist(a, b).sum(1), [_X, _X[::-1].copy()]),
    "ctc": (lambda f, lib, lp, t, il, tl: f.ctc_loss(f.log_softmax(lp, 2), t, il, tl),
            [_R.uniform(size=(10, 2, 5)), np.array([[1, 2, 2], [3, 1, 0]]), np.array([10, 8]),
             np.array([3, 2])]),
}


@pytest.mark.parametrize("name", list(DEVICE_CASES))
def test_functional_on_device(name, device):
    fn, inputs = DEVICE_CASES[name]
    e_in, t_in = [], []
    for a in inputs:
        rg = a.dtype.kind == "f"
        e_in.append(ember.tensor(a, device=device, requires_grad=rg))
        t_in.append(torch.tensor(a, requires_grad=rg))
    e_out, t_out = fn(F, ember, *e_in), fn(TF, torch, *t_in)
    assert e_out.device.type == device
    assert_close(e_out.cpu(), t_out, rtol=1e-6, atol=1e-8)
    w = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    (e_out * ember.tensor(w, device=device)).sum().backward()
    (t_out * torch.from_numpy(w)).sum().backward()
    for e, t in zip(e_in, t_in):
        if t.grad is not None:
            assert e.grad.device.type == device
            assert_close(e.grad.cpu(), t.grad, rtol=1e-6, atol=1e-8)


_EDGE_ACTIVATIONS = ["relu", "relu6", "elu", "selu", "celu", "silu", "mish", "softplus",
                     "softsign", "hardswish", "hardsigmoid", "hardtanh", "leaky_relu",
                     "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "sigmoid", "tanh",
                     "threshold"]


@pytest.mark.parametrize("name", _EDGE_ACTIVATIONS)
def test_activations_at_nan_and_signed_zero_match_torch(name):
    """NaN propagates (and its gradient takes the branch torch's vectorised kernel takes: 64
    elements, not the few that would run torch's scalar loop), -0.0 keeps its sign: the printed
    values and gradients are torch's, character for character."""
    out = []
    for lib in (ember, torch):
        x = lib.tensor([float("nan"), -0.0, 0.0, -0.2, 0.2, 3.5, -4.0, 3.0] * 8,
                       requires_grad=True)
        f = getattr(lib.nn.functional, name)
        y = f(x, 0.1, 20.0) if name == "threshold" else f(x)
        y.backward(lib.ones(64))
        out.append((str(y.detach()), str(x.grad)))
    assert out[0] == out[1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", _EDGE_ACTIVATIONS + ["where", "masked_fill"])
def test_big_activations_match_torch(name, dtype):
    """Arrays past ember.ops._blend's size threshold select by blending bits, not np.where:
    the outputs and gradients (NaN, -0.0 and infinities among random values) are torch's."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(1 << 16).astype(dtype) * 3
    a[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 0.1]
    mask = rng.random(1 << 16) < 0.5
    out = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        f = getattr(lib.nn.functional, name, None)
        if name == "where":
            y = lib.where(lib.tensor(mask), x, x * 2)
        elif name == "masked_fill":
            y = x.masked_fill(lib.tensor(mask), -0.0)
        else:
            y = f(x, 0.1, 20.0) if name == "threshold" else f(x)
        y.backward(lib.ones(1 << 16, dtype=y.dtype))
        out.append((y.detach().numpy(), x.grad.numpy()))
    for e, t in zip(*out):
        assert e.dtype == t.dtype
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(e, t, **tol)
        real = ~np.isnan(t)
        assert np.array_equal(np.signbit(e[real]), np.signbit(t[real]))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("value", [2.0, float("nan"), float("inf"), -float("inf")])
def test_softmax_of_a_zero_dim_tensor_as_torch(fn, value):
    """exp(x - max) / sum over one element: 1 (0 for log_softmax), NaN for a non-finite x,
    and the gradient through it."""
    out = []
    for lib in (torch, ember):
        for dtype in (lib.float32, lib.float16):
            x = lib.tensor(value, dtype=dtype, requires_grad=True)
            y = getattr(lib, fn)(x, 0)
            y.backward()
            out.append((y, x.grad))
    for e, t in zip(out[2:], out[:2]):
        assert_close(e, t)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_rrelu_training_draws_as_torch(dtype):
    """Training-mode rrelu draws its slopes between the bounds in the input's opmath type
    (float32 for float32 and bfloat16: ember used double bounds, one value in four an ulp off),
    multiplies by the unrounded slope and saves a noise of the input's dtype for the backward
    (bfloat16), and torch.rrelu takes a generator (ember ignored it)."""
    def run(L):
        out = []
        for gen in (False, True):
            L.manual_seed(123)
            kw = {"generator": L.Generator().manual_seed(5)} if gen else {}
            x = L.tensor(np.linspace(-3, 1, 40)).to(getattr(L, dtype)).requires_grad_()
            y = L.rrelu(x, 0.1, 0.3, training=True, **kw)
            y.backward(L.tensor(np.linspace(0.3, 2.2, 40)).to(getattr(L, dtype)))
            z = L.rrelu_(x.detach().clone(), training=True, **kw)
            w = L.nn.functional.rrelu(x.detach(), training=True)
            out.append([t.float().tolist() for t in (y, x.grad, z, w, L.rand(2))])
        return out
    assert run(ember) == run(torch)


def test_linear_of_bool_tensors_refuses_as_torchs_addmm():
    """F.linear of bool tensors (any input dim, with or without a bias) raises torch's
    '"addmm_impl_cpu_" not implemented for 'Bool'' (ember computed it); ints still compute."""
    for lib in (torch, ember):
        b = lib.ones(2, 2, dtype=lib.bool)
        for args in [(b, b), (b, b, b[0]), (b[0], b), (b.unsqueeze(0), b)]:
            with pytest.raises(NotImplementedError, match="addmm_impl_cpu_.*Bool"):
                lib.nn.functional.linear(*args)
    assert ember.nn.functional.linear(ember.ones(2, 2, dtype=ember.int32),
                                      ember.ones(3, 2, dtype=ember.int32)).tolist() == [[2] * 3] * 2
