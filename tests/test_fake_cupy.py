"""The fake CuPy of tests/fake_cupy: that it refuses what CuPy refuses, and the CI run of the
CUDA-path tests on it (a subprocess with EMBER_FAKE_CUPY=1; about 35 s)."""
import operator
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fake_cupy

cp = fake_cupy.namespace()

# device-parametrised tests run on the fake's `cuda` in CI: the CUDA-only fixes, the device and
# CUDA API, RNG, serialization, graphs-free kernel tests, nn modules and optimizers, whole
# training programs, the op table (test_ops), autocast and cuBLAS, and the other files with a
# `device` parameter (but test_func.py, test_nn_module.py and the probe files of one such test
# each, for seconds of collection)
_FILES = ["test_cuda_paths.py", "test_device.py", "test_cuda_api.py", "test_cuda_rng.py",
          "test_serialization.py", "test_cuda_kernels.py", "test_nn_on_device.py",
          "test_optim.py", "test_cuda_programs.py", "test_ops.py", "test_checkpoint.py",
          "test_nn_conv.py", "test_nn_functional.py", "test_nn_norm.py", "test_nn_pool.py",
          "test_testing.py", "test_tensorboard.py", "test_probe12_amp_autograd.py",
          "test_cuda_blas.py", "test_batch_norm_kernels.py", "test_backend_switches.py",
          "test_device_modules.py", "test_amp_custom.py", "test_random_streams.py"]


def test_arrays_are_not_numpy_arrays():
    a = cp.arange(6.0).reshape(2, 3)
    assert type(a) is cp.ndarray and not isinstance(a, np.ndarray) and cp is not np
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)
    h = a.get()
    assert type(h) is np.ndarray and not np.shares_memory(h, a.get())
    np.testing.assert_array_equal(h, np.arange(6.0).reshape(2, 3))


def test_results_are_device_arrays_and_dispatch_from_numpy():
    a = cp.arange(6.0).reshape(2, 3)
    for r in (a.sum(), a[0, 1], np.sum(a), cp.max(a), np.exp(a), a @ a.T, np.matmul(a, a.T)):
        assert type(r) is cp.ndarray
    assert a.sum().ndim == 0 and float(a.sum()) == 15.0 and a[1, 2].item() == 5.0
    with pytest.raises(TypeError):
        operator.index(cp.asarray(np.int64(3)))     # CuPy arrays have no __index__
    assert cp.asarray(a) is a and a.astype(a.dtype, copy=False) is a
    v = a[1:]
    assert v.base is a.base or v.base is a


def test_host_arrays_and_foreign_types_are_refused():
    a = cp.ones(3)
    for bad in (lambda: a + np.ones(3), lambda: cp.add(a, np.ones(3)),
                lambda: np.ones(3) * a, lambda: cp.concatenate([a, np.ones(3)])):
        with pytest.raises(TypeError, match="Unsupported type"):
            bad()
    h = np.arange(3.0)
    d = cp.asarray(h)
    h[0] = 7
    assert d[0].item() == 0.0          # a transfer: a copy of the host data


def test_out_of_bounds_indices_wrap_and_solvers_do_not_raise():
    a = cp.arange(3.0)
    idx = cp.asarray(np.array([4, -4]))
    np.testing.assert_array_equal(a[idx].get(), [1.0, 2.0])          # CuPy: no IndexError
    r = cp.linalg.inv(cp.asarray(np.ones((2, 2))))
    assert np.isnan(r.get()).all()                                    # no LinAlgError
    with pytest.raises(ValueError):
        cp.linalg.solve(cp.ones((2, 3, 3)), cp.ones((3, 1)))          # no batch broadcasting


def test_only_cupy_14_names_exist():
    missing = sorted(n for n in dir(np) if not n.startswith("_") and callable(getattr(np, n))
                     and n not in fake_cupy.API["cupy"])
    assert "busday_count" in missing
    for n in missing[:20]:
        assert not hasattr(cp, n), n
    g = cp.random.default_rng(0)
    assert not hasattr(g, "permutation") and hasattr(g, "standard_normal")
    with pytest.raises(TypeError, match="unexpected keyword"):
        cp.linalg.norm(cp.ones(3), where=True)


def test_float8_arrays_are_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert cp.asarray(np.ones(2, ml_dtypes.bfloat16)).dtype == ml_dtypes.bfloat16
    for make in (lambda: cp.asarray(np.ones(2, ml_dtypes.float8_e4m3fn)),
                 lambda: cp.zeros(2, ml_dtypes.float8_e5m2),
                 lambda: cp.ones(2).astype(ml_dtypes.float8_e4m3fn)):
        with pytest.raises(ValueError, match="Unsupported dtype float8"):
            make()


def test_cublas_emulation_reads_the_gemm_arguments():
    blas = fake_cupy.Cublas()
    import ctypes
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    c = np.zeros((2, 4), np.float32)
    one, zero = ctypes.c_float(1), ctypes.c_float(0)
    # C^T (4x2, column-major) = B^T A^T: row-major B and A read as their transposes
    blas.cublasGemmStridedBatchedEx(0, 0, 0, 4, 2, 3, ctypes.byref(one), b.ctypes.data, 0, 4,
                                    0, a.ctypes.data, 0, 3, 0, ctypes.byref(zero),
                                    c.ctypes.data, 0, 4, 0, 1, 68, -1)
    np.testing.assert_array_equal(c, a @ b)


def test_device_tests_pass_on_the_fake_cupy():
    if fake_cupy.installed():
        pytest.skip("this process is the fake's run")
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, EMBER_FAKE_CUPY="1", EMBER_TEST_DEVICES="cuda")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p",
                        "no:cacheprovider", "-k", "cuda"] + [os.path.join(here, f) for f in _FILES],
                       cwd=os.path.dirname(here), env=env, capture_output=True, text=True,
                       timeout=900)
    tail = r.stdout[-4000:] + r.stderr[-2000:]
    assert r.returncode == 0, tail
    passed = re.search(r"(\d+) passed", r.stdout)
    assert passed and int(passed.group(1)) >= 1700, tail
