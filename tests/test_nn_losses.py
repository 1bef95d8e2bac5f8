"""Every loss (functional and module) against torch: all reductions, float32 and float64,
gradients of every float input, torch's exception classes on bad targets."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import DTYPES, Const, check_fn, gradcheck, pair, raises_like, rand
from oracle import assert_close

REDUCTIONS = ("none", "mean", "sum")


def _labels(shape, n, seed=0):
    return np.random.default_rng(seed).integers(0, n, shape)


def _signs(shape, seed=0):
    return np.where(np.random.default_rng(seed).random(shape) > 0.5, 1.0, -1.0)


def _prob(shape, seed=0):
    p = np.random.default_rng(seed).random(shape) + 0.05
    return p / p.sum(1, keepdims=True)


# name -> (callable(lib_functional, *inputs, reduction), inputs)
CASES = {
    "l1": (lambda f, x, y, r: f.l1_loss(x, y, reduction=r), [rand((3, 4)), rand((3, 4), seed=1)]),
    "mse": (lambda f, x, y, r: f.mse_loss(x, y, reduction=r), [rand((3, 4)), rand((3, 4), seed=1)]),
    "mse_weight": (lambda f, x, y, w, r: f.mse_loss(x, y, reduction=r, weight=w),
                   [rand((3, 4)), rand((3, 4), seed=1), rand((3, 4), seed=2, low=0.1, high=1)]),
    "l1_weight": (lambda f, x, y, w, r: f.l1_loss(x, y, reduction=r, weight=w),
                  [rand((3, 4)), rand((3, 4), seed=1), rand((3, 4), seed=2, low=0.1, high=1)]),
    "smooth_l1": (lambda f, x, y, r: f.smooth_l1_loss(x, y, reduction=r, beta=0.7),
                  [rand((3, 4)), rand((3, 4), seed=1)]),
    "smooth_l1_beta0": (lambda f, x, y, r: f.smooth_l1_loss(x, y, reduction=r, beta=0.0),
                        [rand((3, 4)), rand((3, 4), seed=1)]),
    "huber": (lambda f, x, y, r: f.huber_loss(x, y, reduction=r, delta=0.6),
              [rand((3, 4)), rand((3, 4), seed=1)]),
    "bce": (lambda f, x, y, r: f.binary_cross_entropy(x, y, reduction=r),
            [rand((3, 4), low=0.02, high=0.98), rand((3, 4), seed=1, low=0, high=1)]),
    "bce_weight": (lambda f, x, y, w, r: f.binary_cross_entropy(x, y, w, reduction=r),
                   [rand((3, 4), low=0.02, high=0.98), rand((3, 4), seed=1, low=0, high=1),
                    Const(rand((4,), seed=2, low=0.1, high=2))]),
    "bce_logits": (lambda f, x, y, r: f.binary_cross_entropy_with_logits(x, y, reduction=r),
                   [rand((3, 4), low=-30, high=30), rand((3, 4), seed=1, low=0, high=1)]),
    "bce_logits_pw": (lambda f, x, y, w, pw, r: f.binary_cross_entropy_with_logits(
        x, y, w, reduction=r, pos_weight=pw),
        [rand((3, 4)), rand((3, 4), seed=1, low=0, high=1),
         Const(rand((3, 4), seed=2, low=0.1, high=2)), Const(rand((4,), seed=3, low=0.1, high=3))]),
    "kl_div": (lambda f, x, y, r: f.kl_div(x, y, reduction=r),
               [np.log(_prob((3, 4))), np.concatenate([_prob((2, 4), 1), np.zeros((1, 4))])]),
    "kl_div_log_target": (lambda f, x, y, r: f.kl_div(x, y, reduction=r, log_target=True),
                          [np.log(_prob((3, 4))), np.log(_prob((3, 4), 1))]),
    "soft_margin": (lambda f, x, y, r: f.soft_margin_loss(x, y, reduction=r),
                    [rand((3, 4)), Const(_signs((3, 4)))]),
    "multilabel_soft_margin": (lambda f, x, y, w, r: f.multilabel_soft_margin_loss(
        x, y, w, reduction=r), [rand((3, 4)), _labels((3, 4), 2).astype(float),
                                Const(rand((4,), seed=2, low=0.1, high=2))]),
    "cosine_embedding": (lambda f, a, b, y, r: f.cosine_embedding_loss(a, b, y, 0.2,
                                                                       reduction=r),
                         [rand((5, 4)), rand((5, 4), seed=1), _signs((5,), 2)]),
    "margin_ranking": (lambda f, a, b, y, r: f.margin_ranking_loss(a, b, y, 0.3, reduction=r),
                       [rand((5,)), rand((5,), seed=1), _signs((5,), 2)]),
    "hinge_embedding": (lambda f, x, y, r: f.hinge_embedding_loss(x, y, 0.8, reduction=r),
                        [rand((3, 4)), _signs((3, 4))]),
    "triplet": (lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, reduction=r),
                [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
    "triplet_swap_p1": (lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, 0.5, 1, swap=True,
                                                                    reduction=r),
                        [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
    "triplet_distance": (lambda f, a, p, n, r: f.triplet_margin_with_distance_loss(
        a, p, n, reduction=r, swap=True),
        [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
    "poisson": (lambda f, x, y, r: f.poisson_nll_loss(x, y, reduction=r),
                [rand((3, 4)), rand((3, 4), seed=1, low=0, high=4)]),
    "poisson_full_nolog": (lambda f, x, y, r: f.poisson_nll_loss(x, y, log_input=False,
                                                                 full=True, reduction=r),
                           [rand((3, 4), low=0.1, high=3), rand((3, 4), seed=1, low=0, high=4)]),
    "gaussian": (lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
                 [rand((3, 4)), rand((3, 4), seed=1), rand((3, 4), seed=2, low=0.1, high=2)]),
    "gaussian_full_hetero": (lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, full=True,
                                                                       reduction=r),
                             [rand((3, 4)), rand((3, 4), seed=1),
                              rand((3, 1), seed=2, low=0.1, high=2)]),
    "multi_margin": (lambda f, x, y, r: f.multi_margin_loss(x, y, reduction=r),
                     [rand((4, 5)), _labels((4,), 5)]),
    "multi_margin_p2_w": (lambda f, x, y, w, r: f.multi_margin_loss(x, y, 2, 0.7, w,
                                                                    reduction=r),
                          [rand((4, 5)), _labels((4,), 5),
                           Const(rand((5,), seed=3, low=0.1, high=2))]),
    "multilabel_margin": (lambda f, x, y, r: f.multilabel_margin_loss(x, y, reduction=r),
                          [rand((3, 4)), np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 2, 0]])]),
    "nll": (lambda f, x, y, r: f.nll_loss(x, y, reduction=r), [rand((5, 4)), _labels((5,), 4)]),
    "nll_weight_ignore": (lambda f, x, y, w, r: f.nll_loss(x, y, w, ignore_index=1,
                                                           reduction=r),
                          [rand((5, 4)), _labels((5,), 4),
                           Const(rand((4,), seed=3, low=0.1, high=2))]),
    "nll_spatial": (lambda f, x, y, r: f.nll_loss(x, y, reduction=r),
                    [rand((2, 4, 3, 2)), _labels((2, 3, 2), 4)]),
    "nll_3d": (lambda f, x, y, r: f.nll_loss(x, y, reduction=r),
               [rand((2, 4, 3)), _labels((2, 3), 4)]),
    "ce": (lambda f, x, y, r: f.cross_entropy(x, y, reduction=r),
           [rand((5, 4), low=-5, high=5), _labels((5,), 4)]),
    "ce_unbatched": (lambda f, x, y, r: f.cross_entropy(x, y, reduction=r),
                     [rand((4,)), np.array(2)]),
    "ce_weight_ignore": (lambda f, x, y, w, r: f.cross_entropy(x, y, w, ignore_index=2,
                                                               reduction=r),
                         [rand((6, 4)), _labels((6,), 4),
                          Const(rand((4,), seed=3, low=0.1, high=2))]),
    "ce_smoothing": (lambda f, x, y, r: f.cross_entropy(x, y, reduction=r, label_smoothing=0.2),
                     [rand((5, 4)), _labels((5,), 4)]),
    "ce_smoothing_weight_ignore": (lambda f, x, y, w, r: f.cross_entropy(
        x, y, w, ignore_index=0, reduction=r, label_smoothing=0.3),
        [rand((6, 4)), _labels((6,), 4), Const(rand((4,), seed=3, low=0.1, high=2))]),
    "ce_spatial": (lambda f, x, y, w, r: f.cross_entropy(x, y, w, reduction=r,
                                                         label_smoothing=0.1),
                   [rand((2, 4, 3, 2)), _labels((2, 3, 2), 4), Const(rand((4,), seed=3, low=0.1))]),
    "ce_spatial_3d": (lambda f, x, y, r: f.cross_entropy(x, y, reduction=r, ignore_index=1),
                      [rand((2, 4, 3, 2, 2)), _labels((2, 3, 2, 2), 4)]),
    "ce_probs": (lambda f, x, y, r: f.cross_entropy(x, y, reduction=r),
                 [rand((5, 4)), _prob((5, 4), 1)]),
    "ce_probs_weight_smooth": (lambda f, x, y, w, r: f.cross_entropy(x, y, w, reduction=r,
                                                                     label_smoothing=0.2),
                               [rand((3, 4, 2)), _prob((3, 4, 2), 1),
                                Const(rand((4,), seed=3, low=0.1, high=2))]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss(name, reduction, dtype):
    fn, inputs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_fn(lambda *a: fn(F, *a, reduction), lambda *a: fn(TF, *a, reduction), inputs,
                 dtype)


@pytest.mark.parametrize("name", ["ce", "ce_smoothing_weight_ignore", "ce_spatial", "nll",
                                  "bce", "bce_logits_pw", "gaussian", "poisson", "kl_div",
                                  "multi_margin_p2_w", "triplet", "cosine_embedding"])
def test_loss_gradcheck(name):
    fn, inputs = CASES[name]
    inputs = [a.a if isinstance(a, Const) else a for a in inputs]
    float_idx = [i for i, a in enumerate(inputs) if np.asarray(a).dtype.kind == "f"]
    first = float_idx[0]

    def f(x):
        args = [ember.tensor(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f"
                             else np.asarray(a)) for a in inputs]
        args[first] = x
        return fn(F, *args, "sum")
    gradcheck(f, [np.asarray(inputs[first], np.float64)])


def test_kl_div_batchmean_and_warning():
    x, y = np.log(_prob((3, 4))), _prob((3, 4), 1)
    check_fn(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
             lambda a, b: TF.kl_div(a, b, reduction="batchmean"), [x, y], "float64")
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(ember.tensor(x), ember.tensor(y))


def test_cross_entropy_grad_fn_and_all_ignored():
    x = ember.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(x, ember.tensor([0, 1, 2]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    e, t = pair(rand((3, 4)))
    out_e = F.cross_entropy(e, ember.tensor([1, 1, 1]), ignore_index=1)
    out_t = TF.cross_entropy(t, torch.tensor([1, 1, 1]), ignore_index=1)
    assert_close(out_e, out_t)


def test_cross_entropy_large_logits_are_stable():
    x = np.array([[1e4, -1e4, 0.0], [-3e4, 2e4, 1.0]], np.float32)
    check_fn(F.cross_entropy, TF.cross_entropy, [x, np.array([1, 0])], "float32")


def test_cross_entropy_uint8_target():
    check_fn(F.cross_entropy, TF.cross_entropy, [rand((3, 4)), np.array([0, 3, 1], np.uint8)])


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_classification_errors(fn):
    ef, tf = getattr(F, fn), getattr(TF, fn)
    x = rand((3, 5))
    bad = [
        (x, np.array([1, 2, 3, 4]), {}),                      # batch mismatch: ValueError
        (x, np.array([1, 2, 7]), {}),                         # out of range: IndexError
        (x, np.array([1, 2, -1]), {}),
        (rand((3, 5, 4)), np.zeros((3, 3), np.int64), {}),    # spatial size mismatch
        (rand((3, 5, 4, 2)), np.zeros((3, 4), np.int64), {}),
        (rand((3, 5, 4, 2)), np.zeros((3, 4, 3), np.int64), {}),
        (x, np.array([1, 2, 3], np.int32), {}),                # int32 target
        (x, np.array([1, 2, 3]), {"weight": np.ones(4, np.float32)}),
        (x, np.array([1, 2, 3]), {"reduction": "foo"}),
    ]
    for inp, tgt, kw in bad:
        kw_e = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        kw_t = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        em, tm = raises_like(lambda: ef(ember.tensor(inp), ember.tensor(tgt), **kw_e),
                             lambda: tf(torch.from_numpy(inp), torch.from_numpy(tgt), **kw_t))
        assert em == tm


def test_cross_entropy_more_errors():
    raises_like(lambda: F.cross_entropy(ember.ones(3, 5), ember.ones(3, 4)),
                lambda: TF.cross_entropy(torch.ones(3, 5), torch.ones(3, 4)))
    raises_like(lambda: F.cross_entropy(ember.ones(3, 5), ember.tensor([1.0, 2.0, 3.0])),
                lambda: TF.cross_entropy(torch.ones(3, 5), torch.tensor([1.0, 2.0, 3.0])))
    raises_like(lambda: F.cross_entropy(ember.ones(3, 5), ember.zeros(3, 5).long()),
                lambda: TF.cross_entropy(torch.ones(3, 5), torch.zeros(3, 5).long()))
    raises_like(lambda: F.cross_entropy(ember.ones(3, 5), ember.tensor([1, 2, 3]),
                                        label_smoothing=1.5),
                lambda: TF.cross_entropy(torch.ones(3, 5), torch.tensor([1, 2, 3]),
                                         label_smoothing=1.5))


def test_regression_and_other_errors():
    with pytest.warns(UserWarning, match="target size"):
        with pytest.raises(RuntimeError):
            F.mse_loss(ember.ones(3, 5), ember.ones(3, 4))
    raises_like(lambda: F.binary_cross_entropy(ember.rand(3), ember.rand(4)),
                lambda: TF.binary_cross_entropy(torch.rand(3), torch.rand(4)))
    raises_like(lambda: F.binary_cross_entropy(ember.ones(3) * 3, ember.rand(3)),
                lambda: TF.binary_cross_entropy(torch.ones(3) * 3, torch.rand(3)))
    raises_like(lambda: F.binary_cross_entropy_with_logits(ember.rand(3), ember.rand(4)),
                lambda: TF.binary_cross_entropy_with_logits(torch.rand(3), torch.rand(4)))
    raises_like(lambda: F.margin_ranking_loss(ember.ones(3), ember.ones(3), ember.ones(3, 1)),
                lambda: TF.margin_ranking_loss(torch.ones(3), torch.ones(3), torch.ones(3, 1)))
    raises_like(lambda: F.multi_margin_loss(ember.ones(3, 5), ember.tensor([1, 2, 3]), p=3),
                lambda: TF.multi_margin_loss(torch.ones(3, 5), torch.tensor([1, 2, 3]), p=3))
    raises_like(lambda: F.multi_margin_loss(ember.ones(3, 5), ember.tensor([1, 2, 8])),
                lambda: TF.multi_margin_loss(torch.ones(3, 5), torch.tensor([1, 2, 8])))
    raises_like(lambda: F.triplet_margin_loss(ember.ones(3, 2), ember.ones(3, 2),
                                              ember.ones(3, 2), margin=-1),
                lambda: TF.triplet_margin_loss(torch.ones(3, 2), torch.ones(3, 2),
                                               torch.ones(3, 2), margin=-1))
    raises_like(lambda: F.gaussian_nll_loss(ember.ones(3, 5), ember.ones(3, 5), ember.ones(3, 2)),
                lambda: TF.gaussian_nll_loss(torch.ones(3, 5), torch.ones(3, 5),
                                             torch.ones(3, 2)))
    raises_like(lambda: F.gaussian_nll_loss(ember.ones(3), ember.ones(3), -ember.ones(3)),
                lambda: TF.gaussian_nll_loss(torch.ones(3), torch.ones(3), -torch.ones(3)))
    raises_like(lambda: F.l1_loss(ember.ones(3), ember.ones(3), reduction="x"),
                lambda: TF.l1_loss(torch.ones(3), torch.ones(3), reduction="x"))


def test_legacy_size_average_and_reduce():
    x, y = rand((3, 4)), rand((3, 4), seed=1)
    for sa, red in ((False, None), (None, False), (True, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_fn(lambda a, b: F.mse_loss(a, b, size_average=sa, reduce=red),
                     lambda a, b: TF.mse_loss(a, b, size_average=sa, reduce=red), [x, y])


# ---- CTC ---------------------------------------------------------------------------------
def _ctc_inputs(t=12, n=3, c=5, s=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((t, n, c))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = rng.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 0]          # a repeated label needs a blank between them
    return log_probs, targets, np.array([12, 10, 7])[:n], np.array([4, 2, 3])[:n]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss(reduction, dtype):
    lp, tg, il, tl = _ctc_inputs()
    check_fn(lambda a, b, c, d: F.ctc_loss(a, b, c, d, reduction=reduction),
             lambda a, b, c, d: TF.ctc_loss(a, b, c, d, reduction=reduction),
             [lp, tg, il, tl], dtype)


def test_ctc_concatenated_targets_zero_infinity_and_module():
    lp, tg, il, tl = _ctc_inputs()
    flat = np.concatenate([tg[i, :tl[i]] for i in range(3)])
    check_fn(lambda a, b, c, d: F.ctc_loss(a, b, c, d), lambda a, b, c, d: TF.ctc_loss(
        a, b, c, d), [lp, flat, il, tl], "float64")
    tl_bad = np.array([4, 2, 7])                     # 7 labels cannot fit in 7 frames: inf
    tg_bad = np.random.default_rng(1).integers(1, 5, (3, 7))
    for zi in (False, True):
        check_fn(lambda a, b, c, d: F.ctc_loss(a, b, c, d, reduction="none", zero_infinity=zi),
                 lambda a, b, c, d: TF.ctc_loss(a, b, c, d, reduction="none",
                                                zero_infinity=zi),
                 [lp, tg_bad, il, tl_bad], "float64")
    check_fn(nn.CTCLoss(blank=0), tnn.CTCLoss(blank=0), [lp, tg, il, tl], "float64")


# ---- modules -------------------------------------------------------------------------------
MODULES = [
    ("L1Loss", {}, "l1"), ("MSELoss", {"reduction": "sum"}, "mse"),
    ("SmoothL1Loss", {"beta": 0.5}, "smooth_l1"), ("HuberLoss", {"delta": 0.5}, "huber"),
    ("BCELoss", {}, "bce"), ("BCEWithLogitsLoss", {}, "bce_logits"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl_div"), ("SoftMarginLoss", {}, "soft_margin"),
    ("CosineEmbeddingLoss", {"margin": 0.1}, "cosine_embedding"),
    ("MarginRankingLoss", {"margin": 0.2}, "margin_ranking"),
    ("HingeEmbeddingLoss", {"margin": 0.5}, "hinge_embedding"),
    ("TripletMarginLoss", {"swap": True}, "triplet"),
    ("TripletMarginWithDistanceLoss", {}, "triplet"),
    ("PoissonNLLLoss", {}, "poisson"), ("GaussianNLLLoss", {"full": True}, "gaussian"),
    ("MultiMarginLoss", {}, "multi_margin"), ("NLLLoss", {"ignore_index": 2}, "nll"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "ce"),
    ("MultiLabelMarginLoss", {}, "multilabel_margin"),
]


@pytest.mark.parametrize("name,kwargs,case", MODULES, ids=[m[0] for m in MODULES])
def test_loss_module(name, kwargs, case):
    e_mod, t_mod = getattr(nn, name)(**kwargs), getattr(tnn, name)(**kwargs)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    _, inputs = CASES[case]
    check_fn(e_mod, t_mod, inputs, "float64")


def test_weighted_loss_modules_have_weight_buffers():
    w = rand((4,), "float64", low=0.1, high=2)
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiLabelSoftMarginLoss",
                 "BCEWithLogitsLoss"):
        e_mod = getattr(nn, name)(weight=ember.tensor(w))
        t_mod = getattr(tnn, name)(weight=torch.from_numpy(w))
        assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
        assert repr(e_mod) == repr(t_mod)
    e_mod = nn.BCEWithLogitsLoss(pos_weight=ember.ones(4))
    assert list(e_mod.state_dict()) == ["pos_weight"]
    e_mod = nn.CrossEntropyLoss(weight=ember.tensor(w))
    t_mod = tnn.CrossEntropyLoss(weight=torch.from_numpy(w))
    check_fn(e_mod, t_mod, [rand((6, 4)), _labels((6,), 4)], "float64")


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_every_target_ignored(smoothing, reduction):
    """Every target ignored: a mean of nan (0 / 0), but zero gradients, as torch's (ember's
    were 0 * nan = nan)."""
    a = np.random.default_rng(0).uniform(-2, 2, (2, 3, 4))
    out = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.zeros(2, 4, dtype=lib.long), ignore_index=0,
                                               label_smoothing=smoothing, reduction=reduction)
        loss.backward(lib.ones_like(loss))
        out.append((np.asarray(loss.detach().numpy()), x.grad.numpy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def _reduction_module_outcomes(L):
    """torch.nn._reduction: the enum values, the legacy arguments' names, their warnings."""
    import warnings
    R, seen = L.nn._reduction, []
    calls = [lambda a=a: R.get_enum(a) for a in ("none", "mean", "sum", "elementwise_mean", "x")]
    calls += [lambda a=a, b=b, e=e: (R.legacy_get_string(a, b, e), R.legacy_get_enum(a, b, e))
              for a in (None, True, False) for b in (None, True, False) for e in (True, False)]
    for call in calls:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                seen.append(call())
            except ValueError as e:
                seen.append(str(e))
        seen.append([(str(x.message), x.filename == __file__) for x in w])
    return seen


def test_reduction_module():
    assert _reduction_module_outcomes(ember) == _reduction_module_outcomes(torch)


@pytest.mark.parametrize("ignore_index", [-100, -1, 0, 2])
def test_cross_entropy_probabilities_refuse_an_ignore_index_as_torch(ignore_index):
    """Class-probability targets take no ignore_index (a negative one is the default's meaning)."""
    out = []
    for lib in (torch, ember):
        x = lib.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]], requires_grad=True)
        p = lib.softmax(lib.tensor([[0.3, 0.2, 0.1], [1.0, 2.0, 3.0]]), 1)
        try:
            loss = lib.nn.functional.cross_entropy(x, p, ignore_index=ignore_index)
            loss.backward()
            out.append([loss.item()] + x.grad.reshape(-1).tolist())
        except RuntimeError as e:
            out.append(str(e))
    assert out[1] == (pytest.approx(out[0]) if isinstance(out[0], list) else out[0])
