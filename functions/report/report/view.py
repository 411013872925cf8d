"""What a person reads of a report version: the same rows and words in HTML and in PDF.

:func:`report_view` turns a :class:`~report.content.ReportContent` and its images into plain
strings (dates formatted, the patient name de-caretted, probabilities as percentages), so
both renderers show exactly the same thing and neither formats on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from acme.events import Finding, QaItem, QaResult
from acme.patients import PatientAttribute
from report import codes
from report.content import ReportContent, ReportedSeries

STATUS_TITLES = {
    "preliminary": "PRELIMINARY - awaiting radiologist review",
    "final": "FINAL - signed",
    "amended": "AMENDED - signed",
}
PARTIAL_TITLE = "PRELIMINARY, INCOMPLETE - a series has no AI result yet"
WARNING = "NOT FOR DIAGNOSTIC USE"
_ATTRIBUTE_NAMES: dict[PatientAttribute, str] = {
    "patient_id": "Patient ID",
    "name": "name",
    "birth_date": "birth date",
    "sex": "sex",
}


@dataclass(frozen=True)
class ReportImages:
    """PNG images shown in a report: the key image and a heatmap per positive label."""

    key_image: bytes | None = None
    heatmaps: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class FindingRow:
    label: str
    code: str
    probability: str
    threshold: str
    result: str
    model: str


@dataclass(frozen=True)
class QaRow:
    item: str
    value: str
    tolerance: str
    result: str


@dataclass(frozen=True)
class SeriesRow:
    series: str
    modality: str
    pipeline: str
    result: str


@dataclass(frozen=True)
class ReportView:
    title: str
    status: str
    warning: str | None
    intended_use: tuple[str, ...]
    patient: tuple[tuple[str, str], ...]
    identity_warnings: tuple[str, ...]
    study: tuple[tuple[str, str], ...]
    series: tuple[SeriesRow, ...]
    notes: tuple[str, ...]
    findings: tuple[FindingRow, ...]
    qa: tuple[QaRow, ...]
    qa_verdict: str | None
    impression: str
    signature: str | None
    amendment: str | None
    footer: str


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def series_note(series: ReportedSeries) -> str:
    """One sentence on a routed series without findings: pending, or why it has none."""
    where = f"{series.modality} series {series.series_uid} ({series.pipeline})"
    if series.qa is not None:
        return f"{where}: QA check {'passed' if series.qa.passed else 'FAILED'}."
    if series.outcome == "failed":
        return f"No AI result for {where}: inference failed ({series.reason})."
    if series.outcome == "pending":
        return f"Pending: {where} has no AI result yet."
    return f"{where}: the model reported no findings."


QA_NAMES = {
    "water-mean": "Water mean CT number",
    "noise": "Noise (SD)",
    "uniformity": "Uniformity (edge - centre)",
}


def finding_text(finding: Finding) -> str:
    """A finding as a person reads it: its label and, for a lesion, its size and place."""
    m = finding.measurement
    if m is None:
        return finding.label
    first, last = m.slices
    where = f"slice {first}" if first == last else f"slices {first}-{last}"
    return f"{finding.label} {m.number}: {m.diameter_mm:.1f} mm, {m.side} lung, {where}"


def _tolerance(item: QaItem) -> str:
    if item.lower == -item.upper:
        return f"within ±{item.upper:g} HU"
    return f"{item.lower:g} to {item.upper:g} HU"


def qa_text(check: QaResult) -> str:
    """One sentence on a CT QA phantom check: its verdict and each measurement."""
    items = "; ".join(
        f"{QA_NAMES[i.name]} {i.value:.1f} HU ({'pass' if i.passed else 'FAIL'}, {_tolerance(i)})"
        for i in check.items
    )
    verdict = "PASSED" if check.passed else "FAILED"
    return f"CT QA water phantom ({check.phantom_diameter_mm:.0f} mm) {verdict}: {items}."


def conflict_note(attribute: PatientAttribute) -> str:
    """One sentence on a patient attribute the study's patient record has two values for."""
    return (
        f"Patient record conflict: the {_ATTRIBUTE_NAMES[attribute]} differs between images "
        "filed under this patient. Verify the patient's identity."
    )


def _result(series: ReportedSeries) -> str:
    if series.qa is not None:
        return f"QA {'passed' if series.qa.passed else 'FAILED'} ({series.model_ref})"
    if series.outcome == "completed":
        return f"{len(series.findings)} findings ({series.model_ref})"
    if series.outcome == "failed":
        return f"failed: {series.reason}"
    return "PENDING"


def report_view(content: ReportContent) -> ReportView:
    """The rows and words of ``content`` (see the module docstring)."""
    patient, study = content.patient, content.study
    name = (patient.name or "").replace("^", " ").strip() or "(no name)"
    findings = tuple(
        FindingRow(
            label=finding_text(f),
            code=f"{code.scheme} {code.value}",
            probability=percent(f.probability),
            threshold=percent(f.threshold),
            result="POSITIVE" if f.positive else "negative",
            model=series.model_ref,
        )
        for series, f in content.results
        for code in (codes.code_of(f),)
    )
    signature = content.signature
    partial = content.status == "preliminary" and not content.complete
    return ReportView(
        title="CT quality assurance report" if content.qa_checks else "AI findings report",
        status=PARTIAL_TITLE if partial else STATUS_TITLES[content.status],
        warning=WARNING if content.not_for_diagnosis else None,
        intended_use=tuple(f"{m.ref}: {m.intended_use}" for m in content.models),
        patient=(
            ("Patient", name),
            ("Patient ID", patient.patient_id + (f" ({patient.issuer})" if patient.issuer else "")),
            ("Birth date", patient.birth_date.isoformat() if patient.birth_date else "-"),
            ("Sex", patient.sex or "-"),
        ),
        identity_warnings=tuple(conflict_note(a) for a in content.patient_conflicts),
        study=(
            ("Accession", study.accession_number or "-"),
            ("Study date", study.study_date.isoformat() if study.study_date else "-"),
            ("Description", study.description or "-"),
            ("Study UID", study.study_uid),
        ),
        series=tuple(
            SeriesRow(s.series_uid, s.modality, s.pipeline, _result(s)) for s in content.series
        ),
        notes=tuple(series_note(s) for s in content.series if not s.findings and s.qa is None),
        findings=findings,
        qa=tuple(
            QaRow(
                item=QA_NAMES[item.name],
                value=f"{item.value:.2f} {item.unit}",
                tolerance=_tolerance(item),
                result="pass" if item.passed else "FAIL",
            )
            for _, check in content.qa_checks
            for item in check.items
        ),
        qa_verdict=next(
            (
                "QA PASSED" if check.passed else "QA FAILED: the scanner is out of tolerance"
                for _, check in content.qa_checks
            ),
            None,
        ),
        impression=content.impression,
        signature=(
            f"Signed by {signature.name} ({signature.role}) on {_when(signature.at)}"
            if signature
            else None
        ),
        amendment=f"Amendment: {content.amendment_reason}" if content.amendment_reason else None,
        footer=(
            f"Report {content.report_id} - version {content.version} - issued "
            f"{_when(content.issued)}"
        ),
    )
