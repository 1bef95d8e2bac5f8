"""torch computes inf and nan silently. NumPy warns, and ember filters those warnings in its own
code; a user's filter in front of ember's ("error", as test suites often set) must not turn
them into exceptions out of ember's kernels, forward or backward."""
import warnings

import numpy as np
import pytest
import torch

import ember

_CASES = {
    "log of 0 and -1": "t.tensor([0., -1., 2.]).log()",
    "division by 0": "t.tensor([1., 0.]) / 0",
    "sqrt of -1": "t.sqrt(t.tensor([-1.]))",
    "exp overflow": "t.exp(t.tensor([1000.]))",
    "softmax of -inf rows": "t.softmax(t.tensor([[-float('inf'), -float('inf')]]), 1)",
    "cross entropy at -inf": "t.nn.functional.cross_entropy(t.tensor([[-float('inf'), 0.]]), "
                             "t.tensor([0]))",
    "pow overflow": "t.tensor([2.]) ** 10000",
    "float32 overflow": "t.tensor([1e38]) * 10",
    "reciprocal, rsqrt, atanh": "(t.tensor([0.]).reciprocal(), t.tensor([0.]).rsqrt(), "
                                "t.tensor([1.]).atanh())",
    "mean of nothing": "t.tensor([0., 0.]).mean() / 0",
    "normalize zeros": "t.nn.functional.normalize(t.zeros(2, 3))",
    "log backward at 0": "(lambda x: (x.log().sum().backward(), x.grad)[1])("
                         "t.tensor([0., 2.], requires_grad=True))",
    "sqrt backward at 0": "(lambda x: (x.sqrt().sum().backward(), x.grad)[1])("
                          "t.tensor([0., 4.], requires_grad=True))",
    "div backward by 0": "(lambda x: ((x / 0).sum().backward(), x.grad)[1])("
                         "t.tensor([1.], requires_grad=True))",
}


def _run(lib, code):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return repr(eval(code, {"t": lib})).replace("ember", "torch")
        except Exception as e:      # noqa: BLE001 - compared with torch's outcome
            return type(e).__name__, str(e)


@pytest.mark.parametrize("case", list(_CASES))
def test_numpy_warnings_do_not_escape_under_an_error_filter(case):
    assert _run(ember, _CASES[case]) == _run(torch, _CASES[case])


def test_the_users_own_numpy_still_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.tensor([0.]).log()
        with pytest.raises(RuntimeWarning):
            np.log(np.zeros(1))


def test_ember_s_own_warnings_still_follow_the_filter():
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(UserWarning, match="degrees of freedom"):
                lib.var(lib.ones(1))


@pytest.mark.parametrize("code", [
    "t.fft.fft(t.tensor([float('nan'), 1., float('inf'), 2.]))",
    "t.fft.irfft(t.fft.rfft(t.tensor([float('nan'), 1., float('inf'), 2.])))",
    "t.einsum('ij,jk,kl->il', t.full((2, 2), 1e30), t.full((2, 2), 1e30), t.ones(2, 2))",
    "t.linalg.cross(t.tensor([[float('inf'), 1., 0.]]), t.tensor([[0., 1., 0.]]))",
    "t.i0(t.tensor([1000.]))",
    "t.linalg.slogdet(t.tensor([[float('nan'), 1.], [1., 2.]]))"])
def test_numpy_modules_own_warnings_do_not_escape(code):
    """Warnings NumPy raises from its own modules (pocketfft, einsum, cross, i0, slogdet) pass
    ember's filter, which covers ember's frames only; those kernels run with them off."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        eval(code, {"t": ember})
    assert not [w for w in seen if issubclass(w.category, RuntimeWarning)], \
        [str(w.message) for w in seen]
