"""`ember info`: versions of ember, Python, NumPy and CuPy, the BLAS NumPy uses and the GPUs CuPy
sees (in the spirit of torch's `collect_env`), to paste into bug reports."""
import importlib.metadata
import os
import platform
import sys

import numpy as np

import ember

OPTIONAL = ("torch", "ml_dtypes", "safetensors", "tqdm", "matplotlib", "scikit-learn",
            "tensorboardX")


def add_arguments(parser):
    del parser                                  # no options


def dist_version(name):
    """The installed version of distribution `name` (without importing it), or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def blas_info():
    """The BLAS NumPy calls: threadpoolctl's view of the loaded library when it is installed,
    else NumPy's build configuration."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return "; ".join(f"{i['internal_api']} {i.get('version') or '?'} "
                             f"({i['num_threads']} threads, {i.get('architecture') or '?'})"
                             for i in libs)
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')} (NumPy build configuration)"
    except Exception as e:                      # very old NumPy or an unusual build
        return f"unknown ({type(e).__name__}: {e})"


def cupy_info():
    """(CuPy version or 'not installed', CUDA runtime version or None, list of GPU lines)."""
    try:
        import cupy
    except ImportError:
        return "not installed", None, []
    except Exception as e:                      # installed but broken (driver, CUDA libraries)
        return f"installed but fails to import ({type(e).__name__}: {e})", None, []
    try:
        rt = cupy.cuda.runtime
        version = rt.runtimeGetVersion()
        cuda = f"{version // 1000}.{version % 1000 // 10}"
        gpus = []
        for i in range(rt.getDeviceCount()):
            p = rt.getDeviceProperties(i)
            name = p["name"].decode() if isinstance(p["name"], bytes) else p["name"]
            gpus.append(f"cuda:{i}  {name}  {p['totalGlobalMem'] / 2**30:.1f} GiB  "
                        f"compute capability {p['major']}.{p['minor']}")
        return cupy.__version__, cuda, gpus
    except Exception as e:                      # no driver, no device
        return cupy.__version__, None, [f"none ({type(e).__name__}: {e})"]


def collect():
    """[(label, value)] rows in print order."""
    cupy, cuda, gpus = cupy_info()
    rows = [
        ("ember", f"{ember.version.ember_version}, torch API {ember.version.api_version} "
                  f"({os.path.dirname(ember.__file__)})"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}, "
                   f"{sys.executable})"),
        ("OS", platform.platform()),
        ("CPU", f"{platform.machine()}, {os.cpu_count()} logical cores"),
        ("NumPy", np.__version__),
        ("BLAS", blas_info()),
        ("CuPy", cupy),
        ("CUDA runtime", cuda or "-"),
        ("GPUs", gpus[0] if gpus else "none"),
    ]
    rows += [("", g) for g in gpus[1:]]
    rows += [(name, dist_version(name) or "not installed") for name in OPTIONAL]
    return rows


def run(args):
    del args
    for label, value in collect():
        print(f"{label + ':' if label else '':<14}{value}")
    return 0
