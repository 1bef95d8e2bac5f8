"""ember.distributed: torch.distributed for CPU multi-process jobs (torchrun, mp.spawn).

One backend, registered as "gloo": pure Python over TCP sockets. init_process_group
rendezvouses through a TCPStore (env://, tcp://) or FileStore (file://), then every rank
connects to every other; collectives are written once over point-to-point frames and reduce
in rank order, so all ranks hold bit-identical results."""
from ._collectives import *  # noqa: F403
from ._collectives import __all__ as _collectives_all
from ._group import ProcessGroup, ReduceOp, Work
from ._reducer import BuiltinCommHookType, GradBucket
from ._store import DistError, DistNetworkError, DistStoreError, FileStore, Store, TCPStore
from .device_mesh import DeviceMesh, init_device_mesh
from .distributed_c10d import *  # noqa: F403
from .distributed_c10d import __all__ as _c10d_all
from .rendezvous import rendezvous

__all__ = ["BuiltinCommHookType", "DeviceMesh", "DistError", "DistNetworkError",
           "DistStoreError", "FileStore", "GradBucket", "ProcessGroup", "ReduceOp", "Store",
           "TCPStore", "Work", "init_device_mesh", "rendezvous"] + _c10d_all + _collectives_all
