"""torch.nn.modules.channelshuffle: ChannelShuffle (defined in .pixelshuffle)."""
from .pixelshuffle import ChannelShuffle  # noqa: F401

__all__ = ["ChannelShuffle"]
