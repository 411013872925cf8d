"""The nodule model over a CT volume: candidates, their 2.5D views, a probability each.

The same steps run in infer-ct, in ``acme bench ct`` and in the held-out evaluation of
``training/ct``, so what the model card measures is what the function does.
"""

from __future__ import annotations

from dataclasses import dataclass

from acme.imaging import Candidate, Volume, candidate_views, find_candidates, normalise_channels
from acme.models import ModelMismatchError, Predictor

DEFAULT_HU_WINDOW = (-1000.0, 400.0)


@dataclass(frozen=True)
class Detection:
    """A candidate and the model's probability that it is a nodule."""

    candidate: Candidate
    probability: float


def score_candidates(
    volume: Volume, predictor: Predictor, candidates: list[Candidate] | None = None
) -> list[Detection]:
    """Every candidate of ``volume`` (found when not given), scored, most probable first."""
    card = predictor.card
    channels, height, width = predictor.input_shape
    if channels != 3 or height != width or len(card.labels) != 1:
        raise ModelMismatchError(
            f"{card.ref}: a nodule model takes [batch, 3, N, N] views and gives one label, not "
            f"[batch, {channels}, {height}, {width}] with {len(card.labels)} labels"
        )
    found = find_candidates(volume) if candidates is None else candidates
    if not found:
        return []
    prep = card.preprocessing
    views = candidate_views(
        volume,
        [c.centre_mm for c in found],
        window=prep.hu_window or DEFAULT_HU_WINDOW,
        size=height,
    )
    scores = predictor.predict(normalise_channels(views, prep))[:, 0]
    detections = [
        Detection(candidate=c, probability=float(p)) for c, p in zip(found, scores, strict=True)
    ]
    return sorted(detections, key=lambda d: -d.probability)
