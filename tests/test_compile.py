"""ember.compile / ember.compiler against torch.compile: the same argument checks and errors,
the same OptimizedModule wrapping (repr, `_orig_mod.` state_dict keys, attribute access), and the
same numbers as eager (torch compiles; ember runs eagerly)."""
import numpy as np
import pytest
import torch

import ember



def _raises_like(fe, ft):
    """The same exception class (by name: torch's InvalidBackend lives in torch._dynamo) and
    message."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(Exception) as ee:
        fe()
    assert type(ee.value).__name__ == type(te.value).__name__
    assert isinstance(ee.value, RuntimeError) == isinstance(te.value, RuntimeError)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("kwargs", [dict(mode="bogus"), dict(mode="default", options={"a": 1}),
                                    dict(backend="nope")])
def test_bad_arguments_raise_as_torch(kwargs):
    _raises_like(lambda: ember.compile(lambda x: x, **kwargs),
                 lambda: torch.compile(lambda x: x, **kwargs))
    _raises_like(lambda: ember.nn.Linear(2, 2).compile(**kwargs),
                 lambda: torch.nn.Linear(2, 2).compile(**kwargs))


def test_non_callable_raises_as_torch():
    _raises_like(lambda: ember.compile(3), lambda: torch.compile(3))


def test_compiled_module_wraps_as_torch_and_gives_eager_numbers():
    te = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU(), torch.nn.Linear(4, 2))
    ee = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.GELU(), ember.nn.Linear(4, 2))
    ee.load_state_dict({k: ember.tensor(v.numpy()) for k, v in te.state_dict().items()})
    tc, ec = torch.compile(te), ember.compile(ee)
    assert repr(ec) == repr(tc) and type(ec).__name__ == "OptimizedModule"
    assert list(ec.state_dict()) == list(tc.state_dict())
    assert ec._orig_mod is ee and ec.training is ee.training
    assert len(list(ec.parameters())) == len(list(tc.parameters())) == 4
    with pytest.raises(TypeError):          # torch: not subscriptable either
        ec[0]
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    ye, yt = ec(ember.tensor(x)), tc(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    ye.sum().backward()
    assert ee[0].weight.grad is not None
    ec.eval()
    assert not ee.training
    fresh = ember.compile(ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.GELU(),
                                              ember.nn.Linear(4, 2)))
    fresh.load_state_dict(ec.state_dict())      # a compiled checkpoint into a compiled model


@pytest.mark.parametrize("kwargs", [{}, dict(mode="max-autotune"), dict(backend="eager"),
                                    dict(fullgraph=True, dynamic=False), dict(disable=True)])
def test_compiled_function_and_decorator(kwargs):
    def f(x, y=1.0):
        return (x * y).sin()
    cf = ember.compile(f, **kwargs)
    deco = ember.compile(**kwargs)(f)
    x = ember.arange(4.0)
    for g in (cf, deco):
        assert g.__name__ == "f"
        assert g(x, y=2.0).tolist() == f(x, y=2.0).tolist()


def test_module_compile_is_in_place_and_keeps_keys():
    m = ember.nn.Linear(2, 2)
    keys = list(m.state_dict())
    assert m.compile(mode="reduce-overhead") is None
    assert list(m.state_dict()) == keys and tuple(m(ember.ones(2)).shape) == (2,)
    assert ember.compile(ember.nn.Linear(2, 3)).out_features == 3    # looked up on _orig_mod


def test_compiler_namespace():
    C = ember.compiler
    assert C.is_compiling() is torch.compiler.is_compiling() is False
    assert C.is_dynamo_compiling() is False and C.is_exporting() is False
    assert C.list_backends() == torch.compiler.list_backends()
    assert set(C.list_backends(exclude_tags=None)) <= set(
        torch.compiler.list_backends(exclude_tags=None))

    def f(x):
        return x + 1
    for d in (C.disable(f), C.disable(reason="slow")(f), C.disable(f, recursive=False)):
        assert d is not f and d.__wrapped__ is f and d(1) == 2      # torch wraps f too
    assert C.disable(ember.nn.Linear) is ember.nn.Linear
    assert C.allow_in_graph(f) is f and C.assume_constant_result(f) is f
    assert C.reset() is None and C.cudagraph_mark_step_begin() is None
    assert C.compile is ember.compile


@pytest.mark.parametrize("stance", ["default", "force_eager"])
def test_is_compiling_inside_compiled_regions_like_torch(stance):
    """Inside a compiled function or module is_compiling() is True (torch traces it so), in a
    disabled function called from there and under the force_eager stance it is False."""
    def run(lib):
        C = lib.compiler
        eager = C.disable(lambda: C.is_compiling())

        def f(x):
            return (x + C.is_compiling() + 10 * eager() + 100 * C.is_dynamo_compiling()
                    + 1000 * lib._dynamo.is_compiling() + 10000 * C.is_exporting())

        class M(lib.nn.Module):
            def forward(self, x):
                return x + C.is_compiling()
        with C.set_stance(stance):
            out = [lib.compile(f, backend="eager")(lib.zeros(1)).item(),
                   lib.compile(M(), backend="eager")(lib.zeros(1)).item()]
        return out + [C.is_compiling(), eager()]
    assert run(ember) == run(torch)


def test_disabled_compile_returns_the_module_and_wrapper_pickles():
    import pickle
    m = ember.nn.Linear(2, 2)
    assert ember.compile(m, disable=True) is m
    assert type(torch.compile(torch.nn.Linear(2, 2), disable=True)).__name__ == "Linear"
    c = pickle.loads(pickle.dumps(ember.compile(m)))
    assert type(c).__name__ == "OptimizedModule" and c.weight.tolist() == m.weight.tolist()
