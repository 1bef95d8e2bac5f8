"""Every entry of the op table against torch: forward values, dtype and shape, and gradients
with a random cotangent, in float32 and float64, on every test device."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, host
from opspecs import ALL_SPECS as SPECS, materialize

_TORCH_VERSION = tuple(int(p) for p in torch.__version__.split(".")[:2])


def _ember_args(items, device, grad):
    args = []
    for kind, v, g in items:
        if kind == "t":
            e = ember.from_numpy(v).to(device) if device != "cpu" else ember.from_numpy(v)
            if device != "cpu":
                e = ember.tensor(v, device=device)
            if grad and g and v.dtype.kind == "f":
                e.requires_grad_(True)
            args.append(e)
        else:
            args.append(v)
    return args


def _torch_args(items, grad):
    args = []
    for kind, v, g in items:
        if kind == "t":
            tt = torch.from_numpy(np.ascontiguousarray(v).copy() if v.ndim else v.copy())
            if v.ndim and not v.flags.c_contiguous:
                tt = torch.from_numpy(v.copy())
            if grad and g and v.dtype.kind == "f":
                tt.requires_grad_(True)
            args.append(tt)
        else:
            args.append(v)
    return args


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_matches_torch(spec, dtype, device):
    if dtype not in spec.dtypes:
        pytest.skip(f"{spec.name} is not defined for {dtype}")
    if device in spec.skip:
        pytest.skip(spec.skip[device])
    tol = spec.tol.get(dtype, {})
    for i, sample in enumerate(spec.samples):
        items = materialize(sample, dtype, spec.domain, seed=i)
        e_args = _ember_args(items, device, spec.grad)
        t_args = _torch_args(items, spec.grad)
        e_out, t_out = spec.fn(*e_args), spec.fn(*t_args)
        assert_close(e_out, t_out, **tol)
        if e_out.device.type != device:
            raise AssertionError(f"output on {e_out.device}, expected {device}")
        if not spec.grad or not t_out.requires_grad:
            continue
        w = np.random.default_rng(100 + i).standard_normal(tuple(t_out.shape)).astype(dtype)
        (e_out * ember.tensor(w, device=device)).sum().backward()
        try:
            (t_out * torch.from_numpy(w)).sum().backward()
        except RuntimeError as err:     # e.g. aminmax's derivative arrived in a later torch
            if "not implemented" in str(err) and _TORCH_VERSION < (2, 13):
                pytest.skip(f"torch {torch.__version__} lacks this gradient ({err}); the "
                            "oracle is torch 2.13")
            raise
        for e, tt in zip(e_args, t_args):
            if isinstance(tt, torch.Tensor) and tt.requires_grad:
                if tt.grad is None:
                    assert e.grad is None or not host(e.grad).any()
                    continue
                assert e.grad is not None, f"{spec.name}: missing gradient"
                assert_close(e.grad, tt.grad, **tol)
