"""On every tick dicom-ingest publishes what was committed but never announced."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from jetstream import published
from mains import load_main

from acme.bus import InMemoryBus
from acme.errors import BusError
from acme.events import EventType, Tick, new_event
from acme.function import Context
from acme.outbox import pending_count


class DownBus(InMemoryBus):
    def publish(self, event: Any) -> None:
        raise BusError("connection refused")


def test_a_tick_announces_what_a_writer_could_not(ctx: Context) -> None:
    writer = dataclasses.replace(ctx, bus=DownBus())  # the broker was down at the commit
    stats = Tick(at=datetime.now(UTC), sequence=1)
    with writer.transaction() as tx:
        tx.emit(EventType.TICK, stats, event_id="committed-while-down")
    assert pending_count(ctx.db) == 1
    with ctx.db.connection() as conn:  # old enough for the relay
        conn.execute("UPDATE outbox SET created_at = created_at - interval '1 minute'")
    tick = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=2), source="/acme/tick")
    load_main("dicom-ingest").handler.handle(ctx, tick)
    assert pending_count(ctx.db) == 0
    assert [e["id"] for e in published(ctx.settings, EventType.TICK)] == ["committed-while-down"]
