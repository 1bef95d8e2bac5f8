"""Save + load of a ~100 MB state_dict: ember vs torch in the same run (goal: >= 0.7x torch).

    .venv/bin/python bench/bench_serialization.py [--mb 100] [--repeat 5]

Prints best-of-N seconds for each side and torch_time / ember_time ratios (> 1: ember is faster).
ember's path save is atomic and fsynced; torch's is neither, so both the path figures and
file-object figures (BytesIO, where neither side syncs) are printed."""
import argparse
import io
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def state_dicts(mb):
    import torch

    from ember._tensor import _new
    from ember.backends import CPU
    rng = np.random.default_rng(0)
    arrays, total, i = {}, 0, 0
    while total < mb * 2 ** 20:       # a ResNet-like mix: big conv/linear weights, small vectors
        w = rng.standard_normal((512, 512, 3, 3) if i % 4 == 0 else (1024, 1024),
                                dtype=np.float32)
        arrays[f"layer{i}.weight"] = w
        arrays[f"layer{i}.bias"] = rng.standard_normal(w.shape[0], dtype=np.float32)
        arrays[f"layer{i}.running_mean"] = np.zeros(w.shape[0], np.float32)
        arrays[f"layer{i}.num_batches_tracked"] = np.array(7)
        total += sum(a.nbytes for k, a in arrays.items() if k.startswith(f"layer{i}."))
        i += 1
    tsd = {k: torch.from_numpy(a.copy()) for k, a in arrays.items()}
    esd = {k: _new(a.copy(), CPU) for k, a in arrays.items()}
    return tsd, esd, total


def best_pair(t_fn, e_fn, repeat):
    """Best times of torch and ember, run alternately so both see the same machine state."""
    times = ([], [])
    for _ in range(repeat):
        for fn, out in ((t_fn, times[0]), (e_fn, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return min(times[0]), min(times[1])


def main():
    import torch

    import ember.serialization as S
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tsd, esd, total = state_dicts(args.mb)
    print(f"state_dict: {len(esd)} tensors, {total / 2 ** 20:.1f} MiB; best of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        tp, ep = os.path.join(tmp, "t.pt"), os.path.join(tmp, "e.pt")
        rows = [
            ("save path", lambda: torch.save(tsd, tp), lambda: S.save(esd, ep)),
            ("load path", lambda: torch.load(tp, weights_only=True), lambda: S.load(ep)),
            ("load path mmap", lambda: torch.load(tp, weights_only=True, mmap=True),
             lambda: S.load(ep, mmap=True)),
            ("save BytesIO", lambda: torch.save(tsd, io.BytesIO()),
             lambda: S.save(esd, io.BytesIO())),
        ]
        buf_t, buf_e = io.BytesIO(), io.BytesIO()
        torch.save(tsd, buf_t)
        S.save(esd, buf_e)
        rows.append(("load BytesIO", lambda: torch.load(io.BytesIO(buf_t.getvalue()),
                                                          weights_only=True),
                     lambda: S.load(io.BytesIO(buf_e.getvalue()))))
        results = {}
        print(f"{'':16s} {'torch s':>9s} {'ember s':>9s} {'ratio':>7s}")
        for name, t_fn, e_fn in rows:
            t, e = best_pair(t_fn, e_fn, args.repeat)
            results[name] = (t, e)
            print(f"{name:16s} {t:9.4f} {e:9.4f} {t / e:7.2f}x")
        t = results["save path"][0] + results["load path"][0]
        e = results["save path"][1] + results["load path"][1]
        print(f"{'save+load path':16s} {t:9.4f} {e:9.4f} {t / e:7.2f}x  (goal >= 0.70x)")
        t = results["save BytesIO"][0] + results["load BytesIO"][0]
        e = results["save BytesIO"][1] + results["load BytesIO"][1]
        print(f"{'save+load BytesIO':16s}{t:9.4f} {e:9.4f} {t / e:7.2f}x")


if __name__ == "__main__":
    main()
