#!/usr/bin/env python3
"""Compile every fused CUDA kernel of ember/backends/cuda_kernels.py with NVRTC, without a GPU.

Needs a Python with CuPy and NVRTC, not the project's environment, e.g.
    python3 -m venv /tmp/cupyenv
    /tmp/cupyenv/bin/pip install numpy ml_dtypes cupy-cuda12x nvidia-cuda-nvrtc-cu12
    /tmp/cupyenv/bin/python scripts/check_cuda_kernels.py [--arch 80 --arch 90]

Prints OK/FAIL per kernel and dtype and exits 1 on any failure. ElementwiseKernels get their
source from CuPy's own generator (what ElementwiseKernel.__call__ builds for 1-d contiguous
arrays); RawModules from `raw_source`. Both compile as CuPy's compile_with_cache does, with
CuPy's headers and options, but with an explicit -arch instead of asking a device.

With --emulate (needs g++ and NumPy only, no CuPy), the same kernel sources also run on the CPU:
each CUDA thread is a std::thread (__syncthreads and warp shuffles through barriers), the fused
wrappers run on NumPy arrays, and their outputs, saved tensors and gradients are compared with
the generic xp path, in float32 and float64 (float16/bfloat16 differ only in loads/stores)."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ember.backends import cuda_kernels as ck  # noqa: E402
from ember.backends.cuda_kernel_cases import fused_cases  # noqa: E402
from ember.ops.random import ArrayRNG  # noqa: E402


def _dtypes():
    names = ["float16", "float32", "float64"]
    try:
        import ml_dtypes  # noqa: F401   CuPy's bfloat16 is ml_dtypes'
        names.insert(1, "bfloat16")
    except ImportError:
        print("note: ml_dtypes missing, bfloat16 kernels not checked")
    return names


def _np_dtype(name):
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _options(arch):
    from cupy._core import core
    return core.assemble_cupy_compiler_options(()) + (
        "-ftz=true", "--device-as-default-execution-space", f"-arch=compute_{arch}")


def _compile(source, arch):
    from cupy.cuda import compiler
    prog = compiler._NVRTCProgram(source, "kern.cu", method="ptx")
    ptx, _ = prog.compile(_options(arch))
    return ptx


def elementwise_source(kernel, dtype):
    """CuPy's generated source of `kernel` for inputs whose type variables are `dtype`."""
    import cupy
    from cupy._core import _carray, _kernel, core
    float_u = dtype if dtype.name in ("float32", "float64") else np.dtype(np.float32)
    in_dtypes, in_kinds = [], []
    for p in kernel.params[:kernel.nin]:
        if p.dtype is not None:                 # a typed scalar argument ("float64 p")
            in_dtypes.append(np.dtype(p.dtype).type)
            in_kinds.append(3)
        else:                                   # an array of type variable T (or U)
            in_dtypes.append((float_u if p.ctype == "U" else dtype).type)
            in_kinds.append(1)
    in_types, out_types, type_map = kernel._decide_params_type(tuple(in_dtypes), ())
    infos = [_kernel._ArgInfo(kind, cupy.ndarray if kind == 1 else object, np.dtype(t).type,
                              1 if kind == 1 else 0, True, True)
             for kind, t in zip(in_kinds, in_types)]
    infos += [_kernel._ArgInfo(1, cupy.ndarray, np.dtype(t).type, 1, True, True)
              for t in out_types]
    infos.append(_kernel._ArgInfo(2, _carray.Indexer, None, 1, True, True))
    code = _kernel._get_elementwise_kernel_code(
        tuple(infos), type_map, kernel.params, kernel.operation, kernel.name,
        kernel.preamble)
    header = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    return header + code


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", action="append", default=None,
                    help="compute capability to compile for (default 90; repeatable)")
    ap.add_argument("--show", action="store_true", help="print each generated source")
    ap.add_argument("--emulate", action="store_true",
                    help="run the kernels on the CPU (g++) against the generic path instead")
    args = ap.parse_args()
    if args.emulate:
        return emulate()
    archs = args.arch or ["90"]
    import cupy
    from cupy.cuda import nvrtc
    print(f"cupy {cupy.__version__}, NVRTC {'.'.join(map(str, nvrtc.getVersion()))}, "
          f"arch {', '.join('compute_' + a for a in archs)}")
    failures, count = [], 0
    jobs = []
    for name in ck._pointwise_specs():
        for dt in _dtypes():
            jobs.append((f"elementwise {name}", dt,
                         lambda name=name, dt=dt: elementwise_source(ck._k(name), _np_dtype(dt))))
    for family in ck._FAMILIES:
        for dt in _dtypes():
            jobs.append((f"raw {family}", dt,
                         lambda family=family, dt=dt: ck.raw_source(family, dt)))
    for label, dt, make in jobs:
        for arch in archs:
            count += 1
            try:
                src = make()
                if args.show:
                    print(src)
                _compile(src, arch)
                print(f"OK    {label:<32} {dt:<9} sm_{arch}")
            except Exception as e:     # CompileException carries NVRTC's log
                failures.append(label)
                print(f"FAIL  {label:<32} {dt:<9} sm_{arch}\n{e}")
    print(f"{count - len(failures)}/{count} compiled")
    return 1 if failures else 0


