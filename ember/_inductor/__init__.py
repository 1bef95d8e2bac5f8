"""torch._inductor: only its config, which programs tune before torch.compile (kept, unused)."""
from . import config  # noqa: F401
