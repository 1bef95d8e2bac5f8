"""A Python list, None or a string where the op table passes a tensor: the same outcome as torch.

For every entry of the op table (its first sample, in float64) and every tensor argument, the
argument is replaced by `[1.0, 2.0]`, `None` and `"x"` in turn; ember and torch must both raise
the same exception class, or both succeed with the same dtype, shape and values (torch takes a
number or a list in some places). Where torch's TypeError is its argument parser's ("mm():
argument 'mat2' (position 2) must be Tensor, not list", "expected Tensor as element 1 in
argument 0, but got list"), ember's message must be the same, the position left out (torch
counts self in a function call, not in a method call, and ember's methods are its functions).
Other messages are compared by class only: Python's own for the operators ("unsupported operand
type(s) for +: ..."), and torch's overload listing ("received an invalid combination of
arguments - got (...), but expected one of: ..."), which ember does not reproduce.

Known differences are listed with their reason; a listed case that starts to agree fails
(strict xfail), so the lists only shrink."""
import contextlib
import functools
import re
import sys
import warnings

import pytest
import torch

import ember
from opspecs import ALL_SPECS, materialize
from test_dtype_sweep import _mismatch

BAD = {"list": [1.0, 2.0], "None": None, "str": "x"}
_PARSER = re.compile(r"\w+\(\): argument '\w+' (\(position \d+\) )?must be Tensor, not \w+$|"
                     r"expected Tensor as element \d+ in argument \d+, but got \w+$")

_PY_LEVEL = "torch's Python-level function calls a Tensor method of the argument first " \
            "(AttributeError); ember raises the argument parser's TypeError"
KNOWN = {("stft.window", 0): _PY_LEVEL, ("tensordot.int", 0): _PY_LEVEL,
         ("tensordot.int", 1): _PY_LEVEL}

# The TypeError's message differs from the argument parser's (the class agrees)
_OPERATOR = "ember's operators are its binary functions (no wrapper on the hot path): a " \
            "non-Tensor `other` is refused as a scalar operand, in one message for both"
_ALIAS = "ember.special's aliases are the top-level functions themselves, whose name the " \
         "message carries (torch's special_* are separate native functions)"
KNOWN_MESSAGE = dict.fromkeys(
    [("add.alpha", 1), ("sub.alpha", 1), ("div.signed", 1), ("add_", 1), ("sub_", 1),
     ("mul_", 1), ("div_", 1), ("inplace.int", 1), ("copy_slices", 1)], _OPERATOR)
KNOWN_MESSAGE.update(dict.fromkeys(
    [("special.expit", 0), ("special.gammaln", 0), ("special.psi", 0),
     ("special.multigammaln", 0), ("special.logit", 0), ("special.softmax", 0),
     ("special.log_softmax", 0), ("special.logsumexp", 0), ("special.exp2", 0),
     ("special.sinc", 0), ("special.i0", 0), ("special.polygamma", 0),
     ("special.gammaincc", 0), ("special.gammaincc", 1)], _ALIAS))
KNOWN_MESSAGE.update({
    ("linalg.matmul", 0): "ember.linalg.matmul is ember.matmul (torch: linalg_matmul)",
    ("linalg.matmul", 1): "ember.linalg.matmul is ember.matmul (torch: linalg_matmul)",
    # torch.add(2.5, [1.0, 2.0]): torch's overload resolution reports `other`, ember the number
    ("add.fn_scalar_self", 0): "ember refuses the number `input` before looking at `other`",
})


@contextlib.contextmanager
def _library(lib):
    """The op table's `_mod(x)` (the library of a tensor argument) answers `lib` throughout:
    the argument it reads may be the one replaced."""
    modules = [m for n, m in list(sys.modules.items())
               if (n == "opspecs" or n.startswith("opspecs_")) and hasattr(m, "_mod")]
    saved = [m._mod for m in modules]
    for m in modules:
        m._mod = lambda x: lib
    try:
        yield
    finally:
        for m, f in zip(modules, saved):
            m._mod = f


def _run(lib, spec, items, pos, bad):
    args = [(torch.from_numpy(v.copy()) if lib is torch else ember.tensor(v)) if k == "t" else v
            for k, v, _ in items]
    args[pos] = bad
    with _library(lib), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", spec.fn(*args)
        except Exception as e:      # noqa: BLE001 - the class is what is compared
            return "raise", type(e).__name__, re.sub(r"\(position \d+\) ", "", str(e))


_SPECS = {spec.name: spec for spec in ALL_SPECS}


@functools.lru_cache(maxsize=None)
def _outcomes(name, pos):
    """{bad value's name: (ember's outcome, torch's)} for argument `pos` of the entry `name`."""
    spec = _SPECS[name]
    items = materialize(spec.samples[0], "float64", spec.domain, seed=0)
    return {k: (_run(ember, spec, items, pos, bad), _run(torch, spec, items, pos, bad))
            for k, bad in BAD.items()}


def _cases(known):
    for spec in ALL_SPECS:
        items = materialize(spec.samples[0], "float64", spec.domain, seed=0)
        for pos, (kind, _, _) in enumerate(items):
            if kind == "t":
                marks = pytest.mark.xfail(strict=True, reason=known[spec.name, pos]) \
                    if (spec.name, pos) in known else ()
                yield pytest.param(spec.name, pos, id=f"{spec.name}-{pos}", marks=marks)


@pytest.mark.parametrize("name,pos", list(_cases(KNOWN)))
def test_same_outcome_as_torch(name, pos):
    for bad, (e, t) in _outcomes(name, pos).items():
        assert e[0] == t[0], f"{bad}: ember {e[1:] if e[0] == 'raise' else 'succeeds'}, " \
                             f"torch {t[1:] if t[0] == 'raise' else 'succeeds'}"
        if e[0] == "ok":
            assert _mismatch(e[1], t[1], "float64") is None, bad
        else:
            assert e[1] == t[1], f"{bad}: ember {e[1:]}, torch {t[1:]}"


@pytest.mark.parametrize("name,pos", list(_cases(KNOWN_MESSAGE)))
def test_same_parser_message_as_torch(name, pos):
    for bad, (e, t) in _outcomes(name, pos).items():
        if t[0] == "raise" and t[1] == "TypeError" and _PARSER.match(t[2]):
            assert e[2] == t[2], bad
