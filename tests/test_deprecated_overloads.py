"""torch's deprecated argument orders, which old training code still uses (`p.data.add_(-lr,
grad)`, `exp_avg_sq.addcmul_(1 - beta2, grad, grad)`, `m.addmm(beta, a, b)`): the same values,
gradients and deprecation warning as torch's, which warns once per process."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import ember

CASES = ["x.clone().add_(-0.5, g)", "x.add(-0.5, g)", "torch.add(x, 2, g)", "x.clone().sub_(0.5, g)",
         "x.sub(2, g)", "torch.sub(x, 2, g, out=torch.empty(3, dtype=torch.float64))",
         "x.clone().addcmul_(0.1, g, g)", "x.addcmul(0.1, g, g)", "torch.addcmul(x, 0.1, g, g)",
         "x.clone().addcdiv_(-0.1, g, g)", "torch.addcdiv(x, 0.1, g, g)", "x.add(torch.tensor(2.), g)",
         "m.addmm(0.5, m, m)", "m.clone().addmm_(0.5, 2, m, m)", "torch.addmm(0.5, m, m, m)",
         "torch.addmm(0.5, m, 2, m, m)", "v.addmv(0.5, m, v)", "torch.addmv(0.5, v, 2, m, v)",
         "m.addr(0.5, v, v)", "torch.addr(0.5, m, v, v)", "b.baddbmm(0.5, 2, b, b)",
         "torch.baddbmm(0.5, b, b, b)", "m.clone().addbmm_(0.5, b, b)", "torch.addbmm(0.5, m, 2, b, b)"]


def _run(lib, expr):
    rng = np.random.default_rng(0)
    names = {"x": (3,), "g": (3,), "m": (2, 2), "v": (2,), "b": (1, 2, 2)}
    env = {k: lib.tensor(rng.standard_normal(s) + 2) for k, s in names.items()}
    env["torch"] = lib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expr, env).numpy()


@pytest.mark.parametrize("expr", CASES)
def test_deprecated_order_computes_as_torch(expr):
    np.testing.assert_allclose(_run(ember, expr), _run(torch, expr), rtol=1e-12)


def test_deprecated_orders_record_gradients():
    def grads(lib):
        p = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        g = lib.tensor([0.5, 0.25, -1.0], dtype=lib.float64, requires_grad=True)
        m = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = p.add(-0.5, g).addcmul(0.1, g, g).sub(2, p).addcdiv(0.3, g, p)
            z = m.addmm(0.5, 2, m, m)
        (y.sum() + z.sum()).backward()
        return [t.grad.numpy() for t in (p, g, m)]
    for a, b in zip(grads(ember), grads(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_an_old_adam_loop_trains_as_torch():
    """Adam as optimizers were written before torch 1.5, in the deprecated orders."""
    def train(lib):
        lib.manual_seed(0)
        model = lib.nn.Linear(4, 2).double()
        state = {p: (lib.zeros_like(p), lib.zeros_like(p)) for p in model.parameters()}
        x, t = lib.randn(8, 4, dtype=lib.float64), lib.randn(8, 2, dtype=lib.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for step in range(1, 4):
                model.zero_grad()
                ((model(x) - t) ** 2).mean().backward()
                for p in model.parameters():
                    m, v = state[p]
                    m.mul_(0.9).add_(1 - 0.9, p.grad)
                    v.mul_(0.999).addcmul_(1 - 0.999, p.grad, p.grad)
                    denom = v.sqrt().add_(1e-8)
                    p.data.addcdiv_(-0.01 / (1 - 0.9 ** step), m, denom)
        return [p.detach().numpy() for p in model.parameters()]
    for a, b in zip(train(ember), train(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("expr", ["x.add_(-0.5, g)", "x.sub(2, g)", "x.addcmul(0.1, g, g)",
                                  "x.addcdiv_(0.1, g, g)", "m.addmm(0.5, m, m)",
                                  "m.addmm_(0.5, 2, m, m)", "torch.addmm(0.5, m, 2, m, m)",
                                  "torch.baddbmm(0.5, b, b, b)", "v.addmv(0.5, m, v)"])
def test_deprecation_warning_as_torchs(expr):
    """Each deprecated form's text (torch.set_warn_always: its once-a-process warning each
    time, in both libraries)."""
    def caught(lib):
        env = {"torch": lib, "x": lib.ones(3), "g": lib.ones(3), "m": lib.ones(2, 2),
               "v": lib.ones(2), "b": lib.ones(1, 2, 2)}
        before = lib.is_warn_always_enabled()
        lib.set_warn_always(True)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                eval(expr, env)
        finally:
            lib.set_warn_always(before)
        return [str(i.message).partition(" (Triggered internally")[0] for i in w]
    expected = caught(torch)
    assert len(expected) == 1 and caught(ember) == expected


def test_deprecation_warning_once_per_process_for_all_ops():
    code = """
import warnings, torch, ember
def warned(lib):
    x, g = lib.ones(3), lib.ones(3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        x.add_(-0.5, g)
        x.add_(-0.5, g)
        x.addcmul(0.1, g, g)
    return [str(i.message).partition(" (Triggered internally")[0] for i in w]
t, e = warned(torch), warned(ember)
print(t == e, len(t))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "1"]


def test_misordered_calls_still_refused():
    x, g = ember.ones(3), ember.ones(3)
    with pytest.raises(TypeError):
        x.add(g, g)
    with pytest.raises(TypeError):
        x.addcmul(g, g, g)
    with pytest.raises(TypeError):
        ember.ones(2, 2).addmm(ember.ones(2, 2), ember.ones(2, 2), ember.ones(2, 2))
