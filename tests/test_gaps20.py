"""Differences from torch that earlier rounds listed and left (round 20), each against torch:
GELU's signed zeros, sort/argsort/topk signatures, views' strides and offsets under indexing,
user-facing messages naming torch, and torch.func's refusals."""
import math

import numpy as np
import pytest
import torch

import ember


def _bits(t):
    """Values and sign bits (of zeros too) of a float tensor, NaN compared as NaN."""
    a = t.detach().float().numpy()
    nan = np.isnan(a)
    return np.where(nan, 0, a).tolist(), nan.tolist(), (np.signbit(a) & ~nan).tolist()


# ---- GELU at -0.0, far negative and infinite inputs -------------------------------------------
_GELU_XS = [-0.0, -10.0, -40.0, -1e20, -math.inf, math.inf, 0.0, 3.0, -3e38, 1e20]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64", "float16"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("layout", ["contiguous", "one", "0-d", "transposed", "strided"])
def test_gelu_signed_zeros_and_infinities_match_torch(dtype, approximate, layout, request):
    """torch's contiguous float32 GELU of more than one element runs oneDNN, whose AVX2 kernel's
    zeros are +0.0 (ember gave -0.0; its avx512_core kernel keeps -0.0, see ember._cpu); its
    other inputs and dtypes give -0.0; +-inf give inf and nan (the avx512_core kernel: nan and
    nan, and inf from 2**127 on; bfloat16 goes to it too)."""
    if (ember._cpu.ONEDNN_AVX512 and (dtype, approximate, layout) ==
            ("float32", "none", "contiguous")):
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "oneDNN's avx512_core GELU is a piecewise minimax polynomial (its own table of 24 "
            "degree-5 pieces) that ember does not reproduce: gelu(3.0) is 2.9959497 there, "
            "2.9959502 (the correctly rounded value) here; its zeros, infinities and overflow "
            "are matched")))
    res = []
    for L in (ember, torch):
        x = L.tensor(_GELU_XS, dtype=getattr(L, dtype))
        if layout == "one":
            x = x[:1]
        elif layout == "0-d":
            x = x[1]
        elif layout == "transposed":
            x = x.reshape(2, 5).t()
        elif layout == "strided":
            x = x[::2]
        y = L.nn.functional.gelu(x, approximate=approximate)
        res.append(_bits(y) + (y.dtype == getattr(L, dtype),))
    assert res[0] == res[1]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64", "float16"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_at_infinities_matches_torch(dtype, approximate):
    res = []
    for L in (ember, torch):
        x = L.tensor([math.inf, -math.inf, 0.0, -0.0], dtype=getattr(L, dtype),
                     requires_grad=True)
        L.nn.functional.gelu(x, approximate=approximate).sum().backward()
        res.append(np.isnan(x.grad.float().numpy()).tolist() + x.grad.float()[2:].tolist())
    assert res[0] == res[1]


# ---- sort / argsort / topk / msort signatures --------------------------------------------------
def _outcome(L, src):
    x = L.tensor([[3., 1., 2.], [0., 5., 4.], [3., 0., 3.]])
    try:
        r = eval(src, {"L": L, "x": x, "np": np})
    except Exception as e:
        return type(e), str(e).split(" but expected")[0].split(" (position")[0]
    if isinstance(r, tuple):
        return [t.tolist() for t in r]
    return r.tolist() if hasattr(r, "tolist") else r


