"""torch.distributed.checkpoint.metadata: what a checkpoint's `.metadata` file holds.

The classes carry torch's names, fields and pickled state, so a `.metadata` written by torch
unpickles into them and one written by ember unpickles into torch's."""
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ... import _layout, _memory_format
from ..._dtype import get_default_dtype
from ..._tensor import Size

__all__ = ["ChunkStorageMetadata", "TensorStorageMetadata", "BytesStorageMetadata", "Metadata",
           "MetadataIndex", "TensorProperties", "StorageMeta"]


@dataclass
class ChunkStorageMetadata:
    """Each chunk is expected to have the same properties of the TensorStorageMetadata
    that includes it."""
    offsets: Size
    sizes: Size


class _MEM_FORMAT_ENCODING(Enum):
    """Describe the memory format of a tensor."""
    TORCH_CONTIGUOUS_FORMAT = 0
    TORCH_CHANNELS_LAST = 1
    TORCH_PRESERVE_FORMAT = 2


_FORMATS = (("contiguous_format", _MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT),
            ("channels_last", _MEM_FORMAT_ENCODING.TORCH_CHANNELS_LAST),
            ("preserve_format", _MEM_FORMAT_ENCODING.TORCH_PRESERVE_FORMAT))


@dataclass
class TensorProperties:
    """Properties used to create :class:`Tensor`"""
    dtype: Any = field(default_factory=get_default_dtype)
    layout: Any = field(default=_layout.strided)
    requires_grad: bool = False
    memory_format: Any = field(default=_memory_format.contiguous_format)
    pin_memory: bool = False

    def __getstate__(self):
        # as torch's: a memory_format is pickled as its _MEM_FORMAT_ENCODING
        for name, encoding in _FORMATS:
            if self.memory_format is getattr(_memory_format, name):
                return (self.dtype, self.layout, self.requires_grad, encoding, self.pin_memory)
        raise RuntimeError(f"Invalid torch.memory_format: {self.memory_format}")

    def __setstate__(self, state):
        (self.dtype, self.layout, self.requires_grad, encoding, self.pin_memory) = state
        for name, known in _FORMATS:
            if encoding == known:
                self.memory_format = getattr(_memory_format, name)
                return
        raise RuntimeError(f"Invalid torch.memory_format encoding: {encoding}")

    @staticmethod
    def create_from_tensor(tensor) -> "TensorProperties":
        return TensorProperties(dtype=tensor.dtype, layout=tensor.layout,
                                requires_grad=tensor.requires_grad,
                                memory_format=_memory_format.contiguous_format,
                                pin_memory=tensor.is_pinned())


@dataclass
class TensorStorageMetadata:
    properties: TensorProperties
    size: Size
    chunks: list


@dataclass
class BytesStorageMetadata:
    pass


STORAGE_TYPES = TensorStorageMetadata | BytesStorageMetadata
STATE_DICT_TYPE = dict[str, Any]


@dataclass
class StorageMeta:
    checkpoint_id: str | os.PathLike | None = None
    save_id: str | None = None
    load_id: str | None = None
    modules: list = field(default_factory=list)


@dataclass
class Metadata:
    """This class represents the metadata of the checkpoint."""
    # keys are those of the (flattened) state_dict saved
    state_dict_metadata: dict
    planner_data: Any = None
    storage_data: Any = None
    storage_meta: StorageMeta | None = None
    version: str | None = None


@dataclass(frozen=True)
class MetadataIndex:
    """This class represents a lookup key for items in a state dict or Metadata."""
    fqn: str
    offset: Size | None = None
    # a hint where the chunk sits in a list of chunks; not part of equality or hash
    index: int | None = field(hash=False, compare=False, default=None)

    def __init__(self, fqn: str, offset: Sequence[int] | None = None,
                 index: int | None = None):
        object.__setattr__(self, "fqn", fqn)
        object.__setattr__(self, "index", index)
        if offset is not None:
            object.__setattr__(self, "offset", Size(offset))
