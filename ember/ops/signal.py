"""Signal processing and a few special functions torch has at top level: the window functions
(hann, hamming, blackman, bartlett, kaiser), stft/istft, histogram/histogramdd, gradient,
binomial, igamma/igammac and mvlgamma.

stft/istft frame the signal and run ember.fft's transforms along the frames.
igamma/igammac are primitives (forward on raw arrays, a vjp for `other`); they need SciPy's
kernels (an optional dependency). Everything else is a composite of existing ops."""
import math

import numpy as np

from .._dtype import DEFAULT, promote_types
from .._dtype import to_dtype as _to_dtype
from .._kernel_dtypes import cname, int_scalar, not_implemented
from .._tensor import Tensor, _new
from .._warnings import warn_once as _warn_once
from ..autograd.grad_mode import STATE as _grad
from ..backends import get_backend as _get_backend
from . import _special
from ._dims import unique_dims, wrap_dim
from . import creation as _C
from . import elementwise as _E
from . import reduce as _R
from . import shape as _S
from ._apply import _finish, _finish_tuple, apply as _apply, tensor_arg as _tensor_arg
from ._apply import make_unary as _make_unary
from ._registry import contiguous_outputs, op as _op
from .random import rng_for as _rng_for


# ---- window functions ----------------------------------------------------------------------
def _window(name, window_length, periodic, dtype, device, requires_grad, values):
    """values(n, N) -> float64 window of N points at n = 0..N-1 (N >= 2); torch's rules for
    lengths 0 and 1 and for periodic windows (an N+1 point window without its last point)."""
    d = _to_dtype(dtype) if dtype is not None else DEFAULT.float
    if d.np.kind == "c" or d.itemsize == 1 and d.is_floating_point:      # (and the float8s)
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{_E._tname(d.np)}'")
    if d.np.kind not in "fV":
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype="
                           f"{_E._cname(d.np)}, device=cpu, layout=Strided (default), "
                           "requires_grad=false (default), pinned_memory=false, "
                           "memory_format=(nullopt))")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    be = _get_backend(device)
    xp = be.xp
    if window_length == 0:
        w = np.zeros(0)
    elif window_length == 1:
        w = np.ones(1)
    else:
        n_pts = window_length + 1 if periodic else window_length
        if d.np.itemsize < 4:       # torch: each op in float32, rounded to the 2-byte dtype
            def r(x):
                return x.astype(d.np).astype(np.float32)
            ct = np.float32
        else:                       # torch: arange in the dtype, each op in it
            r, ct = _same, d.np.type
        with np.errstate(all="ignore"):
            w = values(r(np.arange(n_pts, dtype=ct)), n_pts, r)[:window_length]
    t = _new(xp.asarray(w.astype(d.np)), be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _cos(x):
    """cos in x's dtype, correctly rounded (as torch's vectorised cos nearly always is)."""
    return np.cos(x.astype(np.float64)).astype(x.dtype)


def _same(x):
    return x


# values(n, N, r): the window at n = arange(N) in the window's dtype (2-byte ones: in float32,
# `r` rounding each op's result, and each scalar, to the dtype, as torch's kernels compute them)
def _hamming(alpha, beta):
    """torch's hamming_window (hann: alpha = beta = 0.5), in the window's dtype and torch's order
    of operations: arange * (2 pi / (N - 1)), cos, * -beta, + alpha."""
    def values(n, N, r):
        t = n.dtype.type
        w = r(_cos(r(n * r(t(2 * math.pi / (N - 1))))))
        return r(r(w * r(t(-beta))) + r(t(alpha)))
    return values


def _blackman(n, N, r):
    t = n.dtype.type
    w = r(n * r(t(math.pi / (N - 1))))
    return r(r(r(r(_cos(r(w * t(4)))) * r(t(0.08))) - r(r(_cos(r(w * t(2)))) * t(0.5))) +
             r(t(0.42)))


def _bartlett(n, N, r):
    t = n.dtype.type
    w = r(n * r(t(2.0 / (N - 1))))
    half = ((N - 1) >> 1) + 1
    w[half:] = r(r(w[half:] * t(-1)) + t(2))
    return w


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False, pin_memory=False):
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   _hamming(0.5, 0.5))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False, pin_memory=False):
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _hamming(alpha, beta))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False, pin_memory=False):
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _blackman)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False, pin_memory=False):
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   _bartlett)


_KAISER_OVERLOADS = "".join(
    f"\n * (int window_length{a}, *, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
    for a in ("", ", bool periodic", ", bool periodic, float beta"))


