"""ember.fft: discrete Fourier transforms (torch.fft) on NumPy's pocketfft or CuPy's cuFFT.

As in ATen, three differentiable primitives do the work: complex-to-complex (`_c2c`),
real-to-complex onesided (`_r2c`) and complex-to-real (`_c2r`), each over several dims with a
`norm` ("backward", "ortho" or "forward" in the transform's own direction). The adjoint of a
transform is the opposite-direction one with the dual norm (backward <-> forward), so each
backward rule is one transform: torch's fft_c2c/r2c/c2r_backward formulas. Sizes given by
`n`/`s` zero-pad or trim the input first (`_resize`, also differentiable); hfft/ihfft are
irfft/rfft of the conjugate with the norm swapped, as in NumPy and torch."""
import functools

import numpy as np

from . import _dtype as _dt
from ._tensor import Tensor
from .ops import creation as _creation, shape as _S
from .ops._apply import _finish, _tname, apply as _apply, quiet as _quiet, \
    tensor_arg as _tensor_arg, tensor_ndim as _tensor_ndim
from .ops._dims import int_arg as _int_arg, wrap_dim as _wrap_dim
from .ops._registry import op as _op

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---- the primitives ---------------------------------------------------------------------------
def _silent(kernel):
    """pocketfft warns about non-finite input ("invalid value encountered in fft") from NumPy's
    own module, past ember's filter; torch transforms NaNs and infinities silently."""
    @functools.wraps(kernel)
    def run(*args):
        return _quiet(kernel, *args)
    return run


def _laid_out(xp, y, x, dims, last_innermost):
    """y laid out as torch's fft kernels allocate their output: the untransformed dims
    outermost, ordered by the input x's strides (largest first), then the transformed dims,
    by x's strides too (c2c) or with the last given dim innermost (r2c, c2r, whose halved dim
    it is). A contiguous input transformed along its last dims needs no copy."""
    nd = y.ndim
    if nd < 2 or not y.size:
        return y
    if x.flags.c_contiguous and y.flags.c_contiguous and \
            list(dims) == list(range(nd - len(dims), nd)):     # (the common case, at once)
        return y
    st = x.strides
    order = sorted((d for d in range(y.ndim) if d not in dims), key=lambda d: -st[d])
    order += sorted(dims[:-1], key=lambda d: -st[d]) + [dims[-1]] if last_innermost else \
        sorted(dims, key=lambda d: -st[d])
    if order == sorted(order):
        return y if y.flags.c_contiguous else xp.ascontiguousarray(y)
    out = xp.empty(tuple(y.shape[d] for d in order), y.dtype)   # (torch's strides for size-1
    out[...] = y.transpose(order)                               # dims: NumPy's C flag skips
    return out.transpose(np.argsort(order))                     # them)


@_op("fft_c2c", saves=None, node="FftC2CBackward0")
@_silent
def _c2c(xp, x, dims, forward, norm):
    f = xp.fft.fftn if forward else xp.fft.ifftn
    y = f(x, axes=dims, norm=norm).astype(x.dtype, copy=False)
    return _laid_out(xp, y, x, dims, False), (dims, forward, norm)


@_c2c.vjp
@_silent
def _(xp, g, dims, forward, norm):
    f = xp.fft.ifftn if forward else xp.fft.fftn
    return (f(g, axes=dims, norm=_DUAL[norm]).astype(g.dtype, copy=False),)


@_op("fft_r2c", saves=None, node="FftR2CBackward0")
@_silent
def _r2c(xp, x, dims, norm, onesided=True):
    y = xp.fft.rfftn(x, axes=dims, norm=norm).astype(_complex_of(x.dtype), copy=False)
    if not onesided:        # torch's fft/ifft of a real input
        y = _conjugate_fill(xp, y, dims, x.shape[dims[-1]])
    return _laid_out(xp, y, x, dims, True), (dims, norm, x.shape[dims[-1]])


