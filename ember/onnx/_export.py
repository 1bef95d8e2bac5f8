"""The tracer and the graph it builds (see the package docstring)."""
import enum
import inspect
import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .._torch_function import TorchFunctionMode, resolve_name
from ._sizes import SymInt, plain, syms
from ._symbolic import SYMBOLIC
from .errors import OnnxExporterError, UnsupportedOperatorError

_EXPORTING = [False]
# calls on a traced tensor that read its metadata or values, not new tensors: they run as they
# are (sizes and Python numbers become constants of the graph, as in torch's tracer)
_METADATA = {"size", "dim", "ndimension", "numel", "nelement", "__len__", "is_contiguous",
             "element_size", "get_device", "is_floating_point", "is_complex", "item", "tolist",
             "__index__", "__int__", "__float__", "__bool__", "__format__", "__repr__",
             "__str__", "__hash__", "data_ptr", "stride", "storage_offset", "has_names",
             "requires_grad_", "retain_grad", "register_hook", "__iter__"}


class TrainingMode(enum.IntEnum):
    """torch.onnx.TrainingMode: the mode a model is exported in (EVAL by default)."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


# calls that turn a traced tensor's values into a Python value, which the graph then holds as a
# constant: torch's tracer warns for each
_TO_PYTHON = {"__bool__": "boolean", "__float__": "float", "item": "number",
              "__int__": "integer", "__index__": "integer", "tolist": "list"}


def _warn_constant(kind):
    from .._warnings import outside_stacklevel
    from ..jit import TracerWarning
    warnings.warn(f"Converting a tensor to a Python {kind} might cause the trace to be "
                  "incorrect. We can't record the data flow of Python values, so this value "
                  "will be treated as a constant in the future. This means that the trace might "
                  "not generalize to other inputs!", TracerWarning, stacklevel=outside_stacklevel())


def _warn_len():
    from .._warnings import outside_stacklevel
    from ..jit import TracerWarning
    warnings.warn("Using len to get tensor shape might cause the trace to be incorrect. "
                  "Recommended usage would be tensor.shape[0]. Passing a tensor of different "
                  "shape might lead to errors or silently give incorrect results.",
                  TracerWarning, stacklevel=outside_stacklevel())


def is_in_onnx_export():
    return _EXPORTING[0]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError("torch.onnx.export needs the onnx package: pip install "
                                  "'ember[onnx]'") from None
    return onnx


def _tensors(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):        # namedtuples (max's values, indices) too
            yield from _tensors(v)
        elif type(v) is dict:
            yield from _tensors(v.values())


class Graph:
    """The ONNX graph being built: values are named by the id of the ember tensor they hold
    (the tensors are kept alive, so ids stay theirs)."""

    def __init__(self, onnx, opset, constants):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.names, self.kept = {}, []
        self.nodes, self.initializers = [], []
        self.constants = constants          # id(parameter or buffer) -> its state_dict name
        self.stored = {}                    # id -> initializer name, for constants used
        self.count = 0
        self.dynamic = False                # sizes of traced tensors are SymInts (_sizes.py)
        self.concrete = {}                  # size graph value -> its traced value
        self.leaves = {}                    # its Shape/Gather values -> (tensor value, dim)
        self.shapes = {}                    # id(tensor) -> its Shape value
        self.consumed = set()               # ids of the SymInts a node was made from
        self.baked = []                     # (SymInt value, its value, where) taken as ints
        self.packed = {}                    # id(PackedSequence) -> (padded value, lengths)

    def fresh(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def bind(self, t, name):
        self.names[id(t)] = name
        self.kept.append(t)

    def traced(self, t):
        return id(t) in self.names

    def value(self, t):
        """The name of a tensor argument: traced, or a constant stored on first use."""
        name = self.names.get(id(t))
        if name is not None:
            return name
        name = self.stored.get(id(t))
        if name is None:
            self.check_constant(t)
            name = self.constants.get(id(t)) or self.fresh("_val")
            self.stored[id(t)] = name
            self.kept.append(t)
            self.initializers.append(self.helper.make_tensor(
                name, self.onnx_type(t.arr.dtype), t.arr.shape,
                vals=np.ascontiguousarray(t.detach().cpu().numpy()).tobytes(), raw=True))
        return name

    def check_constant(self, t):
        """Refuse an untraced tensor computed from the inputs (it carries a grad_fn: the
        inputs record gradients) by a path the tracer did not see: as a constant it would be
        silently wrong."""
        if t.grad_fn is not None and id(t) not in self.constants:
            raise UnsupportedOperatorError(
                f"Exporting a value computed by '{t.grad_fn.name()}' to ONNX is not supported: "
                "the operation that made it was not traced.")

    def const(self, array, base="_const"):
        a = np.asarray(array)
        name = self.fresh(base)
        self.initializers.append(self.helper.make_tensor(
            name, self.onnx_type(a.dtype), a.shape, vals=np.ascontiguousarray(a).tobytes(),
            raw=True))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, np.int64), "_ints")

    # ---- the size graph (see _sizes.py) ---------------------------------------------------------
    def sized(self, op, inputs, traced, **attrs):
        """A node of the size graph, whose traced value is `traced`."""
        out = self.node(op, inputs, **attrs)
        self.concrete[out] = _array(traced)
        return out

    def dim(self, t, i):
        """Size `i` of `t`: a SymInt while exporting with dynamic axes and `t` is traced."""
        i %= t.ndim
        n = t.shape[i]
        if not self.dynamic or not self.traced(t):
            return n

        def make():
            shape = self.shapes.get(id(t))
            if shape is None:
                shape = self.shapes[id(t)] = self.sized("Shape", [self.value(t)], t.shape)
                self.leaves[shape] = (self.value(t), None)
            out = self.sized("Gather", [shape, self.sym(i)], [n], axis=0)
            self.leaves[out] = (self.value(t), i)
            return out
        return SymInt(n, self, make)

    def size_of(self, t):
        from .._tensor import Size
        return tuple.__new__(Size, [self.dim(t, i) for i in range(t.ndim)])   # (SymInts kept)

    def sym(self, v):
        """An int or SymInt as an int64 value of shape [1]."""
        if isinstance(v, SymInt):
            self.consumed.add(id(v))
            return v.name()
        name = self.ints([int(v)])
        self.concrete[name] = _array([int(v)])
        return name

    def scalar(self, v):
        """An int or SymInt as a 0-d int64 value."""
        if not isinstance(v, SymInt):
            return self.const(np.asarray(v, np.int64))
        out = self.squeeze(self.sym(v), [0])
        self.concrete[out] = _array(int(v))
        return out

    def shape_list(self, values):
        """A shape (an int64 vector) made of ints and SymInts."""
        values = list(values)
        if not any(isinstance(v, SymInt) for v in values):
            return self.ints([int(v) for v in values])
        parts, run = [], []
        for v in values:
            if isinstance(v, SymInt):
                if run:
                    parts.append(self.sym_ints(run))
                    run = []
                parts.append(self.sym(v))
            else:
                run.append(int(v))
        if run:
            parts.append(self.sym_ints(run))
        return self.sized("Concat", parts, [int(v) for v in values], axis=0)

    def sym_ints(self, values):
        name = self.ints(values)
        self.concrete[name] = _array(values)
        return name

    def bake(self, sizes, where):
        """Note SymInts that `where` took as plain ints: fold_sizes refuses dynamic ones."""
        self.baked += [(s.name(), int(s), where) for s in sizes]

    def fold_sizes(self, inputs, outputs):
        """Fold the size graph's values that depend on static dims only (ONNX's shape
        inference says which dims are) into constants, and drop those nothing uses; then
        refuse sizes of dynamic dims that an operation took as plain ints."""
        if not self.concrete:
            return
        h = self.helper
        model = h.make_model(h.make_graph(self.nodes, "sizes", inputs, [], self.initializers),
                             opset_imports=[h.make_opsetid("", self.opset)])
        if self.opset < 18:     # the older ops' inference loses shapes made by Reshape & co.
            from onnx.version_converter import ConvertError, convert_version
            try:
                model = convert_version(model, 18)
            except ConvertError:
                pass
        inferred = self.onnx.shape_inference.infer_shapes(model, data_prop=True).graph
        dims = {v.name: [d.dim_value if d.HasField("dim_value") else None
                         for d in v.type.tensor_type.shape.dim]
                for v in list(inferred.input) + list(inferred.value_info)
                if v.type.tensor_type.HasField("shape")}
        const = {i.name for i in self.initializers}
        kept = []
        for n in self.nodes:
            out = n.output[0]
            if out in self.concrete:
                leaf = self.leaves.get(out)
                if leaf is None:
                    static = all(i in const for i in n.input if i)
                else:
                    d = dims.get(leaf[0])
                    static = d is not None and None not in (d if leaf[1] is None
                                                            else d[leaf[1]:leaf[1] + 1])
                if static:
                    a = self.concrete[out]
                    self.initializers.append(self.helper.make_tensor(
                        out, self.onnx_type(a.dtype), a.shape, vals=a.tobytes(), raw=True))
                    const.add(out)
                    continue
            kept.append(n)
        for name, value, where in self.baked:
            if name not in const:
                raise UnsupportedOperatorError(
                    f"Exporting {where} with a size that follows a dynamic axis to ONNX is not "
                    f"supported: it would be fixed at its traced value {value}.")
        used = set(outputs)
        self.nodes = []
        for n in reversed(kept):
            if n.output[0] in self.concrete and not used.intersection(n.output):
                continue
            used.update(n.input)
            self.nodes.append(n)
        self.nodes.reverse()
        self.initializers = [i for i in self.initializers if i.name in used]

    def onnx_type(self, dtype):
        from .._dtype import OF_NP
        dtype = np.dtype(dtype)
        if dtype.name == "bfloat16":
            return self.onnx.TensorProto.BFLOAT16
        if OF_NP.get(dtype) is None and dtype.kind not in "biufc":
            raise OnnxExporterError(f"dtype {dtype} has no ONNX type")
        return self.helper.np_dtype_to_tensor_dtype(dtype)

    def node(self, op, inputs, n_out=1, **attrs):
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outs, name=self.fresh(op),
                                                **attrs))
        return outs[0] if n_out == 1 else outs

    # ops whose axes moved from an attribute to an input (opset 13; the reductions other
    # than ReduceSum at 18)
    def unsqueeze(self, name, axes):
        if self.opset >= 13:
            return self.node("Unsqueeze", [name, self.ints(axes)])
        return self.node("Unsqueeze", [name], axes=list(axes))

    def squeeze(self, name, axes):
        if self.opset >= 13:
            return self.node("Squeeze", [name, self.ints(axes)])
        return self.node("Squeeze", [name], axes=list(axes))

    def split(self, name, sizes, axis):
        if self.opset >= 13:
            outs = self.node("Split", [name, self.ints(sizes)], n_out=len(sizes), axis=axis)
        else:
            outs = self.node("Split", [name], n_out=len(sizes), axis=axis, split=list(sizes))
        return outs if isinstance(outs, list) else [outs]

    def reduce(self, op, name, axes, keepdims):
        """A reduction over `axes` (None: all of them)."""
        if axes is None:
            return self.node(op, [name], keepdims=int(keepdims))
        if self.opset >= 18 or op == "ReduceSum" and self.opset >= 13:
            return self.node(op, [name, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op, [name], axes=list(axes), keepdims=int(keepdims))

    def cast(self, name, from_dtype, to_dtype):
        if np.dtype(from_dtype) == np.dtype(to_dtype):
            return name
        return self.node("Cast", [name], to=self.onnx_type(to_dtype))


def _array(value):
    a = np.asarray(value)
    return a.astype(np.int64) if a.dtype.kind in "iu" else a


class _Tracer(TorchFunctionMode):
    def __init__(self, graph):
        self.g = graph

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        g = self.g
        if getattr(func, "__name__", None) == "__len__" and args[0].ndim:
            _warn_len()         # len() makes a plain int: a size that cannot be traced
        tensors = list(_tensors(args + tuple(kwargs.values())))
        sizes = list(syms(args + tuple(kwargs.values()))) if g.dynamic else ()
        if not sizes and not any(g.traced(t) for t in tensors) and \
                not (g.packed and any(id(v) in g.packed for v in args)):
            for t in tensors:
                g.check_constant(t)
            with no_grad():                     # constants: computed here, stored when used
                return func(*args, **kwargs)
        full = resolve_name(func)
        name = full.rpartition(".")[2]
        if name == "__get__":
            name = full.split(".")[-2]
            if name == "shape" and g.dynamic:
                return g.size_of(args[0])
            if name in ("shape", "dtype", "device", "ndim", "is_cuda", "layout",
                        "requires_grad", "grad_fn", "is_leaf", "names"):
                return func(*args, **kwargs)
        if g.dynamic and name in _SIZES and g.traced(args[0]):
            return _traced_size(g, func, name, args, kwargs)
        emit = SYMBOLIC.get(name)
        if sizes and emit is None and not any(g.traced(t) for t in tensors):
            g.bake(sizes, full)                 # a constant computed from sizes
            with no_grad():
                return func(*plain(args), **plain(kwargs))
        if emit is None:
            if name in _METADATA:
                if name not in _TO_PYTHON:
                    return func(*args, **kwargs)
                _warn_constant(_TO_PYTHON[name])
                with warnings.catch_warnings():     # (the stand-ins' gradients are ours)
                    warnings.filterwarnings("ignore", "Converting a tensor with requires_grad")
                    return func(*args, **kwargs)
            inner = getattr(func, "__wrapped__", func)      # past its dispatcher
            with self:                          # a composite: trace the ops it is made of
                result = inner(*args, **kwargs)
            if not all(g.traced(t) for t in _tensors((result,))):
                raise UnsupportedOperatorError(f"Exporting the operator '{full}' to ONNX "
                                               f"opset version {g.opset} is not supported.")
            return result
        result = func(*plain(args), **plain(kwargs)) if sizes else func(*args, **kwargs)
        bound = _bind(func, args, kwargs)
        bound["_name"] = name
        g.consumed.clear()
        outs = emit(g, bound, result)
        g.bake([s for s in sizes if id(s) not in g.consumed], full)
        if isinstance(outs, str):
            outs = [outs]
        results = list(_tensors((result,)))
        for t, out in zip(results, outs):
            g.bind(t, out)
        return result


# reads of a traced tensor's sizes: SymInts while exporting with dynamic axes
_SIZES = {"size", "numel", "nelement"}


def _traced_size(g, func, name, args, kwargs):
    x = args[0]
    value = func(*args, **kwargs)              # (its errors: a dim out of range)
    if name != "size":
        return math.prod(g.size_of(x)) if x.ndim else value
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    return g.size_of(x) if dim is None else g.dim(x, dim)


def _bind(func, args, kwargs):
    """The call's arguments by parameter name (defaults filled in); extra positional
    arguments under "*" (view(2, 3), permute(0, 2, 1))."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return {"*": args, **kwargs}
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    out = {}
    for p, v in ba.arguments.items():
        kind = sig.parameters[p].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            out["*"] = v
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out.update(v)
        else:
            out[p] = v
    first = next(iter(sig.parameters))
    out["self"] = out.get(first)
    return out


