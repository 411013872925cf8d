"""The worklist and a study's detail, read from the index (JSON for the SPA).

The worklist filters on state, modality, study date range, the AI flag (``positive``: a
finding of the study's current results is positive; ``negative``: results, none positive;
``none``: no results yet) and free text on patient name, patient ID or accession number; it
sorts on a whitelisted column and pages with ``limit``/``offset`` (``total`` counts every
match).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, Literal
from uuid import UUID

from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field

from acme.db import Pool
from acme.events import Coding, Finding
from acme.events.values import DicomUID
from acme.http import IsoDate
from acme.lifecycle import StudyState
from acme.outcomes import routed_series
from acme.patients import record_conflicts
from worklist.matching import like_pattern

AiFlag = Literal["positive", "negative", "none"]
Sort = Literal["received", "updated", "study_date", "patient_name", "state"]
_SORTS: Final = {
    "received": "received_at",
    "updated": "updated_at",
    "study_date": "study_date",
    "patient_name": "lower(patient_name)",
    "state": "state",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorklistParams(_Model):
    """``GET /worklist`` query."""

    state: StudyState | None = None
    modality: str | None = Field(default=None, pattern=r"^[A-Z0-9_]{1,16}$")
    date_from: IsoDate | None = Field(default=None, description="Study date on or after.")
    date_to: IsoDate | None = Field(default=None, description="Study date on or before.")
    ai: AiFlag | None = Field(default=None, description="positive, negative or none (no result).")
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Free text in the patient's name or ID, or the accession number.",
    )
    sort: Sort = "received"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class TopFinding(_Model):
    """The study's leading AI finding: the most probable positive one, else the most probable."""

    label: str
    probability: float
    positive: bool


class WorklistItem(_Model):
    study_uid: str
    patient_name: str | None
    patient_id: str | None
    accession_number: str | None
    study_date: date | None
    study_description: str | None
    modalities: list[str]
    state: StudyState
    failure_reason: str | None
    series: int
    instances: int
    ai: AiFlag
    positive_labels: list[str]
    top_finding: TopFinding | None
    not_for_diagnosis: bool = Field(
        description="A model of the current results says its output is not for diagnostic use."
    )
    report_id: UUID | None
    report_status: str | None
    received_at: datetime
    updated_at: datetime


class WorklistPage(_Model):
    items: list[WorklistItem]
    total: int
    limit: int
    offset: int


class InstanceView(_Model):
    sop_uid: str
    sop_class_uid: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    frames: int
    transfer_syntax: str


class SeriesView(_Model):
    series_uid: str
    modality: str
    body_part: str | None
    series_number: int | None
    description: str | None
    pipeline: str | None
    completions: int
    completed_at: datetime | None
    outcome: Literal["completed", "failed", "pending"] | None = Field(
        description="For a series routed to a model: what became of its latest completion."
    )
    instances: list[InstanceView]


class RunView(_Model):
    run_id: UUID
    series_uid: str
    series_completion: int
    pipeline: str
    model_name: str
    model_version: str
    status: Literal["running", "completed", "failed"]
    reason_code: str | None
    device: str | None
    not_for_diagnosis: bool
    started_at: datetime
    finished_at: datetime | None
    findings: list[Finding]


class StudyDetail(_Model):
    study: WorklistItem
    series: list[SeriesView]
    runs: list[RunView]
    patient_conflicts: list[str] = Field(
        description="Attributes on which images filed under the study's patient record disagree."
    )


_BASE = """
SELECT st.study_uid, p.patient_name, p.patient_id, st.accession_number, st.study_date,
       st.study_description, st.state, st.failure_reason, st.created_at AS received_at,
       st.updated_at,
       COALESCE((SELECT array_agg(DISTINCT s.modality ORDER BY s.modality) FROM series s
                 WHERE s.study_uid = st.study_uid), '{}') AS modalities,
       (SELECT count(*) FROM series s WHERE s.study_uid = st.study_uid) AS series,
       (SELECT COALESCE(sum(s.instance_count), 0) FROM series s
         WHERE s.study_uid = st.study_uid) AS instances,
       COALESCE((SELECT array_agg(DISTINCT f.label ORDER BY f.label)
                 FROM findings f JOIN inference_runs r ON r.id = f.run_id
                 JOIN series s ON s.series_uid = r.series_uid
                   AND s.completions = r.series_completion
                 WHERE r.study_uid = st.study_uid AND r.status = 'completed' AND f.positive),
                '{}') AS positive_labels,
       EXISTS (SELECT 1 FROM inference_runs r
               WHERE r.study_uid = st.study_uid AND r.status = 'completed') AS has_results,
       EXISTS (SELECT 1 FROM inference_runs r JOIN series s ON s.series_uid = r.series_uid
                 AND s.completions = r.series_completion
               WHERE r.study_uid = st.study_uid AND r.status = 'completed'
                 AND r.not_for_diagnosis) AS not_for_diagnosis,
       top.label AS top_label, top.probability AS top_probability, top.positive AS top_positive,
       rp.id AS report_id, rp.status AS report_status
FROM studies st
LEFT JOIN patients p ON p.id = st.patient_pk
LEFT JOIN reports rp ON rp.study_uid = st.study_uid
LEFT JOIN LATERAL (
  SELECT f.label, f.probability, f.positive
  FROM findings f JOIN inference_runs r ON r.id = f.run_id
  JOIN series s ON s.series_uid = r.series_uid AND s.completions = r.series_completion
  WHERE r.study_uid = st.study_uid AND r.status = 'completed' AND f.threshold IS NOT NULL
  ORDER BY f.positive DESC, f.probability DESC, f.label LIMIT 1
) top ON TRUE
"""


