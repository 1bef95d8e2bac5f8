"""ember.optim: torch.optim's optimizers, learning-rate schedulers and SWA utilities."""
from .optimizer import Optimizer
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam
from ._stateless import swap_in_optimizer_params_and_state
from . import lr_scheduler

__all__ = ["Optimizer", "ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax",
           "LBFGS", "Muon", "NAdam", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam",
           "lr_scheduler", "swap_in_optimizer_params_and_state", "swa_utils"]


def __getattr__(name):
    # swa_utils needs ember.nn (AveragedModel is a Module): imported on first use
    if name == "swa_utils":
        import importlib
        return importlib.import_module(".swa_utils", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"swa_utils"})
