"""ember.utils.tensorboard: torch.utils.tensorboard's `SummaryWriter`, writing real TensorBoard
event files through the optional tensorboardX package (`pip install 'ember[tensorboard]'`).

tensorboardX is imported when the first writer is made, not when this module is imported."""
from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
