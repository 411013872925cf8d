"""Ingest one object dropped into dicom-inbox.

The steps, each safe to repeat: while the archive is short of space, leave the object in the
inbox for later (:mod:`dicom_ingest.backpressure`) → read it, described and read in one
request (an object over the size limit is described only) → find its ledger entry (settled
already: announce it again and remove the object) → count the try
(:mod:`dicom_ingest.attempts`) → validate it (:mod:`dicom_ingest.inspect`) →
archive and index it, or settle it as a duplicate or a conflict (:mod:`dicom_ingest.archive`),
or quarantine it → delete the inbox object. A completion manifest (a key ending in
``.series-manifest.json``) is recorded instead (:mod:`dicom_ingest.declared`). Every
outcome is written to the ledger, with its announcement staged in the outbox, in the
transaction that settles the object, so a sender can always look up what became of an upload
and every settled object is announced. A crash anywhere before that
commit leaves the inbox object in place for the redelivered notification or the inbox sweep;
a crash after it only repeats the announcement (same event ids).
"""

from __future__ import annotations

import hashlib

from dicom_ingest.archive import archive
from dicom_ingest.attempts import with_attempts
from dicom_ingest.backpressure import ingest_paused
from dicom_ingest.declared import declare
from dicom_ingest.inspect import Invalid, inspect
from dicom_ingest.quarantine import quarantine
from dicom_ingest.settle import announce_again

from acme import ledger
from acme.function import Context, Rejected
from acme.ledger import LedgerEntry
from acme.series_manifest import MAX_MANIFEST_BYTES, is_manifest_key
from acme.storage import Fetched

_SAID = {
    "archived": "stored",
    "duplicate": "duplicate",
    "quarantined": "quarantined",
    "declared": "declared",
}


def ingest_object(ctx: Context, bucket: str, key: str, traceparent: str | None) -> str:
    """Ingest ``bucket/key``; return what happened: stored (archived), duplicate,
    quarantined, declared (a manifest recorded), gone (settled and removed by someone else)
    or deferred (left in the inbox while the archive is short of space)."""
    if bucket != ctx.settings.buckets.inbox:
        raise Rejected(
            f"bucket {bucket!r}: dicom-ingest only ingests {ctx.settings.buckets.inbox!r}"
        )
    if ingest_paused(ctx):
        return "deferred"
    manifest = is_manifest_key(key)
    limit = MAX_MANIFEST_BYTES if manifest else ctx.settings.ingest_max_bytes
    fetched = ctx.store.fetch(bucket, key, max_bytes=limit)  # described and read at once
    if fetched is None:
        ctx.log.info("inbox object already ingested or removed")
        return "gone"
    info = fetched.info
    with ctx.db.connection() as conn:
        done = ledger.settled(conn, info)
    if done is not None:
        return _SAID[announce_again(ctx, done, traceparent).outcome]
    step = declare if manifest else _ingest
    entry = with_attempts(ctx, info, traceparent, lambda: step(ctx, fetched, traceparent))
    return _SAID[entry.outcome] if entry is not None else "gone"


def _ingest(ctx: Context, fetched: Fetched, traceparent: str | None) -> LedgerEntry | None:
    info, data = fetched.info, fetched.data
    if data is None:
        detail = f"{info.size} bytes is over the limit of {ctx.settings.ingest_max_bytes}"
        return quarantine(ctx, info, "too-large", detail, traceparent)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        inspected = inspect(data, sha256)
    except Invalid as bad:
        return quarantine(ctx, info, bad.reason, bad.detail, traceparent, sha256=sha256)
    return archive(ctx, info, inspected, sha256, traceparent)
