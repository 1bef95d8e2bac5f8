"""torch's 8-bit float dtypes (and the names of its shell dtypes) against torch 2.13."""
import numpy as np
import pytest
import torch

import ember
import ember.serialization.safetensors as ember_st

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
SHELL = ["float4_e2m1fn_x2", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16"] + \
    [f"{u}int{i}" for u in ("u", "") for i in range(1, 8)]
VALUES = [1.0, -2.5, 448.0, 500.0, 1e9, float("inf"), -float("inf"), float("nan"), 1e-30, 0.3,
          -0.0, 0.0, 3.0, 2.0 ** -9, 57344.0, 61440.0]


def _outcome(f):
    """What `f()` gives: its value (tensors as dtype, shape and bytes) or its exception."""
    try:
        r = f()
    except Exception as e:      # noqa: BLE001  (the class and message are compared)
        return type(e).__name__, str(e)
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        float8 = r.dtype.itemsize == 1 and r.dtype.is_floating_point
        return str(r.dtype), tuple(r.shape), _bits(r) if float8 else r.tolist()
    return repr(r)


def _both(f):
    return _outcome(lambda: f(torch)), _outcome(lambda: f(ember))


def _bits(t):
    return t.view(torch.uint8 if isinstance(t, torch.Tensor) else ember.uint8).tolist()


@pytest.mark.parametrize("name", FLOAT8 + SHELL)
def test_dtype_attributes(name):
    t, e = getattr(torch, name), getattr(ember, name)
    assert repr(e) == repr(t) and str(e) == str(t)
    assert (e.is_floating_point, e.itemsize, e.is_complex) == \
        (t.is_floating_point, t.itemsize, t.is_complex)
    if not name.startswith("bits"):          # torch: "Bits types are undefined"
        assert e.is_signed == t.is_signed
    assert e.to_real() is e
    a, b = _outcome(t.to_complex), _outcome(e.to_complex)
    assert a == b


@pytest.mark.parametrize("name", FLOAT8)
def test_finfo(name):
    t, e = torch.finfo(getattr(torch, name)), ember.finfo(getattr(ember, name))
    for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, k) == getattr(t, k), k
    assert repr(e) == repr(t)


def test_promotion_refused():
    names = FLOAT8 + ["float32", "float16", "bfloat16", "int64", "bool", "complex64", "uint16"]
    for a in FLOAT8:
        for b in names:
            for x, y in ((a, b), (b, a)):
                r, s = _both(lambda m: m.promote_types(getattr(m, x), getattr(m, y)))
                assert r == s
    for f in (lambda m: m.ones(2).to(m.float8_e4m3fn) + m.ones(2),
              lambda m: m.ones(2).to(m.float8_e4m3fn) * m.ones(2).to(m.float8_e5m2),
              lambda m: m.result_type(m.ones(2).to(m.float8_e5m2), 1.0),
              lambda m: m.result_type(m.ones(2, dtype=m.int64), m.tensor(1.0).to(m.float8_e5m2)),
              lambda m: m.result_type(m.ones(2).to(m.float8_e5m2), 1j)):
        a, b = _both(f)
        assert a == b


def _float32_sweep():
    hi = np.arange(1 << 16, dtype=np.uint32) << 16
    bits = np.concatenate([hi, hi | 0x8000, hi | 0x7FFF, hi | 0x0001])
    return bits.view(np.float32)


@pytest.mark.parametrize("name", FLOAT8)
def test_conversion_bits(name):
    """float32 -> float8 over every top-16-bit pattern (ties, overflow, subnormals, inf, NaN),
    double and int sources, and every float8 back to float32/float64, bit for bit."""
    f = _float32_sweep()
    t, e = getattr(torch, name), getattr(ember, name)
    assert np.array_equal(torch.from_numpy(f).to(t).view(torch.uint8).numpy(),
                          ember.from_numpy(f).to(e).view(ember.uint8).numpy())
    d = f.astype(np.float64) * (1 + 2 ** -30)
    assert np.array_equal(torch.from_numpy(d).to(t).view(torch.uint8).numpy(),
                          ember.from_numpy(d).to(e).view(ember.uint8).numpy())
    i = np.arange(-600, 600, 7)
    assert _bits(torch.from_numpy(i).to(t)) == _bits(ember.from_numpy(i).to(e))
    every = np.arange(256, dtype=np.uint8)
    for back, as_int in ((torch.float32, torch.int32), (torch.float64, torch.int64)):
        eb, ei = getattr(ember, str(back)[6:]), getattr(ember, str(as_int)[6:])
        assert torch.from_numpy(every).view(t).to(back).view(as_int).tolist() == \
            ember.from_numpy(every).view(e).to(eb).view(ei).tolist()
    others = [n for n in FLOAT8 if n != name]
    for o in others:        # float8 -> float8
        assert _bits(torch.from_numpy(every).view(t).to(getattr(torch, o))) == \
            _bits(ember.from_numpy(every).view(e).to(getattr(ember, o)))


@pytest.mark.parametrize("name", FLOAT8)
def test_creation_and_scalars(name):
    checks = [
        lambda m: m.tensor(VALUES, dtype=getattr(m, name)),
        lambda m: m.tensor([1, 2, 300], dtype=getattr(m, name)),
        lambda m: m.tensor(3.0, dtype=getattr(m, name)),
        lambda m: m.zeros(3, dtype=getattr(m, name)),
        lambda m: m.ones(2, 2, dtype=getattr(m, name)),
        lambda m: m.tensor(VALUES).to(getattr(m, name)).tolist(),
        lambda m: m.tensor(VALUES).to(getattr(m, name))[0].item(),
        lambda m: float(m.tensor(VALUES).to(getattr(m, name))[3]),
    ]
    for v in (448.0, 449.0, 500.0, 60000.0, 1e6, float("inf"), float("nan"), -1.0, 0.0, 3):
        checks.append(lambda m, v=v: m.full((2,), v, dtype=getattr(m, name)))
        checks.append(lambda m, v=v: m.full((1,), v, dtype=getattr(m, name)))

        def setitem(m, v=v):
            x = m.zeros(3, dtype=getattr(m, name))
            x[0] = v
            x[1:] = v
            return x
        checks.append(setitem)
    for f in checks:
        a, b = _both(f)
        assert a == b


