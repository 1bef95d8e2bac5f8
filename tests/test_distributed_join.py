"""torch.distributed.algorithms.join (Join, DistributedDataParallel.join, the ZeRO join hook):
training on uneven inputs against torch's. One program runs on 2 ranks under ember and under
torch with gloo, rank 0 with 2 batches and rank 1 with 4: each iteration's gradients, the
final parameters and buffers, and the errors of throw_on_early_termination must agree."""
import numpy as np
import pytest

from dist_oracle import run_both

PROGRAM = """
import numpy as np
import {lib} as torch
import {lib}.distributed as dist
from {lib}.distributed.algorithms.ddp_comm_hooks import default_hooks as dh
from {lib}.distributed.algorithms.join import Join
from {lib}.distributed.optim import ZeroRedundancyOptimizer as ZeRO
from {lib}.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()
steps = [2, 4][rank]
out = {}


class Counted(torch.nn.Module):
    # dyadic weights, integer inputs; a buffer counting the forwards
    def __init__(self, unused):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(),
                                        torch.nn.Linear(7, 3))
        if unused:
            self.unused = torch.nn.Linear(2, 2)
        rng = np.random.default_rng(0)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.tensor(rng.integers(-2, 3, tuple(p.shape)) / 2.0,
                                     dtype=torch.float32))
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, x):
        with torch.no_grad():
            self.calls += 1
        return self.body(x)


def batch(step):
    rng = np.random.default_rng(10 * step + rank)
    return torch.tensor(rng.integers(-2, 3, (4, 5)), dtype=torch.float32)


def run(name, context, optimizer=None, hook=None, **kwargs):
    ddp = DDP(Counted(kwargs.get("find_unused_parameters", False)), **kwargs)
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    opt = (optimizer or (lambda ps: torch.optim.SGD(ps, lr=2 ** -6)))(ddp.parameters())
    grads = []
    try:
        with context(ddp, opt):
            for step in range(steps):
                opt.zero_grad()
                (ddp(batch(step)) ** 2).sum().backward()
                grads.append([None if p.grad is None else p.grad.numpy().copy()
                              for p in ddp.parameters()])
                opt.step()
        error = None
    except RuntimeError as e:
        error = str(e)
    out[name] = {"grads": grads, "error": error,
                 "params": [p.detach().numpy().copy() for p in ddp.parameters()],
                 "calls": ddp.module.calls.tolist()}


run("join", lambda ddp, opt: ddp.join())
run("effective", lambda ddp, opt: ddp.join(divide_by_initial_world_size=False))
run("fp16", lambda ddp, opt: ddp.join(), hook=dh.fp16_compress_hook)
run("unused", lambda ddp, opt: ddp.join(), find_unused_parameters=True)
run("no_buffers", lambda ddp, opt: ddp.join(), broadcast_buffers=False)
run("zero", lambda ddp, opt: Join([ddp, opt]),
    optimizer=lambda ps: ZeRO(ps, torch.optim.SGD, lr=2 ** -6))
run("throw", lambda ddp, opt: ddp.join(throw_on_early_termination=True))
dist.barrier()
dist.destroy_process_group()
report(out)
"""

CASES = ["join", "effective", "fp16", "unused", "no_buffers", "zero", "throw"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_both(PROGRAM, tmp_path_factory.mktemp("join"))


def _close(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _close(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("name", CASES)
def test_uneven_inputs_match_torch(runs, name):
    for rank in range(2):
        mine, theirs = runs["ember"][rank][name], runs["torch"][rank][name]
        assert mine["error"] == theirs["error"]
        assert mine["calls"] == theirs["calls"]
        _close(mine["grads"], theirs["grads"])
        _close(mine["params"], theirs["params"])


@pytest.mark.parametrize("name", ["join", "effective", "fp16", "unused", "zero"])
def test_every_rank_ends_with_the_last_joiners_model(runs, name):
    r0, r1 = (runs["ember"][r][name] for r in range(2))
    for a, b in zip(r0["params"], r1["params"]):
        np.testing.assert_array_equal(a, b)
    assert r0["calls"] == r1["calls"] == [4.0]


def test_divisor_and_early_termination(runs):
    r0, r1 = runs["ember"]
    # rank 1's first gradients once rank 0 joined: averaged over 2 ranks (rank 0 adds zeros),
    # or over itself alone
    np.testing.assert_array_equal(r1["join"]["grads"][2][0] * 2, r1["effective"]["grads"][2][0])
    assert r0["throw"]["error"] == "Rank 0 exhausted all inputs."
    assert r1["throw"]["error"] == ("Detected at least one rank that exhausted inputs. "
                                    "Throwing across all ranks.")
