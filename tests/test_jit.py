"""ember.jit against torch.jit: model code written for TorchScript runs with torch's numbers
(scripted and traced torch against eager ember), the decorators, fork/wait, freeze, the fuser
switches and the argument errors as torch's; jit.save/load refuse clearly."""
import typing
import warnings

import numpy as np
import pytest
import torch

import ember
from nn_oracle import same_error

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _model_class(lib):
    """The same TorchScript-style model for torch and for ember."""
    class Net(lib.nn.Module):
        scale: lib.jit.Final[float]

        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(3, 4)
            self.scale = 2.0

        @lib.jit.ignore
        def python_only(self, y):
            return y * self.scale

        @lib.jit.ignore(drop=False)
        def shift(self, y):
            return y + 1.0

        @lib.jit.unused
        def not_compiled(self, y):
            return y

        @lib.jit.export
        def halve(self, x):
            return x * 0.5

        def weighted(self, x):
            return self.lin(x) * 2

        def forward(self, x):
            ys = lib.jit.annotate(typing.List[lib.Tensor], [])
            if lib.jit.is_scripting():
                ys.append(self.lin(x) * self.scale)
            else:
                ys.append(self.python_only(self.lin(x)))
            return self.shift(ys[0]).relu()
    return Net


def _pair():
    tm = _model_class(torch)()
    em = _model_class(ember)()
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    return tm, em, torch.tensor(x), ember.tensor(x)


def _close(e, t):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_model_with_jit_annotations_runs_as_torch_scripted_and_eager():
    tm, em, tx, ex = _pair()
    ts, es = torch.jit.script(tm), ember.jit.script(em)
    assert es is em                                    # eager: the module itself
    assert isinstance(ts, torch.jit.ScriptModule) and not isinstance(es, ember.jit.ScriptModule)
    for e in (em(ex), es(ex)):
        _close(e, tm(tx))
        _close(e, ts(tx))
    _close(es.halve(ex), ts.halve(tx))


def _affine(x, w):
    return (x @ w).relu().sum(-1)


def test_script_and_trace_of_functions_give_torch_numbers():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    ts, es = torch.jit.script(_affine), ember.jit.script(_affine)
    assert es is _affine
    tt = torch.jit.trace(_affine, (torch.tensor(x), torch.tensor(w)))
    et = ember.jit.trace(_affine, (ember.tensor(x), ember.tensor(w)))
    assert et is _affine
    want = _affine(torch.tensor(x), torch.tensor(w))
    for f in (es, et):
        _close(f(ember.tensor(x), ember.tensor(w)), want)
    _close(ts(torch.tensor(x), torch.tensor(w)), want)
    _close(tt(torch.tensor(x), torch.tensor(w)), want)
    # a single tensor is the one argument; example_kwarg_inputs as keywords
    _close(ember.jit.trace(lambda a: a.sum(), ember.tensor(x))(ember.tensor(x)),
           torch.jit.trace(lambda a: a.sum(), torch.tensor(x))(torch.tensor(x)))
    seen = []
    ember.jit.trace(lambda x, w: seen.append((x, w)), example_kwarg_inputs={"x": 1, "w": 2})
    assert seen == [(1, 2)]


def test_trace_of_modules_and_methods_gives_torch_numbers():
    tm, em, tx, ex = _pair()
    tt, et = torch.jit.trace(tm, tx), ember.jit.trace(em, ex)
    assert et is em and isinstance(tt, torch.jit.ScriptModule)
    _close(et(ex), tt(tx))
    assert ember.jit.trace(em.forward, (ex,)) is em
    tmod = torch.jit.trace_module(tm, {"forward": tx, "weighted": (tx,)})
    emod = ember.jit.trace_module(em, {"forward": ex, "weighted": (ex,)})
    assert emod is em
    _close(emod(ex), tmod(tx))
    _close(emod.weighted(ex), tmod.weighted(tx))


def test_trace_runs_the_example_inputs_once():
    calls = []

    class Count(ember.nn.Module):
        def forward(self, x):
            calls.append(x)
            return x + 1
    m = Count()
    x = ember.ones(2)
    assert ember.jit.trace(m, x) is m and len(calls) == 1 and calls[0] is x


