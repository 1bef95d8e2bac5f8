"""torch.distributed.checkpoint.save: every rank plans its writes, the coordinator merges
the plans (deduplicating replicated values) and, after every rank wrote its files, writes
the metadata."""
import inspect
import os
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from enum import Enum

from ..._tensor import Tensor
from .. import distributed_c10d as c10d
from .default_planner import DefaultSavePlanner
from .stateful import Stateful
from .utils import _DistWrapper, _storage_setup

__all__ = ["save_state_dict", "save", "async_save", "AsyncCheckpointerType"]


class AsyncCheckpointerType(Enum):
    """Enum for async checkpointer type. (ember saves in a thread for both.)"""
    THREAD = "thread"
    PROCESS = "process"


def save_state_dict(state_dict, storage_writer, process_group=None, coordinator_rank: int = 0,
                    no_dist: bool = False, planner=None):
    """This method is deprecated. Please switch to 'save'."""
    warnings.warn("`save_state_dict` is deprecated and will be removed in future versions."
                  "Please use `save` instead.", FutureWarning, stacklevel=2)
    storage_writer.reset()
    return _save_state_dict(state_dict, storage_writer, process_group, coordinator_rank,
                            no_dist, planner)


def save(state_dict, *, checkpoint_id: str | os.PathLike | None = None, storage_writer=None,
         planner=None, process_group=None, no_dist: bool = False, use_collectives: bool = True):
    """Save a state dict in SPMD style (https://pytorch.org/docs/stable/distributed.checkpoint
    .html): every rank of the process group calls it with its state dict; without an
    initialized process group it saves in this process alone. Values following the Stateful
    protocol (modules, optimizers) are saved as their state_dict(). Returns the Metadata."""
    no_dist = no_dist or not c10d.is_initialized()
    if no_dist:
        warnings.warn("torch.distributed is disabled, unavailable or uninitialized, assuming "
                      "the intent is to save in a single process.", stacklevel=2)
    storage_writer = _storage_setup(storage_writer, checkpoint_id, reader=False)
    return _save_state_dict(state_dict=_stateful_to_state_dict(state_dict),
                            storage_writer=storage_writer, process_group=process_group,
                            no_dist=no_dist, planner=planner, use_collectives=use_collectives)


def async_save(state_dict, *, checkpoint_id=None, storage_writer=None, planner=None,
               process_group=None,
               async_checkpointer_type=AsyncCheckpointerType.THREAD, async_stager=None,
               no_dist: bool = False, use_collectives: bool = True) -> Future:
    """`save` in a background thread, on a copy of the state dict's tensors taken now;
    returns a Future of the Metadata."""
    staged = _staged(_stateful_to_state_dict(state_dict))
    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(save, staged, checkpoint_id=checkpoint_id,
                             storage_writer=storage_writer, planner=planner,
                             process_group=process_group, no_dist=no_dist,
                             use_collectives=use_collectives)
    executor.shutdown(wait=False)
    return future


def _staged(obj):
    """``obj`` with its tensors copied, nested dicts, lists and tuples rebuilt."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _staged(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_staged(v) for v in obj)
    return obj


def _stateful_to_state_dict(state_dict):
    """A shallow copy of `state_dict` where `state_dict` is called for each Stateful
    object."""
    return {key: elem.state_dict() if isinstance(elem, Stateful) else elem
            for key, elem in state_dict.items()}


def _save_state_dict(state_dict, storage_writer, process_group=None,
                     coordinator_rank: int = 0, no_dist: bool = False, planner=None,
                     use_collectives: bool = True):
    distW = _DistWrapper(process_group, not no_dist, coordinator_rank)
    if planner is None:
        planner = DefaultSavePlanner()
    global_metadata = None

    def local_step():
        storage_meta = storage_writer.storage_meta()
        if "storage_meta" not in inspect.signature(planner.set_up_planner).parameters:
            warnings.warn("The function definition for SavePlanner.set_up_planner has been "
                          "updated to include the storage_meta argument. Please update your "
                          "implementation to include this parameter.", stacklevel=2)
            planner.set_up_planner(state_dict, distW.is_coordinator)
        else:
            planner.set_up_planner(state_dict=state_dict, storage_meta=storage_meta,
                                   is_coordinator=distW.is_coordinator)
        if "kwargs" in inspect.signature(storage_writer.set_up_storage_writer).parameters:
            storage_writer.set_up_storage_writer(distW.is_coordinator, rank=distW.rank,
                                                 use_collectives=use_collectives)
        else:
            storage_writer.set_up_storage_writer(distW.is_coordinator)
        return storage_writer.prepare_local_plan(planner.create_local_plan())

    def global_step(all_local_plans):
        nonlocal global_metadata
        all_local_plans, global_metadata = planner.create_global_plan(all_local_plans)
        return storage_writer.prepare_global_plan(all_local_plans)

    if use_collectives:
        central_plan = distW.reduce_scatter("plan", local_step, global_step)
    else:
        central_plan = global_step([local_step()])[0]

    def write_data():
        all_writes = storage_writer.write_data(planner.finish_plan(central_plan), planner)
        all_writes.wait()
        return all_writes.value()

    def finish_checkpoint(all_results):
        storage_writer.finish(metadata=global_metadata, results=all_results)
        return global_metadata

    if use_collectives:
        return distW.all_reduce("write", write_data, finish_checkpoint)
    metadata = finish_checkpoint([write_data()])
    distW.barrier()
    return metadata