class ONNXProgram:
    """What export returns (torch's with dynamo=True): the model as `model_proto`; `save`
    writes it; calling it runs it with onnxruntime."""

    def __init__(self, model_proto):
        self.model_proto = model_proto

    def save(self, destination, **kwargs):
        _onnx().save_model(self.model_proto, destination)

    def optimize(self):
        return None

    def __call__(self, *args, **kwargs):
        import onnxruntime
        session = onnxruntime.InferenceSession(self.model_proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        feeds = {n: (a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a))
                 for n, a in zip(names, list(args) + list(kwargs.values()))}
        from .. import from_numpy
        return [from_numpy(np.asarray(o)) for o in session.run(None, feeds)]

    def __repr__(self):
        return f"ONNXProgram(opset={self.model_proto.opset_import[0].version})"


def export(model, args=(), f=None, *, kwargs=None, export_params=True, verbose=None,
           input_names=None, output_names=None, opset_version=None, dynamic_axes=None,
           keep_initializers_as_inputs=False, dynamo=True, external_data=True,
           dynamic_shapes=None, do_constant_folding=True, training=None, **options):
    """torch.onnx.export: write `model` applied to `args` (and `kwargs`) as ONNX to `f` (a
    path or a binary file object). Returns an ONNXProgram (dynamo=True, torch's default) or
    None (dynamo=False, its TorchScript exporter)."""
    onnx = _onnx()
    if opset_version is None:
        opset_version = 18 if dynamo else 20
    if opset_version < 11:
        raise OnnxExporterError(f"opset_version {opset_version} is not supported: ember "
                                "exports opset 11 and above")
    if isinstance(args, Tensor) or not isinstance(args, tuple):
        args = (args,)
    kwargs = dict(kwargs or {})
    if args and type(args[-1]) is dict and not kwargs:
        args, kwargs = args[:-1], dict(args[-1])    # torch's trailing dict: keyword arguments
    from ..nn import Module
    constants = {}
    if isinstance(model, Module):
        for n, t in model.state_dict(keep_vars=True).items():
            constants.setdefault(id(t), n)
    graph = Graph(onnx, opset_version, constants)
    inputs = list(_tensors(args + tuple(kwargs.values())))
    names = _input_names(model, args, kwargs, inputs, input_names)
    # the model runs on stand-ins that record gradients: a value computed from them out of the
    # tracer's sight then carries a grad_fn, and is refused rather than stored as a constant
    stand_in = {id(t): _recording(t) for t in inputs}
    args, kwargs = _replaced(args, stand_in), _replaced(kwargs, stand_in)
    for t, n in zip(inputs, names):
        graph.bind(stand_in[id(t)], n)
    params = []
    if not export_params and isinstance(model, Module):
        for n, t in model.state_dict(keep_vars=True).items():
            graph.bind(t, n)
            params.append((n, t))
    was_training = getattr(model, "training", False)
    if isinstance(model, Module) and training is not TrainingMode.PRESERVE:
        model.train(training is TrainingMode.TRAINING)
    dyn = _dynamic(dynamic_axes, dynamic_shapes, names, kwargs)
    graph.dynamic = any(dyn.get(n) for n in names)
    h = graph.helper

    def info(name, t):
        dims = [dyn.get(name, {}).get(d, s) for d, s in enumerate(t.shape)]
        return h.make_tensor_value_info(name, graph.onnx_type(t.arr.dtype), dims)
    graph_inputs = [info(n, t) for t, n in zip(inputs, names)] + [info(n, t) for n, t in params]
    tracer = _Tracer(graph)
    recurrent = _recurrent_forwards(model, graph, tracer)
    _EXPORTING[0] = True
    try:
        with tracer:
            result = model(*args, **kwargs)
    finally:
        _EXPORTING[0] = False
        for m in recurrent:
            del m.forward
        if isinstance(model, Module):
            model.train(was_training)
    outputs = list(_tensors((result,)))
    graph.fold_sizes(graph_inputs, [graph.value(t) for t in outputs])
    out_names = list(output_names or [])
    graph_outputs, renamed = [], set()
    for i, t in enumerate(outputs):
        name = out_names[i] if i < len(out_names) else None
        src = graph.value(t)
        if name is None:
            name = src if graph.traced(t) and src not in names else f"output_{i}"
        if src != name:
            if any(src in n.output for n in graph.nodes) and src not in renamed:
                _rename(graph.nodes, src, name)     # the node that made it names it
                renamed.add(name)
            else:                                   # an input, a constant, or output twice
                graph.nodes.append(graph.helper.make_node("Identity", [src], [name],
                                                          name=graph.fresh("Identity")))
        graph_outputs.append((name, t))
    if keep_initializers_as_inputs:
        graph_inputs += [h.make_tensor_value_info(i.name, i.data_type, list(i.dims))
                         for i in graph.initializers]
    proto = h.make_model(
        h.make_graph(graph.nodes, "main_graph", graph_inputs,
                     [info(n, t) for n, t in graph_outputs], graph.initializers),
        opset_imports=[h.make_opsetid("", opset_version)], producer_name="pytorch",
        producer_version="2.13.0")
    proto.ir_version = min(proto.ir_version, 10)
    if graph.dynamic:
        _output_dims(onnx, proto, dyn)
    onnx.checker.check_model(proto)
    if verbose:
        print(h.printable_graph(proto.graph))
    if f is not None:
        onnx.save_model(proto, f)
    return ONNXProgram(proto) if dynamo else None