def kaiser_window(window_length, periodic=None, beta=None, *, dtype=None, layout=None,
                  device=None, requires_grad=False, pin_memory=False):
    if periodic is None:
        if beta is not None:    # torch's overloads take beta only after periodic
            given = "".join(f", {k}={v}" for k, v in (
                ("dtype", dtype is not None and "torch.dtype"),
                ("layout", layout is not None and "torch.layout"),
                ("device", device is not None and "torch.device"),
                ("pin_memory", pin_memory and "bool"),
                ("requires_grad", requires_grad and "bool"),
                ("beta", type(beta).__name__)) if v)
            raise TypeError(f"kaiser_window() received an invalid combination of arguments - "
                            f"got ({type(window_length).__name__}{given}), but expected one of:"
                            f"{_KAISER_OVERLOADS}\n")
        periodic = True
    if beta is None:
        beta = 12.0
    def values(n, N, r):
        t = n.dtype.type          # torch: the argument in the window's opmath type, rounded once
        a, b = t((N - 1) / 2.0), t(beta)
        r = b * np.sqrt(np.abs(t(1) - ((n - a) / a) ** t(2)))
        return np.i0(r.astype(np.float64)) / np.i0(float(b))
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   values)


# ---- stft / istft --------------------------------------------------------------------------
def _real_dtype(dt):
    return {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}.get(
        np.dtype(dt), dt)


def _pad_window(window, win_length, n_fft, like):
    """The window (ones when None) zero-padded on both sides to n_fft, centred."""
    if window is None:
        window = _C.ones(win_length, dtype=_real_dtype_t(like), device=like.device)
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        z = _C.zeros
        window = _S.cat([z(left, dtype=window.dtype, device=window.device), window,
                         z(n_fft - win_length - left, dtype=window.dtype,
                           device=window.device)])
    return window


def _real_dtype_t(x):
    return _from_np(_real_dtype(x.arr.dtype))


def _from_np(dt):
    from .._dtype import OF_NP
    return OF_NP[np.dtype(dt).num]


