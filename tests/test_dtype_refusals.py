"""Every entry of the op table in the dtypes torch has few CPU kernels for: the "barebones"
unsigned types uint16, uint32, uint64 and the float8s. torch refuses most ops for them with
`"<kernel>" not implemented for '<Type>'` (ember's tables: ops/_few_kernels.py); ember must
refuse the same ones, with the same exception class and message (first line), and compute the
others as torch does (dtype, shape and values). bool and int8 run too: tests/test_dtype_sweep.py
compares the exception class only, here the message is compared as well.

The table's samples are drawn in float64 and converted: |x * 3| rounded for the unsigned
types, x * 3 rounded for int8, x > 0 for bool, rounded to the float8 (|x| + 1/4 for the
unsigned float8_e8m0fnu). One test per dtype
runs every entry (a few seconds for all), and compares the entries that differ with KNOWN:
one that starts to differ fails, and so does a listed one that starts to agree, so the lists
only shrink."""
import warnings

import numpy as np
import pytest
import torch

import ember
from opspecs import ALL_SPECS, materialize

_UINT = {
    # torch's kernel refusal comes before ember's argument checks (a fill value that does not
    # fit, a mismatched dtype), or from inside a composite ember computes another way
    "addmv", "histogram.range_density",
    "index_add", "addr", "renorm", "renorm.p1_dim1", "renorm.big", "gradient",
    "gradient.spacing", "gradient.spacings", "gradient.coords", "combinations", "vander",
    "vander.N", "linalg.vander", "ldexp",
    # istft: torch's promotion error for a complex window first
    "istft.spectrum", "istft.two_sided",
}
_FLOAT8 = {
    # other kernels or messages in composites and linalg
    "rfloordiv", "isclose.nan", "mean", "mean.dims", "logsumexp.empty", "ldexp",
    "ldexp.float_exp", "renorm", "renorm.p1_dim1", "renorm.big", "cov.weights", "cov.aweights",
    "vander", "vander.N", "histogram.range_density", "index_add", "addr", "einsum.trace",
    "einsum.diag", "einsum.diag3", "einsum.outer", "einsum.sum_only", "einsum.ellipsis_mid",
    "einsum.bcast1", "linalg.det", "linalg.matrix_exp", "linalg.vander", "special.logsumexp",
    # functions outside the op registry without the refusal yet
    "special.i0e", "special.i1", "special.i1e", "special.entr", "special.xlog1py",
    # torch sums a 3-d float8 tensor over dims (0, 2) (its other sums refuse)
    "sum.dims",
}
# torch's float8 matmul rounds each product (ember rounds the sum once)
_ROUNDED = {"linalg.matrix_power"}
KNOWN = {     # (uint32 and the fnuz float8s run as uint16 and float8_e4m3fn/e5m2 do: left out)
    "uint16": _UINT, "uint64": _UINT, "float8_e4m3fn": _FLOAT8 | _ROUNDED,
    "float8_e5m2": _FLOAT8 | _ROUNDED | {"addbmm", "special.erfcx", "special.log_ndtr",
                                         "special.ndtri"},
    # (linalg.vector_norm: the norm of nothing, 0, is c10's 2**-127 in e8m0, ember's NaN)
    "float8_e8m0fnu": _FLOAT8 | {"isfinite", "pow.zero_exp", "rsub.fn", "sum",
                                 "linalg.vector_norm"},
    "bool": set(), "int8": set(),
}


def _convert(lib, arr, dt):
    if arr.dtype.kind != "f":
        return lib.from_numpy(arr.copy()) if lib is torch else ember.tensor(arr)
    if dt.startswith("uint"):
        a = np.abs(arr * 3).round().astype(dt)
    elif dt == "int8":
        a = (arr * 3).round().astype(dt)
    elif dt == "bool":
        a = arr > 0
    else:
        a = arr.astype(np.float32)
        if dt == "float8_e8m0fnu":
            a = np.abs(a) + 0.25
    a = np.array(a, order="C")         # (a copy; 0-d stays 0-d)
    t = torch.from_numpy(a) if lib is torch else ember.tensor(a)
    return t.to(getattr(lib, dt)) if dt.startswith("float8") else t


