"""The __torch_function__ protocol: Tensor subclasses (and classes that define
__torch_function__) see every ember function and Tensor method called on them.

torch checks every call for such arguments in C++. ember pays nothing for it until a class with
__torch_function__ appears: `Tensor.__init_subclass__`, a class statement of a user's class
that defines one (`watch_class_statements`), or handle_torch_function calls `enable()`, which
replaces the public functions of ember, nn.functional, linalg, fft and special, and Tensor's
methods and properties, by dispatchers. A dispatcher calls the function directly
unless an argument (or an element of a list/tuple argument) is overloaded; then it calls the
overloaded types' __torch_function__(func, types, args, kwargs), subclasses first, as torch's
handle_torch_function does. Tensor's default __torch_function__ runs the function with subclass
dispatch disabled and turns Tensor results into the subclass (as_subclass)."""
import collections
import functools
import inspect
import itertools
import threading
import types
import warnings

from ._warnings import ALWAYS

__all__ = ["enable", "disable", "dispatched", "has_torch_function", "handle_torch_function",
           "overloaded_args", "DisableTorchFunctionSubclass", "DisableTorchFunction",
           "TorchFunctionMode", "resolve_name",
           "_disabled_torch_function_impl", "convert"]


class _State(threading.local):
    disabled = 0            # inside DisableTorchFunctionSubclass (subclass dispatch off)
    all_disabled = 0        # inside DisableTorchFunction (modes off too)
    modes = ()              # the TorchFunctionMode stack, innermost last
    skip_once = False       # the next has_torch_function says no (redispatch_function)


STATE = _State()


class _DispatchModes(threading.local):
    stack = ()      # the TorchDispatchModes entered (utils/_python_dispatch.py), innermost last
    handed = None   # (op, args, kwargs, ember's call) the running handler was handed
    subclasses = False  # (for all threads) a Tensor subclass with __torch_dispatch__ exists
    bridging = False    # a __torch_dispatch__ subclass's call is being made ATen calls


DISPATCH = _DispatchModes()
_ENABLED = [False]
_GENERATION = [0]       # enable()s so far: what caches of the dispatchers key on
_REPLACED = []          # (owner, name, original attribute): what disable() puts back
_DISPATCHERS = {}       # id(plain function) -> its dispatcher, while enabled


def namespaced(fn, name, module):
    """`fn` as a function of its own for another namespace: torch.special.erf and
    torch.linalg.matmul are builtins of their own (special_erf, linalg_matmul), not torch.erf
    and torch.matmul, and __torch_function__ handlers and fx see them under those names."""
    @functools.wraps(fn, updated=())    # (not a dispatcher's torch_name)
    def own(*args, **kwargs):
        return fn(*args, **kwargs)
    own.__name__ = own.__qualname__ = name
    own.__module__ = module
    return own


def dispatched(fn):
    """The dispatcher of an ember function kept by reference before enable() (a layer's
    `activation=F.relu`), so that modes and subclasses see the call; `fn` itself otherwise."""
    return _DISPATCHERS.get(id(fn), fn) if _ENABLED[0] else fn


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """A __torch_function__ that opts a class out (torch.nn.Parameter's)."""
    return func(*args, **(kwargs or {}))


class DisableTorchFunctionSubclass:
    """Context manager: calls inside skip the subclasses' __torch_function__ (modes still
    apply)."""

    def __enter__(self):
        STATE.disabled += 1
        return self

    def __exit__(self, *exc):
        STATE.disabled -= 1


class DisableTorchFunction:
    """Context manager: calls inside skip every __torch_function__, modes included."""

    def __enter__(self):
        STATE.disabled += 1
        STATE.all_disabled += 1
        return self

    def __exit__(self, *exc):
        STATE.disabled -= 1
        STATE.all_disabled -= 1


class TorchFunctionMode:
    """torch.overrides.TorchFunctionMode: inside `with mode:`, every ember function and Tensor
    method goes to mode.__torch_function__(func, types, args, kwargs) first; while it runs the
    mode is off, so calling func there runs the function."""
    # ember's own modes (vmap's Batching) set these: _raw_calls, to be handed the call as made
    # (no types, no torch-form arguments, kwargs as a dict; they never return NotImplemented),
    # and _skips, the torch names of the calls they need not see (a call all the modes skip
    # runs as without modes)
    _raw_calls = False
    _skips = frozenset()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        enable()
        STATE.modes = STATE.modes + (self,)
        return self

    def __exit__(self, *exc):
        modes = STATE.modes
        STATE.modes = modes[:-1] if modes and modes[-1] is self else \
            tuple(m for m in modes if m is not self)


def _seen(name):
    """Whether a mode on the stack sees calls of torch's `name` (its _skips lack it)."""
    for mode in STATE.modes:
        if name not in mode._skips:
            return True
    return False


