"""torch.distributed.checkpoint.default_planner: the planners save and load use unless given
another; they flatten nested state dicts to dotted keys and pickle non-tensor values."""
import dataclasses
import io
import logging
import math
from collections import ChainMap

from ... import serialization
from ...ops.creation import empty
from . import _version
from ._nested_dict import flatten_state_dict
from ._traverse import set_element, traverse_state_dict
from .metadata import BytesStorageMetadata, Metadata, TensorStorageMetadata
from .planner import LoadPlan, LoadPlanner, SavePlan, SavePlanner, WriteItemType
from .planner_helpers import _create_default_metadata_only_plan, _create_read_items, \
    _create_write_items, _init_state_dict, dedup_save_plans
from .utils import find_state_dict_object, narrow_tensor_by_index

logger = logging.getLogger(__name__)

__all__ = ["DefaultSavePlanner", "DefaultLoadPlanner", "create_default_local_load_plan",
           "create_default_global_load_plan", "create_default_local_save_plan",
           "create_default_global_save_plan"]


def _rebuilt(state_dict):
    """The nested dicts and lists of ``state_dict`` rebuilt around its leaves, as torch's
    ShardedTensor flattening (a no-op for ember's tensors) rebuilds them: empty containers
    are left out, and values loaded into it do not reach ``state_dict``'s containers."""
    new_state_dict = {}
    traverse_state_dict(state_dict, lambda path, value: set_element(new_state_dict, path,
                                                                    value))
    return new_state_dict


class DefaultSavePlanner(SavePlanner):
    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 dedup_replicated_tensors=None, dedup_save_to_lowest_rank: bool = False,
                 enable_plan_caching: bool = False):
        self.flatten_state_dict = flatten_state_dict
        self.flatten_sharded_tensors = flatten_sharded_tensors
        self.mappings = {}
        self.dedup_save_to_lowest_rank = dedup_save_to_lowest_rank
        if dedup_replicated_tensors is not None:
            logger.warning("DefaultSavePlanner's `dedup_replicated_tensors` argument is being "
                           "deprecated, and no longer has any effect. Please remove this "
                           "argument from your call.")
        # (plans are not cached: every save plans afresh, which caching only speeds up)
        self._enable_plan_caching = enable_plan_caching

    def set_up_planner(self, state_dict, storage_meta=None, is_coordinator=False) -> None:
        if self.flatten_state_dict:
            state_dict, self.mappings = flatten_state_dict(state_dict)
        if self.flatten_sharded_tensors:
            state_dict = _rebuilt(state_dict)
        self.state_dict = state_dict
        self.is_coordinator = is_coordinator

    def create_local_plan(self) -> SavePlan:
        plan = create_default_local_save_plan(self.state_dict, self.is_coordinator)
        if self.flatten_state_dict:
            plan = dataclasses.replace(plan, planner_data=self.mappings)
        self.plan = plan
        return plan

    def _dedup_save_plans(self, all_plans: list) -> list:
        return dedup_save_plans(all_plans, self.dedup_save_to_lowest_rank)

    def create_global_plan(self, all_plans: list) -> tuple:
        global_plan, metadata = create_default_global_save_plan(
            self._dedup_save_plans(all_plans))
        if self.flatten_state_dict:
            merged = dict(ChainMap(*[p.planner_data for p in global_plan]))
            metadata = dataclasses.replace(metadata, planner_data=merged)
        errors = _validate_global_plan(global_plan, metadata)
        if errors:
            summary = "; ".join(errors)
            if len(summary) > 500:
                summary = summary[:500] + "... (truncated)"
            raise ValueError(f"Failed to validate global plan: {summary}")
        self.global_plan, self.metadata = global_plan, metadata
        return global_plan, metadata

    def finish_plan(self, new_plan: SavePlan) -> SavePlan:
        self.plan = new_plan
        return new_plan

    def resolve_data(self, write_item):
        return self.transform_object(write_item, self.lookup_object(write_item.index))

    def lookup_object(self, index):
        """Extension from the planner interface to make it easy to extend the default
        planner."""
        return find_state_dict_object(self.state_dict, index)

    def transform_object(self, write_item, object):
        """Extension from the planner interface to make it easy to extend the default
        planner."""
        if write_item.type == WriteItemType.BYTE_IO:
            buffer = io.BytesIO()
            serialization.save(object, buffer)
            object = buffer
        return object


