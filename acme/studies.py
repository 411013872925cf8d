"""Read model of studies for the CLI (``acme status STUDY``, ``acme wait``, ``acme demo``)."""

from __future__ import annotations

from datetime import datetime

from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from acme.db import Pool
from acme.events import Finding
from acme.lifecycle import StudyState
from acme.outcomes import SeriesOutcome, routed_series
from acme.patients import PatientAttribute, record_conflicts

STATE_ORDER = ("receiving", "complete", "inferring", "inferred", "reported", "signed")
"""The automated path of a study (``failed`` is off the path)."""


class SeriesState(BaseModel):
    """A routed series without findings: ``pending`` or ``failed`` (with the reason code)."""

    model_config = ConfigDict(frozen=True)

    series_uid: str
    modality: str
    pipeline: str
    outcome: str
    reason: str | None = None


class DeliverySummary(BaseModel):
    """One report version sent (or being sent) to one PACS destination."""

    model_config = ConfigDict(frozen=True)

    destination: str
    version: int
    status: str
    attempts: int
    objects: int
    last_error: str | None
    updated_at: datetime


class StudySummary(BaseModel):
    """One study as people ask about it: where it is, what the AI said, how long it took."""

    model_config = ConfigDict(frozen=True)

    study_uid: str
    state: StudyState
    failure_reason: str | None
    modalities: list[str]
    pipelines: list[str]
    series: int
    instances: int
    findings: list[Finding]
    without_results: list[SeriesState]
    patient_conflicts: list[PatientAttribute]
    model: str | None
    device: str | None
    report_id: str | None
    report_status: str | None
    received_at: datetime | None
    completed_at: datetime | None
    inferred_at: datetime | None
    reported_at: datetime | None
    deliveries: list[DeliverySummary] = []
    qa_passed: bool | None = None
    """The verdict of the study's CT QA phantom check, when it has one."""

    def reached(self, state: str) -> bool:
        """True when the study is at ``state`` or further along the automated path."""
        if self.state == state:
            return True
        if self.state.value not in STATE_ORDER or state not in STATE_ORDER:
            return False
        return STATE_ORDER.index(self.state.value) >= STATE_ORDER.index(state)

    def seconds(self, start: datetime | None, end: datetime | None) -> float | None:
        if start is None or end is None:
            return None
        return round((end - start).total_seconds(), 1)


_SUMMARY = """
SELECT st.study_uid, st.state, st.failure_reason,
       array_agg(DISTINCT se.modality) AS modalities,
       array_remove(array_agg(DISTINCT se.pipeline), NULL) AS pipelines,
       count(DISTINCT se.series_uid) AS series,
       (SELECT count(*) FROM instances i JOIN series s2 USING (series_uid)
         WHERE s2.study_uid = st.study_uid) AS instances,
       min(se.first_instance_at) AS received_at,
       CASE WHEN bool_and(se.completed_at IS NOT NULL) THEN max(se.completed_at) END
         AS completed_at,
       (SELECT max(finished_at) FROM inference_runs r
         WHERE r.study_uid = st.study_uid AND r.status = 'completed') AS inferred_at,
       (SELECT model_name || ' ' || model_version FROM inference_runs r
         WHERE r.study_uid = st.study_uid ORDER BY started_at DESC LIMIT 1) AS model,
       (SELECT execution_provider FROM inference_runs r
         WHERE r.study_uid = st.study_uid ORDER BY started_at DESC LIMIT 1) AS device,
       rp.id::text AS report_id, rp.status AS report_status, rp.created_at AS reported_at
FROM studies st
JOIN series se ON se.study_uid = st.study_uid
LEFT JOIN reports rp ON rp.study_uid = st.study_uid
WHERE st.study_uid = ANY(%s)
GROUP BY st.study_uid, rp.id
"""

_FINDINGS = """
SELECT r.study_uid, f.label, f.probability, f.threshold, f.positive, f.sop_uid, f.heatmap_key,
       f.measurement
FROM findings f JOIN inference_runs r ON r.id = f.run_id
JOIN series s ON s.series_uid = r.series_uid AND s.completions = r.series_completion
WHERE r.study_uid = ANY(%s) AND r.status = 'completed'
ORDER BY f.probability DESC
"""

_QA = """
SELECT r.study_uid, bool_and(q.passed) AS passed
FROM qa_checks q JOIN inference_runs r ON r.id = q.run_id
JOIN series s ON s.series_uid = r.series_uid AND s.completions = r.series_completion
WHERE r.study_uid = ANY(%s) AND r.status = 'completed'
GROUP BY r.study_uid
"""


_DELIVERIES = """
SELECT study_uid, destination, version, status, attempts, cardinality(sop_uids) AS objects,
       last_error, updated_at
FROM dispatch_deliveries WHERE study_uid = ANY(%s)
ORDER BY version, requested_at, destination
"""


def study_summaries(pool: Pool, study_uids: list[str]) -> dict[str, StudySummary]:
    """Summaries of the studies that exist among ``study_uids`` (absent ones are left out)."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_SUMMARY, (study_uids,)).fetchall()
        findings = cur.execute(_FINDINGS, (study_uids,)).fetchall()
        qa = {r["study_uid"]: r["passed"] for r in cur.execute(_QA, (study_uids,)).fetchall()}
        routed = {row["study_uid"]: routed_series(conn, row["study_uid"]) for row in rows}
        conflicts = record_conflicts(conn, study_uids)
        sent = cur.execute(_DELIVERIES, (study_uids,)).fetchall()
    by_delivery: dict[str, list[DeliverySummary]] = {}
    for row in sent:
        study = row.pop("study_uid")
        by_delivery.setdefault(study, []).append(DeliverySummary(**row))
    by_study: dict[str, list[Finding]] = {}
    for row in findings:
        study_uid = row.pop("study_uid")
        by_study.setdefault(study_uid, []).append(Finding(**row))
    return {
        row["study_uid"]: StudySummary(
            **row,
            findings=by_study.get(row["study_uid"], []),
            without_results=_without_results(routed[row["study_uid"]]),
            patient_conflicts=list(conflicts.get(row["study_uid"], ())),
            deliveries=by_delivery.get(row["study_uid"], []),
            qa_passed=qa.get(row["study_uid"]),
        )
        for row in rows
    }


def _without_results(outcomes: list[SeriesOutcome]) -> list[SeriesState]:
    return [
        SeriesState(
            series_uid=o.series_uid,
            modality=o.modality,
            pipeline=o.pipeline,
            outcome=o.outcome,
            reason=o.reason_code if o.outcome == "failed" else None,
        )
        for o in outcomes
        if o.outcome != "completed"
    ]
