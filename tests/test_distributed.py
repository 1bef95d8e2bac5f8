"""ember.distributed, ember.multiprocessing and DistributedDataParallel.

Multi-process jobs run once per fixture (3 ranks through mp.spawn and tcp://, 2 ranks through
a torchrun-style env:// launch, 2 ranks through file://); each rank pickles its results and
the tests compare them with NumPy or single-process ember. Every launch has a hard deadline
after which its processes are killed, so a bug fails the tests instead of hanging them.
Error messages are checked against torch's own, run in this process on a world of one."""
import functools
import os
import pickle
import subprocess
import sys
import time
import warnings
from datetime import timedelta

import numpy as np
import pytest

import ember
import ember.distributed as dist
import ember.multiprocessing as emp
from dist_oracle import free_port
from ember.nn.parallel import DistributedDataParallel as DDP

W = 3                 # ranks of the collectives job
DEADLINE = 60         # seconds any launch may take before its processes are killed
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)




def _spawn(fn, nprocs, *args):
    """ember.multiprocessing.spawn with a deadline: past it, kill every process and fail."""
    ctx = emp.spawn(fn, args=args, nprocs=nprocs, join=False)
    end = time.monotonic() + DEADLINE
    try:
        while not ctx.join(timeout=max(0.0, end - time.monotonic())):
            if time.monotonic() >= end:
                pytest.fail(f"{fn.__name__} did not finish within {DEADLINE}s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
                p.join()


def _results(outdir, nprocs):
    out = []
    for r in range(nprocs):
        with open(os.path.join(outdir, f"{r}.pkl"), "rb") as f:
            out.append(pickle.load(f))
    return out


# ---- the collectives job: CASES[name] = (run in rank r, expected for rank r) ----------------
def _x(rank, dtype="float32"):
    a = np.arange(6, dtype=np.float64).reshape(2, 3) * (rank + 1) - 2 * rank
    return (a % 3 == 0) if dtype == "bool" else a.astype(dtype)


def _t(a):
    return ember.tensor(a)


def _all_reduce_run(op, dtype, rank):
    t = _t(_x(rank, dtype))
    assert dist.all_reduce(t, op=getattr(dist.ReduceOp, op)) is None
    return t.numpy()


_NP_OPS = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum,
           "MAX": np.maximum, "BAND": np.bitwise_and, "BOR": np.bitwise_or,
           "BXOR": np.bitwise_xor}


def _all_reduce_expected(op, dtype, rank):
    acc = functools.reduce(_NP_OPS[op], [_x(r, dtype) for r in range(W)])
    return acc / W if op == "AVG" else acc


CASES = {}
for _op, _dtypes in [("SUM", ("float32", "int64", "bool", "float16")),
                     ("PRODUCT", ("float32", "int64", "bool")), ("MIN", ("float32", "int64")),
                     ("MAX", ("float32", "bool")), ("AVG", ("float32", "float64")),
                     ("BAND", ("int64", "bool")), ("BOR", ("int64",)), ("BXOR", ("int64",))]:
    for _dt in _dtypes:
        CASES[f"all_reduce_{_op}_{_dt}"] = (functools.partial(_all_reduce_run, _op, _dt),
                                            functools.partial(_all_reduce_expected, _op, _dt))


def _random(rank):
    return np.random.default_rng(rank).standard_normal(1001).astype(np.float32)


def case(fn):
    """Register run function `fn` with the expected function `fn.expected`."""
    CASES[fn.__name__] = (fn, None)
    return fn


def expects(run):
    def register(expected):
        CASES[run.__name__] = (run, expected)
        return expected
    return register


@case
def all_reduce_bits(rank):
    t = _t(_random(rank))
    dist.all_reduce(t)
    return t.numpy()


@expects(all_reduce_bits)
def _(rank):
    return (_random(0) + _random(1)) + _random(2)     # float32, in rank order


