"""torch.distributed's collectives and point-to-point calls on Tensors: argument checks with
torch's messages, then the group's array algorithms, results copied back in place."""
import pickle
import warnings

import numpy as np

from datetime import timedelta

from .._tensor import Tensor
from ._group import RedOpType, ReduceOp, done_work
from .distributed_c10d import (GroupMember, _get_default_group, _group_rank, _not_in_group,
                               _resolve, get_backend, get_global_rank, get_group_rank)

__all__ = ["isend", "irecv", "send", "recv", "broadcast", "all_reduce", "reduce", "all_gather",
           "all_gather_single", "all_gather_into_tensor", "gather", "scatter", "reduce_scatter",
           "reduce_scatter_single", "reduce_scatter_tensor", "all_to_all", "all_to_all_single",
           "barrier", "monitored_barrier", "all_gather_object", "broadcast_object_list",
           "gather_object", "scatter_object_list", "send_object_list", "recv_object_list", "P2POp",
           "batch_isend_irecv"]


# ---- argument checks ------------------------------------------------------------------------
_BUT_GOT = "\n             but got "      # torch's messages are indented triple-quoted strings


def _check_single_tensor(param, name):
    if not isinstance(param, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor{_BUT_GOT}{type(param)} instead.")


def _check_tensor_list(param, name):
    if not isinstance(param, list):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]{_BUT_GOT}{type(param)} instead.")
    if not all(isinstance(p, Tensor) for p in param):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]{_BUT_GOT}{type(param)} with elements of type "
                        f"{[type(p) for p in param]}.")


def _ensure_same_dtype(*tensors):
    last = None
    for t in (t for item in tensors for t in (item if isinstance(item, list) else (item,))):
        dt = t.dtype.to_real() if t.dtype.is_complex else t.dtype
        if last is not None and last != dt:
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {last} and  "
                             f"{t.dtype}")
        last = dt


def _check_op(op, tensor, name):
    if isinstance(op, ReduceOp):
        op = op.op
    if not isinstance(op, RedOpType) or op == RedOpType.PREMUL_SUM:
        raise TypeError(f"{name}(): incompatible function arguments: op must be a "
                        f"torch.distributed.ReduceOp, got {op!r}")
    if tensor.is_complex() and op in (RedOpType.MAX, RedOpType.MIN, RedOpType.PRODUCT,
                                      RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR):
        raise ValueError(f"{name} does not support {op} on complex tensors")
    kind = tensor.arr.dtype.kind
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and kind not in "biu":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op == RedOpType.AVG and kind in "biu":
        from ..ops._apply import _tname
        raise RuntimeError("result type Float can't be cast to the desired output type "
                           f"{_tname(tensor.arr.dtype)}")
    return op


def _fmt(shape):
    return "(" + ", ".join(map(str, shape)) + ")"


def _check_root(pg, root, name):
    if not 0 <= root < pg.size():
        raise RuntimeError(f"ProcessGroupGloo::{name}: invalid root rank: {root}")


def _check_sizes(tensors, shape, name):
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(shape):
            raise RuntimeError(f"ProcessGroupGloo::{name}: invalid tensor size at index {i} "
                               f"(expected {_fmt(shape)}, got {_fmt(t.shape)})")


def _check_list_size(tensors, pg, name, which):
    if len(tensors) != pg.size():
        raise RuntimeError(f"ProcessGroupGloo::{name}: Incorrect {which} list size "
                           f"{len(tensors)}. {which.capitalize()} list size should be "
                           f"{pg.size()}, same as size of the process group.")


# ---- tensors <-> host arrays ----------------------------------------------------------------
def _host(t):
    return t.be.to_host(t.arr)


