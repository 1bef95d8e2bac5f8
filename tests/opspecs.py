"""The op table: one entry per op (or variant) drives forward, gradient and gradcheck tests.

The same `fn` runs on ember and on torch, so an entry is also the spec of the op's API."""
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class T:
    """A tensor argument: random values in the spec's domain (or `low`/`high`)."""
    shape: tuple = ()
    nc: bool = False            # a non-contiguous view
    grad: bool = True           # participates in gradient checks
    low: float = None
    high: float = None


def t(*shape, **kw):
    return T(shape, **kw)


@dataclass(frozen=True)
class I:
    """An integer tensor argument with values in [low, high)."""
    shape: tuple = ()
    low: int = 0
    high: int = 3
    dtype: str = "int64"


@dataclass(frozen=True)
class B:
    """A boolean tensor argument."""
    shape: tuple = ()


UNARY = [(t(4, 5),), (t(),), (t(0, 3),), (t(3, 4, nc=True),)]
BINARY = [(t(4, 5), t(4, 5)), (t(4, 1), t(5)), (t(), t(3)), (t(3), 2.5), (t(2, 3, nc=True),
                                                                           t(2, 3))]


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable
    samples: list = field(default_factory=lambda: UNARY)
    dtypes: tuple = ("float32", "float64")
    grad: bool = True
    domain: tuple = (-2.0, 2.0)
    tol: dict = field(default_factory=dict)
    gradcheck: bool = True
    skip: dict = field(default_factory=dict)     # {"cuda": "reason"}: a reason is mandatory


def _u(name, domain=(-2.0, 2.0), **kw):
    return OpSpec(name, lambda x: getattr(x, name)(), domain=domain, **kw)


POS = (0.1, 3.0)
UNIT = (-0.9, 0.9)

