"""torch.fx.Tracer and symbolic_trace: run a module's forward on Proxies and record a Graph.

While tracing, `nn.Module.__call__` goes through Tracer.call_module (leaf modules become
`call_module` nodes, others are traced through), reading a module's Parameter goes through
Tracer.getattr (a `get_attr` node), and functions registered with `wrap` (and math's, the
default autowrap module) become `call_function` nodes. ember keeps parameters in the module's
`__dict__`, so the tracer patches `Module.__getattribute__` where torch patches `__getattr__`."""
import builtins
import functools
import inspect
import math
from collections import OrderedDict

import ember
from ..nn import Module, Parameter, Sequential
from .graph import Graph
from .graph_module import GraphModule
from .node import map_aggregate
from .proxy import Proxy, TracerBase, _dispatch_to_proxies

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "PHBase", "is_fx_tracing"]

_HAS_VARSTUFF = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_is_fx_tracing_flag = False


def is_fx_tracing():
    return _is_fx_tracing_flag


class PHBase:
    """A placeholder in concrete_args: this input stays an input of the graph."""

    def __repr__(self):
        return "PH"


PH = PHBase()


class Tracer(TracerBase):
    """Records a Graph from a module or function (`Tracer().trace(m)`); subclass it to choose
    the leaf modules (is_leaf_module) or what a module call records (call_module)."""

    def __init__(self, autowrap_modules=(math,), autowrap_functions=()):
        self._autowrap_function_ids = {
            id(value) for m in autowrap_modules for name, value in vars(m).items()
            if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_search = list(autowrap_modules)
        self.submodule_paths = None
        self.root_module_name = ""
        self.module_stack = OrderedDict()
        self.num_calls = {}

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        if self.module_stack:
            node.meta["nn_module_stack"] = OrderedDict(self.module_stack)
        return node

    def get_fresh_qualname(self, prefix):
        i = 0
        while hasattr(self.root, f"{prefix}{i}"):
            i += 1
        return f"{prefix}{i}"

    def create_arg(self, a):
        """Parameters, buffers and submodules of the root become `get_attr` nodes; other
        tensors are stored on the root as `_tensor_constant<N>` and fetched the same way."""
        if isinstance(a, Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, ember.Tensor):
            for n, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", n, (), {})
        elif isinstance(a, Module):
            for n, m in self.root.named_modules():
                if a is m:
                    return self.create_node("get_attr", n, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            args = tuple(self.create_arg(e) for e in a)
            return self.create_node("call_function", a.__class__, args, {})
        if isinstance(a, ember.Tensor):
            qualname = self.tensor_attrs.get(id(a))
            if qualname is None:
                qualname = self.get_fresh_qualname("_tensor_constant")
                self.tensor_attrs[id(a)] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        return super().create_arg(a)

    def is_leaf_module(self, m, module_qualified_name):
        """ember.nn's modules (Sequential excepted) are leaves, as torch.nn's are in torch."""
        return m.__module__.startswith("ember.nn") and not isinstance(m, Sequential)

    def path_of_module(self, mod):
        if self.submodule_paths:
            path = self.submodule_paths.get(mod)
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for n, p in self.root.named_modules():
            if mod is p:
                return n
        raise NameError("module is not installed as a submodule")

    def call_module(self, m, forward, args, kwargs):
        """A leaf module's call becomes a `call_module` node; others run `forward`, traced."""
        name = self.path_of_module(m)
        calls = self.num_calls.get(name, 0)
        key = f"{name}@{calls}" if calls else name
        self.module_stack[key] = (name, type(m))
        self.num_calls[name] = calls + 1
        try:
            if not self.is_leaf_module(m, name):
                return forward(*args, **kwargs)
            return self.create_proxy("call_module", name, args, kwargs)
        finally:
            self.module_stack.popitem(last=True)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        """A module's Parameter (and, with proxy_buffer_attributes, buffer) read while tracing:
        one `get_attr` node per name."""
        if isinstance(attr_val, Parameter):
            collection = self.root.named_parameters()
        elif self.proxy_buffer_attributes and isinstance(attr_val, ember.Tensor):
            collection = self.root.named_buffers()
        else:
            return attr_val
        for n, p in collection:
            if attr_val is p:
                if n not in parameter_proxy_cache:
                    parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {})
                return parameter_proxy_cache[n]
        return attr_val

    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        """The placeholders of the traced function's parameters (`self` excepted)."""
        fn = inspect.unwrap(root_fn)
        co = fn.__code__
        total_args = co.co_argcount + co.co_kwonlyargcount
        names = iter(co.co_varnames)
        args = []
        if is_module:
            next(names)
            args.append(self.root)
            total_args -= 1
        arg_names = [next(names) for _ in range(total_args)]
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got "
                                   f"{len(concrete_args)} concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        sig = inspect.signature(fn)
        args.extend(self._proxy_placeholder(n, concrete_args, sig, fn) for n in arg_names)
        if co.co_kwonlyargcount or co.co_flags & _HAS_VARSTUFF:
            if co.co_flags & inspect.CO_VARARGS:
                args.append(self._proxy_placeholder("*" + next(names), concrete_args, sig, fn))
            if co.co_flags & inspect.CO_VARKEYWORDS:
                args.append(self._proxy_placeholder("**" + next(names), concrete_args, sig, fn))
            # let the function take its *args/**kwargs as plain positional parameters
            code = co.replace(co_argcount=len(args), co_posonlyargcount=0,
                              co_kwonlyargcount=0, co_flags=co.co_flags & ~_HAS_VARSTUFF)
            root_fn = type(fn)(code, fn.__globals__, fn.__name__, fn.__defaults__,
                               fn.__closure__)
        return root_fn, args

    def _proxy_placeholder(self, name, concrete_args, sig, fn):
        if concrete_args is not None and name in concrete_args:
            x = concrete_args[name]
            if isinstance(x, (tuple, list, dict)):
                raise NotImplementedError("ember.fx: concrete_args holding containers (pytree "
                                          "inputs) are not supported")
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
            out = self.create_proxy("placeholder", f"{name}_1", default, {})
            if isinstance(x, PHBase):
                return out
            if type(x) is bool or type(x) in (str, int, float, complex):
                ember._assert(out == x, f"{name} has been specialized to have value {x} but "
                                        "got another value")
            elif x is None:
                self.create_proxy("call_function", _assert_is_none, (out, f"{name} has been "
                                  "specialized to have value None but got another value"), {})
            return x
        default = ()
        if name[0] != "*":
            param = sig.parameters[name]
            if param.default is not inspect.Parameter.empty:
                default = (param.default,)
        return self.create_proxy("placeholder", name, default, {},
                                 type_expr=fn.__annotations__.get(name))

    def trace(self, root, concrete_args=None):
        """Trace `root` (a Module's forward, or a function) into a Graph."""
        with _dispatch_to_proxies():
            return self._trace(root, concrete_args)

    def _trace(self, root, concrete_args):
        global _is_fx_tracing_flag
        was_tracing, _is_fx_tracing_flag = _is_fx_tracing_flag, True
        try:
            if isinstance(root, Module):
                self.root = root
                fn = getattr(type(root), self.traced_func_name)
                self.root_module_name = root._get_name()
                self.submodule_paths = {mod: name for name, mod in root.named_modules()}
            else:
                self.root = Module()
                fn = root
            self.graph = Graph(tracer_cls=type(self))
            self.tensor_attrs = {}
            self._collect_tensor_attrs(self.root, [])
            fn_globals = fn.__globals__
            fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
            with _Patcher() as patcher:
                self._patch_module_access(patcher)
                _patch_wrapped_functions(patcher)
                patcher.autowrap(fn_globals, self._autowrap_function_ids)
                for module in self._autowrap_search:
                    patcher.autowrap(vars(module), self._autowrap_function_ids)
                result = fn(*args)
                ann = inspect.get_annotations(inspect.unwrap(fn))
                self.create_node("output", "output", (self.create_arg(result),), {},
                                 type_expr=ann.get("return"))
            self.submodule_paths = None
        finally:
            _is_fx_tracing_flag = was_tracing
        return self.graph

    def _collect_tensor_attrs(self, m, prefix):
        for k, v in vars(m).items():
            if isinstance(v, ember.Tensor):
                self.tensor_attrs[id(v)] = ".".join(prefix + [k])
        for k, v in m.named_children():
            self._collect_tensor_attrs(v, prefix + [k])

    def _patch_module_access(self, patcher):
        cache = {}
        orig_getattribute = Module.__getattribute__
        orig_call = Module.__call__

        def module_getattribute(mod, attr):
            value = orig_getattribute(mod, attr)
            if isinstance(value, ember.Tensor):
                return self.getattr(attr, value, cache)
            return value

        def module_call(mod, *args, **kwargs):
            def forward(*args, **kwargs):
                return orig_call(mod, *args, **kwargs)
            forward_globals = getattr(getattr(mod, "forward", mod), "__globals__", {})
            patcher.autowrap(forward_globals, self._autowrap_function_ids)
            return self.call_module(mod, forward, args, kwargs)
        patcher.patch_method(Module, "__getattribute__", module_getattribute)
        patcher.patch_method(Module, "__call__", module_call)


class _Patcher:
    """Attribute and global replacements made for one trace, undone at its end."""

    def __init__(self):
        self.undo, self.visited = [], set()

    def patch(self, frame_dict, name, new_fn):
        if name not in frame_dict and hasattr(builtins, name):
            self.undo.append(lambda: frame_dict.pop(name))
        elif getattr(frame_dict[name], "_fx_patched", False):
            return
        else:
            orig = frame_dict[name]
            self.undo.append(lambda: frame_dict.__setitem__(name, orig))
        new_fn._fx_patched = True
        frame_dict[name] = new_fn

    def patch_method(self, cls, name, new_fn):
        if name in vars(cls):
            orig = vars(cls)[name]
            self.undo.append(lambda: setattr(cls, name, orig))
        else:
            self.undo.append(lambda: delattr(cls, name))
        setattr(cls, name, new_fn)

    def autowrap(self, frame_dict, function_ids):
        """Wrap the autowrap functions (math's by default) found in a module's globals."""
        if id(frame_dict) in self.visited:
            return
        self.visited.add(id(frame_dict))
        for name, value in list(frame_dict.items()):
            if not name.startswith("_") and callable(value) and id(value) in function_ids:
                self.patch(frame_dict, name, _create_wrapped_func(value))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        while self.undo:
            self.undo.pop()()


def _find_proxy(*objects):
    found = []
    map_aggregate(objects, lambda x: found.append(x) if isinstance(x, Proxy) else None)
    return found[-1] if found else None


def _create_wrapped_func(orig_fn):
    @functools.wraps(orig_fn)
    def wrapped(*args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is not None:
            out = proxy.tracer.create_proxy("call_function", orig_fn, args, kwargs)
            out.node.meta["is_wrapped"] = True
            return out
        return orig_fn(*args, **kwargs)
    return wrapped


_wrapped_fns_to_patch = {}      # (id(module globals), name) -> module globals


def _patch_wrapped_functions(patcher):
    for (_, name), frame_dict in list(_wrapped_fns_to_patch.items()):
        orig = frame_dict[name] if name in frame_dict else getattr(builtins, name)
        patcher.patch(frame_dict, name, _create_wrapped_func(orig))


def wrap(fn_or_name):
    """Call at module level (or use as a decorator) to make a global function a leaf: traced
    calls to it are recorded as `call_function` nodes instead of being traced through."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or "
                           "string name")
    fn_name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    f = inspect.currentframe().f_back
    if f.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped_fns_to_patch[(id(f.f_globals), fn_name)] = f.f_globals
    return fn_or_name


def symbolic_trace(root, concrete_args=None):
    """Trace `root` (a Module or a function) into a GraphModule; `concrete_args` fixes some
    inputs to given values (by name, or PH to keep one an input)."""
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)


@wrap
def _assert_is_none(value, msg):
    if value is not None:
        raise AssertionError(msg)