def _write(t, arr):
    """Copy a received array into `t` in place (what torch's collectives do)."""
    if arr is t.arr:
        return
    if arr.size != t.arr.size or arr.dtype != t.arr.dtype:
        raise RuntimeError(f"ProcessGroupGloo: received {arr.size} elements of {arr.dtype} for "
                           f"a tensor of {t.arr.size} elements of {t.arr.dtype}: the ranks' "
                           "tensors differ")
    t.arr[...] = t.be.from_host(arr.reshape(t.arr.shape))


# ---- point to point -------------------------------------------------------------------------
def _check_peer(pg, r, name, kind):
    if not 0 <= r < pg.size():
        raise RuntimeError(f"ProcessGroupGloo::{name}: invalid {kind} rank: {r}")


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    pg = _resolve(group)
    group_dst = _group_rank(pg, dst, group_dst)
    _check_single_tensor(tensor, "tensor")
    if _not_in_group(group, "isend"):
        return None
    _check_peer(pg, group_dst, "send", "destination")
    pg.send(_host(tensor), group_dst, tag)
    return done_work([tensor])


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    _check_single_tensor(tensor, "tensor")
    if _not_in_group(group, "irecv"):
        return None
    pg = _resolve(group)
    if src is not None or group_src is not None:
        group_src = _group_rank(pg, src, group_src)
        _check_peer(pg, group_src, "recv", "source")
    return pg.irecv(group_src, tag, lambda arr: _write(tensor, arr), [tensor])