_SIGNATURE_CALLS = [
    # sort: stable is keyword-only, and with it dim and descending are too
    "L.sort(x, 0, True)", "L.sort(x, 0, stable=True)", "L.sort(x, dim=0, stable=True)",
    "L.sort(x, stable=True)", "L.sort(x, stable=None)", "L.sort(x, True)",
    "L.sort(x, 0, True, True)", "L.sort(x, 0, False, stable=True)", "L.sort(x, 0, 1)",
    "L.sort(x, 0, None)", "L.sort(x, 0, True, None)", "L.sort(x, 0, np.bool_(True))",
    "L.sort(x, dim=True)", "L.sort(x, descending=1)", "L.sort(x, descending=None)",
    "L.sort(x, stable=1)", "L.sort(x, stable=True, dim=True)", "L.sort(x, 0, dim=0)",
    "L.sort(x, 0, True, stable=None)", "L.sort(x, dim=0, descending=True, stable=False)",
    "L.sort(x, np.int64(1))", "L.sort(x, L.tensor(0))", "L.sort(x, 1.0)",
    "x.sort(0, True)", "x.sort(0, True, True)", "x.sort(True)", "x.sort(0, stable=True)",
    "x.sort(stable=True, dim=0, descending=True)",
    # argsort: its stable is a bool (not None), and out= belongs to that overload only
    "L.argsort(x, 0, True)", "L.argsort(x, 0, True, True)", "L.argsort(x, 0, True, stable=True)",
    "L.argsort(x, True)", "L.argsort(x, stable=True)", "L.argsort(x, stable=None)",
    "L.argsort(x, 0, stable=None)", "L.argsort(x, descending=1)", "L.argsort(x, 0, 1)",
    "L.argsort(x, 0, False, out=None)", "L.argsort(x, stable=True, out=None)",
    "L.argsort(x, stable=True, dim=0, out=L.empty(0, dtype=L.int64))",
    "x.argsort(0, True)", "x.argsort(0, True, True)", "x.argsort(stable=True, descending=True)",
    # msort, topk, kthvalue, mode, median: bools are not ints, ints are not bools
    "L.msort(x)", "L.msort(x, 0)", "x.msort()",
    "L.topk(x, 2, 0, False)", "L.topk(x, 2, 0, True, False)", "L.topk(x, 1, True)",
    "L.topk(x, 1, 0, 1)", "L.topk(x, 1, 0, True, 1)", "L.topk(x, 1, 0, None)",
    "L.topk(x, True)", "L.topk(x, 2.0)", "x.topk(k=2, dim=0, largest=False)",
    "L.kthvalue(x, 1, True)", "L.mode(x, True)", "L.median(x, True)", "L.nanmedian(x, True)",
    # the same bool-for-int refusal in the other ops taking a dim (ember took True as dim 1)
    "x.sum(True)", "x.cumsum(True)", "x.softmax(True)", "x.argmax(True)", "x.max(True)",
    "x.unsqueeze(True)", "x.transpose(True, 0)", "x.select(True, 0)", "x.flip(True)",
    "x.index_select(True, L.tensor([0]))", "L.cat([x, x], True)", "x.size(True)",
    "x.stride(True)", "x.renorm(2, True, 1.0)", "x.chunk(2, True)", "x.flatten(True)",
    # renorm's dim out of range: torch's IndexError (ember took it modulo ndim)
    "x.renorm(2, 5, 1.0)", "x.renorm(2, -3, 1.0)", "x.renorm(2, -1, 1.0)",
]


@pytest.mark.parametrize("src", _SIGNATURE_CALLS)
def test_sort_family_signatures_match_torch(src):
    """The same result, or the same exception class; torch's overload-resolution message for
    the function forms of sort and argsort (the "got (...)" list of what the call passed)."""
    got, want = _outcome(ember, src), _outcome(torch, src)
    if isinstance(want, tuple) and isinstance(want[0], type):
        assert isinstance(got, tuple) and got[0] is want[0], got
        if src.startswith(("L.sort", "L.argsort")) and "invalid combination" in want[1]:
            assert got[1] == want[1]
    else:
        assert got == want


# ---- views' sizes, strides and storage offsets under indexing and view ops ---------------------
def _view_facts(y):
    return tuple(y.shape), tuple(y.stride()), y.storage_offset(), y.is_contiguous(), y.tolist()


_SHAPES = [(2, 3, 4), (1, 3, 1), (3, 0, 2), (4,), (1,), (2, 1, 3, 1)]
_INDEXES = [
    "None, 0", "0, None", "None", "None, None", "..., None", "None, ...", "0, ..., None",
    "None, ..., 0", "..., 0", "..., 0, None", "None, 0, None", ":, None", "None, :, 0",
    "1:, None, 0", "::2, None", "None, ::2", "None, -1", "-1, None", "..., None, 0",
    "None, None, 0, None", "0, None, 0", ":, 0", "None, 1:", "None, :0", "5:", "10:20",
    "None, 5:", "..., 5:", ":, 5:", ":, 1:1", "None, ..., None", "0:1, None, ..., None",
    "..., 1:, None", "..., None, ::3", "-1:, ...", "None, ..., -1"]


@pytest.mark.parametrize("shape", _SHAPES, ids=str)
@pytest.mark.parametrize("index", _INDEXES)
def test_basic_index_views_strided_as_torch(shape, index):
    """torch applies None, ints and slices left to right (a None's stride is the size * stride
    of the dim then next, even one selected away later), and an empty slice starts at its
    clamped start: ember's strides of the new dims and empty views' offsets were NumPy's."""
    res = []
    for L in (ember, torch):
        base = L.arange(math.prod(shape) + 5, dtype=L.float32)[5:].reshape(shape)
        try:
            res.append(_view_facts(eval(f"base[{index}]", {"base": base})))
        except IndexError:
            res.append(IndexError)
    assert res[0] == res[1]