def test_trace_errors_as_torch():
    tm, em, tx, ex = _pair()
    same_error(lambda: ember.jit.trace(lambda a: a.reshape(5), ember.ones(2, 3)),
                lambda: torch.jit.trace(lambda a: a.reshape(5), torch.ones(2, 3)))
    same_error(lambda: ember.jit.trace(em.halve, ex), lambda: torch.jit.trace(tm.halve, tx))
    same_error(lambda: ember.jit.trace(em), lambda: torch.jit.trace(tm))
    same_error(lambda: ember.jit.trace_module(3, {}), lambda: torch.jit.trace_module(3, {}))
    same_error(lambda: ember.jit.trace_module(em, [ex]), lambda: torch.jit.trace_module(tm, [tx]))


def test_decorators_return_what_they_decorate_with_torch_errors():
    def f(x):
        return x
    for lib in (torch, ember):
        assert lib.jit.script_if_tracing(f)(3) == 3
        assert lib.jit.ignore(f) is f and lib.jit.export(f) is f and lib.jit.unused(f) is f
        assert lib.jit.ignore(drop=False)(f)(4) == 4
    assert ember.jit.interface(_Shape) is _Shape
    same_error(lambda: ember.jit.ignore(3), lambda: torch.jit.ignore(3))
    same_error(lambda: ember.jit.interface(f), lambda: torch.jit.interface(f))
    for lib in (torch, ember):
        with pytest.warns(FutureWarning, match=r"ignore\(True\) has been deprecated"):
            assert lib.jit.ignore(True)(f) is f


def test_annotations_and_flags_as_torch():
    assert ember.jit.Final is torch.jit.Final is typing.Final
    value = {}
    assert ember.jit.annotate(typing.Dict[str, int], value) is value
    assert torch.jit.annotate(typing.Dict[str, int], value) is value
    assert ember.jit.is_scripting() is torch.jit.is_scripting() is False
    assert ember.jit.is_tracing() is torch.jit.is_tracing() is False


def test_script_module_subclass_with_attribute_and_script_method():
    def make(lib):
        class Legacy(lib.jit.ScriptModule):
            def __init__(self):
                super().__init__()
                self.factor = lib.jit.Attribute(3.0, float)

            @lib.jit.script_method
            def forward(self, x):
                return x * self.factor
        return Legacy()
    tm, em = make(torch), make(ember)
    assert em.factor == tm.factor == 3.0
    assert isinstance(em, ember.jit.ScriptModule) and isinstance(em, ember.nn.Module)
    _close(em(ember.arange(3.0)), tm(torch.arange(3.0)))
    assert issubclass(ember.jit.RecursiveScriptModule, ember.jit.ScriptModule)
    assert not isinstance(_affine, ember.jit.ScriptFunction)


def test_fork_and_wait():
    def add(a, b):
        return a + b
    tf = torch.jit.fork(add, torch.ones(2), b=2)
    ef = ember.jit.fork(add, ember.ones(2), b=2)
    assert isinstance(ef, ember.jit.Future) and ef.done() and tf.done()
    _close(ember.jit.wait(ef), torch.jit.wait(tf))
    _close(ef.wait(), tf.wait())
    _close(ef.value(), tf.value())
    _close(ef.then(lambda f: f.wait() * 3).wait(), tf.then(lambda f: f.wait() * 3).wait())
    _, em, _, ex = _pair()
    _close(ember.jit.wait(ember.jit.fork(em, ex)), em(ex))
    same_error(lambda: ember.jit.fork(lambda: 1 / 0), lambda: torch.jit.fork(lambda: 1 / 0))


def test_freeze_and_optimize_for_inference_as_torch():
    tm, em, tx, ex = _pair()
    same_error(lambda: ember.jit.freeze(ember.jit.script(em)),
                lambda: torch.jit.freeze(torch.jit.script(tm)))
    tf = torch.jit.freeze(torch.jit.script(tm).eval())
    ef = ember.jit.freeze(ember.jit.script(em).eval())
    assert ef is em
    _close(ef(ex), tf(tx))
    tm.train(), em.train()
    to = torch.jit.optimize_for_inference(torch.jit.script(tm))
    eo = ember.jit.optimize_for_inference(ember.jit.script(em))
    assert eo is em and not eo.training                 # torch's frozen result has no mode
    _close(eo(ex), to(tx))


