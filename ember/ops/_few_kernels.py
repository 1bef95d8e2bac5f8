"""Which of torch's CPU kernels take the float8 dtypes and the "barebones" unsigned types
(uint16, uint32, uint64), and how.

torch 2.13 has float8 kernels for copies, views, indexing, cat/stack, where, == and !=, isnan,
abs (not float8_e8m0fnu's), mul of two tensors and the matrix products that reach mm; every
other kernel's dtype dispatch raises `"<kernel>" not implemented for 'Float8_e4m3fn'`.
REFUSED names the kernel that raises for each ember op (or a function of the op's arguments
giving it, an exception, or None where torch picks a kernel that works). IN_FLOAT are the
arithmetic ones that work: computed in float32 and rounded once as c10 converts (saturating
float8_e4m3fn), not as ml_dtypes' own loops round.

torch 2.13 has uint16/uint32/uint64 kernels for copies, views, indexing reads (index_select,
x[...]), cat/stack, where, eq and ne, bitwise and/or/xor, mul and div, the float-valued
functions (computed in float), sum and prod accumulated in int64, sort and unique; REFUSED_UINT
names the kernel that raises for the others.

These cost a dtype check per call, so `install` puts them on the ops only when a program
first names such a dtype (`_dtype.to_dtype`): a program without them never pays.
"""
import math

from .. import _float8
from .._dtype import FLOAT8, OF_NP, _BY_NAME
from .._kernel_dtypes import not_implemented, tname
from ._registry import OPS


def _by_other(tensor_kernel, scalar_kernel):
    """A binary op whose `other` picks the kernel: a Python scalar or 0-d tensor another."""
    return lambda x, y, *rest: scalar_kernel if getattr(y, "ndim", 0) == 0 else tensor_kernel


def _matmul(x, y, *rest):
    """The kernel torch's matmul reaches: dot, mv (also for a batch folded onto a vector), mm
    (also for a batch folded onto a matrix), else bmm."""
    if y.ndim > 2:
        return "bmm"
    if y.ndim == 1:
        return "dot" if x.ndim == 1 else "addmv_impl_cpu"
    return "addmm_impl_cpu_"


def _matmul_f8(*args):
    """matmul of float8s: as _matmul, mm excepted (float8 has mm)."""
    k = _matmul(*args)
    return None if k == "addmm_impl_cpu_" else k


def _pow(x, exponent, *rest):
    """pow by a Python 0 or 1 fills ones or copies (no kernel)."""
    return None if exponent == 0 or exponent == 1 else "pow"


def _flip(x, dims):
    """flip without its kernel where no flipped dim is the unit-stride one (a strided copy)."""
    for d in dims:
        if x.shape[d] > 1 and abs(x.strides[d]) == x.itemsize:
            return "flip_cpu"
    return None


def _gather_f8(x, index, dim):
    """gather of floats along dim 0 by an index expanded over the other dims (a 1-d one
    included) runs its own kernel."""
    st = index.strides
    if dim == 0 and x.ndim and index.ndim and st[0] == index.itemsize and \
            not any(st[1:]) and x.flags.c_contiguous:
        return "gather_expanded_index"
    return "scatter_gather_tensor_cpu"


def _vector_norm(x, ord, dims, keepdim):
    """A norm over one element at a time (or none) is its abs: no norm kernel."""
    n = x.size if dims is None else math.prod(x.shape[d] for d in dims)
    return "norm_cpu" if n > 1 else None


def _index_add(x, *rest):
    """index_add_ of a 1-d tensor runs its own kernel, of others a scatter_add."""
    return "index_add_" if x.ndim <= 1 else "scatter_gather_tensor_cpu"


def _scatter_reduce(x, index, src, dim, reduce, include_self):
    if not include_self:
        return "scatter_reduce_exclude_input_init"
    return "scatter_gather_tensor_cpu" if reduce in ("sum", "prod") else \
        f"scatter_gather_tensor_cpu_reduce_{reduce}"


def _index_reduce(x, index, src, dim, reduce, include_self):
    """index_reduce: prod has a kernel; mean, amax and amin run add, maximum and minimum."""
    if not include_self:
        return "index_reduce_func_exclude_input_init"
    return {"mean": "add_stub", "amax": "maximum_cpu", "amin": "minimum_cpu"}.get(reduce)


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


