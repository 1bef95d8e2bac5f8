"""ember.jit (torch.jit): TorchScript's Python API, running eagerly.

ember has no TorchScript compiler or interpreter. What is here lets model code and scripts
written for torch.jit run with the same numbers, as torch runs them with the JIT disabled:

- script() returns its module, function or class unchanged (a function's source is checked as
  torch's front end reads it: a lambda raises torch's error); trace() and trace_module() call
  the model once on the example inputs (so errors surface where torch's tracer raises them)
  and return it unchanged. The result is the eager object, not a ScriptModule: there is no
  .graph or .code, and isinstance(scripted, ScriptModule) is False. Control flow is not frozen
  as a trace freezes it: each call runs the Python code again.
- ignore, unused, export, interface, script_if_tracing and script_method are decorators that
  return what they decorate; annotate() returns its value; Attribute(value, type) is torch's
  named tuple, whose value a ScriptModule stores (as torch's does); Final is typing.Final.
- is_scripting() and is_tracing() are False, during trace() too.
- fork() runs the function at once (torch's fork is not parallel outside TorchScript either)
  and returns a completed Future; wait() returns its value.
- freeze() and optimize_for_inference() return the module (optimize_for_inference puts it in
  eval mode, as torch's does; freeze requires eval mode, as torch's does).
- set_fusion_strategy, enable_onednn_fusion and onednn_fusion_enabled store and return their
  settings as torch does; nothing is fused.
- save() and load() raise NotImplementedError (a RuntimeError, which torch raises for archives
  it cannot read): ember cannot write or read TorchScript archives. Save and load state_dicts
  with ember.save / ember.load instead.

The deprecated functions warn with torch's DeprecationWarning texts."""
import collections.abc
import types
import typing
import warnings

from .futures import Future
from ._tensor import Tensor
from .nn import Module

__all__ = ["Attribute", "Error", "Final", "Future", "RecursiveScriptModule", "ScriptFunction",
           "ScriptModule", "annotate", "enable_onednn_fusion", "export", "fork", "freeze",
           "ignore", "interface", "is_scripting", "is_tracing", "load",
           "onednn_fusion_enabled", "optimize_for_inference", "save", "script",
           "script_if_tracing", "script_method", "set_fusion_strategy", "strict_fusion",
           "trace", "trace_module", "unused", "wait", "TracerWarning", "isinstance"]

Final = typing.Final


class TracerWarning(Warning):
    """A traced graph may not hold for other inputs (a tensor's value became a Python value;
    raised by ember.onnx.export's tracer, as torch's tracer warns)."""

    @staticmethod
    def ignore_lib_warnings():
        warnings.filterwarnings("ignore", category=TracerWarning, module="ember")


TracerWarning.__module__ = "torch.jit._trace"
_SWITCH = "Please switch to `torch.compile` or `torch.export`."


def _deprecated(name, advice="Please use `torch.compile` instead."):
    """torch's DeprecationWarning, from this module as torch's comes from its own."""
    warnings.warn(f"`torch.jit.{name}` is deprecated. {advice}", DeprecationWarning)


class ScriptModule(Module):
    """torch.jit.ScriptModule, for classes written as its subclasses (with script_method):
    they are ordinary ember Modules. script() and trace() never return one."""

    def __init__(self, arg=None):
        super().__init__()

    def __setattr__(self, name, value):
        if isinstance(value, Attribute):
            value = value.value
        super().__setattr__(name, value)


class RecursiveScriptModule(ScriptModule):
    """What torch.jit.script returns for a Module; ember returns the Module itself."""


class ScriptFunction:
    """What torch.jit.script returns for a function; ember returns the function itself."""


# ---- compiling: the eager object back ------------------------------------------------------
def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """torch.jit.script: `obj` (a Module, function or class) unchanged; a function's source is
    read as torch's front end reads it (a lambda is refused)."""
    _deprecated("script", _SWITCH)
    if isinstance(obj, types.FunctionType):
        _check_function_source(obj)
    return obj


def _check_function_source(fn):
    """torch._sources.parse_def's checks: the source can be read and is one function."""
    import ast
    import inspect
    import textwrap
    try:
        filename = inspect.getsourcefile(fn)
        lines, lineno = inspect.getsourcelines(fn)
    except OSError as e:
        raise OSError(f"Can't get source for {fn}. TorchScript requires source access in order "
                      "to carry out compilation, make sure original .py files are "
                      "available.") from e
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("def")), None)
    if start is not None:           # (torch's normalize_source_lines)
        pad = lines[start].split("def")[0]
        lines = [pad + (s[len(pad):] if s.startswith(pad) else s) if i != start else s
                 for i, s in enumerate(lines)]
    tree = ast.parse(textwrap.dedent("".join(lines)))
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise RuntimeError(f"Expected a single top-level function: {filename}:{lineno}")


