"""Tensor subclasses and the __torch_function__ protocol against torch: results keep the
subclass (as_subclass, AliasBackward0), custom __torch_function__ sees torch's functions and
methods, registries keyed by functions, _make_subclass wrappers, printing, autograd, errors."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import _torch_function


@pytest.fixture(autouse=True)
def _plain_functions_afterwards():
    """Defining a subclass installs ember's dispatchers process-wide; the rest of the suite
    runs without them, as a program that never defines one."""
    yield
    _torch_function.disable()


def _program(lib):
    out = []

    class MyT(lib.Tensor):
        pass

    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    t = x.as_subclass(MyT)
    out.append((type(t).__name__, type(t.grad_fn).__name__, t.is_leaf, t.requires_grad))
    for code in ["t + 1", "1 - t", "t * t", "t.sum()", "L.sin(t)", "t[0]", "t.view(3, 1)",
                 "L.cat([t, t])", "t.detach()", "t.clone()", "t.to(L.float64)", "t.T",
                 "L.nn.functional.relu(t)", "L.nn.functional.linear(t, L.ones(2, 3))",
                 "t.max(0)", "t.split(2)", "L.stack((t, t)).sum(0)", "t.new_zeros(2)",
                 "L.zeros_like(t)", "L.linalg.norm(t)", "L.where(t > 0, t, 0.0)"]:
        r = eval(code, {"L": lib, "t": t})
        items = list(r) if isinstance(r, tuple) else [r]
        out.append((code, type(r).__name__, [type(i).__name__ for i in items],
                    [type(i.grad_fn).__name__ if i.grad_fn is not None else None
                     for i in items]))
    out.append((type(t.shape).__name__, type(t.tolist()).__name__, type(t.dim()).__name__,
                isinstance(t, lib.Tensor), lib.is_tensor(t)))
    (t * t).sum().backward()
    out.append(x.grad.tolist())
    p = lib.nn.Parameter(lib.ones(2))
    out.append((type(p * 2).__name__, type(p.as_subclass(MyT)).__name__))
    out.append(repr(lib.ones(2, 5, dtype=lib.float64).as_subclass(MyT)))
    out.append(repr(lib.arange(40.0).view(2, 20).as_subclass(MyT)))
    out.append(repr(MyT([1.0, 2.0])))

    calls = []

    class Logged(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    u = lib.ones(2).as_subclass(Logged)
    v = lib.add(u * 2, 1).sum()
    out.append((type(v).__name__, calls))

    handled = {}

    class Tagged(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in handled:
                return handled[func](*args, **(kwargs or {}))
            return super().__torch_function__(func, types, args, kwargs or {})

    handled[lib.mean] = lambda a, *r, **k: "custom mean"
    w = lib.ones(3).as_subclass(Tagged)
    out.append((lib.mean(w), type(w.sum()).__name__))

    class Wrapper(lib.Tensor):
        @staticmethod
        def __new__(cls, data, extra):
            t = lib.Tensor._make_subclass(cls, data, True)
            t.extra = extra
            return t

    z = Wrapper(lib.ones(2), "tag")
    out.append((type(z).__name__, z.extra, z.requires_grad, z.is_leaf, type(z + 1).__name__))

    class Decline(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    d = lib.ones(2).as_subclass(Decline)
    for f in (lambda: lib.add(d, 1), lambda: d.add(1), lambda: d + 1,
              lambda: lib.nn.functional.relu(d)):
        try:
            f()
        except TypeError as e:
            out.append(str(e).replace("__main__.", "").split(" at 0x")[0])

    class A(lib.Tensor):
        pass

    class B(A):
        pass

    a, b = lib.ones(1).as_subclass(A), lib.ones(1).as_subclass(B)
    out.append((type(a + b).__name__, type(b + a).__name__))
    return out


def test_subclass_protocol_matches_torch():
    got, want = _program(ember), _program(torch)
    for g, w in zip(got, want):
        assert g == w
    assert len(got) == len(want)


def test_as_subclass_shares_data_and_checks_its_argument():
    x = ember.zeros(3)

    class C(ember.Tensor):
        pass

    c = x.as_subclass(C)
    c[0] = 5.0
    assert x[0].item() == 5.0
    with pytest.raises(TypeError, match="must be a subclass of torch.Tensor"):
        x.as_subclass(int)
    np.testing.assert_array_equal((c * 2).numpy(), [10.0, 0.0, 0.0])


def test_overrides_helpers_and_disable_context():
    for lib in (ember, torch):
        class C(lib.Tensor):
            pass

        c, plain = lib.ones(2).as_subclass(C), lib.ones(2)
        assert lib.overrides.has_torch_function((c,)) and not \
            lib.overrides.has_torch_function((plain, 1))
        assert lib.overrides.is_tensor_like(c) and not lib.overrides.is_tensor_like([1])
        with lib._C.DisableTorchFunctionSubclass():
            assert type(c + 1) is lib.Tensor and type(c.sum()) is lib.Tensor
        assert type(c + 1) is C

        def double(x):
            if lib.overrides.has_torch_function_unary(x):
                return lib.overrides.handle_torch_function(double, (x,), x)
            return x * 2
        assert type(double(c)) is C and double(c).tolist() == [2.0, 2.0]


def test_ember_itself_defines_no_dispatching_subclass():
    """Parameter, Buffer and ember's other Tensor subclasses opt out, so a program that never
    defines a subclass never pays for dispatch."""
    import subprocess
    import sys
    code = ("import ember, ember.nn, ember.optim, ember.utils.data, ember.distributions, "
            "ember.nn.utils.parametrize; from ember import _torch_function as T; "
            "ember.nn.Linear(2, 2)(ember.ones(1, 2)).sum().backward(); print(T._ENABLED[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


_TENSOR_LIKE_PROGRAM = """
import warnings
import {lib} as torch
warnings.simplefilter("always")


