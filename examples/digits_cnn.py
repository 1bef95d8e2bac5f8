"""Image classification with a small convolutional network, in the style of PyTorch's
examples/mnist, on the 1,797 8x8 handwritten digits that ship inside scikit-learn (offline).

Shows a custom Dataset, DataLoader, a CNN written as an nn.Module, an optimizer with a StepLR
schedule, a test loop, and checkpoints that save and resume the whole training state (model,
optimizer, scheduler, epoch).

    python examples/digits_cnn.py                                  # 6 epochs, ~10 s on 2 CPU cores
    python examples/digits_cnn.py --epochs 3 --save-model ckpt.pt
    python examples/digits_cnn.py --epochs 6 --resume ckpt.pt      # continues at epoch 4
    python examples/digits_cnn.py --smoke                          # one short epoch (tests)

Needs scikit-learn: pip install 'ember[examples]'. Swap the first import for `import torch` and
the program runs unchanged on PyTorch."""
import argparse
import os
import sys

import numpy as np

import ember as torch
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, Dataset


class Digits(Dataset):
    """scikit-learn's 8x8 digits as (1x8x8 float image, label) pairs, normalised with the
    training split's mean and standard deviation; a fixed 80/20 train/test split."""

    def __init__(self, train, limit=None):
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            sys.exit("this example needs scikit-learn: pip install 'ember[examples]'")
        digits = load_digits()
        images = (digits.images / 16.0).astype(np.float32)
        order = np.random.default_rng(0).permutation(len(images))
        cut = int(0.8 * len(images))
        mean, std = images[order[:cut]].mean(), images[order[:cut]].std()
        idx = order[:cut] if train else order[cut:]
        idx = idx[:limit] if limit else idx
        self.images = torch.from_numpy((images[idx] - mean) / std).unsqueeze(1)
        self.labels = torch.from_numpy(digits.target[idx].astype(np.int64))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, padding=1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(args, model, device, loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)} "
                  f"({100.0 * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}")


def test(model, device, loader):
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(loader.dataset)
    print(f"\nTest set: Average loss: {test_loss / n:.4f}, "
          f"Accuracy: {correct}/{n} ({100.0 * correct / n:.1f}%)\n")
    return correct / n


def save_checkpoint(path, epoch, model, optimizer, scheduler):
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, path)


def load_checkpoint(path, device, model, optimizer, scheduler):
    """Restore the training state saved by save_checkpoint; returns the next epoch."""
    state = torch.load(path, map_location=device)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    print(f"resumed from {path}: epoch {state['epoch']} done, "
          f"lr now {scheduler.get_last_lr()[0]:.2e}")
    return state["epoch"] + 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="ember digits CNN example")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="input batch size for training (default: 32)")
    parser.add_argument("--test-batch-size", type=int, default=500, metavar="N",
                        help="input batch size for testing (default: 500)")
    parser.add_argument("--epochs", type=int, default=6, metavar="N",
                        help="number of epochs to train (default: 6)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR",
                        help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M",
                        help="learning rate step gamma (default: 0.7)")
    parser.add_argument("--device", default=None,
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=20, metavar="N",
                        help="how many batches to wait before logging training status")
    parser.add_argument("--save-model", metavar="PATH",
                        help="save a checkpoint to PATH after every epoch")
    parser.add_argument("--resume", metavar="PATH", help="resume training from a checkpoint")
    parser.add_argument("--smoke", action="store_true",
                        help="one epoch on 256 training images (a quick check)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = min(args.epochs, 1) if not args.resume else args.epochs
        args.log_interval = 4
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    limit = 256 if args.smoke else None
    train_loader = DataLoader(Digits(train=True, limit=limit), batch_size=args.batch_size,
                              shuffle=True)
    test_loader = DataLoader(Digits(train=False), batch_size=args.test_batch_size)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    first = 1
    if args.resume:
        first = load_checkpoint(args.resume, device, model, optimizer, scheduler)
    accuracy = None
    for epoch in range(first, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        accuracy = test(model, device, test_loader)
        scheduler.step()
        if args.save_model:
            save_checkpoint(args.save_model, epoch, model, optimizer, scheduler)
            print(f"saved checkpoint {os.path.abspath(args.save_model)} (epoch {epoch})")
    return accuracy


if __name__ == "__main__":
    main()
