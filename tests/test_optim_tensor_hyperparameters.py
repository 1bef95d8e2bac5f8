"""Optimizer hyper-parameters given as tensors, checked against torch: a 0-d tensor steps as its
value in every optimizer; a 1-element tensor with dimensions is refused where torch's
single-tensor step passes the value as a Number argument or into a 0-d state tensor."""
import pytest
import torch

import ember

# optimizer, its options, and the options that torch's update takes as a tensor
CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
     ["momentum", "dampening"]),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), ["momentum"]),
    ("Adam", dict(lr=0.1, weight_decay=0.01), ["eps"]),
    ("Adam", dict(lr=0.1, amsgrad=True), ["eps"]),
    ("AdamW", dict(lr=0.1), ["eps"]),
    ("Adamax", dict(lr=0.1, weight_decay=0.01), ["betas", "eps"]),
    ("NAdam", dict(lr=0.1), ["betas", "eps", "momentum_decay"]),
    ("NAdam", dict(lr=0.1, weight_decay=0.01, decoupled_weight_decay=True), ["betas"]),
    ("RAdam", dict(lr=0.1), ["betas"]),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01), ["lr_decay", "eps"]),
    ("Adadelta", dict(lr=0.5), ["rho", "eps"]),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True), ["alpha", "eps", "momentum"]),
    ("Rprop", dict(lr=0.01), ["step_sizes"]),
    ("ASGD", dict(lr=0.01), ["lambd"]),
    ("Adafactor", dict(lr=0.01), ["beta2_decay", "d"]),
    ("SparseAdam", dict(lr=0.01), ["betas", "eps"]),
]
VALUES = {"momentum": 0.9, "dampening": 0.1, "eps": 1e-6, "betas": (0.9, 0.99),
          "momentum_decay": 4e-3, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "rho": 0.9,
          "etas": (0.5, 1.2), "step_sizes": (1e-6, 50.0), "lambd": 1e-4, "t0": 1e6,
          "beta2_decay": -0.8, "d": 1.0}


def _run(L, name, options, key, shape):
    value = options[key] if key in options else \
        (0.75 if name == "ASGD" else 0.99) if key == "alpha" else VALUES[key]
    tensor = (lambda v: L.tensor(v).reshape(shape))
    options = dict(options, **{key: tuple(map(tensor, value)) if isinstance(value, tuple)
                               else tensor(value)})
    p = L.tensor([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]], dtype=L.float64, requires_grad=True)
    grad = L.tensor([[0.3, -0.2, 0.1], [1.0, -2.0, 0.5]], dtype=L.float64)
    try:
        opt = getattr(L.optim, name)([p], **options)
        for i in range(3):
            p.grad = (grad * (i + 1)).to_sparse() if name == "SparseAdam" else grad * (i + 1)
            opt.step()
    except (TypeError, RuntimeError) as e:
        return type(e).__name__, str(e), p.flatten().tolist()
    state = opt.state_dict()
    types = {k: (type(v).__name__, str(getattr(v, "dtype", "")).split(".")[-1])
             for k, v in state["state"][0].items()}
    return p.flatten().tolist(), types, state["param_groups"][0][key]


@pytest.mark.parametrize("name, options, key",
                         [(n, o, k) for n, o, keys in CASES for k in keys])
def test_zero_dim_tensor_hyperparameter_steps_like_torch(name, options, key):
    got, types, value = _run(ember, name, options, key, ())
    want, torch_types, torch_value = _run(torch, name, options, key, ())
    assert got == pytest.approx(want, rel=1e-6)
    assert types == torch_types
    if isinstance(value, tuple):        # the group keeps the tensors it was given
        assert [type(v).__name__ for v in value] == [type(v).__name__ for v in torch_value]
    else:
        assert type(value).__name__ == type(torch_value).__name__ == "Tensor"


# 1-element tensors with one dimension: torch's single-tensor steps refuse these (its argument
# parser takes a 0-d tensor for a Number; an in-place write into a 0-d state cannot broadcast)
REFUSED = [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1), "dampening"),
           ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), "momentum"),
           ("SGD", dict(lr=0.1), "weight_decay"),
           ("Adam", dict(lr=0.1), "weight_decay"),
           ("Adamax", dict(lr=0.1), "weight_decay"),
           ("NAdam", dict(lr=0.1), "weight_decay"),
           ("NAdam", dict(lr=0.1), "momentum_decay"),
           ("NAdam", dict(lr=0.1), "betas"),
           ("RAdam", dict(lr=0.1), "weight_decay"),
           ("Adagrad", dict(lr=0.1), "weight_decay"),
           ("Adagrad", dict(lr=0.1), "lr_decay"),
           ("Adagrad", dict(lr=0.1), "initial_accumulator_value"),
           ("Adadelta", dict(lr=0.5), "rho"),
           ("Adadelta", dict(lr=0.5), "weight_decay"),
           ("RMSprop", dict(lr=0.01), "alpha"),
           ("RMSprop", dict(lr=0.01), "weight_decay"),
           ("ASGD", dict(lr=0.01), "weight_decay"),
           ("ASGD", dict(lr=0.01), "lambd"),
           ("ASGD", dict(lr=0.01), "alpha"),
           ("Adafactor", dict(lr=0.01), "d")]
VALUES["weight_decay"] = 0.01


@pytest.mark.parametrize("name, options, key", REFUSED)
def test_one_element_tensor_hyperparameter_refused_like_torch(name, options, key):
    got = _run(ember, name, options, key, (1,))
    want = _run(torch, name, options, key, (1,))
    assert got[:2] == want[:2]
    assert got[0] in ("TypeError", "RuntimeError")
    assert got[2] == pytest.approx(want[2], rel=1e-6)    # ASGD updates the parameter first


@pytest.mark.parametrize("name, options, key",
                         [("Adam", dict(lr=0.1, weight_decay=0.01), "eps"),
                          ("SGD", dict(lr=0.1, momentum=0.9), "momentum"),
                          ("Rprop", dict(lr=0.01), "step_sizes")])
def test_one_element_tensor_hyperparameter_steps_like_torch(name, options, key):
    got, types, _ = _run(ember, name, options, key, (1,))
    want, torch_types, _ = _run(torch, name, options, key, (1,))
    assert got == pytest.approx(want, rel=1e-6)
    assert types == torch_types