_INDEXING = {
    "gather": "scatter_gather_tensor_cpu",
    "scatter": lambda x, index, src, *rest: "scatter_gather_scalar_cpu"
    if getattr(src, "ndim", None) is None else "scatter_gather_tensor_cpu",
    "scatter_add": "scatter_gather_tensor_cpu", "scatter_reduce": _scatter_reduce,
    "index_add": _index_add, "index_reduce": _index_reduce,
}


def _vml(*names):
    return {n: n + "_vml_cpu" for n in names}


def _cpu(*names):
    return {n: n + "_cpu" for n in names}


REFUSED = {
    "add": "add_stub", "sub": "add_stub", "rsub": "add_stub", "rsub_tensor": "add_stub",
    "dist": "add_stub",
    "mul": _by_other(None, "mul_cpu_reduced_float"),
    "div": _by_other("div_cpu", "div_cpu_reduced_float"),
    "floor_divide": "div_floor_cpu", "square": "pow", "pow": _pow, "pow_tensor": "pow",
    "rpow": "pow", "sgn": "sign_cpu", "nan_to_num": "nan_to_num",
    "round_decimals": lambda x, decimals: "round_cpu" if decimals else "round_vml_cpu",
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
    "matmul": _matmul_f8, "trace": "trace", "linalg_vector_norm": _vector_norm,
    "mvlgamma": "arange_cpu",
    "masked_fill": "masked_fill", "masked_scatter": "masked_scatter",
    **_INDEXING, "gather": _gather_f8,
    "index_fill": "index_fill_cpu", "take": "take_cpu",
    "flip": _flip, "tril": "tril", "triu": "triu", "linalg_cross": "cross",
    "unique2": "unique",
    "quantile": lambda *a: RuntimeError("quantile() input tensor must be either float or double "
                                        "dtype"),
    "aminmax": "aminmax_cpu", "put": "take_put_cpu", "igamma": "igamma_cpu",
    "igammac": "igammac_cpu",
    "polygamma": lambda x, n: ("digamma", "trigamma")[n] if n < 2 else "polygamma",
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
                # (a norm over single elements: their abs, which REFUSED's norm lets through)
                "linalg_vector_norm": lambda x, *rest: "abs_cpu" if x.size else None,
                **dict.fromkeys(("addmm", "mm", "linear", "addbmm", "matmul", "vm"),
                                "addmm_impl_cpu_")}


def _as_uint(kernel):
    """A reduction of a uint16/32/64 input: accumulated in int64 unless `dtype` (the last
    argument) keeps it unsigned."""
    return lambda x, *rest: kernel if rest[-1] is not None and rest[-1].num in _UINTS else None


REFUSED_UINT = {
    "add": "add_stub", "sub": "add_stub", "rsub": "add_stub", "rsub_tensor": "add_stub",
    "dist": "add_stub", "square": "pow", "pow": _pow, "pow_tensor": "pow", "rpow": "pow",
    "abs": "abs_cpu", "sgn": "sign_cpu",
    "floor_divide": "div_floor_cpu", "relu": "clamp_min_scalar_cpu", "clamp": _clamp,
    "clamp_min": "clamp_min_scalar_cpu", "clamp_max": "clamp_max_scalar_cpu",
    "clamp_tensor": lambda *a: _clamp(*a, tensors=True), "clamp_min_tensor": "maximum_cpu",
    "clamp_max_tensor": "minimum_cpu", "fmax": "maximum_cpu", "fmin": "minimum_cpu",
    "addcmul": "addcmul_cpu_out", "bitwise_left_shift": "lshift_cpu",
    "bitwise_right_shift": "rshift_cpu",
    **dict.fromkeys(("sum", "sum_dim"), _as_uint("sum_cpu")),
    **dict.fromkeys(("prod", "prod_dim"), _as_uint("prod_out_cpu")),
    "cumsum": _as_uint("cumsum_out_cpu"), "cumprod": _as_uint("cumprod_out_cpu"),
    "max_all": "max_all", "min_all": "min_all", "max_dim": "max_cpu", "min_dim": "min_cpu",
    "amax": "max_values_cpu", "amin": "min_values_cpu", "aminmax": "aminmax_cpu",
    "median": "median_cpu", "median_dim": "median_out", "nanmedian": "median_cpu",
    "nanmedian_dim": "median_out", "dot": "dot", "vdot": "dot", "mv": "addmv_impl_cpu",
    "addmv": "addmv_impl_cpu", "bmm": "bmm", "baddbmm": "baddbmm", "einsum": "bmm",
    "matmul": _matmul, "addr": "addr_cpu", "trace": "trace", "linalg_cross": "cross",
    **dict.fromkeys(("mm", "addmm", "linear", "addbmm", "vm"), "addmm_impl_cpu_"),
    "masked_fill": "masked_fill", "masked_scatter": "masked_scatter",
    "masked_select": "masked_select", "index_put": "index_put", "index_fill": "index_fill_cpu",
    "take": "take_cpu", "put": "take_put_cpu", "flip": _flip, "tril": "tril",
    "triu": "triu", **_INDEXING,
    **_cpu("neg", "sign", "div_floor", "div_trunc", "remainder", "fmod", "maximum", "minimum",
           "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "gcd", "lcm",
           "heaviside", "mode", "kthvalue", "topk", "cummax", "cummin", "index_copy"),
}