def _through_mode(func, args, kwargs):
    """Hand a call to the innermost mode (popped while it runs)."""
    modes = STATE.modes
    mode = modes[-1]
    STATE.modes = modes[:-1]
    try:
        if mode._raw_calls:
            return mode.__torch_function__(func, (), args, kwargs)
        overloaded = () if STATE.disabled else [
            a for a in overloaded_args(args + tuple(kwargs.values())) if _KIND[type(a)] is True]
        kinds = tuple(dict.fromkeys(type(a) for a in overloaded))
        result = mode.__torch_function__(func, kinds, args, _handed_kwargs(func, kwargs))
        if result is NotImplemented and overloaded:
            result = handle_torch_function(func, overloaded, *args, **kwargs)
    finally:
        STATE.modes = modes
    if result is NotImplemented:
        raise TypeError(f"Multiple dispatch failed for '{resolve_name(func)}'; all "
                        "__torch_function__ handlers returned NotImplemented:\n\n  - mode "
                        f"object {mode!r}\n\nFor more information, try re-running with "
                        "TORCH_LOGS=not_implemented")
    return result


def resolve_name(f):
    """The public name of a dispatched function ("torch.add", "torch.Tensor.add", ...)."""
    name = getattr(f, "torch_name", None)
    if name is not None:
        return name
    mod = getattr(f, "__module__", None) or ""
    if mod.startswith("ember"):
        mod = "torch" + mod[len("ember"):]
    return f"{mod}.{getattr(f, '__qualname__', getattr(f, '__name__', f))}"


_KIND = {}      # type -> True when its values take part in dispatch (computed once per type)


_DISPATCH_ONLY = "__torch_dispatch__"     # _KIND of a subclass with it and no __torch_function__


def _overloaded(t):
    """Whether a value of type `t` takes part in dispatch: it has a __torch_function__ other
    than the opt-out (True), or it is a Tensor subclass with a __torch_dispatch__ only
    (_DISPATCH_ONLY); not Tensor itself."""
    kind = _KIND.get(t)
    if kind is None:
        from ._tensor import Tensor
        tf = getattr(t, "__torch_function__", None)
        kind = t is not Tensor and tf is not None and \
            tf is not _disabled_torch_function_impl and \
            getattr(tf, "__func__", None) is not _disabled_torch_function_impl
        if not kind and _dispatches(t):
            kind = _DISPATCH_ONLY
        _KIND[t] = kind
    return kind


_TD = {}        # type -> whether it is a Tensor subclass with a __torch_dispatch__


def _dispatches(t):
    td = _TD.get(t)
    if td is None:
        from ._tensor import Tensor
        td = _TD[t] = t is not Tensor and isinstance(t, type) and issubclass(t, Tensor) and \
            getattr(t, "__torch_dispatch__", None) is not None
        if td:
            DISPATCH.__class__.subclasses = True
    return td


def dispatch_args(values):
    """The arguments whose type's __torch_dispatch__ is handed ATen calls, in torch's order
    (as overloaded_args)."""
    return _in_torchs_order(values, _dispatches)


def _subclass_call(func, args, kwargs):
    """A call that a __torch_dispatch__ subclass takes part in, and no __torch_function__
    took: its ATen calls handed to the subclass (utils/_python_dispatch.py), or the function
    itself (its metadata queries; the calls the ATen rules make)."""
    if DISPATCH.bridging:
        return getattr(func, "__wrapped__", func)(*args, **kwargs)
    from .utils._python_dispatch import subclass_call
    return subclass_call(func, args, kwargs)


def overloaded_args(values):
    """The arguments whose __torch_function__ runs (or whose __torch_dispatch__: _KIND
    _DISPATCH_ONLY), in torch's order: left to right, each subclass ahead of its base classes;
    one per type."""
    return _in_torchs_order(values, _overloaded)


def _in_torchs_order(values, chosen):
    """The arguments (and elements of list/tuple arguments) whose type is `chosen`, one per
    type, left to right with each subclass ahead of its base classes."""
    found = []
    for v in values:
        for a in (v if type(v) in (list, tuple) else (v,)):
            t = type(a)
            if chosen(t) and not any(type(f) is t for f in found):
                at = len(found)
                for i, f in enumerate(found):
                    if issubclass(t, type(f)):
                        at = i
                        break
                found.insert(at, a)
    return found


