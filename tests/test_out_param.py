"""`out=` on the functions torch gives it: the result lands in `out` (resized from an empty
tensor, with torch's dtype rules), `out` is returned, and inputs that require grad raise torch's
error. One table, torch as the oracle."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_promotion import compare, outcome

F = np.array([[0.2, 0.7, 0.5], [0.9, 0.3, 0.6]], np.float32)     # in (0, 1): every domain fits
G = np.array([[0.4, 0.7, 0.1], [0.5, 0.8, 0.6]], np.float32)
SPECIAL = np.array([np.inf, -np.inf, np.nan, -0.0, 1.5, -2.0], np.float32)
I = np.array([[1, 6, -3], [4, 5, 2]], np.int64)
SHIFT = np.array([[1, 2, 0], [3, 1, 2]], np.int64)
IDX = np.array([[1, 2, 0], [2, 1, 2]], np.int64)


def f(a=F):
    return lambda L, rg: L.tensor(a, requires_grad=rg)


def i(a=I):
    return lambda L, rg: L.tensor(a)


def x2(a, b):
    return lambda L, rg: (a(L, rg), b(L, rg))


def x1(a, *rest):
    return lambda L, rg: (a(L, rg), *rest)


UNARY = """abs acos asin asinh atan atanh ceil cos cosh deg2rad exp floor lgamma log log10 log1p log2
    neg rad2deg reciprocal round rsqrt sgn sign sin sinh sqrt square tan tanh trunc msort""".split()
BINARY = "eq ge gt le lt ne mul remainder fmod floor_divide".split()
BITWISE = """bitwise_and bitwise_or bitwise_xor bitwise_left_shift
    bitwise_right_shift""".split()

# id -> (function name, args(L, requires_grad) -> tuple, keyword arguments)
CASES = {n: (n, x1(f()), {}) for n in UNARY}
CASES.update({n: (n, x2(f(), f(G)), {}) for n in BINARY})
CASES.update({n + "_scalar": (n, x1(f(), 0.3), {}) for n in BINARY})
CASES.update({n: (n, x2(i(), i(SHIFT)), {}) for n in BITWISE})
CASES.update({
    "acosh": ("acosh", x1(f(F + 1)), {}),
    "abs_int": ("abs", x1(i()), {}),
    "mul_int": ("mul", x2(i(), i(SHIFT)), {}),
    "mul_scalar_self": ("mul", lambda L, rg: (2, L.tensor(F, requires_grad=rg)), {}),
    "round_decimals": ("round", x1(f(F * 10)), {"decimals": 1}),
    "bitwise_not": ("bitwise_not", x1(i()), {}),
    "logical_not": ("logical_not", x1(f(SPECIAL)), {}),
    "isneginf": ("isneginf", x1(f(SPECIAL)), {}),
    "isposinf": ("isposinf", x1(f(SPECIAL)), {}),
    "signbit": ("signbit", x1(f(SPECIAL)), {}),
    "diag_1d": ("diag", x1(f(F[0]), 1), {}),
    "diag_2d": ("diag", x1(f()), {}),
    "narrow_copy": ("narrow_copy", x1(f(), 1, 1, 2), {}),
    "range": ("range", lambda L, rg: (0, 4), {}),
    "range_step": ("range", lambda L, rg: (1, 7, 2), {}),    # not 0.5: torch crashes (int out)
    "nan_to_num": ("nan_to_num", x1(f(SPECIAL)), {}),
    "conj_physical": ("conj_physical", x1(f()), {}),
    "arange": ("arange", lambda L, rg: (0, 4), {}),
    # cat and friends: castable out dtypes are fine, others a TypeError
    "cat": ("cat", lambda L, rg: ([f()(L, rg), f(G)(L, rg)], 1), {}),
    "stack": ("stack", lambda L, rg: ([f()(L, rg), f(G)(L, rg)],), {}),
    "hstack": ("hstack", lambda L, rg: ([f()(L, rg), f(G)(L, rg)],), {}),
    # exact out dtype, RuntimeError otherwise
    "tril": ("tril", x1(f()), {}),
    "triu": ("triu", x1(f(), 1), {}),
    "index_select": ("index_select", lambda L, rg: (f()(L, rg), 1, L.tensor([2, 0])), {}),
    "gather": ("gather", lambda L, rg: (f()(L, rg), 1, L.tensor(IDX)), {}),
    "take_along_dim": ("take_along_dim", lambda L, rg: (f()(L, rg), L.tensor(IDX), 1), {}),
    "scatter": ("scatter", lambda L, rg: (f()(L, rg), 1, L.tensor([[2], [0]]), f(G)(L, rg)),
                {}),
    "index_add": ("index_add", lambda L, rg: (f()(L, rg), 1, L.tensor([2, 0]),
                                              f(G[:, :2])(L, rg)), {}),
    "masked_select": ("masked_select", lambda L, rg: (f()(L, rg), L.tensor(F > 0.4)), {}),
    "nonzero": ("nonzero", lambda L, rg: (L.tensor(F > 0.4),), {}),
    "searchsorted": ("searchsorted", lambda L, rg: (L.tensor([0.1, 0.5, 0.8]), f()(L, rg)), {}),
    "mm": ("mm", lambda L, rg: (f()(L, rg), f(G.T)(L, rg)), {}),
    "linalg.vecdot": ("linalg.vecdot", x2(f(), f(G)), {}),
    "linalg.matrix_norm": ("linalg.matrix_norm", x1(f()), {}),
    "linalg.matrix_norm_nuc": ("linalg.matrix_norm", x1(f()), {"ord": "nuc"}),
    "linalg.matrix_norm_1": ("linalg.matrix_norm", x1(f()), {"ord": 1}),
    "linalg.solve_triangular": ("linalg.solve_triangular",
                                lambda L, rg: (f(np.triu(F[:, :2].T @ F[:, :2] + np.eye(2,
                                               dtype=np.float32)))(L, rg), f(G[:, :2].T)(L, rg)),
                                {"upper": True}),
    "bmm": ("bmm", lambda L, rg: (f(F[None])(L, rg), f(G.T[None])(L, rg)), {}),
    "matmul": ("matmul", lambda L, rg: (f()(L, rg), f(G.T)(L, rg)), {}),
    "mv": ("mv", lambda L, rg: (f()(L, rg), f(G[0])(L, rg)), {}),
    "dot": ("dot", lambda L, rg: (f(F[0])(L, rg), f(G[0])(L, rg)), {}),
    "addmm": ("addmm", lambda L, rg: (f(F[:, :2])(L, rg), f()(L, rg), f(G.T)(L, rg)), {}),
    "inverse": ("inverse", x1(f(np.array([[2, 1], [1, 3]], np.float32))), {}),
    # castable out dtypes are fine
    "outer": ("outer", lambda L, rg: (f(F[0])(L, rg), f(G[1])(L, rg)), {}),
    "kron": ("kron", lambda L, rg: (f()(L, rg), f(G)(L, rg)), {}),
    # ember ignored these outs (a new tensor returned, `out` left as it was)
    "normalize": ("nn.functional.normalize", x1(f()), {}),
    "normalize_dim0": ("nn.functional.normalize", x1(f()), {"p": 1, "dim": 0}),
    "ormqr": ("ormqr", lambda L, rg: (*L.geqrf(L.tensor(F.T @ F + np.eye(3, dtype=np.float32))),
                                      f(G.T)(L, rg)), {}),
})
IDS = sorted(CASES)
OUT_DTYPES = ["float32", "float64", "int64", "int32", "bool", "complex64"]
# torch resizes a non-empty `out` of another shape silently here (ember's narrow_copy warns)
QUIET_RESIZE = {"narrow_copy", "range", "arange"}
# torch lets an input that requires grad through (its result gets a NotImplemented grad_fn);
# ember refuses it like every other out= function
GRAD_QUIRKS = {"conj_physical",
               # torch's composite matrix_norm runs out= on inputs that require grad (leaving
               # `out` detached); ember refuses, as torch's own kernels do
               "linalg.matrix_norm", "linalg.matrix_norm_1", "linalg.matrix_norm_nuc"}


def _resolve(L, name):
    for part in name.split("."):        # "linalg.vecdot"
        L = getattr(L, part)
    return L


def call(L, case, out, rg=False):
    name, args, kwargs = CASES[case]
    return _resolve(L, name)(*args(L, rg), **kwargs, out=out)


def expected(case):
    name, args, kwargs = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _resolve(torch, name)(*args(torch, False), **kwargs)


def result_dtype(case):
    return str(expected(case).dtype).replace("torch.", "")


def _into(L, case, dt):
    """The outcome of calling with an empty `out` of dtype `dt`, and that out if it worked."""
    out = L.empty(0, dtype=getattr(L, dt))
    o = outcome(lambda: call(L, case, out))
    return o, (out if o[0] == "ok" else None)


@pytest.mark.parametrize("case", IDS)
def test_result_written_into_out_and_returned(case):
    res = {}
    for L in (torch, ember):
        out = L.empty(0, dtype=getattr(L, result_dtype(case)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert call(L, case, out) is out
        res[L] = outcome(lambda out=out: out)
    assert compare(res[ember], res[torch], False) is None, compare(res[ember], res[torch], False)


@pytest.mark.parametrize("case", IDS)
def test_out_dtypes(case):
    """Each out dtype either holds the cast result or raises the exception torch raises."""
    bad = []
    for dt in OUT_DTYPES:
        t, _ = _into(torch, case, dt)
        e, out = _into(ember, case, dt)
        msg = compare(e, t, False)
        if msg:
            bad.append(f"{dt}: {msg}")
        elif out is not None and str(out.dtype) != "torch." + dt:
            bad.append(f"{dt}: out became {out.dtype}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("case", IDS)
@pytest.mark.parametrize("shape", [(0, 3), (4, 5)], ids=["empty", "nonempty"])
def test_out_of_another_shape_is_resized(case, shape):
    warned = {}
    for L in (torch, ember):
        out = L.empty(shape, dtype=getattr(L, result_dtype(case)))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = call(L, case, out)
        assert r is out and tuple(out.shape) == tuple(expected(case).shape)
        np.testing.assert_allclose(np.asarray(out.tolist(), np.float64),
                                   expected(case).double().numpy(), rtol=1e-6, equal_nan=True)
        warned[L] = any("was resized" in str(m.message) for m in w)
    assert warned[torch] == (shape == (4, 5) and CASES[case][0] not in QUIET_RESIZE)
    if CASES[case][0] != "narrow_copy":
        assert warned[ember] == warned[torch]


@pytest.mark.parametrize("case", IDS)
def test_inputs_requiring_grad(case):
    """torch refuses out= when it would have to record autograd; under no_grad it is fine."""
    dt = result_dtype(case)
    res = {}
    for L in (torch, ember):
        out = L.empty(0, dtype=getattr(L, dt))
        try:
            call(L, case, out, rg=True)
            res[L] = "ok"
        except RuntimeError as e:
            res[L] = ("autodiff" if "don't support automatic differentiation" in str(e)
                      else type(e).__name__)
        with L.no_grad():
            assert call(L, case, L.empty(0, dtype=getattr(L, dt)), rg=True).requires_grad is False
    assert res[ember] == ("autodiff" if case in GRAD_QUIRKS else res[torch])


def test_out_must_be_a_tensor():
    for L in (torch, ember):
        with pytest.raises(TypeError):
            L.exp(L.ones(2), out=[0.0, 0.0])


def test_out_may_alias_an_input():
    res = {}
    for L in (torch, ember):
        x = L.tensor(F)
        assert L.exp(x, out=x) is x and L.mul(x, x, out=x) is x
        res[L] = x.numpy()
    np.testing.assert_allclose(res[ember], res[torch], rtol=1e-6)


def test_non_boolean_out_of_predicates():
    for name in ("isposinf", "isneginf", "signbit"):
        for L in (torch, ember):
            with pytest.raises(RuntimeError):
                getattr(L, name)(L.tensor(F), out=L.empty(0))


def test_every_function_torch_documents_out_for_takes_it():
    """ember functions without `out` where torch documents one: only those torch rejects it for."""
    import inspect
    missing = set()
    for name in dir(torch):
        t, e = getattr(torch, name, None), getattr(ember, name, None)
        if name.startswith("_") or not callable(e) or \
                "out (Tensor, optional)" not in (getattr(t, "__doc__", "") or ""):
            continue
        try:
            params = inspect.signature(e).parameters
        except (TypeError, ValueError):
            continue
        if "out" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            missing.add(name)
    assert missing == {"std_mean", "var_mean"}      # torch's overloads take no `out` either


@pytest.mark.parametrize("case", IDS)
@pytest.mark.parametrize("grad_mode", [True, False], ids=["grad", "no_grad"])
def test_out_requiring_grad(case, grad_mode):
    """An `out` that requires grad is refused too (in grad mode), unless the result has no
    derivative."""
    res = {}
    for L in (torch, ember):
        out = L.zeros(expected(case).shape, dtype=L.float64, requires_grad=True)
        with L.set_grad_enabled(grad_mode):
            res[L] = outcome(lambda L=L, out=out: call(L, case, out))[:2]
    assert res[ember] == res[torch]


# ---- ops with several results: out=(values, indices) ------------------------------------------
# id -> (function name, args(L, requires_grad) -> tuple, keyword arguments)
TUPLE_CASES = {
    "sort": ("sort", x1(f(), 1), {}),
    "sort_descending": ("sort", x1(f()), {"descending": True}),
    "topk": ("topk", x1(f(), 2), {}),
    "max_dim": ("max", x1(f(), 1), {}),
    "min_dim": ("min", x1(f(), 0, True), {}),
    "kthvalue": ("kthvalue", x1(f(), 2), {}),
    "mode": ("mode", x1(f(), 1), {}),
    "median_dim": ("median", x1(f(), 1), {}),
    "nanmedian_dim": ("nanmedian", x1(f(), 0), {}),
    "cummax": ("cummax", x1(f(), 1), {}),
    "cummin": ("cummin", x1(f(), 0), {}),
    "aminmax": ("aminmax", x1(f()), {"dim": 1}),
}
TIDS = sorted(TUPLE_CASES)


def tcall(L, case, out, rg=False):
    name, args, kwargs = TUPLE_CASES[case]
    return getattr(L, name)(*args(L, rg), **kwargs, out=out)


def texpected(case):
    name, args, kwargs = TUPLE_CASES[case]
    return getattr(torch, name)(*args(torch, False), **kwargs)


def tdtypes(case):
    return [str(r.dtype).replace("torch.", "") for r in texpected(case)]


def touts(L, case, shape=(0,), dtypes=None):
    return tuple(L.empty(shape, dtype=getattr(L, dt)) for dt in dtypes or tdtypes(case))


@pytest.mark.parametrize("case", TIDS)
def test_tuple_out_written_and_returned(case):
    res = {}
    for L in (torch, ember):
        outs = touts(L, case)
        r = tcall(L, case, list(outs) if case == "sort" else outs)
        assert all(a is b for a, b in zip(r, outs)) and len(r) == len(outs)
        assert r.values is outs[0] if hasattr(texpected(case), "values") else True
        res[L] = [outcome(lambda o=o: o) for o in outs]
    for e, t in zip(res[ember], res[torch]):
        assert compare(e, t, False) is None, compare(e, t, False)


@pytest.mark.parametrize("get_infos", [False, True])
def test_lu_out_written_and_returned(get_infos):
    """torch.lu(out=...) resizes each given tensor to its result and returns `out` itself
    (ember ignored it); a wrong number of tensors is torch's TypeError."""
    res = {}
    for L in (torch, ember):
        res[L] = []
        for n in (2, 3, 1):
            outs = [L.empty(0), L.empty(0, dtype=L.int32), L.empty(0, dtype=L.int32)][:n]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    r = L.lu(L.tensor(F.T @ G + np.eye(3, dtype=np.float32)),
                             get_infos=get_infos, out=outs) is outs
                except TypeError as e:
                    r = str(e)
            res[L].append((r, [np.round(np.array(o.tolist(), np.float64), 5).tolist()
                               for o in outs]))
    assert res[ember] == res[torch]


