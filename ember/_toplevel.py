"""torch's top-level odds and ends: tensor predicates and utilities, global flags that NumPy has no
use for (stored and returned, as torch returns them), the top-level in-place functions
(`torch.exp_(t)` is `t.exp_()`), and the `*_copy` functions (the view op followed by a clone).

Only light imports here: `import ember` must stay fast."""
import os
import warnings

import numpy as np

from . import _dtype
from ._tensor import Tensor, _new
from ._typenames import qualified
from .backends import CPU, device as _device
from ._kernel_dtypes import tname
from .ops._apply import _finish, raise_not_tensor as _not_tensor, tensor_arg as _check_tensor

__all__ = []


def _export(fn):
    __all__.append(fn.__name__)
    return fn


@_export
class OutOfMemoryError(RuntimeError):
    """torch.OutOfMemoryError (also torch.cuda.OutOfMemoryError)."""
    __module__ = "ember"


@_export
class AcceleratorError(RuntimeError):
    """torch.AcceleratorError: an error the accelerator's runtime reports."""
    __module__ = "ember"


# ---- predicates and small utilities ----------------------------------------------------------
@_export
def _assert(condition, message):
    """torch._assert: `assert condition, message` that symbolic tracing records."""
    from ._tensor import Tensor
    from ._torch_function import handle_torch_function, has_torch_function
    if type(condition) is not Tensor and has_torch_function((condition,)):
        return handle_torch_function(_assert, (condition,), condition, message)
    if not condition:
        raise AssertionError(message)


_UNEXPLAINED = ("Expected cond to be True, but got False. (Could this error message be improved? "
                "If so, please report an enhancement request to PyTorch.)")


@_export
def _check_with(error_type, cond, message=None):
    """torch._check_with: raise error_type(str(message())) unless `cond` (a Python bool)."""
    if not isinstance(cond, bool):
        if isinstance(cond, Tensor):
            raise TypeError("cond must be a bool, but got a Tensor. For tensor conditions, use "
                            "torch._check_tensor_all() to assert that all elements are true.")
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if cond:
        return
    if not issubclass(error_type, Exception) or issubclass(error_type, Warning):
        raise AssertionError("error_type must be a subclass of Exception but not Warning, got "
                             f"{error_type}")
    if message is None:
        raise error_type(_UNEXPLAINED)
    if not callable(message):
        raise TypeError("message must be a callable")
    raise error_type(str(message()))


def _checker(error_type, name):
    def check(cond, message=None):
        _check_with(error_type, cond, message)
    check.__name__ = check.__qualname__ = name
    check.__doc__ = f"torch.{name}: raise {error_type.__name__} unless cond (a Python bool)."
    __all__.append(name)
    return check


_check = _checker(RuntimeError, "_check")           # (what transformers' code asserts with)
_check_index = _checker(IndexError, "_check_index")
_check_value = _checker(ValueError, "_check_value")
_check_type = _checker(TypeError, "_check_type")
_check_not_implemented = _checker(NotImplementedError, "_check_not_implemented")


@_export
def _check_is_size(i, message=None, *, max=None):
    """torch._check_is_size (deprecated in torch: a FutureWarning each call): i >= 0 (and
    i <= max)."""
    warnings.warn("_check_is_size will be removed in a future PyTorch release along with "
                  "guard_size_oblivious.     Use _check(i >= 0) instead.", FutureWarning,
                  stacklevel=2)
    _check(i >= 0, message)
    if max is not None:
        _check(i <= max, message)


@_export
def _check_tensor_all_with(error_type, cond, message=None):
    """torch._check_tensor_all_with: every element of a bool tensor true, else error_type."""
    if not isinstance(cond, Tensor):
        raise TypeError(f"cond must be a tensor, but got {type(cond)}")
    if cond.dtype is not _dtype.bool_:
        raise TypeError(f"cond tensor must have dtype torch.bool, but got {cond.dtype}")
    _check_with(error_type, bool(cond.all().item()), message)


@_export
def _check_tensor_all(cond, message=None):
    """torch._check_tensor_all: _check_tensor_all_with(RuntimeError, ...)."""
    _check_tensor_all_with(RuntimeError, cond, message)


