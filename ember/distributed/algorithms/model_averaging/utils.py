"""torch.distributed.algorithms.model_averaging.utils: average parameters over a group."""
import itertools

from .... import cat
from ....nn.parameter import Parameter
from ... import _collectives, distributed_c10d

__all__ = ["average_parameters", "get_params_to_average",
           "average_parameters_or_parameter_groups"]


def average_parameters(params, process_group):
    """Replace `params` by their average over the group: one all_reduce of them flattened
    (the parameters become views of that flat tensor)."""
    group_to_use = process_group if process_group is not None else \
        distributed_c10d.group.WORLD
    if group_to_use == distributed_c10d.GroupMember.NON_GROUP_MEMBER:
        return
    params_it1, params_it2 = itertools.tee(params)
    flat_params = cat([p.data.reshape(-1) for p in params_it1])
    flat_params /= distributed_c10d.get_world_size(group_to_use)
    _collectives.all_reduce(flat_params, group=group_to_use)
    offset = 0
    for p in params_it2:
        p.data = flat_params[offset:offset + p.numel()].view_as(p).type_as(p)
        offset += p.numel()


def get_params_to_average(params):
    """The parameters (of a list of them or of param groups) that have a gradient."""
    filtered_params = []
    for param in params:
        if isinstance(param, Parameter):
            if param.grad is not None:
                filtered_params.append(param)
        elif isinstance(param, dict):
            filtered_params.extend(p for p in param["params"] if p.grad is not None)
        else:
            raise NotImplementedError(f"Parameter input of type {type(param)} is not supported")
    return filtered_params


def average_parameters_or_parameter_groups(params, process_group):
    """average_parameters of those of `params` that have a gradient."""
    average_parameters(iter(get_params_to_average(params)), process_group)
