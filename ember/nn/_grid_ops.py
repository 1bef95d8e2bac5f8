"""F.grid_sample (4-d: bilinear/nearest/bicubic; 5-d: trilinear/nearest; zeros/border/reflection
padding) and F.affine_grid.

Every spatial axis contributes a few taps (index, weight, d weight / d grid coordinate): one for
nearest, two for linear, four for cubic. The sampler gathers all tap combinations at once with
fancy indexing (zero where a tap falls outside); backward scatters the input gradient with one
bincount and forms the grid gradient from the same gathered values, following torch's CPU kernels.

On the CPU the 2-d sampler rounds as torch's vectorised kernel does (its build contracts a * b + c
into fmas): the unnormalised coordinate, the bilinear and bicubic sums, and for bilinear and
nearest the backward's input gradient (added in the dtype, in the kernel's vector order) and
bilinear's grid gradient. The bicubic backward and the 3-d sampler keep their own order (within
a few ulp of torch's)."""
import functools
import math
import operator

import numpy as np

from ._warn import warn_caller
from .._cpu import BASE_VEC_BYTES
from ..ops._apply import _tname, apply, raise_not_tensor
from ..ops._fma import fma_exact
from ..ops._registry import op

__all__ = ["grid_sample", "affine_grid"]

_A = -0.75      # torch's cubic convolution constant


def _unnormalize(xp, coord, size, align_corners, nd):
    """[-1, 1] -> pixel coordinates; also d(pixel)/d(coord). (The 2-d kernel's
    (coord + 1) * size / 2 - 0.5 is contracted: one fma.)"""
    if align_corners:
        f = (size - 1) / 2
        return (coord + 1) * f, f
    f = size / 2
    if nd == 2 and xp is np and coord.dtype.kind == "f":
        k = coord.dtype.type
        return fma_exact(xp, coord + k(1), k(f), k(-0.5), coord.dtype), f
    return (coord + 1) * f - 0.5, f


def _clip(xp, c, size, nan_to):
    """torch's clip_coordinates_set_grad: clamp into [0, size-1]; grad 0 at and past the ends;
    a nan coordinate to `nan_to` (the 2-d kernel's vectorised clamps give 0, the 3-d one's
    std::min(size - 1, std::max(c, 0)) size - 1)."""
    grad = ((c > 0) & (c < size - 1)).astype(c.dtype)
    return xp.clip(xp.where(xp.isnan(c), c.dtype.type(nan_to), c), 0, size - 1), grad


def _reflect(xp, c, twice_low, twice_high):
    """torch's reflect_coordinates_set_grad."""
    if twice_low == twice_high:
        return xp.zeros_like(c), xp.zeros_like(c)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = c - low
    sign = xp.where(c < 0, -1, 1).astype(c.dtype)
    c = xp.abs(c)
    extra = xp.fmod(c, span)
    even = (xp.floor(c / span) % 2) == 0
    out = xp.where(even, extra + low, span - extra + low)
    return out.astype(c.dtype), xp.where(even, sign, -sign)


def _pad(xp, c, size, padding_mode, align_corners, nan_to):
    """torch's compute_coordinates_set_grad: pixel coordinate -> padded one; also its slope."""
    if padding_mode == "border":
        return _clip(xp, c, size, nan_to)
    if padding_mode == "reflection":
        if align_corners:
            c, g1 = _reflect(xp, c, 0, 2 * (size - 1))
        else:
            c, g1 = _reflect(xp, c, -1, 2 * size - 1)
        c, g2 = _clip(xp, c, size, nan_to)
        return c, g1 * g2
    return c, xp.ones_like(c)


def _cubic(t):
    """torch's cubic convolution: weights of the taps at offsets -1, 0, 1, 2 and their d/dt."""
    def near(s):
        return ((_A + 2) * s - (_A + 3)) * s * s + 1

    def far(s):
        return ((_A * s - 5 * _A) * s + 8 * _A) * s - 4 * _A

    def dnear(s):
        return (3 * (_A + 2) * s - 2 * (_A + 3)) * s

    def dfar(s):
        return (3 * _A * s - 10 * _A) * s + 8 * _A
    return ([far(t + 1), near(t), near(1 - t), far(2 - t)],
            [dfar(t + 1), dnear(t), -dnear(1 - t), -dfar(2 - t)])


def _cubic_fused(xp, t):
    """The 2-d kernel's tap weights (its get_cubic_coefficients) as its build computes them:
    near(s) = fma(fma(A + 2, s, -(A + 3)) * s, s, 1); far(s) with no fma, as _cubic's (each
    candidate was checked against torch's outputs: these match all 64000 of them)."""
    dt = t.dtype
    k = dt.type

    def f(a, b, c):
        return fma_exact(xp, a, b, c, dt)

    def near(s):
        return f(f(k(_A + 2), s, k(-(_A + 3))) * s, s, k(1))

    def far(s):
        return ((k(_A) * s - k(5 * _A)) * s + k(8 * _A)) * s - k(4 * _A)
    return [far(t + k(1)), near(t), near(k(1) - t), far(k(2) - t)]


