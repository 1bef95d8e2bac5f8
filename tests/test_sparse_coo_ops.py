"""Sparse COO ops against torch, table-driven: the zero-preserving unary ops (values, indices,
coalesced flag, dtype, grad_fn, the gradient a sparse leaf gets, torch's refusals), norm,
floor division, round, nan_to_num, bmm with a sparse batch, the shape ops (unsqueeze,
narrow_copy, select, transpose, permute, reshape) and their autograd, in float32 and float64.

Each case is a function of the library `L` (ember or torch) and the dtype, run on both; a case
torch refuses must raise the same exception class in ember (with the same message unless the
case is marked class-only: torch's message there comes from deep inside one of its formulas)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_sparse import check as check_sparse

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:log1p_backward")]

DTYPES = ["float32", "float64"]


def _unc(L, dt, requires_grad=False):
    """Uncoalesced: (1, 2) twice, unsorted; values with a negative, a zero-crossing frac..."""
    return L.sparse_coo_tensor(L.tensor([[1, 0, 1, 0, 2], [2, 0, 2, 1, 0]]),
                               L.tensor([0.3, -0.4, 0.5, 0.6, -1.7], dtype=dt), (3, 3),
                               requires_grad=requires_grad)


def _hyb(L, dt, requires_grad=False):
    """One sparse dim, one dense dim, uncoalesced."""
    return L.sparse_coo_tensor(L.tensor([[0, 2, 0]]),
                               L.tensor([[0.5, -2.], [3., 0.25], [-5., 6.]], dtype=dt), (3, 2),
                               requires_grad=requires_grad)


def _b3(L, dt, requires_grad=False):
    """Three sparse dims, a batch of two 3 x 3 matrices, uncoalesced."""
    return L.sparse_coo_tensor(L.tensor([[0, 1, 1, 0, 0], [0, 1, 0, 1, 0], [2, 0, 1, 2, 2]]),
                               L.tensor([1., 2., 3., 4., 5.], dtype=dt), (2, 3, 3),
                               requires_grad=requires_grad)


def _w(L, dt, shape):
    return L.tensor(np.random.default_rng(7).standard_normal(shape), dtype=dt)


def outcome(fn):
    try:
        return fn()
    except Exception as ex:     # noqa: BLE001
        return ex


def _message(ex):
    """An exception's message; of the dispatcher's 'Could not run' error, its first sentence
    (ember does not list torch's backends)."""
    return str(ex).split(" This could be because")[0]


def check(e, t, message=True):
    """ember's outcome `e` against torch's `t`: the same exception class (and message), or the
    same layout, shape, dtype, grad_fn name, indices, values and coalesced flag."""
    if isinstance(t, Exception):
        assert type(e) is type(t), (e, t)
        if message:
            assert _message(e) == _message(t)
        return
    assert not isinstance(e, Exception), (e, t)
    check_sparse(e, t)

def run(fn, dtypes=DTYPES, message=True):
    """fn(L, dtype) on both libraries, compared, for each dtype."""
    for dtype in dtypes:
        e = outcome(lambda: fn(ember, getattr(ember, dtype)))
        t = outcome(lambda: fn(torch, getattr(torch, dtype)))
        check(e, t, message)


# ---- unary ops: forward on three inputs, and the gradient a sparse leaf gets ------------------
UNARY = ["abs", "neg", "sin", "tan", "sinh", "asinh", "atan", "atanh", "expm1", "log1p", "sgn",
         "sign", "signbit", "trunc", "frac", "ceil", "floor", "relu", "sqrt", "erf", "erfinv",
         "isnan", "isinf", "isposinf", "isneginf", "nan_to_num", "deg2rad", "rad2deg", "square",
         "conj_physical", "round", "asin", "tanh", "positive", "exp", "cos", "isreal", "isfinite",
         "logical_not"]
INPUTS = {"uncoalesced": _unc, "coalesced": lambda L, dt, **kw: _unc(L, dt, **kw).coalesce(),
          "hybrid": _hyb}
# torch's message comes from its backward formula (1 - x * x on a sparse x, ...)
CLASS_ONLY_GRADS = {"asin", "atanh"}


@pytest.mark.parametrize("name", UNARY)
def test_unary_forward(name):
    for make in INPUTS.values():
        run(lambda L, dt: getattr(L, name)(make(L, dt)))
        run(lambda L, dt: getattr(make(L, dt, requires_grad=True), name)())


@pytest.mark.parametrize("name", UNARY)
def test_unary_forward_low_precision_and_integers(name):
    """float16 / bfloat16 (computed in float32) and int64 inputs (the ops that keep integers:
    coalesced first all the same)."""
    run(lambda L, dt: getattr(L, name)(_unc(L, dt)), ["float16", "bfloat16"])
    def ints(L, dt):
        return L.sparse_coo_tensor(L.tensor([[0, 1, 0]]), L.tensor([-7, 7, 3]), (3,))
    run(lambda L, dt: getattr(L, name)(ints(L, dt)), ["int64"])


def _leaf_grad(L, dt, name, through_dense):
    """The .grad of a sparse leaf after y = op(leaf), through y.to_dense() or sparse.sum."""
    S = _unc(L, dt, requires_grad=True)
    y = getattr(S, name)()
    w = _w(L, dt, (3, 3))
    loss = (y.to_dense() * w).sum() if through_dense else L.sparse.sum(y * w)
    loss.backward()
    return S.grad


@pytest.mark.parametrize("name", [n for n in UNARY if n not in (
    "signbit", "isnan", "isinf", "isposinf", "isneginf", "positive", "exp", "cos", "isreal",
    "isfinite", "logical_not")])
def test_unary_leaf_gradient(name):
    for through_dense in (True, False):
        run(lambda L, dt: _leaf_grad(L, dt, name, through_dense),
            message=name not in CLASS_ONLY_GRADS)


INPLACE = ["round_", "nan_to_num_", "deg2rad_", "rad2deg_", "square_", "relu_", "sign_", "trunc_",
           "frac_", "neg_", "log1p_", "abs_"]


@pytest.mark.parametrize("coalesced", [True, False], ids=["coalesced", "uncoalesced"])
@pytest.mark.parametrize("name", INPLACE + ["pow_"])
def test_unary_inplace(name, coalesced):
    def fn(L, dt):
        s = _unc(L, dt)
        s = s.coalesce() if coalesced else s
        return getattr(s, name)(*((2,) if name == "pow_" else ()))
    run(fn, ["float32"])


# ---- everything else: one function of (L, dtype) per case ----------------------------------
def _nonfinite(L, dt):
    return L.sparse_coo_tensor(L.tensor([[0, 1, 2, 0]]),
                               L.tensor([float("nan"), float("inf"), -float("inf"), 1.5], dtype=dt),
                               (3,))


def _dense_grad(L, dt, f):
    S = _unc(L, dt, requires_grad=True)
    y = f(S)
    (_w(L, dt, tuple(y.shape)) + y).pow(2).sum().backward()
    return S.grad


OPS = {
    # norm: torch.functional.norm's path for sparse layouts (full reductions of the values)
    "norm": lambda L, dt: _unc(L, dt).norm(),
    "torch.norm": lambda L, dt: L.norm(_unc(L, dt)),
    "norm_p1": lambda L, dt: _unc(L, dt).norm(p=1),
    "norm_p2": lambda L, dt: _unc(L, dt).norm(2),
    "norm_pinf": lambda L, dt: _unc(L, dt).norm(p=float("inf")),
    "norm_pninf": lambda L, dt: _unc(L, dt).norm(p=-float("inf")),
    "norm_p0": lambda L, dt: _unc(L, dt).norm(p=0),
    "norm_p3": lambda L, dt: _unc(L, dt).norm(p=3),
    "norm_fro": lambda L, dt: _unc(L, dt).norm(p="fro"),
    "norm_none": lambda L, dt: _unc(L, dt).norm(p=None),
    "norm_fro_all_dims": lambda L, dt: _unc(L, dt).norm(p="fro", dim=(0, 1)),
    "norm_all_dims": lambda L, dt: _unc(L, dt).norm(p=2, dim=(1, -2)),
    "norm_hybrid": lambda L, dt: _hyb(L, dt).norm(),
    "norm_grad_fn": lambda L, dt: _unc(L, dt, requires_grad=True).norm(),
    "norm_dim": lambda L, dt: _unc(L, dt).norm(dim=1),
    "norm_dim_repeated": lambda L, dt: _unc(L, dt).norm(dim=(0, 0)),
    "norm_fro_dim": lambda L, dt: _unc(L, dt).norm(p="fro", dim=0),
    "norm_keepdim": lambda L, dt: _unc(L, dt).norm(keepdim=True),
    "norm_p_keepdim": lambda L, dt: _unc(L, dt).norm(p=1, dim=(0, 1), keepdim=True),
    "norm_fro_dtype": lambda L, dt: _unc(L, dt).norm(dtype=L.float64),
    "norm_p_dtype": lambda L, dt: _unc(L, dt).norm(p=1, dtype=L.float64),
    "norm_int": lambda L, dt: _unc(L, dt).long().norm(),
    "norm_bad_string": lambda L, dt: _unc(L, dt).norm(p="abc", dim=0),
    # floor division: the coalesced values, a number or a 0-d tensor only
    "floor_divide": lambda L, dt: L.floor_divide(_unc(L, dt), 0.25),
    "floor_divide_method": lambda L, dt: _unc(L, dt).floor_divide(2),
    "floor_divide_0d": lambda L, dt: L.floor_divide(_unc(L, dt), L.tensor(0.25, dtype=dt)),
    "floordiv_operator": lambda L, dt: _unc(L, dt) // 2,
    "floor_divide_int": lambda L, dt: L.floor_divide(
        L.sparse_coo_tensor(L.tensor([[0, 1, 0]]), L.tensor([7, -7, 3]), (3,)), 2),
    "floor_divide_dense": lambda L, dt: L.floor_divide(_unc(L, dt), L.ones(3, 3, dtype=dt)),
    "floor_divide_sparse": lambda L, dt: L.floor_divide(_unc(L, dt), _unc(L, dt)),
    "div_floor": lambda L, dt: L.div(_unc(L, dt), 0.5, rounding_mode="floor"),
    "div_floor_dense": lambda L, dt: L.div(_unc(L, dt), L.ones(1, dtype=dt), rounding_mode="floor"),
    "div_trunc": lambda L, dt: L.div(_unc(L, dt), 0.5, rounding_mode="trunc"),
    "div_trunc_dense": lambda L, dt: L.div(_unc(L, dt), L.ones(3, 3, dtype=dt),
                                           rounding_mode="trunc"),
    # round, nan_to_num
    "round_decimals": lambda L, dt: _unc(L, dt).round(decimals=1),
    "round_hybrid": lambda L, dt: L.round(_hyb(L, dt) * 0.3),
    "nan_to_num": lambda L, dt: L.nan_to_num(_nonfinite(L, dt)),
    "nan_to_num_args": lambda L, dt: L.nan_to_num(_nonfinite(L, dt), nan=1., posinf=2., neginf=-3.),
    "nan_to_num_": lambda L, dt: _nonfinite(L, dt).coalesce().nan_to_num_(),
    "isreal_complex": lambda L, dt: L.isreal(_unc(L, dt).to(L.complex64)),
    # Tensor.sum over dims: torch.sparse.sum's result, SumBackward1
    "sum_dim0": lambda L, dt: _unc(L, dt, requires_grad=True).sum(0),
    "sum_dim-1": lambda L, dt: L.sum(_unc(L, dt, requires_grad=True), dim=-1),
    "sum_all_dims": lambda L, dt: _unc(L, dt, requires_grad=True).sum((0, 1)),
    "sum_keepdim": lambda L, dt: _unc(L, dt, requires_grad=True).sum(1, keepdim=True),
    "sum_keepdim_all": lambda L, dt: _unc(L, dt).sum((1, 0), keepdim=True),
    "sum_hybrid_sparse_dim": lambda L, dt: _hyb(L, dt, requires_grad=True).sum(0),
    "sum_hybrid_dense_dim": lambda L, dt: _hyb(L, dt, requires_grad=True).sum(1),
    "sum_dtype": lambda L, dt: _unc(L, dt).sum(1, dtype=L.float64),
    "sum_int": lambda L, dt: _unc(L, dt).int().sum(0),
    "sum_bool": lambda L, dt: _hyb(L, dt).bool().sum(1),
    # numbers added to a sparse tensor
    "add_number": lambda L, dt: _unc(L, dt) + 1,
    "radd_number": lambda L, dt: 1 + _unc(L, dt),
    "sub_number": lambda L, dt: _unc(L, dt) - 1,
    "rsub_number": lambda L, dt: 1 - _unc(L, dt),
    # bmm of a sparse batch and a dense one
    "bmm": lambda L, dt: L.bmm(_b3(L, dt), _w(L, dt, (2, 3, 2))),
    "bmm_method": lambda L, dt: _b3(L, dt).bmm(_w(L, dt, (2, 3, 2))),
    "bmm_coalesced": lambda L, dt: L.bmm(_b3(L, dt).coalesce(), _w(L, dt, (2, 3, 4))),
    "bmm_out": lambda L, dt: L.bmm(_b3(L, dt), _w(L, dt, (2, 3, 2)),
                                   out=L.empty(2, 3, 2, dtype=dt)),
    "bmm_grad_fn": lambda L, dt: L.bmm(_b3(L, dt, requires_grad=True), _w(L, dt, (2, 3, 2))),
    "bmm_int": lambda L, dt: L.bmm(_b3(L, dt).int(), L.ones(2, 3, 2, dtype=L.int32)),
    "bmm_half": lambda L, dt: L.bmm(_b3(L, dt).half(), L.ones(2, 3, 2, dtype=L.half)),
    "bmm_sparse_mat2": lambda L, dt: L.bmm(_b3(L, dt), _b3(L, dt)),
    "bmm_dense_sparse": lambda L, dt: L.bmm(L.ones(2, 3, 3, dtype=dt), _b3(L, dt)),
    "bmm_2d": lambda L, dt: L.bmm(_unc(L, dt), L.ones(3, 2, dtype=dt)),
    "bmm_hybrid": lambda L, dt: L.bmm(L.sparse_coo_tensor(L.tensor([[0, 1], [0, 1]]), L.ones(
        2, 3, dtype=dt), (2, 3, 3)), L.ones(2, 3, 2, dtype=dt)),
    "bmm_mat2_2d": lambda L, dt: L.bmm(_b3(L, dt), L.ones(3, 2, dtype=dt)),
    "bmm_batch": lambda L, dt: L.bmm(_b3(L, dt), L.ones(3, 3, 2, dtype=dt)),
    "bmm_inner": lambda L, dt: L.bmm(_b3(L, dt), L.ones(2, 4, 2, dtype=dt)),
    "bmm_dtype": lambda L, dt: L.bmm(_b3(L, dt), L.ones(2, 3, 2, dtype=L.float16)),
    # shape ops
    "unsqueeze": lambda L, dt: _unc(L, dt, requires_grad=True).unsqueeze(0),
    "unsqueeze_last": lambda L, dt: _unc(L, dt, requires_grad=True).unsqueeze(-1),
    "unsqueeze_hybrid": lambda L, dt: _hyb(L, dt, requires_grad=True).unsqueeze(1),
    "unsqueeze_hybrid_dense": lambda L, dt: _hyb(L, dt, requires_grad=True).unsqueeze(2),
    "narrow_copy": lambda L, dt: _unc(L, dt, requires_grad=True).narrow_copy(1, 1, 2),
    "narrow_copy_hybrid": lambda L, dt: _hyb(L, dt, requires_grad=True).narrow_copy(1, 1, 1),
    "transpose_dense_dim": lambda L, dt: _hyb(L, dt).transpose(0, 1),
    "permute_dense_dims": lambda L, dt: L.sparse_coo_tensor(
        L.tensor([[0, 2, 0]]), L.arange(12., dtype=dt).reshape(3, 2, 2),
        (3, 2, 2)).permute(0, 2, 1),
    "permute_dense_dims_coalesced": lambda L, dt: L.sparse_coo_tensor(
        L.tensor([[0, 2, 0]]), L.arange(12., dtype=dt).reshape(3, 2, 2),
        (3, 2, 2)).coalesce().permute(0, 2, 1),
    "permute_sparse_dims_coalesced": lambda L, dt: _b3(L, dt).coalesce().permute(0, 2, 1),
    "transpose_sparse_dims_coalesced": lambda L, dt: _b3(L, dt).coalesce().transpose(1, 2),
    "permute_across": lambda L, dt: _hyb(L, dt).permute(1, 0),
    "reshape": lambda L, dt: _unc(L, dt).reshape(9),
    "reshape_same": lambda L, dt: _unc(L, dt).reshape(3, 3),
    "flatten": lambda L, dt: _unc(L, dt).flatten(),
    "reshape_as": lambda L, dt: _unc(L, dt).reshape_as(_unc(L, dt)),
    "view": lambda L, dt: _unc(L, dt).view(9),
    # a dense gradient through them (dense + sparse is dense)
    "unsqueeze_dense_grad": lambda L, dt: _dense_grad(L, dt, lambda S: S.unsqueeze(0)),
    "narrow_copy_dense_grad": lambda L, dt: _dense_grad(L, dt, lambda S: S.narrow_copy(1, 0, 2)),
    "select_dense_grad": lambda L, dt: _dense_grad(L, dt, lambda S: S.select(0, 1)),
    # construction
    "is_coalesced_checked": lambda L, dt: L.sparse_coo_tensor(
        L.tensor([[1, 0]]), L.tensor([1., 2.], dtype=dt), (2,), is_coalesced=True,
        check_invariants=True),
    "is_coalesced_checked_repeat": lambda L, dt: L.sparse_coo_tensor(
        L.tensor([[0, 0]]), L.tensor([1., 2.], dtype=dt), (2,), is_coalesced=True,
        check_invariants=True),
    "is_coalesced_checked_ok": lambda L, dt: L.sparse_coo_tensor(
        L.tensor([[0, 1], [2, 0]]), L.tensor([1., 2.], dtype=dt), (2, 3), is_coalesced=True,
        check_invariants=True),
}


@pytest.mark.parametrize("name", OPS)
def test_ops(name):
    run(OPS[name])


# ---- gradients: a sparse leaf S and a dense leaf D; outputs and both .grads ---------------------
def _grads(fn, L, dt):
    S = _b3(L, dt, requires_grad=True) if fn.__name__ == "batch" else _unc(L, dt, True)
    D = _w(L, dt, (2, 3, 2) if fn.__name__ == "batch" else (3, 2)).requires_grad_()
    y = fn(L, S, D)
    yd = y.to_dense() if y.is_sparse else y
    (yd * _w(L, dt, tuple(yd.shape))).sum().backward()
    return [y, S.grad, D.grad]


def batch(f):
    """A case whose sparse leaf is the 2 x 3 x 3 batch."""
    f.__name__ = "batch"
    return f


GRADS = {
    "bmm": batch(lambda L, S, D: L.bmm(S, D)),
    "bmm_coalesced": batch(lambda L, S, D: L.bmm(S.coalesce(), D)),
    "bmm_unsqueezed": lambda L, S, D: L.bmm(S.unsqueeze(0), D.unsqueeze(0)),
    "norm_p1": lambda L, S, D: S.norm(p=1) * D,
    "norm_p0": lambda L, S, D: S.norm(p=0) * D,
    "norm_p2": lambda L, S, D: S.norm(2) * D,
    "norm_fro": lambda L, S, D: S.norm() * D,
    "norm_inf": lambda L, S, D: S.norm(float("inf")) * D,
    "norm_p3": lambda L, S, D: S.norm(3) * D,
    "unsqueeze": lambda L, S, D: S.unsqueeze(0),
    "narrow_copy": lambda L, S, D: S.narrow_copy(0, 1, 2),
    "select": lambda L, S, D: S.select(0, 1),
    "getitem": lambda L, S, D: S[1],
    "transpose": lambda L, S, D: S.transpose(0, 1),
    "permute": lambda L, S, D: S.permute(1, 0),
    "t": lambda L, S, D: S.t(),
    "index_select": lambda L, S, D: S.index_select(0, L.tensor([2, 0, 0])),
    "sum_dim": lambda L, S, D: S.sum(1),
    "sum_all_dims": lambda L, S, D: S.sum((0, 1)) * D,
    "sum_keepdim": lambda L, S, D: S.sum(0, keepdim=True),
    "square_mm": lambda L, S, D: L.sparse.mm(S.square(), D),
    "deg2rad_mm": lambda L, S, D: L.sparse.mm(S.deg2rad(), D),
    "relu_mm": lambda L, S, D: L.sparse.mm(L.relu(S), D),
    "nan_to_num_mm": lambda L, S, D: L.sparse.mm(S.nan_to_num(), D),
    "round_mm": lambda L, S, D: L.sparse.mm(S.round(), D),
}
# torch's message names an op its backward reaches on the way (index_add_)
CLASS_ONLY = {"index_select"}


@pytest.mark.parametrize("name", GRADS)
def test_gradients(name):
    fn = GRADS[name]
    run(lambda L, dt: _grads(fn, L, dt), message=name not in CLASS_ONLY)


def test_log1p_backward_warns_as_torch():
    for L in (ember, torch):
        S = _unc(L, L.float64, requires_grad=True)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            S.log1p().to_dense().sum().backward()
        # (torch's C++ warnings end with where they were triggered; ember's do not)
        assert [str(x.message).split(" (Triggered")[0] for x in w
                if "log1p_backward" in str(x.message)] == [
            "log1p_backward: received self with sparse layout, but backward requires "
            "materialization of a dense tensor with this shape"]
