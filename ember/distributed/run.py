"""torch.distributed.run (torchrun) for ember: `python -m ember.distributed.run
--nproc-per-node=N script.py [args]` starts N workers of the script on this machine, each with
torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_*,
MASTER_ADDR, MASTER_PORT, TORCHELASTIC_*), so `init_process_group("gloo")` (env://) finds the
job. Several machines: the same command on each with --nnodes, --node-rank and the master's
--master-addr/--master-port (static rendezvous).

The launcher watches its workers: when one fails it stops the others and, while restarts are
left (--max-restarts), starts them all again (TORCHELASTIC_RESTART_COUNT counts up); otherwise
it raises torchrun's ChildFailedError report, with the traceback a worker's `@record` entry
point wrote to its error file.

Unlike torchrun's agent, this launcher hosts no store (TORCHELASTIC_USE_AGENT_STORE is False):
rank 0 serves the job's TCPStore, as with a plain env:// launch. Elastic rendezvous (c10d/etcd
backends with a node range) is not provided: --nnodes must be one number."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from .elastic.multiprocessing.errors import ChildFailedError, ProcessFailure, record

__all__ = ["get_args_parser", "main", "parse_args", "run"]

_OMP_WARNING = (
    "\n*****************************************\n"
    "Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to "
    "avoid your system being overloaded, please further tune the variable for optimal "
    "performance in your application as needed. \n"
    "*****************************************")


def get_args_parser():
    p = argparse.ArgumentParser(description="Torch Distributed Elastic Training Launcher")

    def option(*names, **kw):
        spelled = list(names) + ["--" + n[2:].replace("-", "_") for n in names
                                 if n.startswith("--") and "-" in n[2:]]
        p.add_argument(*spelled, **kw)
    option("--nnodes", type=str, default="1:1", help="Number of nodes (one number).")
    option("--nproc-per-node", type=str, default="1",
           help="Number of workers per node; an int, or 'cpu'/'auto' (one per CPU).")
    option("--rdzv-backend", type=str, default="static", help="Rendezvous backend: static.")
    option("--rdzv-endpoint", type=str, default="", help="Rendezvous backend endpoint.")
    option("--rdzv-id", type=str, default="none", help="User-defined group id.")
    option("--rdzv-conf", type=str, default="", help="Additional rendezvous configuration.")
    option("--standalone", action="store_true",
           help="Single-node job on a free local port.")
    option("--max-restarts", type=int, default=0,
           help="Maximum number of worker group restarts before failing.")
    option("--monitor-interval", type=float, default=0.1,
           help="Seconds between checks of the workers' state.")
    option("--start-method", type=str, default="spawn",
           choices=["spawn", "fork", "forkserver"], help="(workers are new processes)")
    option("--role", type=str, default="default", help="User-defined role for the workers.")
    option("-m", "--module", action="store_true",
           help="Run the training script as a module (python -m).")
    option("--no-python", action="store_true",
           help="Run the training script as an executable, without python.")
    option("--run-path", action="store_true",
           help="Run the training script with runpy.run_path in the worker's interpreter.")
    option("--log-dir", type=str, default=None, help="(accepted; workers write to the console)")
    option("-r", "--redirects", type=str, default="0", help="(accepted)")
    option("-t", "--tee", type=str, default="0", help="(accepted)")
    option("--local-ranks-filter", type=str, default="", help="(accepted)")
    option("--node-rank", type=int, default=0, help="Rank of this node (static rendezvous).")
    option("--master-addr", type=str, default="127.0.0.1", help="Address of the master node.")
    option("--master-port", type=int, default=29500, help="Port of rank 0's store.")
    option("--local-addr", type=str, default=None, help="(accepted)")
    option("--shutdown-timeout", type=int, default=30,
           help="Seconds a stopped worker gets between SIGTERM and SIGKILL.")
    p.add_argument("training_script", type=str, help="The training program to launch.")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def parse_args(args):
    return get_args_parser().parse_args(args)


def _local_world_size(nproc_per_node):
    try:
        return int(nproc_per_node)
    except ValueError:
        if nproc_per_node in ("cpu", "auto"):
            return os.cpu_count()
        if nproc_per_node == "gpu":
            from .. import cuda
            if not cuda.is_available():
                raise ValueError("Cuda is not available.") from None
            return cuda.device_count()
        raise ValueError(f"Unsupported nproc_per_node value: {nproc_per_node}") from None


def _nnodes(text):
    parts = text.split(":")
    if len(parts) > 2:
        raise RuntimeError(f'nnodes={text} is not in "MIN:MAX" format')
    low, high = int(parts[0]), int(parts[-1])
    if not 0 < low <= high:
        raise AssertionError(f"min_nodes must be > 0 and <= max_nodes, got min_nodes={low}, "
                             f"max_nodes={high}")
    if low != high:
        raise ValueError("ember.distributed.run has no elastic rendezvous: give --nnodes as "
                         "one number")
    return low


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _command(args):
    if args.run_path:
        return [sys.executable, "-u", "-c", "import runpy, sys; sys.argv = sys.argv[1:]; "
                "runpy.run_path(sys.argv[0], run_name='__main__')", args.training_script]
    if args.no_python:
        if args.module:
            raise ValueError("Don't use both the '--no-python' flag and the '--module' flag at "
                             "the same time.")
        return [args.training_script]
    return [os.getenv("PYTHON_EXEC", sys.executable), "-u"] + (
        ["-m"] if args.module else []) + [args.training_script]


class _Group:
    """One attempt's workers: their processes and error files."""

    def __init__(self, spec, attempt, error_dir):
        self.spec, self.procs, self.error_files = spec, [], []
        for local_rank in range(spec["nproc"]):
            error_file = os.path.join(error_dir, f"attempt_{attempt}", str(local_rank),
                                      "error.json")
            os.makedirs(os.path.dirname(error_file), exist_ok=True)
            rank = spec["node_rank"] * spec["nproc"] + local_rank
            env = dict(os.environ, **spec["env"], LOCAL_RANK=str(local_rank), RANK=str(rank),
                       ROLE_RANK=str(rank), TORCHELASTIC_RESTART_COUNT=str(attempt),
                       TORCHELASTIC_ERROR_FILE=error_file)
            self.error_files.append(error_file)
            self.procs.append(subprocess.Popen(spec["cmd"], env=env))

    def poll(self):
        """None while every worker runs or some still run and none failed; else the exit codes
        (None for a worker still running)."""
        codes = [p.poll() for p in self.procs]
        if all(c == 0 for c in codes) or any(c not in (None, 0) for c in codes):
            return codes
        return None

    def stop(self, timeout):
        """SIGTERM the workers still running, SIGKILL those alive after `timeout` seconds."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def failures(self, first_codes):
        """{global rank: ProcessFailure} of the workers that failed (those that had failed
        when the group was stopped, then those the stop ended)."""
        out, base = {}, self.spec["node_rank"] * self.spec["nproc"]
        order = sorted(range(len(self.procs)),
                       key=lambda i: (first_codes[i] in (None, 0), i))
        for i in order:
            code = self.procs[i].returncode
            if code:
                out[base + i] = ProcessFailure(i, self.procs[i].pid, code, self.error_files[i])
        return out


def run(args):
    """Launch the workers `args` (parsed by get_args_parser) describe; raise ChildFailedError
    when they failed past the restarts allowed."""
    nnodes = _nnodes(args.nnodes)
    if args.max_restarts < 0:
        raise AssertionError("max_restarts must be >= 0")
    if args.rdzv_backend not in ("static", "c10d") and not args.standalone:
        raise ValueError(f"ember.distributed.run has no {args.rdzv_backend!r} rendezvous "
                         "backend: use the static one (--master-addr/--master-port)")
    nproc = _local_world_size(args.nproc_per_node)
    if "OMP_NUM_THREADS" not in os.environ and nproc > 1:
        print(_OMP_WARNING, file=sys.stderr, flush=True)
        os.environ["OMP_NUM_THREADS"] = "1"
    addr, port, run_id = args.master_addr, args.master_port, args.rdzv_id
    if args.standalone:
        addr, port, run_id = "localhost", _free_port(), str(uuid.uuid4())
    elif args.rdzv_endpoint:
        addr, _, endpoint_port = args.rdzv_endpoint.rpartition(":")
        port = int(endpoint_port) if endpoint_port else port
    world = nnodes * nproc
    spec = {"nproc": nproc, "node_rank": args.node_rank, "cmd": _command(args) + list(
        args.training_script_args), "env": {
        "GROUP_RANK": str(args.node_rank), "GROUP_WORLD_SIZE": str(nnodes),
        "LOCAL_WORLD_SIZE": str(nproc), "WORLD_SIZE": str(world), "ROLE_NAME": args.role,
        "ROLE_WORLD_SIZE": str(world), "MASTER_ADDR": addr, "MASTER_PORT": str(port),
        "TORCHELASTIC_MAX_RESTARTS": str(args.max_restarts), "TORCHELASTIC_RUN_ID": run_id,
        "TORCHELASTIC_USE_AGENT_STORE": "False",
        "TORCHELASTIC_SIGNALS_TO_HANDLE": "SIGTERM,SIGINT,SIGHUP,SIGQUIT",
        "TORCH_NCCL_ASYNC_ERROR_HANDLING": os.environ.get("TORCH_NCCL_ASYNC_ERROR_HANDLING",
                                                          "1")}}
    error_dir = tempfile.mkdtemp(prefix="torchelastic_")    # (kept when a worker failed)
    for attempt in range(args.max_restarts + 1):
        group = _Group(spec, attempt, error_dir)
        try:
            while (codes := group.poll()) is None:
                time.sleep(args.monitor_interval)
        finally:                        # (also on Ctrl-C: no worker outlives the launcher)
            group.stop(args.shutdown_timeout)
        if all(c == 0 for c in codes):
            shutil.rmtree(error_dir, ignore_errors=True)
            return
        failures = group.failures(codes)
        for failure in failures.values():
            print(f"failed (exitcode: {failure.exitcode}) local_rank: {failure.local_rank} "
                  f"(pid: {failure.pid}) of binary: {spec['cmd'][0]}", file=sys.stderr,
                  flush=True)
        if attempt < args.max_restarts:
            print(f"restarting the worker group ({attempt + 1}/{args.max_restarts})",
                  file=sys.stderr, flush=True)
    raise ChildFailedError(os.path.basename(args.training_script), failures)


@record
def main(args=None):
    run(parse_args(args))


if __name__ == "__main__":
    main()
