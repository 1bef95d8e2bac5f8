"""Save + load of a ~100 MB state_dict: ember vs torch in the same run (goal: >= 0.7x torch).

    python bench/bench_serialization.py [--mb 100] [--repeat 7]

Rows give the best of N runs in ms, ember and torch run alternately so both meet the same
page-cache and writeback state; ratio = torch time / ember time (above 1 ember is faster).
ember's save to a path is atomic and fsynced (torch's is neither), so the file-object rows
(BytesIO, where neither side syncs) are printed as well."""
import argparse
import io
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
from _common import HEADER, have_torch, row  # noqa: E402


def arrays(mb):
    """A ResNet-like mix: big conv/linear weights, small vectors, int64 counters."""
    rng = np.random.default_rng(0)
    out, total, i = {}, 0, 0
    while total < mb * 2 ** 20:
        w = rng.standard_normal((512, 512, 3, 3) if i % 4 == 0 else (1024, 1024),
                                dtype=np.float32)
        layer = {"weight": w, "bias": rng.standard_normal(w.shape[0], dtype=np.float32),
                 "running_mean": np.zeros(w.shape[0], np.float32),
                 "num_batches_tracked": np.array(7)}
        out.update({f"layer{i}.{k}": v for k, v in layer.items()})
        total += sum(v.nbytes for v in layer.values())
        i += 1
    return out, total


def best(fns, repeat):
    """Best seconds of each function, the functions run alternately `repeat` times."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [min(t) for t in times]


def cases(esd, tsd, tmp):
    """(name, ember fn, torch fn or None)."""
    import ember.serialization as S
    ep, tp = os.path.join(tmp, "e.pt"), os.path.join(tmp, "t.pt")
    S.save(esd, ep)
    eb = io.BytesIO()
    S.save(esd, eb)
    out = [("save path (ember: atomic + fsync)", lambda: S.save(esd, ep)),
           ("load path", lambda: S.load(ep)),
           ("load path mmap=True", lambda: S.load(ep, mmap=True)),
           ("save BytesIO", lambda: S.save(esd, io.BytesIO())),
           ("load BytesIO", lambda: S.load(io.BytesIO(eb.getvalue())))]
    if tsd is None:
        return [(name, fn, None) for name, fn in out]
    import torch
    torch.save(tsd, tp)
    tb = io.BytesIO()
    torch.save(tsd, tb)
    torch_fns = [lambda: torch.save(tsd, tp), lambda: torch.load(tp, weights_only=True),
                 lambda: torch.load(tp, weights_only=True, mmap=True),
                 lambda: torch.save(tsd, io.BytesIO()),
                 lambda: torch.load(io.BytesIO(tb.getvalue()), weights_only=True)]
    return [(name, fn, t_fn) for (name, fn), t_fn in zip(out, torch_fns)]


def main():
    from ember._tensor import _new
    from ember.backends import CPU
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    raw, total = arrays(args.mb)
    esd = {k: _new(v.copy(), CPU) for k, v in raw.items()}
    tsd = None
    if have_torch():
        import torch
        tsd = {k: torch.from_numpy(v.copy()) for k, v in raw.items()}
    print(f"state_dict of {len(esd)} tensors, {total / 2 ** 20:.1f} MiB; best of {args.repeat}")
    print(HEADER)
    sums = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, e_fn, t_fn in cases(esd, tsd, tmp):
            e, t = best([e_fn, t_fn], args.repeat) if t_fn else (best([e_fn], args.repeat)[0],
                                                                  None)
            print(row(name, e, t, unit="ms", scale=1e3))
            kind = "path" if "path" in name and "mmap" not in name else "BytesIO"
            if "mmap" not in name:
                s = sums.setdefault(kind, [0.0, 0.0 if t is not None else None])
                s[0] += e
                if t is not None:
                    s[1] += t
    for kind, (e, t) in sums.items():
        print(row(f"save + load {kind} (goal >= 0.70x)", e, t, unit="ms", scale=1e3))


if __name__ == "__main__":
    main()
