"""Reductions beyond the op table: dtype rules over every dtype, empty inputs, dim handling
and exception classes, named-tuple results, and accumulation precision."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, eval_both
from test_promotion import DTYPES, compare, outcome

REDUCTIONS = [
    "x.sum()", "x.sum(0)", "x.sum(dtype=L.float64)", "x.nansum()", "x.mean()",
    "x.mean(dtype=L.float64)", "x.nanmean()", "x.prod()", "x.prod(1)", "x.max()", "x.min()",
    "x.max(1)", "x.min(0)", "x.amax(0)", "x.amin()", "x.argmax()", "x.argmin(1)", "x.var()",
    "x.std(0)", "L.var_mean(x)", "L.std_mean(x, 1)", "x.logsumexp(1)", "x.cumsum(1)",
    "x.cumsum(0, dtype=L.float32)", "x.cumprod(1)", "x.cummax(1)", "x.cummin(0)",
    "x.logcumsumexp(1)", "x.all()", "x.any(1)", "x.count_nonzero()", "x.median()",
    "x.median(1)", "x.nanmedian()", "x.mode(1)", "x.quantile(0.5)", "x.norm()", "x.norm(1, 1)",
    "x.aminmax()", "x.kthvalue(1, 1)", "x.nanquantile(0.25, 1)",
]


def _make(lib, name):
    vals = [[1, 0, 3], [2, 2, 1]]
    if name == "bool":
        vals = [[True, False, True], [True, True, False]]
    elif name.startswith("complex"):
        vals = [[1 + 1j, 0j, 3 - 1j], [2j, 2 + 0j, 1 + 0j]]
    elif name.startswith(("float", "bfloat")):
        vals = [[1.5, -0.5, 3.0], [2.0, 2.0, 0.25]]
    return lib.tensor(vals, dtype=getattr(lib, name))


def _outcomes(ex, make):
    res = []
    for lib in (torch, ember):
        def run():
            r = eval(ex, {"L": lib, "x": make(lib)})
            if isinstance(r, tuple):          # named tuples: values and indices stacked as float
                return lib.stack([v.to(lib.complex128) if v.is_complex() else
                                  v.to(lib.float64) for v in r]), [str(v.dtype) for v in r]
            return r, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r, dts = run()
                res.append((outcome(lambda: r), dts))
            except Exception as e:      # noqa: BLE001
                res.append((("err", type(e).__name__), None))
    return res


@pytest.mark.parametrize("ex", REDUCTIONS)
def test_reduction_every_dtype(ex):
    bad = []
    for name in DTYPES:
        (t, tdt), (e, edt) = _outcomes(ex, lambda lib: _make(lib, name))
        msg = compare(e, t, False)
        if msg or tdt != edt:
            bad.append(f"{name}: {msg or (edt, tdt)}")
    assert not bad, "\n".join(bad)


EMPTY_SHAPES = [(0,), (0, 3), (3, 0), (2, 0, 3)]


@pytest.mark.parametrize("ex", REDUCTIONS + ["x.max(0)", "x.argmax(0)", "x.median(0)",
                                             "x.mode(0)", "x.amax(1)", "x.aminmax(dim=0)",
                                             "x.logsumexp(0)", "x.var(0)"])
def test_reduction_empty_inputs(ex):
    """Identity results (sum 0, prod 1, mean nan) or torch's exception class (IndexError for an
    empty reduced dim, RuntimeError when no dim is given)."""
    bad = []
    for shape in EMPTY_SHAPES:
        (t, tdt), (e, edt) = _outcomes(ex, lambda lib: lib.zeros(shape))
        msg = compare(e, t, False)
        if msg or tdt != edt:
            bad.append(f"{shape}: {msg or (edt, tdt)}")
    assert not bad, "\n".join(bad)


DIM_CASES = ["x.sum({d})", "x.mean({d}, keepdim=True)", "x.prod({d})", "x.amax({d})",
             "x.max({d})", "x.argmax({d})", "x.var({d})", "x.std({d})", "x.logsumexp({d})",
             "x.cumsum({d})", "x.cumprod({d})", "x.cummax({d})", "x.all({d})", "x.any({d})",
             "x.count_nonzero({d})", "x.median({d})", "x.mode({d})", "x.nansum({d})",
             "x.nanmean({d})", "x.quantile(0.5, {d})", "x.norm(dim={d})", "x.amin({d})",
             "x.kthvalue(1, {d})", "x.logcumsumexp({d})", "x.aminmax(dim={d})"]


@pytest.mark.parametrize("ex", DIM_CASES)
def test_reduction_dims(ex):
    """int, negative and tuple dims, duplicates and out-of-range dims (IndexError)."""
    bad = []
    for d in ["0", "-1", "2", "-3", "3", "-4", "(0, 2)", "(-1, 0)", "(1, 1)", "(0, 3)", "()",
              "[1]", "1.0", "None"]:
        for shape in [(2, 3, 4), ()]:
            (t, tdt), (e, edt) = _outcomes(ex.format(d=d), lambda lib: lib.arange(
                float(np.prod(shape))).reshape(shape) - 5)
            msg = compare(e, t, False)
            if msg or tdt != edt:
                bad.append(f"dim={d} shape={shape}: {msg or (edt, tdt)}")
    assert not bad, "\n".join(bad)


def test_named_tuples_print_and_unpack_like_torch():
    x = [[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]
    for ex in ["x.max(1)", "x.min(0, keepdim=True)", "x.median(1)", "x.nanmedian(0)",
               "x.mode(1)", "x.cummax(1)", "x.cummin(0)", "x.kthvalue(2, 1)",
               "x.aminmax()", "x.aminmax(dim=0)", "L.max(x, 1)"]:
        t = eval(ex, {"L": torch, "x": torch.tensor(x)})
        e = eval(ex, {"L": ember, "x": ember.tensor(x)})
        assert repr(e) == repr(t), ex
        assert type(e).__name__ == type(t).__name__ and e._fields == tuple(
            f for f in ("values", "indices", "min", "max") if hasattr(t, f))
        a, b = e
        assert a is e[0] and b is e[1]
        assert isinstance(e, tuple) and len(e) == 2


def test_reduction_dtype_rules():
    for name in ["bool", "uint8", "int8", "int16", "int32", "int64"]:
        x = ember.ones(3, dtype=getattr(ember, name))
        for r in (x.sum(), x.prod(), x.cumsum(0), x.cumprod(0), x.nansum(), x.sum(0)):
            assert r.dtype is ember.int64
        with pytest.raises(RuntimeError):
            x.mean()
        with pytest.raises(RuntimeError):
            x.var()
        assert x.mean(dtype=ember.float32).item() == 1.0
        assert x.sum(dtype=ember.int32).dtype is ember.int32
    assert ember.ones(2, dtype=ember.uint8).all().dtype is ember.uint8
    assert ember.ones(2).all().dtype is ember.bool
    assert ember.ones(2, dtype=ember.complex64).var().dtype is ember.float32


def test_low_precision_sums_accumulate_in_float32():
    """R16: bfloat16 sum of 10,000 ones is 9984 in torch (float32 accumulation, one rounding);
    a naive bfloat16 accumulation would stop at 256."""
    for name in ["bfloat16", "float16"]:
        t = torch.ones(10_000, dtype=getattr(torch, name))
        e = ember.ones(10_000, dtype=getattr(ember, name))
        for ex in ("x.sum()", "x.mean()", "x.cumsum(0)[-1]", "x.sum(0)", "(x * 0.1).sum()"):
            tv, ev = eval(ex, {"x": t}), eval(ex, {"x": e})
            assert ev.dtype is getattr(ember, name) and float(ev) == float(tv), (name, ex)


def test_var_std_correction_forms():
    x = torch.tensor([[1.0, 4.0, 2.0, 8.0], [3.0, 3.0, 0.0, 1.0]])
    y = ember.tensor(x.tolist())
    for ex in ["L.var(x)", "L.var(x, 1)", "L.var(x, 1, False)", "L.var(x, 1, True, True)",
               "L.var(x, unbiased=False)", "L.var(x, dim=0, correction=0)",
               "L.var(x, correction=3)", "L.std(x, (0, 1), correction=2, keepdim=True)",
               "L.var(x, False)", "x.std(unbiased=False)", "L.var_mean(x, 0, correction=0)[0]",
               "L.std_mean(x, unbiased=False)[0]", "L.var_mean(x, 1)[1]"]:
        assert np.allclose(eval(ex, {"L": ember, "x": y}).numpy(),
                           eval(ex, {"L": torch, "x": x}).numpy()), ex
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert ember.tensor([1.0]).var().isnan().item()
    with pytest.raises(TypeError):
        ember.var(y, 0, True, correction=1)


def test_quantile_errors_like_torch():
    for ex in ["L.tensor([1, 2]).quantile(0.5)", "L.tensor([1., 2]).quantile(1.5)",
               "L.tensor([1., 2]).quantile(L.tensor([[0.5]]))",
               "L.tensor([1., 2]).quantile(0.5, interpolation='foo')",
               "L.tensor([1., 2]).quantile(L.tensor([0.5], dtype=L.float64))",
               "L.tensor([]).quantile(0.5)", "L.tensor([1., 2]).quantile(0.5, dim=1)",
               "L.tensor([1., 2], dtype=L.float16).quantile(0.5)",
               "L.tensor([1., 2]).quantile(L.tensor([-0.5, 0.5]))"]:
        t = outcome(lambda: eval(ex, {"L": torch}))
        e = outcome(lambda: eval(ex, {"L": ember}))
        assert compare(e, t, False) is None, (ex, e[:2], t[:2])


def test_max_min_dispatch_forms():
    x = ember.tensor([[1.0, 5.0], [4.0, 2.0]])
    y = ember.tensor([[3.0, 3.0], [3.0, 3.0]])
    assert ember.max(x, y).tolist() == [[3.0, 5.0], [4.0, 3.0]]
    assert x.max(y).tolist() == [[3.0, 5.0], [4.0, 3.0]]
    assert ember.min(x, dim=1, keepdim=True).values.shape == (2, 1)
    assert ember.max(x, 0, True).indices.tolist() == [[1, 0]]
    assert x.max(other=y).tolist() == [[3.0, 5.0], [4.0, 3.0]]
    with pytest.raises(TypeError):
        ember.max(1.0)


# ---- property-based: random shapes, dtypes and dims (hypothesis) ---------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

_RED = st.sampled_from(["x.sum({d})", "x.mean({d})", "x.amax({d})", "x.max({d})",
                        "x.argmin({d})", "x.var({d})", "x.logsumexp({d})", "x.cumsum({d})",
                        "x.cumprod({d})", "x.cummin({d})", "x.all({d})", "x.prod({d})",
                        "x.median({d})", "x.mode({d})", "x.nansum({d})", "x.std({d}, True)",
                        "x.count_nonzero({d})", "x.any({d}, keepdim=True)",
                        "x.sum({d}, keepdim=True)", "x.norm(dim={d})"])


@settings(max_examples=300, deadline=None)
@given(shape=st.lists(st.integers(0, 3), max_size=3).map(tuple), ex=_RED,
       d=st.integers(-4, 3), dt=st.sampled_from(["bool", "uint8", "int64", "float16",
                                                 "float32", "float64"]),
       seed=st.integers(0, 1000))
def test_reduction_fuzz(shape, ex, d, dt, seed):
    rng = np.random.default_rng(seed)
    vals = rng.integers(-3, 4, shape)
    expr = ex.format(d=d)
    (t, tdt), (e, edt) = _outcomes(expr, lambda lib: lib.tensor(
        vals.tolist() if shape else int(vals), dtype=getattr(lib, dt)))
    assert compare(e, t, False) is None and tdt == edt, (expr, shape, dt, e[:2], t[:2])


_LAYOUT_REDUCTIONS = {
    "sum": lambda x: x.sum(1), "sum_keepdim": lambda x: x.sum(1, keepdim=True),
    "mean": lambda x: x.mean((0, 2)), "amax": lambda x: x.amax(2), "var": lambda x: x.var(1),
    "std_keepdim": lambda x: x.std(1, keepdim=True), "prod": lambda x: x.prod(1),
    "norm": lambda x: x.norm(dim=1), "norm_keepdim": lambda x: x.norm(2, 1, keepdim=True),
    "nansum": lambda x: x.nansum(1), "max": lambda x: x.max(1).values,
    "logsumexp": lambda x: x.logsumexp(1), "all": lambda x: x.all(1), "any": lambda x: x.any(1),
    "count_nonzero": lambda x: x.count_nonzero(1), "median": lambda x: x.median(1).values,
    "quantile": lambda x: x.quantile(0.5, 1), "argmax": lambda x: x.argmax(1),
}


@pytest.mark.parametrize("name", sorted(_LAYOUT_REDUCTIONS))
def test_reduction_of_permuted_input_is_laid_out_as_torch(name):
    """torch's reduction outputs are C-contiguous whatever the input's layout (NumPy's follow
    the input: x.permute(...).sum(1).view(-1) raised)."""
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    fn = _LAYOUT_REDUCTIONS[name]
    e = fn(ember.from_numpy(a).permute(3, 1, 0, 2))
    t = fn(torch.from_numpy(a).permute(3, 1, 0, 2))
    assert e.stride() == t.stride()
    assert e.view(-1).shape == t.view(-1).shape


_OUT_CASES = [
    # the dim-less overloads of sum/prod take dtype= only; mean's takes out= too
    "t.sum(x, out=t.empty(0))", "t.sum(x, keepdim=True)", "t.sum(x, keepdim=True, dtype=t.double)",
    "t.sum(x, out=t.empty(0), dtype=t.double)", "t.prod(x, out=t.empty(0))",
    "t.prod(x, keepdim=True)", "t.mean(x, keepdim=True)",
    "t.mean(x, out=t.empty(0), keepdim=True)", "t.median(x, out=(t.empty(0), t.empty(0).long()))",
    "t.nanmedian(x, keepdim=True)",
    # and these keep working
    "t.sum(x, None, True)", "t.sum(x, dim=None, out=t.empty(0))", "t.mean(x, out=t.empty(0))",
    "t.mean(x, None, True)", "x.sum()", "x.prod(dtype=t.double)",
    # out= dtypes: argmax/argmin int64 only, all/any bool or uint8
    "t.argmax(x, out=t.empty(0))", "t.argmin(x, 0, out=t.empty(0, dtype=t.int32))",
    "t.argmax(x, out=t.empty(0).long())", "t.all(x, out=t.empty(0))",
    "t.any(x, 1, out=t.empty(0, dtype=t.int32))", "t.all(x, out=t.empty(0, dtype=t.uint8))",
    "t.any(x.byte(), out=t.empty(0, dtype=t.bool))",
]


@pytest.mark.parametrize("code", _OUT_CASES)
def test_reduction_out_and_keepdim_without_dim_as_torch(code):
    """torch's argument parser refuses keepdim=/out= where the dim-less overload has none, and
    the kernels check out='s dtype: the same result, or exception class and message. (torch
    lists the keywords it got in reverse call order; ember, which cannot see that order, in
    alphabetical order: the calls here give both.)"""
    e, t = eval_both(code, lambda lib: {"x": lib.tensor([[1.0, 0.0, 2.0]])})
    assert e == t


@pytest.mark.parametrize("code", ["x.sum((0, 1, 1, 0))", "x.amax((2, 0, 0, 2))", "x.std((1, -2))",
                                  "t.linalg.vector_norm(x, dim=(0, 1, 1, 0))",
                                  "x.flip((0, 1, 1, 0))",
                                  "t.linalg.vector_norm(t.tensor(3.0), dim=(0, 0))"])
def test_repeated_dims_name_the_first_seen_again(code):
    """One dim-list check (ops/_dims.unique_dims): torch names the first dim seen twice."""
    e, t = eval_both(code, lambda lib: {"x": lib.ones(2, 2, 2)})
    assert e == t


_KEEPDIM_CALLS = {
    "sum": lambda x, k: x.sum(0, k), "nansum": lambda x, k: x.nansum(0, k),
    "mean": lambda x, k: x.mean(0, k), "nanmean": lambda x, k: x.nanmean(0, k),
    "prod": lambda x, k: x.prod(0, k), "amax": lambda x, k: x.amax(0, k),
    "amin": lambda x, k: x.amin(0, k), "max": lambda x, k: x.max(0, k),
    "min": lambda x, k: x.min(0, k), "argmax": lambda x, k: x.argmax(0, k),
    "argmin": lambda x, k: x.argmin(0, k), "logsumexp": lambda x, k: x.logsumexp(0, k),
    "median": lambda x, k: x.median(0, k), "nanmedian": lambda x, k: x.nanmedian(0, k),
    "mode": lambda x, k: x.mode(0, k), "kthvalue": lambda x, k: x.kthvalue(1, 0, k),
    "all": lambda x, k: x.all(0, k), "any": lambda x, k: x.any(0, k),
    "var": lambda x, k: x.var(0, True, k), "std": lambda x, k: x.std(0, keepdim=k),
    "quantile": lambda x, k: x.quantile(0.5, 0, k),
    "aminmax": lambda x, k: x.aminmax(dim=0, keepdim=k),
}


@pytest.mark.parametrize("name", list(_KEEPDIM_CALLS))
@pytest.mark.parametrize("keepdim", [1, 0, None, 1.0, np.bool_(True), True])
def test_keepdim_must_be_a_bool(name, keepdim):
    """torch's parser takes only a bool for keepdim: x.sum(0, 1) is a TypeError, not a sum
    over dim 0 kept (which ember gave, silently)."""
    outcomes = []
    for L in (ember, torch):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]])
        try:
            r = _KEEPDIM_CALLS[name](x, keepdim)
            outcomes.append(tuple((r[0] if isinstance(r, tuple) else r).shape))
        except TypeError as e:
            assert "argument 'keepdim'" in str(e) or "invalid combination" in str(e)
            outcomes.append("TypeError")
    assert outcomes[0] == outcomes[1]


def test_squeeze_method_takes_dims_as_varargs():
    for L in (ember, torch):
        x = L.ones(1, 3, 1, 2)
        assert tuple(x.squeeze(0, 2).shape) == (3, 2)
        assert tuple(L.ones(1, 3, 1, 2).squeeze_(0, 2).shape) == (3, 2)
        with pytest.raises(TypeError):
            L.squeeze(x, 0, 2)


# ---- var/std (and their _mean forms): torch's Welford pass ----------------------------------
_WELFORD_CASES = [((7, 9), 0), ((7, 9), 1), ((7, 300), 1), ((7, 300), None), ((5, 30, 3), 1),
                  ((5, 30, 3), (0, 2)), ((5, 30, 3), None), ((4, 6), (0, 1))]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("fn", ["var_mean", "std_mean", "var", "std"])
def test_variance_bits_as_torch(fn, dtype):
    """torch reduces by Welford's steps in double (var/std of everything: two passes), 2-byte
    floats through float32: every result bit for bit, but float64 over more than 64 elements a
    result (ember takes two passes there: within an ulp or two)."""
    rng = np.random.default_rng(0)
    for shape, dim in _WELFORD_CASES:
        a = rng.standard_normal(shape) * 10 + 3
        args = () if dim is None else (dim,)
        for corr in (0, 1):
            t = getattr(torch, fn)(torch.tensor(a, dtype=getattr(torch, dtype)), *args,
                                   correction=corr)
            e = getattr(ember, fn)(ember.tensor(a, dtype=getattr(ember, dtype)), *args,
                                   correction=corr)
            n = int(np.prod(shape if dim is None else np.take(shape, dim)))
            exact = dtype != "float64" or n <= 64
            pairs = zip(e if isinstance(e, tuple) else (e,), t if isinstance(t, tuple) else (t,))
            for x, y in pairs:
                if exact:
                    assert_close(x, y, rtol=0, atol=0)
                else:
                    assert_close(x, y, rtol=1e-14, atol=0)


def _hard_rows(rng, n):
    """Rows of n elements that stress a variance's rounding: ordinary ones, a large mean over
    a small spread, neighbours a float32 ulp apart, small integers (ties), equal elements and
    signed zeros, mixed magnitudes, tiny numbers, and rows with an infinity or a NaN."""
    one = np.float32(1.5)
    up = np.nextafter(one, np.float32(2))
    return np.stack([
        rng.standard_normal(n), rng.standard_normal(n) * 1e-3 + 1e4,
        np.where(rng.random(n) < 0.5, one, up), rng.integers(-3, 4, n).astype(float),
        np.full(n, 2.5), np.where(rng.random(n) < 0.5, 0.0, -0.0),
        rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n), rng.standard_normal(n) * 1e-40,
        np.where(np.arange(n) == n // 2, np.inf, 1.0), np.where(np.arange(n) == 0, np.nan, 2.0)])


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_variance_of_hard_rows_bits_as_torch(dtype, monkeypatch):
    """var/std (and _mean) over up to 64 elements a result skip Welford's Python steps where a
    two-pass result rounds to the same bits (ops/reduce._welford_checked): every row kind,
    bit for bit (NaN as NaN) as torch; ordinary rows take no steps but near a boundary."""
    from ember.ops import reduce as red
    steps = []
    welford = red._welford_np
    monkeypatch.setattr(red, "_welford_np", lambda rows, n: steps.append(
        rows.reshape(-1, n).shape[0]) or welford(rows, n))
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 33, 64):
        a = _hard_rows(rng, n)
        tt = torch.tensor(a, dtype=getattr(torch, dtype))
        ee = ember.tensor(tt.float().numpy(), dtype=getattr(ember, dtype))
        for fn in ("var", "std", "var_mean", "std_mean"):
            for corr in (0, 1):
                t = getattr(torch, fn)(tt, 1, correction=corr)
                e = getattr(ember, fn)(ee, 1, correction=corr)
                for x, y in zip(e if isinstance(e, tuple) else (e,),
                                t if isinstance(t, tuple) else (t,)):
                    x, y = x.float().numpy(), y.float().numpy()
                    nan = np.isnan(x) & np.isnan(y)
                    np.testing.assert_array_equal(np.where(nan, 0, x).view(np.uint32),
                                                  np.where(nan, 0, y).view(np.uint32))
    steps.clear()
    x = rng.standard_normal((32, 64)).astype(np.float32)
    for fn in ("var", "std", "var_mean", "std_mean"):
        getattr(ember, fn)(ember.tensor(x), 1)
    # (one row's mean, -0.00116445165, lies within 2.5e-13 of a float32 rounding boundary:
    # var_mean and std_mean take Welford's steps for it, one row each of 128 results)
    assert sum(steps) <= 2


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_var_mean_of_infinities_as_torch(dtype):
    """Welford's mean turns NaN once an infinity is followed by another element."""
    inf, nan = float("inf"), float("nan")
    rows = [[inf, 1., 2.], [1., 2., inf], [1., inf, 2.], [-inf, inf, 1.], [inf, inf, 1.],
            [1., 2., nan], [60000., -60000., 1.], [inf]]
    for row in rows:
        for long in (False, True):              # > 64 elements: ember's two-pass path
            r = ([1.0] * 70 + row) if long else row
            t = torch.var_mean(torch.tensor(r, dtype=getattr(torch, dtype)))
            e = ember.var_mean(ember.tensor(r, dtype=getattr(ember, dtype)))
            assert_close(e, t, rtol=1e-5, atol=0)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_scans_have_no_bool_kernel_as_torch(op):
    """A bool result dtype (dtype=torch.bool, or in place on a bool tensor) reaches torch's
    missing kernel; other in-place scans compute in the tensor's dtype."""
    for make in (lambda L: getattr(L, op)(L.tensor([True, False]), 0, dtype=L.bool),
                 lambda L: getattr(L.tensor([True, False]), op + "_")(0),
                 lambda L: getattr(L.tensor([3, 100], dtype=L.int8), op + "_")(0),
                 lambda L: getattr(L.tensor([True, True]), op)(0)):
        (e, t) = (outcome(lambda: make(lib)) for lib in (ember, torch))
        assert e[:2] == t[:2] and (len(t) < 3 or np.array_equal(e[2], t[2]))


