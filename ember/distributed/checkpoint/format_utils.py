"""torch.distributed.checkpoint.format_utils: converting between DCP checkpoint folders and
`torch.save` files, and loading a `torch.save` file through DCP."""
import os

from ... import _tensor, serialization
from ...futures import Future
from ...ops.creation import empty_like
from .. import _collectives as dist
from .. import distributed_c10d as c10d
from ._nested_dict import flatten_state_dict
from .default_planner import _EmptyStateDictLoadPlanner, DefaultLoadPlanner
from .filesystem import FileSystemReader, FileSystemWriter
from .metadata import Metadata, TensorProperties, TensorStorageMetadata
from .planner import LoadItemType
from .planner_helpers import _create_chunk_list
from .state_dict_loader import _load_state_dict
from .state_dict_saver import _save_state_dict
from .storage import StorageReader
from .utils import narrow_tensor_by_index

__all__ = ["dcp_to_torch_save", "torch_save_to_dcp", "BroadcastingTorchSaveReader",
           "DynamicMetaLoadPlanner"]


class BroadcastingTorchSaveReader(StorageReader):
    """Reads a `torch.save` file on the coordinator rank and broadcasts each tensor to the
    other ranks (tensors only); use it with DynamicMetaLoadPlanner."""

    def __init__(self, checkpoint_id: str | os.PathLike | None = None,
                 coordinator_rank: int = 0) -> None:
        self.checkpoint_id = checkpoint_id
        self.coordinator_rank = coordinator_rank

    def read_metadata(self) -> Metadata:
        # the planner builds the metadata from the state dict
        return Metadata(state_dict_metadata={})

    def read_data(self, plan, planner):
        if self.is_coordinator:
            if self.checkpoint_id is None:
                raise AssertionError("checkpoint_id must be set before reading data")
            torch_state_dict = serialization.load(self.checkpoint_id, map_location="cpu",
                                                  weights_only=False)
            if planner.flatten_state_dict:
                torch_state_dict, _ = flatten_state_dict(torch_state_dict)
        else:
            torch_state_dict = None
        for req in plan.items:
            if req.type == LoadItemType.BYTE_IO:
                raise RuntimeError(f"Non-tensor value identified at {req.storage_index.fqn}. "
                                   f"At this time {type(self).__name__} only supports loading "
                                   "Tensors.")
            if self.is_coordinator:
                tensor = torch_state_dict[req.storage_index.fqn]
            else:
                tensor = empty_like(planner.state_dict[req.storage_index.fqn])
            dist.broadcast(tensor, src=self.coordinator_rank, async_op=False)
            tensor = narrow_tensor_by_index(tensor, req.storage_offsets, req.lengths)
            target_tensor = planner.resolve_tensor(req).detach()
            if not target_tensor.size() == tensor.size():
                raise AssertionError(f"req {req.storage_index} mismatch sizes, "
                                     f"{target_tensor.size()} vs {tensor.size()}")
            target_tensor.copy_(tensor)
            planner.commit_tensor(req, target_tensor)
        fut = Future()
        fut.set_result(None)
        return fut

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool) -> None:
        self.is_coordinator = is_coordinator
        if self.is_coordinator and c10d.get_rank() != self.coordinator_rank:
            raise AssertionError(f"Coordinator rank mismatch: expected "
                                 f"{self.coordinator_rank}, got {c10d.get_rank()}")
        if self.checkpoint_id is None:
            raise AssertionError("checkpoint_id must be set before setting up storage reader")

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, global_plan: list) -> list:
        return global_plan

    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        self.checkpoint_id = checkpoint_id

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        return os.path.isfile(checkpoint_id)


class DynamicMetaLoadPlanner(DefaultLoadPlanner):
    """A DefaultLoadPlanner that builds the Metadata from the state dict given (tensors
    only), for formats without a metadata file such as `torch.save` files."""

    def set_up_planner(self, state_dict, metadata=None, is_coordinator=False) -> None:
        super().set_up_planner(state_dict, metadata, is_coordinator)
        state_dict_metadata = {}
        for key, tensor in self.state_dict.items():
            if not isinstance(tensor, _tensor.Tensor):
                raise RuntimeError(f"Non-tensor value identified at {key}. At this time "
                                   f"{type(self).__name__} only supports loading Tensors.")
            state_dict_metadata[key] = TensorStorageMetadata(
                TensorProperties(dtype=tensor.dtype), tensor.size(), _create_chunk_list(tensor))
        self.metadata = Metadata(state_dict_metadata=state_dict_metadata)


def dcp_to_torch_save(dcp_checkpoint_dir: str | os.PathLike,
                      torch_save_path: str | os.PathLike):
    """Convert the DCP checkpoint in ``dcp_checkpoint_dir`` into the `torch.save` file
    ``torch_save_path`` (the whole state dict, nested as it was saved)."""
    sd = {}
    _load_state_dict(sd, storage_reader=FileSystemReader(dcp_checkpoint_dir),
                     planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    serialization.save(sd, torch_save_path)


def torch_save_to_dcp(torch_save_path: str | os.PathLike,
                      dcp_checkpoint_dir: str | os.PathLike):
    """Convert the `torch.save` file ``torch_save_path`` into a DCP checkpoint in
    ``dcp_checkpoint_dir``."""
    state_dict = serialization.load(torch_save_path, weights_only=False)
    _save_state_dict(state_dict, storage_writer=FileSystemWriter(dcp_checkpoint_dir),
                     no_dist=True)


def _main(argv=None):
    """``python -m ember.distributed.checkpoint.format_utils {torch_to_dcp,dcp_to_torch}
    src dst``, as torch's."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", type=str, help="Conversion mode",
                        choices=["torch_to_dcp", "dcp_to_torch"], default="torch_to_dcp")
    parser.add_argument("src", type=str, help="Path to the source model")
    parser.add_argument("dst", type=str, help="Path to the destination model")
    args = parser.parse_args(argv)
    print(f"Converting checkpoint from {args.src} to {args.dst} using method: '{args.mode}'")
    missing = f"No checkpoint found at {args.src}. Skipping conversion."
    if args.mode == "torch_to_dcp":
        if os.path.isfile(args.src):
            torch_save_to_dcp(args.src, args.dst)
        else:
            print(missing)
    elif os.path.isdir(args.src):
        dcp_to_torch_save(args.src, args.dst)
    else:
        print(missing)


if __name__ == "__main__":
    _main()
