"""Score one completed chest X-ray series: the business step of infer-cxr.

1. Hold the (series, model) lock; load the model once per process (:class:`ModelCache`).
2. Claim the run of this completion of the series: a redelivered event finds its run done
   and changes nothing; an event of a completion that a late instance has since reopened is
   superseded (the next completion is scored instead).
3. Fetch and decode the series, preprocess as the card says, score all images in one batch.
4. Per positive label, an occlusion heatmap of the image that scored highest.
5. In one transaction: the run and its findings, the study's state, the event.

Permanent failures (no usable image, nothing decodes, no model) end the run ``failed`` with
an ``inference.failed`` reason code; anything else raises, and the router retries. On the
last delivery the trigger allows (``event.delivery``: the stack.yml trigger's retries + 1),
whatever fails, before or after the run was claimed, another worker holding the series
included, ends the run ``failed`` (``runtime-error``) with ``inference.failed``, so the study
never waits on a run nobody will finish.
"""

from __future__ import annotations

import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from infer_cxr.emit import completed_data, completed_id, failed_data, failed_id
from infer_cxr.heatmaps import heatmap_key, occlusion_maps, overlay_png
from infer_cxr.runs import (
    Claim,
    CompletedRun,
    RunInProgress,
    SeriesNotReady,
    claim_for_failure,
    claim_run,
    complete_run,
    fail_run,
    indexed_series,
    series_lock,
)
from infer_cxr.series import SeriesPixels, Unusable, load_series
from numpy.typing import NDArray

from acme.events import EventType, Finding, SeriesCompleted, Timings
from acme.events.values import InferenceFailure
from acme.function import Context, Event, Rejected
from acme.imaging import to_model_input
from acme.models import (
    ModelCache,
    ModelCard,
    ModelError,
    ModelRegistry,
    Predictor,
    RuntimeOptions,
    best_images,
    series_findings,
)
from acme.outcomes import settle_inference

