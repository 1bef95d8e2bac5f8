"""DistributedDataParallel (torch.nn.parallel.DistributedDataParallel) over ember.distributed.

At construction rank 0's parameters and buffers are broadcast to every rank. Each forward
(with grad enabled, outside no_sync) arms the reducer: a post-accumulate-grad hook on every
parameter marks it ready, and when the last expected one is ready - still inside backward -
the gradients are averaged over the ranks bucket by bucket (each gradient times 1/world_size,
then summed in rank order, as torch's reducer does), so every rank steps with the same
gradients: those of the whole batch when the loss is a mean. The buckets are torch's: first
by parameter order (one bucket unless find_unused_parameters), then, after the first
iteration, rebuilt in the order the gradients became ready. A communication hook
(register_comm_hook) replaces the averaging of each bucket."""
import inspect
import sys
import weakref
from contextlib import contextmanager

from ...autograd.grad_mode import is_grad_enabled
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. {hint}making sure all `forward` function outputs participate in calculating loss. "
    "\nIf you already have done the above, then the distributed data parallel module wasn't "
    "able to locate the output tensors in the return value of your module's `forward` "
    "function. Please include the loss function and the structure of the return value of "
    "`forward` of your module when reporting this issue (e.g. list, dict, iterable).\n"
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n In addition, "
    "you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either INFO or DETAIL to "
    "print out information about which particular parameters did not receive gradient on this "
    "rank as part of this error")
_HINT_OFF = ("You can enable unused parameter detection by passing the keyword argument "
             "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, "
             "and by \n")
_HINT_ON = ("Since `find_unused_parameters=True` is enabled, this likely  means that not all "
            "`forward` outputs participate in computing loss. You can fix this by ")


def _coalesced(tensors, fn):
    """Apply fn (an in-place collective) to flat buffers holding the tensors, one per dtype
    and device, and copy the results back into the tensors."""
    from ..._tensor import _new
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    for group in groups.values():
        flat = group[0].be.xp.concatenate([t.arr.reshape(-1) for t in group])
        fn(_new(flat, group[0].be))
        offset = 0
        for t in group:
            t.arr[...] = flat[offset:offset + t.arr.size].reshape(t.arr.shape)
            offset += t.arr.size


def _typename(obj):
    from ..._tensor import Tensor
    return "torch.Tensor" if isinstance(obj, Tensor) else type(obj).__qualname__


def _tensors_in(obj):
    from ..._tensor import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors_in(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors_in(o)]
    return []


