"""What the audit API answers and the query parameters it takes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from acme.audit import Anchor, AuditQuery, AuditRow
from acme.events.values import DicomUID
from acme.http import IsoDateTime


class AuditRecord(BaseModel):
    """One row of the trail: the event as received, where it sits in the chain."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="Position in the chain (1, 2, 3...).")
    event_id: str = Field(description="The CloudEvent id (the trail holds each id once).")
    type: str
    source: str
    subject: str | None
    occurred_at: datetime | None = Field(description="The event's time.")
    recorded_at: datetime = Field(description="When the trail recorded it.")
    study_uid: str | None
    actor: str | None = Field(description="The person (access, sign-off) or emitting function.")
    data: JsonValue
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: AuditRow) -> AuditRecord:
        subject = row.payload.get("subject")
        return cls(
            id=row.id,
            event_id=row.event_id,
            type=row.event_type,
            source=str(row.payload.get("source", "")),
            subject=str(subject) if subject is not None else None,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            study_uid=row.study_uid,
            actor=row.actor,
            data=row.data,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


class AuditRecords(BaseModel):
    """A page of records; pass ``next_cursor`` as ``cursor`` for the next one."""

    records: list[AuditRecord]
    next_cursor: int | None


class RecordsParams(BaseModel):
    """Query parameters of ``GET /records`` (all optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: DicomUID | None = Field(default=None, description="Study Instance UID.")
    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="User id, or the emitting function's source.",
    )
    type: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Event type; a trailing * matches by prefix.",
    )
    since: IsoDateTime | None = Field(default=None, description="Occurred at or after (ISO 8601).")
    until: IsoDateTime | None = Field(default=None, description="Occurred before (ISO 8601).")
    order: Literal["asc", "desc"] = "desc"
    cursor: int | None = Field(default=None, ge=0, description="next_cursor of the previous page.")
    limit: int = Field(default=100, ge=1, le=500)

    def query(self) -> AuditQuery:
        return AuditQuery(
            study=self.study,
            actor=self.actor,
            type=self.type,
            since=self.since,
            until=self.until,
            order=self.order,
            after=self.cursor if self.order == "asc" else None,
            before=self.cursor if self.order == "desc" else None,
            limit=self.limit,
        )


class VerifyParams(BaseModel):
    """Query parameters of ``GET /verify``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    head: str | None = Field(
        default=None,
        json_schema_extra={"pattern": r"^[1-9][0-9]{0,18}:[0-9a-f]{64}$"},
        description="ID:HASH of a head reported earlier: also catches the newest rows removed.",
    )

    @field_validator("head")
    @classmethod
    def _anchor(cls, value: str | None) -> str | None:
        if value is not None:
            Anchor.parse(value)  # ValueError naming the form ID:HASH
        return value


class ExportParams(BaseModel):
    """Query parameters of ``GET /export``: a study, a time range, both, or neither (the whole
    trail, a page at a time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: DicomUID | None = Field(default=None, description="Study Instance UID.")
    since: IsoDateTime | None = Field(default=None, description="Occurred at or after (ISO 8601).")
    until: IsoDateTime | None = Field(default=None, description="Occurred before (ISO 8601).")
    cursor: int | None = Field(default=None, ge=0, description="From the Bundle's next link.")
    limit: int = Field(default=1000, ge=1, le=10_000)

    def query(self) -> AuditQuery:
        return AuditQuery(
            study=self.study, since=self.since, until=self.until, after=self.cursor,
            limit=self.limit,
        )  # fmt: skip
