"""`ember demo`: the PyTorch tutorial run by ember, then a small CNN trained on real handwritten
digits (the 1,797 8x8 images that ship inside scikit-learn: offline, no download).

Trains with a tqdm bar per epoch, evaluates on a held-out split, saves the checkpoint with
`ember.save`, reloads it into a fresh model and checks the predictions are identical, and writes a
PNG with the training curves and a grid of test digits labelled with their predictions."""
import contextlib
import os
import time

import numpy as np

import ember
from . import missing_message, missing_modules

NEEDS = ("sklearn", "matplotlib", "tqdm")
CHECKPOINT, FIGURE = "digits_cnn.pt", "ember_demo.png"


def default_device():
    return "cuda" if ember.cuda.is_available() else "cpu"


def add_arguments(parser):
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (default: 12)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    parser.add_argument("--lr", type=float, default=2e-3,
                        help="Adam's learning rate, cosine-annealed to 0 (default: 2e-3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default="ember_demo_out", metavar="DIR",
                        help="where the checkpoint and the PNG go (default: ./ember_demo_out)")


def tutorial():
    """The first lines of PyTorch's tutorial; ember prints what torch prints."""
    import ember as torch
    x = torch.tensor([1.0, 2, 3])
    print(x)
    a = torch.tensor([1.0, 2, 3], requires_grad=True)
    print(a)
    b = a * 2
    out = b.mean()
    out.backward()
    print(a.grad)
    torch.cuda.empty_cache()


def import_training_modules():
    """Import ember.nn, ember.optim and ember.utils.data (only `ember demo` needs them)."""
    import ember.nn.functional  # noqa: F401
    import ember.optim.lr_scheduler  # noqa: F401
    import ember.utils.data  # noqa: F401


def digits_cnn():
    """Two 3x3 convolutions, a 2x2 max-pool and two linear layers: (N, 1, 8, 8) -> 10 logits."""
    nn = ember.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10))


def load_digits_split(seed):
    """(x_train, x_test, y_train, y_test): float32 images (N, 1, 8, 8) in [0, 1], int64 labels;
    a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)


def check_device(name):
    """An ember.device for `name`, or a SystemExit with a message saying what went wrong."""
    try:
        device = ember.device(name)
    except (RuntimeError, ValueError) as e:
        raise SystemExit(f"ember demo: invalid --device {name!r}: {e}") from None
    if device.type == "cuda" and not ember.cuda.is_available():
        raise SystemExit(f"ember demo: --device {name!r} asked for a GPU, but ember sees none "
                         "(it needs an NVIDIA GPU and CuPy: pip install 'ember[cuda12]'). "
                         "Use --device cpu.")
    return device


def blas_threads(device):
    """One BLAS thread on the CPU: the demo's matrices are small, and more threads only wait for
    each other (by orders of magnitude on a busy machine). threadpoolctl comes with scikit-learn."""
    if device.type == "cuda":
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train_epoch(model, loader, optimizer, device, bar):
    """One pass over `loader`; returns (mean loss, accuracy) and keeps `bar`'s postfix current."""
    F = ember.nn.functional
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        n = y.shape[0]
        total_loss += loss.item() * n
        correct += int((logits.argmax(1) == y).sum().item())
        seen += n
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.1%}")
    return total_loss / seen, correct / seen


@ember.no_grad()
def predict(model, x):
    """Logits of `model` in eval mode."""
    model.eval()
    return model(x)


