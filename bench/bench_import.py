"""Import time: `import ember` against `import torch`, each in fresh interpreters.

    python bench/bench_import.py [--repeat 9]

Rows give the median wall time of the import alone (NumPy imported first and not counted, as
both import it), bytecode caching on as in any installed package (the environment's
PYTHONDONTWRITEBYTECODE is dropped: without .pyc files every import compiles its sources
again); ratio = torch time / ember time (above 1 ember imports faster). The last row is NumPy's
own import, the floor below which neither can go."""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
from _common import HEADER, have_torch, row  # noqa: E402

PROBE = ("import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
         "import {mod}; print(t1 - t0, time.perf_counter() - t1)")


def import_seconds(mod, repeat):
    """Medians of (numpy's import, mod's import after numpy) over `repeat` fresh interpreters."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p)
    runs = []
    for _ in range(repeat + 1):                      # the first run writes the .pyc files
        out = subprocess.run([sys.executable, "-c", PROBE.format(mod=mod)], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    runs = runs[1:]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    print(HEADER)
    numpy_s, ember_s = import_seconds("ember", args.repeat)
    torch_s = import_seconds("torch", args.repeat)[1] if have_torch() else None
    print(row("import (after numpy)", ember_s, torch_s, unit="ms", scale=1e3))
    print(row("import numpy (both need it)", numpy_s, None, unit="ms", scale=1e3))


if __name__ == "__main__":
    main()
