"""nn.utils against torch: gradient clipping, parameter/vector conversion, parametrize,
weight_norm and spectral_norm (both the hook and the parametrization versions), conv/linear +
BatchNorm fusion, skip_init."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.utils as tutils
import torch.nn.utils.parametrize as tparametrize

import ember
import ember.nn as nn
import ember.nn.utils as utils
import ember.nn.utils.parametrize as parametrize
from nn_oracle import check_module, raises_like, rand, to_ember_state
from oracle import assert_close


def _with_grads(lib, scale=1.0, special=None):
    params = []
    for i, shape in enumerate([(3, 4), (5,), (2, 2, 2)]):
        p = lib.nn.Parameter(lib.tensor(rand(shape, seed=i)))
        g = rand(shape, seed=10 + i) * scale
        if special is not None and i == 1:
            g[0] = special
        p.grad = lib.tensor(g)
        params.append(p)
    params.append(lib.nn.Parameter(lib.ones(2)))        # a parameter without a gradient
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), 0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    pe, pt = _with_grads(ember), _with_grads(torch)
    ne = utils.clip_grad_norm_(pe, max_norm, norm_type)
    nt = tutils.clip_grad_norm_(pt, max_norm, norm_type)
    assert_close(ne, nt)
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)
    assert pe[3].grad is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_total_norm_bits_of_same_sized_gradients(dtype):
    # gradients that share a size (biases, norm weights, weight matrices) are normed as rows
    # of one array (stacked, or their squares written into one when the size is a multiple of
    # 4): each such norm and the total equal torch's bit for bit (large gradients of another
    # size and a non-contiguous one normed alone among them)
    from ember.nn.utils.clip_grad import _small_norms2
    rng = np.random.default_rng(5)
    arrays = [(rng.standard_normal(n) * s).astype(dtype) for n, s in
              [(128, 1.0), (128, 1e-3), (128, 1e3), (37, 1.0), (37, 2.0), (1, 3.0), (1, 0.5),
               (9000, 1.0), (9000, 2.0), (128, 1e-20), (301, 1.0), (301, 7.0), (9001, 1.0),
               (9001, 3.0)]]
    arrays.append(rng.standard_normal((16, 8)).astype(dtype).T)
    # sizes that are a multiple of 4 take the squares path alone too
    arrays += [(rng.standard_normal(n) * 3.0).astype(dtype) for n in (12, 4100, 40000)]
    ge = [ember.tensor(a) if a.flags.c_contiguous else ember.tensor(a.T).t() for a in arrays]
    gt = [torch.tensor(a) if a.flags.c_contiguous else torch.tensor(a.T).t() for a in arrays]
    stacked = _small_norms2(ge, ge[0].be)
    assert sorted(stacked) == list(range(12)) + [15, 16, 17]
    for i, n in stacked.items():
        assert np.asarray(n).tobytes() == torch.linalg.vector_norm(gt[i]).numpy().tobytes(), i
    assert utils.get_total_norm(ge).numpy().tobytes() == \
        tutils.get_total_norm(gt).numpy().tobytes()


def test_clip_grad_norm_single_tensor_and_generator():
    pe, pt = _with_grads(ember), _with_grads(torch)
    assert_close(utils.clip_grad_norm_(pe[0], 0.1), tutils.clip_grad_norm_(pt[0], 0.1))
    assert_close(utils.clip_grad_norm_(iter(pe), 0.1), tutils.clip_grad_norm_(iter(pt), 0.1))
    assert_close(pe[0].grad, pt[0].grad)


def test_clip_grad_norm_nonfinite():
    pe, pt = _with_grads(ember, special=np.inf), _with_grads(torch, special=np.inf)
    raises_like(lambda: utils.clip_grad_norm_(pe, 1.0, error_if_nonfinite=True),
                lambda: tutils.clip_grad_norm_(pt, 1.0, error_if_nonfinite=True))
    pe, pt = _with_grads(ember, special=np.nan), _with_grads(torch, special=np.nan)
    assert_close(utils.clip_grad_norm_(pe, 1.0), tutils.clip_grad_norm_(pt, 1.0))
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)


def test_clip_grad_value():
    pe, pt = _with_grads(ember), _with_grads(torch)
    utils.clip_grad_value_(pe, 0.3)
    tutils.clip_grad_value_(pt, 0.3)
    for a, b in zip(pe[:3], pt[:3]):
        assert_close(a.grad, b.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_clip_grad_value_bits(dtype):
    rng = np.random.default_rng(3)
    arrays = [(rng.standard_normal(n) * 2).astype(dtype) for n in (1, 7, 128, 5000)]
    arrays[1][:3] = [np.nan, -0.0, np.inf]
    pe = [ember.zeros(a.shape, dtype=ember.tensor(a).dtype, requires_grad=True) for a in arrays]
    pt = [torch.zeros(a.shape, dtype=torch.tensor(a).dtype, requires_grad=True) for a in arrays]
    for a, e, t in zip(arrays, pe, pt):
        e.grad, t.grad = ember.tensor(a.copy()), torch.tensor(a.copy())
    versions = [e.grad._version for e in pe]
    utils.clip_grad_value_(pe, 0.7)
    tutils.clip_grad_value_(pt, 0.7)
    for e, t, v in zip(pe, pt, versions):
        assert e.grad.numpy().tobytes() == t.grad.numpy().tobytes()
        assert e.grad._version == t.grad._version > v


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int64",
                                   "uint8", "bool", "complex64"])
@pytest.mark.parametrize("value", [0.5, 128, 65504.0, 65505.0, 1e6, -1e6, 3.4e38, 3.5e38,
                                   1e300, float("inf"), float("-inf"), float("nan"), 2**63])
@pytest.mark.parametrize("foreach", [None, False])
def test_clip_grad_value_dtype_bounds_and_versions(dtype, value, foreach):
    # torch converts the clip value to each gradient's dtype, checked: past the largest finite
    # value of a 2-byte or float32 dtype it overflows (inf and NaN pass); an integer or bool
    # gradient refuses the float result, a complex one is not clamped; the versions count
    # torch's writes (two foreach clamps, or one clamp_)
    def run(lib):
        dt = getattr(lib, dtype)
        g = lib.tensor([1.5, -100.0, 0.25]).to(dt)
        p = lib.zeros(3, dtype=dt)
        p.grad = g
        try:
            lib.nn.utils.clip_grad_value_([p], value, foreach=foreach)
        except (RuntimeError, NotImplementedError) as e:
            return type(e).__name__, str(e), g._version
        return [repr(x) for x in g.to(lib.float64).tolist()], g._version      # (NaN)
    assert run(ember) == run(torch)


@pytest.mark.parametrize("vec", ["exact", "long", "short", "strided", "2d"])
def test_vector_to_parameters_views(vec):
    # each parameter becomes a view of the vector's memory: offsets, strides and values as
    # torch's, later writes into the vector seen; a short vector raises torch's error
    def run(lib):
        lib.manual_seed(0)
        params = list(lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Linear(4, 2)).parameters())
        v = {"exact": lambda: lib.arange(26.0), "long": lambda: lib.arange(30.0),
             "short": lambda: lib.arange(20.0), "strided": lambda: lib.arange(52.0)[::2],
             "2d": lambda: lib.arange(52.0).reshape(26, 2)}[vec]()
        try:
            lib.nn.utils.vector_to_parameters(v, iter(params))
        except RuntimeError as e:
            return str(e)
        out = [(tuple(p.shape), p.storage_offset(), p.stride(), p.data_ptr() - v.data_ptr(),
                p.requires_grad, type(p).__name__, p.detach().numpy().tolist(), p._version)
               for p in params]
        # each parameter keeps its own version counter (set_data): a write into the vector
        # leaves it alone, a write into a parameter leaves the vector's alone
        with lib.no_grad():
            v.add_(1)
            params[0].mul_(2)
        return out, [(p.detach().numpy().tolist(), p._version) for p in params], v._version
    assert run(ember) == run(torch)


def test_parameters_to_vector_and_back():
    e, t = nn.Linear(3, 2), tnn.Linear(3, 2)
    e.load_state_dict(to_ember_state(t.state_dict()))
    ve, vt = utils.parameters_to_vector(e.parameters()), tutils.parameters_to_vector(
        t.parameters())
    assert_close(ve, vt)
    new = rand((8,), seed=4)
    utils.vector_to_parameters(ember.tensor(new), e.parameters())
    tutils.vector_to_parameters(torch.from_numpy(new), t.parameters())
    assert_close(e.weight, t.weight)
    assert_close(e.bias, t.bias)
    raises_like(lambda: utils.vector_to_parameters([1.0], e.parameters()),
                lambda: tutils.vector_to_parameters([1.0], t.parameters()))
    w = ember.ones(2, requires_grad=True)
    (utils.parameters_to_vector([w]) * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_version(dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = utils.weight_norm(nn.Linear(4, 3), dim=dim)
        t = tutils.weight_norm(tnn.Linear(4, 3), dim=dim)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    check_module(e, t, [rand((5, 4))], "float64")
    utils.remove_weight_norm(e)
    tutils.remove_weight_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight.double())


@pytest.mark.parametrize("dim", [0, 1])
def test_weight_norm_parametrization(dim):
    e = utils.parametrizations.weight_norm(nn.Linear(4, 3), dim=dim)
    t = tutils.parametrizations.weight_norm(tnn.Linear(4, 3), dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    check_module(e, t, [rand((5, 4))], "float64")
    parametrize.remove_parametrizations(e, "weight")
    tparametrize.remove_parametrizations(t, "weight")
    assert type(e) is nn.Linear and list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)


def test_spectral_norm_parametrization():
    e = utils.parametrizations.spectral_norm(nn.Linear(5, 4))
    t = tutils.parametrizations.spectral_norm(tnn.Linear(5, 4))
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    for train in (False, True):           # the power iteration in train mode updates _u/_v
        check_module(e, t, [rand((3, 5))], "float64", train=train)
        assert_close(e.parametrizations.weight[0]._u, t.parametrizations.weight[0]._u)
    sigma = np.linalg.svd(e.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1) < 0.05


def test_spectral_norm_hook_version():
    e = utils.spectral_norm(nn.Linear(5, 4))
    t = tutils.spectral_norm(tnn.Linear(5, 4))
    assert list(e.state_dict()) == list(t.state_dict())
    for train in (True, False):
        check_module(e, t, [rand((3, 5))], "float64", train=train)
    assert e.state_dict()._metadata[""]["spectral_norm"] == \
        t.state_dict()._metadata[""]["spectral_norm"]
    utils.remove_spectral_norm(e)
    tutils.remove_spectral_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())


def test_custom_parametrization_and_cached():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    class TDouble(tnn.Module):
        def forward(self, x):
            return x * 2
    e, t = nn.Linear(3, 3), tnn.Linear(3, 3)
    parametrize.register_parametrization(e, "weight", Double())
    tparametrize.register_parametrization(t, "weight", TDouble())
    assert parametrize.is_parametrized(e) and parametrize.is_parametrized(e, "weight")
    assert not parametrize.is_parametrized(e, "bias")
    assert list(e.state_dict()) == list(t.state_dict())
    check_module(e, t, [rand((2, 3))], "float64")
    with parametrize.cached():
        assert e.weight is e.weight
    assert e.weight is not e.weight
    assert parametrize.type_before_parametrizations(e) is nn.Linear
    raises_like(lambda: parametrize.register_parametrization(e, "nope", Double()),
                lambda: tparametrize.register_parametrization(t, "nope", TDouble()))
    raises_like(lambda: setattr(e, "weight", ember.ones(3, 3)),      # needs right_inverse
                lambda: setattr(t, "weight", torch.ones(3, 3)))


def test_parametrization_shape_check():
    class Bad(nn.Module):
        def forward(self, x):
            return x[0]

    class TBad(tnn.Module):
        def forward(self, x):
            return x[0]
    raises_like(lambda: parametrize.register_parametrization(nn.Linear(2, 2), "weight", Bad()),
                lambda: tparametrize.register_parametrization(tnn.Linear(2, 2), "weight",
                                                              TBad()))


def test_functional_call_matches_torch_and_restores():
    e, t = nn.Linear(3, 2), tnn.Linear(3, 2)
    e.load_state_dict(to_ember_state(t.state_dict()))
    w = rand((2, 3), seed=7)
    x = rand((4, 3), seed=8)
    ew = ember.tensor(w, requires_grad=True)
    tw = torch.from_numpy(w).requires_grad_()
    oe = utils.stateless.functional_call(e, {"weight": ew}, (ember.tensor(x),))
    ot = torch.func.functional_call(t, {"weight": tw}, (torch.from_numpy(x),))
    assert_close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(ew.grad, tw.grad)
    assert e.weight is e._parameters["weight"] and isinstance(e.weight, nn.Parameter)
    assert_close(e(ember.tensor(x)), t(torch.from_numpy(x)))
    with pytest.raises(RuntimeError, match="Missing key"):
        utils.stateless.functional_call(e, {"weight": ew}, (ember.tensor(x),), strict=True)


def test_functional_call_tied_weights():
    lin = nn.Linear(2, 2, bias=False)
    seq = nn.Sequential(lin, lin)
    new = ember.zeros(2, 2)
    out = utils.stateless.functional_call(seq, {"0.weight": new}, ember.ones(1, 2))
    assert not out.numpy().any()
    assert seq[1].weight is lin.weight


def _trained_bn(lib, cls, n, **kw):
    """A BatchNorm in eval mode with non-trivial running statistics and affine parameters."""
    bn = getattr(lib.nn, cls)(n, **kw)
    shape = {"BatchNorm1d": (6, n), "BatchNorm2d": (6, n, 2, 2), "BatchNorm3d": (6, n, 2, 2, 2)}
    bn(lib.tensor(rand(shape[cls], seed=3)))
    return bn.eval()


FUSIONS = [   # (layer, args, kwargs, bn class, bn kwargs, input shape)
    ("Conv2d", (3, 4, 3), {}, "BatchNorm2d", {}, (2, 3, 5, 5)),
    ("Conv1d", (3, 4, 2), dict(bias=False), "BatchNorm1d", dict(affine=False), (2, 3, 6)),
    ("Conv3d", (2, 3, 2), {}, "BatchNorm3d", dict(bias=False), (1, 2, 3, 3, 3)),
    ("ConvTranspose2d", (3, 4, 2), {}, "BatchNorm2d", {}, (2, 3, 3, 3)),
    ("Linear", (5, 4), {}, "BatchNorm1d", {}, (3, 5)),
    ("Linear", (5, 4), dict(bias=False), "BatchNorm1d", {}, (3, 5)),
    ("Linear", (5, 4), {}, "BatchNorm1d", {}, (3, 7, 5)),            # bn over one feature
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", FUSIONS, ids=[f"{c[0]}{i}" for i, c in enumerate(FUSIONS)])
def test_fuse_bn_eval_matches_torch(case, dtype):
    cls, args, kw, bn_cls, bn_kw, shape = case
    n = 1 if len(shape) == 3 and cls == "Linear" else args[1]
    t_layer, e_layer = getattr(tnn, cls)(*args, **kw).eval(), getattr(nn, cls)(*args, **kw).eval()
    e_layer.load_state_dict(to_ember_state(t_layer.state_dict()))
    t_bn, e_bn = _trained_bn(torch, bn_cls, n, **bn_kw), _trained_bn(ember, bn_cls, n, **bn_kw)
    if cls == "Linear":
        t_fused = tutils.fusion.fuse_linear_bn_eval(t_layer, t_bn)
        e_fused = utils.fusion.fuse_linear_bn_eval(e_layer, e_bn)
    else:
        t_fused = tutils.fuse_conv_bn_eval(t_layer, t_bn, transpose="Transpose" in cls)
        e_fused = utils.fuse_conv_bn_eval(e_layer, e_bn, transpose="Transpose" in cls)
    assert type(e_fused) is type(e_layer) and e_fused is not e_layer
    assert repr(e_fused) == repr(t_fused)
    t_sd = t_fused.state_dict()
    for k, v in e_fused.state_dict().items():     # fused from the BatchNorm ember computed
        assert_close(v, t_sd[k], rtol=1e-5, atol=1e-6)
    assert all(isinstance(p, nn.Parameter) for p in e_fused.parameters())
    assert [p.requires_grad for p in e_fused.parameters()] == \
        [p.requires_grad for p in t_fused.parameters()]
    check_module(e_fused, t_fused, [rand(shape, seed=4)], dtype)


def test_fuse_weights_and_errors_match_torch():
    w, b, rm, rv, bw, bb = (rand(s, seed=i) for i, s in enumerate(
        [(4, 3, 2, 2), (4,), (4,), (4,), (4,), (4,)]))
    rv = np.abs(rv) + 0.5
    for fn, args in (("fuse_conv_bn_weights", (w, None, rm, rv, 1e-3, None, None)),
                     ("fuse_conv_bn_weights", (w.swapaxes(0, 1).copy(), b, rm, rv, 1e-5, bw, bb,
                                               True)),
                     ("fuse_linear_bn_weights", (w[:, :, 0, 0], b, rm, rv, 1e-5, bw, bb))):
        conv = lambda lib: [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        (ew, eb), (tw, tb) = getattr(utils, fn)(*conv(ember)), getattr(tutils, fn)(*conv(torch))
        assert isinstance(ew, nn.Parameter) and not ew.requires_grad
        assert_close(ew, tw.detach())
        assert_close(eb, tb.detach())
    for make in (lambda lib: lib.nn.utils.fuse_conv_bn_eval(lib.nn.Conv2d(3, 4, 1),
                                                            lib.nn.BatchNorm2d(4).eval()),
                 lambda lib: lib.nn.utils.fuse_linear_bn_eval(lib.nn.Linear(3, 4).eval(),
                                                              lib.nn.BatchNorm1d(3).eval()),
                 lambda lib: lib.nn.utils.fuse_linear_bn_eval(
                     lib.nn.Linear(3, 4).eval(), lib.nn.BatchNorm1d(
                         4, track_running_stats=False).eval())):
        e_msg, t_msg = raises_like(lambda: make(ember), lambda: make(torch))
        assert e_msg == t_msg


def test_skip_init_leaves_parameters_uninitialised_and_the_rng_alone():
    ember.manual_seed(0)
    expected = ember.rand(3)
    ember.manual_seed(0)
    m = utils.skip_init(nn.Linear, 5, out_features=2, bias=False, dtype=ember.float64)
    t = tutils.skip_init(tnn.Linear, 5, out_features=2, bias=False, dtype=torch.float64)
    np.testing.assert_array_equal(ember.rand(3).numpy(), expected.numpy())
    assert repr(m) == repr(t) and m.weight.dtype == ember.float64
    assert isinstance(m.weight, nn.Parameter) and tuple(m.weight.shape) == (2, 5)
    for make in (lambda lib: lib.nn.utils.skip_init(int), lambda lib: lib.nn.utils.skip_init(
            lib.nn.ReLU)):
        e_msg, t_msg = raises_like(lambda: make(ember), lambda: make(torch))
        assert e_msg == t_msg
