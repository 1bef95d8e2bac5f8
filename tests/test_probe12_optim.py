"""Regressions found by running torch's optimizer database (common_optimizers.optim_db: each
optimizer's constructor configurations and error inputs) through ember, checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _params(L):
    return [L.nn.Parameter(L.ones(2, 2)), L.nn.Parameter(L.ones(3, dtype=L.float64))]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_tensor_betas_with_foreach_refused_like_torch(name):
    def make(L):
        betas = (L.tensor(0.9), L.tensor(0.99))
        return getattr(L.optim, name)(_params(L), betas=betas, foreach=True)
    assert _outcome(lambda: make(ember)) == _outcome(lambda: make(torch))
    assert _outcome(lambda: make(ember))[0] == "ValueError"


def _step(L, opt, params, sparse=False):
    for p in params:
        g = L.ones_like(p) * 0.5
        p.grad = g.to_sparse() if sparse else g
    opt.step()


def _as_ember(x):
    """A torch state_dict's values as ember objects (tensors copied)."""
    if isinstance(x, torch.Tensor):
        return ember.tensor(x.numpy())
    if isinstance(x, dict):
        return {k: _as_ember(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_as_ember(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_as_ember(v) for v in x)
    return x


def _plain_sd(sd):
    def conv(x):
        if isinstance(x, (torch.Tensor, ember.Tensor)):
            return str(x.dtype).split(".")[1], x.tolist()
        if isinstance(x, dict):
            return [(k, conv(v)) for k, v in x.items()]   # key order matters too
        if isinstance(x, (list, tuple)):
            return type(x).__name__, [conv(v) for v in x]
        return x
    return conv(sd)


def _old_state_dict(name, drop, sparse=False):
    """A torch state dict as an older torch wrote it (without the options in `drop`), loaded
    into a fresh torch and a fresh ember optimizer; both then step once more."""
    p = torch.nn.Parameter(torch.ones(2, 2))
    opt = getattr(torch.optim, name)([p])
    _step(torch, opt, [p], sparse)
    sd = opt.state_dict()
    for group in sd["param_groups"]:
        for key in drop:
            del group[key]
    out = []
    for L, loaded in ((torch, sd), (ember, _as_ember(sd))):
        q = L.nn.Parameter(L.ones(2, 2))
        fresh = getattr(L.optim, name)([q])
        fresh.load_state_dict(loaded)
        _step(L, fresh, [q], sparse)
        out.append((_plain_sd(fresh.state_dict()), q.tolist()))
    return out


@pytest.mark.parametrize("name, drop", [
    ("NAdam", ["maximize", "foreach", "capturable", "differentiable", "decoupled_weight_decay"]),
    ("RAdam", ["foreach", "maximize", "differentiable", "decoupled_weight_decay", "capturable"]),
    ("RMSprop", ["momentum", "centered", "foreach", "maximize", "differentiable",
                 "capturable"]),
])
def test_older_state_dict_options_filled_in_torch_order(name, drop):
    e, t = _old_state_dict(name, drop)
    assert e == t


def test_sparse_adam_loads_state_dict_without_maximize():
    e, t = _old_state_dict("SparseAdam", ["maximize"], sparse=True)
    assert e == t


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_tensor_lr_keeps_step_length_a_tensor(line_search_fn):
    def run(L):
        p = L.nn.Parameter(L.tensor([1.5, -0.5], dtype=L.float64))
        lr = L.tensor(0.5, dtype=L.float64)
        opt = L.optim.LBFGS([p], lr=lr, max_iter=3, line_search_fn=line_search_fn)

        def closure():
            opt.zero_grad()
            loss = ((p - 1) ** 4).sum()
            loss.backward()
            return loss
        for _ in range(2):
            opt.step(closure)
        t = opt.state[p]["t"]
        return type(t).__name__, t, opt.state[p]["d"], p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[1][1][0] == "Tensor"
