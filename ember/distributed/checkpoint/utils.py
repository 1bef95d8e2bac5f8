"""Helpers of save and load: the collective steps that every rank runs (working without a
process group too), and finding a state dict's value for a MetadataIndex."""
import itertools

from ... import _tensor
from .. import _collectives as dist
from .. import distributed_c10d as c10d
from .api import _is_wrapped_exception, _wrap_exception, CheckpointException

__all__ = ["find_tensor_shard", "find_state_dict_object"]


def _all_gather_keys(local_dict, group=None) -> set:
    """The keys of every rank's ``local_dict``."""
    gathered = [None] * c10d.get_world_size(group)
    dist.all_gather_object(gathered, list(local_dict.keys()), group=group)
    return set(itertools.chain.from_iterable(gathered))


def _assert_same_keys(state_dict, process_group=None) -> None:
    """Raise if another rank's state dict has keys this one lacks (a collective)."""
    if c10d.get_world_size(process_group) == 1:
        return
    diff = _all_gather_keys(state_dict, process_group) - set(state_dict.keys())
    if len(diff) > 0:
        raise AssertionError(f"Key(s) present in other ranks but not this one, difference: "
                             f"{diff}")


class _DistWrapper:
    """Object collectives over `group` that degrade to local calls without a process group.
    The map/reduce steps are exception safe: a failure on any rank raises a
    CheckpointException on every rank."""

    def __init__(self, group, use_dist: bool, coordinator_rank: int):
        self.group = group
        self.use_dist = use_dist
        self.coordinator_rank = coordinator_rank
        if use_dist:
            self.global_coordinator_rank = (c10d.get_global_rank(group, coordinator_rank)
                                            if group is not None else coordinator_rank)
            self.rank = c10d.get_rank(group)
            self.is_coordinator = self.rank == coordinator_rank
        else:
            self.global_coordinator_rank = 0
            self.rank = 0
            self.is_coordinator = True

    def get_rank(self) -> int:
        return self.rank

    def get_world_size(self) -> int:
        return c10d.get_world_size(self.group) if self.use_dist else 1

    def broadcast_object(self, obj):
        object_list = [obj]
        if self.use_dist:
            dist.broadcast_object_list(object_list, group=self.group,
                                       src=self.global_coordinator_rank)
        return object_list[0]

    def gather_object(self, obj):
        if not self.use_dist:
            return [obj]
        gathered = [None] * self.get_world_size() if self.is_coordinator else None
        dist.gather_object(obj, gathered, dst=self.global_coordinator_rank, group=self.group)
        return gathered

    def all_gather_object(self, obj):
        if not self.use_dist:
            return [obj]
        gathered = [None] * self.get_world_size()
        dist.all_gather_object(gathered, obj, group=self.group)
        return gathered

    def scatter_object(self, object_list):
        if not self.use_dist:
            return object_list[0]
        out = [None]
        dist.scatter_object_list(out, object_list if self.is_coordinator else None,
                                 src=self.global_coordinator_rank, group=self.group)
        return out[0]

    def _reduce(self, step, map_fun, reduce_fun):
        """(the coordinator's reduced value or a CheckpointException there; None elsewhere)"""
        try:
            local_data = map_fun()
        except BaseException as e:
            local_data = _wrap_exception(e)
        all_data = self.gather_object(local_data)
        if not self.is_coordinator:
            return None
        failures = {i: err for i, err in enumerate(all_data) if _is_wrapped_exception(err)}
        if not failures:
            try:
                return reduce_fun(all_data)
            except BaseException as e:
                failures[self.rank] = _wrap_exception(e)
        return CheckpointException(step, failures)

    def reduce_scatter(self, step: str, map_fun, reduce_fun):
        """Run ``map_fun`` on every rank, ``reduce_fun`` on their results at the coordinator,
        and scatter its list back: each rank gets its own entry."""
        results = self._reduce(step, map_fun, reduce_fun)
        if isinstance(results, CheckpointException):
            results = [results] * self.get_world_size()
        result = self.scatter_object(results)
        if isinstance(result, CheckpointException):
            raise result
        return result

    def all_reduce(self, step: str, map_fun, reduce_fun):
        """Run ``map_fun`` on every rank, ``reduce_fun`` on their results at the coordinator,
        and broadcast its value."""
        result = self.broadcast_object(self._reduce(step, map_fun, reduce_fun))
        if isinstance(result, CheckpointException):
            raise result
        return result

    def all_gather(self, step: str, map_fun):
        """Run ``map_fun`` on every rank and gather the results on all of them."""
        try:
            result = map_fun()
        except BaseException as e:
            result = _wrap_exception(e)
        all_results = self.all_gather_object(result)
        failures = {i: err for i, err in enumerate(all_results) if _is_wrapped_exception(err)}
        if failures:
            raise CheckpointException(step, failures)
        return all_results

    def broadcast(self, step: str, map_fun):
        """Run ``map_fun`` on the coordinator and broadcast its value."""
        result = None
        if self.is_coordinator:
            try:
                result = map_fun()
            except BaseException as e:
                result = CheckpointException(step, {self.rank: _wrap_exception(e)})
        final_result = self.broadcast_object(result)
        if isinstance(final_result, CheckpointException):
            raise final_result
        return final_result

    def barrier(self) -> None:
        if self.use_dist:
            dist.barrier(group=self.group)


def find_tensor_shard(tensor, index):
    if hasattr(tensor, "__get_tensor_shard__"):
        return tensor.__get_tensor_shard__(index)
    if index.offset is not None:
        if index.offset == _tensor.Size([0] * len(tensor.size())):
            return tensor
        raise ValueError(f"FQN: '{index.fqn}' is not a ShardedTensor, can't find by offset: "
                         f"'{index.offset}'")
    return tensor


def find_state_dict_object(state_dict, index):
    if index.fqn not in state_dict:
        raise ValueError(f"Could not find FQN: '{index.fqn}'")
    obj = state_dict[index.fqn]
    if isinstance(obj, _tensor.Tensor):
        return find_tensor_shard(obj, index)
    if index.offset is not None:
        raise ValueError(f"FQN: '{index.fqn}' is not a ShardedTensor, can't find by offset: "
                         f"'{index.offset}'")
    return obj


def narrow_tensor_by_index(tensor, offsets, sizes):
    """Narrow ``tensor`` to the box at ``offsets`` of ``sizes``."""
    narrowed = tensor
    for idx, (offset, size) in enumerate(zip(offsets, sizes)):
        if size < tensor.size(idx):
            narrowed = narrowed.narrow(idx, offset, size)
    return narrowed


def _storage_setup(storage, checkpoint_id, reader=False):
    from .filesystem import FileSystemReader, FileSystemWriter
    if storage:
        if checkpoint_id is not None:
            storage.reset(checkpoint_id)
        return storage
    if not checkpoint_id:
        raise RuntimeError("`checkpoint_id` must be specified if storage_reader/storage_writer "
                           "is None.")
    target = FileSystemReader if reader else FileSystemWriter
    if target.validate_checkpoint_id(checkpoint_id):
        storage = target(checkpoint_id)
        storage.reset(checkpoint_id)
        return storage
    raise RuntimeError("Cannot detect which StorageReader or StorageWriter to use. Please "
                       "specify the storage_reader/storage_writer.")