@case
def all_reduce_strided_and_async(rank):
    base = _t(_x(rank))
    work = dist.all_reduce(base.t(), async_op=True)   # a non-contiguous view, in place
    assert work.wait() is True and work.is_completed() and work.result()[0].shape == (3, 2)
    c = _t(np.array([1 + 2j, rank * 1j], np.complex64))
    dist.all_reduce(c)
    return base.numpy(), c.numpy()


@expects(all_reduce_strided_and_async)
def _(rank):
    return sum(_x(r) for r in range(W)), np.array([3 + 6j, 3j], np.complex64)


@case
def reduce_broadcast(rank):
    t, b = _t(_x(rank)), _t(_x(rank))
    dist.reduce(t, dst=1)
    dist.broadcast(b, src=2)
    return t.numpy(), b.numpy()


@expects(reduce_broadcast)
def _(rank):
    return (sum(_x(r) for r in range(W)) if rank == 1 else _x(rank)), _x(2)


@case
def gathers(rank):
    outs = [ember.zeros(2, 3) for _ in range(W)]
    dist.all_gather(outs, _t(_x(rank)))
    flat = ember.zeros(2 * W, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        dist.all_gather_into_tensor(flat, _t(_x(rank)))
    got = [ember.zeros(2, 3) for _ in range(W)] if rank == 0 else None
    dist.gather(_t(_x(rank)), got, dst=0)
    return ([o.numpy() for o in outs], flat.numpy(),
            None if got is None else [g.numpy() for g in got])


@expects(gathers)
def _(rank):
    xs = [_x(r) for r in range(W)]
    return xs, np.concatenate(xs), xs if rank == 0 else None


@case
def scatters(rank):
    t = ember.zeros(2, 3)
    dist.scatter(t, [_t(_x(r) * 10) for r in range(W)] if rank == 1 else None, src=1)
    rs = ember.zeros(2, 3)
    dist.reduce_scatter(rs, [_t(_x(rank) + j) for j in range(W)])
    rst = ember.zeros(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        dist.reduce_scatter_tensor(rst, _t(np.concatenate([_x(rank) * j for j in range(W)])),
                                   op=dist.ReduceOp.MAX)
    return t.numpy(), rs.numpy(), rst.numpy()


@expects(scatters)
def _(rank):
    return (_x(rank) * 10, sum(_x(r) + rank for r in range(W)),
            functools.reduce(np.maximum, [_x(r) * rank for r in range(W)]))


@case
def all_to_all(rank):
    outs = [ember.zeros(2) for _ in range(W)]
    dist.all_to_all(outs, [ember.full((2,), 10.0 * rank + j) for j in range(W)])
    inp = ember.cat([ember.full((j + 1, 2), 10.0 * rank + j) for j in range(W)])
    out = ember.zeros(W * (rank + 1), 2)
    dist.all_to_all_single(out, inp, [rank + 1] * W, [j + 1 for j in range(W)])
    even = ember.zeros(W)
    dist.all_to_all_single(even, ember.arange(W) + 10.0 * rank)
    return [o.numpy() for o in outs], out.numpy(), even.numpy()


@expects(all_to_all)
def _(rank):
    return ([np.full(2, 10.0 * j + rank, np.float32) for j in range(W)],
            np.concatenate([np.full((rank + 1, 2), 10.0 * j + rank, np.float32)
                            for j in range(W)]),
            np.array([10.0 * j + rank for j in range(W)], np.float32))


@case
def point_to_point(rank):
    nxt, prev = (rank + 1) % W, (rank - 1) % W
    work = dist.isend(_t(_x(rank)), nxt, tag=7)
    got = ember.zeros(2, 3)
    sender = dist.recv(got, prev, tag=7)
    assert work.wait() is True
    if rank == 1:                                     # two messages on one channel
        dist.send(ember.tensor([1.0]), 0)
        dist.send(ember.tensor([2.0]), 0)
    ordered = None
    if rank == 0:
        a, b = ember.zeros(1), ember.zeros(1)
        wa, wb = dist.irecv(a, 1), dist.irecv(b, 1)
        wb.wait()                                     # out of order: b is still the 2nd
        wa.wait()
        ordered = (a.item(), b.item(), wa.is_completed(), wb.is_completed())
    if rank != 2:
        dist.send(ember.tensor([float(rank)]), 2, tag=3)
    anysrc = None
    if rank == 2:
        got_any = []
        for _ in range(2):
            t = ember.zeros(1)
            src = dist.recv(t, tag=3)
            got_any.append((src, t.item()))
        anysrc = sorted(got_any)
    return got.numpy(), sender, ordered, anysrc


@expects(point_to_point)
def _(rank):
    return (_x((rank - 1) % W), (rank - 1) % W, (1.0, 2.0, True, True) if rank == 0 else None,
            [(0, 0.0), (1, 1.0)] if rank == 2 else None)


@case
def objects(rank):
    everyone = [None] * W
    dist.all_gather_object(everyone, {"rank": rank, "x": [rank] * rank})
    bcast = [None, None] if rank != 1 else ["from one", (1, 2)]
    dist.broadcast_object_list(bcast, src=1)
    gathered = [None] * W if rank == 2 else None
    dist.gather_object(f"r{rank}", gathered, dst=2)
    mine = [None]
    dist.scatter_object_list(mine, [{"to": r} for r in range(W)] if rank == 0 else None, src=0)
    return everyone, bcast, gathered, mine


@expects(objects)
def _(rank):
    return ([{"rank": r, "x": [r] * r} for r in range(W)], ["from one", (1, 2)],
            [f"r{r}" for r in range(W)] if rank == 2 else None, [{"to": rank}])


@case
def subgroup(rank):
    g = dist.new_group([2, 0])
    if rank == 1:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert dist.all_reduce(ember.ones(1), group=g) is None
        return g, dist.get_rank(g), dist.get_world_size(g)
    t = _t(_x(rank))
    dist.all_reduce(t, group=g)
    b = ember.full((1,), float(rank))
    dist.broadcast(b, src=2, group=g)
    dist.barrier(group=g)
    return t.numpy(), dist.get_rank(g), dist.get_world_size(g), dist.get_process_group_ranks(g), \
        b.item()


@expects(subgroup)
def _(rank):
    if rank == 1:
        return -100, -1, -1
    return _x(0) + _x(2), rank // 2, 2, [0, 2], 2.0


@case
def batched_p2p_and_object_lists(rank):
    nxt, prv = (rank + 1) % W, (rank - 1) % W
    got = ember.zeros(2, 3)
    ops = [dist.P2POp(dist.isend, _t(_x(rank)), nxt), dist.P2POp(dist.irecv, got, prv)]
    for work in dist.batch_isend_irecv(ops):
        work.wait()
    objs = [None, None]
    if rank == 0:
        dist.send_object_list([{"to": 1}, ("tuple", 2.5)], dst=1)
        sender = None
    elif rank == 1:
        sender = dist.recv_object_list(objs, src=0)
    else:
        sender = None
    assert dist.monitored_barrier() is None
    mine, groups = dist.new_subgroups_by_enumeration([[0, 2], [1]])
    t = ember.full((1,), float(rank + 1))
    dist.all_reduce(t, group=mine)
    ones, all_ones = dist.new_subgroups(group_size=1)
    return (got.numpy(), objs, sender, t.item(), dist.get_process_group_ranks(mine),
            len(groups), dist.get_world_size(ones), len(all_ones))


@expects(batched_p2p_and_object_lists)
def _(rank):
    return (_x((rank - 1) % W), [{"to": 1}, ("tuple", 2.5)] if rank == 1 else [None, None],
            0 if rank == 1 else None, 2.0 if rank == 1 else 4.0, [1] if rank == 1 else [0, 2],
            2, 1, W)


@case
def state(rank):
    dist.barrier()
    assert dist.barrier(async_op=True).wait()
    return (dist.is_initialized(), dist.get_rank(), dist.get_world_size(), dist.get_backend(),
            dist.get_process_group_ranks(dist.group.WORLD))


@expects(state)
def _(rank):
    return True, rank, W, "gloo", list(range(W))


def _collectives_worker(rank, port, outdir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=W, timeout=timedelta(seconds=30))
    results = {name: run(rank) for name, (run, _) in CASES.items()}
    dist.destroy_process_group()
    assert not dist.is_initialized()
    with open(os.path.join(outdir, f"{rank}.pkl"), "wb") as f:
        pickle.dump(results, f)


@pytest.fixture(scope="module")
def collectives(tmp_path_factory):
    outdir = str(tmp_path_factory.mktemp("collectives"))
    _spawn(_collectives_worker, W, free_port(), outdir)
    return _results(outdir, W)


def _assert_same(got, expected):
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype, (got, expected)
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected), (got, expected)
        for g, e in zip(got, expected):
            _assert_same(g, e)
    else:
        assert got == expected


@pytest.mark.parametrize("name", list(CASES))
def test_collective_matches_numpy(collectives, name):
    expected = CASES[name][1]
    for rank in range(W):
        _assert_same(collectives[rank][name], expected(rank))


def test_reductions_are_bit_identical_on_every_rank(collectives):
    for name in CASES:
        if name.startswith("all_reduce"):
            for rank in range(1, W):
                assert pickle.dumps(collectives[rank][name]) == \
                    pickle.dumps(collectives[0][name]), name


# ---- DistributedDataParallel, launched like torchrun (env://) --------------------------------
def _model(seed):
    ember.manual_seed(seed)
    return ember.nn.Sequential(ember.nn.Linear(5, 7), ember.nn.Tanh(), ember.nn.Linear(7, 3))


def _batch(step):
    rng = np.random.default_rng(100 + step)
    return (ember.tensor(rng.standard_normal((8, 5)), dtype=ember.float32),
            ember.tensor(rng.standard_normal((8, 3)), dtype=ember.float32))


def _shard(t, rank, nranks):
    n = len(t) // nranks
    return t[rank * n:(rank + 1) * n]


def _sgd_steps(model, steps, loss_of):
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        opt.zero_grad()
        loss_of(model, step).backward()
        opt.step()


class _Branchy(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = ember.nn.Linear(5, 3), ember.nn.Linear(5, 3)
        self.register_buffer("scale", ember.full((3,), float(dist.get_rank() + 1)))

    def forward(self, x):
        return self.used(x) * self.scale


def _ddp_main():
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group(backend="gloo", timeout=timedelta(seconds=30))
    mse = ember.nn.functional.mse_loss
    out = {"elastic": dist.is_torchelastic_launched(), "local_rank": dist.get_node_local_rank()}
    ddp = DDP(_model(seed=rank))                       # rank 1's init is replaced by rank 0's
    out["init"] = [p.detach().numpy().copy() for p in ddp.module.parameters()]
    out["keys"] = list(ddp.state_dict())
    x, y = _batch(0)
    mse(ddp(_shard(x, rank, size)), _shard(y, rank, size)).backward()
    out["grads"] = [p.grad.numpy().copy() for p in ddp.parameters()]
    ddp.zero_grad()
    with ddp.no_sync():                               # accumulate locally, then sync
        mse(ddp(_shard(x, rank, size)), _shard(y, rank, size)).backward()
    out["local"] = [p.grad.numpy().copy() for p in ddp.parameters()]
    x1, y1 = _batch(1)
    mse(ddp(_shard(x1, rank, size)), _shard(y1, rank, size)).backward()
    out["accumulated"] = [p.grad.numpy().copy() for p in ddp.parameters()]
    _sgd_steps(ddp, 3, lambda m, s: mse(m(_shard(_batch(s)[0], rank, size)),
                                        _shard(_batch(s)[1], rank, size)))
    out["trained"] = [p.detach().numpy().copy() for p in ddp.parameters()]

    branchy = DDP(_Branchy(), find_unused_parameters=True)
    mse(branchy(_shard(x, rank, size)), _shard(y, rank, size)[:, :3]).backward()
    out["unused"] = [None if p.grad is None else p.grad.numpy().copy()
                     for p in branchy.parameters()]
    out["buffer"] = branchy.module.scale.numpy().copy()
    strict = DDP(_Branchy())
    mse(strict(x), y).backward()
    try:
        strict(x)
    except RuntimeError as e:
        out["unfinished"] = str(e)
    sampler = ember.utils.data.DistributedSampler(list(range(8)), shuffle=False)
    out["sampler"] = list(sampler)
    dist.destroy_process_group()
    with open(os.path.join(os.environ["EMBER_TEST_OUT"], f"{rank}.pkl"), "wb") as f:
        pickle.dump(out, f)


def _torchrun(main, nprocs, outdir):
    """Start `main` of this file in nprocs processes with torchrun's environment variables."""
    port = free_port()
    code = f"import sys; sys.path.insert(0, {HERE!r}); import test_distributed; " \
           f"test_distributed.{main}()"
    procs = []
    for r in range(nprocs):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(r),
                   LOCAL_RANK=str(r), WORLD_SIZE=str(nprocs), LOCAL_WORLD_SIZE=str(nprocs),
                   TORCHELASTIC_RUN_ID="test", EMBER_TEST_OUT=outdir,
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    end = time.monotonic() + DEADLINE
    try:
        for p in procs:
            out, _ = p.communicate(timeout=max(0.1, end - time.monotonic()))
            assert p.returncode == 0, out.decode()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return _results(outdir, nprocs)


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    return _torchrun("_ddp_main", 2, str(tmp_path_factory.mktemp("ddp")))


def _single_process(init, steps=None, batches=(0,)):
    """The reference: one process, the whole batch."""
    model = _model(seed=0)
    with ember.no_grad():
        for p, a in zip(model.parameters(), init):
            p.copy_(ember.tensor(a))
    mse = ember.nn.functional.mse_loss
    if steps:
        _sgd_steps(model, steps, lambda m, s: mse(m(_batch(s)[0]), _batch(s)[1]))
        return [p.detach().numpy() for p in model.parameters()]
    for b in batches:
        mse(model(_batch(b)[0]), _batch(b)[1]).backward()
    return [p.grad.numpy() for p in model.parameters()]


def _close(got, expected):
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_ddp_broadcasts_rank0_parameters_and_prefixes_state_dict(ddp_runs):
    r0, r1 = ddp_runs
    _close(r1["init"], r0["init"])
    _close(r0["init"], [p.detach().numpy() for p in _model(seed=0).parameters()])
    assert r0["keys"] == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]


def test_ddp_gradients_match_single_process_on_the_full_batch(ddp_runs):
    r0, r1 = ddp_runs
    _close(r0["grads"], _single_process(r0["init"]))
    for a, b in zip(r0["grads"], r1["grads"]):
        np.testing.assert_array_equal(a, b)


def test_ddp_no_sync_accumulates_locally_then_averages(ddp_runs):
    r0, r1 = ddp_runs
    assert any(not np.array_equal(a, b) for a, b in zip(r0["local"], r1["local"]))
    _close(r0["accumulated"], _single_process(r0["init"], batches=(0, 1)))
    _close(r1["accumulated"], r0["accumulated"])


def test_ddp_training_matches_single_process(ddp_runs):
    r0, r1 = ddp_runs
    for a, b in zip(r0["trained"], r1["trained"]):
        np.testing.assert_array_equal(a, b)
    # the optimizer started from the no_sync test's accumulated gradients: zero_grad clears
    # them first, so three plain steps from the initial parameters are the reference
    _close(r0["trained"], _single_process(r0["init"], steps=3))


def test_ddp_find_unused_parameters_and_buffers(ddp_runs):
    r0, r1 = ddp_runs
    assert r0["unused"][2] is None and r0["unused"][3] is None     # `unused` keeps no grad
    np.testing.assert_array_equal(r0["unused"][0], r1["unused"][0])
    np.testing.assert_array_equal(r1["buffer"], np.ones(3, np.float32))  # rank 0's buffer


def test_ddp_unused_parameter_without_detection_raises_torch_error(ddp_runs):
    msg = ddp_runs[0]["unfinished"]
    assert msg.startswith("Expected to have finished reduction in the prior iteration")
    assert "find_unused_parameters=True" in msg
    assert msg.endswith("Parameter indices which did not receive grad for rank 0: 2 3\n In "
                        "addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG "
                        "to either INFO or DETAIL to print out information about which "
                        "particular parameters did not receive gradient on this rank as part of "
                        "this error")


def test_torchrun_environment(ddp_runs):
    assert [r["elastic"] for r in ddp_runs] == [True, True]
    assert [r["local_rank"] for r in ddp_runs] == [0, 1]
    assert [r["sampler"] for r in ddp_runs] == [[0, 2, 4, 6], [1, 3, 5, 7]]


def test_ddp_arguments_like_torch():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DDP(ember.nn.Linear(2, 2))


# ---- file:// init, and a peer that goes away -------------------------------------------------
def _file_worker(rank, path, outdir):
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=2)
    t = ember.full((4,), float(rank + 1))
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    result = {"product": t.numpy()}
    if rank == 0:
        try:
            dist.recv(ember.zeros(1), 1)              # rank 1 exits: an error, no hang
        except RuntimeError as e:
            result["closed"] = str(e)
    with open(os.path.join(outdir, f"{rank}.pkl"), "wb") as f:
        pickle.dump(result, f)


