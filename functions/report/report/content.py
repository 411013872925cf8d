"""What a report version says: one frozen pydantic model, the source of every rendered form.

A :class:`ReportContent` is stored as JSON in ``report_versions.content`` and rendered into a
FHIR bundle, a DICOM SR, HTML and PDF. It is a snapshot: patient and study details are copied
in when the report is drafted, so a version reads the same forever. It holds PHI: never log it.
:meth:`ReportContent.sha256` is the hash ``report.signed`` carries.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from report.codes import Code

ReportStatus = Literal["preliminary", "final", "amended"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeRef(_Model):
    """A :class:`~report.codes.Code` as stored."""

    scheme: str
    value: str
    meaning: str

    @classmethod
    def of(cls, code: Code) -> CodeRef:
        return cls(scheme=code.scheme, value=code.value, meaning=code.meaning)

    def code(self) -> Code:
        return Code(self.scheme, self.value, self.meaning)


class Patient(_Model):
    """The patient as the source images name them (Patient module)."""

    patient_id: str
    issuer: str = ""
    name: str | None = Field(default=None, description="DICOM PN, e.g. Doe^Jane")
    birth_date: date | None = None
    sex: Literal["M", "F", "O"] | None = None


class Study(_Model):
    study_uid: str
    accession_number: str | None = None
    study_date: date | None = None
    study_time: time | None = None
    description: str | None = None
    referring_physician: str | None = None


class SourceImage(_Model):
    """An image the findings were made on (the SR references it)."""

    series_uid: str
    sop_uid: str
    sop_class_uid: str
    modality: str


class ModelUse(_Model):
    """A model whose results the report holds, with its card's intended use."""

    name: str
    version: str
    intended_use: str
    diagnostic_use: bool

    @property
    def ref(self) -> str:
        return f"{self.name} {self.version}"


class Finding(_Model):
    """One model label's result on one series."""

    label: str
    code: CodeRef
    probability: float = Field(ge=0.0, le=1.0)
    threshold: float = Field(ge=0.0, le=1.0)
    positive: bool
    run_id: UUID
    series_uid: str
    sop_uid: str | None = Field(description="The image that gave the probability (highest).")
    model: str = Field(description="name of the ModelUse it came from")
    model_version: str
    heatmap_key: str | None = None


class Signature(_Model):
    """Who signed a version, and when."""

    user: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128, description="As printed; a DICOM PN.")
    at: AwareDatetime


class ReportContent(_Model):
    """One version of a report (see the module docstring)."""

    report_id: UUID
    version: int = Field(ge=1)
    status: ReportStatus
    issued: AwareDatetime
    patient: Patient
    study: Study
    pipelines: tuple[str, ...]
    models: tuple[ModelUse, ...] = Field(min_length=1)
    run_ids: tuple[UUID, ...] = Field(min_length=1)
    findings: tuple[Finding, ...]
    source_images: tuple[SourceImage, ...]
    key_image_key: str | None = Field(
        default=None, description="The rendered key image (PNG) in the results bucket."
    )
    impression: str = Field(min_length=1, max_length=20000)
    signature: Signature | None = None
    amendment_reason: str | None = None

    @property
    def not_for_diagnosis(self) -> bool:
        """True unless every model is cleared for diagnostic use."""
        return not all(model.diagnostic_use for model in self.models)

    @property
    def positive(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.positive)

    def to_json(self) -> str:
        """The canonical JSON of this version (fields in declared order, no whitespace)."""
        return self.model_dump_json(round_trip=True)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()


def issued_now() -> datetime:
    """Now, in UTC, to the millisecond (what FHIR instants and DICOM DT keep)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
