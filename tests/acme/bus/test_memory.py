"""InMemoryBus, the test double of Bus."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.http import CloudEvent

from acme.bus import Bus, InMemoryBus
from acme.errors import BusError
from acme.events import EventType, Tick, new_event


def _tick(sequence: int) -> CloudEvent:
    return new_event(
        EventType.TICK, Tick(at=datetime(2026, 1, 1, tzinfo=UTC), sequence=sequence), source="/t"
    )


def test_keeps_published_events_in_order() -> None:
    bus = InMemoryBus()
    first, second = _tick(1), _tick(2)
    publisher: Bus = bus

    publisher.publish(first)
    publisher.publish(second)

    assert bus.published == [first, second]
    assert bus.of_type(EventType.TICK) == [first, second]
    assert bus.of_type(EventType.REPORT_SIGNED) == []


def test_closed_bus_refuses() -> None:
    bus = InMemoryBus()
    bus.close()

    with pytest.raises(BusError, match="the bus is closed"):
        bus.publish(_tick(1))


def test_unserialisable_data_is_refused_like_the_real_adapters() -> None:
    event = CloudEvent({"type": "org.acme.imaging.tick", "source": "/t"}, {"at": object()})

    with pytest.raises(BusError, match="not JSON-serialisable"):
        InMemoryBus().publish(event)
