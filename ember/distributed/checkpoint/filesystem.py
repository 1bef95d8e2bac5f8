"""torch.distributed.checkpoint.filesystem: checkpoints as a folder, in torch's layout.

Each rank writes ``__{rank}_{n}.distcp`` files, every item in them a `torch.save` archive
(tensors, and non-tensor values pickled into BytesIO by the planner) at the offset the
metadata records; the coordinator pickles the Metadata into ``.metadata``, naming the
classes as torch does, so torch and ember read each other's checkpoints."""
import dataclasses
import io
import json
import operator
import os
import pickle
import uuid
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from io import UnsupportedOperation
from pathlib import Path

from ... import _layout, serialization
from ...serialization import safetensors as _safetensors
from ...futures import Future
from ...serialization._load import torch_global
from ...serialization._pickler import TorchName, TorchPickler, _Layout
from .metadata import _MEM_FORMAT_ENCODING, Metadata, StorageMeta, TensorProperties
from .planner import LoadItemType, WriteItemType
from .storage import StorageReader, StorageWriter, WriteResult
from .utils import narrow_tensor_by_index

__all__ = ["FileSystemWriter", "FileSystemReader", "FileSystem", "FileSystemBase",
           "SerializationFormat"]

_metadata_fn = ".metadata"
CURRENT_DCP_VERSION = "1.0.0"
DEFAULT_SUFFIX = ".distcp"


@dataclass
class _StorageInfo:
    """This is the per entry storage info."""
    relative_path: str
    offset: int
    length: int
    transform_descriptors: Sequence[str] | None = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class _StoragePrefix:
    prefix: str


class SerializationFormat(Enum):
    TORCH_SAVE = "torch_save"
    SAFETENSORS = "safetensors"


def _generate_uuid() -> str:
    return str(uuid.uuid4())


# ---- .metadata: a pickle of torch's class names ---------------------------------------------

class _MetadataPickler(TorchPickler):
    """Pickles Metadata as torch does: the checkpoint classes under their torch.* module
    names, dtypes, sizes and layouts as torch's globals."""

    def __init__(self, file):
        super().__init__(file, pickle.DEFAULT_PROTOCOL)
        self.dispatch[_layout.layout] = lambda self, obj: self.save(_Layout(obj))

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        if module.startswith("ember.distributed.checkpoint."):
            self.save(TorchName("torch" + module[len("ember"):], name or obj.__qualname__))
        else:
            super().save_global(obj, name)


# the classes of checkpoints of torch < 2.2 (its ShardedTensor's TensorProperties)
_LEGACY_CLASSES = {("torch.distributed._shard.sharded_tensor.metadata", "TensorProperties"):
                   TensorProperties,
                   ("torch.distributed._shard.sharded_tensor.metadata", "MEM_FORMAT_ENCODING"):
                   _MEM_FORMAT_ENCODING}


class _MetadataUnpickler(pickle.Unpickler):
    """Reads a `.metadata` pickle, torch's names resolved to ember's classes."""

    def find_class(self, module, name):
        return _LEGACY_CLASSES.get((module, name)) or torch_global(module, name) or \
            super().find_class(module, name)


# ---- writing --------------------------------------------------------------------------------

def _item_size(item) -> int:
    size = 1
    for s in item.tensor_data.size:
        size *= s
    return size * item.tensor_data.properties.dtype.itemsize


def _split_by_size_and_type(bins: int, items: list) -> list:
    """torch's assignment of items to files: byte items round robin, tensors largest first
    into the bin with the fewest bytes."""
    if bins == 1:
        return [items]
    bytes_w = [wi for wi in items if wi.type == WriteItemType.BYTE_IO]
    tensor_w = sorted((wi for wi in items if wi.type != WriteItemType.BYTE_IO),
                      key=_item_size, reverse=True)
    buckets = [[] for _ in range(bins)]
    bucket_sizes = [0] * bins
    for i, wi in enumerate(bytes_w):
        buckets[i % bins].append(wi)
    for wi in tensor_w:
        idx = min(enumerate(bucket_sizes), key=operator.itemgetter(1))[0]
        buckets[idx].append(wi)
        bucket_sizes[idx] += _item_size(wi)
    return buckets


