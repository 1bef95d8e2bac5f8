"""Indexing against torch: every __getitem__ form (values, shapes, view or copy), __setitem__,
the gather/scatter family with their in-place variants, sorting and searching, and the
exception classes torch raises."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
import opspecs  # noqa: F401  (imports opspecs_shape itself; import it first)
from opspecs_shape import run_both
from oracle import assert_close


def _x(lib):
    return lib.arange(60.0).reshape(3, 4, 5)


def _i(lib, data):
    return lib.tensor(data)


GETITEM = [
    "0", "-1", "(1, 2)", "(1, 2, 3)", "(-1, -2, -3)", "slice(None)", "slice(1, None)",
    "slice(None, None, 2)", "(slice(None), slice(1, None, 2))", "(slice(-3, -1), 0)",
    "(slice(5, 10),)", "(slice(2, 1),)", "None", "(None, 1, None)", "Ellipsis",
    "(Ellipsis, 1)", "(0, Ellipsis, None)", "(Ellipsis, None, slice(None, 1))", "()",
    "[0, 2]", "[[0, 1], [2, 2]]", "[-1, 0, -1]", "([0, 1], [1, 2])",
    "([0, 1], slice(None), [1, 2])",
    "(0, slice(None), [1, 2])", "(slice(None), [1, 2], 0)", "(slice(None), [0, 1], [1, 2])",
    "([[0], [1]], [1, 2, 3])", "(None, [1, 2], 0)", "([1, 2], None, 0)", "(1, Ellipsis, [1, 2])",
    "([1, 2], slice(1, 3), [0, 1])", "(slice(None), [[0, 1]])", "[]", "([], [])",
    "_i(lib, [0, 2])", "_i(lib, 1)", "(_i(lib, 0), slice(None), [1, 2])",
    "_i(lib, [[0, 1], [1, 2]])", "(slice(None), _i(lib, [3, 1]).int())",
    "_x(lib) > 30", "(slice(None), (_x(lib) > 30)[0, :, 0])",
    "(0, slice(None))", "(slice(0, 3), 0)", "(Ellipsis, slice(0, 5))",
    "(slice(None), slice(None))", "(slice(None),)",
    "lib.tensor([True, False, True])", "(lib.tensor([True, False, True]), 0)",
    "(lib.tensor([True, False, True]), slice(None), [0, 4])", "True", "False",
    "(True, 0)", "(None, False)", "lib.tensor(True)", "lib.tensor([1, 0, 1], dtype=lib.uint8)",
    "np.int64(2)", "(np.int32(1), slice(None))", "[0.7]", "(1, [1, 2], slice(None, None, 2))",
    "(slice(None), slice(None), [4, 0, 4])", "((0, 1),)", "([0, 1], [[1], [2]])",
    "(Ellipsis, [True, False, True, False, True])", "(0, 0, [True] * 5)",
]


def _eval_index(lib, expr):
    return eval(expr, {"lib": lib, "_i": _i, "_x": _x, "np": np})


@pytest.mark.parametrize("expr", GETITEM)
def test_getitem(expr):
    out = []
    for lib in (torch, ember):
        x = _x(lib)
        r = x[_eval_index(lib, expr)]
        out.append((r, r._base is not None))
    (rt, vt), (re_, ve) = out
    assert_close(re_, rt)
    assert ve == vt, "view-ness differs from torch"


@pytest.mark.parametrize("expr", GETITEM)
def test_getitem_grad(expr):
    grads = []
    for lib in (torch, ember):
        x = _x(lib).requires_grad_()
        r = x[_eval_index(lib, expr)]
        w = lib.tensor(np.random.default_rng(0).standard_normal(tuple(r.shape)))
        (r * w.to(r.dtype)).sum().backward()
        grads.append((x.grad, _name(r.grad_fn)))
    assert_close(grads[1][0], grads[0][0])
    assert grads[1][1] == grads[0][1]


def _name(fn):
    return fn.name() if type(fn).__module__.startswith("ember") else type(fn).__name__


GETITEM_ERRORS = [
    "(0, 0, 0, 0)", "3", "-4", "(0, 5)", "[3]", "[0, -4]", "(slice(None), [4, 5])",
    "slice(None, None, -1)", "slice(None, None, 0)", "0.5", "lib.tensor([0.5])",
    "lib.tensor([True, False])", "(lib.ones(3, 4, dtype=lib.bool), lib.ones(5, dtype=lib.bool))",
    "([0, 1], [0, 1, 2])", "'a'", "object()", "{1: 2}", "(_x(lib) > 30)[0]",
    "lib.tensor([[True] * 5] * 4)",
]


@pytest.mark.parametrize("expr", GETITEM_ERRORS)
def test_getitem_errors(expr):
    run_both(lambda lib: _x(lib)[_eval_index(lib, expr)])


def test_0d_indexing():
    run_both(lambda lib: lib.tensor(5.0)[None])
    run_both(lambda lib: lib.tensor(5.0)[...])
    run_both(lambda lib: lib.tensor(5.0)[()])
    run_both(lambda lib: lib.tensor(5.0)[0])
    run_both(lambda lib: lib.tensor(5.0)[True])
    run_both(lambda lib: lib.tensor(5.0)[lib.tensor(True)])


SETITEM = [
    ("0", "1.5"), ("(slice(None), 1)", "lib.arange(3.0)"), ("(Ellipsis, 0)", "-1"),
    ("[0, 2]", "lib.arange(20.0).reshape(4, 5)"), ("([0, 0], [1, 1])", "lib.tensor([7.0, 8.0])"),
    ("_x(lib) > 30", "0"), ("_x(lib) > 30", "lib.tensor(2.0, dtype=lib.float64)"),
    ("_x(lib) > 50", "lib.arange(9.0)"), ("(0, slice(None), [1, 2])", "lib.ones(4, 2)"),
    ("([0, 1], slice(None), [1, 2])", "lib.ones(2, 4)"), ("(slice(None), None, 1)", "3"),
    ("(1, slice(1, 3))", "lib.ones(1, 1, 5)"), ("slice(None, None, 2)", "lib.tensor(True)"),
    ("(slice(None), [1, 2], 0)", "lib.tensor([1.0, 2.0])"), ("(0, 0, 0)", "lib.tensor(9)"),
    ("(0, slice(None))", "lib.ones(5, dtype=lib.int64)"), ("[1]", "lib.ones(5)"),
    ("[0, 1]", "lib.ones(3, 4, 5)"), ("(0, slice(None))", "lib.ones(3, 5)"),
    ("[0]", "lib.tensor([1])"), ("[0, 1]", "lib.tensor(5.0, dtype=lib.float64)"),
    ("(slice(None), [0, 1])", "[[1.0] * 5, [2.0] * 5]"), ("[[True, False, True]]", "7.0"),
    ("(2, [-1, 0])", "lib.ones(2, 5)"),
]


@pytest.mark.parametrize("idx,value", SETITEM)
def test_setitem(idx, value):
    def fn(lib):
        x = _x(lib)
        x[_eval_index(lib, idx)] = _eval_index(lib, value)
        return x, x._version
    run_both(fn)


@pytest.mark.parametrize("idx,value", [s for s in SETITEM if "int" not in s[1]])
def test_setitem_grad(idx, value):
    def fn(lib):
        x = _x(lib).requires_grad_()
        v = _eval_index(lib, value)
        y = x * 1
        y[_eval_index(lib, idx)] = v
    if isinstance(run_both(fn)[0], Exception):
        return                                      # both raised the same kind of error
    out = []
    for lib in (torch, ember):
        x = _x(lib).requires_grad_()
        v = _eval_index(lib, value)
        if isinstance(v, (torch.Tensor, ember.Tensor)) and v.is_floating_point():
            v = v.to(lib.float32).requires_grad_()
        y = x * 1
        y[_eval_index(lib, idx)] = v
        w = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), dtype=y.dtype)
        (y * w).sum().backward()
        gv = getattr(v, "grad", None)
        out.append((y.detach(), x.grad, gv, _name(y.grad_fn)))
    (yt, gxt, gvt, nt), (ye, gxe, gve, ne) = out
    assert_close(ye, yt)
    assert_close(gxe, gxt)
    if gvt is not None:
        assert_close(gve, gvt)
    assert ne == nt


def test_setitem_duplicates_do_not_accumulate():
    def fn(lib):
        x = lib.zeros(5)
        idx = lib.tensor([0, 0, 2, 2, 2])
        x[idx] += 1
        y = lib.zeros(5).index_put_((idx,), lib.tensor(1.0), accumulate=True)
        return x, y
    run_both(fn)


def test_setitem_errors():
    run_both(lambda lib: _x(lib).__setitem__(0, lib.ones(3)))
    run_both(lambda lib: _x(lib).__setitem__([0, 1], lib.ones(3)))
    run_both(lambda lib: _x(lib).__setitem__(5, 1.0))
    run_both(lambda lib: _x(lib).__setitem__([0], lib.ones(1, dtype=lib.int64)))
    run_both(lambda lib: lib.ones(3, requires_grad=True).__setitem__(0, 2.0))
    run_both(lambda lib: lib.ones(3).__setitem__(lib.tensor([True, False]), 2.0))


@pytest.mark.parametrize("value", [np.float32(3), np.float16(2), np.complex64(1), np.bool_(True),
                                   np.array(3.0), [1.0], None, np.float64(3), np.int64(-2),
                                   np.uint8(7), np.complex128(2)])
@pytest.mark.parametrize("key", [0, (0, 9), (0, 1, 2), "mask"])
def test_setitem_value_types_as_torch(value, key):
    # torch's valueToTensor takes Python numbers (float64 and complex128 are float and complex
    # subclasses) and NumPy integers, and refuses anything else before reading the index
    out = []
    for lib in (torch, ember):
        x = lib.arange(8.0).reshape(2, 4)
        try:
            x[x > 3 if key == "mask" else key] = value
            out.append(x.tolist())
        except Exception as e:      # noqa: BLE001 - the class and message are compared
            out.append((type(e).__name__, str(e)))
    assert out[1] == out[0]


@pytest.mark.parametrize("key", [slice(None), Ellipsis, (slice(None), slice(0, 9)), slice(0, 2),
                                 slice(-2, None), (slice(None), 0)])
@pytest.mark.parametrize("shape", [None, (), (4,), (2, 4), (1, 2, 4), (1, 4), (3,)])
def test_setitem_whole_tensor_writes_as_torch(key, shape):
    # an index torch's applySlicing skips entirely is written with copy_ (fill_ for a 0-d
    # value of another shape): CopyBackwards / FillBackward3, not CopySlices
    out = []
    for lib in (torch, ember):
        w = lib.ones((), requires_grad=True)
        x = lib.zeros(2, 4) * w
        v = 2.5 if shape is None else (lib.arange(8.0)[:math.prod(shape)].reshape(shape) + 1) \
            .requires_grad_()
        try:
            x[key] = v
        except Exception as e:      # noqa: BLE001 - the class and message are compared
            out.append((type(e).__name__, str(e)))
            continue
        (x * lib.arange(1.0, 9.0).reshape(2, 4)).sum().backward()
        out.append((x.tolist(), x._version, _name(x.grad_fn), x.grad_fn.name(), w.grad.item(),
                    None if shape is None else v.grad.tolist()))
    assert out[1] == out[0]


def test_setitem_version_and_saved_tensor_check():
    def fn(lib):
        x = lib.ones(3, requires_grad=True)
        y = x.sigmoid()
        y[0] = 2.0
        y.sum().backward()
    run_both(fn)
    for lib in (torch, ember):
        x = lib.zeros(3)
        x[1] = 1.0
        x[[0, 2]] = 2.0
        assert x._version == 2


def test_setitem_value_requires_grad_into_plain_tensor():
    out = []
    for lib in (torch, ember):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.zeros(2, 3)
        x[:, 1] = w
        x[0, [0, 2]] = w * 3
        assert x.requires_grad
        (x * lib.arange(6.0).reshape(2, 3)).sum().backward()
        out.append((w.grad, _name(x.grad_fn)))
    assert_close(out[1][0], out[0][0])
    assert out[1][1] == out[0][1]


# ---- gather / scatter / index_* / masked_* and their in-place variants -----------------------
def _idx(lib):
    return lib.tensor([[0, 2, 1], [1, 0, 0]])


FUNCTIONAL = {
    "index_select": lambda lib, x: x.index_select(1, lib.tensor([3, 0, 3])),
    "index_add": lambda lib, x: x.index_add(0, lib.tensor([2, 0, 2]), lib.ones(3, 4),
                                            alpha=-2),
    "index_copy": lambda lib, x: x.index_copy(0, lib.tensor([2, 0]), lib.ones(2, 4)),
    "index_fill": lambda lib, x: x.index_fill(1, lib.tensor([1]), 9.0),
    "gather": lambda lib, x: x.gather(1, _idx(lib)),
    "scatter": lambda lib, x: x.scatter(1, _idx(lib)[:, :2], -lib.ones(2, 3)),
    "scatter_value": lambda lib, x: x.scatter(1, _idx(lib), 5.0),
    "scatter_add_reduce": lambda lib, x: x.scatter(1, _idx(lib), 2.0, reduce="add"),
    "scatter_mul_reduce": lambda lib, x: x.scatter(1, _idx(lib), lib.full((2, 3), 2.0),
                                                   reduce="multiply"),
    "scatter_add": lambda lib, x: x.scatter_add(1, _idx(lib), lib.ones(2, 3)),
    "scatter_reduce": lambda lib, x: x.scatter_reduce(1, _idx(lib), lib.ones(2, 3) * 50,
                                                      "amax", include_self=False),
    "scatter_reduce_mean": lambda lib, x: x.scatter_reduce(1, _idx(lib), lib.ones(2, 3),
                                                           "mean"),
    "masked_fill": lambda lib, x: x.masked_fill(x > 5, -1.0),
    "masked_fill_t": lambda lib, x: x.masked_fill(x > 5, lib.tensor(-1)),
    "masked_scatter": lambda lib, x: x.masked_scatter(x > 5, lib.arange(100.0, 112.0)),
    "put": lambda lib, x: x.put(lib.tensor([0, -1]), lib.tensor([5.0, 6.0])),
    "put_acc": lambda lib, x: x.put(lib.tensor([0, 0]), lib.tensor([5.0, 6.0]), accumulate=True),
    "index_put": lambda lib, x: x.index_put((lib.tensor([0, 0]), lib.tensor([1, 1])),
                                            lib.tensor(3.0), accumulate=True),
}


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_and_inplace(name):
    f = FUNCTIONAL[name]
    run_both(lambda lib: f(lib, lib.arange(12.0).reshape(3, 4)))
    method = {"masked_fill_t": "masked_fill", "scatter_value": "scatter",
              "scatter_add_reduce": "scatter", "scatter_mul_reduce": "scatter",
              "put_acc": "put", "scatter_reduce_mean": "scatter_reduce"}.get(name, name)

    def inplace(lib):
        x = lib.arange(12.0).reshape(3, 4)
        orig = getattr(type(x), method)
        try:
            setattr(type(x), method, getattr(type(x), method + "_"))
            r = f(lib, x)
        finally:
            setattr(type(x), method, orig)
        assert r is x
        return x, x._version
    run_both(inplace)


def test_integer_and_bool_inputs():
    run_both(lambda lib: lib.arange(12).reshape(3, 4).gather(0, lib.tensor([[2, 1, 0, 0]])))
    run_both(lambda lib: lib.arange(12).reshape(3, 4).scatter_reduce(
        1, lib.tensor([[0, 0], [1, 1], [2, 3]]), lib.tensor([[5, 7], [1, 1], [3, 3]]), "mean"))
    run_both(lambda lib: lib.arange(12).reshape(3, 4).scatter_reduce(
        1, lib.tensor([[0, 0], [1, 1], [2, 3]]), lib.tensor([[5, 7], [1, 1], [3, 3]]), "amin",
        include_self=False))
    run_both(lambda lib: (lib.arange(6) > 2).index_select(0, lib.tensor([5, 0])))
    run_both(lambda lib: lib.zeros(4, dtype=lib.bool).masked_fill(lib.tensor([True, False,
                                                                              True, False]), 1))


INDEX_ERRORS = [
    lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([0, 5])),
    lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([-1])),
    lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([0.0])),
    lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([[0]])),
    lambda lib: lib.zeros(3, 4).index_select(2, lib.tensor([0])),
    lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([[5]])),
    lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([[-1]])),
    lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([0])),
    lambda lib: lib.zeros(3, 4).gather(1, lib.zeros(4, 1, dtype=lib.int64)),
    lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([[0.0]])),
    lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor([[5]]), 1.0),
    lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor([[0]]), lib.ones(1, 1,
                                                                       dtype=lib.float64)),
    lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor([[0]]), 1.0, reduce="max"),
    lambda lib: lib.zeros(3, 4).scatter_reduce(1, lib.tensor([[0]]), lib.ones(1, 1), "max"),
    lambda lib: lib.zeros(3, 4).index_add(0, lib.tensor([5]), lib.ones(1, 4)),
    lambda lib: lib.zeros(3, 4).index_add(0, lib.tensor([0]), lib.ones(1, 3)),
    lambda lib: lib.zeros(3, 4).index_copy(0, lib.tensor([5]), lib.ones(1, 4)),
    lambda lib: lib.zeros(3, 4).index_fill(0, lib.tensor([5]), 1.0),
    lambda lib: lib.zeros(3, 4).index_fill(0, lib.tensor([1]), lib.ones(2)),
    lambda lib: lib.zeros(3, 4).masked_fill(lib.ones(3, 4), 1.0),
    lambda lib: lib.zeros(3, 4).masked_fill(lib.ones(3, 4, dtype=lib.bool), lib.ones(2)),
    lambda lib: lib.zeros(3, 4).masked_select(lib.ones(2, 4, dtype=lib.bool)),
    lambda lib: lib.zeros(3, 4).masked_scatter(lib.ones(3, 4, dtype=lib.bool), lib.ones(5)),
    lambda lib: lib.zeros(3, 4).masked_fill_(lib.ones(2, 3, 4, dtype=lib.bool), 1.0),
    lambda lib: lib.zeros(3, 4).take(lib.tensor([12])),
    lambda lib: lib.zeros(3, 4).take(lib.tensor([-13])),
    lambda lib: lib.zeros(3, 4).topk(5),
    lambda lib: lib.zeros(3, 4).kthvalue(5),
    lambda lib: lib.zeros(3, 4).sort(dim=2),
    lambda lib: lib.zeros(3, 4).unique(dim=2),
    lambda lib: lib.searchsorted(lib.tensor([1.0, 2.0]), 2.0, side="left", right=True),
    lambda lib: lib.searchsorted(lib.tensor([[1.0, 2.0]]), lib.ones(2, 3)),
    lambda lib: lib.bucketize(lib.ones(2), lib.ones(2, 2)),
    lambda lib: lib.searchsorted(lib.tensor([3.0, 1, 2]), lib.ones(2), sorter=lib.tensor([1, 2])),
    lambda lib: lib.searchsorted(lib.tensor([3.0, 1, 2]), lib.ones(2),
                                 sorter=lib.tensor([1, 2, 0], dtype=lib.int32)),
    lambda lib: lib.searchsorted(lib.tensor([3.0, 1, 2]), lib.ones(2), sorter=lib.tensor([1, 2, 3])),
    lambda lib: lib.searchsorted(lib.tensor([3.0, 1, 2]), lib.ones(2), sorter=lib.tensor([1, -1, 0])),
    lambda lib: lib.searchsorted(lib.tensor([[1.0, 2], [3, 4]]), lib.tensor(2.0)),
    lambda lib: lib.searchsorted(lib.tensor(2.0), lib.tensor([2.0])),
    lambda lib: lib.searchsorted(lib.tensor([[1.0, 2], [3, 4]]), lib.tensor([[[2.0, 3]]])),
    lambda lib: lib.zeros(3).index_put_((lib.tensor([0]),), lib.ones(1, dtype=lib.float64)),
    lambda lib: lib.zeros(3, 4).take_along_dim(lib.tensor([0]), 1),
]


@pytest.mark.parametrize("i", range(len(INDEX_ERRORS)))
def test_index_errors_match_torch(i):
    run_both(INDEX_ERRORS[i])


# ---- sorting, selection, searching -----------------------------------------------------------
def test_sort_ties_nan_and_stability():
    data = [3.0, 1.0, float("nan"), 1.0, 3.0, -0.0, 0.0, float("inf"), 1.0]
    for desc in (False, True):
        run_both(lambda lib: lib.tensor(data).sort(descending=desc, stable=True))
        run_both(lambda lib: lib.tensor(data).argsort(descending=desc, stable=True))
    run_both(lambda lib: lib.tensor([[2, 1, 2], [0, 0, 1]]).sort(dim=0, stable=True))
    run_both(lambda lib: lib.tensor([True, False, True]).sort(stable=True))
    run_both(lambda lib: lib.tensor(3.0).sort())
    run_both(lambda lib: lib.zeros(0, 3).sort(0))
    run_both(lambda lib: lib.tensor([[4.0, 1.0, 3.0], [0.5, 2.0, 9.0]]).msort())


def test_topk_variants():
    x = [[4.0, 1.0, 3.0, 7.0], [0.5, 2.0, 9.0, -1.0]]
    run_both(lambda lib: lib.tensor(x).topk(2))
    run_both(lambda lib: lib.tensor(x).topk(1, dim=0, largest=False))
    run_both(lambda lib: lib.tensor(x).topk(0))
    run_both(lambda lib: lib.tensor([1.0, float("nan"), 2.0]).topk(2))
    r = ember.tensor(x).topk(2)
    assert type(r).__name__ == "topk" and r.values.shape == (2, 2)
    assert repr(r).startswith("torch.return_types.topk(\nvalues=tensor(")


def test_unique_variants():
    x = [[2, 1, 2], [2, 1, 2], [0, 5, 0]]
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}, {"sorted": False}):
        run_both(lambda lib: lib.tensor(x).unique(**kw))
        run_both(lambda lib: lib.tensor(x).unique(dim=0, **kw))
        run_both(lambda lib: lib.tensor(x).unique(dim=1, **kw))
        run_both(lambda lib: lib.unique_consecutive(lib.tensor([1, 1, 2, 2, 3, 1, 1]),
                                                    **{k: v for k, v in kw.items()
                                                       if k != "sorted"}))
    run_both(lambda lib: lib.tensor(x).unique_consecutive(dim=0, return_inverse=True))
    run_both(lambda lib: lib.tensor([], dtype=lib.int64).unique(return_counts=True))
    run_both(lambda lib: lib.tensor([1.5, 0.5, 1.5]).unique())


def test_searchsorted_bucketize():
    seq = [1.0, 2.0, 2.0, 5.0]
    v = [[0.0, 2.0, 6.0], [2.0, 5.0, 1.5]]
    for kw in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        run_both(lambda lib: lib.searchsorted(lib.tensor(seq), lib.tensor(v), **kw))
        run_both(lambda lib: lib.searchsorted(lib.tensor([seq, seq[::-1]]).sort()[0],
                                              lib.tensor(v), **kw))
    run_both(lambda lib: lib.searchsorted(lib.tensor(seq), 2.0))
    run_both(lambda lib: lib.searchsorted(lib.tensor([5.0, 1.0, 2.0]), lib.tensor([1.5]),
                                          sorter=lib.tensor([1, 2, 0])))
    run_both(lambda lib: lib.searchsorted(lib.tensor([1, 2, 3]), lib.tensor([2.5])))
    run_both(lambda lib: lib.bucketize(lib.tensor(v), lib.tensor(seq)))
    run_both(lambda lib: lib.bucketize(lib.tensor(v), lib.tensor(seq), right=True,
                                       out_int32=True))
    run_both(lambda lib: lib.bucketize(3, lib.tensor(seq)))


def test_searchsorted_warns_once_per_program_on_non_contiguous_tensors(monkeypatch):
    """torch's TORCH_WARN_ONCE: one warning per kind (input values, boundaries, sorter)."""
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    seq = ember.tensor([[1.0, 3, 5], [2, 4, 6]]).t()
    with pytest.warns(UserWarning) as rec:
        r = ember.searchsorted(seq, ember.tensor([[2.5], [3.5], [1.0]]))
        ember.searchsorted(seq, ember.tensor([[2.5], [3.5], [1.0]]))
        ember.searchsorted(ember.tensor([1.0, 2, 3]), ember.tensor([[2.5, 3], [3.5, 1]]).t())
        ember.searchsorted(ember.tensor([3.0, 1, 2]), ember.tensor([3.0]),
                           sorter=ember.tensor([1, 0, 2, 0, 0, 0])[::2])
    assert [str(w.message).split(" tensor")[0] for w in rec] == [
        "torch.searchsorted(): boundary", "torch.searchsorted(): input value",
        "torch.searchsorted(): sorter"]
    assert all(str(w.message).endswith("This message will only appear once per program.")
               for w in rec)
    assert r.tolist() == [[2], [1], [0]]


