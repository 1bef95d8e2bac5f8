"""torch.backends.cudnn / cuda / mps, torch.version and torch.cuda.amp as scripts use them:
the same names and default values as the torch CPU build beside ember."""
import warnings

import pytest
import torch

import ember

SWITCHES = ["backends.cudnn.enabled", "backends.cudnn.benchmark",
            "backends.cudnn.deterministic", "backends.cudnn.allow_tf32",
            "backends.cuda.matmul.allow_tf32",
            "backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
            "backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
            "version.hip", "version.debug"]
CALLS = ["backends.cudnn.is_available", "backends.cudnn.version", "backends.mps.is_available",
         "backends.mps.is_built"]


def _get(lib, path):
    for part in path.split("."):
        lib = getattr(lib, part)
    return lib


@pytest.mark.parametrize("path", SWITCHES + CALLS)
def test_defaults_match_the_torch_cpu_build(path):
    want, got = _get(torch, path), _get(ember, path)
    if path in CALLS:
        want, got = want(), got()
    assert got == want


def test_without_cupy_there_is_no_cuda_build():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    assert ember.version.cuda == torch.version.cuda is None
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert ember.backends.cuda.is_built() is False


def test_switches_can_be_set():
    ember.backends.cudnn.benchmark = True
    ember.backends.cuda.matmul.allow_tf32 = True
    try:
        assert ember.backends.cudnn.benchmark and ember.backends.cuda.matmul.allow_tf32
    finally:
        ember.backends.cudnn.benchmark = False
        ember.backends.cuda.matmul.allow_tf32 = False


def test_cuda_amp_spellings_warn_like_torch():
    for make in (lambda lib: lib.cuda.amp.autocast(), lambda lib: lib.cuda.amp.GradScaler()):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            make(ember)
        msgs = [str(w.message) for w in seen if w.category is FutureWarning]
        with warnings.catch_warnings(record=True) as seen_t:
            warnings.simplefilter("always")
            make(torch)
        assert msgs and msgs[0] in [str(w.message) for w in seen_t]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ac = ember.cuda.amp.autocast(dtype=ember.bfloat16)
        scaler = ember.cuda.amp.GradScaler(init_scale=128.0)
        scaler_t = torch.cuda.amp.GradScaler(init_scale=128.0)
    assert (ac.device_type, ac.fast_dtype) == ("cuda", ember.bfloat16)
    # 128 where CUDA runs; without it the scaler disables itself and reports 1.0, as torch's
    assert scaler.get_scale() == (128.0 if ember.cuda.is_available() else scaler_t.get_scale())


def _cpu_library_switches(L):
    """torch.backends.mkldnn / mkl / openmp / opt_einsum / cpu as scripts use them: the switches
    set and restored, the verbose scopes, the availability queries' types."""
    b, seen = L.backends, []
    m = b.mkldnn
    seen.append((m.enabled, m.deterministic, m.set_flags()[:2]))
    with m.flags(enabled=False):
        seen.append((m.enabled, m.deterministic))
    seen.append(m.enabled)
    m.enabled = False
    seen.append(m.enabled)
    m.enabled = True
    for scope in (m.verbose(m.VERBOSE_OFF), b.mkl.verbose(b.mkl.VERBOSE_OFF)):
        with scope as entered:
            seen.append(entered)
    seen.append([type(f()).__name__ for f in (
        m.is_available, b.mkl.is_available, b.openmp.is_available, b.opt_einsum.is_available,
        b.cpu.get_cpu_capability)])
    seen.append((b.opt_einsum.enabled, b.opt_einsum.strategy,
                 (b.opt_einsum.get_opt_einsum() is None) != b.opt_einsum.is_available()))
    return seen


def test_cpu_library_switches():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # torch's oneDNN TF32 notice
        assert _cpu_library_switches(ember) == _cpu_library_switches(torch)
