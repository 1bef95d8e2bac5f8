"""ember.distributed.run (torchrun) and torch.distributed.elastic.multiprocessing.errors: the
workers' environment against torchrun's own, a job across launched workers, restarts, a
failing worker's report, @record's error file and ChildFailedError's message against torch's.
Every launch has a deadline."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import ember.distributed.elastic.multiprocessing.errors as eerrors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEADLINE = 90

_DUMP = """
import json, os, sys
keys = json.loads(os.environ["PARENT_KEYS"])
row = json.dumps({"env": {k: v for k, v in os.environ.items() if k not in keys},
                  "argv": sys.argv[1:]})
os.write(1, f"ENV {row}\\n".encode())       # (one write: the workers' lines do not interleave)
"""
_JOB = """
import os
import ember as torch
import ember.distributed as dist
from ember.distributed.elastic.multiprocessing.errors import record

@record
def main():
    dist.init_process_group("gloo")
    t = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(t)
    attempt = os.environ["TORCHELASTIC_RESTART_COUNT"]
    os.write(1, f"JOB {dist.get_rank()} {dist.get_world_size()} {attempt} {t.item()}\\n".encode())
    dist.barrier()                  # every line is written before rank 1 fails
    if os.environ.get("FAIL_ONCE") and attempt == "0" and dist.get_rank() == 1:
        raise RuntimeError("the first attempt fails")
    dist.destroy_process_group()

main()
"""
_FAIL = """
import os
import time
from {lib}.distributed.elastic.multiprocessing.errors import record

