"""ember.version (torch.version): `cuda` is the CUDA runtime version CuPy was built against
("13.0"), or None without CuPy; ember has no HIP build."""
from . import __version__

hip = None
debug = False
git_version = "unknown"


def __getattr__(name):
    if name == "cuda":
        try:
            import cupy
        except ImportError:
            return None
        v = cupy.cuda.runtime.runtimeGetVersion()
        return f"{v // 1000}.{v % 1000 // 10}"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"cuda"})
