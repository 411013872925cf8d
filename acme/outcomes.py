"""What became of each routed series of a study: the facts its state and its report follow.

A series routed to a model (``pipeline`` cxr or ct) has an outcome once the latest run of its
latest completion has finished: ``completed`` or ``failed``. Until then it is ``pending``: not
yet scored, being scored, or reopened by a late instance (a run of an earlier completion no
longer counts). Series routed to ``none`` are not listed. Inference functions settle the
study from these outcomes (:func:`settle_inference`); the report lists every one of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, get_args

import psycopg
from psycopg.rows import TupleRow, dict_row

from acme.events.values import InferencePipeline
from acme.lifecycle import Step, StudyState, advance

__all__ = ["MODEL_PIPELINES", "Outcome", "SeriesOutcome", "routed_series", "settle_inference"]

Outcome = Literal["completed", "failed", "pending"]
MODEL_PIPELINES: tuple[str, ...] = get_args(InferencePipeline)


@dataclass(frozen=True)
class SeriesOutcome:
    """One routed series and the run that decides it (None while it has none)."""

    series_uid: str
    modality: str
    pipeline: str
    completion: int
    outcome: Outcome
    run_id: uuid.UUID | None
    reason_code: str | None
    model_name: str | None
    model_version: str | None
    not_for_diagnosis: bool


_ROUTED = """
SELECT s.series_uid, s.modality, s.pipeline, s.completions AS completion,
       s.completed_at IS NULL AS open, r.id AS run_id, r.status, r.reason_code, r.model_name,
       r.model_version, COALESCE(r.not_for_diagnosis, true) AS not_for_diagnosis
FROM series s
LEFT JOIN LATERAL (
    SELECT id, status, reason_code, model_name, model_version, not_for_diagnosis
    FROM inference_runs
    WHERE series_uid = s.series_uid AND series_completion = s.completions
    ORDER BY started_at DESC, id LIMIT 1
) r ON s.completed_at IS NOT NULL
WHERE s.study_uid = %(study_uid)s AND s.pipeline = ANY(%(pipelines)s)
ORDER BY s.series_number NULLS LAST, s.series_uid
"""


def routed_series(conn: psycopg.Connection[TupleRow], study_uid: str) -> list[SeriesOutcome]:
    """Every series of the study routed to a model, with its outcome, in series order."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _ROUTED, {"study_uid": study_uid, "pipelines": list(MODEL_PIPELINES)}
        ).fetchall()
    outcomes = []
    for row in rows:
        status = row.pop("status")
        is_open = row.pop("open")
        finished = not is_open and status in ("completed", "failed")
        outcome: Outcome = status if finished else "pending"
        outcomes.append(SeriesOutcome(**row, outcome=outcome))
    return outcomes


def settle_inference(conn: psycopg.Connection[TupleRow], study_uid: str) -> StudyState | None:
    """Move the study as its routed series' outcomes say; the state this call moved it to.

    Any failed → ``failed`` (the first reason code in the reason); all completed →
    ``inferred``; otherwise the study stays where it is. Runs under the study's row lock, so
    two functions finishing series of one study at once cannot both miss the end.
    """
    conn.execute("SELECT 1 FROM studies WHERE study_uid = %s FOR UPDATE", (study_uid,))
    outcomes = routed_series(conn, study_uid)
    failures = sorted(o.reason_code or "runtime-error" for o in outcomes if o.outcome == "failed")
    if failures:
        reason = f"inference failed: {failures[0]}"
        moved = advance(conn, study_uid, Step.INFERENCE_FAILED, reason=reason)
        return StudyState.FAILED if moved else None
    if outcomes and all(o.outcome == "completed" for o in outcomes):
        return StudyState.INFERRED if advance(conn, study_uid, Step.INFERENCE_DONE) else None
    return None