@_export
def is_complex(input):
    _check_tensor("is_complex", input)
    return input.dtype.is_complex


@_export
def is_floating_point(input):
    _check_tensor("is_floating_point", input)
    return input.dtype.is_floating_point


@_export
def is_signed(input):
    _check_tensor("is_signed", input)
    return input.dtype.is_signed


@_export
def is_inference(input):
    _check_tensor("is_inference", input)
    return input.is_inference()


@_export
def is_nonzero(input):
    _check_tensor("is_nonzero", input)
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@_export
def is_same_size(input, other):
    _check_tensor("is_same_size", input)
    _check_tensor("is_same_size", other, "other", 2)
    return tuple(input.shape) == tuple(other.shape)


@_export
def detach(input):
    _check_tensor("detach", input)
    return input.detach()


@_export
def detach_(input):
    _check_tensor("detach_", input)
    return input.detach_()


@_export
def fill(input, value):
    """Out-of-place fill_: a new tensor shaped like `input` holding `value` (differentiable in a
    0-dim tensor `value`)."""
    _check_tensor("fill", input)
    from .ops.creation import fill as _fill
    return _fill(input, value)


@_export
def dist(input, other, p=2):
    """p-norm of input - other (broadcast)."""
    from .ops.linalg import dist as _dist
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        _not_tensor("dist", ("input", 1, input), ("other", 2, other))
    dt = _dtype.result_type(input, other)       # the norm is of input - other
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {tname(dt.np)} instead.")
    return _dist(input, other, p)


_NUMBERS = (int, float, complex, np.generic)     # isin's non-Tensor operand


@_export
def isin(elements, test_elements, *, assume_unique=False, invert=False, out=None):
    e_t, t_t = isinstance(elements, Tensor), isinstance(test_elements, Tensor)
    if not (e_t or t_t) or not (e_t and t_t) and \
            not isinstance(test_elements if e_t else elements, _NUMBERS):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    be = (elements if e_t else test_elements).be
    xp = be.xp
    e = elements.arr if e_t else xp.asarray(elements)
    t = test_elements.arr if t_t else xp.asarray(test_elements)
    for a in (e, t):
        if a.dtype.kind in "bc":
            raise RuntimeError(f"Unsupported input type encountered for isin(): {tname(a.dtype)}")
    _dtype.refuse_few("isin", e.dtype)
    # torch's heuristic (numpy's, in integers): a loop over few test elements, comparing in the
    # result type; else a sort of both, concatenated (so in their promoted type)
    looped = t.size < int(10.0 * e.size ** 0.145)
    common = _dtype.result_type(elements, test_elements) if looped or not t_t else \
        _dtype.promote_types(e.dtype, t.dtype)
    e, t = _dtype.as_common(e, t.reshape(-1), common)
    if looped or not assume_unique or not e.size:
        hit = (e[..., None] == t).any(-1) if looped else xp.isin(e, t)
        return _finish(_new(xp.asarray(hit != invert), be), out, "isin", True)
    # assume_unique: torch's sort-based answer even where the elements repeat
    both = xp.concatenate([e.reshape(-1), t])
    order = xp.argsort(both, kind="stable")
    ranked = both[order]
    flag = xp.empty(both.shape, bool)
    flag[:-1] = (ranked[1:] != ranked[:-1]) if invert else (ranked[1:] == ranked[:-1])
    flag[-1] = invert
    hit = xp.empty(both.shape, bool)
    hit[order] = flag
    return _finish(_new(hit[:e.size].reshape(e.shape), be), out, "isin", True)


@_export
def unravel_index(indices, shape):
    """Coordinates of flat `indices` in `shape` (a tuple of int64 tensors shaped like indices;
    out-of-range and negative indices wrap, as torch's do)."""
    if not isinstance(indices, Tensor):
        from .ops.creation import tensor
        indices = tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype is _dtype.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise RuntimeError("'shape' cannot have negative values, but got " + str(shape))
    xp, be = indices.be.xp, indices.be
    idx = indices.arr.astype(np.int64)
    out = []
    for s in reversed(shape):
        if s == 0:
            raise RuntimeError("index out of bounds for shape with a zero dimension")
        out.append(xp.asarray(xp.mod(idx, s)))
        idx = xp.floor_divide(idx, s)
    return tuple(_new(a, be) for a in reversed(out))


