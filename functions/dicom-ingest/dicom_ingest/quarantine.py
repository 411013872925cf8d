"""Quarantine: keep a rejected object, with its entry as JSON beside it, and say so.

The entry, its ledger row and its ``instance.rejected`` announcement commit together.

The quarantine key never derives from the inbox key (which a client chose and may be
hostile): ``<reason>/<YYYY>/<MM>/<DD>/<token>`` where the token is the content's SHA-256
(or, for objects not read, a hash of bucket, key and ETag), so a redelivery quarantines to
the same place and changes nothing. An object with the same bytes and reason as an existing
entry is recorded in the ledger as a duplicate of that entry, and dropped.

The entry is one :class:`~acme.events.InstanceRejected`: the row, the JSON beside the object,
the ``instance.rejected`` event and what the ledger shows.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from dicom_ingest.inspect import Header
from dicom_ingest.settle import settle, stage_outcome

from acme import ledger
from acme.events import InstanceRejected
from acme.function import Context
from acme.ledger import LedgerEntry
from acme.storage import ObjectInfo

_SAME_BYTES_AND_REASON = (
    "SELECT key FROM quarantine_entries WHERE sha256 = %s AND reason_code = %s"
    " ORDER BY quarantined_at LIMIT 1"
)


def quarantine(
    ctx: Context,
    info: ObjectInfo,
    reason: str,
    detail: str,
    traceparent: str | None,
    *,
    sha256: str | None = None,
    header: Header | None = None,
) -> LedgerEntry:
    """Copy the inbox object to quarantine, record its entry, announce it, delete it."""
    with ctx.db.connection() as conn:
        earlier = (
            conn.execute(_SAME_BYTES_AND_REASON, (sha256, reason)).fetchone() if sha256 else None
        )
    if earlier is not None:
        with ctx.transaction() as tx:
            entry = ledger.record(
                tx.conn, info, "duplicate", quarantine_key=earlier[0], sha256=sha256
            )
        return settle(ctx, entry)
    rejected = _entry(ctx, info, reason, detail, sha256, header)
    ctx.store.copy(info.bucket, info.key, rejected.quarantine_bucket, rejected.quarantine_key)
    with ctx.transaction() as tx:
        new = ledger.insert_quarantine_entry(tx.conn, rejected)
        entry = ledger.record(
            tx.conn,
            info,
            "quarantined" if new else "duplicate",
            quarantine_key=rejected.quarantine_key,
            sha256=sha256,
        )
        stage_outcome(ctx, tx, entry, traceparent)
    if entry.outcome == "quarantined":
        ctx.log.warning("object quarantined", reason=reason, quarantine_key=rejected.quarantine_key)
    return settle(ctx, entry)


def _entry(
    ctx: Context,
    info: ObjectInfo,
    reason: str,
    detail: str,
    sha256: str | None,
    header: Header | None,
) -> InstanceRejected:
    token = (
        sha256 or hashlib.sha256(f"{info.bucket}\x1f{info.key}\x1f{info.etag}".encode()).hexdigest()
    )
    day = info.last_modified.astimezone(UTC)
    return InstanceRejected(
        bucket=info.bucket,
        key=info.key,
        reason_code=reason,
        detail=detail,
        quarantine_bucket=ctx.settings.buckets.quarantine,
        quarantine_key=f"{reason.replace(':', '/')}/{day:%Y/%m/%d}/{token}",
        size=info.size,
        sha256=sha256,
        study_uid=header.study_uid if header else None,
        series_uid=header.series_uid if header else None,
        sop_uid=header.sop_uid if header else None,
        rejected_at=datetime.now(UTC),
    )
