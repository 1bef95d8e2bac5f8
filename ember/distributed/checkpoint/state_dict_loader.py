"""torch.distributed.checkpoint.load: every rank reads the metadata, plans the reads its
state dict needs, and loads them in place."""
import inspect
import logging
import os
import warnings

from .. import distributed_c10d as c10d
from .default_planner import _EmptyStateDictLoadPlanner, DefaultLoadPlanner
from .stateful import Stateful
from .utils import _DistWrapper, _storage_setup

__all__ = ["load_state_dict", "load"]

logger = logging.getLogger(__name__)


def load_state_dict(state_dict, storage_reader, process_group=None, coordinator_rank: int = 0,
                    no_dist: bool = False, planner=None) -> None:
    """This method is deprecated. Please switch to 'load'."""
    warnings.warn("`load_state_dict` is deprecated and will be removed in future versions. "
                  "Please use `load` instead.", FutureWarning, stacklevel=2)
    storage_reader.reset()
    _load_state_dict(state_dict, storage_reader, process_group, coordinator_rank, no_dist,
                     planner)


def load(state_dict, *, checkpoint_id: str | os.PathLike | None = None, storage_reader=None,
         planner=None, process_group=None, no_dist: bool = False) -> None:
    """Load a checkpoint into ``state_dict`` in place, in SPMD style
    (https://pytorch.org/docs/stable/distributed.checkpoint.html): tensors are copied into,
    other values replaced, and Stateful values (modules, optimizers) get load_state_dict
    with what was loaded into their state_dict(). Every key must be in the checkpoint."""
    no_dist = no_dist or not c10d.is_initialized()
    if no_dist:
        warnings.warn("torch.distributed is disabled, unavailable or uninitialized, assuming "
                      "the intent is to load in a single process.", stacklevel=2)
    storage_reader = _storage_setup(storage_reader, checkpoint_id, reader=True)
    # every rank loads the keys in the same order
    keys = sorted(state_dict.keys())
    stateful_sd = {}
    for key in keys:
        elem = state_dict[key]
        stateful_sd[key] = elem.state_dict() if isinstance(elem, Stateful) else elem
    _load_state_dict(state_dict=stateful_sd, storage_reader=storage_reader,
                     process_group=process_group, no_dist=no_dist, planner=planner)
    for key in keys:
        elem = state_dict[key]
        if isinstance(elem, Stateful):
            elem.load_state_dict(stateful_sd[key])
        else:
            state_dict[key] = stateful_sd[key]


def _load_state_dict(state_dict, storage_reader, process_group=None,
                     coordinator_rank: int = 0, no_dist: bool = False, planner=None) -> None:
    distW = _DistWrapper(process_group, not no_dist, coordinator_rank)
    if planner is None:
        planner = DefaultLoadPlanner()
    use_collectives = True

    def local_step():
        nonlocal use_collectives
        # the global metadata if there is one, else this rank's own
        metadata = None
        errors = ["metadata is None"]
        try:
            metadata = storage_reader.read_metadata()
        except Exception as e:
            errors.append(f"global metadata read failed: {e}")
            logger.warning("Global metadata is not found. Falling back to rank local "
                           "metadata.", exc_info=True)
        if not metadata and "kwargs" in inspect.signature(
                storage_reader.read_metadata).parameters:
            try:
                metadata = storage_reader.read_metadata(rank=distW.rank)
                use_collectives = False
            except Exception as e:
                errors.append(f"rank local metadata read failed: {e}")
                logger.warning("Rank local metadata is not found.", exc_info=True)
        if metadata is None:
            raise AssertionError("; ".join(errors))
        planner.set_up_planner(state_dict, metadata, distW.is_coordinator)
        if "kwargs" in inspect.signature(storage_reader.set_up_storage_reader).parameters:
            storage_reader.set_up_storage_reader(metadata, distW.is_coordinator,
                                                 rank=distW.rank,
                                                 use_collectives=use_collectives)
        else:
            storage_reader.set_up_storage_reader(metadata, distW.is_coordinator)
        return storage_reader.prepare_local_plan(planner.create_local_plan())

    def global_step(all_local_plans):
        return storage_reader.prepare_global_plan(planner.create_global_plan(all_local_plans))

    if use_collectives:
        central_plan = distW.reduce_scatter("plan", local_step, global_step)
    else:
        central_plan = global_step([local_step()])[0]

    def read_data():
        storage_reader.read_data(planner.finish_plan(central_plan), planner).wait()

    if use_collectives:
        distW.all_gather("read", read_data)
    else:
        read_data()
        distW.barrier()


def _load_state_dict_from_keys(keys=None, *, checkpoint_id=None, storage_reader=None,
                               process_group=None):
    """The whole checkpoint (or the keys in ``keys``, dotted paths of nested values) as a
    new state dict, loaded in this process without a model."""
    no_dist = not c10d.is_initialized()
    if no_dist:
        warnings.warn("torch.distributed is unavailable or uninitialized, assuming the intent "
                      "is to load in a single process.", stacklevel=2)
    storage_reader = _storage_setup(storage_reader, checkpoint_id, reader=True)
    if isinstance(keys, str):
        keys = {keys}
    sd = {}
    _load_state_dict(sd, storage_reader=storage_reader, process_group=process_group,
                     no_dist=no_dist, planner=_EmptyStateDictLoadPlanner(keys=keys))
    return sd
