"""ember.nn: torch.nn's modules, parameters, functional ops, init and utils."""
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa
from .modules.module import Module  # noqa: F401
