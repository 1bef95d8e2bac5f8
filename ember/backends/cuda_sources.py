"""The CUDA C sources of ember's fused kernels (ember/backends/cuda_kernels.py launches them).

Plain strings and a NumPy-free spec table, so that scripts/check_cuda_kernels.py can compile
them with NVRTC, or emulate them on the CPU, without a GPU."""


# ---- pointwise kernels (ElementwiseKernel) -------------------------------------------------
# float16/bfloat16 compute in float32, float64 in double: `A` is the accumulation type of T.
_ACC = ("template <class U> struct Acc { typedef float type; };\n"
        "template <> struct Acc<double> { typedef double type; };\n")

_GELU = _ACC + r"""
template <class A> __device__ A gelu_erf(A x) {
  return (A)0.5 * x * ((A)1 + erf(x / (A)1.4142135623730951));
}
template <class A> __device__ A gelu_erf_grad(A x) {
  A cdf = (A)0.5 * ((A)1 + erf(x / (A)1.4142135623730951));
  return cdf + x * (A)0.3989422804014327 * exp((A)-0.5 * x * x);
}
template <class A> __device__ A gelu_tanh(A x) {
  A inner = (A)0.7978845608028654 * (x + (A)0.044715 * x * x * x);
  return (A)0.5 * x * ((A)1 + tanh(inner));
}
template <class A> __device__ A gelu_tanh_grad(A x) {
  A x2 = x * x;
  A t = tanh((A)0.7978845608028654 * (x + (A)0.044715 * x2 * x));
  A dinner = (A)0.7978845608028654 * ((A)1 + (A)0.134145 * x2);
  return (A)0.5 * ((A)1 + t) + (A)0.5 * x * ((A)1 - t * t) * dinner;
}
"""


def _pointwise_specs():
    """name -> (in_params, out_params, operation, preamble) of every ElementwiseKernel."""
    acc = "typedef typename Acc<T>::type A; "
    specs = {
        "tanh_grad": ("T g, T y", "T gx", "gx = g * (1 - y * y)", ""),
        "sigmoid": ("T x", "T y", "y = 1 / (1 + exp(-x))", ""),
        "sigmoid_grad": ("T g, T y", "T gx", "gx = g * y * (1 - y)", ""),
        "adam": ("T g, float64 step_size, float64 b1, float64 b2, float64 eps_hat, float64 wd",
                 "T p, T m, T v",
                 ("T gg = g + (T)wd * p;"
                  "m = (T)b1 * m + (T)(1 - b1) * gg;"
                  "v = (T)b2 * v + (T)(1 - b2) * gg * gg;"
                  "p = p - (T)step_size * m / (sqrt(v) + (T)eps_hat)"), ""),
        # the same update with the bias corrections computed from the device-side step count
        # (torch's capturable=True): nothing is read back, so a CUDA graph can hold it
        "adam_capturable": (
            "T g, S step, float64 lr, float64 b1, float64 b2, float64 eps, float64 wd",
            "T p, T m, T v",
            ("double bc1 = 1 - pow(b1, (double)step);"
             "double bc2s = sqrt(1 - pow(b2, (double)step));"
             "T gg = g + (T)wd * p;"
             "m = (T)b1 * m + (T)(1 - b1) * gg;"
             "v = (T)b2 * v + (T)(1 - b2) * gg * gg;"
             "p = p - (T)(lr * bc2s / bc1) * m / (sqrt(v) + (T)(eps * bc2s))"), ""),
        # dropout: keep = u >= p, y = keep ? x * scale : 0 (u is the generic path's draw)
        "dropout": ("T x, U u, float64 p, float64 scale", "T y, bool keep",
                    acc + "keep = u >= (U)p; y = keep ? (T)((A)x * (A)scale) : (T)0", _ACC),
        "dropout_grad": ("T g, bool keep, float64 scale", "T gx",
                         acc + "gx = keep ? (T)((A)g * (A)scale) : (T)0", _ACC),
    }
    for name in ("gelu_erf", "gelu_tanh"):
        specs[name] = ("T x", "T y", acc + f"y = (T){name}((A)x)", _GELU)
        specs[name + "_grad"] = ("T g, T x", "T gx", acc + f"gx = (T)((A)g * {name}_grad((A)x))",
                                 _GELU)
    return specs


