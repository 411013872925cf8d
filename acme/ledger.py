"""The inbox ledger: what became of each object dropped into dicom-inbox, and when.

dicom-ingest writes one row per inbox object (one version of a key: bucket, key, ETag and
time received) in the transaction that settles it:

* ``archived`` — it became the instance ``sop_uid``;
* ``duplicate`` — it repeats the archived instance ``sop_uid`` (same identity, same decoded
  pixels) or the quarantine entry ``quarantine`` (same bytes, same reason), and was dropped;
* ``quarantined`` — it is the quarantine entry ``quarantine``;
* ``declared`` — it is a completion manifest (:mod:`acme.series_manifest`), recorded.

A quarantine entry is one type everywhere: the ``instance.rejected`` event's
:class:`~acme.events.InstanceRejected`, which is also what the ``quarantine_entries`` row holds
and what the ledger shows. ``acme status --object KEY``, ``acme send`` and the ingest HTTP API
read the ledger through this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow, dict_row
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from acme.db import Pool
from acme.events import InstanceRejected
from acme.events.values import BucketName, DicomUID, ObjectKey, Sha256
from acme.storage import ObjectInfo, ObjectStore

Outcome = Literal["archived", "duplicate", "quarantined", "declared"]
Connection = psycopg.Connection[TupleRow]


class LedgerEntry(BaseModel):
    """What became of one inbox object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: BucketName
    key: ObjectKey
    etag: str = Field(max_length=256)
    size: int = Field(ge=0)
    received_at: AwareDatetime
    outcome: Outcome
    sop_uid: DicomUID | None = Field(
        default=None, description="archived: the instance; duplicate: the instance it repeats."
    )
    sha256: Sha256 | None = Field(default=None, description="Of the bytes received, when read.")
    quarantine: InstanceRejected | None = Field(
        default=None, description="quarantined: its entry; duplicate: the entry it repeats."
    )
    settled_at: AwareDatetime

    @property
    def tally_key(self) -> str:
        """How ``acme send`` counts it: archived, duplicate, or quarantined by reason."""
        if self.outcome == "quarantined" and self.quarantine is not None:
            return f"quarantined: {self.quarantine.reason_code}"
        return self.outcome

    def describe(self) -> str:
        """One line for people (no PHI: UIDs, reason codes and quarantine keys only)."""
        if self.outcome == "archived":
            return f"archived as instance {self.sop_uid}"
        if self.outcome == "declared":
            return "completion manifest recorded"
        if self.outcome == "duplicate" and self.sop_uid is not None:
            return f"duplicate of archived instance {self.sop_uid}; dropped"
        assert self.quarantine is not None
        entry = self.quarantine
        where = f"{entry.quarantine_bucket}/{entry.quarantine_key}"
        if self.outcome == "duplicate":
            return f"duplicate of quarantine entry {where} ({entry.reason_code}); dropped"
        return f"quarantined as {entry.reason_code}: {entry.detail} ({where})"


class ObjectStatus(BaseModel):
    """Everything known about one inbox key: its settled versions, and one still waiting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: BucketName
    key: ObjectKey
    waiting: bool = Field(description="An object is in the inbox under this key, not settled.")
    attempts: int = Field(ge=0, description="Tries at the waiting object so far.")
    failures: int = Field(ge=0, description="Tries at the waiting object that failed.")
    last_error: str | None = Field(default=None, description="Exception class of the last one.")
    entries: list[LedgerEntry] = Field(description="Settled versions of the key, newest first.")


_COLUMN_OF: dict[str, str] = {
    "quarantine_key": "key",
    "bucket": "source_bucket",
    "key": "source_key",
    "reason_code": "reason_code",
    "detail": "detail",
    "quarantine_bucket": "quarantine_bucket",
    "size": "size",
    "sha256": "sha256",
    "study_uid": "study_uid",
    "series_uid": "series_uid",
    "sop_uid": "sop_uid",
    "rejected_at": "quarantined_at",
}
"""Each field of a quarantine entry (:class:`InstanceRejected`) and its column: the one mapping
between the row and the event."""

_ENTRY_FIELDS = ", ".join(f"q.{column} AS q_{name}" for name, column in _COLUMN_OF.items())
_SELECT = f"""
SELECT l.bucket, l.key, l.etag, l.size, l.received_at, l.outcome, l.sop_uid, l.sha256,
       l.settled_at, {_ENTRY_FIELDS}
