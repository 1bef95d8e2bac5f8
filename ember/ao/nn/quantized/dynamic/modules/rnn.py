"""torch.ao.nn.quantized.dynamic.LSTM and GRU: each layer's input-hidden and hidden-hidden
products are dynamic quantized linears (ember/ops/_quantized_nn.py; the input's over the whole
sequence at once, the hidden state's step by step, 7-bit activations), the gates in float32 as
torch's quantized_lstm and quantized_gru compute them. The linears match torch bit for bit;
the gates' sigmoid and tanh are ember's float32 ones, which differ from torch's vectorized
ones in the last bit now and then, so the outputs agree to float32 rounding, not bit for
bit."""
import ember as torch
from ember import nn
from ember.nn.modules.rnn import check_dropout
from ember.ops._quantized_nn import LinearPacked, linear_dynamic

from ...modules.utils import _quantize_weight


class CellParamsDynamic:
    """quantized::make_quantized_cell_params_dynamic: the packed input-hidden and
    hidden-hidden weights (with their biases) of one layer and direction; saved as torch's
    CellParamsBase, which torch loads (and which ember loads from torch's files)."""
    def __init__(self, packed_ih, packed_hh, bias_ih, bias_hh, reduce_range=False):
        self.ih, self.hh = packed_ih, packed_hh
        self.bias_ih, self.bias_hh, self.reduce_range = bias_ih, bias_hh, reduce_range

    def __getstate__(self):
        return (("quantized_dynamic", [self.bias_ih, self.bias_hh], [], [int(self.reduce_range)],
                 [self.ih, self.hh]), "__torch__.torch.classes.rnn.CellParamsBase")

    def __setstate__(self, state):
        kind, (bias_ih, bias_hh), _, (reduce_range,), (ih, hh) = state[0]
        if kind != "quantized_dynamic":
            raise NotImplementedError(f"ember: {kind} LSTM cell parameters are not supported")
        self.__init__(ih, hh, bias_ih, bias_hh, bool(reduce_range))


def _weight_observer(mod, what):
    """from_float's weight observer: the float module's qconfig's, else the default dynamic
    qconfig's; qint8 weights only."""
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if mod.qconfig is not None and mod.qconfig.weight is not None:
        make_observer = mod.qconfig.weight
    else:
        from ember.ao.quantization.qconfig import default_dynamic_qconfig
        make_observer = default_dynamic_qconfig.weight
    if make_observer().dtype is not torch.qint8:
        raise NotImplementedError(f"ember: dynamic quantized {what} qint8 weights only")
    return make_observer


class PackedParameter(nn.Module):
    def __init__(self, param):
        super().__init__()
        self.param = param

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "param"] = self.param

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.param = state_dict.pop(prefix + "param")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)


