"""Smaller pieces of torch's public API, against torch: nn.factory_kwargs, nn.common_types,
autograd.variable, func.debug_unwrap, profiler.DeviceType and kineto_available,
compiler.set_stance."""
import torch

import ember


def _outcome(call):
    try:
        return call()
    except Exception as e:      # the class and message are compared with torch's
        return type(e).__name__, str(e)


def _factory_kwargs(lib):
    f = lib.nn.factory_kwargs
    return [_outcome(lambda: f(k)) for k in (
        None, {}, {"device": "cpu"}, {"device": "cpu", "factory_kwargs": {"dtype": 1}},
        {"foo": 1}, {"dtype": 1, "factory_kwargs": {"dtype": 2}}, {"memory_format": 3})]


def test_nn_factory_kwargs():
    assert _factory_kwargs(ember) == _factory_kwargs(torch)


def test_nn_common_types():
    import ember.nn.common_types as e
    import torch.nn.common_types as t
    names = [n for n in dir(t) if n.startswith("_") and n.endswith("_t")]
    assert len(names) == 22
    assert [str(getattr(e, n)) for n in names] == [str(getattr(t, n)) for n in names]
    assert ember.nn.common_types is e


def test_legacy_autograd_variable_module_and_debug_unwrap():
    from ember.autograd.variable import Variable
    assert Variable is ember.autograd.Variable and ember.autograd.variable.Variable is Variable
    for lib in (torch, ember):
        x = lib.ones(2)
        assert lib.func.debug_unwrap(x) is x and lib.func.debug_unwrap(x, recurse=False) is x


def _profiler(lib):
    D = lib.profiler.DeviceType
    with lib.profiler.profile() as p:
        lib.ones(2) + 1
    return ([(n, int(v)) for n, v in D.__members__.items()], repr(D.CPU), str(D.CPU),
            {e.device_type for e in p.events()} == {D.CPU}, lib.profiler.kineto_available())


def test_profiler_device_type_and_kineto_available():
    assert _profiler(ember) == _profiler(torch)


def _stances(lib):
    c = lib.compiler
    out = [repr(c.set_stance(s).stance) for s in ("force_eager", "bogus")]
    out.append(_outcome(lambda: c.set_stance("force_eager", force_backend="eager")))
    c.set_stance("default")

    @c.set_stance("force_eager")
    def f(x):
        return x + 1
    with c.set_stance("eager_on_recompile") as cm:
        out.append(cm)
    out.append((f(lib.ones(1)).tolist(), repr(c.set_stance("default").clone().stance)))
    return out


def test_compiler_set_stance():
    assert _stances(ember) == _stances(torch)


def _python2_names(lib):
    x, out = lib.tensor(3.5), []
    out.append((x.__long__(), x.__nonzero__(), lib.tensor(0.0).__nonzero__()))
    y = lib.ones(3)

    def delete():
        del y[0]
    out += [_outcome(f) for f in (lambda: lib.ones(2).__nonzero__(),
                                  lambda: lib.ones(2).__long__(), delete)]
    return out


def test_tensor_long_nonzero_and_item_deletion():
    assert _python2_names(ember) == _python2_names(torch)