_BASES = {
    "contiguous": "L.arange(29., dtype=L.float32)[5:].reshape(2, 3, 4)",
    "transposed": "L.arange(29., dtype=L.float32)[5:].reshape(2, 3, 4).transpose(0, 2)",
    "stepped": "L.arange(53., dtype=L.float32)[5:].reshape(4, 3, 4)[::2]",
    "unit-middle": "L.arange(29., dtype=L.float32)[5:].reshape(2, 3, 4)[:, 1:2]",
    "unit-last": "L.arange(29., dtype=L.float32)[5:].reshape(2, 3, 4)[:, :, 2:3]",
    "empty-slice": "L.arange(29., dtype=L.float32)[5:].reshape(2, 3, 4)[:, 3:]",
}
_VIEW_OPS = [
    "x[None, 0]", "x[:, None, 0]", "x[..., None]", "x[None, ..., 0]", "x[0, None]",
    "x[None, :, 1:]", "x[5:]", "x[:, 5:]", "x[..., 5:]", "x[None, 5:]", "x[0, 5:]",
    "x.unsqueeze(0)", "x.unsqueeze(-1)", "x.unsqueeze(2)", "x.narrow(0, 0, 0)",
    "x.narrow(1, 2, 0)", "x.narrow(0, x.shape[0], 0)", "x.narrow(1, 1, 1)", "x.select(1, -1)",
    "x.unfold(0, 1, 1)", "x.unfold(1, 2, 1)", "x.unfold(-1, 2, 2)", "x.unfold(0, 2, 3)",
    "x.as_strided((2, 2), (1, 2), 1)", "x[1:].as_strided((2,), (3,))",
    "x.movedim(0, -1)[None, 0]", "x.diagonal(0, 0, 1)[None]", "x.split(1)[1]",
    "x.expand(2, *x.shape)", "x.expand(1, *x.shape)", "x.expand(2, 1, *x.shape)",
    "x.expand(2, *x.shape)[:, None, 0]", "x[:, None].unfold(1, 1, 1)"]


@pytest.mark.parametrize("base", list(_BASES))
@pytest.mark.parametrize("src", _VIEW_OPS)
def test_views_of_views_strided_as_torch(base, src):
    """Views of views, as above; expand keeps a kept size-1 dim's stride and gives a new size-1
    dim the size * stride of the next (NumPy's broadcast_to and reshape zeroed or renewed
    them)."""
    res = []
    for L in (ember, torch):
        x = eval(_BASES[base], {"L": L})
        try:
            res.append(_view_facts(eval(src, {"x": x})))
        except (IndexError, RuntimeError) as e:
            res.append(type(e))
    assert res[0] == res[1]


@pytest.mark.xfail(strict=True, reason="left: a bool index is advanced indexing, whose copy "
                   "ember lays out as NumPy (the size-1 dim outermost)")
@pytest.mark.parametrize("src", ["L.arange(24.).reshape(2, 3, 4)[..., True]"])
def test_views_left_different(src):
    assert _view_facts(eval(src, {"L": ember})) == _view_facts(eval(src, {"L": torch}))


def test_unfold_of_an_empty_tensor_strided_as_torch():
    """(fixed in round 23: NumPy's zeroed strides of a new empty array are torch's first)"""
    src = "L.zeros(3, 0, 2).unfold(0, 2, 3)"
    assert _view_facts(eval(src, {"L": ember})) == _view_facts(eval(src, {"L": torch}))


# ---- messages that named ember's modules and classes where torch names its own -----------------
_MESSAGE_CALLS = [
    "L.optim.SGD([L.nn.Linear(1, 1)], lr=0.1)",
    "L.nn.Linear(1, 1).register_buffer('b', L.nn.Linear(1, 1))",
    "L.nn.Linear(1, 1).register_parameter('b', L.nn.Linear(1, 1))",
    "setattr(L.nn.Linear(1, 1), 'weight', L.nn.Linear(1, 1))",
    "L.nn.utils.vector_to_parameters(L.nn.Linear(1, 1), [])",
    "setattr(L.ones(2), 'grad', L.nn.Linear(1, 1))",
    "L.as_tensor(L.device('cpu'))",
    "L.ones(2).requires_grad_(L.nn.Linear(1, 1))", "L.ones(2).requires_grad_(1)",
    "L.ones(2).requires_grad_(None)",
    "L.ones(2)[L.float32]",
]


@pytest.mark.parametrize("src", _MESSAGE_CALLS)
def test_messages_name_torch(src):
    res = []
    for L in (ember, torch):
        try:
            eval(src, {"L": L})
            res.append(None)
        except Exception as e:
            res.append((type(e), str(e)))
    assert res[0] == res[1]


