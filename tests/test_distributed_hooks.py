"""DistributedDataParallel communication hooks (register_comm_hook, GradBucket, Work.get_future
and torch.distributed.algorithms.ddp_comm_hooks.default_hooks) against torch's: one program
runs on 2 ranks under ember and under torch with gloo; the gradients after each backward, the
buckets the hooks see and the errors must be the same."""
import numpy as np
import pytest

from dist_oracle import run_both

PROGRAM = """
import numpy as np
import {lib} as torch
import {lib}.distributed as dist
from {lib}.distributed.algorithms.ddp_comm_hooks import DDPCommHookType, default_hooks as dh
from {lib}.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from {lib}.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()
out = {}


# dyadic weights and integer inputs: every gradient is exact in float32, so ember and torch
# agree bit for bit whatever order their matmuls sum in
def model():
    m = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3),
                            torch.nn.Linear(3, 40))
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(rng.integers(-2, 3, tuple(p.shape)) / 2.0,
                                 dtype=torch.float32))
    return m


def batch(step):
    rng = np.random.default_rng(10 * step + rank)
    return torch.tensor(rng.integers(-2, 3, (4, 5)), dtype=torch.float32)


def loss(output):
    return (output ** 2).sum() * 0.5


def record(state, bucket):
    buf = bucket.buffer()
    state.append((bucket.index(), bucket.is_last(), [tuple(p.shape) for p in bucket.parameters()],
                  tuple(buf.shape), str(buf.dtype),
                  [(tuple(g.shape), g.storage_offset() - buf.storage_offset())
                   for g in bucket.gradients()], buf.numpy().copy()))
    return dist.all_reduce(buf, async_op=True).get_future().then(lambda f: f.value()[0] * 0.5)


def nested(state, bucket):
    # a second collective issued and waited for inside the first one's callback
    def halve_and_sum_again(fut):
        again = fut.value()[0] * 0.25
        return dist.all_reduce(again, async_op=True).get_future().wait()[0]
    return dist.all_reduce(bucket.buffer(), async_op=True).get_future().then(
        halve_and_sum_again)


def noop(state, bucket):
    fut = torch.futures.Future()
    fut.set_result(bucket.buffer())
    return fut


def tripled_double(state, bucket):
    fut = torch.futures.Future()
    fut.set_result(bucket.buffer().double() * 3)
    return fut


def annotated(state, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    return dh.allreduce_hook(state, bucket)


def train(name, hook=None, state=None, steps=3, register=None, **kwargs):
    # the gradients of `steps` iterations (of different batches, the parameters fixed)
    ddp = DDP(model(), **kwargs)
    if hook is not None:
        ddp.register_comm_hook(state, hook)
    if register is not None:
        register(ddp)
    grads = []
    for step in range(steps):
        ddp.zero_grad()
        loss(ddp(batch(step))).backward()
        grads.append([p.grad.numpy().copy() for p in ddp.parameters()])
    out[name] = grads


train("none")
train("allreduce", dh.allreduce_hook)
train("allreduce_group", dh.allreduce_hook, dist.new_group([0, 1]))
train("fp16", dh.fp16_compress_hook)
train("fp16_wrapper", dh.fp16_compress_wrapper(dh.allreduce_hook))
train("enum", register=lambda m: DDPCommHookType.FP16_COMPRESS.value(model=m, state=None))
train("noop", noop)
train("nested", nested)
for name, kwargs in [("powersgd", {}), ("powersgd_rank3", {"matrix_approximation_rank": 3,
                                                          "min_compression_rate": 0.1}),
                     ("powersgd_cold", {"warm_start": False, "use_error_feedback": False}),
                     ("powersgd_batched", {"batch_tensors_with_same_shape": True})]:
    train(name, powerSGD.powerSGD_hook, powerSGD.PowerSGDState(None, start_powerSGD_iter=2,
                                                               **kwargs), steps=4)
train("powersgd_enum", steps=4, register=lambda m: DDPCommHookType.POWER_SGD_RANK2.value(
    model=m, state=None, start_powerSGD_iter=2))
train("noop_enum", register=lambda m: DDPCommHookType.NOOP.value(model=m, state=None))
train("builtin_allreduce", register=lambda m: m._register_builtin_comm_hook(
    dist.BuiltinCommHookType.ALLREDUCE))
train("builtin_fp16", register=lambda m: m._register_builtin_comm_hook(
    dist.BuiltinCommHookType.FP16_COMPRESS))
train("double", tripled_double, steps=1)
train("annotated", annotated, steps=1)
for name, kwargs in [("record_default", {}), ("record_small", {"bucket_cap_mb": 0.0002}),
                     ("record_small_unused", {"bucket_cap_mb": 0.0002,
                                              "find_unused_parameters": True}),
                     ("record_static", {"bucket_cap_mb": 0.0002, "static_graph": True})]:
    seen = []
    train(name, record, seen, **kwargs)
    out[name + "_buckets"] = seen

# no_sync: accumulate locally, then reduce through the hook
ddp = DDP(model())
ddp.register_comm_hook(None, dh.fp16_compress_hook)
with ddp.no_sync():
    loss(ddp(batch(0))).backward()
loss(ddp(batch(1))).backward()
out["no_sync"] = [p.grad.numpy().copy() for p in ddp.parameters()]



def future_value(work):
    value = work.get_future().wait()
    return type(value).__name__, [v.tolist() for v in value]


gathered = [torch.zeros(2), torch.zeros(2)]
out["get_future"] = [
    future_value(dist.all_reduce(torch.ones(2) * (rank + 1), async_op=True)),
    future_value(dist.all_gather(gathered, torch.ones(2) * rank, async_op=True)),
    future_value(dist.reduce(torch.ones(2) * (rank + 1), 0, async_op=True)),
    future_value(dist.broadcast(torch.ones(2) * (rank + 1), 1, async_op=True)),
    future_value(dist.barrier(async_op=True))]
if rank == 0:
    p2p = dist.isend(torch.ones(2), 1)
else:
    p2p = dist.irecv(torch.zeros(2), 0)
try:
    p2p.get_future()
except RuntimeError as e:
    out["p2p_future"] = str(e)
p2p.wait()


# a layer used on rank 0 only, and one used nowhere: their gradients in the buckets are zeros
class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.head, self.unused = model(), torch.nn.Linear(40, 2), torch.nn.Linear(2, 2)

    def forward(self, x):
        y = self.body(x)
        return self.head(y) if rank == 0 else y


def train_branchy(name, hook, **kwargs):
    ddp = DDP(Branchy(), find_unused_parameters=True, bucket_cap_mb=0.0002, **kwargs)
    with torch.no_grad():
        ddp.module.head.weight.fill_(0.5)
        ddp.module.head.bias.fill_(0.25)
    seen = []
    ddp.register_comm_hook(seen, hook)
    grads = []
    for step in range(2):
        ddp.zero_grad()
        loss(ddp(batch(step))).backward()
        grads.append([None if p.grad is None else p.grad.numpy().copy()
                      for p in ddp.parameters()])
    out[name] = grads
    out[name + "_buckets"] = seen


train_branchy("branchy", record)


# a static graph finds the unused parameters itself, and puts them last when rebuilding
class WithUnused(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.unused = model(), torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.body(x)


seen = []
ddp = DDP(WithUnused(), static_graph=True, bucket_cap_mb=0.0002)
ddp.register_comm_hook(seen, record)
grads = []
for step in range(3):
    ddp.zero_grad()
    loss(ddp(batch(step))).backward()
    grads.append([None if p.grad is None else p.grad.numpy().copy() for p in ddp.parameters()])
out["static_unused"], out["static_unused_buckets"] = grads, seen


def error(fn):
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


def register(hook):
    return lambda: DDP(model()).register_comm_hook(None, hook)


def bucket_named_b(state, b):
    return noop(state, b)


def bad_bucket_annotation(state, bucket: int):
    return noop(state, bucket)


def bad_return_annotation(state, bucket) -> int:
    return noop(state, bucket)


def returns_tensor(state, bucket):
    return bucket.buffer()


def returns_list_future(state, bucket):
    return dist.all_reduce(bucket.buffer(), async_op=True).get_future()


def backward_with(hook):
    def run():
        ddp = DDP(model())
        ddp.register_comm_hook(None, hook)
        loss(ddp(batch(0))).backward()
    return run


twice = DDP(model())
twice.register_comm_hook(None, dh.allreduce_hook)
out["errors"] = [error(lambda: twice.register_comm_hook(None, dh.allreduce_hook)),
                 error(register(3)), error(register(dh.bf16_compress_hook)),
                 error(register(dh.bf16_compress_wrapper(dh.allreduce_hook))),
                 error(register(bucket_named_b)), error(register(bad_bucket_annotation)),
                 error(register(bad_return_annotation)),
                 error(lambda: twice._register_builtin_comm_hook(
                     dist.BuiltinCommHookType.ALLREDUCE))]
out["backward_errors"] = [error(backward_with(returns_tensor)),
                          error(backward_with(returns_list_future))]
dist.barrier()
dist.destroy_process_group()
report(out)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_both(PROGRAM, tmp_path_factory.mktemp("hooks"))


def _equal(a, b):
    """Exact equality of nested results (NumPy arrays compared bit for bit)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, (a, b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _equal(x, y)
    else:
        assert a == b


TRAINED = ["none", "allreduce", "allreduce_group", "fp16", "fp16_wrapper", "enum", "noop",
           "nested", "noop_enum", "builtin_allreduce", "builtin_fp16", "double", "annotated",
           "record_default", "record_small", "record_small_unused", "record_static", "no_sync",
           "branchy", "static_unused"]


@pytest.mark.parametrize("name", TRAINED)
def test_gradients_match_torch(runs, name):
    for rank in range(2):
        _equal(runs["ember"][rank][name], runs["torch"][rank][name])


def test_the_hooks_change_the_gradients(runs):
    r0, r1 = runs["ember"]
    _equal(r0["allreduce"], r0["none"])
    _equal(r0["builtin_allreduce"], r0["none"])
    _equal(r0["nested"], r0["none"])
    _equal(r0["builtin_fp16"], r0["fp16"])
    _equal(r0["noop_enum"], r0["noop"])
    assert not np.array_equal(r0["fp16"][0][0], r0["none"][0][0])     # float16 rounding
    assert not np.array_equal(r0["noop"][0][0], r1["noop"][0][0])     # not reduced: local
    _equal(r0["fp16"], r1["fp16"])


@pytest.mark.parametrize("name", ["powersgd", "powersgd_rank3", "powersgd_cold",
                                  "powersgd_batched", "powersgd_enum"])
def test_powersgd_matches_torch(runs, name):
    # the first two iterations are plain all_reduce (exact); then float32 matrix products and
    # normalisations, whose summation order differs, so to rounding
    for rank in range(2):
        mine, theirs = runs["ember"][rank][name], runs["torch"][rank][name]
        _equal(mine[:2], theirs[:2])
        for a, b in zip(mine[2:], theirs[2:], strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)
    # (rank 2 compresses none of these small matrices at the default min_compression_rate)
    compressed = name != "powersgd_enum"
    assert np.allclose(runs["ember"][0][name][2][0], runs["ember"][0]["none"][2][0]) != \
        compressed


@pytest.mark.parametrize("name", ["record_default", "record_small", "record_small_unused",
                                  "record_static", "branchy", "static_unused"])
def test_buckets_match_torch(runs, name):
    for rank in range(2):
        _equal(runs["ember"][rank][name + "_buckets"], runs["torch"][rank][name + "_buckets"])


def test_buckets_are_rebuilt_in_ready_order(runs):
    seen = runs["ember"][0]["record_small_buckets"]
    assert [b[:3] for b in seen[:1]] == [(0, True, [(7, 5), (7,), (3, 7), (3,), (40, 3), (40,)])]
    assert [b[2] for b in seen[1:3]] == [[(40,), (40, 3)], [(3,), (3, 7), (7,), (7, 5)]]


def test_get_future_matches_torch(runs):
    for rank in range(2):
        assert runs["ember"][rank]["get_future"] == runs["torch"][rank]["get_future"]
        assert runs["ember"][rank]["p2p_future"] == runs["torch"][rank]["p2p_future"] == \
            "Work::getFuture not implemented."
    assert runs["ember"][0]["get_future"][:2] == [("list", [[3.0, 3.0]]),
                                                  ("list", [[0.0, 0.0], [1.0, 1.0]])]


def test_registration_errors_match_torch(runs):
    assert runs["ember"][0]["errors"] == runs["torch"][0]["errors"]


def test_bad_hook_results_raise_like_torch(runs):
    (e_tensor, e_list), (t_tensor, t_list) = (runs[lib][0]["backward_errors"]
                                              for lib in ("ember", "torch"))
    assert e_tensor[0] == t_tensor[0] == e_list[0] == t_list[0] == "RuntimeError"
    # torch's text starts with pybind11's cast failure
    assert t_tensor[1].endswith(e_tensor[1]) and e_tensor[1].startswith("DDP communication")
