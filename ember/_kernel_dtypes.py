"""torch's dtype checks: the errors its kernels' dtype dispatch raises, checked once per
call in the public functions (one attribute read and a compare or two when the dtype is fine).

`float_only(t, kernel)` is the common one: integers and bool (and complex unless the kernel has
a complex version) raise `"<kernel>" not implemented for '<Type>'`, the message of torch's
AT_DISPATCH for the kernel that would have run."""
import math

import numpy as np

from ._dtype import C10_NAME as _NAMES, OF_NP, bfloat16 as _bf16

_BF16 = None if _bf16 is None else _bf16.np

_CTYPES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
           "uint8": "uint8_t"}
# c10's TypeMeta names: how torch's messages print a dtype as a C++ type
_CNAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
           "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
           "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
           "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
           "uint16": "short unsigned int", "uint32": "unsigned int",
           "uint64": "long unsigned int"}
F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
F16 = np.dtype(np.float16)
# the largest finite value of each float dtype narrower than float64, keyed by NumPy dtype (its
# .name is a slow property): a Number converted to it checked, as torch converts a Scalar
FLOAT_MAX = {F16: 65504.0, F32: 3.4028234663852886e38}
if _BF16 is not None:
    FLOAT_MAX[_BF16] = 3.3895313892515355e38


def check_fits(dt, *bounds):
    """torch's errors for Number bounds of a float result of dtype `dt` (an int past int64 is
    refused by its argument parser first)."""
    top = FLOAT_MAX.get(dt, math.inf)
    for v in bounds:
        if type(v) is int and not -2 ** 63 <= v < 2 ** 63:
            raise OverflowError("int too big to convert")
        if v is not None and top < abs(v) < math.inf:
            raise RuntimeError(f"value cannot be converted to type {cname(dt)} without overflow")


def tname(dt):
    """torch's scalar type name of a NumPy dtype ('Float', 'Long', 'BFloat16'...)."""
    d = OF_NP.get(dt.num)
    name = d.name if d is not None else dt.name
    return _NAMES.get(name, name)


_LEGACY = {"Byte", "Char", "Short", "Int", "Long", "Half", "Float", "Double"}


def type_string(dt, device_type="cpu"):
    """How torch's error messages name a tensor type (at::Tensor::toString, translated by its
    Python bindings): torch.FloatTensor, torch.cuda.LongTensor for the eight legacy types;
    CPUBFloat16Type, CPUComplexFloatType, CUDABoolType... for the others."""
    name = tname(dt)
    if name in _LEGACY:
        return f"torch.{name}Tensor" if device_type == "cpu" else \
            f"torch.{device_type}.{name}Tensor"
    return f"{device_type.upper()}{name}Type"


def cname(dt):
    """c10's C++ type name of a NumPy dtype ('float', 'long int', 'c10::Half'...)."""
    d = OF_NP.get(dt.num)
    name = d.name if d is not None else dt.name
    return _CNAMES.get(name, name)


def is_float(dt):
    """A real floating dtype with torch's kernels: bfloat16 included (NumPy files ml_dtypes'
    bfloat16 as kind 'V'), the float8s not (float8_e5m2 is kind 'f': hence the type codes)."""
    return dt.char in "efd" or dt.name == "bfloat16"


def is_reduced(dt):
    """float16 or bfloat16: the dtypes torch's CPU kernels compute in float32."""
    return dt == F16 or dt.name == "bfloat16"


def not_implemented(kernel, dt, error=NotImplementedError):
    return error(f'"{kernel}" not implemented for \'{tname(dt)}\'')


def float_only(t, kernel, error=NotImplementedError, complex_ok=False):
    """Raise as torch's floating-point-only dispatch does when tensor `t` is not floating (or
    is a float8: no such kernels; see is_float)."""
    dt = t.arr.dtype
    if dt.char in "efd" or (complex_ok and dt.kind == "c") or dt.name == "bfloat16":
        return
    raise not_implemented(kernel, dt, error)


def float_only_arr(a, kernel, error=NotImplementedError, complex_ok=False):
    """float_only for a raw array (inside an op's forward)."""
    dt = a.dtype
    if dt.char in "efd" or (complex_ok and dt.kind == "c") or dt.name == "bfloat16":
        return
    raise not_implemented(kernel, dt, error)


def single_double_only(t, kernel, also=()):
    """float_only for kernels dispatched on float and double only (plus the dtype names in
    `also`): float16 and bfloat16 raise as integers do."""
    dt = t.arr.dtype
    if dt == F32 or dt == F64 or dt.name in also:
        return
    raise not_implemented(kernel, dt)


def same_dtype(t, ref):
    """`expected scalar type <ref> but found <t>`: a kernel reading t's data as ref's dtype."""
    if t is not None and t.arr.dtype != ref:
        raise RuntimeError(f"expected scalar type {tname(ref)} but found {tname(t.arr.dtype)}")


def norm_params(input, kernel, *params, dispatch_first=False):
    """The CPU norm kernels' dtype rules (mixed_data_type.h) for (input, weight, bias, ...).

    The first given parameter decides: if its dtype differs from the input's, the call is
    "mixed": every parameter must then be float32 and the input float16/bfloat16. Otherwise
    the kernel dispatches on the input and reads every parameter as the input's dtype.
    batch_norm dispatches on the input before anything (`dispatch_first`)."""
    dt = input.arr.dtype
    if dt.char in "efd":                    # the common case: every parameter matches
        for p in params:
            if p is not None and p.arr.dtype != dt:
                break
        else:
            return
    if dispatch_first:
        float_only(input, kernel)
    first = None
    for p in params:
        if p is not None:
            first = p
            break
    if first is not None and first.arr.dtype != dt:
        for p in params:
            if p is not None and p.arr.dtype != F32:
                raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of "
                                   "Float")
        if not is_reduced(dt):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    if not dispatch_first:
        float_only(input, kernel)
    for p in params:
        same_dtype(p, dt)


def is_integral(dt):
    """Integer or bool (torch's isIntegralType(include_bool=True))."""
    return dt.kind in "iub"


def cast_failure(result, out):
    """torch's in-place type-promotion error (an integer output of a float computation)."""
    return RuntimeError(f"result type {tname(result)} can't be cast to the desired output type "
                        f"{tname(out)}")


def int_scalar(value, dt):
    """A Python number as torch converts a Scalar for an integer kernel: floats truncate and
    must fit (NaN and inf do not), ints must fit (an unsigned type lets negatives wrap)."""
    info = np.iinfo(dt)
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        ok = (-info.max <= v <= info.max) if info.min == 0 else (info.min <= v <= info.max)
        if ok:
            return int(np.array(v).astype(np.int64).astype(dt))
    else:
        v = float(value)
        if v == v and info.min <= v <= info.max:
            return int(v)
    raise RuntimeError(f"value cannot be converted to type {_CTYPES.get(dt.name, dt.name)} "
                       "without overflow")
