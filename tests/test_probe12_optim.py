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


_DIFFERENTIABLE = ["Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "ASGD", "NAdam", "RAdam",
                   "RMSprop", "Rprop", "SGD"]


@pytest.mark.parametrize("name", _DIFFERENTIABLE)
def test_differentiable_step_on_a_leaf_refused_like_torch(name):
    def run(L):
        p = L.nn.Parameter(L.ones(3))
        p.grad = L.full((3,), 0.5)
        getattr(L.optim, name)([p], differentiable=True).step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "RuntimeError"


@pytest.mark.parametrize("name", [n for n in _DIFFERENTIABLE if n != "SGD"])
def test_differentiable_step_with_foreach_refused_like_torch(name):
    def run(L):
        p = L.ones(3, requires_grad=True).clone()
        p.grad = L.full((3,), 0.5)
        getattr(L.optim, name)([p], differentiable=True, foreach=True).step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def _differentiable_run(L, name, kwargs, dtype, steps):
    """Steps on a non-leaf parameter whose gradient requires grad: the result, the state and
    the gradients of a loss on them w.r.t. the initial parameter and gradient."""
    imag = 1j if dtype.is_complex else 0
    p0 = L.tensor([1.0 + imag / 2, -2.0, 0.5 - imag], dtype=dtype, requires_grad=True)
    g0 = L.tensor([0.3, 0.1 + imag, -0.7 - imag / 4], dtype=dtype, requires_grad=True)
    p = p0.clone()
    p.grad = g0
    opt = getattr(L.optim, name)([p], differentiable=True, **kwargs)
    for k in range(steps):
        opt.step()
        p.grad = g0 * (k + 2)
    state = [v for v in opt.state[p].values() if isinstance(v, L.Tensor) and v.dim()]
    loss = sum((v.abs() ** 2).sum() for v in [p, *state])
    return [p, *state, *L.autograd.grad(loss, (p0, g0))]


@pytest.mark.parametrize("name, kwargs, steps", [
    ("SGD", {"lr": 0.1}, 3),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, 3),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "maximize": True}, 3),
    ("Adam", {"weight_decay": 0.1}, 3),
    ("Adam", {"amsgrad": True}, 1),
    ("AdamW", {"lr": 0.1}, 3),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}, 3),
    ("Adagrad", {"lr_decay": 0.5}, 3),
    ("Adamax", {}, 1),
    ("ASGD", {"t0": 1}, 3),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}, 3),
    ("RAdam", {}, 3),
    ("RMSprop", {"momentum": 0.5}, 3),
    ("RMSprop", {"centered": True}, 1),
    ("Rprop", {}, 1),
])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_differentiable_step_records_the_graph_like_torch(name, kwargs, steps, dtype):
    got = _differentiable_run(ember, name, kwargs, getattr(ember, dtype), steps)
    want = _differentiable_run(torch, name, kwargs, getattr(torch, dtype), steps)
    assert len(got) == len(want)
    # torch's differentiable Adam takes its bias corrections from the float32 step tensor
    rtol = 1e-5 if name in ("Adam", "AdamW") else 1e-7
    for e, t in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(e.detach().numpy()), t.detach(),
                                   rtol=rtol, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name", ["Adadelta", "Adafactor", "Adagrad", "Adamax", "ASGD", "Muon",
                                  "NAdam", "RAdam", "RMSprop"])
def test_tensor_weight_decay_steps_like_torch(name):
    def run(L):
        p = L.nn.Parameter(L.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=L.float64))
        opt = getattr(L.optim, name)([p], weight_decay=L.tensor(0.1, dtype=L.float64))
        for k in range(2):
            p.grad = L.tensor([[0.3, 0.1], [-0.7, 0.2]], dtype=L.float64) * (k + 1)
            opt.step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("name", ["Adadelta", "Adam", "AdamW", "Adamax", "ASGD", "NAdam", "RAdam",
                                  "RMSprop", "Rprop"])
