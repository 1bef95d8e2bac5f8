"""ember.cond and ember.while_loop against torch.cond and torch.while_loop: outputs and
gradients through the branch taken / the iterations run, and torch's argument errors."""
import numpy as np
import pytest
import torch
from oracle import assert_close

import ember

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch.compile's, in torch


def _x(requires_grad=True):
    x = np.random.default_rng(0).standard_normal(4)
    return (ember.tensor(x, requires_grad=requires_grad),
            torch.tensor(x, requires_grad=requires_grad))


def _same_error(fe, ft, cls=None):
    """The same class and message (or, where torch's comes from torch._dynamo, one of `cls`)."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(Exception) as ee:
        fe()
    if cls is None:
        assert type(ee.value) is type(te.value)
        assert str(ee.value) == str(te.value)
    else:
        assert type(ee.value) is cls and isinstance(te.value, cls)


@pytest.mark.parametrize("pred", [True, False, 1, 0.0, "tensor", "tensor1", "int_tensor"])
def test_cond_output_and_grad_follow_the_branch_taken(pred):
    ex, tx = _x()
    w = np.array([0.5, -1.0, 2.0, 3.0])
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)

    def preds(lib, x):
        return {"tensor": x.sum() > 0, "tensor1": (x.sum() < 0).reshape(1),
                "int_tensor": (x.sum() > 0).long()}.get(pred, pred)

    outs = []
    for lib, x, w in ((ember, ex, ew), (torch, tx, tw)):
        outs.append(lib.cond(preds(lib, x), lambda a, w=w: (a * w).sin(),
                             lambda a, w=w: a.cos() + w, (x,)))
        outs[-1].pow(2).sum().backward()
    assert_close(*outs)
    assert_close(ex.grad, tx.grad)
    assert_close(ew.grad, tw.grad)


def test_cond_nested_operands_tuple_outputs_and_no_operands():
    ex, tx = _x()
    res = [lib.cond(lib.tensor(False), lambda d, y: (d["a"] * y, d["a"] - y),
                    lambda d, y: (d["a"] + y, y.exp()), [{"a": x}, x * 2])
           for lib, x in ((ember, ex), (torch, tx))]
    assert isinstance(res[0], tuple)
    assert_close(*res)
    sum(r.sum() for r in res[0]).backward()
    sum(r.sum() for r in res[1]).backward()
    assert_close(ex.grad, tx.grad)
    assert_close(ember.cond(ember.tensor(True), lambda: ember.ones(2), lambda: ember.zeros(2)),
                 torch.cond(torch.tensor(True), lambda: torch.ones(2), lambda: torch.zeros(2)))


@pytest.mark.parametrize("case", ["pred_2", "pred_str", "pred_none", "not_callable",
                                  "operands_tensor", "operands_int", "bool_pred_tensor"])
def test_cond_errors_as_torch(case):
    def call(lib):
        x = lib.ones(3)

        def f(a):
            return a.sin()
        pred, t, ops = lib.tensor(True), f, (x,)
        if case == "pred_2":
            pred = lib.tensor([True, False])
        elif case in ("pred_str", "pred_none"):
            pred = "a" if case == "pred_str" else None
        elif case == "not_callable":
            t = 1
        elif case == "operands_tensor":
            ops = x
        elif case == "operands_int":
            t, ops = (lambda a, n: a * n), (x, 2)
        else:                       # a Python bool: torch unpacks the tensor as the operands
            pred, ops = True, x
        return lib.cond(pred, t, f, ops)
    _same_error(lambda: call(ember), lambda: call(torch))


def test_while_loop_outputs_and_grads():
    ex, tx = _x()
    res = []
    for lib, x in ((ember, ex), (torch, tx)):
        r = lib.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * y + y.sin()),
                           (lib.tensor(0), x))
        r[1].sum().backward()
        res.append(r)
    assert isinstance(res[0], tuple)
    assert_close(*res)
    assert_close(ex.grad, tx.grad)


def test_while_loop_python_pred_int_carry_nesting_and_structure():
    def run(lib):
        return lib.while_loop(lambda n, y, d: n < 4,
                              lambda n, y, d: (n + 1, y * 3, {"a": d["a"] + y}),
                              [0, lib.ones(2), {"a": lib.zeros(2)}])
    (en, ey, ed), (tn, ty, td) = run(ember), run(torch)
    assert en == tn == 4 and list(ed) == list(td) == ["a"]
    assert_close(ey, ty)
    assert_close(ed["a"], td["a"])
    # a single carried tensor, the body returning it bare: the body's structure comes back
    run1 = [lib.while_loop(lambda y: y.sum() < 3, lambda y: y + 1, (lib.zeros(2),))
            for lib in (ember, torch)]
    assert_close(*run1)


def test_while_loop_without_iterations_returns_clones():
    """The carried values, cloned; their gradient is the identity's (torch 2.13's backward runs
    the body once here: it gives 2 for y * 2)."""
    ex, tx = _x()
    res = [lib.while_loop(lambda i, y: i < 0, lambda i, y: (i + 1, y * 2), [lib.tensor(0), x])
           for lib, x in ((ember, ex), (torch, tx))]
    assert isinstance(res[0], tuple) and res[0][1] is not ex
    assert_close(*res)
    res[0][1].sum().backward()
    assert_close(ex.grad, torch.ones(4, dtype=torch.float64))


def test_while_loop_body_closure_grads_count_every_iteration():
    """Eager autograd: d/dw of y * w * w * w is 3 w^2, as unrolled torch gives it (torch
    2.13's while_loop counts one iteration for tensors the body closes over)."""
    w = np.array([2.0, 3.0])
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ember.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * ew),
                     (ember.tensor(0), ember.ones(2, dtype=ember.float64)))[1].sum().backward()
    y = torch.ones(2, dtype=torch.float64)
    for _ in range(3):
        y = y * tw
    y.sum().backward()
    assert_close(ew.grad, tw.grad)


