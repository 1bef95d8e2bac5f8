"""torch._utils' helpers that libraries call directly: DDP/apex/DeepSpeed-style flat buffers
(_flatten_dense_tensors, _unflatten_dense_tensors, _take_tensors, _reorder_tensors_as), device
indices and element sizes, and the rebuild functions checkpoints name."""
from collections import defaultdict

from . import _dtype
from .backends import device as _device_cls
from .ops.creation import empty
from .ops.shape import cat
from .serialization import _rebuild

_rebuild_tensor, _rebuild_tensor_v2 = _rebuild.rebuild_tensor, _rebuild.rebuild_tensor_v2
_rebuild_parameter = _rebuild.rebuild_parameter
_rebuild_parameter_with_state = _rebuild.rebuild_parameter_with_state


def _flatten_dense_tensors(tensors):
    """One 1-D buffer of the tensors' elements; a single tensor's flat view (no copy) as torch's
    flatten_dense_tensors returns it."""
    flat = [t.contiguous().view(-1) for t in tensors]
    return flat[0] if len(flat) == 1 else cat(flat)


def _unflatten_dense_tensors(flat, tensors):
    """Views of `flat` shaped as `tensors` (an empty tensor gets its own empty buffer)."""
    outputs, offset = [], 0
    for t in tensors:
        numel = t.numel()
        if numel == 0:
            outputs.append(empty(0, dtype=flat.dtype))
        else:
            outputs.append(flat.narrow(0, offset, numel).view(t.size()))
            offset += numel
    return tuple(outputs)


def _take_tensors(tensors, size_limit):
    """Groups of tensors of one type each, up to size_limit bytes a group (a tensor larger than
    the limit alone)."""
    buf_dict = defaultdict(lambda: [[], 0])
    for tensor in tensors:
        t = tensor.type()
        if tensor.is_sparse:
            indices, values = tensor._indices(), tensor._values()
            size = indices.numel() * indices.element_size() + \
                values.numel() * values.element_size()
        else:
            size = tensor.numel() * tensor.element_size()
        buf_and_size = buf_dict[t]
        if buf_and_size[1] + size > size_limit and buf_and_size[1] > 0:
            yield buf_and_size[0]
            buf_and_size = buf_dict[t] = [[], 0]
        buf_and_size[0].append(tensor)
        buf_and_size[1] += size
    for buf, _ in buf_dict.values():
        if len(buf) > 0:
            yield buf


def _reorder_tensors_as(tensors, ordered_tensors):
    """`tensors` (in ordered_tensors' order within each type, as _take_tensors groups them) in
    ordered_tensors' order."""
    type_dict = defaultdict(list)
    for tensor in tensors:
        type_dict[tensor.type()].append(tensor)
    type_dict_ = {t: iter(coll) for t, coll in type_dict.items()}
    return tuple(next(type_dict_[tensor.type()]) for tensor in ordered_tensors)


def _get_device_index(device, optional=False, allow_cpu=False):
    """The index of a device (a device, its name or an int); -1 for the CPU when allowed."""
    if isinstance(device, str):
        device = _device_cls(device)
    device_idx = None
    if isinstance(device, _device_cls):
        if not allow_cpu and device.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {device}")
        device_idx = -1 if device.type == "cpu" else device.index
    if isinstance(device, int):
        device_idx = device
    if device_idx is None and not optional:
        raise ValueError("Expected a torch.device with a specified index or an integer, "
                         f"but got:{device}")
    return device_idx       # (optional: None, the current device of no accelerator)


def _element_size(dtype):
    """The size in bytes of one element of dtype."""
    if not isinstance(dtype, _dtype.dtype):
        raise RuntimeError(f"expected torch.dtype, but got {type(dtype)}")
    return dtype.itemsize
