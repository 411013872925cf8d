"""The JSON the report API answers with, and the query it takes (pydantic, in its OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from acme.events.values import DicomUID
from report.artifacts import FORMS
from report.content import ReportContent, ReportStatus
from report.store import ReportRow, VersionRow


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListParams(_Model):
    """``GET /reports`` query: filter by status or study, a page at a time."""

    status: ReportStatus | None = None
    study: DicomUID | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class ReportSummary(_Model):
    report_id: UUID
    study_uid: str
    status: ReportStatus
    current_version: int
    signed_by: str | None
    signed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ReportRow) -> ReportSummary:
        return cls(
            report_id=row.id,
            study_uid=row.study_uid,
            status=row.status,
            current_version=row.current_version,
            signed_by=row.signed_by,
            signed_at=row.signed_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ReportList(_Model):
    reports: list[ReportSummary]
    limit: int
    offset: int


class VersionSummary(_Model):
    """One version: who wrote it, its hash, and where its rendered forms are."""

    version: int
    status: ReportStatus
    author: str
    author_role: str | None
    content_sha256: str
    reason: str | None = Field(description="Why it was amended (amended versions).")
    created_at: datetime
    links: dict[str, str] = Field(description="fhir, sr, html, pdf: paths of the forms.")

    @classmethod
    def of(cls, row: VersionRow, base: str) -> VersionSummary:
        prefix = f"{base}/reports/{row.report_id}/versions/{row.version}"
        return cls(
            version=row.version,
            status=row.status,
            author=row.author,
            author_role=row.author_role,
            content_sha256=row.content_sha256,
            reason=row.reason,
            created_at=row.created_at,
            links={kind: f"{prefix}/{form.name}" for kind, form in FORMS.items()},
        )


class VersionDetail(_Model):
    version: VersionSummary
    content: ReportContent


class ReportDetail(_Model):
    """A report, every version of it (oldest first), and the current version's content."""

    report: ReportSummary
    versions: list[VersionSummary]
    current: ReportContent
