"""Normalisation against torch: batch_norm (train/eval, running statistics with momentum and
cumulative averaging, num_batches_tracked), layer/group/instance/rms/local-response norm,
SyncBatchNorm (one process) and convert_sync_batchnorm, CrossMapLRN2d; functional and modules,
float32/float64 outputs and gradients, gradchecks, state_dict keys, reprs, loading older
state_dicts and torch's exceptions."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import (DTYPES, check_fn, check_module, copy_weights, gradcheck, raises_like, rand,
                       to_ember_state)
from oracle import assert_close


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (4, 3, 5, 6), (3, 2, 3, 4, 2)])
def test_batch_norm_train(shape, dtype):
    c = shape[1]
    inputs = [rand(shape, dtype), rand(c, dtype, 1), rand(c, dtype, 2)]
    check_fn(lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, True), inputs, dtype)
    check_fn(lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
             lambda x: TF.batch_norm(x, None, None, training=True, eps=1e-3), inputs[:1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_eval(dtype):
    rm, rv = rand(3, dtype, 5), rand(3, dtype, 6, 0.5, 2.0)
    check_fn(lambda x, w, b: F.batch_norm(x, ember.tensor(rm), ember.tensor(rv), w, b),
             lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b),
             [rand((4, 3, 5, 6), dtype), rand(3, dtype, 1), rand(3, dtype, 2)], dtype)


@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_batch_norm_running_stats(momentum):
    rm = [ember.zeros(3, dtype=ember.float64), torch.zeros(3, dtype=torch.float64)]
    rv = [ember.ones(3, dtype=ember.float64), torch.ones(3, dtype=torch.float64)]
    for seed in range(3):
        x = rand((4, 3, 5, 6), "float64", seed)
        F.batch_norm(ember.tensor(x), rm[0], rv[0], training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x), rm[1], rv[1], training=True, momentum=momentum)
        assert_close(rm[0], rm[1])
        assert_close(rv[0], rv[1])
        F.instance_norm(ember.tensor(x), rm[0], rv[0], momentum=momentum)
        TF.instance_norm(torch.tensor(x), rm[1], rv[1], momentum=momentum)
        assert_close(rm[0], rm[1])
        assert_close(rv[0], rv[1])


def test_norm_gradchecks():
    x, c = rand((4, 3, 5, 2), "float64"), rand(3, "float64")
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [x, c, c + 1])
    gradcheck(lambda x, w, b: F.layer_norm(x, (5, 2), w, b), [x, rand((5, 2), "float64"),
                                                               rand((5, 2), "float64")])
    gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b), [rand((2, 6, 4), "float64"),
                                                          rand(6, "float64"), rand(6, "float64")])
    gradcheck(lambda x: F.instance_norm(x), [x])
    gradcheck(lambda x, w: F.rms_norm(x, (2,), w), [x, rand(2, "float64")])
    gradcheck(lambda x: F.local_response_norm(x, 2), [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm(dtype):
    x = rand((2, 3, 4, 5), dtype)
    check_fn(lambda x, w, b: F.layer_norm(x, (4, 5), w, b),
             lambda x, w, b: TF.layer_norm(x, (4, 5), w, b),
             [x, rand((4, 5), dtype, 1), rand((4, 5), dtype, 2)], dtype)
    check_fn(lambda x, w: F.layer_norm(x, [5], w, eps=1e-2),
             lambda x, w: TF.layer_norm(x, [5], w, eps=1e-2), [x, rand(5, dtype, 1)], dtype)
    check_fn(lambda x: F.layer_norm(x, 5), lambda x: TF.layer_norm(x, (5,)), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_group_instance_norm(dtype):
    x = rand((2, 6, 4, 5), dtype)
    check_fn(lambda x, w, b: F.group_norm(x, 3, w, b), lambda x, w, b: TF.group_norm(x, 3, w, b),
             [x, rand(6, dtype, 1), rand(6, dtype, 2)], dtype)
    check_fn(lambda x: F.group_norm(x, 2), lambda x: TF.group_norm(x, 2), [rand((2, 6, 7), dtype)],
             dtype)
    check_fn(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
             [x, rand(6, dtype, 1), rand(6, dtype, 2)], dtype)
    rm, rv = rand(6, dtype, 5), rand(6, dtype, 6, 0.5, 2.0)
    check_fn(lambda x: F.instance_norm(x, ember.tensor(rm), ember.tensor(rv),
                                       use_input_stats=False),
             lambda x: TF.instance_norm(x, torch.tensor(rm), torch.tensor(rv),
                                        use_input_stats=False), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_and_local_response_norm(dtype):
    x = rand((2, 3, 4, 5), dtype)
    check_fn(lambda x, w: F.rms_norm(x, (4, 5), w), lambda x, w: TF.rms_norm(x, (4, 5), w),
             [x, rand((4, 5), dtype, 1)], dtype)
    check_fn(lambda x: F.rms_norm(x, [5], eps=1e-3), lambda x: TF.rms_norm(x, [5], eps=1e-3),
             [x], dtype)
    check_fn(lambda x: F.local_response_norm(x, 3), lambda x: TF.local_response_norm(x, 3),
             [rand((2, 5, 6), dtype)], dtype)
    check_fn(lambda x: F.local_response_norm(x, 2, 0.1, 0.5, 2.0),
             lambda x: TF.local_response_norm(x, 2, 0.1, 0.5, 2.0), [x], dtype)


def test_norm_grad_fn_names():
    x = ember.tensor(rand((4, 3, 5)), requires_grad=True)
    t = torch.tensor(rand((4, 3, 5)), requires_grad=True)
    for fn in (lambda f, a: f.batch_norm(a, None, None, training=True),
               lambda f, a: f.layer_norm(a, (5,)), lambda f, a: f.group_norm(a, 3)):
        assert fn(F, x).grad_fn.name() == type(fn(TF, t).grad_fn).__name__


def test_norm_on_device(device):
    x = ember.tensor(rand((4, 3, 5)), device=device, requires_grad=True)
    rm, rv = ember.zeros(3, device=device), ember.ones(3, device=device)
    y = F.batch_norm(x, rm, rv, training=True) + F.layer_norm(x, (5,)) + F.group_norm(x, 3)
    y.sum().backward()
    t = torch.tensor(rand((4, 3, 5)), requires_grad=True)
    trm, trv = torch.zeros(3), torch.ones(3)
    (TF.batch_norm(t, trm, trv, training=True) + TF.layer_norm(t, (5,))
     + TF.group_norm(t, 3)).sum().backward()
    assert x.grad.device == x.device and rm.device == x.device
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rv.cpu().numpy(), trv.numpy(), rtol=1e-5)


# ---- modules --------------------------------------------------------------------------------
MODULES = {   # name -> (args, kwargs, input shape)
    "BatchNorm1d": ((3,), {}, (4, 3)),
    "BatchNorm1d_3d": ((3,), dict(momentum=0.3), (4, 3, 5)),
    "BatchNorm2d": ((3,), {}, (4, 3, 5, 6)),
    "BatchNorm2d_noaffine": ((3,), dict(affine=False), (4, 3, 5, 6)),
    "BatchNorm2d_nobias": ((3,), dict(bias=False, eps=1e-3), (4, 3, 5, 6)),
    "BatchNorm2d_untracked": ((3,), dict(track_running_stats=False), (4, 3, 5, 6)),
    "BatchNorm2d_cumulative": ((3,), dict(momentum=None), (4, 3, 5, 6)),
    "BatchNorm3d": ((2,), {}, (3, 2, 3, 4, 2)),
    "InstanceNorm1d": ((3,), dict(affine=True), (4, 3, 5)),
    "InstanceNorm1d_unbatched": ((3,), dict(affine=True), (3, 5)),
    "InstanceNorm2d": ((3,), {}, (4, 3, 5, 6)),
    "InstanceNorm2d_tracked": ((3,), dict(affine=True, track_running_stats=True), (4, 3, 5, 6)),
    "InstanceNorm3d": ((2,), dict(affine=True), (3, 2, 3, 4, 2)),
    "LayerNorm": (((5, 6),), {}, (4, 3, 5, 6)),
    "LayerNorm_nobias": ((6,), dict(bias=False, eps=1e-3), (4, 3, 5, 6)),
    "LayerNorm_noaffine": ((6,), dict(elementwise_affine=False), (4, 3, 5, 6)),
    "GroupNorm": ((2, 4), {}, (3, 4, 5, 2)),
    "GroupNorm_nobias": ((4, 4), dict(bias=False), (3, 4, 5)),
    "GroupNorm_noaffine": ((1, 4), dict(affine=False), (3, 4, 5)),
    "RMSNorm": (((5, 6),), {}, (4, 3, 5, 6)),
    "RMSNorm_eps": ((6,), dict(eps=1e-3, elementwise_affine=False), (4, 3, 5, 6)),
    "LocalResponseNorm": ((2,), dict(alpha=0.1, k=2.0), (4, 3, 5, 6)),
    "SyncBatchNorm": ((3,), {}, (4, 3)),
    "SyncBatchNorm_4d": ((3,), dict(momentum=None, bias=False), (4, 3, 5, 6)),
    "SyncBatchNorm_untracked": ((3,), dict(track_running_stats=False, affine=False), (4, 3, 5)),
    "CrossMapLRN2d": ((3,), dict(alpha=0.1, k=2.0), (4, 5, 3, 2)),
    "CrossMapLRN2d_even": ((4, 0.3, 0.5), {}, (2, 7, 3, 2)),
}


def _modules(name):
    args, kw, shape = MODULES[name]
    cls = name.split("_")[0]
    return getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw), shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODULES))
def test_norm_module(name, dtype):
    e, t, shape = _modules(name)
    assert repr(e) == repr(t)
    with torch.no_grad():        # non-trivial affine parameters and running statistics
        for i, p in enumerate(t.parameters()):
            p.copy_(torch.tensor(rand(tuple(p.shape), "float32", 10 + i)))
        for name_, b in t.named_buffers():
            if name_ == "running_var":
                b.copy_(torch.tensor(rand(tuple(b.shape), "float32", 20, 0.5, 2.0)))
            elif name_ == "running_mean":
                b.copy_(torch.tensor(rand(tuple(b.shape), "float32", 21)))
    for step in range(2):                          # two training steps, then eval
        check_module(e, t, [rand(shape, dtype, step)], dtype, train=True)
        _same_buffers(e, t)
    check_module(e, t, [rand(shape, dtype, 5)], dtype, train=False)
    _same_buffers(e, t)


def _same_buffers(e, t):
    eb, tb = dict(e.named_buffers()), dict(t.named_buffers())
    assert list(eb) == list(tb)
    for k in tb:
        assert_close(eb[k], tb[k])


@pytest.mark.parametrize("name", list(MODULES))
def test_norm_module_state_dict(name):
    e, t, _ = _modules(name)
    e_sd, t_sd = e.state_dict(), t.state_dict()
    assert list(e_sd) == list(t_sd)
    for k in t_sd:
        assert_close(e_sd[k], t_sd[k])           # default init: ones, zeros, 0 batches tracked
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_batch_norm_old_state_dict():
    """A checkpoint without num_batches_tracked (version 1) still loads strictly."""
    e = nn.BatchNorm2d(3)
    sd = to_ember_state(torch.nn.BatchNorm2d(3).state_dict())
    del sd["num_batches_tracked"]
    sd = type(e.state_dict())(sd)
    sd._metadata = {"": {"version": 1}}
    result = e.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys


def test_instance_norm_unexpected_running_stats():
    sd = to_ember_state(torch.nn.InstanceNorm2d(3, track_running_stats=True).state_dict())
    sd = type(nn.InstanceNorm2d(3).state_dict())(sd)
    sd._metadata = {"": {}}
    with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
        nn.InstanceNorm2d(3).load_state_dict(sd)


def test_batch_norm_momentum_none_cumulative():
    e, t = nn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    for seed in range(4):
        x = rand((5, 2), "float32", seed)
        e(ember.tensor(x))
        t(torch.tensor(x))
    _same_buffers(e, t)
    assert int(e.num_batches_tracked) == 4


# ---- errors ---------------------------------------------------------------------------------
def _x(*shape):
    return rand(shape)


ERRORS = {
    "ln_shape": lambda f, T: f.layer_norm(T(_x(2, 3, 8, 8)), (7,)),
    "ln_weight": lambda f, T: f.layer_norm(T(_x(2, 3, 8, 8)), (8, 8), T(_x(8))),
    "ln_bias": lambda f, T: f.layer_norm(T(_x(2, 3, 8, 8)), (8,), None, T(_x(7))),
    "gn_groups": lambda f, T: f.group_norm(T(_x(2, 3, 8, 8)), 2),
    "gn_weight": lambda f, T: f.group_norm(T(_x(2, 3, 8, 8)), 3, T(_x(2))),
    "gn_rank": lambda f, T: f.group_norm(T(_x(3)), 3),
    "bn_eval_no_stats": lambda f, T: f.batch_norm(T(_x(2, 3, 8, 8)), None, None),
    "bn_one_value": lambda f, T: f.batch_norm(T(_x(1, 3)), None, None, training=True),
    "bn_running_size": lambda f, T: f.batch_norm(T(_x(2, 3, 4)), T(np.zeros(4, np.float32)),
                                                 T(np.ones(4, np.float32)), training=True),
    "bn_weight_size": lambda f, T: f.batch_norm(T(_x(2, 3, 4)), T(np.zeros(3, np.float32)),
                                                T(np.ones(3, np.float32)), T(_x(4)),
                                                training=True),
    "in_spatial": lambda f, T: f.instance_norm(T(_x(2, 3, 1))),
    "rms_shape": lambda f, T: f.rms_norm(T(_x(2, 3, 8, 8)), (7,)),
    "lrn_rank": lambda f, T: f.local_response_norm(T(_x(2, 3)), 2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_norm_errors(name):
    e_msg, t_msg = raises_like(lambda: ERRORS[name](F, ember.tensor),
                               lambda: ERRORS[name](TF, torch.tensor))
    assert e_msg == t_msg


MODULE_ERRORS = {
    "bn2d_rank": (lambda n: n.BatchNorm2d(3), (2, 3, 4)),
    "bn1d_rank": (lambda n: n.BatchNorm1d(3), (2, 3, 4, 4)),
    "bn3d_rank": (lambda n: n.BatchNorm3d(3), (2, 3, 4, 4)),
    "bn_channels": (lambda n: n.BatchNorm2d(4), (2, 3, 8, 8)),
    "in1d_rank": (lambda n: n.InstanceNorm1d(3), (2, 3, 4, 4)),
    "in_affine_channels": (lambda n: n.InstanceNorm2d(4, affine=True), (2, 3, 8, 8)),
    "ln_shape": (lambda n: n.LayerNorm(4), (2, 3, 8, 8)),
    "gn_channels": (lambda n: n.GroupNorm(3, 3), (2, 4, 5)),
    "gn_ctor": (lambda n: n.GroupNorm(2, 3), None),
    "sync_rank": (lambda n: n.SyncBatchNorm(3), (3,)),
    "sync_no_channels": (lambda n: n.SyncBatchNorm(0), (2, 0, 4)),
    "sync_channels": (lambda n: n.SyncBatchNorm(4), (2, 3, 8)),
    "lrn2d_rank": (lambda n: n.CrossMapLRN2d(3), (2, 3, 4)),
}


@pytest.mark.parametrize("name", list(MODULE_ERRORS))
def test_norm_module_errors(name):
    make, shape = MODULE_ERRORS[name]
    if shape is None:
        e_msg, t_msg = raises_like(lambda: make(nn), lambda: make(torch.nn))
    else:
        e_msg, t_msg = raises_like(lambda: make(nn)(ember.tensor(_x(*shape))),
                                   lambda: make(torch.nn)(torch.tensor(_x(*shape))))
    assert e_msg == t_msg


def test_cross_map_lrn2d_grad_fn_and_gradcheck():
    """torch's hand-written backward is not the forward's exact gradient: ember keeps torch's."""
    x = rand((2, 5, 3, 2), "float64")
    e, t = nn.CrossMapLRN2d(3, 0.5), torch.nn.CrossMapLRN2d(3, 0.5)
    check_module(e, t, [x], "float64")
    ye = e(ember.tensor(x, requires_grad=True))
    assert ye.grad_fn.name() == type(t(torch.tensor(x, requires_grad=True)).grad_fn).__name__


