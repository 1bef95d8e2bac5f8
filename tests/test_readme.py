"""README.md stays true: its commands, its code, its extras, and the table of what works (every
name in the ember column is exported by ember, every name in the PyTorch column exists in torch)."""
import contextlib
import importlib
import importlib.util
import io
import os
import re
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as _f:
    README = _f.read()


def section(title):
    """The text of the `## title` section, up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def resolve(name):
    """The object a dotted name such as `ember.nn.LSTM` refers to (importing submodules)."""
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:i + 1]))
    return obj


def table_rows(text):
    """The body rows of the first Markdown table in `text`, as lists of cell strings."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(lines) > 2 and set(lines[1]) <= set("|-: ")
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def names(cell):
    return re.findall(r"`([A-Za-z_][\w.]*)`", cell)


WHAT_WORKS = table_rows(section("What works, side by side with PyTorch"))


def test_quick_start_commands_unchanged():
    block = re.search(r"```bash\n(.*?)```", section("Quick start"), re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.splitlines()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    for script in ("demo.sh", "test.sh"):
        assert os.path.isfile(os.path.join(ROOT, "scripts", script))
    with open(os.path.join(ROOT, "scripts", "demo.sh")) as f:
        assert "ember demo" in f.read()


def test_quick_start_python_prints_what_its_comments_say():
    code = re.search(r"```python\n(.*?)```", section("Quick start"), re.S).group(1)
    expected = [ln.split("# ", 1)[1].strip() for ln in code.splitlines()
                if ln.startswith("print(") and "# " in ln]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == expected == ["tensor([1., 2., 3.])",
                                                       "tensor([0.6667, 0.6667, 0.6667])"]


def test_install_extras_exist_in_pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    mentioned = set(re.findall(r"ember\[(\w+)\]", README))
    assert {"cuda12", "examples"} <= mentioned
    assert mentioned <= set(extras)
    assert "pip install ember " in section("Install")


def test_table_has_the_main_areas():
    areas = [row[0] for row in WHAT_WORKS]
    for area in ("tensors and dtypes", "autograd", "layers", "optimizers", "data", "checkpoints",
                 "GPU", "not in ember"):
        assert area in areas
    assert all(len(row) == 4 for row in WHAT_WORKS)


@pytest.mark.parametrize("row", [r for r in WHAT_WORKS if names(r[2])], ids=lambda r: r[0])
def test_every_ember_name_in_the_table_is_exported(row):
    torch_names, ember_names = names(row[1]), names(row[2])
    assert ember_names and all(n.startswith("ember.") for n in ember_names)
    # Side by side: the same names, torch. -> ember.
    assert ember_names == ["ember." + n[len("torch."):] for n in torch_names]
    for name in ember_names:
        resolve(name)


def _exists_in_torch(name):
    try:
        resolve(name)
    except ModuleNotFoundError as e:           # torch's module needs an optional package
        if e.name is None or e.name.startswith("torch"):
            raise
    return True


@pytest.mark.parametrize("row", WHAT_WORKS, ids=lambda r: r[0])
def test_every_torch_name_in_the_table_exists_in_torch(row):
    pytest.importorskip("torch")
    torch_names = names(row[1])
    assert torch_names and all(n.startswith("torch.") for n in torch_names)
    for name in torch_names:
        assert _exists_in_torch(name)


def test_not_in_ember_row_is_true():
    (row,) = [r for r in WHAT_WORKS if r[0] == "not in ember"]
    assert row[2] == "—"
    for name in names(row[1]):
        with pytest.raises((AttributeError, ImportError)):
            resolve("ember." + name[len("torch."):])


def test_examples_and_commands_named_in_readme_exist():
    for path in re.findall(r"python (examples/\w+\.py)", README):
        assert os.path.isfile(os.path.join(ROOT, path)), path
    from ember.__main__ import COMMANDS
    assert set(re.findall(r"`ember (\w+)", section("Command line"))) == set(COMMANDS)


def test_benchmarks_table_fits_run_all_output():
    text = section("Benchmarks")
    assert "Placeholder" not in text
    spec = importlib.util.spec_from_file_location("run_all", os.path.join(ROOT, "bench",
                                                                          "run_all.py"))
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    header = run_all.format_markdown([]).splitlines()
    assert header == ["| benchmark | ember | torch | speed vs torch |", "|---|---:|---:|---:|"]
    lines = text.splitlines()
    i = lines.index(header[0])
    assert lines[i + 1] == header[1]
    assert any(ln.startswith("CPU: ") for ln in lines[:i])
    rows = [ln for ln in lines[i + 2:] if ln.startswith("| ") and ln != header[0]]
    assert rows and all(ln.rstrip().endswith("x |") for ln in rows)


def test_gpu_check_script_exists():
    assert "bash scripts/gpu_check.sh" in section("GPU checks")
    assert os.path.isfile(os.path.join(ROOT, "scripts", "gpu_check.sh"))