@_export
def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D CPU tensor over a Python buffer, sharing its memory."""
    dt = _dtype.to_dtype(dtype)
    length = memoryview(buffer).nbytes
    size = dt.itemsize
    if length <= 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % size:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({size})")
        count = (length - offset) // size
    elif offset + count * size > length:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    arr = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
    if not arr.flags.writeable:      # (torch's TORCH_WARN_ONCE)
        from ._warnings import warn_once
        warn_once("The given buffer is not writable, and PyTorch does not support non-writable "
                  "tensors. This means you can write to the underlying (supposedly non-writable) "
                  "buffer using the tensor. You may want to copy the buffer to protect its data "
                  "or make it writable before converting it to a tensor. This type of warning "
                  "will be suppressed for the rest of this program. (Triggered internally at "
                  "/__w/pytorch/pytorch/torch/csrc/utils/tensor_new.cpp:1556.)")
    from ._storage import adopt
    adopt(arr)
    t = _new(arr, CPU)
    if requires_grad:
        t.requires_grad_(True)
    return t


@_export
def typename(obj):
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualified(module, qualname)


@_export
def is_storage(obj):
    from ._storage import TypedStorage, UntypedStorage
    return type(obj) in (UntypedStorage, TypedStorage)


@_export
def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    from .func import vmap as _vmap
    return _vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


@_export
def _has_compatible_shallow_copy_type(input, from_):
    """Whether `input.data = from_` keeps input's kind of tensor: both dense (on the CPU or a
    GPU), both sparse COO, both sparse compressed, or the same device and layout. Module
    conversions make new Parameters where it does not hold (to or from "meta", dense to sparse)."""
    def kind(t):
        layout = t.layout.name
        dense_device = t.device.type != "meta"
        return ("dense" if layout == "strided" and dense_device else
                "coo" if layout == "sparse_coo" and dense_device else
                "compressed" if layout != "strided" and dense_device else (t.device.type, layout))
    return kind(input) == kind(from_)


@_export
def get_device(input):
    _check_tensor("get_device", input)
    return input.get_device()


@_export
def get_device_module(device=None):
    """The device module for `device` (ember.cuda, ember.cpu, ...); None: the accelerator's, or
    ember.cpu without one."""
    import importlib
    if device is None:
        from .accelerator import current_accelerator
        acc = current_accelerator()
        name = acc.type if acc is not None else "cpu"
    elif isinstance(device, (str, _device)):
        name = _device(device).type if isinstance(device, str) else device.type
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           "None")
    try:
        return importlib.import_module(f"ember.{name}")
    except ModuleNotFoundError:
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered "
                           f"as 'torch.{name}'.") from None


@_export
def to_dlpack(tensor):
    from .utils.dlpack import to_dlpack as _to
    return _to(tensor)


@_export
def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None,
              pin_memory=False, requires_grad=False):
    """torch.from_file: a 1-D tensor of `size` elements of `dtype` memory-mapped from the file.
    shared=True maps it writable and shared (writes reach the file, which is created or
    extended as needed); otherwise the mapping is a private copy-on-write one of a file that
    must be long enough."""
    import errno
    import mmap
    from .ops._dims import int_arg
    if not isinstance(filename, str):
        raise TypeError(f"from_file(): argument 'filename' (position 1) must be str, not "
                        f"{type(filename).__name__}")
    size = int_arg(size, "from_file", "size")
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    npdt = np.dtype(dt.np)
    nbytes = size * npdt.itemsize
    if size == 0:
        arr = np.empty(0, npdt)
    else:
        mode = "read-write" if shared else "read-only"
        try:
            fd = os.open(filename, os.O_RDWR | os.O_CREAT if shared else os.O_RDONLY, 0o600)
        except OSError as e:
            raise RuntimeError(f"unable to open file <{filename}> in {mode} mode: {e.strerror} "
                               f"({e.errno})") from None
        try:
            have = os.fstat(fd).st_size
            if have < nbytes:
                if not shared:
                    raise RuntimeError(f"file <{filename}> size <{have}> is smaller than the "
                                       f"required mapping size <{nbytes}>")
                os.ftruncate(fd, nbytes)
            if nbytes < 0:
                raise OSError(errno.ENOMEM, os.strerror(errno.ENOMEM))
            buf = mmap.mmap(fd, nbytes, access=mmap.ACCESS_WRITE if shared else
                            mmap.ACCESS_COPY)
        except OSError as e:
            raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{filename}>: "
                               f"{e.strerror} ({e.errno})") from None
        finally:
            os.close(fd)
        arr = np.frombuffer(buf, npdt, size)
    t = _new(arr, CPU)
    if device is not None and _device(device).type != "cpu":
        t = t.to(device)
    return t.requires_grad_() if requires_grad else t


# ---- default device and tensor type ----------------------------------------------------------
@_export
def set_default_device(device):
    """Factories called without `device=` allocate on `device` (None: back to cpu)."""
    from .backends import get_backend
    from .ops import creation
    creation._DEFAULT_DEVICE[0] = None if device is None else get_backend(device)


@_export
def get_default_device():
    from .ops import creation
    be = creation._DEFAULT_DEVICE[0]
    return _device("cpu") if be is None else be.device


@_export
def set_default_tensor_type(t):
    """Deprecated in torch 2.1: sets the default floating dtype from a legacy tensor type
    (`torch.DoubleTensor` or the string 'torch.DoubleTensor')."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    if name is None:
        raise TypeError(f"invalid type object: {t!r}")
    if isinstance(t, str) and not (t.startswith("torch.") or t.startswith("ember.")):
        raise TypeError(f"invalid type: '{t}'")
    short = name.rsplit(".", 1)[-1]
    from .ops.creation import LEGACY_TENSOR_TYPES
    if short not in LEGACY_TENSOR_TYPES:
        raise TypeError(f"invalid type: '{name}'")
    d = getattr(_dtype, LEGACY_TENSOR_TYPES[short])
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtype.set_default_dtype(d)