Batch = NDArray[np.float32]


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``completed``, ``failed``, ``unchanged`` (already done), or
    ``superseded`` (the series has completed again since, or is open again: no run)."""

    status: Literal["completed", "failed", "unchanged", "superseded"]
    run_id: uuid.UUID | None


@dataclass
class _Clock:
    started: float
    queue_ms: float
    load_ms: float = 0.0
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0

    def timings(self) -> Timings:
        return Timings(
            queue_ms=round(self.queue_ms, 3),
            load_ms=round(self.load_ms, 3),
            preprocess_ms=round(self.preprocess_ms, 3),
            inference_ms=round(self.inference_ms, 3),
            postprocess_ms=round(self.postprocess_ms, 3),
            total_ms=round((time.perf_counter() - self.started) * 1000.0, 3),
        )


def _queue_ms(event: Event) -> float:
    sent = event.raw.get("time")
    if not sent:
        return 0.0
    try:
        when = datetime.fromisoformat(str(sent))
    except ValueError:
        return 0.0
    return max(0.0, (datetime.now(UTC) - when).total_seconds() * 1000.0)


LAST_WAIT_SECONDS = 60.0
"""How long the last delivery waits for another worker to let go of the series."""


def infer_series(
    ctx: Context, models: ModelCache, series: SeriesCompleted, event: Event
) -> Outcome:
    """Score ``series`` with the configured CXR model (see the module docstring)."""
    try:
        return _infer(ctx, models, series, event)
    except (Rejected, SeriesNotReady):
        raise
    except Exception as exc:
        if not event.delivery.last:
            raise  # transient, as far as we know: the router retries with backoff
        return _give_up(ctx, series, event, exc)


def _infer(ctx: Context, models: ModelCache, series: SeriesCompleted, event: Event) -> Outcome:
    clock = _Clock(started=time.perf_counter(), queue_ms=_queue_ms(event))
    if series.pipeline != "cxr":
        raise Rejected(f"infer-cxr scores pipeline=cxr series, not pipeline={series.pipeline}")
    if not _current(ctx, series):
        return Outcome("superseded", None)
    settings = ctx.settings
    with series_lock(ctx.db, series.series_uid, settings.cxr_model):
        registry = ModelRegistry.of(ctx.store, settings)
        try:
            options = RuntimeOptions.of(settings)
            loaded = models.get(registry, settings.cxr_model, settings.cxr_model_version, options)
        except ModelError as exc:
            version = settings.cxr_model_version or "latest"
            claim = claim_run(ctx.db, series, settings.cxr_model, version)
            if not claim.fresh:
                return Outcome("unchanged", claim.run_id)
            _fail(ctx, series, event, claim, None, "model-unavailable", str(exc), [])
            return Outcome("failed", claim.run_id)
        clock.load_ms = loaded.load_ms
        predictor = loaded.predictor
        claim = claim_run(ctx.db, series, predictor.card.name, predictor.card.version)
        if not claim.fresh:
            ctx.log.info("series already scored; nothing to do", run_id=str(claim.run_id))
            return Outcome("unchanged", claim.run_id)
        mark = time.perf_counter()
        try:
            pixels = load_series(
                ctx, series.series_uid, predictor.card.preprocessing,
                max_images=settings.cxr_max_images,
            )  # fmt: skip
            clock.preprocess_ms = _ms_since(mark)
            _score(ctx, predictor, series, event, claim, pixels, clock)
        except Unusable as exc:
            _fail(ctx, series, event, claim, predictor.card, exc.reason, exc.detail, exc.skipped)
            return Outcome("failed", claim.run_id)
        except Exception as exc:
            if not _spent(event, claim):
                raise  # the router retries; the last delivery ends the run
            detail = f"{type(exc).__name__} on the last of {claim.attempts} deliveries"
            _fail(ctx, series, event, claim, predictor.card, "runtime-error", detail, [])
            return Outcome("failed", claim.run_id)
        return Outcome("completed", claim.run_id)


def _spent(event: Event, claim: Claim) -> bool:
    """True on the last delivery: as the router says it, or (a broker that does not) when the
    run has been taken up as often as the trigger allows deliveries."""
    delivery = event.delivery
    if delivery.attempt is not None:
        return delivery.last
    return delivery.attempts is not None and claim.attempts >= delivery.attempts


def _give_up(ctx: Context, series: SeriesCompleted, event: Event, exc: Exception) -> Outcome:
    """The last delivery failed before it could score: end this completion's run failed.

    Another worker still holding the series is waited for (it may finish or die meanwhile);
    a run that ended meanwhile is left as it is.
    """
    settings = ctx.settings
    version = settings.cxr_model_version or "latest"
    with (
        suppress(RunInProgress),
        series_lock(ctx.db, series.series_uid, settings.cxr_model, wait=LAST_WAIT_SECONDS),
    ):
        return _fail_claimed(ctx, series, event, exc, version)
    # the other worker held on for the whole wait: end the run anyway (its result is dropped)
    return _fail_claimed(ctx, series, event, exc, version)


def _fail_claimed(
    ctx: Context, series: SeriesCompleted, event: Event, exc: Exception, version: str
) -> Outcome:
    claim = claim_for_failure(ctx.db, series, ctx.settings.cxr_model, version)
    if not claim.fresh:
        return Outcome("unchanged", claim.run_id)
    detail = (
        f"{type(exc).__name__} on the last delivery ({event.delivery.attempt} of "
        f"{event.delivery.attempts})"
    )
    _fail(ctx, series, event, claim, None, "runtime-error", detail, [])
    return Outcome("failed", claim.run_id)


def _current(ctx: Context, series: SeriesCompleted) -> bool:
    """True when the event's completion is the series' latest and the series is still
    complete; :class:`Rejected` when the series is not indexed under the study, and
    :class:`SeriesNotReady` when the completion is not committed yet."""
    indexed = indexed_series(ctx.db, series.series_uid)
    if indexed is None or indexed.study_uid != series.study_uid:
        raise Rejected(
            f"series {series.series_uid} is not indexed under study {series.study_uid}"
            + (f" (it is under {indexed.study_uid})" if indexed else "")
        )
    if series.completion > indexed.completion:
        raise SeriesNotReady(
            f"completion {series.completion} of series {series.series_uid} is not committed"
            " yet; retry later"
        )
    if series.completion < indexed.completion or indexed.open:
        ctx.log.info(
            "series completed again or reopened since; this completion is superseded",
            series_uid=series.series_uid,
            completion=series.completion,
        )
        return False
    return True


def _score(
    ctx: Context,
    predictor: Predictor,
    series: SeriesCompleted,
    event: Event,
    claim: Claim,
    pixels: SeriesPixels,
    clock: _Clock,
) -> None:
    card = predictor.card
    channels, height, width = predictor.input_shape
    mark = time.perf_counter()
    tensors = np.stack(
        [
            to_model_input(item.image.pixels, card.preprocessing, channels=channels,
                           height=height, width=width)
            for item in pixels.images
        ]
    )  # fmt: skip
    clock.preprocess_ms += _ms_since(mark)
    mark = time.perf_counter()
    scores = predictor.predict(tensors)
    clock.inference_ms = _ms_since(mark)
    mark = time.perf_counter()
    scored = series_findings(card, scores, [item.sop_uid for item in pixels.images])
    heatmaps = _heatmaps(ctx, predictor, series, claim, pixels, tensors, scores, scored)
    findings = [f.model_copy(update={"heatmap_key": heatmaps.get(f.label)}) for f in scored]
    clock.postprocess_ms = _ms_since(mark)
    timings = clock.timings()
    run = CompletedRun(
        run_id=claim.run_id,
        provider=predictor.provider,
        device=predictor.device,
        model_sha256=card.sha256,
        not_for_diagnosis=not card.diagnostic_use,
        timings=timings.model_dump(),
        images_used=len(pixels.images),
        images_skipped=pixels.skipped,
        findings=findings,
    )
    data = completed_data(
        series=series,
        run_id=claim.run_id,
        card=card,
        device=predictor.device,
        provider=predictor.provider,
        findings=findings,
        timings=timings,
        results_bucket=ctx.settings.buckets.results,
    )
    with ctx.transaction() as tx:
        if not complete_run(tx.conn, run):
            ctx.log.warning("run ended failed meanwhile; this result is dropped",
                            run_id=str(claim.run_id))  # fmt: skip
            return
        state = settle_inference(tx.conn, series.study_uid)
        tx.emit(
            EventType.INFERENCE_COMPLETED,
            data,
            traceparent=event.traceparent,
            event_id=completed_id(claim.run_id),
        )
    ctx.log.info(
        "series scored",
        run_id=str(claim.run_id),
        model=card.ref,
        provider=predictor.provider,
        positive=[f.label for f in findings if f.positive],
        study_state=state,
        total_ms=timings.total_ms,
    )


def _ms_since(mark: float) -> float:
    return (time.perf_counter() - mark) * 1000.0


def _heatmaps(
    ctx: Context,
    predictor: Predictor,
    series: SeriesCompleted,
    claim: Claim,
    pixels: SeriesPixels,
    tensors: Batch,
    scores: Batch,
    findings: list[Finding],
) -> dict[str, str]:
    """Store an overlay per positive label, from the image that scored it; label -> key."""
    grid = ctx.settings.cxr_heatmap_grid
    names = predictor.card.label_names
    best = dict(zip(names, best_images(predictor.card, scores), strict=True))
    positive = [finding.label for finding in findings if finding.positive]
    if grid == 0 or not positive:
        return {}
    keys: dict[str, str] = {}
    for index in sorted({best[label] for label in positive}):
        maps = occlusion_maps(predictor, tensors[index], scores[index], grid)
        for label in (name for name in positive if best[name] == index):
            key = heatmap_key(series.study_uid, series.series_uid, str(claim.run_id), label)
            png = overlay_png(predictor, pixels.images[index].image, maps[names.index(label)])
            ctx.store.put(ctx.settings.buckets.results, key, png, content_type="image/png")
            keys[label] = key
    return keys


def _fail(
    ctx: Context,
    series: SeriesCompleted,
    event: Event,
    claim: Claim,
    card: ModelCard | None,
    reason: InferenceFailure,
    detail: str,
    skipped: list[dict[str, str]],
) -> None:
    data = failed_data(
        series=series,
        run_id=claim.run_id,
        card=card,
        reason=reason,
        detail=detail,
        attempts=claim.attempts,
    )
    with ctx.transaction() as tx:
        fail_run(tx.conn, claim.run_id, reason, detail, skipped=skipped)
        state = settle_inference(tx.conn, series.study_uid)
        tx.emit(
            EventType.INFERENCE_FAILED,
            data,
            traceparent=event.traceparent,
            event_id=failed_id(claim.run_id, claim.attempts),
        )
    ctx.log.warning("series not scored", run_id=str(claim.run_id), reason=reason, study_state=state)
