"""Which of torch's CPU kernels take the float8 dtypes, and how.

torch 2.13 has float8 kernels for copies, views, indexing, cat/stack, where, == and !=, isnan,
abs (not float8_e8m0fnu's), mul of two tensors and the matrix products that reach mm; every
other kernel's dtype dispatch raises `"<kernel>" not implemented for 'Float8_e4m3fn'`.
REFUSED names the kernel that raises for each ember op (or a function of the op's arguments
giving it, an exception, or None where torch picks a kernel that works). IN_FLOAT are the
arithmetic ones that work: computed in float32 and rounded once as c10 converts (saturating
float8_e4m3fn), not as ml_dtypes' own loops round.

These cost a dtype check per call, so `install` puts them on the ops only when a program
first names a float8 dtype (`_dtype.to_dtype`): a program without float8s never pays.
"""
from .. import _float8
from .._dtype import FLOAT8, _BY_NAME
from .._kernel_dtypes import not_implemented, tname
from ._registry import OPS


def _by_other(tensor_kernel, scalar_kernel):
    """A binary op whose `other` picks the kernel: a Python scalar or 0-d tensor another."""
    return lambda x, y, *rest: scalar_kernel if getattr(y, "ndim", 0) == 0 else tensor_kernel


def _matmul(x, y, *rest):
    """matmul's batched products run bmm, unless torch folds them into mm."""
    return "bmm" if y.ndim > 2 else None


def _uncast(kernel):
    """A reduction refusing a float8 input unless its `dtype` (the last argument) casts it."""
    return lambda x, *rest: kernel if rest[-1] is None or rest[-1].num in _ALL else None


def _std_var(x, dims, *rest):
    """std/var: a reduction to one value fails before the dtype dispatch."""
    if dims is None or len(dims) == x.ndim:
        return RuntimeError(f"std_var_all: Unsupported dtype {tname(x.dtype)}")
    return "std_cpu"


def _clamp(x, lo, hi, *rest, tensors=False):
    """clamp with one bound runs clamp_min/clamp_max (maximum/minimum for a tensor bound)."""
    if lo is None:
        return "minimum_cpu" if tensors else "clamp_max_scalar_cpu"
    if hi is None:
        return "maximum_cpu" if tensors else "clamp_min_scalar_cpu"
    return "clamp_cpu" if tensors else "clamp_scalar_cpu"


def _vml(*names):
    return {n: n + "_vml_cpu" for n in names}


def _cpu(*names):
    return {n: n + "_cpu" for n in names}


REFUSED = {
    "add": "add_stub", "sub": "add_stub", "rsub": "add_stub", "rsub_tensor": "add_stub",
    "dist": "add_stub",
    "mul": _by_other(None, "mul_cpu_reduced_float"),
    "div": _by_other("div_cpu", "div_cpu_reduced_float"),
    "floor_divide": "div_floor_cpu", "square": "pow", "pow": "pow", "pow_tensor": "pow",
    "rpow": "pow", "sgn": "sign_cpu", "round_decimals": "round_cpu", "nan_to_num": "nan_to_num",
    "relu": "clamp_min_scalar_cpu", "clamp": _clamp,
    "clamp_min": "clamp_min_scalar_cpu", "clamp_max": "clamp_max_scalar_cpu",
    "clamp_tensor": lambda *a: _clamp(*a, tensors=True), "clamp_min_tensor": "maximum_cpu",
    "clamp_max_tensor": "minimum_cpu", "lerp": "lerp_kernel_scalar",
    "lerp_tensor": "lerp_kernel_tensor", "addcmul": "addcmul_cpu_out",
    "addcdiv": "addcdiv_cpu_out",
    **dict.fromkeys(("sum", "sum_dim", "mean", "mean_dim"), _uncast("sum_cpu")),
    **dict.fromkeys(("prod", "prod_dim"), _uncast("prod_out_cpu")),
    "nansum": _uncast("nansum_cpu"), "cumsum": _uncast("cumsum_out_cpu"),
    "cumprod": _uncast("cumprod_out_cpu"),
    "std": _std_var, "var": _std_var, "std_mean": "std_cpu", "var_mean": "std_cpu",
    "max_all": "max_all", "min_all": "min_all",
    "max_dim": "max_cpu", "min_dim": "min_cpu", "amax": "max_values_cpu",
    "amin": "min_values_cpu", "median": "median_cpu", "median_dim": "median_out",
    "nanmedian": "median_cpu", "nanmedian_dim": "median_out",
    "sort": "sorting_kernel_method_name", "logcumsumexp": "logcumsumexp_out_cpu",
    "logsumexp": "max_values_cpu", "dot": "dot", "vdot": "dot", "mv": "addmv_impl_cpu",
    "addmv": "addmv_impl_cpu", "bmm": "bmm", "baddbmm": "baddbmm", "einsum": "bmm",
    "matmul": _matmul, "trace": "trace", "linalg_vector_norm": "norm_cpu",
    "masked_fill": "masked_fill", "masked_scatter": "masked_scatter",
    "gather": "gather_expanded_index",
    "scatter": lambda x, index, src, *rest: "scatter_gather_scalar_cpu"
    if getattr(src, "ndim", None) is None else "scatter_gather_tensor_cpu",
    "scatter_add": "scatter_gather_tensor_cpu", "scatter_reduce": "scatter_gather_tensor_cpu",
    "index_add": "index_add_", "index_fill": "index_fill_cpu", "take": "take_cpu",
    "flip": "flip_cpu", "tril": "tril", "triu": "triu", "linalg_cross": "cross",
    "unique2": "unique",
    "quantile": lambda *a: RuntimeError("quantile() input tensor must be either float or double "
                                        "dtype"),
    "exp2": "exp2", "digamma": "digamma", "sigmoid": "sigmoid_cpu_reduced_float",
    "deg2rad": "mul_cpu_reduced_float", "rad2deg": "mul_cpu_reduced_float",
    **_vml("exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan", "asin",
           "acos", "atan", "tanh", "erf", "erfc", "erfinv", "lgamma", "floor", "ceil", "round",
           "trunc", "i0"),
    **_cpu("rsqrt", "reciprocal", "sinh", "cosh", "asinh", "acosh", "atanh", "neg", "sign",
           "frac", "logit", "sinc", "atan2", "hypot", "copysign", "logaddexp", "logaddexp2",
           "xlogy", "nextafter", "heaviside", "fmax", "fmin", "maximum", "minimum", "lt", "le",
           "gt", "ge", "div_floor", "div_trunc", "remainder", "fmod", "mode", "kthvalue", "topk",
           "cummax", "cummin", "index_copy", "logical_and", "logical_or", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "frexp"),
}
# float8_e8m0fnu (an unsigned power of two) has no abs, addmm or index_put either
REFUSED_E8M0 = {"abs": "abs_cpu", "index_put": "index_put",
                **dict.fromkeys(("addmm", "mm", "linear", "addbmm", "matmul", "vm"),
                                "addmm_impl_cpu_")}
