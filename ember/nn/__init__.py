"""ember.nn: torch.nn's modules, parameters, functional ops, init and utils."""
from .parameter import (Buffer, Parameter, UninitializedBuffer,  # noqa: F401
                        UninitializedParameter)
from .modules import *  # noqa: F401,F403
from .modules import LazyModuleMixin, Module  # noqa: F401
from ._linear_ce import LinearCrossEntropyOptions  # noqa: F401
from . import attention, functional, init, parallel, utils  # noqa: F401,E402


def factory_kwargs(kwargs):
    """torch.nn.factory_kwargs: the device/dtype/memory_format of a layer's **kwargs (and of
    its `factory_kwargs` dict) for factory functions; other keys raise TypeError."""
    if kwargs is None:
        return {}
    simple_keys = {"device", "dtype", "memory_format"}
    expected_keys = simple_keys | {"factory_kwargs"}
    if not kwargs.keys() <= expected_keys:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - expected_keys}")
    r = dict(kwargs.get("factory_kwargs", {}))
    for k in simple_keys:
        if k in kwargs:
            if k in r:
                raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
            r[k] = kwargs[k]
    return r


_LAZY = ("quantized", "common_types")


def __getattr__(name):
    """torch.nn.quantized (the old name of torch.ao.nn.quantized) and common_types import on
    first use."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
