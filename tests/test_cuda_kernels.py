"""Fused CUDA kernels against the generic (unfused) path, and CUDA graphs.

On `cuda` (where CuPy sees a GPU; skipped elsewhere): each fused kernel's outputs and gradients
match the generic xp path on the same GPU tensors (`cuda_kernels.unfused()`) and float64 on the
CPU, in float64/float32/float16/bfloat16; CUDAGraph replay gives eager's results, a captured
training step trains like eager, make_graphed_callables matches eager.

Everywhere: the fused wrappers run with NumPy stand-ins for their kernels that check every
launch against the kernel's CUDA signature, and must give the generic op's output and `saved`
layout; make_graphed_callables runs on an emulated graph; ember.cuda.graphs without a GPU
raises ember's missing-CUDA error."""
import contextlib
import re

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.backends import cuda_kernels as ck
from ember.backends.cuda_kernel_cases import fused_cases
from ember.cuda import graphs
from ember.ops._registry import OPS
from ember.ops.random import ArrayRNG
import fake_cupy
from oracle import host

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:            # pragma: no cover
    BF16 = None

GPU_DTYPES = ["float64", "float32", "float16"] + (["bfloat16"] if BF16 is not None else [])
TOL = {"float64": (1e-9, 1e-12), "float32": (2e-5, 2e-6), "float16": (2e-2, 2e-3),
       "bfloat16": (8e-2, 2e-2)}


def _cuda_only(device):
    if device != "cuda":
        pytest.skip("fused CUDA kernels run on cuda only")


def _real_gpu_only(device):
    """Compiled kernels and graph captures need a GPU: the fake CuPy (tests/fake_cupy,
    EMBER_FAKE_CUPY=1) runs the generic path with the fused kernels off."""
    _cuda_only(device)
    if fake_cupy.installed():
        pytest.skip("needs compiled CUDA kernels or a graph capture (the fake CuPy has none)")


# ---- on the GPU: fused against unfused and the CPU -----------------------------------------
_R = np.random.default_rng(0)


def _u(*shape, scale=3.0):
    return _R.uniform(-scale, scale, shape)


def _labels(n, classes, ignore=None):
    t = _R.integers(0, classes, n)
    if ignore is not None:
        t[::4] = ignore
    return t


CASES = {
    "softmax_last": (lambda x: F.softmax(x, -1), [_u(8, 33)]),
    "softmax_wide_row": (lambda x: F.softmax(x * 3, 1), [_u(3, 5000)]),
    "softmax_middle_dim": (lambda x: F.softmax(x, 1), [_u(3, 17, 5)]),
    "softmax_first_dim": (lambda x: F.softmax(x, 0), [_u(40, 6)]),
    "softmax_transposed_input": (lambda x: F.softmax(x.transpose(0, 1), -1), [_u(9, 7)]),
    "log_softmax_last": (lambda x: F.log_softmax(x, -1), [_u(8, 1000)]),
    "log_softmax_middle_dim": (lambda x: F.log_softmax(x, 1), [_u(2, 9, 4)]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                  [_u(2, 3, 5, 8, scale=1), _u(2, 3, 7, 8, scale=1), _u(2, 3, 7, 8, scale=1)]),
    "attention_wide_rows": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        [_u(2, 40, 8, scale=1), _u(2, 1500, 8, scale=1), _u(2, 1500, 8, scale=1)]),
    "layer_norm_affine": (lambda x, w, b: F.layer_norm(x, (48,), w, b),
                          [_u(4, 7, 48), _u(48), _u(48)]),
    "layer_norm_two_dims": (lambda x, w, b: F.layer_norm(x, (7, 48), w, b),
                            [_u(4, 7, 48), _u(7, 48), _u(7, 48)]),
    "layer_norm_plain": (lambda x: F.layer_norm(x, (300,)), [_u(5, 300)]),
    "layer_norm_many_rows": (lambda x, w, b: F.layer_norm(x * 2 + 1, (64,), w, b, eps=1e-3),
                             [_u(3000, 64), _u(64), _u(64)]),
    "layer_norm_module": (lambda x: nn.LayerNorm(24).to(x.device).to(x.dtype)(x),
                          [_u(6, 24)]),
    "cross_entropy_mean": (lambda x, t: F.cross_entropy(x, t), [_u(16, 10), _labels(16, 10)]),
    "cross_entropy_weight_ignore": (
        lambda x, t, w: F.cross_entropy(x, t, w.detach().abs(), ignore_index=3),
        [_u(16, 10), _labels(16, 10, ignore=3), _u(10)]),
    "cross_entropy_smoothing_sum": (
        lambda x, t, w: F.cross_entropy(x, t, w.detach().abs(), reduction="sum",
                                        label_smoothing=0.2, ignore_index=1),
        [_u(12, 7), _labels(12, 7, ignore=1), _u(7)]),
    "cross_entropy_smoothing_none": (
        lambda x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
        [_u(12, 7), _labels(12, 7)]),
    "cross_entropy_vocab": (lambda x, t: F.cross_entropy(x, t), [_u(6, 5000), _labels(6, 5000)]),
    "gelu": (lambda x: F.gelu(x), [_u(7, 13)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [_u(7, 13)]),
    "sigmoid_tanh": (lambda x: x.sigmoid() * x.tanh(), [_u(5, 9)]),
}


