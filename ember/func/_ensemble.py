"""Modules under vmap: stack_module_state (the parameters and buffers of same-class models
stacked) and replace_all_batch_norm_modules_ (batch norms without running statistics)."""

__all__ = ["replace_all_batch_norm_modules_", "stack_module_state"]


def _stacked_leaf(tensors, name):
    from ..ops.shape import stack
    requiring = [t.requires_grad for t in tensors]
    if any(requiring) and not all(requiring):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    return result.detach().requires_grad_() if all(requiring) else result


def stack_module_state(models):
    """(params, buffers): dicts of name -> the models' tensors stacked along a new dim 0, new
    leaves (requiring grad where the originals do), for functional_call under vmap."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    stacked = []
    for named in ("named_parameters", "named_buffers"):
        per_model = [dict(getattr(m, named)()) for m in models]
        stacked.append({k: _stacked_leaf([d[k] for d in per_model], k) for k in per_model[0]})
    return tuple(stacked)


def replace_all_batch_norm_modules_(root):
    """Every batch norm in `root` (root included) stops tracking running statistics: its
    running_mean, running_var and num_batches_tracked become None. In place; returns root."""
    from ..nn.modules.normalization import _BatchNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.running_mean = m.running_var = m.num_batches_tracked = None
            m.track_running_stats = False
    return root
