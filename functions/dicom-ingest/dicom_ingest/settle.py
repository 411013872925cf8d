"""Announcing what became of an inbox object, then removing it from the inbox.

The announcement (``instance.stored`` or ``instance.rejected``) is staged in the outbox by
:func:`stage_outcome`, in the transaction that writes the object's ledger entry: the entry
and its announcement commit together, and the event (and its change-feed entry) is published
after the commit (docs/architecture.md §3.4). :func:`settle` then does what follows the
commit: the quarantine entry's JSON beside the object, and the removal of the inbox object.

An object found settled already (a crash between commit and removal, a redelivery, a
replay) is announced again (:func:`announce_again`): each event has a deterministic id, so
staging it again adds no outbox row and no feed entry, and publishing it again is dropped as
a repeat.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow, dict_row

from acme.events import EventType, InstanceStored, fact_id
from acme.function import Context, Transaction
from acme.ledger import LedgerEntry

_STORED = """
SELECT i.sop_uid, i.series_uid, s.study_uid, i.sop_class_uid, s.modality, s.body_part,
       i.transfer_syntax, i.archive_key, i.sha256, i.size
FROM instances i JOIN series s USING (series_uid) WHERE i.sop_uid = %s
"""


def stage_outcome(
    ctx: Context, tx: Transaction, entry: LedgerEntry, traceparent: str | None
) -> None:
    """Stage the announcement of ``entry`` in ``tx``, the transaction that records it (a
    duplicate announces nothing)."""
    if entry.outcome == "archived":
        stored = _stored(ctx, tx.conn, entry)
        tx.emit(
            EventType.INSTANCE_STORED,
            stored,
            traceparent=traceparent,
            event_id=fact_id("instance.stored", stored.sop_uid, stored.sha256),
        )
    elif entry.outcome == "quarantined":
        rejected = entry.quarantine
        assert rejected is not None, "a quarantined entry names its quarantine entry"
        tx.emit(
            EventType.INSTANCE_REJECTED,
            rejected,
            traceparent=traceparent,
            event_id=fact_id("instance.rejected", rejected.quarantine_key),
        )


def announce_again(ctx: Context, entry: LedgerEntry, traceparent: str | None) -> LedgerEntry:
    """Announce an entry settled earlier once more, then :func:`settle` it."""
    with ctx.transaction() as tx:
        stage_outcome(ctx, tx, entry, traceparent)
    return settle(ctx, entry)


def settle(ctx: Context, entry: LedgerEntry) -> LedgerEntry:
    """After the commit: keep the quarantine entry's JSON beside the object; delete the
    inbox object.

    Only the settled version is deleted: a newer upload under the same key stays for its own
    notification.
    """
    if entry.outcome == "quarantined":
        rejected = entry.quarantine
        assert rejected is not None, "a quarantined entry names its quarantine entry"
        ctx.store.write(
            rejected.quarantine_bucket,
            f"{rejected.quarantine_key}.json",
            rejected.model_dump_json(indent=2).encode(),
            content_type="application/json",
        )
    current = ctx.store.head(entry.bucket, entry.key)
    if current is not None and current.etag == entry.etag:  # not a newer upload under the key
        ctx.store.delete(entry.bucket, entry.key)
    ctx.log.info("inbox object settled", outcome=entry.outcome, detail=entry.describe())
    return entry


def _stored(ctx: Context, conn: psycopg.Connection[TupleRow], entry: LedgerEntry) -> InstanceStored:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_STORED, (entry.sop_uid,)).fetchone()
    assert row is not None, "an archived entry's instance is indexed in the same transaction"
    return InstanceStored(
        **row,
        archive_bucket=ctx.settings.buckets.archive,
        source_bucket=entry.bucket,
        source_key=entry.key,
        received_at=entry.received_at,
    )