def _run(fn, arrays, device, dtype, w):
    """fn on `device` tensors of `dtype`: (output, input grads) as float64 NumPy arrays."""
    dt = getattr(ember, dtype)
    ts = []
    for a in arrays:
        t = ember.tensor(a, device=device)
        if a.dtype.kind == "f":
            t = t.to(dt).detach().requires_grad_()
        ts.append(t)
    out = fn(*ts)
    assert out.device.type == device
    (out * ember.tensor(w, device=device).to(dt)).sum().backward()
    grads = [None if t.grad is None else host(t.grad.to(ember.float64)) for t in ts]
    return host(out.to(ember.float64)), grads


def _close(a, b, dtype, what):
    rtol, atol = TOL[dtype]
    scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=what)


@pytest.mark.parametrize("dtype", GPU_DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_fused_matches_unfused_and_cpu(case, dtype, device):
    _cuda_only(device)
    if case == "attention" and dtype == "bfloat16":
        pytest.skip("ember's generic attention matmul mixes bfloat16 and float32 (not fused)")
    fn, arrays = CASES[case]
    probe = fn(*[ember.tensor(a) for a in arrays])
    w = np.random.default_rng(1).standard_normal(tuple(probe.shape))
    ref_out, ref_grads = _run(fn, arrays, "cpu", "float64", w)
    out, grads = _run(fn, arrays, device, dtype, w)
    _close(out, ref_out, dtype, f"{case}: fused vs CPU output")
    for i, (g, rg) in enumerate(zip(grads, ref_grads)):
        assert (g is None) == (rg is None)
        if g is not None:
            _close(g, rg, dtype, f"{case}: fused vs CPU grad {i}")
    if dtype == "bfloat16":     # the generic path rounds sums to bfloat16: CPU is the reference
        return
    with ck.unfused():
        u_out, u_grads = _run(fn, arrays, device, dtype, w)
    _close(out, u_out, dtype, f"{case}: fused vs unfused output")
    for i, (g, ug) in enumerate(zip(grads, u_grads)):
        assert (g is None) == (ug is None)
        if g is not None:
            _close(g, ug, dtype, f"{case}: fused vs unfused grad {i}")


def test_fused_overrides_are_installed(device):
    _real_gpu_only(device)
    ember.ones(1, device=device)
    for name in ("softmax", "log_softmax", "native_layer_norm", "cross_entropy", "gelu",
                 "dropout", "sigmoid", "tanh"):
        assert OPS[name].impl[ck.CUDA] is ck._FUSED[name], name
        with ck.unfused():
            assert OPS[name].impl[ck.CUDA] is ck._GENERIC[name]
    assert ember.backends.get_backend(device).kernels["adam"] is ck._adam


@pytest.mark.parametrize("dtype", GPU_DTYPES)
def test_masked_softmax_rows_of_minus_inf_give_zeros(dtype, device):
    _cuda_only(device)
    from ember.nn._ops import softmax_raw
    a = _u(4, 6)
    a[1] = -np.inf
    a[2, :3] = -np.inf
    x = ember.tensor(a, device=device).to(getattr(ember, dtype))
    y = host(softmax_raw(x, 1, True).to(ember.float64))
    with ck.unfused():
        yu = host(softmax_raw(x, 1, True).to(ember.float64))
    assert (y[1] == 0).all() and (y[2, :3] == 0).all()
    _close(y, yu, dtype, "masked softmax")
    plain = host(F.softmax(x, 1).to(ember.float64))
    assert np.isnan(plain[1]).all() and not np.isnan(plain[2]).any()


@pytest.mark.parametrize("dtype", GPU_DTYPES)
def test_dropout_draws_the_generic_mask(dtype, device):
    _cuda_only(device)
    dt = getattr(ember, dtype)
    x = ember.tensor(_u(64, 33), device=device).to(dt).requires_grad_()
    g = ember.tensor(_u(64, 33), device=device).to(dt)
    runs = []
    for ctx in (contextlib.nullcontext(), ck.unfused()):
        with ctx:
            ember.manual_seed(5)
            y = F.dropout(x, 0.3)
            (y * g).sum().backward()
        runs.append((host(y.to(ember.float64)), host(x.grad.to(ember.float64))))
        x.grad = None
    (y1, g1), (y2, g2) = runs
    np.testing.assert_array_equal(y1 != 0, y2 != 0)
    assert 0.6 < (y1 != 0).mean() < 0.8
    _close(y1, y2, dtype, "dropout output")
    _close(g1, g2, dtype, "dropout grad")
    if dtype == "float64":
        np.testing.assert_array_equal(y1, y2)


def test_feature_dropout_and_bad_target_fall_back(device):
    _cuda_only(device)
    x = ember.ones(4, 3, 5, 5, device=device, requires_grad=True)
    y = F.dropout2d(x, 0.5)
    y.sum().backward()
    kept = host(y)[:, :, 0, 0] != 0
    assert (host(y).reshape(4, 3, -1) != 0).all(-1).tolist() == kept.tolist()
    np.testing.assert_array_equal(host(x.grad), host(y))
    logits = ember.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(logits, ember.tensor([0, 7, 1], device=device))


def test_fused_adam_matches_unfused(device):
    _cuda_only(device)
    results, init = [], _u(50, 7, scale=1)
    for ctx in (contextlib.nullcontext(), ck.unfused()):
        with ctx:
            p = ember.tensor(init, device=device).float().requires_grad_()
            opt = ember.optim.AdamW([p], lr=0.01, weight_decay=0.1)
            for k in range(5):
                p.grad = ember.tensor(np.full((50, 7), 0.1 * (k + 1)), device=device).float()
                opt.step()
        results.append(host(p.detach()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


# ---- CUDA graphs on the GPU ------------------------------------------------------------
def test_graph_replay_matches_eager(device):
    _real_gpu_only(device)
    x = ember.randn(64, 32, device=device)
    w = ember.randn(32, 16, device=device)

    def work():
        return F.log_softmax(F.gelu(x @ w), -1) * 2 + 1

    work()                                           # warm up: compile and load kernels
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        assert ember.cuda.is_current_stream_capturing()
        out = work()
    assert not ember.cuda.is_current_stream_capturing()
    for _ in range(3):
        x.copy_(ember.randn(64, 32, device=device))
        g.replay()
        np.testing.assert_allclose(host(out), host(work()), rtol=1e-5, atol=1e-6)
    pool = g.pool()
    g2 = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g2, pool=pool):
        out2 = x.sum()
    g2.replay()
    np.testing.assert_allclose(host(out2), host(x).sum(), rtol=1e-5)
    g.reset()
    with pytest.raises(RuntimeError, match="replay"):
        g.replay()


def test_capture_on_default_stream_raises(device):
    _cuda_only(device)
    import cupy
    if cupy.cuda.get_current_stream().ptr != 0:
        pytest.skip("the current stream is not the legacy default stream")
    g = ember.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="non-default stream"):
        g.capture_begin()


def _mlp(device):
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.LayerNorm(32),
                         nn.Linear(32, 4)).to(device)


