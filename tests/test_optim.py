"""ember.optim against torch.optim: the same parameters and gradient sequences give the same
parameters and state (float64 tight, float32 loose), state dicts cross between the libraries,
and the base class behaves as torch's (groups, zero_grad, hooks, errors)."""
import copy
import pickle

import numpy as np
import pytest
import torch

import ember
import ember.optim
from oracle import host

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]    # () a 0-d parameter
MATRIX_SHAPES = [(3, 4), (5, 2), (4, 4)]        # Muon takes 2-D parameters only
STEPS = 20

# (optimizer, options): every option of every optimizer appears at least once
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),                 # lerp's weight >= 0.5 branch
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True, eps=1e-3)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-3, alpha=0.5, t0=5, weight_decay=0.1, maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=1e-3, t0=2, weight_decay=0.1, foreach=True)),  # float32 eta
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-4, 1e-2), d=1.5, weight_decay=0.1,
                       maximize=True)),
    ("Muon", dict()),
    ("Muon", dict(lr=0.02, weight_decay=0.01, momentum=0.9, nesterov=False, ns_steps=3,
                  ns_coefficients=(3.0, -4.0, 2.0), eps=1e-5, adjust_lr_fn="match_rms_adamw")),
    ("Muon", dict(lr=0.02, adjust_lr_fn="original")),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CONFIGS]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _problem(dtype, steps=STEPS, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _params(lib, init):
    return [lib.tensor(a.copy(), requires_grad=True) for a in init]


def _set_grads(lib, params, grads, k):
    """Step k's gradients; the last parameter has none on every third step (it is skipped)."""
    for i, (p, g) in enumerate(zip(params, grads)):
        p.grad = None if (i == len(params) - 1 and k % 3 == 0) else lib.tensor(g.copy())


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ember.Tensor):
        return host(x.detach())
    return np.asarray(x)


def _assert_state_close(es, ts, tol):
    """ember state (dict of per-param dicts) equals torch's: same keys, dtypes, values."""
    assert list(es) == list(ts)
    for k in ts:
        assert list(es[k]) == list(ts[k]), (es[k].keys(), ts[k].keys())
        for key, tv in ts[k].items():
            ev = es[k][key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(ev, ember.Tensor), key
                assert str(ev.dtype) == str(tv.dtype), (key, ev.dtype, tv.dtype)
                np.testing.assert_allclose(_np(ev), _np(tv), **tol, err_msg=key)
            else:
                assert ev == tv, key


def _shapes(name):
    return MATRIX_SHAPES if name == "Muon" else SHAPES


def _run_both(name, kw, dtype, steps=STEPS):
    init, grads = _problem(dtype, steps, shapes=_shapes(name))
    tp, ep = _params(torch, init), _params(ember, init)
    topt = getattr(torch.optim, name)(tp, **kw)
    eopt = getattr(ember.optim, name)(ep, **kw)
    for k in range(steps):
        _set_grads(torch, tp, grads[k], k)
        _set_grads(ember, ep, grads[k], k)
        topt.step()
        eopt.step()
    return tp, ep, topt, eopt


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_torch(name, kw, dtype):
    tp, ep, topt, eopt = _run_both(name, kw, dtype)
    for t, e in zip(tp, ep):
        assert e.dtype == getattr(ember, str(t.dtype).split(".")[1])
        np.testing.assert_allclose(_np(e), _np(t), **TOL[dtype])
    _assert_state_close(eopt.state_dict()["state"], topt.state_dict()["state"], TOL[dtype])
    assert eopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.1)), ("NAdam", dict(lr=0.01)),
                                     ("RAdam", dict(lr=0.01)), ("Adadelta", dict()),
                                     ("Adamax", dict(lr=0.01))])
