"""Run one distributed program under ember and under torch (gloo on CPU), to compare them.

The program is a template with {lib} for the library's name; each of its ranks is a process
launched like torchrun (env://) and writes its results with report(obj), a pickle of plain
Python and NumPy values, at its end. Both jobs run at once, under one deadline after which
every process is killed and the test fails; a rank's failure fails it with that rank's
output. Nothing depends on timing: the launcher waits for every process to exit by itself."""
import os
import pickle
import random
import socket
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEADLINE = 90

_PRELUDE = """
import os, pickle
def report(obj):
    path = os.path.join(os.environ["ORACLE_OUT"], os.environ["RANK"] + ".pkl")
    with open(path + ".tmp", "wb") as f:
        pickle.dump(obj, f)
    os.rename(path + ".tmp", path)
"""


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port free now, drawn below the kernel's ephemeral range: a port bind(0) hands out
    can be taken again by any process's outgoing connection or listener (gloo's, another
    test's) before the job's rank 0 binds it, which failed a launch now and then under load;
    the kernel never hands out ports below that range by itself."""
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(100 if low > 11000 else 0):
        port = rng.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_both(program, tmp_path, nprocs=2):
    """{"ember": [rank 0's report, ...], "torch": [...]} of `program` run under each."""
    procs, outdirs = [], {}
    for lib in ("ember", "torch"):
        outdir = tmp_path / lib
        outdir.mkdir()
        script = outdir / "program.py"
        script.write_text(_PRELUDE + textwrap.dedent(program).replace("{lib}", lib))
        outdirs[lib] = outdir
        port = free_port()
        for r in range(nprocs):
            env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(r),
                       LOCAL_RANK=str(r), WORLD_SIZE=str(nprocs), LOCAL_WORLD_SIZE=str(nprocs),
                       ORACLE_OUT=str(outdir), OMP_NUM_THREADS="1",
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
            procs.append((lib, r, subprocess.Popen(
                [sys.executable, str(script)], env=env, cwd=str(outdir),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
    end = time.monotonic() + DEADLINE
    try:
        for lib, r, p in procs:
            out, _ = p.communicate(timeout=max(0.1, end - time.monotonic()))
            assert p.returncode == 0, f"{lib} rank {r} failed:\n{out.decode()}"
    finally:
        for _, _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    results = {}
    for lib, outdir in outdirs.items():
        results[lib] = []
        for r in range(nprocs):
            with open(outdir / f"{r}.pkl", "rb") as f:
                results[lib].append(pickle.load(f))
    return results