class ScalarTensor:     # torch's docs' tensor-like type: not a Tensor subclass
    def __init__(self, n, value):
        self._n, self._value = n, value

    def tensor(self):
        return self._value * torch.eye(self._n)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name == "mean":
            return float(self._value) / self._n
        return (name, [type(a).__name__ for a in args])


s = ScalarTensor(5, 2)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = [torch.mean(s), torch.add(s, 1), torch.add(torch.ones(2), s), torch.ones(2) + s,
           torch.cat([torch.ones(1), s]), torch.nn.functional.relu(s), torch.ones(2).mul(s),
           torch.where(torch.ones(2) > 0, s, 1), torch.linalg.norm(s), torch.zeros_like(s)]
print(out)
print([str(w.message)[:60] for w in caught])
"""


def test_a_tensor_like_class_dispatches_from_its_first_call():
    """A plain class defining __torch_function__ (not a Tensor subclass) is dispatched to by
    the first ember function it meets, as in torch: its class statement turns dispatch on
    (ember ran the plain functions, which refused it, until a Tensor subclass appeared), and a
    plain-method __torch_function__ gets torch's once-a-process deprecation warning."""
    import subprocess
    import sys
    outs = [subprocess.run([sys.executable, "-c", _TENSOR_LIKE_PROGRAM.format(lib=lib)],
                           capture_output=True, text=True, check=True).stdout
            for lib in ("torch", "ember")]
    assert "('add', ['ScalarTensor', 'int'])" in outs[0]
    assert outs[1] == outs[0]


