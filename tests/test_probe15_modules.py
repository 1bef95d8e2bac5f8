"""Regressions found by running torch's ModuleInfo database (common_modules.module_db) through
ember: each module sample built in both libraries, forward outputs, gradients and the expected
errors compared with torch's."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _gelu_0d(L, value, dtype):
    x = L.tensor(value, dtype=getattr(L, dtype), requires_grad=True)
    y = L.nn.GELU()(x)
    y.backward()
    return y, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("value", [0.7, 0.0, -0.5])
def test_gelu_of_a_0d_tensor(dtype, value):
    """ember's erf GELU kernels wrote into NumPy's scalar results of a 0-d array."""
    assert _outcome(lambda: _gelu_0d(ember, value, dtype)) == _outcome(lambda: _gelu_0d(torch, value, dtype))


def _bn_stats_of_one_value(L):
    rm, rv = L.zeros(3), L.ones(3)
    L.batch_norm(L.ones(1, 3), None, None, rm, rv, True, 0.1, 1e-5, False)
    return rm, rv


_BATCH_NORM = {
    "module eps 0 training": lambda L: L.nn.BatchNorm2d(3, eps=0.0)(L.ones(2, 3, 2, 2)),
    "module eps -1 training": lambda L: L.nn.BatchNorm1d(3, eps=-1.0)(L.ones(2, 3)),
    "module eps -1 eval": lambda L: L.nn.BatchNorm3d(3, eps=-1.0).eval()(L.ones(2, 3, 1, 1, 2)),
    "functional eps 0 training": lambda L: L.nn.functional.batch_norm(
        L.ones(2, 3), None, None, training=True, eps=0.0),
    "functional eps -1e-5 eval": lambda L: L.nn.functional.batch_norm(
        L.ones(2, 3), L.zeros(3), L.ones(3), eps=-1e-5),
    "functional 0-d training": lambda L: L.nn.functional.batch_norm(
        L.ones(()), None, None, training=True),
    "functional one value before the length check": lambda L: L.nn.functional.batch_norm(
        L.ones(1, 3), L.zeros(4), L.ones(4), training=True),
    "torch.batch_norm one value per channel": lambda L: L.batch_norm(
        L.ones(1, 3), None, None, None, None, True, 0.1, 1e-5, False),
    "torch.batch_norm one value: running stats": _bn_stats_of_one_value,
}


@pytest.mark.parametrize("case", list(_BATCH_NORM))
def test_batch_norm_checks(case):
    """torch.nn.functional.batch_norm refuses a non-positive eps while training and a negative
    one in eval (and one value per channel while training) before anything else; the
    torch.batch_norm kernel checks neither."""
    assert _outcome(lambda: _BATCH_NORM[case](ember)) == _outcome(lambda: _BATCH_NORM[case](torch))


def _half_nll(L, dtype, shape, weighted, reduction, ignore_index):
    L.manual_seed(0)
    x = L.randn(shape).to(getattr(L, dtype)).requires_grad_()
    t = L.randint(0, shape[1], shape[:1] + shape[2:])
    w = L.rand(shape[1]).to(x.dtype) * 3 if weighted else None
    y = L.nn.functional.nll_loss(x, t, w, ignore_index=ignore_index, reduction=reduction)
    return y, L.autograd.grad(y, x)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(300, 4), (2, 5, 16, 16)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_half_nll_loss_sums_as_torch(dtype, shape, weighted, reduction):
    """torch's Half/BFloat16 nll_loss kernels add the losses (and weights) in the input's dtype
    through their cascade of partial sums, rounding every addition."""
    args = (dtype, shape, weighted, reduction, 1)
    assert _outcome(lambda: _half_nll(ember, *args)) == _outcome(lambda: _half_nll(torch, *args))


def _half_cross_entropy(L, dtype, reduction, weighted):
    L.manual_seed(0)
    x = L.randn(2, 3, 5, 5).to(getattr(L, dtype)).requires_grad_()
    t = L.randint(0, 3, (2, 5, 5))
    w = L.rand(3).to(x.dtype) if weighted else None
    y = L.nn.functional.cross_entropy(x, t, w, reduction=reduction)
    return y, L.autograd.grad(y, x, L.randn(y.shape).to(x.dtype))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_half_cross_entropy_rounds_its_log_softmax(dtype, reduction, weighted):
    """torch's cross_entropy is nll_loss of log_softmax: for float16/bfloat16 the log-
    probabilities (and their gradient) are rounded to the input's dtype in between."""
    args = (dtype, reduction, weighted)
    assert (_outcome(lambda: _half_cross_entropy(ember, *args))
            == _outcome(lambda: _half_cross_entropy(torch, *args)))


def _half_norm_input_grad(L, dtype, norm):
    L.manual_seed(0)
    dt = getattr(L, dtype)
    x = L.randn(8, 6, 5).to(dt).requires_grad_()
    w, b = L.randn(6).to(dt), L.randn(6).to(dt)
    if norm == "group":
        y = L.nn.functional.group_norm(x, 3, w, b, 1e-3)
    else:
        y = L.nn.functional.layer_norm(x, (5,), w[:5], b[:5], 1e-3)
    return y, L.autograd.grad(y, x, L.randn(y.shape).to(dt))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("norm", ["group", "layer"])