def _tensor_to_write(tensor):
    """The CPU tensor torch.save writes for ``tensor``: a copy when it views a larger
    storage, so only its own elements are written."""
    tensor = tensor.detach().cpu()
    if tensor.untyped_storage().size() != tensor.nbytes:
        tensor = tensor.clone()
    return tensor


def _write_item(stream, data, write_item, storage_key: str, safetensors: bool) -> WriteResult:
    offset = stream.tell()
    if write_item.type == WriteItemType.BYTE_IO:
        if not isinstance(data, io.BytesIO):
            raise AssertionError("Data must be io.BytesIO for BYTE_IO write items")
        stream.write(data.getbuffer())
    elif not safetensors:       # (safetensors tensors are written together at the end)
        buffer = io.BytesIO()
        serialization.save(data, buffer)
        stream.write(buffer.getbuffer())
    if safetensors and write_item.type != WriteItemType.BYTE_IO:
        length = data.numel() * data.element_size()
    else:
        length = stream.tell() - offset
    return WriteResult(index=write_item.index, size_in_bytes=length,
                       storage_data=_StorageInfo(storage_key, offset, length))


def _write_file(create_stream, path, storage_key, write_items, planner, use_fsync,
                safetensors=False) -> list:
    results = []
    tensors, offsets = {}, {}
    with create_stream(path, "wb") as stream:
        # byte items first, then tensors, as torch orders them
        for write_item in write_items:
            if write_item.type == WriteItemType.BYTE_IO:
                data = planner.resolve_data(write_item)
                results.append(_write_item(stream, data, write_item, storage_key, safetensors))
        for write_item in write_items:
            if write_item.type != WriteItemType.BYTE_IO:
                tensor = _tensor_to_write(planner.resolve_data(write_item))
                results.append(_write_item(stream, tensor, write_item, storage_key,
                                           safetensors))
                tensors[write_item.index.fqn] = tensor
                offsets[write_item.index.fqn] = {
                    "saved_offsets": write_item.tensor_data.chunk.offsets}
        if safetensors:
            from ._hf_utils import CUSTOM_METADATA_KEY, DCP_VERSION_KEY, FORMAT_KEY, \
                FORMAT_VALUE, HF_DCP_VERSION
            stream.write(_safetensors.save(tensors, metadata={
                CUSTOM_METADATA_KEY: json.dumps(offsets), DCP_VERSION_KEY: str(HF_DCP_VERSION),
                FORMAT_KEY: FORMAT_VALUE}))
        if use_fsync:
            try:
                os.fsync(stream.fileno())
            except (AttributeError, UnsupportedOperation):
                os.sync()
    return results


class FileSystemBase:
    """The file operations a FileSystemWriter / FileSystemReader use."""


