"""torch.utils.swap_tensors, torch.__future__'s module-conversion switches, and Module._apply /
load_state_dict under them, against torch."""
import weakref

import pytest
import torch

import ember


def _outcome(fn, lib):
    try:
        return "ok", repr(fn(lib))
    except Exception as e:
        return type(e).__name__, str(e)


@pytest.fixture(autouse=True)
def _reset_future():
    yield
    for lib in (torch, ember):
        lib.__future__.set_overwrite_module_params_on_conversion(False)
        lib.__future__.set_swap_module_params_on_conversion(False)


def swap_contents(lib):
    a, b = lib.tensor([1., 2.], requires_grad=True), lib.arange(3)
    a.foo = 1
    ida = id(a)
    lib.utils.swap_tensors(a, b)
    return id(a) == ida, a, b, a.requires_grad, b.requires_grad, b.foo, hasattr(a, "foo")


def swap_classes(lib):
    p, t = lib.nn.Parameter(lib.ones(2)), lib.zeros(3)
    lib.utils.swap_tensors(p, t)
    return type(p).__name__, type(t).__name__, p, t


def weakref_on_first(lib):
    a, b = lib.ones(2), lib.ones(2)
    r = weakref.ref(a)   # noqa: F841
    lib.utils.swap_tensors(a, b)


def weakref_on_second(lib):
    a, b = lib.ones(2), lib.ones(2)
    r = weakref.ref(b)   # noqa: F841
    lib.utils.swap_tensors(a, b)


def graph_from_before_the_swap(lib):
    a = lib.ones(2, requires_grad=True)
    y = (a * 3).sum()
    lib.utils.swap_tensors(a, lib.zeros(2, requires_grad=True))
    y.backward()


def graph_after_the_swap(lib):
    a = lib.ones(2, requires_grad=True)
    y = (a * 3).sum()                                  # the leaf's gradient sink now exists
    del y
    b = lib.full((2,), 5., requires_grad=True)
    lib.utils.swap_tensors(a, b)
    (a * a).sum().backward()
    return a.grad, b.grad


def _convert(lib, overwrite=False, swap=False):
    lib.__future__.set_overwrite_module_params_on_conversion(overwrite)
    lib.__future__.set_swap_module_params_on_conversion(swap)
    lib.manual_seed(0)
    m = lib.nn.Linear(2, 2)
    w = m.weight
    m(lib.ones(1, 2)).sum().backward()
    g = w.grad
    m.double()
    return (m.weight is w, m.weight.dtype, w.dtype, m.weight.grad is g, m.weight.grad.dtype,
            type(m.weight).__name__, m.weight.requires_grad, m.weight.grad.requires_grad, m.weight)


def convert_default(lib):
    return _convert(lib)


def convert_overwrite(lib):
    return _convert(lib, overwrite=True)


def convert_swap(lib):
    return _convert(lib, overwrite=True, swap=True)      # swap takes precedence


def convert_to_meta(lib):
    m = lib.nn.Linear(2, 2)
    w = m.weight
    m.to("meta")
    return m.weight is w, m.weight.device, type(m.weight).__name__, m.weight.requires_grad


def to_empty_from_meta(lib):
    m = lib.nn.Linear(2, 2, device="meta")
    w = m.weight
    m.to_empty(device="cpu")
    return m.weight is w, m.weight.device, m.weight.shape


def _load(lib, assign):
    lib.__future__.set_swap_module_params_on_conversion(True)
    m = lib.nn.Linear(2, 2)
    w = m.weight
    sd = {"weight": lib.ones(2, 2, dtype=lib.float64), "bias": lib.zeros(2)}
    m.load_state_dict(sd, assign=assign)
    return m.weight is w, m.weight, type(m.weight).__name__, m.bias is sd["bias"], m.bias


def load_swapped(lib):
    return _load(lib, False)


def load_swapped_assign(lib):
    return _load(lib, True)


def load_module_load_returning_self(lib):
    class Bad(lib.Tensor):
        def module_load(self, other, assign=False):
            return self
    lib.__future__.set_swap_module_params_on_conversion(True)
    m = lib.nn.Linear(2, 2)
    m.register_buffer("buf", lib.zeros(2).as_subclass(Bad))
    m.load_state_dict({"weight": lib.ones(2, 2), "bias": lib.zeros(2), "buf": lib.ones(2)})


CASES = [swap_contents, swap_classes, weakref_on_first, weakref_on_second,
         graph_from_before_the_swap, graph_after_the_swap, convert_default, convert_overwrite,
         convert_swap, convert_to_meta, to_empty_from_meta, load_swapped, load_swapped_assign,
         load_module_load_returning_self]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_as_torch(case):
    assert _outcome(case, ember) == _outcome(case, torch)


def test_future_switches_default_off_and_compatibility_as_torch():
    assert ember.__future__.get_overwrite_module_params_on_conversion() is False
    assert ember.__future__.get_swap_module_params_on_conversion() is False
    pairs = [lambda L: (L.zeros(2), L.zeros(2, dtype=L.float64)),
             lambda L: (L.zeros(2), L.zeros(2).to_sparse()),
             lambda L: (L.zeros(2).to_sparse(), L.ones(2).to_sparse()),
             lambda L: (L.zeros(2), L.zeros(2, device="meta")),
             lambda L: (L.zeros(2, device="meta"), L.zeros(2, device="meta"))]
    for make in pairs:
        assert ember._has_compatible_shallow_copy_type(*make(ember)) == \
            torch._has_compatible_shallow_copy_type(*make(torch))