def test_file_init_and_closed_peer(tmp_path):
    _spawn(_file_worker, 2, str(tmp_path / "store"), str(tmp_path))
    r0, r1 = _results(str(tmp_path), 2)
    np.testing.assert_array_equal(r0["product"], np.full(4, 2.0, np.float32))
    np.testing.assert_array_equal(r1["product"], r0["product"])
    assert r0["closed"].startswith("Connection closed by peer")


# ---- multiprocessing.spawn -------------------------------------------------------------------
def _crash(rank):
    if rank == 1:
        raise ValueError("boom from rank one")
    time.sleep(30)                                    # terminated by the parent


def _exit_code(rank):
    os._exit(3 if rank == 0 else 0)


def test_spawn_raises_child_traceback():
    start = time.monotonic()
    with pytest.raises(emp.ProcessRaisedException) as info:
        _spawn(_crash, 2)
    assert info.value.error_index == 1
    assert str(info.value).startswith("\n\n-- Process 1 terminated with the following error:\n"
                                      "Traceback (most recent call last):")
    assert "ValueError: boom from rank one" in str(info.value)
    assert time.monotonic() - start < 25              # rank 0 was terminated, not awaited


def test_spawn_exit_code_and_exports():
    with pytest.raises(emp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        _spawn(_exit_code, 2)
    import multiprocessing
    for name in ("Process", "Queue", "get_context", "set_start_method", "Pool"):
        assert getattr(emp, name) is getattr(multiprocessing, name)
    assert issubclass(emp.ProcessRaisedException, emp.ProcessException)


def test_import_ember_does_not_import_distributed():
    code = ("import sys, ember, ember.nn, ember.nn.parallel; "
            "assert 'ember.distributed' not in sys.modules; "
            "assert 'ember.multiprocessing' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=DEADLINE)


# ---- errors, against torch's (in this process) -----------------------------------------------
@pytest.fixture(scope="module")
def torch():
    import torch            # imported here, not at the top: the ranks import this file
    return torch


def _raised(fn):
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


def _same_error(torch, call, message=True):
    """Run call(dist_module, tensor_module) with torch and with ember: the same error."""
    import torch.distributed as tdist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, ours = _raised(lambda: call(tdist, torch)), _raised(lambda: call(dist, ember))
    assert theirs is not None
    assert (ours if message else ours[0]) == (theirs if message else theirs[0])


NOT_INITIALIZED = [
    lambda d, t: d.get_rank(), lambda d, t: d.get_world_size(), lambda d, t: d.get_backend(),
    lambda d, t: d.all_reduce(t.ones(2)), lambda d, t: d.barrier(),
    lambda d, t: d.broadcast(t.ones(2), 0), lambda d, t: d.send(t.ones(2), 1),
    lambda d, t: d.all_gather([t.ones(2)], t.ones(2)), lambda d, t: d.new_group([0]),
    lambda d, t: d.destroy_process_group(), lambda d, t: d.all_reduce([t.ones(2)]),
]


@pytest.mark.parametrize("i", range(len(NOT_INITIALIZED)))
def test_errors_before_init_match_torch(torch, i):
    assert not dist.is_initialized()
    _same_error(torch, NOT_INITIALIZED[i])


def test_availability_matches_torch(torch, monkeypatch):
    import torch.distributed as tdist
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    for name in ("is_available", "is_initialized", "is_gloo_available", "is_nccl_available",
                 "is_torchelastic_launched"):
        assert getattr(dist, name)() == getattr(tdist, name)(), name
    assert str(dist.ReduceOp.SUM) == str(tdist.ReduceOp.SUM) == "RedOpType.SUM"
    assert dist.ReduceOp.MAX == tdist.ReduceOp.MAX == 4
    assert dist.GroupMember.NON_GROUP_MEMBER == tdist.GroupMember.NON_GROUP_MEMBER
    assert list(dist.ReduceOp.RedOpType.__members__) == list(tdist.ReduceOp.RedOpType.__members__)


INIT_ERRORS = [
    ({}, lambda d: d.init_process_group("gloo")),
    ({"MASTER_ADDR": "127.0.0.1", "RANK": "0", "WORLD_SIZE": "1"},
     lambda d: d.init_process_group("gloo")),
    ({}, lambda d: d.init_process_group("gloo", init_method="tcp://127.0.0.1:1234")),
    ({}, lambda d: d.init_process_group("gloo", init_method="tcp://127.0.0.1:1234", rank=0)),
    ({}, lambda d: d.init_process_group("gloo", init_method="tcp://127.0.0.1", rank=0,
                                        world_size=1)),
    ({}, lambda d: d.init_process_group("gloo", init_method="file:///tmp/x", world_size=1)),
    ({}, lambda d: d.init_process_group("gloo", init_method="bogus://x", rank=0,
                                        world_size=1)),
    ({}, lambda d: d.init_process_group("gloo", timeout=5)),
]


@pytest.mark.parametrize("i", range(len(INIT_ERRORS)))
def test_init_errors_match_torch(torch, monkeypatch, i):
    env, call = INIT_ERRORS[i]
    for var in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    _same_error(torch, lambda d, t: call(d))


@pytest.fixture(scope="module")
def world_of_one(torch):
    """ember and torch each initialised with a world of one rank, in this process."""
    import torch.distributed as tdist
    for d in (dist, tdist):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}",
                                 rank=0, world_size=1)
    yield
    for d in (dist, tdist):
        d.destroy_process_group()


