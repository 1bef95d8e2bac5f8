import subprocess
import sys


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_ember_leaves_heavy_modules_out():
    out = _run("import sys, ember; print(','.join(m for m in ('torch', 'cupy', 'mpi4py', "
               "'matplotlib', 'tqdm', 'scipy', 'safetensors', 'tensorboardX', 'sklearn') "
               "if m in sys.modules))")
    assert out == ""


def test_version_and_tutorial_prints_like_torch():
    out = _run("import ember as torch\n"
               "x = torch.tensor([1.0, 2, 3]); print(x)\n"
               "a = torch.tensor([1.0, 2, 3], requires_grad=True); print(a)\n"
               "b = a * 2; out = b.mean(); out.backward(); print(a.grad)\n"
               "torch.cuda.empty_cache(); print(torch.__version__)")
    lines = out.splitlines()
    assert lines[:3] == ["tensor([1., 2., 3.])", "tensor([1., 2., 3.], requires_grad=True)",
                         "tensor([0.6667, 0.6667, 0.6667])"]
    assert lines[3].count(".") == 2
