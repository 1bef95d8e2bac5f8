"""Packed and padded sequences, as torch.nn.utils.rnn."""
from collections import namedtuple

import numpy as np

from ...backends import CPU
from ..._dtype import float16, float32, float64, int8, int16, int32, int64, uint8
from ..._tensor import Tensor, _new
from ...ops._apply import apply
from ...ops.index import _unstable_argsort
from .._rnn_ops import pack_padded

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Time-major concatenation of the active rows of each step; batch_sizes[t] rows at step t."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        """PackedSequence(data, batch_sizes, ...) or, as torch, PackedSequence((data,
        batch_sizes), ...)."""
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually. They should be instantiated by "
                             "functions like pack_sequence and pack_padded_sequences in "
                             "nn.utils.rnn. https://pytorch.org/docs/stable/nn.html#torch.nn."
                             "utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def pin_memory(self):
        idx = [None if i is None else i.pin_memory() for i in (self.sorted_indices,
                                                               self.unsorted_indices)]
        return type(self)(self.data.pin_memory(), self.batch_sizes, *idx)

    def to(self, *args, **kwargs):
        if "copy" in kwargs:
            raise RuntimeError(".to() does not accept copy argument")
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        idx = [None if i is None else i.to(dev) for i in (self.sorted_indices,
                                                          self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    def cuda(self, *args, **kwargs):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=float64)

    def float(self):
        return self.to(dtype=float32)

    def half(self):
        return self.to(dtype=float16)

    def long(self):
        return self.to(dtype=int64)

    def int(self):
        return self.to(dtype=int32)

    def short(self):
        return self.to(dtype=int16)

    def char(self):
        return self.to(dtype=int8)

    def byte(self):
        return self.to(dtype=uint8)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    if permutation is None:
        return None
    xp = permutation.be.xp
    out = xp.empty_like(permutation.arr)
    out[permutation.arr] = xp.arange(permutation.arr.size)
    return _new(out, permutation.be)


def _index_arrays(batch_sizes):
    """(time, batch) positions of each packed row."""
    t_idx = np.concatenate([np.full(b, t) for t, b in enumerate(batch_sizes)]).astype(np.int64)
    b_idx = np.concatenate([np.arange(b) for b in batch_sizes]).astype(np.int64)
    return t_idx, b_idx


def _exported(fn, input, *args, **kwargs):
    """torch.onnx.export's tracer sees packing (torch's records aten::_pack_padded_sequence):
    `fn` goes through it while exporting, None otherwise."""
    from ...onnx import is_in_onnx_export
    if not is_in_onnx_export():
        return None
    from ..._torch_function import handle_torch_function, has_torch_function
    return handle_torch_function(fn, (input,), input, *args, **kwargs) \
        if has_torch_function((input,)) else None


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    traced = _exported(pack_padded_sequence, input, lengths, batch_first=batch_first,
                       enforce_sorted=enforce_sorted)
    if traced is not None:
        return traced
    lengths = np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths,
                         dtype=np.int64)
    sorted_indices = None
    if not enforce_sorted:
        # torch.sort(lengths, descending=True), of whatever dims (refused below)
        order = _unstable_argsort(np, lengths, -1, True) if lengths.ndim else np.zeros((), int)
        lengths = np.take_along_axis(lengths, order, -1) if lengths.ndim else lengths
        sorted_indices = _new(input.be.xp.asarray(order), input.be)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    _check_packing(input, lengths, batch_first)
    T = int(lengths[0]) if lengths.size else 0
    batch_sizes = np.array([(lengths > t).sum() for t in range(T)], dtype=np.int64)
    t_idx, b_idx = _index_arrays(batch_sizes)
    # (torch's op takes the batch-first input as it is: no transpose node before it)
    data = apply(pack_padded, (input,), (b_idx, t_idx) if batch_first else (t_idx, b_idx))
    return PackedSequence(data, _new(batch_sizes, CPU), sorted_indices)


def _check_packing(input, lengths, batch_first):
    """torch's _pack_padded_sequence checks, in its order (the sortedness last)."""
    if lengths.ndim != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.ndim}D cpu Long tensor")
    if not input.numel():
        raise RuntimeError("Cannot pack empty tensors.")
    batch = input.shape[0 if batch_first else 1]
    if lengths.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={batch})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if (np.diff(lengths) > 0).any():
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                           "to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")


def _packed_to_padded(seq, padding_value=0.0, total_length=None):
    """Padded (T, B, *) in sorted batch order, and the batch sizes."""
    bs = seq.batch_sizes.arr if seq.batch_sizes.be is CPU else seq.batch_sizes._host()
    return _scatter_padded(seq.data, bs, total_length, padding_value), seq.batch_sizes


def _scatter_padded(data, bs, total_length=None, padding_value=0.0):
    """Packed rows `data` with batch sizes `bs` (host ints) laid out as (T, B, *)."""
    T = len(bs) if total_length is None else total_length
    B = int(bs[0]) if len(bs) else 0
    from ...ops.creation import full
    out = full((T, B) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
               device=data.device)
    t_idx, b_idx = _index_arrays(bs)
    xp = data.be.xp
    out[_new(xp.asarray(t_idx), data.be), _new(xp.asarray(b_idx), data.be)] = data
    return out


def _padded_to_packed(padded, like):
    bs = like.batch_sizes._host()
    t_idx, b_idx = _index_arrays(bs)
    xp = padded.be.xp
    data = padded[_new(xp.asarray(t_idx), padded.be), _new(xp.asarray(b_idx), padded.be)]
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    traced = _exported(pad_packed_sequence, sequence, batch_first=batch_first,
                       padding_value=padding_value, total_length=total_length)
    if traced is not None:
        return traced
    bs = sequence.batch_sizes._host()
    if total_length is not None and total_length < len(bs):
        raise ValueError(f"Expected total_length to be at least the length of the longest "
                         f"sequence in input, but got total_length={total_length} and max "
                         f"sequence length being {len(bs)}")
    out, _ = _packed_to_padded(sequence, padding_value, total_length)
    B = int(bs[0]) if len(bs) else 0
    lengths = np.array([(bs > b).sum() for b in range(B)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        out = out.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._host()]
    if batch_first:
        out = out.transpose(0, 1)
    return out, _new(lengths, CPU)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """torch's pad_sequence: a tensor of padding_value in the first sequence's dtype, each
    sequence copied into its slot (so the result's grad_fn is CopySlices, and a sequence whose
    trailing dims differ fails as copy_ does)."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    from ...ops.creation import full
    ref = sequences[0]
    T = max(s.shape[0] for s in sequences)
    B = len(sequences)
    dims = (B, T) if batch_first else (T, B)
    out = full(dims + tuple(ref.shape[1:]), padding_value, dtype=ref.dtype, device=ref.device)
    for i, s in enumerate(sequences):
        n = s.shape[0]
        start = T - n if padding_side == "left" else 0
        slot = out.select(0, i).narrow(0, start, n) if batch_first else \
            out.narrow(0, start, n).select(1, i)
        slot.copy_(s)
    return out


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:     # torch's transposes its argument in place
        padded_sequences.transpose_(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(
        lengths.tolist() if isinstance(lengths, Tensor) else lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