def _mode_log(lib):
    class Log(lib.overrides.TorchFunctionMode):
        def __init__(self):
            self.names = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.names.append(lib.overrides.resolve_name(func))
            return func(*args, **(kwargs or {}))

    class Triple(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            r = func(*args, **(kwargs or {}))
            return r * 3 if lib.overrides.resolve_name(func) == "torch.mul" else r

    class C(lib.Tensor):
        pass

    x, b = lib.ones(2, 2), lib.ones(2, 2, dtype=lib.bool)
    out = []
    for code in ["L.add(x, 1).sum(0) * 2", "L.nn.functional.relu(x) @ x.T", "x + 1", "1 + x",
                 "x - 1", "1 - x", "x * 2", "2 * x", "x / 2", "2 / x", "x // 2", "x % 2",
                 "x ** 2", "-x", "+x", "abs(x)", "~b", "b & b", "x == 1", "x != 1", "x < 1",
                 "x >= 1", "x[0]", "x.clone().__iadd__(1)", "len(x)",
                 "L.ones(2).as_subclass(C) + 1", "L.linalg.norm(x)"]:
        with Log() as m:
            r = eval(code, {"L": lib, "x": x, "b": b, "C": C})
        out.append((code, m.names, type(r).__name__))
    with Triple():
        out.append(lib.mul(lib.ones(2), 3).tolist())
    out.append(lib.add(x, 1).tolist())           # the mode is gone after the block
    return out


def test_torch_function_modes_see_torchs_functions():
    assert _mode_log(ember) == _mode_log(torch)


def test_subclasses_survive_pickle_with_their_attributes():
    import pickle
    for lib in (ember, torch):
        class Tagged(lib.Tensor):
            pass

        globals()["Tagged"] = Tagged            # picklable by name, as a module-level class
        Tagged.__qualname__ = "Tagged"
        t = lib.tensor([1.0, 2.0]).as_subclass(Tagged)
        t.tag = "x"
        r = pickle.loads(pickle.dumps(t))
        assert type(r) is Tagged and r.tag == "x" and r.tolist() == [1.0, 2.0]


def _base_mode_and_wrapped_function(lib):
    class Log(lib.overrides.BaseTorchFunctionMode):
        def __init__(self):
            self.seen = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.seen.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs)

    with Log() as mode:
        x = lib.ones(2) * 3
        y = lib.add(lib.zeros_like(x), x, alpha=2)
        z = x.where(y > 0, 0.0).broadcast_to(2, 2)

    @lib.overrides.wrap_torch_function(lambda a, b=None: (a, b))
    def f(a, b=None):
        """doc"""
        return a + 0 if b is None else a + b

    class Sub(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is f:
                return "intercepted"
            return super().__torch_function__(func, types, args, kwargs or {})

    class Duck:
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return "duck", func.__name__, func.__doc__

    return (mode.seen, repr(x), repr(y), repr(z), repr(f(lib.ones(2))),
            f(lib.ones(2).as_subclass(Sub)), f(lib.ones(1), Duck()), f.__name__)


def test_base_torch_function_mode_and_wrap_torch_function_as_torch():
    assert _base_mode_and_wrapped_function(ember) == _base_mode_and_wrapped_function(torch)


def test_factory_and_method_names_as_torch():
    """A mode or a log sees each function under torch's name (aliases aside: ember binds
    arccos to acos itself); errors name it too."""
    for name in ("zeros", "ones", "empty", "rand", "randn", "zeros_like", "ones_like",
                 "empty_like"):
        assert getattr(ember, name).__name__ == getattr(torch, name).__name__ == name
    for name in ("where", "dist", "prelu", "broadcast_to"):
        assert getattr(ember.Tensor, name).__name__ == name
    with pytest.raises(TypeError, match=r"^zeros_like\(\): argument 'input' \(position 1\) "
                       r"must be Tensor, not list$"):
        ember.zeros_like([1, 2])


def _calls_seen(lib, make_modules, shape):
    """The functions a mode sees while modules (made by make_modules(lib)) run on an input."""
    calls = []

    class Mode(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            calls.append(lib.overrides.resolve_name(func))
            return func(*args, **(kwargs or {}))
    lib.manual_seed(0)
    mods, x = make_modules(lib), lib.randn(*shape)
    with Mode():
        for m in mods:
            m(x)
    return calls


def test_mode_sees_the_functionals_nn_modules_call():
    """nn.ReLU, nn.Conv2d, nn.MaxPool2d... keep their functional as a class attribute: a mode
    still sees F.relu, F.conv2d, ... as in torch (the ONNX exporter depends on it)."""
    def make(lib):
        return [lib.nn.ReLU(), lib.nn.Conv2d(2, 2, 3), lib.nn.MaxPool2d(2), lib.nn.Softmax(1),
                lib.nn.GELU(), lib.nn.AvgPool2d(2), lib.nn.Sigmoid(), lib.nn.ELU(),
                lib.nn.ConvTranspose2d(2, 2, 3), lib.nn.LogSoftmax(1), lib.nn.Tanh(),
                lib.nn.SiLU(), lib.nn.LeakyReLU(), lib.nn.Hardswish(), lib.nn.PixelShuffle(1),
                lib.nn.Upsample(scale_factor=2), lib.nn.ZeroPad2d(1), lib.nn.ReflectionPad2d(1),
                lib.nn.Unfold(2)]
    assert _calls_seen(ember, make, (1, 2, 6, 6)) == _calls_seen(torch, make, (1, 2, 6, 6))


def test_mode_sees_a_transformer_layers_default_activation():
    """TransformerEncoderLayer keeps F.relu from its default argument: a mode still sees it."""
    def make(lib):
        return [lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)]

    def functional(lib):
        return [c for c in _calls_seen(lib, make, (3, 2, 8))
                if c and c.startswith("torch.nn.functional.")]
    assert functional(ember) == functional(torch)


# calls whose reach torch's protocol defines: functions no handler sees (Python functions
# without the check, torch._C's own), factories only modes see, Python functions that hand
# another function on (F.upsample -> interpolate, F.sigmoid -> Tensor.sigmoid, F.max_pool2d
# with indices -> max_pool2d_with_indices, to_sparse_coo -> to_sparse, typename -> type)
_REACH = {
    "set_default_dtype": lambda L, x: L.set_default_dtype(L.float32),
    "get_default_dtype": lambda L, x: L.get_default_dtype(),
    "is_grad_enabled": lambda L, x: L.is_grad_enabled(),
    "manual_seed": lambda L, x: L.manual_seed(0),
    "initial_seed": lambda L, x: L.initial_seed(),
    "get_rng_state": lambda L, x: L.get_rng_state(),
    "set_rng_state": lambda L, x: L.set_rng_state(L.get_rng_state()),
    "broadcast_shapes": lambda L, x: L.broadcast_shapes((1, 2), (2, 1)),
    "is_tensor": lambda L, x: L.is_tensor(x),
    "is_storage": lambda L, x: L.is_storage(x),
    "set_printoptions": lambda L, x: L.set_printoptions(precision=4),
    "get_num_threads": lambda L, x: L.get_num_threads(),
    "use_deterministic_algorithms": lambda L, x: L.use_deterministic_algorithms(False),
    "get_float32_matmul_precision": lambda L, x: L.get_float32_matmul_precision(),
    "is_autocast_enabled": lambda L, x: L.is_autocast_enabled(),
    "set_warn_always": lambda L, x: L.set_warn_always(False),
    "from_numpy": lambda L, x: L.from_numpy(np.ones(2)),
    "frombuffer": lambda L, x: L.frombuffer(bytearray(8), dtype=L.float32),
    "to_dlpack": lambda L, x: L.to_dlpack(x),
    "from_dlpack": lambda L, x: L.from_dlpack(x),
    "typename": lambda L, x: L.typename(x),
    "tensor": lambda L, x: L.tensor([1.0]),
    "as_tensor": lambda L, x: L.as_tensor(x),
    "asarray": lambda L, x: L.asarray(x),
    "zeros": lambda L, x: L.zeros(2),
    "unique": lambda L, x: L.unique(x),
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1], indexing="ij"),
    "cdist": lambda L, x: L.cdist(x, x),
    "split": lambda L, x: L.split(x, 1),
    "max_pool2d": lambda L, x: L.max_pool2d(x[None], 2),
    "F.upsample": lambda L, x: L.nn.functional.upsample(x[None], scale_factor=2),
    "F.upsample_bilinear": lambda L, x: L.nn.functional.upsample_bilinear(x[None, None],
                                                                          scale_factor=2),
    "F.sigmoid": lambda L, x: L.nn.functional.sigmoid(x),
    "F.tanh": lambda L, x: L.nn.functional.tanh(x),
    "F.max_pool1d": lambda L, x: L.nn.functional.max_pool1d(x[None], 2),
    "F.max_pool1d indices": lambda L, x: L.nn.functional.max_pool1d(x[None], 2, 2, 0, 1, False,
                                                                     True),
    "F.max_pool2d indices": lambda L, x: L.nn.functional.max_pool2d(x[None], 2,
                                                                     return_indices=True),
    "F.adaptive_max_pool1d indices": lambda L, x: L.nn.functional.adaptive_max_pool1d(
        x[None], 1, True),
    "F.fractional_max_pool2d indices": lambda L, x: L.nn.functional.fractional_max_pool2d(
        x[None, None], 2, output_size=1, return_indices=True),
    "to_sparse_coo": lambda L, x: L.ones(2).to_sparse_coo(),
}


