"""Quarantine entries: one type for the row, the JSON beside the object, the event and the ledger;
and a second upload of quarantined bytes is accounted for."""

from __future__ import annotations

import json
from pathlib import Path

from dicom_ingest.ingest import ingest_object
from jetstream import published

from acme import ledger
from acme.events import EventType, InstanceRejected
from acme.function import Context
from acme.samples import SampleManifest


def _bad(samples: tuple[Path, SampleManifest], reason: str) -> bytes:
    folder, manifest = samples
    entry = next(e for e in manifest.bad() if e.expected_reason == reason and e.materialised)
    return (folder / entry.path).read_bytes()


def test_a_second_upload_of_quarantined_bytes_has_its_own_ledger_entry(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    inbox = ctx.settings.buckets.inbox
    data = _bad(samples, "truncated")
    for key in ("first/cut.dcm", "second/cut.dcm"):
        ctx.store.put(inbox, key, data)
        ingest_object(ctx, inbox, key, None)

    entries = ledger.latest_by_key(ctx.db, inbox, ["first/cut.dcm", "second/cut.dcm"])
    first, second = entries["first/cut.dcm"], entries["second/cut.dcm"]
    assert first.outcome == "quarantined" and second.outcome == "duplicate"
    assert first.quarantine is not None and second.quarantine == first.quarantine
    assert second.describe().startswith("duplicate of quarantine entry ")
    assert len(published(ctx.settings, EventType.INSTANCE_REJECTED)) == 1
    assert list(ctx.store.list(inbox)) == []


def test_the_row_the_json_the_event_and_the_ledger_hold_one_entry(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "x.dcm", _bad(samples, "not-dicom"))
    ingest_object(ctx, inbox, "x.dcm", None)

    [event] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    from_event = InstanceRejected.model_validate(event.data)
    with ctx.db.connection() as conn:
        from_row = ledger.quarantine_entry(conn, from_event.quarantine_key)
    beside = ctx.store.get(from_event.quarantine_bucket, f"{from_event.quarantine_key}.json")
    from_json = InstanceRejected.model_validate(json.loads(beside))
    assert (
        from_row
        == from_event
        == from_json
        == ledger.latest_by_key(ctx.db, inbox, ["x.dcm"])["x.dcm"].quarantine
    )
    assert from_event.reason_code == "not-dicom" and from_event.key == "x.dcm"


def test_a_settled_object_found_again_is_announced_again_and_removed(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    """A crash between the commit and the announcement: the redelivery finishes the job."""
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "y.dcm", _bad(samples, "not-dicom"))
    ingest_object(ctx, inbox, "y.dcm", None)
    info = ctx.store.head(ctx.settings.buckets.quarantine, _only_entry(ctx).quarantine_key)
    assert info is not None
    again = ctx.store.copy(info.bucket, info.key, inbox, "y.dcm")  # as if never deleted
    with ctx.db.connection() as conn:  # make it the very version the ledger settled
        conn.execute(
            "UPDATE inbox_ledger SET etag = %s, received_at = %s",
            (again.etag, again.last_modified),
        )

    assert ingest_object(ctx, inbox, "y.dcm", None) == "quarantined"

    assert list(ctx.store.list(inbox)) == []
    assert len(published(ctx.settings, EventType.INSTANCE_REJECTED)) == 1, "same event id"
    with ctx.db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM quarantine_entries").fetchone() == (1,)


def _only_entry(ctx: Context) -> InstanceRejected:
    [event] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    return InstanceRejected.model_validate(event.data)