def _spectral_repr(name, input, n_fft, hop, win_length, window, *rest):
    """The call torch's stft/istft errors begin with (their REPR macro): `rest` the remaining
    (name, value) pairs, booleans as 0/1 and None as None."""
    from .._kernel_dtypes import type_string
    dev = input.be.name
    w = "None" if window is None else \
        f"{type_string(window.arr.dtype, dev)}{{{list(window.shape)}}}"
    tail = "".join(f", {k}={int(v) if isinstance(v, bool) else v}" for k, v in rest)
    return (f"{name}({type_string(input.arr.dtype, dev)}{list(input.shape)}, n_fft={n_fft}, "
            f"hop_length={hop}, win_length={win_length}, window={w}{tail}) ")


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
         align_to_window=None):
    """torch.stft: windowed frames through ember.fft; return_complex must be given for real
    inputs, as in torch 2. As torch/functional.py does, a centred input is padded (through a
    3-d view, by F.pad) before the checks of the C++ stft, whose errors name the call."""
    _tensor_arg("stft", input)
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center:
        from ..nn.functional import pad
        nd, p = input.ndim, n_fft // 2
        input = pad(input.view([1] * (3 - nd) + list(input.shape)), [p, p], pad_mode)
        input = input.view(input.shape[-nd:])
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length

    def fail(msg):
        raise RuntimeError(_spectral_repr(
            "stft", input, n_fft, hop, win_length, window, ("normalized", normalized),
            ("onesided", onesided), ("return_complex", return_complex),
            ("align_to_window", align_to_window)) + msg)
    if window is None:
        _warn_once("A window was not provided. A rectangular window will be applied,which is "
                   "known to cause spectral leakage. Other windows such as torch.hann_window or "
                   "torch.hamming_window are recommended to reduce spectral leakage.To suppress "
                   "this warning and use a rectangular window, explicitly set "
                   "`window=torch.ones(n_fft, device=<device>)`.", stacklevel=1)
    else:
        _tensor_arg("stft", window, "window", 5)
    cplx = input.arr.dtype.kind == "c" or (window is not None and window.arr.dtype.kind == "c")
    if return_complex is None:
        if not cplx:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True "
                               "in a future PyTorch release.")
        ret_complex = True
    else:
        ret_complex = return_complex
        if not return_complex:
            _warn_once("stft with return_complex=False is deprecated. In a future pytorch "
                       "release, stft will return complex tensors for all inputs, and "
                       "return_complex=False will raise an error.\nNote: you can still call "
                       "torch.view_as_real on the complex output to recover the old return "
                       "format.", stacklevel=1)
    if input.arr.dtype.kind not in "fcV":
        fail(": expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        fail(": expected a 1D or 2D tensor")
    x = input.unsqueeze(0) if input.ndim == 1 else input
    L = x.shape[-1]
    if n_fft <= 0 or n_fft > L:
        fail(f": expected 0 < n_fft < {L}, but got n_fft={win_length}")
    if hop <= 0:
        fail(f": expected hop_length > 0, but got hop_length={hop}")
    if win_length <= 0 or win_length > n_fft:
        fail(f": expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        fail(f": expected a 1D window tensor of size equal to win_length={win_length}, but got "
             f"window with size {list(window.shape)}")
    w = _pad_window(window, win_length, n_fft, x)
    if align_to_window and win_length < n_fft:
        # frames start where their window does: 1 + (L - win_length) // hop of them, over the
        # input zero-padded by the window's left padding on both sides
        n_frames = 1 + (L - win_length) // hop
        p = (n_fft - win_length) // 2
        x = _S.cat([_C.zeros(x.shape[0], p, dtype=x.dtype, device=x.device), x,
                    _C.zeros(x.shape[0], p, dtype=x.dtype, device=x.device)], -1).contiguous()
        frames = x.as_strided((x.shape[0], n_frames, n_fft), (x.shape[1], hop, 1)) * w
    else:
        frames = x.unfold(-1, n_fft, hop) * w                 # (B, n_frames, n_fft)
    if onesided is None:
        onesided = not cplx
    elif onesided and cplx:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    from .. import fft
    norm = "ortho" if normalized else "backward"
    if onesided:
        spec = fft.rfft(frames, dim=-1, norm=norm)
    else:
        spec = fft.fft(frames, dim=-1, norm=norm)
    out = spec.transpose(-1, -2)                              # (B, n_freq, n_frames)
    if input.ndim == 1:
        out = out.squeeze(0)
    return out if ret_complex else _S.view_as_real(out)


def _overlap_add(frames, hop, out_len):
    """Sum frames (B, F, n) placed hop apart into (B, out_len) (torch's unfold_backward)."""
    B, F, n = frames.shape
    r = -(-n // hop)
    if r * hop != n:
        frames = _S.cat([frames, _C.zeros(B, F, r * hop - n, dtype=frames.dtype,
                                          device=frames.device)], -1)
    chunks = frames.reshape(B, F, r, hop)
    acc = None
    for j in range(r):
        parts = [chunks[:, :, j]]
        if j:
            parts.insert(0, _C.zeros(B, j, hop, dtype=frames.dtype, device=frames.device))
        if r - 1 - j:
            parts.append(_C.zeros(B, r - 1 - j, hop, dtype=frames.dtype, device=frames.device))
        c = _S.cat(parts, 1) if len(parts) > 1 else parts[0]
        acc = c if acc is None else acc + c
    return acc.reshape(B, (F + r - 1) * hop)[:, :out_len]


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """torch.istft: an inverse FFT per frame and windowed overlap-add; its errors name the
    call, as torch's do."""
    _tensor_arg("istft", input)
    if window is None:          # (torch's own once-only flag, apart from stft's)
        _warn_once("A window was not provided. A rectangular window will be applied.Please "
                   "provide the same window used by stft to make the inversion lossless.To "
                   "suppress this warning and use a rectangular window, explicitly set "
                   "`window=torch.ones(n_fft, device=<device>)`.")
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length

    def fail(msg):
        raise RuntimeError(_spectral_repr(
            "istft", input, n_fft, hop, win_length, window, ("center", center),
            ("normalized", normalized), ("onesided", onesided), ("length", length),
            ("return_complex", return_complex)) + msg)
    if input.arr.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    # torch reads the sizes off view_as_real(input): (..., n_freq, n_frames, 2)
    wrap_dim(-2, input.ndim + 1)
    wrap_dim(-3, input.ndim + 1)
    if input.numel() == 0:
        fail(": input tensor cannot be empty.")
    if input.ndim not in (2, 3):
        fail(f": expected a tensor with 3 or 4 dimensions, but got {input.ndim + 1}")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    n_freq, n_frames = x.shape[-2], x.shape[-1]
    one = n_freq != n_fft if onesided is None else onesided
    if one:
        if n_fft // 2 + 1 != n_freq:
            fail(": expected the frequency dimension (3rd to the last) of the input tensor to "
                 f"match n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    elif n_fft != n_freq:
        fail(": expected the frequency dimension (3rd to the last) of the input tensor to match "
             f"n_fft when onesided=False, but got {n_freq}")
    if not 0 < hop <= win_length:
        fail(": expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        fail(": expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        fail(": Invalid window shape. window has to be 1D and length of `win_length`")
    w = _pad_window(window, win_length, n_fft, x)
    from .. import fft
    spec = x.transpose(-1, -2)                                # (B, n_frames, n_freq)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        fr = fft.ifft(spec, n_fft, dim=-1, norm=norm)
    else:
        if w.arr.dtype.kind == "c":
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not one:
            spec = spec[..., :n_fft // 2 + 1]
        fr = fft.irfft(spec, n_fft, dim=-1, norm=norm)       # (B, n_frames, n_fft)
    y = fr * w
    expected = n_fft + hop * (n_frames - 1)
    y = _overlap_add(y, hop, expected)
    wsq = w * w
    env = _overlap_add(wsq.expand(1, n_frames, n_fft), hop, expected)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected - n_fft // 2 if center else expected
    end_c = min(end, expected)
    y, env = y[:, start:end_c], env[:, start:end_c]
    if env.numel() and bool((env.abs().min() < 1e-11).item()):
        # (torch prints the comparison's 0-d bool tensor as C++ does)
        fail("window overlap add min: 1\n[ CPUBoolType{} ]")
    y = y / env
    if end > expected:
        _warn_once("The length of signal is shorter than the length parameter. Result is being "
                   "padded with zeros in the tail. Please check your center and hop_length "
                   "settings.")
        y = _S.cat([y, _C.zeros(y.shape[0], end - expected, dtype=y.dtype, device=y.device)],
                   -1)
    return y.squeeze(0) if input.ndim == 2 else y


# ---- histogram / histogramdd ---------------------------------------------------------------
_Histogram = _R._return_type("histogram", ("hist", "bin_edges"))
_Histogramdd = _R._return_type("histogramdd", ("hist", "bin_edges"))


def _outer_edges(pts, rng, dt):
    """torch's select_outer_bin_edges: the range, else the data's min and max (0 and 1 for no
    data), checked finite and ordered, an empty range widened by 0.5 each way."""
    nd = pts.shape[-1]
    if rng is not None:
        if len(rng) != 2 * nd:
            raise RuntimeError(f"torch.histogramdd: for a {nd}-dimensional histogram range should "
                               f"have {2 * nd} elements, but got {len(rng)}")
        lo, hi = [float(r) for r in rng[::2]], [float(r) for r in rng[1::2]]
    elif pts.size:
        if not (dt.kind == "f" and dt.itemsize >= 4):      # the min/max kernel's dtypes
            raise not_implemented("histogramdd", dt)
        lo, hi = [float(v) for v in pts.min(0)], [float(v) for v in pts.max(0)]
    else:
        lo, hi = [0.0] * nd, [1.0] * nd
    for k in range(nd):
        if not (math.isfinite(lo[k]) and math.isfinite(hi[k])):
            raise RuntimeError(f"torch.histogramdd: dimension {k}'s range [{lo[k]:g}, {hi[k]:g}] "
                               "is not finite")
        if lo[k] > hi[k]:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                               f"{lo[k]:g} max {hi[k]:g} for dimension {k}")
        if lo[k] == hi[k]:
            lo[k], hi[k] = lo[k] - 0.5, hi[k] + 0.5
    return lo, hi


def _hist_check_inputs(a, edges, weight, nd, out=None):
    """torch's histogramdd_check_inputs (edges: the bin edge arrays), then prepare_out's count."""
    if len(edges) != nd:
        raise RuntimeError(f"torch.histogramdd: expected {nd} sequences of bin edges for a {nd}-"
                           f"dimensional histogram but got {len(edges)}")
    for k, e in enumerate(edges):
        if e.dtype != a.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the "
                               f"same dtype, but got input with dtype {cname(a.dtype)} and bins "
                               f"for dimension {k} with dtype {cname(e.dtype)}")
        if e.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got "
                               f"{e.ndim} dimensions in the bins tensor for dimension {k}")
        if not e.size:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, "
                               f"but got 0 elements in the bins tensor for dimension {k}")
    if weight is not None:
        w = weight.arr
        if w.dtype != a.dtype:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and "
                               f"weight tensor should have the same dtype, but got "
                               f"input({cname(a.dtype)}), and weight({cname(w.dtype)})")
        if a.shape[:-1] != (w.shape or (1,)):
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(a.shape)} and weight "
                               f"with shape {list(w.shape)}")
    _prepare_out(a.dtype, [e.size - 1 for e in edges], out)


