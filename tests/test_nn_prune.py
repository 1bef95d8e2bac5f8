"""nn.utils.prune against torch: the same weights give the same masks, pruned values, state_dict
keys, forward outputs and gradients; iterative pruning, global pruning, remove() and errors."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune

import ember
import ember.nn.utils.prune as prune
from nn_oracle import raises_like, to_ember_state
from oracle import assert_close

MODULES = {"linear": lambda lib: lib.nn.Linear(6, 5),
           "conv2d": lambda lib: lib.nn.Conv2d(3, 4, 3)}
INPUTS = {"linear": (2, 6), "conv2d": (2, 3, 5, 5)}


def _pair(kind, seed=0):
    """A torch module and an ember one holding the same weights."""
    torch.manual_seed(seed)
    t_mod = MODULES[kind](torch)
    e_mod = MODULES[kind](ember)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    return e_mod, t_mod


def _np(t):
    return t.detach().numpy()


def assert_same_pruning(e_mod, t_mod, kind, names=("weight",)):
    """Same state_dict (keys, masks, values), same outputs and gradients."""
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    for name in names:
        np.testing.assert_array_equal(_np(getattr(e_mod, name + "_mask")),
                                      _np(getattr(t_mod, name + "_mask")))
        assert_close(getattr(e_mod, name), getattr(t_mod, name))
    x = np.random.default_rng(1).standard_normal(INPUTS[kind]).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = e_mod(ex), t_mod(tx)
    assert_close(e_out, t_out, rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(2).standard_normal(tuple(t_out.shape)).astype(np.float32)
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))
    assert_close(ex.grad, tx.grad, rtol=1e-5, atol=1e-5)
    e_params = dict(e_mod.named_parameters())
    for key, tp in t_mod.named_parameters():
        assert_close(e_params[key].grad, tp.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", list(MODULES))
@pytest.mark.parametrize("amount", [0, 0.0, 0.3, 7, 1.0])
def test_l1_unstructured(kind, amount):
    e_mod, t_mod = _pair(kind)
    assert prune.l1_unstructured(e_mod, "weight", amount) is e_mod
    tprune.l1_unstructured(t_mod, "weight", amount)
    assert isinstance(e_mod.weight_orig, ember.nn.Parameter)
    assert "weight" not in dict(e_mod.named_parameters())
    assert prune.is_pruned(e_mod)
    assert_same_pruning(e_mod, t_mod, kind)


@pytest.mark.parametrize("kind", list(MODULES))
def test_l1_unstructured_importance_scores(kind):
    e_mod, t_mod = _pair(kind)
    scores = np.random.default_rng(3).standard_normal(tuple(t_mod.weight.shape))
    scores = scores.astype(np.float32)
    prune.l1_unstructured(e_mod, "weight", 0.4, importance_scores=ember.tensor(scores))
    tprune.l1_unstructured(t_mod, "weight", 0.4, importance_scores=torch.tensor(scores))
    assert_same_pruning(e_mod, t_mod, kind)


@pytest.mark.parametrize("kind", list(MODULES))
@pytest.mark.parametrize("n", [1, 2, float("inf"), float("-inf"), "fro"])
@pytest.mark.parametrize("dim,amount", [(0, 2), (1, 0.5), (-1, 0.34), (0, 0)])
def test_ln_structured(kind, n, dim, amount):
    e_mod, t_mod = _pair(kind)
    if n == "fro" and kind == "conv2d":     # torch.norm: 'fro' over three dims is an error
        raises_like(lambda: prune.ln_structured(e_mod, "weight", amount, n, dim),
                    lambda: tprune.ln_structured(t_mod, "weight", amount, n, dim))
        return
    prune.ln_structured(e_mod, "weight", amount, n, dim)
    tprune.ln_structured(t_mod, "weight", amount, n, dim)
    assert_same_pruning(e_mod, t_mod, kind)


@pytest.mark.parametrize("kind", list(MODULES))
def test_iterative_pruning_composes_in_a_container(kind):
    e_mod, t_mod = _pair(kind)
    for lib, p, m in ((ember, prune, e_mod), (torch, tprune, t_mod)):
        p.l1_unstructured(m, "weight", 0.2)
        p.ln_structured(m, "weight", 1, 2, 0)
        p.l1_unstructured(m, "weight", 3)
        p.identity(m, "bias")
    hooks = [h for h in e_mod._forward_pre_hooks.values() if h._tensor_name == "weight"]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert [type(h).__name__ for h in hooks[0]] == ["L1Unstructured", "LnStructured",
                                                    "L1Unstructured"]
    assert len(hooks[0]) == 3 and hooks[0][1].dim == 0
    assert_same_pruning(e_mod, t_mod, kind, names=("weight", "bias"))


def test_pre_hook_recomputes_from_orig():
    e_mod, t_mod = _pair("linear")
    prune.l1_unstructured(e_mod, "weight", 0.5)
    tprune.l1_unstructured(t_mod, "weight", 0.5)
    with ember.no_grad():
        e_mod.weight_orig.mul_(2.0)
    with torch.no_grad():
        t_mod.weight_orig.mul_(2.0)
    assert_same_pruning(e_mod, t_mod, "linear")


def test_custom_from_mask_and_identity():
    e_mod, t_mod = _pair("conv2d")
    mask = (np.random.default_rng(4).random(tuple(t_mod.weight.shape)) > 0.5).astype(np.float32)
    prune.custom_from_mask(e_mod, "weight", ember.tensor(mask))
    tprune.custom_from_mask(t_mod, "weight", torch.tensor(mask))
    prune.identity(e_mod, "bias")
    tprune.identity(t_mod, "bias")
    assert_same_pruning(e_mod, t_mod, "conv2d", names=("weight", "bias"))
    np.testing.assert_array_equal(_np(e_mod.bias_mask), np.ones(4, np.float32))


def test_prune_method_on_a_tensor():
    w = np.random.default_rng(5).standard_normal((4, 6)).astype(np.float32)
    ours = prune.L1Unstructured(amount=0.5).prune(ember.tensor(w))
    theirs = tprune.L1Unstructured(amount=0.5).prune(torch.tensor(w))
    assert_close(ours, theirs)
    ours = prune.LnStructured(amount=2, n=1, dim=1).prune(ember.tensor(w))
    theirs = tprune.LnStructured(amount=2, n=1, dim=1).prune(torch.tensor(w))
    assert_close(ours, theirs)


def test_random_unstructured():
    e_mod, _ = _pair("conv2d")
    prune.random_unstructured(e_mod, "weight", 0.3)
    mask = _np(e_mod.weight_mask)
    assert (mask == 0).sum() == round(0.3 * mask.size)
    np.testing.assert_array_equal(_np(e_mod.weight), _np(e_mod.weight_orig) * mask)
    prune.random_unstructured(e_mod, "weight", 10)      # acts on the survivors only
    new = _np(e_mod.weight_mask)
    assert (new == 0).sum() == round(0.3 * mask.size) + 10 and not new[mask == 0].any()
    ember.manual_seed(7)
    a = prune.RandomUnstructured(0.5).compute_mask(ember.ones(20), ember.ones(20))
    ember.manual_seed(7)
    b = prune.RandomUnstructured(0.5).compute_mask(ember.ones(20), ember.ones(20))
    np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured(dim):
    e_mod, _ = _pair("conv2d")
    prune.random_structured(e_mod, "weight", 0.5, dim)
    mask = np.moveaxis(_np(e_mod.weight_mask), dim, 0).reshape(e_mod.weight.shape[dim], -1)
    pruned = ~mask.any(1)
    assert pruned.sum() == round(0.5 * mask.shape[0]) and mask[~pruned].all()
    prune.random_structured(e_mod, "weight", 1, dim)    # one more of the kept channels
    new = np.moveaxis(_np(e_mod.weight_mask), dim, 0).reshape(mask.shape)
    assert (~new.any(1)).sum() == pruned.sum() + 1 and not new[pruned].any()


def test_global_unstructured():
    pairs = [_pair("linear", 0), _pair("conv2d", 1), _pair("linear", 2)]
    for lib, p, idx in ((ember, prune, 0), (torch, tprune, 1)):
        p.l1_unstructured(pairs[2][idx], "weight", 0.5)
        params = [(pairs[0][idx], "weight"), (pairs[1][idx], "weight"), (pairs[1][idx], "bias"),
                  (pairs[2][idx], "weight")]
        assert p.global_unstructured(params, p.L1Unstructured, amount=0.4) is None
    for (e_mod, t_mod), kind in zip(pairs, ("linear", "conv2d", "linear")):
        assert_same_pruning(e_mod, t_mod, kind)
    np.testing.assert_array_equal(_np(pairs[1][0].bias_mask), _np(pairs[1][1].bias_mask))
    hook = next(iter(pairs[2][0]._forward_pre_hooks.values()))
    assert [type(h).__name__ for h in hook] == ["L1Unstructured", "CustomFromMask"]


def test_global_unstructured_importance_scores():
    (e1, t1), (e2, t2) = _pair("linear", 0), _pair("conv2d", 1)
    rng = np.random.default_rng(6)
    s1 = rng.standard_normal(tuple(t1.weight.shape)).astype(np.float32)
    prune.global_unstructured([(e1, "weight"), (e2, "weight")], prune.L1Unstructured,
                              importance_scores={(e1, "weight"): ember.tensor(s1)}, amount=20)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight")], tprune.L1Unstructured,
                               importance_scores={(t1, "weight"): torch.tensor(s1)}, amount=20)
    assert_same_pruning(e1, t1, "linear")
    assert_same_pruning(e2, t2, "conv2d")


@pytest.mark.parametrize("kind", list(MODULES))
def test_remove_makes_pruning_permanent(kind):
    e_mod, t_mod = _pair(kind)
    for p, m in ((prune, e_mod), (tprune, t_mod)):
        p.l1_unstructured(m, "weight", 0.5)
        p.ln_structured(m, "weight", 1, 1, 0)
        p.l1_unstructured(m, "bias", 1)
        assert p.remove(m, "weight") is m
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert isinstance(e_mod.weight, ember.nn.Parameter) and e_mod.weight.requires_grad
    assert_close(e_mod.weight, t_mod.weight)
    assert prune.is_pruned(e_mod)
    prune.remove(e_mod, "bias")
    tprune.remove(t_mod, "bias")
    assert not prune.is_pruned(e_mod) and not e_mod._forward_pre_hooks
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert_same_pruning(e_mod, t_mod, kind, names=())


def test_state_dict_loads_into_a_pruned_module():
    e_mod, t_mod = _pair("linear")
    prune.l1_unstructured(e_mod, "weight", 0.1)
    tprune.l1_unstructured(t_mod, "weight", 0.6)
    e_mod.load_state_dict(to_ember_state(t_mod.state_dict()))
    e_mod(ember.zeros(1, 6))        # the pre-hook recomputes `weight` from the loaded tensors
    t_mod(torch.zeros(1, 6))
    assert_same_pruning(e_mod, t_mod, "linear")


def test_is_pruned_looks_at_submodules():
    e_net = ember.nn.Sequential(ember.nn.Linear(3, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    assert not prune.is_pruned(e_net)
    prune.random_unstructured(e_net[2], "weight", 2)
    assert prune.is_pruned(e_net)


def test_ties():
    """Equal importance at the cut: torch's choice among the tied entries is its topk's
    selection algorithm's, and ember's topk makes the same one."""
    w = np.array([[3., -1., 2., 0.], [1., -3., 0., 2.]], np.float32)
    for amount in (3, 4, 5):
        ours = prune.L1Unstructured(amount).compute_mask(ember.tensor(w), ember.ones(2, 4))
        theirs = tprune.L1Unstructured(amount).compute_mask(torch.tensor(w), torch.ones(2, 4))
        np.testing.assert_array_equal(_np(ours), _np(theirs))
        assert (_np(ours) == 0).sum() == amount


def _errors():
    def prune_with(fn, kind="linear"):
        return lambda lib, p: fn(p, MODULES[kind](lib))
    return {
        "negative int": prune_with(lambda p, m: p.l1_unstructured(m, "weight", -1)),
        "float above 1": prune_with(lambda p, m: p.l1_unstructured(m, "weight", 1.5)),
        "float below 0": prune_with(lambda p, m: p.random_unstructured(m, "weight", -0.1)),
        "str amount": prune_with(lambda p, m: p.l1_unstructured(m, "weight", "0.3")),
        "none amount": prune_with(lambda p, m: p.ln_structured(m, "weight", None, 2, 0)),
        "too many": prune_with(lambda p, m: p.l1_unstructured(m, "weight", 31)),
        "too many channels": prune_with(lambda p, m: p.ln_structured(m, "weight", 6, 2, 0)),
        "structured 1d": prune_with(lambda p, m: p.ln_structured(m, "bias", 1, 2, 0)),
        "random structured 1d": prune_with(lambda p, m: p.random_structured(m, "bias", 1, 0)),
        "dim out of range": prune_with(lambda p, m: p.ln_structured(m, "weight", 1, 2, 2)),
        "remove unpruned": prune_with(lambda p, m: p.remove(m, "weight")),
        "no such parameter": prune_with(lambda p, m: p.l1_unstructured(m, "nope", 1)),
        "global not iterable": prune_with(lambda p, m: p.global_unstructured(
            5, p.L1Unstructured, amount=1)),
        "global scores not dict": prune_with(lambda p, m: p.global_unstructured(
            [(m, "weight")], p.L1Unstructured, importance_scores=[1], amount=1)),
        "global structured": prune_with(lambda p, m: p.global_unstructured(
            [(m, "weight")], p.LnStructured, amount=1, n=2, dim=0)),
        "container non method": lambda lib, p: _container_add(p, 3),
        "container other tensor": lambda lib, p: _container_add(p, _named(p.Identity(), "bias")),
        "scores shape": prune_with(lambda p, m: p.l1_unstructured(
            m, "weight", 1, importance_scores=m.weight[:2])),
    }


def _named(method, name):
    method._tensor_name = name
    return method


def _container_add(p, method):
    container = p.PruningContainer(_named(p.Identity(), "weight"))
    container.add_pruning_method(method)


@pytest.mark.parametrize("case", list(_errors()))
def test_errors_match_torch(case):
    fn = _errors()[case]
    raises_like(lambda: fn(ember, prune), lambda: fn(torch, tprune))


def test_failed_prune_restores_the_parameter():
    e_mod, t_mod = _pair("linear")
    for p, m in ((prune, e_mod), (tprune, t_mod)):
        with pytest.raises(ValueError):
            p.l1_unstructured(m, "weight", 100)
    assert list(dict(e_mod.named_parameters())) == list(dict(t_mod.named_parameters()))
    assert not prune.is_pruned(e_mod) and "weight_mask" not in e_mod.state_dict()