def has_torch_function(values):
    if STATE.skip_once:         # (overrides.redispatch_function's one hop)
        STATE.skip_once = False
        return False
    if STATE.modes and not STATE.all_disabled:
        return True
    return not STATE.disabled and any(_KIND[type(a)] is True for a in overloaded_args(values))


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Run `public_api` through the active mode, then the __torch_function__ of the
    overloaded `relevant_args`."""
    enable()
    if STATE.modes and not STATE.all_disabled:
        return _through_mode(public_api, args, kwargs)
    overloaded = [a for a in overloaded_args(relevant_args) if _KIND[type(a)] is True]
    if not overloaded:      # (only __torch_dispatch__ subclasses)
        return _subclass_call(public_api, args, kwargs)
    kinds = tuple(dict.fromkeys(type(a) for a in overloaded))
    name = getattr(public_api, "torch_name", None) or \
        f"{getattr(public_api, '__module__', 'torch')}.{public_api.__name__}"
    in_python = _in_python(name)
    handed = kwargs if kwargs or in_python else None
    for a in overloaded:
        if type(a) not in _METHOD_CHECKED or in_python or ALWAYS[0]:
            _warn_if_plain_method(type(a), in_python)
        result = a.__torch_function__(public_api, kinds, args, handed)
        if result is not NotImplemented:
            return result
    if in_python:
        raise TypeError(f"no implementation found for '{name}' on types that implement "
                        f"__torch_function__: {list(kinds)}")
    lines = "".join(f"\n  - tensor subclass {k}" for k in kinds)     # (objects too)
    raise TypeError(f"Multiple dispatch failed for '{name}'; all __torch_function__ handlers "
                    f"returned NotImplemented:\n{lines}\n\nFor more information, try "
                    "re-running with TORCH_LOGS=not_implemented")


def _in_python(name):
    """Whether torch's `name` is a Python function (torch.nn.functional's, torch.functional's,
    a user's), whose handlers are given the keyword arguments it passes; torch's C++ functions
    hand None for no keyword arguments."""
    return name.startswith(("torch.nn.functional", "torch.functional")) or \
        not name.startswith("torch.")


def _handed_kwargs(func, kwargs):
    """The kwargs a handler is given: None for a C++ function of torch's called without any."""
    if kwargs:
        return kwargs
    name = getattr(func, "torch_name", None) or getattr(func, "__module__", None) or ""
    return kwargs if _in_python(name) else None


def _python_hands(torch_name):
    """For a function torch writes in Python, the function turning a call's (args, kwargs) into
    what torch's hands its handlers (ember/_python_calls.py: F.dropout(x) hands (x,),
    {'p': 0.5, 'training': True, 'inplace': False}); None for the others."""
    from ._python_calls import CALLS
    entry = CALLS.get(torch_name)
    if entry is None:
        return None
    params, n_positional, keywords = entry
    signature = []

    def hands(args, kwargs):
        if not signature:       # torch's parameters, from the table's text (made on first use)
            scope = {}
            exec(f"def f({params}): pass", scope)
            signature.append(inspect.signature(scope["f"]))
        try:
            bound = signature[0].bind(*args, **kwargs)
        except TypeError:
            return args, kwargs         # (the call fails in ember's function, as in torch's)
        bound.apply_defaults()
        values = bound.arguments
        handed = []
        for p in list(signature[0].parameters.values())[:n_positional]:
            if p.kind is p.VAR_POSITIONAL:
                handed += values[p.name]
            else:
                handed.append(values[p.name])
        return tuple(handed), {k: values[k] for k in keywords}
    return hands


_METHOD_CHECKED = set()     # the types the C++ check of _warn_if_plain_method has looked at


def _warn_if_plain_method(t, in_python):
    """torch's warning for a __torch_function__ defined as a plain method: once a process from
    its C++ functions' dispatch, a DeprecationWarning every call from its Python functions'
    (torch.nn.functional's, and overrides.handle_torch_function called by a user's)."""
    if not in_python:
        _METHOD_CHECKED.add(t)
    for k in t.__mro__:
        tf = vars(k).get("__torch_function__")
        if tf is None:
            continue
        if isinstance(tf, types.FunctionType):
            if in_python:
                warnings.warn("Defining your `__torch_function__ as a plain method is deprecated "
                              "and will be an error in future, please define it as a "
                              "classmethod.", DeprecationWarning, stacklevel=3)
            else:
                from ._warnings import warn_once
                warn_once("Defining your `__torch_function__` as a plain method is deprecated "
                          "and will be an error in future, please define it as a classmethod. "
                          "(Triggered internally at /__w/pytorch/pytorch/torch/csrc/utils/"
                          "python_arg_parser.cpp:359.)")
        return