def test_half_norm_backward_reads_rounded_statistics(dtype, norm):
    """torch's float16/bfloat16 group_norm and layer_norm kernels save the mean and rstd in the
    input's dtype; their backward computes from those rounded statistics."""
    assert (_outcome(lambda: _half_norm_input_grad(ember, dtype, norm))
            == _outcome(lambda: _half_norm_input_grad(torch, dtype, norm)))


_CELLS = {
    "RNNCell hidden size": lambda L: L.nn.RNNCell(10, 20)(
        L.ones(3, 10, dtype=L.double), L.ones(3, 21, dtype=L.double)),
    "GRUCell batch size": lambda L: L.nn.GRUCell(10, 20)(
        L.ones(3, 10, dtype=L.double), L.ones(5, 20, dtype=L.double)),
    "LSTMCell hidden size": lambda L: L.nn.LSTMCell(10, 20)(
        L.ones(3, 10, dtype=L.double), (L.ones(3, 21, dtype=L.double), L.ones(3, 20))),
    "unbatched RNNCell hidden size": lambda L: L.nn.RNNCell(10, 20)(
        L.ones(10, dtype=L.double), L.ones(21)),
}


@pytest.mark.parametrize("case", list(_CELLS))
def test_rnn_cell_checks_shapes_before_dtypes(case):
    """torch's cells check the hidden states' batch and hidden sizes before their linear
    layers meet a dtype other than the weights'."""
    assert _outcome(lambda: _CELLS[case](ember)) == _outcome(lambda: _CELLS[case](torch))


def _half_log_softmax(L, dtype, shape):
    L.manual_seed(0)
    x = L.randn(shape).to(getattr(L, dtype)).requires_grad_()
    y = L.log_softmax(x, -1)
    return y, L.autograd.grad(y, x, L.randn(shape).to(x.dtype))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(37, 5), (30,), (50, 100)])
def test_half_log_softmax_over_the_last_dim(dtype, shape):
    """torch's last-dim log_softmax kernel keeps each row's sum of exponentials and its log in
    the input's dtype (float16/bfloat16) before subtracting."""
    assert (_outcome(lambda: _half_log_softmax(ember, dtype, shape))
            == _outcome(lambda: _half_log_softmax(torch, dtype, shape)))


def _half_chunked_lce(L, dtype, reduction, seed):
    L.manual_seed(seed)
    dt = getattr(L, dtype)
    x = L.randn(8, 5).to(dt).requires_grad_()
    lw = L.randn(4, 5).to(dt).requires_grad_()
    t = L.randint(0, 4, (8,))
    w = L.rand(4).to(dt) * 2
    go = L.randn(8 if reduction == "none" else ()).to(dt)
    y = L.nn.functional.linear_cross_entropy(
        x, lw, t, weight=w, reduction=reduction,
        options=L.nn.LinearCrossEntropyOptions(allow_retain_graph=True, batch_chunk_size=2))
    return y, L.autograd.grad(y, [x, lw], go)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("seed", [0, 2])
def test_half_chunked_linear_cross_entropy_sums_as_torch(dtype, reduction, seed):
    """torch's chunked linear_cross_entropy adds each chunk's linear-weight gradient into a sum
    in the input's dtype, and a bfloat16 loss into a bfloat16 sum, two dot products a chunk."""
    args = (dtype, reduction, seed)
    assert (_outcome(lambda: _half_chunked_lce(ember, *args))
            == _outcome(lambda: _half_chunked_lce(torch, *args)))


def _ctc_float32(L, reduction, seed, t, c, lengths):
    """The inputs made by torch (the log-probabilities' last bits are log_softmax's)."""
    torch.manual_seed(seed)
    x = L.tensor(torch.randn(t, 3, c).log_softmax(2).tolist(), requires_grad=True)
    targets = L.tensor(torch.randint(1, c, (3, max(lengths))).tolist())
    loss = L.nn.CTCLoss(reduction=reduction)(x, targets, (t, t, t), lengths)
    return loss, L.autograd.grad(loss, x, L.tensor(torch.rand(loss.shape).tolist()))


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("case", [(2, 50, 15, (30, 25, 20)), (0, 20, 6, (8, 6, 5))])
def test_ctc_loss_float32_as_torch_computes_it(reduction, case):
    """torch's CPU CTC kernel runs its alpha/beta recursions in float32 and gathers each
    class's alpha + beta from the last label position down; ember computed in float64 (more
    accurately than torch) and rounded once."""
    assert (_outcome(lambda: _ctc_float32(ember, reduction, *case))
            == _outcome(lambda: _ctc_float32(torch, reduction, *case)))


_UNIFORM = {
    "bfloat16 uniform_": lambda L: L.empty(4000, dtype=L.bfloat16).uniform_(-0.4472, 0.4472),
    "bfloat16 rand": lambda L: L.rand(4000, dtype=L.bfloat16),
    "float16 uniform_": lambda L: L.empty(4000, dtype=L.float16).uniform_(2, 2.01),
    "float32 narrow uniform_": lambda L: L.empty(4000).uniform_(0.3, 0.30001),
    "bfloat16 Linear init": lambda L: L.nn.Linear(5, 96, dtype=L.bfloat16).weight,
}


@pytest.mark.parametrize("case", list(_UNIFORM))
def test_uniform_never_returns_its_upper_bound(case):
    """torch's uniform_ gives `from` where x * (to - from) + from rounds to `to` in the
    tensor's dtype; ember returned `to`."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    assert _outcome(lambda: _UNIFORM[case](ember)) == _outcome(lambda: _UNIFORM[case](torch))
