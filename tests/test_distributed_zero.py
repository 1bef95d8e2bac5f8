"""torch.distributed.optim (ZeroRedundancyOptimizer, and PostLocalSGDOptimizer with the
post-local-SGD hook and a PeriodicModelAverager) against torch's: one program runs on 2 ranks
under ember and under torch with gloo. Within each library ZeRO must train exactly like the
unsharded optimizer; across them the partitions, state dicts and errors are the same and the
parameters equal to float32 rounding (ember's and torch's matmuls sum in different orders)."""
import numpy as np
import pytest

from dist_oracle import run_both

PROGRAM = """
import copy
import numpy as np
import {lib} as torch
import {lib}.distributed as dist
from {lib}.distributed.algorithms.ddp_comm_hooks import post_localSGD_hook as plsgd
from {lib}.distributed.algorithms.model_averaging import averagers
from {lib}.distributed.optim import PostLocalSGDOptimizer, ZeroRedundancyOptimizer as ZeRO
from {lib}.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()
out = {}


def model():
    m = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3),
                            torch.nn.Linear(3, 40))
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)), dtype=torch.float32))
    return m


def batch(step):
    rng = np.random.default_rng(10 * step + rank)
    return torch.tensor(rng.standard_normal((4, 5)), dtype=torch.float32)


def plain(obj):
    # tensors -> arrays, recursively
    if torch.is_tensor(obj):
        return obj.detach().numpy().copy()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


def train(ddp, opt, steps, first=0):
    params = []
    for step in range(first, first + steps):
        opt.zero_grad()
        (ddp(batch(step)) ** 2).mean().backward()
        opt.step()
        params.append([p.detach().numpy().copy() for p in ddp.parameters()])
    return params


def run(name, make_optimizer, steps=3):
    ddp = DDP(model())
    opt = make_optimizer(ddp.module)
    out[name] = train(ddp, opt, steps)
    return ddp, opt


def groups(m):
    return [{"params": list(m[0].parameters())},
            {"params": list(m[2].parameters()) + list(m[3].parameters()), "lr": 5e-3}]


ddp, zero = run("zero_adam", lambda m: ZeRO(m.parameters(), torch.optim.Adam, lr=1e-2))
run("adam", lambda m: torch.optim.Adam(m.parameters(), lr=1e-2))
out["partition"] = [[tuple(p.shape) for p in g["params"]] for g in zero.optim.param_groups]
out["unconsolidated"] = None
try:
    zero.state_dict()
except RuntimeError as e:
    out["unconsolidated"] = str(e)
zero.consolidate_state_dict(to=1)
saved = [copy.deepcopy(zero.state_dict()) if rank == 1 else None]  # (it shares zero's tensors)
out["state_dict"] = plain(saved[0])
dist.broadcast_object_list(saved, src=1)

# resume: a new model and ZeRO loading the saved state continue like the original
resumed = DDP(model())
with torch.no_grad():
    for p, q in zip(resumed.parameters(), ddp.parameters()):
        p.copy_(q)
zero2 = ZeRO(resumed.parameters(), torch.optim.Adam, lr=0.5)
zero2.load_state_dict(saved[0])
out["loaded_lr"] = [g["lr"] for g in zero2.param_groups + zero2.optim.param_groups]
out["resumed"] = train(resumed, zero2, 2, first=3)
out["continued"] = train(ddp, zero, 2, first=3)

run("zero_groups", lambda m: ZeRO(groups(m), torch.optim.SGD, lr=1e-2, momentum=0.9))
run("groups", lambda m: torch.optim.SGD(groups(m), lr=1e-2, momentum=0.9))
run("zero_bucket_view", lambda m: ZeRO(m.parameters(), torch.optim.SGD, lr=1e-2,
                                       momentum=0.9, parameters_as_bucket_view=True))


def added(m, zero):
    opt = (ZeRO(m[0].parameters(), torch.optim.Adam, lr=1e-2) if zero else
           torch.optim.Adam(m[0].parameters(), lr=1e-2))
    opt.add_param_group({"params": list(m[2].parameters()) + list(m[3].parameters()),
                         "lr": 2e-2})
    return opt


_, zero_added = run("zero_added", lambda m: added(m, True))
run("added", lambda m: added(m, False))
out["added_partition"] = [[tuple(p.shape) for p in g["params"]]
                          for g in zero_added.optim.param_groups]


# local SGD: gradients averaged over the world for 2 iterations, then within each rank alone;
# the parameters averaged every 2 steps after 2 warm-up steps
local, _ = dist.new_subgroups(group_size=1)
ddp = DDP(model())
ddp.register_comm_hook(plsgd.PostLocalSGDState(None, local, start_localSGD_iter=2),
                       plsgd.post_localSGD_hook)
local_sgd = PostLocalSGDOptimizer(torch.optim.SGD(ddp.parameters(), lr=1e-2, momentum=0.9),
                                  averagers.PeriodicModelAverager(period=2, warmup_steps=2))
out["local_sgd"] = train(ddp, local_sgd, 6)
out["local_sgd_state"] = plain(local_sgd.state_dict())


def error(fn):
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


m = model()
out["errors"] = [
    error(lambda: ZeRO(torch.ones(2), torch.optim.SGD, lr=0.1)),
    error(lambda: ZeRO(3, torch.optim.SGD, lr=0.1)),
    error(lambda: ZeRO([], torch.optim.SGD, lr=0.1)),
    error(lambda: ZeRO([m[0].weight, {"params": [m[0].bias]}], torch.optim.SGD, lr=0.1)),
    error(lambda: ZeRO([{"lr": 0.1}], torch.optim.SGD, lr=0.1)),
    error(lambda: ZeRO([m[0].weight, m[0].bias.double()], torch.optim.SGD, lr=0.1)),
    error(lambda: averagers.PeriodicModelAverager(period=0)),
    error(lambda: averagers.PeriodicModelAverager(period=2, warmup_steps=-1)),
]
dist.barrier()
dist.destroy_process_group()
report(out)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_both(PROGRAM, tmp_path_factory.mktemp("zero"))


def _compare(a, b, exact):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _compare(a[k], b[k], exact)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _compare(x, y, exact)
    else:
        assert a == b


@pytest.mark.parametrize("lib", ["ember", "torch"])
@pytest.mark.parametrize("zero,reference", [("zero_adam", "adam"), ("zero_groups", "groups"),
                                            ("zero_bucket_view", "groups"),
                                            ("zero_added", "added"), ("resumed", "continued")])
def test_zero_trains_like_the_unsharded_optimizer(runs, lib, zero, reference):
    for r in runs[lib]:
        if zero == "zero_bucket_view":     # one group of lr 1e-2: not the reference's groups
            _compare(r[zero], runs[lib][0][zero], exact=True)
            continue
        _compare(r[zero], r[reference], exact=True)


@pytest.mark.parametrize("name", ["zero_adam", "zero_groups", "zero_bucket_view", "zero_added",
                                  "resumed", "continued", "local_sgd", "local_sgd_state"])
def test_parameters_match_torch(runs, name):
    for rank in range(2):
        _compare(runs["ember"][rank][name], runs["torch"][rank][name], exact=False)


@pytest.mark.parametrize("name", ["partition", "added_partition", "unconsolidated",
                                  "loaded_lr", "errors"])
def test_partition_and_errors_match_torch(runs, name):
    for rank in range(2):
        assert runs["ember"][rank][name] == runs["torch"][rank][name]


def test_partition_is_torchs_greedy_rule(runs):
    # sizes 120, 40, 35, 21, 7, 3: rank 0 takes the largest, rank 1 the next four and the 3
    assert runs["ember"][0]["partition"] == [[(40, 3)]]
    assert runs["ember"][1]["partition"] == [[(40,), (7, 5), (3, 7), (7,), (3,)]]


def test_state_dict_matches_torch(runs):
    mine, theirs = runs["ember"][1]["state_dict"], runs["torch"][1]["state_dict"]
    assert sorted(mine["state"]) == list(range(6))
    _compare(mine, theirs, exact=False)
    assert runs["ember"][0]["state_dict"] is None


def test_local_sgd_averages_every_other_step(runs):
    r0, r1 = (runs["ember"][r]["local_sgd"] for r in range(2))
    for step, (a, b) in enumerate(zip(r0, r1)):
        same = all(np.array_equal(x, y) for x, y in zip(a, b))
        assert same == (step in (0, 1, 2, 4)), step       # all_reduce, then averaged steps
    assert runs["ember"][0]["local_sgd_state"]["step"] == 6
