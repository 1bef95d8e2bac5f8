"""torch.library's Python custom operators: custom_op, register_autograd, register_kernel,
register_fake, register_autocast, register_vmap, and the lower-level Library / define / impl that
declare an op by its schema string; the ops are also reachable as ember.ops.<namespace>.<name>
(torch.ops.<namespace>.<name>).

A custom op runs its implementation (the one registered for the device of its first tensor
argument, or the default) below autograd, as torch does: with grad off inside, its outputs
connected to one `GeneratedBackwardFor_<ns>_<name>_defaultBackward` node that calls the
registered backward (or raises torch's error when none was registered). Outputs may not alias
inputs. ember has no fake tensors, so register_fake only records its function, and vmap runs the
op once per sample whatever register_vmap says.

An op declared by a schema runs its kernel as torch's autograd fallback does: with the kernel's
own ops recorded, and (unless the kernel was registered as CompositeImplicitAutograd or Autograd)
torch's warning when a gradient flows back through it, until register_autograd gives it a
formula."""
import ast
import functools
import inspect
import re
import warnings

from .autograd.grad_mode import STATE as _grad

__all__ = ["CustomOpDef", "Library", "custom_op", "define", "impl", "register_autocast",
           "register_autograd", "register_fake", "register_kernel", "register_vmap"]

OPS = {}                   # "ns::name" -> CustomOpDef
_KW_ONLY = inspect.Parameter.KEYWORD_ONLY


def _infer_schema(fn, mutates_args):
    sig = inspect.signature(fn)
    where = f"Got func with signature {sig})"
    for p in sig.parameters.values():
        if p.annotation is inspect.Parameter.empty:
            raise ValueError(f"infer_schema(func): Parameter {p.name} must have a type "
                             f"annotation. {where}")
    if sig.return_annotation is inspect.Signature.empty:
        raise ValueError(f"infer_schema(func): No return type annotation was provided. Please "
                         f"add one. {where}")
    if mutates_args != "unknown":
        missing = set(mutates_args) - set(sig.parameters)
        if missing:
            raise ValueError(f"infer_schema(func): {missing} in mutates_args were not found in "
                             "the custom op's signature. mutates_args should contain the names "
                             "of all args that the custom op mutates, or just the string "
                             f"'unknown' if you don't know. {where}")
    return sig


