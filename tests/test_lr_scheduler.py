"""ember.optim.lr_scheduler against torch's: the same lr (and momentum) sequence over many steps
for every scheduler, chainable and closed-form paths, state_dict round trips across libraries,
and SWA utilities."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.optim
from ember.optim import lr_scheduler as elrs

STEPS = 60


def _optimizer(lib, kind="SGD"):
    a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _lambda(e):
    return 0.95 ** e


def _mult(e):
    return 0.9 if e % 2 else 1.0


SCHEDULERS = {
    "LambdaLR": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, _lambda),
    "LambdaLR-list": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, [_lambda, _mult]),
    "MultiplicativeLR": lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(o, _mult),
    "StepLR": lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.optim.lr_scheduler.MultiStepLR(o, [5, 12, 12, 30], 0.3),
    "ConstantLR": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, factor=0.25,
                                                                  total_iters=9),
    "LinearLR": lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, 0.2, 0.9, total_iters=17),
    "ExponentialLR": lambda lib, o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, total_iters=25,
                                                                      power=2.0),
    "CosineAnnealingLR": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=11, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda lib, o:
        lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
    "CyclicLR-triangular": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=7),
    "CyclicLR-triangular2": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="triangular2", base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-exp_range": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.97, cycle_momentum=False),
    "OneCycleLR-cos": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[0.5, 0.3], total_steps=STEPS + 1),
    "OneCycleLR-linear-3phase": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.5, epochs=6, steps_per_epoch=11, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "SequentialLR": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
            lib.optim.lr_scheduler.ExponentialLR(o, 0.9),
            lib.optim.lr_scheduler.StepLR(o, 4, 0.5)], milestones=[6, 25]),
    "ChainedScheduler": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=8),
         lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)]),
}


def _lrs_and_momenta(opt):
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _sequence(lib, name, kind, steps=STEPS):
    opt = _optimizer(lib, kind)
    sched = SCHEDULERS[name](lib, opt)
    seq = [(sched.get_last_lr(), _lrs_and_momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append((sched.get_last_lr(), _lrs_and_momenta(opt)))
    return seq, sched


def _assert_seq_equal(es, ts):
    assert len(es) == len(ts)
    for i, (e, t) in enumerate(zip(es, ts)):
        np.testing.assert_allclose(np.array(e[0], float), np.array(t[0], float), rtol=1e-14,
                                   atol=0, err_msg=f"lr at step {i}")
        assert len(e[1]) == len(t[1])
        for eg, tg in zip(e[1], t[1]):
            np.testing.assert_allclose(eg[0], tg[0], rtol=1e-14, atol=0)
            assert (eg[1] is None) == (tg[1] is None)
            if tg[1] is not None:
                np.testing.assert_allclose(eg[1], tg[1], rtol=1e-14)
            if tg[2] is not None:
                np.testing.assert_allclose(eg[2], tg[2], rtol=1e-14)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    kind = "Adam" if name.startswith("OneCycle") else "SGD"
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # neither library warns on the normal path
        ts, _ = _sequence(torch, name, kind)
        es, _ = _sequence(ember, name, kind)
    _assert_seq_equal(es, ts)


def _strip(sd):
    """A scheduler state dict without the per-library objects it may hold."""
    return {k: v for k, v in sd.items() if k not in ("_schedulers", "_scale_fn_ref")}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_round_trips_across_libraries(name):
    kind = "Adam" if name.startswith("OneCycle") else "SGD"
    _, tsched = _sequence(torch, name, kind, steps=13)
    _, esched = _sequence(ember, name, kind, steps=13)
    tsd, esd = tsched.state_dict(), esched.state_dict()
    assert set(esd) == set(tsd)
    assert _strip(esd) == _strip(tsd)
    # torch's state continues in ember (and ember's in torch) exactly as the original would
    for src, dst_lib in ((tsd, ember), (esd, torch)):
        opt = _optimizer(dst_lib, kind)
        sched = SCHEDULERS[name](dst_lib, opt)
        sched.load_state_dict(src)
        for g, lr in zip(opt.param_groups, tsched.get_last_lr()):
            g["lr"] = lr
        rest = []
        for _ in range(10):
            opt.step()
            sched.step()
            rest.append(sched.get_last_lr())
        ref = []
        for _ in range(10):
            tsched.optimizer.step()
            tsched.step()
            ref.append(tsched.get_last_lr())
        np.testing.assert_allclose(np.array(rest), np.array(ref), rtol=1e-14)
        _, tsched = _sequence(torch, name, kind, steps=13)


CLOSED_FORM = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
               "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_closed_form_path_with_epoch_argument(name):
    epochs = [3, 1, 8, 20, 20, 5, 0, 33, 12]
    seqs = []
    for lib in (torch, ember):
        opt = _optimizer(lib)
        sched = SCHEDULERS[name](lib, opt)
        seq = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for e in epochs:
                opt.step()
                sched.step(e)
                seq.append(sched.get_last_lr())
        assert any("epoch parameter" in str(w.message) for w in caught) or \
            name == "CosineAnnealingWarmRestarts"
        seqs.append(seq)
    np.testing.assert_allclose(np.array(seqs[1]), np.array(seqs[0]), rtol=1e-14)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.8, 0.8, 0.8, 0.8, 0.8, 0.79999, 0.7] * 3
    for kw in (dict(patience=2), dict(mode="max", factor=0.5, patience=1, cooldown=2),
               dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.01, 0.02]),
               dict(mode="max", threshold_mode="abs", patience=1, eps=1e-3)):
        seqs, sds = [], []
        for lib in (torch, ember):
            opt = _optimizer(lib)
            sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
            seq = []
            for m in metrics:
                opt.step()
                sched.step(lib.tensor(m) if m > 0.9 else m)
                seq.append(sched.get_last_lr())
            seqs.append(seq)
            sds.append(sched.state_dict())
        np.testing.assert_allclose(np.array(seqs[1]), np.array(seqs[0]), rtol=1e-14)
        assert sds[1] == sds[0]


def test_scheduler_errors_match_torch():
    cases = [("ConstantLR", dict(factor=2.0), ValueError),
             ("LinearLR", dict(start_factor=0.0), ValueError),
             ("CosineAnnealingWarmRestarts", dict(T_0=0), ValueError),
             ("OneCycleLR", dict(max_lr=0.1), ValueError),
             ("OneCycleLR", dict(max_lr=0.1, total_steps=10, pct_start=2.0), ValueError),
             ("CyclicLR", dict(base_lr=0.1, max_lr=0.2, mode="bad"), ValueError),
             ("ReduceLROnPlateau", dict(factor=1.5), ValueError),
             ("ReduceLROnPlateau", dict(mode="sideways"), ValueError),
             ("LambdaLR", dict(lr_lambda=[_lambda]), ValueError),
             ("MultiplicativeLR", dict(lr_lambda=3), TypeError),
             ("StepLR", dict(step_size=2, last_epoch=4), KeyError)]
    for name, kw, exc in cases:
        msgs = []
        for lib in (torch, ember):
            with pytest.raises(exc) as info:
                getattr(lib.optim.lr_scheduler, name)(_optimizer(lib), **kw)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1], name
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="is not an Optimizer"):
            lib.optim.lr_scheduler.StepLR(object(), 3)


def test_warnings_match_torch():
    for lib in (torch, ember):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 3)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            sched.step()
        with pytest.warns(UserWarning, match="use `get_last_lr\\(\\)`"):
            sched.get_lr()


def test_onecycle_too_many_steps_raises():
    for lib in (torch, ember):
        opt = _optimizer(lib, "Adam")
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            for _ in range(4):
                opt.step()
                sched.step()


def test_tensor_lr_filled_in_place():
    p = ember.zeros(2, requires_grad=True)
    lr = ember.tensor(0.1)
    opt = ember.optim.Adam([p], lr=lr)
    sched = elrs.StepLR(opt, 1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and math.isclose(float(lr), 0.05, rel_tol=1e-6)
    assert isinstance(sched.get_last_lr()[0], ember.Tensor)


def test_resume_with_last_epoch():
    rows = []
    for lib in (torch, ember):
        opt = _optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        rows.append([sched.get_last_lr()] + [(opt.step(), sched.step(), sched.get_last_lr())[2]
                                              for _ in range(8)])
    np.testing.assert_allclose(np.array(rows[1]), np.array(rows[0]), rtol=1e-14)


# ---- SWA ---------------------------------------------------------------------------------------
def test_swalr_matches_torch():
    for strategy, anneal in (("cos", 5), ("linear", 3), ("cos", 0)):
        seqs = []
        for lib in (torch, ember):
            opt = _optimizer(lib)
            sched = lib.optim.swa_utils.SWALR(opt, swa_lr=[0.02, 0.01], anneal_epochs=anneal,
                                              anneal_strategy=strategy)
            seq = [sched.get_last_lr()]
            for _ in range(10):
                opt.step()
                sched.step()
                seq.append(sched.get_last_lr())
            seqs.append(seq)
        np.testing.assert_allclose(np.array(seqs[1]), np.array(seqs[0]), rtol=1e-14)


def _tiny_models():
    nn = pytest.importorskip("ember.nn")
    if not hasattr(nn, "Linear") or not hasattr(nn, "BatchNorm1d"):
        pytest.skip("ember.nn layers not available yet")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    em = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    em.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    return tm, em


@pytest.mark.parametrize("avg", ["swa", "ema", "ema_multi", "custom"])
def test_averaged_model_matches_torch(avg):
    tm, em = _tiny_models()
    kwargs = {
        "swa": lambda lib: {},
        "ema": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.9)),
        "ema_multi": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.8),
                                      use_buffers=True),
        "custom": lambda lib: dict(avg_fn=lambda a, m, n: 0.5 * a + 0.5 * m),
    }[avg]
    tavg = torch.optim.swa_utils.AveragedModel(tm, **kwargs(torch))
    eavg = ember.optim.swa_utils.AveragedModel(em, **kwargs(ember))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((5, 3)).astype(np.float32)
        tm(torch.tensor(x))
        em(ember.tensor(x))
        with torch.no_grad(), ember.no_grad():
            for tp, ep in zip(tm.parameters(), em.parameters()):
                d = rng.standard_normal(tuple(tp.shape)).astype(np.float32)
                tp.add_(torch.tensor(d))
                ep.add_(ember.tensor(d))
        tavg.update_parameters(tm)
        eavg.update_parameters(em)
    tsd, esd = tavg.state_dict(), eavg.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        np.testing.assert_allclose(esd[k].detach().numpy(), tsd[k].numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)


def test_update_bn_matches_torch():
    tm, em = _tiny_models()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 3)).astype(np.float32) for _ in range(4)]
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], tm)
    ember.optim.swa_utils.update_bn([(ember.tensor(b), 0) for b in batches], em)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
