"""torch.distributed.checkpoint.hf_storage: checkpoints as Hugging Face safetensors files
(``model-0000i-of-0000n.safetensors`` and ``model.safetensors.index.json``), tensors only,
each file carrying the offsets of its chunks in its safetensors metadata."""
import dataclasses
import json
import logging

import numpy as np

from ..._tensor import Size
from ...futures import Future
from ...serialization import safetensors as _safetensors
from ...serialization._rebuild import ember_dtype
from ._hf_utils import _gen_file_name, _get_dcp_custom_metadata, \
    _get_safetensors_file_metadata, _HFStorageInfo, _metadata_fn, DATA_OFFSETS_KEY, \
    DEFAULT_EXTRA_METADATA_KEY, DTYPE_KEY, SAVED_OFFSETS_KEY, SHAPE_KEY, SUFFIX
from .filesystem import FileSystemReader, FileSystemWriter, SerializationFormat
from .metadata import ChunkStorageMetadata, Metadata, MetadataIndex, StorageMeta, \
    TensorProperties, TensorStorageMetadata

__all__ = ["HuggingFaceStorageWriter", "HuggingFaceStorageReader"]

logger = logging.getLogger(__name__)


class HuggingFaceStorageWriter(FileSystemWriter):
    """A writer that writes to storage in the huggingface safetensors format: the tensors
    of ``fqn_to_index_mapping[fqn]`` go to file ``model-{index}-of-{max index}`` (all to one
    file without a mapping), and ``model.safetensors.index.json`` maps them. With
    ``save_distributed`` each rank writes ``shard-{rank + 1}-model-...`` files and no index
    (ember cannot consolidate them: ``enable_consolidation`` is refused)."""

    def __init__(self, path: str, fqn_to_index_mapping: dict | None = None,
                 thread_count: int = 1, save_distributed: bool = False,
                 enable_consolidation: bool = False, thread_count_consolidation: int = 1):
        super().__init__(path=path, serialization_format=SerializationFormat.SAFETENSORS,
                         thread_count=thread_count)
        if enable_consolidation:
            raise NotImplementedError("ember's HuggingFaceStorageWriter cannot consolidate "
                                      "sharded safetensors files (enable_consolidation)")
        self.fqn_to_index_mapping = fqn_to_index_mapping
        self.save_distributed = save_distributed
        self.enable_consolidation = enable_consolidation
        self.consolidated_output_path = None
        self.thread_count_consolidation = thread_count_consolidation

    def prepare_global_plan(self, plans: list) -> list:
        new_plans = []
        for i, plan in enumerate(plans, start=1):
            storage_data = {}
            if self.fqn_to_index_mapping is not None:
                storage_data["fqn_to_index_mapping"] = self.fqn_to_index_mapping
            if self.save_distributed:
                storage_data["shard_index"] = i
            new_plans.append(dataclasses.replace(plan, storage_data=storage_data))
        return new_plans

    def write_data(self, plan, planner):
        if len(plan.items) == 0:
            fut = Future()
            fut.set_result([])
            return fut
        storage_plan = plan.storage_data.get("fqn_to_index_mapping")
        shard_index = plan.storage_data.get("shard_index")
        buckets = self._split_by_storage_plan(storage_plan, plan.items)
        highest_index = max(storage_plan.values()) if storage_plan is not None else 1
        return self._write_data(planner, [
            (_gen_file_name(file_index, highest_index, shard_index), items)
            for file_index, items in buckets.items()])

    def finish(self, metadata: Metadata, results: list) -> None:
        if self.save_distributed:
            logger.info("Not consolidating sharded checkpoint in finish step.")
            return
        storage_md, total_size = {}, 0
        for wr_list in results:
            storage_md.update({wr.index.fqn: wr.storage_data.relative_path for wr in wr_list})
            total_size += sum(wr.storage_data.length for wr in wr_list)
        with self.fs.create_stream(self.fs.concat_path(self.path, _metadata_fn),
                                   "w") as metadata_file:
            json.dump({"metadata": {"total_size": total_size}, "weight_map": storage_md},
                      metadata_file, indent=2)

    def _split_by_storage_plan(self, storage_plan, items) -> dict:
        if storage_plan is None:
            return {1: items}
        buckets = {}
        for item in items:
            buckets.setdefault(storage_plan[item.index.fqn], []).append(item)
        return buckets

    @property
    def metadata_path(self) -> str:
        return _metadata_fn


