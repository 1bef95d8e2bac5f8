"""torch.distributed.algorithms.ddp_comm_hooks.post_localSGD_hook: all_reduce over the world
for start_localSGD_iter iterations, then only within a subgroup (or not at all), leaving the
averaging across subgroups to a model averager."""
import logging

from .... import futures
from ... import distributed_c10d
from . import default_hooks as default

__all__ = ["PostLocalSGDState", "post_localSGD_hook"]

logger = logging.getLogger(__name__)


class PostLocalSGDState:
    """The hook's state: the global group, the local subgroup (None: new_subgroups()), the
    iteration local SGD starts at, and whether gradients are still reduced in the subgroup."""
    __slots__ = ["process_group", "subgroup", "start_localSGD_iter",
                 "post_local_gradient_allreduce", "iter"]

    def __init__(self, process_group, subgroup, start_localSGD_iter,
                 post_local_gradient_allreduce=True):
        logger.info("Local SGD will be started after %s iterations", start_localSGD_iter)
        self.process_group = process_group
        self.subgroup = subgroup
        self.start_localSGD_iter = start_localSGD_iter
        self.post_local_gradient_allreduce = post_local_gradient_allreduce
        self.iter = 0

    def maybe_increase_iter(self, bucket):
        if bucket.is_last():
            self.iter += 1
        if self.iter == self.start_localSGD_iter:
            logger.info("Start to apply local SGD after %s iterations.", self.iter)


def post_localSGD_hook(state, bucket):
    """Average the bucket over the world before start_localSGD_iter, then over the subgroup
    (or keep it local if post_local_gradient_allreduce is False)."""
    global_group_to_use = state.process_group if state.process_group is not None \
        else distributed_c10d.group.WORLD
    input_tensor = bucket.buffer()
    if state.iter < state.start_localSGD_iter:
        state.maybe_increase_iter(bucket)
        return default._allreduce_fut(global_group_to_use, input_tensor)
    if not state.post_local_gradient_allreduce:
        fut = futures.Future()
        fut.set_result(input_tensor)
        return fut
    if state.subgroup is None:
        state.subgroup, _ = distributed_c10d.new_subgroups()
    return default._allreduce_fut(state.subgroup, input_tensor)
