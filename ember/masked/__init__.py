"""torch.masked: reductions and normalizations that leave masked-out elements out (_ops.py) and
the prototype MaskedTensor (maskedtensor/, imported on first use: defining it installs
__torch_function__ dispatch for the whole process)."""
from ._ops import (amax, amin, argmax, argmin, cumprod, cumsum, log_softmax, logaddexp,  # noqa
                   logsumexp, mean, median, norm, normalize, prod, softmax, softmin, std, sum,
                   var)

__all__ = ["amax", "amin", "argmax", "argmin", "as_masked_tensor", "cumprod", "cumsum",
           "is_masked_tensor", "log_softmax", "logaddexp", "logsumexp", "masked_tensor",
           "MaskedTensor", "mean", "median", "norm", "normalize", "prod", "softmax", "softmin",
           "std", "sum", "var"]
_MASKED_TENSOR = ("MaskedTensor", "as_masked_tensor", "is_masked_tensor", "masked_tensor",
                  "maskedtensor")


def __getattr__(name):
    if name in _MASKED_TENSOR:
        import importlib
        maskedtensor = importlib.import_module(__name__ + ".maskedtensor")
        return maskedtensor if name == "maskedtensor" else getattr(maskedtensor, name)
    raise AttributeError(f"module 'ember.masked' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_MASKED_TENSOR))
