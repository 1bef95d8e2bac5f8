"""ember.nn: torch.nn's modules, parameters, functional ops, init and utils."""
from .parameter import (Buffer, Parameter, UninitializedBuffer,  # noqa: F401
                        UninitializedParameter)
from .modules import *  # noqa: F401,F403
from .modules import LazyModuleMixin, Module  # noqa: F401
from ._linear_ce import LinearCrossEntropyOptions  # noqa: F401
from . import attention, functional, init, parallel, utils  # noqa: F401,E402
