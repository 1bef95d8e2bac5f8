"""torch.ao.nn.intrinsic: the fused float modules fuse_modules makes (a Sequential of the
modules it fuses, which the convert pass turns into one quantized module)."""
from ember.nn import (BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, Linear, ReLU,
                      Sequential)


class _FusedModule(Sequential):
    pass


def _fused(name, *types):
    """A _FusedModule class that takes modules of exactly `types`, in order."""
    def __init__(self, *mods):
        if not all(type(m) is t for m, t in zip(mods, types)):
            got = [type(m).__name__ for m in mods]
            listed = " and ".join(got) if len(got) == 2 else ", ".join(got[:-1]) + ", and " + \
                got[-1]
            raise AssertionError(f"Incorrect types for input modules: {listed}")
        _FusedModule.__init__(self, *mods)
    return type(name, (_FusedModule,), {"__init__": __init__, "__module__": __name__})


ConvReLU1d = _fused("ConvReLU1d", Conv1d, ReLU)
ConvReLU2d = _fused("ConvReLU2d", Conv2d, ReLU)
ConvReLU3d = _fused("ConvReLU3d", Conv3d, ReLU)
LinearReLU = _fused("LinearReLU", Linear, ReLU)
LinearBn1d = _fused("LinearBn1d", Linear, BatchNorm1d)
ConvBn1d = _fused("ConvBn1d", Conv1d, BatchNorm1d)
ConvBn2d = _fused("ConvBn2d", Conv2d, BatchNorm2d)
ConvBn3d = _fused("ConvBn3d", Conv3d, BatchNorm3d)
ConvBnReLU1d = _fused("ConvBnReLU1d", Conv1d, BatchNorm1d, ReLU)
ConvBnReLU2d = _fused("ConvBnReLU2d", Conv2d, BatchNorm2d, ReLU)
ConvBnReLU3d = _fused("ConvBnReLU3d", Conv3d, BatchNorm3d, ReLU)
BNReLU2d = _fused("BNReLU2d", BatchNorm2d, ReLU)
BNReLU3d = _fused("BNReLU3d", BatchNorm3d, ReLU)

from . import qat  # noqa: E402,F401  (its modules derive from the fused ones above)