def _output_dims(onnx, proto, dyn):
    """The dims of outputs that dynamic_axes does not name, as torch's exporter gives them:
    ONNX's shape inference's (a size, or the symbol of an input's dynamic axis), else a symbol
    of their own."""
    traced = [[d.dim_value for d in out.type.tensor_type.shape.dim] for out in proto.graph.output]
    for out in proto.graph.output:
        if out.name not in dyn:
            out.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True).graph
    made_by = {o: n.op_type for n in proto.graph.node for o in n.output}
    for out, known, sizes in zip(proto.graph.output, inferred.output, traced):
        if out.name in dyn:
            continue
        known = known.type.tensor_type.shape.dim
        out.type.tensor_type.shape.SetInParent()       # (a 0-d output's shape has no dims)
        for i in range(len(sizes)):
            d = out.type.tensor_type.shape.dim.add()
            k = known[i] if len(known) == len(sizes) else None
            if k is not None and k.HasField("dim_value"):
                d.dim_value = k.dim_value
            else:
                d.dim_param = k.dim_param if k is not None and k.dim_param and \
                    not k.dim_param.startswith("unk__") else \
                    f"{made_by.get(out.name, '')}{out.name}_dim_{i}"


def _recurrent_forwards(model, graph, tracer):
    """Give each RNN/GRU/LSTM in `model` the forward that emits its ONNX node (_rnn.py);
    returns the modules, whose own forward comes back when the attribute is deleted."""
    from ..nn import Module, RNNBase
    from ._rnn import traced_forward
    found = [m for m in model.modules() if isinstance(m, RNNBase)] \
        if isinstance(model, Module) else []
    for m in found:
        m.forward = traced_forward(m, graph, tracer)
    return found


