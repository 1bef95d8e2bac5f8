"""Regressions found by probe batch 10b (differential fuzzing of sorting, searching and counting
ops, torch.distributions and torch.utils.data), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome     # the shared comparison helper


def _grad_outcome(lib, fn, data, dtype="float64"):
    def run():
        x = lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=True)
        y = fn(lib, x)
        (y * lib.arange(1., y.numel() + 1, dtype=y.dtype).reshape(y.shape)).sum().backward()
        return y, x.grad
    return _outcome(run)


_NAN = float("nan")

_SEARCH = {
    "NaN boundaries at the end": lambda t: t.searchsorted(t.tensor([1., 2, _NAN, _NAN]),
                                                          t.tensor([0., 1.5, 2, 3, _NAN])),
    "NaN values, right": lambda t: t.searchsorted(t.tensor([1., 2, 3]), t.tensor([_NAN, 2.]),
                                                  right=True),
    "unsorted boundaries": lambda t: t.searchsorted(t.tensor([3, 1, 2]), t.arange(5)),
    "bfloat16 values with NaN": lambda t: t.bucketize(
        t.tensor([-1.2, 2.9, _NAN, -2.9, 3.9, -0.0], dtype=t.bfloat16),
        t.tensor([-1., 3.], dtype=t.bfloat16), right=True),
    "common dtype bfloat16": lambda t: t.searchsorted(t.tensor([257], dtype=t.int32),
                                                      t.tensor([256.5], dtype=t.bfloat16)),
    "scalar in the boundaries' dtype": lambda t: t.searchsorted(t.tensor([257], dtype=t.int32),
                                                                256.5),
    "0-d long into uint8 boundaries": lambda t: t.bucketize(t.tensor(-3),
                                                            t.tensor([0, 1, 2, 5], dtype=t.uint8)),
    "sorter and NaN": lambda t: t.searchsorted(t.tensor([1], dtype=t.int8),
                                               t.tensor([_NAN, float("inf")], dtype=t.bfloat16),
                                               sorter=t.tensor([0])),
    "empty boundaries rows": lambda t: t.searchsorted(t.zeros(3, 0), t.zeros(3, 3)),
    "empty values rows": lambda t: t.searchsorted(t.zeros(4, 2, 2, dtype=t.uint8),
                                                  t.zeros(4, 2, 0, dtype=t.uint8)),
    "n-d": lambda t: t.searchsorted(t.tensor([[1., 2, 3], [4, 5, 6]]),
                                    t.tensor([[2., 3], [0, 5]]), side="right"),
}


@pytest.mark.parametrize("case", list(_SEARCH))
def test_searchsorted_probes_as_torchs_binary_search(case):
    assert _outcome(lambda: _SEARCH[case](ember)) == _outcome(lambda: _SEARCH[case](torch))


_TAKE = {
    "negative and large indices wrap": lambda t: t.take_along_dim(
        t.arange(6.).reshape(2, 3), t.tensor([[-1, 4], [7, -7]]), 1),
    "out=": lambda t: t.take_along_dim(t.arange(4.).reshape(1, 4), t.tensor([[-2, 0, -5, 9]]),
                                       -1, out=t.zeros(1, 4)),
    "size-0 dim": lambda t: t.take_along_dim(t.zeros(2, 0), t.zeros(2, 1, dtype=t.long), 1),
    "size-0 dim, no indices": lambda t: t.take_along_dim(t.zeros(2, 0),
                                                         t.zeros(2, 0, dtype=t.long), 1),
    "no dim: no wrapping": lambda t: t.take_along_dim(t.arange(4.), t.tensor([-1])),
    "no dim: a view": lambda t: t.take_along_dim(t.arange(12.).reshape(3, 4).t(),
                                                 t.tensor([0, 5])),
    "remainder of nothing by zero": lambda t: t.remainder(t.zeros(2, 0, dtype=t.long), 0),
    "floor_divide of nothing by zero": lambda t: t.floor_divide(
        t.zeros(0, 1, dtype=t.int32), t.zeros(3, dtype=t.int32)),
}


@pytest.mark.parametrize("case", list(_TAKE))
def test_take_along_dim_and_integer_division_edges_like_torch(case):
    assert _outcome(lambda: _TAKE[case](ember)) == _outcome(lambda: _TAKE[case](torch))


def test_take_along_dim_wrapped_indices_grad_like_torch():
    def fn(lib, x):
        return lib.take_along_dim(x, lib.tensor([[-1, 4], [7, -7]]), 1)
    data = [[0., 1, 2], [3, 4, 5]]
    assert _grad_outcome(ember, fn, data) == _grad_outcome(torch, fn, data)


_MAX = {
    "0-d long tensor is `other`": lambda t: t.max(t.tensor([[1, 5], [2, 3]]), t.tensor(3)),
    "method": lambda t: t.tensor([[1, 5], [2, 3]]).min(t.tensor(2)),
    "with out=": lambda t: t.max(t.tensor([1, 5]), t.tensor(3), out=t.zeros(2, dtype=t.long)),
    "keepdim given: a dim": lambda t: t.max(t.tensor([[1, 5], [2, 3]]), t.tensor(1), True),
    "keepdim= given: a dim": lambda t: t.min(t.tensor([[1, 5], [2, 3]]), t.tensor(1),
                                             keepdim=True),
    "dim= keyword": lambda t: t.max(t.tensor([[1, 5], [2, 3]]), dim=t.tensor(1)),
    "positional dim and keepdim": lambda t: t.tensor([[1, 5], [2, 3]]).max(0, True),
}


@pytest.mark.parametrize("case", list(_MAX))
def test_max_min_read_a_tensor_second_argument_as_torch_does(case):
    assert _outcome(lambda: _MAX[case](ember)) == _outcome(lambda: _MAX[case](torch))


@pytest.mark.parametrize("call", [lambda t: t.max(t.ones(3), 0, dim=0),
                                  lambda t: t.ones(3).min(0, True, keepdim=True),
                                  lambda t: t.ones(3).max(0, True, 1)])
def test_max_min_argument_clashes_are_type_errors_like_torch(call):
    assert _outcome(lambda: call(ember))[0] == _outcome(lambda: call(torch))[0] == "TypeError"


_COUNT = {
    "bincount of nothing with weights": lambda t: t.bincount(t.tensor([], dtype=t.int64),
                                                             weights=t.tensor([]), minlength=3),
    "bincount of nothing, weights of another length": lambda t: t.bincount(
        t.zeros(0, dtype=t.uint8), weights=t.ones(2, dtype=t.float64)),
    "median of an empty int32": lambda t: t.median(t.zeros(0, dtype=t.int32)),
    "median of an empty int8": lambda t: t.median(t.zeros(0, 5, dtype=t.int8)),
    "median of an empty long": lambda t: t.median(t.zeros(0, dtype=t.long)),
    "median of an empty bool": lambda t: t.median(t.zeros(0, dtype=t.bool)),
    "median of a bool": lambda t: t.median(t.ones(2, dtype=t.bool)),
    "nanmedian of an empty int16": lambda t: t.nanmedian(t.zeros(0, dtype=t.int16)),
    "kthvalue of a 0-d, k=0": lambda t: t.kthvalue(t.tensor(3, dtype=t.uint8), 0),
    "kthvalue of a 0-d, k=2": lambda t: t.kthvalue(t.tensor(3.), 2, 0),
    "kthvalue of a 0-d bool": lambda t: t.kthvalue(t.tensor(True), 1),
    "kthvalue of a bool, k too big": lambda t: t.kthvalue(t.ones(3, 2, dtype=t.bool), 4, 0),
    "kthvalue of a bool, empty dim": lambda t: t.kthvalue(t.ones(2, 0, dtype=t.bool), 1),
    "histc of ints, max < min": lambda t: t.histc(t.arange(3), bins=3, min=3, max=-3),
    "histc of ints, no bins": lambda t: t.histc(t.arange(3), bins=0),
    "histc of ints, infinite range": lambda t: t.histc(t.arange(3), bins=3, min=float("inf")),
    "histc of bools, max < min": lambda t: t.histc(t.ones(3, dtype=t.bool), 3, 3, -3),
    "histc of empty uint8": lambda t: t.histc(t.zeros(0, dtype=t.uint8), 3, 0, 0),
    "histc of empty complex": lambda t: t.histc(t.zeros(0, dtype=t.complex64), 3, 0, 0),
    "histc, infinite and reversed": lambda t: t.histc(t.ones(3), 3, float("inf"), -3),
    "histc float32 range from the data": lambda t: t.histc(t.tensor([3.3]), bins=10),
    "histc float16": lambda t: t.histc(t.tensor([-1.2], dtype=t.float16), bins=10, min=1, max=1),
    "histc bfloat16 edges in bfloat16": lambda t: t.histc(
        t.tensor([-2.2, 0.9, 1.7, -2.6, -0.7], dtype=t.bfloat16), bins=5, min=-1.3, max=1.7),
}


@pytest.mark.parametrize("case", list(_COUNT))
def test_counting_and_order_statistics_edges_like_torch(case):
    assert _outcome(lambda: _COUNT[case](ember)) == _outcome(lambda: _COUNT[case](torch))


_ISIN = {
    "bool elements": lambda t: t.isin(t.tensor([True]), t.tensor([1])),
    "bool test elements": lambda t: t.isin(t.tensor([1]), t.tensor([True])),
    "bool scalar": lambda t: t.isin(t.tensor([1]), True),
    "complex": lambda t: t.isin(t.tensor([1j]), t.tensor([1])),
    "complex scalar": lambda t: t.isin(t.tensor([1]), 1j),
    "bfloat16 and int16": lambda t: t.isin(t.tensor([1., 2.5, 3], dtype=t.bfloat16),
                                           t.arange(45, dtype=t.int16).reshape(5, 3, 3)),
    "bfloat16 and float16": lambda t: t.isin(t.tensor([1., 2.], dtype=t.bfloat16),
                                             t.tensor(1., dtype=t.float16)),
    "scalar, few tests: its dtype is theirs": lambda t: t.isin(1.0001, t.ones(9, dtype=t.float16)),
    "scalar, many tests: sorted in double": lambda t: t.isin(1.0001,
                                                             t.ones(10, dtype=t.float16)),
    "scalar test": lambda t: t.isin(t.ones(3, dtype=t.float16), 1.0001),
    "assume_unique with repeats (sorted path)": lambda t: t.isin(
        t.tensor([[1., 3], [1, 0], [1, 2.5]], dtype=t.float64),
        t.tensor([[1, 0, 4], [1, 1, 2], [3, 3, 3], [0, 0, 0]], dtype=t.uint8),
        assume_unique=True),
    "assume_unique inverted": lambda t: t.isin(t.tensor([1, 1, 2, 5]), t.arange(12) % 4,
                                               assume_unique=True, invert=True),
}


@pytest.mark.parametrize("case", list(_ISIN))
def test_isin_dtypes_and_paths_like_torch(case):
    assert _outcome(lambda: _ISIN[case](ember)) == _outcome(lambda: _ISIN[case](torch))


def _nan_mix(t, dtype):
    return t.tensor([_NAN, 0., _NAN, -1, _NAN, -3, -3, _NAN, 2, _NAN, _NAN, 0, 1, 3, 2, 1, 0, 0,
                     3, -2, 2], dtype=getattr(t, dtype))


_UNIQUE = {
    "float16 NaNs numbered as torch's sort leaves them": lambda t: t.unique(
        _nan_mix(t, "float16"), return_inverse=True, return_counts=True),
    "float32 NaNs": lambda t: t.unique(_nan_mix(t, "float32"), return_inverse=True),
    "bfloat16 NaNs": lambda t: t.unique(_nan_mix(t, "bfloat16"), return_inverse=True,
                                        return_counts=True),
    "signed zeros": lambda t: t.unique(t.tensor([0.0, -0.0, 1, -0.0, 0.0] * 5),
                                       return_inverse=True, return_counts=True),
    "rows with NaN": lambda t: t.unique(t.tensor([[1, _NAN], [1, 2.], [1, _NAN]]), dim=0,
                                        return_inverse=True, return_counts=True),
    "1-d dim=0 with NaN": lambda t: t.unique(t.tensor([_NAN, -1, float("inf"), _NAN],
                                                      dtype=t.float16), dim=0),
    "rows of signed zeros": lambda t: t.unique(t.tensor([0.0, -0.0, 1, -0.0, 0.0] * 5)
                                               .reshape(-1, 1), dim=0),
    "columns with NaN": lambda t: t.unique(
        t.tensor([[0.2, 0.4, 0.5, _NAN], [_NAN, -2.1, _NAN, _NAN], [_NAN, _NAN, -3.2, 1.5]]),
        dim=-1, return_counts=True),
    "consecutive": lambda t: t.unique_consecutive(t.tensor([0.0, -0.0, _NAN, _NAN, 1]),
                                                  return_inverse=True, return_counts=True),
}


@pytest.mark.parametrize("case", list(_UNIQUE))
def test_unique_orders_ties_and_nans_as_torch(case):
    assert _outcome(lambda: _UNIQUE[case](ember)) == _outcome(lambda: _UNIQUE[case](torch))


_QUANTILE = {
    "flattened ties": (lambda t, x: t.quantile(x, 0.75, interpolation="midpoint"),
                       [[1., 1, 0, 2, 2], [-2, -1, 0, 1, -1], [0, -2, 1, 1, 1], [-1, -2, -2, 0, -2]]),
    "nanquantile max tie": (lambda t, x: t.nanquantile(x, 1.0, interpolation="midpoint"),
                            [[-2., -2, 2, 1, 0], [1, -1, -2, -2, 2], [-1, -2, -1, 2, -1],
                             [-2, 0, 0, -1, -1]]),
    "NaN at torch's sorted end": (lambda t, x: t.quantile(x, 0.75, interpolation="higher"),
                                  [[-2., _NAN, -2, -2, -2], [_NAN, 2, -2, -1, -1],
                                   [-1, 0, _NAN, 1, -1], [-1, -1, -1, _NAN, 2]]),
    "all-NaN column: its first NaN": (lambda t, x: t.nanquantile(x, 0.5, 0,
                                                                 interpolation="lower"),
                                      [[0., _NAN], [_NAN, _NAN]]),
}


@pytest.mark.parametrize("case", list(_QUANTILE))
def test_quantile_grad_follows_torchs_sort(case):
    fn, data = _QUANTILE[case]
    assert _grad_outcome(ember, fn, data) == _grad_outcome(torch, fn, data)


# ---- distributions ---------------------------------------------------------------------------
def _mvn_precision(t):
    A = t.tensor([[[0.3, -1.2], [0.8, 0.4]], [[1.5, 0.2], [-0.7, 0.9]]], dtype=t.float64)
    P = A @ A.mT + t.eye(2, dtype=t.float64)
    return t.distributions.MultivariateNormal(t.zeros(1, 2, dtype=t.float64), precision_matrix=P)


_DIST = {
    "MVN precision batch: scale_tril": lambda t: _mvn_precision(t).scale_tril,
    "MVN precision batch: entropy": lambda t: _mvn_precision(t).entropy(),
    "MVN precision batch: log_prob": lambda t: _mvn_precision(t).log_prob(
        t.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=t.float64)),
    "GeneralizedPareto float64 log_prob": lambda t: t.distributions.GeneralizedPareto(
        t.tensor(0., dtype=t.float64), t.tensor(1., dtype=t.float64),
        t.tensor(0.5, dtype=t.float64)).log_prob(t.tensor(2.5, dtype=t.float64)),
    "GeneralizedPareto float64 icdf": lambda t: t.distributions.GeneralizedPareto(
        t.tensor(0., dtype=t.float64), t.tensor(1., dtype=t.float64),
        t.tensor(0.5, dtype=t.float64)).icdf(t.tensor(0.3, dtype=t.float64)),
    "cholesky of a NaN matrix": lambda t: t.linalg.cholesky(t.tensor([[1., 0], [0, float("nan")]])),
    "cholesky_ex of a NaN matrix": lambda t: t.linalg.cholesky_ex(
        t.tensor([[float("nan"), 0], [0, 1.]])),
    "MVN with a NaN covariance": lambda t: t.distributions.MultivariateNormal(
        t.zeros(2), t.tensor([[1., float("nan")], [float("nan"), 2.]]), validate_args=False).loc,
    "positive_definite: cholesky's verdict": lambda t: t.distributions.constraints
    .positive_definite.check(t.tensor([[[1., 0], [0, float("nan")]], [[2., 1], [1, 2]]])),
    "positive_definite of an infinite matrix": lambda t: t.distributions.constraints
    .positive_definite.check(t.tensor([[float("inf"), 0], [0, 1.]], dtype=t.float64)),
}


@pytest.mark.parametrize("case", list(_DIST))
def test_distribution_probes_like_torch(case):
    assert _outcome(lambda: _DIST[case](ember)) == _outcome(lambda: _DIST[case](torch))


@pytest.mark.parametrize("left", [True, False])
def test_solve_triangular_takes_b_as_matrices_broadcasting_batches_like_torch(left):
    import numpy as np
    A = [[[2., 0], [1, 3]], [[1., 0], [4, 5]]]
    for a, b in ((A, [[1., 2], [3, 4]]), (A[0], [[[1., 2], [3, 4]]] * 3)):
        e = ember.linalg.solve_triangular(ember.tensor(a), ember.tensor(b), upper=False, left=left)
        t = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=False,
                                          left=left)
        assert e.shape == t.shape
        assert np.allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


def test_igamma_input_derivative_is_not_implemented_error_like_torch():
    def run(lib):
        a = lib.tensor([1., 2.], requires_grad=True)
        return lib.distributions.Gamma(a, 1.).cdf(lib.tensor([0.5, 1.])).sum().backward()
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))
    assert _outcome(lambda: run(ember))[0] == "NotImplementedError"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_von_mises_samples_are_torchs(dtype):
    def run(lib):
        lib.manual_seed(3)
        d = lib.distributions.VonMises(lib.tensor([0.5, -1.0, 2.0], dtype=getattr(lib, dtype)),
                                       lib.tensor([0.3, 1.5, 4.0], dtype=getattr(lib, dtype)))
        return d.sample((4,))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


# ---- utils.data (multinomial under WeightedRandomSampler) ---------------------------------------
_NAN_INF = (float("nan"), float("inf"))

_MULTINOMIAL = {
    "empty, with replacement": lambda t: t.multinomial(t.tensor([]), 3, True),
    "empty, without": lambda t: t.multinomial(t.tensor([]), 3, False),
    "no samples": lambda t: t.multinomial(t.tensor([]), 0, False),
    "empty, one sample": lambda t: t.multinomial(t.tensor([]), 1, True),
    "empty rows, one sample": lambda t: t.multinomial(t.zeros(2, 0), 1, True),
    "no rows": lambda t: t.multinomial(t.zeros(0, 3), 2, True),
    "empty rows, with replacement": lambda t: t.multinomial(t.zeros(2, 0), 2, True),
    "negative entry, with replacement": lambda t: t.multinomial(t.tensor([1., -1, 2]), 2, True),
    "inf entry, with replacement": lambda t: t.multinomial(t.tensor([1., _NAN_INF[1], 2]), 2,
                                                           True),
    "nan entry, with replacement": lambda t: t.multinomial(t.tensor([1., _NAN_INF[0], 2]), 2,
                                                           True),
    "zero row before a bad one": lambda t: t.multinomial(t.tensor([[0., 0], [1, -1]]), 2, True),
    "bad row before a zero one": lambda t: t.multinomial(t.tensor([[1., -1], [0, 0]]), 2, True),
    "nan entry, one sample": lambda t: t.multinomial(t.tensor([1., _NAN_INF[0]]), 1, True),
    "integer 0-d": lambda t: t.multinomial(t.tensor(1), 1, True),
    "negative count": lambda t: t.multinomial(t.tensor([1., 2]), -1, True),
    "zero count before a bad entry": lambda t: t.multinomial(t.tensor([-1., 2]), 0, True),
    "zero row, without replacement": lambda t: t.multinomial(t.tensor([[1., 2], [0, 0]]), 1),
    "weighted sampler of nothing": lambda t: list(t.utils.data.WeightedRandomSampler(
        t.tensor([], dtype=t.float64), 3, generator=t.Generator().manual_seed(1))),
    "weighted sampler of nothing, no replacement": lambda t: list(
        t.utils.data.WeightedRandomSampler([], 3, replacement=False)),
}


@pytest.mark.parametrize("case", list(_MULTINOMIAL))
def test_multinomial_checks_in_torchs_order(case):
    assert _outcome(lambda: _MULTINOMIAL[case](ember)) == _outcome(lambda: _MULTINOMIAL[case](torch))


def test_multinomial_samples_still_torchs():
    def run(lib):
        g = lib.Generator().manual_seed(7)
        p = lib.tensor([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
        return (lib.multinomial(p, 5, True, generator=g), lib.multinomial(p, 2, generator=g),
                lib.multinomial(p[0], 1, True, generator=g))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


# ---- histogram / histogramdd: torch's checks in torch's order ----------------------------------
_HIST = {
    "one edge": lambda t: t.histogram(t.ones(3), t.tensor([1.])),
    "no edges": lambda t: t.histogram(t.ones(3), t.tensor([])),
    "2-d edges": lambda t: t.histogram(t.ones(3), t.ones(2, 2)),
    "0-d edges": lambda t: t.histogram(t.ones(3), t.tensor(1.)),
    "dd: one edge in dim 1": lambda t: t.histogramdd(t.ones(3, 2), [t.tensor([0., 2]),
                                                                     t.tensor([1.])]),
    "dd: no edges in dim 1": lambda t: t.histogramdd(t.ones(3, 2), [t.tensor([0., 2]),
                                                                     t.tensor([])]),
    "edges of another dtype": lambda t: t.histogram(t.ones(3), t.tensor([1.], dtype=t.float64)),
    "decreasing edges": lambda t: t.histogram(t.ones(3), t.tensor([2., 1.])),
    "repeated edges": lambda t: t.histogram(t.tensor([0., 1, 2, 3, 4]), t.tensor([0., 1, 1, 4])),
    "int edges, one": lambda t: t.histogram(t.ones(3, dtype=t.int32), t.tensor([1], dtype=t.int32)),
    "weight of another length": lambda t: t.histogram(t.ones(3), t.tensor([0., 2]),
                                                      weight=t.ones(2)),
    "weight of another dtype": lambda t: t.histogram(t.ones(3), 2,
                                                     weight=t.ones(3, dtype=t.float64)),
    "dd: too few edge lists": lambda t: t.histogramdd(t.ones(3, 2), [t.tensor([0., 2])]),
    "dd: too few bin counts": lambda t: t.histogramdd(t.ones(3, 2), [2]),
    "dd: weight shape": lambda t: t.histogramdd(t.ones(3, 2), 2, weight=t.ones(3, 1)),
    "dd: 1-d input": lambda t: t.histogramdd(t.ones(3), 2),
    "dd: bins -2": lambda t: t.histogramdd(t.ones(3, 1), [-2]),
    "dd: bins -1": lambda t: t.histogramdd(t.ones(3, 1), [-1]),
    "range reversed": lambda t: t.histogram(t.ones(3), 2, range=(1., 0.)),
    "range infinite": lambda t: t.histogram(t.ones(3), 2, range=(0., float("inf"))),
    "dd: range of the wrong length": lambda t: t.histogramdd(t.ones(3, 2), 2, range=[0., 1.]),
    "data with NaN": lambda t: t.histogram(t.tensor([1., float("nan")]), 2),
    "data with inf": lambda t: t.histogram(t.tensor([1., float("inf")]), 2),
    "no data: edges 0 to 1": lambda t: t.histogram(t.ones(0), 2),
    "float16 with a range": lambda t: t.histogram(t.ones(3, dtype=t.float16), 2, range=(0., 2.)),
    "float16 without": lambda t: t.histogram(t.ones(3, dtype=t.float16), 2),
    "ints with a range": lambda t: t.histogram(t.ones(3, dtype=t.int32), 2, range=(0., 2.)),
    "bools with edges": lambda t: t.histogram(t.ones(3, dtype=t.bool),
                                              t.tensor([0, 1], dtype=t.bool)),
    "density with weights": lambda t: t.histogram(t.tensor([0., 1, 2, 3, 4]), 3, density=True,
                                                  weight=t.tensor([1., 2, 0, 1, 1])),
}


@pytest.mark.parametrize("case", list(_HIST))
def test_histogram_checks_and_bins_like_torch(case):
    assert _outcome(lambda: _HIST[case](ember)) == _outcome(lambda: _HIST[case](torch))


# ---- out= structseqs, searchsorted's out and dispatch, aminmax's empty dim, histc's out --------
def _out_types(lib):
    x = lib.tensor([[3., 1, 2], [0, 5, 4]])

    def V():
        return lib.empty(0)

    def Ix():
        return lib.empty(0, dtype=lib.long)
    outs = [lib.sort(x, out=(V(), Ix())), lib.topk(x, 2, out=(V(), Ix())),
            lib.max(x, 1, out=(V(), Ix())), lib.kthvalue(x, 1, out=(V(), Ix())),
            lib.median(x, 1, out=(V(), Ix())), lib.mode(x, 1, out=(V(), Ix())),
            lib.cummax(x, 1, out=(V(), Ix())), lib.aminmax(x, dim=1, out=(V(), V())),
            lib.histogram(x.reshape(-1), 2, out=(V(), V())),
            lib.histogram(x.reshape(-1), lib.tensor([0., 2, 5]), out=(V(), V())),
            lib.frexp(x, out=(V(), lib.empty(0, dtype=lib.int32)))]
    return [repr(o).replace("ember", "torch") for o in outs]


def test_out_variants_return_torchs_out_structseqs():
    assert _out_types(ember) == _out_types(torch)
    assert type(ember.sort(ember.ones(2), out=(ember.empty(0), ember.empty(0, dtype=ember.long)))
                ).__name__ == "sort_out"


_OUTS = {
    "searchsorted out of the wrong dtype": lambda t: t.searchsorted(
        t.tensor([1., 2]), t.tensor([1.5]), out=t.zeros(1, dtype=t.int32)),
    "bucketize out, out_int32": lambda t: t.bucketize(t.tensor([1.5]), t.tensor([1., 2]),
                                                      out_int32=True, out=t.zeros(1, dtype=t.int32)),
    "searchsorted of complex": lambda t: t.searchsorted(t.tensor([1j]), t.zeros(2, dtype=t.complex64)),
    "searchsorted with a complex scalar": lambda t: t.searchsorted(t.tensor([1, 2]), 1j),
    "searchsorted of nothing in bools": lambda t: t.searchsorted(t.tensor([True]),
                                                                 t.zeros(0, dtype=t.bool)),
    "searchsorted bool with a bool scalar": lambda t: t.searchsorted(t.tensor([True, False]), True),
    "aminmax over an empty dim": lambda t: t.aminmax(t.zeros(0, 3), dim=-2),
    "aminmax of nothing": lambda t: t.aminmax(t.zeros(0, 3)),
    "aminmax keeping an empty dim": lambda t: t.aminmax(t.zeros(3, 0), dim=0),
    "histc out of another dtype": lambda t: t.histc(t.tensor([1., 2, 3]), bins=0,
                                                    out=t.zeros(3, dtype=t.float64)),
    "histogram edges out of another dtype": lambda t: t.histogram(
        t.tensor([1., 2, 3]), 3, out=(t.zeros(3), t.zeros(4, dtype=t.float64))),
}


@pytest.mark.parametrize("case", list(_OUTS))
def test_out_and_dispatch_checks_like_torch(case):
    assert _outcome(lambda: _OUTS[case](ember)) == _outcome(lambda: _OUTS[case](torch))


def _div_grads(lib, dtype):
    a = lib.tensor([0.2, 3.0, -1.5], dtype=getattr(lib, dtype), requires_grad=True)
    b = lib.tensor([1e-30, 7.0, 0.3], dtype=getattr(lib, dtype), requires_grad=True)
    z = a / b
    lib.log1p(z * z).sum().backward()
    return a.grad, b.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_div_other_grad_is_torchs_formula(dtype):
    # torch: -grad * ((self / other) / other), so 0 * inf is NaN where ember's old
    # -(grad / other) * self / other gave -0 (a Cauchy's log_prob grad w.r.t. a tiny scale)
    assert _outcome(lambda: _div_grads(ember, dtype)) == _outcome(lambda: _div_grads(torch, dtype))


def test_cauchy_log_prob_grad_at_a_tiny_scale_like_torch():
    def run(lib):
        s = lib.tensor([1e-30, 2.0], requires_grad=True)
        lp = lib.distributions.Cauchy(lib.tensor([0.2, 0.1]), s).log_prob(lib.tensor([0.0, 0.5]))
        return lib.autograd.grad(lp.sum(), s)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_double_backward_through_sort_and_quantile_with_ties():
    data = [[1., 1, 2, 0, 1, 1, 2, 2, 0, 1, 1, 1, 2, 3, 1, 1, 1, 0, 2, 2]]

    def run(lib):
        x = lib.tensor(data, requires_grad=True)
        v, i = x.sort(dim=1)
        g, = lib.autograd.grad((v * lib.arange(20.)).sum(), x, create_graph=True)
        gg, = lib.autograd.grad((g * g).sum() + (v ** 3).sum(), x)
        g2, = lib.autograd.grad(lib.quantile(x, 0.3), x, create_graph=True)
        return i, g, gg, g2
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


# ---- linalg out= (found while checking the _out structseqs): written, not ignored --------------
def _linalg_outs(lib):
    import warnings
    A = lib.tensor([[4., 1], [1, 3]])

    def V():
        return lib.empty(0)

    def I32():
        return lib.empty(0, dtype=lib.int32)
    calls = [(lambda o: lib.linalg.inv_ex(A, out=o), (V(), I32())),
             (lambda o: lib.linalg.cholesky_ex(A, out=o), (V(), I32())),
             (lambda o: lib.linalg.solve_ex(A, A, out=o), (V(), I32())),
             (lambda o: lib.linalg.slogdet(A, out=o), (V(), V())),
             (lambda o: lib.linalg.eigh(A, out=o), (V(), V())),
             (lambda o: lib.linalg.qr(A, out=o), (V(), V())),
             (lambda o: lib.linalg.svd(A, out=o), (V(), V(), V())),
             (lambda o: lib.linalg.eig(A, out=o), (lib.empty(0, dtype=lib.complex64),
                                                    lib.empty(0, dtype=lib.complex64))),
             (lambda o: lib.linalg.lu_factor(A, out=o), (V(), I32())),
             (lambda o: lib.linalg.lu_factor_ex(A, out=o), (V(), I32(), I32())),
             (lambda o: lib.linalg.lu(A, out=o), (V(), V(), V())),
             (lambda o: lib.geqrf(A, out=o), (V(), V())),
             (lambda o: lib.triangular_solve(A, A, out=o), (V(), V())),
             (lambda o: lib.lu_unpack(*lib.linalg.lu_factor(A), out=o), (V(), V(), V())),
             (lambda o: lib.svd(A, out=o), (V(), V(), V())),
             (lambda o: lib.qr(A, out=o), (V(), V())),
             (lambda o: lib.linalg.eigvals(A, out=o[0]), (lib.empty(0, dtype=lib.complex64),)),
             (lambda o: lib.lu_solve(A, *lib.linalg.lu_factor(A), out=o[0]), (V(),)),
             (lambda o: lib.linalg.lu_solve(*lib.linalg.lu_factor(A), A, out=o[0]), (V(),)),
             (lambda o: lib.cholesky_solve(A, A, out=o[0]), (lib.empty(0, dtype=lib.float64),)),
             (lambda o: lib.cholesky_inverse(A, out=o[0]), (V(),))]
    res = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, outs in calls:
            r = fn(outs)
            res.append((repr(r).replace("ember", "torch"), [repr(o).replace("ember", "torch")
                                                             for o in outs]))
    return res


def test_linalg_out_tensors_are_written_like_torch():
    assert _linalg_outs(ember) == _linalg_outs(torch)


@pytest.mark.parametrize("call", [
    lambda t: t.linalg.inv_ex(t.eye(2), out=(t.empty(0, dtype=t.float64),
                                              t.empty(0, dtype=t.int32))),
    lambda t: t.linalg.eigh(t.eye(2), out=(t.empty(0), t.empty(0, dtype=t.int64))),
    lambda t: t.linalg.lu_factor(t.eye(2), out=(t.empty(0), t.empty(0, dtype=t.int64))),
    lambda t: t.lu_solve(t.eye(2), *t.linalg.lu_factor(t.eye(2)), out=t.empty(0, dtype=t.float64)),
])
def test_linalg_out_dtype_errors_like_torch(call):
    assert _outcome(lambda: call(ember)) == _outcome(lambda: call(torch))


# ---- out= of another dtype: torch's messages; quantile's checks in torch's order ----------------
def _x(t):
    return t.tensor([[3., 1, 2], [0, 5, 4]])


_OUT_DTYPE = {
    "sort values": lambda t: t.sort(_x(t), out=(t.empty(0, dtype=t.float64),
                                                t.empty(0, dtype=t.long))),
    "sort indices": lambda t: t.sort(_x(t), out=(t.empty(0), t.empty(0, dtype=t.int32))),
    "topk": lambda t: t.topk(_x(t), 1, out=(t.empty(0), t.empty(0, dtype=t.int32))),
    "max(dim)": lambda t: t.max(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                               t.empty(0, dtype=t.long))),
    "aminmax": lambda t: t.aminmax(_x(t), dim=1, out=(t.empty(0), t.empty(0, dtype=t.float64))),
    "kthvalue values": lambda t: t.kthvalue(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                           t.empty(0, dtype=t.int32))),
    "kthvalue indices": lambda t: t.kthvalue(_x(t), 1, out=(t.empty(0),
                                                            t.empty(0, dtype=t.int32))),
    "median: indices first": lambda t: t.median(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                               t.empty(0, dtype=t.int32))),
    "median values": lambda t: t.median(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                       t.empty(0, dtype=t.long))),
    "nanmedian": lambda t: t.nanmedian(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                      t.empty(0, dtype=t.long))),
    "mode values": lambda t: t.mode(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                   t.empty(0, dtype=t.int32))),
    "mode indices": lambda t: t.mode(_x(t), 1, out=(t.empty(0), t.empty(0, dtype=t.int32))),
    "cummax values": lambda t: t.cummax(_x(t), 1, out=(t.empty(0, dtype=t.float64),
                                                       t.empty(0, dtype=t.int32))),
    "cummin indices": lambda t: t.cummin(_x(t), 0, out=(t.empty(0), t.empty(0, dtype=t.int32))),
    "msort": lambda t: t.msort(_x(t), out=t.empty(0, dtype=t.float64)),
    "take_along_dim": lambda t: t.take_along_dim(_x(t), t.zeros(2, 1, dtype=t.long), 1,
                                                 out=t.empty(0, dtype=t.float64)),
    "gather": lambda t: t.gather(_x(t), 1, t.zeros(2, 1, dtype=t.long),
                                 out=t.empty(0, dtype=t.float64)),
    "nonzero": lambda t: t.nonzero(_x(t), out=t.empty(0, dtype=t.int32)),
    "masked_select": lambda t: t.masked_select(_x(t), _x(t) > 1, out=t.empty(0, dtype=t.float64)),
    "round keeps TensorIterator's": lambda t: t.round(_x(t), out=t.empty(0, dtype=t.long)),
    "quantile out": lambda t: t.quantile(_x(t), 0.5, out=t.empty(0, dtype=t.float64)),
    "nanquantile out": lambda t: t.nanquantile(_x(t), 0.5, out=t.empty(0, dtype=t.float64)),
    "nanquantile of ints says quantile()": lambda t: t.nanquantile(t.tensor([[3, 1]]), 0.5),
    "quantile: q's range before the input": lambda t: t.quantile(t.tensor([[3, 1]]), 2.0),
    "quantile: interpolation before q's dtype": lambda t: t.quantile(
        _x(t), t.tensor([0.5], dtype=t.float64), interpolation="x"),
    "quantile: out before dim": lambda t: t.quantile(_x(t), 0.5, dim=5,
                                                     out=t.empty(0, dtype=t.float64)),
    "quantile: dim before q values": lambda t: t.quantile(_x(t), t.tensor(2.), dim=7),
    "quantile: nan q": lambda t: t.quantile(_x(t), float("nan")),
}


@pytest.mark.parametrize("case", list(_OUT_DTYPE))
def test_out_dtype_and_quantile_checks_like_torch(case):
    assert _outcome(lambda: _OUT_DTYPE[case](ember)) == _outcome(lambda: _OUT_DTYPE[case](torch))


@pytest.mark.parametrize("call", [
    lambda t: t.isin(_x(t), _x(t)[0], out=t.empty(0, dtype=t.bool)),
    lambda t: t.isin(_x(t), _x(t)[0], out=t.empty(0)),
    lambda t: t.isin(_x(t), 3.0, out=t.empty(0, dtype=t.bool)),
    lambda t: t.isin(_x(t), _x(t).reshape(-1).repeat(3), assume_unique=True,
                     out=t.empty(0, dtype=t.bool)),
])
def test_isin_takes_out_like_torch(call):
    assert _outcome(lambda: call(ember)) == _outcome(lambda: call(torch))


def _bare_distribution(lib):
    import warnings

    class Bare(lib.distributions.Distribution):
        def __init__(self):
            super().__init__(lib.Size([2]), validate_args=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        d = Bare()
    res = [[str(x.message).replace("ember", "torch") for x in w]]
    for get in (lambda: d.arg_constraints, lambda: repr(d), lambda: d.support):
        res.append(_outcome(get))
    return res


def test_distribution_without_arg_constraints_like_torch():
    # torch's Distribution.arg_constraints raises NotImplementedError (validation warns and
    # checks nothing; repr raises); ember's was an empty dict
    assert _bare_distribution(ember) == _bare_distribution(torch)
