"""Appending to and reading the trail, each transaction as one of the audit roles.

Every transaction starts with ``SET LOCAL ROLE``: appends as ``acme_audit_writer`` (INSERT and
SELECT only), reads as ``acme_audit_reader`` (SELECT only), so the database refuses an UPDATE,
DELETE or TRUNCATE of the trail whatever the code above tries. Appends are serialised by a
transaction-scoped advisory lock, so replicas never fork the chain, and are idempotent on the
CloudEvent id.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

import psycopg
from cloudevents.http import CloudEvent
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from acme.audit._chain import GENESIS_HASH, AuditRow, Entry, chain_hash, content_of
from acme.db import Pool
from acme.errors import DatabaseError
from acme.events.values import DicomUID

WRITER_ROLE = "acme_audit_writer"
READER_ROLE = "acme_audit_reader"
_APPEND_LOCK = int.from_bytes(b"acmeaudt", "big", signed=True)
"""pg_advisory_xact_lock key serialising appends: the bytes "acmeaudt"."""

Connection = psycopg.Connection[TupleRow]


@contextmanager
def transaction_as(pool: Pool, role: str) -> Iterator[Connection]:
    """A connection in a transaction whose statements run as ``role`` (an audit role)."""
    if role not in (WRITER_ROLE, READER_ROLE):
        raise ValueError(f"role: expected {WRITER_ROLE} or {READER_ROLE}, got {role!r}")
    try:
        with pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            yield conn
    except psycopg.Error as exc:
        raise DatabaseError(f"audit trail ({role}): {exc}") from exc


def append_event(pool: Pool, event: CloudEvent) -> AuditRow | None:
    """Add ``event`` at the end of the chain; None when its id is already recorded."""
    entry = Entry.from_cloudevent(event)
    with transaction_as(pool, WRITER_ROLE) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
        known = conn.execute(
            "SELECT 1 FROM audit_events WHERE event_id = %s", (entry.event_id,)
        ).fetchone()
        if known is not None:
            return None
        head = conn.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        row_id, prev_hash = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS_HASH)
        # The payload as jsonb gives it back (its numbers normalised): hash what is stored.
        stored = conn.execute(
            "SELECT %s::jsonb, clock_timestamp()", (Jsonb(entry.payload),)
        ).fetchone()
        assert stored is not None
        payload, recorded_at = stored
        content = content_of(
            row_id, entry.event_id, entry.event_type, entry.occurred_at, recorded_at,
            entry.study_uid, entry.actor, payload,
        )  # fmt: skip
        row = AuditRow(
            id=row_id,
            event_id=entry.event_id,
            event_type=entry.event_type,
            occurred_at=entry.occurred_at,
            recorded_at=recorded_at,
            study_uid=entry.study_uid,
            actor=entry.actor,
            payload=payload,
            prev_hash=prev_hash,
            hash=chain_hash(prev_hash, content),
        )
        conn.execute(
            "INSERT INTO audit_events (id, event_id, event_type, occurred_at, recorded_at,"
            " study_uid, actor, payload, prev_hash, hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (event_id) DO NOTHING",
            (row.id, row.event_id, row.event_type, row.occurred_at, row.recorded_at,
             row.study_uid, row.actor, Jsonb(row.payload), row.prev_hash, row.hash),
        )  # fmt: skip
        return row


class AuditQuery(BaseModel):
    """Which rows to read: filters (all optional, combined with AND) and one page of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: DicomUID | None = None
    actor: str | None = Field(default=None, min_length=1, max_length=1024)
    type: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="An event type; a trailing * matches.",
    )
    since: AwareDatetime | None = Field(
        default=None, description="Occurred at or after (inclusive)."
    )
    until: AwareDatetime | None = Field(default=None, description="Occurred before (exclusive).")
    after: int | None = Field(default=None, ge=0, description="Cursor: rows after this id (asc).")
    before: int | None = Field(
        default=None, ge=0, description="Cursor: rows before this id (desc)."
    )
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(default=100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> AuditQuery:
        if self.after is not None and self.order != "asc":
            raise ValueError("after is the cursor of order=asc; use before with order=desc")
        if self.before is not None and self.order != "desc":
            raise ValueError("before is the cursor of order=desc; use after with order=asc")
        return self


class AuditPage(BaseModel):
    """A page of rows and the cursor of the next page (None on the last)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    rows: list[AuditRow]
    next_cursor: int | None


def query_rows(pool: Pool, query: AuditQuery) -> AuditPage:
    """The rows ``query`` selects, by id, one page (read as ``acme_audit_reader``)."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    for column, wanted in (("study_uid", query.study), ("actor", query.actor)):
        if wanted is not None:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(wanted)
    if query.type is not None:
        if query.type.endswith("*"):
            where.append(sql.SQL("starts_with(event_type, %s)"))
            params.append(query.type[:-1])
        else:
            where.append(sql.SQL("event_type = %s"))
            params.append(query.type)
    bounds: tuple[tuple[sql.SQL, datetime | int | None], ...] = (
        (sql.SQL("occurred_at >= %s"), query.since), (sql.SQL("occurred_at < %s"), query.until),
        (sql.SQL("id > %s"), query.after), (sql.SQL("id < %s"), query.before),
    )  # fmt: skip
    for condition, value in bounds:
        if value is not None:
            where.append(condition)
            params.append(value)
    statement = sql.SQL("SELECT {} FROM audit_events WHERE {} ORDER BY id {} LIMIT %s").format(
        sql.SQL(AuditRow.COLUMNS),
        sql.SQL(" AND ").join(where) if where else sql.SQL("TRUE"),
        sql.SQL("DESC" if query.order == "desc" else "ASC"),
    )
    with transaction_as(pool, READER_ROLE) as conn:
        records = conn.execute(statement, [*params, query.limit + 1]).fetchall()
    rows = [AuditRow.from_record(record) for record in records[: query.limit]]
    more = len(records) > query.limit
    return AuditPage(rows=rows, next_cursor=rows[-1].id if more else None)


def iter_rows(conn: Connection, *, batch: int = 2000) -> Generator[AuditRow, None, None]:
    """Every row by id, through a server-side cursor (``conn`` must be in a transaction)."""
    with conn.cursor(name="acme_audit_rows") as cursor:
        cursor.itersize = batch
        cursor.execute(f"SELECT {AuditRow.COLUMNS} FROM audit_events ORDER BY id")
        for record in cursor:
            yield AuditRow.from_record(record)
