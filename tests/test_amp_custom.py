"""torch.amp.custom_fwd / custom_bwd on a custom autograd.Function under CPU autocast, against
torch: the dtypes forward and backward see and produce, with and without cast_inputs, inside and
outside autocast; argument errors; is_autocast_available; the deprecated torch.cuda.amp names."""
import numpy as np
import pytest
import torch

import ember


def _function(lib, cast_inputs, seen):
    class MulMM(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            seen.append(("fwd in", str(a.dtype), str(b.dtype)))
            out = a.mm(b)
            seen.append(("fwd out", str(out.dtype)))
            return out

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            ga, gb = g.mm(b.t()), a.t().mm(g)
            seen.append(("bwd", str(g.dtype), str(ga.dtype), str(gb.dtype)))
            return ga, gb
    return MulMM


def _run(lib, cast_inputs, autocast_on):
    seen = []
    f = _function(lib, getattr(lib, cast_inputs) if cast_inputs else None, seen)
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
    with lib.autocast("cpu", dtype=lib.bfloat16, enabled=autocast_on):
        y = f.apply(a, b)
        seen.append(("y", str(y.dtype)))
    y.float().sum().backward()
    seen.append(("grads", str(a.grad.dtype), str(b.grad.dtype)))
    return [tuple(s.replace("torch.", "") for s in entry) for entry in seen], \
        a.grad.float().numpy()


@pytest.mark.parametrize("cast_inputs", [None, "float32", "bfloat16"])
@pytest.mark.parametrize("autocast_on", [True, False])
def test_custom_fwd_bwd_dtypes_match_torch(cast_inputs, autocast_on):
    (se, ge), (st, gt) = _run(ember, cast_inputs, autocast_on), _run(torch, cast_inputs,
                                                                      autocast_on)
    assert se == st
    np.testing.assert_allclose(ge, gt, rtol=2e-2, atol=2e-2)     # bfloat16 where autocast runs


def test_errors_and_availability():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_fwd(lambda ctx, x: x, device_type=None)
        with pytest.raises(TypeError):
            lib.amp.custom_bwd(lambda ctx, x: x)                 # device_type is required
    for dev in ("cpu", "cuda", "meta", "mock"):
        want = torch.amp.is_autocast_available(dev) if dev != "mock" else True
        assert ember.amp.is_autocast_available(dev) == want


@pytest.mark.parametrize("name", ["custom_fwd", "custom_bwd"])
def test_deprecated_cuda_spellings(name):
    msgs = []
    for lib in (ember, torch):
        with pytest.warns(FutureWarning) as w:
            getattr(lib.cuda.amp, name)(lambda ctx, x: x)
        msgs.append(str(w[0].message))
    assert msgs[0] == msgs[1]


def test_mlp_under_cpu_autocast_matches_torch():
    """A two-layer MLP under bfloat16 autocast: the second Linear gets a bfloat16 input and a
    float32 weight and bias, which autocast casts (ember checked the dtypes first and raised)."""
    out = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(8, 6), lib.nn.ReLU(), lib.nn.Linear(6, 3))
        x = lib.randn(4, 8)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            y = m(x)
            z = lib.nn.functional.linear(lib.randn(4, 8).bfloat16(), lib.randn(3, 8),
                                         lib.randn(3))
        y.float().sum().backward()
        out.append((str(y.dtype), str(z.dtype), y.float().detach().numpy(),
                    m[0].weight.grad.numpy()))
    assert out[0][:2] == out[1][:2] == ("torch.bfloat16", "torch.bfloat16")
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(out[0][3], out[1][3], rtol=2e-2, atol=2e-2)