def _reach(lib, call):
    """What a mode sees of the call on a plain tensor, and a subclass on its own."""
    seen = []

    class Mode(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(lib.overrides.resolve_name(func))
            return func(*args, **(kwargs or {}))

    class Sub(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(lib.overrides.resolve_name(func))
            return super().__torch_function__(func, types, args, kwargs or {})
    x = lib.arange(6.0).view(2, 3)
    with Mode():
        call(lib, x)
    by_mode, seen[:] = list(seen), []
    call(lib, x.as_subclass(Sub))
    return by_mode, seen


@pytest.mark.parametrize("name", list(_REACH))
def test_which_calls_modes_and_subclasses_see(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _reach(ember, _REACH[name]) == _reach(torch, _REACH[name])


def test_torch_tensor_of_a_subclass_warns_at_the_callers_line():
    """torch.tensor is not dispatched to a subclass: its copy-construct warning names the
    caller's line, not a __torch_function__'s."""
    class Sub(ember.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs or {})
    s = ember.ones(2).as_subclass(Sub)
    with pytest.warns(UserWarning, match="To copy construct") as record:
        ember.tensor(s)
    assert record[0].filename == __file__


def test_ignored_functions_are_torchs():
    from ember.overrides import _IGNORED
    ignored, torch_ignored = ember.overrides.get_ignored_functions(), \
        torch.overrides.get_ignored_functions()
    def key(f):     # (by name: torch's modules may wrap a function after listing it)
        return getattr(f, "__module__", None), getattr(f, "__qualname__", f)
    torch_keys, both = {key(f) for f in torch_ignored}, 0
    for ns, names in _IGNORED.items():
        for name in names.split():
            t = torch
            for part in (ns[6:] + "." + name).strip(".").split("."):
                t = getattr(t, part)
            assert t in torch_ignored or key(t) in torch_keys, (ns, name)
            both += 1
    assert both == 251 and 160 < len(ignored) <= both
    assert ember.zeros in ignored and ember.Tensor.new_zeros in ignored and \
        ember.nn.functional.upsample in ignored and ember.add not in ignored


def _names(lib):
    o = lib.overrides
    return {o.resolve_name(f) for fs in o.get_overridable_functions().values() for f in fs}


def test_overridable_functions_and_testing_overrides():
    import inspect
    ov = ember.overrides.get_overridable_functions()
    F = ember.nn.functional
    assert ember.add in ov[ember] and ember.Tensor.add in ov[ember.Tensor] and \
        F.relu in ov[F] and ember.linalg.norm in ov[ember.linalg]
    assert ember.Tensor.grad.__get__ in ov[ember.Tensor.grad]
    assert not any(ember.zeros in fs or ember.abs_ in fs for fs in ov.values())
    mine, torchs = _names(ember), _names(torch)
    assert len(mine & torchs) > 0.94 * len(torchs)
    tests = ember.overrides.get_testing_overrides()
    assert len(tests) == len({f for fs in ov.values() for f in fs})
    for f in (ember.add, ember.Tensor.view, F.relu, ember.Tensor.grad.__get__):
        assert tests[f]() == -1
    assert str(inspect.signature(tests[F.relu])) == \
        str(inspect.signature(torch.overrides.get_testing_overrides()[torch.nn.functional.relu]))


def test_resolve_name_nowrap_and_method_or_property():
    for lib in (torch, ember):
        o = lib.overrides
        assert o.resolve_name(lambda x: x) is None
        assert [o.resolve_name(f) for f in (lib.add, lib.Tensor.add, lib.Tensor.grad.__get__,
                                            lib.nn.functional.relu, lib.unique)] == \
            ["torch.add", "torch.Tensor.add", "torch.Tensor.grad.__get__",
             "torch.nn.functional.relu", "torch.functional.unique"]
        assert lib.Tensor.grad.__get__ in o.get_default_nowrap_functions()
        assert [o.is_tensor_method_or_property(f) for f in (
            lib.Tensor.add, lib.add, lib.Tensor.grad.__get__)] == [True, False, True]
        with pytest.raises(RuntimeError, match="outside of '__torch_dispatch__'"):
            with o.enable_reentrant_dispatch():
                pass


def _redispatch_docs_example(lib):
    """torch.overrides.redispatch_function's docstring example: one hop skipped."""
    o, calls = lib.overrides, []

    class LoggingTensor(lib.Tensor):
        depth = 0

        @classmethod
        def __torch_function__(cls, func, types, args, kwargs=None):
            calls.append("  " * cls.depth + func.__name__)
            cls.depth += 1
            r = o.redispatch_function(func, types, args, kwargs)
            cls.depth -= 1
            return r

    def scaled_mul(a, b):
        if o.has_torch_function((a, b)):
            return o.handle_torch_function(scaled_mul, (a, b), a, b)
        return a * b + 1

    class LoggingMode(o.TorchFunctionMode):
        depth = 0

        def __torch_function__(self, func, types, args, kwargs=None):
            calls.append("  " * self.depth + "mode " + func.__name__)
            self.depth += 1
            with self:
                r = o.redispatch_function(func, types, args, kwargs)
            self.depth -= 1
            return r
    r = scaled_mul(LoggingTensor(lib.tensor([3.0])), LoggingTensor(lib.tensor([4.0])))
    with LoggingMode():
        m = scaled_mul(lib.tensor([3.0]), lib.tensor([4.0]))
    return calls, type(r).__name__, r.tolist(), m.tolist()


def test_redispatch_function_skips_one_hop():
    assert _redispatch_docs_example(ember) == _redispatch_docs_example(torch)


def test_python_calls_table_is_torchs():
    """ember/_python_calls.py is what scripts/gen_python_calls.py reads off torch's sources."""
    import importlib.util
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "gen_python_calls", os.path.join(root, "scripts", "gen_python_calls.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from ember._python_calls import CALLS
    assert CALLS == gen.torch_calls()


def test_python_functions_take_the_keywords_torch_hands():
    """A handler calls func(*args, **kwargs) with what torch's Python function handed it: ember's
    function under that name takes every one of those keyword arguments."""
    import inspect
    from ember._python_calls import CALLS
    owners = {"torch.Tensor": ember.Tensor, "torch.nn.functional": ember.nn.functional,
              "torch.functional": ember}
    _torch_function.enable()
    checked = 0
    for name, (_, _, keywords) in CALLS.items():
        owner, _, attr = name.rpartition(".")
        fn = getattr(owners[owner], attr, None)
        if getattr(fn, "torch_name", None) != name:     # (not dispatched by ember: __dir__ ...)
            continue
        params = inspect.signature(fn).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            assert [k for k in keywords if k not in params] == [], name
        checked += 1
    assert checked >= 130


def _handed(lib, call):
    """What a mode and a subclass's handler are given by `call`: the function's name, the
    positional arguments' types, the keyword arguments (tensors as their shapes). Left out:
    Tensor's dunder methods and torch's functions without a public name (the _VF functions
    some of torch's Python functions call)."""
    seen = []

    def log(func, args, kwargs):
        def show(v):
            return ("tensor", tuple(v.shape)) if isinstance(v, lib.Tensor) else v
        seen.append((lib.overrides.resolve_name(func), [type(a).__name__ for a in args],
                     None if kwargs is None else {k: show(v) for k, v in kwargs.items()}))

    class Mode(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            log(func, args, kwargs)
            return func(*args, **(kwargs or {}))

    class Sub(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            log(func, args, kwargs)
            return super().__torch_function__(func, types, args, kwargs or {})
    x = lib.arange(8.0).view(2, 4)
    with Mode():
        call(lib, x)
    by_mode, seen[:] = list(seen), []
    call(lib, x.as_subclass(Sub))
    return by_mode, [s for s in seen if s[0] and not s[0].startswith("torch.Tensor.__")]


_HANDS = {
    "F.relu": lambda L, x: L.nn.functional.relu(x),
    "F.dropout positional": lambda L, x: L.nn.functional.dropout(x, 0.0, True),
    "F.dropout keywords": lambda L, x: L.nn.functional.dropout(x, inplace=False, p=0.0),
    "F.threshold": lambda L, x: L.nn.functional.threshold(x, 1.0, 0.0),
    "F.softmax": lambda L, x: L.nn.functional.softmax(x, 1),
    "F.layer_norm": lambda L, x: L.nn.functional.layer_norm(x, (4,), eps=1e-3),
    "F.l1_loss": lambda L, x: L.nn.functional.l1_loss(x, x, reduction="sum"),
    "F.cross_entropy": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 3])),
    "F.max_pool1d": lambda L, x: L.nn.functional.max_pool1d(x, 2),
    "F.max_pool1d indices": lambda L, x: L.nn.functional.max_pool1d(x, 2, return_indices=True),
    "F.interpolate": lambda L, x: L.nn.functional.interpolate(x[None], scale_factor=2.0),
    "F.normalize": lambda L, x: L.nn.functional.normalize(x, dim=0),
    "F.pad": lambda L, x: L.nn.functional.pad(x, (1, 1)),
    "split": lambda L, x: L.split(x, 2, 1),
    "unique": lambda L, x: L.unique(x, return_counts=True),
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1], indexing="xy"),
    "broadcast_tensors": lambda L, x: L.broadcast_tensors(x, x[0]),
    "einsum": lambda L, x: L.einsum("ij->j", x),
    "tensordot": lambda L, x: L.tensordot(x, x.t(), 1),
    "norm": lambda L, x: L.norm(x, dim=1),
    "stft": lambda L, x: L.stft(x[0], 4, return_complex=True),
    "Tensor.split": lambda L, x: x.split(1),
    "Tensor.unique": lambda L, x: x.unique(sorted=False),
    "Tensor.norm": lambda L, x: x.norm(p=1),
    "Tensor.backward": lambda L, x: x.clone().requires_grad_().sum().backward(),
    "add (C++: kwargs None)": lambda L, x: L.add(x, 1),
    "sum (C++: as given)": lambda L, x: L.sum(x, dim=0),
}


@pytest.mark.parametrize("name", list(_HANDS))
def test_handlers_get_what_torchs_python_functions_hand(name):
    """torch's Python-written functions hand handlers their parameters as their own code
    passes them to handle_torch_function (F.relu(x): (x,), {'inplace': False}); its C++
    functions what the caller gave."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _handed(ember, _HANDS[name]) == _handed(torch, _HANDS[name])
