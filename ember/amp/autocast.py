"""autocast: ops in the 'lower' list run in the autocast dtype, ops in the 'fp32' list in
float32, as in torch's CUDA (and CPU bfloat16) autocast op lists."""
import functools

from .. import _dtype
from ..ops._registry import OPS
from .state import AMP

# torch's lists (aten names mapped to ember's op names); ops not listed run in their inputs' dtype
POLICY = {
    "lower": ("matmul", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "bmm", "baddbmm", "addmm", "einsum",
              "scaled_dot_product_attention", "prelu"),
    "fp32": ("softmax", "log_softmax", "cross_entropy", "nll_loss", "layer_norm", "group_norm",
             "batch_norm", "rms_norm", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
             "binary_cross_entropy_with_logits", "kl_div", "norm", "cumsum", "cumprod",
             "logsumexp", "pow", "exp", "log", "log_softmax_nll", "cosine_similarity",
             "pdist", "cdist", "soft_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"),
}


def apply_policy():
    """Write the policy into the op registry (called once ops are registered)."""
    for policy, names in POLICY.items():
        for name in names:
            if name in OPS:
                OPS[name].amp = policy


def cast_args(op, args):
    """Cast the floating tensors among `args` according to the op's policy."""
    from .._tensor import Tensor
    target = AMP.dtype if op.amp == "lower" else _dtype.float32
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.be.name == AMP.device_type and a.is_floating_point() \
                and a.dtype is not target and a.dtype is not _dtype.float64:
            a = a.to(target)
        out.append(a)
    return tuple(out)


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if device_type not in ("cuda", "cpu", "mock"):
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        if dtype is None:
            dtype = get_autocast_dtype(device_type)
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, enabled

    def __enter__(self):
        self._prev = (AMP.enabled, AMP.dtype, AMP.device_type)
        if self._enabled:
            apply_policy()
            AMP.enabled, AMP.dtype, AMP.device_type = True, self.fast_dtype, self.device_type
        else:
            AMP.enabled = False
        return self

    def __exit__(self, *exc):
        AMP.enabled, AMP.dtype, AMP.device_type = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapper


def is_autocast_enabled(device_type=None):
    return AMP.enabled and (device_type is None or device_type == AMP.device_type)


# torch.set_autocast_dtype / set_autocast_cache_enabled state (the active device's dtype is AMP's)
_DTYPES = {}
CACHE = {"enabled": True}


def _check_device_type(device_type):
    from ..backends import device
    device(device_type)           # raises RuntimeError for an unknown device type


def get_autocast_dtype(device_type):
    if AMP.enabled and device_type == AMP.device_type:
        return AMP.dtype
    _check_device_type(device_type)
    if device_type in _DTYPES:
        return _DTYPES[device_type]
    return _dtype.float16 if device_type == "cuda" else _dtype.bfloat16


def set_autocast_dtype(device_type, dtype):
    _check_device_type(device_type)
    _DTYPES[device_type] = dtype
    if AMP.enabled and device_type == AMP.device_type:
        AMP.dtype = dtype


def set_autocast_enabled(device_type, enabled):
    """torch.set_autocast_enabled(device_type, enabled): ember autocasts one device at a time, so
    enabling a device makes it the autocast device."""
    _check_device_type(device_type)
    if enabled:
        dt = get_autocast_dtype(device_type)
        apply_policy()
        AMP.enabled, AMP.dtype, AMP.device_type = True, dt, device_type
    elif AMP.device_type == device_type:
        AMP.enabled = False