# ---- row kernels (RawModule): shared preamble ----------------------------------------------
# T is the storage type, A the accumulation type. `Block` reduces over the threads of a block
# (one row per block, blockDim.x a multiple of 32, at most 1024); `Lone` is one thread owning a
# whole line (a softmax over a non-last dim, one thread per line: coalesced across threads).
_ROW_PREAMBLE = r"""
__device__ __forceinline__ A neg_inf() { return (A)(-__int_as_float(0x7f800000)); }
__device__ __forceinline__ A quiet_nan() { return (A)__int_as_float(0x7fffffff); }
// max that propagates NaN, as the generic path's x.max() does
__device__ __forceinline__ A max_nan(A a, A b) { return (a > b || a != a) ? a : b; }

struct Lone {
  __device__ static A sum(A v) { return v; }
  __device__ static A max(A v) { return v; }
};

struct Block {
  template <bool MAX> __device__ static A reduce(A v) {
    __shared__ A part[32];
    for (int o = 16; o > 0; o >>= 1) {
      A w = __shfl_xor_sync(0xffffffffu, v, o);
      v = MAX ? max_nan(v, w) : v + w;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();                      // part[] may still be read by a previous reduce
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? part[lane] : (MAX ? neg_inf() : (A)0);
    for (int o = 16; o > 0; o >>= 1) {
      A w = __shfl_xor_sync(0xffffffffu, v, o);
      v = MAX ? max_nan(v, w) : v + w;
    }
    return v;                             // every thread of the block holds the result
  }
  __device__ static A sum(A v) { return reduce<false>(v); }
  __device__ static A max(A v) { return reduce<true>(v); }
};
"""

# softmax / log_softmax over a line of n elements `stride` apart; mode: 1 = log_softmax,
# 2 = masked (a line of -inf gives zeros, not NaN: attention masks).
_SOFTMAX_SRC = r"""
template <class R>
__device__ void softmax_line(const T* x, T* y, long long n, long long stride, long long first,
                             long long step, int mode) {
  A m = neg_inf();
  for (long long k = first; k < n; k += step) m = max_nan(m, (A)x[k * stride]);
  m = R::max(m);
  if ((mode & 2) && m == neg_inf()) m = 0;
  A z = 0;
  for (long long k = first; k < n; k += step) z += exp((A)x[k * stride] - m);
  z = R::sum(z);
  if ((mode & 2) && z == 0) z = 1;
  A lz = log(z);
  for (long long k = first; k < n; k += step) {
    A s = (A)x[k * stride] - m;
    y[k * stride] = (T)((mode & 1) ? s - lz : exp(s) / z);
  }
}

// softmax: gx = y * g - y * sum(y * g); log_softmax: gx = g - exp(y) * sum(g)
template <class R>
__device__ void softmax_grad_line(const T* g, const T* y, T* gx, long long n, long long stride,
                                  long long first, long long step, int mode) {
  A dot = 0;
  for (long long k = first; k < n; k += step) {
    A gk = (A)g[k * stride];
    dot += (mode & 1) ? gk : gk * (A)y[k * stride];
  }
  dot = R::sum(dot);
  for (long long k = first; k < n; k += step) {
    A gk = (A)g[k * stride], yk = (A)y[k * stride];
    gx[k * stride] = (T)((mode & 1) ? gk - exp(yk) * dot : gk * yk - yk * dot);
  }
}

extern "C" __global__ void softmax_rows(const T* x, T* y, long long n, int mode) {
  long long r = blockIdx.x;
  softmax_line<Block>(x + r * n, y + r * n, n, 1, threadIdx.x, blockDim.x, mode);
}

// causal attention weights: softmax(x * scale) over each row of n keys, the keys after the
// row's query (row % queries) masked out (torch's is_causal, aligned top-left)
extern "C" __global__ void causal_softmax_rows(const T* x, T* y, long long n,
                                               long long queries, A scale) {
  long long r = blockIdx.x, valid = r % queries + 1 < n ? r % queries + 1 : n;
  const T* xr = x + r * n;
  T* yr = y + r * n;
  A m = neg_inf();
  for (long long k = threadIdx.x; k < valid; k += blockDim.x) m = max_nan(m, (A)xr[k] * scale);
  m = Block::max(m);
  A z = 0;
  for (long long k = threadIdx.x; k < valid; k += blockDim.x) z += exp((A)xr[k] * scale - m);
  z = Block::sum(z);
  for (long long k = threadIdx.x; k < n; k += blockDim.x)
    yr[k] = (T)(k < valid ? exp((A)xr[k] * scale - m) / z : (A)0);
}

// its backward: gx = scale * (y * g - y * sum(y * g)) (masked keys have y = 0)
extern "C" __global__ void scaled_softmax_grad_rows(const T* g, const T* y, T* gx, long long n,
                                                    A scale) {
  long long r = blockIdx.x;
  const T* gr = g + r * n;
  const T* yr = y + r * n;
  A dot = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) dot += (A)gr[k] * (A)yr[k];
  dot = Block::sum(dot);
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A gk = (A)gr[k], yk = (A)yr[k];
    gx[r * n + k] = (T)((gk * yk - yk * dot) * scale);
  }
}

extern "C" __global__ void softmax_lines(const T* x, T* y, long long lines, long long n,
                                         long long inner, int mode) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= lines) return;
  long long base = (c / inner) * n * inner + c % inner;
  softmax_line<Lone>(x + base, y + base, n, inner, 0, 1, mode);
}

extern "C" __global__ void softmax_grad_rows(const T* g, const T* y, T* gx, long long n,
                                             int mode) {
  long long r = blockIdx.x;
  softmax_grad_line<Block>(g + r * n, y + r * n, gx + r * n, n, 1, threadIdx.x, blockDim.x,
                           mode);
}

extern "C" __global__ void softmax_grad_lines(const T* g, const T* y, T* gx, long long lines,
                                              long long n, long long inner, int mode) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= lines) return;
  long long base = (c / inner) * n * inner + c % inner;
  softmax_grad_line<Lone>(g + base, y + base, gx + base, n, inner, 0, 1, mode);
}
"""

