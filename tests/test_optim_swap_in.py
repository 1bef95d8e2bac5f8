"""torch 2.13's optim.swap_in_optimizer_params_and_state against torch."""
import copy

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome


def _setup(lib, opt_name):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Linear(4, 2))
    opt = getattr(lib.optim, opt_name)(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.05}],
        lr=0.1, **({"momentum": 0.9} if opt_name == "SGD" else {}))
    x = lib.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype("float32"))
    model(x).square().sum().backward()
    opt.step()
    return model, opt


def _swapped_step(lib, opt_name):
    model, opt = _setup(lib, opt_name)
    live = [p.detach().clone() for p in model.parameters()]
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p, q in zip(params.values(), model.parameters()):
        p.grad = q.grad.clone() * 2
    osd = copy.deepcopy(opt.state_dict())
    osd["param_groups"][0]["lr"] = 0.5
    with lib.optim.swap_in_optimizer_params_and_state(opt, params, osd):
        inside_lr = opt.param_groups[0]["lr"]
        opt.step()
    restored = [opt.param_groups[0]["lr"], all(p.equal(q) for p, q in
                                              zip(model.parameters(), live))]
    return ([p.tolist() for p in params.values()], inside_lr, restored,
            sorted(str(k) for k in osd["state"][0]))


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_a_step_on_swapped_in_params_and_state(opt_name):
    e, t = _swapped_step(ember, opt_name), _swapped_step(torch, opt_name)
    np.testing.assert_allclose(np.concatenate([np.ravel(a) for a in e[0]]),
                               np.concatenate([np.ravel(a) for a in t[0]]), rtol=1e-5, atol=1e-6)
    assert e[1:] == t[1:]


def _bad(lib, change):
    model, opt = _setup(lib, "Adam")
    osd = copy.deepcopy(opt.state_dict())
    params = dict(model.named_parameters())
    params, osd = change(lib, params, osd) or (params, osd)
    with lib.optim.swap_in_optimizer_params_and_state(opt, params, osd):
        pass


_BAD = {
    "state not a dict": lambda L, p, o: o.__setitem__("state", []),
    "state keyed by tensors": lambda L, p, o: o.__setitem__("state", {L.ones(1): {}}),
    "state entry not a dict": lambda L, p, o: o["state"].__setitem__(0, 3),
    "param_groups not a list": lambda L, p, o: o.__setitem__("param_groups", {}),
    "fewer groups": lambda L, p, o: o["param_groups"].pop(),
    "group not a dict": lambda L, p, o: o["param_groups"].__setitem__(0, 1),
    "params not ids": lambda L, p, o: o["param_groups"][0].__setitem__("params", ["a", "b"]),
    "params count": lambda L, p, o: o["param_groups"][0]["params"].pop(),
    "extra group key": lambda L, p, o: o["param_groups"][0].__setitem__("x", 1),
    "missing group key": lambda L, p, o: o["param_groups"][0].pop("lr"),
    "too few tensors": lambda L, p, o: (dict(list(p.items())[:2]), o),
    "extra state key": lambda L, p, o: o["state"].__setitem__(9, {}),
    "not a state_dict": lambda L, p, o: (p, []),
}


@pytest.mark.parametrize("case", list(_BAD))
def test_bad_arguments_like_torch(case):
    assert _outcome(lambda: _bad(ember, _BAD[case])) == _outcome(lambda: _bad(torch, _BAD[case]))


def test_uninitialized_optimizer_is_refused_like_torch():
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        with lib.optim.swap_in_optimizer_params_and_state(opt, {"p": p}, opt.state_dict()):
            pass
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
