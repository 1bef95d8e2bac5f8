"""norm_except_dim and _weight_norm (w = g * v / ||v||), shared by both weight_norm APIs."""


def norm_except_dim(v, pow=2, dim=0):
    from .._ops import vector_norm_raw
    if dim == -1:
        return vector_norm_raw(v, float(pow), None, False)
    if not -v.ndim <= dim < v.ndim:     # (torch's: v.transpose(0, dim) raises)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-v.ndim}, "
                         f"{v.ndim - 1}], but got {dim})")
    dim = dim + v.ndim if dim < 0 else dim
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return vector_norm_raw(v, float(pow), dims, True)


def weight_norm_fn(v, g, dim=0):
    return v * (g / norm_except_dim(v, 2, dim))


