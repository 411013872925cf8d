"""The inbox sweep: objects a lost notification left in dicom-inbox are ingested on ``tick``.

An object older than the grace period (``ACME_INBOX_GRACE_SECONDS``) is taken to have lost
its notification. A short Redis lock per object keeps replicas from ingesting the same object
at the same moment (the ingest is idempotent anyway; the lock only saves work).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import islice

from dicom_ingest.ingest import ingest_object

from acme.function import Context

_LOCK_SECONDS = 300


def sweep_inbox(ctx: Context, traceparent: str | None) -> dict[str, int]:
    """Ingest stranded inbox objects (at most ``ACME_SWEEP_BATCH`` per call); count outcomes."""
    inbox = ctx.settings.buckets.inbox
    cutoff = datetime.now(UTC) - timedelta(seconds=ctx.settings.inbox_grace_seconds)
    outcomes: dict[str, int] = {}
    stranded = islice(ctx.store.list(inbox, older_than=cutoff), ctx.settings.sweep_batch)
    for info in stranded:
        lock = "acme:ingest-lock:" + hashlib.sha256(f"{inbox}/{info.key}".encode()).hexdigest()
        if not ctx.redis.set(lock, ctx.name, nx=True, ex=_LOCK_SECONDS):
            outcomes["locked"] = outcomes.get("locked", 0) + 1
            continue
        try:
            outcome = ingest_object(ctx, inbox, info.key, traceparent)
        except Exception:
            # The object stays in the inbox and is tried again on a later tick.
            ctx.log.exception("inbox sweep could not ingest an object; it stays for later")
            outcome = "failed"
        finally:
            ctx.redis.delete(lock)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        ctx.log.info("inbox sweep", **outcomes)
    return outcomes
