"""The programs in examples/ run end to end with their --smoke option (a few steps each).

Some runs use the 'mock' device (NumPy under another device name, see ember.backends): a tensor
left behind on the CPU then fails as it would on a GPU."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, *args, cwd):
    # One BLAS thread: the smoke runs' matrices are tiny, and on a busy machine (a parallel
    # test run) multithreaded OpenBLAS waits on itself for orders of magnitude longer.
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_digits_cnn_trains_saves_and_resumes(tmp_path):
    out = run_example("digits_cnn.py", "--smoke", "--save-model", "ckpt.pt", cwd=tmp_path)
    assert "Train Epoch: 1 [0/256 (0%)]" in out
    accuracy = float(re.search(r"Accuracy: \d+/360 \(([\d.]+)%\)", out).group(1))
    assert accuracy > 20                        # one short epoch: well above chance (10%)
    assert (tmp_path / "ckpt.pt").is_file()
    out = run_example("digits_cnn.py", "--smoke", "--epochs", "2", "--resume", "ckpt.pt",
                      "--device", "mock", cwd=tmp_path)
    # StepLR(gamma=0.7) stepped once before the checkpoint: the resumed lr is 0.7.
    assert "resumed from ckpt.pt: epoch 1 done, lr now 7.00e-01" in out
    assert "Train Epoch: 2 [0/256 (0%)]" in out and "Train Epoch: 1 " not in out


def test_char_gpt_trains_and_samples(tmp_path):
    out = run_example("char_gpt.py", "--smoke", "--save", "gpt.pt", "--device", "mock",
                      cwd=tmp_path)
    assert re.search(r"^50,000 characters of the standard library", out, re.M)
    assert "parameters, on mock" in out
    losses = [float(x) for x in re.findall(r"train loss ([\d.]+)", out)]
    assert len(losses) == 3 and losses[-1] < losses[0]
    sample = out.split("---- sample ----\n", 1)[1]
    assert sample.startswith("def ") and len(sample) == len("def ") + 40 + len("\n")
    assert (tmp_path / "gpt.pt").is_file()


def test_autoencoder_custom_function_passes_gradcheck_and_trains(tmp_path):
    out = run_example("autoencoder.py", "--smoke", "--plot", "ae.png", "--device", "mock",
                      cwd=tmp_path)
    assert "gradcheck: Swish's backward matches finite differences and F.silu" in out
    mses = [float(x) for x in re.findall(r"test MSE ([\d.]+)", out)]
    assert len(mses) == 2 and mses[1] < mses[0]
    assert (tmp_path / "ae.png").read_bytes().startswith(b"\x89PNG")


def test_ddp_digits_trains_two_processes_in_step(tmp_path):
    out = run_example("ddp_digits.py", "--smoke", cwd=tmp_path)
    loss = float(re.search(r"epoch 1: mean training loss ([\d.]+) over 192 samples on 2 "
                           r"processes", out).group(1))
    assert 0 < loss < 2.5
    assert "all 2 processes hold the same parameters: True" in out
