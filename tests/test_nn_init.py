"""nn.init: torch's formulas (gains, fans, bounds) and the distributions they sample from."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.init as tinit

import ember
import ember.nn as nn
import ember.nn.init as init
from nn_oracle import raises_like


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 3),
                                  ("selu",)])
def test_calculate_gain(args):
    assert init.calculate_gain(*args) == tinit.calculate_gain(*args)


def test_calculate_gain_errors():
    raises_like(lambda: init.calculate_gain("nope"), lambda: tinit.calculate_gain("nope"))
    raises_like(lambda: init.calculate_gain("leaky_relu", True),
                lambda: tinit.calculate_gain("leaky_relu", True))


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 2), (6, 2, 5)])
def test_fans(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))
    raises_like(lambda: init._calculate_fan_in_and_fan_out(ember.empty(3)),
                lambda: tinit._calculate_fan_in_and_fan_out(torch.empty(3)))


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


SHAPE = (400, 300)


@pytest.mark.parametrize("name,kwargs,bound", [
    ("xavier_uniform_", {}, math.sqrt(6 / 700)),
    ("xavier_uniform_", {"gain": 2.0}, 2 * math.sqrt(6 / 700)),
    ("kaiming_uniform_", {}, math.sqrt(2) * math.sqrt(3 / 300)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, math.sqrt(1 / 300)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / 400)),
    ("uniform_", {"a": -0.3, "b": 0.7}, None),
])
def test_uniform_family(name, kwargs, bound):
    w = ember.empty(*SHAPE)
    out = getattr(init, name)(w, **kwargs)
    assert out is w
    lo, hi, mean, std = _stats(w)
    if bound is None:
        lo_b, hi_b = kwargs["a"], kwargs["b"]
    else:
        lo_b, hi_b = -bound, bound
    width = hi_b - lo_b
    assert lo_b <= lo < lo_b + 0.01 * width and hi_b - 0.01 * width < hi <= hi_b
    assert abs(mean - (lo_b + hi_b) / 2) < 0.01 * width
    assert abs(std - width / math.sqrt(12)) < 0.01 * width


@pytest.mark.parametrize("name,kwargs,std", [
    ("xavier_normal_", {}, math.sqrt(2 / 700)),
    ("kaiming_normal_", {"nonlinearity": "relu"}, math.sqrt(2 / 300)),
    ("kaiming_normal_", {"mode": "fan_out", "a": 0.1}, math.sqrt(2 / 1.01) / math.sqrt(400)),
    ("normal_", {"mean": 1.5, "std": 0.2}, 0.2),
])
def test_normal_family(name, kwargs, std):
    w = ember.empty(*SHAPE)
    getattr(init, name)(w, **kwargs)
    _, _, mean, s = _stats(w)
    assert abs(mean - kwargs.get("mean", 0.0)) < 0.02 * std * 10
    assert abs(s - std) < 0.02 * std


@pytest.mark.parametrize("a,b", [(-2.0, 2.0), (-0.5, 0.1), (1.0, 3.0)])
def test_trunc_normal(a, b):
    """Bounds hold and the moments are the truncated normal's (torch samples the same law)."""
    mean, std = 0.5, 1.0
    w = init.trunc_normal_(ember.empty(*SHAPE), mean=mean, std=std, a=a, b=b)
    lo, hi, m, s = _stats(w)
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)    # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2              # noqa: E731
    z = cdf(beta) - cdf(alpha)
    exp_mean = mean + std * (pdf(alpha) - pdf(beta)) / z
    exp_var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z
                          - ((pdf(alpha) - pdf(beta)) / z) ** 2)
    assert a <= lo and hi <= b
    assert abs(m - exp_mean) < 0.01 and abs(s - math.sqrt(exp_var)) < 0.01
    t = tinit.trunc_normal_(torch.empty(50, 50), mean=mean, std=std, a=a, b=b)
    assert a <= t.min().item() and t.max().item() <= b


def test_constant_ones_zeros_eye_dirac():
    w = ember.empty(3, 4)
    assert init.constant_(w, 0.25) is w and (w.numpy() == 0.25).all()
    assert (init.ones_(w).numpy() == 1).all() and not init.zeros_(w).numpy().any()
    np.testing.assert_array_equal(init.eye_(ember.empty(3, 5)).numpy(),
                                  tinit.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in (((4, 2, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 3, 3, 3), 1)):
        np.testing.assert_array_equal(init.dirac_(ember.empty(*shape), groups).numpy(),
                                      tinit.dirac_(torch.empty(*shape), groups).numpy())
    raises_like(lambda: init.eye_(ember.empty(3)), lambda: tinit.eye_(torch.empty(3)))
    raises_like(lambda: init.dirac_(ember.empty(3, 3)), lambda: tinit.dirac_(torch.empty(3, 3)))
    raises_like(lambda: init.kaiming_uniform_(ember.empty(3, 3), mode="fan"),
                lambda: tinit.kaiming_uniform_(torch.empty(3, 3), mode="fan"))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2, 2)])
def test_orthogonal(shape):
    w = init.orthogonal_(ember.empty(*shape), gain=2.0)
    a = w.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)


def test_sparse():
    w = init.sparse_(ember.empty(10, 50), sparsity=0.3, std=0.01)
    a = w.numpy()
    assert ((a == 0).sum(0) >= 3).all()
    assert abs(a[a != 0].std() - 0.01) < 0.002


def test_init_does_not_record_graph_and_bumps_version():
    p = nn.Parameter(ember.empty(3, 3))
    init.kaiming_uniform_(p)
    assert p.grad_fn is None and p.requires_grad
    v = p._version
    init.normal_(p)
    assert p._version > v


def test_zero_element_warning_and_deprecated_aliases():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(ember.empty(0, 3))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        init.uniform(ember.empty(2))
    assert any(issubclass(r.category, FutureWarning) for r in rec)


def test_generator_makes_init_reproducible():
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    a = init.xavier_uniform_(ember.empty(4, 4), generator=g1)
    b = init.xavier_uniform_(ember.empty(4, 4), generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_manual_seed_reproduces_layer_init():
    ember.manual_seed(7)
    a = nn.Linear(5, 5).weight.detach().numpy().copy()
    ember.manual_seed(7)
    b = nn.Linear(5, 5).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
