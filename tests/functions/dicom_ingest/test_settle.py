"""An inbox object's announcement commits with its ledger entry (the outbox), never apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cloudevents.http import CloudEvent
from dicom_ingest.ingest import ingest_object
from jetstream import published

from acme import feed
from acme.bus import InMemoryBus
from acme.errors import BusError
from acme.events import EventType
from acme.function import Context
from acme.outbox import pending_count, relay
from acme.samples import SampleManifest


class DownBus(InMemoryBus):
    def publish(self, event: CloudEvent) -> None:
        raise BusError("connection refused")


def test_an_object_settled_while_the_broker_is_down_is_announced_later(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    good = next(e for e in manifest.good() if e.modality == "CT")
    bad = next(e for e in manifest.bad() if e.materialised and e.expected_reason == "not-dicom")
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "in/good.dcm", (folder / good.path).read_bytes())
    ctx.store.put(inbox, "in/bad.dcm", (folder / bad.path).read_bytes())
    down = dataclasses.replace(ctx, bus=DownBus())

    assert ingest_object(down, inbox, "in/good.dcm", None) == "stored"
    assert ingest_object(down, inbox, "in/bad.dcm", None) == "quarantined"

    assert list(ctx.store.list(inbox)) == []  # settled, although nothing could be published
    assert pending_count(ctx.db) == 2
    entries = feed.changes(ctx.db, since=0, limit=10)
    assert [(e.sequence, e.action) for e in entries] == [
        (1, "instance.stored"),
        (2, "instance.rejected"),
    ]
    assert entries[0].sop_uid == good.sop_uid

    with ctx.db.connection() as conn:
        conn.execute("UPDATE outbox SET created_at = created_at - interval '1 minute'")
    assert relay(ctx.db, ctx.bus) == 2
    assert [e.data["sop_uid"] for e in published(ctx.settings, EventType.INSTANCE_STORED)] == [
        good.sop_uid
    ]
    assert len(published(ctx.settings, EventType.INSTANCE_REJECTED)) == 1


def test_an_object_met_settled_again_is_announced_again_without_a_new_entry(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    good = next(e for e in manifest.good() if e.modality == "CT")
    inbox = ctx.settings.buckets.inbox
    data = (folder / good.path).read_bytes()
    ctx.store.put(inbox, "again.dcm", data)
    assert ingest_object(ctx, inbox, "again.dcm", None) == "stored"
    with ctx.db.connection() as conn:  # the removal after the commit was lost: put it back
        conn.execute("UPDATE inbox_ledger SET etag = 'x'")
    ctx.store.put(inbox, "again.dcm", data)
    info = ctx.store.head(inbox, "again.dcm")
    assert info is not None
    with ctx.db.connection() as conn:
        conn.execute(
            "UPDATE inbox_ledger SET etag = %s, received_at = %s", (info.etag, info.last_modified)
        )

    assert ingest_object(ctx, inbox, "again.dcm", None) == "stored"
    stored = published(ctx.settings, EventType.INSTANCE_STORED)
    assert len({e["id"] for e in stored}) == 1  # the same event id: dropped as a repeat
    assert [e.action for e in feed.changes(ctx.db, since=0, limit=10)] == ["instance.stored"]