@pytest.mark.parametrize("obj", ["L.nn.Linear", "L.nn.Linear(1, 1)", "L.float32", "L.Size([1])",
                                 "L.device('cpu')", "L.optim.SGD",
                                 "L.distributions.Normal(0, 1)"])
def test_typename_names_torch(obj):
    assert ember.typename(eval(obj, {"L": ember})) == torch.typename(eval(obj, {"L": torch}))


@pytest.mark.parametrize("src", ["L.ones(2).unsqueeze(L.float32)", "L.ones(2).softmax(L.Size([0]))",
                                 "L.stack([L.ones(2)], L.float32)"])
def test_dim_type_errors_name_torch_types(src):
    """torch's parser names its C types qualified (torch.dtype); ember's said dtype."""
    got = pytest.raises(TypeError, eval, src, {"L": ember}).value
    want = pytest.raises(TypeError, eval, src, {"L": torch}).value
    assert str(want).endswith(str(got).rsplit("not ", 1)[1])


# ---- torch.func: requires_grad_() inside a transform -------------------------------------------
_RG_CALLS = {
    "grad": lambda L, x: L.func.grad(lambda t: (t.requires_grad_() * 2).sum())(x),
    "grad-false": lambda L, x: L.func.grad(lambda t: (t.requires_grad_(False) * 2).sum())(x),
    "grad-detached": lambda L, x: L.func.grad(
        lambda t: (t.detach().requires_grad_() * 2).sum())(x),
    "vjp": lambda L, x: L.func.vjp(lambda t: t.requires_grad_() * 2, x)[1](L.ones(3)),
    "jacrev": lambda L, x: L.func.jacrev(lambda t: t.requires_grad_() * 2)(x),
    "jacfwd": lambda L, x: L.func.jacfwd(lambda t: t.requires_grad_() * 2)(x),
    "vmap": lambda L, x: L.func.vmap(lambda t: t.requires_grad_() * 2)(x[None]),
    "vmap-false": lambda L, x: L.func.vmap(lambda t: t.requires_grad_(False) * 2)(x[None]),
    # still allowed: requires_grad read inside, requires_grad_ outside
    "grad-reads": lambda L, x: L.func.grad(
        lambda t: (t * 2).sum() if t.requires_grad else t.sum())(x),
    "outside": lambda L, x: L.func.grad(lambda t: (t * 2).sum())(x.clone().requires_grad_()),
}


@pytest.mark.parametrize("call", list(_RG_CALLS))
def test_requires_grad_inside_func_transforms(call):
    """torch refuses Tensor.requires_grad_() (even False) inside any torch.func transform;
    ember's transforms ran it (and computed something)."""
    res = []
    for L in (ember, torch):
        try:
            res.append(_RG_CALLS[call](L, L.arange(3.)).tolist())
        except RuntimeError as e:
            res.append(str(e))
    assert res[0] == res[1]


# ---- torch.func.vmap: what its per-sample loop must refuse (ember/func/_batching.py) ---------
def _vmap_outcome(L, case):
    F, x = L.func, L.ones(2, 3)
    calls = {
        "item": lambda: F.vmap(lambda t: t.sum() * t.sum().item())(x),
        "branch": lambda: F.vmap(lambda t: t * 2 if t.sum() > 0 else t)(x),
        "inplace-into-captured": lambda: F.vmap(lambda t: cap.add_(t))(x),
        "unmapped-side-effect": lambda: F.vmap(lambda a, b: b.add_(1) + a,
                                               in_dims=(0, None))(x, L.zeros(3)),
        "random-different-unmapped": lambda: F.vmap(
            lambda t, u: u.uniform_(), in_dims=(0, None), randomness="different")(x, L.zeros(3)),
        "random-same-batched": lambda: F.vmap(lambda t: L.bernoulli(t * 0.5),
                                              randomness="same")(x),
    }
    cap = L.zeros(3)
    try:
        return calls[case]().tolist()
    except RuntimeError as e:
        return RuntimeError, str(e)


@pytest.mark.parametrize("case", [
    "item", "branch", "inplace-into-captured", "random-different-unmapped",
    "random-same-batched",
    pytest.param("unmapped-side-effect", marks=pytest.mark.xfail(strict=True, reason=(
        "left: ember's vmap calls the function once per sample, so an in-place write into an "
        "unbatched tensor with unbatched arguments runs once per sample where torch runs it "
        "once (a silently different result)")))])
def test_vmap_refusals_left(case):
    assert _vmap_outcome(ember, case) == _vmap_outcome(torch, case)
