"""torch's argument parser for sort and argsort, whose two overloads differ in where `stable`
may go: (input, *, stable, dim=-1, descending=False) and (input, dim=-1, descending=False).
A `stable` keyword makes dim and descending keyword-only (sort(x, 0, stable=True) is torch's
TypeError), dim is an int and not a bool, descending a bool and nothing else; topk's, kthvalue's
and mode's scalar arguments are checked as its single overloads check them.

A call no overload takes raises what torch's parser raises: where the count of arguments fits
one overload alone, that overload's own complaint (a positional too many, a missing or
mistyped argument, an unknown keyword); otherwise torch's "invalid combination" message
(torch/csrc/utils/invalid_arguments.cpp, ported below), which lists keywords in the order of
the C++ std::unordered_map it collects them in."""
from ._apply import type_name

UNSET = object()

_OUT = {"sort": "tuple of Tensors out = None", "argsort": "Tensor out = None"}
_METHOD_OPTIONS = ("(*, bool stable, int dim = -1, bool descending = False)",
                   "(int dim = -1, bool descending = False)")


def _options(name, method):
    if method:
        return _METHOD_OPTIONS
    return (f"(Tensor input, *, bool stable, int dim = -1, bool descending = False, "
            f"{_OUT[name]})",
            "(Tensor input, int dim = -1, bool descending = False, *, tuple of Tensors out = None)"
            if name == "sort" else "(Tensor input, int dim = -1, bool descending = False)")


def _is_int(v):
    return not isinstance(v, bool) and hasattr(v, "__index__")


def sort_args(name, args, kw, method=False):
    """(dim, descending, stable, out) of a sort/argsort call: `args`, what came positionally
    after the input, `kw` its keywords (out None where not given). Raises torch's TypeError
    where no overload takes the call."""
    dim, descending = kw.get("dim", UNSET), kw.get("descending", UNSET)
    stable, out = kw.get("stable", UNSET), kw.get("out", UNSET)
    known = 3 - (dim is UNSET) - (descending is UNSET) - (stable is UNSET) + \
        (out is not UNSET and not method)
    ok = known == len(kw) and len(args) <= 2 and not (args and dim is not UNSET)
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
        _refuse(name, args, kw, method)
    return dim, descending, bool(stable) if stable is not UNSET else False, \
        None if out is UNSET else out


# ---- the refusals --------------------------------------------------------------------------
def _refuse(name, args, kw, method):
    given = args if method else (_TensorMark,) + tuple(args)
    n = len(given) + len(kw)
    # (min_args, max_args) of the keyword-only overload and the other
    spans = ((1, 3), (0, 2)) if method else \
        ((2, 5), (1, 4 if name == "sort" else 3))
    plausible = [i for i, (lo, hi) in enumerate(spans) if lo <= n <= hi]
    if len(plausible) == 1:
        _parse_error(name, given, kw, method, plausible[0])
    raise TypeError(format_invalid_args(name, given, kw, _options(name, method)))


class _TensorMark:
    """The input's place in a function call's arguments (its type name is Tensor)."""


def _tp(v):
    return "Tensor" if v is _TensorMark else type_name(v)


def _parse_error(name, given, kw, method, which):
    """The complaint of the one overload whose argument count fits (torch's
    FunctionSignature::parse)."""
    first = 0 if method else 1
    if which == 0:          # (input, *, stable, dim, descending, out)
        params = [("stable", "bool", False), ("dim", "int", True),
                  ("descending", "bool", True)]
        max_pos, min_args = first, first + 1
    else:                   # (input, dim, descending, *, out)
        params = [("dim", "int", True), ("descending", "bool", True)]
        max_pos, min_args = first + 2, first
    if not method and (which == 0 or name == "sort"):
        params.append(("out", "tuple of Tensors" if name == "sort" else "Tensor", True))
    if len(given) > max_pos:
        raise TypeError(f"{name}() takes from {min_args} to {max_pos} positional arguments but "
                        f"{len(given)} were given")
    positional = given[first:]
    for i, (arg, kind, optional) in enumerate(params):
        if i < len(positional):
            v, pos = positional[i], i + first + 1
        elif arg in kw:
            v, pos = kw[arg], None
        elif optional:
            continue
        else:
            raise TypeError(f'{name}() missing 1 required positional arguments: "{arg}"')
        if v is None and (arg == "out" or arg == "stable" and name == "sort"):
            continue        # (the arguments that take None)
        fits = {"int": _is_int, "bool": lambda x: type(x) is bool}.get(
            kind, lambda x: isinstance(x, (tuple, list)) if kind[0] == "t" else
            type(x).__name__ == "Tensor")(v)
        if not fits:
            where = f" (position {pos})" if pos is not None else ""
            raise TypeError(f"{name}(): argument '{arg}'{where} must be {kind}, not "
                            f"{type_name(v)}")
    names = [p[0] for p in params]
    for k in kw:
        if k not in names:
            raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
        if names.index(k) < len(positional):
            raise TypeError(f"{name}() got multiple values for argument '{k}'")


