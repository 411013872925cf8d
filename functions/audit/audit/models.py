"""What the audit API answers and the query parameters it takes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from acme.audit import AuditQuery, AuditRow
from acme.events.values import DicomUID


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
        default=None, description="User id, or the emitting function's source."
    )
    type: str | None = Field(
        default=None, description="Event type; a trailing * matches by prefix."
    )
    since: AwareDatetime | None = Field(
        default=None, description="Occurred at or after (ISO 8601)."
    )
    until: AwareDatetime | None = Field(default=None, description="Occurred before (ISO 8601).")
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
        max_length=200,
        description="ID:HASH of a head reported earlier: also catches the newest rows removed.",
    )


class ExportParams(BaseModel):
    """Query parameters of ``GET /export``: a study, or a time range (or both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: DicomUID | None = Field(default=None, description="Study Instance UID.")
    since: AwareDatetime | None = Field(
        default=None, description="Occurred at or after (ISO 8601)."
    )
    until: AwareDatetime | None = Field(default=None, description="Occurred before (ISO 8601).")
    cursor: int | None = Field(default=None, ge=0, description="From the Bundle's next link.")
    limit: int = Field(default=1000, ge=1, le=10_000)

    @model_validator(mode="after")
    def _selects_something(self) -> ExportParams:
        if self.study is None and self.since is None and self.until is None:
            raise ValueError("give study, or a time range (since and/or until)")
        return self

    def query(self) -> AuditQuery:
        return AuditQuery(
            study=self.study, since=self.since, until=self.until, after=self.cursor,
            limit=self.limit,
        )  # fmt: skip