def _replays_match_eager(g, static, static_loss, model, batches, eager_step, ref):
    """Copy each batch into the static inputs, replay, and compare with an eager step of ref."""
    for batch in batches:
        for dst, src in zip(static, batch):
            dst.copy_(src)
        g.replay()
        loss = eager_step(*batch)
        np.testing.assert_allclose(host(static_loss), host(loss), rtol=1e-5)
        for p, q in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(host(p.detach()), host(q.detach()), rtol=1e-4,
                                       atol=1e-6)


_CAPTURED_OPTIMIZERS = {       # name -> (captured optimizer, eager reference, clip_grad_norm_)
    "sgd_momentum": (lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9),
                     lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9), None),
    # the GPT benchmark's step: capturable AdamW and clipping read nothing back from the GPU
    "adamw_capturable_clipped": (lambda ps: ember.optim.AdamW(ps, lr=1e-2, capturable=True),
                                 lambda ps: ember.optim.AdamW(ps, lr=1e-2), 0.5),
}


@pytest.mark.parametrize("kind", list(_CAPTURED_OPTIMIZERS))
def test_captured_training_step_trains_like_eager(kind, device):
    _real_gpu_only(device)
    make, make_ref, clip = _CAPTURED_OPTIMIZERS[kind]
    model, ref = _mlp(device), _mlp(device)
    opt, ref_opt = make(model.parameters()), make_ref(ref.parameters())
    batches = [(ember.randn(8, 16, device=device), ember.randint(0, 4, (8,), device=device))
               for _ in range(5)]

    def step(m, o, x, y):
        o.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(m.parameters(), clip)
        o.step()
        return loss

    side = ember.cuda.Stream()
    with ember.cuda.stream(side):                   # warm-up step on a side stream
        step(model, opt, *batches[0])
    step(ref, ref_opt, *batches[0])
    static_x, static_y = batches[0][0].clone(), batches[0][1].clone()
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        static_loss = step(model, opt, static_x, static_y)
    _replays_match_eager(g, (static_x, static_y), static_loss, model, batches[1:],
                         lambda x, y: step(ref, ref_opt, x, y), ref)
    first = next(iter(model.parameters()))
    if "step" in opt.state[first]:                  # the step count stayed on the GPU
        assert float(opt.state[first]["step"]) == 5
    before = host(first.detach()).copy()
    g.replay()
    assert not np.allclose(before, host(first.detach()))


