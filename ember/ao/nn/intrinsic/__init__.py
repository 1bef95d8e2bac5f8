"""torch.ao.nn.intrinsic: the fused float modules fuse_modules makes (a Sequential of the
modules it fuses, which the convert pass turns into one quantized module)."""
from ember.nn import BatchNorm2d, Conv1d, Conv2d, Linear, ReLU, Sequential


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
LinearReLU = _fused("LinearReLU", Linear, ReLU)
ConvBn2d = _fused("ConvBn2d", Conv2d, BatchNorm2d)
ConvBnReLU2d = _fused("ConvBnReLU2d", Conv2d, BatchNorm2d, ReLU)
BNReLU2d = _fused("BNReLU2d", BatchNorm2d, ReLU)

from . import qat  # noqa: E402,F401  (its modules derive from the fused ones above)
