"""torch's 8-bit float dtypes (and the names of its shell dtypes) against torch 2.13."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
import ember.serialization.safetensors as ember_st

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
        return str(r.dtype), tuple(r.shape), _bits(r) if float8 else repr(r.tolist())
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
    every = np.arange(256, dtype=np.uint8)
    for f in (lambda m: m.from_numpy(every).view(getattr(m, name)),
              lambda m: m.from_numpy(every[100:120]).view(getattr(m, name)),
              lambda m: m.from_numpy(every).view(getattr(m, name)).reshape(16, 16),
              lambda m: m.tensor(VALUES).to(getattr(m, name)),
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


# torch's float8 kernels: what works (bit for bit, overflow included) and what refuses (the
# same exception and message), for every float8 dtype
OPS = {
    "mul": lambda m, a, b, A, B: a * b,
    "mul_0d": lambda m, a, b, A, B: b[0] * a,
    "mul_scalar": lambda m, a, b, A, B: a * 1.5,
    "mul_0d_other": lambda m, a, b, A, B: a * b[0],
    "abs": lambda m, a, b, A, B: a.abs(),
    "mm": lambda m, a, b, A, B: A @ B,
    "vm": lambda m, a, b, A, B: a[:2] @ B,
    "mv": lambda m, a, b, A, B: A @ a[:2],
    "dot": lambda m, a, b, A, B: a @ b,
    "bmm": lambda m, a, b, A, B: A[None] @ B[None],
    "linear": lambda m, a, b, A, B: m.nn.functional.linear(A, B, b[:2]),
    "addmm": lambda m, a, b, A, B: m.addmm(A, A, B),
    "einsum": lambda m, a, b, A, B: m.einsum("ij,jk->ik", A, B),
    "cat": lambda m, a, b, A, B: m.cat([a, b]),
    "stack": lambda m, a, b, A, B: m.stack([a, b]),
    "clone": lambda m, a, b, A, B: A.t().contiguous(),
    "copy_": lambda m, a, b, A, B: a.clone().copy_(m.tensor([1.0, 500.0, -3.0, 0.1, 7.0])),
    "where": lambda m, a, b, A, B: m.where(a == a, a, b),
    "eq": lambda m, a, b, A, B: a == b,
    "ne_scalar": lambda m, a, b, A, B: a != 1.0,
    "index": lambda m, a, b, A, B: a[m.tensor([0, 2])],
    "index_put": lambda m, a, b, A, B: a.index_put((m.tensor([0, 1]),), b[:2]),
    "slice": lambda m, a, b, A, B: a[1:3],
    "diagonal": lambda m, a, b, A, B: A.diagonal(),
    "unfold": lambda m, a, b, A, B: a.unfold(0, 2, 1),
    "isnan": lambda m, a, b, A, B: a.isnan(),
    "isinf": lambda m, a, b, A, B: a.isinf(),
    "isfinite": lambda m, a, b, A, B: a[:4].isfinite(),
    "isposinf": lambda m, a, b, A, B: a.isposinf(),
    "signbit": lambda m, a, b, A, B: a.signbit(),
    "logical_not": lambda m, a, b, A, B: a.logical_not(),
    "to_bool": lambda m, a, b, A, B: a.bool(),
    "to_int64": lambda m, a, b, A, B: a.long(),
    "to_int16": lambda m, a, b, A, B: a.short(),
    "to_uint8": lambda m, a, b, A, B: a.byte(),
    "zero_": lambda m, a, b, A, B: a.clone().zero_(),
    "add": lambda m, a, b, A, B: a + b,
    "add_scalar": lambda m, a, b, A, B: a + 1,
    "rsub": lambda m, a, b, A, B: 1 - a,
    "div": lambda m, a, b, A, B: a / b,
    "div_scalar": lambda m, a, b, A, B: a / 2,
    "neg": lambda m, a, b, A, B: -a,
    "pow": lambda m, a, b, A, B: a ** 2,
    "lt": lambda m, a, b, A, B: a < b,
    "maximum": lambda m, a, b, A, B: m.maximum(a, b),
    "clamp": lambda m, a, b, A, B: a.clamp(-1, 1),
    "clamp_min": lambda m, a, b, A, B: a.clamp(min=0),
    "clamp_min_tensor": lambda m, a, b, A, B: a.clamp(min=b),
    "relu": lambda m, a, b, A, B: m.relu(a),
    "exp": lambda m, a, b, A, B: a.exp(),
    "sqrt": lambda m, a, b, A, B: m.sqrt(a),
    "sigmoid": lambda m, a, b, A, B: a.sigmoid(),
    "rsqrt": lambda m, a, b, A, B: a.rsqrt(),
    "floor": lambda m, a, b, A, B: a.floor(),
    "sum": lambda m, a, b, A, B: a.sum(),
    "sum_float32": lambda m, a, b, A, B: a.sum(dtype=m.float32),
    "cumsum_float64": lambda m, a, b, A, B: a.cumsum(0, dtype=m.float64),
    "prod_float8": lambda m, a, b, A, B: a.prod(dtype=a.dtype),
    "requires_grad": lambda m, a, b, A, B: m.tensor([1.0], dtype=a.dtype, requires_grad=True),
    "mean_dim": lambda m, a, b, A, B: A.mean(0),
    "prod": lambda m, a, b, A, B: a.prod(),
    "std": lambda m, a, b, A, B: a.std(),
    "var_dim": lambda m, a, b, A, B: A.var(0),
    "max": lambda m, a, b, A, B: a.max(),
    "max_dim": lambda m, a, b, A, B: A.max(0),
    "amin": lambda m, a, b, A, B: a.amin(),
    "sort": lambda m, a, b, A, B: a.sort(),
    "topk": lambda m, a, b, A, B: a.topk(2),
    "cumsum": lambda m, a, b, A, B: a.cumsum(0),
    "logsumexp": lambda m, a, b, A, B: a.logsumexp(0),
    "quantile": lambda m, a, b, A, B: a.quantile(0.5),
    "norm": lambda m, a, b, A, B: m.linalg.vector_norm(a),
    "masked_fill": lambda m, a, b, A, B: a.masked_fill(a != a, 1.0),
    "gather": lambda m, a, b, A, B: a.gather(0, m.tensor([1, 0])),
    "scatter_value": lambda m, a, b, A, B: a.scatter(0, m.tensor([1, 0]), 1.0),
    "flip": lambda m, a, b, A, B: a.flip(0),
    "tril": lambda m, a, b, A, B: A.tril(),
    "unique": lambda m, a, b, A, B: a.unique(),
    "softmax": lambda m, a, b, A, B: a.softmax(0),
    "layer_norm": lambda m, a, b, A, B: m.nn.functional.layer_norm(a, (5,)),
    "arange": lambda m, a, b, A, B: m.arange(3, dtype=a.dtype),
    "linspace": lambda m, a, b, A, B: m.linspace(0, 1, 3, dtype=a.dtype),
    "rand": lambda m, a, b, A, B: m.rand(3, dtype=a.dtype),
    "normal_": lambda m, a, b, A, B: a.normal_(),
    "promote_float32": lambda m, a, b, A, B: a + m.ones(5),
    "promote_float8": lambda m, a, b, A, B: a * b.to(
        m.float8_e4m3fnuz if a.dtype != m.float8_e4m3fnuz else m.float8_e5m2),
    "promote_int_0d": lambda m, a, b, A, B: m.ones(5, dtype=m.int64) * b[0],
}


@pytest.mark.parametrize("name", FLOAT8)
@pytest.mark.parametrize("op", list(OPS))
def test_ops(name, op):
    def run(m):
        d = getattr(m, name)
        a = m.tensor([300.0, -2.5, 3.0, 0.5, float("nan")]).to(d)
        b = m.tensor([2.0, 1.0, -300.0, 0.0, 1.0]).to(d)
        A = m.tensor([[300.0, 300.0], [1.0, 0.001]]).to(d)
        B = m.tensor([[1.5, 1.0], [1.0, 0.0]]).to(d)
        return OPS[op](m, a, b, A, B)
    a, b = _both(run)
    assert a == b


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": ROOT}).stdout.strip()


def test_without_ml_dtypes_the_names_exist_and_refuse_tensors():
    out = _run("import sys; sys.modules['ml_dtypes'] = None; import ember\n"
               "ember.ones(2).zero_()\n"
               "d = ember.float8_e4m3fn; print(d, d.is_floating_point, d.itemsize)\n"
               "try: ember.zeros(2, dtype=d)\n"
               "except TypeError as e: print(e)")
    assert out.splitlines() == ["torch.float8_e4m3fn True 1",
                                "ember has no float8_e4m3fn tensors: they need the ml_dtypes "
                                "package"]


def test_kernel_checks_wait_for_a_float8():
    """A program that never names a float8 runs the ops without their float8 checks."""
    assert _run("import ember; from ember.ops._registry import OPS; ember.ones(2) + 1; "
                "before = OPS['add'].impl[0][0]; ember.ones(2).to(ember.float8_e5m2); "
                "print(before is OPS['add'].impl[0][0])") == "False"


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


@pytest.mark.parametrize("name", FLOAT8)
def test_numpy_refused_as_torch(name):
    """torch has no NumPy dtype for the float8s: .numpy() and np.asarray raise its TypeError."""
    import numpy as np
    seen = []
    for L in (ember, torch):
        t = L.ones(2, dtype=getattr(L, name))
        for convert in (lambda: t.numpy(), lambda: np.asarray(t)):
            with pytest.raises(TypeError) as info:
                convert()
            seen.append(str(info.value))
    assert seen[:2] == seen[2:]
