"""The record of each association the receiver served: who called, how it ended, and which
series it delivered (how many instances of each were stored).

:class:`PostgresJournal` writes ``dicom_associations`` and ``dicom_association_series``
(migration 0011); :class:`InMemoryJournal` is its test double. The record is a hint (for
example, that a modality finished sending a series), never the only copy of anything:
the instances themselves are in dicom-inbox before the association ends.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import psycopg

from acme.db import Pool
from acme.errors import DatabaseError

AssociationOutcome = Literal["released", "aborted", "timed-out"]


@dataclass(frozen=True)
class SeriesDelivered:
    """One series an association delivered, and how many of its instances were stored."""

    study_uid: str
    series_uid: str
    instances: int


@dataclass(frozen=True)
class AssociationRecord:
    """One association from its acceptance to its end."""

    id: uuid.UUID
    calling_ae: str
    called_ae: str
    peer_address: str
    peer_port: int
    started_at: datetime
    ended_at: datetime
    outcome: AssociationOutcome
    stored: int
    failed: int
    series: tuple[SeriesDelivered, ...] = ()


class AssociationJournal(Protocol):
    """Where association records go."""

    def record(self, record: AssociationRecord) -> None:
        """Keep ``record``; :class:`~acme.errors.DatabaseError` when it cannot."""
        ...


class PostgresJournal:
    """Association records in PostgreSQL; recording the same id twice changes nothing."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def record(self, record: AssociationRecord) -> None:
        try:
            with self._pool.connection() as conn, conn.transaction():
                inserted = conn.execute(
                    "INSERT INTO dicom_associations (id, calling_ae, called_ae, peer_address,"
                    " peer_port, started_at, ended_at, outcome, stored, failed)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING RETURNING id",
                    (record.id, record.calling_ae, record.called_ae, record.peer_address,
                     record.peer_port, record.started_at, record.ended_at, record.outcome,
                     record.stored, record.failed),
                ).fetchone()  # fmt: skip
                if inserted is None:
                    return
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO dicom_association_series (association_id, study_uid,"
                        " series_uid, instances) VALUES (%s, %s, %s, %s)",
                        [(record.id, s.study_uid, s.series_uid, s.instances)
                         for s in record.series],
                    )  # fmt: skip
        except psycopg.Error as exc:
            raise DatabaseError(f"recording association {record.id} failed: {exc}") from exc


@dataclass
class InMemoryJournal:
    """The test double: records in a list."""

    records: list[AssociationRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, record: AssociationRecord) -> None:
        with self._lock:
            if all(known.id != record.id for known in self.records):
                self.records.append(record)
