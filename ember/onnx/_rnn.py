"""nn.RNN, nn.GRU and nn.LSTM as ONNX's RNN, GRU and LSTM nodes, one per layer.

Their forward runs outside ember's traced functions, so the exporter puts a forward of its own
on each such module while it traces (`traced_forward`): the module computes as usual, then
its nodes are emitted from its weights, reordered from torch's gate order to ONNX's.

A PackedSequence made by pack_padded_sequence from a traced tensor is that tensor and its
lengths (ONNX's sequence_lens, the steps of each batch entry; as torch's exporter does it):
`pack` notes them in Graph.packed, the recurrent node takes them, and pad_packed_sequence
(`unpack`) gives its padded output back."""
import numpy as np

from .._tensor import Tensor
from ._sizes import SymInt
from .errors import UnsupportedOperatorError

# ONNX gate order as indices into torch's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
_GATES = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def traced_forward(module, graph, tracer):
    """A forward for `module` (an RNNBase) that also emits its nodes into `graph` when its
    input is traced."""
    plain = module.forward

    def forward(input, hx=None):
        packed = graph.packed.get(id(input))
        if packed is None and not graph.traced(input):
            return plain(input, hx)
        name = type(module).__name__
        if module.proj_size:
            raise UnsupportedOperatorError(f"Exporting {name} with proj_size to ONNX is not "
                                           "supported: ONNX's LSTM has no projection.")
        if packed is None and input.dim() != 3:
            raise UnsupportedOperatorError(f"Exporting {name} with unbatched input to ONNX "
                                           "is not supported.")
        tracer.__exit__(None, None, None)       # its insides are not traced one by one
        try:
            out, state = plain(input, hx)
        finally:
            tracer.__enter__()
        states = list(state) if isinstance(state, tuple) else [state]
        hx = list(hx) if isinstance(hx, tuple) else [hx] if hx is not None else []
        if packed is not None:
            names = _emit(graph, module, packed[0], hx, packed[1])
            graph.packed[id(out)] = (names[0],) + packed[1:]
            graph.kept.append(out)
            names[0] = None
        else:
            xn = graph.value(input)
            if module.batch_first:
                xn = graph.node("Transpose", [xn], perm=[1, 0, 2])
            names = _emit(graph, module, xn, hx)
            names[0] = graph.node("Transpose", [names[0]], perm=[1, 0, 2]) \
                if module.batch_first else graph.node("Identity", [names[0]])
        for t, name in zip([out] + states, names):
            if name is not None:
                graph.bind(t, name)
        return out, state
    return forward


def pack(g, a, result):
    """pack_padded_sequence(input, lengths, batch_first): noted for the recurrent node."""
    x, lengths = a["self"], a["lengths"]
    xn = g.value(x)
    if a.get("batch_first"):
        xn = g.node("Transpose", [xn], perm=[1, 0] + list(range(2, x.ndim)))
    lens = g.cast(g.value(lengths), lengths.arr.dtype, np.int32) if isinstance(lengths, Tensor) \
        else g.const(np.asarray(lengths, np.int32))
    g.packed[id(result)] = (xn, lens, g.dim(x, 1 if a.get("batch_first") else 0))
    g.kept.append(result)
    return []


def unpack(g, a, result):
    """pad_packed_sequence(sequence, batch_first, padding_value, total_length): the recurrent
    node's output, cut to the longest length (its padding is 0), and the lengths."""
    packed = g.packed.get(id(a["self"]))
    if packed is None:
        raise UnsupportedOperatorError("Exporting pad_packed_sequence to ONNX is supported for "
                                       "the output of an RNN, GRU or LSTM only.")
    if a.get("padding_value"):
        raise UnsupportedOperatorError("Exporting pad_packed_sequence with a padding_value "
                                       "other than 0 to ONNX is not supported.")
    y, lens, steps = packed
    lens = g.cast(lens, np.int32, np.int64)
    total = a.get("total_length")
    if total is None:
        end = g.reduce("ReduceMax", lens, None, True)
    else:   # the padded input's steps, cut: total_length=x.size(1), or a fixed one
        if total > steps:
            raise UnsupportedOperatorError("Exporting pad_packed_sequence with a total_length "
                                           "longer than the packed input to ONNX is not "
                                           "supported.")
        if not isinstance(total, SymInt) and isinstance(steps, SymInt):
            g.bake([steps], "pad_packed_sequence with a total_length")
        end = g.sym(total)
    y = g.node("Slice", [y, g.ints([0]), end, g.ints([0])])
    if a.get("batch_first"):
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    return [y, lens]


def _emit(g, m, xn, hx, lens=""):
    """The layers' nodes on the time-major input `xn`: the time-major output, then the final
    states."""
    mode = m.mode
    op = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
    dirs, h, L = 2 if m.bidirectional else 1, m.hidden_size, m.num_layers
    order = _GATES[mode]
    finals = [[] for _ in range(2 if op == "LSTM" else 1)]     # h_n (and c_n) per layer
    for layer in range(L):
        ws, rs, bs = [], [], []
        for d in range(dirs):
            w_ih, w_hh, b_ih, b_hh, _ = m._layer_params(layer, d)
            ws.append(_gates(w_ih, order, h))
            rs.append(_gates(w_hh, order, h))
            b = [_gates(b, order, h) if b is not None else np.zeros(len(order) * h,
                                                                    w_ih.arr.dtype)
                 for b in (b_ih, b_hh)]
            bs.append(np.concatenate(b))
        inputs = [xn, g.const(np.stack(ws), "W"), g.const(np.stack(rs), "R"),
                  g.const(np.stack(bs), "B"), lens]
        for state in hx:
            if not g.traced(state) and not bool(state.detach().any()):
                inputs.append("")   # zeros made in forward: ONNX's default, for any batch
                continue
            inputs.append(g.node("Slice", [g.value(state), g.ints([layer * dirs]),
                                           g.ints([(layer + 1) * dirs]), g.ints([0])]))
        attrs = dict(hidden_size=h, direction="bidirectional" if dirs == 2 else "forward")
        if op == "RNN":
            attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * dirs
        if op == "GRU":
            attrs["linear_before_reset"] = 1        # torch's r * (W_hn h + b_hn)
        outs = g.node(op, inputs, n_out=3 if op == "LSTM" else 2, **attrs)
        y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])      # (T, B, dirs, h)
        xn = g.node("Reshape", [y, g.ints([0, 0, -1])])
        for i, f in enumerate(finals):
            f.append(outs[1 + i])
    return [xn] + [f[0] if L == 1 else g.node("Concat", f, axis=0) for f in finals]


def _gates(w, order, h):
    a = w.detach().cpu().numpy() if isinstance(w, Tensor) else w
    return np.concatenate([a[i * h:(i + 1) * h] for i in order])
