"""ember reads the CPU capability torch's kernels dispatch on (ember._cpu) as torch does: from
ATEN_CPU_CAPABILITY, else from the CPU's flags; the float kernels whose results depend on it
(softmax's lane-order sums, oneDNN's bfloat16 kernel choice) follow it."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_capability_is_torchs():
    assert ember.backends.cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()
    assert ember._cpu.VEC_BYTES == (64 if ember._cpu.CAPABILITY == "AVX512" else 32)


@pytest.mark.parametrize("value", ["default", "avx2", "avx512", "not-a-level"])
def test_aten_cpu_capability_variable(value):
    code = ("import warnings; warnings.simplefilter('ignore'); import ember, torch; "
            "print(ember.backends.cpu.get_cpu_capability(), "
            "torch.backends.cpu.get_cpu_capability())")
    env = dict(os.environ, ATEN_CPU_CAPABILITY=value, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == out[1]


def test_flags_read_from_cpuinfo():
    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("no /proc/cpuinfo")
    with open("/proc/cpuinfo") as f:
        line = next(ln for ln in f if ln.startswith("flags"))
    assert ember._cpu.FLAGS == frozenset(line.split(":", 1)[1].split())


@pytest.mark.parametrize("name", ["sinh", "cosh"])
def test_float32_hyperbolic_as_torchs(name):
    """Correctly rounded float32 sinh/cosh (NumPy's float32 loops were an ulp off torch's in one
    value of ten), infinite past exp's overflow on AVX2 as torch's kernels are."""
    x = (np.random.default_rng(0).standard_normal(20000) * 30).astype(np.float32)
    x[:4] = [88.72283, 88.72284, -88.72284, 89.5]
    got = getattr(ember, name)(ember.tensor(x)).numpy()
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    if ember._cpu.CAPABILITY != "AVX512":       # the overflow at log(FLT_MAX): AVX2's kernels
        np.testing.assert_array_equal(got[:4], want[:4])
    assert np.mean(got[4:] != want[4:]) < 0.005


_BF16_CONVS = [  # dims, in, out, groups, kernel, stride, dilation, padding, batch, bias
    (1, 6, 12, 6, 1, 1, 2, 1, 2, True), (1, 2, 6, 2, 3, 2, 1, 0, 3, False),
    (2, 4, 8, 1, 3, 1, 1, 1, 2, True), (2, 4, 4, 4, 3, 1, 1, 1, 2, True),
    (2, 6, 6, 2, 2, 2, 2, 2, 3, False), (2, 1, 32, 1, 3, 1, 1, 0, 2, True),
    (3, 2, 4, 2, 2, 1, 2, 1, 2, True), (3, 1, 2, 1, 3, 2, 1, 2, 1, False),
]


@pytest.mark.skipif(ember._cpu.ONEDNN_BF16, reason="torch's bfloat16 convolution is oneDNN's "
                    "here (float accumulation, one rounding: the other tests)")
@pytest.mark.parametrize("case", _BF16_CONVS, ids=str)
def test_bf16_fallback_convolution_gradients(case):
    """Where oneDNN has no bfloat16, torch's slow convolution rounds its column gradients and
    their col2im sums to bfloat16, and the weight gradient sample by sample: ember's input and
    weight gradients are torch's bit for bit (they differed in 70% of elements)."""
    dims, ci, co, groups, k, stride, dil, pad, n, bias = case
    rng = np.random.default_rng(len(_BF16_CONVS) + sum(case))
    x = rng.standard_normal((n, ci) + (7,) * dims).astype(np.float32)
    w = rng.standard_normal((co, ci // groups) + (k,) * dims).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    out = []
    for lib in (ember, torch):
        X = lib.tensor(x).to(lib.bfloat16).requires_grad_()
        W = lib.tensor(w).to(lib.bfloat16).requires_grad_()
        B = lib.tensor(b).to(lib.bfloat16) if bias else None
        y = getattr(lib.nn.functional, f"conv{dims}d")(X, W, B, stride, pad, dil, groups)
        gy = np.cos(np.arange(y.numel(), dtype=np.float32) * 0.7).reshape(tuple(y.shape)) * 3
        y.backward(lib.tensor(gy).to(lib.bfloat16))
        out.append([t.float().detach().numpy() for t in (y, X.grad, W.grad)])
    for a, c in zip(*out):
        np.testing.assert_array_equal(a, c)