def _outcome(fn, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn(*args)
        except Exception as e:      # noqa: BLE001 - the class and message are what is compared
            return "raise", (type(e).__name__, str(e).split("\n")[0])


def _host(t):
    t = t.detach()
    if t.dtype.is_complex:
        t = t.resolve_conj().resolve_neg()
    elif not t.dtype.is_floating_point or t.element_size() < 4:
        t = t.double()      # (NumPy has no float8 or bfloat16; uint16/32/64 converted alike)
    return np.asarray(t.numpy())


def _mismatch(e, t):
    """None when ember's result `e` agrees with torch's `t`, else what differs."""
    if isinstance(t, (tuple, list)):
        if not isinstance(e, (tuple, list)) or len(e) != len(t):
            return "length"
        return next((m for m in map(_mismatch, e, t) if m), None)
    if not isinstance(t, torch.Tensor):
        return None if e == t or (e != e and t != t) else f"value {e} vs {t}"
    if str(e.dtype) != str(t.dtype) or tuple(e.shape) != tuple(t.shape):
        return f"{e.dtype}{tuple(e.shape)} vs {t.dtype}{tuple(t.shape)}"
    a, b = _host(e), _host(t)
    if a.dtype.kind in "fc":
        same = np.allclose(a, b, rtol=2e-2, atol=2e-2, equal_nan=True)
    else:
        same = np.array_equal(a, b)
    return None if same else "values"


def _differs(spec, dt):
    """What differs between ember and torch on the entry's samples, or None."""
    for i, sample in enumerate(spec.samples):
        items = materialize(sample, "float64", spec.domain, seed=i)
        e = _outcome(spec.fn, [_convert(ember, v, dt) if k == "t" else v for k, v, _ in items])
        t = _outcome(spec.fn, [_convert(torch, v, dt) if k == "t" else v for k, v, _ in items])
        if e[0] != t[0] or e[0] == "raise" and e[1] != t[1]:
            return f"sample {i}: ember {e[1] if e[0] == 'raise' else 'ok'}, torch " \
                   f"{t[1] if t[0] == 'raise' else 'ok'}"
        if e[0] == "ok":
            m = _mismatch(e[1], t[1])
            if m:
                return f"sample {i}: {m}"
    return None


@pytest.mark.parametrize("dt", sorted(KNOWN))
def test_same_refusals_and_results_as_torch(dt):
    differ = {}
    for spec in ALL_SPECS:
        d = _differs(spec, dt)
        if d is not None:
            differ[spec.name] = d
    new = {n: d for n, d in differ.items() if n not in KNOWN[dt]}
    assert not new, f"{len(new)} entries differ from torch: {new}"
    fixed = KNOWN[dt] - set(differ)
    assert not fixed, f"now as torch (drop them from KNOWN): {sorted(fixed)}"


_INFO_DTYPES = ["uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                "float8_e5m2fnuz", "float8_e8m0fnu", "complex32", "bool", "int8", "bits8",
                "uint1", "int4", "float4_e2m1fn_x2", "quint8"]


@pytest.mark.parametrize("dt", _INFO_DTYPES)
def test_iinfo_finfo_and_printing(dt):
    """torch.iinfo/finfo of every dtype (complex32's finfo is float16's; dtypes without
    storage refuse as torch does, not for want of an array), and the dtype's repr."""
    def run(lib):
        out = [repr(getattr(lib, dt)).replace("ember", "torch")]
        for info in (lib.iinfo, lib.finfo):
            try:
                out.append(repr(info(getattr(lib, dt))))
            except Exception as e:      # noqa: BLE001 - the class and message are compared
                out.append(f"{type(e).__name__}: {e}")
        return out
    assert run(ember) == run(torch)


def _x(m, d):
    return m.tensor([[3.0, 1, 2], [0.5, 5, 4]]).to(getattr(m, d))


def _setitem(x, idx, value):
    x = x.clone()
    x[idx] = value
    return x


# functions outside the op table's reach (and outside the op registry: ops/_few_kernels.FUNCTIONS)
_CALLS = {
    "argmax": lambda m, d: _x(m, d).argmax(), "argmin dim": lambda m, d: _x(m, d).argmin(0),
    "argmax 0-d": lambda m, d: _x(m, d)[0, 0].argmax(),
    "argsort": lambda m, d: _x(m, d).argsort(), "sort": lambda m, d: _x(m, d).sort().values,
    "searchsorted": lambda m, d: m.searchsorted(_x(m, d)[0].sort().values, _x(m, d)[1]),
    "bucketize": lambda m, d: m.bucketize(_x(m, d)[1], _x(m, d)[0].sort().values),
    "nonzero": lambda m, d: _x(m, d).nonzero(), "argwhere": lambda m, d: _x(m, d).argwhere(),
    "count_nonzero": lambda m, d: _x(m, d).count_nonzero(),
    "isin": lambda m, d: m.isin(_x(m, d), _x(m, d)[0]),
    "equal itself": lambda m, d: (lambda x: m.equal(x, x))(_x(m, d)),
    "equal copy": lambda m, d: m.equal(_x(m, d), _x(m, d)),
    "index_select 0-d": lambda m, d: _x(m, d)[0, 0].index_select(0, m.tensor([0])),
    "index_select 1-d": lambda m, d: _x(m, d)[0].index_select(0, m.tensor([0])),
    "index_select 2-d": lambda m, d: _x(m, d).index_select(1, m.tensor([0])),
    "setitem ints": lambda m, d: _setitem(_x(m, d), (m.tensor([0]), m.tensor([1])),
                                          _x(m, d)[0, 0]),
    "setitem row mask": lambda m, d: _setitem(_x(m, d), m.tensor([True, False]), _x(m, d)[0]),
    "setitem mask value": lambda m, d: _setitem(_x(m, d), _x(m, d) > _x(m, d)[0, 0] if d[0] == "u"
                                                else m.ones(2, 3, dtype=m.bool), 1),
    "setitem basic": lambda m, d: _setitem(_x(m, d), 0, _x(m, d)[1]),
    "arange": lambda m, d: m.arange(3, dtype=getattr(m, d)),
    "eye": lambda m, d: m.eye(2, dtype=getattr(m, d)),
    "linspace": lambda m, d: m.linspace(0, 3, 4, dtype=getattr(m, d)),
    "linspace 1 step": lambda m, d: m.linspace(0, 3, 1, dtype=getattr(m, d)),
    "tril_indices": lambda m, d: m.tril_indices(3, 3, dtype=getattr(m, d)),
    "randperm": lambda m, d: m.randperm(3, dtype=getattr(m, d)).sort().values,
    "pad reflect": lambda m, d: m.nn.functional.pad(_x(m, d)[None], (1, 1), mode="reflect"),
    "pad replicate": lambda m, d: m.nn.functional.pad(_x(m, d)[None], (1, 1),
                                                      mode="replicate"),
    "pad circular": lambda m, d: m.nn.functional.pad(_x(m, d)[None], (1, 1), mode="circular"),
    "index_reduce prod": lambda m, d: _x(m, d).index_reduce(0, m.tensor([0, 0]), _x(m, d),
                                                            "prod"),
    "flip last dim": lambda m, d: _x(m, d).flip(1),
    "flip first dim": lambda m, d: _x(m, d).flip(0),
    "max 0-d": lambda m, d: _x(m, d)[0, 0].max(0).values,
    "histc": lambda m, d: _x(m, d).histc(), "histc range": lambda m, d: _x(m, d).histc(3, 0, 1),
    "histc empty": lambda m, d: _x(m, d)[:0].histc(),
    "bincount": lambda m, d: _x(m, d)[0].bincount(),
    "hash_tensor": lambda m, d: m.hash_tensor(_x(m, d)),
    "hardtanh": lambda m, d: m.nn.functional.hardtanh(_x(m, d)),
    "relu6": lambda m, d: m.nn.functional.relu6(_x(m, d)),
    # shape errors come before the kernel's refusal
    "add bad shapes": lambda m, d: _x(m, d) + _x(m, d)[:, :2],
    "lt bad shapes": lambda m, d: _x(m, d) < _x(m, d)[:, :2],
    "addcmul bad shapes": lambda m, d: _x(m, d).addcmul(_x(m, d)[:, :2], _x(m, d)[:, :2]),
    "mm bad shapes": lambda m, d: _x(m, d).mm(_x(m, d)),
    "mv bad shapes": lambda m, d: _x(m, d).mv(_x(m, d)[0, :2]),
    "dot bad shapes": lambda m, d: _x(m, d)[0].dot(_x(m, d)[0, :2]),
    "linear bad shapes": lambda m, d: m.nn.functional.linear(_x(m, d), _x(m, d)[:, :2]),
    "kthvalue bad k": lambda m, d: _x(m, d).kthvalue(7),
}


@pytest.mark.parametrize("dt", ["uint16", "uint64", "float8_e4m3fn", "float8_e8m0fnu"])
@pytest.mark.parametrize("name", sorted(_CALLS))
def test_functions_refuse_as_torch(name, dt):
    e = _outcome(_CALLS[name], (ember, dt))
    t = _outcome(_CALLS[name], (torch, dt))
    assert e[0] == t[0], (e, t)
    if e[0] == "raise":
        assert e[1] == t[1]
    else:
        assert _mismatch(e[1], t[1]) is None


@pytest.mark.parametrize("decimals", [None, 0, 1])
@pytest.mark.parametrize("dt", ["int64", "bool", "uint16", "float8_e4m3fn", "float32"])
def test_round_overloads(dt, decimals):
    """round(input) passes integers through; round(input, decimals=...) is another overload
    (RoundBackward1) without integer kernels, decimals=0 included ('round_vml_cpu')."""
    def run(m):
        x = m.tensor([1.0, 2.0, 0.0]).to(getattr(m, dt))
        if dt == "float32":
            x.requires_grad_()
        kw = {} if decimals is None else {"decimals": decimals}
        r = _outcome(lambda: m.round(x, **kw), ())
        return r if r[0] == "raise" else (r[0], type(r[1].grad_fn).__name__, r[1].tolist())
    assert run(ember) == run(torch)


_DRAWS = {
    "exponential_": lambda m, x: x.exponential_(), "cauchy_": lambda m, x: x.cauchy_(),
    "geometric_": lambda m, x: x.geometric_(0.5), "log_normal_": lambda m, x: x.log_normal_(),
    "random_": lambda m, x: x.random_(), "random_(from, to)": lambda m, x: x.random_(0, 3),
    "random_(to)": lambda m, x: x.random_(3), "random_ out of bounds": lambda m, x: x.random_(300),
    "bernoulli_": lambda m, x: x.bernoulli_(0.5),
    "bernoulli_ tensor p": lambda m, x: x.bernoulli_(m.full((3,), 0.5)),
    "randint": lambda m, x: m.randint(0, 3, (2,), dtype=x.dtype),
    "randint_like": lambda m, x: m.randint_like(x, 3),
    "uniform_": lambda m, x: x.uniform_(), "normal_": lambda m, x: x.normal_(),
}


@pytest.mark.parametrize("dt", ["int64", "int8", "bool", "uint8", "complex64", "float16",
                                "float8_e4m3fn", "float8_e8m0fnu", "uint16"])
@pytest.mark.parametrize("name", sorted(_DRAWS))
def test_random_fills_refuse_as_torch(name, dt):
    """The in-place distributions and randint per dtype: torch's refusal (its class and
    message; exponential_ and cauchy_ spell the dtype differently) or a result of the dtype."""
    def run(m):
        r = _outcome(_DRAWS[name], (m, m.zeros(3).to(getattr(m, dt))))
        return r if r[0] == "raise" else str(r[1].dtype).replace("ember", "torch")
    assert run(ember) == run(torch)
