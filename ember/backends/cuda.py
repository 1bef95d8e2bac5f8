"""The CUDA backend: CuPy arrays on one GPU (imported only when a tensor goes to `cuda`)."""
from . import Backend, device

_EXTRA_HINT = ("CUDA tensors need CuPy and an NVIDIA GPU: pip install 'ember[cuda12]' "
               "(or 'ember[cuda13]')")


def make_backend(index):
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"CUDA is not available: {_EXTRA_HINT}") from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:      # CuPy present but no driver / GPU
        raise RuntimeError(f"Found no NVIDIA driver on your system ({e}). {_EXTRA_HINT}") \
            from None
    if not 0 <= index < n:
        raise RuntimeError(f"CUDA error: invalid device ordinal (device {index}, {n} available)")
    from . import cuda_blas, cuda_kernels
    be = _CudaBackend("cuda", 1, cuda_blas.namespace(cupy), device("cuda", index))
    cuda_kernels.install(be)
    return be


class _CudaBackend(Backend):
    __slots__ = ()

    def from_host(self, a):
        with self.xp.cuda.Device(self.device.index):
            return self.xp.asarray(a)

    def to_host(self, a):
        return a.get()