@pytest.mark.parametrize("dtype", GPU_DTYPES)
def test_captured_matmuls_match_eager(dtype, device):
    """Matrix products inside a capture run through ember/backends/cuda_blas.py."""
    _real_gpu_only(device)
    dt = getattr(ember, dtype)
    shapes = [((5, 7), (7, 3), False, False), ((7, 5), (3, 7), True, True),
              ((2, 3, 6, 4), (2, 3, 4, 5), False, False), ((4, 6, 7), (7, 2), False, False),
              ((7,), (7, 3), False, False), ((5, 7), (7,), False, False),
              ((7,), (7,), False, False)]
    ins = [(ember.tensor(_u(*a), device=device).to(dt),
            ember.tensor(_u(*b), device=device).to(dt), ta, tb) for a, b, ta, tb in shapes]

    def work():
        return [(x.mT if ta else x) @ (y.mT if tb else y) for x, y, ta, tb in ins]

    eager = [host(r.to(ember.float64)) for r in work()]
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        outs = work()
    for x, y, _, _ in ins:
        x.mul_(0)                                   # replay must read the current inputs
    g.replay()
    for out in outs:
        assert not host(out.to(ember.float64)).any()
    for x, y, _, _ in ins:
        x.copy_(ember.tensor(_u(*x.shape), device=device).to(dt))
    g.replay()
    for out, want, first in zip(outs, work(), eager):
        assert out.shape == first.shape
        _close(host(out.to(ember.float64)), host(want.to(ember.float64)), dtype,
               "captured matmul")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_clip_grad_norm_on_gpu_matches_cpu(dtype, device):
    _cuda_only(device)
    arrays = [_u(*s) for s in [(5, 3), (7,), (2, 3, 4)]]
    runs = []
    for dev in ("cpu", device):
        ps = [ember.tensor(a, device=dev).to(getattr(ember, dtype)).requires_grad_()
              for a in arrays]
        for p in ps:
            p.grad = (p.detach() * 2).clone()
        total = nn.utils.clip_grad_norm_(ps, 1.0)
        runs.append((host(total.to(ember.float64)), [host(p.grad.to(ember.float64)) for p in ps]))
    (t_cpu, g_cpu), (t_gpu, g_gpu) = runs
    _close(t_gpu, t_cpu, dtype, "total norm")
    for a, b in zip(g_gpu, g_cpu):
        _close(a, b, dtype, "clipped gradient")