@record
def main():
    if os.environ["RANK"] == "0":
        with open("rank0.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("rank0.tmp", "rank0.pid")
        return
    # rank 1 fails only once rank 0 has exited (else the launcher stops rank 0 with SIGTERM)
    while not os.path.exists("rank0.pid"):
        time.sleep(0.01)
    stat = "/proc/" + open("rank0.pid").read() + "/stat"
    while os.path.exists(stat) and open(stat).read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    raise ValueError("boom")

main()
"""


def _launch(launcher, args, tmp_path, script, env=None):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    base = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **(env or {}))
    base.pop("OMP_NUM_THREADS", None)
    base["PARENT_KEYS"] = json.dumps(list(base) + ["PARENT_KEYS"])
    out = subprocess.run([sys.executable, "-m", launcher, *args, str(path), "a", "--b=1"],
                         env=base, cwd=tmp_path, capture_output=True, text=True,
                         timeout=DEADLINE)
    return out


def _workers_env(out):
    rows = [json.loads(line[4:]) for line in out.stdout.splitlines() if line.startswith("ENV")]
    return sorted((r["env"] for r in rows), key=lambda e: int(e["RANK"])), \
        [r["argv"] for r in rows]


# values that differ by run (a port, an id, a temporary path) or by design (ember's launcher
# hosts no store: rank 0 serves the job's TCPStore)
_PER_RUN = {"MASTER_PORT", "TORCHELASTIC_RUN_ID", "TORCHELASTIC_ERROR_FILE",
            "TORCHELASTIC_USE_AGENT_STORE"}


@pytest.mark.parametrize("args", [["--standalone", "--nproc-per-node=2"],
                                  ["--nproc_per_node", "2", "--master-port=0"]],
                         ids=["standalone", "static"])
def test_worker_environment_like_torchrun(args, tmp_path):
    mine = _launch("ember.distributed.run", args, tmp_path, _DUMP)
    theirs = _launch("torch.distributed.run", args, tmp_path, _DUMP)
    assert mine.returncode == theirs.returncode == 0, mine.stderr + theirs.stderr
    (e_envs, e_argv), (t_envs, t_argv) = _workers_env(mine), _workers_env(theirs)
    assert e_argv == t_argv == [["a", "--b=1"]] * 2
    assert len(e_envs) == len(t_envs) == 2
    for e, t in zip(e_envs, t_envs):
        t.pop("_", None)
        assert set(e) == set(t)
        assert {k: v for k, v in e.items() if k not in _PER_RUN} == \
            {k: v for k, v in t.items() if k not in _PER_RUN}
        assert e["TORCHELASTIC_USE_AGENT_STORE"] == "False"
        assert e["TORCHELASTIC_ERROR_FILE"].endswith(f"/attempt_0/{e['LOCAL_RANK']}/error.json")
    assert "Setting OMP_NUM_THREADS environment variable for each process to be 1" in \
        mine.stderr


def test_a_job_runs_across_the_workers(tmp_path):
    out = _launch("ember.distributed.run", ["--standalone", "--nproc-per-node=3"], tmp_path,
                  _JOB)
    assert out.returncode == 0, out.stderr
    rows = sorted(line.split()[1:] for line in out.stdout.splitlines() if line.startswith("JOB"))
    assert rows == [[str(r), "3", "0", "6.0"] for r in range(3)]


def test_a_failed_group_restarts(tmp_path):
    out = _launch("ember.distributed.run", ["--standalone", "--nproc-per-node=2",
                                            "--max-restarts=1"], tmp_path, _JOB,
                  env={"FAIL_ONCE": "1"})
    assert out.returncode == 0, out.stderr
    rows = sorted(line.split()[1:] for line in out.stdout.splitlines() if line.startswith("JOB"))
    assert rows == [["0", "2", "0", "3.0"], ["0", "2", "1", "3.0"], ["1", "2", "0", "3.0"],
                    ["1", "2", "1", "3.0"]]
    assert "restarting the worker group (1/1)" in out.stderr


def test_a_failing_worker_is_reported_like_torchrun(tmp_path):
    out = _launch("ember.distributed.run", ["--standalone", "--nproc-per-node=2"], tmp_path,
                  _FAIL.format(lib="ember"))
    assert out.returncode == 1
    report = out.stderr[out.stderr.index("ChildFailedError"):]
    for part in ["script.py FAILED", "Failures:\n  <NO_OTHER_FAILURES>",
                 "Root Cause (first observed failure):\n[0]:", "rank      : 1 (local_rank: 1)",
                 "exitcode  : 1 (pid: ", "/attempt_0/1/error.json", 'raise ValueError("boom")',
                 "  ValueError: boom"]:
        assert part in report, report


def test_record_writes_torchs_error_file(tmp_path, monkeypatch):
    import torch.distributed.elastic.multiprocessing.errors as terrors

    def written(errors):
        path = tmp_path / f"{errors.__name__}.json"
        monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))

        @errors.record
        def main(x):
            if x:
                raise KeyError("k")
            raise SystemExit(0)
        assert main(0) is None
        with pytest.raises(KeyError):
            main(1)
        data = json.loads(path.read_text())
        info = data["message"]["extraInfo"]
        assert info["py_callstack"].startswith("Traceback") and "KeyError: 'k'" in \
            info["py_callstack"]
        assert int(info["timestamp"]) > 0
        return data["message"]["message"], sorted(data["message"]), sorted(info)
    assert written(eerrors) == written(terrors)


def test_child_failed_error_message_like_torchs(tmp_path):
    import torch.distributed.elastic.multiprocessing.errors as terrors
    error_file = tmp_path / "error.json"
    error_file.write_text(json.dumps({"message": {"message": "ValueError: x", "extraInfo": {
        "py_callstack": "Traceback (most recent call last):\n  ...\nValueError: x\n",
        "timestamp": "1700000000"}}}))

    def message(errors):
        failures = {3: errors.ProcessFailure(1, 101, 1, str(error_file)),
                    2: errors.ProcessFailure(0, 100, -15, str(tmp_path / "none.json")),
                    5: errors.ProcessFailure(3, 103, 2, str(tmp_path / "none.json"))}
        for f in failures.values():
            f.timestamp = f.timestamp if f.error_file != "<N/A>" else 1700000005
        e = errors.ChildFailedError("train.py", failures)
        return str(e), e.get_first_failure()[0], [
            (f.message, f.error_file, f.signal_name(), f.timestamp_isoformat())
            for f in failures.values()]
    assert message(eerrors) == message(terrors)


@pytest.mark.parametrize("args,error", [
    (["--nnodes=1:2"], "no elastic rendezvous"),
    (["--no-python", "-m"], "Don't use both the '--no-python' flag and the '--module' flag"),
    (["--nproc-per-node=many"], "Unsupported nproc_per_node value: many"),
])
def test_refused_options(args, error, tmp_path):
    out = _launch("ember.distributed.run", args, tmp_path, "print('ran')")
    assert out.returncode == 1 and error in out.stderr and "ran" not in out.stdout


def test_torchs_agent_store_is_refused_clearly(monkeypatch):
    """Under torch's own torchrun the agent serves the store in torch's C++ protocol: env://
    says to launch with ember.distributed.run (it used to fail binding the agent's port)."""
    import ember.distributed as dist
    for k, v in dict(TORCHELASTIC_USE_AGENT_STORE="True", RANK="0", WORLD_SIZE="1",
                     MASTER_ADDR="127.0.0.1", MASTER_PORT="29512").items():
        monkeypatch.setenv(k, v)
    with pytest.raises(RuntimeError, match="python -m ember.distributed.run"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()