def _as_args(example_inputs):
    """torch's make_tuple: a Tensor or a dict is one argument; other iterables the arguments."""
    if isinstance(example_inputs, (Tensor, dict)):
        return (example_inputs,)
    return tuple(example_inputs)


def _run_method(mod, inputs, example_inputs_is_kwarg):
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    for name, example in inputs.items():
        method = mod if name == "forward" else getattr(mod, name)
        if example_inputs_is_kwarg and isinstance(example, dict):
            method(**example)
        else:
            method(*_as_args(example))
    return mod


def _checks(name, check_trace, check_inputs):
    """The deprecation warnings of torch's trace checks: each traces again (once, or once per
    check input)."""
    if check_trace:
        for _ in range(1 if check_inputs is None else len(check_inputs)):
            _deprecated(name, _SWITCH)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """torch.jit.trace: calls `func` (a Module, its forward, or a function) once on the
    example inputs and returns it (the Module for a bound forward)."""
    _deprecated("trace", _SWITCH)
    if isinstance(func, Module) or (isinstance(getattr(func, "__self__", None), Module)
                                    and func.__name__ == "forward"):
        if example_inputs is None:
            if not isinstance(example_kwarg_inputs, dict):
                raise RuntimeError("example_kwarg_inputs should be a dict")
            example_inputs = example_kwarg_inputs
        mod = func if isinstance(func, Module) else func.__self__
        _deprecated("trace_method", _SWITCH)
        _checks("trace_method", check_trace, check_inputs)
        return _run_method(mod, {"forward": example_inputs},
                           isinstance(example_kwarg_inputs, dict))
    if isinstance(getattr(func, "__self__", None), Module):
        raise AttributeError("trace doesn't support compiling individual module's functions.\n"
                             "Please use trace_module")
    _checks("trace", check_trace, check_inputs)
    if isinstance(example_kwarg_inputs, dict):
        func(**example_kwarg_inputs)
    else:
        func(*_as_args(example_inputs))
    return func


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
                 _compilation_unit=None, example_inputs_is_kwarg=False, _store_inputs=True):
    """torch.jit.trace_module: calls each named method of `mod` once on its example inputs
    ({"forward": inputs, "method": inputs}) and returns `mod`."""
    _deprecated("trace_method", _SWITCH)
    _checks("trace_method", check_trace, check_inputs)
    return _run_method(mod, inputs, example_inputs_is_kwarg)


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """torch.jit.freeze: `mod` (in eval mode, as torch requires)."""
    _deprecated("freeze")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """torch.jit.optimize_for_inference: `mod`, put in eval mode as torch puts it."""
    _deprecated("optimize_for_inference")
    return mod.eval() if hasattr(mod, "training") else mod


# ---- decorators and annotations ------------------------------------------------------------
def ignore(drop=False, **kwargs):
    """@ignore or @ignore(drop=...): the function itself."""
    if callable(drop):
        return drop
    if not isinstance(drop, bool):
        raise RuntimeError(f"Argument to @torch.jit.ignore must be a bool or a function but got "
                           f"{drop}")
    drop_on_export = kwargs.pop("drop_on_export", None)
    if drop_on_export or drop:
        arg = "drop_on_export=True" if drop_on_export else "True"
        warnings.warn(f"ignore({arg}) has been deprecated. TorchScript will now drop the "
                      "function call on compilation. Use torch.jit.unused now. {}",
                      FutureWarning, stacklevel=2)
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def script_if_tracing(fn):
    return fn


def script_method(fn):
    _deprecated("script_method", _SWITCH)
    return fn


def interface(obj):
    """@interface on a class: the class itself."""
    _deprecated("interface")
    if not isinstance(obj, type):
        raise RuntimeError("interface must be applied to a class")
    return obj


def annotate(the_type, the_value):
    return the_value


class Attribute(typing.NamedTuple):
    """torch.jit.Attribute: a value and its TorchScript type (a ScriptModule stores the
    value)."""
    value: typing.Any
    type: typing.Any


Attribute.__module__ = "torch.jit._script"


def is_scripting():
    return False


class Error(Exception):
    """torch.jit.Error: what TorchScript raises for a Python exception inside scripted code."""


class strict_fusion:
    """torch.jit.strict_fusion: a context manager that only has effect in script mode (which
    ember never is): it warns so, as torch's does outside script mode."""

    def __init__(self):
        warnings.warn("Only works in script mode", stacklevel=2)

    def __enter__(self):
        pass

    def __exit__(self, type, value, tb):
        pass


