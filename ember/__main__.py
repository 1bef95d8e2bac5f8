"""The `ember` command line: `ember demo` (default), `ember info`, `ember bench`."""
import argparse
import sys


def _tutorial():
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


def _tiny_training_loop():
    """Fit y = 3x - 1 with a hand-written gradient-descent loop on autograd."""
    import ember as torch
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    y = 3 * x - 1
    w = torch.zeros(1, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for step in range(200):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = b.grad = None
    print(f"fitted w={w.item():.4f} b={b.item():.4f} loss={loss.item():.2e}")


def demo(args):
    print("== the PyTorch tutorial, run by ember ==")
    _tutorial()
    print("== a tiny training loop ==")
    _tiny_training_loop()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ember", description=__doc__)
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("demo", help="run the tutorial and train a small network")
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