def test_topk_random_shapes_ties_and_nan_match_torch():
    """topk's small-input path (sort + argsort) and partition path against torch: values and
    indices, with ties (half-integer values), NaN, every dim and k."""
    rng = np.random.default_rng(0)
    for trial in range(400):
        shape = tuple(int(s) for s in rng.integers(1, 9, rng.integers(1, 4)))
        if trial % 50 == 0:
            shape = (70, 80)            # above the small-input size
        a = rng.standard_normal(shape).astype(np.float32)
        if trial % 3 == 0:
            a = np.round(a * 2) / 2
        if trial % 7 == 0:
            a[tuple(int(rng.integers(0, s)) for s in shape)] = np.nan
        d = int(rng.integers(0, len(shape)))
        k = int(rng.integers(0, shape[d] + 1)) if trial % 50 else 3
        for largest in (True, False):
            t = torch.from_numpy(a).topk(k, d, largest)
            e = ember.tensor(a).topk(k, d, largest)
            np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
            np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_topk_small_sorted_by_float_keys_match_torch(dtype):
    """Small sorted topk (ops/index._topk_by_sort: positions in the keys' spare mantissa bits,
    one float sort): values, indices and C-contiguous outputs as torch's along every dim,
    with signed zeros and infinities (which take the other paths), float16 too."""
    rng = np.random.default_rng(3)
    for trial in range(120):
        shape = tuple(int(s) for s in rng.integers(1, 20, rng.integers(1, 4)))
        a = rng.standard_normal(shape)
        if trial % 4 == 1:
            a[rng.random(shape) < 0.1] = -0.0
            a[rng.random(shape) < 0.1] = 0.0
        if trial % 4 == 2:
            a[rng.random(shape) < 0.1] = -np.inf
        a = a.astype(dtype)
        d = int(rng.integers(0, len(shape)))
        k = int(rng.integers(0, shape[d] + 1))
        for largest in (True, False):
            t = torch.from_numpy(a).topk(k, d, largest)
            e = ember.tensor(a).topk(k, d, largest)
            np.testing.assert_array_equal(e.values.numpy().view(f"u{a.itemsize}"),
                                          t.values.numpy().view(f"u{a.itemsize}"))
            np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())
            assert e.values.is_contiguous() and e.indices.is_contiguous()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_var_std_to_one_element_as_torchs_all_reduce(dtype):
    """A var/std with one output element is torch's std_var_all_cpu: the mean in the input's
    dtype, then the squared deviations summed in double one by one (per thread's chunk above
    32768 elements): bit for bit, whole tensors and single-row dims, transposed too (ember took
    Welford's steps or NumPy's pairwise sums: an ulp off in some)."""
    rng = np.random.default_rng(0)
    for n in (2, 5, 17, 64, 65, 300, 5000, 40000, 70001):
        for shape in ((n,), (n, 1), (2, n)):
            a = (rng.standard_normal(shape) * 1e3 + 1e4).astype(dtype)
            for x in (a, a.T):
                calls = [("var", {}), ("std", {}), ("var", dict(correction=0))]
                if x.shape[-1] == 1 or x.ndim == 1:
                    calls += [("var", dict(dim=0)), ("std", dict(dim=0, unbiased=False))]
                for name, kw in calls:
                    want = getattr(torch, name)(torch.tensor(x), **kw).numpy()
                    got = getattr(ember, name)(ember.tensor(x), **kw).numpy()
                    np.testing.assert_array_equal(got, want, err_msg=f"{name} {x.shape} {kw}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sum_over_non_adjacent_dims_in_torchs_order(dtype):
    """Several non-adjacent reduced dims: torch's iterator sums the rows of the innermost
    reduced run and adds them onto the zeroed output one after another (the next reduced run
    fastest); a reduction whose kept dims are all 1 is its reduction to one number (chunked
    per thread above 32768 elements). Bit for bit, sum and mean, keepdim or not."""
    rng = np.random.default_rng(0)
    cases = [((2, 3, 4), (0, 2)), ((5, 1, 9, 2, 17), (0, 2, 4)), ((3, 8, 2, 33), (1, 3)),
             ((9, 2, 3, 5), (0, 2)), ((17, 4, 3, 9), (0, 1, 3)), ((1, 33, 17, 17, 9), (1, 2, 3, 4)),
             ((2, 2, 2, 2, 2, 2), (0, 2, 5)), ((4, 5, 6), (0, 1, 2)), ((5, 2, 17, 3), (0, 2)),
             ((3, 4, 70, 2), (0, 2)), ((5, 33, 7), (1,)), ((2, 300, 5), (1,)), ((12, 6), (0,))]
    for shape, dims in cases:
        a = (rng.standard_normal(shape) * 10).astype(dtype)
        for keep in (False, True):
            np.testing.assert_array_equal(ember.tensor(a).sum(dims, keepdim=keep).numpy(),
                                          torch.tensor(a).sum(dims, keepdim=keep).numpy(),
                                          err_msg=f"sum {shape} {dims}")
            np.testing.assert_array_equal(ember.tensor(a).mean(dims, keepdim=keep).numpy(),
                                          torch.tensor(a).mean(dims, keepdim=keep).numpy(),
                                          err_msg=f"mean {shape} {dims}")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_small_topk_and_sort_with_extreme_values_match_torch(dtype):
    """The float-key sort (ops/index._topk_by_sort) on extreme finite values (largest and
    smallest normals, subnormals, both signs: the positions in the low bits must round back
    away) and on inputs it hands on (NaN, +-inf): topk and sort values bit for bit, indices,
    along every dim."""
    info = np.finfo(dtype)
    specials = np.array([info.max, -info.max, info.tiny, -info.tiny, info.smallest_subnormal,
                         -info.smallest_subnormal, 1.0, -1.0], dtype)
    rng = np.random.default_rng(5)
    for trial in range(80):
        shape = tuple(int(s) for s in rng.integers(1, 12, rng.integers(1, 4)))
        a = (rng.standard_normal(shape) * 10).astype(dtype)
        pick = rng.random(shape) < 0.3
        a[pick] = rng.permutation(np.resize(specials, int(pick.sum())))
        if trial % 5 == 3:
            a[rng.random(shape) < 0.1] = [np.nan, np.inf, -np.inf][trial % 3]
        d = int(rng.integers(0, len(shape)))
        k = int(rng.integers(0, shape[d] + 1))
        for largest in (True, False):
            got = [ember.tensor(a).topk(k, d, largest), ember.tensor(a).sort(d, largest)]
            want = [torch.from_numpy(a).topk(k, d, largest), torch.from_numpy(a).sort(d, largest)]
            for e, t in zip(got, want):
                np.testing.assert_array_equal(e.values.numpy().view(f"u{a.itemsize}"),
                                              t.values.numpy().view(f"u{a.itemsize}"))
                np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())
