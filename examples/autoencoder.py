"""An autoencoder for scikit-learn's 8x8 handwritten digits whose activation is a custom
autograd.Function, with a hand-written backward checked by gradcheck before training.

`Swish` computes x * sigmoid(x) (nn.SiLU) and saves sigmoid(x) for a backward that needs no
exp: d/dx = s + x * s * (1 - s). The 64-pixel images go through a 2-number bottleneck and back; the
script reports the test reconstruction error against the mean-image baseline, and with --plot
draws the 2-D codes of the test digits, coloured by label, and a row of reconstructions.

    python examples/autoencoder.py                  # 60 epochs, ~10 s on 2 CPU cores
    python examples/autoencoder.py --plot ae.png    # + a figure (needs matplotlib)
    python examples/autoencoder.py --smoke          # two short epochs (tests)

Needs scikit-learn: pip install 'ember[examples]'. Swap the first import for `import torch` and
the program runs unchanged on PyTorch."""
import argparse
import sys

import numpy as np

import ember as torch
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset


class Swish(torch.autograd.Function):
    """y = x * sigmoid(x), with its derivative written by hand."""

    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * (s + x * s * (1 - s))


class SwishModule(nn.Module):
    def forward(self, x):
        return Swish.apply(x)


def check_swish():
    """Compare the hand-written backward with finite differences (float64) and with F.silu."""
    x = torch.randn(6, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(Swish.apply, (x,), eps=1e-6, atol=1e-5)
    y = torch.randn(6, 5, dtype=torch.double)
    (g_custom,) = torch.autograd.grad((Swish.apply(x) * y).sum(), x)
    (g_builtin,) = torch.autograd.grad((F.silu(x) * y).sum(), x)
    assert torch.allclose(g_custom, g_builtin)
    print("gradcheck: Swish's backward matches finite differences and F.silu")


class AutoEncoder(nn.Module):
    def __init__(self, code_size=2, hidden=(48, 24)):
        super().__init__()
        h1, h2 = hidden
        self.encoder = nn.Sequential(nn.Linear(64, h1), SwishModule(), nn.Linear(h1, h2),
                                     SwishModule(), nn.Linear(h2, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, h2), SwishModule(), nn.Linear(h2, h1),
                                     SwishModule(), nn.Linear(h1, 64), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def load_data(smoke):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("this example needs scikit-learn: pip install 'ember[examples]'")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    if smoke:
        train = train[:256]
    return (torch.from_numpy(x[train]), torch.from_numpy(x[test]),
            torch.from_numpy(digits.target[test].astype(np.int64)))


def plot(model, x_test, y_test, path):
    try:
        import matplotlib
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install 'ember[examples]'")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with torch.no_grad():
        codes = model.encoder(x_test).cpu().numpy()
        recon = model(x_test[:10]).cpu().numpy()
    fig = plt.figure(figsize=(10, 5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[3, 1])
    ax = top.subplots()
    points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test.cpu().numpy(), cmap="tab10", s=12)
    top.colorbar(points, ax=ax, label="digit")
    ax.set_title("2-D codes of the test digits")
    axes = bottom.subplots(2, 10)
    for i in range(10):
        axes[0, i].imshow(x_test[i].cpu().numpy().reshape(8, 8), cmap="gray_r")
        axes[1, i].imshow(recon[i].reshape(8, 8), cmap="gray_r")
        axes[0, i].axis("off")
        axes[1, i].axis("off")
    bottom.suptitle("test digits (top) and their reconstructions (bottom)")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="digits autoencoder with a custom autograd.Function")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--code-size", type=int, default=2)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PNG", help="save codes and reconstructions to PNG")
    p.add_argument("--smoke", action="store_true", help="two epochs on 256 images (tests)")
    args = p.parse_args(argv)
    if args.smoke:
        args.epochs = 2
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    check_swish()
    x_train, x_test, y_test = load_data(args.smoke)
    x_test, y_test = x_test.to(device), y_test.to(device)
    loader = DataLoader(TensorDataset(x_train), batch_size=args.batch_size, shuffle=True)
    model = AutoEncoder(args.code_size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    baseline = F.mse_loss(x_train.mean(0).to(device).expand_as(x_test), x_test).item()
    print(f"test MSE of the mean image (baseline): {baseline:.4f}")
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for (x,) in loader:
            x = x.to(device)
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
        model.eval()
        with torch.no_grad():
            test_mse = F.mse_loss(model(x_test), x_test).item()
        if epoch % 10 == 0 or epoch == args.epochs or args.smoke:
            print(f"epoch {epoch:3d}: train MSE {total / len(x_train):.4f}, "
                  f"test MSE {test_mse:.4f} ({test_mse / baseline:.0%} of the baseline)")
    if args.plot:
        plot(model, x_test, y_test, args.plot)
    return test_mse, baseline


if __name__ == "__main__":
    main()
