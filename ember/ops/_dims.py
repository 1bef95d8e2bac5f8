"""Dim normalisation shared by every op that takes `dim`."""

from .._typenames import tp_name


def int_arg(value, fn, arg, pos=None):
    """An int argument as torch checks it: floats, bools (and other non-integers) raise its
    TypeError."""
    try:
        if value.__class__ is bool:
            raise TypeError
        return value.__index__()
    except (AttributeError, TypeError):
        where = "" if pos is None else f" (position {pos})"
        raise TypeError(f"{fn}(): argument '{arg}'{where} must be int, not "
                        f"{tp_name(value)}") from None


def wrap_dim(dim, ndim):
    n = ndim if ndim > 0 else 1
    if type(dim) is int:
        d = dim
    else:
        if dim.__class__ is bool:   # torch's parser takes no bool for an int (x.sum(True))
            raise TypeError("argument 'dim' must be int, not bool")
        try:
            d = dim.__index__()
        except AttributeError:
            raise TypeError(f"dim must be an int, not {tp_name(dim)}") from None
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d + n if d < 0 else d


def unique_dims(dims, ndim):
    """Each of a list of dims wrapped, with torch's RuntimeError for one given twice (naming the
    first dim seen again, as its dim_list_to_bitset does)."""
    out = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        again = next(d for i, d in enumerate(out) if d in out[:i])
        raise RuntimeError(f"dim {again} appears multiple times in the list of dims")
    return out
