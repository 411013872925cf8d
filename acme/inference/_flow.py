"""One completed series through one pipeline: the steps every inference function shares.

1. The event's completion must be the series' latest (else ``superseded``: the next
   completion is scored instead), and committed (else :class:`SeriesNotReady`: retry).
2. Hold the (series, method) lock; load the method (a registered model, once per process).
3. Claim the run of this completion: a redelivered event finds its run done and changes
   nothing (``unchanged``).
4. The pipeline scores the series (:meth:`Scorer.score`).
5. In one transaction: the run and its findings, the study's state, the event
   (``inference.completed``), published after the commit.

Permanent failures (:class:`Unusable`: no usable image, a series that is not one trustworthy
volume; :class:`~acme.models.ModelError`: no model) end the run ``failed`` with an
``inference.failed`` reason code; anything else raises, and the router retries. On the last
delivery the trigger allows (``event.delivery``: the stack.yml trigger's retries + 1),
whatever fails, before or after the run was claimed, another worker holding the series
included, ends the run ``failed`` (``runtime-error``) with ``inference.failed``, so the study
never waits on a run nobody will finish.
"""

from __future__ import annotations

import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from acme.errors import AcmeError
from acme.events import EventType, Finding, ModelRef, QaResult, SeriesCompleted, Timings
from acme.events.values import InferenceFailure, InferencePipeline
from acme.function import Context, Event, Rejected
from acme.inference._events import completed_data, completed_id, failed_data, failed_id
from acme.inference._runs import (
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
from acme.models import ModelCache, ModelCard, ModelError, ModelRegistry, Predictor, RuntimeOptions
from acme.outcomes import settle_inference

LAST_WAIT_SECONDS = 60.0
"""How long the last delivery waits for another worker to let go of the series."""


class Unusable(AcmeError):
    """The series cannot be scored, and never will be: an ``inference.failed`` reason."""

    def __init__(
        self, reason: InferenceFailure, detail: str, skipped: list[dict[str, str]] | None = None
    ):
        self.reason: InferenceFailure = reason
        self.detail = detail
        self.skipped = skipped or []
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``completed``, ``failed``, ``unchanged`` (already done), or
    ``superseded`` (the series has completed again since, or is open again: no run)."""

    status: Literal["completed", "failed", "unchanged", "superseded"]
    run_id: uuid.UUID | None


@dataclass(frozen=True)
class Method:
    """What produces a run's result: a registered model (``predictor``), or a fixed
    measurement procedure (no predictor)."""

    name: str
    version: str
    predictor: Predictor | None = None
    load_ms: float = 0.0

    @property
    def card(self) -> ModelCard | None:
        return self.predictor.card if self.predictor is not None else None

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version)

    @property
    def not_for_diagnosis(self) -> bool:
        card = self.card
        return card is None or not card.diagnostic_use


def load_method(ctx: Context, models: ModelCache, name: str, version: str | None) -> Method:
    """The registered model ``name`` (``version``, else the newest) as a run's method, loaded
    once per process through ``models``."""
    registry = ModelRegistry.of(ctx.store, ctx.settings)
    loaded = models.get(registry, name, version, RuntimeOptions.of(ctx.settings))
    card = loaded.predictor.card
    return Method(card.name, card.version, loaded.predictor, loaded.load_ms)


@dataclass
class Clock:
    """Where the time of one run goes; the scorer adds its stages."""

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
            total_ms=round(ms_since(self.started), 3),
        )


def ms_since(mark: float) -> float:
    """Milliseconds since the ``time.perf_counter()`` reading ``mark``."""
    return (time.perf_counter() - mark) * 1000.0


@dataclass(frozen=True)
class Scored:
    """What a pipeline made of a series, ready to record."""

    findings: list[Finding]
    images_used: int
    images_skipped: list[dict[str, str]] = field(default_factory=list)
    qa: QaResult | None = None


class Scorer(Protocol):
    """One pipeline's own part of the flow."""

    @property
    def pipeline(self) -> InferencePipeline: ...

    @property
    def method_name(self) -> str:
        """The registry name (or procedure name) runs are recorded and locked under."""
        ...

    @property
    def method_version(self) -> str | None:
        """The version asked for; None: the newest registered."""
        ...

    def load(self, ctx: Context) -> Method:
        """The method, loaded (:class:`~acme.models.ModelError` when it cannot be)."""
        ...

    def score(
        self, ctx: Context, series: SeriesCompleted, claim: Claim, method: Method, clock: Clock
    ) -> Scored:
        """The findings of ``series`` (:class:`Unusable` when it cannot be scored)."""
        ...


def run_series(ctx: Context, scorer: Scorer, series: SeriesCompleted, event: Event) -> Outcome:
    """Score ``series`` with ``scorer`` (see the module docstring)."""
    try:
        return _run(ctx, scorer, series, event)
    except (Rejected, SeriesNotReady):
        raise
    except Exception as exc:
        if not event.delivery.last:
            raise  # transient, as far as we know: the router retries with backoff
        return _give_up(ctx, scorer, series, event, exc)


def _run(ctx: Context, scorer: Scorer, series: SeriesCompleted, event: Event) -> Outcome:
    clock = Clock(started=time.perf_counter(), queue_ms=_queue_ms(event))
    if series.pipeline != scorer.pipeline:
        raise Rejected(
            f"{ctx.name} scores pipeline={scorer.pipeline} series here, not "
            f"pipeline={series.pipeline}"
        )
    if not _current(ctx, series):
        return Outcome("superseded", None)
    with series_lock(ctx.db, series.series_uid, scorer.method_name):
        try:
            method = scorer.load(ctx)
        except ModelError as exc:
            version = scorer.method_version or "latest"
            claim = claim_run(ctx.db, series, scorer.method_name, version)
            if not claim.fresh:
                return Outcome("unchanged", claim.run_id)
            _fail(ctx, series, event, claim, None, "model-unavailable", str(exc), [])
            return Outcome("failed", claim.run_id)
        clock.load_ms = method.load_ms
        claim = claim_run(ctx.db, series, method.name, method.version)
        if not claim.fresh:
            ctx.log.info("series already scored; nothing to do", run_id=str(claim.run_id))
            return Outcome("unchanged", claim.run_id)
        try:
            scored = scorer.score(ctx, series, claim, method, clock)
        except Unusable as exc:
            _fail(ctx, series, event, claim, method.ref, exc.reason, exc.detail, exc.skipped)
            return Outcome("failed", claim.run_id)
        except Exception as exc:
            if not _spent(event, claim):
                raise  # the router retries; the last delivery ends the run
            detail = f"{type(exc).__name__} on the last of {claim.attempts} deliveries"
            _fail(ctx, series, event, claim, method.ref, "runtime-error", detail, [])
            return Outcome("failed", claim.run_id)
        _record(ctx, series, event, claim, method, scored, clock)
        return Outcome("completed", claim.run_id)


def _queue_ms(event: Event) -> float:
    sent = event.raw.get("time")
    if not sent:
        return 0.0
    try:
        when = datetime.fromisoformat(str(sent))
    except ValueError:
        return 0.0
    return max(0.0, (datetime.now(UTC) - when).total_seconds() * 1000.0)


def _spent(event: Event, claim: Claim) -> bool:
    """True on the last delivery: as the router says it, or (a broker that does not) when the
    run has been taken up as often as the trigger allows deliveries."""
    delivery = event.delivery
    if delivery.attempt is not None:
        return delivery.last
    return delivery.attempts is not None and claim.attempts >= delivery.attempts


def _give_up(
    ctx: Context, scorer: Scorer, series: SeriesCompleted, event: Event, exc: Exception
) -> Outcome:
    """The last delivery failed before it could score: end this completion's run failed.

    Another worker still holding the series is waited for (it may finish or die meanwhile);
    a run that ended meanwhile is left as it is.
    """
    with (
        suppress(RunInProgress),
        series_lock(ctx.db, series.series_uid, scorer.method_name, wait=LAST_WAIT_SECONDS),
    ):
        return _fail_claimed(ctx, scorer, series, event, exc)
    # the other worker held on for the whole wait: end the run anyway (its result is dropped)
    return _fail_claimed(ctx, scorer, series, event, exc)


def _fail_claimed(
    ctx: Context, scorer: Scorer, series: SeriesCompleted, event: Event, exc: Exception
) -> Outcome:
    version = scorer.method_version or "latest"
    claim = claim_for_failure(ctx.db, series, scorer.method_name, version)
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


def _record(
    ctx: Context,
    series: SeriesCompleted,
    event: Event,
    claim: Claim,
    method: Method,
    scored: Scored,
    clock: Clock,
) -> None:
    predictor = method.predictor
    provider = predictor.provider if predictor is not None else "numpy"
    device = predictor.device if predictor is not None else "cpu"
    timings = clock.timings()
    run = CompletedRun(
        run_id=claim.run_id,
        provider=provider,
        device=device,
        model_sha256=method.card.sha256 if method.card is not None else None,
        not_for_diagnosis=method.not_for_diagnosis,
        timings=timings.model_dump(),
        images_used=scored.images_used,
        images_skipped=scored.images_skipped,
        findings=scored.findings,
        qa=scored.qa,
    )
    data = completed_data(
        series=series,
        run_id=claim.run_id,
        model=method.ref,
        not_for_diagnosis=method.not_for_diagnosis,
        device=device,
        provider=provider,
        findings=scored.findings,
        timings=timings,
        results_bucket=ctx.settings.buckets.results,
        qa=scored.qa,
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
        model=f"{method.name}/{method.version}",
        provider=provider,
        positive=[f.label for f in scored.findings if f.positive],
        qa_passed=scored.qa.passed if scored.qa is not None else None,
        study_state=state,
        total_ms=timings.total_ms,
    )


def _fail(
    ctx: Context,
    series: SeriesCompleted,
    event: Event,
    claim: Claim,
    model: ModelRef | None,
    reason: InferenceFailure,
    detail: str,
    skipped: list[dict[str, str]],
) -> None:
    data = failed_data(
        series=series,
        run_id=claim.run_id,
        model=model,
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
