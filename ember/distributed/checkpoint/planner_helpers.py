"""Building write and read items: one per tensor chunk or non-tensor value, and the reads
that fill local chunks from the chunks a checkpoint holds (resharding)."""
import dataclasses
import io
from collections import defaultdict

from ..._tensor import Size, Tensor
from ...ops.creation import empty_like
from ..distributed_c10d import _get_default_group
from .metadata import BytesStorageMetadata, ChunkStorageMetadata, MetadataIndex, \
    TensorProperties
from .planner import LoadItemType, ReadItem, SavePlan, TensorWriteData, WriteItem, \
    WriteItemType

__all__ = ["create_read_items_for_chunk_list"]


def _create_chunk_from_tensor(tensor) -> ChunkStorageMetadata:
    return ChunkStorageMetadata(offsets=Size([0] * len(tensor.size())), sizes=tensor.size())


def _create_write_item_for_tensor(fqn: str, tensor) -> WriteItem:
    offsets = Size([0] * len(tensor.size()))
    return WriteItem(
        index=MetadataIndex(fqn, offsets), type=WriteItemType.TENSOR,
        tensor_data=TensorWriteData(
            chunk=ChunkStorageMetadata(offsets=offsets, sizes=tensor.size()),
            properties=TensorProperties.create_from_tensor(tensor), size=tensor.size()))


def _create_write_item_for_bytesio(fqn: str, bytes):
    return WriteItem(index=MetadataIndex(fqn), type=WriteItemType.BYTE_IO)


def _create_read_item_for_byteio(dest_index, dest_offset, storage_index, storage_offset,
                                 length):
    return ReadItem(type=LoadItemType.BYTE_IO, dest_index=dest_index,
                    dest_offsets=Size((dest_offset,)), storage_index=storage_index,
                    storage_offsets=Size((storage_offset,)), lengths=Size((length,)))


def _create_read_item_for_tensor(dest_index, dest_offsets, storage_index, storage_offsets,
                                 lengths):
    return ReadItem(type=LoadItemType.TENSOR, dest_index=dest_index,
                    dest_offsets=Size(dest_offsets), storage_index=storage_index,
                    storage_offsets=Size(storage_offsets), lengths=Size(lengths))


def _chunks_overlap(a: ChunkStorageMetadata, b: ChunkStorageMetadata) -> bool:
    for i in range(len(a.offsets)):
        if a.offsets[i] >= b.offsets[i] + b.sizes[i] or \
                b.offsets[i] >= a.offsets[i] + a.sizes[i]:
            return False
    return True


def create_read_items_for_chunk_list(fqn: str, checkpoint_md, local_chunks) -> list:
    """The ``ReadItem`` list that fills ``local_chunks`` from the chunks of a checkpoint's
    tensor (``checkpoint_md``, a TensorStorageMetadata): one per overlapping pair."""
    read_items = []
    for local_idx, local in enumerate(local_chunks):
        for storage_idx, saved in enumerate(checkpoint_md.chunks):
            if not _chunks_overlap(local, saved):
                continue
            storage_offsets, dest_offsets, lengths = [], [], []
            for s_off, c_off, s_size, c_size in zip(saved.offsets, local.offsets,
                                                    saved.sizes, local.sizes):
                lengths.append(min(s_off + s_size, c_off + c_size) - max(c_off, s_off))
                storage_offsets.append(max(c_off - s_off, 0))
                dest_offsets.append(max(s_off - c_off, 0))
            read_items.append(_create_read_item_for_tensor(
                dest_index=MetadataIndex(fqn, local.offsets, local_idx),
                dest_offsets=dest_offsets,
                storage_index=MetadataIndex(fqn, saved.offsets, storage_idx),
                storage_offsets=storage_offsets, lengths=lengths))
    return read_items


def _create_default_metadata_only_plan(state_dict) -> SavePlan:
    return SavePlan([_create_write_item_for_tensor(fqn, obj) if isinstance(obj, Tensor)
                     else _create_write_item_for_bytesio(fqn, obj)
                     for fqn, obj in state_dict.items()])


def _create_write_items(fqn: str, object) -> list:
    if hasattr(object, "__create_write_items__"):
        return object.__create_write_items__(fqn, object)
    if isinstance(object, Tensor):
        return [_create_write_item_for_tensor(fqn, object)]
    return [_create_write_item_for_bytesio(fqn, object)]


def _create_chunk_list(tensor) -> list:
    if hasattr(tensor, "__create_chunk_list__"):
        return tensor.__create_chunk_list__()
    if isinstance(tensor, Tensor):
        return [_create_chunk_from_tensor(tensor)]
    raise ValueError("Unsupported Type, expecting one of [Tensor, DTensor, ShardedTensor] "
                     f",but got {type(tensor)}")


def _create_read_items(fqn: str, md, obj) -> list:
    if isinstance(md, BytesStorageMetadata):
        return [_create_read_item_for_byteio(dest_index=MetadataIndex(fqn), dest_offset=0,
                                             storage_index=MetadataIndex(fqn),
                                             storage_offset=0, length=0)]
    try:
        local_chunks = _create_chunk_list(obj)
    except ValueError as ex:
        raise ValueError(f"Invalid checkpoint metadata for {fqn}, expected "
                         f"BytesStorageMetadata but found {type(md)}") from ex
    return create_read_items_for_chunk_list(fqn, md, local_chunks)


def _init_state_dict(state_dict) -> None:
    """Replace the meta tensors of ``state_dict`` (in place, through nested dicts; lists and
    tuples rebuilt) by empty tensors on the default process group's device, to load into.
    As torch's walk, it replaces values of other types than tensors, containers, numbers,
    strings, bytes and None by None."""

    def init(obj):
        if isinstance(obj, Tensor):
            if obj.device.type == "meta":
                _get_default_group()        # (raises without a process group, as torch)
                return empty_like(obj, device="cpu")
            return obj
        if isinstance(obj, dict):
            for key, value in obj.items():
                obj[key] = init(value)
            return obj
        if isinstance(obj, (list, tuple)):
            ret = [init(v) for v in obj]
            return tuple(ret) if isinstance(obj, tuple) else ret
        if isinstance(obj, (int, float, str, bytes, io.BytesIO)) or obj is None:
            return obj
        return None     # (torch's walk drops values of other types too)

    init(state_dict)


def dedup_save_plans(all_plans: list, save_to_lowest_rank: bool = False) -> list:
    """Keep each item written by several ranks (a replicated value) in one plan only: the
    lowest rank's, or the plan with the least storage planned so far."""
    item_plans = defaultdict(set)
    items = {}
    plan_item_indices = [{item.index for item in plan.items} for plan in all_plans]
    for plan_idx, plan in enumerate(all_plans):
        for item in plan.items:
            item_plans[item.index].add(plan_idx)
            items[item.index] = item
    plan_size = [0] * len(all_plans)
    for index, plan_indices in item_plans.items():
        if save_to_lowest_rank:
            chosen = min(plan_indices)
        else:
            chosen = min(plan_indices, key=lambda i: plan_size[i])
        plan_size[chosen] += items[index].tensor_storage_size() or 1
        for plan_idx in plan_indices - {chosen}:
            plan_item_indices[plan_idx].discard(index)
    return [dataclasses.replace(plan, items=[it for it in plan.items if it.index in keep])
            for plan, keep in zip(all_plans, plan_item_indices)]