def test_nonzero_argwhere():
    for data in ([[0, 1], [2, 0]], [], [[0, 0]], 5, 0, [[[True, False]], [[False, True]]]):
        run_both(lambda lib: lib.tensor(data).nonzero())
        run_both(lambda lib: lib.tensor(data).nonzero(as_tuple=True))
        run_both(lambda lib: lib.argwhere(lib.tensor(data)))
    run_both(lambda lib: lib.where(lib.tensor([[0, 1], [2, 0]])))


def test_grad_fn_names():
    for expr in ["x.index_select(0, lib.tensor([0]))", "x.gather(1, lib.tensor([[0], [1]]))",
                 "x.scatter(1, lib.tensor([[0], [1]]), x)", "x.scatter_add(1, lib.tensor("
                 "[[0], [1]]), x)", "x.masked_fill(x > 0, 1.0)", "x.masked_select(x > 0)",
                 "x.take(lib.tensor([0]))", "x.sort()[0]", "x.topk(1)[0]", "x.index_add(0, "
                 "lib.tensor([0]), x[:1])", "x.index_fill(0, lib.tensor([0]), 1.0)",
                 "x.index_copy(0, lib.tensor([0]), x[:1])", "x.take_along_dim(lib.tensor("
                 "[[0]]), 1)", "x.masked_scatter(x > 0, x)", "x.unique()",
                 "x.scatter_reduce(1, lib.tensor([[0], [1]]), x, 'amax')"]:
        names = []
        for lib in (torch, ember):
            x = lib.ones(2, 3, requires_grad=True) * 1
            names.append(_name(eval(expr).grad_fn))
        assert names[1] == names[0], expr


