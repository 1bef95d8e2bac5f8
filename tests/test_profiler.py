"""ember.profiler / ember.autograd.profiler against torch's: the schedule's actions, when
on_trace_ready runs and which steps it sees, the events an op and its backward record, the
table's layout (columns, widths, footer), grouping by input shape, Chrome traces; and that the
op table is restored when profiling stops."""
import gzip
import json
import re

import pytest
import torch

import ember
from ember.ops._registry import OPS


@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1,
                                repeat=2), dict(wait=2, warmup=1, active=3, skip_first=3),
                                dict(wait=3, warmup=1, active=1, skip_first=2,
                                     skip_first_wait=1)])
def test_schedule_matches_torch(kw):
    e, t = ember.profiler.schedule(**kw), torch.profiler.schedule(**kw)
    assert [e(i).name for i in range(20)] == [t(i).name for i in range(20)]


def test_schedule_checks_and_enums_match_torch():
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
            lib.profiler.schedule(wait=0, warmup=0, active=0)
        with pytest.warns(UserWarning, match="won't be using warmup"):
            lib.profiler.schedule(wait=0, warmup=0, active=1)
    for enum in ("ProfilerActivity", "ProfilerAction"):
        E, T = getattr(ember.profiler, enum), getattr(torch.profiler, enum)
        assert {k: v.value for k, v in E.__members__.items()} == \
            {k: v.value for k, v in T.__members__.items()}


def _steps_seen(lib, n_steps, **sched):
    """How many step ranges and aten::sum events each on_trace_ready call sees."""
    seen = []

    def ready(prof):
        names = [e.name for e in prof.events()]
        seen.append((names.count("ProfilerStep*"), names.count("aten::sum")))
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              schedule=lib.profiler.schedule(**sched),
                              on_trace_ready=ready) as prof:
        for _ in range(n_steps):
            lib.ones(3).sum()
            prof.step()
    return seen, prof.step_num


@pytest.mark.filterwarnings("ignore:Profiler clears events")
@pytest.mark.parametrize("n,sched", [(5, dict(wait=1, warmup=1, active=2)),
                                     (9, dict(wait=0, warmup=1, active=2, repeat=2)),
                                     (4, dict(wait=1, warmup=1, active=3))])
def test_trace_ready_cycles_match_torch(n, sched):
    assert _steps_seen(ember, n, **sched) == _steps_seen(torch, n, **sched)


def _run(lib, record_shapes=False, group=False):
    m = lib.nn.Linear(4, 3)
    x = lib.randn(2, 4, requires_grad=True)
    with lib.profiler.profile(record_shapes=record_shapes) as prof:
        with lib.profiler.record_function("model_inference"):
            y = m(x).relu().sum()
        y.backward()
    return prof, prof.key_averages(group_by_input_shape=group).table(sort_by="cpu_time_total")


def test_events_of_ops_backward_and_ranges():
    prof, _ = _run(ember)
    names = [e.name for e in prof.events()]
    for name in ("model_inference", "aten::linear", "aten::relu", "aten::sum",
                 "autograd::engine::evaluate_function: SumBackward0",
                 "autograd::engine::evaluate_function: AddmmBackward0"):
        assert name in names
    _, table_t = _run(torch)
    for name in ("model_inference", "aten::linear", "aten::relu", "aten::sum",
                 "autograd::engine::evaluate_function: AddmmBackward0"):
        assert name in table_t            # torch records the same names
    outer = next(e for e in prof.events() if e.name == "model_inference")
    inner = sum(e.cpu_time_total for e in prof.events()
                if e.name in ("aten::linear", "aten::relu", "aten::sum"))
    assert outer.cpu_time_total >= inner
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - inner, abs=1e-3)
    avg = prof.key_averages()
    assert {a.key: a.count for a in avg}["aten::linear"] == 1
    assert avg.self_cpu_time_total == pytest.approx(sum(e.self_cpu_time_total
                                                        for e in prof.events()))


def _columns(rule):
    """(start, end) of each column of a table's rule line."""
    return [m.span() for m in re.finditer(r"-+", rule)]


