"""Commit, then announce: events staged in a transaction are published only after its commit,
and a committed event is published even when the writer could not (the relay)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cloudevents.http import CloudEvent

from acme.bus import InMemoryBus
from acme.errors import BusError
from acme.events import EventType, Tick
from acme.function import Context
from acme.outbox import pending_count, relay
from acme.settings import Settings


class DownBus(InMemoryBus):
    """A bus whose broker is unreachable."""

    def publish(self, event: CloudEvent) -> None:
        raise BusError(f"publishing {event['id']}: connection refused")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    opened = Context.open("outbox-test", settings)
    opened.bus.close()
    yield dataclasses.replace(opened, bus=InMemoryBus())
    opened.db.close()
    opened.redis.close()


def _tick(n: int) -> Tick:
    return Tick(at=datetime(2026, 1, 1, tzinfo=UTC), sequence=n)


def _rows(ctx: Context) -> list[tuple[str, bool]]:
    with ctx.db.connection() as conn:
        rows = conn.execute(
            "SELECT event_id, published_at IS NOT NULL FROM outbox ORDER BY id"
        ).fetchall()
    return [(str(event_id), bool(done)) for event_id, done in rows]


def test_events_are_published_after_the_commit_and_marked(ctx: Context) -> None:
    bus = ctx.bus
    assert isinstance(bus, InMemoryBus)
    with ctx.transaction() as tx:
        tx.conn.execute("CREATE TABLE facts (n int)")
        tx.conn.execute("INSERT INTO facts VALUES (1)")
        event = tx.emit(EventType.TICK, _tick(1), event_id="fact-1")
        assert bus.published == []  # not before the commit
    assert [e["id"] for e in bus.published] == [event["id"]] == ["fact-1"]
    assert _rows(ctx) == [("fact-1", True)]


def test_a_rolled_back_change_announces_nothing(ctx: Context) -> None:
    bus = ctx.bus
    assert isinstance(bus, InMemoryBus)
    with pytest.raises(RuntimeError, match="changed my mind"), ctx.transaction() as tx:
        tx.emit(EventType.TICK, _tick(2), event_id="never")
        raise RuntimeError("changed my mind")
    assert bus.published == [] and _rows(ctx) == []


def test_a_crash_between_commit_and_publish_still_publishes(ctx: Context) -> None:
    down = dataclasses.replace(ctx, bus=DownBus())
    with down.transaction() as tx:  # committed; the broker refuses: the writer gives up
        tx.emit(EventType.TICK, _tick(3), event_id="committed-1")
        tx.emit(EventType.TICK, _tick(4), event_id="committed-2")
    assert _rows(ctx) == [("committed-1", False), ("committed-2", False)]
    assert pending_count(ctx.db) == 2

    bus = InMemoryBus()
    assert relay(ctx.db, bus, older_than=3600) == 0  # too young: its writer may still be on it
    assert relay(ctx.db, bus, older_than=0) == 2
    assert [e["id"] for e in bus.published] == ["committed-1", "committed-2"]
    assert relay(ctx.db, bus, older_than=0) == 0  # once
    assert _rows(ctx) == [("committed-1", True), ("committed-2", True)]


def test_the_relay_stops_at_a_refusal_and_keeps_the_rest_pending(ctx: Context) -> None:
    down = dataclasses.replace(ctx, bus=DownBus())
    with down.transaction() as tx:
        tx.emit(EventType.TICK, _tick(5), event_id="a")
    assert relay(ctx.db, DownBus(), older_than=0) == 0
    with ctx.db.connection() as conn:
        assert conn.execute("SELECT attempts FROM outbox").fetchall() == [(1,)]
    assert pending_count(ctx.db) == 1


def test_staging_the_same_event_twice_keeps_one(ctx: Context) -> None:
    with ctx.transaction() as tx:
        tx.emit(EventType.TICK, _tick(6), event_id="same")
        tx.emit(EventType.TICK, _tick(6), event_id="same")
    assert _rows(ctx) == [("same", True)]