def _unless_float(kernel):
    """An op of a uint16/32/64 tensor and a floating operand (a Python float, a float tensor)
    computes in float: no refusal."""
    def pick(x, *rest):
        for a in rest:
            if isinstance(a, (float, complex)) or getattr(a, "dtype", None) is not None \
                    and a.dtype.kind in "fcV":
                return None
        return kernel(x, *rest) if callable(kernel) else kernel
    return pick


def _unless_empty(kernel, scalar=False):
    """Ops that return before their kernel's dtype dispatch when an input is empty (with
    `scalar`, also for a 0-d input: a scan or sort copies it)."""
    def pick(x, *rest):
        if x.size == 0 or scalar and x.ndim == 0 or \
                any(getattr(a, "size", 1) == 0 for a in rest):
            return None
        return kernel(x, *rest) if callable(kernel) else kernel
    return pick


REFUSED_UINT.update({n: _unless_float(REFUSED_UINT[n]) for n in (
    "add", "sub", "rsub", "rsub_tensor", "dist", "pow", "pow_tensor", "rpow", "floor_divide",
    "div_floor", "div_trunc", "remainder", "fmod", "maximum", "minimum", "fmax", "fmin", "lt",
    "le", "gt", "ge", "clamp", "clamp_min", "clamp_max", "clamp_tensor", "clamp_min_tensor",
    "clamp_max_tensor", "addcmul")})
_EMPTY_PASS = ("tril", "triu", "amax", "amin", "mm", "addmm", "matmul", "gather", "sum",
               "sum_dim", "prod", "prod_dim")
_EMPTY_OR_SCALAR_PASS = ("cumsum", "cumprod", "cummax", "cummin", "sort", "max_dim", "min_dim",
                         "kthvalue", "topk", "mode")
for _table in (REFUSED, REFUSED_E8M0, REFUSED_UINT):
    _table.update({n: _unless_empty(_table[n]) for n in _EMPTY_PASS if n in _table})
    _table.update({n: _unless_empty(_table[n], scalar=True) for n in _EMPTY_OR_SCALAR_PASS
                   if n in _table})
PREDICATES_UINT = {"logical_not": "logical_not_cpu", "bitwise_not": "bitwise_not_cpu"}

IN_FLOAT = ("mul", "mm", "addmm", "linear", "matmul", "vm")
# the predicates (elementwise._nograd_unary); float8_e5m2 has isinf and isfinite,
# float8_e8m0fnu isfinite
PREDICATES = {"isinf": "isinf", "isfinite": "isfinite", "isposinf": "isposinf_cpu",
              "isneginf": "isneginf_cpu", "signbit": "signbit_cpu",
              "logical_not": "logical_not_cpu"}
_ALL = frozenset(_BY_NAME[n].np.num for n in FLOAT8)
# (by NumPy type number: uint64 has two, np.uint64 and np.ulonglong)
_UINTS = frozenset(num for num, d in OF_NP.items() if d.name in ("uint16", "uint32", "uint64"))
_INSTALLED = []
_E8M0 = frozenset(n for n in _ALL if OF_NP[n].name == "float8_e8m0fnu")
_FEW = _ALL | _UINTS
# functions outside the op registry: the kernel refusing, and the dtypes it refuses
FUNCTIONS = {
    "argmax": ("argmax_cpu", _FEW), "argmin": ("argmin_cpu", _FEW),
    "searchsorted": ("searchsorted_out_cpu", _FEW), "nonzero": ("nonzero_count_cpu", _FEW),
    "isin": ("isin_default_cpu", _FEW), "argsort": ("sorting_kernel_method_name", _ALL),
    "equal": ("equal_notnan_cpu", _ALL), "masked_fill": ("masked_fill", _FEW),
    "index_fill": ("index_fill_cpu", _FEW),
    "index_put": ("index_put", _UINTS | _E8M0),
    "index_select": ("index_select", _UINTS),       # (of a 0-d or 1-d tensor: its own kernel)
    "arange": ("arange_cpu", _FEW), "eye": ("eye", _UINTS), "linspace": ("linspace_cpu", _FEW),
    "randperm": ("randperm", _FEW), "hardtanh": ("clamp_scalar_cpu", _FEW),
}