def _taps(xp, coord, size, mode, padding_mode, align_corners, nd):
    """One axis: tap indices, weights and d weight / d coord, each stacked to (K, N, *out)."""
    c, mult = _unnormalize(xp, coord, size, align_corners, nd)
    nan_to = 0 if nd == 2 else size - 1
    if mode == "bicubic":       # torch pads every tap, not the source coordinate
        c0 = xp.floor(c)
        w, dw = _cubic(c - c0)
        if nd == 2 and xp is np:
            w = _cubic_fused(xp, c - c0)
        idx = [_pad(xp, c0 + k, size, padding_mode, align_corners, nan_to)[0]
               for k in (-1, 0, 1, 2)]
        return xp.stack(idx).astype(np.int64), xp.stack(w), xp.stack(dw) * mult
    c, g = _pad(xp, c, size, padding_mode, align_corners, nan_to)
    if mode == "nearest":
        return xp.rint(c)[None].astype(np.int64), xp.ones_like(c)[None], None
    c0 = xp.floor(c)
    w, dw = c - c0, g * mult
    return xp.stack([c0, c0 + 1]).astype(np.int64), xp.stack([1 - w, w]), xp.stack([-dw, dw])


def _combine(arrays, fn):
    """Per-axis tap arrays (K_d, N, *out) -> fn over every tap combination, (prod K_d, N, *out)."""
    nd = len(arrays)
    spread = (a.reshape((1,) * d + a.shape[:1] + (1,) * (nd - 1 - d) + a.shape[1:])
              for d, a in enumerate(arrays))
    return functools.reduce(fn, spread).reshape(
        (math.prod(a.shape[0] for a in arrays),) + arrays[0].shape[1:])


def _grid_sample_fwd(xp, x, grid, mode, padding_mode, align_corners):
    if x.dtype.itemsize == 2 and x.dtype.kind in "fV":    # float16/bfloat16: in float32
        y, saved = _grid_sample_fwd(xp, x.astype(np.float32), grid.astype(np.float32), mode,
                                    padding_mode, align_corners)
        return y.astype(x.dtype), saved
    (n, c), sizes = x.shape[:2], x.shape[2:]
    nd = len(sizes)
    axes = [_taps(xp, grid[..., nd - 1 - d], s, mode, padding_mode, align_corners, nd)
            for d, s in enumerate(sizes)]                  # grid's last axis holds (x, y[, z])
    idx = [i for i, _, _ in axes]
    valid = _combine([(i >= 0) & (i < s) for i, s in zip(idx, sizes)], operator.and_)
    flat = _combine([i * math.prod(sizes[d + 1:]) for d, i in enumerate(idx)], operator.add)
    flat = xp.where(valid, flat, 0)
    raw = _combine([w for _, w, _ in axes], operator.mul)
    wt = xp.where(valid, raw, 0)
    ones = (1,) * nd
    vals = x.reshape(n, c, math.prod(sizes))[xp.arange(n).reshape((n, 1) + ones),
                                             xp.arange(c).reshape((c,) + ones), flat[:, :, None]]
    vals = xp.where(valid[:, :, None], vals, 0)            # (taps, N, C, *out)
    # torch's 2-d kernel multiplies an outside tap's zero by its weight (a nan or inf grid
    # gives nan); its 3-d one skips the tap
    if nd == 2 and xp is np and mode == "bilinear":
        y = _fma_chain(xp, vals, raw[:, :, None], x.dtype)
    elif nd == 2 and xp is np and mode == "bicubic":
        # torch's: each of the 4 rows along x as fma(c0, v0, c1 * v1) + c2 * v2 + c3 * v3,
        # then the rows along y as one fma chain
        wx, wy = axes[1][1][:, :, None], axes[0][1][:, :, None]
        rows = []
        for r in range(4):
            v = vals[4 * r:4 * r + 4]
            first = fma_exact(xp, v[0], wx[0], v[1] * wx[1], x.dtype)
            rows.append(first + v[2] * wx[2] + v[3] * wx[3])
        y = _fma_chain(xp, rows, wy, x.dtype)
    else:
        y = (vals * (raw if nd == 2 else wt)[:, :, None]).sum(0)
    return y, (x.shape, grid.shape, mode, flat, wt, vals, [(w, dw) for _, w, dw in axes],
               nd == 2 and _row_blocks(grid))


def _contiguous(sizes, strides):
    """ATen's geometry_is_contiguous (strides in elements; size-1 dims pass)."""
    want = 1
    for n, st in zip(sizes[::-1], strides[::-1]):
        if n != 1:
            if st != want:
                return False
            want *= n
    return True


