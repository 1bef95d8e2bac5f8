"""torch.fx.Proxy: the stand-in values symbolic tracing passes through a program.

Operators on a Proxy record `operator.*` calls, attribute reads record `getattr` (or, when
called, a `call_method`), and ember functions called with a Proxy reach Proxy.__torch_function__
through ember's dispatch (ember/_torch_function.py), which records a `call_function`."""
import dis
import inspect
import operator
from bisect import bisect_left
from contextlib import contextmanager

import ember
from .. import _torch_function
from .graph import magic_methods, reflectable_magic_methods
from .node import Node, _qualified_name, map_aggregate

__all__ = ["Proxy", "Attribute", "TracerBase", "GraphAppendingTracer", "TraceError"]

base_types = (str, int, float, bool, complex, ember.dtype, ember.Tensor, ember.device,
              ember.memory_format, ember.layout)


# torch's nn.functional functions written in Python hand __torch_function__ all their
# parameters: the required ones by position, the others (defaults filled in) by keyword, so
# torch's graphs read `relu(x, inplace = False)`. Its C functionals (conv2d, linear, gelu, ...)
# and torch's other functions pass the call as written; so does ember for them.
_PY_FUNCTIONALS = frozenset("""
    adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool1d_with_indices
    adaptive_max_pool2d adaptive_max_pool2d_with_indices adaptive_max_pool3d
    adaptive_max_pool3d_with_indices affine_grid alpha_dropout batch_norm binary_cross_entropy
    binary_cross_entropy_with_logits celu cosine_embedding_loss cross_entropy ctc_loss dropout
    dropout1d dropout2d dropout3d elu embedding embedding_bag feature_alpha_dropout fold
    fractional_max_pool2d fractional_max_pool2d_with_indices fractional_max_pool3d
    fractional_max_pool3d_with_indices gaussian_nll_loss glu grid_sample group_norm
    gumbel_softmax hardsigmoid hardswish hardtanh hinge_embedding_loss huber_loss instance_norm
    interpolate kl_div layer_norm leaky_relu linear_cross_entropy local_response_norm
    log_softmax lp_pool1d lp_pool2d lp_pool3d margin_ranking_loss max_pool1d
    max_pool1d_with_indices max_pool2d max_pool2d_with_indices max_pool3d
    max_pool3d_with_indices max_unpool1d max_unpool2d max_unpool3d mish mse_loss
    multi_margin_loss multilabel_margin_loss multilabel_soft_margin_loss nll_loss normalize pad
    poisson_nll_loss relu relu6 rms_norm rrelu selu silu smooth_l1_loss soft_margin_loss softmax
    softmin softsign tanhshrink threshold triplet_margin_loss triplet_margin_with_distance_loss
    unfold
    """.split())
_SIGNATURES = {}


# torch.functional's functions that hand their arguments on as called (the rest: as F's)
_AS_CALLED = frozenset("""atleast_1d atleast_2d atleast_3d block_diag broadcast_tensors
    cartesian_prod chain_matmul einsum istft meshgrid""".split())
# (positional arguments, ember's own parameters) where torch's passes differ from the rule:
# unravel_index hands `shape` on by keyword, split its size positionally
_PASSES = {"unravel_index": (1, ()), "split": (2, ("split_size",))}


def _as_torch_passes(fn, args, kwargs):
    """(args, kwargs) of a torch Python-level functional's call, as it hands them on."""
    sig = _SIGNATURES.get(fn)
    if sig is None:
        sig = _SIGNATURES[fn] = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    args, kwargs = [], {}
    positional, own = _PASSES.get(fn.__name__, (None, ()))
    for p in sig.parameters.values():
        if p.name in own:
            continue
        if (p.default is p.empty if positional is None else len(args) < positional) and \
                p.kind is p.POSITIONAL_OR_KEYWORD:
            args.append(bound.arguments[p.name])
        else:
            kwargs[p.name] = bound.arguments[p.name]
    return tuple(args), kwargs


_tracing = {"depth": 0, "restore": False}


@contextmanager
def _dispatch_to_proxies():
    """Switch ember's __torch_function__ dispatch on while tracing, and off again afterwards if
    it was off, so that ops run after a trace pay nothing for it."""
    if _tracing["depth"] == 0:
        _tracing["restore"] = not _torch_function._ENABLED[0]
        _torch_function.enable()
    _tracing["depth"] += 1
    try:
        yield
    finally:
        _tracing["depth"] -= 1
        if _tracing["depth"] == 0 and _tracing["restore"]:
            _torch_function.disable()


def _public(fn):
    """The function ember publishes under `fn`'s name once tracing is over (a node's target):
    the plain function a dispatcher wraps, or the dispatcher if dispatch stays on."""
    return getattr(fn, "__wrapped__", fn) if _tracing["restore"] else fn


class TraceError(ValueError):
    pass