@pytest.mark.parametrize("sl", [slice(0, 5), slice(-3, None), slice(-100, 100), slice(-3, 3),
                                slice(None, 100), slice(0, 3, 1), slice(0, 2), slice(None, 0)])
def test_whole_dim_slice_node_as_torch(sl):
    # torch returns the tensor itself for a slice of start 0, stop >= the size and step 1 (a
    # negative start covering the dim is still sliced): the grad_fn is the op before it
    names = []
    for lib in (torch, ember):
        x = lib.ones(2, 3, requires_grad=True) * 1
        names.append((_name(x[0, sl].grad_fn), _name(x[(sl,)].grad_fn)))
    assert names[1] == names[0]


def test_unique_is_not_differentiable():
    run_both(lambda lib: lib.ones(3, requires_grad=True).unique().sum().backward())


@pytest.mark.parametrize("case", ["select", "copy", "copy_1d", "add", "fill"])
def test_zero_dim_index_is_a_one_element_vector(case):
    """index_select / index_copy_ / index_add_ / index_fill_ take a 0-d index as torch does."""
    def run(L):
        x = L.arange(6.0).reshape(3, 2)
        i = L.tensor(1)
        if case == "select":
            return x.index_select(0, i)
        if case == "copy_1d":
            return L.zeros(3).index_copy_(0, i, L.ones(1))
        if case == "copy":
            return x.index_copy_(0, i, L.ones(1, 2))
        if case == "add":
            return x.index_add_(0, i, L.ones(1, 2))
        return x.index_fill_(0, i, 5.0)
    e, t = run(ember), run(torch)
    assert tuple(e.shape) == tuple(t.shape) and e.tolist() == t.tolist()


