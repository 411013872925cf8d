"""What a report version says: one frozen pydantic model, the source of every rendered form.

A :class:`ReportContent` is stored as JSON in ``report_versions.content`` and rendered into a
FHIR bundle, a DICOM SR, HTML and PDF. It is a snapshot: the patient as the study's own images
name them and the study details are copied in when the report is drafted, so a version reads
the same forever. It lists every series of the study routed to a model with what became of it
(:class:`ReportedSeries`): its findings, its failure, or that it is still pending. It holds
PHI: never log it. :meth:`ReportContent.sha256` is the hash ``report.signed`` carries.

Versions written before series were listed (a flat ``findings`` list) are read through
:meth:`ReportContent._earlier_shape`; their stored hash stays the one they were signed with.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from acme.events import Finding, QaResult
from acme.outcomes import Outcome
from acme.patients import Patient, PatientAttribute
from report.codes import SCHEME_SYSTEMS

ReportStatus = Literal["preliminary", "final", "amended"]

__all__ = [
    "ModelUse",
    "Patient",
    "ReportContent",
    "ReportStatus",
    "ReportedSeries",
    "Signature",
    "SourceImage",
    "Study",
    "issued_now",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class ReportedSeries(_Model):
    """A series of the study routed to a model, and what became of it.

    ``completed``: the run's findings (each coded; CT lesions with their measurement) or, for
    a CT QA scan, its check; ``failed``: the run's reason code;
    ``pending``: no result yet (not scored yet, being scored, or reopened by a late instance).
    """

    series_uid: str
    modality: str
    pipeline: str
    outcome: Outcome
    run_id: UUID | None = None
    model: str | None = Field(default=None, description="name of the ModelUse it came from")
    model_version: str | None = None
    reason: str | None = Field(default=None, description="Why inference failed (reason code).")
    findings: tuple[Finding, ...] = ()
    qa: QaResult | None = Field(default=None, description="A CT QA phantom check's result.")

    @property
    def model_ref(self) -> str:
        return f"{self.model} {self.model_version}" if self.model else "-"


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
    patient_conflicts: tuple[PatientAttribute, ...] = Field(
        default=(),
        description="Attributes other instances or studies under this patient's record name "
        "differently: verify the patient's identity.",
    )
    study: Study
    pipelines: tuple[str, ...]
    models: tuple[ModelUse, ...] = Field(min_length=1)
    run_ids: tuple[UUID, ...] = Field(
        min_length=1, description="The runs of the series with a result (completed or failed)."
    )
    series: tuple[ReportedSeries, ...] = Field(min_length=1)
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
    def results(self) -> tuple[tuple[ReportedSeries, Finding], ...]:
        """Every finding, with the series (and run) it was made on, in series order."""
        return tuple((series, finding) for series in self.series for finding in series.findings)

    @property
    def qa_checks(self) -> tuple[tuple[ReportedSeries, QaResult], ...]:
        """Every CT QA phantom check, with its series."""
        return tuple((series, series.qa) for series in self.series if series.qa is not None)

    @property
    def positive(self) -> tuple[Finding, ...]:
        return tuple(finding for _, finding in self.results if finding.positive)

    @property
    def pending(self) -> tuple[ReportedSeries, ...]:
        """The routed series without a result yet."""
        return tuple(series for series in self.series if series.outcome == "pending")

    @property
    def failed(self) -> tuple[ReportedSeries, ...]:
        return tuple(series for series in self.series if series.outcome == "failed")

    @property
    def complete(self) -> bool:
        """True when every routed series has a result (completed or failed)."""
        return not self.pending

    @model_validator(mode="before")
    @classmethod
    def _earlier_shape(cls, data: Any) -> Any:
        """Versions written before series were listed kept a flat ``findings`` list, each item
        naming its run, series, model and code: regroup them by run (all completed)."""
        if not isinstance(data, dict) or "findings" not in data or "series" in data:
            return data
        upgraded = dict(data)
        modality = {i["series_uid"]: i["modality"] for i in data.get("source_images", ())}
        pipelines = list(data.get("pipelines") or ["cxr"])
        groups: dict[str, dict[str, Any]] = {}
        for item in upgraded.pop("findings"):
            run = str(item["run_id"])
            group = groups.setdefault(
                run,
                {"series_uid": item["series_uid"], "pipeline": pipelines[0],
                 "modality": modality.get(item["series_uid"], "OT"), "outcome": "completed",
                 "run_id": run, "model": item["model"], "model_version": item["model_version"],
                 "findings": []},
            )  # fmt: skip
            code = item.get("code")
            group["findings"].append(
                {"label": item["label"], "probability": item["probability"],
                 "threshold": item["threshold"], "positive": item["positive"],
                 "sop_uid": item.get("sop_uid"), "heatmap_key": item.get("heatmap_key"),
                 "code": {"system": SCHEME_SYSTEMS[code["scheme"]], "code": code["value"],
                          "display": code["meaning"]} if code else None}
            )  # fmt: skip
        upgraded["series"] = list(groups.values())
        return upgraded

    def to_json(self) -> str:
        """The canonical JSON of this version (fields in declared order, no whitespace)."""
        return self.model_dump_json(round_trip=True)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()


def issued_now() -> datetime:
    """Now, in UTC, to the millisecond (what FHIR instants and DICOM DT keep)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
