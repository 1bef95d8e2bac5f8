"""torch's deprecated argument orders (its deprecated.yaml), which old code still uses:
`p.data.add_(-lr, grad)`, `exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)`,
`m.addmm(beta, a, b)`. They compute as the current signatures, after torch's deprecation
warning, which torch gives once per process for the first such call of any op."""
import sys

from .._tensor import Tensor
from .._warnings import warn_once


def _number(v):
    return isinstance(v, (int, float, complex)) or isinstance(v, Tensor) and v.ndim == 0


def _warn(name, old, new):
    f = sys._getframe(3)        # past this module's callers: the op, then who called it
    if f.f_code.co_name == "fn" and f.f_code.co_filename.endswith("_apply.py"):
        name += "_"             # through Tensor.<name>_ (ops/_apply.py's inplace wrapper)
    new = "\n\t".join(f"{name}({n})" for n in new)
    warn_once(f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one of "
              f"the following signatures instead:\n\t{new}", key="deprecated overload")


def invalid(name):
    return TypeError(f"{name}() received an invalid combination of arguments")


def scalar_first(name, scalar, tensors, rest, labels):
    """`name`(Number scalar, Tensor...) for `name`(Tensor..., *, Number scalar): `scalar` and
    `tensors` as the call bound them to the current signature's names, `rest` the positional
    arguments past them; `labels`: the scalar's name, then the tensors'. Returns the tensors
    in their places, then the scalar."""
    args = tensors[1:] + rest
    if not (_number(scalar) and len(args) == len(labels) - 1 and
            all(isinstance(t, Tensor) for t in args)):
        raise invalid(name)
    s, *ts = labels
    _warn(name, ", ".join([f"Number {s}"] + [f"Tensor {t}" for t in ts]),
          [", ".join([f"Tensor {t}" for t in ts] + [f"*, Number {s} = 1"])])
    return (*args, scalar)


_OUT_DTYPE = ("addmm", "baddbmm")       # they also take an out_dtype in torch 2.13


def beta_first(name, args, labels):
    """addmm & co. with beta (and alpha) first: Tensor.addmm(beta, [alpha,] mat1, mat2) and
    torch.addmm(beta, input, [alpha,] mat1, mat2). `args`: every positional argument;
    `labels`: the two operands' names. Returns (input, operand1, operand2, beta, alpha)."""
    a, b = labels
    func = _number(args[0])       # the function form: no tensor comes first
    beta, input = args[:2] if func else args[1::-1]
    args = args[2:]
    alpha = args[0] if len(args) == 3 else None
    if not (len(args) in (2, 3) and _number(beta) and (alpha is None or _number(alpha)) and
            all(isinstance(t, Tensor) for t in (input,) + args[-2:])):
        raise invalid(name)
    old = ["Number beta"] + ["Tensor input"] * func + ["Number alpha"] * (alpha is not None) + \
        [f"Tensor {a}", f"Tensor {b}"] + ["*, Tensor out = None"] * func
    new = ["Tensor input"] * func + [f"Tensor {a}", f"Tensor {b}"]
    tail = ["*, Number beta = 1, Number alpha = 1"] + ["Tensor out = None"] * func
    news = [", ".join(new + tail)]
    if func and name in _OUT_DTYPE:
        news.append(", ".join(new + ["torch.dtype out_dtype"] + tail))
    _warn(name, ", ".join(old), news)
    return input, args[-2], args[-1], beta, 1 if alpha is None else alpha