def _check_graphed_callables(device):
    model, ref = _mlp(device), _mlp(device)
    sample = ember.randn(8, 16, device=device, requires_grad=True)
    graphed = ember.cuda.make_graphed_callables(model, (sample,))
    assert graphed is model
    for k in range(3):
        a = host(ember.randn(8, 16))
        x1 = ember.tensor(a, device=device, requires_grad=True)
        x2 = ember.tensor(a, device=device, requires_grad=True)
        out, want = graphed(x1), ref(x2)
        np.testing.assert_allclose(host(out), host(want), rtol=1e-5, atol=1e-6)
        (out * out).sum().backward()
        (want * want).sum().backward()
        np.testing.assert_allclose(host(x1.grad), host(x2.grad), rtol=1e-5, atol=1e-6)
        for p, q in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-6)
    model.eval()                                     # another mode runs the eager forward
    np.testing.assert_allclose(host(model(x1)), host(ref(x1)), rtol=1e-5, atol=1e-6)
    # two callables sharing one pool, run in capture order: f2(f1(x)), backward through both
    (m1, m2), (r1, r2) = (_mlp(device)[:2], _mlp(device)[2:]), (_mlp(device)[:2],
                                                                 _mlp(device)[2:])
    h = ember.randn(8, 32, device=device, requires_grad=True)
    f1, f2 = ember.cuda.make_graphed_callables((m1, m2), ((sample.detach(),), (h,)))
    for k in range(2):
        a = host(ember.randn(8, 16))
        out, want = f2(f1(ember.tensor(a, device=device))), r2(r1(ember.tensor(a, device=device)))
        np.testing.assert_allclose(host(out), host(want), rtol=1e-5, atol=1e-6)
        out.sum().backward()
        want.sum().backward()
        for p, q in zip(list(m1.parameters()) + list(m2.parameters()),
                        list(r1.parameters()) + list(r2.parameters())):
            np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-6)


def test_make_graphed_callables_matches_eager(device):
    _real_gpu_only(device)
    _check_graphed_callables(device)


# ---- everywhere: ember.cuda.graphs without a GPU, and an emulated graph ----------------------
def test_graphs_without_gpu_raise_the_missing_cuda_error():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    for name in ("CUDAGraph", "graph", "graph_pool_handle", "make_graphed_callables",
                 "is_current_stream_capturing"):
        assert getattr(ember.cuda, name) is getattr(graphs, name)
    assert ember.cuda.is_current_stream_capturing() is False
    for make in (ember.cuda.CUDAGraph, ember.cuda.graph_pool_handle,
                 lambda: ember.cuda.make_graphed_callables(lambda x: x, (ember.ones(2),))):
        with pytest.raises(RuntimeError, match=r"CUDA is not available: .*ember\[cuda12\]"):
            make()


class _EmulatedGraph:
    """A stand-in CUDAGraph: replay re-runs the captured function into the static outputs."""

    def replay(self):
        with ember.enable_grad():                   # a graphed forward runs under no_grad
            outs = self.fn()
        for old, new in zip(self.out, outs):
            if old is not None:
                old.arr[...] = new.arr


def _emulated_capture(g, fn, pool):
    g.fn, g.out = fn, fn()
    return g.out