def test_complex_params_match_torch(name, kw):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))]
    grads = [rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2)) for _ in range(10)]
    tp, ep = _params(torch, init), _params(ember, init)
    topt = getattr(torch.optim, name)(tp, **kw)
    eopt = getattr(ember.optim, name)(ep, **kw)
    for g in grads:
        tp[0].grad, ep[0].grad = torch.tensor(g), ember.tensor(g)
        topt.step()
        eopt.step()
    np.testing.assert_allclose(_np(ep[0]), _np(tp[0]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_torch_on_device(name, kw, device):
    """float32 parameters on each device (CuPy on cuda, with its fused Adam kernel) against
    torch on the CPU."""
    init, grads = _problem(np.float32, 10, shapes=_shapes(name))
    tp = _params(torch, init)
    ep = [ember.tensor(a.copy(), device=device, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tp, **kw)
    eopt = getattr(ember.optim, name)(ep, **kw)
    for k in range(10):
        _set_grads(torch, tp, grads[k], k)
        for i, (p, g) in enumerate(zip(ep, grads[k])):
            p.grad = None if (i == len(ep) - 1 and k % 3 == 0) else \
                ember.tensor(g.copy(), device=device)
        topt.step()
        eopt.step()
    for t, e in zip(tp, ep):
        assert e.device.type == device
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-4, atol=1e-5)
    for e, t in zip(eopt.state.values(), topt.state.values()):
        for key, tv in t.items():
            if isinstance(tv, torch.Tensor) and tv.dim():
                assert e[key].device.type == device
                np.testing.assert_allclose(_np(e[key]), _np(tv), rtol=1e-4, atol=1e-5)


def test_fused_adam_kernel_contract():
    """A backend kernel registered as kernels["adam"] (here a NumPy transcription of the CUDA
    one, on the mock device) gives torch's Adam/AdamW; amsgrad keeps the reference path."""
    from ember.backends import MOCK

    def adam_kernel(g, step_size, b1, b2, eps_hat, wd, p, m, v):
        gg = g + wd * p
        m[...] = b1 * m + (1 - b1) * gg
        v[...] = b2 * v + (1 - b2) * gg * gg
        p[...] = p - step_size * m / (np.sqrt(v) + eps_hat)
    calls = []
    MOCK.kernels["adam"] = lambda *a: (calls.append(1), adam_kernel(*a))
    try:
        for name, kw in [("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
                         ("AdamW", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True))]:
            init, grads = _problem(np.float64, 10)
            tp = _params(torch, init)
            ep = [ember.tensor(a.copy(), device="mock", requires_grad=True) for a in init]
            topt = getattr(torch.optim, name)(tp, **kw)
            eopt = getattr(ember.optim, name)(ep, **kw)
            for k in range(10):
                for t, e, g in zip(tp, ep, grads[k]):
                    t.grad, e.grad = torch.tensor(g), ember.tensor(g.copy(), device="mock")
                topt.step()
                eopt.step()
            for t, e in zip(tp, ep):
                np.testing.assert_allclose(_np(e), _np(t), rtol=1e-9, atol=1e-12)
        assert len(calls) == 2 * 10 * len(SHAPES)
    finally:
        del MOCK.kernels["adam"]


def test_default_dtype_float64_makes_float64_step():
    ember.set_default_dtype(ember.float64)
    try:
        p = ember.zeros(2, requires_grad=True)
        opt = ember.optim.Adam([p])
        p.grad = ember.ones(2)
        opt.step()
        assert opt.state[p]["step"].dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


# ---- LBFGS -------------------------------------------------------------------------------------
def _rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _quadratic(x, lib):
    a = lib.tensor(np.diag([1.0, 2.0, 3.0, 4.0, 5.0]) + 0.1)
    return 0.5 * (x @ (a @ x)) - x.sum()


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("objective", ["rosenbrock", "quadratic"])
def test_lbfgs_matches_torch(line_search_fn, objective):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])
    out = []
    for lib in (torch, ember):
        x = lib.tensor(x0.copy(), requires_grad=True)
        opt = lib.optim.LBFGS([x], lr=1 if line_search_fn else 0.5, max_iter=8, history_size=4,
                              line_search_fn=line_search_fn)

        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x) if objective == "rosenbrock" else _quadratic(x, lib)
            loss.backward()
            return loss
        losses = [float(opt.step(closure).detach()) for _ in range(3)]
        st = opt.state[x]
        out.append((_np(x).copy(), losses, st["func_evals"], st["n_iter"], len(st["old_dirs"])))
    (tx, tl, *tcounts), (ex, el, *ecounts) = out
    np.testing.assert_allclose(ex, tx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(el, tl, rtol=1e-8)
    assert ecounts == tcounts


def test_lbfgs_rejects_groups_and_unknown_line_search():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        ember.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = ember.optim.LBFGS([a], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((a - 1) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


# ---- state dicts across libraries -------------------------------------------------------------
def _convert(obj, lib):
    """Deep-copy a state dict, turning tensors of the other library into `lib` tensors."""
    if isinstance(obj, (torch.Tensor, ember.Tensor)):
        return lib.tensor(_np(obj).copy())
    if isinstance(obj, dict):
        return {k: _convert(v, lib) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_convert(v, lib) for v in obj)
    return copy.deepcopy(obj)


@pytest.mark.parametrize("direction", ["torch_to_ember", "ember_to_torch"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_crosses_libraries(name, kw, direction):
    init, grads = _problem(np.float64, 10, shapes=_shapes(name))
    tp, ep = _params(torch, init), _params(ember, init)
    topt = getattr(torch.optim, name)(tp, **kw)
    eopt = getattr(ember.optim, name)(ep, **kw)
    src_lib, src_p, src_opt = (torch, tp, topt) if direction == "torch_to_ember" else \
        (ember, ep, eopt)
    for k in range(5):                       # only the source library trains first
        _set_grads(src_lib, src_p, grads[k], k)
        src_opt.step()
    src_values = [_np(p).copy() for p in src_p]
    for ps, lib in ((tp, torch), (ep, ember)):
        for p, v in zip(ps, src_values):
            with lib.no_grad():
                p.data = lib.tensor(v.copy())
    # the destination loads the other library's state dict, the source its own (loading casts
    # state such as NAdam's mu_product to the param dtype, in both libraries)
    if direction == "torch_to_ember":
        eopt.load_state_dict(_convert(topt.state_dict(), ember))
        topt.load_state_dict(_convert(topt.state_dict(), torch))
    else:
        topt.load_state_dict(_convert(eopt.state_dict(), torch))
        eopt.load_state_dict(_convert(eopt.state_dict(), ember))
    for k in range(5, 10):
        _set_grads(torch, tp, grads[k], k)
        _set_grads(ember, ep, grads[k], k)
        topt.step()
        eopt.step()
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(_np(e), _np(t), **TOL[np.float64])
    _assert_state_close(eopt.state_dict()["state"], topt.state_dict()["state"],
                        TOL[np.float64])


def test_torch_saved_state_dict_loads_and_lr_group_survives():
    tp = _params(torch, [np.ones(3, np.float32)])
    topt = torch.optim.SGD([{"params": tp, "lr": 0.5}], lr=0.1, momentum=0.9)
    tp[0].grad = torch.ones(3)
    topt.step()
    ep = _params(ember, [_np(tp[0])])
    eopt = ember.optim.SGD(ep, lr=0.1, momentum=0.9)
    eopt.load_state_dict(_convert(topt.state_dict(), ember))
    assert eopt.param_groups[0]["lr"] == 0.5 and eopt.param_groups[0]["params"] == ep
    buf = eopt.state[ep[0]]["momentum_buffer"]
    assert isinstance(buf, ember.Tensor) and buf.dtype == ember.float32
    np.testing.assert_array_equal(_np(buf), np.ones(3))


def test_load_state_dict_casts_state_to_param_dtype_but_not_step():
    p = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    opt = ember.optim.Adam([p])
    sd = {"state": {0: {"step": ember.tensor(3.0), "exp_avg": ember.ones(3),
                        "exp_avg_sq": ember.ones(3)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype == ember.float64 and st["step"].dtype == ember.float32


def test_load_state_dict_errors_match_torch():
    for lib in (torch, ember):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([a, b], lr=0.1)
        other = lib.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
        with pytest.raises(ValueError, match="different number of parameter groups"):
            opt.load_state_dict(other.state_dict())
        small = lib.optim.SGD([a], lr=0.1)
        with pytest.raises(ValueError, match="doesn't match the size"):
            opt.load_state_dict(small.state_dict())


def test_state_dict_layout_equals_torch_with_groups_and_names():
    def build(lib):
        w, b, c = (lib.ones(2, requires_grad=True) for _ in range(3))
        opt = lib.optim.Adam([{"params": [("w", w), ("b", b)], "lr": 0.1},
                              {"params": [("c", c)], "weight_decay": 0.5}])
        for p in (w, c):
            p.grad = lib.ones(2)
        opt.step()
        return opt.state_dict()
    ts, es = build(torch), build(ember)
    assert es["param_groups"] == ts["param_groups"]
    assert sorted(es["state"]) == sorted(ts["state"]) == [0, 2]
    assert list(es["state"][0]) == list(ts["state"][0])


def test_pickle_and_deepcopy_of_optimizer():
    p = ember.ones(3, requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.ones(3)
    opt.step()
    opt2 = copy.deepcopy(opt)
    q = opt2.param_groups[0]["params"][0]
    np.testing.assert_array_equal(_np(opt2.state[q]["exp_avg"]), _np(opt.state[p]["exp_avg"]))
    opt3 = pickle.loads(pickle.dumps(opt))
    assert opt3.param_groups[0]["lr"] == 0.1 and len(opt3.state) == 1


# ---- base-class behaviour ---------------------------------------------------------------------
def test_param_groups_and_add_param_group():
    a, b, c = (ember.ones(2, requires_grad=True) for _ in range(3))
    opt = ember.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {ember.ones(1, requires_grad=True)}})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])


def test_constructor_errors_match_torch():
    cases = [("SGD", dict(lr=-1.0), ValueError), ("SGD", dict(nesterov=True), ValueError),
             ("SGD", dict(momentum=-0.1), ValueError), ("Adam", dict(betas=(1.0, 0.9)), ValueError),
             ("Adam", dict(eps=-1.0), ValueError), ("Adam", dict(betas=(0, 0.9)), ValueError),
             ("AdamW", dict(weight_decay=-1.0), ValueError),
             ("NAdam", dict(momentum_decay=-1.0), ValueError),
             ("Adadelta", dict(rho=1.5), ValueError), ("RMSprop", dict(alpha=-1.0), ValueError),
             ("Adagrad", dict(lr_decay=-1.0), ValueError),
             ("Adagrad", dict(initial_accumulator_value=-1.0), ValueError),
             ("Adam", dict(fused=True, foreach=True), RuntimeError),
             ("Rprop", dict(etas=(1.2, 0.5)), ValueError), ("Rprop", dict(lr=-1.0), ValueError),
             ("ASGD", dict(weight_decay=-1.0), ValueError),
             ("Adafactor", dict(lr=-1.0), ValueError),
             ("Adafactor", dict(beta2_decay=0.5), ValueError),
             ("Adafactor", dict(eps=(-1.0, 1e-3)), ValueError),
             ("Adafactor", dict(eps=(None, -1.0)), ValueError),
             ("Adafactor", dict(d=0.5), ValueError),
             ("Adafactor", dict(weight_decay=-1.0), ValueError),
             ("Muon", dict(), ValueError),                      # a 1-D parameter
             ("Muon", dict(lr=-1.0), ValueError), ("Muon", dict(momentum=-1.0), ValueError),
             ("Muon", dict(weight_decay=-1.0), ValueError),
             ("Muon", dict(adjust_lr_fn="spectral"), ValueError)]
    # the checks Adam, Adamax, NAdam and RAdam share, each argument and their order
    for name in ("Adam", "Adamax", "NAdam", "RAdam"):
        cases += [(name, kw, ValueError) for kw in (
            dict(lr=-1.0), dict(eps=-1.0), dict(betas=(-0.1, 0.9)), dict(betas=(0.9, 1.0)),
            dict(weight_decay=-1.0), dict(lr=-1.0, eps=-1.0, weight_decay=-1.0),
            dict(eps=-1.0, betas=(2.0, 2.0)))]
    for name, kw, exc in cases:
        msgs = []
        for lib in (torch, ember):
            with pytest.raises(exc) as info:
                getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)], **kw)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1], (name, kw)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="empty parameter list"):
            lib.optim.SGD([], lr=0.1)
        with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got "
                                            "torch.FloatTensor"):
            lib.optim.SGD(lib.zeros(2, requires_grad=True), lr=0.1)
        with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
            lib.optim.SGD([1.0], lr=0.1)
        with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
            lib.optim.SGD([lib.zeros(2, requires_grad=True) * 2], lr=0.1)