# layer_norm over rows of n: y = (x - mean) * rstd * w + b, saving xhat and rstd per row.
# flags: 1 = weight, 2 = bias, 4 = xhat has its own buffer (without an affine, y is xhat).
_LAYER_NORM_SRC = r"""
extern "C" __global__ void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* xhat,
                                          T* rstd, long long n, A eps, int flags) {
  long long r = blockIdx.x;
  x += r * n; y += r * n; xhat += r * n;
  A s = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) s += (A)x[k];
  A mean = Block::sum(s) / (A)n;
  A v = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A d = (A)x[k] - mean;
    v += d * d;
  }
  A inv = (A)1 / sqrt(Block::sum(v) / (A)n + eps);
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A h = ((A)x[k] - mean) * inv;
    A o = h;
    if (flags & 1) o *= (A)w[k];
    if (flags & 2) o += (A)b[k];
    y[k] = (T)o;
    if (flags & 4) xhat[k] = (T)h;
  }
  if (threadIdx.x == 0) rstd[r] = (T)inv;
}

// gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = g * w; flags: 1 = weight
extern "C" __global__ void layer_norm_grad_x(const T* g, const T* xhat, const T* w,
                                             const T* rstd, T* gx, long long n, int flags) {
  long long r = blockIdx.x;
  g += r * n; xhat += r * n; gx += r * n;
  A s1 = 0, s2 = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A gh = (flags & 1) ? (A)g[k] * (A)w[k] : (A)g[k];
    s1 += gh;
    s2 += gh * (A)xhat[k];
  }
  A m1 = Block::sum(s1) / (A)n;
  A m2 = Block::sum(s2) / (A)n;
  A inv = (A)rstd[r];
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A gh = (flags & 1) ? (A)g[k] * (A)w[k] : (A)g[k];
    gx[k] = (T)(inv * (gh - m1 - (A)xhat[k] * m2));
  }
}

// column partial sums over chunks of rows (blockIdx.y): pw = sum g * xhat, pb = sum g
extern "C" __global__ void layer_norm_grad_wb(const T* g, const T* xhat, A* pw, A* pb,
                                              long long rows, long long n, long long chunk) {
  long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= n) return;
  long long r0 = (long long)blockIdx.y * chunk;
  long long r1 = r0 + chunk < rows ? r0 + chunk : rows;
  A sw = 0, sb = 0;
  for (long long r = r0; r < r1; ++r) {
    A gv = (A)g[r * n + k];
    sw += gv * (A)xhat[r * n + k];
    sb += gv;
  }
  pw[blockIdx.y * n + k] = sw;
  pb[blockIdx.y * n + k] = sb;
}
"""

