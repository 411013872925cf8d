"""What a person reads of a report version: the same rows and words in HTML and in PDF.

:func:`report_view` turns a :class:`~report.content.ReportContent` and its images into plain
strings (dates formatted, the patient name de-caretted, probabilities as percentages), so
both renderers show exactly the same thing and neither formats on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from report.content import ReportContent

STATUS_TITLES = {
    "preliminary": "PRELIMINARY - awaiting radiologist review",
    "final": "FINAL - signed",
    "amended": "AMENDED - signed",
}
WARNING = "NOT FOR DIAGNOSTIC USE"


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
class ReportView:
    title: str
    status: str
    warning: str | None
    intended_use: tuple[str, ...]
    patient: tuple[tuple[str, str], ...]
    study: tuple[tuple[str, str], ...]
    findings: tuple[FindingRow, ...]
    impression: str
    signature: str | None
    amendment: str | None
    footer: str


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def report_view(content: ReportContent) -> ReportView:
    """The rows and words of ``content`` (see the module docstring)."""
    patient, study = content.patient, content.study
    name = (patient.name or "").replace("^", " ").strip() or "(no name)"
    findings = tuple(
        FindingRow(
            label=f.label,
            code=f"{f.code.scheme} {f.code.value}",
            probability=percent(f.probability),
            threshold=percent(f.threshold),
            result="POSITIVE" if f.positive else "negative",
            model=f"{f.model} {f.model_version}",
        )
        for f in content.findings
    )
    signature = content.signature
    return ReportView(
        title="AI findings report",
        status=STATUS_TITLES[content.status],
        warning=WARNING if content.not_for_diagnosis else None,
        intended_use=tuple(f"{m.ref}: {m.intended_use}" for m in content.models),
        patient=(
            ("Patient", name),
            ("Patient ID", patient.patient_id + (f" ({patient.issuer})" if patient.issuer else "")),
            ("Birth date", patient.birth_date.isoformat() if patient.birth_date else "-"),
            ("Sex", patient.sex or "-"),
        ),
        study=(
            ("Accession", study.accession_number or "-"),
            ("Study date", study.study_date.isoformat() if study.study_date else "-"),
            ("Description", study.description or "-"),
            ("Study UID", study.study_uid),
        ),
        findings=findings,
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