@pytest.mark.parametrize("name", FLOAT8)
def test_printing(name):
    for f in (lambda m: m.tensor(VALUES).to(getattr(m, name)),
              lambda m: m.tensor([[1.0, -2.5], [0.5, 3.0]]).to(getattr(m, name)),
              lambda m: m.tensor([1.0, 2.0, 4.0]).to(getattr(m, name)),
              lambda m: m.tensor(0.25).to(getattr(m, name)),
              lambda m: m.zeros(0, dtype=getattr(m, name))):
        assert repr(f(ember)) == repr(f(torch))
        assert str(f(ember)) == str(f(torch))


@pytest.mark.parametrize("name", FLOAT8)
def test_views(name):
    every = list(range(256))
    for other in ("uint8", "int8", "int16", "float16", "float8_e5m2", "float8_e4m3fn"):
        a, b = _both(lambda m: m.tensor(every, dtype=m.uint8).view(getattr(m, name))
                     .view(getattr(m, other)).view(m.uint8))
        assert a == b


SUPPORTED = {
    "mul": lambda m, a, b: a * b,
    "abs": lambda m, a, b: a.abs(),
    "mm": lambda m, a, b: a.reshape(2, 2) @ b.reshape(2, 2),
    "cat": lambda m, a, b: m.cat([a, b]),
    "stack": lambda m, a, b: m.stack([a, b]),
    "clone": lambda m, a, b: a.clone(),
    "copy_": lambda m, a, b: a.clone().copy_(m.tensor([1.0, 500.0, -3.0, 0.1])),
    "where": lambda m, a, b: m.where(m.tensor([True, False, True, False]), a, b),
    "eq": lambda m, a, b: a == b,
    "ne": lambda m, a, b: a != b,
    "index": lambda m, a, b: a[m.tensor([0, 2])],
    "slice": lambda m, a, b: a[1:3],
    "isnan": lambda m, a, b: a.isnan(),
    "to_bool": lambda m, a, b: a.bool(),
    "to_int64": lambda m, a, b: a.long(),
}
REFUSED = {
    "exp": lambda m, a, b: a.exp(),
    "sqrt": lambda m, a, b: m.sqrt(a),
    "sigmoid": lambda m, a, b: a.sigmoid(),
    "rsqrt": lambda m, a, b: a.rsqrt(),
    "exp2": lambda m, a, b: a.exp2(),
    "sum": lambda m, a, b: a.sum(),
    "mean": lambda m, a, b: a.mean(),
    "prod": lambda m, a, b: a.prod(),
    "nansum": lambda m, a, b: a.nansum(),
    "logsumexp": lambda m, a, b: a.logsumexp(0),
    "logcumsumexp": lambda m, a, b: a.logcumsumexp(0),
    "add_other_float8": lambda m, a, b: a + b.to(m.float8_e4m3fnuz),
    "add_float32": lambda m, a, b: a + m.ones(4),
    "add_int_0d": lambda m, a, b: m.ones(4, dtype=m.int64) + b[0],
}


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("op", list(SUPPORTED) + list(REFUSED))
def test_ops(name, op):
    f = SUPPORTED.get(op) or REFUSED[op]

    def run(m):
        d = getattr(m, name)
        return f(m, m.tensor([1.0, -2.5, 3.0, 0.5]).to(d), m.tensor([0.5, 1.0, -1.0, 2.0]).to(d))
    a, b = _both(run)
    assert a == b
    assert (op in SUPPORTED) == (a[0] != "NotImplementedError" and a[0] != "RuntimeError")


@pytest.mark.parametrize("name", FLOAT8)
def test_save_load(name, tmp_path):
    t = torch.tensor(VALUES).to(getattr(torch, name))
    e = ember.tensor(VALUES).to(getattr(ember, name))
    torch.save({"x": t}, tmp_path / "t.pt")
    ember.save({"x": e}, tmp_path / "e.pt")
    a, b = ember.load(tmp_path / "t.pt")["x"], torch.load(tmp_path / "e.pt")["x"]
    assert (str(a.dtype), _bits(a)) == (str(t.dtype), _bits(t))
    assert (b.dtype, _bits(b)) == (t.dtype, _bits(t))


@pytest.mark.parametrize("name", FLOAT8)
def test_safetensors(name, tmp_path):
    from safetensors.torch import load_file, save_file
    t = torch.tensor(VALUES).to(getattr(torch, name))
    e = ember.tensor(VALUES).to(getattr(ember, name))
    save_file({"x": t}, tmp_path / "t.st")
    ember_st.save_file({"x": e}, tmp_path / "e.st")
    a, b = ember_st.load_file(tmp_path / "t.st")["x"], load_file(tmp_path / "e.st")["x"]
    assert (str(a.dtype), _bits(a)) == (str(t.dtype), _bits(t))
    assert (b.dtype, _bits(b)) == (t.dtype, _bits(t))
    c = ember_st.load(ember_st.save({"x": e}))["x"]
    assert (str(c.dtype), _bits(c)) == (str(t.dtype), _bits(t))
