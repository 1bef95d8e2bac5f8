"""ember.nn.parallel: torch.nn.parallel's DataParallel and DistributedDataParallel
(ember.distributed is imported only when a DistributedDataParallel is built)."""
from ..modules.data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
