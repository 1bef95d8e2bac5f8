"""torch's argument parser for sort and argsort, whose two overloads differ in where `stable`
may go: (input, *, stable, dim=-1, descending=False) and (input, dim=-1, descending=False).
A `stable` keyword makes dim and descending keyword-only (sort(x, 0, stable=True) is torch's
TypeError), dim is an int and not a bool, descending a bool and nothing else; topk's, kthvalue's
and mode's scalar arguments are checked as its single overloads check them."""
from ._apply import type_name

UNSET = object()

_OVERLOADS = {
    "sort": (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, "
             "tuple of Tensors out = None)\n"
             " * (Tensor input, int dim = -1, bool descending = False, *, "
             "tuple of Tensors out = None)\n"),
    "argsort": (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, "
                "Tensor out = None)\n"
                " * (Tensor input, int dim = -1, bool descending = False)\n")}


def _is_int(v):
    return not isinstance(v, bool) and hasattr(v, "__index__")


def sort_args(name, args, dim, descending, stable, out):
    """(dim, descending, stable) of a sort/argsort call: `args`, what came positionally after
    the input; the keywords UNSET where not given (argsort's out too). Raises torch's
    TypeError where no overload takes the call."""
    kw = {"dim": dim, "descending": descending, "stable": stable}
    ok = len(args) <= 2 and not (args and dim is not UNSET)
    if args:
        dim = args[0]
        if len(args) > 1:
            ok = ok and descending is UNSET
            descending = args[1]
    if stable is not UNSET:     # the keyword-only overload: nothing positional
        ok = ok and not args and (stable is None and name == "sort" or type(stable) is bool)
    elif name == "argsort" and out is not UNSET:    # (out=None too)
        ok = False
    dim = -1 if dim is UNSET else dim
    descending = False if descending is UNSET else descending
    if not (ok and _is_int(dim) and type(descending) is bool):
        got = ["Tensor"] + [type_name(a) for a in args] + \
            [f"{k}={type_name(v)}" for k, v in sorted(kw.items()) if v is not UNSET]
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({', '.join(got)}), but expected one of:\n{_OVERLOADS[name]}")
    return dim, descending, bool(stable) if stable is not UNSET else False


def bool_arg(value, name, arg, pos):
    if type(value) is not bool:
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be bool, not "
                        f"{type_name(value)}")
    return value
