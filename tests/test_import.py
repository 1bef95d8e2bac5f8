import subprocess
import sys

import pytest


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_ember_leaves_heavy_modules_out():
    out = _run("import sys, ember; print(','.join(m for m in ('torch', 'cupy', 'mpi4py', "
               "'matplotlib', 'tqdm', 'scipy', 'safetensors', 'tensorboardX', 'sklearn', 'onnx', "
               "'onnxruntime') "
               "if m in sys.modules))")
    assert out == ""


def test_import_ember_leaves_numpy_random_out():
    """numpy.random (with hashlib, secrets and zlib behind it) is a tenth of the import budget;
    the default generator's entropy comes from os.urandom, its mt19937 on the first draw."""
    out = _run("import sys, ember; print(','.join(m for m in ('numpy.random', 'hashlib', 'zlib') "
               "if m in sys.modules))")
    assert out == ""
    assert _run("import ember; a = ember.initial_seed(); ember.rand(1); "
                "print(a == ember.initial_seed(), 0 <= a < 2 ** 64)") == "True True"


def test_lazy_subpackages_load_on_first_use_only():
    """`import ember` leaves ember.nn, ember.distributions, ember.library, ... unloaded."""
    out = _run("import sys, ember; print(','.join(m for m in sorted(ember._LAZY_MODULES) "
               "if 'ember.' + m in sys.modules))")
    assert out == ""
    assert _run("import ember; print(ember.profiler.__name__, ember.library.__name__)") == \
        "ember.profiler ember.library"


def test_version_and_tutorial_prints_like_torch():
    out = _run("import ember as torch\n"
               "x = torch.tensor([1.0, 2, 3]); print(x)\n"
               "a = torch.tensor([1.0, 2, 3], requires_grad=True); print(a)\n"
               "b = a * 2; out = b.mean(); out.backward(); print(a.grad)\n"
               "torch.cuda.empty_cache(); print(torch.__version__)")
    lines = out.splitlines()
    assert lines[:3] == ["tensor([1., 2., 3.])", "tensor([1., 2., 3.], requires_grad=True)",
                         "tensor([0.6667, 0.6667, 0.6667])"]
    import torch
    assert lines[3] == torch.__version__.split("+")[0] + "+ember.0.1.0"


_FAULTS = ("import os, resource, sys\n"
           "import numpy as np\n"
           "import ember\n"
           "def step():\n"
           "    a = np.ones(1 << 20, np.float32); b = a * 2; del a, b\n"
           "step()\n"
           "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
           "for _ in range(20): step()\n"
           "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_freed_arrays_stay_in_the_heap_for_the_next_step():
    import os
    tuned = int(_run(_FAULTS))
    env = dict(os.environ, EMBER_MALLOC_TUNING="0")
    untuned = int(subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True,
                                 check=True, env=env).stdout)
    # 20 steps x two 4 MiB arrays: ~40,000 page faults when every array is a fresh mapping
    assert tuned < 1000 < untuned


def test_ops_compute_inf_and_nan_silently_as_torch():
    """ember's ops give inf/nan without NumPy's RuntimeWarnings (torch warns nothing); the
    user's own NumPy calls still warn."""
    code = ("import warnings, numpy as np, ember\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    r = [ember.tensor([-2.0]).log1p(), ember.tensor([1.0]) / 0,\n"
            "         ember.tensor([0.0]).log(), ember.tensor([-1.0]).sqrt(),\n"
            "         ember.tensor([1e30]).float() * 1e30]\n"
            "    n = len(w)\n"
            "    np.log(np.array([-1.0]))\n"
            "print(n, len(w), [str(t.item()) for t in r])")
    assert _run(code) == "0 1 ['nan', 'inf', '-inf', 'nan', 'inf']"


_MODULES = ["", ".autograd", ".backends", ".compiler", ".utils", ".utils.hooks", ".optim",
            ".version", ".nn", ".nn.functional", ".linalg", ".fft", ".special", ".cuda",
            ".distributions", ".utils.data", ".amp", ".func", ".random", ".jit", ".profiler",
            ".library", ".nn.utils", ".nn.init", ".optim.lr_scheduler", ".autograd.graph",
            ".sparse", ".serialization", ".functional"]


@pytest.mark.parametrize("name", _MODULES, ids=lambda n: "ember" + n)
def test_dir_lists_the_lazy_names(name):
    """dir() (tab completion) lists every name torch's dir lists and ember has, the ones a
    module-level __getattr__ makes on first use included."""
    import importlib

    import torch
    t, e = importlib.import_module("torch" + name), importlib.import_module("ember" + name)
    names = set(dir(e))
    assert [n for n in dir(t) if not n.startswith("__") and n not in names and hasattr(e, n)] \
        == []


@pytest.mark.parametrize("name,own", [
    ("", {"tensortype"}),                       # the metaclass of ember.FloatTensor & co.
    (".nn", {"LazyModuleMixin", "NonDynamicallyQuantizableLinear"}),    # torch.nn.modules'
    (".nn.functional", {"cdist"}), (".linalg", set()), (".fft", set()), (".special", set()),
    (".nn.init", set()), (".functional", set())], ids=lambda v: v if isinstance(v, str) else "")
def test_public_names_are_torchs(name, own):
    """Every public name of these modules exists in torch's, but for a few of ember's own: the
    op modules' helpers and the names a module imports stay private, torch's method-only names
    (ember.view, ember.copy_) stay off the top level."""
    import importlib
    import types

    import torch
    e, t = importlib.import_module("ember" + name), importlib.import_module("torch" + name)
    assert [n for n in dir(e) if not n.startswith("_") and not hasattr(t, n) and
            not isinstance(getattr(e, n), types.ModuleType)] == sorted(own)


def test_functional_module_is_torchs():
    """torch.functional's names: the same functions as the top level's."""
    import torch

    import ember
    import ember.functional
    assert ember.functional.__all__ == torch.functional.__all__
    assert all(getattr(ember.functional, n) is getattr(ember, n) for n in ember.functional.__all__)


def test_tensor_names_are_torchs():
    """Function-only names (einsum, meshgrid, tensordot) and helpers stay off Tensor."""
    import torch

    import ember
    from ember.nested import _JaggedOnly    # offsets(), lengths(): on jagged tensors only
    assert [n for n in dir(ember.Tensor) if not n.startswith("_") and
            not isinstance(ember.Tensor.__dict__.get(n), _JaggedOnly) and
            not hasattr(torch.Tensor, n)] == ["arr", "be"]      # the array and its backend
    assert not hasattr(ember.ones(2), "offsets") and not hasattr(torch.ones(2), "offsets")
