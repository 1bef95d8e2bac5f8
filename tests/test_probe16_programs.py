"""Regressions found by running ordinary PyTorch programs in domains earlier rounds covered
little (graph networks with sparse adjacency, diffusion, PPO/SAC, VAEs and flows, audio
front-ends, metric learning, EmbeddingBag recommenders, mixture-of-experts routing, LoRA through
parametrize, per-sample gradients, SWA/EMA, distillation, samplers and collate functions,
chained schedulers, checkpoints moved between torch and ember...) under ember and torch, and
comparing everything they print."""
import warnings

import numpy as np
import pytest
import torch

import ember


def _warned(fn):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message), w.filename) for w in seen]


def _copy_constructs(lib):
    x, r = lib.ones(2), lib.ones(2, requires_grad=True)
    out = []
    return (_warned(lambda: out.append(x.new_tensor(r))), out[0].requires_grad,
            _warned(lambda: out.append(x.new_tensor(r, dtype=lib.int32))), str(out[1].dtype),
            _warned(lambda: lib.tensor(r)))


def test_new_tensor_of_a_tensor_warns_in_its_own_words_at_the_callers_line():
    assert _copy_constructs(ember) == _copy_constructs(torch)


# index_select of a sparse COO tensor (a GNN's A.index_select(0, batch_nodes)): torch's kernel
# pairs entries with index positions (the longer sequence inner), wraps negative indices, and
# gives an uncoalesced result once it holds two entries
_SPARSE = {
    "uncoalesced": ([[0, 1, 1, 2, 0], [1, 0, 2, 1, 1]], (3, 3), False),
    "coalesced": ([[0, 1, 1, 2, 0], [1, 0, 2, 1, 1]], (3, 3), True),
    "hybrid": ([[0, 2, 2]], (4, 3), False),
    "empty": ([[], []], (3, 4), False),
}


@pytest.mark.parametrize("case,dim,index", [
    ("uncoalesced", 0, [2, 0, 2]), ("uncoalesced", 0, [2, 0, 1, 0, 1, 2, 0]),
    ("coalesced", 1, [1, 1]), ("coalesced", -1, [-1, 0]), ("coalesced", 0, [1]),
    ("coalesced", 0, []), ("hybrid", 0, [2, 0]), ("hybrid", 1, [2, 0, 2]),
    ("empty", 1, [3, 0]), ("empty", 0, [1, 1, 1]),
    ("coalesced", 0, [3]), ("coalesced", 1, [-4]), ("hybrid", 1, [3]),
    ("coalesced", 0, [[1]]), ("coalesced", 0, "float"),
])
def test_index_select_of_a_sparse_coo_tensor_like_torch(case, dim, index):
    def run(lib):
        ind, shape, coalesced = _SPARSE[case]
        nnz = len(ind[0])
        values = lib.arange(float(nnz * (shape[-1] if case == "hybrid" else 1)))
        if case == "hybrid":
            values = values.view(nnz, shape[-1])
        a = lib.sparse_coo_tensor(lib.tensor(ind, dtype=lib.long), values, shape)
        if coalesced:
            a = a.coalesce()
        i = lib.tensor([1.]) if index == "float" else lib.tensor(index, dtype=lib.long)
        try:
            r = a.index_select(dim, i)
        except Exception as e:
            return type(e).__name__, str(e)
        return (r.layout is lib.sparse_coo, r._indices().tolist(), r._values().tolist(),
                r.is_coalesced(), tuple(r.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # torch's note on unchecked sparse invariants
        assert run(ember) == run(torch)


def _sparse_result(lib, fn):
    """(layout, indices, values, coalesced) of fn's result, or its exception."""
    i = lib.tensor([[0, 1, 1, 0], [1, 0, 2, 1]])
    a = lib.sparse_coo_tensor(i, lib.tensor([0.25, -0.5, 2.0, 0.5]), (2, 3))   # (0,1) twice
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(lib, a)
    except NotImplementedError:
        return "NotImplementedError"
    except Exception as e:
        return type(e).__name__, str(e)
    values = np.round(np.array(r._values().tolist(), dtype=float), 5)
    return str(r.layout), r._indices().tolist(), str(values), r.is_coalesced()


@pytest.mark.parametrize("name", [
    "abs", "sqrt", "relu", "tanh", "sin", "sign", "sgn", "log1p", "expm1", "floor", "ceil",
    "trunc", "frac", "asin", "atan", "sinh", "erf", "erfinv", "tan", "asinh", "atanh", "isnan",
    "isinf", "signbit", "exp", "cos", "log", "sigmoid", "neg"])
def test_zero_preserving_unary_ops_of_a_sparse_coo_tensor_like_torch(name):
    # torch runs these on the coalesced values (exp, cos, log would densify: refused)
    fn = lambda lib, a: getattr(lib, name)(a)     # noqa: E731
    assert _sparse_result(ember, fn) == _sparse_result(torch, fn)


@pytest.mark.parametrize("case", ["pow2", "pow-half", "pow-neg", "pow0", "pow-op", "reciprocal",
                                  "mul_", "div_", "neg_", "add_", "sub_", "mul_sparse_",
                                  "abs_-uncoalesced", "sqrt_-uncoalesced", "abs_", "sqrt_",
                                  "tanh_"])
def test_sparse_coo_pow_and_in_place_ops_like_torch(case):
    fn = {
        "pow2": lambda lib, a: a.pow(2), "pow-half": lambda lib, a: lib.pow(a, 0.5),
        "pow-neg": lambda lib, a: a.pow(-1), "pow0": lambda lib, a: a.pow(0),
        "pow-op": lambda lib, a: a ** 3, "reciprocal": lambda lib, a: 1 / a,
        "mul_": lambda lib, a: a.mul_(2), "div_": lambda lib, a: a.div_(4),
        "neg_": lambda lib, a: a.neg_(), "add_": lambda lib, a: a.add_(a),
        "sub_": lambda lib, a: a.sub_(a.coalesce(), alpha=2),
        "mul_sparse_": lambda lib, a: a.mul_(a),
        "abs_-uncoalesced": lambda lib, a: a.abs_(), "sqrt_-uncoalesced": lambda lib, a: a.sqrt_(),
        "abs_": lambda lib, a: a.coalesce().abs_(), "sqrt_": lambda lib, a: a.coalesce().sqrt_(),
        "tanh_": lambda lib, a: a.coalesce().tanh_(),
    }[case]
    assert _sparse_result(ember, fn) == _sparse_result(torch, fn)


@pytest.mark.parametrize("op", ["mul_", "div_", "neg_", "abs_", "sqrt_", "add_"])
def test_in_place_op_of_a_sparse_tensor_writes_its_values_where_torch_does(op):
    def run(lib):
        a = lib.sparse_coo_tensor(lib.tensor([[0, 1]]), lib.tensor([1., 4.]), (3,)).coalesce()
        v = a._values()
        getattr(a, op)(*{"mul_": (3,), "div_": (2,), "add_": (a.clone(),)}.get(op, ()))
        return v.tolist(), a._values().tolist()
    assert run(ember) == run(torch)
