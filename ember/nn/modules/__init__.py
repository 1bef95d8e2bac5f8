"""torch.nn.modules: every layer class. `__all__` is the union of the submodules' lists."""
from . import (activation, adaptive, container, conv, data_parallel, distance, dropout, flatten,
               fold, lazy, linear, loss, module, normalization, padding, pixelshuffle, pooling,
               rnn, sparse, transformer, upsampling)
from . import batchnorm, channelshuffle, instancenorm  # noqa: F401  (torch's module names)
from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .data_parallel import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .lazy import LazyModuleMixin  # noqa: F401
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

__all__ = ["Module", "LazyModuleMixin"] + [
    name for sub in (activation, adaptive, container, conv, data_parallel, distance, dropout,
                     flatten, fold, linear, loss, normalization, padding, pixelshuffle, pooling,
                     rnn, sparse, transformer, upsampling)
    for name in sub.__all__]

from ._annotations import annotate as _annotate     # noqa: E402
_annotate(globals())
