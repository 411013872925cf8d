"""Reports and their versions in PostgreSQL (tables of migrations 0001 and 0004).

One report per study (``reports.study_uid`` is unique), its id derived from the Study UID,
so a drafting retried after a crash writes the same keys. ``current_version`` is the latest
version; every version is a row of ``report_versions`` that is never changed (a trigger
refuses it), holding the content JSON, its hash and the keys of its artifacts.

Writers hold :func:`lock_study` (a transaction-scoped advisory lock) for the whole of a
drafting, signing or amending, so they never interleave; :func:`advance` is still a
compare-and-set on the version the client saw, the optimistic-concurrency rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, dict_row
from psycopg.types.json import Jsonb

from acme.events import ReportArtifacts
from acme.lifecycle import StudyState
from report.content import ReportContent, ReportStatus

Conn = psycopg.Connection[TupleRow]
_NAMESPACE = uuid.UUID("5d0c7f7e-3b4f-4a52-9d0e-7a7c2f9e0b11")


def report_id_for(study_uid: str) -> uuid.UUID:
    """The id of a study's report (one per study)."""
    return uuid.uuid5(_NAMESPACE, study_uid)


@dataclass(frozen=True)
class ReportRow:
    id: uuid.UUID
    study_uid: str
    status: ReportStatus
    current_version: int
    signed_by: str | None
    signed_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class VersionRow:
    report_id: uuid.UUID
    version: int
    status: ReportStatus
    author: str
    author_role: str | None
    content: ReportContent
    content_sha256: str
    artifacts: ReportArtifacts
    run_ids: tuple[uuid.UUID, ...]
    reason: str | None
    created_at: datetime


_REPORT = (
    "SELECT id, study_uid, status, current_version, signed_by, signed_at, created_at,"
    " updated_at FROM reports"
)
_VERSION = (
    "SELECT report_id, version, status, author, author_role, content, content_sha256,"
    " fhir_key, sr_key, html_key, pdf_key, run_ids, reason, created_at FROM report_versions"
)


def lock_study(conn: Conn, study_uid: str) -> None:
    """Serialise report writers of one study until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"report:{study_uid}",))


def _report(row: dict[str, Any]) -> ReportRow:
    return ReportRow(**row)


def find_report(conn: Conn, report_id: uuid.UUID) -> ReportRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"{_REPORT} WHERE id = %s", (report_id,)).fetchone()
    return _report(row) if row else None


def report_of_study(conn: Conn, study_uid: str) -> ReportRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"{_REPORT} WHERE study_uid = %s", (study_uid,)).fetchone()
    return _report(row) if row else None


def list_reports(
    conn: Conn,
    *,
    status: ReportStatus | None = None,
    study_uid: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ReportRow]:
    """Reports, most recently changed first, optionally of one status or study."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_REPORT} WHERE (%(status)s::text IS NULL OR status = %(status)s)"
            " AND (%(study)s::text IS NULL OR study_uid = %(study)s)"
            " ORDER BY updated_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
            {"status": status, "study": study_uid, "limit": limit, "offset": offset},
        ).fetchall()
    return [_report(row) for row in rows]


def _version(row: dict[str, Any], bucket: str) -> VersionRow:
    return VersionRow(
        report_id=row["report_id"],
        version=row["version"],
        status=row["status"],
        author=row["author"],
        author_role=row["author_role"],
        content=ReportContent.model_validate(row["content"]),
        content_sha256=row["content_sha256"],
        artifacts=ReportArtifacts(
            bucket=bucket,
            fhir_key=row["fhir_key"],
            html_key=row["html_key"],
            pdf_key=row["pdf_key"],
            sr_key=row["sr_key"],
        ),
        run_ids=tuple(row["run_ids"]),
        reason=row["reason"],
        created_at=row["created_at"],
    )


def find_version(conn: Conn, report_id: uuid.UUID, version: int, bucket: str) -> VersionRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_VERSION} WHERE report_id = %s AND version = %s", (report_id, version)
        ).fetchone()
    return _version(row, bucket) if row else None


def versions(conn: Conn, report_id: uuid.UUID, bucket: str) -> list[VersionRow]:
    """Every version of a report, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_VERSION} WHERE report_id = %s ORDER BY version", (report_id,)
        ).fetchall()
    return [_version(row, bucket) for row in rows]


def insert_report(conn: Conn, report_id: uuid.UUID, study_uid: str) -> None:
    conn.execute(
        "INSERT INTO reports (id, study_uid, status, current_version)"
        " VALUES (%s, %s, 'preliminary', 1)",
        (report_id, study_uid),
    )


def insert_version(
    conn: Conn,
    content: ReportContent,
    artifacts: ReportArtifacts,
    *,
    author: str,
    author_role: str | None,
) -> None:
    """Record one version (its content, hash and artifact keys); never updated later."""
    conn.execute(
        "INSERT INTO report_versions (report_id, version, status, author, author_role, content,"
        " content_sha256, impression, run_ids, reason, fhir_key, sr_key, html_key, pdf_key)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            content.report_id,
            content.version,
            content.status,
            author,
            author_role,
            Jsonb(content.model_dump(mode="json")),
            content.sha256(),
            content.impression,
            list(content.run_ids),
            content.amendment_reason,
            artifacts.fhir_key,
            artifacts.sr_key,
            artifacts.html_key,
            artifacts.pdf_key,
        ),
    )


def advance(
    conn: Conn,
    report_id: uuid.UUID,
    *,
    expected_version: int,
    status: ReportStatus,
    signed_by: str | None = None,
    signed_at: datetime | None = None,
) -> bool:
    """Move the report to ``expected_version + 1``; False when it is no longer at
    ``expected_version`` (compare-and-set)."""
    row = conn.execute(
        "UPDATE reports SET current_version = current_version + 1, status = %s,"
        " signed_by = COALESCE(%s, signed_by), signed_at = COALESCE(%s, signed_at)"
        " WHERE id = %s AND current_version = %s RETURNING id",
        (status, signed_by, signed_at, report_id, expected_version),
    ).fetchone()
    return row is not None


def study_state(conn: Conn, study_uid: str) -> StudyState | None:
    """The study's state, or None when it is not indexed."""
    row = conn.execute(
        "SELECT state::text FROM studies WHERE study_uid = %s", (study_uid,)
    ).fetchone()
    return StudyState(row[0]) if row else None
