"""ember: the PyTorch programming model in pure Python, on NumPy (CPU) and CuPy (CUDA).

`import ember as torch` runs ordinary PyTorch programs with PyTorch's numbers."""
import math as _math
import warnings as _pywarnings   # (ember._warnings is ember's own module)

# torch computes inf and nan silently (log(0), 1/0, sqrt(-1)); NumPy warns. Silence NumPy's
# floating-point warnings raised inside ember's own code only: the user's NumPy still warns.
_pywarnings.filterwarnings("ignore", r"(invalid value|divide by zero|overflow|underflow) "
                           "encountered", RuntimeWarning, r"ember(\.|$)")
# NumPy's ComplexWarning likewise: ember warns as torch does (once, a UserWarning)
_pywarnings.filterwarnings("ignore", "Casting complex values to real", module=r"ember(\.|$)")

from . import _malloc  # noqa: F401  (process-wide malloc thresholds, see its docstring)
from . import _dtype
from ._dtype import (bool_ as bool, uint8, int8, int16, int32, int64, float16, bfloat16,
                     float32, float64, complex64, complex128, uint16, uint32, uint64, complex32,
                     float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz,
                     float8_e8m0fnu, float4_e2m1fn_x2, dtype, finfo, iinfo,
                     quint8, qint8, qint32, quint4x2, quint2x4,
                     public_promote_types as promote_types, public_can_cast as can_cast,
                     set_default_dtype, get_default_dtype)
from ._tensor import Tensor, Size
from .backends import device
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                                 is_grad_enabled, is_inference_mode_enabled)
from . import _bind
from ._bind import METHODS_ONLY as _METHODS_ONLY, OP_MODULES as _OP_MODULES, \
    public_functions as _public_functions
from .ops import creation as _creation
from .ops.random import (Generator, manual_seed, seed, initial_seed, get_rng_state,
                         set_rng_state, default_generator)

half, float, double, long, int, short = float16, float32, float64, int64, int32, int16
cfloat, cdouble, chalf = complex64, complex128, complex32
globals().update({d.name: d for d in _dtype.SHELL_BITS + _dtype.SHELL_INTS})
e, pi, inf, nan, newaxis = _math.e, _math.pi, _math.inf, _math.nan, None
from ._layout import (layout, strided, sparse_coo, sparse_csr,  # noqa: E402,F401
                      sparse_csc, sparse_bsr, sparse_bsc, _mkldnn, jagged)
from ._memory_format import (memory_format, contiguous_format, preserve_format,  # noqa: E402
                             channels_last, channels_last_3d)
legacy_contiguous_format = contiguous_format


def _export():
    g = globals()
    for module in _OP_MODULES + (_creation,):
        for name, fn in _public_functions(module):
            if (name not in g or name in ("float", "int", "bool")) and name not in _METHODS_ONLY:
                g[name] = fn
    g["range"] = _creation.range_
    g.update({n: getattr(_creation, n) for n in _creation.LEGACY_TENSOR_TYPES})
    g["tensortype"] = _creation.tensortype


_export()
from ._dtype import result_type  # noqa: E402  (needs the Tensor class)
from . import amp, autograd, backends, cuda  # noqa: E402,F401
from . import linalg  # noqa: E402,F401
from .amp import GradScaler, autocast  # noqa: E402
from .torch_version import __version__  # noqa: E402
from ._tensor_str import set_printoptions  # noqa: E402
from ._threads import get_num_threads, set_num_threads  # noqa: E402
from ._toplevel import *  # noqa: E402,F401,F403  (torch's top-level odds and ends)
from . import sparse  # noqa: E402  (binds the sparse Tensor methods)
from .sparse import sparse_coo_tensor, sparse_csr_tensor, _spmm as spmm  # noqa: E402,F401
from .sparse import smm, sspaddmm, hspmm, _spmm as dsmm  # noqa: E402,F401
from .sparse import (sparse_compressed_tensor, sparse_csc_tensor,  # noqa: E402,F401
                     sparse_bsr_tensor, sparse_bsc_tensor)
