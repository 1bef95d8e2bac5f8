"""Data loading: one epoch (4096 samples) of a DataLoader (batch 64, no worker processes) over
the datasets training scripts use, and default_collate of one batch: ember against torch in
the same run.

Prints median ms per epoch or us per batch (ratio = torch time / ember time: above 1 ember is
faster)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402

N, BATCH = 4096, 64


def _datasets(lib):
    """name -> (dataset, DataLoader keywords), the same data for both libraries."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 32)).astype(np.float32)
    y = rng.integers(0, 10, N)
    images = [lib.tensor(a) for a in rng.standard_normal((N, 3, 8, 8)).astype(np.float32)]

    class Images(lib.utils.data.Dataset):
        def __len__(self):
            return N

        def __getitem__(self, i):
            return images[i], int(y[i])

    tensors = lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y))
    return {
        "TensorDataset shuffled": (tensors, dict(shuffle=True)),
        "list of (ndarray, int)": ([(x[i], int(y[i])) for i in range(N)], {}),
        "Dataset of (tensor, int)": (Images(), {}),
    }


def epoch_times(lib):
    out = {}
    for name, (ds, kw) in _datasets(lib).items():
        loader = lib.utils.data.DataLoader(ds, batch_size=BATCH, **kw)

        def epoch():
            for _ in loader:
                pass
        out[name] = median_time(epoch, repeat=5)
    return out


def collate_times(lib):
    rng = np.random.default_rng(1)
    samples = [(lib.tensor(a), float(i)) for i, a in
               enumerate(rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32))]
    arrays = list(rng.standard_normal((BATCH, 32)).astype(np.float32))
    collate = lib.utils.data.default_collate
    return {"default_collate: 64 (tensor, float)": median_time(lambda: collate(samples)),
            "default_collate: 64 ndarrays": median_time(lambda: collate(arrays))}


def main():
    torch = None
    if have_torch():
        import torch
        torch.set_num_threads(1)
    print(HEADER)
    e_epoch, e_coll = epoch_times(ember), collate_times(ember)
    t_epoch, t_coll = (epoch_times(torch), collate_times(torch)) if torch else ({}, {})
    for name, s in e_epoch.items():
        print(row(f"DataLoader epoch: {name}", s, t_epoch.get(name), "ms", 1e3))
    for name, s in e_coll.items():
        print(row(name, s, t_coll.get(name)))


if __name__ == "__main__":
    main()