def _check_rows(table):
    """Every row fills its columns right-aligned, as torch's row format does."""
    lines = table.splitlines()
    spans = _columns(lines[0])
    for line in lines[1:2] + lines[3:-2]:
        for start, end in spans:
            assert line[end - 1] != " " and line[end:end + 2] == "  ", (line, start, end)
    return lines


def _masked(line):
    return [re.sub(r"\d+(\.\d+)?(us|ms|s|%)?$", "#", tok) for tok in line.split()]


@pytest.mark.parametrize("group", [False, True])
def test_table_layout_matches_torch(group):
    _, te = _run(ember, record_shapes=True, group=group)
    _, tt = _run(torch, record_shapes=True, group=group)
    le, lt = _check_rows(te), _check_rows(tt)
    assert [c.strip() for c in le[1].split("  ") if c] == [c.strip() for c in lt[1].split("  ")
                                                          if c]
    fixed = 7                      # name and six time/count columns: the same widths
    assert _columns(le[0])[:fixed] == _columns(lt[0])[:fixed]
    assert len(_columns(le[0])) == len(_columns(lt[0])) == fixed + group
    assert _masked(le[-1]) == _masked(lt[-1]) == ["Self", "CPU", "time", "total:", "#"]
    relu_e = next(r for r in le if r.split()[0] == "aten::relu")
    relu_t = next(r for r in lt if r.split()[0] == "aten::relu")
    assert _masked(relu_e)[:7] == _masked(relu_t)[:7]
    if group:
        assert "[[2, 4], [3, 4], [3]]" in te and "[[2, 4], [3, 4], [3]]" in tt


def test_profiling_restores_the_op_table_and_stale_wrappers_are_harmless():
    before = {name: list(op.impl) for name, op in OPS.items()}
    x = ember.ones(3, requires_grad=True)
    with ember.autograd.profiler.profile() as prof:
        y = (x * 2).sum()                 # its graph keeps the timing wrappers
    assert {name: list(op.impl) for name, op in OPS.items()} == before
    y.backward()                          # after the profile: runs, records nothing
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    assert "aten::mul" in [e.name for e in prof.events()]
    with ember.profiler.profile(schedule=ember.profiler.schedule(wait=5, warmup=1, active=1)):
        pass                              # never recording: nothing installed
    assert {name: list(op.impl) for name, op in OPS.items()} == before


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    prof, _ = _run(ember, record_shapes=True)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    names = {e["name"] for e in events}
    assert {"model_inference", "aten::linear"} <= names
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    for gz in (False, True):
        out = tmp_path / f"tb{gz}"
        handler = ember.profiler.tensorboard_trace_handler(str(out), worker_name="w",
                                                           use_gzip=gz)
        with ember.profiler.profile(on_trace_ready=handler):
            ember.ones(2).sum()
        (f,) = list(out.iterdir())
        assert re.fullmatch(r"w\.\d+\.pt\.trace\.json" + (r"\.gz" if gz else ""), f.name)
        text = gzip.decompress(f.read_bytes()) if gz else f.read_bytes()
        assert "aten::sum" in {e["name"] for e in json.loads(text)["traceEvents"]}


def test_record_function_as_decorator_and_outside_a_profile():
    @ember.profiler.record_function("my_block")
    def block(x):
        return x.exp()
    assert block(ember.zeros(1)).item() == 1.0           # no profiler: just runs
    with ember.autograd.profiler.profile() as prof:
        block(ember.zeros(1))
    assert [e.name for e in prof.events()] == ["aten::exp", "my_block"]


def test_ops_of_modules_imported_mid_profile_are_recorded():
    """ember.nn.functional's ops exist once it is imported: a profile begun before that import
    records them too (they ran unwrapped, unrecorded), softmax's last-dim quick path as well."""
    import subprocess
    import sys
    code = ("import ember\n"
            "x = ember.ones(8, 4)\n"
            "with ember.profiler.profile() as prof:\n"
            "    import ember.nn.functional as F\n"
            "    F.log_softmax(x, 1); x.softmax(1); x.softmax(0)\n"
            "print(sorted(e.name for e in prof.events()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split("\n")[0] == str(["aten::log_softmax", "aten::softmax",
                                             "aten::softmax"])
