"""ember.fft: discrete Fourier transforms (torch.fft) on NumPy's pocketfft or CuPy's cuFFT.

As in ATen, three differentiable primitives do the work: complex-to-complex (`_c2c`),
real-to-complex onesided (`_r2c`) and complex-to-real (`_c2r`), each over several dims with a
`norm` ("backward", "ortho" or "forward" in the transform's own direction). The adjoint of a
transform is the opposite-direction one with the dual norm (backward <-> forward), so each
backward rule is one transform: torch's fft_c2c/r2c/c2r_backward formulas. Sizes given by
`n`/`s` zero-pad or trim the input first (`_resize`, also differentiable); hfft/ihfft are
irfft/rfft of the conjugate with the norm swapped, as in NumPy and torch."""
import numpy as np

from . import _dtype as _dt
from ._tensor import Tensor
from .ops import creation as _creation, shape as _S
from .ops._apply import _finish, _tname, apply as _apply, tensor_arg as _tensor_arg, \
    tensor_ndim as _tensor_ndim
from .ops._dims import wrap_dim as _wrap_dim
from .ops._registry import op as _op

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---- the primitives ---------------------------------------------------------------------------
@_op("fft_c2c", saves=None, node="FftC2CBackward0")
def _c2c(xp, x, dims, forward, norm):
    f = xp.fft.fftn if forward else xp.fft.ifftn
    return f(x, axes=dims, norm=norm).astype(x.dtype, copy=False), (dims, forward, norm)


@_c2c.vjp
def _(xp, g, dims, forward, norm):
    f = xp.fft.ifftn if forward else xp.fft.fftn
    return (f(g, axes=dims, norm=_DUAL[norm]).astype(g.dtype, copy=False),)


@_op("fft_r2c", saves=None, node="FftR2CBackward0")
def _r2c(xp, x, dims, norm, onesided=True):
    f = xp.fft.rfftn if onesided else xp.fft.fftn       # torch's fft/ifft of a real input
    y = f(x, axes=dims, norm=norm).astype(_complex_of(x.dtype), copy=False)
    return y, (dims, norm, x.shape[dims[-1]])


@_r2c.vjp
def _(xp, g, dims, norm, last_size):
    # torch's fft_r2c_backward: zero-fill the missing half, inverse c2c, real part
    pad = [(0, 0)] * g.ndim
    pad[dims[-1]] = (0, last_size - g.shape[dims[-1]])
    full = xp.fft.ifftn(xp.pad(g, pad), axes=dims, norm=_DUAL[norm])
    return (full.real.astype(g.real.dtype, copy=False),)


@_op("fft_c2r", saves=None, node="FftC2RBackward0")
def _c2r(xp, x, dims, norm, last_size):
    s = [x.shape[d] for d in dims[:-1]] + [last_size]
    y = xp.fft.irfftn(x, s=s, axes=dims, norm=norm).astype(x.real.dtype, copy=False)
    return y, (dims, norm)


@_c2r.vjp
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
    """x trimmed or zero-padded (at the end) to `sizes` along `dims`."""
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
    return xp.pad(x, pad) if any(p for _, p in pad) else xp.ascontiguousarray(x)


def _complex_of(np_dtype):
    """The complex NumPy dtype a real one transforms to (float32 -> complex64)."""
    return _dt.OF_NP[np.dtype(np_dtype).num].to_complex().np


# ---- argument handling (torch's canonicalize_fft_shape_and_dim_args) --------------------------
def _check_norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _shape_and_dims(x, s, dim):
    ndim = x.ndim
    if dim is not None:
        dims = [_wrap_dim(d, ndim) for d in ([dim] if isinstance(dim, int) else dim)]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = list(s)
        if dim is None:
            if len(s) > ndim:
                raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                                   f"{ndim} dimensions.")
            dims = list(range(ndim - len(s), ndim))
        elif len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        s = [x.shape[d] if n == -1 else n for d, n in zip(dims, s)]
        for n in s:
            if n <= 0:
                raise RuntimeError(f"Invalid number of data points ({n}) specified")
    else:
        if dim is None:
            dims = list(range(ndim))
        s = [x.shape[d] for d in dims]
    return s, tuple(dims)


_REAL_ONLY = {"fft_rfft": "rfft expects a real input tensor, but got {}",
              "fft_ihfft": "ihfft expects a real input tensor, but got {}",
              "fft_rfft2": "rfftn expects a real-valued input tensor, but got {}",
              "fft_rfftn": "rfftn expects a real-valued input tensor, but got {}",
              "fft_ihfft2": "Only supports floating-point dtypes, but found: {}",
              "fft_ihfftn": "Only supports floating-point dtypes, but found: {}"}


