"""torch.distributed.optim.ZeroRedundancyOptimizer: optimizer state sharded over the ranks.

Each rank holds a local optimizer (optimizer_class) for its share of the parameters - torch's
greedy partition: each group's parameters, largest first, go to the rank with the fewest
elements so far - steps it, then every rank broadcasts its share, so all ranks end with the
same parameters as an unsharded optimizer would give them. overlap_with_ddp (stepping
inside DDP's communication hook) is not implemented."""
import copy
import logging
from itertools import chain

from ... import device as _device, is_tensor, typename, zeros, empty
from ...optim.optimizer import Optimizer
from .. import distributed_c10d as c10d
from .._collectives import broadcast, broadcast_object_list
from ..algorithms.join import Join, JoinHook, Joinable

__all__ = ["ZeroRedundancyOptimizer"]

logger = logging.getLogger(__name__)


def _recursive_copy_to_device(value, non_blocking, device):
    """Tensors in lists, tuples and dicts moved to `device` (other values as they are)."""
    if is_tensor(value):
        return value.to(device, non_blocking=non_blocking)
    if isinstance(value, (list, tuple)):
        values = [_recursive_copy_to_device(v, non_blocking, device) for v in value]
        return values if isinstance(value, list) else tuple(values)
    if isinstance(value, dict):
        return {k: _recursive_copy_to_device(v, non_blocking, device) for k, v in value.items()}
    return value


def _broadcast_object(obj, src_rank, group):
    """`obj` of global rank src_rank, on every rank of `group`."""
    box = [obj]
    broadcast_object_list(box, src=src_rank, group=group)
    return box[0]


class _ZeROJoinHook(JoinHook):
    def __init__(self, zero):
        self.zero = zero

    def main_hook(self):
        """A joined rank still steps its partition, to send it to the others."""
        self.zero.step()


