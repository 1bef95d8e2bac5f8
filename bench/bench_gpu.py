"""GPU benchmarks, ember (CuPy) against torch on the same GPU in the same run: per-op launch
overhead, float32/float16 matmul TFLOP/s, and MLP, CNN and GPT training steps.
Prints a compact table last. Needs CuPy, torch with CUDA, and a GPU.
`--profile [mlp|cnn|gpt]` prints a cProfile of ember's training step instead, `--kernels [name]`
the GPU time per kernel of ember's and torch's step, `--overhead` the cost of one tiny op in
CuPy, ember and torch."""
import os
import statistics
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import models  # noqa: E402


def sync(lib):
    lib.cuda.synchronize()


def timed(lib, fn, steps, warmup=3):
    for _ in range(warmup):
        fn()
    sync(lib)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        sync(lib)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_op(lib, grad):
    x = lib.randn(16, device="cuda", requires_grad=grad)

    def run():
        y = x
        for _ in range(50):
            y = (y * 0.9).tanh()
        if grad:
            y.sum().backward()
    if grad:
        return timed(lib, run, 20) / 100
    with lib.no_grad():
        return timed(lib, run, 20) / 100


def matmul_tflops(lib, dtype, n=8192):
    d = getattr(lib, dtype)
    a = lib.randn(n, n, device="cuda").to(d)
    b = lib.randn(n, n, device="cuda").to(d)
    with lib.no_grad():
        t = timed(lib, lambda: a @ b, 10)
    return 2 * n ** 3 / t / 1e12


def make_step(lib, name, capturable=False):
    """(step function, model) of one training step of benchmark model `name` on the GPU."""
    lib.manual_seed(0)
    rng = np.random.default_rng(0)
    F = lib.nn.functional
    if name == "mlp":
        model = models.mlp(lib).cuda()
        opt = lib.optim.Adam(model.parameters(), lr=1e-3, capturable=capturable)
        x = lib.tensor(rng.standard_normal((4096, 784), dtype=np.float32), device="cuda")
        y = lib.tensor(rng.integers(0, 10, 4096), device="cuda")
        loss_fn = F.cross_entropy
    elif name == "cnn":
        model = models.cnn(lib).cuda()
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = lib.tensor(rng.standard_normal((512, 1, 28, 28), dtype=np.float32), device="cuda")
        y = lib.tensor(rng.integers(0, 10, 512), device="cuda")
        loss_fn = F.cross_entropy
    else:
        model = models.gpt(lib, width=384, layers=6, heads=6, context=256).cuda()
        opt = lib.optim.AdamW(model.parameters(), lr=3e-4, capturable=capturable)
        x = lib.tensor(rng.integers(0, 65, (64, 256)), device="cuda")
        y = lib.tensor(rng.integers(0, 65, (64, 256)), device="cuda")

        def loss_fn(logits, target):
            return F.cross_entropy(logits.view(-1, 65), target.view(-1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        if name == "gpt":
            lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    return step


def train_step_time(lib, name, steps):
    return timed(lib, make_step(lib, name), steps)


def graphed_step_time(lib, name, steps):
    """The whole training step captured once as a CUDA graph and replayed (torch's recipe:
    warm up on a side stream, capture with the gradients set to None, replay)."""
    step = make_step(lib, name, capturable=True)
    side = lib.cuda.Stream()
    side.wait_stream(lib.cuda.current_stream())
    with lib.cuda.stream(side):
        for _ in range(3):
            step()
    lib.cuda.current_stream().wait_stream(side)
    g = lib.cuda.CUDAGraph()
    with lib.cuda.graph(g):
        step()
    return timed(lib, g.replay, steps)


def profile(name, steps=5):
    """cProfile of ember's training step `name`: where the host time goes."""
    import cProfile
    import pstats
    step = make_step(ember, name)
    for _ in range(3):
        step()
    sync(ember)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    sync(ember)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


def overhead():
    """Where a tiny op's time goes on the GPU: raw CuPy calls against ember's and torch's ops
    (microseconds per call, medians, 16-element float32 arrays), then a cProfile of ember's
    per-op loop."""
    import cProfile
    import pstats

    import cupy as cp
    import torch
    a = cp.ones(16, cp.float32)
    k = cp.ElementwiseKernel("T x", "T y", "y = tanh(x)", "ember_bench_tanh")
    raw = cp.RawKernel(r'''extern "C" __global__ void t(const float* x, float* y, long long n)
        { long long i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = tanhf(x[i]); }''',
                       "t")
    out = cp.empty_like(a)
    e = ember.ones(16, device="cuda")
    t = torch.ones(16, device="cuda")
    m = cp.ones((64, 64), cp.float32)
    em, tm = ember.ones(64, 64, device="cuda"), torch.ones(64, 64, device="cuda")
    from ember.backends.cuda_blas import capture_matmul

    def per_call(fn, n=2000):
        for _ in range(50):
            fn()
        cp.cuda.Device().synchronize()
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            cp.cuda.Device().synchronize()
            times.append((time.perf_counter() - t0) / n * 1e6)
        return statistics.median(times)
    cases = [("cupy.empty_like", lambda: cp.empty_like(a)),
             ("cupy a * 0.9", lambda: a * 0.9),
             ("cupy a * np.float32(0.9)", lambda: a * np.float32(0.9)),
             ("cupy.tanh(a)", lambda: cp.tanh(a)),
             ("cupy.tanh(a, out=)", lambda: cp.tanh(a, out=out)),
             ("ElementwiseKernel tanh", lambda: k(a)),
             ("ElementwiseKernel tanh, out=", lambda: k(a, out)),
             ("RawKernel tanh, out=", lambda: raw((1,), (128,), (a, out, np.int64(16)))),
             ("ember e * 0.9", lambda: e * 0.9),
             ("ember e.tanh()", lambda: e.tanh()),
             ("ember e + e", lambda: e + e),
             ("cupy.matmul 64x64", lambda: cp.matmul(m, m)),
             ("cuda_blas.capture_matmul 64x64", lambda: capture_matmul(cp, m, m)),
             ("cupy m.sum()", lambda: m.sum()),
             ("cupy m.sum(0)", lambda: m.sum(0)),
             ("ember em @ em", lambda: em @ em),
             ("torch tm @ tm", lambda: tm @ tm),
             ("torch tm.sum(0)", lambda: tm.sum(0)),
             ("torch t * 0.9", lambda: t * 0.9),
             ("torch t.tanh()", lambda: t.tanh()),
             ("torch t + t", lambda: t + t)]
    with ember.no_grad(), torch.no_grad():
        for name, fn in cases:
            print(f"{name:<32} {per_call(fn):8.2f} us", flush=True)
    prof = cProfile.Profile()
    prof.enable()
    per_op(ember, True)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def kernels(name, steps=3):
    """GPU time per kernel of `steps` training steps of `name`, ember's and torch's, from
    torch's profiler (CUPTI sees CuPy's launches too): where the GPU time goes."""
    import torch
    from torch.profiler import ProfilerActivity, profile as torch_profile
    for lib in (ember, torch):
        step = make_step(lib, name)
        for _ in range(3):
            step()
        sync(lib)
        with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                step()
            sync(lib)
        print(f"---- {lib.__name__}: {name} step, {steps} steps", flush=True)
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25,
                                        max_name_column_width=60), flush=True)


