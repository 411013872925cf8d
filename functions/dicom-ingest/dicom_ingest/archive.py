"""Archiving one valid instance, or finding that its SOP Instance UID is archived already.

Under a per-SOPInstanceUID lock (PostgreSQL session advisory lock, across every replica):
write the archive object (and the original beside a Part 10 copy) → in one transaction,
index the instance, record the ledger entry and stage its ``instance.stored`` → commit →
announce. The archive object is written before the transaction begins, so the series row
the index locks is held only for the index statements and the commit, not for an object
upload: instances of one series are indexed one after another, and uploaded side by side.
What refuses the instance in the index (a series UID indexed under another study), and any
failure up to the commit (the commit, the connection), removes what was written while the
lock is still held: there is never a committed archive object without its index row. A
crash between write and commit leaves an object no row names and the inbox object in place;
its next try, under the same lock, writes the same key again and commits, or removes it
before quarantining.

When the SOP Instance UID is archived already, the upload is a duplicate if it is the same
instance (:mod:`dicom_ingest.sameness`), else a ``uid-conflict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO

import psycopg
from dicom_ingest.declared import complete_declared
from dicom_ingest.index import upsert_instance
from dicom_ingest.inspect import Inspected, Invalid
from dicom_ingest.quarantine import quarantine
from dicom_ingest.sameness import difference
from dicom_ingest.settle import settle, stage_outcome
from psycopg.rows import TupleRow
from pydicom import dcmread

from acme import ledger
from acme.events import canonical_archive_key
from acme.function import Context, Transaction
from acme.ledger import LedgerEntry
from acme.storage import ObjectInfo

SHA256_METADATA = "sha256"
ORIGINAL_SUFFIX = ".original"


def original_key(archive_key: str) -> str:
    """Where the bytes as received are kept beside a Part 10 copy."""
    return archive_key.removesuffix(".dcm") + ORIGINAL_SUFFIX


def archive(
    ctx: Context, info: ObjectInfo, inspected: Inspected, sha256: str, traceparent: str | None
) -> LedgerEntry:
    """Archive ``inspected`` (the object ``info``), or settle it against what is archived;
    then, out of the instance's lock, complete its series if its manifest is satisfied."""
    entry = _archive_or_settle(ctx, info, inspected, sha256, traceparent)
    if entry.outcome == "archived":
        complete_declared(ctx, inspected.header.series_uid, traceparent)
    return entry


def _archive_or_settle(
    ctx: Context, info: ObjectInfo, inspected: Inspected, sha256: str, traceparent: str | None
) -> LedgerEntry:
    header = inspected.header
    key = canonical_archive_key(header.study_uid, header.series_uid, header.sop_uid)
    with ctx.db.connection() as conn, _sop_lock(conn, header.sop_uid):
        known = conn.execute(
            "SELECT sha256, archive_key FROM instances WHERE sop_uid = %s", (header.sop_uid,)
        ).fetchone()
        if known is None:
            try:
                entry = _archive_new(ctx, conn, info, inspected, key, sha256, traceparent)
            except Invalid as bad:  # what was written is removed already
                return quarantine(
                    ctx, info, bad.reason, bad.detail, traceparent, sha256=sha256, header=header
                )
            return settle(ctx, entry)
    archived_sha, archived_key = str(known[0]), str(known[1])
    if archived_sha == header.sha256:
        why = None
    else:
        theirs = dcmread(BytesIO(ctx.store.get(ctx.settings.buckets.archive, archived_key)))
        why = difference(inspected.dataset, theirs)
    if why is not None:
        detail = f"an instance with this SOPInstanceUID is archived with other content ({why})"
        return quarantine(
            ctx, info, "uid-conflict", detail, traceparent, sha256=sha256, header=header
        )
    with ctx.transaction() as tx:
        entry = ledger.record(tx.conn, info, "duplicate", sop_uid=header.sop_uid, sha256=sha256)
    return settle(ctx, entry)


def _archive_new(
    ctx: Context,
    conn: psycopg.Connection[TupleRow],
    info: ObjectInfo,
    inspected: Inspected,
    key: str,
    sha256: str,
    traceparent: str | None,
) -> LedgerEntry:
    """Write the archive object, then index, record and stage ``instance.stored`` in one
    transaction; announce it once committed."""
    header = inspected.header
    tx = Transaction(ctx, conn)
    try:
        _write(ctx, key, inspected)
        with conn.transaction():
            upsert_instance(conn, header, key)
            entry = ledger.record(conn, info, "archived", sop_uid=header.sop_uid, sha256=sha256)
            stage_outcome(ctx, tx, entry, traceparent)
    except BaseException:
        _remove(ctx, key)  # a write cut halfway may have left one of the two objects
        raise
    ctx.announce(tx.events)  # committed: from here on nothing written may be removed
    return entry


def _write(ctx: Context, key: str, inspected: Inspected) -> None:
    bucket = ctx.settings.buckets.archive
    metadata = {SHA256_METADATA: inspected.header.sha256}
    if inspected.original is not None:
        ctx.store.write(bucket, original_key(key), inspected.original)
        metadata["original-key"] = original_key(key)
    ctx.store.write(
        bucket, key, inspected.archived, content_type="application/dicom", metadata=metadata
    )


def _remove(ctx: Context, key: str) -> None:
    """Remove what an attempt that did not commit wrote (absent objects are no error)."""
    ctx.store.delete(ctx.settings.buckets.archive, key)
    ctx.store.delete(ctx.settings.buckets.archive, original_key(key))


@contextmanager
def _sop_lock(conn: psycopg.Connection[TupleRow], sop_uid: str) -> Iterator[None]:
    """Hold the SOP Instance UID's session lock; transactions inside commit for real."""
    conn.autocommit = True
    try:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (sop_uid,))
        try:
            yield
        finally:
            if not conn.broken:  # a broken connection's session, and its lock, are gone
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (sop_uid,))
    finally:
        if not conn.broken:
            conn.autocommit = False