@pytest.mark.parametrize("name,kw,shape,dtype", [
    ("Adafactor", {}, (2, 2), "complex128"), ("Muon", {}, (2, 2), "complex128"),
    ("Muon", dict(ns_steps=100), (2, 2), "float64"),
    ("Muon", dict(ns_coefficients=(1.0, 2.0)), (2, 2), "float64")])
def test_step_errors_match_torch(name, kw, shape, dtype):
    msgs = []
    for lib in (torch, ember):
        p = lib.ones(shape, dtype=getattr(lib, dtype), requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kw)
        p.grad = lib.ones(shape, dtype=getattr(lib, dtype))
        with pytest.raises((RuntimeError, ValueError)) as info:
            opt.step()
        msgs.append((info.type, str(info.value)))
    assert msgs[0] == msgs[1]


def test_repr_matches_torch():
    reprs = []
    for lib in (torch, ember):
        opt = lib.optim.AdamW([lib.zeros(2, requires_grad=True)], lr=0.1)
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5})
        reprs.append(repr(opt))
    assert reprs[0] == reprs[1]


def test_zero_grad_none_and_zeros():
    p = ember.ones(3, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and not p.grad.requires_grad
    np.testing.assert_array_equal(_np(p.grad), np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_grad_none_params_are_skipped_and_get_no_state():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = ember.optim.Adam([a, b], lr=0.1)
    a.grad = ember.ones(2)
    opt.step()
    assert b not in opt.state and float(opt.state[a]["step"]) == 1.0
    np.testing.assert_array_equal(_np(b), np.ones(2))


def test_step_updates_in_place_and_bumps_version():
    p = ember.ones(3, requires_grad=True)
    arr, v0 = p.arr, p._version
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.ones(3)
    opt.step()
    assert p.arr is arr and p._version > v0


def test_closure_runs_with_grad_and_returns_loss():
    p = ember.tensor([2.0], requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        assert ember.is_grad_enabled()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 4.0 and float(p) == 1.0


def test_step_hooks_and_global_hooks_order():
    from ember.optim.optimizer import (register_optimizer_step_post_hook,
                                       register_optimizer_step_pre_hook)
    calls = []
    p = ember.ones(1, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1)
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    g1 = register_optimizer_step_pre_hook(lambda o, a, k: calls.append("gpre"))
    g2 = register_optimizer_step_post_hook(lambda o, a, k: calls.append("gpost"))
    try:
        p.grad = ember.ones(1)
        opt.step()
        assert calls == ["gpre", "pre", "post", "gpost"]
    finally:
        for h in (h1, h2, g1, g2):
            h.remove()
    calls.clear()
    opt.step()
    assert calls == []


def test_state_dict_hooks():
    p = ember.ones(1, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1)
    seen = []
    opt.register_state_dict_pre_hook(lambda o: seen.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    assert seen == ["pre"] and sd["extra"] == 1
    opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items()
                                                         if k != "extra"})
    opt.register_load_state_dict_post_hook(lambda o: seen.append("loaded"))
    opt.load_state_dict(sd)
    assert seen[-1] == "loaded"


def test_tensor_lr_is_accepted():
    rows = []
    for lib in (torch, ember):
        p = lib.ones(3, requires_grad=True)
        opt = lib.optim.Adam([p], lr=lib.tensor(0.1))
        p.grad = lib.ones(3)
        opt.step()
        rows.append(_np(p).copy())
    np.testing.assert_allclose(rows[1], rows[0], rtol=1e-6)


def test_optimizer_on_device(device):
    p = ember.ones(3, device=device, requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1, weight_decay=0.1)
    p.grad = ember.ones(3, device=device)
    opt.step()
    st = opt.state[p]
    assert st["exp_avg"].device == p.device and st["step"].device.type == "cpu"
    np.testing.assert_allclose(host(p), np.full(3, 0.9), rtol=1e-6)


def test_training_a_model_reduces_loss():
    nn = pytest.importorskip("ember.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("ember.nn.Linear not available yet")
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = ember.optim.AdamW(model.parameters(), lr=0.05)
    x = ember.randn(32, 4)
    y = x.sum(1, keepdim=True)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0]


def test_lbfgs_on_device(device):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])
    out = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        x = lib.tensor(x0.copy(), device=dev, requires_grad=True)
        opt = lib.optim.LBFGS([x], max_iter=10, history_size=4, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss
        opt.step(closure)
        out.append(x.detach().cpu().numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-8)


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS[::2] if c[0] != "Muon"],
                         ids=[i for i in IDS[::2] if not i.startswith("Muon")])
