"""autocast: ops in the 'lower' list run in the autocast dtype, ops in the 'fp32' list in
float32, as in torch's CUDA (and CPU bfloat16) autocast op lists."""
import contextlib
import functools
import warnings

from .. import _dtype
from ..ops._registry import OPS
from .state import AMP

# torch's lists (aten names mapped to ember's op names); ops not listed run in their inputs' dtype.
# CUDA's (float16/bfloat16) and CPU's (bfloat16/float16) lists differ: CPU keeps softmax, exp,
# log, pow, cumsum and the norms in the inputs' dtype, and mv, dot, addmv and einsum too (whose
# bmm's are lowered), but computes prod, quantile, trace, the decompositions, the losses, cdist,
# the 3-d pools, the reflection and replication pads, grid_sample and the FFTs in float32.
# (matmul casts before it picks its mm/mv/dot/vm op: amp.autocast.cast_args in ops/linalg.py.)
POLICY = {
    "cuda": {
        "lower": ("matmul", "mv", "addmv", "linear", "bmm", "baddbmm", "addmm", "einsum"),
        # (torch sets sum's dtype= to float32 where ember casts its input: the same sums; "pow"
        # stands for its three overloads, elementwise.pow)
        "fp32": ("dist", "linalg_vector_norm", "acos", "asin", "cosh", "erfinv", "exp", "expm1",
                 "log", "log10", "log2", "log1p", "reciprocal", "rsqrt", "sinh", "tan", "pow",
                 "sum", "sum_dim"),
        "promote": ("dot", "vdot", "addcdiv", "addcmul", "atan2", "linalg_cross", "index_put",
                    "scatter_add", "index_copy", "cat", "stack"),
    },
    "cpu": {
        "lower": ("matmul", "mm", "bmm", "linear", "addmm", "baddbmm", "addbmm"),
        "fp32": ("prod", "prod_dim", "quantile", "trace", "geqrf",
                 "linalg_svd", "linalg_svdvals", "linalg_eigh", "linalg_eigvalsh", "linalg_qr",
                 "linalg_cholesky_ex", "linalg_inv_ex", "linalg_solve_ex",
                 "linalg_householder_product"),
        "promote": ("index_copy", "cat", "stack"),
    },
}

# Python-level functions (nn.functional, fft) that torch's lists name: they cast their floating
# tensor arguments to float32 first (fp32_function)
FUNCTIONS = {
    "cuda": frozenset((
        "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "kl_div",
        "binary_cross_entropy_with_logits", "soft_margin_loss", "margin_ranking_loss",
        "hinge_embedding_loss", "cosine_embedding_loss", "poisson_nll_loss",
        "triplet_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "cdist", "pdist",
        "cosine_similarity", "cross_entropy", "layer_norm", "group_norm", "rms_norm",
        "softmax", "log_softmax", "softplus", "renorm", "norm", "prod", "cumsum", "cumprod",
        "logsumexp")),
    "cpu": frozenset((
        "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
        "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
        "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
        "cosine_embedding_loss", "poisson_nll_loss", "triplet_margin_loss", "multi_margin_loss",
        "multilabel_margin_loss", "ctc_loss", "cdist", "avg_pool3d", "max_pool3d",
        "adaptive_avg_pool3d", "adaptive_max_pool3d",
        "adaptive_max_pool3d_with_indices", "fractional_max_pool2d",
        "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
        "fractional_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
        "reflection_pad1d", "reflection_pad2d", "replication_pad1d", "replication_pad2d",
        "replication_pad3d", "polar", "view_as_complex", "pinverse", "grid_sample", "stft",
        "fft", "ifft",
        "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
        "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn",
        "prod", "quantile", "nanquantile", "trace", "cholesky", "cholesky_inverse",
        "cholesky_solve", "inverse", "lu_solve", "orgqr", "ormqr", "geqrf", "svd", "qr",
        "triangular_solve", "linalg_cholesky", "linalg_cholesky_ex", "linalg_eigh",
        "linalg_eigvalsh", "linalg_inv", "linalg_inv_ex", "linalg_qr", "linalg_solve",
        "linalg_solve_ex", "linalg_svd", "linalg_svdvals", "linalg_householder_product",
        "linalg_lstsq", "linalg_eig", "linalg_eigvals", "linalg_matrix_rank")),
}
# Python-level functions torch's lists compute in the autocast dtype ("lower") or in the widest
# floating dtype of their arguments ("promote"): cast before their own dtype checks
_LOWER = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
          "prelu", "baddbmm", "addbmm", "addmm", "scaled_dot_product_attention", "linalg_vecdot")
LOWER_FUNCTIONS = {"cpu": frozenset(_LOWER), "cuda": frozenset(_LOWER + ("addr",))}
PROMOTE_FUNCTIONS = {"cpu": frozenset(("index_copy",)),
                     "cuda": frozenset(("bilinear", "tensordot", "grid_sample", "cross", "dot",
                                        "vdot", "scatter_add", "index_put"))}