IN_FLOAT = ("mul", "mm", "addmm", "linear", "matmul", "vm")
# the predicates (elementwise._nograd_unary); float8_e5m2 has isinf and isfinite,
# float8_e8m0fnu isfinite
PREDICATES = {"isinf": "isinf", "isfinite": "isfinite", "isposinf": "isposinf_cpu",
              "isneginf": "isneginf_cpu", "signbit": "signbit_cpu",
              "logical_not": "logical_not_cpu"}
_ALL = frozenset(_BY_NAME[n].np.num for n in FLOAT8)
_INSTALLED = []


def _refusing(fwd, kernel, refuses):
    """`fwd` raising torch's error for an input of a dtype (by NumPy type number) in
    `refuses`."""
    pick = kernel if callable(kernel) else None

    def run(xp, x, *rest):
        dt = getattr(x, "dtype", None)
        if dt is not None and dt.num in refuses:
            k = pick(x, *rest) if pick is not None else kernel
            if isinstance(k, Exception):
                raise k
            if k is not None:
                raise not_implemented(k, dt)
        return fwd(xp, x, *rest)
    return run


def _in_float(fwd):
    """`fwd` of float8 inputs computed in float32, its result rounded as c10 converts."""
    def run(xp, *args):
        dt = getattr(args[0], "dtype", None)
        if dt is None or dt.num not in _ALL:
            return fwd(xp, *args)
        y, saved = fwd(xp, *(_float8.to_float32(a) if getattr(a, "dtype", None) == dt else a
                             for a in args))
        return _float8.from_array(y, dt), saved
    return run


def _deny(prev, kernel, refuses):
    """A _nograd_unary `deny` entry refusing the float8s in `refuses`, else as `prev`."""
    def deny(name, dt):
        if dt.num in refuses:
            return not_implemented(kernel, dt)
        return None if prev is None else prev(name, dt)
    return deny


def install():
    """Put torch's float8 kernels and refusals on the ops (once)."""
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    for name in IN_FLOAT:
        o = OPS[name]
        o.impl[:] = [(_in_float(f), b) for f, b in o.impl]      # in place: fast paths hold it
    e8m0 = frozenset((_BY_NAME["float8_e8m0fnu"].np.num,))
    for table, refuses in ((REFUSED_E8M0, e8m0), (REFUSED, _ALL)):     # REFUSED's picks first
        for name, kernel in table.items():
            o = OPS[name]
            o.impl[:] = [(_refusing(f, kernel, refuses), b) for f, b in o.impl]
    from .elementwise import NOGRAD_DENY
    e5m2 = _BY_NAME["float8_e5m2"].np.num
    for name, kernel in PREDICATES.items():
        refuses = _ALL - {e5m2, *e8m0} if name == "isfinite" else \
            _ALL - {e5m2} if name == "isinf" else _ALL
        deny = NOGRAD_DENY[name]
        for kind in "fV":       # (float8_e5m2 is kind "f")
            deny[kind] = _deny(deny.get(kind), kernel, refuses)