class FileSystem(FileSystemBase):
    @contextmanager
    def create_stream(self, path, mode: str):
        with Path(path).open(mode) as stream:
            yield stream

    def concat_path(self, path, suffix: str):
        return Path(path) / suffix

    def init_path(self, path):
        return Path(path)

    def rename(self, path, new_path) -> None:
        Path(path).rename(new_path)

    def mkdir(self, path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        if isinstance(checkpoint_id, Path):
            return True
        if "://" in str(checkpoint_id):
            return False
        for p in Path(checkpoint_id).parents:
            if p.exists() and os.access(str(p), os.W_OK):
                return True
        return False

    def exists(self, path) -> bool:
        return Path(path).exists()

    def rm_file(self, path) -> None:
        Path(path).unlink()

    def ls(self, path) -> list:
        return [str(p) for p in Path(path).iterdir()]


class FileSystemWriter(StorageWriter):
    """Writes a checkpoint into the folder ``path``: one file per rank (or per item with
    ``single_file_per_rank=False``, or ``thread_count`` files per rank) plus the
    ``.metadata`` file the coordinator writes last."""

    def __init__(self, path, single_file_per_rank: bool = True, sync_files: bool = True,
                 thread_count: int = 1, per_thread_copy_ahead: int = 10_000_000,
                 cache_staged_state_dict: bool = False, overwrite: bool = True,
                 _extensions=None,
                 serialization_format: SerializationFormat = SerializationFormat.TORCH_SAVE):
        super().__init__()
        if _extensions:
            raise NotImplementedError("ember's FileSystemWriter has no stream extensions")
        self.fs = FileSystem()
        self.path = self.fs.init_path(path)
        self.single_file_per_rank = single_file_per_rank
        self.sync_files = sync_files
        self.thread_count = thread_count
        self.per_thread_copy_ahead = per_thread_copy_ahead
        self.cache_staged_state_dict = cache_staged_state_dict
        self.save_id = _generate_uuid()
        self.overwrite = overwrite
        self.serialization_format = serialization_format
        self.rank = None
        self.use_collectives = True

    def reset(self, checkpoint_id=None) -> None:
        if checkpoint_id:
            self.path = self.fs.init_path(checkpoint_id)
        self.save_id = _generate_uuid()

    def set_up_storage_writer(self, is_coordinator: bool, *args, **kwargs) -> None:
        self.rank = kwargs.get("rank")
        self.use_collectives = kwargs.get("use_collectives", True)

    def _metadata_exists(self) -> bool:
        rank = None if self.use_collectives else 0
        return self.fs.exists(self._get_metadata_path(rank))

    def prepare_local_plan(self, plan):
        self.fs.mkdir(self.path)
        if self._metadata_exists():
            if self.overwrite:
                warnings.warn(
                    f"Detected an existing checkpoint in {self.path}, overwriting since "
                    f"{self.overwrite=}. Past version 2.5 of PyTorch, `overwrite` will default "
                    "to False. Set this variable to True to maintain this functionality or "
                    "False to raise when an existing checkpoint is found.", stacklevel=2)
            else:
                raise RuntimeError(f"Checkpoint already exists and {self.overwrite=}.")
        if self.rank is not None and not self.use_collectives:
            plan = dataclasses.replace(plan, storage_data=_StoragePrefix(f"__{self.rank}_"))
        return plan

    def prepare_global_plan(self, plans: list) -> list:
        return [dataclasses.replace(plan, storage_data=_StoragePrefix(f"__{i}_"))
                if plan.storage_data is None else plan for i, plan in enumerate(plans)]

    def write_data(self, plan, planner):
        prefix = plan.storage_data.prefix
        if self.single_file_per_rank:
            buckets = _split_by_size_and_type(self.thread_count, plan.items)
        else:
            buckets = [[item] for item in plan.items]
        return self._write_data(planner, [(f"{prefix}{n}{DEFAULT_SUFFIX}", bucket)
                                          for n, bucket in enumerate(buckets)])

    def _write_data(self, planner, files):
        """Write each (file name, items) of ``files``; a Future of the WriteResults."""
        safetensors = self.serialization_format == SerializationFormat.SAFETENSORS
        results = []
        for file_name, items in files:
            results += _write_file(self.fs.create_stream, self.fs.concat_path(
                self.path, file_name), file_name, items, planner, self.sync_files, safetensors)
        fut = Future()
        fut.set_result(results)
        return fut

    def finish(self, metadata: Metadata, results: list) -> None:
        metadata.version = CURRENT_DCP_VERSION
        storage_md = {}
        for wr_list in results:
            storage_md.update({wr.index: wr.storage_data for wr in wr_list})
        metadata.storage_data = storage_md
        metadata.storage_meta = self.storage_meta()
        local = not self.use_collectives and self.rank is not None
        tmp_path = self.fs.concat_path(
            self.path, f"__{self.rank}{_metadata_fn}.tmp" if local else f"{_metadata_fn}.tmp")
        with self.fs.create_stream(tmp_path, "wb") as metadata_file:
            _MetadataPickler(metadata_file).dump(metadata)
            if self.sync_files:
                try:
                    os.fsync(metadata_file.fileno())
                except (AttributeError, UnsupportedOperation):
                    os.sync()
        metadata_path = self._get_metadata_path(self.rank if local else None)
        if self.fs.exists(metadata_path):
            self.fs.rm_file(metadata_path)
        self.fs.rename(tmp_path, metadata_path)

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.checkpoint_id, save_id=self.save_id)

    def _get_metadata_path(self, rank=None):
        filename = _metadata_fn if rank is None else f"__{rank}{_metadata_fn}"
        return self.fs.concat_path(self.path, filename)

    @property
    def checkpoint_id(self):
        """The checkpoint_id that will be used to save the checkpoint."""
        return self.path

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        return FileSystem.validate_checkpoint_id(checkpoint_id)


