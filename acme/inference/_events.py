"""The data of the events inference functions emit: ``inference.completed`` and
``inference.failed``.

Event ids are derived from the run (and attempt), so a run announced again after a crash
carries the id JetStream already has and is dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from acme.events import (
    Finding,
    Heatmap,
    InferenceCompleted,
    InferenceFailed,
    ModelRef,
    QaResult,
    SeriesCompleted,
    Timings,
    fact_id,
)
from acme.events.values import InferenceFailure
from acme.inference._runs import RETRYABLE


def completed_data(
    *,
    series: SeriesCompleted,
    run_id: uuid.UUID,
    model: ModelRef,
    not_for_diagnosis: bool,
    device: str,
    provider: str,
    findings: list[Finding],
    timings: Timings,
    results_bucket: str,
    qa: QaResult | None = None,
) -> InferenceCompleted:
    if series.pipeline == "none":
        raise ValueError("a series routed to no pipeline has no inference result")
    return InferenceCompleted(
        study_uid=series.study_uid,
        series_uid=series.series_uid,
        run_id=run_id,
        pipeline=series.pipeline,
        modality=series.modality,
        body_part=series.body_part,
        model=model,
        device="cuda" if device == "cuda" else "cpu",
        execution_provider=provider,
        findings=tuple(findings),
        results_bucket=results_bucket,
        heatmaps=tuple(
            Heatmap(label=f.label, key=f.heatmap_key) for f in findings if f.heatmap_key
        ),
        timings=timings,
        not_for_diagnosis=not_for_diagnosis,
        qa=qa,
        completed_at=datetime.now(UTC),
    )


def completed_id(run_id: uuid.UUID) -> str:
    return fact_id("inference.completed", str(run_id))


def failed_data(
    *,
    series: SeriesCompleted,
    run_id: uuid.UUID,
    model: ModelRef | None,
    reason: InferenceFailure,
    detail: str,
    attempts: int,
) -> InferenceFailed:
    if series.pipeline == "none":
        raise ValueError("a series routed to no pipeline has no inference result")
    return InferenceFailed(
        study_uid=series.study_uid,
        series_uid=series.series_uid,
        run_id=run_id,
        pipeline=series.pipeline,
        modality=series.modality,
        body_part=series.body_part,
        model=model,
        reason_code=reason,
        detail=detail[:2000],
        attempts=attempts,
        retryable=reason in RETRYABLE,
        failed_at=datetime.now(UTC),
    )


def failed_id(run_id: uuid.UUID, attempts: int) -> str:
    return fact_id("inference.failed", str(run_id), str(attempts))
