"""ember.utils: data loading, activation checkpointing, tensorboard, ... (torch.utils).

Submodules are imported on first attribute access, so `import ember` stays light."""
import importlib

__all__ = ["benchmark", "checkpoint", "data", "dlpack", "tensorboard", "swap_tensors"]

_POISONED = ("Trying to execute AccumulateGrad node that was poisoned by swap_tensors this can "
             "happen when you try to run backward on a tensor that was swapped. For a module m "
             "with `torch.__future__.set_swap_module_params_on_conversion(True)` you should not "
             "change the device or dtype of the module (e.g. `m.cpu()` or `m.half()`) between "
             "running forward and backward. To resolve this, please only change the device/dtype "
             "before running forward (or after both forward and backward).")


def swap_tensors(t1, t2):
    """Swap the contents of two Tensor objects: t1 takes t2's class, attributes, data and
    autograd state while keeping its identity, and the other way round. A leaf's gradient sink
    from before the swap is poisoned, so a graph recorded before it raises at backward."""
    import copyreg
    import weakref
    for name, t in (("t1", t1), ("t2", t2)):
        sink = t._leaf
        if any(r is not (sink and sink.ref) for r in weakref.getweakrefs(t)):
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    slots = set(copyreg._slotnames(t1.__class__))
    if slots != set(copyreg._slotnames(t2.__class__)):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    for t in (t1, t2):
        if t._leaf is not None:
            t._leaf.register_prehook(_poisoned)
            t._leaf = None

    def swap_attr(name):
        tmp = getattr(t1, name)
        setattr(t1, name, getattr(t2, name))
        setattr(t2, name, tmp)
    swap_attr("__class__")
    swap_attr("__dict__")
    for slot in slots:
        if hasattr(t1, slot) and hasattr(t2, slot):
            swap_attr(slot)
        elif hasattr(t1, slot):
            setattr(t2, slot, getattr(t1, slot))
            delattr(t1, slot)
        elif hasattr(t2, slot):
            setattr(t1, slot, getattr(t2, slot))
            delattr(t2, slot)


def _poisoned(grad_outputs):
    raise RuntimeError(_POISONED)


def __getattr__(name):
    try:
        module = importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = module
    return module


def __dir__():
    import pkgutil
    return sorted(set(globals()) | {m.name for m in pkgutil.iter_modules(__path__)})
