"""The layout of the gradient a pointwise backward kernel hands on (activations, unary ops) as
torch's: its TensorIterator lays the gradient out by its operands' strides, grad_output's order
winning where it and the input disagree (gelu, silu, tanh, exp, ...), the input's for the
kernels that take it first (threshold_backward: relu, threshold, leaky_relu; erf's d * grad);
where grad_output is expanded (zero strides) the input decides. (logsigmoid's follows
grad_output alone: empty_like(grad_output).) A hook on the input sees the
gradient; values are checked too."""
import numpy as np
import pytest
import torch

import ember

_ACTS = {
    "gelu": lambda L, x: L.nn.functional.gelu(x),
    "gelu_tanh": lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
    "relu": lambda L, x: L.nn.functional.relu(x),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "mish": lambda L, x: L.nn.functional.mish(x),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "celu": lambda L, x: L.nn.functional.celu(x),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
    "relu6": lambda L, x: L.nn.functional.relu6(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "threshold": lambda L, x: L.nn.functional.threshold(x, 0.1, 2.0),
    "softshrink": lambda L, x: L.nn.functional.softshrink(x),
    "hardshrink": lambda L, x: L.nn.functional.hardshrink(x),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
}
_UNARY = ["exp", "exp2", "expm1", "log1p", "sin", "cos", "tan", "sinh", "cosh", "tanh",
          "sigmoid", "asinh", "atan", "abs", "square", "erf", "erfc", "lgamma"]
_POSITIVE = ["sqrt", "log", "log2", "log10", "digamma", "acosh"]
_SMALL = ["asin", "acos", "atanh", "erfinv"]
for _n in _UNARY:
    _ACTS[_n] = lambda L, x, n=_n: getattr(L, n)(x)
for _n in _POSITIVE:
    _ACTS[_n] = lambda L, x, n=_n: getattr(L, n)(x.abs() + 1.2)
for _n in _SMALL:
    _ACTS[_n] = lambda L, x, n=_n: getattr(L, n)(x * 0.3)

# (layout of x, of grad_output) left different: atanh's formula multiplies an expanded grad
# by 1 first (a contiguous product)
_LEFT = {("atanh", "t", "e")}


def _grad(L, name, dtype, xl, gl):
    r = np.random.default_rng(0)
    v = r.standard_normal((30, 40)).astype(np.float32)
    x = L.tensor(v) if xl == "c" else L.tensor(np.ascontiguousarray(v.T)).t()
    x = x.to(getattr(L, dtype)).requires_grad_()
    seen = []
    x.register_hook(lambda g: seen.append(g.stride()))
    y = _ACTS[name](L, x)
    w = r.standard_normal((30, 40)).astype(np.float32)
    g = {"c": lambda: L.tensor(w), "t": lambda: L.tensor(np.ascontiguousarray(w.T)).t(),
         "e": lambda: L.tensor(1.5).expand(30, 40)}[gl]().to(x.dtype)
    y.backward(g)
    return seen, x.grad.stride(), x.grad.float().numpy()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", list(_ACTS))
def test_pointwise_backward_gradient_layout_like_torch(name, dtype):
    for xl, gl in (("c", "t"), ("t", "c"), ("t", "t"), ("c", "e"), ("t", "e")):
        if (name, xl, gl) in _LEFT:
            continue
        got, want = _grad(ember, name, dtype, xl, gl), _grad(torch, name, dtype, xl, gl)
        assert got[:2] == want[:2], (xl, gl)
        if dtype == "float32":      # (the values are not this test's subject)
            np.testing.assert_allclose(got[2], want[2], rtol=1e-5, atol=1e-6)


def test_logsigmoid_gradient_laid_out_as_grad_output():
    """log_sigmoid_backward writes into empty_like(grad_output): an expanded grad_output gives
    a contiguous gradient, whatever the input's layout."""
    for gl in ("e", "t", "c"):
        assert _grad(ember, "logsigmoid", "float32", "t", gl)[:2] == \
            _grad(torch, "logsigmoid", "float32", "t", gl)[:2]


@pytest.mark.parametrize("name", ["relu_", "F.relu(inplace)", "sigmoid_", "mul_", "tanh_",
                                  "exp_", "pow_"])
def test_inplace_ops_keep_the_input_layout_for_backward(name):
    """An in-place op saves the old values for backward in their own layout (torch's kernel
    reads self as it is laid out): relu_'s gradient of a transposed input is transposed too
    (ember saved a C-ordered copy)."""
    def run(L):
        f = {"relu_": lambda h: h.relu_(), "F.relu(inplace)": lambda h: L.nn.functional.relu(
            h, inplace=True), "sigmoid_": lambda h: h.sigmoid_(), "mul_": lambda h: h.mul_(2.0),
            "tanh_": lambda h: h.tanh_(), "exp_": lambda h: h.exp_(),
            "pow_": lambda h: h.pow_(2)}[name]
        x = L.arange(-6.0, 6.0, requires_grad=True)
        h = (x.reshape(4, 3) * 1.0).t() * 1.0           # transposed, not a view
        seen = []
        h.register_hook(lambda g: seen.append((g.stride(), g.tolist())))
        f(h).backward(L.ones(3, 4))
        return [s for s, _ in seen], [v for _, v in seen] + [x.grad.tolist()]
    (e_strides, e_values), (t_strides, t_values) = run(ember), run(torch)
    assert e_strides == t_strides
    # (values: float32's exp/tanh/sigmoid round an ulp apart from torch's on some inputs, and
    # tanh's 1 - y * y near y = 1 makes that up to 1e-8 absolute on small gradients)
    for e, t in zip(e_values, t_values):
        np.testing.assert_allclose(np.array(e), np.array(t), rtol=1e-6, atol=1e-7)


_CLAMPS = {"clamp": lambda L, h: h.clamp(-0.5, 0.5), "clamp_min": lambda L, h: h.clamp_min(0.1),
           "clamp_max": lambda L, h: h.clamp_max(0.1), "clamp_": lambda L, h: h.clamp_(-0.5, 0.5),
           "clamp_tensor": lambda L, h: h.clamp(L.zeros(3, 1), L.ones(3, 1)),
           "hardtanh": lambda L, h: L.nn.functional.hardtanh(h)}


@pytest.mark.parametrize("name", list(_CLAMPS))
@pytest.mark.parametrize("transposed", ["input", "grad_output"])
def test_clamp_gradients_laid_out_as_the_input(name, transposed):
    """torch's clamp backward is where(mask of self, grad, 0): laid out as the input whichever
    operand is transposed (ember's followed grad_output or C order)."""
    def run(L):
        x = L.arange(-6.0, 6.0, requires_grad=True)
        if transposed == "input":
            h, go = (x.reshape(4, 3) * 0.2).t() * 1.0, L.ones(3, 4)
        else:
            h, go = x.reshape(3, 4) * 0.2 * 1.0, L.arange(12.0).reshape(4, 3).t()
        seen = []
        h.register_hook(lambda g: seen.append((g.stride(), g.tolist())))
        _CLAMPS[name](L, h).backward(go)
        return seen, x.grad.tolist()
    assert run(ember) == run(torch)