@pytest.mark.parametrize("case", TIDS)
def test_tuple_out_dtypes(case):
    """Every out dtype must equal the result's: torch raises RuntimeError otherwise."""
    bad = []
    for d0 in ("float32", "float64", "int64"):
        for d1 in ("int64", "int32", "float32"):
            res = {}
            for L in (torch, ember):
                outs = touts(L, case, dtypes=(d0, d1))
                res[L] = outcome(lambda L=L, outs=outs: tcall(L, case, outs)[0])[:2]
            if res[ember] != res[torch]:
                bad.append(f"{d0},{d1}: ember {res[ember]} torch {res[torch]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("case", TIDS)
@pytest.mark.parametrize("shape", [(0, 3), (4, 5)], ids=["empty", "nonempty"])
def test_tuple_out_resized(case, shape):
    warned = {}
    for L in (torch, ember):
        outs = touts(L, case, shape)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            tcall(L, case, outs)
        for o, ex in zip(outs, texpected(case)):
            np.testing.assert_allclose(np.asarray(o.tolist(), np.float64),
                                       ex.double().numpy(), rtol=1e-6)
        warned[L] = sum("was resized" in str(m.message) for m in w)
    assert warned[ember] == warned[torch]


@pytest.mark.parametrize("case", TIDS)
def test_tuple_out_autograd_and_types(case):
    for L in (torch, ember):
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            tcall(L, case, touts(L, case), rg=True)
        with L.no_grad():
            assert tcall(L, case, touts(L, case), rg=True)[0].requires_grad is False
        with pytest.raises(TypeError):
            tcall(L, case, L.empty(0))
        with pytest.raises(TypeError):
            tcall(L, case, touts(L, case)[:1])


@pytest.mark.parametrize("name", ["arange", "range"])
def test_factory_dtype_must_match_out(name):
    for L in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for od, d in (("float32", "float64"), ("int64", "float32"), ("float32", "int64")):
                with pytest.raises(RuntimeError, match="does not match dtype of out"):
                    getattr(L, name)(0, 4, out=L.empty(0, dtype=getattr(L, od)),
                                     dtype=getattr(L, d))
            out = L.empty(0, dtype=L.float64)
            assert getattr(L, name)(0, 4, out=out, dtype=L.float64) is out
