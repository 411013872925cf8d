"""The one interface functions publish follow-up events through."""

from __future__ import annotations

from typing import Protocol

from cloudevents.http import CloudEvent


class Bus(Protocol):
    """Publishes CloudEvents; returns only once the broker (or sink) has accepted the event.

    The API is synchronous: functions are plain ``def`` handlers. Delivery is at least once,
    so a caller may publish the same event again after an error; brokers that can
    (JetStream) drop the repeat by the event ``id``. Failures raise
    :class:`~acme.errors.BusError`.
    """

    def publish(self, event: CloudEvent) -> None:
        """Publish ``event`` and wait until it is accepted."""
        ...

    def close(self) -> None:
        """Release connections; the bus cannot publish afterwards."""
        ...
