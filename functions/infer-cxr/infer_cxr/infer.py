"""Score one completed chest X-ray series: infer-cxr's part of the shared inference flow.

:func:`acme.inference.run_series` holds the lock, claims the run, records it and applies the
one retry budget (see there); :class:`CxrScorer` is what is particular to chest X-rays:

1. Load the configured CXR model once per process (:class:`ModelCache`).
2. Fetch and decode the series, preprocess as the card says, score all images in one batch.
3. Per positive label, an occlusion heatmap of the image that scored highest.

A series without a usable image fails with its reason code (``no-usable-images``,
``decode-failed``, ``unsupported-input``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from infer_cxr.heatmaps import heatmap_key, occlusion_maps, overlay_png
from infer_cxr.series import SeriesPixels, load_series
from numpy.typing import NDArray

from acme.events import Finding, SeriesCompleted
from acme.function import Context, Event
from acme.imaging import to_model_input
from acme.inference import Claim, Clock, Method, Outcome, Scored, load_method, ms_since, run_series
from acme.models import (
    ModelCache,
    Predictor,
    best_images,
    series_findings,
)

Batch = NDArray[np.float32]


def infer_series(
    ctx: Context, models: ModelCache, series: SeriesCompleted, event: Event
) -> Outcome:
    """Score ``series`` with the configured CXR model (see the module docstring)."""
    return run_series(ctx, CxrScorer(ctx, models), series, event)


@dataclass(frozen=True)
class CxrScorer:
    """The chest X-ray pipeline: the configured model over every image of the series."""

    ctx: Context
    models: ModelCache
    pipeline: Literal["cxr"] = "cxr"

    @property
    def method_name(self) -> str:
        return self.ctx.settings.cxr_model

    @property
    def method_version(self) -> str | None:
        return self.ctx.settings.cxr_model_version

    def load(self, ctx: Context) -> Method:
        return load_method(ctx, self.models, self.method_name, self.method_version)

    def score(
        self, ctx: Context, series: SeriesCompleted, claim: Claim, method: Method, clock: Clock
    ) -> Scored:
        predictor = method.predictor
        assert predictor is not None
        mark = time.perf_counter()
        pixels = load_series(
            ctx, series.series_uid, predictor.card.preprocessing,
            max_images=ctx.settings.cxr_max_images,
        )  # fmt: skip
        card = predictor.card
        channels, height, width = predictor.input_shape
        tensors = np.stack(
            [
                to_model_input(item.image.pixels, card.preprocessing, channels=channels,
                               height=height, width=width)
                for item in pixels.images
            ]
        )  # fmt: skip
        clock.preprocess_ms = ms_since(mark)
        mark = time.perf_counter()
        scores = predictor.predict(tensors)
        clock.inference_ms = ms_since(mark)
        mark = time.perf_counter()
        scored = series_findings(card, scores, [item.sop_uid for item in pixels.images])
        heatmaps = _heatmaps(ctx, predictor, series, claim, pixels, tensors, scores, scored)
        findings = [f.model_copy(update={"heatmap_key": heatmaps.get(f.label)}) for f in scored]
        clock.postprocess_ms = ms_since(mark)
        return Scored(
            findings=findings, images_used=len(pixels.images), images_skipped=pixels.skipped
        )


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
