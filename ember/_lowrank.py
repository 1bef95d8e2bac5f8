"""torch._lowrank: where torch defines svd_lowrank and pca_lowrank (fx's generated code names
them so)."""
import ember as _ember

__all__ = ["svd_lowrank", "pca_lowrank"]


def __getattr__(name):
    if name in __all__:
        return getattr(_ember, name)
    raise AttributeError(f"module 'ember._lowrank' has no attribute '{name}'")