# ---- build facts, as torch's CPU wheel reports them ------------------------------------------
has_lapack = has_mkl = has_openmp = has_spectral = True     # NumPy's LAPACK, BLAS and FFT
__all__ += ["has_lapack", "has_mkl", "has_openmp", "has_spectral"]


@_export
def compiled_with_cxx11_abi():
    return True


@_export
def is_vulkan_available():
    return False


@_export
def is_distributed(input):
    """Whether input is a tensor of torch's long-removed distributed backend: never."""
    return False


@_export
def init_num_threads():
    """Called by torch at thread start to set up its thread pools: nothing to set up."""


# ---- global flags (stored; NumPy has nothing to configure) -----------------------------------
_FLAGS = {"matmul_precision": "highest", "deterministic": False, "det_warn_only": False,
          "fill_uninitialized_memory": True, "interop_threads": None,
          "autocast_nesting": 0}


@_export
def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        # torch's C++ warning, (sic) without a space, from the call in torch/__init__.py
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      f"setFloat32MatmulPrecision call has no effect. (Triggered internally at "
                      f"/__w/pytorch/pytorch/aten/src/ATen/Context.cpp:458.)", UserWarning,
                      stacklevel=1)
        return
    _FLAGS["matmul_precision"] = precision


@_export
def get_float32_matmul_precision():
    return _FLAGS["matmul_precision"]