def fit(args, device, data):
    """Train a digits_cnn(); returns (model, history dict, test logits)."""
    from tqdm import tqdm
    x_train, x_test, y_train, y_test = data
    ember.manual_seed(args.seed)
    model = digits_cnn().to(device)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    dataset = ember.utils.data.TensorDataset(ember.from_numpy(x_train), ember.from_numpy(y_train))
    loader = ember.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                         generator=ember.Generator().manual_seed(args.seed))
    x_test, y_test = ember.from_numpy(x_test).to(device), ember.from_numpy(y_test).to(device)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(1, args.epochs + 1):
        with tqdm(total=len(loader), desc=f"epoch {epoch:>2}/{args.epochs}", unit="batch",
                  dynamic_ncols=True) as bar:
            loss, acc = train_epoch(model, loader, optimizer, device, bar)
            scheduler.step()
            logits = predict(model, x_test)
            test_acc = (logits.argmax(1) == y_test).float().mean().item()
            bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.1%}", test_acc=f"{test_acc:.1%}")
        history["loss"].append(loss)
        history["train_acc"].append(acc)
        history["test_acc"].append(test_acc)
    return model, history, logits


def check_checkpoint(model, path, x_test, device):
    """Save `model` with ember.save, load it into a fresh digits_cnn(); True when the fresh model
    gives exactly the same test logits."""
    ember.save(model.state_dict(), path)
    fresh = digits_cnn().to(device)
    fresh.load_state_dict(ember.load(path, map_location=device))
    return ember.equal(predict(fresh, x_test), predict(model, x_test))


def plot(history, images, labels, preds, path):
    """Training curves on the left; on the right, 32 test digits with their predictions, the
    mistakes first."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    order = np.concatenate([np.flatnonzero(preds != labels), np.flatnonzero(preds == labels)])[:32]
    fig = plt.figure(figsize=(13, 4.8), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.35])
    ax_loss, ax_acc = left.subplots(2, 1, sharex=True)
    epochs = range(1, len(history["loss"]) + 1)
    ax_loss.plot(epochs, history["loss"], "o-", color="tab:red")
    ax_loss.set_ylabel("train loss")
    ax_acc.plot(epochs, [100 * a for a in history["train_acc"]], "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history["test_acc"]], "s-", label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    left.suptitle("ember: training a CNN on 8x8 digits")
    for ax, i in zip(right.subplots(4, 8).flat, order):
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
        right_answer = preds[i] == labels[i]
        ax.set_title(f"pred {preds[i]}" + ("" if right_answer else f", is {labels[i]}"),
                     fontsize=9, color="tab:green" if right_answer else "tab:red")
        ax.axis("off")
    right.suptitle(f"test digits: {np.mean(preds == labels):.1%} correct "
                   "(red: the mistakes, shown first)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_and_check(args, device):
    """Train, report the test accuracy, check the checkpoint round trip, draw the figure."""
    print(f"== a CNN on scikit-learn's 8x8 digits, on {device} ==")
    start = time.perf_counter()
    data = load_digits_split(args.seed)
    print(f"{len(data[0])} training and {len(data[1])} test images")
    model, history, logits = fit(args, device, data)
    seconds = time.perf_counter() - start
    preds = logits.argmax(1).cpu().numpy()
    y_test = data[3]
    correct = int((preds == y_test).sum())
    print(f"test accuracy: {correct / len(y_test):.2%} ({correct}/{len(y_test)}) after "
          f"{args.epochs} epochs, {seconds:.1f} s on {device}")
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, CHECKPOINT)
    x_test = ember.from_numpy(data[1]).to(device)
    if not check_checkpoint(model, ckpt, x_test, device):
        print(f"checkpoint: {ckpt} reloaded into a fresh model gives DIFFERENT predictions")
        return 1
    print(f"checkpoint: {ckpt} (saved with ember.save, reloaded into a fresh model: "
          "identical predictions)")
    figure = os.path.join(args.out, FIGURE)
    plot(history, data[1][:, 0], y_test, preds, figure)
    print(f"figure: {figure} (training curves and test digits with their predictions)")
    return 0


def run(args):
    missing = missing_modules(*NEEDS)
    if missing:
        print(missing_message("ember demo", missing))
        return 1
    device = check_device(args.device or default_device())
    import_training_modules()
    print("== the PyTorch tutorial, run by ember ==")
    tutorial()
    with blas_threads(device):
        return train_and_check(args, device)