def _prepare_out(dt, counts, out=None):
    """torch's histogramdd_prepare_out: the out tensors' dtypes (out: (hist, edges...), (hist,)
    for histc, or None), then the bin counts."""
    if out is not None and out[0].arr.dtype != dt:
        raise RuntimeError(f"torch.histogram: input tensor and hist tensor should have the same "
                           f"dtype, but got input {cname(dt)} and hist {cname(out[0].arr.dtype)}")
    for k, b in enumerate(counts):
        if out is not None and len(out) > k + 1 and out[k + 1].arr.dtype != dt:
            raise RuntimeError(f"torch.histogram: input tensor and bin_edges tensor should have "
                               f"the same dtype, but got input {cname(dt)} and bin_edges "
                               f"{cname(out[k + 1].arr.dtype)} for dimension {k}")
        if b <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b} for dimension "
                               f"{k}")


def _hist_nd(name, x, bins, rng, weight, density, nd, out=None):
    """torch's histogramdd, its checks in its order: edge tensors are checked as given; bin
    counts get their outer edges (range or data), then linspace's edges in x's dtype."""
    xp = x.be.xp
    a = x.arr
    pts = a.reshape(-1, nd)
    dt = a.dtype
    if weight is not None:
        _tensor_arg(name, weight, "weight", None)
    if isinstance(bins, Tensor):
        bins = [bins]
    tensors = not isinstance(bins, (int, np.integer)) and all(isinstance(b, Tensor) for b in bins)
    if tensors:
        edges = [b.arr for b in bins]
    else:
        if isinstance(bins, (int, np.integer)):
            bins = [bins] * nd
        for b in bins:
            if isinstance(b, bool) or not isinstance(b, (int, np.integer)):    # torch: no bool
                raise TypeError(f"{name}() received an invalid combination of arguments - got "
                                f"(Tensor, {type(b).__name__})")
        bins = [int(b) for b in bins]
        if name == "histogram":
            _prepare_out(dt, bins, out)
        lo, hi = _outer_edges(pts, rng, dt)
        if len(bins) != nd:
            raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                               "dimension of the input.")
        if dt.kind == "b":
            raise not_implemented("linspace_cpu", dt)
        if dt.kind in "iu":                 # the edges are made in x's dtype
            for v in lo + hi:
                int_scalar(v, dt)
        if min(bins) < -1:
            raise RuntimeError("number of steps must be non-negative")
        edges = [_C._linspace_values(xp, lo[k], hi[k], bins[k] + 1, x.dtype) if bins[k] >= 0
                 else xp.zeros(0, dt) for k in range(nd)]
    # (histogramdd's weight has the shape of its input less the last dim; histogram's, of its)
    _hist_check_inputs(a if name == "histogramdd" else pts, edges, weight, nd, out)
    if dt.kind not in "fV":
        raise not_implemented("histogram_cpu", dt)
    w = None if weight is None else weight.arr.reshape(-1)
    host = x.be.to_host
    hp = host(pts).astype(np.float64)
    counts = []
    idx = []
    keep = np.ones(len(hp), bool)
    from .index import _binary_search
    for k, e in enumerate(edges):
        # the kernel: inside [first, last] edge (NaN never), then std::upper_bound's bin, the
        # last edge in the last bin
        ek = host(e).astype(np.float64)
        v = hp[:, k]
        keep &= (v >= ek[0]) & (v <= ek[-1])
        pos = _binary_search(np, ek[None], v[None], True)[0] - 1
        idx.append(np.minimum(pos, len(ek) - 2))
        counts.append(len(ek) - 1)
    flat = np.ravel_multi_index([i[keep] for i in idx], counts) if keep.any() else \
        np.zeros(0, np.int64)
    if w is not None and dt.itemsize >= 4:
        # torch's kernel adds each weight into its bin in x's dtype, in element order
        hist = np.zeros(math.prod(counts), dt)
        np.add.at(hist, flat, host(w).astype(dt, copy=False)[keep])
        hist = hist.reshape(counts)
    else:
        wk = None if w is None else host(w).astype(np.float64)[keep]
        hist = np.bincount(flat, weights=wk, minlength=math.prod(counts)).reshape(counts) \
            .astype(dt)
    if density:     # as torch: over the total, then each dim's bin lengths, in x's dtype
        opmath = np.dtype(np.float32) if dt.itemsize == 2 else dt
        hist = (hist.astype(opmath) / opmath.type(hist.sum(dtype=opmath))).astype(dt)
        for k, e in enumerate(edges):
            shp = [1] * nd
            shp[k] = -1
            hist = hist / np.diff(host(e)).reshape(shp)
    hist = _new(xp.asarray(hist), x.be)
    return hist, [_new(e.copy() if tensors else e, x.be) for e in edges]


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """torch.histogram -> (hist, bin_edges); bins is an int (linear bins over `range`, or the
    data's min/max) or a 1-D tensor of monotonically increasing edges."""
    _tensor_arg("histogram", input)
    if weight is not None:          # torch flattens both
        _tensor_arg("histogram", weight, "weight", None)
        weight = weight.reshape(-1)
    h, e = _hist_nd("histogram", input.reshape(-1, 1), bins, range, weight, density, 1, out)
    h, e = _refused(("histogram", "histogram"), (h.reshape(-1), e[0]), (input, weight, bins))
    if out is not None:
        return _finish_tuple((h, e), out, "histogram", _Histogram)
    return _Histogram(h, e)


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """torch.histogramdd: input (..., D) points; bins an int, D ints or D edge tensors."""
    _tensor_arg("histogramdd", input)
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    h, e = _hist_nd("histogramdd", input, bins, range, weight, density, input.shape[-1])
    h, *e = _refused(("_histogramdd_from_bin_cts",) + ("_histogramdd_bin_edges",) * len(e),
                     (h, *e), (input, weight, *(bins if isinstance(bins, (list, tuple))
                                                else (bins,))))
    return _Histogramdd(h, tuple(e))