def _dispatcher(fn, torch_name, public=None):
    """A stand-in for a public function or Tensor method: calls `fn` straight away unless an
    argument (or an element of a list/tuple argument) is overloaded. `public`: the function
    handlers are given instead of this one (torch hands them Tensor.mul for `x * y`)."""
    kind, operator = _KIND.get, torch_name.startswith("torch.Tensor.__")
    hands = _python_hands(torch_name)
    method = torch_name.startswith("torch.Tensor.") and not operator and \
        torch_name[13:] not in _PY_TENSOR_METHODS and "." not in torch_name[13:]
    if torch_name in _MODES_ONLY:
        @functools.wraps(fn)
        def dispatch(*args, **kwargs):
            if STATE.modes and not STATE.all_disabled:
                return _through_mode(dispatch, args, kwargs)
            return fn(*args, **kwargs)
        dispatch.torch_name = torch_name
        return dispatch

    @functools.wraps(fn)
    def dispatch(*args, **kwargs):
        if STATE.modes and not STATE.all_disabled and _seen(torch_name):
            if hands is not None and not STATE.modes[-1]._raw_calls:
                args, kwargs = hands(args, kwargs)
            return _through_mode(public or dispatch, args, kwargs)
        if not STATE.disabled:
            for v in args:
                t = type(v)
                k = kind(t)
                if k or (k is None and _overloaded(t)) or (t in (list, tuple) and any(
                        _overloaded(type(a)) for a in v)):
                    break
            else:
                if not kwargs or not overloaded_args(kwargs.values()):
                    return fn(*args, **kwargs)
            if method:
                _check_self(torch_name[13:], args)
            if hands is not None:
                args, kwargs = hands(args, kwargs)
            try:
                return handle_torch_function(public or dispatch, args + tuple(kwargs.values()),
                                             *args, **kwargs)
            except TypeError as e:
                # an operator whose handlers all decline gives Python's TypeError, as in torch
                if operator and str(e).startswith("Multiple dispatch failed"):
                    return NotImplemented
                raise
        elif DISPATCH.subclasses and not DISPATCH.bridging and \
                dispatch_args(args + tuple(kwargs.values())):
            return _subclass_call(public or dispatch, args, kwargs)
        return fn(*args, **kwargs)
    dispatch.torch_name = torch_name
    return dispatch


class _PropertyGet:
    """The getter of a Tensor property, dispatched (torch passes `Tensor.<name>.__get__`, a
    method-wrapper named as below)."""

    def __init__(self, prop, name):
        self.fget = prop.fget
        self.__name__, self.__qualname__ = "__get__", "getset_descriptor.__get__"
        self.torch_name = f"torch.Tensor.{name}.__get__"

    def __call__(self, t):
        return self.fget(t)

    # equal to the property's own __get__, as torch hands handlers `Tensor.grad.__get__`
    def __eq__(self, other):
        return other is self or other == self.prop.__get__

    def __hash__(self):
        return hash(self.prop.__get__)


def _dispatching_property(prop, name):
    get = _PropertyGet(prop, name)

    def fget(t):
        if STATE.modes and not STATE.all_disabled and _seen(get.torch_name):
            return _through_mode(get, (t,), {})
        if STATE.disabled and DISPATCH.subclasses and not DISPATCH.bridging and \
                _dispatches(type(t)):
            return _subclass_call(get, (t,), {})
        if STATE.disabled or not _overloaded(type(t)):
            return prop.fget(t)
        return handle_torch_function(get, (t,), t)
    fget.getter = get
    get.prop = dispatching = property(fget, prop.fset, prop.fdel, prop.__doc__)
    return dispatching


# Tensor attributes that stay as they are: object plumbing, pickling, the protocol itself
_KEEP = {"__new__", "__init__", "__init_subclass__", "__getattr__", "__getattribute__",
         "__setattr__", "__delattr__", "__dir__", "__hash__", "__class__", "__reduce__",
         "__reduce_ex__", "__getstate__", "__setstate__", "__torch_function__", "as_subclass",
         "_make_subclass", "__sizeof__", "__subclasshook__", "__weakref__", "__slots__",
         "__array_priority__", "__array_ufunc__", "__doc__", "__module__", "__dict__",
         "__class_getitem__", "grad_fn",
         "__iter__",        # (torch's skips the protocol: handlers see its dim() and unbind())
         # torch's Python methods without the protocol (to_sparse_coo calls to_sparse)
         "to_sparse_coo", "reinforce", "solve", "lstsq", "eig", "symeig"}


_C_PREFIXED = ("torch.linalg", "torch.fft", "torch.special")

