"""Elementwise backward kernels round as torch's: where the forward values agree bit for bit
(torch's vectorised tanh/exp differ from NumPy's in the last bit for some elements, see
test_fused_rounding), the gradients must too. rsqrt's is (-0.5 * g) * y**3, leaky_relu
multiplies by the slope in the input's dtype, softsign and tanhshrink follow torch's composite
graphs term by term. (float32 tanh_backward is not checked: torch fuses 1 - y * y, ember does
not, see elementwise._tanh_grad.)"""
import numpy as np
import pytest
import torch

import ember

F32, F16, BF16 = "float32", "float16", "bfloat16"

CASES = {   # name: (f(lib, x), dtypes, mask(lib, x): where torch and ember must agree)
    "tanh": (lambda L, x: L.tanh(x), (F16, BF16), None),
    "sigmoid": (lambda L, x: L.sigmoid(x), (F32,), None),
    "rsqrt": (lambda L, x: L.rsqrt(x.abs() + 0.1), (F32,), None),
    "leaky_relu": (lambda L, x: L.nn.functional.leaky_relu(x, 0.1), (F32, F16, BF16), None),
    "rrelu_eval": (lambda L, x: L.nn.functional.rrelu(x), (F32,), None),
    "softsign": (lambda L, x: L.nn.functional.softsign(x), (F32, F16, BF16), None),
    "tanhshrink": (lambda L, x: L.nn.functional.tanhshrink(x), (F16, BF16),
                   lambda L, x: L.tanh(x)),
}


def _run(L, name, dtype, x, g):
    f, _, mask = CASES[name]
    dt = getattr(L, dtype)
    xt = L.tensor(x).to(dt).requires_grad_(True)
    y = f(L, xt)
    y.backward(L.tensor(g).to(dt))
    probe = y if mask is None else mask(L, xt.detach())
    return probe.detach().float().numpy(), xt.grad.float().numpy()


@pytest.mark.parametrize("name,dtype", [(n, d) for n, (_, dts, _) in CASES.items()
                                        for d in dts])
def test_gradient_bits_where_forward_agrees(name, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(20000) * 2).astype(np.float32)
    g = rng.standard_normal(20000).astype(np.float32)
    (ty, tg), (ey, eg) = _run(torch, name, dtype, x, g), _run(ember, name, dtype, x, g)
    same = ty == ey
    assert same.mean() > 0.5, "too few forward values agree for the check to mean anything"
    np.testing.assert_array_equal(eg[same], tg[same])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_repeat_gradient_sums_in_torch_order(dtype):
    """repeat's backward sums each repeated dim (and the new leading dims, one at a time) in
    torch's order: bit for bit where one input dim is repeated, with or without new leading
    dims, and _torch_sum reproduces torch's order of that sum (not yet over several
    non-adjacent repeat dims, nor over a middle dim whose inner size is a few floats)."""
    rng = np.random.default_rng(0)
    cases = [((5, 8), (1, 33)), ((40, 3), (9, 1)), ((3, 1, 8), (4, 1, 5, 1)),
             ((6, 10), (3, 4, 1)), ((2, 3, 4), (17, 1, 1, 1)), ((1, 65), (8, 1))]
    for shape, reps in cases:
        x = rng.standard_normal(shape).astype(dtype)
        outs = []
        for L in (ember, torch):
            xt = L.tensor(x).requires_grad_(True)
            y = xt.repeat(*reps)
            w = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype)
            (y * L.tensor(w)).sum().backward()
            outs.append(xt.grad.numpy())
        np.testing.assert_array_equal(*outs, err_msg=f"{shape} {reps}")


def test_aminmax_gradient_of_one_output_keeps_negative_zeros():
    """Only the output that received a gradient contributes (torch hands the other's as
    undefined): a negative gradient of max alone leaves -0.0 where it does not reach; with
    create_graph too."""
    outs = []
    for L in (ember, torch):
        r = []
        for pick in ("max", "min", "both"):
            for create in (False, True):
                x = L.tensor([[1.0, 2.0, 3.0], [5.0, -4.0, 0.5]], requires_grad=True)
                lo, hi = L.aminmax(x, dim=1, keepdim=True)
                loss = {"max": hi * -1.0, "min": lo * -2.0, "both": hi * -1.0 + lo * -2.0}[pick]
                g, = L.autograd.grad(loss.sum(), x, create_graph=create)
                r.append((g.detach().numpy().tolist(), np.signbit(g.detach().numpy()).tolist()))
        outs.append(r)
    assert outs[0] == outs[1]