def _o(t, *shape, dtype=None):
    return t.ones(*shape, dtype=dtype)


WORLD_OF_ONE_ERRORS = [
    lambda d, t: d.broadcast(_o(t, 2), 1),
    lambda d, t: d.reduce(_o(t, 2), dst=1),
    lambda d, t: d.broadcast(_o(t, 2), src=None),
    lambda d, t: d.all_gather([_o(t, 2), _o(t, 2)], _o(t, 2)),
    lambda d, t: d.all_gather([_o(t, 2, 3)], _o(t, 3, 2)),
    lambda d, t: d.all_gather([_o(t, 2, dtype=t.int64)], _o(t, 2)),
    lambda d, t: d.all_gather_into_tensor(_o(t, 1, 2), _o(t, 2)),
    lambda d, t: d.gather(_o(t, 2), None, dst=0),
    lambda d, t: d.gather(_o(t, 2), [_o(t, 2), _o(t, 2)]),
    lambda d, t: d.gather(_o(t, 2), [_o(t, 3)]),
    lambda d, t: d.scatter(_o(t, 2), None, src=0),
    lambda d, t: d.scatter(_o(t, 2), [_o(t, 2), _o(t, 2)]),
    lambda d, t: d.scatter(_o(t, 2), [_o(t, 3)]),
    lambda d, t: d.reduce_scatter(_o(t, 2), [_o(t, 2), _o(t, 2)]),
    lambda d, t: d.all_to_all([_o(t, 2)], [_o(t, 3)]),
    lambda d, t: d.all_to_all([_o(t, 2), _o(t, 2)], [_o(t, 2), _o(t, 2)]),
    lambda d, t: d.all_to_all_single(_o(t, 4), _o(t, 4), [4], [3]),
    lambda d, t: d.all_to_all_single(_o(t, 4), _o(t, 4), [2, 2], [2, 2]),
    lambda d, t: d.all_reduce(_o(t, 2), op=d.ReduceOp.BAND),
    lambda d, t: d.all_reduce(_o(t, 2, dtype=t.int64), op=d.ReduceOp.AVG),
    lambda d, t: d.all_reduce(_o(t, 2, dtype=t.uint8), op=d.ReduceOp.AVG),
    lambda d, t: d.all_reduce(_o(t, 2, dtype=t.complex64), op=d.ReduceOp.MAX),
    lambda d, t: d.send(_o(t, 2), 0),
    lambda d, t: d.new_group([0, 0]),
    lambda d, t: d.new_group([1]),
    lambda d, t: d.get_rank(5),
    lambda d, t: d.init_process_group("gloo"),
    lambda d, t: d.all_gather_object([], 1),
    lambda d, t: d.P2POp(d.send, t.ones(2), 0),
    lambda d, t: d.P2POp(d.isend, [t.ones(2)], 0),
    lambda d, t: d.batch_isend_irecv([1]),
    lambda d, t: d.batch_isend_irecv((d.P2POp(d.isend, t.ones(2), 0),)),
    lambda d, t: d.send_object_list([1], dst=0),
    lambda d, t: d.recv_object_list([None], src=0),
    lambda d, t: d.new_subgroups(),
    lambda d, t: d.new_subgroups(group_size=0),
    lambda d, t: d.new_subgroups(group_size=2),
    lambda d, t: d.new_subgroups_by_enumeration([]),
    lambda d, t: d.new_subgroups_by_enumeration([[0], [0]]),
    lambda d, t: d.monitored_barrier(timeout=3),
]


