"""Quarantine: keep a rejected object, with a JSON reason beside it, and say so.

The quarantine key never derives from the inbox key (which a client chose and may be
hostile): ``<reason>/<YYYY>/<MM>/<DD>/<token>`` where the token is the content's SHA-256
(or, for objects too large to read, a hash of bucket, key and ETag), so a redelivery
quarantines to the same place and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from acme.events import EventType, InstanceRejected, fact_id
from acme.function import Context
from acme.storage import ObjectInfo


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    sha256: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None


def quarantine(
    ctx: Context, info: ObjectInfo, rejection: Rejection, traceparent: str | None
) -> str:
    """Copy the inbox object to quarantine with its reason, index it, emit, then delete it."""
    buckets = ctx.settings.buckets
    token = (
        rejection.sha256
        or hashlib.sha256(f"{info.bucket}\x1f{info.key}\x1f{info.etag}".encode()).hexdigest()
    )
    day = info.last_modified.astimezone(UTC)
    folder = rejection.reason.replace(":", "/")
    qkey = f"{folder}/{day:%Y/%m/%d}/{token}"
    now = datetime.now(UTC)
    reason_doc = {
        "reason_code": rejection.reason,
        "detail": rejection.detail,
        "source_bucket": info.bucket,
        "source_key": info.key,
        "size": info.size,
        "etag": info.etag,
        "sha256": rejection.sha256,
        "received_at": info.last_modified.isoformat(),
        "quarantined_at": now.isoformat(),
        "study_uid": rejection.study_uid,
        "series_uid": rejection.series_uid,
        "sop_uid": rejection.sop_uid,
    }
    ctx.store.copy(info.bucket, info.key, buckets.quarantine, qkey)
    ctx.store.put(
        buckets.quarantine,
        f"{qkey}.json",
        json.dumps(reason_doc, indent=2).encode(),
        content_type="application/json",
    )
    with ctx.db.connection() as conn:
        conn.execute(
            "INSERT INTO quarantine_entries (key, source_bucket, source_key, reason_code,"
            " detail, sha256, size, study_uid, sop_uid)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (qkey, info.bucket, info.key, rejection.reason, rejection.detail,
             rejection.sha256, info.size, rejection.study_uid, rejection.sop_uid),
        )  # fmt: skip
    data = InstanceRejected(
        bucket=info.bucket,
        key=info.key,
        reason_code=rejection.reason,
        detail=rejection.detail,
        quarantine_bucket=buckets.quarantine,
        quarantine_key=qkey,
        size=info.size,
        sha256=rejection.sha256,
        study_uid=rejection.study_uid,
        series_uid=rejection.series_uid if rejection.study_uid else None,
        sop_uid=rejection.sop_uid if rejection.study_uid and rejection.series_uid else None,
        rejected_at=now,
    )
    ctx.emit(
        EventType.INSTANCE_REJECTED,
        data,
        traceparent=traceparent,
        event_id=fact_id("instance.rejected", qkey),
    )
    ctx.store.delete(info.bucket, info.key)
    ctx.log.warning("object quarantined", reason=rejection.reason, quarantine_key=qkey)
    return qkey