@pytest.mark.parametrize("foreach", [None, True])
def test_capturable_step_on_cpu_refused_like_torch(name, foreach):
    def run(L):
        p = L.nn.Parameter(L.ones(2))
        p.grad = L.ones(2)
        getattr(L.optim, name)([p], capturable=True, foreach=foreach).step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "AssertionError"


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad"])
def test_fused_refuses_complex_parameters_like_torch(name):
    def run(L):
        real = L.nn.Parameter(L.ones(2))
        other = L.nn.Parameter(L.ones(2, dtype=L.complex64))
        opt = getattr(L.optim, name)([real, other], fused=True, lr=0.1)

        def closure():
            real.grad, other.grad = L.ones(2), L.ones(2, dtype=other.dtype)
        opt.step(closure)
        return real, other
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_fused_refuses_sparse_gradients_like_torch(name):
    def run(L):
        p = L.nn.Parameter(L.ones(3))
        opt = getattr(L.optim, name)([p], fused=True, lr=0.1)
        p.grad = L.ones(3).to_sparse()
        opt.step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "RuntimeError"


def test_asgd_steps_bfloat16_parameters_like_torch():
    def run(L):
        p = L.nn.Parameter(L.tensor([1.0, -2.0, 0.5]).to(L.bfloat16))
        opt = L.optim.ASGD([p], lr=0.1)
        for k in range(3):
            p.grad = (L.tensor([0.3, 0.1, -0.7]) * (k + 1)).to(L.bfloat16)
            opt.step()
        return p
    got, want = run(ember), run(torch)
    assert got.dtype == ember.bfloat16
    torch.testing.assert_close(torch.tensor(got.float().tolist()), want.detach().float(),
                               rtol=1e-2, atol=0)


def _hyperparameter_gradient(L, name, key):
    """Two differentiable steps with `key` a tensor that requires grad: the parameter and its
    gradient w.r.t. that tensor."""
    p = L.tensor([1.0, -2.0, 0.5], dtype=L.float64, requires_grad=True).clone()
    p.grad = L.tensor([0.3, 0.1, -0.7], dtype=L.float64)
    h = L.tensor(0.01 if key == "lr" else 0.1, dtype=L.float64, requires_grad=True)
    opt = getattr(L.optim, name)([p], differentiable=True, **{key: h})
    opt.step()
    p.grad = p.grad * 2
    opt.step()
    return p, L.autograd.grad(p.sum(), (h,))[0]


@pytest.mark.parametrize("name, key", [("SGD", "lr"), ("SGD", "weight_decay"), ("Adam", "lr"),
                                       ("AdamW", "lr"), ("AdamW", "weight_decay"),
                                       ("RAdam", "lr"), ("ASGD", "lr")])
def test_differentiable_step_records_tensor_hyperparameters_like_torch(name, key):
    got = _outcome(lambda: _hyperparameter_gradient(ember, name, key))
    want = _outcome(lambda: _hyperparameter_gradient(torch, name, key))
    assert got[0] == want[0]
    if want[0] == "ok":
        for e, t in zip(_hyperparameter_gradient(ember, name, key),
                        _hyperparameter_gradient(torch, name, key)):
            torch.testing.assert_close(torch.tensor(e.tolist(), dtype=torch.float64),
                                       t.detach(), rtol=1e-5, atol=0)
    else:
        assert got == want


@pytest.mark.parametrize("value", [0.0, 1, None, "x"])
def test_differentiable_must_be_a_bool_at_step_like_torch(value):
    def run(L):
        p = L.nn.Parameter(L.ones(2))
        p.grad = L.ones(2)
        L.optim.Adam([p], differentiable=value).step()
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "TypeError"


@pytest.mark.parametrize("value", [1, 0.0, None])
def test_set_grad_enabled_takes_a_bool_only_like_torch(value):
    def run(L):
        try:
            L.set_grad_enabled(value)
        finally:
            L.set_grad_enabled(True)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "TypeError"


@pytest.mark.parametrize("name, kwargs", [(n, {"weight_decay": True}) for n in (
    "Adadelta", "Adagrad", "Adam", "Adamax", "ASGD", "NAdam", "RAdam", "RMSprop", "SGD")]
    + [("LBFGS", {"lr": True})])
def test_boolean_alpha_refused_like_torch(name, kwargs):
    def run(L):
        p = L.nn.Parameter(L.ones(2, 2))
        opt = getattr(L.optim, name)([p], **kwargs)

        def closure():
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss
        for _ in range(2):
            opt.step(closure)
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "RuntimeError"


def test_lbfgs_step_refuses_an_added_param_group_like_torch():
    def run(L):
        p, q = L.nn.Parameter(L.ones(2)), L.nn.Parameter(L.ones(2))
        opt = L.optim.LBFGS([p])
        opt.add_param_group({"params": [q]})

        def closure():
            opt.zero_grad()
            loss = (p * p).sum() + (q * q).sum()
            loss.backward()
            return loss
        return opt.step(closure), p, q
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "AssertionError"