def _row_blocks(grid):
    """Whether torch's 2-d kernel walks this grid a row at a time (its cases 2b and 3), not
    in vectors over the flattened output (cases 1 and 2a): which outputs share a vector, the
    order its backward adds the input gradient in."""
    _, h, w, _ = grid.shape
    sh, sw, sc = (st // grid.itemsize for st in grid.strides[1:])
    if _contiguous((h, w, 2), (sh, sw, sc)):
        return False
    return not ((sw == 1 or w == 1) and _contiguous((h, w), (sh, sw)))


def _fma_chain(xp, vals, wts, dtype):
    """torch's 2-d CPU kernel's sum of the taps' products: compiled with contraction, each
    product after the first is fused into the running sum (nw * v + ne * v + ... as
    fma(se, v, fma(sw, v, fma(ne, v, nw * v)))."""
    y = vals[0] * wts[0]
    for v, w in zip(vals[1:], wts[1:]):
        y = fma_exact(xp, v, w, y, dtype)
    return y


def _ordered_gin(xp, g, xshape, flat, wt, rows):
    """The 2-d kernel's input gradient: each tap's rounded weight * grad_out added in the
    input's dtype, in its order: vector by vector over the output (BASE_VEC_BYTES wide), within
    one the first tap's lanes, then the next tap's."""
    dt = g.dtype
    n, c = xshape[:2]
    ho, wo = g.shape[2:]
    k = wt.shape[0]
    step = BASE_VEC_BYTES // dt.itemsize
    h_i, w_i = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    p = h_i * wo + w_i
    block = h_i * (-(-wo // step)) + w_i // step if rows else p // step
    key = (block[None] * k + np.arange(k).reshape(k, 1, 1)) * (ho * wo) + p[None]
    order = np.argsort(key.ravel(), kind="stable")
    m, pp = k * ho * wo, ho * wo
    # (tap, position) pairs in the kernel's order, per sample; then per channel
    w_o = xp.moveaxis(wt.reshape(k, n, pp), 0, 1).reshape(n, m)[:, order]
    f_o = xp.moveaxis(flat.reshape(k, n, pp), 0, 1).reshape(n, m)[:, order]
    base = (xp.arange(n * c) * math.prod(xshape[2:])).reshape(n, c, 1)
    idx = base + f_o[:, None]
    contrib = w_o[:, None] * g.reshape(n, c, pp)[:, :, order % pp]
    gin = xp.zeros(math.prod(xshape), dt)
    xp.add.at(gin, idx.reshape(-1), contrib.reshape(-1))
    return gin.reshape(xshape)


def _bilinear_2d_ggrid(xp, g, vals, axes):
    """The 2-d kernel's bilinear grid gradient: ((ne - nw) * s + (se - sw) * n) * grad_out
    summed over the channels with fmas (as its build contracts them), then scaled by the
    coordinate's slope; along y likewise."""
    dt = g.dtype

    def f(a, b, c):
        return fma_exact(xp, a, b, c, dt)
    (s, n), (e, w) = axes[0][0][:, :, None], axes[1][0][:, :, None]
    nw, ne, sw, se = vals
    ax = f(se - sw, n, (ne - nw) * s)
    ay = f(se - ne, w, (sw - nw) * e)
    gx = gy = xp.zeros((g.shape[0],) + g.shape[2:], dt)
    for ch in range(g.shape[1]):
        gx = f(ax[:, ch], g[:, ch], gx)
        gy = f(ay[:, ch], g[:, ch], gy)
    return xp.stack([gx * axes[1][1][1], gy * axes[0][1][1]], -1)


def _grid_sample_bwd(xp, g, xshape, gshape, mode, flat, wt, vals, axes, rows, needs):
    gin = ggrid = None
    exact = mode != "bicubic" and len(xshape) == 4 and g.dtype.kind == "f" and \
        g.dtype.itemsize >= 4 and xp is np
    if exact and needs[0]:
        gin = _ordered_gin(xp, g, xshape, flat, wt, rows)
    if exact and needs[1] and mode == "bilinear":
        return gin, _bilinear_2d_ggrid(xp, g, vals, axes)
    if needs[0] and gin is None:
        n, c = xshape[:2]
        base = (xp.arange(n * c) * math.prod(xshape[2:])).reshape((n, c) + (1,) * (g.ndim - 2))
        gin = xp.bincount((base + flat[:, :, None]).ravel(),
                          weights=(g * wt[:, :, None]).ravel().astype(np.float64),
                          minlength=math.prod(xshape)).astype(g.dtype).reshape(xshape)
    if needs[1]:
        if mode == "nearest":
            ggrid = xp.zeros(gshape, g.dtype)
        else:
            gv = (g * vals).sum(2)
            grads = [(gv * _combine([dw if e == d else w for e, (w, dw) in enumerate(axes)],
                                    operator.mul)).sum(0) for d in range(len(axes))]
            ggrid = xp.stack(grads[::-1], -1)
    return gin, ggrid


_grid_sample_2d = op("grid_sampler_2d", node="GridSampler2DBackward0",
                     needs_mask=True)(_grid_sample_fwd).vjp(_grid_sample_bwd)
_grid_sample_3d = op("grid_sampler_3d", node="GridSampler3DBackward0",
                     needs_mask=True)(_grid_sample_fwd).vjp(_grid_sample_bwd)


def _align_warning(align_corners, name):
    if align_corners is None:
        warn_caller("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for "
                      "details.")
        return False
    return bool(align_corners)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """torch.nn.functional.grid_sample for 4-D and 5-D inputs."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _align_warning(align_corners, "grid_sample")
    try:
        sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    except AttributeError:          # (torch's grid_sampler entry point)
        raise_not_tensor("grid_sampler", ("input", 1, input), ("grid", 2, grid))
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but "
                           f"got {sizes}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for d in range(2, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    rank = 4 if input.ndim == 4 else 5
    if input.ndim != rank or grid.ndim != rank:
        raise RuntimeError(f"grid_sampler(): expected {rank}D input and grid with same number of "
                           f"dimensions, but got {sizes}")
    if rank == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if rank == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(input.arr.dtype)}\'')
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {_tname(input.arr.dtype)} but found "
                           f"{_tname(grid.arr.dtype)}")
    return apply(_grid_sample_2d if rank == 4 else _grid_sample_3d, (input, grid),
                 (mode, padding_mode, align_corners))


def _linspace(n, align_corners, dtype):
    """torch's linspace_from_neg_one in the grid's dtype."""
    if n <= 1:
        return np.zeros(max(n, 1), dtype)[:n] if n == 0 else np.zeros(1, dtype)
    from .. import _dtype
    from ..ops.creation import _linspace_values     # (torch.linspace's: fused multiply-adds)
    r = np.asarray(_linspace_values(np, -1.0, 1.0, n, _dtype.to_dtype(dtype)))
    if not align_corners:
        r = (r * dtype(n - 1) / dtype(n)).astype(dtype)
    return r


def affine_grid(theta, size, align_corners=None):
    """torch.nn.functional.affine_grid: a sampling grid (N, H, W, 2) or (N, D, H, W, 3)."""
    align_corners = _align_warning(align_corners, "affine_grid")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, tuple(int(s) for s in size)    # (torch's messages print it as given)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{given}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{given}. Got {theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {given}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    if theta.shape[0] != size[0]:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {theta.shape[2]}] but got: [{theta.shape[0]}, "
                           f"{theta.shape[2]}].")
    if align_corners and min(size[2:]) == 1:
        warn_caller("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.")
    return apply(_affine_grid_generator, (theta,), (size, bool(align_corners)))


@op("affine_grid_generator", saves=None, node="AffineGridGeneratorBackward0")
def _affine_grid_generator(xp, theta, size, align_corners):
    """torch's affine_grid_generator: the base grid's homogeneous points (1, P, k + 1) through
    each theta (N, k, k + 1), bmm'd as torch does."""
    dt = np.dtype(theta.dtype).type
    axes = [_linspace(n, align_corners, dt) for n in size[2:]]
    mesh = np.meshgrid(*axes, indexing="ij")[::-1]          # x varies fastest, as in torch
    base = np.stack(list(mesh) + [np.ones_like(mesh[0])], -1).reshape(1, -1, len(size) - 1)
    base = xp.asarray(base)
    if theta.dtype.kind == "V":     # bfloat16: products summed in float32, rounded once
        grid = xp.matmul(base.astype(np.float32), theta.swapaxes(1, 2).astype(np.float32))
        grid = grid.astype(theta.dtype)
    elif theta.dtype.itemsize == 2:
        grid = xp.matmul(base, theta.swapaxes(1, 2))
    else:
        # torch's products summed left to right, each rounded (no fma: checked against its
        # outputs; NumPy's matmul, BLAS's, rounded an element in ten apart)
        t = theta[:, None]                               # (N, 1, k, k + 1)
        grid = base[..., None, 0] * t[..., 0]
        for i in range(1, base.shape[-1]):
            grid = grid + base[..., None, i] * t[..., i]
    return grid.reshape(size[:1] + size[2:] + (len(size) - 2,)), (base, theta.shape)


@_affine_grid_generator.vjp
def _(xp, g, base, theta_shape):
    n, k = theta_shape[:2]       # as torch: (base^T g)^T
    return (xp.matmul(base.swapaxes(1, 2), g.reshape(n, -1, k)).swapaxes(1, 2),)