class FileSystemReader(StorageReader):
    """Reads a checkpoint from the folder ``path`` (written by torch or ember)."""

    def __init__(self, path, _extension_registry=None):
        super().__init__()
        self.fs = FileSystem()
        self.path = self.fs.init_path(path)
        self.storage_data = {}
        self.load_id = _generate_uuid()
        self.rank = None
        self.use_collectives = True

    def reset(self, checkpoint_id=None) -> None:
        self.storage_data = {}
        if checkpoint_id:
            self.path = self.fs.init_path(checkpoint_id)
        self.load_id = _generate_uuid()

    def read_data(self, plan, planner):
        per_file = {}
        for read_item in plan.items:
            path = self.storage_data[read_item.storage_index].relative_path
            per_file.setdefault(path, []).append(read_item)
        for relative_path, reqs in per_file.items():
            with self.fs.create_stream(self.fs.concat_path(self.path, relative_path),
                                       "rb") as stream:
                for req in reqs:
                    item_md = self.storage_data[req.storage_index]
                    if item_md.transform_descriptors:
                        raise NotImplementedError(
                            f"the checkpoint item {req.storage_index.fqn} was written through "
                            f"stream extensions {item_md.transform_descriptors}, which ember "
                            "cannot read")
                    stream.seek(item_md.offset)
                    data = io.BytesIO(stream.read(item_md.length))
                    if req.type == LoadItemType.BYTE_IO:
                        planner.load_bytes(req, data)
                        continue
                    tensor = serialization.load(data, map_location="cpu", weights_only=True)
                    tensor = narrow_tensor_by_index(tensor, req.storage_offsets, req.lengths)
                    target_tensor = planner.resolve_tensor(req).detach()
                    if target_tensor.size() != tensor.size():
                        raise AssertionError(f"req {req.storage_index} mismatch sizes "
                                             f"{target_tensor.size()} vs {tensor.size()}")
                    target_tensor.copy_(tensor)
                    planner.commit_tensor(req, target_tensor)
        fut = Future()
        fut.set_result(None)
        return fut

    def _get_metadata_path(self, rank=None):
        filename = _metadata_fn if rank is None else f"__{rank}{_metadata_fn}"
        return self.fs.concat_path(self.path, filename)

    def read_metadata(self, *args, **kwargs) -> Metadata:
        path = self._get_metadata_path(kwargs.get("rank"))
        with self.fs.create_stream(path, "rb") as metadata_file:
            metadata = _MetadataUnpickler(metadata_file).load()
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args,
                              **kwargs) -> None:
        self.storage_data = metadata.storage_data
        self.rank = kwargs.get("rank")
        self.use_collectives = kwargs.get("use_collectives", True)
        if self.storage_data is None:
            raise AssertionError("storage_data must not be None in metadata")

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, plans: list) -> list:
        return plans

    @property
    def checkpoint_id(self):
        """The checkpoint_id that will be used to load the checkpoint."""
        return self.path

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        return FileSystem.validate_checkpoint_id(checkpoint_id)
