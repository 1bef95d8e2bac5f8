"""ember._warnings.warn_once: torch's TORCH_WARN_ONCE, once per process per key, pointing at the
first frame outside ember."""
import sys
import warnings

import pytest

import ember
from ember._warnings import warn_once


def test_warn_once_warns_once_per_key_at_the_caller_outside_ember(monkeypatch):
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(2):
            line = sys._getframe().f_lineno + 1
            warn_once("a")
            warn_once("b", key="k", category=DeprecationWarning)
            warn_once("c", key="k")                 # the key was given: no warning
            ember.tensor(1.0).H                     # ember's own warn_once, from inside ember
    assert [(x.category, str(x.message), x.filename, x.lineno) for x in w] == [
        (UserWarning, "a", __file__, line), (DeprecationWarning, "b", __file__, line + 1),
        (UserWarning, "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
         __file__, line + 3)]
    assert ember._warnings.GIVEN == {"a", "k", str(w[2].message)}


def test_set_warn_always_repeats_once_a_process_warnings():
    """torch.set_warn_always(True) turns TORCH_WARN_ONCE into a warning at every call."""
    import torch

    def count(lib):
        before = lib.is_warn_always_enabled()
        lib.set_warn_always(True)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for _ in range(3):
                    lib.cholesky(lib.eye(2))
        finally:
            lib.set_warn_always(before)
        return len(caught), lib.is_warn_always_enabled()
    assert count(ember) == count(torch) == (3, False)


COMPLEX_CASTS = ["x.sum(dtype=L.float64)", "x.mean(dtype=L.float64)", "x.mean(dtype=L.float16)",
                 "x.prod(dtype=L.float64)", "x.cumsum(0, dtype=L.float32)",
                 "x.cumprod(0, dtype=L.int64)", "L.sum(x, 0, dtype=L.float64)",
                 "x.sum(dtype=L.bool)", "x.cumsum(0, dtype=L.bool)", "x.to(L.bool)",
                 "x.to(L.float32)", "L.tensor(x, dtype=L.float32)",
                 "L.as_tensor(np.array([1 + 1j, 2j]), dtype=L.float32)",
                 "L.tensor(np.array([1 + 1j, 2j]), dtype=L.bool)", "L.tensor([1.0]).new_tensor(x)",
                 "L.zeros(2).copy_(x)", "L.zeros(2, dtype=L.bool).copy_(x)"]


def test_complex_to_real_casts_warn_as_torch():
    """torch's once-a-process "Casting complex values to real discards the imaginary part" (a
    UserWarning) where a reduction's dtype=, tensor()/as_tensor()/new_tensor() or a copy drops
    imaginary parts, none for a cast to bool (which reads both parts): ember let NumPy's
    ComplexWarning through the reductions' dtype= (hidden by ember's filter: no warning) and
    warned for bool. Compared with set_warn_always on, so each case warns afresh."""
    import numpy as np
    import torch

    def run(L, ex):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x = L.tensor([1 + 1j, 2j])
            try:
                r = eval(ex, {"L": L, "x": x, "np": np}).tolist()
            except Exception as e:      # noqa: BLE001  (the class and message compared)
                r = type(e).__name__, str(e)
        return r, [(c.category.__name__, str(c.message).partition(" (Triggered internally")[0])
                   for c in w if "copy construct" not in str(c.message)]

    torch.set_warn_always(True)
    ember.set_warn_always(True)
    try:
        for ex in COMPLEX_CASTS:
            assert run(ember, ex) == run(torch, ex), ex
    finally:
        torch.set_warn_always(False)
        ember.set_warn_always(False)


def _sched(L, epoch=None, get_lr=False, stepped=True):
    p = L.nn.Parameter(L.ones(1))
    opt = L.optim.SGD([p], lr=0.1)
    s = L.optim.lr_scheduler.StepLR(opt, 1)
    if get_lr:
        return s.get_lr()
    if stepped:
        opt.step()
    return s.step() if epoch is None else s.step(epoch)