def _refused(atens, outs, inputs):
    """The histogram's outputs as torch records them: NotImplemented nodes joined to the
    inputs that require grad (see autograd.higher_order.refused_derivative)."""
    from ..autograd.higher_order import refused_derivative
    return [refused_derivative(o, inputs, a) for o, a in zip(outs, atens)]


# ---- gradient ------------------------------------------------------------------------------
def _sl(x, dim, start, stop):
    return x.narrow(dim, start, stop - start)


def _grad_uniform(f, h, dim, edge_order):
    """As torch's gradient_helper_float, whose products and quotients by numbers are the
    Scalar overloads (MulBackward1, DivBackward1)."""
    n = f.shape[dim]
    mul, div = _E._mul_scalar, _E._div_scalar
    inner = div(div(_sl(f, dim, 2, n) - _sl(f, dim, 0, n - 2), h), 2)
    if edge_order == 1:
        a = div(_sl(f, dim, 1, 2) - _sl(f, dim, 0, 1), h)
        b = div(_sl(f, dim, n - 1, n) - _sl(f, dim, n - 2, n - 1), h)
    else:
        a = div(mul(_sl(f, dim, 0, 1), -1.5) + mul(_sl(f, dim, 1, 2), 2)
                - mul(_sl(f, dim, 2, 3), 0.5), h)
        b = div(mul(_sl(f, dim, n - 3, n - 2), 0.5) - mul(_sl(f, dim, n - 2, n - 1), 2)
                + mul(_sl(f, dim, n - 1, n), 1.5), h)
    return _S.cat([a, inner, b], dim)