# torch's functions that neither subclasses nor modes see: Python functions without a
# torch-function check and torch._C's own (not the argument parser's) functions
_UNDISPATCHED = {"torch": frozenset("""
    are_deterministic_algorithms_enabled autocast_decrement_nesting autocast_increment_nesting
    broadcast_shapes clear_autocast_cache compile compiled_with_cxx11_abi cond eig from_dlpack
    from_numpy frombuffer get_autocast_cpu_dtype get_autocast_dtype get_autocast_gpu_dtype
    get_default_device get_default_dtype get_deterministic_debug_mode get_device_module
    get_float32_matmul_precision get_num_interop_threads get_num_threads get_rng_state
    init_num_threads initial_seed is_anomaly_check_nan_enabled is_anomaly_enabled
    is_autocast_cache_enabled is_autocast_cpu_enabled is_autocast_enabled
    is_deterministic_algorithms_warn_only_enabled is_grad_enabled is_inference_mode_enabled
    is_storage is_tensor is_vulkan_available is_warn_always_enabled load lstsq manual_seed
    matrix_rank save seed set_anomaly_enabled set_autocast_cache_enabled set_autocast_cpu_dtype
    set_autocast_cpu_enabled set_autocast_dtype set_autocast_enabled set_autocast_gpu_dtype
    set_default_device set_default_dtype set_default_tensor_type set_deterministic_debug_mode
    set_float32_matmul_precision set_flush_denormal set_num_interop_threads set_num_threads
    set_printoptions set_rng_state set_warn_always solve symeig to_dlpack typename
    use_deterministic_algorithms vmap while_loop""".split()),
    # (torch's sigmoid/tanh call the Tensor method, upsample* call interpolate, each dispatched)
    "torch.nn.functional": frozenset(
        "sigmoid tanh upsample upsample_nearest upsample_bilinear".split())}
# torch's Tensor methods written in Python (torch/_tensor.py): these dispatch a non-Tensor
# `self` with __torch_function__; its C methods refuse it as Python's method descriptors do
_PY_TENSOR_METHODS = frozenset((
    "_clear_non_serializable_cached_data", "_reduce_ex_internal", "_typed_storage", "backward",
    "dim_order", "eig", "index", "is_shared", "istft", "lstsq", "lu", "module_load", "norm",
    "register_hook", "register_post_accumulate_grad_hook", "reinforce", "resize", "resize_as",
    "share_memory_", "solve", "split", "stft", "storage", "storage_type", "symeig",
    "to_sparse_coo", "unflatten", "unique", "unique_consecutive"))


def _check_self(name, args):
    """Python's TypeError for a C method of torch's TensorBase called on a non-Tensor."""
    from ._tensor import Tensor
    if not args:
        raise TypeError(f"descriptor '{name}' of 'torch._C.TensorBase' object needs an "
                        "argument")
    if not isinstance(args[0], Tensor):
        raise TypeError(f"descriptor '{name}' for 'torch._C.TensorBase' objects doesn't "
                        f"apply to a '{type(args[0]).__name__}' object")


# torch's functions that only modes see (their data argument is not a tensor argument to torch)
_MODES_ONLY = frozenset(("torch.tensor", "torch.as_tensor", "torch.asarray"))
# F's max pools choose by return_indices, as torch's boolean_dispatch: the *_with_indices
# function (dispatched under its own name) or the plain one; (position of return_indices)
_BOOLEAN_DISPATCH = {"max_pool1d": 6, "max_pool2d": 6, "max_pool3d": 6,
                     "adaptive_max_pool1d": 2, "adaptive_max_pool2d": 2,
                     "adaptive_max_pool3d": 2, "fractional_max_pool2d": 4,
                     "fractional_max_pool3d": 4}


def _boolean_dispatch(fn, name, with_indices):
    """F.<name>: with return_indices the dispatcher of <name>_with_indices, else `fn`'s own,
    whose handlers are given this function (torch hands them F.max_pool2d)."""
    at = _BOOLEAN_DISPATCH[name]

    @functools.wraps(fn)
    def choose(*args, **kwargs):
        flag = kwargs["return_indices"] if "return_indices" in kwargs else \
            args[at] if len(args) > at else False
        return (with_indices if flag else plain)(*args, **kwargs)
    plain = _dispatcher(fn, f"torch.nn.functional.{name}", public=choose)
    choose.torch_name = plain.torch_name
    return choose


def torch_function_name(name):
    """The name torch gives its top-level function `name` (torch.unique is torch.functional's)."""
    from .functional import __all__ as functional
    return f"torch.functional.{name}" if name in functional else f"torch.{name}"


_LAZY = {}       # name -> the dispatcher of ember's lazily imported function (ember.cdist, ...)


def lazy_function(fn, name):
    """ember.<name>, a function imported on first use, through its dispatcher while dispatch
    is on (the top-level ones made at enable() are ember's eagerly imported functions)."""
    if not _ENABLED[0] or name.startswith("_") or isinstance(fn, type) or not callable(fn) \
            or name in _UNDISPATCHED["torch"]:
        return fn
    d = _LAZY.get(name)
    if d is None:
        fn = getattr(fn, "__wrapped__", fn) if hasattr(fn, "torch_name") else fn
        d = _LAZY[name] = _dispatcher(fn, torch_function_name(name))
        _DISPATCHERS.setdefault(id(fn), d)
    return d


