"""DLPack exchange on the CPU against torch: from_dlpack of a tensor is a new tensor on the same
memory (with __dlpack__'s refusals), its device/copy arguments, __dlpack__'s argument checks,
to_dlpack's capsules."""
import numpy as np
import pytest
import torch

import ember


@pytest.fixture(params=["torch", "ember"])
def L(request):
    return torch if request.param == "torch" else ember


def _outcome(call):
    try:
        r = call()
    except Exception as e:      # the class and message are compared with torch's
        return type(e).__name__, str(e)
    return type(r).__name__ if not isinstance(r, (torch.Tensor, ember.Tensor)) else r.tolist()


def test_from_dlpack_of_a_tensor_is_a_new_tensor_on_its_memory(L):
    x = L.ones(3)
    y = L.from_dlpack(x)
    assert y is not x and y.data_ptr() == x.data_ptr()
    y.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0]
    assert (x._version, y._version) == (0, 1)
    c = L.from_dlpack(x, copy=True)
    c.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and c.tolist() == [3.0, 3.0, 3.0]
    assert L.from_dlpack(x, device="cpu").data_ptr() == x.data_ptr()
    t = L.ones(2, 3).t()
    assert L.from_dlpack(t).stride() == (1, 3)


def _refusals(L):
    from importlib import import_module
    to_dlpack = import_module(L.__name__ + ".utils.dlpack").to_dlpack
    x = L.ones(2)
    return [_outcome(f) for f in (
        lambda: L.from_dlpack(L.ones(2, requires_grad=True)),
        lambda: L.from_dlpack(L.ones(2, requires_grad=True) * 2),
        lambda: L.from_dlpack(L.tensor([1 + 2j]).conj()),
        lambda: L.from_dlpack(to_dlpack(x), copy=True),
        lambda: L.from_dlpack(to_dlpack(x), device="cpu"),
        lambda: L.from_dlpack(to_dlpack(L.ones(2, requires_grad=True))),
        lambda: x.__dlpack__(stream=3),
        lambda: x.__dlpack__(stream="a"),
        lambda: x.__dlpack__(stream=None),
        lambda: x.__dlpack__(copy=True),
        lambda: x.__dlpack__(max_version=(1, 0)),
        lambda: L.ones(2).to_sparse().__dlpack__(),
    )]


def test_dlpack_refusals_and_arguments_as_torchs():
    assert _refusals(ember) == _refusals(torch)


def test_numpy_and_torch_take_ember_tensors():
    x = ember.arange(6.0).view(2, 3)
    assert np.from_dlpack(x).tolist() == x.tolist()
    t = torch.from_dlpack(x)
    assert t.tolist() == x.tolist() and t.data_ptr() == x.data_ptr()
    assert ember.from_dlpack(t).data_ptr() == t.data_ptr()
