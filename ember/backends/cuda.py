"""The CUDA backend: CuPy arrays on one GPU (CuPy is imported only when a tensor goes to
`cuda`), and torch.backends.cuda's matmul and attention switches."""
import contextlib
import importlib.util
import warnings

from . import Backend, device
from .. import _float8

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
        if _float8.is_float8(a.dtype):
            _float8.refuse_on_cuda(a.dtype)
        with self.xp.cuda.Device(self.device.index):
            return self.xp.asarray(a)

    def to_host(self, a):
        return a.get()


class cuBLASModule:
    """torch.backends.cuda.matmul: ember's float32 products on the GPU are full float32
    (CuPy's default compute type), whatever allow_tf32 says; float16 and bfloat16 products
    accumulate in float32. As in torch, allow_tf32 is another view of
    torch.get_float32_matmul_precision() ('highest' is False; True sets 'high'), and other
    names are refused."""
    _REDUCED = {"allow_fp16_reduced_precision_reduction": True,
                "allow_bf16_reduced_precision_reduction": True}

    def __getattr__(self, name):
        if name == "allow_tf32":
            from .._toplevel import get_float32_matmul_precision
            return get_float32_matmul_precision() != "highest"
        if name in self._REDUCED:
            return self._REDUCED[name]
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            from .._toplevel import set_float32_matmul_precision
            return set_float32_matmul_precision("high" if value else "highest")
        if name in self._REDUCED:
            self._REDUCED[name] = value
            return
        raise AttributeError("Unknown attribute " + name)


matmul = cuBLASModule()

# torch.backends.cuda's scaled-dot-product-attention backends. ember's one attention kernel
# serves for each; with all four off, attention raises torch's error (ember.nn._attention).
SDP_ENABLED = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_switch(name):
    def enable(enabled):
        SDP_ENABLED[name] = bool(enabled)

    def enabled():
        return SDP_ENABLED[name]
    return enable, enabled


enable_flash_sdp, flash_sdp_enabled = _sdp_switch("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _sdp_switch("mem_efficient")
enable_math_sdp, math_sdp_enabled = _sdp_switch("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _sdp_switch("cudnn")


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """The deprecated spelling of ember.nn.attention.sdpa_kernel."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context "
                  "manager will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the "
                  "new context manager, with updated signature.", FutureWarning, stacklevel=3)
    from ..nn.attention import SDPBackend, sdpa_kernel
    chosen = [b for b, on in ((SDPBackend.FLASH_ATTENTION, enable_flash),
                              (SDPBackend.EFFICIENT_ATTENTION, enable_mem_efficient),
                              (SDPBackend.MATH, enable_math),
                              (SDPBackend.CUDNN_ATTENTION, enable_cudnn)) if on]
    with sdpa_kernel(chosen) as context:
        yield context


def is_built():
    """Whether CuPy, ember's CUDA backend, is installed."""
    return importlib.util.find_spec("cupy") is not None