# CUDA autocast refuses binary_cross_entropy
_BCE_UNSAFE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional."
    "binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")
# the top-level functions (and Tensor methods) among them, wrapped where ember/_bind.py binds
TOPLEVEL = ("prod", "quantile", "nanquantile", "trace", "cholesky", "cholesky_inverse",
            "cholesky_solve", "inverse", "lu_solve", "orgqr", "ormqr", "geqrf", "svd", "qr",
            "triangular_solve", "baddbmm", "addbmm", "addmm", "index_copy", "view_as_complex",
            "pinverse", "renorm", "norm", "tensordot", "cross", "dot", "vdot", "scatter_add",
            "index_put", "addr", "cumsum", "cumprod", "logsumexp")

_DEFAULTS = {}          # each op's amp as registered, before any device's list is written
_APPLIED = [None]


def _policy_key(device_type):
    return "cpu" if device_type == "cpu" else "cuda"


def apply_policy(device_type="cuda"):
    """Write the device's policy into the op registry (when it is not the one written last)."""
    key = _policy_key(device_type)
    if _APPLIED[0] == key:
        return
    for name, o in OPS.items():
        o.amp = _DEFAULTS.setdefault(name, o.amp)
    for policy, names in POLICY[key].items():
        for name in names:
            if name in OPS:
                OPS[name].amp = policy
    _APPLIED[0] = key


def cast_args(op, args):
    """Cast the floating tensors among `args` according to the op's policy."""
    from .._tensor import Tensor
    if op.amp == "promote":
        target = _prioritize(args)
    else:
        target = AMP.dtype if op.amp == "lower" else _dtype.float32
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.be.name == AMP.device_type and a.is_floating_point() \
                and a.dtype is not target and a.dtype is not _dtype.float64:
            a = a.to(target)
        out.append(a)
    return tuple(out)


def _cast_to(a, target):
    from .._tensor import Tensor
    if isinstance(a, Tensor):
        if a.be.name == AMP.device_type and a.is_floating_point() and \
                a.dtype is not target and a.dtype is not _dtype.float64:
            return a.to(target)
        return a
    if isinstance(a, (list, tuple)) and any(isinstance(x, Tensor) for x in a):
        return type(a)(_cast_to(x, target) for x in a)
    return a


def rnn_args(*args):
    """torch's CUDA autocast lists the RNN cells and cuDNN's RNN in its lower precision: each
    floating argument (hidden and cell states, weights) in the autocast dtype. CPU autocast
    lowers only their linears (and oneDNN's LSTM layer), so there `args` come back as given."""
    if not AMP.enabled or _policy_key(AMP.device_type) == "cpu":
        return args
    return tuple(_cast_to(a, AMP.dtype) for a in args)


def _prioritize(args):
    """torch's at::autocast::prioritize over the floating tensors autocast may cast (lists
    included): float32 wins over the autocast dtype, float64 is ignored, and any other floating
    dtype is refused."""
    target = AMP.dtype
    for d in _cast_dtypes(args):
        if d is _dtype.float32 or target is _dtype.float32:
            target = _dtype.float32
        elif d is not AMP.dtype:
            raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return target


def _cast_dtypes(args):
    from .._tensor import Tensor
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from _cast_dtypes(a)
        elif isinstance(a, Tensor) and a.be.name == AMP.device_type and \
                a.is_floating_point() and a.dtype is not _dtype.float64:
            yield a.dtype


def _target(name):
    key = _policy_key(AMP.device_type)
    if key == "cuda" and name == "binary_cross_entropy":
        raise RuntimeError(_BCE_UNSAFE)
    if name in FUNCTIONS[key]:
        return _dtype.float32
    if name in LOWER_FUNCTIONS[key]:
        return AMP.dtype
    if name in PROMOTE_FUNCTIONS[key]:
        return "promote"
    return None


def fp32_function(name, fn):
    """fn, whose floating tensor arguments are cast first while autocast is on for a device
    whose lists name `name`: to float32 (FUNCTIONS), the autocast dtype (LOWER_FUNCTIONS) or
    their widest floating dtype (PROMOTE_FUNCTIONS); the ops inside run without autocast, as
    torch's autocast kernels exclude its dispatch key. An out= call is not autocast."""
    @functools.wraps(fn)
    def autocast_cast(*args, **kwargs):
        if AMP.enabled:
            if kwargs.get("out") is not None:       # torch autocasts no out= variant
                return uncast(fn, *args, **kwargs)
            target = _target(name)
            if target == "promote":
                target = _prioritize((*args, *kwargs.values()))
            if target is not None:
                args = tuple(_cast_to(a, target) for a in args)
                kwargs = {k: _cast_to(v, target) for k, v in kwargs.items()}
                return uncast(fn, *args, **kwargs)
        return fn(*args, **kwargs)
    return autocast_cast