def _rename(nodes, old, new):
    for n in nodes:
        for field in (n.input, n.output):
            for i, v in enumerate(field):
                if v == old:
                    field[i] = new


def _recording(t):
    """A stand-in for an input: the same values, recording gradients where its dtype can."""
    if not (t.is_floating_point() or t.is_complex()):
        return t
    return t.detach().requires_grad_(True).clone()


def _replaced(value, table):
    if isinstance(value, Tensor):
        return table.get(id(value), value)
    if type(value) in (list, tuple):
        return type(value)(_replaced(v, table) for v in value)
    if type(value) is dict:
        return {k: _replaced(v, table) for k, v in value.items()}
    return value


def _input_names(model, args, kwargs, inputs, given):
    """input_names, then the forward's parameter names (as torch's exporter names them)."""
    names = list(given or [])
    if len(names) < len(inputs):
        try:
            params = list(inspect.signature(getattr(model, "forward", model)).parameters)
        except (TypeError, ValueError):
            params = []
        auto = []
        for i, a in enumerate(args):
            base = params[i] if i < len(params) else f"input_{i}"
            auto += [base] if isinstance(a, Tensor) else \
                [f"{base}_{j}" for j, _ in enumerate(_tensors((a,)))]
        auto += [k for k, v in kwargs.items() if isinstance(v, Tensor)]
        names += auto[len(names):]
    return names[:len(inputs)]


def _dynamic(dynamic_axes, dynamic_shapes, names, kwargs):
    """{value name: {dim: symbol}} from dynamic_axes ({name: [dims] or {dim: symbol}}) or
    dynamic_shapes (per input: {dim: name or Dim})."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        out[name] = dict(axes) if isinstance(axes, dict) else \
            {d: f"{name}_dynamic_axes_{j + 1}" for j, d in enumerate(axes)}
    if dynamic_shapes:
        shapes = dynamic_shapes.values() if isinstance(dynamic_shapes, dict) else dynamic_shapes
        for name, spec in zip(names, shapes):
            if spec:
                out[name] = {d: getattr(s, "__name__", None) or str(s) for d, s in
                             (spec.items() if isinstance(spec, dict) else enumerate(spec))
                             if s is not None}
    return out