def refuse(name, dt):
    """Raise torch's refusal of function `name` (FUNCTIONS) for NumPy dtype `dt`, a float8 or
    uint16/32/64 (_dtype.FEW_KERNELS), where it has one."""
    kernel, refused = FUNCTIONS[name]
    if dt.num in refused:
        raise not_implemented(kernel, dt)


# torch checks shapes before its kernel's dtype dispatch (index bounds after): elementwise ops
# broadcast their operands first, these run their own shape checks (in ember's forwards) first
_SHAPES_FIRST = frozenset(("mm", "addmm", "addmv", "mv", "dot", "vdot", "linear", "vm",
                           "kthvalue", "topk"))
_NOT_BROADCASTING = frozenset(("bmm", "baddbmm", "addbmm", "einsum", "matmul", "addr",
                               "linalg_cross", "gather", "scatter", "scatter_add",
                               "scatter_reduce", "index_add", "index_reduce", "index_put",
                               "index_fill", "index_copy", "masked_scatter", "masked_select",
                               "take", "put", "index_select"))


def _shapes_first(name, fwd):
    """A check of the arguments' shapes to run before a refusal: torch reports a shape error
    first."""
    if name in _SHAPES_FIRST:
        return fwd      # (its result is dropped: only its errors matter)
    if name in _NOT_BROADCASTING:
        return None

    def broadcast(xp, *args):
        from .elementwise import _check_broadcast
        arrays = [a for a in args if hasattr(a, "shape")]
        for i, a in enumerate(arrays):
            for b in arrays[i + 1:]:
                _check_broadcast(a, b)
    return broadcast


def _refusing(fwd, kernel, refuses, check=None):
    """`fwd` raising torch's error for an input of a dtype (by NumPy type number) in
    `refuses` (after `check(xp, *args)`, see _shapes_first)."""
    pick = kernel if callable(kernel) else None

    def run(xp, x, *rest):
        dt = getattr(x, "dtype", None)
        if dt is not None and dt.num in refuses:
            k = pick(x, *rest) if pick is not None else kernel
            if k is not None and check is not None:
                check(xp, x, *rest)
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
    """A _nograd_unary `deny` entry refusing the dtypes in `refuses`, else as `prev`."""
    def deny(name, dt):
        if dt.num in refuses:
            return not_implemented(kernel, dt)
        return None if prev is None else prev(name, dt)
    return deny


def _refuse_all(table, refuses):
    for name, kernel in table.items():
        o = OPS[name]      # (changed in place: fast paths hold the list)
        o.impl[:] = [(_refusing(f, kernel, refuses, _shapes_first(name, f)), b)
                     for f, b in o.impl]


def _install_float8():
    for name in IN_FLOAT:
        o = OPS[name]
        o.impl[:] = [(_in_float(f), b) for f, b in o.impl]
    e8m0 = frozenset((_BY_NAME["float8_e8m0fnu"].np.num,))
    _refuse_all(REFUSED_E8M0, e8m0)
    _refuse_all(REFUSED, _ALL)      # (outermost: REFUSED's picks run first)
    from .elementwise import NOGRAD_DENY
    e5m2 = _BY_NAME["float8_e5m2"].np.num
    for name, kernel in PREDICATES.items():
        refuses = _ALL - {e5m2, *e8m0} if name == "isfinite" else \
            _ALL - {e5m2} if name == "isinf" else _ALL
        deny = NOGRAD_DENY[name]
        for kind in "fV":       # (float8_e5m2 is kind "f")
            deny[kind] = _deny(deny.get(kind), kernel, refuses)


def _install_uint():
    _refuse_all(REFUSED_UINT, _UINTS)
    from .elementwise import NOGRAD_DENY
    for name, kernel in PREDICATES_UINT.items():
        deny = NOGRAD_DENY[name]
        deny["u"] = _deny(deny.get("u"), kernel, _UINTS)


def install(d):
    """Put torch's kernels and refusals for dtype `d`'s family (the float8s, or uint16/32/64)
    on the ops, once per family."""
    family = _install_float8 if d.is_floating_point else _install_uint
    if family not in _INSTALLED:
        _INSTALLED.append(family)
        family()