class RNNBase(nn.Module):
    """The dynamic quantized LSTM and GRU: a CellParamsDynamic per layer and direction."""
    _version = 2
    _gates = {"LSTM": 4, "GRU": 3}

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=torch.qint8):
        super().__init__()
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.dtype, self.version = bidirectional, dtype, 2
        self.training = False
        check_dropout(dropout, num_layers, stacklevel=3)
        if dtype is not torch.qint8:
            raise NotImplementedError(f"ember: dynamic quantized {mode} supports qint8 weights "
                                      "only")
        gate_size = self._gates[mode] * hidden_size
        params = []
        for layer in range(num_layers):
            for _ in range(self._directions):
                layer_input_size = input_size if layer == 0 else hidden_size * self._directions
                # torch's placeholder weights (drawn from the RNG, as torch's are)
                w_ih = torch.randn(gate_size, layer_input_size)
                w_hh = torch.randn(gate_size, hidden_size)
                b_ih, b_hh = torch.randn(gate_size), torch.randn(gate_size)
                params.append(PackedParameter(self._cell(
                    torch.quantize_per_tensor(w_ih, 0.1, 0, torch.qint8), b_ih,
                    torch.quantize_per_tensor(w_hh, 0.1, 0, torch.qint8), b_hh)))
        self._all_weight_values = nn.ModuleList(params)

    @property
    def _directions(self):
        return 2 if self.bidirectional else 1

    def _cell(self, w_ih, b_ih, w_hh, b_hh):
        return CellParamsDynamic(LinearPacked(w_ih, b_ih), LinearPacked(w_hh, b_hh), b_ih, b_hh,
                                 self.version is not None and self.version >= 2)

    def _get_name(self):
        return "DynamicQuantized" + self.mode

    extra_repr = nn.RNNBase.extra_repr

    def __repr__(self):
        return self._get_name() + "(" + self.extra_repr() + ")"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.version = local_metadata.get("version", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def _run(self, input, states):
        """Checks input and the hidden states (a list of (layers * directions, B, H) tensors,
        None for zeros); runs the layers: (output, the final states, stacked)."""
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise NotImplementedError(f"ember: dynamic quantized {self.mode} takes no "
                                      "PackedSequence")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")
        batch = input.size(0) if self.batch_first else input.size(1)
        expected = (self.num_layers * self._directions, batch, self.hidden_size)
        if states is None:
            states = [torch.zeros(*expected, dtype=input.dtype)] * (2 if self.mode == "LSTM"
                                                                   else 1)
        for i, h in enumerate(states):
            if tuple(h.size()) != expected:
                which = f"hidden[{i}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"Expected {which} size {expected}, got {list(h.size())}")
        x = input.transpose(0, 1) if self.batch_first else input
        cells = [m.param for m in self._all_weight_values]
        finals = [[] for _ in states]
        step = _lstm_step if self.mode == "LSTM" else _gru_step
        for layer in range(self.num_layers):
            outs = []
            for d in range(self._directions):
                k = layer * self._directions + d
                y, last = _layer(x, [h[k] for h in states], cells[k], step, reverse=d == 1)
                outs.append(y)
                for f, v in zip(finals, last):
                    f.append(v)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout, True)
        out = x.transpose(0, 1) if self.batch_first else x
        return out, [torch.stack(f) for f in finals]

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized LSTM or GRU of a float one: each weight quantized (per
        tensor, by a fresh weight observer of its qconfig) and packed with its bias."""
        if type(mod) not in (nn.LSTM, nn.GRU):
            raise AssertionError("nn.quantized.dynamic.RNNBase.from_float only works for nn.LSTM "
                                 "and nn.GRU")
        make_observer = _weight_observer(mod, f"{mod.mode} supports")
        q = (LSTM if mod.mode == "LSTM" else GRU)(
            mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
            mod.dropout, mod.bidirectional, torch.qint8)
        if not mod.bias:
            raise AssertionError("mod.bias must be True")

        def quantized(w):
            observer = make_observer()
            observer(w)
            return _quantize_weight(w.float(), observer)
        params = []
        for layer in range(q.num_layers):
            for d in range(q._directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                params.append(PackedParameter(q._cell(
                    quantized(getattr(mod, "weight_ih" + sfx)), getattr(mod, "bias_ih" + sfx),
                    quantized(getattr(mod, "weight_hh" + sfx)), getattr(mod, "bias_hh" + sfx))))
        q._all_weight_values = nn.ModuleList(params)
        return q


class LSTM(RNNBase):
    _FLOAT_MODULE = nn.LSTM

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        out, (h, c) = self._run(input, None if hx is None else list(hx))
        return out, (h, c)


class GRU(RNNBase):
    _FLOAT_MODULE = nn.GRU

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        out, (h,) = self._run(input, None if hx is None else [hx])
        return out, h


class RNNCellBase(nn.Module):
    """The dynamic quantized LSTMCell, GRUCell and RNNCell: the packed input-hidden and
    hidden-hidden weights (7-bit activations, as the LSTM's)."""

    def __init__(self, input_size, hidden_size, bias=True, num_chunks=4, dtype=torch.qint8):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_dtype = dtype
        # torch's placeholders, drawn from the RNG as torch draws them (the biases are plain
        # attributes, never updated: the packed weights hold the biases used)
        if bias:
            self.bias_ih = torch.randn(num_chunks * hidden_size)
            self.bias_hh = torch.randn(num_chunks * hidden_size)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        weight_ih = torch.randn(num_chunks * hidden_size, input_size)
        weight_hh = torch.randn(num_chunks * hidden_size, hidden_size)
        if dtype is not torch.qint8:
            raise NotImplementedError("ember: dynamic quantized RNN cells support qint8 weights "
                                      "only")
        self._packed_weight_ih = LinearPacked(
            torch.quantize_per_tensor(weight_ih, 1, 0, torch.qint8), self.bias_ih)
        self._packed_weight_hh = LinearPacked(
            torch.quantize_per_tensor(weight_hh, 1, 0, torch.qint8), self.bias_hh)

    extra_repr = nn.RNNCellBase.extra_repr

    def _check(self, input, states, labels):
        """torch's checks of the input and hidden states; zeros for states not given."""
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)}, "
                               f"expected {self.input_size}")
        if states is None:
            states = [torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype)] * \
                len(labels)
        for hx, label in zip(states, labels):
            if input.size(0) != hx.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match "
                                   f"hidden{label} batch size {hx.size(0)}")
            if hx.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got "
                                   f"{hx.size(1)}, expected {self.hidden_size}")
        return states

    def _gates(self, input, hx):
        """(input's product, hidden's product), dynamic quantized linears."""
        return (linear_dynamic(input, self._packed_weight_ih, True),
                linear_dynamic(hx, self._packed_weight_hh, True))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized cell of a float one: its weights quantized per tensor by
        fresh weight observers of its qconfig and packed with its biases."""
        kinds = {nn.LSTMCell: LSTMCell, nn.GRUCell: GRUCell, nn.RNNCell: RNNCell}
        if type(mod) not in kinds:
            raise AssertionError("nn.quantized.dynamic.RNNCellBase.from_float only works for "
                                 "nn.LSTMCell, nn.GRUCell and nn.RNNCell")
        make_observer = _weight_observer(mod, "RNN cells support")
        extra = {"nonlinearity": mod.nonlinearity} if type(mod) is nn.RNNCell else {}
        q = kinds[type(mod)](mod.input_size, mod.hidden_size, bias=mod.bias, dtype=torch.qint8,
                             **extra)
        if not mod.bias:
            raise AssertionError("mod.bias must be True")

        def packed(w, b):
            observer = make_observer()
            observer(w)
            return LinearPacked(_quantize_weight(w.float(), observer), b)
        q._packed_weight_ih = packed(mod.weight_ih, mod.bias_ih)
        q._packed_weight_hh = packed(mod.weight_hh, mod.bias_hh)
        return q

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "_packed_weight_ih"] = self._packed_weight_ih
        destination[prefix + "_packed_weight_hh"] = self._packed_weight_hh

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self._packed_weight_ih = state_dict.pop(prefix + "_packed_weight_ih")
        self._packed_weight_hh = state_dict.pop(prefix + "_packed_weight_hh")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)


class LSTMCell(RNNCellBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, num_chunks=4, **kwargs)

    def _get_name(self):
        return "DynamicQuantizedLSTMCell"

    def forward(self, input, hx=None):
        states = self._check(input, hx, ("[0]", "[1]"))
        gx, gh = self._gates(input, states[0])
        h, c = _lstm_step(gx, gh, states)
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, dtype=torch.qint8):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def _get_name(self):
        return "DynamicQuantizedGRUCell"

    def forward(self, input, hx=None):
        (hx,) = self._check(input, None if hx is None else [hx], ("",))
        return _gru_step(*self._gates(input, hx), [hx])[0]


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh",
                 dtype=torch.qint8):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _get_name(self):
        return "DynamicQuantizedRNNCell"

    def forward(self, input, hx=None):
        (hx,) = self._check(input, None if hx is None else [hx], ("",))
        gx, gh = self._gates(input, hx)
        if self.nonlinearity == "tanh":
            return (gh + gx).tanh()
        if self.nonlinearity == "relu":
            return (gh + gx).relu()
        raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")


def _layer(x, states, cell, step, reverse):
    """One direction of one layer over the sequence x (T, B, I): torch's FullLayer, the
    input's products taken for the whole sequence first; (outputs, final states)."""
    gates_x = linear_dynamic(x, cell.ih, cell.reduce_range)
    steps = range(x.size(0) - 1, -1, -1) if reverse else range(x.size(0))
    outs = [None] * x.size(0)
    for t in steps:
        states = step(gates_x[t], linear_dynamic(states[0], cell.hh, cell.reduce_range), states)
        outs[t] = states[0]
    return torch.stack(outs), states


def _lstm_step(gx, gh, states):
    i, f, g, o = (gh + gx).chunk(4, 1)
    c = f.sigmoid() * states[1] + i.sigmoid() * g.tanh()
    return [o.sigmoid() * c.tanh(), c]


def _gru_step(gx, gh, states):
    """torch's GRUCell: reset and update gates from the sums, the new gate from the input's
    product plus the reset hidden one."""
    ir, iz, in_ = gx.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r, z = (hr + ir).sigmoid(), (hz + iz).sigmoid()
    n = (in_ + hn * r).tanh()
    return [(states[0] - n) * z + n]
