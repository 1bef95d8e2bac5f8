"""Activation memory of a training step: what the graph keeps alive between forward and
backward, and the peaks of forward and backward.

For ember, tracemalloc traces NumPy's allocations: `held` is the traced memory after the
forward (the loss and its graph alive) less the memory before it; `fwd peak` / `bwd peak` are
the peaks above that baseline during forward / backward. For both libraries `saved` is the sum
of the distinct storages that saved_tensors_hooks is handed (what the graph saves for
backward, by the library's own account), inputs and parameters included.

    python bench/bench_memory.py            # ember and torch (torch: saved bytes only)
"""
import gc
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import models  # noqa: E402

MiB = 1 << 20


def mlp6(lib, width=1024, depth=6, p=0.1):
    nn = lib.nn
    layers = []
    for i in range(depth):
        layers.append(nn.Linear(width, width if i < depth - 1 else 10))
        if i < depth - 1:
            layers += [nn.ReLU(), nn.Dropout(p)]
    return nn.Sequential(*layers)


def cases(lib):
    rng = np.random.default_rng(0)
    yield ("mlp 6x1024 relu+dropout b256", mlp6(lib),
           lib.tensor(rng.standard_normal((256, 1024)).astype(np.float32)),
           lib.tensor(rng.integers(0, 10, 256)))
    yield ("cnn b64", models.cnn(lib),
           lib.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32)),
           lib.tensor(rng.integers(0, 10, 64)))
    yield ("gpt b16 t64", models.gpt(lib), lib.tensor(rng.integers(0, 65, (16, 64))),
           lib.tensor(rng.integers(0, 65, (16, 64))))


def _loss(lib, model, x, y):
    out = model(x)
    if out.dim() == 3:
        out, y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
    return lib.nn.functional.cross_entropy(out, y)


def saved_bytes(lib, model, x, y):
    """Bytes of the distinct storages packed by saved_tensors_hooks during the forward."""
    seen = {}

    def pack(t):
        key = t.untyped_storage().data_ptr() if hasattr(t, "untyped_storage") else None
        if key is None:
            a = t.numpy()
            base = a
            while getattr(base, "base", None) is not None:
                base = base.base
            key = id(base)
            nbytes = base.nbytes
        else:
            nbytes = t.untyped_storage().nbytes()
        seen[key] = nbytes
        return t

    model.train()
    with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = _loss(lib, model, x, y)
    params = {}
    for p in model.parameters():
        if hasattr(p, "untyped_storage"):
            params[p.untyped_storage().data_ptr()] = 1
        else:
            params[id(p.detach().numpy())] = 1
    del loss
    total = sum(seen.values())
    return total, total - sum(v for k, v in seen.items() if k in params)


def ember_traced(model, x, y):
    import ember
    model.train()
    for _ in range(2):                        # warm caches (first-call allocations)
        _loss(ember, model, x, y).backward()
        model.zero_grad(set_to_none=True)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    loss = _loss(ember, model, x, y)
    gc.collect()
    held, fpeak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    loss.backward()
    gc.collect()
    after, bpeak = tracemalloc.get_traced_memory()
    grads = sum(p.grad.numpy().nbytes for p in model.parameters() if p.grad is not None)
    tracemalloc.stop()
    del loss
    return held - base, fpeak - base, bpeak - base, after - base - grads


def main():
    import ember
    import ember.nn  # noqa: F401
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'case':32} {'held':>9} {'fwd peak':>9} {'bwd peak':>9} {'kept after':>10}"
          f" {'saved (no params)':>18} {'torch saved (no params)':>24}")
    tcases = dict((c[0], c[1:]) for c in cases(torch)) if torch is not None else {}
    for name, model, x, y in cases(ember):
        ember.manual_seed(0)
        held, fpeak, bpeak, after = ember_traced(model, x, y)
        ember.manual_seed(0)
        es, esx = saved_bytes(ember, model, x, y)
        ts = ""
        if name in tcases:
            tm, tx, ty = tcases[name]
            torch.manual_seed(0)
            t_all, t_np = saved_bytes(torch, tm, tx, ty)
            ts = f"{t_all / MiB:8.2f} ({t_np / MiB:6.2f})"
        print(f"{name:32} {held / MiB:8.2f}M {fpeak / MiB:8.2f}M {bpeak / MiB:8.2f}M "
              f"{after / MiB:9.2f}M {es / MiB:9.2f} ({esx / MiB:6.2f}) {ts:>24}")


if __name__ == "__main__":
    main()
