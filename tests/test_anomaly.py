"""R6: anomaly mode. Under detect_anomaly every NaN-producing backward raises torch's error
naming the backward node, after a warning that shows the forward traceback (file:line of the
op that created the node); errors of other kinds get the same warning. Off, it costs nothing:
Node.__init__ is the plain one."""
import inspect
import warnings

import pytest
import torch

import ember
import ember.autograd
from ember.autograd import node as node_mod


def _zero(L):
    return L.zeros(3, dtype=L.float64, requires_grad=True)


def _one(L):
    return L.ones(3, dtype=L.float64, requires_grad=True)


def sqrt_at_zero(L):
    y = _zero(L).sqrt() * 0  # FWD
    y.sum().backward()


def log_of_zero(L):
    x = _zero(L)
    y = x.log()  # FWD
    (y * 0).sum().backward()


def div_zero_by_zero(L):
    x = _zero(L)
    y = x / x  # FWD
    y.sum().backward()


def pow_negative_base(L):
    x = _one(L)
    y = (-x) ** 0.5  # FWD
    y.sum().backward()


def norm_at_zero(L):
    x = _zero(L)
    n = (x * x).sum().sqrt()
    y = x * x  # FWD
    n2 = (y.sum()).sqrt()
    (n + n2).backward()


def asin_at_one(L):
    x = _one(L)
    y = x.asin()  # FWD
    (y * 0).sum().backward()


def atanh_at_one(L):
    x = _one(L)
    y = x.atanh()  # FWD
    (y * 0).sum().backward()


def rsqrt_at_zero(L):
    x = _zero(L)
    y = x.rsqrt()  # FWD
    (y * 0).sum().backward()


def reciprocal_at_zero(L):
    x = _zero(L)
    y = x.reciprocal()  # FWD
    (y * 0).sum().backward()


def log2_of_zero(L):
    x = _zero(L)
    y = x.log2()  # FWD
    (y * 0).sum().backward()


def sqrt_of_square(L):
    x = _zero(L)
    y = x.pow(2)  # FWD
    y.sqrt().sum().backward()


def acos_at_one(L):
    x = _one(L)
    y = x.acos()  # FWD
    (y * 0).sum().backward()


def exp_of_inf(L):
    x = L.full((3,), float("inf"), dtype=L.float64, requires_grad=True)
    y = x.exp()  # FWD
    (y * 0).sum().backward()


NAN_CASES = [sqrt_at_zero, log_of_zero, div_zero_by_zero, pow_negative_base, norm_at_zero,
             asin_at_one, atanh_at_one, rsqrt_at_zero, reciprocal_at_zero, log2_of_zero,
             sqrt_of_square, acos_at_one, exp_of_inf]


def _fwd_line(case):
    lines, start = inspect.getsourcelines(case)
    return start + next(i for i, line in enumerate(lines) if "# FWD" in line)


def _run_anomaly(L, case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with L.autograd.detect_anomaly():
            with pytest.raises(RuntimeError) as info:
                case(L)
    texts = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return str(info.value), [t for t in texts if "Error detected in" in t]


@pytest.mark.parametrize("case", NAN_CASES, ids=lambda f: f.__name__)
def test_nan_raises_like_torch_with_forward_trace(case):
    t_msg, t_warn = _run_anomaly(torch, case)
    e_msg, e_warn = _run_anomaly(ember, case)
    assert e_msg == t_msg
    assert "returned nan values" in e_msg
    where = f'test_anomaly.py", line {_fwd_line(case)}, in {case.__name__}'
    assert len(e_warn) == 1 and where in e_warn[0], e_warn
    assert where in t_warn[0]
    node = e_msg.split("'")[1]
    assert e_warn[0].startswith(f"Error detected in {node}. Traceback of forward call that "
                                "caused the error:\n")


def test_no_error_without_anomaly_mode():
    for case in NAN_CASES:
        case(ember)                   # NaN gradients, silently, as in torch


def test_check_nan_false_only_traces():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autograd.detect_anomaly(check_nan=False):
            sqrt_at_zero(ember)
            assert ember.autograd.anomaly_mode.is_anomaly_enabled()
            assert not ember.autograd.anomaly_mode.is_anomaly_check_nan_enabled()


def test_other_errors_show_the_forward_trace():
    def case(L):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()  # FWD
        y.add_(1)
        y.sum().backward()
    t_msg, t_warn = _run_anomaly(torch, case)
    e_msg, e_warn = _run_anomaly(ember, case)
    assert e_msg == t_msg
    assert t_warn[0].startswith("Error detected in ExpBackward0.")
    assert len(e_warn) == 1 and e_warn[0].startswith("Error detected in ExpBackward0.")
    assert f"line {_fwd_line(case)}, in case" in e_warn[0]


def test_custom_function_nan():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autograd.detect_anomaly():
            x = ember.ones(2, requires_grad=True)
            with pytest.raises(RuntimeError, match="Function 'BadBackward' returned nan values "
                                                   "in its 0th output."):
                Bad.apply(x).sum().backward()


def test_enter_warns_and_modes_restore():
    plain = node_mod.Node.__init__
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled. This mode will "
                                         "increase the runtime and should only be enabled for "
                                         "debugging."):
        ctx = ember.autograd.detect_anomaly()
    with ctx:
        assert node_mod.Node.__init__ is not plain
        x = ember.ones(2, requires_grad=True)
        assert "traceback_" in (x * 2).grad_fn.metadata
    assert node_mod.Node.__init__ is plain        # zero cost when off
    assert not ember.autograd.anomaly_mode.is_anomaly_enabled()
    assert "traceback_" not in (ember.ones(2, requires_grad=True) * 2).grad_fn.metadata


def test_set_detect_anomaly_function_and_context():
    ember.autograd.set_detect_anomaly(True)
    try:
        assert ember.autograd.anomaly_mode.is_anomaly_enabled()
        with ember.autograd.set_detect_anomaly(False):
            assert not ember.autograd.anomaly_mode.is_anomaly_enabled()
            assert node_mod.Node.__init__ is node_mod._init
        assert ember.autograd.anomaly_mode.is_anomaly_enabled()
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert node_mod.Node.__init__ is node_mod._init


def test_trace_without_forward_information():
    x = ember.zeros(2, requires_grad=True)
    y = x.sqrt() * 0                  # recorded while anomaly mode was off
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ember.autograd.set_detect_anomaly(True):
            with pytest.raises(RuntimeError, match="SqrtBackward0"):
                y.sum().backward()
    assert any("No forward pass information available" in str(w.message) for w in caught)


def test_nan_check_covers_bfloat16():
    """detect_anomaly's NaN check looks at bfloat16 gradients too (a NumPy 'V' kind: skipped)."""
    msgs = []
    for L in (torch, ember):
        x = L.tensor([0.0, 1.0], dtype=L.bfloat16, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.detect_anomaly():
                with pytest.raises(RuntimeError) as info:
                    (x.sqrt() * 0).sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
