"""Backpressure: ingest pauses while the archive volume is short of space.

Before an object is read, the free space of the archive's volume is measured
(:func:`acme.storage.archive_space`). Under ``ACME_ARCHIVE_MIN_FREE_BYTES`` the object is left
in dicom-inbox as it is, no try is counted (the object is not at fault), and its
notification is answered as handled: the inbox sweep takes the object once there is room
again, as it takes every object older than ``ACME_INBOX_GRACE_SECONDS``. Nothing is lost: an
object leaves the inbox only once it is archived and indexed
(docs/decisions/0105-ingest-backpressure.md).

The pause is logged once per platform, not once per object: a Redis key marks it, set by the
first object deferred and removed, with a line saying so, by the first check that finds room
again. Redis keeps only what may be lost: without it, every deferral is logged.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from acme.function import Context
from acme.storage import ArchiveSpace, archive_space

_MARK = "acme:ingest-paused:"


def ingest_paused(ctx: Context) -> bool:
    """True while the archive volume has less free space than the setting asks for."""
    space = archive_space(ctx.settings)
    if space is None:
        return False
    mark = _MARK + ctx.settings.buckets.inbox
    if space.short:
        if _changed(ctx, mark, paused=True):
            ctx.log.warning(
                "ingest paused: the archive volume has less free space than"
                " ACME_ARCHIVE_MIN_FREE_BYTES; new objects wait in dicom-inbox",
                **_figures(space),
            )
        return True
    if _changed(ctx, mark, paused=False):
        ctx.log.info("ingest resumed: the archive volume has room again", **_figures(space))
    return False


def _changed(ctx: Context, mark: str, *, paused: bool) -> bool:
    """Set (or clear) the pause mark; True when that changed it."""
    try:
        if paused:
            return bool(ctx.redis.set(mark, "1", nx=True))
        return bool(ctx.redis.delete(mark))
    except RedisError as exc:
        # The mark only keeps the log to one line per pause: without Redis a pause is still
        # a pause, and saying so each time is better than not at all.
        ctx.log.warning("ingest pause mark unavailable", error=type(exc).__name__)
        return paused


def _figures(space: ArchiveSpace) -> dict[str, object]:
    return {
        "free_bytes": space.free_bytes,
        "min_free_bytes": space.min_free_bytes,
        "volume": str(space.volume),
    }