@pytest.mark.parametrize("shape", [(4, 0), (2, 5, 0), (0, 0)])
def test_linear_with_no_input_features(shape):
    grads = []
    for L in (ember, torch):
        w = L.zeros(3, 0, requires_grad=True)
        x = L.zeros(*shape, requires_grad=True)
        b = L.ones(3, requires_grad=True)
        out = L.nn.functional.linear(x, w, b)
        out.sum().backward()
        grads.append((tuple(out.shape), out.tolist(), tuple(w.grad.shape), tuple(x.grad.shape),
                      b.grad.tolist()))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("dt", ["uint8", "int8", "int32", "int64", "float16", "bfloat16",
                                "float32", "float64", "bool", "complex64", "complex128"])
def test_number_values_convert_as_torch(dt):
    """A Python number written by fill_ or by setitem (basic, boolean mask, advanced index) goes
    through torch's checked conversion: an imaginary part or an out-of-range value is a
    RuntimeError, -x wraps into unsigned types, float16/bfloat16 setitem goes through double
    (overflowing to inf), ints beyond 64 bits are torch's OverflowError/ValueError."""
    values = [2 + 1j, -2, 300, 1e40, float("nan"), 2 ** 70, 2 ** 63, True, 1.5, 65520.0, 1e40j,
              complex(float("inf"), 1), 70000, 2049]
    results = []
    for lib in (ember, torch):
        rows = []
        for v in values:
            for how in ("fill", "set", "mask", "adv"):
                x = lib.zeros(2, dtype=getattr(lib, dt))
                try:
                    if how == "fill":
                        x.fill_(v)
                    elif how == "set":
                        x[0] = v
                    elif how == "mask":
                        x[lib.tensor([True, False])] = v
                    else:
                        x[lib.tensor([0])] = v
                    rows.append(repr(x.tolist()))
                except Exception as e:      # noqa: BLE001 - class and message are compared
                    rows.append((type(e).__name__, str(e)))
        results.append(rows)
    assert results[0] == results[1]