class CustomOpDef:
    """A custom operator: call it like its function."""

    def __init__(self, namespace, name, fn, mutates_args, device_types, schema=None):
        self._namespace, self._name = namespace, name
        self._qualname = f"{namespace}::{name}"
        self._schema = schema       # a declared op's schema string (Library.define)
        self._sig = _infer_schema(fn, mutates_args) if schema is None else _schema_signature(
            schema)
        self._params = list(self._sig.parameters.values())
        self._init_fn = fn
        self._kernels = {}
        self._default = None
        self._composite = False     # a declared op's kernel differentiates itself
        if device_types is None:
            self._default = fn
        else:
            self.register_kernel(device_types, fn)
        self._backward = self._setup_context = self._fake = self._vmap = None
        self._autocast = {}
        self._function = self._make_function()
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    @property
    def default(self):
        return self

    @property
    def _opoverload(self):
        """torch.ops.<namespace>.<name>.default: in ember, the op itself."""
        return self

    # ---- registrations ----------------------------------------------------------------------
    def register_kernel(self, device_types, fn=None):
        """The implementation for `device_types` ("cpu", "cuda", or a sequence of them)."""
        if fn is None:
            return lambda f: self.register_kernel(device_types, f)
        for d in ([device_types] if isinstance(device_types, str) else device_types):
            self._kernels[d] = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None):
        self._backward, self._setup_context = backward, setup_context

    def register_fake(self, fn, /):
        self._fake = fn
        return fn

    def register_vmap(self, func=None, /):
        if func is None:
            return self.register_vmap
        self._vmap = func
        return func

    def register_autocast(self, *, device_type, cast_inputs):
        self._autocast[device_type] = cast_inputs

    def _register_key(self, key, fn):
        """A kernel registered by dispatch key (Library.impl)."""
        if key in ("CPU", "CUDA"):
            self._kernels[key.lower()] = fn
        elif key == "Meta":
            self._fake = fn
        else:                               # "", the Composite and the Autograd keys
            self._default = fn
            self._composite = key in ("CompositeImplicitAutograd", "Autograd", "AutogradCPU",
                                      "AutogradCUDA")

    # ---- calls ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._schema is not None:
            _check_arity(self, args, kwargs)
        bound = self._sig.bind(*args, **kwargs)
        bound.apply_defaults()
        flat = tuple(bound.arguments[p.name] for p in self._params)
        device = next((a.device.type for a in flat if _is_tensor(a)), "cpu")
        cast = self._autocast.get(device)
        if cast is not None:
            from .amp.autocast import autocast, is_autocast_enabled
            from .amp.custom import _cast
            if is_autocast_enabled(device):
                with autocast(device_type=device, enabled=False):
                    return self._run(_cast(flat, device, cast))
        return self._run(flat)

    def _run(self, flat):
        """Through the autograd Function, with lists of tensors (Tensor[] arguments and
        returns) spread out so that each tensor is an input or output of its own."""
        if self._schema is not None and self._backward is None:
            return self._fallback(flat)
        spread, spec = _spread(flat)
        if not (_grad.enabled and any(_is_tensor(a) and a._rg for a in spread)):
            return self._impl(flat)             # torch's forward_no_grad: no setup_context
        box = []                    # forward leaves the returns' structure here
        out = self._function.apply(spec, box, *spread)
        out_spec, single = box[0]
        outs = _gather(out if isinstance(out, tuple) else (out,), out_spec)
        return outs[0] if single else tuple(outs)

    def _fallback(self, flat):
        """A declared op without an autograd formula: its kernel's ops are recorded."""
        out = self._impl(flat, check_aliasing=False)
        if not self._composite:
            message = (
                f"{self._qualname}: an autograd kernel was not registered to the Autograd "
                "key(s) but we are trying to backprop through it. This may lead to silently "
                "incorrect behavior. This behavior is deprecated and will be removed in a future "
                "version of PyTorch. If your operator is differentiable, please ensure you have "
                "registered an autograd kernel to the correct Autograd key (e.g. "
                "DispatchKey::Autograd, DispatchKey::CompositeImplicitAutograd). If your "
                "operator is not differentiable, or to squash this warning and use the previous "
                "behavior, please register torch::CppFunction::makeFallthrough() to "
                "DispatchKey::Autograd.")
            for o in _spread(out if isinstance(out, tuple) else (out,))[0]:
                if _is_tensor(o) and o.grad_fn is not None:
                    o.register_hook(lambda g: warnings.warn(message, stacklevel=2))
        return out

    def _impl(self, flat, check_aliasing=True):
        device = next((a.device.type for a in flat if _is_tensor(a)), "cpu")
        fn = self._kernels.get(device, self._default)
        if fn is None:
            raise NotImplementedError(
                f"Could not run '{self._qualname}' with arguments from the "
                f"'{device.upper()}' backend. This could be because the operator doesn't exist "
                "for this backend, or was omitted during the selective/custom build process (if "
                "using custom build). If you are a Facebook employee using PyTorch on mobile, "
                "please visit https://fburl.com/ptmfixes for possible resolutions. "
                f"'{self._qualname}' is only available for these backends: "
                f"[{', '.join(k.upper() for k in self._kernels)}].")
        pos = [v for p, v in zip(self._params, flat) if p.kind is not _KW_ONLY]
        kw = {p.name: v for p, v in zip(self._params, flat) if p.kind is _KW_ONLY}
        out = fn(*pos, **kw)
        if check_aliasing:
            self._check_aliasing(flat, out)
        return out

    def _check_aliasing(self, flat, out):
        inputs = [a for a in _spread(flat)[0] if _is_tensor(a)]
        outs = [o for o in _spread(out if isinstance(out, tuple) else (out,))[0] if _is_tensor(o)]
        for i, o in enumerate(outs):
            others = inputs + outs[:i]
            if any(o is a or (o.device == a.device and o.arr.size and a.arr.size
                              and o.be.xp.may_share_memory(o.arr, a.arr)) for a in others):
                raise RuntimeError(
                    f"{self._name} (with implementation in {inspect.getmodule(self._init_fn)}):"
                    " The output of this custom operator (1) must not also be an input to this "
                    "custom operator and (2) may not alias any inputs to this custom operator "
                    "or other returns. The most common way to trigger this error is if we have "
                    "y = custom_op(x) and y and x are the same Tensor. Please instead return a "
                    "clone of the offending output tensor(s) (e.g. return x.clone()) or refactor "
                    "the custom operator to not return y.")

    def _make_function(self):
        from .autograd.function import Function
        op = self
        n_pos = sum(p.kind is not _KW_ONLY for p in self._params)
        kw_names = [p.name for p in self._params if p.kind is _KW_ONLY]

        def forward(spec, box, *spread):
            out = op._impl(_gather(spread, spec))
            single = not isinstance(out, tuple)
            outs, out_spec = _spread((out,) if single else out)
            box.append((out_spec, single))
            return outs[0] if single and out_spec == [None] else tuple(outs)

        def setup_context(ctx, inputs, output):
            spec, box = inputs[:2]
            out_spec, single = box[0]
            ctx._custom_op_specs = spec, out_spec
            if op._setup_context is None:
                return
            inputs = tuple(_gather(inputs[2:], spec))
            output = _gather(output if isinstance(output, tuple) else (output,), out_spec)
            output = output[0] if single else tuple(output)
            if kw_names:
                op._setup_context(ctx=ctx, inputs=inputs[:n_pos],
                                  keyword_only_inputs=dict(zip(kw_names, inputs[n_pos:])),
                                  output=output)
            else:
                op._setup_context(ctx=ctx, inputs=inputs, output=output)

        def backward(ctx, *grads):
            if op._backward is None:
                raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}."
                                   "default but no autograd formula was registered. Please use "
                                   "register_autograd to add one.")
            spec, out_spec = ctx._custom_op_specs
            needs = ctx.needs_input_grad        # the user's: per positional argument
            ctx.needs_input_grad = tuple(_gather(needs[2:], spec)[:n_pos])
            try:
                result = op._backward(ctx, *_gather(grads, out_spec))
            finally:
                ctx.needs_input_grad = needs
            result = result if isinstance(result, tuple) else (result,)
            result += (None,) * (len(op._params) - n_pos)
            spread = []
            for g, n in zip(result, spec):
                if n is None:
                    spread.append(g)
                else:                       # one gradient per tensor of a Tensor[] argument
                    spread.extend([None] * n if g is None else g)
            return (None, None, *spread)

        name = f"GeneratedBackwardFor_{self._namespace}_{self._name}_default"
        return type(name, (Function,), {"forward": staticmethod(forward),
                                        "setup_context": staticmethod(setup_context),
                                        "backward": staticmethod(backward)})


