"""torch's top-level nn functions with ATen signatures (ember/_functional_aliases.py) against torch:
values, tuple structure, a few gradients, and the exception class for one bad input each."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember


def _mk(lib):
    """Builders get T(array, grad=False, dtype=None) -> a tensor of `lib`, and lib itself."""
    def T(a, grad=False, dtype=None):
        a = np.asarray(a)
        t = lib.tensor(a.copy(), dtype=dtype)
        if grad:
            t.requires_grad_(True)
        return t
    return T


def _r(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape).astype(np.float32)


def _i(a):
    return np.asarray(a, dtype=np.int64)


# name -> builder(T, lib) returning (args, kwargs)
CASES = {
    "batch_norm": lambda T, L: ((T(_r(4, 3, 5), True), T(_r(3, seed=1), True), T(_r(3, seed=2)),
                                 T(_r(3, seed=3)), T(_r(3, seed=4, lo=0.5, hi=2)), True, 0.1, 1e-5,
                                 False), {}),
    "batch_norm_eval": lambda T, L: ((T(_r(4, 3, 5), True), None, None, T(_r(3, seed=3)),
                                      T(_r(3, seed=4, lo=0.5, hi=2)), False, 0.1, 1e-5, False), {}),
    "layer_norm": lambda T, L: ((T(_r(2, 3, 4), True), [3, 4], T(_r(3, 4, seed=1), True),
                                 T(_r(3, 4, seed=2)), 1e-5, True), {}),
    "group_norm": lambda T, L: ((T(_r(2, 6, 5), True), 3, T(_r(6, seed=1)), T(_r(6, seed=2)),
                                 1e-5, True), {}),
    "instance_norm": lambda T, L: ((T(_r(2, 3, 5), True), T(_r(3, seed=1)), T(_r(3, seed=2)),
                                    None, None, True, 0.1, 1e-5, False), {}),
    "rms_norm": lambda T, L: ((T(_r(2, 3, 4)), [4], T(_r(4, seed=1)), 1e-6), {}),
    "native_layer_norm": lambda T, L: ((T(_r(2, 3, 4)), [3, 4], T(_r(3, 4, seed=1)), None, 1e-5),
                                       {}),
    "native_batch_norm": lambda T, L: ((T(_r(4, 3, 5)), T(_r(3, seed=1)), T(_r(3, seed=2)),
                                        T(_r(3, seed=3)), T(_r(3, seed=4, lo=0.5, hi=2)), True,
                                        0.1, 1e-5), {}),
    "native_batch_norm_eval": lambda T, L: ((T(_r(4, 3, 5)), None, None, T(_r(3, seed=3)),
                                             T(_r(3, seed=4, lo=0.5, hi=2)), False, 0.1, 1e-5),
                                            {}),
    "native_group_norm": lambda T, L: ((T(_r(2, 6, 5)), T(_r(6, seed=1)), T(_r(6, seed=2)),
                                        2, 6, 5, 3, 1e-5), {}),
    "dropout": lambda T, L: ((T(_r(3, 4)), 0.5, False), {}),
    "dropout_p0": lambda T, L: ((T(_r(3, 4)), 0.0, True), {}),
    "feature_dropout": lambda T, L: ((T(_r(3, 4, 2)), 0.3, False), {}),
    "feature_dropout_p1": lambda T, L: ((T(_r(3, 4, 2)), 1.0, True), {}),
    "alpha_dropout": lambda T, L: ((T(_r(3, 4)), 0.5, False), {}),
    "feature_alpha_dropout": lambda T, L: ((T(_r(3, 4, 2)), 0.5, False), {}),
    "native_dropout": lambda T, L: ((T(_r(3, 4)), 0.5, False), {}),
    "conv1d": lambda T, L: ((T(_r(2, 4, 9), True), T(_r(6, 2, 3, seed=1), True),
                             T(_r(6, seed=2)), 2, 1, 1, 2), {}),
    "conv2d": lambda T, L: ((T(_r(1, 2, 6, 5), True), T(_r(3, 2, 3, 2, seed=1), True), None,
                             1, "same"), {}),
    "conv3d": lambda T, L: ((T(_r(1, 2, 4, 4, 4)), T(_r(3, 2, 2, 2, 2, seed=1)),
                             T(_r(3, seed=2))), {"padding": 1}),
    "conv_transpose1d": lambda T, L: ((T(_r(2, 4, 5), True), T(_r(4, 3, 3, seed=1), True),
                                       T(_r(3, seed=2)), 2, 1, 1), {}),
    "conv_transpose2d": lambda T, L: ((T(_r(1, 2, 4, 3)), T(_r(2, 3, 2, 2, seed=1))),
                                      {"stride": 2, "dilation": 1}),
    "conv_transpose3d": lambda T, L: ((T(_r(1, 2, 3, 3, 3)), T(_r(2, 2, 2, 2, 2, seed=1))), {}),
    "conv_tbc": lambda T, L: ((T(_r(7, 2, 3), True), T(_r(3, 3, 4, seed=1), True),
                               T(_r(4, seed=2), True), 1), {}),
    "embedding": lambda T, L: ((T(_r(6, 3), True), T(_i([[0, 2, 5], [2, 2, 1]]))), {}),
    "embedding_pad": lambda T, L: ((T(_r(6, 3), True), T(_i([0, 2, 5, 2, 2, 1])), 2), {}),
    "embedding_bag_sum": lambda T, L: ((T(_r(10, 3), True), T(_i([1, 2, 4, 5, 4, 3, 2, 9])),
                                        T(_i([0, 4])), False, 0), {}),
    "embedding_bag_mean": lambda T, L: ((T(_r(10, 3)), T(_i([1, 2, 4, 5, 4, 3, 2, 9])),
                                         T(_i([0, 3])), False, 1), {}),
    "embedding_bag_max": lambda T, L: ((T(_r(10, 3)), T(_i([1, 2, 4, 5, 4, 3, 2, 9])),
                                        T(_i([0, 5])), False, 2), {}),
    "max_pool1d": lambda T, L: ((T(_r(2, 3, 9), True), [3]), {}),
    "max_pool2d": lambda T, L: ((T(_r(1, 2, 6, 7)), 3, 2, 1, 1, True), {}),
    "max_pool3d": lambda T, L: ((T(_r(1, 2, 4, 4, 4)), 2), {"stride": []}),
    "max_pool1d_with_indices": lambda T, L: ((T(_r(2, 3, 9)), 2, 2), {}),
    "avg_pool1d": lambda T, L: ((T(_r(2, 3, 9), True), 3, 2, 1, True, False), {}),
    "adaptive_avg_pool1d": lambda T, L: ((T(_r(2, 3, 10)), 4), {}),
    "adaptive_max_pool1d": lambda T, L: ((T(_r(2, 3, 10)), [4]), {}),
    "pixel_shuffle": lambda T, L: ((T(_r(1, 8, 2, 3)), 2), {}),
    "pixel_unshuffle": lambda T, L: ((T(_r(1, 2, 4, 6)), 2), {}),
    "channel_shuffle": lambda T, L: ((T(_r(2, 6, 3), True), 3), {}),
    "native_channel_shuffle": lambda T, L: ((T(_r(2, 6, 2, 2)), 2), {}),
    "pdist": lambda T, L: ((T(_r(5, 3), True), 1.5), {}),
    "cosine_similarity": lambda T, L: ((T(_r(4, 3)), T(_r(4, 3, seed=1)), 0), {}),
    "pairwise_distance": lambda T, L: ((T(_r(4, 3)), T(_r(4, 3, seed=1)), 3.0, 1e-6, True), {}),
    "prelu": lambda T, L: ((T(_r(2, 3, 4), True), T(_r(3, seed=1), True)), {}),
    "rrelu": lambda T, L: ((T(_r(3, 4)), 0.1, 0.3, False), {}),
    "selu": lambda T, L: ((T(_r(3, 4), True),), {}),
    "celu": lambda T, L: ((T(_r(3, 4)), 0.7), {}),
    "hardshrink": lambda T, L: ((T(_r(3, 4)), 0.3), {}),
    "threshold": lambda T, L: ((T(_r(3, 4)), 0.1, -2.0), {}),
    "bilinear": lambda T, L: ((T(_r(4, 3)), T(_r(4, 2, seed=1)), T(_r(5, 3, 2, seed=2)),
                               T(_r(5, seed=3))), {}),
    "kl_div": lambda T, L: ((T(_r(3, 4), True), T(_r(3, 4, seed=1, lo=0.1, hi=1)), 2), {}),
    "kl_div_log_target": lambda T, L: ((T(_r(3, 4)), T(_r(3, 4, seed=1)), 0),
                                       {"log_target": True}),
    "binary_cross_entropy_with_logits": lambda T, L: ((T(_r(3, 4), True),
                                                       T(_r(3, 4, seed=1, lo=0, hi=1)),
                                                       T(_r(4, seed=2, lo=0, hi=1)),
                                                       T(_r(4, seed=3, lo=0.5, hi=2)), 1), {}),
    "hinge_embedding_loss": lambda T, L: ((T(_r(3, 4)), T(np.sign(_r(3, 4, seed=1))), 0.5, 2),
                                          {}),
    "margin_ranking_loss": lambda T, L: ((T(_r(5)), T(_r(5, seed=1)),
                                          T(np.sign(_r(5, seed=2))), 0.1, 0), {}),
    "triplet_margin_loss": lambda T, L: ((T(_r(4, 3), True), T(_r(4, 3, seed=1)),
                                          T(_r(4, 3, seed=2)), 1.0, 2.0, 1e-6, True, 1), {}),
    "cosine_embedding_loss": lambda T, L: ((T(_r(4, 3)), T(_r(4, 3, seed=1)),
                                            T(np.array([1, -1, 1, -1], np.float32)), 0.2, 1), {}),
    "poisson_nll_loss": lambda T, L: ((T(_r(3, 4)), T(_r(3, 4, seed=1, lo=0, hi=3)), True, True,
                                       1e-8, 2), {}),
    "ctc_loss": lambda T, L: ((T(np.log(np.random.default_rng(1).dirichlet(np.ones(5), (8, 2))
                                        ).astype(np.float32), True),
                               T(_i([[1, 2, 3], [2, 2, 4]])), [8, 7], [3, 2]), {}),
    "ctc_loss_tensor_lengths": lambda T, L: ((T(np.log(np.random.default_rng(1).dirichlet(
        np.ones(5), (8, 2))).astype(np.float32)), T(_i([[1, 2, 3], [2, 2, 4]])), T(_i([8, 7])),
        T(_i([3, 2])), 0, 0), {}),
    "kl_div_default_reduction": lambda T, L: ((T(_r(3, 4)), T(_r(3, 4, seed=1))), {}),
    "hinge_embedding_loss_default_reduction": lambda T, L: ((T(_r(3, 4)),
                                                             T(np.sign(_r(3, 4, seed=1)))), {}),
    "constant_pad_nd": lambda T, L: ((T(_r(2, 3), True), [1, 2, 0, 1], 1.5), {}),
    "affine_grid_generator": lambda T, L: ((T(_r(2, 2, 3)), [2, 1, 4, 5], False), {}),
    "grid_sampler": lambda T, L: ((T(_r(1, 2, 4, 5), True), T(_r(1, 3, 3, 2, seed=1, lo=-1.2,
                                                                   hi=1.2)), 0, 1, False), {}),
    "grid_sampler_nearest_reflect": lambda T, L: ((T(_r(1, 2, 4, 5)),
                                                   T(_r(1, 3, 3, 2, seed=1, lo=-1.5, hi=1.5)),
                                                   1, 2, True), {}),
}


def _fn_name(case):
    for suffix in ("_eval", "_p0", "_p1", "_pad", "_sum", "_mean", "_max", "_log_target",
                   "_tensor_lengths", "_nearest_reflect", "_default_reduction"):
        if case.endswith(suffix) and hasattr(torch, case[: -len(suffix)]):
            return case[: -len(suffix)]
    return case


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _compare(a, b, what):
    assert isinstance(a, tuple) == isinstance(b, tuple), what
    if isinstance(a, tuple):
        assert len(a) == len(b), what
        for x, y in zip(a, b):
            _compare(x, y, what)
        return
    assert tuple(a.shape) == tuple(b.shape), (what, a.shape, b.shape)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (what, a.dtype, b.dtype)
    np.testing.assert_allclose(_np(a), _np(b), rtol=1e-4, atol=1e-5, err_msg=what)


def _leaves(args):
    return [a for a in args if getattr(a, "requires_grad", False)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_alias_matches_torch(case):
    name = _fn_name(case)
    t_args, t_kw = CASES[case](_mk(torch), torch)
    e_args, e_kw = CASES[case](_mk(ember), ember)
    want = getattr(torch, name)(*t_args, **t_kw)
    got = getattr(ember, name)(*e_args, **e_kw)
    _compare(want, got, case)
    # the running statistics batch_norm updates in place
    for ta, ea in zip(t_args, e_args):
        if isinstance(ta, torch.Tensor) and not ta.requires_grad:
            np.testing.assert_allclose(_np(ta), _np(ea), rtol=1e-5, atol=1e-6, err_msg=case)
    t_leaves, e_leaves = _leaves(t_args), _leaves(e_args)
    if t_leaves:
        w = want[0] if isinstance(want, tuple) else want
        g = got[0] if isinstance(got, tuple) else got
        weights = _r(*w.shape, seed=5) if w.ndim else np.float32(0.7)
        (w * torch.tensor(weights)).sum().backward()
        (g * ember.tensor(weights)).sum().backward()
        for tl, el in zip(t_leaves, e_leaves):
            np.testing.assert_allclose(_np(tl.grad), _np(el.grad), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{case} grad")


def test_every_name_is_reachable_and_torch_has_it():
    from ember._functional_aliases import NAMES
    for n in NAMES:
        assert hasattr(torch, n), n
        assert callable(getattr(ember, n)), n


def test_import_ember_does_not_import_nn():
    code = "import sys, ember; ember.batch_norm; print('ember.nn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c",
                          "import sys, ember; print('ember.nn' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"       # resolving the name imports the aliases only, not ember.nn


def test_dropout_identity_and_native_dropout_structure():
    x = ember.randn(3, 4)
    assert ember.dropout(x, 0.5, False) is x
    out, mask = ember.native_dropout(x, 0.5, True)
    assert mask.dtype == ember.bool and tuple(mask.shape) == (3, 4)
    np.testing.assert_allclose(_np(out), np.where(_np(mask), _np(x) * 2, 0), rtol=1e-6)
    out, mask = ember.native_dropout(x, 0.5, None)      # None counts as training, as in torch
    assert mask.dtype == ember.bool
    out = ember.feature_dropout(ember.ones(4, 5, 6), 0.5, True)
    per_channel = _np(out).reshape(20, 6)
    assert all(len(set(row)) == 1 for row in per_channel)


def test_inplace_variants():
    for name, args in [("selu_", ()), ("celu_", (0.5,)), ("relu_", ()), ("threshold_", (0.0, 9.0)),
                       ("rrelu_", (0.1, 0.3, False)), ("dropout_", (0.5, False)),
                       ("alpha_dropout_", (0.5, False)), ("feature_dropout_", (0.0, True)),
                       ("feature_alpha_dropout_", (0.5, False))]:
        a = _r(3, 4)
        t, e = torch.tensor(a), ember.tensor(a)
        rt, re = getattr(torch, name)(t, *args), getattr(ember, name)(e, *args)
        assert re is e, name
        np.testing.assert_allclose(_np(re), _np(rt), rtol=1e-5, atol=1e-6, err_msg=name)


def test_rrelu_training_range():
    x = ember.tensor(-np.ones((100,), np.float32))
    y = _np(ember.rrelu(x, 0.1, 0.3, True))
    assert ((y <= -0.1 + 1e-6) & (y >= -0.3 - 1e-6)).all()


BAD = {
    "batch_norm": lambda T, L: ((T(_r(4, 3, 5)), None, None, None, None, True, 0.1, 1e-5), {}),
    "layer_norm": lambda T, L: ((T(_r(2, 3)), [4]), {}),
    "dropout": lambda T, L: ((T(_r(2, 3)),), {}),
    "conv2d": lambda T, L: ((T(_r(1, 2, 4, 4)), T(_r(3, 5, 2, 2))), {}),
    "embedding": lambda T, L: ((T(_i([0, 1])), T(_r(4, 3))), {}),
    "max_pool2d": lambda T, L: ((T(_r(1, 1, 2, 2)), 5), {}),
    "channel_shuffle": lambda T, L: ((T(_r(1, 6, 2)), 4), {}),
    "pixel_shuffle": lambda T, L: ((T(_r(1, 3, 2, 2)), 2), {}),
    "pdist": lambda T, L: ((T(_r(2, 3, 4)),), {}),
    "kl_div": lambda T, L: ((T(_r(3)), T(_r(4))), {}),
    "conv_tbc": lambda T, L: ((T(_r(2, 3)), T(_r(3, 3, 4)), T(_r(4))), {}),
    "grid_sampler": lambda T, L: ((T(_r(1, 2, 4, 5)), T(_r(1, 3, 3, 3)), 0, 0, False), {}),
    "adaptive_max_pool1d": lambda T, L: ((T(_r(2, 3, 10)), 4, True), {}),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_like_torch(name):
    t_args, t_kw = BAD[name](_mk(torch), torch)
    e_args, e_kw = BAD[name](_mk(ember), ember)
    with pytest.raises(Exception) as want:
        getattr(torch, name)(*t_args, **t_kw)
    with pytest.raises(want.type):
        getattr(ember, name)(*e_args, **e_kw)