def _reached_leaves(outputs):
    """ids of the leaf tensors the autograd graph of `outputs` reaches."""
    from ...autograd.engine import _reverse_topo
    from ...autograd.node import Leaf
    roots = [t._edge() for t in _tensors_in(outputs) if t.requires_grad]
    return {id(n.ref()) for n in _reverse_topo(roots) if type(n) is Leaf}


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of `process_group` (default: the world): each rank
    runs `module` on its own shard of the batch; gradients are averaged during backward."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, device_mesh=None):
        super().__init__()
        from ... import distributed as dist
        if process_group and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        if device_mesh is not None:
            if device_mesh.ndim != 1:
                raise RuntimeError(f"Only 1D device mesh is supported, but got {device_mesh}.")
            self.device_mesh = device_mesh
            process_group = device_mesh.get_group(mesh_dim=0)
        self.process_group = process_group or dist.distributed_c10d._get_default_group()
        ignored = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        params = [p for n, p in module.named_parameters() if n not in ignored]
        if not any(p.requires_grad for p in params):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        devices = {p.device for p in params}
        if (device_ids or output_device) and {d.type for d in devices} == {"cpu"}:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters {devices}.")
        self.module = module
        self.device_ids = list(device_ids) if device_ids else None
        self.output_device = output_device if output_device is not None else \
            (self.device_ids[0] if self.device_ids else None)
        self.dim, self.broadcast_buffers = dim, broadcast_buffers
        self.find_unused_parameters, self.static_graph = find_unused_parameters, static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._first_bucket_bytes = 2 ** 20 if bucket_cap_mb is None else self.bucket_bytes_cap
        self.require_backward_grad_sync = self.require_forward_param_sync = True
        self._params = [p for p in params if p.requires_grad]
        self._module_buffers = [b for n, b in module.named_buffers() if n not in ignored]
        self._pending = None            # indices of parameters whose gradient is awaited
        self._started = False           # some parameter became ready in this backward
        self._unused = set()
        self._bucket_indices = self._initial_buckets()
        # the order gradients become ready in, recorded once to rebuild the buckets (with a
        # static graph, in the second iteration: torch reduces the first one at its end)
        self._ready_order = [] if not (static_graph or find_unused_parameters) else None
        self._static_first = static_graph
        self._static_unused = self._static_used = None      # fixed after a static graph's 1st
        self._comm_hook = self._comm_hook_state = None
        from ...distributed.algorithms.join import _JoinConfig
        self._join_config = _JoinConfig.construct_disabled_join_config()
        self._join_work = None              # this iteration's count of the ranks not joined
        self._divide_by_initial_world_size = True
        self._module_params = params
        if init_sync:
            self._verify_same_params(params)
            self._broadcast(self._params_and_buffers())
        me = weakref.ref(self)
        for i, p in enumerate(self._params):
            p.register_post_accumulate_grad_hook(
                lambda _p, i=i: me() is not None and me()._mark_ready(i))

    # ---- collectives -----------------------------------------------------------------------
    def _dist(self):
        from ... import distributed as dist
        return dist

    def _verify_same_params(self, params):
        dist = self._dist()
        mine = [(tuple(p.shape), str(p.dtype)) for p in params]
        theirs = [None]
        dist.broadcast_object_list(theirs if self.process_group.rank() else [mine],
                                   group_src=0, group=self.process_group)
        rank = dist.get_rank()
        if self.process_group.rank() == 0:
            return
        if len(theirs[0]) != len(mine):
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} has "
                               f"{len(mine)} params, while rank 0 has inconsistent "
                               f"{len(theirs[0])} params.")
        for i, (a, b) in enumerate(zip(mine, theirs[0])):
            if a != b:
                raise RuntimeError(f"[{rank}]: params[{i}] in this process with sizes {a[0]} "
                                   "appears not to match sizes of the same param in process 0.")

    def _broadcast(self, tensors, src=0):
        """Broadcast `tensors` from group rank `src`."""
        dist = self._dist()
        _coalesced([t.detach() for t in tensors],
                   lambda flat: dist.broadcast(flat, group_src=src, group=self.process_group))

    def _params_and_buffers(self):
        """The module's state that DDP keeps equal on the ranks."""
        return self._module_params + (self._module_buffers if self.broadcast_buffers else [])

    def _find_common_rank(self, input_rank, rank_cond):
        """The highest group rank among those where rank_cond holds."""
        from ... import tensor
        rank_to_use = tensor([input_rank if rank_cond else -1])
        self._dist().all_reduce(rank_to_use, op=self._dist().ReduceOp.MAX,
                                group=self.process_group)
        if rank_to_use.item() == -1:
            raise ValueError("BUG! Expected rank_cond to be true for at least one process. This "
                             "indicates a bug in PyTorch, please report an issue.")
        return rank_to_use.item()

    def _will_sync_module_buffers(self):
        return self.require_forward_param_sync and self.broadcast_buffers and \
            bool(self._module_buffers)

    # ---- buckets and communication hooks ---------------------------------------------------
    def _initial_buckets(self):
        """torch's first assignment: parameter order, one bucket unless unused parameters are
        searched for; the reduction order is the reverse."""
        from ...distributed._reducer import _compute_bucket_assignment_by_size
        if self.static_graph or not self.find_unused_parameters:
            limits = [sys.maxsize]
        elif self._first_bucket_bytes < self.bucket_bytes_cap:
            limits = [self._first_bucket_bytes, self.bucket_bytes_cap]
        else:
            limits = [self.bucket_bytes_cap]
        return list(reversed(_compute_bucket_assignment_by_size(self._params, limits)[0]))

    def _rebuild_buckets(self):
        """Once, after the first synchronized backward: buckets in the order the gradients
        became ready (rank 0's order, so every rank reduces the same buckets)."""
        from ...distributed._reducer import _compute_bucket_assignment_by_size
        order, self._ready_order = self._ready_order, None
        seen = set(order)
        order += [i for i in range(len(self._params)) if i not in seen]     # the unused: last
        buckets = [_compute_bucket_assignment_by_size(
            [self._params[i] for i in order], [self._first_bucket_bytes, self.bucket_bytes_cap],
            order)[0]]
        self._dist().broadcast_object_list(buckets, group_src=0, group=self.process_group)
        self._bucket_indices = buckets[0]

    def register_comm_hook(self, state, hook):
        """Reduce each bucket with hook(state, bucket: GradBucket) instead of averaging it: the
        hook returns a torch.futures.Future whose value, a tensor shaped like bucket.buffer(),
        becomes the bucket's gradients. The buffer is not divided by the world size."""
        from ... import distributed as dist
        from ... import futures
        from ..._tensor import Tensor
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        sig = inspect.signature(hook)
        if sig.parameters["bucket"].annotation not in (inspect.Parameter.empty,
                                                       dist.GradBucket):
            raise ValueError("Communication hook: bucket annotation should be "
                             "dist.GradBucket.")
        if sig.return_annotation not in (inspect.Signature.empty, futures.Future[Tensor]):
            raise ValueError("Communication hook: return annotation should be "
                             "torch.futures.Future[torch.Tensor].")
        if hook.__name__ in ("bf16_compress_hook", "bf16_compress_wrapper_hook"):
            raise TypeError("BF16 all reduce communication hook required CUDA 11+ and NCCL "
                            "2.10+ or XPU and XCCL")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be "
                               "called once.")
        self._comm_hook, self._comm_hook_state = hook, state

    def _register_builtin_comm_hook(self, comm_hook_type):
        """Reduce with a built-in hook (a dist.BuiltinCommHookType): ALLREDUCE averages as
        without a hook, FP16_COMPRESS through float16, as fp16_compress_hook."""
        from ...distributed.algorithms.ddp_comm_hooks import default_hooks
        dist = self._dist()
        if not isinstance(comm_hook_type, dist.BuiltinCommHookType):
            raise TypeError("_register_builtin_comm_hook(): incompatible function arguments: "
                            "comm_hook_type must be a torch.distributed.BuiltinCommHookType, "
                            f"got {comm_hook_type!r}")
        if self._comm_hook is not None:
            raise RuntimeError("register_builtin_comm_hook or register_comm_hook can only be "
                               "called once.")
        self._comm_hook = default_hooks.allreduce_hook \
            if comm_hook_type is dist.BuiltinCommHookType.ALLREDUCE \
            else default_hooks.fp16_compress_hook
        self._comm_hook_state = self.process_group

    # ---- the reducer -----------------------------------------------------------------------
    def _prepare_for_backward(self, output):
        self._unused = set()
        if self._static_unused is not None:        # a static graph's, found in its first pass
            self._unused = self._static_unused
        elif self.find_unused_parameters or self.static_graph:
            reached = _reached_leaves(output)
            self._unused = {i for i, p in enumerate(self._params) if id(p) not in reached}
        self._pending = set(range(len(self._params))) - self._unused
        self._started = False

    def _mark_ready(self, index):
        if self._pending is None or index not in self._pending:
            return
        self._started = True
        self._pending.discard(index)
        if self._ready_order is not None:
            self._ready_order.append(index)
        if not self._pending:
            self._pending = None
            self._all_reduce_grads()

    def _all_reduce_grads(self, joined=False):
        """Reduce the gradients bucket by bucket; a joined rank (joined=True) contributes
        zeros to each collective and keeps nothing."""
        from ..._tensor import _new
        dist = self._dist()
        params = self._params
        used = None
        if self._static_used is not None:
            used = self._static_used
        elif self.find_unused_parameters or self.static_graph:
            # a parameter unused on every rank keeps its grad
            flags = params[0].be.xp.array(
                [not joined and i not in self._unused for i in range(len(params))], "uint8")
            dist.all_reduce(_new(flags, params[0].be), dist.ReduceOp.MAX,
                            group=self.process_group)
            used = flags.tolist()
        if joined:
            for result in [self._reduce_bucket(i, b, True)
                           for i, b in enumerate(self._bucket_indices)]:
                self._bucket_result(result)
            return
        if self._static_first:
            self._static_first, self._ready_order = False, []
            self._static_unused, self._static_used = self._unused, used
        results = [self._reduce_bucket(i, b) for i, b in enumerate(self._bucket_indices)]
        for bucket, result in zip(self._bucket_indices, results):
            flat = self._bucket_result(result).arr.reshape(-1)
            offset = 0
            for i in bucket:
                p, n = params[i], params[i].arr.size
                if used is None or used[i]:
                    value = flat[offset:offset + n].reshape(p.arr.shape)
                    if p.grad is None or not p.grad.arr.flags.writeable:
                        p.grad = _new(value.astype(p.arr.dtype, copy=True), p.be)
                    else:
                        p.grad.arr[...] = value
                offset += n

    def _reduce_bucket(self, index, bucket, zero=False):
        """Start reducing one bucket (zeros if `zero`): its averaged buffer, or the comm
        hook's Future."""
        from ... import futures
        from ..._tensor import _new
        dist = self._dist()
        params = [self._params[i] for i in bucket]
        xp = params[0].be.xp
        flat = xp.concatenate([(xp.zeros(p.arr.size, p.arr.dtype) if zero or p.grad is None
                                else p.grad.arr.reshape(-1)) for p in params])
        buffer = _new(flat, params[0].be)
        if self._comm_hook is None:
            flat *= 1.0 / self._div_factor()
            dist.all_reduce(buffer, group=self.process_group)
            return buffer
        views, offset = [], 0
        for p in params:
            views.append(buffer[offset:offset + p.numel()].view(p.shape))
            offset += p.numel()
        grad_bucket = dist.GradBucket(index, buffer, views, params,
                                      index == len(self._bucket_indices) - 1)
        fut = self._comm_hook(self._comm_hook_state, grad_bucket)
        if not isinstance(fut, futures.Future):
            raise RuntimeError("DDP communication hook's callback must return a "
                               f"torch.futures.Future object, but got {_typename(fut)}")
        return fut

    def _div_factor(self):
        """The world size, or under join(divide_by_initial_world_size=False) the number of
        ranks not joined yet in this iteration."""
        if self._join_work is None or self._divide_by_initial_world_size:
            return self.process_group.size()
        return int(self._join_work.result()[0].item())

    @staticmethod
    def _bucket_result(result):
        from ..._tensor import Tensor
        if isinstance(result, Tensor):
            return result
        value = result.wait()
        if not isinstance(value, Tensor):
            raise RuntimeError("DDP communication hook's Future must hold a single tensor, but "
                               f"holds {_typename(value)}")
        return value

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync and self._pending is not None and self._started:
            raise RuntimeError(_UNFINISHED.format(
                hint=_HINT_ON if self.find_unused_parameters else _HINT_OFF,
                rank=self._dist().get_rank(), indices=" ".join(map(str, sorted(self._pending)))))
        self._join_work = None
        if self._join_config.enable:
            from ...distributed.algorithms.join import Join
            self._join_work = Join.notify_join_context(self)
        if is_grad_enabled() and self._ready_order:
            self._rebuild_buckets()
        if self._will_sync_module_buffers():
            self._broadcast(self._module_buffers, self._find_common_rank(
                self.process_group.rank(), True) if self._join_config.enable else 0)
        if self._join_config.enable:
            self._check_global_requires_backward_grad_sync(is_joined_rank=False)
        output = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync
        if sync:
            self._prepare_for_backward(output)
        else:
            self._pending = None
        return output

    @contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally; the first backward of a forward run
        outside averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ---- uneven inputs ---------------------------------------------------------------------
    def join(self, divide_by_initial_world_size=True, enable=True,
             throw_on_early_termination=False):
        """A Join context for uneven inputs: a rank out of inputs shadows the others' forward
        and backward collectives until all are done, then every rank takes the last joiner's
        model. divide_by_initial_world_size=False averages each iteration's gradients over
        the ranks still training instead of the whole world."""
        from ...distributed.algorithms.join import Join
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs):
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self):
        return self._params[0].device

    @property
    def join_process_group(self):
        return self.process_group

    def _check_global_requires_backward_grad_sync(self, is_joined_rank):
        """Whether some rank not joined syncs gradients in this iteration (for the joined)."""
        from ... import ones, zeros
        flag = ones(1) if not is_joined_rank and self.require_backward_grad_sync else zeros(1)
        work = self._dist().all_reduce(flag, group=self.process_group, async_op=True)
        if is_joined_rank:
            work.wait()
            return flag.item() != 0
        return None


