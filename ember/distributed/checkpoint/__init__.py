"""ember.distributed.checkpoint: torch.distributed.checkpoint (DCP) on ember.

`save` / `load` write and read checkpoint folders in torch's file format (a `.metadata`
pickle of the Metadata classes and `__{rank}_{n}.distcp` files of `torch.save` items), so a
checkpoint saved by either library loads in the other; with a process group every rank
writes its own files and the coordinator the metadata. `state_dict` converts model and
optimizer state to and from canonical FQN-keyed dicts; `format_utils` converts between DCP
folders and `torch.save` files."""
from .api import CheckpointException
from .default_planner import DefaultLoadPlanner, DefaultSavePlanner
from .filesystem import FileSystemReader, FileSystemWriter
from .hf_storage import HuggingFaceStorageReader, HuggingFaceStorageWriter
from .metadata import BytesStorageMetadata, ChunkStorageMetadata, Metadata, \
    TensorStorageMetadata
from .planner import LoadPlan, LoadPlanner, ReadItem, SavePlan, SavePlanner, WriteItem
from .state_dict_loader import load, load_state_dict
from .state_dict_saver import async_save, save, save_state_dict
from .storage import StorageReader, StorageWriter

__all__ = ["CheckpointException", "DefaultLoadPlanner", "DefaultSavePlanner",
           "FileSystemReader", "FileSystemWriter", "HuggingFaceStorageReader",
           "HuggingFaceStorageWriter", "BytesStorageMetadata",
           "ChunkStorageMetadata", "Metadata", "TensorStorageMetadata", "LoadPlan",
           "LoadPlanner", "ReadItem", "SavePlan", "SavePlanner", "WriteItem", "load",
           "load_state_dict", "async_save", "save", "save_state_dict", "StorageReader",
           "StorageWriter"]
