"""Each delivery of a report version to a destination (``dispatch_deliveries``, migration
0011): requested, then delivered or failed, with its attempts and the SOP Instance UIDs sent.

One row per (report id, version, destination). A request for a row that exists changes
nothing, except a manual one (``acme pacs send``), which sets it back to pending so the
version is sent again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, dict_row

from acme.errors import DatabaseError
from acme.events.values import DispatchCause

__all__ = [
    "DeliveryKey",
    "DeliveryRow",
    "find",
    "mark_delivered",
    "mark_failed",
    "of_study",
    "request",
]

Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class DeliveryKey:
    report_id: uuid.UUID
    version: int
    destination: str


@dataclass(frozen=True)
class DeliveryRow:
    report_id: uuid.UUID
    version: int
    destination: str
    study_uid: str
    cause: str
    status: str
    attempts: int
    sop_uids: list[str]
    last_error: str | None
    requested_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


_COLUMNS = (
    "report_id, version, destination, study_uid, cause, status, attempts, sop_uids,"
    " last_error, requested_at, updated_at, delivered_at"
)


def request(conn: Conn, key: DeliveryKey, study_uid: str, cause: DispatchCause) -> None:
    """Record that ``key`` is to be delivered (see the module docstring)."""
    reset = (
        " DO UPDATE SET status = 'pending', cause = EXCLUDED.cause, requested_at = now()"
        if cause == "manual"
        else " DO NOTHING"
    )
    conn.execute(
        "INSERT INTO dispatch_deliveries (report_id, version, destination, study_uid, cause)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (report_id, version, destination)" + reset,
        (key.report_id, key.version, key.destination, study_uid, cause),
    )


def find(conn: Conn, key: DeliveryKey) -> DeliveryRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM dispatch_deliveries"
            " WHERE report_id = %s AND version = %s AND destination = %s",
            (key.report_id, key.version, key.destination),
        ).fetchone()
    return _row(row) if row else None


def mark_delivered(conn: Conn, key: DeliveryKey, sop_uids: list[str]) -> int:
    """The delivery succeeded; returns its attempts (this one included)."""
    return _finish(
        conn, key, "status = 'delivered', sop_uids = %s, last_error = NULL, delivered_at = now()",
        (sop_uids,),
    )  # fmt: skip


def mark_failed(conn: Conn, key: DeliveryKey, error: str) -> int:
    """An attempt failed (the router retries it); returns the attempts so far."""
    return _finish(conn, key, "status = 'failed', last_error = %s", (error[:2000],))


def of_study(conn: Conn, study_uid: str) -> list[DeliveryRow]:
    """Every delivery of the study's reports, oldest request first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM dispatch_deliveries WHERE study_uid = %s"
            " ORDER BY version, requested_at, destination",
            (study_uid,),
        ).fetchall()
    return [_row(row) for row in rows]


def _finish(conn: Conn, key: DeliveryKey, assignments: str, params: tuple[Any, ...]) -> int:
    row = conn.execute(
        f"UPDATE dispatch_deliveries SET attempts = attempts + 1, {assignments}"
        " WHERE report_id = %s AND version = %s AND destination = %s RETURNING attempts",
        (*params, key.report_id, key.version, key.destination),
    ).fetchone()
    if row is None:
        raise DatabaseError(f"no delivery of {key.report_id} v{key.version} to {key.destination}")
    return int(row[0])


def _row(row: dict[str, Any]) -> DeliveryRow:
    return DeliveryRow(**row)
