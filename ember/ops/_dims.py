"""Dim normalisation shared by every op that takes `dim`."""


def int_arg(value, fn, arg, pos=None):
    """An int argument as torch checks it: floats (and other non-integers) raise its TypeError."""
    try:
        return value.__index__()
    except (AttributeError, TypeError):
        where = "" if pos is None else f" (position {pos})"
        raise TypeError(f"{fn}(): argument '{arg}'{where} must be int, not "
                        f"{type(value).__name__}") from None


def wrap_dim(dim, ndim):
    n = ndim if ndim > 0 else 1
    try:
        d = dim.__index__()
    except AttributeError:
        raise TypeError(f"dim must be an int, not {type(dim).__name__}") from None
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d + n if d < 0 else d


def reduce_dims(dim, ndim):
    """None -> None (all dims); int or sequence -> sorted tuple of non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        out = tuple(sorted(wrap_dim(d, ndim) for d in dim))
        if len(set(out)) != len(out):
            raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
        return out if ndim else None
    return (wrap_dim(dim, ndim),) if ndim else None
