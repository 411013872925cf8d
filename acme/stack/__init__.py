"""The embedded stack of real servers that ``acme up`` runs (docs/architecture.md §8)."""

from acme.stack.stack import EmbeddedStack
from acme.stack.state import ServerState, StackState, read_state
from acme.stack.status import ServerHealth, connect_settings, stack_health

__all__ = [
    "EmbeddedStack",
    "ServerHealth",
    "ServerState",
    "StackState",
    "connect_settings",
    "read_state",
    "stack_health",
]