def _dtype_of(code):
    if code not in _safetensors._DTYPES:
        raise ValueError(f"the safetensors file uses dtype {code}, which ember does not "
                         "support")
    return ember_dtype(_safetensors._DTYPES[code])


class HuggingFaceStorageReader(FileSystemReader):
    """A reader that reads a checkpoint in the huggingface safetensors format: every
    ``*.safetensors`` file of the folder, chunks placed by their saved offsets."""

    def __init__(self, path: str, thread_count: int = 1) -> None:
        super().__init__(path=path)
        self.thread_count = thread_count

    def read_data(self, plan, planner):
        per_file = {}
        for read_item in plan.items:
            file_name = self.storage_data[read_item.storage_index].relative_path
            per_file.setdefault(file_name, []).append(read_item)
        for file_name, reqs in per_file.items():
            with open(file_name, "rb") as f:
                header, data_start = _get_safetensors_file_metadata(f)
                for req in reqs:
                    entry = header[req.storage_index.fqn]
                    begin, end = entry[DATA_OFFSETS_KEY]
                    f.seek(data_start + begin)
                    np_dtype = _dtype_of(entry[DTYPE_KEY]).np
                    arr = np.frombuffer(f.read(end - begin), np.uint8).view(np_dtype)
                    arr = arr.reshape(entry[SHAPE_KEY])[tuple(
                        slice(offset, offset + length)
                        for offset, length in zip(req.storage_offsets, req.lengths))]
                    tensor = _safetensors._wrap(np.ascontiguousarray(arr), "cpu")
                    target_tensor = planner.resolve_tensor(req).detach()
                    if target_tensor.size() != tensor.size():
                        raise AssertionError(f"req {req.storage_index} mismatch sizes "
                                             f"{target_tensor.size()} vs {tensor.size()}")
                    target_tensor.copy_(tensor)
                    planner.commit_tensor(req, target_tensor)
        fut = Future()
        fut.set_result(None)
        return fut

    def read_metadata(self) -> Metadata:
        state_dict_metadata, storage_data = {}, {}
        for file_name in self.fs.ls(self.path):
            if not file_name.endswith(SUFFIX):
                continue
            with open(file_name, "rb") as f:
                header, _ = _get_safetensors_file_metadata(f)
            sharding = _get_dcp_custom_metadata(header)
            for key in sorted(k for k in header if k != DEFAULT_EXTRA_METADATA_KEY):
                shape, dtype = header[key][SHAPE_KEY], _dtype_of(header[key][DTYPE_KEY])
                offset = (sharding[key][SAVED_OFFSETS_KEY] if sharding is not None
                          else [0] * len(shape))
                chunk = ChunkStorageMetadata(offsets=Size(offset), sizes=Size(shape))
                if key not in state_dict_metadata:
                    state_dict_metadata[key] = TensorStorageMetadata(
                        properties=TensorProperties(dtype=dtype),
                        size=Size([s + o for s, o in zip(shape, offset)]), chunks=[chunk])
                else:
                    md = state_dict_metadata[key]
                    md.chunks.append(chunk)
                    md.size = Size([max(n, s + o) for n, s, o in zip(md.size, shape, offset)])
                storage_data[MetadataIndex(fqn=key, offset=offset)] = _HFStorageInfo(
                    relative_path=file_name, shape=Size(shape), dtype=dtype)
        metadata = Metadata(state_dict_metadata=state_dict_metadata, storage_data=storage_data)
        metadata.storage_meta = StorageMeta(load_id=self.load_id)
        return metadata