def _wrap_module(mod, prefix, dispatchers):
    skip = _UNDISPATCHED.get(prefix, ())
    for name in list(vars(mod)):
        fn = vars(mod)[name]
        if name.startswith("_") or isinstance(fn, (type, types.ModuleType)) or \
                not callable(fn) or hasattr(fn, "torch_name") or name in skip:
            continue
        if not (getattr(fn, "__module__", "") or "").startswith("ember"):
            continue
        if prefix == "torch.nn.functional" and name in _BOOLEAN_DISPATCH:
            with_indices = vars(mod)[name + "_with_indices"]
            if not hasattr(with_indices, "torch_name"):
                _wrap_module_function(mod, prefix, name + "_with_indices", with_indices,
                                      dispatchers)
            d = _boolean_dispatch(fn, name, vars(mod)[name + "_with_indices"])
            dispatchers.setdefault(id(fn), d)
            _replace(mod, name, d)
            continue
        _wrap_module_function(mod, prefix, name, fn, dispatchers)


def _wrap_module_function(mod, prefix, name, fn, dispatchers):
    d = _dispatcher(fn, torch_function_name(name) if prefix == "torch" else f"{prefix}.{name}")
    if prefix in _C_PREFIXED:       # (torch's are C builtins named linalg_norm, fft_fft, ...)
        d.__name__ = f"{prefix[6:]}_{name}"
    dispatchers.setdefault(id(fn), d)       # (a function published twice: its first name)
    _replace(mod, name, d)


def _wrap_module_functions(dispatchers):
    """nn modules that keep their functional as a class attribute (nn.ReLU's `_fn =
    staticmethod(F.relu)`) call it through its dispatcher too, as torch's modules reach
    F.relu's own torch-function check."""
    import sys
    for name, mod in list(sys.modules.items()):
        if not name.startswith("ember.nn.modules.") or mod is None:
            continue
        for cls in vars(mod).values():
            attr = vars(cls).get("_fn") if isinstance(cls, type) else None
            if isinstance(attr, staticmethod) and id(attr.__func__) in dispatchers:
                _replace(cls, "_fn", staticmethod(dispatchers[id(attr.__func__)]))


# operators whose handlers see the named method, as torch's bindings hand them
_OPERATOR_FUNCS = {"__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul",
                   "__rmul__": "mul", "__truediv__": "div", "__mod__": "remainder",
                   "__matmul__": "matmul", "__neg__": "neg", "__pos__": "positive",
                   "__abs__": "abs", "__ne__": "ne", "__lt__": "lt", "__le__": "le",
                   "__gt__": "gt", "__ge__": "ge", "__iadd__": "add_", "__imul__": "mul_",
                   "__isub__": "sub_", "__itruediv__": "div_"}


def _wrap_tensor(cls):
    plain = dict(vars(cls))
    for name, attr in plain.items():
        if name in _KEEP or (name.startswith("_") and not name.startswith("__")) or \
                name in _OPERATOR_FUNCS:
            continue
        if isinstance(attr, property) and attr.fget is not None:
            _replace(cls, name, _dispatching_property(attr, name))
        elif isinstance(attr, types.FunctionType):
            d = _dispatcher(attr, f"torch.Tensor.{name}")
            d.__name__ = name       # (handlers see Tensor.__getitem__ named so, not `getitem`)
            _replace(cls, name, d)
    for name, method in _OPERATOR_FUNCS.items():
        attr = plain.get(name)
        if isinstance(attr, types.FunctionType):
            _replace(cls, name, _dispatcher(attr, f"torch.Tensor.{name}",
                                            public=vars(cls).get(method)))


def _replace(owner, name, new):
    _REPLACED.append((owner, name, vars(owner)[name]))
    setattr(owner, name, new)


def wrap_attribute(owner, name, wrap):
    """setattr(owner, name, wrap(its current attribute)), and wrap the others it may take
    too: the plain one disable() or release() puts back, the dispatcher hold() puts back
    (one wrapper per attribute object)."""
    made = {}

    def wrapped(attribute):
        if id(attribute) not in made:
            made[id(attribute)] = wrap(attribute)
        return made[id(attribute)]
    setattr(owner, name, wrapped(getattr(owner, name)))
    for entries in (_REPLACED, _SHELVED):
        for i, (o, n, original) in enumerate(entries):
            if o is owner and n == name:
                entries[i] = (o, n, wrapped(original))
    for o, plains, dispatchers in _SHELF:
        if o is owner and name in plains:
            plains[name], dispatchers[name] = wrapped(plains[name]), wrapped(dispatchers[name])