def test_make_graphed_callables_on_an_emulated_graph(monkeypatch):
    monkeypatch.setattr(graphs, "CUDAGraph", _EmulatedGraph)
    monkeypatch.setattr(graphs, "_capture", _emulated_capture)
    monkeypatch.setattr(graphs, "graph_pool_handle", lambda: None)
    monkeypatch.setattr(graphs, "_warmup_stream", contextlib.nullcontext)
    _check_graphed_callables("cpu")
    fn = graphs.make_graphed_callables(lambda a, b: (a * b, a + 1),
                                       (ember.ones(3, requires_grad=True), ember.ones(3)))
    x, y = ember.tensor([1.0, 2.0, 3.0], requires_grad=True), ember.tensor([4.0, 5.0, 6.0])
    p, s = fn(x, y)
    np.testing.assert_allclose(host(p), [4, 10, 18])
    (p.sum() + s.sum() * 2).backward()
    np.testing.assert_allclose(host(x.grad), [6, 7, 8])
    with pytest.raises(TypeError, match="tuple of Tensors"):
        graphs.make_graphed_callables(lambda a: a, ([1.0],))


# ---- everywhere: the fused wrappers' launches and layouts, with NumPy stand-in kernels -------
_SIG = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')
_LAUNCHED = []
_BLOCK_KERNELS = {"softmax_rows", "softmax_grad_rows", "layer_norm_fwd", "layer_norm_grad_x",
                  "cross_entropy_fwd"}


class _FakeModule:
    """A RawModule stand-in whose functions check each launch against the CUDA signature."""

    def __init__(self, family, dtype_name):
        self.dtype = BF16 if dtype_name == "bfloat16" else np.dtype(dtype_name)
        self.acc = np.float64 if dtype_name == "float64" else np.float32
        src = ck.raw_source(family, dtype_name)
        self.sigs = {m.group(1): [p.strip() for p in m.group(2).split(",")]
                     for m in _SIG.finditer(src)}

    def get_function(self, name):
        params = self.sigs[name]

        def launch(grid, block, args):
            _LAUNCHED.append(name)
            assert len(grid) in (1, 2) and all(isinstance(g, int) and g > 0 for g in grid)
            assert grid[0] < 2 ** 31 and (len(grid) == 1 or grid[1] < 65536)
            assert len(block) == 1 and 0 < block[0] <= 1024
            if name in _BLOCK_KERNELS:
                assert block[0] % 32 == 0, (name, block)
            assert len(args) == len(params), (name, len(args), params)
            for p, a in zip(params, args):
                ctype = " ".join(p.replace("const ", "").split()[:-1])
                if ctype.endswith("*"):
                    want = {"T": self.dtype, "A": self.acc, "long long": np.int64,
                            "bool": np.bool_, "int": np.int32}[ctype[:-1].strip()]
                    assert isinstance(a, np.ndarray) and a.dtype == want, (name, p, a.dtype)
                    assert a.flags.c_contiguous, (name, p)
                else:
                    want = {"long long": np.int64, "int": np.int32, "A": self.acc}[ctype]
                    assert type(a) is want, (name, p, type(a))
        return launch


def _fake_elementwise(name):
    in_params, out_params, _, _ = ck._pointwise_specs()[name]
    ins = [p.split() for p in in_params.split(",")]
    outs = [p.split()[0] for p in out_params.split(",")]

    def call(*args):
        _LAUNCHED.append(name)
        assert len(args) == len(ins), name
        typed = {}
        for (ctype, pname), a in zip(ins, args):
            if len(ctype) == 1:
                assert isinstance(a, np.ndarray), (name, pname)
                assert typed.setdefault(ctype, a.dtype) == a.dtype, (name, pname)
            elif isinstance(a, np.ndarray):             # a typed array ("bool keep")
                assert a.dtype == np.dtype(ctype), (name, pname, a.dtype)
            else:                                       # a typed scalar ("float64 p")
                assert isinstance(a, (int, float, np.floating)), (name, pname)
        shape = np.broadcast_shapes(*[a.shape for a in args if isinstance(a, np.ndarray)])
        res = tuple(np.zeros(shape, typed["T"] if t == "T" else np.bool_) for t in outs)
        return res if len(res) > 1 else res[0]
    return call