def _spread(values):
    """values with each non-empty list of tensors spread out, and the spec to gather them
    again: per value None, or the length of its list."""
    spread, spec = [], []
    for v in values:
        if isinstance(v, (list, tuple)) and v and all(_is_tensor(t) for t in v):
            spread.extend(v)
            spec.append(len(v))
        else:
            spread.append(v)
            spec.append(None)
    return spread, spec


def _gather(spread, spec):
    out, i = [], 0
    for n in spec:
        if n is None:
            out.append(spread[i])
            i += 1
        else:
            out.append(list(spread[i:i + n]))
            i += n
    return out


def _is_tensor(a):
    from ._tensor import Tensor
    return isinstance(a, Tensor)


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """Register `fn` as the operator `name` ("namespace::op"); usable as a decorator."""
    if fn is None:
        return lambda f: custom_op(name, f, mutates_args=mutates_args,
                                   device_types=device_types, schema=schema)
    namespace, opname = name.split("::")
    op = OPS[name] = CustomOpDef(namespace, opname, fn, mutates_args, device_types)
    return op


def _op(op):
    if isinstance(op, CustomOpDef):
        return op
    if op not in OPS:
        raise ValueError(f"register: expected {op} to be a custom op defined by "
                         "ember.library.custom_op")
    return OPS[op]


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    _op(op).register_autograd(backward, setup_context=setup_context)


def register_kernel(op, device_types, func=None, /, *, lib=None):
    return _op(op).register_kernel(device_types, func)


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1):
    if func is None:
        return lambda f: register_fake(op, f)
    return _op(op).register_fake(func)


def register_autocast(op, device_type, cast_inputs, /, *, lib=None):
    _op(op).register_autocast(device_type=device_type, cast_inputs=cast_inputs)


def register_vmap(op, func=None, /, *, lib=None):
    return _op(op).register_vmap(func)