def _grad_coords(f, x, dim, edge_order):
    """numpy/torch's second-order accurate nonuniform differences; x the 1-D coordinates."""
    n = f.shape[dim]
    shp = [1] * f.ndim
    shp[dim] = -1
    dx = x[1:] - x[:-1]
    hl, hr = dx[:-1], dx[1:]
    a = (-hr / (hl * (hl + hr))).reshape(shp)
    b = ((hr - hl) / (hl * hr)).reshape(shp)
    c = (hl / (hr * (hl + hr))).reshape(shp)
    inner = a * _sl(f, dim, 0, n - 2) + b * _sl(f, dim, 1, n - 1) + c * _sl(f, dim, 2, n)
    if edge_order == 1:
        e0 = (_sl(f, dim, 1, 2) - _sl(f, dim, 0, 1)) / dx[0]
        e1 = (_sl(f, dim, n - 1, n) - _sl(f, dim, n - 2, n - 1)) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        a, b, c = -(_E._mul_scalar(d1, 2) + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), \
            -d1 / (d2 * (d1 + d2))
        e0 = a * _sl(f, dim, 0, 1) + b * _sl(f, dim, 1, 2) + c * _sl(f, dim, 2, 3)
        d1, d2 = dx[-2], dx[-1]
        a, b, c = d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), \
            (_E._mul_scalar(d2, 2) + d1) / (d2 * (d1 + d2))
        e1 = a * _sl(f, dim, n - 3, n - 2) + b * _sl(f, dim, n - 2, n - 1) + \
            c * _sl(f, dim, n - 1, n)
    return _S.cat([e0, inner, e1], dim)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """torch.gradient: central differences inside, one-sided (edge_order 1 or 2) at the ends;
    spacing a scalar, a list of scalars, or a list of 1-D coordinate tensors."""
    _tensor_arg("gradient", input)
    if spacing is None:             # (torch's default, passed explicitly)
        spacing = 1
    if input.arr.dtype == np.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    coords = isinstance(spacing, (list, tuple)) and any(isinstance(c, Tensor) for c in spacing)
    if input.arr.dtype == bool and not (coords and edge_order == 2):    # torch subtracts x's
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(input.ndim))
    elif isinstance(dim, (int, np.integer)):
        dims = [int(dim)]
    else:
        dims = [int(d) for d in dim]
    dims = list(unique_dims(dims, input.ndim))
    if isinstance(spacing, (list, tuple)):
        sp = list(spacing)
        if dim is None and len(sp) != len(dims):
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar, or "
                               f"a list of length equal to 'self.dim() = {input.ndim}', since "
                               f"dim argument was not given, but got a list of length {len(sp)}")
        if len(sp) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar "
                               f"or it's spacing and dim arguments to have the same length, "
                               f"but got a spacing argument of length {len(sp)} and a dim "
                               f"argument of length {len(dims)}.")
    else:
        sp = [spacing.item() if isinstance(spacing, Tensor) else spacing] * len(dims)
    out = []
    for d, h in zip(dims, sp):
        f = input
        if f.arr.dtype.kind in "biu":   # torch: integers meet float coordinates first, if any
            f = f.to(h.dtype if isinstance(h, Tensor) and h.ndim == 1 and
                     h.dtype.is_floating_point else DEFAULT.float)
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
        if isinstance(h, Tensor) and h.ndim == 1:
            out.append(_grad_coords(f, h, d, edge_order))
        else:
            out.append(_grad_uniform(f, h.item() if isinstance(h, Tensor) else h, d,
                                     edge_order))
    return tuple(out)