@_export
def use_deterministic_algorithms(mode, *, warn_only=False):
    if type(mode) is not bool:
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    if type(warn_only) is not bool:
        raise TypeError(f"_set_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    _FLAGS["deterministic"], _FLAGS["det_warn_only"] = mode, warn_only


@_export
def are_deterministic_algorithms_enabled():
    return _FLAGS["deterministic"]


@_export
def is_deterministic_algorithms_warn_only_enabled():
    return _FLAGS["det_warn_only"]


_DEBUG_MODES = ("default", "warn", "error")


@_export
def set_deterministic_debug_mode(debug_mode):
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode == 0:
        use_deterministic_algorithms(False)
    elif debug_mode == 1:
        use_deterministic_algorithms(True, warn_only=True)
    elif debug_mode == 2:
        use_deterministic_algorithms(True)
    else:
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")


@_export
def get_deterministic_debug_mode():
    if not _FLAGS["deterministic"]:
        return 0
    return 1 if _FLAGS["det_warn_only"] else 2


@_export
def set_flush_denormal(mode):
    """NumPy cannot flush denormals, so this reports 'unsupported' (False), as torch does on
    CPUs without the SSE3 control bits."""
    return False


@_export
def set_num_interop_threads(n):
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _FLAGS["interop_threads"] = n


@_export
def get_num_interop_threads():
    n = _FLAGS["interop_threads"]
    return n if n is not None else (os.cpu_count() or 1)


@_export
def set_warn_always(b):
    from ._warnings import ALWAYS
    ALWAYS[0] = bool(b)


@_export
def is_warn_always_enabled():
    from ._warnings import ALWAYS
    return ALWAYS[0]


# ---- autocast state: torch's functional interface over ember.amp's single AMP record -----------
def _amp():
    import sys
    from .amp import autocast  # noqa: F401  (the package's `autocast` name is the class)
    return sys.modules["ember.amp.autocast"]


@_export
def is_autocast_enabled(device_type="cuda"):
    return _amp().is_autocast_enabled(device_type)


@_export
def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:            # deprecated one-argument form: the CUDA flag
        device_type, enabled = "cuda", device_type
    _amp().set_autocast_enabled(device_type, enabled)


@_export
def get_autocast_dtype(device_type):
    return _amp().get_autocast_dtype(device_type)


@_export
def set_autocast_dtype(device_type, dtype):
    _amp().set_autocast_dtype(device_type, dtype)


def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


@_export
def is_autocast_cpu_enabled():
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


@_export
def set_autocast_cpu_enabled(enabled):
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


@_export
def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


@_export
def set_autocast_cpu_dtype(dtype):
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


@_export
def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


@_export
def set_autocast_gpu_dtype(dtype):
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


@_export
def clear_autocast_cache():
    """ember keeps no cast cache (casts are recomputed per op), so there is nothing to clear."""


@_export
def is_autocast_cache_enabled():
    return _amp().CACHE["enabled"]


@_export
def set_autocast_cache_enabled(enabled):
    _amp().CACHE["enabled"] = bool(enabled)


@_export
def autocast_increment_nesting():
    _FLAGS["autocast_nesting"] += 1
    return _FLAGS["autocast_nesting"]


@_export
def autocast_decrement_nesting():
    _FLAGS["autocast_nesting"] -= 1
    return _FLAGS["autocast_nesting"]


# ---- top-level in-place functions: torch.exp_(t) is t.exp_() ---------------------------------
INPLACE_METHODS = (
    "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ "
    "atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_ exp2_ exp_ "
    "expm1_ fix_ floor_ frac_ gcd_ i0_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ "
    "neg_ negative_ rad2deg_ reciprocal_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ "
    "square_ tan_ tanh_ trunc_ xlogy_").split()
# (relu_, celu_, selu_, rrelu_, threshold_ and the dropout_ family are nn.functional aliases:
# ember/_functional_aliases.py)


def _bind_inplace(name):
    def fn(input, *args, **kwargs):
        _check_tensor(name, input)
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): input.{name}(...)."
    return fn


for _name in INPLACE_METHODS:
    globals()[_name] = _bind_inplace(_name)
    __all__.append(_name)


@_export
def conj_physical_(input):
    _check_tensor("conj_physical_", input)
    return input.conj_physical_()


# ---- *_copy: the view op, then a clone (differentiable through both) --------------------------
def _clone_all(r):
    if isinstance(r, Tensor):
        return r.clone()
    return tuple(x.clone() for x in r)


def _bind_copy(name, view):
    def fn(input, *args, out=None, **kwargs):
        _check_tensor(name, input)
        r = _clone_all(view(input, *args, **kwargs))
        if out is None:
            return r
        if isinstance(r, Tensor):
            return out.resize_(r.shape).copy_(r) if out.shape != r.shape else out.copy_(r)
        for o, x in zip(out, r):
            o.copy_(x)
        return out
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}: the result of {name[:-5]}, copied (never a view)."
    return fn


def _slice(input, dim=0, start=None, end=None, step=1):
    return input[(slice(None),) * (dim % max(input.ndim, 1)) + (slice(start, end, step),)]


