"""torch.nn.functional's convolution, pooling, normalisation, resampling and padding ops.

ember/nn/functional.py re-exports everything listed in __all__."""
from ._adaptive_pool_ops import *  # noqa: F401,F403
from ._adaptive_pool_ops import __all__ as _adaptive_all
from ._conv_ops import *  # noqa: F401,F403
from ._conv_ops import __all__ as _conv_all
from ._grid_ops import *  # noqa: F401,F403
from ._grid_ops import __all__ as _grid_all
from ._norm_ops import *  # noqa: F401,F403
from ._norm_ops import __all__ as _norm_all
from ._pool_ops import *  # noqa: F401,F403
from ._pool_ops import __all__ as _pool_all
from ._resample_ops import *  # noqa: F401,F403
from ._resample_ops import __all__ as _resample_all

__all__ = _adaptive_all + _conv_all + _grid_all + _norm_all + _pool_all + _resample_all