# ---- random / special ----------------------------------------------------------------------
def binomial(count, prob, generator=None):
    """Samples of Binomial(count, prob), elementwise; dtype of count (float)."""
    _tensor_arg("binomial", count, "count")
    _tensor_arg("binomial", prob, "prob", 2)
    c, p = count.be.xp.broadcast_arrays(count.arr, prob.arr)
    if count.arr.dtype.kind not in "f":
        raise NotImplementedError(f"\"binomial_cpu\" not implemented for "
                                  f"'{_E._tname(count.arr.dtype)}'")
    r = _rng_for(generator, count.be)
    s = r.binomial(c, p.astype(c.dtype))
    return _new(count.be.xp.asarray(s).astype(count.arr.dtype), count.be)


def _scipy(name):
    sp = _special._scipy_special(np)
    if sp is None:
        raise RuntimeError(f"{name} needs SciPy's special functions, which are optional in "
                           "ember: pip install scipy")
    return sp


def _igamma_f(which):
    def f(xp, a, x):
        sp = _special._scipy_special(xp)
        if sp is None:
            _scipy(which)
        y = getattr(sp, "gammainc" if which == "igamma" else "gammaincc")(a, x)
        dt = np.result_type(a, x)
        y = _special._as_array(xp, y).astype(dt, copy=False)
        # torch's kernel settles the edges first, in this order (the last applied first):
        # x or a < 0, a == 0, x == 0, a infinite, x infinite; NaNs fail every test
        lo, hi = (0.0, 1.0) if which == "igamma" else (1.0, 0.0)
        y = xp.where(xp.isinf(x), hi, y)
        y = xp.where(xp.isinf(a), xp.where(xp.isinf(x), np.nan, lo), y)
        y = xp.where(x == 0, lo, y)
        y = xp.where(a == 0, xp.where(x > 0, hi, np.nan), y)
        return xp.where((x < 0) | (a < 0), np.nan, y).astype(dt, copy=False)
    return f


def _igamma_grad(sign, which):
    def g(xp, gy, a, x):
        # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a); torch does not differentiate w.r.t. a
        sp = _special._scipy_special(xp)
        with np.errstate(all="ignore"):
            d = xp.exp((a - 1) * xp.log(x) - x - _special._as_array(xp, sp.gammaln(a)))
        return None, sign * gy * d.astype(gy.dtype, copy=False)
    return g


def _no_input_grad(name):
    """A zero that raises torch's error if backward reaches it (no derivative w.r.t. input)."""
    @_op(name + "_input", saves=None)
    def guard(xp, a):
        return xp.zeros_like(a), ()

    @guard.vjp
    def _(xp, g):
        raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
    return _make_unary(guard)


def _igamma_op(name, sign):
    guard = _no_input_grad(name)

    prim = _E._binary(name, _igamma_f(name), _igamma_grad(sign, name),
                      check=_E._to_float_pair(name, complex_ok=False))

    def fn(input, other, *, out=None):
        _tensor_arg(name, input)
        _tensor_arg(name, other, "other", 2)
        if _special._scipy_special(input.be.xp) is None:
            _scipy(name)
        dt = promote_types(input.dtype, other.dtype)
        if not dt.is_floating_point:
            raise not_implemented(f"{name}_cpu", np.dtype(dt.np))
        a, b = _E._float_operands(input, other)
        if a.requires_grad and _grad.enabled:
            return _finish(prim(a.detach(), b) + guard(a), out, name)
        return _finish(prim(a, b), out, name)
    fn.__name__ = fn.__qualname__ = name
    return fn


igamma = _igamma_op("igamma", 1.0)
igammac = _igamma_op("igammac", -1.0)


def _mvlgamma_terms(xp, x, p):
    """x[..., None] + (-(p-1)/2, ..., -1/2, 0), as torch's kernel lays the arguments out."""
    return xp.expand_dims(x, -1) + xp.arange(-p * 0.5 + 0.5, 0.5, 0.5).astype(x.dtype)


@_op("mvlgamma")
def _mvlgamma(xp, x, p):
    """Multivariate log-gamma: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi), summed in float32 at
    least (torch's accumulation)."""
    lg = _E._lgamma(xp, _mvlgamma_terms(xp, x, p))
    acc = lg.sum(-1, dtype=np.float32) if x.dtype.itemsize == 2 else lg.sum(-1)
    # (torch adds the constant in x's dtype: rounded first where that is a 16-bit float)
    y = acc.astype(x.dtype, copy=False) + xp.asarray(p * (p - 1) * math.log(math.pi) * 0.25,
                                                     x.dtype)
    return _special._as_array(xp, y), (x, p)


@_mvlgamma.vjp
def _(xp, g, x, p):
    """torch's mvlgamma_backward: g times the sum of the digammas."""
    return (g * _special.digamma(xp, _mvlgamma_terms(xp, x, p)).sum(-1).astype(g.dtype),)


contiguous_outputs("mvlgamma")       # (torch's sum over the arguments' last dim)