def _bn_model(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(3, 4, 1), lib.nn.BatchNorm2d(4, affine=False),
                             lib.nn.Sequential(lib.nn.Flatten(), lib.nn.BatchNorm1d(
                                 16, momentum=None)), lib.nn.BatchNorm1d(16, bias=False))


def test_convert_sync_batchnorm_keeps_parameters_and_state():
    t = _bn_model(torch)
    e = _bn_model(ember)
    copy_weights(e, t)
    for lib, m in ((torch, t), (ember, e)):
        m(lib.tensor(rand((5, 3, 2, 2))))                 # running stats and counters move
        m.eval()
    params = [id(p) for p in e.parameters()]
    te, ee = (torch.nn.SyncBatchNorm.convert_sync_batchnorm(t),
              nn.SyncBatchNorm.convert_sync_batchnorm(e, process_group="group"))
    assert repr(ee) == repr(te)
    assert [id(p) for p in ee.parameters()] == params and not ee.training
    assert ee[1].process_group == "group" and type(ee[0]) is nn.Conv2d
    e_sd, t_sd = ee.state_dict(), te.state_dict()
    assert list(e_sd) == list(t_sd)
    for k in t_sd:
        assert_close(e_sd[k], t_sd[k])
    check_module(ee, te, [rand((5, 3, 2, 2), seed=7)], train=False)


def test_instance_norm_channel_warning():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm2d(4)(ember.tensor(_x(2, 3, 4, 4)))


@pytest.mark.parametrize("shape,groups", [((1, 2), 2), ((1, 4, 1), 4), ((1, 3), 3), ((1, 4), 3),
                                          ((2, 2), 2), ((1, 2), 0), ((2,), 1)])
def test_group_norm_refuses_groups_of_one_value_as_torch(shape, groups):
    """torch's _verify_batch_size: a group of one value (N * C / groups * spatial == 1) is a
    ValueError, before the other checks (groups=0 divides by zero)."""
    out = []
    for lib in (torch, ember):
        try:
            out.append(tuple(lib.nn.functional.group_norm(lib.ones(shape), groups).shape))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    assert out[1] == out[0]