def _item(row: dict[str, Any]) -> WorklistItem:
    has_results = row.pop("has_results")
    label, probability, positive = (
        row.pop("top_label"),
        row.pop("top_probability"),
        row.pop("top_positive"),
    )
    top = None
    if label is not None:
        top = TopFinding(label=label, probability=probability, positive=positive)
    ai: AiFlag = "positive" if row["positive_labels"] else "negative" if has_results else "none"
    row.pop("total", None)
    return WorklistItem(**row, ai=ai, top_finding=top)


def worklist(pool: Pool, params: WorklistParams) -> WorklistPage:
    clauses: list[str] = []
    values: list[Any] = []
    if params.state is not None:
        clauses.append("state = %s")
        values.append(params.state.value)
    if params.modality is not None:
        clauses.append("%s = ANY(modalities)")
        values.append(params.modality)
    if params.date_from is not None:
        clauses.append("study_date >= %s")
        values.append(params.date_from)
    if params.date_to is not None:
        clauses.append("study_date <= %s")
        values.append(params.date_to)
    if params.ai == "positive":
        clauses.append("cardinality(positive_labels) > 0")
    elif params.ai == "negative":
        clauses.append("has_results AND cardinality(positive_labels) = 0")
    elif params.ai == "none":
        clauses.append("NOT has_results")
    if params.q is not None:
        clauses.append(
            "(lower(patient_name) LIKE %s ESCAPE '\\' OR lower(patient_id) LIKE %s ESCAPE '\\'"
            " OR lower(accession_number) LIKE %s ESCAPE '\\')"
        )
        values += [f"%{like_pattern(params.q.lower())}%"] * 3
    where = " AND ".join(clauses) or "TRUE"
    order = f"{_SORTS[params.sort]} {params.order.upper()} NULLS LAST, study_uid"
    sql = (
        f"SELECT *, count(*) OVER () AS total FROM ({_BASE}) w WHERE {where}"
        f" ORDER BY {order} LIMIT %s OFFSET %s"
    )
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, [*values, params.limit, params.offset]).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    if not rows and params.offset:
        with pool.connection() as conn:
            count = conn.execute(
                f"SELECT count(*) FROM ({_BASE}) w WHERE {where}", values
            ).fetchone()
        total = int(count[0]) if count else 0
    return WorklistPage(
        items=[_item(row) for row in rows], total=total, limit=params.limit, offset=params.offset
    )


_SERIES = """
SELECT series_uid, modality, body_part, series_number, series_description AS description,
       pipeline, completions, completed_at
FROM series WHERE study_uid = %s ORDER BY series_number NULLS LAST, series_uid
"""
_INSTANCES = """
SELECT i.series_uid, i.sop_uid, i.sop_class_uid, i.instance_number, i.pixel_rows AS rows,
       i.pixel_columns AS columns, i.number_of_frames AS frames, i.transfer_syntax
FROM instances i JOIN series s ON s.series_uid = i.series_uid WHERE s.study_uid = %s
ORDER BY i.instance_number NULLS LAST, i.sop_uid
"""
_RUNS = """
SELECT id AS run_id, series_uid, series_completion, pipeline, model_name, model_version,
       status, reason_code, device, not_for_diagnosis, started_at, finished_at
FROM inference_runs WHERE study_uid = %s ORDER BY started_at, id
"""
_FINDINGS = """
SELECT f.run_id, f.label, f.probability, f.threshold, f.positive, f.sop_uid, f.heatmap_key,
       f.code_system, f.code, f.code_display
FROM findings f JOIN inference_runs r ON r.id = f.run_id
WHERE r.study_uid = %s AND f.threshold IS NOT NULL ORDER BY f.probability DESC, f.label
"""


def study_detail(pool: Pool, study_uid: DicomUID) -> StudyDetail | None:
    """The study with its series, instances, runs and findings; None when it is unknown."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"{_BASE} WHERE st.study_uid = %s", (study_uid,)).fetchone()
        if row is None:
            return None
        series = cur.execute(_SERIES, (study_uid,)).fetchall()
        instances = cur.execute(_INSTANCES, (study_uid,)).fetchall()
        runs = cur.execute(_RUNS, (study_uid,)).fetchall()
        findings = cur.execute(_FINDINGS, (study_uid,)).fetchall()
        outcomes = {o.series_uid: o.outcome for o in routed_series(conn, study_uid)}
        conflicts = record_conflicts(conn, [study_uid]).get(study_uid, ())
    by_series: dict[str, list[InstanceView]] = {}
    for instance in instances:
        by_series.setdefault(instance.pop("series_uid"), []).append(InstanceView(**instance))
    by_run: dict[UUID, list[Finding]] = {}
    for finding in findings:
        by_run.setdefault(finding.pop("run_id"), []).append(_finding(finding))
    return StudyDetail(
        study=_item(row),
        series=[
            SeriesView(
                **s,
                outcome=outcomes.get(s["series_uid"]),
                instances=by_series.get(s["series_uid"], []),
            )
            for s in series
        ],
        runs=[RunView(**run, findings=by_run.get(run["run_id"], [])) for run in runs],
        patient_conflicts=list(conflicts),
    )


def _finding(row: dict[str, Any]) -> Finding:
    system, code, display = row.pop("code_system"), row.pop("code"), row.pop("code_display")
    coding = Coding(system=system, code=code, display=display) if system else None
    return Finding(**row, code=coding)
