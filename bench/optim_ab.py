"""Optimizer steps of two ember trees and torch, interleaved in one run: for before/after
comparisons on a shared machine. Each library runs in its own worker process on the
784-1024-1024-10 MLP's parameters (bench_optim.py's); the driver asks them in turn for a few
steps of each configuration, round after round, and prints the medians of CPU (process) time
and wall time per step.

Usage: python bench/optim_ab.py BASE_TREE [--threads N] [--rounds R] [--steps S]
BASE_TREE: a directory holding another version's `ember` package (e.g. made with
`git archive main ember | tar -x -C /tmp/base`); --threads: ember's and torch's
set_num_threads (0: their defaults)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = {
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3, weight_decay=1e-2)),
    "SGD nesterov": ("SGD", dict(lr=1e-2, momentum=0.9, nesterov=True)),
    "SGD momentum": ("SGD", dict(lr=1e-2, momentum=0.9)),
    "SGD": ("SGD", dict(lr=1e-2)),
    "RMSprop": ("RMSprop", dict(lr=1e-3)),
}


def worker(tree, lib_name, threads):
    sys.path.insert(0, tree)
    sys.path.insert(0, HERE)
    import numpy as np
    if lib_name == "torch":
        import torch as lib
    else:
        import ember as lib
        import ember.optim  # noqa: F401
    if threads:
        lib.set_num_threads(threads)
    import bench_optim
    values, grads = bench_optim._arrays()
    opts = {}
    for key, (name, kw) in CONFIGS.items():
        params = [lib.tensor(np.copy(v), requires_grad=True) for v in values]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        opts[key] = getattr(lib.optim, name)(params, **kw)
        for _ in range(3):
            opts[key].step()
    print(lib.__file__, flush=True)
    for line in sys.stdin:
        key, n = line.rsplit(" ", 1)
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(int(n)):
            opts[key].step()
        c1, w1 = time.process_time(), time.perf_counter()
        print(json.dumps([(c1 - c0) / int(n), (w1 - w0) / int(n)]), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args()
    trees = {"base": (os.path.abspath(args.base), "ember"),
             "new": (os.path.dirname(HERE), "ember"), "torch": (os.path.dirname(HERE), "torch")}
    procs = {k: subprocess.Popen([sys.executable, __file__, "--worker", tree, lib,
                                  str(args.threads)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
             for k, (tree, lib) in trees.items()}
    for k, p in procs.items():
        print(f"{k}: {p.stdout.readline().strip()}")
    times = {(k, c): [] for k in procs for c in CONFIGS}
    for r in range(args.rounds):
        for c in CONFIGS:
            for k in (list(procs) if r % 2 == 0 else list(procs)[::-1]):
                procs[k].stdin.write(f"{c} {args.steps}\n")
                procs[k].stdin.flush()
                times[k, c].append(json.loads(procs[k].stdout.readline()))
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(f"threads: {args.threads or 'default'}; ms per step, medians of {args.rounds} rounds "
          f"of {args.steps} steps: CPU time / wall time")
    for c in CONFIGS:
        med = {k: [statistics.median(t[j] for t in times[k, c]) * 1e3 for j in (0, 1)]
               for k in procs}
        cells = "  ".join(f"{k} {med[k][0]:6.2f} / {med[k][1]:6.2f}" for k in procs)
        print(f"{c:<13} {cells}   CPU torch/base {med['torch'][0] / med['base'][0]:.2f}x, "
              f"torch/new {med['torch'][0] / med['new'][0]:.2f}x")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
