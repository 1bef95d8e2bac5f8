"""The `ember` command line: `ember demo` (the default), `ember info`, `ember bench`."""
import os
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

import ember
from ember import __main__ as cli
from ember._cli import bench as bench_cmd, demo as demo_cmd, info as info_cmd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


# --- the entry point ---------------------------------------------------------------------------

def test_python_m_ember_help_and_version():
    proc = _python("-m", "ember", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())          # argparse wraps to the terminal width
    assert "{demo,info,bench}" in text and "With no command, runs `ember demo`" in text
    proc = _python("-m", "ember", "--version")
    api = torch.__version__.split("+")[0]
    assert proc.stdout.strip() == f"ember {ember.version.ember_version} (the torch {api} API)"
    proc = _python("-m", "ember", "nope")
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr


def test_cli_never_imports_torch(tmp_path):
    code = ("import sys; from ember.__main__ import main; main(['info']); "
            f"main(['demo', '--epochs', '1', '--out', {str(tmp_path)!r}]); "
            "print('torch' in sys.modules)")
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[-1] == "False"


def test_pyproject_declares_the_console_script():
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["scripts"] == {"ember": "ember.__main__:main"}
    assert {"scikit-learn", "matplotlib", "tqdm"} <= set(
        meta["project"]["optional-dependencies"]["examples"])


@pytest.mark.parametrize("argv, epochs", [([], 12), (["--epochs", "3"], 3),
                                          (["demo", "--epochs", "2"], 2)])
def test_demo_is_the_default_command(monkeypatch, argv, epochs):
    seen = []
    monkeypatch.setattr(demo_cmd, "run", lambda args: seen.append(args) or 0)
    assert cli.main(argv) == 0
    (args,) = seen
    assert (args.cmd, args.epochs, args.batch_size, args.lr, args.seed, args.out, args.device) == (
        "demo", epochs, 32, 2e-3, 0, "ember_demo_out", None)


# --- ember demo ----------------------------------------------------------------------------------

