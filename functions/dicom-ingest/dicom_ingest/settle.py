"""Announcing what became of an inbox object, then removing it from the inbox.

Called once the object's ledger entry is committed, and again for an object found settled
already (a crash between commit and announcement, a redelivery, a replay): each event has a
deterministic id, so announcing twice publishes nothing new.
"""

from __future__ import annotations

from psycopg.rows import dict_row

from acme.events import EventType, InstanceStored, fact_id
from acme.function import Context
from acme.ledger import LedgerEntry

_STORED = """
SELECT i.sop_uid, i.series_uid, s.study_uid, i.sop_class_uid, s.modality, s.body_part,
       i.transfer_syntax, i.archive_key, i.sha256, i.size
FROM instances i JOIN series s USING (series_uid) WHERE i.sop_uid = %s
"""


def settle(ctx: Context, entry: LedgerEntry, traceparent: str | None) -> LedgerEntry:
    """Announce ``entry`` (``instance.stored`` or ``instance.rejected``); delete the object.

    Only the settled version is deleted: a newer upload under the same key stays for its own
    notification.
    """
    if entry.outcome == "archived":
        ctx.emit(
            EventType.INSTANCE_STORED,
            (stored := _stored(ctx, entry)),
            traceparent=traceparent,
            event_id=fact_id("instance.stored", stored.sop_uid, stored.sha256),
        )
    elif entry.outcome == "quarantined":
        rejected = entry.quarantine
        assert rejected is not None, "a quarantined entry names its quarantine entry"
        ctx.store.put(
            rejected.quarantine_bucket,
            f"{rejected.quarantine_key}.json",
            rejected.model_dump_json(indent=2).encode(),
            content_type="application/json",
        )
        ctx.emit(
            EventType.INSTANCE_REJECTED,
            rejected,
            traceparent=traceparent,
            event_id=fact_id("instance.rejected", rejected.quarantine_key),
        )
    current = ctx.store.head(entry.bucket, entry.key)
    if current is not None and current.etag == entry.etag:  # not a newer upload under the key
        ctx.store.delete(entry.bucket, entry.key)
    ctx.log.info("inbox object settled", outcome=entry.outcome, detail=entry.describe())
    return entry


def _stored(ctx: Context, entry: LedgerEntry) -> InstanceStored:
    with ctx.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_STORED, (entry.sop_uid,)).fetchone()
    assert row is not None, "an archived entry's instance is indexed in the same transaction"
    return InstanceStored(
        **row,
        archive_bucket=ctx.settings.buckets.archive,
        source_bucket=entry.bucket,
        source_key=entry.key,
        received_at=entry.received_at,
    )
