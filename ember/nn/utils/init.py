"""skip_init: build a module without initialising its parameters (torch.nn.utils.init)."""
import inspect

from ...random import fork_rng

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """`module_cls(*args, **kwargs)` with uninitialised (empty) parameters and buffers.

    torch builds the module on the meta device; ember builds it where it will live, leaves
    the global random state as it found it, and empties the tensors (`to_empty`)."""
    from ..modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    with fork_rng(devices=[]):
        module = module_cls(*args, **kwargs, device=final_device)
    return module.to_empty(device=final_device)