# ---- torch/csrc/utils/invalid_arguments.cpp ------------------------------------------------
_M64 = (1 << 64) - 1
_MUL = (0xc6a4a793 << 32) + 0x5bd1e995


def _hash_bytes(b, seed=0xc70f6907):
    """libstdc++'s std::hash of a string (_Hash_bytes, 64 bits)."""
    n, aligned = len(b), len(b) & ~7
    h = (seed ^ (n * _MUL)) & _M64
    for i in range(0, aligned, 8):
        v = (int.from_bytes(b[i:i + 8], "little") * _MUL) & _M64
        h = ((h ^ (((v ^ (v >> 47)) * _MUL) & _M64)) * _MUL) & _M64
    if n & 7:
        h = ((h ^ int.from_bytes(b[aligned:], "little")) * _MUL) & _M64
    h = ((h ^ (h >> 47)) * _MUL) & _M64
    return h ^ (h >> 47)


def _unordered_keys(keys):
    """The order a std::unordered_map<std::string, ...> filled with `keys` in this order
    iterates them (13 buckets, up to 13 keys): a key of an empty bucket goes to the list's
    front, one of a filled bucket to the front of that bucket's run."""
    order, buckets = [], []
    for k in keys:
        b = _hash_bytes(k.encode()) % 13
        at = buckets.index(b) if b in buckets else 0
        order.insert(at, k)
        buckets.insert(at, b)
    return order


def _parse_option(option):
    """[(name, type name)] of a printed signature, tokenised as torch tokenises it (a default
    value becomes the name, and the type `int dim =`, which nothing matches)."""
    out = []
    for arg in option[1:-1].split(", "):
        end = arg.rfind(" ")
        out.append((arg[end + 1:], arg if end < 0 else arg[:end]))
    return out


def _matches(type_name_, v):
    accepted = {"float": ("float", "int", "long"), "int": ("int", "long")}.get(
        type_name_, (type_name_,))
    return _tp(v) in accepted


def _formatted(v):
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_tp(x) for x in v)
        return f"tuple of ({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) \
            else f"list of [{inner}]"
    return _tp(v)


def format_invalid_args(name, args, kw, options):
    """torch's "received an invalid combination of arguments" message for several overloads
    (`options`, as printed): the arguments given, each overload, and under one that takes as
    many arguments the keywords it does not know or the arguments of the wrong type (marked
    !...!)."""
    keys = _unordered_keys(list(kw))
    got = "(" + "".join(f"{_tp(a)}, " for a in args) + \
        "".join(f"{k}={_tp(kw[k])}, " for k in keys)
    msg = [f"{name}() received an invalid combination of arguments - got "
           f"{got[:-2] if args else got})" + ", but expected one of:\n"]
    for option in options:
        msg.append(f" * {option}\n")
        parsed = _parse_option(option)
        if len(parsed) != len(args) + len(kw):
            continue
        start = max(len(parsed) - len(kw), 0)
        unmatched = [k for k in keys if k not in [n for n, _ in parsed[start:]]]
        if unmatched:
            msg.append("      didn't match because some of the keywords were incorrect: "
                       f"{', '.join(unmatched)}\n")
        else:
            values = list(args) + [kw.get(n) for n, _ in parsed[len(args):]]
            marked = [d if _matches(t, v) else f"!{d}!"
                      for (_, t), v, d in zip(parsed, values, map(_formatted, values))]
            msg.append("      didn't match because some of the arguments have invalid types: "
                       f"({', '.join(marked)})\n")
    return "".join(msg)


def bool_arg(value, name, arg, pos):
    if type(value) is not bool:
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be bool, not "
                        f"{type_name(value)}")
    return value