class _DDPJoinHook:
    """What a joined rank runs for DistributedDataParallel: each round, the forward's buffer
    broadcast and the backward's reductions with zeros; at the end, the last joiner's
    parameters and buffers broadcast to all."""

    def __init__(self, ddp, divide_by_initial_world_size):
        if not isinstance(ddp, DistributedDataParallel):
            raise AssertionError("DDP join hook requires passing in a DistributedDataParallel "
                                 f"instance as the state, got {type(ddp).__name__}")
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self):
        ddp = self.ddp
        if ddp._ready_order:
            ddp._rebuild_buckets()
        if ddp._will_sync_module_buffers():
            ddp._broadcast(ddp._module_buffers,
                           ddp._find_common_rank(ddp.process_group.rank(), False))
        should_sync_backwards = ddp._check_global_requires_backward_grad_sync(True)
        ddp.require_forward_param_sync = should_sync_backwards
        if not should_sync_backwards:
            return
        ddp._all_reduce_grads(joined=True)
        if ddp._ready_order == []:          # torch pushes all parameters, in order, once
            ddp._ready_order = list(range(len(ddp._params)))

    def post_hook(self, is_last_joiner):
        ddp = self.ddp
        src = ddp._find_common_rank(ddp.process_group.rank(), is_last_joiner)
        ddp._broadcast(ddp._params_and_buffers(), src)
