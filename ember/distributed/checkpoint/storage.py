"""torch.distributed.checkpoint.storage: the StorageWriter / StorageReader interfaces."""
import abc
import os
from dataclasses import dataclass
from typing import Any

from .metadata import Metadata, MetadataIndex, StorageMeta

__all__ = ["WriteResult", "StorageWriter", "StorageReader"]


@dataclass(frozen=True)
class WriteResult:
    index: MetadataIndex
    size_in_bytes: int
    storage_data: Any


class StorageWriter(abc.ABC):
    """Writes a checkpoint. `save` calls, in order: reset (with a checkpoint_id),
    set_up_storage_writer, prepare_local_plan (every rank), prepare_global_plan (coordinator),
    write_data (every rank), finish (coordinator)."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        """A brand new checkpoint write is about to happen."""

    @abc.abstractmethod
    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        """Initialize this instance."""

    @abc.abstractmethod
    def prepare_local_plan(self, plan):
        """Perform storage-specific local planning."""

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list) -> list:
        """Perform centralized planning of storage."""

    @abc.abstractmethod
    def write_data(self, plan, planner):
        """Write all items from ``plan`` using ``planner`` to resolve the data; a Future of
        the list of WriteResult."""

    @abc.abstractmethod
    def finish(self, metadata: Metadata, results: list) -> None:
        """Write the metadata and mark the current checkpoint as successful."""

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        """Check if the given checkpoint_id is supported by the storage."""

    def storage_meta(self) -> StorageMeta | None:
        """Return the storage-specific metadata."""
        return None


class StorageReader(abc.ABC):
    """Reads a checkpoint. `load` calls, in order: reset (with a checkpoint_id),
    read_metadata, set_up_storage_reader, prepare_local_plan (every rank),
    prepare_global_plan (coordinator), read_data (every rank)."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        """A brand new checkpoint read is about to happen."""

    @abc.abstractmethod
    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        """Read the checkpoint metadata."""

    @abc.abstractmethod
    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any,
                              **kwargs: Any) -> None:
        """Initialize this instance."""

    @abc.abstractmethod
    def prepare_local_plan(self, plan):
        """Perform storage-specific local planning."""

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list) -> list:
        """Perform centralized planning of storage loading."""

    @abc.abstractmethod
    def read_data(self, plan, planner):
        """Read all items from ``plan`` using ``planner`` to resolve the data; a Future."""

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        """Check if the given checkpoint_id is supported by the storage."""