# cross_entropy with class indices over (N, C) logits, one sample per block: probabilities p,
# per-sample loss, the target with ignored entries set to 0, the counted mask and the
# per-sample weight. flags: 1 = class weights, 2 = label smoothing. An out-of-range target
# sets *bad (the host raises torch's IndexError) and gives a NaN loss.
_CROSS_ENTROPY_SRC = r"""
extern "C" __global__ void cross_entropy_fwd(const T* x, const long long* target,
    const T* weight, T* p, T* loss, long long* t_out, bool* mask, T* w_t, int* bad,
    long long n, long long ignore_index, A smoothing, int flags) {
  long long r = blockIdx.x;
  x += r * n; p += r * n;
  long long t = target[r];
  bool keep = t != ignore_index;
  long long tt = keep ? t : 0;
  bool out_of_range = tt < 0 || tt >= n;
  A m = neg_inf();
  for (long long k = threadIdx.x; k < n; k += blockDim.x) m = max_nan(m, (A)x[k]);
  m = Block::max(m);
  A z = 0, ws = 0, wsum = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    A s = (A)x[k] - m;
    z += exp(s);
    if (flags & 2) {
      A wk = (flags & 1) ? (A)weight[k] : (A)1;
      ws += s * wk;
      wsum += wk;
    }
  }
  z = Block::sum(z);
  if (flags & 2) {                         // uniform over the block: every thread reduces
    ws = Block::sum(ws);
    wsum = Block::sum(wsum);
  }
  for (long long k = threadIdx.x; k < n; k += blockDim.x) p[k] = (T)(exp((A)x[k] - m) / z);
  if (threadIdx.x == 0) {
    A lz = log(z);
    if (out_of_range) { *bad = 1; tt = 0; }
    A wt = keep ? ((flags & 1) ? (A)weight[tt] : (A)1) : (A)0;
    A log_pt = out_of_range ? quiet_nan() : ((A)x[tt] - m) - lz;
    A l = -log_pt * wt;
    if (flags & 2) {
      A smooth = lz * ((flags & 1) ? wsum : (A)n) - ws;
      l = ((A)1 - smoothing) * l + (smoothing / (A)n) * smooth * (keep ? (A)1 : (A)0);
    }
    loss[r] = (T)l;
    t_out[r] = tt;
    mask[r] = keep;
    w_t[r] = (T)wt;
  }
}

// dx = p * coef - [k == t] * on_target - smoothing part; gi = g[r * g_stride] (/ *denom).
// flags: 1 = class weights, 2 = label smoothing, 4 = mean reduction (divide by *denom)
extern "C" __global__ void cross_entropy_bwd(const T* p, const long long* t, const T* w_t,
    const bool* mask, const T* weight, const T* g, long long g_stride, const T* denom,
    const T* total_w, T* dx, long long rows, long long n, A smoothing, int flags) {
  long long total = rows * n;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    long long r = i / n, k = i % n;
    A gi = (A)g[r * g_stride];
    if (flags & 4) gi /= (A)denom[0];
    A on_target = gi * (A)w_t[r];
    A coef = on_target, extra = 0;
    if (flags & 2) {
      on_target *= (A)1 - smoothing;
      A part = gi * (mask[r] ? (A)1 : (A)0) * (smoothing / (A)n);
      coef = on_target + part * ((flags & 1) ? (A)total_w[0] : (A)n);
      extra = part * ((flags & 1) ? (A)weight[k] : (A)1);
    }
    A d = (A)p[i] * coef - extra;
    if (k == t[r]) d -= on_target;
    dx[i] = (T)d;
  }
}
"""

_FAMILIES = {"softmax": _SOFTMAX_SRC, "layer_norm": _LAYER_NORM_SRC,
             "cross_entropy": _CROSS_ENTROPY_SRC}

# dtype name -> (storage type T, accumulation type A, header CuPy needs for T)
_CTYPES = {"float16": ("float16", "float", "#include <cupy/float16.cuh>\n"),
           "bfloat16": ("bfloat16", "float", "#include <cupy/bfloat16.cuh>\n"),
           "float32": ("float", "float", ""),
           "float64": ("double", "double", "")}


def raw_source(family, dtype_name):
    """The CUDA source of one row-kernel family for one dtype (as RawModule compiles it)."""
    t, a, include = _CTYPES[dtype_name]
    return (f"{include}typedef {t} T;\ntypedef {a} A;\n" + _ROW_PREAMBLE
            + _FAMILIES[family])