FROM inbox_ledger l LEFT JOIN quarantine_entries q ON q.key = l.quarantine_key
"""


def insert_quarantine_entry(conn: Connection, entry: InstanceRejected) -> bool:
    """Record ``entry``; False when an entry with its quarantine key exists already."""
    columns = ", ".join(_COLUMN_OF.values())
    values = ", ".join(f"%({name})s" for name in _COLUMN_OF)
    row = conn.execute(
        f"INSERT INTO quarantine_entries ({columns}) VALUES ({values})"
        " ON CONFLICT (key) DO NOTHING RETURNING id",
        entry.model_dump(),
    ).fetchone()
    return row is not None


def quarantine_entry(conn: Connection, quarantine_key: str) -> InstanceRejected | None:
    """The entry stored under ``quarantine_key``, if any."""
    fields = ", ".join(f"{column} AS q_{name}" for name, column in _COLUMN_OF.items())
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {fields} FROM quarantine_entries WHERE key = %s",
            (quarantine_key,),
        ).fetchone()
    return _quarantine(row) if row is not None else None


def record(
    conn: Connection,
    info: ObjectInfo,
    outcome: Outcome,
    *,
    sop_uid: str | None = None,
    quarantine_key: str | None = None,
    sha256: str | None = None,
) -> LedgerEntry:
    """Settle ``info`` with ``outcome`` (in the caller's transaction) and return its entry.

    An object settled already keeps its first entry, which is returned: a redelivery never
    rewrites what a sender was told. Its attempt count goes with it.
    """
    conn.execute(
        "INSERT INTO inbox_ledger (bucket, key, etag, size, received_at, outcome, sop_uid,"
        " quarantine_key, sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (bucket, key, etag, received_at) DO NOTHING",
        (info.bucket, info.key, info.etag, info.size, info.last_modified, outcome, sop_uid,
         quarantine_key, sha256),
    )  # fmt: skip
    conn.execute(
        "DELETE FROM ingest_attempts WHERE bucket = %s AND key = %s AND etag = %s"
        " AND received_at = %s",
        (info.bucket, info.key, info.etag, info.last_modified),
    )
    entry = settled(conn, info)
    assert entry is not None, "inserted in this transaction"
    return entry


def settled(conn: Connection, info: ObjectInfo) -> LedgerEntry | None:
    """The entry of this very object (same key, ETag and time received), if it is settled."""
    rows = _select(
        conn,
        "WHERE l.bucket = %s AND l.key = %s AND l.etag = %s AND l.received_at = %s",
        (info.bucket, info.key, info.etag, info.last_modified),
    )
    return rows[0] if rows else None


def latest_by_key(pool: Pool, bucket: str, keys: Iterable[str]) -> dict[str, LedgerEntry]:
    """The newest entry of each of ``keys`` that has one."""
    with pool.connection() as conn:
        rows = _select(
            conn,
            "WHERE l.bucket = %s AND l.key = ANY(%s) ORDER BY l.key, l.settled_at DESC",
            (bucket, list(keys)),
        )
    latest: dict[str, LedgerEntry] = {}
    for entry in rows:
        latest.setdefault(entry.key, entry)
    return latest


def object_status(pool: Pool, store: ObjectStore, bucket: str, key: str) -> ObjectStatus:
    """The ledger entries of ``key`` and whether a version of it waits in the inbox."""
    with pool.connection() as conn:
        entries = _select(
            conn, "WHERE l.bucket = %s AND l.key = %s ORDER BY l.settled_at DESC", (bucket, key)
        )
        info = store.head(bucket, key)
        counts = None
        if info is not None:
            counts = conn.execute(
                "SELECT attempts, failures, last_error FROM ingest_attempts WHERE bucket = %s"
                " AND key = %s AND etag = %s AND received_at = %s",
                (bucket, key, info.etag, info.last_modified),
            ).fetchone()
    attempts, failures, last_error = counts if counts is not None else (0, 0, None)
    return ObjectStatus(
        bucket=bucket,
        key=key,
        waiting=info is not None,
        attempts=attempts,
        failures=failures,
        last_error=last_error,
        entries=entries,
    )


def tally(entries: Iterable[LedgerEntry]) -> Counter[str]:
    """Counts by :attr:`LedgerEntry.tally_key`."""
    return Counter(entry.tally_key for entry in entries)


def _select(conn: Connection, where: str, params: tuple[Any, ...]) -> list[LedgerEntry]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_SELECT + where, params).fetchall()
    return [_entry(row) for row in rows]


def _quarantine(row: dict[str, Any]) -> InstanceRejected:
    return InstanceRejected.model_validate({name: row[f"q_{name}"] for name in _COLUMN_OF})


def _entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        bucket=row["bucket"],
        key=row["key"],
        etag=row["etag"],
        size=row["size"],
        received_at=row["received_at"],
        outcome=row["outcome"],
        sop_uid=row["sop_uid"],
        sha256=row["sha256"],
        quarantine=_quarantine(row) if row["q_quarantine_key"] is not None else None,
        settled_at=row["settled_at"],
    )