class _Namespace:
    """ember.ops.<namespace>: the custom ops defined in it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        op = OPS.get(f"{self._name}::{attr}")
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute "
                                 f"'{attr}'")
        return op


def namespace(name):
    """The namespace object for ember.ops.<name>, or None when no custom op is defined in it."""
    return _Namespace(name) if any(k.startswith(name + "::") for k in OPS) else None


# ---- ops declared by their schema: Library, define, impl -------------------------------------
_KINDS = ("DEF", "IMPL", "FRAGMENT")
_DEF_NAMESPACES = set()             # namespaces a "DEF" Library holds
_PENDING = {}                       # "ns::name" -> [(dispatch key, kernel)] given before define


class Library:
    """torch.library.Library(ns, kind): "DEF" declares the namespace's ops (one DEF per
    namespace), "FRAGMENT" adds to it, "IMPL" registers kernels only."""

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        if kind == "DEF":
            if ns in _DEF_NAMESPACES:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                    "please put all of your definitions in a single TORCH_LIBRARY block.  If "
                    "you were trying to specify implementations, consider using "
                    "TORCH_LIBRARY_IMPL (which can be duplicated).  If you really intended to "
                    "define operators for a single namespace in a distributed way, you can use "
                    "TORCH_LIBRARY_FRAGMENT to explicitly indicate this.")
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._op_defs = []

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema, alias_analysis="", *, tags=()):
        """Declare the op `schema` names ("name(Tensor x, int k=2) -> Tensor"); returns its
        name."""
        name = schema[:schema.index("(")].strip()
        qualname, full = f"{self.ns}::{name}", f"{self.ns}::{schema.strip()}"
        if qualname in OPS:
            raise RuntimeError(
                f"Tried to register an operator ({full}) with the same name and overload name "
                "multiple times. Each overload's schema should only be registered with a single "
                "call to def().")
        op = OPS[qualname] = CustomOpDef(self.ns, name, None, (), None, schema=full)
        for key, fn in _PENDING.pop(qualname, ()):
            op._register_key(key, fn)
        self._op_defs.append(qualname)
        return name

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False):
        """Register `fn` as the kernel of `op_name` for `dispatch_key` ("CPU", "CUDA",
        "CompositeImplicitAutograd", "CompositeExplicitAutograd", "Autograd", "Meta")."""
        qualname = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        key = dispatch_key or self.dispatch_key
        if qualname in OPS:
            OPS[qualname]._register_key(key, fn)
        else:
            _PENDING.setdefault(qualname, []).append((key, fn))

    def _destroy(self):
        for qualname in self._op_defs:
            OPS.pop(qualname, None)
        self._op_defs = []
        if self.kind == "DEF":
            _DEF_NAMESPACES.discard(self.ns)


_LIBRARIES = {}                     # the FRAGMENT libraries define() and impl() use


def _fragment(ns):
    if ns not in _LIBRARIES:
        _LIBRARIES[ns] = Library(ns, "FRAGMENT")
    return _LIBRARIES[ns]


def define(qualname, schema, *, lib=None, tags=()):
    """torch.library.define("ns::name", "(Tensor x) -> Tensor")."""
    ns, name = qualname.split("::")
    (lib or _fragment(ns)).define(name + schema, tags=tags)


_DEVICE_KEYS = {"cpu": "CPU", "cuda": "CUDA", "default": "CompositeExplicitAutograd"}


def impl(qualname, types, func=None, *, lib=None):
    """torch.library.impl("ns::name", "cpu" or a dispatch key, func); a decorator without
    func."""
    if func is None:
        return lambda f: impl(qualname, types, f, lib=lib) or f
    ns = qualname.split("::")[0]
    for t in ([types] if isinstance(types, str) else types):
        (lib or _fragment(ns)).impl(qualname, func, _DEVICE_KEYS.get(t, t))


def _split_top(text):
    """text split at its top-level commas (not those inside brackets or parentheses)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += c in "([" and 1 or (c in ")]" and -1 or 0)
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _default(text):
    return ast.literal_eval(text.replace("true", "True").replace("false", "False"))


def _schema_signature(schema):
    """The Python signature of a schema's arguments ("ns::name(Tensor x, *, int k=2) -> ...")."""
    args = schema[schema.index("(") + 1:schema.rindex("->")].strip()[:-1]
    params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for a in _split_top(args):
        if a == "*":
            kind = _KW_ONLY
            continue
        decl, _, default = a.partition("=")
        name = re.split(r"\s+", decl.strip())[-1]
        params.append(inspect.Parameter(
            name, kind, default=_default(default.strip()) if default else inspect.Parameter.empty))
    return inspect.Signature(params)


def _check_arity(op, args, kwargs):
    """The dispatcher's errors for a declared op called with arguments its schema refuses."""
    n_pos = sum(p.kind is not _KW_ONLY for p in op._params)
    where = f"Declaration: {op._schema}"
    if len(args) > len(op._params):
        raise RuntimeError(f"{op._qualname}() expected at most {len(op._params)} argument(s) but "
                           f"received {len(args)} argument(s). {where}")
    if len(args) > n_pos:
        raise RuntimeError(f"{op._qualname}() takes {n_pos} positional argument(s) but "
                           f"{len(args)} was/were given.  {where}")
    names = [p.name for p in op._params]
    for k in kwargs:
        if k not in names:
            raise RuntimeError(f"Unknown keyword argument '{k}' for operator '{op._qualname}'. "
                               f"Schema: {op._schema}")
        if names.index(k) < len(args):
            raise RuntimeError(f"Argument '{k}' specified both as positional and keyword "
                               f"argument. Schema: {op._schema}")
    for i, p in enumerate(op._params):
        if p.default is inspect.Parameter.empty and i >= len(args) and p.name not in kwargs:
            raise RuntimeError(f"{op._qualname}() is missing value for argument '{p.name}'. "
                               f"{where}")
