"""The inbox sweep: objects a lost notification left in dicom-inbox are ingested on ``tick``.

An object older than the grace period (``ACME_INBOX_GRACE_SECONDS``) is taken to have lost
its notification. A short Redis lock per object keeps replicas from ingesting the same object
at the same moment (the ingest is idempotent anyway; the lock only saves work). The lock is
redis-py's :class:`~redis.lock.Lock`: it holds a token of this try, and releasing it deletes
it only while it still holds that token (compare-and-delete in one Lua script), so a try that
outlived the lock never removes the lock another replica took since.

While ingest is paused for want of archive space (:mod:`dicom_ingest.backpressure`) the sweep
takes nothing; once there is room again it takes what waited, a batch per tick.

An object that fails is counted (:mod:`dicom_ingest.attempts`) and stays for a later tick;
once its tries are spent it is quarantined, so no object is swept for ever.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import islice

from dicom_ingest.backpressure import ingest_paused
from dicom_ingest.ingest import ingest_object
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from acme.function import Context

_LOCK_SECONDS = 300


def sweep_inbox(ctx: Context, traceparent: str | None) -> dict[str, int]:
    """Ingest stranded inbox objects (at most ``ACME_SWEEP_BATCH`` per call); count outcomes."""
    if ingest_paused(ctx):
        return {}
    inbox = ctx.settings.buckets.inbox
    cutoff = datetime.now(UTC) - timedelta(seconds=ctx.settings.inbox_grace_seconds)
    outcomes: dict[str, int] = {}
    stranded = islice(ctx.store.list(inbox, older_than=cutoff), ctx.settings.sweep_batch)
    for info in stranded:
        name = "acme:ingest-lock:" + hashlib.sha256(f"{inbox}/{info.key}".encode()).hexdigest()
        lock = ctx.redis.lock(name, timeout=_LOCK_SECONDS, blocking=False)
        if not lock.acquire():
            outcomes["locked"] = outcomes.get("locked", 0) + 1
            continue
        try:
            outcome = ingest_object(ctx, inbox, info.key, traceparent)
        except Exception as exc:
            # Counted per object by ingest (a bounded number of tries); it stays for a later tick.
            ctx.log.warning(
                "inbox sweep could not ingest an object", error=type(exc).__name__, exc_info=True
            )
            outcome = "failed"
        finally:
            _release(ctx, lock)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        ctx.log.info("inbox sweep", **outcomes)
    return outcomes


def _release(ctx: Context, lock: Lock) -> None:
    try:
        lock.release()
    except LockNotOwnedError:
        ctx.log.warning("inbox sweep lock expired during the try; another replica holds it now")
