"""ember.version (torch.version): `__version__` is the torch release whose API ember follows, with
ember's own release (`ember_version`) as its local label, as torch's CPU wheels carry "+cpu";
`api_version` is the torch release alone.
`cuda` is the CUDA runtime version CuPy was built against ("13.0"), or None without CuPy; ember
has no HIP build."""
ember_version = "0.1.0"
api_version = "2.13.0"
__version__ = f"{api_version}+ember.{ember_version}"

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
