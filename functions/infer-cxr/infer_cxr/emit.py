"""The events infer-cxr emits: ``inference.completed`` and ``inference.failed``.

Event ids are derived from the run (and attempt), so a run re-published after a crash
between publishing and committing carries the id JetStream already has and is dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cloudevents.http import CloudEvent
from infer_cxr.runs import RETRYABLE

from acme.events import (
    EventType,
    Finding,
    Heatmap,
    InferenceCompleted,
    InferenceFailed,
    ModelRef,
    SeriesCompleted,
    Timings,
    fact_id,
    new_event,
)
from acme.events.values import InferenceFailure
from acme.models import ModelCard


def completed_event(
    *,
    source: str,
    series: SeriesCompleted,
    run_id: uuid.UUID,
    card: ModelCard,
    device: str,
    provider: str,
    findings: list[Finding],
    heatmaps: list[Heatmap],
    timings: Timings,
    results_bucket: str,
    traceparent: str | None,
) -> CloudEvent:
    data = InferenceCompleted(
        study_uid=series.study_uid,
        series_uid=series.series_uid,
        run_id=run_id,
        pipeline="cxr",
        model=ModelRef(name=card.name, version=card.version),
        device="cuda" if device == "cuda" else "cpu",
        execution_provider=provider,
        findings=tuple(findings),
        results_bucket=results_bucket,
        heatmaps=tuple(heatmaps),
        timings=timings,
        not_for_diagnosis=not card.diagnostic_use,
        completed_at=datetime.now(UTC),
    )
    return new_event(
        EventType.INFERENCE_COMPLETED,
        data,
        source=source,
        traceparent=traceparent,
        modality=series.modality,
        bodypart=series.body_part,
        event_id=fact_id("inference.completed", str(run_id)),
    )


def failed_event(
    *,
    source: str,
    series: SeriesCompleted,
    run_id: uuid.UUID,
    card: ModelCard | None,
    reason: InferenceFailure,
    detail: str,
    attempts: int,
    traceparent: str | None,
) -> CloudEvent:
    data = InferenceFailed(
        study_uid=series.study_uid,
        series_uid=series.series_uid,
        run_id=run_id,
        pipeline="cxr",
        model=ModelRef(name=card.name, version=card.version) if card is not None else None,
        reason_code=reason,
        detail=detail[:2000],
        attempts=attempts,
        retryable=reason in RETRYABLE,
        failed_at=datetime.now(UTC),
    )
    return new_event(
        EventType.INFERENCE_FAILED,
        data,
        source=source,
        traceparent=traceparent,
        modality=series.modality,
        bodypart=series.body_part,
        event_id=fact_id("inference.failed", str(run_id), str(attempts)),
    )
