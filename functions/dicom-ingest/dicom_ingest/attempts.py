"""Tries at one inbox object, counted, so that one that keeps failing is quarantined.

Each try is counted in PostgreSQL before it starts, so a try that kills its process (a
decoder crash, the memory limit, the delivery time limit) counts as well as one that raises.
An object whose tries failed ``ACME_INGEST_ATTEMPTS`` times is quarantined as ``ingest-error``
with the exception class in the detail, and never tried again: a poison object cannot keep a
delivery, the dead-letter stream or the inbox sweep busy.

A try that failed because a server could not be reached (PostgreSQL, object storage, the
bus) is not the object's fault and is not counted. A dead-lettered notification replayed
later is one more try of the same count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from dicom_ingest.quarantine import quarantine
from psycopg_pool import PoolTimeout

from acme.db import Pool
from acme.errors import BusError
from acme.function import Context, Rejected
from acme.ledger import LedgerEntry
from acme.storage import ObjectInfo

_WHERE = " WHERE bucket = %s AND key = %s AND etag = %s AND received_at = %s"
_BEGIN = (
    "INSERT INTO ingest_attempts (bucket, key, etag, received_at, attempts)"
    " VALUES (%s, %s, %s, %s, 1) ON CONFLICT (bucket, key, etag, received_at)"
    " DO UPDATE SET attempts = ingest_attempts.attempts + 1, updated_at = now()"
    " RETURNING attempts - 1, failures, last_error"
)
_FAILED = (
    "UPDATE ingest_attempts SET failures = failures + 1, last_error = %s, updated_at = now()"
    + _WHERE
    + " RETURNING failures"
)
_NOT_COUNTED = "UPDATE ingest_attempts SET attempts = greatest(attempts - 1, 0)" + _WHERE


@dataclass(frozen=True)
class Record:
    """The tries before this one: how many, how many raised, the last exception class."""

    earlier: int
    failures: int
    last_error: str | None


def with_attempts(
    ctx: Context,
    info: ObjectInfo,
    traceparent: str | None,
    attempt: Callable[[], LedgerEntry | None],
) -> LedgerEntry | None:
    """Run ``attempt`` as one counted try at ``info``; quarantine once tries are spent."""
    limit = ctx.settings.ingest_attempts
    key = (info.bucket, info.key, info.etag, info.last_modified)
    record = _begin(ctx.db, key)
    if record.earlier >= limit:
        ended = record.earlier - record.failures
        detail = (
            f"{record.earlier} tries ended without a result ({ended} ended their process: a crash"
            f" or a time limit; last exception: {record.last_error or 'none'})"
        )
        return _give_up(ctx, info, detail, traceparent)
    try:
        return attempt()
    except Rejected:
        raise
    except Exception as exc:
        if is_outage(exc):
            _forget(ctx, key)
            raise
        failures = _failed(ctx.db, key, type(exc).__name__)
        if failures < limit:
            raise
        ctx.log.exception("ingest failed on the last try allowed; quarantining the object")
        detail = f"ingest failed {failures} times; the last try raised {type(exc).__name__}"
        return _give_up(ctx, info, detail, traceparent)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says a server could not be reached or was down."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.OperationalError | PoolTimeout | BusError):
            return True
        if isinstance(seen, BotoConnectionError | HTTPClientError | ConnectionError | TimeoutError):
            return True
        if isinstance(seen, ClientError):
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if int(status) >= 500:
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def _give_up(ctx: Context, info: ObjectInfo, detail: str, traceparent: str | None) -> LedgerEntry:
    entry = quarantine(ctx, info, "ingest-error", detail, traceparent)
    ctx.log.error("inbox object quarantined after repeated failures", detail=detail)
    return entry


def _begin(db: Pool, key: tuple[object, ...]) -> Record:
    with db.connection() as conn:
        row = conn.execute(_BEGIN, key).fetchone()
    assert row is not None
    return Record(earlier=int(row[0]), failures=int(row[1]), last_error=row[2])


def _failed(db: Pool, key: tuple[object, ...], error: str) -> int:
    with db.connection() as conn:
        row = conn.execute(_FAILED, (error, *key)).fetchone()
    return int(row[0]) if row is not None else 1


def _forget(ctx: Context, key: tuple[object, ...]) -> None:
    try:
        with ctx.db.connection() as conn:
            conn.execute(_NOT_COUNTED, key)
    except (psycopg.Error, PoolTimeout):
        # The server that is down may be PostgreSQL itself: the try then stays counted, which
        # only brings the object one try closer to quarantine. The original error is raised.
        ctx.log.warning("could not uncount a try that failed on an outage")
