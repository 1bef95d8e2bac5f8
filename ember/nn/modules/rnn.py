"""RNN, LSTM, GRU and their cells, with torch's parameter names, shapes, init and outputs."""
import math
import numbers

from ..._cpu import ONEDNN_BF16
from ..._dtype import bfloat16, float32, float64
from ..._tensor import Tensor
from ..._warnings import warn_once
from ...amp.autocast import rnn_args
from ...amp.state import AMP
from ...ops._apply import apply
from .. import _rnn_ops, init
from .. import functional as F
from ..._kernel_dtypes import tname
from .._rnn_ops import as_node, lstm_layer, mkldnn_rnn_layer, rnn_layer
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
# torch's grad_fn class of a cell's new hidden state: the last op of its composite gates
_CELL_NODE = {"RNN_TANH": "TanhBackward0", "RNN_RELU": "ReluBackward0", "GRU": "AddBackward0"}


def _autocast_dtype(x):
    """The autocast dtype when autocast is on for x's device (float64 is never autocast)."""
    if AMP.enabled and x.be.name == AMP.device_type and x.is_floating_point() and \
            x.dtype is not float64:
        return AMP.dtype
    return None


def _to(t, dtype):
    return t if t is None or t.dtype is dtype else t.to(dtype)


def check_dropout(dropout, num_layers, stacklevel):
    """RNNBase's checks of its dropout (the dynamic quantized LSTM's too)."""
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
            isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        import warnings
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}",
                      stacklevel=stacklevel + 1)


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        check_dropout(dropout, num_layers, stacklevel=1)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: "
                            f"{type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate = _GATES[mode] * hidden_size
        real_h = proj_size or hidden_size
        dirs = 2 if bidirectional else 1
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else real_h * dirs
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                shapes = [(gate, in_size), (gate, real_h)]
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    shapes += [(gate,), (gate,)]
                if proj_size:
                    names.append(f"weight_hr{sfx}")
                    shapes.append((proj_size, hidden_size))
                for n, s in zip(names, shapes):
                    from ...ops.creation import empty
                    setattr(self, n, Parameter(empty(s, **kw)))
                self._flat_weights_names += names
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)     # (as torch: each weight's version is 1 after)

    def flatten_parameters(self):
        pass

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if getattr(self, "proj_size", 0) != 0:      # (the dynamic quantized LSTM has none)
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _layer_params(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        names = (f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}",
                 f"weight_hr{sfx}")
        if "parametrizations" in self._modules:     # a parametrized weight is a property
            return tuple(getattr(self, n, None) for n in names)
        g = self.__dict__
        return (g[names[0]], g[names[1]], g.get(names[2]), g.get(names[3]), g.get(names[4]))

    def forward(self, input, hx=None):
        from ..utils.rnn import PackedSequence, _index_arrays, _packed_to_padded
        packed = isinstance(input, PackedSequence)
        batch_sizes = None
        if packed:
            x, batch_sizes = _packed_to_padded(input)
            bs = batch_sizes.tolist()
            batch_sizes = bs
            B = bs[0]
            if hx is not None:
                hx = self._permute_hidden(hx, input.sorted_indices)
        else:
            x = input
            if x.dim() not in (2, 3):
                kind = "tensor " if self.mode.startswith("RNN") else ""
                raise ValueError(f"{self.mode.split('_')[0]}: Expected input to be 2D or 3D, got "
                                 f"{x.dim()}D {kind}instead")
            unbatched = x.dim() == 2
            if hx is not None:
                self._check_hx_dims(hx, unbatched)
            if unbatched:
                x = x.unsqueeze(1)
                if hx is not None:
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if self.mode == "LSTM" else \
                        hx.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            B = x.shape[1]
        w = self.weight_ih_l0
        amp = _autocast_dtype(x)
        if x.dtype != w.dtype and amp is None:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        if not packed and x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        h0, c0 = self._initial_state(hx, B, x, amp is None)
        out, hn, cn = self._run(x, h0, c0, batch_sizes, amp)
        if packed:
            t_idx, b_idx = _index_arrays(input.batch_sizes._host())
            out = PackedSequence(apply(_rnn_ops.rnn_pack, (out,), (t_idx, b_idx)),
                                 input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            hn = self._permute_hidden(hn, input.unsorted_indices)
            cn = None if cn is None else self._permute_hidden(cn, input.unsorted_indices)
        else:
            if unbatched:
                out, hn = out.squeeze(1), hn.squeeze(1)
                cn = None if cn is None else cn.squeeze(1)
            elif self.batch_first:      # torch's LSTM transposes a copy, RNN and GRU in place
                out = out.transpose(0, 1) if self.mode == "LSTM" else \
                    _rnn_ops.transpose_(out, 0, 1)
        return out, ((hn, cn) if self.mode == "LSTM" else hn)

    def _check_hx_dims(self, hx, unbatched):
        """torch's forward: the hidden state's rank must match the input's (LSTM reads hx[0]
        and hx[1], so a shorter tuple raises IndexError as torch's does)."""
        want = 2 if unbatched else 3
        what = "unbatched 2-D" if unbatched else "batched 3-D"
        if self.mode == "LSTM":
            h, c = hx[0], hx[1]
            if h.dim() != want or c.dim() != want:
                raise RuntimeError(f"For {what} input, hx and cx should also be {want}-D but got "
                                   f"({h.dim()}-D, {c.dim()}-D) tensors")
        elif hx.dim() != want:
            raise RuntimeError(f"For {what} input, hx should also be {want}-D but got "
                               f"{hx.dim()}-D tensor")

    @staticmethod
    def _permute_hidden(hx, idx):
        if idx is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(h.index_select(1, idx) for h in hx)
        return hx.index_select(1, idx)

    def _initial_state(self, hx, B, x, check_dtype=True):
        dirs = 2 if self.bidirectional else 1
        n = self.num_layers * dirs
        real_h = self.proj_size or self.hidden_size
        if hx is None:
            from ...ops.creation import zeros
            h0 = zeros(n, B, real_h, dtype=x.dtype, device=x.device)
            c0 = zeros(n, B, self.hidden_size, dtype=x.dtype, device=x.device) \
                if self.mode == "LSTM" else None
            return h0, c0
        if self.mode == "LSTM":
            h0, c0 = hx[0], hx[1]
            self._check_hidden(h0, (n, B, real_h), "Expected hidden[0] size")
            self._check_hidden(c0, (n, B, self.hidden_size), "Expected hidden[1] size")
            if len(hx) != 2:
                raise RuntimeError("lstm expects two hidden states")
            if check_dtype:
                _check_state_dtype(x, self.weight_hh_l0, h0, c0)
            return h0, c0
        self._check_hidden(hx, (n, B, real_h), "Expected hidden size")
        if check_dtype:
            _check_state_dtype(x, self.weight_hh_l0, hx)
        return hx, None

    @staticmethod
    def _check_hidden(h, shape, msg):
        if tuple(h.shape) != shape:
            raise RuntimeError(f"{msg} {shape}, got {list(h.shape)}")

    def _run(self, x, h0, c0, batch_sizes, amp=None):
        dirs = 2 if self.bidirectional else 1
        params = [self._layer_params(layer, d) for layer in range(self.num_layers)
                  for d in range(dirs)]
        # the oneDNN warning at forward's line in this file, as torch's points at its own
        # LSTM.forward
        return run_layers(self.mode, x, h0, c0, params, self.num_layers, dirs,
                          self.dropout, self.training, batch_sizes, amp, stacklevel=3)


def run_layers(mode, x, h0, c0, params, num_layers, dirs, dropout, train, batch_sizes, amp,
               stacklevel):
    """The stacked layers of RNNBase.forward and of torch.lstm / gru / rnn_tanh / rnn_relu:
    x (T, B, I), h0 and c0 (num_layers * dirs, B, *), `params` one (w_ih, w_hh, b_ih, b_hh, w_hr)
    per layer and direction. Returns the last layer's output and the stacked final states.

    Under autocast, torch runs an LSTM without projections on unpacked input through oneDNN
    (mkldnn_rnn_layer, on autocast's lower-precision list: everything in the autocast dtype);
    the other layers are composites whose linears autocast (see the layer ops for the dtypes
    that gives)."""
    mkldnn = mode == "LSTM" and batch_sizes is None and \
        (amp is not None or x.dtype == float32 or x.dtype == bfloat16 and ONEDNN_BF16)
    if mkldnn and params[0][4] is not None:
        mkldnn = False
        warn_once("LSTM with projections is not supported with oneDNN. Using default "
                  "implementation.", stacklevel=stacklevel)
    if mkldnn and amp == bfloat16 and not ONEDNN_BF16:     # torch's oneDNN has no bfloat16 here
        raise RuntimeError("could not create a primitive descriptor for the LSTM forward "
                           "propagation primitive. Run workload with environment variable "
                           "ONEDNN_VERBOSE=all to get additional diagnostic information.")
    hns, cns = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh, w_hr = params[k]
            if mode == "LSTM":
                if mkldnn and not layer_in.is_contiguous():     # (torch's CloneBackward0)
                    layer_in = layer_in.contiguous()
                ins = rnn_args(layer_in, h0[k], c0[k], w_ih, w_hh, b_ih, b_hh, w_hr)
                if amp is not None:     # the cell state stays as given off oneDNN
                    ins = tuple(t if i == 2 and not mkldnn else _to(t, amp)
                                for i, t in enumerate(ins))
                if mkldnn:              # (its inputs in torch's order; its node torch's)
                    out, hn, cn = apply(mkldnn_rnn_layer, ins[:1] + ins[3:7] + ins[1:3],
                                        (batch_sizes, d == 1))
                else:
                    out, hn, cn = apply(lstm_layer, ins, (batch_sizes, d == 1))
                    out = as_node(out, "StackBackward0")
            else:
                x_l, h_l, w_ih, w_hh, b_ih, b_hh = rnn_args(layer_in, h0[k], w_ih, w_hh, b_ih,
                                                            b_hh)
                out, hn = apply(rnn_layer, (F.linear(x_l, w_ih, b_ih), h_l, w_hh, b_hh),
                                (mode, batch_sizes, d == 1))
                out = as_node(out, "StackBackward0")
                cn = None
            outs.append(out)
            hns.append(hn)
            cns.append(cn)
        layer_in = outs[0] if dirs == 1 else _cat(outs, 2)
        if dropout and train and layer < num_layers - 1:
            layer_in = F.dropout(layer_in, dropout, True) if batch_sizes is None else \
                _packed_dropout(layer_in, dropout, batch_sizes)
    hn = _stack(hns)
    cn = _stack(cns) if mode == "LSTM" else None
    return layer_in, hn, cn


def _packed_dropout(x, p, batch_sizes):
    """Dropout between the layers of a packed input: torch drops out the PackedSequence's data
    (the valid steps' rows only, in packed order), so the random stream and the mask follow
    those rows rather than the padded (T, B, *) layout."""
    from ..utils.rnn import _index_arrays, _scatter_padded
    data = F.dropout(apply(_rnn_ops.rnn_pack, (x,), _index_arrays(batch_sizes)), p, True)
    return _scatter_padded(data, batch_sizes)


def _check_state_dtype(x, w_hh, *states):
    """A hidden state of another dtype than the input and weights (torch's kernels then fail
    in the hidden-to-hidden matmul)."""
    for h in states:
        if h is not None and h.dtype != x.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{tname(h.arr.dtype)} and {tname(w_hh.arr.dtype)}")


def _cat(ts, dim):
    from ...ops.shape import cat
    return cat(ts, dim)


def _stack(ts):
    from ...ops.shape import stack
    return stack(ts, 0)


def _no_projection(kwargs, lstm=False):
    """torch's RNN, LSTM and GRU pass keywords through to RNNBase; RNN and GRU refuse
    proj_size first."""
    if "proj_size" in kwargs and not lstm:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"RNNBase.__init__() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")