def test_parallel_chunks_give_identical_results(name, kw, monkeypatch):
    """Large arrays are updated in row slices on a thread pool: forced here on small arrays
    (with a transposed, non-contiguous gradient) the result is bit-identical."""
    import ember._parallel as base
    monkeypatch.setattr(base, "num_threads", lambda: 3)
    init, grads = _problem(np.float64, 6, shapes=[(9, 7), (13,)])
    runs = []
    for min_parallel in (1 << 40, 1):
        monkeypatch.setattr(base, "MIN_PARALLEL", min_parallel)
        monkeypatch.setattr(base, "CHUNK", 10)
        runs.append(_steps_with_a_transposed_grad(name, kw, init, grads))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def _steps_with_a_transposed_grad(name, kw, init, grads):
    """The parameters after an ember optimizer's steps, the first one's gradients given in
    Fortran order (not C-contiguous)."""
    ep = _params(ember, init)
    opt = getattr(ember.optim, name)(ep, **kw)
    for g in grads:
        ep[0].grad = ember.from_numpy(np.asfortranarray(g[0]))
        for p, gi in zip(ep[1:], g[1:]):
            p.grad = ember.tensor(gi)
        opt.step()
    return [_np(p).copy() for p in ep]


def test_parallel_updates_follow_set_num_threads():
    """torch.set_num_threads(1) keeps the optimizers' slices on the calling thread."""
    import ember._parallel as par
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert par.num_threads() == 1
        ember.set_num_threads(2)
        assert par.num_threads() == min(2, par._cores())
    finally:
        ember.set_num_threads(old)


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if c[0] in ("SGD", "Adam", "AdamW",
                                                                    "RMSprop", "Adagrad")],
                         ids=[i for i in IDS if i.split("-")[0] in ("SGD", "Adam", "AdamW",
                                                                    "RMSprop", "Adagrad")])
