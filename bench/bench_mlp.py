"""Training step of a 784-1024-1024-10 ReLU MLP (batch 256, cross entropy), SGD and Adam:
ember against torch in the same run (median ms per step; ratio = torch time / ember time, so
0.80x means ember runs at 80 % of torch's steps/s).

    python bench/bench_mlp.py                 # CPU
    python bench/bench_mlp.py --device cuda   # both libraries on the GPU"""
import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import ember.nn  # noqa: E402,F401
from _common import HEADER, have_torch, median_time, row  # noqa: E402

BATCH, SIZES = 256, (784, 1024, 1024, 10)


def make_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
                         nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                         nn.Linear(SIZES[2], SIZES[3]))


def make_step(lib, optimizer_name, state_dict=None, device="cpu"):
    model = make_model(lib)
    if state_dict is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state_dict.items()})
    model.to(device)
    if optimizer_name == "SGD":
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((BATCH, SIZES[0])).astype(np.float32), device=device)
    y = lib.tensor(rng.integers(0, SIZES[-1], BATCH), device=device)
    loss_fn = lib.nn.CrossEntropyLoss()
    sync = lib.cuda.synchronize if device != "cpu" else (lambda: None)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    device = parser.parse_args(argv).device
    print(HEADER)
    weights = {k: v.numpy().copy() for k, v in make_model(ember).state_dict().items()}
    torch = None
    if have_torch():
        import torch
    try:
        importlib.import_module("ember.optim")
    except ImportError:
        pass
    for name in ("SGD", "Adam"):
        if not hasattr(getattr(ember, "optim", None), name):
            print(f"mlp {name}: ember.optim.{name} missing, skipped")
            continue
        e = median_time(make_step(ember, name, weights, device), repeat=9, number=5)
        t = median_time(make_step(torch, name, weights, device), repeat=9, number=5) \
            if torch else None
        label = f"mlp 784-1024-1024-10 b{BATCH} {name} step" + \
            ("" if device == "cpu" else f" ({device})")
        print(row(label, e, t, unit="ms", scale=1e3))


if __name__ == "__main__":
    main()
