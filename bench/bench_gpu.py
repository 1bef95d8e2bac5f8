"""GPU benchmarks, ember (CuPy) against torch on the same GPU in the same run: per-op launch
overhead, float32/float16 matmul TFLOP/s, and MLP, CNN and GPT training steps.
Prints a compact table last. Needs CuPy, torch with CUDA, and a GPU."""
import os
import statistics
import sys
import time

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


def train_step_time(lib, name, steps):
    lib.manual_seed(0)
    rng = np.random.default_rng(0)
    if name == "mlp":
        model = models.mlp(lib).cuda()
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
        x = lib.tensor(rng.standard_normal((4096, 784), dtype=np.float32), device="cuda")
        y = lib.tensor(rng.integers(0, 10, 4096), device="cuda")
        loss_fn = lib.nn.functional.cross_entropy
    elif name == "cnn":
        model = models.cnn(lib).cuda()
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = lib.tensor(rng.standard_normal((512, 1, 28, 28), dtype=np.float32), device="cuda")
        y = lib.tensor(rng.integers(0, 10, 512), device="cuda")
        loss_fn = lib.nn.functional.cross_entropy
    else:
        model = models.gpt(lib, width=384, layers=6, heads=6, context=256).cuda()
        opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
        x = lib.tensor(rng.integers(0, 65, (64, 256)), device="cuda")
        y = lib.tensor(rng.integers(0, 65, (64, 256)), device="cuda")

        def loss_fn(logits, target):
            return lib.nn.functional.cross_entropy(logits.view(-1, 65), target.view(-1))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if name == "gpt":
            lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return timed(lib, step, steps)


def main():
    import torch
    rows = []

    def add(name, fe, ft, unit, higher_better):
        ratio = fe / ft if higher_better else ft / fe
        rows.append(f"{name:<34} {fe:>12.3f} {ft:>12.3f} {unit:<7} {ratio:>6.2f}x")
        print(rows[-1], flush=True)

    for grad in (False, True):
        add(f"per-op {'fwd+bwd' if grad else 'no_grad'} (us/op)", per_op(ember, grad) * 1e6,
            per_op(torch, grad) * 1e6, "us", False)
    for dt in ("float32", "float16"):
        add(f"matmul 8192 {dt} (TFLOP/s)", matmul_tflops(ember, dt), matmul_tflops(torch, dt),
            "TFLOP/s", True)
    for name, steps in (("mlp", 20), ("cnn", 20), ("gpt", 10)):
        try:
            te = train_step_time(ember, name, steps)
        except Exception as e:      # report and go on: the table shows what ran
            print(f"{name}: ember failed: {type(e).__name__}: {e}", flush=True)
            continue
        add(f"{name} train step (ms)", te * 1e3, train_step_time(torch, name, steps) * 1e3,
            "ms", False)
    print("\n" + f"{'GPU benchmark':<34} {'ember':>12} {'torch':>12} {'unit':<7} {'vs torch':>7}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