class TracerBase:
    """Turns the values met while tracing into node arguments and records nodes."""
    graph = None
    proxy_buffer_attributes = False
    traced_func_name = "forward"

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node):
        return Proxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None):
        """Record a node for the call (Proxies in args/kwargs become their nodes) and
        return its Proxy."""
        node = self.create_node(kind, target, self.create_arg(args), self.create_arg(kwargs),
                                name, type_expr)
        return proxy_factory_fn(node) if proxy_factory_fn else self.proxy(node)

    def create_arg(self, a):
        """The node argument for a traced value: Proxies become Nodes, containers are mapped,
        plain constants stay."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, tuple):
            args = [self.create_arg(e) for e in a]
            return type(a)(*args) if hasattr(a, "_fields") else type(a)(args)
        if isinstance(a, list):
            return [self.create_arg(e) for e in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                if not isinstance(k, str):
                    k = self.create_arg(k)
                    map_aggregate(k, _no_node_keys)
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, base_types) or a is None or a is ...:
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj):
        raise TraceError("symbolically traced variables cannot be used as inputs to control "
                         "flow")

    def iter(self, obj):
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the "
                         "Proxy is used in a loop or as a *args or **kwargs function argument. "
                         "See the torch.fx docs on pytorch.org for a more detailed explanation "
                         "of what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj):
        return Attribute(obj, "keys")()


def _no_node_keys(k):
    if isinstance(k, Node):
        raise RuntimeError("Keys for dictionaries used as an argument cannot contain a Node. "
                           f"Got key: {k}")


class GraphAppendingTracer(TracerBase):
    """The tracer of a Proxy made around a bare Node: appends to that node's graph."""

    def __init__(self, graph):
        self.graph = graph


class Proxy:
    """A traced value: every operation on it is recorded as a node of the tracer's graph.

    A Proxy cannot steer control flow (`if`, `for`) or be len()'d; use concrete_args, a
    wrapped function (fx.wrap) or a leaf module for such code."""

    def __init__(self, node, tracer=None):
        self.tracer = tracer if tracer is not None else GraphAppendingTracer(node.graph)
        self.node = node

    def __repr__(self):
        return f"Proxy({self.node.name})"

    def __getattr__(self, k):
        return Attribute(self, k)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, d):
        self.__dict__ = d

    def __deepcopy__(self, memo):
        return Proxy(self.node, self.tracer)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        # `a, b = proxy` unpacks by indexing; other iteration is the tracer's to refuse
        frame = inspect.currentframe().f_back
        insts = list(dis.get_instructions(frame.f_code))
        inst = insts[bisect_left(insts, frame.f_lasti, key=lambda x: x.offset)]
        if inst.opname == "UNPACK_SEQUENCE":
            return (self[i] for i in range(inst.argval))
        return self.tracer.iter(self)

    def __abs__(self):
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})

    def __bool__(self):
        return self.tracer.to_bool(self)

    def keys(self):
        return self.tracer.keys(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call torch.fx.wrap('len') at "
                           "module scope")

    @classmethod
    def __torch_function__(cls, orig_method, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tracers = {}

        def find_tracer(a):
            if isinstance(a, cls):
                tracers[a.tracer] = None
            return a
        map_aggregate((args, kwargs), find_tracer)
        if len(tracers) > 1:
            raise RuntimeError(f"Found multiple different tracers {list(tracers)} while trying "
                               f"to trace operations {orig_method}")
        tracer = next(iter(tracers))
        name = getattr(orig_method, "torch_name", None) or orig_method.__name__
        short = name.rsplit(".", 1)[-1]
        if name.startswith("torch.Tensor."):
            return tracer.create_proxy("call_method", short, args, kwargs)
        if name.startswith("torch.nn.functional.") and short in _PY_FUNCTIONALS or \
                name.startswith("torch.functional.") and short not in _AS_CALLED:
            args, kwargs = _as_torch_passes(orig_method, args, kwargs)
        elif name == "torch.functional.einsum" and len(args) == 2 and \
                isinstance(args[1], (list, tuple)):
            args = (args[0], *args[1])          # (torch's einsum hands the operands on)
        target = _public(orig_method)
        qualified = _qualified_name(target)     # (torch._C's builtins by their own names:
        if qualified.startswith("torch._C._"):  # F.logsigmoid is _C._nn.log_sigmoid)
            short = qualified.rsplit(".", 1)[1]
        return tracer.create_proxy("call_function", target, args, kwargs,
                                   name=tracer.graph._target_to_str(short))


class Attribute(Proxy):
    """`proxy.attr`: becomes a `call_method` node when called, else (on first use) a
    `getattr` node."""

    def __init__(self, root, attr):
        self.root, self.attr, self.tracer = root, attr, root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


def _magic(method):
    def impl(*args, **kwargs):
        return args[0].tracer.create_proxy("call_function", getattr(operator, method), args,
                                           kwargs)
    impl.__name__ = method
    return impl


def _reflected(method):
    def impl(self, rhs):
        return self.tracer.create_proxy("call_function", getattr(operator, method), (rhs, self),
                                        {})
    impl.__name__ = f"__r{method.strip('_')}__"
    return impl


for _m in magic_methods:
    setattr(Proxy, f"__{_m.strip('_')}__", _magic(_m))
for _m in reflectable_magic_methods:
    setattr(Proxy, f"__r{_m.strip('_')}__", _reflected(_m))