def _conjugate_fill(xp, half, dims, n):
    """The two-sided transform from the one-sided `half`, as torch's
    _fft_fill_with_conjugate_symmetry_: the missing entries are the conjugates of their mirror
    images (so a zero imaginary part there is -0.0)."""
    last = dims[-1]
    tail = xp.take(half, xp.arange(n - half.shape[last], 0, -1), axis=last)
    for d in dims[:-1]:     # index i mirrors to -i (mod the size) along the other dims
        tail = xp.roll(xp.flip(tail, d), 1, d)
    return xp.concatenate([half, xp.conj(tail)], axis=last)


@_r2c.vjp
@_silent
def _(xp, g, dims, norm, last_size):
    # torch's fft_r2c_backward: zero-fill the missing half, inverse c2c, real part
    pad = [(0, 0)] * g.ndim
    pad[dims[-1]] = (0, last_size - g.shape[dims[-1]])
    full = xp.fft.ifftn(xp.pad(g, pad), axes=dims, norm=_DUAL[norm])
    return (full.real.astype(g.real.dtype, copy=False),)


@_op("fft_c2r", saves=None, node="FftC2RBackward0")
@_silent
def _c2r(xp, x, dims, norm, last_size):
    s = [x.shape[d] for d in dims[:-1]] + [last_size]
    y = xp.fft.irfftn(x, s=s, axes=dims, norm=norm).astype(x.real.dtype, copy=False)
    return _laid_out(xp, y, x, dims, True), (dims, norm)


@_c2r.vjp
@_silent
def _(xp, g, dims, norm):
    # torch's fft_c2r_backward: the onesided r2c of g, with the entries whose mirror image
    # fell outside the onesided half counted twice
    gi = xp.fft.rfftn(g, axes=dims, norm=_DUAL[norm]).astype(_complex_of(g.dtype), copy=False)
    twice = g.shape[dims[-1]] - gi.shape[dims[-1]]
    if twice > 0:
        idx = [slice(None)] * gi.ndim
        idx[dims[-1]] = slice(1, 1 + twice)
        gi[tuple(idx)] *= 2
    return (gi,)


@_op("fft_resize", saves=None, node="ConstantPadNdBackward0")
def _resize_op(xp, x, dims, sizes):
    """x zero-padded (at the end) to `sizes` along `dims`."""
    return _fit(xp, x, dims, sizes), (x.shape,)


@_resize_op.vjp
def _(xp, g, shape):
    dims = tuple(range(g.ndim))
    return (_fit(xp, g, dims, shape),)


def _fit(xp, x, dims, sizes):
    idx = [slice(None)] * x.ndim
    pad = [(0, 0)] * x.ndim
    for d, n in zip(dims, sizes):
        idx[d] = slice(0, min(n, x.shape[d]))
        pad[d] = (0, max(0, n - x.shape[d]))
    x = x[tuple(idx)]
    # (torch's constant_pad_nd: a new contiguous tensor when it pads, a view when it only cuts)
    return xp.ascontiguousarray(xp.pad(x, pad)) if any(p for _, p in pad) else x


def _complex_of(np_dtype):
    """The complex NumPy dtype a real one transforms to (float32 -> complex64)."""
    d = _dt.OF_NP[np.dtype(np_dtype).num]
    if d.itemsize == 1 and d.is_floating_point:
        raise RuntimeError(f"Unsupported dtype {_dt.C10_NAME[d.name]}")
    return d._complex().np


# ---- argument handling (torch's SpectralOps.cpp, checks in its order) ---------------------------
def _check_norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _fft_dims(dims, ndim):
    """maybe_wrap_dim without wrapping scalars: a 0-d input has no dim to transform."""
    if not ndim and dims:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return [_wrap_dim(d, ndim) for d in dims]


