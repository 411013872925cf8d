"""The shipped CXR model against the ground truth of synthetic images it never trained on.

Drawn from the card's held-out test split (training/cxr/dataset.py: seeds
``[card.training.seed, 2, index]``), rendered at a size training did not use, stored as
12-bit values and preprocessed by the code infer-cxr runs.
"""

from __future__ import annotations

import numpy as np

from acme.imaging import to_model_input
from acme.models import ModelCard, Predictor, RegisteredModel
from acme.samples import render_cxr
from acme.samples.cxr import stored_values

FINDINGS = ("normal", "opacity", "effusion")
TRUTH = {"normal": (False, False), "opacity": (True, False), "effusion": (False, True)}


def test_predictions_agree_with_the_ground_truth(shipped: tuple[ModelCard, bytes]) -> None:
    card, onnx_bytes = shipped
    assert card.training.seed is not None
    predictor = Predictor.load(RegisteredModel(card, onnx_bytes), device="cpu")
    images, truth = [], []
    for index in range(24):
        finding = FINDINGS[index % 3]
        rng = np.random.default_rng([card.training.seed, 2, index])
        rendered = render_cxr(finding, rng=rng, size=512)
        display = stored_values(rendered.pixels, "MONOCHROME2") / np.float32(4095)
        tensor = to_model_input(display, card.preprocessing, channels=1, height=224, width=224)
        images.append(tensor)
        truth.append(TRUTH[finding])
    predicted = predictor.run(np.stack(images)) >= np.asarray(card.thresholds)[None, :]
    right = (predicted == np.asarray(truth)).all(axis=1)
    accuracy = float(right.mean())
    print(
        f"\nshipped {card.ref}: {int(right.sum())}/{len(right)} synthetic held-out images "
        f"fully right (accuracy {accuracy:.3f}; chance for 3 balanced classes is 0.333)"
    )
    for label, column in zip(card.label_names, range(len(card.labels)), strict=True):
        hits = (predicted[:, column] == np.asarray(truth)[:, column]).mean()
        print(f"  {label}: {hits:.3f} per-label accuracy")
    assert accuracy >= 0.9
