"""The change feed: every committed change a downstream system cares about, numbered 1, 2, 3...

One entry per instance stored or rejected, series completed, inference completed or failed,
and report drafted, signed or amended (docs/decisions/0090-change-feed.md). A consumer reads
``GET /function/worklist/changes?since=SEQ`` and resumes from the last sequence it saw; the
feed lives in PostgreSQL and does not depend on how long the broker keeps events.

How the numbers stay gap-free and in commit order:

1. :func:`record` writes the entry, without a number, in the transaction that makes the
   change (:func:`acme.outbox.stage` calls it for the feed's types): a rolled-back change
   leaves no entry, a committed one always has one.
2. :func:`sequence` numbers the entries it can see, in the order they were written, after
   ``max(seq)``, under a transaction-scoped advisory lock: one numbering at a time, and only
   committed entries, so a number is never skipped, never given twice and never changed.
   A number becomes visible together with every smaller one. It runs after each commit that
   staged an entry (:meth:`acme.function.Context.transaction`) and in the outbox relay on
   every tick, which numbers what a writer that died after its commit left unnumbered.

An entry's ``action`` is its event type without the ``org.acme.imaging.`` prefix, except
that a ``report.signed`` whose status is ``amended`` is ``report.amended``. Its ``data`` is
the event's data (no PHI but the inbox key a sender chose, which may name a patient: the feed
is read under a PHI permission).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

import psycopg
from cloudevents.http import CloudEvent
from psycopg.rows import TupleRow, dict_row
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from acme.db import Pool
from acme.events import EventType
from acme.log import get_logger

__all__ = [
    "FEED_TYPES",
    "Action",
    "ChangeEntry",
    "action_of",
    "changes",
    "latest",
    "record",
    "sequence",
    "sequence_after_commit",
]

Connection = psycopg.Connection[TupleRow]
Action = Literal[
    "instance.stored",
    "instance.rejected",
    "series.completed",
    "inference.completed",
    "inference.failed",
    "report.drafted",
    "report.signed",
    "report.amended",
]

FEED_TYPES: Final = frozenset(
    {
        EventType.INSTANCE_STORED,
        EventType.INSTANCE_REJECTED,
        EventType.SERIES_COMPLETED,
        EventType.INFERENCE_COMPLETED,
        EventType.INFERENCE_FAILED,
        EventType.REPORT_DRAFTED,
        EventType.REPORT_SIGNED,
    }
)
"""The event types that make an entry (series.reopened, ticks and access records do not)."""

_PREFIX: Final = "org.acme.imaging."
_LOCK_KEY: Final = int.from_bytes(b"acmefeed", "big", signed=True)
_BATCH: Final = 5000
_logger = get_logger(__name__)

_NUMBER = """
WITH base AS (SELECT COALESCE(max(seq), 0) AS last FROM change_feed),
todo AS (
    SELECT id, row_number() OVER (ORDER BY id) AS k
    FROM (SELECT id FROM change_feed WHERE seq IS NULL ORDER BY id LIMIT %s) pending
)
UPDATE change_feed f SET seq = base.last + todo.k, sequenced_at = now()
FROM base, todo WHERE f.id = todo.id
"""
_COLUMNS = (
    "seq AS sequence, action, event_type AS type, event_id, subject, study_uid, series_uid,"
    " sop_uid, occurred_at, sequenced_at AS recorded_at, data"
)


class ChangeEntry(BaseModel):
    """One numbered entry of the change feed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sequence: int = Field(ge=1, description="1, 2, 3... with no gap, in commit order.")
    action: Action = Field(description="What happened (report.amended: an amended signature).")
    type: str = Field(description="The CloudEvent type that announced it.")
    event_id: str = Field(description="The CloudEvent id (the same fact always has the same).")
    subject: str | None = Field(
        default=None, description="studies/<Study>[/series/<Series>[/instances/<SOP>]]"
    )
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None
    occurred_at: AwareDatetime = Field(description="When the event was made.")
    recorded_at: AwareDatetime = Field(description="When the entry got its sequence number.")
    data: dict[str, Any] = Field(description="The event's data (see events/ for each type).")


def action_of(event_type: str, data: dict[str, Any]) -> Action:
    """The entry's action for an event of a feed type."""
    if event_type == EventType.REPORT_SIGNED and data.get("status") == "amended":
        return "report.amended"
    action: Action = event_type.removeprefix(_PREFIX)  # type: ignore[assignment]
    return action


def record(conn: Connection, event: CloudEvent, body: bytes) -> bool:
    """Write the unnumbered entry of ``event`` (JSON data ``body``) in ``conn``'s transaction;
    False when its type makes no entry or the fact has one already."""
    event_type = str(event["type"])
    if event_type not in FEED_TYPES:
        return False
    data = json.loads(body)
    if not isinstance(data, dict):
        raise TypeError(f"{event_type} {event['id']}: the data of a feed event is an object")
    when = event.get("time")
    row = conn.execute(
        "INSERT INTO change_feed (event_id, event_type, action, subject, study_uid, series_uid,"
        " sop_uid, data, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
        " COALESCE(%s::timestamptz, now())) ON CONFLICT (event_id) DO NOTHING RETURNING id",
        (
            str(event["id"]), event_type, action_of(event_type, data), event.get("subject"),
            data.get("study_uid"), data.get("series_uid"), data.get("sop_uid"), Jsonb(data),
            str(when) if when else None,
        ),
    ).fetchone()  # fmt: skip
    return row is not None


def sequence(pool: Pool) -> int:
    """Number every committed entry that has no number yet; how many were numbered."""
    numbered = 0
    while True:
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            count = conn.execute(_NUMBER, (_BATCH,)).rowcount
        numbered += max(count, 0)
        if count < _BATCH:
            return numbered


def changes(pool: Pool, *, since: int, limit: int) -> list[ChangeEntry]:
    """The entries after sequence ``since``, in order, at most ``limit``."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM change_feed WHERE seq > %s ORDER BY seq LIMIT %s",
            (since, limit),
        ).fetchall()
    return [ChangeEntry.model_validate(row) for row in rows]


def latest(pool: Pool) -> ChangeEntry | None:
    """The entry with the highest sequence, None while the feed is empty."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM change_feed WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return ChangeEntry.model_validate(row) if row is not None else None


def sequence_after_commit(pool: Pool) -> None:
    """:func:`sequence` after a writer's commit: a failure is left for the relay, which
    numbers the entries on its next tick (the change itself is committed)."""
    try:
        sequence(pool)
    except psycopg.Error as exc:
        _logger.warning("change feed not numbered now; the relay numbers it", error=str(exc))