def _check_not_self(pg, rank, kind):
    if pg.rank() == rank:
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank "
                         "of the current process.")


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    pg = _resolve(group)
    _check_not_self(pg, _group_rank(pg, dst, group_dst), "destination")
    isend(tensor, dst, group, tag, group_dst)


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor`; returns the sender's global rank (-1 outside the group)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    sender = work._source_rank()
    if src is None and group_src is None:
        _check_not_self(_resolve(group), get_group_rank(group or GroupMember.WORLD, sender),
                        "source")
    return sender


class P2POp:
    """One isend or irecv for batch_isend_irecv: op, tensor and the peer (a global rank, or
    group_peer within `group`)."""

    def __new__(cls, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        _check_single_tensor(tensor, "tensor")
        return object.__new__(cls)

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        self.op, self.tensor, self.tag = op, tensor, tag
        self.group = _resolve(group)
        self.group_peer = _group_rank(self.group, peer, group_peer)
        self.peer = get_global_rank(self.group, self.group_peer)


def batch_isend_irecv(p2p_op_list):
    """Post every send and receive of the list; their Works, to wait on."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(op, P2POp) for op in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    if not all(op.group == p2p_op_list[0].group for op in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for p in p2p_op_list:
        peer = {"group_dst" if p.op is isend else "group_src": p.group_peer}
        work = p.op(p.tensor, group=p.group, tag=p.tag, **peer)
        if work:
            works.append(work)
    return works


# ---- collectives ----------------------------------------------------------------------------
def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    pg = _resolve(group)
    root = _group_rank(pg, src, group_src)
    _check_single_tensor(tensor, "tensor")
    if _not_in_group(group, "broadcast"):
        return None
    _check_root(pg, root, "broadcast")
    return pg.run(lambda: _write(tensor, pg.broadcast(_host(tensor), root)), async_op, [tensor])


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` over the group in place; every rank gets the same bits."""
    _check_single_tensor(tensor, "tensor")
    if _not_in_group(group, "all_reduce"):
        return None
    op = _check_op(op, tensor, "all_reduce")
    pg = _resolve(group)
    return pg.run(lambda: _write(tensor, pg.all_reduce(_host(tensor), op)), async_op, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    pg = _resolve(group)
    root = _group_rank(pg, dst, group_dst)
    _check_single_tensor(tensor, "tensor")
    if _not_in_group(group, "reduce"):
        return None
    _check_root(pg, root, "reduce")
    op = _check_op(op, tensor, "reduce")

    def run():
        result = pg.reduce(_host(tensor), op, root)
        if result is not None:
            _write(tensor, result)
    return pg.run(run, async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    _check_tensor_list(tensor_list, "tensor_list")
    _check_single_tensor(tensor, "tensor")
    _ensure_same_dtype(tensor_list, tensor)
    if _not_in_group(group, "all_gather"):
        return None
    pg = _resolve(group)
    if len(tensor_list) != pg.size():
        raise RuntimeError("ProcessGroupGloo::allgather: invalid output tensor list at index 0 "
                           f"(expected length {pg.size()}, got {len(tensor_list)})")
    _check_sizes(tensor_list, tensor.shape, "allgather")

    def run():
        for out, arr in zip(tensor_list, pg.all_gather(_host(tensor))):
            _write(out, arr)
    return pg.run(run, async_op, tensor_list)


def all_gather_single(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's `input_tensor` into `output_tensor`, concatenated along dim 0."""
    _check_single_tensor(input_tensor, "input_tensor")
    _check_single_tensor(output_tensor, "output_tensor")
    if _not_in_group(group, "all_gather_single"):
        return None
    pg = _resolve(group)
    shape = tuple(input_tensor.shape) or (1,)
    _check_sizes([output_tensor], (shape[0] * pg.size(),) + shape[1:], "allgather")

    def run():
        parts = pg.all_gather(_host(input_tensor))
        _write(output_tensor, np.concatenate([p.reshape(-1) for p in parts]))
    return pg.run(run, async_op, [output_tensor])


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    warnings.warn("`torch.distributed.all_gather_into_tensor` is deprecated. Please use "
                  "`torch.distributed.all_gather_single` instead.", FutureWarning, stacklevel=2)
    return all_gather_single(output_tensor, input_tensor, group, async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    _check_single_tensor(tensor, "tensor")
    if gather_list:
        _check_tensor_list(gather_list, "gather_list")
    gather_list = gather_list or []
    _ensure_same_dtype(tensor, gather_list)
    pg = _resolve(group)
    if _not_in_group(group, "gather"):
        return None
    root = _group_rank(pg, 0 if dst is None and group_dst is None else dst, group_dst)
    if root == pg.rank():
        if not gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    _check_root(pg, root, "gather")
    if root == pg.rank():
        _check_list_size(gather_list, pg, "gather", "output")
        _check_sizes(gather_list, tensor.shape, "gather")

    def run():
        for out, arr in zip(gather_list, pg.gather(_host(tensor), root) or ()):
            _write(out, arr)
    return pg.run(run, async_op, gather_list)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    _check_single_tensor(tensor, "tensor")
    if scatter_list:
        _check_tensor_list(scatter_list, "scatter_list")
    scatter_list = scatter_list or []
    _ensure_same_dtype(tensor, scatter_list)
    pg = _resolve(group)
    root = _group_rank(pg, 0 if src is None and group_src is None else src, group_src)
    if _not_in_group(group, "scatter"):
        return None
    if root == pg.rank():
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    _check_root(pg, root, "scatter")
    if root == pg.rank():
        _check_list_size(scatter_list, pg, "scatter", "input")
        _check_sizes(scatter_list, tensor.shape, "scatter")
    return pg.run(lambda: _write(tensor, pg.scatter([_host(t) for t in scatter_list], root)),
                  async_op, [tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    _check_single_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    _ensure_same_dtype(output, input_list)
    if _not_in_group(group, "reduce_scatter"):
        return None
    pg = _resolve(group)
    op = _check_op(op, output, "reduce_scatter")
    if len(input_list) != pg.size():
        raise RuntimeError("invalid input tensor list size, must be world size")
    _check_sizes(input_list, output.shape, "reduce_scatter")
    return pg.run(lambda: _write(output, pg.reduce_scatter([_host(t) for t in input_list], op)),
                  async_op, [output])


def reduce_scatter_single(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `input` over the group; rank r keeps the r-th block of dim 0 in `output`."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    if _not_in_group(group, "reduce_scatter_single"):
        return None
    pg = _resolve(group)
    op = _check_op(op, output, "reduce_scatter")
    out_shape, in_shape = tuple(output.shape) or (1,), tuple(input.shape) or (1,)
    if out_shape[0] * pg.size() != in_shape[0] or out_shape[1:] != in_shape[1:]:
        raise RuntimeError("ProcessGroupGloo::reduce_scatter_tensor: the input must be the "
                           f"output's size times the world size along dim 0 (output "
                           f"{_fmt(out_shape)}, input {_fmt(in_shape)}, world size {pg.size()})")
    return pg.run(lambda: _write(output, pg.reduce_scatter(
        np.split(_host(input).reshape(in_shape), pg.size()), op)), async_op, [output])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    warnings.warn("`torch.distributed.reduce_scatter_tensor` is deprecated. Please use "
                  "`torch.distributed.reduce_scatter_single` instead.", FutureWarning,
                  stacklevel=2)
    return reduce_scatter_single(output, input, op, group, async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank r's input_tensor_list[j] lands in rank j's output_tensor_list[r]."""
    if _not_in_group(group, "all_to_all"):
        return None
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    _ensure_same_dtype(output_tensor_list, input_tensor_list)
    pg = _resolve(group)
    for which, tensors in (("input", input_tensor_list), ("output", output_tensor_list)):
        if len(tensors) != pg.size():
            raise RuntimeError(f"ProcessGroupGloo::alltoall: {which} tensor list size "
                               f"{len(tensors)} does not match world size {pg.size()}")
    if any(a.shape != b.shape for a, b in zip(input_tensor_list, output_tensor_list)):
        raise RuntimeError("ProcessGroupGloo::alltoall: input and output tensors must have the "
                           "same size")

    def run():
        for out, arr in zip(output_tensor_list, pg.exchange([_host(t) for t in input_tensor_list])):
            _write(out, arr)
    return pg.run(run, async_op, output_tensor_list)


def _splits(sizes, dim0, size):
    if not sizes:
        if dim0 % size:
            raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
        return [dim0 // size] * size
    if len(sizes) != size:
        raise RuntimeError("Number of tensor splits not equal to group size")
    if sum(sizes) != dim0:
        raise RuntimeError("Split sizes doesn't match total dim 0 size")
    return list(sizes)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """Split `input` along dim 0 (evenly, or by input_split_sizes), send block j to rank j,
    and concatenate the blocks received into `output` (by output_split_sizes)."""
    if _not_in_group(group, "all_to_all_single"):
        return None
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    _ensure_same_dtype(output, input)
    pg = _resolve(group)
    in_shape, out_shape = tuple(input.shape) or (1,), tuple(output.shape) or (1,)
    in_splits = _splits(input_split_sizes, in_shape[0], pg.size())
    out_splits = _splits(output_split_sizes, out_shape[0], pg.size())
    if not input_split_sizes and not output_split_sizes and input.numel() != output.numel():
        raise RuntimeError("ProcessGroupGloo::alltoall_base: input and output tensors must "
                           "have the same size")

    def run():
        blocks = np.split(_host(input).reshape(in_shape), np.cumsum(in_splits)[:-1])
        received = pg.exchange(blocks)
        for n, arr in zip(out_splits, received):
            if arr.shape[0] != n:
                raise RuntimeError(f"all_to_all_single: expected {n} rows from a rank, "
                                   f"received {arr.shape[0]}")
        _write(output, np.concatenate(received))
    return pg.run(run, async_op, [output])


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    pg = group or _get_default_group()
    if _not_in_group(group, "barrier"):
        return None
    return pg.run(pg.barrier, async_op)


def monitored_barrier(group=GroupMember.WORLD, timeout=None, wait_all_ranks=False):
    """A barrier that gloo times out (ember's receives time out after the group's timeout)."""
    if _not_in_group(group, "monitored_barrier"):
        return None
    if get_backend(group) != "gloo":
        raise ValueError("monitored_barrier is only implemented for GLOO backend.")
    if isinstance(timeout, float):
        warnings.warn("Please specify timeout arg as a timedelta. Converting current value of "
                      f"{timeout} assuming it represents seconds", stacklevel=2)
        timeout = timedelta(seconds=timeout)
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout}")
    return barrier(group)


# ---- Python objects (pickled into uint8 arrays) ---------------------------------------------
def _pickled(obj):
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8)


def _unpickled(arr):
    return pickle.loads(arr.tobytes())


def _run(pg, fn):
    box = []
    pg.run(lambda: box.append(fn()), False)
    return box[0]


def all_gather_object(object_list, obj, group=None):
    if _not_in_group(group, "all_gather_object"):
        return
    pg = _resolve(group)
    for i, arr in enumerate(_run(pg, lambda: pg.all_gather(_pickled(obj)))):
        object_list[i] = _unpickled(arr)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    pg = _resolve(group)
    root = _group_rank(pg, 0 if src is None and group_src is None else src, group_src)
    if _not_in_group(group, "broadcast_object_list"):
        return
    _check_root(pg, root, "broadcast")
    received = _run(pg, lambda: pg.broadcast(_pickled(list(object_list)), root))
    if pg.rank() != root:
        for i, obj in enumerate(_unpickled(received)):
            object_list[i] = obj


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    pg = _resolve(group)
    root = _group_rank(pg, 0 if dst is None and group_dst is None else dst, group_dst)
    if _not_in_group(group, "gather_object"):
        return
    if root == pg.rank() and not object_gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if root != pg.rank() and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    _check_root(pg, root, "gather")
    for i, arr in enumerate(_run(pg, lambda: pg.gather(_pickled(obj), root)) or ()):
        object_gather_list[i] = _unpickled(arr)


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    pg = _resolve(group)
    root = _group_rank(pg, 0 if src is None and group_src is None else src, group_src)
    if _not_in_group(group, "scatter_object_list"):
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    if pg.rank() == root and scatter_object_input_list is None:
        raise ValueError("source rank must provide non-None scatter_object_input_list")
    _check_root(pg, root, "scatter")
    inputs = [_pickled(o) for o in scatter_object_input_list] if pg.rank() == root else None
    scatter_object_output_list[0] = _unpickled(_run(pg, lambda: pg.scatter(inputs, root)))


def send_object_list(object_list, dst=None, group=None, device=None, group_dst=None,
                     use_batch=False):
    """Send picklable objects to one rank: their sizes, then their bytes (torch's two
    messages, so a torch-style receiver of either kind reads them)."""
    pg = _resolve(group)
    group_dst = _group_rank(pg, dst, group_dst)
    _check_not_self(pg, group_dst, "destination")
    if _not_in_group(group, "send_object_list"):
        return
    arrays = [_pickled(obj) for obj in object_list]
    from ..ops.creation import tensor as _tensor
    send(_tensor([a.size for a in arrays]), group=group, group_dst=group_dst)
    send(_tensor(np.concatenate(arrays)), group=group, group_dst=group_dst)


def recv_object_list(object_list, src=None, group=None, device=None, group_src=None,
                     use_batch=False):
    """Fill object_list with the objects one rank sent; returns the sender's global rank."""
    pg = _resolve(group)
    group_src = _group_rank(pg, src, group_src)
    _check_not_self(pg, group_src, "source")
    if _not_in_group(group, "recv_object_list"):
        return -1
    from ..ops.creation import empty
    from .. import int64, uint8
    sizes = empty(len(object_list), dtype=int64)
    recv(sizes, group=group, group_src=group_src)
    data = empty(int(sizes.sum()), dtype=uint8)
    sender = recv(data, group=group, group_src=group_src)
    ends = np.cumsum(sizes.numpy())
    for i, (lo, hi) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
        object_list[i] = _unpickled(data.numpy()[lo:hi])
    return sender