def test_serial_chunks_give_identical_results(name, kw, monkeypatch):
    """On one thread, large arrays are updated a cache-sized slice at a time: forced here on
    small arrays (C-contiguous ones in flat ranges, a transposed gradient in row ranges, a
    (1, n) one that has a single row) the result is bit-identical to the update in one call."""
    import ember._parallel as base
    monkeypatch.setattr(base, "num_threads", lambda: 1)
    shapes = [(9, 7), (13,), (1, 11)]
    init, grads = _problem(np.float64, 6, shapes=shapes)
    runs = []
    for min_split in (1 << 40, 1):
        monkeypatch.setattr(base, "MIN_SPLIT", min_split)
        monkeypatch.setattr(base, "SERIAL_CHUNK", 4)
        runs.append(_steps_with_a_transposed_grad(name, kw, init, grads))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_slices_cover_the_arrays_once():
    """_slices cuts arrays alike into pieces (flat ranges on 64-element steps where all are
    C-contiguous, else row ranges), a multiple of `threads` of them, none under
    chunk / (threads + 1) elements, together covering every element once."""
    import ember._parallel as base
    cases = [((1000,), "C", 64, 1), ((1000,), "C", 333, 1), ((3, 1000), "C", 100, 1),
             ((1000, 3), "F", 100, 1), ((70, 50), "F", 333, 1), ((5, 7, 11), "F", 70, 1),
             ((802816,), "C", 1 << 18, 2), ((1024, 784), "F", 1 << 18, 2),
             ((1100, 600), "F", 1 << 18, 4), ((3 << 18,), "C", 1 << 18, 4)]
    for shape, order, chunk, threads in cases:
        a = np.zeros(shape, order=order)
        b = np.zeros(shape)
        pieces = base._slices((a, None, b), chunk, threads)
        assert len(pieces) > 1 and len(pieces) % threads == 0, (shape, len(pieces))
        for pa, none, pb in pieces:
            assert none is None and pa.shape == pb.shape
            assert pa.size >= chunk / (threads + 1), (shape, pa.size)
            pa += 1
            pb += 1
        assert (a == 1).all() and (b == 1).all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1)),
                                     ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(lr=0.01, momentum=0.5))])