class DefaultLoadPlanner(LoadPlanner):
    """Loads into the given state dict in place: tensors are copied into, other values are
    replaced. ``allow_partial_load=False`` refuses a key the checkpoint lacks."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 allow_partial_load: bool = False):
        self.flatten_state_dict = flatten_state_dict
        self.flatten_sharded_tensors = flatten_sharded_tensors
        self.original_state_dict = {}
        self.mappings = {}
        self.allow_partial_load = allow_partial_load

    def set_up_planner(self, state_dict, metadata=None, is_coordinator=False) -> None:
        _init_state_dict(state_dict)
        self.original_state_dict = state_dict
        if self.flatten_sharded_tensors:
            state_dict = _rebuilt(state_dict)
        if self.flatten_state_dict:
            state_dict, self.mappings = flatten_state_dict(state_dict)
        self.state_dict = state_dict
        self.metadata = metadata
        self.is_coordinator = is_coordinator

    def create_local_plan(self) -> LoadPlan:
        if self.metadata is None:
            raise AssertionError("self.metadata is not None")
        if self.flatten_state_dict:
            # a checkpoint flattened as torch 2.3 did (collections without tensors whole)
            missing_keys = self.metadata.state_dict_metadata.keys() - self.state_dict.keys()
            if missing_keys:
                _version._derived_version = "2_3"
                try:
                    old_state_dict, old_mappings = flatten_state_dict(
                        self.original_state_dict)
                finally:
                    _version._derived_version = None
                if old_state_dict.keys() & missing_keys:
                    self.state_dict, self.mappings = old_state_dict, old_mappings
        return create_default_local_load_plan(self.state_dict, self.metadata,
                                              not self.allow_partial_load)

    def create_global_plan(self, global_plan: list) -> list:
        return create_default_global_load_plan(global_plan)

    def finish_plan(self, new_plan: LoadPlan) -> LoadPlan:
        return new_plan

    def load_bytes(self, read_item, value) -> None:
        obj = serialization.load(value, weights_only=False)
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[read_item.dest_index.fqn], obj)
        else:
            self.state_dict[read_item.dest_index.fqn] = obj

    def resolve_tensor(self, read_item):
        return self.transform_tensor(read_item, self.lookup_tensor(read_item.dest_index))

    def commit_tensor(self, read_item, tensor) -> None:
        pass

    def lookup_tensor(self, index):
        """Extension from the planner interface to make it easy to extend the default
        planner."""
        return find_state_dict_object(self.state_dict, index)

    def transform_tensor(self, read_item, tensor):
        """Extension from the planner interface to make it easy to extend the default
        planner."""
        return narrow_tensor_by_index(tensor, read_item.dest_offsets, read_item.lengths)


class _EmptyStateDictLoadPlanner(DefaultLoadPlanner):
    """Rebuilds the state dict from the checkpoint's metadata (``keys`` selects some), for
    loading without a model: ``state_dict`` must be an empty dict."""

    def __init__(self, keys=None, *args, **kwargs):
        self.keys = keys
        super().__init__(*args, **kwargs)

    def _should_include_key(self, key: str, metadata: Metadata) -> bool:
        if self.keys is None or key in self.keys:
            return True
        unflattened = []
        for part in metadata.planner_data.get(key):
            unflattened.append(f"{unflattened[-1]}.{part}" if unflattened else part)
        return any(k in self.keys for k in unflattened)

    def set_up_planner(self, state_dict, metadata=None, is_coordinator=False) -> None:
        if state_dict:
            raise AssertionError("not state_dict")
        if metadata is None:
            raise AssertionError("metadata is not None")
        for k, v in metadata.state_dict_metadata.items():
            if not self._should_include_key(k, metadata):
                continue
            if isinstance(v, TensorStorageMetadata):
                v = empty(v.size, dtype=v.properties.dtype)
            if metadata.planner_data is not None and k in metadata.planner_data:
                set_element(state_dict, metadata.planner_data[k], v)
            else:
                state_dict[k] = v
        super().set_up_planner(state_dict, metadata, is_coordinator)


def create_default_local_load_plan(state_dict, metadata: Metadata, strict: bool = True):
    """The ``LoadPlan`` of DefaultLoadPlanner: the reads each value of ``state_dict`` needs,
    keys matched exactly against ``metadata``."""
    requests = []
    for fqn, obj in state_dict.items():
        if fqn not in metadata.state_dict_metadata:
            if strict:
                raise RuntimeError(f"Missing key in checkpoint state_dict: {fqn}.")
            continue
        md = metadata.state_dict_metadata[fqn]
        if isinstance(md, TensorStorageMetadata) and getattr(obj, "size", None) is not None \
                and md.size != obj.size():
            raise ValueError(f"Size mismatch between saved {md.size} and current: "
                             f"{obj.size()} for {fqn}")
        requests += _create_read_items(fqn, md, obj)
    return LoadPlan(requests)


def create_default_global_load_plan(all_plans: list) -> list:
    """The global load plan of DefaultLoadPlanner: the local plans unchanged."""
    return all_plans


def create_default_local_save_plan(state_dict, is_coordinator: bool) -> SavePlan:
    """The ``SavePlan`` of DefaultSavePlanner: a write for every value (replicated ones are
    deduplicated across ranks by the global plan)."""
    requests = []
    for fqn, obj in state_dict.items():
        requests += _create_write_items(fqn, obj)
    return SavePlan(requests)


def create_default_global_save_plan(all_plans: list, rewrite_index_hints: bool = True):
    """(plans, Metadata) of DefaultSavePlanner: the metadata of every item written, and index
    hints set to each chunk's place in its tensor's chunk list."""
    md = {}
    new_plans = []
    for plan in all_plans:
        new_items = []
        for item in plan.items:
            if item.type != WriteItemType.SHARD and item.index.fqn in md:
                raise AssertionError("item.index.fqn not in md")
            if item.type == WriteItemType.BYTE_IO:
                md[item.index.fqn] = BytesStorageMetadata()
                new_items.append(item)
                continue
            tensor_md = md.setdefault(item.index.fqn, TensorStorageMetadata(
                properties=item.tensor_data.properties, size=item.tensor_data.size,
                chunks=[]))
            new_item = item
            if rewrite_index_hints:
                new_index = dataclasses.replace(item.index, index=len(tensor_md.chunks))
                new_item = dataclasses.replace(item, index=new_index)
            new_items.append(new_item)
            tensor_md.chunks.append(item.tensor_data.chunk)
        new_plans.append(dataclasses.replace(plan, items=new_items))
    return new_plans, Metadata(md)


def _create_default_local_metadata(state_dict) -> Metadata:
    """The ``Metadata`` DefaultSavePlanner would write for ``state_dict``."""
    _, md = create_default_global_save_plan([_create_default_metadata_only_plan(state_dict)])
    return md


def _validate_global_plan(global_plan: list, metadata: Metadata) -> list:
    """Messages for chunks out of their tensor's bounds, overlapping, or (across ranks) not
    covering it."""
    errors = []
    for key, value in metadata.state_dict_metadata.items():
        if isinstance(value, BytesStorageMetadata) or len(value.size) == 0:
            continue
        volume = 0
        for i, chunk in enumerate(value.chunks):
            if any(o < 0 or s < 0 or o + s > n
                   for o, s, n in zip(chunk.offsets, chunk.sizes, value.size)):
                errors.append(f"key:{key} has out of bounds chunk: tensor-size:{value.size} "
                              f"chunk: {chunk}")
            volume += math.prod(chunk.sizes)
            for other in value.chunks[:i]:
                if all(o0 < o1 + s1 and o1 < o0 + s0 for o0, s0, o1, s1 in
                       zip(chunk.offsets, chunk.sizes, other.offsets, other.sizes)):
                    errors.append(f"key:{key} has overlapping chunks: {chunk} {other}")
        tensor_volume = math.prod(value.size)
        if len(global_plan) > 1 and volume != tensor_volume:
            errors.append(f"key:{key} invalid fill tensor-volume: {tensor_volume} "
                          f"chunks-volume: {volume}")
    return errors