@pytest.mark.parametrize("case", ["not_callable", "carried_float", "carried_str"])
def test_while_loop_argument_errors_as_torch(case):
    def call(lib):
        cond_fn, body_fn, carried = (lambda y: y.sum() < 3), (lambda y: (y + 1,)), (lib.zeros(2),)
        if case == "not_callable":
            cond_fn = 1
        elif case == "carried_float":
            carried = (lib.zeros(2), 1.5)
        else:
            carried = (["a"],)
        return lib.while_loop(cond_fn, body_fn, carried)
    if case == "not_callable":
        _same_error(lambda: call(ember), lambda: call(torch))
    else:                           # the message names each library's Tensor class
        _same_error(lambda: call(ember), lambda: call(torch), AssertionError)


@pytest.mark.parametrize("case", ["carried_tensor", "cond_vector", "cond_int", "cond_float",
                                  "body_shape", "body_dtype", "body_length", "body_int_to_tensor"])
def test_while_loop_errors_torch_raises_from_dynamo(case):
    """torch raises these from torch._dynamo (RuntimeError subclasses); ember a RuntimeError."""
    def call(lib):
        cond_fn, body_fn, carried = (lambda y: y.sum() < 3), (lambda y: (y + 1,)), (lib.zeros(2),)
        if case == "carried_tensor":
            carried = lib.zeros(2)
        elif case == "cond_vector":
            cond_fn = lambda y: y < 3
        elif case == "cond_int":
            cond_fn = lambda y: (y.sum() < 3).long()
        elif case == "cond_float":
            cond_fn = lambda y: 1.0
        elif case == "body_shape":
            body_fn = lambda y: (lib.cat([y, y + 1]),)
        elif case == "body_dtype":
            body_fn = lambda y: ((y + 1).double(),)
        elif case == "body_length":
            body_fn = lambda y: (y + 1, y)
        else:
            cond_fn, body_fn, carried = (lambda n: n < 3), (lambda n: (lib.tensor(n + 1),)), (0,)
        return lib.while_loop(cond_fn, body_fn, carried)
    _same_error(lambda: call(ember), lambda: call(torch), RuntimeError)
