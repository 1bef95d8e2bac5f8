"""Per-op overhead (a chain of 100 small ops, forward+backward and under no_grad), the per-call
time of common indexing and view ops, factories and reductions on small tensors, and a
1024x1024 float32 matmul forward+backward: ember against torch in the same run.
`-k TEXT` (repeatable) times only the rows whose name contains one of the texts."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402

N_OPS = 100


def chain(lib, x):
    y = x
    for i in range(N_OPS // 4):
        y = lib.tanh(y * 0.5 + 0.1) - y * 0.01    # 4 ops each round (mul, add, tanh, mul, sub)
    return y


def chain_ops(lib, x):
    """Exactly N_OPS recorded ops."""
    y = x
    for _ in range(N_OPS // 2):
        y = (y * 0.9).tanh()
    return y


def bench_lib(lib, keep=None):
    """Seconds per call of each row (those whose name `keep` accepts, when given)."""
    x = lib.tensor(np.random.default_rng(0).standard_normal(16).astype(np.float32),
                   requires_grad=True)

    def fwd_bwd():
        x.grad = None
        chain_ops(lib, x).sum().backward()

    def no_grad():
        with lib.no_grad():
            chain_ops(lib, x)

    a = lib.tensor(np.random.default_rng(1).standard_normal((1024, 1024)).astype(np.float32),
                   requires_grad=True)
    b = lib.tensor(np.random.default_rng(2).standard_normal((1024, 1024)).astype(np.float32),
                   requires_grad=True)

    def matmul():
        a.grad = b.grad = None
        (a @ b).sum().backward()

    rows = {        # name -> (fn, calls of the op per fn call, median_time's arguments)
        "per-op fwd+bwd (100 ops, 16 elem)": (fwd_bwd, N_OPS, {}),
        "per-op no_grad (100 ops, 16 elem)": (no_grad, N_OPS, {}),
        **{k: (f, 1, {}) for k, f in view_ops(lib).items()},
        **{k: (f, 1, {}) for k, f in factory_ops(lib).items()},
        "matmul 1024x1024 f32 fwd+bwd": (matmul, 1, {"repeat": 5, "number": 3}),
    }
    return {k: median_time(f, **kw) / per for k, (f, per, kw) in rows.items()
            if keep is None or keep(k)}


def view_ops(lib):
    """Indexing, view and index-put ops on a 3x4 float32 tensor (one that requires grad in the
    rows marked (grad)), by row name."""
    x = lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    xg = lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    mask = x > 5
    idx = lib.tensor([0, 2])
    s = lib.tensor(3.5)

    def put_slice():
        x[1:3] = 0

    def put_mask():
        x[mask] = 0

    def put_grad():
        y = xg.clone()
        y[1:3] = 0

    ops = {
        "x[0]": lambda: x[0],
        "x[1:3]": lambda: x[1:3],
        "x[:, 0]": lambda: x[:, 0],
        "x[None]": lambda: x[None],
        "x[mask]": lambda: x[mask],
        "x[idx]": lambda: x[idx],
        "x[0] (grad)": lambda: xg[0],
        "x[idx] (grad)": lambda: xg[idx],
        "x.view(4, 3)": lambda: x.view(4, 3),
        "x.reshape(-1)": lambda: x.reshape(-1),
        "x.permute(1, 0)": lambda: x.permute(1, 0),
        "x.t()": lambda: x.t(),
        "x.transpose(0, 1)": lambda: x.transpose(0, 1),
        "x.select(1, 2)": lambda: x.select(1, 2),
        "x.narrow(1, 1, 2)": lambda: x.narrow(1, 1, 2),
        "x[:, 1:3]": lambda: x[:, 1:3],
        "x.unsqueeze(0)": lambda: x.unsqueeze(0),
        "x.expand(2, 3, 4)": lambda: x.expand(2, 3, 4),
        "x.unbind(0)": lambda: x.unbind(0),
        "x.chunk(2, 1) (grad)": lambda: xg.chunk(2, 1),
        "x.split(2, 1) (grad)": lambda: xg.split(2, 1),
        "x.unbind(0) (grad)": lambda: xg.unbind(0),
        "x[1:3] = 0": put_slice,
        "x[mask] = 0": put_mask,
        "y = x.clone(); y[1:3] = 0 (grad)": put_grad,
        "s.item()": lambda: s.item(),
    }
    return {f"index/view {k}": f for k, f in ops.items()}


def factory_ops(lib):
    """Tensor factories and reductions users call on small data, by row name."""
    x = lib.tensor(np.random.default_rng(3).standard_normal((32, 64)).astype(np.float32))
    ops = {
        "tensor([[1., 2.], [3., 4.]])": lambda: lib.tensor([[1., 2.], [3., 4.]]),
        "tensor(list of 1000 ints)": (lambda v: lambda: lib.tensor(v))(list(range(1000))),
        "full((8,), 3.0)": lambda: lib.full((8,), 3.0),
        "zeros_like(x)": lambda: lib.zeros_like(x),
        "arange(64)": lambda: lib.arange(64),
        "randn(8)": lambda: lib.randn(8),
        "randn(64, 32)": lambda: lib.randn(64, 32),
        "cat([x, x])": lambda: lib.cat([x, x]),
        "x.sum() (32x64)": lambda: x.sum(),
        "x.mean() (32x64)": lambda: x.mean(),
        "x.softmax(1) (32x64)": lambda: x.softmax(1),
        "x.log_softmax(1) (32x64)": lambda: x.log_softmax(1),
        "x.sum(1) (32x64)": lambda: x.sum(1),
        "x.std(1) (32x64)": lambda: x.std(1),
        "x[0].sort() (64)": lambda: x[0].sort(),
        "x.sort(1) (32x64)": lambda: x.sort(1),
        "x.topk(5, 1) (32x64)": lambda: x.topk(5, 1),
    }
    return {f"factory/reduce {k}": f for k, f in ops.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", action="append", metavar="TEXT",
                        help="time only the rows whose name contains TEXT (repeatable; e.g. "
                             "-k index/view -k matmul)")
    args = parser.parse_args(argv)
    keep = None if not args.select else (lambda name: any(s in name for s in args.select))
    e = bench_lib(ember, keep)
    t = None
    if have_torch():
        import torch
        torch.set_num_threads(os.cpu_count())
        t = bench_lib(torch, keep)
    print(HEADER)
    for k, v in e.items():
        unit, scale = ("ms", 1e3) if "matmul" in k else ("us", 1e6)
        print(row(k, v, None if t is None else t[k], unit, scale))
    return e, t


if __name__ == "__main__":
    main()