def _float_input(x, name):
    """torch's promote_tensor_fft: integers to the default float dtype; half refused (torch
    takes it on CUDA only), complex refused by the real-input transforms."""
    _tensor_arg(name, x)
    dt = x.arr.dtype
    if dt.kind in "biu":
        return x.to(_dt.get_default_dtype())
    if dt.kind == "c" and name in _REAL_ONLY:
        raise RuntimeError(_REAL_ONLY[name].format(_tname(dt)))
    if dt.name in ("float16", "bfloat16"):
        raise RuntimeError(f"Unsupported dtype {_tname(dt)}")
    return x


def _as_complex(x):
    return x if x.arr.dtype.kind == "c" else x.to(x.dtype.to_complex())


def _resize(x, dims, sizes):
    if all(x.shape[d] == n for d, n in zip(dims, sizes)):
        return x
    return _apply(_resize_op, (x,), (dims, tuple(sizes)))


# ---- the public transforms -------------------------------------------------------------------
def _c2c_n(name, x, s, dim, norm, forward, out):
    x = _as_complex(_float_input(x, name))
    s, dims = _shape_and_dims(x, s, dim)
    x = _resize(x, dims, s)
    return _finish(_apply(_c2c, (x,), (dims, forward, _check_norm(norm))), out, name)


def _r2c_n(name, x, s, dim, norm, out, conj=False, onesided=True):
    x = _float_input(x, name)
    s, dims = _shape_and_dims(x, s, dim)
    x = _resize(x, dims, s)
    y = _apply(_r2c, (x,), (dims, _check_norm(norm), onesided))
    return _finish(y.conj() if conj else y, out, name)


def _fft1(name, x, n, dim, norm, forward, out):
    """torch's fft_fft/fft_ifft: a real input takes the two-sided r2c transform (conjugated,
    with the dual norm, for the inverse) rather than a complex copy, so its grad_fn is
    FftR2CBackward0 (ConjBackward0 for ifft)."""
    if isinstance(x, Tensor) and x.arr.dtype.kind in "fbiu" and \
            x.arr.dtype.name not in ("float16", "bfloat16"):
        if forward:
            return _r2c_n(name, x, _one(n), dim, norm, out, onesided=False)
        return _r2c_n(name, x, _one(n), dim, _DUAL[_check_norm(norm)], out, conj=True,
                      onesided=False)
    return _c2c_n(name, x, _one(n), dim, norm, forward, out)


def _c2r_n(name, x, s, dim, norm, out, conj=False):
    x = _as_complex(_float_input(x, name))
    given = s
    s, dims = _shape_and_dims(x, s, dim)
    last = s[-1] if given is not None else 2 * (x.shape[dims[-1]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    s = s[:-1] + [last // 2 + 1]
    x = _resize(x, dims, s)
    if conj:
        x = x.conj()
    return _finish(_apply(_c2r, (x,), (dims, _check_norm(norm), last)), out, name)


def _one(n):
    return None if n is None else [n]


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
    return _r2c_n("fft_rfft", input, _one(n), dim, norm, out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c_n("fft_rfft2", input, s, dim, norm, out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c_n("fft_rfftn", input, s, dim, norm, out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2r_n("fft_irfft", input, _one(n), dim, norm, out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r_n("fft_irfft2", input, s, dim, norm, out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r_n("fft_irfftn", input, s, dim, norm, out)


# hfft = irfft of the conjugate, ihfft = conjugate of rfft, each with the norm swapped
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2r_n("fft_hfft", input, _one(n), dim, _DUAL[_check_norm(norm)], out, conj=True)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r_n("fft_hfft2", input, s, dim, _DUAL[_check_norm(norm)], out, conj=True)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r_n("fft_hfftn", input, s, dim, _DUAL[_check_norm(norm)], out, conj=True)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _r2c_n("fft_ihfft", input, _one(n), dim, _DUAL[_check_norm(norm)], out, conj=True)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c_n("fft_ihfft2", input, s, dim, _DUAL[_check_norm(norm)], out, conj=True)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c_n("fft_ihfftn", input, s, dim, _DUAL[_check_norm(norm)], out, conj=True)


# ---- frequencies and shifts -------------------------------------------------------------------
def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies [0, 1, ..., n/2-1, -n/2, ..., -1] / (d * n) (torch's order)."""
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    return _freqs(k / (d * n), out, dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _freqs(np.arange(0, n // 2 + 1) / (d * n), out, dtype, device, requires_grad)


def _freqs(values, out, dtype, device, requires_grad):
    t = _creation.tensor(values, dtype=dtype or _dt.get_default_dtype(), device=device,
                         requires_grad=requires_grad)
    return _finish(t, out, "fft_fftfreq")


def _shift_dims(input, dim, name):
    nd = _tensor_ndim(name, input)
    if dim is None:
        return tuple(range(nd))
    return tuple([dim] if isinstance(dim, int) else dim)


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
