"""torch.utils.hooks: the handle every register_*hook returns, and the hook markers."""
import warnings

from .._hooks import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks", "BackwardHook"]


def unserializable_hook(f):
    """Mark a hook as not to be serialized (silences warn_if_has_hooks)."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor):
    """Warn for each gradient hook of `tensor` not marked with unserializable_hook."""
    edge = tensor.grad_fn if tensor.grad_fn is not None else tensor._leaf
    from ..autograd.node import RetainGrad
    for hook in (getattr(edge, "hooks", None) or ()):
        if not isinstance(hook, RetainGrad) and not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this "
                          "is expected, you can decorate the function with "
                          "@torch.utils.hooks.unserializable_hook to suppress this warning")


def __getattr__(name):
    if name == "BackwardHook":        # lives with Module's hooks (imports the op machinery)
        from ..nn.modules._hooks import BackwardHook
        return BackwardHook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"BackwardHook"})