def uncast(fn, *args, **kwargs):
    """fn(*args, **kwargs) with the op hot path's autocast off."""
    if not AMP.enabled:
        return fn(*args, **kwargs)
    AMP.enabled = False
    try:
        return fn(*args, **kwargs)
    finally:
        AMP.enabled = True


def fp32_arg(name, t):
    """t in float32 where autocast is on and its device's lists name `name` float32."""
    if AMP.enabled and name in FUNCTIONS[_policy_key(AMP.device_type)]:
        return _cast_to(t, _dtype.float32)
    return t


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: "
                             f"`<class '{_type_name(device_type)}'>`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = self.device_type = device_type
        from .custom import is_autocast_available
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        self._cache_enabled = CACHE["enabled"] if cache_enabled is None else cache_enabled
        if enabled:
            enabled = _can_enable(device_type, self.fast_dtype)
        self._enabled = enabled

    def __enter__(self):
        from .._toplevel import autocast_increment_nesting
        self.prev_cache_enabled = CACHE["enabled"]
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        self._prev_amp = (AMP.enabled, AMP.dtype, AMP.device_type)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        CACHE["enabled"] = self._cache_enabled
        return self

    def __exit__(self, *exc):
        from .._toplevel import autocast_decrement_nesting
        autocast_decrement_nesting()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        CACHE["enabled"] = self.prev_cache_enabled
        AMP.enabled, AMP.dtype, AMP.device_type = self._prev_amp
        if AMP.enabled:
            apply_policy(AMP.device_type)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return wrapper


def saved_regions():
    """The autocast state as torch's checkpoint saves it for its recomputation: a region per
    device type that has state, the CPU's entered last (as torch enters it)."""
    devices = sorted(set(_ENABLED) - {"cpu"}) + ["cpu"]
    return [(d, get_autocast_dtype(d), _ENABLED.get(d, False)) for d in devices]


def replay(regions):
    """A context entering the saved regions again."""
    stack = contextlib.ExitStack()
    for device_type, dtype, enabled in regions:
        stack.enter_context(autocast(device_type, dtype=dtype, enabled=enabled,
                                     cache_enabled=CACHE["enabled"]))
    return stack


def _can_enable(device_type, dtype):
    """torch's checks when an autocast region is constructed enabled: CUDA must be available,
    and other devices run only bfloat16 and float16 (else a warning, and the region is off)."""
    if device_type == "cuda":
        from .. import cuda
        if not cuda.is_available():
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          UserWarning, stacklevel=3)
            return False
        return True
    if dtype not in (_dtype.bfloat16, _dtype.float16):
        name = device_type.upper()
        warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling "
                      f"autocast.\n{name} Autocast only supports dtypes of torch.bfloat16, "
                      f"torch.float16 currently.", UserWarning, stacklevel=3)
        return False
    return True


# torch keeps autocast state per device type; ember casts for one device at a time (AMP, read by
# the op hot path): the device enabled last, while it stays enabled
_ENABLED = {}
_DTYPES = {}
CACHE = {"enabled": True}


def _activate(device_type):
    apply_policy(device_type)
    AMP.enabled, AMP.dtype, AMP.device_type = True, get_autocast_dtype(device_type), device_type


def _type_name(value):
    """The type's name as torch prints it (ember's classes as torch's)."""
    kind = type(value)
    return f"torch.{kind.__name__}" if kind.__module__.startswith("ember") else kind.__name__


def _check_device_type(device_type, fn):
    if not isinstance(device_type, str):
        raise TypeError(f"{fn}(): argument 'device_type' (position 1) must be str, not "
                        f"{_type_name(device_type)}")
    from ..backends import device
    device(device_type)           # raises RuntimeError for an unknown device type


def is_autocast_enabled(device_type="cuda"):
    _check_device_type(device_type, "is_autocast_enabled")
    return _ENABLED.get(device_type, False)


def get_autocast_dtype(device_type):
    _check_device_type(device_type, "get_autocast_dtype")
    if device_type in _DTYPES:
        return _DTYPES[device_type]
    return _dtype.float16 if device_type == "cuda" else _dtype.bfloat16


def set_autocast_dtype(device_type, dtype):
    _check_device_type(device_type, "set_autocast_dtype")
    _DTYPES[device_type] = dtype
    if AMP.enabled and device_type == AMP.device_type:
        AMP.dtype = dtype


def set_autocast_enabled(device_type, enabled):
    """torch.set_autocast_enabled(device_type, enabled)."""
    _check_device_type(device_type, "set_autocast_enabled")
    _ENABLED[device_type] = bool(enabled)
    if enabled:
        _activate(device_type)
    elif AMP.device_type == device_type:
        others = [d for d, on in _ENABLED.items() if on]
        if others:
            _activate(others[-1])
        else:
            AMP.enabled = False
