"""Matrix products that a CUDA-graph capture can record.

CuPy 14 refuses every cuBLAS call while the current stream captures (its `cublas.setStream`
raises NotImplementedError), although cuBLAS itself supports stream capture. So while
`ember.cuda.graphs` captures (CAPTURING > 0), the CUDA namespace's `matmul` calls
cublasGemmStridedBatchedEx through ctypes, on CuPy's own cuBLAS handle bound to the capturing
stream. Outside a capture it is CuPy's matmul, one Python call away, except for bfloat16,
which always takes this path (CuPy 14 sends batched bfloat16 products to integer kernels).

`gemm_plan` (pure, tested on the CPU against NumPy) maps a row-major product onto the
column-major GEMM: C = A @ B is computed as C^T = B^T A^T, and an operand whose matrices are
stored transposed (a `.T` or `.mT` view) is read through the transpose flag, not copied."""
import ctypes
import types

import numpy as np

from .. import _float8
from ..ops._torch_sum import planned_sum, torch_sum

CAPTURING = 0           # nesting depth of ember.cuda.graphs captures

# cudaDataType and cublasComputeType_t values (cuBLAS's library_types.h / cublas_api.h)
_TYPES = {"float16": (2, 68), "bfloat16": (14, 68), "float32": (0, 68), "float64": (1, 70)}
_OP_N, _OP_T, _ALGO_DEFAULT = 0, 1, -1