def _uint8_outcome(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(lib, lib.tensor([1, 0, 1], dtype=lib.uint8))
            result = None if result is None else result.tolist()
        except RuntimeError as e:
            result = ("RuntimeError", str(e))
    return result, [str(w.message).split(" (Triggered internally")[0] for w in caught]


@pytest.mark.parametrize("fn", [
    lambda L, m: L.arange(3.)[m],
    lambda L, m: L.arange(6.).reshape(3, 2)[m, 1],
    lambda L, m: L.ones(3).__setitem__(m, 0.0),                      # masked_fill_: refused
    lambda L, m: L.ones(3).__setitem__(m, L.tensor([5.0])),
    lambda L, m: L.ones(3, 2).__setitem__((m, 1), 5.0),
    lambda L, m: L.ones(3).index_put_((m,), L.tensor(0.0)),
    lambda L, m: L.ones(3).index_put((m,), L.tensor([3.0, 4.0])),     # index_put_: warned
    lambda L, m: L.ones(3).index_put_((m,), L.tensor([3.0, 4.0]), accumulate=True),
    lambda L, m: L.ones(3).index_put((m,), L.tensor(3.0), accumulate=True),
    lambda L, m: L.ones(3, 2).__setitem__((m, [0, 1]), 2.0),
    lambda L, m: L.ones(3).masked_scatter(m, L.zeros(3)),
])
def test_uint8_masks_as_torch(fn):
    """uint8 masks index with torch's deprecation warning; a one-value put through a single
    uint8 mask is torch's masked_fill_, which refuses it; masked_scatter refuses it after its
    own warning."""
    assert _uint8_outcome(ember, fn) == _uint8_outcome(torch, fn)


@pytest.mark.parametrize("fn", [
    lambda L: L.zeros(3, 2).index_put_((None, L.tensor([0])), L.tensor(1.0)),
    lambda L: L.zeros(3, 2).index_put((L.tensor([0]), None), L.tensor(1.0)),
])
def test_index_put_refuses_none_as_torchs_binding(fn):
    with pytest.raises(TypeError) as e:
        fn(torch)
    with pytest.raises(TypeError, match=str(e.value)):
        fn(ember)