# ---- --emulate: the kernels on the CPU, one std::thread per CUDA thread ----------------------
_EMU_PRELUDE = r"""
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
struct Dim3 { unsigned x, y, z; };
thread_local Dim3 threadIdx, blockIdx;
static Dim3 blockDim, gridDim;
static std::barrier<>* block_bar;
static std::vector<std::barrier<>*> warp_bar;
static double shfl_buf[1024];
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
using std::exp; using std::log; using std::sqrt; using std::erf; using std::tanh;
inline void __syncthreads() { block_bar->arrive_and_wait(); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
template <class V> V __shfl_xor_sync(unsigned, V v, int o) {
  unsigned t = threadIdx.x;
  shfl_buf[t] = (double)v;
  warp_bar[t >> 5]->arrive_and_wait();
  V r = (V)shfl_buf[(t & ~31u) | ((t & 31u) ^ (unsigned)o)];
  warp_bar[t >> 5]->arrive_and_wait();
  return r;
}
template <class F> void launch(unsigned gx, unsigned gy, unsigned bx, F body) {
  gridDim = {gx, gy, 1};
  blockDim = {bx, 1, 1};
  for (unsigned y = 0; y < gy; ++y)
    for (unsigned x = 0; x < gx; ++x) {
      std::barrier<> bar(bx);
      block_bar = &bar;
      std::vector<std::barrier<>*> warps;
      for (unsigned w = 0; w < (bx + 31) / 32; ++w)
        warps.push_back(new std::barrier<>(std::min(32u, bx - 32 * w)));
      warp_bar = warps;
      std::vector<std::thread> ts;
      for (unsigned t = 0; t < bx; ++t)
        ts.emplace_back([&, t] { threadIdx = {t, 0, 0}; blockIdx = {x, y, 0}; body(); });
      for (auto& th : ts) th.join();
      for (auto* w : warps) delete w;
    }
}
"""
_C_SCALARS = {"long long": "c_longlong", "int": "c_int", "float": "c_float",
              "double": "c_double"}
_SIGNATURE = r'extern "C" __global__ void (\w+)\(([^)]*)\)'


def _build(source, tag):
    """Compile C++ `source` into a shared library (cached by content) and load it."""
    import ctypes
    import hashlib
    import subprocess
    import tempfile
    key = hashlib.sha1(source.encode()).hexdigest()[:16]
    lib = os.path.join(tempfile.gettempdir(), f"ember_emu_{tag}_{key}.so")
    if not os.path.exists(lib):
        src = lib[:-3] + ".cpp"
        with open(src, "w") as f:
            f.write(source)
        subprocess.run(["g++", "-O1", "-std=c++20", "-shared", "-fPIC", "-pthread", "-o", lib,
                        src], check=True)
    return ctypes.CDLL(lib)


def _params(sig):
    """'const T* x, long long n' -> [('const T*', 'x'), ('long long', 'n')]"""
    out = []
    for p in sig.split(","):
        words = p.replace("*", "* ").split()
        out.append((" ".join(words[:-1]), words[-1]))
    return out


class _EmuModule:
    """A RawModule stand-in running the family's source on the CPU."""

    def __init__(self, family, dtype_name):
        import re
        t = {"float32": "float", "float64": "double"}[dtype_name]
        src = ck.raw_source(family, dtype_name)
        self.sigs = {m.group(1): _params(m.group(2)) for m in re.finditer(_SIGNATURE, src)}
        wrappers = []
        for name, params in self.sigs.items():
            decl = ", ".join(f"{c} {n}" for c, n in params)
            names = ", ".join(n for _, n in params)
            wrappers.append(f'extern "C" void emu_{name}(unsigned grid_x_, unsigned grid_y_, '
                            f'unsigned block_x_, {decl}) {{ launch(grid_x_, grid_y_, block_x_, '
                            f'[=] {{ {name}({names}); }}); }}')
        self.lib = _build(_EMU_PRELUDE + src + "\n".join(wrappers), f"{family}_{t}")
        self.acc = t

    def get_function(self, name):
        import ctypes
        fn, params = getattr(self.lib, "emu_" + name), self.sigs[name]

        def launch(grid, block, args):
            c_args = []
            for (ctype, _), a in zip(params, args, strict=True):
                if ctype.endswith("*"):
                    assert isinstance(a, np.ndarray) and a.flags.c_contiguous
                    c_args.append(ctypes.c_void_p(a.ctypes.data))
                else:
                    base = self.acc if ctype == "A" else ctype
                    c_args.append(getattr(ctypes, _C_SCALARS[base])(a))
            gy = grid[1] if len(grid) > 1 else 1
            fn(ctypes.c_uint(grid[0]), ctypes.c_uint(gy), ctypes.c_uint(block[0]), *c_args)
        return launch