saddmm, hsmm = sspaddmm, hspmm     # torch's legacy names
from ._quantized import (qscheme, per_tensor_affine, per_channel_affine,  # noqa: E402,F401
                         per_tensor_symmetric, per_channel_symmetric,
                         per_channel_affine_float_qparams, quantize_per_tensor,
                         quantize_per_channel, quantize_per_tensor_dynamic, dequantize,
                         _make_per_tensor_quantized_tensor, _make_per_channel_quantized_tensor,
                         _empty_affine_quantized, int_repr, q_scale, q_zero_point,
                         q_per_channel_scales, q_per_channel_zero_points, q_per_channel_axis,
                         bind_methods as _bind_quantized)
_bind_quantized()
from ._tensor import read_only_attributes as _read_only  # noqa: E402
_read_only()     # (after every module that binds a Tensor property)

_LAZY_MODULES = {"nn", "optim", "utils", "serialization", "func", "fft", "special", "distributions",
                 "testing", "random", "accelerator", "cpu", "compiler", "profiler",
                 "library", "distributed", "multiprocessing", "hub", "jit", "signal", "overrides",
                 "quasirandom", "functional", "masked", "storage", "fx", "__future__", "types",
                 "futures", "nested", "ao", "quantization", "_C", "xpu", "mps", "mtia",
                 "onnx", "_dynamo", "_inductor", "_utils", "_lowrank"}
_LAZY_FUNCTIONS = {"save": "serialization", "load": "serialization", "compile": "compiler",
                   "cdist": "nn.functional", "is_anomaly_enabled": "autograd.anomaly_mode",
                   "is_anomaly_check_nan_enabled": "autograd.anomaly_mode",
                   "set_anomaly_enabled": "autograd.anomaly_mode",
                   "cond": "_control_flow", "while_loop": "_control_flow", "lobpcg": "_lobpcg",
                   "conv_tbc": "nn._conv_tbc", "Future": "futures", "Stream": "_streams",
                   "Event": "_streams", "_standard_gamma": "distributions._implicit",
                   "_sample_dirichlet": "distributions._implicit"}
_LAZY_FUNCTIONS.update(dict.fromkeys(("UntypedStorage", "TypedStorage", "Storage", "FloatStorage",
                                      "DoubleStorage", "HalfStorage", "BFloat16Storage",
                                      "LongStorage", "IntStorage", "ShortStorage", "CharStorage",
                                      "ByteStorage", "BoolStorage", "ComplexFloatStorage",
                                      "ComplexDoubleStorage"), "_storage"))
from ._functional_aliases import NAMES as _ALIAS_NAMES  # noqa: E402  (names only; cheap)
_LAZY_FUNCTIONS.update(dict.fromkeys(_ALIAS_NAMES, "_functional_aliases"))
_LAZY_FUNCTIONS.update(dict.fromkeys((  # SyncBatchNorm's kernels (ember/_batch_norm_kernels.py)
    "batch_norm_stats batch_norm_elemt batch_norm_gather_stats batch_norm_gather_stats_with_counts "
    "batch_norm_backward_reduce batch_norm_backward_elemt batch_norm_update_stats native_norm"
).split(), "_batch_norm_kernels"))
_LAZY_FUNCTIONS.update(dict.fromkeys(("fake_quantize_per_tensor_affine",
                                      "fake_quantize_per_channel_affine",
                                      "_fake_quantize_learnable_per_tensor_affine",
                                      "fused_moving_avg_obs_fake_quant"),
                                     "ops.fake_quantize"))
_LAZY_FUNCTIONS.update(dict.fromkeys(("quantized_batch_norm", "quantized_max_pool1d",
                                      "quantized_max_pool2d"), "ops._quantized_nn"))
from ._foreach import NAMES as _FOREACH_NAMES  # noqa: E402  (plain loops; cheap)
_LAZY_FUNCTIONS.update(dict.fromkeys(_FOREACH_NAMES, "_foreach"))
_LAZY_FUNCTIONS.update(dict.fromkeys(("_amp_foreach_non_finite_check_and_unscale_",
                                      "_amp_update_scale_"), "amp._kernels"))


def __getattr__(name):
    """Subpackages import on first use, so `import ember` stays fast."""
    import importlib
    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_FUNCTIONS:
        fn = getattr(importlib.import_module(f"{__name__}.{_LAZY_FUNCTIONS[name]}"), name)
        return _torch_function.lazy_function(fn, name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def __dir__():
    """The lazy names too (tab completion lists them, as torch's dir does)."""
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_FUNCTIONS))


from . import _torch_function  # noqa: E402
_torch_function.watch_class_statements()   # a user's class with __torch_function__ turns
#                                            dispatch on
