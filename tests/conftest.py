import os
import sys

import numpy as np
import pytest

if os.environ.get("EMBER_FAKE_CUPY") == "1":    # tests/fake_cupy: `cuda` on the CPU, API checks
    import fake_cupy
    fake_cupy.install()
    from ember.backends import cuda_blas
    cuda_blas._lib = fake_cupy.Cublas()     # its ctypes cuBLAS calls, on the fake's host memory


def _cuda_usable():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=None,
                     help="restrict device-parametrised tests to these devices (cpu, mock, cuda)")


def _devices(config):
    chosen = config.getoption("--device") or os.environ.get("EMBER_TEST_DEVICES", "").split(",")
    chosen = [d for d in chosen if d]
    devs = ["cpu", "mock"] + (["cuda"] if _cuda_usable() else [])
    return [d for d in devs if d in chosen] if chosen else devs


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config))


@pytest.fixture(autouse=True)
def _seed():
    import ember
    ember.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(autouse=True)
def _torch_validation_back_on():
    """torch._dynamo (torch.compile, flex_attention and the programs that reach them) turns
    torch.distributions' argument validation off for the whole process; later tests compare
    against torch's validation errors, so it is turned back on after every test."""
    yield
    if "torch.distributions" in sys.modules:
        sys.modules["torch.distributions"].Distribution.set_default_validate_args(True)