@pytest.mark.parametrize("name, kwargs", [("SGD", {"momentum": 0.9}), ("Adagrad", {})])
def test_differentiable_step_with_sparse_gradients_like_torch(name, kwargs):
    def run(L):
        p = L.ones(3, requires_grad=True).clone()
        opt = getattr(L.optim, name)([p], lr=0.1, differentiable=True, **kwargs)
        for _ in range(2):
            p.grad = L.tensor([1.0, 0.0, 2.0]).to_sparse()
            opt.step()
        return p.detach()
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "ASGD", "LBFGS",
                                  "NAdam", "RAdam", "RMSprop", "Rprop"])
@pytest.mark.parametrize("differentiable", [False, True])
def test_zero_dim_complex_parameter_steps_like_torch(name, differentiable):
    if name == "LBFGS" and differentiable:
        pytest.skip("LBFGS has no differentiable option")

    def run(L):
        value = L.tensor(1 + 2j, dtype=L.complex128)
        p = value.requires_grad_().clone() if differentiable else L.nn.Parameter(value)
        kwargs = {"differentiable": True} if differentiable else {}
        opt = getattr(L.optim, name)([p], lr=0.1, **kwargs)

        def closure():                      # LBFGS's loss: |p|^2 + Re(p)
            opt.zero_grad()
            loss = (p * p.conj()).real.sum() + p.real.sum()
            loss.backward()
            return loss
        for k in range(2):
            if name == "LBFGS":
                opt.step(closure)
            else:
                p.grad = L.tensor(0.5 - 1j, dtype=L.complex128) * (k + 1)
                opt.step()
        return p.tolist()
    got, want = _outcome(lambda: run(ember)), _outcome(lambda: run(torch))
    assert got[0] == want[0] == "ok"
    # torch's fused multiply-adds; its differentiable Adam's float32 bias corrections
    assert got[1] == pytest.approx(want[1], rel=1e-5 if differentiable else 1e-12)
    assert got[1] != pytest.approx(1 + 2j)                  # it did step


@pytest.mark.parametrize("kind", ["strided", "sparse"])
def test_lbfgs_gathers_gradients_with_views_like_torch(kind):
    def run(L):
        p = L.nn.Parameter(L.ones(3, 2))
        opt = L.optim.LBFGS([p], lr=0.1, max_iter=2)

        def closure():
            g = L.arange(6.0).reshape(2, 3).t() + 1        # strides (1, 3)
            p.grad = g.to_sparse() if kind == "sparse" else g
            return (p * p).sum()
        opt.step(closure)
        return p
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("name, key", [("SGD", "momentum_buffer"), ("Rprop", "step_size")])
def test_state_takes_the_gradient_layout_like_torch(name, key):
    def run(L):
        p = L.nn.Parameter(L.arange(12.0).reshape(3, 4).t())     # a transposed parameter
        opt = getattr(L.optim, name)([p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        p.grad = L.ones(4, 3)
        opt.step()
        return opt.state[p][key].stride()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("name, case", [("Muon", "complex second"), ("Muon", "sparse second"),
                                        ("Adafactor", "complex second"),
                                        ("Adafactor", "sparse second"),
                                        ("Adafactor", "empty first")]    # its step divides by 0
                         + [(name, "sparse second") for name in
                            ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta", "RMSprop",
                             "Rprop", "ASGD"]])
def test_group_checked_and_initialised_before_any_update_like_torch(name, case):
    def run(L):
        a = L.nn.Parameter(L.ones(2, 2) if case != "empty first" else L.ones(0, 2))
        b = L.nn.Parameter(L.ones(2, 2, dtype=L.complex64 if case == "complex second" else None))
        opt = getattr(L.optim, name)([a, b])
        a.grad, b.grad = L.ones_like(a), L.ones_like(b)
        if case == "sparse second":
            b.grad = b.grad.to_sparse()
        try:
            opt.step()
        except (RuntimeError, ZeroDivisionError) as e:
            return type(e).__name__, str(e), a.tolist(), b.tolist(), \
                sorted(opt.state_dict()["state"])
        return "ok"
    got = _outcome(lambda: run(ember))
    assert got == _outcome(lambda: run(torch))
    assert got[1] != "ok"
