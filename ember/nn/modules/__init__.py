"""torch.nn.modules: every layer class."""
from .module import Module  # noqa: F401
