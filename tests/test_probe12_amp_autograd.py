"""Regressions found by running torch's autocast op lists (autocast_test_lists) and its
autograd.Function database (autograd_function_db) through ember, against torch."""
import warnings

import pytest
import torch

import ember
from test_probe7 import _outcome


def _warned(fn):
    """(_outcome of fn, the messages of the warnings it raised)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = _outcome(fn)
    return r, [f"{w.category.__name__}: {w.message}" for w in seen]


def _in_region(make, body):
    """body() inside the autocast region make() returns, then the state after leaving it."""
    def run():
        ctx = make()
        with ctx:
            inside = body()
        return inside, body()
    return run


def _state(L):
    return (L.is_autocast_enabled("cpu"), L.is_autocast_enabled(), str(L.get_autocast_dtype("cpu")),
            L.is_autocast_cache_enabled())


def _mm_dtype(L):
    return str((L.ones(2, 2) @ L.ones(2, 2)).dtype)


_STATE_CASES = {
    # torch.is_autocast_enabled() with no argument is the CUDA flag
    "no-argument is_autocast_enabled under CPU autocast": lambda L: _in_region(
        lambda: L.autocast("cpu"), lambda: _state(L))(),
    # a CPU region in an unsupported dtype warns and stays off, but the dtype is still set
    "CPU autocast in float32": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float32), lambda: (_state(L), _mm_dtype(L)))(),
    "CPU autocast in float64": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float64), lambda: _state(L))(),
    "disabled CPU autocast in float16 sets the dtype": lambda L: _in_region(
        lambda: L.autocast("cpu", dtype=L.float16, enabled=False), lambda: _state(L))(),
    "cache_enabled=False": lambda L: _in_region(
        lambda: L.autocast("cpu", cache_enabled=False), lambda: _state(L))(),
    # the per-device state: a (disabled) CUDA region leaves CPU autocast on
    "CUDA region inside a CPU region": lambda L: _in_region(
        lambda: L.autocast("cpu"), lambda: _in_region(
            lambda: L.autocast("cuda"), lambda: (_state(L), _mm_dtype(L)))())(),
    "exit returns False": lambda L: (lambda a: (a.__enter__(), a.__exit__(None, None, None))[1])(
        L.autocast("cpu")),
    "attributes": lambda L: (L.autocast("cpu").device, str(L.autocast("cpu").fast_dtype),
                             L.autocast("cpu")._enabled, L.autocast("cpu")._cache_enabled),
    "device_type a torch.device": lambda L: L.autocast(device_type=L.device("cpu")),
    "is_autocast_enabled of a torch.device": lambda L: L.is_autocast_enabled(L.device("cpu")),
    "get_autocast_dtype of a torch.device": lambda L: L.get_autocast_dtype(L.device("cpu")),
    "is_autocast_enabled of an unknown device": lambda L: L.is_autocast_enabled("foo"),
    "is_autocast_available of an unknown device": lambda L: L.amp.is_autocast_available("foo"),
}


@pytest.mark.parametrize("name", list(_STATE_CASES))
def test_autocast_state_matches_torch(name):
    if "CUDA" in name and ember.cuda.is_available():
        pytest.skip("the oracle is torch's CPU build, whose CUDA autocast is off")
    case = _STATE_CASES[name]
    assert _warned(lambda: case(ember)) == _warned(lambda: case(torch))
    assert not ember.is_autocast_enabled("cpu")


def _arg(L, shape, dtype="float32", seed=0):
    import numpy as np
    return L.tensor(np.random.RandomState(seed).randn(*shape), dtype=getattr(L, dtype))


def _pool_unpool(L, d, n):
    F = L.nn.functional
    pooled, idx = getattr(F, f"max_pool{n}d")(_arg(L, (1, 1) + (4,) * n, d), 2,
                                              return_indices=True)
    return getattr(F, f"max_unpool{n}d")(pooled, idx, 2)


# ops torch's CPU autocast leaves in their inputs' dtype, lowers, or runs in float32 with no
# autocasting inside; in: the inputs' dtype
_CPU_POLICY = {
    "mv": lambda L, d: L.mv(_arg(L, (3, 3), d), _arg(L, (3,), d, 1)),
    "dot": lambda L, d: L.dot(_arg(L, (3,), d), _arg(L, (3,), d, 1)),
    "addmv": lambda L, d: L.addmv(_arg(L, (3,), d), _arg(L, (3, 3), d), _arg(L, (3,), d, 1)),
    "Tensor.mv": lambda L, d: _arg(L, (3, 3), d).mv(_arg(L, (3,), d, 1)),
    "inner": lambda L, d: L.inner(_arg(L, (3, 3), d), _arg(L, (3, 3), d, 1)),
    "tensordot": lambda L, d: L.tensordot(_arg(L, (3, 3), d), _arg(L, (3, 3), d, 1)),
    "tensordot, dims=1": lambda L, d: L.tensordot(_arg(L, (3, 3), d), _arg(L, (3, 3), d, 1), 1),
    "inner of vectors": lambda L, d: L.inner(_arg(L, (3,), d), _arg(L, (3,), d, 1)),
    "matmul of a matrix and a vector": lambda L, d: L.matmul(_arg(L, (3, 3), d), _arg(L, (3,), d)),
    "matmul of vectors": lambda L, d: _arg(L, (3,), d) @ _arg(L, (3,), d, 1),
    "matmul of float and double vectors": lambda L, d: _arg(L, (3,), d) @ _arg(L, (3,), "float64"),
    "mv of mixed dtypes": lambda L, d: L.mv(_arg(L, (3, 3), d), _arg(L, (3,), "float32", 1)),
    "linalg.vecdot": lambda L, d: L.linalg.vecdot(_arg(L, (3, 3), d), _arg(L, (3, 3), d, 1)),
    "reflect pad 1-d": lambda L, d: L.nn.functional.pad(_arg(L, (2, 4), d), (1, 1), mode="reflect"),
    "reflect pad 2-d": lambda L, d: L.nn.functional.pad(_arg(L, (1, 3, 4), d), (1, 1, 1, 1),
                                                        mode="reflect"),
    "reflect pad 3-d": lambda L, d: L.nn.functional.pad(_arg(L, (1, 3, 4, 4), d), (1,) * 6,
                                                        mode="reflect"),
    "replicate pad 3-d": lambda L, d: L.nn.functional.pad(_arg(L, (1, 3, 4, 4), d), (1,) * 6,
                                                          mode="replicate"),
    "circular pad": lambda L, d: L.nn.functional.pad(_arg(L, (1, 3, 4), d), (1, 1),
                                                     mode="circular"),
    "max_unpool1d": lambda L, d: _pool_unpool(L, d, 1),
    "max_unpool2d": lambda L, d: _pool_unpool(L, d, 2),
    "adaptive_max_pool3d": lambda L, d: L.nn.functional.adaptive_max_pool3d(
        _arg(L, (1, 1, 4, 4, 4), d), 2),
    "fractional_max_pool2d": lambda L, d: L.nn.functional.fractional_max_pool2d(
        _arg(L, (1, 1, 4, 4), d), 2, output_size=2,
        _random_samples=L.full((1, 1, 2), 0.5, dtype=getattr(L, d))),
    "polar": lambda L, d: L.polar(_arg(L, (3,), d).abs(), _arg(L, (3,), d, 1)),
    "pinverse": lambda L, d: L.pinverse(_arg(L, (3, 3), d)),
    "view_as_complex": lambda L, d: L.view_as_complex(_arg(L, (3, 2), d)),
    "linalg.lstsq": lambda L, d: L.linalg.lstsq(_arg(L, (3, 3), d), _arg(L, (3, 2), d, 1))[0],
    # promote: torch's prioritize refuses a floating dtype other than float32 and the autocast
    # dtype (float64 is skipped)
    "cat with float32": lambda L, d: L.cat([_arg(L, (3,), d), _arg(L, (3,), "float32", 1)]),
    "cat of bfloat16 and float16": lambda L, d: L.cat([_arg(L, (3,), "bfloat16"),
                                                       _arg(L, (3,), "float16", 1)]),
    "cat of one dtype": lambda L, d: L.cat([_arg(L, (3,), d), _arg(L, (3,), d, 1)]),
    "cat with float64": lambda L, d: L.cat([_arg(L, (3,), "float64"), _arg(L, (3,), d, 1)]),
    "stack with float32": lambda L, d: L.stack([_arg(L, (3,), d), _arg(L, (3,), "float32", 1)]),
    "index_copy into float32": lambda L, d: L.index_copy(
        _arg(L, (3, 4)), 0, L.tensor([0]), _arg(L, (1, 4), d, 1)),
    "index_copy from float32": lambda L, d: L.index_copy(
        _arg(L, (3, 4), d), 0, L.tensor([0]), _arg(L, (1, 4), "float32", 1)),
    # einsum is not on CPU autocast's lists: only its bmm's are lowered
    "einsum of a trace": lambda L, d: L.einsum("ii", _arg(L, (3, 3), d)),
    "einsum outer product": lambda L, d: L.einsum("i,j->ij", _arg(L, (3,), d), _arg(L, (4,), d)),
    "einsum elementwise": lambda L, d: L.einsum("ij,ij->ij", _arg(L, (3, 3), d),
                                                _arg(L, (3, 3), d, 1)),
    "einsum contraction": lambda L, d: L.einsum("ij,jk->ik", _arg(L, (3, 3), d),
                                                _arg(L, (3, 3), d, 1)),
    "einsum of three": lambda L, d: L.einsum("ij,jk,kl->il", _arg(L, (2, 3), d),
                                             _arg(L, (3, 3), d, 1), _arg(L, (3, 2), d, 2)),
    "max_pool3d": lambda L, d: L.nn.functional.max_pool3d(_arg(L, (1, 1, 4, 4, 4), d), 2),
    "max_pool3d with indices": lambda L, d: L.nn.functional.max_pool3d(
        _arg(L, (1, 1, 4, 4, 4), d), 2, return_indices=True)[0],
    "Conv1d module": lambda L, d: (L.manual_seed(0), L.nn.Conv1d(2, 3, 2)(
        _arg(L, (1, 2, 5), d)))[1],
    "ConvTranspose2d module": lambda L, d: (L.manual_seed(0), L.nn.ConvTranspose2d(2, 3, 2)(
        _arg(L, (1, 2, 3, 3), d)))[1],
    "AvgPool3d module": lambda L, d: L.nn.AvgPool3d(2)(_arg(L, (1, 1, 4, 4, 4), d)),
    "AdaptiveMaxPool3d module": lambda L, d: L.nn.AdaptiveMaxPool3d(2)(
        _arg(L, (1, 1, 4, 4, 4), d)),
    "FractionalMaxPool3d module": lambda L, d: (L.manual_seed(0), L.nn.FractionalMaxPool3d(
        2, output_size=2)(_arg(L, (1, 1, 4, 4, 4), d)))[1],
}


def _dtype_and_values(fn):
    try:
        r = fn()
    except Exception as e:      # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e).replace("ember", "torch"), None
    return "ok", str(r.dtype).replace("ember", "torch"), r.detach().cfloat().numpy() \
        if r.is_complex() else r.detach().double().numpy()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("amp", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(_CPU_POLICY))
def test_cpu_autocast_policy_matches_torch(name, amp, dtype):
    import numpy as np
    case = _CPU_POLICY[name]
    outs = []
    for L in (ember, torch):
        with L.autocast("cpu", dtype=getattr(L, amp)):
            outs.append(_dtype_and_values(lambda: case(L, dtype)))
    (ke, de, ve), (kt, dt, vt) = outs
    assert (ke, de) == (kt, dt)
    if ve is not None:
        np.testing.assert_allclose(ve, vt, rtol=2e-2, atol=2e-2)


# torch autocasts only the functional overloads: out= variants and in-place ops run as called
_NOT_AUTOCAST = {
    "mm into a float32 out": lambda L: L.mm(_arg(L, (2, 3)), _arg(L, (3, 2), seed=1),
                                            out=L.empty(2, 2)),
    "mm into a bfloat16 out": lambda L: L.mm(_arg(L, (2, 3)), _arg(L, (3, 2), seed=1),
                                             out=L.empty(2, 2, dtype=L.bfloat16)),
    "matmul into a float32 out": lambda L: L.matmul(_arg(L, (2, 3)), _arg(L, (3,), seed=1),
                                                    out=L.empty(2)),
    "bmm into a float32 out": lambda L: L.bmm(_arg(L, (1, 2, 3)), _arg(L, (1, 3, 2), seed=1),
                                              out=L.empty(1, 2, 2)),
    "addmm into a float32 out": lambda L: L.addmm(_arg(L, (2, 2)), _arg(L, (2, 3)),
                                                  _arg(L, (3, 2), seed=1), out=L.empty(2, 2)),
    "prod of bfloat16 into a bfloat16 out": lambda L: L.prod(
        _arg(L, (4,), "bfloat16"), 0, out=L.empty((), dtype=L.bfloat16)),
    "addmm_ of float32": lambda L: _arg(L, (2, 2)).addmm_(_arg(L, (2, 3)), _arg(L, (3, 2), seed=1)),
    "addmm_ into bfloat16": lambda L: _arg(L, (2, 2), "bfloat16").addmm_(
        _arg(L, (2, 3)), _arg(L, (3, 2), seed=1)),
    "baddbmm_ of float32": lambda L: _arg(L, (1, 2, 2)).baddbmm_(_arg(L, (1, 2, 3)),
                                                                 _arg(L, (1, 3, 2), seed=1)),
    "index_copy_ of bfloat16 into float32": lambda L: _arg(L, (3, 4)).index_copy_(
        0, L.tensor([0]), _arg(L, (1, 4), "bfloat16", 1)),
    "cat of bfloat16 and float16 into an out": lambda L: L.cat(
        [_arg(L, (3,), "bfloat16"), _arg(L, (3,), "float16", 1)], out=L.empty(6)),
}


@pytest.mark.parametrize("name", list(_NOT_AUTOCAST))
def test_out_and_inplace_not_autocast(name):
    import numpy as np
    case = _NOT_AUTOCAST[name]
    outs = []
    for L in (ember, torch):
        with L.autocast("cpu"):
            outs.append(_dtype_and_values(lambda: case(L)))
    (ke, de, ve), (kt, dt, vt) = outs
    assert (ke, de) == (kt, dt)
    if ve is not None:
        np.testing.assert_allclose(ve, vt, rtol=1e-2, atol=1e-2)


# ---- autograd.Function (torch.testing._internal.autograd_function_db) ------------------------
def _jvp_tangents(L, materialize):
    """The input tangents a custom Function's jvp receives for a dual float input, a plain
    float input and an integer input (NumpyTake's jvp asserts None for its index inputs)."""
    seen = []

    class Scale(L.autograd.Function):
        @staticmethod
        def forward(x, y, idx):
            return x * 2 + y

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.set_materialize_grads(materialize)

        @staticmethod
        def jvp(ctx, tx, ty, tidx):
            seen.append([None if t is None else (str(t.dtype).replace("ember", "torch"),
                                                 t.tolist()) for t in (tx, ty, tidx)])
            return tx * 2 if ty is None else tx * 2 + ty

    fa = L.autograd.forward_ad
    with fa.dual_level():
        x = fa.make_dual(L.tensor([1., 2.]), L.tensor([.5, .25]))
        out = Scale.apply(x, L.tensor([3., 4.]), L.tensor([1, 0]))
        return seen, fa.unpack_dual(out).tangent.tolist()


@pytest.mark.parametrize("materialize", [True, False])
def test_function_jvp_tangents_of_inputs_without_one(materialize):
    assert _jvp_tangents(ember, materialize) == _jvp_tangents(torch, materialize)


# torch_fp32 list: torch.margin_ranking_loss is ATen's, which broadcasts a 1-d target against
# 2-d inputs (nn.functional's refuses differing dimensions)
@pytest.mark.parametrize("amp", [None, "bfloat16", "float16"])
@pytest.mark.parametrize("args", [(), (0.5, 1), (0.25, 2)])
def test_toplevel_margin_ranking_loss_broadcasts(amp, args):
    outs = []
    for L in (ember, torch):
        x1, x2 = _arg(L, (4, 4), "bfloat16"), _arg(L, (4, 4), "bfloat16", 1)
        target = L.tensor([1., -1, 1, -1], dtype=L.bfloat16)
        with L.autocast("cpu", dtype=getattr(L, amp or "bfloat16"), enabled=amp is not None):
            outs.append(_outcome(lambda: L.margin_ranking_loss(x1, x2, target, *args)))
    assert outs[0] == outs[1]


# ---- CUDA autocast policy: torch's AutocastTestLists (test_cuda.py) categories, on ember's
# mock device (which takes the CUDA lists); torch cannot run these here ------------------------
def _mock(shape, dtype="float16", seed=0):
    return _arg(ember, shape, dtype, seed).to("mock")


def _cell_args(gates, lstm=False):
    """AutocastTestLists' _rnn_cell_args: float32 input, state(s), weights and biases."""
    hx = (_mock((3, 3), "float32", 1), _mock((3, 3), "float32", 2)) if lstm else \
        _mock((3, 3), "float32", 1)
    return (_mock((3, 3), "float32"), hx, _mock((gates * 3, 3), "float32", 3),
            _mock((gates * 3, 3), "float32", 4), _mock((gates * 3,), "float32", 5),
            _mock((gates * 3,), "float32", 6))


_CUDA_LISTS = {
    # torch_fp16 / linalg_fp16
    "addr": (lambda: ember.addr(_mock((3, 3), "float32"), _mock((3,), "float32"),
                                _mock((3,), "float32", 1)), "float16"),
    "mv": (lambda: ember.mv(_mock((3, 3), "float32"), _mock((3,), "float32", 1)), "float16"),
    "addmv": (lambda: ember.addmv(_mock((3,), "float32"), _mock((3, 3), "float32"),
                                  _mock((3,), "float32", 1)), "float16"),
    "linalg.vecdot": (lambda: ember.linalg.vecdot(_mock((3, 3), "float32"),
                                                  _mock((3, 3), "float32", 1)), "float16"),
    # torch_fp32 / nn_fp32
    "renorm": (lambda: ember.renorm(_mock((3, 3)), 2, 0, 1.0), "float32"),
    "dist": (lambda: ember.dist(_mock((3,)), _mock((3,), seed=1)), "float32"),
    "norm": (lambda: ember.norm(_mock((3,))), "float32"),
    "cumsum": (lambda: ember.cumsum(_mock((3,)), 0), "float32"),
    "cumprod": (lambda: _mock((3,)).cumprod(0), "float32"),
    "logsumexp": (lambda: ember.logsumexp(_mock((3, 3)), 1), "float32"),
    "prod": (lambda: ember.prod(_mock((3,))), "float32"),
    "softmax": (lambda: ember.softmax(_mock((3,)), 0), "float32"),
    "log_softmax": (lambda: ember.nn.functional.log_softmax(_mock((3,)), 0), "float32"),
    "rms_norm": (lambda: ember.nn.functional.rms_norm(_mock((3,)), (3,)), "float32"),
    "LayerNorm module": (lambda: ember.nn.LayerNorm(3).to("mock")(_mock((2, 3))), "float32"),
    "einsum": (lambda: ember.einsum("i,j->ij", _mock((3,), "float32"), _mock((2,), "float32")),
               "float16"),
    "softplus": (lambda: ember.nn.functional.softplus(_mock((3,))), "float32"),
    **{name: ((lambda name=name: getattr(ember, name)(_mock((3,)).sigmoid())), "float32")
       for name in ("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2",
                    "log1p", "reciprocal", "rsqrt", "sinh", "tan")},
    "Tensor.exp": (lambda: _mock((3,)).exp(), "float32"),
    "Tensor.exp bfloat16": (lambda: _mock((3,), "bfloat16").exp(), "float32"),
    "exp float64": (lambda: _mock((3,), "float64").exp(), "float64"),
    "exp out=": (lambda: ember.exp(_mock((3,)), out=_mock((3,))), "float16"),
    "exp_": (lambda: _mock((3,)).exp_(), "float16"),
    "pow": (lambda: _mock((3,)) ** 2, "float32"),
    "pow tensors": (lambda: ember.pow(_mock((3,)), _mock((3,), seed=1)), "float32"),
    "rpow": (lambda: 2 ** _mock((3,)), "float32"),
    "sum": (lambda: _mock((3,)).sum(), "float32"),
    "sum dim": (lambda: ember.sum(_mock((2, 3)), 1), "float32"),
    "sum int64": (lambda: ember.arange(3).to("mock").sum(), "int64"),
    "sin (not listed)": (lambda: _mock((3,)).sin(), "float16"),
    # the RNN cells and cuDNN's RNN: everything in the autocast dtype
    "lstm_cell": (lambda: ember.lstm_cell(*_cell_args(4, lstm=True))[1], "float16"),
    "gru_cell": (lambda: ember.gru_cell(*_cell_args(3)), "float16"),
    "rnn_tanh_cell": (lambda: ember.rnn_tanh_cell(*_cell_args(1)), "float16"),
    "rnn_relu_cell": (lambda: ember.rnn_relu_cell(*_cell_args(1)), "float16"),
    **{f"{m} module": ((lambda m=m: getattr(ember.nn, m)(3, 3, 2).to("mock")(
        _mock((4, 2, 3), "float32"))[1][-1]), "float16") for m in ("LSTM", "GRU", "RNN")},
    **{f"{m} module": ((lambda m=m: getattr(ember.nn, m)(3, 3).to("mock")(
        _mock((2, 3), "float32"))[-1]), "float16") for m in ("LSTMCell", "GRUCell", "RNNCell")},
    # torch_need_autocast_promote
    "dot": (lambda: ember.dot(_mock((3,)), _mock((3,), "float32", 1)), "float32"),
    "vdot": (lambda: ember.vdot(_mock((3,)), _mock((3,), "float32", 1)), "float32"),
    "tensordot": (lambda: ember.tensordot(_mock((2, 2, 2), "float32"), _mock((2, 2, 2))),
                  "float32"),
    "scatter_add": (lambda: ember.scatter_add(
        _mock((2, 2)), 0, ember.tensor([[0, 1], [1, 0]]).to("mock"), _mock((2, 2), "float32")),
                    "float32"),
    "index_put": (lambda: ember.index_put(_mock((4,)), (ember.tensor([1]).to("mock"),),
                                          _mock((1,), "float32")), "float32"),
    "bilinear": (lambda: ember.bilinear(_mock((1, 2)), _mock((1, 2), "float32"), _mock((1, 2, 2)),
                                        _mock((1,), "float32")), "float32"),
    "cross": (lambda: ember.cross(_mock((3,), "float32"), _mock((3,)), dim=0), "float32"),
    "grid_sample": (lambda: ember.nn.functional.grid_sample(
        _mock((1, 1, 3, 3)), _mock((1, 2, 2, 2), "float32").tanh(), align_corners=False),
                    "float32"),
    "cat": (lambda: ember.cat([_mock((3,)), _mock((3,), "bfloat16")]), "RuntimeError"),
    # banned
    "binary_cross_entropy": (lambda: ember.nn.functional.binary_cross_entropy(
        _mock((3,), "float32").sigmoid(), _mock((3,), "float32").sigmoid()), "RuntimeError"),
}


@pytest.mark.parametrize("name", list(_CUDA_LISTS))
def test_cuda_autocast_lists_on_the_mock_device(name):
    fn, expected = _CUDA_LISTS[name]
    with ember.autocast("mock", dtype=ember.float16):
        kind, what = _outcome(fn)[0], None
        if kind == "ok":
            what = str(fn().dtype).split(".")[-1]
    assert (what or kind) == expected


def test_cuda_autocast_refuses_binary_cross_entropy_in_torch_words():
    with ember.autocast("mock", dtype=ember.float16):
        with pytest.raises(RuntimeError) as info:
            ember.nn.functional.binary_cross_entropy(_mock((3,), "float32").sigmoid(),
                                                     _mock((3,), "float32").sigmoid())
    assert str(info.value).startswith(
        "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.")
    with ember.autocast("cpu"):                 # CPU autocast runs it in float32
        assert ember.nn.functional.binary_cross_entropy(
            _arg(ember, (3,)).sigmoid(), _arg(ember, (3,), seed=1).sigmoid()).dtype is ember.float32


@pytest.mark.parametrize("call", [
    lambda L: L.is_autocast_cpu_enabled(), lambda L: L.set_autocast_cpu_enabled(False),
    lambda L: L.get_autocast_cpu_dtype(), lambda L: L.set_autocast_cpu_dtype(L.bfloat16),
    lambda L: L.get_autocast_gpu_dtype(), lambda L: L.set_autocast_gpu_dtype(L.float16)])
def test_device_specific_autocast_state_functions_are_deprecated(call):
    def seen(L):
        (kind, value), warned = _warned(lambda: call(L))
        return kind, str(value), [w.split(" (Triggered internally")[0] for w in warned]
    assert seen(ember) == seen(torch)


# methods_expect_builtin_promote calls Tensor.__div__ (torch keeps Python 2's names)
@pytest.mark.parametrize("call", [
    lambda L: _arg(L, (3,)).__div__(_arg(L, (3,), "bfloat16", 1)),
    lambda L: _arg(L, (3,)).__div__(2),
    lambda L: _arg(L, (3,)).__rdiv__(2),
    lambda L: _arg(L, (3,)).__idiv__(_arg(L, (3,), seed=1)),
    lambda L: _arg(L, (3,), "int64").__idiv__(2)])
def test_python2_division_dunders(call):
    for autocast in (False, True):
        outs = []
        for L in (ember, torch):
            with L.autocast("cpu", enabled=autocast):
                outs.append(_outcome(lambda: call(L)))
        assert outs[0] == outs[1]


# TestTorchAutocast.test_invalid_device: torch's device-string grammar decides the message
@pytest.mark.parametrize("call", [
    lambda L: L.autocast(device_type="not a real device"),
    lambda L: L.amp.is_autocast_available(device_type="not a real device"),
    lambda L: L.device("cuda:01"), lambda L: L.device(":0"), lambda L: L.device(""),
    lambda L: L.device("cuda:0", 1), lambda L: L.device("cu da", 1), lambda L: L.device("cpu:0"),
    lambda L: L.device("cpu", 0), lambda L: L.device("CPU")])
def test_device_strings(call):
    assert _outcome(lambda: str(call(ember))) == _outcome(lambda: str(call(torch)))


def test_amp_autocast_mode_module():
    from ember.amp.autocast_mode import autocast, custom_fwd, is_autocast_available
    assert autocast is ember.autocast and custom_fwd is ember.amp.custom_fwd
    assert ember.amp.autocast_mode.is_autocast_available("cpu") is \
        torch.amp.autocast_mode.is_autocast_available("cpu") is True
    with ember.amp.autocast_mode.autocast("cpu"):
        assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.bfloat16
    assert is_autocast_available("cuda")


def _dirty_not_returned(L, requires_grad, grad_mode):
    class Double(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1            # the modified input is not returned

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = L.ones(2, requires_grad=requires_grad) * 1
    with L.set_grad_enabled(grad_mode):
        return Double.apply(x)


@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_function_marks_dirty_an_input_it_does_not_return(requires_grad, grad_mode):
    assert _outcome(lambda: _dirty_not_returned(ember, requires_grad, grad_mode)) == \
        _outcome(lambda: _dirty_not_returned(torch, requires_grad, grad_mode))


def _checkpointed(L, use_reentrant, forward_amp, backward_amp):
    """What the checkpointed segment sees in its forward and in its recomputation (torch's
    checkpoint saves the autocast state and replays it), and the gradient."""
    import numpy as np
    seen = []
    w = L.tensor(np.random.RandomState(0).randn(4, 4).astype(np.float32), requires_grad=True)
    x = L.tensor(np.random.RandomState(1).randn(2, 4).astype(np.float32), requires_grad=True)

    def segment(x):
        y = x @ w
        seen.append((str(y.dtype).split(".")[-1], L.is_autocast_enabled("cpu")))
        return y.relu()

    with L.autocast("cpu", enabled=forward_amp):
        out = L.utils.checkpoint.checkpoint(segment, x, use_reentrant=use_reentrant)
    with L.autocast("cpu", enabled=backward_amp):
        out.float().sum().backward()
    return seen, w.grad.numpy().tolist()


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("forward_amp, backward_amp", [(True, False), (False, True)])
def test_checkpoint_replays_the_autocast_state(use_reentrant, forward_amp, backward_amp):
    (seen_e, grad_e), (seen_t, grad_t) = (
        _checkpointed(L, use_reentrant, forward_amp, backward_amp) for L in (ember, torch))
    assert seen_e == seen_t
    if not backward_amp:        # (torch also autocasts the backward's own matmuls; ember not)
        assert grad_e == grad_t
