"""ember.nn: torch.nn's modules, parameters, functional ops, init and utils."""
from .parameter import (Buffer, Parameter, UninitializedBuffer,  # noqa: F401
                        UninitializedParameter)
from .modules import *  # noqa: F401,F403
from .modules import LazyModuleMixin, Module  # noqa: F401
from ._linear_ce import LinearCrossEntropyOptions  # noqa: F401
from . import attention, functional, init, parallel, utils  # noqa: F401,E402


def __getattr__(name):
    """torch.nn.quantized (the old name of torch.ao.nn.quantized) imports on first use."""
    if name == "quantized":
        import importlib
        return importlib.import_module(__name__ + ".quantized")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"quantized"})