def watch_class_statements():
    """Until enable(), every class statement outside ember goes through a stand-in for
    builtins.__build_class__ that calls enable() when the new class has a __torch_function__:
    a tensor-like class that is not a Tensor subclass (torch's docs' ScalarTensor) is seen by
    the first ember function it is passed to, as in torch. (Classes made by calling type(), or
    defined before `import ember`, are seen once anything else has enabled dispatch.)"""
    import builtins
    if getattr(builtins.__build_class__, "_ember_watch", False):
        return
    build = builtins.__build_class__

    def __build_class__(func, name, *bases, **kwargs):
        cls = build(func, name, *bases, **kwargs)
        if isinstance(cls, type) and any("__torch_function__" in vars(k) for k in cls.__mro__) \
                and not _own_or_torchs(cls.__module__) and _overloaded(cls):
            enable()
        return cls
    __build_class__._ember_watch, __build_class__._ember_build = True, build
    builtins.__build_class__ = __build_class__


def _own_or_torchs(module):
    """Whether a class of `module` is ember's or real torch's (imported beside ember, as the
    tests and benchmarks do: torch's own classes are never handed to ember's functions, and
    enabling dispatch for them would put the dispatchers on every call of the process)."""
    return module.startswith(("ember.", "torch.")) or module == "torch"


def _unwatch_class_statements():
    import builtins
    if getattr(builtins.__build_class__, "_ember_watch", False):
        builtins.__build_class__ = builtins.__build_class__._ember_build


