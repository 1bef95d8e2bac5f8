"""Runs every bench/bench_*.py (bench_gpu.py excepted: scripts/gpu_check.sh runs it) in its own
process and prints their tables as one, headed by the machine they ran on.

    python bench/run_all.py                  # a plain-text table
    python bench/run_all.py --markdown       # the same as a Markdown table, for README.md
    python bench/run_all.py --only core      # only the files whose name contains "core"

Each benchmark compares ember with torch in the same process when torch is installed and times
ember alone otherwise. A row reads: benchmark, ember's time, torch's time, and the speed ratio
(torch time / ember time: above 1 ember is faster)."""
import argparse
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = ("bench_gpu.py",)
# One row of _common.row(): name, ember value and unit, then torch value, unit and ratio or '-'.
ROW = re.compile(r"^(?P<name>\S.*?)\s+(?P<ember>\d+(?:\.\d+)?)\s+(?P<unit>\S+)\s+"
                 r"(?:(?P<torch>\d+(?:\.\d+)?)\s+\S+\s+(?P<ratio>\d+(?:\.\d+)?)x|-\s+-)\s*$")


def bench_files(bench_dir=HERE, only=()):
    """The benchmark scripts in `bench_dir`, sorted; `only`: substrings, one must match."""
    names = sorted(f for f in os.listdir(bench_dir)
                   if f.startswith("bench_") and f.endswith(".py") and f not in SKIP)
    if only:
        names = [f for f in names if any(o in f for o in only)]
    return [os.path.join(bench_dir, f) for f in names]


def parse(stdout):
    """(rows, notes): rows are (name, ember, unit, torch or None, ratio or None) parsed from the
    table lines; notes are the other non-empty lines except table headers."""
    rows, notes = [], []
    for line in stdout.splitlines():
        m = ROW.match(line.rstrip())
        if m:
            torch = float(m["torch"]) if m["torch"] else None
            ratio = float(m["ratio"]) if m["ratio"] else None
            rows.append((m["name"], float(m["ember"]), m["unit"], torch, ratio))
        elif line.strip() and not line.startswith("benchmark "):
            notes.append(line.rstrip())
    return rows, notes


def run_one(path, timeout):
    """Run one benchmark script; returns a dict with its file, rows, notes, seconds and error."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p))
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, path], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=os.path.dirname(path))
        error = None if proc.returncode == 0 else (
            f"exit status {proc.returncode}: " + " | ".join(proc.stderr.strip().splitlines()[-3:]))
        stdout = proc.stdout
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        error = f"timed out after {timeout} s"
    rows, notes = parse(stdout)
    return {"file": os.path.basename(path), "rows": rows, "notes": notes, "error": error,
            "seconds": time.perf_counter() - start}


def machine():
    """One line naming the CPU, the core count and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for dist in ("numpy", "torch"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} not installed")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            + ", ".join(versions))


def _num(value, unit):
    return "-" if value is None else f"{value:.2f} {unit}"


def format_text(results):
    lines = [f"{'benchmark':<48} {'ember':>12} {'torch':>12} {'speed vs torch':>15}"]
    for r in results:
        lines.append(f"[{r['file']}, {r['seconds']:.0f} s]")
        for name, e, unit, t, ratio in r["rows"]:
            speed = "-" if ratio is None else f"{ratio:.2f}x"
            lines.append(f"  {name:<46} {_num(e, unit):>12} {_num(t, unit):>12} {speed:>15}")
        if r["error"]:
            lines.append(f"  FAILED: {r['error']}")
    return "\n".join(lines)


def format_markdown(results):
    lines = ["| benchmark | ember | torch | speed vs torch |", "|---|---:|---:|---:|"]
    for r in results:
        for name, e, unit, t, ratio in r["rows"]:
            speed = "-" if ratio is None else f"{ratio:.2f}x"
            lines.append(f"| {name} | {_num(e, unit)} | {_num(t, unit)} | {speed} |")
        if r["error"]:
            lines.append(f"| {r['file']}: FAILED ({r['error']}) | | | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="run_all.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the files whose name contains TEXT (repeatable)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per file")
    parser.add_argument("--bench-dir", default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = bench_files(args.bench_dir, args.only)
    if not files:
        print(f"no benchmark matches {args.only} in {args.bench_dir}")
        return 1
    results = []
    for path in files:
        print(f"running {os.path.basename(path)} ...", file=sys.stderr, flush=True)
        results.append(run_one(path, args.timeout))
    print(f"Machine: {machine()}")
    print(format_markdown(results) if args.markdown else format_text(results))
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