def test_low_precision_chunks_do_not_depend_on_threads(name, kw, dtype, monkeypatch):
    """float16/bfloat16 `add(alpha=)` rounds the scalar tail of a contiguous operand under
    2**15 elements as torch's scalar loop does (ops.elementwise._scalar_tails): a large
    parameter's last slice used to be such an operand when cut for threads (2**19 + 7
    elements: a 7-element slice), so its update depended on the thread count. Every slice is
    now at least 2**15 elements long: the same numbers on 1 and 2 threads as in one call."""
    import ember._parallel as base
    n = (1 << 19) + 7
    rng = np.random.default_rng(0)
    dt = getattr(ember, dtype)
    init = ember.tensor(rng.standard_normal(n)).to(dt)
    grads = [ember.tensor(rng.standard_normal(n)).to(dt) for _ in range(2)]
    runs = []
    for threads, min_split in ((1, 1 << 40), (1, base.MIN_SPLIT), (2, base.MIN_SPLIT)):
        monkeypatch.setattr(base, "num_threads", lambda t=threads: t)
        monkeypatch.setattr(base, "MIN_SPLIT", min_split)
        p = init.clone().requires_grad_()
        opt = getattr(ember.optim, name)([p], **kw)
        for g in grads:
            p.grad = g.clone()
            opt.step()
        runs.append(p.detach().to(ember.float32).numpy())
    np.testing.assert_array_equal(runs[1], runs[0])
    np.testing.assert_array_equal(runs[2], runs[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, eps=1e-4))])