def _view(name, *args, **kwargs):
    import ember
    return getattr(ember, name)(*args, **kwargs)


_COPY_VIEWS = {
    "view_copy": lambda x, *a, **k: x.view(*a, **k),
    "permute_copy": lambda x, *a, **k: x.permute(*a, **k),
    "expand_copy": lambda x, size, *, implicit=False: x.expand(size),
    "t_copy": lambda x: x.t(),
    "transpose_copy": lambda x, dim0, dim1: x.transpose(dim0, dim1),
    "unsqueeze_copy": lambda x, dim: x.unsqueeze(dim),
    "squeeze_copy": lambda x, *a, **k: x.squeeze(*a, **k),
    "select_copy": lambda x, dim, index: x.select(dim, index),
    "slice_copy": _slice,
    "diagonal_copy": lambda x, offset=0, dim1=0, dim2=1: x.diagonal(offset, dim1, dim2),
    "split_copy": lambda x, split_size, dim=0: x.split(split_size, dim),
    "split_with_sizes_copy": lambda x, split_sizes, dim=0: x.split_with_sizes(split_sizes, dim),
    "unbind_copy": lambda x, dim=0: x.unbind(dim),
    "unfold_copy": lambda x, dimension, size, step: x.unfold(dimension, size, step),
    "alias_copy": lambda x: x.view_as(x),
    "detach_copy": lambda x: x.detach(),
    "as_strided_copy": lambda x, size, stride, storage_offset=None:
        x.as_strided(size, stride, storage_offset),
    "view_as_real_copy": lambda x: _view("view_as_real", x),
    "view_as_complex_copy": lambda x: _view("view_as_complex", x),
}

for _name, _v in _COPY_VIEWS.items():
    globals()[_name] = _bind_copy(_name, _v)
    __all__.append(_name)
del _name, _v


@_export
def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """An uninitialised tensor of `size` whose memory runs through the dims in
    `physical_layout` order, outermost first."""
    from .ops.creation import empty
    size, order = tuple(size), tuple(physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    seen = set()
    for i, d in enumerate(order):
        if not 0 <= d < len(order):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and "
                               f"{len(order) - 1}, but got {d} at index {i}).  NB: negative dims "
                               "not currently supported; file an issue if you want it.")
        if d in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(d)
    t = empty(tuple(size[d] for d in order), dtype=dtype, device=device)
    t.arr = t.arr.transpose(np.argsort(order))
    return t.requires_grad_(True) if requires_grad else t


# ---- symbolic shapes: ember runs eagerly, so sizes are plain numbers --------------------------
@_export
class SymInt:
    """torch.SymInt, for isinstance checks: eager code never holds one (sizes are ints)."""
    __module__ = "ember"


@_export
class SymFloat:
    """torch.SymFloat, for isinstance checks (never made in eager code)."""
    __module__ = "ember"


@_export
class SymBool:
    """torch.SymBool, for isinstance checks (never made in eager code)."""
    __module__ = "ember"


@_export
def sym_int(a):
    return int(a)


@_export
def sym_float(a):
    return float(a)


def _sym_extreme(fn, a, b):
    for v in (a, b):
        if not isinstance(v, (int, float, np.integer, np.floating)):
            raise AssertionError("expected (<class 'numpy.integer'>, <class 'numpy.floating'>, "
                                 f"<class 'int'>, <class 'float'>), got {type(v)}")
    r = fn(a, b)
    return float(r) if isinstance(a, (float, np.floating)) or \
        isinstance(b, (float, np.floating)) else r


@_export
def sym_max(a, b):
    """max(a, b), float if either is a float."""
    return _sym_extreme(max, a, b)


@_export
def sym_min(a, b):
    return _sym_extreme(min, a, b)


@_export
def sym_not(a):
    return not a


@_export
def sym_sqrt(a):
    import math
    return math.sqrt(a)


@_export
def sym_sum(*args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    return sum(args)


@_export
def sym_ite(b, t, f):
    if not isinstance(b, bool):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


@_export
def sym_constrain_range(size, *, min=None, max=None):
    """A hint for tracing; nothing to do eagerly."""


@_export
def sym_constrain_range_for_size(size, *, min=None, max=None):
    """A hint for tracing; nothing to do eagerly."""