def test_fusion_switches_return_what_torch_returns():
    t_old = torch.jit.set_fusion_strategy([("DYNAMIC", 3)])
    e_old = ember.jit.set_fusion_strategy([("DYNAMIC", 3)])
    try:
        assert e_old == t_old
        assert ember.jit.set_fusion_strategy([("STATIC", 1)]) == \
            torch.jit.set_fusion_strategy([("STATIC", 1)]) == [("DYNAMIC", 3)]
        same_error(lambda: ember.jit.set_fusion_strategy([("X", 1)]),
                    lambda: torch.jit.set_fusion_strategy([("X", 1)]))
    finally:
        torch.jit.set_fusion_strategy(t_old)
        ember.jit.set_fusion_strategy(e_old)
    t_on = torch.jit.onednn_fusion_enabled()
    assert ember.jit.onednn_fusion_enabled() is t_on
    try:
        assert ember.jit.enable_onednn_fusion(True) is torch.jit.enable_onednn_fusion(True) is None
        assert ember.jit.onednn_fusion_enabled() is torch.jit.onednn_fusion_enabled() is True
    finally:
        torch.jit.enable_onednn_fusion(t_on)
        ember.jit.enable_onednn_fusion(t_on)


class _Shape:
    def area(self) -> float:
        pass


def test_deprecation_warnings_as_torch():
    def f(x):
        return x

    def messages(lib):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.jit.script(f)
            lib.jit.trace(f, lib.ones(1))
            lib.jit.wait(lib.jit.fork(f, 1))
            lib.jit.interface(_Shape)
        return list(dict.fromkeys((type(m.message), str(m.message)) for m in w))
    assert messages(ember) == messages(torch)           # torch warns twice for a trace


def test_save_and_load_refuse_naming_the_alternative(tmp_path):
    _, em, _, _ = _pair()
    with pytest.raises(NotImplementedError, match=r"ember\.save\(model\.state_dict\(\)"):
        ember.jit.save(ember.jit.script(em), tmp_path / "m.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match="cannot read TorchScript archives"):  # a subclass
        ember.jit.load(tmp_path / "w.pt")


def _jit_isinstance_results(lib):
    """torch.jit.isinstance in eager mode: containers checked element by element, bare
    container types refused, the empty-container warning; jit.Error and strict_fusion."""
    from typing import Dict, List, Optional, Tuple, Union
    J, x = lib.jit, lib.ones(2)
    cases = [(x, lib.Tensor), ([x, x], List[lib.Tensor]), ([1, 2], List[int]),
             ([1, 2.0], List[int]), ({"a": x}, Dict[str, lib.Tensor]),
             ({"a": 1}, Dict[str, lib.Tensor]), ((1, "a"), Tuple[int, str]),
             ((1,), Tuple[int, str]), (None, Optional[int]), (3, Optional[int]),
             ("s", Optional[int]), ([[1]], List[List[int]]), ([[1.0]], List[List[int]]),
             ([], List[int]), ({}, Dict[str, int]), (1, (str, int)), (1, [int]), ([1], list),
             ({}, dict), (1, Union[int, str]), ([1], Optional[List[int]]), (1, int | str),
             (x, (List[int], lib.Tensor)), (1, List)]
    out = []
    for obj, tp in cases:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                r = J.isinstance(obj, tp)
            except RuntimeError as e:
                r = str(e)
        out.append((r, [str(m.message) for m in w]))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with J.strict_fusion():
            pass
    out.append([(str(m.message), m.filename) for m in w])
    out.append((J.Error.__mro__[1:], "isinstance" in J.__all__, "strict_fusion" in J.__all__))
    return out


def test_jit_isinstance_error_and_strict_fusion_as_torchs():
    assert _jit_isinstance_results(ember) == _jit_isinstance_results(torch)