def test_chunked_updates_match_torch(name, kw, dtype):
    """Parameters just under, at and over the sizes that are cut into slices (on one thread
    and on threads), one with a transposed gradient, step as torch's do."""
    import ember._parallel as base
    shapes = [(base.MIN_SPLIT - 1,), (base.MIN_SPLIT + 65,), (3, base.MIN_SPLIT // 3 + 5),
              (base.MIN_PARALLEL + 7,)]
    init, grads = _problem(dtype, 3, shapes=shapes)
    tp, ep = _params(torch, init), _params(ember, init)
    topt = getattr(torch.optim, name)(tp, **kw)
    eopt = getattr(ember.optim, name)(ep, **kw)
    for k, gs in enumerate(grads):
        for i, (t, e, g) in enumerate(zip(tp, ep, gs)):
            g = np.asfortranarray(g) if i == 2 and k == 1 else g
            t.grad, e.grad = torch.from_numpy(g.copy(order="K")), ember.from_numpy(
                g.copy(order="K"))
        topt.step()
        eopt.step()
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(_np(e), _np(t), **TOL[dtype])


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "SGD", "Adagrad", "NAdam",
                                  "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop"])
def test_complex_parameter_with_a_transposed_gradient(name, foreach):
    """Complex parameters are stepped as real pairs (torch's view_as_real), whatever the
    gradient's layout: a transposed gradient raised NumPy's ValueError (a dtype view needs a
    contiguous last axis)."""
    def run(L):
        g = L.Generator().manual_seed(0)
        p = L.nn.Parameter(L.randn(3, 4, dtype=L.complex64, generator=g))
        kw = {} if name == "Adadelta" else {"lr": 0.1}
        opt = getattr(L.optim, name)([p], foreach=foreach, **kw)
        for _ in range(2):
            p.grad = L.randn(4, 3, dtype=L.complex64, generator=g).t()
            opt.step()
        return L.view_as_real(p.detach()).numpy().copy()
    # (float32 updates round twice where torch's fused multiply-adds round once: an ulp)
    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("foreach", [False, True])
