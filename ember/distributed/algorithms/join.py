"""torch.distributed.algorithms.join: training on uneven inputs.

Inside `with Join([ddp, optimizer, ...]):` a rank that runs out of inputs leaves its loop and
waits in __exit__, where each round it "shadows" the collectives that the ranks still
training issue (the Joinables' JoinHook.main_hook), until every rank has joined; then the
post hooks run (DDP broadcasts the last joiner's model). The first Joinable's
notify_join_context, called by each rank still training, all-reduces a 1 that tells how many
have not joined."""
import warnings
from abc import ABC, abstractmethod
from typing import NamedTuple

from ... import ones, zeros
from .. import _collectives, distributed_c10d

__all__ = ["JoinHook", "Joinable", "Join"]


class JoinHook:
    """What a joined rank runs for one Joinable: main_hook each round while some rank still
    trains, post_hook(is_last_joiner) once all have joined."""

    def main_hook(self):
        """Shadow one iteration's collectives."""

    def post_hook(self, is_last_joiner):
        """Clean up once every rank has joined."""


class Joinable(ABC):
    """A class whose collectives a joined rank can shadow (DistributedDataParallel,
    ZeroRedundancyOptimizer): it gives its join_hook, join_device and join_process_group,
    and calls Join.notify_join_context(self) once per iteration."""

    @abstractmethod
    def __init__(self):
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs):
        """The JoinHook of this Joinable."""

    @property
    @abstractmethod
    def join_device(self):
        """The device of the join context's collectives."""

    @property
    @abstractmethod
    def join_process_group(self):
        """The process group of the join context's collectives."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config():
        return _JoinConfig(enable=False, throw_on_early_termination=False,
                           is_first_joinable=False)


class Join:
    """The context manager for uneven inputs over `joinables` (which share one process
    group); keyword arguments go to their join_hook methods. With
    throw_on_early_termination every rank raises once one runs out of inputs."""

    def __init__(self, joinables, enable=True, throw_on_early_termination=False, **kwargs):
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = joinables
        self._join_hooks = [joinable.join_hook(**kwargs) for joinable in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        self._set_joinable_configs()
        self._extract_dist_info()

    def _set_joinable_configs(self):
        for i, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(
                enable=self._enable, throw_on_early_termination=self._throw_on_early_termination,
                is_first_joinable=i == 0)

    def _extract_dist_info(self):
        process_group = device = None
        for joinable in self._joinables:
            if process_group is None:
                process_group = joinable.join_process_group
            elif process_group != joinable.join_process_group:
                raise ValueError("Using join context manager with multiple process groups")
            if device is None:
                device = joinable.join_device
        self._process_group = process_group
        self._rank = distributed_c10d.get_rank(self._process_group)
        self._device = device

    def __enter__(self):
        return None

    def __exit__(self, type, value, traceback):
        """Shadow the other ranks' iterations until every rank has joined (an exception
        raised in the block propagates at once)."""
        if not self._enable or type:
            return
        all_procs_joined, is_last_joiner = False, True
        i, warn_threshold = 0, 1000
        while not all_procs_joined:
            if i > warn_threshold:
                warnings.warn(f"Detected uneven input skew of greater than {warn_threshold}. "
                              f"This means that rank {self._rank} has at least "
                              f"{warn_threshold} fewer inputs than other currently-active "
                              "ranks. This level of skew could lead to performance "
                              "degradation during training.", stacklevel=2)
            if self._get_num_nonjoined_procs() == 0:
                all_procs_joined = True
            else:
                if self._throw_on_early_termination:
                    self._notify_procs_to_terminate()
                for join_hook in self._join_hooks:
                    join_hook.main_hook()
                is_last_joiner = False
                i += 1
        for join_hook in self._join_hooks:
            join_hook.post_hook(is_last_joiner)

    def _get_num_nonjoined_procs(self):
        num_nonjoined_procs = zeros(1, device=self._device)
        _collectives.all_reduce(num_nonjoined_procs, group=self._process_group)
        return num_nonjoined_procs.item()

    def _notify_procs_to_terminate(self):
        _collectives.all_reduce(ones(1, device=self._device), group=self._process_group)
        raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")

    @staticmethod
    def notify_join_context(joinable):
        """Called by `joinable` each iteration: all-reduce a 1 counting the ranks still
        training (only the first Joinable of the context does); returns that Work, or None."""
        if not hasattr(joinable, "_join_config"):
            raise AssertionError(f"Check that the {type(joinable)} constructor calls the "
                                 "``Joinable`` constructor")
        join_config = joinable._join_config
        if not join_config.is_first_joinable or not join_config.enable:
            return None
        device, process_group = joinable.join_device, joinable.join_process_group
        work = _collectives.all_reduce(ones(1, device=device), group=process_group,
                                       async_op=True)
        if join_config.throw_on_early_termination:
            flag = zeros(1, device=device)
            _collectives.all_reduce(flag, group=process_group)
            if flag.item():
                raise RuntimeError("Detected at least one rank that exhausted inputs. "
                                   "Throwing across all ranks.")
        return work


# DistributedDataParallel is a Joinable without importing ember.distributed when it is imported
from ...nn.parallel.distributed import DistributedDataParallel  # noqa: E402

Joinable.register(DistributedDataParallel)
