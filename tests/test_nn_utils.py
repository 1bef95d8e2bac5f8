"""nn.utils against torch: gradient clipping, parameter/vector conversion, parametrize,
weight_norm and spectral_norm (both the hook and the parametrization versions)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.utils as tutils
import torch.nn.utils.parametrize as tparametrize

import ember
import ember.nn as nn
import ember.nn.utils as utils
import ember.nn.utils.parametrize as parametrize
from nn_oracle import check_module, raises_like, rand, to_ember_state
from oracle import assert_close


def _with_grads(lib, scale=1.0, special=None):
    params = []
    for i, shape in enumerate([(3, 4), (5,), (2, 2, 2)]):
        p = lib.nn.Parameter(lib.tensor(rand(shape, seed=i)))
        g = rand(shape, seed=10 + i) * scale
        if special is not None and i == 1:
            g[0] = special
        p.grad = lib.tensor(g)
        params.append(p)
    params.append(lib.nn.Parameter(lib.ones(2)))        # a parameter without a gradient
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), 0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    pe, pt = _with_grads(ember), _with_grads(torch)
    ne = utils.clip_grad_norm_(pe, max_norm, norm_type)
    nt = tutils.clip_grad_norm_(pt, max_norm, norm_type)
    assert_close(ne, nt)
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)
    assert pe[3].grad is None


def test_clip_grad_norm_single_tensor_and_generator():
    pe, pt = _with_grads(ember), _with_grads(torch)
    assert_close(utils.clip_grad_norm_(pe[0], 0.1), tutils.clip_grad_norm_(pt[0], 0.1))
    assert_close(utils.clip_grad_norm_(iter(pe), 0.1), tutils.clip_grad_norm_(iter(pt), 0.1))
    assert_close(pe[0].grad, pt[0].grad)


def test_clip_grad_norm_nonfinite():
    pe, pt = _with_grads(ember, special=np.inf), _with_grads(torch, special=np.inf)
    raises_like(lambda: utils.clip_grad_norm_(pe, 1.0, error_if_nonfinite=True),
                lambda: tutils.clip_grad_norm_(pt, 1.0, error_if_nonfinite=True))
    pe, pt = _with_grads(ember, special=np.nan), _with_grads(torch, special=np.nan)
    assert_close(utils.clip_grad_norm_(pe, 1.0), tutils.clip_grad_norm_(pt, 1.0))
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)


def test_clip_grad_value():
    pe, pt = _with_grads(ember), _with_grads(torch)
    utils.clip_grad_value_(pe, 0.3)
    tutils.clip_grad_value_(pt, 0.3)
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)


def test_parameters_to_vector_and_back():
    e, t = nn.Linear(3, 2), tnn.Linear(3, 2)
    e.load_state_dict(to_ember_state(t.state_dict()))
    ve, vt = utils.parameters_to_vector(e.parameters()), tutils.parameters_to_vector(
        t.parameters())
    assert_close(ve, vt)
    new = rand((8,), seed=4)
    utils.vector_to_parameters(ember.tensor(new), e.parameters())
    tutils.vector_to_parameters(torch.from_numpy(new), t.parameters())
    assert_close(e.weight, t.weight)
    assert_close(e.bias, t.bias)
    raises_like(lambda: utils.vector_to_parameters([1.0], e.parameters()),
                lambda: tutils.vector_to_parameters([1.0], t.parameters()))
    w = ember.ones(2, requires_grad=True)
    (utils.parameters_to_vector([w]) * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_version(dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = utils.weight_norm(nn.Linear(4, 3), dim=dim)
        t = tutils.weight_norm(tnn.Linear(4, 3), dim=dim)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    check_module(e, t, [rand((5, 4))], "float64")
    utils.remove_weight_norm(e)
    tutils.remove_weight_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight.double())


@pytest.mark.parametrize("dim", [0, 1])
def test_weight_norm_parametrization(dim):
    e = utils.parametrizations.weight_norm(nn.Linear(4, 3), dim=dim)
    t = tutils.parametrizations.weight_norm(tnn.Linear(4, 3), dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    check_module(e, t, [rand((5, 4))], "float64")
    parametrize.remove_parametrizations(e, "weight")
    tparametrize.remove_parametrizations(t, "weight")
    assert type(e) is nn.Linear and list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)


def test_spectral_norm_parametrization():
    e = utils.parametrizations.spectral_norm(nn.Linear(5, 4))
    t = tutils.parametrizations.spectral_norm(tnn.Linear(5, 4))
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    for train in (False, True):           # the power iteration in train mode updates _u/_v
        check_module(e, t, [rand((3, 5))], "float64", train=train)
        assert_close(e.parametrizations.weight[0]._u, t.parametrizations.weight[0]._u)
    sigma = np.linalg.svd(e.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1) < 0.05


def test_spectral_norm_hook_version():
    e = utils.spectral_norm(nn.Linear(5, 4))
    t = tutils.spectral_norm(tnn.Linear(5, 4))
    assert list(e.state_dict()) == list(t.state_dict())
    for train in (True, False):
        check_module(e, t, [rand((3, 5))], "float64", train=train)
    assert e.state_dict()._metadata[""]["spectral_norm"] == \
        t.state_dict()._metadata[""]["spectral_norm"]
    utils.remove_spectral_norm(e)
    tutils.remove_spectral_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())


def test_custom_parametrization_and_cached():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    class TDouble(tnn.Module):
        def forward(self, x):
            return x * 2
    e, t = nn.Linear(3, 3), tnn.Linear(3, 3)
    parametrize.register_parametrization(e, "weight", Double())
    tparametrize.register_parametrization(t, "weight", TDouble())
    assert parametrize.is_parametrized(e) and parametrize.is_parametrized(e, "weight")
    assert not parametrize.is_parametrized(e, "bias")
    assert list(e.state_dict()) == list(t.state_dict())
    check_module(e, t, [rand((2, 3))], "float64")
    with parametrize.cached():
        assert e.weight is e.weight
    assert e.weight is not e.weight
    assert parametrize.type_before_parametrizations(e) is nn.Linear
    raises_like(lambda: parametrize.register_parametrization(e, "nope", Double()),
                lambda: tparametrize.register_parametrization(t, "nope", TDouble()))
    raises_like(lambda: setattr(e, "weight", ember.ones(3, 3)),      # needs right_inverse
                lambda: setattr(t, "weight", torch.ones(3, 3)))


def test_parametrization_shape_check():
    class Bad(nn.Module):
        def forward(self, x):
            return x[0]

    class TBad(tnn.Module):
        def forward(self, x):
            return x[0]
    raises_like(lambda: parametrize.register_parametrization(nn.Linear(2, 2), "weight", Bad()),
                lambda: tparametrize.register_parametrization(tnn.Linear(2, 2), "weight",
                                                              TBad()))


def test_functional_call_matches_torch_and_restores():
    e, t = nn.Linear(3, 2), tnn.Linear(3, 2)
    e.load_state_dict(to_ember_state(t.state_dict()))
    w = rand((2, 3), seed=7)
    x = rand((4, 3), seed=8)
    ew = ember.tensor(w, requires_grad=True)
    tw = torch.from_numpy(w).requires_grad_()
    oe = utils.stateless.functional_call(e, {"weight": ew}, (ember.tensor(x),))
    ot = torch.func.functional_call(t, {"weight": tw}, (torch.from_numpy(x),))
    assert_close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(ew.grad, tw.grad)
    assert e.weight is e._parameters["weight"] and isinstance(e.weight, nn.Parameter)
    assert_close(e(ember.tensor(x)), t(torch.from_numpy(x)))
    with pytest.raises(RuntimeError, match="Missing key"):
        utils.stateless.functional_call(e, {"weight": ew}, (ember.tensor(x),), strict=True)


def test_functional_call_tied_weights():
    lin = nn.Linear(2, 2, bias=False)
    seq = nn.Sequential(lin, lin)
    new = ember.zeros(2, 2)
    out = utils.stateless.functional_call(seq, {"0.weight": new}, ember.ones(1, 2))
    assert not out.numpy().any()
    assert seq[1].weight is lin.weight