class ZeroRedundancyOptimizer(Optimizer, Joinable):
    """Wrap optimizer_class(params, **defaults) so that each rank keeps the state of, and
    steps, only its partition of `params`; step() then broadcasts the updated partitions.
    With parameters_as_bucket_view each rank's partition lives in one flat tensor (the
    parameters become views of it) and is broadcast as one."""

    def __init__(self, params, optimizer_class, process_group=None,
                 parameters_as_bucket_view=False, overlap_with_ddp=False, **defaults):
        if overlap_with_ddp:
            raise NotImplementedError("ember's ZeroRedundancyOptimizer does not implement "
                                      "overlap_with_ddp=True")
        params = self._verify_and_init_params(params)
        self._verify_same_dense_param_type()
        self.initialized = False
        Optimizer.__init__(self, params, defaults)
        Joinable.__init__(self)
        self._partition_parameters_cache = []
        self._param_to_rank_cache, self._param_to_index_cache = {}, {}
        self._index_to_param_cache = []
        self._is_trainable_mask = self._get_is_trainable_mask()
        self._default_device = self._all_params[0].device
        self.process_group = process_group if process_group is not None else \
            c10d.group.WORLD
        self.world_size = c10d.get_world_size(self.process_group)
        self.rank = c10d.get_rank(self.process_group)
        self.global_rank = c10d.get_global_rank(self.process_group, self.rank)
        self._overlap_with_ddp = False
        self._optim_defaults = defaults
        self._optim_constructor = optimizer_class
        self._init_local_optimizer()
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._buckets = []
        self._build_param_buckets()
        self._all_state_dicts = []
        self.initialized = True

    # ---- parameters and their partition ----------------------------------------------------
    def _verify_and_init_params(self, params):
        if is_tensor(params):
            raise TypeError("`params` argument should be an iterable of Tensors, but got "
                            f"{typename(params)}")
        try:
            all_params = list(params)
        except TypeError as e:
            raise TypeError("`params` argument should be an iterable of Tensors or dicts, but "
                            f"got {typename(params)}") from e
        if len(all_params) == 0:
            raise ValueError("ZeroRedundancyOptimizer got an empty parameter list")
        all_tensors = all(is_tensor(p) for p in all_params)
        if not all_tensors and not all(isinstance(p, dict) for p in all_params):
            raise TypeError("`params` argument should be an iterable of Tensors or dicts")
        if all_tensors:
            self._all_params = all_params
        else:
            self._all_params = []
            for param_group in all_params:
                if "params" not in param_group:
                    raise ValueError("Each parameter group passed-in via `params` must have a "
                                     "'params' key mapping to the parameters in the group")
                self._all_params.extend(param_group["params"])
        return all_params

    def _verify_same_dense_param_type(self):
        name = typename(self._all_params[0])
        if self._all_params[0].is_sparse:
            raise ValueError("ZeroRedundancyOptimizer only supports using the same dense type "
                             f"for all parameters but got {name}")
        for param in self._all_params[1:]:
            other = typename(param)
            if other != name:
                raise ValueError("ZeroRedundancyOptimizer only supports using the same dense "
                                 f"type for all parameters but got both {name} and {other}")

    def _get_is_trainable_mask(self):
        return [p.requires_grad for p in self._all_params]

    def _clear_cache(self):
        self._partition_parameters_cache.clear()
        self._param_to_rank_cache.clear()
        self._index_to_param_cache.clear()
        self._param_to_index_cache.clear()

    def _partition_parameters(self, params_per_rank=None):
        """Per rank, its param_groups (copies of ours holding its share of the parameters)."""
        if params_per_rank is None:
            if not self._partition_parameters_cache:
                self._partition_parameters_cache = [[] for _ in range(self.world_size)]
                sizes = [0] * self.world_size
                for param_group in self.param_groups:
                    per_rank = [[] for _ in range(self.world_size)]
                    for param in sorted(param_group["params"], key=lambda t: t.numel(),
                                        reverse=True):
                        rank = sizes.index(min(sizes))
                        per_rank[rank].append(param)
                        sizes[rank] += param.numel()
                    self._partition_param_group(param_group, per_rank)
            return self._partition_parameters_cache
        if self._partition_parameters_cache:
            raise AssertionError("Specifying `params_per_rank` should only be done when the "
                                 "parameters have not been partitioned yet")
        if len(self.param_groups) != 1:
            raise RuntimeError("Specifying `params_per_rank` only supports a single parameter "
                               "group")
        if len(params_per_rank) != self.world_size:
            raise ValueError("`params_per_rank` must have length equal to the world size")
        known = set(self._all_params)
        if any(p not in known for params in params_per_rank for p in params):
            raise ValueError("Passing a new parameter in `params_per_rank` that was not passed "
                             "into the ZeroRedundancyOptimizer constructor")
        self._partition_parameters_cache = [[] for _ in range(self.world_size)]
        self._partition_param_group(self.param_groups[0], params_per_rank)
        return self._partition_parameters_cache

    def _partition_param_group(self, param_group, params_per_rank):
        for rank, params in enumerate(params_per_rank):
            rank_param_group = copy.copy(param_group)
            rank_param_group["params"] = params
            self._partition_parameters_cache[rank].append(rank_param_group)

    @property
    def _param_to_rank(self):
        if not self._param_to_rank_cache:
            for rank, param_groups in enumerate(self._partition_parameters()):
                for param_group in param_groups:
                    for param in param_group["params"]:
                        self._param_to_rank_cache[param] = rank
        return self._param_to_rank_cache

    @property
    def _param_to_index(self):
        """Parameter -> its index in the global optimizer state (over all groups in order)."""
        if not self._param_to_index_cache:
            self._param_to_index_cache = {p: i for i, p in enumerate(self._index_to_param)}
        return self._param_to_index_cache

    @property
    def _index_to_param(self):
        if not self._index_to_param_cache:
            self._index_to_param_cache = list(chain.from_iterable(
                g["params"] for g in self.param_groups))
        return self._index_to_param_cache

    def _init_local_optimizer(self):
        self.optim = self._optim_constructor(self._partition_parameters()[self.rank],
                                             **self._optim_defaults)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)

    def add_param_group(self, param_group):
        """Add a group on every rank (all must call it): it is partitioned like the others."""
        super().add_param_group(param_group)
        if self.initialized:
            self._clear_cache()
            param_groups = self._partition_parameters()[self.rank]
            if len(param_groups) == len(self.optim.param_groups) + 1:
                self.optim.add_param_group(param_groups[-1])
            if self.parameters_as_bucket_view:
                self._build_param_buckets()

    @staticmethod
    def _sync_param_groups(src_param_groups, dst_param_groups):
        """Copy the options (lr, ...) of src's groups into dst's."""
        if len(src_param_groups) != len(dst_param_groups):
            raise AssertionError("Mismatch between number of source and destination parameter "
                                 "groups")
        for src, dst in zip(src_param_groups, dst_param_groups):
            for attr in src:
                if attr != "params":
                    dst[attr] = src[attr]

    # ---- the flat buckets of parameters_as_bucket_view -------------------------------------
    def _build_param_buckets(self):
        """One flat tensor per device and rank; the rank's trainable parameters become views of
        it (frozen ones get their own copy)."""
        if not self.parameters_as_bucket_view:
            return
        per_device = {}
        for rank, param_groups in enumerate(self._partition_parameters()):
            for param_group in param_groups:
                for param in param_group["params"]:
                    per_device.setdefault(param.device, [[] for _ in range(self.world_size)])
                    per_device[param.device][rank].append(param)
        self._buckets = [[] for _ in per_device]
        for dev_i, (device, params_per_rank) in enumerate(per_device.items()):
            for params in params_per_rank:
                trainable, dtype = [], None
                for param in params:
                    if not param.requires_grad:
                        param.data = param.data.detach().clone()
                    else:
                        trainable.append(param)
                    dtype = param.dtype
                size = sum(p.numel() for p in trainable)
                if size == 0:
                    bucket = zeros(1, device=device)
                else:
                    bucket = empty(size, dtype=dtype, device=device)
                    offset = 0
                    for param in trainable:
                        end = offset + param.numel()
                        bucket[offset:end].copy_(param.data.flatten())
                        param.data = bucket[offset:end].view_as(param.data)
                        offset = end
                self._buckets[dev_i].append(bucket)

    # ---- stepping --------------------------------------------------------------------------
    def _local_step(self, closure=None, **kwargs):
        Join.notify_join_context(self)
        mask = self._get_is_trainable_mask()
        if mask != self._is_trainable_mask:
            logger.warning("ZeroRedundancyOptimizer detected that the trainable parameters "
                           "changed; rebuilding the parameter buckets if enabled")
            self._build_param_buckets()
            self._is_trainable_mask = mask
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        loss = self.optim.step(**kwargs) if closure is None else \
            self.optim.step(closure=closure, **kwargs)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        return loss

    def _broadcast_params_from_rank(self, rank):
        src = c10d.get_global_rank(self.process_group, rank)
        if self.parameters_as_bucket_view:
            return [broadcast(dev_buckets[rank], src=src, group=self.process_group,
                              async_op=True) for dev_buckets in self._buckets]
        return [broadcast(param.data, src=src, group=self.process_group, async_op=True)
                for param_group in self._partition_parameters()[rank]
                for param in param_group["params"]]

    def _sync_params(self):
        """Every rank's updated partition, on every rank."""
        handles = []
        for rank in range(self.world_size):
            handles.extend(self._broadcast_params_from_rank(rank))
        for handle in handles:
            handle.wait()

    def step(self, closure=None, **kwargs):
        """Step the local optimizer on this rank's partition, then sync all partitions."""
        loss = self._local_step(closure=closure, **kwargs)
        self._sync_params()
        return loss

    def join_hook(self, **kwargs):
        """For Join: a joined rank keeps stepping (its gradients should be set, e.g. zeros)."""
        return _ZeROJoinHook(self)

    @property
    def join_device(self):
        return self._default_device

    @property
    def join_process_group(self):
        return self.process_group

    # ---- state dicts -----------------------------------------------------------------------
    def consolidate_state_dict(self, to=0):
        """Gather every rank's local optimizer state on rank `to` (of the group); all ranks
        must call it. state_dict() on `to` then returns the global state."""
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        cpu = _device("cpu")
        self._all_state_dicts = []
        for rank in range(self.world_size):
            global_rank = c10d.get_global_rank(self.process_group, rank)
            if self.rank == to:
                if rank == self.rank:
                    local = self.optim.state_dict()
                else:
                    local = _broadcast_object(None, global_rank, self.process_group)
                self._all_state_dicts.append(_recursive_copy_to_device(local, True, cpu))
            elif rank == self.rank:
                _broadcast_object(self.optim.state_dict(), self.global_rank, self.process_group)
            elif rank != to:
                _broadcast_object(None, global_rank, self.process_group)

    def state_dict(self):
        """The global state last consolidated on this rank, indexed like an unsharded
        optimizer's."""
        if not self._all_state_dicts:
            raise RuntimeError("Optimizer state has not been consolidated on this rank. Please "
                               f"call `consolidate_state_dict(to={self.rank})` on all ranks "
                               "beforehand if you meant to save the global state.")
        state_dict = super().state_dict()
        for rank, local_state_dict in enumerate(self._all_state_dicts):
            for local_group, global_group in zip(local_state_dict["param_groups"],
                                                 self._partition_parameters()[rank], strict=True):
                for local_index, param in zip(local_group["params"], global_group["params"],
                                              strict=True):
                    if local_index in local_state_dict["state"]:
                        state_dict["state"][self._param_to_index[param]] = \
                            local_state_dict["state"][local_index]
        state_dict["state"] = dict(sorted(state_dict["state"].items()))
        return state_dict

    def load_state_dict(self, state_dict):
        """Load a global state (from state_dict()): each rank keeps its partition's."""
        for index, value in state_dict["state"].items():
            param = self._index_to_param[index]
            if self._param_to_rank[param] != self.rank:
                state_dict["state"][index] = None
            else:
                state = _recursive_copy_to_device(value, True, param.device)
                for name, v in state.items():
                    if is_tensor(v) and v.dim() == 0:
                        state[name] = v.cpu()
                self.optim.state[param] = state
        super().load_state_dict(state_dict)
        self._sync_param_groups(state_dict["param_groups"], self.param_groups)
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
