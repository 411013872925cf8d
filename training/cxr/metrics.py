"""Held-out metrics with numpy: ROC AUC, thresholds, sensitivity and specificity."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from acme.models import LabelMetrics

Array = NDArray[np.float32]


def roc_auc(truth: Array, scores: Array) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    positives, negatives = scores[truth > 0.5], scores[truth <= 0.5]
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("roc_auc: needs both positive and negative examples")
    above = (positives[:, None] > negatives[None, :]).mean()
    ties = (positives[:, None] == negatives[None, :]).mean()
    return float(above + 0.5 * ties)


def youden_threshold(truth: Array, scores: Array) -> float:
    """The threshold maximising sensitivity + specificity - 1 (nearest 0.5 on ties)."""
    candidates = np.unique(np.concatenate([scores, [0.5]]))
    best, best_j = 0.5, -1.0
    for threshold in candidates:
        predicted = scores >= threshold
        sensitivity = predicted[truth > 0.5].mean()
        specificity = (~predicted[truth <= 0.5]).mean()
        j = float(sensitivity + specificity - 1.0)
        nearer = abs(threshold - 0.5) < abs(best - 0.5)
        if j > best_j + 1e-12 or (abs(j - best_j) <= 1e-12 and nearer):
            best, best_j = float(threshold), j
    return round(best, 4)


def label_metrics(truth: Array, scores: Array, threshold: float) -> LabelMetrics:
    predicted = scores >= threshold
    positive, negative = truth > 0.5, truth <= 0.5
    return LabelMetrics(
        auc=round(roc_auc(truth, scores), 4),
        sensitivity=round(float(predicted[positive].mean()), 4),
        specificity=round(float((~predicted[negative]).mean()), 4),
        accuracy=round(float((predicted == positive).mean()), 4),
        positives=int(positive.sum()),
        negatives=int(negative.sum()),
    )


def exact_match(truth: Array, scores: Array, thresholds: tuple[float, ...]) -> float:
    """Share of images whose every label is predicted right."""
    predicted = scores >= np.asarray(thresholds, dtype=np.float32)[None, :]
    return round(float((predicted == (truth > 0.5)).all(axis=1).mean()), 4)
