"""torch.distributed.checkpoint.planner: the plans save and load agree on across ranks, and
the planner interfaces that make them."""
import abc
import io
import math
from dataclasses import dataclass
from enum import auto, Enum
from typing import Any

from ..._tensor import Size
from .metadata import ChunkStorageMetadata, Metadata, MetadataIndex, StorageMeta, \
    TensorProperties

__all__ = ["WriteItemType", "LoadItemType", "BytesIOWriteData", "TensorWriteData", "WriteItem",
           "ReadItem", "SavePlan", "LoadPlan", "SavePlanner", "LoadPlanner"]


class WriteItemType(Enum):
    TENSOR = auto()
    SHARD = auto()
    BYTE_IO = auto()


class LoadItemType(Enum):
    TENSOR = auto()
    BYTE_IO = auto()


@dataclass(frozen=True)
class BytesIOWriteData:
    nbytes: int


@dataclass(frozen=True)
class TensorWriteData:
    chunk: ChunkStorageMetadata
    properties: TensorProperties
    size: Size


@dataclass(frozen=True)
class WriteItem:
    """Dataclass which holds information about what needs to be written to storage."""
    index: MetadataIndex
    type: WriteItemType
    bytes_io_data: BytesIOWriteData | None = None
    tensor_data: TensorWriteData | None = None

    def tensor_storage_size(self) -> int | None:
        """The storage size, in bytes, of the tensor written; None if this is not a tensor."""
        if self.tensor_data is None:
            return None
        return math.prod(self.tensor_data.size) * self.tensor_data.properties.dtype.itemsize


@dataclass(frozen=True)
class ReadItem:
    type: LoadItemType
    dest_index: MetadataIndex
    dest_offsets: Size
    storage_index: MetadataIndex
    storage_offsets: Size
    lengths: Size


@dataclass(frozen=True)
class SavePlan:
    items: list
    storage_data: Any = None
    planner_data: Any = None
    usable: bool = True


@dataclass
class LoadPlan:
    items: list
    storage_data: Any = None
    planner_data: Any = None


class SavePlanner(abc.ABC):
    """The protocol `save` plans with: set_up_planner, create_local_plan (every rank),
    create_global_plan (coordinator), finish_plan (every rank), then resolve_data for each
    item the storage layer writes."""
    @abc.abstractmethod
    def set_up_planner(self, state_dict, storage_meta: StorageMeta | None = None,
                       is_coordinator: bool = False) -> None:
        """Initialize this planner to save ``state_dict``."""

    @abc.abstractmethod
    def create_local_plan(self) -> SavePlan:
        """Compute the save plan for the current rank."""

    @abc.abstractmethod
    def create_global_plan(self, all_plans: list) -> tuple:
        """Compute the global checkpoint plan and return the local plan of each rank."""

    @abc.abstractmethod
    def finish_plan(self, new_plan: SavePlan) -> SavePlan:
        """Merge the plan created by `create_local_plan` and the result of
        `create_global_plan`."""

    @abc.abstractmethod
    def resolve_data(self, write_item: WriteItem):
        """The tensor or io.BytesIO to write for ``write_item``."""


class LoadPlanner(abc.ABC):
    """The protocol `load` plans with: set_up_planner, create_local_plan (every rank),
    create_global_plan (coordinator), finish_plan (every rank), then load_bytes or
    resolve_tensor / commit_tensor for each item the storage layer reads."""

    @abc.abstractmethod
    def set_up_planner(self, state_dict, metadata: Metadata | None = None,
                       is_coordinator: bool = False) -> None:
        """Initialize this instance to load data into ``state_dict``."""

    @abc.abstractmethod
    def create_local_plan(self) -> LoadPlan:
        """Create a LoadPlan based on state_dict and metadata provided by set_up_planner."""

    @abc.abstractmethod
    def create_global_plan(self, global_plan: list) -> list:
        """Compute the global load plan and return plans for each rank."""

    @abc.abstractmethod
    def finish_plan(self, central_plan: LoadPlan) -> LoadPlan:
        """Accept the plan from coordinator and return final LoadPlan."""

    @abc.abstractmethod
    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        """Load the item described by ``read_item``and ``value``."""

    def resolve_bytes(self, read_item: ReadItem) -> io.BytesIO:
        """Return the BytesIO to be used by the StorageReader to load `read_item`."""
        raise NotImplementedError("LoadPlanner.resolve_bytes is not implemented")

    @abc.abstractmethod
    def resolve_tensor(self, read_item: ReadItem):
        """Return the tensor described by ``read_item`` to be used by the StorageReader to
        load `read_item`."""

    @abc.abstractmethod
    def commit_tensor(self, read_item: ReadItem, tensor) -> None:
        """Called once the StorageReader finished loading data into ``tensor``."""
