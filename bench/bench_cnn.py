"""Training step of the small CNN of issue 3 (conv 1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3,
ReLU, maxpool 2, Linear 1600->128, ReLU, Linear 128->10; batch 64 of 1x28x28; cross entropy;
SGD lr 0.01 momentum 0.9): ember against torch in the same run, same initial weights.

Prints median ms per step (ratio = torch time / ember time: 0.50x means ember runs at half of
torch's steps/s), then the forward/backward split of one ember step with `--profile`."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import ember.nn  # noqa: E402,F401
import models  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402

BATCH = 64


def make_step(lib, weights):
    model = models.cnn(lib)
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, BATCH))
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def check_same_losses(weights, torch, steps=3):
    """Both libraries start from the same weights: their first losses must agree."""
    se, st = make_step(ember, weights), make_step(torch, weights)
    for _ in range(steps):
        le, lt = se().item(), st().item()
        if abs(le - lt) > 1e-4 * max(1.0, abs(lt)):
            raise SystemExit(f"cnn: ember loss {le} differs from torch loss {lt}")


def profile(weights):
    model = models.cnn(ember)
    model.load_state_dict({k: ember.tensor(v) for k, v in weights.items()})
    x = ember.randn(BATCH, 1, 28, 28)
    y = ember.randint(0, 10, (BATCH,))
    loss_fn = ember.nn.CrossEntropyLoss()
    fwd, bwd = [], []
    for _ in range(20):
        t0 = time.perf_counter()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        fwd.append(t1 - t0)
        bwd.append(time.perf_counter() - t1)
    print(f"ember forward {np.median(fwd) * 1e3:.2f} ms, backward {np.median(bwd) * 1e3:.2f} ms")


def main():
    print(HEADER)
    weights = {k: v.numpy().copy() for k, v in models.cnn(ember).state_dict().items()}
    torch = None
    if have_torch():
        import torch
        check_same_losses(weights, torch)
    e = median_time(make_step(ember, weights), repeat=9, number=5)
    t = median_time(make_step(torch, weights), repeat=9, number=5) if torch else None
    print(row(f"cnn mnist-like b{BATCH} SGD-momentum step", e, t, unit="ms", scale=1e3))
    if "--profile" in sys.argv:
        profile(weights)


if __name__ == "__main__":
    main()