USER_WARNINGS = [
    lambda L: L.nn.Softmax()(L.ones(2, 3)), lambda L: L.nn.functional.log_softmax(L.ones(2)),
    lambda L: L.nn.functional.sigmoid(L.ones(1)), lambda L: L.nn.init.uniform(L.ones(2)),
    lambda L: L.nn.init.xavier_uniform(L.ones(2, 2)), lambda L: L.nn.MSELoss(size_average=False),
    lambda L: L.nn.functional.mse_loss(L.ones(2), L.ones(2, 1)),
    lambda L: L.nn.Linear(2, 2).state_dict(None, ""),
    lambda L: L.nn.functional.upsample(L.ones(1, 1, 2), scale_factor=2),
    lambda L: _sched(L, stepped=False), lambda L: _sched(L, get_lr=True),
    lambda L: _sched(L, epoch=3), lambda L: L.tensor(L.ones(2)),
    lambda L: (L.ones(2, requires_grad=True) * 2).grad, lambda L: L.ones(2, 3, 4).T,
    lambda L: L.nn.GRU(2, 3, dropout=0.5), lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(8, 2, 16, norm_first=True), 2),
    lambda L: L.nn.functional.dropout2d(L.ones(2, 3)), lambda L: L.stft(L.ones(64), 16),
    lambda L: L.lu(L.eye(2)), lambda L: L.chain_matmul(L.eye(2), L.eye(2)),
    lambda L: L.cross(L.ones(3, 3), L.ones(3, 3)), lambda L: L.meshgrid(L.ones(2), L.ones(3)),
    lambda L: L.range(0, 3), lambda L: L.ones(2).storage(),
    lambda L: L.ones(2, dtype=L.uint8)[L.tensor([1, 0], dtype=L.uint8)],
    lambda L: L.nn.utils.weight_norm(L.nn.Linear(2, 2)),
    lambda L: L.zeros(2, 3).scatter(1, L.tensor([[0, 1]]), L.ones(2, 3), reduce="max"),
    lambda L: L.zeros(2, 3).scatter(3, L.tensor([[0, 1]]), L.ones(2, 3), reduce="add"),
]


@pytest.mark.parametrize("case", range(len(USER_WARNINGS)))
def test_deprecation_and_usage_warnings_match_torch(case):
    """The warnings (class and message) torch gives for deprecated or suspicious calls
    (state_dict's positional arguments named torch's documentation page: ember's message
    stopped short); with set_warn_always on, so torch's once-a-process warnings warn afresh
    whatever the tests before used up; the TypedStorage warning, which keeps its own flag in
    both, starts unwarned in both."""
    import torch
    import torch.storage
    torch.storage._reset_warn_typed_storage_removal()
    ember._warnings.GIVEN.discard(ember._storage._TYPED_STORAGE_WARNING)

    def run(L):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                USER_WARNINGS[case](L)
                r = "ran"
            except Exception as e:      # noqa: BLE001  (the class and message compared)
                r = type(e).__name__, str(e)
        return r, sorted({(c.category.__name__,
                           str(c.message).partition(" (Triggered internally")[0]) for c in w})
    torch.set_warn_always(True)
    ember.set_warn_always(True)
    try:
        assert run(ember) == run(torch)
    finally:
        torch.set_warn_always(False)
        ember.set_warn_always(False)


def test_typed_storage_warning_ignores_set_warn_always():
    """torch's TypedStorage deprecation warning keeps its own once-a-process flag: with
    set_warn_always on, a second tensor.storage() stays silent in torch (ember warned again)."""
    import torch

    def count(L):
        L.ones(1).storage()             # the first warning, if this process had none yet
        L.set_warn_always(True)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                L.ones(2).storage()
        finally:
            L.set_warn_always(False)
        return len(w)
    assert count(ember) == count(torch) == 0