def main():
    import torch
    from ember.backends.cuda_kernels import unfused
    rows = []

    def add(name, fe, ft, unit, higher_better):
        ratio = fe / ft if higher_better else ft / fe
        rows.append(f"{name:<34} {fe:>12.3f} {ft:>12.3f} {unit:<7} {ratio:>6.2f}x")
        print(rows[-1], flush=True)

    def attempt(label, fn):
        try:
            return fn()
        except Exception as e:      # report and go on: the table shows what ran
            print(f"{label}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=-6)

    for grad in (False, True):
        add(f"per-op {'fwd+bwd' if grad else 'no_grad'} (us/op)", per_op(ember, grad) * 1e6,
            per_op(torch, grad) * 1e6, "us", False)
    for dt in ("float32", "float16", "bfloat16"):
        add(f"matmul 8192 {dt} (TFLOP/s)", matmul_tflops(ember, dt), matmul_tflops(torch, dt),
            "TFLOP/s", True)
    for name, steps in (("mlp", 20), ("cnn", 20), ("gpt", 10)):
        te = attempt(f"{name}: ember", lambda: train_step_time(ember, name, steps))
        if te is None:
            continue
        tt = train_step_time(torch, name, steps)
        add(f"{name} train step (ms)", te * 1e3, tt * 1e3, "ms", False)
        if name != "cnn":
            with unfused():
                tu = attempt(f"{name}: ember unfused", lambda: train_step_time(ember, name, steps))
            if tu is not None:
                add(f"{name} step, ember unfused (ms)", tu * 1e3, tt * 1e3, "ms", False)
            tg = attempt(f"{name}: ember graph", lambda: graphed_step_time(ember, name, steps))
            if tg is not None:
                add(f"{name} step, ember CUDA graph (ms)", tg * 1e3, tt * 1e3, "ms", False)
                tgt = attempt(f"{name}: torch graph", lambda: graphed_step_time(torch, name, steps))
                if tgt is not None:
                    add(f"{name} step, both CUDA graph (ms)", tg * 1e3, tgt * 1e3, "ms", False)
    print("\n" + f"{'GPU benchmark':<34} {'ember':>12} {'torch':>12} {'unit':<7} {'vs torch':>7}")
    print("\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--kernels"]:
        kernels(sys.argv[2] if len(sys.argv) > 2 else "gpt")
    elif sys.argv[1:2] == ["--overhead"]:
        overhead()
    elif sys.argv[1:2] == ["--profile"]:
        profile(sys.argv[2] if len(sys.argv) > 2 else "gpt")
    else:
        main()
