"""torch.distributed.algorithms.ddp_comm_hooks: the default, debugging and PowerSGD hooks, and
DDPCommHookType to register them by name (torch's quantization hooks and batched PowerSGD are
not implemented)."""
from enum import Enum, member
from functools import partial

from . import debugging_hooks as debugging, default_hooks as default, powerSGD_hook as powerSGD

__all__ = ["DDPCommHookType", "register_ddp_comm_hook"]


def _ddp_comm_hook_wrapper(comm_hook, model, state):
    model.register_comm_hook(state, comm_hook)


def _powerSGD_comm_hook_wrapper(comm_hook, model, state, matrix_approximation_rank,
                                start_powerSGD_iter=1_000):
    """Register PowerSGD with a PowerSGDState over the process group `state`."""
    model.register_comm_hook(powerSGD.PowerSGDState(
        process_group=state, matrix_approximation_rank=matrix_approximation_rank,
        start_powerSGD_iter=start_powerSGD_iter), comm_hook)


class DDPCommHookType(Enum):
    """The hooks by name: DDPCommHookType.ALLREDUCE.value(model=ddp, state=process_group)."""
    ALLREDUCE = member(partial(_ddp_comm_hook_wrapper, comm_hook=default.allreduce_hook))
    FP16_COMPRESS = member(partial(_ddp_comm_hook_wrapper,
                                   comm_hook=default.fp16_compress_hook))
    BF16_COMPRESS = member(partial(_ddp_comm_hook_wrapper,
                                   comm_hook=default.bf16_compress_hook))
    POWER_SGD = member(partial(_powerSGD_comm_hook_wrapper, comm_hook=powerSGD.powerSGD_hook,
                               matrix_approximation_rank=1))
    POWER_SGD_RANK2 = member(partial(_powerSGD_comm_hook_wrapper,
                                     comm_hook=powerSGD.powerSGD_hook,
                                     matrix_approximation_rank=2))
    NOOP = member(partial(_ddp_comm_hook_wrapper, comm_hook=debugging.noop_hook))


def register_ddp_comm_hook(comm_hook_type, model, state=None):
    """Register the hook `comm_hook_type` (a DDPCommHookType) on the DDP `model`."""
    comm_hook_type.value(model=model, state=state)
