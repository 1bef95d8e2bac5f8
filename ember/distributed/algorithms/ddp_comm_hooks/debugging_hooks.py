"""torch.distributed.algorithms.ddp_comm_hooks.debugging_hooks: noop_hook."""
from .... import futures

__all__ = ["noop_hook"]


def noop_hook(_, bucket):
    """Return the bucket unreduced (no communication): to measure what all_reduce costs."""
    fut = futures.Future()
    fut.set_result(bucket.buffer())
    return fut