_EMU_CTYPE = {"float32": "float", "float64": "double", "bool": "bool"}


def _emu_elementwise(name):
    """An ElementwiseKernel stand-in: the kernel's operation in a loop over broadcast arrays."""
    import ctypes
    in_params, out_params, operation, preamble = ck._pointwise_specs()[name]
    ins = [p.split() for p in in_params.split(",")]
    outs = [p.split() for p in out_params.split(",")]

    def call(*args):
        t = next(a.dtype for (c, _), a in zip(ins, args) if c == "T")
        u = next((a.dtype for (c, _), a in zip(ins, args) if c == "U"), t)
        shape = np.broadcast_shapes(*[np.shape(a) for a in args])
        types = {"T": t, "U": u}
        arrays = [np.ascontiguousarray(np.broadcast_to(
            np.asarray(a, dtype=types.get(c, c)), shape)) for (c, _), a in zip(ins, args)]
        results = [np.empty(shape, types.get(c, c)) for c, _ in outs]
        loads = "".join(f"const {c}& {n} = {n}_[i]; " for c, n in ins)
        stores = "".join(f"{c}& {n} = {n}_[i]; " for c, n in outs)
        decl = ", ".join(f"{'const ' * (k < len(ins))}{c}* {n}_"
                         for k, (c, n) in enumerate(ins + outs))
        src = (_EMU_PRELUDE + f"typedef {_EMU_CTYPE[t.name]} T;\n"
               f"typedef {_EMU_CTYPE[u.name]} U;\n" + preamble
               + f'extern "C" void run(long long n, {decl}) {{\n'
               f"  for (long long i = 0; i < n; ++i) {{ {loads}{stores}{operation}; }}\n}}\n")
        lib = _build(src.replace("float64", "double").replace("float32", "float"),
                     f"{name}_{t.name}")
        lib.run(ctypes.c_longlong(int(np.prod(shape))),
                *[ctypes.c_void_p(a.ctypes.data) for a in arrays + results])
        return tuple(results) if len(results) > 1 else results[0]
    return call


def _compare(a, b, tol, where):
    if hasattr(a, "dtype") or hasattr(b, "dtype"):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (where, a.shape, b.shape)
        if a.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b, err_msg=where)
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=where)
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, tol, f"{where}[{i}]")
    else:
        assert a == b, where


def emulate():
    import ember.nn  # noqa: F401   registers the nn ops
    from ember.ops._registry import OPS
    ck._raw = _EmuModule
    ck._k = _emu_elementwise
    for name in ck._overrides():
        ck._GENERIC[name] = OPS[name].impl[0]
    failures = count = 0
    for dtype, tol in (("float64", 1e-10), ("float32", 2e-5)):
        rng = np.random.default_rng(0)
        for name, args in fused_cases(np.dtype(dtype), rng, 0, big=True):
            count += 1
            where = f"{name}{tuple(getattr(a, 'shape', a) for a in args)} {dtype}"
            fwd, bwd = ck._overrides()[name]
            g_fwd, g_bwd = OPS[name].impl[0]
            fwd, bwd = fwd or g_fwd, bwd or g_bwd
            if name == "dropout":            # each path draws from an equally seeded generator
                def run(f, args=args):
                    return f(np, *args[:3], ArrayRNG(np.random.default_rng(args[3]), np))
            else:
                def run(f, args=args):
                    return f(np, *args)
            try:
                with np.errstate(all="ignore"):
                    out, saved = run(fwd)
                    g_out, g_saved = run(g_fwd)
                    _compare(out, g_out, tol, where + " output")
                    _compare(saved, g_saved, tol, where + " saved")
                    gy = rng.standard_normal(np.shape(out)).astype(dtype)
                    extra = ((True, True, True),) if OPS[name].needs_mask else ()
                    _compare(bwd(np, gy, *saved, *extra), g_bwd(np, gy, *g_saved, *extra),
                             tol, where + " grads")
                print(f"OK    {where}")
            except Exception as e:
                failures += 1
                print(f"FAIL  {where}: {type(e).__name__}: {e}")
    print(f"{count - failures}/{count} emulated cases match the generic path")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