class RNN(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 **kwargs):
        _no_projection(kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
                 **kwargs):
        _no_projection(kwargs, lstm=True)
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        _no_projection(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        from ...ops.creation import empty
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)     # (as torch: each weight's version is 1 after)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _step(self, mode, input, h, c):
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for i, t in enumerate((h, c) if mode == "LSTM" else (h,)):
            if t is not None and t.dim() not in (1, 2):
                what = f"hx[{i}]" if mode == "LSTM" else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {t.dim()}D "
                                 "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        B = x.shape[0]
        from ...ops.creation import zeros
        if h is None:
            h = zeros(B, self.hidden_size, dtype=x.dtype, device=x.device)
        elif unbatched:
            h = h.unsqueeze(0)
        if mode == "LSTM":
            if c is None:
                c = zeros(B, self.hidden_size, dtype=x.dtype, device=x.device)
            elif unbatched:
                c = c.unsqueeze(0)
        for i, t in enumerate((h, c) if mode == "LSTM" else (h,)):     # torch's order
            if t.shape[0] != B:
                raise RuntimeError(f"Input batch size {B} doesn't match hidden{i} batch size "
                                   f"{t.shape[0]}")
            if t.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got "
                                   f"{t.shape[1]}, expected {self.hidden_size}")
        for t, w in ((input, self.weight_ih), (h, self.weight_hh), (c, self.weight_hh)):
            if t is not None and t.dtype != w.dtype and _autocast_dtype(t) is None:     # torch's cell: linear(t, w) fails
                raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                                   f"{tname(t.arr.dtype)} and {tname(w.arr.dtype)}")
        cn = None
        x, h, c, w_ih, w_hh, b_ih, b_hh = rnn_args(x, h, c, self.weight_ih, self.weight_hh,
                                                   self.bias_ih, self.bias_hh)
        if mode == "LSTM":      # torch's lstm_cell: hy = o * tanh(cy), cy = f * cx + i * g
            _, hn, cn = apply(lstm_layer, (x.unsqueeze(0), h, c, w_ih, w_hh, b_ih, b_hh, None),
                              (None, False))
            hn, cn = as_node(hn, "MulBackward0"), as_node(cn, "AddBackward0")
        else:
            xw = F.linear(x, w_ih, b_ih).unsqueeze(0)
            _, hn = apply(rnn_layer, (xw, h, w_hh, b_hh), (mode, None, False))
            hn = as_node(hn, _CELL_NODE[mode])
        if unbatched:
            hn = hn.squeeze(0)
            cn = cn.squeeze(0) if mode == "LSTM" else cn
        return (hn, cn) if mode == "LSTM" else hn


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(mode, input, hx, None)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            return self._step("LSTM", input, None, None)
        if isinstance(hx, Tensor):
            raise TypeError("lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, "
                            "not Tensor")
        if len(hx) != 2:
            raise RuntimeError("lstm_cell expects two hidden states")
        return self._step("LSTM", input, hx[0], hx[1])


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._step("GRU", input, hx, None)

