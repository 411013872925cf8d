"""Find lung nodules in one completed chest CT series: infer-ct's ``ct`` pipeline.

:func:`acme.inference.run_series` holds the lock, claims the run, records it and applies the
one retry budget; :class:`NoduleScorer` is what is particular to chest CT:

1. Load the configured nodule model once per process (:class:`ModelCache`).
2. Assemble the series into one trusted volume (:func:`infer_ct.series.load_volume`).
3. Find the candidates and score their 2.5D views (:func:`acme.inference.score_candidates`).
4. Each candidate at or above the card's threshold (the most probable ``ACME_CT_MAX_NODULES``)
   is a finding with its measurement (diameter, volume, centre, side, slices and their SOP
   Instance UIDs) and a key image: its centre slice in a lung window, the nodule ringed. A
   series without one gets a single negative finding with the highest candidate probability.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from infer_ct.keyimage import nodule_png
from infer_ct.series import load_volume

from acme.events import Finding, NoduleMeasurement, SeriesCompleted
from acme.function import Context, Event
from acme.imaging import Volume
from acme.inference import (
    Claim,
    Clock,
    Detection,
    Method,
    Outcome,
    Scored,
    load_method,
    ms_since,
    run_series,
    score_candidates,
)
from acme.models import LabelSpec, ModelCache


def find_nodules(
    ctx: Context, models: ModelCache, series: SeriesCompleted, event: Event
) -> Outcome:
    """Score ``series`` with the configured nodule model (see the module docstring)."""
    return run_series(ctx, NoduleScorer(ctx, models), series, event)


def key_image_key(study_uid: str, series_uid: str, run_id: str, number: int) -> str:
    """Where a nodule's key image goes in the results bucket."""
    return f"studies/{study_uid}/series/{series_uid}/runs/{run_id}/nodules/{number}.png"


@dataclass(frozen=True)
class NoduleScorer:
    """The chest CT pipeline: the configured nodule model over the series' volume."""

    ctx: Context
    models: ModelCache
    pipeline: Literal["ct"] = "ct"

    @property
    def method_name(self) -> str:
        return self.ctx.settings.ct_model

    @property
    def method_version(self) -> str | None:
        return self.ctx.settings.ct_model_version

    def load(self, ctx: Context) -> Method:
        return load_method(ctx, self.models, self.method_name, self.method_version)

    def score(
        self, ctx: Context, series: SeriesCompleted, claim: Claim, method: Method, clock: Clock
    ) -> Scored:
        predictor = method.predictor
        assert predictor is not None
        settings = ctx.settings
        mark = time.perf_counter()
        volume = load_volume(
            ctx, series.series_uid, min_slices=settings.ct_min_slices,
            max_slices=settings.ct_max_slices,
        )  # fmt: skip
        clock.preprocess_ms = ms_since(mark)
        mark = time.perf_counter()
        detections = score_candidates(volume, predictor)
        clock.inference_ms = ms_since(mark)
        mark = time.perf_counter()
        [label] = predictor.card.labels
        positive = [d for d in detections if d.probability >= label.threshold]
        findings = [
            self._finding(ctx, series, claim, volume, label, number, detection)
            for number, detection in enumerate(positive[: settings.ct_max_nodules], start=1)
        ] or [_negative(label, detections)]
        clock.postprocess_ms = ms_since(mark)
        return Scored(findings=findings, images_used=volume.shape[0])

    def _finding(
        self,
        ctx: Context,
        series: SeriesCompleted,
        claim: Claim,
        volume: Volume,
        label: LabelSpec,
        number: int,
        detection: Detection,
    ) -> Finding:
        candidate = detection.candidate
        first, last = candidate.slices
        centre_slice = min(last, max(first, round(candidate.centre_index[0])))
        key = key_image_key(series.study_uid, series.series_uid, str(claim.run_id), number)
        png = nodule_png(volume, candidate)
        ctx.store.put(ctx.settings.buckets.results, key, png, content_type="image/png")
        x, y, z = (round(float(v), 2) for v in candidate.centre_mm)
        return Finding(
            label=label.name,
            probability=detection.probability,
            threshold=label.threshold,
            positive=True,
            sop_uid=volume.sop_uids[centre_slice],
            code=label.coding,
            measurement=NoduleMeasurement(
                number=number,
                diameter_mm=round(candidate.diameter_mm, 2),
                volume_mm3=round(candidate.volume_mm3, 1),
                centre_mm=(x, y, z),
                side=candidate.side,
                slices=(first + 1, last + 1),
                sop_uids=volume.sop_uids[first : last + 1],
                key_image_key=key,
            ),
        )


def _negative(label: LabelSpec, detections: list[Detection]) -> Finding:
    """The one finding of a series without a nodule: the highest candidate probability."""
    probability = max((d.probability for d in detections), default=0.0)
    return Finding(
        label=label.name,
        probability=probability,
        threshold=label.threshold,
        positive=False,
        code=label.coding,
    )