# torch.jit.isinstance in eager mode: containers' element types checked on their elements
_RAW = {dict: "dict", list: "list", tuple: "tuple", typing.Dict: "Dict", typing.List: "List",
        typing.Optional: "Optional", typing.Tuple: "Tuple"}


def _needs_args(target_type):
    name = _RAW.get(target_type) if isinstance(target_type, typing.Hashable) else None
    if name is None:
        return
    if name.endswith("ict"):
        raise RuntimeError(f"Attempted to use {name} without contained types. Please add "
                           f"contained type, e.g. {name}[int, int]")
    raise RuntimeError(f"Attempted to use {name} without a contained type. Please add a "
                       f"contained type, e.g. {name}[int]")


def _warn_if_empty(obj):
    if obj == [] or obj == {} or obj == ():
        warnings.warn("The inner type of a container is lost when calling torch.jit.isinstance "
                      "in eager mode. For example, List[int] would become list and therefore "
                      "falsely return True for List[float] or List[str].", stacklevel=4)


def _is(obj, tp):
    return _container(obj, tp) if typing.get_origin(tp) else isinstance(obj, tp)


def _container(obj, target_type):
    origin, args = typing.get_origin(target_type), typing.get_args(target_type)
    _needs_args(target_type)
    if origin is list:
        _warn_if_empty(obj)
        return isinstance(obj, list) and all(_is(el, args[0]) for el in obj)
    if origin is dict:
        _warn_if_empty(obj)
        return isinstance(obj, dict) and all(
            isinstance(k, args[0]) and _is(v, args[1]) for k, v in obj.items())
    if origin is tuple:
        _warn_if_empty(obj)
        return isinstance(obj, tuple) and len(obj) == len(args) and \
            all(_is(el, t) for el, t in zip(obj, args))
    if origin is typing.Union or origin is types.UnionType:     # (Optional too)
        if obj is None:
            return True
        for t in args:
            if typing.get_origin(t):
                return _container(obj, t)
            if isinstance(obj, t):
                return True
    return False


def _isinstance(obj, target_type):
    """torch.jit.isinstance: isinstance that also checks container types (List[int],
    Dict[str, Tensor], Tuple[...], Optional[...]) element by element, as torch's eager mode."""
    if isinstance(target_type, collections.abc.Container):
        if not isinstance(target_type, tuple):
            raise RuntimeError("The second argument to `torch.jit.isinstance` must be a type or "
                               "a tuple of types")
        return any(_isinstance(obj, t) for t in target_type)
    if typing.get_origin(target_type):
        return _container(obj, target_type)
    _needs_args(target_type)
    return isinstance(obj, target_type)


def __getattr__(name):
    if name == "isinstance":    # (a module global of that name would shadow the builtin here)
        return _isinstance
    raise AttributeError(f"module 'ember.jit' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | {"isinstance"})


def is_tracing():
    return False


# ---- fork / wait ---------------------------------------------------------------------------
def fork(func, *args, **kwargs):
    """torch.jit.fork: runs func(*args, **kwargs) now; a Future holding its result."""
    _deprecated("fork")
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future):
    _deprecated("wait")
    return future.wait()


# ---- serialization: no TorchScript archives ------------------------------------------------
def save(m, f, _extra_files=None):
    raise NotImplementedError(
        "ember.jit.save cannot write TorchScript archives: ember has no TorchScript. Save the "
        "weights with ember.save(model.state_dict(), f) and rebuild the model in Python.")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError(
        "ember.jit.load cannot read TorchScript archives: ember has no TorchScript "
        "interpreter. Save the weights in torch with torch.save(model.state_dict(), f), then "
        "model.load_state_dict(ember.load(f)) on the same model built in Python.")


# ---- fuser switches: stored and returned, nothing is fused ---------------------------------
_fusion = {"strategy": [("STATIC", 2), ("DYNAMIC", 10)], "onednn": False}


def set_fusion_strategy(strategy):
    """Stores [(kind, depth), ...] (kind "STATIC" or "DYNAMIC"); returns the previous one."""
    _deprecated("set_fusion_strategy")
    new = [(kind, int(depth)) for kind, depth in strategy]
    for kind, _ in new:
        if kind not in ("STATIC", "DYNAMIC"):
            raise ValueError(f"FusionBehavior only supported 'STATIC' or 'DYNAMIC', got: {kind}")
    old, _fusion["strategy"] = _fusion["strategy"], new
    return old


def enable_onednn_fusion(enabled):
    _fusion["onednn"] = bool(enabled)


def onednn_fusion_enabled():
    return _fusion["onednn"]
