"""ember.utils.benchmark against torch.utils.benchmark: Measurement statistics and repr, and
Compare's tables (layout, units, significant figures, colours, warnings), from the same raw
times in both; the Timer's measurements and errors."""
import re

import pytest
import torch
import torch.utils.benchmark as TB

import ember
import ember.utils.benchmark as EB

TIMES = {"fast": [1.02e-5, 1.0e-5, 1.01e-5, 0.99e-5, 1.03e-5],
         "slow": [2.5e-5, 2.4e-5, 3.9e-5, 2.45e-5, 2.2e-5, 2.6e-5],
         "noisy": [4e-3, 9e-3, 5e-3, 1.2e-2],
         "single": [3.3e-4]}


def _measure(B, times, number=100, **spec):
    spec = {"stmt": "x + 1", "setup": "pass", **spec}
    return B.Measurement(number, list(times), B.TaskSpec(**spec))


def _text(obj):
    return re.sub(r" at 0x[0-9a-f]+>", ">", repr(obj) if not isinstance(obj, str) else obj)


@pytest.mark.parametrize("name", list(TIMES))
@pytest.mark.parametrize("spec", [{}, {"label": "add", "sub_label": "n=10", "description": "cpu"},
                                  {"stmt": "y = x + 1\nz = y * 2", "setup": "x = 1\ny = 2"},
                                  {"num_threads": 4, "env": "py311"}])
def test_measurement_statistics_and_repr(name, spec):
    e, t = _measure(EB, TIMES[name], **spec), _measure(TB, TIMES[name], **spec)
    for attr in ("mean", "median", "iqr", "times"):
        assert getattr(e, attr) == pytest.approx(getattr(t, attr), rel=1e-12), attr
    for attr in ("significant_figures", "has_warnings", "title", "env", "as_row_name"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert _text(e) == _text(t)
    assert e.meets_confidence(0.05) == t.meets_confidence(0.05)


def _results(B):
    out = []
    for i, (name, times) in enumerate(TIMES.items()):
        for desc, scale in (("ember", 1.0), ("torch", 1.7)):
            out.append(_measure(B, [x * scale for x in times], label="ops", sub_label=name,
                                description=desc, num_threads=1 + (i % 2)))
    out.append(_measure(B, TIMES["fast"], label="other", sub_label="fast", description="x",
                        env="a"))
    out.append(_measure(B, TIMES["slow"], label="other", sub_label="slow", description="x",
                        env="b"))
    return out


@pytest.mark.parametrize("options", [(), ("trim_significant_figures",), ("colorize",),
                                     ("highlight_warnings", "trim_significant_figures"),
                                     ("rowwise",)])
def test_compare_tables_match_torch(options):
    tables = []
    for B in (EB, TB):
        c = B.Compare(_results(B))
        for opt in options:
            if opt == "rowwise":
                c.colorize(rowwise=True)
            else:
                getattr(c, opt)()
        tables.append(str(c))
    assert tables[0] == tables[1]


def test_compare_rejects_non_measurements():
    for B in (EB, TB):
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
            B.Compare([1])


@pytest.mark.parametrize("t", [3e-10, 4.5e-8, 2e-6, 7e-4, 0.3, 12.0])
def test_units_and_sigfigs(t):
    assert EB.select_unit(t) == TB.select_unit(t)
    assert EB.trim_sigfig(t * 3.14159, 2) == pytest.approx(TB.trim_sigfig(t * 3.14159, 2))


def test_timer_measures_ember_code():
    x = ember.ones(10)
    t = EB.Timer("y = torch.sin(x) * 2", globals={"x": x}, label="sin", description="ember")
    m = t.timeit(50)
    assert isinstance(m, EB.Measurement) and m.number_per_run == 50 and len(m.times) == 1
    assert 0 < m.median < 1e-2
    b = t.blocked_autorange(min_run_time=0.02)
    assert sum(b.raw_times) >= 0.02 and b.number_per_run >= 1
    a = t.adaptive_autorange(min_run_time=0.01, max_run_time=0.5)
    assert len(a.times) >= 1 and a.title == "sin"
    assert "sin" in str(EB.Compare([m, b]))


@pytest.mark.parametrize("kwargs", [{"stmt": 3}, {"global_setup": "int x;"},
                                    {"language": "fortran"}])
def test_timer_errors_as_torch(kwargs):
    for B in (EB, TB):
        with pytest.raises(ValueError):
            B.Timer(**kwargs)
