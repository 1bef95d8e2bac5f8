"""Random number generation: the factories (rand, randn, randint, randperm), the in-place fills
(uniform_, normal_, bernoulli_), nn.init.kaiming_uniform_ of a 512x512 Linear weight, F.dropout
in training mode, multinomial and an explicit Generator, at 8, 2048 and 1M elements: ember
against torch in the same run (each seeded alike, so both draw the same numbers).
`-k TEXT` (repeatable) times only the rows whose name contains one of the texts."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402

SIZES = (("8", 8), ("2048", 2048), ("1M", 1 << 20))


def cases(lib):
    """name -> (fn, median_time's arguments)."""
    lib.manual_seed(0)
    g = lib.Generator().manual_seed(1)
    out = {}
    for label, n in SIZES:
        big = {"repeat": 5} if n > 10000 else {}
        t = lib.empty(n)
        td = lib.empty(n, dtype=lib.float64)
        p = lib.rand(min(n, 1 << 16)) + 0.01
        out.update({
            f"rand({label})": (lambda n=n: lib.rand(n), big),
            f"randn({label})": (lambda n=n: lib.randn(n), big),
            f"randn({label}) float64": (lambda n=n: lib.randn(n, dtype=lib.float64), big),
            f"randint(0, 10, ({label},))": (lambda n=n: lib.randint(0, 10, (n,)), big),
            f"randperm({label})": (lambda n=n: lib.randperm(n),
                                   {"repeat": 3, "number": 1} if n > 10000 else {}),
            f"uniform_({label})": (lambda t=t: t.uniform_(-1, 1), big),
            f"normal_({label})": (lambda t=t: t.normal_(0, 2), big),
            f"normal_({label}) float64": (lambda t=td: t.normal_(), big),
            f"bernoulli_({label}, 0.5)": (lambda t=t: t.bernoulli_(0.5), big),
            f"randn({label}, generator=g)": (lambda n=n: lib.randn(n, generator=g), big),
            f"rand({label}, generator=g)": (lambda n=n: lib.rand(n, generator=g), big),
            f"multinomial({len(p)} cats, 4)": (lambda p=p: lib.multinomial(p, 4), big),
            f"multinomial({len(p)} cats, 64, repl)": (
                lambda p=p: lib.multinomial(p, 64, replacement=True), big),
        })
    w = lib.nn.Linear(512, 512).weight
    x = lib.randn(64, 512)
    out["kaiming_uniform_ 512x512"] = (
        lambda: lib.nn.init.kaiming_uniform_(w.data, a=5 ** 0.5), {})
    out["nn.Linear(512, 512)"] = (lambda: lib.nn.Linear(512, 512), {})
    out["F.dropout 64x512 train"] = (
        lambda: lib.nn.functional.dropout(x, 0.1, training=True), {})
    return out


def bench_lib(lib, keep=None):
    return {k: median_time(f, **kw) for k, (f, kw) in cases(lib).items()
            if keep is None or keep(k)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", action="append", metavar="TEXT",
                        help="time only the rows whose name contains TEXT (repeatable)")
    args = parser.parse_args(argv)
    keep = None if not args.select else (lambda k: any(s in k for s in args.select))
    mine = bench_lib(ember, keep)
    theirs = {}
    if have_torch():
        import torch
        torch.set_num_threads(os.cpu_count())
        theirs = bench_lib(torch, keep)
    print(HEADER)
    for k, v in mine.items():
        unit, scale = ("ms", 1e3) if v > 0.01 else ("us", 1e6)
        print(row(f"random {k}", v, theirs.get(k), unit, scale))


if __name__ == "__main__":
    main()