def test_nadam_foreach_denominator_is_torchs(foreach):
    """torch's foreach NAdam divides sqrt(v) by sqrt(1 - beta2^t), its single-tensor step takes
    sqrt(v / (1 - beta2^t)): the two differ in the last bit (ember used the second for both)."""
    def run(L):
        g = L.Generator().manual_seed(0)
        p = L.nn.Parameter(L.view_as_real(L.randn(3, 4, dtype=L.complex64, generator=g))
                           .reshape(3, 8)[:, :4].contiguous())
        opt = L.optim.NAdam([p], lr=0.1, foreach=foreach)
        for _ in range(2):
            p.grad = L.full((3, 4), 0.5)
            opt.step()
        return p.detach().numpy().copy()
    np.testing.assert_array_equal(run(ember), run(torch))


@pytest.mark.parametrize("nesterov", [False, True])
def test_muon_bfloat16_buffers_like_torch(nesterov):
    """bfloat16 parameters: without nesterov torch's Newton-Schulz input is the momentum buffer
    itself (grad.bfloat16() of a bfloat16 buffer), so its in-place normalisation rewrites the
    buffer. The buffers match torch's bits; the parameters to a bfloat16 ulp (the iteration's
    products, which ember rounds as torch's CPU kernels do, differ in a few elements)."""
    rng = np.random.default_rng(7)
    init = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5, 2))]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in init] for _ in range(3)]

    def run(lib):
        params = [lib.tensor(a, dtype=lib.bfloat16, requires_grad=True) for a in init]
        opt = lib.optim.Muon(params, lr=0.05, momentum=0.9, nesterov=nesterov)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = lib.tensor(g, dtype=lib.bfloat16)
            opt.step()
        return ([p.detach().float().numpy() for p in params],
                [opt.state[p]["momentum_buffer"].float().numpy() for p in params])
    (e_params, e_bufs), (t_params, t_bufs) = run(ember), run(torch)
    for e, t in zip(e_bufs, t_bufs):
        np.testing.assert_array_equal(e, t)
    for e, t in zip(e_params, t_params):
        np.testing.assert_allclose(e, t, rtol=2 ** -6, atol=0)


@pytest.mark.parametrize("name, kw", [
    ("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, foreach=True)), ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_parameters_stepped_together(monkeypatch, name, kw, dtype):
    # the small parameters of a plain group are stepped in one kernel (_step_small_together):
    # the same bits, versions and states as one update per parameter, with step counts that
    # differ (a parameter without a gradient skips steps) and sizes on both sides of the limit
    from ember.optim import optimizer
    shapes = [(3, 4), (5,), (), (2, 3, 2), (70, 70), (8,), (4096,), (4097,)]
    init, grads = _problem(dtype, 6, shapes=shapes)

    def run(limit):
        monkeypatch.setattr(optimizer, "BATCH_MAX", limit)
        ps = [ember.tensor(a.copy(), requires_grad=True) for a in init]
        opt = getattr(ember.optim, name)(ps, **kw)
        for k in range(6):
            for i, (p, g) in enumerate(zip(ps, grads[k])):
                p.grad = None if (k + i) % 4 == 0 else ember.tensor(g.copy())
            opt.step()
        return [(p.detach().numpy().tobytes(), p._version) +
                tuple((key, s.numpy().tobytes(), s._version) for key, s in
                      sorted(opt.state[p].items())) for p in ps]
    assert run(optimizer.BATCH_MAX) == run(0)
