"""Ingest one object dropped into dicom-inbox (DESIGN.md sections 1, 3 and 7).

The steps, each safe to repeat: read the object → validate it → under a per-SOPInstanceUID
lock, compare with what is indexed (same bytes: nothing to do; other bytes: quarantine as
``uid-conflict``) → write the canonical archive object → index it → emit ``instance.stored``
→ delete the inbox object. A crash anywhere leaves the inbox object in place, so the
redelivered notification (or the inbox sweep) finishes the job; the inbox object is
removed only once the instance is archived and indexed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from dicom_ingest.index import upsert_instance
from dicom_ingest.inspect import Header, Invalid, inspect
from dicom_ingest.quarantine import Rejection, quarantine

from acme.events import EventType, InstanceStored, canonical_archive_key, fact_id
from acme.function import Context, Rejected
from acme.storage import ObjectInfo, ObjectNotFoundError

SHA256_METADATA = "sha256"


def ingest_object(ctx: Context, bucket: str, key: str, traceparent: str | None) -> str:
    """Ingest ``bucket/key``; return what happened: stored, duplicate, quarantined or gone."""
    if bucket != ctx.settings.buckets.inbox:
        raise Rejected(
            f"bucket {bucket!r}: dicom-ingest only ingests {ctx.settings.buckets.inbox!r}"
        )
    info = ctx.store.head(bucket, key)
    if info is None:
        ctx.log.info("inbox object already ingested or removed")
        return "gone"
    if info.size > ctx.settings.ingest_max_bytes:
        detail = f"{info.size} bytes is over the limit of {ctx.settings.ingest_max_bytes}"
        quarantine(ctx, info, Rejection("too-large", detail), traceparent)
        return "quarantined"
    try:
        data = ctx.store.get(bucket, key)
    except ObjectNotFoundError:  # another replica finished it between head and get
        ctx.log.info("inbox object already ingested or removed")
        return "gone"
    try:
        header, archived = inspect(data)
    except Invalid as bad:
        digest = hashlib.sha256(data).hexdigest()
        quarantine(ctx, info, Rejection(bad.reason, bad.detail, sha256=digest), traceparent)
        return "quarantined"
    return _store(ctx, info, header, archived, traceparent)


def _store(
    ctx: Context, info: ObjectInfo, header: Header, archived: bytes, traceparent: str | None
) -> str:
    buckets = ctx.settings.buckets
    archive_key = canonical_archive_key(header.study_uid, header.series_uid, header.sop_uid)
    outcome = "stored"
    try:
        with ctx.db.connection() as conn, conn.transaction():
            # One ingest per SOP Instance UID at a time, across every replica.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (header.sop_uid,))
            row = conn.execute(
                "SELECT sha256 FROM instances WHERE sop_uid = %s", (header.sop_uid,)
            ).fetchone()
            if row is not None and row[0] != header.sha256:
                raise Invalid(
                    "uid-conflict",
                    "an instance with this SOPInstanceUID and different content is archived",
                )
            if row is None:
                ctx.store.put(
                    buckets.archive,
                    archive_key,
                    archived,
                    content_type="application/dicom",
                    metadata={SHA256_METADATA: header.sha256},
                )
                upsert_instance(conn, header, archive_key)
            else:
                outcome = "duplicate"
    except Invalid as bad:
        rejection = Rejection(
            bad.reason,
            bad.detail,
            sha256=hashlib.sha256(archived).hexdigest(),
            study_uid=header.study_uid,
            series_uid=header.series_uid,
            sop_uid=header.sop_uid,
        )
        quarantine(ctx, info, rejection, traceparent)
        return "quarantined"
    _emit_stored(ctx, info, header, archive_key, traceparent)
    ctx.store.delete(info.bucket, info.key)
    ctx.log.info(
        "instance archived" if outcome == "stored" else "duplicate instance; nothing changed",
        sop_uid=header.sop_uid,
        modality=header.modality,
    )
    return outcome


def _emit_stored(
    ctx: Context, info: ObjectInfo, header: Header, archive_key: str, traceparent: str | None
) -> None:
    data = InstanceStored(
        study_uid=header.study_uid,
        series_uid=header.series_uid,
        sop_uid=header.sop_uid,
        sop_class_uid=header.sop_class_uid,
        modality=header.modality,
        body_part=header.body_part,
        transfer_syntax=header.transfer_syntax,
        archive_bucket=ctx.settings.buckets.archive,
        archive_key=archive_key,
        source_bucket=info.bucket,
        source_key=info.key,
        sha256=header.sha256,
        size=header.size,
        received_at=info.last_modified.astimezone(UTC)
        if info.last_modified.tzinfo
        else datetime.now(UTC),
    )
    ctx.emit(
        EventType.INSTANCE_STORED,
        data,
        traceparent=traceparent,
        event_id=fact_id("instance.stored", header.sop_uid, header.sha256),
    )
