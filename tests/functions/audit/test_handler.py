"""audit-events: every event type on the bus reaches the trail through the handler, once."""

from __future__ import annotations

from types import ModuleType

import pytest
from cloudevents.http import CloudEvent
from jetstream import published
from werkzeug.exceptions import BadRequest

from acme.audit import AuditQuery, query_rows, verify_trail
from acme.events import EVENT_MODELS, EventType
from acme.function import Context

STUDY = "1.2.826.0.1.3680043.8.498.1"


def test_events_of_every_type_published_on_the_bus_reach_the_trail(
    ctx: Context, main: ModuleType, every_type: list[CloudEvent]
) -> None:
    assert set(EVENT_MODELS) <= {str(event["type"]) for event in every_type}
    for event in every_type:
        ctx.bus.publish(event)
    delivered = published(ctx.settings)  # what the router hands the audit-events trigger
    assert [e["id"] for e in delivered] == [e["id"] for e in every_type]
    for event in delivered:
        main.handler.handle(ctx, event)
    for event in delivered:
        main.handler.handle(ctx, event)  # at-least-once delivery: recorded once

    rows = query_rows(ctx.db, AuditQuery(limit=100)).rows
    assert [row.event_id for row in rows] == [str(e["id"]) for e in every_type]
    by_type = {row.event_type: row for row in rows}
    assert set(by_type) == {str(e["type"]) for e in every_type}
    assert by_type[EventType.INSTANCE_STORED].study_uid == STUDY
    assert by_type[EventType.ACCESS_RECORDED].actor == "dr.house"
    assert by_type[EventType.REPORT_SIGNED].actor == "dr.house"
    assert by_type[EventType.TICK].actor == by_type[EventType.TICK].payload["source"]
    assert by_type[EventType.TICK].study_uid is None
    stored = by_type[EventType.INSTANCE_STORED]
    assert stored.payload["subject"].startswith(f"studies/{STUDY}/series/")
    assert stored.data["sop_uid"] == "1.2.826.0.1.3680043.8.498.1.2.3"
    assert stored.occurred_at is not None and stored.recorded_at >= stored.occurred_at
    assert verify_trail(ctx.db).intact


def test_a_malformed_event_is_refused_and_not_recorded(ctx: Context, main: ModuleType) -> None:
    bad = CloudEvent({"type": EventType.TICK, "source": "/test", "id": "t-1"}, {"at": "yesterday"})
    with pytest.raises(BadRequest, match="field 'at'"):
        main.handler.handle(ctx, bad)
    assert query_rows(ctx.db, AuditQuery()).rows == []
