"""Backends are array namespaces: NumPy on the CPU, CuPy on CUDA, NumPy under a `mock` device.

A tensor keeps its Backend record (`t.be`) for life; ops read `be.xp` and never ask per call."""
import re

import numpy

__all__ = ["Backend", "device", "CPU", "MOCK", "META", "get_backend"]


class device:
    """torch.device: `device('cuda', 0)`, `device('cuda:0')`, `device('cpu')`."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            from ..cuda import is_available     # a bare index names the current accelerator
            if not is_available():
                raise RuntimeError("Cannot access accelerator device when none is available.")
            type, index = "cuda", type
        elif not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        elif type not in _KNOWN:
            type, index = _parse(type, index)
        if type not in _KNOWN:
            if type not in _ELSEWHERE:
                raise RuntimeError(f"Expected one of {', '.join(_TORCH_TYPES)} device type at "
                                   f"start of device string: {type}")
            if type == "mkldnn":
                from .._warnings import warn_once
                warn_once("'mkldnn' is no longer used as device type. So torch.device('mkldnn') "
                          "will be deprecated and removed in the future. Please use other valid "
                          "device types instead.")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else
                                                 f", index={self.index}") + ")"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # a string is never equal, as torch's: `device('cpu') == 'cpu'` is False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """`with device(...)`: factories called without `device=` allocate here (torch 2.x)."""
        from ..ops import creation
        _OUTER_DEFAULTS.append(creation._DEFAULT_DEVICE[0])
        creation._DEFAULT_DEVICE[0] = get_backend(self)
        return self

    def __exit__(self, *exc):
        from ..ops import creation
        creation._DEFAULT_DEVICE[0] = _OUTER_DEFAULTS.pop()


_OUTER_DEFAULTS = []    # the default devices that enclosing `with device(...)` blocks replaced


_KNOWN = ("cpu", "cuda", "mock", "meta")
# torch's device types (its list, in its order); those other than ember's name devices that
# exist in torch's API but hold no tensors here, as in a CPU-only torch build
_TORCH_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
_ELSEWHERE = frozenset(_TORCH_TYPES) - frozenset(_KNOWN)
_CAFFE2 = ("mkldnn", "opengl", "opencl", "ideep")       # grandfathered types, no dispatch key
_MTIA = ("Torch not compiled with MTIA enabled. Ensure you have `import "
         "mtia.host_runtime.torch_mtia.dynamic_library` in your python src file and include "
         "`//mtia/host_runtime/torch_mtia:torch_mtia` as your target dependency!")
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::([1-9][0-9]*|0))?")


def _parse(string, index):
    """torch's device-string grammar, ([a-zA-Z_]+)(?::([1-9]\\d*|0))?: (type, index)."""
    if not string:
        raise RuntimeError("Device string must not be empty")
    m = _DEVICE_STRING.fullmatch(string)
    if m is None:
        raise RuntimeError(f"Invalid device string: '{string}'")
    if m[2] is None:
        return string, index
    if index is not None:
        raise RuntimeError(f"type (string) must not include an index because index was passed "
                           f"explicitly: {string}")
    return m[1], int(m[2])


class Backend:
    """One per device: `xp` is the array namespace, `idx` indexes per-backend op overrides."""
    __slots__ = ("name", "idx", "xp", "device", "kernels", "stubs")

    def __init__(self, name, idx, xp, dev):
        self.name, self.idx, self.xp, self.device, self.kernels = name, idx, xp, dev, {}
        self.stubs = {}     # autograd/_thin.py: (shape, dtype num) -> the stub of such inputs

    def __repr__(self):
        return f"Backend({self.device})"

    def from_host(self, a):
        return self.xp.asarray(a)

    def to_host(self, a):
        return a if self.xp is numpy else a.get()


class _Meta(Backend):
    """torch's meta device: tensors whose values cannot be read (ember still holds NumPy
    arrays behind them, so ops run as on the CPU; only copying data out is refused)."""
    __slots__ = ()

    def to_host(self, a):
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")


CPU = Backend("cpu", 0, numpy, device("cpu"))
META = _Meta("meta", 0, numpy, device("meta"))
MOCK = Backend("mock", 2, numpy, device("mock", 0))
_CUDA = {}


def get_backend(dev, moving=False):
    """Backend for a device spec (str, int, device or None = cpu); `moving`: for a copy to it
    (torch words a refusal differently)."""
    if dev is None:
        return CPU
    if type(dev) is str:
        if dev == "cpu":
            return CPU
        dev = device(dev)
    elif type(dev) is not device:
        if isinstance(dev, Backend):
            return dev
        dev = device(dev)
    t = dev.type
    if t == "cpu":
        return CPU
    if t == "mock":
        return MOCK
    if t == "meta":
        return META
    if t == "cuda":
        idx = 0 if dev.index is None else dev.index
        be = _CUDA.get(idx)
        if be is None:
            from .cuda import make_backend
            be = _CUDA[idx] = make_backend(idx)
        return be
    raise unavailable(t, moving)


def unavailable(t, moving=False):
    """torch's error for a tensor made on (or, `moving`, copied to) a device type that a
    CPU-only build names but cannot hold."""
    if t == "xpu":
        return AssertionError("Torch not compiled with XPU enabled")
    if t == "mtia":
        return AssertionError(_MTIA)
    if t in ("hpu", "privateuseone"):       # torch imports the backend's module first
        return ModuleNotFoundError(f"No module named 'torch.{t}'")
    if moving and t != "lazy":
        return RuntimeError(f"PyTorch is not linked with support for {t} devices")
    if t in _CAFFE2:
        return RuntimeError(
            '0 INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/c10/core/TensorOptions.h":663, '
            f"please report a bug to PyTorch. This is a grandfathered Caffe2 device type {t}, "
            "it shouldn't ever convert to a DispatchKey.  File a bug describing what you were "
            "doing if you think this is in error.")
    key = {"lazy": "Lazy", "vulkan": "Vulkan"}.get(t, t.upper())
    return NotImplementedError(no_kernel("aten::empty.memory_format", key,
                                         "the CPU and Meta backends here (and CUDA's where "
                                         "CuPy sees a GPU)"))


def no_kernel(op, key, available):
    """torch's dispatcher error for an operator without a kernel for dispatch key `key`."""
    return (f"Could not run '{op}' with arguments from the '{key}' backend. This could be "
            "because the operator doesn't exist for this backend, or was omitted during the "
            "selective/custom build process (if using custom build). If you are a Facebook "
            "employee using PyTorch on mobile, please visit https://fburl.com/ptmfixes for "
            f"possible resolutions. '{op}' is only available for {available}.")


def __getattr__(name):
    """torch.backends' submodules: cuda (its matmul switches), cudnn, mha, mps, and the CPU
    libraries' switches (cpu, mkl, mkldnn, openmp, opt_einsum)."""
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SUBMODULES = ("cpu", "cuda", "cudnn", "mha", "mkl", "mkldnn", "mps", "openmp", "opt_einsum",
               "quantized")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
