"""What torch's CPU kernels see of this machine, read once at import: the instruction set its
kernels dispatch on, which sets the order their float reductions add in, and the features its
libraries (oneDNN, fbgemm) choose their paths by.

torch's rule (ATen's compute_cpu_capability): the ATEN_CPU_CAPABILITY variable when it names a
level ("default", "avx2", "avx512"), else AVX512 where the CPU has AVX512 F/VL/BW/DQ and FMA,
AVX2 where it has AVX2 and FMA, DEFAULT otherwise. Most of torch's kernels are registered
without an AVX512 build and run their AVX2 one there too; those registered for AVX512 as well
(softmax, sgn, sinh/cosh and torch's other Sleef unary functions) run on 64-byte vectors:
VEC_BYTES. oneDNN and fbgemm read the CPU themselves (ONEDNN_*, AVX512_VNNI)."""
import math
import os


def _cpu_flags():
    """The CPU's feature flags (Linux /proc/cpuinfo; empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _numpy_svml():
    """Whether NumPy's transcendental float loops are SVML's: it links SVML on x86-64 Linux and
    dispatches to it where the CPU has (and NPY_DISABLE_CPU_FEATURES leaves) AVX512_SKX."""
    import sys
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:     # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return sys.platform == "linux" and bool(__cpu_features__.get("AVX512_SKX"))


FLAGS = _cpu_flags()
_AVX512 = {"avx512f", "avx512vl", "avx512bw", "avx512dq", "fma"} <= FLAGS


def _capability():
    env = os.environ.get("ATEN_CPU_CAPABILITY")
    if env in ("avx512", "avx2", "default"):
        return env.upper()
    if _AVX512:
        return "AVX512"
    return "AVX2" if {"avx2", "fma"} <= FLAGS else "DEFAULT"


CAPABILITY = _capability()
# the vector width of torch's kernels that have an AVX512 build (the others run 32 bytes)
VEC_BYTES = 64 if CAPABILITY == "AVX512" else 32
# the vector width of its kernels registered without one (REGISTER_DISPATCH alone: softshrink,
# most of them): their AVX2 build on AVX512 machines, and ATen's Vectorized is 32 bytes in the
# DEFAULT build too
BASE_VEC_BYTES = 32
# oneDNN picks its kernels by its own reading of the CPU (not ATEN_CPU_CAPABILITY): its
# avx512_core ones where AVX-512 F/VL/BW/DQ are there (float32 GELU: a minimax polynomial, else
# Abramowitz and Stegun's erf)
ONEDNN_AVX512 = _AVX512
# oneDNN computes bfloat16 where the CPU has AVX512 core or AVX-NE-CONVERT (ideep's
# has_bf16_type_support); torch's bfloat16 convolutions and linear layers take it only then
ONEDNN_BF16 = _AVX512 or {"avx_ne_convert", "avx_vnni"} <= FLAGS
# torch's x86 quantized engine hands convolutions to oneDNN only on AVX512-VNNI machines
# (should_use_onednn_quant); fbgemm's kernels elsewhere
AVX512_VNNI = "avx512_vnni" in FLAGS
# NumPy's own dispatch (not torch's variable): where it runs its AVX512_SKX loops, its float
# exp2, log2, tan, arcsin, arccos, arctan, arcsinh, arccosh, arctan2, power (and log10, expm1,
# log1p, arctanh, sinh, cosh, cbrt) are Intel's SVML: 10-36 % of float32 results an ulp or more
# off libm's, which NumPy calls elsewhere (exp, log, sin, cos, tanh are NumPy's own everywhere)
NUMPY_SVML = _numpy_svml()


def libm_loop(ufunc, *args):
    """ufunc(*args) (NumPy arrays and numbers) as NumPy computes it where NUMPY_SVML is false:
    through libm. Its SVML loops take only positive strides, so the arrays are read reversed
    (every axis; one value as two, whose stride NumPy would ignore) into a fresh output, flipped
    back into a copy in their layout (3-80 ns a value: 10-100x SVML's). torch calls libm in its
    scalar kernels (asinh, acosh, the norms' pow, a 0-d pow), and these are ember's results on
    machines without AVX512."""
    import numpy as np
    if not NUMPY_SVML or not all(isinstance(a, (np.ndarray, np.generic, int, float))
                                 for a in args):       # (a device array: its own library's)
        return ufunc(*args)
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    if math.prod(shape) == 1:       # (a 0-d operand gives a NumPy scalar, as ufunc's)
        y = ufunc(*(np.repeat(np.reshape(a, 1), 2)[::-1]
                    if isinstance(a, (np.ndarray, np.generic)) else a for a in args))
        return y[0] if not shape else y[:1].reshape(shape)
    flip = (slice(None, None, -1),) * len(shape)
    y = ufunc(*(np.broadcast_to(a, shape)[flip] if isinstance(a, np.ndarray) else a
                for a in args))
    return y[flip].copy(order="K")