def mvlgamma(input, p):
    _tensor_arg("mvlgamma", input)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if input.arr.dtype == bool:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if input.arr.dtype.kind == "c":     # (torch's arange of the arguments, in x's dtype)
        raise not_implemented("arange_cpu", input.arr.dtype)
    x = input if input.dtype.is_floating_point else input.to(DEFAULT.float)
    return _apply(_mvlgamma, (x,), (int(p),))


# ---- segment_reduce ---------------------------------------------------------------------------
_SEG_EMPTY = {"sum": 0.0, "prod": 1.0, "mean": math.nan, "max": -math.inf, "min": math.inf}
_SEG_FN = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "max": np.max, "min": np.min}


@_op("segment_reduce", saves="both", node="SegmentReduceBackward0")
def _segment_reduce(xp, x, lengths, axis, reduce, initial):
    xm = xp.moveaxis(x, axis, 0)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    rows = []
    for a, b in zip(starts, ends):
        if b > a:
            r = _SEG_FN[reduce](xm[a:b], axis=0)
            if initial is not None and reduce == "mean":        # torch: (sum + initial) / n
                r = (r * (b - a) + initial) / (b - a)
            elif initial is not None:
                r = _SEG_FN[reduce](xp.stack([r, xp.full_like(r, initial)]), axis=0)
        else:
            r = xp.full(xm.shape[1:], _SEG_EMPTY[reduce] if initial is None else initial,
                        x.dtype)
        rows.append(xp.asarray(r, x.dtype))
    out = xp.stack(rows) if rows else xp.zeros((0,) + xm.shape[1:], x.dtype)
    return xp.moveaxis(out, 0, axis), (x, out, lengths, axis, reduce, initial)


@_segment_reduce.vjp
def _(xp, g, x, out, lengths, axis, reduce, initial):
    seg = np.repeat(np.arange(len(lengths)), lengths)
    xm, gm = xp.moveaxis(x, axis, 0), xp.moveaxis(g, axis, 0)
    om = xp.moveaxis(out, axis, 0)
    ge, oe = gm[seg], om[seg]
    if reduce == "sum":
        gx = ge
    elif reduce == "mean":
        gx = ge / xp.asarray(lengths, x.dtype)[seg].reshape((-1,) + (1,) * (x.ndim - 1))
    elif reduce == "prod":       # a zero gets the product of the others (none if two zeros)
        nz = xp.where(xm != 0, xm, 1)
        ends = np.cumsum(lengths)
        pnz = xp.stack([nz[b - n:b].prod(0) for n, b in zip(lengths, ends)]) if len(lengths) \
            else xp.zeros((0,) + xm.shape[1:], x.dtype)
        if initial is not None:
            pnz = pnz * initial
        zeros = xp.stack([(xm[b - n:b] == 0).sum(0) for n, b in zip(lengths, ends)]) \
            if len(lengths) else pnz
        with np.errstate(all="ignore"):
            gx = xp.where(xm != 0, ge * (pnz[seg] / nz) * (zeros[seg] == 0),
                          xp.where(zeros[seg] == 1, ge * pnz[seg], 0))
    else:           # max / min: shared evenly among the ties, as torch's backward
        hit = (xm == oe).astype(x.dtype)
        count = np.zeros((len(lengths),) + xm.shape[1:], x.dtype)
        np.add.at(count, seg, hit)
        gx = hit * ge / np.maximum(count, 1)[seg]      # (an initial value that won: 0)
    return xp.moveaxis(gx.astype(x.dtype, copy=False), 0, axis), None


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                   unsafe=False, initial=None):
    """torch.segment_reduce over 1-d lengths or offsets (segments along `axis`)."""
    reduce = {"amax": "max", "amin": "min"}.get(reduce, reduce)
    if reduce not in _SEG_EMPTY:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    axis = axis + data.ndim if axis < 0 else axis
    if lengths is None:
        if offsets is None:
            raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
        off = offsets.be.to_host(offsets.arr).astype(np.int64)
        lens = np.diff(off)
    else:
        lens = lengths.be.to_host(lengths.arr).astype(np.int64)
    if lens.ndim != 1:
        raise NotImplementedError("ember's segment_reduce takes 1-d lengths or offsets")
    if not unsafe and int(lens.sum()) != data.shape[axis]:
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    return _apply_segment(data, lens, axis, reduce, initial)


def _apply_segment(data, lens, axis, reduce, initial):
    from ._apply import apply
    return apply(_segment_reduce, (data,), (lens, axis, reduce, initial))


# ember.<name> only: torch has no Tensor method of these names
FUNCTIONS_ONLY = frozenset({"hann_window", "hamming_window", "blackman_window",
                            "bartlett_window", "kaiser_window", "histogramdd", "gradient",
                            "binomial", "segment_reduce"})


def _autocast_fp32():
    from ..amp.autocast import fp32_function
    globals()["stft"] = fp32_function("stft", stft)


_autocast_fp32()