@pytest.mark.parametrize("i", range(len(WORLD_OF_ONE_ERRORS)))
def test_errors_in_a_world_of_one_match_torch(world_of_one, torch, i):
    _same_error(torch, WORLD_OF_ONE_ERRORS[i])


@pytest.mark.parametrize("call", [
    lambda d, t: d.reduce_scatter(_o(t, 2), [_o(t, 3)]),
    lambda d, t: d.reduce_scatter_tensor(_o(t, 2), _o(t, 4)),
    lambda d, t: d.all_to_all_single(_o(t, 2), _o(t, 3)),
    lambda d, t: d.all_reduce(_o(t, 2), op=d.ReduceOp.PREMUL_SUM),
])
def test_error_classes_in_a_world_of_one_match_torch(world_of_one, torch, call):
    _same_error(torch, call, message=False)       # torch's text names its C++ source lines


def test_world_of_one_results_match_torch(world_of_one, torch):
    import torch.distributed as tdist
    for d, t in ((dist, ember), (tdist, torch)):
        x = t.arange(6.0).reshape(2, 3)
        assert d.all_reduce(x, op=d.ReduceOp.AVG) is None
        objs = [None]
        d.all_gather_object(objs, {"a": 1})
        with pytest.warns(FutureWarning, match="all_gather_single"):
            d.all_gather_into_tensor(t.zeros(2, 3), x)
        assert objs == [{"a": 1}] and x.tolist() == [[0, 1, 2], [3, 4, 5]]
        assert (d.get_rank(), d.get_world_size(), d.get_backend()) == (0, 1, "gloo")
        w = d.all_reduce(x, async_op=True)
        assert w.wait() is True and w.result()[0] is x