def _points(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _dim_and_n(x, n, dim, default):
    """The one-dim transforms' dim and size (`default` of the input's size where n is None;
    a given n of -1 is refused, not read as the default)."""
    (d,) = _fft_dims([dim], x.ndim)
    return d, _points(default(x.shape[d]) if n is None else n)


def _shape_and_dims(x, s, dim):
    """torch's canonicalize_fft_shape_and_dim_args."""
    ndim = x.ndim
    if dim is not None:
        dims = _fft_dims([dim] if isinstance(dim, int) else list(dim), ndim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = list(s)
        if dim is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        if dim is None:
            dims = list(range(ndim - len(s), ndim))
        s = [x.shape[d] if n == -1 else n for d, n in zip(dims, s)]
    else:
        if dim is None:
            dims = list(range(ndim))
        s = [x.shape[d] for d in dims]
    for n in s:
        _points(n)
    return s, tuple(dims)


def _promote(x, require_complex=False):
    """torch's promote_tensor_fft: integers to the default float dtype; half refused (torch
    takes it on CUDA only); to complex where the transform needs it."""
    dt = x.arr.dtype
    if dt.kind in "biu":
        x = x.to(_dt.get_default_dtype())
    elif dt.name in ("float16", "bfloat16"):
        raise RuntimeError(f"Unsupported dtype {_tname(dt)}")
    return x if not require_complex or x.arr.dtype.kind == "c" else x.to(x.dtype._complex())


def _real_input(x, message):
    if x.arr.dtype.kind == "c":
        raise RuntimeError(message.format(_tname(x.arr.dtype)))


def _out_kind(out, complex_, fname):
    """torch's check of an out= tensor's kind (its dtype may be of another precision)."""
    if out is not None and isinstance(out, Tensor) and not (
            out.is_complex() if complex_ else out.is_floating_point()):
        raise RuntimeError(f"{fname} expects a {'complex' if complex_ else 'floating point'} "
                           f"output tensor, but got {_tname(out.arr.dtype)}")


def _int_args(name, n, dim):
    """The one-dim transforms' n and dim as torch's argument parser takes them."""
    if n is not None:
        _int_arg(n, name, "n")
    _int_arg(dim, name, "dim")


def _at_least_one(dims, fname):
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")


def _resize(x, dims, sizes):
    """torch's resize_fft_input: trimmed by views (SliceBackward0), then zero-padded."""
    for d, n in zip(dims, sizes):
        if x.shape[d] > n:
            x = _S.narrow(x, d, 0, n)
    if all(x.shape[d] == n for d, n in zip(dims, sizes)):
        return x
    return _apply(_resize_op, (x,), (dims, tuple(sizes)))


# ---- the public transforms -------------------------------------------------------------------
def _fft1(name, x, n, dim, norm, forward, out):
    """torch's fft_fft/fft_ifft: a complex input takes fft_c2c; a real one fft_r2c's two-sided
    transform (conjugated, with the dual norm, for the inverse) rather than a complex copy, so
    its grad_fn is FftR2CBackward0 (ConjBackward0 for ifft)."""
    _tensor_arg(name, x)
    _int_args(name, n, dim)
    if x.arr.dtype.kind != "c":
        return _r2c_1(name, x, n, dim, norm, forward, False, out)
    d, n = _dim_and_n(x, n, dim, int)
    norm = _check_norm(norm)
    y = _apply(_c2c, (_resize(x, (d,), (n,)),), ((d,), forward, norm))
    _out_kind(out, True, name[4:])
    return _finish(y, out, name)


def _r2c_1(name, x, n, dim, norm, forward, onesided, out):
    """torch's fft_r2c (rfft, ihfft, and fft/ifft of a real input); the inverse transforms are
    the conjugate of the forward one with the dual norm (written through conj_physical_out:
    an out= of the result's dtype only)."""
    _out_kind(out, True, name[4:])
    x = _promote(x)
    d, n = _dim_and_n(x, n, dim, int)
    norm = _check_norm(norm)
    y = _apply(_r2c, (_resize(x, (d,), (n,)),), ((d,), norm if forward else _DUAL[norm],
                                                   onesided))
    return _finish(y, out, name) if forward else _finish(y.conj(), out, name, "found")


def _c2r_1(name, x, n, dim, norm, forward, out):
    """torch's fft_c2r (irfft; hfft: of the conjugate, with the dual norm)."""
    _tensor_arg(name, x)
    _int_args(name, n, dim)
    _out_kind(out, False, name[4:])
    x = _promote(x, True)
    d, last = _dim_and_n(x, n, dim, lambda m: 2 * (m - 1))
    return _c2r_last(name, x, (d,), [last // 2 + 1], last, norm, forward, out, name[4:])


def _c2r_last(name, x, dims, s, last, norm, forward, out, fname):
    x = _resize(x, dims, s)
    norm = _check_norm(norm)
    if forward:
        x, norm = x.conj(), _DUAL[norm]
    y = _apply(_c2r, (x,), (dims, norm, last))
    _out_kind(out, False, fname)
    return _finish(y, out, name)


def _c2c_n(name, x, s, dim, norm, forward, out):
    _tensor_arg(name, x)
    s, dims = _shape_and_dims(x, s, dim)
    x = _promote(x, True)
    norm = _check_norm(norm)
    y = _apply(_c2c, (_resize(x, dims, s),), (dims, forward, norm))
    _out_kind(out, True, "fftn")
    return _finish(y, out, name)


def _r2c_n(name, x, s, dim, norm, forward, out):
    """torch's fft_rfftn_impl (forward) and fft_ihfftn_impl."""
    _tensor_arg(name, x)
    if forward:
        _real_input(x, "rfftn expects a real-valued input tensor, but got {}")
    s, dims = _shape_and_dims(x, s, dim)
    _at_least_one(dims, "rfftn" if forward else "ihfftn")
    x = _promote(x)
    norm = _check_norm(norm)
    if not forward:
        _real_input(x, "Only supports floating-point dtypes, but found: {}")
    y = _apply(_r2c, (_resize(x, dims, s),), (dims, norm if forward else _DUAL[norm], True))
    if not forward and len(dims) == 1:      # (torch: conj_physical_out, the dtype exact)
        return _finish(y.conj(), out, name, "Found dtype {result} but expected {out}")
    _out_kind(out, True, "rfftn" if forward else "ihfftn")
    # (torch's ihfftn ends in a c2c transform of the conjugate: a tensor without a conj bit)
    return _finish(y if forward else y.conj().resolve_conj(), out, name)


def _c2r_n(name, x, s, dim, norm, forward, out):
    """torch's fft_irfftn_impl and fft_hfftn_impl (forward): the last dim's output size is
    2 * (size - 1) where s does not give it (None, or -1 last)."""
    _tensor_arg(name, x)
    given = s
    s, dims = _shape_and_dims(x, s, dim)
    _at_least_one(dims, "hfftn" if forward else "irfftn")
    last = _points(2 * (x.shape[dims[-1]] - 1) if given is None or given[-1] == -1 else s[-1])
    x = _promote(x, True)
    return _c2r_last(name, x, dims, s[:-1] + [last // 2 + 1], last, norm, forward, out,
                     "hfftn" if forward else "irfftn")


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    return _fft1("fft_fft", input, n, dim, norm, True, out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    return _fft1("fft_ifft", input, n, dim, norm, False, out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c_n("fft_fft2", input, s, dim, norm, True, out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c_n("fft_ifft2", input, s, dim, norm, False, out)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c_n("fft_fftn", input, s, dim, norm, True, out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c_n("fft_ifftn", input, s, dim, norm, False, out)


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    _tensor_arg("fft_rfft", input)
    _int_args("fft_rfft", n, dim)
    _real_input(input, "rfft expects a real input tensor, but got {}")
    return _r2c_1("fft_rfft", input, n, dim, norm, True, True, out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c_n("fft_rfft2", input, s, dim, norm, True, out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c_n("fft_rfftn", input, s, dim, norm, True, out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2r_1("fft_irfft", input, n, dim, norm, False, out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r_n("fft_irfft2", input, s, dim, norm, False, out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r_n("fft_irfftn", input, s, dim, norm, False, out)


# hfft = irfft of the conjugate, ihfft = conjugate of rfft, each with the norm swapped
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2r_1("fft_hfft", input, n, dim, norm, True, out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r_n("fft_hfft2", input, s, dim, norm, True, out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r_n("fft_hfftn", input, s, dim, norm, True, out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    _tensor_arg("fft_ihfft", input)
    _int_args("fft_ihfft", n, dim)
    _real_input(input, "ihfft expects a real input tensor, but got {}")
    return _r2c_1("fft_ihfft", input, n, dim, norm, False, True, out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c_n("fft_ihfft2", input, s, dim, norm, False, out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c_n("fft_ihfftn", input, s, dim, norm, False, out)


# ---- frequencies and shifts -------------------------------------------------------------------
def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies [0, 1, ..., n/2-1, -n/2, ..., -1] / (d * n) (torch's order)."""
    return _freqs("fftfreq", n, d, out, dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _freqs("rfftfreq", n, d, out, dtype, device, requires_grad)


def _freqs(name, n, d, out, dtype, device, requires_grad):
    """torch's fft_fftfreq/fft_rfftfreq: an arange (of n, or of n / 2 + 1 in C's integer
    division) in the output's dtype times 1 / (n * d) rounded to that dtype: a product in its
    compute precision (float32 for the 2-byte floats), not a quotient."""
    n = _int_arg(n, f"fft_{name}", "n", 1)
    try:
        d = float(d)
    except TypeError:
        raise TypeError(f"fft_{name}(): argument 'd' (position 2) must be float, not "
                        f"{type(d).__name__}") from None
    if out is not None and dtype is not None and out.dtype is not dtype:
        raise RuntimeError(f"dtype {_tname(dtype.np)} does not match dtype of out parameter "
                           f"({_tname(out.arr.dtype)})")
    dtype = out.dtype if out is not None else dtype or _dt.get_default_dtype()
    m = n if name == "fftfreq" else (n // 2 if n >= 0 else -(-n // 2)) + 1
    if m < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {m}: [{m}]")
    if not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    if dtype.is_complex:
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{_tname(dtype.np)}\'')
    k = np.arange(m)
    if name == "fftfreq":
        k[(n + 1) // 2:] -= n
    ct = np.float64 if dtype.np == np.float64 else np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        values = k.astype(ct) * ct(dtype.np.type(np.float64(1.0) / (n * d)))
    t = _creation.tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)
    return _finish(t, out, f"fft_{name}")


def _shift_dims(input, dim, name):
    nd = _tensor_ndim(name, input)
    if dim is None:
        return tuple(range(nd))
    return tuple(_fft_dims([dim] if isinstance(dim, int) else list(dim), nd))


def fftshift(input, dim=None):
    dims = _shift_dims(input, dim, "fft_fftshift")
    return _S.roll(input, [input.shape[d] // 2 for d in dims], dims)


def ifftshift(input, dim=None):
    dims = _shift_dims(input, dim, "fft_ifftshift")
    return _S.roll(input, [(input.shape[d] + 1) // 2 for d in dims], dims)


def _autocast_fp32():
    """torch's CPU autocast runs the transforms in float32 (amp.autocast.FUNCTIONS)."""
    from .amp.autocast import fp32_function
    g = globals()
    for name in __all__:
        if not name.endswith(("freq", "shift")):
            g[name] = fp32_function(name, g[name])


_autocast_fp32()
