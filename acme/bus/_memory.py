"""An in-memory :class:`~acme.bus.Bus` for tests."""

from __future__ import annotations

from cloudevents.http import CloudEvent

from acme.bus._wire import binary_http
from acme.errors import BusError


class InMemoryBus:
    """Keeps every published event in :attr:`published`, in order.

    Each event is serialised as the real adapters would, so an event they could not send
    fails here too.
    """

    def __init__(self) -> None:
        self.published: list[CloudEvent] = []
        self.closed = False

    def publish(self, event: CloudEvent) -> None:
        if self.closed:
            raise BusError(f"publishing {event['type']} {event['id']}: the bus is closed")
        binary_http(event)
        self.published.append(event)

    def of_type(self, event_type: str) -> list[CloudEvent]:
        """The published events of one type."""
        return [event for event in self.published if event["type"] == event_type]

    def close(self) -> None:
        self.closed = True
