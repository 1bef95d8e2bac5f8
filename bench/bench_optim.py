"""One optimizer step over the 784-1024-1024-10 MLP's parameters (~1.9M float32 values):
ember against torch in the same run, same parameters and gradients. Ratio > 1: ember faster.

Usage: python bench/bench_optim.py [--device cuda] [--steps N] [--torch-threads N]
(torch uses every core by default; NumPy's elementwise kernels use one)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import ember.optim  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402
from models import mlp  # noqa: E402

CONFIGS = [
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3, weight_decay=1e-2)),
    ("SGD", dict(lr=1e-2, momentum=0.9, nesterov=True)),
    ("RMSprop", dict(lr=1e-3)),
]


def _arrays():
    """The MLP's parameter shapes, with fixed random values and gradients."""
    rng = np.random.default_rng(0)
    shapes = [tuple(p.shape) for p in mlp(ember).parameters()]
    values = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in shapes]
    grads = [(rng.standard_normal(s) * 1e-2).astype(np.float32) for s in shapes]
    return values, grads


def bench_lib(lib, device, steps):
    values, grads = _arrays()
    params = [lib.tensor(v, device=device, requires_grad=True) for v in values]
    for p, g in zip(params, grads):
        p.grad = lib.tensor(g, device=device)
    sync = _sync(lib, device)
    out = {}
    for name, kw in CONFIGS:
        opt = getattr(lib.optim, name)(params, **kw)
        for _ in range(3):                      # state allocated, caches warm
            opt.step()

        def step():
            opt.step()
            sync()
        out[f"{name} step, MLP params ({sum(v.size for v in values) / 1e6:.2f}M f32)"] = \
            median_time(step, repeat=steps)
    return out


def _sync(lib, device):
    if device.startswith("cuda") and lib is ember:
        import cupy
        return cupy.cuda.Device().synchronize
    if device.startswith("cuda"):
        return lib.cuda.synchronize
    return lambda: None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--torch-threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    e = bench_lib(ember, args.device, args.steps)
    t = None
    if have_torch():
        import torch
        if args.device == "cpu" or torch.cuda.is_available():
            torch.set_num_threads(args.torch_threads)
            t = bench_lib(torch, args.device, args.steps)
    print(f"device: {args.device}; torch {'on the same device, ' if t else 'not available'}"
          f"{f'{args.torch_threads} CPU threads' if t else ''}")
    print(HEADER)
    for k, v in e.items():
        print(row(k, v, None if t is None else t[k], "ms", 1e3))
    return e, t


if __name__ == "__main__":
    main()