SPECS = [
    _u("exp"), _u("exp2"), _u("expm1"), _u("log", POS), _u("log2", POS), _u("log10", POS),
    _u("log1p", (-0.5, 2.0)), _u("sqrt", POS), _u("rsqrt", POS), _u("sin"), _u("cos"),
    _u("tan", (-1.2, 1.2)), _u("asin", UNIT), _u("acos", UNIT), _u("atan"), _u("sinh"),
    _u("cosh"), _u("tanh"), _u("asinh"), _u("acosh", (1.1, 3.0)), _u("atanh", UNIT),
    _u("sigmoid"), _u("erf"), _u("erfc"), _u("erfinv", UNIT), _u("reciprocal", POS),
    _u("square"), _u("neg"), _u("abs"), _u("relu"), _u("frac"),
    _u("sign", grad=False), _u("floor", grad=False), _u("ceil", grad=False),
    _u("trunc", grad=False),
    OpSpec("logit", lambda x: x.logit(), domain=(0.05, 0.95)),
    OpSpec("logit.eps", lambda x: x.logit(eps=0.2), domain=(0.3, 0.7)),
    OpSpec("add", lambda x, y: x + y, BINARY),
    OpSpec("add.alpha", lambda x, y: x.add(y, alpha=2.5), BINARY[:3]),
    OpSpec("sub", lambda x, y: x - y, BINARY),
    OpSpec("rsub", lambda x: 2 - x),
    OpSpec("mul", lambda x, y: x * y, BINARY),
    OpSpec("div", lambda x, y: x / y, BINARY, domain=(0.5, 2.0)),
    OpSpec("rdiv", lambda x: 2 / x, domain=(0.5, 2.0)),
    OpSpec("pow", lambda x, y: x ** y, BINARY[:3], domain=(0.5, 2.0)),
    OpSpec("pow.scalar", lambda x: x ** 3),
    OpSpec("rpow", lambda x: 2 ** x),
    OpSpec("atan2", lambda x, y: x.atan2(y), BINARY[:3], domain=(0.5, 2.0)),
    OpSpec("maximum", lambda x, y: x.maximum(y), BINARY[:3]),
    OpSpec("minimum", lambda x, y: x.minimum(y), BINARY[:3]),
    OpSpec("hypot", lambda x, y: x.hypot(y), BINARY[:3], domain=(0.5, 2.0)),
    OpSpec("remainder", lambda x, y: x.remainder(y), BINARY[:3], domain=(0.5, 2.0),
           gradcheck=False),
    OpSpec("fmod", lambda x, y: x.fmod(y), BINARY[:3], domain=(0.5, 2.0), gradcheck=False),
    OpSpec("clamp", lambda x: x.clamp(-0.5, 0.7)),
    OpSpec("clamp.min", lambda x: x.clamp(min=0.1)),
    OpSpec("clamp.tensor", lambda x, lo: x.clamp(min=lo), [(t(3, 4), t(3, 4))]),
    OpSpec("where", lambda x, y: _mod(x).where(x > 0, x, y), BINARY[:3]),
    OpSpec("lerp", lambda x, y: x.lerp(y, 0.3), BINARY[:3]),
    OpSpec("addcmul", lambda x, y, z: x.addcmul(y, z, value=0.5), [(t(3, 4), t(3, 4), t(4))]),
    OpSpec("addcdiv", lambda x, y, z: x.addcdiv(y, z, value=0.5), [(t(3, 4), t(3, 4), t(4))],
           domain=(0.5, 2.0)),
    OpSpec("sum", lambda x: x.sum()),
    OpSpec("sum.dim", lambda x: x.sum(1, keepdim=True), [(t(4, 5),), (t(2, 3, 4),)]),
    OpSpec("sum.dims", lambda x: x.sum((0, -1)), [(t(2, 3, 4),), (t(2, 3, 4, nc=True),)]),
    OpSpec("mean", lambda x: x.mean()),
    OpSpec("mean.dim", lambda x: x.mean(-1), [(t(4, 5),), (t(2, 3, 4),)]),
    OpSpec("prod", lambda x: x.prod(), [(t(3, 4),), (t(),)]),
    OpSpec("prod.dim", lambda x: x.prod(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("amax", lambda x: x.amax(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("amin", lambda x: x.amin((0, 1)), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("max", lambda x: x.max(), [(t(3, 4),)]),
    OpSpec("max.dim", lambda x: x.max(1)[0], [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("min.dim", lambda x: x.min(0, keepdim=True)[0], [(t(3, 4),)]),
    OpSpec("argmax", lambda x: x.argmax(-1), [(t(3, 4),)], grad=False),
    OpSpec("argmin", lambda x: x.argmin(), [(t(3, 4),)], grad=False),
    OpSpec("var", lambda x: x.var(), [(t(3, 4),)]),
    OpSpec("var.dim", lambda x: x.var(1, keepdim=True), [(t(3, 4),)]),
    OpSpec("std.correction", lambda x: x.std(0, correction=0), [(t(3, 4),)]),
    OpSpec("logsumexp", lambda x: x.logsumexp(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("cumsum", lambda x: x.cumsum(1), [(t(3, 4),), (t(2, 3, 4),)]),
    OpSpec("view", lambda x: x.view(2, -1), [(t(4, 5),)]),
    OpSpec("reshape.nc", lambda x: x.reshape(-1), [(t(4, 5, nc=True),)]),
    OpSpec("permute", lambda x: x.permute(2, 0, 1), [(t(2, 3, 4),)]),
    OpSpec("transpose", lambda x: x.transpose(0, -1), [(t(2, 3, 4),)]),
    OpSpec("t", lambda x: x.t(), [(t(3, 4),)]),
    OpSpec("squeeze", lambda x: x.squeeze(), [(t(3, 1, 4, 1),)]),
    OpSpec("unsqueeze", lambda x: x.unsqueeze(-1), [(t(3, 4),)]),
    OpSpec("flatten", lambda x: x.flatten(1), [(t(2, 3, 4),)]),
    OpSpec("expand", lambda x: x.expand(3, -1, 4), [(t(1, 5, 1),)]),
    OpSpec("cat", lambda x, y: _mod(x).cat([x, y], 1), [(t(2, 3), t(2, 4))]),
    OpSpec("stack", lambda x, y: _mod(x).stack([x, y], -1), [(t(2, 3), t(2, 3))]),
    OpSpec("split", lambda x: x.split(2, 1)[1], [(t(3, 5),)]),
    OpSpec("chunk", lambda x: x.chunk(3, 0)[2], [(t(7, 2),)]),
    OpSpec("unbind", lambda x: x.unbind(1)[1], [(t(3, 4),)]),
    OpSpec("narrow", lambda x: x.narrow(1, 1, 2), [(t(3, 4),)]),
    OpSpec("flip", lambda x: x.flip(0, 1), [(t(3, 4),)]),
    OpSpec("getitem.basic", lambda x: x[1:, ::2, None, 0], [(t(3, 4, 5),)]),
    OpSpec("getitem.ellipsis", lambda x: x[..., 1], [(t(3, 4, 5),)]),
    OpSpec("getitem.adv", lambda x: x[[0, 2, 0]], [(t(3, 4),)]),
    OpSpec("getitem.mix", lambda x: x[[0, 1], :, [1, 2]], [(t(3, 4, 5),)]),
    OpSpec("getitem.mask", lambda x: x[x > 0], [(t(3, 4),)]),
    OpSpec("matmul", lambda x, y: x @ y, [(t(3, 4), t(4, 5)), (t(4), t(4)), (t(4), t(4, 5)),
                                          (t(3, 4), t(4)), (t(2, 3, 4), t(4, 5)),
                                          (t(2, 1, 3, 4), t(5, 4, 2)), (t(3, 4, nc=True),
                                                                         t(4, 2))]),
    OpSpec("bmm", lambda x, y: x.bmm(y), [(t(2, 3, 4), t(2, 4, 5))]),
]


def _mod(x):
    """The library (ember or torch) a tensor comes from."""
    import sys
    return sys.modules[type(x).__module__.split(".")[0]]


def _all_specs():
    """SPECS from this file plus every tests/opspecs_*.py module (one per op family/owner)."""
    import importlib
    import pathlib
    specs = list(SPECS)
    for path in sorted(pathlib.Path(__file__).parent.glob("opspecs_*.py")):
        specs += importlib.import_module(path.stem).SPECS
    names = [s.name for s in specs]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate op spec names: {dup}"
    return specs


ALL_SPECS = _all_specs()
