"""Names and helpers of the Hugging Face safetensors layout of DCP checkpoints."""
import json
import struct
from dataclasses import dataclass
from typing import Any

_metadata_fn = "model.safetensors.index.json"
FILE_NAME = "model-{cpt_idx}-of-{num_files}"
SHARDED_FILE_NAME = "shard-{shard_idx}-model-{cpt_idx}-of-{num_files}"
SUFFIX = ".safetensors"
CUSTOM_METADATA_KEY = "DCP_SHARDING_INFO"
DEFAULT_EXTRA_METADATA_KEY = "__metadata__"
SAVED_OFFSETS_KEY = "saved_offsets"
SHAPE_KEY = "shape"
DATA_KEY = "data"
DTYPE_KEY = "dtype"
DATA_OFFSETS_KEY = "data_offsets"
HF_DCP_VERSION = 1.0
DCP_VERSION_KEY = "DCP_VERSION"
DCP_SHARDING_INFO_KEY = "DCP_SHARDING_INFO"
FORMAT_KEY = "format"
FORMAT_VALUE = "pt"
NUM_BYTES_FOR_HEADER_LEN = 8
SHARDED_DIR_NAME = "sharded"


@dataclass
class _HFStorageInfo:
    """This is the per entry storage info."""
    relative_path: str
    shape: Any
    dtype: Any


def _gen_file_name(index: int, largest_index: int, shard_index: int | None = None) -> str:
    if shard_index is not None:
        return SHARDED_FILE_NAME.format(shard_idx=f"{shard_index}".zfill(5),
                                        cpt_idx=f"{index}".zfill(5),
                                        num_files=f"{largest_index}".zfill(5)) + SUFFIX
    return FILE_NAME.format(cpt_idx=f"{index}".zfill(5),
                            num_files=f"{largest_index}".zfill(5)) + SUFFIX


def _get_safetensors_file_metadata(file_bytes) -> tuple:
    """(the header of a safetensors file, the offset where its data starts)."""
    header_len = struct.unpack("<Q", file_bytes.read(NUM_BYTES_FOR_HEADER_LEN))[0]
    return json.loads(file_bytes.read(header_len)), header_len + NUM_BYTES_FOR_HEADER_LEN


def _get_dcp_custom_metadata(metadata: Any) -> Any | None:
    if DEFAULT_EXTRA_METADATA_KEY in metadata:
        custom_metadata = metadata[DEFAULT_EXTRA_METADATA_KEY]
        if CUSTOM_METADATA_KEY in custom_metadata:
            return json.loads(custom_metadata[CUSTOM_METADATA_KEY])
    return None
