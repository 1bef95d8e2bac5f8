"""torch.distributed.algorithms.ddp_comm_hooks: the default and debugging hooks, and
DDPCommHookType to register them by name (torch's quantization and PowerSGD hooks are not
implemented)."""
from enum import Enum, member
from functools import partial

from . import debugging_hooks as debugging, default_hooks as default

__all__ = ["DDPCommHookType", "register_ddp_comm_hook"]


def _ddp_comm_hook_wrapper(comm_hook, model, state):
    model.register_comm_hook(state, comm_hook)


class DDPCommHookType(Enum):
    """The hooks by name: DDPCommHookType.ALLREDUCE.value(model=ddp, state=process_group)."""
    ALLREDUCE = member(partial(_ddp_comm_hook_wrapper, comm_hook=default.allreduce_hook))
    FP16_COMPRESS = member(partial(_ddp_comm_hook_wrapper,
                                   comm_hook=default.fp16_compress_hook))
    BF16_COMPRESS = member(partial(_ddp_comm_hook_wrapper,
                                   comm_hook=default.bf16_compress_hook))
    NOOP = member(partial(_ddp_comm_hook_wrapper, comm_hook=debugging.noop_hook))


def register_ddp_comm_hook(comm_hook_type, model, state=None):
    """Register the hook `comm_hook_type` (a DDPCommHookType) on the DDP `model`."""
    comm_hook_type.value(model=model, state=state)
