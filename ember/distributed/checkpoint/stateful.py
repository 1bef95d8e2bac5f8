"""torch.distributed.checkpoint.stateful: the Stateful protocol (state_dict and
load_state_dict), which save and load call on the top-level values that follow it."""
from typing import Any, Protocol, runtime_checkable, TypeVar

__all__ = ["Stateful", "StatefulT"]


@runtime_checkable
class Stateful(Protocol):
    """Stateful protocol for objects that can be checkpointed and restored."""

    def state_dict(self) -> dict[str, Any]:
        """The object's state, checkpointed and later restored by `load_state_dict()`."""
        ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the object's state from the provided state_dict."""
        ...


StatefulT = TypeVar("StatefulT", bound=Stateful)
