"""torch.storage: the storage classes (implemented in ember._storage)."""
from ._storage import TypedStorage, UntypedStorage, _LegacyStorage, _LegacyStorageMeta  # noqa: F401