@pytest.fixture
def fake_kernels(monkeypatch):
    monkeypatch.setattr(ck, "_raw", _FakeModule)
    monkeypatch.setattr(ck, "_k", _fake_elementwise)
    import ember.nn  # noqa: F401
    for name in ck._overrides():
        monkeypatch.setitem(ck._GENERIC, name, OPS[name].impl[0])


def _same_layout(a, b, where):
    if hasattr(a, "dtype") or hasattr(b, "dtype"):
        # NumPy's bfloat16 arithmetic promotes to float64 where CuPy's stays bfloat16, and the
        # generic norms keep float16/bfloat16 statistics in float32 (torch's CPU kernels do;
        # the fused backward hands such mixed-dtype arrays back to the generic one)
        bf16_promoted = a.dtype == BF16 and b.dtype.kind == "f" and b.dtype.itemsize >= 4
        half_in_float = a.dtype.itemsize == 2 and b.dtype == np.float32
        assert np.shape(a) == np.shape(b) and (a.dtype == b.dtype or bf16_promoted or
                                               half_in_float), where
        assert type(a) is type(b), where
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_layout(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


_GENERIC_FORWARD = {("dropout", (4, 3, 2)), ("cross_entropy", (3, 6, 2))}  # not fused


@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # the stand-ins leave arrays unset
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16", "complex64"])
def test_fused_wrappers_launch_and_keep_the_generic_layout(dtype, fake_kernels):
    """Each fused fwd/bwd against the generic one on NumPy, with the kernels replaced by
    stand-ins that assert the launch matches the CUDA signature: same output and `saved`
    layout, same gradient layout (values are not computed here; the GPU tests check them)."""
    if dtype == "bfloat16" and BF16 is None:
        pytest.skip("needs ml_dtypes")
    dt = BF16 if dtype == "bfloat16" else np.dtype(dtype)
    fused = dict(ck._overrides())
    for name, args in fused_cases(dt, np.random.default_rng(0),
                                  ArrayRNG(np.random.default_rng(0), np)):
        if dtype == "complex64" and name in ("cross_entropy", "native_layer_norm", "dropout"):
            continue
        o = OPS[name]
        g_fwd, g_bwd = o.impl[0]
        f_fwd, f_bwd = fused[name]
        f_fwd, f_bwd = f_fwd or g_fwd, f_bwd or g_bwd
        where = f"{name}{tuple(getattr(a, 'shape', a) for a in args)}"
        with np.errstate(all="ignore"):
            try:
                g_out, g_saved = g_fwd(np, *args)
            except Exception as e:                  # the fused path raises the same
                with pytest.raises(type(e)):
                    f_fwd(np, *args)
                continue
            del _LAUNCHED[:]
            f_out, f_saved = f_fwd(np, *args)
        fused_here = dtype != "complex64" and (name, args[0].shape) not in _GENERIC_FORWARD
        assert bool(_LAUNCHED) == (fused_here and name != "tanh"), (where, _LAUNCHED)
        _same_layout(f_out, g_out, where + " output")
        # (the generic forward on NumPy appends cross_entropy's flag of log-probabilities)
        _same_layout(f_saved, g_saved[:len(f_saved)] if name == "cross_entropy" else g_saved,
                     where + " saved")
        gy, fy = np.ones_like(g_out), np.ones_like(f_out)
        extra = ((True, True, True),) if o.needs_mask else ()
        with np.errstate(all="ignore"):
            g_grads = g_bwd(np, gy, *g_saved, *extra)
            del _LAUNCHED[:]
            f_grads = f_bwd(np, fy, *f_saved, *extra)
            assert bool(_LAUNCHED) == (dtype != "complex64" and name != "cross_entropy"
                                       or fused_here), (where, "backward", _LAUNCHED)
            mixed = f_bwd(np, fy, *g_saved, *extra)      # a fused backward of a generic forward
        _same_layout(f_grads, g_grads, where + " grads")
        _same_layout(mixed, g_grads, where + " grads after a generic forward")
        if o.needs_mask:
            _same_layout(f_bwd(np, fy, *f_saved, (False, True, False)),
                         g_bwd(np, gy, *g_saved, (False, True, False)), where + " masked")
