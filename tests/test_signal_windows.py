"""ember.signal.windows against torch.signal.windows: values and dtypes for every window, both
float dtypes, symmetric and periodic, lengths 0 to 16; their parameters, requires_grad, and
torch's errors."""
import pytest
import torch
from oracle import assert_close

import ember
from nn_oracle import same_error

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
         "general_hamming", "hamming", "hann", "kaiser", "nuttall"]
# the keyword each window needs or is tried with
PARAMS = {"general_cosine": [dict(a=[0.46, 0.23, 0.31]), dict(a=(1.0,))],
          "general_hamming": [{}, dict(alpha=0.6)], "gaussian": [{}, dict(std=2.5)],
          "kaiser": [{}, dict(beta=0.0), dict(beta=4.5)],
          "exponential": [{}, dict(tau=3.0)]}


def _both(name, M, **kw):
    e = getattr(ember.signal.windows, name)(M, **{k: getattr(ember, v) if k == "dtype" else v
                                                  for k, v in kw.items()})
    t = getattr(torch.signal.windows, name)(M, **{k: getattr(torch, v) if k == "dtype" else v
                                                  for k, v in kw.items()})
    return e, t


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 16])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_window_values_and_dtypes(name, M, sym, dtype):
    for kw in PARAMS.get(name, [{}]):
        e, t = _both(name, M, sym=sym, dtype=dtype, **kw)
        assert_close(e, t)


def test_exponential_center_on_periodic_windows():
    for center in (0.0, 2.5, 9.0):
        assert_close(*_both("exponential", 7, sym=False, center=center, tau=2.0,
                            dtype="float64"))


@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_requires_grad(name):
    kw = PARAMS.get(name, [{}])[0]
    e, t = _both(name, 9, **kw)
    assert_close(e, t)
    assert e.dtype == ember.get_default_dtype()
    for M in (0, 1, 6):
        e, t = _both(name, M, requires_grad=True, **kw)
        assert_close(e, t)
        assert e.requires_grad is t.requires_grad is True
        assert e.is_leaf is t.is_leaf          # a leaf for 0/1 points (an op result otherwise)


def test_windows_follow_the_default_dtype():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        assert_close(*_both("hann", 8))
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_device_is_honoured():
    e = ember.signal.windows.hann(5, device="mock")
    assert e.device == ember.device("mock", 0)
    assert_close(e.cpu(), torch.signal.windows.hann(5))


def _call(lib, name, *args, **kw):
    if "dtype" in kw:
        kw["dtype"] = getattr(lib, kw["dtype"])
    return getattr(lib.signal.windows, name)(*args, **kw)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args, kw", [((-1,), {}), ((5,), dict(dtype="int64")),
                                      ((5,), dict(dtype="float16")), ((5,), dict(layout=None))])
def test_common_errors_as_torch(name, args, kw):
    kw = dict(PARAMS.get(name, [{}])[0], **kw)
    same_error(lambda: _call(ember, name, *args, **kw), lambda: _call(torch, name, *args, **kw))


@pytest.mark.parametrize("name, kw", [("exponential", dict(tau=0.0)),
                                      ("exponential", dict(tau=-1.0)),
                                      ("exponential", dict(center=1.0)),
                                      ("gaussian", dict(std=0.0)),
                                      ("kaiser", dict(beta=-1.0)),
                                      ("general_cosine", dict(a=[])),
                                      ("general_cosine", dict(a=3.0))])
def test_parameter_errors_as_torch(name, kw):
    same_error(lambda: _call(ember, name, 5, **kw), lambda: _call(torch, name, 5, **kw))


def test_namespace():
    assert ember.signal.windows.__all__ == torch.signal.windows.__all__
    with pytest.raises(TypeError):
        ember.signal.windows.hann(5, False)     # keyword-only sym, as in torch
    with pytest.raises(TypeError):
        torch.signal.windows.hann(5, False)
