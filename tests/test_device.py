"""Device plumbing on the `mock` device (NumPy under another device name) and, where CuPy sees
a GPU, on `cuda`: transfers, factories, cross-device errors, gradients across transfers."""
import numpy as np
import pytest

import ember
from oracle import host


def _other(device):
    return "cpu" if device != "cpu" else "mock"


def test_factories_and_ops_stay_on_device(device):
    x = ember.ones(2, 3, device=device)
    assert x.device.type == device
    for y in (x + 1, x.exp(), x.sum(), x @ x.T, ember.zeros_like(x), ember.randn(2, device=device),
              ember.arange(3, device=device), x[0], x.view(-1)):
        assert y.device == x.device


def test_transfer_round_trip_and_grad(device):
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a.to(device)
    assert b.device.type == device and b.requires_grad
    (b * b).sum().backward()
    np.testing.assert_allclose(host(a.grad), [2.0, 4.0, 6.0])
    assert a.grad.device.type == "cpu"
    assert b.to("cpu").device.type == "cpu"


def test_cross_device_raises(device):
    if device == "cpu":
        pytest.skip("needs two devices")
    a, b = ember.ones(3, device=device), ember.ones(3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a + b
    with pytest.raises(RuntimeError, match="same device"):
        ember.cat([a, b])


def test_zero_dim_cpu_tensor_mixes_with_any_device(device):
    a = ember.ones(3, device=device)
    out = a * ember.tensor(2.0)
    assert out.device.type == device
    np.testing.assert_allclose(host(out), [2.0, 2.0, 2.0])


def test_to_same_device_and_dtype_returns_self(device):
    a = ember.ones(3, device=device)
    assert a.to(device) is a
    assert a.to(ember.float32) is a
    assert a.float() is a
    assert a.to(device, copy=True) is not a


def test_to_argument_forms(device):
    a = ember.ones(2)
    assert a.to(device, ember.float64).dtype is ember.float64
    assert a.to(dtype=ember.int64, device=device).device.type == device
    ref = ember.zeros(1, dtype=ember.float16, device=device)
    out = a.to(ref)
    assert out.dtype is ember.float16 and out.device == ref.device


def test_device_objects():
    d = ember.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1",
                                                 "device(type='cuda', index=1)")
    assert ember.device("cpu") == ember.device("cpu") and ember.device("cpu") != "cpu"  # as torch
    with pytest.raises(RuntimeError):
        ember.device("tpu")


def test_cuda_without_gpu_names_the_extra():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    assert ember.cuda.device_count() == 0
    ember.cuda.empty_cache()
    with pytest.raises(RuntimeError, match=r"ember\[cuda12\]"):
        ember.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match=r"ember\[cuda12\]"):
        ember.ones(2, device="cuda")


def test_autocast_lowers_matmul_and_keeps_grads(device):
    a = ember.randn(4, 3, device=device, requires_grad=True)
    b = ember.randn(3, 2, device=device, requires_grad=True)
    amp_device = "cuda" if device == "cuda" else device
    with ember.autocast(amp_device, dtype=ember.float16):
        out = a @ b
        assert out.dtype is ember.float16
    out.float().sum().backward()
    assert a.grad.dtype is ember.float32 and a.grad.shape == a.shape
    assert (a @ b).dtype is ember.float32


def test_grad_scaler_skips_step_on_inf():
    class Opt:
        param_groups = [{"params": []}]
        steps = 0

        def step(self):
            Opt.steps += 1
    p = ember.ones(2, requires_grad=True)
    opt = Opt()
    opt.param_groups[0]["params"].append(p)
    # a "cuda" scaler disables itself without CUDA (as torch's): scale on the CPU then
    dev = "cuda" if ember.cuda.is_available() else "cpu"
    scaler = ember.amp.GradScaler(dev, init_scale=4.0, growth_interval=1)
    scaler.scale((p * 3).sum()).backward()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(host(p.grad), [3.0, 3.0])
    assert Opt.steps == 1 and scaler.get_scale() == 8.0
    p.grad = ember.tensor([float("inf"), 1.0])
    scaler.step(opt)
    scaler.update()
    assert Opt.steps == 1 and scaler.get_scale() == 4.0
