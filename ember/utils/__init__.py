"""ember.utils: data loading, activation checkpointing, tensorboard, ... (torch.utils).

Submodules are imported on first attribute access, so `import ember` stays light."""
import importlib

__all__ = ["benchmark", "checkpoint", "data", "dlpack", "tensorboard"]


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
