"""F.grid_sample (2-d; bilinear/nearest; zeros/border/reflection padding) and F.affine_grid.

The sampler gathers the four corners of every output point with fancy indexing (zero weight
where a corner falls outside); backward scatters the input gradient with one bincount and
forms the grid gradient from the same corner values, following torch's CPU kernel."""
import warnings

import numpy as np

from ..ops._apply import apply
from ..ops._registry import op

__all__ = ["grid_sample", "affine_grid"]


def _unnormalize(coord, size, align_corners):
    """[-1, 1] -> pixel coordinates; also d(pixel)/d(coord)."""
    if align_corners:
        f = (size - 1) / 2
        return (coord + 1) * f, f
    f = size / 2
    return (coord + 1) * f - 0.5, f


def _clip(xp, c, size):
    """torch's clip_coordinates_set_grad: clamp into [0, size-1]; grad 0 at and past the ends."""
    grad = ((c > 0) & (c < size - 1)).astype(c.dtype)
    return xp.clip(c, 0, size - 1), grad


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


def _source(xp, coord, size, padding_mode, align_corners):
    c, mult = _unnormalize(coord, size, align_corners)
    mult = xp.full_like(c, mult)
    if padding_mode == "border":
        c, g = _clip(xp, c, size)
        mult = mult * g
    elif padding_mode == "reflection":
        if align_corners:
            c, g1 = _reflect(xp, c, 0, 2 * (size - 1))
        else:
            c, g1 = _reflect(xp, c, -1, 2 * size - 1)
        c, g2 = _clip(xp, c, size)
        mult = mult * g1 * g2
    return c, mult


def _gather(xp, x, iy, ix):
    """x (N, C, H, W) at integer (iy, ix) (N, Ho, Wo), zero outside -> (N, C, Ho, Wo)."""
    n, c, h, w = x.shape
    valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    flat = xp.where(valid, iy * w + ix, 0)
    planes = x.reshape(n, c, h * w)
    rows = xp.arange(n).reshape(n, 1, 1, 1)
    vals = planes[rows, xp.arange(c).reshape(1, c, 1, 1), flat[:, None]]
    return vals * valid[:, None].astype(x.dtype), flat, valid


def _corners(xp, x, gx, gy):
    """Bilinear corners: (value, weight, flat index, valid) for nw, ne, sw, se."""
    x0, y0 = xp.floor(gx), xp.floor(gy)
    wx, wy = gx - x0, gy - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = []
    for dy, dx, wt in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                       (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        v, flat, valid = _gather(xp, x, y0 + dy, x0 + dx)
        out.append((v, wt, flat, valid))
    return out, wx, wy


@op("grid_sampler_2d", node="GridSampler2DBackward0", needs_mask=True)
def _grid_sample(xp, x, grid, mode, padding_mode, align_corners):
    h, w = x.shape[2:]
    gx, mx = _source(xp, grid[..., 0], w, padding_mode, align_corners)
    gy, my = _source(xp, grid[..., 1], h, padding_mode, align_corners)
    if mode == "nearest":
        v, flat, valid = _gather(xp, x, xp.rint(gy).astype(np.int64),
                                 xp.rint(gx).astype(np.int64))
        return v, (x.shape, grid.shape, mode, ((flat, valid, None),), None)
    corners, wx, wy = _corners(xp, x, gx, gy)
    y = None
    for v, wt, _, _ in corners:
        term = v * wt[:, None]
        y = term if y is None else y + term
    keep = tuple((flat, valid, wt) for _, wt, flat, valid in corners)
    vals = tuple(v for v, _, _, _ in corners)
    return y, (x.shape, grid.shape, mode, keep, (vals, wx, wy, mx, my))


@_grid_sample.vjp
def _(xp, g, xshape, gshape, mode, keep, extra, needs):
    gin = ggrid = None
    if needs[0]:
        gin = _scatter(xp, g, xshape, keep)
    if needs[1]:
        if mode == "nearest":
            ggrid = xp.zeros(gshape, g.dtype)
        else:
            (nw, ne, sw, se), wx, wy, mx, my = extra
            gix = (g * ((1 - wy)[:, None] * (ne - nw) + wy[:, None] * (se - sw))).sum(1)
            giy = (g * ((1 - wx)[:, None] * (sw - nw) + wx[:, None] * (se - ne))).sum(1)
            ggrid = xp.stack([gix * mx, giy * my], -1)
    return gin, ggrid


def _scatter(xp, g, xshape, keep):
    n, c, h, w = xshape
    base = (xp.arange(n).reshape(n, 1, 1, 1) * c + xp.arange(c).reshape(1, c, 1, 1)) * (h * w)
    idx, vals = [], []
    for flat, valid, wt in keep:
        idx.append((base + flat[:, None]).ravel())
        v = g * valid[:, None] if wt is None else g * (wt * valid)[:, None]
        vals.append(v.ravel())
    out = xp.bincount(xp.concatenate(idx), weights=xp.concatenate(vals).astype(np.float64),
                      minlength=n * c * h * w)
    return out.astype(g.dtype).reshape(xshape)


def _align_warning(align_corners, name):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=3)
        return False
    return bool(align_corners)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """torch.nn.functional.grid_sample for 4-D inputs."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _align_warning(align_corners, "grid_sample")
    nsp = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != nsp:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nsp} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {_cname(input.dtype)} but found "
                           f"{_cname(grid.dtype)}")
    if nsp != 2 or mode == "bicubic":
        raise NotImplementedError("ember's grid_sample supports 4-D input with mode 'bilinear' "
                                  f"or 'nearest' (got {input.ndim}-D input, mode '{mode}')")
    return apply(_grid_sample, (input, grid), (mode, padding_mode, align_corners))


def _cname(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half"}.get(
        str(dtype).replace("torch.", ""), str(dtype))


def _linspace(n, align_corners, dtype):
    """torch's linspace_from_neg_one in the grid's dtype."""
    if n <= 1:
        return np.zeros(max(n, 1), dtype)[:n] if n == 0 else np.zeros(1, dtype)
    step = dtype(2) / dtype(n - 1)
    i = np.arange(n)
    r = np.where(i < n // 2, dtype(-1) + step * i.astype(dtype),
                 dtype(1) - step * (n - 1 - i).astype(dtype)).astype(dtype)
    if not align_corners:
        r = (r * dtype(n - 1) / dtype(n)).astype(dtype)
    return r


def affine_grid(theta, size, align_corners=None):
    """torch.nn.functional.affine_grid: a sampling grid (N, H, W, 2) or (N, D, H, W, 3)."""
    from ..ops.creation import tensor
    align_corners = _align_warning(align_corners, "affine_grid")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {theta.shape[2]}] but got: [{theta.shape[0]}, "
                           f"{theta.shape[2]}].")
    if align_corners and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    dt = np.dtype(theta.arr.dtype).type
    axes = [_linspace(n, align_corners, dt) for n in size[2:]]
    mesh = np.meshgrid(*axes, indexing="ij")[::-1]          # x varies fastest, as in torch
    base = np.stack(list(mesh) + [np.ones_like(mesh[0])], -1).reshape(1, -1, len(size) - 1)
    base = tensor(base, device=theta.device)
    grid = base.matmul(theta.transpose(1, 2))
    return grid.reshape(size[:1] + size[2:] + (len(size) - 2,))