def enable():
    """Install the dispatchers (once per process)."""
    if _ENABLED[0]:
        if _HELD[0]:            # installed by hold(): they stay from now on
            _HELD[0] = 0
            _unwatch_class_statements()
            if _SWAPPED[0]:     # (Tensor's operators: their dispatchers by setattr)
                _unshelve()
        return
    _ENABLED[0] = True
    _unwatch_class_statements()
    if _SHELVED:
        _unshelve()
        return
    _GENERATION[0] += 1
    import importlib
    import sys
    from ._tensor import Tensor
    _wrap_tensor(Tensor)
    for name in ("ember", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special"):
        _wrap_module(sys.modules.get(name) or importlib.import_module(name),
                     "torch" + name[len("ember"):], _DISPATCHERS)
    _wrap_module_functions(_DISPATCHERS)


_HELD = [0]         # the hold()s running while the dispatchers are in for them alone
_HOLDING = threading.RLock()    # (vmaps in several threads: one holds or releases at a time)
_SHELF = []         # per owner: (owner, {name: plain attribute}, {name: dispatcher})
_SHELVED = []       # the _REPLACED entries the last release() took out
# Tensor's operators (__add__, ...) are not set by hold() and release(): a setattr of one on
# the class updates its slot (~0.6 us each way), so hold() gives the plain function the code of
# a call of its dispatcher instead (the dispatcher calling a copy of the plain one), and
# release() its own code back
_SWAPS = ([], [], [])   # the plain operators, the code calling their dispatchers, their own code
_SWAPPED = [False]      # whether the plain operators run their dispatchers' code
_SET = []               # the names of Tensor's other dispatched attributes, set by setattr
_TARGET = "ember dispatcher"    # (in a trampoline's code: the constant its dispatcher takes)
_TRAMPOLINES = {}       # closure size -> the code of a function calling _TARGET


def _trampoline(fn, target):
    """Code for function `fn` (the same closure size, the closure unused) that calls
    target(*args, **kwargs)."""
    n = len(fn.__code__.co_freevars)
    code = _TRAMPOLINES.get(n)
    if code is None:
        free = [f"_{i}" for i in range(n)]
        source = ("def outer():\n" + "".join(f"    {v} = None\n" for v in free) +
                  "    def trampoline(*args, **kwargs):\n" +
                  (f"        if False:\n            {', '.join(free)},\n" if n else "") +
                  f"        target = {_TARGET!r}\n"
                  "        return target(*args, **kwargs)\n"
                  "    return trampoline\n")
        scope = {}
        exec(compile(source, "<ember dispatch>", "exec"), scope)
        code = _TRAMPOLINES[n] = scope["outer"]().__code__
    return code.replace(co_consts=tuple(target if c == _TARGET else c for c in code.co_consts),
                        co_name=fn.__code__.co_name, co_qualname=fn.__code__.co_qualname)


def _copy(fn):
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__, copy.__qualname__, copy.__module__, copy.__doc__ = \
        fn.__kwdefaults__, fn.__qualname__, fn.__module__, fn.__doc__
    copy.__dict__.update(fn.__dict__)
    return copy


def _swappable(plains, dispatchers):
    """Sort Tensor's dispatched attributes: the operators' plain functions into _SWAPS (their
    dispatchers made to call copies), the rest into _SET. An operator's function that is also
    one of ember's module attributes stays in _SET (its code is ember's own calls' too)."""
    import sys
    shared = {id(v) for name, m in list(sys.modules.items())
              if name.startswith("ember") and m is not None for v in vars(m).values()}
    for name, plain in plains.items():
        d = dispatchers[name]
        if name.startswith("__") and isinstance(plain, types.FunctionType) and \
                id(plain) not in shared and isinstance(d, types.FunctionType) and \
                "fn" in d.__code__.co_freevars:
            cell = d.__closure__[d.__code__.co_freevars.index("fn")]
            if cell.cell_contents is plain:
                cell.cell_contents = _copy(plain)
                for into, item in zip(_SWAPS, (plain, _trampoline(plain, d), plain.__code__)):
                    into.append(item)
                continue
        _SET.append(name)


def _swap(codes):
    collections.deque(map(setattr, _SWAPS[0], itertools.repeat("__code__"), codes), 0)


def _unswap():
    if _SWAPPED[0]:
        _swap(_SWAPS[2])
        _SWAPPED[0] = False


def hold():
    """Install the dispatchers for a while (torch.func.vmap's mode: ember/func/_vmap.py), to
    be taken out again by the matching release() unless something enables them meanwhile.
    Putting back what a release() took out is a dict update per module and a setattr per
    Tensor attribute (with the release, 0.3-0.7 ms), not enable()'s build; the
    class-statement watch stays on."""
    with _HOLDING:
        if _ENABLED[0]:
            if _HELD[0]:
                _HELD[0] += 1
            return
        if _SHELF:
            from ._tensor import Tensor
            _ENABLED[0] = _SWAPPED[0] = True
            for owner, _, dispatchers in _SHELF:
                if owner is Tensor:
                    for name in _SET:
                        setattr(owner, name, dispatchers[name])
                else:
                    _put(owner, dispatchers)
            _swap(_SWAPS[1])
            _REPLACED.extend(_SHELVED)
            _SHELVED.clear()
        else:
            enable()
            watch_class_statements()
        _HELD[0] = 1


def _put(owner, attributes):
    if isinstance(owner, types.ModuleType):
        vars(owner).update(attributes)
    else:
        for name, value in attributes.items():
            setattr(owner, name, value)


def _unshelve():
    """Put back the dispatchers release() took out (or hold() swapped in: Tensor's operators by
    setattr, handlers comparing the functions they are given with torch.Tensor's attributes)."""
    _unswap()
    for owner, _, dispatchers in _SHELF:
        _put(owner, dispatchers)
    _REPLACED.extend(_SHELVED)
    _SHELVED.clear()


def release():
    """The end of a hold(): the last one takes the dispatchers out, keeping them for the next."""
    with _HOLDING:
        if not _HELD[0]:
            return
        _HELD[0] -= 1
        if _HELD[0]:
            return
        if not _SHELF:
            owners = {}
            for owner, name, plain in reversed(_REPLACED):  # (a name replaced twice: its
                _, plains, dispatchers = owners.setdefault(id(owner), (owner, {}, {}))  # first)
                plains[name], dispatchers[name] = plain, vars(owner)[name]
            _SHELF.extend(owners.values())
            from ._tensor import Tensor
            for owner, plains, dispatchers in _SHELF:
                if owner is Tensor:
                    _swappable(plains, dispatchers)
        _SHELVED[:] = _REPLACED
        _REPLACED.clear()
        swapped = _SWAPPED[0]
        _unswap()
        from ._tensor import Tensor
        for owner, plains, _ in _SHELF:
            if owner is Tensor and swapped:
                for name in _SET:
                    setattr(owner, name, plains[name])
            else:
                _put(owner, plains)
        _ENABLED[0] = False


def disable():
    """Put the plain functions back (for tests: the process then runs as before any subclass
    was defined; subclasses defined so far lose their dispatch)."""
    _HELD[0] = 0
    _unswap()
    for swaps in _SWAPS:
        swaps.clear()
    _SET.clear()
    _SHELF.clear()
    _SHELVED.clear()
    while _REPLACED:
        owner, name, original = _REPLACED.pop()
        setattr(owner, name, original)
    _DISPATCHERS.clear()
    _LAZY.clear()
    _ENABLED[0] = False
    watch_class_statements()


def convert(ret, cls):
    """Tensor results as `cls` (torch's _convert), through lists, tuples and namedtuples."""
    from ._tensor import Tensor
    if cls is Tensor:
        return ret
    if isinstance(ret, Tensor) and not isinstance(ret, cls):
        return ret.as_subclass(cls)
    if isinstance(ret, (tuple, list)) and not type(ret).__name__ == "Size":
        items = [convert(r, cls) for r in ret]
        return type(ret)(*items) if hasattr(ret, "_fields") else type(ret)(items)
    return ret
