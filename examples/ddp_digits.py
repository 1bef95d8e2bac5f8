"""Data-parallel training with DistributedDataParallel, in the style of PyTorch's DDP tutorial:
several processes, each with its own shard of the 8x8 digits (DistributedSampler), averaging
gradients after every backward, so that every process holds the same model.

    python examples/ddp_digits.py                      # 2 processes on this machine (spawn)
    python examples/ddp_digits.py --world-size 3 --epochs 5
    python -m ember.distributed.run --nproc-per-node 2 examples/ddp_digits.py
                                                       # torchrun's launch: env:// rendezvous
    python examples/ddp_digits.py --smoke              # a few steps (tests)

Needs scikit-learn: pip install 'ember[examples]'. Swap the first import for `import torch` and
the program runs unchanged on PyTorch (its CPU backend is also called "gloo")."""
import argparse
import os
import socket
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.multiprocessing as mp
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset


def digits(limit=None):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("this example needs scikit-learn: pip install 'ember[examples]'")
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def train(rank, world_size, args):
    if "RANK" not in os.environ:                       # spawned here rather than launched
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}",
                                rank=rank, world_size=world_size)
    else:
        dist.init_process_group("gloo")
    torch.manual_seed(args.seed + rank)                # different init: DDP broadcasts rank 0's
    model = DDP(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    data = digits(256 if args.smoke else None)
    sampler = DistributedSampler(data, num_replicas=world_size, rank=rank, seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)                       # a new shuffle each epoch
        total, count = torch.zeros(2), 0
        for step, (x, y) in enumerate(loader):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()                            # gradients averaged over the ranks
            opt.step()
            total += torch.tensor([loss.item() * len(y), float(len(y))])
            count += 1
            if args.smoke and count == 3:
                break
        dist.all_reduce(total)                         # the mean loss over every rank's samples
        if rank == 0:
            print(f"epoch {epoch}: mean training loss {total[0].item() / total[1].item():.4f} "
                  f"over {int(total[1].item())} samples on {world_size} processes")
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    copies = [torch.zeros_like(flat) for _ in range(world_size)]
    dist.all_gather(copies, flat)
    if rank == 0:
        same = all(torch.equal(c, copies[0]) for c in copies)
        print(f"all {world_size} processes hold the same parameters: {same}")
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world-size", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="a few steps (for tests)")
    args = p.parse_args()
    if args.smoke:
        args.epochs = 1
    if "RANK" in os.environ:                           # launched (ember.distributed.run)
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
        return
    args.port = free_port()
    mp.spawn(train, args=(args.world_size, args), nprocs=args.world_size, join=True)


if __name__ == "__main__":
    main()