def _layout(x):
    """(transposed, leading dim, batch stride) in elements of 3-D `x` = (batch, rows, cols),
    or None where one GEMM operand cannot describe its matrices (then `x` is copied)."""
    it = x.itemsize
    if any(s % it for s in x.strides):
        return None
    sb, sr, sc = (s // it for s in x.strides)
    batch, rows, cols = x.shape
    if batch == 1:
        sb = 0
    if sb < 0:
        return None
    if cols == 1 or sc == 1:
        ld = sr if rows > 1 else cols
        if ld >= max(1, cols):
            return False, ld, sb
    if rows == 1 or sr == 1:
        ld = sc if cols > 1 else rows
        if ld >= max(1, rows):
            return True, ld, sb
    return None


def gemm_plan(a, b, contiguous):
    """cuBLAS arguments for C = a @ b, with a (Ba, M, K) and b (Bb, K, N) where Ba and Bb are
    the batch size or 1. Returns (a, b, args): the operands (copied by `contiguous` where
    needed) and (transa, transb, m, n, k, lda, strideA, ldb, strideB, ldc, strideC, batch)
    of the column-major call whose first operand is b and second is a."""
    la, lb = _layout(a), _layout(b)
    if la is None:
        a = contiguous(a)
        la = _layout(a)
    if lb is None:
        b = contiguous(b)
        lb = _layout(b)
    (ta, lda_a, sa), (tb, ld_b, sb) = la, lb
    m_, k_, n_ = a.shape[1], a.shape[2], b.shape[2]
    batch = max(a.shape[0], b.shape[0])
    # C^T (N x M, column-major) = B^T A^T: B stored row-major already reads as B^T
    return a, b, (_OP_T if tb else _OP_N, _OP_T if ta else _OP_N, n_, m_, k_,
                  ld_b, sb, lda_a, sa, n_, m_ * n_, batch)


_lib = None


def _cublas():
    """libcublas as CuPy loaded it (found in /proc/self/maps), through ctypes."""
    global _lib
    if _lib is None:
        path = None
        try:
            with open("/proc/self/maps") as maps:
                path = next((ln.split()[-1] for ln in maps if "libcublas.so" in ln), None)
        except OSError:
            pass
        for name in ([path] if path else []) + ["libcublas.so.13", "libcublas.so.12",
                                                   "libcublas.so"]:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("matmul inside a CUDA graph capture needs libcublas, which was "
                               "not found")
        vp, i, ll = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
        lib.cublasSetStream_v2.argtypes = [vp, vp]
        lib.cublasGemmStridedBatchedEx.argtypes = [
            vp, i, i, i, i, i, vp, vp, i, i, ll, vp, i, i, ll, vp, vp, i, i, ll, i, i, i]
        _lib = lib
    return _lib


def _check(status, what):
    if status:
        raise RuntimeError(f"CUDA error: {what} failed with cuBLAS status {status}")


def plan(xp, a, b):
    """How capture_matmul computes a @ b (NumPy's matmul rules): None where it defers to CuPy
    (other dtypes, 0-d operands, a shape error), else (a3, b3, gemm args or None when the
    product is empty or K == 0, result shape, a was 1-D, b was 1-D)."""
    if a.dtype != b.dtype or a.dtype.name not in _TYPES or a.ndim == 0 or b.ndim == 0:
        return None
    va, vb = a.ndim == 1, b.ndim == 1
    a2 = a[None, :] if va else a
    b2 = b[:, None] if vb else b
    if a2.shape[-1] != b2.shape[-2]:
        return None
    try:
        batch_shape = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        return None
    M, K, N = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    shape = batch_shape + (M, N)
    if not (M and N and K and all(batch_shape)):
        return a2, b2, None, shape, va, vb
    nb = int(np.prod(batch_shape, dtype=np.int64))
    a3, b3, args = gemm_plan(_as_batch(xp, a2, batch_shape, nb),
                             _as_batch(xp, b2, batch_shape, nb), xp.ascontiguousarray)
    return a3, b3, args, shape, va, vb


def unvector(c, va, vb):
    """Drop the unit dims that plan() added for 1-D operands."""
    if vb:
        c = c[..., 0]
    if va:
        c = c[..., 0] if vb else c[..., 0, :]
    return c


def capture_matmul(cp, a, b, out=None):
    """a @ b by cuBLAS without CuPy's capture check."""
    p = plan(cp, a, b)
    if p is None:
        return cp.matmul(a, b, out=out)     # CuPy raises its own error where it must
    a3, b3, args, shape, va, vb = p
    c = cp.zeros(shape, a.dtype) if args is None else cp.empty(shape, a.dtype)
    if args is not None:
        transa, transb, m, n, k, lda, sa, ldb, sb, ldc, sc, count = args
        dtype, compute = _TYPES[a.dtype.name]
        scalar = ctypes.c_double if a.dtype.name == "float64" else ctypes.c_float
        one, zero = scalar(1), scalar(0)
        lib = _cublas()
        handle = cp.cuda.device.get_cublas_handle()
        _check(lib.cublasSetStream_v2(handle, cp.cuda.get_current_stream().ptr),
               "cublasSetStream")
        _check(lib.cublasGemmStridedBatchedEx(
            handle, transa, transb, m, n, k, ctypes.byref(one), b3.data.ptr, dtype, lda, sa,
            a3.data.ptr, dtype, ldb, sb, ctypes.byref(zero), c.data.ptr, dtype, ldc, sc,
            count, compute, _ALGO_DEFAULT), "cublasGemmStridedBatchedEx")
    c = unvector(c, va, vb)
    if out is not None:
        out[...] = c
        return out
    return c


def _as_batch(xp, x, batch_shape, nb):
    """x (..., r, c) as (nb or 1, r, c): a broadcast operand keeps batch stride 0."""
    if x.ndim == 2 or all(d == 1 for d in x.shape[:-2]):
        return x.reshape((1,) + x.shape[-2:])
    x = xp.broadcast_to(x, batch_shape + x.shape[-2:])
    return x.reshape((nb,) + x.shape[-2:])


_GEMV_DTYPES = frozenset(_TYPES)


def sum_rows(xp, a):
    """a (R, C) summed over its rows (bias gradients, undone broadcasts). On a GPU this is one
    GEMV with a vector of ones: CuPy's axis-0 reduction took 179 us a call in a GPT step on an
    H200 where torch's took 35 us. NumPy sums pairwise as before."""
    if not gemv_sums(xp) or a.shape[0] < 2 or a.dtype.name not in _GEMV_DTYPES:
        return host_sum(a, (0,), False)     # (NumPy sums pairwise: torch's order instead)
    return xp.matmul(xp.ones(a.shape[0], a.dtype), a)


def host_sum(a, axes, keepdims):
    """a.sum(axes) in torch's order where ops/_torch_sum reproduces it (NumPy float arrays),
    else the namespace's own sum. float16 and bfloat16 add up in float32 and round once, as
    torch's kernels accumulate them (NumPy would round after every addition)."""
    if a.dtype.itemsize == 2 and a.dtype.kind in "fV":
        return host_sum(a.astype(np.float32), axes, keepdims).astype(a.dtype)
    r = planned_sum(a, axes, keepdims)      # (planned: without torch_sum's dispatch)
    if r is None:
        r = torch_sum(a, axes, keepdims)
    return a.sum(axis=axes, keepdims=keepdims) if r is None else r


def gemv_sums(xp):
    """Whether `xp` is the CUDA namespace (not NumPy, nor autograd's differentiable one)."""
    return any(xp is ns for ns in _NAMESPACES)


_NAMESPACES = []        # what namespace() made


def _override(nd, ufunc, args, kwargs):
    """What the NumPy override of a foreign array among `args` returns (NotImplemented if
    none): ember's sparse arrays implement __array_ufunc__, which NumPy's ufuncs dispatch to
    and CuPy's refuse ("Unsupported type")."""
    for a in args:
        if type(a) is not nd and hasattr(type(a), "__array_ufunc__") and \
                not isinstance(a, (np.ndarray, np.generic)):
            if "out" in kwargs and type(kwargs["out"]) is not tuple:
                kwargs = dict(kwargs, out=(kwargs["out"],))      # NumPy hands overrides a tuple
            r = a.__array_ufunc__(ufunc, "__call__", *args, **kwargs)
            if r is not NotImplemented:
                return r
    return NotImplemented


class _Dispatching:
    """A CuPy ufunc that first offers its arguments' __array_ufunc__ overrides the call, as
    NumPy's ufunc does (so `dense + sparse` and the engine's `dense += sparse` gradient run on
    CUDA as on the CPU); its other attributes (reduce, at, ...) are CuPy's."""
    __slots__ = ("_cp", "_np", "_nd")

    def __init__(self, cp_ufunc, np_ufunc, nd):
        self._cp, self._np, self._nd = cp_ufunc, np_ufunc, nd

    def __call__(self, *args, **kwargs):
        r = _override(self._nd, self._np, args, kwargs)
        return self._cp(*args, **kwargs) if r is NotImplemented else r

    def __getattr__(self, name):
        return getattr(self._cp, name)


# the ufuncs ember's sparse arrays override
_OVERRIDDEN = ("add", "subtract", "multiply", "true_divide", "divide", "floor_divide",
               "negative", "sign", "conjugate", "conj")


# the creation functions ember's factories call, and where their dtype argument is
_CREATION = {"zeros": 1, "ones": 1, "empty": 1, "full": 2, "zeros_like": 1, "ones_like": 1,
             "empty_like": 1, "full_like": 2}


def _no_float8(fn, at):
    """CuPy's creation function fn, refusing a float8 dtype (_float8.refuse_on_cuda) first."""
    def create(*args, **kwargs):
        d = args[at] if len(args) > at else kwargs.get("dtype")
        if d is not None and _float8.is_float8(np.dtype(d)):
            _float8.refuse_on_cuda(np.dtype(d))
        return fn(*args, **kwargs)
    create.__name__ = create.__qualname__ = fn.__name__
    return create


def namespace(cp):
    """CuPy's namespace with a capture-aware `matmul` (what the CUDA backend calls `xp`), whose
    matmul and arithmetic ufuncs dispatch to ember's sparse arrays as NumPy's do."""
    ns = types.ModuleType(cp.__name__, cp.__doc__)
    ns.__dict__.update(vars(cp))
    cp_matmul, nd = cp.matmul, cp.ndarray

    def matmul(a, b, out=None, **kwargs):
        if type(a) is not nd or type(b) is not nd:
            r = _override(nd, np.matmul, (a, b), dict(kwargs, **({} if out is None else
                                                                   {"out": out})))
            if r is not NotImplemented:
                return r
        # bfloat16 always: CuPy 14 sends batched bfloat16 products to its integer kernels
        if (CAPTURING or a.dtype.char == "E") and not kwargs:
            return capture_matmul(cp, a, b, out)
        return cp_matmul(a, b, out=out, **kwargs)
    ns.matmul = matmul
    for name in _OVERRIDDEN:
        setattr(ns, name, _Dispatching(getattr(cp, name), getattr(np, name), nd))
    for name, at in _CREATION.items():
        setattr(ns, name, _no_float8(getattr(cp, name), at))
    _NAMESPACES.append(ns)
    return ns