def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_demo_with_default_settings_reaches_95_percent(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # The tutorial prints what torch prints.
    assert lines[1:4] == ["tensor([1., 2., 3.])", "tensor([1., 2., 3.], requires_grad=True)",
                          "tensor([0.6667, 0.6667, 0.6667])"]
    assert "1437 training and 360 test images" in out
    accuracy = float(re.search(r"test accuracy: ([\d.]+)% \((\d+)/360\)", out).group(1))
    assert accuracy >= 95.0, out
    assert "reloaded into a fresh model: identical predictions" in out
    # One tqdm bar per epoch, with loss and accuracy.
    assert re.search(r"epoch 12/12: 100%.*45/45.*acc=[\d.]+%, loss=[\d.]+, test_acc=", err)
    assert _png_size(out_dir / "ember_demo.png") == (1300, 480)
    state = ember.load(out_dir / "digits_cnn.pt")
    assert list(state)[:2] == ["0.weight", "0.bias"] and state["0.weight"].shape == (16, 1, 3, 3)
    # The checkpoint is a real torch file.
    ref = torch.load(out_dir / "digits_cnn.pt")
    np.testing.assert_array_equal(ref["9.weight"].numpy(), state["9.weight"].numpy())


def test_demo_runs_on_another_device(tmp_path, capsys):
    """The 'mock' device is NumPy under another device name: every tensor must be moved."""
    assert cli.main(["demo", "--device", "mock", "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "on mock" in out and "identical predictions" in out


def test_demo_missing_extras_names_the_pip_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert cli.main(["demo", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out == ("ember demo needs scikit-learn, tqdm, which are not installed.\n"
                   "Install them with:  pip install 'ember[examples]'\n")
    assert not os.listdir(tmp_path)


def test_demo_wrong_device_string_says_what_was_given():
    with pytest.raises(SystemExit) as e:
        cli.main(["demo", "--device", "gpu"])
    with pytest.raises(RuntimeError) as ref:
        ember.device("gpu")
    assert str(e.value) == f"ember demo: invalid --device 'gpu': {ref.value}"
    assert "cpu, cuda" in str(e.value) and str(e.value).endswith("device string: gpu")


def test_demo_cuda_without_gpu_says_how_to_fix(monkeypatch):
    monkeypatch.setattr(ember.cuda, "is_available", lambda: False)
    assert demo_cmd.default_device() == "cpu"
    with pytest.raises(SystemExit, match=r"asked for a GPU, but ember sees none .*"
                                         r"pip install 'ember\[cuda12\]'.*--device cpu"):
        cli.main(["demo", "--device", "cuda:0"])


# --- ember info ----------------------------------------------------------------------------------

def _info(capsys):
    assert cli.main(["info"]) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        label, _, value = line.partition(":")
        rows[label.strip()] = value.strip()
    return rows


def test_info_reports_versions_and_blas(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    rows = _info(capsys)
    api = torch.__version__.split("+")[0]
    assert rows["ember"].startswith(f"{ember.version.ember_version}, torch API {api} (")
    assert rows["Python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert rows["NumPy"] == np.__version__
    assert rows["torch"] == torch.__version__
    assert (rows["CuPy"], rows["CUDA runtime"], rows["GPUs"]) == ("not installed", "-", "none")
    assert rows["BLAS"] == info_cmd.blas_info() and rows["BLAS"]
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert rows["BLAS"].startswith(f"{blas[0]['internal_api']} {blas[0]['version']} (")


def test_info_blas_falls_back_to_numpy_build_config(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert info_cmd.blas_info() == f"{blas['name']} {blas['version']} (NumPy build configuration)"


def test_info_lists_the_gpus_cupy_sees(monkeypatch, capsys):
    props = [{"name": b"NVIDIA H100 80GB HBM3", "totalGlobalMem": 80 * 2**30, "major": 9,
              "minor": 0},
             {"name": b"NVIDIA A10", "totalGlobalMem": 24 * 2**30, "major": 8, "minor": 6}]
    runtime = types.SimpleNamespace(runtimeGetVersion=lambda: 12080,
                                    getDeviceCount=lambda: len(props),
                                    getDeviceProperties=lambda i: props[i])
    fake = types.SimpleNamespace(__version__="14.0.1",
                                 cuda=types.SimpleNamespace(runtime=runtime))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "CuPy:         14.0.1\nCUDA runtime: 12.8\n" in out
    assert ("GPUs:         cuda:0  NVIDIA H100 80GB HBM3  80.0 GiB  compute capability 9.0\n"
            "              cuda:1  NVIDIA A10  24.0 GiB  compute capability 8.6\n") in out


def test_info_survives_a_cupy_without_driver(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver")
    runtime = types.SimpleNamespace(runtimeGetVersion=no_driver)
    fake = types.SimpleNamespace(__version__="14.0.1",
                                 cuda=types.SimpleNamespace(runtime=runtime))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert info_cmd.cupy_info() == ("14.0.1", None,
                                    ["none (RuntimeError: cudaErrorInsufficientDriver)"])


# --- ember bench and bench/run_all.py ----------------------------------------------------------

FAKE_BENCH = '''
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import HEADER, row
print(HEADER)
print(row("tiny op", 2e-6, 4e-6))
print(row("matmul 8x8", 3e-3, None, "ms", 1e3))
print("a note")
'''


@pytest.fixture
def fake_bench_dir(tmp_path):
    """A bench/ folder with run_all.py, the real _common.py and three scripts: one good, one
    that fails, and a bench_gpu.py that run_all must skip."""
    d = tmp_path / "bench"
    d.mkdir()
    for name in ("run_all.py", "_common.py"):
        shutil.copy(os.path.join(ROOT, "bench", name), d / name)
    (d / "bench_a.py").write_text(FAKE_BENCH)
    (d / "bench_b.py").write_text("raise SystemExit('no luck')\n")
    (d / "bench_gpu.py").write_text("raise SystemExit('must not run')\n")
    return d


def _load_run_all(path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("run_all_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_all_parses_the_rows_that_common_row_prints():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        from _common import HEADER, row
    finally:
        sys.path.pop(0)
    run_all = _load_run_all(os.path.join(ROOT, "bench", "run_all.py"))
    text = "\n".join([HEADER, row("per-op fwd+bwd (100 ops, 16 elem)", 4.88e-6, 6.32e-6),
                      row("matmul 1024x1024 f32 fwd+bwd", 0.04212, 0.03872, "ms", 1e3),
                      row("ember only", 1.5e-3, None, "ms", 1e3), "", "done in 3 s"])
    rows, notes = run_all.parse(text)
    assert rows == [("per-op fwd+bwd (100 ops, 16 elem)", 4.88, "us", 6.32, 1.30),
                    ("matmul 1024x1024 f32 fwd+bwd", 42.12, "ms", 38.72, 0.92),
                    ("ember only", 1.5, "ms", None, None)]
    assert notes == ["done in 3 s"]


def test_run_all_collects_tables_skips_gpu_and_reports_failures(fake_bench_dir, capsys):
    run_all = _load_run_all(fake_bench_dir / "run_all.py")
    assert [os.path.basename(p) for p in run_all.bench_files(str(fake_bench_dir))] == [
        "bench_a.py", "bench_b.py"]
    assert run_all.main(["--markdown"]) == 1          # bench_b failed
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Machine: ") and f"{os.cpu_count()} cores" in out[0]
    assert out[1:] == ["| benchmark | ember | torch | speed vs torch |", "|---|---:|---:|---:|",
                       "| tiny op | 2.00 us | 4.00 us | 2.00x |",
                       "| matmul 8x8 | 3.00 ms | - | - |",
                       "| bench_b.py: FAILED (exit status 1: no luck) | | | |"]
    assert run_all.main(["--only", "_a"]) == 0
    text = capsys.readouterr().out
    assert "  tiny op " in text and "2.00x" in text and "bench_b" not in text


def test_ember_bench_runs_run_all_from_the_checkout(fake_bench_dir, monkeypatch, capsys):
    assert bench_cmd.find_run_all() == os.path.join(ROOT, "bench", "run_all.py")
    monkeypatch.setattr(bench_cmd, "find_run_all", lambda: str(fake_bench_dir / "run_all.py"))
    assert cli.main(["bench", "--only", "bench_a", "--markdown"]) == 0
    assert "| tiny op | 2.00 us | 4.00 us | 2.00x |" in capsys.readouterr().out


def test_ember_bench_without_a_checkout_says_so(monkeypatch, capsys):
    monkeypatch.setattr(bench_cmd, "find_run_all", lambda: None)
    assert cli.main(["bench"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ember bench: no bench/run_all.py next to this ember")
    assert "pip install -e ." in out
